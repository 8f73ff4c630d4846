/* store_sqlite_keys.c - key rotation's walk over the sealed addresses, on SQLite. */
#include <stdlib.h>
#include <string.h>

#include "store/store_sqlite_int.h"

/* Three statements per kind: page, reseal, count. */
enum { S_PAGE = SQ_SLOT_KEYS, S_RESEAL = SQ_SLOT_KEYS + 3, S_COUNT = SQ_SLOT_KEYS + 6, S__END = S_COUNT + 3 };
SQ_SLOTS_FIT(S__END, SQ_MORE_STATEMENTS);

#define SKIP_AFTER(after) \
  " WHERE email_sealed IS NOT NULL AND (?1 IS NULL OR substr(email_sealed, 1, length(?1)) <> ?1)" \
  " AND (?2 IS NULL OR id > " after ") ORDER BY id LIMIT ?3"

static const char *const page_sql[] = {
    "SELECT id, email_sealed FROM sellers" SKIP_AFTER("?2"),
    "SELECT id, email_sealed FROM buyers" SKIP_AFTER("?2"),
    "SELECT id, email_sealed FROM agent_addresses" SKIP_AFTER("CAST(?2 AS INTEGER)")};
static const char *const reseal_sql[] = {
    "UPDATE sellers SET email_sealed = ?3 WHERE id = ?1 AND email_sealed = ?2",
    "UPDATE buyers SET email_sealed = ?3, email_hash = ?4 WHERE id = ?1 AND email_sealed = ?2",
    "UPDATE agent_addresses SET email_sealed = ?3, email_hash = ?4 WHERE id = CAST(?1 AS INTEGER)"
    " AND email_sealed = ?2"};
static const char *const count_sql[] = {
    ST_SQL_SEALED_COUNT_SELLER,
    ST_SQL_SEALED_COUNT_BUYER,
    ST_SQL_SEALED_COUNT_ADDRESS};

static int kind_index(st_sealed_kind kind) {
  return kind >= ST_SEALED_SELLER && kind <= ST_SEALED_AGENT_ADDRESS ? (int)kind - 1 : -1;
}

pl_err sq__sealed_page(store *s, st_sealed_kind kind, const char *skip, const char *after, int limit,
                       pl_arena *a, st_sealed_row **out, size_t *n) {
  int k = kind_index(kind);
  if (k < 0 || limit < 1) return PL_EINVAL;
  sq_store *q = SQ(s);
  sqlite3_stmt *st = sq__stmt(q, S_PAGE + k, page_sql[k]);
  if (!st) return PL_ESTORE;
  sq__bind_text(st, 1, skip);
  sq__bind_text(st, 2, after);
  sqlite3_bind_int(st, 3, limit);
  st_sealed_row *arr = pl_arena_alloc(a, (size_t)limit * sizeof *arr);
  size_t m = 0;
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW && m < (size_t)limit) {
    arr[m].key = sq__col_text(a, st, 0);
    arr[m].sealed = sq__col_text(a, st, 1);
    m++;
  }
  sqlite3_reset(st);
  if (rc != SQLITE_DONE && rc != SQLITE_ROW) return sq__step_error(st, rc);
  *out = arr;
  *n = m;
  return PL_OK;
}

pl_err sq__sealed_reseal(store *s, st_sealed_kind kind, const char *key, const char *old, const char *sealed,
                         const char *hash, bool *changed) {
  int k = kind_index(kind);
  if (k < 0 || !sealed || (kind != ST_SEALED_SELLER && !hash)) return PL_EINVAL;
  sq_store *q = SQ(s);
  sqlite3_stmt *st = sq__stmt(q, S_RESEAL + k, reseal_sql[k]);
  if (!st) return PL_ESTORE;
  sq__bind_text(st, 1, key);
  sq__bind_text(st, 2, old);
  sq__bind_text(st, 3, sealed);
  if (kind != ST_SEALED_SELLER) sq__bind_text(st, 4, hash);
  pl_err e = sq__run(q, st);
  if (!e) *changed = sqlite3_changes(sq__db(q)) > 0;
  return e;
}

pl_err sq__sealed_count(store *s, st_sealed_kind kind, const char *prefix, int64_t *n) {
  int k = kind_index(kind);
  if (k < 0 || !prefix) return PL_EINVAL;
  sq_store *q = SQ(s);
  sqlite3_stmt *st = sq__stmt(q, S_COUNT + k, count_sql[k]);
  if (!st) return PL_ESTORE;
  sq__bind_text(st, 1, prefix);
  pl_err e = sq__one(q, st);
  if (e) return e;
  *n = sqlite3_column_int64(st, 0);
  sqlite3_reset(st);
  return PL_OK;
}
