/* store_sqlite.c - the embedded SQLite backend of the store interface (WAL, FTS5).
 *
 * One connection serves the process; a mutex held from begin to commit/rollback
 * serialises transactions, which is what SQLite's single writer does anyway.
 * Statements are prepared once and cached. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store/store.h"
#include "store/store_sql.h"
#include "store/store_sqlite_int.h"
#include "store/store_sqlite_schema.h"

enum {
  Q_THREAD_INSERT, Q_THREAD_GET, Q_THREAD_FIND_ORDER, Q_THREAD_FIND_PRODUCT, Q_THREAD_UPDATE,
  Q_THREAD_LIST_SELLER, Q_THREAD_LIST_SELLER_DUE, Q_THREAD_LIST_BUYER, Q_THREAD_LIST_ALL, Q_MSG_INSERT, Q_MSG_FTS, Q_MSG_SELLER_TEXT, Q_MSG_SELLER_FTS, Q_MSG_SELLER_PENDING, Q_MSG_GET, Q_MSG_GET_EXT, Q_MSG_LIST, Q_MSG_PAGE,
  Q_EVENT_INSERT, Q_STATE_STATUS, Q_STATE_FLAG, Q_PING,
  Q__COUNT
};

/* The inbox query's conditions, shared by the three scopes, ordered by `at`: the last
 * message, or for a buyer the last message the buyer can see (the team's notes and refused
 * messages do not move a thread in a buyer's list). Every value is bound. A buyer's "all"
 * (?9 = 1) includes the threads the seller archived: archiving is the seller's. */
#define THREAD_LIST_WHERE_BY(at, cmp, dir)                                                                \
  " AND CASE ?2 WHEN 0 THEN (?9 = 1 OR t.archived = 0)"                                  \
  "  WHEN 1 THEN t.archived = 0 AND t.needs_response > 0"                                  \
  "  WHEN 2 THEN t.archived = 0 AND t.waiting > 0"                                         \
  "  WHEN 3 THEN t.archived = 0 AND t.last_seller_at > 0"                                  \
  "  ELSE t.archived = 1 END"                                                              \
  " AND (?3 IS NULL OR t.order_id = ?3)"                                                   \
  " AND (?4 IS NULL OR t.asin = ?4 OR t.order_id IN"                                       \
  "      (SELECT i.order_id FROM order_items i WHERE i.seller_id = t.seller_id"            \
  "       AND i.asin = ?4))"                                                               \
  " AND (?5 IS NULL OR EXISTS (SELECT 1 FROM aliases al WHERE al.alias = ?5"               \
  "      AND al.buyer_id = t.buyer_id AND al.seller_id = t.seller_id))"                    \
  " AND (?6 IS NULL OR t.id IN (SELECT m.thread_id FROM messages m"                        \
  "      LEFT JOIN message_state s ON s.message_id = m.id"                                \
  "      WHERE m.id IN (SELECT rowid FROM messages_fts WHERE messages_fts MATCH ?6)"      \
  "      AND (?13 = 0 OR m.direction <> 'buyer')"                                         \
  "      AND (?9 = 0 OR (m.kind <> 'note' AND (m.direction = 'buyer'"                      \
  "           OR s.status = 'delivered'))))"                                              \
  "      OR (?13 = 1 AND t.id IN (SELECT ss.thread_id FROM seller_search ss"              \
  "      WHERE ss.message_id IN (SELECT rowid FROM seller_search_fts"                     \
  "      WHERE seller_search_fts MATCH ?6))))"                                            \
  " AND (?7 = 0 OR " at " " cmp " ?7 OR (" at " = ?7 AND t.id " cmp " ?8))"      \
  " AND (?11 = 0 OR (?11 = -1 AND NOT EXISTS (SELECT 1 FROM thread_team tt"               \
  "      WHERE tt.thread_id = t.id AND tt.assignee_id <> 0))"                             \
  "      OR (?11 > 0 AND EXISTS (SELECT 1 FROM thread_team tt"                            \
  "      WHERE tt.thread_id = t.id AND tt.assignee_id = ?11)))"                           \
  " AND (?12 IS NULL OR EXISTS (SELECT 1 FROM thread_team tt WHERE tt.thread_id = t.id"    \
  "      AND instr(tt.tags, ',' || ?12 || ',') > 0))"                                      \
  " AND (?14 = 0 OR t.last_message_at >= ?14 OR (?17 = 1 AND t.needs_response > 0))"     \
  " AND (?15 = 0 OR t.last_message_at <= ?15)"                                             \
  " AND (?16 IS NULL OR EXISTS (SELECT 1 FROM buyers b WHERE b.id = t.buyer_id"            \
  "      AND instr(lower(b.name), lower(?16)) > 0))"                                       \
  " ORDER BY " at " " dir ", t.id " dir " LIMIT ?10"
/* Newest first; or, for a seller's "response needed", the least time left first. */
#define THREAD_LIST_WHERE(at) THREAD_LIST_WHERE_BY(at, "<", "DESC")

static const char *const sql[Q__COUNT] = {
  [Q_THREAD_INSERT] = ST_SQL_THREAD_INSERT,
  [Q_THREAD_GET] = ST_SQL_THREAD_GET,
  [Q_THREAD_FIND_ORDER] = ST_SQL_THREAD_FIND_ORDER,
  [Q_THREAD_FIND_PRODUCT] = ST_SQL_THREAD_FIND_PRODUCT,
  [Q_THREAD_UPDATE] = ST_SQL_THREAD_UPDATE,
  [Q_THREAD_LIST_SELLER] = "SELECT " ST_THREAD_COLS " FROM threads t WHERE t.seller_id = ?1"
                           THREAD_LIST_WHERE("t.last_message_at"),
  [Q_THREAD_LIST_SELLER_DUE] = "SELECT " ST_THREAD_COLS " FROM threads t WHERE t.seller_id = ?1"
                               THREAD_LIST_WHERE_BY("t.response_due_at", ">", "ASC"),
  [Q_THREAD_LIST_BUYER] = "SELECT " ST_THREAD_COLS " FROM threads t WHERE t.buyer_id = ?1"
                          THREAD_LIST_WHERE("t.buyer_last_at"),
  [Q_THREAD_LIST_ALL] = "SELECT " ST_THREAD_COLS " FROM threads t WHERE (?1 IS NULL OR 1)"
                        THREAD_LIST_WHERE("t.last_message_at"),
  [Q_MSG_INSERT] = ST_SQL_MSG_INSERT,
  [Q_MSG_FTS] = "INSERT INTO messages_fts(rowid, text) VALUES (?1, ?2)",
  [Q_MSG_SELLER_TEXT] = "INSERT OR IGNORE INTO seller_search(message_id, thread_id, text)"
                        " VALUES (?1, ?2, ?3)",
  [Q_MSG_SELLER_FTS] = "INSERT INTO seller_search_fts(rowid, text) VALUES (?1, ?2)",
  [Q_MSG_SELLER_PENDING] = ST_SQL_MSG_SELLER_PENDING,
  [Q_MSG_GET] = ST_SQL_MSG_GET,
  [Q_MSG_GET_EXT] = ST_SQL_MSG_GET_EXT,
  [Q_MSG_PAGE] = "SELECT " ST_MSG_COLS " FROM messages m LEFT JOIN message_state s ON s.message_id = m.id"
                 " WHERE m.thread_id = ?1 AND (?2 = 0 OR (m.direction = 'buyer' AND m.kind <> 'auto_reply') OR (m.direction <> 'buyer' AND m.kind <> 'note' AND s.status = 'delivered'))"
                 " AND (?3 = 0 OR m.at < ?4 OR (m.at = ?4 AND m.id < ?3)) ORDER BY m.at DESC, m.id DESC LIMIT ?5",
  [Q_MSG_LIST] = ST_SQL_MSG_LIST,
  [Q_EVENT_INSERT] = ST_SQL_EVENT_INSERT,
  [Q_STATE_STATUS] = "INSERT INTO message_state(message_id, seller_id, status, flagged, status_at)"
                     " VALUES (?1, ?2, ?3, 0, ?4) ON CONFLICT(message_id) DO UPDATE SET"
                     " status = excluded.status, status_at = excluded.status_at",
  [Q_STATE_FLAG] = ST_SQL_STATE_FLAG,
  [Q_PING] = ST_SQL_PING,
};

/* One caller's transaction that has been released into the open batch and waits for
 * the batch's COMMIT (sq_commit). Lives on the caller's stack. */
/* A caller whose write transaction is in a batch, then waiting for the flush that makes
 * it durable. Each sleeps on a condition of its own, woken only when that concerns it
 * (its batch ended badly, its flush came, or it is to flush for the others): a broadcast
 * would wake every caller at every batch and every flush. */
typedef struct sq_member {
  struct sq_member *next;  /* in the open batch, newest first */
  struct sq_member *wnext; /* in the store's list of those waiting for a flush, oldest first */
  pthread_cond_t cv;       /* under sync_mu */
  bool done;       /* the batch has ended: result says how */
  pl_err result;   /* PL_OK: committed, with this number in commit order */
  uint64_t number;
} sq_member;

