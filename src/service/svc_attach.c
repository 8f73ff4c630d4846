/* svc_attach.c - attachments: upload to a content-addressed file store, read once, attach
 * to messages under the content policy, download by the thread's parties. */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "extract/extract.h"
#include "service/svc_int.h"
#include "util/pl_utf8.h"

struct svc_upload {
  svc *s;
  int fd;
  char *tmp; /* malloc'd path of the temporary file */
  size_t size;
  bool too_large;
  crypto_hash_sha256_state sha;
};

bool svc__attachments_enabled(svc *s) { return s->opt.files_dir && *s->opt.files_dir; }

static pl_err mkdir_p(const char *dir) {
  char buf[4096];
  if (snprintf(buf, sizeof buf, "%s", dir) >= (int)sizeof buf) return PL_EIO;
  for (char *p = buf + 1; *p; p++) {
    if (*p != '/') continue;
    *p = '\0';
    if (mkdir(buf, 0700) && errno != EEXIST) return PL_EIO;
    *p = '/';
  }
  if (mkdir(buf, 0700) && errno != EEXIST) return PL_EIO;
  return PL_OK;
}

/* ---- receiving ------------------------------------------------------------------------ */

pl_err svc_upload_open(svc *s, svc_upload **out, pl_detail *d) {
  *out = NULL;
  if (!svc__attachments_enabled(s))
    return pl_fail(d, PL_EUNSUPPORTED, "this server keeps no attachments (start it with --files DIR)");
  /* The temporary file lives in the attachment directory so that keeping it is a
   * rename on one file system. */
  char *dir = pl_xmalloc(strlen(s->opt.files_dir) + 8);
  sprintf(dir, "%s/tmp", s->opt.files_dir);
  pl_err e = mkdir_p(dir);
  if (e) {
    free(dir);
    return pl_fail(d, PL_EIO, "the attachment directory %s cannot be created", s->opt.files_dir);
  }
  svc_upload *u = pl_xcalloc(1, sizeof *u);
  u->s = s;
  u->tmp = pl_xmalloc(strlen(dir) + 32);
  sprintf(u->tmp, "%s/upload-XXXXXX", dir);
  free(dir);
  u->fd = mkstemp(u->tmp);
  if (u->fd < 0) {
    free(u->tmp);
    free(u);
    return pl_fail(d, PL_EIO, "no temporary file for the upload in %s", s->opt.files_dir);
  }
  crypto_hash_sha256_init(&u->sha);
  *out = u;
  return PL_OK;
}

pl_err svc_upload_write(svc_upload *u, const void *data, size_t len, pl_detail *d) {
  if (u->too_large || u->size + len > SVC_ATTACHMENT_CEILING) {
    u->too_large = true;
    return pl_fail(d, PL_ETOOLARGE, "an attachment is at most %d bytes", SVC_ATTACHMENT_CEILING);
  }
  const unsigned char *p = data;
  size_t left = len;
  while (left) {
    ssize_t w = write(u->fd, p, left);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return pl_fail(d, PL_EIO, "the upload could not be written to disk");
    p += w;
    left -= (size_t)w;
  }
  crypto_hash_sha256_update(&u->sha, data, len);
  u->size += len;
  return PL_OK;
}

void svc_upload_discard(svc_upload *u) {
  if (!u) return;
  if (u->fd >= 0) close(u->fd);
  if (u->tmp) unlink(u->tmp);
  free(u->tmp);
  free(u);
}

/* ---- keeping ---------------------------------------------------------------------------- */

static char *file_path(svc *s, const char *sha, pl_arena *a) {
  return pl_arena_printf(a, "%s/%.2s/%s", s->opt.files_dir, sha, sha);
}

/* The name kept and shown: the last path component, control characters replaced, at
 * most 255 bytes; a kind's own extension when none was given. */
static char *clean_name(const char *name, extract_kind k, pl_arena *a) {
  const char *base = name ? name : "";
  for (const char *p = base; *p; p++)
    if (*p == '/' || *p == '\\') base = p + 1;
  size_t len = strlen(base);
  if (len > 255) {
    len = 255;
    while (len && ((unsigned char)base[len] & 0xC0) == 0x80) len--; /* a whole character */
  }
  char *out = pl_arena_strndup(a, base, len);
  for (char *p = out; *p; p++)
    if ((unsigned char)*p < 0x20 || *p == 0x7f || *p == '"') *p = '_';
  if (!*out || !strcmp(out, ".") || !strcmp(out, ".."))
    out = pl_arena_printf(a, "attachment.%s", k == EXTRACT_JPEG ? "jpg" : extract_kind_name(k));
  return out;
}

