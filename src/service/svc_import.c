/* svc_import.c - the import format (docs/import.md): history recorded as it was. */
#include <stdlib.h>
#include <string.h>

#include "service/svc_int.h"

static pl_err str_field(json_t *o, const char *k, bool required, const char **out, pl_detail *d) {
  *out = NULL;
  json_t *v = json_object_get(o, k);
  if (!v || json_is_null(v)) {
    *out = NULL;
    return required ? pl_fail(d, PL_EMISSING, "field '%s' is required", k) : PL_OK;
  }
  if (!json_is_string(v)) return pl_fail(d, PL_ETYPE, "field '%s' must be a string", k);
  *out = json_string_value(v);
  return PL_OK;
}

static pl_err bool_field(json_t *o, const char *k, bool dflt, bool *out, pl_detail *d) {
  *out = dflt;
  json_t *v = json_object_get(o, k);
  if (!v || json_is_null(v)) {
    *out = dflt;
    return PL_OK;
  }
  if (!json_is_boolean(v)) return pl_fail(d, PL_ETYPE, "field '%s' must be true or false", k);
  *out = json_is_true(v);
  return PL_OK;
}

static pl_err import_marketplace(svc *s, json_t *o, pl_detail *d) {
  svc_marketplace_in in = {0};
  pl_err e;
  if ((e = str_field(o, "id", true, &in.id, d)) || (e = str_field(o, "name", true, &in.name, d)) ||
      (e = str_field(o, "locale", false, &in.locale, d)))
    return e;
  if (!in.locale) in.locale = "en-US";
  json_t *doms = json_object_get(o, "domains");
  if (!json_is_array(doms)) return pl_fail(d, doms ? PL_ETYPE : PL_EMISSING, "field 'domains' must be an array of domain names");
  size_t n = json_array_size(doms);
  if (n > 100) return pl_fail(d, PL_ETOOMANY, "a marketplace has at most 100 domains");
  const char *list[101];
  for (size_t i = 0; i < n; i++) {
    list[i] = json_string_value(json_array_get(doms, i));
    if (!list[i]) return pl_fail(d, PL_ETYPE, "domains[%zu] must be a string", i);
  }
  list[n] = NULL;
  in.domains = list;
  json_t *settings = json_object_get(o, "settings");
  char *sj = NULL;
  if (settings && !json_is_null(settings)) {
    if (!json_is_object(settings)) return pl_fail(d, PL_ETYPE, "field 'settings' must be an object");
    sj = json_dumps(settings, JSON_COMPACT);
  }
  in.settings_json = sj;
  e = svc_marketplace_put(s, &in, d);
  free(sj);
  return e;
}

static pl_err import_seller(svc *s, json_t *o, pl_detail *d) {
  svc_seller_in in = {0};
  pl_err e;
  if ((e = str_field(o, "id", true, &in.id, d)) ||
      (e = str_field(o, "marketplace", true, &in.marketplace_id, d)) ||
      (e = str_field(o, "name", true, &in.name, d)) || (e = str_field(o, "email", false, &in.email, d)))
    return e;
  return svc_seller_put(s, &in, d);
}

static pl_err import_buyer(svc *s, json_t *o, pl_detail *d) {
  svc_buyer_in in = {0};
  pl_err e;
  if ((e = str_field(o, "id", true, &in.id, d)) || (e = str_field(o, "name", true, &in.name, d)) ||
      (e = str_field(o, "email", true, &in.email, d)) ||
      (e = str_field(o, "locale", false, &in.locale, d)) ||
      (e = bool_field(o, "opt_out", false, &in.opt_out, d)))
    return e;
  return svc_buyer_put(s, &in, d);
}

static pl_err import_order(svc *s, json_t *o, pl_arena *a, pl_detail *d) {
  st_order ord;
  bool created;
  pl_err e = svc_order_from_json(o, NULL, a, &ord, d);
  return e ? e : svc_order_put(s, NULL, &ord, &created, d);
}

