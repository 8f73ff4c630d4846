# test_accounts.py - accounts over the real server (docs/api.md, "Accounts"): a password
# set with a token, sign-in with it (the same answer for an unknown address and a wrong
# password, attempts limited per account and per client address), a reset by the link
# mailed through the outbox (good once, forged ones refused), the TOTP second factor (a
# code is good once), and the caller's sessions (listed, one ended, all ended).
# Each test signs in from its own client address (X-Forwarded-For, --trust-proxy), so that
# the attempts per address of one do not reach another.
import base64
import hashlib
import hmac
import re
import socket
import struct
import threading
import time
import unittest

from parley_harness import HOST, ServerCase, agent_token, main, run_cli
from test_openapi import load, validate

PASSWORD = "correct horse battery"


class Mailbox:
    """An SMTP server on 127.0.0.1 that keeps every mail: [(rcpts, data)]."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind((HOST, 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.mails = []
        self.lock = threading.Lock()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._session, args=(c,), daemon=True).start()

    def _session(self, c):
        with c, c.makefile("rb") as f:
            def say(s):
                c.sendall(s.encode() + b"\r\n")
            say("220 mailbox.test ESMTP")
            rcpts, data = [], None
            for raw in f:
                if data is not None:
                    if raw in (b".\r\n", b".\n"):
                        with self.lock:
                            self.mails.append((rcpts, b"".join(data).decode("utf-8", "replace")))
                        rcpts, data = [], None
                        say("250 kept")
                    else:
                        data.append(raw[1:] if raw.startswith(b"..") else raw)
                    continue
                line = raw.decode("utf-8", "replace").strip()
                verb = line[:4].upper()
                if verb == "RCPT":
                    rcpts.append(re.search(r"<([^>]*)>", line).group(1).lower())
                    say("250 ok")
                elif verb == "DATA":
                    data = []
                    say("354 go on")
                elif verb == "QUIT":
                    say("221 bye")
                    return
                else:
                    say("250 mailbox.test")

    def wait(self, rcpt, pattern, timeout=60):
        """The first match of pattern in a mail to rcpt (quoted-printable undone)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self.lock:
                for rcpts, data in self.mails:
                    text = re.sub(r"=\r?\n", "", data)
                    text = re.sub(r"=([0-9A-F]{2})", lambda m: chr(int(m.group(1), 16)), text)
                    m = re.search(pattern, text)
                    if rcpt in rcpts and m:
                        return m
            time.sleep(0.05)
        raise AssertionError("no mail to %s matching %s" % (rcpt, pattern))

    def count(self, rcpt):
        with self.lock:
            return sum(1 for rcpts, _ in self.mails if rcpt in rcpts)

    def stop(self):
        self.sock.close()


def totp(secret_b32, step):
    """RFC 6238's code (SHA-1, 6 digits) of a time step, as an authenticator app makes it."""
    key = base64.b32decode(secret_b32 + "=" * (-len(secret_b32) % 8))
    mac = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
    off = mac[-1] & 15
    return "%06d" % ((struct.unpack(">I", mac[off:off + 4])[0] & 0x7FFFFFFF) % 1000000)


class Browser:
    """What a browser keeps of parley: its session and CSRF cookies, its address."""

    def __init__(self, srv, addr, agent="test-browser/1.0"):
        self.srv, self.addr, self.agent = srv, addr, agent
        self.cookies = {}

    def request(self, method, path, body=None, csrf=True, headers=None):
        h = {"X-Forwarded-For": self.addr, "User-Agent": self.agent}
        if self.cookies:
            h["Cookie"] = "; ".join("%s=%s" % kv for kv in self.cookies.items())
        if csrf and "parley_csrf" in self.cookies:
            h["X-CSRF-Token"] = self.cookies["parley_csrf"]
        h.update(headers or {})
        r = self.srv.request(method, path, body=body, headers=h)
        for name, value in r.header_list:
            if name == "set-cookie":
                k, v = value.split(";", 1)[0].split("=", 1)
                if "Max-Age=0" in value:
                    self.cookies.pop(k, None)
                else:
                    self.cookies[k] = v
        return r

    def sign_in(self, email, password, code=None):
        body = {"email": email, "password": password}
        if code:
            body["code"] = code
        return self.request("POST", "/v1/session", body)


