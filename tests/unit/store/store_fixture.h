/* store_fixture.h - the fixture of the store conformance suite (test_store*.c).
 *
 * Each test_store_<part>.c includes this once, after defining STORE_PART to the part it
 * covers. A store opens on SQLite (a temporary file) and, when PARLEY_TEST_PG_URL names
 * a PostgreSQL server (scripts/pg-test.sh), on a fresh database of that server per test.
 *
 * Completeness: STORE_OPS lists every entry of store_ops with the part whose tests call
 * it. The list must have one line per entry (a static assertion counts them, a test
 * checks that no two lines name the same entry), so an entry added to store_ops fails the
 * build until it is given a part; and each part's last test fails unless every entry of
 * that part was called on that backend through OP(). The functions written once over
 * exec (store.h, "written once") are held to the same by tests/store_calls.cmake: some
 * test of tests/unit/store/ calls each, and every test runs on both backends. */
#ifndef PL_TEST_STORE_FIXTURE_H
#define PL_TEST_STORE_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/store.h"
#include "store/store_sqlite_int.h"

/* ---- every entry of store_ops, and the part that covers it ---------------------------- */

enum { CORE = 1, RULES, SLA, MAIL, TEAM };

#define STORE_OPS(X) \
  X(close, CORE) \
  X(begin, CORE) \
  X(commit, CORE) \
  X(rollback, CORE) \
  X(ping, CORE) \
  X(backup, CORE) \
  X(counters, RULES) \
  X(savepoint, CORE) \
  X(exec, CORE) \
  X(thread_insert, CORE) \
  X(thread_get, CORE) \
  X(thread_find, CORE) \
  X(thread_update, CORE) \
  X(thread_list, CORE) \
  X(message_insert, CORE) \
  X(message_get, CORE) \
  X(message_list, CORE) \
  X(message_page, CORE) \
  X(message_seller_text_pending, CORE) \
  X(message_seller_text_put, CORE) \
  X(event_insert, CORE) \
  X(rate_bucket_get, RULES) \
  X(rate_bucket_put, RULES) \
  X(sla_thread_events, SLA) \
  X(sla_range_events, SLA) \
  X(sla_outcomes_get, SLA) \
  X(sla_outcomes_put, SLA) \
  X(sla_thread_outcome_get, SLA) \
  X(thread_tail, SLA) \
  X(sla_bucket_get, SLA) \
  X(sla_bucket_put, SLA) \
  X(sla_bucket_range, SLA) \
  X(audit_append, CORE) \
  X(bus_start, MAIL) \
  X(bus_send, MAIL) \
  X(bus_stop, MAIL)

/* One slot per function pointer after `name`. */
#define STORE_OPS_FIRST offsetof(store_ops, close)
#define STORE_OPS_SLOTS ((sizeof(store_ops) - STORE_OPS_FIRST) / sizeof(void (*)(void)))
#define STORE_OPS_SLOT(m) ((offsetof(store_ops, m) - STORE_OPS_FIRST) / sizeof(void (*)(void)))

typedef struct {
  const char *name;
  size_t slot;
  int part;
} store_op_entry;

#define STORE_OP_ENTRY(m, p) {#m, STORE_OPS_SLOT(m), p},
static const store_op_entry store_op_entries[] = {STORE_OPS(STORE_OP_ENTRY)};
#undef STORE_OP_ENTRY

_Static_assert(sizeof store_op_entries / sizeof store_op_entries[0] == STORE_OPS_SLOTS,
               "an entry of store_ops is missing from STORE_OPS (store_fixture.h): give it a part"
               " and a test");
_Static_assert(offsetof(store_ops, close) == sizeof(const char *), "store_ops begins with name");

/* Calls made through OP() on the current backend, by slot. */
static atomic_uint store_op_calls[sizeof store_op_entries / sizeof store_op_entries[0]];

static inline void store_op_hit(size_t slot) { atomic_fetch_add(&store_op_calls[slot], 1); }

/* The entry m of the store's ops, counted as called. */
#define OPS(f) ((f)->s->ops)
#define OP(f, m) (store_op_hit(STORE_OPS_SLOT(m)), OPS(f)->m)
/* An optional entry the backend does not have: checked to be absent, which is its test. */
#define OP_ABSENT(f, m) (store_op_hit(STORE_OPS_SLOT(m)), assert_true(OPS(f)->m == NULL))

static inline int reset_calls(void **state) {
  (void)state;
  for (size_t i = 0; i < STORE_OPS_SLOTS; i++) atomic_store(&store_op_calls[i], 0);
  return 0;
}

/* The last test of a backend's group: every entry of this part was called, and the list
 * names each entry once. */
