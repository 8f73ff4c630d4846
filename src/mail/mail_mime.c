/* mail_mime.c - MIME in and out with GMime: a reply's new text, and the mails parley sends. */
#define _GNU_SOURCE /* memmem */
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
  if (n) memcpy(b->p + b->n, s, n);
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

/* The verbs of the attribution line that mail clients put above quoted history ("On ...,
 * Jane <...> wrote:"), in the languages of the marketplaces and a few more. */
static const char *const attr_verbs[] = {"wrote", "schrieb", "a écrit", "escribió", "escribio",
                                         "ha scritto", "schreef", "skrev", "napisał", "escreveu"};
/* The words that open one: Gmail, Apple Mail and Thunderbird in en/de/fr/es/it. */
static const char *const attr_opens[] = {"On ", "Am ", "Le ", "El ", "Il giorno ", "Il ", "Op ", "Den ", "Em "};

static bool has_ci_n(const char *t, size_t n, const char *needle) {
  size_t k = strlen(needle);
  for (size_t i = 0; i + k <= n; i++)
    if (!strncasecmp(t + i, needle, k)) return true;
  return false;
}

/* A line that ends an attribution on its own: "... wrote:", "... a écrit :". */
static bool attribution_end(const char *s, size_t n) {
  while (n && (s[n - 1] == ' ' || s[n - 1] == '\t')) n--;
  if (!n || s[n - 1] != ':') return false;
  n--;
  while (n && s[n - 1] == ' ') n--;
  for (size_t i = 0; i < sizeof attr_verbs / sizeof attr_verbs[0]; i++) {
    size_t k = strlen(attr_verbs[i]);
    if (n >= k && !strncasecmp(s + n - k, attr_verbs[i], k)) return true;
  }
  return false;
}

/* An attribution that names the writer after the verb, or was wrapped by the client: it
 * opens with "On"/"Am"/"Le"/"El"/"Il giorno", holds a date (a digit) and a verb, and ends
 * with ':' ("Am Mo., 23. Nov. 2026 um 09:00 Uhr schrieb Jane Doe <jane@...>:"). */
static bool attribution_text(const char *s, size_t n) {
  while (n && (s[n - 1] == ' ' || s[n - 1] == '\t')) n--;
  if (!n || s[n - 1] != ':') return false;
  bool opens = false, digit = false, verb = false;
  for (size_t i = 0; i < sizeof attr_opens / sizeof attr_opens[0]; i++)
    if (starts_ci(s, n, attr_opens[i])) opens = true;
  for (size_t i = 0; i < n && !digit; i++) digit = isdigit((unsigned char)s[i]);
  for (size_t i = 0; i < sizeof attr_verbs / sizeof attr_verbs[0] && !verb; i++) {
    /* the verb as a word */
    size_t k = strlen(attr_verbs[i]);
    for (size_t j = 0; j + k <= n && !verb; j++)
      verb = !strncasecmp(s + j, attr_verbs[i], k) && (j == 0 || s[j - 1] == ' ') &&
             (j + k == n || s[j + k] == ' ' || s[j + k] == ':');
  }
  return opens && digit && verb;
}

/* Separator lines of Outlook, Thunderbird and Gmail ("-----Ursprüngliche Nachricht-----",
 * "---------- Forwarded message ---------") and Apple Mail's forward header. */
static bool separator(const char *t, size_t n) {
  static const char *const names[] = {
      "Original Message", "Ursprüngliche Nachricht", "Originalnachricht", "Original-Nachricht",
      "Message d'origine", "Message d’origine", "Message original", "Mensaje original",
      "Messaggio originale", "Messaggio Originale", "Forwarded message", "Weitergeleitete Nachricht",
      "Message transféré", "Mensaje reenviado", "Messaggio inoltrato", "Doorgestuurd bericht"};
  static const char *const apple[] = {"Begin forwarded message:", "Anfang der weitergeleiteten Nachricht:",
                                      "Début du message réexpédié :", "Début du message réexpédié:",
                                      "Inicio del mensaje reenviado:", "Inizio messaggio inoltrato:"};
  for (size_t i = 0; i < sizeof apple / sizeof apple[0]; i++)
    if (starts_ci(t, n, apple[i])) return true;
  if (starts_ci(t, n, "__________")) return true;
  if (!starts_ci(t, n, "---")) return false;
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (has_ci_n(t, n, names[i])) return true;
  return false;
}

