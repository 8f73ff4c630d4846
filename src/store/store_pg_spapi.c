/* store_pg_spapi.c - SP-API credentials and upload destinations in PostgreSQL. */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_pg_int.h"

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
  pg_params p = {.n = 0};
  pg__p_text(&p, c->client_id);
  pg__p_text(&p, c->seller_id);
  pg__p_int(&p, c->agent_id);
  pg__p_text(&p, c->secret_hash);
  pg__p_text(&p, c->refresh_hash);
  pg__p_int(&p, c->created_at);
  return run(s, ST_SQL_SPAPI_CLIENT_PUT,
             p.n, p.v);
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
  pg_params p = {.n = 0};
  pg__p_text(&p, u->id);
  pg__p_text(&p, u->seller_id);
  pg__p_text(&p, u->resource);
  pg__p_text(&p, u->content_md5);
  pg__p_text(&p, u->content_type);
  pg__p_text(&p, u->attachment_id);
  pg__p_int(&p, u->created_at);
  pg__p_int(&p, u->expires_at);
  return run(s, ST_SQL_SPAPI_UPLOAD_PUT,
             p.n, p.v);
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
