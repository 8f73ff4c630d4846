/* http_api.c - handlers of the own JSON API (/v1, rows of http_route.c): parse, call one
 * service operation, render. */
#include <ctype.h>
#include <errno.h>
#include <sodium.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>

#include "http/http_int.h"
#include "service/svc_rules.h"
#include "service/svc_team.h"

const char *http__query(http_req *r, const char *k) {
  return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, k);
}
#define query http__query

bool http__query_count(http_req *r, const char *name, pl_err code, long *out) {
  const char *v = query(r, name);
  if (!v) return true;
  char *end;
  errno = 0;
  long n = strtol(v, &end, 10);
  if (*v < '0' || *v > '9' || *end || errno || n < 1) {
    pl_detail d = {0};
    pl_fail(&d, code, "%s must be a positive integer", name);
    http__fail(r, code, &d);
    return false;
  }
  *out = n;
  return true;
}

static void json_release(void *j) { json_decref(j); }

/* Parses the body as a JSON object, owned by the request's arena (no json_decref); on
 * failure the error response is set. */
static json_t *body_object(http_req *r) {
  if (!r->body_len) {
    http__error(r, PL_EJSON, "a JSON object body is required");
    return NULL;
  }
  json_error_t err;
  json_t *j = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, &err);
  if (!j) {
    if (json_error_code(&err) == json_error_invalid_utf8) http__error(r, PL_EUTF8, "the body is not valid UTF-8");
    else if (json_error_code(&err) == json_error_out_of_memory)
      http__error(r, PL_ENOMEM, "no memory to read the body; retry later");
    else {
      char msg[300];
      snprintf(msg, sizeof msg, "the body is not valid JSON: %s (line %d, column %d)", err.text,
               err.line, err.column);
      http__error(r, PL_EJSON, msg);
    }
    return NULL;
  }
  if (!json_is_object(j)) {
    json_decref(j);
    http__error(r, PL_EJSON, "the body must be a JSON object");
    return NULL;
  }
  pl_arena_defer(r->a, json_release, j);
  return j;
}

/* The body as a JSON object, or an empty one when there is none; the arena's too. */
static json_t *body_or_empty(http_req *r) {
  if (r->body_len) return body_object(r);
  json_t *j = json_object();
  pl_arena_defer(r->a, json_release, j);
  return j;
}

/* Reads an optional string field; false (with the error response set) on a wrong type. */
static bool field_str(http_req *r, json_t *o, const char *k, const char **out) {
  json_t *v = json_object_get(o, k);
  *out = NULL;
  if (!v || json_is_null(v)) return true;
  if (!json_is_string(v)) {
    char msg[128];
    snprintf(msg, sizeof msg, "field '%s' must be a string", k);
    http__error(r, PL_ETYPE, msg);
    return false;
  }
  *out = json_string_value(v);
  return true;
}

static bool field_bool(http_req *r, json_t *o, const char *k, bool *out) {
  json_t *v = json_object_get(o, k);
  if (!v || json_is_null(v)) return true;
  if (!json_is_boolean(v)) {
    char msg[128];
    snprintf(msg, sizeof msg, "field '%s' must be true or false", k);
    http__error(r, PL_ETYPE, msg);
    return false;
  }
  *out = json_is_true(v);
  return true;
}

#define SESSION_COOKIE "parley_session"
#define CSRF_COOKIE "parley_csrf"
#define CSRF_HEADER "X-CSRF-Token"

/* A bearer token, or the session cookie of the web message center. A request that
 * changes something on the strength of a cookie must also echo the CSRF cookie in a
 * header (double submit), which a page of another origin cannot read. */
static bool authenticate(http_req *r) {
  const char *auth = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Authorization");
  const char *tok = NULL;
  pl_detail d = {0};
  if (auth && !strncasecmp(auth, "Bearer ", 7)) {
    tok = auth + 7;
  } else if ((tok = MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, SESSION_COOKIE))) {
    if (strcmp(r->method, "GET") && strcmp(r->method, "HEAD")) {
      const char *want = MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, CSRF_COOKIE);
      const char *got = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, CSRF_HEADER);
      if (!want || !got || strlen(want) < 16 || strcmp(want, got)) {
        http__error(r, PL_EFORBIDDEN, "the " CSRF_HEADER " header does not match the session");
        return false;
      }
    }
  }
  pl_err e = svc_authenticate(r->s, tok, r->a, &r->caller, &d);
  if (e) {
    http__fail(r, e, &d);
    if (http_status_for(e) == 401) http__header(r, "WWW-Authenticate", "Bearer realm=\"parley\"");
    return false;
  }
  return true;
}

