/* pl_crypto.c - libsodium wrappers for secrets at rest, tokens and aliases. */
#include "util/pl_crypto.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdbool.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/pl_mem.h"

#define KEYFILE_MAGIC "parley-keys 2\n"
#define KEYFILE_MAX 4096
#define LEGACY_BYTES (2 * PL_KEY_BYTES) /* the first format: enc then mac, raw */

pl_err pl_crypto_init(void) { return sodium_init() < 0 ? PL_ECRYPTO : PL_OK; }

static bool hex_key(const char *hex, size_t len, uint8_t out[PL_KEY_BYTES]) {
  size_t n = 0;
  return len == 2 * PL_KEY_BYTES && sodium_hex2bin(out, PL_KEY_BYTES, hex, len, NULL, &n, NULL) == 0 &&
         n == PL_KEY_BYTES;
}

/* Parses the text format: the magic line, "ident <hex>", then "gen <id> <enc hex> <mac hex>"
 * lines with rising ids. */
static bool parse_keys(char *buf, pl_keys *out) {
  if (strncmp(buf, KEYFILE_MAGIC, strlen(KEYFILE_MAGIC))) return false;
  bool have_ident = false;
  char *save = NULL;
  for (char *line = strtok_r(buf + strlen(KEYFILE_MAGIC), "\n", &save); line;
       line = strtok_r(NULL, "\n", &save)) {
    char w1[8], w2[80], w3[80], w4[80];
    int n = sscanf(line, "%7s %79s %79s %79s", w1, w2, w3, w4);
    if (n == 2 && !strcmp(w1, "ident") && !have_ident) {
      if (!hex_key(w2, strlen(w2), out->ident)) return false;
      have_ident = true;
    } else if (n == 4 && !strcmp(w1, "gen")) {
      char *end;
      errno = 0;
      unsigned long id = strtoul(w2, &end, 10);
      if (errno || *end || id == 0 || id > UINT32_MAX || out->ngens == PL_KEY_GENS) return false;
      if (out->ngens && id <= out->gens[out->ngens - 1].id) return false;
      pl_key_gen *g = &out->gens[out->ngens];
      g->id = (uint32_t)id;
      if (!hex_key(w3, strlen(w3), g->enc) || !hex_key(w4, strlen(w4), g->mac)) return false;
      out->ngens++;
    } else {
      return false;
    }
  }
  return have_ident && out->ngens > 0;
}

/* Reads and checks an open key file. */
static pl_err read_keys(int fd, const char *path, pl_keys *out, pl_detail *d) {
  struct stat st;
  if (fstat(fd, &st) != 0) return pl_fail(d, PL_EIO, "cannot read key file %s: %s", path, strerror(errno));
  if (!S_ISREG(st.st_mode)) return pl_fail(d, PL_ECRYPTO, "key file %s is not a regular file", path);
  if (st.st_uid != geteuid())
    return pl_fail(d, PL_ECRYPTO, "key file %s belongs to another user (uid %u): give it to the user "
                   "that runs parley (chown) and chmod 600 %s", path, (unsigned)st.st_uid, path);
  if (st.st_mode & 077)
    return pl_fail(d, PL_ECRYPTO, "key file %s may be read by others (mode %03o): run chmod 600 %s",
                   path, (unsigned)(st.st_mode & 0777), path);
  char *buf = pl_xmalloc(KEYFILE_MAX + 1);
  size_t have = 0;
  for (;;) {
    ssize_t n = read(fd, buf + have, KEYFILE_MAX + 1 - have);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      sodium_memzero(buf, KEYFILE_MAX + 1);
      free(buf);
      return pl_fail(d, PL_EIO, "cannot read key file %s: %s", path, strerror(errno));
    }
    if (n == 0 || (have += (size_t)n) > KEYFILE_MAX) break;
  }
  buf[have > KEYFILE_MAX ? KEYFILE_MAX : have] = '\0';
  memset(out, 0, sizeof *out);
  bool ok;
  if (have == LEGACY_BYTES && strncmp(buf, KEYFILE_MAGIC, strlen(KEYFILE_MAGIC))) {
    /* The first format is generation 1; its mac key was also the identity key. */
    out->ngens = 1;
    out->gens[0].id = 1;
    memcpy(out->gens[0].enc, buf, PL_KEY_BYTES);
    memcpy(out->gens[0].mac, buf + PL_KEY_BYTES, PL_KEY_BYTES);
    memcpy(out->ident, buf + PL_KEY_BYTES, PL_KEY_BYTES);
    ok = true;
  } else {
    ok = have <= KEYFILE_MAX && parse_keys(buf, out);
  }
  sodium_memzero(buf, KEYFILE_MAX + 1);
  free(buf);
  if (!ok) {
    sodium_memzero(out, sizeof *out);
    return pl_fail(d, PL_ECRYPTO, "key file %s is damaged (%zu bytes, neither a parley key list nor the "
                   "64-byte first format)", path, have);
  }
  return PL_OK;
}

