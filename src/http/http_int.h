/* http_int.h - the request and response of one HTTP exchange, shared by the http files. */
#ifndef PL_HTTP_INT_H
#define PL_HTTP_INT_H

#include <microhttpd.h>
#include <sodium.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "http/http.h"

typedef struct http_req_s {
  struct MHD_Connection *conn;
  const char *method, *url;
  char *body;
  size_t body_len, body_cap;
  bool too_large;
  bool oom; /* memory for the body or the answer could not be had: 503 */
  crypto_hash_sha256_state body_sha; /* of every body byte, uploads included */
  const char *idem_principal, *idem_key, *idem_fp; /* an armed Idempotency-Key (http_idem.c) */
  bool headers_too_large; /* request line and headers over HTTP_MAX_HEADER */
  pl_arena *a;
  svc *s;
  svc_caller caller;
  bool authed;
  char request_id[33];
  /* the response */
  unsigned status;
  char *resp;         /* malloc'd body */
  size_t resp_len;
  const char *content_type;
  const char *cache_control; /* NULL: "no-store" */
  const char *hname[6], *hvalue[6]; /* extra response headers (values arena-owned) */
  int nheaders;
  double started;
  /* for the access log (http.c, log_request) */
  const char *route;  /* the matched row's pattern, "static" or NULL (no route: "-") */
  const struct http_route_row *row; /* the row that answered, for /metrics (NULL: none) */
  bool static_file;   /* answered by the web message center's files */
  size_t sent_bytes;  /* the body queued by send_response (0 for streams and files) */
  bool answered;      /* a response was queued */
  bool streaming; /* the response is an event stream, queued by its handler */
  /* A write request runs on a handler thread while its connection is suspended
   * (http.c, "Handlers"): 1 queued or running, 2 done, its response ready. */
  int handled;
  struct http_req_s *next_job;
  http_server *h; /* the server it arrived at */
  /* POST /v1/attachments: the body goes to a file as it arrives (http_attach.c) */
  bool upload_route;
  struct svc_upload *upload;
  pl_err upload_err; /* what went wrong while receiving, with upload_msg */
  char upload_msg[160];
} http_req;

/* Who may call a route, which also says how its errors look: */
typedef enum {
  HTTP_ANYONE,       /* no credential (sign-in, health); own API errors */
  HTTP_USER,         /* a bearer token or the web session (http__authenticate) */
  HTTP_SPAPI_APP,    /* a seller's application with an SP-API access token; SP-API errors */
  HTTP_SPAPI_ANYONE, /* no credential, SP-API errors (upload targets: the URL is the secret) */
  HTTP_LWA_CLIENT,   /* the LWA token endpoint: client credentials in the body, OAuth errors */
} http_who;

/* A route's handler: r is admitted as its row's `who` says; arg holds the values of the
 * pattern's {} segments in order (arena strings). */
typedef void http_handler(http_req *r, char **arg);

typedef struct http_route_row {
  const char *method, *pattern;
  http_who who;
  http_handler *fn;
} http_route;

/* What /metrics counts of one route row (or of static files, or of the rest): answers by
 * status class and a latency histogram, in atomic counters so that recording is cheap. */
#define HTTP_LATENCY_BUCKETS 12 /* http.c's latency_bounds, +Inf last */
typedef struct {
  atomic_ulong bucket[HTTP_LATENCY_BUCKETS]; /* not cumulative */
  atomic_ulong by_class[6];                  /* 1xx..5xx */
  atomic_ullong sum_us;
} http_route_stats;

