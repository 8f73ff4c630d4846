#!/usr/bin/env python3
# test_spapi.py - the SP-API-compatible operations over real HTTP: every operation and error.
import base64
import concurrent.futures
import hashlib
import json
import os
import re
import socket
import ssl
import subprocess
import time
import unittest
from datetime import datetime, timedelta, timezone
from urllib.parse import quote, urlencode, urlsplit

from parley_harness import (BIN, HOST, MP, ServerCase, Server, Store, Fixture, admin, run_cli,
                            main)

DAY = 86400
FORM = {"Content-Type": "application/x-www-form-urlencoded;charset=UTF-8"}
S3 = {"type": "seller", "id": "S3", "marketplace": MP, "name": "Third Shop", "email": "s3@third.test"}


def iso(seconds_ago):
    return datetime.fromtimestamp(time.time() - seconds_ago, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def credentials(store, seller):
    p = run_cli(["admin", "spapi-credentials", "--seller", seller], store)
    if p.returncode != 0:
        raise RuntimeError(p.stderr)
    return json.loads(p.stdout)


class SpapiCase(ServerCase):
    fixture_kw = {"extra_lines": [S3]}
    _n = 0

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.cred = {s: credentials(cls.store, s) for s in ("S1", "S2", "S3")}
        cls.tok = {s: cls.access_token(cls, c) for s, c in cls.cred.items()}

    def access_token(self, c):
        body = urlencode({"grant_type": "refresh_token", "refresh_token": c["refresh_token"],
                          "client_id": c["client_id"], "client_secret": c["client_secret"]})
        r = self.srv.request("POST", "/auth/o2/token", raw=body.encode(), headers=FORM)
        assert r.status == 200, r
        return r.json["access_token"]

    def order(self, seller="S1", status="shipped", delivered_days=None, negative_feedback=False,
              buyer="B1"):
        """A fresh order shipped a day ago (delivered `delivered_days` ago when given)."""
        SpapiCase._n += 1
        oid = "115-%07d-%07d" % (SpapiCase._n, 8000000 + SpapiCase._n)
        body = {"marketplace": MP, "seller": seller, "buyer": buyer, "status": status,
                "purchased_at": iso(3 * DAY + (delivered_days or 0) * DAY),
                "shipped_at": iso(DAY + (delivered_days or 0) * DAY),
                "items": [{"asin": "B0SPAPI%03d" % SpapiCase._n, "title": "Thing", "quantity": 1,
                           "price": "9.99", "currency": "USD"}]}
        if delivered_days is not None:
            body["delivered_at"] = iso(delivered_days * DAY)
            body["status"] = "delivered" if status == "shipped" else status
        if negative_feedback:
            body["negative_feedback"] = True
        r = self.srv.put("/v1/orders/" + oid, body, self.fx.operator)
        self.assertIn(r.status, (200, 201), r)
        return oid

    def sp(self, method, path, body=None, seller="S1", mp=MP, token=None, headers=None, raw=None):
        if mp is not None:
            path += ("&" if "?" in path else "?") + "marketplaceIds=" + mp
        h = {"x-amz-access-token": token if token is not None else self.tok[seller]}
        h.update(headers or {})
        return self.srv.request(method, path, body=body, raw=raw, headers=h)

    def assertSpError(self, r, status, code, contains=None):
        self.assertEqual(r.status, status, r)
        self.assertIsInstance(r.json, dict, r)
        errs = r.json.get("errors")
        self.assertIsInstance(errs, list, r)
        self.assertEqual(len(errs), 1, r)
        self.assertEqual(errs[0]["code"], code, r)
        self.assertTrue(errs[0]["message"], r)
        self.assertIn("details", errs[0])
        if contains:
            self.assertIn(contains, errs[0]["message"], r)
        self.assertRegex(r.headers.get("x-amzn-requestid", ""), r"^[0-9a-f]{32}$")

    def assertCreated(self, r):
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json, {}, r)
        self.assertEqual(r.headers.get("content-type"), "application/hal+json")
        self.assertTrue(r.headers.get("x-amzn-ratelimit-limit"), r.headers)
        self.assertRegex(r.headers.get("x-amzn-requestid", ""), r"^[0-9a-f]{32}$")


