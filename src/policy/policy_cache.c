/* policy_cache.c - compiled Vectorscan databases kept on disk, keyed by everything they were compiled from. */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "policy/policy_int.h"
#include "policy/policy_model.h"

/* File layout (native byte order; the key covers the engine, Vectorscan and the platform):
 *   "PLPOLDB1"  u32 nrules  u32 ndb
 *   nrules x u32 som_width
 *   ndb x (u32 rule (UINT32_MAX for the shared database)  u64 size  size bytes)
 *   16 bytes: BLAKE2b of everything before
 * ndb is 1 + the number of rules with a database of their own. */
static const char magic[8] = {'P', 'L', 'P', 'O', 'L', 'D', 'B', '1'};
#define SUM_BYTES 16

static void key_add(crypto_generichash_state *st, const void *p, size_t n) {
  uint64_t len = n;
  crypto_generichash_update(st, (const unsigned char *)&len, sizeof len);
  crypto_generichash_update(st, p, n);
}

bool policy__cache_path(const char *dir, const policy__patterns *pats, char *out, size_t cap) {
  if (sodium_init() < 0) return false;
  crypto_generichash_state st;
  crypto_generichash_init(&st, NULL, 0, 16);
  /* The engine's own version: a release that reads or sizes databases differently
   * must not take an older file for its own. */
  static const char engine[] = POLICY_ENGINE_NAME " cache 1";
  key_add(&st, engine, sizeof engine - 1);
  /* the classifier model is not in the file, but a set is the rules and the model together */
  key_add(&st, policy_model_version, strlen(policy_model_version));
  const char *ver = hs_version();
  key_add(&st, ver, strlen(ver));
  hs_platform_info_t plat;
  memset(&plat, 0, sizeof plat);
  if (hs_populate_platform(&plat) != HS_SUCCESS) return false;
  key_add(&st, &plat, sizeof plat);
  for (size_t k = 0; k < pats->n; k++) {
    uint32_t nums[2] = {pats->flags[k], pats->ids[k]};
    key_add(&st, nums, sizeof nums);
    key_add(&st, pats->expr[k], strlen(pats->expr[k]));
  }
  unsigned char h[16];
  crypto_generichash_final(&st, h, sizeof h);
  char hex[33];
  sodium_bin2hex(hex, sizeof hex, h, sizeof h);
  int w = snprintf(out, cap, "%s/policy-%s.hsdb", dir, hex);
  return w > 0 && (size_t)w < cap;
}

/* A reader over the file's bytes. */
typedef struct {
  const unsigned char *p;
  size_t left;
} rd;

static bool get(rd *r, void *out, size_t n) {
  if (r->left < n) return false;
  memcpy(out, r->p, n);
  r->p += n, r->left -= n;
  return true;
}

static unsigned char *read_all(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  struct stat sb;
  unsigned char *b = NULL;
  if (fstat(fileno(f), &sb) == 0 && sb.st_size > 0 && sb.st_size < (1 << 30)) {
    b = pl_xmalloc((size_t)sb.st_size);
    if (fread(b, 1, (size_t)sb.st_size, f) != (size_t)sb.st_size) {
      free(b);
      b = NULL;
    }
    *len = (size_t)sb.st_size;
  }
  fclose(f);
  return b;
}

