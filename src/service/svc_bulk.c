/* svc_bulk.c - bulk notices (docs/rules.md "Bulk notices"): one order-related text (a
 * product recall, a delay affecting many orders) to many orders at once, checked once when
 * it is asked for, then sent by the bulk worker as a critical message to each order's thread,
 * within the seller's rate limit; each order's outcome recorded in the transaction of its
 * message, so that an order gets it once whatever stops in between. Promotional bulk mail
 * stays forbidden: the text passes the content policy and the proactive-purpose check. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "service/svc_int.h"
#include "service/svc_rules.h"
#include "util/pl_ref.h"

#define BULK_MAX_ORDERS 1000
#define BULK_BATCH 10 /* items a notice sends per step before the next notice's turn */

static const char *iso(pl_time t, pl_arena *a) {
  char buf[32];
  return pl_arena_strdup(a, pl_time_format(t, buf));
}

static json_t *bulk_view(const st_bulk *b, const st_bulk_counts *c, pl_arena *a) {
  char ref[PL_REF_MAX];
  json_t *att = json_loads(b->attachments ? b->attachments : "[]", 0, NULL);
  return json_pack("{s:s,s:s,s:s,s:s,s:o,s:s,s:I,s:{s:I,s:I,s:I,s:I,s:I},s:s,s:s}", "id",
                   pl_ref_format(ref, "BN", b->id), "seller_id", b->seller_id, "action", b->action, "text", b->text,
                   "attachments", att ? att : json_array(), "status", b->status, "total", (json_int_t)b->total,
                   "counts", "pending", (json_int_t)c->pending, "delivered", (json_int_t)c->delivered, "not_delivered",
                   (json_int_t)c->not_delivered, "failed", (json_int_t)c->failed, "canceled",
                   (json_int_t)c->canceled, "created_at", iso(b->created_at, a), "updated_at", iso(b->updated_at, a));
}

static bool may_see(const svc_caller *c, const st_bulk *b) {
  if (c->kind == ST_PRINCIPAL_AGENT) return !strcmp(c->seller_id, b->seller_id);
  if (c->kind == ST_PRINCIPAL_OPERATOR) return !c->marketplace_id || !strcmp(c->marketplace_id, b->marketplace_id);
  return false;
}

static pl_err load(svc *s, const svc_caller *c, const char *ref, pl_arena *a, st_bulk *b, pl_detail *d) {
  int64_t id;
  if (!ref || !pl_ref_parse(ref, "BN", &id)) return pl_fail(d, PL_ENOTFOUND, "no such bulk notice");
  pl_err e = store_bulk_get(s->st, id, a, b);
  if (e == PL_ENOTFOUND || (!e && !may_see(c, b))) return pl_fail(d, PL_ENOTFOUND, "no such bulk notice");
  return e;
}

/* The orders of a request: order_ids (each the seller's, each once) or every order of the
 * seller with asin. */
static pl_err orders_of(svc *s, const svc_caller *c, json_t *in, pl_arena *a, const char ***out, size_t *n,
                        pl_detail *d) {
  json_t *ids = json_object_get(in, "order_ids"), *asin = json_object_get(in, "asin");
  if (!ids && !asin) return pl_fail(d, PL_EMISSING, "give either order_ids (an array) or asin");
  if (ids && asin) return pl_fail(d, PL_EINVAL, "give order_ids or asin, not both");
  if (asin) {
    if (!json_is_string(asin) || !json_string_length(asin) || json_string_length(asin) > 20)
      return pl_fail(d, PL_EINVAL, "asin must be a product id");
    char **list;
    pl_err e = store_orders_with_asin(s->st, c->seller_id, json_string_value(asin), BULK_MAX_ORDERS + 1, a, &list, n);
    if (!e && !*n) e = pl_fail(d, PL_ENOTFOUND, "no order of this seller has product %s", json_string_value(asin));
    if (!e && *n > BULK_MAX_ORDERS)
      e = pl_fail(d, PL_ETOOMANY, "more than %d orders have this product; give order_ids in parts", BULK_MAX_ORDERS);
    *out = (const char **)list;
    return e;
  }
  if (!json_is_array(ids)) return pl_fail(d, PL_ETYPE, "order_ids must be an array of order ids");
  size_t k = json_array_size(ids);
  if (!k) return pl_fail(d, PL_EINVAL, "order_ids names no order");
  if (k > BULK_MAX_ORDERS) return pl_fail(d, PL_ETOOMANY, "a bulk notice goes to at most %d orders", BULK_MAX_ORDERS);
  const char **list = pl_arena_alloc(a, k * sizeof *list);
  size_t m = 0;
  for (size_t i = 0; i < k; i++) {
    const char *id = json_string_value(json_array_get(ids, i));
    if (!id || !svc__valid_order_id(id)) return pl_fail(d, PL_EINVAL, "order_ids[%zu] is not an order id", i);
    bool seen = false;
    for (size_t j = 0; j < m && !seen; j++) seen = !strcmp(list[j], id);
    if (seen) continue;
    st_order o;
    pl_err e = store_order_get(s->st, id, a, &o);
    if (e == PL_ENOTFOUND || (!e && strcmp(o.seller_id, c->seller_id)))
      return pl_fail(d, PL_ENOTFOUND, "no order %s of this seller", id);
    if (e) return e;
    list[m++] = pl_arena_strdup(a, id);
  }
  *out = list;
  *n = m;
  return PL_OK;
}

