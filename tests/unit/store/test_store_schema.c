/* test_store_schema.c - the schema's migrations on every backend (docs/operations.md,
 * "Upgrades"): the plan for each mode, a database upgraded step by step equal to a new
 * one, a parley that knows fewer migrations running on a newer database until a
 * contract says it may not, and a check that changes nothing. */
#define STORE_PART 0 /* no entry of store_ops: the schema is opening's business */
#include "store_fixture.h"
#include "store/store_sql.h"

/* ---- the plan (pure) ----------------------------------------------------------------- */

static const char *const plan_sql[] = {
    "CREATE TABLE a(x INTEGER)",
    "CREATE TABLE b(x INTEGER)",
    "-- contract 2: nothing reads b.x after migration 2\nALTER TABLE b DROP COLUMN x",
    "CREATE TABLE c(x INTEGER)",
};

static void test_contract_mark(void **state) {
  (void)state;
  assert_int_equal(store__migration_contract(plan_sql[2]), 2);
  assert_int_equal(store__migration_contract("-- contract 17\nDROP TABLE t"), 17);
  assert_int_equal(store__migration_contract(plan_sql[0]), 0);
  assert_int_equal(store__migration_contract("--contract 3\nDROP TABLE t"), 0);
  assert_int_equal(store__migration_contract("-- contract x\nDROP TABLE t"), 0);
  assert_int_equal(store__migration_contract("CREATE TABLE t(x); -- contract 3"), 0);
}

static void test_plan(void **state) {
  (void)state;
  store_schema s;
  pl_detail d = {0};
  /* a new database: serve applies up to the contract, and may not run, since migration 4
   * (which it needs) waits behind it */
  assert_int_equal(store__schema_plan(0, 0, plan_sql, 4, STORE_SCHEMA_EXPAND, &s, &d), PL_ESTORE);
  assert_non_null(strstr(d.msg, "migration 3"));
  assert_non_null(strstr(d.msg, "parley migrate --apply"));
  assert_int_equal(s.target, 2);
  assert_int_equal(s.first_contract, 3);
  assert_int_equal(s.contract_needs, 2);
  assert_false(s.runnable);
  /* a check plans the same and never fails */
  d = (pl_detail){0};
  assert_int_equal(store__schema_plan(0, 0, plan_sql, 4, STORE_SCHEMA_CHECK, &s, &d), PL_OK);
  assert_int_equal(s.target, 2);
  assert_false(s.runnable);
  /* a parley whose last migration is the contract runs without it */
  assert_int_equal(store__schema_plan(1, 0, plan_sql, 3, STORE_SCHEMA_EXPAND, &s, &d), PL_OK);
  assert_int_equal(s.version, 1);
  assert_int_equal(s.target, 2);
  assert_int_equal(s.first_contract, 3);
  assert_true(s.runnable);
  /* --apply: everything */
  assert_int_equal(store__schema_plan(0, 0, plan_sql, 4, STORE_SCHEMA_ALL, &s, &d), PL_OK);
  assert_int_equal(s.target, 4);
  assert_int_equal(s.first_contract, 0);
  assert_true(s.runnable);
  /* current */
  assert_int_equal(store__schema_plan(4, 2, plan_sql, 4, STORE_SCHEMA_EXPAND, &s, &d), PL_OK);
  assert_int_equal(s.target, 4);
  assert_true(s.runnable);
  /* newer than this parley: it runs while the newer migrations only add... */
  assert_int_equal(store__schema_plan(4, 0, plan_sql, 2, STORE_SCHEMA_EXPAND, &s, &d), PL_OK);
  assert_true(s.runnable);
  assert_int_equal(s.target, 4);
  /* ...and a contract that needs more than it knows stops it, with the numbers */
  assert_int_equal(store__schema_plan(4, 2, plan_sql, 2, STORE_SCHEMA_EXPAND, &s, &d), PL_OK);
  d = (pl_detail){0};
  assert_int_equal(store__schema_plan(4, 3, plan_sql, 2, STORE_SCHEMA_EXPAND, &s, &d), PL_ESTORE);
  assert_non_null(strstr(d.msg, "version 4"));
  assert_non_null(strstr(d.msg, "at least 3"));
  assert_non_null(strstr(d.msg, "knows 2"));
  assert_false(s.runnable);
  assert_int_equal(store__schema_plan(4, 3, plan_sql, 2, STORE_SCHEMA_CHECK, &s, &d), PL_OK);
  assert_false(s.runnable);
}

/* ---- on the backends ------------------------------------------------------------------ */

