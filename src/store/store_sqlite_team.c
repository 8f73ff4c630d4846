/* store_sqlite_team.c - team work in SQLite: documents, availability, assignment, locks. */
#include <string.h>

#include "store/store_sqlite_int.h"

enum {
  S_DOC_INSERT = SQ_SLOT_TEAM, S_DOC_UPDATE, S_DOC_GET, S_DOC_LIST, S_DOC_DELETE,
  S_AGENT_LIST, S_AGENT_PUT, S_TT_GET, S_TT_PUT, S_LOCK_TAKE, S_LOCK_GET, S_LOCK_RELEASE,
  S_REPLY_LIST, S__END
};
SQ_SLOTS_FIT(S__END, SQ_SLOT_ATTACH);

pl_err sq__team_doc_put(store *s, st_team_doc *d) {
  sq_store *q = SQ(s);
  sqlite3_stmt *st;
  if (!d->id) {
    st = sq__stmt(q, S_DOC_INSERT, "INSERT INTO team_docs(seller_id, kind, state, body, created_at,"
                                   " updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
    if (!st) return PL_ESTORE;
    sq__bind_text(st, 1, d->seller_id);
    sq__bind_text(st, 2, st_doc_kind_name(d->kind));
    sq__bind_text(st, 3, st_proposal_state_name(d->state) ?: "");
    sq__bind_text(st, 4, d->body);
    sqlite3_bind_int64(st, 5, d->created_at);
    sqlite3_bind_int64(st, 6, d->updated_at ? d->updated_at : d->created_at);
    pl_err e = sq__run(q, st);
    if (!e) d->id = sqlite3_last_insert_rowid(sq__db(q));
    return e;
  }
  st = sq__stmt(q, S_DOC_UPDATE, ST_SQL_TEAM_DOC_PUT);
  if (!st) return PL_ESTORE;
  sqlite3_bind_int64(st, 1, d->id);
  sq__bind_text(st, 2, d->seller_id);
  sq__bind_text(st, 3, st_doc_kind_name(d->kind));
  sq__bind_text(st, 4, st_proposal_state_name(d->state) ?: "");
  sq__bind_text(st, 5, d->body);
  sqlite3_bind_int64(st, 6, d->updated_at);
  pl_err e = sq__run(q, st);
  if (!e && sqlite3_changes(sq__db(q)) == 0) e = PL_ENOTFOUND;
  return e;
}

pl_err sq__team_doc_get(store *s, const char *seller_id, st_doc_kind kind, int64_t id, pl_arena *a,
                        st_team_doc *out) {
  sq_store *q = SQ(s);
  sqlite3_stmt *st = sq__stmt(q, S_DOC_GET, ST_SQL_TEAM_DOC_GET);
  if (!st) return PL_ESTORE;
  sqlite3_bind_int64(st, 1, id);
  sq__bind_text(st, 2, seller_id);
  sq__bind_text(st, 3, st_doc_kind_name(kind));
  return sq__get(q, st, a, &st_team_doc_row, out);
}

pl_err sq__team_doc_list(store *s, const char *seller_id, st_doc_kind kind, st_proposal_state state,
                         int limit, pl_arena *a, st_team_doc **out, size_t *n) {
  sq_store *q = SQ(s);
  sqlite3_stmt *st = sq__stmt(q, S_DOC_LIST, "SELECT " ST_DOC_COLS " FROM team_docs WHERE seller_id = ?1"
                                             " AND kind = ?2 AND (?3 IS NULL OR state = ?3)"
                                             " ORDER BY id DESC LIMIT ?4");
  if (!st) return PL_ESTORE;
  if (limit < 1) limit = 1;
  sq__bind_text(st, 1, seller_id);
  sq__bind_text(st, 2, st_doc_kind_name(kind));
  sq__bind_text(st, 3, st_proposal_state_name(state));
  sqlite3_bind_int(st, 4, limit);
  st_team_doc *arr = pl_arena_alloc(a, (size_t)limit * sizeof *arr);
  size_t k = 0;
  int rc = SQLITE_DONE;
  while (k < (size_t)limit && (rc = sqlite3_step(st)) == SQLITE_ROW) sq__read_row(a, st, 0, &st_team_doc_row, &arr[k++]);
  if (k == (size_t)limit) rc = SQLITE_DONE;
  sqlite3_reset(st);
  if (rc != SQLITE_DONE) return sq__step_error(st, rc);
  *out = arr;
  *n = k;
  return PL_OK;
}

pl_err sq__team_doc_delete(store *s, const char *seller_id, st_doc_kind kind, int64_t id) {
  sq_store *q = SQ(s);
  sqlite3_stmt *st = sq__stmt(q, S_DOC_DELETE, ST_SQL_TEAM_DOC_DELETE);
  if (!st) return PL_ESTORE;
  sqlite3_bind_int64(st, 1, id);
  sq__bind_text(st, 2, seller_id);
  sq__bind_text(st, 3, st_doc_kind_name(kind));
  pl_err e = sq__run(q, st);
  if (!e && sqlite3_changes(sq__db(q)) == 0) e = PL_ENOTFOUND;
  return e;
}

pl_err sq__team_agent_list(store *s, const char *seller_id, pl_arena *a, st_team_agent **out,
                           size_t *n) {
  sq_store *q = SQ(s);
  sqlite3_stmt *st = sq__stmt(q, S_AGENT_LIST,
                              "SELECT ag.id, ag.name, ag.role, coalesce(x.available, 1),"
                              " coalesce(x.last_assigned_at, 0), ag.deactivated_at FROM agents ag"
                              " LEFT JOIN agent_status x ON x.agent_id = ag.id"
                              " WHERE ag.seller_id = ?1 ORDER BY ag.id");
  if (!st) return PL_ESTORE;
  sq__bind_text(st, 1, seller_id);
  size_t cap = 8, k = 0;
  st_team_agent *arr = pl_arena_alloc(a, cap * sizeof *arr);
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    if (k == cap) {
      st_team_agent *bigger = pl_arena_alloc(a, 2 * cap * sizeof *arr);
      memcpy(bigger, arr, cap * sizeof *arr);
      arr = bigger;
      cap *= 2;
    }
    st_team_agent *ag = &arr[k++];
    ag->id = sqlite3_column_int64(st, 0);
    ag->name = sq__col_text(a, st, 1);
    (void)st_agent_role_from_name((const char *)sqlite3_column_text(st, 2), &ag->role);
    ag->available = sqlite3_column_int(st, 3) != 0;
    ag->last_assigned_at = sqlite3_column_int64(st, 4);
    ag->deactivated = sqlite3_column_int64(st, 5) != 0;
  }
  sqlite3_reset(st);
  if (rc != SQLITE_DONE) return sq__step_error(st, rc);
  *out = arr;
  *n = k;
  return PL_OK;
}

