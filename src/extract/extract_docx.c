/* extract_docx.c - the text of a DOCX (Office Open XML) by libzip and libxml2: body,
 * headers, footers, notes, properties, hyperlink targets and images, within zip-bomb
 * caps. */
#include "extract/extract_int.h"

#include <libxml/xmlreader.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zip.h>

/* Small parts may compress far better than any bomb ratio (a header of blank
 * paragraphs); the ratio cap applies from this uncompressed size on. */
#define RATIO_FLOOR (1024 * 1024)

static pthread_once_t xml_once = PTHREAD_ONCE_INIT;
static void xml_init(void) { xmlInitParser(); }

static zip_t *open_zip(const uint8_t *data, size_t len) {
  zip_error_t ze;
  zip_error_init(&ze);
  zip_source_t *src = zip_source_buffer_create(data, len, 0, &ze);
  zip_t *za = NULL;
  if (src) {
    za = zip_open_from_source(src, ZIP_RDONLY, &ze);
    if (!za) zip_source_free(src);
  }
  zip_error_fini(&ze);
  return za;
}

bool extract__is_docx_zip(const uint8_t *data, size_t len) {
  zip_t *za = open_zip(data, len);
  if (!za) return false;
  bool yes = zip_name_locate(za, "word/document.xml", 0) >= 0;
  zip_discard(za);
  return yes;
}

/* ---- parts ------------------------------------------------------------------- */

typedef enum { PART_NONE, PART_BODY, PART_HEADER, PART_FOOTER, PART_NOTE, PART_RELS,
               PART_META, PART_IMAGE } part_kind;

static bool has_prefix(const char *s, const char *p) { return !strncmp(s, p, strlen(p)); }

static bool has_suffix(const char *s, const char *x) {
  size_t n = strlen(s), m = strlen(x);
  return n >= m && !strcasecmp(s + n - m, x);
}

static part_kind part_of(const char *name) {
  if (!strcmp(name, "word/document.xml")) return PART_BODY;
  if (has_prefix(name, "word/header") && has_suffix(name, ".xml")) return PART_HEADER;
  if (has_prefix(name, "word/footer") && has_suffix(name, ".xml")) return PART_FOOTER;
  if (!strcmp(name, "word/footnotes.xml") || !strcmp(name, "word/endnotes.xml") ||
      !strcmp(name, "word/comments.xml"))
    return PART_NOTE;
  /* Every part's relationships: a hyperlink in a footer lives in footer1.xml.rels. */
  if (has_prefix(name, "word/_rels/") && has_suffix(name, ".rels")) return PART_RELS;
  if (!strcmp(name, "docProps/core.xml") || !strcmp(name, "docProps/app.xml"))
    return PART_META;
  if (has_prefix(name, "word/media/") &&
      (has_suffix(name, ".png") || has_suffix(name, ".jpg") || has_suffix(name, ".jpeg") ||
       has_suffix(name, ".gif") || has_suffix(name, ".bmp") || has_suffix(name, ".tif") ||
       has_suffix(name, ".tiff")))
    return PART_IMAGE;
  return PART_NONE;
}

static extract_source source_of(part_kind p) {
  switch (p) {
  case PART_HEADER: return EXTRACT_SRC_HEADER;
  case PART_FOOTER: return EXTRACT_SRC_FOOTER;
  case PART_NOTE: return EXTRACT_SRC_NOTE;
  case PART_RELS: return EXTRACT_SRC_LINK;
  case PART_META: return EXTRACT_SRC_META;
  case PART_IMAGE: return EXTRACT_SRC_OCR;
  default: return EXTRACT_SRC_TEXT;
  }
}

/* Reads entry i whole, within the remaining uncompressed budget and the ratio cap.
 * Returns malloc'd bytes, or NULL with o->reason set. */
