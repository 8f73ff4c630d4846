/* svc_mail.h - the e-mail channel's service operations: the outbox's delivery worker, and
 * mail that arrives for an alias (docs/postfix.md). Every rule of the API applies: a
 * seller's reply by e-mail is sent with svc_send, as the agent whose registered address it
 * came from (or the seller's "E-mail" agent), and only mail the deployment's verifier
 * authenticated speaks for anyone. */
#ifndef PL_SVC_MAIL_H
#define PL_SVC_MAIL_H

#include "service/svc.h"

typedef struct {
  const char *smtp_relay;  /* "smtp://127.0.0.1:25"; NULL or "" keeps mails queued */
  const char *mail_domain; /* the name parley gives itself in EHLO; NULL = "localhost" */
  int max_attempts;        /* tries before a mail is given up; 0 = 10 */
  int retry_base;          /* seconds before the first retry, doubled each time (at most an
                            * hour); 0 = 60 */
  int poll_ms;             /* how often the outbox is looked at; 0 = 200 */
} svc_mail_options;

typedef struct svc_mail_worker svc_mail_worker;

/* Starts the delivery worker: a thread that drains the outbox until stopped. The
 * options' strings are copied; s must outlive the worker. */
pl_err svc_mail_worker_start(svc *s, const svc_mail_options *o, svc_mail_worker **out,
                             pl_detail *d);
/* Stops the worker after the mail in hand and joins it. NULL is a no-op. */
void svc_mail_worker_stop(svc_mail_worker *w);
/* Sends every mail due now, once; returns how many it tried. */
size_t svc_mail_deliver_due(svc *s, const svc_mail_options *o);

typedef enum { SVC_MAIL_TO_BUYER = 1, SVC_MAIL_TO_SELLER, SVC_MAIL_BOUNCE } svc_mail_kind;

typedef struct {
  svc_mail_kind kind;
  int64_t thread_id;  /* from a "+t<id>" token in the alias, 0 when none */
  int64_t message_id; /* the message a bounce is about */
} svc_mail_rcpt;

/* Whether mail for rcpt is taken at RCPT: every recipient is (PL_OK), so that the answer
 * tells nothing about which aliases exist; svc_mail_receive decides after DATA. */
pl_err svc_mail_rcpt_check(svc *s, const char *mail_from, const char *rcpt, pl_arena *a,
                           svc_mail_rcpt *out, pl_detail *d);

/* A file a mail carried (its name as the mail gave it, or NULL). */
typedef struct {
  const char *name;
  const void *data;
  size_t len;
} svc_mail_file;

typedef struct {
  const char *mail_from, *rcpt;
  const char *headers;                  /* the mail's header section, as received */
  size_t headers_len;
  const char *authserv_id;              /* whose Authentication-Results count (the
                                         * deployment's verifier); NULL: none do */
  bool trust_envelope;                  /* --mail-trust envelope: the envelope sender is
                                         * taken as who writes (closed networks only) */
  const char *text;                     /* the new text only (quotes and signature removed) */
  const char *in_reply_to, *references; /* header values, or NULL */
  bool automatic;                       /* an auto-reply or a delivery report */
  const svc_mail_file *files;           /* become attachments of the message */
  size_t nfiles;
  size_t files_skipped;                 /* files the mail held beyond those given */
} svc_mail_in;

typedef struct {
  int64_t message_id; /* the message recorded (0 when none) */
  bool refused;       /* a seller reply the policy refused: the seller gets the findings */
  bool discarded;     /* automatic mail that is not a bounce: not a message */
  size_t files;       /* attachments the message carries */
  size_t dropped;     /* a buyer's files that were not taken (named in the text) */
} svc_mail_result;

/* Takes one mail for one recipient: a bounce (VERP address) marks its message failed.
 * Other mail speaks for a party only from that party's own address, authenticated
 * (mail_auth_check on the verifier's results, or the envelope sender when trust_envelope),
 * and in a thread its reply address's MAC names or that it answers (In-Reply-To or
 * References naming a message the party received); anything else is PL_EFORBIDDEN with
 * one and the same text, stores nothing and counts nothing. A party's mail is sent in its
 * thread with svc_send, its files stored as attachments of
 * the sender (svc_attachment_create_mem). A seller's file the store refuses (type, name,
 * size, more than SVC_MAX_ATTACHMENTS) refuses the whole reply (PL_EUNSUPPORTED,
 * PL_EMISMATCH, PL_ETOOLARGE, PL_EINVAL with the file named in d); a buyer's is dropped
 * and named in a note under the text. Returns only after the commit. */
pl_err svc_mail_receive(svc *s, const svc_mail_in *in, pl_arena *a, svc_mail_result *out,
                        pl_detail *d);

/* ---- agents' registered addresses (docs/api.md, docs/postfix.md) ---- */
#define SVC_MAX_AGENT_ADDRESSES 10 /* addresses one agent registers */

typedef struct {
  int64_t id, agent_id;
  char *email;
  pl_time created_at;
} svc_agent_address;

/* Registers an address an agent writes from by e-mail. The agent registers its own, an
 * owner any of the seller's agents', the operator anyone's; the seller's customer-service
 * address only by an owner or the operator (mail from it then speaks as that agent instead
 * of "E-mail"). PL_EEXIST when the seller has it already; PL_ETOOMANY past the limit. */
pl_err svc_agent_address_add(svc *s, const svc_caller *c, int64_t agent_id, const char *email,
                             pl_arena *a, svc_agent_address *out, pl_detail *d);
/* The agent's addresses (agent_id 0: every agent of the caller's seller, for an owner). */
pl_err svc_agent_address_list(svc *s, const svc_caller *c, int64_t agent_id, pl_arena *a,
                              svc_agent_address **out, size_t *n, pl_detail *d);
pl_err svc_agent_address_remove(svc *s, const svc_caller *c, int64_t agent_id, int64_t id,
                                pl_detail *d);

#endif
