/* http_route.c - the one table of HTTP routes (method, path pattern, who may call, handler)
 * and the matcher that finds a request's row in it. */
#include <string.h>

#include "http/http_int.h"
#include "service/svc_rules.h"

#define MAX_ARGS 4

/* A pattern is a path whose segments are literal, {name} (any one segment), {action} (one
 * of SP-API's message actions, svc_action_find) or, last, {name...} (the rest of the path
 * after one '/', slashes included, maybe empty). A path belongs to the first row whose
 * pattern matches it, and the rows with that same pattern are its methods: so a literal
 * row (/v1/templates/starter) comes before the {id} row it would otherwise fall under.
 * tests/unit/http/test_http_routes.c holds the table to docs/openapi.json. */
static const http_route routes[] = {
    {"GET", "/healthz", HTTP_ANYONE, http__healthz},
    {"GET", "/metrics", HTTP_ANYONE, http__metrics},
    /* the own API (http_api.c, docs/api.md) */
    {"POST", "/v1/session", HTTP_ANYONE, http__session_create},
    {"DELETE", "/v1/session", HTTP_ANYONE, http__session_delete},
    {"GET", "/v1/me", HTTP_USER, http__me},
    /* accounts (http_account.c) */
    {"GET", "/v1/me/account", HTTP_USER, http__account_get},
    {"PUT", "/v1/me/password", HTTP_USER, http__password_put},
    {"POST", "/v1/me/totp", HTTP_USER, http__totp_begin},
    {"DELETE", "/v1/me/totp", HTTP_USER, http__totp_delete},
    {"POST", "/v1/me/totp/confirm", HTTP_USER, http__totp_confirm},
    {"POST", "/v1/me/totp/recovery-codes", HTTP_USER, http__recovery_codes_renew},
    {"GET", "/v1/me/sessions", HTTP_USER, http__sessions_list},
    {"POST", "/v1/me/sessions/revoke-all", HTTP_USER, http__sessions_revoke_all},
    {"DELETE", "/v1/me/sessions/{id}", HTTP_USER, http__session_revoke},
    {"POST", "/v1/account/confirm", HTTP_ANYONE, http__account_confirm},
    {"POST", "/v1/password-reset", HTTP_ANYONE, http__password_reset},
    {"POST", "/v1/password-reset/confirm", HTTP_ANYONE, http__password_reset_confirm},
    {"GET", "/v1/invitations", HTTP_USER, http__invitations_list},
    {"POST", "/v1/invitations", HTTP_USER, http__invitation_create},
    {"POST", "/v1/invitations/accept", HTTP_ANYONE, http__invitation_accept},
    {"DELETE", "/v1/invitations/{id}", HTTP_USER, http__invitation_revoke},
    {"GET", "/v1/meta", HTTP_ANYONE, http__meta},
    {"GET", "/v1/me/preferences", HTTP_USER, http__preferences_get},
    {"PUT", "/v1/me/preferences", HTTP_USER, http__preferences_put},
    {"GET", "/v1/me/notifications", HTTP_USER, http__notify_get}, /* http_notify.c */
    {"PUT", "/v1/me/notifications", HTTP_USER, http__notify_put},
    {"POST", "/v1/me/notifications/digest", HTTP_USER, http__notify_digest},
    {"GET", "/v1/threads", HTTP_USER, http__threads_list},
    {"POST", "/v1/threads", HTTP_USER, http__threads_start},
    {"GET", "/v1/threads/{id}", HTTP_USER, http__thread_get},
    {"POST", "/v1/threads/{id}/messages", HTTP_USER, http__thread_send},
    {"POST", "/v1/threads/{id}/read", HTTP_USER, http__thread_read},
    {"POST", "/v1/threads/{id}/archive", HTTP_USER, http__thread_archive},
    {"POST", "/v1/threads/{id}/unarchive", HTTP_USER, http__thread_unarchive},
    {"GET", "/v1/threads/{id}/export", HTTP_USER, http__thread_export},
    {"POST", "/v1/messages/{id}/no-response-needed", HTTP_USER, http__message_flag},
    {"POST", "/v1/messages/{id}/approve", HTTP_USER, http__message_approve},
    {"POST", "/v1/messages/{id}/reject", HTTP_USER, http__message_reject},
    {"GET", "/v1/orders", HTTP_USER, http__orders_list},
    {"GET", "/v1/orders/{id}", HTTP_USER, http__order_get},
    {"PUT", "/v1/orders/{id}", HTTP_USER, http__order_put},
    {"GET", "/v1/orders/{id}/actions", HTTP_USER, http__order_actions},
    {"POST", "/v1/orders/{id}/actions/{name}", HTTP_USER, http__order_action_send},
    {"POST", "/v1/orders/{id}/review-request", HTTP_USER, http__order_review_request},
    {"GET", "/v1/orders/{id}/buyer-attributes", HTTP_USER, http__order_buyer_attributes},
    {"POST", "/v1/policy/check", HTTP_USER, http__policy_check},
    {"GET", "/v1/review-queue", HTTP_USER, http__review_queue},
    {"GET", "/v1/sellers", HTTP_USER, http__sellers},
    {"GET", "/v1/sellers/{id}/metrics", HTTP_USER, http__seller_metrics},
    {"GET", "/v1/sellers/{id}/enforcement", HTTP_USER, http__enforcement_get},
    {"POST", "/v1/sellers/{id}/enforcement", HTTP_USER, http__enforcement_set},
    {"GET", "/v1/sellers/{id}/settings", HTTP_USER, http__settings_get}, /* http_notify.c */
    {"PUT", "/v1/sellers/{id}/settings", HTTP_USER, http__settings_put},
    {"POST", "/v1/sellers/{id}/settings/confirm", HTTP_ANYONE, http__settings_confirm},
    {"GET", "/v1/sellers/{id}/claims", HTTP_USER, http__claims_list},
    {"GET", "/v1/legal-holds", HTTP_USER, http__legal_holds_list},
    {"GET", "/v1/threads/{id}/legal-hold", HTTP_USER, http__legal_hold_get},
    {"PUT", "/v1/threads/{id}/legal-hold", HTTP_USER, http__legal_hold_put},
    {"DELETE", "/v1/threads/{id}/legal-hold", HTTP_USER, http__legal_hold_delete},
    {"GET", "/v1/bulk-notices", HTTP_USER, http__bulk_list}, /* http_bulk.c */
    {"POST", "/v1/bulk-notices", HTTP_USER, http__bulk_create},
    {"GET", "/v1/bulk-notices/{id}", HTTP_USER, http__bulk_get},
    {"POST", "/v1/bulk-notices/{id}/cancel", HTTP_USER, http__bulk_cancel},
    {"POST", "/v1/sellers/{id}/claims", HTTP_USER, http__claim_add},
    {"POST", "/v1/admin/policy/reload", HTTP_USER, http__policy_reload},
    {"POST", "/v1/admin/policy/train", HTTP_USER, http__policy_train},
    {"GET", "/v1/admin/policy/models", HTTP_USER, http__policy_models},
    {"GET", "/v1/admin/tokens", HTTP_USER, http__tokens_list},
    {"DELETE", "/v1/admin/tokens/{id}", HTTP_USER, http__token_revoke},
    {"POST", "/v1/admin/agents/{id}/deactivate", HTTP_USER, http__agent_deactivate},
    {"GET", "/v1/events", HTTP_USER, http__events}, /* http_events.c */
    /* webhooks (http_webhook.c, docs/webhooks.md) */
    {"GET", "/v1/webhooks", HTTP_USER, http__webhooks_list},
    {"POST", "/v1/webhooks", HTTP_USER, http__webhook_create},
    {"GET", "/v1/webhooks/{id}", HTTP_USER, http__webhook_get},
    {"PUT", "/v1/webhooks/{id}", HTTP_USER, http__webhook_update},
    {"DELETE", "/v1/webhooks/{id}", HTTP_USER, http__webhook_delete},
    {"GET", "/v1/webhooks/{id}/deliveries", HTTP_USER, http__webhook_deliveries},
    {"POST", "/v1/webhooks/{id}/deliveries/{delivery}/redeliver", HTTP_USER, http__webhook_redeliver},
    {"POST", "/v1/webhooks/{id}/test", HTTP_USER, http__webhook_test},
    /* attachments (http_attach.c): the upload is authenticated as its body arrives too */
    {"POST", "/v1/attachments", HTTP_USER, http__attachment_upload},
    {"GET", "/v1/attachments/{id}", HTTP_USER, http__attachment_download},
    /* the seller's team (http_team.c, docs/team.md) */
    {"GET", "/v1/templates", HTTP_USER, http__templates_list},
    {"POST", "/v1/templates", HTTP_USER, http__template_create},
    {"POST", "/v1/templates/starter", HTTP_USER, http__templates_starter},
    {"GET", "/v1/templates/{id}", HTTP_USER, http__template_get},
    {"PUT", "/v1/templates/{id}", HTTP_USER, http__template_put},
    {"DELETE", "/v1/templates/{id}", HTTP_USER, http__template_delete},
    {"POST", "/v1/templates/{id}/render", HTTP_USER, http__template_render},
    {"POST", "/v1/orders/{id}/template-messages", HTTP_USER, http__template_proactive},
    {"GET", "/v1/agents", HTTP_USER, http__agents_list},
    {"PUT", "/v1/agents/{id}/availability", HTTP_USER, http__agent_availability},
    {"GET", "/v1/agents/{id}/metrics", HTTP_USER, http__agent_metrics},
    {"GET", "/v1/agents/{id}/addresses", HTTP_USER, http__addresses_list},
    {"POST", "/v1/agents/{id}/addresses", HTTP_USER, http__address_add},
    {"DELETE", "/v1/agents/{id}/addresses/{address}", HTTP_USER, http__address_remove},
    {"POST", "/v1/threads/{id}/assign", HTTP_USER, http__thread_assign},
    {"PUT", "/v1/threads/{id}/tags", HTTP_USER, http__thread_tags},
    {"PUT", "/v1/threads/{id}/priority", HTTP_USER, http__thread_priority},
    {"POST", "/v1/threads/{id}/notes", HTTP_USER, http__thread_note},
    {"POST", "/v1/threads/{id}/lock", HTTP_USER, http__thread_lock},
    {"DELETE", "/v1/threads/{id}/lock", HTTP_USER, http__thread_unlock},
    {"GET", "/v1/threads/{id}/suggestions", HTTP_USER, http__thread_suggestions},
    {"GET", "/v1/rules", HTTP_USER, http__rules_list},
    {"POST", "/v1/rules", HTTP_USER, http__rule_create},
    {"PUT", "/v1/rules/{id}", HTTP_USER, http__rule_put},
    {"DELETE", "/v1/rules/{id}", HTTP_USER, http__rule_delete},
    {"GET", "/v1/rule-firings", HTTP_USER, http__rule_firings},
    {"GET", "/v1/proposals", HTTP_USER, http__proposals_list},
    {"POST", "/v1/proposals/{id}/send", HTTP_USER, http__proposal_send},
    {"POST", "/v1/proposals/{id}/discard", HTTP_USER, http__proposal_discard},
    {"GET", "/v1/sellers/{id}/audit-sample", HTTP_USER, http__audit_sample},
    /* SP-API (http_spapi.c, docs/spapi.md) */
    {"POST", "/auth/o2/token", HTTP_LWA_CLIENT, http__lwa_token},
    {"GET", "/messaging/v1/orders/{id}", HTTP_SPAPI_APP, http__sp_messaging_actions},
    {"GET", "/messaging/v1/orders/{id}/attributes", HTTP_SPAPI_APP, http__sp_attributes},
    {"POST", "/messaging/v1/orders/{id}/messages/amazonMotors", HTTP_SPAPI_APP, http__sp_motors},
    {"POST", "/messaging/v1/orders/{id}/messages/{action}", HTTP_SPAPI_APP, http__sp_message_create},
    {"GET", "/messaging/v1/orders/{id}/messages/{action}/schema", HTTP_SPAPI_APP, http__sp_message_schema},
    {"GET", "/solicitations/v1/orders/{id}", HTTP_SPAPI_APP, http__sp_solicitation_actions},
    {"POST", "/solicitations/v1/orders/{id}/solicitations/productReviewAndSellerFeedback", HTTP_SPAPI_APP,
     http__sp_solicitation_create},
    {"GET", "/solicitations/v1/orders/{id}/solicitations/productReviewAndSellerFeedback/schema",
     HTTP_SPAPI_APP, http__sp_solicitation_schema},
    {"POST", "/uploads/2020-11-01/uploadDestinations/{resource...}", HTTP_SPAPI_APP, http__sp_upload_create},
    /* the unguessable destination id is the credential, as a pre-signed S3 URL is */
    {"PUT", "/uploads/2020-11-01/destinations/{id...}", HTTP_SPAPI_ANYONE, http__sp_upload_put},
};

