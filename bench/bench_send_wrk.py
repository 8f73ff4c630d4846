#!/usr/bin/env python3
# bench_send_wrk.py - what one send costs on a short and on a long thread, under wrk.
"""Usage: bench/bench_send_wrk.py PARLEY_BIN [--seconds 4] [--conns 8,32,128]
                                  [--short-threads 256] [--long-threads 64] [--long-len 1000]
                                  [--floor BENCH_SQLITE_FLOOR] [--prep PATH] [--perf PREFIX]

One `parley serve` on SQLite (WAL, group commit) on loopback, rate limits set out of
the way through the marketplace's settings. For each number of connections, wrk
(bench/send.lua) sends buyer messages, then seller replies (each passes the content
policy), for --seconds each, to:
  - short threads: fresh threads of one buyer message, created through the API before
    each run (--short-threads of them, so that each grows by only a few messages);
  - long threads: threads of --long-len messages (buyer and seller alternating, imported
    with `parley import`), the same ones for every run (they grow as the runs go).
Prints sends a second, p50 and p99 of one send, write transactions a store transaction
(/txn: group commit's batches) and a flush (/sync) and the time the one writer connection
was held a write ("lock us": its ceiling is 1e6 / that a second) on short threads, the server's CPU time a send (user +
system, from /proc: unlike the rate, it does not move with other load on the machine), and
the long/short ratios of sends a second and of CPU a send (short/long: 1 is the same cost). With --floor, also runs the raw SQLite floor (bench_sqlite_floor) in the store's
directory: the same disk. Needs `wrk` (apt-get install wrk)."""
import argparse
import datetime
import os
import re
import sqlite3
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "api"))


def iso(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def store_counts(port):
    """parley_store_{commits,batches,syncs}_total from the server's /metrics."""
    import urllib.request
    text = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=30).read().decode()
    return [float(re.search(r"^parley_store_%s_total ([\d.]+)$" % k, text, re.M).group(1))
            for k in ("commits", "batches", "syncs", "writer_busy_seconds")]


def wrk(port, conns, seconds, token, text, ids, pid, perf=None):
    cmd = ["wrk", "-t", "2", "-c", str(conns), "-d", "%ds" % seconds, "--timeout", "30s",
           "-s", os.path.join(HERE, "send.lua"), "http://127.0.0.1:%d" % port, "--", token, text] + \
          [str(i) for i in ids]
    s0 = store_counts(port)
    c0 = cpu_s(pid)
    x0 = switches(pid)
    rec = None
    if perf:  # a call-graph profile of the server during this run only
        rec = subprocess.Popen(["perf", "record", "-q", "--call-graph", os.environ.get("PERF_CALLGRAPH", "fp"), "-F", os.environ.get("PERF_FREQ", "1999"), "-p", str(pid), "-o", perf],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 120)
    cpu = cpu_s(pid) - c0
    x = switches(pid) - x0
    if rec:
        rec.send_signal(2)
        rec.wait(timeout=60)
    commits, batches, syncs, busy = (b - a for a, b in zip(s0, store_counts(port)))
    m = re.search(r"RESULT ok=(\d+) bad=(\d+) rate=([\d.]+) p50_ms=([\d.]+) p99_ms=([\d.]+)", p.stdout)
    if not m:
        raise SystemExit("wrk failed:\n" + p.stdout + p.stderr)
    return {"ok": int(m.group(1)), "bad": int(m.group(2)), "rate": float(m.group(3)),
            "p50": float(m.group(4)), "p99": float(m.group(5)),
            "cpu_us": cpu * 1e6 / max(1, int(m.group(1)) + int(m.group(2))),
            "per_batch": commits / max(1, batches), "per_sync": commits / max(1, syncs),
            "busy_us": busy * 1e6 / max(1, commits),
            "switches": x / max(1, int(m.group(1)) + int(m.group(2)))}


def cpu_s(pid):
    """User + system CPU seconds of a process so far (from /proc: robust to other load)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def switches(pid):
    """Context switches of all of a process's threads so far (threads that ended are not
    counted: the server's handler and worker threads live as long as it)."""
    n = 0
    for t in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/status" % (pid, t)) as f:
                n += sum(int(l.split()[1]) for l in f if l.startswith(("voluntary_ctxt", "nonvoluntary_ctxt")))
        except FileNotFoundError:
            pass
    return n


