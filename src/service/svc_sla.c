/* svc_sla.c - the 24-hour clock in the service: hourly aggregates kept in the same
 * transaction as the events, and metrics read from them (or recomputed). */
#include <stdlib.h>
#include <string.h>

#include "service/svc_int.h"
#include "util/pl_ref.h"

static void sla_config_for(const svc_rules *r, sla_config *c) {
  sla_config_default(c);
  c->deadline_s = r->response_hours * 3600;
  c->alert_s = r->alert_hours * 3600;
  c->good_min = r->crt_good_percent;
  c->warning_min = r->crt_warning_percent;
  c->over_flag_rate = r->over_flag_rate;
  if (r->over_flag_window_days > 0) c->flag_window_s = r->over_flag_window_days * 86400;
}

/* The buckets one refresh touches, loaded once and written back once. */
typedef struct {
  sla_bucket b;
  bool loaded;
} touched;

static pl_err bucket_of(svc *s, const char *seller, sla_bucket_key k, touched *tb, size_t *ntb,
                        size_t cap, pl_arena *a, sla_bucket **out) {
  for (size_t i = 0; i < *ntb; i++)
    if (tb[i].b.hour == k.hour && tb[i].b.agent_id == k.agent_id) {
      *out = &tb[i].b;
      return PL_OK;
    }
  if (*ntb == cap) return PL_EINTERNAL;
  touched *t = &tb[(*ntb)++];
  pl_err e = s->st->ops->sla_bucket_get(s->st, seller, k, a, &t->b);
  if (e == PL_ENOTFOUND) sla_bucket_init(&t->b, k);
  else if (e) return e;
  t->loaded = true;
  *out = &t->b;
  return PL_OK;
}

static const sla_outcome *find_outcome(const sla_outcome *o, size_t n, int64_t id) {
  for (size_t i = 0; i < n; i++)
    if (o[i].msg_id == id) return &o[i];
  return NULL;
}

pl_err svc__sla_refresh(svc *s, const st_thread *t, pl_arena *a) {
  sla_events ev;
  pl_err e = s->st->ops->sla_thread_events(s->st, t->id, a, &ev);
  if (e) return e;
  sla_outcome *now_o, *old_o;
  size_t nn, on;
  sla_thread_outcome now_t, old_t;
  bool has_old_t;
  pl_detail d = {0};
  if ((e = sla_thread_eval(&ev, SLA_FOREVER, a, &now_o, &nn, &now_t, &d))) return e;
  if ((e = s->st->ops->sla_outcomes_get(s->st, t->id, a, &old_o, &on, &old_t, &has_old_t))) return e;

  size_t cap = 2 * (nn + on) + 4, ntb = 0;
  touched *tb = pl_arena_alloc(a, cap * sizeof *tb);
  sla_bucket *b;
  for (size_t i = 0; !e && i < on; i++) {
    const sla_outcome *now = find_outcome(now_o, nn, old_o[i].msg_id);
    if (now && sla_outcome_equal(now, &old_o[i])) continue;
    e = bucket_of(s, t->seller_id, sla_bucket_key_of(&old_o[i]), tb, &ntb, cap, a, &b);
    if (!e) e = sla_bucket_remove(b, &old_o[i]);
  }
  for (size_t i = 0; !e && i < nn; i++) {
    const sla_outcome *old = find_outcome(old_o, on, now_o[i].msg_id);
    if (old && sla_outcome_equal(old, &now_o[i])) continue;
    e = bucket_of(s, t->seller_id, sla_bucket_key_of(&now_o[i]), tb, &ntb, cap, a, &b);
    if (!e) e = sla_bucket_add(b, &now_o[i]);
  }
  if (!e && !(has_old_t && sla_thread_outcome_equal(&old_t, &now_t))) {
    if (has_old_t && old_t.counted) {
      e = bucket_of(s, t->seller_id, sla_bucket_key_of_thread(&old_t), tb, &ntb, cap, a, &b);
      if (!e) e = sla_bucket_remove_thread(b, &old_t);
    }
    if (!e && now_t.counted) {
      e = bucket_of(s, t->seller_id, sla_bucket_key_of_thread(&now_t), tb, &ntb, cap, a, &b);
      if (!e) e = sla_bucket_add_thread(b, &now_t);
    }
  }
  /* A bucket that does not hold what it should means the aggregates drifted from the
   * events: refuse the change rather than store wrong metrics. */
  if (e == PL_ECONFLICT) e = PL_EINTERNAL;
  for (size_t i = 0; i < ntb; i++) {
    if (!e) e = s->st->ops->sla_bucket_put(s->st, t->seller_id, &tb[i].b);
    sla_bucket_release(&tb[i].b);
  }
  if (!e) e = s->st->ops->sla_outcomes_put(s->st, t->seller_id, t->id, now_o, nn, nn ? &now_t : NULL);
  return e;
}

