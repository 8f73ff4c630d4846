/* fuzz_policy.c - libFuzzer target: the policy scan (decode, normalise, match, detectors) on any bytes. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy.h"

static policy_config *cfg;

/* Compiling the rules takes seconds; it happens once, outside the per-input timeout. */
int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  policy_options opt = {0};
  pl_detail d;
  if (policy_config_new(&opt, &cfg, &d) != PL_OK) abort();
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  policy_verdict v;
  pl_err rc = policy_scan(cfg, (const char *)data, size, &v);
  if (rc == PL_OK) {
    /* every finding lies inside the input and quotes it */
    for (size_t i = 0; i < v.nfindings; i++) {
      const policy_finding *f = &v.findings[i];
      if (f->start >= f->end || f->end > size || memcmp(f->text, data + f->start, f->end - f->start)) abort();
    }
  } else if (rc != PL_EUTF8 && rc != PL_ETOOLONG) {
    abort();
  }
  policy_verdict_free(&v);
  return 0;
}
