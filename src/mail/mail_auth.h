/* mail_auth.h - who a mail is from, as the deployment's verifier saw it (docs/postfix.md,
 * "Who speaks for a party").
 *
 * parley verifies no signature itself: a DKIM/SPF/DMARC verifier in front of it (OpenDKIM
 * and OpenDMARC milters in Postfix, or rspamd) records its results in an
 * Authentication-Results header (RFC 8601) under its authserv-id. This module reads those
 * headers, keeps only the ones of the configured authserv-id, and decides whether the
 * From: domain passed DMARC-style: an aligned DKIM or SPF pass (relaxed alignment by
 * organizational domain, RFC 7489 3.1), and no DMARC failure. Pure functions: no I/O. */
#ifndef PL_MAIL_AUTH_H
#define PL_MAIL_AUTH_H

#include <stdbool.h>
#include <stddef.h>

#include "util/pl_err.h"
#include "util/pl_mem.h"

#define MAIL_AR_MAX_RESULTS 32 /* results kept from one header; more are ignored */
#define MAIL_AR_MAX_LEN 8192   /* octets of one header value that are read */

/* One resinfo of an Authentication-Results header: "dkim=pass header.d=example.com". */
typedef struct {
  char *method;        /* lower case: "dkim", "spf", "dmarc", ... */
  char *result;        /* lower case: "pass", "fail", "none", ... */
  char *header_d;      /* header.d (DKIM's signing domain), or NULL */
  char *header_from;   /* header.from (DMARC's From: domain), or NULL */
  char *smtp_mailfrom; /* smtp.mailfrom (SPF's envelope sender or domain), or NULL */
} mail_ar_result;

typedef struct {
  char *authserv_id; /* as written (compare case-insensitively) */
  mail_ar_result results[MAIL_AR_MAX_RESULTS];
  size_t n;
} mail_ar;

/* Parses one Authentication-Results header value (after "Authentication-Results:",
 * unfolded or not): comments, quoted strings, a version, "none", several results,
 * reasons and properties. PL_EINVAL when it does not follow RFC 8601; the parser never
 * reads past len and bounds what it keeps. */
pl_err mail_ar_parse(const char *value, size_t len, pl_arena *a, mail_ar *out);

/* The unfolded values of every header field called name in a message's header section
 * (data up to the first empty line), in order; *n of them. */
size_t mail_header_values(const char *data, size_t len, const char *name, pl_arena *a, char ***out);

/* The one address of a From: header value ("Jane <jane@example.com>", comments and
 * quoted display names allowed), lower-cased domain. PL_EINVAL for none, several, a
 * group, or something that is not an address. */
pl_err mail_from_address(const char *value, pl_arena *a, char **addr);

/* Whether two domains are aligned in DMARC's relaxed mode: the same organizational
 * domain (the public suffix list, libpsl), case-insensitive. */
bool mail_domains_aligned(const char *a, const char *b);

typedef struct {
  bool authenticated; /* the From: domain passed, aligned */
  char *from;         /* the From: address (NULL when there is not exactly one) */
  const char *why;    /* why not, for the log (never shown to the sender) */
} mail_auth_verdict;

/* Reads a message's header section: its single From: address and the results of every
 * Authentication-Results header whose authserv-id is authserv_id (others are ignored, as
 * anybody may write them). Authenticated when some dmarc=pass names the From: domain or a
 * dkim=pass (header.d) or spf=pass (smtp.mailfrom) is aligned with it, and no dmarc=fail
 * names it (a failed DMARC check outweighs the rest). */
void mail_auth_check(const char *data, size_t len, const char *authserv_id, pl_arena *a,
                     mail_auth_verdict *out);

#endif
