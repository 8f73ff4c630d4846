/* test_extract_text.c - the text of TXT (charsets), DOCX (body, footer, hyperlink
 * targets), PDF (page text, footer, link annotations) and legacy DOC files, read in
 * parley-reader as the service reads them. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "extract/extract_int.h"
#include "extract_fixtures.h"

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

/* extract_file with a name, expecting PL_OK. */
static extract_doc *read_ok(run *r, const void *data, size_t len, const char *name) {
  pl_err rc = extract_file(data, len, name, NULL, r->a, &r->doc, &r->d);
  if (rc != PL_OK) {
    fprintf(stderr, "%s: %s: %s\n", name, pl_errname(rc), r->d.msg);
    fx_dump(&r->doc);
  }
  assert_int_equal(rc, PL_OK);
  assert_int_equal(r->doc.reason, EXTRACT_R_NONE);
  return &r->doc;
}

/* ---- TXT ------------------------------------------------------------------------ */

static void test_txt_utf8(void **state) {
  const char *t = "\xEF\xBB\xBFHello \xE2\x80\x94 visit shop dot com\r\nBye\n";
  extract_doc *d = read_ok(*state, t, strlen(t), "note.txt");
  assert_int_equal(d->kind, EXTRACT_TXT);
  assert_int_equal(d->nsegs, 1);
  assert_int_equal(d->segs[0].page, 0);
  assert_int_equal(d->segs[0].source, EXTRACT_SRC_TEXT);
  /* BOM dropped, CRLF made LF, trailing white space trimmed. */
  assert_string_equal(d->segs[0].text, "Hello \xE2\x80\x94 visit shop dot com\nBye");
}

static void test_txt_utf16(void **state) {
  /* "Café www.acme-tools-shop.com" in UTF-16LE with BOM, then in UTF-16BE with BOM. */
  const char *s = "Caf\xC3\xA9 www.acme-tools-shop.com";
  uint8_t le[128], be[128];
  size_t n = 2;
  le[0] = 0xFF, le[1] = 0xFE, be[0] = 0xFE, be[1] = 0xFF;
  for (const char *p = s; *p; p++) {
    unsigned c = (unsigned char)*p;
    if (c == 0xC3) c = 0xE9, p++; /* the one non-ASCII letter */
    le[n] = (uint8_t)c, le[n + 1] = 0;
    be[n] = 0, be[n + 1] = (uint8_t)c;
    n += 2;
  }
  extract_doc *d = read_ok(*state, le, n, "a.txt");
  assert_string_equal(d->segs[0].text, s);
  d = read_ok(*state, be, n, "b.txt");
  assert_string_equal(d->segs[0].text, s);
  /* Without a BOM, the zero bytes give UTF-16LE away. */
  d = read_ok(*state, le + 2, n - 2, "c.txt");
  assert_string_equal(d->segs[0].text, s);
}

static void test_txt_latin1(void **state) {
  const char *t = "Gr\xFC\xDF" "e aus M\xFCnchen \x80 5, \xE0 bient\xF4t";
  extract_doc *d = read_ok(*state, t, strlen(t), "latin1.txt");
  /* Windows-1252: 0x80 is the euro sign. */
  assert_string_equal(d->segs[0].text,
                      "Gr\xC3\xBC\xC3\x9F" "e aus M\xC3\xBCnchen \xE2\x82\xAC 5, \xC3\xA0 "
                      "bient\xC3\xB4t");
}

static void test_txt_charset_unit(void **state) {
  run *r = *state;
  size_t n;
  char *u = extract__to_utf8(r->a, (const uint8_t *)"\xFE\xFF\x00h\x00i", 6, &n);
  assert_string_equal(u, "hi");
  u = extract__to_utf8(r->a, (const uint8_t *)"\xFF\xFE\0\0h\0\0\0", 8, &n);
  assert_string_equal(u, "h");
  u = extract__to_utf8(r->a, (const uint8_t *)"plain", 5, &n);
  assert_string_equal(u, "plain");
  assert_int_equal(n, 5);
}

/* ---- DOCX ----------------------------------------------------------------------- */

