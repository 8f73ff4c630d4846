/* svc_rules.c - marketplace rules: message actions, review requests, opt-out,
 * enforcement, quotas, rate limits and the operator's review queue. */
#include "service/svc_rules.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "service/svc_bucket.h"
#include "service/svc_int.h"

#define DAY 86400

void svc_rules_load(svc_rules *r, const char *settings_json) {
  *r = (svc_rules){.proactive_window_days = 30,
                   .review_min_days = 5,
                   .review_max_days = 30,
                   .minor_threshold = 3,
                   .minor_window_days = 30,
                   .restriction_days = 30,
                   .quota_per_day = 20,
                   .quota_compliance_days = 7,
                   .poor_performance_days = 14,
                   .rate_per_second = 1.0,
                   .rate_burst = 5.0,
                   .response_hours = 24,
                   .alert_hours = 4,
                   .crt_good_percent = 90,
                   .crt_warning_percent = 80,
                   .over_flag_rate = 0.20,
                   .over_flag_window_days = 30,
                   .complaint_rate_max = 2.0,
                   .complaint_min_conversations = 10,
                   .mask_buyer_contacts = true,
                   .inbox_days = 60,
                   .text_chars = SVC_MAX_TEXT_CHARS,
                   .attachment_bytes = SVC_ATTACHMENT_MAX_BYTES,
                   .buyer_messages_per_minute = 30,
                   .buyer_messages_per_day = 500,
                   .buyer_threads_per_minute = 5,
                   .buyer_threads_per_day = 50,
                   .buyer_uploads_per_hour = 30,
                   .buyer_upload_bytes_per_day = 100ll << 20,
                   .seller_uploads_per_hour = 300,
                   .seller_upload_bytes_per_day = 1ll << 30,
                   .learn_decision_weight = 5};
  json_t *j = settings_json ? json_loads(settings_json, 0, NULL) : NULL;
  if (!json_is_object(j)) {
    json_decref(j);
    return;
  }
#define INT_KEY(k)                                                     \
  do {                                                                 \
    json_t *v = json_object_get(j, #k);                                \
    if (json_is_integer(v) && json_integer_value(v) >= 0) r->k = json_integer_value(v); \
  } while (0)
  INT_KEY(proactive_window_days);
  INT_KEY(review_min_days);
  INT_KEY(review_max_days);
  INT_KEY(minor_threshold);
  INT_KEY(minor_window_days);
  INT_KEY(restriction_days);
  INT_KEY(quota_per_day);
  INT_KEY(quota_compliance_days);
  INT_KEY(poor_performance_days);
  INT_KEY(response_hours);
  INT_KEY(alert_hours);
  INT_KEY(complaint_min_conversations);
  INT_KEY(inbox_days);
  INT_KEY(over_flag_window_days);
  INT_KEY(buyer_messages_per_minute);
  INT_KEY(buyer_messages_per_day);
  INT_KEY(buyer_threads_per_minute);
  INT_KEY(buyer_threads_per_day);
  INT_KEY(buyer_uploads_per_hour);
  INT_KEY(buyer_upload_bytes_per_day);
  INT_KEY(seller_uploads_per_hour);
  INT_KEY(seller_upload_bytes_per_day);
  INT_KEY(text_chars);
  INT_KEY(attachment_bytes);
  INT_KEY(retention_days);
  INT_KEY(learn_decision_weight);
#undef INT_KEY
  if (r->learn_decision_weight > SVC_LEARN_WEIGHT_MAX) r->learn_decision_weight = SVC_LEARN_WEIGHT_MAX;
#define NUM_KEY(k)                                                     \
  do {                                                                 \
    json_t *v = json_object_get(j, #k);                                \
    if (json_is_number(v) && json_number_value(v) >= 0) r->k = json_number_value(v); \
  } while (0)
  NUM_KEY(crt_good_percent);
  NUM_KEY(complaint_rate_max);
  NUM_KEY(crt_warning_percent);
  NUM_KEY(over_flag_rate);
#undef NUM_KEY
  if (r->response_hours < 1) r->response_hours = 24;
  /* A message's size can be made smaller or larger, within what the server is built to
   * carry: 0 would refuse every message, so it keeps the default. */
  /* The clock's windows (90 days and their edges) and a dispute's time need the record:
   * a shorter retention is raised to the minimum. */
  if (r->retention_days > 0 && r->retention_days < SVC_RETENTION_MIN_DAYS) r->retention_days = SVC_RETENTION_MIN_DAYS;
  if (r->text_chars < 1) r->text_chars = SVC_MAX_TEXT_CHARS;
  if (r->text_chars > SVC_TEXT_CHARS_CEILING) r->text_chars = SVC_TEXT_CHARS_CEILING;
  if (r->attachment_bytes < 1) r->attachment_bytes = SVC_ATTACHMENT_MAX_BYTES;
  if (r->attachment_bytes > SVC_ATTACHMENT_CEILING) r->attachment_bytes = SVC_ATTACHMENT_CEILING;
  json_t *mb = json_object_get(j, "mask_buyer_contacts");
  if (json_is_boolean(mb)) r->mask_buyer_contacts = json_is_true(mb);
  mb = json_object_get(j, "rules_auto_send");
  if (json_is_boolean(mb)) r->rules_auto_send = json_is_true(mb);
  json_t *v = json_object_get(j, "rate_per_second");
  if (json_is_number(v) && json_number_value(v) > 0) r->rate_per_second = json_number_value(v);
  v = json_object_get(j, "rate_burst");
  if (json_is_number(v) && json_number_value(v) >= 1) r->rate_burst = json_number_value(v);
  json_decref(j);
}

const svc_action_def svc_actions[SVC_ACT_COUNT] = {
  [SVC_ACT_CUSTOMIZATION] = {"confirmCustomizationDetails", "Confirm customization details", true, 800, true, false, true, false, false},
  [SVC_ACT_DELIVERY] = {"confirmDeliveryDetails", "Confirm delivery details", true, 2000, true, false, true, false, false},
  [SVC_ACT_ORDER] = {"confirmOrderDetails", "Confirm order details", true, 2000, true, false, true, false, false},
  [SVC_ACT_SERVICE] = {"confirmServiceDetails", "Confirm service details", true, 2000, true, false, false, false, false},
  [SVC_ACT_ACCESS_KEY] = {"digitalAccessKey", "Digital access key", true, 400, true, false, false, false, false},
  [SVC_ACT_WARRANTY] = {"warranty", "Warranty information", false, 2000, false, false, false, true, false},
  [SVC_ACT_INVOICE] = {"invoice", "Invoice", true, 0, false, true, false, false, false},
  [SVC_ACT_LEGAL] = {"legalDisclosure", "Legal disclosure", true, 0, false, true, false, false, false},
  [SVC_ACT_PROBLEM] = {"unexpectedProblem", "Unexpected problem", true, 2000, true, false, false, false, false},
  [SVC_ACT_FEEDBACK_REMOVAL] = {"negativeFeedbackRemoval", "Negative feedback removal", false, 0, false, false, false, false, true},
};

int svc_action_find(const char *name) {
  for (int i = 0; name && i < SVC_ACT_COUNT; i++)
    if (!strcmp(svc_actions[i].name, name)) return i;
  return -1;
}

/* ---- shared rule checks ------------------------------------------------------------- */

/* The settings this thread parsed last, and what they gave: a send asks for its
 * marketplace's rules several times, so the JSON is parsed again only when its text
 * differs (a fixed buffer: settings longer than it are parsed every time). */
static _Thread_local struct {
  bool set;
  char text[4096];
  svc_rules r;
} rules_memo;

pl_err svc__rules_for(svc *s, const char *marketplace_id, pl_arena *a, svc_rules *r) {
  st_marketplace m;
  pl_err e = svc__marketplace_get(s, marketplace_id, a, &m);
  const char *text = e ? NULL : m.settings_json;
  if (text && rules_memo.set && !strcmp(rules_memo.text, text)) {
    *r = rules_memo.r;
  } else {
    svc_rules_load(r, text);
    if (text && strlen(text) < sizeof rules_memo.text) {
      strcpy(rules_memo.text, text);
      rules_memo.r = *r;
      rules_memo.set = true;
    }
  }
  return e == PL_ENOTFOUND ? PL_OK : e;
}

/* The order's completion: delivery, or shipment when there is no delivery date. */
static pl_time completed_at(const st_order *o) { return o->delivered_at ? o->delivered_at : o->shipped_at; }

/* Sub-second time from the system clock; an injected clock (tests, replays) ticks in
 * whole seconds. */
static double bucket_now(svc *s) {
  if (s->opt.clock.fn) return (double)svc_now(s);
  struct timeval tv;
  gettimeofday(&tv, NULL);
  return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

/* Takes cost tokens from the bucket (key, op): the store reads the row and holds it until
 * the caller's transaction ends (so that nodes sharing a database take turns), the
 * arithmetic is svc_bucket_take's, and the row is written back. A bucket never used is
 * full. Runs inside the caller's write transaction; a refusal is rolled back with it. */
static pl_err bucket_take(svc *s, const char *key, const char *op, double now, double rate,
                          double burst, double cost, bool *allowed, double *retry_after) {
  svc_bucket b;
  pl_err e = s->st->ops->rate_bucket_get(s->st, key, op, burst, now, &b.tokens, &b.updated_at);
  if (e) return e;
  *allowed = svc_bucket_take(&b, now, rate, burst, cost, retry_after);
  return s->st->ops->rate_bucket_put(s->st, key, op, b.tokens, b.updated_at);
}

pl_err svc__limit_take(svc *s, const char *key, const char *op, int64_t count, int64_t window,
                       int64_t cost, pl_err code, const char *what, pl_detail *d) {
  if (count <= 0) return PL_OK;
  bool allowed;
  double retry;
  pl_err e = bucket_take(s, key, op, bucket_now(s), (double)count / (double)window, (double)count,
                         (double)cost, &allowed, &retry);
  if (e || allowed) return e;
  const char *per = window == 60 ? "minute" : window == 3600 ? "hour" : "day";
  if (cost > count) /* never passes: no retry_after */
    return pl_fail(d, code, "%s: %lld is more than the %lld a %s allowed", what, (long long)cost,
                   (long long)count, per);
  long long secs = (long long)ceil(retry);
  return pl_retry_after(d, pl_fail(d, code, "%s: at most %lld a %s; retry in %lld s", what, (long long)count, per, secs),
                        secs);
}

pl_err svc__buyer_limits(svc *s, const char *buyer_id, const char *marketplace_id, bool thread_start,
                         pl_arena *a, pl_detail *d) {
  svc_rules r;
  pl_err e = svc__rules_for(s, marketplace_id, a, &r);
  char *key = pl_arena_printf(a, "buyer:%s", buyer_id);
  if (!e && thread_start)
    e = svc__limit_take(s, key, "thread_start_minute", r.buyer_threads_per_minute, 60, 1,
                        PL_ETHREADLIMIT, "too many new conversations", d);
  if (!e && thread_start)
    e = svc__limit_take(s, key, "thread_start_day", r.buyer_threads_per_day, 86400, 1,
                        PL_ETHREADLIMIT, "too many new conversations", d);
  if (!e)
    e = svc__limit_take(s, key, "message_minute", r.buyer_messages_per_minute, 60, 1, PL_EMSGLIMIT,
                        "too many messages", d);
  if (!e)
    e = svc__limit_take(s, key, "message_day", r.buyer_messages_per_day, 86400, 1, PL_EMSGLIMIT,
                        "too many messages", d);
  return e;
}

pl_err svc__rate_take(svc *s, const char *seller_id, const char *op, const svc_rules *r, pl_detail *d) {
  double now = bucket_now(s);
  bool allowed;
  double retry;
  pl_err e = bucket_take(s, seller_id, op, now, r->rate_per_second, r->rate_burst, 1.0, &allowed,
                         &retry);
  if (e) return e;
  if (!allowed) {
    long long secs = (long long)ceil(retry);
    return pl_retry_after(d, pl_fail(d, PL_ERATELIMIT, "too many %s requests: at most %g a second, bursts of %g; retry in %lld s",
                                     op, r->rate_per_second, r->rate_burst, secs), secs);
  }
  return PL_OK;
}

/* Loads the seller's enforcement state, or a clean one. */
static pl_err enforcement_of(svc *s, const char *seller_id, pl_arena *a, st_enforcement *out) {
  pl_err e = store_enforcement_get(s->st, seller_id, a, out);
  if (e == PL_ENOTFOUND) {
    memset(out, 0, sizeof *out);
    out->seller_id = (char *)seller_id;
    return PL_OK;
  }
  return e;
}

pl_err svc__check_quota(svc *s, const char *seller_id, pl_arena *a, pl_detail *d) {
  st_enforcement en;
  pl_err e = enforcement_of(s, seller_id, a, &en);
  if (e) return e;
  pl_time now = svc_now(s);
  if (en.quota_per_day <= 0 || en.quota_until <= now) return PL_OK;
  int64_t n;
  if ((e = store_seller_message_count(s->st, seller_id, now - DAY, false, &n))) return e;
  if (n >= en.quota_per_day) {
    char until[32];
    return pl_until(d, pl_fail(d, PL_EQUOTA, "the daily quota of %lld messages is used up (%s; quota until %s)",
                               (long long)en.quota_per_day, en.quota_reason ? en.quota_reason : "enforcement",
                               pl_time_format(en.quota_until, until)), en.quota_until);
  }
  return PL_OK;
}

static pl_err check_restriction(svc *s, const char *seller_id, pl_arena *a, pl_detail *d) {
  st_enforcement en;
  pl_err e = enforcement_of(s, seller_id, a, &en);
  if (e) return e;
  if (en.restricted_until > svc_now(s)) {
    char until[32];
    return pl_until(d, pl_fail(d, PL_ERESTRICTED, "proactive messaging is restricted until %s: %s; replies to buyers are still allowed",
                               pl_time_format(en.restricted_until, until),
                               en.restriction_reason ? en.restriction_reason : "policy violations"), en.restricted_until);
  }
  return PL_OK;
}

/* ---- enforcement ------------------------------------------------------------------- */

static bool severe_category(const char *c) {
  return !strcmp(c, "off_platform") || !strcmp(c, "review_request");
}

/* Records a change of a seller's measures: in the seller's audit chain, and as the
 * enforcement.changed event of the webhooks that hear of the seller (marketplace_id). */
static pl_err audit_enforcement(svc *s, const st_enforcement *en, const char *marketplace_id, const char *actor,
                                const char *what, const char *reason, pl_arena *a) {
  char until[32], quota[32], subject[96];
  snprintf(subject, sizeof subject, "seller:%s", en->seller_id);
  json_t *detail = json_pack("{s:s,s:s,s:I,s:s,s:b,s:I}", "reason", reason ? reason : "",
                             "restricted_until", en->restricted_until ? pl_time_format(en->restricted_until, until) : "",
                             "quota_per_day", (json_int_t)en->quota_per_day,
                             "quota_until", en->quota_until ? pl_time_format(en->quota_until, quota) : "",
                             "suspension_flag", en->suspension_flag, "warnings", (json_int_t)en->warnings);
  json_t *data = svc__json_keep(a, json_deep_copy(detail));
  json_object_set_new(data, "seller_id", json_string(en->seller_id));
  json_object_set_new(data, "measure", json_string(what && !strncmp(what, "enforcement.", 12) ? what + 12 : "changed"));
  pl_err e = svc__audit(s, en->seller_id, actor, what, subject, detail);
  return e ? e : svc__webhook_event(s, en->seller_id, marketplace_id, "enforcement.changed", data, a);
}

static void restrict_seller(st_enforcement *en, const svc_rules *r, pl_time now, const char *reason,
                            pl_arena *a) {
  pl_time until = now + r->restriction_days * DAY;
  if (until > en->restricted_until) en->restricted_until = until;
  en->restriction_reason = pl_arena_strdup(a, reason);
  /* A restricted seller also gets a message quota, lifted after a week of compliance
   * once the restriction ends. */
  if (r->quota_per_day > 0) {
    en->quota_per_day = r->quota_per_day;
    pl_time qu = en->restricted_until + r->quota_compliance_days * DAY;
    if (qu > en->quota_until) en->quota_until = qu;
    en->quota_reason = pl_arena_strdup(a, "restricted for policy violations");
  }
}

pl_err svc__enforce(svc *s, const st_thread *t, const st_message *m, const policy_verdict *v,
                    pl_arena *a) {
  if (!v || v->nfindings == 0) return PL_OK;
  svc_rules r;
  pl_err e = svc__rules_for(s, t->marketplace_id, a, &r);
  if (e) return e;
  pl_time now = svc_now(s);
  bool severe = false, review_on_requested = false;
  const char *severe_cat = NULL;
  for (size_t i = 0; i < v->nfindings; i++) {
    const char *cat = v->findings[i].category;
    bool seen = false;
    for (size_t k = 0; k < i; k++)
      if (!strcmp(v->findings[k].category, cat)) seen = true;
    if (seen) continue; /* one violation per category and message */
    st_violation vi = {.seller_id = t->seller_id, .category = (char *)cat,
                       .severity = severe_category(cat) ? ST_SEVERITY_SEVERE : ST_SEVERITY_MINOR,
                       .rule = (char *)v->findings[i].rule, .message_id = m->id, .at = now};
    if ((e = store_violation_add(s->st, &vi))) return e;
    if (severe_category(cat)) {
      severe = true;
      if (!severe_cat) severe_cat = cat;
    }
    if (!strcmp(cat, "review_request") && t->order_id) {
      pl_time rat;
      pl_err g = store_review_request_get(s->st, t->order_id, &rat);
      if (!g) review_on_requested = true;
      else if (g != PL_ENOTFOUND) return g;
    }
  }
  /* the webhooks' policy.violation: the message, its categories, how severe */
  json_t *cats = json_array();
  for (size_t i = 0; i < v->nfindings; i++) {
    bool seen = false;
    for (size_t k = 0; k < i; k++) seen |= !strcmp(v->findings[k].category, v->findings[i].category);
    if (!seen) json_array_append_new(cats, json_string(v->findings[i].category));
  }
  json_t *vd = svc__json_keep(a, json_pack("{s:s,s:s,s:s,s:o,s:s}", "seller_id", t->seller_id, "thread_id",
                                          svc_thread_ref(a, t->id), "message_id", svc_message_ref(a, m->id),
                                          "categories", cats, "severity", severe ? "severe" : "minor"));
  if ((e = svc__webhook_event(s, t->seller_id, t->marketplace_id, "policy.violation", vd, a))) return e;
  st_enforcement en;
  if ((e = enforcement_of(s, t->seller_id, a, &en))) return e;
  en.warnings++;
  /* a violation under a quota restarts its week of good standing */
  if (en.quota_per_day > 0 && en.quota_until > now && en.quota_until < now + r.quota_compliance_days * DAY)
    en.quota_until = now + r.quota_compliance_days * DAY;
  const char *what = "enforcement.warning";
  char *reason = pl_arena_printf(a, "message %s was blocked by the communication policy", svc_message_ref(a, m->id));
  if (review_on_requested) {
    reason = pl_arena_strdup(a, "asked for a review by message on an order that already had a review request");
    restrict_seller(&en, &r, now, reason, a);
    what = "enforcement.restriction";
  }
  if (severe) {
    if (!review_on_requested)
      reason = pl_arena_printf(a, "severe violation (%s) in message %s", severe_cat, svc_message_ref(a, m->id));
    restrict_seller(&en, &r, now, reason, a);
    en.suspension_flag = true;
    en.suspension_reason = reason;
    what = "enforcement.restriction";
  } else if (!review_on_requested) {
    /* Repeated minor violations: count the blocked messages in the window. */
    st_violation *vs;
    size_t n;
    if ((e = store_violation_list(s->st, t->seller_id, now - r.minor_window_days * DAY, 1000, a, &vs, &n)))
      return e;
    int64_t msgs = 0;
    for (size_t i = 0; i < n; i++) {
      if (vs[i].severity != ST_SEVERITY_MINOR) continue;
      bool dup = false;
      for (size_t k = 0; k < i; k++)
        if (vs[k].severity == ST_SEVERITY_MINOR && vs[k].message_id == vs[i].message_id) dup = true;
      if (!dup) msgs++;
    }
    if (msgs >= r.minor_threshold) {
      reason = pl_arena_printf(a, "%lld messages with minor violations in %lld days",
                               (long long)msgs, (long long)r.minor_window_days);
      restrict_seller(&en, &r, now, reason, a);
      what = "enforcement.restriction";
    }
  }
  en.updated_at = now;
  if ((e = store_enforcement_put(s->st, &en))) return e;
  return audit_enforcement(s, &en, t->marketplace_id, "policy", what, reason, a);
}

pl_err svc__poor_performance(svc *s, const char *seller_id, const char *marketplace_id, pl_time since, double crt,
                             pl_arena *a) {
  svc_rules r;
  pl_err e = svc__rules_for(s, marketplace_id, a, &r);
  if (e || !since || r.poor_performance_days <= 0 || r.quota_per_day <= 0) return e;
  pl_time now = svc_now(s);
  if (now - since < r.poor_performance_days * DAY) return PL_OK;
  st_enforcement en;
  if ((e = enforcement_of(s, seller_id, a, &en))) return e;
  /* the quota lasts while the CRT stays at risk, and a week (quota_compliance_days) after;
   * renewed at most once a day, so that the seller's audit chain gets a line a day */
  pl_time until = now + r.quota_compliance_days * DAY;
  bool active = en.quota_per_day > 0 && en.quota_until > now;
  if (active && en.quota_until >= until - DAY) return PL_OK;
  if (!active) en.quota_per_day = r.quota_per_day;
  if (until > en.quota_until) en.quota_until = until;
  char *reason = pl_arena_printf(a, "contact response time %.1f %% (at risk below %.0f %%) for %lld days", crt,
                                 r.crt_warning_percent, (long long)((now - since) / DAY));
  if (!active) en.quota_reason = reason;
  en.updated_at = now;
  if ((e = store_enforcement_put(s->st, &en))) return e;
  return audit_enforcement(s, &en, marketplace_id, "clock", "enforcement.quota", reason, a);
}

/* ---- message actions -------------------------------------------------------------- */

/* Why an action is not available for an order now, or NULL when it is. */
static const char *action_unavailable(const svc_action_def *def, const st_order *o,
                                      const svc_rules *r, pl_time now, bool attachments_supported) {
  if (o->status == ST_ORDER_CANCELED) return "the order was canceled";
  if (def->before_delivery && (o->status == ST_ORDER_DELIVERED || o->delivered_at))
    return "only before the order is delivered";
  pl_time done = completed_at(o);
  if (done && now > done + r->proactive_window_days * DAY)
    return "only within the messaging window after the order's completion";
  if (def->needs_negative_feedback && !o->negative_feedback) return "the buyer left no negative feedback on this order";
  if (def->attachment_required && !attachments_supported) return "needs an attachment, and this server keeps no attachments";
  return NULL;
}

pl_err svc_order_actions(svc *s, const svc_caller *c, const char *order_id, pl_arena *a,
                         svc_action_status *out, pl_detail *d) {
  if (c->kind != ST_PRINCIPAL_AGENT) return pl_fail(d, PL_EFORBIDDEN, "message actions are the seller's");
  pl_err e = svc__begin(s, true, d);
  if (e) return e;
  st_order o;
  svc_rules r;
  e = store_order_get(s->st, order_id, a, &o);
  if (e == PL_ENOTFOUND || (!e && strcmp(o.seller_id, c->seller_id)))
    e = pl_fail(d, PL_ENOTFOUND, "no order %s", order_id);
  if (!e) e = svc__rules_for(s, o.marketplace_id, a, &r);
  if (!e) e = svc__rate_take(s, c->seller_id, "getMessagingActionsForOrder", &r, d);
  pl_time now = svc_now(s);
  if (!e) {
    for (int i = 0; i < SVC_ACT_COUNT; i++) {
      out[i].def = &svc_actions[i];
      out[i].reason = action_unavailable(&svc_actions[i], &o, &r, now, svc__attachments_enabled(s));
      out[i].available = out[i].reason == NULL;
    }
  }
  return svc__end(s, e, d);
}

/* The thread of an order, created for a proactive message when there is none. */
static pl_err order_thread(svc *s, const st_order *o, pl_time now, pl_arena *a, st_thread *t,
                           pl_detail *d) {
  pl_err e = s->st->ops->thread_find(s->st, o->id, NULL, NULL, NULL, a, t);
  if (e != PL_ENOTFOUND) return e;
  memset(t, 0, sizeof *t);
  t->order_id = o->id;
  t->seller_id = o->seller_id;
  t->buyer_id = o->buyer_id;
  t->marketplace_id = o->marketplace_id;
  t->topic = "other";
  t->created_at = t->last_message_at = now;
  char *alias;
  if ((e = svc__alias_ensure(s, o->marketplace_id, o->buyer_id, o->seller_id, now, a, &alias, d))) return e;
  return s->st->ops->thread_insert(s->st, t);
}

/* True when the buyer blocked the seller (st_buyer.blocked_sellers): the seller's
 * non-critical proactive messages are then not delivered, as to a buyer who opted out. */
static bool buyer_blocks(const st_buyer *b, const char *seller_id) {
  if (!b->blocked_sellers || !seller_id || !strstr(b->blocked_sellers, seller_id)) return false;
  json_t *list = json_loads(b->blocked_sellers, 0, NULL);
  bool found = false;
  for (size_t i = 0; !found && i < json_array_size(list); i++) {
    const char *id = json_string_value(json_array_get(list, i));
    found = id && !strcmp(id, seller_id);
  }
  json_decref(list);
  return found;
}

pl_err svc_send_action(svc *s, const svc_caller *c, const char *order_id, const char *action,
                       const svc_action_in *in, pl_arena *a, svc_sent *out, pl_detail *d) {
  return svc__send_action_as(s, c, order_id, action, in, -1, a, out, d);
}

pl_err svc__send_action_as(svc *s, const svc_caller *c, const char *order_id, const char *action,
                           const svc_action_in *in, int critical, pl_arena *a, svc_sent *out,
                           pl_detail *d) {
  memset(out, 0, sizeof *out);
  if (c->kind != ST_PRINCIPAL_AGENT) return pl_fail(d, PL_EFORBIDDEN, "message actions are the seller's");
  if (!st_agent_role_writes(c->agent_role))
    return pl_fail(d, PL_EFORBIDDEN, "a read-only agent cannot send messages");
  int ai = svc_action_find(action);
  if (ai < 0) return pl_fail(d, PL_ENOTFOUND, "no message action '%s'", action ? action : "");
  const svc_action_def *def = &svc_actions[ai];
  const char *text = in->text;
  pl_err e;
  if (def->max_text == 0 && text && *text)
    return pl_fail(d, PL_EINVAL, "%s takes no text", def->name);
  if (def->text_required && !text) return pl_fail(d, PL_EMISSING, "%s needs a text", def->name);
  if (text) {
    if ((e = svc__check_text(&text, a, d))) return e;
    size_t chars = 0;
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) chars += (*p & 0xC0) != 0x80;
    if ((int64_t)chars > def->max_text)
      return pl_fail(d, PL_ETOOLONG, "text is %zu characters; %s takes at most %lld", chars, def->name,
                     (long long)def->max_text);
  }
  pl_time cov_start = 0, cov_end = 0;
  if (def->needs_coverage) {
    if (!in->coverage_start || !in->coverage_end)
      return pl_fail(d, PL_EMISSING, "warranty needs coverage_start and coverage_end");
    if (!pl_time_parse(in->coverage_start, &cov_start) || !pl_time_parse(in->coverage_end, &cov_end))
      return pl_fail(d, PL_EINVAL, "coverage dates must be ISO 8601 times");
    if (cov_end <= cov_start) return pl_fail(d, PL_EINVAL, "coverage_end must be after coverage_start");
  }
  if (def->attachment_required && in->nattachments == 0)
    return pl_fail(d, PL_EMISSING, "%s needs an attachment", def->name);

  if ((e = svc__begin(s, true, d))) return e;
  st_order o;
  svc_rules r;
  st_thread t;
  st_buyer b;
  pl_time now = svc_now(s);
  e = store_order_get(s->st, order_id, a, &o);
  if (e == PL_ENOTFOUND || (!e && strcmp(o.seller_id, c->seller_id)))
    e = pl_fail(d, PL_ENOTFOUND, "no order %s", order_id);
  if (!e) e = svc__rules_for(s, o.marketplace_id, a, &r);
  if (!e) e = svc__rate_take(s, c->seller_id, def->name, &r, d);
  const char *why = NULL;
  if (!e && (why = action_unavailable(def, &o, &r, now, in->nattachments > 0))) {
    e = o.status == ST_ORDER_CANCELED ? pl_fail(d, PL_ECANCELED, "order %s was canceled; messaging is unavailable for it", o.id)
                                      : pl_fail(d, PL_EACTION, "%s is not available for order %s: %s", def->name, o.id, why);
  }
  if (!e) e = order_thread(s, &o, now, a, &t, d);
  bool proactive = !e && t.last_buyer_at == 0;
  if (proactive) e = svc__messaging_on(s, &o, a, d);
  if (!e && proactive && text && *text) {
    /* a conversation starts only for the order's sake (docs/rules.md "Proactive messages") */
    policy_purpose pp = policy_proactive_purpose(text, strlen(text));
    if (pp) e = pl_fail(d, PL_EPURPOSE, "a message that starts a conversation may not be %s", policy_purpose_reason(pp));
  }
  if (!e && proactive) e = check_restriction(s, c->seller_id, a, d);
  if (!e) e = svc__check_quota(s, c->seller_id, a, d);
  if (!e) e = store_buyer_get(s->st, o.buyer_id, NULL, a, &b);
  if (!e) {
    /* The message the buyer reads: the seller's text, or the action's own wording. */
    const char *body = text;
    if (!body || !*body) body = svc__action_text(def, b.locale, a);
    if (def->needs_coverage) {
      char s1[32], s2[32];
      body = pl_arena_printf(a, "%s\n\n%s %s – %s", body, svc__coverage_label(b.locale),
                             pl_time_format(cov_start, s1), pl_time_format(cov_end, s2));
      body = pl_arena_strdup(a, body);
    }
    svc__msg_opts mo = {.action = def->name, .critical = critical < 0 ? def->critical : critical > 0,
                        .proactive = proactive,
                        .opted_out = b.opt_out || buyer_blocks(&b, c->seller_id),
                        .marketplace_text = !text || !*text};
    svc_send_in sin = {.text = body, .attachments = in->attachments, .nattachments = in->nattachments};
    e = svc__add_message(s, c, &t, &sin, &mo, a, out, d);
    if (!e && in->in_tx) e = in->in_tx(s, out, in->in_tx_ctx);
  }
  e = svc__end(s, e, d);
  if (!e) {
    svc__count_status(s, out->msg.status);
    svc__publish(s, SVC_EVENT_MESSAGE, &t, &out->msg);
    if (out->msg.status == ST_STATUS_REJECTED)
      return pl_fail(d, PL_EPOLICY, "the message was not delivered: it breaks the communication policy (%zu finding%s)",
                     out->verdict.nfindings, out->verdict.nfindings == 1 ? "" : "s");
  }
  return e;
}

/* ---- review requests ----------------------------------------------------------------- */

/* Why a review cannot be requested for the order now (PL_ECANCELED, PL_EALREADY,
 * PL_EWINDOW with the reason in d), or PL_OK. */
static pl_err review_refusal(svc *s, const st_order *o, const svc_rules *r, pl_time now, pl_detail *d) {
  pl_time prev;
  if (o->status == ST_ORDER_CANCELED)
    return pl_fail(d, PL_ECANCELED, "order %s was canceled; messaging is unavailable for it", o->id);
  pl_err g = store_review_request_get(s->st, o->id, &prev);
  if (!g) {
    char when[32];
    return pl_at(d, pl_fail(d, PL_EALREADY, "a review was already requested for order %s on %s; a review is requested once per order",
                            o->id, pl_time_format(prev, when)), prev);
  }
  if (g != PL_ENOTFOUND) return g;
  if (!o->delivered_at)
    return pl_fail(d, PL_EWINDOW, "order %s is not delivered yet; a review can be requested from day %lld to day %lld after delivery",
                   o->id, (long long)r->review_min_days, (long long)r->review_max_days);
  int64_t age = now - o->delivered_at;
  if (age < r->review_min_days * DAY || age > r->review_max_days * DAY)
    return pl_fail(d, PL_EWINDOW, "order %s was delivered %lld days ago; a review can be requested from day %lld to day %lld after delivery",
                   o->id, (long long)(age / DAY), (long long)r->review_min_days, (long long)r->review_max_days);
  return PL_OK;
}

pl_err svc_request_review(svc *s, const svc_caller *c, const char *order_id, pl_arena *a,
                          svc_sent *out, pl_detail *d) {
  memset(out, 0, sizeof *out);
  if (c->kind != ST_PRINCIPAL_AGENT) return pl_fail(d, PL_EFORBIDDEN, "review requests are the seller's");
  if (!st_agent_role_writes(c->agent_role))
    return pl_fail(d, PL_EFORBIDDEN, "a read-only agent cannot request reviews");
  pl_err e = svc__begin(s, true, d);
  if (e) return e;
  st_order o;
  svc_rules r;
  st_thread t;
  st_buyer b;
  pl_time now = svc_now(s);
  e = store_order_get(s->st, order_id, a, &o);
  if (e == PL_ENOTFOUND || (!e && strcmp(o.seller_id, c->seller_id)))
    e = pl_fail(d, PL_ENOTFOUND, "no order %s", order_id);
  if (!e) e = svc__rules_for(s, o.marketplace_id, a, &r);
  if (!e) e = svc__rate_take(s, c->seller_id, "createProductReviewAndSellerFeedbackSolicitation", &r, d);
  if (!e) e = review_refusal(s, &o, &r, now, d);
  if (!e) e = order_thread(s, &o, now, a, &t, d);
  if (!e) e = store_buyer_get(s->st, o.buyer_id, NULL, a, &b);
  if (!e) {
    svc__msg_opts mo = {.kind = ST_KIND_REVIEW_REQUEST, .action = "productReviewAndSellerFeedback",
                        .critical = false, .proactive = true, .opted_out = b.opt_out || buyer_blocks(&b, c->seller_id),
                        .marketplace_text = true};
    svc_send_in sin = {.text = svc__review_text(b.locale, a)};
    e = svc__add_message(s, c, &t, &sin, &mo, a, out, d);
  }
  if (!e) {
    e = store_review_request_put(s->st, o.id, o.seller_id, out->msg.id, now);
    if (e == PL_EEXIST) e = pl_fail(d, PL_EALREADY, "a review was already requested for order %s", o.id);
  }
  e = svc__end(s, e, d);
  if (!e) {
    svc__count_status(s, out->msg.status);
    svc__publish(s, SVC_EVENT_MESSAGE, &t, &out->msg);
  }
  return e;
}

pl_err svc_review_available(svc *s, const svc_caller *c, const char *order_id, pl_arena *a,
                           bool *available, pl_detail *why, pl_detail *d) {
  *available = false;
  if (c->kind != ST_PRINCIPAL_AGENT) return pl_fail(d, PL_EFORBIDDEN, "review requests are the seller's");
  pl_err e = svc__begin(s, true, d); /* the rate bucket is written */
  if (e) return e;
  st_order o;
  svc_rules r;
  e = store_order_get(s->st, order_id, a, &o);
  if (e == PL_ENOTFOUND || (!e && strcmp(o.seller_id, c->seller_id)))
    e = pl_fail(d, PL_ENOTFOUND, "no order %s", order_id);
  if (!e) e = svc__rules_for(s, o.marketplace_id, a, &r);
  if (!e) e = svc__rate_take(s, c->seller_id, "getSolicitationActionsForOrder", &r, d);
  if (!e) {
    pl_err why_e = review_refusal(s, &o, &r, svc_now(s), why);
    if (why_e == PL_OK) *available = true;
    else if (why_e != PL_ECANCELED && why_e != PL_EALREADY && why_e != PL_EWINDOW) e = why_e;
  }
  return svc__end(s, e, d);
}

pl_err svc_buyer_attributes(svc *s, const svc_caller *c, const char *order_id, pl_arena *a,
                            char **locale, pl_detail *d) {
  if (c->kind != ST_PRINCIPAL_AGENT) return pl_fail(d, PL_EFORBIDDEN, "buyer attributes are for the seller");
  pl_err e = svc__begin(s, true, d);
  if (e) return e;
  st_order o;
  st_buyer b;
  svc_rules r;
  e = store_order_get(s->st, order_id, a, &o);
  if (e == PL_ENOTFOUND || (!e && strcmp(o.seller_id, c->seller_id)))
    e = pl_fail(d, PL_ENOTFOUND, "no order %s", order_id);
  if (!e) e = svc__rules_for(s, o.marketplace_id, a, &r);
  if (!e) e = svc__rate_take(s, c->seller_id, "getAttributes", &r, d);
  if (!e) e = store_buyer_get(s->st, o.buyer_id, NULL, a, &b);
  if (!e) *locale = b.locale;
  return svc__end(s, e, d);
}

/* ---- buyer preferences --------------------------------------------------------------- */

static json_t *preferences_json(const st_buyer *b) {
  json_t *blocked = b->blocked_sellers ? json_loads(b->blocked_sellers, 0, NULL) : NULL;
  if (!json_is_array(blocked)) {
    json_decref(blocked);
    blocked = json_array();
  }
  return json_pack("{s:b,s:o}", "opt_out", b->opt_out, "blocked_sellers", blocked);
}

pl_err svc_buyer_preferences(svc *s, const svc_caller *c, pl_arena *a, json_t **out, pl_detail *d) {
  if (c->kind != ST_PRINCIPAL_BUYER) return pl_fail(d, PL_EFORBIDDEN, "preferences are the buyer's");
  pl_err e = svc__begin(s, false, d);
  if (e) return e;
  st_buyer b;
  e = store_buyer_get(s->st, c->buyer_id, NULL, a, &b);
  if (!e) *out = preferences_json(&b);
  return svc__end(s, e, d);
}

/* The list of seller ids in blocked, checked: strings naming sellers, each once, at most
 * SVC_MAX_BLOCKED_SELLERS. Sets *text to it as JSON (arena). */
static pl_err blocked_list(svc *s, json_t *blocked, pl_arena *a, char **text, pl_detail *d) {
  if (!json_is_array(blocked))
    return pl_fail(d, PL_ETYPE, "field 'blocked_sellers' must be an array of seller ids");
  if (json_array_size(blocked) > SVC_MAX_BLOCKED_SELLERS)
    return pl_fail(d, PL_ETOOMANY, "a buyer blocks at most %d sellers", SVC_MAX_BLOCKED_SELLERS);
  json_t *list = json_array();
  pl_err e = PL_OK;
  for (size_t i = 0; !e && i < json_array_size(blocked); i++) {
    const char *id = json_string_value(json_array_get(blocked, i));
    if (!id || !*id) {
      e = pl_fail(d, PL_ETYPE, "seller ids are non-empty strings");
      break;
    }
    bool seen = false;
    for (size_t k = 0; k < json_array_size(list); k++) seen |= !strcmp(json_string_value(json_array_get(list, k)), id);
    if (seen) continue;
    st_seller sel;
    e = store_seller_get(s->st, id, NULL, a, &sel);
    if (e == PL_ENOTFOUND) e = pl_fail(d, PL_ENOTFOUND, "no seller %s", id);
    if (!e) json_array_append_new(list, json_string(id));
  }
  if (!e) {
    char *j = json_dumps(list, JSON_COMPACT);
    *text = pl_arena_strdup(a, j ? j : "[]");
    free(j);
  }
  json_decref(list);
  return e;
}

pl_err svc_buyer_preferences_set(svc *s, const svc_caller *c, json_t *in, pl_arena *a, json_t **out, pl_detail *d) {
  if (c->kind != ST_PRINCIPAL_BUYER) return pl_fail(d, PL_EFORBIDDEN, "only a buyer sets their preferences");
  json_t *opt = json_object_get(in, "opt_out"), *blocked = json_object_get(in, "blocked_sellers");
  if (!opt && !blocked) return pl_fail(d, PL_EMISSING, "field 'opt_out' (true or false) or 'blocked_sellers' is required");
  if (opt && !json_is_boolean(opt)) return pl_fail(d, PL_ETYPE, "field 'opt_out' must be true or false");
  pl_err e = svc__begin(s, true, d);
  if (e) return e;
  st_buyer b;
  char *list = NULL;
  e = store_buyer_get(s->st, c->buyer_id, NULL, a, &b);
  if (!e && blocked) e = blocked_list(s, blocked, a, &list, d);
  bool opt_changed = !e && opt && b.opt_out != json_is_true(opt);
  bool blocks_changed = !e && list && strcmp(list, b.blocked_sellers ? b.blocked_sellers : "[]");
  if (opt_changed) b.opt_out = json_is_true(opt);
  if (blocks_changed) b.blocked_sellers = list;
  if (opt_changed || blocks_changed) e = store_buyer_put(s->st, &b);
  /* Private choices: the audit entries are the operator's, not any seller's. */
  if (!e && opt_changed) e = svc__audit(s, NULL, c->name, b.opt_out ? "buyer.opt_out" : "buyer.opt_in", c->buyer_id, NULL);
  if (!e && blocks_changed)
    e = svc__audit(s, NULL, c->name, "buyer.blocks", c->buyer_id,
                   json_pack("{s:o}", "blocked_sellers", json_loads(list, 0, NULL)));
  if (!e) *out = preferences_json(&b);
  return svc__end(s, e, d);
}

/* ---- the operator's review queue --------------------------------------------------- */

pl_err svc_held_list(svc *s, const svc_caller *c, int limit, pl_arena *a, st_message **out,
                     size_t *n, pl_detail *d) {
  if (c->kind != ST_PRINCIPAL_OPERATOR) return pl_fail(d, PL_EFORBIDDEN, "the review queue is the operator's");
  if (limit < 1 || limit > 100) return pl_fail(d, PL_EINVAL, "limit must be from 1 to 100");
  pl_err e = svc__begin(s, false, d);
  if (e) return e;
  e = store_held_list(s->st, c->marketplace_id, limit, a, out, n);
  if (!e) e = svc__attachments_fill(s, *out, *n, a);
  return svc__end(s, e, d);
}

pl_err svc_review_decide(svc *s, const svc_caller *c, int64_t message_id, bool approve,
                         const char *note, pl_arena *a, st_message *m, pl_detail *d) {
  if (c->kind != ST_PRINCIPAL_OPERATOR) return pl_fail(d, PL_EFORBIDDEN, "held messages are decided by the operator");
  pl_err e = svc__begin(s, true, d);
  if (e) return e;
  st_thread t;
  e = s->st->ops->message_get(s->st, message_id, NULL, a, m);
  if (!e) e = s->st->ops->thread_get(s->st, m->thread_id, a, &t);
  if (!e) e = svc__attachments_fill(s, m, 1, a);
  if (e == PL_ENOTFOUND || (!e && c->marketplace_id && strcmp(c->marketplace_id, t.marketplace_id)))
    e = pl_fail(d, PL_ENOTFOUND, "no message %s", svc_message_ref(a, message_id));
  if (!e && m->status != ST_STATUS_HELD_FOR_REVIEW)
    e = pl_fail(d, PL_ECONFLICT, "message %s is not held for review (it is %s)", svc_message_ref(a, message_id),
                st_msg_status_name(m->status) ?: "unknown");
  st_msg_status status = approve ? ST_STATUS_DELIVERED : ST_STATUS_REJECTED;
  if (!e) {
    st_event ev = {.message_id = m->id, .thread_id = m->thread_id, .seller_id = m->seller_id,
                   .type = ST_EVENT_STATUS, .value = (char *)st_msg_status_name(status), .actor = (char *)c->name,
                   .at = svc_now(s)};
    e = s->st->ops->event_insert(s->st, &ev);
    m->status = status;
    m->status_at = ev.at;
  }
  if (!e) e = svc__thread_changed(s, &t, SVC__STATUS, m, a);
  if (!e && approve) e = svc__outbox_message(s, &t, m);
  if (!e) e = svc__webhook_message(s, &t, m, a);
  if (!e && !approve && m->policy_json) {
    /* A rejection by the operator is a violation like a rejection by the engine. */
    json_t *pj = json_loads(m->policy_json, 0, NULL);
    json_t *fs = json_object_get(pj, "findings");
    size_t nf = json_array_size(fs);
    policy_verdict v = {.action = POLICY_REJECT, .nfindings = nf,
                        .findings = pl_arena_alloc(a, (nf ? nf : 1) * sizeof(policy_finding))};
    for (size_t i = 0; i < nf; i++) {
      json_t *f = json_array_get(fs, i);
      v.findings[i] = (policy_finding){
          .category = pl_arena_strdup(a, json_string_value(json_object_get(f, "category")) ?: "other"),
          .rule = pl_arena_strdup(a, json_string_value(json_object_get(f, "rule")) ?: "")};
    }
    json_decref(pj);
    e = svc__enforce(s, &t, m, &v, a);
  }
  /* the decision teaches the marketplace's model at its next `parley policy train` */
  if (!e) e = svc__learn_decision(s, &t, m, approve, c->name);
  if (!e)
    e = svc__audit(s, t.seller_id, c->name, approve ? "review.approve" : "review.reject",
                   svc__record_ref(a, "T", t.id), json_pack("{s:s,s:s}", "message", svc__record_ref(a, "M", m->id),
                                                      "note", note ? note : ""));
  e = svc__end(s, e, d);
  if (!e) {
    svc__count_status(s, status);
    svc__publish(s, SVC_EVENT_MESSAGE, &t, m);
  }
  return e;
}

/* ---- enforcement views and the operator's hand ------------------------------------------ */

PL_NAMED(svc_enforcement_action, SVC_ENFORCEMENT_ACTION_MAP)

pl_err svc_enforcement_get(svc *s, const svc_caller *c, const char *seller_id, pl_arena *a,
                           st_enforcement *out, st_violation **vs, size_t *nv, pl_detail *d) {
  if (c->kind == ST_PRINCIPAL_BUYER || (c->kind == ST_PRINCIPAL_AGENT && strcmp(c->seller_id, seller_id)))
    return pl_fail(d, PL_ENOTFOUND, "no seller %s", seller_id);
  pl_err e = svc__begin(s, false, d);
  if (e) return e;
  st_seller sl;
  e = store_seller_get(s->st, seller_id, NULL, a, &sl);
  if (e == PL_ENOTFOUND || (!e && c->marketplace_id && strcmp(c->marketplace_id, sl.marketplace_id)))
    e = pl_fail(d, PL_ENOTFOUND, "no seller %s", seller_id);
  if (!e) e = enforcement_of(s, seller_id, a, out);
  if (!e) e = store_violation_list(s->st, seller_id, svc_now(s) - 90 * DAY, 200, a, vs, nv);
  return svc__end(s, e, d);
}

pl_err svc_enforcement_set(svc *s, const svc_caller *c, const char *seller_id,
                           const svc_enforcement_in *in, pl_arena *a, st_enforcement *out, pl_detail *d) {
  if (c->kind != ST_PRINCIPAL_OPERATOR) return pl_fail(d, PL_EFORBIDDEN, "only the operator imposes or lifts measures");
  if (!in->reason || !*in->reason) return pl_fail(d, PL_EMISSING, "a reason is required: the seller sees it");
  pl_err e = svc__begin(s, true, d);
  if (e) return e;
  st_seller sl;
  pl_time now = svc_now(s);
  e = store_seller_get(s->st, seller_id, NULL, a, &sl);
  if (e == PL_ENOTFOUND) e = pl_fail(d, PL_ENOTFOUND, "no seller %s", seller_id);
  if (!e) e = enforcement_of(s, seller_id, a, out);
  const char *what = NULL;
  svc_enforcement_action act;
  if (!e && svc_enforcement_action_from_name(in->action, &act))
    e = pl_fail(d, PL_EINVAL, "action must be restrict, lift_restriction, quota, lift_quota, flag or unflag");
  if (!e) {
    switch (act) {
    case SVC_ENF_RESTRICT:
      if (in->days <= 0) e = pl_fail(d, PL_EINVAL, "days must be positive");
      out->restricted_until = now + in->days * DAY;
      out->restriction_reason = (char *)in->reason;
      what = "enforcement.restriction";
      break;
    case SVC_ENF_LIFT_RESTRICTION:
      out->restricted_until = 0;
      out->restriction_reason = (char *)in->reason;
      what = "enforcement.restriction_lifted";
      break;
    case SVC_ENF_QUOTA:
      if (in->days <= 0 || in->quota_per_day <= 0) e = pl_fail(d, PL_EINVAL, "days and quota_per_day must be positive");
      out->quota_per_day = in->quota_per_day;
      out->quota_until = now + in->days * DAY;
      out->quota_reason = (char *)in->reason;
      what = "enforcement.quota";
      break;
    case SVC_ENF_LIFT_QUOTA:
      out->quota_per_day = 0;
      out->quota_until = 0;
      out->quota_reason = (char *)in->reason;
      what = "enforcement.quota_lifted";
      break;
    case SVC_ENF_FLAG:
    case SVC_ENF_UNFLAG:
      out->suspension_flag = act == SVC_ENF_FLAG;
      out->suspension_reason = (char *)in->reason;
      what = act == SVC_ENF_FLAG ? "enforcement.flag" : "enforcement.unflag";
      break;
    case SVC_ENF_NONE: break;
    }
  }
  if (!e) {
    out->updated_at = now;
    e = store_enforcement_put(s->st, out);
  }
  if (!e) e = audit_enforcement(s, out, sl.marketplace_id, c->name, what, in->reason, a);
  return svc__end(s, e, d);
}