pl_err svc_bulk_create(svc *s, const svc_caller *c, json_t *in, pl_arena *a, json_t **out, pl_detail *d) {
  if (c->kind != ST_PRINCIPAL_AGENT) return pl_fail(d, PL_EFORBIDDEN, "bulk notices are the seller's");
  if (!st_agent_role_writes(c->agent_role))
    return pl_fail(d, PL_EFORBIDDEN, "a read-only agent cannot send messages");
  const char *action = json_string_value(json_object_get(in, "action")),
             *text = json_string_value(json_object_get(in, "text"));
  if (!action) return pl_fail(d, PL_EMISSING, "field 'action' (a message action that takes a text) is required");
  int ai = svc_action_find(action);
  if (ai < 0) return pl_fail(d, PL_ENOTFOUND, "no message action '%s'", action);
  const svc_action_def *def = &svc_actions[ai];
  if (def->max_text == 0 || def->needs_coverage || def->attachment_required)
    return pl_fail(d, PL_EINVAL, "%s cannot carry a bulk notice: choose an action that takes a text", def->name);
  if (!text) return pl_fail(d, PL_EMISSING, "field 'text' is required");
  pl_err e = svc__check_text(&text, a, d);
  if (e) return e;
  size_t chars = 0;
  for (const unsigned char *p = (const unsigned char *)text; *p; p++) chars += (*p & 0xC0) != 0x80;
  if ((int64_t)chars > def->max_text)
    return pl_fail(d, PL_ETOOLONG, "text is %zu characters; %s takes at most %lld", chars, def->name,
                   (long long)def->max_text);
  json_t *att = json_object_get(in, "attachments");
  if (att && (!json_is_array(att) || json_array_size(att) > SVC_MAX_ATTACHMENTS))
    return pl_fail(d, json_is_array(att) ? PL_ETOOMANY : PL_ETYPE, "attachments is an array of at most %d ids",
                   SVC_MAX_ATTACHMENTS);
  for (size_t i = 0; i < json_array_size(att); i++)
    if (!json_is_string(json_array_get(att, i))) return pl_fail(d, PL_ETYPE, "attachments[%zu] must be an id", i);
  /* checked once: the content policy, and what a message that starts a conversation may be */
  policy_verdict v;
  if ((e = svc_policy_check(s, c, text, c->marketplace_id, a, &v, d))) return e;
  bool refused = v.action != POLICY_DELIVER;
  size_t nf = v.nfindings;
  const char *cat = nf ? pl_arena_strdup(a, v.findings[0].category) : "policy";
  if (refused) *out = svc_json_findings(&v); /* what was found, for the error's findings */
  policy_verdict_free(&v);
  if (refused)
    return pl_fail(d, PL_EPOLICY, "the text breaks the communication policy (%zu finding%s, first: %s); nothing was sent",
                   nf, nf == 1 ? "" : "s", cat);
  policy_purpose pp = policy_proactive_purpose(text, strlen(text));
  if (pp) return pl_fail(d, PL_EPURPOSE, "a bulk notice may not be %s", policy_purpose_reason(pp));
  if ((e = svc__begin(s, true, d))) return e;
  const char **orders = NULL;
  size_t n = 0;
  e = orders_of(s, c, in, a, &orders, &n, d);
  char *atts = att ? json_dumps(att, JSON_COMPACT) : NULL;
  pl_time now = svc_now(s);
  st_bulk b = {.seller_id = (char *)c->seller_id, .marketplace_id = (char *)c->marketplace_id, .agent_id = c->agent_id,
               .action = (char *)def->name, .text = (char *)text, .attachments = atts ? atts : "[]",
               .status = "running", .total = (int64_t)n, .created_at = now, .updated_at = now};
  if (!e) e = store_bulk_add(s->st, &b, orders, n);
  if (!e) {
    char ref[PL_REF_MAX];
    e = svc__audit(s, c->seller_id, c->name, "bulk_notice.created", pl_ref_format(ref, "BN", b.id),
                   json_pack("{s:s,s:I}", "action", def->name, "orders", (json_int_t)n));
  }
  st_bulk_counts cn = {.pending = (int64_t)n};
  if (!e) *out = json_pack("{s:o}", "bulk_notice", bulk_view(&b, &cn, a));
  free(atts);
  e = svc__end(s, e, d);
  if (!e) svc__bulk_wake(s);
  return e;
}