pl_err svc__sla_changed(svc *s, const st_thread *t, svc__change k, const st_message *m, bool had_buyer,
                        pl_arena *a) {
  /* a buyer's out-of-office asks nothing: it is no buyer message for the clock */
  bool buyer = m->direction == ST_DIR_BUYER && m->kind != ST_KIND_AUTO_REPLY;
  /* A substantive reply delivered (sent so, or approved): the clock's kinds as the store
   * reads them (store__sla_kind). */
  bool answer = !buyer && m->kind == ST_KIND_MESSAGE && m->status == ST_STATUS_DELIVERED;
  if (k == SVC__FLAG ? !buyer : k == SVC__STATUS ? !answer : !buyer && !answer)
    return PL_OK; /* notes, auto-replies, held, rejected or bounced replies: no outcome moves */
  const store_ops *op = s->st->ops;
  sla_thread_outcome th;
  pl_err e = op->sla_thread_outcome_get(s->st, t->seller_id, t->id, &th);
  bool has = !e;
  if (e == PL_ENOTFOUND) e = PL_OK;
  if (e) return e;
  /* Buyer messages without a stored thread outcome (a store whose clock data was never
   * built for this thread): the thread is evaluated whole once, and kept from then on. */
  if (!has && had_buyer) return svc__sla_refresh(s, t, a);
  if (!has && !(k == SVC__NEW_MESSAGE && buyer)) return PL_OK; /* no buyer message to change */

  sla_change *ch = NULL;
  size_t n = 0;
  if (k == SVC__NEW_MESSAGE && buyer) {
    if (!has) th = (sla_thread_outcome){.thread_id = t->id, .first_received_at = m->at};
    ch = pl_arena_alloc(a, sizeof *ch);
    ch[n++] = (sla_change){.is_new = true, .now = sla_outcome_arrived(m->id, t->id, m->at)};
  } else if (answer) {
    sla_seller_msg r = {.thread_id = t->id, .agent_id = m->agent_id, .sent_at = m->at,
                        .delivered_at = m->status_at, .seq = m->id, .kind = SLA_SUBSTANTIVE};
    sla_outcome *o;
    size_t no;
    if ((e = store_sla_outcomes_answerable(s->st, t->id, m->at, m->id, a, &o, &no))) return e;
    ch = pl_arena_alloc(a, (no ? no : 1) * sizeof *ch);
    for (size_t i = 0; i < no; i++) {
      if (!sla_reply_takes_over(&r, &o[i], o[i].msg_id)) continue; /* the seq of a buyer message is its id */
      ch[n] = (sla_change){.old = o[i], .now = o[i]};
      sla_outcome_answer(&ch[n++].now, &r);
    }
  } else {
    sla_outcome o;
    bool flagged;
    if ((e = store_sla_outcome_get(s->st, m->id, &o)) || (e = store_sla_flag_state(s->st, m->id, &flagged)))
      return e == PL_ENOTFOUND ? PL_EINTERNAL : e;
    if (o.flagged == flagged) return PL_OK; /* an earlier flag event than the latest one */
    ch = pl_arena_alloc(a, sizeof *ch);
    ch[n] = (sla_change){.old = o, .now = o};
    ch[n++].now.flagged = flagged;
  }
  if (!n) return PL_OK;

  /* How many unflagged messages each reply of a changed outcome answered before: whether
   * the thread gains or keeps that exchange. */
  sla_reply_count *rc = pl_arena_alloc(a, 2 * n * sizeof *rc);
  size_t nrc = 0;
  for (size_t i = 0; i < 2 * n && !e; i++) {
    const sla_outcome *o = i % 2 ? &ch[i / 2].now : &ch[i / 2].old;
    if ((i % 2 == 0 && ch[i / 2].is_new) || o->flagged || !o->answered) continue;
    bool seen = false;
    for (size_t j = 0; j < nrc && !seen; j++) seen = rc[j].reply_seq == o->reply_seq;
    if (seen) continue;
    rc[nrc].reply_seq = o->reply_seq;
    e = store_sla_reply_count(s->st, t->id, o->answered_at, o->reply_seq, &rc[nrc++].unflagged);
  }
  sla_thread_outcome nt = th;
  if (!e) e = sla_thread_apply(&nt, ch, n, rc, nrc);

  size_t cap = 2 * n + 2, ntb = 0;
  touched *tb = pl_arena_alloc(a, cap * sizeof *tb);
  sla_bucket *b;
  for (size_t i = 0; !e && i < n; i++) {
    if (!ch[i].is_new) {
      e = bucket_of(s, t->seller_id, sla_bucket_key_of(&ch[i].old), tb, &ntb, cap, a, &b);
      if (!e) e = sla_bucket_remove(b, &ch[i].old);
    }
    if (!e) e = bucket_of(s, t->seller_id, sla_bucket_key_of(&ch[i].now), tb, &ntb, cap, a, &b);
    if (!e) e = sla_bucket_add(b, &ch[i].now);
  }
  bool thread_changed = !has || !sla_thread_outcome_equal(&th, &nt);
  if (!e && thread_changed) {
    if (has && th.counted) {
      e = bucket_of(s, t->seller_id, sla_bucket_key_of_thread(&th), tb, &ntb, cap, a, &b);
      if (!e) e = sla_bucket_remove_thread(b, &th);
    }
    if (!e && nt.counted) {
      e = bucket_of(s, t->seller_id, sla_bucket_key_of_thread(&nt), tb, &ntb, cap, a, &b);
      if (!e) e = sla_bucket_add_thread(b, &nt);
    }
  }
  /* As in svc__sla_refresh(): aggregates that do not hold what they should refuse. */
  if (e == PL_ECONFLICT) e = PL_EINTERNAL;
  for (size_t i = 0; i < ntb; i++) {
    if (!e) e = op->sla_bucket_put(s->st, t->seller_id, &tb[i].b);
    sla_bucket_release(&tb[i].b);
  }
  for (size_t i = 0; !e && i < n; i++) e = store_sla_outcome_set(s->st, t->seller_id, &ch[i].now);
  if (!e && thread_changed) e = store_sla_thread_outcome_set(s->st, t->seller_id, &nt);
  return e;
}