class TokenEndpoint:
    def test_refresh_grant_form_and_json(self):
        c = self.cred["S1"]
        form = urlencode({"grant_type": "refresh_token", "refresh_token": c["refresh_token"],
                          "client_id": c["client_id"], "client_secret": c["client_secret"]})
        r = self.srv.request("POST", "/auth/o2/token", raw=form.encode(), headers=FORM)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(set(r.json), {"access_token", "token_type", "expires_in", "refresh_token"})
        self.assertEqual(r.json["token_type"], "bearer")
        self.assertEqual(r.json["expires_in"], 3600)
        self.assertEqual(r.json["refresh_token"], c["refresh_token"])
        self.assertIn("application/json", r.headers["content-type"])
        j = self.srv.post("/auth/o2/token", {"grant_type": "refresh_token", "refresh_token": c["refresh_token"],
                                             "client_id": c["client_id"], "client_secret": c["client_secret"],
                                             "unknown": 1})
        self.assertEqual(j.status, 200, j)
        self.assertNotEqual(j.json["access_token"], r.json["access_token"])
        # the token is valid on SP-API only: parley's own API refuses it
        me = self.srv.get("/v1/me", j.json["access_token"])
        self.assertError(me, 401, "wrong_token_scope")

    def test_client_credentials_grant_refused(self):
        """parley has no grantless operations: the grant is refused as LWA refuses a grant a
        client may not use, and no token is issued."""
        c = self.cred["S1"]
        form = urlencode({"grant_type": "client_credentials", "client_id": c["client_id"],
                          "client_secret": c["client_secret"], "scope": "sellingpartnerapi::notifications"})
        r = self.srv.request("POST", "/auth/o2/token", raw=form.encode(), headers=FORM)
        self.assertEqual((r.status, r.json["error"]), (400, "unauthorized_client"), r)
        self.assertTrue(r.json["error_description"])
        self.assertNotIn("access_token", r.json)
        # a wrong secret is still the client's error first
        r = self.srv.post("/auth/o2/token", {"grant_type": "client_credentials", "client_id": c["client_id"],
                                             "client_secret": "amzn1.oa2-cs.v1.wrong", "scope": "x"})
        self.assertEqual((r.status, r.json["error"]), (401, "invalid_client"))
        r = self.srv.post("/auth/o2/token", {"grant_type": "client_credentials", "client_id": c["client_id"],
                                             "client_secret": c["client_secret"]})
        self.assertEqual((r.status, r.json["error"]), (400, "invalid_request"))

    def test_token_errors(self):
        c = self.cred["S1"]
        cases = [
            ({"grant_type": "refresh_token", "refresh_token": c["refresh_token"], "client_id": c["client_id"],
              "client_secret": "amzn1.oa2-cs.v1.wrong"}, 401, "invalid_client"),
            ({"grant_type": "refresh_token", "refresh_token": c["refresh_token"], "client_id": "amzn1.application-oa2-client.nope",
              "client_secret": c["client_secret"]}, 401, "invalid_client"),
            ({"grant_type": "refresh_token", "refresh_token": self.cred["S2"]["refresh_token"],
              "client_id": c["client_id"], "client_secret": c["client_secret"]}, 400, "invalid_grant"),
            ({"grant_type": "refresh_token", "client_id": c["client_id"], "client_secret": c["client_secret"]},
             400, "invalid_request"),
            ({"grant_type": "password", "client_id": c["client_id"], "client_secret": c["client_secret"]},
             400, "unsupported_grant_type"),
            ({"client_id": c["client_id"], "client_secret": c["client_secret"]}, 400, "invalid_request"),
        ]
        for body, status, err in cases:
            r = self.srv.request("POST", "/auth/o2/token", raw=urlencode(body).encode(), headers=FORM)
            self.assertEqual(r.status, status, (body, r))
            self.assertEqual(r.json["error"], err, r)
            self.assertTrue(r.json["error_description"])
        self.assertEqual(self.srv.get("/auth/o2/token").status, 405)

    def test_credentials_rotate(self):
        old = credentials(self.store, "S3")
        new = credentials(self.store, "S3")
        self.assertEqual(old["client_id"], new["client_id"])
        self.assertNotEqual(old["refresh_token"], new["refresh_token"])
        r = self.srv.post("/auth/o2/token", {"grant_type": "refresh_token", "refresh_token": old["refresh_token"],
                                             "client_id": old["client_id"], "client_secret": new["client_secret"]})
        self.assertEqual((r.status, r.json["error"]), (400, "invalid_grant"))
        self.assertEqual(self.access_token(new)[:4], "pla_")
        self.__class__.cred["S3"] = new

    def test_cli_contract(self):
        c = credentials(self.store, "S2")
        self.assertEqual(set(c), {"client_id", "client_secret", "refresh_token"})
        self.assertTrue(c["client_id"].startswith("amzn1.application-oa2-client."))
        self.__class__.cred["S2"] = c
        self.__class__.tok["S2"] = self.access_token(c)
        p = run_cli(["admin", "spapi-credentials", "--seller", "NOPE"], self.store)
        self.assertEqual(p.returncode, 1)
        self.assertIn("NOPE", p.stderr)
        p = run_cli(["admin", "spapi-credentials"], self.store)
        self.assertEqual(p.returncode, 2)
        p = run_cli(["admin", "--help"], self.store)
        self.assertIn("spapi-credentials --seller ID", p.stdout)
        # secrets are kept only as hashes
        if self.store.files():
            for f in self.store.files():
                with open(f, "rb") as fh:
                    data = fh.read()
                self.assertNotIn(c["client_secret"].encode(), data)
                self.assertNotIn(c["refresh_token"].encode(), data)


