/* test_store.c - conformance suite of the store interface, run against every backend.
 *
 * The same tests run on SQLite (a temporary file) and, when PARLEY_TEST_PG_URL names a
 * PostgreSQL server (scripts/pg-test.sh), on a fresh database of that server per test:
 * the parties, orders, threads and messages, their error codes, the append-only record,
 * the audit chain, the inbox query, limits, idempotency keys and attachments, and
 * transactions from several threads at once, and exec, the entry every function written
 * once runs its statements through. The other entries of store_ops and functions of
 * store.h have their parts: test_store_rules.c, _sla.c, _mail.c and _team.c
 * (store_fixture.h). */
#define STORE_PART CORE
#include "store_fixture.h"
#include "store/store_shared.h"
#include "../names_check.h"

/* ---- state names ---------------------------------------------------------------------- */

/* Every named state of store.h: the names are the text of the columns and of the API. */
static void test_state_names(void **state) {
  (void)state;
  NAMES_CHECK(st_direction, {ST_DIR_BUYER, "buyer"}, {ST_DIR_SELLER, "seller"});
  NAMES_CHECK(st_msg_kind, {ST_KIND_MESSAGE, "message"}, {ST_KIND_AUTO_REPLY, "auto_reply"},
              {ST_KIND_REVIEW_REQUEST, "review_request"}, {ST_KIND_NOTE, "note"});
  NAMES_CHECK(st_msg_status, {ST_STATUS_DELIVERED, "delivered"}, {ST_STATUS_NOT_DELIVERED, "not_delivered"},
              {ST_STATUS_HELD_FOR_REVIEW, "held_for_review"}, {ST_STATUS_REJECTED, "rejected"},
              {ST_STATUS_FAILED, "failed"});
  NAMES_CHECK(st_order_status, {ST_ORDER_PENDING, "pending"}, {ST_ORDER_SHIPPED, "shipped"},
              {ST_ORDER_DELIVERED, "delivered"}, {ST_ORDER_CANCELED, "canceled"});
  NAMES_CHECK(st_outbox_kind, {ST_OUTBOX_FORWARD, "forward"}, {ST_OUTBOX_REFUSAL, "refusal"},
              {ST_OUTBOX_NOTICE, "notice"});
  NAMES_CHECK(st_outbox_state, {ST_OUTBOX_PENDING, "pending"}, {ST_OUTBOX_SENT, "sent"},
              {ST_OUTBOX_FAILED, "failed"});
  NAMES_CHECK(st_principal_kind, {ST_PRINCIPAL_OPERATOR, "operator"}, {ST_PRINCIPAL_AGENT, "agent"},
              {ST_PRINCIPAL_BUYER, "buyer"});
  NAMES_CHECK(st_agent_role, {ST_ROLE_OWNER, "owner"}, {ST_ROLE_AGENT, "agent"}, {ST_ROLE_READ_ONLY, "read_only"});
  NAMES_CHECK(st_token_scope, {ST_SCOPE_API, "api"}, {ST_SCOPE_SESSION, "session"}, {ST_SCOPE_SPAPI, "spapi"});
  NAMES_CHECK(st_event_type, {ST_EVENT_STATUS, "status"}, {ST_EVENT_FLAG, "flag"});
  NAMES_CHECK(st_severity, {ST_SEVERITY_MINOR, "minor"}, {ST_SEVERITY_SEVERE, "severe"});
  NAMES_CHECK(st_doc_kind, {ST_DOC_TEMPLATE, "template"}, {ST_DOC_RULE, "rule"}, {ST_DOC_PROPOSAL, "proposal"},
              {ST_DOC_FIRING, "firing"});
  NAMES_CHECK(st_proposal_state, {ST_PROPOSAL_PENDING, "pending"}, {ST_PROPOSAL_SENT, "sent"},
              {ST_PROPOSAL_DISCARDED, "discarded"});
  /* who only can write */
  assert_true(st_agent_role_writes(ST_ROLE_OWNER) && st_agent_role_writes(ST_ROLE_AGENT));
  assert_false(st_agent_role_writes(ST_ROLE_READ_ONLY) || st_agent_role_writes(ST_ROLE_NONE));
}
/* ---- the thin part ----------------------------------------------------------------------- */

/* exec, the one entry the shared files run their statements through, on both backends: a
 * statement's rows ignored, counted as changed, read one or all through a column table;
 * SQL NULL from a NULL text; PostgreSQL's own text where a statement has one; a refused
 * row. */
static void test_exec(void **state) {
  fx *f = *state;
  world(f);
  static const st_stmt rename = {.sql = "UPDATE marketplaces SET name = ?1 WHERE id = ?2"};
  static const st_stmt get = {.sql = "SELECT id, name, locale, domains, settings FROM marketplaces WHERE id = ?1"};
  static const st_stmt all = {.sql = "SELECT id, name, locale, domains, settings FROM marketplaces"
                                     " WHERE CAST(?1 AS TEXT) IS NULL OR id = ?1 ORDER BY id"};
  static const st_stmt own = {.sql = "SELECT id, name, locale, domains, settings FROM marketplaces WHERE id = ?1",
                              .pg = "SELECT id, 'pg:' || name, locale, domains, settings FROM marketplaces WHERE id = $1"};
  static const st_stmt dup = {.sql = "INSERT INTO marketplaces(id, name, locale, domains, settings)"
                                     " VALUES (?1, 'x', 'en-US', '[]', '{}')"};
  W(f);
  size_t n = 99;
  OK(OP(f, exec)(f->s, &rename, ST_ARGS(ST_ARG_T("Renamed"), ST_ARG_T(MP)), NULL, NULL, NULL, &n));
  assert_int_equal(n, 1);
  OK(OP(f, exec)(f->s, &rename, ST_ARGS(ST_ARG_T("Renamed"), ST_ARG_T("NOPE")), NULL, NULL, NULL, &n));
  assert_int_equal(n, 0);
  OK(OP(f, exec)(f->s, &rename, ST_ARGS(ST_ARG_T("Renamed"), ST_ARG_T("NOPE")), NULL, NULL, NULL, NULL));
  st_marketplace m;
  OK(OP(f, exec)(f->s, &get, ST_ARGS(ST_ARG_T(MP)), &st_marketplace_row, f->a, &m, NULL));
  assert_string_equal(m.name, "Renamed");
  assert_string_equal(m.domains_json, "[\"example.com\"]");
  assert_int_equal(OP(f, exec)(f->s, &get, ST_ARGS(ST_ARG_T("NOPE")), &st_marketplace_row, f->a, &m, NULL),
                   PL_ENOTFOUND);
  st_marketplace *ms = NULL;
  OK(OP(f, exec)(f->s, &all, ST_ARGS(ST_ARG_T(NULL)), &st_marketplace_row, f->a, &ms, &n));
  assert_true(n >= 1);
  for (size_t i = 1; i < n; i++) assert_true(strcmp(ms[i - 1].id, ms[i].id) < 0);
  OK(OP(f, exec)(f->s, &all, ST_ARGS(ST_ARG_T(MP)), &st_marketplace_row, f->a, &ms, &n));
  assert_int_equal(n, 1);
  assert_string_equal(ms[0].id, MP);
  OK(OP(f, exec)(f->s, &own, ST_ARGS(ST_ARG_T(MP)), &st_marketplace_row, f->a, &m, NULL));
  assert_string_equal(m.name, f->pg ? "pg:Renamed" : "Renamed");
  /* last: a refused row leaves a PostgreSQL transaction able only to roll back */
  assert_int_equal(OP(f, exec)(f->s, &dup, ST_ARGS(ST_ARG_T(MP)), NULL, NULL, NULL, NULL), PL_EEXIST);
  RB(f);
  R(f);
  OK(OP(f, exec)(f->s, &get, ST_ARGS(ST_ARG_T(MP)), &st_marketplace_row, f->a, &m, NULL));
  assert_string_equal(m.name, "Example US"); /* rolled back */
  RB(f);
}

/* ---- parties -------------------------------------------------------------------------- */

static void test_parties(void **state) {
  fx *f = *state;
  world(f);
  R(f);
  st_marketplace m;
  OK(store_marketplace_get(f->s, MP, f->a, &m));
  assert_string_equal(m.name, "Example US");
  assert_string_equal(m.domains_json, "[\"example.com\"]");
  assert_int_equal(store_marketplace_get(f->s, "NOPE", f->a, &m), PL_ENOTFOUND);
  st_seller sl;
  OK(store_seller_get(f->s, "S1", NULL, f->a, &sl));
  assert_string_equal(sl.alias, "s1@relay.example.com");
  assert_string_equal(sl.email_sealed, "sealed1");
  assert_int_equal(sl.created_at, T0);
  OK(store_seller_get(f->s, "S2", NULL, f->a, &sl));
  assert_null(sl.email_sealed);
  assert_int_equal(store_seller_get(f->s, "S9", NULL, f->a, &sl), PL_ENOTFOUND);
  st_buyer b;
  OK(store_buyer_get(f->s, "B2", NULL, f->a, &b));
  assert_true(b.opt_out);
  assert_string_equal(b.locale, "es-US");
  assert_string_equal(b.email_hash, "h2");
  OK(store_buyer_get(f->s, "B1", NULL, f->a, &b));
  assert_false(b.opt_out);
  assert_int_equal(store_buyer_get(f->s, "B9", NULL, f->a, &b), PL_ENOTFOUND);
  RB(f);

  /* Upserts: a seller keeps its marketplace, alias and creation time. */
  W(f);
  m.name = "Renamed";
  OK(store_marketplace_put(f->s, &m));
  st_seller s1 = {.id = "S1", .marketplace_id = MP, .name = "Acme 2", .email_sealed = "sealed2",
                  .alias = "other@relay.example.com", .created_at = T0 + 99};
  OK(store_seller_put(f->s, &s1));
  st_buyer b1 = {.id = "B1", .name = "Jane D", .locale = "de-DE", .email_hash = "h3", .opt_out = true};
  OK(store_buyer_put(f->s, &b1));
  C(f);
  R(f);
  OK(store_marketplace_get(f->s, MP, f->a, &m));
  assert_string_equal(m.name, "Renamed");
  OK(store_seller_get(f->s, "S1", NULL, f->a, &sl));
  assert_string_equal(sl.name, "Acme 2");
  assert_string_equal(sl.email_sealed, "sealed2");
  assert_string_equal(sl.alias, "s1@relay.example.com");
  assert_int_equal(sl.created_at, T0);
  OK(store_buyer_get(f->s, "B1", NULL, f->a, &b));
  assert_string_equal(b.name, "Jane D");
  assert_true(b.opt_out);
  assert_null(b.email_sealed);
  RB(f);

  /* A seller alias is unique. */
  W(f);
  st_seller s3 = {.id = "S3", .marketplace_id = MP, .name = "Copy", .alias = "s1@relay.example.com",
                  .created_at = T0};
  assert_int_equal(store_seller_put(f->s, &s3), PL_EEXIST);
  RB(f);
}

static void test_agents(void **state) {
  fx *f = *state;
  world(f);
  W(f);
  st_agent ag = {.seller_id = "S1", .name = "Maya", .role = ST_ROLE_OWNER};
  int64_t id1 = 0, id2 = 0;
  OK(store_agent_add(f->s, &ag, &id1));
  ag.name = "Sam";
  ag.role = ST_ROLE_READ_ONLY;
  OK(store_agent_add(f->s, &ag, &id2));
  assert_true(id1 > 0 && id2 > id1);
  C(f);
  R(f);
  st_agent g;
  OK(store_agent_get(f->s, id2, NULL, NULL, f->a, &g));
  assert_int_equal(g.id, id2);
  assert_string_equal(g.seller_id, "S1");
  assert_string_equal(g.name, "Sam");
  assert_int_equal(g.role, ST_ROLE_READ_ONLY);
  assert_int_equal(store_agent_get(f->s, id2 + 100, NULL, NULL, f->a, &g), PL_ENOTFOUND);
  RB(f);
  /* An unknown seller or role is invalid input, whichever backend checks it. */
  W(f);
  st_agent bad = {.seller_id = "S9", .name = "X", .role = ST_ROLE_AGENT};
  int64_t id;
  assert_int_equal(store_agent_add(f->s, &bad, &id), PL_EINVAL);
  RB(f);
  W(f);
  st_agent bad2 = {.seller_id = "S1", .name = "X", .role = ST_ROLE_NONE}; /* no name: NULL */
  assert_int_equal(store_agent_add(f->s, &bad2, &id), PL_EINVAL);
  RB(f);
}

/* Key rotation's walk: pages of the rows not yet sealed by a generation, by key and
 * across tenants; a reseal that only takes a row still holding the value read; counts by
 * prefix. */
