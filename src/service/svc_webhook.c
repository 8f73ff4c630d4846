/* svc_webhook.c - webhooks (svc_webhook.h, docs/webhooks.md): who may subscribe what URL to
 * which events, the events queued in the transaction that caused them, and what the
 * delivery worker claims and reports. */
#include <arpa/inet.h>
#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "service/svc_int.h"
#include "service/svc_team.h"
#include "service/svc_webhook.h"
#include "util/pl_utf8.h"

const char *const svc_webhook_events[] = {"message.received", "message.delivered", "message.held", "message.rejected",
                                          "message.failed", "review_request.sent", "policy.violation",
                                          "enforcement.changed", "thread.deadline_approaching", "thread.overdue",
                                          "seller.at_risk", NULL};

#define TEST_EVENT "webhook.test"
#define SVC_OPERATOR_EVENT "seller.at_risk" /* the operator's alone */
#define MAX_BACKOFF 3600

/* ---- URLs and the hosts an operator allows ------------------------------------------- */

bool svc_webhook_url_parse(const char *url, bool *https, char host[256], unsigned *port) {
  const char *p;
  if (!strncmp(url, "https://", 8)) *https = true, p = url + 8;
  else if (!strncmp(url, "http://", 7)) *https = false, p = url + 7;
  else return false;
  size_t alen = strcspn(p, "/?#");
  if (memchr(p, '@', alen) || strchr(url, '#')) return false; /* credentials, a fragment */
  for (const char *c = url; *c; c++)
    if ((unsigned char)*c <= ' ' || *c == 0x7f) return false;
  const char *hs = p, *he;
  if (*p == '[') {
    hs = p + 1;
    he = memchr(hs, ']', alen);
    if (!he) return false;
    p = he + 1;
  } else {
    const char *colon = memchr(p, ':', alen);
    he = colon ? colon : p + alen;
    p = he;
  }
  size_t hlen = (size_t)(he - hs);
  if (!hlen || hlen > 255) return false;
  memcpy(host, hs, hlen);
  host[hlen] = '\0';
  for (char *c = host; *c; c++) *c = (char)tolower((unsigned char)*c);
  *port = *https ? 443 : 80;
  const char *end = url + (url[0] == 'h' && url[4] == 's' ? 8 : 7) + alen;
  if (p < end) {
    if (*p != ':' || p + 1 == end) return false;
    unsigned long v = 0;
    for (const char *c = p + 1; c < end; c++) {
      if (!isdigit((unsigned char)*c) || (v = v * 10 + (unsigned long)(*c - '0')) > 65535) return false;
    }
    if (!v) return false;
    *port = (unsigned)v;
  }
  return true;
}

bool svc_webhook_host_allowed(const char *allow, const char *host, unsigned port) {
  if (!allow) return false;
  char one[300];
  for (const char *p = allow; *p;) {
    size_t n = strcspn(p, ", ");
    if (n && n < sizeof one) {
      memcpy(one, p, n);
      one[n] = '\0';
      char *colon = strrchr(one, ':');
      unsigned want = 0;
      if (colon && one[0] != '[' && !strchr(colon + 1, ']')) {
        *colon = '\0';
        want = (unsigned)atoi(colon + 1);
      }
      char *h = one;
      if (*h == '[') {
        h++;
        char *rb = strchr(h, ']');
        if (rb) {
          if (rb[1] == ':') want = (unsigned)atoi(rb + 2);
          *rb = '\0';
        }
      }
      if (!strcasecmp(h, host) && (!want || want == port)) return true;
    }
    p += n;
    while (*p == ',' || *p == ' ') p++;
  }
  return false;
}

/* ---- who may ---------------------------------------------------------------------------- */

/* A seller's owner manages the seller's webhooks; the operator its own. */
static pl_err may_manage(const svc_caller *c, pl_detail *d) {
  if (c->kind == ST_PRINCIPAL_OPERATOR) return PL_OK;
  if (c->kind == ST_PRINCIPAL_AGENT && c->agent_role == ST_ROLE_OWNER) return PL_OK;
  return pl_fail(d, PL_EFORBIDDEN, "only the seller's owner or the operator manages webhooks");
}

static bool mine(const svc_caller *c, const st_webhook *w) {
  if (c->kind == ST_PRINCIPAL_AGENT)
    return !strcmp(w->owner, "seller") && w->seller_id && !strcmp(w->seller_id, c->seller_id);
  if (c->kind != ST_PRINCIPAL_OPERATOR || strcmp(w->owner, "operator")) return false;
  /* an operator scoped to a marketplace sees that marketplace's webhooks */
  return !c->marketplace_id || (w->marketplace_id && !strcmp(w->marketplace_id, c->marketplace_id));
}

