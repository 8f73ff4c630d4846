/* test_sla_compute.c - the 24-hour clock's definitions, to the second (sla_compute). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "sla_test_util.h"

#define DAY SLA_DAY
#define HOUR SLA_HOUR
#define W30 (30 * DAY)

typedef struct {
  pl_arena *arena;
  sla_metrics m;
} ctx;

static int setup(void **state) {
  ctx *c = calloc(1, sizeof *c);
  c->arena = pl_arena_new();
  *state = c;
  return 0;
}

static int teardown(void **state) {
  ctx *c = *state;
  pl_arena_free(c->arena);
  free(c);
  return 0;
}

static const sla_metrics *run_cfg(void **state, const sla_config *cfg, const hist *h,
                                  int64_t at, int64_t w) {
  ctx *c = *state;
  sla_events ev = h_events(h);
  pl_detail d;
  assert_int_equal(sla_compute(cfg, &ev, at, w, c->arena, &c->m, &d), PL_OK);
  return &c->m;
}

static const sla_metrics *run(void **state, const hist *h, int64_t at, int64_t w) {
  return run_cfg(state, NULL, h, at, w);
}

static void assert_crt(const sla_metrics *m, int64_t on_time, int64_t late, int64_t pending,
                       int64_t flagged) {
  assert_int_equal(m->on_time, on_time);
  assert_int_equal(m->late, late);
  assert_int_equal(m->pending, pending);
  assert_int_equal(m->flagged, flagged);
}

/* 23:59:59 and 24:00:00 are on time; 24:00:01 is late. */
static void reply_boundary_to_the_second(void **state) {
  hist h = {0};
  h_buyer(&h, 1, 1, T0);
  h_reply(&h, 1, T0 + DAY - 1);
  h_buyer(&h, 2, 2, T0);
  h_reply(&h, 2, T0 + DAY);
  h_buyer(&h, 3, 3, T0);
  h_reply(&h, 3, T0 + DAY + 1);
  const sla_metrics *m = run(state, &h, T0 + 10 * DAY, W30);
  assert_crt(m, 2, 1, 0, 0);
  assert_true(m->crt_percent.has_value);
  assert_double_equal(m->crt_percent.value, 200.0 / 3.0, 1e-9);
  assert_int_equal(m->status, SLA_AT_RISK);
  assert_int_equal(m->answered, 3);
  assert_double_equal(m->avg_s.value, 86400.0, 0);
  assert_double_equal(m->median_s.value, 86400.0, 0);
  assert_int_equal(m->p90_s.value, 86401); /* ceil(2.7) = 3rd smallest */
}

/* An unanswered message is pending until t + 24h, late from that second on. */
static void unanswered_pending_then_late(void **state) {
  hist h = {0};
  h_buyer(&h, 1, 1, T0);
  const sla_metrics *m = run(state, &h, T0 + DAY - 1, W30);
  assert_crt(m, 0, 0, 1, 0);
  assert_false(m->crt_percent.has_value);
  assert_int_equal(m->status, SLA_NO_DATA);
  m = run(state, &h, T0 + DAY, W30);
  assert_crt(m, 0, 1, 0, 0);
  assert_double_equal(m->crt_percent.value, 0.0, 0);
  assert_int_equal(m->status, SLA_AT_RISK);
  assert_false(m->avg_s.has_value); /* late but unanswered: no response time */
  /* A reply after the deadline turns it into an answered late message. */
  h_reply(&h, 1, T0 + DAY + 5);
  m = run(state, &h, T0 + DAY + 5, W30);
  assert_crt(m, 0, 1, 0, 0);
  assert_int_equal(m->p90_s.value, DAY + 5);
  /* ...but not before the reply happened. */
  m = run(state, &h, T0 + DAY + 4, W30);
  assert_crt(m, 0, 1, 0, 0);
  assert_int_equal(m->answered, 0);
}

