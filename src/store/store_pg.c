/* store_pg.c - the PostgreSQL backend of the store interface (libpq, a connection pool).
 *
 * begin() takes a connection from the pool and binds it to the calling thread until
 * commit() or rollback() gives it back, so that the libmicrohttpd worker threads run
 * their transactions side by side. Every query is prepared once per connection: the
 * query table's (Q_*) by number, the other files' (store__pg_exec) by their text, except a
 * text built at run time at an address another text held first, which runs unprepared.
 * Transaction control (BEGIN, COMMIT), the migrations and the live-event connection's
 * statements (store_pg_bus.c) are sent as text.
 * Statements shared with SQLite (store_sql.h) are written with ?N; pg__dollars turns them
 * into $N when they are prepared. Every value travels as a parameter. The semantics are
 * those of store_sqlite.c, kept across several nodes sharing one database:
 *
 *  - Read transactions run at REPEATABLE READ: one snapshot, as a SQLite reader sees.
 *  - Write transactions run at READ COMMITTED and lock the thread they work on (the
 *    thread look-ups of a write transaction take FOR NO KEY UPDATE), so that the
 *    read-recompute-write of a thread summary is serial per thread, as SQLite's single
 *    writer makes it, and each later statement sees what the previous holder committed.
 *  - Inserts that may meet a unique constraint in a race (aliases, threads, tokens,
 *    imported messages) use ON CONFLICT DO NOTHING and report PL_EEXIST, so that the
 *    transaction stays usable, as it does after a SQLite constraint failure.
 *  - Each seller's audit chain has a head row, locked by each append to that chain
 *    only (store_pg_audit.c).
 * Lock order is always thread, then audit head, so nodes cannot deadlock each other. */
#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "store/store_sql.h"
#include "store/store_pg_int.h"
#include "store/store_pg_schema.h"

enum {
  /* each thread look-up is followed by its locking variant (see thread_one) */
  Q_THREAD_INSERT, Q_THREAD_GET, Q_THREAD_GET_LOCK, Q_THREAD_FIND_ORDER,
  Q_THREAD_FIND_ORDER_LOCK, Q_THREAD_FIND_PRODUCT, Q_THREAD_FIND_PRODUCT_LOCK,
  Q_THREAD_UPDATE, Q_THREAD_LIST_SELLER, Q_THREAD_LIST_SELLER_DUE, Q_THREAD_LIST_BUYER, Q_THREAD_LIST_ALL,
  Q_MSG_INSERT, Q_MSG_SELLER_TEXT, Q_MSG_SELLER_PENDING, Q_MSG_LOCK_THREAD, Q_MSG_GET, Q_MSG_GET_EXT, Q_MSG_LIST, Q_MSG_PAGE,
  Q_EVENT_INSERT, Q_STATE_STATUS, Q_STATE_FLAG, Q_PING,
  Q__COUNT
};

/* Row lock of a write transaction's thread: NO KEY UPDATE, which the foreign-key checks
 * of inserted messages (KEY SHARE) do not wait for. */
#define LOCK_THREAD " FOR NO KEY UPDATE OF t"

/* The inbox query's conditions, shared by the three scopes, ordered by `at`, as in
 * store_sqlite.c. The search text goes to plainto_tsquery, which accepts any input: user
 * text is never parsed as query syntax and never makes the statement fail. */
#define THREAD_LIST_WHERE_BY(at, cmp, dir)                                                                 \
  " AND CASE $2::int WHEN 0 THEN ($9::int = 1 OR NOT t.archived)"                         \
  "  WHEN 1 THEN NOT t.archived AND t.needs_response > 0"                                   \
  "  WHEN 2 THEN NOT t.archived AND t.waiting > 0"                                          \
  "  WHEN 3 THEN NOT t.archived AND t.last_seller_at > 0"                                   \
  "  ELSE t.archived END"                                                                   \
  " AND ($3::text IS NULL OR t.order_id = $3)"                                              \
  " AND ($4::text IS NULL OR t.asin = $4 OR t.order_id IN"                                  \
  "      (SELECT i.order_id FROM order_items i WHERE i.seller_id = t.seller_id"             \
  "       AND i.asin = $4))"                                                                \
  " AND ($5::text IS NULL OR EXISTS (SELECT 1 FROM aliases al WHERE al.alias = $5"          \
  "      AND al.buyer_id = t.buyer_id AND al.seller_id = t.seller_id))"                     \
  " AND ($6::text IS NULL OR t.id IN (SELECT m.thread_id FROM messages m"                   \
  "      LEFT JOIN message_state s ON s.message_id = m.id"                                 \
  "      WHERE m.tsv @@ plainto_tsquery('parley_text'::regconfig, $6)"                     \
  "      AND ($13::int = 0 OR m.direction <> 'buyer')"                                     \
  "      AND ($9::int = 0 OR (m.kind <> 'note' AND (m.direction = 'buyer'"                  \
  "           OR s.status = 'delivered'))))"                                              \
  "      OR ($13::int = 1 AND t.id IN (SELECT ss.thread_id FROM seller_search ss"          \
  "      WHERE ss.tsv @@ plainto_tsquery('parley_text'::regconfig, $6))))"                 \
  " AND ($7::bigint = 0 OR " at " " cmp " $7"                                          \
  "      OR (" at " = $7 AND t.id " cmp " $8::bigint))"                                  \
  " AND ($11::bigint = 0 OR ($11 = -1 AND NOT EXISTS (SELECT 1 FROM thread_team tt"         \
  "      WHERE tt.thread_id = t.id AND tt.assignee_id <> 0))"                               \
  "      OR ($11 > 0 AND EXISTS (SELECT 1 FROM thread_team tt"                              \
  "      WHERE tt.thread_id = t.id AND tt.assignee_id = $11)))"                             \
  " AND ($12::text IS NULL OR EXISTS (SELECT 1 FROM thread_team tt WHERE tt.thread_id = t.id" \
  "      AND strpos(tt.tags, ',' || $12 || ',') > 0))"                                       \
  " AND ($14::bigint = 0 OR t.last_message_at >= $14 OR ($17::int = 1 AND t.needs_response > 0))" \
  " AND ($15::bigint = 0 OR t.last_message_at <= $15)"                                       \
  " AND ($16::text IS NULL OR EXISTS (SELECT 1 FROM buyers b WHERE b.id = t.buyer_id"       \
  "      AND strpos(lower(b.name), lower($16)) > 0))"                                       \
  " ORDER BY " at " " dir ", t.id " dir " LIMIT $10"
