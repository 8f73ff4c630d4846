/* extract_fixtures.h - attachments made at test time: PNG and PDF drawn with cairo,
 * PDFs written by hand (encrypted, thousands of pages, deep nesting), DOCX zipped
 * with libzip. Nothing is downloaded or committed as an opaque binary. */
#ifndef EXTRACT_FIXTURES_H
#define EXTRACT_FIXTURES_H

#include <cairo-pdf.h>
#include <cairo.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zip.h>

#include "extract/extract.h"

/* LeakSanitizer: fontconfig, which cairo uses to draw the fixtures' text, keeps its
 * configuration cache until exit on purpose. Third-party frames only; parley's own
 * allocations are checked in full. */
const char *__lsan_default_suppressions(void);
__attribute__((used)) const char *__lsan_default_suppressions(void) {
  return "leak:libfontconfig.so\n";
}

/* ---- a growable byte buffer --------------------------------------------------- */

typedef struct {
  uint8_t *p;
  size_t n, cap;
} fx_buf;

static inline void fx_put(fx_buf *b, const void *s, size_t n) {
  if (b->n + n + 1 > b->cap) {
    b->cap = (b->n + n + 1) * 2;
    b->p = realloc(b->p, b->cap);
    if (!b->p) abort();
  }
  memcpy(b->p + b->n, s, n);
  b->n += n;
  b->p[b->n] = 0;
}

static inline void fx_printf(fx_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static inline void fx_printf(fx_buf *b, const char *fmt, ...) {
  char tmp[4096];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (n > 0) fx_put(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

static cairo_status_t fx_cairo_write(void *closure, const unsigned char *data,
                                     unsigned int len) {
  fx_put(closure, data, len);
  return CAIRO_STATUS_SUCCESS;
}

/* ---- images ------------------------------------------------------------------- */

/* A logo: `text` in a bold sans face on white (or on transparency), with a coloured
 * block beside it as a logo would have. Returns PNG bytes (malloc'd). */
static inline uint8_t *fx_logo_png(const char *text, double font_px, bool transparent,
                                   size_t *len) {
  /* Measure first, so that the picture fits the text with a margin. */
  cairo_surface_t *probe = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, 1, 1);
  cairo_t *pc = cairo_create(probe);
  cairo_select_font_face(pc, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
  cairo_set_font_size(pc, font_px);
  cairo_text_extents_t ext;
  cairo_text_extents(pc, text, &ext);
  cairo_destroy(pc);
  cairo_surface_destroy(probe);
  int w = (int)ext.x_advance + 120 + (int)font_px, h = (int)(font_px * 2.2);
  cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, w, h);
  cairo_t *cr = cairo_create(s);
  if (!transparent) {
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
  }
  cairo_set_source_rgb(cr, 0.85, 0.35, 0.05);
  cairo_rectangle(cr, 10, h * 0.2, 90, h * 0.6);
  cairo_fill(cr);
  cairo_set_source_rgb(cr, 0.05, 0.1, 0.3);
  cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
  cairo_set_font_size(cr, font_px);
  cairo_move_to(cr, 120, h * 0.65);
  cairo_show_text(cr, text);
  cairo_destroy(cr);
  fx_buf b = {0};
  cairo_surface_write_to_png_stream(s, fx_cairo_write, &b);
  cairo_surface_destroy(s);
  *len = b.n;
  return b.p;
}

static uint32_t fx_crc32(const uint8_t *p, size_t n) {
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; i++) {
    c ^= p[i];
    for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1)));
  }
  return ~c;
}

/* A PNG that declares w x h pixels and holds no image data: a decompression bomb's
 * header, to be refused before decoding. */
static inline uint8_t *fx_png_header_only(uint32_t w, uint32_t h, size_t *len) {
  static uint8_t png[8 + 25 + 12];
  memcpy(png, "\x89PNG\r\n\x1a\n", 8);
  uint8_t ihdr[4 + 4 + 13] = {0, 0, 0, 13, 'I', 'H', 'D', 'R'};
  uint8_t *d = ihdr + 8;
  d[0] = (uint8_t)(w >> 24), d[1] = (uint8_t)(w >> 16), d[2] = (uint8_t)(w >> 8),
  d[3] = (uint8_t)w;
  d[4] = (uint8_t)(h >> 24), d[5] = (uint8_t)(h >> 16), d[6] = (uint8_t)(h >> 8),
  d[7] = (uint8_t)h;
  d[8] = 8, d[9] = 2, d[10] = 0, d[11] = 0, d[12] = 0; /* 8-bit RGB */
  memcpy(png + 8, ihdr, sizeof ihdr);
  uint32_t crc = fx_crc32(ihdr + 4, 17);
  uint8_t *c = png + 8 + sizeof ihdr;
  c[0] = (uint8_t)(crc >> 24), c[1] = (uint8_t)(crc >> 16), c[2] = (uint8_t)(crc >> 8),
  c[3] = (uint8_t)crc;
  memcpy(png + 8 + 25, "\0\0\0\0IEND\xae\x42\x60\x82", 12);
  *len = sizeof png;
  uint8_t *out = malloc(sizeof png);
  memcpy(out, png, sizeof png);
  return out;
}

