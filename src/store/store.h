/* store.h - the storage interface: two backends (SQLite, PostgreSQL) behind one small
 * vtable, and the functions written once above it.
 *
 * The vtable (store_ops) holds what each backend does its own way: transactions and group
 * commit, the one entry that runs a statement (exec), threads and messages (a writer's
 * thread lock on PostgreSQL, the full-text index on SQLite), the clock's per-seller data
 * (PostgreSQL's per-seller lock, the buckets' blobs), the audit append (each locks a
 * chain's head its own way), rate buckets and live events between nodes. Everything else
 * is written once, in store_<part>.c, as statements run through exec (the section
 * "written once" below).
 *
 * Rows cross this interface as plain structs. Every string a store function returns
 * is allocated from the caller's arena; nothing returned needs free().
 *
 * Transactions: every call happens between store_begin() and store_commit() or
 * store_rollback() on the same thread. A request is acknowledged only after its
 * commit returned PL_OK. Seller-owned rows carry seller_id, and queries on them
 * filter by it, so that the schema can be distributed by seller. */
#ifndef PL_STORE_H
#define PL_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/pl_err.h"
#include "util/pl_mem.h"
#include "util/pl_names.h"
#include "util/pl_time.h"
#include "sla/sla.h"

typedef struct store store;

enum { ST_SP_BEGIN = 0, ST_SP_RELEASE = 1, ST_SP_ROLLBACK = 2 };

typedef struct {
  char *id, *name, *locale;
  char *domains_json;  /* JSON array of the marketplace's own domains */
  char *settings_json; /* JSON object, "{}" for defaults */
} st_marketplace;

typedef struct {
  char *id, *marketplace_id, *name;
  char *email_sealed; /* customer-service address, encrypted (pl_seal) */
  char *alias;        /* the seller's relay alias local part */
  pl_time created_at;
} st_seller;

/* An address an agent registered to write by e-mail as that agent (docs/postfix.md). */
typedef struct {
  int64_t id, agent_id;
  char *seller_id;
  char *email_sealed; /* encrypted (pl_seal) */
  char *email_hash;   /* keyed hash of the lower-cased address, for look-ups */
  pl_time created_at;
} st_agent_address;

typedef struct {
  char *id, *name, *locale;
  char *email_sealed; /* encrypted */
  char *email_hash;   /* keyed hash of the normalised address, for look-ups */
  bool opt_out;
  char *blocked_sellers; /* JSON array of the seller ids the buyer blocked; NULL on a put
                          * keeps what is stored (an import knows nothing of it) */
} st_buyer;

typedef struct {
  char *asin, *title, *price, *currency;
  int64_t quantity;
} st_item;

/* The small closed sets of states a row carries, each an X-macro of the enum constant and
 * its stable name: the text stored in the databases (their CHECK constraints list the same
 * names) and sent in the JSON, as PL_ERR_MAP does for the error codes. Value 0 of each enum
 * has no name: "no status yet" for a message's status, "unknown" for the others. A backend
 * that reads a stored text this build does not know gives 0 rather than failing the read
 * (see each field); st_*_name(0) is NULL, which a backend writes as NULL and the schema then
 * refuses. */
#define ST_DIRECTION_MAP(X) \
  X(ST_DIR_BUYER, "buyer")  \
  X(ST_DIR_SELLER, "seller")

#define ST_KIND_MAP(X)                        \
  X(ST_KIND_MESSAGE, "message")               \
  X(ST_KIND_AUTO_REPLY, "auto_reply")         \
  X(ST_KIND_REVIEW_REQUEST, "review_request") \
  X(ST_KIND_NOTE, "note")

/* A message's status is the value of its last "status" event (docs/api.md, "Messages"). */
#define ST_STATUS_MAP(X)                          \
  X(ST_STATUS_DELIVERED, "delivered")             \
  X(ST_STATUS_NOT_DELIVERED, "not_delivered")     \
  X(ST_STATUS_HELD_FOR_REVIEW, "held_for_review") \
  X(ST_STATUS_REJECTED, "rejected")               \
  X(ST_STATUS_FAILED, "failed")

#define ST_ORDER_STATUS_MAP(X)          \
  X(ST_ORDER_PENDING, "pending")        \
  X(ST_ORDER_SHIPPED, "shipped")        \
  X(ST_ORDER_DELIVERED, "delivered")    \
  X(ST_ORDER_CANCELED, "canceled")

/* Who holds a token (tokens.kind). */
#define ST_PRINCIPAL_MAP(X)                 \
  X(ST_PRINCIPAL_OPERATOR, "operator")      \
  X(ST_PRINCIPAL_AGENT, "agent")            \
  X(ST_PRINCIPAL_BUYER, "buyer")

/* A seller's agent's role (agents.role): the owner administers the team, an agent
 * answers, a read-only agent reads. */
#define ST_AGENT_ROLE_MAP(X)              \
  X(ST_ROLE_OWNER, "owner")               \
  X(ST_ROLE_AGENT, "agent")               \
  X(ST_ROLE_READ_ONLY, "read_only")

/* Where a token is valid (tokens.scope, docs/api.md "Tokens"): parley's own API and the
 * web, a web session signed in with such a token, or the SP-API-compatible API only. */
#define ST_TOKEN_SCOPE_MAP(X)             \
  X(ST_SCOPE_API, "api")                  \
  X(ST_SCOPE_SESSION, "session")          \
  X(ST_SCOPE_SPAPI, "spapi")

/* What a message event records (message_events.type): a change of the message's status
 * (the value is the status's name) or of its no-response flag ("true" or "false"). */
#define ST_EVENT_TYPE_MAP(X)              \
  X(ST_EVENT_STATUS, "status")            \
  X(ST_EVENT_FLAG, "flag")

/* A violation's severity (violations.severity, docs/rules.md). */
#define ST_SEVERITY_MAP(X)                \
  X(ST_SEVERITY_MINOR, "minor")           \
  X(ST_SEVERITY_SEVERE, "severe")

/* What a team document is (team_docs.kind, docs/team.md). */
#define ST_DOC_KIND_MAP(X)                \
  X(ST_DOC_TEMPLATE, "template")          \
  X(ST_DOC_RULE, "rule")                  \
  X(ST_DOC_PROPOSAL, "proposal")          \
  X(ST_DOC_FIRING, "firing")

/* A proposal's state (team_docs.state of a proposal, docs/team.md). */
#define ST_PROPOSAL_STATE_MAP(X)          \
  X(ST_PROPOSAL_PENDING, "pending")       \
  X(ST_PROPOSAL_SENT, "sent")             \
  X(ST_PROPOSAL_DISCARDED, "discarded")

typedef enum { ST_DIR_UNKNOWN = 0, ST_DIRECTION_MAP(PL_NAMES_ENUM) } st_direction;
typedef enum { ST_KIND_UNKNOWN = 0, ST_KIND_MAP(PL_NAMES_ENUM) } st_msg_kind;
typedef enum { ST_STATUS_NONE = 0, ST_STATUS_MAP(PL_NAMES_ENUM) } st_msg_status;
typedef enum { ST_ORDER_UNKNOWN = 0, ST_ORDER_STATUS_MAP(PL_NAMES_ENUM) } st_order_status;
/* A stored principal this build does not know reads as a buyer, the least it may be. */
typedef enum { ST_PRINCIPAL_NONE = 0, ST_PRINCIPAL_MAP(PL_NAMES_ENUM) } st_principal_kind;
/* ST_ROLE_NONE: not an agent (a caller), or a stored role this build does not know, which
 * may do nothing an agent's role allows. */
typedef enum { ST_ROLE_NONE = 0, ST_AGENT_ROLE_MAP(PL_NAMES_ENUM) } st_agent_role;
/* Whether an agent of this role may write (answer, tag, assign); read-only may not. */
static inline bool st_agent_role_writes(st_agent_role r) { return r == ST_ROLE_OWNER || r == ST_ROLE_AGENT; }
/* A stored scope this build does not know is valid nowhere. */
typedef enum { ST_SCOPE_NONE = 0, ST_TOKEN_SCOPE_MAP(PL_NAMES_ENUM) } st_token_scope;
typedef enum { ST_EVENT_UNKNOWN = 0, ST_EVENT_TYPE_MAP(PL_NAMES_ENUM) } st_event_type;
typedef enum { ST_SEVERITY_UNKNOWN = 0, ST_SEVERITY_MAP(PL_NAMES_ENUM) } st_severity;
typedef enum { ST_DOC_UNKNOWN = 0, ST_DOC_KIND_MAP(PL_NAMES_ENUM) } st_doc_kind;
/* One more than the largest document kind: the size of an array indexed by kind. */
#define ST_DOC_KIND_N (1 ST_DOC_KIND_MAP(PL_NAMES_COUNT))
/* ST_PROPOSAL_NONE: a document that is no proposal (stored as ""), or a stored state this
 * build does not know, which is neither pending nor done. */
typedef enum { ST_PROPOSAL_NONE = 0, ST_PROPOSAL_STATE_MAP(PL_NAMES_ENUM) } st_proposal_state;
/* One more than the largest message status: the size of an array indexed by status. */
#define ST_STATUS_N (1 ST_STATUS_MAP(PL_NAMES_COUNT))

/* The stable name of a state; NULL for 0 and for a value outside the enum. Static strings. */
const char *st_direction_name(st_direction v);
const char *st_msg_kind_name(st_msg_kind v);
const char *st_msg_status_name(st_msg_status v);
const char *st_order_status_name(st_order_status v);
const char *st_principal_kind_name(st_principal_kind v);
const char *st_agent_role_name(st_agent_role v);
const char *st_token_scope_name(st_token_scope v);
const char *st_proposal_state_name(st_proposal_state v);
const char *st_event_type_name(st_event_type v);
const char *st_doc_kind_name(st_doc_kind v);
const char *st_severity_name(st_severity v);
/* The state of a stable name (exact, case-sensitive). Unknown or NULL: *out = 0 and
 * PL_EINVAL, so that a reader can keep the 0 and a writer can refuse the input. */