static void test_sealed_walk(void **state) {
  fx *f = *state;
  world(f);
  W(f);
  st_agent ag = {.seller_id = "S1", .name = "Maya", .role = ST_ROLE_OWNER};
  int64_t a1 = 0;
  OK(store_agent_add(f->s, &ag, &a1));
  st_agent_address v1 = {.seller_id = "S1", .agent_id = a1, .email_sealed = "v1:aaa", .email_hash = "ha",
                         .created_at = T0};
  st_agent_address v2 = {.seller_id = "S1", .agent_id = a1, .email_sealed = "v1:bbb", .email_hash = "hb",
                         .created_at = T0};
  OK(store_agent_address_add(f->s, &v1));
  OK(store_agent_address_add(f->s, &v2));
  st_buyer b3 = {.id = "B3", .name = "Ann", .locale = "en-US", .email_sealed = "v2:2:ccc", .email_hash = "h3"};
  OK(store_buyer_put(f->s, &b3));
  st_webhook wh = {.owner = "seller", .seller_id = "S1", .url = "https://hooks.example/w", .events_json = "[]",
                   .secret_sealed = "v1:whs", .active = true, .created_at = T0};
  OK(store_webhook_put(f->s, &wh));
  C(f);
  R(f);
  int64_t n = -1;
  OK(store_sealed_count(f->s, ST_SEALED_BUYER, "", &n));
  assert_int_equal(n, 3); /* x, y and B3's */
  OK(store_sealed_count(f->s, ST_SEALED_BUYER, "v2:2:", &n));
  assert_int_equal(n, 1);
  OK(store_sealed_count(f->s, ST_SEALED_SELLER, "", &n));
  assert_int_equal(n, 1); /* S2 has no address */
  OK(store_sealed_count(f->s, ST_SEALED_AGENT_ADDRESS, "v1:", &n));
  assert_int_equal(n, 2);
  /* Pages: B1 and B2 (not "v2:2:"), one at a time, by key. */
  st_sealed_row *rows;
  size_t m = 0;
  OK(store_sealed_page(f->s, ST_SEALED_BUYER, "v2:2:", NULL, 1, f->a, &rows, &m));
  assert_int_equal(m, 1);
  assert_string_equal(rows[0].key, "B1");
  assert_string_equal(rows[0].sealed, "x");
  OK(store_sealed_page(f->s, ST_SEALED_BUYER, "v2:2:", "B1", 5, f->a, &rows, &m));
  assert_int_equal(m, 1);
  assert_string_equal(rows[0].key, "B2");
  OK(store_sealed_page(f->s, ST_SEALED_BUYER, NULL, "B2", 5, f->a, &rows, &m));
  assert_int_equal(m, 1);
  assert_string_equal(rows[0].key, "B3");
  /* Integer keys page as numbers. */
  OK(store_sealed_page(f->s, ST_SEALED_AGENT_ADDRESS, "v2:2:", NULL, 1, f->a, &rows, &m));
  assert_int_equal(m, 1);
  char after[24];
  snprintf(after, sizeof after, "%lld", (long long)v1.id);
  assert_string_equal(rows[0].key, after);
  OK(store_sealed_page(f->s, ST_SEALED_AGENT_ADDRESS, "v2:2:", after, 10, f->a, &rows, &m));
  assert_int_equal(m, 1);
  /* webhook secrets are walked too */
  OK(store_sealed_count(f->s, ST_SEALED_WEBHOOK, "v1:", &n));
  assert_int_equal(n, 1);
  OK(store_sealed_page(f->s, ST_SEALED_WEBHOOK, "v2:2:", NULL, 10, f->a, &rows, &m));
  assert_int_equal(m, 1);
  assert_string_equal(rows[0].sealed, "v1:whs");
  char whk[24];
  snprintf(whk, sizeof whk, "%lld", (long long)wh.id);
  assert_string_equal(rows[0].key, whk);
  OK(store_sealed_page(f->s, ST_SEALED_WEBHOOK, NULL, whk, 10, f->a, &rows, &m));
  assert_int_equal(m, 0);
  RB(f);
  /* A reseal takes the row only while it holds the value read. */
  W(f);
  bool changed = false;
  OK(store_sealed_reseal(f->s, ST_SEALED_BUYER, "B1", "x", "v2:2:new", "hnew", &changed));
  assert_true(changed);
  OK(store_sealed_reseal(f->s, ST_SEALED_BUYER, "B2", "stale", "v2:2:zzz", "hz", &changed));
  assert_false(changed);
  OK(store_sealed_reseal(f->s, ST_SEALED_SELLER, "S1", "sealed1", "v2:2:s", NULL, &changed));
  assert_true(changed);
  snprintf(after, sizeof after, "%lld", (long long)wh.id);
  OK(store_sealed_reseal(f->s, ST_SEALED_WEBHOOK, after, "v1:whs", "v2:2:w", NULL, &changed));
  assert_true(changed);
  snprintf(after, sizeof after, "%lld", (long long)v1.id);
  OK(store_sealed_reseal(f->s, ST_SEALED_AGENT_ADDRESS, after, "v1:aaa", "v2:2:a", "ha2", &changed));
  assert_true(changed);
  C(f);
  /* Its hash moved with it: the look-up by the new hash finds it; another row's hash is
   * refused as a duplicate. */
  R(f);
  st_buyer got;
  OK(store_buyer_get(f->s, NULL, "hnew", f->a, &got));
  assert_string_equal(got.id, "B1");
  assert_string_equal(got.email_sealed, "v2:2:new");
  st_agent_address ad;
  OK(store_agent_address_find(f->s, "S1", "ha2", f->a, &ad));
  assert_string_equal(ad.email_sealed, "v2:2:a");
  OK(store_sealed_count(f->s, ST_SEALED_SELLER, "v2:2:", &n));
  assert_int_equal(n, 1);
  st_webhook gw;
  OK(store_webhook_get(f->s, wh.id, f->a, &gw));
  assert_string_equal(gw.secret_sealed, "v2:2:w");
  RB(f);
  W(f);
  char k2[24];
  snprintf(k2, sizeof k2, "%lld", (long long)v2.id);
  assert_int_equal(store_sealed_reseal(f->s, ST_SEALED_AGENT_ADDRESS, k2, "v1:bbb", "v2:2:b", "ha2", &changed),
                   PL_EEXIST);
  RB(f);
}

/* Agents' registered addresses: once per seller, scoped to the seller, found by hash. */
static void test_agent_addresses(void **state) {
  fx *f = *state;
  world(f);
  W(f);
  st_agent ag = {.seller_id = "S1", .name = "Maya", .role = ST_ROLE_OWNER};
  int64_t a1 = 0, a2 = 0, a3 = 0;
  OK(store_agent_add(f->s, &ag, &a1));
  ag.name = "Sam";
  OK(store_agent_add(f->s, &ag, &a2));
  st_agent other = {.seller_id = "S2", .name = "Olga", .role = ST_ROLE_AGENT};
  OK(store_agent_add(f->s, &other, &a3));
  st_agent_address v = {.seller_id = "S1", .agent_id = a1, .email_sealed = "sealed-a",
                        .email_hash = "ha", .created_at = T0};
  OK(store_agent_address_add(f->s, &v));
  assert_true(v.id > 0);
  st_agent_address w = {.seller_id = "S1", .agent_id = a2, .email_sealed = "sealed-b",
                        .email_hash = "hb", .created_at = T0 + 1};
  OK(store_agent_address_add(f->s, &w));
  /* The same address at another seller is that seller's business. */
  st_agent_address x = {.seller_id = "S2", .agent_id = a3, .email_sealed = "sealed-a2",
                        .email_hash = "ha", .created_at = T0};
  OK(store_agent_address_add(f->s, &x));
  /* Another seller's agent cannot be given an address of S1. */
  st_agent_address y = {.seller_id = "S1", .agent_id = a3, .email_sealed = "s", .email_hash = "hy",
                        .created_at = T0};
  assert_int_equal(store_agent_address_add(f->s, &y), PL_ENOTFOUND);
  C(f);
  W(f);
  st_agent_address dup = {.seller_id = "S1", .agent_id = a2, .email_sealed = "again",
                          .email_hash = "ha", .created_at = T0};
  assert_int_equal(store_agent_address_add(f->s, &dup), PL_EEXIST);
  RB(f);
  R(f);
  st_agent_address *list;
  size_t n;
  OK(store_agent_address_list(f->s, "S1", 0, f->a, &list, &n));
  assert_int_equal(n, 2);
  assert_int_equal(list[0].agent_id, a1);
  assert_string_equal(list[0].email_sealed, "sealed-a");
  assert_string_equal(list[1].email_hash, "hb");
  OK(store_agent_address_list(f->s, "S1", a2, f->a, &list, &n));
  assert_int_equal(n, 1);
  assert_int_equal(list[0].id, w.id);
  st_agent_address got;
  OK(store_agent_address_find(f->s, "S1", "ha", f->a, &got));
  assert_int_equal(got.agent_id, a1);
  OK(store_agent_address_find(f->s, "S2", "ha", f->a, &got));
  assert_int_equal(got.agent_id, a3);
  assert_int_equal(store_agent_address_find(f->s, "S2", "hb", f->a, &got), PL_ENOTFOUND);
  RB(f);
  W(f);
  /* Only the agent's own address goes, and only within the seller. */
  assert_int_equal(store_agent_address_delete(f->s, "S2", a1, v.id), PL_ENOTFOUND);
  assert_int_equal(store_agent_address_delete(f->s, "S1", a2, v.id), PL_ENOTFOUND);
  OK(store_agent_address_delete(f->s, "S1", a1, v.id));
  assert_int_equal(store_agent_address_find(f->s, "S1", "ha", f->a, &got), PL_ENOTFOUND);
  C(f);
}

/* ---- aliases and tokens ------------------------------------------------------------------ */

static void test_aliases(void **state) {
  fx *f = *state;
  world(f);
  W(f);
  char *al;
  assert_int_equal(store_alias_get(f->s, MP, "B2", "S2", f->a, &al), PL_ENOTFOUND);
  /* Taken alias, then a second alias for a pair: both refused, and the transaction goes
   * on (the service retries with a new alias in the same transaction). */
  assert_int_equal(store_alias_put(f->s, MP, "B2", "S2", "b1s1@relay.example.com", T0), PL_EEXIST);
  assert_int_equal(store_alias_put(f->s, MP, "B1", "S1", "fresh@relay.example.com", T0), PL_EEXIST);
  OK(store_alias_put(f->s, MP, "B2", "S2", "b2s2@relay.example.com", T0));
  OK(store_alias_get(f->s, MP, "B2", "S2", f->a, &al));
  assert_string_equal(al, "b2s2@relay.example.com");
  C(f);
  R(f);
  OK(store_alias_get(f->s, MP, "B2", "S2", f->a, &al));
  assert_string_equal(al, "b2s2@relay.example.com");
  OK(store_alias_get(f->s, MP, "B1", "S1", f->a, &al));
  assert_string_equal(al, "b1s1@relay.example.com");
  RB(f);
}

static void test_tokens(void **state) {
  fx *f = *state;
  world(f);
  W(f);
  st_token t = {.kind = ST_PRINCIPAL_AGENT, .subject = "7", .seller_id = "S1",
                .marketplace_id = MP, .expires_at = T0 + 3600, .scope = ST_SCOPE_API};
  OK(store_token_put(f->s, "hash-a", &t, T0));
  st_token op = {.kind = ST_PRINCIPAL_OPERATOR, .subject = "ops", .scope = ST_SCOPE_API};
  OK(store_token_put(f->s, "hash-o", &op, T0));
  assert_int_equal(store_token_put(f->s, "hash-o", &op, T0), PL_EEXIST);
  C(f);
  R(f);
  st_token g;
  OK(store_token_get(f->s, "hash-a", 0, f->a, &g));
  assert_int_equal(g.kind, ST_PRINCIPAL_AGENT);
  assert_string_equal(g.subject, "7");
  assert_string_equal(g.seller_id, "S1");
  assert_string_equal(g.marketplace_id, MP);
  assert_int_equal(g.expires_at, T0 + 3600);
  OK(store_token_get(f->s, "hash-o", 0, f->a, &g));
  assert_int_equal(g.kind, ST_PRINCIPAL_OPERATOR);
  assert_null(g.seller_id);
  assert_null(g.marketplace_id);
  assert_int_equal(g.expires_at, 0);
  assert_int_equal(store_token_get(f->s, "nope", 0, f->a, &g), PL_ENOTFOUND);
  RB(f);
  W(f);
  OK(store_token_delete(f->s, "hash-o"));
  assert_int_equal(store_token_delete(f->s, "hash-o"), PL_ENOTFOUND);
  C(f);
  R(f);
  assert_int_equal(store_token_get(f->s, "hash-o", 0, f->a, &g), PL_ENOTFOUND);
  RB(f);
}

/* Identities: ids, scopes, sessions revoked with their token, a subject's tokens, use,
 * lists by seller, and agent deactivation. */
static void test_identities(void **state) {
  fx *f = *state;
  world(f);
  W(f);
  st_agent ag = {.seller_id = "S1", .name = "Maya", .role = ST_ROLE_AGENT};
  st_agent other = {.seller_id = "S2", .name = "Otto", .role = ST_ROLE_AGENT};
  int64_t maya, otto;
  OK(store_agent_add(f->s, &ag, &maya));
  OK(store_agent_add(f->s, &other, &otto));
  char maya_s[24], otto_s[24];
  snprintf(maya_s, sizeof maya_s, "%lld", (long long)maya);
  snprintf(otto_s, sizeof otto_s, "%lld", (long long)otto);
  st_token api = {.kind = ST_PRINCIPAL_AGENT, .subject = maya_s, .seller_id = "S1", .marketplace_id = MP,
                  .scope = ST_SCOPE_API};
  OK(store_token_put(f->s, "h-api", &api, T0));
  assert_true(api.id > 0);
  st_token sess = {.kind = ST_PRINCIPAL_AGENT, .subject = maya_s, .seller_id = "S1", .marketplace_id = MP,
                   .scope = ST_SCOPE_SESSION, .parent_id = api.id, .expires_at = T0 + 100};
  OK(store_token_put(f->s, "h-sess", &sess, T0 + 1));
  assert_true(sess.id > api.id);
  st_token sp = {.kind = ST_PRINCIPAL_AGENT, .subject = otto_s, .seller_id = "S2", .marketplace_id = MP,
                 .scope = ST_SCOPE_SPAPI, .expires_at = T0 + 3600};
  OK(store_token_put(f->s, "h-sp", &sp, T0 + 2));
  st_token op = {.kind = ST_PRINCIPAL_OPERATOR, .subject = "ops", .scope = ST_SCOPE_API};
  OK(store_token_put(f->s, "h-op", &op, T0 + 3));
  C(f);
  W(f);
  st_token bad = {.kind = ST_PRINCIPAL_OPERATOR, .subject = "ops", .scope = ST_SCOPE_NONE};
  assert_int_not_equal(store_token_put(f->s, "h-bad", &bad, T0), PL_OK); /* no scope */
  RB(f);
  W(f);
  OK(store_token_touch(f->s, api.id, T0 + 50));
  OK(store_token_touch(f->s, api.id, T0 + 40)); /* never goes back */
  C(f);
  R(f);
  st_token g;
  OK(store_token_get(f->s, "h-sess", 0, f->a, &g));
  assert_int_equal(g.id, sess.id);
  assert_int_equal(g.scope, ST_SCOPE_SESSION);
  assert_int_equal(g.parent_id, api.id);
  assert_int_equal(g.created_at, T0 + 1);
  assert_int_equal(g.revoked_at, 0);
  OK(store_token_get(f->s, NULL, api.id, f->a, &g));
  assert_int_equal(g.scope, ST_SCOPE_API);
  assert_int_equal(g.last_used_at, T0 + 50);
  assert_int_equal(store_token_get(f->s, NULL, 9999, f->a, &g), PL_ENOTFOUND);
  /* every token, newest first; a seller's: its agents' only */
  st_token *ts;
  size_t n;
  OK(store_token_list(f->s, NULL, false, T0, 100, f->a, &ts, &n));
  assert_int_equal(n, 4);
  assert_int_equal(ts[0].id, op.id);
  assert_int_equal(ts[3].id, api.id);
  OK(store_token_list(f->s, "S1", false, T0, 100, f->a, &ts, &n));
  assert_int_equal(n, 2);
  for (size_t i = 0; i < n; i++) assert_string_equal(ts[i].seller_id, "S1");
  /* an expired one is listed only with all */
  OK(store_token_list(f->s, "S1", false, T0 + 100, 100, f->a, &ts, &n));
  assert_int_equal(n, 1);
  OK(store_token_list(f->s, "S1", true, T0 + 100, 100, f->a, &ts, &n));
  assert_int_equal(n, 2);
  RB(f);
  /* revoking the token revokes the session signed in with it; twice revokes nothing */
  W(f);
  long k = 0;
  OK(store_token_revoke(f->s, api.id, 0, NULL, T0 + 60, &k));
  assert_int_equal(k, 2);
  OK(store_token_revoke(f->s, api.id, 0, NULL, T0 + 61, &k));
  assert_int_equal(k, 0);
  C(f);
  R(f);
  OK(store_token_get(f->s, "h-sess", 0, f->a, &g));
  assert_int_equal(g.revoked_at, T0 + 60);
  OK(store_token_get(f->s, "h-sp", 0, f->a, &g));
  assert_int_equal(g.revoked_at, 0);
  OK(store_token_list(f->s, "S1", false, T0, 100, f->a, &ts, &n));
  assert_int_equal(n, 0);
  RB(f);
  /* deactivation: once; every token of the subject revoked */
  W(f);
  OK(store_agent_deactivate(f->s, otto, T0 + 70));
  assert_int_equal(store_agent_deactivate(f->s, otto, T0 + 71), PL_EEXIST);
  assert_int_equal(store_agent_deactivate(f->s, otto + 100, T0), PL_ENOTFOUND);
  OK(store_token_revoke(f->s, 0, ST_PRINCIPAL_AGENT, otto_s, T0 + 70, &k));
  assert_int_equal(k, 1);
  C(f);
  R(f);
  st_agent a;
  OK(store_agent_get(f->s, otto, NULL, NULL, f->a, &a));
  assert_int_equal(a.deactivated_at, T0 + 70);
  OK(store_agent_get(f->s, maya, NULL, NULL, f->a, &a));
  assert_int_equal(a.deactivated_at, 0);
  OK(store_token_get(f->s, "h-sp", 0, f->a, &g));
  assert_int_equal(g.revoked_at, T0 + 70);
  OK(store_token_get(f->s, "h-op", 0, f->a, &g));
  assert_int_equal(g.revoked_at, 0);
  st_team_agent *tas;
  OK(store_team_agent_list(f->s, "S2", f->a, &tas, &n));
  assert_int_equal(n, 1);
  assert_true(tas[0].deactivated);
  OK(store_team_agent_list(f->s, "S1", f->a, &tas, &n));
  assert_false(tas[0].deactivated);
  RB(f);
}

