/* test_service_team.c - the seller's team over SQLite and a fake clock: the starter templates pass
 * the policy, rendering per language with fallback, rules that wait for approval, locks
 * and reproducible audit samples. */
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
#include "service/svc_team.h"
#include "../names_check.h"

typedef struct {
  svc *s;
  pl_time now;
  char dir[64];
  svc_caller owner, agent, buyer, buyer_de;
  pl_arena *a;
} fx;

static pl_time fake_now(void *ctx) { return ((fx *)ctx)->now; }

#include "svc_fixture.h"

static void import(fx *f, const char *line) {
  pl_detail d = {0};
  if (svc_import_line(f->s, line, strlen(line), &d)) fail_msg("import failed: %s (%s)", d.msg, line);
}

#define T0 1791190800 /* 2026-10-05T09:00:00Z */
#define O1 "112-0000000-0000001"
#define O2 "112-0000000-0000002"

static int setup(void **state) {
  fx *f = calloc(1, sizeof *f);
  f->now = T0;
  f->s = svc_test_open(f->dir, "parley-team", (pl_clock){fake_now, f});
  pl_detail d = {0};
  f->a = pl_arena_new();
  import(f, "{\"type\":\"marketplace\",\"id\":\"M\",\"name\":\"Example\",\"domains\":[\"example.com\"],\"locale\":\"fr-FR\"}");
  import(f, "{\"type\":\"seller\",\"id\":\"S1\",\"marketplace\":\"M\",\"name\":\"Acme\",\"email\":\"s@acme.test\"}");
  import(f, "{\"type\":\"buyer\",\"id\":\"B1\",\"name\":\"Jane Doe\",\"email\":\"jane@mail.test\",\"locale\":\"pt-BR\"}");
  import(f, "{\"type\":\"buyer\",\"id\":\"B2\",\"name\":\"Klaus Berger\",\"email\":\"k@mail.test\",\"locale\":\"de-DE\"}");
  import(f, "{\"type\":\"order\",\"id\":\"" O1 "\",\"marketplace\":\"M\",\"seller\":\"S1\",\"buyer\":\"B1\",\"status\":\"delivered\",\"purchased_at\":\"2026-10-01T10:00:00Z\",\"delivered_at\":\"2026-10-04T10:00:00Z\",\"items\":[{\"asin\":\"B0C1234567\",\"title\":\"Drill\",\"quantity\":1,\"price\":\"19.99\",\"currency\":\"EUR\"}]}");
  import(f, "{\"type\":\"order\",\"id\":\"" O2 "\",\"marketplace\":\"M\",\"seller\":\"S1\",\"buyer\":\"B2\",\"status\":\"delivered\",\"purchased_at\":\"2026-10-01T10:00:00Z\",\"delivered_at\":\"2026-10-04T10:00:00Z\",\"items\":[{\"asin\":\"B0C1234567\",\"title\":\"Akkuschrauber\",\"quantity\":1,\"price\":\"19.99\",\"currency\":\"EUR\"}]}");
  int64_t ow, ag;
  assert_int_equal(svc_agent_add(f->s, "S1", "Olga", "owner", &ow, &d), PL_OK);
  assert_int_equal(svc_agent_add(f->s, "S1", "Sam", "agent", &ag, &d), PL_OK);
  f->owner = (svc_caller){.kind = ST_PRINCIPAL_AGENT, .seller_id = "S1", .agent_id = ow, .agent_role = ST_ROLE_OWNER,
                          .marketplace_id = "M", .name = "agent:1"};
  f->agent = (svc_caller){.kind = ST_PRINCIPAL_AGENT, .seller_id = "S1", .agent_id = ag, .agent_role = ST_ROLE_AGENT,
                          .marketplace_id = "M", .name = "agent:2"};
  f->buyer = (svc_caller){.kind = ST_PRINCIPAL_BUYER, .buyer_id = "B1", .name = "buyer:B1"};
  f->buyer_de = (svc_caller){.kind = ST_PRINCIPAL_BUYER, .buyer_id = "B2", .name = "buyer:B2"};
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

static json_t *install(fx *f) {
  json_t *out = NULL;
  pl_detail d = {0};
  pl_err e = svc_template_install_starter(f->s, &f->owner, NULL, f->a, &out, &d);
  if (e) fail_msg("starter set refused: %s", d.msg);
  return out;
}

static int64_t template_of(json_t *list, const char *purpose) {
  size_t i;
  json_t *t;
  int64_t id = 0;
  json_array_foreach(list, i, t) if (!strcmp(json_string_value(json_object_get(t, "purpose")), purpose))
      svc_team_parse_ref(json_string_value(json_object_get(t, "id")), "TPL", &id);
  return id;
}

/* Every variant of the starter set passes the content policy (install scans each). */
static void starter_set_passes_policy(void **state) {
  fx *f = *state;
  assert_int_equal(svc_starter_template_count, 7);
  json_t *list = install(f);
  assert_int_equal(json_array_size(list), 7);
  json_decref(list);
  list = install(f);
  assert_int_equal(json_array_size(list), 0); /* once */
  json_decref(list);
}

/* The buyer's language; else the marketplace's (fr); else English. Amounts the buyer's way. */
static void render_language_and_fallback(void **state) {
  fx *f = *state;
  json_t *list = install(f);
  int64_t refund = template_of(list, "refund_processed");
  json_decref(list);
  json_t *values = json_pack("{s:s}", "AMOUNT", "19.99");
  char *text;
  const char *lang;
  pl_detail d = {0};
  assert_int_equal(svc_template_render(f->s, &f->agent, refund, 0, O2, values, f->a, &text, &lang, &d), PL_OK);
  assert_string_equal(lang, "de");
  assert_non_null(strstr(text, "19,99\xc2\xa0\xe2\x82\xac")); /* 19,99 € */
  assert_non_null(strstr(text, "Klaus"));
  assert_int_equal(svc_template_render(f->s, &f->agent, refund, 0, O1, values, f->a, &text, &lang, &d), PL_OK);
  assert_string_equal(lang, "fr"); /* pt: none; the marketplace's French */
  assert_non_null(strstr(text, O1));
  json_decref(values);
  /* a placeholder without a value is an error naming it */
  assert_int_equal(svc_template_render(f->s, &f->agent, refund, 0, O1, NULL, f->a, &text, &lang, &d), PL_EMISSING);
  assert_non_null(strstr(d.msg, "[AMOUNT]"));
  /* only English: the fallback of last resort */
  json_t *body = json_pack("{s:s,s:s,s:{s:s}}", "name", "Only English", "purpose", "other", "variants", "en",
                           "Thanks for order [ORDER_ID].");
  json_t *out;
  policy_verdict v;
  pl_err e = svc_template_put(f->s, &f->owner, 0, body, f->a, &out, &v, &lang, &d);
  if (e) fail_msg("template refused: %s", d.msg);
  int64_t id;
  assert_true(svc_team_parse_ref(json_string_value(json_object_get(out, "id")), "TPL", &id));
  if (svc_template_render(f->s, &f->agent, id, 0, O2, NULL, f->a, &text, &lang, &d)) fail_msg("%s", d.msg);
  assert_string_equal(lang, "en");
  json_decref(out);
  json_decref(body);
  /* a variant the policy refuses is not saved */
  body = json_pack("{s:s,s:s,s:{s:s}}", "name", "Bad", "purpose", "other", "variants", "en",
                   "Please leave us a 5-star review and we refund you.");
  assert_int_equal(svc_template_put(f->s, &f->owner, 0, body, f->a, &out, &v, &lang, &d), PL_EPOLICY);
  assert_true(v.nfindings > 0);
  assert_string_equal(lang, "en");
  policy_verdict_free(&v);
  json_decref(body);
}

/* A filled-in template is a message: it stops at 5,000 characters, without ever building
 * the long text (fallible allocations of 64 KiB and more are made to fail: the cap must
 * answer first), and no memory is an error, not an abort. */
static void render_is_capped(void **state) {
  fx *f = *state;
  char *text_in = malloc(10 + 11 * 400 + 1);
  strcpy(text_in, "Tracking: ");
  for (int i = 0; i < 400; i++) strcat(text_in, "[TRACKING] ");
  json_t *body = json_pack("{s:s,s:s,s:{s:s}}", "name", "Many", "purpose", "shipped", "variants", "en", text_in);
  free(text_in);
  json_t *out;
  policy_verdict v;
  const char *lang;
  char *text;
  pl_detail d = {0};
  if (svc_template_put(f->s, &f->owner, 0, body, f->a, &out, &v, &lang, &d)) fail_msg("template refused: %s", d.msg);
  json_decref(body);
  int64_t id;
  assert_true(svc_team_parse_ref(json_string_value(json_object_get(out, "id")), "TPL", &id));
  json_decref(out);
  char big[19001];
  memset(big, 'x', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  json_t *huge = json_pack("{s:s}", "TRACKING", big);        /* 400 x 19,000: 7.6 MB uncapped */
  json_t *over = json_pack("{s:s}", "TRACKING", "0123456789AB"); /* 10 + 400 x 13 = 5,210 */
  json_t *fits = json_pack("{s:s}", "TRACKING", "T1");
  pl_mem_fail_from(64 * 1024);
  assert_int_equal(svc_template_render(f->s, &f->agent, id, 0, O1, huge, f->a, &text, &lang, &d), PL_ERENDERLONG);
  assert_int_equal(svc_template_render(f->s, &f->agent, id, 0, O1, over, f->a, &text, &lang, &d), PL_ERENDERLONG);
  assert_non_null(strstr(d.msg, "5000"));
  assert_int_equal(svc_template_render(f->s, &f->agent, id, 0, O1, fits, f->a, &text, &lang, &d), PL_OK);
  assert_int_equal(strlen(text), 10 + 3 * 400);
  /* a value longer than a message is refused before anything is filled in */
  char *vast = malloc(30001);
  memset(vast, 'y', 30000);
  vast[30000] = '\0';
  json_t *toolong = json_pack("{s:s}", "TRACKING", vast);
  free(vast);
  assert_int_equal(svc_template_render(f->s, &f->agent, id, 0, O1, toolong, f->a, &text, &lang, &d), PL_ERENDERLONG);
  /* no memory at all: PL_ENOMEM (503 over HTTP), and the process goes on */
  pl_mem_fail_from(1);
  assert_int_equal(svc_template_render(f->s, &f->agent, id, 0, O1, fits, f->a, &text, &lang, &d), PL_ENOMEM);
  pl_mem_fail_from(0);
  assert_int_equal(svc_template_render(f->s, &f->agent, id, 0, O1, fits, f->a, &text, &lang, &d), PL_OK);
  json_decref(huge);
  json_decref(over);
  json_decref(fits);
  json_decref(toolong);
}

static int64_t proposals_pending(fx *f) {
  json_t *out;
  pl_detail d = {0};
  assert_int_equal(svc_proposal_list(f->s, &f->agent, NULL, f->a, &out, &d), PL_OK);
  int64_t n = (int64_t)json_array_size(out), id = 0;
  if (n) svc_team_parse_ref(json_string_value(json_object_get(json_array_get(out, 0), "id")), "PR", &id);
  json_decref(out);
  return n ? id : 0;
}

/* A rule keeps of each action only the fields its type takes: an agent id written on a tag
 * action (here 987654, nobody of this seller) is not kept to be read as if it were one. */
static void rule_actions_keep_their_fields_only(void **state) {
  fx *f = *state;
  json_t *rule = json_pack("{s:s,s:{s:[s]},s:[{s:s,s:s,s:I,s:s},{s:s,s:s,s:i}]}", "name", "Refunds", "conditions",
                           "words", "refund", "actions", "type", "tag", "tag", "refund", "agent_id",
                           (json_int_t)987654, "note", "extra", "type", "priority", "priority", "high", "x", 1);
  json_t *out;
  pl_detail d = {0};
  assert_int_equal(svc_rule_put(f->s, &f->owner, 0, rule, f->a, &out, &d), PL_OK);
  json_decref(rule);
  json_t *acts = json_object_get(out, "actions");
  assert_int_equal(json_array_size(acts), 2);
  json_t *tag = json_array_get(acts, 0), *prio = json_array_get(acts, 1);
  assert_int_equal(json_object_size(tag), 2);
  assert_string_equal(json_string_value(json_object_get(tag, "tag")), "refund");
  assert_null(json_object_get(tag, "agent_id"));
  assert_int_equal(json_object_size(prio), 2);
  assert_string_equal(json_string_value(json_object_get(prio, "priority")), "high");
  json_decref(out);
}

/* A rule's proposal waits until an agent sends it; nothing reaches the buyer before. */
static void rule_proposal_waits_for_approval(void **state) {
  fx *f = *state;
  json_t *list = install(f);
  int64_t dmg = template_of(list, "damaged_item");
  json_decref(list);
  json_t *rule = json_pack("{s:s,s:{s:[s]},s:[{s:s,s:s,s:{s:s}},{s:s,s:s}]}", "name", "Damaged", "conditions",
                           "words", "kaputt", "actions", "type", "propose", "template_id",
                           svc_team_ref(f->a, "TPL", dmg), "values", "TIMEFRAME", "2 Tagen",
                           "type", "tag", "tag", "damaged");
  json_t *out;
  pl_detail d = {0};
  assert_int_equal(svc_rule_put(f->s, &f->owner, 0, rule, f->a, &out, &d), PL_OK);
  json_decref(out);
  json_decref(rule);
  st_thread t;
  svc_sent m;
  svc_start_in in = {.order_id = O2, .topic = "damaged_or_defective", .text = "Der Schrauber kam KAPUTT an."};
  assert_int_equal(svc_thread_start(f->s, &f->buyer_de, &in, f->a, &t, &m, &d), PL_OK);
  policy_verdict_free(&m.verdict);
  st_message *msgs;
  size_t n;
  assert_int_equal(svc_thread_get(f->s, &f->owner, t.id, f->a, &t, &msgs, &n, &d), PL_OK);
  assert_int_equal(n, 1); /* only the buyer's */
  int64_t pid = proposals_pending(f);
  assert_true(pid > 0);
  f->now += 60;
  svc_sent sent;
  assert_int_equal(svc_proposal_send(f->s, &f->agent, pid, NULL, false, f->a, &sent, &d), PL_OK);
  assert_non_null(strstr(sent.msg.text, "2 Tagen"));
  assert_int_equal(sent.msg.status, ST_STATUS_DELIVERED);
  policy_verdict_free(&sent.verdict);
  assert_int_equal(proposals_pending(f), 0);
  assert_int_equal(svc_proposal_send(f->s, &f->agent, pid, NULL, false, f->a, &sent, &d), PL_ECONFLICT);
  policy_verdict_free(&sent.verdict);
  assert_int_equal(svc_rule_firings(f->s, &f->owner, 10, f->a, &out, &d), PL_OK);
  assert_int_equal(json_array_size(out), 2);
  json_decref(out);
}

/* A rule fills its template with nobody there to give a missing value: a placeholder the
 * thread cannot fill by itself must be in the action's values when the rule is saved. */
static void rule_needs_every_value_at_save(void **state) {
  fx *f = *state;
  json_t *list = install(f);
  int64_t dmg = template_of(list, "damaged_item"); /* "... within [TIMEFRAME] ..." */
  json_decref(list);
  json_t *rule = json_pack("{s:s,s:{s:[s]},s:[{s:s,s:s}]}", "name", "Damaged", "conditions", "words", "kaputt",
                           "actions", "type", "propose", "template_id", svc_team_ref(f->a, "TPL", dmg));
  json_t *out = NULL;
  pl_detail d = {0};
  assert_int_equal(svc_rule_put(f->s, &f->owner, 0, rule, f->a, &out, &d), PL_EMISSING);
  assert_non_null(strstr(d.msg, "[TIMEFRAME]"));
  assert_non_null(strstr(d.msg, "values.TIMEFRAME"));
  json_object_set_new(json_array_get(json_object_get(rule, "actions"), 0), "values",
                      json_pack("{s:s}", "TIMEFRAME", "2 days"));
  assert_int_equal(svc_rule_put(f->s, &f->owner, 0, rule, f->a, &out, &d), PL_OK);
  json_decref(out);
  /* sending by itself needs the marketplace's leave (rules_auto_send), which M does not give */
  json_object_set_new(rule, "auto_send", json_true());
  d = (pl_detail){0};
  assert_int_equal(svc_rule_put(f->s, &f->owner, 0, rule, f->a, &out, &d), PL_EFORBIDDEN);
  assert_non_null(strstr(d.msg, "approval"));
  json_decref(rule);
}

/* A rule that fails at a firing tells its owner: GET /v1/rules shows the last failure and
 * the count, until the rule is saved again. */
static void failing_rule_tells_its_owner(void **state) {
  fx *f = *state;
  json_t *body = json_pack("{s:s,s:s,s:{s:s}}", "name", "Ack", "purpose", "other", "variants", "en",
                           "About order [ORDER_ID]: we are looking into it.");
  json_t *out;
  policy_verdict v;
  const char *lang;
  pl_detail d = {0};
  if (svc_template_put(f->s, &f->owner, 0, body, f->a, &out, &v, &lang, &d)) fail_msg("template refused: %s", d.msg);
  json_decref(body);
  json_t *rule = json_pack("{s:s,s:{s:[s]},s:[{s:s,s:O}]}", "name", "Colours", "conditions", "words", "colour",
                           "actions", "type", "propose", "template_id", json_object_get(out, "id"));
  json_decref(out);
  assert_int_equal(svc_rule_put(f->s, &f->owner, 0, rule, f->a, &out, &d), PL_OK); /* ORDER_ID fills itself */
  json_decref(out);
  /* a product question has no order: the firing fails */
  st_thread t;
  svc_sent m;
  svc_start_in in = {.asin = "B0C1234567", .seller_id = "S1", .topic = "product_specifications",
                     .text = "Which colour is the case?"};
  assert_int_equal(svc_thread_start(f->s, &f->buyer, &in, f->a, &t, &m, &d), PL_OK);
  policy_verdict_free(&m.verdict);
  assert_int_equal(svc_rule_list(f->s, &f->owner, f->a, &out, &d), PL_OK);
  json_t *r = json_array_get(out, 0);
  assert_int_equal(json_integer_value(json_object_get(r, "failures")), 1);
  json_t *lf = json_object_get(r, "last_failure");
  assert_non_null(strstr(json_string_value(json_object_get(lf, "reason")), "[ORDER_ID]"));
  assert_string_equal(json_string_value(json_object_get(lf, "message")), svc_message_ref(f->a, m.msg.id));
  char *id = pl_arena_strdup(f->a, json_string_value(json_object_get(r, "id")));
  json_decref(out);
  /* saved again: cleared */
  int64_t rid;
  assert_true(svc_team_parse_ref(id, "R", &rid));
  assert_int_equal(svc_rule_put(f->s, &f->owner, rid, rule, f->a, &out, &d), PL_OK);
  assert_null(json_object_get(out, "last_failure"));
  assert_null(json_object_get(out, "failures"));
  json_decref(out);
  json_decref(rule);
}

/* The lock expires two minutes after the last heartbeat; a reply after an unseen buyer
 * message is refused unless confirmed. */
static void lock_expiry_and_conflict(void **state) {
  fx *f = *state;
  st_thread t;
  svc_sent m;
  pl_detail d = {0};
  svc_start_in in = {.order_id = O1, .topic = "other", .text = "Hello, where is it?"};
  assert_int_equal(svc_thread_start(f->s, &f->buyer, &in, f->a, &t, &m, &d), PL_OK);
  policy_verdict_free(&m.verdict);
  int64_t first = m.msg.id;
  json_t *lk;
  assert_int_equal(svc_team_lock(f->s, &f->agent, t.id, f->a, &lk, &d), PL_OK);
  json_decref(lk);
  assert_int_equal(svc_team_lock(f->s, &f->owner, t.id, f->a, &lk, &d), PL_ECONFLICT);
  f->now += SVC_LOCK_SECONDS - 1;
  assert_int_equal(svc_team_lock(f->s, &f->owner, t.id, f->a, &lk, &d), PL_ECONFLICT);
  f->now += 1; /* expired */
  assert_int_equal(svc_team_lock(f->s, &f->owner, t.id, f->a, &lk, &d), PL_OK);
  json_decref(lk);
  svc_send_in more = {.text = "Also: is it insured?"};
  assert_int_equal(svc_send(f->s, &f->buyer, t.id, &more, f->a, &m, &d), PL_OK);
  policy_verdict_free(&m.verdict);
  svc_send_in reply = {.text = "It ships today.", .after = first};
  assert_int_equal(svc_send(f->s, &f->owner, t.id, &reply, f->a, &m, &d), PL_ECONFLICT);
  policy_verdict_free(&m.verdict);
  reply.confirm = true;
  assert_int_equal(svc_send(f->s, &f->owner, t.id, &reply, f->a, &m, &d), PL_OK);
  policy_verdict_free(&m.verdict);
}

/* The same seed and population give the same sample; another seed another. */
static void audit_sample_reproducible(void **state) {
  fx *f = *state;
  st_thread t;
  svc_sent m;
  pl_detail d = {0};
  svc_start_in in = {.order_id = O1, .topic = "other", .text = "Hello?"};
  assert_int_equal(svc_thread_start(f->s, &f->buyer, &in, f->a, &t, &m, &d), PL_OK);
  policy_verdict_free(&m.verdict);
  for (int i = 0; i < 12; i++) {
    f->now += 10;
    svc_send_in r = {.text = pl_arena_printf(f->a, "Update %d: your parcel is on its way.", i)};
    assert_int_equal(svc_send(f->s, &f->owner, t.id, &r, f->a, &m, &d), PL_OK);
    policy_verdict_free(&m.verdict);
  }
  json_t *a1, *a2, *a3;
  assert_int_equal(svc_audit_sample(f->s, &f->owner, "S1", 5, 7, 0, f->a, &a1, &d), PL_OK);
  assert_int_equal(svc_audit_sample(f->s, &f->owner, "S1", 5, 7, 0, f->a, &a2, &d), PL_OK);
  assert_int_equal(svc_audit_sample(f->s, &f->owner, "S1", 5, 8, 0, f->a, &a3, &d), PL_OK);
  assert_true(json_equal(json_object_get(a1, "replies"), json_object_get(a2, "replies")));
  assert_false(json_equal(json_object_get(a1, "replies"), json_object_get(a3, "replies")));
  assert_int_equal(json_integer_value(json_object_get(a1, "population")), 12);
  assert_int_equal(json_array_size(json_object_get(a1, "replies")), 5);
  json_decref(a1);
  json_decref(a2);
  json_decref(a3);
  svc_caller other = f->owner;
  other.seller_id = "S2";
  assert_int_equal(svc_audit_sample(f->s, &other, "S1", 5, 7, 0, f->a, &a1, &d), PL_ENOTFOUND);
}

/* Round-robin: the available agent assigned longest ago, never a read-only one. */
static void round_robin(void **state) {
  fx *f = *state;
  pl_detail d = {0};
  int64_t ro;
  assert_int_equal(svc_agent_add(f->s, "S1", "Rita", "read_only", &ro, &d), PL_OK);
  int64_t got[4];
  for (int i = 0; i < 4; i++) {
    st_thread t;
    svc_sent m;
    svc_start_in in = {.order_id = i % 2 ? O1 : O2, .topic = "other", .text = "Hello?"};
    pl_err e = svc_thread_start(f->s, i % 2 ? &f->buyer : &f->buyer_de, &in, f->a, &t, &m, &d);
    if (e == PL_EEXIST) {
      st_thread_query q = {.order_id = in.order_id};
      st_thread *ts;
      size_t n;
      int64_t rn;
      assert_int_equal(svc_thread_list(f->s, &f->owner, &q, f->a, &ts, &n, &rn, &d), PL_OK);
      t = ts[0];
    } else {
      assert_int_equal(e, PL_OK);
      policy_verdict_free(&m.verdict);
    }
    assert_int_equal(svc_team_assign(f->s, &f->owner, t.id, -1, f->a, &got[i], &d), PL_OK);
  }
  assert_int_equal(got[0], f->owner.agent_id);
  assert_int_equal(got[1], f->agent.agent_id);
  assert_int_equal(got[2], f->owner.agent_id);
  assert_int_equal(got[3], f->agent.agent_id);
  assert_int_equal(svc_team_availability(f->s, &f->agent, f->agent.agent_id, false, f->a, &d), PL_OK);
  int64_t x;
  assert_int_equal(svc_team_assign(f->s, &f->owner, 1, -1, f->a, &x, &d), PL_OK);
  assert_int_equal(x, f->owner.agent_id);
  assert_int_equal(svc_team_assign(f->s, &f->owner, 1, -1, f->a, &x, &d), PL_OK);
  assert_int_equal(x, f->owner.agent_id);
}

/* The names a rule's actions, a proposal's state and an agent's role take on the wire; a
 * name outside them is refused where a client gives it, and the known ones read back. */
static void names_on_the_wire(void **state) {
  fx *f = *state;
  NAMES_CHECK(svc_rule_action, {SVC_RULE_ASSIGN, "assign"}, {SVC_RULE_TAG, "tag"}, {SVC_RULE_PRIORITY, "priority"},
              {SVC_RULE_PROPOSE, "propose"});
  NAMES_CHECK(svc_purpose, {SVC_PURPOSE_SHIPPED, "shipped"}, {SVC_PURPOSE_DELAY, "delay"},
              {SVC_PURPOSE_RETURN_AUTHORISED, "return_authorised"}, {SVC_PURPOSE_REFUND_PROCESSED, "refund_processed"},
              {SVC_PURPOSE_PRODUCT_QUESTION, "product_question"}, {SVC_PURPOSE_DAMAGED_ITEM, "damaged_item"},
              {SVC_PURPOSE_CUSTOM_ORDER_CONFIRMATION, "custom_order_confirmation"}, {SVC_PURPOSE_OTHER, "other"});
  /* GET /v1/meta lists them in that order; only delay and custom orders may be critical */
  const char *label;
  bool crit;
  size_t np = 0, ncrit = 0;
  for (const char *pid; (pid = svc_template_purpose(np, &label, &crit)); np++) {
    assert_string_equal(pid, svc_purpose_name((svc_purpose)(np + 1)));
    assert_non_null(label);
    ncrit += crit;
  }
  assert_int_equal(np, 8);
  assert_int_equal(ncrit, 2);
  assert_string_equal((svc_template_purpose(1, &label, &crit), label), "Shipping delay");
  assert_true(crit);
  pl_detail d = {0};
  json_t *out = NULL;
  json_t *rule = json_pack("{s:s,s:{s:[s]},s:[{s:s,s:s}]}", "name", "Odd", "conditions", "words", "refund",
                           "actions", "type", "Tag", "tag", "refund");
  assert_int_equal(svc_rule_put(f->s, &f->owner, 0, rule, f->a, &out, &d), PL_EINVAL);
  json_object_set_new(json_array_get(json_object_get(rule, "actions"), 0), "type", json_string("tag"));
  assert_int_equal(svc_rule_put(f->s, &f->owner, 0, rule, f->a, &out, &d), PL_OK);
  assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(out, "actions"), 0), "type")),
                      "tag");
  assert_null(json_object_get(out, "state")); /* a rule has no state */
  json_decref(out);
  json_decref(rule);
  assert_int_equal(svc_proposal_list(f->s, &f->agent, "sending", f->a, &out, &d), PL_EINVAL);
  const char *states[] = {"pending", "sent", "discarded"};
  for (size_t i = 0; i < 3; i++) {
    assert_int_equal(svc_proposal_list(f->s, &f->agent, states[i], f->a, &out, &d), PL_OK);
    json_decref(out);
  }
  int64_t ro;
  assert_int_equal(svc_agent_add(f->s, "S1", "Boss", "boss", &ro, &d), PL_EINVAL);
  assert_int_equal(svc_agent_add(f->s, "S1", "Rita", "read_only", &ro, &d), PL_OK);
  assert_int_equal(svc_team_agents(f->s, &f->agent, f->a, &out, &d), PL_OK);
  const char *roles[4] = {0};
  for (size_t i = 0; i < json_array_size(out) && i < 4; i++)
    roles[i] = json_string_value(json_object_get(json_array_get(out, i), "role"));
  assert_int_equal(json_array_size(out), 3);
  assert_string_equal(roles[0], "owner");
  assert_string_equal(roles[1], "agent");
  assert_string_equal(roles[2], "read_only");
  json_decref(out);
  /* a read-only agent is never assigned, not even by a rule */
  rule = json_pack("{s:s,s:[{s:s,s:I}]}", "name", "To Rita", "actions", "type", "assign", "agent_id", (json_int_t)ro);
  assert_int_equal(svc_rule_put(f->s, &f->owner, 0, rule, f->a, &out, &d), PL_EINVAL);
  assert_non_null(strstr(d.msg, "read-only"));
  json_decref(rule);
}


