/* store_clock.c - the 24-hour clock's outcomes one event at a time, and what its sweeps
 * read (open messages, due threads, sellers, the latest event, counters); written once
 * for both backends over exec. Reading a seller's outcomes for writing, and the hourly
 * buckets, stay with each backend (store_*_sla.c): PostgreSQL takes the seller's clock
 * lock there first. */
#include <string.h>

#include "store/store_shared.h"
#include "store/store_sql.h"

static const st_stmt
    outcome_get = {.sql = ST_SQL_SLA_OUTCOME_GET}, outcome_set = {.sql = ST_SQL_SLA_OUTCOME_SET},
    thread_outcome_set = {.sql = ST_SQL_SLA_THREAD_OUTCOME_SET},
    /* two index ranges of sla_outcomes: the open messages, and those answered at or after
     * the reply's second; both only before the reply */
    answerable = {.sql = "SELECT " ST_SLA_OUT_COLS " FROM sla_outcomes WHERE thread_id = ?1 AND answered = FALSE"
                         ST_SLA_BEFORE_REPLY " UNION ALL"
                         " SELECT " ST_SLA_OUT_COLS " FROM sla_outcomes WHERE thread_id = ?1 AND answered = TRUE"
                         " AND answered_at >= ?2 AND (answered_at > ?2 OR reply_seq > ?3)" ST_SLA_BEFORE_REPLY},
    reply_count = {.sql = "SELECT count(*) FROM sla_outcomes WHERE thread_id = ?1 AND answered = TRUE"
                          " AND answered_at = ?2 AND reply_seq = ?3 AND flagged = FALSE"},
    flag_state = {.sql = ST_SQL_SLA_FLAG_STATE},
    open_list = {.sql = "SELECT o.message_id, o.thread_id, o.received_at, m.ext_id"
                        " FROM sla_outcomes o JOIN messages m ON m.id = o.message_id"
                        " WHERE o.seller_id = ?1 AND o.flagged = FALSE AND o.answered = FALSE"
                        " AND o.received_at > ?2 AND o.received_at <= ?3"
                        " ORDER BY o.received_at, o.message_id"},
    latest = {.sql = "SELECT max(coalesce((SELECT max(at) FROM messages WHERE seller_id = ?1), 0),"
                     " coalesce((SELECT max(at) FROM message_events WHERE seller_id = ?1), 0))",
              .pg = "SELECT greatest(coalesce((SELECT max(at) FROM messages WHERE seller_id = $1), 0),"
                    " coalesce((SELECT max(at) FROM message_events WHERE seller_id = $1), 0))"},
    /* ids byte by byte on both */
    sellers = {.sql = "SELECT id, marketplace_id, name, alias, created_at FROM sellers"
                      " WHERE CAST(?1 AS TEXT) IS NULL OR marketplace_id = ?1 ORDER BY id",
               .pg = "SELECT id, marketplace_id, name, alias, created_at FROM sellers"
                     " WHERE $1::text IS NULL OR marketplace_id = $1 ORDER BY id COLLATE \"C\""},
    due = {.sql = "SELECT id, seller_id, buyer_id, marketplace_id, response_due_at FROM threads"
                  " WHERE needs_response > 0 AND archived = FALSE AND response_due_at > ?1"
                  " AND response_due_at <= ?2 ORDER BY response_due_at, id LIMIT ?3"},
    counter_bump = {.sql = "INSERT INTO counters(name, value) VALUES (?1, 1) ON CONFLICT (name)"
                           " DO UPDATE SET value = counters.value + 1 RETURNING value"},
    counter_get = {.sql = ST_SQL_COUNTER_GET};

pl_err store_sla_outcome_get(store *s, int64_t msg_id, sla_outcome *out) {
  return st__get(s, &outcome_get, ST_ARGS(ST_ARG_I(msg_id)), &sla_outcome_row, NULL, out);
}

pl_err store_sla_outcome_set(store *s, const char *seller_id, const sla_outcome *o) {
  return st__run(s, &outcome_set,
                 ST_ARGS(ST_ARG_I(o->msg_id), ST_ARG_T(seller_id), ST_ARG_I(o->thread_id), ST_ARG_I(o->received_at),
                         ST_ARG_B(o->flagged), ST_ARG_B(o->answered), ST_ARG_I(o->answered_at),
                         ST_ARG_I(o->response_s), ST_ARG_I(o->agent_id), ST_ARG_I(o->reply_seq)));
}

pl_err store_sla_thread_outcome_set(store *s, const char *seller_id, const sla_thread_outcome *t) {
  return st__run(s, &thread_outcome_set,
                 ST_ARGS(ST_ARG_I(t->thread_id), ST_ARG_T(seller_id), ST_ARG_I(t->first_received_at),
                         ST_ARG_B(t->counted), ST_ARG_B(t->resolved), ST_ARG_I(t->exchanges),
                         ST_ARG_I(t->unflagged), ST_ARG_I(t->open)));
}

pl_err store_sla_outcomes_answerable(store *s, int64_t thread_id, int64_t at, int64_t seq, pl_arena *a,
                                     sla_outcome **out, size_t *n) {
  return st__list(s, &answerable, ST_ARGS(ST_ARG_I(thread_id), ST_ARG_I(at), ST_ARG_I(seq)), &sla_outcome_row, a,
                  out, n);
}