static pl_err load(svc *s, const svc_caller *c, int64_t id, pl_arena *a, st_webhook *w, pl_detail *d) {
  pl_err e = store_webhook_get(s->st, id, a, w);
  if (e == PL_ENOTFOUND || (!e && !mine(c, w))) return pl_fail(d, PL_ENOTFOUND, "no such webhook");
  return e;
}

/* ---- views ------------------------------------------------------------------------------ */

static const char *iso(pl_time t, pl_arena *a) {
  char buf[32];
  return pl_arena_strdup(a, pl_time_format(t, buf));
}

static json_t *view(const st_webhook *w, const char *secret, pl_arena *a) {
  json_t *ev = json_loads(w->events_json, 0, NULL);
  json_t *j = json_pack("{s:s,s:s,s:o,s:b,s:s,s:s,s:s}", "id", svc_team_ref(a, "WH", w->id), "url", w->url, "events",
                        ev ? ev : json_array(), "active", w->active, "owner", w->owner, "created_at",
                        iso(w->created_at, a), "updated_at", iso(w->updated_at, a));
  if (w->seller_id) json_object_set_new(j, "seller_id", json_string(w->seller_id));
  if (w->failing_since) json_object_set_new(j, "failing_since", json_string(iso(w->failing_since, a)));
  if (w->disabled_reason) json_object_set_new(j, "disabled_reason", json_string(w->disabled_reason));
  if (secret) json_object_set_new(j, "secret", json_string(secret));
  return j;
}

static json_t *delivery_view(const st_webhook_delivery *dl, pl_arena *a) {
  /* a redelivery is the same event: its id without the redelivery's mark */
  const char *eid = pl_arena_strndup(a, dl->event_id, strcspn(dl->event_id, "#"));
  json_t *j = json_pack("{s:s,s:s,s:s,s:s,s:I,s:s}", "id", svc_team_ref(a, "WD", dl->id), "event_id", eid,
                        "type", dl->type, "state", dl->state, "attempts", (json_int_t)dl->attempts, "created_at",
                        iso(dl->created_at, a));
  if (!strcmp(dl->state, "pending")) json_object_set_new(j, "next_attempt_at", json_string(iso(dl->next_at, a)));
  if (dl->last_at) {
    json_t *last = json_pack("{s:s,s:I,s:I}", "at", iso(dl->last_at, a), "status", (json_int_t)dl->last_status,
                             "duration_ms", (json_int_t)dl->last_ms);
    if (dl->last_answer) json_object_set_new(last, "answer", json_string(dl->last_answer));
    if (dl->last_error) json_object_set_new(last, "error", json_string(dl->last_error));
    json_object_set_new(j, "last_attempt", last);
  }
  return j;
}

/* ---- the fields of a body ---------------------------------------------------------------- */

static pl_err check_url(svc *s, const char *url, pl_detail *d) {
  bool https;
  char host[256];
  unsigned port;
  if (strlen(url) > SVC_WEBHOOK_URL_MAX)
    return pl_fail(d, PL_EINVAL, "url is longer than %d bytes", SVC_WEBHOOK_URL_MAX);
  if (!svc_webhook_url_parse(url, &https, host, &port))
    return pl_fail(d, PL_EINVAL, "url must be an https URL without credentials or fragment");
  bool allowed = svc_webhook_host_allowed(s->opt.webhook_allow, host, port);
  if (!https && !allowed) return pl_fail(d, PL_EINVAL, "url must be https");
  /* a literal private, loopback or link-local address is refused now; a name resolving to
   * one is refused when the worker connects (http_deliver.c) */
  if (!allowed && svc_webhook_internal_literal(host))
    return pl_fail(d, PL_EINVAL, "url points to a private, loopback or link-local address");
  return PL_OK;
}

/* The events of a body as a JSON array text, checked. */
static pl_err check_events(json_t *ev, bool operator, pl_arena *a, char **out, pl_detail *d) {
  if (!json_is_array(ev)) return pl_fail(d, ev ? PL_ETYPE : PL_EMISSING, "events must be an array of event types");
  if (!json_array_size(ev)) return pl_fail(d, PL_EINVAL, "events must name at least one event type");
  size_t i;
  json_t *v;
  json_t *seen = svc__json_keep(a, json_array());
  json_array_foreach(ev, i, v) {
    const char *t = json_string_value(v);
    if (!t) return pl_fail(d, PL_ETYPE, "events[%zu] must be a string", i);
    bool known = false;
    for (const char *const *k = svc_webhook_events; *k; k++) known |= !strcmp(*k, t);
    if (!known) return pl_fail(d, PL_EINVAL, "'%.64s' is not an event type (docs/webhooks.md lists them)", t);
    if (!operator && !strcmp(t, SVC_OPERATOR_EVENT))
      return pl_fail(d, PL_EINVAL, "'%s' is the operator's event", SVC_OPERATOR_EVENT);
    bool dup = false;
    size_t j;
    json_t *w;
    json_array_foreach(seen, j, w) dup |= !strcmp(json_string_value(w), t);
    if (!dup) json_array_append_new(seen, json_string(t));
  }
  char *txt = json_dumps(seen, JSON_COMPACT);
  *out = pl_arena_strdup(a, txt);
  free(txt);
  return PL_OK;
}

