/* extract.h - attachment type by content, and the text inside it, read by a confined
 * program (parley-reader) within bounds.
 *
 * The core behind attachments: bytes in, a kind and a list of text segments out; no
 * store or network I/O (the parsing runs in parley-reader, which extract_spawn.c
 * starts). The content policy scans the segments the same way
 * it scans a message's text, and a finding names the attachment and the segment's
 * page.
 *
 * The usual call sequence for one uploaded file:
 *
 *   extract_limits lim;  extract_limits_default(&lim);
 *   extract_kind k;
 *   rc = extract_sniff(data, len, &lim, &k, &d);     // PL_ETOOLARGE, PL_EUNSUPPORTED, PL_EEMPTY
 *   rc = extract_check_name(k, filename, &d);        // PL_EMISMATCH
 *   rc = extract_text(data, len, k, &lim, arena, &doc, &d);
 *        // PL_OK: doc holds all the text.  PL_EUNREADABLE: hold the file for review
 *        // (never deliver it unread); doc may still hold what was read before the
 *        // failure, and a policy finding in it may reject the message outright.
 *
 * or extract_file(), which does all three. Everything that parses the file's bytes
 * (libmagic, libzip, libxml2, poppler, Leptonica, Tesseract) runs in a separate
 * program, parley-reader, started afresh for each file: it holds none of the server's
 * memory or descriptors, and reads under a system-call filter that allows no file,
 * socket or program to be opened, in namespaces of its own, with CPU, memory and
 * wall-clock limits (see docs/attachments.md, "The reader"). A reader that crashes,
 * is stopped by its filter or outruns a limit makes the file unreadable: held.
 *
 * Ownership: everything in an extract_doc is allocated from the caller's arena and
 * lives until pl_arena_free(). Functions are thread-safe; none keeps global state
 * except libxml2's one-time initialisation and a once-per-process log line. */
#ifndef EXTRACT_H
#define EXTRACT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/pl_err.h"
#include "util/pl_mem.h"

/* The attachment kinds the marketplace accepts (docs/attachments.md). */
typedef enum {
  EXTRACT_UNSUPPORTED = 0,
  EXTRACT_DOC,  /* legacy Word 97-2003 binary */
  EXTRACT_DOCX, /* Office Open XML word-processing document */
  EXTRACT_PDF,
  EXTRACT_TXT,
  EXTRACT_JPEG,
  EXTRACT_GIF,
  EXTRACT_PNG,
  EXTRACT_BMP,
  EXTRACT_TIFF,
} extract_kind;

/* Where a segment's text came from. A "link" is a target that is not shown as text
 * (a PDF link annotation's URI, a DOCX hyperlink relationship), which the policy
 * must see all the same. */
typedef enum {
  EXTRACT_SRC_TEXT = 0, /* body text */
  EXTRACT_SRC_LINK,     /* link target (URI) */
  EXTRACT_SRC_OCR,      /* text recognised in an image, or an image inside a document */
  EXTRACT_SRC_HEADER,
  EXTRACT_SRC_FOOTER,
  EXTRACT_SRC_NOTE,     /* footnotes, endnotes, comments */
  EXTRACT_SRC_META,     /* document properties: title, author, subject, keywords */
} extract_source;

/* Why a file could not be read completely (extract_doc.reason with PL_EUNREADABLE). */
typedef enum {
  EXTRACT_R_NONE = 0,
  EXTRACT_R_ENCRYPTED, /* password-protected PDF or document */
  EXTRACT_R_MALFORMED, /* the library rejected the file */
  EXTRACT_R_LIMIT,     /* a cap was reached (pages, text, zip size or ratio, pixels) */
  EXTRACT_R_TIMEOUT,   /* the wall-clock or CPU limit ended the reading */
  EXTRACT_R_CRASHED,   /* the reader died (memory limit, library crash) */
  EXTRACT_R_NO_OCR,    /* no OCR language data is installed */
} extract_reason;

/* Bounds on one file. extract_limits_default() fills the documented defaults; a
 * zero field means the default too. */