static bool same_bucket(const sla_bucket *x, const sla_bucket *y) {
  return x->hour == y->hour && x->agent_id == y->agent_id && x->received == y->received &&
         x->flagged == y->flagged && x->open == y->open && x->rt_sum == y->rt_sum &&
         x->n_rt == y->n_rt && (!x->n_rt || !memcmp(x->rt, y->rt, x->n_rt * sizeof *x->rt)) &&
         x->threads == y->threads && x->resolved_one == y->resolved_one &&
         x->resolved_two == y->resolved_two;
}

static int cmp_bucket(const void *pa, const void *pb) {
  const sla_bucket *x = pa, *y = pb;
  if (x->hour != y->hour) return x->hour < y->hour ? -1 : 1;
  return (x->agent_id > y->agent_id) - (x->agent_id < y->agent_id);
}

pl_err svc__sla_verify(svc *s, const st_thread *t, pl_arena *a, pl_detail *d) {
  const store_ops *op = s->st->ops;
  sla_events ev;
  sla_outcome *now_o, *old_o;
  size_t nn, on;
  sla_thread_outcome now_t, old_t;
  bool has_old_t;
  pl_err e = op->sla_thread_events(s->st, t->id, a, &ev);
  if (!e) e = sla_thread_eval(&ev, SLA_FOREVER, a, &now_o, &nn, &now_t, d);
  if (!e) e = op->sla_outcomes_get(s->st, t->id, a, &old_o, &on, &old_t, &has_old_t);
  if (e) return e;
  if (nn != on) return pl_fail(d, PL_EINTERNAL, "thread T%lld: %zu stored outcomes, %zu buyer messages",
                               (long long)t->id, on, nn);
  for (size_t i = 0; i < nn; i++) {
    const sla_outcome *o = find_outcome(old_o, on, now_o[i].msg_id);
    if (!o || !sla_outcome_equal(o, &now_o[i]))
      return pl_fail(d, PL_EINTERNAL, "M%lld: the stored clock outcome differs from the recomputation",
                     (long long)now_o[i].msg_id);
  }
  if (has_old_t != (nn > 0) || (nn && !sla_thread_outcome_equal(&old_t, &now_t)))
    return pl_fail(d, PL_EINTERNAL,
                   "thread T%lld: stored thread outcome (counted %d resolved %d exchanges %lld"
                   " unflagged %lld open %lld) differs from the recomputation (%d %d %lld %lld %lld)",
                   (long long)t->id, old_t.counted, old_t.resolved, (long long)old_t.exchanges,
                   (long long)old_t.unflagged, (long long)old_t.open, now_t.counted, now_t.resolved,
                   (long long)now_t.exchanges, (long long)now_t.unflagged, (long long)now_t.open);
  /* Every hourly bucket of the seller against a rebuild from all the seller's events. */
  const int64_t all[1][2] = {{INT64_MIN, INT64_MAX}};
  sla_events sev;
  sla_bucket *stored, *ref = NULL;
  size_t ns, nref = 0;
  if ((e = op->sla_range_events(s->st, t->seller_id, all, 1, INT64_MAX, a, &sev)) ||
      (e = op->sla_bucket_range(s->st, t->seller_id, INT64_MIN / 4, INT64_MAX / 4, a, &stored, &ns)) ||
      (e = sla_buckets_build(&sev, &ref, &nref, d)))
    return e;
  if (ns > 1) qsort(stored, ns, sizeof *stored, cmp_bucket);
  size_t j = 0;
  for (size_t i = 0; i < ns && !e; i++) {
    if (sla_bucket_is_empty(&stored[i])) continue;
    if (j >= nref || !same_bucket(&stored[i], &ref[j]))
      e = pl_fail(d, PL_EINTERNAL, "seller %s: the hourly bucket of hour %lld, agent %lld differs from the rebuild",
                  t->seller_id, (long long)stored[i].hour, (long long)stored[i].agent_id);
    j++;
  }
  if (!e && j != nref)
    e = pl_fail(d, PL_EINTERNAL, "seller %s: %zu stored hourly buckets, %zu in the rebuild", t->seller_id, j, nref);
  sla_buckets_free(ref, nref);
  return e;
}

