/* store_pg_sla.c - the 24-hour clock's events, outcomes and hourly buckets in PostgreSQL.
 *
 * The queries are those of store_sqlite_sla.c. What SQLite's single writer gives for
 * free, several nodes need a lock for: the outcomes and buckets of a seller are read,
 * recomputed and written back in the event's transaction, so a writing transaction takes
 * a per-seller advisory lock before it reads them; the writers of one seller then take
 * turns and none overwrites another's counts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_pg_int.h"

#define RANGE_THREADS                                                                   \
  "(SELECT b.thread_id FROM messages b WHERE b.seller_id = $1 AND b.direction = 'buyer'" \
  " AND b.kind <> 'auto_reply'"                                                        \
  " AND ((b.at > $2 AND b.at <= $3) OR (b.at > $4 AND b.at <= $5)"                     \
  "   OR (b.at > $6 AND b.at <= $7) OR (b.at > $8 AND b.at <= $9)))"

static const char *const q_buyer_t = ST_SQL_SLA_BUYER_THREAD;
static const char *const q_seller_t = ST_SQL_SLA_SELLER_THREAD;
static const char *const q_flag_t = ST_SQL_SLA_FLAG_THREAD;
static const char *const q_buyer_r =
    "SELECT m.id, m.thread_id, m.at, m.ext_id FROM messages m WHERE m.direction = 'buyer'"
    " AND m.kind <> 'auto_reply' AND m.at <= $10" ST_SLA_NOT_CANCELED " AND m.thread_id IN " RANGE_THREADS;
static const char *const q_seller_r =
    "SELECT " ST_SLA_SELLER_COLS " FROM messages m WHERE m.direction = 'seller' AND m.at <= $10"
    " AND m.thread_id IN " RANGE_THREADS;
static const char *const q_flag_r =
    "SELECT message_id, at, id, value FROM message_events WHERE type = 'flag' AND at <= $10"
    " AND message_id IN (SELECT id FROM messages WHERE thread_id IN " RANGE_THREADS ")";

static bool yes(const PGresult *r, int i, int c) {
  return !PQgetisnull(r, i, c) && PQgetvalue(r, i, c)[0] == 't';
}

/* Runs a query; PL_OK with *out set (the caller clears it). */
static pl_err query(store *s, const char *sql, const pg_params *p, PGresult **out) {
  *out = NULL;
  return pg__run(s, sql, p, out);
}

static pl_err run(store *s, const char *sql, const pg_params *p) { return pg__run(s, sql, p, NULL); }

/* A writer's turn on the seller's clock data (see the top); readers need none. */
static pl_err lock_seller(store *s, const char *seller_id) {
  if (!store__pg_writing(s)) return PL_OK;
  if (store__pg_sla_locked(s, seller_id ? seller_id : "")) return PL_OK; /* held till the end */
  pg_params p = {.n = 0};
  pg__p_text(&p, seller_id ? seller_id : "");
  return run(s, "SELECT pg_advisory_xact_lock(5459009, hashtext($1))", &p); /* 5459009: "SLA" */
}

static size_t rows_or_one(const PGresult *r) { return PQntuples(r) ? (size_t)PQntuples(r) : 1; }

