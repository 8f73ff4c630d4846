/* extract.c - attachment kinds: sniffing by content, name checks, limits, the segment
 * collector and the dispatch to one reader per kind. */
#define _GNU_SOURCE /* memmem */
#include "extract/extract_int.h"

#include <ctype.h>
#include <magic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/pl_utf8.h"

#define MB (1024u * 1024u)

void extract_limits_default(extract_limits *lim) {
  *lim = (extract_limits){
      .max_bytes = 10u * 1000u * 1000u, /* "10 MB" as the marketplace counts it */
      .timeout_ms = 5000,
      .cpu_seconds = 6,
      .max_memory = (size_t)1024 * MB,
      .max_text = 16 * MB, /* a 10 MB UTF-16 or Windows-1252 text grows as UTF-8 */
      .max_pages = 300,
      .max_images = 8,
      .zip_max_total = 64 * MB,
      .zip_max_ratio = 200,
      .zip_max_entries = 2000,
      .image_max_side = 2500,
      .image_max_pixels = 60u * 1000u * 1000u,
  };
}

/* lim with its zero fields replaced by the defaults, so that callers may set only the
 * fields they care about. */
extract_limits extract__effective(const extract_limits *lim) {
  extract_limits def, l;
  extract_limits_default(&def);
  if (!lim) return def;
  l = *lim;
#define DEF(f) if (!l.f) l.f = def.f
  DEF(max_bytes); DEF(timeout_ms); DEF(max_memory); DEF(max_text); DEF(max_pages);
  DEF(max_images); DEF(zip_max_total); DEF(zip_max_ratio); DEF(zip_max_entries);
  DEF(image_max_side); DEF(image_max_pixels);
#undef DEF
  if (!l.cpu_seconds) l.cpu_seconds = (l.timeout_ms + 999) / 1000 + 1;
  return l;
}

