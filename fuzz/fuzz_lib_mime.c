/* fuzz_lib_mime.c - libFuzzer target: a mail's MIME to its new text (GMime, HTML to text,
 * quote and signature stripping). */
#include <stdint.h>
#include <string.h>

#include "mail/mail.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  pl_arena *a = pl_arena_new();
  mail_in in;
  pl_detail d;
  if (!mail_parse((const char *)data, size, a, &in, &d) && !in.text) __builtin_trap();
  /* The text paths on their own, as if the input were a body. */
  mail_html_to_text((const char *)data, size, a);
  mail_strip_reply((const char *)data, size, a);
  pl_arena_free(a);
  return 0;
}
