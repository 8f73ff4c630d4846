/* bench_sla.c - seller metrics over one million messages: bucketed query vs full recomputation.
 *
 * Builds one seller's three-year history (buyer and seller messages, auto-replies,
 * held and rejected replies, flags) of about one million messages, keeps it the way
 * the store does (hourly buckets sorted by hour, an index of buyer messages by time,
 * the open-message index), and times a metrics query at the end of the history for
 * 7, 30 and 90 days: the bucketed path (range of buckets + edge hours' threads + open
 * messages, including the selection work a store's index scans would do) against
 * sla_compute() over the whole history. Also times the incremental bucket update of
 * one event (two thread evaluations and the outcome deltas). Both paths' results are
 * compared; the run fails if they differ. Usage: bench_sla [messages] [repeats] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sla/sla.h"

#define END INT64_C(1830000000) /* the end of the history, = `at` */

typedef struct {
  uint64_t s;
} rng;

static uint64_t rnd(rng *r) {
  r->s ^= r->s << 13;
  r->s ^= r->s >> 7;
  r->s ^= r->s << 17;
  return r->s;
}

static int64_t rnd_in(rng *r, int64_t lo, int64_t hi) {
  return lo + (int64_t)(rnd(r) % (uint64_t)(hi - lo + 1));
}

typedef struct {
  size_t b0, nb, s0, ns, f0, nf; /* the thread's events: contiguous ranges */
} thread_range;

typedef struct {
  sla_buyer_msg *b;
  sla_seller_msg *s;
  sla_flag *f;
  size_t nb, ns, nf, cap;
  thread_range *th;
  size_t nth;
} history;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A response delay: mostly hours, some past a day. */
static int64_t reply_delay(rng *r) {
  int p = (int)(rnd(r) % 100);
  if (p < 60) return rnd_in(r, 60, 8 * 3600);
  if (p < 90) return rnd_in(r, 8 * 3600, 86400);
  return rnd_in(r, 86401, 4 * 86400);
}

static void generate(history *h, size_t target, rng *r) {
  h->cap = target + 16;
  h->b = malloc(h->cap * sizeof *h->b);
  h->s = malloc(h->cap * sizeof *h->s);
  h->f = malloc(h->cap * sizeof *h->f);
  h->th = malloc(h->cap * sizeof *h->th);
  int64_t seq = 0, span = 3 * 365 * 86400;
  while (h->nb + h->ns < target) {
    int64_t tid = (int64_t)h->nth + 1;
    thread_range *tr = &h->th[h->nth++];
    *tr = (thread_range){h->nb, 0, h->ns, 0, h->nf, 0};
    int64_t t = END - rnd_in(r, 0, span);
    int turns = 1 + (rnd(r) % 3 == 0);
    for (int k = 0; k < turns && h->nb + h->ns < target; k++) {
      int64_t id = (int64_t)h->nb + 1;
      h->b[h->nb++] = (sla_buyer_msg){id, tid, t, ++seq, NULL};
      tr->nb++;
      if (rnd(r) % 100 < 3) {
        h->f[h->nf++] = (sla_flag){id, t + 600, ++seq, true};
        tr->nf++;
      }
      if (rnd(r) % 100 < 5) { /* an auto-reply first */
        h->s[h->ns++] = (sla_seller_msg){tid, 0, t + 2, t + 2, ++seq, SLA_AUTO_REPLY};
        tr->ns++;
      }
      if (rnd(r) % 100 < 4) break; /* never answered */
      int64_t sent = t + reply_delay(r), delivered = sent;
      if (rnd(r) % 100 < 2) delivered = SLA_NEVER;               /* rejected */
      else if (rnd(r) % 100 < 3) delivered = sent + 3 * 3600;    /* held, approved */
      if (sent > END) break;
      h->s[h->ns++] = (sla_seller_msg){tid, rnd_in(r, 1, 6), sent, delivered, ++seq,
                                       SLA_SUBSTANTIVE};
      tr->ns++;
      t = sent + rnd_in(r, 600, 2 * 86400);
      if (t > END) break;
    }
  }
}

/* ---- the store's indexes ---------------------------------------------------------- */

typedef struct {
  int64_t t;
  size_t thread; /* index into h->th */
} by_time;

static int cmp_by_time(const void *pa, const void *pb) {
  const by_time *a = pa, *b = pb;
  return (a->t > b->t) - (a->t < b->t);
}

static int cmp_open(const void *pa, const void *pb) {
  const sla_open_msg *a = pa, *b = pb;
  return (a->received_at > b->received_at) - (a->received_at < b->received_at);
}

typedef struct {
  sla_bucket *bk;
  size_t nbk;
  by_time *idx; /* buyer messages by received_at */
  size_t nidx;
  sla_open_msg *open; /* by received_at */
  size_t nopen;
} indexes;