pl_err svc_bulk_get(svc *s, const svc_caller *c, const char *ref, pl_arena *a, json_t **out, pl_detail *d) {
  pl_err e = svc__begin(s, false, d);
  if (e) return e;
  st_bulk b;
  st_bulk_counts cn;
  st_bulk_item *items = NULL;
  size_t n = 0;
  e = load(s, c, ref, a, &b, d);
  if (!e) e = store_bulk_counts(s->st, b.id, a, &cn);
  if (!e) e = store_bulk_items(s->st, b.id, a, &items, &n);
  if (!e) {
    json_t *j = bulk_view(&b, &cn, a), *list = json_array();
    for (size_t i = 0; i < n; i++) {
      json_t *it = json_pack("{s:s,s:s,s:s}", "order_id", items[i].order_id, "state", items[i].state, "updated_at",
                             iso(items[i].updated_at, a));
      if (items[i].message_id) json_object_set_new(it, "message_id", json_string(svc_message_ref(a, items[i].message_id)));
      if (items[i].error) json_object_set_new(it, "error", json_string(items[i].error));
      json_array_append_new(list, it);
    }
    json_object_set_new(j, "items", list);
    *out = json_pack("{s:o}", "bulk_notice", j);
  }
  return svc__end(s, e, d);
}

pl_err svc_bulk_list(svc *s, const svc_caller *c, const char *before, int limit, pl_arena *a, json_t **out,
                     pl_detail *d) {
  if (c->kind != ST_PRINCIPAL_AGENT && c->kind != ST_PRINCIPAL_OPERATOR)
    return pl_fail(d, PL_EFORBIDDEN, "bulk notices are the seller's and the operator's");
  int64_t bef = 0;
  if (before && !pl_ref_parse(before, "BN", &bef)) return pl_fail(d, PL_EPAGE, "before must be a bulk notice id");
  if (limit <= 0) limit = 50;
  if (limit > 200) return pl_fail(d, PL_EPAGE, "limit must be from 1 to 200");
  pl_err e = svc__begin(s, false, d);
  if (e) return e;
  st_bulk *bs = NULL;
  size_t n = 0;
  e = store_bulk_list(s->st, c->kind == ST_PRINCIPAL_AGENT ? c->seller_id : NULL, bef, limit, a, &bs, &n);
  json_t *list = json_array();
  int64_t last = 0;
  for (size_t i = 0; !e && i < n; i++) {
    last = bs[i].id;
    if (!may_see(c, &bs[i])) continue;
    st_bulk_counts cn;
    if (!(e = store_bulk_counts(s->st, bs[i].id, a, &cn))) json_array_append_new(list, bulk_view(&bs[i], &cn, a));
  }
  char ref[PL_REF_MAX];
  if (!e) *out = json_pack("{s:o,s:s?}", "bulk_notices", list, "next", n == (size_t)limit ? pl_ref_format(ref, "BN", last) : NULL);
  else json_decref(list);
  return svc__end(s, e, d);
}

