/* test_store_rules.c - the store's marketplace rules on every backend: review requests,
 * violations and enforcement, the counts and buckets that limit sellers, held messages,
 * the operator's seller list, shared counters and the write counters. */
#define STORE_PART RULES
#include "store_fixture.h"

/* A second marketplace with its own seller, buyer and an order thread. */
#define MP2 "A1PA6795UKMFR9"

static int64_t other_marketplace(fx *f) {
  W(f);
  st_marketplace m = {.id = MP2, .name = "Example DE", .locale = "de-DE", .domains_json = "[]",
                      .settings_json = "{}"};
  OK(store_marketplace_put(f->s, &m));
  st_seller s3 = {.id = "S3", .marketplace_id = MP2, .name = "Drittladen", .alias = "s3@relay.example.com",
                  .created_at = T0};
  OK(store_seller_put(f->s, &s3));
  st_buyer b3 = {.id = "B3", .name = "Jonas", .locale = "de-DE", .email_hash = "h-b3"};
  OK(store_buyer_put(f->s, &b3));
  st_item it = {.asin = "B0DE000001", .title = "Ding", .quantity = 1};
  st_order o = {.id = "303-1", .marketplace_id = MP2, .seller_id = "S3", .buyer_id = "B3",
                .status = ST_ORDER_SHIPPED, .purchased_at = T0, .updated_at = T0, .nitems = 1, .items = &it};
  OK(store_order_put(f->s, &o));
  st_thread t = {.seller_id = "S3", .buyer_id = "B3", .marketplace_id = MP2, .order_id = "303-1",
                 .topic = "other", .created_at = T0, .last_message_at = T0};
  OK(OP(f, thread_insert)(f->s, &t));
  C(f);
  return t.id;
}

/* One review request per order; its time reads back, other orders have none. */
static void test_review_requests(void **state) {
  fx *f = *state;
  world(f);
  put_order(f, "112-1", "S1", "B1", "B0AAA00001", T0);
  put_order(f, "112-2", "S1", "B2", "B0AAA00002", T0);
  int64_t t = new_thread(f, "S1", "B1", "112-1", NULL, T0);
  pl_time at;
  R(f);
  assert_int_equal(store_review_request_get(f->s, "112-1", &at), PL_ENOTFOUND);
  RB(f);
  W(f);
  st_message m = {.thread_id = t, .seller_id = "S1", .direction = ST_DIR_SELLER, .kind = ST_KIND_REVIEW_REQUEST,
                  .text = "How was it?", .at = T0 + 100, .proactive = true};
  OK(OP(f, message_insert)(f->s, &m));
  OK(store_review_request_put(f->s, "112-1", "S1", m.id, T0 + 100));
  /* a second one for the order is refused, and the transaction goes on */
  assert_int_equal(store_review_request_put(f->s, "112-1", "S1", m.id, T0 + 200), PL_EEXIST);
  OK(store_review_request_get(f->s, "112-1", &at));
  assert_int_equal(at, T0 + 100);
  C(f);
  R(f);
  at = 0;
  OK(store_review_request_get(f->s, "112-1", &at));
  assert_int_equal(at, T0 + 100);
  assert_int_equal(store_review_request_get(f->s, "112-2", &at), PL_ENOTFOUND);
  assert_int_equal(store_review_request_get(f->s, "112-9", &at), PL_ENOTFOUND);
  RB(f);
  /* a rolled-back request leaves the order free */
  W(f);
  OK(store_review_request_put(f->s, "112-2", "S1", m.id, T0 + 300));
  RB(f);
  R(f);
  assert_int_equal(store_review_request_get(f->s, "112-2", &at), PL_ENOTFOUND);
  RB(f);
}

