/* svc_retention.c - the record's retention (docs/rules.md "Retention"): threads older than
 * their marketplace's retention_days are purged by the clean-up worker, with their
 * messages, events and attachment links, unless the operator holds them (a legal hold). */
#include <stdio.h>
#include <string.h>

#include "service/svc_int.h"
#include "util/pl_utf8.h"

#define HOLD_REASON_MAX 500 /* characters */
#define HOLD_PAGE_MAX 200

static json_t *hold_view(const st_legal_hold *h, pl_arena *a) {
  char at[32];
  return json_pack("{s:s,s:s,s:s,s:s,s:s}", "thread_id", svc_thread_ref(a, h->thread_id), "seller_id", h->seller_id,
                   "reason", h->reason, "set_by", h->set_by, "set_at", pl_time_format(h->set_at, at));
}

/* The thread of a reference that this operator may hold: another marketplace's is unknown. */
static pl_err operator_thread(svc *s, const svc_caller *c, const char *ref, pl_arena *a, st_thread *t, pl_detail *d) {
  if (c->kind != ST_PRINCIPAL_OPERATOR) return pl_fail(d, PL_EFORBIDDEN, "legal holds are the operator's");
  int64_t id;
  if (!ref || !svc_parse_ref(ref, 'T', &id)) return pl_fail(d, PL_ENOTFOUND, "no thread %s", ref ? ref : "");
  pl_err e = s->st->ops->thread_get(s->st, id, a, t);
  if (e == PL_ENOTFOUND || (!e && c->marketplace_id && strcmp(c->marketplace_id, t->marketplace_id)))
    return pl_fail(d, PL_ENOTFOUND, "no thread %s", ref);
  return e;
}

pl_err svc_legal_hold_set(svc *s, const svc_caller *c, const char *thread_ref, json_t *in, pl_arena *a, json_t **out,
                          pl_detail *d) {
  const char *reason = json_string_value(json_object_get(in, "reason"));
  if (json_object_get(in, "reason") && !reason) return pl_fail(d, PL_ETYPE, "field 'reason' must be a string");
  if (!reason) return pl_fail(d, PL_EMISSING, "field 'reason' (why the thread is kept) is required");
  size_t chars = 0;
  pl_err e = svc__clean_text("reason", &reason, a, &chars, d);
  if (e) return e;
  if (pl_utf8_blank(reason, strlen(reason))) return pl_fail(d, PL_EEMPTY, "reason is empty");
  if (chars > HOLD_REASON_MAX)
    return pl_fail(d, PL_ETOOLONG, "reason is %zu characters; the limit is %d", chars, HOLD_REASON_MAX);
  if ((e = svc__begin(s, true, d))) return e;
  st_thread t;
  st_legal_hold h = {0};
  e = operator_thread(s, c, thread_ref, a, &t, d);
  if (!e) {
    h = (st_legal_hold){.thread_id = t.id, .seller_id = t.seller_id, .marketplace_id = t.marketplace_id,
                        .reason = (char *)reason, .set_by = (char *)c->name, .set_at = svc_now(s)};
    e = store_legal_hold_set(s->st, &h);
  }
  if (!e)
    e = svc__audit(s, t.seller_id, c->name, "thread.legal_hold", svc__record_ref(a, "T", t.id),
                   json_pack("{s:s}", "reason", reason));
  if (!(e = svc__end(s, e, d))) *out = json_pack("{s:o}", "legal_hold", hold_view(&h, a));
  return e;
}

pl_err svc_legal_hold_get(svc *s, const svc_caller *c, const char *thread_ref, pl_arena *a, json_t **out,
                          pl_detail *d) {
  pl_err e = svc__begin(s, false, d);
  if (e) return e;
  st_thread t;
  st_legal_hold h;
  e = operator_thread(s, c, thread_ref, a, &t, d);
  bool held = false;
  if (!e) {
    e = store_legal_hold_get(s->st, t.id, a, &h);
    held = !e;
    if (e == PL_ENOTFOUND) e = PL_OK;
  }
  if (!e) *out = json_pack("{s:o}", "legal_hold", held ? hold_view(&h, a) : json_null());
  return svc__end(s, e, d);
}

pl_err svc_legal_hold_release(svc *s, const svc_caller *c, const char *thread_ref, pl_arena *a, json_t **out,
                              pl_detail *d) {
  pl_err e = svc__begin(s, true, d);
  if (e) return e;
  st_thread t;
  e = operator_thread(s, c, thread_ref, a, &t, d);
  if (!e) {
    e = store_legal_hold_delete(s->st, t.id);
    if (e == PL_ENOTFOUND) e = pl_fail(d, e, "thread %s has no legal hold", thread_ref);
  }
  if (!e) e = svc__audit(s, t.seller_id, c->name, "thread.legal_hold_release", svc__record_ref(a, "T", t.id), NULL);
  if (!(e = svc__end(s, e, d))) *out = json_pack("{s:s,s:b}", "thread_id", thread_ref, "released", true);
  return e;
}

