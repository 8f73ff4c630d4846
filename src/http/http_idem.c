/* http_idem.c - Idempotency-Key on POST (docs/api.md): a retry of a creating request
 * gets the first answer again, and nothing is created twice.
 *
 * The key is claimed in the store before the request runs (one row per principal and
 * key, inserted under its primary key, so that of two concurrent requests with one key
 * exactly one runs; the other is told 409 idempotency_key_in_use), and the answer is
 * written to the row after the request's own transaction committed. A node that dies
 * between the two leaves the key "in use" until it expires: a retry is then refused,
 * never run twice. */
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

/* Who the request speaks for: the same credentials the routes take. false with the
 * error response set. */
static bool principal_of(http_req *r, const char **out) {
  const char *amz = header(r, "x-amz-access-token");
  if (amz) {
    pl_detail d = {{0}};
    pl_err e = svc_authenticate(r->s, amz, r->a, &r->caller, &d);
    if (e) {
      http__error(r, e, d.msg);
      return false;
    }
  } else if (!http__authenticate(r)) {
    return false;
  }
  *out = r->caller.name ? r->caller.name : "unknown";
  return true;
}

bool http__idem_begin(http_server *h, http_req *r) {
  (void)h;
  const char *key = header(r, "Idempotency-Key");
  if (!key || strcmp(r->method, "POST") || !strcmp(r->url, "/v1/session")) return false;
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

  store *s = svc_store(r->s);
  pl_time now = svc_now(r->s);
  bool claimed = false;
  st_idem row;
  pl_err e = store_begin(s, true);
  if (!e) {
    e = s->ops->idem_claim(s, principal, key, fp, now, r->a, &claimed, &row);
    /* A key past its day is forgotten, as if the clean-up had come by. */
    if (!e && !claimed && row.created_at < now - SVC_IDEMPOTENCY_SECONDS) {
      e = s->ops->idem_release(s, principal, key);
      if (!e) e = s->ops->idem_claim(s, principal, key, fp, now, r->a, &claimed, &row);
    }
    if (e) store_rollback(s);
    else e = store_commit(s);
  }
  if (e) {
    http__error(r, PL_ESTORE, "the store is unavailable; nothing was changed");
    return true;
  }
  if (claimed) {
    r->idem_principal = pl_arena_strdup(r->a, principal);
    r->idem_key = pl_arena_strdup(r->a, key);
    return false;
  }
  if (strcmp(row.fingerprint, fp)) {
    http__error(r, PL_EIDEMREUSED,
                "this Idempotency-Key was already used for another request (method, path or body differ); use a new key for a new request");
    return true;
  }
  if (row.status == 0 || !row.body) {
    http__error(r, PL_EIDEMBUSY, "the first request with this Idempotency-Key is still being processed; retry in 1 s");
    return true;
  }
  r->status = (unsigned)row.status;
  free(r->resp);
  r->resp = strdup(row.body);
  if (!r->resp) r->oom = true;
  r->resp_len = r->resp ? strlen(r->resp) : 0;
  r->content_type = "application/json";
  http__header(r, "Idempotent-Replayed", "true");
  return true;
}

void http__idem_end(http_req *r) {
  if (!r->idem_key) return;
  store *s = svc_store(r->s);
  /* What a retry may redo (a limit, an unavailable store, no memory) is not kept. */
  bool keep = r->status >= 200 && r->status < 500 && r->status != 429 && r->resp && !r->oom;
  pl_err e = store_begin(s, true);
  if (!e) {
    e = keep ? s->ops->idem_finish(s, r->idem_principal, r->idem_key, (int)r->status, r->resp)
             : s->ops->idem_release(s, r->idem_principal, r->idem_key);
    if (e) store_rollback(s);
    else e = store_commit(s);
  }
  if (e) fprintf(stderr, "parley: the answer of Idempotency-Key request %s could not be recorded\n", r->request_id);
  r->idem_key = NULL;
}