pl_err svc_bulk_cancel(svc *s, const svc_caller *c, const char *ref, pl_arena *a, json_t **out, pl_detail *d) {
  if (c->kind == ST_PRINCIPAL_AGENT && !st_agent_role_writes(c->agent_role))
    return pl_fail(d, PL_EFORBIDDEN, "a read-only agent cannot cancel a bulk notice");
  pl_err e = svc__begin(s, true, d);
  if (e) return e;
  st_bulk b;
  e = load(s, c, ref, a, &b, d);
  if (!e) {
    e = store_bulk_cancel(s->st, b.id, svc_now(s));
    if (e == PL_ENOTFOUND) e = pl_fail(d, PL_ECONFLICT, "the bulk notice is %s already", b.status);
  }
  if (!e) e = svc__audit(s, b.seller_id, c->name, "bulk_notice.canceled", ref, NULL);
  e = svc__end(s, e, d);
  return e ? e : svc_bulk_get(s, c, ref, a, out, d);
}

/* ---- the bulk worker ---------------------------------------------------------------------- */

typedef struct {
  st_bulk_item *item;
  pl_time now;
  bool taken; /* another worker recorded it first */
} item_ctx;

/* In the message's transaction: what became of the item. */
static pl_err record_item(svc *s, const svc_sent *sent, void *ctx) {
  item_ctx *x = ctx;
  st_msg_status st = sent->msg.status;
  x->item->state = st == ST_STATUS_DELIVERED ? "delivered" : st == ST_STATUS_NOT_DELIVERED ? "not_delivered" : "failed";
  x->item->message_id = sent->msg.id;
  x->item->error = st == ST_STATUS_HELD_FOR_REVIEW ? "held for the marketplace's review"
                   : st == ST_STATUS_REJECTED      ? "refused by the communication policy"
                                                   : NULL;
  x->item->updated_at = x->now;
  pl_err e = store_bulk_item_set(s->st, x->item);
  if (e == PL_ENOTFOUND) { /* another worker sent it: this message is rolled back */
    x->taken = true;
    e = PL_ECONFLICT;
  }
  return e;
}

/* Sends up to BULK_BATCH items of notice b, stopping at the seller's rate limit (the rest
 * waits for the next step). */
static void send_some(svc *s, const st_bulk *b, pl_arena *a, size_t *sent) {
  st_bulk_item *items = NULL;
  size_t n = 0;
  st_agent ag;
  pl_err e = svc__begin(s, false, NULL);
  if (!e) e = store_bulk_pending(s->st, b->id, BULK_BATCH, a, &items, &n);
  pl_err ge = e ? e : store_agent_get(s->st, b->agent_id, b->seller_id, NULL, a, &ag);
  svc__end(s, PL_OK, NULL);
  if (e) return;
  json_t *att = json_loads(b->attachments ? b->attachments : "[]", 0, NULL);
  size_t natt = json_array_size(att);
  const char **ids = pl_arena_alloc(a, (natt ? natt : 1) * sizeof *ids);
  for (size_t i = 0; i < natt; i++) ids[i] = pl_arena_strdup(a, json_string_value(json_array_get(att, i)));
  json_decref(att);
  /* each message is the agent's who asked for the notice, as if it sent it */
  svc_caller c = {.kind = ST_PRINCIPAL_AGENT, .seller_id = b->seller_id, .agent_id = b->agent_id,
                  .agent_role = ge ? ST_ROLE_AGENT : ag.role, .agent_name = ge ? NULL : ag.name,
                  .marketplace_id = b->marketplace_id, .name = pl_arena_printf(a, "agent:%lld", (long long)b->agent_id)};
  bool gone = ge || ag.deactivated_at;
  for (size_t i = 0; i < n; i++) {
    pl_detail d = {0};
    item_ctx x = {&items[i], svc_now(s), false};
    svc_action_in in = {.text = b->text, .attachments = ids, .nattachments = natt, .in_tx = record_item,
                        .in_tx_ctx = &x};
    svc_sent out;
    e = gone ? pl_fail(&d, PL_EFORBIDDEN, "the agent who sent the notice is no longer on the team")
             : svc__send_action_as(s, &c, items[i].order_id, b->action, &in, 1, a, &out, &d);
    if (!gone) policy_verdict_free(&out.verdict);
    if (e == PL_ERATELIMIT || e == PL_ESTORE || e == PL_ESTOPPING || e == PL_ENOMEM) return; /* later */
    if (e == PL_EPOLICY) e = PL_OK; /* stored rejected, and recorded so with it */
    if (!e) {
      (*sent)++;
      continue;
    }
    if (x.taken) continue;
    /* refused for this order (canceled, out of its window...): failed, with why */
    items[i].state = "failed";
    items[i].error = pl_arena_printf(a, "%s: %s", pl_errname(e), d.msg[0] ? d.msg : pl_strerror(e));
    items[i].updated_at = svc_now(s);
    if (!svc__begin(s, true, NULL)) {
      pl_err f = store_bulk_item_set(s->st, &items[i]);
      svc__end(s, f == PL_ENOTFOUND ? PL_OK : f, NULL);
    }
  }
  if (n < BULK_BATCH && !svc__begin(s, true, NULL)) {
    bool done = false;
    pl_err f = store_bulk_finish(s->st, b->id, svc_now(s), &done);
    if (!f && done) {
      char ref[PL_REF_MAX];
      f = svc__audit(s, b->seller_id, "bulk", "bulk_notice.done", pl_ref_format(ref, "BN", b->id), NULL);
    }
    svc__end(s, f, NULL);
  }
}