pl_err st_direction_from_name(const char *name, st_direction *out);
pl_err st_msg_kind_from_name(const char *name, st_msg_kind *out);
pl_err st_msg_status_from_name(const char *name, st_msg_status *out);
pl_err st_order_status_from_name(const char *name, st_order_status *out);
pl_err st_principal_kind_from_name(const char *name, st_principal_kind *out);
pl_err st_agent_role_from_name(const char *name, st_agent_role *out);
pl_err st_token_scope_from_name(const char *name, st_token_scope *out);
pl_err st_proposal_state_from_name(const char *name, st_proposal_state *out);
pl_err st_event_type_from_name(const char *name, st_event_type *out);
pl_err st_doc_kind_from_name(const char *name, st_doc_kind *out);
pl_err st_severity_from_name(const char *name, st_severity *out);

typedef struct {
  int64_t id;
  char *seller_id, *name;
  st_agent_role role;
  pl_time deactivated_at; /* 0 = active; a deactivated agent's history stays */
} st_agent;

typedef struct {
  char *id, *marketplace_id, *seller_id, *buyer_id;
  /* a stored status this build does not know reads as ST_ORDER_UNKNOWN, which is neither
   * canceled nor delivered: the rules that depend on it do not apply */
  st_order_status status;
  pl_time purchased_at, shipped_at, delivered_at, updated_at; /* 0 = unknown */
  bool negative_feedback; /* the buyer left negative feedback (set by the operator) */
  bool by_marketplace;    /* the marketplace fulfils it (the seller's settings may turn
                           * messaging about it off) */
  char *ship_country;     /* ISO 3166-1 alpha-2 of the ship-to address (never the address); NULL */
  char *carrier, *tracking; /* NULL = not shipped or not told */
  pl_time promised_at;    /* the latest promised delivery; 0 = unknown */
  char *return_state;     /* requested, in_transit, received, refunded, partially_refunded; NULL */
  size_t nitems;
  st_item *items;
} st_order;

/* A thread and its summary. The summary columns (state, due time, read marks) are a
 * cache maintained by the service in the same transaction as the events that change
 * them; the messages and their events are the record. */
typedef struct {
  int64_t id;
  char *seller_id, *buyer_id, *marketplace_id;
  char *order_id; /* NULL for a product question */
  char *asin;     /* NULL for an order thread */
  char *topic;
  bool archived;
  int waiting;        /* buyer messages after the last counting seller reply */
  int needs_response; /* of those, unflagged */
  pl_time created_at, last_message_at, last_buyer_at, last_seller_at;
  /* read marks: the id of the last message each party has seen (0 = none) */
  int64_t seller_read_id, buyer_read_id;
  pl_time response_due_at; /* oldest unflagged waiting buyer message + 24 h; 0 = none */
  /* read with the thread, for display; not written by thread_update */
  char *buyer_alias, *buyer_name, *seller_name;
  /* the newest buyer message, and the newest seller message the buyer can see (delivered,
   * not a note; 0 = none): what the unread marks compare with */
  int64_t last_buyer_id, last_seller_id;
  /* the time of the newest message the buyer can see (their own, a delivered seller
   * message; 0: none): what a buyer's list is ordered by, so that the team's notes and
   * refused messages do not move a thread in it */
  pl_time buyer_last_at;
} st_thread;

typedef struct {
  int64_t id, thread_id, agent_id; /* agent_id 0 = none */
  char *seller_id;
  char *ext_id;    /* id given by an import, or NULL */
  /* never ST_DIR_UNKNOWN or ST_KIND_UNKNOWN as stored (the schema's CHECK constraints);
   * code that must fail safe on an unknown one treats it as a buyer's message */
  st_direction direction;
  st_msg_kind kind;
  char *text;
  pl_time at;
  char *policy_action, *policy_engine, *policy_json; /* seller messages */
  char *action;   /* the message action that sent it (confirmDeliveryDetails...), or NULL */
  bool critical;  /* needed to complete the order: delivered despite an opt-out */
  bool proactive; /* seller-initiated: no buyer message to answer */
  /* current state, derived from the message's events: ST_STATUS_NONE before the first
   * status event, and for a stored status this build does not know (such a message counts
   * as not delivered: the buyer does not see it, and it answers nothing) */
  st_msg_status status;
  bool flagged;
  pl_time status_at;
  /* the message's attachments: filled by the service (svc_attach.c); the message
   * readers of the backends leave them empty */
  struct st_msg_attachment *attachments;
  size_t nattachments;
  /* message_insert: a buyer message's text with the buyer's contact details masked,
   * indexed for the seller's search (NULL: not indexed for the seller yet) */
  const char *seller_text;
  /* set by the service when the text is what the reader may see (the seller view
   * masks a buyer's contact details, svc_thread.c); never stored */
  bool text_viewed;
} st_message;

typedef struct {
  int64_t id, message_id, thread_id;
  char *seller_id;
  st_event_type type;
  char *value, *actor;
  pl_time at;
} st_event;

/* An audit entry. The log is one hash chain per seller (chain = the seller's id) and one
 * platform chain ("") for what no seller owns (marketplaces, buyers), so that appends of
 * different tenants never wait for each other; seq is the entry's place in its chain.
 * Entries written before chains were per seller have chain NULL and seq 0: they form
 * the legacy chain in id order, and every chain begins at its last hash. */
typedef struct {
  int64_t id, seq;
  char *seller_id, *chain, *actor, *action, *subject, *detail_json, *prev_hash, *hash;
  pl_time at;
} st_audit;

/* The head of a chain: its last entry's seq and hash (seq 0: no entry yet, hash is
 * where the chain begins). */
typedef struct {
  char *chain, *hash;
  int64_t seq;
} st_audit_head;

/* A signed checkpoint over every chain head (docs/scaling.md, "The audit log"). */
typedef struct {
  int64_t id, nchains;
  pl_time at;
  char *root;       /* Merkle root over the heads, hex */
  char *heads_json; /* [[chain, seq, hash], ...] sorted by chain */
  char *public_key, *signature; /* Ed25519, hex; the signature is over the root's statement */
} st_audit_checkpoint;

typedef struct {
  int64_t id;
  char *seller_id, *category, *rule;
  st_severity severity;
  int64_t message_id;
  pl_time at;
} st_violation;

/* A seller's enforcement state (the current values; every change is also audited). */
typedef struct {
  char *seller_id;
  int64_t warnings;
  pl_time restricted_until; /* proactive messaging restricted before this time */
  char *restriction_reason;
  int64_t quota_per_day;    /* seller messages a day while quota_until is ahead; 0 = none */
  pl_time quota_until;
  char *quota_reason;
  bool suspension_flag;     /* shown to the operator for suspension */
  char *suspension_reason;
  pl_time updated_at;
} st_enforcement;

/* A seller's messaging settings (docs/notifications.md). */
typedef struct {
  char *seller_id;
  char *notice_language;      /* parley's own notices to the team: "en", "de"...; NULL: the
                               * marketplace's language */
  bool marketplace_fulfilled; /* messaging on for orders the marketplace fulfils */
  char *email_sealed;         /* a new customer-service address waiting for its
                               * confirmation (pl_seal), or NULL */
  pl_time email_requested_at; /* when it was asked for (its link's age) */
  pl_time updated_at;
} st_seller_settings;

/* What an agent is told, and how (docs/notifications.md). */
typedef struct {
  int64_t agent_id;
  char *seller_id;
  st_agent_role role;
  char *mode;          /* "each" new buyer message, an "hourly" or "daily" digest,
                        * "deadlines" alone, or "none" */
  char *scope;         /* "assigned" (threads assigned to the agent) or "all" */
  bool email, browser; /* by e-mail (to address_id) and in the web message center */
  pl_time digest_at;   /* the next digest (hourly and daily) */
  int64_t address_id;  /* the agent's first registered address; 0: none (no e-mail) */
} st_agent_notify;

/* The columns that hold sealed addresses (pl_seal), for key rotation. */
typedef enum {
  ST_SEALED_SELLER = 1,    /* sellers.email_sealed */
  ST_SEALED_BUYER,         /* buyers.email_sealed, with email_hash */
  ST_SEALED_AGENT_ADDRESS, /* agent_addresses.email_sealed, with email_hash */
  ST_SEALED_WEBHOOK,       /* webhooks.secret_sealed (docs/webhooks.md) */
  ST_SEALED_SELLER_PENDING, /* seller_settings.email_sealed (docs/notifications.md) */
  ST_SEALED_ACCOUNT,        /* accounts.email_sealed, with email_hash */
  ST_SEALED_TOTP,           /* accounts.totp_sealed */
  ST_SEALED_INVITATION      /* invitations.email_sealed, with email_hash */
} st_sealed_kind;
typedef struct {
  char *key;    /* the row's id, as text */
  char *sealed;
} st_sealed_row;

typedef struct {
  st_principal_kind kind;
  char *subject;        /* agent id (decimal), buyer id, or operator name */
  char *seller_id;      /* for agents */
  char *marketplace_id; /* may be NULL for an operator of every marketplace */
  pl_time expires_at;   /* 0 = never */
  /* Identities (docs/api.md, "Tokens"): */
  int64_t id;           /* set by token_put; stable, shown to administrators */
  st_token_scope scope; /* where it is valid; a put without one is refused */
  int64_t parent_id;    /* a session: the token it was signed in with (revoked with it) */
  pl_time created_at, last_used_at, revoked_at; /* 0 = never used / not revoked */
  char *user_agent;     /* a session: the browser's User-Agent when it signed in (NULL: none) */
} st_token;

/* An account (docs/api.md, "Accounts"): how a principal of the tokens signs in with an
 * e-mail address and a password. */