static char *new_secret(svc *s, pl_arena *a, char **sealed) {
  char *secret = svc__random_hex(a, "whsec_", 32);
  char *sl = svc__seal(s, secret, NULL, NULL);
  *sealed = sl ? pl_arena_strdup(a, sl) : NULL;
  free(sl);
  return secret;
}

/* ---- the operations ---------------------------------------------------------------------- */

pl_err svc_webhook_create(svc *s, const svc_caller *c, json_t *body, pl_arena *a, json_t **out, pl_detail *d) {
  *out = NULL;
  pl_err e = may_manage(c, d);
  if (e) return e;
  const char *url = json_string_value(json_object_get(body, "url"));
  if (!url) return pl_fail(d, json_object_get(body, "url") ? PL_ETYPE : PL_EMISSING, "url is required (a string)");
  char *events;
  if ((e = check_url(s, url, d)) || (e = check_events(json_object_get(body, "events"), c->kind == ST_PRINCIPAL_OPERATOR, a, &events, d))) return e;
  st_webhook w = {.owner = c->kind == ST_PRINCIPAL_AGENT ? "seller" : "operator",
                  .seller_id = c->kind == ST_PRINCIPAL_AGENT ? (char *)c->seller_id : NULL,
                  .marketplace_id = c->kind == ST_PRINCIPAL_OPERATOR ? (char *)c->marketplace_id : NULL,
                  .url = (char *)url, .events_json = events, .active = true,
                  .created_at = svc_now(s), .updated_at = svc_now(s)};
  char *secret = new_secret(s, a, &w.secret_sealed);
  if (!w.secret_sealed) return pl_fail(d, PL_ECRYPTO, "the secret could not be sealed");
  if ((e = svc__begin(s, true, d))) return e;
  st_webhook *have;
  size_t n;
  e = store_webhook_list(s->st, w.seller_id, a, &have, &n);
  size_t own = 0;
  for (size_t i = 0; !e && i < n; i++) own += mine(c, &have[i]);
  if (!e && own >= SVC_WEBHOOKS_MAX) e = pl_fail(d, PL_ETOOMANY, "at most %d webhooks; delete one first", SVC_WEBHOOKS_MAX);
  if (!e) e = store_webhook_put(s->st, &w);
  if (!e)
    e = svc__audit(s, w.seller_id, c->name, "webhook.create", svc_team_ref(a, "WH", w.id),
                   json_pack("{s:s,s:s}", "url", url, "events", events));
  if ((e = svc__end(s, e, d))) return e;
  *out = view(&w, secret, a);
  return PL_OK;
}

pl_err svc_webhook_list(svc *s, const svc_caller *c, pl_arena *a, json_t **out, pl_detail *d) {
  *out = NULL;
  pl_err e = may_manage(c, d);
  if (e || (e = svc__begin(s, false, d))) return e;
  st_webhook *ws;
  size_t n;
  e = store_webhook_list(s->st, c->kind == ST_PRINCIPAL_AGENT ? c->seller_id : NULL, a, &ws, &n);
  svc__end(s, PL_OK, NULL);
  if (e) return pl_fail(d, e, "the store failed");
  json_t *arr = json_array();
  for (size_t i = 0; i < n; i++)
    if (mine(c, &ws[i])) json_array_append_new(arr, view(&ws[i], NULL, a));
  *out = arr;
  return PL_OK;
}

pl_err svc_webhook_get(svc *s, const svc_caller *c, int64_t id, pl_arena *a, json_t **out, pl_detail *d) {
  *out = NULL;
  pl_err e = may_manage(c, d);
  if (e || (e = svc__begin(s, false, d))) return e;
  st_webhook w;
  e = load(s, c, id, a, &w, d);
  svc__end(s, PL_OK, NULL);
  if (!e) *out = view(&w, NULL, a);
  return e;
}

