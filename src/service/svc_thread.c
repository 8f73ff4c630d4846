/* svc_thread.c - threads and messages: start, send, read, flag, archive, export. */
#include <stdlib.h>
#include <string.h>

#include "service/svc_int.h"

/* A seller message that answers buyer messages: delivered, substantive. */
static bool counts_as_answer(const st_message *m) {
  return m->direction == ST_DIR_SELLER && m->kind == ST_KIND_MESSAGE && m->status == ST_STATUS_DELIVERED;
}

/* A seller message the buyer sees: delivered, not the team's note (st_thread.last_seller_id). */
static bool seller_visible(const st_message *m) {
  return m->direction == ST_DIR_SELLER && m->kind != ST_KIND_NOTE && m->status == ST_STATUS_DELIVERED;
}

/* The thread's newest buyer message and newest seller message the buyer sees, by id,
 * over messages msgs[0..n) of the whole thread. */
static void last_ids(st_thread *t, const st_message *msgs, size_t n) {
  t->last_buyer_id = t->last_seller_id = 0;
  for (size_t i = 0; i < n; i++) {
    if (msgs[i].direction == ST_DIR_BUYER) {
      if (msgs[i].id > t->last_buyer_id) t->last_buyer_id = msgs[i].id;
    } else if (seller_visible(&msgs[i]) && msgs[i].id > t->last_seller_id) {
      t->last_seller_id = msgs[i].id;
    }
  }
}

/* The summary of messages msgs[0..n) in thread order, from zero: the whole thread, or
 * its end from the last counting answer on (which resets the counts anyway, and, a
 * delivered reply, is the newest message the buyer saw before it). Sets *oldest to the
 * oldest unflagged buyer message since the last answer. */
static void summarize(st_thread *t, const st_message *msgs, size_t n, pl_time *oldest) {
  t->waiting = 0;
  t->needs_response = 0;
  t->response_due_at = 0;
  t->last_buyer_at = 0;
  t->last_seller_at = 0;
  t->buyer_last_at = 0;
  *oldest = 0;
  static const svc_caller buyer = {.kind = ST_PRINCIPAL_BUYER};
  for (size_t i = 0; i < n; i++) {
    const st_message *m = &msgs[i];
    if (m->at > t->last_message_at) t->last_message_at = m->at;
    if (m->at > t->buyer_last_at && svc_message_visible(&buyer, m)) t->buyer_last_at = m->at;
    if (m->direction == ST_DIR_BUYER) {
      if (m->kind == ST_KIND_AUTO_REPLY) continue; /* a buyer's out-of-office asks nothing */
      t->last_buyer_at = m->at;
      t->waiting++;
      if (!m->flagged) {
        if (!t->needs_response) *oldest = m->at;
        t->needs_response++;
      }
    } else {
      if (m->kind != ST_KIND_NOTE) t->last_seller_at = m->at;
      if (counts_as_answer(m)) {
        t->waiting = 0;
        t->needs_response = 0;
        *oldest = 0;
      }
    }
  }
}

/* The oldest unflagged buyer message since the last answer sets the deadline. */
static pl_err set_due(svc *s, st_thread *t, pl_time oldest, pl_arena *a) {
  t->response_due_at = 0;
  if (!t->needs_response) return PL_OK;
  svc_rules r;
  pl_err re = svc__rules_for(s, t->marketplace_id, a, &r);
  if (re) return re;
  t->response_due_at = oldest + r.response_hours * 3600;
  return PL_OK;
}

pl_err svc__thread_recompute(svc *s, st_thread *t, pl_arena *a) {
  st_message *msgs;
  size_t n;
  pl_err e = s->st->ops->message_list(s->st, t->id, a, &msgs, &n);
  if (e) return e;
  pl_time oldest;
  summarize(t, msgs, n, &oldest);
  last_ids(t, msgs, n);
  if ((e = set_due(s, t, oldest, a))) return e;
  pl_err se = svc__sla_refresh(s, t, a);
  if (se) return se;
  return s->st->ops->thread_update(s->st, t);
}

pl_err svc__thread_changed(svc *s, st_thread *t, svc__change k, const st_message *m, pl_arena *a) {
  pl_err e = PL_OK;
  bool had_buyer = t->last_buyer_at != 0;
  if (k == SVC__NEW_MESSAGE) {
    /* Before the thread's last message (an import out of order): every later message
     * may see it differently, so the whole thread is read again. */
    if (m->at < t->last_message_at) return svc__thread_recompute(s, t, a);
    /* After every message of the thread: the summary moves by this message alone, as
     * summarize() would take it last. */
    t->last_message_at = m->at;
    static const svc_caller buyer = {.kind = ST_PRINCIPAL_BUYER};
    if (m->at > t->buyer_last_at && svc_message_visible(&buyer, m)) t->buyer_last_at = m->at;
    if (m->direction == ST_DIR_BUYER && m->id > t->last_buyer_id) t->last_buyer_id = m->id;
    if (seller_visible(m) && m->id > t->last_seller_id) t->last_seller_id = m->id;
    if (m->direction == ST_DIR_BUYER) {
      if (m->kind != ST_KIND_AUTO_REPLY) { /* a buyer's out-of-office asks nothing */
        t->last_buyer_at = m->at;
        t->waiting++;
        if (!m->flagged && !t->needs_response++) e = set_due(s, t, m->at, a);
      }
    } else {
      if (m->kind != ST_KIND_NOTE) t->last_seller_at = m->at;
      if (counts_as_answer(m)) {
        t->waiting = 0;
        t->needs_response = 0;
        t->response_due_at = 0;
      }
    }
  } else {
    /* A flag or a status change: only the messages since the last counting answer can
     * change the summary (an approved reply becomes that answer; a bounced one stops
     * being it), so only they are read, from the end of the thread. */
    st_message *msgs;
    size_t n;
    pl_time last_buyer_at, oldest;
    e = s->st->ops->thread_tail(s->st, t->id, a, &msgs, &n, &last_buyer_at);
    if (!e) {
      summarize(t, msgs, n, &oldest);
      t->last_buyer_at = last_buyer_at;
      e = set_due(s, t, oldest, a);
    }
    /* A reply the buyer now sees (approved) is the newest one if it is newer; the newest
     * one no longer seen (bounced) leaves the one before it, read from the whole thread:
     * a rare event. */
    if (!e && k == SVC__STATUS) {
      if (seller_visible(m)) {
        if (m->id > t->last_seller_id) t->last_seller_id = m->id;
      } else if (m->id == t->last_seller_id) {
        if (!(e = s->st->ops->message_list(s->st, t->id, a, &msgs, &n))) last_ids(t, msgs, n);
      }
    }
  }
  if (!e) e = svc__sla_changed(s, t, k, m, had_buyer, a);
  if (!e) e = s->st->ops->thread_update(s->st, t);
  return e;
}

