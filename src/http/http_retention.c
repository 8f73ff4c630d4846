/* http_retention.c - handlers of the legal holds' routes (docs/rules.md "Retention", rows
 * of http_route.c): parse, call one service operation, render. */
#include "http/http_int.h"

/* GET /v1/legal-holds?limit&after */
void http__legal_holds_list(http_req *r, char **arg) {
  (void)arg;
  long limit = 0;
  if (!http__query_count(r, "limit", PL_EPAGE, &limit)) return;
  json_t *out = NULL;
  pl_detail d = {0};
  pl_err e = svc_legal_hold_list(r->s, &r->caller, http__query(r, "after"), (int)limit, r->a, &out, &d);
  http__answer(r, e, &d, 200, out);
}

/* GET /v1/threads/{id}/legal-hold */
void http__legal_hold_get(http_req *r, char **arg) {
  json_t *out = NULL;
  pl_detail d = {0};
  pl_err e = svc_legal_hold_get(r->s, &r->caller, arg[0], r->a, &out, &d);
  http__answer(r, e, &d, 200, out);
}

/* PUT /v1/threads/{id}/legal-hold {"reason"} */
void http__legal_hold_put(http_req *r, char **arg) {
  json_t *b = http__body_object(r), *out = NULL;
  if (!b) return;
  pl_detail d = {0};
  pl_err e = svc_legal_hold_set(r->s, &r->caller, arg[0], b, r->a, &out, &d);
  http__answer(r, e, &d, 200, out);
}

/* DELETE /v1/threads/{id}/legal-hold */
void http__legal_hold_delete(http_req *r, char **arg) {
  json_t *out = NULL;
  pl_detail d = {0};
  pl_err e = svc_legal_hold_release(r->s, &r->caller, arg[0], r->a, &out, &d);
  http__answer(r, e, &d, 200, out);
}
