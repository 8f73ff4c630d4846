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

