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
  bool ocr_shared;       /* o->ocr is the engine parley-reader loaded before confinement */
  bool reader;           /* running in parley-reader, where nothing can be loaded any more */
  bool ocr_preloaded;    /* (reader) the OCR engine was asked for before confinement */
  bool need_ocr;         /* (reader) an image needs OCR, which was not loaded: read again */
  unsigned confined;     /* EXTRACT_CONF_* the reader reported (0: it did not say) */
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
/* Loads the OCR engine for lim once per process: parley-reader does it before its
 * system-call filter forbids opening the language data. */
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

/* lim with its zero fields replaced by the defaults. */
extract_limits extract__effective(const extract_limits *lim);

/* Sniffing in this process (libmagic); extract_sniff() without the size checks. */
pl_err extract__sniff_here(const uint8_t *data, size_t len, extract_kind *kind, pl_detail *d);
/* Loads libmagic's database for extract__sniff_here once, before confinement. */
bool extract__magic_preload(void);

/* Runs the reader for kind in this process. */
void extract__run(const uint8_t *data, size_t len, extract_kind kind, extract__out *o);

/* ---- the reader process: parley-reader (docs/attachments.md, "The reader") --------
 * The server side is extract_spawn.c; the program is extract_reader_main.c, confined
 * by extract_reader_confine.c; both speak the frames of extract_wire.c. */

enum {
  EXTRACT_OP_SNIFF = 1, /* the kind by content (libmagic) */
  EXTRACT_OP_READ = 2,  /* the text (of the sniffed kind, or of job.kind) */
};

/* Test builds of the reader only (PARLEY_READER_PROBES): instead of reading, try what
 * a compromised reader would, after confinement. A production reader refuses a job
 * with a probe. */
typedef enum {
  EXTRACT_PROBE_NONE = 0,
  EXTRACT_PROBE_OPEN,   /* open the file named by the data; report errno or content */
  EXTRACT_PROBE_CREATE, /* create the file named by the data */
  EXTRACT_PROBE_SOCKET, /* connect to 127.0.0.1:<port in the data> */
  EXTRACT_PROBE_EXEC,   /* execve /bin/sh -c <the data> */
  EXTRACT_PROBE_ABORT,  /* abort() in the middle of reading */
  EXTRACT_PROBE_KILL,   /* SIGKILL itself */
  EXTRACT_PROBE_FLOOD,  /* answer without end */
  EXTRACT_PROBE_LIE,    /* answer a frame that claims more than it holds */
  EXTRACT_PROBE_FDS,    /* report the open descriptors and the environment */
  EXTRACT_PROBE_SPIN,   /* loop on the CPU */
  EXTRACT_PROBE_JIT,    /* map memory writable and executable */
} extract__probe;

/* What the reader is asked to do. */
typedef struct {
  unsigned ops;       /* EXTRACT_OP_* */
  extract_kind kind;  /* for READ without SNIFF */
  bool ocr;           /* load the OCR engine before confinement */
  extract__probe probe;
} extract__job;

/* What the reader reports of its confinement, for the server's log (bit set). */
enum {
  EXTRACT_CONF_USERNS = 1,
  EXTRACT_CONF_NETNS = 2,
  EXTRACT_CONF_MOUNTNS = 4,
  EXTRACT_CONF_NNP = 8,      /* PR_SET_NO_NEW_PRIVS */
  EXTRACT_CONF_SECCOMP = 16,
  EXTRACT_CONF_RLIMITS = 32,
};

/* Runs job on data[0..len) in a fresh parley-reader under o->lim. SNIFF: returns the
 * sniff's result (PL_OK, PL_EUNSUPPORTED... with d) and *kind; a reader that failed
 * before it could say returns PL_EUNREADABLE. READ: the segments and the reason go to
 * o, whatever happened to the reader (o->reason). */
pl_err extract__spawn(const uint8_t *data, size_t len, const extract__job *job,
                      extract__out *o, extract_kind *kind, pl_detail *d);

/* ---- frames (extract_wire.c) ---------------------------------------------------
 * Request, server -> reader (fd 0): one frame holding the job, the limits and the
 * file. Answer, reader -> server (fd 1): a SNIFF frame when sniffing, then a READ
 * frame when reading. Every frame: u32 tag, u32 payload length, payload; integers
 * little-endian. The server checks the answer as untrusted input. */

typedef struct {
  uint8_t *p;
  size_t n, cap;
} extract__buf;

void extract__buf_put(extract__buf *b, const void *s, size_t n);

/* Largest request: the file cap and room for the header. */
#define EXTRACT_WIRE_MAX_FILE ((size_t)64 << 20)
#define EXTRACT_WIRE_MAX_STR 4096

/* The request's header (the file follows it; its length is the header's last field). */
void extract__req_header(const extract__job *job, const extract_limits *lim, size_t len,
                         extract__buf *b);
/* Parses a request header from p[0..n): returns the header's size, 0 when more bytes
 * are needed, -1 when malformed. Strings are copied into the arena. */
long extract__req_parse(const uint8_t *p, size_t n, pl_arena *a, extract__job *job,
                        extract_limits *lim, size_t *len);

void extract__ans_sniff(extract__buf *b, pl_err rc, extract_kind kind, const char *msg);
void extract__ans_read(extract__buf *b, const extract__out *o, unsigned confined);

/* The answer p[0..n), untrusted. Returns false when it is malformed; else *got_sniff
 * and *got_read say which frames came (a reader that died midway sends fewer), and
 * the READ frame's segments went into o (through extract__add, which re-checks the
 * text and the cap), unless it asked for OCR (o->need_ocr). */
bool extract__ans_parse(const uint8_t *p, size_t n, extract__out *o, bool *got_sniff,
                        pl_err *sniff_rc, extract_kind *kind, char *msg, size_t msg_size,
                        bool *got_read, unsigned *confined);

/* ---- reader-side confinement (extract_reader_confine.c) ------------------------ */

/* First thing in main: every descriptor above 2 closed, death with the server,
 * new user, network and mount namespaces where the kernel allows, rlimits for core
 * dumps, file size and descriptors. Returns the EXTRACT_CONF_* bits applied. */
unsigned extract__confine_begin(void);
/* After the data files are loaded: CPU and address-space caps, no new privileges,
 * and the system-call filter. Returns the bits applied; 0 for the filter bit means
 * the reader must not go on. */
unsigned extract__confine_seal(const extract_limits *lim);

#endif
