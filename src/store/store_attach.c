/* store_attach.c - attachment records, the messages that carry them, unattached uploads,
 * and Idempotency-Keys; written once for both backends over exec. */
#include "store/store_shared.h"
#include "store/store_sql.h"

static const st_stmt
    put = {.sql = ST_SQL_ATTACHMENT_PUT}, get_segments = {.sql = ST_SQL_ATTACHMENT_GET_SEGMENTS},
    get_head = {.sql = "SELECT " ST_ATTACH_COLS ", NULL FROM attachments WHERE id = ?1"},
    find_sha = {.sql = "SELECT " ST_ATTACH_COLS ", segments FROM attachments WHERE sha256 = ?1 AND readable = TRUE"
                       " ORDER BY created_at LIMIT 1"},
    link = {.sql = "INSERT INTO message_attachments(message_id, thread_id, seller_id, attachment_id, pos)"
                   " VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING"},
    links_thread = {.sql = ST_SQL_ATTACHMENT_LIST_THREAD}, links_uses = {.sql = ST_SQL_ATTACHMENT_USES},
    orphans = {.sql = "SELECT id, sha256, created_at, uploader FROM attachments a"
                      " WHERE created_at < ?1 AND NOT EXISTS"
                      " (SELECT 1 FROM message_attachments l WHERE l.attachment_id = a.id)"
                      " ORDER BY created_at LIMIT ?2"},
    delete_unused = {.sql = ST_SQL_ATTACHMENT_DELETE}, sha_count = {.sql = ST_SQL_ATTACHMENT_SHA_COUNT},
    idem_insert = {.sql = "INSERT INTO idempotency_keys(principal, key, fingerprint, status, created_at)"
                          " VALUES (?1, ?2, ?3, 0, ?4) ON CONFLICT DO NOTHING"},
    idem_get = {.sql = ST_SQL_IDEM_GET},
    idem_finish = {.sql = "UPDATE idempotency_keys SET status = ?3, body = ?4 WHERE principal = ?1 AND key = ?2"},
    idem_release = {.sql = ST_SQL_IDEM_RELEASE},
    idem_sweep = {.sql = "DELETE FROM idempotency_keys WHERE created_at < ?1"};

pl_err store_attachment_put(store *s, const st_attachment *a) {
  return st__run(s, &put,
                 ST_ARGS(ST_ARG_T(a->id), ST_ARG_T(a->seller_id), ST_ARG_T(a->buyer_id), ST_ARG_T(a->uploader),
                         ST_ARG_T(a->name), ST_ARG_T(a->kind), ST_ARG_T(a->sha256), ST_ARG_I(a->size),
                         ST_ARG_B(a->readable), ST_ARG_T(a->reason), ST_ARG_I(a->created_at),
                         ST_ARG_T(a->segments_json ? a->segments_json : "[]")));
}

pl_err store_attachment_get(store *s, const char *id, bool segments, pl_arena *a, st_attachment *out) {
  return st__get(s, segments ? &get_segments : &get_head, ST_ARGS(ST_ARG_T(id)), &st_attachment_row, a, out);
}

pl_err store_attachment_find_sha(store *s, const char *sha256, pl_arena *a, st_attachment *out) {
  return st__get(s, &find_sha, ST_ARGS(ST_ARG_T(sha256)), &st_attachment_row, a, out);
}

pl_err store_attachment_link(store *s, int64_t message_id, int64_t thread_id, const char *seller_id,
                             const char *attachment_id, int pos) {
  size_t n = 0;
  pl_err e = st__count(s, &link,
                       ST_ARGS(ST_ARG_I(message_id), ST_ARG_I(thread_id), ST_ARG_T(seller_id),
                               ST_ARG_T(attachment_id), ST_ARG_I(pos)),
                       &n);
  return e ? e : n ? PL_OK : PL_EEXIST;
}

pl_err store_attachment_links(store *s, int64_t thread_id, const char *id, pl_arena *a, st_msg_attachment **out,
                              size_t *n) {
  if (thread_id)
    return st__list(s, &links_thread, ST_ARGS(ST_ARG_I(thread_id)), &st_msg_attachment_row, a, out, n);
  return st__list(s, &links_uses, ST_ARGS(ST_ARG_T(id)), &st_msg_attachment_row, a, out, n);
}

pl_err store_attachment_orphans(store *s, pl_time before, int limit, pl_arena *a, st_attachment **out, size_t *n) {
  return st__list(s, &orphans, ST_ARGS(ST_ARG_I(before), ST_ARG_I(limit > 0 ? limit : 1)), &st_orphan_row, a, out,
                  n);
}

pl_err store_attachment_delete(store *s, const char *id, const char *sha256, bool *file_unused) {
  pl_err e = st__change(s, &delete_unused, ST_ARGS(ST_ARG_T(id)));
  if (e == PL_ENOTFOUND) return PL_ECONFLICT; /* gone, or a message carries it now */
  if (e) return e;
  st_i64 left;
  if ((e = st__get(s, &sha_count, ST_ARGS(ST_ARG_T(sha256)), &st_i64_row, NULL, &left))) return e;
  *file_unused = left.v == 0;
  return PL_OK;
}

pl_err store_idem_claim(store *s, const char *principal, const char *key, const char *fingerprint, pl_time now,
                        pl_arena *a, bool *claimed, st_idem *out) {
  size_t n = 0;
  pl_err e = st__count(s, &idem_insert,
                       ST_ARGS(ST_ARG_T(principal), ST_ARG_T(key), ST_ARG_T(fingerprint), ST_ARG_I(now)), &n);
  if (e) return e;
  *claimed = n > 0;
  if (*claimed) return PL_OK;
  e = store_idem_get(s, principal, key, a, out);
  return e == PL_ENOTFOUND ? PL_ESTORE : e;
}

pl_err store_idem_get(store *s, const char *principal, const char *key, pl_arena *a, st_idem *out) {
  pl_err e = st__get(s, &idem_get, ST_ARGS(ST_ARG_T(principal), ST_ARG_T(key)), &st_idem_row, a, out);
  if (e) return e;
  out->principal = pl_arena_strdup(a, principal);
  out->key = pl_arena_strdup(a, key);
  return PL_OK;
}

pl_err store_idem_finish(store *s, const char *principal, const char *key, int status, const char *body) {
  if (!status) return st__run(s, &idem_release, ST_ARGS(ST_ARG_T(principal), ST_ARG_T(key)));
  return st__run(s, &idem_finish, ST_ARGS(ST_ARG_T(principal), ST_ARG_T(key), ST_ARG_I(status), ST_ARG_T(body)));
}

pl_err store_idem_sweep(store *s, pl_time before, int64_t *n) {
  size_t changed = 0;
  pl_err e = st__count(s, &idem_sweep, ST_ARGS(ST_ARG_I(before)), &changed);
  *n = (int64_t)changed;
  return e;
}