pl_err svc_webhook_update(svc *s, const svc_caller *c, int64_t id, json_t *body, pl_arena *a, json_t **out,
                          pl_detail *d) {
  *out = NULL;
  pl_err e = may_manage(c, d);
  if (e) return e;
  json_t *url = json_object_get(body, "url"), *ev = json_object_get(body, "events"),
         *active = json_object_get(body, "active"), *rotate = json_object_get(body, "rotate_secret");
  if (url && !json_is_string(url)) return pl_fail(d, PL_ETYPE, "url must be a string");
  if (active && !json_is_boolean(active)) return pl_fail(d, PL_ETYPE, "active must be true or false");
  if (rotate && !json_is_boolean(rotate)) return pl_fail(d, PL_ETYPE, "rotate_secret must be true or false");
  char *events = NULL;
  if (url && (e = check_url(s, json_string_value(url), d))) return e;
  if (ev && (e = check_events(ev, c->kind == ST_PRINCIPAL_OPERATOR, a, &events, d))) return e;
  char *secret = NULL, *sealed = NULL;
  if (json_is_true(rotate) && !(secret = new_secret(s, a, &sealed), sealed))
    return pl_fail(d, PL_ECRYPTO, "the secret could not be sealed");
  if ((e = svc__begin(s, true, d))) return e;
  st_webhook w;
  e = load(s, c, id, a, &w, d);
  if (!e) {
    if (url) w.url = (char *)json_string_value(url);
    if (events) w.events_json = events;
    if (active) {
      w.active = json_is_true(active);
      if (w.active) w.disabled_reason = NULL, w.failing_since = 0, w.paused_until = 0; /* a fresh start */
    }
    if (sealed) {
      /* the old secret signs beside the new one for a day (two v1= in the header) */
      w.previous_secret_sealed = w.secret_sealed;
      w.previous_until = svc_now(s) + SVC_WEBHOOK_RETRY_SECONDS;
      w.secret_sealed = sealed;
    }
    w.updated_at = svc_now(s);
    e = store_webhook_put(s->st, &w);
  }
  if (!e)
    e = svc__audit(s, w.seller_id, c->name, "webhook.update", svc_team_ref(a, "WH", id),
                   json_pack("{s:s,s:s,s:b,s:b}", "url", w.url, "events", w.events_json, "active", w.active,
                             "secret_rotated", secret != NULL));
  if ((e = svc__end(s, e, d))) return e;
  *out = view(&w, secret, a);
  return PL_OK;
}

pl_err svc_webhook_delete(svc *s, const svc_caller *c, int64_t id, pl_detail *d) {
  pl_err e = may_manage(c, d);
  if (e || (e = svc__begin(s, true, d))) return e;
  pl_arena *a = pl_arena_new();
  st_webhook w;
  e = load(s, c, id, a, &w, d);
  if (!e) e = store_webhook_delete(s->st, id);
  if (!e) e = svc__audit(s, w.seller_id, c->name, "webhook.delete", svc_team_ref(a, "WH", id), json_pack("{s:s}", "url", w.url));
  pl_arena_free(a);
  return svc__end(s, e, d);
}

pl_err svc_webhook_deliveries(svc *s, const svc_caller *c, int64_t id, int64_t before, int limit, pl_arena *a,
                              json_t **out, pl_detail *d) {
  *out = NULL;
  if (limit < 1 || limit > SVC_PAGE_MAX) return pl_fail(d, PL_EPAGE, "limit must be an integer from 1 to %d", SVC_PAGE_MAX);
  pl_err e = may_manage(c, d);
  if (e || (e = svc__begin(s, false, d))) return e;
  st_webhook w;
  st_webhook_delivery *ds = NULL;
  size_t n = 0;
  e = load(s, c, id, a, &w, d);
  if (!e) e = store_webhook_delivery_list(s->st, id, before, limit + 1, a, &ds, &n);
  svc__end(s, PL_OK, NULL);
  if (e) return e;
  json_t *arr = json_array();
  for (size_t i = 0; i < n && i < (size_t)limit; i++) json_array_append_new(arr, delivery_view(&ds[i], a));
  *out = json_pack("{s:o}", "deliveries", arr);
  if (n > (size_t)limit) json_object_set_new(*out, "next", json_string(svc_team_ref(a, "WD", ds[limit - 1].id)));
  return PL_OK;
}

/* Queues body (an event) for webhook w, due now. PL_EEXIST: that event is queued already. */
static pl_err enqueue(svc *s, int64_t webhook_id, const char *event_id, const char *type, const char *body,
                      st_webhook_delivery *dl) {
  *dl = (st_webhook_delivery){.webhook_id = webhook_id, .event_id = (char *)event_id, .type = (char *)type,
                              .body = (char *)body, .state = "pending", .created_at = svc_now(s)};
  dl->next_at = dl->created_at;
  return store_webhook_delivery_add(s->st, dl);
}

/* An event the owner asks to send now (a test, a redelivery) is not held back by a pause
 * after a failure. */
static pl_err unpause(svc *s, st_webhook *w) {
  if (!w->paused_until) return PL_OK;
  w->paused_until = 0;
  return store_webhook_put(s->st, w);
}