static void test_docx_hyperlink_and_footer(void **state) {
  size_t n;
  uint8_t *docx = fx_docx("Thank you for your order 123-4567890-1234567.", "our manual",
                          "https://www.acme-tools-shop.com/manual",
                          "Acme Tools Ltd, info@acme-tools-shop.com", NULL, 0, &n);
  extract_doc *d = read_ok(*state, docx, n, "Letter.DOCX");
  assert_int_equal(d->kind, EXTRACT_DOCX);
  assert_true(fx_has(d, EXTRACT_SRC_TEXT, "Thank you for your order 123-4567890-1234567.", NULL));
  assert_true(fx_has(d, EXTRACT_SRC_TEXT, "Line two\tafter a tab", NULL));
  assert_true(fx_has(d, EXTRACT_SRC_TEXT, "our manual", NULL));
  /* The hyperlink's target is not visible text, and must be read all the same. */
  assert_true(fx_has(d, EXTRACT_SRC_LINK, "https://www.acme-tools-shop.com/manual", NULL));
  assert_true(fx_has(d, EXTRACT_SRC_FOOTER, "info@acme-tools-shop.com", NULL));
  /* The footer relationship is internal and is no link. */
  assert_false(fx_has(d, EXTRACT_SRC_LINK, "footer1.xml", NULL));
  free(docx);
}

static void test_docx_fields_headers_notes(void **state) {
  const char *doc =
      "<?xml version=\"1.0\"?><w:document " FX_W "><w:body>"
      "<w:p><w:r><w:instrText> HYPERLINK \"http://hidden.example\" </w:instrText></w:r>"
      "<w:r><w:t>Click</w:t></w:r></w:p>"
      "<w:p><w:del><w:r><w:delText>call 555 0199</w:delText></w:r></w:del></w:p>"
      "<w:p><w:r><w:t>A&amp;B &lt;ok&gt;</w:t><w:br/><w:t>next</w:t></w:r></w:p>"
      "</w:body></w:document>";
  const char *hdr = "<?xml version=\"1.0\"?><w:hdr " FX_W "><w:p><w:r><w:t>Shop header"
                    "</w:t></w:r></w:p></w:hdr>";
  const char *fn = "<?xml version=\"1.0\"?><w:footnotes " FX_W "><w:footnote><w:p><w:r>"
                   "<w:t>see acme dot com</w:t></w:r></w:p></w:footnote></w:footnotes>";
  const char *core =
      "<?xml version=\"1.0\"?><cp:coreProperties xmlns:cp=\"http://schemas.openxmlformats.org/"
      "package/2006/metadata/core-properties\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\">"
      "<dc:title>Visit www.meta-shop.example</dc:title><dc:creator>Bob</dc:creator>"
      "</cp:coreProperties>";
  fx_part parts[] = {{"[Content_Types].xml", FX_CT, 0}, {"_rels/.rels", FX_ROOT_RELS, 0},
                     {"word/document.xml", doc, 0},     {"word/header2.xml", hdr, 0},
                     {"word/footnotes.xml", fn, 0},     {"docProps/core.xml", core, 0}};
  size_t n;
  uint8_t *docx = fx_zip(parts, 6, &n);
  extract_doc *d = read_ok(*state, docx, n, "x.docx");
  assert_true(fx_has(d, EXTRACT_SRC_TEXT, "http://hidden.example", NULL));
  assert_true(fx_has(d, EXTRACT_SRC_TEXT, "call 555 0199", NULL));
  assert_true(fx_has(d, EXTRACT_SRC_TEXT, "A&B <ok>\nnext", NULL));
  assert_true(fx_has(d, EXTRACT_SRC_HEADER, "Shop header", NULL));
  assert_true(fx_has(d, EXTRACT_SRC_NOTE, "acme dot com", NULL));
  assert_true(fx_has(d, EXTRACT_SRC_META, "www.meta-shop.example", NULL));
  free(docx);
}

static void test_docx_dtd_refused(void **state) {
  run *r = *state;
  /* An entity-expansion attempt: OOXML has no DTD, so any DOCTYPE is refused. */
  const char *doc = "<?xml version=\"1.0\"?><!DOCTYPE w [<!ENTITY a \"aaaaaaaaaa\">"
                    "<!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">]>"
                    "<w:document " FX_W "><w:body><w:p><w:r><w:t>&b;</w:t></w:r></w:p>"
                    "</w:body></w:document>";
  fx_part parts[] = {{"[Content_Types].xml", FX_CT, 0}, {"word/document.xml", doc, 0}};
  size_t n;
  uint8_t *docx = fx_zip(parts, 2, &n);
  assert_int_equal(extract_text(docx, n, EXTRACT_DOCX, NULL, r->a, &r->doc, &r->d),
                   PL_EUNREADABLE);
  assert_int_equal(r->doc.reason, EXTRACT_R_MALFORMED);
  free(docx);
}