pl_err svc__order_canceled(svc *s, const char *order_id, const char *actor, pl_time at, pl_arena *a) {
  st_thread t;
  pl_err e = s->st->ops->thread_find(s->st, order_id, NULL, NULL, NULL, a, &t);
  if (e == PL_ENOTFOUND) return PL_OK;
  if (!e) e = s->st->ops->thread_get(s->st, t.id, a, &t); /* the writer's view (PostgreSQL locks it) */
  st_message *msgs = NULL;
  size_t n = 0, first = 0;
  if (!e) e = s->st->ops->message_list(s->st, t.id, a, &msgs, &n);
  if (e) return e;
  /* The buyer messages since the last answer wait for one; each gets a flag event of the
   * value "canceled": no response is needed, and the clock leaves it out. */
  for (size_t i = 0; i < n; i++)
    if (msgs[i].direction == ST_DIR_SELLER && counts_as_answer(&msgs[i])) first = i + 1;
  size_t stopped = 0;
  for (size_t i = first; !e && i < n; i++) {
    const st_message *m = &msgs[i];
    if (m->direction != ST_DIR_BUYER || m->kind == ST_KIND_AUTO_REPLY || m->flagged) continue;
    st_event ev = {.message_id = m->id, .thread_id = t.id, .seller_id = t.seller_id, .type = ST_EVENT_FLAG,
                   .value = "canceled", .actor = (char *)actor, .at = at};
    e = s->st->ops->event_insert(s->st, &ev);
    stopped++;
  }
  /* The thread leaves the inbox: nothing can be answered in it any more. */
  if (!e && (stopped || !t.archived)) {
    t.archived = true;
    e = stopped ? svc__thread_recompute(s, &t, a) : s->st->ops->thread_update(s->st, &t);
  }
  if (!e && stopped)
    e = svc__audit(s, t.seller_id, actor, "thread.clock_stopped", svc__record_ref(a, "T", t.id),
                   json_pack("{s:s,s:I}", "reason", "order_canceled", "messages", (json_int_t)stopped));
  return e;
}

pl_err svc_thread_verify(svc *s, int64_t thread_id, pl_detail *d) {
  pl_err e = svc__begin(s, false, d);
  if (e) return e;
  pl_arena *a = pl_arena_new();
  st_thread t, r;
  st_message *msgs;
  size_t n;
  pl_time oldest;
  e = s->st->ops->thread_get(s->st, thread_id, a, &t);
  if (!e) e = s->st->ops->message_list(s->st, thread_id, a, &msgs, &n);
  if (!e) {
    r = t;
    summarize(&r, msgs, n, &oldest);
    last_ids(&r, msgs, n);
    e = set_due(s, &r, oldest, a);
  }
  if (!e && (r.last_buyer_id != t.last_buyer_id || r.last_seller_id != t.last_seller_id))
    e = pl_fail(d, PL_EINTERNAL, "thread T%lld: stored newest buyer/seller message %lld/%lld; recomputed %lld/%lld",
                (long long)thread_id, (long long)t.last_buyer_id, (long long)t.last_seller_id,
                (long long)r.last_buyer_id, (long long)r.last_seller_id);
  if (!e && (r.waiting != t.waiting || r.needs_response != t.needs_response ||
             r.response_due_at != t.response_due_at || r.last_message_at != t.last_message_at ||
             r.last_buyer_at != t.last_buyer_at || r.last_seller_at != t.last_seller_at ||
             r.buyer_last_at != t.buyer_last_at))
    e = pl_fail(d, PL_EINTERNAL,
                "thread T%lld: stored summary waiting %d, needs %d, due %lld, last %lld/%lld/%lld/%lld;"
                " recomputed %d, %d, %lld, %lld/%lld/%lld/%lld",
                (long long)thread_id, t.waiting, t.needs_response, (long long)t.response_due_at,
                (long long)t.last_message_at, (long long)t.last_buyer_at, (long long)t.last_seller_at,
                (long long)t.buyer_last_at, r.waiting, r.needs_response, (long long)r.response_due_at,
                (long long)r.last_message_at, (long long)r.last_buyer_at, (long long)r.last_seller_at,
                (long long)r.buyer_last_at);
  if (!e) e = svc__sla_verify(s, &t, a, d);
  pl_arena_free(a);
  svc__end(s, PL_OK, NULL);
  return e;
}

/* Loads a thread the caller may see; others' threads are "not found". */
static pl_err load_thread(svc *s, const svc_caller *c, int64_t id, pl_arena *a, st_thread *t,
                          pl_detail *d) {
  pl_err e = s->st->ops->thread_get(s->st, id, a, t);
  if (e == PL_ENOTFOUND ||
      (!e && ((c->kind == ST_PRINCIPAL_AGENT && strcmp(c->seller_id, t->seller_id)) ||
              (c->kind == ST_PRINCIPAL_BUYER && strcmp(c->buyer_id, t->buyer_id)) ||
              (c->kind == ST_PRINCIPAL_OPERATOR && c->marketplace_id &&
               strcmp(c->marketplace_id, t->marketplace_id)))))
    return pl_fail(d, PL_ENOTFOUND, "no thread %s", svc_thread_ref(a, id));
  return e;
}

static pl_err check_order_open(svc *s, const st_thread *t, pl_arena *a, pl_detail *d) {
  if (!t->order_id) return PL_OK;
  st_order o;
  pl_err e = store_order_head(s->st, t->order_id, a, &o); /* every send: the status alone */
  if (e) return e;
  if (o.status == ST_ORDER_CANCELED)
    return pl_fail(d, PL_ECANCELED, "order %s was canceled; messaging is unavailable for it",
                   o.id);
  return PL_OK;
}

static bool may_write_as_seller(const svc_caller *c) {
  return c->kind == ST_PRINCIPAL_AGENT && st_agent_role_writes(c->agent_role);
}

static char *verdict_json(const svc_sent *sent, json_t *unreadable) {
  const policy_verdict *v = &sent->verdict;
  json_t *j = json_pack("{s:s,s:s,s:o}", "action", policy_action_name(v->action), "engine",
                        v->engine[0] ? v->engine : "none", "findings", svc_json_sent_findings(sent));
  if (unreadable) json_object_set(j, "unreadable", unreadable);
  char *out = json_dumps(j, JSON_COMPACT);
  json_decref(j);
  return out;
}

