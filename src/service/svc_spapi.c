/* svc_spapi.c - what the SP-API-compatible transport needs beyond the shared operations:
 * application credentials, access tokens and upload destinations (docs/spapi.md). */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "service/svc_int.h"

#define UPLOAD_SECONDS 900 /* an upload destination takes its bytes this long, as S3's URLs */

/* ---- MD5 (RFC 1321), only to check the Content-MD5 that SP-API clients send ---------- */

typedef struct {
  uint32_t h[4];
  uint64_t len;
  unsigned char buf[64];
} md5_ctx;

static uint32_t rol(uint32_t x, int c) { return (x << c) | (x >> (32 - c)); }

static void md5_block(md5_ctx *m, const unsigned char *p) {
  static const uint32_t K[64] = {
      0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
      0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
      0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
      0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
      0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
      0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
      0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
      0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391};
  static const int R[64] = {7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22,
                            5, 9,  14, 20, 5, 9,  14, 20, 5, 9,  14, 20, 5, 9,  14, 20,
                            4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23,
                            6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21};
  uint32_t w[16];
  for (int i = 0; i < 16; i++)
    w[i] = (uint32_t)p[i * 4] | (uint32_t)p[i * 4 + 1] << 8 | (uint32_t)p[i * 4 + 2] << 16 |
           (uint32_t)p[i * 4 + 3] << 24;
  uint32_t a = m->h[0], b = m->h[1], c = m->h[2], d = m->h[3];
  for (int i = 0; i < 64; i++) {
    uint32_t f;
    int g;
    if (i < 16) f = (b & c) | (~b & d), g = i;
    else if (i < 32) f = (d & b) | (~d & c), g = (5 * i + 1) % 16;
    else if (i < 48) f = b ^ c ^ d, g = (3 * i + 5) % 16;
    else f = c ^ (b | ~d), g = (7 * i) % 16;
    uint32_t t = d;
    d = c;
    c = b;
    b = b + rol(a + f + K[i] + w[g], R[i]);
    a = t;
  }
  m->h[0] += a, m->h[1] += b, m->h[2] += c, m->h[3] += d;
}

static void md5(const void *data, size_t n, unsigned char out[16]) {
  md5_ctx m = {.h = {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476}};
  const unsigned char *p = data;
  m.len = (uint64_t)n * 8;
  for (; n >= 64; n -= 64, p += 64) md5_block(&m, p);
  unsigned char tail[128] = {0};
  memcpy(tail, p, n);
  tail[n] = 0x80;
  size_t tl = n + 9 <= 64 ? 64 : 128;
  for (int i = 0; i < 8; i++) tail[tl - 8 + i] = (unsigned char)(m.len >> (8 * i));
  md5_block(&m, tail);
  if (tl == 128) md5_block(&m, tail + 64);
  for (int i = 0; i < 16; i++) out[i] = (unsigned char)(m.h[i / 4] >> (8 * (i % 4)));
}

/* A Content-MD5 as base64 (what S3 and the SP-API documentation ask for) or as hex (what
 * the Uploads model's example shows), normalised to base64; false when it is neither. */
static bool md5_normalise(const char *in, char out[25]) {
  unsigned char bin[16];
  size_t n = 0;
  if (!in) return false;
  size_t len = strlen(in);
  if (len == 32 && !sodium_hex2bin(bin, sizeof bin, in, len, NULL, &n, NULL) && n == 16) {
    sodium_bin2base64(out, 25, bin, 16, sodium_base64_VARIANT_ORIGINAL);
    return true;
  }
  if (len == 24 && !sodium_base642bin(bin, sizeof bin, in, len, NULL, &n, NULL,
                                      sodium_base64_VARIANT_ORIGINAL) && n == 16) {
    sodium_bin2base64(out, 25, bin, 16, sodium_base64_VARIANT_ORIGINAL);
    return true;
  }
  return false;
}

/* ---- credentials -------------------------------------------------------------------- */

