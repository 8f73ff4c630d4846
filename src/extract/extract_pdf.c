/* extract_pdf.c - the text of a PDF by poppler-glib, per page: page text, link
 * targets, annotation contents, document properties, and OCR of embedded images. */
#include "extract/extract_int.h"

#include <cairo.h>
#include <leptonica/allheaders.h>
#include <poppler.h>
#include <stdlib.h>
#include <string.h>

static void add_str(extract__out *o, unsigned page, extract_source src, const char *s) {
  if (s) extract__add(o, page, src, s, strlen(s));
}

/* Properties can carry a web address as well as the body (an author "www.shop.com"). */
static void metadata(PopplerDocument *doc, extract__out *o) {
  char *(*const get[])(PopplerDocument *) = {
      poppler_document_get_title, poppler_document_get_author,
      poppler_document_get_subject, poppler_document_get_keywords};
  for (size_t i = 0; i < sizeof get / sizeof get[0]; i++) {
    char *v = get[i](doc);
    add_str(o, 0, EXTRACT_SRC_META, v);
    g_free(v);
  }
}

/* Link targets that are not shown as text: web addresses, launched files, other
 * documents. Internal jumps (to a page of the same file) carry nothing to scan. */
static void links(PopplerPage *pg, unsigned page, extract__out *o) {
  GList *map = poppler_page_get_link_mapping(pg);
  for (GList *l = map; l; l = l->next) {
    PopplerLinkMapping *m = l->data;
    PopplerAction *a = m->action;
    if (!a) continue;
    switch (a->type) {
    case POPPLER_ACTION_URI: add_str(o, page, EXTRACT_SRC_LINK, a->uri.uri); break;
    case POPPLER_ACTION_LAUNCH: add_str(o, page, EXTRACT_SRC_LINK, a->launch.file_name); break;
    case POPPLER_ACTION_GOTO_REMOTE:
      add_str(o, page, EXTRACT_SRC_LINK, a->goto_remote.file_name);
      break;
    default: break;
    }
  }
  poppler_page_free_link_mapping(map);
}

/* Comments, sticky notes and free-text boxes drawn over the page. */
static void annotations(PopplerPage *pg, unsigned page, extract__out *o) {
  GList *map = poppler_page_get_annot_mapping(pg);
  for (GList *l = map; l; l = l->next) {
    PopplerAnnotMapping *m = l->data;
    if (poppler_annot_get_annot_type(m->annot) == POPPLER_ANNOT_LINK) continue;
    char *c = poppler_annot_get_contents(m->annot);
    add_str(o, page, EXTRACT_SRC_NOTE, c);
    g_free(c);
  }
  poppler_page_free_annot_mapping(map);
}

/* A cairo image surface (premultiplied ARGB, native-endian words) as a Leptonica
 * 32-bit PIX (0xRRGGBB00 words) on a white background. */
static PIX *pix_of_surface(cairo_surface_t *s) {
  if (cairo_surface_get_type(s) != CAIRO_SURFACE_TYPE_IMAGE) return NULL;
  cairo_format_t f = cairo_image_surface_get_format(s);
  if (f != CAIRO_FORMAT_ARGB32 && f != CAIRO_FORMAT_RGB24) return NULL;
  cairo_surface_flush(s);
  int w = cairo_image_surface_get_width(s), h = cairo_image_surface_get_height(s);
  int stride = cairo_image_surface_get_stride(s);
  const unsigned char *data = cairo_image_surface_get_data(s);
  if (!data || w <= 0 || h <= 0) return NULL;
  PIX *pix = pixCreate(w, h, 32);
  if (!pix) return NULL;
  l_uint32 *dst = pixGetData(pix);
  l_int32 wpl = pixGetWpl(pix);
  for (int y = 0; y < h; y++) {
    const uint32_t *row = (const uint32_t *)(const void *)(data + (size_t)y * (size_t)stride);
    for (int x = 0; x < w; x++) {
      uint32_t p = row[x], a = f == CAIRO_FORMAT_ARGB32 ? p >> 24 : 255;
      uint32_t r = ((p >> 16) & 255) + 255 - a, g = ((p >> 8) & 255) + 255 - a,
               b = (p & 255) + 255 - a;
      if (r > 255) r = 255;
      if (g > 255) g = 255;
      if (b > 255) b = 255;
      dst[(size_t)y * (size_t)wpl + (size_t)x] = r << 24 | g << 16 | b << 8;
    }
  }
  return pix;
}

/* Images drawn on the page: a logo in an invoice's letterhead is where a web address
 * hides most often. */
static void images(PopplerPage *pg, unsigned page, extract__out *o) {
  GList *map = poppler_page_get_image_mapping(pg);
  for (GList *l = map; l && o->reason == EXTRACT_R_NONE; l = l->next) {
    PopplerImageMapping *m = l->data;
    cairo_surface_t *s = poppler_page_get_image(pg, m->image_id);
    if (!s) continue;
    PIX *pix = pix_of_surface(s);
    cairo_surface_destroy(s);
    if (pix) extract__ocr_pix(pix, page, o);
  }
  poppler_page_free_image_mapping(map);
}

void extract__pdf(const uint8_t *data, size_t len, extract__out *o) {
  GBytes *bytes = g_bytes_new_static(data, len);
  GError *err = NULL;
  PopplerDocument *doc = poppler_document_new_from_bytes(bytes, NULL, &err);
  if (!doc) {
    if (err && err->domain == POPPLER_ERROR && err->code == POPPLER_ERROR_ENCRYPTED)
      extract__stop(o, EXTRACT_R_ENCRYPTED, "the PDF is protected by a password");
    else
      extract__stop(o, EXTRACT_R_MALFORMED, "poppler: %s",
                    err && err->message ? err->message : "cannot open the PDF");
    if (err) g_error_free(err);
    g_bytes_unref(bytes);
    return;
  }
  int n = poppler_document_get_n_pages(doc);
  o->pages = n > 0 ? (unsigned)n : 0;
  metadata(doc, o);
  for (int i = 0; i < n && o->reason == EXTRACT_R_NONE; i++) {
    if ((unsigned)i == o->lim->max_pages) {
      extract__stop(o, EXTRACT_R_LIMIT, "the PDF has %d pages; %u are read", n,
                    o->lim->max_pages);
      break;
    }
    PopplerPage *pg = poppler_document_get_page(doc, i);
    if (!pg) continue;
    unsigned page = (unsigned)i + 1;
    char *text = poppler_page_get_text(pg);
    add_str(o, page, EXTRACT_SRC_TEXT, text);
    g_free(text);
    links(pg, page, o);
    annotations(pg, page, o);
    if (o->reason == EXTRACT_R_NONE) images(pg, page, o);
    g_object_unref(pg);
  }
  g_object_unref(doc);
  g_bytes_unref(bytes);
}