/* ---- PDFs drawn with cairo ----------------------------------------------------- */

typedef struct {
  const char *const *lines; /* body lines, NULL-terminated */
  const char *footer;       /* small print at the bottom of each page, or NULL */
  const char *link_text;    /* text carrying a link annotation, or NULL */
  const char *link_uri;
  const uint8_t *logo_png;  /* an image in the letterhead, or NULL */
  size_t logo_len;
  int pages;                /* 0: one */
} fx_pdf_spec;

static cairo_status_t fx_png_read(void *closure, unsigned char *data, unsigned int len) {
  fx_buf *b = closure; /* p/n: data left to read */
  if (len > b->n) return CAIRO_STATUS_READ_ERROR;
  memcpy(data, b->p, len);
  b->p += len, b->n -= len;
  return CAIRO_STATUS_SUCCESS;
}

static inline uint8_t *fx_pdf(const fx_pdf_spec *sp, size_t *len) {
  fx_buf b = {0};
  cairo_surface_t *s = cairo_pdf_surface_create_for_stream(fx_cairo_write, &b, 595, 842);
  cairo_t *cr = cairo_create(s);
  cairo_surface_t *logo = NULL;
  if (sp->logo_png) {
    fx_buf rd = {(uint8_t *)sp->logo_png, sp->logo_len, 0};
    logo = cairo_image_surface_create_from_png_stream(fx_png_read, &rd);
  }
  for (int pg = 0; pg < (sp->pages ? sp->pages : 1); pg++) {
    cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL,
                           CAIRO_FONT_WEIGHT_NORMAL);
    double y = 80;
    if (logo) {
      cairo_save(cr);
      cairo_translate(cr, 50, 30);
      cairo_scale(cr, 0.5, 0.5);
      cairo_set_source_surface(cr, logo, 0, 0);
      cairo_paint(cr);
      cairo_restore(cr);
      y = 130;
    }
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_set_font_size(cr, 12);
    for (const char *const *l = sp->lines; l && *l; l++) {
      cairo_move_to(cr, 50, y);
      cairo_show_text(cr, *l);
      y += 18;
    }
    if (sp->link_text) {
      char attr[512];
      snprintf(attr, sizeof attr, "uri='%s'", sp->link_uri);
      cairo_tag_begin(cr, CAIRO_TAG_LINK, attr);
      cairo_move_to(cr, 50, y + 10);
      cairo_show_text(cr, sp->link_text);
      cairo_tag_end(cr, CAIRO_TAG_LINK);
    }
    if (sp->footer) {
      cairo_set_font_size(cr, 7);
      cairo_move_to(cr, 50, 820);
      cairo_show_text(cr, sp->footer);
    }
    cairo_show_page(cr);
  }
  if (logo) cairo_surface_destroy(logo);
  cairo_destroy(cr);
  cairo_surface_finish(s);
  cairo_surface_destroy(s);
  *len = b.n;
  return b.p;
}

/* ---- PDFs written by hand ------------------------------------------------------ */

/* Objects 1..n in order, then a cross-reference table; `trailer_extra` goes into the
 * trailer dictionary (an /Encrypt reference, an /ID). */
typedef struct {
  fx_buf b;
  size_t *offs;
  size_t nobj, cap;
} fx_pdfw;

static inline void fx_pdfw_begin(fx_pdfw *w) {
  memset(w, 0, sizeof *w);
  fx_put(&w->b, "%PDF-1.4\n%\xe2\xe3\xcf\xd3\n", 15);
}