/* A mail header line of a quoted header block ("From:", "*Von:*", "De :"), one of words. */
static bool header_line(const char *s, size_t n, const char *const *words, size_t nwords) {
  size_t k = 0;
  while (k < n && (s[k] == ' ' || s[k] == '\t' || s[k] == '*' || s[k] == '>')) k++;
  for (size_t i = 0; i < nwords; i++) {
    size_t w = strlen(words[i]);
    if (n - k < w || strncasecmp(s + k, words[i], w)) continue;
    size_t j = k + w;
    while (j < n && (s[j] == ' ' || s[j] == '*' || s[j] == '\xc2' || s[j] == '\xa0')) j++;
    if (j < n && s[j] == ':') return true;
  }
  return false;
}

static const char *const from_words[] = {"From", "Von", "De", "Da", "Van"};
static const char *const block_words[] = {
    "Sent", "Date", "To", "Cc", "Subject",                 /* en */
    "Gesendet", "Datum", "An", "Betreff",                  /* de */
    "Envoyé", "Date", "À", "A", "Objet",                   /* fr */
    "Enviado", "Fecha", "Para", "Asunto", "CC",            /* es */
    "Inviato", "Data", "Oggetto", "Verzonden", "Onderwerp" /* it, nl */
};

/* "Sent from my iPhone" and its translations: the client's own signature. */
static bool client_signature(const char *t, size_t n) {
  static const char *const opens[] = {"Sent from my ", "Get Outlook for ", "Von meinem ", "Gesendet von ",
                                      "Envoyé de mon ", "Envoyé depuis ", "Obtenir Outlook pour ",
                                      "Enviado desde mi ", "Enviado desde ", "Obtener Outlook para ",
                                      "Inviato da ", "Inviato dal mio ", "Scarica Outlook per "};
  static const char *const devices[] = {"iPhone", "iPad", "Android", "Outlook", "Samsung", "Galaxy",
                                        "mobile", "Mail", "BlackBerry", "Huawei", "Xiaomi"};
  if (n > 60) return false;
  for (size_t i = 0; i < sizeof opens / sizeof opens[0]; i++)
    if (starts_ci(t, n, opens[i])) {
      if (i < 2) return true; /* English: always the client's */
      for (size_t j = 0; j < sizeof devices / sizeof devices[0]; j++)
        if (has_ci_n(t, n, devices[j])) return true;
    }
  return false;
}

typedef struct {
  const char *s;
  size_t n;
} line;