/* Violations: newest first, since a time, at most limit, only the seller's own. */
static void test_violations(void **state) {
  fx *f = *state;
  world(f);
  put_order(f, "112-1", "S1", "B1", "B0AAA00001", T0);
  int64_t t = new_thread(f, "S1", "B1", "112-1", NULL, T0);
  W(f);
  int64_t msg = add_msg(f, t, "S1", ST_DIR_SELLER, "visit my shop at example.org", ST_STATUS_REJECTED, T0);
  st_violation v[] = {
      {.seller_id = "S1", .category = "external_link", .severity = ST_SEVERITY_MINOR, .rule = "links.external",
       .message_id = msg, .at = T0 + 10},
      {.seller_id = "S1", .category = "contact_info", .severity = ST_SEVERITY_SEVERE, .rule = "contact.email",
       .at = T0 + 30},
      {.seller_id = "S2", .category = "marketing", .severity = ST_SEVERITY_MINOR, .rule = "marketing.coupon",
       .at = T0 + 40},
      {.seller_id = "S1", .category = "marketing", .severity = ST_SEVERITY_MINOR, .rule = "marketing.coupon",
       .at = T0 + 20},
  };
  int64_t prev = 0;
  for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
    OK(store_violation_add(f->s, &v[i]));
    assert_true(v[i].id > prev);
    prev = v[i].id;
  }
  C(f);
  R(f);
  st_violation *l;
  size_t n;
  OK(store_violation_list(f->s, "S1", 0, 10, f->a, &l, &n));
  assert_int_equal(n, 3);
  assert_int_equal(l[0].id, v[1].id);
  assert_string_equal(l[0].category, "contact_info");
  assert_int_equal(l[0].severity, ST_SEVERITY_SEVERE);
  assert_string_equal(l[0].rule, "contact.email");
  assert_int_equal(l[0].message_id, 0);
  assert_int_equal(l[0].at, T0 + 30);
  assert_int_equal(l[1].id, v[3].id);
  assert_int_equal(l[2].id, v[0].id);
  assert_int_equal(l[2].message_id, msg);
  for (size_t i = 0; i < n; i++) assert_string_equal(l[i].seller_id, "S1");
  /* since is inclusive */
  OK(store_violation_list(f->s, "S1", T0 + 20, 10, f->a, &l, &n));
  assert_int_equal(n, 2);
  OK(store_violation_list(f->s, "S1", 0, 1, f->a, &l, &n));
  assert_int_equal(n, 1);
  assert_int_equal(l[0].id, v[1].id);
  OK(store_violation_list(f->s, "S2", 0, 10, f->a, &l, &n));
  assert_int_equal(n, 1);
  assert_string_equal(l[0].rule, "marketing.coupon");
  OK(store_violation_list(f->s, "S9", 0, 10, f->a, &l, &n));
  assert_int_equal(n, 0);
  RB(f);
}

/* Enforcement: none until put; a put replaces every field; sellers do not share it. */
static void test_enforcement(void **state) {
  fx *f = *state;
  world(f);
  st_enforcement e;
  R(f);
  assert_int_equal(store_enforcement_get(f->s, "S1", f->a, &e), PL_ENOTFOUND);
  RB(f);
  st_enforcement put = {.seller_id = "S1", .warnings = 2, .restricted_until = T0 + 86400,
                        .restriction_reason = "three severe violations", .quota_per_day = 50,
                        .quota_until = T0 + 7 * 86400, .quota_reason = "high message volume",
                        .suspension_flag = true, .suspension_reason = "repeat offender",
                        .updated_at = T0};
  W(f);
  OK(store_enforcement_put(f->s, &put));
  C(f);
  R(f);
  OK(store_enforcement_get(f->s, "S1", f->a, &e));
  assert_string_equal(e.seller_id, "S1");
  assert_int_equal(e.warnings, 2);
  assert_int_equal(e.restricted_until, T0 + 86400);
  assert_string_equal(e.restriction_reason, "three severe violations");
  assert_int_equal(e.quota_per_day, 50);
  assert_int_equal(e.quota_until, T0 + 7 * 86400);
  assert_string_equal(e.quota_reason, "high message volume");
  assert_true(e.suspension_flag);
  assert_string_equal(e.suspension_reason, "repeat offender");
  assert_int_equal(e.updated_at, T0);
  assert_int_equal(store_enforcement_get(f->s, "S2", f->a, &e), PL_ENOTFOUND);
  RB(f);
  /* lifted: the reasons go with the restrictions */
  st_enforcement lifted = {.seller_id = "S1", .warnings = 3, .updated_at = T0 + 100};
  W(f);
  OK(store_enforcement_put(f->s, &lifted));
  C(f);
  R(f);
  OK(store_enforcement_get(f->s, "S1", f->a, &e));
  assert_int_equal(e.warnings, 3);
  assert_int_equal(e.restricted_until, 0);
  assert_null(e.restriction_reason);
  assert_int_equal(e.quota_per_day, 0);
  assert_null(e.quota_reason);
  assert_false(e.suspension_flag);
  assert_null(e.suspension_reason);
  assert_int_equal(e.updated_at, T0 + 100);
  RB(f);
}

