/* svc.h - the service operations every transport calls: one place for every rule.
 *
 * Transports authenticate, parse into the plain request structs below, call one
 * operation and render the result. Each operation runs in one store transaction
 * and returns only after it committed (or rolled back on error). Failures fill a
 * pl_detail with the specific human message. Strings an operation returns are
 * allocated from the caller's arena. */
#ifndef PL_SVC_H
#define PL_SVC_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "policy/policy.h"
#include "store/store.h"
#include "util/pl_crypto.h"
#include "util/pl_time.h"

#define SVC_MAX_TEXT_CHARS 5000      /* a message's text, unless its marketplace says otherwise */
#define SVC_TEXT_CHARS_CEILING 20000 /* ... which it may up to this */
#define SVC_MAX_SEARCH_BYTES 500 /* an inbox search (q) */
#define SVC_PAGE_DEFAULT 50      /* a thread's messages a page */
#define SVC_PAGE_MAX 200
#define SVC_ASSIGNEE_ME (-2)     /* st_thread_query.assignee_id: the calling agent */
#define SVC_RESPONSE_WINDOW (24 * 3600)

typedef struct svc svc;

/* A value the API takes and the words a person reads for it. */
typedef struct {
  const char *id, *label;
} svc_named;

/* The topics a buyer picks from to start a thread about an order (after a purchase) or,
 * product true, about a product (before one); ends with an entry whose id is NULL. */
const svc_named *svc_topics(bool product);

typedef struct {
  pl_clock clock;               /* where `now` comes from; zero = system clock */
  const char *policy_config;    /* operator policy configuration file, or NULL */
  const char *policy_cache;     /* directory for compiled policy databases, or NULL */
  policy_config *policy;        /* an already compiled policy to share (svc_new takes a
                                 * reference), or NULL to compile one from policy_config */
  const char *files_dir;        /* where attachments are kept; NULL: attachments are refused */
  unsigned extract_timeout_ms;  /* reading one attachment: 0 = the default (5 s) */
  const char *ocr_langs;        /* Tesseract languages; NULL = eng and the rule languages */
  const char *reader_path;      /* the parley-reader program; NULL: $PARLEY_READER, else
                                 * beside the running program (extract_limits.reader) */
  int64_t audit_checkpoint_seconds; /* between audit checkpoints: 0 = an hour, < 0 = none */
  const char *key_file;         /* the key file the keys were read from: re-read when it
                                 * changes (a rotation); NULL: the keys given stay */
  const char *webhook_allow;    /* hosts webhooks may reach besides public https ones
                                 * (svc_webhook_host_allowed); NULL: none */
  const char *public_url;       /* where people open the message center, for the links in
                                 * notices (docs/notifications.md); NULL: http://127.0.0.1:8080 */
} svc_options;

/* The authenticated party of a request. */
typedef struct {
  st_principal_kind kind;
  const char *seller_id;      /* agent */
  int64_t agent_id;           /* agent */
  st_agent_role agent_role;   /* agent (ST_ROLE_NONE for the others) */
  const char *agent_name;     /* agent: the name shown to the team, as authenticated (NULL:
                               * not known, read from the store where needed) */
  const char *buyer_id;       /* buyer */
  const char *marketplace_id; /* may be NULL for an operator */
  const char *name;           /* for the audit log: "agent:7", "buyer:B1", "operator:ops" */
  int64_t token_id;           /* the token presented (0: none, e.g. the administrator) */
  pl_time expires_at;         /* when that token ends (0: never) */
  st_token_scope scope;       /* where that token is valid (ST_SCOPE_NONE: no token) */
} svc_caller;

/* Idempotency-Key (docs/api.md; http_idem.c). While a key is armed on the calling thread,
 * the first write transaction an operation commits also claims the key in the store, in
 * that same transaction, so that the operation and its key are recorded together or not
 * at all; if a concurrent request with the same key claimed it first, the operation is
 * rolled back and fails with PL_EIDEMBUSY. svc_idem_disarm ends the request and tells
 * whether the key was claimed (its answer is then for the caller to record). */
void svc_idem_arm(const char *principal, const char *key, const char *fingerprint);
bool svc_idem_disarm(void);
/* What a request with (principal, key) and the request's fingerprint meets: a new key
 * (none stored, or one past its day, which is then forgotten as if the clean-up had come
 * by); the recorded answer of the same request (*out, allocated in a); the same request
 * still being processed; the key used for another request; or no store. forget = false
 * reads only, and sees claims not yet committed (after an operation that lost its key to
 * a concurrent request). */
typedef enum { SVC_IDEM_NEW, SVC_IDEM_REPLAY, SVC_IDEM_BUSY, SVC_IDEM_REUSED, SVC_IDEM_UNAVAILABLE } svc_idem_state;
typedef struct {
  int status;
  const char *body;
} svc_idem_answer;
svc_idem_state svc_idem_lookup(svc *s, const char *principal, const char *key, const char *fingerprint, bool forget,
                               pl_arena *a, svc_idem_answer *out);
/* Records the answer of the request that claimed (principal, key): its retries get it. */
pl_err svc_idem_finish(svc *s, const char *principal, const char *key, int status, const char *body);

/* Takes ownership of st (closed by svc_free). keys are copied. */
pl_err svc_new(store *st, const pl_keys *keys, const svc_options *opt, svc **out, pl_detail *d);
void svc_free(svc *s);

/* ---- key rotation (svc_keys.c; docs/operations.md, "Key rotation") ---- */
#define SVC_KEY_BATCH_MAX 10000
typedef struct {
  size_t ngens;
  struct {
    uint32_t id;
    int64_t rows; /* stored values sealed (and hashed) by this generation */
  } gens[PL_KEY_GENS];
  uint32_t current;
  int64_t unknown;    /* values sealed by a generation the key file does not hold */
  int64_t opened, unreadable; /* with check: values the keys open, and those they do not */
} svc_key_report;
/* How many stored values each generation of the service's key file holds; check also
 * opens every one. PL_ESTORE when the store is unavailable. */
pl_err svc_key_status(svc *s, bool check, svc_key_report *r, pl_detail *d);
typedef struct {
  int64_t batches, resealed;
  int64_t raced;      /* changed by a server meanwhile: the next run takes them */
  int64_t unreadable; /* no generation of the key file opens them: left as they are */
  int64_t conflicts;  /* an address registered twice meanwhile: left for the operator */
} svc_key_walked;
/* Re-seals every stored address not sealed by the current generation, and re-hashes its
 * look-up hash, batch rows per transaction (1..SVC_KEY_BATCH_MAX, else PL_EINVAL); may
 * run while servers serve, and again after a crash. stop_after > 0 stops after that many
 * batches with PL_EINTERNAL (tests of an interrupted rotation). */
pl_err svc_key_walk(svc *s, int batch, int64_t stop_after, svc_key_walked *w, pl_detail *d);
/* The store itself: for tests and benchmarks only; transports and commands go through
 * the functions of this header. */
store *svc_store(svc *s);
/* Whether the store holds no seller and no thread yet (parley demo fills only such). */
pl_err svc_store_empty(svc *s, bool *empty);
/* Every thread, in the order they were opened (parley demo lists its own). */
pl_err svc_threads_all(svc *s, pl_arena *a, st_thread **out, size_t *n);
/* PL_OK when the store answers a query (for /healthz). */
pl_err svc_ping(svc *s);
/* How the store has been writing since start (group commit); false when the backend
 * keeps no such counters. */
bool svc_store_counters(svc *s, st_counters *out);
pl_time svc_now(svc *s);

/* Compiles the policy configuration now unless it is compiled already (otherwise the
 * first scan does); a server calls it at start so that a broken configuration stops it. */
pl_err svc_policy_prepare(svc *s, pl_detail *d);
/* Recompiles the policy configuration; requests in flight keep the one they hold. The
 * reload is counted in the store, so that every node on it reloads too. Only the operator
 * reloads: c is the operator's caller, or NULL for the server process itself (SIGHUP);
 * anyone else gets PL_EFORBIDDEN. */
