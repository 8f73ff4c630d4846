/* store.c - backend selection by URL and what every backend shares. */
#include "store/store.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

pl_err store_open(const char *url, store **out, pl_detail *d) {
  if (!strncmp(url, "postgres://", 11) || !strncmp(url, "postgresql://", 13))
    return store_pg_open(url, out, d);
  if (!strncmp(url, "sqlite:", 7)) url += 7;
  return store_sqlite_open(url, out, d);
}

static void feed(crypto_generichash_state *h, const char *s) {
  const char *v = s ? s : "";
  uint32_t n = (uint32_t)strlen(v);
  crypto_generichash_update(h, (const unsigned char *)&n, sizeof n);
  crypto_generichash_update(h, (const unsigned char *)v, n);
}

void store__audit_hash(const st_audit *e, const char *prev_hash, char out[65]) {
  crypto_generichash_state h;
  unsigned char bin[32];
  char at[32];
  snprintf(at, sizeof at, "%lld", (long long)e->at);
  crypto_generichash_init(&h, NULL, 0, sizeof bin);
  feed(&h, prev_hash);
  feed(&h, e->seller_id);
  feed(&h, at);
  feed(&h, e->actor);
  feed(&h, e->action);
  feed(&h, e->subject);
  feed(&h, e->detail_json ? e->detail_json : "{}");
  crypto_generichash_final(&h, bin, sizeof bin);
  sodium_bin2hex(out, 65, bin, sizeof bin);
}
