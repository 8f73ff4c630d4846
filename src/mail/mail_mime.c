/* mail_mime.c - MIME in and out with GMime: a reply's new text, and the mails parley sends. */
#include <ctype.h>
#include <gmime/gmime.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mail/mail.h"

static pthread_once_t gmime_once = PTHREAD_ONCE_INIT;
static void gmime_init(void) { g_mime_init(); }

/* ---- a growing buffer ------------------------------------------------------------- */
typedef struct {
  char *p;
  size_t n, cap;
} buf;

static void put(buf *b, const char *s, size_t n) {
  if (b->n + n + 1 > b->cap) {
    while (b->n + n + 1 > b->cap) b->cap = b->cap ? b->cap * 2 : 256;
    b->p = pl_xrealloc(b->p, b->cap);
  }
  memcpy(b->p + b->n, s, n);
  b->n += n;
  b->p[b->n] = '\0';
}
static void putc_(buf *b, char c) { put(b, &c, 1); }

static char *to_arena(buf *b, pl_arena *a) {
  char *r = pl_arena_strndup(a, b->p ? b->p : "", b->n);
  free(b->p);
  return r;
}

/* ---- the new text of a reply ---------------------------------------------------------- */

static bool starts_ci(const char *s, size_t n, const char *prefix) {
  size_t k = strlen(prefix);
  return n >= k && !strncasecmp(s, prefix, k);
}

static bool ends_with(const char *s, size_t n, const char *suffix) {
  while (n && (s[n - 1] == ' ' || s[n - 1] == '\t')) n--;
  size_t k = strlen(suffix);
  return n >= k && !strncasecmp(s + n - k, suffix, k);
}

/* The attribution line that mail clients put above quoted history, in the languages of
 * the marketplaces. */
static bool attribution_end(const char *s, size_t n) {
  static const char *const ends[] = {"wrote:", "schrieb:", "a écrit :", "a écrit:", "escribió:",
                                     "ha scritto:", "schreef:", "skrev:", "napisał:", "escreveu:"};
  for (size_t i = 0; i < sizeof ends / sizeof ends[0]; i++)
    if (ends_with(s, n, ends[i])) return true;
  return false;
}

typedef struct {
  const char *s;
  size_t n;
} line;