static pl_err metrics_in_tx(svc *s, const char *seller_id, const sla_config *cfg, pl_time at,
                            int64_t window_s, bool recompute, pl_arena *a, sla_metrics *out,
                            pl_detail *d) {
  pl_err e;
  if (!recompute) {
    sla_plan plan;
    sla_plan_query(cfg, at, window_s, &plan);
    sla_bucket *bs;
    size_t nb;
    if ((e = s->st->ops->sla_bucket_range(s->st, seller_id, plan.hour_lo, plan.hour_hi, a, &bs, &nb)))
      return e;
    int64_t ranges[4][2];
    for (size_t i = 0; i < plan.n_edge; i++) {
      ranges[i][0] = plan.edge[i] * 3600 - 1;
      ranges[i][1] = plan.edge[i] * 3600 + 3599;
    }
    sla_events edges;
    if ((e = s->st->ops->sla_range_events(s->st, seller_id, (const int64_t (*)[2])ranges, plan.n_edge,
                                          at, a, &edges)))
      return e;
    sla_open_msg *open;
    size_t nopen;
    if ((e = store_sla_open_list(s->st, seller_id, at - window_s, at, a, &open, &nopen))) return e;
    return sla_from_buckets(cfg, at, window_s, bs, nb, &edges, open, nopen, a, out, d);
  }
  int64_t span = window_s > cfg->flag_window_s ? window_s : cfg->flag_window_s;
  int64_t range[1][2] = {{at - span, at}};
  sla_events ev;
  if ((e = s->st->ops->sla_range_events(s->st, seller_id, (const int64_t (*)[2])range, 1, at, a, &ev)))
    return e;
  return sla_compute(cfg, &ev, at, window_s, a, out, d);
}

