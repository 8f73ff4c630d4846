/* store_sqlite_limits.c - token buckets of any party, unattached uploads and idempotency
 * keys, in SQLite. */
#include <string.h>

#include "store/store_sqlite_int.h"

enum { S_RATE_GET = SQ_SLOT_LIMITS, S_RATE_PUT, S_ORPHANS, S_ATT_DEL, S_SHA_COUNT, S_IDEM_INS,
       S_IDEM_GET, S_IDEM_FINISH, S_IDEM_DEL, S_IDEM_SWEEP, S__END };
SQ_SLOTS_FIT(S__END, SQ_SLOT_KEYS);

/* SQLite has one writer: the caller's write transaction holds the bucket already. */
pl_err sq__rate_bucket_get(store *s, const char *key, const char *op, double fresh_tokens,
                           double fresh_at, double *tokens, double *updated_at) {
  sq_store *q = SQ(s);
  sqlite3_stmt *st = sq__stmt(q, S_RATE_GET,
                              "SELECT tokens, updated_at FROM rate_buckets WHERE seller_id = ?1 AND operation = ?2");
  if (!st) return PL_ESTORE;
  sq__bind_text(st, 1, key);
  sq__bind_text(st, 2, op);
  pl_err e = sq__one(q, st);
  if (e == PL_ENOTFOUND) {
    *tokens = fresh_tokens;
    *updated_at = fresh_at;
    return PL_OK;
  }
  if (e) return e;
  *tokens = sqlite3_column_double(st, 0);
  *updated_at = sqlite3_column_double(st, 1);
  sqlite3_reset(st);
  return PL_OK;
}

pl_err sq__rate_bucket_put(store *s, const char *key, const char *op, double tokens, double updated_at) {
  sq_store *q = SQ(s);
  sqlite3_stmt *st = sq__stmt(q, S_RATE_PUT,
                              "INSERT INTO rate_buckets(seller_id, operation, tokens, updated_at)"
                              " VALUES (?1, ?2, ?3, ?4) ON CONFLICT(seller_id, operation)"
                              " DO UPDATE SET tokens = excluded.tokens, updated_at = excluded.updated_at");
  if (!st) return PL_ESTORE;
  sq__bind_text(st, 1, key);
  sq__bind_text(st, 2, op);
  sqlite3_bind_double(st, 3, tokens);
  sqlite3_bind_double(st, 4, updated_at);
  return sq__run(q, st);
}

pl_err sq__attachment_orphans(store *s, pl_time before, int limit, pl_arena *a, st_attachment **out,
                              size_t *n) {
  sq_store *q = SQ(s);
  sqlite3_stmt *st = sq__stmt(q, S_ORPHANS,
                              "SELECT id, sha256, created_at, uploader FROM attachments a"
                              " WHERE created_at < ?1 AND NOT EXISTS"
                              " (SELECT 1 FROM message_attachments l WHERE l.attachment_id = a.id)"
                              " ORDER BY created_at LIMIT ?2");
  if (!st) return PL_ESTORE;
  sqlite3_bind_int64(st, 1, before);
  sqlite3_bind_int(st, 2, limit);
  st_attachment *arr = pl_arena_alloc(a, (size_t)(limit > 0 ? limit : 1) * sizeof *arr);
  size_t k = 0;
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW && k < (size_t)limit) {
    memset(&arr[k], 0, sizeof arr[k]);
    arr[k].id = sq__col_text(a, st, 0);
    arr[k].sha256 = sq__col_text(a, st, 1);
    arr[k].created_at = sqlite3_column_int64(st, 2);
    arr[k].uploader = sq__col_text(a, st, 3);
    k++;
  }
  sqlite3_reset(st);
  if (rc != SQLITE_DONE && rc != SQLITE_ROW) return sq__step_error(st, rc);
  *out = arr;
  *n = k;
  return PL_OK;
}

