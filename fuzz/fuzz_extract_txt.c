/* fuzz_extract_txt.c - libFuzzer target: sniffing and the plain-text reader (charset
 * detection to UTF-8) on any bytes; every segment must come out as valid UTF-8. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "extract/extract.h"
#include "util/pl_utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  extract_limits lim;
  extract_limits_default(&lim);
  lim.in_process = true; /* the fuzzer watches the reader itself, not a child */
  pl_arena *a = pl_arena_new();
  extract_doc doc;
  pl_detail d;
  extract_kind k;
  (void)extract_sniff(data, size, &lim, &k, &d);
  (void)extract_check_name(k, "fuzz.txt", &d);
  if (extract_text(data, size, EXTRACT_TXT, &lim, a, &doc, &d) == PL_OK) {
    for (size_t i = 0; i < doc.nsegs; i++) {
      const extract_segment *s = &doc.segs[i];
      if (!pl_utf8_valid(s->text, s->len, NULL) || strlen(s->text) != s->len) abort();
    }
  }
  /* The legacy Word scan reads any bytes the same way. */
  (void)extract_text(data, size, EXTRACT_DOC, &lim, a, &doc, &d);
  pl_arena_free(a);
  return 0;
}
