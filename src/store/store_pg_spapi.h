/* store_pg_spapi.h - SP-API credentials and upload destinations in PostgreSQL, for pg_ops. */
#ifndef PL_STORE_PG_SPAPI_H
#define PL_STORE_PG_SPAPI_H

#include "store/store.h"

struct pg_result;

/* Runs text with n parameters in the calling thread's transaction (store_pg.c); *e
 * tells the outcome; the caller clears the result (NULL outside a transaction). */
struct pg_result *store__pg_exec(store *s, const char *text, int n, const char *const *values,
                                 pl_err *e);

pl_err pg__spapi_client_put(store *s, const st_spapi_client *c);
pl_err pg__spapi_client_get(store *s, const char *client_id, const char *seller_id, pl_arena *a,
                            st_spapi_client *out);
pl_err pg__spapi_upload_put(store *s, const st_spapi_upload *u);
pl_err pg__spapi_upload_get(store *s, const char *id, pl_arena *a, st_spapi_upload *out);

#endif
