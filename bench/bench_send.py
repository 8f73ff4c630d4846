#!/usr/bin/env python3
# bench_send.py - send throughput over HTTP under wrk: buyer messages and seller replies, 1-3 nodes.
"""Usage: bench/bench_send.py PARLEY_BIN [--conns 32] [--threads-per-seller 4] [--sellers 32]
                             [--seconds 15] [--pg-nodes 1,2,3] [--pg-dir DIR] [--no-sqlite]

Runs, one after the other: one node on SQLite, then --pg-nodes `parley serve` nodes on
one PostgreSQL database (a private server from scripts/pg-test.sh under DIR). Each of
--sellers sellers has --threads-per-seller threads, each with its own buyer. wrk
(bench/send_pairs.lua) sends, on each thread in turn, a buyer message and then the
seller's reply; with several nodes, one wrk a node, the connections shared out evenly.
Outbound mail stays queued (--smtp-relay off). Prints messages a second, p50/p99 latency of
one send, how busy the machine's CPUs were (every node, the database and wrk share them)
and, on PostgreSQL, what the database's active backends were waiting for, sampled ten
times a second: a lock that every tenant shares would show as waits on `Lock`
(transactionid, tuple) growing with the nodes. Needs `wrk` (apt-get install wrk)."""
import argparse
import collections
import os
import re
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "api"))


def cpu_busy():
    """(busy, total) jiffies of all CPUs so far, from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + v[4]  # idle + iowait
    return sum(v) - idle, sum(v)


def sample_waits(pg_url, stop, out):
    """What the database's active backends wait for, ten times a second, until stop."""
    q = ("SELECT coalesce(wait_event_type, 'CPU') || ':' || coalesce(wait_event, '-') FROM pg_stat_activity"
         " WHERE backend_type = 'client backend' AND state = 'active' AND pid <> pg_backend_pid()")
    while not stop.is_set():
        p = subprocess.run(["psql", "-XAtq", pg_url, "-c", q], capture_output=True, text=True)
        for line in p.stdout.split():
            out[line] += 1
        out["samples"] += 1
        stop.wait(0.1)