bool http__authenticate(http_req *r) { return authenticate(r); }

static void fail(http_req *r, pl_err e, const pl_detail *d) { http__fail(r, e, d); }

json_t *http__body_object(http_req *r) { return body_object(r); }
json_t *http__body_or_empty(http_req *r) { return body_or_empty(r); }
bool http__field_str(http_req *r, json_t *o, const char *k, const char **out) { return field_str(r, o, k, out); }
bool http__field_bool(http_req *r, json_t *o, const char *k, bool *out) { return field_bool(r, o, k, out); }

/* ---- handlers --------------------------------------------------------------------- */

static json_t *me_json(const svc_caller *c);
json_t *http__me_json(const svc_caller *c) { return me_json(c); }

/* Cookies carry Secure when the client reached parley over https (TLS here, or a trusted
 * proxy's X-Forwarded-Proto), so that a browser never sends the session in clear. */
static const char *cookie_secure(http_req *r) { return http__client_https(r->h, r) ? "; Secure" : ""; }

void http__session_started(http_req *r, char *session, pl_time ends, const svc_caller *c) {
  unsigned char raw[18];
  char csrf[40], end_s[32];
  randombytes_buf(raw, sizeof raw);
  sodium_bin2base64(csrf, sizeof csrf, raw, sizeof raw, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  long max_age = (long)(ends - svc_now(r->s));
  if (max_age < 1) max_age = 1;
  const char *sec = cookie_secure(r);
  http__header(r, "Set-Cookie", pl_arena_printf(r->a, SESSION_COOKIE "=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=%ld%s", session, max_age, sec));
  http__header(r, "Set-Cookie", pl_arena_printf(r->a, CSRF_COOKIE "=%s; Path=/; SameSite=Strict; Max-Age=%ld%s", csrf, max_age, sec));
  json_t *me = me_json(c);
  json_object_set_new(me, "csrf_token", json_string(csrf));
  json_object_set_new(me, "session_expires_at", json_string(pl_time_format(ends, end_s)));
  http__json(r, 201, me);
  sodium_memzero(session, strlen(session));
  free(session);
}

void http__session_cookies_clear(http_req *r) {
  const char *sec = cookie_secure(r);
  http__header(r, "Set-Cookie", pl_arena_printf(r->a, SESSION_COOKIE "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0%s", sec));
  http__header(r, "Set-Cookie", pl_arena_printf(r->a, CSRF_COOKIE "=; Path=/; SameSite=Strict; Max-Age=0%s", sec));
}

/* POST /v1/session {"token"} or {"email","password","code"?}: signs in; the session
 * lives in an HttpOnly cookie. */
void http__session_create(http_req *r, char **arg) {
  json_t *b = body_object(r);
  if (!b) return;
  if (json_object_get(b, "email") || json_object_get(b, "password")) return http__session_password(r, b);
  const char *tok;
  if (field_str(r, b, "token", &tok)) {
    char *session;
    svc_caller c;
    pl_time ends = 0;
    pl_detail d = {0};
    pl_err e = svc_session_create(r->s, tok, MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "User-Agent"),
                                  r->a, &session, &ends, &c, &d);
    if (e) fail(r, e, &d);
    else http__session_started(r, session, ends, &c);
  }
}

/* DELETE /v1/session: signs out (the session token is revoked, the cookies cleared). */
void http__session_delete(http_req *r, char **arg) {
  const char *tok = MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, SESSION_COOKIE);
  pl_detail d = {0};
  if (tok) svc_token_revoke(r->s, tok, &d);
  http__session_cookies_clear(r);
  http__json(r, 200, json_pack("{s:b}", "signed_out", 1));
}