const http_route *http__routes(size_t *n) {
  *n = sizeof routes / sizeof routes[0];
  return routes;
}

/* How many {} segments url has under pattern, their places in at/len; -1 when it does
 * not match. Empty segments do not count: //v1//me/ is /v1/me. */
static int match(const char *pat, const char *url, const char **at, size_t *len) {
  int n = 0;
  for (;;) {
    const char *after = url; /* just past the previous segment */
    while (*pat == '/') pat++;
    while (*url == '/') url++;
    if (!*pat) return *url ? -1 : n;
    size_t pl = strcspn(pat, "/"), ul = strcspn(url, "/");
    bool param = pat[0] == '{';
    if (param && n == MAX_ARGS) return -1;
    if (param && pl > 4 && !strncmp(pat + pl - 4, "...}", 4)) {
      if (*after != '/') return -1;
      at[n] = after + 1, len[n] = strlen(after + 1);
      return n + 1;
    }
    if (!ul || (!param && (pl != ul || strncmp(pat, url, ul)))) return -1;
    if (param && pl == 8 && !strncmp(pat, "{action}", 8)) {
      char name[64];
      if (ul >= sizeof name) return -1;
      memcpy(name, url, ul);
      name[ul] = '\0';
      if (svc_action_find(name) < 0) return -1;
    }
    if (param) at[n] = url, len[n++] = ul;
    pat += pl;
    url += ul;
  }
}

