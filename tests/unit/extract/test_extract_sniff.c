/* test_extract_sniff.c - attachment kinds by content, names that contradict the
 * content, unsupported types, empty and oversize files. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "extract_fixtures.h"

static extract_kind sniff(const void *data, size_t len, pl_err want) {
  extract_kind k;
  pl_detail d = {0};
  pl_err rc = extract_sniff(data, len, NULL, &k, &d);
  if (rc != want) fprintf(stderr, "sniff: %s (%s)\n", pl_errname(rc), d.msg);
  assert_int_equal(rc, want);
  return k;
}

static void test_kinds_by_content(void **state) {
  (void)state;
  size_t n;
  uint8_t *png = fx_logo_png("Acme", 20, false, &n);
  assert_int_equal(sniff(png, n, PL_OK), EXTRACT_PNG);
  free(png);

  static const char *const lines[] = {"Invoice 1001", NULL};
  uint8_t *pdf = fx_pdf(&(fx_pdf_spec){.lines = lines}, &n);
  assert_int_equal(sniff(pdf, n, PL_OK), EXTRACT_PDF);
  free(pdf);

  uint8_t *docx = fx_docx("Hello", NULL, NULL, NULL, NULL, 0, &n);
  assert_int_equal(sniff(docx, n, PL_OK), EXTRACT_DOCX);
  free(docx);

  const char *txt = "Dear customer,\nyour parcel left today.\n";
  assert_int_equal(sniff(txt, strlen(txt), PL_OK), EXTRACT_TXT);
  static const uint8_t utf16[] = {0xFF, 0xFE, 'H', 0, 'e', 0, 'l', 0, 'l', 0, 'o', 0,
                                  ' ',  0,    'w', 0, 'o', 0, 'r', 0, 'l', 0, 'd', 0};
  assert_int_equal(sniff(utf16, sizeof utf16, PL_OK), EXTRACT_TXT);
  const char *latin1 = "Gr\xfc\xdf" "e aus M\xfcnchen, \xe0 bient\xf4t\n";
  assert_int_equal(sniff(latin1, strlen(latin1), PL_OK), EXTRACT_TXT);

  static const uint8_t jpeg[] = {0xFF, 0xD8, 0xFF, 0xE0, 0, 16, 'J', 'F', 'I', 'F', 0, 1, 1,
                                 0,    0,    1,    0,    1, 0,  0};
  assert_int_equal(sniff(jpeg, sizeof jpeg, PL_OK), EXTRACT_JPEG);
  static const uint8_t gif[] = "GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!"
                               "\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01"
                               "\x00\x00\x02\x02D\x01\x00;";
  assert_int_equal(sniff(gif, sizeof gif - 1, PL_OK), EXTRACT_GIF);
  static const uint8_t bmp[] = {'B', 'M', 58, 0, 0, 0, 0, 0, 0, 0, 54, 0, 0, 0, 40, 0, 0, 0,
                                1,   0,   0,  0, 1, 0, 0, 0, 1, 0, 24, 0, 0, 0,  0, 0, 4, 0,
                                0,   0,   0,  0, 0, 0, 0, 0, 0, 0, 0,  0, 0, 0,  0, 0, 0, 0,
                                255, 255, 255, 0};
  assert_int_equal(sniff(bmp, sizeof bmp, PL_OK), EXTRACT_BMP);
  static const uint8_t tiff[] = {'I', 'I', 42, 0, 8, 0, 0, 0, 0, 0};
  assert_int_equal(sniff(tiff, sizeof tiff, PL_OK), EXTRACT_TIFF);
  /* An OLE2 compound file with a WordDocument stream: a legacy .doc. */
  uint8_t doc[2048] = {0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1};
  memcpy(doc + 1024, "W\0o\0r\0d\0D\0o\0c\0u\0m\0e\0n\0t\0", 24);
  extract_kind k = sniff(doc, sizeof doc, PL_OK);
  assert_int_equal(k, EXTRACT_DOC);
}

static void test_unsupported(void **state) {
  (void)state;
  /* An executable. */
  uint8_t elf[512] = {0x7F, 'E', 'L', 'F', 2, 1, 1, 0};
  elf[16] = 2, elf[18] = 0x3E;
  pl_detail d = {0};
  extract_kind k;
  assert_int_equal(extract_sniff(elf, sizeof elf, NULL, &k, &d), PL_EUNSUPPORTED);
  assert_int_equal(k, EXTRACT_UNSUPPORTED);
  assert_non_null(strstr(d.msg, "accepted are"));
  /* A zip that is not a DOCX. */
  size_t n;
  fx_part parts[] = {{"setup.exe", "MZ\x90\0 not really", 16}, {"readme.txt", "hi", 0}};
  uint8_t *zip = fx_zip(parts, 2, &n);
  assert_int_equal(extract_sniff(zip, n, NULL, &k, &d), PL_EUNSUPPORTED);
  assert_non_null(strstr(d.msg, "zip"));
  free(zip);
  /* RTF is a document format of its own, not a .txt. */
  const char *rtf = "{\\rtf1\\ansi\\deff0 {\\fonttbl {\\f0 Times;}} Hello}";
  assert_int_equal(extract_sniff((const uint8_t *)rtf, strlen(rtf), NULL, &k, &d), PL_EUNSUPPORTED);
  /* Gzip is not read (and not decompressed by the sniffer). */
  static const uint8_t gz[] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  assert_int_equal(extract_sniff(gz, sizeof gz, NULL, &k, &d), PL_EUNSUPPORTED);
}