pl_err store_sla_reply_count(store *s, int64_t thread_id, int64_t answered_at, int64_t reply_seq, int64_t *n) {
  st_i64 v;
  pl_err e = st__get(s, &reply_count, ST_ARGS(ST_ARG_I(thread_id), ST_ARG_I(answered_at), ST_ARG_I(reply_seq)),
                     &st_i64_row, NULL, &v);
  if (!e) *n = v.v;
  return e;
}

pl_err store_sla_flag_state(store *s, int64_t msg_id, bool *flagged) {
  pl_arena *a = pl_arena_new();
  st_text v;
  pl_err e = st__get(s, &flag_state, ST_ARGS(ST_ARG_I(msg_id)), &st_text_row, a, &v);
  *flagged = !e && v.v && strcmp(v.v, "false"); /* "true" or "canceled" */
  pl_arena_free(a);
  return e == PL_ENOTFOUND ? PL_OK : e; /* never flagged */
}

pl_err store_sla_open_list(store *s, const char *seller_id, pl_time since, pl_time until, pl_arena *a,
                           sla_open_msg **out, size_t *n) {
  return st__list(s, &open_list, ST_ARGS(ST_ARG_T(seller_id), ST_ARG_I(since), ST_ARG_I(until)), &sla_open_msg_row,
                  a, out, n);
}

pl_err store_sla_latest(store *s, const char *seller_id, pl_time *out) {
  st_i64 v;
  pl_err e = st__get(s, &latest, ST_ARGS(ST_ARG_T(seller_id)), &st_i64_row, NULL, &v);
  if (!e) *out = v.v;
  return e;
}

pl_err store_seller_list(store *s, const char *marketplace_id, pl_arena *a, st_seller **out, size_t *n) {
  return st__list(s, &sellers, ST_ARGS(ST_ARG_T(marketplace_id)), &st_seller_brief_row, a, out, n);
}

pl_err store_thread_due_list(store *s, pl_time lo, pl_time hi, int limit, pl_arena *a, st_thread **out, size_t *n) {
  return st__list(s, &due, ST_ARGS(ST_ARG_I(lo), ST_ARG_I(hi), ST_ARG_I(limit)), &st_thread_due_row, a, out, n);
}

pl_err store_counter(store *s, const char *name, bool bump, int64_t *out) {
  st_i64 v;
  pl_err e = st__get(s, bump ? &counter_bump : &counter_get, ST_ARGS(ST_ARG_T(name)), &st_i64_row, NULL, &v);
  *out = e ? 0 : v.v;
  return e == PL_ENOTFOUND ? PL_OK : e; /* a counter never bumped is 0 */
}

/* ---- claims and the complaint rate (docs/metrics.md "Complaint rate") ---- */

static const st_stmt
    /* the same claim (order, kind, time) once, however often imported */
    claim_add = {.sql = "INSERT INTO claims(order_id, seller_id, kind, at, created_at) VALUES (?1, ?2, ?3, ?4, ?5)"
                        " ON CONFLICT DO NOTHING RETURNING id"},
    claim_list = {.sql = "SELECT id, order_id, seller_id, kind, at, created_at FROM claims WHERE seller_id = ?1"
                         " ORDER BY at DESC, id DESC LIMIT ?2"},
    /* conversations about an order started in (since, until], and those whose order got a
     * claim (threads_seller_recent: a thread started in the window was active in it) */
    complaints = {.sql = "SELECT count(*), coalesce(sum(CASE WHEN EXISTS (SELECT 1 FROM claims c"
                         " WHERE c.order_id = t.order_id) THEN 1 ELSE 0 END), 0) FROM threads t"
                         " WHERE t.seller_id = ?1 AND t.last_message_at > ?2 AND t.created_at > ?2"
                         " AND t.created_at <= ?3 AND t.order_id IS NOT NULL"};

pl_err store_claim_add(store *s, st_claim *c) {
  st_i64 id;
  pl_err e = st__get(s, &claim_add,
                     ST_ARGS(ST_ARG_T(c->order_id), ST_ARG_T(c->seller_id), ST_ARG_T(c->kind), ST_ARG_I(c->at),
                             ST_ARG_I(c->created_at)),
                     &st_i64_row, NULL, &id);
  if (e == PL_ENOTFOUND) return PL_EEXIST;
  if (!e) c->id = id.v;
  return e;
}

pl_err store_claim_list(store *s, const char *seller_id, int limit, pl_arena *a, st_claim **out, size_t *n) {
  return st__list(s, &claim_list, ST_ARGS(ST_ARG_T(seller_id), ST_ARG_I(limit)), &st_claim_row, a, out, n);
}

pl_err store_complaint_counts(store *s, const char *seller_id, pl_time since, pl_time until, int64_t *conversations,
                              int64_t *claimed) {
  st_pair v;
  pl_err e = st__get(s, &complaints, ST_ARGS(ST_ARG_T(seller_id), ST_ARG_I(since), ST_ARG_I(until)), &st_pair_row,
                     NULL, &v);
  if (e == PL_ENOTFOUND) v = (st_pair){0, 0}, e = PL_OK;
  if (!e) *conversations = v.a, *claimed = v.b;
  return e;
}