char *mail_strip_reply(const char *text, size_t len, pl_arena *a) {
  size_t cap = 64, nl = 0;
  line *ls = pl_xmalloc(cap * sizeof *ls);
  for (size_t i = 0; i <= len;) {
    size_t j = i;
    while (j < len && text[j] != '\n') j++;
    size_t n = j - i;
    if (n && text[i + n - 1] == '\r') n--;
    if (nl == cap) ls = pl_xrealloc(ls, (cap *= 2) * sizeof *ls);
    ls[nl++] = (line){text + i, n};
    if (j >= len) break;
    i = j + 1;
  }
  size_t keep = nl;
  for (size_t i = 0; i < nl && keep == nl; i++) {
    const char *s = ls[i].s;
    size_t n = ls[i].n, k = 0;
    while (k < n && (s[k] == ' ' || s[k] == '\t')) k++;
    const char *t = s + k;
    size_t tn = n - k;
    if (tn && t[0] == '>') keep = i;
    else if ((n == 3 && !memcmp(s, "-- ", 3)) || (n == 2 && !memcmp(s, "--", 2))) keep = i;
    else if (starts_ci(t, tn, "-----Original Message") || starts_ci(t, tn, "----- Original Message") ||
             starts_ci(t, tn, "-------- Forwarded") || starts_ci(t, tn, "---------- Forwarded") ||
             starts_ci(t, tn, "__________")) keep = i;
    else if (starts_ci(t, tn, "Sent from my ") || starts_ci(t, tn, "Get Outlook for ")) keep = i;
    else if (attribution_end(t, tn)) keep = i;
    else if (starts_ci(t, tn, "On ")) {
      /* "On <date>, <name> <address>" wrapped onto the next line or two before "wrote:". */
      for (size_t j = i + 1; j < nl && j <= i + 2; j++)
        if (attribution_end(ls[j].s, ls[j].n)) keep = i;
    } else if (starts_ci(t, tn, "From:")) {
      /* An Outlook header block: From:, then Sent:/Date:/To:/Subject: within a few lines. */
      for (size_t j = i + 1; j < nl && j <= i + 4; j++)
        if (starts_ci(ls[j].s, ls[j].n, "Sent:") || starts_ci(ls[j].s, ls[j].n, "Date:") ||
            starts_ci(ls[j].s, ls[j].n, "To:") || starts_ci(ls[j].s, ls[j].n, "Subject:"))
          keep = i;
    }
  }
  /* Trim blank lines at both ends and spaces at line ends. */
  size_t first = 0;
  while (first < keep) {
    size_t k = 0;
    while (k < ls[first].n && isspace((unsigned char)ls[first].s[k])) k++;
    if (k < ls[first].n) break;
    first++;
  }
  while (keep > first) {
    size_t k = 0;
    while (k < ls[keep - 1].n && isspace((unsigned char)ls[keep - 1].s[k])) k++;
    if (k < ls[keep - 1].n) break;
    keep--;
  }
  buf b = {0};
  for (size_t i = first; i < keep; i++) {
    size_t n = ls[i].n;
    while (n && (ls[i].s[n - 1] == ' ' || ls[i].s[n - 1] == '\t')) n--;
    put(&b, ls[i].s, n);
    if (i + 1 < keep) putc_(&b, '\n');
  }
  free(ls);
  return to_arena(&b, a);
}

/* ---- HTML to text ------------------------------------------------------------------- */

static void put_utf8(buf *b, unsigned long c) {
  char u[4];
  if (c == 0 || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) c = 0xFFFD;
  if (c < 0x80) u[0] = (char)c, put(b, u, 1);
  else if (c < 0x800) u[0] = (char)(0xC0 | c >> 6), u[1] = (char)(0x80 | (c & 0x3F)), put(b, u, 2);
  else if (c < 0x10000)
    u[0] = (char)(0xE0 | c >> 12), u[1] = (char)(0x80 | ((c >> 6) & 0x3F)), u[2] = (char)(0x80 | (c & 0x3F)), put(b, u, 3);
  else
    u[0] = (char)(0xF0 | c >> 18), u[1] = (char)(0x80 | ((c >> 12) & 0x3F)), u[2] = (char)(0x80 | ((c >> 6) & 0x3F)),
    u[3] = (char)(0x80 | (c & 0x3F)), put(b, u, 4);
}

/* Decodes the entity at h[i] ('&'); returns the characters consumed (1 when none). */
static size_t entity(const char *h, size_t i, size_t len, buf *b) {
  static const struct {
    const char *name;
    unsigned long c;
  } named[] = {{"amp", '&'}, {"lt", '<'}, {"gt", '>'}, {"quot", '"'}, {"apos", '\''}, {"nbsp", ' '},
               {"ndash", 0x2013}, {"mdash", 0x2014}, {"hellip", 0x2026}, {"euro", 0x20AC},
               {"rsquo", 0x2019}, {"lsquo", 0x2018}, {"rdquo", 0x201D}, {"ldquo", 0x201C}};
  size_t j = i + 1;
  while (j < len && j - i < 12 && h[j] != ';' && (isalnum((unsigned char)h[j]) || h[j] == '#')) j++;
  if (j >= len || h[j] != ';') {
    putc_(b, '&');
    return 1;
  }
  const char *e = h + i + 1;
  size_t n = j - i - 1;
  if (n > 1 && e[0] == '#') {
    unsigned long c = 0;
    bool hex = e[1] == 'x' || e[1] == 'X';
    for (size_t k = hex ? 2 : 1; k < n; k++) {
      int d = hex ? (isxdigit((unsigned char)e[k]) ? (isdigit((unsigned char)e[k]) ? e[k] - '0' : (tolower((unsigned char)e[k]) - 'a' + 10)) : -1)
                  : (isdigit((unsigned char)e[k]) ? e[k] - '0' : -1);
      if (d < 0 || c > 0x10FFFF) {
        c = 0xFFFD;
        break;
      }
      c = c * (hex ? 16 : 10) + (unsigned long)d;
    }
    put_utf8(b, c);
    return j - i + 1;
  }
  for (size_t k = 0; k < sizeof named / sizeof named[0]; k++)
    if (strlen(named[k].name) == n && !strncmp(named[k].name, e, n)) {
      put_utf8(b, named[k].c);
      return j - i + 1;
    }
  putc_(b, '&');
  return 1;
}