static void test_size_limits(void **state) {
  (void)state;
  extract_kind k;
  pl_detail d = {0};
  assert_int_equal(extract_sniff((const uint8_t *)"", 0, NULL, &k, &d), PL_EEMPTY);
  size_t big = 10u * 1000u * 1000u + 1;
  uint8_t *p = calloc(1, big);
  memset(p, 'a', big);
  assert_int_equal(extract_sniff(p, big, NULL, &k, &d), PL_ETOOLARGE);
  assert_non_null(strstr(d.msg, "10000000"));
  /* Exactly the limit is accepted. */
  assert_int_equal(extract_sniff(p, big - 1, NULL, &k, &d), PL_OK);
  /* The limit is configurable. */
  extract_limits lim = {.max_bytes = 1000};
  assert_int_equal(extract_sniff(p, 1001, &lim, &k, &d), PL_ETOOLARGE);
  assert_int_equal(extract_sniff(p, 1000, &lim, &k, &d), PL_OK);
  /* extract_text refuses it too, whoever skipped the sniff. */
  pl_arena *a = pl_arena_new();
  extract_doc doc;
  assert_int_equal(extract_text(p, 1001, EXTRACT_TXT, &lim, a, &doc, &d), PL_ETOOLARGE);
  pl_arena_free(a);
  free(p);
}

static void test_names(void **state) {
  (void)state;
  pl_detail d = {0};
  assert_int_equal(extract_check_name(EXTRACT_PDF, "invoice.pdf", &d), PL_OK);
  assert_int_equal(extract_check_name(EXTRACT_PDF, "INVOICE.PDF", &d), PL_OK);
  assert_int_equal(extract_check_name(EXTRACT_JPEG, "photo.jpg", &d), PL_OK);
  assert_int_equal(extract_check_name(EXTRACT_JPEG, "photo.JPEG", &d), PL_OK);
  assert_int_equal(extract_check_name(EXTRACT_TIFF, "scan.tif", &d), PL_OK);
  assert_int_equal(extract_check_name(EXTRACT_TIFF, "dir.v2/scan.tiff", &d), PL_OK);
  assert_int_equal(extract_check_name(EXTRACT_TXT, "README", &d), PL_OK);
  assert_int_equal(extract_check_name(EXTRACT_TXT, NULL, &d), PL_OK);
  assert_int_equal(extract_check_name(EXTRACT_TXT, "notes 2024.01.05", &d), PL_OK);
  assert_int_equal(extract_check_name(EXTRACT_TXT, ".profile", &d), PL_OK);

  assert_int_equal(extract_check_name(EXTRACT_PNG, "invoice.pdf", &d), PL_EMISMATCH);
  assert_non_null(strstr(d.msg, ".pdf"));
  assert_non_null(strstr(d.msg, "png"));
  assert_int_equal(extract_check_name(EXTRACT_PDF, "x.txt", &d), PL_EMISMATCH);
  assert_int_equal(extract_check_name(EXTRACT_DOCX, "letter.doc", &d), PL_EMISMATCH);
  assert_int_equal(extract_check_name(EXTRACT_TXT, "tool.exe", &d), PL_EUNSUPPORTED);
  assert_non_null(strstr(d.msg, ".exe"));
}

static void test_extract_file_refuses_mismatch(void **state) {
  (void)state;
  size_t n;
  uint8_t *png = fx_logo_png("Acme", 20, false, &n);
  pl_arena *a = pl_arena_new();
  extract_doc doc;
  pl_detail d = {0};
  assert_int_equal(extract_file(png, n, "invoice.pdf", NULL, a, &doc, &d), PL_EMISMATCH);
  assert_int_equal(doc.kind, EXTRACT_PNG);
  assert_int_equal(doc.nsegs, 0);
  pl_arena_free(a);
  free(png);
}

static void test_names_of_things(void **state) {
  (void)state;
  assert_string_equal(extract_kind_name(EXTRACT_DOCX), "docx");
  assert_string_equal(extract_kind_mime(EXTRACT_PDF), "application/pdf");
  assert_string_equal(extract_source_name(EXTRACT_SRC_LINK), "link");
  /* a source's name reads back (policy findings carry it); another name is body text */
  const char *sources[] = {"text", "link", "ocr", "header", "footer", "note", "meta"};
  for (int k = EXTRACT_SRC_TEXT; k <= EXTRACT_SRC_META; k++) {
    assert_string_equal(extract_source_name((extract_source)k), sources[k]);
    assert_int_equal(extract_source_parse(sources[k]), k);
  }
  assert_int_equal(extract_source_parse("OCR"), EXTRACT_SRC_TEXT);
  assert_int_equal(extract_source_parse(NULL), EXTRACT_SRC_TEXT);
  assert_string_equal(extract_reason_name(EXTRACT_R_ENCRYPTED), "encrypted");
  assert_string_equal(pl_errname(PL_EUNSUPPORTED), "unsupported_media_type");
  assert_string_equal(pl_errname(PL_EMISMATCH), "media_type_mismatch");
  assert_string_equal(pl_errname(PL_EUNREADABLE), "unreadable_attachment");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_kinds_by_content),
      cmocka_unit_test(test_unsupported),
      cmocka_unit_test(test_size_limits),
      cmocka_unit_test(test_names),
      cmocka_unit_test(test_extract_file_refuses_mismatch),
      cmocka_unit_test(test_names_of_things),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