pl_err svc_policy_reload(svc *s, const svc_caller *c, pl_detail *d);
/* The server's reload of its configuration (SIGHUP): compiles the policy from config and
 * cache (NULL: none), which are in force from then on, and counts the reload in the store
 * as svc_policy_reload does. When it does not compile, the policy and the files in force
 * stay as they were and the error says why. The strings are copied. */
pl_err svc_policy_reconfigure(svc *s, const char *config, const char *cache, pl_detail *d);
/* Follows the other nodes: reloads the policy when the store's reload counter moved
 * since the last tick (the first tick only records it). Called by the server's timer. */
pl_err svc_cluster_tick(svc *s);

/* Learning from the operator (svc_learn.c; docs/policy.md "Learning from the operator"). */
typedef struct {
  char version[17];  /* the new model's: "clf-" and 12 hex digits */
  size_t decisions;  /* the marketplace's decisions it learned from */
  size_t violations; /* of which rejected */
  pl_time trained_at;
} svc_policy_trained;
/* Retrains the classifier for a marketplace from the shipped training files and the
 * operator's decisions on its held messages (each counting as many times as the
 * marketplace's learn_decision_weight says; none when it is 0),
 * stores the model for that marketplace and tells every node on the store (each loads
 * it at its next cluster tick or reload). The operator's only: c is the operator's
 * caller (of that marketplace, or of all), or NULL for the command line. PL_ENOTFOUND
 * for an unknown marketplace; PL_ERATELIMIT while another training runs in this process
 * (each takes a core for about two seconds). */
pl_err svc_policy_train(svc *s, const svc_caller *c, const char *marketplace_id, svc_policy_trained *out,
                        pl_detail *d);
/* The marketplaces that have decisions to learn from, by id (in a). */
pl_err svc_policy_learners(svc *s, pl_arena *a, char ***out, size_t *n, pl_detail *d);
/* What a marketplace's classifier has learned, and what it could learn now. */
typedef struct {
  const char *marketplace_id, *name;
  char version[17];          /* the model its messages are checked with now ("" without a classifier) */
  char shipped_version[17];  /* the model embedded in the program */
  bool trained;              /* it has a model of its own (below) */
  char trained_version[17];
  const char *trained_by;
  pl_time trained_at;
  int64_t trained_decisions; /* the decisions that model learned from */
  int64_t decisions;         /* the decisions kept now (the newest ST_POLICY_EXAMPLES_KEEP) */
  int64_t violations;        /* of which rejections */
  int64_t new_decisions;     /* of which decided after its model was trained (all, untrained) */
  int64_t learn_decision_weight; /* 0: the marketplace learns nothing (docs/rules.md) */
} svc_policy_model_status;
/* The status of every marketplace the operator may train (the caller's one, or every
 * marketplace for the operator of all), by id, into an array of a. */
pl_err svc_policy_models(svc *s, const svc_caller *c, pl_arena *a, svc_policy_model_status **out, size_t *n,
                         pl_detail *d);
/* The model version a marketplace's messages are checked with now ("" when the policy
 * has no classifier), as in the verdicts' engine; into out. */
pl_err svc_policy_model_version(svc *s, const char *marketplace_id, char out[17], pl_detail *d);

/* Messages recorded since start by delivery status (indexed by st_msg_status), for /metrics. */
void svc_message_counts(svc *s, unsigned long out[ST_STATUS_N]);

/* ---- what an operator alerts on (/metrics; docs/operations.md "Metrics and alerts") ---- */
/* What became of one try to deliver an outbox mail. */
typedef enum {
  SVC_DELIVERY_DELIVERED = 0, /* the relay took it */
  SVC_DELIVERY_RETRIED,       /* tried again later */
  SVC_DELIVERY_FAILED,        /* given up for good */
  SVC_DELIVERY_N
} svc_delivery_result;
/* "delivered", "retried", "failed" (static). */
const char *svc_delivery_result_name(svc_delivery_result r);

/* How an LMTP/SMTP transaction that reached the end of its DATA ended: every recipient
 * taken, some deferred (the relay tries again), or else some refused. */
typedef enum { SVC_MAIL_TXN_DELIVERED = 0, SVC_MAIL_TXN_DEFERRED, SVC_MAIL_TXN_REFUSED, SVC_MAIL_TXN_N } svc_mail_txn;
/* "delivered", "deferred", "refused" (static). */
const char *svc_mail_txn_name(svc_mail_txn r);
/* Counts one mail transaction (mail_server.c). */
void svc_count_mail_txn(svc *s, svc_mail_txn r);

#define SVC_POLICY_ACTIONS 3  /* deliver, review, reject: policy_action's values */
#define SVC_MAX_CATEGORIES 32 /* room for policy_categories(); svc_new checks it */

/* The operator's counters since start, copied. */
typedef struct {
  unsigned long deliveries[ST_OUTBOX_KIND_N][SVC_DELIVERY_N]; /* by outbox kind, result */
  unsigned long verdicts[SVC_POLICY_ACTIONS];                 /* seller messages, by policy_action */
  unsigned long findings[SVC_MAX_CATEGORIES];                 /* by the index in policy_categories() */
  unsigned long mail_txns[SVC_MAIL_TXN_N];
} svc_op_counters;
void svc_op_counters_get(svc *s, svc_op_counters *out);

/* The store-wide figures (pending mail, the review queue) as of at most a second ago:
 * the store is asked at most once a second whatever the number of callers, so that
 * scraping /metrics cannot be used to load it. *now is the service's clock, against
 * which the figures' times are ages. PL_ESTORE when the store did not answer. */
pl_err svc_ops_figures(svc *s, st_ops_figures *out, pl_time *now);

/* ---- parties (parley admin, import, demo) --------------------------------------- */
typedef struct {
  const char *id, *name, *locale;
  const char *const *domains; /* NULL-terminated */
  const char *settings_json;  /* the marketplace's rule settings (docs/rules.md), or NULL */
} svc_marketplace_in;

typedef struct {
  const char *id, *marketplace_id, *name, *email;
} svc_seller_in;

typedef struct {
  const char *id, *name, *email, *locale;
  bool opt_out;
} svc_buyer_in;

pl_err svc_marketplace_put(svc *s, const svc_marketplace_in *in, pl_detail *d);
pl_err svc_seller_put(svc *s, const svc_seller_in *in, pl_detail *d);
pl_err svc_agent_add(svc *s, const char *seller_id, const char *name, const char *role,
                     int64_t *id_out, pl_detail *d);
pl_err svc_buyer_put(svc *s, const svc_buyer_in *in, pl_detail *d);

/* Creates a token; *token_out (malloc'd) is shown once and stored only hashed.
 * subject: "ops name" for operators, agent id for agents, buyer id for buyers. A
 * deactivated agent gets none (PL_EDEACTIVATED). */
pl_err svc_token_create(svc *s, st_principal_kind kind, const char *subject,
                        pl_time expires_at, char **token_out, pl_detail *d);

/* Signs in with a token: a new session token for the same caller (*session_out is
 * malloc'd), which ends SVC_SESSION_SECONDS from now or when the token it was signed in
 * with ends, whichever is first (*expires_out), and is revoked with it. A session token
 * cannot sign in again (PL_ERENEW): a session's end is absolute. */
#define SVC_SESSION_SECONDS (12 * 3600)
pl_err svc_session_create(svc *s, const char *token, const char *user_agent, pl_arena *a, char **session_out,
                          pl_time *expires_out, svc_caller *caller_out, pl_detail *d);
/* ---- accounts (svc_account.c; docs/api.md, "Accounts") ---- */
#define SVC_PASSWORD_MIN 10          /* characters */
#define SVC_PASSWORD_MAX 256         /* bytes: longer is PL_EPASSLONG */
#define SVC_SIGNIN_ATTEMPTS 10       /* sign-ins an hour per e-mail address */
#define SVC_SIGNIN_ADDRESS_ATTEMPTS 30 /* sign-ins (and reset asks) an hour per client address */
#define SVC_CODE_ATTEMPTS 10         /* authenticator codes an hour per account */
#define SVC_RESET_SECONDS 3600       /* a reset link's life */
#define SVC_CONFIRM_MAILS 5          /* address confirmations mailed an hour per principal */
/* Whether password may be an account's (PL_EMISSING, PL_EPASSLONG, PL_EWEAKPASS). */
pl_err svc_password_check(const char *password, const char *email, pl_detail *d);
/* Gives the principal (an operator's name, an agent's decimal id, a buyer's id) an account
 * with this address and password, or a new password when it has one (with the same
 * address; another is PL_ECONFLICT). An address of another account is PL_EEXIST. The
 * caller vouches for the address (an administrator, the demo): it is verified. */
