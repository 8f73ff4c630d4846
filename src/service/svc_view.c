/* svc_view.c - the JSON API's views of the service's answers: each takes a request's
 * values as the client wrote them, calls the service and renders what it gave for the
 * caller (svc_json.c). The HTTP layer parses requests and writes responses; it never
 * handles the store's rows. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "service/svc_int.h"
#include "service/svc_team.h"

static const struct {
  const char *name;
  st_filter filter;
} filters[] = {{"all", ST_FILTER_ALL},   {"response_needed", ST_FILTER_RESPONSE_NEEDED},
               {"unanswered", ST_FILTER_UNANSWERED}, {"sent", ST_FILTER_SENT},
               {"archived", ST_FILTER_ARCHIVED}};

/* A date ("2026-10-05": its first second, or with end its last) or an ISO 8601 time. */
static bool day_or_time(const char *v, bool end, pl_time *out) {
  char buf[32];
  if (strlen(v) == 10 && v[4] == '-' && v[7] == '-') {
    snprintf(buf, sizeof buf, "%sT00:00:00Z", v);
    if (!pl_time_parse(buf, out)) return false;
    if (end) *out += 86399;
    return *out > 0;
  }
  return pl_time_parse(v, out) && *out > 0;
}

/* The query of a thread list from what the client wrote; PL_EINVAL naming the field. */
static pl_err threads_query(const svc_threads_in *in, st_thread_query *q, pl_detail *d) {
  memset(q, 0, sizeof *q);
  size_t k = 0;
  if (in->filter)
    while (k < sizeof filters / sizeof *filters && strcmp(in->filter, filters[k].name)) k++;
  if (k == sizeof filters / sizeof *filters)
    return pl_fail(d, PL_EINVAL, "filter must be response_needed, unanswered, sent, all or archived");
  q->filter = filters[k].filter;
  /* sort: due (the least time left first) is the default of response_needed */
  if (in->sort && strcmp(in->sort, "due") && strcmp(in->sort, "newest"))
    return pl_fail(d, PL_EINVAL, "sort must be due or newest");
  q->sort_due = in->sort ? !strcmp(in->sort, "due") : q->filter == ST_FILTER_RESPONSE_NEEDED;
  q->order_id = in->order_id;
  q->asin = in->asin;
  q->buyer_alias = in->alias;
  q->fts = in->q;
  q->tag = in->tag;
  if (in->assignee) {
    char *end;
    long long v = strtoll(in->assignee, &end, 10);
    if (!strcmp(in->assignee, "none")) q->assignee_id = -1; /* unassigned (st_thread_query) */
    else if (!strcmp(in->assignee, "me")) q->assignee_id = SVC_ASSIGNEE_ME;
    else if (!*end && v > 0) q->assignee_id = v;
    else return pl_fail(d, PL_EINVAL, "assignee is an agent id, me or none");
  }
  q->buyer_name = in->buyer;
  if (in->all && strcmp(in->all, "true") && strcmp(in->all, "false"))
    return pl_fail(d, PL_EINVAL, "all must be true or false");
  q->all = in->all && !strcmp(in->all, "true");
  if (in->since && !day_or_time(in->since, false, &q->since))
    return pl_fail(d, PL_EINVAL, "since must be a date (YYYY-MM-DD) or an ISO 8601 time");
  if (in->until && !day_or_time(in->until, true, &q->until))
    return pl_fail(d, PL_EINVAL, "until must be a date (YYYY-MM-DD) or an ISO 8601 time");
  if (q->since && q->until && q->since > q->until) return pl_fail(d, PL_EINVAL, "since is after until");
  q->limit = (int)in->limit;
  if (in->cursor) {
    long long at, id;
    char tail;
    if (sscanf(in->cursor, "%lld.%lld%c", &at, &id, &tail) != 2 || at <= 0 || id <= 0)
      return pl_fail(d, PL_EINVAL, "cursor is not one this server gave");
    q->cursor_at = at;
    q->cursor_id = id;
  }
  return PL_OK;
}

