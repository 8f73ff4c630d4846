/* store_bulk.c - bulk notices and their items (docs/rules.md "Bulk notices"), written once
 * for both backends over exec. */
#include <stddef.h>
#include <string.h>

#include "store/store_shared.h"
#include "store/store_sql.h"

#define BULK_COLS "id, seller_id, marketplace_id, agent_id, action, text, attachments, status, total, created_at, updated_at"

static const st_stmt
    bulk_insert = {.sql = "INSERT INTO bulk_notices(seller_id, marketplace_id, agent_id, action, text, attachments,"
                          " status, total, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'running', ?7, ?8, ?8)"
                          " RETURNING id"},
    item_insert = {.sql = "INSERT INTO bulk_notice_items(notice_id, order_id, state, updated_at)"
                          " VALUES (?1, ?2, 'pending', ?3) ON CONFLICT DO NOTHING"},
    bulk_get = {.sql = "SELECT " BULK_COLS " FROM bulk_notices WHERE id = ?1"},
    /* a seller's (seller_id given) or every one (NULL), newest first, before a cursor */
    bulk_list = {.sql = "SELECT " BULK_COLS " FROM bulk_notices WHERE (CAST(?1 AS TEXT) IS NULL OR seller_id = ?1)"
                        " AND (CAST(?2 AS BIGINT) = 0 OR id < ?2) ORDER BY id DESC LIMIT ?3"},
    bulk_status = {.sql = "UPDATE bulk_notices SET status = ?2, updated_at = ?3 WHERE id = ?1 AND status = 'running'"},
    /* the items of a notice by state */
    item_counts = {.sql = "SELECT state, count(*) FROM bulk_notice_items WHERE notice_id = ?1 GROUP BY state"},
    item_list = {.sql = "SELECT notice_id, order_id, state, message_id, error, updated_at FROM bulk_notice_items"
                        " WHERE notice_id = ?1 ORDER BY order_id"},
    item_set = {.sql = "UPDATE bulk_notice_items SET state = ?3, message_id = ?4, error = ?5, updated_at = ?6"
                       " WHERE notice_id = ?1 AND order_id = ?2 AND state = 'pending'"},
    items_cancel = {.sql = "UPDATE bulk_notice_items SET state = 'canceled', updated_at = ?2"
                           " WHERE notice_id = ?1 AND state = 'pending'"},
    /* the oldest running notices with items left, and some of their items */
    due = {.sql = "SELECT " BULK_COLS " FROM bulk_notices WHERE status = 'running' ORDER BY id LIMIT ?1"},
    pending = {.sql = "SELECT notice_id, order_id, state, message_id, error, updated_at FROM bulk_notice_items"
                      " WHERE notice_id = ?1 AND state = 'pending' ORDER BY order_id LIMIT ?2"},
    /* a running notice with nothing pending is done */
    finish = {.sql = "UPDATE bulk_notices SET status = 'done', updated_at = ?2 WHERE id = ?1 AND status = 'running'"
                     " AND NOT EXISTS (SELECT 1 FROM bulk_notice_items i WHERE i.notice_id = ?1 AND i.state = 'pending')"};

static const st_col bulk_cols[] = {
    {"id", ST_COL_I64, offsetof(st_bulk, id)},           {"seller_id", ST_COL_TEXT, offsetof(st_bulk, seller_id)},
    {"marketplace_id", ST_COL_TEXT, offsetof(st_bulk, marketplace_id)},
    {"agent_id", ST_COL_I64, offsetof(st_bulk, agent_id)}, {"action", ST_COL_TEXT, offsetof(st_bulk, action)},
    {"text", ST_COL_TEXT, offsetof(st_bulk, text)},       {"attachments", ST_COL_TEXT, offsetof(st_bulk, attachments)},
    {"status", ST_COL_TEXT, offsetof(st_bulk, status)},   {"total", ST_COL_I64, offsetof(st_bulk, total)},
    {"created_at", ST_COL_I64, offsetof(st_bulk, created_at)},
    {"updated_at", ST_COL_I64, offsetof(st_bulk, updated_at)}};
static const st_row bulk_row = {bulk_cols, sizeof bulk_cols / sizeof bulk_cols[0], sizeof(st_bulk)};

static const st_col item_cols[] = {
    {"notice_id", ST_COL_I64, offsetof(st_bulk_item, notice_id)},
    {"order_id", ST_COL_TEXT, offsetof(st_bulk_item, order_id)},
    {"state", ST_COL_TEXT, offsetof(st_bulk_item, state)},
    {"message_id", ST_COL_I64, offsetof(st_bulk_item, message_id)},
    {"error", ST_COL_TEXT, offsetof(st_bulk_item, error)},
    {"updated_at", ST_COL_I64, offsetof(st_bulk_item, updated_at)}};
static const st_row item_row = {item_cols, sizeof item_cols / sizeof item_cols[0], sizeof(st_bulk_item)};

