/* lmtp.c - a small, strict parser of LMTP and SMTP command lines (RFC 5321, RFC 2033). */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "mail/mail.h"

static const struct {
  const char *name;
  lmtp_verb verb;
} verbs[] = {{"LHLO", LMTP_LHLO}, {"EHLO", LMTP_EHLO}, {"HELO", LMTP_HELO}, {"MAIL", LMTP_MAIL},
             {"RCPT", LMTP_RCPT}, {"DATA", LMTP_DATA}, {"RSET", LMTP_RSET}, {"NOOP", LMTP_NOOP},
             {"QUIT", LMTP_QUIT}, {"VRFY", LMTP_VRFY}, {"HELP", LMTP_HELP}};

static int fail(const char **why, int code, const char *reason) {
  *why = reason;
  return code;
}

/* Parses "<path>" at *p (with one optional space before it, which many clients send):
 * the address without brackets or an at-domain source route into out. */
static int parse_path(const char **pp, const char *end, char *out, const char **why) {
  const char *p = *pp;
  if (p < end && *p == ' ') p++;
  if (p >= end || *p != '<') return fail(why, 501, "5.5.4 the address must be in angle brackets");
  p++;
  /* A source route (@a,@b:) is obsolete; its hosts are ignored as RFC 5321 C says. */
  if (p < end && *p == '@') {
    while (p < end && *p != ':' && *p != '>') p++;
    if (p >= end || *p != ':') return fail(why, 501, "5.1.3 bad source route");
    p++;
  }
  size_t n = 0;
  bool quoted = false;
  for (; p < end; p++) {
    unsigned char c = (unsigned char)*p;
    if (!quoted && c == '>') break;
    if (c == '"') quoted = !quoted;
    else if (c == '\\' && quoted) {
      if (p + 1 >= end) return fail(why, 501, "5.1.3 bad address");
      if (n + 1 >= LMTP_MAX_PATH) return fail(why, 501, "5.1.3 the address is too long");
      out[n++] = (char)c;
      c = (unsigned char)*++p;
    } else if (c == ' ' && !quoted) {
      return fail(why, 501, "5.1.3 spaces are not allowed in an address");
    }
    if (c < 0x20 || c > 0x7e) return fail(why, 501, "5.1.3 only printable ASCII in an address");
    if (n + 1 >= LMTP_MAX_PATH) return fail(why, 501, "5.1.3 the address is too long");
    out[n++] = (char)c;
  }
  if (p >= end || quoted) return fail(why, 501, "5.5.4 the address is not closed by '>'");
  out[n] = '\0';
  if (n) {
    const char *at = strrchr(out, '@');
    if (!at || at == out || !at[1]) return fail(why, 501, "5.1.3 the address needs a local part and a domain");
    for (const char *q = at + 1; *q; q++)
      if (!isalnum((unsigned char)*q) && *q != '.' && *q != '-' && *q != '[' && *q != ']' && *q != ':')
        return fail(why, 501, "5.1.3 the domain is not valid");
  }
  *pp = p + 1;
  return 0;
}

/* ESMTP parameters after a path: "SIZE=n" and "BODY=..." on MAIL, none on RCPT. */
static int parse_params(const char *p, const char *end, lmtp_cmd *out, const char **why) {
  while (p < end) {
    if (*p != ' ') return fail(why, 501, "5.5.4 parameters are separated by spaces");
    while (p < end && *p == ' ') p++;
    if (p >= end) break;
    const char *k = p;
    while (p < end && *p != ' ') p++;
    size_t n = (size_t)(p - k);
    if (out->verb == LMTP_MAIL && n > 5 && !strncasecmp(k, "SIZE=", 5)) {
      unsigned long long v = 0;
      for (size_t i = 5; i < n; i++) {
        if (!isdigit((unsigned char)k[i]) || i > 24) return fail(why, 501, "5.5.4 SIZE must be a number");
        v = v * 10 + (unsigned)(k[i] - '0');
      }
      out->size = v;
    } else if (out->verb == LMTP_MAIL && n > 5 && !strncasecmp(k, "BODY=", 5)) {
      if (!(n == 9 && !strncasecmp(k + 5, "7BIT", 4)) && !(n == 13 && !strncasecmp(k + 5, "8BITMIME", 8)))
        return fail(why, 501, "5.5.4 BODY is 7BIT or 8BITMIME");
    } else {
      return fail(why, 555, "5.5.4 unsupported parameter");
    }
  }
  return 0;
}

int lmtp_parse(const char *line, size_t len, lmtp_cmd *out, const char **why) {
  memset(out, 0, sizeof *out);
  *why = "";
  if (len > LMTP_MAX_LINE - 2) return fail(why, 500, "5.5.2 line too long");
  for (size_t i = 0; i < len; i++)
    if ((unsigned char)line[i] < 0x20 || (unsigned char)line[i] > 0x7e)
      return fail(why, 500, "5.5.2 only printable ASCII in commands");
  if (len < 4 || (len > 4 && line[4] != ' ')) return fail(why, 500, "5.5.1 unknown command");
  for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
    if (!strncasecmp(line, verbs[i].name, 4)) out->verb = verbs[i].verb;
  if (!out->verb) return fail(why, 500, "5.5.1 unknown command");
  const char *p = line + 4, *end = line + len;
  switch (out->verb) {
  case LMTP_LHLO:
  case LMTP_EHLO:
  case LMTP_HELO: {
    while (p < end && *p == ' ') p++;
    size_t n = (size_t)(end - p);
    while (n && p[n - 1] == ' ') n--;
    if (!n || memchr(p, ' ', n)) return fail(why, 501, "5.5.4 say your name, one word");
    if (n > LMTP_MAX_PATH) return fail(why, 501, "5.5.4 the name is too long");
    memcpy(out->arg, p, n);
    out->arg[n] = '\0';
    return 0;
  }
  case LMTP_MAIL:
  case LMTP_RCPT: {
    const char *kw = out->verb == LMTP_MAIL ? " FROM:" : " TO:";
    size_t kl = strlen(kw);
    if ((size_t)(end - p) < kl || strncasecmp(p, kw, kl)) return fail(why, 501, "5.5.4 syntax: MAIL FROM:<address> or RCPT TO:<address>");
    p += kl;
    int r = parse_path(&p, end, out->arg, why);
    if (r) return r;
    if (out->verb == LMTP_RCPT && !out->arg[0]) {
      /* <Postmaster> without a domain is allowed by RFC 5321; parley has no postmaster. */
      return fail(why, 501, "5.1.3 the recipient may not be empty");
    }
    return parse_params(p, end, out, why);
  }
  case LMTP_VRFY:
    if (p >= end) return fail(why, 501, "5.5.4 VRFY needs an argument");
    return 0;
  case LMTP_NOOP:
  case LMTP_HELP:
    return 0;
  default:
    while (p < end && *p == ' ') p++;
    if (p != end) return fail(why, 501, "5.5.4 this command takes no arguments");
    return 0;
  }
}
