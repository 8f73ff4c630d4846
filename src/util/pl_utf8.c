/* pl_utf8.c - a strict UTF-8 validator (RFC 3629) that also counts code points. */
#include "util/pl_utf8.h"

#include <stdint.h>

bool pl_utf8_valid(const char *str, size_t len, size_t *chars) {
  const unsigned char *s = (const unsigned char *)str;
  size_t i = 0, n = 0;
  while (i < len) {
    unsigned char c = s[i];
    if (c == 0) return false;
    if (c < 0x80) {
      i++;
    } else {
      size_t need;
      uint32_t cp;
      if (c >= 0xC2 && c <= 0xDF) need = 1, cp = c & 0x1F;
      else if (c >= 0xE0 && c <= 0xEF) need = 2, cp = c & 0x0F;
      else if (c >= 0xF0 && c <= 0xF4) need = 3, cp = c & 0x07;
      else return false;
      if (len - i <= need) return false;
      for (size_t k = 1; k <= need; k++) {
        if ((s[i + k] & 0xC0) != 0x80) return false;
        cp = (cp << 6) | (s[i + k] & 0x3F);
      }
      if ((need == 2 && cp < 0x800) || (need == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
          (cp >= 0xD800 && cp <= 0xDFFF))
        return false;
      i += need + 1;
    }
    n++;
  }
  if (chars) *chars = n;
  return true;
}

/* Unicode White_Space (PropList.txt): the characters a text "only of spaces" may hold. */
static bool white_space(uint32_t c) {
  return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
         c == 0x205F || c == 0x3000;
}

bool pl_utf8_blank(const char *str, size_t len) {
  const unsigned char *s = (const unsigned char *)str;
  size_t i = 0;
  while (i < len) {
    uint32_t c = s[i];
    size_t n = 1;
    if (c >= 0xF0 && i + 3 < len) c = (c & 0x07) << 18 | (s[i + 1] & 0x3Fu) << 12 | (s[i + 2] & 0x3Fu) << 6 | (s[i + 3] & 0x3Fu), n = 4;
    else if (c >= 0xE0 && i + 2 < len) c = (c & 0x0F) << 12 | (s[i + 1] & 0x3Fu) << 6 | (s[i + 2] & 0x3Fu), n = 3;
    else if (c >= 0xC0 && i + 1 < len) c = (c & 0x1F) << 6 | (s[i + 1] & 0x3Fu), n = 2;
    if (!white_space(c)) return false;
    i += n;
  }
  return true;
}

pl_text_fault pl_utf8_text(const char *str, size_t len, size_t *chars, size_t *at) {
  const unsigned char *s = (const unsigned char *)str;
  size_t n = 0;
  if (at) *at = 0;
  if (!pl_utf8_valid(str, len, &n)) return PL_TEXT_INVALID_UTF8;
  size_t crlf = 0;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = s[i];
    bool bad = false;
    if (c < 0x20) {
      if (c == '\r' && i + 1 < len && s[i + 1] == '\n') crlf++;
      else bad = c != '\t' && c != '\n';
    } else if (c == 0x7F) {
      bad = true;
    } else if (c == 0xC2 && i + 1 < len && s[i + 1] >= 0x80 && s[i + 1] <= 0x9F) {
      bad = true; /* C1 controls, U+0080-U+009F, are C2 80..C2 9F */
    }
    if (bad) {
      if (at) *at = i;
      return PL_TEXT_CONTROL;
    }
  }
  if (chars) *chars = n - crlf;
  return PL_TEXT_OK;
}

size_t pl_utf8_lf(char *s, size_t len) {
  size_t o = 0;
  for (size_t i = 0; i < len; i++) {
    if (s[i] == '\r' && i + 1 < len && s[i + 1] == '\n') continue;
    s[o++] = s[i];
  }
  s[o] = '\0';
  return o;
}