typedef struct {
  int64_t id;
  st_principal_kind kind;
  char *subject;       /* as st_token's: operator name, agent id (decimal), buyer id */
  char *seller_id;     /* an agent's seller; NULL otherwise */
  char *email_hash;    /* keyed look-up hash of the lower-cased address */
  char *email_sealed;  /* the address, sealed (pl_seal) */
  char *password_hash; /* crypto_pwhash_str's (Argon2id) */
  pl_time password_at; /* when it was set: part of a reset link's token */
  char *totp_sealed;   /* the second factor's secret, sealed; NULL: none */
  bool totp_on;        /* the secret is confirmed and asked for at sign-in */
  int64_t totp_step;   /* the last time step accepted (a code is good once) */
  pl_time reset_at;    /* the last reset link mailed (0: none) */
  pl_time created_at;
  pl_time verified_at; /* when the address was shown to be the person's (a mailed link
                        * opened, an invitation accepted; set by an administrator); 0: not
                        * yet, and such an account signs in to nothing */
} st_account;

/* An invitation to an account (docs/api.md, "Invitations"): to a seller's team (kind
 * agent, with a role) or to the operators. */
typedef struct {
  int64_t id;
  st_principal_kind kind;
  char *seller_id, *role; /* kind agent: the seller and the role (an st_agent_role name) */
  char *email_hash, *email_sealed;
  char *invited_by;       /* the caller's name ("agent:3", "operator:ops") */
  pl_time created_at, expires_at, accepted_at, revoked_at;
} st_invitation;

typedef enum {
  ST_FILTER_ALL = 0,
  ST_FILTER_RESPONSE_NEEDED,
  ST_FILTER_UNANSWERED,
  ST_FILTER_SENT,
  ST_FILTER_ARCHIVED,
} st_filter;

typedef struct {
  const char *seller_id; /* scope: exactly one of seller_id, buyer_id, or neither for operator */
  const char *buyer_id;
  st_filter filter;
  const char *order_id, *asin, *buyer_alias, *fts; /* optional search terms */
  pl_time cursor_at;                               /* 0 = from the newest */
  int64_t cursor_id;
  int limit;
  /* team work (docs/team.md): threads assigned to this agent (-1: unassigned, 0: any) and
   * threads carrying this tag (NULL: any) */
  int64_t assignee_id;
  const char *tag;
  /* fts searches buyer messages in the seller's index (their text with the buyer's
   * contact details masked), seller messages in the full one */
  bool fts_masked;
  /* a seller's threads by response_due_at, the least time left first (the cursor is then
   * a due time), instead of the newest first; for ST_FILTER_RESPONSE_NEEDED, where every
   * thread has a due time */
  bool sort_due;
  /* threads whose last message is in [since, until] (0: no bound), and whose buyer's name
   * holds buyer_name (any case; NULL: any) */
  pl_time since, until;
  const char *buyer_name;
  bool keep_waiting; /* since spares threads waiting for an answer (the default window) */
  bool all; /* the service's: no default window (the seller's inbox shows the marketplace's
             * inbox_days unless asked for more) */
} st_thread_query;

/* An SP-API application's credentials for one seller (docs/spapi.md): the secret and
 * the refresh token are kept only as keyed hashes. */
typedef struct {
  char *client_id, *seller_id;
  int64_t agent_id; /* the seller's agent that the access tokens act as */
  char *secret_hash, *refresh_hash;
  pl_time created_at;
} st_spapi_client;

/* An SP-API upload destination: what was announced, and the attachment once uploaded. */
typedef struct {
  char *id, *seller_id, *resource, *content_md5, *content_type;
  char *attachment_id; /* NULL until the bytes arrived */
  pl_time created_at, expires_at;
} st_spapi_upload;

/* One mail to send, in the outbox (docs/postfix.md): written in the transaction of the
 * message it is about; the delivery worker builds the mail from the message when it
 * sends, so that no real address is stored beside it. Its kind and state are named as
 * the states above; a stored name this build does not know reads as 0, and the worker
 * gives such a row up rather than guess whom to mail. */
#define ST_OUTBOX_KIND_MAP(X)          \
  X(ST_OUTBOX_FORWARD, "forward")      \
  X(ST_OUTBOX_REFUSAL, "refusal")      \
  X(ST_OUTBOX_NOTICE, "notice")

#define ST_OUTBOX_STATE_MAP(X)         \
  X(ST_OUTBOX_PENDING, "pending")      \
  X(ST_OUTBOX_SENT, "sent")            \
  X(ST_OUTBOX_FAILED, "failed")

typedef enum { ST_OUTBOX_KIND_UNKNOWN = 0, ST_OUTBOX_KIND_MAP(PL_NAMES_ENUM) } st_outbox_kind;
/* One more than the largest outbox kind: the size of an array indexed by kind. */
#define ST_OUTBOX_KIND_N (1 ST_OUTBOX_KIND_MAP(PL_NAMES_COUNT))
typedef enum { ST_OUTBOX_STATE_UNKNOWN = 0, ST_OUTBOX_STATE_MAP(PL_NAMES_ENUM) } st_outbox_state;
const char *st_outbox_kind_name(st_outbox_kind v);
const char *st_outbox_state_name(st_outbox_state v);
pl_err st_outbox_kind_from_name(const char *name, st_outbox_kind *out);
pl_err st_outbox_state_from_name(const char *name, st_outbox_state *out);

typedef struct {
  int64_t id, message_id;
  char *seller_id;
  st_outbox_kind kind;   /* forward: the message to the other party; refusal: the findings to the seller */
  st_outbox_state state; /* outbox_add stores it pending */
  int64_t attempts;
  pl_time next_at; /* due time; while claimed, the end of the claim */
  pl_time created_at, sent_at;
  char *last_error;
  /* notices (message_id 0): to the agent (0: the seller's new customer-service address,
   * to confirm it), about payload (JSON: ids and counts, never an address); dedupe, when
   * set, makes it once: store_outbox_add answers PL_EEXIST for a second */
  int64_t agent_id;
  char *payload, *dedupe;
} st_outbox;
/* Team work (docs/team.md). A seller's templates, rules, proposals and rule firings are
 * documents: a JSON body with a kind, kept per seller; a proposal has a state, the other
 * kinds none (ST_PROPOSAL_NONE, stored as ""). */
typedef struct {
  int64_t id;
  char *seller_id, *body;
  st_doc_kind kind;
  st_proposal_state state;
  pl_time created_at, updated_at;
} st_team_doc;

/* An agent with the team's view of them: available for round-robin assignment, and when
 * a thread was last assigned to them (0 = never). */
typedef struct {
  int64_t id;
  char *name;
  st_agent_role role;
  bool available;
  pl_time last_assigned_at;
  bool deactivated; /* never assigned, never in round-robin */
} st_team_agent;

/* A thread's assignee (0 = none), priority and tags (",a,b," with commas around each). */
typedef struct {
  int64_t thread_id;
  char *seller_id;
  int64_t assignee_id;
  char *priority, *tags;
} st_thread_team;

/* The composition lock of a thread: who is replying, until when (without a heartbeat). */
typedef struct {
  int64_t thread_id, agent_id;
  char *agent_name;
  pl_time since, expires_at;
} st_thread_lock;

/* An uploaded attachment (docs/attachments.md): one record per upload, saying who
 * uploaded it and under which name; the bytes are kept once per content, named by
 * their SHA-256, so two records may share one file. */
typedef struct {
  char *id;            /* "A" and 24 hex digits */
  char *seller_id;     /* the uploading seller, or NULL */
  char *buyer_id;      /* the uploading buyer, or NULL */
  char *uploader;      /* the caller, as the audit log names it */
  char *name;          /* the original file name, sanitised */
  char *kind;          /* extract_kind_name: pdf, docx, png... */
  char *sha256;        /* hex; the file's name in the attachment directory */
  int64_t size;
  bool readable;       /* all of the file was read */
  char *reason;        /* why not (extract_reason_name), or NULL */
  char *segments_json; /* the text read once at upload: [{"page","source","text"}] */
  pl_time created_at;
} st_attachment;

/* An attachment of a message, as the message shows it. */
typedef struct st_msg_attachment {
  int64_t message_id, thread_id;
  char *id, *name, *kind;
  int64_t size;
} st_msg_attachment;

/* An Idempotency-Key (docs/api.md): the first answer to a creating request, kept so that a
 * retry gets it again. status 0: the request is still being processed. */
typedef struct {
  char *principal, *key;
  char *fingerprint; /* hex SHA-256 of method, path and body */
  int status;
  char *body;        /* the answer's JSON, NULL while processing */
  pl_time created_at;
} st_idem;

/* How the store has been writing since it opened (the /metrics page). */
typedef struct {
  uint64_t commits; /* callers' write transactions committed */
  uint64_t batches; /* the store's own transactions that held them (group commit) */
  uint64_t syncs;   /* flushes to disk made to acknowledge them */
  uint64_t writer_busy_ns; /* SQLite: time the one writer connection was in use */
} st_counters;

/* The store-wide figures an operator alerts on (the /metrics page): the outbox's pending
 * mail and the review queue, whatever node wrote them. Oldest times are 0 when none. */
typedef struct {
  int64_t outbox_pending[ST_OUTBOX_KIND_N];      /* by kind; [0]: kinds this build does not know */
  pl_time outbox_oldest[ST_OUTBOX_KIND_N];       /* created_at of the oldest pending mail */
  int64_t held;                                  /* messages held for review */
  pl_time held_oldest;                           /* status_at of the oldest of them */
} st_ops_figures;

/* A webhook (docs/webhooks.md): a seller's (owner "seller", seller_id set) or the
 * operator's (owner "operator", marketplace_id its scope, NULL: every marketplace). */
