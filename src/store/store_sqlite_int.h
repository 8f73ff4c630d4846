/* store_sqlite_int.h - what the files of the SQLite backend share. */
#ifndef PL_STORE_SQLITE_INT_H
#define PL_STORE_SQLITE_INT_H

#include <sqlite3.h>

#include "store/store.h"
#include "store/store_parts.h"
#include "store/store_row.h"
#include "store/store_sql.h"

/* Statement slots for the backend's own files beyond store_sqlite.c; each file owns a
 * range. (The files written once for both backends run theirs through exec, cached by
 * the address of their st_stmt instead.) */
#define SQ_MORE_STATEMENTS 72
#define SQ_SLOT_SLA 0     /* store_sqlite_sla.c: 0..23 */
#define SQ_SLOT_AUDIT 24  /* store_sqlite_audit.c: 24..39 */
#define SQ_SLOT_SLA2 40   /* store_sqlite_sla.c, one event at a time, and the thread tail: 40..55 */
#define SQ_SLOT_LIMITS 56 /* store_sqlite_limits.c: 56..71 */
typedef struct sq_store sq_store;
/* The connection of the calling thread's transaction on s: a reader connection during a
 * read-only transaction, else the writer (store_sqlite.c sq_begin). */
sq_store *sq__conn(store *s);
#define SQ(s) sq__conn(s)

/* The cached statement of a slot, prepared from text on first use, reset and with its
 * bindings cleared; NULL when it does not prepare. */
sqlite3_stmt *sq__stmt(sq_store *q, int slot, const char *text);
sqlite3 *sq__db(sq_store *q);
void sq__bind_text(sqlite3_stmt *st, int i, const char *v);
char *sq__col_text(pl_arena *a, sqlite3_stmt *st, int i);
/* A text column in place (NULL for SQL NULL), valid until the next step: for state names. */
const char *sq__col_cstr(sqlite3_stmt *st, int i);
/* Fills out, a struct of row's type, from the columns of st's current row that begin at
 * first, through the row's column table (store_row.h); text goes into a. */
void sq__read_row(pl_arena *a, sqlite3_stmt *st, int first, const st_row *row, void *out);
/* Steps a one-row query and reads the row through row's table: PL_OK, PL_ENOTFOUND, or the
 * failure (sq__fail). */
pl_err sq__get(sq_store *q, sqlite3_stmt *st, pl_arena *a, const st_row *row, void *out);
/* Steps st to its end, reading every row through row's table into an arena array, which it
 * returns with *n rows; NULL, *n 0 and *e the failure (logged) when a step fails. */
void *sq__rows(sqlite3_stmt *st, pl_arena *a, const st_row *row, size_t *n, pl_err *e);
/* Group commit, for tests and benchmarks: a hook run by the syncing thread before each
 * fdatasync, and how many write transactions committed, were made durable, and how many
 * fdatasync calls that took. */
void sq__group_commit_watch(store *s, void (*hook)(void *ctx), void *ctx);
void sq__group_commit_counts(store *s, uint64_t *committed, uint64_t *synced, uint64_t *syncs);
/* Tests: SQLite transactions that committed callers' transactions, and writers waiting for the
 * connection (a batch stays open for them). */
void sq__batch_counts(store *s, uint64_t *batches, int *waiting_writers);
/* Tests: callers in the open batch (not committed yet). */
int sq__batch_open(store *s);
/* The outcome of sqlite3_step's rc for st (NULL: none): PL_OK for a row or the end,
 * PL_EEXIST for a constraint (a refused row), else PL_ESTORE, with SQLite's message and
 * the statement logged to stderr. */
pl_err sq__fail(sq_store *q, sqlite3_stmt *st, int rc);
/* Logs a failed step of st (rc, SQLite's message and the statement) and returns
 * PL_ESTORE; for the loops over a query's rows, after their sqlite3_reset. */
pl_err sq__step_error(sqlite3_stmt *st, int rc);
/* Runs a statement that returns no rows (PL_EEXIST on a constraint). */
pl_err sq__run(sq_store *q, sqlite3_stmt *st);
/* Steps a one-row query: PL_OK with the row current, or PL_ENOTFOUND. */
pl_err sq__one(sq_store *q, sqlite3_stmt *st);

/* Statement slots of the thread tail (store_sqlite.c), in store_sqlite_sla.c's range. */
#define SQ_SLOT_TAIL (SQ_SLOT_SLA2 + 1)
/* The ranges follow each other and fit the slot table (sq__stmt also refuses a slot whose
 * cached statement was prepared from other SQL). */
_Static_assert(SQ_SLOT_SLA < SQ_SLOT_AUDIT && SQ_SLOT_AUDIT < SQ_SLOT_SLA2 && SQ_SLOT_SLA2 < SQ_SLOT_LIMITS &&
                   SQ_SLOT_LIMITS + 16 <= SQ_MORE_STATEMENTS,
               "SQLite statement slot ranges overlap or overflow SQ_MORE_STATEMENTS");
/* A file's slots end (one past its last) where the next file's range begins. */
#define SQ_SLOTS_FIT(end, next) _Static_assert((end) <= (next), "statement slots run into the next range")

/* The entries of the part files (store_parts.h). */
#define SQ__DECLARE(name) STORE_PART_DECLARE(sq, name)
STORE_PART_OPS(SQ__DECLARE)

#endif
