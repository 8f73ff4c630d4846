/* store_pg_limits.c - token buckets of any party, unattached uploads and idempotency keys,
 * in PostgreSQL. The queries are those of store_sqlite_limits.c. */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_pg_int.h"

/* The row is created (fresh) when missing and then locked until the caller's transaction
 * ends: a lock on a row that does not exist would hold nothing, and two nodes could both
 * take a new bucket's last token. Doubles travel as text with 17 digits, which gives
 * back the same double. */
pl_err pg__rate_bucket_get(store *s, const char *key, const char *op, double fresh_tokens,
                           double fresh_at, double *tokens, double *updated_at) {
  pg_params p = {.n = 0};
  pg__p_text(&p, key);
  pg__p_text(&p, op);
  pg__p_double(&p, fresh_tokens);
  pg__p_double(&p, fresh_at);
  pl_err e;
  /* One round trip: a new bucket is inserted with the fresh values; an existing one is
   * "updated" to itself, which locks its row until the transaction ends (two nodes never
   * both take the last token) and returns what it holds. */
  PGresult *r = store__pg_exec(s,
                               "INSERT INTO rate_buckets(seller_id, operation, tokens, updated_at)"
                               " VALUES ($1, $2, $3::float8, $4::float8) ON CONFLICT (seller_id, operation)"
                               " DO UPDATE SET tokens = rate_buckets.tokens RETURNING tokens, updated_at",
                               p.n, p.v, &e);
  if (!e && PQntuples(r) != 1) {
    fprintf(stderr, "parley: postgres: rate bucket %s/%s: %d rows returned\n", key, op,
            PQntuples(r));
    e = PL_ESTORE;
  }
  if (!e) {
    *tokens = strtod(PQgetvalue(r, 0, 0), NULL);
    *updated_at = strtod(PQgetvalue(r, 0, 1), NULL);
  }
  PQclear(r);
  return e;
}

pl_err pg__rate_bucket_put(store *s, const char *key, const char *op, double tokens, double updated_at) {
  pg_params p = {.n = 0};
  pg__p_text(&p, key);
  pg__p_text(&p, op);
  pg__p_double(&p, tokens);
  pg__p_double(&p, updated_at);
  pl_err e;
  PGresult *r = store__pg_exec(s,
                               "INSERT INTO rate_buckets(seller_id, operation, tokens, updated_at)"
                               " VALUES ($1, $2, $3::float8, $4::float8) ON CONFLICT (seller_id, operation)"
                               " DO UPDATE SET tokens = excluded.tokens, updated_at = excluded.updated_at",
                               p.n, p.v, &e);
  PQclear(r);
  return e;
}

pl_err pg__attachment_orphans(store *s, pl_time before, int limit, pl_arena *a, st_attachment **out,
                              size_t *n) {
  pg_params p = {.n = 0};
  pg__p_int(&p, before);
  pg__p_int(&p, limit);
  pl_err e;
  PGresult *r = store__pg_exec(s,
                               "SELECT id, sha256, created_at, uploader FROM attachments a"
                               " WHERE created_at < $1::bigint AND NOT EXISTS"
                               " (SELECT 1 FROM message_attachments l WHERE l.attachment_id = a.id)"
                               " ORDER BY created_at LIMIT $2::int",
                               p.n, p.v, &e);
  if (!e) {
    size_t k = (size_t)PQntuples(r);
    st_attachment *arr = pl_arena_alloc(a, (k ? k : 1) * sizeof *arr);
    for (size_t i = 0; i < k; i++) {
      memset(&arr[i], 0, sizeof arr[i]);
      arr[i].id = pg__text(a, r, (int)i, 0);
      arr[i].sha256 = pg__text(a, r, (int)i, 1);
      arr[i].created_at = pg__num(r, (int)i, 2);
      arr[i].uploader = pg__text(a, r, (int)i, 3);
    }
    *out = arr;
    *n = k;
  }
  PQclear(r);
  return e;
}

pl_err pg__attachment_delete(store *s, const char *id, const char *sha256, bool *file_unused) {
  const char *v[] = {id};
  pl_err e;
  PGresult *r = store__pg_exec(s,
                               ST_SQL_ATTACHMENT_DELETE,
                               1, v, &e);
  if (!e && strtol(PQcmdTuples(r), NULL, 10) == 0) e = PL_ECONFLICT;
  PQclear(r);
  if (e) return e;
  const char *w[] = {sha256};
  r = store__pg_exec(s, ST_SQL_ATTACHMENT_SHA_COUNT, 1, w, &e);
  if (!e) *file_unused = pg__num(r, 0, 0) == 0;
  PQclear(r);
  return e;
}

pl_err pg__idem_claim(store *s, const char *principal, const char *key, const char *fingerprint,
                      pl_time now, pl_arena *a, bool *claimed, st_idem *out) {
  pg_params p = {.n = 0};
  pg__p_text(&p, principal);
  pg__p_text(&p, key);
  pg__p_text(&p, fingerprint);
  pg__p_int(&p, now);
  pl_err e;
  /* ON CONFLICT waits for a concurrent claim of the same key to commit, then does
   * nothing: exactly one request claims it. */
  PGresult *r = store__pg_exec(s,
                               "INSERT INTO idempotency_keys(principal, key, fingerprint, status, created_at)"
                               " VALUES ($1, $2, $3, 0, $4::bigint) ON CONFLICT DO NOTHING RETURNING 1",
                               p.n, p.v, &e);
  if (!e) *claimed = PQntuples(r) > 0;
  PQclear(r);
  if (e || *claimed) return e;
  e = pg__idem_get(s, principal, key, a, out);
  return e == PL_ENOTFOUND ? PL_ESTORE : e;
}

pl_err pg__idem_get(store *s, const char *principal, const char *key, pl_arena *a, st_idem *out) {
  const char *v[] = {principal, key};
  pl_err e;
  PGresult *r = store__pg_exec(s,
                               ST_SQL_IDEM_GET,
                               2, v, &e);
  if (!e && PQntuples(r) == 0) e = PL_ENOTFOUND;
  if (!e)
    *out = (st_idem){.principal = pl_arena_strdup(a, principal), .key = pl_arena_strdup(a, key),
                     .fingerprint = pg__text(a, r, 0, 0), .status = (int)pg__num(r, 0, 1),
                     .body = pg__text(a, r, 0, 2), .created_at = pg__num(r, 0, 3)};
  PQclear(r);
  return e;
}

pl_err pg__idem_finish(store *s, const char *principal, const char *key, int status, const char *body) {
  pg_params p = {.n = 0};
  pg__p_text(&p, principal);
  pg__p_text(&p, key);
  if (!status) return pg__run(s, ST_SQL_IDEM_RELEASE, &p, NULL);
  pg__p_int(&p, status);
  pg__p_text(&p, body);
  return pg__run(s,
                 "UPDATE idempotency_keys SET status = $3::int, body = $4"
                 " WHERE principal = $1 AND key = $2",
                 &p, NULL);
}

pl_err pg__idem_sweep(store *s, pl_time before, int64_t *n) {
  pg_params p = {.n = 0};
  pg__p_int(&p, before);
  pl_err e;
  PGresult *r = store__pg_exec(s, "DELETE FROM idempotency_keys WHERE created_at < $1::bigint", p.n, p.v, &e);
  *n = e ? 0 : strtoll(PQcmdTuples(r), NULL, 10);
  PQclear(r);
  return e;
}
