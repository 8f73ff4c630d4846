/* sla.c - the 24-hour clock: outcome evaluation, full recomputation, aggregation. */
#include "sla/sla_int.h"

#include <stdlib.h>
#include <string.h>

void sla_config_default(sla_config *c) {
  c->deadline_s = SLA_DAY;
  c->alert_s = 4 * SLA_HOUR;
  c->good_min = 90.0;
  c->warning_min = 80.0;
  c->flag_window_s = 30 * SLA_DAY;
  c->over_flag_rate = 0.20;
  c->max_deadlines = 100;
}

const char *sla_status_name(sla_status s) {
  switch (s) {
  case SLA_GOOD: return "good";
  case SLA_WARNING: return "warning";
  case SLA_AT_RISK: return "at_risk";
  case SLA_NO_DATA: break;
  }
  return "no_data";
}

int64_t sla_due_at(const sla_config *cfg, int64_t received_at) {
  return received_at + (cfg ? cfg->deadline_s : SLA_DAY);
}

int64_t sla_alert_at(const sla_config *cfg, int64_t received_at) {
  /* Due soon means 0 < left < alert_s, left = due - at: the first such second is
   * due - alert_s + 1. */
  return sla_due_at(cfg, received_at) - (cfg ? cfg->alert_s : 4 * SLA_HOUR) + 1;
}

int64_t sla__floordiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) q--;
  return q;
}

int64_t sla__floormod(int64_t a, int64_t b) { return a - sla__floordiv(a, b) * b; }

int64_t sla_hour_of(int64_t t) { return sla__floordiv(t, SLA_HOUR); }

sla_state sla_state_at(const sla_config *cfg, const sla_outcome *o, int64_t at) {
  sla_config def;
  if (!cfg) {
    sla_config_default(&def);
    cfg = &def;
  }
  if (o->flagged) return SLA_FLAGGED;
  if (o->answered) return o->response_s <= cfg->deadline_s ? SLA_ON_TIME : SLA_LATE;
  /* Unanswered: late once the full deadline has elapsed (t + 24h <= at). Written as a
   * subtraction so that at = SLA_FOREVER cannot overflow. */
  return o->received_at <= at - cfg->deadline_s ? SLA_LATE : SLA_PENDING;
}

/* ---- evaluation engine ----------------------------------------------------------- */

typedef struct {
  int64_t thread, t, seq;
  size_t idx;
} ev_key;

static int cmp_i64(int64_t a, int64_t b) { return (a > b) - (a < b); }

static int cmp_ev_key(const void *pa, const void *pb) {
  const ev_key *a = pa, *b = pb;
  int c = cmp_i64(a->thread, b->thread);
  if (!c) c = cmp_i64(a->t, b->t);
  if (!c) c = cmp_i64(a->seq, b->seq);
  if (!c) c = (a->idx > b->idx) - (a->idx < b->idx);
  return c;
}

typedef struct {
  int64_t msg, at, seq;
  bool value;
} flag_key;

static int cmp_flag_key(const void *pa, const void *pb) {
  const flag_key *a = pa, *b = pb;
  int c = cmp_i64(a->msg, b->msg);
  if (!c) c = cmp_i64(a->at, b->at);
  if (!c) c = cmp_i64(a->seq, b->seq);
  return c;
}

/* The flag state of msg: the value of its latest flag event (keys sorted, all at or
 * before `at`). */
static bool flag_state(const flag_key *fk, size_t n, int64_t msg) {
  size_t lo = 0, hi = n; /* first index with fk.msg > msg */
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (fk[mid].msg <= msg) lo = mid + 1;
    else hi = mid;
  }
  return lo > 0 && fk[lo - 1].msg == msg && fk[lo - 1].value;
}

/* A seller message counts as a reply to a buyer message only when it comes after it
 * in thread order: a later second, or the same second with a larger seq. */
static bool is_after(const ev_key *s, const ev_key *b) {
  return s->t > b->t || (s->t == b->t && s->seq > b->seq);
}