pl_err svc_account_set(svc *s, st_principal_kind kind, const char *subject, const char *email,
                       const char *password, pl_detail *d);
/* Turns the principal's second factor off (a person who lost their authenticator app,
 * after the administrator made sure who asks): PL_ENOTFOUND without an account,
 * PL_ECONFLICT when it is not on. */
pl_err svc_account_totp_reset(svc *s, st_principal_kind kind, const char *subject, pl_detail *d);
typedef struct {
  const char *email, *password;
  const char *code;        /* the authenticator's code, when the account asks for one */
  const char *client_addr; /* for the attempts per client address (NULL: not counted) */
  const char *user_agent;  /* shown in the sessions' list */
} svc_signin_in;
/* Signs in with an address and a password (and code): a session as svc_session_create's.
 * PL_ESIGNIN for an unknown address or a wrong password alike (the same work is done
 * for both), PL_EATTEMPTS past the attempts an hour, PL_ETOTPNEEDED / PL_ETOTPBAD. */
pl_err svc_session_password(svc *s, const svc_signin_in *in, pl_arena *a, char **session_out,
                            pl_time *expires_out, svc_caller *caller_out, pl_detail *d);
/* The caller's account: {"account":{"email","totp","totp_pending","password_set_at",
 * "created_at"}} or {"account":null}. */
pl_err svc_account_get(svc *s, const svc_caller *c, pl_arena *a, json_t **out, pl_detail *d);
/* Sets the caller's password: the first makes the account (email required) with its
 * address unverified, and mails a link to confirm it (*mailed; until then the account
 * signs in to nothing: PL_EUNVERIFIED, and another person's account may take the
 * address); a change needs the current one (PL_EWRONGPASS) and ends the caller's other
 * sessions (*revoked). */
pl_err svc_password_change(svc *s, const svc_caller *c, const char *email, const char *current,
                           const char *password, long *revoked, bool *mailed, pl_detail *d);
/* Confirms an account's address from the mailed link (anyone holding it); PL_EBADLINK
 * for a link wrong, used, superseded or older than SVC_CONFIRM_SECONDS. */
pl_err svc_account_confirm(svc *s, const char *token, pl_detail *d);
/* Mails a reset link to the account of email, if there is one and none was mailed in the
 * last minute; the same PL_OK whatever the case (only the attempts per client address
 * may refuse). */
pl_err svc_password_reset_ask(svc *s, const char *email, const char *client_addr, pl_detail *d);
/* Sets the password of the link's account and ends its sessions; PL_EBADLINK for a link
 * wrong, used, superseded or older than SVC_RESET_SECONDS (one answer for all). */
pl_err svc_password_reset_confirm(svc *s, const char *token, const char *password, pl_detail *d);
/* The second factor: a new secret for the caller's account ({"secret","otpauth_uri",...}),
 * on once a code of it is confirmed (*recovery_codes: a JSON array of 10 new recovery
 * codes, shown once, each good once at sign-in in place of the app's code); off with a
 * current code (the recovery codes go with it). PL_ETOTPBAD, PL_EATTEMPTS. */
pl_err svc_totp_begin(svc *s, const svc_caller *c, pl_arena *a, json_t **out, pl_detail *d);
pl_err svc_totp_confirm(svc *s, const svc_caller *c, const char *code, pl_arena *a, json_t **recovery_codes,
                        pl_detail *d);
pl_err svc_totp_disable(svc *s, const svc_caller *c, const char *code, pl_detail *d);
/* A new set of recovery codes for the caller, for a current code of the app: the old set
 * stops working. PL_ECONFLICT when the second factor is off. */
pl_err svc_recovery_codes_renew(svc *s, const svc_caller *c, const char *code, pl_arena *a, json_t **recovery_codes,
                                pl_detail *d);
/* The caller's sessions ({"sessions":[...]}, the current one marked), one ended, or all
 * (but the current one when keep_current). */
pl_err svc_sessions_list(svc *s, const svc_caller *c, pl_arena *a, json_t **out, pl_detail *d);
pl_err svc_session_revoke_mine(svc *s, const svc_caller *c, int64_t id, pl_detail *d);
pl_err svc_sessions_revoke_all(svc *s, const svc_caller *c, bool keep_current, long *revoked,
                               pl_detail *d);

/* Invitations: an owner to their seller's team (role owner, agent, read_only), the
 * operator to any seller's team (seller_id) or to the operators (role "operator"). A link
 * is mailed (outbox), good once, for SVC_INVITE_SECONDS; at most SVC_INVITES_MAX pending
 * per seller (and for the operators): PL_EINVITES. */
#define SVC_INVITE_SECONDS (7 * 86400)
#define SVC_INVITES_MAX 50
pl_err svc_invitation_create(svc *s, const svc_caller *c, const char *email, const char *role,
                             const char *seller_id, pl_arena *a, json_t **out, pl_detail *d);
/* {"invitations":[...]}: the seller's (an owner's own; the operator's seller_id, or NULL:
 * the operators'), newest first, with their state. */
pl_err svc_invitation_list(svc *s, const svc_caller *c, const char *seller_id, pl_arena *a,
                           json_t **out, pl_detail *d);
pl_err svc_invitation_revoke(svc *s, const svc_caller *c, int64_t id, pl_detail *d);
/* Anyone with the link: makes the agent (or operator) named name with its account and
 * password, and signs in as svc_session_password does. PL_EBADLINK for any bad link. */
pl_err svc_invitation_accept(svc *s, const char *token, const char *name, const char *password,
                             const char *user_agent, pl_arena *a, char **session_out,
                             pl_time *expires_out, svc_caller *caller_out, pl_detail *d);

/* Revokes a token (sign-out). */
pl_err svc_token_revoke(svc *s, const char *token, pl_detail *d);

/* Where a token is presented: parley's own API (and the web), or the SP-API operations.
 * SP-API access tokens are valid only on the latter, every other token only on the
 * former (PL_ESCOPE). */
typedef enum { SVC_SURFACE_API = 0, SVC_SURFACE_SPAPI } svc_surface;

/* The names a person is shown by (GET /v1/me): an agent's own and the seller's, a
 * buyer's; an operator has none. NULL where the store has none. Strings in a. */
typedef struct {
  const char *name, *seller_name;
} svc_me_names_out;
pl_err svc_me_names(svc *s, const svc_caller *c, pl_arena *a, svc_me_names_out *out, pl_detail *d);

/* Resolves a bearer token of the own API to its caller: PL_EUNAUTH (unknown),
 * PL_EEXPIRED, PL_EREVOKED, PL_EDEACTIVATED (its agent) or PL_ESCOPE. */
pl_err svc_authenticate(svc *s, const char *token, pl_arena *a, svc_caller *out, pl_detail *d);
pl_err svc_authenticate_as(svc *s, const char *token, svc_surface surface, pl_arena *a,
                           svc_caller *out, pl_detail *d);
/* Checks again that an authenticated caller's token still holds (not revoked, not
 * expired, its agent active): for long-lived requests such as event streams. */
pl_err svc_caller_check(svc *s, const svc_caller *c, pl_detail *d);
/* Moves whenever a token may have been revoked (here, or by another process on the store
 * as seen at the last cluster tick): holders of long-lived requests check again. */
uint64_t svc_revocation_epoch(svc *s);

/* ---- identities (svc_ident.c; docs/api.md "Tokens") --------------------------------- */
/* The caller may be NULL: the administrator (parley admin). Otherwise the operator sees
 * and acts on every token and agent, a seller's owner on those of the seller's agents
 * (another seller's are PL_ENOTFOUND), anyone else is PL_EFORBIDDEN. */
