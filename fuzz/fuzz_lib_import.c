/* fuzz_lib_import.c - libFuzzer target: `parley import` lines (svc_import_line) on
 * arbitrary bytes, one line per newline of the input, against an in-memory store.
 *
 * A line either imports or fails with a code and a message; nothing of a failed line
 * stays (each line is a savepoint of the batch, which is rolled back at the end). */
#include <stdint.h>

#include "fuzz_svc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  svc *s = fuzz_service();
  pl_detail d = {0};
  if (svc_batch_begin(s, &d)) __builtin_trap();
  const char *p = (const char *)data, *end = p + size;
  while (p < end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
    pl_detail ld = {0};
    pl_err e = svc_import_line(s, p, len, &ld);
    /* every refusal names itself and says why */
    if (e && (!ld.msg[0] || !strcmp(pl_errname(e), "unknown"))) __builtin_trap();
    p += len + (nl ? 1 : 0);
  }
  if (svc_batch_end(s, false, &d)) __builtin_trap();
  return 0;
}
