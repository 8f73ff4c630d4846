/* test_service_learn.c - learning from the operator: the review queue's decisions teach their marketplace's model, and only that marketplace's, only in the categories the model learns; every node follows a retrained model without a restart. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../policy_learn_cases.h"
#include "service/svc.h"
#include "service/svc_int.h" /* the training flag */
#include "store/store.h"

#define MP_A "ATVPDKIKX0DER"
#define MP_B "A1PA6795UKMFR9"

typedef struct {
  char dir[64], db[128], key[160], cfg[160];
  pl_time now;
  svc *s;
  svc_caller agent_a, agent_b, operator_;
  int64_t thread_a, thread_b;
  pl_arena *a;
} fx;

static pl_time fake_now(void *ctx) { return ((fx *)ctx)->now; }

static svc *open_node(fx *f) {
  pl_detail d = {0};
  pl_keys keys;
  assert_int_equal(pl_keys_load_or_create(f->key, &keys, &d), PL_OK);
  store *st;
  assert_int_equal(store_open(f->db, &st, &d), PL_OK);
  /* the compiled rules come from the build's cache; the operator holds promotion scores
   * from 0.15 for review (the "uncertain band") and finds them from 0.8, and holds phone
   * numbers for review rather than rejecting them */
  svc_options o = {.clock = {fake_now, f}, .policy_config = f->cfg, .policy_cache = getenv("PARLEY_POLICY_CACHE")};
  svc *s = NULL;
  assert_int_equal(svc_new(st, &keys, &o, &s, &d), PL_OK);
  if (svc_policy_prepare(s, &d)) fail_msg("policy: %s", d.msg);
  return s;
}

static void import(fx *f, const char *line) {
  pl_detail d = {0};
  if (svc_import_line(f->s, line, strlen(line), &d)) fail_msg("import: %s (%s)", d.msg, line);
}

static int64_t start(fx *f, const char *order, const char *buyer) {
  svc_caller b = {.kind = ST_PRINCIPAL_BUYER, .buyer_id = buyer, .name = "buyer"};
  svc_start_in in = {.order_id = order, .topic = "product_question", .text = "Is the set complete?"};
  st_thread t;
  svc_sent m;
  pl_detail d = {0};
  if (svc_thread_start(f->s, &b, &in, f->a, &t, &m, &d)) fail_msg("start: %s", d.msg);
  policy_verdict_free(&m.verdict);
  return t.id;
}

