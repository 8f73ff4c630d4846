/* mail.h - the e-mail transport: LMTP/SMTP in, SMTP out through a relay, MIME both ways.
 *
 * This module parses, classifies, formats and sends; every decision about who may write
 * to whom and what becomes of a message is the service's (service/svc_mail.h), which
 * knows nothing of this one. Strings it returns are
 * allocated from the caller's arena. */
#ifndef PL_MAIL_H
#define PL_MAIL_H

#include <stdbool.h>
#include <stddef.h>

#include "util/pl_err.h"
#include "util/pl_mem.h"
#include "util/pl_time.h"
#include "service/svc_mail.h" /* the service this transport serves; it knows no transport */

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

/* One recipient of a delivery status notification (RFC 3464), as reported. */
typedef struct {
  char *final_recipient;    /* the address of Final-Recipient, "rfc822;" dropped, or NULL */
  char *original_recipient; /* the address of Original-Recipient, or NULL */
  char *action;             /* "failed", "delayed", "delivered", "relayed", "expanded" */
  char *status;             /* "5.1.1" */
  char *diagnostic;         /* Diagnostic-Code as given ("smtp; 550 5.1.1 ..."), or NULL */
} mail_dsn_rcpt;

#define MAIL_MAX_DSN_RCPTS 50 /* recipients read from one report */

/* What kind of mail it is, from its headers and structure alone. */
typedef enum {
  MAIL_PERSONAL = 0, /* written by a person */
  MAIL_AUTO_REPLY,   /* an automatic reply or bulk mail (RFC 3834 and the de facto markers) */
  MAIL_DSN,          /* a delivery status notification (multipart/report; report-type=delivery-status) */
  MAIL_REPORT,       /* another report (read receipts and the like) */
} mail_kind;

typedef struct {
  char *text;          /* the new text: text/plain preferred, HTML as text (the URLs of
                        * links and remote images kept), quotes and signature removed;
                        * "" when nothing is left */
  char *message_id, *in_reply_to, *references, *subject; /* raw header values, or NULL */
  mail_kind kind;
  const char *auto_marker; /* the header that made it automatic ("X-Autoreply"), or NULL */
  bool automatic;      /* kind != MAIL_PERSONAL */
  mail_dsn_rcpt *dsn;  /* a DSN's recipients (MAIL_DSN only) */
  size_t ndsn;
  size_t attachments;  /* parts that are not the text (files, forwarded messages) */
  mail_file *files;    /* the files among them, decoded, in the mail's order (at most
                        * MAIL_MAX_FILES; signatures and forwarded messages are not files) */
  size_t nfiles;
  size_t files_skipped; /* files beyond MAIL_MAX_FILES */
} mail_in;

/* Parses a message (RFC 5322, MIME). PL_EINVAL when it is not a message at all, or when
 * its MIME structure is broken (a multipart without a boundary or without parts, nesting
 * deeper than 32), with the problem named in d. Text parts without a charset (or with one
 * that does not fit their bytes) are read as UTF-8 when they are valid UTF-8, else as
 * windows-1252. */
pl_err mail_parse(const char *data, size_t len, pl_arena *a, mail_in *out, pl_detail *d);

/* The automatic-mail marker among a mail's headers, or NULL: Auto-Submitted other than
 * "no", X-Autoreply, X-Autorespond, Precedence bulk/junk/list/auto_reply,
 * X-Auto-Response-Suppress, List-Id. get(name, ctx) returns a header's value or NULL. */
const char *mail_auto_marker(const char *(*get)(const char *name, void *ctx), void *ctx);

/* Reads the fields of a message/delivery-status body (RFC 3464 2.2/2.3) into at most
 * MAIL_MAX_DSN_RCPTS recipients; returns how many. */
size_t mail_parse_dsn(const char *body, size_t len, pl_arena *a, mail_dsn_rcpt *out);

/* Text decoded from windows-1252 into UTF-8 (the bytes 0x81, 0x8D, 0x8F, 0x90 and 0x9D,
 * which it leaves undefined, as U+FFFD). */
char *mail_cp1252_to_utf8(const char *s, size_t len, pl_arena *a);

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

/* ---- the delivery worker (mail_deliver.c) -------------------------------------------- */
typedef struct mail_deliverer mail_deliverer;

typedef struct {
  const char *smtp_relay; /* "smtp://127.0.0.1:25"; NULL or "" keeps mails queued */
  const char *helo;       /* the name parley gives itself in EHLO; NULL = "localhost" */
  int poll_ms;            /* how often the outbox is looked at; 0 = 200 */
  svc_mail_options svc;   /* retries: the service's */
} mail_deliver_options;

/* Starts a thread that drains the outbox until stopped: it claims due mail from the
 * service, composes and sends each through the relay, and reports the outcome (a 5xx is
 * a refusal, anything else but success a retry). The options' strings are copied; s must
 * outlive it. */
pl_err mail_deliver_start(struct svc *s, const mail_deliver_options *o, mail_deliverer **out, pl_detail *d);
/* Tells the worker to stop without waiting for it: the mail it is sending is finished and
 * reported, the rest of its batch given back to the outbox untried (svc_mail_release), and
 * no batch is claimed after it. NULL is a no-op. */
void mail_deliver_drain(mail_deliverer *w);
/* Drains the worker, joins it and frees it; returns how many mails it gave back untried
 * (for the drain's log line). NULL is a no-op (0). */
size_t mail_deliver_stop(mail_deliverer *w);
/* Sends every mail due now, once; returns how many it tried. */
size_t mail_deliver_due(struct svc *s, const mail_deliver_options *o);

/* ---- the LMTP/SMTP listener (mail_server.c) ----------------------------------------- */
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
/* Begins a graceful stop without waiting: no new connection is taken (the listening socket
 * refuses them), a session waiting for its next command is answered 421 and closed, and a
 * message being received after DATA is finished and answered first. NULL is a no-op. */
void mail_drain(mail_server *m);
/* Sessions open now. */
int mail_sessions(const mail_server *m);
/* After mail_drain: waits until every session has ended (mail_stop then frees). */
void mail_wait(mail_server *m);
/* Stops: after mail_drain, waits for the sessions to end; without it, ends them at their
 * next read (within a second). NULL is a no-op. */
void mail_stop(mail_server *m);

/* The SMTP reply for an error code (the one table of it): code and enhanced status. */
int mail_reply_for(pl_err e, const char **enhanced);

#endif
