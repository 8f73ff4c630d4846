/* sla_test_util.h - a small history builder shared by the sla unit tests. */
#ifndef SLA_TEST_UTIL_H
#define SLA_TEST_UTIL_H

#include <math.h>
#include <stdio.h>

#include "sla/sla.h"

/* cmocka's float assertion works in single precision; these figures need double.
 * Include after <cmocka.h>. */
#define assert_double_equal(a, b, eps)                                                  \
  do {                                                                                 \
    double a_ = (a), b_ = (b);                                                         \
    if (!(fabs(a_ - b_) <= (eps))) {                                                   \
      print_error("%.17g != %.17g\n", a_, b_);                                         \
      fail();                                                                          \
    }                                                                                  \
  } while (0)

#define H_MAX 256

/* 2027-01-15T08:00:00Z, a Friday, on the hour. */
#define T0 INT64_C(1800000000)

typedef struct {
  sla_buyer_msg b[H_MAX];
  sla_seller_msg s[H_MAX];
  sla_flag f[H_MAX];
  size_t nb, ns, nf;
  int64_t seq; /* order of the calls = thread order within a second */
} hist;

static inline void h_buyer(hist *h, int64_t id, int64_t thread, int64_t t) {
  h->b[h->nb++] = (sla_buyer_msg){id, thread, t, ++h->seq, NULL};
}

static inline void h_reply_full(hist *h, int64_t thread, int64_t agent, int64_t sent,
                                int64_t delivered, sla_kind kind) {
  h->s[h->ns++] = (sla_seller_msg){thread, agent, sent, delivered, ++h->seq, kind};
}

static inline void h_reply(hist *h, int64_t thread, int64_t sent) {
  h_reply_full(h, thread, 1, sent, sent, SLA_SUBSTANTIVE);
}

static inline void h_flag(hist *h, int64_t msg, int64_t at, bool value) {
  h->f[h->nf++] = (sla_flag){msg, at, ++h->seq, value};
}

static inline sla_events h_events(const hist *h) {
  return (sla_events){h->b, h->nb, h->s, h->ns, h->f, h->nf};
}

#endif