/* One reply answers every earlier unanswered buyer message of its thread. */
static void several_buyer_messages_one_reply(void **state) {
  hist h = {0};
  h_buyer(&h, 1, 1, T0);
  h_buyer(&h, 2, 1, T0 + HOUR);
  h_buyer(&h, 3, 1, T0 + 2 * HOUR);
  h_reply(&h, 1, T0 + DAY + 30 * 60); /* late for 1, on time for 2 and 3 */
  h_buyer(&h, 4, 1, T0 + 2 * DAY);     /* after the reply: unanswered */
  const sla_metrics *m = run(state, &h, T0 + 2 * DAY + 10, W30);
  assert_crt(m, 2, 1, 1, 0);
  assert_int_equal(m->answered, 3);
  assert_double_equal(m->median_s.value, (double)(DAY - HOUR + 30 * 60), 0);
  assert_int_equal(m->threads, 1);
  assert_int_equal(m->resolved_one + m->resolved_two, 0); /* the buyer wrote again */
}

/* Auto-replies, internal notes and review requests never answer. */
static void non_substantive_messages_do_not_count(void **state) {
  hist h = {0};
  h_buyer(&h, 1, 1, T0);
  h_reply_full(&h, 1, 1, T0 + 60, T0 + 60, SLA_AUTO_REPLY);
  h_reply_full(&h, 1, 1, T0 + 120, T0 + 120, SLA_INTERNAL_NOTE);
  h_reply_full(&h, 1, 1, T0 + 180, T0 + 180, SLA_REVIEW_REQUEST);
  const sla_metrics *m = run(state, &h, T0 + DAY, W30);
  assert_crt(m, 0, 1, 0, 0);
  h_reply(&h, 1, T0 + DAY + 100);
  m = run(state, &h, T0 + 3 * DAY, W30);
  assert_crt(m, 0, 1, 0, 0);
  assert_int_equal(m->p90_s.value, DAY + 100);
}

/* A reply counts once it is delivered, and then at its sent time. */
static void reply_delivered_later_than_sent(void **state) {
  hist h = {0};
  h_buyer(&h, 1, 1, T0);
  h_reply_full(&h, 1, 7, T0 + HOUR, T0 + 100000, SLA_SUBSTANTIVE); /* held, approved */
  const sla_metrics *m = run(state, &h, T0 + HOUR, W30);
  assert_crt(m, 0, 0, 1, 0);
  m = run(state, &h, T0 + 99999, W30);
  assert_crt(m, 0, 1, 0, 0); /* still not delivered, 24 h passed */
  m = run(state, &h, T0 + 100000, W30);
  assert_crt(m, 1, 0, 0, 0);
  assert_double_equal(m->avg_s.value, (double)HOUR, 0);
  assert_int_equal(m->n_agents, 1);
  assert_int_equal(m->agents[0].agent_id, 7);
}

/* Held, rejected or undelivered replies never answer; a later real one does. */
static void never_delivered_reply(void **state) {
  hist h = {0};
  h_buyer(&h, 1, 1, T0);
  h_reply_full(&h, 1, 1, T0 + 10, SLA_NEVER, SLA_SUBSTANTIVE);
  const sla_metrics *m = run(state, &h, T0 + 5 * DAY, W30);
  assert_crt(m, 0, 1, 0, 0);
  h_reply(&h, 1, T0 + 20);
  m = run(state, &h, T0 + 5 * DAY, W30);
  assert_crt(m, 1, 0, 0, 0);
  assert_int_equal(m->p90_s.value, 20);
}

/* The flag as of `at` decides: flag, unflag, and a flag after `at` is ignored. */
static void flag_unflag_and_future_flag(void **state) {
  hist h = {0};
  h_buyer(&h, 1, 1, T0);
  h_flag(&h, 1, T0 + 10, true);
  h_flag(&h, 1, T0 + 500, false);
  h_flag(&h, 1, T0 + 2000, true);
  const sla_metrics *m = run(state, &h, T0 + 100, W30);
  assert_crt(m, 0, 0, 0, 1);
  assert_int_equal(m->status, SLA_NO_DATA);
  assert_double_equal(m->no_response_rate.value, 1.0, 0);
  m = run(state, &h, T0 + 500, W30); /* an unflag at exactly `at` counts */
  assert_crt(m, 0, 0, 1, 0);
  m = run(state, &h, T0 + 1999, W30);
  assert_crt(m, 0, 0, 1, 0);
  m = run(state, &h, T0 + 2000, W30);
  assert_crt(m, 0, 0, 0, 1);
  /* A flagged message is out of the denominator even when 24 h pass unanswered. */
  m = run(state, &h, T0 + 3 * DAY, W30);
  assert_crt(m, 0, 0, 0, 1);
  assert_false(m->crt_percent.has_value);
}

