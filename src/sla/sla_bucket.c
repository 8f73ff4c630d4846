/* sla_bucket.c - hourly buckets: incremental outcome deltas and the bucketed query. */
#include "sla/sla_int.h"

#include <stdlib.h>
#include <string.h>

sla_bucket_key sla_bucket_key_of(const sla_outcome *o) {
  /* Only an answered unflagged message is attributed to an agent; everything else
   * is seller-level and lives in agent 0's row. */
  bool by_agent = !o->flagged && o->answered;
  return (sla_bucket_key){sla_hour_of(o->received_at), by_agent ? o->agent_id : 0};
}

sla_bucket_key sla_bucket_key_of_thread(const sla_thread_outcome *t) {
  return (sla_bucket_key){sla_hour_of(t->first_received_at), 0};
}

void sla_bucket_init(sla_bucket *b, sla_bucket_key k) {
  memset(b, 0, sizeof *b);
  b->hour = k.hour;
  b->agent_id = k.agent_id;
}

void sla_bucket_release(sla_bucket *b) {
  if (b->cap_rt) free(b->rt);
  b->rt = NULL;
  b->n_rt = b->cap_rt = 0;
}

void sla_bucket_rt_set(sla_bucket *b, const int64_t *rt, size_t n) {
  sla_bucket_release(b);
  if (!n) return;
  b->rt = pl_xmalloc(n * sizeof *b->rt);
  memcpy(b->rt, rt, n * sizeof *b->rt);
  b->n_rt = b->cap_rt = n;
}

bool sla_bucket_is_empty(const sla_bucket *b) {
  return !b->received && !b->flagged && !b->open && !b->n_rt && !b->threads &&
         !b->resolved_one && !b->resolved_two;
}

static bool key_matches(const sla_bucket *b, sla_bucket_key k) {
  return b->hour == k.hour && b->agent_id == k.agent_id;
}

pl_err sla_bucket_add(sla_bucket *b, const sla_outcome *o) {
  if (!key_matches(b, sla_bucket_key_of(o))) return PL_EINVAL;
  b->received++;
  if (o->flagged) {
    b->flagged++;
    return PL_OK;
  }
  if (!o->answered) {
    b->open++;
    return PL_OK;
  }
  /* A bucket whose rt points at borrowed memory (cap_rt 0) gets its own copy first, and
   * a full one grows. */
  if (b->cap_rt == 0 || b->n_rt == b->cap_rt) {
    size_t cap = b->cap_rt ? 2 * b->cap_rt : 8;
    if (cap < b->n_rt + 1) cap = b->n_rt + 1;
    int64_t *v = pl_xmalloc(cap * sizeof *v);
    if (b->n_rt) memcpy(v, b->rt, b->n_rt * sizeof *v);
    if (b->cap_rt) free(b->rt);
    b->rt = v;
    b->cap_rt = cap;
  }
  size_t pos = sla__upper_bound(b->rt, b->n_rt, o->response_s);
  memmove(b->rt + pos + 1, b->rt + pos, (b->n_rt - pos) * sizeof *b->rt);
  b->rt[pos] = o->response_s;
  b->n_rt++;
  b->rt_sum += o->response_s;
  return PL_OK;
}

pl_err sla_bucket_remove(sla_bucket *b, const sla_outcome *o) {
  if (!key_matches(b, sla_bucket_key_of(o)) || b->received <= 0) return PL_ECONFLICT;
  if (o->flagged) {
    if (b->flagged <= 0) return PL_ECONFLICT;
    b->flagged--;
  } else if (!o->answered) {
    if (b->open <= 0) return PL_ECONFLICT;
    b->open--;
  } else {
    size_t pos = sla__upper_bound(b->rt, b->n_rt, o->response_s);
    if (pos == 0 || b->rt[pos - 1] != o->response_s) return PL_ECONFLICT;
    if (!b->cap_rt) sla_bucket_rt_set(b, b->rt, b->n_rt); /* own it before editing */
    pos--;
    memmove(b->rt + pos, b->rt + pos + 1, (b->n_rt - pos - 1) * sizeof *b->rt);
    b->n_rt--;
    b->rt_sum -= o->response_s;
  }
  b->received--;
  return PL_OK;
}

static pl_err thread_delta(sla_bucket *b, const sla_thread_outcome *t, int sign) {
  if (!t->counted) return PL_OK;
  if (!key_matches(b, sla_bucket_key_of_thread(t))) return PL_EINVAL;
  bool one = t->resolved && t->exchanges == 1, two = t->resolved && t->exchanges == 2;
  if (sign < 0 && (b->threads <= 0 || (one && b->resolved_one <= 0) ||
                   (two && b->resolved_two <= 0)))
    return PL_ECONFLICT;
  b->threads += sign;
  b->resolved_one += sign * one;
  b->resolved_two += sign * two;
  return PL_OK;
}