/* ---- orders ---------------------------------------------------------------------------- */

static void test_orders(void **state) {
  fx *f = *state;
  world(f);
  st_item items[2] = {{.asin = "B0AAA00001", .title = "Drill", .price = "89.99", .currency = "USD", .quantity = 1},
                      {.asin = "B0AAA00002", .title = "Bits", .price = NULL, .currency = NULL, .quantity = 3}};
  st_order o = {.id = "112-1", .marketplace_id = MP, .seller_id = "S1", .buyer_id = "B1",
                .status = ST_ORDER_SHIPPED, .purchased_at = T0, .shipped_at = T0 + 10, .updated_at = T0,
                .ship_country = "DE", .carrier = "DHL", .tracking = "JJD0001", .promised_at = T0 + 86400,
                .return_state = "requested", .nitems = 2, .items = items};
  W(f);
  OK(store_order_put(f->s, &o));
  C(f);
  R(f);
  st_order g;
  OK(store_order_get(f->s, "112-1", f->a, &g));
  assert_int_equal(g.status, ST_ORDER_SHIPPED);
  assert_int_equal(g.purchased_at, T0);
  assert_int_equal(g.shipped_at, T0 + 10);
  assert_int_equal(g.delivered_at, 0);
  assert_string_equal(g.ship_country, "DE");
  assert_string_equal(g.carrier, "DHL");
  assert_string_equal(g.tracking, "JJD0001");
  assert_int_equal(g.promised_at, T0 + 86400);
  assert_string_equal(g.return_state, "requested");
  assert_int_equal(g.nitems, 2);
  assert_string_equal(g.items[0].asin, "B0AAA00001");
  assert_string_equal(g.items[0].price, "89.99");
  assert_string_equal(g.items[1].title, "Bits");
  assert_int_equal(g.items[1].quantity, 3);
  assert_null(g.items[1].price);
  assert_int_equal(store_order_get(f->s, "112-9", f->a, &g), PL_ENOTFOUND);
  /* the order alone: the same fields, no items */
  st_order hd;
  OK(store_order_head(f->s, "112-1", f->a, &hd));
  assert_int_equal(hd.status, ST_ORDER_SHIPPED);
  assert_string_equal(hd.buyer_id, g.buyer_id);
  assert_string_equal(hd.tracking, "JJD0001");
  assert_int_equal(hd.nitems, 0);
  assert_null(hd.items);
  assert_int_equal(store_order_head(f->s, "112-9", f->a, &hd), PL_ENOTFOUND);
  RB(f);

  /* An update replaces the status, dates and items. */
  o.status = ST_ORDER_DELIVERED;
  o.delivered_at = T0 + 20;
  o.nitems = 1;
  o.items = &items[1];
  W(f);
  OK(store_order_put(f->s, &o));
  C(f);
  R(f);
  OK(store_order_get(f->s, "112-1", f->a, &g));
  assert_int_equal(g.status, ST_ORDER_DELIVERED);
  assert_int_equal(g.delivered_at, T0 + 20);
  assert_int_equal(g.nitems, 1);
  assert_string_equal(g.items[0].asin, "B0AAA00002");
  RB(f);

  /* Another seller's or buyer's order is a conflict, and changes nothing. */
  st_order other = o;
  other.seller_id = "S2";
  other.status = ST_ORDER_CANCELED;
  W(f);
  assert_int_equal(store_order_put(f->s, &other), PL_ECONFLICT);
  RB(f);
  other = o;
  other.buyer_id = "B2";
  W(f);
  assert_int_equal(store_order_put(f->s, &other), PL_ECONFLICT);
  RB(f);
  R(f);
  OK(store_order_get(f->s, "112-1", f->a, &g));
  assert_string_equal(g.seller_id, "S1");
  assert_int_equal(g.status, ST_ORDER_DELIVERED);
  RB(f);

  /* A bad status or an unknown party is refused by the schema. */
  st_order bad = o;
  bad.id = "112-2";
  bad.status = (st_order_status)99; /* no name: the store refuses it */
  W(f);
  assert_int_equal(store_order_put(f->s, &bad), PL_EEXIST);
  RB(f);
  bad.status = ST_ORDER_PENDING;
  bad.buyer_id = "B9";
  W(f);
  assert_int_equal(store_order_put(f->s, &bad), PL_EEXIST);
  RB(f);

  /* order_list: newest purchase first, per party, with a cursor. */
  put_order(f, "112-3", "S1", "B2", "B0AAA00003", T0 + 100);
  put_order(f, "112-4", "S2", "B1", "B0AAA00004", T0 + 100);
  put_order(f, "112-5", "S1", "B1", "B0AAA00005", T0 + 50);
  R(f);
  st_order *l;
  size_t n;
  OK(store_order_list(f->s, "S1", NULL, 0, NULL, 10, f->a, &l, &n));
  assert_int_equal(n, 3);
  assert_string_equal(l[0].id, "112-3");
  assert_string_equal(l[1].id, "112-5");
  assert_string_equal(l[2].id, "112-1");
  assert_int_equal(l[0].nitems, 1);
  OK(store_order_list(f->s, NULL, "B1", 0, NULL, 10, f->a, &l, &n));
  assert_int_equal(n, 3);
  assert_string_equal(l[0].id, "112-4");
  OK(store_order_list(f->s, NULL, NULL, 0, NULL, 2, f->a, &l, &n));
  assert_int_equal(n, 2);
  assert_string_equal(l[0].id, "112-4");
  assert_string_equal(l[1].id, "112-3");
  OK(store_order_list(f->s, NULL, NULL, l[1].purchased_at, l[1].id, 10, f->a, &l, &n));
  assert_int_equal(n, 2);
  assert_string_equal(l[0].id, "112-5");
  assert_string_equal(l[1].id, "112-1");
  RB(f);
}

/* ---- threads, messages, events ----------------------------------------------------------- */

static void test_threads(void **state) {
  fx *f = *state;
  world(f);
  put_order(f, "112-1", "S1", "B1", "B0AAA00001", T0);
  int64_t t1 = new_thread(f, "S1", "B1", "112-1", NULL, T0 + 1);
  int64_t t2 = new_thread(f, "S1", "B2", NULL, "B0PRODUCT1", T0 + 2);
  assert_true(t2 > t1);

  R(f);
  st_thread t;
  OK(OP(f, thread_get)(f->s, t1, f->a, &t));
  assert_string_equal(t.order_id, "112-1");
  assert_null(t.asin);
  assert_string_equal(t.topic, "other");
  assert_false(t.archived);
  assert_int_equal(t.created_at, T0 + 1);
  assert_string_equal(t.buyer_alias, "b1s1@relay.example.com");
  assert_string_equal(t.buyer_name, "Jane Doe");
  assert_string_equal(t.seller_name, "Acme Tools");
  OK(OP(f, thread_find)(f->s, "112-1", NULL, NULL, NULL, f->a, &t));
  assert_int_equal(t.id, t1);
  OK(OP(f, thread_find)(f->s, NULL, "S1", "B2", "B0PRODUCT1", f->a, &t));
  assert_int_equal(t.id, t2);
  assert_null(t.order_id);
  assert_string_equal(t.buyer_alias, "b2s1@relay.example.com");
  assert_int_equal(OP(f, thread_find)(f->s, NULL, "S2", "B2", "B0PRODUCT1", f->a, &t), PL_ENOTFOUND);
  assert_int_equal(OP(f, thread_find)(f->s, "112-9", NULL, NULL, NULL, f->a, &t), PL_ENOTFOUND);
  assert_int_equal(OP(f, thread_get)(f->s, t2 + 100, f->a, &t), PL_ENOTFOUND);
  RB(f);

  /* One thread per order and per seller, buyer and product. */
  st_thread dup = {.seller_id = "S1", .buyer_id = "B1", .marketplace_id = MP, .order_id = "112-1",
                   .topic = "other", .created_at = T0, .last_message_at = T0};
  W(f);
  assert_int_equal(OP(f, thread_insert)(f->s, &dup), PL_EEXIST);
  RB(f);
  st_thread dup2 = {.seller_id = "S1", .buyer_id = "B2", .marketplace_id = MP, .asin = "B0PRODUCT1",
                    .topic = "other", .created_at = T0, .last_message_at = T0};
  W(f);
  assert_int_equal(OP(f, thread_insert)(f->s, &dup2), PL_EEXIST);
  RB(f);

  /* thread_update writes the summary columns, scoped by seller. */
  W(f);
  OK(OP(f, thread_get)(f->s, t1, f->a, &t));
  t.topic = "shipping_delivery";
  t.archived = true;
  t.waiting = 2;
  t.needs_response = 1;
  t.last_message_at = T0 + 50;
  t.last_buyer_at = T0 + 40;
  t.last_seller_at = T0 + 30;
  t.seller_read_id = 20;
  t.buyer_read_id = 10;
  t.response_due_at = T0 + 86400;
  OK(OP(f, thread_update)(f->s, &t));
  C(f);
  R(f);
  st_thread u;
  OK(OP(f, thread_get)(f->s, t1, f->a, &u));
  assert_string_equal(u.topic, "shipping_delivery");
  assert_true(u.archived);
  assert_int_equal(u.waiting, 2);
  assert_int_equal(u.needs_response, 1);
  assert_int_equal(u.last_message_at, T0 + 50);
  assert_int_equal(u.last_buyer_at, T0 + 40);
  assert_int_equal(u.last_seller_at, T0 + 30);
  assert_int_equal(u.seller_read_id, 20);
  assert_int_equal(u.buyer_read_id, 10);
  assert_int_equal(u.response_due_at, T0 + 86400);
  RB(f);
  W(f);
  u.seller_id = "S2";
  assert_int_equal(OP(f, thread_update)(f->s, &u), PL_ENOTFOUND);
  u.seller_id = "S1";
  u.id = t2 + 100;
  assert_int_equal(OP(f, thread_update)(f->s, &u), PL_ENOTFOUND);
  RB(f);
}

