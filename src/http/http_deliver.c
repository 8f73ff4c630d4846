/* http_deliver.c - the webhook delivery worker: asks the service for due deliveries
 * (svc_webhook_claim), POSTs each, signed, with libcurl, and reports every attempt back
 * (svc_webhook_report). The service decides and records; this file only sends, and
 * refuses to connect where a webhook may not reach (docs/webhooks.md, "Safe targets"). */
#include <curl/curl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "http/http.h"
#include "service/svc_webhook.h"
#include "util/pl_mem.h"

#define BATCH 8
#define ANSWER_LIMIT (64 * 1024) /* an answer longer than this is cut off: the attempt failed */

struct http_deliverer {
  struct svc *s;
  char *allow, *ca;
  int retry_base, poll_ms;
  pthread_t th;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  atomic_bool stop;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }

bool http_deliver_addr_refused(const struct sockaddr *sa, bool host_allowed) {
  if (host_allowed) return false;
  if (sa->sa_family == AF_INET)
    return svc_webhook_addr_internal(AF_INET, (const unsigned char *)&((const struct sockaddr_in *)sa)->sin_addr);
  if (sa->sa_family == AF_INET6)
    return svc_webhook_addr_internal(AF_INET6, ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr);
  return true; /* only IP */
}

typedef struct {
  bool host_allowed;
  bool refused; /* the address check refused a connection */
} conn_check;

/* Checked at connect time, on the address libcurl resolved: a name cannot resolve to a
 * public address when asked and to an internal one when used. */
static curl_socket_t open_socket(void *clientp, curlsocktype purpose, struct curl_sockaddr *addr) {
  conn_check *cc = clientp;
  if (purpose != CURLSOCKTYPE_IPCXN || http_deliver_addr_refused(&addr->addr, cc->host_allowed)) {
    cc->refused = true;
    return CURL_SOCKET_BAD;
  }
  return socket(addr->family, addr->socktype | SOCK_CLOEXEC, addr->protocol);
}

typedef struct {
  char head[SVC_WEBHOOK_ANSWER_MAX + 1];
  size_t len, total;
} answer;

static size_t on_answer(char *p, size_t size, size_t n, void *ctx) {
  answer *an = ctx;
  size_t len = size * n;
  an->total += len;
  if (an->total > ANSWER_LIMIT) return 0; /* cut off */
  size_t room = SVC_WEBHOOK_ANSWER_MAX - an->len;
  size_t take = len < room ? len : room;
  memcpy(an->head + an->len, p, take);
  an->len += take;
  an->head[an->len] = '\0';
  return len;
}

/* POSTs one delivery: its HTTP status (0: none came), and why it failed into err. */
static int post(const struct http_deliverer *w, const svc_hook_call *c, answer *an, char *err, size_t errcap,
                int64_t *ms) {
  bool https;
  char host[256];
  unsigned port;
  *err = '\0';
  if (!svc_webhook_url_parse(c->url, &https, host, &port)) {
    snprintf(err, errcap, "the URL is not one a webhook may use");
    return 0;
  }
  conn_check cc = {.host_allowed = svc_webhook_host_allowed(w->allow, host, port)};
  if (!https && !cc.host_allowed) {
    snprintf(err, errcap, "the URL is not https");
    return 0;
  }
  pthread_once(&curl_once, curl_init);
  CURL *h = curl_easy_init();
  if (!h) {
    snprintf(err, errcap, "libcurl could not start");
    return 0;
  }
  char sig[600], eid[200], ev[120];
  /* the signature (t= and up to two v1=) and the event id and type fit */
  snprintf(sig, sizeof sig, "Parley-Signature: %s", c->signature);
  snprintf(eid, sizeof eid, "Parley-Event-Id: %.*s", (int)strcspn(c->event_id, "#"), c->event_id);
  snprintf(ev, sizeof ev, "Parley-Event: %s", c->type);
  struct curl_slist *hd = curl_slist_append(NULL, "Content-Type: application/json");
  hd = curl_slist_append(hd, sig);
  hd = curl_slist_append(hd, eid);
  hd = curl_slist_append(hd, ev);
  hd = curl_slist_append(hd, "Expect:");
  char ebuf[CURL_ERROR_SIZE] = "";
  curl_easy_setopt(h, CURLOPT_URL, c->url);
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, cc.host_allowed ? "http,https" : "https");
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L); /* a redirect is an answer, not a new target */
  curl_easy_setopt(h, CURLOPT_PROXY, "");          /* no proxy from the environment */
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 10000L);
  curl_easy_setopt(h, CURLOPT_USERAGENT, "parley-webhooks/1");
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
  curl_easy_setopt(h, CURLOPT_POSTFIELDS, c->body);
  curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(c->body));
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_answer);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, an);
  curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, open_socket);
  curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, &cc);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, ebuf);
  if (w->ca) curl_easy_setopt(h, CURLOPT_CAINFO, w->ca);
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  CURLcode rc = curl_easy_perform(h);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  *ms = (int64_t)(t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  if (cc.refused) snprintf(err, errcap, "refused: %.200s resolves to a private, loopback or link-local address", host);
  else if (rc == CURLE_WRITE_ERROR && an->total > ANSWER_LIMIT)
    snprintf(err, errcap, "the answer is longer than %d KiB", ANSWER_LIMIT / 1024), status = 0;
  else if (rc != CURLE_OK) snprintf(err, errcap, "%s", *ebuf ? ebuf : curl_easy_strerror(rc));
  else if (status < 200 || status > 299) snprintf(err, errcap, "the answer was %ld, not 2xx", status);
  curl_slist_free_all(hd);
  curl_easy_cleanup(h);
  return (int)status;
}