pl_err svc__add_message(svc *s, const svc_caller *c, st_thread *t, const svc_send_in *in,
                        const svc__msg_opts *opts, pl_arena *a, svc_sent *out, pl_detail *d) {
  static const svc__msg_opts plain = {0};
  if (!opts) opts = &plain;
  bool seller = c->kind == ST_PRINCIPAL_AGENT;
  pl_err e;
  memset(out, 0, sizeof *out);
  st_message *m = &out->msg;
  m->thread_id = t->id;
  m->seller_id = t->seller_id;
  m->direction = seller ? ST_DIR_SELLER : ST_DIR_BUYER;
  m->kind = opts->kind ? opts->kind : seller && in->auto_reply ? ST_KIND_AUTO_REPLY : ST_KIND_MESSAGE;
  /* An acknowledgement-only reply is an auto-reply for the response clock, whoever
   * marked it (docs/metrics.md). */
  if (seller && !opts->kind && m->kind == ST_KIND_MESSAGE && sla_is_acknowledgement(in->text, strlen(in->text)))
    m->kind = ST_KIND_AUTO_REPLY;
  /* The marketplace's own words and automatic mail are kept whole; what a party wrote is
   * within its marketplace's length. */
  if (!opts->marketplace_text && !opts->automatic &&
      (e = svc__check_text_for(s, t->marketplace_id, in->text, a, d)))
    return e;
  m->agent_id = seller ? c->agent_id : 0;
  m->text = (char *)in->text;
  m->at = svc_now(s);
  m->action = (char *)opts->action;
  m->critical = opts->critical;
  m->proactive = opts->proactive;
  if (!seller) m->seller_text = opts->seller_text;
  st_msg_status status = ST_STATUS_DELIVERED;
  char *pj = NULL;
  svc__attachments atts;
  if ((e = svc__attachments_load(s, c, in, a, &atts, d)) ||
      (e = svc__attachments_fit(s, t->marketplace_id, &atts, a, d)))
    return e;
  /* A buyer's out-of-office by mail: kept for the seller to read in the thread, never
   * forwarded to the seller's address (docs/postfix.md, "Automatic mail"). */
  if (!seller && opts->automatic) status = ST_STATUS_NOT_DELIVERED;
  if (seller) {
    if (opts->marketplace_text) {
      out->verdict = (policy_verdict){.action = POLICY_DELIVER, .engine = "marketplace-text"};
    } else if (opts->automatic) {
      /* An out-of-office reply is kept, never forwarded, never a violation. */
      out->verdict = (policy_verdict){.action = POLICY_DELIVER, .engine = "automatic"};
    } else {
      policy_config *cfg;
      const char *const *allow;
      if ((e = svc__policy_for(s, t->marketplace_id, a, &cfg, &allow, d))) return e;
      e = in->by_mail ? svc__mail_reply_verdict(s, t, cfg, allow, in->text, a, &out->verdict)
                      : policy_scan_allow(cfg, allow, in->text, strlen(in->text), &out->verdict);
      policy_config_unref(cfg);
      if (e) return pl_fail(d, e, "the text could not be checked");
    }
    /* Attachments pass the same policy as the text, even under the marketplace's own
     * wording; a buyer's are not blocked. */
    if ((e = svc__attachments_scan(s, t->marketplace_id, &atts, a, out, d))) {
      json_decref(atts.unreadable);
      return e;
    }
    /* Counted where the policy looked: the text, unless the marketplace's own or an
     * automatic reply, and any attachment. */
    if ((!opts->marketplace_text && !opts->automatic) || atts.n) svc__count_verdict(s, &out->verdict);
    status = out->verdict.action == POLICY_REJECT   ? ST_STATUS_REJECTED
             : out->verdict.action == POLICY_REVIEW ? ST_STATUS_HELD_FOR_REVIEW
                                                    : ST_STATUS_DELIVERED;
    /* An opted-out buyer gets no non-critical proactive message; the seller sees only
     * "not delivered", as for any other failed delivery. */
    if (status == ST_STATUS_DELIVERED && opts->proactive && !opts->critical && opts->opted_out)
      status = ST_STATUS_NOT_DELIVERED;
    if (opts->automatic) status = ST_STATUS_NOT_DELIVERED;
    pj = verdict_json(out, atts.unreadable);
    json_decref(atts.unreadable);
    m->policy_action = (char *)policy_action_name(out->verdict.action);
    m->policy_engine = (char *)(out->verdict.engine[0] ? out->verdict.engine : "none");
    m->policy_json = pj;
  }
  e = svc__message_add(s, t, m, status, c->name);
  if (!e) e = svc__attachments_link(s, t, m, &atts, a);
  if (!e) {
    m->policy_json = pj ? pl_arena_strdup(a, pj) : NULL;
    /* The sender has seen everything up to their own message: written with the summary
     * (svc__thread_changed ends with the thread's one update). */
    if (seller) t->seller_read_id = m->id > t->seller_read_id ? m->id : t->seller_read_id;
    else t->buyer_read_id = m->id > t->buyer_read_id ? m->id : t->buyer_read_id;
    e = svc__thread_changed(s, t, SVC__NEW_MESSAGE, m, a);
  }
  free(pj);
  if (!e && seller && out->verdict.action == POLICY_REJECT) e = svc__enforce(s, t, m, &out->verdict, a);
  if (!e)
    e = svc__audit(s, t->seller_id, c->name, seller ? "message.seller" : "message.buyer",
                   svc__record_ref(a, "T", t->id),
                   json_pack("{s:s,s:s,s:s}", "message", svc__record_ref(a, "M", m->id), "status",
                             st_msg_status_name(status), "kind", st_msg_kind_name(m->kind)));
  if (!e) e = svc__outbox_message(s, t, m);
  if (!e && !in->ext_id) e = svc__webhook_message(s, t, m, a);
  if (!e && !seller && !in->ext_id) e = svc__notify_message(s, t, m, a);
  if (!e && !seller && !in->ext_id && !opts->automatic) e = svc__team_on_buyer_message(s, t, m, a);
  return e;
}

