/* test_extract_hostile.c - files made to hurt the reader: zip bombs, encrypted and
 * enormous or deeply nested PDFs, truncated and pixel-bomb images, reading that
 * outruns its time or memory. Each must end as "unreadable" (held for review) within
 * its bounds, and never take the caller down. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <time.h>

#include "extract_fixtures.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

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

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Reads as kind and expects PL_EUNREADABLE for `reason`. */
static void expect_unreadable(run *r, const void *data, size_t len, extract_kind kind,
                              const extract_limits *lim, extract_reason reason) {
  pl_err rc = extract_text(data, len, kind, lim, r->a, &r->doc, &r->d);
  if (rc != PL_EUNREADABLE || r->doc.reason != reason)
    fprintf(stderr, "got %s, reason %s: %s\n", pl_errname(rc),
            extract_reason_name(r->doc.reason), r->d.msg);
  assert_int_equal(rc, PL_EUNREADABLE);
  assert_int_equal(r->doc.reason, reason);
  assert_non_null(strstr(r->d.msg, extract_reason_name(reason)));
}

/* ---- DOCX ----------------------------------------------------------------------- */

static void test_zip_bomb_ratio(void **state) {
  /* 20 MB of zeros deflate to about 20 KB: 1000:1. */
  size_t big = 20u * 1000u * 1000u;
  char *zeros = calloc(1, big);
  fx_part parts[] = {{"[Content_Types].xml", FX_CT, 0},
                     {"word/document.xml", "<w:document " FX_W "/>", 0},
                     {"word/media/image1.png", zeros, big}};
  size_t n;
  uint8_t *docx = fx_zip(parts, 3, &n);
  free(zeros);
  assert_true(n < 100000);
  /* Held even though the bomb is in a part that would not be read as text. */
  expect_unreadable(*state, docx, n, EXTRACT_DOCX, NULL, EXTRACT_R_LIMIT);
  run *r = *state;
  assert_non_null(strstr(r->d.msg, "expands"));
  free(docx);
}

static void test_zip_bomb_total(void **state) {
  /* Under the ratio, over a (lowered) total: the cap on bytes read holds alone. */
  size_t big = 3u * 1000u * 1000u;
  char *text = malloc(big);
  for (size_t i = 0; i < big; i++) text[i] = (char)('a' + (i * 2654435761u >> 7) % 26);
  fx_part parts[] = {{"[Content_Types].xml", FX_CT, 0}, {"word/document.xml", text, big}};
  size_t n;
  uint8_t *docx = fx_zip(parts, 2, &n);
  free(text);
  extract_limits lim = {.zip_max_total = 1000000};
  expect_unreadable(*state, docx, n, EXTRACT_DOCX, &lim, EXTRACT_R_LIMIT);
  free(docx);
}

static void test_zip_entry_count(void **state) {
  enum { N = 2100 };
  static fx_part parts[N];
  static char names[N][32];
  parts[0] = (fx_part){"word/document.xml", "<w:document " FX_W "/>", 0};
  for (int i = 1; i < N; i++) {
    snprintf(names[i], sizeof names[i], "junk/%d.bin", i);
    parts[i] = (fx_part){names[i], "x", 1};
  }
  size_t n;
  uint8_t *docx = fx_zip(parts, N, &n);
  expect_unreadable(*state, docx, n, EXTRACT_DOCX, NULL, EXTRACT_R_LIMIT);
  run *r = *state;
  assert_non_null(strstr(r->d.msg, "entries"));
  free(docx);
}

static void test_docx_damaged(void **state) {
  size_t n;
  uint8_t *docx = fx_docx("Hello there", NULL, NULL, NULL, NULL, 0, &n);
  /* Cut in half: the central directory is gone. */
  expect_unreadable(*state, docx, n / 2, EXTRACT_DOCX, NULL, EXTRACT_R_MALFORMED);
  /* A flipped byte inside compressed data: CRC or inflate error. */
  docx[60] ^= 0xFF, docx[61] ^= 0x5A;
  run *r = *state;
  pl_err rc = extract_text(docx, n, EXTRACT_DOCX, NULL, r->a, &r->doc, &r->d);
  assert_true(rc == PL_EUNREADABLE || rc == PL_OK);
  free(docx);
}

static void test_docx_encrypted_entry(void **state) {
  size_t n;
  uint8_t *docx = fx_docx("Secret body", NULL, NULL, NULL, NULL, 0, &n);
  /* Set the "encrypted" flag of every local and central header: readers must ask for
   * a password they do not have. */
  for (size_t i = 0; i + 10 < n; i++) {
    if (!memcmp(docx + i, "PK\3\4", 4)) docx[i + 6] |= 1;
    if (!memcmp(docx + i, "PK\1\2", 4)) docx[i + 8] |= 1;
  }
  run *r = *state;
  pl_err rc = extract_text(docx, n, EXTRACT_DOCX, NULL, r->a, &r->doc, &r->d);
  assert_int_equal(rc, PL_EUNREADABLE);
  assert_true(r->doc.reason == EXTRACT_R_ENCRYPTED || r->doc.reason == EXTRACT_R_MALFORMED);
  free(docx);
}

/* ---- PDF ------------------------------------------------------------------------ */

static void test_pdf_encrypted(void **state) {
  size_t n;
  uint8_t *pdf = fx_pdf_encrypted(&n);
  expect_unreadable(*state, pdf, n, EXTRACT_PDF, NULL, EXTRACT_R_ENCRYPTED);
  run *r = *state;
  assert_non_null(strstr(r->d.msg, "password"));
  free(pdf);
}