/* The seller's sent messages since a time (notes and buyer messages never count), and
 * of those the seller-initiated ones. */
static void test_seller_message_count(void **state) {
  fx *f = *state;
  world(f);
  put_order(f, "112-1", "S1", "B1", "B0AAA00001", T0);
  put_order(f, "112-2", "S2", "B1", "B0AAA00002", T0);
  int64_t t = new_thread(f, "S1", "B1", "112-1", NULL, T0);
  int64_t u = new_thread(f, "S2", "B1", "112-2", NULL, T0);
  W(f);
  struct {
    int64_t thread;
    const char *seller;
    st_direction dir;
    st_msg_kind kind;
    bool proactive;
    pl_time at;
  } msgs[] = {
      {t, "S1", ST_DIR_SELLER, ST_KIND_MESSAGE, true, T0 + 10},   {t, "S1", ST_DIR_SELLER, ST_KIND_MESSAGE, false, T0 + 20},
      {t, "S1", ST_DIR_SELLER, ST_KIND_AUTO_REPLY, false, T0 + 30}, {t, "S1", ST_DIR_SELLER, ST_KIND_NOTE, false, T0 + 40},
      {t, "S1", ST_DIR_BUYER, ST_KIND_MESSAGE, false, T0 + 50},   {t, "S1", ST_DIR_SELLER, ST_KIND_REVIEW_REQUEST, true, T0 + 60},
      {u, "S2", ST_DIR_SELLER, ST_KIND_MESSAGE, true, T0 + 70},
  };
  for (size_t i = 0; i < sizeof msgs / sizeof msgs[0]; i++) {
    st_message m = {.thread_id = msgs[i].thread, .seller_id = (char *)msgs[i].seller,
                    .direction = msgs[i].dir, .kind = msgs[i].kind, .text = "x",
                    .proactive = msgs[i].proactive, .at = msgs[i].at};
    OK(OP(f, message_insert)(f->s, &m));
  }
  C(f);
  R(f);
  int64_t n = -1;
  OK(store_seller_message_count(f->s, "S1", 0, false, &n));
  assert_int_equal(n, 4);
  OK(store_seller_message_count(f->s, "S1", 0, true, &n));
  assert_int_equal(n, 2);
  OK(store_seller_message_count(f->s, "S1", T0 + 20, false, &n)); /* since is inclusive */
  assert_int_equal(n, 3);
  OK(store_seller_message_count(f->s, "S1", T0 + 20, true, &n));
  assert_int_equal(n, 1);
  OK(store_seller_message_count(f->s, "S1", T0 + 61, false, &n));
  assert_int_equal(n, 0);
  OK(store_seller_message_count(f->s, "S2", 0, false, &n));
  assert_int_equal(n, 1);
  OK(store_seller_message_count(f->s, "S9", 0, false, &n));
  assert_int_equal(n, 0);
  RB(f);
}

/* rate_bucket_get/put: the store keeps a bucket's row; the arithmetic is the service's
 * (tests/unit/service/test_service_bucket.c). */