/* A template for the test below; fails the test when the policy refuses it. */
static int64_t put_template(fx *f, json_t *body) {
  json_t *out = NULL;
  policy_verdict v = {0};
  const char *lang;
  pl_detail d = {0};
  if (svc_template_put(f->s, &f->owner, 0, body, f->a, &out, &v, &lang, &d)) fail_msg("template refused: %s", d.msg);
  policy_verdict_free(&v);
  int64_t id = 0;
  assert_true(svc_team_parse_ref(json_string_value(json_object_get(out, "id")), "TPL", &id));
  json_decref(out);
  json_decref(body);
  return id;
}

static json_t *suggestion_of(json_t *out, const char *kind, const char *id) {
  size_t i;
  json_t *x;
  json_array_foreach(json_object_get(out, "suggestions"), i, x) {
    if (!strcmp(json_string_value(json_object_get(x, "kind")), kind) &&
        (!id || !strcmp(json_string_value(json_object_get(x, "id")), id)))
      return x;
  }
  return NULL;
}

/* Suggested replies: for the buyer's question about a charger, the template of the topic in
 * the buyer's language with the words filled in for the thread, the team's earlier reply to
 * another buyer's similar question with that buyer's name and order replaced, and a template
 * whose value the thread cannot give offered with its placeholder left; never a template
 * that neither fits the topic nor shares a word. The buyer is told nothing (404), the
 * operator refused; the buyer's text is only words to the index; the seller's bucket limits. */
