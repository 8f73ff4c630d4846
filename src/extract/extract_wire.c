/* extract_wire.c - the frames between the server and parley-reader: one request
 * (the job, the limits, the file), and an answer of a SNIFF and a READ frame.
 *
 * Every frame is: u32 tag, u32 payload length, payload; integers little-endian. The
 * server parses the answer as untrusted input: the reader has just parsed a hostile
 * file and may be under its control, so every length is checked against what is left
 * and against the caps, and segment text goes through extract__add again (UTF-8
 * cleaning, the text cap). */
#include "extract/extract_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TAG_REQUEST 0x31515850u /* "PXQ1" */
#define TAG_SNIFF 0x31535850u   /* "PXS1" */
#define TAG_READ 0x31525850u    /* "PXR1" */

/* A reason's detail and a sniff's message are shown to people: short. */
#define MAX_WHY 1024

void extract__buf_put(extract__buf *b, const void *s, size_t n) {
  if (!n) return;
  if (b->n + n > b->cap) {
    b->cap = (b->n + n) * 2 + 256;
    b->p = pl_xrealloc(b->p, b->cap);
  }
  memcpy(b->p + b->n, s, n);
  b->n += n;
}

static void put_u32(extract__buf *b, uint32_t v) {
  uint8_t x[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
  extract__buf_put(b, x, 4);
}

static void put_u64(extract__buf *b, uint64_t v) {
  put_u32(b, (uint32_t)v);
  put_u32(b, (uint32_t)(v >> 32));
}

static void put_str(extract__buf *b, const char *s) {
  size_t n = s ? strlen(s) : 0;
  if (n > EXTRACT_WIRE_MAX_STR) n = EXTRACT_WIRE_MAX_STR;
  put_u32(b, s ? (uint32_t)n : 0xFFFFFFFFu); /* NULL is not "" for tessdata */
  extract__buf_put(b, s, n);
}

/* Starts a frame; end_frame() fills in its length. */
static size_t begin_frame(extract__buf *b, uint32_t tag) {
  put_u32(b, tag);
  size_t at = b->n;
  put_u32(b, 0);
  return at;
}

static void end_frame(extract__buf *b, size_t at) {
  uint32_t n = (uint32_t)(b->n - at - 4);
  uint8_t x[4] = {(uint8_t)n, (uint8_t)(n >> 8), (uint8_t)(n >> 16), (uint8_t)(n >> 24)};
  memcpy(b->p + at, x, 4);
}

/* ---- reading --------------------------------------------------------------------- */

typedef struct {
  const uint8_t *p;
  size_t n, at;
  bool bad;
} rd;

static uint32_t get_u32(rd *r) {
  if (r->bad || r->n - r->at < 4) {
    r->bad = true;
    return 0;
  }
  const uint8_t *x = r->p + r->at;
  r->at += 4;
  return (uint32_t)x[0] | (uint32_t)x[1] << 8 | (uint32_t)x[2] << 16 | (uint32_t)x[3] << 24;
}

static uint64_t get_u64(rd *r) {
  uint64_t lo = get_u32(r);
  return lo | (uint64_t)get_u32(r) << 32;
}

static const uint8_t *get_bytes(rd *r, size_t n) {
  if (r->bad || r->n - r->at < n) {
    r->bad = true;
    return NULL;
  }
  const uint8_t *s = r->p + r->at;
  r->at += n;
  return s;
}

/* A string of at most max bytes; *len receives its length. NULL with !r->bad: the
 * string was NULL. */
static const char *get_str(rd *r, size_t max, size_t *len) {
  uint32_t n = get_u32(r);
  *len = 0;
  if (r->bad || n == 0xFFFFFFFFu) return NULL;
  if (n > max) {
    r->bad = true;
    return NULL;
  }
  *len = n;
  return (const char *)get_bytes(r, n);
}

/* ---- the request ------------------------------------------------------------------- */

void extract__req_header(const extract__job *job, const extract_limits *lim, size_t len,
                         extract__buf *b) {
  size_t at = begin_frame(b, TAG_REQUEST);
  put_u32(b, job->ops);
  put_u32(b, (uint32_t)job->kind);
  put_u32(b, job->ocr);
  put_u32(b, (uint32_t)job->probe);
  put_u64(b, lim->max_bytes);
  put_u64(b, lim->max_memory);
  put_u64(b, lim->max_text);
  put_u32(b, lim->cpu_seconds);
  put_u32(b, lim->max_pages);
  put_u32(b, lim->max_images);
  put_u64(b, lim->zip_max_total);
  put_u32(b, lim->zip_max_ratio);
  put_u32(b, lim->zip_max_entries);
  put_u32(b, lim->image_max_side);
  put_u64(b, lim->image_max_pixels);
  put_str(b, lim->ocr_langs);
  /* The reader's environment is empty: Tesseract's own variable is passed on here. */
  put_str(b, lim->tessdata ? lim->tessdata : getenv("TESSDATA_PREFIX"));
  put_u64(b, len);
  end_frame(b, at);
}

long extract__req_parse(const uint8_t *p, size_t n, pl_arena *a, extract__job *job,
                        extract_limits *lim, size_t *len) {
  rd r = {p, n, 0, false};
  uint32_t tag = get_u32(&r), size = get_u32(&r);
  if (r.bad) return 0;
  if (tag != TAG_REQUEST || size > 2 * EXTRACT_WIRE_MAX_STR + 256) return -1;
  if (n - r.at < size) return 0;
  r.n = r.at + size;
  extract_limits_default(lim);
  job->ops = get_u32(&r);
  job->kind = (extract_kind)get_u32(&r);
  job->ocr = get_u32(&r) != 0;
  job->probe = (extract__probe)get_u32(&r);
  lim->max_bytes = (size_t)get_u64(&r);
  lim->max_memory = (size_t)get_u64(&r);
  lim->max_text = (size_t)get_u64(&r);
  lim->cpu_seconds = get_u32(&r);
  lim->max_pages = get_u32(&r);
  lim->max_images = get_u32(&r);
  lim->zip_max_total = (size_t)get_u64(&r);
  lim->zip_max_ratio = get_u32(&r);
  lim->zip_max_entries = get_u32(&r);
  lim->image_max_side = get_u32(&r);
  lim->image_max_pixels = get_u64(&r);
  size_t sl;
  const char *s = get_str(&r, EXTRACT_WIRE_MAX_STR, &sl);
  lim->ocr_langs = s ? pl_arena_strndup(a, s, sl) : NULL;
  s = get_str(&r, EXTRACT_WIRE_MAX_STR, &sl);
  lim->tessdata = s ? pl_arena_strndup(a, s, sl) : NULL;
  uint64_t flen = get_u64(&r);
  if (r.bad || r.at != r.n || flen > EXTRACT_WIRE_MAX_FILE || !job->ops ||
      job->ops & ~(unsigned)(EXTRACT_OP_SNIFF | EXTRACT_OP_READ) ||
      (unsigned)job->kind > EXTRACT_TIFF)
    return -1;
  *len = (size_t)flen;
  return (long)r.at;
}

/* ---- the answer ------------------------------------------------------------------- */

void extract__ans_sniff(extract__buf *b, pl_err rc, extract_kind kind, const char *msg) {
  size_t at = begin_frame(b, TAG_SNIFF);
  put_u32(b, (uint32_t)(int32_t)rc);
  put_u32(b, (uint32_t)kind);
  put_str(b, msg ? msg : "");
  end_frame(b, at);
}

void extract__ans_read(extract__buf *b, const extract__out *o, unsigned confined) {
  size_t at = begin_frame(b, TAG_READ);
  put_u32(b, (uint32_t)o->reason);
  put_u32(b, o->need_ocr);
  put_u32(b, confined);
  put_u32(b, o->pages);
  put_str(b, o->why);
  put_u32(b, (uint32_t)o->nsegs);
  for (size_t i = 0; i < o->nsegs; i++) {
    put_u32(b, o->segs[i].page);
    put_u32(b, (uint32_t)o->segs[i].source);
    put_u32(b, (uint32_t)o->segs[i].len);
    extract__buf_put(b, o->segs[i].text, o->segs[i].len);
  }
  end_frame(b, at);
}

/* What a sniff may answer; anything else is a reader out of its mind. */
static bool sniff_rc_ok(int32_t rc) {
  return rc == PL_OK || rc == PL_EUNSUPPORTED || rc == PL_EEMPTY || rc == PL_ETOOLARGE ||
         rc == PL_EINTERNAL;
}

static bool parse_read(rd *r, extract__out *o, unsigned *confined) {
  uint32_t reason = get_u32(r), need_ocr = get_u32(r);
  *confined = get_u32(r);
  uint32_t pages = get_u32(r);
  size_t why_len;
  const char *why = get_str(r, MAX_WHY, &why_len);
  uint32_t nsegs = get_u32(r);
  /* A segment takes at least 12 bytes of framing: a count beyond what is left is a
   * lie, refused before anything is allocated for it. */
  if (r->bad || reason > EXTRACT_R_NO_OCR || need_ocr > 1 || nsegs > (r->n - r->at) / 12)
    return false;
  if (need_ocr) {
    /* Read again with OCR loaded; what this reading found is not kept. */
    o->need_ocr = true;
    return true;
  }
  for (uint32_t i = 0; i < nsegs; i++) {
    uint32_t page = get_u32(r), src = get_u32(r), len = get_u32(r);
    const char *text = (const char *)get_bytes(r, len);
    if (r->bad || src > EXTRACT_SRC_META) return false;
    extract__add(o, page, (extract_source)src, text, len);
  }
  if (r->at != r->n) return false;
  o->pages = pages;
  if (reason != EXTRACT_R_NONE)
    extract__stop(o, (extract_reason)reason, "%.*s", (int)(why_len < 255 ? why_len : 255),
                  why ? why : "");
  return true;
}

bool extract__ans_parse(const uint8_t *p, size_t n, extract__out *o, bool *got_sniff,
                        pl_err *sniff_rc, extract_kind *kind, char *msg, size_t msg_size,
                        bool *got_read, unsigned *confined) {
  rd r = {p, n, 0, false};
  *got_sniff = *got_read = false;
  *confined = 0;
  while (r.at < r.n) {
    uint32_t tag = get_u32(&r), size = get_u32(&r);
    if (r.bad || size > r.n - r.at) return false; /* cut short: the reader died writing */
    rd f = {r.p, r.at + size, r.at, false};
    r.at += size;
    if (tag == TAG_SNIFF && !*got_sniff && !*got_read) {
      int32_t rc = (int32_t)get_u32(&f);
      uint32_t k = get_u32(&f);
      size_t ml;
      const char *m = get_str(&f, MAX_WHY, &ml);
      if (f.bad || f.at != f.n || !sniff_rc_ok(rc) || k > EXTRACT_TIFF ||
          (rc == PL_OK) != (k != EXTRACT_UNSUPPORTED))
        return false;
      *sniff_rc = (pl_err)rc;
      *kind = (extract_kind)k;
      snprintf(msg, msg_size, "%.*s", (int)ml, m ? m : "");
      *got_sniff = true;
    } else if (tag == TAG_READ && !*got_read) {
      if (!parse_read(&f, o, confined)) return false;
      *got_read = true;
    } else {
      return false;
    }
  }
  return true;
}