struct http_server {
  struct MHD_Daemon *d;
  svc *s;
  http_options opt;
  unsigned port;
  /* counters for /metrics: one entry a row of the route table (by its index), then
   * static files (HTTP_STATS_STATIC) and everything else (HTTP_STATS_OTHER) */
  http_route_stats *stats;
  size_t nroutes;
  double started_at; /* the Unix time the server started */
  /* live event streams: suspended while idle, resumed on events and pings */
  pthread_mutex_t sse_mu;
  pthread_cond_t sse_cv;
  struct http_sse *sse;
  unsigned nsse; /* streams on that list (sse_mu) */
  bool stopping;
  pthread_t pinger;
  bool pinger_started;
  struct http_budget *budget;
  /* Handlers: the threads that run write requests, so that a request waiting for its
   * commit's flush holds a handler, not a connection worker and every connection on it. */
  pthread_t *handlers;
  unsigned n_handlers;
  pthread_mutex_t job_mu;
  pthread_cond_t job_cv;
  struct http_req_s *jobs, *jobs_tail;
  bool jobs_stopping;
  /* A graceful stop (http_drain): no connection is accepted, answers close their
   * connections, streams end with a retry hint, idle connections are shut. */
  atomic_bool draining;
  atomic_uint requests; /* exchanges begun and not ended (streams included) */
  bool streams_ending;  /* under sse_mu: every stream sends what it has, its goodbye, ends */
};

/* ---- the connection budget (http_budget.c) ---- */
#define HTTP_MAX_HEADER (32 * 1024) /* request line and headers: larger is 431 */
#define HTTP_DEFAULT_MAX_CONNECTIONS 8192
#define HTTP_DEFAULT_MAX_PER_IP 256
#define HTTP_DEFAULT_MAX_STREAMS 8
#define HTTP_DEFAULT_HEADER_MS 10000
#define HTTP_DEFAULT_BODY_MS 30000

typedef struct http_budget http_budget;
/* Where a stream's connection is, to find it again when the stream ends. */
typedef struct {
  int fd;
  uint32_t serial;
} http_stream_ref;

/* Creates the budget for h->opt (raising RLIMIT_NOFILE as it needs) and starts its keeper. */
pl_err http__budget_new(http_server *h, http_budget **out, pl_detail *d);
/* Stops the keeper and frees the budget; after MHD_stop_daemon. */
void http__budget_free(http_budget *b);
/* The drain: from now on the keeper shuts every connection that waits for a request with
 * nothing of one received, and http__budget_wait_closed returns once none is left. */
void http__budget_drain(http_budget *b);
void http__budget_wait_closed(http_budget *b);
/* Connections open now; the streams a principal may hold now. */
unsigned http__budget_connections(http_budget *b);
unsigned http__budget_max_streams(http_budget *b);
/* Changes the limits that may change while serving (a configuration reload): per address,
 * streams a principal, header and body deadlines (0: the default of each); they apply to
 * what begins afterwards. */
void http__budget_set(http_budget *b, const http_options *o);
/* The callbacks to give libmicrohttpd (cls: the budget). */
MHD_NotifyConnectionCallback http__budget_notify(void);
MHD_AcceptPolicyCallback http__budget_accept(void);
/* The global limit after fitting it to the descriptor limit. */
unsigned http__budget_max_connections(const http_budget *b);
/* A request's progress, from on_request: headers in (the body deadline starts), n body
 * bytes in, the handler runs (no deadline), the exchange ended (the next request's starts). */
void http__budget_headers_done(http_budget *b, struct MHD_Connection *conn);
void http__budget_body(http_budget *b, struct MHD_Connection *conn, size_t n);
void http__budget_busy(http_budget *b, struct MHD_Connection *conn);
void http__budget_request_done(http_budget *b, struct MHD_Connection *conn);
/* A live-event stream of `principal` on conn: false when the principal holds the maximum.
 * On true, ref says where it is; stream_close (with the same principal and ref) gives the
 * place back. The keeper calls http__events_hangup(h, stream) when its client leaves. */
bool http__budget_stream_open(http_budget *b, struct MHD_Connection *conn, const char *principal,
                              void *stream, http_stream_ref *ref);
void http__budget_stream_close(http_budget *b, const char *principal, const http_stream_ref *ref);
/* libmicrohttpd logged that it answers a request line or headers too large itself: answer
 * in JSON first on this worker's connections that are past the limit (see the .c). */
void http__budget_oversized(http_budget *b);
void http__budget_count_header_refusal(http_budget *b);
/* Prometheus text of the budget into out; returns the length written. */
size_t http__budget_metrics(http_budget *b, char *out, size_t cap);

/* Starts and stops the stream keeper (pings, resumption on events). */
void http__events_start(http_server *h);
void http__events_stop(http_server *h);
/* Ends every stream: each sends the events it has not sent, a comment and a `retry:` hint,
 * then ends (http_drain); returns how many there were. */