typedef struct {
  int64_t id;
  char *owner;          /* "seller" or "operator" */
  char *seller_id;      /* seller webhooks */
  char *marketplace_id; /* operator webhooks: the marketplace, or NULL for all */
  char *url;
  char *events_json;    /* JSON array of event types */
  char *secret_sealed;  /* the signing secret, encrypted (pl_seal) */
  char *previous_secret_sealed; /* the secret before a rotation, which still signs */
  pl_time previous_until;       /* until then (0: none) */
  bool active;
  pl_time failing_since; /* when deliveries began to fail (0: the last one succeeded) */
  pl_time paused_until;  /* after a failure, none of its deliveries is tried before this */
  char *disabled_reason; /* why it was turned off by itself, or NULL */
  pl_time created_at, updated_at;
} st_webhook;

/* One event for one webhook: the outbox of webhooks. */
typedef struct {
  int64_t id, webhook_id;
  char *event_id, *type, *body; /* body: the JSON POSTed */
  char *state;                  /* "pending", "delivered" or "failed" */
  int64_t attempts;
  pl_time next_at, created_at, last_at;
  int64_t last_status, last_ms; /* the last attempt's HTTP status (0: none) and time */
  char *last_answer;            /* the first bytes of the last answer */
  char *last_error;             /* why the last attempt failed, or NULL */
} st_webhook_delivery;

/* ---- the thin part: one statement -------------------------------------------------------
 * Most of the store is written once, above the backends (store_<part>.c), as statements
 * run through the vtable's one entry for them, exec. A statement is written with SQLite's
 * ?N placeholders; PostgreSQL runs the same text with $N, or a text of its own where the
 * two dialects differ. Both backends prepare a statement once per connection, found by the
 * address of its st_stmt. */
typedef struct {
  const char *sql; /* both backends' text, with ?N */
  const char *pg;  /* PostgreSQL's own text (with $N), where it differs; NULL: sql */
  /* An INSERT whose answer is the new row's id (an st_i64; PL_ENOTFOUND when it inserted
   * nothing): SQLite runs sql and reads the id from the connection, pg says RETURNING id.
   * SQLite buffers a RETURNING's rows in a temporary b-tree it builds for every run. */
  bool new_id;
} st_stmt;

/* A value bound to a statement's ?N. */
typedef enum { ST_ARG_TEXT, ST_ARG_INT, ST_ARG_BOOL } st_arg_kind;
typedef struct {
  st_arg_kind kind;
  const char *text; /* ST_ARG_TEXT; NULL: SQL NULL */
  int64_t num;      /* ST_ARG_INT, ST_ARG_BOOL (0 or 1) */
} st_arg;
#define ST_ARG_T(v) ((st_arg){.kind = ST_ARG_TEXT, .text = (v)})
#define ST_ARG_I(v) ((st_arg){.kind = ST_ARG_INT, .num = (int64_t)(v)})
#define ST_ARG_B(v) ((st_arg){.kind = ST_ARG_BOOL, .num = (v) ? 1 : 0})

struct st_row; /* a row type's column table (store_row.h) */

typedef struct store_ops {
  const char *name;
  void (*close)(store *s);
  pl_err (*begin)(store *s, bool write);
  pl_err (*commit)(store *s);
  void (*rollback)(store *s);
  pl_err (*ping)(store *s);
  /* A consistent copy of the whole database into a new file at path, while others go on
   * writing (SQLite's online backup: one read transaction, the WAL keeps the writer
   * going), checked (quick_check) and flushed to disk. PL_EINVAL where the backend has
   * its own tools (PostgreSQL: pg_dump, pg_basebackup) or nothing to copy (a database in
   * memory), with d saying so. */
  pl_err (*backup)(store *s, const char *path, pl_detail *d);
  /* Optional (NULL when the backend has none of its own: PostgreSQL commits and flushes
   * in the server). */
  void (*counters)(store *s, st_counters *out);
  /* Nested transactions inside begin/commit: ST_SP_BEGIN opens a savepoint,
   * ST_SP_RELEASE keeps what was done since, ST_SP_ROLLBACK undoes it and leaves the
   * outer transaction usable (an import keeps its good lines, drops a bad one). */
  pl_err (*savepoint)(store *s, int action);
  /* Runs statement q with args bound to ?1..?n in the calling thread's transaction.
   * row NULL: its rows do not matter; PL_EEXIST when a constraint refused it, and *rows
   * (when given) the number of rows it changed. row given, rows NULL: its first row read
   * into out through row's column table, PL_ENOTFOUND when it has none. Both given: every
   * row into an arena array stored at *(void **)out, *rows of them. Text goes into a. */
  pl_err (*exec)(store *s, const st_stmt *q, const st_arg *args, size_t n, const struct st_row *row,
                 pl_arena *a, void *out, size_t *rows);

  /* ---- threads and messages ---- */

  pl_err (*thread_insert)(store *s, st_thread *t); /* sets t->id */
  pl_err (*thread_get)(store *s, int64_t id, pl_arena *a, st_thread *out);
  /* An order's thread, or (order_id NULL) the seller's thread with the buyer about a
   * product; PL_ENOTFOUND when none. */
  pl_err (*thread_find)(store *s, const char *order_id, const char *seller_id, const char *buyer_id,
                        const char *asin, pl_arena *a, st_thread *out);
  pl_err (*thread_update)(store *s, const st_thread *t); /* the summary columns */
  pl_err (*thread_list)(store *s, const st_thread_query *q, pl_arena *a, st_thread **out,
                        size_t *n);

  pl_err (*message_insert)(store *s, st_message *m); /* sets m->id; indexes the text */
  /* A message by id, or (id 0) by the id an import gave it; PL_ENOTFOUND when none. */
  pl_err (*message_get)(store *s, int64_t id, const char *ext_id, pl_arena *a, st_message *out);
  pl_err (*message_list)(store *s, int64_t thread_id, pl_arena *a, st_message **out, size_t *n);
  /* One page of a thread's messages, in the thread's order (time, then id): the newest
   * `limit` before message `before` (NULL: from the newest), returned oldest first.
   * buyer_view keeps only what a buyer sees (svc_message_visible: buyer messages but their
   * out-of-office auto-replies, and seller messages that are delivered and not notes).
   * *more: whether older messages of that view exist. */
  pl_err (*message_page)(store *s, int64_t thread_id, const st_message *before, bool buyer_view,
                         int limit, pl_arena *a, st_message **out, size_t *n, bool *more);
  /* The seller's search index of buyer messages (their masked text): at most max buyer
   * messages not indexed yet, oldest first; and indexing one (nothing when it already is). */
  pl_err (*message_seller_text_pending)(store *s, int max, pl_arena *a, st_message **out,
                                        size_t *n);
  pl_err (*message_seller_text_put)(store *s, int64_t message_id, int64_t thread_id,
                                    const char *text);

  /* Appends an event and updates the message's derived state (type "status" sets
   * status, type "flag" sets flagged from value "true"/"false"). */
  pl_err (*event_insert)(store *s, st_event *e);
  /* The end of a thread for its summary: its messages (in thread order, as message_list)
   * from the last seller message of kind "message" with status delivered on (all of them
   * when there is none), and the time of the thread's last buyer message (0: none). */
  pl_err (*thread_tail)(store *s, int64_t thread_id, pl_arena *a, st_message **out, size_t *n,
                        pl_time *last_buyer_at);

  /* Token buckets (rate_buckets rows), one per key (a seller id, or "buyer:" and a buyer
   * id) and operation. The store keeps them; the arithmetic is the service's
   * (src/service/svc_bucket.h). Both entries run in the caller's write transaction.
   * rate_bucket_get reads a bucket's tokens and the time they were counted, and holds
   * the bucket until the transaction ends, so that nodes sharing a database take from it
   * one after another. A bucket that does not exist yet reads as fresh_tokens at
   * fresh_at (and may be created so, in order to be held). rate_bucket_put writes a
   * bucket, creating it when it does not exist. */
  pl_err (*rate_bucket_get)(store *s, const char *key, const char *operation, double fresh_tokens,
                            double fresh_at, double *tokens, double *updated_at);
  pl_err (*rate_bucket_put)(store *s, const char *key, const char *operation, double tokens,
                            double updated_at);

  /* ---- the 24-hour clock (src/sla/sla.h types) ---- */
  /* Every event of one thread: buyer messages, seller messages (with the time they
   * were delivered, or SLA_NEVER) and flags; seq is the message or event id. */
  pl_err (*sla_thread_events)(store *s, int64_t thread_id, pl_arena *a, sla_events *out);
  /* Every event of a seller's threads that have a buyer message received in one of the
   * n ranges (lo, hi] (n <= 4), up to `until`. */
  pl_err (*sla_range_events)(store *s, const char *seller_id, const int64_t (*ranges)[2],
                             size_t n, pl_time until, pl_arena *a, sla_events *out);
  /* The outcomes last applied to the buckets for a thread (*has_thread: whether a
   * thread outcome was stored). */
  pl_err (*sla_outcomes_get)(store *s, int64_t thread_id, pl_arena *a, sla_outcome **out,
                             size_t *n, sla_thread_outcome *t, bool *has_thread);
  /* Replaces a thread's stored outcomes. */
  pl_err (*sla_outcomes_put)(store *s, const char *seller_id, int64_t thread_id,
                             const sla_outcome *o, size_t n, const sla_thread_outcome *t);
  /* ---- the clock one event at a time (svc_sla.c; docs/metrics.md) ---- */
  /* A thread's stored outcome with its counts; PL_ENOTFOUND when it has no buyer message.
   * Called first by a writer: on PostgreSQL it takes the seller's clock lock. */
  pl_err (*sla_thread_outcome_get)(store *s, const char *seller_id, int64_t thread_id,
                                   sla_thread_outcome *out);
  /* One bucket (PL_ENOTFOUND when empty); its rt is copied into the arena. */
  pl_err (*sla_bucket_get)(store *s, const char *seller_id, sla_bucket_key k, pl_arena *a,
                           sla_bucket *out);
  /* Stores a bucket, or deletes it when empty. */
  pl_err (*sla_bucket_put)(store *s, const char *seller_id, const sla_bucket *b);
  /* The seller's buckets with hour in [lo, hi]. */
  pl_err (*sla_bucket_range)(store *s, const char *seller_id, int64_t lo, int64_t hi,
                             pl_arena *a, sla_bucket **out, size_t *n);

  /* Appends to the chain e->chain (the store computes seq, prev_hash and hash, locking
   * only that chain's head). */
  pl_err (*audit_append)(store *s, st_audit *e);

  /* Live events between the nodes of a store several nodes share (docs/scaling.md); NULL
   * where one process is the only node (SQLite). bus_start calls deliver, from a thread
   * of its own, with every payload another node (or this one) sent, and with NULL when
   * some may have been missed; bus_send queues a payload (at most 7900 bytes) and never
   * blocks on the database. Outside transactions. */
  pl_err (*bus_start)(store *s, void (*deliver)(void *ctx, const char *payload), void *ctx);
  void (*bus_send)(store *s, const char *payload);
  void (*bus_stop)(store *s);
} store_ops;