static int setup(void **state) {
  fx *f = calloc(1, sizeof *f);
  strcpy(f->dir, "/tmp/parley-learn-XXXXXX");
  assert_non_null(mkdtemp(f->dir));
  snprintf(f->db, sizeof f->db, "%s/t.db", f->dir);
  snprintf(f->key, sizeof f->key, "%s/t.key", f->dir);
  snprintf(f->cfg, sizeof f->cfg, "%s/policy.json", f->dir);
  FILE *c = fopen(f->cfg, "w");
  fputs("{\"actions\": {\"phone\": \"review\", \"off_platform\": \"review\"},"
        " \"classifier\": {\"thresholds\": {\"promotion\": {\"finding\": 0.8, \"review\": 0.15}}}}",
        c);
  fclose(c);
  assert_int_equal(pl_crypto_init(), PL_OK);
  f->now = 1791190800; /* 2026-10-05T09:00:00Z */
  f->s = open_node(f);
  f->a = pl_arena_new();
  import(f, "{\"type\":\"marketplace\",\"id\":\"" MP_A "\",\"name\":\"Example US\",\"domains\":[\"example.com\"],\"locale\":\"en-US\"}");
  import(f, "{\"type\":\"marketplace\",\"id\":\"" MP_B "\",\"name\":\"Example UK\",\"domains\":[\"example.co.uk\"],\"locale\":\"en-GB\"}");
  import(f, "{\"type\":\"seller\",\"id\":\"S1\",\"marketplace\":\"" MP_A "\",\"name\":\"Acme Home\",\"email\":\"s1@acme.test\"}");
  import(f, "{\"type\":\"seller\",\"id\":\"S3\",\"marketplace\":\"" MP_B "\",\"name\":\"Brit Home\",\"email\":\"s3@brit.test\"}");
  import(f, "{\"type\":\"buyer\",\"id\":\"B1\",\"name\":\"Jane\",\"email\":\"jane@mail.test\",\"locale\":\"en-US\"}");
  import(f, "{\"type\":\"buyer\",\"id\":\"B3\",\"name\":\"Jo\",\"email\":\"jo@mail.test\",\"locale\":\"en-GB\"}");
  import(f, "{\"type\":\"order\",\"id\":\"112-0000000-0000001\",\"marketplace\":\"" MP_A "\",\"seller\":\"S1\","
            "\"buyer\":\"B1\",\"status\":\"delivered\",\"purchased_at\":\"2026-10-01T10:00:00Z\","
            "\"delivered_at\":\"2026-10-04T15:30:00Z\",\"items\":[{\"asin\":\"B0C1234567\",\"title\":\"Lamp\","
            "\"quantity\":1,\"price\":\"29.99\",\"currency\":\"USD\"}]}");
  import(f, "{\"type\":\"order\",\"id\":\"202-0000000-0000003\",\"marketplace\":\"" MP_B "\",\"seller\":\"S3\","
            "\"buyer\":\"B3\",\"status\":\"delivered\",\"purchased_at\":\"2026-10-01T10:00:00Z\","
            "\"delivered_at\":\"2026-10-04T15:30:00Z\",\"items\":[{\"asin\":\"B0C7654321\",\"title\":\"Lamp\","
            "\"quantity\":1,\"price\":\"24.99\",\"currency\":\"GBP\"}]}");
  pl_detail d = {0};
  int64_t ag1, ag3;
  assert_int_equal(svc_agent_add(f->s, "S1", "Maya", "owner", &ag1, &d), PL_OK);
  assert_int_equal(svc_agent_add(f->s, "S3", "Ravi", "owner", &ag3, &d), PL_OK);
  f->agent_a = (svc_caller){.kind = ST_PRINCIPAL_AGENT, .seller_id = "S1", .agent_id = ag1,
                            .agent_role = ST_ROLE_OWNER, .marketplace_id = MP_A, .name = "agent:1"};
  f->agent_b = (svc_caller){.kind = ST_PRINCIPAL_AGENT, .seller_id = "S3", .agent_id = ag3,
                            .agent_role = ST_ROLE_OWNER, .marketplace_id = MP_B, .name = "agent:3"};
  f->operator_ = (svc_caller){.kind = ST_PRINCIPAL_OPERATOR, .name = "operator:ops"};
  f->thread_a = start(f, "112-0000000-0000001", "B1");
  f->thread_b = start(f, "202-0000000-0000003", "B3");
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fx *f = *state;
  svc_free(f->s);
  pl_arena_free(f->a);
  char cmd[160];
  snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
  assert_int_equal(system(cmd), 0);
  free(f);
  return 0;
}

/* A seller's reply, held for review; its message id. */
static int64_t held(fx *f, const svc_caller *c, int64_t tid, const char *text, const char *category) {
  f->now += 60; /* within the seller's rate limit */
  svc_send_in in = {.text = text};
  svc_sent m;
  pl_detail d = {0};
  if (svc_send(f->s, c, tid, &in, f->a, &m, &d)) fail_msg("send: %s", d.msg);
  if (m.msg.status != ST_STATUS_HELD_FOR_REVIEW) fail_msg("not held: %s", text);
  bool found = false;
  for (size_t k = 0; k < m.verdict.nfindings; k++) found |= !strcmp(m.verdict.findings[k].category, category);
  if (!found) fail_msg("no %s finding: %s", category, text);
  policy_verdict_free(&m.verdict);
  return m.msg.id;
}