static pl_err import_message(svc *s, json_t *o, pl_arena *a, pl_detail *d) {
  const char *id, *order_id, *asin, *seller_id, *buyer_id, *from, *at_s, *topic, *text, *status_s;
  bool auto_reply;
  pl_err e;
  if ((e = str_field(o, "id", true, &id, d)) || (e = str_field(o, "order", false, &order_id, d)) ||
      (e = str_field(o, "asin", false, &asin, d)) || (e = str_field(o, "seller", false, &seller_id, d)) ||
      (e = str_field(o, "buyer", false, &buyer_id, d)) || (e = str_field(o, "from", true, &from, d)) ||
      (e = str_field(o, "at", true, &at_s, d)) || (e = str_field(o, "topic", false, &topic, d)) ||
      (e = str_field(o, "text", true, &text, d)) || (e = str_field(o, "status", false, &status_s, d)) ||
      (e = bool_field(o, "auto_reply", false, &auto_reply, d)))
    return e;
  if (strlen(id) > 128) return pl_fail(d, PL_EINVAL, "message id is longer than 128 characters");
  st_direction direction;
  if (st_direction_from_name(from, &direction)) return pl_fail(d, PL_EINVAL, "'from' must be buyer or seller");
  bool buyer = direction == ST_DIR_BUYER;
  pl_time at;
  if (!pl_time_parse(at_s, &at)) return pl_fail(d, PL_EINVAL, "'at' is not an ISO 8601 time");
  if ((e = svc__check_text(&text, a, d))) return e;
  st_msg_status status = ST_STATUS_DELIVERED;
  if (status_s && st_msg_status_from_name(status_s, &status))
    return pl_fail(d, PL_EINVAL, "status must be delivered, not_delivered, held_for_review, rejected or failed");
  if (auto_reply && buyer) return pl_fail(d, PL_EINVAL, "auto_reply is for seller messages");
  if (!order_id == !asin) return pl_fail(d, PL_EMISSING, "a message needs either 'order' or 'asin'");
  if (asin && (!seller_id || !buyer_id))
    return pl_fail(d, PL_EMISSING, "a product question needs 'seller' and 'buyer'");
  if (topic && !svc__valid_topic(topic, asin != NULL))
    return pl_fail(d, PL_EINVAL, "topic '%s' is not a %s topic", topic, asin ? "pre-purchase" : "post-purchase");

  if ((e = svc__begin(s, true, d))) return e;
  st_message dup;
  e = s->st->ops->message_get(s->st, 0, id, a, &dup);
  if (!e) e = pl_fail(d, PL_EEXIST, "message %s was already imported", id);
  else if (e == PL_ENOTFOUND) e = PL_OK;
  st_thread t;
  memset(&t, 0, sizeof t);
  bool new_thread = false;
  if (!e && order_id) {
    st_order ord;
    e = store_order_get(s->st, order_id, a, &ord);
    if (e == PL_ENOTFOUND) e = pl_fail(d, PL_EINVAL, "no order %s (an order line must come first)", order_id);
    if (!e) {
      pl_err g = s->st->ops->thread_find(s->st, order_id, NULL, NULL, NULL, a, &t);
      if (g == PL_ENOTFOUND) {
        new_thread = true;
        t.order_id = ord.id;
        t.seller_id = ord.seller_id;
        t.buyer_id = ord.buyer_id;
        t.marketplace_id = ord.marketplace_id;
        t.topic = (char *)(topic ? topic : "other");
      } else {
        e = g;
      }
    }
  } else if (!e) {
    st_seller sl;
    st_buyer b;
    if (store_seller_get(s->st, seller_id, NULL, a, &sl)) e = pl_fail(d, PL_EINVAL, "no seller %s", seller_id);
    else if (store_buyer_get(s->st, buyer_id, NULL, a, &b)) e = pl_fail(d, PL_EINVAL, "no buyer %s", buyer_id);
    if (!e) {
      pl_err g = s->st->ops->thread_find(s->st, NULL, seller_id, buyer_id, asin, a, &t);
      if (g == PL_ENOTFOUND) {
        new_thread = true;
        t.asin = (char *)asin;
        t.seller_id = sl.id;
        t.buyer_id = b.id;
        t.marketplace_id = sl.marketplace_id;
        t.topic = (char *)(topic ? topic : "product_specifications");
      } else {
        e = g;
      }
    }
  }
  if (!e) e = svc__check_text_for(s, t.marketplace_id, text, a, d);
  if (!e && new_thread) {
    char *alias;
    t.created_at = t.last_message_at = at;
    e = svc__alias_ensure(s, t.marketplace_id, t.buyer_id, t.seller_id, at, a, &alias, d);
    if (!e) e = s->st->ops->thread_insert(s->st, &t);
  }
  if (!e) {
    st_message m = {.thread_id = t.id,
                    .seller_id = t.seller_id,
                    .ext_id = (char *)id,
                    .direction = direction,
                    .kind = auto_reply ? ST_KIND_AUTO_REPLY : ST_KIND_MESSAGE,
                    .text = (char *)text,
                    .at = at,
                    .policy_engine = buyer ? NULL : "import"};
    e = svc__message_add(s, &t, &m, status, "import");
    if (!e) e = svc__thread_changed(s, &t, SVC__NEW_MESSAGE, &m, a);
  }
  e = svc__end(s, e, d);
  if (!e) svc__count_status(s, status);
  return e;
}