class Auth:
    def test_access_token_required(self):
        oid = self.order()
        path = "/messaging/v1/orders/%s/attributes?marketplaceIds=%s" % (oid, MP)
        r = self.srv.get(path)
        self.assertSpError(r, 403, "Unauthorized", "x-amz-access-token")
        # a bearer token in Authorization is not SP-API's credential
        r = self.srv.get(path, self.fx.agent)
        self.assertSpError(r, 403, "Unauthorized")
        r = self.srv.get(path, headers={"x-amz-access-token": "Atza|not-a-token"})
        self.assertSpError(r, 403, "Unauthorized", "not valid")
        # a buyer's token is not a seller application's
        r = self.srv.get(path, headers={"x-amz-access-token": self.fx.b1})
        self.assertSpError(r, 403, "Unauthorized")
        # Authorization, x-amz-date and Host (SigV4) are ignored
        r = self.srv.get(path, headers={"x-amz-access-token": self.tok["S1"], "x-amz-date": "20261001T000000Z",
                                        "Authorization": "AWS4-HMAC-SHA256 Credential=AKIA/x, Signature=00",
                                        "Host": "sellingpartnerapi-na.amazon.com"})
        self.assertEqual(r.status, 200, r)

    def test_unknown_paths(self):
        self.assertSpError(self.sp("GET", "/messaging/v1/nothing"), 404, "NotFound")
        self.assertSpError(self.sp("POST", "/messaging/v1/orders/%s/messages/shout" % self.order(), {}),
                           404, "NotFound")
        self.assertSpError(self.sp("DELETE", "/messaging/v1/orders/%s" % self.order()), 405, "MethodNotAllowed")