struct store {
  const store_ops *ops;
};

/* ---- written once, over exec (store_<part>.c) -------------------------------------------
 * What both backends keep the same way, as statements run through the vtable's exec: one
 * file a part, beside the vtable. Each returns PL_OK, PL_ENOTFOUND where it says, or the
 * store's failure; text goes into the caller's arena. */

/* -- parties, aliases, tokens by hash, orders (store_party.c) -- */
pl_err store_marketplace_put(store *s, const st_marketplace *m);
pl_err store_marketplace_get(store *s, const char *id, pl_arena *a, st_marketplace *out);
/* Every marketplace's id, byte order. */
pl_err store_marketplace_ids(store *s, pl_arena *a, char ***out, size_t *n);
pl_err store_seller_put(store *s, const st_seller *v);
/* A seller by id, or (id NULL) by relay alias; a buyer by id, or (id NULL) by the keyed
 * hash of the address (as buyer_put stored it). PL_ENOTFOUND when none. */
pl_err store_seller_get(store *s, const char *id, const char *alias, pl_arena *a, st_seller *out);
pl_err store_agent_add(store *s, const st_agent *v, int64_t *id_out);
/* An agent by id, or (id 0) the seller's agent by name (the lowest id when several);
 * PL_ENOTFOUND when none. */
pl_err store_agent_get(store *s, int64_t id, const char *seller_id, const char *name, pl_arena *a,
                       st_agent *out);
pl_err store_buyer_put(store *s, const st_buyer *v);
pl_err store_buyer_get(store *s, const char *id, const char *email_hash, pl_arena *a, st_buyer *out);
/* The buyer's alias for one seller; PL_ENOTFOUND when none yet. */
pl_err store_alias_get(store *s, const char *marketplace_id, const char *buyer_id,
                       const char *seller_id, pl_arena *a, char **alias_out);
/* PL_EEXIST when the alias is taken or the pair already has one. */
pl_err store_alias_put(store *s, const char *marketplace_id, const char *buyer_id,
                       const char *seller_id, const char *alias, pl_time at);
pl_err store_token_delete(store *s, const char *hash); /* PL_ENOTFOUND when absent */
/* Inserts or replaces an order with its items; PL_ECONFLICT when the id is another seller's
 * or buyer's order. */
pl_err store_order_put(store *s, const st_order *o);
pl_err store_order_get(store *s, const char *id, pl_arena *a, st_order *out);
/* The same without its items (nitems 0): one statement, for what needs only the order. */
pl_err store_order_head(store *s, const char *id, pl_arena *a, st_order *out);
/* A party's orders, newest purchase first (seller_id or buyer_id; both NULL: all),
 * with their items; at most limit, after the cursor (purchased_at, id) when given. */
pl_err store_order_list(store *s, const char *seller_id, const char *buyer_id, pl_time cursor_at,
                        const char *cursor_id, int limit, pl_arena *a, st_order **out, size_t *n);

/* -- threads: what both backends read alike (store_thread.c) -- */
/* Threads of a seller that need a response (for the inbox count). */
pl_err store_thread_count_response_needed(store *s, const char *seller_id, int64_t *n);
pl_err store_event_list(store *s, int64_t thread_id, pl_arena *a, st_event **out, size_t *n);

/* -- the marketplace's rules: review requests, violations, enforcement, held messages (store_rules.c) -- */
/* Records the review request of an order; PL_EEXIST when the order already has one. */
pl_err store_review_request_put(store *s, const char *order_id, const char *seller_id,
                                int64_t message_id, pl_time at);
/* PL_OK with *at set when the order has a review request, else PL_ENOTFOUND. */
pl_err store_review_request_get(store *s, const char *order_id, pl_time *at);
pl_err store_violation_add(store *s, st_violation *v); /* sets v->id */
/* Violations of a seller at or after `since`, newest first (at most limit). */
pl_err store_violation_list(store *s, const char *seller_id, pl_time since, int limit,
                            pl_arena *a, st_violation **out, size_t *n);
/* PL_ENOTFOUND when the seller has no enforcement state yet. */
pl_err store_enforcement_get(store *s, const char *seller_id, pl_arena *a, st_enforcement *out);
pl_err store_enforcement_put(store *s, const st_enforcement *e);
/* Seller messages (not notes) sent by a seller at or after `since`; proactive_only
 * counts only seller-initiated ones. */
pl_err store_seller_message_count(store *s, const char *seller_id, pl_time since,
                                  bool proactive_only, int64_t *n);
/* Held messages awaiting the operator, oldest first (marketplace NULL: all). */
pl_err store_held_list(store *s, const char *marketplace_id, int limit, pl_arena *a,
                       st_message **out, size_t *n);

/* -- the 24-hour clock: outcomes one event at a time, what its sweeps read (store_clock.c) -- */
/* One buyer message's stored outcome; PL_ENOTFOUND when none. */
pl_err store_sla_outcome_get(store *s, int64_t msg_id, sla_outcome *out);
/* Inserts or replaces one outcome. */
pl_err store_sla_outcome_set(store *s, const char *seller_id, const sla_outcome *o);
pl_err store_sla_thread_outcome_set(store *s, const char *seller_id, const sla_thread_outcome *t);
/* The outcomes a reply at (at, seq) would answer: of buyer messages of the thread
 * before it, those unanswered or answered by a reply after it (read by index: the
 * thread's open messages and those answered since the reply). */
pl_err store_sla_outcomes_answerable(store *s, int64_t thread_id, int64_t at, int64_t seq,
                                     pl_arena *a, sla_outcome **out, size_t *n);
/* Unflagged buyer messages of the thread answered by the reply (answered_at, seq). */
pl_err store_sla_reply_count(store *s, int64_t thread_id, int64_t answered_at, int64_t reply_seq,
                             int64_t *n);
/* The value of the message's latest flag event (by time, then id); false when none. */
pl_err store_sla_flag_state(store *s, int64_t msg_id, bool *flagged);
/* Open (unanswered, unflagged) buyer messages received in (since, until]. */
pl_err store_sla_open_list(store *s, const char *seller_id, pl_time since, pl_time until,
                           pl_arena *a, sla_open_msg **out, size_t *n);
/* The time of the seller's latest event (message, delivery or flag); 0 when none. */
pl_err store_sla_latest(store *s, const char *seller_id, pl_time *out);
/* Sellers of a marketplace (NULL: all), for the operator's list by risk. */
pl_err store_seller_list(store *s, const char *marketplace_id, pl_arena *a, st_seller **out,
                         size_t *n);
/* Threads that need a response and are due in (lo, hi], soonest first, at most limit;
 * only id, seller_id, buyer_id, marketplace_id and response_due_at are filled. */
pl_err store_thread_due_list(store *s, pl_time lo, pl_time hi, int limit, pl_arena *a,
                             st_thread **out, size_t *n);
/* A counter shared by every node on the store (0 when never set), into *out; with bump,
 * one is added first and *out is the new value. The policy's reload generation uses it. */
pl_err store_counter(store *s, const char *name, bool bump, int64_t *out);

/* -- reading the audit log and its checkpoints (store_audit.c) -- */
pl_err store_audit_list(store *s, const char *subject, pl_arena *a, st_audit **out, size_t *n);
/* Up to limit entries of a chain after seq `after`, in chain order; chain NULL reads
 * the legacy chain by id after `after`. */
pl_err store_audit_chain(store *s, const char *chain, int64_t after, size_t limit, pl_arena *a,
                         st_audit **out, size_t *n);
/* Every chain's head, sorted by chain. */
pl_err store_audit_heads(store *s, pl_arena *a, st_audit_head **out, size_t *n);
/* Checkpoints: append one (sets c->id); list them oldest first. */
pl_err store_audit_checkpoint_add(store *s, st_audit_checkpoint *c);
pl_err store_audit_checkpoint_list(store *s, pl_arena *a, st_audit_checkpoint **out, size_t *n);

/* -- identities (docs/api.md, "Tokens") (store_ident.c) -- */
/* Inserts a token (t->id is set). */
pl_err store_token_put(store *s, const char *hash, st_token *t, pl_time at);
/* A token by the hash of its secret, or (hash NULL) by id; PL_ENOTFOUND when none. */
pl_err store_token_get(store *s, const char *hash, int64_t id, pl_arena *a, st_token *out);
/* Tokens, newest first, at most limit: every one (seller_id NULL) or those of the
 * seller's agents; revoked and expired ones only when all is set. */
pl_err store_token_list(store *s, const char *seller_id, bool all, pl_time now, int limit,
                        pl_arena *a, st_token **out, size_t *n);
/* Revokes a token and the sessions signed in with it, or (id 0) every token of a subject
 * (an agent's decimal id, a buyer's id); *n the rows revoked (0 when they were revoked
 * already). */
pl_err store_token_revoke(store *s, int64_t id, st_principal_kind kind, const char *subject,
                          pl_time at, long *n);
/* Records that a token was used at `at`. */
pl_err store_token_touch(store *s, int64_t id, pl_time at);
/* Marks an agent deactivated at `at`: PL_ENOTFOUND when no such agent, PL_EEXIST when
 * deactivated already. */