static uint8_t *read_entry(zip_t *za, zip_uint64_t i, size_t *budget, size_t *out_len,
                           extract__out *o) {
  zip_stat_t st;
  zip_stat_init(&st);
  if (zip_stat_index(za, i, 0, &st) != 0 || !(st.valid & ZIP_STAT_SIZE)) {
    extract__stop(o, EXTRACT_R_MALFORMED, "a zip entry cannot be read");
    return NULL;
  }
  const char *name = st.name ? st.name : "?";
  if (st.size > *budget) {
    extract__stop(o, EXTRACT_R_LIMIT, "%.100s expands beyond the %zu-byte cap", name,
                  o->lim->zip_max_total);
    return NULL;
  }
  if (st.size >= RATIO_FLOOR && (st.valid & ZIP_STAT_COMP_SIZE) &&
      st.size / (st.comp_size ? st.comp_size : 1) > o->lim->zip_max_ratio) {
    extract__stop(o, EXTRACT_R_LIMIT, "%.100s compresses %llu:1, above the %u:1 cap", name,
                  (unsigned long long)(st.size / (st.comp_size ? st.comp_size : 1)),
                  o->lim->zip_max_ratio);
    return NULL;
  }
  zip_file_t *zf = zip_fopen_index(za, i, 0);
  if (!zf) {
    int ze = zip_error_code_zip(zip_get_error(za));
    if (ze == ZIP_ER_NOPASSWD || ze == ZIP_ER_WRONGPASSWD || ze == ZIP_ER_ENCRNOTSUPP)
      extract__stop(o, EXTRACT_R_ENCRYPTED, "%.100s is encrypted", name);
    else
      extract__stop(o, EXTRACT_R_MALFORMED, "%.100s: %s", name, zip_strerror(za));
    return NULL;
  }
  /* One byte more than declared, to notice an entry that inflates beyond its size. */
  size_t cap = (size_t)st.size + 1, n = 0;
  uint8_t *buf = pl_xmalloc(cap + 1);
  zip_int64_t r = 0;
  while (n < cap && (r = zip_fread(zf, buf + n, cap - n)) > 0) n += (size_t)r;
  bool bad = r < 0; /* inflate or CRC error */
  zip_fclose(zf);
  if (bad || n > st.size) {
    free(buf);
    extract__stop(o, EXTRACT_R_MALFORMED, "%.100s is damaged", name);
    return NULL;
  }
  *budget -= n;
  buf[n] = 0;
  *out_len = n;
  return buf;
}

/* ---- XML text ---------------------------------------------------------------- */

typedef struct {
  char *p;
  size_t n, cap, max;
} tbuf;

static void tb_put(tbuf *b, const char *s, size_t n) {
  if (b->n + n > b->max) n = b->n < b->max ? b->max - b->n : 0; /* the collector caps */
  if (!n) return;
  if (b->n + n + 1 > b->cap) {
    b->cap = (b->n + n + 1) * 2;
    b->p = pl_xrealloc(b->p, b->cap);
  }
  memcpy(b->p + b->n, s, n);
  b->n += n;
}

static bool is(const xmlChar *s, const char *lit) {
  return s && !strcmp((const char *)s, lit);
}

/* Text of one XML part. WordprocessingML keeps the visible text in w:t, deleted
 * tracked changes in w:delText and field codes (HYPERLINK "https://...") in
 * w:instrText; DrawingML text boxes in a:t. Properties (docProps) are plain text
 * nodes, kept whole (`all`). Relationship parts give the Target of each external
 * relationship instead. OOXML has no DTD: one is refused, which rules out entity
 * expansion attacks. Returns false when the XML is malformed. */
static bool xml_text(const uint8_t *xml, size_t len, part_kind part, tbuf *b) {
  xmlTextReaderPtr r =
      xmlReaderForMemory((const char *)xml, (int)len, NULL, NULL,
                         XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
                             XML_PARSE_COMPACT);
  if (!r) return false;
  bool all = part == PART_META, ok = true;
  int depth_in_text = 0, ret;
  while ((ret = xmlTextReaderRead(r)) == 1) {
    int type = xmlTextReaderNodeType(r);
    const xmlChar *local = xmlTextReaderConstLocalName(r);
    if (type == XML_READER_TYPE_DOCUMENT_TYPE) {
      ok = false;
      break;
    }
    if (type == XML_READER_TYPE_ELEMENT) {
      if (part == PART_RELS) {
        if (!is(local, "Relationship")) continue;
        xmlChar *mode = xmlTextReaderGetAttribute(r, BAD_CAST "TargetMode");
        xmlChar *target = xmlTextReaderGetAttribute(r, BAD_CAST "Target");
        if (mode && target && !xmlStrcasecmp(mode, BAD_CAST "External")) {
          tb_put(b, (const char *)target, strlen((const char *)target));
          tb_put(b, "\n", 1);
        }
        xmlFree(mode);
        xmlFree(target);
      } else if (is(local, "t") || is(local, "delText") || is(local, "instrText")) {
        if (!xmlTextReaderIsEmptyElement(r)) depth_in_text++;
      } else if (is(local, "tab")) {
        tb_put(b, "\t", 1);
      } else if (is(local, "br") || is(local, "cr")) {
        tb_put(b, "\n", 1);
      }
    } else if (type == XML_READER_TYPE_END_ELEMENT) {
      if ((is(local, "t") || is(local, "delText") || is(local, "instrText")) && depth_in_text)
        depth_in_text--;
      else if (is(local, "p") || (all && local))
        tb_put(b, "\n", 1);
    } else if (type == XML_READER_TYPE_TEXT || type == XML_READER_TYPE_CDATA ||
               type == XML_READER_TYPE_SIGNIFICANT_WHITESPACE) {
      if (depth_in_text || all) {
        const xmlChar *v = xmlTextReaderConstValue(r);
        if (v) tb_put(b, (const char *)v, strlen((const char *)v));
        if (all) tb_put(b, " ", 1);
      }
    }
  }
  if (ret < 0) ok = false;
  xmlFreeTextReader(r);
  return ok;
}

