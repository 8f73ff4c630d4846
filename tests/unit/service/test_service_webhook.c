/* test_service_webhook.c - the service's side of webhooks over a real SQLite store, on a
 * clock the test moves: an event queued in the transaction that caused it, claimed signed
 * (the signature checked as a receiver would), retried with backoff and jitter, given up
 * after a day, and a webhook that fails for three days turned off. No connection is made:
 * the test plays the delivery worker. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "service/svc.h"
#include "service/svc_webhook.h"
#include "util/pl_ref.h"

typedef struct {
  svc *s;
  pl_time now;
  char dir[64];
  svc_caller buyer, owner;
  pl_arena *a;
  int n_orders;
} fx;

static pl_time fake_now(void *ctx) { return ((fx *)ctx)->now; }

#include "svc_fixture.h"

static void import(fx *f, const char *line) { svc_test_import(f->s, line); }

static int setup(void **state) {
  fx *f = calloc(1, sizeof *f);
  f->now = 1791190800;
  f->s = svc_test_open(f->dir, "parley-svchook", (pl_clock){fake_now, f});
  pl_detail d = {0};
  f->a = pl_arena_new();
  import(f, "{\"type\":\"marketplace\",\"id\":\"ATVPDKIKX0DER\",\"name\":\"Example US\",\"domains\":[\"example.com\"],"
            "\"locale\":\"en-US\",\"settings\":{\"buyer_threads_per_day\":1000,\"buyer_messages_per_day\":1000}}");
  import(f, "{\"type\":\"seller\",\"id\":\"S1\",\"marketplace\":\"ATVPDKIKX0DER\",\"name\":\"Acme Tools\",\"email\":\"s@acme.test\"}");
  import(f, "{\"type\":\"buyer\",\"id\":\"B1\",\"name\":\"Jane Doe\",\"email\":\"jane@mail.test\",\"locale\":\"en-US\"}");
  int64_t ag;
  assert_int_equal(svc_agent_add(f->s, "S1", "Maya", "owner", &ag, &d), PL_OK);
  f->buyer = (svc_caller){.kind = ST_PRINCIPAL_BUYER, .buyer_id = "B1", .name = "buyer:B1"};
  f->owner = (svc_caller){.kind = ST_PRINCIPAL_AGENT, .seller_id = "S1", .agent_id = ag, .agent_role = ST_ROLE_OWNER,
                          .marketplace_id = "ATVPDKIKX0DER", .name = "agent:1"};
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

/* A buyer message on a new order: one event. Returns the thread's id. */
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

static const char *create(fx *f, char **id) {
  json_t *body = json_pack("{s:s,s:[s]}", "url", "https://hooks.example.com/parley", "events", "message.received");
  json_t *out = NULL;
  pl_detail d = {0};
  assert_int_equal(svc_webhook_create(f->s, &f->owner, body, f->a, &out, &d), PL_OK);
  json_decref(body);
  *id = pl_arena_strdup(f->a, json_string_value(json_object_get(out, "id")));
  const char *secret = pl_arena_strdup(f->a, json_string_value(json_object_get(out, "secret")));
  json_decref(out);
  return secret;
}

/* The delivery's state and attempts as the log shows them (the newest). */
static void last_delivery(fx *f, const char *hook, char state[16], json_int_t *attempts, json_int_t *status) {
  int64_t id;
  assert_true(pl_ref_parse(hook, "WH", &id));
  json_t *out = NULL;
  pl_detail d = {0};
  assert_int_equal(svc_webhook_deliveries(f->s, &f->owner, id, 0, 10, f->a, &out, &d), PL_OK);
  json_t *first = json_array_get(json_object_get(out, "deliveries"), 0);
  assert_non_null(first);
  snprintf(state, 16, "%s", json_string_value(json_object_get(first, "state")));
  *attempts = json_integer_value(json_object_get(first, "attempts"));
  *status = json_integer_value(json_object_get(json_object_get(first, "last_attempt"), "status"));
  json_decref(out);
}

