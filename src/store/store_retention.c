/* store_retention.c - legal holds, and purging a thread past its marketplace's retention
 * (docs/rules.md "Retention"), written once for both backends over exec. */
#include <stddef.h>
#include <string.h>

#include "store/store_shared.h"
#include "store/store_sql.h"

#define HOLD_COLS "thread_id, seller_id, marketplace_id, reason, set_by, set_at"
#define THREAD_MSGS "(SELECT id FROM messages WHERE thread_id = ?1)"

static const st_stmt
    hold_set = {.sql = "INSERT INTO legal_holds(" HOLD_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
                       " ON CONFLICT (thread_id) DO UPDATE SET reason = excluded.reason,"
                       " set_by = excluded.set_by, set_at = excluded.set_at"},
    hold_get = {.sql = "SELECT " HOLD_COLS " FROM legal_holds WHERE thread_id = ?1"},
    hold_delete = {.sql = "DELETE FROM legal_holds WHERE thread_id = ?1"},
    hold_list = {.sql = "SELECT " HOLD_COLS " FROM legal_holds WHERE (CAST(?1 AS TEXT) IS NULL OR marketplace_id = ?1)"
                        " AND thread_id > ?2 ORDER BY thread_id LIMIT ?3"},
    /* the oldest end of the seller's threads_seller_recent index */
    due = {.sql = "SELECT t.id FROM threads t WHERE t.seller_id = ?1 AND t.last_message_at < ?2"
                  " AND NOT EXISTS (SELECT 1 FROM legal_holds h WHERE h.thread_id = t.id)"
                  " ORDER BY t.last_message_at, t.id LIMIT ?3"},
    count = {.sql = "SELECT count(*) FROM messages WHERE thread_id = ?1"},
    /* The purge, in order: the grant that lets the append-only record lose this thread's
     * rows (a row of purges on SQLite, the transaction's parley.purge on PostgreSQL), the
     * full-text rows (SQLite's external-content indexes are told what they held), what
     * refers to the messages, the messages, the thread, and the grant taken back. */
    grant = {.sql = "INSERT INTO purges(thread_id) VALUES (?1)",
             .pg = "SELECT set_config('parley.purge', CAST($1 AS TEXT), true)"},
    fts = {.sql = "INSERT INTO messages_fts(messages_fts, rowid, text) SELECT 'delete', id, text FROM messages"
                  " WHERE thread_id = ?1",
           .pg = "SELECT CAST($1 AS BIGINT)"},
    search_fts = {.sql = "INSERT INTO seller_search_fts(seller_search_fts, rowid, text)"
                         " SELECT 'delete', message_id, text FROM seller_search WHERE thread_id = ?1",
                  .pg = "SELECT CAST($1 AS BIGINT)"},
    parts[] = {{.sql = "DELETE FROM seller_search WHERE thread_id = ?1"},
               {.sql = "DELETE FROM message_attachments WHERE thread_id = ?1"},
               {.sql = "DELETE FROM message_state WHERE message_id IN " THREAD_MSGS},
               {.sql = "DELETE FROM outbox WHERE message_id IN " THREAD_MSGS},
               {.sql = "DELETE FROM review_requests WHERE message_id IN " THREAD_MSGS},
               {.sql = "DELETE FROM sla_outcomes WHERE thread_id = ?1"},
               {.sql = "DELETE FROM sla_thread_outcomes WHERE thread_id = ?1"},
               {.sql = "DELETE FROM message_events WHERE thread_id = ?1"},
               {.sql = "DELETE FROM messages WHERE thread_id = ?1"},
               {.sql = "DELETE FROM thread_team WHERE thread_id = ?1"},
               {.sql = "DELETE FROM thread_locks WHERE thread_id = ?1"},
               {.sql = "DELETE FROM threads WHERE id = ?1"}},
    revoke = {.sql = "DELETE FROM purges WHERE thread_id = ?1",
              .pg = "SELECT set_config('parley.purge', '', true) WHERE CAST($1 AS BIGINT) IS NOT NULL"};

static const st_col hold_cols[] = {
    {"thread_id", ST_COL_I64, offsetof(st_legal_hold, thread_id)},
    {"seller_id", ST_COL_TEXT, offsetof(st_legal_hold, seller_id)},
    {"marketplace_id", ST_COL_TEXT, offsetof(st_legal_hold, marketplace_id)},
    {"reason", ST_COL_TEXT, offsetof(st_legal_hold, reason)},
    {"set_by", ST_COL_TEXT, offsetof(st_legal_hold, set_by)},
    {"set_at", ST_COL_I64, offsetof(st_legal_hold, set_at)}};
static const st_row hold_row = {hold_cols, sizeof hold_cols / sizeof hold_cols[0], sizeof(st_legal_hold)};

pl_err store_legal_hold_set(store *s, const st_legal_hold *h) {
  return st__run(s, &hold_set,
                 ST_ARGS(ST_ARG_I(h->thread_id), ST_ARG_T(h->seller_id), ST_ARG_T(h->marketplace_id),
                         ST_ARG_T(h->reason), ST_ARG_T(h->set_by), ST_ARG_I(h->set_at)));
}

pl_err store_legal_hold_get(store *s, int64_t thread_id, pl_arena *a, st_legal_hold *out) {
  return st__get(s, &hold_get, ST_ARGS(ST_ARG_I(thread_id)), &hold_row, a, out);
}

pl_err store_legal_hold_delete(store *s, int64_t thread_id) {
  return st__change(s, &hold_delete, ST_ARGS(ST_ARG_I(thread_id)));
}

pl_err store_legal_hold_list(store *s, const char *marketplace_id, int64_t after, int limit, pl_arena *a,
                             st_legal_hold **out, size_t *n) {
  return st__list(s, &hold_list, ST_ARGS(ST_ARG_T(marketplace_id), ST_ARG_I(after), ST_ARG_I(limit)), &hold_row, a,
                  out, n);
}

pl_err store_retention_due(store *s, const char *seller_id, pl_time before, int limit, pl_arena *a,
                           int64_t **out, size_t *n) {
  st_i64 *rows = NULL;
  pl_err e = st__list(s, &due, ST_ARGS(ST_ARG_T(seller_id), ST_ARG_I(before), ST_ARG_I(limit)), &st_i64_row, a,
                      &rows, n);
  if (e) return e;
  *out = pl_arena_alloc(a, (*n ? *n : 1) * sizeof **out);
  for (size_t i = 0; i < *n; i++) (*out)[i] = rows[i].v;
  return PL_OK;
}

pl_err store_thread_purge(store *s, int64_t thread_id, int64_t *messages) {
  st_i64 c = {0};
  pl_err e = st__get(s, &count, ST_ARGS(ST_ARG_I(thread_id)), &st_i64_row, NULL, &c);
  *messages = c.v;
  if (!e) e = st__run(s, &grant, ST_ARGS(ST_ARG_I(thread_id)));
  if (!e) e = st__run(s, &fts, ST_ARGS(ST_ARG_I(thread_id)));
  if (!e) e = st__run(s, &search_fts, ST_ARGS(ST_ARG_I(thread_id)));
  for (size_t i = 0; !e && i < sizeof parts / sizeof parts[0]; i++) e = st__run(s, &parts[i], ST_ARGS(ST_ARG_I(thread_id)));
  if (!e) e = st__run(s, &revoke, ST_ARGS(ST_ARG_I(thread_id)));
  return e;
}