static void test_messages(void **state) {
  fx *f = *state;
  world(f);
  put_order(f, "112-1", "S1", "B1", "B0AAA00001", T0);
  int64_t t1 = new_thread(f, "S1", "B1", "112-1", NULL, T0);
  W(f);
  st_message m = {.thread_id = t1, .seller_id = "S1", .ext_id = "EXT-1", .direction = ST_DIR_BUYER,
                  .kind = ST_KIND_MESSAGE, .text = "Where is my parcel?", .at = T0 + 10};
  OK(OP(f, message_insert)(f->s, &m));
  int64_t m1 = m.id;
  st_message r = {.thread_id = t1, .seller_id = "S1", .direction = ST_DIR_SELLER, .kind = ST_KIND_AUTO_REPLY,
                  .agent_id = 5, .text = "On its way.", .at = T0 + 5, .policy_action = "deliver",
                  .policy_engine = "none", .policy_json = "{\"action\":\"deliver\"}"};
  OK(OP(f, message_insert)(f->s, &r));
  assert_true(r.id > m1);
  st_event ev = {.message_id = r.id, .thread_id = t1, .seller_id = "S1", .type = ST_EVENT_STATUS,
                 .value = "held_for_review", .actor = "agent:5", .at = T0 + 6};
  OK(OP(f, event_insert)(f->s, &ev));
  int64_t e1 = ev.id;
  ev.value = "delivered";
  ev.at = T0 + 7;
  OK(OP(f, event_insert)(f->s, &ev));
  assert_true(ev.id > e1);
  st_event fl = {.message_id = m1, .thread_id = t1, .seller_id = "S1", .type = ST_EVENT_STATUS,
                 .value = "delivered", .actor = "buyer:B1", .at = T0 + 10};
  OK(OP(f, event_insert)(f->s, &fl));
  fl.type = ST_EVENT_FLAG;
  fl.value = "true";
  fl.at = T0 + 11;
  OK(OP(f, event_insert)(f->s, &fl));
  /* Another imported message with the same ext_id is refused; the transaction goes on. */
  st_message again = m;
  assert_int_equal(OP(f, message_insert)(f->s, &again), PL_EEXIST);
  C(f);

  R(f);
  st_message g;
  OK(OP(f, message_get)(f->s, m1, NULL, f->a, &g));
  assert_string_equal(g.text, "Where is my parcel?");
  assert_string_equal(g.ext_id, "EXT-1");
  assert_int_equal(g.direction, ST_DIR_BUYER);
  assert_int_equal(g.agent_id, 0);
  assert_null(g.policy_action);
  assert_int_equal(g.status, ST_STATUS_DELIVERED);
  assert_true(g.flagged);
  OK(OP(f, message_get)(f->s, 0, "EXT-1", f->a, &g));
  assert_int_equal(g.id, m1);
  assert_int_equal(OP(f, message_get)(f->s, 0, "EXT-2", f->a, &g), PL_ENOTFOUND);
  assert_int_equal(OP(f, message_get)(f->s, r.id + 100, NULL, f->a, &g), PL_ENOTFOUND);
  OK(OP(f, message_get)(f->s, r.id, NULL, f->a, &g));
  assert_int_equal(g.kind, ST_KIND_AUTO_REPLY);
  assert_int_equal(g.agent_id, 5);
  assert_null(g.ext_id);
  assert_string_equal(g.policy_engine, "none");
  assert_string_equal(g.policy_json, "{\"action\":\"deliver\"}");
  assert_int_equal(g.status, ST_STATUS_DELIVERED);
  assert_int_equal(g.status_at, T0 + 7);
  assert_false(g.flagged);

  st_message *l;
  size_t n;
  OK(OP(f, message_list)(f->s, t1, f->a, &l, &n));
  assert_int_equal(n, 2);
  assert_int_equal(l[0].id, r.id); /* by time, then id */
  assert_int_equal(l[1].id, m1);
  st_event *evs;
  OK(store_event_list(f->s, t1, f->a, &evs, &n));
  assert_int_equal(n, 4);
  assert_string_equal(evs[0].value, "held_for_review");
  assert_int_equal(evs[3].type, ST_EVENT_FLAG);
  assert_string_equal(evs[3].actor, "buyer:B1");
  assert_int_equal(evs[3].at, T0 + 11);
  OK(OP(f, message_list)(f->s, t1 + 100, f->a, &l, &n));
  assert_int_equal(n, 0);
  RB(f);
  /* An event type this build does not know (a newer parley's) reads as unknown, not a failure. */
  char sql[256];
  snprintf(sql, sizeof sql,
           "INSERT INTO message_events(message_id, thread_id, seller_id, type, value, actor, at)"
           " VALUES (%lld, %lld, 'S1', 'moved', 'x', 'ops', %lld)",
           (long long)m1, (long long)t1, (long long)(T0 + 12));
  assert_true(raw_exec(f, sql));
  R(f);
  OK(store_event_list(f->s, t1, f->a, &evs, &n));
  assert_int_equal(n, 5);
  assert_int_equal(evs[4].type, ST_EVENT_UNKNOWN);
  assert_string_equal(evs[4].value, "x");
  RB(f);

  /* A message of no thread, or of a bad direction, is refused by the schema. */
  W(f);
  st_message bad = {.thread_id = t1 + 100, .seller_id = "S1", .direction = ST_DIR_BUYER, .kind = ST_KIND_MESSAGE,
                    .text = "x", .at = T0};
  assert_int_equal(OP(f, message_insert)(f->s, &bad), PL_EEXIST);
  RB(f);
  W(f);
  bad.thread_id = t1;
  bad.direction = (st_direction)99; /* no name: the store refuses it */
  assert_int_equal(OP(f, message_insert)(f->s, &bad), PL_EEXIST);
  RB(f);

  /* Unflag. */
  W(f);
  fl.value = "false";
  OK(OP(f, event_insert)(f->s, &fl));
  OK(OP(f, message_get)(f->s, m1, NULL, f->a, &g));
  assert_false(g.flagged);
  C(f);
}

/* The record cannot be changed by any client, whatever it runs. */
static void test_append_only(void **state) {
  fx *f = *state;
  world(f);
  put_order(f, "112-1", "S1", "B1", "B0AAA00001", T0);
  int64_t t1 = new_thread(f, "S1", "B1", "112-1", NULL, T0);
  W(f);
  add_msg(f, t1, "S1", ST_DIR_BUYER, "hello", ST_STATUS_DELIVERED, T0);
  st_audit au = {.seller_id = "S1", .actor = "a", .action = "x", .subject = "T1", .at = T0};
  OK(OP(f, audit_append)(f->s, &au));
  C(f);
  static const char *const refused[] = {
      "UPDATE messages SET text = 'changed'",
      "DELETE FROM messages",
      "UPDATE message_events SET value = 'rejected'",
      "DELETE FROM message_events",
      "UPDATE audit SET actor = 'someone else'",
      "DELETE FROM audit",
  };
  for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
    if (raw_exec(f, refused[i])) fail_msg("allowed: %s", refused[i]);
  if (f->pg) {
    assert_false(raw_exec(f, "TRUNCATE messages CASCADE"));
    assert_false(raw_exec(f, "TRUNCATE audit"));
  }
  assert_true(raw_exec(f, "SELECT 1")); /* the refusals were the triggers, not the client */
  R(f);
  st_message *l;
  size_t n;
  OK(OP(f, message_list)(f->s, t1, f->a, &l, &n));
  assert_int_equal(n, 1);
  assert_string_equal(l[0].text, "hello");
  RB(f);
}

/* ---- audit chain ---------------------------------------------------------------------- */

static void check_chain(fx *f, const char *subject, size_t expect) {
  R(f);
  st_audit *l;
  size_t n;
  OK(store_audit_list(f->s, subject, f->a, &l, &n));
  RB(f);
  assert_int_equal(n, expect);
  const char *prev = "0000000000000000000000000000000000000000000000000000000000000000";
  for (size_t i = 0; i < n; i++) {
    if (i) assert_true(l[i].id > l[i - 1].id);
    assert_string_equal(l[i].prev_hash, prev);
    char h[65];
    store__audit_hash(&l[i], l[i].prev_hash, h);
    assert_string_equal(l[i].hash, h);
    prev = l[i].hash;
  }
}

static void test_audit(void **state) {
  fx *f = *state;
  for (int i = 0; i < 5; i++) {
    W(f);
    st_audit e = {.seller_id = i % 2 ? "S1" : NULL, .actor = "admin", .action = "thing.do",
                  .subject = "chain", .detail_json = i == 3 ? NULL : "{\"n\":1}", .at = T0 + i};
    OK(OP(f, audit_append)(f->s, &e));
    assert_true(e.id > 0);
    C(f);
  }
  /* A rolled-back append leaves no gap in the chain. */
  W(f);
  st_audit gone = {.actor = "admin", .action = "x", .subject = "chain", .at = T0 + 9};
  OK(OP(f, audit_append)(f->s, &gone));
  RB(f);
  W(f);
  st_audit last = {.actor = "admin", .action = "y", .subject = "chain", .at = T0 + 10};
  OK(OP(f, audit_append)(f->s, &last));
  C(f);
  check_chain(f, "chain", 6);
  R(f);
  st_audit *l;
  size_t n;
  OK(store_audit_list(f->s, "chain", f->a, &l, &n));
  assert_string_equal(l[3].detail_json, "{}");
  assert_null(l[0].seller_id);
  assert_string_equal(l[1].seller_id, "S1");
  assert_string_equal(l[5].action, "y");
  OK(store_audit_list(f->s, "nothing", f->a, &l, &n));
  assert_int_equal(n, 0);
  RB(f);
}

/* One chain per seller: appends of S1, S2 and the platform interleave, yet each chain
 * numbers and links only its own entries; a new chain begins where the legacy chain (the
 * entries from before chains) ends; the heads and checkpoints read back. */
static void test_audit_chains(void **state) {
  fx *f = *state;
  static const char *const legacy_hash = "1111111111111111111111111111111111111111111111111111111111111111";
  char sql[512];
  snprintf(sql, sizeof sql,
           "INSERT INTO audit(seller_id, at, actor, action, subject, detail, prev_hash, hash)"
           " VALUES (NULL, 1, 'old', 'old', 'old', '{}', '%s', '%s')",
           "0000000000000000000000000000000000000000000000000000000000000000", legacy_hash);
  assert_true(raw_exec(f, sql));
  static const char *const chains[] = {"S1", "S2", "", "S1", "S1", "S2", ""};
  for (size_t i = 0; i < sizeof chains / sizeof chains[0]; i++) {
    W(f);
    st_audit e = {.seller_id = *chains[i] ? (char *)chains[i] : NULL, .chain = (char *)chains[i],
                  .actor = "a", .action = "x", .subject = "s", .at = T0 + (pl_time)i};
    OK(OP(f, audit_append)(f->s, &e));
    assert_true(e.seq > 0);
    C(f);
  }
  /* a rolled-back append moves no head */
  W(f);
  st_audit gone = {.chain = "S2", .actor = "a", .action = "gone", .subject = "s", .at = T0 + 50};
  OK(OP(f, audit_append)(f->s, &gone));
  RB(f);
  R(f);
  static const struct { const char *chain; int64_t n; } want[] = {{"", 2}, {"S1", 3}, {"S2", 2}};
  st_audit_head *heads;
  size_t nh;
  OK(store_audit_heads(f->s, f->a, &heads, &nh));
  assert_int_equal(nh, 3);
  for (size_t k = 0; k < 3; k++) {
    assert_string_equal(heads[k].chain, want[k].chain);
    assert_int_equal(heads[k].seq, want[k].n);
    st_audit *l;
    size_t n;
    OK(store_audit_chain(f->s, want[k].chain, 0, 100, f->a, &l, &n));
    assert_int_equal(n, (size_t)want[k].n);
    const char *prev = legacy_hash;
    for (size_t i = 0; i < n; i++) {
      assert_int_equal(l[i].seq, (int64_t)i + 1);
      assert_string_equal(l[i].chain, want[k].chain);
      assert_string_equal(l[i].prev_hash, prev);
      char h[65];
      store__audit_hash(&l[i], prev, h);
      assert_string_equal(l[i].hash, h);
      prev = l[i].hash;
    }
    assert_string_equal(heads[k].hash, prev);
  }
  /* paging: after a place, at most limit */
  st_audit *l;
  size_t n;
  OK(store_audit_chain(f->s, "S1", 1, 1, f->a, &l, &n));
  assert_int_equal(n, 1);
  assert_int_equal(l[0].seq, 2);
  /* the legacy chain, by id */
  OK(store_audit_chain(f->s, NULL, 0, 100, f->a, &l, &n));
  assert_int_equal(n, 1);
  assert_null(l[0].chain);
  assert_string_equal(l[0].hash, legacy_hash);
  RB(f);

  W(f);
  st_audit_checkpoint c = {.at = T0, .nchains = 3, .root = "r00t", .heads_json = "[]", .public_key = "pk",
                           .signature = "sig"};
  OK(store_audit_checkpoint_add(f->s, &c));
  assert_true(c.id > 0);
  C(f);
  R(f);
  st_audit_checkpoint *cps;
  size_t ncp;
  OK(store_audit_checkpoint_list(f->s, f->a, &cps, &ncp));
  assert_int_equal(ncp, 1);
  assert_int_equal(cps[0].id, c.id);
  assert_int_equal(cps[0].nchains, 3);
  assert_string_equal(cps[0].root, "r00t");
  assert_string_equal(cps[0].signature, "sig");
  RB(f);
  /* checkpoints are append-only */
  assert_false(raw_exec(f, "UPDATE audit_checkpoints SET root = 'forged'"));
  assert_false(raw_exec(f, "DELETE FROM audit_checkpoints"));
}

/* ---- the inbox query ------------------------------------------------------------------- */

typedef struct {
  int64_t a, b, c, d, e, p; /* threads */
} inbox;

/* Six threads of S1 (and one of S2) in known states. */
static inbox make_inbox(fx *f) {
  world(f);
  inbox x;
  put_order(f, "112-A", "S1", "B1", "B0AAA0000A", T0);
  put_order(f, "112-B", "S1", "B1", "B0AAA0000B", T0);
  put_order(f, "112-C", "S1", "B2", "B0AAA0000C", T0);
  put_order(f, "112-D", "S1", "B2", "B0AAA0000D", T0);
  put_order(f, "112-E", "S2", "B1", "B0AAA0000E", T0);
  x.a = new_thread(f, "S1", "B1", "112-A", NULL, T0);
  x.b = new_thread(f, "S1", "B1", "112-B", NULL, T0);
  x.c = new_thread(f, "S1", "B2", "112-C", NULL, T0);
  x.d = new_thread(f, "S1", "B2", "112-D", NULL, T0);
  x.e = new_thread(f, "S2", "B1", "112-E", NULL, T0);
  x.p = new_thread(f, "S1", "B1", NULL, "B0PROD0001", T0);
  W(f);
  add_msg(f, x.a, "S1", ST_DIR_BUYER, "Where is my Café order, the drill?", ST_STATUS_DELIVERED, T0 + 10);
  add_msg(f, x.b, "S1", ST_DIR_BUYER, "The drill bits are missing", ST_STATUS_DELIVERED, T0 + 20);
  add_msg(f, x.b, "S1", ST_DIR_SELLER, "We will send the BITS today", ST_STATUS_DELIVERED, T0 + 25);
  add_msg(f, x.c, "S1", ST_DIR_BUYER, "Hola, ¿dónde está mi pedido?", ST_STATUS_DELIVERED, T0 + 30);
  add_msg(f, x.d, "S1", ST_DIR_BUYER, "Thanks, all good", ST_STATUS_DELIVERED, T0 + 30);
  add_msg(f, x.d, "S1", ST_DIR_SELLER, "secret coupon here", ST_STATUS_HELD_FOR_REVIEW, T0 + 31);
  add_msg(f, x.e, "S2", ST_DIR_BUYER, "drill question for another seller", ST_STATUS_DELIVERED, T0 + 40);
  add_msg(f, x.p, "S1", ST_DIR_BUYER, "Does the drill fit?", ST_STATUS_DELIVERED, T0 + 30);
  struct {
    int64_t id;
    bool archived;
    int waiting, needs;
    pl_time last, last_seller, buyer_last; /* buyer_last: the held message is not the buyer's */
  } sum[] = {
      {x.a, false, 1, 1, T0 + 10, 0, T0 + 10},  {x.b, false, 0, 0, T0 + 25, T0 + 25, T0 + 25},
      {x.c, false, 1, 0, T0 + 30, 0, T0 + 30},  {x.d, true, 1, 1, T0 + 31, T0 + 31, T0 + 30},
      {x.e, false, 1, 1, T0 + 40, 0, T0 + 40},  {x.p, false, 1, 1, T0 + 30, 0, T0 + 30},
  };
  for (size_t i = 0; i < sizeof sum / sizeof sum[0]; i++) {
    st_thread t;
    OK(OP(f, thread_get)(f->s, sum[i].id, f->a, &t));
    t.archived = sum[i].archived;
    t.waiting = sum[i].waiting;
    t.needs_response = sum[i].needs;
    t.last_message_at = sum[i].last;
    t.last_seller_at = sum[i].last_seller;
    t.buyer_last_at = sum[i].buyer_last;
    OK(OP(f, thread_update)(f->s, &t));
  }
  C(f);
  return x;
}

