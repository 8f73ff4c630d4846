/* svc_int.h - what the files of the service module share (not part of its contract). */
#ifndef PL_SVC_INT_H
#define PL_SVC_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <sys/types.h>
#include <time.h>

#include "service/svc.h"
#include "service/svc_rules.h"

struct svc {
  store *st;
  svc_bulk_worker *bulk; /* the bulk notices' worker, when one runs (svc_bulk.c) */
  /* Keys (svc_keys.c): the identity key never changes; the generations change when the
   * key file does (a rotation), under keys_mu. */
  pl_keys keys;
  pthread_mutex_t keys_mu;
  char *key_path; /* NULL: never re-read */
  struct {
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime;
  } key_seen;
  svc_options opt;
  char *policy_config_path, *policy_cache_path; /* owned; changed under policy_mu */
  pthread_mutex_t policy_mu;
  atomic_bool training; /* a marketplace's model is being trained (svc_policy_train): one at a time */
  policy_config *policy; /* compiled once, shared by every marketplace; swapped by a reload */
  int64_t policy_generation;    /* the store's reload counter this process follows */
  bool policy_generation_known;
  /* Marketplaces' own models (svc_learn.c), under policy_mu: the configuration each
   * marketplace scans with (its model over the policy in force), or none, made at first
   * use; forgotten when the policy is reloaded or the store's model counter moves
   * (policy_epoch counts both, so that one made from an older policy is not kept). */
  struct svc__mp_model *mp_models;
  size_t n_mp_models;
  uint64_t policy_epoch;
  atomic_ulong status_counts[ST_STATUS_N]; /* by st_msg_status; [0] unused */
  /* The operator's counters (svc_op_counters_get) and the store-wide figures, read at
   * most once a SVC__FIGURES_TTL_MS by however many scrapes (svc_ops_figures). */
  atomic_ulong deliveries[ST_OUTBOX_KIND_N][SVC_DELIVERY_N];
  atomic_ulong verdicts[SVC_POLICY_ACTIONS];
  atomic_ulong findings[SVC_MAX_CATEGORIES]; /* by the index in policy_categories() */
  atomic_ulong mail_txns[SVC_MAIL_TXN_N];
  pthread_mutex_t figures_mu;
  double figures_read;    /* CLOCK_MONOTONIC seconds of the last read (0: never) */
  pl_err figures_err;     /* how that read went */
  st_ops_figures figures; /* what it read */
  pthread_mutex_t ev_mu;
  svc_event *ring; /* SVC_EVENT_RING entries */
  uint64_t ev_next; /* the next sequence number */
  pl_time deadline_checked; /* the last deadline tick (0: none yet) */
  pl_time health_checked;   /* the last look at the sellers' health (svc_health_tick) */
  pl_time audit_checkpointed; /* the last audit checkpoint tick (0: none yet) */
  void (*ev_hook)(void *ctx);
  void *ev_ctx;
  /* events between nodes (a store with a bus): who this process is, and ids */
  bool bus_on;
  char node[17];     /* random hex: this process, so that it skips its own events */
  unsigned node_bits; /* 8 random bits in every id this process makes */
  uint64_t id_ms, id_counter; /* the last id's millisecond and counter (under ev_mu) */
  /* Identities (svc_ident.c): bumped whenever a token is revoked or an agent deactivated,
   * here or (seen at a cluster tick) by another process on the store, so that open
   * event streams check their token again. */
  atomic_uint_fast64_t revocation_epoch;
  int64_t revocation_generation; /* the store's counter as last seen (ev_mu) */
  bool revocation_generation_known;
};

/* Keys (svc_keys.c). */
void svc__keys_init(svc *s, const pl_keys *keys, const char *key_path);
void svc__keys_free(svc *s);
/* plain sealed by the current generation (malloc'd); when hashed is not NULL, hash is its
 * look-up hash under the same generation. Re-reads a changed key file first. */
char *svc__seal(svc *s, const char *plain, const char *hashed, char hash[65]);
/* The plaintext of a sealed value (malloc'd), or NULL; a generation it does not know
 * makes the service re-read its key file first. */
char *svc__open(svc *s, const char *sealed);
/* The look-up hashes of str under every generation, the current one first; how many. */
size_t svc__lookup_hashes(svc *s, const char *str, char hex[PL_KEY_GENS][65]);

/* Counts the verdict on one seller message (its text and attachments) and its findings
 * by category, for /metrics. */