pl_err svc_thread_start(svc *s, const svc_caller *c, const svc_start_in *in, pl_arena *a,
                        st_thread *t, svc_sent *m_out, pl_detail *d) {
  memset(m_out, 0, sizeof *m_out);
  if (c->kind != ST_PRINCIPAL_BUYER) return pl_fail(d, PL_EFORBIDDEN, "only a buyer starts a thread");
  bool product = in->asin != NULL;
  if (product == (in->order_id != NULL))
    return pl_fail(d, in->asin ? PL_EINVAL : PL_EMISSING, "give either order_id or asin (with seller_id)");
  if (product && !in->seller_id) return pl_fail(d, PL_EMISSING, "seller_id is required with asin");
  if (!in->topic) return pl_fail(d, PL_EMISSING, "topic is required");
  if (!svc__valid_topic(in->topic, product))
    return pl_fail(d, PL_EINVAL, "topic '%s' is not a %s topic", in->topic,
                   product ? "pre-purchase" : "post-purchase");
  const char *text = in->text;
  pl_err e = svc__check_text(&text, a, d);
  if (e) return e;
  if (product && (strlen(in->asin) > 32 || !*in->asin)) return pl_fail(d, PL_EINVAL, "asin is not valid");
  if (!product && !svc__valid_order_id(in->order_id))
    return pl_fail(d, PL_EINVAL, "order_id '%s' is not of the form NNN-NNNNNNN-NNNNNNN", in->order_id);

  if ((e = svc__begin(s, true, d))) return e;
  memset(t, 0, sizeof *t);
  st_thread existing;
  if (!product) {
    st_order o;
    e = store_order_get(s->st, in->order_id, a, &o);
    if (e == PL_ENOTFOUND || (!e && strcmp(o.buyer_id, c->buyer_id)))
      e = pl_fail(d, PL_ENOTFOUND, "no order %s", in->order_id);
    else if (!e && o.status == ST_ORDER_CANCELED)
      e = pl_fail(d, PL_ECANCELED, "order %s was canceled; messaging is unavailable for it", o.id);
    else if (!e)
      e = svc__messaging_on(s, &o, a, d); /* the marketplace answers, when the seller says so */
    if (!e) {
      pl_err g = s->st->ops->thread_find(s->st, o.id, NULL, NULL, NULL, a, &existing);
      if (!g) e = pl_fail(d, PL_EEXIST, "order %s already has thread %s; write there", o.id,
                          svc_thread_ref(a, existing.id));
      else if (g != PL_ENOTFOUND) e = g;
    }
    t->order_id = o.id;
    t->seller_id = o.seller_id;
    t->marketplace_id = o.marketplace_id;
  } else {
    st_seller sl;
    e = store_seller_get(s->st, in->seller_id, NULL, a, &sl);
    if (e == PL_ENOTFOUND) e = pl_fail(d, PL_ENOTFOUND, "no seller %s", in->seller_id);
    if (!e) {
      pl_err g = s->st->ops->thread_find(s->st, NULL, sl.id, c->buyer_id, in->asin, a, &existing);
      if (!g) e = pl_fail(d, PL_EEXIST, "you already asked about %s in thread %s; write there",
                          in->asin, svc_thread_ref(a, existing.id));
      else if (g != PL_ENOTFOUND) e = g;
    }
    t->asin = (char *)in->asin;
    t->seller_id = sl.id;
    t->marketplace_id = sl.marketplace_id;
  }
  if (!e) {
    char *alias;
    t->buyer_id = (char *)c->buyer_id;
    t->topic = (char *)in->topic;
    t->created_at = t->last_message_at = svc_now(s);
    e = svc__buyer_limits(s, c->buyer_id, t->marketplace_id, true, a, d);
    if (!e) e = svc__alias_ensure(s, t->marketplace_id, t->buyer_id, t->seller_id, t->created_at, a, &alias, d);
    if (!e) t->buyer_alias = alias;
    if (!e) e = s->st->ops->thread_insert(s->st, t);
  }
  svc_send_in sin = {.text = text};
  if (!e) e = svc__add_message(s, c, t, &sin, NULL, a, m_out, d);
  e = svc__end(s, e, d);
  if (!e) {
    svc__count_status(s, m_out->msg.status);
    svc__publish(s, SVC_EVENT_MESSAGE, t, &m_out->msg);
  }
  return e;
}

pl_err svc_send(svc *s, const svc_caller *c, int64_t thread_id, const svc_send_in *in, pl_arena *a,
                svc_sent *out, pl_detail *d) {
  memset(out, 0, sizeof *out);
  if (c->kind == ST_PRINCIPAL_OPERATOR)
    return pl_fail(d, PL_EFORBIDDEN, "the operator does not write in threads");
  if (c->kind == ST_PRINCIPAL_AGENT && !may_write_as_seller(c))
    return pl_fail(d, PL_EFORBIDDEN, "a read-only agent cannot send messages");
  if (c->kind == ST_PRINCIPAL_BUYER && in->auto_reply)
    return pl_fail(d, PL_EINVAL, "auto_reply is for seller messages");
  if (c->kind == ST_PRINCIPAL_BUYER && (in->template_id || in->proposal_id))
    return pl_fail(d, PL_EINVAL, "templates are for seller replies");
  svc_send_in sin = *in;
  pl_err e = in->template_id && !in->text ? PL_OK : svc__check_text(&sin.text, a, d);
  if (e) return e;
  /* A buyer's text is masked for the seller's search index before the writer is taken:
   * the mask needs no transaction, and the writer is the one thing all sends share. */
  svc__msg_opts mo = {.seller_text = c->kind == ST_PRINCIPAL_BUYER ? svc__mask_text(s, sin.text, a) : NULL};
  if ((e = svc__begin(s, true, d))) return e;
  st_thread t;
  /* The rate-limit token is taken before the thread is locked, in the same order as the
   * message actions, so that two requests never wait on each other's locks. */
  if (c->kind == ST_PRINCIPAL_AGENT && c->marketplace_id) {
    svc_rules r;
    e = svc__rules_for(s, c->marketplace_id, a, &r);
    if (!e) out->rate_limit = r.rate_per_second;
    if (!e) e = svc__rate_take(s, c->seller_id, "send", &r, d);
  }
  if (!e) e = load_thread(s, c, thread_id, a, &t, d);
  if (!e) e = check_order_open(s, &t, a, d);
  if (!e && c->kind == ST_PRINCIPAL_BUYER) e = svc__buyer_limits(s, c->buyer_id, t.marketplace_id, false, a, d);
  if (!e && c->kind == ST_PRINCIPAL_AGENT && t.last_buyer_at == 0)
    e = pl_fail(d, PL_ENOTALLOWED, "this thread has no buyer message to answer; a seller starts a conversation only with a message action");
  if (!e && c->kind == ST_PRINCIPAL_AGENT) e = svc__check_quota(s, c->seller_id, a, d);
  if (!e && c->kind == ST_PRINCIPAL_AGENT) e = svc__team_before_reply(s, c, &t, &sin, a, d);
  if (!e) e = svc__add_message(s, c, &t, &sin, &mo, a, out, d);
  if (!e && c->kind == ST_PRINCIPAL_AGENT) e = svc__team_after_reply(s, c, &t, &sin, &out->msg, a);
  e = svc__end(s, e, d);
  if (!e) {
    svc__count_status(s, out->msg.status);
    svc__publish(s, SVC_EVENT_MESSAGE, &t, &out->msg);
  }
  if (!e && out->msg.status == ST_STATUS_REJECTED)
    return pl_fail(d, PL_EPOLICY, "the message was not delivered: it breaks the communication policy (%zu finding%s)",
                   out->verdict.nfindings, out->verdict.nfindings == 1 ? "" : "s");
  return e;
}

