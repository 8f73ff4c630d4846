/* http_idem.c - Idempotency-Key on POST (docs/api.md): a retry of a creating request
 * gets the first answer again, and nothing is created twice.
 *
 * Before the request runs, the key's row is looked up: a retry gets the recorded answer,
 * another request under the same key 422, a request still running 409. A new key is armed
 * (svc_idem_arm): the first write transaction the operation commits inserts the key's row
 * in that same transaction, so that the operation and its key are stored together or not
 * at all, and of two concurrent requests with one key exactly one commits (the other is
 * rolled back, 409). After the answer is built it is written to the row. A node that
 * dies between the operation's commit and that write leaves the key "in use" until it
 * expires: a retry is refused, never run twice. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/http_int.h"

#define MAX_KEY 255

static const char *header(http_req *r, const char *name) {
  return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

static bool valid_key(const char *k) {
  size_t n = strlen(k);
  if (n < 1 || n > MAX_KEY) return false;
  for (size_t i = 0; i < n; i++)
    if (k[i] < 0x21 || k[i] > 0x7e) return false;
  return true;
}

/* Who the request speaks for: the same credentials its route takes (the SP-API token on
 * the SP-API operations only, so that a key is never kept under a caller that did not run
 * the request). false with the error response set. */
static bool principal_of(http_req *r, const char **out) {
  const char *amz = http__spapi_path(r->url) ? header(r, "x-amz-access-token") : NULL;
  if (http__spapi_path(r->url) && !amz) {
    http__error(r, PL_EUNAUTH, "the SP-API operations take an x-amz-access-token");
    return false;
  }
  if (amz) {
    pl_detail d = {0};
    pl_err e = svc_authenticate_as(r->s, amz, SVC_SURFACE_SPAPI, r->a, &r->caller, &d);
    if (e) {
      http__fail(r, e, &d);
      return false;
    }
  } else if (!http__authenticate(r)) {
    return false;
  }
  *out = r->caller.name ? r->caller.name : "unknown";
  return true;
}

/* The recorded answer, again. */
static void replay(http_req *r, const svc_idem_answer *row) {
  r->status = (unsigned)row->status;
  free(r->resp);
  r->resp = strdup(row->body);
  if (!r->resp) r->oom = true;
  r->resp_len = r->resp ? strlen(r->resp) : 0;
  r->content_type = "application/json";
  http__header(r, "Idempotent-Replayed", "true");
}

static void busy(http_req *r) {
  http__fail(r, PL_EIDEMBUSY, &(pl_detail){.msg = "the first request with this Idempotency-Key is still being processed; retry in 1 s", .retry_after = 1});
}

bool http__idem_begin(http_server *h, http_req *r) {
  (void)h;
  const char *key = header(r, "Idempotency-Key");
  /* Signing in and the SP-API token grant have no principal yet, and create nothing a
   * retry could duplicate. */
  if (!key || strcmp(r->method, "POST") || !strcmp(r->url, "/v1/session") || !strcmp(r->url, "/auth/o2/token"))
    return false;
  if (!valid_key(key)) {
    http__error(r, PL_EIDEMKEY, "Idempotency-Key is 1 to 255 visible ASCII characters (a UUID, say)");
    return true;
  }
  const char *principal;
  if (!principal_of(r, &principal)) return true;
  /* The request's fingerprint: method, path and body (an upload's bytes included). */
  unsigned char sum[crypto_hash_sha256_BYTES];
  crypto_hash_sha256_state st = r->body_sha;
  crypto_hash_sha256_final(&st, sum);
  crypto_hash_sha256_state f;
  crypto_hash_sha256_init(&f);
  crypto_hash_sha256_update(&f, (const unsigned char *)r->method, strlen(r->method) + 1);
  crypto_hash_sha256_update(&f, (const unsigned char *)r->url, strlen(r->url) + 1);
  crypto_hash_sha256_update(&f, sum, sizeof sum);
  crypto_hash_sha256_final(&f, sum);
  char fp[crypto_hash_sha256_BYTES * 2 + 1];
  sodium_bin2hex(fp, sizeof fp, sum, sizeof sum);

  svc_idem_answer row;
  switch (svc_idem_lookup(r->s, principal, key, fp, true, r->a, &row)) {
  case SVC_IDEM_NEW: /* the operation's own transaction claims it (svc_idem_arm) */
    svc_idem_arm(principal, key, fp);
    r->idem_principal = pl_arena_strdup(r->a, principal);
    r->idem_key = pl_arena_strdup(r->a, key);
    r->idem_fp = pl_arena_strdup(r->a, fp);
    return false;
  case SVC_IDEM_UNAVAILABLE:
    http__error(r, PL_ESTORE, "the store is unavailable; nothing was changed");
    return true;
  case SVC_IDEM_REUSED:
    http__error(r, PL_EIDEMREUSED,
                "this Idempotency-Key was already used for another request (method, path or body differ); use a new key for a new request");
    return true;
  case SVC_IDEM_BUSY:
    busy(r);
    return true;
  case SVC_IDEM_REPLAY:
    replay(r, &row);
    return true;
  }
  return true;
}

void http__idem_end(http_req *r) {
  if (!r->idem_key) return;
  const char *key = r->idem_key;
  r->idem_key = NULL;
  if (!svc_idem_disarm()) {
    /* Nothing was written under the key (a refusal, a failed validation, a limit): a
     * retry runs again. Unless a concurrent request with the same key committed while
     * this one ran (this one then failed, "already exists" say): it gets that answer. */
    svc_idem_answer row;
    svc_idem_state st = svc_idem_lookup(r->s, r->idem_principal, key, r->idem_fp, false, r->a, &row);
    if (st != SVC_IDEM_BUSY && st != SVC_IDEM_REPLAY) return;
    r->nheaders = 0;
    if (st == SVC_IDEM_BUSY) busy(r);
    else replay(r, &row);
    return;
  }
  /* The operation committed with its key: its answer is what a retry gets. */
  const char *body = r->resp && !r->oom ? r->resp
                     : "{\"error\":{\"code\":\"out_of_memory\",\"message\":\"the server is short of memory; retry later\"}}";
  int status = r->resp && !r->oom ? (int)r->status : 503;
  pl_err e = svc_idem_finish(r->s, r->idem_principal, key, status, body);
  if (e)
    fprintf(stderr, "parley: the answer of Idempotency-Key request %s could not be recorded; retries get 409\n",
            r->request_id);
}