void sla__eval(const sla_events *ev, int64_t at, sla_outcome *outs, size_t *src,
               size_t *n_outs, sla_thread_outcome *threads, size_t *n_threads) {
  ev_key *bk = pl_xmalloc((ev->n_buyer ? ev->n_buyer : 1) * sizeof *bk);
  ev_key *sk = pl_xmalloc((ev->n_seller ? ev->n_seller : 1) * sizeof *sk);
  flag_key *fk = pl_xmalloc((ev->n_flags ? ev->n_flags : 1) * sizeof *fk);
  size_t nb = 0, ns = 0, nf = 0;

  for (size_t i = 0; i < ev->n_buyer; i++) {
    const sla_buyer_msg *b = &ev->buyer[i];
    if (b->received_at > at) continue; /* had not happened by `at` */
    bk[nb++] = (ev_key){b->thread_id, b->received_at, b->seq, i};
  }
  for (size_t i = 0; i < ev->n_seller; i++) {
    const sla_seller_msg *s = &ev->seller[i];
    /* Only substantive replies delivered by `at` can answer; the answer time is the
     * sent time, so a reply held for review and approved later is not penalised for
     * the review's delay, but counts only from its delivery on. */
    if (s->kind != SLA_SUBSTANTIVE || s->delivered_at == SLA_NEVER || s->sent_at > at ||
        s->delivered_at > at)
      continue; /* SLA_NEVER is tested apart: at may be SLA_FOREVER, the same value */
    sk[ns++] = (ev_key){s->thread_id, s->sent_at, s->seq, i};
  }
  for (size_t i = 0; i < ev->n_flags; i++) {
    const sla_flag *f = &ev->flags[i];
    if (f->at > at) continue;
    fk[nf++] = (flag_key){f->msg_id, f->at, f->seq, f->value};
  }
  qsort(bk, nb, sizeof *bk, cmp_ev_key);
  qsort(sk, ns, sizeof *sk, cmp_ev_key);
  qsort(fk, nf, sizeof *fk, cmp_flag_key);

  size_t no = 0, nt = 0, j = 0;
  for (size_t i = 0; i < nb;) {
    int64_t thread = bk[i].thread;
    while (j < ns && sk[j].thread < thread) j++;
    sla_thread_outcome *to = &threads[nt++];
    *to = (sla_thread_outcome){.thread_id = thread, .first_received_at = bk[i].t,
                               .resolved = true};
    size_t last_reply = SIZE_MAX;
    for (; i < nb && bk[i].thread == thread; i++) {
      const sla_buyer_msg *b = &ev->buyer[bk[i].idx];
      /* Buyer messages are in thread order, so the first reply after each one only
       * moves forward: one pass over the thread. */
      while (j < ns && sk[j].thread == thread && !is_after(&sk[j], &bk[i])) j++;
      if (src) src[no] = bk[i].idx;
      sla_outcome *o = &outs[no++];
      *o = (sla_outcome){.msg_id = b->id, .thread_id = thread, .received_at = b->received_at};
      o->flagged = flag_state(fk, nf, b->id);
      if (j < ns && sk[j].thread == thread) {
        const sla_seller_msg *s = &ev->seller[sk[j].idx];
        o->answered = true;
        o->answered_at = s->sent_at;
        o->response_s = s->sent_at - b->received_at;
        o->agent_id = s->agent_id;
        o->reply_seq = s->seq;
      }
      if (o->flagged) continue;
      to->counted = true;
      to->unflagged++;
      if (!o->answered) {
        to->resolved = false;
        to->open++;
      } else if (j != last_reply) {
        to->exchanges++;
        last_reply = j;
      }
    }
    if (!to->counted) to->resolved = false;
  }
  *n_outs = no;
  *n_threads = nt;
  free(bk);
  free(sk);
  free(fk);
}

bool sla_outcome_equal(const sla_outcome *a, const sla_outcome *b) {
  return a->msg_id == b->msg_id && a->thread_id == b->thread_id &&
         a->received_at == b->received_at && a->flagged == b->flagged &&
         a->answered == b->answered && a->answered_at == b->answered_at &&
         a->response_s == b->response_s && a->agent_id == b->agent_id &&
         a->reply_seq == b->reply_seq;
}