static void decide(fx *f, int64_t id, bool approve) {
  st_message m;
  pl_detail d = {0};
  if (svc_review_decide(f->s, &f->operator_, id, approve, NULL, f->a, &m, &d)) fail_msg("decide: %s", d.msg);
}

/* The verdict on text in a marketplace now; its engine into engine. */
static policy_action verdict(svc *s, const char *mp, const char *text, char engine[48]) {
  svc_caller op = {.kind = ST_PRINCIPAL_OPERATOR, .name = "operator:ops"};
  policy_verdict v;
  pl_detail d = {0};
  pl_arena *a = pl_arena_new();
  if (svc_policy_check(s, &op, text, mp, a, &v, &d)) fail_msg("check: %s", d.msg);
  policy_action act = v.action;
  snprintf(engine, 48, "%s", v.engine);
  policy_verdict_free(&v);
  pl_arena_free(a);
  return act;
}

/* The operator's decisions change the next verdict for that marketplace only, on this
 * node and, after its tick, on another node on the same store. */
static void test_decisions_change_that_marketplace_only(void **state) {
  fx *f = *state;
  svc *other = open_node(f);
  assert_int_equal(svc_cluster_tick(other), PL_OK);
  char ea[48], eb[48], eo[48];
  /* before: held in the uncertain band in both marketplaces, with the shipped model */
  assert_int_equal(verdict(f->s, MP_A, learn_similar, ea), POLICY_REVIEW);
  assert_int_equal(verdict(f->s, MP_B, learn_similar, eb), POLICY_REVIEW);
  assert_int_equal(verdict(other, MP_A, learn_similar, eo), POLICY_REVIEW);
  assert_string_equal(ea, eb);
  char shipped[48];
  snprintf(shipped, sizeof shipped, "%s", ea);
  for (size_t k = 0; k < 5; k++) decide(f, held(f, &f->agent_a, f->thread_a, learn_rejected[k], "promotion"), false);
  /* a hold for a phone number is the rules': approving it teaches nothing */
  decide(f, held(f, &f->agent_a, f->thread_a, "The matching lamp shade is back, call 0161 496 0734 to order it.", "phone"),
         true);
  /* B's operator approves the same kind of message: B's decision, not A's */
  decide(f, held(f, &f->agent_b, f->thread_b, learn_rejected[0], "promotion"), true);
  svc_policy_trained tr;
  pl_detail d = {0};
  assert_int_equal(svc_policy_train(f->s, &f->agent_a, MP_A, &tr, &d), PL_EFORBIDDEN);
  svc_caller op_b = {.kind = ST_PRINCIPAL_OPERATOR, .marketplace_id = MP_B, .name = "operator:b"};
  assert_int_equal(svc_policy_train(f->s, &op_b, MP_A, &tr, &d), PL_ENOTFOUND);
  assert_int_equal(svc_policy_train(f->s, NULL, "NOSUCHMP", &tr, &d), PL_ENOTFOUND);
  assert_int_equal(svc_policy_train(f->s, &f->operator_, MP_A, &tr, &d), PL_OK);
  assert_int_equal(tr.decisions, 5);
  assert_int_equal(tr.violations, 5);
  assert_memory_equal(tr.version, "clf-", 4);
  /* after: found in A, with A's model; B's verdict and engine are as they were */
  assert_int_equal(verdict(f->s, MP_A, learn_similar, ea), POLICY_REJECT);
  assert_non_null(strstr(ea, tr.version));
  assert_int_equal(verdict(f->s, MP_B, learn_similar, eb), POLICY_REVIEW);
  assert_string_equal(eb, shipped);
  char version[17];
  assert_int_equal(svc_policy_model_version(f->s, MP_A, version, &d), PL_OK);
  assert_string_equal(version, tr.version);
  /* the rules are A's as before: the phone number is still held */
  assert_int_equal(verdict(f->s, MP_A, "Call 0161 496 0734 for the matching lamp shade.", ea), POLICY_REVIEW);
  /* the other node keeps what it had until its tick, then loads A's model */
  assert_int_equal(verdict(other, MP_A, learn_similar, eo), POLICY_REVIEW);
  assert_int_equal(svc_cluster_tick(other), PL_OK);
  assert_int_equal(verdict(other, MP_A, learn_similar, eo), POLICY_REJECT);
  assert_non_null(strstr(eo, tr.version));
  assert_int_equal(verdict(other, MP_B, learn_similar, eo), POLICY_REVIEW);
  /* the marketplaces with decisions to learn from */
  char **mps;
  size_t n;
  assert_int_equal(svc_policy_learners(f->s, f->a, &mps, &n, &d), PL_OK);
  assert_int_equal(n, 2);
  svc_free(other);
}