static void test_pdf_thousands_of_pages(void **state) {
  size_t n;
  uint8_t *pdf = fx_pdf_many_pages(5000, &n);
  double t0 = now();
  expect_unreadable(*state, pdf, n, EXTRACT_PDF, NULL, EXTRACT_R_LIMIT);
  run *r = *state;
  assert_true(now() - t0 < 6.0);
  assert_int_equal(r->doc.pages, 5000);
  /* What was read is kept, page by page, for the policy to scan all the same. */
  assert_true(r->doc.nsegs >= 300);
  assert_int_equal(r->doc.segs[r->doc.nsegs - 1].page, 300);
  free(pdf);
}

static void test_pdf_deep_nesting(void **state) {
  size_t n;
  uint8_t *pdf = fx_pdf_deep(100000, &n);
  run *r = *state;
  double t0 = now();
  pl_err rc = extract_text(pdf, n, EXTRACT_PDF, NULL, r->a, &r->doc, &r->d);
  /* poppler bounds its own recursion; either way the caller is unharmed. */
  assert_true(rc == PL_OK || rc == PL_EUNREADABLE);
  assert_true(now() - t0 < 6.0);
  free(pdf);
}

static void test_pdf_garbage(void **state) {
  const char *junk = "%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\ntrailer<<>>";
  expect_unreadable(*state, junk, strlen(junk), EXTRACT_PDF, NULL, EXTRACT_R_MALFORMED);
}

static void test_text_cap(void **state) {
  size_t n;
  uint8_t *pdf = fx_pdf_many_pages(200, &n);
  extract_limits lim = {.max_text = 1000};
  expect_unreadable(*state, pdf, n, EXTRACT_PDF, &lim, EXTRACT_R_LIMIT);
  run *r = *state;
  size_t total = 0;
  for (size_t i = 0; i < r->doc.nsegs; i++) total += r->doc.segs[i].len;
  assert_true(total <= 1000 && total > 900);
  free(pdf);
}

/* ---- images ----------------------------------------------------------------------- */

static void test_png_truncated(void **state) {
  size_t n;
  uint8_t *png = fx_logo_png("www.acme-tools-shop.com", 28, false, &n);
  run *r = *state;
  /* Cut inside the image data: the decoder fails, or reads a part; it never passes
   * the file as read when it could not decode it. */
  pl_err rc = extract_text(png, n / 2, EXTRACT_PNG, NULL, r->a, &r->doc, &r->d);
  if (rc == PL_EUNREADABLE) assert_int_equal(r->doc.reason, EXTRACT_R_MALFORMED);
  /* Cut inside the header: certainly unreadable. */
  expect_unreadable(r, png, 20, EXTRACT_PNG, NULL, EXTRACT_R_MALFORMED);
  free(png);
}

static void test_png_pixel_bomb(void **state) {
  size_t n;
  uint8_t *png = fx_png_header_only(100000, 100000, &n);
  expect_unreadable(*state, png, n, EXTRACT_PNG, NULL, EXTRACT_R_LIMIT);
  free(png);
}

static void test_not_an_image(void **state) {
  const char *s = "GIF89a but nothing after that";
  expect_unreadable(*state, s, strlen(s), EXTRACT_GIF, NULL, EXTRACT_R_MALFORMED);
}

/* ---- time and memory ---------------------------------------------------------------- */

static void test_timeout(void **state) {
  size_t n;
  uint8_t *png = fx_logo_png("www.acme-tools-shop.com", 28, false, &n);
  extract_limits lim = {.timeout_ms = 1};
  double t0 = now();
  expect_unreadable(*state, png, n, EXTRACT_PNG, &lim, EXTRACT_R_TIMEOUT);
  assert_true(now() - t0 < 2.0);
  free(png);
}

static void test_memory_cap(void **state) {
#ifdef UNDER_ASAN
  skip(); /* the reader leaves the address-space cap to AddressSanitizer */
#else
  /* 4 MB of text need 12 MB to be cleaned; 2 MB more address space than the loaded
   * reader has cannot hold that: the reader dies, the caller learns it crashed and
   * holds the file. */
  size_t n = 4u << 20;
  char *txt = malloc(n);
  memset(txt, 'a', n);
  extract_limits lim = {.max_memory = 2u << 20};
  expect_unreadable(*state, txt, n, EXTRACT_TXT, &lim, EXTRACT_R_CRASHED);
  /* The same file within the default cap is read. */
  run *r = *state;
  assert_int_equal(extract_text((const uint8_t *)txt, n, EXTRACT_TXT, NULL, r->a, &r->doc, &r->d),
                   PL_OK);
  free(txt);
#endif
}

/* The caller's process survives all of the above and still reads good files. */
static void test_still_works(void **state) {
  run *r = *state;
  const char *t = "still fine";
  assert_int_equal(extract_text((const uint8_t *)t, strlen(t), EXTRACT_TXT, NULL, r->a, &r->doc, &r->d),
                   PL_OK);
  assert_string_equal(r->doc.segs[0].text, "still fine");
}

int main(void) {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
  const struct CMUnitTest tests[] = {
      T(test_zip_bomb_ratio),   T(test_zip_bomb_total),    T(test_zip_entry_count),
      T(test_docx_damaged),     T(test_docx_encrypted_entry), T(test_pdf_encrypted),
      T(test_pdf_thousands_of_pages), T(test_pdf_deep_nesting), T(test_pdf_garbage),
      T(test_text_cap),         T(test_png_truncated),     T(test_png_pixel_bomb),
      T(test_not_an_image),     T(test_timeout),           T(test_memory_cap),
      T(test_still_works),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