static bool signed_by(const char *secret, const svc_hook_call *c) {
  long long t = 0;
  if (sscanf(c->signature, "t=%lld,", &t) != 1) return false;
  char ts[32];
  snprintf(ts, sizeof ts, "%lld.", t);
  crypto_auth_hmacsha256_state st;
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  char hex[2 * sizeof mac + 1], want[80];
  crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret, strlen(secret));
  crypto_auth_hmacsha256_update(&st, (const unsigned char *)ts, strlen(ts));
  crypto_auth_hmacsha256_update(&st, (const unsigned char *)c->body, strlen(c->body));
  crypto_auth_hmacsha256_final(&st, mac);
  sodium_bin2hex(hex, sizeof hex, mac, sizeof mac);
  snprintf(want, sizeof want, "v1=%s", hex);
  return strstr(c->signature, want) != NULL;
}

static void signed_event_then_backoff(void **state) {
  fx *f = *state;
  char *hook;
  const char *secret = create(f, &hook);
  svc_hook_call *cs;
  assert_int_equal(svc_webhook_claim(f->s, 8, f->a, &cs), 0); /* nothing yet */
  buyer_writes(f, "Hello, call me at +1 415 555 0199.");
  assert_int_equal(svc_webhook_claim(f->s, 8, f->a, &cs), 1);
  assert_true(signed_by(secret, &cs[0]));
  assert_false(signed_by("whsec_other", &cs[0]));
  assert_string_equal(cs[0].type, "message.received");
  assert_string_equal(cs[0].url, "https://hooks.example.com/parley");
  assert_null(strstr(cs[0].body, "555 0199")); /* masked for the seller */
  assert_null(strstr(cs[0].body, "jane@"));
  /* claimed: not handed out twice while the claim lasts */
  assert_int_equal(svc_webhook_claim(f->s, 8, f->a, &cs), 0);
  f->now += 1;
  assert_int_equal(svc_webhook_claim(f->s, 8, f->a, &cs), 0);
  f->now += 200; /* the claim (two minutes) ended without a report: handed out again */
  assert_int_equal(svc_webhook_claim(f->s, 8, f->a, &cs), 1);
  svc_hook_call call = cs[0];
  /* failures: each retry later than the one before, with jitter around 30 s, 60 s, 120 s */
  pl_time lo[] = {22, 45, 90, 180}, hi[] = {38, 75, 150, 300};
  for (int i = 0; i < 4; i++) {
    /* what a receiver answers is kept as text: bytes that are not UTF-8 become '?' */
    svc_webhook_report(f->s, &call, 500, 12, i ? "oops" : "bad \xff\x01 answer", "the answer was 500", 0);
    if (i == 0) {
      json_t *lg = NULL;
      pl_detail dd = {0};
      int64_t hid;
      assert_true(pl_ref_parse(hook, "WH", &hid));
      assert_int_equal(svc_webhook_deliveries(f->s, &f->owner, hid, 0, 1, f->a, &lg, &dd), PL_OK);
      json_t *la = json_object_get(json_array_get(json_object_get(lg, "deliveries"), 0), "last_attempt");
      assert_string_equal(json_string_value(json_object_get(la, "answer")), "bad ?? answer");
      assert_string_equal(json_string_value(json_object_get(la, "error")), "the answer was 500");
      json_decref(lg);
    }
    char st[16];
    json_int_t att, status;
    last_delivery(f, hook, st, &att, &status);
    assert_string_equal(st, "pending");
    assert_int_equal(att, i + 1);
    assert_int_equal(status, 500);
    f->now += lo[i] - 1;
    assert_int_equal(svc_webhook_claim(f->s, 8, f->a, &cs), 0); /* not yet */
    f->now += hi[i] - lo[i] + 1;
    assert_int_equal(svc_webhook_claim(f->s, 8, f->a, &cs), 1); /* due by then */
    assert_int_equal(cs[0].id, call.id);
    call = cs[0];
  }
  /* then 2xx: delivered, and the webhook no longer failing */
  svc_webhook_report(f->s, &call, 204, 5, "", NULL, 0);
  char st[16];
  json_int_t att, status;
  last_delivery(f, hook, st, &att, &status);
  assert_string_equal(st, "delivered");
  assert_int_equal(att, 5);
  json_t *w = NULL;
  pl_detail d = {0};
  int64_t id;
  assert_true(pl_ref_parse(hook, "WH", &id));
  assert_int_equal(svc_webhook_get(f->s, &f->owner, id, f->a, &w, &d), PL_OK);
  assert_null(json_object_get(w, "failing_since"));
  assert_null(json_object_get(w, "secret")); /* shown once */
  json_decref(w);
  /* the log keeps it for SVC_WEBHOOK_LOG_DAYS, then the clean-up removes it */
  int64_t removed = -1;
  f->now += (SVC_WEBHOOK_LOG_DAYS - 1) * 86400;
  assert_int_equal(svc_webhook_sweep(f->s, &removed, &d), PL_OK);
  assert_int_equal(removed, 0);
  f->now += 2 * 86400;
  assert_int_equal(svc_webhook_sweep(f->s, &removed, &d), PL_OK);
  assert_int_equal(removed, 1);
  json_t *lg = NULL;
  assert_int_equal(svc_webhook_deliveries(f->s, &f->owner, id, 0, 10, f->a, &lg, &d), PL_OK);
  assert_int_equal(json_array_size(json_object_get(lg, "deliveries")), 0);
  json_decref(lg);
}