static bool masks(svc *s, const char *mp, pl_arena *a);

/* The text shown instead of a buyer's when it could not be checked for contact details:
 * the mask fails closed. */
#define WITHHELD "[text withheld: it could not be checked for contact details]"

/* Masks text where the policy finds contact details in scan, a text of the same length
 * (text itself, or a file name made readable). Phone numbers and e-mail addresses are the
 * rules' alone, the same in every marketplace (a marketplace's model and its allowed
 * domains change other categories only), so the shared configuration reads them, without
 * the classifier and without the store: no transaction is needed. */
static const char *mask_as(svc *s, const char *text, const char *scan, pl_arena *a) {
  if (svc_policy_prepare(s, NULL)) return NULL;
  pthread_mutex_lock(&s->policy_mu);
  policy_config *cfg = policy_config_ref(s->policy);
  pthread_mutex_unlock(&s->policy_mu);
  policy_verdict v;
  pl_err e = policy_scan_rules(cfg, NULL, scan, strlen(scan), &v);
  policy_config_unref(cfg);
  if (e) return NULL;
  /* The spans to mask, in text order, each with its placeholder. */
  size_t len = strlen(text), k = 0;
  struct span {
    size_t start, end;
    const char *ph;
  } *sp = pl_arena_alloc(a, (v.nfindings ? v.nfindings : 1) * sizeof *sp);
  for (size_t i = 0; i < v.nfindings; i++) {
    const policy_finding *f = &v.findings[i];
    bool phone = !strcmp(f->category, "phone"), email = !strcmp(f->category, "email");
    if ((!phone && !email) || f->end > len || f->end <= f->start) continue;
    struct span x = {f->start, f->end, email ? "[e-mail address removed]" : "[phone number removed]"};
    size_t j = k++;
    while (j > 0 && sp[j - 1].start > x.start) {
      sp[j] = sp[j - 1];
      j--;
    }
    sp[j] = x;
  }
  policy_verdict_free(&v);
  if (!k) return text;
  char *out = pl_arena_alloc(a, len + 32 * k + 1);
  size_t n = 0, pos = 0;
  for (size_t i = 0; i < k; i++) {
    if (sp[i].end <= pos) continue; /* inside a span already masked */
    size_t start = sp[i].start < pos ? pos : sp[i].start;
    memcpy(out + n, text + pos, start - pos);
    n += start - pos;
    if (sp[i].start >= pos) {
      memcpy(out + n, sp[i].ph, strlen(sp[i].ph));
      n += strlen(sp[i].ph);
    }
    pos = sp[i].end;
  }
  memcpy(out + n, text + pos, len - pos);
  out[n + len - pos] = '\0';
  return out;
}

static bool is_digit(char c) { return c >= '0' && c <= '9'; }
static bool is_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

/* text as the mask reads it, byte for byte: a '-' or '_' that glues a word to a number
 * ("call-me-415-555-0199", "tel-4155550199") becomes a space, so that the number is found
 * as in "call me 415-555-0199". Over-masking a buyer's text costs little; missing a
 * number costs the buyer's privacy. */
static char *readable_text(const char *text, pl_arena *a) {
  char *r = pl_arena_strdup(a, text);
  if (!r[0]) return r;
  for (size_t i = 1; r[i] && r[i + 1]; i++)
    if ((r[i] == '-' || r[i] == '_') &&
        ((is_letter(r[i - 1]) && is_digit(r[i + 1])) || (is_digit(r[i - 1]) && is_letter(r[i + 1]))))
      r[i] = ' ';
  return r;
}

const char *svc__mask_text(svc *s, const char *text, pl_arena *a) {
  return mask_as(s, text, readable_text(text, a), a);
}

/* A file name as the policy reads a sentence, byte for byte: its extension blanked
 * ("jane@mail.example.pdf" would end in a top-level domain "pdf") and the '-' and '_'
 * that glue words to each other or to digits made spaces ("call-me-415-555-0199"); the
 * hyphens inside a number stay. */
static const char *readable_name(const char *name, pl_arena *a) {
  char *r = pl_arena_strdup(a, name);
  size_t n = strlen(r);
  char *dot = strrchr(r, '.');
  if (dot && dot != r && n - (size_t)(dot - r) <= 6)
    for (char *p = dot; *p; p++) *p = ' ';
  for (size_t i = 0; i < n; i++) {
    if (r[i] != '-' && r[i] != '_') continue;
    bool digit_before = i > 0 && is_digit(r[i - 1]), digit_after = i + 1 < n && is_digit(r[i + 1]);
    if (r[i] == '_' || !digit_before || !digit_after) r[i] = ' ';
  }
  return r;
}

/* mask_in_tx for a file name. */
static const char *mask_name_in_tx(svc *s, const char *mp, const char *name, pl_arena *a) {
  if (!masks(s, mp, a)) return name;
  const char *out = mask_as(s, name, readable_name(name, a), a);
  return out ? out : "[name withheld]";
}

/* Whether the marketplace masks a buyer's contact details from the seller; true when
 * its settings cannot be read (the mask fails closed). */
static bool masks(svc *s, const char *mp, pl_arena *a) {
  svc_rules r;
  return svc__rules_for(s, mp, a, &r) || r.mask_buyer_contacts;
}

/* Masks within a transaction (the marketplace's settings and domains are read). */
static const char *mask_in_tx(svc *s, const char *mp, const char *text, pl_arena *a) {
  if (!masks(s, mp, a)) return text;
  const char *out = svc__mask_text(s, text, a);
  return out ? out : WITHHELD;
}

const char *svc__mask_for_seller(svc *s, const char *mp, const char *text, pl_arena *a) {
  return mask_in_tx(s, mp, text, a);
}

const char *svc__mask_name_for_seller(svc *s, const char *mp, const char *name, pl_arena *a) {
  return mask_name_in_tx(s, mp, name, a);
}

const char *svc_mask_file_name(svc *s, const char *mp, const char *name, pl_arena *a) {
  if (svc__begin(s, false, NULL)) return "[name withheld]";
  const char *out = mask_name_in_tx(s, mp, name, a);
  svc__end(s, PL_OK, NULL);
  return out;
}

const char *svc_mask_contacts(svc *s, const char *mp, const char *text, pl_arena *a) {
  if (svc__begin(s, false, NULL)) return WITHHELD;
  const char *out = mask_in_tx(s, mp, text, a);
  svc__end(s, PL_OK, NULL);
  return out;
}

