/* http_spapi.c - the SP-API-compatible transport: Messaging v1, Solicitations v1, Uploads
 * 2020-11-01 and the LWA token endpoint, on the wire exactly as Amazon's models have them.
 *
 * Every operation calls the same service function as the own API (/v1), so the rules are
 * those of docs/rules.md; this file only translates paths, bodies, errors and headers.
 * Differences from Amazon are listed in docs/spapi.md. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/http_int.h"
#include "service/svc_rules.h"

#define MAX_ATTACHMENTS 5 /* the models' maxLength of attachments */

/* ---- errors: the one table from parley's codes to SP-API's ------------------------------ */

static const struct {
  pl_err e;
  unsigned status;
  const char *code;
} err_map[] = {
    {PL_EINVAL, 400, "InvalidInput"},     {PL_EUTF8, 400, "InvalidInput"},
    {PL_EJSON, 400, "InvalidInput"},      {PL_ETYPE, 400, "InvalidInput"},
    {PL_EMISSING, 400, "InvalidInput"},   {PL_EEMPTY, 400, "InvalidInput"},
    {PL_ETOOMANY, 400, "InvalidInput"},   {PL_ETOOLONG, 400, "InvalidInput"},
    {PL_EEXIST, 400, "InvalidInput"},     {PL_ECONFLICT, 400, "InvalidInput"},
    {PL_EUNREADABLE, 400, "InvalidInput"}, {PL_ECONTROL, 400, "InvalidInput"},
    /* a message the policy refuses: the request's text is what is wrong */
    {PL_EPOLICY, 400, "InvalidInput"},    {PL_EPURPOSE, 400, "InvalidInput"},
    /* Amazon answers 403 Unauthorized for a missing or expired token and for an action
     * the order does not allow; the message says which. */
    {PL_EUNAUTH, 403, "Unauthorized"},    {PL_EFORBIDDEN, 403, "Unauthorized"},
    {PL_EEXPIRED, 403, "Unauthorized"},   {PL_EREVOKED, 403, "Unauthorized"},
    {PL_EDEACTIVATED, 403, "Unauthorized"}, {PL_ESCOPE, 403, "Unauthorized"},
    {PL_ERENEW, 403, "Unauthorized"},     {PL_ENOAGENT, 400, "InvalidInput"},
    {PL_EACTION, 403, "Unauthorized"},    {PL_EALREADY, 403, "Unauthorized"},
    {PL_EWINDOW, 403, "Unauthorized"},    {PL_ERESTRICTED, 403, "Unauthorized"},
    {PL_ECANCELED, 403, "Unauthorized"},  {PL_ENOTALLOWED, 403, "Unauthorized"},
    {PL_ENOTFOUND, 404, "NotFound"},      {PL_EMETHOD, 405, "MethodNotAllowed"},
    {PL_ETOOLARGE, 413, "RequestEntityTooLarge"},
    {PL_EUNSUPPORTED, 415, "UnsupportedMediaType"}, {PL_EMISMATCH, 415, "UnsupportedMediaType"},
    {PL_ERATELIMIT, 429, "QuotaExceeded"}, {PL_EQUOTA, 429, "QuotaExceeded"},
    {PL_EMSGLIMIT, 429, "QuotaExceeded"}, {PL_ETHREADLIMIT, 429, "QuotaExceeded"},
    {PL_EUPLOADLIMIT, 429, "QuotaExceeded"}, {PL_ERENDERLONG, 400, "InvalidInput"},
    {PL_EIDEMREUSED, 400, "InvalidInput"}, {PL_EIDEMKEY, 400, "InvalidInput"},
    {PL_EIDEMBUSY, 409, "Conflict"},      {PL_EPAGE, 400, "InvalidInput"},
    {PL_ESTORE, 503, "ServiceUnavailable"}, {PL_ENOMEM, 503, "ServiceUnavailable"},
    {PL_ECRYPTO, 500, "InternalFailure"}, {PL_EIO, 500, "InternalFailure"},
    {PL_EINTERNAL, 500, "InternalFailure"},
};

/* How one SP-API exchange answers: HAL for Messaging and Solicitations, JSON otherwise;
 * the rate limit of its operation when it has one. */
typedef struct {
  http_server *h;
  http_req *r;
  bool hal;
  const char *rate; /* x-amzn-RateLimit-Limit, or NULL */
} sp;

