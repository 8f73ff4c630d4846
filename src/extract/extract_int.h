/* extract_int.h - what the files of the extract module share: the segment collector
 * and one reader per kind. */
#ifndef EXTRACT_INT_H
#define EXTRACT_INT_H

#include "extract/extract.h"

/* Collects segments for one file, within lim->max_text bytes. The readers add to it
 * and set `reason` when they stop early; extract_text() turns a reason into
 * PL_EUNREADABLE. */
typedef struct {
  pl_arena *arena;
  const extract_limits *lim;
  extract_segment *segs;
  size_t nsegs, cap;
  size_t bytes;          /* text kept so far */
  unsigned pages;
  unsigned images;       /* images passed to OCR so far (PDF, DOCX) */
  void *ocr;             /* the Tesseract engine, started at the first image */
  bool ocr_failed;       /* it could not be started: no language data */
  bool ocr_shared;       /* o->ocr is the sandbox parent's preloaded engine */
  bool forked;           /* running in the sandbox child */
  extract_reason reason; /* the first reason to stop, kept */
  char why[256];         /* human detail for the reason */
} extract__out;

/* Adds text[0..len) as one segment, made valid UTF-8 (invalid bytes become U+FFFD,
 * control characters other than tab and newline are dropped) and trimmed of
 * surrounding white space; blank text adds nothing. Returns false, with reason
 * EXTRACT_R_LIMIT, once the text cap is reached (what fits is kept): the reader
 * should stop. */
bool extract__add(extract__out *o, unsigned page, extract_source src, const char *text,
                  size_t len);
/* Records why reading stopped; the first call wins. Returns false for `return`. */
bool extract__stop(extract__out *o, extract_reason r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Readers. Each adds to o and returns when done or stopped (o->reason). */
void extract__pdf(const uint8_t *data, size_t len, extract__out *o);
void extract__docx(const uint8_t *data, size_t len, extract__out *o);
void extract__doc(const uint8_t *data, size_t len, extract__out *o);
void extract__txt(const uint8_t *data, size_t len, extract__out *o);
/* A raster image by Leptonica + Tesseract (JPEG/PNG/GIF/BMP/TIFF, every TIFF frame). */
void extract__image(const uint8_t *data, size_t len, extract__out *o);
/* OCR of an image inside a document (encoded bytes, or a decoded Leptonica PIX *,
 * consumed); counts against max_images. An image that cannot be decoded is skipped,
 * as a viewer could not show it either; one too many stops with EXTRACT_R_LIMIT. */
void extract__image_in_doc(const uint8_t *data, size_t len, unsigned page, extract__out *o);
void extract__ocr_pix(void *pix, unsigned page, extract__out *o);
/* Loads the OCR engine for lim once per process, before readers are forked, so that
 * each reader starts with the language data in memory. */
void extract__ocr_prewarm(const extract_limits *lim);
/* Releases the OCR engine a reader started (o->ocr); safe to call when none was. */
void extract__ocr_end(extract__out *o);

/* True when data is a zip archive holding word/document.xml (a DOCX whatever libmagic
 * said about it). */
bool extract__is_docx_zip(const uint8_t *data, size_t len);

/* True when data is UTF-16 without a byte-order mark, which libmagic does not
 * recognise as text. */
bool extract__utf16_text(const uint8_t *data, size_t len);

/* The text in charset-detected data as UTF-8 (BOMs, UTF-8, UTF-16 without BOM,
 * else Windows-1252), arena-owned; *out_len receives its length. */
char *extract__to_utf8(pl_arena *a, const uint8_t *data, size_t len, size_t *out_len);

/* Runs the reader for kind in this process. */
void extract__run(const uint8_t *data, size_t len, extract_kind kind, extract__out *o);
/* Runs it in a child process under lim's limits, and collects its segments. */
void extract__sandboxed(const uint8_t *data, size_t len, extract_kind kind,
                        extract__out *o);

#endif