static pl_err read_events(store *s, const char *bq, const char *sq, const char *fq, const pg_params *p,
                          pl_arena *a, sla_events *out) {
  memset(out, 0, sizeof *out);
  PGresult *r;
  pl_err e;
  if ((e = query(s, bq, p, &r))) return e;
  int n = PQntuples(r);
  sla_buyer_msg *b = pl_arena_alloc(a, rows_or_one(r) * sizeof *b);
  for (int i = 0; i < n; i++)
    b[i] = (sla_buyer_msg){.id = pg__num(r, i, 0), .thread_id = pg__num(r, i, 1), .received_at = pg__num(r, i, 2),
                           .seq = pg__num(r, i, 0), .ref = pg__text(a, r, i, 3)};
  out->buyer = b;
  out->n_buyer = (size_t)n;
  PQclear(r);
  if ((e = query(s, sq, p, &r))) return e;
  n = PQntuples(r);
  sla_seller_msg *sm = pl_arena_alloc(a, rows_or_one(r) * sizeof *sm);
  for (int i = 0; i < n; i++)
    sm[i] = (sla_seller_msg){.thread_id = pg__num(r, i, 0), .agent_id = pg__num(r, i, 1), .sent_at = pg__num(r, i, 2),
                             .seq = pg__num(r, i, 3), .kind = store__sla_kind(pg__cstr(r, i, 4)),
                             .delivered_at = PQgetisnull(r, i, 5) ? SLA_NEVER : pg__num(r, i, 5)};
  out->seller = sm;
  out->n_seller = (size_t)n;
  PQclear(r);
  if ((e = query(s, fq, p, &r))) return e;
  n = PQntuples(r);
  sla_flag *f = pl_arena_alloc(a, rows_or_one(r) * sizeof *f);
  for (int i = 0; i < n; i++)
    f[i] = (sla_flag){.msg_id = pg__num(r, i, 0), .at = pg__num(r, i, 1), .seq = pg__num(r, i, 2),
                      .value = strcmp(PQgetvalue(r, i, 3), "false") != 0};
  out->flags = f;
  out->n_flags = (size_t)n;
  PQclear(r);
  return PL_OK;
}

pl_err pg__sla_thread_events(store *s, int64_t thread_id, pl_arena *a, sla_events *out) {
  pg_params p = {.n = 0};
  pg__p_int(&p, thread_id);
  return read_events(s, q_buyer_t, q_seller_t, q_flag_t, &p, a, out);
}

pl_err pg__sla_range_events(store *s, const char *seller_id, const int64_t (*ranges)[2], size_t n,
                            pl_time until, pl_arena *a, sla_events *out) {
  if (n > 4) return PL_EINVAL;
  pg_params p = {.n = 0};
  pg__p_text(&p, seller_id);
  for (size_t i = 0; i < 4; i++) {
    pg__p_int(&p, i < n ? ranges[i][0] : 0);
    pg__p_int(&p, i < n ? ranges[i][1] : 0);
  }
  pg__p_int(&p, until);
  return read_events(s, q_buyer_r, q_seller_r, q_flag_r, &p, a, out);
}

pl_err pg__sla_outcomes_get(store *s, int64_t thread_id, pl_arena *a, sla_outcome **out, size_t *n,
                            sla_thread_outcome *t, bool *has_thread) {
  pg_params p = {.n = 0};
  pg__p_int(&p, thread_id);
  PGresult *r;
  pl_err e;
  if (store__pg_writing(s)) {
    /* The thread's seller, for its lock, before the outcomes are read. */
    if ((e = query(s, "SELECT seller_id FROM threads WHERE id = $1", &p, &r))) return e;
    char *seller = PQntuples(r) ? pg__text(a, r, 0, 0) : NULL;
    PQclear(r);
    if (seller && (e = lock_seller(s, seller))) return e;
  }
  if ((e = query(s, ST_SQL_SLA_OUTCOMES_GET, &p, &r)))
    return e;
  int k = PQntuples(r);
  sla_outcome *arr = pl_arena_alloc(a, rows_or_one(r) * sizeof *arr);
  for (int i = 0; i < k; i++)
    arr[i] = (sla_outcome){.msg_id = pg__num(r, i, 0), .thread_id = pg__num(r, i, 1), .received_at = pg__num(r, i, 2),
                           .flagged = yes(r, i, 3), .answered = yes(r, i, 4), .answered_at = pg__num(r, i, 5),
                           .response_s = pg__num(r, i, 6), .agent_id = pg__num(r, i, 7), .reply_seq = pg__num(r, i, 8)};
  PQclear(r);
  *out = arr;
  *n = (size_t)k;
  if ((e = query(s, ST_SQL_SLA_THREAD_OUTCOME_GET, &p, &r)))
    return e;
  *has_thread = PQntuples(r) > 0;
  if (*has_thread)
    *t = (sla_thread_outcome){.thread_id = thread_id, .first_received_at = pg__num(r, 0, 0),
                              .counted = yes(r, 0, 1), .resolved = yes(r, 0, 2), .exchanges = pg__num(r, 0, 3),
                              .unflagged = pg__num(r, 0, 4), .open = pg__num(r, 0, 5)};
  PQclear(r);
  return PL_OK;
}