static inline void test_every_entry_called(void **state) {
  (void)state;
  bool seen[STORE_OPS_SLOTS] = {0};
  for (size_t i = 0; i < STORE_OPS_SLOTS; i++) {
    const store_op_entry *e = &store_op_entries[i];
    if (e->slot >= STORE_OPS_SLOTS || seen[e->slot]) fail_msg("STORE_OPS names %s twice", e->name);
    seen[e->slot] = true;
  }
  int missing = 0;
  for (size_t i = 0; i < STORE_OPS_SLOTS; i++) {
    const store_op_entry *e = &store_op_entries[i];
    if (e->part == STORE_PART && atomic_load(&store_op_calls[e->slot]) == 0) {
      print_error("store_ops.%s is never called by this part's tests\n", e->name);
      missing++;
    }
  }
  assert_int_equal(missing, 0);
}

#define MP "ATVPDKIKX0DER"
#define T0 INT64_C(1791190800) /* 2026-10-05T09:00:00Z */

typedef struct {
  bool pg;
  char dir[64];      /* SQLite: the temporary directory */
  char url[1024];    /* the store URL (SQLite: the file path) */
  char raw[1024];    /* PostgreSQL: the database's URL for libpq (no parley parameters) */
  char dbname[64];
  store *s;
  pl_arena *a;
} fx;

static const char *pg_base;
static int pg_seq;

/* The URL of database `name` on the server of `base`: the path replaced. */
static inline void url_with_db(const char *base, const char *name, const char *query, char *out,
                        size_t cap) {
  const char *host = strstr(base, "://");
  host = host ? host + 3 : base;
  size_t hl = strcspn(host, "/?");
  const char *q = strchr(base, '?');
  snprintf(out, cap, "%.*s/%s%s%s%s", (int)(host - base + (ptrdiff_t)hl), base, name,
           q || query ? "?" : "", q ? q + 1 : "", query ? (q ? "&" : "") : "");
  if (query) strncat(out, query, cap - strlen(out) - 1);
}

/* Runs SQL outside the store, as another client would; true when it succeeded. */
static inline bool raw_exec(fx *f, const char *sql_text) {
  if (f->pg) {
    PGconn *c = PQconnectdb(f->raw);
    if (PQstatus(c) != CONNECTION_OK) fail_msg("raw connect: %s", PQerrorMessage(c));
    PGresult *r = PQexec(c, sql_text);
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
    PQclear(r);
    PQfinish(c);
    return ok;
  }
  sqlite3 *db;
  if (sqlite3_open(f->url, &db) != SQLITE_OK) fail_msg("raw open %s", f->url);
  sqlite3_busy_timeout(db, 5000);
  bool ok = sqlite3_exec(db, sql_text, NULL, NULL, NULL) == SQLITE_OK;
  sqlite3_close(db);
  return ok;
}

static inline void admin_sql(const char *sql_text) {
  PGconn *c = PQconnectdb(pg_base);
  if (PQstatus(c) != CONNECTION_OK) fail_msg("cannot reach %s: %s", pg_base, PQerrorMessage(c));
  PGresult *r = PQexec(c, sql_text);
  if (PQresultStatus(r) != PGRES_COMMAND_OK) fail_msg("%s: %s", sql_text, PQerrorMessage(c));
  PQclear(r);
  PQfinish(c);
}