static pl_err import_flag(svc *s, json_t *o, pl_arena *a, pl_detail *d) {
  const char *mid, *at_s;
  bool value;
  pl_err e;
  if ((e = str_field(o, "message", true, &mid, d)) || (e = str_field(o, "at", true, &at_s, d)))
    return e;
  json_t *v = json_object_get(o, "no_response_needed");
  if (!v) return pl_fail(d, PL_EMISSING, "field 'no_response_needed' is required");
  if ((e = bool_field(o, "no_response_needed", true, &value, d))) return e;
  pl_time at;
  if (!pl_time_parse(at_s, &at)) return pl_fail(d, PL_EINVAL, "'at' is not an ISO 8601 time");
  st_message m;
  if ((e = svc__begin(s, false, d))) return e;
  e = s->st->ops->message_get(s->st, 0, mid, a, &m);
  svc__end(s, PL_OK, NULL);
  if (e == PL_ENOTFOUND) return pl_fail(d, PL_EINVAL, "no imported message %s", mid);
  if (e) return pl_fail(d, e, "the store is unavailable");
  svc_caller importer = {.kind = 0, .name = "import"};
  /* A flag is an event of its own even when it repeats the current state, so that the
   * history keeps every flag and unflag with its time. */
  if (m.flagged == value) {
    if ((e = svc__begin(s, true, d))) return e;
    st_event ev = {.message_id = m.id, .thread_id = m.thread_id, .seller_id = m.seller_id,
                   .type = ST_EVENT_FLAG, .value = value ? "true" : "false", .actor = "import", .at = at};
    e = s->st->ops->event_insert(s->st, &ev);
    return svc__end(s, e, d);
  }
  st_message out;
  return svc_flag(s, &importer, m.id, value, at, a, &out, d);
}

/* {"type":"claim","order","kind","at"}: a claim against the order, counted in its seller's
 * complaint rate; the same claim again is no error (a re-import). */
static pl_err import_claim(svc *s, json_t *o, pl_arena *a, pl_detail *d) {
  const char *order, *kind, *at_s;
  pl_err e;
  if ((e = str_field(o, "order", true, &order, d)) || (e = str_field(o, "kind", true, &kind, d)) ||
      (e = str_field(o, "at", true, &at_s, d)))
    return e;
  pl_time at;
  if (!pl_time_parse(at_s, &at)) return pl_fail(d, PL_EINVAL, "'at' is not an ISO 8601 time");
  st_claim c;
  e = svc__claim_record(s, NULL, NULL, order, kind, at, "import", a, &c, d);
  if (e == PL_ENOTFOUND) return pl_fail(d, PL_EINVAL, "no imported order %s", order);
  return e == PL_EEXIST ? PL_OK : e;
}

pl_err svc_import_line(svc *s, const char *line, size_t len, pl_detail *d) {
  json_error_t jerr;
  json_t *o = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
  if (!o) return pl_fail(d, PL_EJSON, "not valid JSON: %s", jerr.text);
  pl_err e;
  pl_arena *a = pl_arena_new();
  const char *type;
  if (!json_is_object(o)) {
    e = pl_fail(d, PL_ETYPE, "a line must be a JSON object");
  } else if ((e = str_field(o, "type", true, &type, d))) {
  } else if (!strcmp(type, "marketplace")) {
    e = import_marketplace(s, o, d);
  } else if (!strcmp(type, "seller")) {
    e = import_seller(s, o, d);
  } else if (!strcmp(type, "buyer")) {
    e = import_buyer(s, o, d);
  } else if (!strcmp(type, "order")) {
    e = import_order(s, o, a, d);
  } else if (!strcmp(type, "message")) {
    e = import_message(s, o, a, d);
  } else if (!strcmp(type, "flag")) {
    e = import_flag(s, o, a, d);
  } else if (!strcmp(type, "claim")) {
    e = import_claim(s, o, a, d);
  } else {
    e = pl_fail(d, PL_EINVAL, "unknown type '%s'", type);
  }
  json_decref(o);
  pl_arena_free(a);
  return e;
}
