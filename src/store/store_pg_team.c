/* store_pg_team.c - team work in PostgreSQL: documents, availability, assignment, locks. */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_pg_int.h"

/* A statement's affected row count is 0: PL_ENOTFOUND. */
static pl_err changed(store *s, const char *sql, const pg_params *p) {
  PGresult *r = NULL;
  pl_err e = pg__run(s, sql, p, &r);
  if (e) return e;
  const char *t = PQcmdTuples(r);
  e = t && *t && strcmp(t, "0") ? PL_OK : PL_ENOTFOUND;
  PQclear(r);
  return e;
}

pl_err pg__team_doc_put(store *s, st_team_doc *d) {
  pg_params b = {.n = 0};
  if (!d->id) {
    pg__p_text(&b, d->seller_id);
    pg__p_text(&b, st_doc_kind_name(d->kind));
    pg__p_text(&b, st_proposal_state_name(d->state) ?: "");
    pg__p_text(&b, d->body);
    pg__p_int(&b, d->created_at);
    pg__p_int(&b, d->updated_at ? d->updated_at : d->created_at);
    PGresult *r = NULL;
    pl_err e = pg__run(s, "INSERT INTO team_docs(seller_id, kind, state, body, created_at, updated_at)"
                       " VALUES ($1, $2, $3, $4, $5, $6) RETURNING id", &b, &r);
    if (e) return e;
    d->id = PQntuples(r) ? pg__num(r, 0, 0) : 0;
    PQclear(r);
    return d->id ? PL_OK : PL_ESTORE;
  }
  pg__p_int(&b, d->id);
  pg__p_text(&b, d->seller_id);
  pg__p_text(&b, st_doc_kind_name(d->kind));
  pg__p_text(&b, st_proposal_state_name(d->state) ?: "");
  pg__p_text(&b, d->body);
  pg__p_int(&b, d->updated_at);
  return changed(s, ST_SQL_TEAM_DOC_PUT, &b);
}

pl_err pg__team_doc_get(store *s, const char *seller_id, st_doc_kind kind, int64_t id, pl_arena *a,
                        st_team_doc *out) {
  pg_params b = {.n = 0};
  pg__p_int(&b, id);
  pg__p_text(&b, seller_id);
  pg__p_text(&b, st_doc_kind_name(kind));
  PGresult *r = NULL;
  pl_err e = pg__run(s, ST_SQL_TEAM_DOC_GET,
                  &b, &r);
  if (e) return e;
  if (PQntuples(r) == 0) e = PL_ENOTFOUND;
  else pg__read_row(a, r, 0, 0, &st_team_doc_row, out);
  PQclear(r);
  return e;
}

pl_err pg__team_doc_list(store *s, const char *seller_id, st_doc_kind kind, st_proposal_state state,
                         int limit, pl_arena *a, st_team_doc **out, size_t *n) {
  pg_params b = {.n = 0};
  if (limit < 1) limit = 1;
  pg__p_text(&b, seller_id);
  pg__p_text(&b, st_doc_kind_name(kind));
  pg__p_text(&b, st_proposal_state_name(state));
  pg__p_int(&b, limit);
  PGresult *r = NULL;
  pl_err e = pg__run(s, "SELECT " ST_DOC_COLS " FROM team_docs WHERE seller_id = $1 AND kind = $2"
                     " AND ($3::text IS NULL OR state = $3) ORDER BY id DESC LIMIT $4",
                  &b, &r);
  if (e) return e;
  *out = pg__rows(a, r, &st_team_doc_row, n);
  PQclear(r);
  return PL_OK;
}

pl_err pg__team_doc_delete(store *s, const char *seller_id, st_doc_kind kind, int64_t id) {
  pg_params b = {.n = 0};
  pg__p_int(&b, id);
  pg__p_text(&b, seller_id);
  pg__p_text(&b, st_doc_kind_name(kind));
  return changed(s, ST_SQL_TEAM_DOC_DELETE, &b);
}

pl_err pg__team_agent_list(store *s, const char *seller_id, pl_arena *a, st_team_agent **out,
                           size_t *n) {
  const char *v[] = {seller_id};
  PGresult *r = NULL;
  pl_err e = pg__exec(s, "SELECT ag.id, ag.name, ag.role, coalesce(x.available, true),"
                     " coalesce(x.last_assigned_at, 0), ag.deactivated_at FROM agents ag"
                     " LEFT JOIN agent_status x ON x.agent_id = ag.id"
                     " WHERE ag.seller_id = $1 ORDER BY ag.id", 1, v, &r);
  if (e) return e;
  int rows = PQntuples(r);
  st_team_agent *arr = pl_arena_alloc(a, (size_t)(rows ? rows : 1) * sizeof *arr);
  for (int i = 0; i < rows; i++) {
    arr[i].id = pg__num(r, i, 0);
    arr[i].name = pg__text(a, r, i, 1);
    (void)st_agent_role_from_name(PQgetvalue(r, i, 2), &arr[i].role);
    arr[i].available = !PQgetisnull(r, i, 3) && PQgetvalue(r, i, 3)[0] == 't';
    arr[i].last_assigned_at = pg__num(r, i, 4);
    arr[i].deactivated = pg__num(r, i, 5) != 0;
  }
  PQclear(r);
  *out = arr;
  *n = (size_t)rows;
  return PL_OK;
}