static void test_rate_bucket(void **state) {
  fx *f = *state;
  world(f);
  double tokens, at;
  W(f);
  /* a bucket never written reads as the caller's fresh values */
  OK(OP(f, rate_bucket_get)(f->s, "S1", "send", 2.0, 100.0, &tokens, &at));
  assert_true(tokens == 2.0 && at == 100.0);
  OK(OP(f, rate_bucket_put)(f->s, "S1", "send", 0.1 + 0.2, 1791190800.123456));
  /* written: the fresh values no longer count, and the doubles come back exactly */
  OK(OP(f, rate_bucket_get)(f->s, "S1", "send", 2.0, 200.0, &tokens, &at));
  assert_true(tokens == 0.1 + 0.2 && at == 1791190800.123456);
  /* another operation, another party: their own buckets */
  OK(OP(f, rate_bucket_get)(f->s, "S1", "upload", 5.0, 300.0, &tokens, &at));
  assert_true(tokens == 5.0 && at == 300.0);
  OK(OP(f, rate_bucket_get)(f->s, "buyer:B1", "send", 7.0, 300.0, &tokens, &at));
  assert_true(tokens == 7.0 && at == 300.0);
  C(f);
  /* written again (an update of the row), then rolled back: the committed row stays */
  W(f);
  OK(OP(f, rate_bucket_put)(f->s, "S1", "send", 1.5, 1791190801.0));
  OK(OP(f, rate_bucket_get)(f->s, "S1", "send", 2.0, 0.0, &tokens, &at));
  assert_true(tokens == 1.5 && at == 1791190801.0);
  RB(f);
  W(f);
  OK(OP(f, rate_bucket_get)(f->s, "S1", "send", 2.0, 0.0, &tokens, &at));
  assert_true(tokens == 0.1 + 0.2 && at == 1791190800.123456);
  C(f);
}

/* Two stores on one database, as two nodes, each with threads: every read-modify-write
 * of one bucket in its own transaction, none lost. A bucket read and not written back
 * must still be held: all begin on a bucket that does not exist yet. */
enum { BUCKET_THREADS = 4, BUCKET_ROUNDS = 25 };

typedef struct {
  fx *f;
  store *s;
  int errors;
} bucket_worker;

static void *bucket_work(void *arg) {
  bucket_worker *w = arg;
  for (int i = 0; i < BUCKET_ROUNDS; i++) {
    double tokens, at;
    if (store_begin(w->s, true)) {
      w->errors++;
      continue;
    }
    pl_err e = OP(w->f, rate_bucket_get)(w->s, "S1", "send", 1000.0, 50.0, &tokens, &at);
    if (!e) usleep(200); /* widen the window another taker would slip through */
    if (!e) e = OP(w->f, rate_bucket_put)(w->s, "S1", "send", tokens - 1.0, at + 1.0);
    if (e) {
      store_rollback(w->s);
      w->errors++;
    } else if (store_commit(w->s)) {
      w->errors++;
    }
  }
  return NULL;
}

static void test_rate_bucket_concurrent(void **state) {
  fx *f = *state;
  world(f);
  store *other;
  pl_detail d = {0};
  OK(store_open(f->url, &other, &d));
  pthread_t th[BUCKET_THREADS];
  bucket_worker w[BUCKET_THREADS];
  for (int i = 0; i < BUCKET_THREADS; i++) {
    w[i] = (bucket_worker){.f = f, .s = i % 2 ? other : f->s};
    assert_int_equal(pthread_create(&th[i], NULL, bucket_work, &w[i]), 0);
  }
  for (int i = 0; i < BUCKET_THREADS; i++) pthread_join(th[i], NULL);
  store_close(other);
  for (int i = 0; i < BUCKET_THREADS; i++) assert_int_equal(w[i].errors, 0);
  double tokens, at;
  W(f);
  OK(OP(f, rate_bucket_get)(f->s, "S1", "send", 0.0, 0.0, &tokens, &at));
  C(f);
  assert_true(tokens == 1000.0 - BUCKET_THREADS * BUCKET_ROUNDS);
  assert_true(at == 50.0 + BUCKET_THREADS * BUCKET_ROUNDS);
}