static char *segments_json(const extract_doc *doc) {
  json_t *arr = json_array();
  for (size_t i = 0; i < doc->nsegs; i++) {
    const extract_segment *g = &doc->segs[i];
    json_array_append_new(arr, json_pack("{s:I,s:s,s:s%}", "page", (json_int_t)g->page, "source",
                                         extract_source_name(g->source), "text", g->text, g->len));
  }
  char *out = json_dumps(arr, JSON_COMPACT);
  json_decref(arr);
  return out;
}

static char *new_id(pl_arena *a) { return svc__random_hex(a, "A", 12); }

/* The upload limits of the caller's party (docs/rules.md, "Limits"): the size of one file,
 * uploads an hour and bytes a day, per buyer or per seller (all its agents together). Taken in the caller's
 * transaction, so that a failed upload is not counted. */
static pl_err upload_limits(svc *s, const svc_caller *c, size_t size, pl_arena *a, pl_detail *d) {
  svc_rules r;
  bool buyer = c->kind == ST_PRINCIPAL_BUYER;
  const char *mp = c->marketplace_id;
  if (!mp && buyer) {
    /* A buyer's token may name no marketplace: the numbers are those of the
     * marketplace of the buyer's latest order (defaults when none). */
    st_order *o;
    size_t n = 0;
    pl_err g = store_order_list(s->st, NULL, c->buyer_id, 0, NULL, 1, a, &o, &n);
    if (g) return g;
    if (n) mp = o[0].marketplace_id;
  }
  pl_err e = svc__rules_for(s, mp, a, &r);
  if (e) return e;
  if ((int64_t)size > r.attachment_bytes)
    return pl_fail(d, PL_ETOOLARGE, "an attachment is at most %lld bytes (%.3g MB) in this marketplace; this one is %zu",
                   (long long)r.attachment_bytes, (double)r.attachment_bytes / 1e6, size);
  const char *key = buyer ? pl_arena_printf(a, "buyer:%s", c->buyer_id) : c->seller_id;
  e = svc__limit_take(s, key, "upload_hour", buyer ? r.buyer_uploads_per_hour : r.seller_uploads_per_hour,
                      3600, 1, PL_EUPLOADLIMIT, buyer ? "too many uploads by this buyer" : "too many uploads by this seller", d);
  if (!e)
    e = svc__limit_take(s, key, "upload_bytes_day",
                        buyer ? r.buyer_upload_bytes_per_day : r.seller_upload_bytes_per_day, 86400,
                        (int64_t)size, PL_EUPLOADLIMIT,
                        buyer ? "too many bytes uploaded by this buyer" : "too many bytes uploaded by this seller", d);
  return e;
}