void http__me(http_req *r, char **arg) {
  svc_me_names_out names;
  pl_detail d = {0};
  pl_err e = svc_me_names(r->s, &r->caller, r->a, &names, &d);
  if (e) return fail(r, e, &d);
  json_t *j = me_json(&r->caller);
  if (names.name) json_object_set_new(j, "name", json_string(names.name));
  if (names.seller_name) json_object_set_new(j, "seller_name", json_string(names.seller_name));
  http__json(r, 200, j);
}

/* GET /v1/meta[?marketplace=ID]: the same for everyone, the limits those of the marketplace
 * asked for (svc_meta). */
void http__meta(http_req *r, char **arg) {
  json_t *j;
  pl_detail d = {0};
  pl_err e = svc_meta(r->s, query(r, "marketplace"), r->a, &j, &d);
  if (e) return fail(r, e, &d);
  http__json(r, 200, j);
}

static json_t *me_json(const svc_caller *c) {
  json_t *j = json_object();
  json_object_set_new(j, "kind", json_string(st_principal_kind_name(c->kind)));
  if (c->seller_id) json_object_set_new(j, "seller_id", json_string(c->seller_id));
  if (c->agent_id) json_object_set_new(j, "agent_id", json_integer(c->agent_id));
  if (c->agent_role) json_object_set_new(j, "role", json_string(st_agent_role_name(c->agent_role)));
  if (c->buyer_id) json_object_set_new(j, "buyer_id", json_string(c->buyer_id));
  json_object_set_new(j, "marketplace_id", c->marketplace_id ? json_string(c->marketplace_id) : json_null());
  if (c->token_id) {
    char buf[32];
    json_object_set_new(j, "token", json_pack("{s:I,s:s?,s:o}", "id", (json_int_t)c->token_id, "scope",
                                              st_token_scope_name(c->scope), "expires_at",
                                              c->expires_at ? json_string(pl_time_format(c->expires_at, buf)) : json_null()));
  }
  return j;
}

void http__threads_list(http_req *r, char **arg) {
  svc_threads_in in = {.filter = query(r, "filter"), .sort = query(r, "sort"), .order_id = query(r, "order_id"),
                       .asin = query(r, "asin"), .alias = query(r, "alias"), .q = query(r, "q"),
                       .tag = query(r, "tag"), .assignee = query(r, "assignee"), .cursor = query(r, "cursor"),
                       .since = query(r, "since"), .until = query(r, "until"), .buyer = query(r, "buyer"),
                       .all = query(r, "all")};
  if (!http__query_count(r, "limit", PL_EINVAL, &in.limit)) return; /* 0: the service's default */
  json_t *j = NULL;
  pl_detail d = {0};
  pl_err e = svc_view_threads(r->s, &r->caller, &in, r->a, &j, &d);
  if (e) fail(r, e, &d);
  else http__json(r, 200, j);
}

static void rate_header(http_req *r);
static void reply_sent(http_req *r, pl_err e, const pl_detail *d, svc_sent *m);

void http__threads_start(http_req *r, char **arg) {
  json_t *b = body_object(r);
  if (!b) return;
  svc_start_in in = {0};
  if (field_str(r, b, "order_id", &in.order_id) && field_str(r, b, "asin", &in.asin) &&
      field_str(r, b, "seller_id", &in.seller_id) && field_str(r, b, "topic", &in.topic) &&
      field_str(r, b, "text", &in.text)) {
    json_t *j = NULL;
    pl_detail d = {0};
    pl_err e = svc_view_thread_start(r->s, &r->caller, &in, r->a, &j, &d);
    if (e) fail(r, e, &d);
    else http__json(r, 201, j);
  }
}

static bool thread_id(http_req *r, const char *ref, int64_t *id) {
  if (svc_parse_ref(ref, 'T', id)) return true;
  http__error(r, PL_ENOTFOUND, "no such thread");
  return false;
}

/* GET /v1/threads/{id}[?before=M..&limit=n]: the thread with one page of its messages,
 * the newest by default, oldest first within the page; page.older is the `before` of
 * the page before it (null on the first). */