/* A flagged message that was answered has no response time either. */
static void flagged_answered_has_no_response_time(void **state) {
  hist h = {0};
  h_buyer(&h, 1, 1, T0);
  h_reply(&h, 1, T0 + 50);
  h_flag(&h, 1, T0 + 100, true);
  const sla_metrics *m = run(state, &h, T0 + 200, W30);
  assert_crt(m, 0, 0, 0, 1);
  assert_false(m->avg_s.has_value);
  assert_false(m->median_s.has_value);
  assert_false(m->p90_s.has_value);
  assert_int_equal(m->n_agents, 0);
}

/* A reply in another thread of the same buyer (another order) does not answer. */
static void reply_in_other_thread_does_not_count(void **state) {
  hist h = {0};
  h_buyer(&h, 1, 10, T0);         /* order thread */
  h_buyer(&h, 2, 11, T0 + 60);    /* product-question thread, same buyer */
  h_reply(&h, 11, T0 + 120);      /* answers only thread 11 */
  const sla_metrics *m = run(state, &h, T0 + DAY + 60, W30);
  assert_crt(m, 1, 1, 0, 0);
  assert_int_equal(m->threads, 2);
  assert_int_equal(m->resolved_one, 1);
}

/* In the window when at - W < t <= at; a message before the window answered inside
 * it is not counted, nor is its thread. */
static void window_cuts_through_conversation(void **state) {
  int64_t at = T0 + 40 * DAY, w = 30 * DAY;
  hist h = {0};
  h_buyer(&h, 1, 1, at - w);          /* exactly at the start: out */
  h_reply(&h, 1, at - w + 10);        /* answered inside the window */
  h_buyer(&h, 2, 2, at - w + 1);      /* first second inside: in */
  h_reply(&h, 2, at - w + 11);
  h_buyer(&h, 3, 1, at - w + 20);     /* the buyer writes again in thread 1 */
  h_buyer(&h, 4, 3, at);              /* at `at` itself: in, pending */
  h_buyer(&h, 5, 3, at + 1);          /* after `at`: had not happened */
  const sla_metrics *m = run(state, &h, at, w);
  assert_int_equal(m->received, 3);
  assert_crt(m, 1, 1, 1, 0); /* 2 on time, 3 unanswered and overdue, 4 pending */
  assert_int_equal(m->answered, 1);
  assert_double_equal(m->avg_s.value, 10.0, 0);
  assert_int_equal(m->threads, 2); /* thread 1 started before the window */
}

/* Within one second, thread order (seq) decides whether a reply is after. */
static void same_second_ties(void **state) {
  hist h = {0};
  h_reply(&h, 1, T0);      /* seq before the buyer message: not a reply to it */
  h_buyer(&h, 1, 1, T0);
  const sla_metrics *m = run(state, &h, T0 + DAY, W30);
  assert_crt(m, 0, 1, 0, 0);
  h_reply(&h, 1, T0);      /* same second, after it in thread order: answers, 0 s */
  m = run(state, &h, T0 + DAY, W30);
  assert_crt(m, 1, 0, 0, 0);
  assert_double_equal(m->avg_s.value, 0.0, 0);
  /* A flag and an unflag in the same second: the later one (seq) wins. */
  h_flag(&h, 1, T0 + 5, true);
  h_flag(&h, 1, T0 + 5, false);
  m = run(state, &h, T0 + DAY, W30);
  assert_int_equal(m->flagged, 0);
}