void svc__count_verdict(svc *s, const policy_verdict *v);

/* How a seller message is sent, beyond its text. */
typedef struct {
  st_msg_kind kind;       /* ST_KIND_UNKNOWN (0): message, or auto_reply as asked */
  const char *action;     /* the message action, or NULL */
  bool critical;          /* delivered despite an opt-out */
  bool proactive;         /* no buyer message to answer */
  bool opted_out;         /* the buyer opted out of non-critical proactive messages */
  bool marketplace_text;  /* wording fixed by the marketplace: not scanned */
  bool automatic;         /* an automatic reply by mail: not scanned, not forwarded */
  const char *seller_text; /* a buyer's text masked already (svc__mask_text), or NULL */
} svc__msg_opts;

/* The verdict on a seller's reply by e-mail (svc_mail.c), inside its transaction: scans
 * text as policy_scan_allow does, then takes out the findings inside text parley
 * forwarded earlier in thread t (an earlier message quoted verbatim, an alias at the relay
 * domain) and scans again with them blanked; when every finding left may be quoted
 * history (it follows a line of an earlier message or one naming a relay address) a
 * rejection becomes a hold for review. */
pl_err svc__mail_reply_verdict(svc *s, const st_thread *t, policy_config *cfg, const char *const *allow,
                               const char *text, pl_arena *a, policy_verdict *v);

/* Adds one message to a thread inside the caller's transaction: the policy for seller
 * messages, the record and its status, enforcement, the thread summary, the audit
 * entry. opts NULL means a plain message. */
pl_err svc__add_message(svc *s, const svc_caller *c, st_thread *t, const svc_send_in *in,
                        const svc__msg_opts *opts, pl_arena *a, svc_sent *out, pl_detail *d);

/* Team work (svc_team.c), inside the transaction of a seller's reply: before it is
 * stored, renders its template and refuses (PL_ECONFLICT) a reply written against an
 * older state of the thread or while another agent holds the lock, unless confirmed;
 * after, releases the lock and marks the proposal it sends. */
pl_err svc__team_before_reply(svc *s, const svc_caller *c, st_thread *t, svc_send_in *in,
                              pl_arena *a, pl_detail *d);
pl_err svc__team_after_reply(svc *s, const svc_caller *c, const st_thread *t,
                             const svc_send_in *in, const st_message *m, pl_arena *a);
/* Suggested replies (svc_suggest.c): renders template body tpl for thread t as the render
 * endpoint does, except that a placeholder the thread cannot fill stays in the text, for
 * the agent; *missing names those ("[TRACKING] [DATE]"), NULL when none. Inside the
 * caller's transaction. */
pl_err svc__team_render_open(svc *s, json_t *tpl, const st_thread *t, pl_arena *a, char **text,
                             const char **lang, char **missing, pl_detail *d);
/* Text case-folded with ICU (full folding), in a; and whether a folded text holds a folded
 * phrase with word boundaries around it (a rule's words, a suggestion's shared words). */
char *svc__fold(const char *text, pl_arena *a);
bool svc__has_word(const char *text, const char *phrase);
/* Runs the seller's rules on a new buyer message, inside its transaction. */
pl_err svc__team_on_buyer_message(svc *s, st_thread *t, const st_message *m, pl_arena *a);

/* svc_send_action with the criticality given (0 or 1) rather than the action's (-1): a
 * template's own criticality decides whether an opted-out buyer receives it. */
pl_err svc__send_action_as(svc *s, const svc_caller *c, const char *order_id, const char *action,
                           const svc_action_in *in, int critical, pl_arena *a, svc_sent *out,
                           pl_detail *d);

/* Rules of a marketplace (defaults when it has no settings). */
pl_err svc__rules_for(svc *s, const char *marketplace_id, pl_arena *a, svc_rules *r);
/* The marketplace's row, copied into a, read once per transaction of the calling thread
 * (svc.c keeps it until the transaction's end or a write of a marketplace): PL_ENOTFOUND,
 * PL_ESTORE. */
