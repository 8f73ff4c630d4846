# test_openapi.py - docs/openapi.json is well formed, matches docs/api.md and docs/rules.md, the server's routes and answers.
import json
import os
import re
import unittest

from parley_harness import FastCase, main

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DOC = os.path.join(ROOT, "docs", "openapi.json")
API_MD = os.path.join(ROOT, "docs", "api.md")
RULES_MD = os.path.join(ROOT, "docs", "rules.md")
METHODS = ("get", "post", "put", "delete", "patch")


def load():
    with open(DOC, encoding="utf-8") as f:
        return json.load(f)


def resolve(doc, node):
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        assert ref.startswith("#/"), ref
        target = doc
        for part in ref[2:].split("/"):
            target = target[part]
        extra = {k: v for k, v in node.items() if k != "$ref"}
        node = dict(target, **extra) if extra else target
    return node


def validate(doc, schema, value, where="$"):
    """A small JSON Schema check (type, enum, const, required, properties, items, oneOf, allOf, pattern)."""
    s = resolve(doc, schema)
    errors = []
    types = s.get("type")
    if types is not None:
        types = types if isinstance(types, list) else [types]
        ok = {"string": isinstance(value, str), "integer": isinstance(value, int) and not isinstance(value, bool),
              "number": isinstance(value, (int, float)) and not isinstance(value, bool),
              "boolean": isinstance(value, bool), "null": value is None, "array": isinstance(value, list),
              "object": isinstance(value, dict)}
        if not any(ok[t] for t in types):
            return ["%s: %r is not %s" % (where, value, types)]
    if "enum" in s and value not in s["enum"]:
        errors.append("%s: %r not in %s" % (where, value, s["enum"]))
    if "const" in s and value != s["const"]:
        errors.append("%s: %r != %r" % (where, value, s["const"]))
    if s.get("format") == "date-time" and isinstance(value, str) and \
            not re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", value):
        errors.append("%s: %r is not an ISO 8601 UTC time" % (where, value))
    if "pattern" in s and isinstance(value, str) and not re.search(s["pattern"], value):
        errors.append("%s: %r does not match %s" % (where, value, s["pattern"]))
    if isinstance(value, dict):
        for k in s.get("required", []):
            if k not in value:
                errors.append("%s: missing %s" % (where, k))
        for k, sub in s.get("properties", {}).items():
            if k in value:
                errors += validate(doc, sub, value[k], where + "." + k)
    if isinstance(value, list) and "items" in s:
        for i, v in enumerate(value):
            errors += validate(doc, s["items"], v, "%s[%d]" % (where, i))
    for sub in s.get("allOf", []):
        errors += validate(doc, sub, value, where)
    if "oneOf" in s:
        matches = [not validate(doc, sub, value, where) for sub in s["oneOf"]]
        if sum(matches) != 1:
            errors.append("%s: matches %d of oneOf" % (where, sum(matches)))
    return errors


class Document(unittest.TestCase):

    def test_well_formed(self):
        doc = load()
        self.assertRegex(doc["openapi"], r"^3\.1\.\d+$")
        self.assertIn("title", doc["info"])
        self.assertEqual(doc["components"]["securitySchemes"]["bearer"], dict(
            doc["components"]["securitySchemes"]["bearer"], type="http", scheme="bearer"))
        self.assertIn({"bearer": []}, doc["security"])
        ids = set()
        for path, item in doc["paths"].items():
            self.assertTrue(path.startswith("/"))
            for method, op in item.items():
                self.assertIn(method, METHODS)
                self.assertNotIn(op["operationId"], ids)
                ids.add(op["operationId"])
                self.assertTrue(op["responses"])
                for p in re.findall(r"\{(\w+)\}", path):
                    self.assertIn(p, [x["name"] for x in op.get("parameters", []) if x["in"] == "path"],
                                  (path, method))
                for status, resp in op["responses"].items():
                    self.assertRegex(status, r"^[1-5]\d\d$")
                    resp = resolve(doc, resp)
                    self.assertIn("description", resp)
                    if status[0] in "45":
                        schema = resp["content"]["application/json"]["schema"]
                        self.assertEqual(validate(doc, schema, {"error": {"code": "not_found", "message": "x"}}) == [],
                                         status == "404", (path, method, status))
        # every $ref resolves
        def walk(node):
            if isinstance(node, dict):
                if "$ref" in node:
                    resolve(doc, node)
                for v in node.values():
                    walk(v)
            elif isinstance(node, list):
                for v in node:
                    walk(v)
        walk(doc)

    def test_matches_api_md(self):
        doc = load()
        with open(API_MD, encoding="utf-8") as f:
            md = f.read()
        documented = set()
        for method, path, alt in re.findall(r"^\| `(GET|POST|PUT|DELETE) (/[^` ]*)`(?: / `(\w+)`)? \|", md, re.M):
            documented.add((method.lower(), path))
            if alt:
                documented.add((method.lower(), path.rsplit("/", 1)[0] + "/" + alt))
        # and the sections that describe one operation at length (### `POST /v1/attachments`)
        documented |= {(m.lower(), p) for m, p in re.findall(r"^### `(GET|POST|PUT|DELETE) (/[^` ]*)`", md, re.M)}
        self.assertGreaterEqual(len(documented), 14)
        # the marketplace rules' endpoints are described in docs/rules.md
        with open(RULES_MD, encoding="utf-8") as f:
            for method, path in re.findall(r"`(GET|POST|PUT|DELETE) (/v1/[^` ]+)", f.read()):
                documented.add((method.lower(), path))
        in_doc = {(m, p) for p, item in doc["paths"].items() for m in item}
        self.assertEqual(documented - in_doc, set())
        self.assertEqual(in_doc - documented, set())
        codes = set(re.findall(r"^\| (\d{3}) \| `(\w+)` \|", md, re.M))
        enum = set(doc["components"]["schemas"]["Error"]["properties"]["error"]["properties"]["code"]["enum"])
        self.assertEqual({c for _, c in codes} - enum, set())
        for status, code in codes:
            resp = doc["components"]["responses"]
            self.assertTrue(any(code in r["description"] for r in resp.values()
                                if r["content"]["application/json"]["schema"]["allOf"][1]["properties"]["error"]
                                ["properties"]["code"]["enum"].count(code)), code)


