/* pl_crypto.c - libsodium wrappers for secrets at rest, tokens and aliases. */
#include "util/pl_crypto.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/pl_mem.h"

pl_err pl_crypto_init(void) { return sodium_init() < 0 ? PL_ECRYPTO : PL_OK; }

pl_err pl_keys_load_or_create(const char *path, pl_keys *out, pl_detail *d) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    ssize_t n = read(fd, out, sizeof *out);
    close(fd);
    if (n != (ssize_t)sizeof *out)
      return pl_fail(d, PL_ECRYPTO, "key file %s is damaged (%zd bytes, want %zu)", path, n,
                     sizeof *out);
    return PL_OK;
  }
  if (errno != ENOENT) return pl_fail(d, PL_EIO, "cannot read key file %s: %s", path, strerror(errno));
  randombytes_buf(out, sizeof *out);
  fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return pl_fail(d, PL_EIO, "cannot create key file %s: %s", path, strerror(errno));
  ssize_t n = write(fd, out, sizeof *out);
  int rc = fsync(fd);
  close(fd);
  if (n != (ssize_t)sizeof *out || rc != 0)
    return pl_fail(d, PL_EIO, "cannot write key file %s", path);
  return PL_OK;
}

char *pl_seal(const pl_keys *k, const char *plain) {
  size_t plen = strlen(plain);
  size_t blen = crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + plen;
  unsigned char *box = pl_xmalloc(blen);
  randombytes_buf(box, crypto_secretbox_NONCEBYTES);
  crypto_secretbox_easy(box + crypto_secretbox_NONCEBYTES, (const unsigned char *)plain, plen, box,
                        k->enc);
  size_t b64len = sodium_base64_ENCODED_LEN(blen, sodium_base64_VARIANT_ORIGINAL);
  char *out = pl_xmalloc(3 + b64len);
  memcpy(out, "v1:", 3);
  sodium_bin2base64(out + 3, b64len, box, blen, sodium_base64_VARIANT_ORIGINAL);
  free(box);
  return out;
}

char *pl_open(const pl_keys *k, const char *sealed) {
  if (!sealed || strncmp(sealed, "v1:", 3) != 0) return NULL;
  size_t slen = strlen(sealed + 3);
  unsigned char *box = pl_xmalloc(slen + 1);
  size_t blen = 0;
  char *out = NULL;
  if (sodium_base642bin(box, slen, sealed + 3, slen, NULL, &blen, NULL,
                        sodium_base64_VARIANT_ORIGINAL) != 0 ||
      blen < crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES)
    goto out;
  size_t plen = blen - crypto_secretbox_NONCEBYTES - crypto_secretbox_MACBYTES;
  out = pl_xmalloc(plen + 1);
  if (crypto_secretbox_open_easy((unsigned char *)out, box + crypto_secretbox_NONCEBYTES,
                                 blen - crypto_secretbox_NONCEBYTES, box, k->enc) != 0) {
    free(out);
    out = NULL;
    goto out;
  }
  out[plen] = '\0';
out:
  free(box);
  return out;
}

void pl_keyed_hash_hex(const pl_keys *k, const char *s, char hex[65]) {
  unsigned char h[PL_TOKEN_HASH_BYTES];
  crypto_generichash(h, sizeof h, (const unsigned char *)s, strlen(s), k->mac, sizeof k->mac);
  sodium_bin2hex(hex, 65, h, sizeof h);
}

char *pl_token_new(const char *prefix) {
  unsigned char raw[32];
  randombytes_buf(raw, sizeof raw);
  size_t b64len = sodium_base64_ENCODED_LEN(sizeof raw, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  size_t plen = strlen(prefix);
  char *out = pl_xmalloc(plen + 1 + b64len);
  memcpy(out, prefix, plen);
  out[plen] = '_';
  sodium_bin2base64(out + plen + 1, b64len, raw, sizeof raw, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  return out;
}

void pl_alias_local(char *out, size_t n) {
  static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  for (size_t i = 0; i < n; i++) out[i] = alphabet[randombytes_uniform(sizeof alphabet - 1)];
  out[n] = '\0';
}