bool sla_thread_outcome_equal(const sla_thread_outcome *a, const sla_thread_outcome *b) {
  return a->thread_id == b->thread_id && a->first_received_at == b->first_received_at &&
         a->counted == b->counted && a->resolved == b->resolved &&
         a->exchanges == b->exchanges && a->unflagged == b->unflagged && a->open == b->open;
}

pl_err sla_thread_eval(const sla_events *thread, int64_t at, pl_arena *arena,
                       sla_outcome **outs, size_t *n, sla_thread_outcome *t, pl_detail *d) {
  if (!thread || !arena || !outs || !n || !t) return pl_fail(d, PL_EINVAL, "missing argument");
  int64_t tid = 0;
  bool have = false;
  for (size_t i = 0; i < thread->n_buyer; i++) {
    if (have && thread->buyer[i].thread_id != tid)
      return pl_fail(d, PL_EINVAL, "events of more than one thread");
    tid = thread->buyer[i].thread_id;
    have = true;
  }
  for (size_t i = 0; i < thread->n_seller; i++) {
    if (have && thread->seller[i].thread_id != tid)
      return pl_fail(d, PL_EINVAL, "events of more than one thread");
    tid = thread->seller[i].thread_id;
    have = true;
  }
  size_t cap = thread->n_buyer ? thread->n_buyer : 1;
  sla_outcome *o = pl_arena_alloc(arena, cap * sizeof *o);
  sla_thread_outcome *to = pl_xmalloc(cap * sizeof *to);
  size_t no = 0, nt = 0;
  sla__eval(thread, at, o, NULL, &no, to, &nt);
  if (nt) *t = to[0];
  else *t = (sla_thread_outcome){.thread_id = tid};
  free(to);
  *outs = o;
  *n = no;
  return PL_OK;
}

pl_err sla_outcome_of(const sla_events *thread, int64_t msg_id, int64_t at, sla_outcome *out,
                      pl_detail *d) {
  pl_arena *a = pl_arena_new();
  sla_outcome *outs = NULL;
  size_t n = 0;
  sla_thread_outcome t;
  pl_err e = sla_thread_eval(thread, at, a, &outs, &n, &t, d);
  if (e != PL_OK) goto out;
  e = pl_fail(d, PL_ENOTFOUND, "buyer message %lld not received by then", (long long)msg_id);
  for (size_t i = 0; i < n; i++) {
    if (outs[i].msg_id == msg_id) {
      *out = outs[i];
      e = PL_OK;
      break;
    }
  }
out:
  pl_arena_free(a);
  return e;
}

/* ---- accumulation ---------------------------------------------------------------- */

void sla__acc_init(sla__acc *a, const sla_config *cfg, int64_t at, int64_t window_s,
                   sla_metrics *m) {
  memset(a, 0, sizeof *a);
  memset(m, 0, sizeof *m);
  a->cfg = cfg;
  a->at = at;
  a->window_s = window_s;
  a->w_lo = at - window_s + 1;
  a->f_lo = at - cfg->flag_window_s + 1;
  a->m = m;
  m->at = at;
  m->window_s = window_s;
  m->flag_window_s = cfg->flag_window_s;
}

void sla__acc_release(sla__acc *a) {
  free(a->runs);
  free(a->dl);
  a->runs = NULL;
  a->dl = NULL;
}

bool sla__in_window(const sla__acc *a, int64_t t) { return t >= a->w_lo && t <= a->at; }
bool sla__in_flag_window(const sla__acc *a, int64_t t) { return t >= a->f_lo && t <= a->at; }

void sla__acc_open(sla__acc *a, int64_t msg_id, int64_t thread_id, int64_t t, const char *ref) {
  if (a->n_dl == a->cap_dl) {
    a->cap_dl = a->cap_dl ? 2 * a->cap_dl : 64;
    a->dl = pl_xrealloc(a->dl, a->cap_dl * sizeof *a->dl);
  }
  int64_t due = t + a->cfg->deadline_s;
  a->dl[a->n_dl++] = (sla_deadline){.msg_id = msg_id, .ref = ref, .thread_id = thread_id,
                                    .received_at = t, .due_at = due, .left_s = due - a->at};
}

