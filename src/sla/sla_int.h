/* sla_int.h - internals shared by the files of the sla module (sla__ prefix). */
#ifndef PL_SLA_INT_H
#define PL_SLA_INT_H

#include "sla/sla.h"

/* Floor division and modulo: timestamps before 1970 must still fall into the right
 * hour and day. */
int64_t sla__floordiv(int64_t a, int64_t b);
int64_t sla__floormod(int64_t a, int64_t b);

/* The evaluation engine: outcomes of every buyer message received by `at` and of
 * every thread that has one, as of `at`. outs, src (optional: index of each outcome's
 * message in ev->buyer) and threads have room for ev->n_buyer entries; all come out
 * in (thread_id, thread order). */
void sla__eval(const sla_events *ev, int64_t at, sla_outcome *outs, size_t *src,
               size_t *n_outs, sla_thread_outcome *threads, size_t *n_threads);

/* A sorted run of response times of one agent (a bucket's rt[] or a slice). */
typedef struct {
  int64_t agent_id;
  const int64_t *v;
  size_t n;
  int64_t sum;
} sla__run;

/* The accumulator both paths fill and then finish into an sla_metrics. */
typedef struct {
  const sla_config *cfg;
  int64_t at, window_s;
  int64_t w_lo, f_lo;   /* first second inside the window / the flag window */
  sla_metrics *m;       /* counts are added straight into it */
  int64_t rt_sum;
  sla__run *runs;       /* pl_xmalloc'd */
  size_t n_runs, cap_runs;
  sla_deadline *dl;     /* unanswered unflagged in-window messages (pl_xmalloc'd) */
  size_t n_dl, cap_dl;
} sla__acc;

void sla__acc_init(sla__acc *a, const sla_config *cfg, int64_t at, int64_t window_s,
                   sla_metrics *m);
void sla__acc_release(sla__acc *a);
bool sla__in_window(const sla__acc *a, int64_t t);
bool sla__in_flag_window(const sla__acc *a, int64_t t);
/* One buyer message's outcome as of a->at (not its response time: runs carry those). */
void sla__acc_message(sla__acc *a, const sla_outcome *o, const char *ref);
void sla__acc_thread(sla__acc *a, const sla_thread_outcome *t);
void sla__acc_run(sla__acc *a, int64_t agent_id, const int64_t *v, size_t n, int64_t sum);
/* Adds an unanswered unflagged in-window message to the deadline candidates. */
void sla__acc_open(sla__acc *a, int64_t msg_id, int64_t thread_id, int64_t t, const char *ref);
/* Response times of the answered unflagged in-window outcomes in outs[0..n) whose
 * hour passes `keep` (NULL: all), as sorted per-agent runs over storage the caller
 * frees (*store, pl_xmalloc'd). */
void sla__acc_outcome_runs(sla__acc *a, const sla_outcome *outs, size_t n,
                           bool (*keep)(const void *ctx, int64_t hour), const void *ctx,
                           int64_t **store);
/* Percentiles, agents, deadlines, CRT status. Arrays into arena. */
void sla__acc_finish(sla__acc *a, pl_arena *arena);

/* Count of values <= x in a sorted array. */
size_t sla__upper_bound(const int64_t *v, size_t n, int64_t x);

#endif