/* Newest first; or, for a seller's "response needed", the least time left first. */
#define THREAD_LIST_WHERE(at) THREAD_LIST_WHERE_BY(at, "<", "DESC")

static const char *const sql[Q__COUNT] = {
  [Q_THREAD_INSERT] = ST_SQL_THREAD_INSERT " ON CONFLICT DO NOTHING RETURNING id",
  [Q_THREAD_GET] = ST_SQL_THREAD_GET,
  [Q_THREAD_GET_LOCK] = ST_SQL_THREAD_GET LOCK_THREAD,
  [Q_THREAD_FIND_ORDER] = ST_SQL_THREAD_FIND_ORDER,
  [Q_THREAD_FIND_ORDER_LOCK] = ST_SQL_THREAD_FIND_ORDER LOCK_THREAD,
  [Q_THREAD_FIND_PRODUCT] = ST_SQL_THREAD_FIND_PRODUCT,
  [Q_THREAD_FIND_PRODUCT_LOCK] = ST_SQL_THREAD_FIND_PRODUCT LOCK_THREAD,
  [Q_THREAD_UPDATE] = ST_SQL_THREAD_UPDATE,
  [Q_THREAD_LIST_SELLER] = "SELECT " ST_THREAD_COLS " FROM threads t WHERE t.seller_id = $1"
                           THREAD_LIST_WHERE("t.last_message_at"),
  [Q_THREAD_LIST_SELLER_DUE] = "SELECT " ST_THREAD_COLS " FROM threads t WHERE t.seller_id = $1"
                               THREAD_LIST_WHERE_BY("t.response_due_at", ">", "ASC"),
  [Q_THREAD_LIST_BUYER] = "SELECT " ST_THREAD_COLS " FROM threads t WHERE t.buyer_id = $1"
                          THREAD_LIST_WHERE("t.buyer_last_at"),
  [Q_THREAD_LIST_ALL] = "SELECT " ST_THREAD_COLS " FROM threads t WHERE ($1::text IS NULL OR true)"
                        THREAD_LIST_WHERE("t.last_message_at"),
  [Q_MSG_INSERT] = ST_SQL_MSG_INSERT " ON CONFLICT DO NOTHING RETURNING id",
  [Q_MSG_LOCK_THREAD] = "SELECT t.id FROM threads t WHERE t.id ="
                        " (SELECT thread_id FROM messages WHERE id = $1)" LOCK_THREAD,
  [Q_MSG_SELLER_TEXT] = "INSERT INTO seller_search(message_id, thread_id, text)"
                        " VALUES ($1, $2, $3) ON CONFLICT (message_id) DO NOTHING",
  [Q_MSG_SELLER_PENDING] = ST_SQL_MSG_SELLER_PENDING,
  [Q_MSG_GET] = ST_SQL_MSG_GET,
  [Q_MSG_GET_EXT] = ST_SQL_MSG_GET_EXT,
  [Q_MSG_PAGE] = "SELECT " ST_MSG_COLS " FROM messages m LEFT JOIN message_state s ON s.message_id = m.id"
                 " WHERE m.thread_id = $1 AND (NOT $2::boolean OR (m.direction = 'buyer' AND m.kind <> 'auto_reply') OR (m.direction <> 'buyer' AND m.kind <> 'note' AND s.status = 'delivered'))"
                 " AND ($3::bigint = 0 OR m.at < $4::bigint OR (m.at = $4::bigint AND m.id < $3::bigint))"
                 " ORDER BY m.at DESC, m.id DESC LIMIT $5::int",
  [Q_MSG_LIST] = ST_SQL_MSG_LIST,
  [Q_EVENT_INSERT] = ST_SQL_EVENT_INSERT " RETURNING id",
  [Q_STATE_STATUS] = "INSERT INTO message_state(message_id, seller_id, status, flagged, status_at)"
                     " VALUES ($1, $2, $3, false, $4) ON CONFLICT (message_id) DO UPDATE SET"
                     " status = excluded.status, status_at = excluded.status_at",
  [Q_STATE_FLAG] = ST_SQL_STATE_FLAG,
  [Q_PING] = ST_SQL_PING,
};

/* Statements of the other store_pg_*.c files (store__pg_exec) prepared on one
 * connection, found by the address of their text and checked by its content. */
#define PG_MORE_PREPARED 256

typedef struct {
  const char *key; /* the caller's text, by address */
  char *text;      /* a copy: a text at a reused address is another statement */
} pg_more;

/* One pooled connection. Prepared statements live as long as the session does. */
typedef struct pg_conn {
  PGconn *c;
  bool prepared[Q__COUNT];
  pg_more more[PG_MORE_PREPARED];
  bool write;  /* the open transaction was begun for writing */
  bool failed; /* a statement failed: the transaction can only roll back */
  /* The seller whose clock lock the open transaction holds (store__pg_lock_seller_once),
   * "" when none: a send asks for it at each of the clock's rows it reads. */
  char sla_seller[128];
  struct pg_conn *next;
} pg_conn;

typedef struct {
  store base;
  char *url; /* the URL given to libpq: ours without pool_size */
  int size;
  pg_conn *conns;
  pg_conn *idle; /* a stack: the most recently used, still connected, come first */
  pthread_mutex_t mu;
  pthread_cond_t cv;
  pthread_key_t key; /* the calling thread's connection between begin and commit */
  pg_bus *bus;       /* live events between nodes, once started (store_pg_bus.c) */
} pg_store;

#define PG(s) ((pg_store *)(s))

void pg__p_text(pg_params *p, const char *v) {
  if (p->n >= PG_MAX_PARAMS) {
    fprintf(stderr, "parley: postgres: more than %d parameters for one statement\n", PG_MAX_PARAMS);
    abort();
  }
  p->v[p->n++] = v;
}

void pg__p_int(pg_params *p, int64_t v) {
  pg__p_text(p, p->buf[p->n < PG_MAX_PARAMS ? p->n : 0]);
  snprintf(p->buf[p->n - 1], sizeof p->buf[0], "%lld", (long long)v);
}