typedef struct {
  char *state;
  int64_t n;
} state_count;
static const st_col count_cols[] = {{"state", ST_COL_TEXT, offsetof(state_count, state)},
                                    {"n", ST_COL_I64, offsetof(state_count, n)}};
static const st_row count_row = {count_cols, 2, sizeof(state_count)};

pl_err store_bulk_add(store *s, st_bulk *b, const char *const *orders, size_t n) {
  st_i64 id;
  pl_err e = st__get(s, &bulk_insert,
                     ST_ARGS(ST_ARG_T(b->seller_id), ST_ARG_T(b->marketplace_id), ST_ARG_I(b->agent_id),
                             ST_ARG_T(b->action), ST_ARG_T(b->text), ST_ARG_T(b->attachments), ST_ARG_I(b->total),
                             ST_ARG_I(b->created_at)),
                     &st_i64_row, NULL, &id);
  if (e == PL_ENOTFOUND) return PL_ESTORE;
  if (e) return e;
  b->id = id.v;
  for (size_t i = 0; !e && i < n; i++)
    e = st__run(s, &item_insert, ST_ARGS(ST_ARG_I(b->id), ST_ARG_T(orders[i]), ST_ARG_I(b->created_at)));
  return e;
}

pl_err store_bulk_get(store *s, int64_t id, pl_arena *a, st_bulk *out) {
  return st__get(s, &bulk_get, ST_ARGS(ST_ARG_I(id)), &bulk_row, a, out);
}

pl_err store_bulk_list(store *s, const char *seller_id, int64_t before, int limit, pl_arena *a, st_bulk **out,
                       size_t *n) {
  return st__list(s, &bulk_list, ST_ARGS(ST_ARG_T(seller_id), ST_ARG_I(before), ST_ARG_I(limit)), &bulk_row, a, out, n);
}

pl_err store_bulk_counts(store *s, int64_t id, pl_arena *a, st_bulk_counts *out) {
  state_count *rows;
  size_t n;
  *out = (st_bulk_counts){0};
  pl_err e = st__list(s, &item_counts, ST_ARGS(ST_ARG_I(id)), &count_row, a, &rows, &n);
  for (size_t i = 0; !e && i < n; i++) {
    const char *st = rows[i].state ? rows[i].state : "";
    if (!strcmp(st, "pending")) out->pending = rows[i].n;
    else if (!strcmp(st, "delivered")) out->delivered = rows[i].n;
    else if (!strcmp(st, "not_delivered")) out->not_delivered = rows[i].n;
    else if (!strcmp(st, "failed")) out->failed = rows[i].n;
    else if (!strcmp(st, "canceled")) out->canceled = rows[i].n;
  }
  return e;
}

pl_err store_bulk_items(store *s, int64_t id, pl_arena *a, st_bulk_item **out, size_t *n) {
  return st__list(s, &item_list, ST_ARGS(ST_ARG_I(id)), &item_row, a, out, n);
}

pl_err store_bulk_cancel(store *s, int64_t id, pl_time now) {
  pl_err e = st__change(s, &bulk_status, ST_ARGS(ST_ARG_I(id), ST_ARG_T("canceled"), ST_ARG_I(now)));
  return e ? e : st__run(s, &items_cancel, ST_ARGS(ST_ARG_I(id), ST_ARG_I(now)));
}

pl_err store_bulk_running(store *s, int limit, pl_arena *a, st_bulk **out, size_t *n) {
  return st__list(s, &due, ST_ARGS(ST_ARG_I(limit)), &bulk_row, a, out, n);
}

pl_err store_bulk_pending(store *s, int64_t id, int limit, pl_arena *a, st_bulk_item **out, size_t *n) {
  return st__list(s, &pending, ST_ARGS(ST_ARG_I(id), ST_ARG_I(limit)), &item_row, a, out, n);
}

pl_err store_bulk_item_set(store *s, const st_bulk_item *it) {
  return st__change(s, &item_set,
                    ST_ARGS(ST_ARG_I(it->notice_id), ST_ARG_T(it->order_id), ST_ARG_T(it->state),
                            ST_ARG_I(it->message_id), ST_ARG_T(it->error), ST_ARG_I(it->updated_at)));
}

pl_err store_bulk_finish(store *s, int64_t id, pl_time now, bool *done) {
  size_t changed = 0;
  pl_err e = st__count(s, &finish, ST_ARGS(ST_ARG_I(id), ST_ARG_I(now)), &changed);
  if (!e) *done = changed > 0;
  return e;
}

static const st_stmt orders_asin = {.sql = "SELECT DISTINCT order_id FROM order_items WHERE seller_id = ?1 AND asin = ?2"
                                           " ORDER BY order_id LIMIT ?3"};

pl_err store_orders_with_asin(store *s, const char *seller_id, const char *asin, int limit, pl_arena *a,
                              char ***out, size_t *n) {
  return st__texts(s, &orders_asin, ST_ARGS(ST_ARG_T(seller_id), ST_ARG_T(asin), ST_ARG_I(limit)), a, out, n);
}
