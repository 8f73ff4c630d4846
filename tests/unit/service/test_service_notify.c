/* test_service_notify.c - notices to a seller's team over a real SQLite store, on a clock
 * the test moves (docs/notifications.md): the test plays the mail worker (svc_mail_claim
 * builds each mail from the record) and reads what would be sent. A new customer-service
 * address is used only after its mailed link confirms it; a deadline alert reaches the
 * assigned agent, or the team, once; digests come on the hour with what waits; an agent who
 * asked for every message gets each, about its own threads when it said so; nothing holds
 * a buyer's real address. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "service/svc.h"
#include "service/svc_mail.h"
#include "service/svc_team.h"

typedef struct {
  svc *s;
  pl_time now;
  char dir[64];
  svc_caller buyer, owner, agent;
  pl_arena *a;
  int n_orders;
} fx;

static pl_time fake_now(void *ctx) { return ((fx *)ctx)->now; }

#include "svc_fixture.h"

static void import(fx *f, const char *line) { svc_test_import(f->s, line); }

static int setup(void **state) {
  fx *f = calloc(1, sizeof *f);
  f->now = 1791190800; /* 2026-10-05 09:00 UTC, on the hour */
  f->s = svc_test_open(f->dir, "parley-svcnotify", (pl_clock){fake_now, f});
  pl_detail d = {0};
  f->a = pl_arena_new();
  import(f, "{\"type\":\"marketplace\",\"id\":\"ATVPDKIKX0DER\",\"name\":\"Example US\",\"domains\":[\"example.com\"],"
            "\"locale\":\"en-US\",\"settings\":{\"buyer_threads_per_day\":1000,\"buyer_messages_per_day\":1000}}");
  import(f, "{\"type\":\"seller\",\"id\":\"S1\",\"marketplace\":\"ATVPDKIKX0DER\",\"name\":\"Acme Tools\",\"email\":\"s@acme.test\"}");
  import(f, "{\"type\":\"buyer\",\"id\":\"B1\",\"name\":\"Jane Doe\",\"email\":\"jane.private@mail.test\",\"locale\":\"en-US\"}");
  int64_t owner, agent;
  assert_int_equal(svc_agent_add(f->s, "S1", "Maya", "owner", &owner, &d), PL_OK);
  assert_int_equal(svc_agent_add(f->s, "S1", "Sam", "agent", &agent, &d), PL_OK);
  f->buyer = (svc_caller){.kind = ST_PRINCIPAL_BUYER, .buyer_id = "B1", .name = "buyer:B1"};
  f->owner = (svc_caller){.kind = ST_PRINCIPAL_AGENT, .seller_id = "S1", .agent_id = owner, .agent_role = ST_ROLE_OWNER,
                          .marketplace_id = "ATVPDKIKX0DER", .name = "agent:1"};
  f->agent = (svc_caller){.kind = ST_PRINCIPAL_AGENT, .seller_id = "S1", .agent_id = agent, .agent_role = ST_ROLE_AGENT,
                          .marketplace_id = "ATVPDKIKX0DER", .name = "agent:2"};
  svc_agent_address ad;
  assert_int_equal(svc_agent_address_add(f->s, &f->owner, owner, "maya@acme-team.test", f->a, &ad, &d), PL_OK);
  assert_int_equal(svc_agent_address_add(f->s, &f->agent, agent, "sam@acme-team.test", f->a, &ad, &d), PL_OK);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fx *f = *state;
  svc_test_close(f->s, f->dir);
  pl_arena_free(f->a);
  free(f);
  return 0;
}

/* A buyer starts a thread on a new order; its id. */
static int64_t buyer_writes(fx *f, const char *text) {
  char line[512], oid[32];
  snprintf(oid, sizeof oid, "112-%07d-5561023", 4839201 + f->n_orders++);
  snprintf(line, sizeof line, "{\"type\":\"order\",\"id\":\"%s\",\"marketplace\":\"ATVPDKIKX0DER\",\"seller\":\"S1\","
           "\"buyer\":\"B1\",\"status\":\"delivered\",\"purchased_at\":\"2026-10-01T10:00:00Z\"}", oid);
  import(f, line);
  svc_start_in in = {.order_id = oid, .topic = "other", .text = text};
  st_thread t;
  svc_sent m;
  pl_detail d = {0};
  assert_int_equal(svc_thread_start(f->s, &f->buyer, &in, f->a, &t, &m, &d), PL_OK);
  policy_verdict_free(&m.verdict);
  return t.id;
}