/* The complaint rate over the same window (claims are the operator's records, not events
 * of the clock). */
static pl_err complaints_in_tx(svc *s, const char *seller_id, const svc_rules *r, pl_time at, int64_t window_s,
                               sla_metrics *m) {
  int64_t conv = 0, claimed = 0;
  pl_err e = store_complaint_counts(s->st, seller_id, at - window_s, at, &conv, &claimed);
  if (!e) sla_complaints_set(m, conv, claimed, r->complaint_rate_max, r->complaint_min_conversations);
  return e;
}

pl_err svc_metrics(svc *s, const svc_caller *c, const char *seller_id, pl_time at, int64_t window_s,
                   bool verify, pl_arena *a, sla_metrics *out, pl_detail *d) {
  if (c->kind == ST_PRINCIPAL_BUYER || (c->kind == ST_PRINCIPAL_AGENT && strcmp(c->seller_id, seller_id)))
    return pl_fail(d, PL_ENOTFOUND, "no seller %s", seller_id);
  if (window_s <= 0 || window_s > 366 * 86400) return pl_fail(d, PL_EINVAL, "the window is from 1 second to 366 days");
  pl_err e = svc__begin(s, false, d);
  if (e) return e;
  st_seller sl;
  svc_rules r;
  sla_config cfg;
  pl_time latest = 0;
  e = store_seller_get(s->st, seller_id, NULL, a, &sl);
  if (e == PL_ENOTFOUND || (!e && c->marketplace_id && strcmp(c->marketplace_id, sl.marketplace_id)))
    e = pl_fail(d, PL_ENOTFOUND, "no seller %s", seller_id);
  if (!e) e = svc__rules_for(s, sl.marketplace_id, a, &r);
  if (!e) e = store_sla_latest(s->st, seller_id, &latest);
  if (!e) {
    sla_config_for(&r, &cfg);
    if (!at) at = svc_now(s);
    /* The aggregates hold everything known: exact for a time at or after the latest
     * event; an earlier time is recomputed from the window's events. */
    bool recompute = at < latest;
    e = metrics_in_tx(s, seller_id, &cfg, at, window_s, recompute, a, out, d);
    if (!e) e = complaints_in_tx(s, seller_id, &r, at, window_s, out);
    if (!e && verify) {
      sla_metrics check;
      e = metrics_in_tx(s, seller_id, &cfg, at, window_s, !recompute, a, &check, d);
      if (!e) e = complaints_in_tx(s, seller_id, &r, at, window_s, &check);
      if (!e) {
        json_t *x = sla_metrics_to_json(out, seller_id), *y = sla_metrics_to_json(&check, seller_id);
        if (!json_equal(x, y))
          e = pl_fail(d, PL_EINTERNAL, "the hourly aggregates differ from the recomputation from raw events");
        json_decref(x);
        json_decref(y);
      }
    }
  }
  return svc__end(s, e, d);
}