/* Statements that begin and end transactions (tx), prepared once per connection. */
enum { TX_BEGIN, TX_BEGIN_IMMEDIATE, TX_COMMIT, TX_ROLLBACK, TX_SAVEPOINT, TX_RELEASE, TX_ROLLBACK_TO, TX__COUNT };
static const char *const tx_sql[TX__COUNT] = {"BEGIN", "BEGIN IMMEDIATE", "COMMIT", "ROLLBACK",
                                              "SAVEPOINT pl_tx", "RELEASE pl_tx", "ROLLBACK TO pl_tx"};
/* Connections for read-only transactions (at most 32: a bit each in reader_free). */
#define SQ_READERS 4

/* A row for a full-text index (messages_fts or seller_search_fts), written when its batch
 * ends (index_later). */
typedef struct {
  bool seller; /* seller_search_fts, else messages_fts */
  int64_t rowid;
  char *text;
} sq_index_row;

/* A caller's own index rows are written at once, inside its savepoint, when this many
 * wait (an import of many messages in one transaction). */
#define SQ_INDEX_FLUSH 256

/* A savepoint's journal is kept in memory, in one block, up to this size; a larger one
 * (an import of many messages in one transaction) goes on in a temporary file. */
#define SQ_SUBJOURNAL_BYTES (4 << 20)
/* At most this many callers' transactions share one SQLite transaction. */
#define SQ_BATCH_MAX 64
/* Statements run through exec, per connection (an open-addressed table). */
#define SQ_SHARED_STATEMENTS 256
/* How long a flush waits for writers still on their way to a COMMIT (durable). */
#define SQ_SYNC_DELAY_US 1000

struct sq_store {
  store base;
  sqlite3 *db;
  pthread_mutex_t mu;   /* the connection: held from a caller's begin to its commit */
  bool writing;         /* the caller's transaction was begun for writing */
  /* Batches (sq_begin, sq_commit): callers' write transactions are savepoints of one
   * SQLite transaction that stays open while more writers wait for the connection; the
   * last of them commits it for all. Under mu. */
  atomic_int want_write; /* writers waiting for mu */
  uint64_t held_since;   /* when mu was taken */
  atomic_ullong writer_busy_ns; /* time mu has been held */
  bool tx_open;          /* the connection's SQLite transaction is open */
  bool tx_write;         /* it was begun IMMEDIATE: a batch of writes */
  sq_member *members;    /* released into it, waiting for its COMMIT */
  unsigned n_members;
  atomic_int pending;    /* n_members, readable without mu (durable) */
  atomic_bool sync_busy; /* an fdatasync is under way: a batch stays open for the next one */
  /* Full-text index rows of the open batch, written just before its COMMIT: an FTS5
   * table flushes what it holds at every savepoint, so rows written by each caller
   * would make one index segment a caller instead of one a batch. marks[i]: where the
   * rows of the i-th open savepoint begin (0: the caller's own, then sq_savepoint's). */
  sq_index_row *index;
  size_t n_index, cap_index;
  size_t *marks;
  size_t n_marks, cap_marks;
  /* Group commit (sq_commit): a batch is written with synchronous=NORMAL, then made
   * durable by one fdatasync of the WAL shared by every commit that is waiting for one. */
  pthread_mutex_t sync_mu;
  pthread_cond_t batch_cv; /* a batch ended (end_batch): for a flush waiting for its COMMIT */
  sq_member *waiting, *waiting_tail; /* committed, not yet durable, in commit order */
  char *wal_path, *db_path;
  int wal_fd;           /* the WAL, opened by the syncing thread; -1 until needed */
  uint64_t committed;   /* callers' write transactions committed, in WAL order */
  uint64_t batches;     /* SQLite transactions that committed them */
  uint64_t synced;      /* of those, made durable */
  bool syncing;         /* a thread is in fdatasync for the others */
  bool broken;          /* an fdatasync failed: nothing more is acknowledged */
  uint64_t syncs;       /* fdatasync calls made */
  void (*sync_hook)(void *ctx); /* tests: runs before each fdatasync, in the syncing thread */
  void *sync_ctx;
  sqlite3_stmt *stmt[Q__COUNT];
  sqlite3_stmt *more[SQ_MORE_STATEMENTS]; /* statements of the other store_sqlite_*.c files */
  const char *more_text[SQ_MORE_STATEMENTS]; /* the SQL each was prepared from (sq__stmt) */
  /* statements run through exec (the shared files), by the address of their st_stmt */
  struct {
    const st_stmt *key;
    sqlite3_stmt *st;
  } shared[SQ_SHARED_STATEMENTS];
  sqlite3_stmt *tx[TX__COUNT];            /* BEGIN, COMMIT, savepoints (tx) */
  /* Read-only transactions run on connections of their own (sq_begin), beside the
   * writer: WAL gives each a snapshot of what has committed, and they never wait for
   * the writer's lock. None for an in-memory database (each connection would be a
   * database of its own). Only in the store that was opened; a reader has none. */
  sq_store *readers[SQ_READERS];
  int n_readers;
  unsigned reader_free; /* bit i: readers[i] is free */
  pthread_mutex_t pool_mu;
  pthread_cond_t pool_cv;
};

/* The connection the calling thread's transaction is on: a reader of s while a read-only
 * transaction is open, else s itself (the writer). */
static _Thread_local sq_store *tl_reader;
static _Thread_local store *tl_owner;

sq_store *sq__conn(store *s) {
  return tl_owner == s && tl_reader ? tl_reader : (sq_store *)s;
}

/* Logs SQLite's own message for a failure on db, with the statement's text when there is
 * one, so that the operator sees why the store failed; clients only hear that it did. */
static void log_failure(sqlite3 *db, int rc, const char *sql_text) {
  fprintf(stderr, "parley: sqlite: %s (%s)%s%.160s%s\n", sqlite3_errmsg(db), sqlite3_errstr(rc),
          sql_text ? " in \"" : "", sql_text ? sql_text : "", sql_text ? "\"" : "");
}

pl_err sq__step_error(sqlite3_stmt *st, int rc) {
  log_failure(sqlite3_db_handle(st), rc, sqlite3_sql(st));
  return PL_ESTORE;
}

pl_err sq__fail(sq_store *q, sqlite3_stmt *st, int rc) {
  switch (rc) {
  case SQLITE_OK:
  case SQLITE_DONE:
  case SQLITE_ROW: return PL_OK;
  case SQLITE_CONSTRAINT: return PL_EEXIST;
  default:
    if (st) return sq__step_error(st, rc);
    log_failure(q->db, rc, NULL);
    return PL_ESTORE;
  }
}

/* Prepares text on q, logging why when it does not prepare. */
static sqlite3_stmt *prepare(sq_store *q, const char *text) {
  sqlite3_stmt *st = NULL;
  int rc = sqlite3_prepare_v3(q->db, text, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);
  if (rc == SQLITE_OK) return st;
  log_failure(q->db, rc, text);
  sqlite3_finalize(st);
  return NULL;
}

/* Returns the cached statement for query i, reset and with its bindings cleared. */
static sqlite3_stmt *stmt(sq_store *q, int i) {
  sqlite3_stmt *st = q->stmt[i];
  if (!st) {
    if (!(st = prepare(q, sql[i]))) return NULL;
    q->stmt[i] = st;
  }
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  return st;
}

void sq__bind_text(sqlite3_stmt *st, int i, const char *v) {
  if (v) sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
  else sqlite3_bind_null(st, i);
}

char *sq__col_text(pl_arena *a, sqlite3_stmt *st, int i) {
  const unsigned char *v = sqlite3_column_text(st, i);
  return v ? pl_arena_strndup(a, (const char *)v, (size_t)sqlite3_column_bytes(st, i)) : NULL;
}

const char *sq__col_cstr(sqlite3_stmt *st, int i) { return (const char *)sqlite3_column_text(st, i); }

pl_err sq__get(sq_store *q, sqlite3_stmt *st, pl_arena *a, const st_row *row, void *out) {
  pl_err e = sq__one(q, st);
  if (e) return e;
  sq__read_row(a, st, 0, row, out);
  sqlite3_reset(st);
  return PL_OK;
}

void *sq__rows(sqlite3_stmt *st, pl_arena *a, const st_row *row, size_t *n, pl_err *e) {
  size_t cap = 16, k = 0;
  char *arr = pl_arena_alloc(a, cap * row->size);
  int rc;
  *n = 0;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    if (k == cap) {
      char *bigger = pl_arena_alloc(a, 2 * cap * row->size);
      memcpy(bigger, arr, k * row->size);
      arr = bigger;
      cap *= 2;
    }
    sq__read_row(a, st, 0, row, arr + k++ * row->size);
  }
  sqlite3_reset(st);
  if (rc != SQLITE_DONE) {
    *e = sq__step_error(st, rc);
    return NULL;
  }
  *e = PL_OK;
  *n = k;
  return arr;
}