class Messaging:
    def test_actions_hal(self):
        oid = self.order()  # shipped, not delivered
        r = self.sp("GET", "/messaging/v1/orders/" + oid)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.headers["content-type"], "application/hal+json")
        self.assertEqual(r.headers["x-amzn-ratelimit-limit"], "1")
        self.assertRegex(r.headers["x-amzn-requestid"], r"^[0-9a-f]{32}$")
        j = r.json
        self.assertEqual(j["_links"]["self"], {"href": "/messaging/v1/orders/%s?marketplaceIds=%s" % (oid, MP)})
        names = [a["name"] for a in j["_links"]["actions"]]
        for n in ("confirmCustomizationDetails", "confirmDeliveryDetails", "confirmOrderDetails",
                  "confirmServiceDetails", "digitalAccessKey", "warranty", "unexpectedProblem"):
            self.assertIn(n, names)
        self.assertNotIn("negativeFeedbackRemoval", names)
        self.assertEqual(len(j["_embedded"]["actions"]), len(names))
        for link, emb in zip(j["_links"]["actions"], j["_embedded"]["actions"]):
            href = "/messaging/v1/orders/%s/messages/%s?marketplaceIds=%s" % (oid, link["name"], MP)
            self.assertEqual(link["href"], href)
            self.assertEqual(emb["_links"]["self"], {"href": href, "name": link["name"]})
            self.assertEqual(emb["_links"]["schema"],
                             {"href": "/messaging/v1/orders/%s/messages/%s/schema" % (oid, link["name"]),
                              "name": link["name"]})
        # the schema link answers with the request's JSON schema
        s = self.sp("GET", "/messaging/v1/orders/%s/messages/confirmCustomizationDetails/schema" % oid, mp=None)
        self.assertEqual(s.status, 200, s)
        self.assertEqual(s.json["payload"]["properties"]["text"]["maxLength"], 800)
        # a delivered order: the before-delivery actions are gone
        r = self.sp("GET", "/messaging/v1/orders/" + self.order(delivered_days=2))
        names = [a["name"] for a in r.json["_links"]["actions"]]
        self.assertNotIn("confirmDeliveryDetails", names)
        self.assertIn("unexpectedProblem", names)

    def test_marketplace_ids_forms(self):
        oid = self.order(seller="S3")  # a bucket of its own: five answers are the burst
        base = "/messaging/v1/orders/%s/attributes" % oid
        kw = {"seller": "S3"}
        self.assertEqual(self.sp("GET", base, mp=MP, **kw).status, 200)
        self.assertEqual(self.sp("GET", base, mp="A1PA6795UKMFR9," + MP, **kw).status, 200)
        self.assertEqual(self.sp("GET", base, mp=quote("A1PA6795UKMFR9," + MP), **kw).status, 200)
        self.assertEqual(self.sp("GET", base + "?marketplaceIds=A1PA6795UKMFR9", mp=MP, **kw).status, 200)
        self.assertEqual(self.sp("GET", base + "?_=123&foo=bar", mp=MP, **kw).status, 200)
        self.assertSpError(self.sp("GET", base, mp=None, **kw), 400, "InvalidInput", "marketplaceIds")
        self.assertSpError(self.sp("GET", base, mp="A1PA6795UKMFR9", **kw), 400, "InvalidInput", "marketplace")
        self.assertSpError(self.sp("POST", "/messaging/v1/orders/%s/messages/confirmOrderDetails" % oid,
                                   {"text": "Hello"}, mp=None), 400, "InvalidInput")

    def test_get_attributes(self):
        r = self.sp("GET", "/messaging/v1/orders/%s/attributes" % self.order(buyer="B2"))
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json, {"buyer": {"locale": "es-US"}})
        self.assertSpError(self.sp("GET", "/messaging/v1/orders/112-0000000-0000000/attributes"), 404, "NotFound")
        # another seller's order is not found either
        self.assertSpError(self.sp("GET", "/messaging/v1/orders/%s/attributes" % self.order(seller="S2")),
                           404, "NotFound")

    def test_every_create_operation(self):
        oid = self.order()
        p = "/messaging/v1/orders/%s/messages/" % oid
        self.assertCreated(self.sp("POST", p + "confirmCustomizationDetails",
                                   {"text": "Which colour would you like engraved?", "attachments": [], "extra": 1}))
        self.assertCreated(self.sp("POST", p + "confirmDeliveryDetails", {"text": "Delivery is on Tuesday."}))
        self.assertCreated(self.sp("POST", p + "confirmOrderDetails", {"text": "Please confirm the size."}))
        self.assertCreated(self.sp("POST", p + "confirmServiceDetails", {"text": "The fitter comes at 9."}))
        self.assertCreated(self.sp("POST", p + "digitalAccessKey", {"text": "Your key is ABCD-1234."}))
        self.assertCreated(self.sp("POST", p + "unexpectedProblem", {"text": "The parcel is delayed by a day."}))
        self.assertCreated(self.sp("POST", p + "warranty", {"coverageStartDate": "2026-01-01T00:00:00.000Z",
                                                            "coverageEndDate": "2028-01-01T00:00:00Z"}))
        self.assertSpError(self.sp("POST", p + "warranty", {}), 400, "InvalidInput", "coverage")
        self.assertSpError(self.sp("POST", p + "invoice", {}), 400, "InvalidInput", "attachment")
        self.assertSpError(self.sp("POST", p + "legalDisclosure", {"attachments": []}), 400, "InvalidInput", "attachment")
        self.assertSpError(self.sp("POST", p + "invoice", {"attachments": [{"uploadDestinationId": "nope", "fileName": "a.pdf"}]}),
                           400, "InvalidInput", "uploadDestinationId")
        self.assertSpError(self.sp("POST", p + "negativeFeedbackRemoval"), 403, "Unauthorized", "negative feedback")
        self.assertSpError(self.sp("POST", p + "amazonMotors", {}), 403, "Unauthorized", "amazonMotors")
        self.assertCreated(self.sp("POST", "/messaging/v1/orders/%s/messages/negativeFeedbackRemoval"
                                   % self.order(negative_feedback=True, delivered_days=3)))
        # the messages are the thread's, as the own API shows them
        threads = self.srv.get("/v1/threads?order_id=" + oid, self.fx.owner).json["threads"]
        self.assertEqual(len(threads), 1)
        msgs = self.srv.get("/v1/threads/" + threads[0]["id"], self.fx.owner).json["messages"]
        self.assertEqual(len(msgs), 7)
        self.assertEqual(msgs[0]["text"], "Which colour would you like engraved?")

    def test_action_refusals_say_why(self):
        delivered = self.order(delivered_days=2)
        r = self.sp("POST", "/messaging/v1/orders/%s/messages/confirmDeliveryDetails" % delivered, {"text": "x y"})
        self.assertSpError(r, 403, "Unauthorized", "before the order is delivered")
        self.assertEqual(r.json["errors"][0]["details"], "action_unavailable")
        old = self.order(delivered_days=40)
        self.assertSpError(self.sp("POST", "/messaging/v1/orders/%s/messages/unexpectedProblem" % old, {"text": "Hi"}),
                           403, "Unauthorized", "window")
        canceled = self.order(status="canceled")
        self.assertSpError(self.sp("POST", "/messaging/v1/orders/%s/messages/confirmOrderDetails" % canceled,
                                   {"text": "Hi"}), 403, "Unauthorized", "canceled")
        self.assertSpError(self.sp("POST", "/messaging/v1/orders/%s/messages/confirmOrderDetails" % self.order(seller="S2"),
                                   {"text": "Hi"}), 404, "NotFound")

    def test_invalid_bodies(self):
        p = "/messaging/v1/orders/%s/messages/" % self.order()
        self.assertSpError(self.sp("POST", p + "confirmCustomizationDetails", {"text": "x" * 801}),
                           400, "InvalidInput", "800")
        self.assertSpError(self.sp("POST", p + "confirmOrderDetails", {}), 400, "InvalidInput", "text")
        self.assertSpError(self.sp("POST", p + "confirmOrderDetails", {"text": 5}), 400, "InvalidInput")
        self.assertSpError(self.sp("POST", p + "confirmOrderDetails", raw=b"{not json",
                                   headers={"Content-Type": "application/json"}), 400, "InvalidInput")
        self.assertSpError(self.sp("POST", p + "confirmOrderDetails", raw=b"text=hello",
                                   headers={"Content-Type": "text/plain"}), 415, "UnsupportedMediaType")
        big = json.dumps({"text": "x" * (1024 * 1024 + 10)}).encode()
        r = self.sp("POST", p + "confirmOrderDetails", raw=big, headers={"Content-Type": "application/json"})
        self.assertSpError(r, 413, "RequestEntityTooLarge")
        self.assertSpError(self.sp("POST", p + "confirmCustomizationDetails",
                                   {"text": "Hi", "attachments": [{"fileName": "a.png"}]}), 400, "InvalidInput")

    def test_policy_refusal_names_findings(self):
        # S2: a severe finding restricts the seller's proactive messages at once
        r = self.sp("POST", "/messaging/v1/orders/%s/messages/confirmOrderDetails" % self.order(seller="S2"),
                    {"text": "Write to me at jane.seller@gmail.com instead."}, seller="S2")
        self.assertSpError(r, 400, "InvalidInput", "jane.seller@gmail.com")
        self.assertIn("email", r.json["errors"][0]["message"])
        self.assertEqual(r.json["errors"][0]["details"], "policy_violation")