static const struct {
  const char *name, *mime;
} kinds[] = {
    [EXTRACT_UNSUPPORTED] = {"unsupported", "application/octet-stream"},
    [EXTRACT_DOC] = {"doc", "application/msword"},
    [EXTRACT_DOCX] = {"docx",
                      "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
    [EXTRACT_PDF] = {"pdf", "application/pdf"},
    [EXTRACT_TXT] = {"txt", "text/plain; charset=utf-8"},
    [EXTRACT_JPEG] = {"jpeg", "image/jpeg"},
    [EXTRACT_GIF] = {"gif", "image/gif"},
    [EXTRACT_PNG] = {"png", "image/png"},
    [EXTRACT_BMP] = {"bmp", "image/bmp"},
    [EXTRACT_TIFF] = {"tiff", "image/tiff"},
};

const char *extract_kind_name(extract_kind k) {
  return (unsigned)k < sizeof kinds / sizeof kinds[0] ? kinds[k].name : "unsupported";
}

extract_kind extract_kind_parse(const char *name) {
  for (size_t k = EXTRACT_DOC; name && k < sizeof kinds / sizeof kinds[0]; k++)
    if (!strcmp(name, kinds[k].name)) return (extract_kind)k;
  return EXTRACT_UNSUPPORTED;
}

const char *extract_kind_mime(extract_kind k) {
  return (unsigned)k < sizeof kinds / sizeof kinds[0] ? kinds[k].mime
                                                      : "application/octet-stream";
}

static const char *const sources[] = {"text", "link", "ocr", "header", "footer", "note", "meta"};

const char *extract_source_name(extract_source s) {
  return (unsigned)s < sizeof sources / sizeof sources[0] ? sources[s] : "text";
}

extract_source extract_source_parse(const char *name) {
  for (size_t k = 0; name && k < sizeof sources / sizeof sources[0]; k++)
    if (!strcmp(name, sources[k])) return (extract_source)k;
  return EXTRACT_SRC_TEXT;
}

const char *extract_reason_name(extract_reason r) {
  static const char *const n[] = {"",        "encrypted", "malformed", "limit",
                                  "timeout", "crashed",   "no_ocr"};
  return (unsigned)r < sizeof n / sizeof n[0] ? n[r] : "";
}

/* ---- sniffing ---------------------------------------------------------------- */

static const struct {
  const char *mime;
  extract_kind kind;
} mime_map[] = {
    {"application/pdf", EXTRACT_PDF},
    {"application/msword", EXTRACT_DOC},
    {"application/vnd.openxmlformats-officedocument.wordprocessingml.document", EXTRACT_DOCX},
    {"image/jpeg", EXTRACT_JPEG},
    {"image/gif", EXTRACT_GIF},
    {"image/png", EXTRACT_PNG},
    {"image/bmp", EXTRACT_BMP},
    {"image/x-ms-bmp", EXTRACT_BMP},
    {"image/tiff", EXTRACT_TIFF},
};

/* Text with no byte a text file would not have: libmagic names some plain text files
 * after what they look like (an .ini, a mail header), which is still text to read. */
static bool plain_text(const uint8_t *data, size_t len) {
  for (size_t i = 0; i < len; i++)
    if (data[i] < 0x20 && data[i] != '\t' && data[i] != '\n' && data[i] != '\r' &&
        data[i] != '\f')
      return false;
  return pl_utf8_valid((const char *)data, len, NULL);
}

/* An OLE2 compound file is a Word document when its directory names the
 * "WordDocument" stream (UTF-16LE); libmagic reports some as plain CDF. */
static bool ole_has_word_stream(const uint8_t *data, size_t len) {
  static const char w[] = "W\0o\0r\0d\0D\0o\0c\0u\0m\0e\0n\0t\0";
  return memmem(data, len, w, sizeof w - 1) != NULL;
}

static extract_kind kind_of_mime(const char *mime, const uint8_t *data, size_t len) {
  for (size_t i = 0; i < sizeof mime_map / sizeof mime_map[0]; i++)
    if (!strcmp(mime, mime_map[i].mime)) return mime_map[i].kind;
  /* RTF is a document format of its own, which the marketplace does not accept. */
  if (!strcmp(mime, "text/rtf")) return EXTRACT_UNSUPPORTED;
  if (!strncmp(mime, "text/", 5)) return EXTRACT_TXT;
  /* A DOCX whose parts are stored in an order libmagic does not expect. */
  if (len >= 4 && !memcmp(data, "PK\3\4", 4))
    return extract__is_docx_zip(data, len) ? EXTRACT_DOCX : EXTRACT_UNSUPPORTED;
  /* A Word file that libmagic calls a plain compound (OLE2) file. */
  if (len >= 8 && !memcmp(data, "\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1", 8))
    return ole_has_word_stream(data, len) ? EXTRACT_DOC : EXTRACT_UNSUPPORTED;
  if (!strcmp(mime, "application/octet-stream") && extract__utf16_text(data, len))
    return EXTRACT_TXT;
  if (plain_text(data, len)) return EXTRACT_TXT;
  return EXTRACT_UNSUPPORTED;
}

/* libmagic's flags: decompressing is off, as a compressed file is not an accepted kind
 * and it would be a bomb vector. */
#define MAGIC_FLAGS                                                                       \
  (MAGIC_MIME_TYPE | MAGIC_NO_CHECK_COMPRESS | MAGIC_NO_CHECK_TAR | MAGIC_NO_CHECK_ELF |  \
   MAGIC_ERROR)

/* parley-reader's handle, loaded before its filter forbids opening the database. The
 * reader is one thread; in any other process each call opens its own (a magic_t is not
 * thread-safe). */
static magic_t preloaded;

bool extract__magic_preload(void) {
  if (preloaded) return true;
  magic_t m = magic_open(MAGIC_FLAGS);
  if (!m) return false;
  if (magic_load(m, NULL) != 0) {
    magic_close(m);
    return false;
  }
  preloaded = m;
  return true;
}

pl_err extract__sniff_here(const uint8_t *data, size_t len, extract_kind *kind, pl_detail *d) {
  *kind = EXTRACT_UNSUPPORTED;
  magic_t m = preloaded;
  if (!m) {
    /* Loading the compiled database is a map of one file (see bench/RESULTS.md). */
    m = magic_open(MAGIC_FLAGS);
    if (!m) return pl_fail(d, PL_EINTERNAL, "libmagic: cannot allocate");
    if (magic_load(m, NULL) != 0) {
      pl_err e = pl_fail(d, PL_EINTERNAL, "libmagic: %s", magic_error(m));
      magic_close(m);
      return e;
    }
  }
  const char *mime = magic_buffer(m, data, len);
  char mbuf[128];
  snprintf(mbuf, sizeof mbuf, "%s", mime ? mime : "application/octet-stream");
  if (m != preloaded) magic_close(m);

  *kind = kind_of_mime(mbuf, data, len);
  if (*kind == EXTRACT_UNSUPPORTED)
    return pl_fail(d, PL_EUNSUPPORTED,
                   "the file's content is %s; accepted are .doc, .docx, .pdf, .txt, .jpg, "
                   ".gif, .png, .bmp and .tif files",
                   mbuf);
  return PL_OK;
}

/* The checks every entry point makes before any byte is parsed. */
static pl_err size_checks(size_t len, const extract_limits *l, pl_detail *d) {
  if (len > l->max_bytes)
    return pl_fail(d, PL_ETOOLARGE, "the file is %zu bytes; attachments may be at most %zu",
                   len, l->max_bytes);
  if (len == 0) return pl_fail(d, PL_EEMPTY, "the file is empty");
  return PL_OK;
}

pl_err extract_sniff(const uint8_t *data, size_t len, const extract_limits *lim,
                     extract_kind *kind, pl_detail *d) {
  extract_limits l = extract__effective(lim);
  *kind = EXTRACT_UNSUPPORTED;
  pl_err e = size_checks(len, &l, d);
  if (e) return e;
  if (l.in_process) return extract__sniff_here(data, len, kind, d);
  pl_arena *a = pl_arena_new();
  extract__out o = {.arena = a, .lim = &l};
  e = extract__spawn(data, len, &(extract__job){.ops = EXTRACT_OP_SNIFF}, &o, kind, d);
  pl_arena_free(a);
  return e;
}

/* ---- names ------------------------------------------------------------------- */

static const struct {
  const char *ext;
  extract_kind kind;
} ext_map[] = {
    {"doc", EXTRACT_DOC},   {"docx", EXTRACT_DOCX}, {"pdf", EXTRACT_PDF},
    {"txt", EXTRACT_TXT},   {"jpg", EXTRACT_JPEG},  {"jpeg", EXTRACT_JPEG},
    {"gif", EXTRACT_GIF},   {"png", EXTRACT_PNG},   {"bmp", EXTRACT_BMP},
    {"tif", EXTRACT_TIFF},  {"tiff", EXTRACT_TIFF},
};

const char *extract_extension(size_t i) { return i < sizeof ext_map / sizeof ext_map[0] ? ext_map[i].ext : NULL; }

pl_err extract_check_name(extract_kind kind, const char *filename, pl_detail *d) {
  if (!filename) return PL_OK;
  const char *slash = strrchr(filename, '/');
  const char *base = slash ? slash + 1 : filename;
  const char *dot = strrchr(base, '.');
  if (!dot || dot == base || !dot[1]) return PL_OK;
  const char *ext = dot + 1;
  /* "scan 2024.01.05" has no extension: only a word of letters after the last dot is
   * taken for one. */
  for (const char *p = ext; *p; p++)
    if (!isalpha((unsigned char)*p)) return PL_OK;
  for (size_t i = 0; i < sizeof ext_map / sizeof ext_map[0]; i++) {
    if (strcasecmp(ext, ext_map[i].ext) != 0) continue;
    if (ext_map[i].kind == kind) return PL_OK;
    return pl_fail(d, PL_EMISMATCH,
                   "the file is named .%s but its content is %s; rename it to match its "
                   "content or attach the intended file",
                   ext, extract_kind_name(kind));
  }
  return pl_fail(d, PL_EUNSUPPORTED,
                 "files ending in .%.32s are not accepted; accepted are .doc, .docx, .pdf, "
                 ".txt, .jpg, .gif, .png, .bmp and .tif",
                 ext);
}

/* ---- the collector ----------------------------------------------------------- */

bool extract__stop(extract__out *o, extract_reason r, const char *fmt, ...) {
  if (o->reason == EXTRACT_R_NONE) {
    o->reason = r;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(o->why, sizeof o->why, fmt, ap);
    va_end(ap);
  }
  return false;
}

/* Length of the well-formed UTF-8 sequence at s[0..n), or 0. */
static size_t utf8_seq(const unsigned char *s, size_t n, uint32_t *cp) {
  unsigned char c = s[0];
  size_t k;
  uint32_t v, min;
  if (c < 0x80) {
    *cp = c;
    return 1;
  } else if (c >= 0xC2 && c <= 0xDF) {
    k = 2, v = c & 0x1F, min = 0x80;
  } else if (c >= 0xE0 && c <= 0xEF) {
    k = 3, v = c & 0x0F, min = 0x800;
  } else if (c >= 0xF0 && c <= 0xF4) {
    k = 4, v = c & 0x07, min = 0x10000;
  } else {
    return 0;
  }
  if (n < k) return 0;
  for (size_t i = 1; i < k; i++) {
    if ((s[i] & 0xC0) != 0x80) return 0;
    v = (v << 6) | (s[i] & 0x3F);
  }
  if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return 0;
  *cp = v;
  return k;
}

bool extract__add(extract__out *o, unsigned page, extract_source src, const char *text,
                  size_t len) {
  if (o->reason == EXTRACT_R_LIMIT) return false;
  if (!text || !len) return true;
  /* Cleaning never grows text by more than 3/1 (one invalid byte -> U+FFFD). */
  char *buf = pl_xmalloc(len * 3 + 1);
  size_t n = 0;
  const unsigned char *s = (const unsigned char *)text;
  for (size_t i = 0; i < len;) {
    uint32_t cp;
    size_t k = utf8_seq(s + i, len - i, &cp);
    if (!k) {
      memcpy(buf + n, "\xEF\xBF\xBD", 3), n += 3, i++;
      continue;
    }
    if (cp == '\r') {
      buf[n++] = '\n';
      if (i + 1 < len && s[i + 1] == '\n') i++;
    } else if (cp == '\f' || cp == '\v') {
      buf[n++] = '\n';
    } else if ((cp < 0x20 && cp != '\t' && cp != '\n') || cp == 0x7F ||
               (cp >= 0x80 && cp < 0xA0)) {
      /* control characters carry no text */
    } else {
      memcpy(buf + n, s + i, k), n += k;
    }
    i += k;
  }
  size_t b = 0;
  while (b < n && isspace((unsigned char)buf[b])) b++;
  while (n > b && isspace((unsigned char)buf[n - 1])) n--;
  bool ok = true;
  if (n > b) {
    size_t room = o->lim->max_text > o->bytes ? o->lim->max_text - o->bytes : 0;
    if (n - b > room) {
      n = b + room;
      while (n > b && ((unsigned char)buf[n] & 0xC0) == 0x80) n--; /* whole characters */
      ok = extract__stop(o, EXTRACT_R_LIMIT, "the text is longer than %zu bytes",
                         o->lim->max_text);
    }
    if (n > b) {
      if (o->nsegs == o->cap) {
        size_t cap = o->cap ? o->cap * 2 : 16;
        extract_segment *segs = pl_arena_alloc(o->arena, cap * sizeof *segs);
        if (o->nsegs) memcpy(segs, o->segs, o->nsegs * sizeof *segs);
        o->segs = segs, o->cap = cap;
      }
      o->segs[o->nsegs++] = (extract_segment){
          page, src, pl_arena_strndup(o->arena, buf + b, n - b), n - b};
      o->bytes += n - b;
    }
  }
  free(buf);
  return ok;
}

/* ---- reading ----------------------------------------------------------------- */

void extract__run(const uint8_t *data, size_t len, extract_kind kind, extract__out *o) {
  switch (kind) {
  case EXTRACT_PDF: extract__pdf(data, len, o); break;
  case EXTRACT_DOCX: extract__docx(data, len, o); break;
  case EXTRACT_DOC: extract__doc(data, len, o); break;
  case EXTRACT_TXT: extract__txt(data, len, o); break;
  case EXTRACT_JPEG:
  case EXTRACT_GIF:
  case EXTRACT_PNG:
  case EXTRACT_BMP:
  case EXTRACT_TIFF: extract__image(data, len, o); break;
  case EXTRACT_UNSUPPORTED: break;
  }
  extract__ocr_end(o);
}

/* The outcome in o as extract_text() returns it. */
static pl_err finish(const extract__out *o, extract_kind kind, extract_doc *doc,
                     pl_detail *d) {
  doc->segs = o->segs;
  doc->nsegs = o->nsegs;
  doc->pages = o->pages ? o->pages : 1;
  doc->reason = o->reason;
  if (o->reason != EXTRACT_R_NONE)
    return pl_fail(d, PL_EUNREADABLE, "the %s file could not be read completely (%s): %s",
                   extract_kind_name(kind), extract_reason_name(o->reason), o->why);
  return PL_OK;
}

pl_err extract_text(const uint8_t *data, size_t len, extract_kind kind,
                    const extract_limits *lim, pl_arena *arena, extract_doc *doc,
                    pl_detail *d) {
  extract_limits l = extract__effective(lim);
  *doc = (extract_doc){.kind = kind, .pages = 1};
  if (kind == EXTRACT_UNSUPPORTED || (unsigned)kind > EXTRACT_TIFF)
    return pl_fail(d, PL_EUNSUPPORTED, "the file type is not accepted");
  if (len > l.max_bytes)
    return pl_fail(d, PL_ETOOLARGE, "the file is %zu bytes; attachments may be at most %zu",
                   len, l.max_bytes);
  extract__out o = {.arena = arena, .lim = &l};
  if (l.in_process) {
    extract__run(data, len, kind, &o);
  } else {
    extract_kind k = kind;
    extract__spawn(data, len, &(extract__job){.ops = EXTRACT_OP_READ, .kind = kind}, &o, &k,
                   NULL);
  }
  return finish(&o, kind, doc, d);
}

pl_err extract_file(const uint8_t *data, size_t len, const char *filename,
                    const extract_limits *lim, pl_arena *arena, extract_doc *doc,
                    pl_detail *d) {
  extract_limits l = extract__effective(lim);
  extract_kind k = EXTRACT_UNSUPPORTED;
  *doc = (extract_doc){.pages = 1};
  pl_err rc = size_checks(len, &l, d);
  if (rc) return rc;
  if (l.in_process) {
    rc = extract__sniff_here(data, len, &k, d);
    if (rc == PL_OK) rc = extract_check_name(k, filename, d);
    if (rc == PL_OK) rc = extract_text(data, len, k, &l, arena, doc, d);
    doc->kind = k;
    return rc;
  }
  /* One reader sniffs and reads: a file is started once, not twice. The name is
   * checked on the answer; a mismatch discards what was read. */
  extract__out o = {.arena = arena, .lim = &l};
  rc = extract__spawn(data, len, &(extract__job){.ops = EXTRACT_OP_SNIFF | EXTRACT_OP_READ},
                      &o, &k, d);
  doc->kind = k;
  if (rc == PL_EUNREADABLE) return finish(&o, k, doc, d); /* the reader died sniffing */
  if (rc != PL_OK) return rc;
  rc = extract_check_name(k, filename, d);
  if (rc != PL_OK) return rc;
  rc = finish(&o, k, doc, d);
  doc->kind = k;
  return rc;
}