pl_err svc_webhook_redeliver(svc *s, const svc_caller *c, int64_t id, int64_t delivery, pl_arena *a, json_t **out,
                             pl_detail *d) {
  *out = NULL;
  pl_err e = may_manage(c, d);
  if (e || (e = svc__begin(s, true, d))) return e;
  st_webhook w;
  st_webhook_delivery old, dl;
  e = load(s, c, id, a, &w, d);
  if (!e) e = unpause(s, &w);
  if (!e && (e = store_webhook_delivery_get(s->st, id, delivery, a, &old)) == PL_ENOTFOUND)
    e = pl_fail(d, PL_ENOTFOUND, "no such delivery of this webhook");
  /* the same event again: its id and body, a delivery of its own */
  char *rid = NULL;
  if (!e) {
    rid = pl_arena_printf(a, "%s#%lld", old.event_id, (long long)svc_now(s));
    e = enqueue(s, id, rid, old.type, old.body, &dl);
    if (e == PL_EEXIST) e = pl_fail(d, PL_EALREADY, "this delivery was queued again a moment ago");
  }
  if ((e = svc__end(s, e, d))) return e;
  *out = delivery_view(&dl, a);
  return PL_OK;
}

/* ---- events --------------------------------------------------------------------------- */

static char *event_id(pl_arena *a) { return svc__random_hex(a, "evt_", 12); }

static bool subscribed(const st_webhook *w, const char *type) {
  json_t *ev = json_loads(w->events_json, 0, NULL);
  bool yes = false;
  size_t i;
  json_t *v;
  json_array_foreach(ev, i, v) yes |= json_is_string(v) && !strcmp(json_string_value(v), type);
  json_decref(ev);
  return yes;
}

static char *event_body(const char *id, const char *type, pl_time at, json_t *data, pl_arena *a) {
  json_t *j = json_pack("{s:s,s:s,s:s,s:O}", "id", id, "type", type, "created_at", iso(at, a), "data", data);
  char *txt = json_dumps(j, JSON_COMPACT);
  json_decref(j);
  char *out = pl_arena_strdup(a, txt ? txt : "{}");
  free(txt);
  return out;
}

pl_err svc_webhook_test(svc *s, const svc_caller *c, int64_t id, pl_arena *a, json_t **out, pl_detail *d) {
  *out = NULL;
  pl_err e = may_manage(c, d);
  if (e || (e = svc__begin(s, true, d))) return e;
  st_webhook w;
  st_webhook_delivery dl;
  e = load(s, c, id, a, &w, d);
  if (!e) e = unpause(s, &w);
  const char *eid = event_id(a);
  if (!e) {
    json_t *data = svc__json_keep(a, json_pack("{s:s}", "webhook_id", svc_team_ref(a, "WH", id)));
    e = enqueue(s, id, eid, TEST_EVENT, event_body(eid, TEST_EVENT, svc_now(s), data, a), &dl);
  }
  if ((e = svc__end(s, e, d))) return e;
  *out = delivery_view(&dl, a);
  return PL_OK;
}

/* What a subscriber may see of a message: ids, the buyer's alias, never an address; a
 * buyer's text masked for a seller's webhook, as the seller reads it. */
static json_t *message_data(svc *s, const st_thread *t, const st_message *m, bool seller, pl_arena *a) {
  st_message seen = *m;
  if (seller) {
    svc_caller team = {.kind = ST_PRINCIPAL_AGENT, .seller_id = t->seller_id};
    svc__view(s, &team, t->marketplace_id, &seen, 1, a);
  }
  json_t *j = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "thread_id", svc_thread_ref(a, t->id), "message_id",
                        svc_message_ref(a, m->id), "seller_id", t->seller_id, "marketplace_id", t->marketplace_id,
                        "from", m->direction == ST_DIR_BUYER ? "buyer" : "seller", "status",
                        st_msg_status_name(m->status) ?: "delivered", "text", seen.text ? seen.text : "");
  if (t->order_id) json_object_set_new(j, "order_id", json_string(t->order_id));
  if (t->asin) json_object_set_new(j, "asin", json_string(t->asin));
  if (t->buyer_alias) json_object_set_new(j, "buyer_alias", json_string(t->buyer_alias));
  return svc__json_keep(a, j);
}

/* Queues one event for every webhook that hears of it: data for a seller's webhooks and
 * for the operator's (they may see more). eid NULL: a new random id, made only when some
 * webhook hears of it (most sends have none to tell). */