/* ---- PDF ------------------------------------------------------------------------ */

static void test_pdf_clean_invoice(void **state) {
  static const char *const lines[] = {
      "INVOICE 2024-0117", "Order 114-3941689-8772232", "1 x Cordless drill 18V   EUR 89.90",
      "VAT 19%   EUR 17.08", "Total   EUR 106.98", "Thank you for your order.", NULL};
  size_t n;
  uint8_t *pdf = fx_pdf(&(fx_pdf_spec){.lines = lines}, &n);
  extract_doc *d = read_ok(*state, pdf, n, "invoice.pdf");
  assert_int_equal(d->kind, EXTRACT_PDF);
  assert_int_equal(d->pages, 1);
  unsigned page = 0;
  if (!fx_has(d, EXTRACT_SRC_TEXT, "Total EUR 106.98", &page)) fx_dump(d);
  assert_true(fx_has(d, EXTRACT_SRC_TEXT, "Total EUR 106.98", &page));
  assert_int_equal(page, 1);
  assert_true(fx_has(d, EXTRACT_SRC_TEXT, "114-3941689-8772232", NULL));
  /* Nothing that the policy would take for a link or an address. */
  char *all = fx_joined(d, -1);
  assert_null(strchr(all, '@'));
  assert_null(strstr(all, "www"));
  assert_null(strstr(all, "http"));
  for (size_t i = 0; i < d->nsegs; i++) assert_int_not_equal(d->segs[i].source, EXTRACT_SRC_LINK);
  free(all);
  free(pdf);
}

static void test_pdf_footer_email_and_link(void **state) {
  static const char *const lines[] = {"Your replacement part ships Monday.", NULL};
  size_t n;
  uint8_t *pdf = fx_pdf(&(fx_pdf_spec){.lines = lines,
                                       .footer = "Acme Tools Ltd - service@acme-tools-shop.com",
                                       .link_text = "Manual",
                                       .link_uri = "https://www.acme-tools-shop.com/m.pdf",
                                       .pages = 3},
                        &n);
  extract_doc *d = read_ok(*state, pdf, n, "letter.pdf");
  assert_int_equal(d->pages, 3);
  unsigned page = 0;
  assert_true(fx_has(d, EXTRACT_SRC_TEXT, "service@acme-tools-shop.com", &page));
  assert_int_equal(page, 1);
  /* Per page: the last page has the footer and the link too. */
  size_t on_page3 = 0;
  for (size_t i = 0; i < d->nsegs; i++)
    if (d->segs[i].page == 3 &&
        (strstr(d->segs[i].text, "service@") || strstr(d->segs[i].text, "m.pdf")))
      on_page3++;
  assert_int_equal(on_page3, 2);
  assert_true(fx_has(d, EXTRACT_SRC_LINK, "https://www.acme-tools-shop.com/m.pdf", &page));
  free(pdf);
}

static void test_pdf_hand_written(void **state) {
  size_t n;
  uint8_t *pdf = fx_pdf_many_pages(3, &n);
  extract_doc *d = read_ok(*state, pdf, n, "catalogue.pdf");
  assert_int_equal(d->pages, 3);
  assert_true(fx_has(d, EXTRACT_SRC_TEXT, "very long catalogue", NULL));
  free(pdf);
}

/* ---- DOC ------------------------------------------------------------------------ */

static void test_doc_best_effort(void **state) {
  /* A compound file whose streams hold Windows-1252 and UTF-16LE text among binary
   * tables, as Word 97-2003 stores it. */
  uint8_t doc[4096];
  for (size_t i = 0; i < sizeof doc; i++) doc[i] = (uint8_t)((i * 7919u) & 0x0F);
  memcpy(doc, "\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1", 8);
  memcpy(doc + 512, "W\0o\0r\0d\0D\0o\0c\0u\0m\0e\0n\0t\0", 24);
  const char *a = "Dear buyer, see www.acme-tools-shop.com \x80 10";
  memcpy(doc + 1024, a, strlen(a));
  const char *u = "Call 0800 123 456";
  for (size_t i = 0; u[i]; i++) doc[2048 + 2 * i] = (uint8_t)u[i], doc[2049 + 2 * i] = 0;
  extract_doc *d = read_ok(*state, doc, sizeof doc, "old.doc");
  assert_int_equal(d->kind, EXTRACT_DOC);
  assert_true(fx_has(d, EXTRACT_SRC_TEXT, "www.acme-tools-shop.com \xE2\x82\xAC 10", NULL));
  assert_true(fx_has(d, EXTRACT_SRC_TEXT, "Call 0800 123 456", NULL));
  assert_true(fx_has(d, EXTRACT_SRC_TEXT, "WordDocument", NULL));
}

