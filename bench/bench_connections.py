#!/usr/bin/env python3
# bench_connections.py - /healthz and a buyer's send under thousands of hostile connections.
"""Usage: bench/bench_connections.py PARLEY_BIN [--hostile 5000] [--seconds 20] [--threads N]

Starts `parley serve` (SQLite, default budget) on 127.0.0.1, then measures from 127.0.0.1,
one request after the other on a new connection each: GET /healthz, then a buyer's
POST /v1/threads/{id}/messages (round 100 threads of the buyer, fresh ones for each phase). First without load (the baseline), then while a separate
process holds --hostile connections from 127.0.0.2 .. 127.0.0.x (50 per address, so the
per-address limit does not refuse them; the point is the whole budget in use):
  - 40 % idle: connect and send nothing (reconnect when the server closes them);
  - 40 % slow-loris: a request header, one byte a second (reconnect when cut off);
  - 20 % live-event streams: 8 per buyer (the per-principal cap), reopened when closed;
  - plus one of those buyers asking for a new stream 20 times a second past its cap (429s).
Prints p50/p99/max of both, the connections the attackers held during the measurement and
the server's budget counters. Loopback only; bounded in count (at most 20,000) and time."""
import argparse
import asyncio
import http.client
import json
import multiprocessing
import os
import resource
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "api"))

PER_ADDRESS = 50
THREADS_PER_PHASE = 100  # the sends of one phase go round this many fresh threads
STREAMS_PER_BUYER = 8


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


# ---- the attackers (a process of their own: an asyncio loop over every socket) --------------

async def attacker(port, kind, source, stop, held, reconnects, token=None):
    while not stop.is_set():
        writer = None
        began = time.monotonic()
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))
            if kind == "stream":
                writer.write(("GET /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n"
                              % token).encode())
                await writer.drain()
            held[kind] += 1
            try:
                if kind == "loris":
                    writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
                    await writer.drain()
                    while not stop.is_set():
                        writer.write(b"a")
                        await writer.drain()
                        try:
                            if await asyncio.wait_for(reader.read(4096), 1.0) == b"":
                                break
                        except asyncio.TimeoutError:
                            pass
                else:  # idle, stream: read until the server closes
                    while not stop.is_set():
                        try:
                            if await asyncio.wait_for(reader.read(65536), 1.0) == b"":
                                break
                        except asyncio.TimeoutError:
                            pass
            finally:
                held[kind] -= 1
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            if writer:
                writer.close()
        if not stop.is_set():
            reconnects[kind] += 1
            if time.monotonic() - began < 1:
                await asyncio.sleep(0.2)  # refused at once: do not spin


async def over_cap(port, token, stop, refused):
    while not stop.is_set():
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=("127.0.0.250", 0))
            writer.write(("GET /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
                          "Connection: close\r\n\r\n" % token).encode())
            await writer.drain()
            data = await asyncio.wait_for(reader.read(200), 5)
            if data.startswith(b"HTTP/1.1 429"):
                refused[0] += 1
            writer.close()
        except (OSError, asyncio.TimeoutError):
            pass
        await asyncio.sleep(0.05)


