-- send_pairs.lua - wrk script of bench_send.py: POST /v1/threads/{id}/messages, a buyer
-- message and the seller's reply in turn on each thread, over the given threads.
-- Arguments (after `--`): THREAD_ID,BUYER_TOKEN,AGENT_TOKEN ...
local threads = {}
local counter = 0
local tcount = 0

function setup(thread)
  thread:set("me", tcount)
  tcount = tcount + 1
end

function init(args)
  for i = 1, #args do
    local id, buyer, agent = args[i]:match("([^,]+),([^,]+),([^,]+)")
    threads[#threads + 1] = {id = id, buyer = buyer, agent = agent}
  end
  counter = (tonumber(wrk.thread:get("me")) or 0) * 7919
end

function request()
  counter = counter + 1
  local n = #threads
  local t = threads[(counter % n) + 1]
  local seller = math.floor(counter / n) % 2 == 1
  local body = string.format('{"text":"%s %d"}', seller and "Yes, it is in the box. Reference" or
                             "Another question about the drill, number", counter)
  return wrk.format("POST", "/v1/threads/" .. t.id .. "/messages",
                    {["Authorization"] = "Bearer " .. (seller and t.agent or t.buyer),
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