#define SVC_TOKEN_LIST_MAX 1000
/* Tokens, newest first (revoked and expired ones with all); never their secret. */
pl_err svc_token_list(svc *s, const svc_caller *c, bool all, pl_arena *a, st_token **out, size_t *n,
                      pl_detail *d);
/* Revokes a token by id, and the sessions signed in with it; at once everywhere, open
 * event streams included. *revoked: how many tokens this revoked (0: already revoked). */
pl_err svc_token_revoke_id(svc *s, const svc_caller *c, int64_t id, long *revoked, pl_detail *d);
/* Deactivates an agent: revokes its tokens and sessions, and it can no longer sign in or
 * be assigned; its messages and audit entries stay. An owner cannot deactivate
 * themselves. *revoked: the tokens revoked. */
pl_err svc_agent_deactivate(svc *s, const svc_caller *c, int64_t agent_id, long *revoked,
                            pl_detail *d);
/* {"id","kind","scope","owner","seller_id","created_at","last_used_at","expires_at",
 * "revoked_at","parent_id"}: a token as administrators see it. */
json_t *svc_json_token(const st_token *t);

/* ---- orders --------------------------------------------------------------------- */
/* Parses an order object (the import format, `id` optional when id is given) into o. */
pl_err svc_order_from_json(json_t *obj, const char *id, pl_arena *a, st_order *o, pl_detail *d);
/* Operator: insert or update an order. *created tells which. */
pl_err svc_order_put(svc *s, const svc_caller *c, const st_order *o, bool *created, pl_detail *d);
pl_err svc_order_get(svc *s, const svc_caller *c, const char *id, pl_arena *a, st_order *out,
                     pl_detail *d);

/* The caller's orders (a buyer's own, a seller's, or all for the operator), newest first. */
pl_err svc_order_list(svc *s, const svc_caller *c, pl_time cursor_at, const char *cursor_id,
                      int limit, pl_arena *a, st_order **out, size_t *n, pl_detail *d);

/* ---- threads and messages ------------------------------------------------------- */
typedef struct {
  const char *order_id;  /* post-purchase */
  const char *asin;      /* pre-purchase, with seller_id */
  const char *seller_id;
  const char *topic;
  const char *text;
} svc_start_in;

typedef struct {
  const char *text;
  bool auto_reply;
  const char *ext_id;   /* import only */
  pl_time at;           /* import only: 0 = now */
  const char *status;   /* import only: recorded status */
  const char *const *attachments; /* ids of the sender's own uploads (svc_attachment_create) */
  size_t nattachments;
  /* team work (svc_team.h), seller replies only: */
  int64_t template_id;  /* render this template instead of text */
  json_t *values;       /* the template's placeholder values (borrowed), or NULL */
  int64_t after;        /* the last message the writer saw; 0 = not checked */
  bool confirm;         /* send even though the thread moved on since `after` */
  int64_t proposal_id;  /* the rule's proposal this reply sends, or 0 */
  /* A seller's reply by e-mail: a finding inside text parley forwarded earlier in the
   * thread (an earlier message quoted verbatim, an alias) is not the seller's, and one
   * that may be quoted history is held for review rather than counted (svc_mail.c). */
  bool by_mail;
} svc_send_in;

/* A message's fate as the sender sees it: the stored message, and for seller
 * messages the policy verdict (owned by the caller: policy_verdict_free). */
/* Where a finding of a message's verdict was found: in an attachment's text (its id,
 * name, page and source), or in the message text (attachment NULL). */
typedef struct {
  const char *attachment, *name, *source;
  unsigned page;
} svc_finding_origin;

typedef struct {
  st_message msg;
  policy_verdict verdict;
  svc_finding_origin *origins; /* one per verdict finding (arena), or NULL: all in the text */
  double rate_limit;           /* an agent's send: the seller's sends a second, as the send
                                * read it (0: not read, svc_rate_limit tells) */
} svc_sent;

pl_err svc_thread_start(svc *s, const svc_caller *c, const svc_start_in *in, pl_arena *a,
                        st_thread *t_out, svc_sent *m_out, pl_detail *d);
/* Sends in a thread. A seller message the policy rejects is stored as rejected and
 * the call returns PL_EPOLICY with m_out filled. */
pl_err svc_send(svc *s, const svc_caller *c, int64_t thread_id, const svc_send_in *in,
                pl_arena *a, svc_sent *m_out, pl_detail *d);

/* A thread and every message of it (the caller filters with svc_message_visible). */
pl_err svc_thread_get(svc *s, const svc_caller *c, int64_t id, pl_arena *a, st_thread *t,
                      st_message **msgs, size_t *nmsgs, pl_detail *d);
/* A thread and one page of its messages (docs/api.md): the newest `limit` the caller may
 * see before message `before` (0: from the newest), oldest first; *older is the `before`
 * of the page before it (0 on the first page). PL_EPAGE when `before` is not a message of
 * the thread the caller sees. before 0 and limit 0: as svc_thread_get. */
pl_err svc_thread_page(svc *s, const svc_caller *c, int64_t id, int64_t before, int limit, pl_arena *a,
                       st_thread *t, st_message **msgs, size_t *nmsgs, int64_t *older, pl_detail *d);
pl_err svc_thread_list(svc *s, const svc_caller *c, st_thread_query *q, pl_arena *a,
                       st_thread **out, size_t *n, int64_t *response_needed, pl_detail *d);
/* The newest message the caller sees of each of the n threads (as svc_thread_list gave
 * them), for a line in the list: its text as the caller sees it (a seller sees a buyer's
 * contact details masked, the mask applied to the whole text before it is cut), cut to
 * SVC_PREVIEW_CHARS characters with "…", and who wrote it. out[i] is NULL where the thread
 * has no such message. Allocated in a. PL_ESTORE. */
typedef struct {
  const char *text;
  bool from_buyer;
} svc_preview;
enum { SVC_PREVIEW_CHARS = 120 };
pl_err svc_thread_previews(svc *s, const svc_caller *c, const st_thread *ts, size_t n, pl_arena *a,
                           svc_preview **out, pl_detail *d);

pl_err svc_thread_archive(svc *s, const svc_caller *c, int64_t id, bool archived, pl_arena *a,
                          st_thread *out, pl_detail *d);
pl_err svc_thread_read(svc *s, const svc_caller *c, int64_t id, pl_arena *a, st_thread *out,
                       pl_detail *d);
/* Flags (value=true) or unflags a buyer message as needing no response. */
pl_err svc_flag(svc *s, const svc_caller *c, int64_t message_id, bool value, pl_time at,
                pl_arena *a, st_message *out, pl_detail *d);

/* Operator: the thread as evidence, with every event and its audit chain. */
pl_err svc_thread_export(svc *s, const svc_caller *c, int64_t id, pl_arena *a, json_t **out,
                         pl_detail *d);

/* A buyer's text as the seller sees it: the buyer's own phone numbers and e-mail
 * addresses replaced by a placeholder, so that the conversation stays on the
 * marketplace (the setting mask_buyer_contacts; the record keeps the original). The
 * result is in the arena; text itself when nothing is masked. */
const char *svc_mask_contacts(svc *s, const char *marketplace_id, const char *text, pl_arena *a);
/* The same for a buyer's file name (read as a sentence: "call-me-415-555-0199.pdf"). */
const char *svc_mask_file_name(svc *s, const char *marketplace_id, const char *name, pl_arena *a);

/* Indexes the buyer messages the seller's search index does not hold yet (written before
 * it existed), masked; *done gets their number. Run when the server starts. */
pl_err svc_seller_index_backfill(svc *s, size_t *done, pl_detail *d);

/* A dry run of the policy for the caller's marketplace (compose-as-you-type). The
 * verdict is the caller's to free. */
pl_err svc_policy_check(svc *s, const svc_caller *c, const char *text, const char *marketplace_id,
                        pl_arena *a, policy_verdict *out, pl_detail *d);

/* ---- marketplace rules (svc_rules.c; docs/rules.md) ------------------------------ */
typedef struct {
  const struct svc_action_def *def; /* name, criticality, limits */
  bool available;
  const char *reason; /* why not, when not available (static) */
} svc_action_status;

