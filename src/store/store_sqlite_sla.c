/* store_sqlite_sla.c - the 24-hour clock's events, outcomes and hourly buckets in SQLite. */
#include <stdlib.h>
#include <string.h>

#include "store/store_sqlite_int.h"

enum {
  S_BUYER_T = SQ_SLOT_SLA, S_SELLER_T, S_FLAG_T, S_BUYER_R, S_SELLER_R, S_FLAG_R, S_OUT_GET, S_TOUT_GET,
  S_OUT_DEL, S_OUT_PUT, S_TOUT_DEL, S_BUCKET_GET, S_BUCKET_PUT, S_BUCKET_DEL, S_BUCKET_RANGE, S__END
};
SQ_SLOTS_FIT(S__END, SQ_SLOT_AUDIT);

/* Threads of a seller with a buyer message in one of four ranges (lo, hi]. A union of
 * four index ranges: ORed ranges would make SQLite read the seller's whole history. */
#define RANGE_ONE(lo, hi)                                                               \
  "SELECT b.thread_id FROM messages b WHERE b.seller_id = ?1 AND b.at > " lo           \
  " AND b.at <= " hi " AND b.direction = 'buyer' AND b.kind <> 'auto_reply'"
#define RANGE_THREADS                                                                   \
  "(" RANGE_ONE("?2", "?3") " UNION " RANGE_ONE("?4", "?5") " UNION " RANGE_ONE("?6", "?7") \
  " UNION " RANGE_ONE("?8", "?9") ")"

static const char *const q_buyer_t = ST_SQL_SLA_BUYER_THREAD;
static const char *const q_seller_t = ST_SQL_SLA_SELLER_THREAD;
static const char *const q_flag_t = ST_SQL_SLA_FLAG_THREAD;
static const char *const q_buyer_r =
    "SELECT m.id, m.thread_id, m.at, m.ext_id FROM messages m WHERE m.direction = 'buyer'"
    " AND m.kind <> 'auto_reply' AND m.at <= ?10" ST_SLA_NOT_CANCELED " AND m.thread_id IN " RANGE_THREADS;
static const char *const q_seller_r =
    "SELECT " ST_SLA_SELLER_COLS " FROM messages m WHERE m.direction = 'seller' AND m.at <= ?10"
    " AND m.thread_id IN " RANGE_THREADS;
static const char *const q_flag_r =
    "SELECT message_id, at, id, value FROM message_events WHERE type = 'flag' AND at <= ?10"
    " AND message_id IN (SELECT id FROM messages WHERE thread_id IN " RANGE_THREADS ")";

/* Grows an arena array by doubling. */
static void *grow(pl_arena *a, void *arr, size_t n, size_t *cap, size_t size) {
  if (n < *cap) return arr;
  size_t nc = *cap ? *cap * 2 : 16;
  void *bigger = pl_arena_alloc(a, nc * size);
  if (n) memcpy(bigger, arr, n * size);
  *cap = nc;
  return bigger;
}

static void bind_ranges(sqlite3_stmt *st, const char *seller_id, const int64_t (*ranges)[2], size_t n,
                        pl_time until) {
  sq__bind_text(st, 1, seller_id);
  for (size_t i = 0; i < 4; i++) {
    sqlite3_bind_int64(st, 2 + 2 * (int)i, i < n ? ranges[i][0] : 0);
    sqlite3_bind_int64(st, 3 + 2 * (int)i, i < n ? ranges[i][1] : 0);
  }
  sqlite3_bind_int64(st, 10, until);
}

