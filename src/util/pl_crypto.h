/* pl_crypto.h - encryption at rest, token hashing and random aliases (libsodium). */
#ifndef PL_CRYPTO_H
#define PL_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include "util/pl_err.h"

#define PL_KEY_BYTES 32
#define PL_TOKEN_HASH_BYTES 32

typedef struct {
  uint8_t enc[PL_KEY_BYTES];  /* secretbox key for addresses and secrets */
  uint8_t mac[PL_KEY_BYTES];  /* keyed hash for tokens and address look-ups */
} pl_keys;

/* Initialises libsodium; call once before anything else here. */
pl_err pl_crypto_init(void);

/* Loads the key file, or creates it (mode 0600) with fresh random keys when absent. */
pl_err pl_keys_load_or_create(const char *path, pl_keys *out, pl_detail *d);

/* Encrypts plaintext; returns a malloc'd printable string "v1:<base64(nonce|box)>". */
char *pl_seal(const pl_keys *k, const char *plain);
/* Decrypts what pl_seal produced; returns malloc'd plaintext or NULL when tampered. */
char *pl_open(const pl_keys *k, const char *sealed);

/* Keyed BLAKE2b of s, written as 64 lowercase hex characters plus NUL into hex. Used for
 * token storage and for looking an address up without storing it in clear. */
void pl_keyed_hash_hex(const pl_keys *k, const char *s, char hex[65]);

/* A random token "<prefix>_<43 chars of base64url>" (256 bits); malloc'd. */
char *pl_token_new(const char *prefix);

/* A random alias local part: n characters of [a-z0-9] (n*5.17 bits); n < cap. */
void pl_alias_local(char *out, size_t n);

#endif
