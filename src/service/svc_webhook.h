/* svc_webhook.h - webhooks (docs/webhooks.md): a seller's owner or the operator subscribes
 * an https URL to events; each event is queued for every webhook that hears of it in the
 * transaction that caused it, and the delivery worker (src/http/http_deliver.c) POSTs it,
 * signed, retried with backoff for a day, every attempt logged.
 *
 * Same contract as svc.h: each operation runs in one store transaction, scoped to the
 * caller (another owner's webhook is PL_ENOTFOUND); JSON results are new references. */
#ifndef PL_SVC_WEBHOOK_H
#define PL_SVC_WEBHOOK_H

#include "service/svc.h"

#define SVC_WEBHOOKS_MAX 10          /* webhooks of one owner */
#define SVC_WEBHOOK_URL_MAX 2048     /* bytes of a URL */
#define SVC_WEBHOOK_RETRY_SECONDS (24 * 3600) /* an event is retried this long */
#define SVC_WEBHOOK_DISABLE_SECONDS (3 * 24 * 3600) /* failing this long turns a webhook off */
#define SVC_WEBHOOK_ANSWER_MAX 512   /* bytes of an answer kept in the delivery log */
#define SVC_WEBHOOK_LOG_DAYS 30      /* a delivered or failed delivery is kept this long */

/* The event types a webhook may subscribe to; ends with NULL. */
extern const char *const svc_webhook_events[];

/* Where webhooks may point besides public https addresses (--webhook-allow: "host" or
 * "host:port" entries, comma-separated, e.g. a receiver on loopback in tests): such a
 * host may use http and resolve to a private or loopback address. NULL: none. */
bool svc_webhook_host_allowed(const char *allow, const char *host, unsigned port);
/* Whether an address (AF_INET: 4 bytes, AF_INET6: 16) is one a webhook may not reach
 * unless its host is allowed: loopback, private, link-local, carrier-grade NAT,
 * unspecified, multicast, broadcast, documentation, and IPv6's unique-local and the IPv4
 * ones mapped or translated into IPv6. */
bool svc_webhook_addr_internal(int family, const unsigned char *addr);
/* Whether host is an address literal that svc_webhook_addr_internal refuses. */
bool svc_webhook_internal_literal(const char *host);
/* Splits an http(s) URL into its scheme's security, host and port; false when it is not
 * one (no credentials, no fragment, a host, a port from 1 to 65535). host: at most
 * 255 bytes, brackets of an IPv6 literal removed. */
bool svc_webhook_url_parse(const char *url, bool *https, char host[256], unsigned *port);

/* POST /v1/webhooks {"url","events"}: *out is the webhook with its secret (shown once). */
pl_err svc_webhook_create(svc *s, const svc_caller *c, json_t *body, pl_arena *a, json_t **out, pl_detail *d);
pl_err svc_webhook_list(svc *s, const svc_caller *c, pl_arena *a, json_t **out, pl_detail *d);
pl_err svc_webhook_get(svc *s, const svc_caller *c, int64_t id, pl_arena *a, json_t **out, pl_detail *d);
/* PUT /v1/webhooks/{id} {"url"?,"events"?,"active"?,"rotate_secret"?}: a new secret is in
 * *out once; the old one still signs for SVC_WEBHOOK_RETRY_SECONDS. */
pl_err svc_webhook_update(svc *s, const svc_caller *c, int64_t id, json_t *body, pl_arena *a, json_t **out,
                          pl_detail *d);
pl_err svc_webhook_delete(svc *s, const svc_caller *c, int64_t id, pl_detail *d);
/* The delivery log, newest first, before delivery `before` (0: from the newest). */
pl_err svc_webhook_deliveries(svc *s, const svc_caller *c, int64_t id, int64_t before, int limit, pl_arena *a,
                              json_t **out, pl_detail *d);
/* Queues a delivery's event again, now, as a new delivery with the same event id. */
pl_err svc_webhook_redeliver(svc *s, const svc_caller *c, int64_t id, int64_t delivery, pl_arena *a, json_t **out,
                             pl_detail *d);
/* Queues a "webhook.test" event for the webhook. */
pl_err svc_webhook_test(svc *s, const svc_caller *c, int64_t id, pl_arena *a, json_t **out, pl_detail *d);

/* ---- the delivery worker's side ---- */
typedef struct {
  int64_t id, webhook_id;
  const char *url, *event_id, *type, *body;
  const char *signature; /* the Parley-Signature header's value */
} svc_hook_call;
/* Claims up to max due deliveries of webhooks that are not paused after a failure (their
 * webhooks' state checked, each signed now). */
size_t svc_webhook_claim(svc *s, size_t max, pl_arena *a, svc_hook_call **out);
/* Records an attempt: the answer's HTTP status (0: none came), how long it took, its
 * first bytes and, when it failed, why. retry_base: seconds before the first retry
 * (0: 30), doubled each time up to an hour; a failure pauses the whole webhook as long. */
void svc_webhook_report(svc *s, const svc_hook_call *c, int status, int64_t ms, const char *answer,
                        const char *error, int retry_base);
/* Removes delivered and failed deliveries older than SVC_WEBHOOK_LOG_DAYS (the periodic
 * clean-up, svc_sweep.c), at most 10,000 a call; *removed how many. */
pl_err svc_webhook_sweep(svc *s, int64_t *removed, pl_detail *d);
/* Puts a claimed delivery back untried (the worker is stopping). */
void svc_webhook_release(svc *s, const svc_hook_call *c);

#endif