void pg__p_bool(pg_params *p, bool v) { pg__p_text(p, v ? "true" : "false"); }

void pg__p_double(pg_params *p, double v) {
  pg__p_text(p, p->buf[p->n < PG_MAX_PARAMS ? p->n : 0]);
  snprintf(p->buf[p->n - 1], sizeof p->buf[0], "%.17g", v);
}

pl_err pg__run(store *s, const char *text, const pg_params *p, PGresult **out) {
  return pg__exec(s, text, p ? p->n : 0, p ? p->v : NULL, out);
}

char *pg__text(pl_arena *a, const PGresult *r, int row, int col) {
  if (PQgetisnull(r, row, col)) return NULL;
  return pl_arena_strndup(a, PQgetvalue(r, row, col), (size_t)PQgetlength(r, row, col));
}

const char *pg__cstr(const PGresult *r, int row, int col) {
  return PQgetisnull(r, row, col) ? NULL : PQgetvalue(r, row, col);
}

int64_t pg__num(const PGresult *r, int row, int col) {
  return PQgetisnull(r, row, col) ? 0 : strtoll(PQgetvalue(r, row, col), NULL, 10);
}

static bool col_bool(const PGresult *r, int row, int col) {
  return !PQgetisnull(r, row, col) && PQgetvalue(r, row, col)[0] == 't';
}

void *pg__rows(pl_arena *a, const PGresult *r, const st_row *t, size_t *n) {
  int rows = PQntuples(r);
  char *arr = pl_arena_alloc(a, (size_t)(rows ? rows : 1) * t->size);
  for (int i = 0; i < rows; i++) pg__read_row(a, r, i, 0, t, arr + (size_t)i * t->size);
  *n = (size_t)rows;
  return arr;
}

void pg__read_row(pl_arena *a, const PGresult *r, int row, int first, const st_row *t, void *out) {
  memset(out, 0, t->size);
  for (size_t i = 0; i < t->n; i++) {
    const st_col *c = &t->cols[i];
    int col = first + (int)i;
    if (st_col_text(c->kind))
      st_col_set(c, out, a, pg__cstr(r, row, col), (size_t)PQgetlength(r, row, col), 0);
    else if (c->kind == ST_COL_BOOL) /* a boolean column, or an integer one */
      st_col_set(c, out, a, NULL, 0, col_bool(r, row, col) || pg__num(r, row, col) != 0);
    else
      st_col_set(c, out, a, NULL, 0, pg__num(r, row, col));
  }
}

/* The calling thread's connection, or NULL outside a transaction. */
static pg_conn *cur(store *s) { return pthread_getspecific(PG(s)->key); }

/* Maps a result to an error code: integrity violations (class 23: unique, foreign key,
 * check, the append-only triggers) are PL_EEXIST, as SQLITE_CONSTRAINT is in the SQLite
 * backend; anything else is PL_ESTORE and is logged, since it means a broken database
 * or connection rather than a refused row. */
static pl_err res_err(pg_conn *k, const PGresult *r) {
  ExecStatusType st = PQresultStatus(r);
  if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) return PL_OK;
  k->failed = true;
  const char *code = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
  if (code && !strncmp(code, "23", 2)) return PL_EEXIST;
  const char *msg = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
  fprintf(stderr, "parley: postgres: %s%s%s\n", code ? code : "", code ? " " : "",
          msg ? msg : PQerrorMessage(k->c));
  return PL_ESTORE;
}

char *pg__dollars(const char *text) {
  char *out = pl_xstrdup(text);
  char quote = 0; /* inside '...' or "..." */
  for (char *c = out; *c; c++) {
    if (quote) {
      if (*c == quote) quote = 0;
    } else if (*c == '\'' || *c == '"') {
      quote = *c;
    } else if (*c == '?' && c[1] >= '0' && c[1] <= '9') {
      *c = '$';
    }
  }
  return out;
}

/* Prepares text (with ?N or $N placeholders) as statement name on k. */
static PGresult *prepare(pg_conn *k, const char *name, const char *text, int n) {
  char *t = pg__dollars(text);
  PGresult *r = PQprepare(k->c, name, t, n, NULL);
  free(t);
  return r;
}

/* Runs prepared query q with the parameters; prepares it first on a new connection.
 * Returns the result (never NULL on a live connection); the caller clears it. */
static PGresult *run(pg_conn *k, int q, const pg_params *p) {
  char name[16];
  snprintf(name, sizeof name, "pl%d", q);
  if (!k->prepared[q]) {
    PGresult *r = prepare(k, name, sql[q], 0);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) return r;
    PQclear(r);
    k->prepared[q] = true;
  }
  return PQexecPrepared(k->c, name, p ? p->n : 0, p ? p->v : NULL, NULL, NULL, 0);
}

/* Runs a statement whose rows do not matter; *changed gets the affected row count. */
static pl_err exec_q(pg_conn *k, int q, const pg_params *p, long *changed) {
  PGresult *r = run(k, q, p);
  pl_err e = res_err(k, r);
  if (!e && changed) *changed = strtol(PQcmdTuples(r), NULL, 10);
  PQclear(r);
  return e;
}

/* Runs a query expected to return at most one row: PL_OK with *out set (the caller
 * clears it), or PL_ENOTFOUND. */
static pl_err query_one(pg_conn *k, int q, const pg_params *p, PGresult **out) {
  PGresult *r = run(k, q, p);
  pl_err e = res_err(k, r);
  if (!e && PQntuples(r) == 0) e = PL_ENOTFOUND;
  if (e) {
    PQclear(r);
    return e;
  }
  *out = r;
  return PL_OK;
}

/* A statement of the connection's own, outside the prepared set (BEGIN, COMMIT...). */
static pl_err simple(pg_conn *k, const char *s) {
  PGresult *r = PQexec(k->c, s);
  pl_err e = res_err(k, r) ? PL_ESTORE : PL_OK; /* logged there, with the server's message */
  PQclear(r);
  return e;
}

/* A call outside the calling thread's transaction: a mistake of the caller, logged. */
static pl_err no_transaction(const char *what) {
  fprintf(stderr, "parley: postgres: %s outside a transaction of this thread\n", what);
  return PL_ESTORE;
}

/* ---- connections and the pool ---------------------------------------------------- */