static pl_err emit(svc *s, const char *seller_id, const char *marketplace_id, const char *type, const char *eid,
                   json_t *(*data)(void *, bool), void *ctx, pl_arena *a) {
  st_webhook *ws;
  size_t n;
  pl_err e = store_webhook_listeners(s->st, seller_id, marketplace_id, a, &ws, &n);
  for (size_t i = 0; !e && i < n; i++) {
    if (!subscribed(&ws[i], type)) continue;
    if (!strcmp(type, SVC_OPERATOR_EVENT) && strcmp(ws[i].owner, "operator")) continue;
    if (!eid) eid = event_id(a);
    st_webhook_delivery dl;
    e = enqueue(s, ws[i].id, eid, type, event_body(eid, type, svc_now(s), data(ctx, !strcmp(ws[i].owner, "seller")), a),
                &dl);
    if (e == PL_EEXIST) e = PL_OK; /* another node recorded it for this webhook */
  }
  return e;
}

typedef struct {
  svc *s;
  const st_thread *t;
  const st_message *m;
  pl_arena *a;
} msg_ctx;

static json_t *msg_data(void *ctx, bool seller) {
  msg_ctx *x = ctx;
  return message_data(x->s, x->t, x->m, seller, x->a);
}

pl_err svc__webhook_message(svc *s, const st_thread *t, const st_message *m, pl_arena *a) {
  const char *type = NULL;
  if (m->kind == ST_KIND_NOTE) return PL_OK;
  if (m->status == ST_STATUS_FAILED) type = "message.failed"; /* a forward the relay gave up on */
  else if (m->direction == ST_DIR_BUYER) type = m->status == ST_STATUS_DELIVERED ? "message.received" : NULL;
  else if (m->status == ST_STATUS_DELIVERED) type = m->kind == ST_KIND_REVIEW_REQUEST ? "review_request.sent" : "message.delivered";
  else if (m->status == ST_STATUS_HELD_FOR_REVIEW) type = "message.held";
  else if (m->status == ST_STATUS_REJECTED) type = "message.rejected";
  if (!type) return PL_OK;
  msg_ctx x = {s, t, m, a};
  return emit(s, t->seller_id, t->marketplace_id, type, NULL, msg_data, &x, a);
}

typedef struct {
  const st_thread *t;
  pl_arena *a;
} due_ctx;

static json_t *due_data(void *ctx, bool seller) {
  (void)seller;
  due_ctx *x = ctx;
  json_t *j = json_pack("{s:s,s:s,s:s,s:s}", "thread_id", svc_thread_ref(x->a, x->t->id), "seller_id", x->t->seller_id,
                        "marketplace_id", x->t->marketplace_id, "response_due_at", iso(x->t->response_due_at, x->a));
  return svc__json_keep(x->a, j);
}

pl_err svc__webhook_deadline(svc *s, const st_thread *t, bool overdue, pl_arena *a) {
  /* one event id per thread, due time and kind, whichever node notices it first */
  unsigned char h[12];
  char key[80], hex[25];
  snprintf(key, sizeof key, "%s|%lld|%lld", overdue ? "overdue" : "deadline", (long long)t->id,
           (long long)t->response_due_at);
  crypto_generichash(h, sizeof h, (const unsigned char *)key, strlen(key), NULL, 0);
  sodium_bin2hex(hex, sizeof hex, h, sizeof h);
  due_ctx x = {t, a};
  return emit(s, t->seller_id, t->marketplace_id, overdue ? "thread.overdue" : "thread.deadline_approaching",
              pl_arena_printf(a, "evt_%s", hex), due_data, &x, a);
}

static json_t *same_data(void *ctx, bool seller) {
  (void)seller;
  return ctx;
}

pl_err svc__webhook_event(svc *s, const char *seller_id, const char *marketplace_id, const char *type, json_t *data,
                          pl_arena *a) {
  return emit(s, seller_id, marketplace_id, type, NULL, same_data, data, a);
}

/* ---- the delivery worker's side ----------------------------------------------------------- */

/* "t=<unix seconds>,v1=<hex>" for each secret that still signs. */
static char *sign(svc *s, const st_webhook *w, const char *body, pl_time now, pl_arena *a) {
  const char *sealed[2] = {w->secret_sealed, w->previous_until > now ? w->previous_secret_sealed : NULL};
  char *out = pl_arena_printf(a, "t=%lld", (long long)now);
  for (int i = 0; i < 2; i++) {
    char *secret = sealed[i] ? svc__open(s, sealed[i]) : NULL;
    if (!secret) continue;
    crypto_auth_hmacsha256_state st;
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    char ts[24], hex[2 * sizeof mac + 1];
    snprintf(ts, sizeof ts, "%lld.", (long long)now);
    crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret, strlen(secret));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)ts, strlen(ts));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, strlen(body));
    crypto_auth_hmacsha256_final(&st, mac);
    sodium_memzero(secret, strlen(secret));
    free(secret);
    sodium_bin2hex(hex, sizeof hex, mac, sizeof mac);
    out = pl_arena_printf(a, "%s,v1=%s", out, hex);
  }
  return out;
}