/* Every message action with whether it is available for the order now, and why not.
 * out has room for SVC_ACT_COUNT entries (svc_rules.h). */
pl_err svc_order_actions(svc *s, const svc_caller *c, const char *order_id, pl_arena *a,
                         svc_action_status *out, pl_detail *d);

typedef struct {
  const char *text;                         /* NULL: the action's own wording */
  const char *coverage_start, *coverage_end; /* warranty */
  const char *const *attachments;           /* attachment ids */
  size_t nattachments;
  /* Called in the message's own transaction once it is stored (a bulk notice records its
   * item there, so that an order gets its message once); an error rolls it back. */
  pl_err (*in_tx)(svc *s, const svc_sent *sent, void *ctx);
  void *in_tx_ctx;
} svc_action_in;

/* Sends a message action for an order (creating its thread when needed). A seller
 * message in a thread without a buyer message is proactive: restrictions apply, and
 * a non-critical one is not delivered to a buyer who opted out. */
pl_err svc_send_action(svc *s, const svc_caller *c, const char *order_id, const char *action,
                       const svc_action_in *in, pl_arena *a, svc_sent *out, pl_detail *d);
/* The marketplace's review request: once per order, within the review window. */
pl_err svc_request_review(svc *s, const svc_caller *c, const char *order_id, pl_arena *a,
                          svc_sent *out, pl_detail *d);
/* Whether a review can be requested for the order now; when not, why holds the reason
 * (the error svc_request_review would give). Takes from the getSolicitationActionsForOrder
 * rate bucket. */
pl_err svc_review_available(svc *s, const svc_caller *c, const char *order_id, pl_arena *a,
                           bool *available, pl_detail *why, pl_detail *d);
/* The buyer's locale, for the seller of the order. */
pl_err svc_buyer_attributes(svc *s, const svc_caller *c, const char *order_id, pl_arena *a,
                            char **locale, pl_detail *d);
/* Whether the buyer opted out of non-critical proactive messages. */
/* The buyer's preferences: {"opt_out": bool, "blocked_sellers": [seller ids]}. */
pl_err svc_buyer_preferences(svc *s, const svc_caller *c, pl_arena *a, json_t **out, pl_detail *d);
/* Sets what in gives of them: "opt_out" (no non-critical proactive message from any
 * seller) and "blocked_sellers" (the whole list: none of those sellers' non-critical
 * proactive messages; docs/rules.md "Replies and proactive messages"). The seller sees only "not
 * delivered", as for any failed delivery. PL_EMISSING, PL_ETYPE, PL_ETOOMANY (over
 * SVC_MAX_BLOCKED_SELLERS), PL_ENOTFOUND (no such seller). *out: the preferences after. */
#define SVC_MAX_BLOCKED_SELLERS 100
pl_err svc_buyer_preferences_set(svc *s, const svc_caller *c, json_t *in, pl_arena *a, json_t **out, pl_detail *d);

/* The operator's review queue: held messages, oldest first; approve delivers, reject
 * records a violation. */
pl_err svc_held_list(svc *s, const svc_caller *c, int limit, pl_arena *a, st_message **out,
                     size_t *n, pl_detail *d);
pl_err svc_review_decide(svc *s, const svc_caller *c, int64_t message_id, bool approve,
                         const char *note, pl_arena *a, st_message *m, pl_detail *d);

/* A seller's enforcement state and recent violations (the seller's own, or any for
 * the operator). */
pl_err svc_enforcement_get(svc *s, const svc_caller *c, const char *seller_id, pl_arena *a,
                           st_enforcement *out, st_violation **vs, size_t *nv, pl_detail *d);
/* What the operator does to a seller (docs/rules.md), by the name a request gives. */
#define SVC_ENFORCEMENT_ACTION_MAP(X)                 \
  X(SVC_ENF_RESTRICT, "restrict")                     \
  X(SVC_ENF_LIFT_RESTRICTION, "lift_restriction")     \
  X(SVC_ENF_QUOTA, "quota")                           \
  X(SVC_ENF_LIFT_QUOTA, "lift_quota")                 \
  X(SVC_ENF_FLAG, "flag")                             \
  X(SVC_ENF_UNFLAG, "unflag")
typedef enum { SVC_ENF_NONE = 0, SVC_ENFORCEMENT_ACTION_MAP(PL_NAMES_ENUM) } svc_enforcement_action;
/* pl_names.h: the name of an action (NULL for none), and the action of a name. */
const char *svc_enforcement_action_name(svc_enforcement_action v);
pl_err svc_enforcement_action_from_name(const char *name, svc_enforcement_action *out);
typedef struct {
  const char *action; /* a name of SVC_ENFORCEMENT_ACTION_MAP */
  int64_t days, quota_per_day;
  const char *reason; /* required: the seller sees it */
} svc_enforcement_in;
pl_err svc_enforcement_set(svc *s, const svc_caller *c, const char *seller_id,
                           const svc_enforcement_in *in, pl_arena *a, st_enforcement *out,
                           pl_detail *d);

/* The request rate per second allowed per seller and operation on a marketplace. */
double svc_rate_limit(svc *s, const char *marketplace_id);

/* ---- the 24-hour clock (svc_sla.c; docs/metrics.md) ------------------------------- */
/* A seller's response metrics for the window of window_s seconds ending at `at`
 * (0: now): the seller's own agents or the operator. verify also recomputes from the
 * raw events and fails with PL_EINTERNAL when the two differ. */
/* Checks what the events keep one at a time against a recomputation (docs/metrics.md):
 * the thread's stored summary against its messages, its buyer messages' stored clock
 * outcomes and thread outcome against sla_thread_eval() of its events, and its seller's
 * hourly buckets against sla_buckets_build() of all the seller's events. Reads only;
 * PL_EINTERNAL naming the first difference. */
pl_err svc_thread_verify(svc *s, int64_t thread_id, pl_detail *d);

pl_err svc_metrics(svc *s, const svc_caller *c, const char *seller_id, pl_time at, int64_t window_s,
                   bool verify, pl_arena *a, sla_metrics *out, pl_detail *d);

/* One seller's health for the operator: 30-day metrics and enforcement. */
typedef struct {
  st_seller seller;
  sla_metrics metrics;
  st_enforcement enforcement;
} svc_health;
/* Every seller (of the operator's marketplace), riskiest first. */
pl_err svc_seller_health(svc *s, const svc_caller *c, pl_arena *a, svc_health **out, size_t *n,
                         pl_detail *d);
bool svc_health_riskier(const svc_health *x, const svc_health *y);
/* Records a claim against one of the seller's orders (the operator): {"order_id","kind"
 * (a_to_z, chargeback, negative_feedback),"at"?} -> {"claim":{...}}; PL_EEXIST when the
 * order has it already. */
pl_err svc_claim_add(svc *s, const svc_caller *c, const char *seller_id, json_t *in, pl_arena *a, json_t **out,
                     pl_detail *d);
/* The seller's claims, newest first (the operator, the seller's agents): {"claims":[...]}. */
pl_err svc_claims_list(svc *s, const svc_caller *c, const char *seller_id, pl_arena *a, json_t **out, pl_detail *d);
#define SVC_HEALTH_SECONDS 900 /* between looks at every seller's response-time status */
/* Every SVC_HEALTH_SECONDS: records each seller's response-time status (30 days) and tells
 * the operator's webhooks (seller.at_risk) of a seller that became at risk, once a change. */
pl_err svc_health_tick(svc *s);

/* ---- live events ------------------------------------------------------------------ */
/* What changed, for live updates (Server-Sent Events). Kept in a ring of the most
 * recent SVC_EVENT_RING events this process published or heard of from the other nodes
 * of its store; seq is the place in this process's ring (from 1), id names the event
 * the same on every node (what clients see, and resume after). */
#define SVC_EVENT_RING 4096

/* An event's type and its name (the SSE event name and the type between the nodes);
 * resync: events may have been missed, reload. */
#define SVC_EVENT_TYPE_MAP(X)        \
  X(SVC_EVENT_MESSAGE, "message")    \
  X(SVC_EVENT_THREAD, "thread")      \
  X(SVC_EVENT_DEADLINE, "deadline")  \
  X(SVC_EVENT_RESYNC, "resync")