/* Lines i..i+k-1 joined by spaces (leading spaces of each dropped), into out (cap bytes). */
static size_t joined(const line *ls, size_t nl, size_t i, size_t k, char *out, size_t cap) {
  size_t o = 0;
  for (size_t j = i; j < nl && j < i + k; j++) {
    size_t b = 0;
    while (b < ls[j].n && (ls[j].s[b] == ' ' || ls[j].s[b] == '\t')) b++;
    if (o && o < cap) out[o++] = ' ';
    for (size_t c = b; c < ls[j].n && o < cap; c++) out[o++] = ls[j].s[c];
  }
  return o;
}

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
  char jb[1024];
  for (size_t i = 0; i < nl && keep == nl; i++) {
    const char *s = ls[i].s;
    size_t n = ls[i].n, k = 0;
    while (k < n && (s[k] == ' ' || s[k] == '\t')) k++;
    const char *t = s + k;
    size_t tn = n - k;
    if (tn && t[0] == '>') keep = i;
    else if ((n == 3 && !memcmp(s, "-- ", 3)) || (n == 2 && !memcmp(s, "--", 2))) keep = i;
    else if (separator(t, tn)) keep = i;
    else if (client_signature(t, tn)) keep = i;
    else if (attribution_end(t, tn)) keep = i;
    else if (header_line(t, tn, from_words, sizeof from_words / sizeof from_words[0])) {
      /* An Outlook header block: From:, then Sent:/Date:/To:/Subject: (or their
       * translations) within a few lines. */
      for (size_t j = i + 1; j < nl && j <= i + 5; j++)
        if (header_line(ls[j].s, ls[j].n, block_words, sizeof block_words / sizeof block_words[0])) keep = i;
    } else {
      /* An attribution on this line, or wrapped onto the next one or two. */
      for (size_t k2 = 1; k2 <= 3 && i + k2 <= nl && keep == nl; k2++) {
        size_t jn = joined(ls, nl, i, k2, jb, sizeof jb);
        if (jn < sizeof jb && attribution_text(jb, jn)) keep = i;
      }
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


/* The value of attribute name in a tag's text t (after '<'), or false. */
static bool attr_value(const char *t, size_t n, const char *name, const char **v, size_t *vn) {
  size_t k = strlen(name), i = 0;
  while (i < n && !isspace((unsigned char)t[i])) i++; /* the tag's name */
  while (i < n) {
    while (i < n && (isspace((unsigned char)t[i]) || t[i] == '/')) i++;
    size_t a0 = i;
    while (i < n && !isspace((unsigned char)t[i]) && t[i] != '=' && t[i] != '/') i++;
    size_t an = i - a0;
    while (i < n && isspace((unsigned char)t[i])) i++;
    const char *val = t + i;
    size_t vl = 0;
    if (i < n && t[i] == '=') {
      i++;
      while (i < n && isspace((unsigned char)t[i])) i++;
      if (i < n && (t[i] == '"' || t[i] == '\'')) {
        char q = t[i++];
        val = t + i;
        while (i < n && t[i] != q) i++;
        vl = (size_t)(t + i - val);
        if (i < n) i++;
      } else {
        val = t + i;
        while (i < n && !isspace((unsigned char)t[i])) i++;
        vl = (size_t)(t + i - val);
      }
    }
    if (an == k && !strncasecmp(t + a0, name, k) && vl) {
      while (vl && isspace((unsigned char)*val)) val++, vl--;
      *v = val;
      *vn = vl;
      return true;
    }
    if (!an && i < n) i++;
  }
  return false;
}

/* A URL worth a scan: a web or mail address, not an anchor within the mail ("#top") or
 * an inline image ("cid:", "data:"). */
static bool outside_url(const char *v, size_t n) {
  return starts_ci(v, n, "http:") || starts_ci(v, n, "https:") || starts_ci(v, n, "//") ||
         starts_ci(v, n, "www.") || starts_ci(v, n, "ftp:") || starts_ci(v, n, "mailto:") ||
         starts_ci(v, n, "tel:") || starts_ci(v, n, "sms:") || starts_ci(v, n, "whatsapp:") ||
         starts_ci(v, n, "skype:");
}

/* Puts an attribute's URL into the text, entities decoded, "mailto:"/"tel:" dropped, so that
 * what the reader would reach by a click is what the content policy reads. */
static void put_url(buf *b, const char *v, size_t n) {
  if (starts_ci(v, n, "mailto:")) v += 7, n -= 7;
  else if (starts_ci(v, n, "tel:")) v += 4, n -= 4;
  for (size_t i = 0; i < n;) {
    if (v[i] == '&') i += entity(v, i, n, b);
    else if (v[i] == '\r' || v[i] == '\n' || v[i] == '\t') i++;
    else putc_(b, v[i++]);
  }
}

char *mail_html_to_text(const char *h, size_t len, pl_arena *a) {
  buf b = {0};
  bool space = false;
  const char *href = NULL; /* the open anchor's URL, and where its text began */
  size_t hrefn = 0, href_at = 0;
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
        i = k + (size_t)m <= len ? k : len; /* unclosed: the rest is inside it */
        continue;
      }
      /* Quoted history: everything from here on is what the other party already has. */
      if (!close && (tag_is(name, nn, "blockquote") || has_ci_n(name, nn, "gmail_quote") ||
                     has_ci_n(name, nn, "moz-cite-prefix") || has_ci_n(name, nn, "divRplyFwdMsg") ||
                     has_ci_n(name, nn, "appendonsend") || has_ci_n(name, nn, "yahoo_quoted")))
        break;
      /* Attribute URLs: a link's target after its text unless the text shows it, a remote
       * image as "[image: URL]". */
      const char *v;
      size_t vn;
      if (!close && (tag_is(name, nn, "a") || tag_is(name, nn, "area")) && attr_value(name, nn, "href", &v, &vn) &&
          outside_url(v, vn)) {
        href = v, hrefn = vn, href_at = b.n;
        if (tag_is(name, nn, "area")) {
          put(&b, " <", 2), put_url(&b, v, vn), put(&b, "> ", 2);
          href = NULL;
        }
      } else if (close && tag_is(name, nn, "a") && href) {
        buf u = {0};
        put_url(&u, href, hrefn);
        /* shown when the text holds it, scheme and a final slash aside ("www.example.com") */
        size_t skip = starts_ci(u.p, u.n, "https://") ? 8 : starts_ci(u.p, u.n, "http://") ? 7 : 0;
        size_t un = u.n - skip;
        if (un > 1 && u.p[u.n - 1] == '/') un--;
        bool shown = un && b.n >= href_at && b.p && memmem(b.p + href_at, b.n - href_at, u.p + skip, un);
        if (!shown && u.n) put(&b, " <", 2), put(&b, u.p, u.n), putc_(&b, '>');
        free(u.p);
        href = NULL;
      }
      if (!close && ((attr_value(name, nn, "src", &v, &vn) && outside_url(v, vn)) ||
                     (attr_value(name, nn, "background", &v, &vn) && outside_url(v, vn)))) {
        if (b.n && b.p[b.n - 1] != '\n' && b.p[b.n - 1] != ' ') putc_(&b, ' ');
        put(&b, "[image: ", 8), put_url(&b, v, vn), put(&b, "] ", 2);
      }
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
  bool report, dsn;
  pl_arena *a;
  mail_file *files;
  size_t nfiles, skipped;
  const char *malformed; /* the first structural problem found, or NULL */
  mail_dsn_rcpt dsn_rcpts[MAIL_MAX_DSN_RCPTS];
  size_t ndsn;
} walk_state;

/* Parts that are about the mail rather than files its sender chose: signatures of a
 * signed mail and Outlook's TNEF wrapper. */
static bool not_a_file(GMimeContentType *ct) {
  return ct && (g_mime_content_type_is_type(ct, "application", "pgp-signature") ||
                g_mime_content_type_is_type(ct, "application", "pkcs7-signature") ||
                g_mime_content_type_is_type(ct, "application", "x-pkcs7-signature") ||
                g_mime_content_type_is_type(ct, "application", "ms-tnef"));
}

/* A part's decoded content (transfer encoding undone), as a GLib byte array the caller
 * unrefs through the stream: *ms must be g_object_unref'd. */
static GByteArray *part_bytes(GMimePart *p, GMimeStream **ms) {
  GMimeDataWrapper *dw = g_mime_part_get_content(p);
  *ms = g_mime_stream_mem_new();
  if (dw) g_mime_data_wrapper_write_to_stream(dw, *ms);
  return g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(*ms));
}