void sla__acc_message(sla__acc *a, const sla_outcome *o, const char *ref) {
  sla_metrics *m = a->m;
  int64_t t = o->received_at;
  if (sla__in_flag_window(a, t)) {
    m->flag_window_received++;
    m->flag_window_flagged += o->flagged;
  }
  if (!sla__in_window(a, t)) return;
  m->received++;
  m->by_hour[sla__floormod(t, SLA_DAY) / SLA_HOUR]++;
  m->by_weekday[sla__floormod(sla__floordiv(t, SLA_DAY) + 3, 7)]++; /* 1970-01-01: Thu */
  switch (sla_state_at(a->cfg, o, a->at)) {
  case SLA_ON_TIME: m->on_time++; break;
  case SLA_LATE: m->late++; break;
  case SLA_PENDING: m->pending++; break;
  case SLA_FLAGGED: m->flagged++; break;
  }
  if (o->flagged) return;
  if (o->answered) m->answered++;
  else sla__acc_open(a, o->msg_id, o->thread_id, t, ref);
}

void sla__acc_thread(sla__acc *a, const sla_thread_outcome *t) {
  if (!t->counted || !sla__in_window(a, t->first_received_at)) return;
  a->m->threads++;
  if (t->resolved && t->exchanges == 1) a->m->resolved_one++;
  if (t->resolved && t->exchanges == 2) a->m->resolved_two++;
}

void sla__acc_run(sla__acc *a, int64_t agent_id, const int64_t *v, size_t n, int64_t sum) {
  if (!n) return;
  if (a->n_runs == a->cap_runs) {
    a->cap_runs = a->cap_runs ? 2 * a->cap_runs : 64;
    a->runs = pl_xrealloc(a->runs, a->cap_runs * sizeof *a->runs);
  }
  a->runs[a->n_runs++] = (sla__run){agent_id, v, n, sum};
  a->rt_sum += sum;
}

typedef struct {
  int64_t agent, rt;
} agent_rt;

static int cmp_agent_rt(const void *pa, const void *pb) {
  const agent_rt *a = pa, *b = pb;
  int c = cmp_i64(a->agent, b->agent);
  return c ? c : cmp_i64(a->rt, b->rt);
}

void sla__acc_outcome_runs(sla__acc *a, const sla_outcome *outs, size_t n,
                           bool (*keep)(const void *ctx, int64_t hour), const void *ctx,
                           int64_t **store) {
  agent_rt *p = pl_xmalloc((n ? n : 1) * sizeof *p);
  size_t np = 0;
  for (size_t i = 0; i < n; i++) {
    const sla_outcome *o = &outs[i];
    if (o->flagged || !o->answered || !sla__in_window(a, o->received_at)) continue;
    if (keep && !keep(ctx, sla_hour_of(o->received_at))) continue;
    p[np++] = (agent_rt){o->agent_id, o->response_s};
  }
  qsort(p, np, sizeof *p, cmp_agent_rt);
  int64_t *v = pl_xmalloc((np ? np : 1) * sizeof *v);
  for (size_t i = 0; i < np; i++) v[i] = p[i].rt;
  for (size_t i = 0; i < np;) {
    size_t k = i;
    int64_t sum = 0;
    for (; k < np && p[k].agent == p[i].agent; k++) sum += p[k].rt;
    sla__acc_run(a, p[i].agent, v + i, k - i, sum);
    i = k;
  }
  free(p);
  *store = v;
}