pl_err sq__team_agent_put(store *s, const char *seller_id, const st_team_agent *ag) {
  sq_store *q = SQ(s);
  sqlite3_stmt *st = sq__stmt(q, S_AGENT_PUT,
                              ST_SQL_TEAM_AGENT_PUT);
  if (!st) return PL_ESTORE;
  sqlite3_bind_int64(st, 1, ag->id);
  sq__bind_text(st, 2, seller_id);
  sqlite3_bind_int(st, 3, ag->available);
  sqlite3_bind_int64(st, 4, ag->last_assigned_at);
  return sq__run(q, st);
}

pl_err sq__thread_team_get(store *s, int64_t thread_id, pl_arena *a, st_thread_team *out) {
  sq_store *q = SQ(s);
  sqlite3_stmt *st = sq__stmt(q, S_TT_GET, ST_SQL_THREAD_TEAM_GET);
  if (!st) return PL_ESTORE;
  sqlite3_bind_int64(st, 1, thread_id);
  pl_err e = sq__one(q, st);
  if (e) return e;
  out->thread_id = sqlite3_column_int64(st, 0);
  out->seller_id = sq__col_text(a, st, 1);
  out->assignee_id = sqlite3_column_int64(st, 2);
  out->priority = sq__col_text(a, st, 3);
  out->tags = sq__col_text(a, st, 4);
  sqlite3_reset(st);
  return PL_OK;
}

pl_err sq__thread_team_put(store *s, const st_thread_team *tt) {
  sq_store *q = SQ(s);
  sqlite3_stmt *st = sq__stmt(q, S_TT_PUT,
                              ST_SQL_THREAD_TEAM_PUT);
  if (!st) return PL_ESTORE;
  sqlite3_bind_int64(st, 1, tt->thread_id);
  sq__bind_text(st, 2, tt->seller_id);
  sqlite3_bind_int64(st, 3, tt->assignee_id);
  sq__bind_text(st, 4, tt->priority ? tt->priority : "normal");
  sq__bind_text(st, 5, tt->tags ? tt->tags : "");
  return sq__run(q, st);
}

