/* test_extract_ocr.c - web addresses in images: a logo PNG, a transparent logo, a
 * logo inside a PDF letterhead and inside a DOCX, and the fallback without OCR data. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <sys/stat.h>
#include <unistd.h>

#include "extract_fixtures.h"

#define URL "www.acme-tools-shop.com"

typedef struct {
  pl_arena *a;
  extract_doc doc;
  pl_detail d;
} run;

static int setup(void **state) {
  run *r = calloc(1, sizeof *r);
  r->a = pl_arena_new();
  *state = r;
  return 0;
}

static int teardown(void **state) {
  run *r = *state;
  pl_arena_free(r->a);
  free(r);
  return 0;
}

/* These tests are about what OCR reads, not how fast: a busy test machine must not
 * turn them into timeouts (test_extract_hostile covers those). */
static const extract_limits slow_ok = {.timeout_ms = 60000, .cpu_seconds = 60};

static extract_doc *read_ok(run *r, const void *data, size_t len, const char *name) {
  pl_err rc = extract_file(data, len, name, &slow_ok, r->a, &r->doc, &r->d);
  if (rc != PL_OK) fprintf(stderr, "%s: %s: %s\n", name, pl_errname(rc), r->d.msg);
  assert_int_equal(rc, PL_OK);
  return &r->doc;
}

static void expect_url(const extract_doc *d, unsigned page) {
  unsigned got = 99;
  if (!fx_has(d, EXTRACT_SRC_OCR, URL, &got)) fx_dump(d);
  assert_true(fx_has(d, EXTRACT_SRC_OCR, URL, &got));
  assert_int_equal(got, page);
}

/* The seeds' most common violation: the shop's web address in its logo. */
static void test_logo_png(void **state) {
  size_t n;
  uint8_t *png = fx_logo_png(URL, 28, false, &n);
  extract_doc *d = read_ok(*state, png, n, "logo.png");
  assert_int_equal(d->kind, EXTRACT_PNG);
  expect_url(d, 0);
  free(png);
}

/* A small logo (12 px letters) is enlarged before OCR. */
static void test_small_logo(void **state) {
  size_t n;
  uint8_t *png = fx_logo_png(URL, 12, false, &n);
  expect_url(read_ok(*state, png, n, "signature.png"), 0);
  free(png);
}

/* Dark letters on a transparent background are put on white first. */
static void test_transparent_logo(void **state) {
  size_t n;
  uint8_t *png = fx_logo_png(URL, 24, true, &n);
  expect_url(read_ok(*state, png, n, "logo.png"), 0);
  free(png);
}

static void test_logo_in_pdf_letterhead(void **state) {
  size_t n, pn;
  uint8_t *png = fx_logo_png(URL, 40, false, &pn);
  static const char *const lines[] = {"Invoice 2024-0118", "Total EUR 12.00", NULL};
  uint8_t *pdf =
      fx_pdf(&(fx_pdf_spec){.lines = lines, .logo_png = png, .logo_len = pn, .pages = 2}, &n);
  extract_doc *d = read_ok(*state, pdf, n, "invoice.pdf");
  assert_true(fx_has(d, EXTRACT_SRC_TEXT, "Invoice 2024-0118", NULL));
  /* cairo stores the logo once and draws it on both pages: both are read. */
  expect_url(d, 1);
  size_t pages_with_url = 0;
  for (size_t i = 0; i < d->nsegs; i++)
    if (d->segs[i].source == EXTRACT_SRC_OCR && strcasestr(d->segs[i].text, URL))
      pages_with_url |= 1u << d->segs[i].page;
  assert_int_equal(pages_with_url, (1u << 1) | (1u << 2));
  free(pdf);
  free(png);
}

static void test_logo_in_docx(void **state) {
  size_t n, pn;
  uint8_t *png = fx_logo_png(URL, 32, false, &pn);
  uint8_t *docx = fx_docx("Kind regards, the Acme team", NULL, NULL, NULL, png, pn, &n);
  extract_doc *d = read_ok(*state, docx, n, "letter.docx");
  expect_url(d, 0);
  free(docx);
  free(png);
}

/* A text image of other rule languages reads with their letters. */
static void test_german_text(void **state) {
  size_t n;
  uint8_t *png = fx_logo_png("Grüße aus München", 30, false, &n);
  extract_doc *d = read_ok(*state, png, n, "gruss.png");
  if (!fx_has(d, EXTRACT_SRC_OCR, "München", NULL)) fx_dump(d);
  assert_true(fx_has(d, EXTRACT_SRC_OCR, "München", NULL));
  free(png);
}

/* Without language data the image is unreadable (held for review), never passed. */
static void test_no_ocr_data(void **state) {
  run *r = *state;
  char dir[] = "/tmp/parley-no-tessdata-XXXXXX";
  assert_non_null(mkdtemp(dir));
  extract_limits lim = slow_ok;
  lim.tessdata = dir;
  size_t n;
  uint8_t *png = fx_logo_png(URL, 28, false, &n);
  assert_int_equal(extract_text(png, n, EXTRACT_PNG, &lim, r->a, &r->doc, &r->d),
                   PL_EUNREADABLE);
  assert_int_equal(r->doc.reason, EXTRACT_R_NO_OCR);
  free(png);
  rmdir(dir);
}

/* Only English installed (or asked for): OCR still works. */
static void test_english_only(void **state) {
  run *r = *state;
  extract_limits lim = slow_ok;
  lim.ocr_langs = "eng";
  size_t n;
  uint8_t *png = fx_logo_png(URL, 28, false, &n);
  assert_int_equal(extract_text(png, n, EXTRACT_PNG, &lim, r->a, &r->doc, &r->d), PL_OK);
  expect_url(&r->doc, 0);
  /* A language whose data are missing falls back to English. */
  lim.ocr_langs = "eng+xyz";
  assert_int_equal(extract_text(png, n, EXTRACT_PNG, &lim, r->a, &r->doc, &r->d), PL_OK);
  expect_url(&r->doc, 0);
  free(png);
}

/* OCR in this process, where the sanitizers follow Tesseract's and Leptonica's
 * memory to the end. */
static void test_in_process(void **state) {
  run *r = *state;
  size_t n, pn;
  uint8_t *png = fx_logo_png(URL, 32, true, &pn);
  uint8_t *docx = fx_docx("Regards", NULL, NULL, NULL, png, pn, &n);
  extract_limits lim = slow_ok;
  lim.in_process = true;
  lim.ocr_langs = "eng";
  assert_int_equal(extract_text(png, pn, EXTRACT_PNG, &lim, r->a, &r->doc, &r->d), PL_OK);
  expect_url(&r->doc, 0);
  assert_int_equal(extract_text(docx, n, EXTRACT_DOCX, &lim, r->a, &r->doc, &r->d), PL_OK);
  expect_url(&r->doc, 0);
  free(docx);
  free(png);
}

int main(void) {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
  const struct CMUnitTest tests[] = {
      T(test_logo_png),        T(test_small_logo),   T(test_transparent_logo),
      T(test_logo_in_pdf_letterhead), T(test_logo_in_docx), T(test_german_text),
      T(test_no_ocr_data),     T(test_english_only),  T(test_in_process),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
