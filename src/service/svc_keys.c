/* svc_keys.c - the service's key generations: sealing and look-up hashes under the current
 * one, noticing a rotated key file, and the walk that re-seals stored rows
 * (docs/operations.md, "Key rotation"). */
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "service/svc_int.h"

/* Whether the key file changed since it was read (or last looked at); records what it saw. */
static bool key_file_changed(svc *s) {
  struct stat st;
  if (!s->key_path || stat(s->key_path, &st) != 0) return false;
  bool changed = st.st_ino != s->key_seen.ino || st.st_dev != s->key_seen.dev ||
                 st.st_size != s->key_seen.size || st.st_mtim.tv_sec != s->key_seen.mtime.tv_sec ||
                 st.st_mtim.tv_nsec != s->key_seen.mtime.tv_nsec;
  s->key_seen.ino = st.st_ino;
  s->key_seen.dev = st.st_dev;
  s->key_seen.size = st.st_size;
  s->key_seen.mtime = st.st_mtim;
  return changed;
}

/* Re-reads the key file when it changed (under keys_mu). A file that does not load, or
 * whose identity key differs, leaves the keys as they were: a server does not lose its
 * keys to a half-edited file. */
static void refresh_locked(svc *s) {
  if (!key_file_changed(s)) return;
  pl_keys k;
  pl_detail d = {0};
  if (pl_keys_load(s->key_path, &k, &d) == PL_OK && !sodium_memcmp(k.ident, s->keys.ident, sizeof k.ident)) {
    s->keys.ngens = k.ngens;
    memcpy(s->keys.gens, k.gens, sizeof k.gens);
  } else if (!d.msg[0]) {
    fprintf(stderr, "parley: key file %s holds another identity key; kept the keys read before\n", s->key_path);
  } else {
    fprintf(stderr, "parley: %s; kept the keys read before\n", d.msg);
  }
  sodium_memzero(&k, sizeof k);
}

void svc__keys_init(svc *s, const pl_keys *keys, const char *key_path) {
  s->keys = *keys;
  pthread_mutex_init(&s->keys_mu, NULL);
  if (key_path) {
    s->key_path = pl_xstrdup(key_path);
    key_file_changed(s); /* what was read is what is there now */
  }
}

void svc__keys_free(svc *s) {
  pthread_mutex_destroy(&s->keys_mu);
  sodium_memzero(&s->keys, sizeof s->keys);
  free(s->key_path);
}

char *svc__seal(svc *s, const char *plain, const char *hashed, char hash[65]) {
  pthread_mutex_lock(&s->keys_mu);
  refresh_locked(s);
  char *out = pl_seal(&s->keys, plain);
  if (hashed) pl_lookup_hash_hex(pl_keys_current(&s->keys), hashed, hash);
  pthread_mutex_unlock(&s->keys_mu);
  return out;
}

char *svc__open(svc *s, const char *sealed) {
  if (!sealed) return NULL;
  pthread_mutex_lock(&s->keys_mu);
  if (!pl_keys_find(&s->keys, pl_sealed_gen(sealed))) refresh_locked(s);
  char *out = pl_open(&s->keys, sealed);
  pthread_mutex_unlock(&s->keys_mu);
  return out;
}

size_t svc__lookup_hashes(svc *s, const char *str, char hex[PL_KEY_GENS][65]) {
  pthread_mutex_lock(&s->keys_mu);
  refresh_locked(s);
  size_t n = s->keys.ngens;
  for (size_t i = 0; i < n; i++) pl_lookup_hash_hex(&s->keys.gens[n - 1 - i], str, hex[i]);
  pthread_mutex_unlock(&s->keys_mu);
  return n;
}

/* ---- rotation: counting and the walk ------------------------------------------------ */

static const st_sealed_kind kinds[] = {ST_SEALED_SELLER,         ST_SEALED_BUYER,   ST_SEALED_AGENT_ADDRESS,
                                       ST_SEALED_WEBHOOK,        ST_SEALED_SELLER_PENDING, ST_SEALED_ACCOUNT,
                                       ST_SEALED_TOTP,           ST_SEALED_INVITATION};
#define NKINDS (sizeof kinds / sizeof kinds[0])

static void keys_copy(svc *s, pl_keys *out) {
  pthread_mutex_lock(&s->keys_mu);
  refresh_locked(s);
  *out = s->keys;
  pthread_mutex_unlock(&s->keys_mu);
}

/* The text a row's look-up hash is of: buyers are found by their address in lower case,
 * agents' addresses are stored in lower case already. */
static void hashed_text(const char *plain, char *out, size_t cap) {
  size_t i = 0;
  for (; plain[i] && i + 1 < cap; i++) out[i] = (char)(plain[i] >= 'A' && plain[i] <= 'Z' ? plain[i] + 32 : plain[i]);
  out[i] = '\0';
}