static void quiet_notices(void *arg, const char *message) {
  (void)arg;
  (void)message; /* e.g. "text-search query doesn't contain lexemes": not an error */
}

static void conn_drop(pg_conn *k) {
  if (k->c) PQfinish(k->c);
  k->c = NULL;
  memset(k->prepared, 0, sizeof k->prepared);
  for (int i = 0; i < PG_MORE_PREPARED; i++) free(k->more[i].text);
  memset(k->more, 0, sizeof k->more);
}

/* Runs text with the parameters as a statement prepared on this connection on first use
 * (PostgreSQL then parses and plans it once a session, not once a call). A text that
 * cannot be kept (the table is full, or another text was met at its address first) runs
 * unprepared. */
static PGresult *run_text(pg_conn *k, const char *text, int n, const char *const *v) {
  size_t h = ((uintptr_t)text >> 3) % PG_MORE_PREPARED;
  for (int probe = 0; probe < 8; probe++, h = (h + 1) % PG_MORE_PREPARED) {
    pg_more *m = &k->more[h];
    char name[16];
    snprintf(name, sizeof name, "px%zu", h);
    if (m->key == text) {
      if (strcmp(m->text, text)) break;
      return PQexecPrepared(k->c, name, n, v, NULL, NULL, 0);
    }
    if (!m->key) {
      PGresult *r = prepare(k, name, text, n);
      if (PQresultStatus(r) != PGRES_COMMAND_OK) return r;
      PQclear(r);
      m->key = text;
      m->text = pl_xstrdup(text);
      return PQexecPrepared(k->c, name, n, v, NULL, NULL, 0);
    }
  }
  char *t = pg__dollars(text);
  PGresult *r = PQexecParams(k->c, t, n, NULL, v, NULL, NULL, 0);
  free(t);
  return r;
}

static pl_err conn_open(pg_store *p, pg_conn *k, pl_detail *d) {
  static const char *const keys[] = {"dbname", "fallback_application_name", NULL};
  const char *vals[] = {p->url, "parley", NULL};
  conn_drop(k);
  k->c = PQconnectdbParams(keys, vals, 1);
  if (!k->c || PQstatus(k->c) != CONNECTION_OK) {
    const char *m = k->c ? PQerrorMessage(k->c) : "out of memory";
    pl_fail(d, PL_ESTORE, "cannot connect to PostgreSQL: %.*s", (int)strcspn(m, "\n"), m);
    if (!d) fprintf(stderr, "parley: postgres: cannot connect: %.*s\n", (int)strcspn(m, "\n"), m);
    conn_drop(k);
    return PL_ESTORE;
  }
  PQsetNoticeProcessor(k->c, quiet_notices, NULL);
  return PL_OK;
}

static pg_conn *pool_take(pg_store *p) {
  pthread_mutex_lock(&p->mu);
  while (!p->idle) pthread_cond_wait(&p->cv, &p->mu);
  pg_conn *k = p->idle;
  p->idle = k->next;
  pthread_mutex_unlock(&p->mu);
  k->next = NULL;
  return k;
}

static void pool_give(pg_store *p, pg_conn *k) {
  if (k->c && (PQstatus(k->c) != CONNECTION_OK || PQtransactionStatus(k->c) != PQTRANS_IDLE))
    conn_drop(k); /* a broken session is replaced at its next use */
  pthread_mutex_lock(&p->mu);
  k->next = p->idle;
  p->idle = k;
  pthread_cond_signal(&p->cv);
  pthread_mutex_unlock(&p->mu);
}

/* ---- transactions ------------------------------------------------------------------ */

static void pg_close(store *s) {
  pg__bus_stop(s);
  pg_store *p = PG(s);
  for (int i = 0; i < p->size; i++) conn_drop(&p->conns[i]);
  free(p->conns);
  free(p->url);
  pthread_key_delete(p->key);
  pthread_cond_destroy(&p->cv);
  pthread_mutex_destroy(&p->mu);
  free(p);
}

static pl_err pg_begin(store *s, bool write) {
  pg_store *p = PG(s);
  if (cur(s)) { /* one transaction per thread, as with SQLite's mutex */
    fprintf(stderr, "parley: postgres: a transaction began inside another of the same thread\n");
    return PL_ESTORE;
  }
  pg_conn *k = pool_take(p);
  /* Reads see one snapshot, as a SQLite read transaction does; writes lock what they
   * change and see what others committed before them. */
  const char *b = write ? "BEGIN" : "BEGIN ISOLATION LEVEL REPEATABLE READ";
  pl_err e = PL_OK;
  if (!k->c) e = conn_open(p, k, NULL);
  if (!e && (e = simple(k, b)) && PQstatus(k->c) != CONNECTION_OK) {
    /* The server went away since this connection was last used: one fresh attempt. */
    if (!(e = conn_open(p, k, NULL))) e = simple(k, b);
  }
  if (e) {
    pool_give(p, k);
    return PL_ESTORE;
  }
  k->write = write;
  k->failed = false;
  k->sla_seller[0] = '\0';
  pthread_setspecific(p->key, k);
  return PL_OK;
}

static void finish(store *s, pg_conn *k) {
  pthread_setspecific(PG(s)->key, NULL);
  pool_give(PG(s), k);
}

static pl_err pg_commit(store *s) {
  pg_conn *k = cur(s);
  if (!k) return no_transaction("a commit");
  pl_err e = PL_ESTORE;
  if (k->failed) {
    simple(k, "ROLLBACK");
  } else {
    /* COMMIT of a failed transaction answers ROLLBACK without an error: check the tag. */
    PGresult *r = PQexec(k->c, "COMMIT");
    if (PQresultStatus(r) == PGRES_COMMAND_OK && !strcmp(PQcmdStatus(r), "COMMIT")) e = PL_OK;
    else if (PQresultStatus(r) != PGRES_COMMAND_OK) res_err(k, r);
    PQclear(r);
  }
  finish(s, k);
  return e;
}

static void pg_rollback(store *s) {
  pg_conn *k = cur(s);
  if (!k) return;
  simple(k, "ROLLBACK");
  finish(s, k);
}