static bool tag_is(const char *t, size_t n, const char *name) {
  size_t k = strlen(name);
  return n >= k && !strncasecmp(t, name, k) && (n == k || !isalnum((unsigned char)t[k]));
}

static bool has_ci(const char *t, size_t n, const char *needle) {
  size_t k = strlen(needle);
  for (size_t i = 0; i + k <= n; i++)
    if (!strncasecmp(t + i, needle, k)) return true;
  return false;
}

char *mail_html_to_text(const char *h, size_t len, pl_arena *a) {
  buf b = {0};
  bool space = false;
  for (size_t i = 0; i < len;) {
    char c = h[i];
    if (c == '<') {
      size_t j = i + 1;
      while (j < len && h[j] != '>') j++;
      const char *t = h + i + 1;
      size_t n = j - i - 1;
      bool close = n && t[0] == '/';
      const char *name = close ? t + 1 : t;
      size_t nn = close ? n - 1 : n;
      i = j < len ? j + 1 : len;
      if (n >= 3 && !strncmp(t, "!--", 3)) {
        /* a comment: skip to its end */
        const char *endc = NULL;
        for (size_t k = (size_t)(t - h) + 3; k + 2 < len; k++)
          if (!memcmp(h + k, "-->", 3)) {
            endc = h + k;
            break;
          }
        i = endc ? (size_t)(endc - h) + 3 : len;
        continue;
      }
      if (!close && (tag_is(name, nn, "style") || tag_is(name, nn, "script") || tag_is(name, nn, "head") ||
                     tag_is(name, nn, "title"))) {
        /* skip to the matching close tag */
        char closing[16];
        size_t cl = 0;
        while (cl < nn && cl < 8 && isalpha((unsigned char)name[cl])) cl++;
        int m = snprintf(closing, sizeof closing, "</%.*s", (int)cl, name);
        size_t k = i;
        while (k + (size_t)m <= len && strncasecmp(h + k, closing, (size_t)m)) k++;
        i = k < len ? k : len;
        continue;
      }
      /* Quoted history: everything from here on is what the other party already has. */
      if (!close && (tag_is(name, nn, "blockquote") || has_ci(name, nn, "gmail_quote") ||
                     has_ci(name, nn, "moz-cite-prefix") || has_ci(name, nn, "divRplyFwdMsg") ||
                     has_ci(name, nn, "appendonsend") || has_ci(name, nn, "yahoo_quoted")))
        break;
      if (tag_is(name, nn, "br") || (close && (tag_is(name, nn, "p") || tag_is(name, nn, "div") ||
                                              tag_is(name, nn, "li") || tag_is(name, nn, "tr") ||
                                              tag_is(name, nn, "h1") || tag_is(name, nn, "h2") ||
                                              tag_is(name, nn, "h3") || tag_is(name, nn, "table")))) {
        putc_(&b, '\n');
        space = false;
      } else if (!close && tag_is(name, nn, "li")) {
        put(&b, "- ", 2);
      } else if (!close && (tag_is(name, nn, "p") || tag_is(name, nn, "div")) && b.n && b.p[b.n - 1] != '\n') {
        putc_(&b, '\n');
      }
      continue;
    }
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      space = true;
      i++;
      continue;
    }
    if (space && b.n && b.p[b.n - 1] != '\n') putc_(&b, ' ');
    space = false;
    if (c == '&') i += entity(h, i, len, &b);
    else putc_(&b, c), i++;
  }
  /* At most one blank line in a row. */
  buf o = {0};
  int nls = 0;
  for (size_t i = 0; i < b.n; i++) {
    if (b.p[i] == '\n') {
      if (++nls > 2) continue;
    } else {
      nls = 0;
    }
    putc_(&o, b.p[i]);
  }
  free(b.p);
  return to_arena(&o, a);
}

