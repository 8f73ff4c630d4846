/* svc_json.c - what each party sees of threads, messages and orders, as JSON. */
#include <stdio.h>
#include <string.h>

#include "extract/extract.h"
#include "service/svc_int.h"
#include "service/svc_team.h"
#include "util/pl_ref.h"

static json_t *time_or_null(pl_time t) {
  char buf[32];
  return t ? json_string(pl_time_format(t, buf)) : json_null();
}

static json_t *str_or_null(const char *s) { return s ? json_string(s) : json_null(); }

bool svc_message_visible(const svc_caller *c, const st_message *m) {
  if (c->kind != ST_PRINCIPAL_BUYER) return true;
  /* a buyer's own out-of-office, kept for the seller, is not part of the conversation */
  if (m->direction == ST_DIR_BUYER) return m->kind != ST_KIND_AUTO_REPLY;
  return m->kind != ST_KIND_NOTE && m->status == ST_STATUS_DELIVERED;
}

static const char *thread_state(const st_thread *t) {
  if (t->archived) return "archived";
  if (t->needs_response) return "response_needed";
  if (t->waiting) return "no_response_needed";
  return "answered";
}

json_t *svc_json_thread(const svc_caller *c, const st_thread *t) {
  char ref[PL_REF_MAX];
  pl_ref_format(ref, "T", t->id);
  json_t *j = json_object();
  json_object_set_new(j, "id", json_string(ref));
  json_object_set_new(j, "marketplace_id", json_string(t->marketplace_id));
  json_object_set_new(j, "seller_id", json_string(t->seller_id));
  json_object_set_new(j, "order_id", str_or_null(t->order_id));
  json_object_set_new(j, "asin", str_or_null(t->asin));
  json_object_set_new(j, "topic", json_string(t->topic));
  json_object_set_new(j, "created_at", time_or_null(t->created_at));
  /* A buyer's last message is the newest they can see: a note or a refused seller message
   * does not tell them the team was at work. */
  json_object_set_new(j, "last_message_at",
                      time_or_null(c->kind == ST_PRINCIPAL_BUYER ? t->buyer_last_at : t->last_message_at));
  if (c->kind == ST_PRINCIPAL_BUYER) {
    json_object_set_new(j, "seller_name", str_or_null(t->seller_name));
    json_object_set_new(j, "unread", json_boolean(t->last_seller_id > t->buyer_read_id));
  } else {
    json_object_set_new(j, "buyer_alias", str_or_null(t->buyer_alias));
    json_object_set_new(j, "buyer_name", str_or_null(t->buyer_name));
    if (c->kind == ST_PRINCIPAL_OPERATOR) {
      json_object_set_new(j, "buyer_id", json_string(t->buyer_id));
      json_object_set_new(j, "seller_name", str_or_null(t->seller_name));
    }
    json_object_set_new(j, "state", json_string(thread_state(t)));
    json_object_set_new(j, "archived", json_boolean(t->archived));
    json_object_set_new(j, "unread", json_boolean(t->last_buyer_id > t->seller_read_id));
    json_object_set_new(j, "waiting", json_integer(t->waiting));
    json_object_set_new(j, "response_due_at", time_or_null(t->response_due_at));
  }
  return j;
}

json_t *svc_json_findings(const policy_verdict *v) {
  json_t *arr = json_array();
  for (size_t i = 0; v && i < v->nfindings; i++) {
    const policy_finding *f = &v->findings[i];
    json_array_append_new(arr, json_pack("{s:s,s:s,s:I,s:I,s:s}", "category", f->category, "rule",
                                         f->rule ? f->rule : "", "start", (json_int_t)f->start,
                                         "end", (json_int_t)f->end, "text", f->text ? f->text : ""));
  }
  return arr;
}

json_t *svc_json_message(const svc_caller *c, const st_message *m) {
  char ref[PL_REF_MAX], tref[PL_REF_MAX];
  pl_ref_format(ref, "M", m->id);
  pl_ref_format(tref, "T", m->thread_id);
  json_t *j = json_object();
  json_object_set_new(j, "id", json_string(ref));
  json_object_set_new(j, "thread_id", json_string(tref));
  json_object_set_new(j, "from", str_or_null(st_direction_name(m->direction)));
  json_object_set_new(j, "kind", str_or_null(st_msg_kind_name(m->kind)));
  if (m->action && c->kind == ST_PRINCIPAL_BUYER) json_object_set_new(j, "action", json_string(m->action));
  /* A buyer's text reaches a seller only through the mask (svc__view): a path that
   * forgot it shows nothing rather than the buyer's contact details; so does a message
   * whose direction is unknown (store.h). */
  bool withheld = c->kind == ST_PRINCIPAL_AGENT && m->direction != ST_DIR_SELLER && !m->text_viewed;
  json_object_set_new(j, "text", json_string(withheld ? "[text withheld]" : m->text));
  json_object_set_new(j, "at", time_or_null(m->at));
  if (c->kind != ST_PRINCIPAL_BUYER) {
    json_object_set_new(j, "status", str_or_null(st_msg_status_name(m->status)));
    if (m->direction == ST_DIR_BUYER)
      json_object_set_new(j, "no_response_needed", json_boolean(m->flagged));
    if (m->agent_id) json_object_set_new(j, "agent_id", json_integer(m->agent_id));
    if (m->ext_id) json_object_set_new(j, "import_id", json_string(m->ext_id));
    if (m->action) json_object_set_new(j, "action", json_string(m->action));
    if (m->direction == ST_DIR_SELLER) {
      json_object_set_new(j, "proactive", json_boolean(m->proactive));
      json_object_set_new(j, "critical", json_boolean(m->critical));
    }
    if (m->policy_json) {
      json_t *p = json_loads(m->policy_json, 0, NULL);
      if (p) json_object_set_new(j, "policy", p);
    }
  }
  json_t *atts = json_array();
  for (size_t i = 0; i < m->nattachments; i++) {
    const st_msg_attachment *x = &m->attachments[i];
    json_array_append_new(atts, json_pack("{s:s,s:s,s:s,s:I}", "id", x->id, "name",
                                          withheld ? "[name withheld]" : x->name, "kind", x->kind,
                                          "size", (json_int_t)x->size));
  }
  json_object_set_new(j, "attachments", atts);
  return j;
}