/* Runs a query and checks the ids returned, in order (0-terminated). */
static void expect_list(fx *f, st_thread_query q, const int64_t *ids) {
  R(f);
  st_thread *l;
  size_t n;
  OK(OP(f, thread_list)(f->s, &q, f->a, &l, &n));
  RB(f);
  size_t k = 0;
  while (ids[k]) k++;
  char got[256] = "", want[256] = "";
  for (size_t i = 0; i < n; i++)
    snprintf(got + strlen(got), sizeof got - strlen(got), "%lld ", (long long)l[i].id);
  for (size_t i = 0; i < k; i++)
    snprintf(want + strlen(want), sizeof want - strlen(want), "%lld ", (long long)ids[i]);
  if (strcmp(got, want)) fail_msg("thread_list: got [%s], want [%s]", got, want);
}

#define IDS(...) ((const int64_t[]){__VA_ARGS__, 0})
#define NONE ((const int64_t[]){0})

static void test_thread_list_filters(void **state) {
  fx *f = *state;
  inbox x = make_inbox(f);
  /* Newest first; ties on time by id, descending. */
  expect_list(f, (st_thread_query){.seller_id = "S1"}, IDS(x.p, x.c, x.b, x.a));
  expect_list(f, (st_thread_query){.seller_id = "S1", .filter = ST_FILTER_RESPONSE_NEEDED}, IDS(x.p, x.a));
  expect_list(f, (st_thread_query){.seller_id = "S1", .filter = ST_FILTER_UNANSWERED}, IDS(x.p, x.c, x.a));
  expect_list(f, (st_thread_query){.seller_id = "S1", .filter = ST_FILTER_SENT}, IDS(x.b));
  expect_list(f, (st_thread_query){.seller_id = "S1", .filter = ST_FILTER_ARCHIVED}, IDS(x.d));
  expect_list(f, (st_thread_query){.seller_id = "S2"}, IDS(x.e));
  expect_list(f, (st_thread_query){.buyer_id = "B1"}, IDS(x.e, x.p, x.b, x.a));
  expect_list(f, (st_thread_query){.buyer_id = "B2", .filter = ST_FILTER_ARCHIVED}, IDS(x.d));
  /* A buyer's "all" includes what the seller archived (archiving is the seller's). */
  expect_list(f, (st_thread_query){.buyer_id = "B2"}, IDS(x.d, x.c));
  expect_list(f, (st_thread_query){.filter = ST_FILTER_ALL}, IDS(x.e, x.p, x.c, x.b, x.a));
  /* Search by order, ASIN (the thread's or an item's), alias. */
  expect_list(f, (st_thread_query){.seller_id = "S1", .order_id = "112-B"}, IDS(x.b));
  expect_list(f, (st_thread_query){.seller_id = "S2", .order_id = "112-B"}, NONE);
  expect_list(f, (st_thread_query){.seller_id = "S1", .asin = "B0AAA0000C"}, IDS(x.c));
  expect_list(f, (st_thread_query){.seller_id = "S1", .asin = "B0PROD0001"}, IDS(x.p));
  expect_list(f, (st_thread_query){.seller_id = "S1", .buyer_alias = "b2s1@relay.example.com"}, IDS(x.c));
  expect_list(f, (st_thread_query){.seller_id = "S2", .buyer_alias = "b1s1@relay.example.com"}, NONE);
  /* Count of threads needing a response. */
  R(f);
  int64_t rn = -1;
  OK(store_thread_count_response_needed(f->s, "S1", &rn));
  assert_int_equal(rn, 2);
  OK(store_thread_count_response_needed(f->s, "S9", &rn));
  assert_int_equal(rn, 0);
  RB(f);
}

/* A statement slot serves one SQL text: a second text given the same slot is refused,
 * not answered by the statement cached there. */
static void test_statement_slots(void **state) {
  fx *f = *state;
  R(f);
  sq_store *q = SQ(f->s);
  static const char a[] = "SELECT 1", b[] = "SELECT 2";
  sqlite3_stmt *st = sq__stmt(q, SQ_MORE_STATEMENTS - 1, a);
  assert_non_null(st);
  assert_non_null(sq__stmt(q, SQ_MORE_STATEMENTS - 1, "SELECT 1")); /* the same text elsewhere */
  assert_null(sq__stmt(q, SQ_MORE_STATEMENTS - 1, b));
  assert_null(sq__stmt(q, SQ_MORE_STATEMENTS, a));
  assert_null(sq__stmt(q, -1, a));
  RB(f);
}

/* Full-text rows follow their transaction and savepoints: what a rolled-back savepoint or
 * transaction wrote is not found, even when it wrote more rows than are held back for the
 * end of the batch (SQLite writes the index when the batch commits). */
static void test_index_savepoints(void **state) {
  fx *f = *state;
  world(f);
  put_order(f, "112-9", "S1", "B1", "B0AAA00009", T0);
  int64_t t = new_thread(f, "S1", "B1", "112-9", NULL, T0);
  W(f);
  add_msg(f, t, "S1", ST_DIR_BUYER, "kept walrus", ST_STATUS_DELIVERED, T0 + 1);
  OK(OP(f, savepoint)(f->s, ST_SP_BEGIN));
  add_msg(f, t, "S1", ST_DIR_BUYER, "undone narwhal", ST_STATUS_DELIVERED, T0 + 2);
  for (int i = 0; i < 300; i++) add_msg(f, t, "S1", ST_DIR_BUYER, "undone manatee", ST_STATUS_DELIVERED, T0 + 3);
  OK(OP(f, savepoint)(f->s, ST_SP_ROLLBACK));
  OK(OP(f, savepoint)(f->s, ST_SP_BEGIN));
  for (int i = 0; i < 300; i++) add_msg(f, t, "S1", ST_DIR_BUYER, "nested okapi", ST_STATUS_DELIVERED, T0 + 4);
  OK(OP(f, savepoint)(f->s, ST_SP_RELEASE));
  C(f);
  W(f);
  add_msg(f, t, "S1", ST_DIR_BUYER, "dropped axolotl", ST_STATUS_DELIVERED, T0 + 5);
  RB(f);
  expect_list(f, (st_thread_query){.seller_id = "S1", .fts = "walrus"}, IDS(t));
  expect_list(f, (st_thread_query){.seller_id = "S1", .fts = "okapi"}, IDS(t));
  expect_list(f, (st_thread_query){.seller_id = "S1", .fts = "narwhal"}, NONE);
  expect_list(f, (st_thread_query){.seller_id = "S1", .fts = "manatee"}, NONE);
  expect_list(f, (st_thread_query){.seller_id = "S1", .fts = "axolotl"}, NONE);
}

static void test_thread_list_search(void **state) {
  fx *f = *state;
  inbox x = make_inbox(f);
  expect_list(f, (st_thread_query){.seller_id = "S1", .fts = "drill"}, IDS(x.p, x.b, x.a));
  expect_list(f, (st_thread_query){.seller_id = "S1", .fts = "DRILL bits"}, IDS(x.b));
  expect_list(f, (st_thread_query){.seller_id = "S1", .fts = "bits"}, IDS(x.b));
  /* Case and diacritics fold both ways. */
  expect_list(f, (st_thread_query){.seller_id = "S1", .fts = "cafe"}, IDS(x.a));
  expect_list(f, (st_thread_query){.seller_id = "S1", .fts = "dondE"}, IDS(x.c));
  expect_list(f, (st_thread_query){.seller_id = "S1", .fts = "pedído"}, IDS(x.c));
  /* Combined with a filter and another seller's scope. */
  expect_list(f, (st_thread_query){.seller_id = "S1", .fts = "drill", .filter = ST_FILTER_SENT}, IDS(x.b));
  expect_list(f, (st_thread_query){.seller_id = "S2", .fts = "drill"}, IDS(x.e));
  expect_list(f, (st_thread_query){.seller_id = "S1", .fts = "coupon", .filter = ST_FILTER_ARCHIVED}, IDS(x.d));
  /* A buyer finds only delivered seller messages, and their own. */
  expect_list(f, (st_thread_query){.buyer_id = "B2", .fts = "coupon", .filter = ST_FILTER_ARCHIVED}, NONE);
  expect_list(f, (st_thread_query){.buyer_id = "B2", .fts = "thanks", .filter = ST_FILTER_ARCHIVED}, IDS(x.d));
  expect_list(f, (st_thread_query){.buyer_id = "B1", .fts = "bits"}, IDS(x.b));
  /* User input is never query syntax: none of these fails. */
  static const char *const hostile[] = {"\"drill", "drill OR bits", "NEAR(drill bits)", "bits*",
                                        "-drill", "drill:", "(", "'", "\\", "!!!", "a & b | !c",
                                        "<->", "text:drill", "\"\"", "%", "drill;DROP TABLE x"};
  for (size_t i = 0; i < sizeof hostile / sizeof hostile[0]; i++) {
    st_thread_query q = {.seller_id = "S1", .fts = hostile[i]};
    R(f);
    st_thread *l;
    size_t n;
    pl_err e = OP(f, thread_list)(f->s, &q, f->a, &l, &n);
    RB(f);
    if (e) fail_msg("search '%s' failed: %s", hostile[i], pl_errname(e));
  }
  expect_list(f, (st_thread_query){.seller_id = "S1", .fts = "!!!"}, NONE);
  /* Blank search text is no search. */
  expect_list(f, (st_thread_query){.seller_id = "S1", .fts = "  \t "}, IDS(x.p, x.c, x.b, x.a));
}

/* The seller's index of buyer messages holds their masked text; a buyer never finds notes. */
static void test_thread_list_seller_index(void **state) {
  fx *f = *state;
  inbox x = make_inbox(f);
  /* Every buyer message of make_inbox waits for the seller's index, oldest first. */
  R(f);
  st_message *pend;
  size_t np;
  OK(OP(f, message_seller_text_pending)(f->s, 100, f->a, &pend, &np));
  RB(f);
  assert_int_equal(np, 6);
  for (size_t i = 0; i < np; i++) {
    assert_int_equal(pend[i].direction, ST_DIR_BUYER);
    if (i) assert_true(pend[i].id > pend[i - 1].id);
  }
  /* Index them as the service would, masked: the digits of a phone number stand for the
   * contact details here. */
  W(f);
  int64_t call = add_msg(f, x.a, "S1", ST_DIR_BUYER, "call me on 4155550199 tonight", ST_STATUS_DELIVERED, T0 + 11);
  for (size_t i = 0; i < np; i++)
    OK(OP(f, message_seller_text_put)(f->s, pend[i].id, pend[i].thread_id, pend[i].text));
  OK(OP(f, message_seller_text_put)(f->s, call, x.a, "call me on [phone number removed] tonight"));
  /* a second put of the same message changes nothing */
  OK(OP(f, message_seller_text_put)(f->s, call, x.a, "call me on 4155550199 tonight"));
  st_message note = {.thread_id = x.b, .seller_id = "S1", .direction = ST_DIR_SELLER, .kind = ST_KIND_NOTE,
                     .text = "kumquat: the buyer sounds angry", .at = T0 + 26};
  OK(OP(f, message_insert)(f->s, &note));
  st_event ev = {.message_id = note.id, .thread_id = x.b, .seller_id = "S1", .type = ST_EVENT_STATUS,
                 .value = "delivered", .actor = "test", .at = T0 + 26};
  OK(OP(f, event_insert)(f->s, &ev));
  /* A message inserted with its seller text is indexed at once. */
  st_message withtext = {.thread_id = x.c, .seller_id = "S1", .direction = ST_DIR_BUYER, .kind = ST_KIND_MESSAGE,
                         .text = "write to rosa@example.org", .seller_text = "write to [e-mail address removed]",
                         .at = T0 + 32};
  OK(OP(f, message_insert)(f->s, &withtext));
  C(f);
  R(f);
  OK(OP(f, message_seller_text_pending)(f->s, 100, f->a, &pend, &np));
  RB(f);
  assert_int_equal(np, 0);
  /* The masked search finds buyer messages by their masked text only. */
  expect_list(f, (st_thread_query){.seller_id = "S1", .fts = "4155550199", .fts_masked = true}, NONE);
  expect_list(f, (st_thread_query){.seller_id = "S1", .fts = "4155550199"}, IDS(x.a));
  expect_list(f, (st_thread_query){.seller_id = "S1", .fts = "tonight", .fts_masked = true}, IDS(x.a));
  expect_list(f, (st_thread_query){.seller_id = "S1", .fts = "rosa", .fts_masked = true}, NONE);
  expect_list(f, (st_thread_query){.seller_id = "S1", .fts = "rosa@example.org", .fts_masked = true}, NONE);
  expect_list(f, (st_thread_query){.seller_id = "S1", .fts = "rosa@example.org"}, IDS(x.c));
  expect_list(f, (st_thread_query){.seller_id = "S1", .fts = "drill", .fts_masked = true}, IDS(x.p, x.b, x.a));
  /* seller messages (and notes) are searched in full */
  expect_list(f, (st_thread_query){.seller_id = "S1", .fts = "bits today", .fts_masked = true}, IDS(x.b));
  expect_list(f, (st_thread_query){.seller_id = "S1", .fts = "kumquat", .fts_masked = true}, IDS(x.b));
  /* another seller's scope holds */
  expect_list(f, (st_thread_query){.seller_id = "S2", .fts = "tonight", .fts_masked = true}, NONE);
  /* a buyer never finds the team's note */
  expect_list(f, (st_thread_query){.buyer_id = "B1", .fts = "kumquat"}, NONE);
  expect_list(f, (st_thread_query){.buyer_id = "B1", .fts = "4155550199"}, IDS(x.a));
}

