/* store_team.c - team work: documents, availability, assignment, locks, the replies a
 * team's statistics read; written once for both backends over exec. */
#include "store/store_shared.h"
#include "store/store_sql.h"

static const st_stmt doc_insert = {.sql = "INSERT INTO team_docs(seller_id, kind, state, body, created_at, updated_at)"
                                          " VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING id"},
                     doc_update = {.sql = ST_SQL_TEAM_DOC_PUT}, doc_get = {.sql = ST_SQL_TEAM_DOC_GET},
                     doc_list = {.sql = "SELECT " ST_DOC_COLS " FROM team_docs WHERE seller_id = ?1 AND kind = ?2"
                                        " AND (CAST(?3 AS TEXT) IS NULL OR state = ?3) ORDER BY id DESC LIMIT ?4"},
                     doc_delete = {.sql = ST_SQL_TEAM_DOC_DELETE},
                     agent_list = {.sql = "SELECT ag.id, ag.name, ag.role, coalesce(x.available, TRUE),"
                                          " coalesce(x.last_assigned_at, 0),"
                                          " ag.deactivated_at IS NOT NULL AND ag.deactivated_at <> 0"
                                          " FROM agents ag LEFT JOIN agent_status x ON x.agent_id = ag.id"
                                          " WHERE ag.seller_id = ?1 ORDER BY ag.id"},
                     agent_put = {.sql = ST_SQL_TEAM_AGENT_PUT}, tt_get = {.sql = ST_SQL_THREAD_TEAM_GET},
                     tt_put = {.sql = ST_SQL_THREAD_TEAM_PUT}, lock_take = {.sql = ST_SQL_THREAD_LOCK_TAKE},
                     lock_get = {.sql = ST_SQL_THREAD_LOCK_GET}, lock_release = {.sql = ST_SQL_THREAD_LOCK_RELEASE},
                     reply_list = {.sql = "SELECT m.id, m.thread_id, m.agent_id, m.seller_id, m.direction, m.kind,"
                                          " m.text, m.at, x.status"
                                          " FROM messages m LEFT JOIN message_state x ON x.message_id = m.id"
                                          " WHERE m.seller_id = ?1 AND m.direction = 'seller'"
                                          " AND m.kind IN ('message','auto_reply')"
                                          " AND (CAST(?2 AS BIGINT) = 0 OR m.id <= ?2)"
                                          " ORDER BY m.id DESC LIMIT ?3"};

pl_err store_team_doc_put(store *s, st_team_doc *d) {
  const char *state = st_proposal_state_name(d->state) ?: "";
  if (d->id)
    return st__change(s, &doc_update,
                      ST_ARGS(ST_ARG_I(d->id), ST_ARG_T(d->seller_id), ST_ARG_T(st_doc_kind_name(d->kind)),
                              ST_ARG_T(state), ST_ARG_T(d->body), ST_ARG_I(d->updated_at)));
  st_i64 id;
  pl_err e = st__get(s, &doc_insert,
                     ST_ARGS(ST_ARG_T(d->seller_id), ST_ARG_T(st_doc_kind_name(d->kind)), ST_ARG_T(state),
                             ST_ARG_T(d->body), ST_ARG_I(d->created_at),
                             ST_ARG_I(d->updated_at ? d->updated_at : d->created_at)),
                     &st_i64_row, NULL, &id);
  if (e == PL_ENOTFOUND) return PL_ESTORE;
  if (!e) d->id = id.v;
  return e;
}

pl_err store_team_doc_get(store *s, const char *seller_id, st_doc_kind kind, int64_t id, pl_arena *a,
                          st_team_doc *out) {
  return st__get(s, &doc_get, ST_ARGS(ST_ARG_I(id), ST_ARG_T(seller_id), ST_ARG_T(st_doc_kind_name(kind))),
                 &st_team_doc_row, a, out);
}

