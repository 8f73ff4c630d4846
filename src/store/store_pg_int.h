/* store_pg_int.h - what the files of the PostgreSQL backend share. */
#ifndef PL_STORE_PG_INT_H
#define PL_STORE_PG_INT_H

#include <libpq-fe.h>

#include "store/store.h"
#include "store/store_parts.h"
#include "store/store_row.h"
#include "store/store_sql.h"

/* Runs sql with n text parameters in the calling thread's transaction (store_pg.c); *e
 * tells the outcome; the caller clears the result (NULL outside a transaction). */
PGresult *store__pg_exec(store *s, const char *sql, int n, const char *const *values, pl_err *e);
/* Runs sql like store__pg_exec; with out NULL the rows do not matter, else the caller
 * clears *out (set only on PL_OK). */
pl_err pg__exec(store *s, const char *sql, int n, const char *const *v, PGresult **out);
/* The parameters of one statement, as the text PostgreSQL receives: the one way the
 * backend builds them. Numbers are written into buf, so the struct keeps them until the
 * statement has run. More than PG_MAX_PARAMS is a mistake of the code: it aborts. */
enum { PG_MAX_PARAMS = 20 };
typedef struct {
  const char *v[PG_MAX_PARAMS];
  char buf[PG_MAX_PARAMS][32]; /* "%.17g" of a double needs 24 */
  int n;
} pg_params;
void pg__p_text(pg_params *p, const char *v); /* NULL: SQL NULL */
void pg__p_int(pg_params *p, int64_t v);
void pg__p_bool(pg_params *p, bool v);
void pg__p_double(pg_params *p, double v); /* 17 digits: the same double back */
/* pg__exec with p's parameters (NULL: none). */
pl_err pg__run(store *s, const char *sql, const pg_params *p, PGresult **out);
/* A copy of text (the caller frees it) with SQLite's ?N placeholders written as $N, outside
 * quoted literals and names: how a statement of store_sql.h is prepared on PostgreSQL. */
char *pg__dollars(const char *text);
/* Column readers: text into the arena (NULL for SQL NULL), integers (0 for NULL). */
char *pg__text(pl_arena *a, const PGresult *r, int row, int col);
/* A text column in place (NULL for SQL NULL), valid while r is: for state names. */
const char *pg__cstr(const PGresult *r, int row, int col);
int64_t pg__num(const PGresult *r, int row, int col);
/* Fills out, a struct of t's type, from the columns of r's row that begin at first,
 * through the row's column table (store_row.h); text goes into a. */
void pg__read_row(pl_arena *a, const PGresult *r, int row, int first, const st_row *t, void *out);
/* Every row of r read through t's table into an arena array, *n of them. */
void *pg__rows(pl_arena *a, const PGresult *r, const st_row *t, size_t *n);
/* Whether the calling thread's transaction was begun for writing. */
bool store__pg_writing(store *s);
/* Whether the calling thread's transaction already holds the clock lock of seller_id;
 * when not, records that the caller is about to take it (and so holds it from then on:
 * a lock that fails fails the transaction). A rollback to a savepoint forgets it. */
bool store__pg_sla_locked(store *s, const char *seller_id);
/* The URL libpq connects with, and the slot of the live-event bus (store_pg_bus.c). */
typedef struct pg_bus pg_bus;
const char *store__pg_url(store *s);
pg_bus **store__pg_bus(store *s);

/* Live events between nodes (store_pg_bus.c), for the vtable. */
pl_err pg__bus_start(store *s, void (*deliver)(void *ctx, const char *payload), void *ctx);
void pg__bus_send(store *s, const char *payload);
void pg__bus_stop(store *s);


/* The entries of the part files (store_parts.h). */
#define PG__DECLARE(name) STORE_PART_DECLARE(pg, name)
STORE_PART_OPS(PG__DECLARE)

#endif
