/* fuzz_lib_mime.c - libFuzzer target: a mail's MIME to what it means and its new text
 * (GMime, structure checks, automatic-mail and DSN classification, charsets, HTML to text
 * with attribute URLs, quote and signature stripping). */
#include <stdint.h>
#include <string.h>

#include "mail/mail.h"

static bool valid_utf8(const char *s) {
  const unsigned char *p = (const unsigned char *)s;
  while (*p) {
    int n = *p < 0x80 ? 0 : (*p >> 5) == 6 ? 1 : (*p >> 4) == 14 ? 2 : (*p >> 3) == 30 ? 3 : -1;
    if (n < 0) return false;
    p++;
    for (int i = 0; i < n; i++, p++)
      if ((*p & 0xC0) != 0x80) return false;
  }
  return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  pl_arena *a = pl_arena_new();
  mail_in in;
  pl_detail d;
  if (!mail_parse((const char *)data, size, a, &in, &d)) {
    /* whatever the bytes, the text is UTF-8, and the kind agrees with its fields */
    if (!in.text || !valid_utf8(in.text)) __builtin_trap();
    if (in.automatic != (in.kind != MAIL_PERSONAL)) __builtin_trap();
    if (in.ndsn > MAIL_MAX_DSN_RCPTS || (in.ndsn && in.kind != MAIL_DSN)) __builtin_trap();
    if (in.nfiles > MAIL_MAX_FILES) __builtin_trap();
  } else if (!d.msg[0]) {
    __builtin_trap(); /* a refusal always names its reason */
  }
  /* The text paths on their own, as if the input were a body or a report. */
  mail_html_to_text((const char *)data, size, a);
  mail_strip_reply((const char *)data, size, a);
  mail_dsn_rcpt r[MAIL_MAX_DSN_RCPTS];
  if (mail_parse_dsn((const char *)data, size, a, r) > MAIL_MAX_DSN_RCPTS) __builtin_trap();
  if (!valid_utf8(mail_cp1252_to_utf8((const char *)data, size, a))) __builtin_trap();
  pl_arena_free(a);
  return 0;
}