/* The exchange of an SP-API request: HAL but for uploads. */
static sp exchange(http_req *r) { return (sp){.h = r->h, .r = r, .hal = strncmp(r->url, "/uploads/", 9) != 0}; }

static void sp_reply(sp *x, unsigned status, json_t *body) {
  http__json(x->r, status, body);
  if (x->hal) x->r->content_type = "application/hal+json";
  /* The models declare the rate limit on every answer but 403. */
  if (x->rate && status != 403) http__header(x->r, "x-amzn-RateLimit-Limit", x->rate);
}

static void sp_error(sp *x, pl_err e, const char *msg) {
  unsigned status = 500;
  const char *code = "InternalFailure";
  for (size_t i = 0; i < sizeof err_map / sizeof err_map[0]; i++)
    if (err_map[i].e == e) {
      status = err_map[i].status;
      code = err_map[i].code;
      break;
    }
  if (e == PL_ERATELIMIT) http__header(x->r, "Retry-After", "1");
  sp_reply(x, status, json_pack("{s:[{s:s,s:s,s:s}]}", "errors", "code", code, "message",
                                msg && *msg ? msg : pl_strerror(e), "details", pl_errname(e)));
}

/* ---- request helpers ---------------------------------------------------------------- */

static int hexval(int c) {
  return isdigit(c) ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : (c >= 'A' && c <= 'F') ? c - 'A' + 10 : -1;
}

/* Percent-decodes s (and '+' as a space when form is set) into the arena. */
static char *unescape(pl_arena *a, const char *s, size_t n, bool form) {
  char *out = pl_arena_alloc(a, n + 1), *o = out;
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '%' && i + 2 < n && hexval((unsigned char)s[i + 1]) >= 0 && hexval((unsigned char)s[i + 2]) >= 0) {
      *o++ = (char)(hexval((unsigned char)s[i + 1]) * 16 + hexval((unsigned char)s[i + 2]));
      i += 2;
    } else {
      *o++ = form && s[i] == '+' ? ' ' : s[i];
    }
  }
  *o = '\0';
  return out;
}

static const char *header(http_req *r, const char *name) {
  return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

typedef struct {
  pl_arena *a;
  const char *want;
  char *joined; /* every value of the key, comma-joined */
} collect;

static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind, const char *key, const char *value) {
  collect *c = cls;
  if (key && value && !strcmp(key, c->want))
    c->joined = c->joined ? pl_arena_printf(c->a, "%s,%s", c->joined, value) : pl_arena_strdup(c->a, value);
  return MHD_YES;
}

/* marketplaceIds, given once, repeated or comma-joined: the caller's marketplace must be
 * among them. Returns the one to name in links, or NULL with the error answered. */
static const char *marketplace(sp *x) {
  collect c = {.a = x->r->a, .want = "marketplaceIds"};
  MHD_get_connection_values(x->r->conn, MHD_GET_ARGUMENT_KIND, collect_arg, &c);
  if (!c.joined || !*c.joined) {
    sp_error(x, PL_EMISSING, "marketplaceIds is required");
    return NULL;
  }
  const char *mine = x->r->caller.marketplace_id;
  for (char *tok = c.joined, *next; tok; tok = next) {
    next = strchr(tok, ',');
    if (next) *next++ = '\0';
    while (*tok == ' ') tok++;
    if (mine && !strcmp(tok, mine)) return mine;
  }
  char *msg = pl_arena_printf(x->r->a, "marketplaceIds (%s) does not name this seller's marketplace (%s)",
                              c.joined, mine ? mine : "none");
  sp_error(x, PL_EINVAL, msg);
  return NULL;
}

/* The access token of the x-amz-access-token header; Authorization, x-amz-date and Host
 * (AWS Signature Version 4, no longer required by SP-API) are ignored. Only a seller's
 * agent calls SP-API. */
static bool authenticate(sp *x) {
  pl_detail d = {0};
  const char *tok = header(x->r, "x-amz-access-token");
  if (!tok || !*tok) {
    sp_error(x, PL_EUNAUTH, "Access to requested resource is denied: the x-amz-access-token header is missing");
    return false;
  }
  pl_err e = svc_authenticate_as(x->r->s, tok, SVC_SURFACE_SPAPI, x->r->a, &x->r->caller, &d);
  if (e) {
    sp_error(x, e, http_status_for(e) == 401 ? pl_arena_printf(x->r->a, "Access to requested resource is denied: %s", d.msg) : d.msg);
    return false;
  }
  if (x->r->caller.kind != ST_PRINCIPAL_AGENT) {
    sp_error(x, PL_EFORBIDDEN, "Access to requested resource is denied: SP-API is for a seller's application (use credentials from parley admin spapi-credentials)");
    return false;
  }
  x->r->authed = true;
  return true;
}