/* Decodes a part's content into the arena. */
static void take_file(walk_state *w, GMimePart *p) {
  if (w->nfiles >= MAIL_MAX_FILES) {
    w->skipped++;
    return;
  }
  GMimeStream *ms;
  GByteArray *ba = part_bytes(p, &ms);
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
  if (depth > 32) {
    if (!w->malformed) w->malformed = "multipart parts are nested more than 32 deep";
    return;
  }
  if (GMIME_IS_MULTIPART(o)) {
    GMimeContentType *ct = g_mime_object_get_content_type(o);
    const char *sub = ct && g_mime_content_type_get_media_subtype(ct) ? g_mime_content_type_get_media_subtype(ct) : "mixed";
    if (!g_mime_object_get_content_type_parameter(o, "boundary")) {
      if (!w->malformed)
        w->malformed = pl_arena_printf(w->a, "a multipart/%.40s part has no boundary parameter", sub);
      return;
    }
    GMimeMultipart *mp = GMIME_MULTIPART(o);
    int n = g_mime_multipart_get_count(mp);
    if (n == 0) {
      if (!w->malformed)
        w->malformed = pl_arena_printf(w->a, "a multipart/%.40s part has no parts (its boundary never appears)", sub);
      return;
    }
    if (ct && g_mime_content_type_is_type(ct, "multipart", "report")) {
      w->report = true;
      const char *rt = g_mime_object_get_content_type_parameter(o, "report-type");
      if (rt && (!strcasecmp(rt, "delivery-status") || !strcasecmp(rt, "global-delivery-status"))) w->dsn = true;
    }
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
  if (w->dsn && ct && w->ndsn == 0 &&
      (g_mime_content_type_is_type(ct, "message", "delivery-status") ||
       g_mime_content_type_is_type(ct, "message", "global-delivery-status"))) {
    GMimeStream *ms;
    GByteArray *ba = part_bytes(p, &ms);
    if (ba) w->ndsn = mail_parse_dsn((const char *)ba->data, ba->len, w->a, w->dsn_rcpts);
    g_object_unref(ms);
    w->attachments++;
    return;
  }
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

/* ---- charsets ------------------------------------------------------------------------ */

char *mail_cp1252_to_utf8(const char *s, size_t len, pl_arena *a) {
  /* 0x80-0x9F of windows-1252; 0 where it defines nothing */
  static const unsigned short hi[32] = {
      0x20AC, 0, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0, 0x017D, 0,
      0, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0, 0x017E, 0x0178};
  buf b = {0};
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c < 0x80) putc_(&b, (char)c);
    else if (c < 0xA0) put_utf8(&b, hi[c - 0x80] ? hi[c - 0x80] : 0xFFFD);
    else put_utf8(&b, c);
  }
  return to_arena(&b, a);
}

