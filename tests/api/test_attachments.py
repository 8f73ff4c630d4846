# test_attachments.py - POST /v1/attachments and GET /v1/attachments/{id} over HTTP: upload,
# limits, type by content, Content-MD5, download headers, a policy refusal through a file.
import base64
import hashlib
import os
import struct
import tempfile
import zlib
from datetime import datetime, timedelta, timezone
from urllib.parse import quote

from parley_harness import FAST, ServerCase, main, order_line


def png_1x1():
    """A valid one-pixel grey PNG."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00\x80")) + chunk(b"IEND", b""))


ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8 + b"\x02\x00\x3e\x00\x01\x00\x00\x00" + b"\x00" * 200


class Attachments(ServerCase):
    fixture_kw = {"settings": FAST}
    # attachments in a directory of the test's own, whatever the backend
    server_args = ("--files", tempfile.mkdtemp(prefix="parley-api-files-"))

    def upload(self, data, name=None, token=None, headers=None):
        path = "/v1/attachments" + ("?name=" + quote(name) if name else "")
        return self.srv.request("POST", path, raw=data, token=token or self.fx.agent, headers=headers)

    def uploaded(self, data, name, token=None):
        r = self.upload(data, name, token)
        self.assertEqual(r.status, 201, r)
        return r.json["attachment"]

    def thread_with_buyer(self, buyer_token=None, buyer="B1"):
        oid = self.new_order(buyer=buyer)
        t, _ = self.start_thread(buyer_token or self.fx.b1, oid)
        return t["id"]

    def test_upload_answers_the_attachment(self):
        data = b"Assembly notes: tighten the chuck by hand.\n"
        r = self.upload(data, "notes.txt")
        self.assertEqual(r.status, 201, r)
        a = r.json["attachment"]
        self.assertTrue(a["id"].startswith("A"))
        self.assertEqual(a["name"], "notes.txt")
        self.assertEqual(a["kind"], "txt")
        self.assertEqual(a["size"], len(data))
        self.assertEqual(a["sha256"], hashlib.sha256(data).hexdigest())
        self.assertIs(a["readable"], True)
        self.assertEqual(r.headers.get("location"), "/v1/attachments/" + a["id"])
        # the same content again: another record, the same file
        b = self.uploaded(data, "copy.txt")
        self.assertNotEqual(a["id"], b["id"])
        self.assertEqual(a["sha256"], b["sha256"])

    def test_name_from_content_disposition(self):
        r = self.upload(b"Hello there.\n", headers={
            "Content-Disposition": "attachment; filename*=UTF-8''R%C3%A9sum%C3%A9.txt"})
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json["attachment"]["name"], "R\u00e9sum\u00e9.txt")
        r = self.upload(b"Hello there.\n", headers={"Content-Disposition": 'attachment; filename="../../etc/passwd.txt"'})
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json["attachment"]["name"], "passwd.txt")

    def test_over_10_mb_is_413(self):
        r = self.upload(b"a" * 10_000_001, "big.txt")
        self.assertError(r, 413, "payload_too_large")
        self.assertIn("10000000", r.json["error"]["message"])  # the marketplace's limit
        # exactly 10 MB is accepted
        r = self.upload(b"b" * 10_000_000, "limit.txt")
        self.assertEqual(r.status, 201, r)
        # past what any marketplace may allow, the body is refused by its length, unread
        r = self.upload(b"c" * 25_000_001, "huge.txt")
        self.assertError(r, 413, "payload_too_large")
        self.assertIn("25000000", r.json["error"]["message"])

    def test_name_contradicting_content_is_415(self):
        r = self.upload(png_1x1(), "invoice.pdf")
        self.assertError(r, 415, "media_type_mismatch")
        self.assertIn("png", r.json["error"]["message"].lower())
        self.assertEqual(self.uploaded(png_1x1(), "dot.png")["kind"], "png")

    def test_unsupported_type_is_415(self):
        r = self.upload(ELF, "tool.txt")
        self.assertError(r, 415, "unsupported_media_type")
        r = self.upload(b"Just text.\n", "run.exe")
        self.assertError(r, 415, "unsupported_media_type")

    def test_content_md5(self):
        data = b"Checked on arrival.\n"
        good = base64.b64encode(hashlib.md5(data).digest()).decode()
        r = self.upload(data, "md5.txt", headers={"Content-MD5": good})
        self.assertEqual(r.status, 201, r)
        bad = base64.b64encode(hashlib.md5(b"something else").digest()).decode()
        r = self.upload(data, "md5.txt", headers={"Content-MD5": bad})
        self.assertError(r, 400, "invalid_input")
        r = self.upload(data, "md5.txt", headers={"Content-MD5": "not-md5"})
        self.assertError(r, 400, "invalid_input")

    def test_who_may_upload(self):
        r = self.upload(b"x\n", "a.txt", token=self.fx.operator)
        self.assertError(r, 403, "forbidden")
        r = self.upload(b"x\n", "a.txt", token=self.fx.read_only)
        self.assertError(r, 403, "forbidden")
        r = self.srv.request("POST", "/v1/attachments?name=a.txt", raw=b"x\n")
        self.assertError(r, 401, "unauthorized")
        r = self.upload(b"", "empty.txt")
        self.assertEqual(r.status, 400, r)
        self.assertEqual(self.uploaded(b"From the buyer.\n", "b.txt", token=self.fx.b1)["kind"], "txt")

    def test_download_headers_and_parties(self):
        tid = self.thread_with_buyer()
        data = b"<html><script>alert(1)</script>Care instructions</html>\n"
        a = self.uploaded(data, "care notes; \u00fc.txt")
        m = self.send(self.fx.agent, tid, "Instructions attached.", attachments=[a["id"]])
        self.assertEqual(m["status"], "delivered")
        self.assertEqual(m["attachments"], [{"id": a["id"], "name": a["name"], "kind": "txt", "size": len(data)}])
        r = self.srv.get("/v1/attachments/" + a["id"], self.fx.b1)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.body, data)
        self.assertEqual(r.headers["content-type"], "text/plain; charset=utf-8")
        self.assertEqual(r.headers["x-content-type-options"], "nosniff")
        cd = r.headers["content-disposition"]
        self.assertTrue(cd.startswith("attachment; "), cd)
        self.assertIn("filename*=UTF-8''care%20notes%3B%20%C3%BC.txt", cd)
        self.assertIn('filename="care notes; __.txt"', cd)  # one _ a byte
        # a quote cannot end the header's quoted name early: names are kept without one
        self.assertEqual(self.uploaded(b"x\n", 'a"b.txt')["name"], "a_b.txt")
        # the buyer's view of the thread lists it
        r = self.srv.get("/v1/threads/" + tid, self.fx.b1)
        self.assertIn(a["id"], [x["id"] for msg in r.json["messages"] for x in msg["attachments"]])
        # the seller's team and the operator may download; other parties get 404
        self.assertEqual(self.srv.get("/v1/attachments/" + a["id"], self.fx.owner).status, 200)
        self.assertEqual(self.srv.get("/v1/attachments/" + a["id"], self.fx.operator).status, 200)
        self.assertError(self.srv.get("/v1/attachments/" + a["id"], self.fx.b2), 404, "not_found")
        self.assertError(self.srv.get("/v1/attachments/" + a["id"], self.fx.s2), 404, "not_found")
        self.assertError(self.srv.get("/v1/attachments/" + a["id"]), 401, "unauthorized")
        self.assertError(self.srv.get("/v1/attachments/Anope", self.fx.b1), 404, "not_found")

    def test_another_partys_attachment_is_404(self):
        tid = self.thread_with_buyer()
        other = self.uploaded(b"Other shop's file.\n", "other.txt", token=self.fx.s2)
        r = self.srv.post("/v1/threads/%s/messages" % tid, {"text": "See attached.", "attachments": [other["id"]]},
                          self.fx.agent)
        self.assertError(r, 404, "not_found")

    def test_policy_refusal_through_an_attachment(self):
        tid = self.thread_with_buyer()
        a = self.uploaded(b"Spare parts: visit www.acme-tools-shop.com for 20% off.\n", "parts.txt")
        r = self.srv.post("/v1/threads/%s/messages" % tid, {"text": "Details attached.", "attachments": [a["id"]]},
                          self.fx.agent)
        self.assertError(r, 422, "policy_violation")
        found = [f for f in r.json["error"]["findings"] if f.get("attachment") == a["id"]]
        self.assertTrue(found, r)
        # the link, and (the classifier's) the invitation to buy at another shop
        link = [f for f in found if f["category"] == "link"]
        self.assertTrue(link, found)
        self.assertEqual(link[0]["name"], "parts.txt")
        self.assertIn("page", link[0])
        # kept as evidence for the seller, never shown or handed to the buyer
        r = self.srv.get("/v1/threads/" + tid, self.fx.agent)
        refused = [m for m in r.json["messages"] if m.get("status") == "rejected"]
        self.assertTrue(refused and refused[-1]["attachments"][0]["id"] == a["id"], r)
        self.assertError(self.srv.get("/v1/attachments/" + a["id"], self.fx.b1), 404, "not_found")
        # a buyer's file with the same address is not blocked
        b = self.uploaded(b"Spare parts: visit www.acme-tools-shop.com for 20% off.\n", "same.txt", token=self.fx.b1)
        m = self.send(self.fx.b1, tid, "Is this your shop?", attachments=[b["id"]])
        self.assertEqual(len(m["attachments"]), 1)

    def test_invoice_action_takes_an_attachment(self):
        # an order delivered yesterday: inside the messaging window
        ServerCase._next_order += 1
        oid = "115-%07d-%07d" % (ServerCase._next_order, 7100000 + ServerCase._next_order)
        day = datetime.now(timezone.utc) - timedelta(days=1)
        body = order_line(oid, "S1", "B1")
        del body["type"], body["id"]
        for k in ("purchased_at", "shipped_at", "delivered_at"):
            body[k] = day.strftime("%Y-%m-%dT%H:%M:%SZ")
        self.assertEqual(self.srv.put("/v1/orders/" + oid, body, self.fx.operator).status, 201)
        r = self.srv.get("/v1/orders/%s/actions" % oid, self.fx.agent)
        inv = [x for x in r.json["actions"] if x["name"] == "invoice"][0]
        self.assertTrue(inv["available"], inv)
        a = self.uploaded(b"INVOICE 1001\nCordless drill 89.99 USD\nTotal 89.99 USD\n", "invoice.txt")
        r = self.srv.post("/v1/orders/%s/actions/invoice" % oid, {"attachments": [a["id"]]}, self.fx.agent)
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json["message"]["attachments"][0]["id"], a["id"])
        r = self.srv.post("/v1/orders/%s/actions/invoice" % oid, {}, self.fx.agent)
        self.assertError(r, 400, "missing_field")

# parley-reader built with its test probes (tests/CMakeLists.txt): a file beginning
# "PARLEY-PROBE:abort" crashes it after the type was sniffed.
PROBE_READER = os.path.join(os.path.dirname(os.environ.get("PARLEY_BIN", "parley")), "tests",
                            "parley-reader-probe")


class CrashingReader(ServerCase):
    fixture_kw = {"settings": FAST}
    server_args = ("--files", tempfile.mkdtemp(prefix="parley-api-files-"), "--reader", PROBE_READER)

    def test_a_file_that_crashes_its_reader_is_held(self):
        oid = self.new_order()
        t, _ = self.start_thread(self.fx.b1, oid)
        r = self.srv.request("POST", "/v1/attachments?name=note.txt", raw=b"PARLEY-PROBE:abort\nhello\n",
                             token=self.fx.agent)
        self.assertEqual(r.status, 201, r)
        a = r.json["attachment"]
        self.assertEqual(a["kind"], "txt")
        self.assertIs(a["readable"], False)
        m = self.send(self.fx.agent, t["id"], "The note you asked for.", attachments=[a["id"]])
        self.assertEqual(m["status"], "held_for_review", m)
        # the buyer gets neither the message nor the file
        self.assertError(self.srv.get("/v1/attachments/" + a["id"], self.fx.b1), 404, "not_found")
        # the server is unharmed: the next file is read
        r = self.srv.request("POST", "/v1/attachments?name=ok.txt", raw=b"Assembly notes.\n", token=self.fx.agent)
        self.assertEqual(r.status, 201, r)
        self.assertIs(r.json["attachment"]["readable"], True)


if __name__ == "__main__":
    main()