/* ---- parsing ------------------------------------------------------------------------ */

typedef struct {
  GMimeTextPart *plain, *html;
  size_t attachments;
  bool report;
  pl_arena *a;
  mail_file *files;
  size_t nfiles, skipped;
} walk_state;

/* Parts that are about the mail rather than files its sender chose: signatures of a
 * signed mail and Outlook's TNEF wrapper. */
static bool not_a_file(GMimeContentType *ct) {
  return ct && (g_mime_content_type_is_type(ct, "application", "pgp-signature") ||
                g_mime_content_type_is_type(ct, "application", "pkcs7-signature") ||
                g_mime_content_type_is_type(ct, "application", "x-pkcs7-signature") ||
                g_mime_content_type_is_type(ct, "application", "ms-tnef"));
}

/* Decodes a part's content into the arena. */
static void take_file(walk_state *w, GMimePart *p) {
  if (w->nfiles >= MAIL_MAX_FILES) {
    w->skipped++;
    return;
  }
  GMimeDataWrapper *dw = g_mime_part_get_content(p);
  GMimeStream *ms = g_mime_stream_mem_new();
  if (dw) g_mime_data_wrapper_write_to_stream(dw, ms);
  GByteArray *ba = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(ms));
  if (!w->files) w->files = pl_arena_alloc(w->a, MAIL_MAX_FILES * sizeof *w->files);
  mail_file *f = &w->files[w->nfiles++];
  f->len = ba ? ba->len : 0;
  void *data = pl_arena_alloc(w->a, f->len + 1);
  if (f->len) memcpy(data, ba->data, f->len);
  f->data = data;
  const char *name = g_mime_part_get_filename(p);
  f->name = name && *name ? pl_arena_strdup(w->a, name) : NULL;
  GMimeContentType *ct = g_mime_object_get_content_type(GMIME_OBJECT(p));
  f->content_type = pl_arena_printf(w->a, "%s/%s", ct && g_mime_content_type_get_media_type(ct) ? g_mime_content_type_get_media_type(ct) : "application",
                                    ct && g_mime_content_type_get_media_subtype(ct) ? g_mime_content_type_get_media_subtype(ct) : "octet-stream");
  g_object_unref(ms);
}

static void walk(GMimeObject *o, walk_state *w, int depth) {
  if (depth > 32) return;
  if (GMIME_IS_MULTIPART(o)) {
    GMimeContentType *ct = g_mime_object_get_content_type(o);
    if (ct && g_mime_content_type_is_type(ct, "multipart", "report")) w->report = true;
    GMimeMultipart *mp = GMIME_MULTIPART(o);
    int n = g_mime_multipart_get_count(mp);
    for (int i = 0; i < n && i < 1000; i++) walk(g_mime_multipart_get_part(mp, i), w, depth + 1);
    return;
  }
  if (GMIME_IS_MESSAGE_PART(o)) {
    w->attachments++; /* a forwarded message: history, not the reply */
    return;
  }
  if (!GMIME_IS_PART(o)) return;
  GMimeContentType *ct = g_mime_object_get_content_type(o);
  GMimePart *p = GMIME_PART(o);
  const char *fname = g_mime_part_get_filename(p);
  bool text_body = GMIME_IS_TEXT_PART(o) && !g_mime_part_is_attachment(p) && !(fname && *fname) && ct &&
                   ((g_mime_content_type_is_type(ct, "text", "plain") && !w->plain) ||
                    (g_mime_content_type_is_type(ct, "text", "html") && !w->html));
  if (!text_body) {
    w->attachments++;
    if (!w->report && !not_a_file(ct)) take_file(w, p);
    return;
  }
  if (g_mime_content_type_is_type(ct, "text", "plain")) w->plain = GMIME_TEXT_PART(o);
  else w->html = GMIME_TEXT_PART(o);
}