static void empty_history_is_no_data(void **state) {
  hist h = {0};
  const sla_metrics *m = run(state, &h, T0, W30);
  assert_int_equal(m->status, SLA_NO_DATA);
  assert_false(m->crt_percent.has_value);
  assert_false(m->avg_s.has_value);
  assert_false(m->median_s.has_value);
  assert_false(m->p90_s.has_value);
  assert_false(m->resolved_rate.has_value);
  assert_false(m->no_response_rate.has_value);
  assert_false(m->over_flagging);
  assert_int_equal(m->n_agents + m->n_due_soon + m->n_overdue, 0);
  /* Proactive seller messages alone are not buyer messages. */
  h_reply(&h, 1, T0 - 10);
  m = run(state, &h, T0, W30);
  assert_int_equal(m->status, SLA_NO_DATA);
}

static void hist_with_response_times(hist *h, const int64_t *rt, size_t n) {
  for (size_t i = 0; i < n; i++) {
    h_buyer(h, (int64_t)i + 1, (int64_t)i + 1, T0 + (int64_t)i);
    h_reply(h, (int64_t)i + 1, T0 + (int64_t)i + rt[i]);
  }
}

static void median_odd_even_and_p90(void **state) {
  hist h = {0};
  const int64_t odd[] = {50, 10, 40, 30, 20};
  hist_with_response_times(&h, odd, 5);
  const sla_metrics *m = run(state, &h, T0 + 2 * DAY, W30);
  assert_double_equal(m->median_s.value, 30.0, 0);
  assert_double_equal(m->avg_s.value, 30.0, 0);
  assert_int_equal(m->p90_s.value, 50); /* ceil(4.5) = 5th */

  hist h2 = {0};
  const int64_t even[] = {40, 10, 31, 20};
  hist_with_response_times(&h2, even, 4);
  m = run(state, &h2, T0 + 2 * DAY, W30);
  assert_double_equal(m->median_s.value, 25.5, 0); /* (20 + 31) / 2 */
  assert_int_equal(m->p90_s.value, 40);            /* ceil(3.6) = 4th */

  hist h3 = {0};
  const int64_t ten[] = {1000, 900, 800, 700, 600, 500, 400, 300, 200, 100};
  hist_with_response_times(&h3, ten, 10);
  m = run(state, &h3, T0 + 2 * DAY, W30);
  assert_int_equal(m->p90_s.value, 900); /* ceil(9.0) = 9th, not 10th */
  assert_double_equal(m->median_s.value, 550.0, 0);

  hist h4 = {0};
  const int64_t dup[] = {7, 7, 7, 3, 7, 7, 7, 7, 7, 7, 9};
  hist_with_response_times(&h4, dup, 11);
  m = run(state, &h4, T0 + 2 * DAY, W30);
  assert_int_equal(m->p90_s.value, 7); /* ceil(9.9) = 10th of 3,7x9,9 */
  assert_double_equal(m->median_s.value, 7.0, 0);
}

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

/* Median and p90 against a plain sort, over wide and clustered value ranges. */
static void figures_match_a_sort(void **state) {
  uint64_t seed = 88172645463325252ull;
  for (int it = 0; it < 300; it++) {
    static hist h;
    memset(&h, 0, sizeof h);
    size_t n = 1 + (size_t)(seed % 200);
    int64_t rt[H_MAX], sorted[H_MAX];
    for (size_t i = 0; i < n; i++) {
      seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
      int64_t scale = it % 3 == 0 ? 10 : it % 3 == 1 ? 200000 : INT64_C(4000000000);
      rt[i] = (int64_t)(seed % (uint64_t)scale);
      sorted[i] = rt[i];
    }
    hist_with_response_times(&h, rt, n);
    qsort(sorted, n, sizeof *sorted, cmp_i64);
    const sla_metrics *m = run(state, &h, T0 + INT64_C(5000000000), INT64_C(6000000000));
    double med = n % 2 ? (double)sorted[n / 2]
                       : ((double)sorted[n / 2 - 1] + (double)sorted[n / 2]) / 2.0;
    assert_int_equal(m->answered, (int64_t)n);
    assert_double_equal(m->median_s.value, med, 0);
    size_t rank = (size_t)ceil(0.9 * (double)n);
    assert_int_equal(m->p90_s.value, sorted[rank - 1]);
  }
}