/* What the review queue records: one example a decision on a hold for learned
 * categories, labelled by the decision; none for a hold that involves a rule-only
 * category, whatever else the message has. */
static void test_what_is_recorded(void **state) {
  fx *f = *state;
  decide(f, held(f, &f->agent_a, f->thread_a, learn_rejected[1], "promotion"), true);
  decide(f, held(f, &f->agent_a, f->thread_a, learn_rejected[2], "promotion"), false);
  /* promotion and a phone number in one message: not an example, approved or rejected */
  const char *both = "The matching lantern stand is in stock again, call 0161 496 0734 and it pairs nicely with yours.";
  decide(f, held(f, &f->agent_a, f->thread_a, both, "phone"), true);
  decide(f, held(f, &f->agent_a, f->thread_a, both, "phone"), false);
  store *st = svc_store(f->s);
  st_policy_example *ex;
  size_t n;
  assert_int_equal(store_begin(st, false), PL_OK);
  assert_int_equal(store_policy_example_list(st, MP_A, 10, f->a, &ex, &n), PL_OK);
  st->ops->rollback(st);
  assert_int_equal(n, 2);
  assert_string_equal(ex[0].label, "violation");
  assert_string_equal(ex[0].text, learn_rejected[2]);
  assert_string_equal(ex[0].categories, "[\"promotion\"]");
  assert_string_equal(ex[0].decided_by, "operator:ops");
  assert_string_equal(ex[0].seller_id, "S1");
  assert_string_equal(ex[1].label, "clean");
  assert_string_equal(ex[1].text, learn_rejected[1]);
}

/* A marketplace whose learn_decision_weight is 0 records no decision, and training it
 * gives the shipped model back, whatever it learned before. */
static void test_a_marketplace_that_does_not_learn(void **state) {
  fx *f = *state;
  for (size_t k = 0; k < 5; k++) decide(f, held(f, &f->agent_b, f->thread_b, learn_rejected[k], "promotion"), false);
  svc_policy_trained tr;
  pl_detail d = {0};
  assert_int_equal(svc_policy_train(f->s, NULL, MP_B, &tr, &d), PL_OK);
  assert_int_equal(tr.decisions, 5);
  char engine[48];
  assert_int_equal(verdict(f->s, MP_B, learn_similar, engine), POLICY_REJECT);
  import(f, "{\"type\":\"marketplace\",\"id\":\"" MP_B "\",\"name\":\"Example UK\",\"domains\":[\"example.co.uk\"],"
            "\"locale\":\"en-GB\",\"settings\":{\"learn_decision_weight\":0}}");
  assert_int_equal(svc_policy_train(f->s, NULL, MP_B, &tr, &d), PL_OK);
  assert_int_equal(tr.decisions, 0);
  assert_int_equal(verdict(f->s, MP_B, learn_similar, engine), POLICY_REVIEW);
  char shipped[48];
  assert_int_equal(verdict(f->s, MP_A, learn_similar, shipped), POLICY_REVIEW);
  assert_string_equal(engine, shipped); /* the shipped model, byte for byte */
  /* held again under the shipped model, and rejected: not recorded */
  decide(f, held(f, &f->agent_b, f->thread_b, learn_rejected[0], "promotion"), false);
  store *st = svc_store(f->s);
  st_policy_example *ex;
  size_t n;
  assert_int_equal(store_begin(st, false), PL_OK);
  assert_int_equal(store_policy_example_list(st, MP_B, 10, f->a, &ex, &n), PL_OK);
  st->ops->rollback(st);
  assert_int_equal(n, 5);
}

