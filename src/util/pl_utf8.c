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

bool pl_utf8_blank(const char *str, size_t len) {
  const unsigned char *s = (const unsigned char *)str;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = s[i];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f') continue;
    if (c == 0xC2 && i + 1 < len && s[i + 1] == 0xA0) { /* no-break space */
      i++;
      continue;
    }
    return false;
  }
  return true;
}