pl_err svc_spapi_credentials_issue(svc *s, const char *seller_id, pl_arena *a,
                                   svc_spapi_credentials *out, pl_detail *d) {
  if (!seller_id || !*seller_id) return pl_fail(d, PL_EMISSING, "--seller is required");
  st_seller sl;
  st_spapi_client cl;
  pl_err e = svc__begin(s, false, d);
  if (e) return e;
  e = store_seller_get(s->st, seller_id, NULL, a, &sl);
  if (e == PL_ENOTFOUND) e = pl_fail(d, PL_ENOTFOUND, "no seller %s", seller_id);
  bool exists = false;
  if (!e) {
    pl_err g = store_spapi_client_get(s->st, NULL, seller_id, a, &cl);
    if (!g) exists = true;
    else if (g != PL_ENOTFOUND) e = g;
  }
  e = svc__end(s, e, d);
  if (e) return e;
  if (!exists) {
    /* The application acts as an agent of its own, so that the audit log and the inbox
     * tell its messages from those of people. */
    memset(&cl, 0, sizeof cl);
    if ((e = svc_agent_add(s, seller_id, "SP-API", "agent", &cl.agent_id, d))) return e;
    cl.client_id = svc__random_hex(a, "amzn1.application-oa2-client.", 16);
    cl.seller_id = (char *)seller_id;
    cl.created_at = svc_now(s);
  }
  /* Every issue rotates the secret and the refresh token: only their hashes are kept, so
   * the old ones cannot be shown again. */
  out->client_id = cl.client_id;
  out->client_secret = svc__random_hex(a, "amzn1.oa2-cs.v1.", 32);
  out->refresh_token = svc__random_hex(a, "Atzr|", 48);
  char sh[65], rh[65];
  pl_keyed_hash_hex(&s->keys, out->client_secret, sh);
  pl_keyed_hash_hex(&s->keys, out->refresh_token, rh);
  cl.secret_hash = sh;
  cl.refresh_hash = rh;
  if ((e = svc__begin(s, true, d))) return e;
  e = store_spapi_client_put(s->st, &cl);
  if (!e)
    e = svc__audit(s, seller_id, "admin", exists ? "spapi.credentials_rotated" : "spapi.credentials_created",
                   cl.client_id, json_pack("{s:I}", "agent_id", (json_int_t)cl.agent_id));
  return svc__end(s, e, d);
}

static bool hash_matches(svc *s, const char *given, const char *stored_hex) {
  char h[65];
  pl_keyed_hash_hex(&s->keys, given, h);
  return stored_hex && strlen(stored_hex) == 64 && sodium_memcmp(h, stored_hex, 64) == 0;
}

pl_err svc_spapi_token(svc *s, const svc_spapi_grant *g, pl_arena *a, char **access_token,
                       pl_detail *d) {
  *access_token = NULL;
  if (!g->client_id || !*g->client_id) return pl_fail(d, PL_EMISSING, "client_id is required");
  if (!g->client_secret || !*g->client_secret) return pl_fail(d, PL_EMISSING, "client_secret is required");
  if (g->type == SVC_SPAPI_GRANT_REFRESH && (!g->refresh_token || !*g->refresh_token))
    return pl_fail(d, PL_EMISSING, "refresh_token is required");
  if (g->type == SVC_SPAPI_GRANT_CLIENT && (!g->scope || !*g->scope))
    return pl_fail(d, PL_EMISSING, "scope is required");
  if (strlen(g->client_id) > 200 || strlen(g->client_secret) > 200 ||
      (g->refresh_token && strlen(g->refresh_token) > 1000))
    return pl_fail(d, PL_EUNAUTH, "client authentication failed");
  st_spapi_client cl;
  pl_err e = svc__begin(s, false, d);
  if (e) return e;
  e = store_spapi_client_get(s->st, g->client_id, NULL, a, &cl);
  svc__end(s, PL_OK, NULL);
  if (e == PL_ENOTFOUND || (!e && !hash_matches(s, g->client_secret, cl.secret_hash)))
    return pl_fail(d, PL_EUNAUTH, "client authentication failed");
  if (e) return pl_fail(d, e, "the store is unavailable");
  /* parley has no grantless operations: an access token is granted only for the seller
   * whose refresh token the client presents. */
  if (g->type != SVC_SPAPI_GRANT_REFRESH)
    return pl_fail(d, PL_ESCOPE, "the client_credentials grant is not available: parley has no grantless "
                                 "operations; use grant_type=refresh_token with the seller's refresh token");
  if (!hash_matches(s, g->refresh_token, cl.refresh_hash))
    return pl_fail(d, PL_EFORBIDDEN, "the refresh token is invalid, was rotated, or belongs to another client");
  int64_t ttl = g->ttl > 0 ? g->ttl : SVC_SPAPI_TOKEN_SECONDS;
  e = svc__token_create_spapi(s, cl.agent_id, svc_now(s) + ttl, access_token, d);
  if (e == PL_EDEACTIVATED)
    e = pl_fail(d, PL_EFORBIDDEN, "the application's agent was deactivated: its refresh token grants nothing");
  return e;
}

