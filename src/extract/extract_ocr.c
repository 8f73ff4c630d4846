/* extract_ocr.c - text in images: decoding with Leptonica, scaling to a size OCR reads
 * well, and recognition with Tesseract's C API. */
#include "extract/extract_int.h"

#include <leptonica/allheaders.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tesseract/capi.h>

/* The languages of the rule files besides English; each is used when its data are
 * installed (tesseract-ocr-deu ...), and Tesseract skips the missing ones. */
#define OCR_LANGS_ALL "eng+deu+fra+spa+ita"

/* Text is read best at 20-40 px per capital letter: a small logo is enlarged up to
 * this long side (at most x3), a large scan reduced to lim->image_max_side. */
#define OCR_MIN_SIDE 1200
#define OCR_MAX_UPSCALE 3.0f

static pthread_once_t lept_once = PTHREAD_ONCE_INIT;
/* Leptonica reports every undecodable image on stderr; a hostile upload is not news. */
static void lept_init(void) { setMsgSeverity(L_SEVERITY_NONE); }

/* The engine's language data take a second or more to load (five languages), far
 * longer than reading one logo, and parley-reader cannot open them once its filter is
 * on. The reader therefore loads them before confinement (extract__ocr_prewarm), and
 * only for a second reading of a file whose first reading decoded an image (o->need_ocr
 * asks the server for it). Readers in this process (in_process)
 * start an engine of their own, as the shared one is not safe to use from threads. */
static pthread_mutex_t warm_mu = PTHREAD_MUTEX_INITIALIZER;
static TessBaseAPI *_Atomic warm;

static TessBaseAPI *engine_new(const extract_limits *lim) {
  TessBaseAPI *api = TessBaseAPICreate();
  const char *langs = lim->ocr_langs ? lim->ocr_langs : OCR_LANGS_ALL;
  /* debug_file keeps Tesseract's progress notes ("Estimating resolution...") out of
   * the service's log; it must be set before Init to cover loading. */
  TessBaseAPISetVariable(api, "debug_file", "/dev/null");
  if (TessBaseAPIInit3(api, lim->tessdata, langs) != 0 &&
      (strcmp(langs, "eng") == 0 || TessBaseAPIInit3(api, lim->tessdata, "eng") != 0)) {
    TessBaseAPIDelete(api);
    return NULL;
  }
  TessBaseAPISetVariable(api, "debug_file", "/dev/null");
  return api;
}

void extract__ocr_prewarm(const extract_limits *lim) {
  if (warm) return;
  pthread_mutex_lock(&warm_mu);
  if (!warm) {
    /* Without language data this fails fast, and is tried again next time: the
     * package may be installed while the service runs. */
    TessBaseAPI *api = engine_new(lim);
    if (api) warm = api;
  }
  pthread_mutex_unlock(&warm_mu);
}

static TessBaseAPI *ocr_engine(extract__out *o) {
  if (o->ocr) return o->ocr;
  if (o->ocr_failed) return NULL;
  TessBaseAPI *api = NULL;
  if (o->reader) {
    /* Nothing can be loaded under the filter: the preloaded engine, or none. */
    if (!o->ocr_preloaded) {
      o->need_ocr = true;
      o->ocr_failed = true;
      extract__stop(o, EXTRACT_R_NO_OCR, "the file holds an image; OCR was not loaded");
      return NULL;
    }
    if (warm) api = warm, o->ocr_shared = true;
  } else {
    api = engine_new(o->lim);
  }
  if (!api) {
    o->ocr_failed = true;
    extract__stop(o, EXTRACT_R_NO_OCR, "no OCR language data (tesseract-ocr-eng) found");
    return NULL;
  }
  o->ocr = api;
  return api;
}

void extract__ocr_end(extract__out *o) {
  if (!o->ocr) return;
  if (!o->ocr_shared) {
    TessBaseAPIEnd(o->ocr);
    TessBaseAPIDelete(o->ocr);
  }
  o->ocr = NULL;
}

/* Grey and on white. Consumes pix. */
static PIX *grey(PIX *pix) {
  PIX *t;
  if (pixGetDepth(pix) == 32 && pixGetSpp(pix) == 4) {
    /* Transparent logos: dark text on nothing must become dark text on white. */
    if ((t = pixAlphaBlendUniform(pix, 0xffffff00))) pixDestroy(&pix), pix = t;
  }
  if ((t = pixConvertTo8(pix, 0))) pixDestroy(&pix), pix = t;
  return pix;
}

/* The scale at which OCR reads pix best: large scans reduced to lim->image_max_side,
 * small logos enlarged (at most x3). */
static float scale_for(PIX *pix, const extract_limits *lim) {
  l_int32 w = pixGetWidth(pix), h = pixGetHeight(pix);
  l_int32 side = w > h ? w : h;
  float s = 1.0f;
  if ((unsigned)side > lim->image_max_side)
    s = (float)lim->image_max_side / (float)side;
  else if (side < OCR_MIN_SIDE)
    s = (float)OCR_MIN_SIDE / (float)side;
  if (s > OCR_MAX_UPSCALE) s = OCR_MAX_UPSCALE;
  return s < 0.98f || s > 1.05f ? s : 1.0f;
}

/* One recognition of pix; the text, or NULL when there is none (Tesseract-owned). An
 * image whose automatic layout analysis finds nothing is read again as sparse text,
 * the layout of a logo. */