/* The notices due now, as the mail worker would send them; each is reported sent. Forwards
 * of buyer messages to the seller's address are left out (their own tests). */
static size_t notices(fx *f, svc_outmail **out) {
  svc_outmail *ms;
  size_t n = svc_mail_claim(f->s, NULL, 64, f->a, &ms), k = 0;
  svc_outmail *keep = pl_arena_alloc(f->a, (n ? n : 1) * sizeof *keep);
  for (size_t i = 0; i < n; i++) {
    bool notice = ms[i].row.kind == ST_OUTBOX_NOTICE;
    if (notice) {
      keep[k] = ms[i];
      keep[k].rcpt = pl_arena_strdup(f->a, ms[i].rcpt);
      /* nothing in a notice holds the buyer's real address */
      assert_null(strstr(ms[i].text, "jane.private"));
      assert_null(strstr(ms[i].subject, "jane.private"));
      assert_string_equal(ms[i].auto_submitted, "auto-generated");
      assert_string_equal(ms[i].env_from, "");
      k++;
    }
    svc_mail_report(f->s, NULL, &ms[i], SVC_MAIL_SENT, NULL);
  }
  *out = keep;
  return k;
}

static void confirm_flow(void **state) {
  fx *f = *state;
  pl_detail d = {0};
  json_t *in = json_pack("{s:s}", "customer_service_email", "desk@acme-new.test"), *out = NULL;
  assert_int_equal(svc_seller_settings_set(f->s, &f->owner, "S1", in, f->a, &out, &d), PL_OK);
  json_decref(in);
  json_t *st = json_object_get(out, "settings");
  assert_string_equal(json_string_value(json_object_get(st, "customer_service_email")), "s@acme.test");
  assert_string_equal(json_string_value(json_object_get(st, "customer_service_email_pending")), "desk@acme-new.test");
  json_decref(out);
  /* the link goes to the new address, and to nobody else */
  svc_outmail *ms;
  assert_int_equal(notices(f, &ms), 1);
  assert_string_equal(ms[0].rcpt, "desk@acme-new.test");
  assert_non_null(strstr(ms[0].subject, "Acme Tools"));
  const char *tok = strstr(ms[0].text, "token=");
  assert_non_null(tok);
  char token[65];
  memcpy(token, tok + 6, 64);
  token[64] = '\0';
  /* a changed token, or another seller, confirms nothing */
  char wrong[65];
  memcpy(wrong, token, sizeof wrong);
  wrong[0] = wrong[0] == 'a' ? 'b' : 'a';
  assert_int_equal(svc_seller_address_confirm(f->s, "S1", wrong, f->a, &out, &d), PL_EBADLINK);
  assert_int_equal(svc_seller_address_confirm(f->s, "S2", token, f->a, &out, &d), PL_EBADLINK);
  /* a buyer message is still forwarded to the old address */
  st_seller sl;
  /* the right one does, once */
  assert_int_equal(svc_seller_address_confirm(f->s, "S1", token, f->a, &out, &d), PL_OK);
  assert_string_equal(json_string_value(json_object_get(out, "seller")), "Acme Tools");
  json_decref(out);
  assert_int_equal(svc_seller_address_confirm(f->s, "S1", token, f->a, &out, &d), PL_EBADLINK);
  assert_int_equal(svc_seller_settings(f->s, &f->owner, "S1", f->a, &out, &d), PL_OK);
  st = json_object_get(out, "settings");
  assert_string_equal(json_string_value(json_object_get(st, "customer_service_email")), "desk@acme-new.test");
  assert_true(json_is_null(json_object_get(st, "customer_service_email_pending")));
  json_decref(out);
  (void)sl;
  /* the buyer's next message is forwarded to the confirmed address */
  buyer_writes(f, "Is it in stock?");
  svc_outmail *all;
  size_t n = svc_mail_claim(f->s, NULL, 64, f->a, &all);
  bool forwarded = false;
  for (size_t i = 0; i < n; i++) {
    if (all[i].row.kind == ST_OUTBOX_FORWARD) forwarded = forwarded || !strcmp(all[i].rcpt, "desk@acme-new.test");
    svc_mail_report(f->s, NULL, &all[i], SVC_MAIL_SENT, NULL);
  }
  assert_true(forwarded);
}

