/* extract_txt.c - plain text in any common charset, and the best-effort reading of
 * legacy Word (.doc) binaries by scanning them for runs of text. */
#include "extract/extract_int.h"

#include <stdlib.h>
#include <string.h>
#include <unicode/ucnv.h>

#include "util/pl_utf8.h"

/* Converts with ICU; invalid input becomes U+FFFD (ICU's default substitution). */
static char *convert(pl_arena *a, const char *from, const uint8_t *data, size_t len,
                     size_t *out_len) {
  /* UTF-8 needs at most 3 bytes for each input byte of any of the charsets used here
   * (a single byte of Windows-1252, half a UTF-16 unit, a quarter of UTF-32). */
  size_t cap = len * 3 + 4;
  char *out = pl_arena_alloc(a, cap);
  UErrorCode err = U_ZERO_ERROR;
  if (len > INT32_MAX / 4) len = INT32_MAX / 4; /* ICU counts in int32; 10 MB is far below */
  int32_t n = ucnv_convert("UTF-8", from, out, (int32_t)cap, (const char *)data,
                           (int32_t)len, &err);
  if (U_FAILURE(err) || n < 0) n = 0;
  out[n] = '\0';
  *out_len = (size_t)n;
  return out;
}

/* UTF-16 without a byte-order mark betrays itself by a zero byte in every unit of
 * Latin-script text: most units must be an ASCII character or line break with a zero
 * high byte, and none NUL (binary data has runs of those). Returns "UTF-16LE",
 * "UTF-16BE" or NULL. */
static const char *bomless_utf16(const uint8_t *data, size_t len) {
  if (len < 8 || len % 2) return NULL;
  size_t n = len < 8192 ? len : 8192, le = 0, be = 0, units = n / 2;
  for (size_t i = 0; i < n; i += 2) {
    uint8_t a = data[i], b = data[i + 1];
    if (!a && !b) return NULL;
    le += !b && ((a >= 0x20 && a < 0x7F) || a == '\n' || a == '\r' || a == '\t');
    be += !a && ((b >= 0x20 && b < 0x7F) || b == '\n' || b == '\r' || b == '\t');
  }
  if (le * 10 >= units * 8) return "UTF-16LE";
  if (be * 10 >= units * 8) return "UTF-16BE";
  return NULL;
}

bool extract__utf16_text(const uint8_t *data, size_t len) {
  return bomless_utf16(data, len) != NULL;
}

char *extract__to_utf8(pl_arena *a, const uint8_t *data, size_t len, size_t *out_len) {
  if (len >= 4 && !memcmp(data, "\xFF\xFE\0\0", 4))
    return convert(a, "UTF-32LE", data + 4, len - 4, out_len);
  if (len >= 4 && !memcmp(data, "\0\0\xFE\xFF", 4))
    return convert(a, "UTF-32BE", data + 4, len - 4, out_len);
  if (len >= 3 && !memcmp(data, "\xEF\xBB\xBF", 3)) {
    *out_len = len - 3;
    return pl_arena_strndup(a, (const char *)data + 3, len - 3);
  }
  if (len >= 2 && !memcmp(data, "\xFF\xFE", 2))
    return convert(a, "UTF-16LE", data + 2, len - 2, out_len);
  if (len >= 2 && !memcmp(data, "\xFE\xFF", 2))
    return convert(a, "UTF-16BE", data + 2, len - 2, out_len);
  /* pl_utf8_valid refuses NUL, which UTF-16 has and text does not. */
  if (pl_utf8_valid((const char *)data, len, NULL)) {
    *out_len = len;
    return pl_arena_strndup(a, (const char *)data, len);
  }
  const char *u16 = bomless_utf16(data, len);
  if (u16) return convert(a, u16, data, len, out_len);
  /* Windows-1252 is a superset of Latin-1's printable range, and what legacy text
   * from the marketplace's regions is written in. */
  return convert(a, "windows-1252", data, len, out_len);
}

void extract__txt(const uint8_t *data, size_t len, extract__out *o) {
  size_t n;
  char *text = extract__to_utf8(o->arena, data, len, &n);
  extract__add(o, 0, EXTRACT_SRC_TEXT, text, n);
}

/* ---- legacy Word ---------------------------------------------------------------
 * A .doc is an OLE2 compound file whose WordDocument stream stores the text as
 * Windows-1252 bytes or UTF-16LE units, in pieces the piece table orders. Rather than
 * parse the piece table (and the whole compound-file format with it), the reader
 * keeps every run of at least MIN_RUN printable characters in either encoding. That
 * finds the body, headers, footers and field codes (HYPERLINK "..."), in storage
 * order, plus some property names; it misses text in embedded objects and images. */

#define MIN_RUN 4

static const uint16_t cp1252_high[32] = {
    0x20AC, 0, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
    0x2039, 0x0152, 0,      0x017D, 0,      0,      0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
    0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0,      0x017E, 0x0178};

static uint32_t cp1252(uint8_t b) {
  if (b >= 0x80 && b < 0xA0) return cp1252_high[b - 0x80];
  return b;
}

static bool printable(uint32_t c) {
  return (c >= 0x20 && c < 0x7F) || c == '\t' || c == '\r' || c == '\n' ||
         (c >= 0xA0 && c < 0x250) || (c >= 0x2010 && c < 0x2070) || c == 0x20AC ||
         c == 0x2122;
}

static size_t put_utf8(char *p, uint32_t c) {
  if (c < 0x80) return p[0] = (char)c, 1;
  if (c < 0x800) return p[0] = (char)(0xC0 | c >> 6), p[1] = (char)(0x80 | (c & 0x3F)), 2;
  p[0] = (char)(0xE0 | c >> 12);
  p[1] = (char)(0x80 | ((c >> 6) & 0x3F));
  p[2] = (char)(0x80 | (c & 0x3F));
  return 3;
}

void extract__doc(const uint8_t *data, size_t len, extract__out *o) {
  /* Runs are joined by newlines into one buffer. One input byte yields at most 3 bytes
   * of UTF-8 in each of the three scans (8-bit, UTF-16 at either alignment), plus a
   * newline per run of at least MIN_RUN bytes. */
  char *buf = pl_xmalloc(len * 10 + 16);
  size_t n = 0;
  /* 8-bit runs. */
  for (size_t i = 0; i < len;) {
    size_t j = i;
    while (j < len && data[j] && printable(cp1252(data[j]))) j++;
    if (j - i >= MIN_RUN) {
      for (size_t k = i; k < j; k++) n += put_utf8(buf + n, cp1252(data[k]));
      buf[n++] = '\n';
    }
    i = j + 1;
  }
  /* UTF-16LE runs, at both alignments. */
  for (size_t start = 0; start < 2; start++) {
    for (size_t i = start; i + 1 < len;) {
      size_t j = i;
      while (j + 1 < len && printable((uint32_t)data[j] | (uint32_t)data[j + 1] << 8)) j += 2;
      if ((j - i) / 2 >= MIN_RUN) {
        for (size_t k = i; k < j; k += 2)
          n += put_utf8(buf + n, (uint32_t)data[k] | (uint32_t)data[k + 1] << 8);
        buf[n++] = '\n';
      }
      i = j + 2;
    }
  }
  extract__add(o, 0, EXTRACT_SRC_TEXT, buf, n);
  free(buf);
}