def attack_main(port, hostile, tokens, hammer_token, ready, stop_evt, report):
    raise_nofile()

    async def run():
        stop = asyncio.Event()
        held = {"idle": 0, "loris": 0, "stream": 0}
        reconnects = {"idle": 0, "loris": 0, "stream": 0}
        refused = [0]
        n_stream = min(hostile // 5, len(tokens) * STREAMS_PER_BUYER)
        n_loris = (hostile - n_stream) // 2
        n_idle = hostile - n_stream - n_loris
        plan = (["stream"] * n_stream) + (["loris"] * n_loris) + (["idle"] * n_idle)
        tasks = []
        for i, kind in enumerate(plan):
            source = "127.0.0.%d" % (2 + i // PER_ADDRESS)
            token = tokens[(i // STREAMS_PER_BUYER) % len(tokens)] if kind == "stream" else None
            tasks.append(asyncio.create_task(attacker(port, kind, source, stop, held, reconnects, token)))
            if i % 200 == 199:
                await asyncio.sleep(0.05)  # ramp up without overflowing the listen queue
        tasks.append(asyncio.create_task(over_cap(port, hammer_token, stop, refused)))
        for _ in range(600):  # at most 60 s to get them all in
            if sum(held.values()) >= hostile * 0.98:
                break
            await asyncio.sleep(0.1)
        ready.set()
        samples = []
        while not stop_evt.is_set():
            samples.append(sum(held.values()))
            await asyncio.sleep(0.25)
        snapshot = dict(held)
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        report.put({"held_min": min(samples) if samples else 0, "held_max": max(samples) if samples else 0,
                    "held_mean": sum(samples) / len(samples) if samples else 0,
                    "held_last": snapshot, "reconnects": reconnects, "refused_429": refused[0],
                    "plan": {"stream": n_stream, "loris": n_loris, "idle": n_idle}})

    asyncio.run(run())


# ---- the measuring client ------------------------------------------------------------------

def timed(port, method, path, body=None, token=None):
    """One request on a new connection: (seconds, status); status 0 when there was no answer
    within 5 s (an error, not a latency sample)."""
    h = {"Connection": "close"}
    data = None
    if token:
        h["Authorization"] = "Bearer " + token
    if body is not None:
        data = json.dumps(body).encode()
        h["Content-Type"] = "application/json"
    t0 = time.perf_counter()
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5, source_address=("127.0.0.1", 0))
    try:
        c.request(method, path, body=data, headers=h)
        r = c.getresponse()
        r.read()
        status = r.status
    except OSError:
        status = 0
    finally:
        c.close()
    return time.perf_counter() - t0, status


def measure(port, seconds, token, thread_ids):
    lat = {"healthz": [], "send": []}
    errors = {"healthz": 0, "send": 0}
    stop = time.monotonic() + seconds
    k = 0
    while time.monotonic() < stop:
        dt, st = timed(port, "GET", "/healthz")
        (lat["healthz"].append(dt) if st == 200 else None)
        errors["healthz"] += st != 200
        k += 1
        # a thread of its own for each phase, in turn: a thread's cost grows with its messages
        tid = thread_ids[k % len(thread_ids)]
        dt, st = timed(port, "POST", "/v1/threads/%s/messages" % tid, {"text": "question %d" % k}, token)
        (lat["send"].append(dt) if st == 201 else None)
        errors["send"] += st != 201
    return lat, errors


def cpu_seconds(pid):
    """User + system CPU time of a process so far (Linux /proc)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except OSError:
        return 0.0


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p))] * 1000 if xs else float("nan")


def show(label, lat, errors):
    for what in ("healthz", "send"):
        xs = lat[what]
        print("%-22s %-8s %6d %6d %9.1f %9.1f %9.1f" % (label, what, len(xs), errors[what],
              statistics.median(xs) * 1000 if xs else float("nan"), pct(xs, 0.99),
              max(xs) * 1000 if xs else float("nan")), flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("bin")
    ap.add_argument("--hostile", type=int, default=5000)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--threads", type=int, default=0, help="server worker threads (0: CPUs)")
    a = ap.parse_args()
    a.hostile = max(0, min(a.hostile, 20000))
    a.seconds = max(1.0, min(a.seconds, 120.0))
    raise_nofile()
    os.environ["PARLEY_BIN"] = a.bin
    os.environ.setdefault("PARLEY_BACKEND", "sqlite")
    import parley_harness as h

    n_buyers = max(1, (a.hostile // 5 + STREAMS_PER_BUYER - 1) // STREAMS_PER_BUYER) + 2
    store = h.Store()
    lines = [{"type": "marketplace", "id": h.MP, "name": "Bench", "domains": ["example.com"],
              "locale": "en-US", "settings": {"rate_per_second": 100000, "rate_burst": 100000}},
             {"type": "seller", "id": "S1", "marketplace": h.MP, "name": "Seller", "email": "s@seller.test"}]
    for i in range(n_buyers):
        lines.append({"type": "buyer", "id": "B%d" % i, "name": "Buyer %d" % i, "email": "b%d@mail.test" % i,
                      "locale": "en-US"})
    orders = ["112-%07d-0000001" % (1000 + i) for i in range(2 * THREADS_PER_PHASE)]
    lines.extend(h.order_line(o, "S1", "B0") for o in orders)
    p = h.import_lines(store, lines)
    if p.returncode:
        raise SystemExit("import failed: " + p.stderr)
    import concurrent.futures
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        tokens = list(pool.map(lambda i: h.buyer_token(store, "B%d" % i), range(n_buyers)))
    threads = a.threads or os.cpu_count() or 2
    srv = h.Server(store, ["--threads", str(threads), "--log-format", "off"]).start()
    try:
        tids = []
        for o in orders:
            r = srv.post("/v1/threads", {"order_id": o, "topic": "other", "text": "hello"}, tokens[0])
            assert r.status == 201, r
            tids.append(r.json["thread"]["id"])
        print("parley serve --threads %d (default budget), %d hostile connections, %.0f s per phase"
              % (threads, a.hostile, a.seconds))
        print("%-22s %-8s %6s %6s %9s %9s %9s" % ("phase", "request", "n", "errors", "p50 ms", "p99 ms", "max ms"))
        c0, t0 = cpu_seconds(srv.proc.pid), time.monotonic()
        lat, err = measure(srv.port, a.seconds, tokens[0], tids[:THREADS_PER_PHASE])
        show("baseline", lat, err)
        cpu_base = (cpu_seconds(srv.proc.pid) - c0) / (time.monotonic() - t0)
        ctx = multiprocessing.get_context("fork")
        ready, stop_evt, report = ctx.Event(), ctx.Event(), ctx.Queue()
        proc = ctx.Process(target=attack_main, args=(srv.port, a.hostile, tokens[1:], tokens[1], ready,
                                                     stop_evt, report))
        proc.start()
        t0 = time.monotonic()
        if not ready.wait(90):
            print("the attackers did not get their connections in within 90 s", flush=True)
        ramp = time.monotonic() - t0
        c0, a0, t1 = cpu_seconds(srv.proc.pid), cpu_seconds(proc.pid), time.monotonic()
        lat, err = measure(srv.port, a.seconds, tokens[0], tids[THREADS_PER_PHASE:])
        span = time.monotonic() - t1
        cpu_load, cpu_att = (cpu_seconds(srv.proc.pid) - c0) / span, (cpu_seconds(proc.pid) - a0) / span
        try:
            metrics = srv.get("/metrics", timeout=5).body.decode()
        except OSError as e:
            metrics = "  (no answer to /metrics: %s)" % e
        with open("/proc/%d/status" % srv.proc.pid) as f:
            rss = [l.split()[1] for l in f if l.startswith("VmRSS:")][0]
        stop_evt.set()
        rep = report.get(timeout=120)
        proc.join(60)
        show("under hostile load", lat, err)
        print("attackers: plan %s; held %d..%d (mean %.0f) during the measurement (last %s), ramp-up %.1f s; "
              "reconnects %s; over-cap stream requests refused with 429: %d"
              % (rep["plan"], rep["held_min"], rep["held_max"], rep["held_mean"], rep["held_last"], ramp, rep["reconnects"],
                 rep["refused_429"]))
        print("CPU (cores busy): parley serve %.2f at baseline, %.2f under load; the attackers %.2f; "
              "load average %s; parley serve's resident memory under load %d MiB"
              % (cpu_base, cpu_load, cpu_att, open("/proc/loadavg").read().split()[0], int(rss) // 1024))
        print("server budget during the load:")
        for line in metrics.splitlines():
            if line.startswith("  (") or line.startswith("parley_http_conn") or line.startswith("parley_http_event") or \
               line.startswith("parley_http_refusals"):
                print("  " + line)
    finally:
        srv.stop()
        store.cleanup()


if __name__ == "__main__":
    main()