/* The JSON object body; an empty body is {} (the models' bodies have no required field).
 * Unknown fields are ignored. NULL with the error answered. */
static json_t *body_object(sp *x) {
  http_req *r = x->r;
  if (!r->body_len) return json_object();
  const char *ct = header(r, "Content-Type");
  if (ct && !strstr(ct, "json")) {
    sp_error(x, PL_EUNSUPPORTED, pl_arena_printf(r->a, "the body must be application/json, not %s", ct));
    return NULL;
  }
  json_error_t err;
  json_t *j = json_loadb(r->body, r->body_len, 0, &err);
  if (!j || !json_is_object(j)) {
    json_decref(j);
    sp_error(x, PL_EJSON, j ? "the body must be a JSON object"
                            : pl_arena_printf(r->a, "the body is not valid JSON: %s", err.text));
    return NULL;
  }
  return j;
}

static bool field_str(sp *x, json_t *o, const char *k, const char **out) {
  json_t *v = json_object_get(o, k);
  *out = NULL;
  if (!v || json_is_null(v)) return true;
  if (!json_is_string(v)) {
    sp_error(x, PL_ETYPE, pl_arena_printf(x->r->a, "%s must be a string", k));
    return false;
  }
  *out = json_string_value(v);
  return true;
}

static void rate_of(sp *x) {
  x->rate = pl_arena_printf(x->r->a, "%g", svc_rate_limit(x->r->s, x->r->caller.marketplace_id));
}

/* ---- Messaging v1 -------------------------------------------------------------------- */

/* What each action's request body carries in the Messaging model, and its operationId. */
static const struct {
  const char *operation;
  bool text, attachments;
} msg_ops[SVC_ACT_COUNT] = {
    [SVC_ACT_CUSTOMIZATION] = {"confirmCustomizationDetails", true, true},
    [SVC_ACT_DELIVERY] = {"createConfirmDeliveryDetails", true, false},
    [SVC_ACT_ORDER] = {"createConfirmOrderDetails", true, false},
    [SVC_ACT_SERVICE] = {"createConfirmServiceDetails", true, false},
    [SVC_ACT_ACCESS_KEY] = {"createDigitalAccessKey", true, true},
    [SVC_ACT_WARRANTY] = {"CreateWarranty", false, true},
    [SVC_ACT_INVOICE] = {"sendInvoice", false, true},
    [SVC_ACT_LEGAL] = {"createLegalDisclosure", false, true},
    [SVC_ACT_PROBLEM] = {"createUnexpectedProblem", true, false},
    [SVC_ACT_FEEDBACK_REMOVAL] = {"createNegativeFeedbackRemoval", false, false},
};

static json_t *hal_link(const char *href, const char *name) {
  return name ? json_pack("{s:s,s:s}", "href", href, "name", name) : json_pack("{s:s}", "href", href);
}

/* getMessagingActionsForOrder: the actions available now, as HAL links. */
void http__sp_messaging_actions(http_req *req, char **arg) {
  sp s = exchange(req), *x = &s;
  const char *order_id = arg[0];
  http_req *r = x->r;
  rate_of(x);
  const char *mp = marketplace(x);
  if (!mp) return;
  svc_action_status st[SVC_ACT_COUNT];
  pl_detail d = {0};
  pl_err e = svc_order_actions(r->s, &r->caller, order_id, r->a, st, &d);
  if (e) return sp_error(x, e, d.msg);
  json_t *links = json_array(), *embedded = json_array();
  for (int i = 0; i < SVC_ACT_COUNT; i++) {
    if (!st[i].available) continue;
    const char *name = st[i].def->name;
    char *href = pl_arena_printf(r->a, "/messaging/v1/orders/%s/messages/%s?marketplaceIds=%s", order_id, name, mp);
    char *schema = pl_arena_printf(r->a, "/messaging/v1/orders/%s/messages/%s/schema", order_id, name);
    json_array_append_new(links, hal_link(href, name));
    json_array_append_new(embedded, json_pack("{s:{s:o,s:o}}", "_links", "self", hal_link(href, name),
                                              "schema", hal_link(schema, name)));
  }
  char *self = pl_arena_printf(r->a, "/messaging/v1/orders/%s?marketplaceIds=%s", order_id, mp);
  sp_reply(x, 200, json_pack("{s:{s:o,s:o},s:{s:o}}", "_links", "self", hal_link(self, NULL), "actions", links,
                             "_embedded", "actions", embedded));
}

