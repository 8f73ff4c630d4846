/* fuzz_extract_docx.c - libFuzzer target: the DOCX reader (libzip with its bomb caps,
 * libxml2 over the parts). An input that is a zip is read as it is; any other input
 * becomes word/document.xml, a footer and the relationships of a DOCX made around it,
 * so that the fuzzer reaches the XML code without having to learn zip first. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zip.h>

#include "extract/extract.h"
#include "util/pl_utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t *wrap(const uint8_t *data, size_t size, size_t *len) {
  static const char ct[] =
      "<?xml version=\"1.0\"?><Types xmlns=\"http://schemas.openxmlformats.org/package/"
      "2006/content-types\"><Default Extension=\"xml\" ContentType=\"application/xml\"/>"
      "</Types>";
  zip_error_t ze;
  zip_error_init(&ze);
  zip_source_t *src = zip_source_buffer_create(NULL, 0, 0, &ze);
  zip_source_keep(src);
  zip_t *za = zip_open_from_source(src, ZIP_TRUNCATE, &ze);
  const char *names[] = {"[Content_Types].xml", "word/document.xml", "word/footer1.xml",
                         "word/_rels/document.xml.rels"};
  for (size_t i = 0; i < 4; i++) {
    zip_source_t *ps = i == 0 ? zip_source_buffer(za, ct, sizeof ct - 1, 0)
                              : zip_source_buffer(za, data, size, 0);
    zip_file_add(za, names[i], ps, 0);
  }
  zip_close(za);
  uint8_t *out = NULL;
  *len = 0;
  if (zip_source_open(src) == 0) {
    zip_source_seek(src, 0, SEEK_END);
    zip_int64_t n = zip_source_tell(src);
    zip_source_seek(src, 0, SEEK_SET);
    if (n > 0) {
      out = malloc((size_t)n);
      *len = (size_t)zip_source_read(src, out, (zip_uint64_t)n);
    }
    zip_source_close(src);
  }
  zip_source_free(src);
  zip_error_fini(&ze);
  return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  extract_limits lim;
  extract_limits_default(&lim);
  lim.in_process = true;
  /* OCR of images in the document is fuzzed apart: here it must fail fast. */
  lim.tessdata = "/nonexistent";
  uint8_t *made = NULL;
  size_t len = size;
  if (size < 4 || memcmp(data, "PK\3\4", 4) != 0) {
    made = wrap(data, size, &len);
    if (!made) return 0;
    data = made;
  }
  pl_arena *a = pl_arena_new();
  extract_doc doc;
  pl_detail d;
  if (extract_text(data, len, EXTRACT_DOCX, &lim, a, &doc, &d) == PL_OK) {
    for (size_t i = 0; i < doc.nsegs; i++) {
      const extract_segment *s = &doc.segs[i];
      if (!pl_utf8_valid(s->text, s->len, NULL)) abort();
    }
  }
  pl_arena_free(a);
  free(made);
  return 0;
}