const http_route *http__route_find(pl_arena *a, const char *url, const char *method, const http_route **path,
                                   char **arg) {
  const char *at[MAX_ARGS];
  size_t len[MAX_ARGS], nroutes = sizeof routes / sizeof routes[0];
  int n = -1;
  *path = NULL;
  for (size_t i = 0; i < nroutes && n < 0; i++)
    if ((n = match(routes[i].pattern, url, at, len)) >= 0) *path = &routes[i];
  for (int k = 0; arg && k < MAX_ARGS; k++) arg[k] = k < n ? pl_arena_strndup(a, at[k], len[k]) : NULL;
  for (const http_route *rt = *path; rt && rt < routes + nroutes; rt++)
    if (!strcmp(rt->pattern, (*path)->pattern) && !strcmp(rt->method, method)) return rt;
  return NULL;
}

static bool own_family(http_who who) { return who == HTTP_ANYONE || who == HTTP_USER; }

/* The methods of a path's pattern, for the Allow header of a 405. */
static const char *allowed(pl_arena *a, const http_route *path) {
  const char *out = "";
  for (const http_route *rt = path; rt < routes + sizeof routes / sizeof routes[0]; rt++)
    if (!strcmp(rt->pattern, path->pattern)) out = pl_arena_printf(a, "%s%s%s", out, *out ? ", " : "", rt->method);
  return out;
}