/* A link older than 48 hours, or one a newer request replaced, is worthless. */
static void confirm_expires_and_is_superseded(void **state) {
  fx *f = *state;
  pl_detail d = {0};
  json_t *out = NULL, *in = json_pack("{s:s}", "customer_service_email", "one@acme-new.test");
  assert_int_equal(svc_seller_settings_set(f->s, &f->owner, "S1", in, f->a, &out, &d), PL_OK);
  json_decref(in);
  json_decref(out);
  svc_outmail *ms;
  assert_int_equal(notices(f, &ms), 1);
  char first[65];
  memcpy(first, strstr(ms[0].text, "token=") + 6, 64);
  first[64] = '\0';
  f->now += 120;
  in = json_pack("{s:s}", "customer_service_email", "two@acme-new.test");
  assert_int_equal(svc_seller_settings_set(f->s, &f->owner, "S1", in, f->a, &out, &d), PL_OK);
  json_decref(in);
  json_decref(out);
  assert_int_equal(notices(f, &ms), 1);
  assert_string_equal(ms[0].rcpt, "two@acme-new.test");
  char second[65];
  memcpy(second, strstr(ms[0].text, "token=") + 6, 64);
  second[64] = '\0';
  assert_int_equal(svc_seller_address_confirm(f->s, "S1", first, f->a, &out, &d), PL_EBADLINK);
  f->now += SVC_CONFIRM_SECONDS + 1;
  assert_int_equal(svc_seller_address_confirm(f->s, "S1", second, f->a, &out, &d), PL_EBADLINK);
}

static void set_notify(fx *f, const svc_caller *c, const char *mode, const char *scope) {
  json_t *in = json_pack("{s:s,s:s}", "mode", mode, "scope", scope), *out = NULL;
  pl_detail d = {0};
  assert_int_equal(svc_notify_set(f->s, c, in, f->a, &out, &d), PL_OK);
  json_decref(in);
  json_decref(out);
}

/* Unassigned: the team (every agent watching all threads); assigned: that agent alone;
 * once per waiting message, however many ticks see it. */
static void deadline_alerts(void **state) {
  fx *f = *state;
  assert_int_equal(svc_deadline_tick(f->s), PL_OK);
  int64_t t1 = buyer_writes(f, "Where is my parcel? Call me on 555 0100 2233");
  int64_t t2 = buyer_writes(f, "And the other one?");
  pl_detail d = {0};
  int64_t who;
  assert_int_equal(svc_team_assign(f->s, &f->owner, t2, f->agent.agent_id, f->a, &who, &d), PL_OK);
  svc_outmail *ms;
  assert_int_equal(notices(f, &ms), 0); /* default: deadline alerts alone */
  f->now += 20 * 3600 - 60;
  assert_int_equal(svc_deadline_tick(f->s), PL_OK);
  assert_int_equal(notices(f, &ms), 0); /* not yet at the mark */
  f->now += 120;
  assert_int_equal(svc_deadline_tick(f->s), PL_OK);
  size_t n = notices(f, &ms);
  /* t1 (nobody's): both agents; t2 (Sam's): Sam */
  assert_int_equal(n, 3);
  int maya = 0, sam = 0;
  for (size_t i = 0; i < n; i++) {
    assert_non_null(strstr(ms[i].subject, "Reply due within 4 hours"));
    assert_non_null(strstr(ms[i].text, "Jane Doe"));
    maya += !strcmp(ms[i].rcpt, "maya@acme-team.test");
    sam += !strcmp(ms[i].rcpt, "sam@acme-team.test");
  }
  assert_int_equal(maya, 1);
  assert_int_equal(sam, 2);
  (void)t1;
  /* an agent deactivated after a notice was queued for it is not mailed */
  f->now += 3600;
  int64_t t3 = buyer_writes(f, "A third question");
  (void)t3;
  f->now += 20 * 3600;
  assert_int_equal(svc_deadline_tick(f->s), PL_OK); /* queued for Maya and Sam */
  pl_detail dd = {0};
  long revoked = 0;
  assert_int_equal(svc_agent_deactivate(f->s, &(svc_caller){.kind = ST_PRINCIPAL_OPERATOR, .name = "operator:ops"},
                                        f->agent.agent_id, &revoked, &dd), PL_OK);
  n = notices(f, &ms);
  assert_int_equal(n, 1);
  assert_string_equal(ms[0].rcpt, "maya@acme-team.test");
  f->now += 60;
  assert_int_equal(svc_deadline_tick(f->s), PL_OK);
  assert_int_equal(notices(f, &ms), 0); /* once */
}

