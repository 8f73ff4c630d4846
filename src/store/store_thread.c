/* store_thread.c - what is read of threads and messages the same way on both backends:
 * the inbox's count of threads needing a response, and a thread's message events. The
 * rest of threads and messages stays with each backend (a writer's thread lock on
 * PostgreSQL, the full-text index on SQLite). */
#include "store/store_shared.h"
#include "store/store_sql.h"

static const st_stmt count_response_needed = {.sql = "SELECT count(*) FROM threads WHERE seller_id = ?1"
                                                     " AND archived = FALSE AND needs_response > 0"},
                     event_list = {.sql = ST_SQL_EVENT_LIST};

pl_err store_thread_count_response_needed(store *s, const char *seller_id, int64_t *n) {
  st_i64 v;
  pl_err e = st__get(s, &count_response_needed, ST_ARGS(ST_ARG_T(seller_id)), &st_i64_row, NULL, &v);
  if (!e) *n = v.v;
  return e;
}

pl_err store_event_list(store *s, int64_t thread_id, pl_arena *a, st_event **out, size_t *n) {
  return st__list(s, &event_list, ST_ARGS(ST_ARG_I(thread_id)), &st_event_row, a, out, n);
}