static size_t lower_hour(const sla_bucket *b, size_t n, int64_t hour) {
  size_t lo = 0, hi = n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (b[mid].hour < hour) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

static size_t lower_time(const by_time *v, size_t n, int64_t t) {
  size_t lo = 0, hi = n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (v[mid].t < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

static size_t lower_open(const sla_open_msg *v, size_t n, int64_t t) {
  size_t lo = 0, hi = n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (v[mid].received_at < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/* Scratch for the edge hours' threads, reused across queries like a request arena. */
typedef struct {
  sla_buyer_msg b[8192];
  sla_seller_msg s[8192];
  sla_flag f[8192];
  size_t th[4096];
} edge_buf;

static void bucketed(const history *h, const indexes *ix, int64_t at, int64_t w, edge_buf *eb,
                     pl_arena *arena, sla_metrics *m) {
  sla_plan plan;
  sla_plan_query(NULL, at, w, &plan);
  size_t lo = lower_hour(ix->bk, ix->nbk, plan.hour_lo);
  size_t hi = lower_hour(ix->bk, ix->nbk, plan.hour_hi + 1);
  size_t nth = 0, nb = 0, ns = 0, nf = 0;
  for (size_t e = 0; e < plan.n_edge; e++) {
    int64_t t0 = plan.edge[e] * SLA_HOUR;
    for (size_t i = lower_time(ix->idx, ix->nidx, t0); i < ix->nidx && ix->idx[i].t < t0 + SLA_HOUR;
         i++) {
      size_t th = ix->idx[i].thread;
      bool seen = false;
      for (size_t k = 0; k < nth && !seen; k++) seen = eb->th[k] == th;
      if (seen) continue;
      eb->th[nth++] = th;
      const thread_range *tr = &h->th[th];
      memcpy(eb->b + nb, h->b + tr->b0, tr->nb * sizeof *eb->b);
      memcpy(eb->s + ns, h->s + tr->s0, tr->ns * sizeof *eb->s);
      memcpy(eb->f + nf, h->f + tr->f0, tr->nf * sizeof *eb->f);
      nb += tr->nb;
      ns += tr->ns;
      nf += tr->nf;
    }
  }
  sla_events edges = {eb->b, nb, eb->s, ns, eb->f, nf};
  size_t o_lo = lower_open(ix->open, ix->nopen, at - w + 1);
  size_t o_hi = lower_open(ix->open, ix->nopen, at + 1);
  if (sla_from_buckets(NULL, at, w, ix->bk + lo, hi - lo, &edges, ix->open + o_lo, o_hi - o_lo,
                       arena, m, NULL) != PL_OK)
    abort();
}

static bool same(const sla_metrics *a, const sla_metrics *b) {
  return a->on_time == b->on_time && a->late == b->late && a->pending == b->pending &&
         a->flagged == b->flagged && a->received == b->received &&
         a->avg_s.value == b->avg_s.value && a->median_s.value == b->median_s.value &&
         a->p90_s.value == b->p90_s.value && a->threads == b->threads &&
         a->resolved_one == b->resolved_one && a->n_agents == b->n_agents &&
         a->overdue_count == b->overdue_count && a->due_soon_count == b->due_soon_count;
}

static int cmp_double(const void *pa, const void *pb) {
  double a = *(const double *)pa, b = *(const double *)pb;
  return (a > b) - (a < b);
}

int main(int argc, char **argv) {
  size_t target = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000000;
  int repeats = argc > 2 ? atoi(argv[2]) : 200;
  rng r = {0xC0FFEE123456789ull};
  history h = {0};
  generate(&h, target, &r);
  sla_events ev = {h.b, h.nb, h.s, h.ns, h.f, h.nf};
  printf("history: %zu buyer + %zu seller messages (%zu), %zu flags, %zu threads, 3 years\n",
         h.nb, h.ns, h.nb + h.ns, h.nf, h.nth);

  indexes ix = {0};
  double t = now_s();
  if (sla_buckets_build(&ev, &ix.bk, &ix.nbk, NULL) != PL_OK) return 1;
  printf("bucket rebuild from raw events: %.1f ms, %zu buckets\n", (now_s() - t) * 1e3, ix.nbk);

  ix.idx = malloc(h.nb * sizeof *ix.idx);
  for (size_t th = 0; th < h.nth; th++)
    for (size_t i = 0; i < h.th[th].nb; i++)
      ix.idx[ix.nidx++] = (by_time){h.b[h.th[th].b0 + i].received_at, th};
  qsort(ix.idx, ix.nidx, sizeof *ix.idx, cmp_by_time);
  ix.open = malloc(h.nb * sizeof *ix.open);
  for (size_t th = 0; th < h.nth; th++) {
    const thread_range *tr = &h.th[th];
    sla_events te = {h.b + tr->b0, tr->nb, h.s + tr->s0, tr->ns, h.f + tr->f0, tr->nf};
    for (size_t i = 0; i < tr->nb; i++) {
      sla_outcome o;
      if (sla_outcome_of(&te, h.b[tr->b0 + i].id, SLA_FOREVER, &o, NULL) != PL_OK) return 1;
      if (!o.flagged && !o.answered)
        ix.open[ix.nopen++] = (sla_open_msg){o.msg_id, o.thread_id, o.received_at, NULL};
    }
  }
  qsort(ix.open, ix.nopen, sizeof *ix.open, cmp_open);

  edge_buf *eb = malloc(sizeof *eb);
  double *samples = malloc((size_t)repeats * sizeof *samples);
  const int64_t windows[] = {7 * SLA_DAY, 30 * SLA_DAY, 90 * SLA_DAY};
  int failed = 0;
  printf("\n%-6s %14s %14s %14s %10s\n", "window", "bucketed p50", "bucketed p99",
         "full recompute", "ratio");
  for (size_t wi = 0; wi < 3; wi++) {
    int64_t w = windows[wi];
    /* After every event (exact), mid-hour: all four edge hours are in play. */
    int64_t at = END + 5 * SLA_HOUR + 1234;
    pl_arena *arena = pl_arena_new();
    sla_metrics full, got;
    t = now_s();
    if (sla_compute(NULL, &ev, at, w, arena, &full, NULL) != PL_OK) return 1;
    double full_ms = (now_s() - t) * 1e3;
    for (int k = 0; k < repeats; k++) {
      pl_arena *qa = pl_arena_new();
      t = now_s();
      bucketed(&h, &ix, at, w, eb, qa, &got);
      samples[k] = (now_s() - t) * 1e3;
      if (k == 0 && !same(&full, &got)) {
        fprintf(stderr, "bucketed result differs from recomputation (%lldd)\n",
                (long long)(w / SLA_DAY));
        failed = 1;
      }
      pl_arena_free(qa);
    }
    qsort(samples, (size_t)repeats, sizeof *samples, cmp_double);
    double p50 = samples[repeats / 2], p99 = samples[(size_t)repeats * 99 / 100];
    char label[24];
    printf("%-6s %11.3f ms %11.3f ms %11.1f ms %9.0fx\n", sla_window_label(w, label), p50, p99,
           full_ms, full_ms / p50);
    if (wi == 1)
      printf("       (30d: received %lld, answered %lld, CRT %.2f%%, %zu agents)\n",
             (long long)full.received, (long long)full.answered, full.crt_percent.value,
             full.n_agents);
    pl_arena_free(arena);
  }

  /* The incremental update of one event: what the store adds to each transaction. */
  int n_upd = 100000;
  pl_arena *ua = pl_arena_new();
  t = now_s();
  size_t moved = 0;
  for (int k = 0; k < n_upd; k++) {
    const thread_range *tr = &h.th[rnd(&r) % h.nth];
    if (!tr->ns) continue;
    sla_events before = {h.b + tr->b0, tr->nb, h.s + tr->s0, tr->ns - 1, h.f + tr->f0, tr->nf};
    sla_events after = {h.b + tr->b0, tr->nb, h.s + tr->s0, tr->ns, h.f + tr->f0, tr->nf};
    sla_outcome *ob, *oa;
    size_t nb, na;
    sla_thread_outcome tb, ta;
    sla_thread_eval(&before, SLA_FOREVER, ua, &ob, &nb, &tb, NULL);
    sla_thread_eval(&after, SLA_FOREVER, ua, &oa, &na, &ta, NULL);
    for (size_t i = 0; i < nb && i < na; i++) {
      if (sla_outcome_equal(&ob[i], &oa[i])) continue;
      sla_bucket b;
      sla_bucket_init(&b, sla_bucket_key_of(&oa[i]));
      sla_bucket_add(&b, &oa[i]); /* the remove from the old row is symmetrical */
      sla_bucket_release(&b);
      moved++;
    }
    if ((k & 1023) == 0) {
      pl_arena_free(ua);
      ua = pl_arena_new();
    }
  }
  double upd_us = (now_s() - t) * 1e6 / n_upd;
  pl_arena_free(ua);
  printf("\nincremental update (a reply arrives): %.2f us per event (%zu outcome moves)\n",
         upd_us, moved);

  free(samples);
  free(eb);
  free(ix.open);
  free(ix.idx);
  sla_buckets_free(ix.bk, ix.nbk);
  free(h.th);
  free(h.f);
  free(h.s);
  free(h.b);
  return failed;
}