static pl_err pg_savepoint(store *s, int action) {
  static const char *const stmt_text[] = {"SAVEPOINT pl_sp", "RELEASE SAVEPOINT pl_sp",
                                          "ROLLBACK TO SAVEPOINT pl_sp; RELEASE SAVEPOINT pl_sp"};
  pg_conn *k = cur(s);
  if (!k || action < 0 || action > 2) return PL_ESTORE;
  pl_err e = simple(k, stmt_text[action]);
  /* Rolled back to the savepoint, the transaction is usable again. */
  if (!e && action == ST_SP_ROLLBACK) k->failed = false;
  /* a lock taken since the savepoint went with it */
  if (action == ST_SP_ROLLBACK) k->sla_seller[0] = '\0';
  return e;
}

/* For the store_pg_*.c files: one statement with text parameters in the calling thread's
 * transaction, with this file's error mapping (a failure dooms the transaction). */
PGresult *store__pg_exec(store *s, const char *text, int n, const char *const *values, pl_err *e) {
  pg_conn *k = cur(s);
  if (!k) {
    *e = no_transaction("a statement");
    return NULL;
  }
  PGresult *r = run_text(k, text, n, values);
  *e = res_err(k, r);
  return r;
}

const char *store__pg_url(store *s) { return PG(s)->url; }
pg_bus **store__pg_bus(store *s) { return &PG(s)->bus; }

pl_err pg__exec(store *s, const char *text, int n, const char *const *v, PGresult **out) {
  pl_err e;
  PGresult *r = store__pg_exec(s, text, n, v, &e);
  if (e || !out) PQclear(r);
  else *out = r;
  return e;
}

static pl_err pg_exec(store *s, const st_stmt *q, const st_arg *args, size_t n, const st_row *row,
                      pl_arena *a, void *out, size_t *rows) {
  pg_params p = {.n = 0};
  for (size_t i = 0; i < n; i++) {
    if (args[i].kind == ST_ARG_TEXT) pg__p_text(&p, args[i].text);
    else if (args[i].kind == ST_ARG_BOOL) pg__p_bool(&p, args[i].num != 0);
    else pg__p_int(&p, args[i].num);
  }
  PGresult *r = NULL;
  /* its own text, else the shared one (?N, turned into $N when it is prepared) */
  pl_err e = pg__run(s, q->pg ? q->pg : q->sql, &p, &r);
  if (e) return e;
  if (!row) {
    if (rows) *rows = (size_t)strtoull(PQcmdTuples(r), NULL, 10);
  } else if (!rows) {
    if (PQntuples(r) == 0) e = PL_ENOTFOUND;
    else pg__read_row(a, r, 0, 0, row, out);
  } else {
    *(void **)out = pg__rows(a, r, row, rows);
  }
  PQclear(r);
  return e;
}

bool store__pg_writing(store *s) {
  pg_conn *k = cur(s);
  return k && k->write;
}

bool store__pg_sla_locked(store *s, const char *seller_id) {
  pg_conn *k = cur(s);
  if (!k) return false;
  if (!strcmp(k->sla_seller, seller_id)) return true;
  if (strlen(seller_id) < sizeof k->sla_seller) strcpy(k->sla_seller, seller_id);
  return false;
}

#define CONN(s)                      \
  pg_conn *k = cur(s);               \
  if (!k) return no_transaction(__func__)

static pl_err pg_backup(store *s, const char *path, pl_detail *d) {
  (void)s;
  (void)path;
  return pl_fail(d, PL_EINVAL, "a PostgreSQL database is backed up with its own tools (pg_dump or "
                               "pg_basebackup, docs/operations.md), with the attachment directory beside it");
}

static pl_err pg_ping(store *s) {
  CONN(s);
  return exec_q(k, Q_PING, NULL, NULL);
}

/* ---- parties ----------------------------------------------------------------------- */

/* ---- orders ------------------------------------------------------------------------ */

/* ---- threads ----------------------------------------------------------------------- */

static pl_err pg_thread_insert(store *s, st_thread *t) {
  CONN(s);
  pg_params p = {.n = 0};
  pg__p_text(&p, t->seller_id);
  pg__p_text(&p, t->buyer_id);
  pg__p_text(&p, t->marketplace_id);
  pg__p_text(&p, t->order_id);
  pg__p_text(&p, t->asin);
  pg__p_text(&p, t->topic);
  pg__p_bool(&p, t->archived);
  pg__p_int(&p, t->waiting);
  pg__p_int(&p, t->needs_response);
  pg__p_int(&p, t->created_at);
  pg__p_int(&p, t->last_message_at);
  pg__p_int(&p, t->last_buyer_at);
  pg__p_int(&p, t->last_seller_at);
  pg__p_int(&p, t->seller_read_id);
  pg__p_int(&p, t->buyer_read_id);
  pg__p_int(&p, t->response_due_at);
  PGresult *r;
  pl_err e = query_one(k, Q_THREAD_INSERT, &p, &r);
  if (e == PL_ENOTFOUND) return PL_EEXIST; /* the order or product already has a thread */
  if (e) return e;
  t->id = pg__num(r, 0, 0);
  PQclear(r);
  return PL_OK;
}

/* A thread look-up; in a write transaction it also locks the thread (see the top). */
static pl_err thread_one(pg_conn *k, int q, const pg_params *p, pl_arena *a, st_thread *out) {
  PGresult *r;
  pl_err e = query_one(k, k->write ? q + 1 : q, p, &r);
  if (e) return e;
  pg__read_row(a, r, 0, 0, &st_thread_row, out);
  PQclear(r);
  return PL_OK;
}

static pl_err pg_thread_get(store *s, int64_t id, pl_arena *a, st_thread *out) {
  CONN(s);
  pg_params p = {.n = 0};
  pg__p_int(&p, id);
  return thread_one(k, Q_THREAD_GET, &p, a, out);
}

static pl_err pg_thread_find(store *s, const char *order_id, const char *seller, const char *buyer,
                              const char *asin, pl_arena *a, st_thread *out) {
  CONN(s);
  pg_params p = {.n = 0};
  if (order_id) {
    pg__p_text(&p, order_id);
    return thread_one(k, Q_THREAD_FIND_ORDER, &p, a, out);
  }
  pg__p_text(&p, seller);
  pg__p_text(&p, buyer);
  pg__p_text(&p, asin);
  return thread_one(k, Q_THREAD_FIND_PRODUCT, &p, a, out);
}

