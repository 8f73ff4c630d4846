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

#endif