static void status_thresholds(void **state) {
  int64_t rt[10];
  for (int i = 0; i < 10; i++) rt[i] = 60;
  rt[0] = DAY + 1;
  hist h = {0};
  hist_with_response_times(&h, rt, 10);
  const sla_metrics *m = run(state, &h, T0 + 3 * DAY, W30);
  assert_double_equal(m->crt_percent.value, 90.0, 0); /* exactly 90: good */
  assert_int_equal(m->status, SLA_GOOD);
  rt[1] = DAY + 1;
  hist h2 = {0};
  hist_with_response_times(&h2, rt, 10);
  m = run(state, &h2, T0 + 3 * DAY, W30);
  assert_int_equal(m->status, SLA_WARNING); /* 80 */
  rt[2] = DAY + 1;
  hist h3 = {0};
  hist_with_response_times(&h3, rt, 10);
  m = run(state, &h3, T0 + 3 * DAY, W30);
  assert_int_equal(m->status, SLA_AT_RISK); /* 70 */
  sla_config cfg;
  sla_config_default(&cfg);
  cfg.good_min = 70.0;
  m = run_cfg(state, &cfg, &h3, T0 + 3 * DAY, W30);
  assert_int_equal(m->status, SLA_GOOD);
  cfg.deadline_s = DAY + 1; /* a longer clock makes all ten on time */
  m = run_cfg(state, &cfg, &h3, T0 + 3 * DAY, W30);
  assert_int_equal(m->on_time, 10);
}

static void resolution_in_one_or_two_exchanges(void **state) {
  hist h = {0};
  /* thread 1: Q, A: one exchange. */
  h_buyer(&h, 1, 1, T0);
  h_reply(&h, 1, T0 + 10);
  /* thread 2: Q, A, Q, A: two. */
  h_buyer(&h, 2, 2, T0);
  h_reply(&h, 2, T0 + 10);
  h_buyer(&h, 3, 2, T0 + 20);
  h_reply(&h, 2, T0 + 30);
  /* thread 3: Q, A, Q, A, Q, A: resolved, but in three. */
  h_buyer(&h, 4, 3, T0);
  h_reply(&h, 3, T0 + 10);
  h_buyer(&h, 5, 3, T0 + 20);
  h_reply(&h, 3, T0 + 30);
  h_buyer(&h, 6, 3, T0 + 40);
  h_reply(&h, 3, T0 + 50);
  /* thread 4: Q, A, "thanks!" flagged no-response-needed: resolved in one. */
  h_buyer(&h, 7, 4, T0);
  h_reply(&h, 4, T0 + 10);
  h_buyer(&h, 8, 4, T0 + 20);
  h_flag(&h, 8, T0 + 25, true);
  /* thread 5: Q, A, Q unanswered: not resolved. */
  h_buyer(&h, 9, 5, T0);
  h_reply(&h, 5, T0 + 10);
  h_buyer(&h, 10, 5, T0 + 20);
  /* thread 6: only a flagged message: not counted. */
  h_buyer(&h, 11, 6, T0);
  h_flag(&h, 11, T0 + 1, true);
  /* thread 7: Q1, Q2, one reply: one exchange. */
  h_buyer(&h, 12, 7, T0);
  h_buyer(&h, 13, 7, T0 + 5);
  h_reply(&h, 7, T0 + 10);
  const sla_metrics *m = run(state, &h, T0 + HOUR, W30);
  assert_int_equal(m->threads, 6);
  assert_int_equal(m->resolved_one, 3);
  assert_int_equal(m->resolved_two, 1);
  assert_double_equal(m->resolved_rate.value, 4.0 / 6.0, 1e-12);
}