static void gives_up_after_a_day_and_turns_off_after_three(void **state) {
  fx *f = *state;
  char *hook;
  create(f, &hook);
  int64_t id;
  assert_true(pl_ref_parse(hook, "WH", &id));
  pl_time start = f->now;
  svc_hook_call *cs;
  size_t n;
  /* a receiver that always fails: events keep coming, every attempt fails */
  int given_up = 0;
  /* until two hours past the three days: a failure pauses the webhook up to an hour and a
   * quarter (the longest backoff with its jitter), so an attempt falls in that span */
  while (f->now - start < 3 * 24 * 3600 + 2 * 3600) {
    if ((f->now - start) % (6 * 3600) < 600) buyer_writes(f, "Any news?");
    while ((n = svc_webhook_claim(f->s, 8, f->a, &cs)) > 0)
      for (size_t i = 0; i < n; i++) svc_webhook_report(f->s, &cs[i], 503, 20, NULL, "the answer was 503", 0);
    char st[16];
    json_int_t att, status;
    last_delivery(f, hook, st, &att, &status);
    f->now += 600;
    json_t *w = NULL;
    pl_detail d = {0};
    assert_int_equal(svc_webhook_get(f->s, &f->owner, id, f->a, &w, &d), PL_OK);
    bool active = json_is_true(json_object_get(w, "active"));
    json_decref(w);
    if (!active) break;
    (void)given_up;
  }
  /* turned off after three days of failures, not before */
  assert_true(f->now - start >= 3 * 24 * 3600);
  json_t *w = NULL;
  pl_detail d = {0};
  assert_int_equal(svc_webhook_get(f->s, &f->owner, id, f->a, &w, &d), PL_OK);
  assert_false(json_is_true(json_object_get(w, "active")));
  assert_non_null(strstr(json_string_value(json_object_get(w, "disabled_reason")), "3 days"));
  json_decref(w);
  /* the first event was given up after a day: failed, not pending */
  json_t *log = NULL;
  assert_int_equal(svc_webhook_deliveries(f->s, &f->owner, id, 0, 200, f->a, &log, &d), PL_OK);
  json_t *arr = json_object_get(log, "deliveries");
  json_t *oldest = json_array_get(arr, json_array_size(arr) - 1);
  assert_string_equal(json_string_value(json_object_get(oldest, "state")), "failed");
  assert_true(json_integer_value(json_object_get(oldest, "attempts")) > 5);
  json_decref(log);
  /* turned off: new events are not sent, what was pending ends as failed */
  buyer_writes(f, "Hello?");
  f->now += 3600;
  assert_int_equal(svc_webhook_claim(f->s, 8, f->a, &cs), 0);
  /* turned on again: a fresh start */
  json_t *on = json_pack("{s:b}", "active", 1), *out = NULL;
  assert_int_equal(svc_webhook_update(f->s, &f->owner, id, on, f->a, &out, &d), PL_OK);
  assert_true(json_is_true(json_object_get(out, "active")));
  assert_null(json_object_get(out, "disabled_reason"));
  json_decref(on);
  json_decref(out);
}