pl_err svc_attachment_create(svc *s, const svc_caller *c, svc_upload *u, const char *name,
                             const char *content_md5, pl_arena *a, st_attachment *out,
                             pl_detail *d) {
  memset(out, 0, sizeof *out);
  pl_err e = PL_OK;
  void *map = MAP_FAILED;
  size_t size = u ? u->size : 0;
  if (!u) return pl_fail(d, PL_EINTERNAL, "no upload");
  if (c->kind == ST_PRINCIPAL_OPERATOR) e = pl_fail(d, PL_EFORBIDDEN, "attachments are the buyer's and the seller's");
  else if (c->kind == ST_PRINCIPAL_AGENT && !st_agent_role_writes(c->agent_role))
    e = pl_fail(d, PL_EFORBIDDEN, "a read-only agent cannot upload");
  else if (u->too_large)
    e = pl_fail(d, PL_ETOOLARGE, "an attachment is at most %d bytes", SVC_ATTACHMENT_CEILING);
  else if (name && !pl_utf8_valid(name, strlen(name), NULL))
    e = pl_fail(d, PL_EUTF8, "the file name is not valid UTF-8");
  else if (!size) e = pl_fail(d, PL_EEMPTY, "the file is empty");
  /* Past a limit, the file is not even read: the check runs in a transaction that is
   * rolled back (nothing is taken yet), the real take with the record below. */
  if (!e && !(e = svc__begin(s, true, d))) {
    e = upload_limits(s, c, size, a, d);
    svc__end(s, e ? e : PL_ECONFLICT, NULL);
  }
  unsigned char digest[crypto_hash_sha256_BYTES];
  char sha[crypto_hash_sha256_BYTES * 2 + 1];
  crypto_hash_sha256_final(&u->sha, digest);
  sodium_bin2hex(sha, sizeof sha, digest, sizeof digest);
  if (!e) {
    map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, u->fd, 0);
    if (map == MAP_FAILED) e = pl_fail(d, PL_EIO, "the upload could not be read back");
  }
  /* Content-MD5 (RFC 1864): what the client sent must be what arrived. */
  if (!e && content_md5) {
    char want[25], got[25];
    unsigned char sum[16];
    svc__md5(map, size, sum);
    sodium_bin2base64(got, sizeof got, sum, sizeof sum, sodium_base64_VARIANT_ORIGINAL);
    if (!svc__md5_normalise(content_md5, want))
      e = pl_fail(d, PL_EINVAL, "Content-MD5 must be the base64 MD5 of the body (24 characters)");
    else if (strcmp(want, got))
      e = pl_fail(d, PL_EINVAL, "Content-MD5 %s does not match the body received (MD5 %s)", want, got);
  }
  extract_limits lim;
  extract_limits_default(&lim);
  if (s->opt.extract_timeout_ms) lim.timeout_ms = s->opt.extract_timeout_ms;
  if (s->opt.ocr_langs) lim.ocr_langs = s->opt.ocr_langs;
  lim.reader = s->opt.reader_path;
  lim.max_bytes = SVC_ATTACHMENT_CEILING; /* the marketplace's own limit was checked above */
  extract_kind kind = EXTRACT_UNSUPPORTED;
  /* The text is read once per content: a readable record of the same bytes lends its
   * kind and segments, and no reader is started. */
  st_attachment prev;
  bool have_prev = false;
  if (!e && !(e = svc__begin(s, false, d))) {
    pl_err g = store_attachment_find_sha(s->st, sha, a, &prev);
    if (g == PL_OK) kind = extract_kind_parse(prev.kind);
    have_prev = g == PL_OK && kind != EXTRACT_UNSUPPORTED;
    svc__end(s, g == PL_ENOTFOUND ? PL_OK : g, NULL);
  }
  /* Else one parley-reader sniffs the type by content and reads the text: nothing of
   * the file is parsed in this process (docs/attachments.md, "The reader"). */
  pl_arena *xa = NULL;
  extract_doc doc = {0};
  pl_err x = PL_OK;
  if (!e && !have_prev) {
    xa = pl_arena_new();
    pl_detail xd = {0};
    x = extract_file(map, size, NULL, &lim, xa, &doc, &xd);
    kind = doc.kind;
    /* A sniff error refuses the upload; so does a reader that died before it could
     * say what the file is (there is no kind to keep it under). A reader that died
     * reading leaves the file unreadable: kept, and held for review when sent. */
    if (x != PL_OK && (x != PL_EUNREADABLE || kind == EXTRACT_UNSUPPORTED))
      e = pl_fail(d, x, "%s", xd.msg);
  }
  if (!e && name && *name) {
    e = extract_check_name(kind, clean_name(name, kind, a), d);
    if ((e == PL_EMISMATCH || e == PL_EUNSUPPORTED) && d) {
      char why[sizeof d->msg];
      snprintf(why, sizeof why, "%s", d->msg);
      pl_fail(d, e, "%s (the type is decided by the content, whatever the name says)", why);
    }
  }
  char *segs = NULL;
  bool readable = true;
  const char *reason = NULL;
  if (!e && have_prev) {
    segs = pl_xstrdup(prev.segments_json);
  } else if (!e) {
    segs = segments_json(&doc);
    readable = x == PL_OK;
    if (!readable) reason = pl_arena_strdup(a, extract_reason_name(doc.reason));
  }
  if (xa) pl_arena_free(xa);
  if (map != MAP_FAILED) munmap(map, size);
  /* Kept once per content: a second upload of the same bytes only adds a record. */
  if (!e) {
    char *path = file_path(s, sha, a);
    char *dir = pl_arena_printf(a, "%s/%.2s", s->opt.files_dir, sha);
    struct stat st;
    if (stat(path, &st) == 0 && (size_t)st.st_size == size) {
      unlink(u->tmp);
      utimes(path, NULL); /* a new use: the clean-up of unattached uploads leaves it */
    } else if (mkdir_p(dir) || fsync(u->fd) || rename(u->tmp, path)) {
      e = pl_fail(d, PL_EIO, "the attachment could not be stored");
    }
  }
  if (!e) {
    *out = (st_attachment){.id = new_id(a),
                           .seller_id = c->kind == ST_PRINCIPAL_AGENT ? (char *)c->seller_id : NULL,
                           .buyer_id = c->kind == ST_PRINCIPAL_BUYER ? (char *)c->buyer_id : NULL,
                           .uploader = (char *)(c->name ? c->name : "unknown"),
                           .name = clean_name(name, kind, a),
                           .kind = (char *)extract_kind_name(kind),
                           .sha256 = pl_arena_strdup(a, sha),
                           .size = (int64_t)size,
                           .readable = readable,
                           .reason = (char *)reason,
                           .segments_json = segs,
                           .created_at = svc_now(s)};
    if (!(e = svc__begin(s, true, d))) {
      e = upload_limits(s, c, size, a, d);
      if (!e) e = store_attachment_put(s->st, out);
      if (!e && out->seller_id)
        e = svc__audit(s, out->seller_id, out->uploader, "attachment.upload", out->id,
                       json_pack("{s:s,s:s,s:s,s:I,s:b}", "name", out->name, "kind", out->kind,
                                 "sha256", out->sha256, "size", (json_int_t)out->size, "readable", readable));
      e = svc__end(s, e, d);
    }
  }
  free(segs);
  out->segments_json = NULL;
  svc_upload_discard(u);
  if (e) memset(out, 0, sizeof *out);
  return e;
}