static void test_thread_list_cursor(void **state) {
  fx *f = *state;
  world(f);
  /* 7 threads, several on the same second: the cursor (time, id) must not skip or repeat. */
  int64_t ids[7];
  pl_time at[7] = {T0 + 5, T0 + 5, T0 + 5, T0 + 3, T0 + 9, T0 + 3, T0 + 1};
  for (int i = 0; i < 7; i++) {
    char asin[24];
    snprintf(asin, sizeof asin, "B0CUR%05d", i);
    ids[i] = new_thread(f, "S1", "B1", NULL, asin, at[i]);
  }
  int64_t want[7] = {ids[4], ids[2], ids[1], ids[0], ids[5], ids[3], ids[6]};
  st_thread_query q = {.seller_id = "S1", .limit = 3};
  int64_t got[7];
  size_t k = 0;
  for (int page = 0; page < 4; page++) {
    R(f);
    st_thread *l;
    size_t n;
    OK(OP(f, thread_list)(f->s, &q, f->a, &l, &n));
    RB(f);
    assert_true(n <= 3);
    for (size_t i = 0; i < n; i++) got[k++] = l[i].id;
    if (n < 3) break;
    q.cursor_at = l[n - 1].last_message_at;
    q.cursor_id = l[n - 1].id;
  }
  assert_int_equal(k, 7);
  for (int i = 0; i < 7; i++) assert_int_equal(got[i], want[i]);
  /* Default limit. */
  st_thread_query all = {.seller_id = "S1"};
  R(f);
  st_thread *l;
  size_t n;
  OK(OP(f, thread_list)(f->s, &all, f->a, &l, &n));
  RB(f);
  assert_int_equal(n, 7);
}

/* ---- backup ------------------------------------------------------------------------------ */

/* SQLite copies itself while a write transaction is open on the store: the copy holds what
 * had committed, opens as a database of its own and is refused over an existing file;
 * PostgreSQL says to use its own tools. */
static void test_backup(void **state) {
  fx *f = *state;
  world(f);
  char path[1200];
  snprintf(path, sizeof path, "%s.copy", f->url);
  pl_detail d = {0};
  if (f->pg) {
    assert_int_equal(OP(f, backup)(f->s, path, &d), PL_EINVAL);
    assert_non_null(strstr(d.msg, "pg_dump"));
    return;
  }
  W(f); /* a writer in the middle of its transaction does not stop the copy */
  st_buyer b = {.id = "B8", .name = "Uncommitted", .locale = "en-US"};
  OK(store_buyer_put(f->s, &b));
  OK(OP(f, backup)(f->s, path, &d));
  RB(f);
  assert_int_equal(OP(f, backup)(f->s, path, &d), PL_EEXIST);
  store *copy;
  OK(store_open(path, &copy, &d));
  OK(copy->ops->begin(copy, false));
  st_buyer g;
  OK(store_buyer_get(copy, "B1", NULL, f->a, &g)); /* committed by world() */
  assert_int_equal(store_buyer_get(copy, "B8", NULL, f->a, &g), PL_ENOTFOUND);
  copy->ops->rollback(copy);
  store_close(copy);
  unlink(path);
}

/* ---- transactions ----------------------------------------------------------------------- */

static void test_transactions(void **state) {
  fx *f = *state;
  world(f);
  R(f);
  OK(OP(f, ping)(f->s));
  RB(f);
  /* Rolled back: gone. */
  W(f);
  st_buyer b = {.id = "B7", .name = "Temp", .locale = "en-US"};
  OK(store_buyer_put(f->s, &b));
  RB(f);
  R(f);
  st_buyer g;
  assert_int_equal(store_buyer_get(f->s, "B7", NULL, f->a, &g), PL_ENOTFOUND);
  RB(f);
  /* Its own writes are visible inside the transaction. */
  W(f);
  OK(store_buyer_put(f->s, &b));
  OK(store_buyer_get(f->s, "B7", NULL, f->a, &g));
  C(f);
  R(f);
  OK(store_buyer_get(f->s, "B7", NULL, f->a, &g));
  RB(f);
}

/* Pages of a thread (GET /v1/threads/{id}): newest first from the store, returned oldest
 * first, in the thread's order (time, then id), a buyer's view without notes and
 * undelivered seller messages. */
static void test_message_page(void **state) {
  fx *f = *state;
  world(f);
  put_order(f, "111-0000000-0000009", "S1", "B1", "B0P", T0);
  int64_t t = new_thread(f, "S1", "B1", "111-0000000-0000009", NULL, T0);
  int64_t id[8];
  W(f);
  id[0] = add_msg(f, t, "S1", ST_DIR_BUYER, "b0", ST_STATUS_DELIVERED, T0 + 10);
  id[1] = add_msg(f, t, "S1", ST_DIR_SELLER, "held", ST_STATUS_HELD_FOR_REVIEW, T0 + 20);
  id[2] = add_msg(f, t, "S1", ST_DIR_BUYER, "b2", ST_STATUS_DELIVERED, T0 + 30);
  id[3] = add_msg(f, t, "S1", ST_DIR_SELLER, "s3", ST_STATUS_DELIVERED, T0 + 30); /* same second: by id */
  st_message note = {.thread_id = t, .seller_id = "S1", .direction = ST_DIR_SELLER, .kind = ST_KIND_NOTE,
                     .text = "internal", .at = T0 + 40};
  OK(OP(f, message_insert)(f->s, &note));
  st_event ev = {.message_id = note.id, .thread_id = t, .seller_id = "S1", .type = ST_EVENT_STATUS,
                 .value = "delivered", .actor = "test", .at = T0 + 40};
  OK(OP(f, event_insert)(f->s, &ev));
  id[4] = note.id;
  id[5] = add_msg(f, t, "S1", ST_DIR_BUYER, "b5", ST_STATUS_DELIVERED, T0 + 50);
  st_message ooo = {.thread_id = t, .seller_id = "S1", .direction = ST_DIR_BUYER, .kind = ST_KIND_AUTO_REPLY,
                    .text = "on vacation", .at = T0 + 60}; /* the buyer's out-of-office: not theirs to see */
  OK(OP(f, message_insert)(f->s, &ooo));
  C(f);
  st_message *m, before;
  size_t n;
  bool more;
  R(f);
  OK(OP(f, message_page)(f->s, t, NULL, false, 4, f->a, &m, &n, &more));
  assert_int_equal(n, 4);
  assert_true(more);
  assert_int_equal(m[0].id, id[3]);
  assert_int_equal(m[1].id, id[4]);
  assert_int_equal(m[2].id, id[5]);
  assert_int_equal(m[3].id, ooo.id);
  OK(OP(f, message_get)(f->s, id[3], NULL, f->a, &before));
  OK(OP(f, message_page)(f->s, t, &before, false, 3, f->a, &m, &n, &more));
  assert_int_equal(n, 3);
  assert_false(more);
  assert_int_equal(m[0].id, id[0]);
  assert_int_equal(m[2].id, id[2]);
  /* the buyer's view: b0, b2, s3, b5 */
  OK(OP(f, message_page)(f->s, t, NULL, true, 2, f->a, &m, &n, &more));
  assert_int_equal(n, 2);
  assert_true(more);
  assert_int_equal(m[0].id, id[3]);
  assert_int_equal(m[1].id, id[5]);
  OK(OP(f, message_get)(f->s, id[3], NULL, f->a, &before));
  OK(OP(f, message_page)(f->s, t, &before, true, 5, f->a, &m, &n, &more));
  assert_int_equal(n, 2);
  assert_false(more);
  assert_int_equal(m[0].id, id[0]);
  assert_int_equal(m[1].id, id[2]);
  RB(f);
}

/* Unattached uploads and idempotency keys (store_*_limits.c; its buckets: test_store_rules.c). */
static void test_limits_and_keys(void **state) {
  fx *f = *state;
  world(f);
  bool ok;
  /* idempotency keys: claimed once, then the row; finished; released; swept by age */
  st_idem row;
  W(f);
  OK(store_idem_claim(f->s, "buyer:B1", "k1", "fp1", T0, f->a, &ok, &row));
  assert_true(ok);
  OK(store_idem_claim(f->s, "buyer:B1", "k1", "fp2", T0 + 1, f->a, &ok, &row));
  assert_false(ok);
  assert_string_equal(row.fingerprint, "fp1");
  assert_int_equal(row.status, 0);
  assert_null(row.body);
  OK(store_idem_claim(f->s, "agent:7", "k1", "fp1", T0, f->a, &ok, &row));
  assert_true(ok); /* another principal */
  OK(store_idem_finish(f->s, "buyer:B1", "k1", 201, "{\"a\":1}"));
  OK(store_idem_finish(f->s, "agent:7", "k1", 0, NULL));
  C(f);
  W(f);
  OK(store_idem_claim(f->s, "buyer:B1", "k1", "fp1", T0, f->a, &ok, &row));
  RB(f);
  W(f);
  OK(store_idem_claim(f->s, "buyer:B1", "k1", "fp1", T0, f->a, &ok, &row));
  assert_false(ok);
  assert_int_equal(row.status, 201);
  assert_string_equal(row.body, "{\"a\":1}");
  assert_int_equal(row.created_at, T0);
  OK(store_idem_claim(f->s, "agent:7", "k1", "fp9", T0 + 10, f->a, &ok, &row));
  assert_true(ok); /* released: free again */
  int64_t n;
  OK(store_idem_sweep(f->s, T0 + 5, &n));
  assert_int_equal(n, 1);
  OK(store_idem_claim(f->s, "buyer:B1", "k1", "fp1", T0, f->a, &ok, &row));
  assert_true(ok);
  C(f);

  /* unattached uploads: old and unattached are listed; a carried one never is; the bytes
   * are unused only when no record names them */
  put_order(f, "111-0000000-0000001", "S1", "B1", "B0A", T0);
  int64_t t = new_thread(f, "S1", "B1", "111-0000000-0000001", NULL, T0);
  st_attachment a1 = {.id = "A1", .seller_id = "S1", .uploader = "agent:1", .name = "a.txt", .kind = "txt",
                      .sha256 = "aaaa", .size = 3, .readable = true, .created_at = T0};
  st_attachment a2 = a1, a3 = a1, a4 = a1;
  a2.id = "A2";
  a3.id = "A3";
  a3.sha256 = "bbbb";
  a4.id = "A4";
  a4.sha256 = "cccc";
  a4.created_at = T0 + 500;
  W(f);
  OK(store_attachment_put(f->s, &a1));
  OK(store_attachment_put(f->s, &a2));
  OK(store_attachment_put(f->s, &a3));
  OK(store_attachment_put(f->s, &a4));
  int64_t m = add_msg(f, t, "S1", ST_DIR_SELLER, "with a file", ST_STATUS_DELIVERED, T0);
  OK(store_attachment_link(f->s, m, t, "S1", "A1", 0));
  C(f);
  st_attachment *old;
  size_t k;
  R(f);
  OK(store_attachment_orphans(f->s, T0 + 100, 10, f->a, &old, &k));
  RB(f);
  assert_int_equal(k, 2);
  bool seen2 = false, seen3 = false;
  for (size_t i = 0; i < k; i++) {
    seen2 |= !strcmp(old[i].id, "A2");
    seen3 |= !strcmp(old[i].id, "A3");
  }
  assert_true(seen2 && seen3);
  bool unused;
  W(f);
  OK(store_attachment_delete(f->s, "A2", "aaaa", &unused));
  assert_false(unused); /* A1, attached, shares the bytes */
  OK(store_attachment_delete(f->s, "A3", "bbbb", &unused));
  assert_true(unused);
  assert_int_equal(store_attachment_delete(f->s, "A1", "aaaa", &unused), PL_ECONFLICT);
  C(f);
  R(f);
  st_attachment g;
  OK(store_attachment_get(f->s, "A1", false, f->a, &g));
  assert_int_equal(store_attachment_get(f->s, "A2", false, f->a, &g), PL_ENOTFOUND);
  OK(store_attachment_orphans(f->s, T0 + 1000, 10, f->a, &old, &k));
  RB(f);
  assert_int_equal(k, 1);
  assert_string_equal(old[0].id, "A4");
}


/* An inbox search by ASIN reads only the seller's own order items: an item row of
 * another seller never brings a thread into this seller's results, whatever order it
 * names (queries on seller-owned rows filter by seller, so that the schema can be
 * distributed by seller). */
static void test_thread_list_asin_scope(void **state) {
  fx *f = *state;
  inbox x = make_inbox(f);
  assert_true(raw_exec(f, "INSERT INTO order_items(order_id, seller_id, pos, asin, title, quantity)"
                          " VALUES ('112-A', 'S2', 7, 'B0FOREIGN1', 'Not ours', 1)"));
  expect_list(f, (st_thread_query){.seller_id = "S1", .asin = "B0FOREIGN1"}, NONE);
  expect_list(f, (st_thread_query){.seller_id = "S1", .asin = "B0AAA0000A"}, IDS(x.a));
  expect_list(f, (st_thread_query){.seller_id = "S2", .asin = "B0AAA0000A"}, NONE);
  expect_list(f, (st_thread_query){.seller_id = "S2", .asin = "B0AAA0000E"}, IDS(x.e));
}

/* Attachments as messages carry them: the readable record of a content, a thread's
 * attachments by message and position, the messages carrying one; idempotency rows read
 * back as stored. */