pl_err svc__marketplace_get(svc *s, const char *id, pl_arena *a, st_marketplace *out);
/* Takes a token from the seller's bucket for op, or PL_ERATELIMIT. */
pl_err svc__rate_take(svc *s, const char *seller_id, const char *op, const svc_rules *r, pl_detail *d);
/* A limit of one party (docs/rules.md, "Limits"): at most count per window seconds, as a
 * token bucket (key, op) that refills count per window and holds count; cost tokens are
 * taken (1, or an upload's bytes). count 0: no limit. Past it: `code`, whose message
 * starts with `what` and ends with "retry in N s" (the HTTP layer's Retry-After). The
 * bucket is written in the caller's transaction: what is rolled back is not counted. */
pl_err svc__limit_take(svc *s, const char *key, const char *op, int64_t count, int64_t window,
                       int64_t cost, pl_err code, const char *what, pl_detail *d);
/* A buyer's message limits (and thread-start limits when thread_start), in the
 * marketplace's numbers. */
pl_err svc__buyer_limits(svc *s, const char *buyer_id, const char *marketplace_id, bool thread_start,
                         pl_arena *a, pl_detail *d);
/* PL_EQUOTA when the seller is under a quota that is used up today. */
pl_err svc__check_quota(svc *s, const char *seller_id, pl_arena *a, pl_detail *d);
/* Records the violations of a blocked message and escalates (warning, restriction,
 * flag for suspension) as the marketplace's rules say. */
pl_err svc__enforce(svc *s, const st_thread *t, const st_message *m, const policy_verdict *v,
                    pl_arena *a);

/* Marketplace-written texts in the buyer's language (svc_texts.c). */
const char *svc__review_text(const char *locale, pl_arena *a);
const char *svc__action_text(const svc_action_def *def, const char *locale, pl_arena *a);
const char *svc__coverage_label(const char *locale);

/* A new session of a principal, ending SVC_SESSION_SECONDS from now (svc_ident.c):
 * *session_out malloc'd, *caller_out as authenticated with it. */
pl_err svc__session_open(svc *s, st_principal_kind kind, const char *subject, const char *user_agent,
                         pl_arena *a, char **session_out, pl_time *expires_out, svc_caller *caller_out,
                         pl_detail *d);
/* Moves the store's revocation counter (in the caller's write transaction), and, after
 * the commit, wakes this process's event streams to check their tokens again. */
pl_err svc__revocations_bump(svc *s);
void svc__revoked_here(svc *s);

/* An SP-API access token (scope "spapi") acting as the agent (svc_ident.c). */
pl_err svc__token_create_spapi(svc *s, int64_t agent_id, pl_time expires_at, char **token_out,
                               pl_detail *d);

/* Follows revocations made by other processes on the store (svc_ident.c): when the
 * store's counter moved, bumps the epoch and wakes the event streams. */
void svc__follow_revocations(svc *s);

/* prefix and `bytes` random bytes (at most 64) in hex: ids, secrets. */
char *svc__random_hex(pl_arena *a, const char *prefix, size_t bytes);
/* Whether e looks like an e-mail address parley can send to. */
bool svc__valid_email(const char *e);
/* A sealed value opened into the arena (NULL when sealed is NULL or does not open); the
 * caller wipes it (sodium_memzero) when done. */
char *svc__opened(svc *s, pl_arena *a, const char *sealed);

/* The automatic quota for poor performance (docs/rules.md "Enforcement"): a seller whose
 * CRT (crt %) has been at risk since `since` (0: it is not) for the marketplace's
 * poor_performance_days gets a proactive-message quota, renewed while it stays at risk and
 * lifted a week after. Within a write transaction. */
pl_err svc__poor_performance(svc *s, const char *seller_id, const char *marketplace_id, pl_time since, double crt,
                             pl_arena *a);
/* Wakes the bulk worker: a notice was created. */
void svc__bulk_wake(svc *s);
/* Records a claim against order_id (of seller_id and of marketplace_id, when given), at `at`,
 * audited as actor. */
pl_err svc__claim_record(svc *s, const char *seller_id, const char *marketplace_id, const char *order_id,
                         const char *kind, pl_time at, const char *actor, pl_arena *a, st_claim *out, pl_detail *d);

/* ---- notifications (svc_notify.c; docs/notifications.md) ---- */
/* PL_ENOTALLOWED when the marketplace fulfils order o and its seller turned messaging
 * about such orders off. */
pl_err svc__messaging_on(svc *s, const st_order *o, pl_arena *a, pl_detail *d);
/* In the transaction that stores a delivered buyer message: a notice to each agent who
 * asked for one per message (of its threads, or of all). */