/* Starts object number nobj+1; the caller writes its body and "endobj". */
static inline size_t fx_pdfw_obj(fx_pdfw *w) {
  if (w->nobj == w->cap) {
    w->cap = w->cap ? w->cap * 2 : 64;
    w->offs = realloc(w->offs, w->cap * sizeof *w->offs);
  }
  w->offs[w->nobj++] = w->b.n;
  fx_printf(&w->b, "%zu 0 obj\n", w->nobj);
  return w->nobj;
}

static inline uint8_t *fx_pdfw_end(fx_pdfw *w, size_t root, const char *trailer_extra,
                                   size_t *len) {
  size_t xref = w->b.n;
  fx_printf(&w->b, "xref\n0 %zu\n0000000000 65535 f \n", w->nobj + 1);
  for (size_t i = 0; i < w->nobj; i++) fx_printf(&w->b, "%010zu 00000 n \n", w->offs[i]);
  fx_printf(&w->b, "trailer\n<< /Size %zu /Root %zu 0 R %s >>\nstartxref\n%zu\n%%%%EOF\n",
            w->nobj + 1, root, trailer_extra ? trailer_extra : "", xref);
  free(w->offs);
  *len = w->b.n;
  return w->b.p;
}

/* A text page's content stream object; returns its number. */
static inline size_t fx_pdfw_text(fx_pdfw *w, const char *text) {
  char body[512];
  int n = snprintf(body, sizeof body, "BT /F1 12 Tf 72 720 Td (%s) Tj ET", text);
  size_t id = fx_pdfw_obj(w);
  fx_printf(&w->b, "<< /Length %d >>\nstream\n%s\nendstream\nendobj\n", n, body);
  return id;
}

/* A PDF of `pages` pages in one flat page tree, all sharing one content stream. */
static inline uint8_t *fx_pdf_many_pages(unsigned pages, size_t *len) {
  fx_pdfw w;
  fx_pdfw_begin(&w);
  size_t font = fx_pdfw_obj(&w);
  fx_printf(&w.b, "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>\nendobj\n");
  size_t content = fx_pdfw_text(&w, "Page of a very long catalogue");
  /* Pages node is object 3 + pages (after the page objects) + ... keep it simple: the
   * Pages node comes last but before the catalog; pages refer to it by number. */
  size_t pages_id = 3 + pages, root_id = pages_id + 1;
  for (unsigned i = 0; i < pages; i++) {
    fx_pdfw_obj(&w);
    fx_printf(&w.b,
              "<< /Type /Page /Parent %zu 0 R /MediaBox [0 0 612 792] /Contents %zu 0 R "
              "/Resources << /Font << /F1 %zu 0 R >> >> >>\nendobj\n",
              pages_id, content, font);
  }
  fx_pdfw_obj(&w);
  fx_printf(&w.b, "<< /Type /Pages /Count %u /Kids [", pages);
  for (unsigned i = 0; i < pages; i++) fx_printf(&w.b, "%u 0 R ", 3 + i);
  fx_printf(&w.b, "] >>\nendobj\n");
  fx_pdfw_obj(&w);
  fx_printf(&w.b, "<< /Type /Catalog /Pages %zu 0 R >>\nendobj\n", pages_id);
  return fx_pdfw_end(&w, root_id, NULL, len);
}

/* A one-page PDF whose page carries a /Nest entry of `depth` nested arrays and whose
 * content stream opens `depth` nested graphics states: parsers that recurse without
 * a bound run out of stack. */
static inline uint8_t *fx_pdf_deep(unsigned depth, size_t *len) {
  fx_pdfw w;
  fx_pdfw_begin(&w);
  size_t font = fx_pdfw_obj(&w);
  fx_printf(&w.b, "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>\nendobj\n");
  size_t content = fx_pdfw_obj(&w);
  fx_buf cs = {0};
  for (unsigned i = 0; i < depth; i++) fx_put(&cs, "q ", 2);
  fx_printf(&cs, "BT /F1 12 Tf 72 720 Td (Deeply nested) Tj ET ");
  for (unsigned i = 0; i < depth; i++) fx_put(&cs, "Q ", 2);
  fx_printf(&w.b, "<< /Length %zu >>\nstream\n", cs.n);
  fx_put(&w.b, cs.p, cs.n);
  fx_printf(&w.b, "\nendstream\nendobj\n");
  free(cs.p);
  size_t page = fx_pdfw_obj(&w);
  fx_printf(&w.b,
            "<< /Type /Page /Parent 4 0 R /MediaBox [0 0 612 792] /Contents %zu 0 R "
            "/Resources << /Font << /F1 %zu 0 R >> >> /Nest ",
            content, font);
  for (unsigned i = 0; i < depth; i++) fx_put(&w.b, "[", 1);
  for (unsigned i = 0; i < depth; i++) fx_put(&w.b, "]", 1);
  fx_printf(&w.b, " >>\nendobj\n");
  fx_pdfw_obj(&w); /* 4: Pages */
  fx_printf(&w.b, "<< /Type /Pages /Count 1 /Kids [%zu 0 R] >>\nendobj\n", page);
  size_t root = fx_pdfw_obj(&w);
  fx_printf(&w.b, "<< /Type /Catalog /Pages 4 0 R >>\nendobj\n");
  return fx_pdfw_end(&w, root, NULL, len);
}