typedef struct {
  size_t max_bytes;          /* file size: 10 MB (docs/attachments.md) */
  unsigned timeout_ms;       /* wall clock for reading one file: 5000 */
  unsigned cpu_seconds;      /* CPU of the reader: timeout rounded up, + 1 */
  size_t max_memory;         /* address space the reader process may add: 1 GiB */
  size_t max_text;           /* bytes of extracted text kept: 16 MiB */
  unsigned max_pages;        /* PDF pages or TIFF frames read: 300 */
  unsigned max_images;       /* images inside a PDF/DOCX passed to OCR: 8 */
  size_t zip_max_total;      /* uncompressed bytes read from a DOCX: 64 MiB */
  unsigned zip_max_ratio;    /* uncompressed/compressed of one entry: 200 */
  unsigned zip_max_entries;  /* entries in a DOCX: 2000 */
  unsigned image_max_side;   /* OCR input, long side in pixels after scaling: 2500 */
  uint64_t image_max_pixels; /* decoded image size refused above: 60 Mpx */
  const char *ocr_langs;     /* Tesseract languages; NULL: eng plus the rule languages
                                (deu fra spa ita) whose data are installed */
  const char *tessdata;      /* Tesseract data directory; NULL: Tesseract's default */
  const char *reader;        /* the parley-reader program; NULL: $PARLEY_READER, else
                                parley-reader beside the running program */
  bool in_process;           /* parse in this process, without parley-reader (fuzzers,
                                benchmarks of the readers alone, tests that follow the
                                libraries' memory). Never for untrusted files in the
                                server: nothing bounds or confines the libraries then. */
} extract_limits;

/* One piece of text: page is 1-based for PDF and TIFF, 0 for kinds without pages. */
typedef struct {
  unsigned page;
  extract_source source;
  const char *text; /* UTF-8, NUL-terminated, never NULL */
  size_t len;
} extract_segment;

typedef struct {
  extract_kind kind;
  const extract_segment *segs; /* in reading order; arena-owned */
  size_t nsegs;
  unsigned pages;        /* pages of a PDF or frames of a TIFF; 1 otherwise */
  extract_reason reason; /* EXTRACT_R_NONE when everything was read */
} extract_doc;

void extract_limits_default(extract_limits *lim);

/* Stable lower-case names: "pdf", "docx"...; "unsupported". Never NULL. */
const char *extract_kind_name(extract_kind k);
/* The kind of a name extract_kind_name() gave; EXTRACT_UNSUPPORTED for any other. */
extract_kind extract_kind_parse(const char *name);
/* A safe Content-Type for serving the file back ("application/pdf"...). */
const char *extract_kind_mime(extract_kind k);
/* "text", "link", "ocr", "header", "footer", "note", "meta". */
const char *extract_source_name(extract_source s);
/* The source of a name extract_source_name() gave; EXTRACT_SRC_TEXT for any other. */
extract_source extract_source_parse(const char *name);
/* "encrypted", "malformed", "limit", "timeout", "crashed", "no_ocr"; "" for NONE. */
const char *extract_reason_name(extract_reason r);

/* The kind of data[0..len) by its content (libmagic), never by a name.
 * PL_ETOOLARGE above lim->max_bytes (lim NULL: defaults), PL_EEMPTY for an empty
 * file, PL_EUNSUPPORTED for any other type (the detail names the detected MIME type),
 * PL_EINTERNAL when libmagic cannot load its database. */
pl_err extract_sniff(const uint8_t *data, size_t len, const extract_limits *lim,
                     extract_kind *kind, pl_detail *d);

/* PL_EMISMATCH when filename's extension names another kind than the content
 * ("invoice.pdf" that is a PNG), PL_EUNSUPPORTED when the extension is not an
 * accepted one (".exe"); PL_OK for a matching extension. A name without extension,
 * or a NULL name, is accepted: the content decides. Case-insensitive; .jpg/.jpeg,
 * .tif/.tiff are the same kind. */
pl_err extract_check_name(extract_kind kind, const char *filename, pl_detail *d);
/* The i-th accepted file name extension ("doc", "docx", "pdf"...), lower-case, without
 * the dot; NULL past the last. */
const char *extract_extension(size_t i);

/* The text of data[0..len) read as kind, into *doc (arena-owned).
 * PL_OK: all of it was read. PL_EUNREADABLE: doc->reason says why; doc may hold the
 * text read before the failure. PL_EUNSUPPORTED for EXTRACT_UNSUPPORTED. */
pl_err extract_text(const uint8_t *data, size_t len, extract_kind kind,
                    const extract_limits *lim, pl_arena *arena, extract_doc *doc,
                    pl_detail *d);

/* extract_sniff + extract_check_name + extract_text in one call. */
pl_err extract_file(const uint8_t *data, size_t len, const char *filename,
                    const extract_limits *lim, pl_arena *arena, extract_doc *doc,
                    pl_detail *d);

#endif