/* The deadline sweep's event: once per thread and due time, at the marketplace's alert mark
 * (4 hours before the 24-hour deadline by default). */
static void deadline_event(void **state) {
  fx *f = *state;
  json_t *body = json_pack("{s:s,s:[s,s]}", "url", "https://hooks.example.com/due", "events",
                           "thread.deadline_approaching", "thread.overdue"),
         *out = NULL;
  pl_detail d = {0};
  assert_int_equal(svc_webhook_create(f->s, &f->owner, body, f->a, &out, &d), PL_OK);
  json_decref(body);
  json_decref(out);
  assert_int_equal(svc_deadline_tick(f->s), PL_OK);
  buyer_writes(f, "Where is my parcel?");
  svc_hook_call *cs;
  assert_int_equal(svc_webhook_claim(f->s, 8, f->a, &cs), 0); /* not subscribed to message.received */
  f->now += 20 * 3600 - 60;
  assert_int_equal(svc_deadline_tick(f->s), PL_OK);
  assert_int_equal(svc_webhook_claim(f->s, 8, f->a, &cs), 0); /* not yet at the mark */
  f->now += 120;
  assert_int_equal(svc_deadline_tick(f->s), PL_OK);
  assert_int_equal(svc_webhook_claim(f->s, 8, f->a, &cs), 1);
  assert_string_equal(cs[0].type, "thread.deadline_approaching");
  assert_non_null(strstr(cs[0].body, "\"response_due_at\""));
  assert_int_equal(strncmp(cs[0].event_id, "evt_", 4), 0);
  svc_webhook_report(f->s, &cs[0], 200, 3, "ok", NULL, 0);
  f->now += 60;
  assert_int_equal(svc_deadline_tick(f->s), PL_OK);
  f->now += 300;
  assert_int_equal(svc_webhook_claim(f->s, 8, f->a, &cs), 0); /* once */
  /* no answer by the deadline: overdue, once */
  f->now += 4 * 3600 - 300;
  assert_int_equal(svc_deadline_tick(f->s), PL_OK);
  assert_int_equal(svc_webhook_claim(f->s, 8, f->a, &cs), 1);
  assert_string_equal(cs[0].type, "thread.overdue");
  svc_webhook_report(f->s, &cs[0], 200, 3, "ok", NULL, 0);
  f->now += 60;
  assert_int_equal(svc_deadline_tick(f->s), PL_OK);
  f->now += 300;
  assert_int_equal(svc_webhook_claim(f->s, 8, f->a, &cs), 0);
}

/* A reply the policy blocks: the rejected message, the violation and the seller's new
 * measures, each an event of its own, with the same data for the seller and the operator. */