/* The JSON schema of an action's request body, as the HAL schema link promises. */
void http__sp_message_schema(http_req *req, char **arg) {
  sp s = exchange(req), *x = &s;
  const char *order_id = arg[0];
  int ai = svc_action_find(arg[1]); /* the pattern's {action}: one of them */
  json_t *props = json_object();
  if (msg_ops[ai].text)
    json_object_set_new(props, "text", json_pack("{s:s,s:i,s:I}", "type", "string", "minLength", 1,
                                                 "maxLength", (json_int_t)svc_actions[ai].max_text));
  if (msg_ops[ai].attachments)
    json_object_set_new(props, "attachments",
                        json_pack("{s:s,s:i,s:{s:s,s:[s,s],s:{s:{s:s},s:{s:s}}}}", "type", "array", "maxItems", MAX_ATTACHMENTS,
                                  "items", "type", "object", "required", "uploadDestinationId", "fileName",
                                  "properties", "uploadDestinationId", "type", "string", "fileName", "type", "string"));
  if (svc_actions[ai].needs_coverage) {
    json_object_set_new(props, "coverageStartDate", json_pack("{s:s,s:s}", "type", "string", "format", "date-time"));
    json_object_set_new(props, "coverageEndDate", json_pack("{s:s,s:s}", "type", "string", "format", "date-time"));
  }
  json_t *schema = json_pack("{s:s,s:s,s:o}", "$schema", "http://json-schema.org/draft-04/schema#", "type",
                             "object", "properties", props);
  char *self = pl_arena_printf(x->r->a, "/messaging/v1/orders/%s/messages/%s/schema", order_id, svc_actions[ai].name);
  sp_reply(x, 200, json_pack("{s:{s:o},s:o}", "_links", "self", hal_link(self, NULL), "payload", schema));
}

/* Names the policy's findings (category and matched text) in the refusal. */
static char *policy_message(pl_arena *a, const char *base, const policy_verdict *v) {
  char *m = pl_arena_printf(a, "%s:", base);
  for (size_t i = 0; i < v->nfindings && i < 10; i++)
    m = pl_arena_printf(a, "%s%s %s \"%s\"", m, i ? ";" : "", v->findings[i].category,
                        v->findings[i].text ? v->findings[i].text : "");
  return m;
}

/* The attachments of a create operation: [{"uploadDestinationId","fileName"}] to the
 * attachment ids the uploads received. */
static bool attachments(sp *x, json_t *b, const char **ids, size_t *n) {
  json_t *arr = json_object_get(b, "attachments");
  *n = 0;
  if (!arr || json_is_null(arr)) return true;
  if (!json_is_array(arr)) {
    sp_error(x, PL_ETYPE, "attachments must be an array of {uploadDestinationId, fileName}");
    return false;
  }
  if (json_array_size(arr) > MAX_ATTACHMENTS) {
    sp_error(x, PL_ETOOMANY, "at most 5 attachments");
    return false;
  }
  for (size_t i = 0; i < json_array_size(arr); i++) {
    json_t *o = json_array_get(arr, i);
    const char *id = json_string_value(json_object_get(o, "uploadDestinationId"));
    const char *name = json_string_value(json_object_get(o, "fileName"));
    if (!json_is_object(o) || !id || !name || !*name) {
      sp_error(x, PL_EMISSING, "each attachment needs uploadDestinationId and fileName (strings)");
      return false;
    }
    char *att;
    pl_detail d = {0};
    pl_err e = svc_spapi_upload_attachment(x->r->s, &x->r->caller, id, x->r->a, &att, &d);
    if (e) {
      sp_error(x, e, d.msg);
      return false;
    }
    ids[(*n)++] = att;
  }
  return true;
}