pl_err pg__team_agent_put(store *s, const char *seller_id, const st_team_agent *ag) {
  pg_params b = {.n = 0};
  pg__p_int(&b, ag->id);
  pg__p_text(&b, seller_id);
  pg__p_text(&b, ag->available ? "true" : "false");
  pg__p_int(&b, ag->last_assigned_at);
  return pg__run(s, ST_SQL_TEAM_AGENT_PUT,
              &b, NULL);
}

pl_err pg__thread_team_get(store *s, int64_t thread_id, pl_arena *a, st_thread_team *out) {
  pg_params b = {.n = 0};
  pg__p_int(&b, thread_id);
  PGresult *r = NULL;
  pl_err e = pg__run(s, ST_SQL_THREAD_TEAM_GET, &b, &r);
  if (e) return e;
  if (PQntuples(r) == 0) {
    e = PL_ENOTFOUND;
  } else {
    out->thread_id = pg__num(r, 0, 0);
    out->seller_id = pg__text(a, r, 0, 1);
    out->assignee_id = pg__num(r, 0, 2);
    out->priority = pg__text(a, r, 0, 3);
    out->tags = pg__text(a, r, 0, 4);
  }
  PQclear(r);
  return e;
}

pl_err pg__thread_team_put(store *s, const st_thread_team *tt) {
  pg_params b = {.n = 0};
  pg__p_int(&b, tt->thread_id);
  pg__p_text(&b, tt->seller_id);
  pg__p_int(&b, tt->assignee_id);
  pg__p_text(&b, tt->priority ? tt->priority : "normal");
  pg__p_text(&b, tt->tags ? tt->tags : "");
  return pg__run(s, ST_SQL_THREAD_TEAM_PUT,
              &b, NULL);
}

pl_err pg__thread_lock_take(store *s, const char *seller_id, const st_thread_lock *lk, pl_time now,
                            pl_arena *a, st_thread_lock *holder) {
  pg_params b = {.n = 0};
  pg__p_int(&b, lk->thread_id);
  pg__p_text(&b, seller_id);
  pg__p_int(&b, lk->agent_id);
  pg__p_text(&b, lk->agent_name);
  pg__p_int(&b, now);
  pg__p_int(&b, lk->expires_at);
  /* ON CONFLICT locks the row even when the WHERE keeps the other agent's lock, so
   * concurrent writers on one thread queue here until the first commits. */
  pl_err e = pg__run(s, ST_SQL_THREAD_LOCK_TAKE,
                  &b, NULL);
  if (e) return e;
  e = pg__thread_lock_get(s, lk->thread_id, now, a, holder);
  return e == PL_ENOTFOUND ? PL_ESTORE : e;
}

pl_err pg__thread_lock_get(store *s, int64_t thread_id, pl_time now, pl_arena *a,
                           st_thread_lock *out) {
  pg_params b = {.n = 0};
  pg__p_int(&b, thread_id);
  pg__p_int(&b, now);
  PGresult *r = NULL;
  pl_err e = pg__run(s, ST_SQL_THREAD_LOCK_GET,
                  &b, &r);
  if (e) return e;
  if (PQntuples(r) == 0) {
    e = PL_ENOTFOUND;
  } else {
    pg__read_row(a, r, 0, 0, &st_thread_lock_row, out);
  }
  PQclear(r);
  return e;
}

pl_err pg__thread_lock_release(store *s, int64_t thread_id, int64_t agent_id) {
  pg_params b = {.n = 0};
  pg__p_int(&b, thread_id);
  pg__p_int(&b, agent_id);
  return pg__run(s, ST_SQL_THREAD_LOCK_RELEASE, &b, NULL);
}

pl_err pg__team_reply_list(store *s, const char *seller_id, int64_t max_id, int limit, pl_arena *a,
                           st_message **out, size_t *n) {
  pg_params b = {.n = 0};
  if (limit < 1) limit = 1;
  pg__p_text(&b, seller_id);
  pg__p_int(&b, max_id);
  pg__p_int(&b, limit);
  PGresult *r = NULL;
  pl_err e = pg__run(s, "SELECT m.id, m.thread_id, m.agent_id, m.kind, m.text, m.at, x.status"
                     " FROM messages m LEFT JOIN message_state x ON x.message_id = m.id"
                     " WHERE m.seller_id = $1 AND m.direction = 'seller'"
                     " AND m.kind IN ('message','auto_reply') AND ($2::bigint = 0 OR m.id <= $2)"
                     " ORDER BY m.id DESC LIMIT $3", &b, &r);
  if (e) return e;
  int rows = PQntuples(r);
  st_message *arr = pl_arena_alloc(a, (size_t)(rows ? rows : 1) * sizeof *arr);
  for (int i = 0; i < rows; i++) {
    st_message *m = &arr[i];
    memset(m, 0, sizeof *m);
    m->id = pg__num(r, i, 0);
    m->thread_id = pg__num(r, i, 1);
    m->agent_id = pg__num(r, i, 2);
    m->seller_id = (char *)seller_id;
    m->direction = ST_DIR_SELLER;
    (void)st_msg_kind_from_name(pg__cstr(r, i, 3), &m->kind); /* unknown: 0 (store.h) */
    m->text = pg__text(a, r, i, 4);
    m->at = pg__num(r, i, 5);
    (void)st_msg_status_from_name(pg__cstr(r, i, 6), &m->status);
  }
  PQclear(r);
  *out = arr;
  *n = (size_t)rows;
  return PL_OK;
}