pl_err svc__notify_message(svc *s, const st_thread *t, const st_message *m, pl_arena *a);
/* A thread reached its alert mark: a notice to its assigned agent, or to every agent who
 * watches every thread; once per waiting message, whichever node sees it first. */
pl_err svc__notify_deadline(svc *s, const st_thread *t, pl_arena *a);
/* A seller's webhook was turned off after 3 days of failures: a notice to its owners. */
pl_err svc__notify_webhook_disabled(svc *s, const st_webhook *w, pl_arena *a);
/* The words of a notice (outbox kind notice), in the seller's language, from the record
 * as it is now: the recipient's address (opened; the caller wipes it), subject and text. */
typedef struct {
  char *rcpt;
  const char *subject, *text;
  const char *marketplace, *seller_alias;
  const char *seller_name; /* an account's notice: the seller it is about, or NULL */
} svc_notice;
pl_err svc__notice_compose(svc *s, const st_outbox *o, pl_arena *a, svc_notice *out, pl_detail *d);
/* A notice about an account (type "password_reset", "invitation", "account_confirm";
 * svc_account.c): its
 * recipient, subject and text, within compose's transaction. PL_ENOTFOUND when void. */
pl_err svc__account_notice(svc *s, const char *type, json_t *payload, pl_arena *a, svc_notice *out);
/* Invitations (svc_account.c; docs/api.md, "Invitations"). */
/* The message center's address of a page ("thread/T1"), for the links in notices. */
const char *svc__link(svc *s, pl_arena *a, const char *fragment);
/* The language of parley's notices to seller sl (its setting, else its marketplace's, else
 * "en"), within a transaction. */
const char *svc__notice_language(svc *s, const st_seller *sl, pl_arena *a);
/* The words of the mail that tells a seller its e-mail reply was refused, in lang:
 * INTRO (buyer, what, thread), ABOUT (order id, or NULL and the product), FOUND, NONE,
 * OUTRO (the text). */
typedef enum { SVC_REFUSAL_INTRO, SVC_REFUSAL_ABOUT, SVC_REFUSAL_FOUND, SVC_REFUSAL_NONE, SVC_REFUSAL_OUTRO } svc_refusal_part;
const char *svc__refusal_words(const char *lang, svc_refusal_part part, const char *v1, const char *v2,
                               const char *v3, pl_arena *a);

/* Webhooks (svc_webhook.c): queue, in the caller's write transaction, the event of a
 * message just recorded (with its status), or of a thread whose response is due soon (or,
 * overdue, whose deadline passed). */
pl_err svc__webhook_message(svc *s, const st_thread *t, const st_message *m, pl_arena *a);
pl_err svc__webhook_deadline(svc *s, const st_thread *t, bool overdue, pl_arena *a);
/* An event of a seller whose data every subscriber may see alike (no buyer's text). */
pl_err svc__webhook_event(svc *s, const char *seller_id, const char *marketplace_id, const char *type, json_t *data,
                          pl_arena *a);

/* Publishes a deadline event: the thread's response is due soon. */
void svc__publish_deadline(svc *s, const st_thread *t);

/* Publishes an event about a thread (and a message when m is not NULL). */
void svc__publish(svc *s, svc_event_type type, const st_thread *t, const st_message *m);

/* Counts a committed message under its status. */
void svc__count_status(svc *s, st_msg_status status);

/* Begins a transaction or fails with a store error in d. */
pl_err svc__begin(svc *s, bool write, pl_detail *d);
/* Commits when e is PL_OK, rolls back otherwise; returns the final result. */
pl_err svc__end(svc *s, pl_err e, pl_detail *d);

/* The compiled policy for a marketplace (one reference for the caller). */
/* The compiled policy (one reference for the caller) and the marketplace's own
 * domains (NULL-terminated, in the arena), which a scan allows besides the
 * configuration's. */
pl_err svc__policy_for(svc *s, const char *marketplace_id, pl_arena *a, policy_config **out,
                       const char *const **allow, pl_detail *d);

/* The one check of a text a client submits (a message, note, template, name...):
 * well-formed UTF-8 without control characters but tab and line breaks (pl_utf8_text),
 * field naming it in the error; a CRLF becomes LF (*text is then a copy in a). *chars,
 * when not NULL, gets the number of code points. */
pl_err svc__clean_text(const char *field, const char **text, pl_arena *a, size_t *chars,
                       pl_detail *d);
/* A name or title (one line): as svc__clean_text, and no tab or line break either
 * (PL_ECONTROL). */