json_t *svc_json_order(const st_order *o) {
  json_t *items = json_array();
  for (size_t i = 0; i < o->nitems; i++) {
    const st_item *it = &o->items[i];
    json_array_append_new(items, json_pack("{s:o,s:o,s:I,s:o,s:o}", "asin", str_or_null(it->asin),
                                           "title", str_or_null(it->title), "quantity",
                                           (json_int_t)it->quantity, "price", str_or_null(it->price),
                                           "currency", str_or_null(it->currency)));
  }
  json_t *j = json_object();
  json_object_set_new(j, "id", json_string(o->id));
  json_object_set_new(j, "marketplace", json_string(o->marketplace_id));
  json_object_set_new(j, "seller", json_string(o->seller_id));
  json_object_set_new(j, "status", str_or_null(st_order_status_name(o->status)));
  json_object_set_new(j, "purchased_at", time_or_null(o->purchased_at));
  json_object_set_new(j, "shipped_at", time_or_null(o->shipped_at));
  json_object_set_new(j, "delivered_at", time_or_null(o->delivered_at));
  json_object_set_new(j, "negative_feedback", json_boolean(o->negative_feedback));
  json_object_set_new(j, "fulfillment", json_string(o->by_marketplace ? "marketplace" : "seller"));
  json_object_set_new(j, "ship_country", str_or_null(o->ship_country));
  json_object_set_new(j, "carrier", str_or_null(o->carrier));
  json_object_set_new(j, "tracking_number", str_or_null(o->tracking));
  json_object_set_new(j, "promised_delivery_at", time_or_null(o->promised_at));
  json_object_set_new(j, "return_state", str_or_null(o->return_state));
  json_object_set_new(j, "items", items);
  return j;
}

static json_t *meta_json(const svc_rules *r) {
  json_t *topics = json_object();
  for (int product = 0; product < 2; product++) {
    json_t *arr = json_array();
    for (const svc_named *t = svc_topics(product); t->id; t++)
      json_array_append_new(arr, json_pack("{s:s,s:s}", "id", t->id, "label", t->label));
    json_object_set_new(topics, product ? "pre_purchase" : "post_purchase", arr);
  }
  size_t n;
  const policy_category *pc = policy_categories(&n);
  json_t *cats = json_array();
  for (size_t i = 0; i < n; i++)
    json_array_append_new(cats, json_pack("{s:s,s:s,s:s}", "id", pc[i].name, "label", pc[i].label, "hint", pc[i].hint));
  json_t *exts = json_array();
  for (size_t i = 0; extract_extension(i); i++) json_array_append_new(exts, json_string(extract_extension(i)));
  json_t *purposes = json_array();
  const char *pid, *plabel;
  bool crit;
  for (size_t i = 0; (pid = svc_template_purpose(i, &plabel, &crit)); i++)
    json_array_append_new(purposes, json_pack("{s:s,s:s,s:b}", "id", pid, "label", plabel, "may_be_critical", crit));
  return json_pack("{s:o,s:o,s:o,s:{s:I,s:i,s:I,s:o},s:i}", "topics", topics, "policy_categories", cats,
                   "template_purposes", purposes, "limits", "text_chars", (json_int_t)r->text_chars,
                   "attachments_per_message", SVC_MAX_ATTACHMENTS, "attachment_bytes",
                   (json_int_t)r->attachment_bytes, "attachment_extensions", exts, "response_window_s",
                   SVC_RESPONSE_WINDOW);
}

pl_err svc_meta(svc *s, const char *marketplace_id, pl_arena *a, json_t **out, pl_detail *d) {
  *out = NULL;
  svc_rules r;
  svc_rules_load(&r, NULL);
  if (marketplace_id) {
    st_marketplace m;
    pl_err e = svc__begin(s, false, d);
    if (e) return e;
    e = svc__marketplace_get(s, marketplace_id, a, &m);
    if (!e) e = svc__rules_for(s, marketplace_id, a, &r);
    svc__end(s, PL_OK, NULL);
    if (e == PL_ENOTFOUND) return pl_fail(d, e, "no marketplace %s", marketplace_id);
    if (e) return pl_fail(d, e, "the store is unavailable");
  }
  *out = meta_json(&r);
  return PL_OK;
}