static const svc_policy_model_status *status_of(const svc_policy_model_status *v, size_t n, const char *mp) {
  for (size_t i = 0; i < n; i++)
    if (!strcmp(v[i].marketplace_id, mp)) return &v[i];
  return NULL;
}

/* What the operator sees of each marketplace's model: the decisions kept, how many came
 * after its own model, which model its messages are checked with; an operator of one
 * marketplace sees that one; a second training while one runs is refused, not queued. */
static void test_model_status_and_one_training_at_a_time(void **state) {
  fx *f = *state;
  svc_policy_model_status *v;
  size_t n;
  pl_detail d = {0};
  assert_int_equal(svc_policy_models(f->s, &f->agent_a, f->a, &v, &n, &d), PL_EFORBIDDEN);
  for (size_t k = 0; k < 3; k++) decide(f, held(f, &f->agent_a, f->thread_a, learn_rejected[k], "promotion"), k != 0);
  assert_int_equal(svc_policy_models(f->s, &f->operator_, f->a, &v, &n, &d), PL_OK);
  assert_int_equal(n, 2);
  assert_string_equal(v[0].marketplace_id, MP_B); /* by id */
  const svc_policy_model_status *a = status_of(v, n, MP_A), *b = status_of(v, n, MP_B);
  assert_non_null(a);
  assert_non_null(b);
  assert_false(a->trained);
  assert_int_equal(a->decisions, 3);
  assert_int_equal(a->violations, 1);
  assert_int_equal(a->new_decisions, 3);
  assert_int_equal(b->decisions, 0);
  assert_string_equal(a->version, a->shipped_version);
  assert_memory_equal(a->shipped_version, "clf-", 4);

  /* a second training while one is under way: refused at once, with when to retry */
  svc_policy_trained tr;
  atomic_store(&f->s->training, true);
  d = (pl_detail){0};
  assert_int_equal(svc_policy_train(f->s, &f->operator_, MP_A, &tr, &d), PL_ERATELIMIT);
  assert_true(d.retry_after > 0);
  atomic_store(&f->s->training, false);
  assert_int_equal(svc_policy_train(f->s, &f->operator_, MP_A, &tr, &d), PL_OK);
  assert_false(atomic_load(&f->s->training)); /* released when it ends */

  f->now += 60;
  decide(f, held(f, &f->agent_a, f->thread_a, learn_rejected[3], "promotion"), false);
  svc_caller op_a = {.kind = ST_PRINCIPAL_OPERATOR, .marketplace_id = MP_A, .name = "operator:a"};
  assert_int_equal(svc_policy_models(f->s, &op_a, f->a, &v, &n, &d), PL_OK);
  assert_int_equal(n, 1);
  assert_string_equal(v[0].marketplace_id, MP_A);
  assert_true(v[0].trained);
  assert_string_equal(v[0].trained_version, tr.version);
  assert_int_equal(v[0].trained_decisions, 3);
  assert_string_equal(v[0].trained_by, "operator:ops");
  assert_string_equal(v[0].version, tr.version); /* checked with its own model now */
  assert_int_equal(v[0].decisions, 4);
  assert_int_equal(v[0].new_decisions, 1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_model_status_and_one_training_at_a_time, setup, teardown),
      cmocka_unit_test_setup_teardown(test_decisions_change_that_marketplace_only, setup, teardown),
      cmocka_unit_test_setup_teardown(test_what_is_recorded, setup, teardown),
      cmocka_unit_test_setup_teardown(test_a_marketplace_that_does_not_learn, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