pl_err svc__check_name(const char *field, const char *name, pl_detail *d);
/* Validates a message text as svc__clean_text, and not blank, at most
 * SVC_TEXT_CHARS_CEILING (what any marketplace may allow; svc__check_text_for tells one
 * marketplace's limit); *text may be replaced by its normalised copy. */
pl_err svc__check_text(const char **text, pl_arena *a, pl_detail *d);
/* PL_ETOOLONG when text (checked by svc__check_text) is longer than its marketplace's
 * text_chars (docs/rules.md, "Limits"). */
pl_err svc__check_text_for(svc *s, const char *marketplace_id, const char *text, pl_arena *a,
                           pl_detail *d);

/* Brings the 24-hour clock's aggregates up to date with a thread's events. */
pl_err svc__sla_refresh(svc *s, const st_thread *t, pl_arena *a);

/* Recomputes a thread's summary from its messages and stores it. */
pl_err svc__thread_recompute(svc *s, st_thread *t, pl_arena *a);

/* One event in a thread, for svc__thread_changed(). */
typedef enum {
  SVC__NEW_MESSAGE = 1, /* m was just added; t is the thread as it was before it */
  SVC__STATUS,          /* m's status changed to m->status (an approval, a rejection, a bounce) */
  SVC__FLAG,            /* buyer message m was flagged or unflagged (its event is stored) */
} svc__change;

/* Brings a thread's summary and the clock's outcomes and hourly aggregates up to date
 * with one event from their stored state and the event alone, reading only the end of
 * the thread and its open buyer messages (docs/metrics.md): a send costs the same
 * whatever the thread's length. A message older than the thread's last one (an import
 * out of order) falls back to svc__thread_recompute(). Stores the summary. */
pl_err svc__thread_changed(svc *s, st_thread *t, svc__change k, const st_message *m, pl_arena *a);
/* Order order_id was canceled (in the caller's transaction): the buyer messages of its
 * thread still waiting for an answer get a flag event "canceled", so that the clock
 * leaves them out (docs/metrics.md "Canceled orders"), and the thread is archived. */
pl_err svc__order_canceled(svc *s, const char *order_id, const char *actor, pl_time at, pl_arena *a);
/* svc_thread_verify()'s clock part, in its transaction. */
pl_err svc__sla_verify(svc *s, const st_thread *t, pl_arena *a, pl_detail *d);
/* The clock's part of svc__thread_changed() (a new message comes after every message of
 * its thread); had_buyer: the thread had a buyer message before the event. */
pl_err svc__sla_changed(svc *s, const st_thread *t, svc__change k, const st_message *m, bool had_buyer,
                        pl_arena *a);

/* The buyer's alias with a seller, created on first use. */
pl_err svc__alias_ensure(svc *s, const char *marketplace_id, const char *buyer_id,
                         const char *seller_id, pl_time now, pl_arena *a, char **out,
                         pl_detail *d);

/* The store's own id of a record as the audit log names it ("T41", "M7"): stable
 * evidence whatever key the public ids (svc_ref) are under. */
char *svc__record_ref(pl_arena *a, const char *prefix, int64_t id);
/* j, now owned by the arena: released (json_decref) when the arena is. NULL stays NULL. */
json_t *svc__json_keep(pl_arena *a, json_t *j);

/* Appends an audit entry; detail may be NULL. */
pl_err svc__audit(svc *s, const char *seller_id, const char *actor, const char *action,
                  const char *subject, json_t *detail);

/* Learning from the operator (svc_learn.c; docs/policy.md "Learning from the operator"). */
/* The store's counter that `parley policy train` bumps: nodes forget their marketplace models. */
#define SVC_MODEL_GENERATION "policy_model_generation"
/* Records the operator's decision on a held message as a labelled example of the
 * thread's marketplace (unless its learn_decision_weight is 0), when the message was
 * held for learned categories only (never
 * for a link, contact details, personal data, emoji, formatting, the [Important] tag,
 * an attachment). In the caller's write transaction. */
pl_err svc__learn_decision(svc *s, const st_thread *t, const st_message *m, bool approve, const char *by);
/* The configuration marketplace mp scans with: its own model over base when it has one,
 * else base (one reference for the caller either way). In the caller's transaction. */
pl_err svc__policy_model_for(svc *s, const char *mp, policy_config *base, uint64_t epoch, pl_arena *a,
                             policy_config **out);
