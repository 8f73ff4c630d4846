/* bench_extract.c - attachment reading: time per file and per MB for each kind (TXT,
 * DOCX, PDF, PNG by OCR, documents with a logo to OCR), in this process and through
 * parley-reader (a confined program started per file, as the service reads), and the
 * cost of sniffing. Inputs are generated at start; figures go to bench/RESULTS.md by
 * hand. The reader is $PARLEY_READER, else the one of this build.
 * Usage: bench_extract [repeats [ocr-languages]]   (languages: e.g. "eng"; default
 * eng plus the installed rule languages) */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../tests/unit/extract/extract_fixtures.h"

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef struct {
  const char *name;
  extract_kind kind;
  uint8_t *data;
  size_t len;
} input;

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Median seconds of `reps` reads; *text receives the bytes of text read. */
static const char *langs;

static const char *reader(void) {
  const char *env = getenv("PARLEY_READER");
  return env && *env ? env : PARLEY_READER_BIN;
}

static double time_read(const input *in, bool sandbox, int reps, size_t *text) {
  double *t = calloc((size_t)reps, sizeof *t);
  extract_limits lim = {.in_process = !sandbox, .timeout_ms = 120000, .cpu_seconds = 120,
                        .ocr_langs = langs, .reader = reader()};
  for (int r = 0; r < reps; r++) {
    pl_arena *a = pl_arena_new();
    extract_doc doc;
    pl_detail d = {0};
    double t0 = now();
    pl_err rc = extract_text(in->data, in->len, in->kind, &lim, a, &doc, &d);
    t[r] = now() - t0;
    if (rc != PL_OK) fprintf(stderr, "%s: %s %s\n", in->name, pl_errname(rc), d.msg);
    *text = 0;
    for (size_t i = 0; i < doc.nsegs; i++) *text += doc.segs[i].len;
    pl_arena_free(a);
  }
  qsort(t, (size_t)reps, sizeof *t, cmp_double);
  double m = t[reps / 2];
  free(t);
  return m;
}

/* A page-sized scan: 1700 x 2200 pixels (A4 at 200 dpi) of 40 lines of text. */
static uint8_t *page_png(size_t *len) {
  cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, 1700, 2200);
  cairo_t *cr = cairo_create(s);
  cairo_set_source_rgb(cr, 1, 1, 1);
  cairo_paint(cr);
  cairo_set_source_rgb(cr, 0, 0, 0);
  cairo_select_font_face(cr, "DejaVu Serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, 30);
  for (int i = 0; i < 40; i++) {
    char line[128];
    snprintf(line, sizeof line, "%02d Thank you for your order of the cordless drill, ref %d.",
             i, 4711 + i);
    cairo_move_to(cr, 120, 150 + i * 48);
    cairo_show_text(cr, line);
  }
  cairo_destroy(cr);
  fx_buf b = {0};
  cairo_surface_write_to_png_stream(s, fx_cairo_write, &b);
  cairo_surface_destroy(s);
  *len = b.n;
  return b.p;
}