/* Reads the three queries into out. */
static pl_err read_events(sq_store *q, sqlite3_stmt *bq, sqlite3_stmt *sq, sqlite3_stmt *fq,
                          pl_arena *a, sla_events *out) {
  memset(out, 0, sizeof *out);
  sla_buyer_msg *b = NULL;
  sla_seller_msg *sm = NULL;
  sla_flag *f = NULL;
  size_t nb = 0, cb = 0, ns = 0, cs = 0, nf = 0, cf = 0;
  int rc;
  while ((rc = sqlite3_step(bq)) == SQLITE_ROW) {
    b = grow(a, b, nb, &cb, sizeof *b);
    b[nb++] = (sla_buyer_msg){.id = sqlite3_column_int64(bq, 0), .thread_id = sqlite3_column_int64(bq, 1),
                              .received_at = sqlite3_column_int64(bq, 2), .seq = sqlite3_column_int64(bq, 0),
                              .ref = sq__col_text(a, bq, 3)};
  }
  sqlite3_reset(bq);
  if (rc != SQLITE_DONE) return sq__step_error(bq, rc);
  while ((rc = sqlite3_step(sq)) == SQLITE_ROW) {
    sm = grow(a, sm, ns, &cs, sizeof *sm);
    sm[ns++] = (sla_seller_msg){.thread_id = sqlite3_column_int64(sq, 0), .agent_id = sqlite3_column_int64(sq, 1),
                                .sent_at = sqlite3_column_int64(sq, 2), .seq = sqlite3_column_int64(sq, 3),
                                .kind = store__sla_kind(sq__col_cstr(sq, 4)),
                                .delivered_at = sqlite3_column_type(sq, 5) == SQLITE_NULL
                                                    ? SLA_NEVER : sqlite3_column_int64(sq, 5)};
  }
  sqlite3_reset(sq);
  if (rc != SQLITE_DONE) return sq__step_error(sq, rc);
  while ((rc = sqlite3_step(fq)) == SQLITE_ROW) {
    f = grow(a, f, nf, &cf, sizeof *f);
    const char *v = (const char *)sqlite3_column_text(fq, 3);
    f[nf++] = (sla_flag){.msg_id = sqlite3_column_int64(fq, 0), .at = sqlite3_column_int64(fq, 1),
                         .seq = sqlite3_column_int64(fq, 2), .value = v && strcmp(v, "false")};
  }
  sqlite3_reset(fq);
  if (rc != SQLITE_DONE) return sq__step_error(fq, rc);
  (void)q;
  out->buyer = b;
  out->n_buyer = nb;
  out->seller = sm;
  out->n_seller = ns;
  out->flags = f;
  out->n_flags = nf;
  return PL_OK;
}

pl_err sq__sla_thread_events(store *s, int64_t thread_id, pl_arena *a, sla_events *out) {
  sq_store *q = SQ(s);
  sqlite3_stmt *bq = sq__stmt(q, S_BUYER_T, q_buyer_t), *sq = sq__stmt(q, S_SELLER_T, q_seller_t),
               *fq = sq__stmt(q, S_FLAG_T, q_flag_t);
  if (!bq || !sq || !fq) return PL_ESTORE;
  sqlite3_bind_int64(bq, 1, thread_id);
  sqlite3_bind_int64(sq, 1, thread_id);
  sqlite3_bind_int64(fq, 1, thread_id);
  return read_events(q, bq, sq, fq, a, out);
}

pl_err sq__sla_range_events(store *s, const char *seller_id, const int64_t (*ranges)[2], size_t n,
                            pl_time until, pl_arena *a, sla_events *out) {
  if (n > 4) return PL_EINVAL;
  sq_store *q = SQ(s);
  sqlite3_stmt *bq = sq__stmt(q, S_BUYER_R, q_buyer_r), *sq = sq__stmt(q, S_SELLER_R, q_seller_r),
               *fq = sq__stmt(q, S_FLAG_R, q_flag_r);
  if (!bq || !sq || !fq) return PL_ESTORE;
  bind_ranges(bq, seller_id, ranges, n, until);
  bind_ranges(sq, seller_id, ranges, n, until);
  bind_ranges(fq, seller_id, ranges, n, until);
  return read_events(q, bq, sq, fq, a, out);
}

pl_err sq__sla_outcomes_get(store *s, int64_t thread_id, pl_arena *a, sla_outcome **out, size_t *n,
                            sla_thread_outcome *t, bool *has_thread) {
  sq_store *q = SQ(s);
  sqlite3_stmt *st = sq__stmt(q, S_OUT_GET,
                              ST_SQL_SLA_OUTCOMES_GET);
  if (!st) return PL_ESTORE;
  sqlite3_bind_int64(st, 1, thread_id);
  sla_outcome *arr = NULL;
  size_t k = 0, cap = 0;
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    arr = grow(a, arr, k, &cap, sizeof *arr);
    arr[k++] = (sla_outcome){.msg_id = sqlite3_column_int64(st, 0), .thread_id = sqlite3_column_int64(st, 1),
                             .received_at = sqlite3_column_int64(st, 2), .flagged = sqlite3_column_int(st, 3),
                             .answered = sqlite3_column_int(st, 4), .answered_at = sqlite3_column_int64(st, 5),
                             .response_s = sqlite3_column_int64(st, 6), .agent_id = sqlite3_column_int64(st, 7),
                             .reply_seq = sqlite3_column_int64(st, 8)};
  }
  sqlite3_reset(st);
  if (rc != SQLITE_DONE) return sq__step_error(st, rc);
  *out = arr;
  *n = k;
  st = sq__stmt(q, S_TOUT_GET, ST_SQL_SLA_THREAD_OUTCOME_GET);
  if (!st) return PL_ESTORE;
  sqlite3_bind_int64(st, 1, thread_id);
  pl_err e = sq__one(q, st);
  *has_thread = e == PL_OK;
  if (e == PL_OK) {
    *t = (sla_thread_outcome){.thread_id = thread_id, .first_received_at = sqlite3_column_int64(st, 0),
                              .counted = sqlite3_column_int(st, 1), .resolved = sqlite3_column_int(st, 2),
                              .exchanges = sqlite3_column_int64(st, 3),
                              .unflagged = sqlite3_column_int64(st, 4), .open = sqlite3_column_int64(st, 5)};
    sqlite3_reset(st);
  } else if (e != PL_ENOTFOUND) {
    return e;
  }
  return PL_OK;
}