/* An agent who wants none gets none; one who watches its own threads gets no alert of a
 * thread nobody has. */
static void deadline_alerts_follow_choices(void **state) {
  fx *f = *state;
  set_notify(f, &f->owner, "none", "all");
  set_notify(f, &f->agent, "deadlines", "assigned");
  assert_int_equal(svc_deadline_tick(f->s), PL_OK);
  buyer_writes(f, "Where is my parcel?");
  f->now += 20 * 3600 + 60;
  assert_int_equal(svc_deadline_tick(f->s), PL_OK);
  svc_outmail *ms;
  assert_int_equal(notices(f, &ms), 0);
}

/* Hourly: on the hour, what waits for the agent (its own threads); nothing when nothing
 * waits; the next one an hour later. */
static void hourly_digest(void **state) {
  fx *f = *state;
  set_notify(f, &f->agent, "hourly", "all");
  json_t *out = NULL;
  pl_detail d = {0};
  assert_int_equal(svc_notify_get(f->s, &f->agent, f->a, &out, &d), PL_OK);
  assert_string_equal(json_string_value(json_object_get(json_object_get(out, "notifications"), "next_digest_at")),
                      "2026-10-05T10:00:00Z");
  json_decref(out);
  buyer_writes(f, "Question one");
  buyer_writes(f, "Question two");
  svc_outmail *ms;
  assert_int_equal(svc_digest_tick(f->s), PL_OK);
  assert_int_equal(notices(f, &ms), 0); /* not yet on the hour */
  f->now += 3600;
  assert_int_equal(svc_digest_tick(f->s), PL_OK);
  assert_int_equal(notices(f, &ms), 1);
  assert_string_equal(ms[0].rcpt, "sam@acme-team.test");
  assert_non_null(strstr(ms[0].subject, "2 threads wait"));
  assert_non_null(strstr(ms[0].text, "112-4839201-5561023"));
  assert_non_null(strstr(ms[0].text, "112-4839202-5561023"));
  assert_int_equal(svc_digest_tick(f->s), PL_OK);
  assert_int_equal(notices(f, &ms), 0); /* once an hour */
  /* scope assigned, nothing assigned: no mail at the next hour */
  set_notify(f, &f->agent, "hourly", "assigned");
  f->now += 3600;
  assert_int_equal(svc_digest_tick(f->s), PL_OK);
  assert_int_equal(notices(f, &ms), 0);
}

/* Every message: the agent gets each buyer message, the buyer's contact details masked;
 * with scope assigned, only of its own threads. The seller's language words it. */
static void each_message(void **state) {
  fx *f = *state;
  set_notify(f, &f->agent, "each", "all");
  json_t *in = json_pack("{s:s}", "notice_language", "de"), *out = NULL;
  pl_detail d = {0};
  assert_int_equal(svc_seller_settings_set(f->s, &f->owner, "S1", in, f->a, &out, &d), PL_OK);
  json_decref(in);
  json_decref(out);
  svc_outmail *ms;
  int64_t t = buyer_writes(f, "Please write to jane.private@mail.test or call +1 555 010 2233");
  assert_int_equal(notices(f, &ms), 1);
  assert_string_equal(ms[0].rcpt, "sam@acme-team.test");
  assert_non_null(strstr(ms[0].subject, "Neue Nachricht von Jane Doe"));
  assert_null(strstr(ms[0].text, "555 010 2233"));
  set_notify(f, &f->agent, "each", "assigned");
  buyer_writes(f, "Another question");
  assert_int_equal(notices(f, &ms), 0);
  int64_t who;
  assert_int_equal(svc_team_assign(f->s, &f->owner, t, f->agent.agent_id, f->a, &who, &d), PL_OK);
  svc_send_in si = {.text = "And one more thing"};
  svc_sent sent;
  assert_int_equal(svc_send(f->s, &f->buyer, t, &si, f->a, &sent, &d), PL_OK);
  policy_verdict_free(&sent.verdict);
  assert_int_equal(notices(f, &ms), 1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(confirm_flow, setup, teardown),
      cmocka_unit_test_setup_teardown(confirm_expires_and_is_superseded, setup, teardown),
      cmocka_unit_test_setup_teardown(deadline_alerts, setup, teardown),
      cmocka_unit_test_setup_teardown(deadline_alerts_follow_choices, setup, teardown),
      cmocka_unit_test_setup_teardown(hourly_digest, setup, teardown),
      cmocka_unit_test_setup_teardown(each_message, setup, teardown),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