size_t svc_bulk_step(svc *s, bool *more) {
  pl_arena *a = pl_arena_new();
  st_bulk *bs = NULL;
  size_t n = 0, sent = 0;
  *more = false;
  if (!svc__begin(s, false, NULL)) {
    if (store_bulk_running(s->st, 20, a, &bs, &n)) n = 0;
    svc__end(s, PL_OK, NULL);
  }
  for (size_t i = 0; i < n; i++) send_some(s, &bs[i], a, &sent);
  *more = n > 0; /* a running notice: look again soon (its next items, or after the rate limit) */
  pl_arena_free(a);
  return sent;
}

struct svc_bulk_worker {
  svc *s;
  pthread_t th;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  bool stop, wake;
};

static void *worker_main(void *arg) {
  svc_bulk_worker *w = arg;
  pthread_mutex_lock(&w->mu);
  while (!w->stop) {
    w->wake = false;
    pthread_mutex_unlock(&w->mu);
    bool more = false;
    svc_bulk_step(w->s, &more);
    pthread_mutex_lock(&w->mu);
    if (w->stop) break;
    if (w->wake) continue;
    /* a second while notices run (the rate limit refills), else until one is created or
     * a minute passes (another node's, on a shared database) */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += more ? 1 : 60;
    pthread_cond_timedwait(&w->cv, &w->mu, &ts);
  }
  pthread_mutex_unlock(&w->mu);
  return NULL;
}

pl_err svc_bulk_worker_start(svc *s, svc_bulk_worker **out, pl_detail *d) {
  svc_bulk_worker *w = calloc(1, sizeof *w);
  if (!w) return pl_fail(d, PL_ENOMEM, "no memory for the bulk worker");
  w->s = s;
  pthread_mutex_init(&w->mu, NULL);
  pthread_cond_init(&w->cv, NULL);
  if (pthread_create(&w->th, NULL, worker_main, w)) {
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    free(w);
    return pl_fail(d, PL_EINTERNAL, "the bulk worker could not start");
  }
  s->bulk = w;
  *out = w;
  return PL_OK;
}

void svc__bulk_wake(svc *s) {
  svc_bulk_worker *w = s->bulk;
  if (!w) return;
  pthread_mutex_lock(&w->mu);
  w->wake = true;
  pthread_cond_signal(&w->cv);
  pthread_mutex_unlock(&w->mu);
}

void svc_bulk_worker_stop(svc_bulk_worker *w) {
  if (!w) return;
  pthread_mutex_lock(&w->mu);
  w->stop = true;
  pthread_cond_signal(&w->cv);
  pthread_mutex_unlock(&w->mu);
  pthread_join(w->th, NULL);
  w->s->bulk = NULL;
  pthread_mutex_destroy(&w->mu);
  pthread_cond_destroy(&w->cv);
  free(w);
}