static void test_attachment_links(void **state) {
  fx *f = *state;
  world(f);
  put_order(f, "111-0000000-0000002", "S1", "B1", "B0A", T0);
  put_order(f, "111-0000000-0000003", "S2", "B1", "B0B", T0);
  int64_t t = new_thread(f, "S1", "B1", "111-0000000-0000002", NULL, T0);
  int64_t u = new_thread(f, "S2", "B1", "111-0000000-0000003", NULL, T0);
  st_attachment unread = {.id = "A0", .seller_id = "S1", .uploader = "agent:1", .name = "scan.pdf",
                          .kind = "pdf", .sha256 = "ab12", .size = 10, .readable = false,
                          .reason = "encrypted", .created_at = T0};
  st_attachment a1 = {.id = "A1", .seller_id = "S1", .uploader = "agent:1", .name = "label.pdf",
                      .kind = "pdf", .sha256 = "ab12", .size = 10, .readable = true,
                      .segments_json = "[{\"page\":1,\"source\":\"text\",\"text\":\"hello\"}]",
                      .created_at = T0 + 1};
  st_attachment a2 = {.id = "A2", .buyer_id = "B1", .uploader = "buyer:B1", .name = "photo.png",
                      .kind = "png", .sha256 = "cd34", .size = 20, .readable = true, .created_at = T0 + 2};
  W(f);
  OK(store_attachment_put(f->s, &unread));
  OK(store_attachment_put(f->s, &a1));
  OK(store_attachment_put(f->s, &a2));
  int64_t m1 = add_msg(f, t, "S1", ST_DIR_SELLER, "two files", ST_STATUS_DELIVERED, T0 + 10);
  int64_t m2 = add_msg(f, t, "S1", ST_DIR_BUYER, "one file", ST_STATUS_DELIVERED, T0 + 20);
  int64_t m3 = add_msg(f, u, "S2", ST_DIR_BUYER, "same photo elsewhere", ST_STATUS_DELIVERED, T0 + 30);
  OK(store_attachment_link(f->s, m1, t, "S1", "A2", 1));
  OK(store_attachment_link(f->s, m1, t, "S1", "A1", 0));
  OK(store_attachment_link(f->s, m2, t, "S1", "A2", 0));
  OK(store_attachment_link(f->s, m3, u, "S2", "A2", 0));
  assert_int_equal(store_attachment_link(f->s, m1, t, "S1", "A1", 2), PL_EEXIST);
  C(f);
  R(f);
  st_attachment g;
  /* the readable record of the content, with its text; none for unknown content */
  OK(store_attachment_find_sha(f->s, "ab12", f->a, &g));
  assert_string_equal(g.id, "A1");
  assert_true(g.readable);
  assert_non_null(strstr(g.segments_json, "hello"));
  assert_int_equal(store_attachment_find_sha(f->s, "ffff", f->a, &g), PL_ENOTFOUND);
  OK(store_attachment_get(f->s, "A0", true, f->a, &g));
  assert_false(g.readable);
  assert_string_equal(g.reason, "encrypted");
  OK(store_attachment_get(f->s, "A2", false, f->a, &g));
  assert_null(g.seller_id);
  assert_string_equal(g.buyer_id, "B1");
  assert_null(g.segments_json);
  /* a thread's attachments: by message, then position; another thread's are not there */
  st_msg_attachment *l;
  size_t n;
  OK(store_attachment_links(f->s, t, NULL, f->a, &l, &n));
  assert_int_equal(n, 3);
  assert_int_equal(l[0].message_id, m1);
  assert_string_equal(l[0].id, "A1");
  assert_string_equal(l[0].name, "label.pdf");
  assert_string_equal(l[0].kind, "pdf");
  assert_int_equal(l[0].size, 10);
  assert_int_equal(l[1].message_id, m1);
  assert_string_equal(l[1].id, "A2");
  assert_int_equal(l[2].message_id, m2);
  for (size_t i = 0; i < n; i++) assert_int_equal(l[i].thread_id, t);
  OK(store_attachment_links(f->s, u, NULL, f->a, &l, &n));
  assert_int_equal(n, 1);
  assert_int_equal(l[0].message_id, m3);
  OK(store_attachment_links(f->s, u + 100, NULL, f->a, &l, &n));
  assert_int_equal(n, 0);
  /* the messages carrying one */
  OK(store_attachment_links(f->s, 0, "A2", f->a, &l, &n));
  assert_int_equal(n, 3);
  assert_int_equal(l[0].message_id, m1);
  assert_int_equal(l[1].message_id, m2);
  assert_int_equal(l[2].message_id, m3);
  assert_int_equal(l[2].thread_id, u);
  OK(store_attachment_links(f->s, 0, "A0", f->a, &l, &n));
  assert_int_equal(n, 0);
  RB(f);

  /* idem_get: the row as claimed, then as finished; none for another principal */
  st_idem row;
  bool claimed;
  W(f);
  OK(store_idem_claim(f->s, "agent:1", "key-1", "fp", T0, f->a, &claimed, &row));
  assert_true(claimed);
  OK(store_idem_get(f->s, "agent:1", "key-1", f->a, &row));
  assert_string_equal(row.principal, "agent:1");
  assert_string_equal(row.key, "key-1");
  assert_string_equal(row.fingerprint, "fp");
  assert_int_equal(row.status, 0);
  assert_null(row.body);
  OK(store_idem_finish(f->s, "agent:1", "key-1", 202, "{\"ok\":true}"));
  C(f);
  R(f);
  OK(store_idem_get(f->s, "agent:1", "key-1", f->a, &row));
  assert_int_equal(row.status, 202);
  assert_string_equal(row.body, "{\"ok\":true}");
  assert_int_equal(row.created_at, T0);
  assert_int_equal(store_idem_get(f->s, "agent:2", "key-1", f->a, &row), PL_ENOTFOUND);
  assert_int_equal(store_idem_get(f->s, "agent:1", "key-2", f->a, &row), PL_ENOTFOUND);
  RB(f);
}

/* Several threads write into one conversation at once: every write lands once and the
 * read-modify-write of the thread summary loses nothing. */
enum { WORKERS = 4, ROUNDS = 15 };

typedef struct {
  fx *f;
  int64_t thread;
  int n;
  int errors;
} worker;

static void *work(void *arg) {
  worker *w = arg;
  fx *f = w->f;
  pl_arena *a = pl_arena_new();
  for (int i = 0; i < ROUNDS; i++) {
    if (store_begin(f->s, true)) {
      w->errors++;
      continue;
    }
    st_thread t;
    char text[64];
    snprintf(text, sizeof text, "worker %d message %d", w->n, i);
    pl_err e = OP(f, thread_get)(f->s, w->thread, a, &t);
    st_message m = {.thread_id = w->thread, .seller_id = "S1", .direction = ST_DIR_BUYER,
                    .kind = ST_KIND_MESSAGE, .text = text, .at = T0 + i};
    if (!e) e = OP(f, message_insert)(f->s, &m);
    if (!e) {
      t.waiting++; /* a summary computed from what was read */
      e = OP(f, thread_update)(f->s, &t);
    }
    st_audit au = {.seller_id = "S1", .actor = "w", .action = "message.buyer", .subject = "conc",
                   .detail_json = "{}", .at = T0 + i};
    if (!e) e = OP(f, audit_append)(f->s, &au);
    if (e) {
      RB(f);
      w->errors++;
    } else if (store_commit(f->s)) {
      w->errors++;
    }
    /* A read transaction between the writes, beside the other threads' writes. */
    if (!store_begin(f->s, false)) {
      if (OP(f, ping)(f->s)) w->errors++;
      RB(f);
    }
  }
  pl_arena_free(a);
  return NULL;
}

/* ---- group commit (SQLite) ------------------------------------------------------------ */

#define GC_WRITERS 5

typedef struct {
  fx *f;
  int n;
  atomic_int *returned; /* how many commits have returned */
  pl_err e;
} gc_writer;

typedef struct {
  store *s;
  atomic_int *returned;
  int syncs_seen;
  int returned_at_sync[4];
  uint64_t committed_at_sync[4], synced_at_sync[4];
} gc_watch;

static void *gc_write(void *arg) {
  gc_writer *w = arg;
  char name[32];
  snprintf(name, sizeof name, "Group %d", w->n);
  w->e = store_begin(w->f->s, true);
  if (!w->e) {
    st_buyer b = {.id = name, .name = name, .locale = "en-US", .email_sealed = "x", .email_hash = name};
    w->e = store_buyer_put(w->f->s, &b);
    if (w->e) store_rollback(w->f->s);
    else w->e = store_commit(w->f->s);
  }
  atomic_fetch_add(w->returned, 1);
  return NULL;
}

/* The first sync waits until every other writer has committed or joined the batch left
 * open while the disk flushes: then that batch commits when the flush ends, one more
 * fdatasync must serve all of them, and no writer may have returned before the sync
 * that covers it. */
static void gc_hook(void *ctx) {
  gc_watch *g = ctx;
  uint64_t committed, synced, syncs;
  if (g->syncs_seen == 0) {
    for (int i = 0; i < 100000; i++) {
      sq__group_commit_counts(g->s, &committed, &synced, &syncs);
      if (committed + (uint64_t)sq__batch_open(g->s) == GC_WRITERS) break;
      usleep(100);
    }
  }
  sq__group_commit_counts(g->s, &committed, &synced, &syncs);
  if (g->syncs_seen < 4) {
    g->returned_at_sync[g->syncs_seen] = atomic_load(g->returned);
    g->committed_at_sync[g->syncs_seen] = committed;
    g->synced_at_sync[g->syncs_seen] = synced;
  }
  g->syncs_seen++;
}

static void test_group_commit(void **state) {
  fx *f = *state;
  atomic_int returned = 0;
  gc_watch g = {.s = f->s, .returned = &returned};
  uint64_t c0, s0, n0, b0, b1;
  int waiting;
  sq__group_commit_counts(f->s, &c0, &s0, &n0);
  assert_int_equal(c0, 0);
  sq__batch_counts(f->s, &b0, &waiting);
  sq__group_commit_watch(f->s, gc_hook, &g);
  pthread_t th[GC_WRITERS];
  gc_writer w[GC_WRITERS];
  for (int i = 0; i < GC_WRITERS; i++) {
    w[i] = (gc_writer){.f = f, .n = i, .returned = &returned};
    assert_int_equal(pthread_create(&th[i], NULL, gc_write, &w[i]), 0);
  }
  for (int i = 0; i < GC_WRITERS; i++) pthread_join(th[i], NULL);
  sq__group_commit_watch(f->s, NULL, NULL);
  for (int i = 0; i < GC_WRITERS; i++) assert_int_equal(w[i].e, PL_OK);
  uint64_t committed, synced, syncs;
  sq__group_commit_counts(f->s, &committed, &synced, &syncs);
  assert_int_equal(committed, GC_WRITERS);
  assert_int_equal(synced, GC_WRITERS);
  /* the first sync for the commits before it began (usually one), at most one more for
   * all that committed while it ran: not one per commit */
  assert_in_range(syncs, 1, 2);
  assert_int_equal(g.syncs_seen, (int)syncs);
  /* what arrived while the disk flushed waited in one open batch: a commit a flush */
  sq__batch_counts(f->s, &b1, &waiting);
  assert_int_equal(b1 - b0, syncs);
  /* when each sync began, only commits an earlier sync covered had returned: none was
   * acknowledged before it was durable */
  assert_int_equal(g.synced_at_sync[0], 0);
  assert_int_equal(g.returned_at_sync[0], 0);
  if (syncs == 2) {
    assert_true(g.synced_at_sync[1] >= 1);
    assert_true((uint64_t)g.returned_at_sync[1] <= g.synced_at_sync[1]);
    assert_int_equal(g.committed_at_sync[1], GC_WRITERS);
  }
  /* a read-only transaction waits for no sync */
  uint64_t before = syncs;
  R(f);
  st_buyer b;
  OK(store_buyer_get(f->s, "Group 3", NULL, f->a, &b));
  RB(f);
  sq__group_commit_counts(f->s, &committed, &synced, &syncs);
  assert_int_equal(syncs, before);
  /* and everything is there after the store is closed and opened again */
  store_close(f->s);
  pl_detail d = {0};
  OK(store_open(f->url, &f->s, &d));
  R(f);
  for (int i = 0; i < GC_WRITERS; i++) {
    char name[32];
    snprintf(name, sizeof name, "Group %d", i);
    OK(store_buyer_get(f->s, name, NULL, f->a, &b));
  }
  RB(f);
}

/* ---- batches (SQLite) ------------------------------------------------------------------ */

typedef struct {
  fx *f;
  const char *name;
  bool undo; /* rolls its transaction back instead of committing */
  pl_err e;
} batch_writer;

static void *batch_read(void *arg) {
  batch_writer *w = arg;
  pl_arena *a = pl_arena_new();
  st_buyer b;
  w->e = store_begin(w->f->s, false);
  if (!w->e) {
    w->e = store_buyer_get(w->f->s, w->name, NULL, a, &b);
    store_rollback(w->f->s);
  }
  pl_arena_free(a);
  return NULL;
}

static void *batch_write(void *arg) {
  batch_writer *w = arg;
  w->e = store_begin(w->f->s, true);
  if (w->e) return NULL;
  st_buyer b = {.id = (char *)w->name, .name = (char *)w->name, .locale = "en-US", .email_sealed = "x",
                .email_hash = (char *)w->name};
  w->e = store_buyer_put(w->f->s, &b);
  if (w->e || w->undo) store_rollback(w->f->s);
  else w->e = store_commit(w->f->s);
  return NULL;
}

/* Writers that wait for the connection while a write transaction is open join it: one
 * SQLite transaction and one flush for all of them. One that rolls back undoes only its
 * own work; a read-only transaction meanwhile neither waits for the writer nor sees what
 * the open batch has not committed. */