pl_err store_agent_deactivate(store *s, int64_t id, pl_time at);
/* Unassigns every thread of the seller assigned to the agent; *n how many. */
pl_err store_agent_unassign_all(store *s, const char *seller_id, int64_t agent_id, long *n);
/* Sessions (scope "session") of a principal that hold at `now`, newest first, at most
 * limit. */
pl_err store_session_list(store *s, st_principal_kind kind, const char *subject, pl_time now, int limit,
                          pl_arena *a, st_token **out, size_t *n);
/* Revokes a principal's sessions but the one of id keep (0: every one); *n how many. */
pl_err store_session_revoke_all(store *s, st_principal_kind kind, const char *subject, int64_t keep,
                                pl_time at, long *n);

/* -- accounts and invitations (docs/api.md, "Accounts") (store_account.c) -- */
/* Inserts an account (a->id is set); PL_EEXIST when the address or the principal has one. */
pl_err store_account_add(store *s, st_account *a);
/* An account by id, else by the look-up hash of its address, else (both 0/NULL) by its
 * principal; PL_ENOTFOUND when none. */
pl_err store_account_get(store *s, int64_t id, const char *email_hash, st_principal_kind kind,
                         const char *subject, pl_arena *a, st_account *out);
/* Sets the password hash (and password_at). */
pl_err store_account_password_set(store *s, int64_t id, const char *password_hash, pl_time at);
/* Sets the second factor: its sealed secret (NULL: none), whether it is on, the last step. */
pl_err store_account_totp_set(store *s, int64_t id, const char *totp_sealed, bool on, int64_t step);
/* Records that the time step was used, only when it is after the last one used:
 * PL_EEXIST when it is not (a code replayed, or raced by another sign-in). */
pl_err store_account_totp_use(store *s, int64_t id, int64_t step);
/* Replaces the account's recovery codes with n new ones (their hashes; n 0: none). */
pl_err store_recovery_codes_put(store *s, int64_t account_id, const char *const *hashes, size_t n);
/* Marks the unused code of that hash used: PL_ENOTFOUND when there is none (wrong, or used). */
pl_err store_recovery_code_use(store *s, int64_t account_id, const char *hash, pl_time at);
/* How many of the account's recovery codes are unused. */
pl_err store_recovery_codes_left(store *s, int64_t account_id, int64_t *n);
/* Records when a reset link was last mailed. */
pl_err store_account_reset_at(store *s, int64_t id, pl_time at);
/* Marks the account's address verified at `at` (PL_ENOTFOUND when no such account). */
pl_err store_account_verify(store *s, int64_t id, pl_time at);
/* Deletes an account whose address is not verified (PL_ENOTFOUND when there is none such
 * of that id): an address nobody has shown to be theirs holds no other account off. */
pl_err store_account_drop_unverified(store *s, int64_t id);
/* Whether a principal was ever given a token (any scope, revoked and expired ones too):
 * an operator's name is taken once it has one. */
pl_err store_principal_known(store *s, st_principal_kind kind, const char *subject, bool *known);
/* Inserts an invitation (v->id is set). */
pl_err store_invitation_add(store *s, st_invitation *v);
/* An invitation by id; PL_ENOTFOUND when none. */
pl_err store_invitation_get(store *s, int64_t id, pl_arena *a, st_invitation *out);
/* Invitations of a seller (NULL: the operators'), newest first, at most limit; pending
 * ones only (not accepted, revoked or expired at now) when pending_only. */
pl_err store_invitation_list(store *s, const char *seller_id, bool pending_only, pl_time now, int limit,
                             pl_arena *a, st_invitation **out, size_t *n);
/* Pending invitations of a seller (NULL: the operators') at now. */
pl_err store_invitation_count(store *s, const char *seller_id, pl_time now, int64_t *n);
/* Ends a pending invitation: accepted (accept true) or revoked at `at`; PL_ENOTFOUND when
 * it is not pending any more (used, revoked: an invitation is good once). */
pl_err store_invitation_end(store *s, int64_t id, bool accept, pl_time at);

/* -- team work (docs/team.md) (store_team.c) -- */
/* Inserts a document when d->id is 0 (setting it), else replaces the state and body of
 * the seller's document of that kind and id (PL_ENOTFOUND when there is none). */
pl_err store_team_doc_put(store *s, st_team_doc *d);
pl_err store_team_doc_get(store *s, const char *seller_id, st_doc_kind kind, int64_t id,
                          pl_arena *a, st_team_doc *out);
/* The seller's documents of a kind (state ST_PROPOSAL_NONE: any), newest first, at most limit. */
pl_err store_team_doc_list(store *s, const char *seller_id, st_doc_kind kind, st_proposal_state state,
                           int limit, pl_arena *a, st_team_doc **out, size_t *n);
pl_err store_team_doc_delete(store *s, const char *seller_id, st_doc_kind kind, int64_t id);
/* The seller's agents by id, with availability (an agent never set is available). */
pl_err store_team_agent_list(store *s, const char *seller_id, pl_arena *a, st_team_agent **out,
                             size_t *n);
pl_err store_team_agent_put(store *s, const char *seller_id, const st_team_agent *ag);
/* PL_ENOTFOUND when the thread has no assignee, priority or tag yet. */
pl_err store_thread_team_get(store *s, int64_t thread_id, pl_arena *a, st_thread_team *out);
pl_err store_thread_team_put(store *s, const st_thread_team *tt);
/* Takes or renews the thread's lock for lk->agent_id unless another agent holds one
 * that has not expired at `now`; *holder is the lock as it stands afterwards. The row
 * is written in the caller's transaction, so writers on one thread queue behind it. */
pl_err store_thread_lock_take(store *s, const char *seller_id, const st_thread_lock *lk,
                              pl_time now, pl_arena *a, st_thread_lock *holder);
/* The live lock of a thread at `now`; PL_ENOTFOUND when none. */
pl_err store_thread_lock_get(store *s, int64_t thread_id, pl_time now, pl_arena *a,
                             st_thread_lock *out);
/* Ends agent_id's lock on the thread (no-op when another agent holds it). */
pl_err store_thread_lock_release(store *s, int64_t thread_id, int64_t agent_id);
/* The seller's replies (seller messages of kind message or auto_reply) with id at
 * most max_id (0: any), newest first, at most limit; text, kind, agent and status. */
pl_err store_team_reply_list(store *s, const char *seller_id, int64_t max_id, int limit,
                             pl_arena *a, st_message **out, size_t *n);

/* -- suggested replies (docs/team.md, "Suggested replies") (store_suggest.c) -- */
/* terms: at most ST_SUGGEST_MAX_TERMS distinct words, separated by one space, each only
 * letters and digits (the service folds and picks them); the store quotes every one, so
 * that none is read as full-text syntax, and looks for any of them. A term holding a
 * quote, a backslash, a control character or nothing is refused (PL_EINVAL). Ranks are
 * the backend's relevance (SQLite FTS5 bm25, PostgreSQL ts_rank) times 1,000,000, higher
 * is closer: comparable within one answer, not across backends. */
#define ST_SUGGEST_MAX_TERMS 16
/* The seller's templates (of its newest 1,000) whose name or any variant holds a term,
 * best first, at most limit. */
typedef struct {
  int64_t id, rank;
} st_suggest_template;
pl_err store_suggest_templates(store *s, const char *seller_id, const char *terms, int limit,
                               pl_arena *a, st_suggest_template **out, size_t *n);
/* A past reply: an earlier buyer message of the seller (outside thread except_thread)
 * whose masked text (the seller's search index) holds a term, and the seller's first
 * delivered reply of kind message after it in its thread. */
typedef struct {
  int64_t asked_id, thread_id, reply_id, rank;
  char *asked_text; /* the buyer message as the seller's index holds it (masked) */
  char *reply_text, *topic, *order_id; /* order_id NULL for a product question */
  char *buyer_name, *buyer_locale;     /* the other thread's buyer */
} st_suggest_reply;
/* At most `candidates` matching buyer messages are considered, best first; of those with
 * a reply, at most limit, best first. */
pl_err store_suggest_replies(store *s, const char *seller_id, int64_t except_thread, const char *terms,
                             int candidates, int limit, pl_arena *a, st_suggest_reply **out, size_t *n);

/* -- attachments and Idempotency-Keys (docs/attachments.md, docs/api.md) (store_attach.c) -- */
pl_err store_attachment_put(store *s, const st_attachment *a);
/* segments: also read segments_json (it may be megabytes); else it is NULL. */
pl_err store_attachment_get(store *s, const char *id, bool segments, pl_arena *a,
                            st_attachment *out);
/* A readable record of this content, with its segments (the text is read once per
 * content); PL_ENOTFOUND when none. */
pl_err store_attachment_find_sha(store *s, const char *sha256, pl_arena *a, st_attachment *out);
/* Attaches to a message at position pos; PL_EEXIST when already attached. */
pl_err store_attachment_link(store *s, int64_t message_id, int64_t thread_id,
                             const char *seller_id, const char *attachment_id, int pos);
/* The attachments of a thread's messages, by message and position; or, thread_id 0, the
 * messages attachment_id is attached to (at most 1000). */
pl_err store_attachment_links(store *s, int64_t thread_id, const char *attachment_id, pl_arena *a,
                              st_msg_attachment **out, size_t *n);
/* Records of uploads created before `before` that no message carries, oldest first,
 * at most limit (id, sha256, created_at and the uploader filled). */
pl_err store_attachment_orphans(store *s, pl_time before, int limit, pl_arena *a,
                                st_attachment **out, size_t *n);
/* Deletes an unattached record (PL_ECONFLICT when a message carries it meanwhile);
 * *file_unused tells whether any other record still names its bytes. */
pl_err store_attachment_delete(store *s, const char *id, const char *sha256, bool *file_unused);
/* Claims (principal, key) for a request with this fingerprint: *claimed when the key
 * was new (a row in state "processing" is written); otherwise *out is the row there.
 * A concurrent claim of the same key waits for the other transaction to end. */