void sq__read_row(pl_arena *a, sqlite3_stmt *st, int first, const st_row *row, void *out) {
  memset(out, 0, row->size);
  for (size_t i = 0; i < row->n; i++) {
    const st_col *c = &row->cols[i];
    int col = first + (int)i;
    if (st_col_text(c->kind))
      st_col_set(c, out, a, (const char *)sqlite3_column_text(st, col),
                 (size_t)sqlite3_column_bytes(st, col), 0);
    else
      st_col_set(c, out, a, NULL, 0, sqlite3_column_int64(st, col));
  }
}

/* Runs a statement that returns no rows. */
pl_err sq__run(sq_store *q, sqlite3_stmt *st) {
  if (!st) return PL_ESTORE;
  int rc = sqlite3_step(st);
  pl_err e = sq__fail(q, st, rc);
  sqlite3_reset(st);
  return e;
}

/* Steps a single-row query: PL_OK with the row current, or PL_ENOTFOUND. */
pl_err sq__one(sq_store *q, sqlite3_stmt *st) {
  if (!st) return PL_ESTORE;
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) return PL_OK;
  sqlite3_reset(st);
  return rc == SQLITE_DONE ? PL_ENOTFOUND : sq__fail(q, st, rc);
}

static pl_err exec(sq_store *q, const char *s) {
  int rc = sqlite3_exec(q->db, s, NULL, NULL, NULL);
  if (rc == SQLITE_OK) return PL_OK;
  log_failure(q->db, rc, s);
  return PL_ESTORE;
}

/* Runs transaction statement i (TX_*) of connection q, prepared on first use: every
 * request begins and ends a transaction, so they are not parsed each time. */
static pl_err tx(sq_store *q, int i) {
  sqlite3_stmt *st = q->tx[i];
  if (!st) {
    if (!(st = prepare(q, tx_sql[i]))) return PL_ESTORE;
    q->tx[i] = st;
  }
  int rc = sqlite3_step(st);
  sqlite3_reset(st);
  if (rc == SQLITE_DONE) return PL_OK;
  log_failure(q->db, rc, tx_sql[i]);
  return PL_ESTORE;
}

/* Writes the index rows from `from` on, in the savepoint now open, and forgets them. */
static pl_err index_write(sq_store *q, size_t from) {
  pl_err e = PL_OK;
  for (size_t i = from; i < q->n_index; i++) {
    sq_index_row *r = &q->index[i];
    if (!e) {
      sqlite3_stmt *st = stmt(q, r->seller ? Q_MSG_SELLER_FTS : Q_MSG_FTS);
      if (!st) {
        e = PL_ESTORE;
      } else {
        sqlite3_bind_int64(st, 1, r->rowid);
        sqlite3_bind_text(st, 2, r->text, -1, SQLITE_STATIC);
        e = sq__run(q, st);
      }
    }
    free(r->text);
  }
  q->n_index = from;
  return e;
}

/* Forgets the index rows from `from` on (their savepoint was rolled back). */
static void index_drop(sq_store *q, size_t from) {
  for (size_t i = from; i < q->n_index; i++) free(q->index[i].text);
  if (from < q->n_index) q->n_index = from;
}

/* Where the innermost open savepoint's index rows begin. */
static size_t index_mark(const sq_store *q) { return q->n_marks ? q->marks[q->n_marks - 1] : 0; }

static void mark_push(sq_store *q) {
  if (q->n_marks == q->cap_marks) {
    q->cap_marks = q->cap_marks ? 2 * q->cap_marks : 8;
    q->marks = pl_xrealloc(q->marks, q->cap_marks * sizeof *q->marks);
  }
  q->marks[q->n_marks++] = q->n_index;
}

/* Queues a row for a full-text index until the batch ends. The innermost savepoint's
 * own rows are written at once when many wait: they are its own, so its rollback undoes
 * them with the rest. */
static pl_err index_later(sq_store *q, bool seller, int64_t rowid, const char *text) {
  if (q->n_index == q->cap_index) {
    q->cap_index = q->cap_index ? 2 * q->cap_index : 64;
    q->index = pl_xrealloc(q->index, q->cap_index * sizeof *q->index);
  }
  q->index[q->n_index++] = (sq_index_row){.seller = seller, .rowid = rowid, .text = pl_xstrdup(text ? text : "")};
  size_t mark = index_mark(q);
  return q->n_marks && q->n_index - mark >= SQ_INDEX_FLUSH ? index_write(q, mark) : PL_OK;
}

/* Undoes the caller's savepoint, leaving the batch's transaction open. */
static void undo_member(sq_store *q) {
  if (q->n_marks) index_drop(q, q->marks[0]);
  q->n_marks = 0;
  if (!sqlite3_get_autocommit(q->db) && !tx(q, TX_ROLLBACK_TO)) tx(q, TX_RELEASE);
}

sqlite3_stmt *sq__stmt(sq_store *q, int slot, const char *text) {
  if (slot < 0 || slot >= SQ_MORE_STATEMENTS) {
    fprintf(stderr, "parley: sqlite: statement slot %d is out of range\n", slot);
    return NULL;
  }
  sqlite3_stmt *st = q->more[slot];
  if (!st) {
    if (!(st = prepare(q, text))) return NULL;
    q->more[slot] = st;
    q->more_text[slot] = text;
  } else if (q->more_text[slot] != text && strcmp(q->more_text[slot], text)) {
    /* two statements given one slot: the cached one would run in the other's place */
    fprintf(stderr, "parley: sqlite: statement slot %d holds another statement\n", slot);
    return NULL;
  }
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  return st;
}

sqlite3 *sq__db(sq_store *q) { return q->db; }

/* The cached statement of q (an st_stmt), prepared on first use, reset and with its
 * bindings cleared; NULL when it does not prepare or the table is full. */
static sqlite3_stmt *shared_stmt(sq_store *c, const st_stmt *q) {
  size_t h = ((uintptr_t)q >> 4) % SQ_SHARED_STATEMENTS;
  for (size_t probe = 0; probe < SQ_SHARED_STATEMENTS; probe++, h = (h + 1) % SQ_SHARED_STATEMENTS) {
    if (c->shared[h].key == q) {
      sqlite3_stmt *st = c->shared[h].st;
      sqlite3_reset(st);
      sqlite3_clear_bindings(st);
      return st;
    }
    if (!c->shared[h].key) {
      sqlite3_stmt *st = prepare(c, q->sql);
      if (st) c->shared[h].key = q, c->shared[h].st = st;
      return st;
    }
  }
  fprintf(stderr, "parley: sqlite: more than %d shared statements\n", SQ_SHARED_STATEMENTS);
  return NULL;
}

static pl_err sq_exec(store *s, const st_stmt *q, const st_arg *args, size_t n, const st_row *row,
                      pl_arena *a, void *out, size_t *rows) {
  sq_store *c = SQ(s);
  sqlite3_stmt *st = shared_stmt(c, q);
  if (!st) return PL_ESTORE;
  for (size_t i = 0; i < n; i++) {
    if (args[i].kind == ST_ARG_TEXT) sq__bind_text(st, (int)i + 1, args[i].text);
    else sqlite3_bind_int64(st, (int)i + 1, args[i].num);
  }
  if (!row || q->new_id) {
    pl_err e = sq__run(c, st);
    if (q->new_id && !e && !rows) {
      if (!sqlite3_changes(c->db)) return PL_ENOTFOUND;
      ((st_i64 *)out)->v = sqlite3_last_insert_rowid(c->db);
    }
    if (rows) *rows = e ? 0 : (size_t)sqlite3_changes(c->db);
    return e;
  }
  if (!rows) return sq__get(c, st, a, row, out);
  pl_err e;
  *(void **)out = sq__rows(st, a, row, rows, &e);
  return e;
}

void sq__group_commit_watch(store *s, void (*hook)(void *ctx), void *ctx) {
  ((sq_store *)s)->sync_hook = hook;
  ((sq_store *)s)->sync_ctx = ctx;
}

void sq__group_commit_counts(store *s, uint64_t *committed, uint64_t *synced, uint64_t *syncs) {
  sq_store *q = ((sq_store *)s);
  pthread_mutex_lock(&q->sync_mu);
  *committed = q->committed;
  *synced = q->synced;
  *syncs = q->syncs;
  pthread_mutex_unlock(&q->sync_mu);
}

static void sq_counters(store *s, st_counters *o) {
  sq_store *q = ((sq_store *)s);
  pthread_mutex_lock(&q->sync_mu);
  o->commits = q->committed;
  o->batches = q->batches;
  o->syncs = q->syncs;
  pthread_mutex_unlock(&q->sync_mu);
  o->writer_busy_ns = atomic_load(&q->writer_busy_ns);
}

int sq__batch_open(store *s) { return atomic_load(&((sq_store *)s)->pending); }

void sq__batch_counts(store *s, uint64_t *batches, int *waiting_writers) {
  sq_store *q = ((sq_store *)s);
  pthread_mutex_lock(&q->sync_mu);
  *batches = q->batches;
  pthread_mutex_unlock(&q->sync_mu);
  *waiting_writers = atomic_load(&q->want_write);
}