def wrk(port, conns, seconds, entries):
    return subprocess.Popen(["wrk", "-t", "1", "-c", str(conns), "-d", "%ds" % seconds, "--timeout", "30s",
                             "-s", os.path.join(HERE, "send_pairs.lua"), "http://127.0.0.1:%d" % port, "--"] + entries,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def run(bin_path, backend, nodes, conns, per_seller, sellers, seconds, pg_url):
    os.environ["PARLEY_BIN"] = bin_path
    os.environ["PARLEY_BACKEND"] = backend
    if pg_url:
        os.environ["PARLEY_TEST_PG_URL"] = pg_url
    import importlib
    import parley_harness as h
    importlib.reload(h)  # BIN and BACKEND are read at import
    store = h.Store()
    # measure the store, not the limiters (per-seller bucket and per-party limits)
    fast = dict(h.UNLIMITED_PARTIES, rate_per_second=1000000, rate_burst=1000000)
    lines = [{"type": "marketplace", "id": h.MP, "name": "Bench", "domains": ["example.com"],
              "locale": "en-US", "settings": fast},
             ]
    for k in range(sellers):
        lines.append({"type": "seller", "id": "S%d" % k, "marketplace": h.MP, "name": "Seller %d" % k,
                      "email": "s%d@seller.test" % k})
    n_threads = sellers * per_seller
    for i in range(n_threads):
        lines.append({"type": "buyer", "id": "B%d" % i, "name": "Buyer %d" % i,
                      "email": "b%d@mail.test" % i, "locale": "en-US"})
        lines.append(h.order_line("112-%07d-%07d" % (1000000 + i, 2000000 + i), "S%d" % (i % sellers), "B%d" % i))
    p = h.import_lines(store, lines)
    if p.returncode:
        raise SystemExit("import failed: " + p.stderr)
    agents = [h.agent_token(store, "S%d" % k, "Agent") for k in range(sellers)]
    buyers = [h.buyer_token(store, "B%d" % i) for i in range(n_threads)]
    # --threads 0: the server's own default (the test harness asks for 4)
    servers = [h.Server(store, ["--threads", "0", "--smtp-relay", "off", "--log-format", "off"]).start() for _ in range(nodes)]
    try:
        entries = []
        for i in range(n_threads):
            r = servers[i % nodes].post("/v1/threads", {"order_id": "112-%07d-%07d" % (1000000 + i, 2000000 + i),
                                                        "topic": "other", "text": "hello"}, buyers[i])
            assert r.status == 201, r
            entries.append("%s,%s,%s" % (r.json["thread"]["id"], buyers[i], agents[i % sellers]))
        waits, stop = collections.Counter(), threading.Event()
        sampler = threading.Thread(target=sample_waits, args=(pg_url, stop, waits)) if backend == "pg" else None
        c0 = cpu_busy()
        if sampler:
            sampler.start()
        # every node gets its share of the connections and of the threads
        procs = [wrk(servers[k].port, max(1, conns // nodes), int(seconds), entries[k::nodes]) for k in range(nodes)]
        outs = [p.communicate(timeout=seconds + 120) for p in procs]
        stop.set()
        if sampler:
            sampler.join()
        c1 = cpu_busy()
    finally:
        for s in servers:
            s.stop()
        store.cleanup()
    res = []
    for out, err in outs:
        m = re.search(r"RESULT ok=(\d+) bad=(\d+) rate=([\d.]+) p50_ms=([\d.]+) p99_ms=([\d.]+)", out)
        if not m:
            raise SystemExit("wrk failed:\n" + out + err)
        res.append([float(x) for x in m.groups()])
    n = waits.pop("samples", 0)
    active = sum(waits.values())
    return {"backend": backend, "nodes": nodes, "errors": int(sum(r[1] for r in res)),
            "rate": sum(r[2] for r in res),
            "p50": max(r[3] for r in res), "p99": max(r[4] for r in res),
            "cpu": (c1[0] - c0[0]) / max(1, c1[1] - c0[1]),
            "active": active / max(1, n),
            "lock": sum(v for k, v in waits.items() if k.startswith("Lock:")) / max(1, active),
            "top": ", ".join("%s %.0f%%" % (k, 100 * v / max(1, active)) for k, v in waits.most_common(3))}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("bin")
    ap.add_argument("--conns", type=int, default=32)
    ap.add_argument("--threads-per-seller", type=int, default=4)
    ap.add_argument("--no-sqlite", action="store_true")
    ap.add_argument("--sellers", type=int, default=32)
    ap.add_argument("--pg-nodes", default="1,2,3")
    ap.add_argument("--seconds", type=float, default=15)
    ap.add_argument("--pg-dir", default="/tmp/parley-bench-pg")
    a = ap.parse_args()
    pg = os.path.join(HERE, "..", "scripts", "pg-test.sh")
    url = subprocess.run([pg, "start", a.pg_dir], capture_output=True, text=True, check=True).stdout.strip()
    print("%d connections, %d sellers with %d threads each, %.0f s each; one send = one POST"
          " /v1/threads/{id}/messages; nproc %d, load average before %.1f"
          % (a.conns, a.sellers, a.threads_per_seller, a.seconds, os.cpu_count(), os.getloadavg()[0]))
    print("%-7s %5s %8s %6s %7s %7s %5s | %6s %6s  %s" % ("backend", "nodes", "msgs/s", "errors", "p50 ms",
                                                           "p99 ms", "cpu", "active", "Lock", "waits (share of active)"))
    try:
        for backend, nodes in ([] if a.no_sqlite else [("sqlite", 1)]) + [("pg", int(n)) for n in a.pg_nodes.split(",")]:
            r = run(a.bin, backend, nodes, a.conns, a.threads_per_seller, a.sellers, a.seconds, url)
            print("%-7s %5d %8.1f %6d %7.1f %7.1f %4.0f%% | %6.1f %5.1f%%  %s"
                  % (r["backend"], r["nodes"], r["rate"], r["errors"], r["p50"], r["p99"], 100 * r["cpu"],
                     r["active"], 100 * r["lock"], r["top"] if backend == "pg" else "-"), flush=True)
    finally:
        subprocess.run([pg, "stop", a.pg_dir], capture_output=True)


if __name__ == "__main__":
    main()