pl_err sla_bucket_add_thread(sla_bucket *b, const sla_thread_outcome *t) {
  return thread_delta(b, t, +1);
}

pl_err sla_bucket_remove_thread(sla_bucket *b, const sla_thread_outcome *t) {
  return thread_delta(b, t, -1);
}

/* ---- rebuild ---------------------------------------------------------------------- */

typedef struct {
  sla_bucket_key k;
  size_t idx; /* into the outcome array; SIZE_MAX for a thread */
  bool thread;
} keyed;

static int cmp_keyed(const void *pa, const void *pb) {
  const keyed *a = pa, *b = pb;
  if (a->k.hour != b->k.hour) return a->k.hour < b->k.hour ? -1 : 1;
  if (a->k.agent_id != b->k.agent_id) return a->k.agent_id < b->k.agent_id ? -1 : 1;
  return (a->idx > b->idx) - (a->idx < b->idx);
}

pl_err sla_buckets_build(const sla_events *ev, sla_bucket **out, size_t *n, pl_detail *d) {
  if (!ev || !out || !n) return pl_fail(d, PL_EINVAL, "missing argument");
  size_t cap = ev->n_buyer ? ev->n_buyer : 1;
  sla_outcome *outs = pl_xmalloc(cap * sizeof *outs);
  sla_thread_outcome *threads = pl_xmalloc(cap * sizeof *threads);
  size_t no = 0, nt = 0;
  sla__eval(ev, SLA_FOREVER, outs, NULL, &no, threads, &nt);

  keyed *ks = pl_xmalloc((no + nt + 1) * sizeof *ks);
  size_t nk = 0;
  for (size_t i = 0; i < no; i++) ks[nk++] = (keyed){sla_bucket_key_of(&outs[i]), i, false};
  for (size_t i = 0; i < nt; i++)
    if (threads[i].counted) ks[nk++] = (keyed){sla_bucket_key_of_thread(&threads[i]), i, true};
  qsort(ks, nk, sizeof *ks, cmp_keyed);

  sla_bucket *b = pl_xmalloc((nk ? nk : 1) * sizeof *b);
  size_t nbk = 0;
  for (size_t i = 0; i < nk; i++) {
    if (i == 0 || ks[i].k.hour != ks[i - 1].k.hour || ks[i].k.agent_id != ks[i - 1].k.agent_id)
      sla_bucket_init(&b[nbk++], ks[i].k);
    sla_bucket *cur = &b[nbk - 1];
    /* Adding in key order costs a memmove per answer; fine for a rebuild. */
    if (ks[i].thread) sla_bucket_add_thread(cur, &threads[ks[i].idx]);
    else sla_bucket_add(cur, &outs[ks[i].idx]);
  }
  free(ks);
  free(threads);
  free(outs);
  *out = b;
  *n = nbk;
  return PL_OK;
}

void sla_buckets_free(sla_bucket *b, size_t n) {
  if (!b) return;
  for (size_t i = 0; i < n; i++) sla_bucket_release(&b[i]);
  free(b);
}

/* ---- the query -------------------------------------------------------------------- */

static void add_edge(sla_plan *p, int64_t h) {
  for (size_t i = 0; i < p->n_edge; i++)
    if (p->edge[i] == h) return;
  p->edge[p->n_edge++] = h;
}

/* The hour holding the first second of a range that starts at `first`, when the
 * range does not start on the hour. */
static void edge_if_partial_start(sla_plan *p, int64_t first) {
  if (sla__floormod(first, SLA_HOUR) != 0) add_edge(p, sla_hour_of(first));
}

void sla_plan_query(const sla_config *cfg, int64_t at, int64_t window_s, sla_plan *p) {
  sla_config def;
  if (!cfg) {
    sla_config_default(&def);
    cfg = &def;
  }
  memset(p, 0, sizeof *p);
  int64_t w_lo = at - window_s + 1, f_lo = at - cfg->flag_window_s + 1;
  p->hour_lo = sla_hour_of(w_lo < f_lo ? w_lo : f_lo);
  p->hour_hi = sla_hour_of(at);
  /* Hours a boundary cuts through: the hour of `at` (unless `at` is its last second),
   * the first hours of the window and the flag window, and the hour where unanswered
   * messages turn from pending (t > at - deadline) to late. */
  edge_if_partial_start(p, at + 1);
  edge_if_partial_start(p, w_lo);
  edge_if_partial_start(p, f_lo);
  edge_if_partial_start(p, at - cfg->deadline_s + 1);
}