bool policy__cache_load(policy_config *cfg, const char *path) {
  size_t len = 0;
  unsigned char *file = read_all(path, &len);
  if (!file) return false;
  /* The last bytes are a hash of all the others: a damaged or partly written file
   * is never used. */
  unsigned char h[SUM_BYTES];
  bool ok = len > SUM_BYTES && sodium_init() >= 0 &&
            crypto_generichash(h, sizeof h, file, len - SUM_BYTES, NULL, 0) == 0 &&
            !sodium_memcmp(h, file + len - SUM_BYTES, SUM_BYTES);
  rd r = {file, len - SUM_BYTES};
  char m[8];
  uint32_t nrules = 0, ndb = 0;
  ok = ok && get(&r, m, sizeof m) && !memcmp(m, magic, sizeof m) && get(&r, &nrules, sizeof nrules) &&
       get(&r, &ndb, sizeof ndb) && nrules == cfg->nrules && ndb >= 1 && ndb <= nrules + 1;
  hs_database_t *db = NULL;
  hs_database_t **som = NULL;
  uint32_t *width = NULL;
  if (ok) {
    som = pl_xcalloc(nrules, sizeof *som);
    width = pl_xcalloc(nrules, sizeof *width);
    ok = get(&r, width, nrules * sizeof *width);
  }
  for (uint32_t k = 0; ok && k < ndb; k++) {
    uint32_t rule;
    uint64_t size;
    ok = get(&r, &rule, sizeof rule) && get(&r, &size, sizeof size) && size > 0 && size <= r.left &&
         (k == 0 ? rule == UINT32_MAX : rule < nrules && !som[rule]);
    if (!ok) break;
    hs_database_t **dst = k == 0 ? &db : &som[rule];
    /* Vectorscan checks the database's own checksum and platform here. */
    ok = hs_deserialize_database((const char *)r.p, (size_t)size, dst) == HS_SUCCESS;
    r.p += size, r.left -= size;
  }
  ok = ok && r.left == 0;
  free(file);
  if (!ok) {
    hs_free_database(db);
    for (uint32_t k = 0; som && k < nrules; k++) hs_free_database(som[k]);
    free(som);
    free(width);
    return false;
  }
  cfg->db = db;
  cfg->som = som;
  cfg->som_width = width;
  return true;
}

/* A growing buffer for the file's bytes. */
typedef struct {
  unsigned char *p;
  size_t n, cap;
} wb;

static void put(wb *w, const void *p, size_t n) {
  if (w->n + n > w->cap) {
    w->cap = (w->n + n) * 2;
    w->p = pl_xrealloc(w->p, w->cap);
  }
  memcpy(w->p + w->n, p, n);
  w->n += n;
}

static bool put_db(wb *w, uint32_t rule, const hs_database_t *db) {
  char *bytes = NULL;
  size_t size = 0;
  if (hs_serialize_database(db, &bytes, &size) != HS_SUCCESS) return false;
  uint64_t sz = size;
  put(w, &rule, sizeof rule);
  put(w, &sz, sizeof sz);
  put(w, bytes, size);
  free(bytes);
  return true;
}

void policy__cache_save(const policy_config *cfg, const char *dir, const char *path) {
  if (sodium_init() < 0) return;
  uint32_t nrules = (uint32_t)cfg->nrules, ndb = 1;
  for (size_t k = 0; k < cfg->nrules; k++) ndb += cfg->som[k] != NULL;
  wb w = {0};
  put(&w, magic, sizeof magic);
  put(&w, &nrules, sizeof nrules);
  put(&w, &ndb, sizeof ndb);
  put(&w, cfg->som_width, nrules * sizeof *cfg->som_width);
  bool ok = put_db(&w, UINT32_MAX, cfg->db);
  for (size_t k = 0; ok && k < cfg->nrules; k++)
    if (cfg->som[k]) ok = put_db(&w, (uint32_t)k, cfg->som[k]);
  unsigned char h[SUM_BYTES];
  ok = ok && crypto_generichash(h, sizeof h, w.p, w.n, NULL, 0) == 0;
  if (ok) put(&w, h, sizeof h);
  mkdir(dir, 0700); /* an existing directory is fine; any other failure shows at open */
  char tmp[4200];
  int n = snprintf(tmp, sizeof tmp, "%s.%ld.tmp", path, (long)getpid());
  int fd = ok && n > 0 && (size_t)n < sizeof tmp ? open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600) : -1;
  if (fd >= 0) {
    size_t off = 0;
    while (off < w.n) {
      ssize_t r = write(fd, w.p + off, w.n - off);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) break;
      off += (size_t)r;
    }
    ok = off == w.n && fsync(fd) == 0;
    ok = close(fd) == 0 && ok;
    /* Readers see either no file or a whole one: several processes may race here. */
    if (!ok || rename(tmp, path) != 0) unlink(tmp);
  }
  free(w.p);
}
