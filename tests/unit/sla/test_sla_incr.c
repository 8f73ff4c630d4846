/* test_sla_incr.c - one event at a time (sla_incr.c) gives the outcomes and the thread
 * outcome that sla_thread_eval() gives over the whole thread, after every event of random
 * threads: buyer messages, replies of every kind, held replies approved later, flags and
 * unflags (some with times earlier than the message's latest flag). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sla/sla.h"

#define MAXE 400
#define T0 INT64_C(1800000000)

typedef struct {
  sla_buyer_msg b[MAXE];
  sla_seller_msg s[MAXE];
  sla_flag f[MAXE];
  size_t nb, ns, nf;
  sla_outcome o[MAXE]; /* the kept outcome of buyer message i */
  sla_thread_outcome t;
  bool has_t;
  int64_t now, seq, flag_seq;
} th;

static uint64_t rnd(uint64_t *s) {
  *s ^= *s << 13;
  *s ^= *s >> 7;
  *s ^= *s << 17;
  return *s;
}

/* What the store does for one event: the changes, each reply's count before them, then
 * the thread outcome, then the kept outcomes. */
static void apply(th *x, sla_change *ch, size_t n) {
  if (!n) return;
  sla_reply_count rc[2 * MAXE];
  size_t nrc = 0;
  for (size_t i = 0; i < 2 * n; i++) {
    const sla_outcome *o = i % 2 ? &ch[i / 2].now : &ch[i / 2].old;
    if ((i % 2 == 0 && ch[i / 2].is_new) || o->flagged || !o->answered) continue;
    bool seen = false;
    for (size_t j = 0; j < nrc; j++) seen |= rc[j].reply_seq == o->reply_seq;
    if (seen) continue;
    int64_t c = 0;
    for (size_t k = 0; k < x->nb; k++)
      c += !x->o[k].flagged && x->o[k].answered && x->o[k].reply_seq == o->reply_seq;
    rc[nrc++] = (sla_reply_count){o->reply_seq, c};
  }
  assert_int_equal(sla_thread_apply(&x->t, ch, n, rc, nrc), PL_OK);
  x->has_t = true;
  for (size_t i = 0; i < n; i++)
    for (size_t k = 0; k < x->nb; k++)
      if (x->o[k].msg_id == ch[i].now.msg_id) x->o[k] = ch[i].now;
}

/* A delivered substantive reply s: it takes over every message it answers first. */
static void answer(th *x, const sla_seller_msg *s) {
  sla_change ch[MAXE];
  size_t n = 0;
  for (size_t k = 0; k < x->nb; k++) {
    if (!sla_reply_takes_over(s, &x->o[k], x->b[k].seq)) continue;
    ch[n] = (sla_change){.old = x->o[k], .now = x->o[k]};
    sla_outcome_answer(&ch[n++].now, s);
  }
  apply(x, ch, n);
}

static void check(th *x, pl_arena *a) {
  sla_events ev = {x->b, x->nb, x->s, x->ns, x->f, x->nf};
  sla_outcome *o;
  size_t n;
  sla_thread_outcome t;
  assert_int_equal(sla_thread_eval(&ev, SLA_FOREVER, a, &o, &n, &t, NULL), PL_OK);
  assert_int_equal(n, x->nb);
  for (size_t i = 0; i < n; i++) {
    size_t k = 0;
    while (k < x->nb && x->o[k].msg_id != o[i].msg_id) k++;
    assert_true(k < x->nb);
    assert_true(sla_outcome_equal(&x->o[k], &o[i]));
  }
  if (n) {
    assert_true(x->has_t);
    assert_true(sla_thread_outcome_equal(&x->t, &t));
  }
}

static void random_thread(uint64_t seed) {
  th *x = calloc(1, sizeof *x);
  uint64_t r = seed * 0x9E3779B97F4A7C15ull + 7;
  pl_arena *a = pl_arena_new();
  x->now = T0;
  size_t held[MAXE], nheld = 0;
  for (int step = 0; step < 300 && x->nb < MAXE && x->ns < MAXE && x->nf < MAXE; step++) {
    x->now += (int64_t)(rnd(&r) % 4 == 0 ? 0 : rnd(&r) % 50000);
    unsigned op = (unsigned)(rnd(&r) % 100);
    if (op < 35 || !x->nb) {
      int64_t id = ++x->seq;
      x->b[x->nb] = (sla_buyer_msg){.id = id, .thread_id = 1, .received_at = x->now, .seq = id};
      x->o[x->nb++] = sla_outcome_arrived(id, 1, x->now);
      if (!x->has_t) x->t = (sla_thread_outcome){.thread_id = 1, .first_received_at = x->now};
      sla_change c = {.is_new = true, .now = sla_outcome_arrived(id, 1, x->now)};
      apply(x, &c, 1);
    } else if (op < 65) {
      unsigned kind = (unsigned)(rnd(&r) % 8);
      sla_seller_msg s = {.thread_id = 1, .agent_id = (int64_t)(rnd(&r) % 3), .sent_at = x->now,
                          .delivered_at = kind == 7 ? SLA_NEVER : x->now, .seq = ++x->seq,
                          .kind = kind < 4 || kind == 7 ? SLA_SUBSTANTIVE : (sla_kind)(kind - 3)};
      if (kind == 7) held[nheld++] = x->ns;
      x->s[x->ns++] = s;
      answer(x, &s);
    } else if (op < 75) {
      if (!nheld) continue;
      size_t h = (size_t)(rnd(&r) % nheld);
      sla_seller_msg *s = &x->s[held[h]];
      held[h] = held[--nheld];
      s->delivered_at = x->now; /* approved: it answers from its sent time on */
      answer(x, s);
    } else {
      size_t k = (size_t)(rnd(&r) % x->nb);
      int64_t at = rnd(&r) % 3 ? x->now : x->now - (int64_t)(rnd(&r) % 100000);
      x->f[x->nf++] = (sla_flag){.msg_id = x->b[k].id, .at = at, .seq = ++x->flag_seq,
                                 .value = rnd(&r) % 3 != 0};
      /* The flag state: the latest flag event of the message. */
      const sla_flag *latest = NULL;
      for (size_t i = 0; i < x->nf; i++) {
        const sla_flag *f = &x->f[i];
        if (f->msg_id != x->b[k].id) continue;
        if (!latest || f->at > latest->at || (f->at == latest->at && f->seq > latest->seq)) latest = f;
      }
      if (latest->value != x->o[k].flagged) {
        sla_change c = {.old = x->o[k], .now = x->o[k]};
        c.now.flagged = latest->value;
        apply(x, &c, 1);
      }
    }
    check(x, a);
  }
  pl_arena_free(a);
  free(x);
}

static void incremental_equals_evaluation(void **state) {
  (void)state;
  for (uint64_t seed = 1; seed <= 200; seed++) random_thread(seed);
}

/* A count that would go below zero is drift, refused with the outcome unchanged. */
static void drift_is_refused(void **state) {
  (void)state;
  sla_thread_outcome t = {.thread_id = 1, .first_received_at = T0};
  sla_change c = {.old = sla_outcome_arrived(5, 1, T0), .now = sla_outcome_arrived(5, 1, T0)};
  c.now.flagged = true;
  assert_int_equal(sla_thread_apply(&t, &c, 1, NULL, 0), PL_ECONFLICT);
  assert_int_equal(t.unflagged, 0);
  assert_int_equal(t.open, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(incremental_equals_evaluation),
      cmocka_unit_test(drift_is_refused),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