int main(int argc, char **argv) {
  int reps = argc > 1 ? atoi(argv[1]) : 5;
  if (reps < 1) reps = 1;
  langs = argc > 2 ? argv[2] : NULL;
  input in[10];
  size_t k = 0;

  /* TXT: 4 MB of UTF-8 prose, and the same as Windows-1252 with accents. */
  size_t tn = 4u << 20;
  char *txt = malloc(tn), *lat = malloc(tn);
  static const char para[] = "Dear buyer, your parcel 114-3941689 left our depot today. ";
  for (size_t i = 0; i < tn; i++) {
    txt[i] = para[i % (sizeof para - 1)];
    lat[i] = i % 61 == 7 ? (char)0xE9 : para[i % (sizeof para - 1)];
  }
  in[k++] = (input){"txt utf-8 4 MB", EXTRACT_TXT, (uint8_t *)txt, tn};
  in[k++] = (input){"txt cp1252 4 MB", EXTRACT_TXT, (uint8_t *)lat, tn};

  /* DOCX: 20,000 paragraphs (about 2 MB of XML). */
  fx_buf xml = {0};
  fx_printf(&xml, "<?xml version=\"1.0\"?><w:document " FX_W "><w:body>");
  for (int i = 0; i < 20000; i++)
    fx_printf(&xml, "<w:p><w:r><w:t>Paragraph %d of the warranty terms.</w:t></w:r></w:p>", i);
  fx_printf(&xml, "</w:body></w:document>");
  fx_part parts[] = {{"[Content_Types].xml", FX_CT, 0},
                     {"word/document.xml", xml.p, xml.n}};
  size_t dn;
  uint8_t *docx = fx_zip(parts, 2, &dn);
  in[k++] = (input){"docx 20k paragraphs", EXTRACT_DOCX, docx, dn};

  /* PDF: 100 pages of 40 lines. */
  static const char *lines[41];
  static char store[40][96];
  for (int i = 0; i < 40; i++) {
    snprintf(store[i], sizeof store[i], "Line %d: 1 x cordless drill 18V, EUR 89.90, VAT 19%%", i);
    lines[i] = store[i];
  }
  size_t pn;
  uint8_t *pdf = fx_pdf(&(fx_pdf_spec){.lines = lines, .pages = 100}, &pn);
  in[k++] = (input){"pdf 100 text pages", EXTRACT_PDF, pdf, pn};

  /* Images: a signature logo, and a page-sized scan. */
  size_t ln, sn;
  uint8_t *logo = fx_logo_png("www.acme-tools-shop.com", 24, false, &ln);
  uint8_t *scan = page_png(&sn);
  in[k++] = (input){"png logo (OCR)", EXTRACT_PNG, logo, ln};
  in[k++] = (input){"png page scan (OCR)", EXTRACT_PNG, scan, sn};

  /* Documents with the logo in them: the reader meets an image, and the file is read
   * a second time with OCR loaded. */
  static const char *const inv[] = {"Invoice 2024-0118", "Total EUR 12.00", NULL};
  size_t lpn, ldn;
  uint8_t *logo_pdf = fx_pdf(&(fx_pdf_spec){.lines = inv, .logo_png = logo, .logo_len = ln}, &lpn);
  uint8_t *logo_docx = fx_docx("Kind regards, the Acme team", NULL, NULL, NULL, logo, ln, &ldn);
  in[k++] = (input){"pdf with logo (OCR)", EXTRACT_PDF, logo_pdf, lpn};
  in[k++] = (input){"docx with logo (OCR)", EXTRACT_DOCX, logo_docx, ldn};

  printf("%-22s %10s %10s %12s %12s %12s\n", "input", "file KB", "text KB", "in-proc ms",
         "reader ms", "reader s/MB");
  double sb[10], ip[10];
  size_t text[10];
  for (size_t i = 0; i < k; i++) sb[i] = time_read(&in[i], true, reps, &text[i]);
  for (size_t i = 0; i < k; i++) ip[i] = time_read(&in[i], false, reps, &text[i]);
  for (size_t i = 0; i < k; i++)
    printf("%-22s %10.1f %10.1f %12.1f %12.1f %12.3f\n", in[i].name, (double)in[i].len / 1024,
           (double)text[i] / 1024, ip[i] * 1e3, sb[i] * 1e3,
           sb[i] / ((double)in[i].len / 1048576.0));

  /* Sniffing loads libmagic's database each call; through the reader it also starts
   * the program. */
  for (int mode = 0; mode < 2; mode++) {
    extract_limits lim = {.in_process = mode == 0, .reader = reader()};
    double t0 = now();
    int sn_reps = (mode == 0 ? 50 : 10) * reps;
    for (int r = 0; r < sn_reps; r++) {
      extract_kind kind;
      pl_detail d;
      extract_sniff(in[r % k].data, in[r % k].len, &lim, &kind, &d);
    }
    printf("sniff %s: %.2f ms per file\n", mode == 0 ? "in process" : "by parley-reader",
           (now() - t0) * 1e3 / sn_reps);
  }

  /* What the service does per new upload: sniff and read in one reader run. */
  const char *const names[] = {"a.txt", "b.txt", "c.docx", "d.pdf", "e.png", "f.png", "g.pdf", "h.docx"};
  printf("%-22s %12s\n", "extract_file", "reader ms");
  for (size_t i = 0; i < k; i++) {
    extract_limits lim = {.timeout_ms = 120000, .cpu_seconds = 120, .ocr_langs = langs,
                          .reader = reader()};
    double best = 1e9;
    for (int r = 0; r < reps; r++) {
      pl_arena *a = pl_arena_new();
      extract_doc doc;
      pl_detail d = {0};
      double t0 = now();
      pl_err rc = extract_file(in[i].data, in[i].len, names[i], &lim, a, &doc, &d);
      double t = now() - t0;
      if (rc != PL_OK) fprintf(stderr, "%s: %s %s\n", in[i].name, pl_errname(rc), d.msg);
      if (t < best) best = t;
      pl_arena_free(a);
    }
    printf("%-22s %12.1f (best of %d)\n", in[i].name, best * 1e3, reps);
  }

  free(txt), free(lat), free(xml.p), free(docx), free(pdf), free(logo), free(scan);
  free(logo_pdf), free(logo_docx);
  return 0;
}