pl_err store_idem_claim(store *s, const char *principal, const char *key, const char *fingerprint,
                        pl_time now, pl_arena *a, bool *claimed, st_idem *out);
/* The row of (principal, key); PL_ENOTFOUND when none. */
pl_err store_idem_get(store *s, const char *principal, const char *key, pl_arena *a, st_idem *out);
/* Stores the answer of a claimed key; status 0 forgets the key instead (the request
 * failed in a way a retry may redo). */
pl_err store_idem_finish(store *s, const char *principal, const char *key, int status,
                         const char *body);
/* Deletes keys created before `before`; *n how many. */
pl_err store_idem_sweep(store *s, pl_time before, int64_t *n);

/* -- e-mail: the outbox, store-wide figures, inbound look-ups (docs/postfix.md) (store_mail.c) -- */
pl_err store_outbox_add(store *s, st_outbox *o); /* sets o->id */
/* Claims up to limit pending mails due at `now`, oldest first, moving their due time
 * to claim_until so that no other worker (or node) takes them meanwhile; rows another
 * transaction is claiming are skipped, never waited for. */
pl_err store_outbox_claim(store *s, pl_time now, pl_time claim_until, int limit, pl_arena *a,
                          st_outbox **out, size_t *n);
/* Writes state, attempts, next_at, sent_at and last_error of o->id. */
pl_err store_outbox_update(store *s, const st_outbox *o);
/* The store-wide figures of st_ops_figures, of every seller (an operator's view, never
 * shown to a tenant), read from the partial indexes of pending mail and held messages. */
pl_err store_ops_figures(store *s, st_ops_figures *out);
/* The (marketplace, buyer, seller) of a buyer's alias; PL_ENOTFOUND when none. */
pl_err store_alias_find(store *s, const char *alias, pl_arena *a, char **marketplace_id,
                        char **buyer_id, char **seller_id);
/* Agents' registered addresses: one address once per seller (PL_EEXIST); sets v->id. */
pl_err store_agent_address_add(store *s, st_agent_address *v);
/* The seller's addresses (agent_id 0: every agent's), by id. */
pl_err store_agent_address_list(store *s, const char *seller_id, int64_t agent_id, pl_arena *a,
                                st_agent_address **out, size_t *n);
/* PL_ENOTFOUND unless the seller's agent agent_id has address id. */
pl_err store_agent_address_delete(store *s, const char *seller_id, int64_t agent_id, int64_t id);
/* The seller's address with this keyed hash; PL_ENOTFOUND when none. */
pl_err store_agent_address_find(store *s, const char *seller_id, const char *email_hash,
                                pl_arena *a, st_agent_address *out);

/* -- key rotation (docs/operations.md, "Key rotation") (store_keys.c) -- */
/* The platform operator's walk over every sealed address, whatever its tenant. Up to
 * limit rows of kind whose key is above after (NULL: from the first) and whose sealed
 * value does not start with skip (NULL: every row), by key. */
pl_err store_sealed_page(store *s, st_sealed_kind kind, const char *skip, const char *after, int limit,
                         pl_arena *a, st_sealed_row **out, size_t *n);
/* Replaces the sealed value of row key (and its look-up hash, for the kinds that have
 * one) if it is still old: *changed false when a writer changed it meanwhile. PL_EEXIST
 * when the new hash collides with another row's. */
pl_err store_sealed_reseal(store *s, st_sealed_kind kind, const char *key, const char *old,
                           const char *sealed, const char *hash, bool *changed);
/* How many rows of kind hold a sealed value starting with prefix ("": every one). */
pl_err store_sealed_count(store *s, st_sealed_kind kind, const char *prefix, int64_t *n);

/* -- SP-API credentials and upload destinations (store_spapi.c) -- */
/* SP-API credentials: insert or replace by client_id; look up by client_id, or by
 * seller_id when client_id is NULL. */
pl_err store_spapi_client_put(store *s, const st_spapi_client *c);
pl_err store_spapi_client_get(store *s, const char *client_id, const char *seller_id, pl_arena *a,
                              st_spapi_client *out);
/* SP-API upload destinations: insert or replace by id. */
pl_err store_spapi_upload_put(store *s, const st_spapi_upload *u);
pl_err store_spapi_upload_get(store *s, const char *id, pl_arena *a, st_spapi_upload *out);


/* -- webhooks and their deliveries (store_webhook.c; docs/webhooks.md) -- */
/* Inserts a webhook when w->id is 0 (setting it), else replaces its url, events,
 * secret, state and failure record (PL_ENOTFOUND when there is none). */
pl_err store_webhook_put(store *s, st_webhook *w);
pl_err store_webhook_get(store *s, int64_t id, pl_arena *a, st_webhook *out);
/* A seller's webhooks, or (seller_id NULL) the operator's, oldest first. */
pl_err store_webhook_list(store *s, const char *seller_id, pl_arena *a, st_webhook **out, size_t *n);
/* The active webhooks that hear of an event of seller_id in marketplace_id: the
 * seller's and the operator's of that marketplace or of every one. */
pl_err store_webhook_listeners(store *s, const char *seller_id, const char *marketplace_id, pl_arena *a,
                               st_webhook **out, size_t *n);
/* Deletes a webhook and its deliveries; PL_ENOTFOUND when there is none. */
pl_err store_webhook_delete(store *s, int64_t id);
/* Queues an event for a webhook, due at d->created_at (sets d->id); PL_EEXIST when that
 * event is queued for it already. */
pl_err store_webhook_delivery_add(store *s, st_webhook_delivery *d);
/* Claims up to limit pending deliveries due at `now` of webhooks not paused at `now`,
 * oldest first, moving their due time to claim_until (as store_outbox_claim). */
pl_err store_webhook_delivery_claim(store *s, pl_time now, pl_time claim_until, int limit, pl_arena *a,
                                    st_webhook_delivery **out, size_t *n);
/* Whether any delivery is due at `now` (a read: the worker's look before it claims). */
pl_err store_webhook_delivery_due(store *s, pl_time now, bool *any);
/* Writes state, attempts, next_at and the last attempt of d->id. */
pl_err store_webhook_delivery_update(store *s, const st_webhook_delivery *d);
pl_err store_webhook_delivery_get(store *s, int64_t webhook_id, int64_t id, pl_arena *a, st_webhook_delivery *out);
/* Deletes up to limit delivered or failed deliveries created before `before`; *n how many. */
pl_err store_webhook_delivery_sweep(store *s, pl_time before, int limit, int64_t *n);
/* A webhook's deliveries, newest first, with id below `before` (0: from the newest). */
pl_err store_webhook_delivery_list(store *s, int64_t webhook_id, int64_t before, int limit, pl_arena *a,
                                   st_webhook_delivery **out, size_t *n);

/* -- the seller's messaging settings and agents' notifications (store_notify.c;
 * docs/notifications.md) -- */
/* PL_ENOTFOUND when the seller never changed a setting (the defaults apply). */
pl_err store_seller_settings_get(store *s, const char *seller_id, pl_arena *a, st_seller_settings *out);
pl_err store_seller_settings_put(store *s, const st_seller_settings *v);
/* The agent's choices, the defaults where it made none (PL_ENOTFOUND: no such agent). */
pl_err store_agent_notify_get(store *s, int64_t agent_id, pl_arena *a, st_agent_notify *out);
pl_err store_agent_notify_put(store *s, const st_agent_notify *v);
/* The seller's active agents and their choices: every one (mode NULL), or those whose
 * mode is `mode`. */
pl_err store_agent_notify_list(store *s, const char *seller_id, const char *mode, pl_arena *a, st_agent_notify **out,
                               size_t *n);
/* Up to limit agents of any seller whose hourly or daily digest is due at `now`. */
pl_err store_digest_due(store *s, pl_time now, int limit, pl_arena *a, st_agent_notify **out, size_t *n);
/* Moves an agent's next digest from `was` to `next`; PL_ENOTFOUND when another node
 * moved it first (that node sends this digest). */
pl_err store_digest_next(store *s, int64_t agent_id, pl_time was, pl_time next);

/* -- bulk notices (store_bulk.c; docs/rules.md "Bulk notices") -- */
typedef struct {
  int64_t id;
  char *seller_id, *marketplace_id;
  int64_t agent_id;   /* who sent it: each message is that agent's */
  char *action, *text;
  char *attachments;  /* JSON array of attachment ids */
  char *status;       /* running, done, canceled */
  int64_t total;
  pl_time created_at, updated_at;
} st_bulk;
typedef struct {
  int64_t notice_id;
  char *order_id;
  char *state; /* pending, delivered, not_delivered, failed, canceled */
  int64_t message_id;
  char *error;
  pl_time updated_at;
} st_bulk_item;
typedef struct {
  int64_t pending, delivered, not_delivered, failed, canceled;
} st_bulk_counts;
/* Records a notice (sets b->id), running, with a pending item for each of n orders. */
pl_err store_bulk_add(store *s, st_bulk *b, const char *const *orders, size_t n);
pl_err store_bulk_get(store *s, int64_t id, pl_arena *a, st_bulk *out);
/* A seller's notices (seller_id NULL: every seller's), newest first, id below before (0: from the newest). */
pl_err store_bulk_list(store *s, const char *seller_id, int64_t before, int limit, pl_arena *a, st_bulk **out,
                       size_t *n);
