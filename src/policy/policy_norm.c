/* policy_norm.c - the decode, normalise and de-obfuscate stages, each keeping a byte map to the original. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unicode/uchar.h>
#include <unicode/uscript.h>
#include <unicode/utf16.h>

#include "policy/policy_int.h"

/* ---- UTF-8 ---------------------------------------------------------------- */

int32_t policy__u8_next(const char *str, size_t len, size_t *i) {
  const unsigned char *s = (const unsigned char *)str;
  size_t p = *i;
  unsigned c = s[p];
  if (c < 0x80) {
    *i = p + 1;
    return (int32_t)c;
  }
  int n;
  uint32_t cp, min;
  if ((c & 0xE0) == 0xC0) n = 1, cp = c & 0x1F, min = 0x80;
  else if ((c & 0xF0) == 0xE0) n = 2, cp = c & 0x0F, min = 0x800;
  else if ((c & 0xF8) == 0xF0) n = 3, cp = c & 0x07, min = 0x10000;
  else return -1;
  if (p + (size_t)n >= len) return -1;
  for (int k = 1; k <= n; k++) {
    unsigned cc = s[p + (size_t)k];
    if ((cc & 0xC0) != 0x80) return -1;
    cp = (cp << 6) | (cc & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return -1;
  *i = p + (size_t)n + 1;
  return (int32_t)cp;
}

size_t policy__u8_put(char *out, int32_t c) {
  unsigned char *o = (unsigned char *)out;
  uint32_t u = (uint32_t)c;
  if (u < 0x80) {
    o[0] = (unsigned char)u;
    return 1;
  }
  if (u < 0x800) {
    o[0] = (unsigned char)(0xC0 | (u >> 6));
    o[1] = (unsigned char)(0x80 | (u & 0x3F));
    return 2;
  }
  if (u < 0x10000) {
    o[0] = (unsigned char)(0xE0 | (u >> 12));
    o[1] = (unsigned char)(0x80 | ((u >> 6) & 0x3F));
    o[2] = (unsigned char)(0x80 | (u & 0x3F));
    return 3;
  }
  o[0] = (unsigned char)(0xF0 | (u >> 18));
  o[1] = (unsigned char)(0x80 | ((u >> 12) & 0x3F));
  o[2] = (unsigned char)(0x80 | ((u >> 6) & 0x3F));
  o[3] = (unsigned char)(0x80 | (u & 0x3F));
  return 4;
}

/* ---- buffers with maps ------------------------------------------------------ */

void policy__buf_init(policy__scan *sc, policy__buf *b, size_t cap) {
  if (cap < 16) cap = 16;
  b->s = pl_arena_alloc(sc->mem, cap + 1);
  b->beg = pl_arena_alloc(sc->mem, cap * sizeof(uint32_t));
  b->end = pl_arena_alloc(sc->mem, cap * sizeof(uint32_t));
  b->len = 0;
  b->cap = cap;
  b->s[0] = '\0';
}

static void buf_grow(policy__scan *sc, policy__buf *b, size_t need) {
  size_t cap = b->cap * 2;
  while (cap < need) cap *= 2;
  char *s = pl_arena_alloc(sc->mem, cap + 1);
  uint32_t *beg = pl_arena_alloc(sc->mem, cap * sizeof(uint32_t));
  uint32_t *end = pl_arena_alloc(sc->mem, cap * sizeof(uint32_t));
  memcpy(s, b->s, b->len);
  memcpy(beg, b->beg, b->len * sizeof(uint32_t));
  memcpy(end, b->end, b->len * sizeof(uint32_t));
  b->s = s, b->beg = beg, b->end = end, b->cap = cap;
}

void policy__buf_put(policy__scan *sc, policy__buf *b, const char *s, size_t n, uint32_t beg,
                     uint32_t end) {
  if (b->len + n > b->cap) buf_grow(sc, b, b->len + n);
  for (size_t k = 0; k < n; k++) {
    b->s[b->len] = s[k];
    b->beg[b->len] = beg;
    b->end[b->len] = end;
    b->len++;
  }
  b->s[b->len] = '\0';
}

static inline void buf_putc(policy__scan *sc, policy__buf *b, char c, uint32_t beg, uint32_t end) {
  if (b->len + 1 > b->cap) buf_grow(sc, b, b->len + 1);
  b->s[b->len] = c;
  b->beg[b->len] = beg;
  b->end[b->len] = end;
  b->len++;
  b->s[b->len] = '\0';
}

/* ---- decode: HTML to text ------------------------------------------------- */

/* Whether s[i] == '<' opens a tag. "<https://...>", "<mailto:...>", "<www.x.com>" and
 * "<jane@x.com>" are not tags but addresses in angle brackets, as mail clients write them
 * in plain text: read as tags, they would vanish from the scan. */
static bool tag_start(const char *s, size_t n, size_t i) {
  if (i + 1 >= n || s[i] != '<') return false;
  unsigned char c = (unsigned char)s[i + 1];
  if (c == '/' || c == '!') return true;
  if (!isalpha(c)) return false;
  size_t j = i + 1;
  while (j < n && (isalnum((unsigned char)s[j]) || s[j] == '-' || s[j] == '+')) j++;
  return !(j < n && (s[j] == ':' || s[j] == '@' || s[j] == '.'));
}

static bool looks_like_html(const char *s, size_t n) {
  for (size_t i = 0; i + 1 < n; i++) {
    const char *lt = memchr(s + i, '<', n - 1 - i);
    if (!lt) return false;
    i = (size_t)(lt - s);
    if (!tag_start(s, n, i)) continue;
    if (memchr(s + i, '>', n - i)) return true;
  }
  return false;
}

static const struct {
  const char *name;
  int32_t cp;
} entities[] = {
  {"amp", '&'},    {"lt", '<'},     {"gt", '>'},      {"quot", '"'},    {"apos", '\''},
  {"nbsp", 0xA0},  {"copy", 0xA9},  {"reg", 0xAE},    {"trade", 0x2122}, {"euro", 0x20AC},
  {"pound", 0xA3}, {"hellip", 0x2026}, {"ndash", 0x2013}, {"mdash", 0x2014}, {"rsquo", 0x2019},
  {"lsquo", 0x2018}, {"rdquo", 0x201D}, {"ldquo", 0x201C}, {"zwj", 0x200D}, {"zwnj", 0x200C},
  {"shy", 0xAD},   {"bull", 0x2022}, {"middot", 0xB7}, {"deg", 0xB0},
};

/* Decodes the entity at s[i] ('&'); returns its length or 0 if it is none. */
static size_t decode_entity(const char *s, size_t n, size_t i, int32_t *cp) {
  size_t j = i + 1;
  if (j < n && s[j] == '#') {
    j++;
    int base = 10;
    if (j < n && (s[j] == 'x' || s[j] == 'X')) base = 16, j++;
    uint32_t v = 0;
    size_t d0 = j;
    while (j < n && j - d0 < 8 && (base == 16 ? isxdigit((unsigned char)s[j]) : isdigit((unsigned char)s[j]))) {
      int dv = isdigit((unsigned char)s[j]) ? s[j] - '0' : (tolower((unsigned char)s[j]) - 'a' + 10);
      v = v * (uint32_t)base + (uint32_t)dv;
      j++;
    }
    if (j == d0 || j >= n || s[j] != ';') return 0;
    if (v == 0 || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) v = 0xFFFD;
    *cp = (int32_t)v;
    return j + 1 - i;
  }
  size_t k = j;
  while (k < n && k - j < 10 && isalnum((unsigned char)s[k])) k++;
  if (k >= n || s[k] != ';') return 0;
  for (size_t e = 0; e < sizeof entities / sizeof entities[0]; e++)
    if (strlen(entities[e].name) == k - j && !memcmp(entities[e].name, s + j, k - j)) {
      *cp = entities[e].cp;
      return k + 1 - i;
    }
  return 0;
}

static bool tag_is(const char *name, size_t n, const char *want) {
  return strlen(want) == n && !strncasecmp(name, want, n);
}

static bool is_remote_url(const char *v, size_t n) {
  return (n >= 5 && !strncasecmp(v, "http:", 5)) || (n >= 6 && !strncasecmp(v, "https:", 6)) ||
         (n >= 2 && v[0] == '/' && v[1] == '/');
}

/* Parses one tag at s[i] == '<'; returns the index after it. Emits the href of
 * anchors as text (so the link detector sees it) and remote images as findings. */
static size_t decode_tag(policy__scan *sc, size_t i, bool *skip_until_close, char *skip_name) {
  const char *s = sc->orig;
  size_t n = sc->orig_len;
  if (i + 3 < n && !memcmp(s + i, "<!--", 4)) {
    const char *e = NULL;
    for (size_t k = i + 4; k + 2 < n; k++)
      if (!memcmp(s + k, "-->", 3)) {
        e = s + k;
        break;
      }
    return e ? (size_t)(e - s) + 3 : n;
  }
  size_t j = i + 1;
  bool closing = false;
  if (j < n && s[j] == '/') closing = true, j++;
  size_t name0 = j;
  while (j < n && (isalnum((unsigned char)s[j]) || s[j] == '!')) j++;
  size_t namelen = j - name0;
  const char *name = s + name0;
  bool img = !closing && tag_is(name, namelen, "img");
  bool anchor = !closing && tag_is(name, namelen, "a");
  int w1 = 0, h1 = 0;
  size_t src0 = 0, srcn = 0;
  /* attributes */
  while (j < n && s[j] != '>') {
    if (isspace((unsigned char)s[j]) || s[j] == '/') {
      j++;
      continue;
    }
    size_t a0 = j;
    while (j < n && !isspace((unsigned char)s[j]) && s[j] != '=' && s[j] != '>' && s[j] != '/') j++;
    size_t alen = j - a0;
    if (alen == 0) {
      j++;
      continue;
    }
    while (j < n && isspace((unsigned char)s[j])) j++;
    size_t v0 = j, vn = 0;
    if (j < n && s[j] == '=') {
      j++;
      while (j < n && isspace((unsigned char)s[j])) j++;
      if (j < n && (s[j] == '"' || s[j] == '\'')) {
        char q = s[j++];
        v0 = j;
        while (j < n && s[j] != q) j++;
        vn = j - v0;
        if (j < n) j++;
      } else {
        v0 = j;
        while (j < n && !isspace((unsigned char)s[j]) && s[j] != '>') j++;
        vn = j - v0;
      }
    }
    const char *an = s + a0;
    if ((tag_is(an, alen, "src") || tag_is(an, alen, "background") || tag_is(an, alen, "srcset")) &&
        is_remote_url(s + v0, vn)) {
      if (img) src0 = v0, srcn = vn;
      else policy__hit_add(sc, POLICY_CAT_LINK, POLICY_SEV_HIGH, "html.remote_resource", v0, v0 + vn);
    }
    if (tag_is(an, alen, "width") && vn >= 1 && vn <= 3 && s[v0] <= '1') w1 = 1;
    if (tag_is(an, alen, "height") && vn >= 1 && vn <= 3 && s[v0] <= '1') h1 = 1;
    if (anchor && tag_is(an, alen, "href") && vn > 0) {
      buf_putc(sc, &sc->dec, ' ', (uint32_t)v0, (uint32_t)v0);
      for (size_t k = 0; k < vn; k++)
        buf_putc(sc, &sc->dec, s[v0 + k], (uint32_t)(v0 + k), (uint32_t)(v0 + k + 1));
      buf_putc(sc, &sc->dec, ' ', (uint32_t)(v0 + vn), (uint32_t)(v0 + vn));
    }
  }
  if (j < n) j++; /* '>' */
  if (img && srcn)
    policy__hit_add(sc, POLICY_CAT_LINK, POLICY_SEV_HIGH,
                    (w1 && h1) ? "html.tracking_pixel" : "html.remote_image", src0, src0 + srcn);
  if (!closing && (tag_is(name, namelen, "script") || tag_is(name, namelen, "style"))) {
    *skip_until_close = true;
    memcpy(skip_name, name, namelen);
    skip_name[namelen] = '\0';
  }
  static const char *const blocks[] = {"br", "p", "div", "li", "tr", "h1", "h2", "h3", "h4",
                                       "h5", "h6", "table", "ul", "ol", "hr", "blockquote"};
  for (size_t b = 0; b < sizeof blocks / sizeof blocks[0]; b++)
    if (tag_is(name, namelen, blocks[b])) {
      buf_putc(sc, &sc->dec, '\n', (uint32_t)i, (uint32_t)j);
      break;
    }
  return j;
}

void policy__decode(policy__scan *sc) {
  const char *s = sc->orig;
  size_t n = sc->orig_len;
  policy__buf_init(sc, &sc->dec, n + 16);
  if (!looks_like_html(s, n)) {
    memcpy(sc->dec.s, s, n);
    sc->dec.s[n] = '\0';
    for (size_t i = 0; i < n; i++) sc->dec.beg[i] = (uint32_t)i, sc->dec.end[i] = (uint32_t)i + 1;
    sc->dec.len = n;
    return;
  }
  bool skipping = false;
  char skip_name[16] = "";
  size_t i = 0;
  while (i < n) {
    if (tag_start(s, n, i)) {
      if (skipping) {
        size_t sl = strlen(skip_name);
        if (s[i + 1] == '/' && i + 2 + sl <= n && !strncasecmp(s + i + 2, skip_name, sl))
          skipping = false;
        else {
          i++;
          continue;
        }
      }
      i = decode_tag(sc, i, &skipping, skip_name);
      continue;
    }
    if (skipping) {
      i++;
      continue;
    }
    if (s[i] == '&') {
      int32_t cp;
      size_t el = decode_entity(s, n, i, &cp);
      if (el) {
        char u[4];
        size_t ul = policy__u8_put(u, cp);
        policy__buf_put(sc, &sc->dec, u, ul, (uint32_t)i, (uint32_t)(i + el));
        i += el;
        continue;
      }
    }
    buf_putc(sc, &sc->dec, s[i], (uint32_t)i, (uint32_t)i + 1);
    i++;
  }
}

/* ---- normalise ------------------------------------------------------------ */

/* Characters that carry nothing visible and are used to break up words. */
static bool invisible(int32_t c) {
  if (c == 0x200B || c == 0x200C || c == 0x200D || c == 0x2060 || c == 0xFEFF || c == 0x00AD ||
      c == 0x034F || c == 0x180E || c == 0x061C || (c >= 0x200E && c <= 0x200F) ||
      (c >= 0x202A && c <= 0x202E) || (c >= 0x2066 && c <= 0x2069))
    return true;
  return u_hasBinaryProperty(c, UCHAR_DEFAULT_IGNORABLE_CODE_POINT) != 0;
}

/* Folds one non-ASCII code point into out (UTF-8): NFKC with case folding, marks
 * dropped, look-alikes of other scripts replaced by their Latin skeleton. */
static size_t fold_cp(const policy_config *cfg, int32_t c, char *out, size_t cap) {
  UErrorCode st = U_ZERO_ERROR;
  UChar src[2], a[32], b[64];
  int32_t sl = 0;
  U16_APPEND_UNSAFE(src, sl, c);
  int32_t al = unorm2_normalize(cfg->nfkc_cf, src, sl, a, 32, &st);
  if (U_FAILURE(st)) return 0;
  st = U_ZERO_ERROR;
  int32_t bl = unorm2_normalize(cfg->nfd, a, al, b, 64, &st);
  if (U_FAILURE(st)) return 0;
  size_t o = 0;
  for (int32_t k = 0; k < bl;) {
    UChar32 d;
    U16_NEXT(b, k, bl, d);
    int8_t t = u_charType(d);
    if (t == U_NON_SPACING_MARK || t == U_ENCLOSING_MARK || invisible(d)) continue;
    if (d >= 0x80) {
      if (t == U_DASH_PUNCTUATION) d = '-';
      else if (d == 0x2018 || d == 0x2019 || d == 0x201B || d == 0x2032 || d == 0x02BC || d == 0x00B4)
        d = '\'';
      else if (d == 0x201C || d == 0x201D || d == 0x201E || d == 0x00AB || d == 0x00BB) d = '"';
      else if (u_isdigit(d) && u_charDigitValue(d) >= 0) d = '0' + u_charDigitValue(d);
      else if (u_isalpha(d)) {
        UErrorCode es = U_ZERO_ERROR;
        UScriptCode sc = uscript_getScript(d, &es);
        if (U_SUCCESS(es) && sc != USCRIPT_LATIN && sc != USCRIPT_COMMON && sc != USCRIPT_INHERITED) {
          UChar one[2], sk[16];
          int32_t ol = 0;
          U16_APPEND_UNSAFE(one, ol, d);
          UErrorCode ks = U_ZERO_ERROR;
          int32_t kl = uspoof_getSkeleton(cfg->spoof, 0, one, ol, sk, 16, &ks);
          bool ascii = U_SUCCESS(ks) && kl > 0;
          for (int32_t q = 0; ascii && q < kl; q++)
            if (sk[q] >= 0x80 || !isalnum(sk[q])) ascii = false;
          if (ascii) {
            for (int32_t q = 0; q < kl && o < cap; q++) out[o++] = (char)tolower(sk[q]);
            continue;
          }
        }
      }
    }
    if (o + 4 > cap) break;
    if (d < 0x80) out[o++] = (char)tolower((int)d);
    else o += policy__u8_put(out + o, d);
  }
  return o;
}

typedef struct {
  int32_t cp;
  uint8_t n;
  char out[14];
} fold_entry;

#define FOLD_CACHE 64

static inline bool ascii_space(unsigned char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* Writes the normalised form of [from, to) of src into dst. keep_ascii leaves ASCII
 * as written (for regular expressions); otherwise whitespace collapses to one space
 * and letters fold to lower case. */
static void normalize_into(policy__scan *sc, const policy__buf *src, policy__buf *dst, bool keep_ascii) {
  const policy_config *cfg = sc->cfg;
  fold_entry cache[FOLD_CACHE];
  for (size_t k = 0; k < FOLD_CACHE; k++) cache[k].cp = -1;
  const char *s = src->s;
  size_t n = src->len;
  bool pending = false;
  uint32_t sp_beg = 0, sp_end = 0;
  size_t i = 0;
  while (i < n) {
    unsigned char ch = (unsigned char)s[i];
    if (ch < 0x80) {
      /* fast path: plain ASCII */
      if (!keep_ascii && ascii_space(ch)) {
        if (!pending) sp_beg = src->beg[i];
        pending = true;
        sp_end = src->end[i];
        i++;
        continue;
      }
      if (pending && dst->len > 0) buf_putc(sc, dst, ' ', sp_beg, sp_end);
      pending = false;
      /* the whole run of ASCII up to the next space goes across at once */
      size_t j = i + 1;
      while (j < n && (unsigned char)s[j] < 0x80 && (keep_ascii || !ascii_space((unsigned char)s[j]))) j++;
      size_t run = j - i;
      if (dst->len + run > dst->cap) buf_grow(sc, dst, dst->len + run);
      char *o = dst->s + dst->len;
      if (keep_ascii) memcpy(o, s + i, run);
      else
        for (size_t k = 0; k < run; k++) {
          unsigned char b = (unsigned char)s[i + k];
          o[k] = (char)(b + ((unsigned)(b - 'A') < 26u ? 32 : 0));
        }
      memcpy(dst->beg + dst->len, src->beg + i, run * sizeof(uint32_t));
      memcpy(dst->end + dst->len, src->end + i, run * sizeof(uint32_t));
      dst->len += run;
      dst->s[dst->len] = '\0';
      i = j;
      continue;
    }
    size_t i0 = i;
    int32_t c = policy__u8_next(s, n, &i);
    if (c < 0) { /* not reached for validated input; keep going byte-wise */
      i = i0 + 1;
      continue;
    }
    uint32_t b = src->beg[i0], e = src->end[i - 1];
    if (invisible(c)) continue;
    if (u_isUWhiteSpace(c)) {
      if (!keep_ascii) {
        if (!pending) sp_beg = b;
        pending = true;
        sp_end = e;
        continue;
      }
    }
    if (pending && dst->len > 0) buf_putc(sc, dst, ' ', sp_beg, sp_end);
    pending = false;
    fold_entry *fe = &cache[(uint32_t)c % FOLD_CACHE];
    if (fe->cp != c) {
      fe->cp = c;
      fe->n = (uint8_t)fold_cp(cfg, c, fe->out, sizeof fe->out);
    }
    policy__buf_put(sc, dst, fe->out, fe->n, b, e);
  }
}

void policy__normalize(policy__scan *sc) {
  policy__buf_init(sc, &sc->norm, sc->dec.len + 16);
  normalize_into(sc, &sc->dec, &sc->norm, false);
}

static char *normalize_str(const policy_config *cfg, pl_arena *m, const char *s, size_t n, bool keep_ascii) {
  policy__scan sc = {.cfg = cfg, .mem = m, .orig = s, .orig_len = n};
  policy__buf in;
  policy__buf_init(&sc, &in, n + 1);
  for (size_t i = 0; i < n; i++) buf_putc(&sc, &in, s[i], (uint32_t)i, (uint32_t)i + 1);
  policy__buf out;
  policy__buf_init(&sc, &out, n + 16);
  normalize_into(&sc, &in, &out, keep_ascii);
  return out.s;
}

char *policy__normalize_phrase(const policy_config *cfg, pl_arena *m, const char *s, size_t n) {
  return normalize_str(cfg, m, s, n, false);
}

char *policy__normalize_regex(const policy_config *cfg, pl_arena *m, const char *s, size_t n) {
  return normalize_str(cfg, m, s, n, true);
}

/* ---- de-obfuscate --------------------------------------------------------- */

static bool is_alnum(char c) { return isalnum((unsigned char)c) != 0; }

/* The word at s[i] (up to a space or end) equals w. */
static bool word_is(const char *s, size_t n, size_t i, const char *w) {
  size_t l = strlen(w);
  return i + l <= n && !memcmp(s + i, w, l) && (i + l == n || s[i + l] == ' ');
}

static const char *const common_tlds[] = {"com", "net", "org", "de", "es", "fr", "it", "co", "uk", "eu",
                                          "info", "shop", "store", "online", "io", "at", "ch", "nl",
                                          "be", "us", "biz", "me", "ly", "mx", "ar", "cl", "pe", "br", "pt",
                                          "pl", "ie", "nz", NULL};

static bool next_is_tld(const char *s, size_t n, size_t i) {
  for (size_t k = 0; common_tlds[k]; k++) {
    size_t l = strlen(common_tlds[k]);
    if (i + l <= n && !memcmp(s + i, common_tlds[k], l) && (i + l == n || !is_alnum(s[i + l])))
      return true;
  }
  return false;
}

/* TLDs that are also common words after "punto"/"point" ("el punto es que", "ese
 * punto me parece"): taken as a TLD only where the text or the sentence ends. */
static const char *const word_tlds[] = {"es", "me", "at", "be", "us", "it", "co", "pe", NULL};

static bool tld_is_word(const char *s, size_t n, size_t i) {
  for (size_t k = 0; word_tlds[k]; k++)
    if (word_is(s, n, i, word_tlds[k]) || (i + 2 < n && !memcmp(s + i, word_tlds[k], 2) && !is_alnum(s[i + 2])))
      return true;
  return false;
}

static bool tld_ends_text(const char *s, size_t n, size_t i) {
  size_t e = i;
  while (e < n && is_alnum(s[e])) e++;
  return e == n || s[e] != ' ';
}

/* Length of the run of one-character tokens starting at i ("w w w . s h o p"). */
static size_t spaced_run(const char *s, size_t n, size_t i) {
  size_t t = 0;
  while (i < n) {
    char c = s[i];
    if (!(is_alnum(c) || c == '.' || c == '@' || c == '/' || c == ':')) break;
    if (i + 1 < n && s[i + 1] != ' ') break;
    t++;
    i += 2;
  }
  return t;
}

static void out_trim_space(policy__buf *o) {
  while (o->len && o->s[o->len - 1] == ' ') o->len--;
  o->s[o->len] = '\0';
}

/* Bytes that may begin something to undo. */
static const unsigned char deob_first[256] = {[' '] = 1, ['['] = 1, ['('] = 1, ['{'] = 1, ['<'] = 1, ['h'] = 1};

/* The next position from j where something to undo may start: a bracket, "hx", a
 * space before a spelled-out dot or at (or before " . " and " @ "), a letter
 * standing alone between spaces. s is NUL-terminated at n. */
static size_t deob_next(const char *s, size_t n, size_t j) {
  for (; j < n; j++) {
    unsigned char c = (unsigned char)s[j];
    if (!deob_first[c]) continue;
    if (c == 'h') {
      if (s[j + 1] == 'x') return j;
      continue;
    }
    if (c != ' ') return j;
    if (j + 1 >= n) return n;
    char a = s[j + 1], b = s[j + 2]; /* b is at most the terminating NUL */
    switch (a) {
    case '.': case '@': return j;
    case 'd': if (b == 'o') return j; break;
    case 'p': if (b == 'u' || b == 'o') return j; break;
    case 'a': if (b == 't' || b == 'r') return j; break;
    case 'c': if (b == 'h') return j; break;
    default: break;
    }
    if (b == ' ' && is_alnum(a)) return j + 1;
  }
  return n;
}

static inline bool a_alpha(char c) { return (unsigned)((c | 32) - 'a') < 26; }

void policy__deobfuscate(policy__scan *sc) {
  const policy__buf *in = &sc->norm;
  const char *s = in->s;
  size_t n = in->len;
  policy__buf *o = &sc->deob;
  size_t first = n > 1 && s[1] == ' ' && is_alnum(s[0]) ? 0 : deob_next(s, n, 0);
  if (first == n) { /* nothing to undo: the view is norm itself */
    *o = *in;
    sc->deob_flags = pl_arena_alloc(sc->mem, n + 1);
    memset(sc->deob_flags, 0, n + 1);
    return;
  }
  policy__buf_init(sc, o, n + 16);
  sc->deob_flags = pl_arena_alloc(sc->mem, o->cap);
  size_t flags_cap = o->cap;
  memset(sc->deob_flags, 0, flags_cap);
#define EMIT(str_, n_, b_, e_, fl_)                                                    \
  do {                                                                                   \
    policy__buf_put(sc, o, (str_), (n_), (b_), (e_));                                   \
    if (o->cap > flags_cap) {                                                            \
      uint8_t *nf = pl_arena_alloc(sc->mem, o->cap);                                   \
      memset(nf, 0, o->cap);                                                             \
      memcpy(nf, sc->deob_flags, flags_cap);                                             \
      sc->deob_flags = nf;                                                               \
      flags_cap = o->cap;                                                                \
    }                                                                                    \
    for (size_t q_ = o->len - (n_); q_ < o->len; q_++) sc->deob_flags[q_] = (fl_);      \
  } while (0)
  size_t i = 0;
  while (i < n) {
    char c = s[i];
    bool wstart = i == 0 || !is_alnum(s[i - 1]);
    /* hxxp, hxxps */
    if (c == 'h' && wstart && i + 4 <= n && !memcmp(s + i, "hxxp", 4)) {
      EMIT("http", 4, in->beg[i], in->end[i + 3], POLICY__SPELLED_BRACKET);
      i += 4;
      continue;
    }
    /* [.] (dot) {at} (@) ... */
    if (c == '[' || c == '(' || c == '{' || c == '<') {
      char close = c == '[' ? ']' : c == '(' ? ')' : c == '{' ? '}' : '>';
      size_t j = i + 1;
      while (j < n && s[j] == ' ') j++;
      size_t w0 = j;
      while (j < n && j - w0 < 12 && s[j] != close && s[j] != ' ') j++;
      size_t w1 = j;
      while (j < n && s[j] == ' ') j++;
      if (j < n && s[j] == close && w1 > w0) {
        const char *w = s + w0;
        size_t wl = w1 - w0;
        const char *rep = NULL;
        if ((wl == 1 && w[0] == '.') || (wl == 3 && !memcmp(w, "dot", 3)) ||
            (wl == 5 && (!memcmp(w, "punkt", 5) || !memcmp(w, "punto", 5) || !memcmp(w, "point", 5))))
          rep = ".";
        else if ((wl == 1 && w[0] == '@') || (wl == 2 && !memcmp(w, "at", 2)) ||
                 (wl == 6 && !memcmp(w, "arroba", 6)) || (wl == 7 && !memcmp(w, "arobase", 7)) ||
                 (wl == 10 && !memcmp(w, "chiocciola", 10)))
          rep = "@";
        if (rep && o->len && (is_alnum(o->s[o->len - 1]) || o->s[o->len - 1] == ' ')) {
          out_trim_space(o);
          EMIT(rep, 1, in->beg[i], in->end[j], POLICY__SPELLED_BRACKET);
          i = j + 1;
          while (i < n && s[i] == ' ') i++;
          continue;
        }
      }
    }
    /* spelled punctuation words start with one of these letters; most spaces skip the list */
    if (c == ' ' && i > 0 && i + 1 < n && strchr("dpac@.", s[i + 1]) && is_alnum(s[i - 1])) {
      size_t w = i + 1;
      /* " dot ", " punkt ", " punto com", " at " between words */
      static const struct {
        const char *w;
        const char *rep;
        int tld_only; /* only before a common TLD (the word is common in its language) */
      } words[] = {{"dot", ".", 0},        {"punkt", ".", 0},   {"punto", ".", 1},
                   {"point", ".", 1},      {"ponto", ".", 1},   {"at", "@", 0},
                   {"arroba", "@", 0},     {"arobase", "@", 0}, {"chiocciola", "@", 0}};
      bool done = false;
      for (size_t k = 0; k < sizeof words / sizeof words[0]; k++) {
        if (!word_is(s, n, w, words[k].w)) continue;
        size_t after = w + strlen(words[k].w) + 1;
        if (after >= n || !is_alnum(s[after])) continue;
        if (words[k].tld_only && (!next_is_tld(s, n, after) || word_is(s, n, after, "de") ||
                                  (tld_is_word(s, n, after) && !tld_ends_text(s, n, after))))
          continue;
        EMIT(words[k].rep, 1, in->beg[i], in->end[after - 1], POLICY__SPELLED_WORD);
        i = after;
        done = true;
        break;
      }
      if (done) continue;
      /* " .com": a dot moved away from its name, before a common TLD written in lower
       * case (" .It was" is a sentence after a stray space) */
      if (s[w] == '.' && w + 1 < n && is_alnum(s[w + 1]) && next_is_tld(s, n, w + 1) &&
          islower((unsigned char)sc->orig[in->beg[w + 1]])) {
        EMIT(".", 1, in->beg[i], in->end[w], POLICY__SPELLED_BRACKET);
        i = w + 1;
        continue;
      }
      /* " . " and " @ " between words of a domain */
      if (w + 1 < n && (s[w] == '.' || s[w] == '@') && s[w + 1] == ' ' && w + 2 < n && is_alnum(s[w + 2]) &&
          (s[w] == '@' || next_is_tld(s, n, w + 2) ||
           (o->len >= 3 && !memcmp(o->s + o->len - 3, "www", 3)))) {
        EMIT(s + w, 1, in->beg[i], in->end[w + 1], POLICY__SPELLED_BRACKET);
        i = w + 2;
        continue;
      }
    }
    /* spaced letters: w w w . s h o p . c o m */
    if (wstart && (i == 0 || s[i - 1] == ' ') && i + 1 < n && s[i + 1] == ' ' && is_alnum(c)) {
      size_t t = spaced_run(s, n, i);
      if (t >= 5) {
        size_t j = i;
        for (size_t k = 0; k < t; k++, j += 2) EMIT(s + j, 1, in->beg[j], in->end[j], POLICY__SPELLED_SPACED);
        i = j - 1; /* the space after the run stays */
        continue;
      }
    }
    /* ordinary bytes: copy straight through up to the next byte that may start something */
    size_t j = deob_next(s, n, i + 1);
    if (o->len + (j - i) > o->cap) {
      EMIT(s + i, 1, in->beg[i], in->end[i], 0);
      i++;
      continue;
    }
    memcpy(o->s + o->len, s + i, j - i);
    memcpy(o->beg + o->len, in->beg + i, (j - i) * sizeof(uint32_t));
    memcpy(o->end + o->len, in->end + i, (j - i) * sizeof(uint32_t));
    memset(sc->deob_flags + o->len, 0, j - i);
    o->len += j - i;
    o->s[o->len] = '\0';
    i = j;
  }
#undef EMIT
}

/* ---- alternative view: spaced letters and digits for letters ----------------- */

static char leet(char c) {
  switch (c) {
  case '0': return 'o';
  case '1': return 'i';
  case '3': return 'e';
  case '4': return 'a';
  case '5': return 's';
  case '7': return 't';
  case '@': return 'a';
  case '$': return 's';
  default: return 0;
  }
}

/* Number of one-letter tokens in a row from i ("r e v i e w"); the last may have a
 * punctuation mark after it ("I d i o t,"). */
static size_t spaced_letters(const char *s, size_t n, size_t i) {
  size_t cnt = 0;
  while (i < n && isalpha((unsigned char)s[i])) {
    char nx = i + 1 < n ? s[i + 1] : ' ';
    if (nx == ' ') {
      cnt++, i += 2;
      continue;
    }
    if (nx && strchr(",.;:!?)\"'", nx)) cnt++;
    break;
  }
  return cnt;
}

static size_t word_start(const char *s, size_t i) {
  while (i > 0 && s[i - 1] != ' ') i--;
  return i;
}

static size_t word_end(const char *s, size_t n, size_t i) {
  while (i < n && s[i] != ' ') i++;
  return i;
}

/* A word [a, b) with digits for letters: mostly letters, a few substitutes. */
static bool word_converts(const char *s, size_t a, size_t b) {
  int letters = 0, subs = 0;
  for (size_t q = a; q < b; q++) {
    if (isalpha((unsigned char)s[q])) letters++;
    else if (leet(s[q])) subs++;
  }
  return subs > 0 && letters >= 3 && letters >= subs + 2;
}

/* Bytes that, between two letters, may make an alternative view worth building. */
static const unsigned char alt_mid[256] = {[' '] = 1, ['0'] = 1, ['1'] = 1, ['3'] = 1, ['4'] = 1,
                                           ['5'] = 1, ['7'] = 1, ['@'] = 1, ['$'] = 1};

void policy__altview(policy__scan *sc) {
  const policy__buf *in = &sc->norm;
  const char *s = in->s;
  size_t n = in->len;
  sc->has_alt = false;
  /* pre-check: is there anything to undo at all? */
  bool any = false;
  for (size_t i = 0; i + 2 < n && !any; i++) {
    char c1 = s[i + 1];
    if (!alt_mid[(unsigned char)c1] || !a_alpha(s[i])) continue;
    if (c1 == ' ') {
      any = (i == 0 || s[i - 1] == ' ') && spaced_letters(s, n, i) >= 4;
    } else if (a_alpha(s[i + 2]) && leet(c1)) {
      size_t b = word_end(s, n, i);
      any = word_converts(s, word_start(s, i), b);
      i = b; /* each word is looked at once */
    }
  }
  if (!any) return;
  policy__buf *o = &sc->alt;
  policy__buf_init(sc, o, n + 16);
  sc->alt_changed = pl_arena_alloc(sc->mem, n + 16);
  size_t i = 0;
  while (i < n) {
    if (s[i] == ' ') {
      buf_putc(sc, o, ' ', in->beg[i], in->end[i]);
      sc->alt_changed[o->len - 1] = 0;
      i++;
      continue;
    }
    size_t t1 = i;
    while (t1 < n && s[t1] != ' ') t1++;
    /* spaced letters: at least four one-letter tokens in a row */
    if (t1 == i + 1 && isalpha((unsigned char)s[i])) {
      size_t cnt = spaced_letters(s, n, i);
      if (cnt >= 4) {
        for (size_t q = 0; q < cnt; q++) {
          buf_putc(sc, o, s[i + 2 * q], in->beg[i + 2 * q], in->end[i + 2 * q]);
          sc->alt_changed[o->len - 1] = 1;
        }
        sc->has_alt = true;
        i += 2 * cnt - 1;
        continue;
      }
    }
    /* a word with digits for letters: mostly letters, a few substitutes between them */
    bool conv = word_converts(s, i, t1);
    if (!conv) { /* the word goes across unchanged */
      size_t wl = t1 - i;
      if (o->len + wl > o->cap) buf_grow(sc, o, o->len + wl);
      memcpy(o->s + o->len, s + i, wl);
      memcpy(o->beg + o->len, in->beg + i, wl * sizeof(uint32_t));
      memcpy(o->end + o->len, in->end + i, wl * sizeof(uint32_t));
      memset(sc->alt_changed + o->len, 0, wl);
      o->len += wl;
      o->s[o->len] = '\0';
      i = t1;
      continue;
    }
    for (size_t q = i; q < t1; q++) {
      char c = s[q];
      bool ch = conv && !isalpha((unsigned char)c) && leet(c) &&
                ((q > i && isalpha((unsigned char)s[q - 1])) || (q + 1 < t1 && isalpha((unsigned char)s[q + 1])));
      buf_putc(sc, o, ch ? leet(c) : c, in->beg[q], in->end[q]);
      sc->alt_changed[o->len - 1] = ch;
      if (ch) sc->has_alt = true;
    }
    i = t1;
  }
}