static char *header(pl_arena *a, GMimeObject *o, const char *name) {
  const char *v = g_mime_object_get_header(o, name);
  return v ? pl_arena_strdup(a, v) : NULL;
}

/* Text as valid UTF-8, whatever the part claimed. */
static char *part_text(GMimeTextPart *p, pl_arena *a) {
  char *t = g_mime_text_part_get_text(p);
  if (!t) return pl_arena_strdup(a, "");
  char *v = g_utf8_make_valid(t, -1);
  char *r = pl_arena_strdup(a, v);
  g_free(v);
  g_free(t);
  return r;
}

pl_err mail_parse(const char *data, size_t len, pl_arena *a, mail_in *out, pl_detail *d) {
  memset(out, 0, sizeof *out);
  pthread_once(&gmime_once, gmime_init);
  GMimeStream *st = g_mime_stream_mem_new_with_buffer(data, len);
  GMimeParser *p = g_mime_parser_new_with_stream(st);
  g_object_unref(st);
  GMimeMessage *m = g_mime_parser_construct_message(p, NULL);
  g_object_unref(p);
  if (!m) return pl_fail(d, PL_EINVAL, "the mail is not a message");
  GMimeObject *mo = GMIME_OBJECT(m);
  const char *mid = g_mime_message_get_message_id(m);
  out->message_id = mid ? pl_arena_strdup(a, mid) : NULL;
  out->in_reply_to = header(a, mo, "In-Reply-To");
  out->references = header(a, mo, "References");
  const char *subj = g_mime_message_get_subject(m);
  out->subject = subj ? pl_arena_strdup(a, subj) : NULL;
  const char *as = g_mime_object_get_header(mo, "Auto-Submitted");
  if (as) {
    while (*as == ' ' || *as == '\t') as++;
    out->automatic = strncasecmp(as, "no", 2) != 0;
  }
  walk_state w = {.a = a};
  GMimeObject *body = g_mime_message_get_mime_part(m);
  if (body) walk(body, &w, 0);
  out->attachments = w.attachments;
  out->files = w.files;
  out->nfiles = w.nfiles;
  out->files_skipped = w.skipped;
  if (w.report) out->automatic = true;
  if (w.plain) {
    char *t = part_text(w.plain, a);
    out->text = mail_strip_reply(t, strlen(t), a);
  } else if (w.html) {
    char *h = part_text(w.html, a);
    char *t = mail_html_to_text(h, strlen(h), a);
    out->text = mail_strip_reply(t, strlen(t), a);
  } else {
    out->text = pl_arena_strdup(a, "");
  }
  g_object_unref(m);
  return PL_OK;
}

/* ---- composing ---------------------------------------------------------------------- */

