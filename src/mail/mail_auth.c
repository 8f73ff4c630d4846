/* mail_auth.c - Authentication-Results (RFC 8601), the From: address and DMARC-style
 * alignment (RFC 7489 3.1, relaxed): whether a mail's From: domain passed, as the
 * deployment's verifier recorded it. Nothing here trusts a header by itself: the caller
 * names the one authserv-id whose results count. */
#include <ctype.h>
#include <libpsl.h>
#include <string.h>
#include <strings.h>

#include "mail/mail_auth.h"

#define MAX_COMMENT_DEPTH 32
#define MAX_HEADERS 64           /* values of one header name taken from a message */
#define MAX_HEADER_LEN 16384     /* octets of one unfolded value; longer ones are skipped */
#define MAX_ADDR 254

typedef struct {
  const char *p, *end;
} cur;

static bool wsp(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

/* Skips folding white space and comments, nested and with quoted pairs (RFC 5322 3.2.2).
 * false for a comment that is not closed or nests too deep. */
static bool skip_cfws(cur *c) {
  for (;;) {
    while (c->p < c->end && wsp(*c->p)) c->p++;
    if (c->p >= c->end || *c->p != '(') return true;
    int depth = 0;
    while (c->p < c->end) {
      char ch = *c->p++;
      if (ch == '\\') {
        if (c->p >= c->end) return false;
        c->p++;
      } else if (ch == '(') {
        if (++depth > MAX_COMMENT_DEPTH) return false;
      } else if (ch == ')') {
        if (--depth == 0) break;
      }
    }
    if (depth) return false;
  }
}

static bool kw_char(char c) { return isalnum((unsigned char)c) || c == '-' || c == '_'; }

/* A keyword (RFC 8601's Keyword, an ldh-str), lower-cased; NULL when none is here. */
static char *read_kw(cur *c, pl_arena *a) {
  const char *s = c->p;
  while (c->p < c->end && kw_char(*c->p)) c->p++;
  if (c->p == s || c->p - s > 64) return NULL;
  char *r = pl_arena_strndup(a, s, (size_t)(c->p - s));
  for (char *q = r; *q; q++) *q = (char)tolower((unsigned char)*q);
  return r;
}

/* A quoted string (RFC 5322 3.2.4) at c->p, unquoted; NULL when not closed. */
static char *read_quoted(cur *c, pl_arena *a) {
  if (c->p >= c->end || *c->p != '"') return NULL;
  c->p++;
  /* Sized to this string, not to the rest of the header: many short strings stay small. */
  const char *q = c->p;
  while (q < c->end && *q != '"') q += *q == '\\' && q + 1 < c->end ? 2 : 1;
  size_t n = 0;
  char *r = pl_arena_alloc(a, (size_t)(q - c->p) + 1);
  while (c->p < c->end) {
    char ch = *c->p++;
    if (ch == '"') {
      r[n] = '\0';
      return r;
    }
    if (ch == '\\') {
      if (c->p >= c->end) return NULL;
      ch = *c->p++;
    }
    if (ch == '\r' || ch == '\n') continue; /* folding inside the string */
    r[n++] = ch;
  }
  return NULL;
}

static bool tspecial(char c) { return c && strchr("()<>@,;:\\\"/[]?=", c) != NULL; }

/* A value: an RFC 2045 token or a quoted string. */
static char *read_value(cur *c, pl_arena *a) {
  if (c->p < c->end && *c->p == '"') return read_quoted(c, a);
  const char *s = c->p;
  while (c->p < c->end && (unsigned char)*c->p > 0x20 && (unsigned char)*c->p < 0x7f && !tspecial(*c->p)) c->p++;
  return c->p == s ? NULL : pl_arena_strndup(a, s, (size_t)(c->p - s));
}

/* A property's value: a value, or [[local-part] "@"] domain-name. */
static char *read_pvalue(cur *c, pl_arena *a) {
  char *local = NULL;
  if (c->p < c->end && *c->p == '"') {
    if (!(local = read_quoted(c, a))) return NULL;
    if (c->p >= c->end || *c->p != '@') return local;
  }
  const char *s = c->p;
  while (c->p < c->end && (unsigned char)*c->p > 0x20 && (unsigned char)*c->p < 0x7f && *c->p != ';' &&
         *c->p != '(' && *c->p != ')' && *c->p != '"' && *c->p != '\\')
    c->p++;
  if (c->p == s && !local) return NULL;
  char *rest = pl_arena_strndup(a, s, (size_t)(c->p - s));
  return local ? pl_arena_printf(a, "\"%s\"%s", local, rest) : rest;
}

pl_err mail_ar_parse(const char *value, size_t len, pl_arena *a, mail_ar *out) {
  memset(out, 0, sizeof *out);
  if (!value || len > MAIL_AR_MAX_LEN) return PL_EINVAL;
  cur c = {value, value + len};
  if (!skip_cfws(&c)) return PL_EINVAL;
  if (!(out->authserv_id = read_value(&c, a))) return PL_EINVAL;
  if (!skip_cfws(&c)) return PL_EINVAL;
  /* An optional version: digits before the first ";" (RFC 8601 2.2). */
  if (c.p < c.end && isdigit((unsigned char)*c.p)) {
    while (c.p < c.end && isdigit((unsigned char)*c.p)) c.p++;
    if (!skip_cfws(&c)) return PL_EINVAL;
  }
  bool any = false;
  for (;;) {
    if (!skip_cfws(&c)) return PL_EINVAL;
    if (c.p >= c.end) break;
    if (*c.p != ';') return PL_EINVAL;
    c.p++;
    if (!skip_cfws(&c)) return PL_EINVAL;
    char *method = read_kw(&c, a);
    if (!method) return PL_EINVAL;
    if (!skip_cfws(&c)) return PL_EINVAL;
    if (!any && !strcmp(method, "none") && c.p >= c.end) return PL_OK; /* no-result */
    any = true;
    if (c.p < c.end && *c.p == '/') { /* method-version */
      c.p++;
      if (!skip_cfws(&c)) return PL_EINVAL;
      const char *s = c.p;
      while (c.p < c.end && isdigit((unsigned char)*c.p)) c.p++;
      if (c.p == s || !skip_cfws(&c)) return PL_EINVAL;
    }
    if (c.p >= c.end || *c.p != '=') return PL_EINVAL;
    c.p++;
    if (!skip_cfws(&c)) return PL_EINVAL;
    char *result = read_kw(&c, a);
    if (!result) return PL_EINVAL;
    mail_ar_result r = {.method = method, .result = result};
    for (;;) {
      if (!skip_cfws(&c)) return PL_EINVAL;
      if (c.p >= c.end || *c.p == ';') break;
      char *ptype = read_kw(&c, a);
      if (!ptype || !skip_cfws(&c) || c.p >= c.end) return PL_EINVAL;
      if (*c.p == '=' && !strcmp(ptype, "reason")) {
        c.p++;
        if (!skip_cfws(&c) || !read_value(&c, a)) return PL_EINVAL;
        continue;
      }
      if (*c.p != '.') return PL_EINVAL;
      c.p++;
      if (!skip_cfws(&c)) return PL_EINVAL;
      char *prop = read_kw(&c, a);
      if (!prop || !skip_cfws(&c) || c.p >= c.end || *c.p != '=') return PL_EINVAL;
      c.p++;
      if (!skip_cfws(&c)) return PL_EINVAL;
      char *v = read_pvalue(&c, a);
      if (!v) return PL_EINVAL;
      /* The first of each counts: a verifier writes one. */
      if (!strcmp(ptype, "header") && !strcmp(prop, "d") && !r.header_d) r.header_d = v;
      else if (!strcmp(ptype, "header") && !strcmp(prop, "from") && !r.header_from) r.header_from = v;
      else if (!strcmp(ptype, "smtp") && !strcmp(prop, "mailfrom") && !r.smtp_mailfrom) r.smtp_mailfrom = v;
    }
    if (out->n < MAIL_AR_MAX_RESULTS) out->results[out->n++] = r;
  }
  return any ? PL_OK : PL_EINVAL;
}

/* ---- header fields ------------------------------------------------------------------------ */

size_t mail_header_values(const char *data, size_t len, const char *name, pl_arena *a, char ***out) {
  size_t nl = strlen(name), n = 0;
  char **vals = pl_arena_alloc(a, MAX_HEADERS * sizeof *vals);
  const char *p = data, *end = data + len;
  while (p < end && n < MAX_HEADERS) {
    const char *eol = memchr(p, '\n', (size_t)(end - p));
    const char *le = eol ? eol : end;
    size_t ll = (size_t)(le - p);
    if (ll && p[ll - 1] == '\r') ll--;
    if (ll == 0) break; /* the end of the header section */
    /* The field: this line and the continuation lines after it. */
    const char *fe = eol ? eol + 1 : end;
    while (fe < end && (*fe == ' ' || *fe == '\t')) {
      const char *e2 = memchr(fe, '\n', (size_t)(end - fe));
      fe = e2 ? e2 + 1 : end;
    }
    const char *q = p;
    if ((size_t)(fe - p) > nl && !strncasecmp(p, name, nl)) {
      q = p + nl;
      while (q < fe && (*q == ' ' || *q == '\t')) q++; /* obsolete WSP before the colon */
      if (q < fe && *q == ':' && (size_t)(fe - q) <= MAX_HEADER_LEN) {
        q++;
        char *v = pl_arena_alloc(a, (size_t)(fe - q) + 1);
        size_t k = 0;
        for (; q < fe; q++)
          if (*q != '\r' && *q != '\n') v[k++] = *q;
        size_t s = 0;
        while (s < k && (v[s] == ' ' || v[s] == '\t')) s++;
        while (k > s && (v[k - 1] == ' ' || v[k - 1] == '\t')) k--;
        v[k] = '\0';
        vals[n++] = v + s;
      }
    }
    p = fe;
  }
  *out = vals;
  return n;
}

/* ---- the From: address -------------------------------------------------------------------- */

static bool valid_domain(const char *d) {
  size_t n = strlen(d);
  if (!n || n > 253 || d[0] == '.' || d[0] == '-' || d[n - 1] == '.' || strstr(d, "..")) return false;
  for (const char *p = d; *p; p++)
    if (!isalnum((unsigned char)*p) && *p != '-' && *p != '.') return false;
  return strchr(d, '.') != NULL;
}

pl_err mail_from_address(const char *value, pl_arena *a, char **addr) {
  *addr = NULL;
  if (!value) return PL_EINVAL;
  size_t len = strlen(value);
  if (len > MAX_HEADER_LEN) return PL_EINVAL;
  /* The value without comments, each replaced by a space; quoted strings kept. */
  char *v = pl_arena_alloc(a, len + 1);
  size_t k = 0;
  const char *angle = NULL, *angle_end = NULL;
  int angles = 0;
  bool at_outside = false;
  for (const char *p = value; *p;) {
    if (*p == '"') {
      const char *s = p++;
      while (*p && *p != '"') {
        if (*p == '\\' && p[1]) p++;
        p++;
      }
      if (!*p) return PL_EINVAL;
      p++;
      memcpy(v + k, s, (size_t)(p - s));
      k += (size_t)(p - s);
    } else if (*p == '(') {
      cur c = {p, value + len};
      if (!skip_cfws(&c)) return PL_EINVAL;
      p = c.p;
      v[k++] = ' ';
    } else {
      char ch = *p++;
      if (ch == '<') {
        if (angle && !angle_end) return PL_EINVAL;
        angle = v + k + 1;
        angles++;
      } else if (ch == '>') {
        if (!angle || angle_end) return PL_EINVAL;
        angle_end = v + k;
      } else if (!angle || angle_end) {
        /* Outside the angle brackets: several addresses or a group are not one sender. */
        if (ch == ',' || ch == ':' || ch == ';' || (ch == '@' && angle)) return PL_EINVAL;
        if (ch == '@') at_outside = true; /* a bare addr-spec, or a display name with "@" */
      }
      v[k++] = ch;
    }
  }
  v[k] = '\0';
  /* "jane@x <evil@y>" reads differently to different programs: no sender. */
  if (angles > 1 || (angle && !angle_end) || (angle && at_outside)) return PL_EINVAL;
  char *spec;
  if (angle) {
    for (const char *q = angle_end + 1; *q; q++)
      if (!wsp(*q)) return PL_EINVAL; /* text after the address */
    spec = pl_arena_strndup(a, angle, (size_t)(angle_end - angle));
  } else {
    spec = v;
  }
  /* Trim, and refuse anything with white space, control characters or 8-bit inside. */
  while (*spec && wsp(*spec)) spec++;
  size_t n = strlen(spec);
  while (n && wsp(spec[n - 1])) n--;
  spec[n] = '\0';
  if (!n || n > MAX_ADDR) return PL_EINVAL;
  bool quoted = false;
  for (size_t i = 0; i < n; i++) {
    unsigned char ch = (unsigned char)spec[i];
    if (ch == '"') quoted = !quoted;
    if (ch < 0x21 || ch > 0x7e) {
      if (!(quoted && ch == ' ')) return PL_EINVAL;
    }
    if (!quoted && (ch == ',' || ch == '<' || ch == '>' || ch == '(' || ch == ')' || ch == ';' || ch == ':'))
      return PL_EINVAL;
  }
  char *at = strrchr(spec, '@');
  if (!at || at == spec || !valid_domain(at + 1)) return PL_EINVAL;
  if (memchr(spec, '@', (size_t)(at - spec)) && spec[0] != '"') return PL_EINVAL;
  for (char *q = spec; *q; q++) *q = (char)tolower((unsigned char)*q);
  *addr = spec;
  return PL_OK;
}

/* ---- alignment and the verdict ------------------------------------------------------------ */

static const char *domain_part(const char *s) {
  const char *at = s ? strrchr(s, '@') : NULL;
  return at ? at + 1 : s;
}

bool mail_domains_aligned(const char *x, const char *y) {
  if (!x || !y || !*x || !*y) return false;
  if (!strcasecmp(x, y)) return true;
  char lx[256], ly[256];
  size_t nx = strlen(x), ny = strlen(y);
  if (nx >= sizeof lx || ny >= sizeof ly) return false;
  for (size_t i = 0; i <= nx; i++) lx[i] = (char)tolower((unsigned char)x[i]);
  for (size_t i = 0; i <= ny; i++) ly[i] = (char)tolower((unsigned char)y[i]);
  const psl_ctx_t *psl = psl_builtin();
  if (!psl) return false;
  const char *ox = psl_registrable_domain(psl, lx), *oy = psl_registrable_domain(psl, ly);
  return ox && oy && !strcmp(ox, oy);
}

void mail_auth_check(const char *data, size_t len, const char *authserv_id, pl_arena *a,
                     mail_auth_verdict *out) {
  memset(out, 0, sizeof *out);
  char **froms;
  size_t nf = mail_header_values(data, len, "From", a, &froms);
  if (nf != 1) {
    out->why = nf ? "several From: headers" : "no From: header";
    return;
  }
  if (mail_from_address(froms[0], a, &out->from)) {
    out->why = "the From: header is not one address";
    return;
  }
  if (!authserv_id || !*authserv_id) {
    out->why = "no authserv-id is configured";
    return;
  }
  const char *dom = domain_part(out->from);
  char **ars;
  size_t na = mail_header_values(data, len, "Authentication-Results", a, &ars);
  bool pass = false, blocked = false, ours = false;
  size_t idl = strlen(authserv_id);
  for (size_t i = 0; i < na; i++) {
    mail_ar ar;
    /* Only the verifier's own form counts: the id itself, first, with no comment or
     * quotes before it. A header the MTA's rule would not recognise as the verifier's
     * ("(x) id;", "\"id\";") is a sender's forgery that slipped past it. */
    const char *v = ars[i];
    bool plain = !strncasecmp(v, authserv_id, idl) && (v[idl] == ';' || v[idl] == ' ' || v[idl] == '\t');
    if (!plain || mail_ar_parse(v, strlen(v), a, &ar) || strcasecmp(ar.authserv_id, authserv_id)) continue;
    ours = true;
    for (size_t j = 0; j < ar.n; j++) {
      const mail_ar_result *r = &ar.results[j];
      bool ok = !strcmp(r->result, "pass");
      if (!strcmp(r->method, "dmarc")) {
        bool names = !r->header_from || !strcasecmp(domain_part(r->header_from), dom);
        if (ok && r->header_from && names) pass = true;
        else if (!strcmp(r->result, "fail") && names) blocked = true;
      } else if (!strcmp(r->method, "dkim")) {
        if (ok && mail_domains_aligned(r->header_d, dom)) pass = true;
      } else if (!strcmp(r->method, "spf")) {
        if (ok && mail_domains_aligned(domain_part(r->smtp_mailfrom), dom)) pass = true;
      }
    }
  }
  out->authenticated = pass && !blocked;
  if (!out->authenticated)
    out->why = blocked ? "DMARC failed for the From: domain"
               : ours  ? "no aligned DKIM or SPF pass for the From: domain"
                       : "no Authentication-Results of this deployment's verifier";
}