typedef enum {
  SVC_EVENT_UNKNOWN = 0,
#define SVC__EVENT_ENUM(name, text) name,
  SVC_EVENT_TYPE_MAP(SVC__EVENT_ENUM)
#undef SVC__EVENT_ENUM
} svc_event_type;

/* The name of an event type (a static string; NULL for SVC_EVENT_UNKNOWN), and the type
 * of a name (unknown: *out = SVC_EVENT_UNKNOWN and PL_EINVAL). */
const char *svc_event_type_name(svc_event_type t);
pl_err svc_event_type_from_name(const char *name, svc_event_type *out);

typedef struct {
  uint64_t seq;
  uint64_t id;         /* milliseconds since 2026, the node, a counter: < 2^60 */
  svc_event_type type;
  int64_t thread_id, message_id;
  int64_t due_at;      /* deadline events: when the response is due */
  /* message events: the message's direction, status and kind (a note is the team's);
   * 0 for the other events */
  st_direction from;
  st_msg_status status;
  st_msg_kind kind;
  char seller_id[65], buyer_id[65], marketplace_id[65];
} svc_event;

/* Copies up to max events after `after` that the caller may see into out; returns
 * their number. *latest gets the newest sequence number; *gap is set when events
 * after `after` were already dropped from the ring (the client should reload). */
size_t svc_events_since(svc *s, const svc_caller *c, uint64_t after, svc_event *out, size_t max,
                        uint64_t *latest, bool *gap);
/* Publishes a "deadline" event for every thread whose oldest waiting buyer message
 * crossed its alert mark (less than alert_hours left, docs/rules.md) since the last
 * tick; the first tick looks back one tick interval. Called by the server's timer. */
pl_err svc_deadline_tick(svc *s);

/* The newest event's sequence number (0 when none yet). */
uint64_t svc_events_latest(svc *s);
/* Joins the live events of the other nodes of the store (PostgreSQL): from now on this
 * process's events reach them and theirs reach its streams. A no-op on SQLite. */
pl_err svc_events_share(svc *s, pl_detail *d);
/* The place in the ring of the event a client last saw (by its id), to resume after it,
 * on whichever node; false when the ring no longer (or never) held it. */
bool svc_events_position(svc *s, uint64_t id, uint64_t *seq);
/* Called (from the publishing thread, after the commit) whenever an event is
 * published; one hook per service. */
void svc_set_event_hook(svc *s, void (*fn)(void *ctx), void *ctx);

/* ---- import --------------------------------------------------------------------- */
/* A batch: the operations between begin and end share one store transaction, each
 * in a savepoint of its own (a failed one undoes only itself). For bulk imports, where
 * one commit per line would cost one disk flush per line. Not for concurrent use. */
pl_err svc_batch_begin(svc *s, pl_detail *d);
pl_err svc_batch_end(svc *s, bool commit, pl_detail *d);

/* Imports one line of the import format; history as it was (no policy scan,
 * timestamps kept). Nothing of a failed line is stored. */
pl_err svc_import_line(svc *s, const char *line, size_t len, pl_detail *d);

/* ---- views: the JSON a party sees (visibility rules live here) ------------------ */
json_t *svc_json_thread(const svc_caller *c, const st_thread *t);
json_t *svc_json_message(const svc_caller *c, const st_message *m);
json_t *svc_json_order(const st_order *o);
json_t *svc_json_findings(const policy_verdict *v);
/* The locale of a buyer (en-US...), or NULL when unknown; for the views of a thread. */
const char *svc_buyer_locale(svc *s, const char *buyer_id, pl_arena *a);
/* True when the caller may see message m (buyers see only delivered seller messages). */
bool svc_message_visible(const svc_caller *c, const st_message *m);

/* Ids as clients see them: a prefix and 12 characters that reveal no volume
 * ("T7kq2m0x9d4cz"; util/pl_ref.h), and back. The audit log and other records keep the
 * store's own ids (svc__record_ref), which stay the same whatever the key. */
char *svc_ref(pl_arena *a, const char *prefix, int64_t id);
char *svc_thread_ref(pl_arena *a, int64_t id);
char *svc_message_ref(pl_arena *a, int64_t id);
bool svc_parse_ref(const char *ref, char prefix, int64_t *id);

/* ---- retention and legal holds (svc_retention.c; docs/rules.md "Retention") -------------- */
#define SVC_RETENTION_MIN_DAYS 180 /* the shortest retention a marketplace may set */
/* The operator keeps a thread whatever its age: {"reason"} (1 to 500 characters) ->
 * {"legal_hold":{"thread_id","seller_id","reason","set_by","set_at"}}; again: a new reason.
 * Another marketplace's thread is PL_ENOTFOUND, anyone but the operator PL_EFORBIDDEN. */
pl_err svc_legal_hold_set(svc *s, const svc_caller *c, const char *thread_ref, json_t *in, pl_arena *a, json_t **out,
                          pl_detail *d);
/* The thread's hold -> {"legal_hold"}, null without one. */
pl_err svc_legal_hold_get(svc *s, const svc_caller *c, const char *thread_ref, pl_arena *a, json_t **out,
                          pl_detail *d);
/* Releases it -> {"thread_id","released":true}; PL_ENOTFOUND without one. */
pl_err svc_legal_hold_release(svc *s, const svc_caller *c, const char *thread_ref, pl_arena *a, json_t **out,
                              pl_detail *d);
/* The operator's holds by thread, after thread after_ref (NULL: from the start), at most
 * limit (1..200) -> {"legal_holds":[...],"next"}. */
pl_err svc_legal_hold_list(svc *s, const svc_caller *c, const char *after_ref, int limit, pl_arena *a, json_t **out,
                           pl_detail *d);
/* Purges at most max (0: 500) threads whose last message is older than their
 * marketplace's retention_days and that no legal hold keeps, each in a transaction of its
 * own, audited as thread.purge; *purged: how many. The clean-up worker runs it. */
pl_err svc_retention_sweep(svc *s, size_t max, size_t *purged, pl_detail *d);

/* ---- the audit log (svc_audit.c; docs/scaling.md) --------------------------------------- */
/* Writes a signed checkpoint over every chain's head, unless nothing was appended since
 * the last one (force: always). out is the checkpoint written, or the last one. */
pl_err svc_audit_checkpoint(svc *s, bool force, pl_arena *a, st_audit_checkpoint *out, bool *written,
                            pl_detail *d);
/* Called by the server's timer: a checkpoint every audit_checkpoint_seconds. */
void svc_audit_tick(svc *s);
/* The Ed25519 public key that signs checkpoints, as hex (derived from the key file). */
void svc_audit_public_key(svc *s, char hex[65]);

typedef struct {
  size_t chains, entries, checkpoints;
  size_t problems;          /* 0: every chain links and every checkpoint holds */
  char first_problem[256];
  char public_key[65];
} svc_audit_report;
/* Checks every chain (each entry's link and hash, each head) and every checkpoint (its
 * signature, its root, and that every head it signed is still in its chain). */
pl_err svc_audit_verify(svc *s, svc_audit_report *r, pl_detail *d);

/* ---- SP-API compatibility (svc_spapi.c; docs/spapi.md) ------------------------------ */
/* Access tokens of the token endpoint live this long, as LWA's do. */
#define SVC_SPAPI_TOKEN_SECONDS 3600
/* createUploadDestinationForResource's usage plan (Uploads model): 10 a second, burst 10. */
#define SVC_SPAPI_UPLOAD_RATE 10.0
#define SVC_SPAPI_UPLOAD_BURST 10.0

typedef struct {
  char *client_id, *client_secret, *refresh_token;
} svc_spapi_credentials;

/* Issues a seller's SP-API application credentials (arena strings, shown once): the
 * first time, a dedicated agent "SP-API" and a client id; every time, a new secret and
 * refresh token, which replace the previous ones (only hashes are stored). */
pl_err svc_spapi_credentials_issue(svc *s, const char *seller_id, pl_arena *a,
                                   svc_spapi_credentials *out, pl_detail *d);