/* Held messages, oldest first, of one marketplace or of all; released ones leave. */
static void test_held_list(void **state) {
  fx *f = *state;
  world(f);
  put_order(f, "112-1", "S1", "B1", "B0AAA00001", T0);
  int64_t t = new_thread(f, "S1", "B1", "112-1", NULL, T0);
  int64_t t3 = other_marketplace(f);
  W(f);
  int64_t h1 = add_msg(f, t, "S1", ST_DIR_SELLER, "held one", ST_STATUS_HELD_FOR_REVIEW, T0 + 30);
  int64_t h3 = add_msg(f, t3, "S3", ST_DIR_SELLER, "held abroad", ST_STATUS_HELD_FOR_REVIEW, T0 + 20);
  int64_t h2 = add_msg(f, t, "S1", ST_DIR_SELLER, "held two", ST_STATUS_HELD_FOR_REVIEW, T0 + 40);
  add_msg(f, t, "S1", ST_DIR_SELLER, "delivered", ST_STATUS_DELIVERED, T0 + 10);
  add_msg(f, t, "S1", ST_DIR_BUYER, "question", ST_STATUS_DELIVERED, T0 + 5);
  C(f);
  R(f);
  st_message *l;
  size_t n;
  OK(store_held_list(f->s, NULL, 10, f->a, &l, &n));
  assert_int_equal(n, 3);
  assert_int_equal(l[0].id, h3);
  assert_int_equal(l[1].id, h1);
  assert_int_equal(l[2].id, h2);
  assert_string_equal(l[1].text, "held one");
  assert_int_equal(l[1].status, ST_STATUS_HELD_FOR_REVIEW);
  assert_string_equal(l[1].seller_id, "S1");
  assert_int_equal(l[1].thread_id, t);
  OK(store_held_list(f->s, MP, 10, f->a, &l, &n));
  assert_int_equal(n, 2);
  assert_int_equal(l[0].id, h1);
  OK(store_held_list(f->s, MP2, 10, f->a, &l, &n));
  assert_int_equal(n, 1);
  assert_int_equal(l[0].id, h3);
  OK(store_held_list(f->s, NULL, 2, f->a, &l, &n));
  assert_int_equal(n, 2);
  assert_int_equal(l[1].id, h1);
  RB(f);
  /* approved: no longer held */
  W(f);
  st_event ev = {.message_id = h1, .thread_id = t, .seller_id = "S1", .type = ST_EVENT_STATUS,
                 .value = "delivered", .actor = "operator:ops", .at = T0 + 50};
  OK(OP(f, event_insert)(f->s, &ev));
  C(f);
  R(f);
  OK(store_held_list(f->s, MP, 10, f->a, &l, &n));
  assert_int_equal(n, 1);
  assert_int_equal(l[0].id, h2);
  RB(f);
}

/* The operator's seller list: by id, of one marketplace or of all. */
static void test_seller_list(void **state) {
  fx *f = *state;
  world(f);
  other_marketplace(f);
  R(f);
  st_seller *l;
  size_t n;
  OK(store_seller_list(f->s, NULL, f->a, &l, &n));
  assert_int_equal(n, 3);
  assert_string_equal(l[0].id, "S1");
  assert_string_equal(l[0].name, "Acme Tools");
  assert_string_equal(l[0].alias, "s1@relay.example.com");
  assert_string_equal(l[0].marketplace_id, MP);
  assert_int_equal(l[0].created_at, T0);
  assert_string_equal(l[1].id, "S2");
  assert_string_equal(l[2].id, "S3");
  OK(store_seller_list(f->s, MP2, f->a, &l, &n));
  assert_int_equal(n, 1);
  assert_string_equal(l[0].id, "S3");
  assert_string_equal(l[0].marketplace_id, MP2);
  OK(store_seller_list(f->s, MP, f->a, &l, &n));
  assert_int_equal(n, 2);
  OK(store_seller_list(f->s, "NOPE", f->a, &l, &n));
  assert_int_equal(n, 0);
  RB(f);
}

/* Shared counters: 0 until bumped, one more a bump, a rolled-back bump undone. */
static void test_shared_counters(void **state) {
  fx *f = *state;
  int64_t v = -1;
  R(f);
  OK(store_counter(f->s, "policy.generation", false, &v));
  assert_int_equal(v, 0);
  RB(f);
  W(f);
  OK(store_counter(f->s, "policy.generation", true, &v));
  assert_int_equal(v, 1);
  OK(store_counter(f->s, "policy.generation", true, &v));
  assert_int_equal(v, 2);
  OK(store_counter(f->s, "other", true, &v));
  assert_int_equal(v, 1);
  C(f);
  W(f);
  OK(store_counter(f->s, "policy.generation", true, &v));
  assert_int_equal(v, 3);
  RB(f);
  R(f);
  OK(store_counter(f->s, "policy.generation", false, &v));
  assert_int_equal(v, 2);
  OK(store_counter(f->s, "other", false, &v));
  assert_int_equal(v, 1);
  RB(f);
}