pl_err sq__sla_outcomes_put(store *s, const char *seller_id, int64_t thread_id, const sla_outcome *o,
                            size_t n, const sla_thread_outcome *t) {
  sq_store *q = SQ(s);
  sqlite3_stmt *st = sq__stmt(q, S_OUT_DEL, ST_SQL_SLA_OUTCOMES_PUT);
  if (!st) return PL_ESTORE;
  sqlite3_bind_int64(st, 1, thread_id);
  pl_err e = sq__run(q, st);
  for (size_t i = 0; !e && i < n; i++) {
    st = sq__stmt(q, S_OUT_PUT,
                  ST_SQL_SLA_OUTCOME_INSERT);
    if (!st) return PL_ESTORE;
    sqlite3_bind_int64(st, 1, o[i].msg_id);
    sq__bind_text(st, 2, seller_id);
    sqlite3_bind_int64(st, 3, thread_id);
    sqlite3_bind_int64(st, 4, o[i].received_at);
    sqlite3_bind_int(st, 5, o[i].flagged);
    sqlite3_bind_int(st, 6, o[i].answered);
    sqlite3_bind_int64(st, 7, o[i].answered_at);
    sqlite3_bind_int64(st, 8, o[i].response_s);
    sqlite3_bind_int64(st, 9, o[i].agent_id);
    sqlite3_bind_int64(st, 10, o[i].reply_seq);
    e = sq__run(q, st);
  }
  if (e) return e;
  st = sq__stmt(q, S_TOUT_DEL, ST_SQL_SLA_THREAD_OUTCOME_DELETE);
  if (!st) return PL_ESTORE;
  sqlite3_bind_int64(st, 1, thread_id);
  if ((e = sq__run(q, st)) || !t) return e;
  return store_sla_thread_outcome_set(s, seller_id, t);
}

/* ---- one event at a time ---------------------------------------------------------- */

enum {
  S2_TOUT_GET = SQ_SLOT_SLA2,
  S2_TAIL_FROM, S2_TAIL_LIST, S2_TAIL_ALL, S2_TAIL_BUYER, S2__END /* store_sqlite.c (SQ_SLOT_TAIL) */
};
_Static_assert(S2_TAIL_FROM == SQ_SLOT_TAIL, "the thread tail's slots (store_sqlite.c)");
SQ_SLOTS_FIT(S2__END, SQ_SLOT_LIMITS);

pl_err sq__sla_thread_outcome_get(store *s, const char *seller_id, int64_t thread_id,
                                  sla_thread_outcome *out) {
  (void)seller_id; /* SQLite has one writer: no lock to take */
  sq_store *q = SQ(s);
  sqlite3_stmt *st = sq__stmt(q, S2_TOUT_GET, ST_SQL_SLA_THREAD_OUTCOME_GET);
  if (!st) return PL_ESTORE;
  sqlite3_bind_int64(st, 1, thread_id);
  pl_err e = sq__one(q, st);
  if (e) return e;
  *out = (sla_thread_outcome){.thread_id = thread_id, .first_received_at = sqlite3_column_int64(st, 0),
                              .counted = sqlite3_column_int(st, 1), .resolved = sqlite3_column_int(st, 2),
                              .exchanges = sqlite3_column_int64(st, 3),
                              .unflagged = sqlite3_column_int64(st, 4), .open = sqlite3_column_int64(st, 5)};
  sqlite3_reset(st);
  return PL_OK;
}

/* Two index ranges of sla_outcomes_answer: the open messages, and those answered at or
 * after the reply's second; both only before the reply. */