/* A text part as UTF-8: its declared charset when that converts its bytes; else UTF-8
 * when the bytes are valid UTF-8 (all ASCII is); else windows-1252, which is what mail
 * clients that name no charset (or "us-ascii" over 8-bit text) write in Western Europe. */
static char *part_text(GMimeTextPart *p, pl_arena *a) {
  GMimeStream *ms;
  GByteArray *ba = part_bytes(GMIME_PART(p), &ms);
  const char *raw = ba && ba->len ? (const char *)ba->data : "";
  size_t n = ba ? ba->len : 0;
  const char *cs = g_mime_object_get_content_type_parameter(GMIME_OBJECT(p), "charset");
  char *r = NULL;
  if (cs && (!strcasecmp(cs, "iso-8859-1") || !strcasecmp(cs, "latin1") || !strcasecmp(cs, "windows-1252") ||
             !strcasecmp(cs, "cp1252") || !strcasecmp(cs, "iso_8859-1"))) {
    r = mail_cp1252_to_utf8(raw, n, a); /* as browsers read them (WHATWG) */
  } else if (cs && strcasecmp(cs, "us-ascii") && strcasecmp(cs, "ascii") && strcasecmp(cs, "utf-8") &&
             strcasecmp(cs, "utf8")) {
    gsize got = 0;
    const char *icharset = g_mime_charset_iconv_name(cs);
    char *u = g_convert(raw, (gssize)n, "UTF-8", icharset ? icharset : cs, NULL, &got, NULL);
    if (u && g_utf8_validate(u, (gssize)got, NULL)) r = pl_arena_strndup(a, u, got);
    g_free(u);
  }
  if (!r) {
    if (g_utf8_validate(raw, (gssize)n, NULL)) r = pl_arena_strndup(a, raw, n);
    else if (cs && (!strcasecmp(cs, "utf-8") || !strcasecmp(cs, "utf8"))) {
      char *v = g_utf8_make_valid(raw, (gssize)n); /* declared UTF-8 with a stray byte */
      r = pl_arena_strdup(a, v);
      g_free(v);
    } else {
      r = mail_cp1252_to_utf8(raw, n, a);
    }
  }
  g_object_unref(ms);
  /* NUL bytes would cut the text short downstream. */
  return r;
}