static pl_err pg_thread_update(store *s, const st_thread *t) {
  CONN(s);
  pg_params p = {.n = 0};
  pg__p_int(&p, t->id);
  pg__p_text(&p, t->seller_id);
  pg__p_text(&p, t->topic);
  pg__p_bool(&p, t->archived);
  pg__p_int(&p, t->waiting);
  pg__p_int(&p, t->needs_response);
  pg__p_int(&p, t->last_message_at);
  pg__p_int(&p, t->last_buyer_at);
  pg__p_int(&p, t->last_seller_at);
  pg__p_int(&p, t->seller_read_id);
  pg__p_int(&p, t->buyer_read_id);
  pg__p_int(&p, t->response_due_at);
  pg__p_int(&p, t->buyer_last_at);
  pg__p_int(&p, t->last_buyer_id);
  pg__p_int(&p, t->last_seller_id);
  long n = 0;
  pl_err e = exec_q(k, Q_THREAD_UPDATE, &p, &n);
  return !e && n != 1 ? PL_ENOTFOUND : e;
}

/* The search text, or NULL when it holds no term (then, as with SQLite, no search). */
static const char *fts_text(const char *in) {
  if (!in) return NULL;
  for (const char *c = in; *c; c++)
    if (*c != ' ' && *c != '\t' && *c != '\n' && *c != '\r') return in;
  return NULL;
}

static pl_err pg_thread_list(store *s, const st_thread_query *qr, pl_arena *a, st_thread **out,
                             size_t *n) {
  CONN(s);
  int which = qr->seller_id ? (qr->sort_due ? Q_THREAD_LIST_SELLER_DUE : Q_THREAD_LIST_SELLER)
              : qr->buyer_id ? Q_THREAD_LIST_BUYER
                             : Q_THREAD_LIST_ALL;
  int limit = qr->limit > 0 ? qr->limit : 25;
  pg_params p = {.n = 0};
  pg__p_text(&p, qr->seller_id ? qr->seller_id : qr->buyer_id);
  pg__p_int(&p, (int64_t)qr->filter);
  pg__p_text(&p, qr->order_id);
  pg__p_text(&p, qr->asin);
  pg__p_text(&p, qr->buyer_alias);
  pg__p_text(&p, fts_text(qr->fts));
  pg__p_int(&p, qr->cursor_at);
  pg__p_int(&p, qr->cursor_id);
  pg__p_int(&p, qr->buyer_id ? 1 : 0);
  pg__p_int(&p, limit);
  pg__p_int(&p, qr->assignee_id);
  pg__p_text(&p, qr->tag);
  pg__p_int(&p, qr->fts_masked ? 1 : 0);
  pg__p_int(&p, qr->since);
  pg__p_int(&p, qr->until);
  pg__p_text(&p, qr->buyer_name);
  pg__p_int(&p, qr->keep_waiting ? 1 : 0);
  PGresult *r = run(k, which, &p);
  pl_err e = res_err(k, r);
  if (e) {
    PQclear(r);
    return e;
  }
  int rows = PQntuples(r);
  if (rows > limit) rows = limit;
  st_thread *arr = pl_arena_alloc(a, (size_t)limit * sizeof *arr);
  for (int i = 0; i < rows; i++) pg__read_row(a, r, i, 0, &st_thread_row, &arr[i]);
  PQclear(r);
  *out = arr;
  *n = (size_t)rows;
  return PL_OK;
}

/* ---- messages and events ----------------------------------------------------------- */

static pl_err pg_message_insert(store *s, st_message *m) {
  CONN(s);
  pg_params p = {.n = 0};
  pg__p_int(&p, m->thread_id);
  pg__p_text(&p, m->seller_id);
  pg__p_text(&p, m->ext_id);
  pg__p_text(&p, st_direction_name(m->direction));
  pg__p_text(&p, st_msg_kind_name(m->kind));
  if (m->agent_id) pg__p_int(&p, m->agent_id);
  else pg__p_text(&p, NULL);
  pg__p_text(&p, m->text);
  pg__p_int(&p, m->at);
  pg__p_text(&p, m->policy_action);
  pg__p_text(&p, m->policy_engine);
  pg__p_text(&p, m->policy_json);
  pg__p_text(&p, m->action);
  pg__p_bool(&p, m->critical);
  pg__p_bool(&p, m->proactive);
  PGresult *r;
  pl_err e = query_one(k, Q_MSG_INSERT, &p, &r);
  if (e == PL_ENOTFOUND) return PL_EEXIST; /* the ext_id was imported already */
  if (e) return e;
  m->id = pg__num(r, 0, 0);
  PQclear(r);
  /* the tsvector columns index the texts */
  return m->seller_text ? s->ops->message_seller_text_put(s, m->id, m->thread_id, m->seller_text)
                        : PL_OK;
}

static pl_err pg_seller_text_put(store *s, int64_t id, int64_t thread_id, const char *text) {
  CONN(s);
  pg_params p = {.n = 0};
  pg__p_int(&p, id);
  pg__p_int(&p, thread_id);
  pg__p_text(&p, text);
  long n = 0;
  return exec_q(k, Q_MSG_SELLER_TEXT, &p, &n);
}

/* The messages of a query's result r (run with outcome e) into an arena array; clears r. */
static pl_err msg_result(PGresult *r, pl_err e, pl_arena *a, st_message **out, size_t *n) {
  if (e) {
    PQclear(r);
    return e;
  }
  *out = pg__rows(a, r, &st_message_row, n);
  PQclear(r);
  return PL_OK;
}

/* Runs a prepared message query into an arena array. */
static pl_err msg_rows(pg_conn *k, int q, const pg_params *p, pl_arena *a, st_message **out, size_t *n) {
  PGresult *r = run(k, q, p);
  return msg_result(r, res_err(k, r), a, out, n);
}

static pl_err pg_seller_text_pending(store *s, int max, pl_arena *a, st_message **out, size_t *n) {
  CONN(s);
  pg_params p = {.n = 0};
  pg__p_int(&p, max);
  return msg_rows(k, Q_MSG_SELLER_PENDING, &p, a, out, n);
}

static pl_err msg_one(pg_conn *k, int q, const pg_params *p, pl_arena *a, st_message *out) {
  PGresult *r;
  pl_err e = query_one(k, q, p, &r);
  if (e) return e;
  pg__read_row(a, r, 0, 0, &st_message_row, out);
  PQclear(r);
  return PL_OK;
}

