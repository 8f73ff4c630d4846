/* store_pg_spapi.c - SP-API credentials and upload destinations in PostgreSQL. */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_pg_int.h"
#include "store/store_pg_spapi.h"

/* Runs a statement whose rows do not matter. */
static pl_err run(store *s, const char *sql, int n, const char *const *v) {
  pl_err e;
  PGresult *r = store__pg_exec(s, sql, n, v, &e);
  PQclear(r);
  return e;
}

/* Runs a one-row query: PL_OK with *out set (the caller clears it), or PL_ENOTFOUND. */
static pl_err one(store *s, const char *sql, int n, const char *const *v, PGresult **out) {
  pl_err e;
  PGresult *r = store__pg_exec(s, sql, n, v, &e);
  if (!e && PQntuples(r) == 0) e = PL_ENOTFOUND;
  if (e) {
    PQclear(r);
    return e;
  }
  *out = r;
  return PL_OK;
}

pl_err pg__spapi_client_put(store *s, const st_spapi_client *c) {
  char agent[24], at[24];
  snprintf(agent, sizeof agent, "%lld", (long long)c->agent_id);
  snprintf(at, sizeof at, "%lld", (long long)c->created_at);
  const char *v[] = {c->client_id, c->seller_id, agent, c->secret_hash, c->refresh_hash, at};
  return run(s, ST_SQL_SPAPI_CLIENT_PUT,
             6, v);
}

pl_err pg__spapi_client_get(store *s, const char *client_id, const char *seller_id, pl_arena *a,
                            st_spapi_client *out) {
  const char *v[] = {client_id ? client_id : seller_id};
  PGresult *r;
  pl_err e = one(s, client_id ? ST_SQL_SPAPI_CLIENT_GET
                              : ST_SQL_SPAPI_CLIENT_BY_SELLER,
                 1, v, &r);
  if (e) return e;
  pg__read_row(a, r, 0, 0, &st_spapi_client_row, out);
  PQclear(r);
  return PL_OK;
}

pl_err pg__spapi_upload_put(store *s, const st_spapi_upload *u) {
  char c[24], x[24];
  snprintf(c, sizeof c, "%lld", (long long)u->created_at);
  snprintf(x, sizeof x, "%lld", (long long)u->expires_at);
  const char *v[] = {u->id, u->seller_id, u->resource, u->content_md5, u->content_type,
                     u->attachment_id, c, x};
  return run(s, ST_SQL_SPAPI_UPLOAD_PUT,
             8, v);
}

pl_err pg__spapi_upload_get(store *s, const char *id, pl_arena *a, st_spapi_upload *out) {
  const char *v[] = {id};
  PGresult *r;
  pl_err e = one(s, ST_SQL_SPAPI_UPLOAD_GET, 1, v, &r);
  if (e) return e;
  pg__read_row(a, r, 0, 0, &st_spapi_upload_row, out);
  PQclear(r);
  return PL_OK;
}