/* ---- automatic mail and delivery reports ----------------------------------------------- */

const char *mail_auto_marker(const char *(*get)(const char *name, void *ctx), void *ctx) {
  const char *v = get("Auto-Submitted", ctx);
  if (v) {
    while (*v == ' ' || *v == '\t') v++;
    if (strncasecmp(v, "no", 2) || (v[2] && v[2] != ' ' && v[2] != ';' && v[2] != '\t' && v[2] != '('))
      return "Auto-Submitted";
  }
  if (get("X-Autoreply", ctx)) return "X-Autoreply";
  if (get("X-Autorespond", ctx)) return "X-Autorespond";
  if ((v = get("Precedence", ctx))) {
    while (*v == ' ' || *v == '\t') v++;
    static const char *const bulk[] = {"bulk", "junk", "list", "auto_reply"};
    for (size_t i = 0; i < sizeof bulk / sizeof bulk[0]; i++) {
      size_t k = strlen(bulk[i]);
      if (!strncasecmp(v, bulk[i], k) && (!v[k] || v[k] == ' ' || v[k] == '\t' || v[k] == ';')) return "Precedence";
    }
  }
  if (get("X-Auto-Response-Suppress", ctx)) return "X-Auto-Response-Suppress";
  if (get("List-Id", ctx)) return "List-Id";
  return NULL;
}

static const char *gmime_header(const char *name, void *ctx) {
  return g_mime_object_get_header((GMimeObject *)ctx, name);
}

/* A field's value trimmed, at most 500 bytes, control characters as spaces. */
static char *field_value(const char *v, size_t n, pl_arena *a) {
  while (n && isspace((unsigned char)*v)) v++, n--;
  while (n && isspace((unsigned char)v[n - 1])) n--;
  if (n > 500) n = 500;
  char *r = pl_arena_strndup(a, v, n);
  for (char *p = r; *p; p++)
    if ((unsigned char)*p < 0x20 || *p == 0x7f) *p = ' ';
  return r;
}

/* "rfc822; jane@example.com" -> "jane@example.com" (angle brackets dropped too). */
static char *address_of(const char *v, pl_arena *a) {
  const char *semi = strchr(v, ';');
  const char *p = semi ? semi + 1 : v;
  while (*p == ' ' || *p == '<') p++;
  size_t n = strlen(p);
  while (n && (p[n - 1] == ' ' || p[n - 1] == '>')) n--;
  return n ? pl_arena_strndup(a, p, n) : NULL;
}