pl_err store_team_doc_list(store *s, const char *seller_id, st_doc_kind kind, st_proposal_state state,
                           int limit, pl_arena *a, st_team_doc **out, size_t *n) {
  return st__list(s, &doc_list,
                  ST_ARGS(ST_ARG_T(seller_id), ST_ARG_T(st_doc_kind_name(kind)),
                          ST_ARG_T(st_proposal_state_name(state)), ST_ARG_I(limit < 1 ? 1 : limit)),
                  &st_team_doc_row, a, out, n);
}

pl_err store_team_doc_delete(store *s, const char *seller_id, st_doc_kind kind, int64_t id) {
  return st__change(s, &doc_delete, ST_ARGS(ST_ARG_I(id), ST_ARG_T(seller_id), ST_ARG_T(st_doc_kind_name(kind))));
}

pl_err store_team_agent_list(store *s, const char *seller_id, pl_arena *a, st_team_agent **out, size_t *n) {
  return st__list(s, &agent_list, ST_ARGS(ST_ARG_T(seller_id)), &st_team_agent_row, a, out, n);
}

pl_err store_team_agent_put(store *s, const char *seller_id, const st_team_agent *ag) {
  return st__run(s, &agent_put,
                 ST_ARGS(ST_ARG_I(ag->id), ST_ARG_T(seller_id), ST_ARG_B(ag->available), ST_ARG_I(ag->last_assigned_at)));
}

pl_err store_thread_team_get(store *s, int64_t thread_id, pl_arena *a, st_thread_team *out) {
  return st__get(s, &tt_get, ST_ARGS(ST_ARG_I(thread_id)), &st_thread_team_row, a, out);
}

pl_err store_thread_team_put(store *s, const st_thread_team *tt) {
  return st__run(s, &tt_put,
                 ST_ARGS(ST_ARG_I(tt->thread_id), ST_ARG_T(tt->seller_id), ST_ARG_I(tt->assignee_id),
                         ST_ARG_T(tt->priority ? tt->priority : "normal"), ST_ARG_T(tt->tags ? tt->tags : "")));
}

pl_err store_thread_lock_take(store *s, const char *seller_id, const st_thread_lock *lk, pl_time now,
                              pl_arena *a, st_thread_lock *holder) {
  /* The holder keeps its `since` on a heartbeat; a new holder starts afresh. On
   * PostgreSQL, ON CONFLICT locks the row even when the WHERE keeps the other agent's
   * lock, so concurrent writers on one thread queue here until the first commits. */
  pl_err e = st__run(s, &lock_take,
                     ST_ARGS(ST_ARG_I(lk->thread_id), ST_ARG_T(seller_id), ST_ARG_I(lk->agent_id),
                             ST_ARG_T(lk->agent_name), ST_ARG_I(now), ST_ARG_I(lk->expires_at)));
  if (e) return e;
  e = store_thread_lock_get(s, lk->thread_id, now, a, holder);
  return e == PL_ENOTFOUND ? PL_ESTORE : e;
}

pl_err store_thread_lock_get(store *s, int64_t thread_id, pl_time now, pl_arena *a, st_thread_lock *out) {
  return st__get(s, &lock_get, ST_ARGS(ST_ARG_I(thread_id), ST_ARG_I(now)), &st_thread_lock_row, a, out);
}

pl_err store_thread_lock_release(store *s, int64_t thread_id, int64_t agent_id) {
  /* The row stays (expired) so that the next writer on the thread still meets it. */
  return st__run(s, &lock_release, ST_ARGS(ST_ARG_I(thread_id), ST_ARG_I(agent_id)));
}

pl_err store_team_reply_list(store *s, const char *seller_id, int64_t max_id, int limit, pl_arena *a,
                             st_message **out, size_t *n) {
  return st__list(s, &reply_list, ST_ARGS(ST_ARG_T(seller_id), ST_ARG_I(max_id), ST_ARG_I(limit < 1 ? 1 : limit)),
                  &st_reply_row, a, out, n);
}