static inline int setup_common(void **state, bool pg, const char *query) {
  fx *f = calloc(1, sizeof *f);
  f->pg = pg;
  if (pg) {
    snprintf(f->dbname, sizeof f->dbname, "parley_unit_%d_%d", (int)getpid(), ++pg_seq);
    char q[160];
    snprintf(q, sizeof q, "CREATE DATABASE %s", f->dbname);
    admin_sql(q);
    url_with_db(pg_base, f->dbname, query, f->url, sizeof f->url);
    url_with_db(pg_base, f->dbname, NULL, f->raw, sizeof f->raw);
  } else {
    strcpy(f->dir, "/tmp/parley-store-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->url, sizeof f->url, "%s/t.db", f->dir);
  }
  pl_detail d = {0};
  pl_err e = store_open(f->url, &f->s, &d);
  if (e) fail_msg("store_open(%s): %s: %s", f->url, pl_errname(e), d.msg);
  f->a = pl_arena_new();
  *state = f;
  return 0;
}

static inline int setup_sqlite(void **state) { return setup_common(state, false, NULL); }
static inline int setup_pg(void **state) { return setup_common(state, true, "pool_size=3"); }

static inline int teardown(void **state) {
  fx *f = *state;
  OP(f, close)(f->s);
  pl_arena_free(f->a);
  if (f->pg) {
    char q[160];
    snprintf(q, sizeof q, "DROP DATABASE IF EXISTS %s WITH (FORCE)", f->dbname);
    admin_sql(q);
  } else {
    char p[1100];
    const char *sfx[] = {"", "-wal", "-shm"};
    for (int i = 0; i < 3; i++) {
      snprintf(p, sizeof p, "%s%s", f->url, sfx[i]);
      unlink(p);
    }
    rmdir(f->dir);
  }
  free(f);
  return 0;
}

#define OK(x) assert_int_equal((x), PL_OK)
#define W(f) OK(OP(f, begin)((f)->s, true))
#define R(f) OK(OP(f, begin)((f)->s, false))
#define C(f) OK(OP(f, commit)((f)->s))
#define RB(f) OP(f, rollback)((f)->s)

/* ---- a small world: one marketplace, two sellers, two buyers, orders ------------------ */

static inline void world(fx *f) {
  W(f);
  st_marketplace m = {.id = MP, .name = "Example US", .locale = "en-US",
                      .domains_json = "[\"example.com\"]", .settings_json = "{}"};
  OK(store_marketplace_put(f->s, &m));
  st_seller s1 = {.id = "S1", .marketplace_id = MP, .name = "Acme Tools", .email_sealed = "sealed1",
                  .alias = "s1@relay.example.com", .created_at = T0};
  st_seller s2 = {.id = "S2", .marketplace_id = MP, .name = "Other Shop", .email_sealed = NULL,
                  .alias = "s2@relay.example.com", .created_at = T0};
  OK(store_seller_put(f->s, &s1));
  OK(store_seller_put(f->s, &s2));
  st_buyer b1 = {.id = "B1", .name = "Jane Doe", .locale = "en-US", .email_sealed = "x",
                 .email_hash = "h1", .opt_out = false};
  st_buyer b2 = {.id = "B2", .name = "Carlos Ruiz", .locale = "es-US", .email_sealed = "y",
                 .email_hash = "h2", .opt_out = true};
  OK(store_buyer_put(f->s, &b1));
  OK(store_buyer_put(f->s, &b2));
  OK(store_alias_put(f->s, MP, "B1", "S1", "b1s1@relay.example.com", T0));
  OK(store_alias_put(f->s, MP, "B2", "S1", "b2s1@relay.example.com", T0));
  OK(store_alias_put(f->s, MP, "B1", "S2", "b1s2@relay.example.com", T0));
  C(f);
}

static inline void put_order(fx *f, const char *id, const char *seller, const char *buyer,
                      const char *asin, pl_time purchased) {
  st_item it = {.asin = (char *)asin, .title = "Thing", .price = "9.99", .currency = "USD",
                .quantity = 1};
  st_order o = {.id = (char *)id, .marketplace_id = MP, .seller_id = (char *)seller,
                .buyer_id = (char *)buyer, .status = ST_ORDER_DELIVERED, .purchased_at = purchased,
                .updated_at = T0, .nitems = 1, .items = &it};
  W(f);
  OK(store_order_put(f->s, &o));
  C(f);
}

static inline int64_t new_thread(fx *f, const char *seller, const char *buyer, const char *order,
                          const char *asin, pl_time at) {
  st_thread t = {.seller_id = (char *)seller, .buyer_id = (char *)buyer, .marketplace_id = MP,
                 .order_id = (char *)order, .asin = order ? NULL : (char *)asin,
                 .topic = "other", .created_at = at, .last_message_at = at};
  W(f);
  OK(OP(f, thread_insert)(f->s, &t));
  C(f);
  assert_true(t.id > 0);
  return t.id;
}

static inline int64_t add_msg(fx *f, int64_t thread, const char *seller, st_direction dir,
                       const char *text, st_msg_status status, pl_time at) {
  st_message m = {.thread_id = thread, .seller_id = (char *)seller, .direction = dir,
                  .kind = ST_KIND_MESSAGE, .text = (char *)text, .at = at};
  OK(OP(f, message_insert)(f->s, &m));
  st_event ev = {.message_id = m.id, .thread_id = thread, .seller_id = (char *)seller,
                 .type = ST_EVENT_STATUS, .value = (char *)st_msg_status_name(status), .actor = "test", .at = at};
  OK(OP(f, event_insert)(f->s, &ev));
  return m.id;
}

/* Runs an inbox query and checks the n thread ids returned, in order. */
static inline void expect_threads(fx *f, st_thread_query q, size_t n, ...) {
  R(f);
  st_thread *l;
  size_t got;
  OK(OP(f, thread_list)(f->s, &q, f->a, &l, &got));
  RB(f);
  va_list ap;
  va_start(ap, n);
  for (size_t i = 0; i < n && i < got; i++) {
    int64_t want = va_arg(ap, int64_t);
    if (l[i].id != want) fail_msg("thread_list[%zu]: got %lld, want %lld", i, (long long)l[i].id, (long long)want);
  }
  va_end(ap);
  assert_int_equal(got, n);
}

#endif