typedef enum { SVC_SPAPI_GRANT_REFRESH = 1, SVC_SPAPI_GRANT_CLIENT } svc_spapi_grant_type;
typedef struct {
  svc_spapi_grant_type type;
  const char *client_id, *client_secret, *refresh_token, *scope;
  int64_t ttl; /* seconds; 0 = SVC_SPAPI_TOKEN_SECONDS */
} svc_spapi_grant;

/* An access token (malloc'd) acting as the client's seller agent, expiring after the
 * ttl. PL_EMISSING: a parameter is missing; PL_EUNAUTH: unknown client or wrong secret;
 * PL_EFORBIDDEN: the refresh token is not the client's current one. */
pl_err svc_spapi_token(svc *s, const svc_spapi_grant *g, pl_arena *a, char **access_token,
                       pl_detail *d);

/* A new upload destination for the caller's seller: content_md5 base64 (or hex), kept
 * normalised to base64; rate-limited as the Uploads model states. */
pl_err svc_spapi_upload_create(svc *s, const svc_caller *c, const char *resource,
                               const char *content_md5, const char *content_type, pl_arena *a,
                               st_spapi_upload *out, pl_detail *d);
/* The bytes for an upload destination: checked against its Content-MD5 (and the
 * request's Content-MD5 header when given), then handed to the attachment store. */
pl_err svc_spapi_upload_receive(svc *s, const char *id, const void *data, size_t len,
                                const char *content_md5, pl_arena *a, pl_detail *d);
/* The attachment an upload destination of the caller's seller received, for a message
 * action; PL_EINVAL when unknown, another seller's, or still empty. */
pl_err svc_spapi_upload_attachment(svc *s, const svc_caller *c, const char *id, pl_arena *a,
                                   char **attachment_id, pl_detail *d);

/* ---- attachments (svc_attach.c; docs/attachments.md) -------------------------------- */
#define SVC_ATTACHMENT_MAX_BYTES 10000000 /* at most 10 MB a file (docs/attachments.md), unless
                                          * the marketplace says otherwise ... */
#define SVC_ATTACHMENT_CEILING 25000000   /* ... which it may up to this: what an upload can be */
#define SVC_MAX_ATTACHMENTS 16            /* a message's attachments */

/* An upload being received: the body goes to a temporary file in the attachment
 * directory as it arrives, hashed on the way, so that memory holds one chunk at most. */
typedef struct svc_upload svc_upload;
pl_err svc_upload_open(svc *s, svc_upload **out, pl_detail *d);
/* PL_ETOOLARGE once more than SVC_ATTACHMENT_MAX_BYTES arrived (the rest can be dropped). */
pl_err svc_upload_write(svc_upload *u, const void *data, size_t len, pl_detail *d);
/* Drops an upload and its temporary file. NULL is a no-op. */
void svc_upload_discard(svc_upload *u);

/* Turns a received upload into an attachment of the caller (agent or buyer), consuming
 * u: checks the Content-MD5 (base64, or NULL), decides the type by content and checks
 * the name against it, keeps the file once per content, and reads its text once (type
 * and text in one parley-reader run, see extract.h) for the policy. PL_EINVAL: MD5
 * mismatch; PL_ETOOLARGE, PL_EUNSUPPORTED, PL_EMISMATCH, PL_EEMPTY as extract_sniff and
 * extract_check_name say; PL_EUNREADABLE when the reader died before it could tell the
 * type. A file that could not be read is still stored, with readable false: a message
 * carrying it is held. */
pl_err svc_attachment_create(svc *s, const svc_caller *c, svc_upload *u, const char *name,
                             const char *content_md5, pl_arena *a, st_attachment *out,
                             pl_detail *d);
/* The same for bytes in memory (SP-API uploads). */
/* Uploads no message carries are removed this long after their upload (docs/attachments.md). */
#define SVC_UNATTACHED_MAX_AGE (24 * 3600)
/* Removes the records of uploads older than max_age seconds (0: the default above) that
 * no message carries, and their files when no other record names the same bytes.
 * *removed: how many records. A serving node runs it periodically (svc_sweeper). */
pl_err svc_attachments_sweep(svc *s, int64_t max_age, size_t *removed, pl_detail *d);
/* Deletes idempotency keys older than SVC_IDEMPOTENCY_SECONDS. */
#define SVC_IDEMPOTENCY_SECONDS (24 * 3600)
pl_err svc_idempotency_sweep(svc *s, int64_t *removed, pl_detail *d);
/* The periodic clean-up of a serving node: unattached uploads and expired idempotency
 * keys, every `interval` seconds (0: a minute). */
typedef struct svc_sweeper svc_sweeper;
pl_err svc_sweeper_start(svc *s, int64_t unattached_max_age, int interval, svc_sweeper **out,
                         pl_detail *d);
/* Changes the age and the interval of a running sweeper (a configuration reload); a shorter
 * interval sweeps at once. NULL is a no-op. */
void svc_sweeper_set(svc_sweeper *w, int64_t unattached_max_age, int interval);
void svc_sweeper_stop(svc_sweeper *w); /* NULL is a no-op */
pl_err svc_attachment_create_mem(svc *s, const svc_caller *c, const void *data, size_t len,
                                 const char *name, pl_arena *a, st_attachment *out, pl_detail *d);
/* One of the caller's own uploads (to check ids before keeping them, e.g. in a
 * template); another party's is PL_ENOTFOUND. */
pl_err svc_attachment_get(svc *s, const svc_caller *c, const char *id, pl_arena *a,
                          st_attachment *out, pl_detail *d);
/* Opens an attachment for download: the uploader, the parties of a thread whose
 * message carries it (a buyer: only messages delivered to them) and the operator;
 * anyone else gets PL_ENOTFOUND. *fd is the caller's to close. */
pl_err svc_attachment_open(svc *s, const svc_caller *c, const char *id, pl_arena *a,
                           st_attachment *out, int *fd, pl_detail *d);
/* A safe Content-Type to serve a kind with (never text/html). */
const char *svc_attachment_mime(const char *kind);
/* {"id","name","kind","size","sha256","readable"} */
json_t *svc_json_attachment(const st_attachment *a);
/* What every client may know before it calls (GET /v1/meta): the topics, the policy's
 * categories in words, and the limits on text and attachments of a marketplace (NULL: the
 * defaults), from the code that enforces them. PL_ENOTFOUND for an unknown marketplace. */
pl_err svc_meta(svc *s, const char *marketplace_id, pl_arena *a, json_t **out, pl_detail *d);
/* The findings of a sent message, each with the attachment and page it was found in. */
json_t *svc_json_sent_findings(const svc_sent *m);

/* ---- the JSON API's views (svc_view.c) -------------------------------------------------- */
/* Each takes a request's values as the client wrote them (NULL: not given), checks them
 * (PL_EINVAL or PL_EPAGE naming the value), calls the service and sets *out to the JSON
 * the API answers with (a new reference; docs/api.md has the shapes). The HTTP layer
 * handles requests and JSON only: no store row crosses into it. */
typedef struct {
  const char *filter, *sort, *order_id, *asin, *alias, *q, *tag, *assignee, *cursor;
  const char *since, *until; /* a date (YYYY-MM-DD, the whole day) or a time (ISO 8601) */
  const char *buyer;         /* a part of the buyer's name (the seller's team, the operator) */
  const char *all;           /* "true": no default window */
  long limit; /* 0: the service's default */
} svc_threads_in;
pl_err svc_view_threads(svc *s, const svc_caller *c, const svc_threads_in *in, pl_arena *a, json_t **out,
                        pl_detail *d);
pl_err svc_view_thread_start(svc *s, const svc_caller *c, const svc_start_in *in, pl_arena *a, json_t **out,
                             pl_detail *d);
/* {thread, order, messages, page}: one page of messages before `before` (a message id) */
pl_err svc_view_thread_page(svc *s, const svc_caller *c, int64_t id, const char *before, long limit, pl_arena *a,
                            json_t **out, pl_detail *d);
pl_err svc_view_thread_read(svc *s, const svc_caller *c, int64_t id, pl_arena *a, json_t **out, pl_detail *d);
pl_err svc_view_thread_archive(svc *s, const svc_caller *c, int64_t id, bool archived, pl_arena *a, json_t **out,
                               pl_detail *d);
