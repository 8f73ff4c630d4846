#!/usr/bin/env python3
"""test_check.py - the `parley check` contract that evaluation tools depend on."""
import json
import os
import subprocess
import sys
import tempfile
import unittest

BIN = os.environ.get("PARLEY_BIN", "parley")
SHARED = os.environ.get("PARLEY_SHARED_DIR", os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared"))


def run(args, stdin=None):
    return subprocess.run([BIN, "check"] + args, input=stdin, capture_output=True, text=True, timeout=300)


class CheckJsonl(unittest.TestCase):
    def test_lines_in_lines_out(self):
        lines = [
            {"id": "a", "text": "Your order shipped today with UPS.", "expect": "allow"},
            {"id": 7, "text": "Please leave us a 5-star review!", "lang": "en"},
            {"id": "c", "text": "Call me on (415) 555-0132."},
        ]
        p = run(["--jsonl", "-"], "".join(json.dumps(l) + "\n" for l in lines))
        self.assertEqual(p.returncode, 0, p.stderr)
        out = [json.loads(l) for l in p.stdout.splitlines()]
        self.assertEqual([o["id"] for o in out], ["a", 7, "c"])
        for o in out:
            self.assertEqual(list(o.keys()), ["id", "action", "categories", "findings"])
            self.assertIn(o["action"], ("deliver", "review", "reject"))
        self.assertEqual(out[0]["action"], "deliver")
        self.assertEqual(out[0]["categories"], [])
        self.assertEqual(out[1]["action"], "reject")
        self.assertIn("review_request", out[1]["categories"])
        self.assertIn("phone", out[2]["categories"])
        text = lines[2]["text"].encode()
        for f in out[2]["findings"]:
            self.assertEqual(set(f.keys()), {"category", "rule", "start", "end", "text"})
            self.assertEqual(text[f["start"]:f["end"]].decode(), f["text"])

    def test_offsets_are_bytes_of_the_original(self):
        t = "Grüße – schreiben Sie an rechnung\u200b@halden-tools.de."
        p = run(["--jsonl", "-"], json.dumps({"id": 1, "text": t}) + "\n")
        o = json.loads(p.stdout)
        email = [f for f in o["findings"] if f["category"] == "email"][0]
        self.assertEqual(t.encode()[email["start"]:email["end"]].decode(), email["text"])
        self.assertTrue(email["text"].startswith("rechnung"))

    def test_allow_domain(self):
        line = json.dumps({"id": 1, "text": "Track it: https://www.ups.com/track?n=1Z4E7W610398472615"}) + "\n"
        self.assertEqual(json.loads(run(["--jsonl", "-"], line).stdout)["action"], "reject")
        p = run(["--allow-domain", "ups.com", "--allow-domain", "dhl.de", "--jsonl", "-"], line)
        self.assertEqual(json.loads(p.stdout)["action"], "deliver")

    def test_config_file(self):
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            json.dump({"allow_domains": ["ups.com"], "actions": {"emoji": "review"}}, f)
        try:
            lines = json.dumps({"id": 1, "text": "https://www.ups.com/track"}) + "\n" + \
                json.dumps({"id": 2, "text": "Thanks \U0001F642"}) + "\n"
            out = [json.loads(l) for l in run(["--config", f.name, "--jsonl", "-"], lines).stdout.splitlines()]
            self.assertEqual([o["action"] for o in out], ["deliver", "review"])
        finally:
            os.unlink(f.name)

    def test_invalid_lines(self):
        data = '{"id":1,"text":"hello"}\nnot json\n{"id":3}\n\n{"id":4,"text":"Call +44 20 7946 0958"}\n'
        p = run(["--jsonl", "-"], data)
        self.assertNotEqual(p.returncode, 0)
        self.assertNotIn("Traceback", p.stderr)
        self.assertIn(":2:", p.stderr)
        self.assertIn(":3:", p.stderr)
        out = [json.loads(l) for l in p.stdout.splitlines()]
        self.assertEqual(len(out), 4)
        self.assertEqual(out[0]["action"], "deliver")
        self.assertIn("error", out[1])
        self.assertEqual(out[2]["id"], 3)
        self.assertIn("error", out[2])
        self.assertEqual(out[3]["action"], "reject")

    def test_dev_corpus_file(self):
        path = os.path.join(SHARED, "corpus", "policy-dev.jsonl")
        if not os.path.exists(path):
            self.skipTest("no corpus")
        p = run(["--jsonl", path])
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(path, encoding="utf-8") as fh:
            want = [json.loads(l) for l in fh]
        got = [json.loads(l) for l in p.stdout.splitlines()]
        self.assertEqual(len(got), len(want))
        for w, g in zip(want, got):
            self.assertEqual(w["id"], g["id"])
            if w["expect"] == "allow":
                self.assertEqual(g["action"], "deliver", w["text"])
            else:
                self.assertNotEqual(g["action"], "deliver", w["text"])
                for c in w["categories"]:
                    self.assertIn(c, g["categories"], w["text"])


class CheckOne(unittest.TestCase):
    def test_human_and_json(self):
        with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
            f.write("[Important] Visit our website for 20% off!")
        try:
            p = run([f.name])
            self.assertEqual(p.returncode, 1)
            self.assertIn("reject", p.stdout)
            self.assertIn("important_tag", p.stdout)
            p = run(["--json", f.name])
            o = json.loads(p.stdout)
            self.assertEqual(o["action"], "reject")
            self.assertIn("promotion", o["categories"])
            p = run(["--json", "-"], "Your parcel arrives Friday.")
            self.assertEqual(p.returncode, 0)
            self.assertEqual(json.loads(p.stdout)["action"], "deliver")
        finally:
            os.unlink(f.name)

    def test_policy_cache(self):
        """--policy-cache keeps the compiled rules; the next run reads them and answers the same."""
        lines = "".join(json.dumps({"id": i, "text": t}) + "\n" for i, t in enumerate([
            "Please leave us a 5-star review!", "Write to anna at northpeak dot co dot uk",
            "Your order 112-4839201-5561023 shipped.", "A quick rev1ew would help."]))
        with tempfile.TemporaryDirectory() as d:
            cache = os.path.join(d, "cache")
            env = dict(os.environ)
            env.pop("PARLEY_POLICY_CACHE", None)
            first = subprocess.run([BIN, "check", "--policy-cache", cache, "--jsonl", "-"], input=lines,
                                   capture_output=True, text=True, timeout=300, env=env)
            self.assertEqual(first.returncode, 0, first.stderr)
            files = [f for f in os.listdir(cache) if f.endswith(".hsdb")]
            self.assertEqual(len(files), 1)
            before = os.stat(os.path.join(cache, files[0]))
            env["PARLEY_POLICY_CACHE"] = cache  # the environment names the same directory
            second = subprocess.run([BIN, "check", "--jsonl", "-"], input=lines,
                                    capture_output=True, text=True, timeout=300, env=env)
            self.assertEqual(second.returncode, 0, second.stderr)
            self.assertEqual(first.stdout, second.stdout)
            after = os.stat(os.path.join(cache, files[0]))
            self.assertEqual(sorted(os.listdir(cache)), files)  # read, not written again
            self.assertEqual((before.st_ino, before.st_mtime_ns), (after.st_ino, after.st_mtime_ns))
            self.assertIn("--policy-cache", run(["--help"]).stdout)

    def test_help_and_usage(self):
        p = run(["--help"])
        self.assertEqual(p.returncode, 0)
        self.assertIn("--jsonl", p.stdout)
        self.assertEqual(run([]).returncode, 2)
        self.assertEqual(run(["--bogus"]).returncode, 2)
        self.assertEqual(run(["--jsonl", "/nonexistent/file"]).returncode, 2)


class CheckExplain(unittest.TestCase):
    """--explain: the rules' findings and the classifier's score per category."""

    CATS = {"off_platform", "review_request", "promotion", "profanity"}

    def test_one_message(self):
        with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
            f.write("Call me on 07700 900123. People like you are the reason sellers give up.")
        try:
            p = run(["--explain", f.name])
            self.assertEqual(p.returncode, 1, p.stderr)
            lines = p.stdout.splitlines()
            self.assertIn("phone.number", p.stdout)
            engine = [l for l in lines if l.startswith("engine: ")]
            self.assertEqual(len(engine), 1)
            self.assertRegex(engine[0], r"^engine: parley-policy/1\.0\+clf-[0-9a-f]{12}$")
            scores = {l.split()[1]: float(l.split()[2]) for l in lines if l.strip().startswith("classifier ")}
            self.assertEqual(set(scores), self.CATS)
            for v in scores.values():
                self.assertTrue(0 <= v <= 1)
            p = run(["--explain", "--json", f.name])
            o = json.loads(p.stdout)
            self.assertEqual(set(o["scores"]), self.CATS)
            self.assertEqual(o["scores"], scores)
            self.assertRegex(o["engine"], r"\+clf-[0-9a-f]{12}$")
        finally:
            os.unlink(f.name)

    def test_jsonl_and_without(self):
        line = json.dumps({"id": 1, "text": "Your order shipped today."}) + "\n"
        o = json.loads(run(["--explain", "--jsonl", "-"], line).stdout)
        self.assertEqual(list(o.keys()), ["id", "action", "categories", "findings", "scores"])
        self.assertEqual(set(o["scores"]), self.CATS)
        self.assertNotIn("scores", json.loads(run(["--jsonl", "-"], line).stdout))

    def test_turned_off(self):
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            json.dump({"classifier": {"enabled": False}}, f)
        try:
            line = json.dumps({"id": 1, "text": "Your order shipped today."}) + "\n"
            o = json.loads(run(["--config", f.name, "--explain", "--jsonl", "-"], line).stdout)
            self.assertEqual(o["scores"], {})
        finally:
            os.unlink(f.name)

    def test_help(self):
        self.assertIn("--explain", run(["--help"]).stdout)


if __name__ == "__main__":
    unittest.main(verbosity=1)