void svc__view(svc *s, const svc_caller *c, const char *mp, st_message *msgs, size_t n,
               pl_arena *a) {
  bool seller = c->kind == ST_PRINCIPAL_AGENT, mask = false, known = false;
  for (size_t i = 0; i < n; i++) {
    if (seller && msgs[i].direction != ST_DIR_SELLER) { /* unknown (store.h): masked too */
      if (!known) mask = masks(s, mp, a), known = true;
      if (mask) {
        msgs[i].text = (char *)mask_in_tx(s, mp, msgs[i].text, a);
        /* a file's name is the buyer's text too ("call-me-415-555-0199.pdf") */
        for (size_t k = 0; k < msgs[i].nattachments; k++)
          msgs[i].attachments[k].name = (char *)mask_name_in_tx(s, mp, msgs[i].attachments[k].name, a);
      }
    }
    msgs[i].text_viewed = true;
  }
}

pl_err svc_thread_page(svc *s, const svc_caller *c, int64_t id, int64_t before, int limit, pl_arena *a,
                       st_thread *t, st_message **msgs, size_t *n, int64_t *older, pl_detail *d) {
  *older = 0;
  if (limit > SVC_PAGE_MAX) return pl_fail(d, PL_EPAGE, "limit must be an integer from 1 to %d", SVC_PAGE_MAX);
  pl_err e = svc__begin(s, false, d);
  if (e) return e;
  e = load_thread(s, c, id, a, t, d);
  /* One page: the newest `limit` messages the caller sees before `before`, read as such
   * from the store, and only the page is filled and masked, so that the cost of a view
   * does not grow with the thread. */
  if (!e && (before || limit > 0)) {
    st_message bm;
    bool more = false;
    if (before) {
      pl_err g = s->st->ops->message_get(s->st, before, NULL, a, &bm);
      if (g == PL_ENOTFOUND || (!g && (bm.thread_id != id || !svc_message_visible(c, &bm))))
        e = pl_fail(d, PL_EPAGE, "before must be a message id of this thread, as page.older gave it");
      else e = g;
    }
    if (!e)
      e = s->st->ops->message_page(s->st, id, before ? &bm : NULL, c->kind == ST_PRINCIPAL_BUYER,
                                   limit > 0 ? limit : 200, a, msgs, n, &more);
    if (!e && more && *n) *older = (*msgs)[0].id;
    /* The store's view is the buyer's; this is the rule itself (a page may come out
     * shorter, never with more than the caller may see). */
    size_t k = 0;
    for (size_t i = 0; !e && i < *n; i++)
      if (svc_message_visible(c, &(*msgs)[i])) (*msgs)[k++] = (*msgs)[i];
    if (!e) *n = k;
  } else if (!e) {
    e = s->st->ops->message_list(s->st, id, a, msgs, n);
  }
  if (!e) e = svc__attachments_fill(s, *msgs, *n, a);
  if (!e) svc__view(s, c, t->marketplace_id, *msgs, *n, a);
  return svc__end(s, e, d);
}

const char *svc_buyer_locale(svc *s, const char *buyer_id, pl_arena *a) {
  st_buyer b;
  pl_detail d = {0};
  if (svc__begin(s, false, &d)) return NULL;
  pl_err e = store_buyer_get(s->st, buyer_id, NULL, a, &b);
  svc__end(s, PL_OK, NULL);
  return e ? NULL : b.locale;
}

pl_err svc_thread_get(svc *s, const svc_caller *c, int64_t id, pl_arena *a, st_thread *t,
                      st_message **msgs, size_t *n, pl_detail *d) {
  int64_t older;
  return svc_thread_page(s, c, id, 0, 0, a, t, msgs, n, &older, d);
}

pl_err svc_seller_index_backfill(svc *s, size_t *done, pl_detail *d) {
  *done = 0;
  for (;;) {
    pl_arena *a = pl_arena_new();
    st_message *ms = NULL;
    size_t n = 0, put = 0;
    pl_err e = svc__begin(s, true, d);
    if (!e) e = s->st->ops->message_seller_text_pending(s->st, 200, a, &ms, &n);
    for (size_t i = 0; !e && i < n; i++) {
      const char *masked = svc__mask_text(s, ms[i].text, a);
      if (!masked) continue; /* not indexed: a seller does not find it (fails closed) */
      if (!(e = s->st->ops->message_seller_text_put(s->st, ms[i].id, ms[i].thread_id, masked))) put++;
    }
    e = svc__end(s, e, d);
    pl_arena_free(a);
    if (e) return e;
    *done += put;
    if (n < 200 || put == 0) return PL_OK;
  }
}