static char *recognise_once(TessBaseAPI *api, PIX *pix) {
  static const TessPageSegMode modes[] = {PSM_AUTO, PSM_SPARSE_TEXT};
  for (size_t m = 0; m < 2; m++) {
    TessBaseAPISetPageSegMode(api, modes[m]);
    TessBaseAPISetImage2(api, pix);
    TessBaseAPISetSourceResolution(api, 300);
    char *text = TessBaseAPIGetUTF8Text(api);
    TessBaseAPIClear(api);
    bool blank = true;
    for (const char *p = text; p && *p && blank; p++) blank = (unsigned char)*p <= ' ';
    if (!blank) return text;
    TessDeleteText(text);
  }
  return NULL;
}

/* Recognises pix (consumed) and adds its text. A small image is read at its own size
 * and enlarged, and both readings are kept: at the size of a signature logo, OCR
 * errs differently at each scale ("www..shop" at one, "www.shop" at the other), and
 * a web address missed by one reading must not pass. */
static void recognise(PIX *pix, unsigned page, extract__out *o) {
  TessBaseAPI *api = ocr_engine(o);
  if (!api) {
    pixDestroy(&pix);
    return;
  }
  pix = grey(pix);
  float s = scale_for(pix, o->lim);
  char *first = NULL;
  PIX *scaled = s == 1.0f ? pixClone(pix) : pixScale(pix, s, s);
  if (scaled) {
    first = recognise_once(api, scaled);
    if (first) extract__add(o, page, EXTRACT_SRC_OCR, first, strlen(first));
    pixDestroy(&scaled);
  }
  if (s > 1.0f && o->reason == EXTRACT_R_NONE) {
    char *second = recognise_once(api, pix);
    if (second && (!first || strcmp(first, second) != 0))
      extract__add(o, page, EXTRACT_SRC_OCR, second, strlen(second));
    TessDeleteText(second);
  }
  TessDeleteText(first);
  pixDestroy(&pix);
}

/* Image dimensions from the header, before any decoding: a few kilobytes of PNG can
 * declare a picture of gigabytes. */
static bool size_ok(const uint8_t *data, size_t len, extract__out *o, bool *readable) {
  l_int32 fmt, w, h, bps, spp, cmap;
  *readable = pixReadHeaderMem(data, len, &fmt, &w, &h, &bps, &spp, &cmap) == 0 && w > 0 &&
              h > 0;
  if (!*readable) return false;
  if ((uint64_t)w * (uint64_t)h > o->lim->image_max_pixels) {
    extract__stop(o, EXTRACT_R_LIMIT, "the image is %dx%d pixels; the cap is %llu pixels", w,
                  h, (unsigned long long)o->lim->image_max_pixels);
    return false;
  }
  return true;
}

void extract__image(const uint8_t *data, size_t len, extract__out *o) {
  pthread_once(&lept_once, lept_init);
  bool readable;
  if (!size_ok(data, len, o, &readable)) {
    if (!readable) extract__stop(o, EXTRACT_R_MALFORMED, "the image header cannot be read");
    return;
  }
  l_int32 fmt = 0;
  findFileFormatBuffer(data, &fmt);
  if (fmt == IFF_TIFF || fmt == IFF_TIFF_G3 || fmt == IFF_TIFF_G4 || fmt == IFF_TIFF_LZW ||
      fmt == IFF_TIFF_ZIP || fmt == IFF_TIFF_PACKBITS || fmt == IFF_TIFF_RLE ||
      fmt == IFF_TIFF_JPEG) {
    /* Every frame of a multi-page TIFF (a scanned letter), up to the page cap. */
    unsigned n = 0;
    for (PIX *pix; o->reason == EXTRACT_R_NONE && (pix = pixReadMemTiff(data, len, (l_int32)n));) {
      if (n == o->lim->max_pages) {
        pixDestroy(&pix);
        extract__stop(o, EXTRACT_R_LIMIT, "the image has more than %u frames",
                      o->lim->max_pages);
        break;
      }
      n++;
      o->pages = n;
      if ((uint64_t)pixGetWidth(pix) * (uint64_t)pixGetHeight(pix) > o->lim->image_max_pixels) {
        pixDestroy(&pix);
        extract__stop(o, EXTRACT_R_LIMIT, "frame %u is larger than the pixel cap", n);
        break;
      }
      recognise(pix, n, o);
    }
    if (n == 0) extract__stop(o, EXTRACT_R_MALFORMED, "the image cannot be decoded");
    return;
  }
  PIX *pix = pixReadMem(data, len);
  if (!pix) {
    extract__stop(o, EXTRACT_R_MALFORMED, "the image cannot be decoded");
    return;
  }
  recognise(pix, 0, o);
}

void extract__ocr_pix(void *vpix, unsigned page, extract__out *o) {
  PIX *pix = vpix;
  /* Rules, bullets and spacer pixels hold no text; they do not count as images. */
  if (pixGetWidth(pix) < 16 || pixGetHeight(pix) < 8) {
    pixDestroy(&pix);
    return;
  }
  if (o->images == o->lim->max_images) {
    pixDestroy(&pix);
    extract__stop(o, EXTRACT_R_LIMIT, "the document has more than %u images to read",
                  o->lim->max_images);
    return;
  }
  o->images++;
  recognise(pix, page, o);
}

void extract__image_in_doc(const uint8_t *data, size_t len, unsigned page, extract__out *o) {
  pthread_once(&lept_once, lept_init);
  bool readable;
  if (!size_ok(data, len, o, &readable)) return;
  PIX *pix = pixReadMem(data, len);
  if (pix) extract__ocr_pix(pix, page, o);
}