pl_err svc_key_status(svc *s, bool check, svc_key_report *r, pl_detail *d) {
  memset(r, 0, sizeof *r);
  pl_keys k;
  keys_copy(s, &k);
  r->ngens = k.ngens;
  for (size_t i = 0; i < k.ngens; i++) r->gens[i].id = k.gens[i].id;
  r->current = pl_keys_current(&k)->id;
  pl_err e = svc__begin(s, false, d);
  if (e) goto out;
  for (size_t j = 0; j < NKINDS && !e; j++) {
    int64_t total = 0, n;
    e = store_sealed_count(s->st, kinds[j], "", &total);
    for (size_t i = 0; i < k.ngens && !e; i++) {
      char prefix[24];
      pl_sealed_prefix(k.gens[i].id, prefix);
      if (!(e = store_sealed_count(s->st, kinds[j], prefix, &n))) {
        r->gens[i].rows += n;
        total -= n;
      }
    }
    r->unknown += total; /* sealed by a generation the key file does not hold */
  }
  /* --check: every stored value is opened (an address that no key opens is lost). */
  for (size_t j = 0; check && j < NKINDS && !e; j++) {
    char after[32] = "";
    for (;;) {
      pl_arena *a = pl_arena_new();
      st_sealed_row *rows;
      size_t n = 0;
      e = store_sealed_page(s->st, kinds[j], NULL, after[0] ? after : NULL, 500, a, &rows, &n);
      for (size_t i = 0; !e && i < n; i++) {
        char *p = pl_open(&k, rows[i].sealed);
        if (p) {
          r->opened++;
          sodium_memzero(p, strlen(p));
          free(p);
        } else {
          r->unreadable++;
        }
      }
      if (!e && n) snprintf(after, sizeof after, "%s", rows[n - 1].key);
      pl_arena_free(a);
      if (e || n < 500) break;
    }
  }
  svc__end(s, PL_OK, NULL);
  if (e) e = pl_fail(d, PL_ESTORE, "the store is unavailable; try again later");
out:
  sodium_memzero(&k, sizeof k);
  return e;
}

/* Re-seals one batch of kind after *after (NULL: from the start): rows not sealed by the
 * current generation, in one transaction. *n the rows read (0: the kind is done). */
static pl_err walk_batch(svc *s, const pl_keys *k, st_sealed_kind kind, char after[32], int batch,
                         svc_key_walked *w, size_t *n, pl_detail *d) {
  const pl_key_gen *cur = pl_keys_current(k);
  char prefix[24];
  pl_sealed_prefix(cur->id, prefix);
  pl_arena *a = pl_arena_new();
  st_sealed_row *rows;
  *n = 0;
  pl_err e = svc__begin(s, true, d);
  if (e) goto out;
  e = store_sealed_page(s->st, kind, prefix, after[0] ? after : NULL, batch, a, &rows, n);
  for (size_t i = 0; !e && i < *n; i++) {
    char *plain = pl_open(k, rows[i].sealed);
    if (!plain) {
      w->unreadable++;
      continue;
    }
    char *sealed = pl_seal(k, plain);
    char norm[512], hash[65];
    hashed_text(plain, norm, sizeof norm);
    pl_lookup_hash_hex(cur, norm, hash);
    sodium_memzero(plain, strlen(plain));
    sodium_memzero(norm, sizeof norm);
    free(plain);
    bool changed = false;
    /* In a savepoint: a refused row must not end the batch's transaction (PostgreSQL). */
    e = s->st->ops->savepoint(s->st, ST_SP_BEGIN);
    if (!e) e = store_sealed_reseal(s->st, kind, rows[i].key, rows[i].sealed, sealed,
                                          kind == ST_SEALED_SELLER || kind == ST_SEALED_WEBHOOK || kind == ST_SEALED_SELLER_PENDING ||
                                                  kind == ST_SEALED_TOTP
                                              ? NULL
                                              : hash,
                                          &changed);
    free(sealed);
    if (e == PL_EEXIST) { /* the same address registered twice during the rotation */
      e = s->st->ops->savepoint(s->st, ST_SP_ROLLBACK);
      w->conflicts++;
    } else if (!e) {
      e = s->st->ops->savepoint(s->st, ST_SP_RELEASE);
      if (!e) changed ? w->resealed++ : w->raced++;
    }
  }
  if (!e && *n) snprintf(after, 32, "%s", rows[*n - 1].key);
  e = svc__end(s, e, d);
out:
  pl_arena_free(a);
  return e;
}

pl_err svc_key_walk(svc *s, int batch, int64_t stop_after, svc_key_walked *w, pl_detail *d) {
  if (batch < 1 || batch > SVC_KEY_BATCH_MAX)
    return pl_fail(d, PL_EINVAL, "--batch must be 1 to %d rows", SVC_KEY_BATCH_MAX);
  memset(w, 0, sizeof *w);
  pl_keys k;
  keys_copy(s, &k);
  pl_err e = PL_OK;
  int64_t batches = 0;
  for (size_t j = 0; j < NKINDS && !e; j++) {
    char after[32] = "";
    for (;;) {
      if (stop_after > 0 && batches == stop_after) {
        e = pl_fail(d, PL_EINTERNAL, "stopped after %" PRId64 " batches, as asked", batches);
        break;
      }
      size_t n;
      e = walk_batch(s, &k, kinds[j], after, batch, w, &n, d);
      if (e || n == 0) break;
      batches++;
      w->batches++;
    }
  }
  sodium_memzero(&k, sizeof k);
  return e;
}
