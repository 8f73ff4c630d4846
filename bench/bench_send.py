#!/usr/bin/env python3
# bench_send.py - send throughput over HTTP: buyer message + seller reply, N clients, 1-3 nodes.
"""Usage: bench/bench_send.py PARLEY_BIN [--clients 32] [--sellers 32] [--seconds 15]
                             [--pg-nodes 1,2,3] [--pg-dir DIR]

Runs, one after the other: one node on SQLite, then --pg-nodes `parley serve` nodes on
one PostgreSQL database (a private server from scripts/pg-test.sh under DIR). Each
client owns one thread, of seller number (client mod --sellers), and loops: a buyer
message, then the seller's reply, each through the next node in turn. Outbound mail stays
queued (--smtp-relay off). Prints messages a second and p50/p99 latency of one send."""
import argparse
import concurrent.futures
import os
import statistics
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "api"))


def run(bin_path, backend, nodes, clients, sellers, seconds, pg_url):
    os.environ["PARLEY_BIN"] = bin_path
    os.environ["PARLEY_BACKEND"] = backend
    if pg_url:
        os.environ["PARLEY_TEST_PG_URL"] = pg_url
    import importlib
    import parley_harness as h
    importlib.reload(h)  # BIN and BACKEND are read at import
    store = h.Store()
    # measure the store, not the limiters (per-seller bucket and per-party limits)
    fast = dict(h.UNLIMITED_PARTIES, rate_per_second=100000, rate_burst=100000)
    lines = [{"type": "marketplace", "id": h.MP, "name": "Bench", "domains": ["example.com"],
              "locale": "en-US", "settings": fast},
             ]
    for k in range(sellers):
        lines.append({"type": "seller", "id": "S%d" % k, "marketplace": h.MP, "name": "Seller %d" % k,
                      "email": "s%d@seller.test" % k})
    for i in range(clients):
        lines.append({"type": "buyer", "id": "B%d" % i, "name": "Buyer %d" % i,
                      "email": "b%d@mail.test" % i, "locale": "en-US"})
        lines.append(h.order_line("112-%07d-%07d" % (1000000 + i, 2000000 + i), "S%d" % (i % sellers), "B%d" % i))
    p = h.import_lines(store, lines)
    if p.returncode:
        raise SystemExit("import failed: " + p.stderr)
    agents = [h.agent_token(store, "S%d" % k, "Agent") for k in range(sellers)]
    buyers = [h.buyer_token(store, "B%d" % i) for i in range(clients)]
    # --threads 0: the server's own default (the test harness asks for 4)
    servers = [h.Server(store, ["--threads", "0", "--smtp-relay", "off", "--log-format", "off"]).start() for _ in range(nodes)]
    try:
        threads = []
        for i in range(clients):
            r = servers[i % nodes].post("/v1/threads", {"order_id": "112-%07d-%07d" % (1000000 + i, 2000000 + i),
                                                        "topic": "other", "text": "hello"}, buyers[i])
            assert r.status == 201, r
            threads.append(r.json["thread"]["id"])
        lat, lock, errors = [], threading.Lock(), [0]
        stop = time.monotonic() + seconds

        def client(i):
            k = i
            while time.monotonic() < stop:
                for tok, text in ((buyers[i], "question %d" % k), (agents[i % sellers], "answer %d" % k)):
                    srv = servers[k % nodes]
                    k += 1
                    t0 = time.perf_counter()
                    r = srv.post("/v1/threads/%s/messages" % threads[i], {"text": text}, tok)
                    dt = time.perf_counter() - t0
                    with lock:
                        if r.status == 201:
                            lat.append(dt)
                        else:
                            errors[0] += 1

        t0 = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(max_workers=clients) as pool:
            list(pool.map(client, range(clients)))
        elapsed = time.monotonic() - t0
    finally:
        for s in servers:
            s.stop()
        store.cleanup()
    lat.sort()
    p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))] if lat else 0
    return {"backend": backend, "nodes": nodes, "msgs": len(lat), "errors": errors[0],
            "rate": len(lat) / elapsed, "p50": statistics.median(lat) * 1000 if lat else 0,
            "p99": p99 * 1000}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("bin")
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--sellers", type=int, default=32)
    ap.add_argument("--pg-nodes", default="1,2,3")
    ap.add_argument("--seconds", type=float, default=15)
    ap.add_argument("--pg-dir", default="/tmp/parley-bench-pg")
    a = ap.parse_args()
    pg = os.path.join(HERE, "..", "scripts", "pg-test.sh")
    url = subprocess.run([pg, "start", a.pg_dir], capture_output=True, text=True, check=True).stdout.strip()
    print("clients %d, sellers %d, %.0f s each; one send = one POST /v1/threads/{id}/messages"
          % (a.clients, a.sellers, a.seconds))
    print("%-10s %5s %8s %7s %9s %9s" % ("backend", "nodes", "msgs/s", "errors", "p50 ms", "p99 ms"))
    try:
        for backend, nodes in [("sqlite", 1)] + [("pg", int(n)) for n in a.pg_nodes.split(",")]:
            r = run(a.bin, backend, nodes, a.clients, a.sellers, a.seconds, url)
            print("%-10s %5d %8.1f %7d %9.1f %9.1f" % (r["backend"], r["nodes"], r["rate"], r["errors"],
                                                      r["p50"], r["p99"]), flush=True)
    finally:
        subprocess.run([pg, "stop", a.pg_dir], capture_output=True)


if __name__ == "__main__":
    main()
