/* store_pg_team.c - team work in PostgreSQL: documents, availability, assignment, locks. */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_pg_int.h"

/* Decimal text of integers for the parameters of one statement. */
typedef struct {
  char buf[8][24];
  int n;
} nums;

static const char *num_text(nums *b, int64_t v) {
  snprintf(b->buf[b->n], sizeof b->buf[0], "%lld", (long long)v);
  return b->buf[b->n++];
}

/* A statement's affected row count is 0: PL_ENOTFOUND. */
static pl_err changed(store *s, const char *sql, int n, const char *const *v) {
  PGresult *r = NULL;
  pl_err e = pg__exec(s, sql, n, v, &r);
  if (e) return e;
  const char *t = PQcmdTuples(r);
  e = t && *t && strcmp(t, "0") ? PL_OK : PL_ENOTFOUND;
  PQclear(r);
  return e;
}

static void read_doc(pl_arena *a, const PGresult *r, int i, st_team_doc *d) {
  pg__read_row(a, r, i, 0, &st_team_doc_row, d);
}

pl_err pg__team_doc_put(store *s, st_team_doc *d) {
  nums b = {.n = 0};
  if (!d->id) {
    const char *v[] = {d->seller_id, d->kind, d->state ? d->state : "", d->body,
                       num_text(&b, d->created_at), num_text(&b, d->updated_at ? d->updated_at : d->created_at)};
    PGresult *r = NULL;
    pl_err e = pg__exec(s, "INSERT INTO team_docs(seller_id, kind, state, body, created_at, updated_at)"
                       " VALUES ($1, $2, $3, $4, $5, $6) RETURNING id", 6, v, &r);
    if (e) return e;
    d->id = PQntuples(r) ? pg__num(r, 0, 0) : 0;
    PQclear(r);
    return d->id ? PL_OK : PL_ESTORE;
  }
  const char *v[] = {num_text(&b, d->id), d->seller_id, d->kind, d->state ? d->state : "", d->body,
                     num_text(&b, d->updated_at)};
  return changed(s, ST_SQL_TEAM_DOC_PUT, 6, v);
}

pl_err pg__team_doc_get(store *s, const char *seller_id, const char *kind, int64_t id, pl_arena *a,
                        st_team_doc *out) {
  nums b = {.n = 0};
  const char *v[] = {num_text(&b, id), seller_id, kind};
  PGresult *r = NULL;
  pl_err e = pg__exec(s, ST_SQL_TEAM_DOC_GET,
                  3, v, &r);
  if (e) return e;
  if (PQntuples(r) == 0) e = PL_ENOTFOUND;
  else read_doc(a, r, 0, out);
  PQclear(r);
  return e;
}

pl_err pg__team_doc_list(store *s, const char *seller_id, const char *kind, const char *state,
                         int limit, pl_arena *a, st_team_doc **out, size_t *n) {
  nums b = {.n = 0};
  if (limit < 1) limit = 1;
  const char *v[] = {seller_id, kind, state, num_text(&b, limit)};
  PGresult *r = NULL;
  pl_err e = pg__exec(s, "SELECT " ST_DOC_COLS " FROM team_docs WHERE seller_id = $1 AND kind = $2"
                     " AND ($3::text IS NULL OR state = $3) ORDER BY id DESC LIMIT $4",
                  4, v, &r);
  if (e) return e;
  int rows = PQntuples(r);
  st_team_doc *arr = pl_arena_alloc(a, (size_t)(rows ? rows : 1) * sizeof *arr);
  for (int i = 0; i < rows; i++) read_doc(a, r, i, &arr[i]);
  PQclear(r);
  *out = arr;
  *n = (size_t)rows;
  return PL_OK;
}

pl_err pg__team_doc_delete(store *s, const char *seller_id, const char *kind, int64_t id) {
  nums b = {.n = 0};
  const char *v[] = {num_text(&b, id), seller_id, kind};
  return changed(s, ST_SQL_TEAM_DOC_DELETE, 3, v);
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
    arr[i].role = pg__text(a, r, i, 2);
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
  nums b = {.n = 0};
  const char *v[] = {num_text(&b, ag->id), seller_id, ag->available ? "true" : "false",
                     num_text(&b, ag->last_assigned_at)};
  return pg__exec(s, ST_SQL_TEAM_AGENT_PUT,
              4, v, NULL);
}

pl_err pg__thread_team_get(store *s, int64_t thread_id, pl_arena *a, st_thread_team *out) {
  nums b = {.n = 0};
  const char *v[] = {num_text(&b, thread_id)};
  PGresult *r = NULL;
  pl_err e = pg__exec(s, ST_SQL_THREAD_TEAM_GET, 1, v, &r);
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
  nums b = {.n = 0};
  const char *v[] = {num_text(&b, tt->thread_id), tt->seller_id, num_text(&b, tt->assignee_id),
                     tt->priority ? tt->priority : "normal", tt->tags ? tt->tags : ""};
  return pg__exec(s, ST_SQL_THREAD_TEAM_PUT,
              5, v, NULL);
}

pl_err pg__thread_lock_take(store *s, const char *seller_id, const st_thread_lock *lk, pl_time now,
                            pl_arena *a, st_thread_lock *holder) {
  nums b = {.n = 0};
  const char *v[] = {num_text(&b, lk->thread_id), seller_id, num_text(&b, lk->agent_id),
                     lk->agent_name, num_text(&b, now), num_text(&b, lk->expires_at)};
  /* ON CONFLICT locks the row even when the WHERE keeps the other agent's lock, so
   * concurrent writers on one thread queue here until the first commits. */
  pl_err e = pg__exec(s, ST_SQL_THREAD_LOCK_TAKE,
                  6, v, NULL);
  if (e) return e;
  e = pg__thread_lock_get(s, lk->thread_id, now, a, holder);
  return e == PL_ENOTFOUND ? PL_ESTORE : e;
}

pl_err pg__thread_lock_get(store *s, int64_t thread_id, pl_time now, pl_arena *a,
                           st_thread_lock *out) {
  nums b = {.n = 0};
  const char *v[] = {num_text(&b, thread_id), num_text(&b, now)};
  PGresult *r = NULL;
  pl_err e = pg__exec(s, ST_SQL_THREAD_LOCK_GET,
                  2, v, &r);
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
  nums b = {.n = 0};
  const char *v[] = {num_text(&b, thread_id), num_text(&b, agent_id)};
  return pg__exec(s, ST_SQL_THREAD_LOCK_RELEASE, 2, v,
              NULL);
}

pl_err pg__team_reply_list(store *s, const char *seller_id, int64_t max_id, int limit, pl_arena *a,
                           st_message **out, size_t *n) {
  nums b = {.n = 0};
  if (limit < 1) limit = 1;
  const char *v[] = {seller_id, num_text(&b, max_id), num_text(&b, limit)};
  PGresult *r = NULL;
  pl_err e = pg__exec(s, "SELECT m.id, m.thread_id, m.agent_id, m.kind, m.text, m.at, x.status"
                     " FROM messages m LEFT JOIN message_state x ON x.message_id = m.id"
                     " WHERE m.seller_id = $1 AND m.direction = 'seller'"
                     " AND m.kind IN ('message','auto_reply') AND ($2::bigint = 0 OR m.id <= $2)"
                     " ORDER BY m.id DESC LIMIT $3", 3, v, &r);
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
