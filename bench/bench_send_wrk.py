#!/usr/bin/env python3
# bench_send_wrk.py - what one send costs on a short and on a long thread, under wrk.
"""Usage: bench/bench_send_wrk.py PARLEY_BIN [--seconds 4] [--conns 8,32,128]
                                  [--short-threads 256] [--long-threads 64] [--long-len 1000]
                                  [--floor BENCH_SQLITE_FLOOR] [--prep PATH] [--perf PREFIX]

One `parley serve` on SQLite (WAL, group commit) on loopback, rate limits set out of
the way through the marketplace's settings. For each number of connections, wrk
(bench/send.lua) sends buyer messages, then seller replies (each passes the content
policy), for --seconds each, to:
  - fresh: short threads of one buyer message, created through the API before each run
    (--short-threads of them, so that each grows by only a few messages). Being the
    newest threads, their index entries sit together at the end of every index keyed by
    thread, so a commit of many sends dirties few pages: the best case;
  - aged: short threads of one buyer message made by the same import as the long ones
    and between them (as many a run as there are long threads, never used twice), so
    that they are as old and as scattered through the indexes as the long threads, and
    as many: they differ from them only in length (with 256 aged threads against 64
    long ones, a long thread took four times the sends of an aged one, and the ratio
    measured the number of threads as much as their length);
  - long: threads of --long-len messages (buyer and seller alternating, imported with
    `parley import`), the same ones for every run (they grow as the runs go).
Prints for each: sends a second, p50 and p99 of one send, the server's CPU time a send
(user + system, from /proc: unlike the rate, it does not move with other load on the
machine) and wrk's ("wrk us": the load's own share of the two cores), the time the one writer connection was held a write ("lock us": its ceiling is
1e6 / that a second), write transactions a store transaction (/txn: group commit's
batches) and a flush (/sync), context switches ("cs") and kilobytes written ("KB": the
WAL's pages and the checkpoints' copies) a send; and, on the long row, the long/aged and
long/fresh ratios of sends a second and of CPU a send (short/long: 1 is the same cost).
With --floor, also runs the raw SQLite floor (bench_sqlite_floor) in the store's
directory: the same disk. Needs `wrk` (apt-get install wrk)."""
import argparse
import datetime
import os
import re
import resource
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
    w0 = written(pid)
    rec = None
    if perf:  # a call-graph profile of the server during this run only
        rec = subprocess.Popen(["perf", "record", "-q", "--call-graph", os.environ.get("PERF_CALLGRAPH", "fp"), "-F", os.environ.get("PERF_FREQ", "1999"), "-p", str(pid), "-o", perf],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    k0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 120)
    k1 = resource.getrusage(resource.RUSAGE_CHILDREN)  # wrk's alone: the server has not exited
    cpu = cpu_s(pid) - c0
    x = switches(pid) - x0
    w = written(pid) - w0
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
            "client_us": (k1.ru_utime + k1.ru_stime - k0.ru_utime - k0.ru_stime) * 1e6 / max(1, int(m.group(1)) + int(m.group(2))),
            "per_batch": commits / max(1, batches), "per_sync": commits / max(1, syncs),
            "busy_us": busy * 1e6 / max(1, commits),
            "switches": x / max(1, int(m.group(1)) + int(m.group(2))),
            "write_kb": w / 1024 / max(1, int(m.group(1)) + int(m.group(2)))}