/* Forgets every marketplace's configuration (under policy_mu). */
void svc__policy_models_forget(svc *s);
/* Forgets those read before the store's model counter was at generation (under policy_mu). */
void svc__policy_models_follow(svc *s, int64_t generation);

/* The buyer's contact details (phone numbers, e-mail addresses) in text replaced by
 * placeholders, whatever the marketplace's setting (they are found the same way in every
 * marketplace); NULL when the text could not be checked. Needs no transaction. */
const char *svc__mask_text(svc *s, const char *text, pl_arena *a);

/* A buyer's text as the seller may read it (the contact mask, when the marketplace masks;
 * withheld when it cannot be checked), within a transaction. */
const char *svc__mask_for_seller(svc *s, const char *mp, const char *text, pl_arena *a);
/* A buyer's file name as a seller's agent may see it: masked when the marketplace masks a
 * buyer's contact details (read as a sentence: "call-me-415-555-0199.pdf"). Within a
 * transaction. */
const char *svc__mask_name_for_seller(svc *s, const char *marketplace_id, const char *name,
                                      pl_arena *a);

/* The one way messages become what their reader sees, within a transaction: for a
 * seller's agent, buyer messages' texts with the buyer's contact details masked when the
 * marketplace masks them (a text that cannot be checked is withheld); every message is
 * marked text_viewed, and svc_json_message withholds the text of a buyer message an
 * agent would see without it. Every path that shows messages passes here. */
void svc__view(svc *s, const svc_caller *c, const char *marketplace_id, st_message *msgs,
               size_t n, pl_arena *a);

/* Inserts a message of thread t with its first status event and indexes it (a buyer
 * message also in the seller's search index, masked by t's marketplace). */
pl_err svc__message_add(svc *s, const st_thread *t, st_message *m, st_msg_status status, const char *actor);

/* Queues the mail of a message that reached the status delivered, when its recipient
 * has an address (svc_mail.c): inside the caller's transaction, like the message. */
pl_err svc__outbox_message(svc *s, const st_thread *t, const st_message *m);

/* True for an order ID of the form NNN-NNNNNNN-NNNNNNN. */
bool svc__valid_order_id(const char *id);
/* Topic validity: post-purchase topics for order threads, pre-purchase for ASIN ones. */
bool svc__valid_topic(const char *topic, bool product);

/* ---- attachments (svc_attach.c) ---- */
/* The attachments of a message being sent, loaded with their text. */
typedef struct {
  st_attachment *v;
  size_t n;
  json_t *unreadable; /* [{"attachment","name","reason"}] of files not read in full, or NULL */
} svc__attachments;
/* Whether the server keeps attachments (it has an attachment directory). */
bool svc__attachments_enabled(svc *s);
/* Loads in->attachments inside the caller's transaction: only the caller's own uploads
 * (another party's id is PL_ENOTFOUND), each once, at most SVC_MAX_ATTACHMENTS. */
pl_err svc__attachments_load(svc *s, const svc_caller *c, const svc_send_in *in, pl_arena *a,
                             svc__attachments *out, pl_detail *d);
/* PL_ETOOLARGE when a loaded attachment is larger than the marketplace's attachment_bytes
 * (a file uploaded under another marketplace's limit). */
pl_err svc__attachments_fit(svc *s, const char *marketplace_id, const svc__attachments *atts, pl_arena *a,
                            pl_detail *d);
/* Scans the attachments' text with the marketplace's policy and merges the findings
 * into out->verdict (out->origins says where each was found); an unreadable file makes
 * the verdict at least "review". */
pl_err svc__attachments_scan(svc *s, const char *marketplace_id, svc__attachments *atts,
                             pl_arena *a, svc_sent *out, pl_detail *d);
/* Records the attachments of a stored message and sets m->attachments. */
pl_err svc__attachments_link(svc *s, const st_thread *t, st_message *m,
                             const svc__attachments *atts, pl_arena *a);
/* Sets the attachments of messages read from the store. */
pl_err svc__attachments_fill(svc *s, st_message *msgs, size_t n, pl_arena *a);

/* MD5 for Content-MD5 checks (svc_spapi.c): the digest, and a base64 or hex value
 * normalised to base64 (false when it is neither). */
void svc__md5(const void *data, size_t n, unsigned char out[16]);
bool svc__md5_normalise(const char *in, char out[25]);

#endif