pl_err svc_view_flag(svc *s, const svc_caller *c, int64_t message_id, bool value, pl_arena *a, json_t **out,
                     pl_detail *d);
pl_err svc_view_review_decide(svc *s, const svc_caller *c, int64_t message_id, bool approve, const char *note,
                              pl_arena *a, json_t **out, pl_detail *d);
/* the note as a message (not wrapped) */
pl_err svc_view_note(svc *s, const svc_caller *c, int64_t thread_id, const char *text, pl_arena *a, json_t **out,
                     pl_detail *d);
pl_err svc_view_held(svc *s, const svc_caller *c, pl_arena *a, json_t **out, pl_detail *d);
pl_err svc_view_order_put(svc *s, const svc_caller *c, const char *id, json_t *body, pl_arena *a, bool *created,
                          json_t **out, pl_detail *d);
pl_err svc_view_order_get(svc *s, const svc_caller *c, const char *id, pl_arena *a, json_t **out, pl_detail *d);
pl_err svc_view_orders(svc *s, const svc_caller *c, const char *cursor, long limit, pl_arena *a, json_t **out,
                       pl_detail *d);
pl_err svc_view_enforcement(svc *s, const svc_caller *c, const char *seller_id, pl_arena *a, json_t **out,
                            pl_detail *d);
pl_err svc_view_enforcement_set(svc *s, const svc_caller *c, const char *seller_id, const svc_enforcement_in *in,
                                pl_arena *a, json_t **out, pl_detail *d);
pl_err svc_view_sellers(svc *s, const svc_caller *c, pl_arena *a, json_t **out, pl_detail *d);
pl_err svc_view_tokens(svc *s, const svc_caller *c, bool all, pl_arena *a, json_t **out, pl_detail *d);
/* A sent (or refused) message as the caller sees it, and its id. */
json_t *svc_json_sent(const svc_caller *c, const svc_sent *m);
const char *svc_sent_ref(pl_arena *a, const svc_sent *m);
/* {attachment}, and the attachment's id (arena) */
pl_err svc_view_attachment_create(svc *s, const svc_caller *c, svc_upload *u, const char *name, const char *md5,
                                  pl_arena *a, json_t **out, const char **id, pl_detail *d);
/* An attachment to serve: fd (the caller closes it), a safe Content-Type and its name. */
typedef struct {
  int fd;
  const char *mime, *name;
} svc_file;
pl_err svc_view_attachment_open(svc *s, const svc_caller *c, const char *id, pl_arena *a, svc_file *out,
                                pl_detail *d);
/* An SP-API upload destination as created (svc_spapi_upload_create). */
typedef struct {
  const char *id, *content_md5, *content_type;
} svc_upload_dest;
pl_err svc_view_spapi_upload(svc *s, const svc_caller *c, const char *resource, const char *md5, const char *type,
                             pl_arena *a, svc_upload_dest *out, pl_detail *d);
/* The store's transaction timings, for /metrics (store_tx_bounds, store_tx_durations). */
const double *svc_tx_bounds(size_t *n);
void svc_tx_durations(bool write, st_tx_durations *out);

/* ---- backup and restore (svc_backup.c; docs/operations.md) ------------------------------ */
typedef struct {
  long long db_bytes;          /* the database copy */
  long long files, file_bytes; /* attachment files */
} svc_backup_result;

/* A consistent copy of the SQLite store at db (its online backup, while it serves) and of the
 * attachment files in files_dir (NULL: none), each checked against its name, into the new or
 * empty directory to, with manifest.json. PL_EINVAL for a PostgreSQL store (its own tools). */
pl_err svc_backup(const char *db, const char *files_dir, const char *to, svc_backup_result *out, pl_detail *d);
/* Checks the backup in from against its manifest (every byte), then restores it: the database
 * to the new path db, the files into files_dir (new or empty), and opens the result. Nothing
 * is written when a check fails. */
pl_err svc_restore(const char *from, const char *db, const char *files_dir, svc_backup_result *out, pl_detail *d);

/* ---- upgrades: the schema's migrations (svc_backup.c; docs/operations.md) ------------- */
/* Reads the schema of the store at db and, unless mode is STORE_SCHEMA_CHECK, migrates
 * it as mode says (store.h). A SQLite file must exist (PL_ENOTFOUND). *out says where
 * the database stands after the call; PL_ESTORE when this parley may not run on it. */
pl_err svc_migrate(const char *db, store_schema_mode mode, store_schema *out, pl_detail *d);

/* ---- a seller's messaging settings and agents' notifications (svc_notify.c;
 * docs/notifications.md) ---- */
#define SVC_CONFIRM_SECONDS (48 * 3600) /* a customer-service address's confirmation link */
extern const char *const svc_notify_modes[]; /* each, hourly, daily, deadlines, none */
/* The seller's settings (its owner, or the operator): {"settings":{...}}. */
pl_err svc_seller_settings(svc *s, const svc_caller *c, const char *seller_id, pl_arena *a, json_t **out,
                           pl_detail *d);
/* Changes any of customer_service_email (kept pending, and a link mailed to it, until
 * confirmed), marketplace_fulfilled_messaging and notice_language. */
pl_err svc_seller_settings_set(svc *s, const svc_caller *c, const char *seller_id, json_t *in, pl_arena *a,
                               json_t **out, pl_detail *d);
/* The link's token makes the pending address the seller's customer-service address;
 * PL_EBADLINK (one answer for every reason) when wrong, superseded or past 48 hours. */
pl_err svc_seller_address_confirm(svc *s, const char *seller_id, const char *token, pl_arena *a, json_t **out,
                                  pl_detail *d);
/* The calling agent's notification choices: {"notifications":{...}}; and changes to them. */
pl_err svc_notify_get(svc *s, const svc_caller *c, pl_arena *a, json_t **out, pl_detail *d);
pl_err svc_notify_set(svc *s, const svc_caller *c, json_t *in, pl_arena *a, json_t **out, pl_detail *d);
/* Mails the calling agent a digest now (at most once a minute: PL_ERATELIMIT;
 * PL_ENOADDRESS without a registered address): {"queued":true,"threads":n}. */
pl_err svc_notify_digest_now(svc *s, const svc_caller *c, pl_arena *a, json_t **out, pl_detail *d);
/* Queues the hourly and daily digests that are due (a serving node's periodic tick). */
pl_err svc_digest_tick(svc *s);

/* ---- bulk notices (svc_bulk.c; docs/rules.md "Bulk notices") ---- */
/* {"order_ids":[...] | "asin", "action", "text", "attachments"?}: one text, checked once
 * (policy, proactive purpose), to each order as a critical message of that action ->
 * {"bulk_notice":{...}} (202: the worker sends it). The seller's agents who may write.
 * PL_EPOLICY sets *out to the findings (an array) all the same. */
pl_err svc_bulk_create(svc *s, const svc_caller *c, json_t *in, pl_arena *a, json_t **out, pl_detail *d);
/* One notice with every order's state; the seller's agents, the operator. */
pl_err svc_bulk_get(svc *s, const svc_caller *c, const char *ref, pl_arena *a, json_t **out, pl_detail *d);
/* The seller's notices (the operator: every seller's), newest first. */
pl_err svc_bulk_list(svc *s, const svc_caller *c, const char *before, int limit, pl_arena *a, json_t **out,
                     pl_detail *d);
/* Stops a running notice: what is not sent yet is canceled (PL_ECONFLICT when it ran out). */
pl_err svc_bulk_cancel(svc *s, const svc_caller *c, const char *ref, pl_arena *a, json_t **out, pl_detail *d);
/* One step of the bulk worker: up to 10 orders of each running notice, within the seller's
 * rate limit; *more: notices run still. Returns the messages it stored. */
size_t svc_bulk_step(svc *s, bool *more);
typedef struct svc_bulk_worker svc_bulk_worker;
pl_err svc_bulk_worker_start(svc *s, svc_bulk_worker **out, pl_detail *d);
void svc_bulk_worker_stop(svc_bulk_worker *w);

#endif