static void test_batch(void **state) {
  fx *f = *state;
  uint64_t b0, c0, s0, n0;
  int waiting;
  sq__batch_counts(f->s, &b0, &waiting);
  sq__group_commit_counts(f->s, &c0, &s0, &n0);
  W(f);
  st_buyer first = {.id = "Batch 0", .name = "Batch 0", .locale = "en-US", .email_sealed = "x",
                    .email_hash = "Batch 0"};
  OK(store_buyer_put(f->s, &first));
  batch_writer w[3] = {{.f = f, .name = "Batch 1"}, {.f = f, .name = "Batch 2", .undo = true},
                       {.f = f, .name = "Batch 3"}};
  pthread_t th[3];
  for (int i = 0; i < 3; i++) assert_int_equal(pthread_create(&th[i], NULL, batch_write, &w[i]), 0);
  /* wait until all three wait for the connection (no deadline: a hang fails the suite) */
  do {
    usleep(1000);
    sq__batch_counts(f->s, &b0, &waiting);
  } while (waiting < 3);
  /* a reader does not wait for the writer, and sees only what has committed */
  batch_writer rd = {.f = f, .name = "Batch 0"};
  pthread_t rth;
  assert_int_equal(pthread_create(&rth, NULL, batch_read, &rd), 0);
  pthread_join(rth, NULL);
  assert_int_equal(rd.e, PL_ENOTFOUND);
  C(f); /* returns once the last of the three has ended the batch and it is durable */
  for (int i = 0; i < 3; i++) pthread_join(th[i], NULL);
  for (int i = 0; i < 3; i++) assert_int_equal(w[i].e, PL_OK);
  uint64_t b1, c1, s1, n1;
  sq__batch_counts(f->s, &b1, &waiting);
  sq__group_commit_counts(f->s, &c1, &s1, &n1);
  assert_int_equal(b1 - b0, 1);
  assert_int_equal(c1 - c0, 3);
  assert_int_equal(n1 - n0, 1);
  R(f);
  st_buyer b;
  OK(store_buyer_get(f->s, "Batch 0", NULL, f->a, &b));
  OK(store_buyer_get(f->s, "Batch 1", NULL, f->a, &b));
  assert_int_equal(store_buyer_get(f->s, "Batch 2", NULL, f->a, &b), PL_ENOTFOUND);
  OK(store_buyer_get(f->s, "Batch 3", NULL, f->a, &b));
  RB(f);
  /* a read-only transaction cannot write: it runs on a reader connection */
  R(f);
  assert_int_not_equal(store_buyer_put(f->s, &first), PL_OK);
  RB(f);
}

static void test_concurrent(void **state) {
  fx *f = *state;
  world(f);
  put_order(f, "112-1", "S1", "B1", "B0AAA00001", T0);
  int64_t t1 = new_thread(f, "S1", "B1", "112-1", NULL, T0);
  pthread_t th[WORKERS];
  worker w[WORKERS];
  for (int i = 0; i < WORKERS; i++) {
    w[i] = (worker){.f = f, .thread = t1, .n = i};
    assert_int_equal(pthread_create(&th[i], NULL, work, &w[i]), 0);
  }
  for (int i = 0; i < WORKERS; i++) pthread_join(th[i], NULL);
  for (int i = 0; i < WORKERS; i++) assert_int_equal(w[i].errors, 0);
  R(f);
  st_thread t;
  OK(OP(f, thread_get)(f->s, t1, f->a, &t));
  st_message *l;
  size_t n;
  OK(OP(f, message_list)(f->s, t1, f->a, &l, &n));
  RB(f);
  assert_int_equal(n, WORKERS * ROUNDS);
  assert_int_equal(t.waiting, WORKERS * ROUNDS);
  check_chain(f, "conc", WORKERS * ROUNDS);
}

/* Runs fn(f) with stderr going to a file, and returns what was written there (in f->a). */
static char *stderr_of(fx *f, void (*fn)(fx *)) {
  char path[] = "/tmp/parley-stderr-XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  fflush(stderr);
  int saved = dup(2);
  dup2(fd, 2);
  fn(f);
  fflush(stderr);
  dup2(saved, 2);
  close(saved);
  char buf[8192];
  ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
  close(fd);
  unlink(path);
  buf[n > 0 ? n : 0] = '\0';
  return pl_arena_strdup(f->a, buf);
}

/* The bucket's table is gone (dropped by another client): a statement already prepared
 * fails when it runs, one not yet prepared when it prepares; both are store failures. */
static void use_dropped_table(fx *f) {
  double tokens, at;
  W(f);
  assert_int_equal(OP(f, rate_bucket_get)(f->s, "S1", "send", 1.0, 0.0, &tokens, &at), PL_ESTORE);
  RB(f);
  W(f);
  assert_int_equal(OP(f, rate_bucket_put)(f->s, "S1", "send", 1.0, 0.0), PL_ESTORE);
  RB(f);
}

/* A store failure is logged with the backend's own message and the statement, so that
 * the operator sees why; what the store returns is only PL_ESTORE. A refused row
 * (a constraint) is an answer, not a failure, and is not logged. */
static void test_failures_logged(void **state) {
  fx *f = *state;
  world(f);
  double tokens, at;
  W(f);
  OK(OP(f, rate_bucket_get)(f->s, "S1", "send", 1.0, 0.0, &tokens, &at)); /* prepared */
  C(f);
  assert_true(raw_exec(f, "DROP TABLE rate_buckets"));
  char *log = stderr_of(f, use_dropped_table);
  const char *want = f->pg ? "parley: postgres: 42P01 relation \"rate_buckets\" does not exist"
                           : "parley: sqlite: no such table: rate_buckets";
  if (!strstr(log, want)) fail_msg("stderr lacks \"%s\":\n%s", want, log);
  if (!f->pg) {
    /* SQLite names the statement, and the step that failed as well as the prepare */
    assert_non_null(strstr(log, "in \"SELECT tokens, updated_at FROM rate_buckets"));
    assert_non_null(strstr(log, "in \"INSERT INTO rate_buckets"));
  }
  int lines = 0;
  for (const char *c = log; *c; c++) lines += *c == '\n';
  assert_int_equal(lines, 2); /* once per failure */
}

/* PostgreSQL only: the URL's own parameters. */
static void test_pg_url(void **state) {
  (void)state;
  char url[1200];
  store *s = NULL;
  pl_detail d = {0};
  url_with_db(pg_base, "postgres", "pool_size=0", url, sizeof url);
  assert_int_equal(store_open(url, &s, &d), PL_EINVAL);
  assert_non_null(strstr(d.msg, "pool_size"));
  url_with_db(pg_base, "parley_no_such_database", NULL, url, sizeof url);
  assert_int_equal(store_open(url, &s, &d), PL_ESTORE);
  assert_non_null(strstr(d.msg, "PostgreSQL"));
}

/* PostgreSQL only: two stores on one database, as two nodes: both migrate (once), and a
 * chain appended through both stays one chain. */
static void test_pg_two_nodes(void **state) {
  fx *f = *state;
  store *other;
  pl_detail d = {0};
  OK(store_open(f->url, &other, &d));
  for (int i = 0; i < 6; i++) {
    store *s = i % 2 ? other : f->s;
    OK(store_begin(s, true));
    st_audit e = {.actor = "node", .action = "x", .subject = "two", .at = T0 + i};
    OK(s->ops->audit_append(s, &e));
    OK(store_commit(s));
  }
  store_close(other);
  check_chain(f, "two", 6);
}

/* Retention: a legal hold keeps a thread however old; the purge takes a whole thread
 * (messages, events, states, outcomes, full-text rows) and nothing else, and outside a
 * purge the record stays append-only. */
static void test_retention(void **state) {
  fx *f = *state;
  world(f);
  put_order(f, "112-4", "S1", "B1", "B0AAA00004", T0);
  put_order(f, "112-3", "S1", "B1", "B0AAA00003", T0);
  int64_t old = new_thread(f, "S1", "B1", "112-4", NULL, T0);
  int64_t held = new_thread(f, "S1", "B1", "112-3", NULL, T0);
  int64_t fresh = new_thread(f, "S1", "B2", NULL, "B0AAA00001", T0 + 200 * 86400);
  W(f);
  int64_t m1 = add_msg(f, old, "S1", ST_DIR_BUYER, "zebrafish question", ST_STATUS_DELIVERED, T0);
  add_msg(f, old, "S1", ST_DIR_SELLER, "zebrafish answer", ST_STATUS_DELIVERED, T0 + 60);
  int64_t m3 = add_msg(f, held, "S1", ST_DIR_BUYER, "held zebrafish", ST_STATUS_DELIVERED, T0);
  add_msg(f, fresh, "S1", ST_DIR_BUYER, "fresh zebrafish", ST_STATUS_DELIVERED, T0 + 200 * 86400);
  sla_outcome o = {.msg_id = m1, .thread_id = old, .received_at = T0};
  OK(store_sla_outcome_set(f->s, "S1", &o));
  st_legal_hold h = {.thread_id = held, .seller_id = "S1", .marketplace_id = MP, .reason = "dispute 42",
                     .set_by = "operator:ops", .set_at = T0};
  OK(store_legal_hold_set(f->s, &h));
  h.reason = "dispute 43"; /* again: the reason replaced */
  OK(store_legal_hold_set(f->s, &h));
  C(f);
  R(f);
  st_legal_hold g, *hs;
  size_t n;
  OK(store_legal_hold_get(f->s, held, f->a, &g));
  assert_string_equal(g.reason, "dispute 43");
  assert_int_equal(store_legal_hold_get(f->s, old, f->a, &g), PL_ENOTFOUND);
  OK(store_legal_hold_list(f->s, MP, 0, 10, f->a, &hs, &n));
  assert_int_equal(n, 1);
  assert_int_equal(hs[0].thread_id, held);
  OK(store_legal_hold_list(f->s, "A1PM5L3YTRR5AE", 0, 10, f->a, &hs, &n));
  assert_int_equal(n, 0);
  OK(store_legal_hold_list(f->s, NULL, held, 10, f->a, &hs, &n));
  assert_int_equal(n, 0); /* after the last one */
  int64_t *due;
  OK(store_retention_due(f->s, "S1", T0 + 100 * 86400, 10, f->a, &due, &n));
  assert_int_equal(n, 1); /* not the held one, not the fresh one */
  assert_int_equal(due[0], old);
  RB(f);
  W(f);
  int64_t msgs;
  OK(store_thread_purge(f->s, old, &msgs));
  assert_int_equal(msgs, 2);
  C(f);
  R(f);
  st_thread t;
  st_message m;
  assert_int_equal(OP(f, thread_get)(f->s, old, f->a, &t), PL_ENOTFOUND);
  assert_int_equal(OP(f, message_get)(f->s, m1, NULL, f->a, &m), PL_ENOTFOUND);
  assert_int_equal(store_sla_outcome_get(f->s, m1, &o), PL_ENOTFOUND);
  OK(OP(f, message_get)(f->s, m3, NULL, f->a, &m));
  RB(f);
  expect_list(f, (st_thread_query){.seller_id = "S1", .fts = "zebrafish"}, IDS(fresh, held));
  /* SQLite's full-text index was told exactly what it held */
  if (!f->pg) assert_true(raw_exec(f, "INSERT INTO messages_fts(messages_fts, rank) VALUES ('integrity-check', 1)"));
  /* outside a purge, the record keeps every row */
  char sql[128];
  snprintf(sql, sizeof sql, "DELETE FROM messages WHERE thread_id = %lld", (long long)held);
  assert_false(raw_exec(f, sql));
  snprintf(sql, sizeof sql, "DELETE FROM message_events WHERE thread_id = %lld", (long long)held);
  assert_false(raw_exec(f, sql));
  W(f);
  OK(store_legal_hold_delete(f->s, held));
  assert_int_equal(store_legal_hold_delete(f->s, held), PL_ENOTFOUND);
  C(f);
}

#define BACKEND_TESTS(setup)                                                  \
  cmocka_unit_test_setup_teardown(test_exec, setup, teardown),                 \
  cmocka_unit_test_setup_teardown(test_parties, setup, teardown),              \
  cmocka_unit_test_setup_teardown(test_agents, setup, teardown),               \
  cmocka_unit_test_setup_teardown(test_agent_addresses, setup, teardown),      \
  cmocka_unit_test_setup_teardown(test_aliases, setup, teardown),              \
  cmocka_unit_test_setup_teardown(test_tokens, setup, teardown),               \
  cmocka_unit_test_setup_teardown(test_sealed_walk, setup, teardown),          \
  cmocka_unit_test_setup_teardown(test_identities, setup, teardown),           \
  cmocka_unit_test_setup_teardown(test_orders, setup, teardown),               \
  cmocka_unit_test_setup_teardown(test_threads, setup, teardown),              \
  cmocka_unit_test_setup_teardown(test_messages, setup, teardown),             \
  cmocka_unit_test_setup_teardown(test_append_only, setup, teardown),          \
  cmocka_unit_test_setup_teardown(test_audit, setup, teardown),                \
  cmocka_unit_test_setup_teardown(test_audit_chains, setup, teardown),                \
  cmocka_unit_test_setup_teardown(test_thread_list_filters, setup, teardown),  \
  cmocka_unit_test_setup_teardown(test_thread_list_search, setup, teardown),   \
  cmocka_unit_test_setup_teardown(test_index_savepoints, setup, teardown),     \
  cmocka_unit_test_setup_teardown(test_retention, setup, teardown),            \
  cmocka_unit_test_setup_teardown(test_thread_list_seller_index, setup, teardown), \
  cmocka_unit_test_setup_teardown(test_thread_list_cursor, setup, teardown),   \
  cmocka_unit_test_setup_teardown(test_thread_list_asin_scope, setup, teardown), \
  cmocka_unit_test_setup_teardown(test_attachment_links, setup, teardown),     \
  cmocka_unit_test_setup_teardown(test_transactions, setup, teardown),         \
  cmocka_unit_test_setup_teardown(test_backup, setup, teardown),               \
  cmocka_unit_test_setup_teardown(test_limits_and_keys, setup, teardown),      \
  cmocka_unit_test_setup_teardown(test_failures_logged, setup, teardown),      \
  cmocka_unit_test_setup_teardown(test_message_page, setup, teardown),         \
  cmocka_unit_test_setup_teardown(test_concurrent, setup, teardown)

int main(void) {
  const struct CMUnitTest sqlite_tests[] = {BACKEND_TESTS(setup_sqlite),
                                            cmocka_unit_test_setup_teardown(test_group_commit, setup_sqlite, teardown),
                                            cmocka_unit_test_setup_teardown(test_batch, setup_sqlite, teardown),
                                            cmocka_unit_test_setup_teardown(test_statement_slots, setup_sqlite, teardown),
                                            cmocka_unit_test(test_state_names),
                                            cmocka_unit_test(test_every_entry_called)};
  int rc = cmocka_run_group_tests_name("store.sqlite", sqlite_tests, reset_calls, NULL);
  pg_base = getenv("PARLEY_TEST_PG_URL");
  if (!pg_base || !*pg_base) {
    printf("store.pg: skipped (set PARLEY_TEST_PG_URL, see scripts/pg-test.sh)\n");
    return rc;
  }
  const struct CMUnitTest pg_tests[] = {
      BACKEND_TESTS(setup_pg),
      cmocka_unit_test(test_pg_url),
      cmocka_unit_test_setup_teardown(test_pg_two_nodes, setup_pg, teardown),
      cmocka_unit_test(test_every_entry_called),
  };
  return rc | cmocka_run_group_tests_name("store.pg", pg_tests, reset_calls, NULL);
}
