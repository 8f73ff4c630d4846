/* mail.h - the e-mail transport: LMTP/SMTP in, SMTP out through a relay, MIME both ways.
 *
 * This module parses and formats; every decision about who may write to whom and what
 * becomes of a message is the service's (service/svc_mail.h). Strings it returns are
 * allocated from the caller's arena. */
#ifndef PL_MAIL_H
#define PL_MAIL_H

#include <stdbool.h>
#include <stddef.h>

#include "util/pl_err.h"
#include "util/pl_mem.h"
#include "util/pl_time.h"

/* ---- the command parser (lmtp.c): RFC 5321 / RFC 2033, the subset parley speaks ---- */
#define LMTP_MAX_LINE 1000 /* octets of a command or text line, CRLF included (RFC 5321 4.5.3.1.4-6) */
#define LMTP_MAX_PATH 256  /* octets of a path, brackets included (4.5.3.1.3) */

typedef enum {
  LMTP_UNKNOWN = 0, LMTP_LHLO, LMTP_EHLO, LMTP_HELO, LMTP_MAIL, LMTP_RCPT, LMTP_DATA,
  LMTP_RSET, LMTP_NOOP, LMTP_QUIT, LMTP_VRFY, LMTP_HELP
} lmtp_verb;

typedef struct {
  lmtp_verb verb;
  char arg[LMTP_MAX_PATH + 1]; /* MAIL/RCPT: the address without brackets ("" for <>);
                                * LHLO/EHLO/HELO: the client's name */
  unsigned long long size;     /* MAIL's SIZE= parameter; 0 when absent */
} lmtp_cmd;

/* Parses one command line (without its CRLF). Returns 0 and fills out, or the SMTP
 * reply code of the error (500 unknown or too long, 501 bad arguments, 555 unknown
 * parameter) with a static reason in *why. Never reads past len. */
int lmtp_parse(const char *line, size_t len, lmtp_cmd *out, const char **why);

/* ---- MIME (mail_mime.c, GMime) ---------------------------------------------------- */
#define MAIL_MAX_FILES 32 /* files taken from one mail; more are counted, not kept */

/* A file carried by a mail: an attachment, or an inline part that is not the text. */
typedef struct {
  const char *name;         /* the part's file name, or NULL when it has none */
  const char *content_type; /* "image/png" */
  const void *data;         /* the decoded bytes */
  size_t len;
} mail_file;

typedef struct {
  const char *from_name, *from_addr; /* From: */
  const char *to_addr, *reply_to;    /* To:, Reply-To: (reply_to may be NULL) */
  const char *subject;
  const char *message_id;            /* without brackets */
  const char *in_reply_to;           /* without brackets, or NULL */
  const char *references;            /* space-separated ids without brackets, or NULL */
  const char *auto_submitted;        /* Auto-Submitted value ("auto-replied"), or NULL */
  const char *text;                  /* UTF-8 body, text/plain */
  const mail_file *files;            /* attached after the text (multipart/mixed), or NULL */
  size_t nfiles;
  pl_time date;
} mail_out;

/* Formats a message with CRLF line ends: only the headers listed above, MIME-Version
 * and Content-*, so that nothing about the sender's host travels with it. Files go as
 * base64 parts with a Content-Disposition naming them. */
pl_err mail_compose(const mail_out *m, pl_arena *a, char **out, size_t *len, pl_detail *d);

typedef struct {
  char *text;          /* the new text: text/plain preferred, HTML as text, quotes and
                        * signature removed; "" when nothing is left */
  char *message_id, *in_reply_to, *references, *subject; /* raw header values, or NULL */
  bool automatic;      /* Auto-Submitted other than "no", or a delivery report */
  size_t attachments;  /* parts that are not the text (files, forwarded messages) */
  mail_file *files;    /* the files among them, decoded, in the mail's order (at most
                        * MAIL_MAX_FILES; signatures and forwarded messages are not files) */
  size_t nfiles;
  size_t files_skipped; /* files beyond MAIL_MAX_FILES */
} mail_in;

/* Parses a message (RFC 5322, MIME). PL_EINVAL when it is not a message at all. */
pl_err mail_parse(const char *data, size_t len, pl_arena *a, mail_in *out, pl_detail *d);

/* What a reply adds: lines before the quoted history ("On ... wrote:", "> " lines, an
 * Outlook header block) and before the signature ("-- "), trimmed. */
char *mail_strip_reply(const char *text, size_t len, pl_arena *a);
/* Text of an HTML body: tags dropped, block ends as line breaks, entities decoded,
 * quoted blocks (<blockquote>, Gmail's and Outlook's quote containers) left out. */
char *mail_html_to_text(const char *html, size_t len, pl_arena *a);

/* ---- SMTP out (mail_smtp.c, libcurl) ----------------------------------------------- */
/* Sends data to rcpt through the relay (smtp://host:port), saying helo in EHLO, with
 * env_from as the return path ("" for the null sender). *code is the relay's last reply
 * (0 when it could not be reached); PL_EIO on failure with the reason in d. */
pl_err mail_smtp_send(const char *relay, const char *helo, const char *env_from, const char *rcpt,
                      const char *data, size_t len, long *code, pl_detail *d);

/* ---- the LMTP/SMTP listener (mail_server.c) ----------------------------------------- */
struct svc;
typedef struct mail_server mail_server;

typedef struct {
  const char *listen;   /* "127.0.0.1:2424" (port 0 picks one) */
  const char *hostname; /* in the greeting; default "localhost" */
  size_t max_size;      /* bytes of a message; 0 = 10 MiB */
  int max_rcpts;        /* recipients of one LMTP transaction; 0 = 50 */
  int threads;          /* connections served at once; 0 = 16 */
  const char *authserv_id; /* the verifier whose Authentication-Results count (docs/postfix.md) */
  bool trust_envelope;  /* take the envelope sender as who writes (--mail-trust envelope) */
} mail_options;

/* Listens and serves until mail_stop; s stays the caller's and must outlive it. A
 * client that says LHLO speaks LMTP (one reply per recipient after DATA); EHLO or HELO,
 * SMTP with one recipient per transaction. */
pl_err mail_start(struct svc *s, const mail_options *o, mail_server **out, pl_detail *d);
unsigned mail_port(const mail_server *m);
void mail_stop(mail_server *m);

/* The SMTP reply for an error code (the one table of it): code and enhanced status. */
int mail_reply_for(pl_err e, const char **enhanced);

#endif