pl_err svc_view_threads(svc *s, const svc_caller *c, const svc_threads_in *in, pl_arena *a, json_t **out,
                        pl_detail *d) {
  st_thread_query q;
  st_thread *ts;
  size_t n;
  int64_t rn;
  svc_preview *pv = NULL;
  pl_err e = threads_query(in, &q, d);
  if (!e) e = svc_thread_list(s, c, &q, a, &ts, &n, &rn, d);
  if (!e) e = svc_thread_previews(s, c, ts, n, a, &pv, d);
  if (e) return e;
  json_t *arr = json_array();
  for (size_t i = 0; i < n; i++) {
    json_t *t = svc_json_thread(c, &ts[i]);
    json_object_set_new(t, "preview", pv[i].text ? json_pack("{s:s,s:s}", "from", pv[i].from_buyer ? "buyer" : "seller",
                                                              "text", pv[i].text)
                                                 : json_null());
    json_array_append_new(arr, t);
  }
  json_t *j = json_object();
  json_object_set_new(j, "threads", arr);
  if (n && n == (size_t)q.limit) /* the service set its default */
    json_object_set_new(j, "next_cursor", json_string(pl_arena_printf(a, "%lld.%lld",
        (long long)(q.sort_due ? ts[n - 1].response_due_at : ts[n - 1].last_message_at), (long long)ts[n - 1].id)));
  else
    json_object_set_new(j, "next_cursor", json_null());
  if (rn >= 0) json_object_set_new(j, "response_needed_count", json_integer(rn));
  /* the seller's inbox keeps to the marketplace's last days unless asked (all=true) */
  if (!in->since && q.since) {
    char buf[32];
    json_object_set_new(j, "window", json_pack("{s:s,s:b}", "since", pl_time_format(q.since, buf), "default", 1));
  }
  *out = j;
  return PL_OK;
}

json_t *svc_json_sent(const svc_caller *c, const svc_sent *m) { return svc_json_message(c, &m->msg); }

const char *svc_sent_ref(pl_arena *a, const svc_sent *m) { return svc_message_ref(a, m->msg.id); }

pl_err svc_view_thread_start(svc *s, const svc_caller *c, const svc_start_in *in, pl_arena *a, json_t **out,
                             pl_detail *d) {
  st_thread t;
  svc_sent m;
  pl_err e = svc_thread_start(s, c, in, a, &t, &m, d);
  if (!e) *out = json_pack("{s:o,s:o}", "thread", svc_json_thread(c, &t), "message", svc_json_sent(c, &m));
  policy_verdict_free(&m.verdict);
  return e;
}

pl_err svc_view_thread_page(svc *s, const svc_caller *c, int64_t id, const char *before, long limit, pl_arena *a,
                            json_t **out, pl_detail *d) {
  int64_t bef = 0;
  if (before && !svc_parse_ref(before, 'M', &bef)) /* svc_thread_page checks it is the thread's */
    return pl_fail(d, PL_EPAGE, "before must be a message id of this thread, as page.older gave it");
  st_thread t;
  st_message *msgs;
  size_t n;
  int64_t older;
  pl_err e = svc_thread_page(s, c, id, bef, (int)limit, a, &t, &msgs, &n, &older, d);
  if (e) return e;
  json_t *arr = json_array();
  for (size_t i = 0; i < n; i++) json_array_append_new(arr, svc_json_message(c, &msgs[i]));
  json_t *page = json_pack("{s:i,s:o,s:o}", "limit", (int)limit, "before", before ? json_string(before) : json_null(),
                           "older", older ? json_string(svc_message_ref(a, older)) : json_null());
  json_t *order = json_null();
  if (t.order_id) {
    st_order o;
    pl_detail d2 = {0};
    if (!svc_order_get(s, c, t.order_id, a, &o, &d2)) {
      json_decref(order);
      order = svc_json_order(&o);
    }
  }
  json_t *tj = svc_json_thread(c, &t);
  /* the language the buyer reads, for the seller's team and the operator */
  const char *locale = c->kind != ST_PRINCIPAL_BUYER ? svc_buyer_locale(s, t.buyer_id, a) : NULL;
  if (locale) json_object_set_new(tj, "buyer_locale", json_string(locale));
  json_t *team = svc_team_thread_json(s, c, id, a); /* assignee, tags, replying */
  if (team) json_object_update(tj, team);
  json_decref(team);
  *out = json_pack("{s:o,s:o,s:o,s:o}", "thread", tj, "order", order, "messages", arr, "page", page);
  return PL_OK;
}

static pl_err thread_view(pl_err e, const svc_caller *c, const st_thread *t, json_t **out) {
  if (!e) *out = json_pack("{s:o}", "thread", svc_json_thread(c, t));
  return e;
}

pl_err svc_view_thread_read(svc *s, const svc_caller *c, int64_t id, pl_arena *a, json_t **out, pl_detail *d) {
  st_thread t;
  return thread_view(svc_thread_read(s, c, id, a, &t, d), c, &t, out);
}

pl_err svc_view_thread_archive(svc *s, const svc_caller *c, int64_t id, bool archived, pl_arena *a, json_t **out,
                               pl_detail *d) {
  st_thread t;
  return thread_view(svc_thread_archive(s, c, id, archived, a, &t, d), c, &t, out);
}

static pl_err message_view(pl_err e, const svc_caller *c, const st_message *m, json_t **out) {
  if (!e) *out = json_pack("{s:o}", "message", svc_json_message(c, m));
  return e;
}

