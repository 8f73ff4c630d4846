/* http_bulk.c - handlers of the bulk notices' routes (docs/rules.md "Bulk notices", rows of
 * http_route.c): parse, call one service operation, render. */
#include "http/http_int.h"


/* POST /v1/bulk-notices {"order_ids" | "asin", "action", "text", "attachments"?} */
void http__bulk_create(http_req *r, char **arg) {
  (void)arg;
  json_t *b = http__body_object(r), *out = NULL;
  if (!b) return;
  pl_detail d = {0};
  pl_err e = svc_bulk_create(r->s, &r->caller, b, r->a, &out, &d);
  if (e == PL_EPOLICY && out) /* as a refused message: what the policy found */
    http__json(r, 422, json_pack("{s:{s:s,s:s,s:o}}", "error", "code", pl_errname(e), "message", d.msg, "findings", out));
  else
    http__answer(r, e, &d, 202, out);
}

/* GET /v1/bulk-notices?limit&before */
void http__bulk_list(http_req *r, char **arg) {
  (void)arg;
  long limit = 0;
  if (!http__query_count(r, "limit", PL_EPAGE, &limit)) return;
  json_t *out = NULL;
  pl_detail d = {0};
  pl_err e = svc_bulk_list(r->s, &r->caller, http__query(r, "before"), (int)limit, r->a, &out, &d);
  http__answer(r, e, &d, 200, out);
}

void http__bulk_get(http_req *r, char **arg) {
  json_t *out = NULL;
  pl_detail d = {0};
  pl_err e = svc_bulk_get(r->s, &r->caller, arg[0], r->a, &out, &d);
  http__answer(r, e, &d, 200, out);
}

/* POST /v1/bulk-notices/{id}/cancel */
void http__bulk_cancel(http_req *r, char **arg) {
  json_t *out = NULL;
  pl_detail d = {0};
  pl_err e = svc_bulk_cancel(r->s, &r->caller, arg[0], r->a, &out, &d);
  http__answer(r, e, &d, 200, out);
}
