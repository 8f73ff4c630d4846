/* pl_ref.h - public ids that reveal no volume: a keyed permutation of the store's row ids.
 *
 * The store numbers threads, messages, templates... one after the other across every
 * tenant. Shown as they are ("T41"), two ids a day apart would tell a seller how many
 * threads the whole marketplace opened in between. Clients therefore see a prefix and
 * twelve base32 characters ("T7kq2m0x9d4cz"): the row id under a 60-bit Feistel
 * permutation keyed by the service's key, tweaked by the prefix, so that T and M refs of
 * the same number look unrelated. Only the holder of the key can map one to the other.
 *
 * The key is process-wide: set once by the service when it opens (svc_new), before any
 * thread formats a ref. Until then a fixed all-zero key is used (tools and pure tests). */
#ifndef PL_REF_H
#define PL_REF_H

#include <stdbool.h>
#include <stdint.h>

#define PL_REF_MAX 24 /* the longest prefix (3) + 12 characters + NUL, with room */
#define PL_REF_ID_MAX ((INT64_C(1) << 60) - 1)

/* Derives the permutation's key from 32 bytes of secret key material. */
void pl_ref_set_key(const uint8_t key[32]);

/* Writes prefix + 12 base32 characters for id (0 < id <= PL_REF_ID_MAX) into out and
 * returns out. prefix is at most 8 characters. */
char *pl_ref_format(char out[PL_REF_MAX], const char *prefix, int64_t id);

/* The row id a ref names: true when ref is exactly prefix + 12 base32 characters (either
 * case) whose row id is positive. Anything else, the bare row ids of old included, is
 * false. */
bool pl_ref_parse(const char *ref, const char *prefix, int64_t *id);

#endif