def mean_len(db, ids):
    c = sqlite3.connect(db, timeout=30)
    q = "SELECT count(*) FROM messages WHERE thread_id IN (%s)" % ",".join("?" * len(ids))
    n = c.execute(q, [int(i) for i in ids]).fetchone()[0]
    c.close()
    return n / len(ids)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("bin")
    ap.add_argument("--seconds", type=int, default=4)
    ap.add_argument("--conns", default="8,32,128")
    ap.add_argument("--short-threads", type=int, default=256)
    ap.add_argument("--long-threads", type=int, default=64)
    ap.add_argument("--long-len", type=int, default=1000)
    ap.add_argument("--floor", help="path of bench_sqlite_floor")
    ap.add_argument("--prep", help="a prepared store to copy (made here, by import, when absent)")
    ap.add_argument("--threads", type=int, help="parley serve --threads (default: the server's own)")
    ap.add_argument("--perf", metavar="PREFIX",
                    help="record a perf profile of the server during each run, PREFIX-CONNS-ROLE-short|long.data")
    ap.add_argument("--prep-only", action="store_true", help="only prepare the store of --prep")
    a = ap.parse_args()
    conns = [int(c) for c in a.conns.split(",")]
    os.environ["PARLEY_BIN"] = a.bin
    os.environ["PARLEY_BACKEND"] = "sqlite"
    import parley_harness as h
    store = h.Store()
    # measure the send, not the limiters (per-seller bucket and per-party limits)
    fast = dict(h.UNLIMITED_PARTIES, rate_per_second=1000000, rate_burst=1000000)
    n_short = a.short_threads * len(conns) * 2
    lines = [{"type": "marketplace", "id": h.MP, "name": "Bench", "domains": ["example.com"],
              "locale": "en-US", "settings": fast},
             {"type": "seller", "id": "S1", "marketplace": h.MP, "name": "Seller", "email": "s@seller.test"},
             {"type": "buyer", "id": "B0", "name": "Buyer", "email": "b0@mail.test", "locale": "en-US"}]
    oid = lambda i: "112-%07d-%07d" % (1000000 + i, 2000000 + i)
    for i in range(n_short + a.long_threads):
        lines.append(h.order_line(oid(i), "S1", "B0"))
    # Long threads: buyer and seller alternating, a minute apart, ending well before now.
    t0 = int(datetime.datetime.now(datetime.timezone.utc).timestamp()) - 40 * 86400
    for k in range(a.long_threads):
        o = oid(n_short + k)
        for j in range(a.long_len):
            buyer = j % 2 == 0
            lines.append({"type": "message", "id": "L%d-%d" % (k, j), "order": o,
                          "from": "buyer" if buyer else "seller", "at": iso(t0 + k * 7 + j * 60),
                          "text": ("Question %d about the drill?" if buyer else "Answer %d: yes, it has a charger.") % j})
    import json
    import shutil
    import time
    t = time.monotonic()
    if a.prep and os.path.exists(a.prep):
        # The same prepared store for every build compared (a newer build migrates it).
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(a.prep + suffix):
                shutil.copy(a.prep + suffix, store.url + suffix)
        shutil.copy(a.prep + ".key", store.key_file)
        prep_s = None
    else:
        path = os.path.join(store.dir, "prep.jsonl")
        with open(path, "w") as f:
            for line in lines:
                f.write(json.dumps(line) + "\n")
        p = h.run_cli(["import", path], store, timeout=7200)
        if p.returncode:
            raise SystemExit("import failed: " + p.stderr[-2000:])
        prep_s = time.monotonic() - t
        if a.prep:
            for suffix in ("", "-wal", "-shm"):
                if os.path.exists(store.url + suffix):
                    shutil.copy(store.url + suffix, a.prep + suffix)
            shutil.copy(store.key_file, a.prep + ".key")
    if a.prep_only:
        print("prepared %s in %.1f s" % (a.prep, prep_s or 0))
        store.cleanup()
        return
    agent = h.agent_token(store, "S1", "Agent")
    buyer = h.buyer_token(store, "B0")
    db = store.url
    # The long threads are the store's threads (a prepared store may have been made with
    # other --conns); the orders without a thread are for the short ones.
    c = sqlite3.connect(db)
    long_ids, long_orders = [], []
    for tid, o in c.execute("SELECT id, order_id FROM threads ORDER BY id"):
        long_ids.append(tid)
        long_orders.append(o)
    free_orders = [r[0] for r in c.execute("SELECT id FROM orders WHERE id NOT IN"
                                           " (SELECT order_id FROM threads) ORDER BY id")]
    c.close()
    if len(free_orders) < n_short:
        raise SystemExit("the prepared store has %d free orders, %d needed" % (len(free_orders), n_short))
    floor(a.floor, store.dir)
    # outbound mail stays queued: a send is measured, not its relay (bench_mail.sh is)
    # --threads 0: the server's own default (the test harness asks for 4)
    srv = h.Server(store, ["--threads", str(a.threads or 0), "--smtp-relay", "off", "--log-format", "off"]).start()
    long_refs = []  # the API's ids (opaque to the client)
    for o in long_orders:
        r = srv.get("/v1/threads?order_id=%s" % o, buyer)
        assert r.status == 200 and len(r.json["threads"]) == 1, r
        long_refs.append(r.json["threads"][0]["id"])
    next_order = [0]

    def fresh_threads(n):
        ids = []
        for _ in range(n):
            r = srv.post("/v1/threads", {"order_id": free_orders[next_order[0]], "topic": "other",
                                         "text": "Hello, does it come with a charger?"}, buyer)
            next_order[0] += 1
            assert r.status == 201, r
            ids.append(r.json["thread"]["id"])
        return ids

    print("parley %s; nproc %d; %s" % (a.bin, os.cpu_count(), cpu_model()))
    if prep_s is not None:
        print("prepared %d threads of %d messages by import in %.1f s" % (a.long_threads, a.long_len, prep_s))
    else:
        print("%d threads of %d messages from the prepared store %s" % (len(long_ids), a.long_len, a.prep))
    print("load average before the runs: %.1f" % os.getloadavg()[0])
    print("%5s %-6s | %8s %7s %7s %6s %7s %6s %5s %5s %4s | %8s %7s %7s %6s %7s %7s | %5s %5s" %
          ("conns", "role", "short/s", "p50 ms", "p99 ms", "errors", "cpu us", "lock us", "/txn", "/sync", "cs",
           "long/s", "p50 ms", "p99 ms", "errors", "cpu us", "length", "ratio", "cpu"))
    try:
        for n in conns:
            for role, tok, text in (("buyer", buyer, "Another question about the drill, number"),
                                    ("seller", agent, "Yes, the charger is in the box. Reference")):
                prof = (lambda kind: "%s-%d-%s-%s.data" % (a.perf, n, role, kind)) if a.perf else (lambda kind: None)
                short = wrk(srv.port, n, a.seconds, tok, text, fresh_threads(a.short_threads), srv.proc.pid,
                            prof("short"))
                if long_refs:
                    length = mean_len(db, long_ids)
                    long_ = wrk(srv.port, n, a.seconds, tok, text, long_refs, srv.proc.pid, prof("long"))
                else:  # --long-threads 0: the short threads alone
                    length, long_ = 0, {k: 0 for k in short}
                print("%5d %-6s | %8.1f %7.1f %7.1f %6d %7.0f %7.0f %5.1f %5.1f %4.1f | %8.1f %7.1f %7.1f %6d %7.0f %7.0f | %5.2f %5.2f" %
                      (n, role, short["rate"], short["p50"], short["p99"], short["bad"], short["cpu_us"],
                       short["busy_us"], short["per_batch"], short["per_sync"], short["switches"],
                       long_["rate"], long_["p50"], long_["p99"], long_["bad"], long_["cpu_us"], length,
                       long_["rate"] / short["rate"] if short["rate"] else 0,
                       short["cpu_us"] / long_["cpu_us"] if long_["cpu_us"] else 0), flush=True)
    finally:
        srv.stop()
    floor(a.floor, store.dir)
    store.cleanup()


def floor(path, directory):
    """The raw SQLite commit rate on the store's disk (bench_sqlite_floor), when given."""
    if not path:
        return
    p = subprocess.run([path, directory, "2"], capture_output=True, text=True, timeout=300)
    print(p.stdout.rstrip(), flush=True)
    if p.returncode:
        print(p.stderr)


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


if __name__ == "__main__":
    main()
