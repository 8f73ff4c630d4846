/* svc_mail.h - the e-mail channel's service operations: the outbox's due mail and its
 * outcomes, and mail that arrives for an alias (docs/postfix.md). Every rule of the API
 * applies: a seller's reply by e-mail is sent with svc_send, as the agent whose registered
 * address it came from (or the seller's "E-mail" agent), and only mail the deployment's
 * verifier authenticated speaks for anyone. */
#ifndef PL_SVC_MAIL_H
#define PL_SVC_MAIL_H

#include "service/svc.h"

/* The service's part of delivery: when to retry and when to give up. How mail is composed
 * and sent is the transport's (mail/mail.h, mail_deliver_start): it asks for due mail
 * (svc_mail_claim) and reports what became of each (svc_mail_report). */
typedef struct {
  int max_attempts;        /* tries before a mail is given up; 0 = 10 */
  int retry_base;          /* seconds before the first retry, doubled each time (at most an
                            * hour); 0 = 60 */
} svc_mail_options;

/* A file a mail carries (its name as the mail gave it, or NULL). */
typedef struct {
  const char *name;
  const void *data;
  size_t len;
  const char *content_type; /* outgoing mail only: "image/png" */
} svc_mail_file;

/* A mail to send, built from the record when it is due: plain data, every address an
 * alias except rcpt (and to_addr of a notice to the team, which is rcpt: the recipient's
 * own). */
typedef struct {
  st_outbox row;             /* the outbox row (the service's; the transport leaves it alone) */
  const char *env_from;      /* the return path: a VERP address, or "" for the null sender */
  char *rcpt;                /* the recipient's real address, wiped by svc_mail_report */
  const char *from_name, *from_addr, *to_addr, *reply_to, *subject;
  const char *message_id;    /* the Message-ID, without brackets */
  const char *in_reply_to;   /* without brackets, or NULL */
  const char *references;    /* space-separated ids without brackets, or NULL */
  const char *auto_submitted; /* "auto-replied" for notices, or NULL */
  const char *text;
  const svc_mail_file *files;
  size_t nfiles;
  pl_time date;
} svc_outmail;

/* Claims up to max mails due now (each is the caller's for 5 minutes; with PostgreSQL no
 * other node takes it) and builds them from the record. A mail that cannot be built (its
 * message or recipient gone) is recorded as failed here and not returned. */
size_t svc_mail_claim(svc *s, const svc_mail_options *o, size_t max, pl_arena *a, svc_outmail **out);

typedef enum {
  SVC_MAIL_SENT = 0,  /* the relay took it */
  SVC_MAIL_RETRY,     /* the relay was away or answered 4xx: try again later */
  SVC_MAIL_REFUSED,   /* the relay answered 5xx: the message failed, as by a bounce */
} svc_mail_outcome;

/* Records what became of a claimed mail (reason: the relay's words, or NULL) and wipes
 * its recipient's address from memory. */
void svc_mail_report(svc *s, const svc_mail_options *o, svc_outmail *m, svc_mail_outcome outcome,
                     const char *reason);
/* Gives a claimed mail back untried (the server stops before it got to it): pending and due
 * now, its attempts unchanged, for the next start or another node; wipes its recipient's
 * address from memory. When the store cannot record it, the claim runs out instead. */
void svc_mail_release(svc *s, svc_outmail *m);

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

/* One recipient of a delivery status notification (mail_dsn_rcpt). */
typedef struct {
  const char *final_recipient, *original_recipient, *action, *status, *diagnostic;
} svc_mail_dsn;

typedef struct {
  int64_t message_id; /* the message recorded, or failed by a bounce (0 when none) */
  int64_t thread_id;  /* its thread (0 when none) */
  bool refused;       /* a seller reply the policy refused: the seller gets the findings */
  bool discarded;     /* automatic mail or noise to a return path: not a message */
  bool auto_reply;    /* a seller's automatic reply, kept as an auto-reply, not forwarded */
  bool failed;        /* a delivery report that marked message_id failed */
  bool return_path;   /* sent to a return path: a report that failed message_id, or dropped */
  size_t files;       /* attachments the message carries */
  size_t dropped;     /* a buyer's files that were not taken (named in the text) */
} svc_mail_result;

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
  bool automatic;                       /* an auto-reply, bulk mail or a report (mail_in) */
  bool dsn;                             /* a delivery status notification (RFC 3464) */
  const svc_mail_dsn *dsn_rcpts;        /* its recipients, as reported */
  size_t ndsn;
  const svc_mail_file *files;           /* become attachments of the message */
  size_t nfiles;
  size_t files_skipped;                 /* files the mail held beyond those given */
  /* The results of this mail for the transaction's earlier recipients: a recipient that
   * leads to a thread the mail was already taken into ("alias" and "alias+t12", any case)
   * gets the same result, and the message is stored once. */
  const svc_mail_result *earlier;
  size_t nearlier;
} svc_mail_in;

/* Takes one mail for one recipient. To a return path: only a null-sender delivery status
 * notification that reports the message's recipient as failed marks the message failed
 * (the report's status and diagnostic, addresses masked, kept with the failure); anything
 * else there is dropped (discarded). Automatic mail to an alias is never forwarded and
 * never answers: a seller's is kept as an auto-reply (auto_reply), a buyer's dropped.
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