void http__thread_get(http_req *r, char **arg) {
  int64_t id;
  if (!thread_id(r, arg[0], &id)) return;
  long limit = SVC_PAGE_DEFAULT;
  if (!http__query_count(r, "limit", PL_EPAGE, &limit)) return;
  json_t *j = NULL;
  pl_detail d = {0};
  pl_err e = svc_view_thread_page(r->s, &r->caller, id, query(r, "before"), limit, r->a, &j, &d);
  if (e) fail(r, e, &d);
  else http__json(r, 200, j);
}

void http__thread_send(http_req *r, char **arg) {
  int64_t id;
  if (!thread_id(r, arg[0], &id)) return;
  json_t *b = body_object(r);
  if (!b) return;
  svc_send_in in = {0};
  const char *ids[SVC_MAX_ATTACHMENTS];
  json_t *att = json_object_get(b, "attachments");
  const char *tpl = NULL, *after = NULL;
  json_t *values = json_object_get(b, "values");
  if (att && !json_is_array(att)) {
    http__error(r, PL_ETYPE, "field 'attachments' must be an array of attachment ids");
  } else if (json_array_size(att) > SVC_MAX_ATTACHMENTS) {
    http__error(r, PL_ETOOMANY, pl_arena_printf(r->a, "a message takes at most %d attachments", SVC_MAX_ATTACHMENTS));
  } else if (values && !json_is_object(values)) {
    http__error(r, PL_ETYPE, "field 'values' must be an object");
  } else if (field_str(r, b, "text", &in.text) && field_bool(r, b, "auto_reply", &in.auto_reply) &&
             field_str(r, b, "template_id", &tpl) && field_str(r, b, "after", &after) &&
             field_bool(r, b, "confirm", &in.confirm)) {
    for (size_t i = 0; i < json_array_size(att); i++)
      if (!(ids[i] = json_string_value(json_array_get(att, i)))) {
        http__error(r, PL_ETYPE, "attachment ids must be strings");
        return;
      }
    in.attachments = ids;
    in.nattachments = json_array_size(att);
    in.values = values;
    if (tpl && !svc_team_parse_ref(tpl, "TPL", &in.template_id)) in.template_id = -1; /* no such template */
    if (after && !svc_parse_ref(after, 'M', &in.after)) in.after = -1;
    svc_sent m;
    pl_detail d = {0};
    pl_err e = svc_send(r->s, &r->caller, id, &in, r->a, &m, &d);
    /* the send read the seller's limit in its own transaction */
    if (r->caller.kind == ST_PRINCIPAL_AGENT && m.rate_limit > 0)
      http__header(r, "x-amzn-RateLimit-Limit", pl_arena_printf(r->a, "%g", m.rate_limit));
    else if (r->caller.kind == ST_PRINCIPAL_AGENT)
      rate_header(r);
    reply_sent(r, e, &d, &m);
  }
}

/* 200 with the view *j (read after the call that set it), or the error. */
void http__answer(http_req *r, pl_err e, const pl_detail *d, unsigned status, json_t *v) {
  if (e) {
    json_decref(v);
    http__fail(r, e, d);
  } else {
    http__json(r, status, v ? v : json_object());
  }
}

static void reply_view(http_req *r, pl_err e, const pl_detail *d, json_t **j) {
  if (e) fail(r, e, d);
  else http__json(r, 200, *j);
}

void http__thread_read(http_req *r, char **arg) {
  int64_t id;
  json_t *j = NULL;
  pl_detail d = {0};
  if (thread_id(r, arg[0], &id)) reply_view(r, svc_view_thread_read(r->s, &r->caller, id, r->a, &j, &d), &d, &j);
}

static void thread_archive(http_req *r, const char *ref, bool archived) {
  int64_t id;
  json_t *j = NULL;
  pl_detail d = {0};
  if (thread_id(r, ref, &id))
    reply_view(r, svc_view_thread_archive(r->s, &r->caller, id, archived, r->a, &j, &d), &d, &j);
}

void http__thread_archive(http_req *r, char **arg) { thread_archive(r, arg[0], true); }
void http__thread_unarchive(http_req *r, char **arg) { thread_archive(r, arg[0], false); }