pl_err svc_view_flag(svc *s, const svc_caller *c, int64_t message_id, bool value, pl_arena *a, json_t **out,
                     pl_detail *d) {
  st_message m;
  return message_view(svc_flag(s, c, message_id, value, 0, a, &m, d), c, &m, out);
}

pl_err svc_view_review_decide(svc *s, const svc_caller *c, int64_t message_id, bool approve, const char *note,
                              pl_arena *a, json_t **out, pl_detail *d) {
  st_message m;
  return message_view(svc_review_decide(s, c, message_id, approve, note, a, &m, d), c, &m, out);
}

pl_err svc_view_note(svc *s, const svc_caller *c, int64_t thread_id, const char *text, pl_arena *a, json_t **out,
                     pl_detail *d) {
  st_message m;
  pl_err e = svc_team_note(s, c, thread_id, text, a, &m, d);
  if (!e) *out = svc_json_message(c, &m);
  return e;
}

pl_err svc_view_held(svc *s, const svc_caller *c, pl_arena *a, json_t **out, pl_detail *d) {
  st_message *ms;
  size_t n;
  pl_err e = svc_held_list(s, c, 100, a, &ms, &n, d);
  if (e) return e;
  json_t *arr = json_array();
  for (size_t i = 0; i < n; i++) {
    json_t *mj = svc_json_message(c, &ms[i]);
    json_object_set_new(mj, "seller_id", json_string(ms[i].seller_id));
    json_array_append_new(arr, mj);
  }
  *out = json_pack("{s:o}", "messages", arr);
  return PL_OK;
}

static pl_err order_view(pl_err e, const st_order *o, json_t **out) {
  if (!e) *out = json_pack("{s:o}", "order", svc_json_order(o));
  return e;
}

pl_err svc_view_order_put(svc *s, const svc_caller *c, const char *id, json_t *body, pl_arena *a, bool *created,
                          json_t **out, pl_detail *d) {
  st_order o;
  *created = false;
  pl_err e = svc_order_from_json(body, id, a, &o, d);
  if (!e) e = svc_order_put(s, c, &o, created, d);
  if (!e) e = svc_order_get(s, c, id, a, &o, d);
  return order_view(e, &o, out);
}

pl_err svc_view_order_get(svc *s, const svc_caller *c, const char *id, pl_arena *a, json_t **out, pl_detail *d) {
  st_order o;
  return order_view(svc_order_get(s, c, id, a, &o, d), &o, out);
}

pl_err svc_view_orders(svc *s, const svc_caller *c, const char *cursor, long limit, pl_arena *a, json_t **out,
                       pl_detail *d) {
  pl_time cur_at = 0;
  const char *cur_id = NULL;
  if (cursor) {
    char *dot;
    long long at = strtoll(cursor, &dot, 10);
    /* at 0: orders without a purchase time; the id part is an order id. */
    if (*dot != '.' || at < 0 || strlen(dot + 1) != 19 || strspn(dot + 1, "0123456789-") != 19)
      return pl_fail(d, PL_EINVAL, "cursor is not one this server gave");
    cur_at = at;
    cur_id = dot + 1;
  }
  st_order *os;
  size_t n;
  pl_err e = svc_order_list(s, c, cur_at, cur_id, limit, a, &os, &n, d);
  if (e) return e;
  json_t *arr = json_array();
  for (size_t i = 0; i < n; i++) json_array_append_new(arr, svc_json_order(&os[i]));
  json_t *next = n && n == (size_t)limit
                     ? json_string(pl_arena_printf(a, "%lld.%s", (long long)os[n - 1].purchased_at, os[n - 1].id))
                     : json_null();
  *out = json_pack("{s:o,s:o}", "orders", arr, "next_cursor", next);
  return PL_OK;
}

static json_t *enforcement_json(const st_enforcement *en, pl_time now) {
  char b1[32], b2[32];
  bool restricted = en->restricted_until > now, quota = en->quota_per_day > 0 && en->quota_until > now;
  return json_pack("{s:s,s:I,s:{s:b,s:o,s:o},s:{s:b,s:I,s:o,s:o},s:{s:b,s:o}}", "seller_id", en->seller_id,
                   "warnings", (json_int_t)en->warnings,
                   "restriction", "active", restricted,
                   "until", restricted ? json_string(pl_time_format(en->restricted_until, b1)) : json_null(),
                   "reason", en->restriction_reason ? json_string(en->restriction_reason) : json_null(),
                   "quota", "active", quota, "per_day", (json_int_t)(quota ? en->quota_per_day : 0),
                   "until", quota ? json_string(pl_time_format(en->quota_until, b2)) : json_null(),
                   "reason", en->quota_reason ? json_string(en->quota_reason) : json_null(),
                   "suspension", "flagged", en->suspension_flag,
                   "reason", en->suspension_reason ? json_string(en->suspension_reason) : json_null());
}