pl_err sq__thread_lock_take(store *s, const char *seller_id, const st_thread_lock *lk, pl_time now,
                            pl_arena *a, st_thread_lock *holder) {
  sq_store *q = SQ(s);
  /* The holder keeps its `since` on a heartbeat; a new holder starts afresh. */
  sqlite3_stmt *st = sq__stmt(q, S_LOCK_TAKE,
                              ST_SQL_THREAD_LOCK_TAKE);
  if (!st) return PL_ESTORE;
  sqlite3_bind_int64(st, 1, lk->thread_id);
  sq__bind_text(st, 2, seller_id);
  sqlite3_bind_int64(st, 3, lk->agent_id);
  sq__bind_text(st, 4, lk->agent_name);
  sqlite3_bind_int64(st, 5, now);
  sqlite3_bind_int64(st, 6, lk->expires_at);
  pl_err e = sq__run(q, st);
  if (e) return e;
  e = sq__thread_lock_get(s, lk->thread_id, now, a, holder);
  return e == PL_ENOTFOUND ? PL_ESTORE : e;
}

pl_err sq__thread_lock_get(store *s, int64_t thread_id, pl_time now, pl_arena *a,
                           st_thread_lock *out) {
  sq_store *q = SQ(s);
  sqlite3_stmt *st = sq__stmt(q, S_LOCK_GET, ST_SQL_THREAD_LOCK_GET);
  if (!st) return PL_ESTORE;
  sqlite3_bind_int64(st, 1, thread_id);
  sqlite3_bind_int64(st, 2, now);
  return sq__get(q, st, a, &st_thread_lock_row, out);
}

pl_err sq__thread_lock_release(store *s, int64_t thread_id, int64_t agent_id) {
  sq_store *q = SQ(s);
  /* The row stays (expired) so that the next writer on the thread still meets it. */
  sqlite3_stmt *st = sq__stmt(q, S_LOCK_RELEASE, ST_SQL_THREAD_LOCK_RELEASE);
  if (!st) return PL_ESTORE;
  sqlite3_bind_int64(st, 1, thread_id);
  sqlite3_bind_int64(st, 2, agent_id);
  return sq__run(q, st);
}

pl_err sq__team_reply_list(store *s, const char *seller_id, int64_t max_id, int limit, pl_arena *a,
                           st_message **out, size_t *n) {
  sq_store *q = SQ(s);
  sqlite3_stmt *st = sq__stmt(q, S_REPLY_LIST,
                              "SELECT m.id, m.thread_id, m.agent_id, m.kind, m.text, m.at, x.status"
                              " FROM messages m LEFT JOIN message_state x ON x.message_id = m.id"
                              " WHERE m.seller_id = ?1 AND m.direction = 'seller'"
                              " AND m.kind IN ('message','auto_reply') AND (?2 = 0 OR m.id <= ?2)"
                              " ORDER BY m.id DESC LIMIT ?3");
  if (!st) return PL_ESTORE;
  if (limit < 1) limit = 1;
  sq__bind_text(st, 1, seller_id);
  sqlite3_bind_int64(st, 2, max_id);
  sqlite3_bind_int(st, 3, limit);
  st_message *arr = pl_arena_alloc(a, (size_t)limit * sizeof *arr);
  size_t k = 0;
  int rc = SQLITE_DONE;
  while (k < (size_t)limit && (rc = sqlite3_step(st)) == SQLITE_ROW) {
    st_message *m = &arr[k++];
    memset(m, 0, sizeof *m);
    m->id = sqlite3_column_int64(st, 0);
    m->thread_id = sqlite3_column_int64(st, 1);
    m->agent_id = sqlite3_column_int64(st, 2);
    m->seller_id = (char *)seller_id;
    m->direction = ST_DIR_SELLER;
    (void)st_msg_kind_from_name(sq__col_cstr(st, 3), &m->kind); /* unknown: 0 (store.h) */
    m->text = sq__col_text(a, st, 4);
    m->at = sqlite3_column_int64(st, 5);
    (void)st_msg_status_from_name(sq__col_cstr(st, 6), &m->status);
  }
  if (k == (size_t)limit) rc = SQLITE_DONE;
  sqlite3_reset(st);
  if (rc != SQLITE_DONE) return sq__step_error(st, rc);
  *out = arr;
  *n = k;
  return PL_OK;
}