void http__message_flag(http_req *r, char **arg) {
  const char *ref = arg[0];
  int64_t id;
  if (!svc_parse_ref(ref, 'M', &id)) {
    http__error(r, PL_ENOTFOUND, "no such message");
    return;
  }
  json_t *b = body_object(r);
  if (!b) return;
  json_t *v = json_object_get(b, "value");
  if (!v) http__error(r, PL_EMISSING, "field 'value' (true or false) is required");
  else if (!json_is_boolean(v)) http__error(r, PL_ETYPE, "field 'value' must be true or false");
  else {
    json_t *j = NULL;
    pl_detail d = {0};
    reply_view(r, svc_view_flag(r->s, &r->caller, id, json_is_true(v), r->a, &j, &d), &d, &j);
  }
}

void http__order_put(http_req *r, char **arg) {
  json_t *b = body_object(r);
  if (!b) return;
  json_t *j = NULL;
  pl_detail d = {0};
  bool created;
  pl_err e = svc_view_order_put(r->s, &r->caller, arg[0], b, r->a, &created, &j, &d);
  if (e) fail(r, e, &d);
  else http__json(r, created ? 201 : 200, j);
}

void http__order_get(http_req *r, char **arg) {
  json_t *j = NULL;
  pl_detail d = {0};
  reply_view(r, svc_view_order_get(r->s, &r->caller, arg[0], r->a, &j, &d), &d, &j);
}

void http__orders_list(http_req *r, char **arg) {
  long limit = 25;
  if (!http__query_count(r, "limit", PL_EINVAL, &limit)) return;
  json_t *j = NULL;
  pl_detail d = {0};
  reply_view(r, svc_view_orders(r->s, &r->caller, query(r, "cursor"), limit, r->a, &j, &d), &d, &j);
}

static void rate_header(http_req *r) {
  char *v = pl_arena_printf(r->a, "%g", svc_rate_limit(r->s, r->caller.marketplace_id));
  http__header(r, "x-amzn-RateLimit-Limit", v);
}

/* Retry-After comes with every 429 (http__error). */
static void fail_rate(http_req *r, pl_err e, const pl_detail *d) { fail(r, e, d); }

void http__order_actions(http_req *r, char **arg) {
  const char *order_id = arg[0];
  svc_action_status st[SVC_ACT_COUNT];
  pl_detail d = {0};
  rate_header(r);
  pl_err e = svc_order_actions(r->s, &r->caller, order_id, r->a, st, &d);
  if (e) return fail_rate(r, e, &d);
  json_t *arr = json_array();
  for (int i = 0; i < SVC_ACT_COUNT; i++)
    json_array_append_new(arr, json_pack("{s:s,s:s,s:b,s:b,s:o,s:I,s:b,s:b}", "name", st[i].def->name,
                                         "title", st[i].def->title, "available", st[i].available,
                                         "critical", st[i].def->critical,
                                         "reason", st[i].reason ? json_string(st[i].reason) : json_null(),
                                         "max_text", (json_int_t)st[i].def->max_text,
                                         "attachment_required", st[i].def->attachment_required,
                                         "coverage_required", st[i].def->needs_coverage));
  http__json(r, 200, json_pack("{s:s,s:o}", "order_id", order_id, "actions", arr));
}

static void reply_sent(http_req *r, pl_err e, const pl_detail *d, svc_sent *m) {
  /* A refused message is kept as evidence; its id lets the seller find it. */
  if (e == PL_EPOLICY) {
    http__json(r, http_status_for(e),
               json_pack("{s:{s:s,s:s,s:o,s:s}}", "error", "code", pl_errname(e), "message", d->msg,
                         "findings", svc_json_sent_findings(m), "message_id", svc_sent_ref(r->a, m)));
  } else if (e) {
    fail_rate(r, e, d);
  } else {
    http__json(r, 201, json_pack("{s:o}", "message", svc_json_sent(&r->caller, m)));
  }
  policy_verdict_free(&m->verdict);
}