class Accounts(ServerCase):
    own_store = True

    @classmethod
    def setUpClass(cls):
        cls.mailbox = Mailbox()
        cls.server_args = ("--trust-proxy", "--smtp-relay", "smtp://%s:%d" % (HOST, cls.mailbox.port))
        try:
            super().setUpClass()
        except BaseException:
            cls.mailbox.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            cls.mailbox.stop()

    _addr = 0

    def browser(self, agent="test-browser/1.0"):
        Accounts._addr += 1
        return Browser(self.srv, "198.51.100.%d" % Accounts._addr, agent)

    def set_password(self, token, email, password=PASSWORD):
        """The first password, and the address confirmed by the link mailed to it."""
        r = self.srv.put("/v1/me/password", {"email": email, "password": password}, token)
        self.assertEqual((r.status, r.json["confirm_mailed"]), (202, True), r)
        link = self.mailbox.wait(email.lower(), r"confirm-account\?token=(\d+-[0-9a-f]{64})").group(1)
        r = self.srv.post("/v1/account/confirm", {"token": link})
        self.assertEqual(r.status, 200, r)
        return link

    # ---- passwords and sign-in ----------------------------------------------------------

    def test_password_rules_and_sign_in(self):
        email = "olga.owner@acme-tools.test"
        for pw, code in (("short", "weak_password"), ("x" * 257, "password_too_long"),
                         (email, "weak_password"), (email.upper(), "weak_password")):
            self.assertError(self.srv.put("/v1/me/password", {"email": email, "password": pw}, self.fx.owner), 400,
                             code)
        self.assertError(self.srv.put("/v1/me/password", {"password": PASSWORD}, self.fx.owner), 400, "missing_field")
        self.assertEqual(self.srv.get("/v1/me/account", self.fx.owner).json, {"account": None})
        link = self.set_password(self.fx.owner, "Olga.Owner@Acme-Tools.test")
        self.assertError(self.srv.post("/v1/account/confirm", {"token": link}), 400, "invalid_token")  # good once
        acct = self.srv.get("/v1/me/account", self.fx.owner).json["account"]
        self.assertEqual(acct["email"], email)
        self.assertTrue(acct["verified"])
        self.assertFalse(acct["totp"])
        # another principal cannot take the address
        self.assertError(self.srv.put("/v1/me/password", {"email": email, "password": PASSWORD}, self.fx.agent),
                         409, "already_exists")
        # the address and the password are not kept in clear
        for path in self.store.files():
            with open(path, "rb") as f:
                data = f.read()
            self.assertNotIn(email.encode(), data)
            self.assertNotIn(PASSWORD.encode(), data)

        b = self.browser("Firefox/120")
        r = b.sign_in(email.upper(), PASSWORD)  # the address in any case
        self.assertEqual(r.status, 201, r)
        self.assertEqual((r.json["kind"], r.json["role"], r.json["seller_id"]), ("agent", "owner", "S1"))
        self.assertIn("parley_session", b.cookies)
        self.assertEqual(b.request("GET", "/v1/me").json["role"], "owner")
        # a wrong password and an unknown address: one answer
        wrong = b.sign_in(email, PASSWORD + "!")
        unknown = b.sign_in("nobody@nowhere.test", PASSWORD)
        self.assertError(wrong, 401, "sign_in_failed")
        self.assertError(unknown, 401, "sign_in_failed")
        wrong.json["error"].pop("request_id"), unknown.json["error"].pop("request_id")
        self.assertEqual(wrong.json, unknown.json)
        # a form of another site cannot post it (no JSON content type without asking first)
        r = self.srv.request("POST", "/v1/session", raw=b'{"email":"%s","password":"%s"}' % (email.encode(),
                             PASSWORD.encode()), headers={"Content-Type": "text/plain",
                                                          "X-Forwarded-For": b.addr})
        self.assertError(r, 415, "unsupported_media_type")
        # tokens still sign in
        r = self.srv.post("/v1/session", {"token": self.fx.owner})
        self.assertEqual(r.status, 201, r)

        # a change needs the current password, and ends the other sessions
        other = self.browser()
        self.assertEqual(other.sign_in(email, PASSWORD).status, 201)
        r = b.request("PUT", "/v1/me/password", {"password": "a new long passphrase", "current_password": "nope"})
        self.assertError(r, 403, "wrong_password")
        r = b.request("PUT", "/v1/me/password", {"password": "a new long passphrase"})
        self.assertError(r, 400, "missing_field")
        r = b.request("PUT", "/v1/me/password", {"password": "a new long passphrase", "current_password": PASSWORD})
        self.assertEqual(r.status, 200, r)
        self.assertGreaterEqual(r.json["sessions_revoked"], 1)
        self.assertEqual(b.request("GET", "/v1/me").status, 200)  # this one goes on
        self.assertError(other.request("GET", "/v1/me"), 401, "token_revoked")
        self.assertError(other.sign_in(email, PASSWORD), 401, "sign_in_failed")
        self.assertEqual(other.sign_in(email, "a new long passphrase").status, 201)
        # the API token is untouched
        self.assertEqual(self.srv.get("/v1/me", self.fx.owner).status, 200)

    def test_attempts_are_limited(self):
        email = "rita.reader@acme-tools.test"
        self.set_password(self.fx.read_only, email)
        b = self.browser()
        for _ in range(10):
            self.assertError(b.sign_in(email, "not the password"), 401, "sign_in_failed")
        # from another address too: the account's attempts are used up, right password or not
        r = self.browser().sign_in(email, PASSWORD)
        self.assertError(r, 429, "too_many_attempts")
        self.assertGreater(int(r.headers["retry-after"]), 0)
        # an address without an account is limited the same way (the limit says nothing)
        c = self.browser()
        for _ in range(10):
            self.assertError(c.sign_in("ghost@acme-tools.test", "not the password"), 401, "sign_in_failed")
        self.assertError(self.browser().sign_in("ghost@acme-tools.test", "x" * 12), 429, "too_many_attempts")
        # one client address tries many accounts: limited too
        d = self.browser()
        for i in range(30):
            self.assertError(d.sign_in("guess%d@acme-tools.test" % i, "password%d" % i), 401, "sign_in_failed")
        self.assertError(d.sign_in("guess-last@acme-tools.test", "whatever12"), 429, "too_many_attempts")

    def test_an_address_counts_once_confirmed(self):
        """A typed address signs in only once the link mailed to it is opened; until then it
        holds nobody off the address, and a reset mails it nothing."""
        squat = "wanted.address@acme-tools.test"
        r = self.srv.put("/v1/me/password", {"email": squat, "password": PASSWORD}, self.fx.b2)
        self.assertEqual(r.status, 202, r)
        link = self.mailbox.wait(squat, r"confirm-account\?token=(\d+-[0-9a-f]{64})").group(1)
        self.assertFalse(self.srv.get("/v1/me/account", self.fx.b2).json["account"]["verified"])
        b = self.browser()
        self.assertError(b.sign_in(squat, PASSWORD), 403, "address_unverified")
        self.assertError(b.sign_in(squat, "not the password"), 401, "sign_in_failed")  # the password first
        self.assertEqual(b.request("POST", "/v1/password-reset", {"email": squat}).status, 202)
        # forged links confirm nothing
        acct_id, mac = link.split("-")
        for bad in (acct_id + "-" + "0" * 64, str(int(acct_id) + 1) + "-" + mac, ""):
            self.assertError(self.srv.post("/v1/account/confirm", {"token": bad}), 400, "invalid_token")
        # the address's owner is invited: the unconfirmed account gives way
        self.srv.post("/v1/invitations", {"email": squat, "role": "agent"}, self.fx.owner)
        token = self.mailbox.wait(squat, r"accept-invitation\?token=(\d+-[0-9a-f]{64})").group(1)
        r = self.browser().request("POST", "/v1/invitations/accept", {"token": token, "name": "Wanda",
                                                                       "password": "wanda's own password"})
        self.assertEqual(r.status, 201, r)
        self.assertEqual(self.srv.get("/v1/me/account", self.fx.b2).json, {"account": None})
        self.assertError(self.srv.post("/v1/account/confirm", {"token": link}), 400, "invalid_token")
        self.assertEqual(self.browser().sign_in(squat, "wanda's own password").json["role"], "agent")
        # no reset mail went to the unconfirmed account (the only mails: confirmation, invitation)
        self.assertEqual(self.mailbox.count(squat), 2)

    def test_administrator_sets_an_account(self):
        """`parley admin account set` (the password on standard input) while the server runs;
        the address counts as confirmed; `account totp-off` helps one who lost the app."""
        p = run_cli(["admin", "account", "set", "--operator", "ops", "--email", "ops@marketplace.test"], self.store,
                    stdin="short\n")
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("weak_password", p.stderr)
        p = run_cli(["admin", "account", "set", "--operator", "ops", "--email", "ops@marketplace.test"], self.store,
                    stdin=PASSWORD + "\n")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertNotIn(PASSWORD, p.stdout + p.stderr)
        b = self.browser()
        r = b.sign_in("ops@marketplace.test", PASSWORD)
        self.assertEqual((r.status, r.json["kind"]), (201, "operator"), r)
        secret = b.request("POST", "/v1/me/totp", {}).json["secret"]
        self.assertEqual(b.request("POST", "/v1/me/totp/confirm", {"code": totp(secret, int(time.time()) // 30)}).status,
                         200)
        self.assertError(self.browser().sign_in("ops@marketplace.test", PASSWORD), 401, "totp_required")
        p = run_cli(["admin", "account", "totp-off", "--operator", "ops"], self.store)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(self.browser().sign_in("ops@marketplace.test", PASSWORD).status, 201)
        p = run_cli(["admin", "account", "totp-off", "--operator", "ops"], self.store)
        self.assertEqual(p.returncode, 1)
        self.assertIn("conflict", p.stderr)
        p = run_cli(["admin", "account", "totp-off", "--operator", "nobody"], self.store)
        self.assertIn("not_found", p.stderr)

    # ---- reset by e-mail --------------------------------------------------------------

    def test_reset_by_mail(self):
        email = "sam.agent@acme-tools.test"
        self.set_password(self.fx.agent, email)
        b = self.browser()
        self.assertEqual(b.sign_in(email, PASSWORD).status, 201)
        known = b.request("POST", "/v1/password-reset", {"email": email})
        unknown = b.request("POST", "/v1/password-reset", {"email": "nobody@acme-tools.test"})
        self.assertEqual(known.status, 202, known)
        self.assertEqual(known.json, unknown.json)
        m = self.mailbox.wait(email, r"reset-password\?token=(\d+-[0-9a-f]{64})")
        token = m.group(1)
        # asked again at once: the same answer, no second mail
        self.assertEqual(b.request("POST", "/v1/password-reset", {"email": email}).status, 202)
        # forged and wrong links: one answer, nothing changes
        acct_id, mac = token.split("-")
        for bad in (acct_id + "-" + "0" * 64, str(int(acct_id) + 1) + "-" + mac, mac, "", acct_id + "-" + mac[:-1]):
            r = b.request("POST", "/v1/password-reset/confirm", {"token": bad, "password": "brand new passphrase"})
            self.assertError(r, 400, "invalid_token")
        r = b.request("POST", "/v1/password-reset/confirm", {"token": token, "password": "short"})
        self.assertError(r, 400, "weak_password")
        r = b.request("POST", "/v1/password-reset/confirm", {"token": token, "password": "brand new passphrase"})
        self.assertEqual(r.status, 200, r)
        # good once; the sessions of before are ended
        r = b.request("POST", "/v1/password-reset/confirm", {"token": token, "password": "another passphrase!"})
        self.assertError(r, 400, "invalid_token")
        self.assertError(b.request("GET", "/v1/me"), 401, "token_revoked")
        self.assertError(self.browser().sign_in(email, PASSWORD), 401, "sign_in_failed")
        self.assertEqual(self.browser().sign_in(email, "brand new passphrase").status, 201)
        self.assertEqual(self.mailbox.count(email), 2)  # the address's confirmation, one reset link

    # ---- the second factor ------------------------------------------------------------

    def test_totp(self):
        email = "jane.account@mail.test"
        self.set_password(self.fx.b1, email)
        b = self.browser()
        self.assertEqual(b.sign_in(email, PASSWORD).status, 201)
        # a change by cookie needs the CSRF header
        self.assertError(b.request("POST", "/v1/me/totp", {}, csrf=False), 403, "forbidden")
        r = b.request("POST", "/v1/me/totp", {})
        self.assertEqual(r.status, 201, r)
        secret = r.json["secret"]
        self.assertTrue(r.json["otpauth_uri"].startswith("otpauth://totp/parley:jane.account%40mail.test?secret="
                                                         + secret))
        self.assertTrue(b.request("GET", "/v1/me/account").json["account"]["totp_pending"])
        # sealed at rest
        for path in self.store.files():
            with open(path, "rb") as f:
                self.assertNotIn(secret.encode(), f.read())
        used = [0]

        def code():
            """The app's code of the first step not used yet, in the window of now."""
            step = max(int(time.time()) // 30 - 1, used[0] + 1)
            used[0] = step
            return totp(secret, step)

        self.assertError(b.request("POST", "/v1/me/totp/confirm", {"code": "000000"}), 400, "totp_invalid")
        self.assertError(b.request("POST", "/v1/me/totp/confirm", {"code": "12ab56"}), 400, "totp_invalid")
        self.assertEqual(b.request("POST", "/v1/me/totp/confirm", {"code": code()}).status, 200)
        self.assertTrue(b.request("GET", "/v1/me/account").json["account"]["totp"])
        # enrolling again while it is on is refused
        self.assertError(b.request("POST", "/v1/me/totp", {}), 409, "conflict")

        c = self.browser()
        self.assertError(c.sign_in(email, PASSWORD), 401, "totp_required")
        self.assertError(c.sign_in(email, "wrong password!"), 401, "sign_in_failed")  # the password first
        self.assertError(c.sign_in(email, PASSWORD, "123456" if totp(secret, used[0] + 1) != "123456" else "654321"),
                         400, "totp_invalid")
        good = code()
        r = c.sign_in(email, PASSWORD, good)
        self.assertEqual(r.status, 201, r)
        # the same code again (seen over a shoulder, or replayed) is refused
        self.assertError(self.browser().sign_in(email, PASSWORD, good), 400, "totp_invalid")
        # off with a current code only
        self.assertError(c.request("DELETE", "/v1/me/totp", {"code": good}), 400, "totp_invalid")
        self.assertEqual(c.request("DELETE", "/v1/me/totp", {"code": code()}).status, 200)
        self.assertFalse(c.request("GET", "/v1/me/account").json["account"]["totp"])
        self.assertEqual(self.browser().sign_in(email, PASSWORD).status, 201)

    def test_recovery_codes(self):
        """Ten recovery codes, shown once when the second factor goes on; each signs in once in
        place of the app's code; a new set (for an app code) voids the old; kept as hashes."""
        email = "recovery.account@mail.test"
        self.set_password(agent_token(self.store, "S2", "Rita Recovery"), email)
        b = self.browser()
        self.assertEqual(b.sign_in(email, PASSWORD).status, 201)
        self.assertError(b.request("POST", "/v1/me/totp/recovery-codes", {"code": "123456"}), 409, "conflict")
        secret = b.request("POST", "/v1/me/totp", {}).json["secret"]
        used = [0]

        def code():
            step = max(int(time.time()) // 30 - 1, used[0] + 1)
            used[0] = step
            return totp(secret, step)

        r = b.request("POST", "/v1/me/totp/confirm", {"code": code()})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(validate(load(), {"$ref": "#/components/schemas/TotpConfirmed"}, r.json), [], r.json)
        codes = r.json["recovery_codes"]
        self.assertEqual(len(set(codes)), 10)
        for c in codes:
            self.assertRegex(c, r"^[0-9a-hjkmnp-tv-z]{4}(-[0-9a-hjkmnp-tv-z]{4}){3}$")
        acct = b.request("GET", "/v1/me/account").json
        self.assertEqual(validate(load(), {"$ref": "#/components/schemas/Account"}, acct), [], acct)
        self.assertEqual(acct["account"]["recovery_codes_left"], 10)
        for path in self.store.files():  # only their hashes are kept
            with open(path, "rb") as f:
                data = f.read()
            for c in codes:
                self.assertNotIn(c.encode(), data)
                self.assertNotIn(c.replace("-", "").encode(), data)

        # a lost phone: a recovery code signs in, once; typed in capitals with spaces too
        r = self.browser().sign_in(email, PASSWORD, codes[0])
        self.assertEqual(r.status, 201, r)
        self.assertError(self.browser().sign_in(email, PASSWORD, codes[0]), 400, "totp_invalid")
        self.assertEqual(self.browser().sign_in(email, PASSWORD, codes[1].upper().replace("-", " ")).status, 201)
        self.assertError(self.browser().sign_in(email, "wrong password!", codes[2]), 401, "sign_in_failed")
        self.assertEqual(b.request("GET", "/v1/me/account").json["account"]["recovery_codes_left"], 8)

        # a new set: needs the app's code (a recovery code will not do), and voids the old set
        self.assertError(b.request("POST", "/v1/me/totp/recovery-codes", {"code": codes[2]}), 400, "totp_invalid")
        self.assertError(b.request("POST", "/v1/me/totp/recovery-codes", {}), 400, "missing_field")
        r = b.request("POST", "/v1/me/totp/recovery-codes", {"code": code()})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(validate(load(), {"$ref": "#/components/schemas/RecoveryCodes"}, r.json), [], r.json)
        fresh = r.json["recovery_codes"]
        self.assertEqual(len(fresh), 10)
        self.assertFalse(set(fresh) & set(codes))
        self.assertError(self.browser().sign_in(email, PASSWORD, codes[2]), 400, "totp_invalid")
        self.assertEqual(self.browser().sign_in(email, PASSWORD, fresh[0]).status, 201)
        self.assertEqual(b.request("GET", "/v1/me/account").json["account"]["recovery_codes_left"], 9)

    def test_codes_are_limited(self):
        self.set_password(self.fx.b2, "carlos.account@mail.test")
        b = self.browser()
        self.assertEqual(b.sign_in("carlos.account@mail.test", PASSWORD).status, 201)
        secret = b.request("POST", "/v1/me/totp", {}).json["secret"]
        now = int(time.time()) // 30
        wrong = next("%06d" % n for n in range(1000000)
                     if "%06d" % n not in {totp(secret, now + k) for k in range(-2, 4)})
        for _ in range(10):
            self.assertError(b.request("POST", "/v1/me/totp/confirm", {"code": wrong}), 400, "totp_invalid")
        r = b.request("POST", "/v1/me/totp/confirm", {"code": totp(secret, int(time.time()) // 30)})
        self.assertError(r, 429, "too_many_attempts")
        self.assertIn("retry-after", r.headers)

    def test_anonymous_forms_need_json(self):
        """A form of another site can post text/plain, never application/json without asking."""
        for path, body in (("/v1/password-reset", b'{"email":"a@b.test"}'),
                           ("/v1/password-reset/confirm", b'{"token":"1-00","password":"xxxxxxxxxxxx"}'),
                           ("/v1/invitations/accept", b'{"token":"1-00","name":"x","password":"xxxxxxxxxxxx"}')):
            r = self.srv.request("POST", path, raw=body, headers={"Content-Type": "text/plain"})
            self.assertError(r, 415, "unsupported_media_type")

    # ---- sessions ---------------------------------------------------------------------

    def test_sessions(self):
        email = "otto.other@other-shop.test"
        self.set_password(self.fx.s2, email)
        one, two, three = self.browser("Browser One"), self.browser("Browser Two"), self.browser("Browser Three")
        for b in (one, two, three):
            self.assertEqual(b.sign_in(email, PASSWORD).status, 201)
        ss = one.request("GET", "/v1/me/sessions").json["sessions"]
        self.assertEqual([s["user_agent"] for s in ss], ["Browser Three", "Browser Two", "Browser One"])
        self.assertEqual([s["current"] for s in ss], [False, False, True])
        self.assertEqual({s["signed_in_with"] for s in ss}, {"password"})
        # one ended: that browser is signed out
        r = one.request("DELETE", "/v1/me/sessions/%d" % ss[0]["id"])
        self.assertEqual(r.status, 200, r)
        self.assertError(three.request("GET", "/v1/me"), 401, "token_revoked")
        # someone else's session does not exist here
        theirs = self.srv.get("/v1/me/sessions", self.fx.owner).json["sessions"]
        other = self.browser()
        self.assertEqual(other.request("POST", "/v1/session", {"token": self.fx.owner}).status, 201)
        mine = other.request("GET", "/v1/me/sessions").json["sessions"]
        self.assertEqual(len(mine), len(theirs) + 1)
        self.assertError(one.request("DELETE", "/v1/me/sessions/%d" % mine[0]["id"]), 404, "not_found")
        self.assertEqual(other.request("GET", "/v1/me").status, 200)
        # everywhere but here, then everywhere
        r = one.request("POST", "/v1/me/sessions/revoke-all", {"keep_current": True})
        self.assertEqual((r.status, r.json["revoked"]), (200, 1), r)
        self.assertError(two.request("GET", "/v1/me"), 401, "token_revoked")
        self.assertEqual(one.request("GET", "/v1/me").status, 200)
        r = one.request("POST", "/v1/me/sessions/revoke-all", {})
        self.assertEqual((r.status, r.json["revoked"]), (200, 1), r)
        self.assertNotIn("parley_session", one.cookies)  # the cookies cleared
        self.assertEqual(self.srv.get("/v1/me", self.fx.s2).status, 200)  # the token stays


    # ---- invitations ------------------------------------------------------------------

    def invite(self, token, body, status=201):
        r = self.srv.post("/v1/invitations", body, token)
        self.assertEqual(r.status, status, r)
        return r.json

    def test_invitations(self):
        email = "new.colleague@acme-tools.test"
        # who may invite whom
        for tok, body, status, code in (
                (self.fx.agent, {"email": email, "role": "agent"}, 403, "forbidden"),
                (self.fx.b1, {"email": email, "role": "agent"}, 403, "forbidden"),
                (self.fx.owner, {"email": email, "role": "agent", "seller_id": "S2"}, 404, "not_found"),
                (self.fx.owner, {"email": email, "role": "operator"}, 400, "invalid_input"),
                (self.fx.owner, {"email": email, "role": "boss"}, 400, "invalid_input"),
                (self.fx.owner, {"email": "not an address", "role": "agent"}, 400, "invalid_input"),
                (self.fx.operator, {"email": email, "role": "agent"}, 400, "missing_field")):
            self.assertError(self.srv.post("/v1/invitations", body, tok), status, code)
        inv = self.invite(self.fx.owner, {"email": email, "role": "agent"})["invitation"]
        self.assertEqual((inv["email"], inv["role"], inv["seller_id"], inv["state"]), (email, "agent", "S1", "pending"))
        listed = self.srv.get("/v1/invitations", self.fx.owner).json["invitations"]
        self.assertIn(inv["id"], [i["id"] for i in listed])
        self.assertNotIn(inv["id"], [i["id"] for i in self.srv.get("/v1/invitations?seller_id=S2",
                                                                   self.fx.operator).json["invitations"]])
        token = self.mailbox.wait(email, r"accept-invitation\?token=(\d+-[0-9a-f]{64})").group(1)
        b = self.browser("Invited/1.0")
        iid, mac = token.split("-")
        for bad in (iid + "-" + "f" * 64, str(int(iid) + 1000) + "-" + mac, mac, ""):
            r = b.request("POST", "/v1/invitations/accept", {"token": bad, "name": "Nina New", "password": PASSWORD})
            self.assertError(r, 400, "invalid_token")
        r = b.request("POST", "/v1/invitations/accept", {"token": token, "name": "Nina New", "password": email})
        self.assertError(r, 400, "weak_password")
        r = b.request("POST", "/v1/invitations/accept", {"token": token, "name": "Nina New", "password": PASSWORD})
        self.assertEqual(r.status, 201, r)
        self.assertEqual((r.json["kind"], r.json["role"], r.json["seller_id"]), ("agent", "agent", "S1"))
        me = b.request("GET", "/v1/me").json
        self.assertEqual(me["name"], "Nina New")
        agents = self.srv.get("/v1/agents", self.fx.owner).json["agents"]
        self.assertIn(me["agent_id"], [a["id"] for a in agents])
        # good once
        r = self.browser().request("POST", "/v1/invitations/accept", {"token": token, "name": "Eve", "password": PASSWORD})
        self.assertError(r, 400, "invalid_token")
        self.assertEqual(self.browser().sign_in(email, PASSWORD).status, 201)
        states = {i["id"]: i["state"] for i in self.srv.get("/v1/invitations", self.fx.owner).json["invitations"]}
        self.assertEqual(states[inv["id"]], "accepted")

        # a revoked invitation's link is worthless; another seller's owner cannot revoke it
        other = "second.colleague@acme-tools.test"
        inv2 = self.invite(self.fx.owner, {"email": other, "role": "read_only"})["invitation"]
        token2 = self.mailbox.wait(other, r"accept-invitation\?token=(\d+-[0-9a-f]{64})").group(1)
        self.assertError(self.srv.request("DELETE", "/v1/invitations/%d" % inv2["id"], token=self.fx.s2), 403,
                         "forbidden")
        r = self.srv.request("DELETE", "/v1/invitations/%d" % inv2["id"], token=self.fx.owner)
        self.assertEqual(r.status, 200, r)
        self.assertError(self.srv.request("DELETE", "/v1/invitations/%d" % inv2["id"], token=self.fx.owner), 404,
                         "not_found")
        r = b.request("POST", "/v1/invitations/accept", {"token": token2, "name": "Late", "password": PASSWORD})
        self.assertError(r, 400, "invalid_token")

        # the operator invites an operator
        ops = "second.operator@marketplace.test"
        self.invite(self.fx.operator, {"email": ops, "role": "operator"})
        token3 = self.mailbox.wait(ops, r"accept-invitation\?token=(\d+-[0-9a-f]{64})").group(1)
        # the name of an operator whose token exists is someone else's: refused, the link kept
        r = self.browser().request("POST", "/v1/invitations/accept", {"token": token3, "name": "ops",
                                                                       "password": PASSWORD})
        self.assertError(r, 409, "already_exists")
        self.assertIn("taken", r.json["error"]["message"])
        r = self.browser().request("POST", "/v1/invitations/accept", {"token": token3, "name": "ops2",
                                                                       "password": PASSWORD})
        self.assertEqual((r.status, r.json["kind"]), (201, "operator"), r)

    def test_pending_invitations_are_limited(self):
        for i in range(50 - len(self.srv.get("/v1/invitations?seller_id=S2", self.fx.operator).json["invitations"])):
            self.invite(self.fx.operator, {"email": "x%d@other-shop.test" % i, "role": "agent", "seller_id": "S2"})
        r = self.srv.post("/v1/invitations", {"email": "one.more@other-shop.test", "role": "agent", "seller_id": "S2"},
                          self.fx.operator)
        self.assertError(r, 409, "too_many_invitations")
        # a revoked one makes room
        first = self.srv.get("/v1/invitations?seller_id=S2", self.fx.operator).json["invitations"][0]
        self.assertEqual(self.srv.request("DELETE", "/v1/invitations/%d" % first["id"],
                                          token=self.fx.operator).status, 200)
        self.invite(self.fx.operator, {"email": "one.more@other-shop.test", "role": "agent", "seller_id": "S2"})


if __name__ == "__main__":
    main()