pl_err pg__sla_outcomes_put(store *s, const char *seller_id, int64_t thread_id, const sla_outcome *o,
                            size_t n, const sla_thread_outcome *t) {
  pl_err e = lock_seller(s, seller_id);
  pg_params p = {.n = 0};
  pg__p_int(&p, thread_id);
  if (!e) e = run(s, ST_SQL_SLA_OUTCOMES_PUT, &p);
  for (size_t i = 0; !e && i < n; i++) {
    pg_params q = {.n = 0};
    pg__p_int(&q, o[i].msg_id);
    pg__p_text(&q, seller_id);
    pg__p_int(&q, thread_id);
    pg__p_int(&q, o[i].received_at);
    pg__p_text(&q, o[i].flagged ? "true" : "false");
    pg__p_text(&q, o[i].answered ? "true" : "false");
    pg__p_int(&q, o[i].answered_at);
    pg__p_int(&q, o[i].response_s);
    pg__p_int(&q, o[i].agent_id);
    pg__p_int(&q, o[i].reply_seq);
    e = run(s, ST_SQL_SLA_OUTCOME_INSERT, &q);
  }
  if (!e) e = run(s, ST_SQL_SLA_THREAD_OUTCOME_DELETE, &p);
  if (e || !t) return e;
  return store_sla_thread_outcome_set(s, seller_id, t);
}

/* ---- one event at a time ---------------------------------------------------------- */

pl_err pg__sla_thread_outcome_get(store *s, const char *seller_id, int64_t thread_id,
                                  sla_thread_outcome *out) {
  /* The writer's turn on the seller's clock data before anything of it is read. */
  pl_err e = lock_seller(s, seller_id);
  if (e) return e;
  pg_params p = {.n = 0};
  pg__p_int(&p, thread_id);
  PGresult *r;
  if ((e = query(s, ST_SQL_SLA_THREAD_OUTCOME_GET, &p, &r)))
    return e;
  if (!PQntuples(r)) e = PL_ENOTFOUND;
  else
    *out = (sla_thread_outcome){.thread_id = thread_id, .first_received_at = pg__num(r, 0, 0),
                                .counted = yes(r, 0, 1), .resolved = yes(r, 0, 2), .exchanges = pg__num(r, 0, 3),
                                .unflagged = pg__num(r, 0, 4), .open = pg__num(r, 0, 5)};
  PQclear(r);
  return e;
}

static int hexval(char c) {
  return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c - 'A' + 10;
}

/* rt travels as bytea in hex form: the int64 array as SQLite's blob holds it. */
static void read_bucket(pl_arena *a, const PGresult *r, int i, sla_bucket *b) {
  sla_bucket_key k = {pg__num(r, i, 0), pg__num(r, i, 1)};
  sla_bucket_init(b, k);
  b->received = pg__num(r, i, 2);
  b->flagged = pg__num(r, i, 3);
  b->open = pg__num(r, i, 4);
  b->rt_sum = pg__num(r, i, 5);
  const char *hex = PQgetisnull(r, i, 6) ? "" : PQgetvalue(r, i, 6);
  if (hex[0] == '\\' && hex[1] == 'x') hex += 2;
  size_t bytes = strlen(hex) / 2;
  b->n_rt = bytes / sizeof(int64_t);
  unsigned char *raw = pl_arena_alloc(a, bytes ? bytes : sizeof(int64_t));
  for (size_t j = 0; j < bytes; j++) raw[j] = (unsigned char)(hexval(hex[2 * j]) << 4 | hexval(hex[2 * j + 1]));
  b->rt = (int64_t *)(void *)raw;
  b->cap_rt = 0; /* borrowed: sla_bucket_add() copies before editing */
  b->threads = pg__num(r, i, 7);
  b->resolved_one = pg__num(r, i, 8);
  b->resolved_two = pg__num(r, i, 9);
}