size_t mail_parse_dsn(const char *body, size_t len, pl_arena *a, mail_dsn_rcpt *out) {
  size_t n = 0;
  if (!body || !len) return 0;
  mail_dsn_rcpt cur = {0};
  bool in_block = false;
  /* Blocks of fields end at blank lines: the first is about the message, each other one
   * about a recipient (one with Final-Recipient or Action). Unfolded lines: a line that starts with a space continues the previous one. */
  for (size_t i = 0; i <= len;) {
    size_t j = i;
    while (j < len && body[j] != '\n') j++;
    size_t ln = j - i;
    if (ln && body[i + ln - 1] == '\r') ln--;
    /* extend over continuation lines */
    size_t end = j;
    buf f = {0};
    put(&f, body + i, ln);
    while (end < len && end + 1 < len && (body[end + 1] == ' ' || body[end + 1] == '\t')) {
      size_t k = end + 1, e2 = k;
      while (k < len && (body[k] == ' ' || body[k] == '\t')) k++; /* folding white space as one space */
      e2 = k;
      while (e2 < len && body[e2] != '\n') e2++;
      size_t cl = e2 - k;
      if (cl && body[k + cl - 1] == '\r') cl--;
      put(&f, " ", 1);
      put(&f, body + k, cl);
      end = e2;
    }
    bool blank = true;
    for (size_t k = 0; k < f.n && blank; k++) blank = isspace((unsigned char)f.p[k]);
    if (blank) {
      /* a block ends: the first is about the message, the others one recipient each */
      if (in_block && (cur.final_recipient || cur.action) && n < MAIL_MAX_DSN_RCPTS) out[n++] = cur;
      memset(&cur, 0, sizeof cur);
      in_block = false;
    } else {
      in_block = true;
      char *colon = f.p ? memchr(f.p, ':', f.n) : NULL;
      if (colon) {
        size_t nn = (size_t)(colon - f.p);
        const char *v = colon + 1;
        size_t vn = f.n - nn - 1;
        if (nn == 15 && !strncasecmp(f.p, "Final-Recipient", nn)) cur.final_recipient = address_of(field_value(v, vn, a), a);
        else if (nn == 18 && !strncasecmp(f.p, "Original-Recipient", nn)) cur.original_recipient = address_of(field_value(v, vn, a), a);
        else if (nn == 6 && !strncasecmp(f.p, "Action", nn)) cur.action = field_value(v, vn, a);
        else if (nn == 6 && !strncasecmp(f.p, "Status", nn)) cur.status = field_value(v, vn, a);
        else if (nn == 15 && !strncasecmp(f.p, "Diagnostic-Code", nn)) cur.diagnostic = field_value(v, vn, a);
      }
    }
    free(f.p);
    if (end >= len) {
      if (in_block && (cur.final_recipient || cur.action) && n < MAIL_MAX_DSN_RCPTS) out[n++] = cur;
      break;
    }
    i = end + 1;
  }
  return n;
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
  walk_state w = {.a = a};
  GMimeObject *body = g_mime_message_get_mime_part(m);
  if (body) walk(body, &w, 0);
  if (w.malformed) {
    g_object_unref(m);
    return pl_fail(d, PL_EINVAL, "the mail's MIME structure is malformed: %s", w.malformed);
  }
  out->attachments = w.attachments;
  out->files = w.files;
  out->nfiles = w.nfiles;
  out->files_skipped = w.skipped;
  /* A report first: a DSN is automatic whatever its headers say, and it is the one kind
   * of automatic mail that may fail a message. */
  if (w.dsn) {
    out->kind = MAIL_DSN;
    out->auto_marker = "multipart/report";
    if (w.ndsn) {
      out->dsn = pl_arena_alloc(a, w.ndsn * sizeof *out->dsn);
      memcpy(out->dsn, w.dsn_rcpts, w.ndsn * sizeof *out->dsn);
      out->ndsn = w.ndsn;
    }
  } else if (w.report) {
    out->kind = MAIL_REPORT;
    out->auto_marker = "multipart/report";
  } else if ((out->auto_marker = mail_auto_marker(gmime_header, mo))) {
    out->kind = MAIL_AUTO_REPLY;
  }
  out->automatic = out->kind != MAIL_PERSONAL;
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
