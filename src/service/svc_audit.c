/* svc_audit.c - the audit log's checkpoints and its verification.
 *
 * The log is one hash chain per seller (and one for the platform), so that no append of
 * one tenant waits for another's. What ties the chains together is a checkpoint: every
 * so often the heads of all chains go into a Merkle tree (RFC 6962's shape: leaves and
 * nodes hashed with distinct prefixes, the split at the largest power of two), and its
 * root is signed with an Ed25519 key derived from the key file's identity key, which key
 * rotation keeps. A checkpoint proves that each chain had reached that head by then: a
 * chain rewritten later no longer contains the hash a signed checkpoint names. */
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "service/svc_int.h"

#define BATCH 1000
#define ZEROS "0000000000000000000000000000000000000000000000000000000000000000"

static void signing_keys(const svc *s, unsigned char pk[crypto_sign_PUBLICKEYBYTES],
                         unsigned char sk[crypto_sign_SECRETKEYBYTES]) {
  static const unsigned char ctx[] = "parley audit checkpoint key v1";
  unsigned char seed[crypto_sign_SEEDBYTES];
  crypto_generichash(seed, sizeof seed, ctx, sizeof ctx - 1, s->keys.ident, sizeof s->keys.ident);
  crypto_sign_seed_keypair(pk, sk, seed);
  sodium_memzero(seed, sizeof seed);
}

void svc_audit_public_key(svc *s, char hex[2 * crypto_sign_PUBLICKEYBYTES + 1]) {
  unsigned char pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
  signing_keys(s, pk, sk);
  sodium_memzero(sk, sizeof sk);
  sodium_bin2hex(hex, 2 * crypto_sign_PUBLICKEYBYTES + 1, pk, sizeof pk);
}

static void leaf_hash(const st_audit_head *h, unsigned char out[32]) {
  crypto_generichash_state st;
  unsigned char zero = 0, seq[8];
  uint32_t n = (uint32_t)strlen(h->chain);
  for (int i = 0; i < 8; i++) seq[i] = (unsigned char)((uint64_t)h->seq >> (56 - 8 * i));
  crypto_generichash_init(&st, NULL, 0, 32);
  crypto_generichash_update(&st, &zero, 1);
  crypto_generichash_update(&st, (const unsigned char *)&n, sizeof n);
  crypto_generichash_update(&st, (const unsigned char *)h->chain, n);
  crypto_generichash_update(&st, seq, sizeof seq);
  crypto_generichash_update(&st, (const unsigned char *)h->hash, strlen(h->hash));
  crypto_generichash_final(&st, out, 32);
}

/* The Merkle tree hash of heads[0..n) (RFC 6962 section 2.1, with BLAKE2b). */
static void tree_hash(const st_audit_head *heads, size_t n, unsigned char out[32]) {
  if (n == 0) {
    crypto_generichash(out, 32, NULL, 0, NULL, 0);
    return;
  }
  if (n == 1) {
    leaf_hash(&heads[0], out);
    return;
  }
  size_t k = 1;
  while (k * 2 < n) k *= 2;
  unsigned char buf[65];
  buf[0] = 1;
  tree_hash(heads, k, buf + 1);
  tree_hash(heads + k, n - k, buf + 33);
  crypto_generichash(out, 32, buf, sizeof buf, NULL, 0);
}

/* What a checkpoint's signature covers. */
static char *statement(pl_arena *a, const st_audit_checkpoint *c) {
  return pl_arena_printf(a, "parley audit checkpoint v1\n%lld\n%lld\n%s\n", (long long)c->at,
                         (long long)c->nchains, c->root);
}

static void root_of(const st_audit_head *heads, size_t n, char hex[65]) {
  unsigned char r[32];
  tree_hash(heads, n, r);
  sodium_bin2hex(hex, 65, r, sizeof r);
}

