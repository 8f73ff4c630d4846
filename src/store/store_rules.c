/* store_rules.c - what the marketplace's rules keep: review requests, violations, each
 * seller's enforcement state, the counts quotas are checked against, and the messages held
 * for the operator; written once for both backends over exec. */
#include "store/store_shared.h"
#include "store/store_sql.h"

static const st_stmt
    /* one request an order: a second inserts nothing (PL_EEXIST) */
    rr_put = {.sql = ST_SQL_RR_PUT " ON CONFLICT DO NOTHING"}, rr_get = {.sql = ST_SQL_RR_GET},
    viol_add = {.sql = ST_SQL_VIOL_ADD " RETURNING id"}, viol_list = {.sql = ST_SQL_VIOL_LIST},
    enf_get = {.sql = ST_SQL_ENF_GET}, enf_put = {.sql = ST_SQL_ENF_PUT},
    msg_count = {.sql = "SELECT count(*) FROM messages WHERE seller_id = ?1 AND direction = 'seller'"
                        " AND kind <> 'note' AND at >= ?2 AND (CAST(?3 AS INTEGER) = 0 OR proactive = TRUE)"},
    held_list = {.sql = "SELECT " ST_MSG_COLS " FROM messages m JOIN message_state s ON s.message_id = m.id"
                        " JOIN threads t ON t.id = m.thread_id"
                        " WHERE s.status = 'held_for_review' AND (CAST(?1 AS TEXT) IS NULL OR t.marketplace_id = ?1)"
                        " ORDER BY m.at, m.id LIMIT ?2"};

pl_err store_review_request_put(store *s, const char *order_id, const char *seller_id, int64_t message_id,
                                pl_time at) {
  size_t n = 0;
  pl_err e = st__count(s, &rr_put,
                       ST_ARGS(ST_ARG_T(order_id), ST_ARG_T(seller_id), ST_ARG_I(message_id), ST_ARG_I(at)), &n);
  return e ? e : n ? PL_OK : PL_EEXIST;
}

pl_err store_review_request_get(store *s, const char *order_id, pl_time *at) {
  st_i64 v;
  pl_err e = st__get(s, &rr_get, ST_ARGS(ST_ARG_T(order_id)), &st_i64_row, NULL, &v);
  if (!e) *at = v.v;
  return e;
}

pl_err store_violation_add(store *s, st_violation *v) {
  st_i64 id;
  pl_err e = st__get(s, &viol_add,
                     ST_ARGS(ST_ARG_T(v->seller_id), ST_ARG_I(v->at),
                             v->message_id ? ST_ARG_I(v->message_id) : ST_ARG_T(NULL), ST_ARG_T(v->category),
                             ST_ARG_T(st_severity_name(v->severity)), ST_ARG_T(v->rule)),
                     &st_i64_row, NULL, &id);
  if (e == PL_ENOTFOUND) return PL_ESTORE;
  if (!e) v->id = id.v;
  return e;
}

pl_err store_violation_list(store *s, const char *seller_id, pl_time since, int limit, pl_arena *a,
                            st_violation **out, size_t *n) {
  return st__list(s, &viol_list, ST_ARGS(ST_ARG_T(seller_id), ST_ARG_I(since), ST_ARG_I(limit > 0 ? limit : 0)),
                  &st_violation_row, a, out, n);
}

pl_err store_enforcement_get(store *s, const char *seller_id, pl_arena *a, st_enforcement *out) {
  return st__get(s, &enf_get, ST_ARGS(ST_ARG_T(seller_id)), &st_enforcement_row, a, out);
}

pl_err store_enforcement_put(store *s, const st_enforcement *e) {
  return st__run(s, &enf_put,
                 ST_ARGS(ST_ARG_T(e->seller_id), ST_ARG_I(e->warnings), ST_ARG_I(e->restricted_until),
                         ST_ARG_T(e->restriction_reason), ST_ARG_I(e->quota_per_day), ST_ARG_I(e->quota_until),
                         ST_ARG_T(e->quota_reason), ST_ARG_B(e->suspension_flag), ST_ARG_T(e->suspension_reason),
                         ST_ARG_I(e->updated_at)));
}

pl_err store_seller_message_count(store *s, const char *seller_id, pl_time since, bool proactive_only,
                                  int64_t *n) {
  st_i64 v;
  pl_err e = st__get(s, &msg_count, ST_ARGS(ST_ARG_T(seller_id), ST_ARG_I(since), ST_ARG_I(proactive_only)),
                     &st_i64_row, NULL, &v);
  if (!e) *n = v.v;
  return e;
}

pl_err store_held_list(store *s, const char *marketplace_id, int limit, pl_arena *a, st_message **out, size_t *n) {
  return st__list(s, &held_list, ST_ARGS(ST_ARG_T(marketplace_id), ST_ARG_I(limit > 0 ? limit : 0)),
                  &st_message_row, a, out, n);
}