/* ---- upload destinations -------------------------------------------------------------- */

static const svc_rules upload_rate = {.rate_per_second = SVC_SPAPI_UPLOAD_RATE, .rate_burst = SVC_SPAPI_UPLOAD_BURST};

pl_err svc_spapi_upload_create(svc *s, const svc_caller *c, const char *resource,
                               const char *content_md5, const char *content_type, pl_arena *a,
                               st_spapi_upload *out, pl_detail *d) {
  memset(out, 0, sizeof *out);
  if (c->kind != ST_PRINCIPAL_AGENT) return pl_fail(d, PL_EFORBIDDEN, "uploads are the seller's");
  if (!st_agent_role_writes(c->agent_role))
    return pl_fail(d, PL_EFORBIDDEN, "a read-only agent cannot upload");
  while (resource && *resource == '/') resource++;
  if (!resource || !*resource) return pl_fail(d, PL_EMISSING, "the resource is required");
  if (strlen(resource) > 500) return pl_fail(d, PL_EINVAL, "the resource is longer than 500 characters");
  if (!content_md5 || !*content_md5) return pl_fail(d, PL_EMISSING, "contentMD5 is required");
  char md5b64[25];
  if (!md5_normalise(content_md5, md5b64))
    return pl_fail(d, PL_EINVAL, "contentMD5 must be the MD5 of the content, base64-encoded (24 characters)");
  if (content_type && strlen(content_type) > 200) return pl_fail(d, PL_EINVAL, "contentType is too long");
  unsigned char raw[16];
  randombytes_buf(raw, sizeof raw);
  raw[6] = (unsigned char)((raw[6] & 0x0f) | 0x40); /* a version 4 UUID, as Amazon's ids */
  raw[8] = (unsigned char)((raw[8] & 0x3f) | 0x80);
  char hex[33];
  sodium_bin2hex(hex, sizeof hex, raw, sizeof raw);
  pl_time now = svc_now(s);
  *out = (st_spapi_upload){.id = pl_arena_printf(a, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20),
                           .seller_id = (char *)c->seller_id,
                           .resource = pl_arena_strdup(a, resource),
                           .content_md5 = pl_arena_strdup(a, md5b64),
                           .content_type = content_type && *content_type ? pl_arena_strdup(a, content_type) : NULL,
                           .created_at = now,
                           .expires_at = now + UPLOAD_SECONDS};
  pl_err e = svc__begin(s, true, d);
  if (e) return e;
  e = svc__rate_take(s, c->seller_id, "createUploadDestinationForResource", &upload_rate, d);
  if (!e) e = store_spapi_upload_put(s->st, out);
  return svc__end(s, e, d);
}

/* Where the bytes of an upload go: the attachment store. It is the one place that keeps
 * attachment bytes (content-addressed, checked by type, scanned), so that an upload
 * through SP-API meets the same rules as POST /v1/attachments. */