pl_err svc_view_enforcement(svc *s, const svc_caller *c, const char *seller_id, pl_arena *a, json_t **out,
                            pl_detail *d) {
  st_enforcement en;
  st_violation *vs;
  size_t nv;
  pl_err e = svc_enforcement_get(s, c, seller_id, a, &en, &vs, &nv, d);
  if (e) return e;
  json_t *j = enforcement_json(&en, time(NULL));
  json_t *arr = json_array();
  char ts[32];
  for (size_t i = 0; i < nv; i++)
    json_array_append_new(arr, json_pack("{s:s,s:s,s:s?,s:o,s:s}", "at", pl_time_format(vs[i].at, ts),
                                         "category", vs[i].category, "severity", st_severity_name(vs[i].severity),
                                         "message_id", vs[i].message_id ? json_string(svc_message_ref(a, vs[i].message_id)) : json_null(),
                                         "rule", vs[i].rule ? vs[i].rule : ""));
  json_object_set_new(j, "violations", arr);
  *out = j;
  return PL_OK;
}

pl_err svc_view_enforcement_set(svc *s, const svc_caller *c, const char *seller_id, const svc_enforcement_in *in,
                                pl_arena *a, json_t **out, pl_detail *d) {
  st_enforcement en;
  pl_err e = svc_enforcement_set(s, c, seller_id, in, a, &en, d);
  if (!e) *out = enforcement_json(&en, time(NULL));
  return e;
}

pl_err svc_view_sellers(svc *s, const svc_caller *c, pl_arena *a, json_t **out, pl_detail *d) {
  svc_health *hs;
  size_t n;
  pl_err e = svc_seller_health(s, c, a, &hs, &n, d);
  if (e) return e;
  json_t *arr = json_array();
  for (size_t i = 0; i < n; i++) {
    json_t *j = json_object();
    json_object_set_new(j, "seller_id", json_string(hs[i].seller.id));
    json_object_set_new(j, "name", json_string(hs[i].seller.name));
    json_object_set_new(j, "marketplace_id", json_string(hs[i].seller.marketplace_id));
    json_object_set_new(j, "metrics", sla_metrics_to_json(&hs[i].metrics, hs[i].seller.id));
    json_object_set_new(j, "enforcement", enforcement_json(&hs[i].enforcement, time(NULL)));
    json_array_append_new(arr, j);
  }
  *out = json_pack("{s:o}", "sellers", arr);
  return PL_OK;
}

pl_err svc_view_tokens(svc *s, const svc_caller *c, bool all, pl_arena *a, json_t **out, pl_detail *d) {
  st_token *ts;
  size_t n;
  pl_err e = svc_token_list(s, c, all, a, &ts, &n, d);
  if (e) return e;
  json_t *arr = json_array();
  for (size_t i = 0; i < n; i++) json_array_append_new(arr, svc_json_token(&ts[i]));
  *out = json_pack("{s:o}", "tokens", arr);
  return PL_OK;
}

pl_err svc_view_attachment_create(svc *s, const svc_caller *c, svc_upload *u, const char *name, const char *md5,
                                  pl_arena *a, json_t **out, const char **id, pl_detail *d) {
  st_attachment at;
  pl_err e = svc_attachment_create(s, c, u, name, md5, a, &at, d);
  if (e) return e;
  *id = at.id;
  *out = json_pack("{s:o}", "attachment", svc_json_attachment(&at));
  return PL_OK;
}

pl_err svc_view_attachment_open(svc *s, const svc_caller *c, const char *id, pl_arena *a, svc_file *out,
                                pl_detail *d) {
  st_attachment at;
  pl_err e = svc_attachment_open(s, c, id, a, &at, &out->fd, d);
  if (e) return e;
  out->mime = svc_attachment_mime(at.kind);
  out->name = at.name;
  return PL_OK;
}

pl_err svc_view_spapi_upload(svc *s, const svc_caller *c, const char *resource, const char *md5, const char *type,
                             pl_arena *a, svc_upload_dest *out, pl_detail *d) {
  st_spapi_upload u;
  pl_err e = svc_spapi_upload_create(s, c, resource, md5, type, a, &u, d);
  if (e) return e;
  out->id = u.id;
  out->content_md5 = u.content_md5;
  out->content_type = u.content_type;
  return PL_OK;
}

const double *svc_tx_bounds(size_t *n) { return store_tx_bounds(n); }

void svc_tx_durations(bool write, st_tx_durations *out) { store_tx_durations(write, out); }