pl_err svc_thread_list(svc *s, const svc_caller *c, st_thread_query *q, pl_arena *a,
                       st_thread **out, size_t *n, int64_t *rn, pl_detail *d) {
  q->seller_id = NULL;
  q->buyer_id = NULL;
  q->fts_masked = false;
  if (c->kind == ST_PRINCIPAL_AGENT) q->seller_id = c->seller_id;
  else if (c->kind == ST_PRINCIPAL_BUYER) q->buyer_id = c->buyer_id;
  /* A buyer's inbox is their own threads as they see them: the team's assignment, tags
   * and the seller's view of the thread's state (answered, archived...) are not theirs
   * to filter on, nor to probe. */
  if (c->kind == ST_PRINCIPAL_BUYER && q->tag)
    return pl_fail(d, PL_ETEAMONLY, "tag is a filter of the seller's team");
  if (c->kind == ST_PRINCIPAL_BUYER && q->assignee_id)
    return pl_fail(d, PL_ETEAMONLY, "assignee is a filter of the seller's team");
  if (c->kind == ST_PRINCIPAL_BUYER && q->filter != ST_FILTER_ALL)
    return pl_fail(d, PL_ETEAMONLY, "filter is for the seller's team; a buyer sees all their threads");
  if (q->assignee_id == SVC_ASSIGNEE_ME) {
    if (c->kind != ST_PRINCIPAL_AGENT) return pl_fail(d, PL_EINVAL, "assignee=me is for an agent of the seller's team");
    q->assignee_id = c->agent_id;
  }
  if (q->fts && strlen(q->fts) > SVC_MAX_SEARCH_BYTES)
    return pl_fail(d, PL_EINVAL, "q is at most %d characters", SVC_MAX_SEARCH_BYTES);
  if (c->kind == ST_PRINCIPAL_BUYER && q->buyer_name)
    return pl_fail(d, PL_ETEAMONLY, "buyer is a filter of the seller's team");
  if (q->buyer_name && (!*q->buyer_name || strlen(q->buyer_name) > 100))
    return pl_fail(d, PL_EINVAL, "buyer is 1 to 100 characters of a buyer's name");
  /* The least time left first: the seller's threads waiting for a response, each with a
   * due time. Every other list, and the operator's, is newest first. */
  if (q->sort_due && q->filter != ST_FILTER_RESPONSE_NEEDED)
    return pl_fail(d, PL_EINVAL, "sort=due is for the response_needed filter");
  if (c->kind != ST_PRINCIPAL_AGENT) q->sort_due = false;
  if (q->limit <= 0) q->limit = 25;
  if (q->limit > 100) return pl_fail(d, PL_EINVAL, "limit must be an integer from 1 to 100");
  pl_err e = svc__begin(s, false, d);
  if (e) return e;
  /* A seller searches buyer messages as the seller sees them: with the buyer's contact
   * details masked, so that a guessed phone number or address finds nothing. */
  if (c->kind == ST_PRINCIPAL_AGENT && q->fts)
    q->fts_masked = !c->marketplace_id || masks(s, c->marketplace_id, a);
  /* The seller's inbox shows the marketplace's last inbox_days by default; a search, a
   * date range or all=true reaches everything, and threads waiting for an answer are
   * never hidden. */
  bool searching = q->fts || q->order_id || q->asin || q->buyer_alias || q->buyer_name || q->since || q->until;
  if (c->kind == ST_PRINCIPAL_AGENT && !q->all && !searching && c->marketplace_id &&
      q->filter != ST_FILTER_RESPONSE_NEEDED && q->filter != ST_FILTER_UNANSWERED) {
    svc_rules r;
    if (!(e = svc__rules_for(s, c->marketplace_id, a, &r)) && r.inbox_days > 0) {
      q->since = svc_now(s) - r.inbox_days * 86400;
      q->keep_waiting = true;
    }
  }
  if (!e) e = s->st->ops->thread_list(s->st, q, a, out, n);
  /* An operator of one marketplace sees only that marketplace's threads. */
  if (!e && c->kind == ST_PRINCIPAL_OPERATOR && c->marketplace_id) {
    size_t k = 0;
    for (size_t i = 0; i < *n; i++)
      if (!strcmp((*out)[i].marketplace_id, c->marketplace_id)) (*out)[k++] = (*out)[i];
    *n = k;
  }
  /* A buyer's list is ordered by the newest message the buyer can see, and shows it. */
  if (!e && c->kind == ST_PRINCIPAL_BUYER)
    for (size_t i = 0; i < *n; i++) (*out)[i].last_message_at = (*out)[i].buyer_last_at;
  *rn = -1;
  if (!e && c->kind == ST_PRINCIPAL_AGENT)
    e = store_thread_count_response_needed(s->st, c->seller_id, rn);
  return svc__end(s, e, d);
}

/* text cut to at most max characters at a character boundary, with "…" when cut. */
static const char *cut_text(const char *text, size_t max, pl_arena *a) {
  size_t i = 0, chars = 0;
  while (text[i] && chars < max) {
    i++;
    while ((text[i] & 0xC0) == 0x80) i++; /* the rest of a character */
    chars++;
  }
  if (!text[i]) return text;
  char *out = pl_arena_alloc(a, i + sizeof "…");
  memcpy(out, text, i);
  memcpy(out + i, "…", sizeof "…");
  return out;
}

pl_err svc_thread_previews(svc *s, const svc_caller *c, const st_thread *ts, size_t n, pl_arena *a,
                           svc_preview **out, pl_detail *d) {
  *out = pl_arena_alloc(a, (n ? n : 1) * sizeof **out);
  memset(*out, 0, (n ? n : 1) * sizeof **out);
  pl_err e = svc__begin(s, false, d);
  if (e) return e;
  for (size_t i = 0; i < n && !e; i++) {
    /* the newest of the two the thread keeps: the buyer's last message, and the seller's
     * last one the buyer can see (what both parties see; notes and held replies are not
     * the conversation) */
    int64_t id = ts[i].last_buyer_id > ts[i].last_seller_id ? ts[i].last_buyer_id : ts[i].last_seller_id;
    if (!id) continue;
    st_message m;
    pl_err g = s->st->ops->message_get(s->st, id, NULL, a, &m);
    if (g == PL_ENOTFOUND || (!g && (m.thread_id != ts[i].id || !svc_message_visible(c, &m)))) continue;
    if ((e = g)) break;
    svc__view(s, c, ts[i].marketplace_id, &m, 1, a); /* masked whole, then cut */
    (*out)[i] = (svc_preview){.text = cut_text(m.text, SVC_PREVIEW_CHARS, a), .from_buyer = m.direction == ST_DIR_BUYER};
  }
  return svc__end(s, e, d);
}

pl_err svc_thread_archive(svc *s, const svc_caller *c, int64_t id, bool archived, pl_arena *a,
                          st_thread *t, pl_detail *d) {
  if (c->kind != ST_PRINCIPAL_AGENT) return pl_fail(d, PL_EFORBIDDEN, "only the seller archives threads");
  if (!may_write_as_seller(c)) return pl_fail(d, PL_EFORBIDDEN, "a read-only agent cannot archive");
  pl_err e = svc__begin(s, true, d);
  if (e) return e;
  e = load_thread(s, c, id, a, t, d);
  if (!e && t->archived != archived) {
    t->archived = archived;
    e = s->st->ops->thread_update(s->st, t);
    if (!e) e = svc__audit(s, t->seller_id, c->name, archived ? "thread.archive" : "thread.unarchive",
                           svc__record_ref(a, "T", id), NULL);
  }
  e = svc__end(s, e, d);
  if (!e) svc__publish(s, SVC_EVENT_THREAD, t, NULL);
  return e;
}

pl_err svc_thread_read(svc *s, const svc_caller *c, int64_t id, pl_arena *a, st_thread *t,
                       pl_detail *d) {
  if (c->kind == ST_PRINCIPAL_OPERATOR) return pl_fail(d, PL_EFORBIDDEN, "read marks are the parties'");
  pl_err e = svc__begin(s, true, d);
  if (e) return e;
  e = load_thread(s, c, id, a, t, d);
  if (!e) {
    /* Read up to the newest message the reader can see. */
    if (c->kind == ST_PRINCIPAL_AGENT) t->seller_read_id = t->last_buyer_id > t->seller_read_id ? t->last_buyer_id : t->seller_read_id;
    else t->buyer_read_id = t->last_seller_id > t->buyer_read_id ? t->last_seller_id : t->buyer_read_id;
    e = s->st->ops->thread_update(s->st, t);
  }
  return svc__end(s, e, d);
}

