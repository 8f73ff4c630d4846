/* pl_ref.c - public ids: a keyed 60-bit Feistel permutation of row ids, written in base32. */
#include "util/pl_ref.h"

#include <sodium.h>
#include <string.h>

#define HALF_BITS 30
#define HALF_MASK ((UINT64_C(1) << HALF_BITS) - 1)
#define ROUNDS 4
#define CHARS 12 /* 12 x 5 bits = 60 bits */

/* Crockford's base32 alphabet, lower case: no i, l, o or u to misread. */
static const char alphabet[] = "0123456789abcdefghjkmnpqrstvwxyz";

static unsigned char ref_key[crypto_shorthash_KEYBYTES]; /* all zero until set */

void pl_ref_set_key(const uint8_t key[32]) {
  static const unsigned char ctx[] = "parley public ids v1";
  crypto_generichash(ref_key, sizeof ref_key, ctx, sizeof ctx - 1, key, 32);
}

/* The round function: SipHash of (prefix, round, half), cut to 30 bits. */
static uint64_t round_fn(const char *prefix, unsigned round, uint64_t half) {
  unsigned char in[16] = {0};
  size_t n = strlen(prefix);
  memcpy(in, prefix, n > 8 ? 8 : n);
  in[8] = (unsigned char)round;
  for (int i = 0; i < 4; i++) in[12 + i] = (unsigned char)(half >> (8 * i));
  unsigned char out[crypto_shorthash_BYTES];
  crypto_shorthash(out, in, sizeof in, ref_key);
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) v |= (uint64_t)out[i] << (8 * i);
  return v & HALF_MASK;
}

static uint64_t permute(const char *prefix, uint64_t x) {
  uint64_t l = x >> HALF_BITS, r = x & HALF_MASK;
  for (unsigned i = 0; i < ROUNDS; i++) {
    uint64_t t = l ^ round_fn(prefix, i, r);
    l = r;
    r = t;
  }
  return (l << HALF_BITS) | r;
}

static uint64_t unpermute(const char *prefix, uint64_t y) {
  uint64_t l = y >> HALF_BITS, r = y & HALF_MASK;
  for (unsigned i = ROUNDS; i-- > 0;) {
    uint64_t t = r ^ round_fn(prefix, i, l);
    r = l;
    l = t;
  }
  return (l << HALF_BITS) | r;
}

char *pl_ref_format(char out[PL_REF_MAX], const char *prefix, int64_t id) {
  size_t n = strnlen(prefix, 8);
  memcpy(out, prefix, n);
  uint64_t v = permute(prefix, (uint64_t)id & ((UINT64_C(1) << 60) - 1));
  for (int i = CHARS - 1; i >= 0; i--) {
    out[n + (size_t)i] = alphabet[v & 31];
    v >>= 5;
  }
  out[n + CHARS] = '\0';
  return out;
}

static int digit(char c) {
  if (c >= 'A' && c <= 'Z') c = (char)(c - 'A' + 'a');
  const char *p = c ? strchr(alphabet, c) : NULL;
  return p ? (int)(p - alphabet) : -1;
}

bool pl_ref_parse(const char *ref, const char *prefix, int64_t *id) {
  size_t n = strlen(prefix);
  if (!ref || strncmp(ref, prefix, n) || strlen(ref + n) != CHARS) return false;
  uint64_t v = 0;
  for (size_t i = 0; i < CHARS; i++) {
    int d = digit(ref[n + i]);
    if (d < 0) return false;
    v = (v << 5) | (uint64_t)d;
  }
  uint64_t x = unpermute(prefix, v);
  if (x == 0) return false;
  *id = (int64_t)x;
  return true;
}