/* Every create operation of Messaging: 201 {} when the message was accepted. */
void http__sp_message_create(http_req *req, char **arg) {
  sp s = exchange(req), *x = &s;
  const char *order_id = arg[0];
  int ai = svc_action_find(arg[1]);
  http_req *r = x->r;
  rate_of(x);
  if (!marketplace(x)) return;
  json_t *b = body_object(x);
  if (!b) return;
  svc_action_in in = {0};
  const char *ids[MAX_ATTACHMENTS];
  bool ok = true;
  if (msg_ops[ai].text) ok = field_str(x, b, "text", &in.text);
  if (ok && svc_actions[ai].needs_coverage)
    ok = field_str(x, b, "coverageStartDate", &in.coverage_start) &&
         field_str(x, b, "coverageEndDate", &in.coverage_end);
  if (ok && msg_ops[ai].attachments) {
    ok = attachments(x, b, ids, &in.nattachments);
    in.attachments = ids;
  }
  if (ok) {
    svc_sent m;
    pl_detail d = {0};
    pl_err e = svc_send_action(r->s, &r->caller, order_id, svc_actions[ai].name, &in, r->a, &m, &d);
    if (e == PL_EPOLICY) sp_error(x, e, policy_message(r->a, d.msg, &m.verdict));
    else if (e) sp_error(x, e, d.msg);
    else sp_reply(x, 201, json_object());
    policy_verdict_free(&m.verdict);
  }
  json_decref(b);
}

/* CreateAmazonMotors was retired with Amazon Motors: parley has no such sellers, so it
 * answers as Amazon does for an action the seller may not send, after the checks every
 * operation makes. */
void http__sp_motors(http_req *req, char **arg) {
  sp s = exchange(req), *x = &s;
  const char *order_id = arg[0];
  rate_of(x);
  if (!marketplace(x)) return;
  json_t *o = NULL;
  pl_detail d = {0};
  pl_err e = svc_view_order_get(x->r->s, &x->r->caller, order_id, x->r->a, &o, &d);
  json_decref(o); /* only whether the caller may see the order */
  if (e) return sp_error(x, e, d.msg);
  sp_error(x, PL_EACTION, pl_arena_printf(x->r->a, "amazonMotors is not available for order %s: the action was retired and this marketplace has no Amazon Motors sellers", order_id));
}

void http__sp_attributes(http_req *req, char **arg) {
  sp s = exchange(req), *x = &s;
  const char *order_id = arg[0];
  rate_of(x);
  if (!marketplace(x)) return;
  char *locale;
  pl_detail d = {0};
  pl_err e = svc_buyer_attributes(x->r->s, &x->r->caller, order_id, x->r->a, &locale, &d);
  if (e) return sp_error(x, e, d.msg);
  sp_reply(x, 200, json_pack("{s:{s:s}}", "buyer", "locale", locale ? locale : "en-US"));
}

/* ---- Solicitations v1 ------------------------------------------------------------------ */

#define SOLICITATION "productReviewAndSellerFeedback"

void http__sp_solicitation_actions(http_req *req, char **arg) {
  sp s = exchange(req), *x = &s;
  const char *order_id = arg[0];
  http_req *r = x->r;
  rate_of(x);
  const char *mp = marketplace(x);
  if (!mp) return;
  bool available;
  pl_detail why = {0}, d = {0};
  pl_err e = svc_review_available(r->s, &r->caller, order_id, r->a, &available, &why, &d);
  if (e) return sp_error(x, e, d.msg);
  json_t *links = json_array(), *embedded = json_array();
  if (available) {
    char *href = pl_arena_printf(r->a, "/solicitations/v1/orders/%s/solicitations/" SOLICITATION "?marketplaceIds=%s", order_id, mp);
    char *schema = pl_arena_printf(r->a, "/solicitations/v1/orders/%s/solicitations/" SOLICITATION "/schema", order_id);
    json_array_append_new(links, hal_link(href, SOLICITATION));
    json_array_append_new(embedded, json_pack("{s:{s:o,s:o}}", "_links", "self", hal_link(href, SOLICITATION),
                                              "schema", hal_link(schema, SOLICITATION)));
  }
  char *self = pl_arena_printf(r->a, "/solicitations/v1/orders/%s?marketplaceIds=%s", order_id, mp);
  sp_reply(x, 200, json_pack("{s:{s:o,s:o},s:{s:o}}", "_links", "self", hal_link(self, NULL), "actions", links,
                             "_embedded", "actions", embedded));
}