class Solicitations:
    def test_review_request(self):
        oid = self.order(delivered_days=10)
        r = self.sp("GET", "/solicitations/v1/orders/" + oid)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.headers["content-type"], "application/hal+json")
        href = "/solicitations/v1/orders/%s/solicitations/productReviewAndSellerFeedback?marketplaceIds=%s" % (oid, MP)
        self.assertEqual(r.json["_links"], {"self": {"href": "/solicitations/v1/orders/%s?marketplaceIds=%s" % (oid, MP)},
                                            "actions": [{"href": href, "name": "productReviewAndSellerFeedback"}]})
        emb = r.json["_embedded"]["actions"][0]["_links"]
        self.assertEqual(emb["schema"]["href"],
                         "/solicitations/v1/orders/%s/solicitations/productReviewAndSellerFeedback/schema" % oid)
        self.assertEqual(emb["self"]["href"], href)
        c = self.sp("POST", "/solicitations/v1/orders/%s/solicitations/productReviewAndSellerFeedback" % oid)
        self.assertCreated(c)
        again = self.sp("POST", "/solicitations/v1/orders/%s/solicitations/productReviewAndSellerFeedback" % oid)
        self.assertSpError(again, 403, "Unauthorized", "already requested")
        self.assertEqual(again.json["errors"][0]["details"], "already_requested")
        self.assertEqual(self.sp("GET", "/solicitations/v1/orders/" + oid).json["_links"]["actions"], [])

    def test_review_window(self):
        for days in (2, 31):
            oid = self.order(delivered_days=days)
            self.assertEqual(self.sp("GET", "/solicitations/v1/orders/" + oid).json["_embedded"]["actions"], [])
            r = self.sp("POST", "/solicitations/v1/orders/%s/solicitations/productReviewAndSellerFeedback" % oid)
            self.assertSpError(r, 403, "Unauthorized", "day 5 to day 30")
        self.assertSpError(self.sp("GET", "/solicitations/v1/orders/112-0000000-0000009"), 404, "NotFound")


