/* store_sqlite_limits.c - token buckets of any party, unattached uploads and idempotency
 * keys, in SQLite. */
#include <string.h>

#include "store/store_sqlite_int.h"

enum { S_RATE_GET = SQ_SLOT_LIMITS, S_RATE_PUT, S__END };
SQ_SLOTS_FIT(S__END, SQ_MORE_STATEMENTS);

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