static pl_err store_attachment(svc *s, const st_spapi_upload *u, const void *data, size_t len,
                               pl_arena *a, char **attachment_id, pl_detail *d) {
  *attachment_id = NULL;
  /* The upload acts for its seller; the file's name comes with the message
   * (attachments[].fileName), so the content alone decides the type here. */
  svc_caller c = {.kind = ST_PRINCIPAL_AGENT, .seller_id = u->seller_id, .agent_role = ST_ROLE_AGENT,
                  .name = pl_arena_printf(a, "spapi-upload:%s", u->id)};
  st_attachment at;
  pl_err e = svc_attachment_create_mem(s, &c, data, len, NULL, a, &at, d);
  if (!e) *attachment_id = at.id;
  return e;
}

pl_err svc_spapi_upload_receive(svc *s, const char *id, const void *data, size_t len,
                                const char *content_md5, pl_arena *a, pl_detail *d) {
  if (!id || !*id || strlen(id) > 64) return pl_fail(d, PL_ENOTFOUND, "no such upload destination");
  st_spapi_upload u;
  pl_err e = svc__begin(s, false, d);
  if (e) return e;
  e = store_spapi_upload_get(s->st, id, a, &u);
  svc__end(s, PL_OK, NULL);
  if (e == PL_ENOTFOUND) return pl_fail(d, PL_ENOTFOUND, "no such upload destination");
  if (e) return pl_fail(d, e, "the store is unavailable");
  if (svc_now(s) > u.expires_at) return pl_fail(d, PL_EFORBIDDEN, "the upload destination has expired; create a new one");
  if (u.attachment_id) return pl_fail(d, PL_ECONFLICT, "the upload destination already received its file");
  char given[25], got[25];
  unsigned char sum[16];
  md5(data, len, sum);
  sodium_bin2base64(got, sizeof got, sum, sizeof sum, sodium_base64_VARIANT_ORIGINAL);
  if (content_md5 && !md5_normalise(content_md5, given))
    return pl_fail(d, PL_EINVAL, "the Content-MD5 header must be the base64 MD5 of the body");
  if (content_md5 && strcmp(given, u.content_md5))
    return pl_fail(d, PL_EINVAL, "the Content-MD5 header (%s) is not the one of the upload destination (%s)", given, u.content_md5);
  if (strcmp(got, u.content_md5))
    return pl_fail(d, PL_EINVAL, "the body's MD5 (%s) does not match the Content-MD5 of the upload destination (%s)", got, u.content_md5);
  char *att;
  if ((e = store_attachment(s, &u, data, len, a, &att, d))) return e;
  u.attachment_id = att;
  if ((e = svc__begin(s, true, d))) return e;
  e = store_spapi_upload_put(s->st, &u);
  return svc__end(s, e, d);
}

pl_err svc_spapi_upload_attachment(svc *s, const svc_caller *c, const char *id, pl_arena *a,
                                   char **attachment_id, pl_detail *d) {
  *attachment_id = NULL;
  st_spapi_upload u;
  if (!id || !*id || strlen(id) > 64) return pl_fail(d, PL_EINVAL, "uploadDestinationId '%s' is not one of this seller's uploads", id ? id : "");
  pl_err e = svc__begin(s, false, d);
  if (e) return e;
  e = store_spapi_upload_get(s->st, id, a, &u);
  svc__end(s, PL_OK, NULL);
  if (e == PL_ENOTFOUND || (!e && (c->kind != ST_PRINCIPAL_AGENT || strcmp(u.seller_id, c->seller_id))))
    return pl_fail(d, PL_EINVAL, "uploadDestinationId '%s' is not one of this seller's uploads", id);
  if (e) return pl_fail(d, e, "the store is unavailable");
  if (!u.attachment_id)
    return pl_fail(d, PL_EINVAL, "nothing was uploaded to uploadDestinationId '%s' yet", id);
  *attachment_id = u.attachment_id;
  return PL_OK;
}

void svc__md5(const void *data, size_t n, unsigned char out[16]) { md5(data, n, out); }
bool svc__md5_normalise(const char *in, char out[25]) { return md5_normalise(in, out); }