pl_err svc_attachment_create_mem(svc *s, const svc_caller *c, const void *data, size_t len,
                                 const char *name, pl_arena *a, st_attachment *out, pl_detail *d) {
  svc_upload *u;
  pl_err e = svc_upload_open(s, &u, d);
  if (e) return e;
  if ((e = svc_upload_write(u, data, len, d))) {
    svc_upload_discard(u);
    return e;
  }
  return svc_attachment_create(s, c, u, name, NULL, a, out, d);
}

/* ---- reading back ------------------------------------------------------------------------- */

static bool own(const svc_caller *c, const st_attachment *at) {
  if (c->kind == ST_PRINCIPAL_AGENT) return at->seller_id && c->seller_id && !strcmp(at->seller_id, c->seller_id);
  if (c->kind == ST_PRINCIPAL_BUYER) return at->buyer_id && c->buyer_id && !strcmp(at->buyer_id, c->buyer_id);
  return false;
}

pl_err svc_attachment_get(svc *s, const svc_caller *c, const char *id, pl_arena *a,
                          st_attachment *out, pl_detail *d) {
  if (!id || strlen(id) > 64) return pl_fail(d, PL_ENOTFOUND, "no attachment %s", id ? id : "");
  pl_err e = svc__begin(s, false, d);
  if (e) return e;
  e = store_attachment_get(s->st, id, false, a, out);
  svc__end(s, PL_OK, NULL);
  if (e == PL_ENOTFOUND || (!e && !own(c, out))) return pl_fail(d, PL_ENOTFOUND, "no attachment %s", id);
  return e ? pl_fail(d, e, "the store is unavailable") : PL_OK;
}

/* Whether the caller may see the attachment through a message that carries it. */
static pl_err through_messages(svc *s, const svc_caller *c, const char *id, pl_arena *a, bool *ok,
                               const char **mp) {
  st_msg_attachment *uses;
  size_t n;
  pl_err e = store_attachment_links(s->st, 0, id, a, &uses, &n);
  for (size_t i = 0; !e && !*ok && i < n; i++) {
    st_thread t;
    st_message m;
    if ((e = s->st->ops->thread_get(s->st, uses[i].thread_id, a, &t))) break;
    if (c->kind == ST_PRINCIPAL_AGENT) {
      *ok = !strcmp(t.seller_id, c->seller_id);
      if (*ok) *mp = t.marketplace_id;
    } else if (c->kind == ST_PRINCIPAL_OPERATOR) *ok = !c->marketplace_id || !strcmp(t.marketplace_id, c->marketplace_id);
    else if (c->kind == ST_PRINCIPAL_BUYER && !strcmp(t.buyer_id, c->buyer_id)) {
      /* A buyer gets only what was delivered to them. */
      if ((e = s->st->ops->message_get(s->st, uses[i].message_id, NULL, a, &m))) break;
      *ok = svc_message_visible(c, &m);
    }
  }
  return e;
}