void http__order_action_send(http_req *r, char **arg) {
  const char *order_id = arg[0], *action = arg[1];
  json_t *b = body_or_empty(r);
  if (!b) return;
  svc_action_in in = {0};
  const char *ids[SVC_MAX_ATTACHMENTS];
  json_t *att = json_object_get(b, "attachments");
  if (att && !json_is_array(att)) {
    http__error(r, PL_ETYPE, "field 'attachments' must be an array of attachment ids");
  } else if (json_array_size(att) > SVC_MAX_ATTACHMENTS) {
    http__error(r, PL_ETOOMANY, pl_arena_printf(r->a, "a message takes at most %d attachments", SVC_MAX_ATTACHMENTS));
  } else if (field_str(r, b, "text", &in.text) && field_str(r, b, "coverage_start", &in.coverage_start) &&
             field_str(r, b, "coverage_end", &in.coverage_end)) {
    bool ok = true;
    for (size_t i = 0; i < json_array_size(att); i++) {
      ids[i] = json_string_value(json_array_get(att, i));
      if (!ids[i]) ok = false;
    }
    if (!ok) {
      http__error(r, PL_ETYPE, "attachment ids must be strings");
    } else {
      in.attachments = ids;
      in.nattachments = json_array_size(att);
      svc_sent m;
      pl_detail d = {0};
      rate_header(r);
      pl_err e = svc_send_action(r->s, &r->caller, order_id, action, &in, r->a, &m, &d);
      reply_sent(r, e, &d, &m);
    }
  }
}

void http__order_review_request(http_req *r, char **arg) {
  const char *order_id = arg[0];
  svc_sent m;
  pl_detail d = {0};
  rate_header(r);
  pl_err e = svc_request_review(r->s, &r->caller, order_id, r->a, &m, &d);
  reply_sent(r, e, &d, &m);
}

void http__order_buyer_attributes(http_req *r, char **arg) {
  const char *order_id = arg[0];
  char *locale;
  pl_detail d = {0};
  rate_header(r);
  pl_err e = svc_buyer_attributes(r->s, &r->caller, order_id, r->a, &locale, &d);
  if (e) fail_rate(r, e, &d);
  else http__json(r, 200, json_pack("{s:{s:s}}", "buyer", "locale", locale));
}

void http__preferences_put(http_req *r, char **arg) {
  json_t *b = body_object(r);
  if (!b) return;
  json_t *j = NULL;
  pl_detail d = {0};
  reply_view(r, svc_buyer_preferences_set(r->s, &r->caller, b, r->a, &j, &d), &d, &j);
}

void http__review_queue(http_req *r, char **arg) {
  json_t *j = NULL;
  pl_detail d = {0};
  reply_view(r, svc_view_held(r->s, &r->caller, r->a, &j, &d), &d, &j);
}

static void h_review_decide(http_req *r, const char *ref, bool approve) {
  int64_t id;
  if (!svc_parse_ref(ref, 'M', &id)) {
    http__error(r, PL_ENOTFOUND, "no such message");
    return;
  }
  json_t *b = body_or_empty(r);
  if (!b) return;
  const char *note;
  if (field_str(r, b, "note", &note)) {
    json_t *j = NULL;
    pl_detail d = {0};
    reply_view(r, svc_view_review_decide(r->s, &r->caller, id, approve, note, r->a, &j, &d), &d, &j);
  }
}

void http__message_approve(http_req *r, char **arg) { h_review_decide(r, arg[0], true); }
void http__message_reject(http_req *r, char **arg) { h_review_decide(r, arg[0], false); }

void http__enforcement_get(http_req *r, char **arg) {
  json_t *j = NULL;
  pl_detail d = {0};
  reply_view(r, svc_view_enforcement(r->s, &r->caller, arg[0], r->a, &j, &d), &d, &j);
}

void http__enforcement_set(http_req *r, char **arg) {
  const char *seller_id = arg[0];
  json_t *b = body_object(r);
  if (!b) return;
  svc_enforcement_in in = {0};
  json_t *days = json_object_get(b, "days"), *quota = json_object_get(b, "quota_per_day");
  if ((days && !json_is_integer(days)) || (quota && !json_is_integer(quota))) {
    http__error(r, PL_ETYPE, "days and quota_per_day must be integers");
  } else if (field_str(r, b, "action", &in.action) && field_str(r, b, "reason", &in.reason)) {
    if (!in.action) {
      http__error(r, PL_EMISSING, "field 'action' is required");
    } else {
      in.days = days ? json_integer_value(days) : 0;
      in.quota_per_day = quota ? json_integer_value(quota) : 0;
      json_t *j = NULL;
      pl_detail d = {0};
      reply_view(r, svc_view_enforcement_set(r->s, &r->caller, seller_id, &in, r->a, &j, &d), &d, &j);
    }
  }
}

