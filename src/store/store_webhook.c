/* store_webhook.c - webhooks and their deliveries (the outbox of webhooks), written once
 * for both backends over exec (docs/webhooks.md). */
#include "store/store_shared.h"
#include "store/store_sql.h"

static const st_stmt
    hook_insert = {.sql = "INSERT INTO webhooks(owner, seller_id, marketplace_id, url, events, secret_sealed, active,"
                          " created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8) RETURNING id"},
    hook_update = {.sql = "UPDATE webhooks SET url = ?2, events = ?3, secret_sealed = ?4, active = ?5,"
                          " failing_since = ?6, disabled_reason = ?7, updated_at = ?8,"
                          " previous_secret_sealed = ?9, previous_until = ?10, paused_until = ?11 WHERE id = ?1"},
    hook_get = {.sql = "SELECT " ST_WEBHOOK_COLS " FROM webhooks WHERE id = ?1"},
    /* a seller's (seller_id given) or the operator's (NULL), oldest first */
    hook_list = {.sql = "SELECT " ST_WEBHOOK_COLS " FROM webhooks WHERE CASE WHEN CAST(?1 AS TEXT) IS NULL"
                        " THEN owner = 'operator' ELSE owner = 'seller' AND seller_id = ?1 END ORDER BY id"},
    /* who hears of an event of a seller in a marketplace: the seller's active webhooks and
     * the operator's of that marketplace or of all */
    hook_for = {.sql = "SELECT " ST_WEBHOOK_COLS " FROM webhooks WHERE active = TRUE AND"
                       " ((owner = 'seller' AND seller_id = ?1) OR (owner = 'operator' AND"
                       " (marketplace_id IS NULL OR marketplace_id = ?2))) ORDER BY id"},
    hook_delete_deliveries = {.sql = "DELETE FROM webhook_deliveries WHERE webhook_id = ?1"},
    hook_delete = {.sql = "DELETE FROM webhooks WHERE id = ?1"},
    /* an event already recorded for the webhook inserts nothing */
    delivery_add = {.sql = "INSERT INTO webhook_deliveries(webhook_id, event_id, type, body, next_at, created_at)"
                           " VALUES (?1, ?2, ?3, ?4, ?5, ?5) ON CONFLICT DO NOTHING RETURNING id"},
    /* Due deliveries of webhooks not paused after a failure (so that one failing receiver
     * costs one attempt a pause, however many events it has). SQLite has one writer;
     * PostgreSQL's nodes skip what another is claiming. */
    delivery_claim = {.sql = "UPDATE webhook_deliveries SET next_at = ?2 WHERE id IN (SELECT d.id FROM webhook_deliveries d"
                             " JOIN webhooks w ON w.id = d.webhook_id WHERE d.state = 'pending' AND d.next_at <= ?1"
                             " AND w.paused_until <= ?1 ORDER BY d.next_at, d.id LIMIT ?3)"
                             " RETURNING " ST_DELIVERY_COLS,
                      .pg = "UPDATE webhook_deliveries SET next_at = $2 WHERE id IN (SELECT d.id FROM webhook_deliveries d"
                            " JOIN webhooks w ON w.id = d.webhook_id WHERE d.state = 'pending' AND d.next_at <= $1"
                            " AND w.paused_until <= $1 ORDER BY d.next_at, d.id LIMIT $3"
                            " FOR UPDATE OF d SKIP LOCKED) RETURNING " ST_DELIVERY_COLS},
    delivery_due = {.sql = "SELECT count(*) FROM (SELECT 1 FROM webhook_deliveries WHERE state = 'pending'"
                           " AND next_at <= ?1 LIMIT 1) due"},
    delivery_update = {.sql = "UPDATE webhook_deliveries SET state = ?2, attempts = ?3, next_at = ?4, last_at = ?5,"
                              " last_status = ?6, last_ms = ?7, last_answer = ?8, last_error = ?9 WHERE id = ?1"},
    delivery_get = {.sql = "SELECT " ST_DELIVERY_COLS " FROM webhook_deliveries WHERE id = ?1 AND webhook_id = ?2"},
    /* newest first, before the cursor (0: from the newest) */
    /* the log's old rows, a bounded number at a time (never what is still to be sent) */
    delivery_sweep = {.sql = "DELETE FROM webhook_deliveries WHERE id IN (SELECT id FROM webhook_deliveries"
                             " WHERE created_at < ?1 AND state <> 'pending' ORDER BY created_at LIMIT ?2)"},
    delivery_list = {.sql = "SELECT " ST_DELIVERY_COLS " FROM webhook_deliveries WHERE webhook_id = ?1"
                            " AND (CAST(?2 AS BIGINT) = 0 OR id < ?2) ORDER BY id DESC LIMIT ?3"};

