/* store_sqlite_attach.c - attachment records and the messages that carry them, in SQLite. */
#include <string.h>

#include "store/store_sqlite_int.h"

enum { S_PUT = SQ_SLOT_ATTACH, S_GET, S_GET_SEGS, S_FIND_SHA, S_LINK, S_LIST_THREAD, S_USES, S__END };
SQ_SLOTS_FIT(S__END, SQ_SLOT_AUDIT);

pl_err sq__attachment_put(store *s, const st_attachment *a) {
  sq_store *q = SQ(s);
  sqlite3_stmt *st = sq__stmt(q, S_PUT,
                              ST_SQL_ATTACHMENT_PUT);
  if (!st) return PL_ESTORE;
  sq__bind_text(st, 1, a->id);
  sq__bind_text(st, 2, a->seller_id);
  sq__bind_text(st, 3, a->buyer_id);
  sq__bind_text(st, 4, a->uploader);
  sq__bind_text(st, 5, a->name);
  sq__bind_text(st, 6, a->kind);
  sq__bind_text(st, 7, a->sha256);
  sqlite3_bind_int64(st, 8, a->size);
  sqlite3_bind_int(st, 9, a->readable);
  sq__bind_text(st, 10, a->reason);
  sqlite3_bind_int64(st, 11, a->created_at);
  sq__bind_text(st, 12, a->segments_json ? a->segments_json : "[]");
  return sq__run(q, st);
}

static void read_row(pl_arena *a, sqlite3_stmt *st, bool segments, st_attachment *out) {
  out->id = sq__col_text(a, st, 0);
  out->seller_id = sq__col_text(a, st, 1);
  out->buyer_id = sq__col_text(a, st, 2);
  out->uploader = sq__col_text(a, st, 3);
  out->name = sq__col_text(a, st, 4);
  out->kind = sq__col_text(a, st, 5);
  out->sha256 = sq__col_text(a, st, 6);
  out->size = sqlite3_column_int64(st, 7);
  out->readable = sqlite3_column_int(st, 8) != 0;
  out->reason = sq__col_text(a, st, 9);
  out->created_at = sqlite3_column_int64(st, 10);
  out->segments_json = segments ? sq__col_text(a, st, 11) : NULL;
}

pl_err sq__attachment_get(store *s, const char *id, bool segments, pl_arena *a, st_attachment *out) {
  sq_store *q = SQ(s);
  sqlite3_stmt *st = segments ? sq__stmt(q, S_GET_SEGS, ST_SQL_ATTACHMENT_GET_SEGMENTS)
                              : sq__stmt(q, S_GET, ST_SQL_ATTACHMENT_GET_NO_SEGMENTS);
  if (!st) return PL_ESTORE;
  sq__bind_text(st, 1, id);
  pl_err e = sq__one(q, st);
  if (e) return e;
  read_row(a, st, segments, out);
  sqlite3_reset(st);
  return PL_OK;
}

pl_err sq__attachment_find_sha(store *s, const char *sha256, pl_arena *a, st_attachment *out) {
  sq_store *q = SQ(s);
  sqlite3_stmt *st = sq__stmt(q, S_FIND_SHA,
                              "SELECT " ST_ATTACH_COLS ", segments FROM attachments WHERE sha256 = ?1 AND readable = 1"
                              " ORDER BY created_at LIMIT 1");
  if (!st) return PL_ESTORE;
  sq__bind_text(st, 1, sha256);
  pl_err e = sq__one(q, st);
  if (e) return e;
  read_row(a, st, true, out);
  sqlite3_reset(st);
  return PL_OK;
}

pl_err sq__attachment_link(store *s, int64_t message_id, int64_t thread_id, const char *seller_id,
                           const char *attachment_id, int pos) {
  sq_store *q = SQ(s);
  sqlite3_stmt *st = sq__stmt(q, S_LINK,
                              "INSERT INTO message_attachments(message_id, thread_id, seller_id, attachment_id, pos)"
                              " VALUES (?1, ?2, ?3, ?4, ?5)");
  if (!st) return PL_ESTORE;
  sqlite3_bind_int64(st, 1, message_id);
  sqlite3_bind_int64(st, 2, thread_id);
  sq__bind_text(st, 3, seller_id);
  sq__bind_text(st, 4, attachment_id);
  sqlite3_bind_int(st, 5, pos);
  return sq__run(q, st);
}

static pl_err list(sq_store *q, sqlite3_stmt *st, pl_arena *a, st_msg_attachment **out, size_t *n) {
  pl_err e;
  (void)q;
  *out = sq__rows(st, a, &st_msg_attachment_row, n, &e);
  return e;
}

pl_err sq__attachment_links(store *s, int64_t thread_id, const char *id, pl_arena *a,
                           st_msg_attachment **out, size_t *n) {
  sq_store *q = SQ(s);
  sqlite3_stmt *st = thread_id ? sq__stmt(q, S_LIST_THREAD, ST_SQL_ATTACHMENT_LIST_THREAD)
                               : sq__stmt(q, S_USES, ST_SQL_ATTACHMENT_USES);
  if (!st) return PL_ESTORE;
  if (thread_id) sqlite3_bind_int64(st, 1, thread_id);
  else sq__bind_text(st, 1, id);
  return list(q, st, a, out, n);
}