/* ---- the collector ---------------------------------------------------------------- */

static void test_collector_cleans_and_caps(void **state) {
  run *r = *state;
  extract_limits lim;
  extract_limits_default(&lim);
  lim.max_text = 10;
  extract__out o = {.arena = r->a, .lim = &lim};
  assert_true(extract__add(&o, 2, EXTRACT_SRC_TEXT, "  a\x01\xff" "b\r\n ", 9));
  assert_string_equal(o.segs[0].text, "a\xEF\xBF\xBD" "b");
  assert_int_equal(o.segs[0].page, 2);
  assert_true(extract__add(&o, 2, EXTRACT_SRC_TEXT, " \n\t ", 4)); /* blank: nothing */
  assert_int_equal(o.nsegs, 1);
  /* 5 bytes are left: "\xC3\xA9\xC3\xA9" fits whole, the third "é" does not. */
  assert_false(extract__add(&o, 3, EXTRACT_SRC_OCR, "\xC3\xA9\xC3\xA9\xC3\xA9", 6));
  assert_int_equal(o.reason, EXTRACT_R_LIMIT);
  assert_string_equal(o.segs[1].text, "\xC3\xA9\xC3\xA9");
  assert_false(extract__add(&o, 3, EXTRACT_SRC_OCR, "more", 4));
  assert_int_equal(o.nsegs, 2);
}

/* The readers give the same segments in this process as in parley-reader; in this
 * process the sanitizers also see their memory to the end (the reader exits without a
 * leak check). */
static void test_in_process_same_result(void **state) {
  run *r = *state;
  size_t n[3];
  static const char *const lines[] = {"Hello from page one", NULL};
  uint8_t *files[3] = {
      fx_docx("Body text", "a link", "https://example.org/x", "Footer text", NULL, 0, &n[0]),
      fx_pdf(&(fx_pdf_spec){.lines = lines, .footer = "x@example.org", .link_text = "l",
                            .link_uri = "https://example.org/y", .pages = 2},
             &n[1]),
      (uint8_t *)strdup("Caf\xE9 cr\xE8me"),
  };
  n[2] = strlen((char *)files[2]);
  const extract_kind kinds[3] = {EXTRACT_DOCX, EXTRACT_PDF, EXTRACT_TXT};
  for (int i = 0; i < 3; i++) {
    extract_doc a, b;
    extract_limits lim = {.in_process = true};
    assert_int_equal(extract_text(files[i], n[i], kinds[i], NULL, r->a, &a, &r->d), PL_OK);
    assert_int_equal(extract_text(files[i], n[i], kinds[i], &lim, r->a, &b, &r->d), PL_OK);
    assert_int_equal(a.nsegs, b.nsegs);
    assert_int_equal(a.pages, b.pages);
    for (size_t k = 0; k < a.nsegs; k++) {
      assert_int_equal(a.segs[k].page, b.segs[k].page);
      assert_int_equal(a.segs[k].source, b.segs[k].source);
      assert_string_equal(a.segs[k].text, b.segs[k].text);
    }
    free(files[i]);
  }
}

int main(void) {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
  const struct CMUnitTest tests[] = {
      T(test_txt_utf8),
      T(test_txt_utf16),
      T(test_txt_latin1),
      T(test_txt_charset_unit),
      T(test_docx_hyperlink_and_footer),
      T(test_docx_fields_headers_notes),
      T(test_docx_dtd_refused),
      T(test_pdf_clean_invoice),
      T(test_pdf_footer_email_and_link),
      T(test_pdf_hand_written),
      T(test_doc_best_effort),
      T(test_collector_cleans_and_caps),
      T(test_in_process_same_result),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
