/* store_sqlite_spapi.c - SP-API credentials and upload destinations in SQLite. */
#include <string.h>

#include "store/store_sqlite_int.h"

enum { S_CLIENT_PUT = SQ_SLOT_SPAPI, S_CLIENT_BY_ID, S_CLIENT_BY_SELLER, S_UPLOAD_PUT, S_UPLOAD_GET, S__END };
SQ_SLOTS_FIT(S__END, SQ_SLOT_MAIL);

pl_err sq__spapi_client_put(store *s, const st_spapi_client *c) {
  sq_store *q = SQ(s);
  sqlite3_stmt *st = sq__stmt(q, S_CLIENT_PUT,
                              ST_SQL_SPAPI_CLIENT_PUT);
  if (!st) return PL_ESTORE;
  sq__bind_text(st, 1, c->client_id);
  sq__bind_text(st, 2, c->seller_id);
  sqlite3_bind_int64(st, 3, c->agent_id);
  sq__bind_text(st, 4, c->secret_hash);
  sq__bind_text(st, 5, c->refresh_hash);
  sqlite3_bind_int64(st, 6, c->created_at);
  return sq__run(q, st);
}

pl_err sq__spapi_client_get(store *s, const char *client_id, const char *seller_id, pl_arena *a,
                            st_spapi_client *out) {
  sq_store *q = SQ(s);
  sqlite3_stmt *st = client_id
      ? sq__stmt(q, S_CLIENT_BY_ID, ST_SQL_SPAPI_CLIENT_GET)
      : sq__stmt(q, S_CLIENT_BY_SELLER, ST_SQL_SPAPI_CLIENT_BY_SELLER);
  if (!st) return PL_ESTORE;
  sq__bind_text(st, 1, client_id ? client_id : seller_id);
  return sq__get(q, st, a, &st_spapi_client_row, out);
}

pl_err sq__spapi_upload_put(store *s, const st_spapi_upload *u) {
  sq_store *q = SQ(s);
  sqlite3_stmt *st = sq__stmt(q, S_UPLOAD_PUT,
                              ST_SQL_SPAPI_UPLOAD_PUT);
  if (!st) return PL_ESTORE;
  sq__bind_text(st, 1, u->id);
  sq__bind_text(st, 2, u->seller_id);
  sq__bind_text(st, 3, u->resource);
  sq__bind_text(st, 4, u->content_md5);
  sq__bind_text(st, 5, u->content_type);
  sq__bind_text(st, 6, u->attachment_id);
  sqlite3_bind_int64(st, 7, u->created_at);
  sqlite3_bind_int64(st, 8, u->expires_at);
  return sq__run(q, st);
}

pl_err sq__spapi_upload_get(store *s, const char *id, pl_arena *a, st_spapi_upload *out) {
  sq_store *q = SQ(s);
  sqlite3_stmt *st = sq__stmt(q, S_UPLOAD_GET, ST_SQL_SPAPI_UPLOAD_GET);
  if (!st) return PL_ESTORE;
  sq__bind_text(st, 1, id);
  return sq__get(q, st, a, &st_spapi_upload_row, out);
}