/* ---- transactions ------------------------------------------------------------- */

/* Closes one connection's statements and database. */
static void close_conn(sq_store *q) {
  index_drop(q, 0);
  free(q->index);
  free(q->marks);
  for (int i = 0; i < Q__COUNT; i++) sqlite3_finalize(q->stmt[i]);
  for (int i = 0; i < SQ_MORE_STATEMENTS; i++) sqlite3_finalize(q->more[i]);
  for (int i = 0; i < SQ_SHARED_STATEMENTS; i++) sqlite3_finalize(q->shared[i].st);
  for (int i = 0; i < TX__COUNT; i++) sqlite3_finalize(q->tx[i]);
  sqlite3_close(q->db);
}

static void sq_close(store *s) {
  sq_store *q = (sq_store *)s;
  for (int i = 0; i < q->n_readers; i++) {
    close_conn(q->readers[i]);
    free(q->readers[i]);
  }
  pthread_mutex_destroy(&q->pool_mu);
  pthread_cond_destroy(&q->pool_cv);
  close_conn(q);
  if (q->wal_fd >= 0) close(q->wal_fd);
  pthread_mutex_destroy(&q->mu);
  pthread_mutex_destroy(&q->sync_mu);
  pthread_cond_destroy(&q->batch_cv);
  free(q->wal_path);
  free(q->db_path);
  free(q);
}

/* Ends the open batch (mu held): COMMIT when a member waits for it, else ROLLBACK, and
 * tells every member how it ended. When SQLite has already rolled the transaction back
 * (an I/O error, a full disk), every member fails: none of them was acknowledged. self:
 * the member ending it, which needs no wake-up and flushes for the batch itself (durable),
 * or NULL when the caller is none of them. */
static void end_batch(sq_store *q, sq_member *self) {
  pl_err e = PL_OK;
  q->n_marks = 0;
  if (sqlite3_get_autocommit(q->db)) { /* SQLite ended it itself */
    fprintf(stderr, "parley: sqlite: SQLite rolled back the transaction of %u writers (last error: %s)\n",
            q->n_members, sqlite3_errmsg(q->db));
    e = PL_ESTORE;
  }
  else if (q->n_members && !(e = index_write(q, 0))) e = tx(q, TX_COMMIT);
  else if (!q->n_members) tx(q, TX_ROLLBACK);
  index_drop(q, 0);
  if (e && !sqlite3_get_autocommit(q->db)) tx(q, TX_ROLLBACK);
  q->tx_open = false;
  pthread_mutex_lock(&q->sync_mu);
  /* the list is newest first: number the members in the order they joined */
  sq_member *order = NULL;
  for (sq_member *m = q->members, *next; m; m = next) {
    next = m->next;
    m->next = order;
    order = m;
  }
  for (sq_member *m = order, *next; m; m = next) {
    next = m->next;
    m->result = e;
    m->done = true; /* m may be gone once the lock is released */
    if (e) {
      if (m != self) pthread_cond_signal(&m->cv);
      continue;
    }
    m->number = ++q->committed;
    m->wnext = NULL; /* it waits for a flush now (durable) */
    if (q->waiting_tail) q->waiting_tail->wnext = m;
    else q->waiting = m;
    q->waiting_tail = m;
  }
  if (q->n_members && !e) q->batches++;
  /* Someone flushes for them: the caller ending the batch, when it is one of them, comes
   * to durable() itself; a flush under way wakes the next one when it ends; else the
   * oldest waiting is woken to do it. */
  if (!e && q->n_members && !self && !q->syncing && q->waiting) pthread_cond_signal(&q->waiting->cv);
  q->members = NULL;
  q->n_members = 0;
  atomic_store(&q->pending, 0);
  pthread_cond_broadcast(&q->batch_cv); /* a flush waiting for this COMMIT */
  pthread_mutex_unlock(&q->sync_mu);
}

/* After a caller's transaction has ended (mu held): a batch of writes stays open for the
 * next writer while one waits for the connection and the batch is not full; otherwise
 * it ends now. A read-only transaction ends at once. self: the caller, when it is a member
 * of the batch (end_batch). */
static void after_member(sq_store *q, sq_member *self) {
  if (!q->tx_open) return;
  if (!q->tx_write) {
    tx(q, TX_COMMIT);
    q->tx_open = false;
    return;
  }
  /* While the disk flushes, committing the batch would only make its callers wait for the
   * next flush anyway: it stays open, and the flush that ends ends it (durable), so a batch
   * holds what arrived during one flush. */
  if (sqlite3_get_autocommit(q->db) || q->n_members >= SQ_BATCH_MAX ||
      (atomic_load(&q->want_write) == 0 && !atomic_load(&q->sync_busy)))
    end_batch(q, self);
}

static uint64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The writer connection's lock, and the time it is held (/metrics: how busy the one
 * writer is, the ceiling of a node's writes). */
static void writer_lock(sq_store *q) {
  pthread_mutex_lock(&q->mu);
  q->held_since = mono_ns();
}

static void writer_unlock(sq_store *q) {
  atomic_fetch_add(&q->writer_busy_ns, mono_ns() - q->held_since);
  pthread_mutex_unlock(&q->mu);
}

/* A read-only transaction on a free reader connection: it sees what had committed when it
 * began, and waits for no writer. PL_ENOTFOUND when the store has no readers. */
static pl_err begin_read(sq_store *q) {
  if (!q->n_readers) return PL_ENOTFOUND;
  pthread_mutex_lock(&q->pool_mu);
  while (!q->reader_free) pthread_cond_wait(&q->pool_cv, &q->pool_mu);
  int i = __builtin_ctz(q->reader_free);
  q->reader_free &= ~(1u << i);
  pthread_mutex_unlock(&q->pool_mu);
  sq_store *r = q->readers[i];
  pl_err e = tx(r, TX_BEGIN);
  if (e) {
    pthread_mutex_lock(&q->pool_mu);
    q->reader_free |= 1u << i;
    pthread_cond_signal(&q->pool_cv);
    pthread_mutex_unlock(&q->pool_mu);
    return e;
  }
  tl_reader = r;
  tl_owner = &q->base;
  return PL_OK;
}

/* Ends the calling thread's read-only transaction and frees its reader. */
static void end_read(sq_store *q) {
  sq_store *r = tl_reader;
  if (!sqlite3_get_autocommit(r->db)) tx(r, TX_COMMIT);
  tl_reader = NULL;
  tl_owner = NULL;
  int i = 0;
  while (q->readers[i] != r) i++;
  pthread_mutex_lock(&q->pool_mu);
  q->reader_free |= 1u << i;
  pthread_cond_signal(&q->pool_cv);
  pthread_mutex_unlock(&q->pool_mu);
}

/* A read-only transaction runs on a reader (begin_read). A write transaction is a
 * savepoint of the writer's SQLite transaction: begun here when none is open, or joined
 * when a batch of writes is open (sq_commit). */
static pl_err sq_begin(store *s, bool write) {
  sq_store *q = (sq_store *)s;
  if (!write) {
    pl_err e = begin_read(q);
    if (e != PL_ENOTFOUND) return e;
  }
  if (write) atomic_fetch_add(&q->want_write, 1);
  writer_lock(q);
  if (write) atomic_fetch_sub(&q->want_write, 1);
  if (q->tx_open && sqlite3_get_autocommit(q->db)) end_batch(q, NULL); /* SQLite ended it: fail it */
  pl_err e = PL_OK;
  if (!q->tx_open) {
    e = tx(q, write ? TX_BEGIN_IMMEDIATE : TX_BEGIN);
    if (!e) {
      q->tx_open = true;
      q->tx_write = write;
    }
  }
  if (!e) e = tx(q, TX_SAVEPOINT);
  if (e) {
    after_member(q, NULL);
    writer_unlock(q);
    return e;
  }
  q->writing = write;
  q->n_marks = 0;
  if (write) mark_push(q);
  return PL_OK;
}

/* fdatasync of the WAL file, reopened when SQLite replaced it (it does not while this
 * connection is open; the check costs one stat). Without a WAL, the database file. */
static int sync_wal(sq_store *q) {
  if (!q->wal_path) return 0; /* an in-memory database: nothing to make durable */
  struct stat now, open_one;
  if (q->wal_fd >= 0 && (stat(q->wal_path, &now) || fstat(q->wal_fd, &open_one) ||
                         now.st_ino != open_one.st_ino || now.st_dev != open_one.st_dev)) {
    close(q->wal_fd);
    q->wal_fd = -1;
  }
  if (q->wal_fd < 0) q->wal_fd = open(q->wal_path, O_RDWR | O_CLOEXEC);
  q->syncs++;
  if (q->wal_fd >= 0) return fdatasync(q->wal_fd);
  int fd = open(q->db_path, O_RDWR | O_CLOEXEC);
  if (fd < 0) return -1;
  int rc = fdatasync(fd);
  close(fd);
  return rc;
}