pl_err pl_keys_load(const char *path, pl_keys *out, pl_detail *d) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT) return pl_fail(d, PL_ENOTFOUND, "no key file %s", path);
  if (fd < 0) return pl_fail(d, PL_EIO, "cannot read key file %s: %s", path, strerror(errno));
  pl_err e = read_keys(fd, path, out, d);
  close(fd);
  return e;
}

/* Writes k into a new temporary file beside path (mode 0600, flushed); its name in tmp. */
static pl_err write_temp(const char *path, const pl_keys *k, char *tmp, size_t cap, pl_detail *d) {
  snprintf(tmp, cap, "%s.tmp.%ld", path, (long)getpid());
  unlink(tmp);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return pl_fail(d, PL_EIO, "cannot create %s: %s", tmp, strerror(errno));
  size_t cap_text = strlen(KEYFILE_MAGIC) + 80 + k->ngens * 160;
  char *text = pl_xmalloc(cap_text);
  char hex[2 * PL_KEY_BYTES + 1], hex2[2 * PL_KEY_BYTES + 1];
  sodium_bin2hex(hex, sizeof hex, k->ident, PL_KEY_BYTES);
  size_t len = (size_t)snprintf(text, cap_text, "%sident %s\n", KEYFILE_MAGIC, hex);
  for (size_t i = 0; i < k->ngens; i++) {
    sodium_bin2hex(hex, sizeof hex, k->gens[i].enc, PL_KEY_BYTES);
    sodium_bin2hex(hex2, sizeof hex2, k->gens[i].mac, PL_KEY_BYTES);
    len += (size_t)snprintf(text + len, cap_text - len, "gen %" PRIu32 " %s %s\n", k->gens[i].id, hex, hex2);
  }
  sodium_memzero(hex, sizeof hex);
  sodium_memzero(hex2, sizeof hex2);
  ssize_t n = write(fd, text, len);
  sodium_memzero(text, cap_text);
  free(text);
  int rc = fsync(fd);
  if (close(fd) != 0) rc = -1;
  if (n != (ssize_t)len || rc != 0) {
    unlink(tmp);
    return pl_fail(d, PL_EIO, "cannot write %s", tmp);
  }
  return PL_OK;
}

static void sync_dir(const char *path) {
  char *copy = pl_xstrdup(path);
  int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    fsync(fd);
    close(fd);
  }
  free(copy);
}

pl_err pl_keys_save(const char *path, const pl_keys *k, pl_detail *d) {
  char tmp[4200];
  pl_err e = write_temp(path, k, tmp, sizeof tmp, d);
  if (e) return e;
  if (rename(tmp, path) != 0) {
    int err = errno;
    unlink(tmp);
    return pl_fail(d, PL_EIO, "cannot replace key file %s: %s", path, strerror(err));
  }
  sync_dir(path);
  return PL_OK;
}

pl_err pl_keys_load_or_create(const char *path, pl_keys *out, pl_detail *d) {
  pl_err e = pl_keys_load(path, out, d);
  if (e != PL_ENOTFOUND) return e;
  memset(out, 0, sizeof *out);
  randombytes_buf(out->ident, sizeof out->ident);
  out->ngens = 1;
  out->gens[0].id = 1;
  randombytes_buf(out->gens[0].enc, PL_KEY_BYTES);
  randombytes_buf(out->gens[0].mac, PL_KEY_BYTES);
  /* Linked into place, never renamed over: of two processes creating it at once, one
   * wins and the other reads what the winner wrote. */
  char tmp[4200];
  if ((e = write_temp(path, out, tmp, sizeof tmp, d))) return e;
  int rc = link(tmp, path), err = errno;
  unlink(tmp);
  if (rc != 0 && err == EEXIST) return pl_keys_load(path, out, d);
  if (rc != 0) return pl_fail(d, PL_EIO, "cannot create key file %s: %s", path, strerror(err));
  sync_dir(path);
  return PL_OK;
}

pl_err pl_keys_add_gen(pl_keys *k, pl_detail *d) {
  if (k->ngens >= PL_KEY_GENS)
    return pl_fail(d, PL_ETOOMANY, "the key file holds %d generations already: retire the old ones first",
                   PL_KEY_GENS);
  pl_key_gen *g = &k->gens[k->ngens];
  g->id = k->gens[k->ngens - 1].id + 1;
  randombytes_buf(g->enc, PL_KEY_BYTES);
  randombytes_buf(g->mac, PL_KEY_BYTES);
  k->ngens++;
  return PL_OK;
}