size_t sla__upper_bound(const int64_t *v, size_t n, int64_t x) {
  size_t lo = 0, hi = n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (v[mid] <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/* The k-th smallest (0-based) of v[0..n), reordering v. A three-way partition keeps
 * it linear when many response times are equal. */
static int64_t select_kth(int64_t *v, size_t n, size_t k) {
  size_t lo = 0, hi = n; /* the answer is in v[lo..hi) */
  while (hi - lo > 1) {
    int64_t x = v[lo], y = v[lo + (hi - lo) / 2], z = v[hi - 1];
    int64_t pivot = x < y ? (y < z ? y : (x < z ? z : x)) : (x < z ? x : (y < z ? z : y));
    size_t lt = lo, i = lo, gt = hi; /* [lo,lt) < p, [lt,i) == p, [gt,hi) > p */
    while (i < gt) {
      int64_t e = v[i];
      if (e < pivot) {
        v[i++] = v[lt];
        v[lt++] = e;
      } else if (e > pivot) {
        v[i] = v[--gt];
        v[gt] = e;
      } else {
        i++;
      }
    }
    if (k < lt) hi = lt;
    else if (k >= gt) lo = gt;
    else return pivot;
  }
  return v[lo];
}

/* Count of values < x in a sorted array. */
static size_t lower_bound(const int64_t *v, size_t n, int64_t x) {
  size_t lo = 0, hi = n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (v[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/* The values at 0-based ranks[0..nk) (ascending, nk <= 3) among the n values of the
 * sorted runs r[0..nr). A radix select: one pass counts values into 4096 ranges of
 * equal width, a second collects only the ranges holding a wanted rank, which are
 * small; the runs themselves are never copied. */
#define RANK_BINS 4096
static void rank_values(const sla__run *r, size_t nr, const size_t *ranks, size_t nk,
                        int64_t *out) {
  int64_t lo = INT64_MAX, hi = INT64_MIN;
  for (size_t i = 0; i < nr; i++) {
    if (r[i].v[0] < lo) lo = r[i].v[0];
    if (r[i].v[r[i].n - 1] > hi) hi = r[i].v[r[i].n - 1];
  }
  uint64_t span = (uint64_t)hi - (uint64_t)lo;
  unsigned shift = 0;
  while ((span >> shift) >= RANK_BINS) shift++;
  size_t *hist = pl_xcalloc(RANK_BINS, sizeof *hist);
  for (size_t i = 0; i < nr; i++)
    for (size_t k = 0; k < r[i].n; k++) hist[((uint64_t)r[i].v[k] - (uint64_t)lo) >> shift]++;

  size_t bin[3], off[3], cum = 0, b = 0;
  for (size_t j = 0; j < nk; j++) {
    while (cum + hist[b] <= ranks[j]) cum += hist[b++];
    bin[j] = b;
    off[j] = ranks[j] - cum;
  }
  int64_t *got[3] = {NULL, NULL, NULL};
  size_t fill[3] = {0, 0, 0};
  for (size_t j = 0; j < nk; j++)
    if (j == 0 || bin[j] != bin[j - 1]) got[j] = pl_xmalloc(hist[bin[j]] * sizeof *got[j]);
  for (size_t i = 0; i < nr; i++) {
    /* Runs are sorted: only the slice inside the wanted ranges is read. */
    for (size_t j = 0; j < nk; j++) {
      if (!got[j]) continue;
      int64_t first = (int64_t)((uint64_t)lo + ((uint64_t)bin[j] << shift));
      size_t k = lower_bound(r[i].v, r[i].n, first);
      for (; k < r[i].n && (((uint64_t)r[i].v[k] - (uint64_t)lo) >> shift) == bin[j]; k++)
        got[j][fill[j]++] = r[i].v[k];
    }
  }
  for (size_t j = 0; j < nk; j++) {
    size_t owner = j;
    while (!got[owner]) owner--; /* same range as an earlier rank */
    out[j] = select_kth(got[owner], fill[owner], off[j]);
  }
  for (size_t j = 0; j < nk; j++) free(got[j]);
  free(hist);
}

/* Mean, median and nearest-rank p90 of the runs r[0..nr); all absent when empty.
 * Both paths end here, so their doubles are computed the same way bit for bit. */
static void figures(const sla__run *r, size_t nr, sla_optf *avg, sla_optf *median,
                    sla_opti *p90) {
  size_t n = 0;
  int64_t sum = 0;
  for (size_t i = 0; i < nr; i++) {
    n += r[i].n;
    sum += r[i].sum;
  }
  *avg = (sla_optf){0};
  *median = (sla_optf){0};
  *p90 = (sla_opti){0};
  if (!n) return;
  *avg = (sla_optf){true, (double)sum / (double)n};
  size_t p90_rank = (9 * n + 9) / 10 - 1; /* ceil(0.9 n)-th smallest, 0-based */
  int64_t v[3];
  if (n % 2) {
    size_t ranks[2] = {n / 2, p90_rank};
    rank_values(r, nr, ranks, 2, v);
    median->value = (double)v[0];
    p90->value = v[1];
  } else {
    size_t ranks[3] = {n / 2 - 1, n / 2, p90_rank};
    rank_values(r, nr, ranks, 3, v);
    median->value = ((double)v[0] + (double)v[1]) / 2.0;
    p90->value = v[2];
  }
  median->has_value = p90->has_value = true;
}

static int cmp_agent_id(const void *pa, const void *pb) {
  const sla_agent_metrics *a = pa, *b = pb;
  return cmp_i64(a->agent_id, b->agent_id);
}

static int cmp_deadline(const void *pa, const void *pb) {
  const sla_deadline *a = pa, *b = pb;
  int c = cmp_i64(a->received_at, b->received_at);
  return c ? c : cmp_i64(a->msg_id, b->msg_id);
}

static sla_optf ratio(double num, double den, double scale) {
  if (den <= 0) return (sla_optf){0};
  return (sla_optf){true, scale * num / den};
}

void sla__acc_finish(sla__acc *a, pl_arena *arena) {
  const sla_config *cfg = a->cfg;
  sla_metrics *m = a->m;

  /* 100 * on_time is formed first so that exact ratios (9 of 10) are exactly 90. */
  m->crt_percent = ratio((double)m->on_time, (double)(m->on_time + m->late), 100.0);
  m->good_min = cfg->good_min;
  m->warning_min = cfg->warning_min;
  if (!m->crt_percent.has_value) m->status = SLA_NO_DATA;
  else if (m->crt_percent.value >= cfg->good_min) m->status = SLA_GOOD;
  else if (m->crt_percent.value >= cfg->warning_min) m->status = SLA_WARNING;
  else m->status = SLA_AT_RISK;

  figures(a->runs, a->n_runs, &m->avg_s, &m->median_s, &m->p90_s);

  /* Group the runs by agent: a stable counting sort over the (few) agents. */
  size_t na = 0, cap_a = 16;
  int64_t *ids = pl_xmalloc(cap_a * sizeof *ids);
  size_t *slot = pl_xmalloc((a->n_runs + 1) * sizeof *slot);
  for (size_t i = 0, last = 0; i < a->n_runs; i++) {
    int64_t id = a->runs[i].agent_id;
    if (!(na && ids[last] == id)) {
      for (last = 0; last < na && ids[last] != id; last++) {}
      if (last == na) {
        if (na == cap_a) ids = pl_xrealloc(ids, (cap_a *= 2) * sizeof *ids);
        ids[na++] = id;
      }
    }
    slot[i] = last;
  }
  size_t *start = pl_xcalloc(na + 1, sizeof *start);
  for (size_t i = 0; i < a->n_runs; i++) start[slot[i] + 1]++;
  for (size_t g = 0; g < na; g++) start[g + 1] += start[g];
  sla__run *grouped = pl_xmalloc((a->n_runs + 1) * sizeof *grouped);
  size_t *pos = pl_xmalloc((na + 1) * sizeof *pos);
  memcpy(pos, start, (na + 1) * sizeof *pos);
  for (size_t i = 0; i < a->n_runs; i++) grouped[pos[slot[i]]++] = a->runs[i];

  m->agents = pl_arena_alloc(arena, (na ? na : 1) * sizeof *m->agents);
  m->n_agents = na;
  for (size_t g = 0; g < na; g++) {
    sla_agent_metrics *ag = &m->agents[g];
    *ag = (sla_agent_metrics){.agent_id = ids[g]};
    for (size_t k = start[g]; k < start[g + 1]; k++) {
      ag->answered += (int64_t)grouped[k].n;
      ag->on_time += (int64_t)sla__upper_bound(grouped[k].v, grouped[k].n, cfg->deadline_s);
    }
    ag->late = ag->answered - ag->on_time;
    ag->percent = ratio((double)ag->on_time, (double)ag->answered, 100.0);
    figures(grouped + start[g], start[g + 1] - start[g], &ag->avg_s, &ag->median_s, &ag->p90_s);
  }
  if (na > 1) qsort(m->agents, na, sizeof *m->agents, cmp_agent_id);
  free(pos);
  free(grouped);
  free(start);
  free(slot);
  free(ids);

  m->resolved_rate =
      ratio((double)(m->resolved_one + m->resolved_two), (double)m->threads, 1.0);
  m->no_response_rate = ratio((double)m->flagged, (double)m->received, 1.0);
  m->flag_window_rate =
      ratio((double)m->flag_window_flagged, (double)m->flag_window_received, 1.0);
  m->over_flagging =
      m->flag_window_rate.has_value && m->flag_window_rate.value > cfg->over_flag_rate;

  if (a->n_dl > 1) qsort(a->dl, a->n_dl, sizeof *a->dl, cmp_deadline);
  size_t cap = cfg->max_deadlines ? cfg->max_deadlines : a->n_dl;
  size_t nsoon = 0, nover = 0;
  for (size_t i = 0; i < a->n_dl; i++) {
    if (a->dl[i].left_s <= 0) nover++;
    else if (a->dl[i].left_s < cfg->alert_s) nsoon++;
  }
  m->due_soon_count = (int64_t)nsoon;
  m->overdue_count = (int64_t)nover;
  m->due_soon = pl_arena_alloc(arena, ((nsoon < cap ? nsoon : cap) + 1) * sizeof *m->due_soon);
  m->overdue = pl_arena_alloc(arena, ((nover < cap ? nover : cap) + 1) * sizeof *m->overdue);
  for (size_t i = 0; i < a->n_dl; i++) {
    const sla_deadline *x = &a->dl[i];
    if (x->left_s <= 0) {
      if (m->n_overdue < cap) m->overdue[m->n_overdue++] = *x;
    } else if (x->left_s < cfg->alert_s) {
      if (m->n_due_soon < cap) m->due_soon[m->n_due_soon++] = *x;
    }
  }
}

/* ---- full recomputation ----------------------------------------------------------- */

static pl_err check_events(const sla_events *ev, pl_detail *d) {
  if (!ev) return pl_fail(d, PL_EINVAL, "no events");
  if ((ev->n_buyer && !ev->buyer) || (ev->n_seller && !ev->seller) ||
      (ev->n_flags && !ev->flags))
    return pl_fail(d, PL_EINVAL, "event count without an array");
  return PL_OK;
}

pl_err sla_compute(const sla_config *cfg, const sla_events *ev, int64_t at, int64_t window_s,
                   pl_arena *arena, sla_metrics *out, pl_detail *d) {
  sla_config def;
  if (!cfg) {
    sla_config_default(&def);
    cfg = &def;
  }
  if (window_s <= 0) return pl_fail(d, PL_EINVAL, "the window must be positive");
  if (!arena || !out) return pl_fail(d, PL_EINVAL, "missing argument");
  pl_err e = check_events(ev, d);
  if (e != PL_OK) return e;

  size_t cap = ev->n_buyer ? ev->n_buyer : 1;
  sla_outcome *outs = pl_xmalloc(cap * sizeof *outs);
  size_t *src = pl_xmalloc(cap * sizeof *src);
  sla_thread_outcome *threads = pl_xmalloc(cap * sizeof *threads);
  size_t no = 0, nt = 0;
  sla__eval(ev, at, outs, src, &no, threads, &nt);

  sla__acc acc;
  sla__acc_init(&acc, cfg, at, window_s, out);
  for (size_t i = 0; i < no; i++) sla__acc_message(&acc, &outs[i], ev->buyer[src[i]].ref);
  for (size_t i = 0; i < nt; i++) sla__acc_thread(&acc, &threads[i]);
  int64_t *store = NULL;
  sla__acc_outcome_runs(&acc, outs, no, NULL, NULL, &store);
  sla__acc_finish(&acc, arena);
  sla__acc_release(&acc);
  free(store);
  free(threads);
  free(src);
  free(outs);
  return PL_OK;
}

void sla_complaints_set(sla_metrics *m, int64_t conversations, int64_t claimed, double max_percent,
                        int64_t min_conversations) {
  m->complaint_conversations = conversations;
  m->complaint_claimed = claimed;
  m->complaint_percent = ratio((double)claimed, (double)conversations, 100.0);
  m->complaint_max_percent = max_percent;
  m->complaint_at_risk = m->complaint_percent.has_value && conversations >= min_conversations &&
                         m->complaint_percent.value > max_percent;
}