def cpu_s(pid):
    """User + system CPU seconds of a process so far (from /proc: robust to other load)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def written(pid):
    """Bytes a process has handed to write(2) and friends so far (/proc/PID/io wchar): the
    WAL's frames, mostly, so a send's share shows how many pages its commit dirtied."""
    with open("/proc/%d/io" % pid) as f:
        return int(next(l for l in f if l.startswith("wchar:")).split()[1])


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
    n_aged = n_short  # aged short threads: one batch of --short-threads a run
    lines = [{"type": "marketplace", "id": h.MP, "name": "Bench", "domains": ["example.com"],
              "locale": "en-US", "settings": fast},
             {"type": "seller", "id": "S1", "marketplace": h.MP, "name": "Seller", "email": "s@seller.test"},
             {"type": "buyer", "id": "B0", "name": "Buyer", "email": "b0@mail.test", "locale": "en-US"}]
    oid = lambda i: "112-%07d-%07d" % (1000000 + i, 2000000 + i)
    for i in range(n_short + a.long_threads + n_aged):
        lines.append(h.order_line(oid(i), "S1", "B0"))
    # Long threads: buyer and seller alternating, a minute apart, ending well before now;
    # after each, its share of the aged short threads (one buyer message each), so that
    # thread ids and index entries interleave.
    t0 = int(datetime.datetime.now(datetime.timezone.utc).timestamp()) - 40 * 86400
    aged_next = 0
    for k in range(a.long_threads):
        o = oid(n_short + k)
        for j in range(a.long_len):
            buyer = j % 2 == 0
            lines.append({"type": "message", "id": "L%d-%d" % (k, j), "order": o,
                          "from": "buyer" if buyer else "seller", "at": iso(t0 + k * 7 + j * 60),
                          "text": ("Question %d about the drill?" if buyer else "Answer %d: yes, it has a charger.") % j})
        share = (n_aged - aged_next) // (a.long_threads - k)
        for _ in range(share):
            lines.append({"type": "message", "id": "A%d" % aged_next, "order": oid(n_short + a.long_threads + aged_next),
                          "from": "buyer", "at": iso(t0 + k * 7 + a.long_len * 60),
                          "text": "Hello, does it come with a charger?"})
            aged_next += 1
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
    # The long threads are the store's threads of more than one message, the aged short
    # ones those of one (a prepared store may have been made with other --conns); the
    # orders without a thread are for the fresh ones.
    c = sqlite3.connect(db)
    long_ids, long_orders, aged_orders = [], [], []
    for tid, o, n in c.execute("SELECT t.id, t.order_id, (SELECT count(*) FROM messages m"
                               " WHERE m.thread_id = t.id) FROM threads t ORDER BY t.id"):
        if n > 1:
            long_ids.append(tid)
            long_orders.append(o)
        else:
            aged_orders.append(o)
    free_orders = [r[0] for r in c.execute("SELECT id FROM orders WHERE id NOT IN"
                                           " (SELECT order_id FROM threads) ORDER BY id")]
    c.close()
    if len(free_orders) < n_short:
        raise SystemExit("the prepared store has %d free orders, %d needed" % (len(free_orders), n_short))
    floor(a.floor, store.dir)
    # outbound mail stays queued: a send is measured, not its relay (bench_mail.sh is)
    # --threads 0: the server's own default (the test harness asks for 4)
    srv = h.Server(store, ["--threads", str(a.threads or 0), "--smtp-relay", "off", "--log-format", "off"]).start()
    def ref(o):  # the API's id (opaque to the client) of an order's thread
        r = srv.get("/v1/threads?order_id=%s" % o, buyer)
        assert r.status == 200 and len(r.json["threads"]) == 1, r
        return r.json["threads"][0]["id"]

    long_refs = [ref(o) for o in long_orders]
    runs = len(conns) * 2
    # run i takes every runs-th aged thread from the i-th: each batch spread over all gaps
    per_run = len(long_refs) or a.short_threads  # as many threads as the long cell
    aged_batches = [[ref(o) for o in aged_orders[i::runs][:per_run]] for i in range(runs)] \
        if len(aged_orders) >= runs else []
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
    print("%5s %-6s %-6s | %8s %7s %7s %6s %7s %6s %7s %5s %5s %4s %5s %7s | %5s %5s | %5s %5s" %
          ("conns", "role", "thread", "sends/s", "p50 ms", "p99 ms", "errors", "cpu us", "wrk us", "lock us", "/txn",
           "/sync", "cs", "KB", "length", "/aged", "cpu", "/fresh", "cpu"))
    row = "%5d %-6s %-6s | %8.1f %7.1f %7.1f %6d %7.0f %6.0f %7.0f %5.1f %5.1f %4.1f %5.1f %7.0f"
    try:
        run = 0
        for n in conns:
            for role, tok, text in (("buyer", buyer, "Another question about the drill, number"),
                                    ("seller", agent, "Yes, the charger is in the box. Reference")):
                prof = (lambda kind: "%s-%d-%s-%s.data" % (a.perf, n, role, kind)) if a.perf else (lambda kind: None)
                cells = [("fresh", fresh_threads(a.short_threads))]
                if aged_batches:
                    cells.append(("aged", aged_batches[run]))
                if long_refs:  # --long-threads 0: the fresh short threads alone
                    cells.append(("long", long_refs))
                run += 1
                got = {}
                for kind, ids in cells:
                    if role == "seller" and kind == "long":
                        catch_up(srv, agent, ids, db, long_ids)
                    length = mean_len(db, long_ids) if kind == "long" else 1
                    r = got[kind] = wrk(srv.port, n, a.seconds, tok, text, ids, srv.proc.pid, prof(kind))
                    line = row % (n, role, kind, r["rate"], r["p50"], r["p99"], r["bad"], r["cpu_us"],
                                  r["client_us"], r["busy_us"], r["per_batch"], r["per_sync"], r["switches"], r["write_kb"], length)
                    if kind == "long":
                        for base in ("aged", "fresh"):
                            b = got.get(base)
                            line += " | %5.2f %5.2f" % ((r["rate"] / b["rate"], b["cpu_us"] / r["cpu_us"])
                                                         if b and b["rate"] and r["cpu_us"] else (0, 0))
                    print(line, flush=True)
    finally:
        srv.stop()
    floor(a.floor, store.dir)
    store.cleanup()


def catch_up(srv, agent, refs, db, thread_ids):
    """Before the replies on the long threads: the buyer run before left each of them with
    hundreds of buyer messages waiting, and the first reply to a thread answers every one
    of them (an outcome each on the 24-hour clock: its cost grows with what it answers, not
    with the thread's length). One reply each, timed and reported here, so that the measured
    replies answer what a reply usually does, as on the short threads."""
    import time
    c = sqlite3.connect(db, timeout=30)
    q = "SELECT count(*) FROM sla_outcomes WHERE answered = 0 AND thread_id IN (%s)" % ",".join("?" * len(thread_ids))
    waiting = c.execute(q, [int(i) for i in thread_ids]).fetchone()[0]
    c.close()
    ms = []
    for r in refs:
        t = time.monotonic()
        got = srv.post("/v1/threads/%s/messages" % r, {"text": "Thanks, all answered above."}, agent)
        assert got.status in (200, 201), got
        ms.append((time.monotonic() - t) * 1000)
    ms.sort()
    print("       catch-up: %d replies answering %.0f waiting buyer messages each: p50 %.1f ms, max %.1f ms"
          % (len(refs), waiting / max(1, len(refs)), ms[len(ms) // 2], ms[-1]), flush=True)


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
