-- send.lua - wrk script of bench_send_wrk.py: POST /v1/threads/{id}/messages, one send a
-- request, spread over the given threads in turn so that each grows slowly.
-- Arguments (after `--`): TOKEN TEXT THREAD_ID...
local ids, token, text = {}, nil, nil
local counter, me, nthreads = 0, 0, 1
local tcount = 0

function setup(thread)
  thread:set("me", tcount)
  tcount = tcount + 1
end

function init(args)
  token, text = args[1], args[2]
  for i = 3, #args do ids[#ids + 1] = args[i] end
  me = tonumber(wrk.thread:get("me")) or 0
  counter = me * 7919
end

function request()
  counter = counter + 1
  local tid = ids[(counter % #ids) + 1]
  local body = string.format('{"text":"%s %d"}', text, counter)
  return wrk.format("POST", "/v1/threads/" .. tid .. "/messages",
                    {["Authorization"] = "Bearer " .. token,
                     ["Content-Type"] = "application/json"}, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  local secs = summary.duration / 1e6
  local bad = e.status + e.connect + e.read + e.write + e.timeout
  local ok = summary.requests - bad
  io.write(string.format("RESULT ok=%d bad=%d rate=%.1f p50_ms=%.2f p99_ms=%.2f\n", ok, bad,
                         ok / secs, latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