pl_err store_bulk_counts(store *s, int64_t id, pl_arena *a, st_bulk_counts *out);
/* Every item of a notice, by order id. */
pl_err store_bulk_items(store *s, int64_t id, pl_arena *a, st_bulk_item **out, size_t *n);
/* Cancels a running notice and its pending items (PL_ENOTFOUND when it is not running). */
pl_err store_bulk_cancel(store *s, int64_t id, pl_time now);
/* The oldest running notices, and the pending items of one, for the bulk worker. */
pl_err store_bulk_running(store *s, int limit, pl_arena *a, st_bulk **out, size_t *n);
pl_err store_bulk_pending(store *s, int64_t id, int limit, pl_arena *a, st_bulk_item **out, size_t *n);
/* Records what became of a pending item (PL_ENOTFOUND: it is pending no more). */
pl_err store_bulk_item_set(store *s, const st_bulk_item *it);
/* Marks a running notice done when nothing of it is pending (*done: it was now). */
pl_err store_bulk_finish(store *s, int64_t id, pl_time now, bool *done);
/* The seller's orders with a product, by order id, at most limit. */
pl_err store_orders_with_asin(store *s, const char *seller_id, const char *asin, int limit, pl_arena *a,
                              char ***out, size_t *n);

/* -- claims and the complaint rate (store_clock.c; docs/metrics.md) -- */
typedef struct {
  int64_t id;
  char *order_id, *seller_id;
  char *kind; /* a_to_z, chargeback, negative_feedback */
  pl_time at, created_at;
} st_claim;
/* Records a claim (sets c->id); PL_EEXIST when that order has it (kind and time) already. */
pl_err store_claim_add(store *s, st_claim *c);
/* A seller's claims, newest first, at most limit. */
pl_err store_claim_list(store *s, const char *seller_id, int limit, pl_arena *a, st_claim **out, size_t *n);
/* The seller's conversations about an order started in (since, until], and how many of
 * them are about an order that got a claim. */
pl_err store_complaint_counts(store *s, const char *seller_id, pl_time since, pl_time until, int64_t *conversations,
                              int64_t *claimed);

/* Records a seller's response-time status as seen at `at`; *changed: it differs from the
 * one recorded before (or none was), and this call recorded it. */
pl_err store_seller_health_set(store *s, const char *seller_id, const char *status, pl_time at, bool *changed);
/* Records whether the seller's CRT is at risk at `now` (after store_seller_health_set made
 * its row); *since: since when it is without a break, 0 when it is not. */
pl_err store_seller_crt_at_risk(store *s, const char *seller_id, bool at_risk, pl_time now, pl_time *since);

/* -- retention and legal holds (store_retention.c; docs/rules.md "Retention") -- */
typedef struct {
  int64_t thread_id;
  char *seller_id, *marketplace_id;
  char *reason, *set_by;
  pl_time set_at;
} st_legal_hold;
/* Sets (or replaces the reason of) a thread's legal hold. */
pl_err store_legal_hold_set(store *s, const st_legal_hold *h);
/* PL_ENOTFOUND when the thread has none. */
pl_err store_legal_hold_get(store *s, int64_t thread_id, pl_arena *a, st_legal_hold *out);
/* Releases it; PL_ENOTFOUND when there was none. */
pl_err store_legal_hold_delete(store *s, int64_t thread_id);
/* The holds of a marketplace (NULL: every one) by thread, after thread id `after`, at most limit. */
pl_err store_legal_hold_list(store *s, const char *marketplace_id, int64_t after, int limit, pl_arena *a,
                             st_legal_hold **out, size_t *n);
/* The seller's threads whose last message is before `before` and that no legal hold keeps,
 * oldest first, at most limit: ids into *out. */
pl_err store_retention_due(store *s, const char *seller_id, pl_time before, int limit, pl_arena *a,
                           int64_t **out, size_t *n);
/* Deletes a thread and everything of it: messages and their events, states, search rows,
 * attachment links, clock outcomes and mails, its team data; the hourly buckets (counts,
 * no text) and the audit log (references, no text) stay. *messages: how many it had. */
pl_err store_thread_purge(store *s, int64_t thread_id, int64_t *messages);
/* -- learning from the operator (store_learn.c; docs/policy.md "Learning from the operator") -- */
/* The most labelled examples a marketplace keeps: each new one past it drops the oldest. */
#define ST_POLICY_EXAMPLES_KEEP 5000
typedef struct {
  int64_t id;
  char *marketplace_id, *seller_id;
  int64_t message_id;
  char *label;      /* "clean" (approved) or "violation" (rejected) */
  char *categories; /* JSON array of the learned categories it was held for */
  char *text;       /* the seller's text, as message bodies are stored */
  char *decided_by;
  pl_time decided_at;
} st_policy_example;
/* Records an example (sets e->id) and drops the marketplace's oldest beyond keep;
 * PL_EEXIST when its message has one already. */
pl_err store_policy_example_add(store *s, st_policy_example *e, int keep);
/* A marketplace's examples, newest first, at most limit. */
pl_err store_policy_example_list(store *s, const char *marketplace_id, int limit, pl_arena *a,
                                 st_policy_example **out, size_t *n);
/* The marketplaces that have examples, by id. */
pl_err store_policy_example_marketplaces(store *s, pl_arena *a, char ***out, size_t *n);
typedef struct {
  int64_t total;      /* the marketplace's examples */
  int64_t violations; /* of which rejections */
  int64_t since;      /* of which decided after the time asked about */
} st_policy_example_counts;
/* How many examples a marketplace keeps, how many are rejections, and how many were
 * decided after since (its model's training, say). */
pl_err store_policy_example_counts(store *s, const char *marketplace_id, pl_time since,
                                   st_policy_example_counts *out);
typedef struct {
  char *marketplace_id;
  char *version; /* "clf-" and 12 hex digits of the model's SHA-256 */
  char *model;   /* the model's bytes in base64; NULL when read without them */
  int64_t examples; /* the marketplace's examples it was trained with */
  char *trained_by;
  pl_time trained_at;
} st_policy_model;
/* Stores a marketplace's model in place of the one before. */
pl_err store_policy_model_put(store *s, const st_policy_model *m);
/* A marketplace's model, with its bytes or (with_model false) without; PL_ENOTFOUND when
 * it has none. */
pl_err store_policy_model_get(store *s, const char *marketplace_id, bool with_model, pl_arena *a,
                              st_policy_model *out);

/* ---- the schema and its migrations (docs/operations.md, "Upgrades") ----------------
 * Migrations are numbered and applied in order. Most only add (tables, columns with a
 * default, indexes): a parley that knows fewer of them still runs on the result. A
 * migration that takes away what older parleys use begins with the line
 * "-- contract K": after it, only a parley that knows at least K migrations may run on
 * the database. The database keeps, per migration applied, that K (0 when it only
 * adds); its compat is the largest. */
typedef enum {
  STORE_SCHEMA_EXPAND, /* store_open: apply what only adds; a contract waits for ALL */
  STORE_SCHEMA_ALL,    /* parley migrate --apply: apply everything */
  STORE_SCHEMA_CHECK,  /* parley migrate --check: plan as EXPAND, apply and change nothing */
} store_schema_mode;

typedef struct {
  int version;        /* the database's schema version (0: empty) */
  int known;          /* the migrations this parley has */
  int compat;         /* the fewest migrations a parley must know to run on it (0: any) */
  int target;         /* the version the mode brings it to (CHECK: EXPAND would) */
  int first_contract; /* the first contract migration not applied by target; 0: none */
  int contract_needs; /* that migration's K */
  bool runnable;      /* this parley may run on the database at target */
} store_schema;

typedef struct {
  store_schema_mode mode;
  int known; /* tests only: act as a parley that knows only this many migrations (0: all) */
} store_open_options;

/* Opens a store by URL: a file path or "sqlite:PATH" for SQLite, or a postgres:// or
 * postgresql:// URL for PostgreSQL; the schema is created and migrated when needed
 * (STORE_SCHEMA_EXPAND). */
pl_err store_open(const char *url, store **out, pl_detail *d);
/* As store_open, with options (NULL: the defaults). With STORE_SCHEMA_CHECK, a SQLite
 * file must exist, nothing is written, and *out is NULL: only *schema is filled. A
 * database this parley may not run on fails with PL_ESTORE, naming the versions, except
 * under STORE_SCHEMA_CHECK. schema may be NULL. */
pl_err store_open_ex(const char *url, const store_open_options *o, store **out,
                     store_schema *schema, pl_detail *d);

pl_err store_sqlite_open(const char *path, const store_open_options *o, store **out,
                         store_schema *schema, pl_detail *d);
pl_err store_pg_open(const char *url, const store_open_options *o, store **out,
                     store_schema *schema, pl_detail *d);

/* Shared by the backends: K of a migration ("-- contract K" first line), else 0. */
int store__migration_contract(const char *sql);
/* The plan for a database at version with compat, for a parley whose migrations are
 * sql[0..known): fills *out. PL_ESTORE with a message when the mode may not open it
 * (never under STORE_SCHEMA_CHECK). */
pl_err store__schema_plan(int version, int compat, const char *const *sql, int known,
                          store_schema_mode mode, store_schema *out, pl_detail *d);

/* The audit hash: BLAKE2b over prev_hash and the entry's fields, as hex. Shared by
 * every backend so that a chain verifies whatever stored it. */
void store__audit_hash(const st_audit *e, const char *prev_hash, char out[65]);
/* How the SLA counts a seller message of a stored kind (NULL or unknown: a reply, as
 * before kinds were stored). */
sla_kind store__sla_kind(const char *stored_kind);

#define store_close(s) ((s)->ops->close(s))
/* A transaction of the calling thread: begin, then commit or rollback. They time it from
 * begin to its end, for store_tx_durations. */
pl_err store_begin(store *s, bool write);
pl_err store_commit(store *s);
void store_rollback(store *s);

/* The bounds (seconds, ascending) of the transaction duration histogram, *n of them; the
 * last bucket is +Inf beyond them. Static. */
const double *store_tx_bounds(size_t *n);
#define ST_TX_BUCKETS 12 /* store_tx_bounds' n + 1 */
/* Transactions ended in this process since start, reads (write false) or writes: counts
 * per bucket (not cumulative, ST_TX_BUCKETS of them), their number and total seconds. */
typedef struct {
  uint64_t bucket[ST_TX_BUCKETS];
  uint64_t count;
  double sum_s;
} st_tx_durations;
void store_tx_durations(bool write, st_tx_durations *out);

#endif
