/* http.h - the HTTP transport: parley's own JSON API and the SP-API-compatible one over
 * libmicrohttpd. */
#ifndef PL_HTTP_H
#define PL_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "service/svc.h"

typedef struct http_server http_server;

typedef struct {
  const char *listen;    /* "127.0.0.1:8080" */
  unsigned threads;      /* threads that run write requests; 0 = 16 a CPU, 8 to 64 */
  size_t max_body;       /* bytes; 0 = 1 MiB */
  const char *web_root;  /* directory of the web message center, or NULL */
  /* https: PEM certificate (chain) and private key, owned by the caller and kept until
   * http_stop; NULL serves plain http */
  const char *tls_cert_pem, *tls_key_pem;
  long spapi_token_ttl;  /* seconds an SP-API access token lives; 0 = 3600 (tests) */
  /* the connection budget (http_budget.c); 0 = the default of each */
  unsigned max_connections;        /* open connections in all (8192) */
  unsigned max_connections_per_ip; /* open connections of one client address (256) */
  unsigned max_streams;            /* live-event streams of one principal (8) */
  unsigned header_timeout_ms;      /* request line and headers, from the request's start (10 s) */
  unsigned body_timeout_ms;        /* body, plus 1 s per 64 KiB received (30 s) */
  /* Behind a reverse proxy that terminates TLS: believe its X-Forwarded-Proto (cookies
   * get Secure when it says https) and X-Forwarded-For. Off: both headers are ignored. */
  bool trust_proxy;
} http_options;

/* Starts serving; s stays owned by the caller and must outlive the server. */
pl_err http_start(svc *s, const http_options *opt, http_server **out, pl_detail *d);
/* The port actually bound (useful with port 0). */
unsigned http_port(const http_server *h);
/* Stops the server: every connection is closed, answered or not (after http_drain, none
 * is left). */
void http_stop(http_server *h);

/* What is open now, for the drain's log lines. */
typedef struct {
  unsigned connections; /* open connections */
  unsigned requests;    /* exchanges begun and not ended, event streams included */
  unsigned streams;     /* live-event streams */
} http_counts;
void http_counts_get(http_server *h, http_counts *out);
/* Begins a graceful stop and returns at once: the listening socket is closed (new
 * connections are refused), /healthz answers 503 server_stopping, every answer closes its
 * connection, every event stream sends what it has, a comment and a `retry:` hint and ends,
 * and connections waiting for a request with nothing of it received are shut. Requests in
 * flight (bodies arriving, handlers running) go on to their answers. */
void http_drain(http_server *h);
/* After http_drain: waits until every connection has closed. Unbounded; the caller bounds
 * the stop (cmd_serve.c). */
void http_drain_wait(http_server *h);
/* Applies the options that may change while serving (a configuration reload): the per-
 * address connection limit, streams a principal, header and body timeouts. They hold for
 * what begins afterwards; the other fields of o are ignored. */
void http_reconfigure(http_server *h, const http_options *o);

/* The HTTP status for an error code (the one table of it). */
unsigned http_status_for(pl_err e);

/* ---- the webhook delivery worker (http_deliver.c, docs/webhooks.md) ---- */
typedef struct {
  const char *allow;   /* hosts a webhook may reach besides public https ones (svc_webhook_host_allowed) */
  const char *ca_file; /* the CA bundle to trust instead of the system's, or NULL */
  int retry_base;      /* seconds before the first retry (0: 30) */
  int poll_ms;         /* how often the outbox of webhooks is looked at (0: 200) */
} http_deliver_options;
typedef struct http_deliverer http_deliverer;
pl_err http_deliver_start(struct svc *s, const http_deliver_options *o, http_deliverer **out, pl_detail *d);
/* Finishes the delivery being sent (its attempt recorded), gives the rest of its batch back
 * untried, and stops. */
void http_deliver_stop(http_deliverer *w);
/* Whether the worker refuses to connect to sa: an internal address (svc_webhook_addr_internal)
 * of a host the operator did not allow. */
struct sockaddr;
bool http_deliver_addr_refused(const struct sockaddr *sa, bool host_allowed);

#endif