/* ---- the document ------------------------------------------------------------ */

typedef struct {
  zip_uint64_t index;
  part_kind part;
  const char *name;
} part_ref;

static int part_cmp(const void *a, const void *b) {
  const part_ref *x = a, *y = b;
  if (x->part != y->part) return (int)x->part - (int)y->part;
  return strcmp(x->name, y->name);
}

void extract__docx(const uint8_t *data, size_t len, extract__out *o) {
  pthread_once(&xml_once, xml_init);
  zip_t *za = open_zip(data, len);
  part_ref *parts = NULL;
  if (!za) {
    extract__stop(o, EXTRACT_R_MALFORMED, "the file is not a readable zip archive");
    return;
  }
  zip_int64_t count = zip_get_num_entries(za, 0);
  if (count < 0 || (zip_uint64_t)count > o->lim->zip_max_entries) {
    extract__stop(o, EXTRACT_R_LIMIT, "the archive has %lld entries; the cap is %u",
                  (long long)count, o->lim->zip_max_entries);
    goto out;
  }
  /* The archive's declared expansion, all entries: a bomb in a part that is never
   * read is still a hostile file, to be held for review. */
  uint64_t declared = 0;
  size_t nparts = 0;
  parts = pl_xcalloc((size_t)count + 1, sizeof *parts);
  for (zip_uint64_t i = 0; i < (zip_uint64_t)count; i++) {
    zip_stat_t st;
    zip_stat_init(&st);
    if (zip_stat_index(za, i, 0, &st) != 0) continue;
    if (st.valid & ZIP_STAT_SIZE) declared += st.size;
    if (!(st.valid & ZIP_STAT_NAME)) continue;
    part_kind p = part_of(st.name);
    if (p != PART_NONE) parts[nparts++] = (part_ref){i, p, st.name};
  }
  if (declared > o->lim->zip_max_total || declared / (len ? len : 1) > o->lim->zip_max_ratio) {
    extract__stop(o, EXTRACT_R_LIMIT,
                  "the archive expands to %llu bytes from %zu (caps: %zu bytes, %u:1)",
                  (unsigned long long)declared, len, o->lim->zip_max_total,
                  o->lim->zip_max_ratio);
    goto out;
  }
  qsort(parts, nparts, sizeof *parts, part_cmp);
  bool have_body = false;
  size_t budget = o->lim->zip_max_total;
  for (size_t i = 0; i < nparts && o->reason == EXTRACT_R_NONE; i++) {
    size_t n;
    uint8_t *bytes = read_entry(za, parts[i].index, &budget, &n, o);
    if (!bytes) break;
    if (parts[i].part == PART_IMAGE) {
      /* The common violation is a web address in a logo: images are read too. */
      extract__image_in_doc(bytes, n, 0, o);
    } else {
      tbuf b = {.max = o->lim->max_text + 1};
      bool ok = xml_text(bytes, n, parts[i].part, &b);
      extract__add(o, 0, source_of(parts[i].part), b.p, b.n);
      free(b.p);
      if (!ok) extract__stop(o, EXTRACT_R_MALFORMED, "%.100s is not well-formed XML",
                             parts[i].name);
      have_body |= parts[i].part == PART_BODY;
    }
    free(bytes);
  }
  if (!have_body && o->reason == EXTRACT_R_NONE)
    extract__stop(o, EXTRACT_R_MALFORMED, "the archive has no word/document.xml");
out:
  free(parts);
  zip_discard(za);
}