/* Learning from the operator: one example a message, the newest kept per marketplace,
 * listed newest first and only the marketplace's own; a model per marketplace, replaced
 * by the next, read with or without its bytes. */
static void test_policy_learning(void **state) {
  fx *f = *state;
  W(f);
  st_marketplace mk = {.id = MP2, .name = "Example DE", .locale = "de-DE", .domains_json = "[]", .settings_json = "{}"};
  OK(store_marketplace_put(f->s, &mk));
  mk.id = MP, mk.name = "Example US", mk.locale = "en-US";
  OK(store_marketplace_put(f->s, &mk));
  for (int k = 1; k <= 5; k++) {
    st_policy_example e = {.marketplace_id = MP, .seller_id = "S1", .message_id = 100 + k,
                           .label = k % 2 ? "violation" : "clean", .categories = "[\"promotion\"]",
                           .text = pl_arena_printf(f->a, "text %d", k), .decided_by = "operator:o", .decided_at = T0 + k};
    OK(store_policy_example_add(f->s, &e, 3));
    assert_true(e.id > 0);
  }
  st_policy_example again = {.marketplace_id = MP, .seller_id = "S1", .message_id = 105, .label = "clean",
                             .categories = "[]", .text = "x", .decided_by = "operator:o", .decided_at = T0};
  assert_int_equal(store_policy_example_add(f->s, &again, 3), PL_EEXIST);
  st_policy_example other = {.marketplace_id = "A1PA6795UKMFR9", .seller_id = "S3", .message_id = 900,
                             .label = "violation", .categories = "[\"profanity\"]", .text = "other", .decided_by = "op",
                             .decided_at = T0};
  OK(store_policy_example_add(f->s, &other, 3));
  C(f);
  R(f);
  st_policy_example *l;
  size_t n;
  OK(store_policy_example_list(f->s, MP, 10, f->a, &l, &n));
  assert_int_equal(n, 3); /* the two oldest went */
  assert_int_equal(l[0].message_id, 105);
  assert_string_equal(l[0].text, "text 5");
  assert_string_equal(l[0].label, "violation");
  assert_string_equal(l[0].categories, "[\"promotion\"]");
  assert_string_equal(l[0].decided_by, "operator:o");
  assert_int_equal(l[0].decided_at, T0 + 5);
  assert_string_equal(l[0].seller_id, "S1");
  assert_int_equal(l[2].message_id, 103);
  OK(store_policy_example_list(f->s, MP, 1, f->a, &l, &n));
  assert_int_equal(n, 1);
  OK(store_policy_example_list(f->s, "A1PA6795UKMFR9", 10, f->a, &l, &n));
  assert_int_equal(n, 1);
  assert_string_equal(l[0].text, "other");
  OK(store_policy_example_list(f->s, "NONE", 10, f->a, &l, &n));
  assert_int_equal(n, 0);
  char **mps;
  OK(store_policy_example_marketplaces(f->s, f->a, &mps, &n));
  assert_int_equal(n, 2);
  assert_string_equal(mps[0], "A1PA6795UKMFR9");
  assert_string_equal(mps[1], MP);
  /* what is kept: 103 (violation), 104 (clean), 105 (violation), decided at T0 + 3..5 */
  st_policy_example_counts cn;
  OK(store_policy_example_counts(f->s, MP, T0 + 3, &cn));
  assert_int_equal(cn.total, 3);
  assert_int_equal(cn.violations, 2);
  assert_int_equal(cn.since, 2);
  OK(store_policy_example_counts(f->s, MP, 0, &cn));
  assert_int_equal(cn.since, 3);
  OK(store_policy_example_counts(f->s, "NONE", 0, &cn));
  assert_int_equal(cn.total + cn.violations + cn.since, 0);
  OK(store_marketplace_ids(f->s, f->a, &mps, &n));
  assert_int_equal(n, 2); /* byte order: "A1..." before "AT..." */
  assert_string_equal(mps[0], MP2);
  assert_string_equal(mps[1], MP);
  st_policy_model m;
  assert_int_equal(store_policy_model_get(f->s, MP, true, f->a, &m), PL_ENOTFOUND);
  RB(f);
  W(f);
  st_policy_model put = {.marketplace_id = MP, .version = "clf-000000000001", .model = "UExDTEYwMDE=",
                         .examples = 3, .trained_by = "operator:cli", .trained_at = T0};
  OK(store_policy_model_put(f->s, &put));
  put.version = "clf-000000000002", put.model = "UExDTEYwMDI=", put.examples = 4, put.trained_at = T0 + 60;
  OK(store_policy_model_put(f->s, &put));
  C(f);
  R(f);
  OK(store_policy_model_get(f->s, MP, true, f->a, &m));
  assert_string_equal(m.version, "clf-000000000002");
  assert_string_equal(m.model, "UExDTEYwMDI=");
  assert_int_equal(m.examples, 4);
  assert_string_equal(m.trained_by, "operator:cli");
  assert_int_equal(m.trained_at, T0 + 60);
  OK(store_policy_model_get(f->s, MP, false, f->a, &m));
  assert_string_equal(m.version, "clf-000000000002");
  assert_null(m.model);
  assert_int_equal(store_policy_model_get(f->s, "A1PA6795UKMFR9", false, f->a, &m), PL_ENOTFOUND);
  RB(f);
}