size_t svc_webhook_claim(svc *s, size_t max, pl_arena *a, svc_hook_call **out) {
  *out = NULL;
  pl_time now = svc_now(s);
  st_webhook_delivery *ds = NULL;
  size_t n = 0, k = 0;
  /* a look in a read transaction first: an idle worker takes no writer's turn (nor, on
   * SQLite, a flush) five times a second */
  bool any = false;
  if (svc__begin(s, false, NULL)) return 0;
  pl_err le = store_webhook_delivery_due(s->st, now, &any);
  svc__end(s, PL_OK, NULL);
  if (le || !any) return 0;
  if (svc__begin(s, true, NULL)) return 0;
  /* claimed for two minutes: a worker that dies with them lets another retry them */
  pl_err e = store_webhook_delivery_claim(s->st, now, now + 120, max ? (int)max : 8, a, &ds, &n);
  svc_hook_call *calls = n ? pl_arena_alloc(a, n * sizeof *calls) : NULL;
  for (size_t i = 0; !e && i < n; i++) {
    st_webhook w;
    pl_err g = store_webhook_get(s->st, ds[i].webhook_id, a, &w);
    if (g && g != PL_ENOTFOUND) {
      e = g;
      break;
    }
    if (g || !w.active) { /* deleted meanwhile, or turned off: not sent */
      ds[i].state = "failed";
      ds[i].last_error = g ? "the webhook was deleted" : "the webhook is turned off";
      e = store_webhook_delivery_update(s->st, &ds[i]);
      continue;
    }
    calls[k++] = (svc_hook_call){.id = ds[i].id, .webhook_id = w.id, .url = w.url, .event_id = ds[i].event_id,
                                 .type = ds[i].type, .body = ds[i].body, .signature = sign(s, &w, ds[i].body, now, a)};
  }
  if (svc__end(s, e, NULL)) return 0;
  *out = calls;
  return k;
}

/* The first bytes of a receiver's answer as the log keeps them: at most
 * SVC_WEBHOOK_ANSWER_MAX, bytes that are not UTF-8 text (or a cut character) as '?'. */
static char *readable(pl_arena *a, const char *answer) {
  size_t n = strnlen(answer, SVC_WEBHOOK_ANSWER_MAX);
  char *out = pl_arena_strndup(a, answer, n);
  for (size_t i = 0; i < n;) {
    size_t len = 1;
    unsigned char c = (unsigned char)out[i];
    if (c >= 0xc0) len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
    if (i + len > n || !pl_utf8_valid(out + i, len, NULL) || (c < 0x20 && c != '\n' && c != '\t')) {
      out[i] = '?';
      len = 1;
    }
    i += len;
  }
  return out;
}

void svc_webhook_report(svc *s, const svc_hook_call *c, int status, int64_t ms, const char *answer,
                        const char *error, int retry_base) {
  pl_arena *a = pl_arena_new();
  pl_time now = svc_now(s);
  bool ok = status >= 200 && status < 300;
  int64_t delay = 0; /* before this delivery, and its webhook, are tried again */
  if (svc__begin(s, true, NULL)) {
    pl_arena_free(a);
    return; /* the claim ends and another attempt comes */
  }
  st_webhook_delivery dl;
  st_webhook w;
  pl_err e = store_webhook_delivery_get(s->st, c->webhook_id, c->id, a, &dl);
  pl_err g = e ? e : store_webhook_get(s->st, c->webhook_id, a, &w);
  if (!e) {
    dl.attempts++;
    dl.last_at = now;
    dl.last_status = status;
    dl.last_ms = ms;
    dl.last_answer = answer && *answer ? readable(a, answer) : NULL;
    dl.last_error = ok ? NULL : pl_arena_strdup(a, error && *error ? error : "the answer was not 2xx");
    if (ok) {
      dl.state = "delivered";
    } else {
      /* exponential backoff with jitter: base, 2 base, 4 base... up to an hour, each
       * between three quarters and five quarters of that */
      delay = retry_base > 0 ? retry_base : 30;
      for (int64_t i = 1; i < dl.attempts && delay < MAX_BACKOFF; i++) delay *= 2;
      if (delay > MAX_BACKOFF) delay = MAX_BACKOFF;
      delay = delay * 3 / 4 + (int64_t)randombytes_uniform((uint32_t)(delay / 2 + 1));
      if (delay < 1) delay = 1;
      if (now - dl.created_at >= SVC_WEBHOOK_RETRY_SECONDS) dl.state = "failed";
      else dl.next_at = now + delay;
    }
    e = store_webhook_delivery_update(s->st, &dl);
  }
  if (!e && !g) {
    /* A failure pauses the whole webhook as long as this delivery waits: a receiver that
     * fails or times out then costs one attempt a pause, not one for each of its events,
     * and the worker goes on with the other receivers. A success ends the pause. */
    bool changed = ok ? w.paused_until != 0 : true;
    w.paused_until = ok ? 0 : now + delay;
    if (ok && w.failing_since) {
      w.failing_since = 0;
      changed = true;
    } else if (!ok && !w.failing_since) {
      w.failing_since = now;
    } else if (!ok && w.active && now - w.failing_since >= SVC_WEBHOOK_DISABLE_SECONDS) {
      /* three days of failures: turned off, and its owner reads why (GET, the audit log) */
      w.active = false;
      w.disabled_reason = "every delivery failed for 3 days; turned off (PUT active true turns it on)";
      changed = true;
      e = svc__audit(s, w.seller_id, "parley", "webhook.disabled", svc_team_ref(a, "WH", w.id),
                     json_pack("{s:s,s:s}", "url", w.url, "last_error", dl.last_error ? dl.last_error : ""));
      if (!e) e = svc__notify_webhook_disabled(s, &w, a);
    }
    if (changed && !e) {
      w.updated_at = now;
      e = store_webhook_put(s->st, &w);
    }
  }
  svc__end(s, e, NULL);
  pl_arena_free(a);
}