pl_err pl_keys_drop_gen(pl_keys *k, uint32_t id, pl_detail *d) {
  for (size_t i = 0; i < k->ngens; i++) {
    if (k->gens[i].id != id) continue;
    if (i == k->ngens - 1) return pl_fail(d, PL_EINVAL, "key generation %" PRIu32 " is the current one", id);
    sodium_memzero(&k->gens[i], sizeof k->gens[i]);
    memmove(&k->gens[i], &k->gens[i + 1], (k->ngens - i - 1) * sizeof k->gens[0]);
    k->ngens--;
    sodium_memzero(&k->gens[k->ngens], sizeof k->gens[0]);
    return PL_OK;
  }
  return pl_fail(d, PL_ENOTFOUND, "no key generation %" PRIu32, id);
}

const pl_key_gen *pl_keys_current(const pl_keys *k) { return &k->gens[k->ngens - 1]; }

const pl_key_gen *pl_keys_find(const pl_keys *k, uint32_t id) {
  for (size_t i = 0; i < k->ngens; i++)
    if (k->gens[i].id == id) return &k->gens[i];
  return NULL;
}

void pl_sealed_prefix(uint32_t id, char out[24]) {
  if (id == 1) snprintf(out, 24, "v1:");
  else snprintf(out, 24, "v2:%" PRIu32 ":", id);
}

/* The generation a sealed value names and where its base64 starts. */
static uint32_t sealed_parse(const char *sealed, const char **body) {
  if (!sealed) return 0;
  if (!strncmp(sealed, "v1:", 3)) {
    *body = sealed + 3;
    return 1;
  }
  if (strncmp(sealed, "v2:", 3) || sealed[3] < '1' || sealed[3] > '9') return 0;
  char *end;
  errno = 0;
  unsigned long id = strtoul(sealed + 3, &end, 10);
  if (errno || *end != ':' || id < 2 || id > UINT32_MAX) return 0;
  *body = end + 1;
  return (uint32_t)id;
}

uint32_t pl_sealed_gen(const char *sealed) {
  const char *body;
  return sealed_parse(sealed, &body);
}

char *pl_seal(const pl_keys *k, const char *plain) {
  const pl_key_gen *g = pl_keys_current(k);
  char prefix[24];
  pl_sealed_prefix(g->id, prefix);
  size_t plen = strlen(plain), prelen = strlen(prefix);
  size_t blen = crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + plen;
  unsigned char *box = pl_xmalloc(blen);
  randombytes_buf(box, crypto_secretbox_NONCEBYTES);
  crypto_secretbox_easy(box + crypto_secretbox_NONCEBYTES, (const unsigned char *)plain, plen, box,
                        g->enc);
  size_t b64len = sodium_base64_ENCODED_LEN(blen, sodium_base64_VARIANT_ORIGINAL);
  char *out = pl_xmalloc(prelen + b64len);
  memcpy(out, prefix, prelen);
  sodium_bin2base64(out + prelen, b64len, box, blen, sodium_base64_VARIANT_ORIGINAL);
  free(box);
  return out;
}

char *pl_open(const pl_keys *k, const char *sealed) {
  const char *body = NULL;
  const pl_key_gen *g = pl_keys_find(k, sealed_parse(sealed, &body));
  if (!g) return NULL;
  size_t slen = strlen(body);
  unsigned char *box = pl_xmalloc(slen + 1);
  size_t blen = 0;
  char *out = NULL;
  if (sodium_base642bin(box, slen, body, slen, NULL, &blen, NULL,
                        sodium_base64_VARIANT_ORIGINAL) != 0 ||
      blen < crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES)
    goto out;
  size_t plen = blen - crypto_secretbox_NONCEBYTES - crypto_secretbox_MACBYTES;
  out = pl_xmalloc(plen + 1);
  if (crypto_secretbox_open_easy((unsigned char *)out, box + crypto_secretbox_NONCEBYTES,
                                 blen - crypto_secretbox_NONCEBYTES, box, g->enc) != 0) {
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
  crypto_generichash(h, sizeof h, (const unsigned char *)s, strlen(s), k->ident, sizeof k->ident);
  sodium_bin2hex(hex, 65, h, sizeof h);
}

void pl_lookup_hash_hex(const pl_key_gen *g, const char *s, char hex[65]) {
  unsigned char h[PL_TOKEN_HASH_BYTES];
  crypto_generichash(h, sizeof h, (const unsigned char *)s, strlen(s), g->mac, sizeof g->mac);
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