pl_err svc_attachment_open(svc *s, const svc_caller *c, const char *id, pl_arena *a,
                           st_attachment *out, int *fd, pl_detail *d) {
  *fd = -1;
  if (!id || strlen(id) > 64) return pl_fail(d, PL_ENOTFOUND, "no attachment %s", id ? id : "");
  pl_err e = svc__begin(s, false, d);
  if (e) return e;
  bool ok = false;
  const char *mp = NULL;
  e = store_attachment_get(s->st, id, false, a, out);
  if (!e) ok = own(c, out) || (c->kind == ST_PRINCIPAL_OPERATOR && !c->marketplace_id);
  if (!e && !ok) e = through_messages(s, c, id, a, &ok, &mp);
  /* An agent reaches a file it did not upload only through a buyer's message: its name is
   * the buyer's text, masked like the message (the content is the buyer's file as it is). */
  if (!e && ok && mp && c->kind == ST_PRINCIPAL_AGENT)
    out->name = (char *)svc__mask_name_for_seller(s, mp, out->name, a);
  svc__end(s, PL_OK, NULL);
  if (e == PL_ENOTFOUND || (!e && !ok)) return pl_fail(d, PL_ENOTFOUND, "no attachment %s", id);
  if (e) return pl_fail(d, e, "the store is unavailable");
  if (!svc__attachments_enabled(s)) return pl_fail(d, PL_EIO, "this server keeps no attachment files");
  *fd = open(file_path(s, out->sha256, a), O_RDONLY | O_CLOEXEC);
  if (*fd < 0) return pl_fail(d, PL_EIO, "the file of attachment %s is missing from the attachment directory", id);
  return PL_OK;
}