class AgainstServer(FastCase):

    def sample(self, path, tid="T999999", mid="M999999", oid="199-0000000-0000000"):
        path = path.replace("{name}", "warranty")
        if "/threads/{id}" in path:
            return path.replace("{id}", tid)
        if "/messages/{id}" in path:
            return path.replace("{id}", mid)
        return path.replace("{id}", oid)

    def test_routes(self):
        """Documented methods exist (401 without a token); others are 405; nothing else under /v1."""
        doc = load()
        for path, item in doc["paths"].items():
            for m in METHODS:
                r = self.srv.request(m.upper(), self.sample(path))
                if m in item:
                    self.assertNotIn(r.status, (404, 405), (m, path, r))
                    if path.startswith("/v1") and "security" not in item[m]:
                        self.assertError(r, 401, "unauthorized")
                elif path.startswith("/v1"):
                    self.assertEqual(r.status, 405, (m, path, r))

    def test_answers_match_schemas(self):
        doc = load()
        s = doc["components"]["schemas"]

        def check(name, value):
            self.assertEqual(validate(doc, s[name], value), [], (name, value))

        oid = self.new_order("B1", "S1")
        r = self.srv.post("/v1/threads", {"order_id": oid, "topic": "other", "text": "schema?"}, self.fx.b1)
        check("ThreadAndMessage", r.json)
        tid, mid = r.json["thread"]["id"], r.json["message"]["id"]
        r = self.srv.post("/v1/threads", {"asin": "B0SCHEMA01", "seller_id": "S1", "topic": "customization_options",
                                          "text": "engraving?"}, self.fx.b1)
        check("ThreadAndMessage", r.json)
        check("MessageEnvelope", self.srv.post("/v1/threads/%s/messages" % tid, {"text": "answer"}, self.fx.agent).json)
        check("MessageEnvelope", self.srv.post("/v1/messages/%s/no-response-needed" % mid, {"value": True},
                                               self.fx.agent).json)
        for tok in (self.fx.b1, self.fx.agent, self.fx.operator, self.fx.read_only):
            check("Me", self.srv.get("/v1/me", tok).json)
            check("ThreadList", self.srv.get("/v1/threads?limit=1", tok).json)
            check("ThreadDetail", self.srv.get("/v1/threads/" + tid, tok).json)
            check("OrderEnvelope", self.srv.get("/v1/orders/" + oid, tok).json)
        check("ThreadEnvelope", self.srv.post("/v1/threads/%s/read" % tid, None, self.fx.b1).json)
        check("ThreadEnvelope", self.srv.post("/v1/threads/%s/archive" % tid, None, self.fx.agent).json)
        check("Export", self.srv.get("/v1/threads/%s/export" % tid, self.fx.operator).json)
        check("PolicyCheckResult", self.srv.post("/v1/policy/check", {"text": "hello"}, self.fx.agent).json)
        check("Health", self.srv.get("/healthz").json)
        for tok in (self.fx.b1, self.fx.agent, self.fx.operator):
            check("OrderList", self.srv.get("/v1/orders?limit=2", tok).json)
        # the marketplace rules' reads
        check("ActionList", self.srv.get("/v1/orders/%s/actions" % oid, self.fx.agent).json)
        check("Suggestions", self.srv.get("/v1/threads/%s/suggestions" % tid, self.fx.agent).json)
        check("BuyerAttributes", self.srv.get("/v1/orders/%s/buyer-attributes" % oid, self.fx.agent).json)
        check("Preferences", self.srv.put("/v1/me/preferences", {"opt_out": False}, self.fx.b2).json)
        check("ReviewQueue", self.srv.get("/v1/review-queue", self.fx.operator).json)
        check("SellerList", self.srv.get("/v1/sellers", self.fx.operator).json)
        check("Enforcement", self.srv.get("/v1/sellers/S1/enforcement", self.fx.operator).json)
        for tok in (self.fx.agent, self.fx.operator):
            check("Metrics", self.srv.get("/v1/sellers/S1/metrics?window=7d", tok).json)
        check("Reloaded", self.srv.post("/v1/admin/policy/reload", None, self.fx.operator).json)
        r = self.srv.post("/v1/session", {"token": self.fx.b1})
        self.assertEqual(r.status, 201, r)
        check("Session", r.json)
        r = self.srv.request("DELETE", "/v1/session")
        check("SignedOut", r.json)
        r = self.srv.put("/v1/orders/" + oid, {"marketplace": "ATVPDKIKX0DER", "seller": "S1", "buyer": "B1",
                                               "status": "canceled"}, self.fx.operator)
        check("OrderEnvelope", r.json)
        r = self.srv.post("/v1/threads/%s/messages" % tid, {"text": "x"}, self.fx.b1)
        check("Error", r.json)
        # the documented response statuses of each operation include what the server answered
        ops = doc["paths"]
        self.assertIn("409", ops["/v1/threads/{id}/messages"]["post"]["responses"])
        self.assertIn(str(r.status), ops["/v1/threads/{id}/messages"]["post"]["responses"])


if __name__ == "__main__":
    main()