static pl_err pg_message_get(store *s, int64_t id, const char *ext, pl_arena *a, st_message *out) {
  CONN(s);
  pg_params p = {.n = 0};
  if (!id) {
    pg__p_text(&p, ext);
    return msg_one(k, Q_MSG_GET_EXT, &p, a, out);
  }
  pg__p_int(&p, id);
  /* A writer changes a message only through its thread (flag, then recompute): lock the
   * thread first, so that the message state read next is the latest committed one. */
  if (k->write) {
    PGresult *r;
    pl_err e = query_one(k, Q_MSG_LOCK_THREAD, &p, &r);
    if (e) return e;
    PQclear(r);
  }
  return msg_one(k, Q_MSG_GET, &p, a, out);
}

static pl_err pg_message_list(store *s, int64_t thread_id, pl_arena *a, st_message **out,
                              size_t *n) {
  CONN(s);
  pg_params p = {.n = 0};
  pg__p_int(&p, thread_id);
  return msg_rows(k, Q_MSG_LIST, &p, a, out, n);
}

static pl_err pg_message_page(store *s, int64_t thread_id, const st_message *before, bool buyer_view,
                              int limit, pl_arena *a, st_message **out, size_t *n, bool *more) {
  CONN(s);
  pg_params p = {.n = 0};
  pg__p_int(&p, thread_id);
  pg__p_bool(&p, buyer_view);
  pg__p_int(&p, before ? before->id : 0);
  pg__p_int(&p, before ? before->at : 0);
  pg__p_int(&p, limit + 1); /* one more tells whether older ones exist */
  PGresult *r = run(k, Q_MSG_PAGE, &p);
  pl_err e = res_err(k, r);
  if (e) {
    PQclear(r);
    return e;
  }
  int rows = PQntuples(r);
  *more = rows > limit;
  if (*more) rows = limit;
  st_message *arr = pl_arena_alloc(a, (size_t)(rows ? rows : 1) * sizeof *arr);
  for (int i = 0; i < rows; i++) pg__read_row(a, r, i, 0, &st_message_row, &arr[rows - 1 - i]); /* oldest first */
  PQclear(r);
  *out = arr;
  *n = (size_t)rows;
  return PL_OK;
}

/* Runs a message query given as text into an arena array. */
static pl_err msg_rows_text(store *s, const char *text, int n, const char *const *v, pl_arena *a,
                            st_message **out, size_t *nout) {
  pl_err e;
  PGresult *r = store__pg_exec(s, text, n, v, &e);
  return msg_result(r, e, a, out, nout);
}

static pl_err pg_thread_tail(store *s, int64_t thread_id, pl_arena *a, st_message **out, size_t *n,
                             pl_time *last_buyer_at) {
  pg_params p = {.n = 0};
  pg__p_int(&p, thread_id);
  pl_err e;
  /* Each read walks the thread's (thread_id, at, id) index from its end. */
  PGresult *r = store__pg_exec(s, ST_SQL_THREAD_TAIL_LAST_BUYER, p.n, p.v, &e);
  *last_buyer_at = !e && PQntuples(r) ? pg__num(r, 0, 0) : 0;
  PQclear(r);
  if (e) return e;
  r = store__pg_exec(s, ST_SQL_THREAD_TAIL_LAST_REPLY, p.n, p.v, &e);
  bool found = !e && PQntuples(r);
  if (found) {
    pg__p_int(&p, pg__num(r, 0, 0));
    pg__p_int(&p, pg__num(r, 0, 1));
  }
  PQclear(r);
  if (e) return e;
  if (!found) return pg_message_list(s, thread_id, a, out, n);
  return msg_rows_text(s, ST_SQL_THREAD_TAIL, p.n, p.v, a, out, n);
}

static pl_err pg_event_insert(store *s, st_event *ev) {
  CONN(s);
  pg_params p = {.n = 0};
  pg__p_int(&p, ev->message_id);
  pg__p_int(&p, ev->thread_id);
  pg__p_text(&p, ev->seller_id);
  pg__p_text(&p, st_event_type_name(ev->type));
  pg__p_text(&p, ev->value);
  pg__p_text(&p, ev->actor);
  pg__p_int(&p, ev->at);
  PGresult *r;
  pl_err e = query_one(k, Q_EVENT_INSERT, &p, &r);
  if (e) return e;
  ev->id = pg__num(r, 0, 0);
  PQclear(r);
  if (ev->type == ST_EVENT_STATUS) {
    pg_params q = {.n = 0};
    pg__p_int(&q, ev->message_id);
    pg__p_text(&q, ev->seller_id);
    pg__p_text(&q, ev->value);
    pg__p_int(&q, ev->at);
    return exec_q(k, Q_STATE_STATUS, &q, NULL);
  }
  if (ev->type == ST_EVENT_FLAG) {
    pg_params q = {.n = 0};
    pg__p_int(&q, ev->message_id);
    pg__p_bool(&q, strcmp(ev->value, "false") != 0); /* "true" or "canceled" */
    return exec_q(k, Q_STATE_FLAG, &q, NULL);
  }
  return PL_OK;
}

/* ---- marketplace rules -------------------------------------------------------------- */

static const store_ops pg_ops = {
  .name = "postgres",
  .close = pg_close,
  .begin = pg_begin,
  .commit = pg_commit,
  .rollback = pg_rollback,
  .ping = pg_ping,
  .backup = pg_backup,
  .savepoint = pg_savepoint,
  .exec = pg_exec,
  .thread_insert = pg_thread_insert,
  .thread_get = pg_thread_get,
  .thread_find = pg_thread_find,
  .thread_update = pg_thread_update,
  .thread_list = pg_thread_list,
  .message_insert = pg_message_insert,
  .message_get = pg_message_get,
  .message_list = pg_message_list,
  .message_page = pg_message_page,
  .message_seller_text_pending = pg_seller_text_pending,
  .message_seller_text_put = pg_seller_text_put,
  .event_insert = pg_event_insert,
  .thread_tail = pg_thread_tail,
  .bus_start = pg__bus_start,
  .bus_send = pg__bus_send,
  .bus_stop = pg__bus_stop,
  /* the entries of the part files (store_parts.h) */
#define PG__ENTRY(name) STORE_PART_ENTRY(pg, name)
  STORE_PART_OPS(PG__ENTRY)
};