/* Wakes the callers a flush has made durable (or all, once a flush failed), oldest first,
 * and the oldest still waiting to flush for the rest (sync_mu held). */
static void wake_durable(sq_store *q) {
  while (q->waiting && (q->broken || q->waiting->number <= q->synced)) {
    sq_member *m = q->waiting;
    q->waiting = m->wnext;
    if (!q->waiting) q->waiting_tail = NULL;
    m->wnext = NULL;
    pthread_cond_signal(&m->cv);
  }
  if (q->waiting) pthread_cond_signal(&q->waiting->cv);
}

/* Waits until me (committed, in the waiting list) is durable (sync_mu held). Whoever
 * finds no flush under way flushes for everyone committed so far; the others sleep until
 * the flush that covers them ends, or until they are woken to flush next. */
static pl_err durable(sq_store *q, sq_member *me) {
  while (q->synced < me->number && !q->broken) {
    if (q->syncing) {
      pthread_cond_wait(&me->cv, &q->sync_mu);
      continue;
    }
    q->syncing = true;
    /* A flush costs the same for one transaction or many: while writers are released
     * into a batch that has not committed yet, wait for its COMMIT (up to
     * SQ_SYNC_DELAY_US), so that this flush serves them too, as PostgreSQL's
     * commit_delay does. Writers still waiting for the connection are not waited for:
     * under load there always are some. */
    if (atomic_load(&q->pending) > 0) {
      struct timespec until; /* batch_cv waits on the monotonic clock: a clock step cannot stall it */
      clock_gettime(CLOCK_MONOTONIC, &until);
      until.tv_nsec += SQ_SYNC_DELAY_US * 1000L;
      if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
      }
      while (atomic_load(&q->pending) > 0 &&
             pthread_cond_timedwait(&q->batch_cv, &q->sync_mu, &until) == 0) {
      }
    }
    uint64_t upto = q->committed;
    atomic_store(&q->sync_busy, true);
    pthread_mutex_unlock(&q->sync_mu);
    if (q->sync_hook) q->sync_hook(q->sync_ctx);
    int rc = sync_wal(q);
    pthread_mutex_lock(&q->sync_mu);
    q->syncing = false;
    atomic_store(&q->sync_busy, false);
    if (rc) {
      /* After a failed fsync the kernel may have dropped the dirty pages: a retry that
       * succeeds proves nothing. Stop acknowledging, as PostgreSQL does. */
      q->broken = true;
      fprintf(stderr, "parley: sqlite: fdatasync of %s failed: %s; no further writes are acknowledged\n",
              q->wal_path, strerror(errno));
    } else {
      q->synced = upto;
    }
    wake_durable(q); /* me among them */
    /* A batch left open while the disk was busy (after_member) is ended here unless its
     * last writer saw the flush end and ended it: one of the two sees the other (pending
     * is stored before sync_busy is read there, sync_busy before pending here). */
    if (atomic_load(&q->pending) > 0) {
      pthread_mutex_unlock(&q->sync_mu);
      writer_lock(q);
      if (q->n_members) end_batch(q, NULL); /* its oldest caller is woken to flush for it */
      writer_unlock(q);
      pthread_mutex_lock(&q->sync_mu);
    }
  }
  if (q->broken) wake_durable(q); /* nobody stays listed once nothing more is acknowledged */
  return q->synced < me->number ? PL_ESTORE : PL_OK;
}

/* Group commit, in two steps. First the batch: the caller's savepoint is released into
 * the connection's open SQLite transaction, and while other writers wait for the
 * connection it stays open for them (up to SQ_BATCH_MAX callers), so that the pages a
 * batch shares (indexes, the thread and clock rows, the audit chain's head) are written to
 * the WAL once, not once per caller. The last caller commits it (synchronous=NORMAL: no
 * wait for the disk) and the connection goes to the next transaction at once. Then
 * durability: each caller returns only when an fdatasync that began after its batch's
 * COMMIT has finished, one fsync serving every batch that committed meanwhile. A caller
 * that fails rolls back its own savepoint only. Nothing is acknowledged before it is
 * durable: the caller answers only after this returns PL_OK. */
static pl_err sq_commit(store *s) {
  sq_store *q = (sq_store *)s;
  if (tl_reader && tl_owner == s) {
    end_read(q);
    return PL_OK;
  }
  pthread_mutex_lock(&q->sync_mu);
  bool broken = q->broken;
  pthread_mutex_unlock(&q->sync_mu);
  pl_err e = broken ? PL_ESTORE : tx(q, TX_RELEASE);
  if (e || sqlite3_get_autocommit(q->db)) {
    undo_member(q);
    after_member(q, NULL);
    writer_unlock(q);
    return PL_ESTORE;
  }
  q->n_marks = 0; /* its index rows are the batch's now */
  if (!q->writing || !q->tx_write) { /* nothing of its own to make durable */
    after_member(q, NULL);
    writer_unlock(q);
    return PL_OK;
  }
  sq_member me = {.next = q->members, .cv = PTHREAD_COND_INITIALIZER};
  q->members = &me;
  q->n_members++;
  atomic_store(&q->pending, (int)q->n_members);
  after_member(q, &me); /* should this caller end the batch, it flushes for it itself */
  writer_unlock(q);
  pthread_mutex_lock(&q->sync_mu);
  while (!me.done) pthread_cond_wait(&me.cv, &q->sync_mu);
  pl_err e2 = me.result ? me.result : durable(q, &me);
  pthread_mutex_unlock(&q->sync_mu);
  pthread_cond_destroy(&me.cv);
  return e2;
}

static void sq_rollback(store *s) {
  sq_store *q = (sq_store *)s;
  if (tl_reader && tl_owner == s) {
    end_read(q);
    return;
  }
  undo_member(q);
  after_member(q, NULL);
  writer_unlock(q);
}

static pl_err sq_savepoint(store *s, int action) {
  static const char *const stmt_text[] = {"SAVEPOINT pl_sp", "RELEASE pl_sp", "ROLLBACK TO pl_sp; RELEASE pl_sp"};
  if (action < 0 || action > 2) return PL_EINVAL;
  sq_store *q = SQ(s);
  pl_err e = exec(q, stmt_text[action]);
  if (action == ST_SP_BEGIN) {
    if (!e) mark_push(q);
  } else if (q->n_marks > 1) { /* the caller's own mark stays */
    size_t mark = q->marks[--q->n_marks];
    if (action == ST_SP_ROLLBACK) index_drop(q, mark);
    else if (!e && q->n_index - index_mark(q) >= SQ_INDEX_FLUSH) e = index_write(q, index_mark(q));
  }
  return e;
}

static pl_err sq_backup(store *s, const char *path, pl_detail *d) {
  sq_store *q = (sq_store *)s;
  if (!q->wal_path) return pl_fail(d, PL_EINVAL, "a database in memory has nothing to back up");
  if (access(path, F_OK) == 0) return pl_fail(d, PL_EEXIST, "%s exists; a backup is written to a new file", path);
  sqlite3 *src = NULL, *dst = NULL;
  pl_err e = PL_OK;
  if (sqlite3_open_v2(q->db_path, &src, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK)
    e = pl_fail(d, PL_ESTORE, "cannot read %s: %s", q->db_path, sqlite3_errmsg(src));
  else if (sqlite3_open_v2(path, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK)
    e = pl_fail(d, PL_EIO, "cannot create %s: %s", path, sqlite3_errmsg(dst));
  if (!e) {
    sqlite3_busy_timeout(src, 5000);
    /* all pages in one step: one read transaction, so one moment of the database */
    sqlite3_backup *b = sqlite3_backup_init(dst, "main", src, "main");
    int rc = b ? sqlite3_backup_step(b, -1) : SQLITE_ERROR;
    if (b) sqlite3_backup_finish(b);
    if (rc != SQLITE_DONE) e = pl_fail(d, PL_ESTORE, "the backup stopped: %s", sqlite3_errmsg(dst));
  }
  if (!e) {
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(dst, "PRAGMA quick_check", -1, &st, NULL);
    if (rc != SQLITE_OK || sqlite3_step(st) != SQLITE_ROW || strcmp((const char *)sqlite3_column_text(st, 0), "ok"))
      e = pl_fail(d, PL_ESTORE, "the copy does not pass SQLite's quick_check");
    sqlite3_finalize(st);
  }
  /* the copy is one file: no WAL of its own is left behind once it is closed */
  if (!e && sqlite3_exec(dst, "PRAGMA journal_mode = DELETE", NULL, NULL, NULL) != SQLITE_OK)
    e = pl_fail(d, PL_ESTORE, "cannot finish the copy: %s", sqlite3_errmsg(dst));
  sqlite3_close(src);
  sqlite3_close(dst);
  if (!e) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fsync(fd)) e = pl_fail(d, PL_EIO, "cannot flush %s: %s", path, strerror(errno));
    if (fd >= 0) close(fd);
  }
  if (e) unlink(path);
  return e;
}

static pl_err sq_ping(store *s) {
  sq_store *q = SQ(s);
  sqlite3_stmt *st = stmt(q, Q_PING);
  pl_err e = sq__one(q, st);
  if (!e) sqlite3_reset(st);
  return e;
}