class Uploads:
    DATA = b"Invoice 2026-117\nCordless drill  89.99 USD\nTotal  89.99 USD\n"  # a text file: a type by content

    def create(self, resource, md5=None, encoded=True):
        md5 = md5 or base64.b64encode(hashlib.md5(self.DATA).digest()).decode()
        res = quote(resource, safe="") if encoded else resource
        return self.sp("POST", "/uploads/2020-11-01/uploadDestinations/%s?contentMD5=%s&contentType=text/plain"
                       % (res, quote(md5, safe="")))

    def test_create_destination(self):
        oid = self.order()
        for encoded in (True, False):
            r = self.create("messaging/v1/orders/%s/messages/invoice" % oid, encoded=encoded)
            self.assertEqual(r.status, 201, r)
            self.assertIn("application/json", r.headers["content-type"])
            self.assertEqual(r.headers["x-amzn-ratelimit-limit"], "10")
            p = r.json["payload"]
            self.assertRegex(p["uploadDestinationId"], r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
            self.assertEqual(p["headers"]["Content-MD5"], base64.b64encode(hashlib.md5(self.DATA).digest()).decode())
            self.assertTrue(p["url"].startswith("http://"), p)
        # hex MD5, as the model's example shows it, is accepted too
        self.assertEqual(self.create("messaging/v1/orders/%s/messages/invoice" % oid,
                                     md5=hashlib.md5(self.DATA).hexdigest()).status, 201)
        r = self.sp("POST", "/uploads/2020-11-01/uploadDestinations/messaging%2Fv1?contentMD5=")
        self.assertSpError(r, 400, "InvalidInput", "contentMD5")
        self.assertSpError(self.create("x", md5="not-md5"), 400, "InvalidInput")
        r = self.sp("POST", "/uploads/2020-11-01/uploadDestinations/x?contentMD5=abc", mp=None)
        self.assertSpError(r, 400, "InvalidInput", "marketplaceIds")
        self.assertSpError(self.srv.post("/uploads/2020-11-01/uploadDestinations/x?marketplaceIds=" + MP),
                           403, "Unauthorized")

    def test_put_checks_md5(self):
        p = self.create("messaging/v1/orders/%s/messages/invoice" % self.order()).json["payload"]
        path = urlsplit(p["url"]).path
        r = self.srv.request("PUT", path, raw=b"other bytes", headers={"Content-Type": "text/plain"})
        self.assertSpError(r, 400, "InvalidInput", "MD5")
        r = self.srv.request("PUT", path, raw=self.DATA,
                             headers={"Content-MD5": base64.b64encode(hashlib.md5(b"x").digest()).decode()})
        self.assertSpError(r, 400, "InvalidInput", "Content-MD5")
        self.assertSpError(self.srv.request("PUT", "/uploads/2020-11-01/destinations/nope", raw=self.DATA),
                           404, "NotFound")
        r = self.srv.request("PUT", path, raw=self.DATA, headers=dict(p["headers"]))
        if r.status == 415 and "attachment store" in r.body.decode():
            self.skipTest("this build has no attachment store: uploads stop after the MD5 check")
        self.assertEqual(r.status, 200, r)
        oid = self.order()
        d = self.create("messaging/v1/orders/%s/messages/invoice" % oid).json["payload"]
        self.assertEqual(self.srv.request("PUT", urlsplit(d["url"]).path, raw=self.DATA, headers=d["headers"]).status, 200)
        self.assertCreated(self.sp("POST", "/messaging/v1/orders/%s/messages/invoice" % oid,
                                   {"attachments": [{"uploadDestinationId": d["uploadDestinationId"], "fileName": "invoice.txt"}]}))


class Limits:
    def test_rate_limit_429(self):
        oid = self.order(seller="S2")
        path = "/messaging/v1/orders/%s/attributes" % oid
        # all at once, so that the bucket (1 a second, burst 5) cannot refill in between
        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            statuses = list(pool.map(lambda _: self.sp("GET", path, seller="S2"), range(16)))
        codes = [r.status for r in statuses]
        self.assertGreaterEqual(codes.count(200), 5, codes)
        self.assertEqual(set(codes), {200, 429}, codes)
        limited = [r for r in statuses if r.status == 429]
        self.assertTrue(limited, codes)
        self.assertSpError(limited[0], 429, "QuotaExceeded", "getAttributes")
        self.assertEqual(limited[0].headers.get("retry-after"), "1")
        self.assertEqual(limited[0].headers.get("x-amzn-ratelimit-limit"), "1")
        self.assertEqual(limited[0].headers.get("content-type"), "application/hal+json")

    def test_quota_and_restriction(self):
        ops = self.fx.operator
        r = self.srv.post("/v1/sellers/S3/enforcement", {"action": "quota", "days": 1, "quota_per_day": 1,
                                                          "reason": "testing the quota"}, ops)
        self.assertEqual(r.status, 200, r)
        p = "/messaging/v1/orders/%s/messages/confirmOrderDetails" % self.order(seller="S3")
        self.assertCreated(self.sp("POST", p, {"text": "First message."}, seller="S3"))
        self.assertSpError(self.sp("POST", p, {"text": "Second message."}, seller="S3"), 429, "QuotaExceeded", "quota")
        self.srv.post("/v1/sellers/S3/enforcement", {"action": "lift_quota", "reason": "done"}, ops)
        self.srv.post("/v1/sellers/S3/enforcement", {"action": "restrict", "days": 2, "reason": "testing"}, ops)
        r = self.sp("POST", "/messaging/v1/orders/%s/messages/confirmOrderDetails" % self.order(seller="S3"),
                    {"text": "Proactive."}, seller="S3")
        self.assertSpError(r, 403, "Unauthorized", "restricted")
        self.srv.post("/v1/sellers/S3/enforcement", {"action": "lift_restriction", "reason": "done"}, ops)


def free_port():
    s = socket.socket()
    s.bind((HOST, 0))
    port = s.getsockname()[1]
    s.close()
    return port


class TestSpapi(TokenEndpoint, Auth, Messaging, Solicitations, Uploads, Limits, SpapiCase):
    """One server and store for every operation: starting one is the slow part."""


class TestTlsAndExpiry(unittest.TestCase):
    """parley serve --tls-cert/--tls-key, and access tokens that expire (--token-ttl)."""

    @classmethod
    def setUpClass(cls):
        cls.store = Store()
        cls.fx = Fixture(cls.store, orders_b1_s1=1, orders_b2_s1=0, orders_b1_s2=0)
        cls.cert = os.path.join(cls.store.dir, "cert.pem")
        cls.key = os.path.join(cls.store.dir, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                        "-subj", "/CN=localhost", "-keyout", cls.key, "-out", cls.cert],
                       check=True, capture_output=True, timeout=120)
        cls.port = free_port()
        cls.log = open(os.path.join(cls.store.dir, "tls.log"), "w+")
        cls.proc = subprocess.Popen([BIN, "serve", "--db", cls.store.url, "--key-file", cls.store.key_file,
                                     "--listen", "%s:%d" % (HOST, cls.port), "--tls-cert", cls.cert,
                                     "--tls-key", cls.key, "--token-ttl", "2"], stdout=cls.log, stderr=subprocess.STDOUT)
        cls.ctx = ssl.create_default_context()
        cls.ctx.check_hostname = False
        cls.ctx.verify_mode = ssl.CERT_NONE
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if cls.https("GET", "/healthz")[0] == 200:
                    break
            except OSError:
                time.sleep(0.1)
        else:
            raise RuntimeError("TLS server did not start")

    @classmethod
    def tearDownClass(cls):
        cls.proc.terminate()
        cls.proc.wait(timeout=20)
        cls.log.close()
        cls.store.cleanup()

    @classmethod
    def https(cls, method, path, body=None, headers=None):
        import http.client
        conn = http.client.HTTPSConnection(HOST, cls.port, context=cls.ctx, timeout=10)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            r = conn.getresponse()
            return r.status, r.read(), {k.lower(): v for k, v in r.getheaders()}
        finally:
            conn.close()

    def test_https_and_expiry(self):
        with open(self.log.name) as f:
            self.assertIn("listening on https://", f.read())
        c = credentials(self.store, "S1")
        st, body, _ = self.https("POST", "/auth/o2/token", json.dumps(
            {"grant_type": "refresh_token", "refresh_token": c["refresh_token"], "client_id": c["client_id"],
             "client_secret": c["client_secret"]}), {"Content-Type": "application/json"})
        self.assertEqual(st, 200, body)
        tok = json.loads(body)
        self.assertEqual(tok["expires_in"], 2)
        oid = self.fx.orders["B1/S1"][0]
        path = "/messaging/v1/orders/%s/attributes?marketplaceIds=%s" % (oid, MP)
        st, body, h = self.https("GET", path, headers={"x-amz-access-token": tok["access_token"]})
        self.assertEqual(st, 200, body)
        self.assertEqual(json.loads(body), {"buyer": {"locale": "en-US"}})
        time.sleep(3.1)
        st, body, h = self.https("GET", path, headers={"x-amz-access-token": tok["access_token"]})
        self.assertEqual(st, 403, body)
        err = json.loads(body)["errors"][0]
        self.assertEqual(err["code"], "Unauthorized")
        self.assertIn("expired", err["message"])
        # plain http to the https port gets no answer
        import http.client
        conn = http.client.HTTPConnection(HOST, self.port, timeout=5)
        with self.assertRaises((OSError, http.client.HTTPException)):
            conn.request("GET", "/healthz")
            r = conn.getresponse()
            if r.status:
                r.read()
                raise OSError("answered %d" % r.status)
        conn.close()


if __name__ == "__main__":
    main()