bool sla_plan_is_edge(const sla_plan *p, int64_t hour) {
  for (size_t i = 0; i < p->n_edge; i++)
    if (p->edge[i] == hour) return true;
  return false;
}

static bool keep_edge(const void *ctx, int64_t hour) { return sla_plan_is_edge(ctx, hour); }

/* A whole hour h lies in [lo, hi] (seconds). */
static bool hour_within(int64_t h, int64_t lo, int64_t hi) {
  return h * SLA_HOUR >= lo && h * SLA_HOUR + SLA_HOUR - 1 <= hi;
}

static void acc_bucket(sla__acc *a, const sla_bucket *b) {
  sla_metrics *m = a->m;
  const sla_config *cfg = a->cfg;
  if (hour_within(b->hour, a->f_lo, a->at)) {
    m->flag_window_received += b->received;
    m->flag_window_flagged += b->flagged;
  }
  if (!hour_within(b->hour, a->w_lo, a->at)) return;
  m->received += b->received;
  m->by_hour[sla__floormod(b->hour, 24)] += b->received;
  m->by_weekday[sla__floormod(sla__floordiv(b->hour, 24) + 3, 7)] += b->received;
  m->flagged += b->flagged;
  /* Not an edge hour: the deadline cut lies outside it, so its open messages are all
   * late or all pending. */
  if (hour_within(b->hour, INT64_MIN, a->at - cfg->deadline_s)) m->late += b->open;
  else m->pending += b->open;
  int64_t on_time = (int64_t)sla__upper_bound(b->rt, b->n_rt, cfg->deadline_s);
  m->on_time += on_time;
  m->late += (int64_t)b->n_rt - on_time;
  m->answered += (int64_t)b->n_rt;
  sla__acc_run(a, b->agent_id, b->rt, b->n_rt, b->rt_sum);
  m->threads += b->threads;
  m->resolved_one += b->resolved_one;
  m->resolved_two += b->resolved_two;
}

pl_err sla_from_buckets(const sla_config *cfg, int64_t at, int64_t window_s,
                        const sla_bucket *buckets, size_t n_buckets, const sla_events *edges,
                        const sla_open_msg *open, size_t n_open, pl_arena *arena,
                        sla_metrics *out, pl_detail *d) {
  sla_config def;
  if (!cfg) {
    sla_config_default(&def);
    cfg = &def;
  }
  if (window_s <= 0) return pl_fail(d, PL_EINVAL, "the window must be positive");
  if (!arena || !out || (n_buckets && !buckets) || (n_open && !open))
    return pl_fail(d, PL_EINVAL, "missing argument");
  sla_events none = {0};
  if (!edges) edges = &none;

  sla_plan plan;
  sla_plan_query(cfg, at, window_s, &plan);
  sla__acc acc;
  sla__acc_init(&acc, cfg, at, window_s, out);

  for (size_t i = 0; i < n_buckets; i++) {
    const sla_bucket *b = &buckets[i];
    if (b->hour < plan.hour_lo || b->hour > plan.hour_hi || sla_plan_is_edge(&plan, b->hour))
      continue;
    acc_bucket(&acc, b);
  }
  for (size_t i = 0; i < n_open; i++) {
    const sla_open_msg *o = &open[i];
    if (sla_plan_is_edge(&plan, sla_hour_of(o->received_at))) continue;
    if (sla__in_window(&acc, o->received_at))
      sla__acc_open(&acc, o->msg_id, o->thread_id, o->received_at, o->ref);
  }

  /* The edge hours, exactly, from their threads' raw events. */
  size_t cap = edges->n_buyer ? edges->n_buyer : 1;
  sla_outcome *outs = pl_xmalloc(cap * sizeof *outs);
  size_t *src = pl_xmalloc(cap * sizeof *src);
  sla_thread_outcome *threads = pl_xmalloc(cap * sizeof *threads);
  size_t no = 0, nt = 0;
  sla__eval(edges, at, outs, src, &no, threads, &nt);
  for (size_t i = 0; i < no; i++)
    if (sla_plan_is_edge(&plan, sla_hour_of(outs[i].received_at)))
      sla__acc_message(&acc, &outs[i], edges->buyer[src[i]].ref);
  for (size_t i = 0; i < nt; i++)
    if (sla_plan_is_edge(&plan, sla_hour_of(threads[i].first_received_at)))
      sla__acc_thread(&acc, &threads[i]);
  int64_t *store = NULL;
  sla__acc_outcome_runs(&acc, outs, no, keep_edge, &plan, &store);

  sla__acc_finish(&acc, arena);
  sla__acc_release(&acc);
  free(store);
  free(threads);
  free(src);
  free(outs);
  return PL_OK;
}