/* ---- parties ------------------------------------------------------------------- */

/* ---- orders -------------------------------------------------------------------- */

/* ---- threads ------------------------------------------------------------------- */

static pl_err sq_thread_insert(store *s, st_thread *t) {
  sq_store *q = SQ(s);
  sqlite3_stmt *st = stmt(q, Q_THREAD_INSERT);
  if (!st) return PL_ESTORE;
  sq__bind_text(st, 1, t->seller_id);
  sq__bind_text(st, 2, t->buyer_id);
  sq__bind_text(st, 3, t->marketplace_id);
  sq__bind_text(st, 4, t->order_id);
  sq__bind_text(st, 5, t->asin);
  sq__bind_text(st, 6, t->topic);
  sqlite3_bind_int(st, 7, t->archived);
  sqlite3_bind_int(st, 8, t->waiting);
  sqlite3_bind_int(st, 9, t->needs_response);
  sqlite3_bind_int64(st, 10, t->created_at);
  sqlite3_bind_int64(st, 11, t->last_message_at);
  sqlite3_bind_int64(st, 12, t->last_buyer_at);
  sqlite3_bind_int64(st, 13, t->last_seller_at);
  sqlite3_bind_int64(st, 14, t->seller_read_id);
  sqlite3_bind_int64(st, 15, t->buyer_read_id);
  sqlite3_bind_int64(st, 16, t->response_due_at);
  pl_err e = sq__run(q, st);
  if (!e) t->id = sqlite3_last_insert_rowid(q->db);
  return e;
}

static pl_err thread_one(sq_store *q, sqlite3_stmt *st, pl_arena *a, st_thread *out) {
  return sq__get(q, st, a, &st_thread_row, out);
}

static pl_err sq_thread_get(store *s, int64_t id, pl_arena *a, st_thread *out) {
  sq_store *q = SQ(s);
  sqlite3_stmt *st = stmt(q, Q_THREAD_GET);
  if (!st) return PL_ESTORE;
  sqlite3_bind_int64(st, 1, id);
  return thread_one(q, st, a, out);
}

static pl_err sq_thread_find(store *s, const char *order_id, const char *seller, const char *buyer,
                              const char *asin, pl_arena *a, st_thread *out) {
  sq_store *q = SQ(s);
  sqlite3_stmt *st = stmt(q, order_id ? Q_THREAD_FIND_ORDER : Q_THREAD_FIND_PRODUCT);
  if (!st) return PL_ESTORE;
  sq__bind_text(st, 1, order_id ? order_id : seller);
  if (!order_id) {
    sq__bind_text(st, 2, buyer);
    sq__bind_text(st, 3, asin);
  }
  return thread_one(q, st, a, out);
}

static pl_err sq_thread_update(store *s, const st_thread *t) {
  sq_store *q = SQ(s);
  sqlite3_stmt *st = stmt(q, Q_THREAD_UPDATE);
  if (!st) return PL_ESTORE;
  sqlite3_bind_int64(st, 1, t->id);
  sq__bind_text(st, 2, t->seller_id);
  sq__bind_text(st, 3, t->topic);
  sqlite3_bind_int(st, 4, t->archived);
  sqlite3_bind_int(st, 5, t->waiting);
  sqlite3_bind_int(st, 6, t->needs_response);
  sqlite3_bind_int64(st, 7, t->last_message_at);
  sqlite3_bind_int64(st, 8, t->last_buyer_at);
  sqlite3_bind_int64(st, 9, t->last_seller_at);
  sqlite3_bind_int64(st, 10, t->seller_read_id);
  sqlite3_bind_int64(st, 11, t->buyer_read_id);
  sqlite3_bind_int64(st, 12, t->response_due_at);
  sqlite3_bind_int64(st, 13, t->buyer_last_at);
  sqlite3_bind_int64(st, 14, t->last_buyer_id);
  sqlite3_bind_int64(st, 15, t->last_seller_id);
  pl_err e = sq__run(q, st);
  if (!e && sqlite3_changes(q->db) != 1) e = PL_ENOTFOUND;
  return e;
}

/* Turns free text into an FTS5 query of quoted terms, so that no user input is ever
 * parsed as FTS syntax. Returns NULL when no term remains. */
static char *fts_query(pl_arena *a, const char *in) {
  size_t n = strlen(in);
  char *out = pl_arena_alloc(a, 3 * n + 3), *p = out;
  const char *s = in;
  while (*s) {
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r') s++;
    if (!*s) break;
    if (p != out) *p++ = ' ';
    *p++ = '"';
    while (*s && *s != ' ' && *s != '\t' && *s != '\n' && *s != '\r') {
      if (*s == '"') *p++ = '"';
      *p++ = *s++;
    }
    *p++ = '"';
  }
  *p = '\0';
  return p == out ? NULL : out;
}

static pl_err sq_thread_list(store *s, const st_thread_query *qr, pl_arena *a, st_thread **out,
                             size_t *n) {
  sq_store *q = SQ(s);
  int which = qr->seller_id ? (qr->sort_due ? Q_THREAD_LIST_SELLER_DUE : Q_THREAD_LIST_SELLER)
              : qr->buyer_id ? Q_THREAD_LIST_BUYER
                             : Q_THREAD_LIST_ALL;
  sqlite3_stmt *st = stmt(q, which);
  if (!st) return PL_ESTORE;
  sq__bind_text(st, 1, qr->seller_id ? qr->seller_id : qr->buyer_id);
  sqlite3_bind_int(st, 2, (int)qr->filter);
  sq__bind_text(st, 3, qr->order_id);
  sq__bind_text(st, 4, qr->asin);
  sq__bind_text(st, 5, qr->buyer_alias);
  char *fts = qr->fts ? fts_query(a, qr->fts) : NULL;
  sq__bind_text(st, 6, fts);
  sqlite3_bind_int64(st, 7, qr->cursor_at);
  sqlite3_bind_int64(st, 8, qr->cursor_id);
  sqlite3_bind_int(st, 9, qr->buyer_id ? 1 : 0);
  int limit = qr->limit > 0 ? qr->limit : 25;
  sqlite3_bind_int(st, 10, limit);
  sqlite3_bind_int64(st, 11, qr->assignee_id);
  sq__bind_text(st, 12, qr->tag);
  sqlite3_bind_int(st, 13, qr->fts_masked ? 1 : 0);
  sqlite3_bind_int64(st, 14, qr->since);
  sqlite3_bind_int64(st, 15, qr->until);
  sq__bind_text(st, 16, qr->buyer_name);
  sqlite3_bind_int(st, 17, qr->keep_waiting ? 1 : 0);
  st_thread *arr = pl_arena_alloc(a, (size_t)limit * sizeof *arr);
  size_t k = 0;
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW && k < (size_t)limit) sq__read_row(a, st, 0, &st_thread_row, &arr[k++]);
  sqlite3_reset(st);
  if (rc != SQLITE_DONE && rc != SQLITE_ROW) return sq__step_error(st, rc);
  *out = arr;
  *n = k;
  return PL_OK;
}

/* ---- messages and events ---------------------------------------------------------- */

static pl_err sq_message_insert(store *s, st_message *m) {
  sq_store *q = SQ(s);
  sqlite3_stmt *st = stmt(q, Q_MSG_INSERT);
  if (!st) return PL_ESTORE;
  sqlite3_bind_int64(st, 1, m->thread_id);
  sq__bind_text(st, 2, m->seller_id);
  sq__bind_text(st, 3, m->ext_id);
  sq__bind_text(st, 4, st_direction_name(m->direction));
  sq__bind_text(st, 5, st_msg_kind_name(m->kind));
  if (m->agent_id) sqlite3_bind_int64(st, 6, m->agent_id);
  else sqlite3_bind_null(st, 6);
  sq__bind_text(st, 7, m->text);
  sqlite3_bind_int64(st, 8, m->at);
  sq__bind_text(st, 9, m->policy_action);
  sq__bind_text(st, 10, m->policy_engine);
  sq__bind_text(st, 11, m->policy_json);
  sq__bind_text(st, 12, m->action);
  sqlite3_bind_int(st, 13, m->critical);
  sqlite3_bind_int(st, 14, m->proactive);
  pl_err e = sq__run(q, st);
  if (e) return e;
  m->id = sqlite3_last_insert_rowid(q->db);
  if ((e = index_later(q, false, m->id, m->text))) return e;
  return m->seller_text ? s->ops->message_seller_text_put(s, m->id, m->thread_id, m->seller_text)
                        : PL_OK;
}

static pl_err sq_seller_text_put(store *s, int64_t id, int64_t thread_id, const char *text) {
  sq_store *q = SQ(s);
  sqlite3_stmt *st = stmt(q, Q_MSG_SELLER_TEXT);
  if (!st) return PL_ESTORE;
  sqlite3_bind_int64(st, 1, id);
  sqlite3_bind_int64(st, 2, thread_id);
  sq__bind_text(st, 3, text);
  pl_err e = sq__run(q, st);
  if (e || sqlite3_changes(q->db) != 1) return e; /* indexed already */
  return index_later(q, true, id, text);
}

