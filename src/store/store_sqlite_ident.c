/* store_sqlite_ident.c - identities in SQLite: tokens (ids, scopes, sessions, use,
 * revocation) and agent deactivation. */
#include <string.h>

#include "store/store_sqlite_int.h"

enum {
  S_TOKEN_PUT = SQ_SLOT_IDENT, S_TOKEN_GET, S_TOKEN_GET_ID, S_TOKEN_LIST, S_TOKEN_REVOKE,
  S_TOKEN_REVOKE_SUBJECT, S_TOKEN_TOUCH, S_AGENT_DEACTIVATE, S_AGENT_STATE, S_AGENT_UNASSIGN, S__END
};
SQ_SLOTS_FIT(S__END, SQ_SLOT_SLA2);

pl_err sq__token_put(store *s, const char *hash, st_token *t, pl_time at) {
  sq_store *q = SQ(s);
  /* One writer at a time (the store's lock), so the next id cannot be taken twice; the
   * unique index would refuse it anyway. */
  sqlite3_stmt *st = sq__stmt(q, S_TOKEN_PUT,
                              "INSERT INTO tokens(id, hash, kind, subject, seller_id, marketplace_id,"
                              " created_at, expires_at, scope, parent_id)"
                              " VALUES ((SELECT coalesce(max(id), 0) + 1 FROM tokens),"
                              " ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
  if (!st) return PL_ESTORE;
  sq__bind_text(st, 1, hash);
  sq__bind_text(st, 2, st_principal_kind_name(t->kind));
  sq__bind_text(st, 3, t->subject);
  sq__bind_text(st, 4, t->seller_id);
  sq__bind_text(st, 5, t->marketplace_id);
  sqlite3_bind_int64(st, 6, at);
  sqlite3_bind_int64(st, 7, t->expires_at);
  sq__bind_text(st, 8, st_token_scope_name(t->scope));
  sqlite3_bind_int64(st, 9, t->parent_id);
  pl_err e = sq__run(q, st);
  if (e) return e;
  /* The inserted row's id: its rowid finds it. */
  sqlite3_stmt *g = sq__stmt(q, S_TOKEN_GET, ST_SQL_TOKEN_GET);
  if (!g) return PL_ESTORE;
  sq__bind_text(g, 1, hash);
  if ((e = sq__one(q, g))) return e;
  t->id = sqlite3_column_int64(g, 5);
  t->created_at = at;
  sqlite3_reset(g);
  return PL_OK;
}

pl_err sq__token_get(store *s, const char *hash, int64_t id, pl_arena *a, st_token *o) {
  sq_store *q = SQ(s);
  sqlite3_stmt *st = hash ? sq__stmt(q, S_TOKEN_GET, ST_SQL_TOKEN_GET)
                          : sq__stmt(q, S_TOKEN_GET_ID, ST_SQL_TOKEN_GET_ID);
  if (!st) return PL_ESTORE;
  if (hash) sq__bind_text(st, 1, hash);
  else sqlite3_bind_int64(st, 1, id);
  return sq__get(q, st, a, &st_token_row, o);
}

pl_err sq__token_list(store *s, const char *seller_id, bool all, pl_time now, int limit, pl_arena *a,
                      st_token **out, size_t *n) {
  sq_store *q = SQ(s);
  sqlite3_stmt *st = sq__stmt(q, S_TOKEN_LIST,
                              "SELECT " ST_TOKEN_COLS " FROM tokens"
                              " WHERE (?1 IS NULL OR (kind = 'agent' AND seller_id = ?1))"
                              " AND (?2 <> 0 OR (revoked_at = 0 AND (expires_at = 0 OR expires_at > ?3)))"
                              " ORDER BY id DESC LIMIT ?4");
  if (!st) return PL_ESTORE;
  sq__bind_text(st, 1, seller_id);
  sqlite3_bind_int(st, 2, all);
  sqlite3_bind_int64(st, 3, now);
  sqlite3_bind_int(st, 4, limit);
  pl_err e;
  *out = sq__rows(st, a, &st_token_row, n, &e);
  return e;
}

pl_err sq__token_revoke(store *s, int64_t id, st_principal_kind kind, const char *subject, pl_time at,
                        long *n) {
  sq_store *q = SQ(s);
  sqlite3_stmt *st = id ? sq__stmt(q, S_TOKEN_REVOKE, ST_SQL_TOKEN_REVOKE)
                        : sq__stmt(q, S_TOKEN_REVOKE_SUBJECT, ST_SQL_TOKEN_REVOKE_SUBJECT);
  if (!st) return PL_ESTORE;
  if (id) {
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, at);
  } else {
    sq__bind_text(st, 1, st_principal_kind_name(kind));
    sq__bind_text(st, 2, subject);
    sqlite3_bind_int64(st, 3, at);
  }
  pl_err e = sq__run(q, st);
  *n = e ? 0 : (long)sqlite3_changes(sq__db(q));
  return e;
}

pl_err sq__token_touch(store *s, int64_t id, pl_time at) {
  sq_store *q = SQ(s);
  sqlite3_stmt *st = sq__stmt(q, S_TOKEN_TOUCH, ST_SQL_TOKEN_TOUCH);
  if (!st) return PL_ESTORE;
  sqlite3_bind_int64(st, 1, id);
  sqlite3_bind_int64(st, 2, at);
  return sq__run(q, st);
}

pl_err sq__agent_deactivate(store *s, int64_t id, pl_time at) {
  sq_store *q = SQ(s);
  sqlite3_stmt *st = sq__stmt(q, S_AGENT_STATE, "SELECT deactivated_at FROM agents WHERE id = ?1");
  if (!st) return PL_ESTORE;
  sqlite3_bind_int64(st, 1, id);
  pl_err e = sq__one(q, st);
  if (e) return e;
  bool already = sqlite3_column_int64(st, 0) != 0;
  sqlite3_reset(st);
  if (already) return PL_EEXIST;
  st = sq__stmt(q, S_AGENT_DEACTIVATE, ST_SQL_AGENT_DEACTIVATE);
  if (!st) return PL_ESTORE;
  sqlite3_bind_int64(st, 1, id);
  sqlite3_bind_int64(st, 2, at > 0 ? at : 1);
  return sq__run(q, st);
}

pl_err sq__agent_unassign_all(store *s, const char *seller_id, int64_t agent_id, long *n) {
  sq_store *q = SQ(s);
  sqlite3_stmt *st = sq__stmt(q, S_AGENT_UNASSIGN, ST_SQL_AGENT_UNASSIGN_ALL);
  if (!st) return PL_ESTORE;
  sq__bind_text(st, 1, seller_id);
  sqlite3_bind_int64(st, 2, agent_id);
  pl_err e = sq__run(q, st);
  *n = e ? 0 : (long)sqlite3_changes(sq__db(q));
  return e;
}