void http__sp_solicitation_schema(http_req *req, char **arg) {
  sp s = exchange(req), *x = &s;
  const char *order_id = arg[0];
  char *self = pl_arena_printf(x->r->a, "/solicitations/v1/orders/%s/solicitations/" SOLICITATION "/schema", order_id);
  sp_reply(x, 200, json_pack("{s:{s:o},s:{s:s,s:s,s:{}}}", "_links", "self", hal_link(self, NULL), "payload", "$schema",
                             "http://json-schema.org/draft-04/schema#", "type", "object", "properties"));
}

void http__sp_solicitation_create(http_req *req, char **arg) {
  sp s = exchange(req), *x = &s;
  const char *order_id = arg[0];
  http_req *r = x->r;
  rate_of(x);
  if (!marketplace(x)) return;
  svc_sent m;
  pl_detail d = {0};
  pl_err e = svc_request_review(r->s, &r->caller, order_id, r->a, &m, &d);
  if (e) sp_error(x, e, d.msg);
  else sp_reply(x, 201, json_object());
  policy_verdict_free(&m.verdict);
}

/* ---- Uploads 2020-11-01 ---------------------------------------------------------------- */

#define UPLOADS "/uploads/2020-11-01/uploadDestinations/"
#define DESTINATIONS "/uploads/2020-11-01/destinations/"

/* createUploadDestinationForResource: the resource is the rest of the path, raw or with
 * its slashes %2F-encoded (as SDKs that encode path parameters send it). */
void http__sp_upload_create(http_req *req, char **arg) {
  sp s = exchange(req), *x = &s;
  const char *resource = arg[0];
  http_req *r = x->r;
  x->rate = pl_arena_printf(r->a, "%g", SVC_SPAPI_UPLOAD_RATE);
  if (!marketplace(x)) return;
  resource = unescape(r->a, resource, strlen(resource), false);
  const char *md5 = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "contentMD5");
  const char *type = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "contentType");
  svc_upload_dest u;
  pl_detail d = {0};
  pl_err e = svc_view_spapi_upload(r->s, &r->caller, resource, md5, type, r->a, &u, &d);
  if (e) return sp_error(x, e, d.msg);
  const char *host = header(r, "Host");
  char *url = pl_arena_printf(r->a, "%s://%s" DESTINATIONS "%s", x->h->opt.tls_cert_pem ? "https" : "http",
                              host && *host ? host : x->h->opt.listen ? x->h->opt.listen : "127.0.0.1:8080", u.id);
  json_t *headers = json_pack("{s:s}", "Content-MD5", u.content_md5);
  if (u.content_type) json_object_set_new(headers, "Content-Type", json_string(u.content_type));
  sp_reply(x, 201, json_pack("{s:{s:s,s:s,s:o}}", "payload", "uploadDestinationId", u.id, "url", url,
                             "headers", headers));
}

/* The upload target the destination's url names: the file's bytes, checked against the
 * destination's Content-MD5. The unguessable destination id is the credential, as a
 * pre-signed S3 URL is. */
void http__sp_upload_put(http_req *req, char **arg) {
  sp s = exchange(req), *x = &s;
  http_req *r = req;
  const char *id = arg[0];
  if (!*id || strchr(id, '/')) return sp_error(x, PL_ENOTFOUND, "no such upload destination");
  pl_detail d = {0};
  pl_err e = svc_spapi_upload_receive(r->s, id, r->body ? r->body : "", r->body_len,
                                      header(r, "Content-MD5"), r->a, &d);
  if (e) return sp_error(x, e, d.msg);
  http__json(r, 200, json_object());
}

/* ---- the LWA token endpoint -------------------------------------------------------------- */

static void lwa_error(http_req *r, unsigned status, const char *error, const char *desc) {
  http__json(r, status, json_pack("{s:s,s:s}", "error", error, "error_description", desc));
}

/* A form or JSON body's field (percent-decoded for forms). */
static const char *param(http_req *r, json_t *j, const char *k) {
  if (j) return json_string_value(json_object_get(j, k));
  size_t kl = strlen(k);
  const char *p = r->body, *end = r->body + r->body_len;
  while (p && p < end) {
    const char *amp = memchr(p, '&', (size_t)(end - p));
    const char *stop = amp ? amp : end;
    if ((size_t)(stop - p) > kl && !strncmp(p, k, kl) && p[kl] == '=')
      return unescape(r->a, p + kl + 1, (size_t)(stop - p - (ptrdiff_t)kl - 1), true);
    p = amp ? amp + 1 : NULL;
  }
  return NULL;
}