pl_err svc_seller_health(svc *s, const svc_caller *c, pl_arena *a, svc_health **out, size_t *n,
                         pl_detail *d) {
  if (c->kind != ST_PRINCIPAL_OPERATOR) return pl_fail(d, PL_EFORBIDDEN, "sellers' health is the operator's view");
  pl_err e = svc__begin(s, false, d);
  if (e) return e;
  st_seller *sl;
  size_t ns = 0;
  e = store_seller_list(s->st, c->marketplace_id, a, &sl, &ns);
  svc_health *h = pl_arena_alloc(a, (ns ? ns : 1) * sizeof *h);
  pl_time now = svc_now(s);
  for (size_t i = 0; !e && i < ns; i++) {
    svc_rules r;
    sla_config cfg;
    pl_time latest = 0;
    memset(&h[i], 0, sizeof h[i]);
    h[i].seller = sl[i];
    e = svc__rules_for(s, sl[i].marketplace_id, a, &r);
    if (!e) e = store_sla_latest(s->st, sl[i].id, &latest);
    if (!e) {
      sla_config_for(&r, &cfg);
      e = metrics_in_tx(s, sl[i].id, &cfg, now, 30 * 86400, now < latest, a, &h[i].metrics, d);
      if (!e) e = complaints_in_tx(s, sl[i].id, &r, now, 30 * 86400, &h[i].metrics);
    }
    if (!e) {
      pl_err g = store_enforcement_get(s->st, sl[i].id, a, &h[i].enforcement);
      if (g == PL_ENOTFOUND) h[i].enforcement = (st_enforcement){.seller_id = sl[i].id};
      else e = g;
    }
  }
  e = svc__end(s, e, d);
  if (e) return e;
  /* Riskiest first: flagged for suspension, then by CRT status, then lowest CRT. */
  for (size_t i = 1; i < ns; i++) {
    svc_health x = h[i];
    size_t j = i;
    while (j > 0 && svc_health_riskier(&x, &h[j - 1])) {
      h[j] = h[j - 1];
      j--;
    }
    h[j] = x;
  }
  *out = h;
  *n = ns;
  return PL_OK;
}

/* At risk by its response time or by its complaint rate. */
static bool at_risk(const sla_metrics *m) { return m->status == SLA_AT_RISK || m->complaint_at_risk; }

static int status_rank(const sla_metrics *m) {
  return at_risk(m) ? 0 : m->status == SLA_WARNING ? 1 : m->status == SLA_GOOD ? 2 : 3;
}

bool svc_health_riskier(const svc_health *x, const svc_health *y) {
  if (x->enforcement.suspension_flag != y->enforcement.suspension_flag) return x->enforcement.suspension_flag;
  int rx = status_rank(&x->metrics), ry = status_rank(&y->metrics);
  if (rx != ry) return rx < ry;
  double px = x->metrics.crt_percent.has_value ? x->metrics.crt_percent.value : 101;
  double py = y->metrics.crt_percent.has_value ? y->metrics.crt_percent.value : 101;
  if (px != py) return px < py;
  return x->metrics.no_response_rate.has_value && x->metrics.over_flagging && !y->metrics.over_flagging;
}

pl_err svc_deadline_tick(svc *s) {
  pl_time now = svc_now(s);
  pl_time last = s->deadline_checked ? s->deadline_checked : now - 60;
  if (now <= last) return PL_OK;
  pl_arena *a = pl_arena_new();
  pl_detail d = {0};
  pl_err e = svc__begin(s, false, &d);
  st_thread *ts = NULL;
  size_t n = 0;
  /* Candidates: due within the longest alert window a marketplace may set (48 h);
   * each thread is then held to its own marketplace's alert mark. */
  if (!e) e = store_thread_due_list(s->st, last, now + 48 * 3600, 1000, a, &ts, &n);
  size_t k = 0;
  /* threads whose deadline passed since the last look: the webhooks' thread.overdue */
  st_thread *late = n ? pl_arena_alloc(a, n * sizeof *late) : NULL;
  size_t nl = 0;
  for (size_t i = 0; !e && i < n; i++) {
    svc_rules r;
    if ((e = svc__rules_for(s, ts[i].marketplace_id, a, &r))) break;
    if (ts[i].response_due_at > last && ts[i].response_due_at <= now) late[nl++] = ts[i];
    pl_time mark = ts[i].response_due_at - r.alert_hours * 3600;
    if (mark > last && mark <= now) ts[k++] = ts[i];
  }
  if (!e) e = svc__end(s, PL_OK, &d);
  else svc__end(s, e, &d);
  /* the webhooks that hear of deadlines: queued once per thread and due time, whichever
   * node's tick sees it first */
  if (!e && (k || nl) && !(e = svc__begin(s, true, &d))) {
    for (size_t i = 0; !e && i < k; i++) e = svc__webhook_deadline(s, &ts[i], false, a);
    for (size_t i = 0; !e && i < k; i++) e = svc__notify_deadline(s, &ts[i], a);
    for (size_t i = 0; !e && i < nl; i++) e = svc__webhook_deadline(s, &late[i], true, a);
    e = svc__end(s, e, &d);
  }
  if (!e) {
    s->deadline_checked = now;
    for (size_t i = 0; i < k; i++) svc__publish_deadline(s, &ts[i]);
  }
  pl_arena_free(a);
  return e;
}