unsigned http__events_end_all(http_server *h);
/* Live-event streams open now. */
unsigned http__events_count(http_server *h);
/* The client of a stream has gone: end the stream now (called by the budget's keeper). */
void http__events_hangup(http_server *h, void *stream);
/* How many live-event streams are open on this server now (/metrics). */
unsigned http__events_open(http_server *h);

/* Adds a response header; name and value must outlive the request (static or arena). */
void http__header(http_req *r, const char *name, const char *value);
/* Fills the response with a JSON value (consumed). */
void http__json(http_req *r, unsigned status, json_t *body);
/* Fills the response with the error body for e and the detail message. */
void http__error(http_req *r, pl_err e, const char *msg);
/* The JSON error of e with d's message and its fields for clients (retry_after, at, until;
 * docs/api.md "Errors"); Retry-After on 429 and 503. */
void http__fail(http_req *r, pl_err e, const pl_detail *d);
/* The query parameter name as a positive integer into *out (unchanged when absent); when
 * it is there and not one, false with the 400 of code set. Ranges are the service's. */
bool http__query_count(http_req *r, const char *name, pl_err code, long *out);
/* A service operation's answer: the error (v released), or v with status. */
void http__answer(http_req *r, pl_err e, const pl_detail *d, unsigned status, json_t *v);
/* A query parameter's value (NULL: not given). */
const char *http__query(http_req *r, const char *name);

/* Attachments (http_attach.c). upload_start, on a request's first call: true when it
 * is an upload, whose body then goes to upload_chunk instead of r->body (the 1 MiB
 * cap of JSON bodies does not apply; the attachment limit does). upload_end drops
 * what a request left unfinished. */
bool http__upload_start(http_server *h, http_req *r);
void http__upload_chunk(http_req *r, const char *data, size_t len);
void http__upload_end(http_req *r);
/* Whether the client reached parley over https: served with TLS, or (with trust_proxy)
 * a proxy says so in X-Forwarded-Proto. Cookies are Secure then. */
bool http__client_https(const http_server *h, const http_req *r);
/* The client's address into buf: the connection's peer, or (with trust_proxy) the last
 * address of X-Forwarded-For, the one the trusted proxy appended. */
const char *http__client_addr(const http_server *h, const http_req *r, char *buf, size_t cap);
/* Authenticates an API request (http_api.c); false with the error response set. */
bool http__authenticate(http_req *r);

/* Idempotency-Key (http_idem.c): begin, before routing a POST, answers a retry (the first
 * answer), a conflict or a bad key and returns true; otherwise it may claim the key,
 * whose answer end() then records. */
bool http__idem_begin(http_server *h, http_req *r);
void http__idem_end(http_req *r);

/* http_api.c's request helpers, for the other route files: the body as a JSON object
 * (NULL with the error response set), and an optional string or boolean field (false
 * with the error response set on a wrong type). */
json_t *http__body_object(http_req *r);   /* owned by r->a */
json_t *http__body_or_empty(http_req *r); /* owned by r->a */
bool http__field_str(http_req *r, json_t *o, const char *k, const char **out);
bool http__field_bool(http_req *r, json_t *o, const char *k, bool *out);
/* Accounts (http_account.c): a session begun (its cookies set and the caller answered
 * 201, session consumed), the cookies cleared, and the password sign-in of a POST
 * /v1/session body. */
void http__session_started(http_req *r, char *session, pl_time ends, const svc_caller *c);
void http__session_cookies_clear(http_req *r);
void http__session_password(http_req *r, json_t *body);
/* Whether the body was sent as JSON (Content-Type application/json): a form of another
 * site cannot send that without the browser asking first; false with 415 answered. */
bool http__json_sent(http_req *r);
/* Whether a path is one of the SP-API operations (their token is x-amz-access-token). */
bool http__spapi_path(const char *url);
/* SP-API's side of routing (http_spapi.c): admit authenticates an SP-API request as `who`
 * says (false with the error answered); refuse answers no such path (PL_ENOTFOUND), a body
 * too large (PL_ETOOLARGE) or a wrong method (PL_EMETHOD, allow: the path's methods). */