/* POST /auth/o2/token: refresh_token and client_credentials grants, as LWA answers them. */
void http__lwa_token(http_req *r, char **arg) {
  http_server *h = r->h;
  if (r->too_large) return lwa_error(r, 413, "invalid_request", "the request body is too large");
  json_t *j = NULL;
  const char *ct = header(r, "Content-Type");
  if ((ct && strstr(ct, "json")) || (!ct && r->body_len && r->body[0] == '{')) {
    j = r->body_len ? json_loadb(r->body, r->body_len, 0, NULL) : NULL;
    if (!json_is_object(j)) {
      json_decref(j);
      return lwa_error(r, 400, "invalid_request", "the body is not a JSON object");
    }
  }
  const char *grant = param(r, j, "grant_type");
  svc_spapi_grant g = {.client_id = param(r, j, "client_id"), .client_secret = param(r, j, "client_secret"),
                       .refresh_token = param(r, j, "refresh_token"), .scope = param(r, j, "scope"),
                       .ttl = h->opt.spapi_token_ttl};
  if (!grant) {
    json_decref(j);
    return lwa_error(r, 400, "invalid_request", "grant_type is required");
  }
  if (!strcmp(grant, "refresh_token")) g.type = SVC_SPAPI_GRANT_REFRESH;
  else if (!strcmp(grant, "client_credentials")) g.type = SVC_SPAPI_GRANT_CLIENT;
  else {
    json_decref(j);
    return lwa_error(r, 400, "unsupported_grant_type", "grant_type must be refresh_token or client_credentials");
  }
  char *access;
  pl_detail d = {0};
  pl_err e = svc_spapi_token(r->s, &g, r->a, &access, &d);
  if (e == PL_EMISSING) lwa_error(r, 400, "invalid_request", d.msg);
  else if (e == PL_EUNAUTH) lwa_error(r, 401, "invalid_client", d.msg);
  else if (e == PL_EFORBIDDEN) lwa_error(r, 400, "invalid_grant", d.msg);
  else if (e == PL_ESCOPE) lwa_error(r, 400, "unauthorized_client", d.msg);
  else if (e) lwa_error(r, e == PL_ESTORE ? 503 : 500, "server_error", d.msg);
  else {
    json_t *out = json_pack("{s:s,s:s,s:I}", "access_token", access, "token_type", "bearer", "expires_in",
                            (json_int_t)(g.ttl > 0 ? g.ttl : SVC_SPAPI_TOKEN_SECONDS));
    if (g.type == SVC_SPAPI_GRANT_REFRESH) json_object_set_new(out, "refresh_token", json_string(g.refresh_token));
    else json_object_set_new(out, "scope", json_string(g.scope));
    http__json(r, 200, out);
    free(access);
  }
  json_decref(j);
}

/* ---- routing (the rows are in http_route.c) ----------------------------------------------- */

bool http__spapi_path(const char *u) {
  return !strncmp(u, "/messaging/v1/", 14) || !strncmp(u, "/solicitations/v1/", 18) ||
         !strncmp(u, "/uploads/2020-11-01/", 20);
}

bool http__spapi_admit(http_req *r, http_who who) {
  http__header(r, "x-amzn-RequestId", r->request_id);
  sp x = exchange(r);
  return who != HTTP_SPAPI_APP || authenticate(&x);
}

void http__spapi_refuse(http_req *r, http_who who, pl_err e, const char *allow) {
  http__header(r, "x-amzn-RequestId", r->request_id);
  if (who == HTTP_LWA_CLIENT) return lwa_error(r, 405, "invalid_request", "the token endpoint takes POST");
  sp x = exchange(r);
  if (e == PL_ENOTFOUND) sp_error(&x, e, "no such operation");
  else if (e == PL_EMETHOD) sp_error(&x, e, pl_arena_printf(r->a, "this operation takes %s", allow));
  else sp_error(&x, e, pl_arena_printf(r->a, "the request body is larger than %zu bytes", r->h->opt.max_body));
}
