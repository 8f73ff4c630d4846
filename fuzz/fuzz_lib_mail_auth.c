/* fuzz_lib_mail_auth.c - libFuzzer target: Authentication-Results, From: and the verdict on
 * arbitrary bytes. The input is read three ways: as one Authentication-Results value, as one
 * From: value, and as a header section for mail_auth_check. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mail/mail_auth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  pl_arena *a = pl_arena_new();
  mail_ar ar;
  if (!mail_ar_parse((const char *)data, size, a, &ar)) {
    /* A parse keeps at most the bound, each with a method and a result. */
    if (ar.n > MAIL_AR_MAX_RESULTS || !ar.authserv_id) __builtin_trap();
    for (size_t i = 0; i < ar.n; i++)
      if (!ar.results[i].method || !ar.results[i].result) __builtin_trap();
  }
  char *s = malloc(size + 1);
  memcpy(s, data, size);
  s[size] = '\0';
  char *addr;
  if (!mail_from_address(s, a, &addr)) {
    /* One address: a local part, one domain, nothing that could split it. */
    const char *at = strrchr(addr, '@');
    if (!at || at == addr || strlen(addr) > 254 || strpbrk(at, " ,<>()")) __builtin_trap();
  }
  mail_auth_verdict v;
  mail_auth_check((const char *)data, size, "mx.parley.test", a, &v);
  if (v.authenticated && !v.from) __builtin_trap();
  free(s);
  pl_arena_free(a);
  return 0;
}