static pl_err sq_seller_text_pending(store *s, int max, pl_arena *a, st_message **out, size_t *n) {
  sq_store *q = SQ(s);
  sqlite3_stmt *st = stmt(q, Q_MSG_SELLER_PENDING);
  if (!st) return PL_ESTORE;
  sqlite3_bind_int(st, 1, max);
  st_message *arr = pl_arena_alloc(a, (size_t)(max > 0 ? max : 1) * sizeof *arr);
  size_t k = 0;
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW && k < (size_t)max) sq__read_row(a, st, 0, &st_message_row, &arr[k++]);
  sqlite3_reset(st);
  if (rc != SQLITE_DONE && rc != SQLITE_ROW) return sq__step_error(st, rc);
  *out = arr;
  *n = k;
  return PL_OK;
}

static pl_err msg_one(sq_store *q, sqlite3_stmt *st, pl_arena *a, st_message *out) {
  return sq__get(q, st, a, &st_message_row, out);
}

static pl_err sq_message_get(store *s, int64_t id, const char *ext, pl_arena *a, st_message *out) {
  sq_store *q = SQ(s);
  sqlite3_stmt *st = stmt(q, id ? Q_MSG_GET : Q_MSG_GET_EXT);
  if (!st) return PL_ESTORE;
  if (id) sqlite3_bind_int64(st, 1, id);
  else sq__bind_text(st, 1, ext);
  return msg_one(q, st, a, out);
}

/* Reads the rows of a message query into an arena array. */
static pl_err msg_rows(sqlite3_stmt *st, pl_arena *a, st_message **out, size_t *n);

static pl_err sq_message_list(store *s, int64_t thread_id, pl_arena *a, st_message **out,
                              size_t *n) {
  sq_store *q = SQ(s);
  sqlite3_stmt *st = stmt(q, Q_MSG_LIST);
  if (!st) return PL_ESTORE;
  sqlite3_bind_int64(st, 1, thread_id);
  return msg_rows(st, a, out, n);
}

static pl_err sq_thread_tail(store *s, int64_t thread_id, pl_arena *a, st_message **out, size_t *n,
                             pl_time *last_buyer_at) {
  sq_store *q = SQ(s);
  /* Each read walks the thread's (thread_id, at, id) index from its end. */
  sqlite3_stmt *st = sq__stmt(q, SQ_SLOT_TAIL + 3,
                              ST_SQL_THREAD_TAIL_LAST_BUYER);
  if (!st) return PL_ESTORE;
  sqlite3_bind_int64(st, 1, thread_id);
  pl_err e = sq__one(q, st);
  *last_buyer_at = 0;
  if (!e) {
    *last_buyer_at = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
  } else if (e != PL_ENOTFOUND) {
    return e;
  }
  st = sq__stmt(q, SQ_SLOT_TAIL,
                ST_SQL_THREAD_TAIL_LAST_REPLY);
  if (!st) return PL_ESTORE;
  sqlite3_bind_int64(st, 1, thread_id);
  e = sq__one(q, st);
  if (e == PL_ENOTFOUND) return sq_message_list(s, thread_id, a, out, n);
  if (e) return e;
  int64_t at = sqlite3_column_int64(st, 0), id = sqlite3_column_int64(st, 1);
  sqlite3_reset(st);
  st = sq__stmt(q, SQ_SLOT_TAIL + 1,
                ST_SQL_THREAD_TAIL);
  if (!st) return PL_ESTORE;
  sqlite3_bind_int64(st, 1, thread_id);
  sqlite3_bind_int64(st, 2, at);
  sqlite3_bind_int64(st, 3, id);
  return msg_rows(st, a, out, n);
}

static pl_err msg_rows(sqlite3_stmt *st, pl_arena *a, st_message **out, size_t *n) {
  pl_err e;
  *out = sq__rows(st, a, &st_message_row, n, &e);
  return e;
}

static pl_err sq_message_page(store *s, int64_t thread_id, const st_message *before, bool buyer_view,
                              int limit, pl_arena *a, st_message **out, size_t *n, bool *more) {
  sq_store *q = SQ(s);
  sqlite3_stmt *st = stmt(q, Q_MSG_PAGE);
  if (!st) return PL_ESTORE;
  sqlite3_bind_int64(st, 1, thread_id);
  sqlite3_bind_int(st, 2, buyer_view);
  sqlite3_bind_int64(st, 3, before ? before->id : 0);
  sqlite3_bind_int64(st, 4, before ? before->at : 0);
  sqlite3_bind_int(st, 5, limit + 1); /* one more tells whether older ones exist */
  st_message *arr = pl_arena_alloc(a, (size_t)(limit + 1) * sizeof *arr);
  size_t k = 0;
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW && k < (size_t)limit + 1) sq__read_row(a, st, 0, &st_message_row, &arr[k++]);
  sqlite3_reset(st);
  if (rc != SQLITE_DONE && rc != SQLITE_ROW) return sq__step_error(st, rc);
  *more = k > (size_t)limit;
  if (*more) k = (size_t)limit;
  for (size_t i = 0; i < k / 2; i++) { /* newest first from the query: oldest first out */
    st_message t = arr[i];
    arr[i] = arr[k - 1 - i];
    arr[k - 1 - i] = t;
  }
  *out = arr;
  *n = k;
  return PL_OK;
}

static pl_err sq_event_insert(store *s, st_event *ev) {
  sq_store *q = SQ(s);
  sqlite3_stmt *st = stmt(q, Q_EVENT_INSERT);
  if (!st) return PL_ESTORE;
  sqlite3_bind_int64(st, 1, ev->message_id);
  sqlite3_bind_int64(st, 2, ev->thread_id);
  sq__bind_text(st, 3, ev->seller_id);
  sq__bind_text(st, 4, st_event_type_name(ev->type));
  sq__bind_text(st, 5, ev->value);
  sq__bind_text(st, 6, ev->actor);
  sqlite3_bind_int64(st, 7, ev->at);
  pl_err e = sq__run(q, st);
  if (e) return e;
  ev->id = sqlite3_last_insert_rowid(q->db);
  if (ev->type == ST_EVENT_STATUS) {
    st = stmt(q, Q_STATE_STATUS);
    if (!st) return PL_ESTORE;
    sqlite3_bind_int64(st, 1, ev->message_id);
    sq__bind_text(st, 2, ev->seller_id);
    sq__bind_text(st, 3, ev->value);
    sqlite3_bind_int64(st, 4, ev->at);
    return sq__run(q, st);
  }
  if (ev->type == ST_EVENT_FLAG) {
    st = stmt(q, Q_STATE_FLAG);
    if (!st) return PL_ESTORE;
    sqlite3_bind_int64(st, 1, ev->message_id);
    sqlite3_bind_int(st, 2, strcmp(ev->value, "false") != 0); /* "true" or "canceled" */
    return sq__run(q, st);
  }
  return PL_OK;
}

/* ---- marketplace rules ------------------------------------------------------------ */

static const store_ops sq_ops = {
  .name = "sqlite",
  .close = sq_close,
  .begin = sq_begin,
  .commit = sq_commit,
  .rollback = sq_rollback,
  .ping = sq_ping,
  .backup = sq_backup,
  .counters = sq_counters,
  .savepoint = sq_savepoint,
  .exec = sq_exec,
  .thread_insert = sq_thread_insert,
  .thread_get = sq_thread_get,
  .thread_find = sq_thread_find,
  .thread_update = sq_thread_update,
  .thread_list = sq_thread_list,
  .message_insert = sq_message_insert,
  .message_get = sq_message_get,
  .message_list = sq_message_list,
  .message_page = sq_message_page,
  .message_seller_text_pending = sq_seller_text_pending,
  .message_seller_text_put = sq_seller_text_put,
  .event_insert = sq_event_insert,
  .thread_tail = sq_thread_tail,
  /* the entries of the part files (store_parts.h) */
#define SQ__ENTRY(name) STORE_PART_ENTRY(sq, name)
  STORE_PART_OPS(SQ__ENTRY)
};

/* One integer of the database (a pragma or a one-value query); -1 when it fails. */
static int sq_int(sq_store *q, const char *query) {
  sqlite3_stmt *st;
  int v = -1;
  if (sqlite3_prepare_v2(q->db, query, -1, &st, NULL) != SQLITE_OK) return -1;
  if (sqlite3_step(st) == SQLITE_ROW) v = sqlite3_column_int(st, 0);
  sqlite3_finalize(st);
  return v;
}

/* The schema's history: one row per migration, with its contract's K (store.h). Rows
 * of migrations applied before the table existed have no time. */
static const char sq_schema_table[] =
    "CREATE TABLE IF NOT EXISTS parley_schema(version INTEGER PRIMARY KEY,"
    " applied_at INTEGER, compat INTEGER NOT NULL DEFAULT 0);"
    "WITH RECURSIVE v(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM v"
    " WHERE n < (SELECT user_version FROM pragma_user_version))"
    " INSERT OR IGNORE INTO parley_schema(version) SELECT n FROM v"
    " WHERE (SELECT user_version FROM pragma_user_version) > 0";