pl_err mail_compose(const mail_out *o, pl_arena *a, char **out, size_t *len, pl_detail *d) {
  pthread_once(&gmime_once, gmime_init);
  GMimeMessage *m = g_mime_message_new(TRUE);
  GMimeObject *mo = GMIME_OBJECT(m);
  g_mime_message_add_mailbox(m, GMIME_ADDRESS_TYPE_FROM, o->from_name, o->from_addr);
  g_mime_message_add_mailbox(m, GMIME_ADDRESS_TYPE_TO, NULL, o->to_addr);
  if (o->reply_to) g_mime_message_add_mailbox(m, GMIME_ADDRESS_TYPE_REPLY_TO, NULL, o->reply_to);
  g_mime_message_set_subject(m, o->subject ? o->subject : "", "utf-8");
  GDateTime *dt = g_date_time_new_from_unix_utc(o->date);
  g_mime_message_set_date(m, dt);
  g_date_time_unref(dt);
  g_mime_message_set_message_id(m, o->message_id);
  if (o->in_reply_to) {
    char *v = pl_arena_printf(a, "<%s>", o->in_reply_to);
    g_mime_object_set_header(mo, "In-Reply-To", v, NULL);
  }
  if (o->references) {
    buf b = {0};
    for (const char *p = o->references; *p;) {
      while (*p == ' ') p++;
      const char *q = p;
      while (*q && *q != ' ') q++;
      if (q > p) {
        if (b.n) putc_(&b, ' ');
        putc_(&b, '<');
        put(&b, p, (size_t)(q - p));
        putc_(&b, '>');
      }
      p = q;
    }
    if (b.n) g_mime_object_set_header(mo, "References", b.p, NULL);
    free(b.p);
  }
  if (o->auto_submitted) g_mime_object_set_header(mo, "Auto-Submitted", o->auto_submitted, NULL);
  GMimeTextPart *part = g_mime_text_part_new_with_subtype("plain");
  g_mime_text_part_set_text(part, o->text ? o->text : "");
  g_mime_part_set_content_encoding(GMIME_PART(part), GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE);
  if (!o->nfiles) {
    g_mime_message_set_mime_part(m, GMIME_OBJECT(part));
  } else {
    GMimeMultipart *mp = g_mime_multipart_new_with_subtype("mixed");
    g_mime_multipart_add(mp, GMIME_OBJECT(part));
    for (size_t i = 0; i < o->nfiles; i++) {
      const mail_file *f = &o->files[i];
      const char *ct = f->content_type ? f->content_type : "application/octet-stream";
      const char *slash = strchr(ct, '/');
      char *type = slash ? pl_arena_strndup(a, ct, (size_t)(slash - ct)) : "application";
      GMimePart *fp = g_mime_part_new_with_type(type, slash ? slash + 1 : "octet-stream");
      GMimeStream *fs = g_mime_stream_mem_new_with_buffer(f->data, f->len);
      GMimeDataWrapper *dw = g_mime_data_wrapper_new_with_stream(fs, GMIME_CONTENT_ENCODING_DEFAULT);
      g_mime_part_set_content(fp, dw);
      g_object_unref(dw);
      g_object_unref(fs);
      g_mime_part_set_content_encoding(fp, GMIME_CONTENT_ENCODING_BASE64);
      g_mime_object_set_disposition(GMIME_OBJECT(fp), GMIME_DISPOSITION_ATTACHMENT);
      g_mime_part_set_filename(fp, f->name && *f->name ? f->name : "attachment");
      g_mime_multipart_add(mp, GMIME_OBJECT(fp));
      g_object_unref(fp);
    }
    g_mime_message_set_mime_part(m, GMIME_OBJECT(mp));
    g_object_unref(mp);
  }
  g_object_unref(part);
  GMimeFormatOptions *fo = g_mime_format_options_clone(NULL);
  g_mime_format_options_set_newline_format(fo, GMIME_NEWLINE_FORMAT_DOS);
  char *s = g_mime_object_to_string(mo, fo);
  g_mime_format_options_free(fo);
  g_object_unref(m);
  if (!s) return pl_fail(d, PL_EINTERNAL, "the mail could not be formatted");
  *len = strlen(s);
  *out = pl_arena_strndup(a, s, *len);
  g_free(s);
  return PL_OK;
}