static void violation_events(void **state) {
  fx *f = *state;
  json_t *body = json_pack("{s:s,s:[s,s,s]}", "url", "https://hooks.example.com/v", "events", "message.rejected",
                           "policy.violation", "enforcement.changed"),
         *out = NULL;
  pl_detail d = {0};
  assert_int_equal(svc_webhook_create(f->s, &f->owner, body, f->a, &out, &d), PL_OK);
  json_decref(out);
  svc_caller op = {.kind = ST_PRINCIPAL_OPERATOR, .name = "operator:ops"};
  assert_int_equal(svc_webhook_create(f->s, &op, body, f->a, &out, &d), PL_OK);
  json_decref(out);
  json_decref(body);
  int64_t tid = buyer_writes(f, "Is it in stock?");
  svc_send_in in = {.text = "Message me on WhatsApp at +1 415 555 0199 for a better price."};
  svc_sent sent;
  assert_int_equal(svc_send(f->s, &f->owner, tid, &in, f->a, &sent, &d), PL_EPOLICY);
  policy_verdict_free(&sent.verdict);
  svc_hook_call *cs;
  size_t n = svc_webhook_claim(f->s, 16, f->a, &cs);
  assert_int_equal(n, 6); /* three events, two webhooks each */
  int seen[3] = {0};
  for (size_t i = 0; i < n; i++) {
    json_t *ev = json_loads(cs[i].body, 0, NULL);
    const char *type = json_string_value(json_object_get(ev, "type"));
    json_t *data = json_object_get(ev, "data");
    if (!strcmp(type, "message.rejected")) {
      seen[0]++;
      assert_string_equal(json_string_value(json_object_get(data, "status")), "rejected");
    } else if (!strcmp(type, "policy.violation")) {
      seen[1]++;
      assert_true(json_array_size(json_object_get(data, "categories")) >= 1);
      assert_string_equal(json_string_value(json_object_get(data, "seller_id")), "S1");
    } else if (!strcmp(type, "enforcement.changed")) {
      seen[2]++;
      assert_int_equal(json_integer_value(json_object_get(data, "warnings")), 1);
      assert_non_null(json_string_value(json_object_get(data, "measure")));
    } else {
      fail_msg("unexpected event %s", type);
    }
    json_decref(ev);
  }
  assert_int_equal(seen[0], 2);
  assert_int_equal(seen[1], 2);
  assert_int_equal(seen[2], 2);
}

/* One receiver that fails (or times out) pauses its own webhook, not the others: after its
 * failure none of its deliveries is handed out until the pause ends, however many events
 * wait, while another webhook's deliveries go on. A test event the
 * owner asks for ends the pause. */
static void failing_receiver_pauses_only_itself(void **state) {
  fx *f = *state;
  char *bad_ref, *good_ref;
  create(f, &bad_ref);
  create(f, &good_ref);
  int64_t bad, good;
  assert_true(pl_ref_parse(bad_ref, "WH", &bad));
  assert_true(pl_ref_parse(good_ref, "WH", &good));
  for (int i = 0; i < 3; i++) buyer_writes(f, "Any news?");
  svc_hook_call *cs;
  size_t n = svc_webhook_claim(f->s, 16, f->a, &cs);
  assert_int_equal(n, 6);
  bool failed_one = false;
  for (size_t i = 0; i < n; i++) {
    if (cs[i].webhook_id == good) {
      svc_webhook_report(f->s, &cs[i], 200, 5, "ok", NULL, 0);
    } else if (!failed_one) {
      svc_webhook_report(f->s, &cs[i], 0, 10000, NULL, "timed out", 0);
      failed_one = true;
    } else {
      svc_webhook_release(f->s, &cs[i]); /* what the worker does with the rest of its batch */
    }
  }
  /* paused: nothing of it is handed out, though two of its deliveries are due */
  f->now += 10;
  assert_int_equal(svc_webhook_claim(f->s, 16, f->a, &cs), 0);
  buyer_writes(f, "And now?");
  n = svc_webhook_claim(f->s, 16, f->a, &cs);
  assert_int_equal(n, 1); /* the other webhook's new event only */
  assert_int_equal(cs[0].webhook_id, good);
  svc_webhook_report(f->s, &cs[0], 200, 5, "ok", NULL, 0);
  /* the pause (about 30 s) ends: its four deliveries come (three waiting, one retried) */
  f->now += 60;
  n = svc_webhook_claim(f->s, 16, f->a, &cs);
  assert_int_equal(n, 4);
  for (size_t i = 0; i < n; i++) {
    assert_int_equal(cs[i].webhook_id, bad);
    svc_webhook_report(f->s, &cs[i], i == 0 ? 503 : 200, 5, NULL, i == 0 ? "the answer was 503" : NULL, 0);
  }
  /* paused again by that failure; a test event the owner asks for is sent at once */
  f->now += 1;
  assert_int_equal(svc_webhook_claim(f->s, 16, f->a, &cs), 0);
  json_t *out = NULL;
  pl_detail d = {0};
  assert_int_equal(svc_webhook_test(f->s, &f->owner, bad, f->a, &out, &d), PL_OK);
  json_decref(out);
  n = svc_webhook_claim(f->s, 16, f->a, &cs);
  assert_true(n >= 1);
  bool test_event = false;
  for (size_t i = 0; i < n; i++) test_event |= !strcmp(cs[i].type, "webhook.test");
  assert_true(test_event);
}