/* Reads the schema's version and compat and plans by o (store.h); applies the plan,
 * each migration in its own transaction that re-reads the version first (another
 * process may have applied it meanwhile). Reading takes no lock: a database that is
 * current is opened without waiting for its writer. */
static pl_err migrate(sq_store *q, const store_open_options *o, store_schema *out, pl_detail *d) {
  int n = (int)(sizeof store_sqlite_migrations / sizeof store_sqlite_migrations[0]);
  int known = o->known > 0 && o->known < n ? o->known : n;
  int version = sq_int(q, "PRAGMA user_version");
  int history = sq_int(q, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'parley_schema'");
  int compat = history > 0 ? sq_int(q, "SELECT coalesce(max(compat), 0) FROM parley_schema") : 0;
  if (version < 0 || history < 0 || compat < 0)
    return pl_fail(d, PL_ESTORE, "cannot read the schema version: %s", sqlite3_errmsg(q->db));
  pl_err e = store__schema_plan(version, compat, store_sqlite_migrations, known, o->mode, out, d);
  if (e || o->mode == STORE_SCHEMA_CHECK || (history > 0 && out->target == version)) return e;
  char *err = NULL;
  if (exec(q, "BEGIN IMMEDIATE") || sqlite3_exec(q->db, sq_schema_table, NULL, NULL, &err) != SQLITE_OK ||
      exec(q, "COMMIT")) {
    pl_fail(d, PL_ESTORE, "cannot keep the schema's history: %s", err ? err : sqlite3_errmsg(q->db));
    sqlite3_free(err);
    exec(q, "ROLLBACK");
    return PL_ESTORE;
  }
  for (int v = version; v < out->target; v++) {
    if (exec(q, "BEGIN IMMEDIATE")) return pl_fail(d, PL_ESTORE, "migration %d: cannot lock the database", v + 1);
    if (sq_int(q, "PRAGMA user_version") != v) { /* another process went first */
      exec(q, "ROLLBACK");
      continue;
    }
    sqlite3_stmt *st = NULL;
    char pragma[64];
    snprintf(pragma, sizeof pragma, "PRAGMA user_version = %d", v + 1);
    if (sqlite3_exec(q->db, store_sqlite_migrations[v], NULL, NULL, &err) != SQLITE_OK) {
      pl_fail(d, PL_ESTORE, "migration %d failed: %s", v + 1, err ? err : sqlite3_errmsg(q->db));
      sqlite3_free(err);
      exec(q, "ROLLBACK");
      return PL_ESTORE;
    }
    if (sqlite3_prepare_v2(q->db,
                           "INSERT OR REPLACE INTO parley_schema(version, applied_at, compat)"
                           " VALUES (?1, CAST(strftime('%s', 'now') AS INTEGER), ?2)",
                           -1, &st, NULL) != SQLITE_OK ||
        sqlite3_bind_int(st, 1, v + 1) || sqlite3_bind_int(st, 2, store__migration_contract(store_sqlite_migrations[v])) ||
        sqlite3_step(st) != SQLITE_DONE || exec(q, pragma)) {
      pl_fail(d, PL_ESTORE, "migration %d could not be recorded: %s", v + 1, sqlite3_errmsg(q->db));
      sqlite3_finalize(st);
      exec(q, "ROLLBACK");
      return PL_ESTORE;
    }
    sqlite3_finalize(st);
    if (exec(q, "COMMIT")) {
      exec(q, "ROLLBACK");
      return pl_fail(d, PL_ESTORE, "migration %d could not commit", v + 1);
    }
  }
  return PL_OK;
}

/* Opens the connections of read-only transactions (sq_begin) on the file q has open. */
static pl_err open_readers(sq_store *q, pl_detail *d) {
  for (int i = 0; i < SQ_READERS; i++) {
    sq_store *r = pl_xcalloc(1, sizeof *r);
    q->readers[q->n_readers++] = r;
    if (sqlite3_open_v2(q->db_path, &r->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK)
      return pl_fail(d, PL_ESTORE, "cannot open %s: %s", q->db_path, r->db ? sqlite3_errmsg(r->db) : "no memory");
    sqlite3_busy_timeout(r->db, 5000);
    /* query_only: a write in a read-only transaction is a bug, and fails as one */
    if (exec(r, "PRAGMA query_only = 1") || exec(r, "PRAGMA temp_store = MEMORY"))
      return pl_fail(d, PL_ESTORE, "cannot configure %s: %s", q->db_path, sqlite3_errmsg(r->db));
    q->reader_free |= 1u << i;
  }
  return PL_OK;
}

/* SQLite's memory statistics (sqlite3_memory_used), which parley does not read, cost a
 * process-wide mutex at every allocation of every connection: 4 % of a send's CPU and a
 * lock the writer and the readers contend for. The savepoint journal's size in memory
 * (SQ_SUBJOURNAL_BYTES). Both before SQLite's first use (after it, sqlite3_config
 * refuses and nothing changes). */
static void sq_configure(void) {
  sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
  sqlite3_config(SQLITE_CONFIG_STMTJRNL_SPILL, SQ_SUBJOURNAL_BYTES);
}

pl_err store_sqlite_open(const char *path, const store_open_options *o, store **out,
                         store_schema *schema, pl_detail *d) {
  static pthread_once_t configured = PTHREAD_ONCE_INIT;
  pthread_once(&configured, sq_configure);
  sq_store *q = pl_xcalloc(1, sizeof *q);
  pthread_mutex_init(&q->pool_mu, NULL);
  pthread_cond_init(&q->pool_cv, NULL);
  q->base.ops = &sq_ops;
  pthread_mutex_init(&q->mu, NULL);
  pthread_mutex_init(&q->sync_mu, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&q->batch_cv, &ca);
  pthread_condattr_destroy(&ca);
  q->wal_fd = -1;
  /* a check changes nothing, and makes no database where none is */
  int rc = sqlite3_open_v2(path, &q->db,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX |
                               (o->mode == STORE_SCHEMA_CHECK ? 0 : SQLITE_OPEN_CREATE),
                           NULL);
  if (rc != SQLITE_OK) {
    pl_fail(d, PL_ESTORE, "cannot open %s: %s", path, q->db ? sqlite3_errmsg(q->db) : "no memory");
    goto fail;
  }
  sqlite3_busy_timeout(q->db, 5000);
  /* WAL lets readers of other processes (parley export, sqlite3) work beside a writer.
   * synchronous=NORMAL: a commit is made durable by sq_commit's shared fdatasync of the
   * WAL (group commit) before the request is acknowledged; checkpoints still sync the WAL
   * before they copy it and the database after. */
  /* The savepoint journal (every caller's transaction is a savepoint of its batch, and
   * each page it changes is copied there first) stays in memory up to
   * SQ_SUBJOURNAL_BYTES (sq_configure). The writer leaves temp_store at its default:
   * with temp_store=MEMORY SQLite keeps that journal in chunks of 1 KiB, five mallocs a
   * page, each through sqlite3_malloc's memory barrier. */
  /* wal_autocheckpoint: the writer copies the WAL into the database every 8,000 pages
   * (32 MiB) rather than SQLite's 1,000. A page that many commits change (a thread list's
   * index, the audit heads, the tail of every table) is copied once per checkpoint, so
   * fewer checkpoints copy fewer pages a send; the cost is a WAL file of up to 32 MiB.
   * cache_size: the writer keeps 16 MiB of pages (SQLite's default is 2 MiB), so that the
   * pages of the threads a batch touches are read from memory rather than the file
   * (docs/scaling.md "What a send writes"). */
  if ((o->mode != STORE_SCHEMA_CHECK && exec(q, "PRAGMA journal_mode = WAL")) || exec(q, "PRAGMA synchronous = NORMAL") ||
      exec(q, "PRAGMA foreign_keys = ON") ||
      exec(q, "PRAGMA wal_autocheckpoint = 8000") || exec(q, "PRAGMA cache_size = -16384")) {
    pl_fail(d, PL_ESTORE, "cannot configure %s: %s", path, sqlite3_errmsg(q->db));
    goto fail;
  }
  {
    /* The files group commit syncs, as SQLite names them (URIs and relative paths
     * resolved); none for an in-memory database. */
    sqlite3_filename fn = sqlite3_db_filename(q->db, "main");
    if (fn && *fn) {
      q->db_path = pl_xstrdup(fn);
      q->wal_path = pl_xstrdup(sqlite3_filename_wal(fn));
    }
  }
  if (migrate(q, o, schema, d)) goto fail;
  if (o->mode == STORE_SCHEMA_CHECK) {
    sq_close(&q->base);
    return PL_OK;
  }
  if (q->db_path && open_readers(q, d)) goto fail;
  *out = &q->base;
  return PL_OK;
fail:
  sq_close(&q->base);
  return PL_ESTORE;
}