pl_err sq__attachment_delete(store *s, const char *id, const char *sha256, bool *file_unused) {
  sq_store *q = SQ(s);
  sqlite3_stmt *st = sq__stmt(q, S_ATT_DEL,
                              ST_SQL_ATTACHMENT_DELETE);
  if (!st) return PL_ESTORE;
  sq__bind_text(st, 1, id);
  pl_err e = sq__run(q, st);
  if (e) return e;
  if (sqlite3_changes(sq__db(q)) == 0) return PL_ECONFLICT;
  st = sq__stmt(q, S_SHA_COUNT, ST_SQL_ATTACHMENT_SHA_COUNT);
  if (!st) return PL_ESTORE;
  sq__bind_text(st, 1, sha256);
  if ((e = sq__one(q, st))) return e;
  *file_unused = sqlite3_column_int64(st, 0) == 0;
  sqlite3_reset(st);
  return PL_OK;
}

pl_err sq__idem_claim(store *s, const char *principal, const char *key, const char *fingerprint,
                      pl_time now, pl_arena *a, bool *claimed, st_idem *out) {
  sq_store *q = SQ(s);
  sqlite3_stmt *st = sq__stmt(q, S_IDEM_INS,
                              "INSERT INTO idempotency_keys(principal, key, fingerprint, status, created_at)"
                              " VALUES (?1, ?2, ?3, 0, ?4) ON CONFLICT(principal, key) DO NOTHING");
  if (!st) return PL_ESTORE;
  sq__bind_text(st, 1, principal);
  sq__bind_text(st, 2, key);
  sq__bind_text(st, 3, fingerprint);
  sqlite3_bind_int64(st, 4, now);
  pl_err e = sq__run(q, st);
  if (e) return e;
  *claimed = sqlite3_changes(sq__db(q)) > 0;
  if (*claimed) return PL_OK;
  e = sq__idem_get(s, principal, key, a, out);
  return e == PL_ENOTFOUND ? PL_ESTORE : e;
}

pl_err sq__idem_get(store *s, const char *principal, const char *key, pl_arena *a, st_idem *out) {
  sq_store *q = SQ(s);
  sqlite3_stmt *st = sq__stmt(q, S_IDEM_GET,
                              ST_SQL_IDEM_GET);
  if (!st) return PL_ESTORE;
  sq__bind_text(st, 1, principal);
  sq__bind_text(st, 2, key);
  pl_err e = sq__one(q, st);
  if (e) return e;
  *out = (st_idem){.principal = pl_arena_strdup(a, principal), .key = pl_arena_strdup(a, key),
                   .fingerprint = sq__col_text(a, st, 0), .status = sqlite3_column_int(st, 1),
                   .body = sq__col_text(a, st, 2), .created_at = sqlite3_column_int64(st, 3)};
  sqlite3_reset(st);
  return PL_OK;
}

pl_err sq__idem_finish(store *s, const char *principal, const char *key, int status, const char *body) {
  sq_store *q = SQ(s);
  sqlite3_stmt *st = status ? sq__stmt(q, S_IDEM_FINISH,
                                       "UPDATE idempotency_keys SET status = ?3, body = ?4"
                                       " WHERE principal = ?1 AND key = ?2")
                            : sq__stmt(q, S_IDEM_DEL, ST_SQL_IDEM_RELEASE);
  if (!st) return PL_ESTORE;
  sq__bind_text(st, 1, principal);
  sq__bind_text(st, 2, key);
  if (status) {
    sqlite3_bind_int(st, 3, status);
    sq__bind_text(st, 4, body);
  }
  return sq__run(q, st);
}

pl_err sq__idem_sweep(store *s, pl_time before, int64_t *n) {
  sq_store *q = SQ(s);
  sqlite3_stmt *st = sq__stmt(q, S_IDEM_SWEEP, "DELETE FROM idempotency_keys WHERE created_at < ?1");
  if (!st) return PL_ESTORE;
  sqlite3_bind_int64(st, 1, before);
  pl_err e = sq__run(q, st);
  *n = e ? 0 : sqlite3_changes(sq__db(q));
  return e;
}
