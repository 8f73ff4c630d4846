/* sla_incr.c - the 24-hour clock one event at a time: outcomes and the thread outcome
 * updated from the previous ones and the event, never from the thread's history. */
#include "sla/sla_int.h"

#include <stdlib.h>
#include <string.h>

sla_outcome sla_outcome_arrived(int64_t msg_id, int64_t thread_id, int64_t received_at) {
  /* After every event of its thread: no reply comes after it yet, and no flag names it. */
  return (sla_outcome){.msg_id = msg_id, .thread_id = thread_id, .received_at = received_at};
}

/* (t1, s1) strictly before (t2, s2) in thread order. */
static bool before(int64_t t1, int64_t s1, int64_t t2, int64_t s2) {
  return t1 < t2 || (t1 == t2 && s1 < s2);
}

bool sla_reply_takes_over(const sla_seller_msg *s, const sla_outcome *o, int64_t buyer_seq) {
  if (s->kind != SLA_SUBSTANTIVE || s->delivered_at == SLA_NEVER) return false;
  if (!before(o->received_at, buyer_seq, s->sent_at, s->seq)) return false;
  /* The first reply after the message answers it: s replaces a later one. */
  return !o->answered || before(s->sent_at, s->seq, o->answered_at, o->reply_seq);
}

void sla_outcome_answer(sla_outcome *o, const sla_seller_msg *s) {
  o->answered = true;
  o->answered_at = s->sent_at;
  o->response_s = s->sent_at - o->received_at;
  o->agent_id = s->agent_id;
  o->reply_seq = s->seq;
}

typedef struct {
  int64_t seq, before, after;
} tally;

static tally *tally_of(tally *ts, size_t *n, int64_t seq) {
  for (size_t i = 0; i < *n; i++)
    if (ts[i].seq == seq) return &ts[i];
  ts[*n] = (tally){seq, 0, 0};
  return &ts[(*n)++];
}

pl_err sla_thread_apply(sla_thread_outcome *t, const sla_change *c, size_t n,
                        const sla_reply_count *replies, size_t n_replies) {
  sla_thread_outcome x = *t;
  /* Each change names at most two replies; the given counts add their own. */
  tally *ts = pl_xmalloc((2 * n + n_replies + 1) * sizeof *ts);
  size_t nts = 0;
  pl_err e = PL_OK;
  for (size_t i = 0; i < n_replies; i++) {
    tally *r = tally_of(ts, &nts, replies[i].reply_seq);
    r->before = r->after = replies[i].unflagged;
  }
  for (size_t i = 0; i < n && !e; i++) {
    const sla_outcome *o = &c[i].old, *w = &c[i].now;
    if (!c[i].is_new && !o->flagged) {
      x.unflagged--;
      if (!o->answered) x.open--;
      else if (--tally_of(ts, &nts, o->reply_seq)->after < 0) e = PL_ECONFLICT;
    }
    if (!w->flagged) {
      x.unflagged++;
      if (!w->answered) x.open++;
      else tally_of(ts, &nts, w->reply_seq)->after++;
    }
    /* An earlier first buyer message moves the thread's hour. */
    if (c[i].is_new && w->received_at < x.first_received_at) x.first_received_at = w->received_at;
  }
  for (size_t i = 0; i < nts; i++) x.exchanges += (ts[i].after > 0) - (ts[i].before > 0);
  free(ts);
  if (!e && (x.unflagged < 0 || x.open < 0 || x.open > x.unflagged || x.exchanges < 0))
    e = PL_ECONFLICT;
  if (e) return e;
  x.counted = x.unflagged > 0;
  x.resolved = x.counted && x.open == 0;
  *t = x;
  return PL_OK;
}