pl_err svc_flag(svc *s, const svc_caller *c, int64_t message_id, bool value, pl_time at,
                pl_arena *a, st_message *m, pl_detail *d) {
  if (c->kind != ST_PRINCIPAL_AGENT && c->kind != 0)
    return pl_fail(d, PL_EFORBIDDEN, "only the seller flags buyer messages");
  if (c->kind == ST_PRINCIPAL_AGENT && !may_write_as_seller(c))
    return pl_fail(d, PL_EFORBIDDEN, "a read-only agent cannot flag messages");
  pl_err e = svc__begin(s, true, d);
  if (e) return e;
  e = s->st->ops->message_get(s->st, message_id, NULL, a, m);
  st_thread t;
  if (e == PL_ENOTFOUND) e = pl_fail(d, PL_ENOTFOUND, "no message %s", svc_message_ref(a, message_id));
  if (!e) e = load_thread(s, c, m->thread_id, a, &t, d);
  if (e == PL_ENOTFOUND) pl_fail(d, PL_ENOTFOUND, "no message %s", svc_message_ref(a, message_id));
  if (!e && m->direction != ST_DIR_BUYER)
    e = pl_fail(d, PL_EINVAL, "only buyer messages can be flagged as needing no response");
  if (!e) e = check_order_open(s, &t, a, d); /* its clock stopped at the cancellation */
  if (!e && m->flagged != value) {
    st_event ev = {.message_id = m->id,
                   .thread_id = m->thread_id,
                   .seller_id = m->seller_id,
                   .type = ST_EVENT_FLAG,
                   .value = value ? "true" : "false",
                   .actor = (char *)c->name,
                   .at = at ? at : svc_now(s)};
    e = s->st->ops->event_insert(s->st, &ev);
    m->flagged = value;
    if (!e) e = svc__thread_changed(s, &t, SVC__FLAG, m, a);
    if (!e) e = svc__audit(s, t.seller_id, c->name, value ? "message.flag" : "message.unflag",
                           svc__record_ref(a, "T", t.id), json_pack("{s:s}", "message", svc__record_ref(a, "M", m->id)));
  }
  if (!e) svc__view(s, c, t.marketplace_id, m, 1, a); /* the answer shows the message */
  e = svc__end(s, e, d);
  if (!e) svc__publish(s, SVC_EVENT_THREAD, &t, NULL);
  return e;
}

pl_err svc_thread_export(svc *s, const svc_caller *c, int64_t id, pl_arena *a, json_t **out,
                         pl_detail *d) {
  if (c->kind != ST_PRINCIPAL_OPERATOR) return pl_fail(d, PL_EFORBIDDEN, "only the operator exports evidence");
  pl_err e = svc__begin(s, true, d); /* the export itself is audited */
  if (e) return e;
  st_thread t;
  st_message *msgs = NULL;
  st_event *evs = NULL;
  st_audit *aud = NULL;
  size_t nm = 0, ne = 0, na = 0;
  st_order o;
  bool have_order = false;
  e = load_thread(s, c, id, a, &t, d);
  if (!e) e = s->st->ops->message_list(s->st, id, a, &msgs, &nm);
  if (!e) e = svc__attachments_fill(s, msgs, nm, a);
  if (!e) svc__view(s, c, t.marketplace_id, msgs, nm, a); /* the operator's: unmasked */
  if (!e) e = store_event_list(s->st, id, a, &evs, &ne);
  if (!e) e = store_audit_list(s->st, svc__record_ref(a, "T", id), a, &aud, &na);
  if (!e && t.order_id) {
    e = store_order_get(s->st, t.order_id, a, &o);
    have_order = !e;
  }
  json_t *j = NULL;
  if (!e) {
    char ts[32];
    j = json_object();
    json_object_set_new(j, "exported_at", json_string(pl_time_format(svc_now(s), ts)));
    json_object_set_new(j, "thread", svc_json_thread(c, &t));
    json_object_set_new(j, "order", have_order ? svc_json_order(&o) : json_null());
    json_t *ma = json_array();
    for (size_t i = 0; i < nm; i++) json_array_append_new(ma, svc_json_message(c, &msgs[i]));
    json_object_set_new(j, "messages", ma);
    json_t *ea = json_array();
    for (size_t i = 0; i < ne; i++)
      json_array_append_new(ea, json_pack("{s:I,s:s,s:s?,s:s,s:s,s:s}", "id", (json_int_t)evs[i].id,
                                          "message", svc_message_ref(a, evs[i].message_id),
                                          "type", st_event_type_name(evs[i].type), "value", evs[i].value, "actor",
                                          evs[i].actor, "at", pl_time_format(evs[i].at, ts)));
    json_object_set_new(j, "events", ea);
    json_t *aa = json_array();
    for (size_t i = 0; i < na; i++) {
      json_t *detail = json_loads(aud[i].detail_json, 0, NULL);
      json_array_append_new(aa, json_pack("{s:I,s:s,s:s,s:s,s:o,s:s,s:s}", "id", (json_int_t)aud[i].id,
                                          "at", pl_time_format(aud[i].at, ts), "actor", aud[i].actor,
                                          "action", aud[i].action, "detail", detail ? detail : json_object(),
                                          "prev_hash", aud[i].prev_hash, "hash", aud[i].hash));
    }
    json_object_set_new(j, "audit", aa);
  }
  if (!e) e = svc__audit(s, t.seller_id, c->name, "thread.export", svc__record_ref(a, "T", id), NULL);
  e = svc__end(s, e, d);
  if (e) {
    json_decref(j);
    j = NULL;
  }
  *out = j;
  return e;
}

pl_err svc_policy_check(svc *s, const svc_caller *c, const char *text, const char *mp,
                        pl_arena *a, policy_verdict *out, pl_detail *d) {
  memset(out, 0, sizeof *out);
  if (c->kind == ST_PRINCIPAL_BUYER) return pl_fail(d, PL_EFORBIDDEN, "the policy check is for sellers");
  if (c->marketplace_id) mp = c->marketplace_id;
  if (!mp) return pl_fail(d, PL_EMISSING, "marketplace_id is required");
  pl_err e = svc__check_text(&text, a, d);
  if (e) return e;
  if ((e = svc__begin(s, false, d))) return e;
  policy_config *cfg = NULL;
  const char *const *allow = NULL;
  e = svc__check_text_for(s, mp, text, a, d);
  if (!e) e = svc__policy_for(s, mp, a, &cfg, &allow, d);
  svc__end(s, PL_OK, NULL);
  if (e == PL_EINTERNAL) return pl_fail(d, PL_ENOTFOUND, "no marketplace %s", mp);
  if (e) return e;
  e = policy_scan_allow(cfg, allow, text, strlen(text), out);
  policy_config_unref(cfg);
  return e ? pl_fail(d, e, "the text could not be checked") : PL_OK;
}
