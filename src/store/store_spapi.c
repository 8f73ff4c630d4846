/* store_spapi.c - SP-API credentials and upload destinations, written once for both
 * backends over exec. */
#include "store/store_shared.h"
#include "store/store_sql.h"

static const st_stmt client_put = {.sql = ST_SQL_SPAPI_CLIENT_PUT}, client_by_id = {.sql = ST_SQL_SPAPI_CLIENT_GET},
                     client_by_seller = {.sql = ST_SQL_SPAPI_CLIENT_BY_SELLER}, upload_put = {.sql = ST_SQL_SPAPI_UPLOAD_PUT},
                     upload_get = {.sql = ST_SQL_SPAPI_UPLOAD_GET};

pl_err store_spapi_client_put(store *s, const st_spapi_client *c) {
  return st__run(s, &client_put,
                 ST_ARGS(ST_ARG_T(c->client_id), ST_ARG_T(c->seller_id), ST_ARG_I(c->agent_id),
                         ST_ARG_T(c->secret_hash), ST_ARG_T(c->refresh_hash), ST_ARG_I(c->created_at)));
}

pl_err store_spapi_client_get(store *s, const char *client_id, const char *seller_id, pl_arena *a,
                              st_spapi_client *out) {
  return st__get(s, client_id ? &client_by_id : &client_by_seller, ST_ARGS(ST_ARG_T(client_id ? client_id : seller_id)),
                 &st_spapi_client_row, a, out);
}

pl_err store_spapi_upload_put(store *s, const st_spapi_upload *u) {
  return st__run(s, &upload_put,
                 ST_ARGS(ST_ARG_T(u->id), ST_ARG_T(u->seller_id), ST_ARG_T(u->resource), ST_ARG_T(u->content_md5),
                         ST_ARG_T(u->content_type), ST_ARG_T(u->attachment_id), ST_ARG_I(u->created_at),
                         ST_ARG_I(u->expires_at)));
}

pl_err store_spapi_upload_get(store *s, const char *id, pl_arena *a, st_spapi_upload *out) {
  return st__get(s, &upload_get, ST_ARGS(ST_ARG_T(id)), &st_spapi_upload_row, a, out);
}
