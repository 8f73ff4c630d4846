/* store_ident.c - identities: tokens (ids, scopes, sessions, use, revocation) and agent
 * deactivation; written once for both backends over exec. */
#include "store/store_shared.h"
#include "store/store_sql.h"

static const st_stmt
    /* SQLite has one writer at a time (the store's lock), so the next id cannot be taken
     * twice there; PostgreSQL numbers them from its sequence. A hash already stored
     * inserts nothing (PL_EEXIST). */
    token_put = {.sql = "INSERT INTO tokens(id, hash, kind, subject, seller_id, marketplace_id, created_at,"
                        " expires_at, scope, parent_id, user_agent) VALUES ((SELECT coalesce(max(id), 0) + 1"
                        " FROM tokens), ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) ON CONFLICT DO NOTHING RETURNING id",
                 .pg = "INSERT INTO tokens(hash, kind, subject, seller_id, marketplace_id, created_at,"
                       " expires_at, scope, parent_id, user_agent) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
                       " ON CONFLICT DO NOTHING RETURNING id"},
    session_list = {.sql = "SELECT " ST_TOKEN_COLS " FROM tokens WHERE kind = ?1 AND subject = ?2"
                           " AND scope = 'session' AND revoked_at = 0 AND (expires_at = 0 OR expires_at > ?3)"
                           " ORDER BY id DESC LIMIT ?4"},
    session_revoke_all = {.sql = "UPDATE tokens SET revoked_at = ?4 WHERE kind = ?1 AND subject = ?2"
                                 " AND scope = 'session' AND revoked_at = 0 AND id <> ?3"},
    token_get = {.sql = ST_SQL_TOKEN_GET}, token_get_id = {.sql = ST_SQL_TOKEN_GET_ID},
    token_list = {.sql = "SELECT " ST_TOKEN_COLS " FROM tokens"
                         " WHERE (CAST(?1 AS TEXT) IS NULL OR (kind = 'agent' AND seller_id = ?1))"
                         " AND (CAST(?2 AS INTEGER) <> 0 OR (revoked_at = 0 AND (expires_at = 0 OR expires_at > ?3)))"
                         " ORDER BY id DESC LIMIT ?4"},
    token_revoke = {.sql = ST_SQL_TOKEN_REVOKE}, token_revoke_subject = {.sql = ST_SQL_TOKEN_REVOKE_SUBJECT},
    token_touch = {.sql = ST_SQL_TOKEN_TOUCH},
    agent_state = {.sql = "SELECT deactivated_at FROM agents WHERE id = ?1",
                   .pg = "SELECT deactivated_at FROM agents WHERE id = $1 FOR UPDATE"},
    agent_deactivate = {.sql = ST_SQL_AGENT_DEACTIVATE}, agent_unassign = {.sql = ST_SQL_AGENT_UNASSIGN_ALL};

pl_err store_token_put(store *s, const char *hash, st_token *t, pl_time at) {
  st_i64 id;
  pl_err e = st__get(s, &token_put,
                     ST_ARGS(ST_ARG_T(hash), ST_ARG_T(st_principal_kind_name(t->kind)), ST_ARG_T(t->subject),
                             ST_ARG_T(t->seller_id), ST_ARG_T(t->marketplace_id), ST_ARG_I(at),
                             ST_ARG_I(t->expires_at), ST_ARG_T(st_token_scope_name(t->scope)),
                             ST_ARG_I(t->parent_id), ST_ARG_T(t->user_agent)),
                     &st_i64_row, NULL, &id);
  if (e == PL_ENOTFOUND) return PL_EEXIST;
  if (e) return e;
  t->id = id.v;
  t->created_at = at;
  return PL_OK;
}

pl_err store_token_get(store *s, const char *hash, int64_t id, pl_arena *a, st_token *o) {
  if (hash) return st__get(s, &token_get, ST_ARGS(ST_ARG_T(hash)), &st_token_row, a, o);
  return st__get(s, &token_get_id, ST_ARGS(ST_ARG_I(id)), &st_token_row, a, o);
}

pl_err store_token_list(store *s, const char *seller_id, bool all, pl_time now, int limit, pl_arena *a,
                        st_token **out, size_t *n) {
  return st__list(s, &token_list, ST_ARGS(ST_ARG_T(seller_id), ST_ARG_I(all), ST_ARG_I(now), ST_ARG_I(limit)),
                  &st_token_row, a, out, n);
}

pl_err store_token_revoke(store *s, int64_t id, st_principal_kind kind, const char *subject, pl_time at,
                          long *n) {
  size_t changed = 0;
  pl_err e = id ? st__count(s, &token_revoke, ST_ARGS(ST_ARG_I(id), ST_ARG_I(at)), &changed)
                : st__count(s, &token_revoke_subject,
                            ST_ARGS(ST_ARG_T(st_principal_kind_name(kind)), ST_ARG_T(subject), ST_ARG_I(at)), &changed);
  *n = (long)changed;
  return e;
}

pl_err store_token_touch(store *s, int64_t id, pl_time at) {
  return st__run(s, &token_touch, ST_ARGS(ST_ARG_I(id), ST_ARG_I(at)));
}

pl_err store_agent_deactivate(store *s, int64_t id, pl_time at) {
  st_i64 since;
  pl_err e = st__get(s, &agent_state, ST_ARGS(ST_ARG_I(id)), &st_i64_row, NULL, &since);
  if (e) return e;
  if (since.v) return PL_EEXIST;
  return st__run(s, &agent_deactivate, ST_ARGS(ST_ARG_I(id), ST_ARG_I(at > 0 ? at : 1)));
}

pl_err store_agent_unassign_all(store *s, const char *seller_id, int64_t agent_id, long *n) {
  size_t changed = 0;
  pl_err e = st__count(s, &agent_unassign, ST_ARGS(ST_ARG_T(seller_id), ST_ARG_I(agent_id)), &changed);
  *n = (long)changed;
  return e;
}

pl_err store_session_list(store *s, st_principal_kind kind, const char *subject, pl_time now, int limit,
                          pl_arena *a, st_token **out, size_t *n) {
  return st__list(s, &session_list,
                  ST_ARGS(ST_ARG_T(st_principal_kind_name(kind)), ST_ARG_T(subject), ST_ARG_I(now), ST_ARG_I(limit)),
                  &st_token_row, a, out, n);
}

pl_err store_session_revoke_all(store *s, st_principal_kind kind, const char *subject, int64_t keep, pl_time at,
                                long *n) {
  size_t changed = 0;
  pl_err e = st__count(s, &session_revoke_all,
                       ST_ARGS(ST_ARG_T(st_principal_kind_name(kind)), ST_ARG_T(subject), ST_ARG_I(keep), ST_ARG_I(at)),
                       &changed);
  *n = (long)changed;
  return e;
}