static size_t deliver_batch(struct http_deliverer *w) {
  pl_arena *a = pl_arena_new();
  svc_hook_call *cs = NULL;
  size_t n = svc_webhook_claim(w->s, BATCH, a, &cs);
  int64_t failed[BATCH];
  size_t nfailed = 0;
  for (size_t i = 0; i < n; i++) {
    /* a receiver that just failed gets no more of this batch: its webhook is paused now
     * (svc_webhook_report), and the rest waits for the pause to end */
    bool paused = false;
    for (size_t k = 0; k < nfailed; k++) paused |= failed[k] == cs[i].webhook_id;
    if (atomic_load(&w->stop) || paused) {
      svc_webhook_release(w->s, &cs[i]);
      continue;
    }
    answer an = {.len = 0};
    char err[300];
    int64_t ms = 0;
    int status = post(w, &cs[i], &an, err, sizeof err, &ms);
    svc_webhook_report(w->s, &cs[i], status, ms, an.head, err, w->retry_base);
    if ((status < 200 || status > 299) && nfailed < BATCH) failed[nfailed++] = cs[i].webhook_id;
  }
  pl_arena_free(a);
  return n;
}

static void *worker_main(void *arg) {
  struct http_deliverer *w = arg;
  pthread_mutex_lock(&w->mu);
  while (!atomic_load(&w->stop)) {
    pthread_mutex_unlock(&w->mu);
    size_t n = deliver_batch(w);
    pthread_mutex_lock(&w->mu);
    if (n == BATCH || atomic_load(&w->stop)) continue; /* more may be due at once */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += (long)w->poll_ms * 1000000L;
    ts.tv_sec += ts.tv_nsec / 1000000000L;
    ts.tv_nsec %= 1000000000L;
    pthread_cond_timedwait(&w->cv, &w->mu, &ts);
  }
  pthread_mutex_unlock(&w->mu);
  return NULL;
}

pl_err http_deliver_start(struct svc *s, const http_deliver_options *o, http_deliverer **out, pl_detail *d) {
  struct http_deliverer *w = pl_xcalloc(1, sizeof *w);
  w->s = s;
  w->allow = o->allow ? pl_xstrdup(o->allow) : NULL;
  w->ca = o->ca_file ? pl_xstrdup(o->ca_file) : NULL;
  w->retry_base = o->retry_base;
  w->poll_ms = o->poll_ms > 0 ? o->poll_ms : 200;
  pthread_mutex_init(&w->mu, NULL);
  pthread_cond_init(&w->cv, NULL);
  if (pthread_create(&w->th, NULL, worker_main, w)) {
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    free(w->allow);
    free(w->ca);
    free(w);
    return pl_fail(d, PL_EINTERNAL, "the webhook delivery worker could not start");
  }
  *out = w;
  return PL_OK;
}

void http_deliver_stop(http_deliverer *w) {
  if (!w) return;
  pthread_mutex_lock(&w->mu);
  atomic_store(&w->stop, true);
  pthread_cond_signal(&w->cv);
  pthread_mutex_unlock(&w->mu);
  pthread_join(w->th, NULL);
  pthread_mutex_destroy(&w->mu);
  pthread_cond_destroy(&w->cv);
  free(w->allow);
  free(w->ca);
  free(w);
}