/* How many migrations this parley has: what a check of the fixture's database says. */
static int known_here(fx *f) {
  store *s = (store *)1;
  store_schema sc;
  pl_detail d = {0};
  store_open_options o = {.mode = STORE_SCHEMA_CHECK};
  OK(store_open_ex(f->url, &o, &s, &sc, &d));
  assert_null(s);
  assert_int_equal(sc.version, sc.known);
  assert_true(sc.runnable);
  return sc.known;
}

/* A second, empty database beside the fixture's, for a store made step by step. */
static void second_url(fx *f, char *url, size_t cap, char *raw, size_t rcap) {
  if (f->pg) {
    char q[200];
    snprintf(q, sizeof q, "CREATE DATABASE %s_b", f->dbname);
    admin_sql(q);
    char name[80];
    snprintf(name, sizeof name, "%s_b", f->dbname);
    url_with_db(pg_base, name, NULL, url, cap);
    url_with_db(pg_base, name, NULL, raw, rcap);
  } else {
    snprintf(url, cap, "%s/b.db", f->dir);
    snprintf(raw, rcap, "%s", url);
  }
}

static void drop_second(fx *f, const char *url) {
  if (f->pg) {
    char q[200];
    snprintf(q, sizeof q, "DROP DATABASE IF EXISTS %s_b WITH (FORCE)", f->dbname);
    admin_sql(q);
    return;
  }
  char p[1100];
  const char *sfx[] = {"", "-wal", "-shm"};
  for (int i = 0; i < 3; i++) {
    snprintf(p, sizeof p, "%s%s", url, sfx[i]);
    unlink(p);
  }
}

/* The schema of a SQLite file as text: every object's SQL, by name. */
static char *sqlite_schema(const char *path) {
  sqlite3 *db;
  if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) fail_msg("open %s", path);
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(db, "SELECT type || ' ' || name || ': ' || coalesce(sql, '') FROM sqlite_master"
                             " ORDER BY type, name", -1, &st, NULL) != SQLITE_OK)
    fail_msg("schema of %s: %s", path, sqlite3_errmsg(db));
  size_t cap = 1 << 16, n = 0;
  char *out = calloc(1, cap);
  while (sqlite3_step(st) == SQLITE_ROW) {
    const char *row = (const char *)sqlite3_column_text(st, 0);
    size_t l = strlen(row);
    while (n + l + 2 > cap) out = realloc(out, cap *= 2);
    memcpy(out + n, row, l);
    n += l;
    out[n++] = '\n';
    out[n] = '\0';
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return out;
}

/* An older database is brought to the current schema by opening it, the migrations it
 * lacks applied and recorded; on SQLite it is then the same schema as a new one. */
static void test_upgrade_step_by_step(void **state) {
  fx *f = *state;
  int n = known_here(f);
  assert_true(n > 3);
  char url[1024], raw[1024];
  second_url(f, url, sizeof url, raw, sizeof raw);
  store *s;
  store_schema sc;
  pl_detail d = {0};
  store_open_options old = {.mode = STORE_SCHEMA_EXPAND, .known = n - 3};
  OK(store_open_ex(url, &old, &s, &sc, &d));
  assert_int_equal(sc.version, 0);
  assert_int_equal(sc.target, n - 3);
  store_close(s);
  store_open_options check = {.mode = STORE_SCHEMA_CHECK};
  OK(store_open_ex(url, &check, &s, &sc, &d));
  assert_int_equal(sc.version, n - 3);
  assert_int_equal(sc.target, n);
  assert_true(sc.runnable);
  /* the check wrote nothing: still n - 3 */
  OK(store_open_ex(url, &check, &s, &sc, &d));
  assert_int_equal(sc.version, n - 3);
  OK(store_open_ex(url, NULL, &s, &sc, &d));
  assert_int_equal(sc.version, n - 3);
  assert_int_equal(sc.target, n);
  store_close(s);
  OK(store_open_ex(url, &check, &s, &sc, &d));
  assert_int_equal(sc.version, n);
  if (!f->pg) {
    char *a = sqlite_schema(f->url), *b = sqlite_schema(url);
    assert_string_equal(a, b);
    free(a);
    free(b);
  }
  drop_second(f, url);
}

/* A parley that knows fewer migrations (an older node during a rolling upgrade) runs on
 * the newer database while the newer migrations only add; once one of them is recorded
 * as a contract that needs more, it is refused, and a check says so without failing. */