static void suggestions_rank_templates_and_replies(void **state) {
  fx *f = *state;
  pl_detail d = {0};
  int64_t ta = put_template(f, json_pack("{s:s,s:s,s:b,s:{s:s,s:s}}", "name", "Charger answer", "purpose",
                                         "product_question", "critical", 0, "variants", "en",
                                         "Hi [BUYER_NAME], the charger and the battery are in the box.", "de",
                                         "Hallo [BUYER_NAME], charger und battery liegen bei."));
  int64_t tc = put_template(f, json_pack("{s:s,s:s,s:b,s:{s:s}}", "name", "Charger delay", "purpose", "delay",
                                         "critical", 0, "variants", "en", "The charger ships on [DATE]."));
  put_template(f, json_pack("{s:s,s:s,s:b,s:{s:s}}", "name", "Refund", "purpose", "refund_processed", "critical", 0,
                            "variants", "en", "Your refund is on its way."));
  /* an earlier conversation with another buyer, answered */
  st_thread t1, t2;
  svc_sent m;
  svc_start_in in1 = {.order_id = O1, .topic = "product_question", .text = "Does the drill come with a charger?"};
  assert_int_equal(svc_thread_start(f->s, &f->buyer, &in1, f->a, &t1, &m, &d), PL_OK);
  policy_verdict_free(&m.verdict);
  f->now += 60;
  svc_send_in r1 = {.text = "Hi Jane, yes: the charger for order " O1 " is in the box. Thanks, Jane Doe!"};
  assert_int_equal(svc_send(f->s, &f->owner, t1.id, &r1, f->a, &m, &d), PL_OK);
  policy_verdict_free(&m.verdict);
  int64_t reply_id = m.msg.id;
  /* the question of now: FTS syntax in it is only text */
  f->now += 60;
  svc_start_in in2 = {.order_id = O2, .topic = "product_question",
                      .text = "Is there a charger and a battery? \"NEAR(charger\" OR * AND -battery:^"};
  assert_int_equal(svc_thread_start(f->s, &f->buyer_de, &in2, f->a, &t2, &m, &d), PL_OK);
  policy_verdict_free(&m.verdict);

  json_t *out = NULL;
  if (svc_thread_suggestions(f->s, &f->agent, t2.id, f->a, &out, &d)) fail_msg("suggestions: %s", d.msg);
  json_t *list = json_object_get(out, "suggestions");
  assert_true(json_array_size(list) >= 3 && json_array_size(list) <= SVC_SUGGESTIONS);
  /* the template of the topic in the buyer's language comes first, filled in */
  json_t *first = json_array_get(list, 0);
  assert_string_equal(json_string_value(json_object_get(first, "kind")), "template");
  assert_string_equal(json_string_value(json_object_get(first, "id")), svc_team_ref(f->a, "TPL", ta));
  assert_string_equal(json_string_value(json_object_get(first, "title")), "Charger answer");
  assert_string_equal(json_string_value(json_object_get(first, "text")), "Hallo Klaus, charger und battery liegen bei.");
  const char *why = json_string_value(json_object_get(first, "reason"));
  assert_non_null(strstr(why, "template for the topic \"Question about the product\" in the buyer's language"));
  assert_non_null(strstr(why, "shares: charger, battery"));
  assert_true(json_is_real(json_object_get(first, "score")));
  /* the earlier reply, with this thread's buyer and order */
  json_t *rep = suggestion_of(out, "reply", svc_message_ref(f->a, reply_id));
  assert_non_null(rep);
  assert_string_equal(json_string_value(json_object_get(rep, "text")),
                      "Hi Klaus, yes: the charger for order " O2 " is in the box. Thanks, Klaus!");
  why = json_string_value(json_object_get(rep, "reason"));
  assert_non_null(strstr(why, "reply to a similar question"));
  assert_non_null(strstr(why, "shares: charger"));
  assert_non_null(strstr(why, "replaced"));
  assert_null(json_object_get(rep, "title"));
  /* a value the thread cannot give stays for the agent, and the reason says so */
  json_t *delay = suggestion_of(out, "template", svc_team_ref(f->a, "TPL", tc));
  assert_non_null(delay);
  assert_string_equal(json_string_value(json_object_get(delay, "text")), "The charger ships on [DATE].");
  assert_non_null(strstr(json_string_value(json_object_get(delay, "reason")), "fill in [DATE]"));
  assert_true(json_real_value(json_object_get(delay, "score")) < json_real_value(json_object_get(first, "score")));
  /* the refund template neither fits nor shares a word */
  size_t i;
  json_t *x;
  json_array_foreach(list, i, x) assert_null(strstr(json_string_value(json_object_get(x, "text")), "refund"));
  /* scores never rise down the list */
  for (i = 1; i < json_array_size(list); i++)
    assert_true(json_real_value(json_object_get(json_array_get(list, i), "score")) <=
                json_real_value(json_object_get(json_array_get(list, i - 1), "score")));
  json_decref(out);

  /* who: a buyer is told nothing, the operator is no seller's agent, another seller's thread is none */
  svc_caller op = {.kind = ST_PRINCIPAL_OPERATOR, .name = "operator:ops"};
  svc_caller other = f->agent;
  other.seller_id = "S9";
  assert_int_equal(svc_thread_suggestions(f->s, &f->buyer_de, t2.id, f->a, &out, &d), PL_ENOTFOUND);
  assert_int_equal(svc_thread_suggestions(f->s, &op, t2.id, f->a, &out, &d), PL_EFORBIDDEN);
  assert_int_equal(svc_thread_suggestions(f->s, &other, t2.id, f->a, &out, &d), PL_ENOTFOUND);
  /* the seller's bucket: a burst, then 429 until it refills */
  pl_err e = PL_OK;
  for (int k = 0; k < (int)SVC_SUGGEST_BURST + 2 && !e; k++) {
    out = NULL;
    e = svc_thread_suggestions(f->s, &f->owner, t2.id, f->a, &out, &d);
    json_decref(out);
  }
  assert_int_equal(e, PL_ERATELIMIT);
  f->now += 1;
  assert_int_equal(svc_thread_suggestions(f->s, &f->owner, t2.id, f->a, &out, &d), PL_OK);
  json_decref(out);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(names_on_the_wire, setup, teardown),
    cmocka_unit_test_setup_teardown(starter_set_passes_policy, setup, teardown),
    cmocka_unit_test_setup_teardown(render_language_and_fallback, setup, teardown),
      cmocka_unit_test_setup_teardown(render_is_capped, setup, teardown),
    cmocka_unit_test_setup_teardown(rule_actions_keep_their_fields_only, setup, teardown),
      cmocka_unit_test_setup_teardown(rule_proposal_waits_for_approval, setup, teardown),
    cmocka_unit_test_setup_teardown(rule_needs_every_value_at_save, setup, teardown),
    cmocka_unit_test_setup_teardown(failing_rule_tells_its_owner, setup, teardown),
    cmocka_unit_test_setup_teardown(lock_expiry_and_conflict, setup, teardown),
    cmocka_unit_test_setup_teardown(audit_sample_reproducible, setup, teardown),
    cmocka_unit_test_setup_teardown(round_robin, setup, teardown),
    cmocka_unit_test_setup_teardown(suggestions_rank_templates_and_replies, setup, teardown),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