void svc_webhook_release(svc *s, const svc_hook_call *c) {
  pl_arena *a = pl_arena_new();
  if (!svc__begin(s, true, NULL)) {
    st_webhook_delivery dl;
    pl_err e = store_webhook_delivery_get(s->st, c->webhook_id, c->id, a, &dl);
    if (!e) {
      dl.next_at = svc_now(s);
      e = store_webhook_delivery_update(s->st, &dl);
    }
    svc__end(s, e, NULL);
  }
  pl_arena_free(a);
}

/* ---- addresses a webhook may not reach ------------------------------------------------------ */

static bool v4_internal(const unsigned char *a) {
  return a[0] == 0 || a[0] == 10 || a[0] == 127 || (a[0] == 169 && a[1] == 254) ||
         (a[0] == 172 && (a[1] & 0xf0) == 16) || (a[0] == 192 && a[1] == 168) ||
         (a[0] == 100 && (a[1] & 0xc0) == 64) ||                 /* carrier-grade NAT */
         (a[0] == 192 && a[1] == 0 && (a[2] == 0 || a[2] == 2)) || /* IETF, documentation */
         (a[0] == 198 && (a[1] & 0xfe) == 18) ||                 /* benchmarking */
         (a[0] == 198 && a[1] == 51 && a[2] == 100) || (a[0] == 203 && a[1] == 0 && a[2] == 113) ||
         a[0] >= 224; /* multicast, reserved, broadcast */
}

bool svc_webhook_addr_internal(int family, const unsigned char *a) {
  if (family == AF_INET) return v4_internal(a);
  if (family != AF_INET6) return true;
  static const unsigned char zero[16];
  if (!memcmp(a, zero, 15) && (a[15] == 0 || a[15] == 1)) return true; /* ::, ::1 */
  static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  static const unsigned char nat64[12] = {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
  if (!memcmp(a, mapped, 12) || !memcmp(a, nat64, 12) || !memcmp(a, zero, 12)) return v4_internal(a + 12);
  return (a[0] & 0xfe) == 0xfc ||                  /* unique local fc00::/7 */
         (a[0] == 0xfe && (a[1] & 0xc0) == 0x80) || /* link-local fe80::/10 */
         (a[0] == 0xfe && (a[1] & 0xc0) == 0xc0) || /* site-local fec0::/10 */
         a[0] == 0xff ||                           /* multicast */
         (a[0] == 0x20 && a[1] == 0x01 && a[2] == 0x0d && a[3] == 0xb8); /* documentation */
}

bool svc_webhook_internal_literal(const char *host) {
  unsigned char a[16];
  if (inet_pton(AF_INET, host, a) == 1) return svc_webhook_addr_internal(AF_INET, a);
  if (inet_pton(AF_INET6, host, a) == 1) return svc_webhook_addr_internal(AF_INET6, a);
  return !strcasecmp(host, "localhost") || (strlen(host) > 10 && !strcasecmp(host + strlen(host) - 10, ".localhost"));
}

pl_err svc_webhook_sweep(svc *s, int64_t *removed, pl_detail *d) {
  *removed = 0;
  pl_err e = svc__begin(s, true, d);
  if (e) return e;
  e = store_webhook_delivery_sweep(s->st, svc_now(s) - SVC_WEBHOOK_LOG_DAYS * 86400, 10000, removed);
  return svc__end(s, e, d);
}
