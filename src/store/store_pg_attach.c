/* store_pg_attach.c - attachment records and the messages that carry them, in PostgreSQL.
 *
 * The queries are those of store_sqlite_attach.c. */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_pg_int.h"

pl_err pg__attachment_put(store *s, const st_attachment *a) {
  pg_params p = {.n = 0};
  pg__p_text(&p, a->id);
  pg__p_text(&p, a->seller_id);
  pg__p_text(&p, a->buyer_id);
  pg__p_text(&p, a->uploader);
  pg__p_text(&p, a->name);
  pg__p_text(&p, a->kind);
  pg__p_text(&p, a->sha256);
  pg__p_int(&p, a->size);
  pg__p_text(&p, a->readable ? "true" : "false");
  pg__p_text(&p, a->reason);
  pg__p_int(&p, a->created_at);
  pg__p_text(&p, a->segments_json ? a->segments_json : "[]");
  pl_err e;
  PGresult *r = store__pg_exec(s,
                               ST_SQL_ATTACHMENT_PUT,
                               p.n, p.v, &e);
  PQclear(r);
  return e;
}

static void read_row(pl_arena *a, const PGresult *r, bool segments, st_attachment *out) {
  out->id = pg__text(a, r, 0, 0);
  out->seller_id = pg__text(a, r, 0, 1);
  out->buyer_id = pg__text(a, r, 0, 2);
  out->uploader = pg__text(a, r, 0, 3);
  out->name = pg__text(a, r, 0, 4);
  out->kind = pg__text(a, r, 0, 5);
  out->sha256 = pg__text(a, r, 0, 6);
  out->size = pg__num(r, 0, 7);
  out->readable = !strcmp(PQgetvalue(r, 0, 8), "t");
  out->reason = pg__text(a, r, 0, 9);
  out->created_at = pg__num(r, 0, 10);
  out->segments_json = segments ? pg__text(a, r, 0, 11) : NULL;
}

static pl_err get_one(store *s, const char *sql, const char *key, bool segments, pl_arena *a,
                      st_attachment *out) {
  const char *v[] = {key};
  pl_err e;
  PGresult *r = store__pg_exec(s, sql, 1, v, &e);
  if (!e && PQntuples(r) == 0) e = PL_ENOTFOUND;
  if (!e) read_row(a, r, segments, out);
  PQclear(r);
  return e;
}

pl_err pg__attachment_get(store *s, const char *id, bool segments, pl_arena *a, st_attachment *out) {
  return get_one(s, segments ? ST_SQL_ATTACHMENT_GET_SEGMENTS
                             : ST_SQL_ATTACHMENT_GET_NO_SEGMENTS,
                 id, segments, a, out);
}

pl_err pg__attachment_find_sha(store *s, const char *sha256, pl_arena *a, st_attachment *out) {
  return get_one(s,
                 "SELECT " ST_ATTACH_COLS ", segments FROM attachments WHERE sha256 = $1 AND readable"
                 " ORDER BY created_at LIMIT 1",
                 sha256, true, a, out);
}

pl_err pg__attachment_link(store *s, int64_t message_id, int64_t thread_id, const char *seller_id,
                           const char *attachment_id, int pos) {
  pg_params p = {.n = 0};
  pg__p_int(&p, message_id);
  pg__p_int(&p, thread_id);
  pg__p_text(&p, seller_id);
  pg__p_text(&p, attachment_id);
  pg__p_int(&p, pos);
  pl_err e;
  /* An attachment already there is PL_EEXIST with the transaction still usable, as a
   * SQLite constraint failure leaves it (store_pg.c). */
  PGresult *r = store__pg_exec(s,
                               "INSERT INTO message_attachments(message_id, thread_id, seller_id, attachment_id, pos)"
                               " VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING 1",
                               p.n, p.v, &e);
  if (!e && PQntuples(r) == 0) e = PL_EEXIST;
  PQclear(r);
  return e;
}

static pl_err list(store *s, const char *sql, const char *key, pl_arena *a, st_msg_attachment **out,
                   size_t *n) {
  const char *v[] = {key};
  pl_err e;
  PGresult *r = store__pg_exec(s, sql, 1, v, &e);
  if (e) {
    PQclear(r);
    return e;
  }
  *out = pg__rows(a, r, &st_msg_attachment_row, n);
  PQclear(r);
  return PL_OK;
}

pl_err pg__attachment_links(store *s, int64_t thread_id, const char *id, pl_arena *a,
                           st_msg_attachment **out, size_t *n) {
  if (!thread_id) return list(s, ST_SQL_ATTACHMENT_USES, id, a, out, n);
  pg_params p = {.n = 0};
  pg__p_int(&p, thread_id);
  return list(s, ST_SQL_ATTACHMENT_LIST_THREAD, p.v[0], a, out, n);
}
