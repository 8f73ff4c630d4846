/* pl_utf8.h - UTF-8 validation and code-point counting for limits on text. */
#ifndef PL_UTF8_H
#define PL_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* True when s[0..len) is well-formed UTF-8 (no overlongs, surrogates or NUL bytes);
 * *chars, when not NULL, receives the number of code points. */
bool pl_utf8_valid(const char *s, size_t len, size_t *chars);

/* True when s (valid UTF-8) has no character other than Unicode White_Space (what a
 * text "only of spaces" means for a message). */
bool pl_utf8_blank(const char *s, size_t len);

/* What pl_utf8_text finds wrong with a text a client submitted. */
typedef enum {
  PL_TEXT_OK = 0,
  PL_TEXT_INVALID_UTF8, /* not well-formed UTF-8 (see pl_utf8_valid) */
  PL_TEXT_CONTROL,      /* a control character other than tab, line feed, or CR before LF */
} pl_text_fault;

/* Checks a text a client submits (a message, a note, a template, a name): well-formed
 * UTF-8 without control characters, C0 (U+0000-U+001F), DEL and C1 (U+0080-U+009F),
 * except tab, line feed and a carriage return that ends a line (CRLF). Invisible
 * controls are refused rather than stripped: they can hide text from one reader and
 * not another (a terminal, a mail client, the policy scanner). *chars, when not NULL,
 * receives the number of code points (a CRLF counted as one, as after normalising);
 * *at, when not NULL, the byte offset of the first control character. */
pl_text_fault pl_utf8_text(const char *s, size_t len, size_t *chars, size_t *at);

/* Rewrites every CRLF of s[0..len) as LF, in place, and NUL-terminates; returns the new
 * length. */
size_t pl_utf8_lf(char *s, size_t len);

#endif