/* A PDF encrypted with the standard security handler (RC4, revision 2) under a user
 * password that is not empty: its /U entry does not match the empty password, so a
 * reader without the password cannot open it. */
static inline uint8_t *fx_pdf_encrypted(size_t *len) {
  fx_pdfw w;
  fx_pdfw_begin(&w);
  size_t content = fx_pdfw_text(&w, "\x8a\x13\x52\x9c secret"); /* ciphertext */
  size_t page = fx_pdfw_obj(&w);
  fx_printf(&w.b,
            "<< /Type /Page /Parent 3 0 R /MediaBox [0 0 612 792] /Contents %zu 0 R >>\n"
            "endobj\n",
            content);
  fx_pdfw_obj(&w);
  fx_printf(&w.b, "<< /Type /Pages /Count 1 /Kids [%zu 0 R] >>\nendobj\n", page);
  size_t root = fx_pdfw_obj(&w);
  fx_printf(&w.b, "<< /Type /Catalog /Pages 3 0 R >>\nendobj\n");
  size_t enc = fx_pdfw_obj(&w);
  fx_printf(&w.b,
            "<< /Filter /Standard /V 1 /R 2 /Length 40 /P -3904\n"
            "/O <2055c756c72e1ad702608e8196acad447ad32d17cff583235f6dd15fed7dab67>\n"
            "/U <1b6e5a3f2bd1f4fd8a0b3c5e7d9f1a2b4c6d8e0f1a3b5c7d9e1f2a4b6c8d0e1f> >>\n"
            "endobj\n");
  char extra[160];
  snprintf(extra, sizeof extra,
           "/Encrypt %zu 0 R /ID [<8f1d7bbf0c0f6a2b9c3e4d5f60718293> "
           "<8f1d7bbf0c0f6a2b9c3e4d5f60718293>]",
           enc);
  return fx_pdfw_end(&w, root, extra, len);
}

/* ---- DOCX --------------------------------------------------------------------- */

typedef struct {
  const char *name;
  const void *data;
  size_t len; /* 0: strlen(data) */
} fx_part;

/* A zip of the given parts, deflated, in order. Returns malloc'd bytes. */
static inline uint8_t *fx_zip(const fx_part *parts, size_t nparts, size_t *len) {
  zip_error_t ze;
  zip_error_init(&ze);
  zip_source_t *src = zip_source_buffer_create(NULL, 0, 0, &ze);
  zip_source_keep(src);
  zip_t *za = zip_open_from_source(src, ZIP_TRUNCATE, &ze);
  for (size_t i = 0; i < nparts; i++) {
    size_t n = parts[i].len ? parts[i].len : strlen(parts[i].data);
    zip_source_t *ps = zip_source_buffer(za, parts[i].data, n, 0);
    zip_int64_t idx = zip_file_add(za, parts[i].name, ps, ZIP_FL_ENC_UTF_8);
    zip_set_file_compression(za, (zip_uint64_t)idx, ZIP_CM_DEFLATE, 9);
  }
  zip_close(za);
  zip_source_open(src);
  zip_source_seek(src, 0, SEEK_END);
  zip_int64_t size = zip_source_tell(src);
  zip_source_seek(src, 0, SEEK_SET);
  uint8_t *out = malloc((size_t)size + 1);
  zip_source_read(src, out, (zip_uint64_t)size);
  zip_source_close(src);
  zip_source_free(src);
  zip_error_fini(&ze);
  *len = (size_t)size;
  return out;
}

#define FX_W "xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\" " \
             "xmlns:r=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships\""