pl_err svc_audit_checkpoint(svc *s, bool force, pl_arena *a, st_audit_checkpoint *out, bool *written,
                            pl_detail *d) {
  *written = false;
  pl_err e = svc__begin(s, true, d);
  if (e) return e;
  st_audit_head *heads = NULL;
  size_t n = 0;
  st_audit_checkpoint *cps = NULL;
  size_t ncp = 0;
  e = store_audit_heads(s->st, a, &heads, &n);
  if (!e) e = store_audit_checkpoint_list(s->st, a, &cps, &ncp);
  if (!e) {
    char root[65];
    root_of(heads, n, root);
    if (!force && ncp && !strcmp(cps[ncp - 1].root, root)) {
      *out = cps[ncp - 1]; /* nothing moved since the last one */
    } else {
      json_t *hj = json_array();
      for (size_t i = 0; i < n; i++)
        json_array_append_new(hj, json_pack("[s,I,s]", heads[i].chain, (json_int_t)heads[i].seq, heads[i].hash));
      char *dump = json_dumps(hj, JSON_COMPACT);
      json_decref(hj);
      st_audit_checkpoint c = {.at = svc_now(s), .nchains = (int64_t)n, .root = pl_arena_strdup(a, root),
                               .heads_json = pl_arena_strdup(a, dump ? dump : "[]")};
      free(dump);
      unsigned char pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES], sig[crypto_sign_BYTES];
      signing_keys(s, pk, sk);
      const char *msg = statement(a, &c);
      crypto_sign_detached(sig, NULL, (const unsigned char *)msg, strlen(msg), sk);
      sodium_memzero(sk, sizeof sk);
      c.public_key = pl_arena_alloc(a, 2 * sizeof pk + 1);
      sodium_bin2hex(c.public_key, 2 * sizeof pk + 1, pk, sizeof pk);
      c.signature = pl_arena_alloc(a, 2 * sizeof sig + 1);
      sodium_bin2hex(c.signature, 2 * sizeof sig + 1, sig, sizeof sig);
      e = store_audit_checkpoint_add(s->st, &c);
      if (!e) {
        *out = c;
        *written = true;
      }
    }
  }
  return svc__end(s, e, d);
}

void svc_audit_tick(svc *s) {
  int64_t every = s->opt.audit_checkpoint_seconds ? s->opt.audit_checkpoint_seconds : 3600;
  if (every < 0) return;
  pl_time now = svc_now(s);
  if (s->audit_checkpointed && now - s->audit_checkpointed < every) return;
  if (!s->audit_checkpointed) {
    s->audit_checkpointed = now; /* the first checkpoint one interval after start */
    return;
  }
  s->audit_checkpointed = now;
  pl_arena *a = pl_arena_new();
  st_audit_checkpoint c;
  bool written;
  pl_detail d = {0};
  if (svc_audit_checkpoint(s, false, a, &c, &written, &d))
    fprintf(stderr, "parley: audit checkpoint failed: %s\n", d.msg[0] ? d.msg : "store error");
  pl_arena_free(a);
}

/* ---- verification ------------------------------------------------------------------- */

static void problem(svc_audit_report *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void problem(svc_audit_report *r, const char *fmt, ...) {
  if (!r->problems++) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->first_problem, sizeof r->first_problem, fmt, ap);
    va_end(ap);
  }
}

/* A chain as messages name it. */
static const char *chain_name(const char *chain) {
  return !chain ? "(legacy)" : *chain ? chain : "(platform)";
}

/* Walks one chain (NULL: the legacy chain) from start, checking every link and hash;
 * returns the last hash and seq in last/last_seq. */
static pl_err walk(svc *s, const char *chain, const char *start, svc_audit_report *r, char last[65],
                   int64_t *last_seq) {
  char prev[65];
  snprintf(prev, sizeof prev, "%s", start);
  int64_t after = 0, seq = 0;
  for (;;) {
    pl_arena *a = pl_arena_new();
    st_audit *es;
    size_t n;
    pl_err e = store_audit_chain(s->st, chain, after, BATCH, a, &es, &n);
    if (e) {
      pl_arena_free(a);
      return e;
    }
    for (size_t i = 0; i < n; i++) {
      const st_audit *x = &es[i];
      char want[65];
      r->entries++;
      if (chain && x->seq != seq + 1)
        problem(r, "chain '%s': entry %lld has place %lld where %lld was due", chain_name(chain), (long long)x->id,
                (long long)x->seq, (long long)(seq + 1));
      if (strcmp(x->prev_hash ? x->prev_hash : "", prev))
        problem(r, "chain '%s': entry %lld does not follow the entry before it", chain_name(chain),
                (long long)x->id);
      store__audit_hash(x, prev, want);
      if (strcmp(x->hash ? x->hash : "", want))
        problem(r, "chain '%s': entry %lld was changed after it was written (its hash does not match)",
                chain_name(chain), (long long)x->id);
      snprintf(prev, sizeof prev, "%s", x->hash ? x->hash : "");
      seq = chain ? x->seq : seq + 1;
      after = chain ? x->seq : x->id;
    }
    pl_arena_free(a);
    if (n < BATCH) break;
  }
  memcpy(last, prev, 65);
  *last_seq = seq;
  return PL_OK;
}

