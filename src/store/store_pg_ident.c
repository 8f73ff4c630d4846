/* store_pg_ident.c - identities in PostgreSQL: tokens (ids, scopes, sessions, use,
 * revocation) and agent deactivation, as store_sqlite_ident.c. */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_pg_int.h"

static long affected(const PGresult *r) {
  const char *t = PQcmdTuples((PGresult *)r);
  return t && *t ? strtol(t, NULL, 10) : 0;
}

pl_err pg__token_put(store *s, const char *hash, st_token *t, pl_time at) {
  pg_params b = {.n = 0};
  pg__p_text(&b, hash);
  pg__p_text(&b, st_principal_kind_name(t->kind));
  pg__p_text(&b, t->subject);
  pg__p_text(&b, t->seller_id);
  pg__p_text(&b, t->marketplace_id);
  pg__p_int(&b, at);
  pg__p_int(&b, t->expires_at);
  pg__p_text(&b, st_token_scope_name(t->scope));
  pg__p_int(&b, t->parent_id);
  PGresult *r = NULL;
  pl_err e = pg__run(s, "INSERT INTO tokens(hash, kind, subject, seller_id, marketplace_id, created_at,"
                     " expires_at, scope, parent_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
                     " ON CONFLICT DO NOTHING RETURNING id", &b, &r);
  if (e) return e;
  if (PQntuples(r) != 1) e = PL_EEXIST;
  else {
    t->id = pg__num(r, 0, 0);
    t->created_at = at;
  }
  PQclear(r);
  return e;
}

static pl_err get_one(store *s, const char *sql, const char *key, pl_arena *a, st_token *o) {
  const char *v[] = {key};
  PGresult *r = NULL;
  pl_err e = pg__exec(s, sql, 1, v, &r);
  if (e) return e;
  if (PQntuples(r) != 1) e = PL_ENOTFOUND;
  else pg__read_row(a, r, 0, 0, &st_token_row, o);
  PQclear(r);
  return e;
}

pl_err pg__token_get(store *s, const char *hash, int64_t id, pl_arena *a, st_token *o) {
  if (hash) return get_one(s, ST_SQL_TOKEN_GET, hash, a, o);
  pg_params b = {.n = 0};
  pg__p_int(&b, id);
  return get_one(s, ST_SQL_TOKEN_GET_ID, b.v[0], a, o);
}

pl_err pg__token_list(store *s, const char *seller_id, bool all, pl_time now, int limit, pl_arena *a,
                      st_token **out, size_t *n) {
  pg_params b = {.n = 0};
  pg__p_text(&b, seller_id);
  pg__p_text(&b, all ? "true" : "false");
  pg__p_int(&b, now);
  pg__p_int(&b, limit);
  PGresult *r = NULL;
  pl_err e = pg__run(s, "SELECT " ST_TOKEN_COLS " FROM tokens"
                     " WHERE ($1::text IS NULL OR (kind = 'agent' AND seller_id = $1))"
                     " AND ($2::boolean OR (revoked_at = 0 AND (expires_at = 0 OR expires_at > $3::bigint)))"
                     " ORDER BY id DESC LIMIT $4::bigint", &b, &r);
  if (e) return e;
  *out = pg__rows(a, r, &st_token_row, n);
  PQclear(r);
  return PL_OK;
}

pl_err pg__token_revoke(store *s, int64_t id, st_principal_kind kind, const char *subject, pl_time at,
                        long *n) {
  pg_params b = {.n = 0};
  if (id) {
    pg__p_int(&b, id);
  } else {
    pg__p_text(&b, st_principal_kind_name(kind));
    pg__p_text(&b, subject);
  }
  pg__p_int(&b, at);
  PGresult *r = NULL;
  *n = 0;
  pl_err e = pg__run(s, id ? ST_SQL_TOKEN_REVOKE : ST_SQL_TOKEN_REVOKE_SUBJECT, &b, &r);
  if (e) return e;
  *n = affected(r);
  PQclear(r);
  return PL_OK;
}

pl_err pg__token_touch(store *s, int64_t id, pl_time at) {
  pg_params b = {.n = 0};
  pg__p_int(&b, id);
  pg__p_int(&b, at);
  return pg__run(s, ST_SQL_TOKEN_TOUCH, &b, NULL);
}

pl_err pg__agent_deactivate(store *s, int64_t id, pl_time at) {
  pg_params b = {.n = 0};
  pg__p_int(&b, id);
  pg__p_int(&b, at > 0 ? at : 1);
  PGresult *r = NULL;
  pl_err e = pg__exec(s, "SELECT deactivated_at FROM agents WHERE id = $1 FOR UPDATE", 1, b.v, &r);
  if (e) return e;
  if (PQntuples(r) != 1) e = PL_ENOTFOUND;
  else if (pg__num(r, 0, 0) != 0) e = PL_EEXIST;
  PQclear(r);
  if (e) return e;
  return pg__run(s, ST_SQL_AGENT_DEACTIVATE, &b, NULL);
}

pl_err pg__agent_unassign_all(store *s, const char *seller_id, int64_t agent_id, long *n) {
  pg_params b = {.n = 0};
  pg__p_text(&b, seller_id);
  pg__p_int(&b, agent_id);
  PGresult *r = NULL;
  *n = 0;
  pl_err e = pg__run(s, ST_SQL_AGENT_UNASSIGN_ALL,
                  &b, &r);
  if (e) return e;
  *n = affected(r);
  PQclear(r);
  return PL_OK;
}
