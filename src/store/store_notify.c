/* store_notify.c - what a seller's team is told and how: the seller's messaging settings
 * and each agent's notification choices (docs/notifications.md), written once for both
 * backends over exec. The notices themselves are outbox rows (store_mail.c). */
#include <string.h>

#include "store/store_shared.h"
#include "store/store_sql.h"

/* An agent without a row of its own takes the defaults: deadline alerts, about every
 * thread, by e-mail and in the browser. Its address is the first it registered. */
#define NOTIFY_COLS(n)                                                                                    \
  "a.id, a.seller_id, a.role, coalesce(" n ".mode, 'deadlines'), coalesce(" n ".scope, 'all'),"          \
  " coalesce(" n ".email, TRUE), coalesce(" n ".browser, TRUE), coalesce(" n ".digest_at, 0),"            \
  " coalesce((SELECT min(ad.id) FROM agent_addresses ad WHERE ad.agent_id = a.id), 0)"

static const st_stmt
    settings_get = {.sql = "SELECT id, notice_language, marketplace_fulfilled, email_sealed, email_requested_at,"
                           " updated_at FROM seller_settings WHERE id = ?1"},
    settings_put = {.sql = "INSERT INTO seller_settings(id, notice_language, marketplace_fulfilled, email_sealed,"
                           " email_requested_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (id) DO UPDATE"
                           " SET notice_language = excluded.notice_language,"
                           " marketplace_fulfilled = excluded.marketplace_fulfilled,"
                           " email_sealed = excluded.email_sealed, email_requested_at = excluded.email_requested_at,"
                           " updated_at = excluded.updated_at"},
    notify_get = {.sql = "SELECT " NOTIFY_COLS("n") " FROM agents a LEFT JOIN agent_notifications n"
                         " ON n.agent_id = a.id WHERE a.id = ?1"},
    notify_put = {.sql = "INSERT INTO agent_notifications(agent_id, seller_id, mode, scope, email, browser, digest_at)"
                         " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (agent_id) DO UPDATE SET"
                         " mode = excluded.mode, scope = excluded.scope, email = excluded.email,"
                         " browser = excluded.browser, digest_at = excluded.digest_at"},
    /* every active agent of a seller (mode NULL), or those who chose that mode */
    notify_list = {.sql = "SELECT " NOTIFY_COLS("n") " FROM agents a LEFT JOIN agent_notifications n"
                          " ON n.agent_id = a.id WHERE a.seller_id = ?1 AND a.deactivated_at = 0"
                          " AND (CAST(?2 AS TEXT) IS NULL OR coalesce(n.mode, 'deadlines') = ?2) ORDER BY a.id"},
    /* a chosen mode other than the default: from the seller's rows alone (every buyer
     * message asks this of its seller, and most agents keep the default) */
    notify_chosen = {.sql = "SELECT " NOTIFY_COLS("n") " FROM agent_notifications n JOIN agents a"
                            " ON a.id = n.agent_id WHERE n.seller_id = ?1 AND n.mode = ?2"
                            " AND a.deactivated_at = 0 ORDER BY a.id"},
    digest_due = {.sql = "SELECT " NOTIFY_COLS("n") " FROM agent_notifications n JOIN agents a ON a.id = n.agent_id"
                         " WHERE n.mode IN ('hourly', 'daily') AND n.digest_at <= ?1 AND a.deactivated_at = 0"
                         " ORDER BY n.digest_at, n.agent_id LIMIT ?2"},
    digest_next = {.sql = "UPDATE agent_notifications SET digest_at = ?2 WHERE agent_id = ?1 AND digest_at = ?3"},
    /* a row only when the status is new or changed: one node of several records the change */
    health_set = {.sql = "INSERT INTO seller_health(id, status, changed_at) VALUES (?1, ?2, ?3) ON CONFLICT (id)"
                         " DO UPDATE SET status = excluded.status, changed_at = excluded.changed_at"
                         " WHERE seller_health.status <> excluded.status RETURNING changed_at"},
    /* since when the CRT is at risk without a break (0: it is not) */
    crt_since = {.sql = "UPDATE seller_health SET crt_at_risk_since = CASE WHEN ?2 = 0 THEN 0"
                        " WHEN crt_at_risk_since = 0 THEN ?3 ELSE crt_at_risk_since END WHERE id = ?1"
                        " RETURNING crt_at_risk_since"};

pl_err store_seller_settings_get(store *s, const char *seller_id, pl_arena *a, st_seller_settings *out) {
  return st__get(s, &settings_get, ST_ARGS(ST_ARG_T(seller_id)), &st_seller_settings_row, a, out);
}

pl_err store_seller_settings_put(store *s, const st_seller_settings *v) {
  return st__run(s, &settings_put,
                 ST_ARGS(ST_ARG_T(v->seller_id), ST_ARG_T(v->notice_language), ST_ARG_B(v->marketplace_fulfilled),
                         ST_ARG_T(v->email_sealed), ST_ARG_I(v->email_requested_at), ST_ARG_I(v->updated_at)));
}

pl_err store_agent_notify_get(store *s, int64_t agent_id, pl_arena *a, st_agent_notify *out) {
  return st__get(s, &notify_get, ST_ARGS(ST_ARG_I(agent_id)), &st_agent_notify_row, a, out);
}

pl_err store_agent_notify_put(store *s, const st_agent_notify *v) {
  return st__run(s, &notify_put,
                 ST_ARGS(ST_ARG_I(v->agent_id), ST_ARG_T(v->seller_id), ST_ARG_T(v->mode), ST_ARG_T(v->scope),
                         ST_ARG_B(v->email), ST_ARG_B(v->browser), ST_ARG_I(v->digest_at)));
}

pl_err store_agent_notify_list(store *s, const char *seller_id, const char *mode, pl_arena *a, st_agent_notify **out,
                               size_t *n) {
  const st_stmt *q = mode && strcmp(mode, "deadlines") ? &notify_chosen : &notify_list;
  return st__list(s, q, ST_ARGS(ST_ARG_T(seller_id), ST_ARG_T(mode)), &st_agent_notify_row, a, out, n);
}

pl_err store_digest_due(store *s, pl_time now, int limit, pl_arena *a, st_agent_notify **out, size_t *n) {
  return st__list(s, &digest_due, ST_ARGS(ST_ARG_I(now), ST_ARG_I(limit)), &st_agent_notify_row, a, out, n);
}

pl_err store_digest_next(store *s, int64_t agent_id, pl_time was, pl_time next) {
  return st__change(s, &digest_next, ST_ARGS(ST_ARG_I(agent_id), ST_ARG_I(next), ST_ARG_I(was)));
}

pl_err store_seller_health_set(store *s, const char *seller_id, const char *status, pl_time at, bool *changed) {
  st_i64 v;
  pl_err e = st__get(s, &health_set, ST_ARGS(ST_ARG_T(seller_id), ST_ARG_T(status), ST_ARG_I(at)), &st_i64_row, NULL, &v);
  *changed = !e;
  return e == PL_ENOTFOUND ? PL_OK : e;
}

pl_err store_seller_crt_at_risk(store *s, const char *seller_id, bool at_risk, pl_time now, pl_time *since) {
  st_i64 v;
  pl_err e = st__get(s, &crt_since, ST_ARGS(ST_ARG_T(seller_id), ST_ARG_I(at_risk ? 1 : 0), ST_ARG_I(now)), &st_i64_row,
                     NULL, &v);
  if (!e) *since = v.v;
  return e;
}
