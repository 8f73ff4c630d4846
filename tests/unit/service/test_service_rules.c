/* test_service_rules.c - the marketplace's rules at their boundaries, over SQLite and a fake clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "service/svc.h"
#include "service/svc_rules.h"
#include "../names_check.h"

#define DAY 86400

typedef struct {
  svc *s;
  pl_time now;
  char dir[64];
  svc_caller agent, buyer, buyer2, operator_;
  pl_arena *a;
} fx;

static pl_time fake_now(void *ctx) { return ((fx *)ctx)->now; }

#include "svc_fixture.h"

static void import(fx *f, const char *fmt, ...) {
  char line[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  pl_detail d = {0};
  pl_err e = svc_import_line(f->s, line, strlen(line), &d);
  if (e) fail_msg("import failed: %s (%s)", d.msg, line);
}

static const char *iso(pl_time t, char *buf) { return pl_time_format(t, buf); }

/* Orders: O1 delivered at T0 (B1), O2 shipped at T0 without delivery (B2, opted out),
 * O3 canceled. The clock starts at T0. */
#define T0 1791190800 /* 2026-10-05T09:00:00Z */
#define O1 "112-0000000-0000001"
#define O2 "112-0000000-0000002"
#define O3 "112-0000000-0000003"

static int setup(void **state) {
  fx *f = calloc(1, sizeof *f);
  f->now = T0;
  f->s = svc_test_open(f->dir, "parley-rules", (pl_clock){fake_now, f});
  pl_detail d = {0};
  f->a = pl_arena_new();
  char t0[32];
  iso(T0, t0);
  import(f, "{\"type\":\"marketplace\",\"id\":\"M\",\"name\":\"Example\",\"domains\":[\"example.com\"],\"locale\":\"en-US\"}");
  import(f, "{\"type\":\"seller\",\"id\":\"S1\",\"marketplace\":\"M\",\"name\":\"Acme\",\"email\":\"s@acme.test\"}");
  import(f, "{\"type\":\"buyer\",\"id\":\"B1\",\"name\":\"Jane\",\"email\":\"jane@mail.test\",\"locale\":\"de-DE\"}");
  import(f, "{\"type\":\"buyer\",\"id\":\"B2\",\"name\":\"Olga\",\"email\":\"olga@mail.test\",\"opt_out\":true}");
  import(f, "{\"type\":\"order\",\"id\":\"" O1 "\",\"marketplace\":\"M\",\"seller\":\"S1\",\"buyer\":\"B1\",\"status\":\"delivered\",\"shipped_at\":\"%s\",\"delivered_at\":\"%s\"}", t0, t0);
  import(f, "{\"type\":\"order\",\"id\":\"" O2 "\",\"marketplace\":\"M\",\"seller\":\"S1\",\"buyer\":\"B2\",\"status\":\"shipped\",\"shipped_at\":\"%s\"}", t0);
  import(f, "{\"type\":\"order\",\"id\":\"" O3 "\",\"marketplace\":\"M\",\"seller\":\"S1\",\"buyer\":\"B1\",\"status\":\"canceled\"}");
  int64_t ag;
  assert_int_equal(svc_agent_add(f->s, "S1", "Maya", "owner", &ag, &d), PL_OK);
  f->agent = (svc_caller){.kind = ST_PRINCIPAL_AGENT, .seller_id = "S1", .agent_id = ag,
                          .agent_role = ST_ROLE_OWNER, .marketplace_id = "M", .name = "agent:1"};
  f->buyer = (svc_caller){.kind = ST_PRINCIPAL_BUYER, .buyer_id = "B1", .name = "buyer:B1"};
  f->buyer2 = (svc_caller){.kind = ST_PRINCIPAL_BUYER, .buyer_id = "B2", .name = "buyer:B2"};
  f->operator_ = (svc_caller){.kind = ST_PRINCIPAL_OPERATOR, .name = "operator:ops"};
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

static pl_err review(fx *f, const char *order, svc_sent *out) {
  pl_detail d = {0};
  svc_sent tmp;
  pl_err e = svc_request_review(f->s, &f->agent, order, f->a, out ? out : &tmp, &d);
  if (!out) policy_verdict_free(&tmp.verdict);
  return e;
}

static pl_err action(fx *f, const char *order, const char *name, const char *text, svc_sent *out) {
  pl_detail d = {0};
  svc_action_in in = {.text = text};
  svc_sent tmp;
  pl_err e = svc_send_action(f->s, &f->agent, order, name, &in, f->a, out ? out : &tmp, &d);
  if (!out) policy_verdict_free(&tmp.verdict);
  return e;
}

/* Review requests: from day 5 to day 30 after delivery, once per order. */
static void review_request_window(void **state) {
  fx *f = *state;
  f->now = T0 + 5 * DAY - 1; /* day 4 and 23:59:59 */
  assert_int_equal(review(f, O1, NULL), PL_EWINDOW);
  f->now = T0 + 5 * DAY; /* day 5 */
  svc_sent m;
  assert_int_equal(review(f, O1, &m), PL_OK);
  assert_int_equal(m.msg.kind, ST_KIND_REVIEW_REQUEST);
  assert_non_null(strstr(m.msg.text, "Verkäufer")); /* the buyer's language: de-DE */
  policy_verdict_free(&m.verdict);
  f->now = T0 + 6 * DAY;
  assert_int_equal(review(f, O1, NULL), PL_EALREADY); /* once per order */
  assert_int_equal(review(f, O2, NULL), PL_EWINDOW);  /* not delivered */
  assert_int_equal(review(f, O3, NULL), PL_ECANCELED);
}

static void review_request_last_day(void **state) {
  fx *f = *state;
  f->now = T0 + 30 * DAY; /* day 30 */
  assert_int_equal(review(f, O1, NULL), PL_OK);
}

static void review_request_day_31(void **state) {
  fx *f = *state;
  f->now = T0 + 30 * DAY + 1;
  assert_int_equal(review(f, O1, NULL), PL_EWINDOW);
}

/* A review request is a non-critical proactive message: an opted-out buyer does not get
 * it, and the seller sees only "not delivered", as for any other such message; the order's
 * one request is spent all the same, so trying again tells nothing new either. */
static void review_request_opted_out(void **state) {
  fx *f = *state;
  char t0[32];
  import(f, "{\"type\":\"order\",\"id\":\"112-0000000-0000004\",\"marketplace\":\"M\",\"seller\":\"S1\",\"buyer\":\"B2\",\"status\":\"delivered\",\"shipped_at\":\"%s\",\"delivered_at\":\"%s\"}",
         iso(T0, t0), t0);
  f->now = T0 + 6 * DAY;
  svc_sent m;
  assert_int_equal(review(f, "112-0000000-0000004", &m), PL_OK);
  assert_int_equal(m.msg.kind, ST_KIND_REVIEW_REQUEST);
  assert_int_equal(m.msg.status, ST_STATUS_NOT_DELIVERED);
  policy_verdict_free(&m.verdict);
  assert_int_equal(review(f, "112-0000000-0000004", NULL), PL_EALREADY);
  /* the buyer who did not opt out gets it */
  assert_int_equal(review(f, O1, &m), PL_OK);
  assert_int_equal(m.msg.status, ST_STATUS_DELIVERED);
  policy_verdict_free(&m.verdict);
}

/* Review requests are not replies: the thread still needs its answer. */
static void review_request_does_not_answer(void **state) {
  fx *f = *state;
  svc_start_in in = {.order_id = O1, .topic = "other", .text = "Hello?"};
  st_thread t;
  svc_sent m;
  pl_detail d = {0};
  f->now = T0 + 6 * DAY;
  assert_int_equal(svc_thread_start(f->s, &f->buyer, &in, f->a, &t, &m, &d), PL_OK);
  policy_verdict_free(&m.verdict);
  assert_int_equal(review(f, O1, NULL), PL_OK);
  st_message *ms;
  size_t n;
  assert_int_equal(svc_thread_get(f->s, &f->agent, t.id, f->a, &t, &ms, &n, &d), PL_OK);
  assert_int_equal(t.needs_response, 1);
}

/* Proactive messages only within 30 days of completion, never for canceled orders. */
static void proactive_window(void **state) {
  fx *f = *state;
  f->now = T0 + 30 * DAY;
  assert_int_equal(action(f, O1, "unexpectedProblem", "The manual in the box is for the previous model; the right one is attached to the product page.", NULL), PL_OK);
  f->now = T0 + 30 * DAY + 1;
  assert_int_equal(action(f, O1, "unexpectedProblem", "One more note about your order.", NULL), PL_EACTION);
  assert_int_equal(action(f, O3, "unexpectedProblem", "Sorry.", NULL), PL_ECANCELED);
  /* before delivery only */
  f->now = T0 + DAY;
  assert_int_equal(action(f, O1, "confirmDeliveryDetails", "Delivery on Friday.", NULL), PL_EACTION);
  assert_int_equal(action(f, O2, "confirmDeliveryDetails", "Delivery on Friday morning.", NULL), PL_OK);
  /* negative feedback removal needs negative feedback */
  assert_int_equal(action(f, O1, "negativeFeedbackRemoval", NULL, NULL), PL_EACTION);
  /* a free-form message cannot start a conversation */
  svc_action_status st[SVC_ACT_COUNT];
  pl_detail d = {0};
  assert_int_equal(svc_order_actions(f->s, &f->agent, O1, f->a, st, &d), PL_OK);
  int avail = 0;
  for (int i = 0; i < SVC_ACT_COUNT; i++) avail += st[i].available;
  assert_true(avail >= 4);
  assert_false(st[SVC_ACT_DELIVERY].available);
  assert_non_null(st[SVC_ACT_DELIVERY].reason);
  /* text limits as in the SP-API model */
  char key[402];
  memset(key, 'k', 401);
  key[401] = '\0';
  assert_int_equal(action(f, O2, "digitalAccessKey", key, NULL), PL_ETOOLONG);
  key[400] = '\0';
  assert_int_equal(action(f, O2, "digitalAccessKey", key, NULL), PL_OK);
  assert_int_equal(action(f, O2, "noSuchAction", "x", NULL), PL_ENOTFOUND);
}

/* The buyer's preferences as set; e the expected result. */
static json_t *prefs_set(fx *f, const svc_caller *c, const char *json, pl_err e) {
  json_t *in = json_loads(json, 0, NULL), *out = NULL;
  assert_non_null(in);
  pl_detail d = {0};
  assert_int_equal(svc_buyer_preferences_set(f->s, c, in, f->a, &out, &d), e);
  json_decref(in);
  return out;
}

/* An opted-out buyer gets replies and critical messages, not non-critical proactive
 * ones, and the seller sees only "not delivered". */
static void opt_out(void **state) {
  fx *f = *state;
  f->now = T0 + DAY;
  svc_action_in in = {.coverage_start = "2026-10-05T00:00:00Z", .coverage_end = "2028-10-05T00:00:00Z"};
  svc_sent m;
  pl_detail d = {0};
  assert_int_equal(svc_send_action(f->s, &f->agent, O2, "warranty", &in, f->a, &m, &d), PL_OK);
  assert_int_equal(m.msg.status, ST_STATUS_NOT_DELIVERED); /* non-critical, proactive, opted out */
  policy_verdict_free(&m.verdict);
  assert_int_equal(action(f, O2, "confirmDeliveryDetails", "Your parcel arrives Friday morning.", &m), PL_OK);
  assert_int_equal(m.msg.status, ST_STATUS_DELIVERED); /* critical */
  policy_verdict_free(&m.verdict);
  /* the same warranty to a buyer who did not opt out is delivered */
  f->now = T0 + 2 * DAY;
  assert_int_equal(svc_send_action(f->s, &f->agent, O1, "warranty", &in, f->a, &m, &d), PL_OK);
  assert_int_equal(m.msg.status, ST_STATUS_DELIVERED);
  policy_verdict_free(&m.verdict);
  /* replies are always delivered */
  st_thread t;
  svc_start_in sin = {.order_id = O2, .topic = "other", .text = "Hi"};
  assert_int_equal(svc_thread_start(f->s, &f->buyer2, &sin, f->a, &t, &m, &d), PL_EEXIST);
  st_thread_query q = {.order_id = O2};
  st_thread *ts;
  size_t n;
  int64_t rn;
  assert_int_equal(svc_thread_list(f->s, &f->agent, &q, f->a, &ts, &n, &rn, &d), PL_OK);
  assert_int_equal(n, 1);
  svc_send_in bin = {.text = "When exactly?"};
  assert_int_equal(svc_send(f->s, &f->buyer2, ts[0].id, &bin, f->a, &m, &d), PL_OK);
  policy_verdict_free(&m.verdict);
  svc_send_in rin = {.text = "Friday between 9 and 12."};
  assert_int_equal(svc_send(f->s, &f->agent, ts[0].id, &rin, f->a, &m, &d), PL_OK);
  assert_int_equal(m.msg.status, ST_STATUS_DELIVERED);
  assert_false(m.msg.proactive);
  policy_verdict_free(&m.verdict);
  /* the buyer may opt back in */
  json_t *out = prefs_set(f, &f->buyer2, "{\"opt_out\": false}", PL_OK);
  assert_false(json_is_true(json_object_get(out, "opt_out")));
  json_decref(out);
  assert_int_equal(svc_send_action(f->s, &f->agent, O2, "warranty", &in, f->a, &m, &d), PL_OK);
  assert_int_equal(m.msg.status, ST_STATUS_DELIVERED);
  policy_verdict_free(&m.verdict);
}

/* A buyer who blocks a seller gets none of that seller's non-critical proactive messages
 * (the seller sees "not delivered", as for an opt-out), but its critical ones and the other
 * sellers' messages; the list is checked, survives an import of the buyer, and empties. */
static void blocks(void **state) {
  fx *f = *state;
  char t0[32];
  iso(T0, t0);
  import(f, "{\"type\":\"seller\",\"id\":\"S2\",\"marketplace\":\"M\",\"name\":\"Bolt\",\"email\":\"s@bolt.test\"}");
  import(f, "{\"type\":\"order\",\"id\":\"112-0000000-0000005\",\"marketplace\":\"M\",\"seller\":\"S2\",\"buyer\":\"B1\",\"status\":\"delivered\",\"shipped_at\":\"%s\",\"delivered_at\":\"%s\"}",
         t0, t0);
  pl_detail d = {0};
  int64_t ag2;
  assert_int_equal(svc_agent_add(f->s, "S2", "Ravi", "owner", &ag2, &d), PL_OK);
  svc_caller agent2 = {.kind = ST_PRINCIPAL_AGENT, .seller_id = "S2", .agent_id = ag2, .agent_role = ST_ROLE_OWNER,
                       .marketplace_id = "M", .name = "agent:2"};
  json_t *out = prefs_set(f, &f->buyer, "{\"blocked_sellers\": [\"S1\", \"S1\"]}", PL_OK);
  char *got = json_dumps(out, JSON_COMPACT | JSON_SORT_KEYS);
  assert_string_equal(got, "{\"blocked_sellers\":[\"S1\"],\"opt_out\":false}"); /* once, and no opt-out */
  free(got);
  json_decref(out);

  f->now = T0 + 6 * DAY;
  svc_action_in in = {.coverage_start = "2026-10-05T00:00:00Z", .coverage_end = "2028-10-05T00:00:00Z"};
  svc_sent m;
  assert_int_equal(svc_send_action(f->s, &f->agent, O1, "warranty", &in, f->a, &m, &d), PL_OK);
  assert_int_equal(m.msg.status, ST_STATUS_NOT_DELIVERED); /* non-critical, proactive, blocked */
  policy_verdict_free(&m.verdict);
  assert_int_equal(review(f, O1, &m), PL_OK);
  assert_int_equal(m.msg.status, ST_STATUS_NOT_DELIVERED);
  policy_verdict_free(&m.verdict);
  assert_int_equal(action(f, O1, "unexpectedProblem", "The manual in the box is for another model; here is the right one.", &m), PL_OK);
  assert_int_equal(m.msg.status, ST_STATUS_DELIVERED); /* critical */
  policy_verdict_free(&m.verdict);
  assert_int_equal(svc_send_action(f->s, &agent2, "112-0000000-0000005", "warranty", &in, f->a, &m, &d), PL_OK);
  assert_int_equal(m.msg.status, ST_STATUS_DELIVERED); /* another seller */
  policy_verdict_free(&m.verdict);

  /* an import of the buyer (which knows nothing of blocks) keeps them */
  import(f, "{\"type\":\"buyer\",\"id\":\"B1\",\"name\":\"Jane\",\"email\":\"jane@mail.test\",\"locale\":\"de-DE\"}");
  assert_int_equal(svc_buyer_preferences(f->s, &f->buyer, f->a, &out, &d), PL_OK);
  assert_string_equal(json_string_value(json_array_get(json_object_get(out, "blocked_sellers"), 0)), "S1");
  json_decref(out);

  /* what is refused, and by whom */
  assert_null(prefs_set(f, &f->buyer, "{}", PL_EMISSING));
  assert_null(prefs_set(f, &f->buyer, "{\"blocked_sellers\": \"S1\"}", PL_ETYPE));
  assert_null(prefs_set(f, &f->buyer, "{\"blocked_sellers\": [7]}", PL_ETYPE));
  assert_null(prefs_set(f, &f->buyer, "{\"blocked_sellers\": [\"\"]}", PL_ETYPE));
  assert_null(prefs_set(f, &f->buyer, "{\"blocked_sellers\": [\"S9\"]}", PL_ENOTFOUND));
  assert_null(prefs_set(f, &f->buyer, "{\"opt_out\": \"yes\"}", PL_ETYPE));
  assert_null(prefs_set(f, &f->agent, "{\"blocked_sellers\": []}", PL_EFORBIDDEN));
  json_t *many = json_array();
  for (int i = 0; i <= SVC_MAX_BLOCKED_SELLERS; i++) json_array_append_new(many, json_string("S2"));
  json_t *body = json_pack("{s:o}", "blocked_sellers", many);
  assert_int_equal(svc_buyer_preferences_set(f->s, &f->buyer, body, f->a, &out, &d), PL_ETOOMANY);
  json_decref(body);
  /* a refusal changed nothing */
  assert_int_equal(svc_send_action(f->s, &f->agent, O1, "warranty", &in, f->a, &m, &d), PL_OK);
  assert_int_equal(m.msg.status, ST_STATUS_NOT_DELIVERED);
  policy_verdict_free(&m.verdict);

  /* unblocked: delivered again */
  json_decref(prefs_set(f, &f->buyer, "{\"blocked_sellers\": []}", PL_OK));
  assert_int_equal(svc_send_action(f->s, &f->agent, O1, "warranty", &in, f->a, &m, &d), PL_OK);
  assert_int_equal(m.msg.status, ST_STATUS_DELIVERED);
  policy_verdict_free(&m.verdict);
}

static int64_t buyer_thread(fx *f, const char *order) {
  st_thread t;
  svc_sent m;
  pl_detail d = {0};
  svc_start_in in = {.order_id = order, .topic = "other", .text = "A question"};
  assert_int_equal(svc_thread_start(f->s, order[18] == '1' ? &f->buyer : &f->buyer2, &in, f->a, &t, &m, &d), PL_OK);
  policy_verdict_free(&m.verdict);
  return t.id;
}

static pl_err reply(fx *f, int64_t tid, const char *text) {
  svc_send_in in = {.text = text};
  svc_sent m;
  pl_detail d = {0};
  pl_err e = svc_send(f->s, &f->agent, tid, &in, f->a, &m, &d);
  policy_verdict_free(&m.verdict);
  return e;
}

static st_enforcement enforcement(fx *f) {
  st_enforcement en;
  st_violation *vs;
  size_t nv;
  pl_detail d = {0};
  assert_int_equal(svc_enforcement_get(f->s, &f->agent, "S1", f->a, &en, &vs, &nv, &d), PL_OK);
  return en;
}

/* Minor violations: warnings, and the third in 30 days restricts proactive messages. */
static void minor_violations_escalate(void **state) {
  fx *f = *state;
  f->now = T0 + DAY;
  int64_t tid = buyer_thread(f, O1);
  assert_int_equal(reply(f, tid, "Thanks!!!!!!!! \xf0\x9f\x98\x80\xf0\x9f\x98\x80"), PL_EPOLICY);
  st_enforcement en = enforcement(f);
  assert_int_equal(en.warnings, 1);
  assert_int_equal(en.restricted_until, 0);
  f->now += 60;
  assert_int_equal(reply(f, tid, "Sure \xf0\x9f\x98\x8a\xf0\x9f\x8e\x89 glad to help"), PL_EPOLICY);
  assert_int_equal(enforcement(f).restricted_until, 0);
  assert_int_equal(action(f, O2, "confirmDeliveryDetails", "Friday delivery confirmed.", NULL), PL_OK);
  f->now += 60;
  assert_int_equal(reply(f, tid, "OK \xf0\x9f\x91\x8d\xf0\x9f\x91\x8d\xf0\x9f\x91\x8d"), PL_EPOLICY);
  en = enforcement(f);
  assert_int_equal(en.warnings, 3);
  assert_int_equal(en.restricted_until, f->now + 30 * DAY);
  assert_false(en.suspension_flag);
  /* restricted: no proactive message, replies still allowed */
  assert_int_equal(action(f, O2, "confirmDeliveryDetails", "Friday delivery confirmed.", NULL), PL_ERESTRICTED);
  assert_int_equal(reply(f, tid, "Your replacement ships today."), PL_OK);
}

/* A severe violation restricts at once and flags the seller for the operator. */
static void severe_violation(void **state) {
  fx *f = *state;
  f->now = T0 + DAY;
  int64_t tid = buyer_thread(f, O1);
  assert_int_equal(reply(f, tid, "Message us on WhatsApp and pay via PayPal for a better price."), PL_EPOLICY);
  st_enforcement en = enforcement(f);
  assert_true(en.restricted_until > f->now);
  assert_true(en.suspension_flag);
  assert_true(en.quota_per_day > 0);
  /* the operator lifts it, with a reason the seller sees */
  svc_enforcement_in in = {.action = "lift_restriction", .reason = "reviewed: first offence"};
  pl_detail d = {0};
  assert_int_equal(svc_enforcement_set(f->s, &f->agent, "S1", &in, f->a, &en, &d), PL_EFORBIDDEN);
  assert_int_equal(svc_enforcement_set(f->s, &f->operator_, "S1", &in, f->a, &en, &d), PL_OK);
  assert_int_equal(enforcement(f).restricted_until, 0);
}

/* Asking for a review by message on an order that had a review request restricts. */
static void review_by_message_after_request(void **state) {
  fx *f = *state;
  f->now = T0 + 6 * DAY;
  int64_t tid = buyer_thread(f, O1);
  assert_int_equal(review(f, O1, NULL), PL_OK);
  assert_int_equal(reply(f, tid, "Please leave us a review if you can."), PL_EPOLICY);
  st_enforcement en = enforcement(f);
  assert_true(en.restricted_until >= f->now + 30 * DAY);
  assert_non_null(strstr(en.restriction_reason, "review request"));
}

/* A quota caps the seller's messages a day. */
static void quota(void **state) {
  fx *f = *state;
  f->now = T0 + DAY;
  int64_t tid = buyer_thread(f, O1);
  svc_enforcement_in in = {.action = "quota", .days = 7, .quota_per_day = 2, .reason = "poor response time"};
  st_enforcement en;
  pl_detail d = {0};
  assert_int_equal(svc_enforcement_set(f->s, &f->operator_, "S1", &in, f->a, &en, &d), PL_OK);
  assert_int_equal(reply(f, tid, "First answer."), PL_OK);
  f->now += 2;
  assert_int_equal(reply(f, tid, "Second answer."), PL_OK);
  f->now += 2;
  assert_int_equal(reply(f, tid, "Third answer."), PL_EQUOTA);
  f->now += DAY;
  assert_int_equal(reply(f, tid, "Next day."), PL_OK);
}

/* 1 request a second, bursts of 5, per seller and operation. */
static void rate_limit(void **state) {
  fx *f = *state;
  f->now = T0 + DAY;
  char *loc;
  pl_detail d = {0};
  for (int i = 0; i < 5; i++) assert_int_equal(svc_buyer_attributes(f->s, &f->agent, O1, f->a, &loc, &d), PL_OK);
  assert_int_equal(svc_buyer_attributes(f->s, &f->agent, O1, f->a, &loc, &d), PL_ERATELIMIT);
  /* another operation has its own bucket */
  svc_action_status st[SVC_ACT_COUNT];
  assert_int_equal(svc_order_actions(f->s, &f->agent, O1, f->a, st, &d), PL_OK);
  f->now += 1;
  assert_int_equal(svc_buyer_attributes(f->s, &f->agent, O1, f->a, &loc, &d), PL_OK);
  assert_int_equal(svc_buyer_attributes(f->s, &f->agent, O1, f->a, &loc, &d), PL_ERATELIMIT);
  f->now += 10;
  for (int i = 0; i < 5; i++) assert_int_equal(svc_buyer_attributes(f->s, &f->agent, O1, f->a, &loc, &d), PL_OK);
  assert_string_equal(loc, "de-DE");
}

/* The operator's actions by name: each one known acts, another is refused. */
static void enforcement_actions(void **state) {
  fx *f = *state;
  NAMES_CHECK(svc_enforcement_action, {SVC_ENF_RESTRICT, "restrict"}, {SVC_ENF_LIFT_RESTRICTION, "lift_restriction"},
              {SVC_ENF_QUOTA, "quota"}, {SVC_ENF_LIFT_QUOTA, "lift_quota"}, {SVC_ENF_FLAG, "flag"},
              {SVC_ENF_UNFLAG, "unflag"});
  st_enforcement en;
  pl_detail d = {0};
  svc_enforcement_in in = {.action = "ban", .reason = "no such measure"};
  assert_int_equal(svc_enforcement_set(f->s, &f->operator_, "S1", &in, f->a, &en, &d), PL_EINVAL);
  assert_non_null(strstr(d.msg, "restrict, lift_restriction"));
  in.action = "Flag";
  assert_int_equal(svc_enforcement_set(f->s, &f->operator_, "S1", &in, f->a, &en, &d), PL_EINVAL);
  in.action = "flag";
  assert_int_equal(svc_enforcement_set(f->s, &f->operator_, "S1", &in, f->a, &en, &d), PL_OK);
  assert_true(enforcement(f).suspension_flag);
  in.action = "unflag";
  assert_int_equal(svc_enforcement_set(f->s, &f->operator_, "S1", &in, f->a, &en, &d), PL_OK);
  assert_false(enforcement(f).suspension_flag);
  in = (svc_enforcement_in){.action = "restrict", .days = 3, .reason = "spam"};
  assert_int_equal(svc_enforcement_set(f->s, &f->operator_, "S1", &in, f->a, &en, &d), PL_OK);
  assert_int_equal(enforcement(f).restricted_until, f->now + 3 * DAY);
  in.action = "lift_restriction";
  assert_int_equal(svc_enforcement_set(f->s, &f->operator_, "S1", &in, f->a, &en, &d), PL_OK);
  assert_int_equal(enforcement(f).restricted_until, 0);
  in = (svc_enforcement_in){.action = "quota", .days = 2, .quota_per_day = 5, .reason = "slow"};
  assert_int_equal(svc_enforcement_set(f->s, &f->operator_, "S1", &in, f->a, &en, &d), PL_OK);
  assert_int_equal(enforcement(f).quota_per_day, 5);
  in.action = "lift_quota";
  assert_int_equal(svc_enforcement_set(f->s, &f->operator_, "S1", &in, f->a, &en, &d), PL_OK);
  assert_int_equal(enforcement(f).quota_per_day, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(enforcement_actions, setup, teardown),
    cmocka_unit_test_setup_teardown(review_request_window, setup, teardown),
    cmocka_unit_test_setup_teardown(review_request_last_day, setup, teardown),
    cmocka_unit_test_setup_teardown(review_request_day_31, setup, teardown),
    cmocka_unit_test_setup_teardown(review_request_does_not_answer, setup, teardown),
    cmocka_unit_test_setup_teardown(proactive_window, setup, teardown),
    cmocka_unit_test_setup_teardown(opt_out, setup, teardown),
    cmocka_unit_test_setup_teardown(review_request_opted_out, setup, teardown),
    cmocka_unit_test_setup_teardown(blocks, setup, teardown),
    cmocka_unit_test_setup_teardown(minor_violations_escalate, setup, teardown),
    cmocka_unit_test_setup_teardown(severe_violation, setup, teardown),
    cmocka_unit_test_setup_teardown(review_by_message_after_request, setup, teardown),
    cmocka_unit_test_setup_teardown(quota, setup, teardown),
    cmocka_unit_test_setup_teardown(rate_limit, setup, teardown),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