pl_err svc_health_tick(svc *s) {
  pl_time now = svc_now(s);
  if (s->health_checked && now - s->health_checked < SVC_HEALTH_SECONDS) return PL_OK;
  s->health_checked = now;
  static const svc_caller parley = {.kind = ST_PRINCIPAL_OPERATOR, .name = "parley"};
  pl_arena *a = pl_arena_new();
  svc_health *h = NULL;
  size_t n = 0;
  pl_err e = svc_seller_health(s, &parley, a, &h, &n, NULL);
  if (!e && n && !(e = svc__begin(s, true, NULL))) {
    for (size_t i = 0; !e && i < n; i++) {
      const sla_metrics *m = &h[i].metrics;
      bool changed = false;
      e = store_seller_health_set(s->st, h[i].seller.id, at_risk(m) ? "at_risk" : sla_status_name(m->status), now,
                                  &changed);
      pl_time since = 0;
      if (!e) e = store_seller_crt_at_risk(s->st, h[i].seller.id, m->status == SLA_AT_RISK, now, &since);
      if (!e)
        e = svc__poor_performance(s, h[i].seller.id, h[i].seller.marketplace_id, since,
                                  m->crt_percent.has_value ? m->crt_percent.value : 0, a);
      /* the node that records the change tells the operator's webhooks, once */
      if (!e && changed && at_risk(m))
        e = svc__webhook_event(s, h[i].seller.id, h[i].seller.marketplace_id, "seller.at_risk",
                               svc__json_keep(a, json_pack("{s:s,s:s,s:s,s:s,s:o,s:f,s:o,s:b,s:i}", "seller_id", h[i].seller.id,
                                         "name", h[i].seller.name, "marketplace_id", h[i].seller.marketplace_id,
                                         "status", "at_risk", "crt_percent",
                                         m->crt_percent.has_value ? json_real(m->crt_percent.value) : json_null(),
                                         "warning_min", m->warning_min, "complaint_percent",
                                         m->complaint_percent.has_value ? json_real(m->complaint_percent.value)
                                                                        : json_null(),
                                         "complaint_at_risk", m->complaint_at_risk, "window_days", 30)),
                               a);
    }
    e = svc__end(s, e, NULL);
  }
  pl_arena_free(a);
  return e;
}

/* ---- claims (docs/metrics.md, "Complaint rate") -------------------------------------- */

static const char *const claim_kinds[] = {"a_to_z", "chargeback", "negative_feedback", NULL};

static json_t *claim_view(const st_claim *c) {
  char ref[PL_REF_MAX], at[32];
  return json_pack("{s:s,s:s,s:s,s:s}", "id", pl_ref_format(ref, "CL", c->id), "order_id", c->order_id, "kind",
                   c->kind, "at", pl_time_format(c->at, at));
}