pl_err svc_legal_hold_list(svc *s, const svc_caller *c, const char *after_ref, int limit, pl_arena *a, json_t **out,
                           pl_detail *d) {
  if (c->kind != ST_PRINCIPAL_OPERATOR) return pl_fail(d, PL_EFORBIDDEN, "legal holds are the operator's");
  if (!limit) limit = 50;
  if (limit < 1 || limit > HOLD_PAGE_MAX)
    return pl_fail(d, PL_EPAGE, "limit must be from 1 to %d", HOLD_PAGE_MAX);
  int64_t after = 0;
  if (after_ref && !svc_parse_ref(after_ref, 'T', &after))
    return pl_fail(d, PL_EPAGE, "after must be a thread id from an earlier page");
  pl_err e = svc__begin(s, false, d);
  if (e) return e;
  st_legal_hold *hs = NULL;
  size_t n = 0;
  e = store_legal_hold_list(s->st, c->marketplace_id, after, limit, a, &hs, &n);
  if (!e) {
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++) json_array_append_new(list, hold_view(&hs[i], a));
    *out = json_pack("{s:o,s:o}", "legal_holds", list, "next",
                     n == (size_t)limit ? json_string(svc_thread_ref(a, hs[n - 1].thread_id)) : json_null());
  }
  return svc__end(s, e, d);
}

/* ---- the purge ---------------------------------------------------------------------------- */

/* Purges one thread in a transaction of its own, checking again that it is due and not
 * held (another node, or the operator, may have been first). */
static pl_err purge_one(svc *s, const char *seller_id, int64_t id, pl_time before, bool *purged, pl_arena *a,
                        pl_detail *d) {
  *purged = false;
  pl_err e = svc__begin(s, true, d);
  if (e) return e;
  st_thread t;
  st_legal_hold h;
  int64_t msgs = 0;
  e = s->st->ops->thread_get(s->st, id, a, &t);
  bool due = !e && t.last_message_at < before;
  if (due) {
    pl_err g = store_legal_hold_get(s->st, id, a, &h);
    if (g != PL_ENOTFOUND) {
      due = false;
      e = g;
    }
  }
  if (e == PL_ENOTFOUND) e = PL_OK; /* gone already */
  if (!e && due) e = store_thread_purge(s->st, id, &msgs);
  if (!e && due)
    e = svc__audit(s, seller_id, "retention", "thread.purge", svc__record_ref(a, "T", id),
                   json_pack("{s:I,s:s}", "messages", (json_int_t)msgs, "order",
                             t.order_id ? t.order_id : ""));
  e = svc__end(s, e, d);
  *purged = !e && due;
  return e;
}

pl_err svc_retention_sweep(svc *s, size_t max, size_t *purged, pl_detail *d) {
  *purged = 0;
  if (!max) max = 500;
  pl_arena *a = pl_arena_new();
  st_seller *sellers = NULL;
  size_t ns = 0;
  pl_time *before = NULL;
  /* one read: each seller's cutoff, 0 for a marketplace that keeps everything (the
   * default), whose sellers cost nothing more */
  pl_err e = svc__begin(s, false, d);
  if (!e) {
    e = store_seller_list(s->st, NULL, a, &sellers, &ns);
    before = pl_arena_alloc(a, (ns ? ns : 1) * sizeof *before);
    for (size_t i = 0; !e && i < ns; i++) {
      svc_rules r;
      e = svc__rules_for(s, sellers[i].marketplace_id, a, &r);
      before[i] = r.retention_days > 0 ? svc_now(s) - r.retention_days * 86400 : 0;
    }
    svc__end(s, PL_OK, NULL);
  }
  for (size_t i = 0; !e && i < ns && *purged < max; i++) {
    if (!before[i]) continue;
    int64_t *ids = NULL;
    size_t n = 0;
    if ((e = svc__begin(s, false, d))) break;
    e = store_retention_due(s->st, sellers[i].id, before[i], (int)(max - *purged), a, &ids, &n);
    svc__end(s, PL_OK, NULL);
    for (size_t k = 0; !e && k < n; k++) {
      bool done;
      e = purge_one(s, sellers[i].id, ids[k], before[i], &done, a, d);
      *purged += done;
    }
  }
  pl_arena_free(a);
  if (e && !d->msg[0]) pl_fail(d, e, "the store is unavailable");
  return e;
}