static void who_may(void **state) {
  fx *f = *state;
  json_t *body = json_pack("{s:s,s:[s]}", "url", "https://hooks.example.com/x", "events", "message.held"), *out = NULL;
  pl_detail d = {0};
  assert_int_equal(svc_webhook_create(f->s, &f->buyer, body, f->a, &out, &d), PL_EFORBIDDEN);
  svc_caller agent = f->owner;
  agent.agent_role = ST_ROLE_AGENT;
  assert_int_equal(svc_webhook_create(f->s, &agent, body, f->a, &out, &d), PL_EFORBIDDEN);
  /* at most SVC_WEBHOOKS_MAX an owner */
  for (int i = 0; i < SVC_WEBHOOKS_MAX; i++) {
    assert_int_equal(svc_webhook_create(f->s, &f->owner, body, f->a, &out, &d), PL_OK);
    json_decref(out);
  }
  assert_int_equal(svc_webhook_create(f->s, &f->owner, body, f->a, &out, &d), PL_ETOOMANY);
  /* the operator's are its own */
  svc_caller op = {.kind = ST_PRINCIPAL_OPERATOR, .name = "operator:ops"};
  assert_int_equal(svc_webhook_create(f->s, &op, body, f->a, &out, &d), PL_OK);
  json_decref(out);
  assert_int_equal(svc_webhook_list(f->s, &op, f->a, &out, &d), PL_OK);
  assert_int_equal(json_array_size(out), 1);
  json_decref(out);
  json_decref(body);
}

/* A seller whose response time falls to "at risk" is told to the operator's webhooks once
 * a change, never to the seller's (who may not subscribe to it). */
static void seller_at_risk(void **state) {
  fx *f = *state;
  svc_caller op = {.kind = ST_PRINCIPAL_OPERATOR, .name = "operator:ops"};
  pl_detail d = {0};
  json_t *out = NULL, *body = json_pack("{s:s,s:[s]}", "url", "https://hooks.example.com/mine", "events",
                                        "seller.at_risk");
  assert_int_equal(svc_webhook_create(f->s, &f->owner, body, f->a, &out, &d), PL_EINVAL);
  json_decref(body);
  body = json_pack("{s:s,s:[s,s]}", "url", "https://ops.example.com/risk", "events", "seller.at_risk",
                   "message.received");
  assert_int_equal(svc_webhook_create(f->s, &op, body, f->a, &out, &d), PL_OK);
  json_decref(body);
  json_decref(out);
  svc_hook_call *cs;
  assert_int_equal(svc_health_tick(f->s), PL_OK); /* no data: nothing */
  buyer_writes(f, "Where is my parcel?");
  assert_int_equal(svc_webhook_claim(f->s, 8, f->a, &cs), 1);
  assert_string_equal(cs[0].type, "message.received");
  svc_webhook_report(f->s, &cs[0], 200, 3, "ok", NULL, 0);
  /* no answer in 24 hours: the seller's CRT is 0 %, at risk */
  f->now += 25 * 3600;
  assert_int_equal(svc_health_tick(f->s), PL_OK);
  assert_int_equal(svc_webhook_claim(f->s, 8, f->a, &cs), 1);
  assert_string_equal(cs[0].type, "seller.at_risk");
  assert_non_null(strstr(cs[0].body, "\"seller_id\":\"S1\""));
  assert_non_null(strstr(cs[0].body, "\"crt_percent\":0"));
  svc_webhook_report(f->s, &cs[0], 200, 3, "ok", NULL, 0);
  /* still at risk at the next look: no second event */
  f->now += SVC_HEALTH_SECONDS;
  assert_int_equal(svc_health_tick(f->s), PL_OK);
  f->now += 300;
  assert_int_equal(svc_webhook_claim(f->s, 8, f->a, &cs), 0);
}