const char *svc_attachment_mime(const char *kind) {
  static const struct {
    const char *kind, *mime;
  } map[] = {{"pdf", "application/pdf"},
             {"docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
             {"doc", "application/msword"},
             {"txt", "text/plain; charset=utf-8"},
             {"jpeg", "image/jpeg"},
             {"gif", "image/gif"},
             {"png", "image/png"},
             {"bmp", "image/bmp"},
             {"tiff", "image/tiff"}};
  for (size_t i = 0; kind && i < sizeof map / sizeof map[0]; i++)
    if (!strcmp(kind, map[i].kind)) return map[i].mime;
  return "application/octet-stream";
}

json_t *svc_json_attachment(const st_attachment *at) {
  return json_pack("{s:s,s:s,s:s,s:I,s:s,s:b}", "id", at->id, "name", at->name, "kind", at->kind,
                   "size", (json_int_t)at->size, "sha256", at->sha256, "readable", at->readable);
}

/* ---- attaching to messages ---------------------------------------------------------------- */

pl_err svc__attachments_load(svc *s, const svc_caller *c, const svc_send_in *in, pl_arena *a,
                             svc__attachments *out, pl_detail *d) {
  memset(out, 0, sizeof *out);
  if (!in->nattachments) return PL_OK;
  if (in->nattachments > SVC_MAX_ATTACHMENTS)
    return pl_fail(d, PL_ETOOMANY, "a message takes at most %d attachments", SVC_MAX_ATTACHMENTS);
  out->v = pl_arena_alloc(a, in->nattachments * sizeof *out->v);
  for (size_t i = 0; i < in->nattachments; i++) {
    const char *id = in->attachments[i];
    if (!id || !*id || strlen(id) > 64) return pl_fail(d, PL_ENOTFOUND, "no attachment %s", id ? id : "");
    for (size_t k = 0; k < i; k++)
      if (!strcmp(in->attachments[k], id)) return pl_fail(d, PL_EINVAL, "attachment %s is given twice", id);
    st_attachment *at = &out->v[out->n];
    pl_err e = store_attachment_get(s->st, id, true, a, at);
    /* Only the party who uploaded a file attaches it; another's id is unknown. */
    if (e == PL_ENOTFOUND || (!e && !own(c, at))) return pl_fail(d, PL_ENOTFOUND, "no attachment %s", id);
    if (e) return e;
    out->n++;
  }
  return PL_OK;
}

pl_err svc__attachments_fit(svc *s, const char *marketplace_id, const svc__attachments *atts, pl_arena *a,
                            pl_detail *d) {
  if (!atts->n) return PL_OK;
  svc_rules r;
  pl_err e = svc__rules_for(s, marketplace_id, a, &r);
  for (size_t i = 0; !e && i < atts->n; i++)
    if (atts->v[i].size > r.attachment_bytes)
      e = pl_fail(d, PL_ETOOLARGE, "attachment %s is %lld bytes; a file in this marketplace is at most %lld",
                  atts->v[i].id, (long long)atts->v[i].size, (long long)r.attachment_bytes);
  return e;
}

/* Moves the findings of v into the message's verdict, each marked with its origin; a
 * finding already there from the same attachment (the two OCR readings of one logo) is
 * dropped. */
static void merge(svc_sent *out, size_t *ncap, policy_verdict *v, const st_attachment *at,
                  unsigned page, const char *source, pl_arena *a) {
  policy_verdict *mv = &out->verdict;
  size_t n0 = mv->nfindings;
  if (!out->origins || *ncap < n0 + v->nfindings) {
    size_t cap = (n0 + v->nfindings) * 2 + 4;
    svc_finding_origin *o = pl_arena_alloc(a, cap * sizeof *o);
    memset(o, 0, cap * sizeof *o);
    if (out->origins) memcpy(o, out->origins, n0 * sizeof *o);
    out->origins = o;
    *ncap = cap;
  }
  if (v->nfindings) mv->findings = pl_xrealloc(mv->findings, (n0 + v->nfindings) * sizeof *mv->findings);
  for (size_t i = 0; i < v->nfindings; i++) {
    policy_finding *f = &v->findings[i];
    bool dup = false;
    for (size_t k = 0; k < mv->nfindings && !dup; k++)
      dup = out->origins[k].attachment && !strcmp(out->origins[k].attachment, at->id) &&
            !strcmp(mv->findings[k].category, f->category) && f->text && mv->findings[k].text &&
            !strcmp(mv->findings[k].text, f->text);
    if (dup) {
      free((char *)f->rule);
      free(f->text);
      continue;
    }
    out->origins[mv->nfindings] = (svc_finding_origin){.attachment = at->id, .name = at->name,
                                                       .source = source, .page = page};
    mv->findings[mv->nfindings++] = *f;
  }
  free(v->findings);
  v->findings = NULL;
  v->nfindings = 0;
  if (v->action > mv->action) mv->action = v->action;
}

pl_err svc__attachments_scan(svc *s, const char *marketplace_id, svc__attachments *atts, pl_arena *a,
                             svc_sent *out, pl_detail *d) {
  if (!atts->n) return PL_OK;
  policy_config *cfg;
  const char *const *allow;
  pl_err e = svc__policy_for(s, marketplace_id, a, &cfg, &allow, d);
  if (e) return e;
  size_t ncap = 0;
  for (size_t i = 0; !e && i < atts->n; i++) {
    const st_attachment *at = &atts->v[i];
    json_t *segs = json_loads(at->segments_json ? at->segments_json : "[]", 0, NULL);
    size_t k;
    json_t *g;
    json_array_foreach(segs, k, g) {
      const char *text = json_string_value(json_object_get(g, "text"));
      size_t len = json_string_length(json_object_get(g, "text"));
      if (!text || !len) continue;
      policy_verdict v;
      if ((e = policy_scan_allow(cfg, allow, text, len, &v))) {
        pl_fail(d, e, "the text of attachment %s could not be checked", at->name);
        break;
      }
      const char *src = json_string_value(json_object_get(g, "source"));
      merge(out, &ncap, &v, at, (unsigned)json_integer_value(json_object_get(g, "page")),
            pl_arena_strdup(a, src ? src : "text"), a);
      if (!out->verdict.engine[0]) snprintf(out->verdict.engine, sizeof out->verdict.engine, "%s", v.engine);
      policy_verdict_free(&v);
    }
    json_decref(segs);
    /* A file that could not be read is never delivered unread: a person looks at it. */
    if (!at->readable) {
      if (out->verdict.action < POLICY_REVIEW) out->verdict.action = POLICY_REVIEW;
      if (!atts->unreadable) atts->unreadable = json_array();
      json_array_append_new(atts->unreadable, json_pack("{s:s,s:s,s:s}", "attachment", at->id, "name",
                                                        at->name, "reason", at->reason ? at->reason : "unreadable"));
    }
  }
  policy_config_unref(cfg);
  return e;
}

pl_err svc__attachments_link(svc *s, const st_thread *t, st_message *m, const svc__attachments *atts,
                             pl_arena *a) {
  if (!atts->n) return PL_OK;
  m->attachments = pl_arena_alloc(a, atts->n * sizeof *m->attachments);
  m->nattachments = atts->n;
  for (size_t i = 0; i < atts->n; i++) {
    const st_attachment *at = &atts->v[i];
    m->attachments[i] = (st_msg_attachment){.message_id = m->id, .thread_id = t->id, .id = at->id,
                                            .name = at->name, .kind = at->kind, .size = at->size};
    pl_err e = store_attachment_link(s->st, m->id, t->id, t->seller_id, at->id, (int)i);
    if (e) return e;
  }
  return PL_OK;
}

pl_err svc__attachments_fill(svc *s, st_message *msgs, size_t n, pl_arena *a) {
  for (size_t i = 0; i < n; i++) {
    if (msgs[i].attachments) continue;
    int64_t tid = msgs[i].thread_id;
    bool done = false;
    for (size_t k = 0; k < i && !done; k++) done = msgs[k].thread_id == tid;
    if (done) continue; /* this thread's were listed already */
    st_msg_attachment *v;
    size_t nv;
    pl_err e = store_attachment_links(s->st, tid, NULL, a, &v, &nv);
    if (e) return e;
    for (size_t j = 0; j < nv; j++)
      for (size_t k = i; k < n; k++) {
        st_message *m = &msgs[k];
        if (m->id != v[j].message_id) continue;
        if (!m->nattachments) {
          m->attachments = &v[j]; /* rows of one message are consecutive */
        }
        m->nattachments++;
      }
  }
  return PL_OK;
}

json_t *svc_json_sent_findings(const svc_sent *m) {
  json_t *arr = svc_json_findings(&m->verdict);
  for (size_t i = 0; m->origins && i < m->verdict.nfindings; i++) {
    const svc_finding_origin *o = &m->origins[i];
    if (!o->attachment) continue;
    json_t *f = json_array_get(arr, i);
    json_object_set_new(f, "attachment", json_string(o->attachment));
    json_object_set_new(f, "name", json_string(o->name));
    json_object_set_new(f, "page", json_integer(o->page));
    json_object_set_new(f, "source", json_string(o->source));
  }
  return arr;
}

/* ---- clean-up ------------------------------------------------------------------------------ */

pl_err svc_attachments_sweep(svc *s, int64_t max_age, size_t *removed, pl_detail *d) {
  *removed = 0;
  if (!svc__attachments_enabled(s)) return PL_OK;
  pl_arena *a = pl_arena_new();
  pl_time cutoff = svc_now(s) - (max_age > 0 ? max_age : SVC_UNATTACHED_MAX_AGE);
  st_attachment *old;
  size_t n = 0;
  pl_err e = svc__begin(s, false, d);
  if (!e) e = svc__end(s, store_attachment_orphans(s->st, cutoff, 200, a, &old, &n), d);
  for (size_t i = 0; !e && i < n; i++) {
    /* One record a transaction: a message that takes the upload meanwhile keeps it
     * (attachment_delete refuses a record a message carries). */
    bool unused = false;
    if ((e = svc__begin(s, true, d))) break;
    pl_err g = store_attachment_delete(s->st, old[i].id, old[i].sha256, &unused);
    e = svc__end(s, g == PL_ECONFLICT ? PL_ECONFLICT : g, d);
    if (e == PL_ECONFLICT) {
      e = PL_OK;
      continue;
    }
    if (e) break;
    (*removed)++;
    /* The bytes go when no record names them any more. A new upload of the same
     * content touches the file before it writes its record (svc_attachment_create), so
     * a file younger than the cut-off stays. */
    char *path = file_path(s, old[i].sha256, a);
    struct stat st;
    if (unused && stat(path, &st) == 0 && st.st_mtime < cutoff) unlink(path);
  }
  pl_arena_free(a);
  return e;
}