pl_err store_webhook_put(store *s, st_webhook *w) {
  if (w->id)
    return st__change(s, &hook_update,
                      ST_ARGS(ST_ARG_I(w->id), ST_ARG_T(w->url), ST_ARG_T(w->events_json), ST_ARG_T(w->secret_sealed),
                              ST_ARG_B(w->active), ST_ARG_I(w->failing_since), ST_ARG_T(w->disabled_reason),
                              ST_ARG_I(w->updated_at), ST_ARG_T(w->previous_secret_sealed),
                              ST_ARG_I(w->previous_until), ST_ARG_I(w->paused_until)));
  st_i64 id;
  pl_err e = st__get(s, &hook_insert,
                     ST_ARGS(ST_ARG_T(w->owner), ST_ARG_T(w->seller_id), ST_ARG_T(w->marketplace_id), ST_ARG_T(w->url),
                             ST_ARG_T(w->events_json), ST_ARG_T(w->secret_sealed), ST_ARG_B(w->active),
                             ST_ARG_I(w->created_at)),
                     &st_i64_row, NULL, &id);
  if (e == PL_ENOTFOUND) return PL_ESTORE;
  if (!e) w->id = id.v;
  return e;
}

pl_err store_webhook_get(store *s, int64_t id, pl_arena *a, st_webhook *out) {
  return st__get(s, &hook_get, ST_ARGS(ST_ARG_I(id)), &st_webhook_row, a, out);
}

pl_err store_webhook_list(store *s, const char *seller_id, pl_arena *a, st_webhook **out, size_t *n) {
  return st__list(s, &hook_list, ST_ARGS(ST_ARG_T(seller_id)), &st_webhook_row, a, out, n);
}

pl_err store_webhook_listeners(store *s, const char *seller_id, const char *marketplace_id, pl_arena *a,
                               st_webhook **out, size_t *n) {
  return st__list(s, &hook_for, ST_ARGS(ST_ARG_T(seller_id), ST_ARG_T(marketplace_id)), &st_webhook_row, a, out, n);
}

pl_err store_webhook_delete(store *s, int64_t id) {
  pl_err e = st__run(s, &hook_delete_deliveries, ST_ARGS(ST_ARG_I(id)));
  return e ? e : st__change(s, &hook_delete, ST_ARGS(ST_ARG_I(id)));
}

pl_err store_webhook_delivery_add(store *s, st_webhook_delivery *d) {
  st_i64 id;
  pl_err e = st__get(s, &delivery_add,
                     ST_ARGS(ST_ARG_I(d->webhook_id), ST_ARG_T(d->event_id), ST_ARG_T(d->type), ST_ARG_T(d->body),
                             ST_ARG_I(d->created_at)),
                     &st_i64_row, NULL, &id);
  if (e == PL_ENOTFOUND) return PL_EEXIST; /* the event is recorded for this webhook already */
  if (!e) d->id = id.v;
  return e;
}

pl_err store_webhook_delivery_claim(store *s, pl_time now, pl_time claim_until, int limit, pl_arena *a,
                                    st_webhook_delivery **out, size_t *n) {
  return st__list(s, &delivery_claim, ST_ARGS(ST_ARG_I(now), ST_ARG_I(claim_until), ST_ARG_I(limit)),
                  &st_webhook_delivery_row, a, out, n);
}

pl_err store_webhook_delivery_update(store *s, const st_webhook_delivery *d) {
  return st__change(s, &delivery_update,
                    ST_ARGS(ST_ARG_I(d->id), ST_ARG_T(d->state), ST_ARG_I(d->attempts), ST_ARG_I(d->next_at),
                            ST_ARG_I(d->last_at), ST_ARG_I(d->last_status), ST_ARG_I(d->last_ms),
                            ST_ARG_T(d->last_answer), ST_ARG_T(d->last_error)));
}

pl_err store_webhook_delivery_get(store *s, int64_t webhook_id, int64_t id, pl_arena *a, st_webhook_delivery *out) {
  return st__get(s, &delivery_get, ST_ARGS(ST_ARG_I(id), ST_ARG_I(webhook_id)), &st_webhook_delivery_row, a, out);
}

pl_err store_webhook_delivery_list(store *s, int64_t webhook_id, int64_t before, int limit, pl_arena *a,
                                   st_webhook_delivery **out, size_t *n) {
  return st__list(s, &delivery_list, ST_ARGS(ST_ARG_I(webhook_id), ST_ARG_I(before), ST_ARG_I(limit)),
                  &st_webhook_delivery_row, a, out, n);
}

pl_err store_webhook_delivery_sweep(store *s, pl_time before, int limit, int64_t *n) {
  size_t changed = 0;
  pl_err e = st__count(s, &delivery_sweep, ST_ARGS(ST_ARG_I(before), ST_ARG_I(limit)), &changed);
  *n = (int64_t)changed;
  return e;
}

pl_err store_webhook_delivery_due(store *s, pl_time now, bool *any) {
  st_i64 v;
  pl_err e = st__get(s, &delivery_due, ST_ARGS(ST_ARG_I(now)), &st_i64_row, NULL, &v);
  *any = !e && v.v > 0;
  return e;
}