static void test_older_parley(void **state) {
  fx *f = *state;
  int n = known_here(f);
  store *s;
  store_schema sc;
  pl_detail d = {0};
  store_open_options older = {.mode = STORE_SCHEMA_EXPAND, .known = n - 1};
  OK(store_open_ex(f->url, &older, &s, &sc, &d));
  assert_int_equal(sc.version, n);
  assert_int_equal(sc.known, n - 1);
  assert_true(sc.runnable);
  store_close(s);
  char q[160];
  snprintf(q, sizeof q, "UPDATE parley_schema SET compat = %d WHERE version = %d", n, n);
  assert_true(raw_exec(f, q));
  d = (pl_detail){0};
  assert_int_equal(store_open_ex(f->url, &older, &s, &sc, &d), PL_ESTORE);
  assert_non_null(strstr(d.msg, "upgrade parley"));
  store_open_options check = {.mode = STORE_SCHEMA_CHECK, .known = n - 1};
  OK(store_open_ex(f->url, &check, &s, &sc, &d));
  assert_false(sc.runnable);
  assert_int_equal(sc.compat, n);
  /* this parley, which knows n, still runs on it */
  OK(store_open_ex(f->url, NULL, &s, &sc, &d));
  assert_true(sc.runnable);
  store_close(s);
}

/* A check makes no database where none is (SQLite). */
static void test_check_creates_nothing(void **state) {
  fx *f = *state;
  if (f->pg) return;
  char url[1100];
  snprintf(url, sizeof url, "%s/none.db", f->dir);
  store *s;
  store_schema sc;
  pl_detail d = {0};
  store_open_options check = {.mode = STORE_SCHEMA_CHECK};
  assert_int_equal(store_open_ex(url, &check, &s, &sc, &d), PL_ESTORE);
  assert_int_equal(access(url, F_OK), -1);
}

/* No CHECK of the SQLite schema is an IN list of more than two values: SQLite would build
 * a temporary b-tree for it at every insert and at every update of its column (it was a
 * tenth of a buyer message's CPU). A write of a message opens none. */
static void test_checks_build_no_btree(void **state) {
  fx *f = *state;
  if (f->pg) return;
  sqlite3 *db;
  assert_int_equal(sqlite3_open_v2(f->url, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
  sqlite3_stmt *st;
  assert_int_equal(sqlite3_prepare_v2(db, "SELECT name, sql FROM sqlite_master WHERE type = 'table'", -1, &st, NULL),
                   SQLITE_OK);
  int tables = 0;
  while (sqlite3_step(st) == SQLITE_ROW) {
    const char *name = (const char *)sqlite3_column_text(st, 0), *sql = (const char *)sqlite3_column_text(st, 1);
    tables++;
    for (const char *in = sql; (in = strstr(in, " IN (")); in++) {
      int values = 1;
      for (const char *c = in + 5; *c && *c != ')'; c++) values += *c == ',';
      if (values > 2) fail_msg("table %s: an IN list of %d values in \"%.80s\"", name, values, in);
    }
  }
  sqlite3_finalize(st);
  assert_true(tables > 20);
  assert_int_equal(sqlite3_prepare_v2(db, "EXPLAIN " ST_SQL_MSG_INSERT, -1, &st, NULL), SQLITE_OK);
  int ops = 0;
  while (sqlite3_step(st) == SQLITE_ROW) {
    ops++;
    if (!strcmp((const char *)sqlite3_column_text(st, 1), "OpenEphemeral")) fail_msg("a message's insert builds a b-tree");
  }
  assert_true(ops > 10);
  sqlite3_finalize(st);
  sqlite3_close(db);
}

#define PART_TESTS(setup)                                                        \
  cmocka_unit_test_setup_teardown(test_upgrade_step_by_step, setup, teardown),    \
  cmocka_unit_test_setup_teardown(test_older_parley, setup, teardown),            \
  cmocka_unit_test_setup_teardown(test_check_creates_nothing, setup, teardown),   \
  cmocka_unit_test_setup_teardown(test_checks_build_no_btree, setup, teardown),   \
  cmocka_unit_test(test_every_entry_called)

int main(void) {
  const struct CMUnitTest pure[] = {cmocka_unit_test(test_contract_mark), cmocka_unit_test(test_plan)};
  int rc = cmocka_run_group_tests_name("store_schema.plan", pure, NULL, NULL);
  const struct CMUnitTest sqlite_tests[] = {PART_TESTS(setup_sqlite)};
  rc |= cmocka_run_group_tests_name("store_schema.sqlite", sqlite_tests, reset_calls, NULL);
  pg_base = getenv("PARLEY_TEST_PG_URL");
  if (!pg_base || !*pg_base) {
    printf("store_schema.pg: skipped (set PARLEY_TEST_PG_URL, see scripts/pg-test.sh)\n");
    return rc;
  }
  const struct CMUnitTest pg_tests[] = {PART_TESTS(setup_pg)};
  return rc | cmocka_run_group_tests_name("store_schema.pg", pg_tests, reset_calls, NULL);
}