/* Refuses the request in the error format of the path's family: no such path (e =
 * PL_ENOTFOUND), a body too large (PL_ETOOLARGE) or a method the path does not take. */
static void refuse(http_req *r, http_who who, pl_err e, const http_route *path) {
  const char *allow = path ? allowed(r->a, path) : NULL;
  if (e == PL_EMETHOD) http__header(r, "Allow", allow);
  if (!own_family(who)) return http__spapi_refuse(r, who, e, allow);
  if (e == PL_ENOTFOUND) http__error(r, e, "no such path");
  else if (e == PL_EMETHOD) http__error(r, e, "this path does not take that method");
  else http__error(r, e, pl_arena_printf(r->a, "the request body is larger than %zu bytes", r->h->opt.max_body));
}

void http__route(http_server *h, http_req *r) {
  const http_route *path;
  char *arg[MAX_ARGS];
  const http_route *rt = http__route_find(r->a, r->url, r->method, &path, arg);
  http_who who = path ? path->who : http__spapi_path(r->url) ? HTTP_SPAPI_APP : HTTP_ANYONE;
  /* The access log names the pattern, never the path with its ids. */
  r->route = path ? path->pattern : NULL;
  r->row = rt; /* /metrics counts the answer under its row, whatever it is */
  if (r->too_large && who != HTTP_LWA_CLIENT) return refuse(r, who, PL_ETOOLARGE, path);
  if (!path && own_family(who) && http__web(h, r)) {
    r->route = "static";
    r->static_file = true;
    return;
  }
  if (!path) return refuse(r, who, PL_ENOTFOUND, NULL);
  if (!rt) return refuse(r, who, PL_EMETHOD, path);
  bool admitted = who == HTTP_ANYONE ? true : who == HTTP_USER ? http__authenticate(r) : http__spapi_admit(r, who);
  if (admitted) rt->fn(r, arg);
}
