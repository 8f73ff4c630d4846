/* pl_crypto.h - encryption at rest, token hashing and random aliases (libsodium). */
#ifndef PL_CRYPTO_H
#define PL_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include "util/pl_err.h"

#define PL_KEY_BYTES 32
#define PL_TOKEN_HASH_BYTES 32
/* At most this many key generations in one key file (a rotation needs two). */
#define PL_KEY_GENS 8

/* One generation of the keys that rotation replaces (docs/operations.md, "Key rotation"). */
typedef struct {
  uint32_t id;               /* 1, 2, ...: named by every value sealed with it */
  uint8_t enc[PL_KEY_BYTES]; /* secretbox key for addresses */
  uint8_t mac[PL_KEY_BYTES]; /* keyed hash for address look-ups */
} pl_key_gen;

/* The keys of a key file. The identity key keys what leaves the database and cannot be
 * computed again without a secret parley never keeps: token hashes, reply-address MACs,
 * public ids and the audit signing key. Rotation keeps it; it replaces the generations. */
typedef struct {
  uint8_t ident[PL_KEY_BYTES];
  size_t ngens;                 /* >= 1 */
  pl_key_gen gens[PL_KEY_GENS]; /* by id, oldest first; the last one seals and hashes */
} pl_keys;

/* Initialises libsodium; call once before anything else here. */
pl_err pl_crypto_init(void);

/* Loads the key file, or creates it (mode 0600) with fresh random keys when absent.
 * A key file that group or others may read, or that another user owns, is refused
 * (PL_ECRYPTO, naming the file and the fix); PL_EIO when it cannot be read or written. */
pl_err pl_keys_load_or_create(const char *path, pl_keys *out, pl_detail *d);
/* Loads an existing key file only (PL_ENOTFOUND when absent); the same checks. */
pl_err pl_keys_load(const char *path, pl_keys *out, pl_detail *d);
/* Writes k to path atomically: a temporary file of mode 0600 beside it, fsync, rename,
 * fsync of the directory. PL_EIO on failure (path is then unchanged). */
pl_err pl_keys_save(const char *path, const pl_keys *k, pl_detail *d);
/* Appends a generation of fresh random keys (id one above the newest); PL_ETOOMANY when
 * PL_KEY_GENS are there. */
pl_err pl_keys_add_gen(pl_keys *k, pl_detail *d);
/* Removes generation id; PL_ENOTFOUND when absent, PL_EINVAL for the newest one. */
pl_err pl_keys_drop_gen(pl_keys *k, uint32_t id, pl_detail *d);
/* The generation that seals and hashes new values. */
const pl_key_gen *pl_keys_current(const pl_keys *k);
/* Generation id, or NULL when the key file does not hold it. */
const pl_key_gen *pl_keys_find(const pl_keys *k, uint32_t id);

/* Encrypts plaintext with the current generation; returns a malloc'd printable string,
 * "v1:<base64(nonce|box)>" for generation 1 and "v2:<id>:<base64(nonce|box)>" after. */
char *pl_seal(const pl_keys *k, const char *plain);
/* Decrypts what pl_seal produced with any generation k holds; returns malloc'd plaintext,
 * or NULL when tampered or sealed by a generation k does not hold. */
char *pl_open(const pl_keys *k, const char *sealed);
/* The generation a sealed value names (0 when it is not a sealed value). */
uint32_t pl_sealed_gen(const char *sealed);
/* The prefix every value sealed by generation id starts with ("v1:", "v2:<id>:"). */
void pl_sealed_prefix(uint32_t id, char out[24]);

/* Keyed BLAKE2b of s under the identity key, as 64 lowercase hex characters plus NUL.
 * Used for token storage and for MACs handed out (reply addresses, Message-IDs). */
void pl_keyed_hash_hex(const pl_keys *k, const char *s, char hex[65]);
/* Keyed BLAKE2b of s under generation g's look-up key: finds an address without storing
 * it in clear. A row's hash is of the generation its sealed address names. */
void pl_lookup_hash_hex(const pl_key_gen *g, const char *s, char hex[65]);

/* A random token "<prefix>_<43 chars of base64url>" (256 bits); malloc'd. */
char *pl_token_new(const char *prefix);

/* A random alias local part: n characters of [a-z0-9] (n*5.17 bits); n < cap. */
void pl_alias_local(char *out, size_t n);

#endif