pl_err svc__claim_record(svc *s, const char *seller_id, const char *marketplace_id, const char *order_id,
                         const char *kind, pl_time at, const char *actor, pl_arena *a, st_claim *out, pl_detail *d) {
  bool known = false;
  for (size_t i = 0; kind && claim_kinds[i]; i++) known |= !strcmp(kind, claim_kinds[i]);
  if (!known) return pl_fail(d, PL_EINVAL, "field 'kind' must be a_to_z, chargeback or negative_feedback");
  pl_err e = svc__begin(s, true, d);
  if (e) return e;
  st_order o;
  e = store_order_get(s->st, order_id, a, &o);
  if (e == PL_ENOTFOUND || (!e && seller_id && strcmp(o.seller_id, seller_id)) ||
      (!e && marketplace_id && strcmp(o.marketplace_id, marketplace_id)))
    e = pl_fail(d, PL_ENOTFOUND, "no order %s of this seller", order_id);
  *out = (st_claim){.order_id = (char *)order_id, .kind = (char *)kind, .at = at, .created_at = svc_now(s)};
  if (!e) {
    out->seller_id = o.seller_id;
    e = store_claim_add(s->st, out);
    if (e == PL_EEXIST) e = pl_fail(d, PL_EEXIST, "order %s has this claim already", order_id);
  }
  if (!e) {
    char ref[PL_REF_MAX], when[32];
    e = svc__audit(s, o.seller_id, actor, "claim.recorded", order_id,
                   json_pack("{s:s,s:s,s:s}", "claim", pl_ref_format(ref, "CL", out->id), "kind", kind, "at",
                             pl_time_format(at, when)));
  }
  return svc__end(s, e, d);
}

pl_err svc_claim_add(svc *s, const svc_caller *c, const char *seller_id, json_t *in, pl_arena *a, json_t **out,
                     pl_detail *d) {
  if (c->kind != ST_PRINCIPAL_OPERATOR) return pl_fail(d, PL_EFORBIDDEN, "claims are recorded by the operator");
  const char *order_id = json_string_value(json_object_get(in, "order_id")),
             *kind = json_string_value(json_object_get(in, "kind")),
             *at_s = json_string_value(json_object_get(in, "at"));
  if (!order_id) return pl_fail(d, PL_EMISSING, "field 'order_id' is required");
  if (!kind) return pl_fail(d, PL_EMISSING, "field 'kind' (a_to_z, chargeback, negative_feedback) is required");
  pl_time at = svc_now(s);
  if (json_object_get(in, "at") && (!at_s || !pl_time_parse(at_s, &at)))
    return pl_fail(d, PL_EINVAL, "field 'at' must be an ISO 8601 time");
  if (at > svc_now(s) + 300) return pl_fail(d, PL_EINVAL, "a claim cannot be in the future");
  /* an operator of one marketplace records the claims of that marketplace's orders */
  st_claim cl;
  pl_err e = svc__claim_record(s, seller_id, c->marketplace_id, order_id, kind, at, c->name, a, &cl, d);
  if (!e) *out = json_pack("{s:o}", "claim", claim_view(&cl));
  return e;
}

pl_err svc_claims_list(svc *s, const svc_caller *c, const char *seller_id, pl_arena *a, json_t **out, pl_detail *d) {
  if (c->kind == ST_PRINCIPAL_BUYER || (c->kind == ST_PRINCIPAL_AGENT && strcmp(c->seller_id, seller_id)))
    return pl_fail(d, PL_ENOTFOUND, "no seller %s", seller_id);
  pl_err e = svc__begin(s, false, d);
  if (e) return e;
  st_seller sl;
  st_claim *cs = NULL;
  size_t n = 0;
  e = store_seller_get(s->st, seller_id, NULL, a, &sl);
  if (e == PL_ENOTFOUND || (!e && c->marketplace_id && strcmp(c->marketplace_id, sl.marketplace_id)))
    e = pl_fail(d, PL_ENOTFOUND, "no seller %s", seller_id);
  if (!e) e = store_claim_list(s->st, seller_id, 200, a, &cs, &n);
  if (!e) {
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++) json_array_append_new(list, claim_view(&cs[i]));
    *out = json_pack("{s:o}", "claims", list);
  }
  return svc__end(s, e, d);
}