/* The hash a chain had at seq (0: where it began). */
static pl_err hash_at(svc *s, const char *chain, int64_t seq, const char *legacy, pl_arena *a, char **out) {
  if (seq == 0) {
    *out = pl_arena_strdup(a, legacy);
    return PL_OK;
  }
  st_audit *es;
  size_t n;
  pl_err e = store_audit_chain(s->st, chain, seq - 1, 1, a, &es, &n);
  if (e) return e;
  *out = n && es[0].seq == seq ? es[0].hash : NULL;
  return PL_OK;
}

pl_err svc_audit_verify(svc *s, svc_audit_report *r, pl_detail *d) {
  memset(r, 0, sizeof *r);
  svc_audit_public_key(s, r->public_key);
  pl_err e = svc__begin(s, false, d);
  if (e) return e;
  char legacy[65];
  int64_t legacy_n = 0;
  pl_arena *a = pl_arena_new();
  e = walk(s, NULL, ZEROS, r, legacy, &legacy_n);
  st_audit_head *heads = NULL;
  size_t nh = 0;
  if (!e) e = store_audit_heads(s->st, a, &heads, &nh);
  for (size_t i = 0; !e && i < nh; i++) {
    char last[65];
    int64_t last_seq;
    r->chains++;
    e = walk(s, heads[i].chain, legacy, r, last, &last_seq);
    if (!e && (last_seq != heads[i].seq || strcmp(last, heads[i].hash)))
      problem(r, "chain '%s': its head says entry %lld, the chain ends at %lld", chain_name(heads[i].chain),
              (long long)heads[i].seq, (long long)last_seq);
  }
  st_audit_checkpoint *cps = NULL;
  size_t ncp = 0;
  if (!e) e = store_audit_checkpoint_list(s->st, a, &cps, &ncp);
  unsigned char pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
  signing_keys(s, pk, sk);
  sodium_memzero(sk, sizeof sk);
  for (size_t i = 0; !e && i < ncp; i++) {
    const st_audit_checkpoint *c = &cps[i];
    r->checkpoints++;
    unsigned char sig[crypto_sign_BYTES];
    const char *msg = statement(a, c);
    if (strcmp(c->public_key, r->public_key) ||
        sodium_hex2bin(sig, sizeof sig, c->signature, strlen(c->signature), NULL, NULL, NULL) ||
        crypto_sign_verify_detached(sig, (const unsigned char *)msg, strlen(msg), pk)) {
      problem(r, "checkpoint %lld: the signature is not the service's", (long long)c->id);
      continue;
    }
    json_t *hj = json_loads(c->heads_json, 0, NULL);
    size_t n = json_array_size(hj);
    st_audit_head *hs = pl_arena_alloc(a, (n ? n : 1) * sizeof *hs);
    for (size_t k = 0; k < n; k++) {
      json_t *x = json_array_get(hj, k);
      hs[k] = (st_audit_head){.chain = pl_arena_strdup(a, json_string_value(json_array_get(x, 0)) ?: ""),
                              .seq = json_integer_value(json_array_get(x, 1)),
                              .hash = pl_arena_strdup(a, json_string_value(json_array_get(x, 2)) ?: "")};
    }
    json_decref(hj);
    char root[65];
    root_of(hs, n, root);
    if ((int64_t)n != c->nchains || strcmp(root, c->root)) {
      problem(r, "checkpoint %lld: its heads do not give its signed root", (long long)c->id);
      continue;
    }
    for (size_t k = 0; !e && k < n; k++) {
      char *have = NULL;
      e = hash_at(s, hs[k].chain, hs[k].seq, legacy, a, &have);
      if (!e && (!have || strcmp(have, hs[k].hash)))
        problem(r, "checkpoint %lld: chain '%s' no longer holds the entry %lld it signed", (long long)c->id,
                chain_name(hs[k].chain), (long long)hs[k].seq);
    }
  }
  pl_arena_free(a);
  return svc__end(s, e, d);
}