static void read_bucket(pl_arena *a, sqlite3_stmt *st, sla_bucket *b) {
  sla_bucket_key k = {sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1)};
  sla_bucket_init(b, k);
  b->received = sqlite3_column_int64(st, 2);
  b->flagged = sqlite3_column_int64(st, 3);
  b->open = sqlite3_column_int64(st, 4);
  b->rt_sum = sqlite3_column_int64(st, 5);
  size_t bytes = (size_t)sqlite3_column_bytes(st, 6);
  b->n_rt = bytes / sizeof(int64_t);
  b->rt = pl_arena_alloc(a, bytes ? bytes : sizeof(int64_t));
  if (bytes) memcpy(b->rt, sqlite3_column_blob(st, 6), b->n_rt * sizeof(int64_t));
  b->cap_rt = 0; /* borrowed: sla_bucket_add() copies before editing */
  b->threads = sqlite3_column_int64(st, 7);
  b->resolved_one = sqlite3_column_int64(st, 8);
  b->resolved_two = sqlite3_column_int64(st, 9);
}

pl_err sq__sla_bucket_get(store *s, const char *seller_id, sla_bucket_key k, pl_arena *a,
                          sla_bucket *out) {
  sq_store *q = SQ(s);
  sqlite3_stmt *st = sq__stmt(q, S_BUCKET_GET, ST_SQL_SLA_BUCKET_GET);
  if (!st) return PL_ESTORE;
  sq__bind_text(st, 1, seller_id);
  sqlite3_bind_int64(st, 2, k.hour);
  sqlite3_bind_int64(st, 3, k.agent_id);
  pl_err e = sq__one(q, st);
  if (e) return e;
  read_bucket(a, st, out);
  sqlite3_reset(st);
  return PL_OK;
}

pl_err sq__sla_bucket_put(store *s, const char *seller_id, const sla_bucket *b) {
  sq_store *q = SQ(s);
  sqlite3_stmt *st;
  if (sla_bucket_is_empty(b)) {
    st = sq__stmt(q, S_BUCKET_DEL, ST_SQL_SLA_BUCKET_PUT);
    if (!st) return PL_ESTORE;
    sq__bind_text(st, 1, seller_id);
    sqlite3_bind_int64(st, 2, b->hour);
    sqlite3_bind_int64(st, 3, b->agent_id);
    return sq__run(q, st);
  }
  st = sq__stmt(q, S_BUCKET_PUT,
                "INSERT INTO sla_buckets(seller_id, " ST_SLA_BUCKET_COLS ")"
                " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
                " ON CONFLICT(seller_id, hour, agent_id) DO UPDATE SET received = excluded.received,"
                " flagged = excluded.flagged, open = excluded.open, rt_sum = excluded.rt_sum,"
                " rt = excluded.rt, threads = excluded.threads, resolved_one = excluded.resolved_one,"
                " resolved_two = excluded.resolved_two");
  if (!st) return PL_ESTORE;
  sq__bind_text(st, 1, seller_id);
  sqlite3_bind_int64(st, 2, b->hour);
  sqlite3_bind_int64(st, 3, b->agent_id);
  sqlite3_bind_int64(st, 4, b->received);
  sqlite3_bind_int64(st, 5, b->flagged);
  sqlite3_bind_int64(st, 6, b->open);
  sqlite3_bind_int64(st, 7, b->rt_sum);
  sqlite3_bind_blob(st, 8, b->rt ? (const void *)b->rt : (const void *)"", (int)(b->n_rt * sizeof(int64_t)),
                    SQLITE_TRANSIENT);
  sqlite3_bind_int64(st, 9, b->threads);
  sqlite3_bind_int64(st, 10, b->resolved_one);
  sqlite3_bind_int64(st, 11, b->resolved_two);
  return sq__run(q, st);
}

pl_err sq__sla_bucket_range(store *s, const char *seller_id, int64_t lo, int64_t hi, pl_arena *a,
                            sla_bucket **out, size_t *n) {
  sq_store *q = SQ(s);
  sqlite3_stmt *st = sq__stmt(q, S_BUCKET_RANGE, ST_SQL_SLA_BUCKET_RANGE);
  if (!st) return PL_ESTORE;
  sq__bind_text(st, 1, seller_id);
  sqlite3_bind_int64(st, 2, lo);
  sqlite3_bind_int64(st, 3, hi);
  sla_bucket *arr = NULL;
  size_t k = 0, cap = 0;
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    arr = grow(a, arr, k, &cap, sizeof *arr);
    read_bucket(a, st, &arr[k++]);
  }
  sqlite3_reset(st);
  if (rc != SQLITE_DONE) return sq__step_error(st, rc);
  *out = arr;
  *n = k;
  return PL_OK;
}

