/* http_webhook.c - handlers of the webhook routes (docs/webhooks.md, rows of
 * http_route.c): parse, call one service operation, render. */
#include <string.h>

#include "http/http_int.h"
#include "service/svc_team.h"
#include "service/svc_webhook.h"

static void reply(http_req *r, pl_err e, const pl_detail *d, unsigned status, const char *key, json_t *v) {
  if (e) {
    json_decref(v);
    http__fail(r, e, d);
  } else {
    http__json(r, status, json_pack("{s:o}", key, v ? v : json_null()));
  }
}

static bool ref_id(http_req *r, const char *ref, const char *prefix, const char *what, int64_t *id) {
  if (svc_team_parse_ref(ref, prefix, id)) return true;
  pl_detail d = {0};
  pl_fail(&d, PL_ENOTFOUND, "no such %s", what);
  http__fail(r, PL_ENOTFOUND, &d);
  return false;
}

/* POST /v1/webhooks {"url","events"} */
void http__webhook_create(http_req *r, char **arg) {
  (void)arg;
  json_t *b = http__body_object(r), *out = NULL;
  if (!b) return;
  pl_detail d = {0};
  pl_err e = svc_webhook_create(r->s, &r->caller, b, r->a, &out, &d);
  reply(r, e, &d, 201, "webhook", out);
}

void http__webhooks_list(http_req *r, char **arg) {
  (void)arg;
  json_t *out = NULL;
  pl_detail d = {0};
  pl_err e = svc_webhook_list(r->s, &r->caller, r->a, &out, &d);
  reply(r, e, &d, 200, "webhooks", out);
}

void http__webhook_get(http_req *r, char **arg) {
  int64_t id;
  json_t *out = NULL;
  pl_detail d = {0};
  if (ref_id(r, arg[0], "WH", "webhook", &id))
    {
      pl_err e = svc_webhook_get(r->s, &r->caller, id, r->a, &out, &d);
      reply(r, e, &d, 200, "webhook", out);
    }
}

/* PUT /v1/webhooks/{id} {"url"?,"events"?,"active"?,"rotate_secret"?} */
void http__webhook_update(http_req *r, char **arg) {
  int64_t id;
  if (!ref_id(r, arg[0], "WH", "webhook", &id)) return;
  json_t *b = http__body_object(r), *out = NULL;
  if (!b) return;
  pl_detail d = {0};
  pl_err e = svc_webhook_update(r->s, &r->caller, id, b, r->a, &out, &d);
  reply(r, e, &d, 200, "webhook", out);
}

void http__webhook_delete(http_req *r, char **arg) {
  int64_t id;
  if (!ref_id(r, arg[0], "WH", "webhook", &id)) return;
  pl_detail d = {0};
  pl_err e = svc_webhook_delete(r->s, &r->caller, id, &d);
  if (e) http__fail(r, e, &d);
  else http__json(r, 200, json_pack("{s:s,s:b}", "id", arg[0], "deleted", 1));
}

/* GET /v1/webhooks/{id}/deliveries?limit=&before= */
void http__webhook_deliveries(http_req *r, char **arg) {
  int64_t id, before = 0;
  long limit = 50;
  if (!ref_id(r, arg[0], "WH", "webhook", &id) || !http__query_count(r, "limit", PL_EPAGE, &limit)) return;
  const char *b = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "before");
  if (b && !ref_id(r, b, "WD", "delivery", &before)) return;
  json_t *out = NULL;
  pl_detail d = {0};
  pl_err e = svc_webhook_deliveries(r->s, &r->caller, id, before, (int)(limit > 1000 ? 1000 : limit), r->a, &out, &d);
  if (e) http__fail(r, e, &d);
  else http__json(r, 200, out);
}

/* POST /v1/webhooks/{id}/deliveries/{delivery}/redeliver */
void http__webhook_redeliver(http_req *r, char **arg) {
  int64_t id, delivery;
  if (!ref_id(r, arg[0], "WH", "webhook", &id) || !ref_id(r, arg[1], "WD", "delivery", &delivery)) return;
  json_t *out = NULL;
  pl_detail d = {0};
  pl_err e = svc_webhook_redeliver(r->s, &r->caller, id, delivery, r->a, &out, &d);
  reply(r, e, &d, 202, "delivery", out);
}

/* POST /v1/webhooks/{id}/test */
void http__webhook_test(http_req *r, char **arg) {
  int64_t id;
  json_t *out = NULL;
  pl_detail d = {0};
  if (ref_id(r, arg[0], "WH", "webhook", &id))
    {
      pl_err e = svc_webhook_test(r->s, &r->caller, id, r->a, &out, &d);
      reply(r, e, &d, 202, "delivery", out);
    }
}