static void volume_by_hour_and_weekday(void **state) {
  hist h = {0};
  h_buyer(&h, 1, 1, T0);                 /* Friday 08:00 */
  h_buyer(&h, 2, 2, T0 + HOUR - 1);      /* Friday 08:59:59 */
  h_buyer(&h, 3, 3, T0 + 16 * HOUR);     /* Saturday 00:00 */
  h_buyer(&h, 4, 4, T0 + 3 * DAY);       /* Monday 08:00 */
  const sla_metrics *m = run(state, &h, T0 + 4 * DAY, W30);
  assert_int_equal(m->by_hour[8], 3);
  assert_int_equal(m->by_hour[0], 1);
  assert_int_equal(m->by_weekday[4], 2); /* 0 = Monday */
  assert_int_equal(m->by_weekday[5], 1);
  assert_int_equal(m->by_weekday[0], 1);
}

static void over_flagging_signal(void **state) {
  hist h = {0};
  for (int i = 1; i <= 5; i++) h_buyer(&h, i, i, T0 + i);
  h_flag(&h, 1, T0 + 100, true);
  const sla_metrics *m = run(state, &h, T0 + HOUR, 7 * DAY);
  assert_double_equal(m->flag_window_rate.value, 0.2, 0);
  assert_false(m->over_flagging); /* exactly 20% is not more than 20% */
  h_flag(&h, 2, T0 + 100, true);
  m = run(state, &h, T0 + HOUR, 7 * DAY);
  assert_true(m->over_flagging);
  assert_double_equal(m->no_response_rate.value, 0.4, 0);
  /* The signal looks at 30 days whatever the window: 40 days later, none flagged. */
  for (int i = 6; i <= 10; i++) h_buyer(&h, i, i, T0 + 25 * DAY + i);
  m = run(state, &h, T0 + 31 * DAY, 7 * DAY);
  assert_int_equal(m->received, 5);
  assert_false(m->over_flagging);
  assert_int_equal(m->flag_window_received, 5);
}

static void deadlines_due_soon_and_overdue(void **state) {
  int64_t at = T0 + 10 * DAY;
  hist h = {0};
  h_buyer(&h, 1, 1, at - DAY + 4 * HOUR);       /* exactly 4 h left: not yet */
  h_buyer(&h, 2, 2, at - DAY + 4 * HOUR - 1);   /* 3:59:59 left: due soon */
  h_buyer(&h, 3, 3, at - DAY + 1);              /* 1 s left */
  h_buyer(&h, 4, 4, at - DAY);                  /* 0 left: overdue */
  h_buyer(&h, 5, 5, at - 3 * DAY);              /* overdue, older */
  h_buyer(&h, 6, 6, at - 2 * DAY);
  h_reply(&h, 6, at - 2 * DAY + 10);            /* answered: no deadline */
  h_buyer(&h, 7, 7, at - DAY + 60);
  h_flag(&h, 7, at - 100, true);                /* flagged: no deadline */
  const sla_metrics *m = run(state, &h, at, W30);
  assert_int_equal(m->due_soon_count, 2);
  assert_int_equal(m->n_due_soon, 2);
  assert_int_equal(m->due_soon[0].msg_id, 3); /* oldest first */
  assert_int_equal(m->due_soon[0].left_s, 1);
  assert_int_equal(m->due_soon[1].msg_id, 2);
  assert_int_equal(m->overdue_count, 2);
  assert_int_equal(m->overdue[0].msg_id, 5);
  assert_int_equal(m->overdue[1].msg_id, 4);
  assert_int_equal(m->overdue[1].left_s, 0);
  sla_config cfg;
  sla_config_default(&cfg);
  cfg.max_deadlines = 1;
  m = run_cfg(state, &cfg, &h, at, W30);
  assert_int_equal(m->overdue_count, 2);
  assert_int_equal(m->n_overdue, 1);
  assert_int_equal(m->overdue[0].msg_id, 5);
}

/* The alert time is the first second the message shows in the due-soon list. */
static void alert_and_due_times_agree_with_the_lists(void **state) {
  hist h = {0};
  h_buyer(&h, 1, 1, T0);
  int64_t alert = sla_alert_at(NULL, T0), due = sla_due_at(NULL, T0);
  assert_int_equal(alert, T0 + 20 * HOUR + 1);
  assert_int_equal(due, T0 + DAY);
  const sla_metrics *m = run(state, &h, alert - 1, W30);
  assert_int_equal(m->due_soon_count, 0);
  m = run(state, &h, alert, W30);
  assert_int_equal(m->due_soon_count, 1);
  m = run(state, &h, due - 1, W30);
  assert_int_equal(m->due_soon_count + m->overdue_count, 1);
  assert_int_equal(m->pending, 1);
  m = run(state, &h, due, W30);
  assert_int_equal(m->overdue_count, 1);
  assert_int_equal(m->late, 1);
}