/* ---- opening: URL, migrations ------------------------------------------------------ */

/* Reads the schema's version and compat, plans by o (store.h) and applies the plan, all
 * in one transaction that holds an advisory lock, so that nodes starting together
 * migrate once and the others wait and then find the schema current. Under
 * STORE_SCHEMA_CHECK the transaction is rolled back: nothing is written. */
static pl_err migrate(pg_conn *k, const store_open_options *o, store_schema *out, pl_detail *d) {
  int n = (int)(sizeof store_pg_migrations / sizeof store_pg_migrations[0]);
  int known = o->known > 0 && o->known < n ? o->known : n;
  PGresult *r = NULL;
  const char *step = "BEGIN";
  if (simple(k, "BEGIN")) goto fail;
  step = "the migration lock";
  /* The key is "parley" in ASCII: one lock for every parley database user. */
  r = PQexec(k->c, "SELECT pg_advisory_xact_lock(123563833845113)");
  if (PQresultStatus(r) != PGRES_TUPLES_OK) goto fail;
  PQclear(r);
  r = NULL;
  /* the schema's history: one row per migration, with its contract's K (store.h) */
  step = "the schema version table";
  if (simple(k, "CREATE TABLE IF NOT EXISTS parley_schema("
                "version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)") ||
      simple(k, "ALTER TABLE parley_schema ADD COLUMN IF NOT EXISTS compat INTEGER NOT NULL DEFAULT 0"))
    goto fail;
  r = PQexec(k->c, "SELECT coalesce(max(version), 0), coalesce(max(compat), 0) FROM parley_schema");
  if (PQresultStatus(r) != PGRES_TUPLES_OK) goto fail;
  int version = (int)pg__num(r, 0, 0), compat = (int)pg__num(r, 0, 1);
  PQclear(r);
  r = NULL;
  pl_err e = store__schema_plan(version, compat, store_pg_migrations, known, o->mode, out, d);
  if (e || o->mode == STORE_SCHEMA_CHECK) {
    simple(k, "ROLLBACK");
    return e;
  }
  for (int v = version; v < out->target; v++) {
    step = "a migration";
    r = PQexec(k->c, store_pg_migrations[v]);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
      const char *m = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
      pl_fail(d, PL_ESTORE, "migration %d failed: %s", v + 1, m ? m : PQerrorMessage(k->c));
      PQclear(r);
      simple(k, "ROLLBACK");
      return PL_ESTORE;
    }
    PQclear(r);
    char ver[16], cv[16];
    snprintf(ver, sizeof ver, "%d", v + 1);
    snprintf(cv, sizeof cv, "%d", store__migration_contract(store_pg_migrations[v]));
    const char *pv[2] = {ver, cv};
    step = "the migration's record";
    r = PQexecParams(k->c,
                     "INSERT INTO parley_schema(version, applied_at, compat)"
                     " VALUES ($1::int, extract(epoch FROM now())::bigint, $2::int)",
                     2, NULL, pv, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) goto fail;
    PQclear(r);
    r = NULL;
  }
  step = "COMMIT";
  if (simple(k, "COMMIT")) goto fail;
  return PL_OK;
fail:;
  const char *m = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
  pl_fail(d, PL_ESTORE, "schema migration failed at %s: %s", step,
          m ? m : PQerrorMessage(k->c));
  PQclear(r);
  simple(k, "ROLLBACK");
  return PL_ESTORE;
}

/* Splits parley's own query parameters (pool_size) off the URL; libpq refuses unknown
 * ones. Returns the URL for libpq (malloc'd) or NULL with *bad set. */
static char *url_strip(const char *url, int *pool_size, const char **bad) {
  size_t n = strlen(url);
  char *out = pl_xmalloc(n + 1);
  const char *q = strchr(url, '?');
  size_t head = q ? (size_t)(q - url) : n;
  memcpy(out, url, head);
  out[head] = '\0';
  if (!q) return out;
  char *o = out + head;
  const char *s = q + 1;
  bool first = true;
  while (*s) {
    size_t len = strcspn(s, "&");
    if (len > 10 && !strncmp(s, "pool_size=", 10)) {
      char num[16] = {0};
      size_t vl = len - 10 < sizeof num - 1 ? len - 10 : sizeof num - 1;
      memcpy(num, s + 10, vl);
      char *end;
      long v = strtol(num, &end, 10);
      if (*end || v < 1 || v > 1000 || len - 10 >= sizeof num) {
        *bad = "pool_size must be a number from 1 to 1000";
        free(out);
        return NULL;
      }
      *pool_size = (int)v;
    } else if (len) {
      *o++ = first ? '?' : '&';
      memcpy(o, s, len);
      o += len;
      first = false;
    }
    s += len;
    if (*s == '&') s++;
  }
  *o = '\0';
  return out;
}

pl_err store_pg_open(const char *url, const store_open_options *o, store **out,
                     store_schema *schema, pl_detail *d) {
  int size = 8;
  const char *bad = NULL;
  char *u = url_strip(url, &size, &bad);
  if (!u) return pl_fail(d, PL_EINVAL, "%s", bad);
  pg_store *p = pl_xcalloc(1, sizeof *p);
  p->base.ops = &pg_ops;
  p->url = u;
  p->size = size;
  p->conns = pl_xcalloc((size_t)size, sizeof *p->conns);
  pthread_mutex_init(&p->mu, NULL);
  pthread_cond_init(&p->cv, NULL);
  if (pthread_key_create(&p->key, NULL)) {
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p->conns);
    free(p->url);
    free(p);
    return pl_fail(d, PL_ESTORE, "no thread-local slot for the connection pool");
  }
  for (int i = size - 1; i >= 0; i--) { /* slot 0 on top: the one opened now */
    p->conns[i].next = p->idle;
    p->idle = &p->conns[i];
  }
  pg_conn *k = pool_take(p);
  pl_err e = conn_open(p, k, d);
  if (!e) e = migrate(k, o, schema, d);
  pool_give(p, k);
  if (e || o->mode == STORE_SCHEMA_CHECK) {
    pg_close(&p->base);
    return e;
  }
  *out = &p->base;
  return PL_OK;
}
