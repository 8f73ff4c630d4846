/* http_notify.c - handlers of the seller's messaging settings, the agents' notification
 * routes (docs/notifications.md) and the operator's claims (docs/metrics.md), rows of
 * http_route.c: parse, call one service operation, render. */
#include <string.h>

#include "http/http_int.h"


/* GET /v1/sellers/{id}/settings */
void http__settings_get(http_req *r, char **arg) {
  json_t *out = NULL;
  pl_detail d = {0};
  pl_err e = svc_seller_settings(r->s, &r->caller, arg[0], r->a, &out, &d);
  http__answer(r, e, &d, 200, out);
}

/* PUT /v1/sellers/{id}/settings {"customer_service_email"?, "marketplace_fulfilled_messaging"?,
 * "notice_language"?} */
void http__settings_put(http_req *r, char **arg) {
  json_t *b = http__body_object(r), *out = NULL;
  if (!b) return;
  pl_detail d = {0};
  pl_err e = svc_seller_settings_set(r->s, &r->caller, arg[0], b, r->a, &out, &d);
  http__answer(r, e, &d, 200, out);
}

/* POST /v1/sellers/{id}/settings/confirm {"token"}: whoever holds the mailed link. */
void http__settings_confirm(http_req *r, char **arg) {
  json_t *b = http__body_object(r), *out = NULL;
  if (!b) return;
  pl_detail d = {0};
  pl_err e = svc_seller_address_confirm(r->s, arg[0], json_string_value(json_object_get(b, "token")), r->a, &out, &d);
  http__answer(r, e, &d, 200, out);
}

/* GET /v1/me/notifications */
void http__notify_get(http_req *r, char **arg) {
  (void)arg;
  json_t *out = NULL;
  pl_detail d = {0};
  pl_err e = svc_notify_get(r->s, &r->caller, r->a, &out, &d);
  http__answer(r, e, &d, 200, out);
}

/* PUT /v1/me/notifications {"mode"?, "scope"?, "email"?, "browser"?} */
void http__notify_put(http_req *r, char **arg) {
  (void)arg;
  json_t *b = http__body_object(r), *out = NULL;
  if (!b) return;
  pl_detail d = {0};
  pl_err e = svc_notify_set(r->s, &r->caller, b, r->a, &out, &d);
  http__answer(r, e, &d, 200, out);
}

/* POST /v1/me/notifications/digest */
void http__notify_digest(http_req *r, char **arg) {
  (void)arg;
  json_t *out = NULL;
  pl_detail d = {0};
  pl_err e = svc_notify_digest_now(r->s, &r->caller, r->a, &out, &d);
  http__answer(r, e, &d, 202, out);
}

/* GET /v1/sellers/{id}/claims */
void http__claims_list(http_req *r, char **arg) {
  json_t *out = NULL;
  pl_detail d = {0};
  pl_err e = svc_claims_list(r->s, &r->caller, arg[0], r->a, &out, &d);
  http__answer(r, e, &d, 200, out);
}

/* POST /v1/sellers/{id}/claims {"order_id","kind","at"?} */
void http__claim_add(http_req *r, char **arg) {
  json_t *b = http__body_object(r), *out = NULL;
  if (!b) return;
  pl_detail d = {0};
  pl_err e = svc_claim_add(r->s, &r->caller, arg[0], b, r->a, &out, &d);
  http__answer(r, e, &d, 201, out);
}