pl_err pg__sla_bucket_get(store *s, const char *seller_id, sla_bucket_key k, pl_arena *a,
                          sla_bucket *out) {
  pl_err e = lock_seller(s, seller_id);
  if (e) return e;
  pg_params p = {.n = 0};
  pg__p_text(&p, seller_id);
  pg__p_int(&p, k.hour);
  pg__p_int(&p, k.agent_id);
  PGresult *r;
  if ((e = query(s, ST_SQL_SLA_BUCKET_GET, &p, &r)))
    return e;
  if (PQntuples(r) == 0) {
    e = PL_ENOTFOUND;
  } else {
    /* rt stays in the arena, as store.h says and SQLite does: sla_bucket_add() and
     * _remove() copy a borrowed array before editing it. */
    read_bucket(a, r, 0, out);
  }
  PQclear(r);
  return e;
}

pl_err pg__sla_bucket_put(store *s, const char *seller_id, const sla_bucket *b) {
  pl_err e = lock_seller(s, seller_id);
  if (e) return e;
  pg_params p = {.n = 0};
  pg__p_text(&p, seller_id);
  pg__p_int(&p, b->hour);
  pg__p_int(&p, b->agent_id);
  if (sla_bucket_is_empty(b))
    return run(s, ST_SQL_SLA_BUCKET_PUT, &p);
  pg__p_int(&p, b->received);
  pg__p_int(&p, b->flagged);
  pg__p_int(&p, b->open);
  pg__p_int(&p, b->rt_sum);
  size_t bytes = b->n_rt * sizeof(int64_t);
  char *hex = pl_xmalloc(2 * bytes + 3);
  static const char digits[] = "0123456789abcdef";
  const unsigned char *raw = (const unsigned char *)b->rt;
  hex[0] = '\\';
  hex[1] = 'x';
  for (size_t j = 0; j < bytes; j++) {
    hex[2 + 2 * j] = digits[raw[j] >> 4];
    hex[3 + 2 * j] = digits[raw[j] & 15];
  }
  hex[2 + 2 * bytes] = '\0';
  pg__p_text(&p, hex);
  pg__p_int(&p, b->threads);
  pg__p_int(&p, b->resolved_one);
  pg__p_int(&p, b->resolved_two);
  e = run(s, "INSERT INTO sla_buckets(seller_id, " ST_SLA_BUCKET_COLS ")"
             " VALUES ($1, $2, $3, $4, $5, $6, $7, $8::bytea, $9, $10, $11)"
             " ON CONFLICT (seller_id, hour, agent_id) DO UPDATE SET received = excluded.received,"
             " flagged = excluded.flagged, open = excluded.open, rt_sum = excluded.rt_sum,"
             " rt = excluded.rt, threads = excluded.threads, resolved_one = excluded.resolved_one,"
             " resolved_two = excluded.resolved_two", &p);
  free(hex);
  return e;
}

pl_err pg__sla_bucket_range(store *s, const char *seller_id, int64_t lo, int64_t hi, pl_arena *a,
                            sla_bucket **out, size_t *n) {
  pg_params p = {.n = 0};
  pg__p_text(&p, seller_id);
  pg__p_int(&p, lo);
  pg__p_int(&p, hi);
  PGresult *r;
  pl_err e = query(s, ST_SQL_SLA_BUCKET_RANGE, &p, &r);
  if (e) return e;
  int k = PQntuples(r);
  sla_bucket *arr = pl_arena_alloc(a, rows_or_one(r) * sizeof *arr);
  for (int i = 0; i < k; i++) read_bucket(a, r, i, &arr[i]);
  PQclear(r);
  *out = arr;
  *n = (size_t)k;
  return PL_OK;
}