static void per_agent_breakdown(void **state) {
  hist h = {0};
  h_buyer(&h, 1, 1, T0);
  h_reply_full(&h, 1, 21, T0 + 100, T0 + 100, SLA_SUBSTANTIVE);
  h_buyer(&h, 2, 2, T0);
  h_reply_full(&h, 2, 22, T0 + DAY + 1, T0 + DAY + 1, SLA_SUBSTANTIVE);
  h_buyer(&h, 3, 3, T0);
  h_reply_full(&h, 3, 21, T0 + 300, T0 + 300, SLA_SUBSTANTIVE);
  h_reply_full(&h, 3, 22, T0 + 400, T0 + 400, SLA_SUBSTANTIVE); /* not the answer */
  const sla_metrics *m = run(state, &h, T0 + 3 * DAY, W30);
  assert_int_equal(m->n_agents, 2);
  assert_int_equal(m->agents[0].agent_id, 21);
  assert_int_equal(m->agents[0].answered, 2);
  assert_int_equal(m->agents[0].on_time, 2);
  assert_double_equal(m->agents[0].avg_s.value, 200.0, 0);
  assert_double_equal(m->agents[0].percent.value, 100.0, 0);
  assert_int_equal(m->agents[1].agent_id, 22);
  assert_int_equal(m->agents[1].late, 1);
  assert_double_equal(m->agents[1].percent.value, 0.0, 0);
}

static void invalid_window(void **state) {
  ctx *c = *state;
  hist h = {0};
  sla_events ev = h_events(&h);
  pl_detail d;
  assert_int_equal(sla_compute(NULL, &ev, T0, 0, c->arena, &c->m, &d), PL_EINVAL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(reply_boundary_to_the_second, setup, teardown),
      cmocka_unit_test_setup_teardown(unanswered_pending_then_late, setup, teardown),
      cmocka_unit_test_setup_teardown(several_buyer_messages_one_reply, setup, teardown),
      cmocka_unit_test_setup_teardown(non_substantive_messages_do_not_count, setup, teardown),
      cmocka_unit_test_setup_teardown(reply_delivered_later_than_sent, setup, teardown),
      cmocka_unit_test_setup_teardown(never_delivered_reply, setup, teardown),
      cmocka_unit_test_setup_teardown(flag_unflag_and_future_flag, setup, teardown),
      cmocka_unit_test_setup_teardown(flagged_answered_has_no_response_time, setup, teardown),
      cmocka_unit_test_setup_teardown(reply_in_other_thread_does_not_count, setup, teardown),
      cmocka_unit_test_setup_teardown(window_cuts_through_conversation, setup, teardown),
      cmocka_unit_test_setup_teardown(same_second_ties, setup, teardown),
      cmocka_unit_test_setup_teardown(empty_history_is_no_data, setup, teardown),
      cmocka_unit_test_setup_teardown(median_odd_even_and_p90, setup, teardown),
      cmocka_unit_test_setup_teardown(figures_match_a_sort, setup, teardown),
      cmocka_unit_test_setup_teardown(status_thresholds, setup, teardown),
      cmocka_unit_test_setup_teardown(resolution_in_one_or_two_exchanges, setup, teardown),
      cmocka_unit_test_setup_teardown(volume_by_hour_and_weekday, setup, teardown),
      cmocka_unit_test_setup_teardown(over_flagging_signal, setup, teardown),
      cmocka_unit_test_setup_teardown(deadlines_due_soon_and_overdue, setup, teardown),
      cmocka_unit_test_setup_teardown(alert_and_due_times_agree_with_the_lists, setup, teardown),
      cmocka_unit_test_setup_teardown(per_agent_breakdown, setup, teardown),
      cmocka_unit_test_setup_teardown(invalid_window, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