/* Write counters: SQLite counts committed write transactions, their batches and flushes;
 * a read-only transaction counts nothing. PostgreSQL has none of its own. */
static void test_write_counters(void **state) {
  fx *f = *state;
  if (f->pg) {
    OP_ABSENT(f, counters);
    return;
  }
  st_counters a = {0}, b = {0};
  OP(f, counters)(f->s, &a);
  world(f); /* one write transaction */
  OP(f, counters)(f->s, &b);
  assert_int_equal(b.commits - a.commits, 1);
  assert_int_equal(b.batches - a.batches, 1);
  assert_int_equal(b.syncs - a.syncs, 1);
  R(f);
  st_buyer g;
  OK(store_buyer_get(f->s, "B1", NULL, f->a, &g));
  RB(f);
  W(f);
  OK(store_buyer_get(f->s, "B1", NULL, f->a, &g));
  RB(f); /* rolled back: not a commit */
  OP(f, counters)(f->s, &a);
  assert_int_equal(a.commits, b.commits);
  assert_int_equal(a.syncs, b.syncs);
}

#define PART_TESTS(setup)                                                    \
  cmocka_unit_test_setup_teardown(test_review_requests, setup, teardown),     \
  cmocka_unit_test_setup_teardown(test_violations, setup, teardown),          \
  cmocka_unit_test_setup_teardown(test_enforcement, setup, teardown),         \
  cmocka_unit_test_setup_teardown(test_seller_message_count, setup, teardown), \
  cmocka_unit_test_setup_teardown(test_rate_bucket, setup, teardown),         \
  cmocka_unit_test_setup_teardown(test_rate_bucket_concurrent, setup, teardown), \
  cmocka_unit_test_setup_teardown(test_held_list, setup, teardown),           \
  cmocka_unit_test_setup_teardown(test_seller_list, setup, teardown),         \
  cmocka_unit_test_setup_teardown(test_shared_counters, setup, teardown),     \
  cmocka_unit_test_setup_teardown(test_write_counters, setup, teardown),      \
  cmocka_unit_test_setup_teardown(test_policy_learning, setup, teardown),     \
  cmocka_unit_test(test_every_entry_called)

int main(void) {
  const struct CMUnitTest sqlite_tests[] = {PART_TESTS(setup_sqlite)};
  int rc = cmocka_run_group_tests_name("store_rules.sqlite", sqlite_tests, reset_calls, NULL);
  pg_base = getenv("PARLEY_TEST_PG_URL");
  if (!pg_base || !*pg_base) {
    printf("store_rules.pg: skipped (set PARLEY_TEST_PG_URL, see scripts/pg-test.sh)\n");
    return rc;
  }
  const struct CMUnitTest pg_tests[] = {PART_TESTS(setup_pg)};
  return rc | cmocka_run_group_tests_name("store_rules.pg", pg_tests, reset_calls, NULL);
}