#define FX_CT                                                                            \
  "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>"                        \
  "<Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\">"        \
  "<Default Extension=\"rels\" ContentType=\"application/"                               \
  "vnd.openxmlformats-package.relationships+xml\"/>"                                     \
  "<Default Extension=\"xml\" ContentType=\"application/xml\"/>"                         \
  "<Default Extension=\"png\" ContentType=\"image/png\"/>"                               \
  "<Override PartName=\"/word/document.xml\" ContentType=\"application/"                 \
  "vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml\"/></Types>"
#define FX_ROOT_RELS                                                                     \
  "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"                                           \
  "<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">" \
  "<Relationship Id=\"rId1\" Type=\"http://schemas.openxmlformats.org/officeDocument/"  \
  "2006/relationships/officeDocument\" Target=\"word/document.xml\"/></Relationships>"

/* A DOCX as Word writes one: content types, package relationships, the body with a
 * hyperlink, a footer with small print, and the relationships that give the link's
 * target. `logo_png` (optional) goes to word/media/image1.png. */
static inline uint8_t *fx_docx(const char *body_text, const char *link_text,
                               const char *link_uri, const char *footer_text,
                               const uint8_t *logo_png, size_t logo_len, size_t *len) {
  char doc[4096], rels[2048], footer[1024];
  snprintf(doc, sizeof doc,
           "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>"
           "<w:document " FX_W "><w:body>"
           "<w:p><w:r><w:t xml:space=\"preserve\">%s</w:t></w:r></w:p>"
           "<w:p><w:r><w:t>Line two</w:t><w:tab/><w:t>after a tab</w:t></w:r></w:p>"
           "<w:p><w:hyperlink r:id=\"rId9\"><w:r><w:t>%s</w:t></w:r></w:hyperlink></w:p>"
           "<w:sectPr><w:footerReference w:type=\"default\" r:id=\"rId8\"/></w:sectPr>"
           "</w:body></w:document>",
           body_text, link_text ? link_text : "");
  snprintf(rels, sizeof rels,
           "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
           "<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/"
           "relationships\">"
           "<Relationship Id=\"rId8\" Type=\"http://schemas.openxmlformats.org/"
           "officeDocument/2006/relationships/footer\" Target=\"footer1.xml\"/>"
           "%s%s%s</Relationships>",
           link_uri ? "<Relationship Id=\"rId9\" Type=\"http://schemas.openxmlformats.org/"
                      "officeDocument/2006/relationships/hyperlink\" Target=\""
                    : "",
           link_uri ? link_uri : "", link_uri ? "\" TargetMode=\"External\"/>" : "");
  snprintf(footer, sizeof footer,
           "<?xml version=\"1.0\" encoding=\"UTF-8\"?><w:ftr " FX_W ">"
           "<w:p><w:r><w:t>%s</w:t></w:r></w:p></w:ftr>",
           footer_text ? footer_text : "");
  fx_part parts[] = {
      {"[Content_Types].xml", FX_CT, 0},
      {"_rels/.rels", FX_ROOT_RELS, 0},
      {"word/document.xml", doc, 0},
      {"word/_rels/document.xml.rels", rels, 0},
      {"word/footer1.xml", footer, 0},
      {"word/media/image1.png", logo_png, logo_len},
  };
  return fx_zip(parts, logo_png ? 6 : 5, len);
}

/* ---- assertions on results ------------------------------------------------------ */

/* The segments of a source (or all, src < 0) joined by newlines: for substring checks. */
static inline char *fx_joined(const extract_doc *d, int src) {
  fx_buf b = {0};
  fx_put(&b, "", 0);
  for (size_t i = 0; i < d->nsegs; i++) {
    if (src >= 0 && d->segs[i].source != (extract_source)src) continue;
    fx_put(&b, d->segs[i].text, d->segs[i].len);
    fx_put(&b, "\n", 1);
  }
  return (char *)b.p;
}

/* True when the needle occurs in a segment of the given source (any: src < 0),
 * ignoring case; *page receives the segment's page when not NULL. */
static inline bool fx_has(const extract_doc *d, int src, const char *needle, unsigned *page) {
  for (size_t i = 0; i < d->nsegs; i++) {
    if (src >= 0 && d->segs[i].source != (extract_source)src) continue;
    if (strcasestr(d->segs[i].text, needle)) {
      if (page) *page = d->segs[i].page;
      return true;
    }
  }
  return false;
}

static inline void fx_dump(const extract_doc *d) {
  for (size_t i = 0; i < d->nsegs; i++)
    fprintf(stderr, "  [p%u %s] %s\n", d->segs[i].page, extract_source_name(d->segs[i].source),
            d->segs[i].text);
}

#endif