static pl_err enforcement(fx *f, const svc_caller *op, st_enforcement *en) {
  st_violation *vs;
  size_t nv;
  pl_detail d = {0};
  return svc_enforcement_get(f->s, op, "S1", f->a, en, &vs, &nv, &d);
}

/* The automatic quota for poor performance: a CRT at risk for 14 days without a break brings
 * a proactive-message quota, renewed at most once a day while it lasts; a CRT that recovers
 * lets it lapse a week later. */
static void poor_performance_quota(void **state) {
  fx *f = *state;
  svc_caller op = {.kind = ST_PRINCIPAL_OPERATOR, .name = "operator:ops"};
  st_enforcement en;
  buyer_writes(f, "Where is my parcel?");
  f->now += 25 * 3600; /* late: CRT 0 %, at risk from here */
  assert_int_equal(svc_health_tick(f->s), PL_OK);
  f->now += 13 * 86400;
  assert_int_equal(svc_health_tick(f->s), PL_OK);
  assert_int_equal(enforcement(f, &op, &en), PL_OK);
  assert_int_equal(en.quota_per_day, 0); /* 13 days: not yet */
  f->now += 86400;
  assert_int_equal(svc_health_tick(f->s), PL_OK);
  assert_int_equal(enforcement(f, &op, &en), PL_OK);
  assert_int_equal(en.quota_per_day, 20);
  assert_int_equal(en.quota_until, f->now + 7 * 86400);
  assert_non_null(strstr(en.quota_reason, "for 14 days"));
  /* still at risk: renewed once a day, not at every look */
  pl_time first = en.quota_until;
  f->now += SVC_HEALTH_SECONDS;
  assert_int_equal(svc_health_tick(f->s), PL_OK);
  assert_int_equal(enforcement(f, &op, &en), PL_OK);
  assert_int_equal(en.quota_until, first);
  f->now += 86400;
  assert_int_equal(svc_health_tick(f->s), PL_OK);
  assert_int_equal(enforcement(f, &op, &en), PL_OK);
  assert_int_equal(en.quota_until, f->now + 7 * 86400);
  /* the late message leaves the 30-day window: no data, not at risk; the quota lapses */
  pl_time last = en.quota_until;
  f->now += 16 * 86400;
  assert_int_equal(svc_health_tick(f->s), PL_OK);
  assert_int_equal(enforcement(f, &op, &en), PL_OK);
  assert_int_equal(en.quota_until, last);
  assert_true(en.quota_until < f->now);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(signed_event_then_backoff, setup, teardown),
      cmocka_unit_test_setup_teardown(gives_up_after_a_day_and_turns_off_after_three, setup, teardown),
      cmocka_unit_test_setup_teardown(deadline_event, setup, teardown),
      cmocka_unit_test_setup_teardown(violation_events, setup, teardown),
      cmocka_unit_test_setup_teardown(failing_receiver_pauses_only_itself, setup, teardown),
      cmocka_unit_test_setup_teardown(who_may, setup, teardown),
      cmocka_unit_test_setup_teardown(seller_at_risk, setup, teardown),
      cmocka_unit_test_setup_teardown(poor_performance_quota, setup, teardown),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