/* The operator's list of sellers, riskiest first, with 30-day metrics and measures. */
void http__sellers(http_req *r, char **arg) {
  json_t *j = NULL;
  pl_detail d = {0};
  reply_view(r, svc_view_sellers(r->s, &r->caller, r->a, &j, &d), &d, &j);
}

void http__seller_metrics(http_req *r, char **arg) {
  const char *seller_id = arg[0];
  const char *w = query(r, "window"), *at_s = query(r, "at");
  int64_t window = 30 * 86400;
  if (w) {
    char *end;
    long long v = strtoll(w, &end, 10);
    window = v <= 0 ? -1 : !strcmp(end, "d") ? v * 86400 : !strcmp(end, "h") ? v * 3600 : (!*end || !strcmp(end, "s")) ? v : -1;
    if (window <= 0) {
      http__error(r, PL_EINVAL, "window must look like 7d, 30d or 90d");
      return;
    }
  }
  pl_time at = 0;
  if (at_s && !pl_time_parse(at_s, &at)) {
    http__error(r, PL_EINVAL, "at must be an ISO 8601 time");
    return;
  }
  sla_metrics m;
  pl_detail d = {0};
  pl_err e = svc_metrics(r->s, &r->caller, seller_id, at, window, false, r->a, &m, &d);
  if (e) fail(r, e, &d);
  else http__json(r, 200, sla_metrics_to_json(&m, seller_id));
}

void http__thread_export(http_req *r, char **arg) {
  int64_t id;
  if (!thread_id(r, arg[0], &id)) return;
  json_t *j = NULL;
  pl_detail d = {0};
  pl_err e = svc_thread_export(r->s, &r->caller, id, r->a, &j, &d);
  if (e) fail(r, e, &d);
  else http__json(r, 200, j);
}

/* A positive decimal id of a path, or 0 with a 404 answered. */
static int64_t path_id(http_req *r, const char *seg, const char *what) {
  char *end;
  long long v = strtoll(seg, &end, 10);
  if (*end || v <= 0 || !isdigit((unsigned char)seg[0])) {
    http__error(r, PL_ENOTFOUND, pl_arena_printf(r->a, "no %s %s", what, seg));
    return 0;
  }
  return v;
}

/* GET /v1/admin/tokens[?all=true]: tokens, never their secrets. */
void http__tokens_list(http_req *r, char **arg) {
  const char *all = query(r, "all");
  if (all && strcmp(all, "true") && strcmp(all, "false")) {
    http__error(r, PL_EINVAL, "all is true or false");
    return;
  }
  json_t *j = NULL;
  pl_detail d = {0};
  reply_view(r, svc_view_tokens(r->s, &r->caller, all && !strcmp(all, "true"), r->a, &j, &d), &d, &j);
}

/* DELETE /v1/admin/tokens/{id}: revokes it (and its sessions) at once. */
void http__token_revoke(http_req *r, char **arg) {
  int64_t id = path_id(r, arg[0], "token");
  if (!id) return;
  long n = 0;
  pl_detail d = {0};
  pl_err e = svc_token_revoke_id(r->s, &r->caller, id, &n, &d);
  if (e) fail(r, e, &d);
  else http__json(r, 200, json_pack("{s:I,s:I}", "id", (json_int_t)id, "revoked", (json_int_t)n));
}

/* POST /v1/admin/agents/{id}/deactivate */
void http__agent_deactivate(http_req *r, char **arg) {
  int64_t id = path_id(r, arg[0], "agent");
  if (!id) return;
  long n = 0;
  pl_detail d = {0};
  pl_err e = svc_agent_deactivate(r->s, &r->caller, id, &n, &d);
  if (e) fail(r, e, &d);
  else http__json(r, 200, json_pack("{s:I,s:b,s:I}", "agent_id", (json_int_t)id, "active", 0,
                                    "tokens_revoked", (json_int_t)n));
}

