# test_agent_addresses.py - the addresses agents write from by e-mail, over the real server:
# who manages whose, the customer-service address, limits, sealing at rest (docs/api.md).
import unittest

from parley_harness import ServerCase, admin, main


class AgentAddresses(ServerCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        agents = cls.srv.get("/v1/agents", cls.fx.owner).json["agents"]
        cls.ids = {a["name"]: a["id"] for a in agents}
        cls.sam, cls.rita, cls.olga = cls.ids["Sam Agent"], cls.ids["Rita Reader"], cls.ids["Olga Owner"]

    def addresses(self, agent, token):
        r = self.srv.get("/v1/agents/%d/addresses" % agent, token)
        self.assertEqual(r.status, 200, r)
        return r.json["addresses"]

    def test_agent_registers_lists_and_removes_its_own(self):
        r = self.srv.post("/v1/agents/%d/addresses" % self.sam, {"email": "Sam.Private@Acme-Team.test"}, self.fx.agent)
        self.assertEqual(r.status, 201, r)
        a = r.json["address"]
        self.assertEqual((a["agent_id"], a["email"]), (self.sam, "sam.private@acme-team.test"))
        self.assertIn(a["id"], [x["id"] for x in self.addresses(self.sam, self.fx.agent)])
        self.assertIn(a["id"], [x["id"] for x in self.addresses(self.sam, self.fx.owner)])
        # Once per seller, whoever asks.
        self.assertError(self.srv.post("/v1/agents/%d/addresses" % self.olga, {"email": "sam.private@acme-team.test"},
                                       self.fx.owner), 409, "already_exists")
        r = self.srv.request("DELETE", "/v1/agents/%d/addresses/%d" % (self.sam, a["id"]), token=self.fx.agent)
        self.assertEqual(r.status, 200, r)
        self.assertNotIn(a["id"], [x["id"] for x in self.addresses(self.sam, self.fx.agent)])
        self.assertError(self.srv.request("DELETE", "/v1/agents/%d/addresses/%d" % (self.sam, a["id"]),
                                          token=self.fx.agent), 404, "not_found")

    def test_who_manages_whose(self):
        # An agent not another's; another seller's agent does not exist for S1's callers.
        self.assertError(self.srv.post("/v1/agents/%d/addresses" % self.olga, {"email": "x1@acme-team.test"},
                                       self.fx.agent), 403, "forbidden")
        self.assertError(self.srv.get("/v1/agents/%d/addresses" % self.sam, self.fx.s2), 404, "not_found")
        self.assertError(self.srv.post("/v1/agents/%d/addresses" % self.sam, {"email": "x2@acme-team.test"},
                                       self.fx.b1), 403, "forbidden")
        # The owner manages everyone's; a read-only agent may register (its mail is still refused).
        r = self.srv.post("/v1/agents/%d/addresses" % self.sam, {"email": "sam.desk@acme-team.test"}, self.fx.owner)
        self.assertEqual(r.status, 201, r)
        r = self.srv.post("/v1/agents/%d/addresses" % self.rita, {"email": "rita@acme-team.test"}, self.fx.read_only)
        self.assertEqual(r.status, 201, r)

    def test_customer_service_address_is_the_owners_to_give(self):
        cs = self.fx.EMAILS["S1"]
        self.assertError(self.srv.post("/v1/agents/%d/addresses" % self.sam, {"email": cs}, self.fx.agent),
                         403, "forbidden")
        r = self.srv.post("/v1/agents/%d/addresses" % self.sam, {"email": cs}, self.fx.owner)
        self.assertEqual(r.status, 201, r)
        self.srv.request("DELETE", "/v1/agents/%d/addresses/%d" % (self.sam, r.json["address"]["id"]), token=self.fx.owner)

    def test_bad_input_and_limit(self):
        for bad in ("Sam <sam@acme-team.test>", "not an address", "a@b", "a@b.test, c@d.test"):
            self.assertError(self.srv.post("/v1/agents/%d/addresses" % self.olga, {"email": bad}, self.fx.owner),
                             400, "invalid_input")
        self.assertError(self.srv.post("/v1/agents/%d/addresses" % self.olga, {}, self.fx.owner), 400, "missing_field")
        for i in range(10):
            r = self.srv.post("/v1/agents/%d/addresses" % self.olga, {"email": "olga%d@acme-team.test" % i}, self.fx.owner)
            self.assertEqual(r.status, 201, r)
        self.assertError(self.srv.post("/v1/agents/%d/addresses" % self.olga, {"email": "olga10@acme-team.test"},
                                       self.fx.owner), 400, "too_many")

    def test_operator_cli_and_sealed_at_rest(self):
        out = admin(self.store, "agent-address", "add", "--agent", str(self.sam), "--email", "sam.cli.secret@acme-team.test")
        self.assertIn("sam.cli.secret@acme-team.test", admin(self.store, "agent-address", "list", "--agent", str(self.sam)))
        for path in self.store.files():
            with open(path, "rb") as f:
                self.assertNotIn(b"sam.cli.secret@acme-team.test", f.read())
        admin(self.store, "agent-address", "remove", "--agent", str(self.sam), "--id", out.strip())
        self.assertNotIn("sam.cli.secret", admin(self.store, "agent-address", "list", "--agent", str(self.sam)))


if __name__ == "__main__":
    main()