bool http__spapi_admit(http_req *r, http_who who);
void http__spapi_refuse(http_req *r, http_who who, pl_err e, const char *allow);

/* ---- the route table (http_route.c) ---- */
/* Answers r from the route table (after the checks of http.c's dispatch). */
void http__route(http_server *h, http_req *r);
/* The table, n rows. */
const http_route *http__routes(size_t *n);
/* Where h->stats counts static files and every request without a row (no such path, a
 * method the path does not take, refused before routing), after the n rows. */
#define HTTP_STATS_STATIC(n) (n)
#define HTTP_STATS_OTHER(n) ((n) + 1)
/* The row of url and method, or NULL; *path is the first row whose pattern matches url
 * (NULL when none does). With arg (room for 4), the values of the pattern's {} segments,
 * copied to a. */
const http_route *http__route_find(pl_arena *a, const char *url, const char *method, const http_route **path,
                                   char **arg);

/* The handlers of the table's rows, by file. */
http_handler http__healthz, http__metrics; /* http.c */
http_handler http__settings_get, http__settings_put, http__settings_confirm, http__notify_get, http__notify_put,
    http__notify_digest, http__claims_list, http__claim_add, http__bulk_create, http__bulk_list, http__bulk_get,
    http__bulk_cancel;
http_handler http__legal_holds_list, http__legal_hold_get, http__legal_hold_put, http__legal_hold_delete; /* http_retention.c */
http_handler http__session_create, http__session_delete, http__me, http__meta, http__preferences_get, http__preferences_put,
    http__threads_list, http__threads_start, http__thread_get, http__thread_send, http__thread_read,
    http__thread_archive, http__thread_unarchive, http__thread_export, http__message_flag, http__message_approve,
    http__message_reject, http__orders_list, http__order_get, http__order_put, http__order_actions,
    http__order_action_send, http__order_review_request, http__order_buyer_attributes, http__policy_check,
    http__review_queue, http__sellers, http__seller_metrics, http__enforcement_get, http__enforcement_set,
    http__policy_reload, http__policy_train, http__policy_models, http__tokens_list, http__token_revoke, http__agent_deactivate; /* http_api.c */
http_handler http__events; /* http_events.c: queues the event stream */
http_handler http__account_get, http__password_put, http__password_reset, http__password_reset_confirm,
    http__totp_begin, http__totp_confirm, http__totp_delete, http__recovery_codes_renew, http__sessions_list, http__session_revoke,
    http__sessions_revoke_all, http__invitations_list, http__invitation_create, http__invitation_revoke,
    http__invitation_accept, http__account_confirm; /* http_account.c */
http_handler http__webhooks_list, http__webhook_create, http__webhook_get, http__webhook_update, http__webhook_delete,
    http__webhook_deliveries, http__webhook_redeliver, http__webhook_test; /* http_webhook.c */
http_handler http__attachment_upload, http__attachment_download; /* http_attach.c */
http_handler http__templates_list, http__template_create, http__templates_starter, http__template_get,
    http__template_put, http__template_delete, http__template_render, http__template_proactive, http__agents_list,
    http__agent_availability, http__agent_metrics, http__addresses_list, http__address_add, http__address_remove,
    http__thread_assign, http__thread_tags, http__thread_priority, http__thread_note, http__thread_lock,
    http__thread_unlock, http__thread_suggestions, http__rules_list, http__rule_create, http__rule_put, http__rule_delete,
    http__rule_firings, http__proposals_list, http__proposal_send, http__proposal_discard,
    http__audit_sample; /* http_team.c */
http_handler http__lwa_token, http__sp_messaging_actions, http__sp_attributes, http__sp_motors,
    http__sp_message_create, http__sp_message_schema, http__sp_solicitation_actions, http__sp_solicitation_create,
    http__sp_solicitation_schema, http__sp_upload_create, http__sp_upload_put; /* http_spapi.c */
/* Serves the web message center's static files; false when not a web path. */
bool http__web(http_server *h, http_req *r);
/* Prometheus text for /metrics (malloc'd). */
char *http__metrics_text(http_server *h);

#endif