void http__policy_check(http_req *r, char **arg) {
  json_t *b = body_object(r);
  if (!b) return;
  const char *text, *mp;
  if (field_str(r, b, "text", &text) && field_str(r, b, "marketplace_id", &mp)) {
    policy_verdict v;
    pl_detail d = {0};
    pl_err e = svc_policy_check(r->s, &r->caller, text, mp, r->a, &v, &d);
    if (e) fail(r, e, &d);
    else {
      json_t *cats = json_array();
      for (size_t i = 0; i < v.nfindings; i++) {
        bool seen = false;
        for (size_t k = 0; k < json_array_size(cats); k++)
          if (!strcmp(json_string_value(json_array_get(cats, k)), v.findings[i].category)) seen = true;
        if (!seen) json_array_append_new(cats, json_string(v.findings[i].category));
      }
      http__json(r, 200, json_pack("{s:s,s:o,s:o,s:s}", "action", policy_action_name(v.action),
                                   "categories", cats, "findings", svc_json_findings(&v), "engine",
                                   v.engine[0] ? v.engine : "none"));
    }
    policy_verdict_free(&v);
  }
}

void http__preferences_get(http_req *r, char **arg) {
  json_t *j = NULL;
  pl_detail d = {0};
  reply_view(r, svc_buyer_preferences(r->s, &r->caller, r->a, &j, &d), &d, &j);
}

/* POST /v1/admin/policy/train: retrains a marketplace's model from its review decisions
 * (docs/policy.md, "Learning from the operator"). */
void http__policy_train(http_req *r, char **arg) {
  json_t *b = body_or_empty(r);
  const char *mp;
  if (!b || !field_str(r, b, "marketplace_id", &mp)) return;
  if (!mp) mp = r->caller.marketplace_id;
  pl_detail d = {0};
  svc_policy_trained t;
  pl_err e = !mp ? pl_fail(&d, PL_EMISSING, "marketplace_id is required")
                 : svc_policy_train(r->s, &r->caller, mp, &t, &d);
  if (e) {
    fail(r, e, &d);
    return;
  }
  char at[32];
  http__json(r, 200, json_pack("{s:s,s:s,s:I,s:I,s:s}", "marketplace_id", mp, "version", t.version, "decisions",
                               (json_int_t)t.decisions, "violations", (json_int_t)t.violations, "trained_at",
                               pl_time_format(t.trained_at, at)));
}

/* GET /v1/admin/policy/models: what each marketplace's classifier has learned, and what
 * it could learn now (docs/policy.md, "Learning from the operator"). */
void http__policy_models(http_req *r, char **arg) {
  (void)arg;
  pl_detail d = {0};
  svc_policy_model_status *v;
  size_t n;
  pl_err e = svc_policy_models(r->s, &r->caller, r->a, &v, &n, &d);
  if (e) {
    fail(r, e, &d);
    return;
  }
  json_t *arr = json_array();
  for (size_t i = 0; i < n; i++) {
    char at[32];
    json_t *own = v[i].trained ? json_pack("{s:s,s:s,s:s,s:I}", "version", v[i].trained_version, "trained_by",
                                           v[i].trained_by, "trained_at", pl_time_format(v[i].trained_at, at),
                                           "decisions", (json_int_t)v[i].trained_decisions)
                               : json_null();
    json_array_append_new(arr, json_pack("{s:s,s:s?,s:s,s:s,s:o,s:I,s:I,s:I,s:I}", "marketplace_id", v[i].marketplace_id,
                                         "name", v[i].name, "version", v[i].version, "shipped_version", v[i].shipped_version, "trained",
                                         own, "decisions", (json_int_t)v[i].decisions, "violations",
                                         (json_int_t)v[i].violations, "new_decisions", (json_int_t)v[i].new_decisions,
                                         "learn_decision_weight", (json_int_t)v[i].learn_decision_weight));
  }
  http__json(r, 200, json_pack("{s:o}", "models", arr));
}

void http__policy_reload(http_req *r, char **arg) {
  pl_detail d = {0};
  pl_err e = svc_policy_reload(r->s, &r->caller, &d);
  if (e) fail(r, e, &d);
  else http__json(r, 200, json_pack("{s:b}", "reloaded", 1));
}
