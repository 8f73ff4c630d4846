/* http_events.c - Server-Sent Events: live updates of threads and messages.
 *
 * A stream's connection is suspended while it has nothing to send, so that it holds
 * no worker thread; the service's event hook resumes every stream when something is
 * published, and a keeper thread resumes them every 15 s to send a ping (which also
 * finds the streams whose client has gone). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http/http_int.h"
#include "util/pl_ref.h"

#define PING_SECONDS 15
#define BATCH 64

typedef struct http_sse {
  struct http_sse *next;
  http_server *h;
  struct MHD_Connection *conn;
  svc_caller caller; /* strings copied below */
  char seller_id[65], buyer_id[65], marketplace_id[65];
  uint64_t last_seq;
  bool suspended, ping_due, gone;
  char buf[BATCH * 320];
  size_t len, off;
} http_sse;

static void copy(char *dst, size_t cap, const char *src, const char **field) {
  if (src) {
    snprintf(dst, cap, "%s", src);
    *field = dst;
  } else {
    *field = NULL;
  }
}

/* Fills the stream's buffer with what is new for its caller. */
static void fill(http_sse *x) {
  svc_event ev[BATCH];
  uint64_t latest;
  bool gap;
  size_t n = svc_events_since(x->h->s, &x->caller, x->last_seq, ev, BATCH, &latest, &gap);
  x->len = x->off = 0;
  if (gap) x->len += (size_t)snprintf(x->buf + x->len, sizeof x->buf - x->len,
                                      "event: resync\ndata: {}\n\n");
  for (size_t i = 0; i < n; i++) {
    const svc_event *e = &ev[i];
    char due[32], eid[PL_REF_MAX], tid[PL_REF_MAX], mid[PL_REF_MAX];
    /* Event ids count every tenant's events: clients see them as opaque refs too. */
    pl_ref_format(eid, "E", (int64_t)e->seq);
    pl_ref_format(tid, "T", e->thread_id);
    if (!strcmp(e->type, "deadline"))
      x->len += (size_t)snprintf(x->buf + x->len, sizeof x->buf - x->len,
                                 "id: %s\nevent: deadline\ndata: {\"thread_id\":\"%s\",\"due_at\":\"%s\"}\n\n",
                                 eid, tid, pl_time_format(e->due_at, due));
    else if (!strcmp(e->type, "message"))
      x->len += (size_t)snprintf(x->buf + x->len, sizeof x->buf - x->len,
                                 "id: %s\nevent: message\ndata: {\"thread_id\":\"%s\",\"message_id\":\"%s\",\"from\":\"%s\",\"status\":\"%s\"}\n\n",
                                 eid, tid, pl_ref_format(mid, "M", e->message_id), e->from, e->status);
    else
      x->len += (size_t)snprintf(x->buf + x->len, sizeof x->buf - x->len,
                                 "id: %s\nevent: thread\ndata: {\"thread_id\":\"%s\"}\n\n", eid, tid);
  }
  x->last_seq = latest;
  if (!x->len && x->ping_due)
    x->len = (size_t)snprintf(x->buf, sizeof x->buf, ": ping\n\n");
  x->ping_due = false;
}

static ssize_t reader(void *cls, uint64_t pos, char *out, size_t max) {
  http_sse *x = cls;
  (void)pos;
  pthread_mutex_lock(&x->h->sse_mu);
  if (x->h->stopping) {
    pthread_mutex_unlock(&x->h->sse_mu);
    return MHD_CONTENT_READER_END_OF_STREAM;
  }
  if (x->off == x->len) fill(x);
  if (x->off == x->len) {
    /* Nothing to send: park the connection until an event or a ping. */
    x->suspended = true;
    MHD_suspend_connection(x->conn);
    pthread_mutex_unlock(&x->h->sse_mu);
    return 0;
  }
  size_t n = x->len - x->off < max ? x->len - x->off : max;
  memcpy(out, x->buf + x->off, n);
  x->off += n;
  pthread_mutex_unlock(&x->h->sse_mu);
  return (ssize_t)n;
}

static void unlink_sse(http_sse *x) {
  for (http_sse **p = &x->h->sse; *p; p = &(*p)->next)
    if (*p == x) {
      *p = x->next;
      return;
    }
}

static void release(void *cls) {
  http_sse *x = cls;
  pthread_mutex_lock(&x->h->sse_mu);
  unlink_sse(x);
  pthread_mutex_unlock(&x->h->sse_mu);
  free(x);
}

/* Resumes every parked stream; called with sse_mu held. */
static void resume_all(http_server *h, bool ping) {
  for (http_sse *x = h->sse; x; x = x->next) {
    if (ping) x->ping_due = true;
    if (x->suspended) {
      x->suspended = false;
      MHD_resume_connection(x->conn);
    }
  }
}

static void on_event(void *ctx) {
  http_server *h = ctx;
  pthread_mutex_lock(&h->sse_mu);
  resume_all(h, false);
  pthread_mutex_unlock(&h->sse_mu);
}

static void *keeper(void *arg) {
  http_server *h = arg;
  pthread_mutex_lock(&h->sse_mu);
  while (!h->stopping) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += PING_SECONDS;
    pthread_cond_timedwait(&h->sse_cv, &h->sse_mu, &ts);
    if (h->stopping) break;
    /* The clock's alerts ride on the keeper's tick; publishing resumes the streams. */
    pthread_mutex_unlock(&h->sse_mu);
    svc_deadline_tick(h->s);
    svc_cluster_tick(h->s);
    svc_audit_tick(h->s);
    pthread_mutex_lock(&h->sse_mu);
    if (!h->stopping) resume_all(h, true);
  }
  pthread_mutex_unlock(&h->sse_mu);
  return NULL;
}

void http__events_start(http_server *h) {
  svc_set_event_hook(h->s, on_event, h);
  h->pinger_started = pthread_create(&h->pinger, NULL, keeper, h) == 0;
}

void http__events_stop(http_server *h) {
  svc_set_event_hook(h->s, NULL, NULL);
  pthread_mutex_lock(&h->sse_mu);
  h->stopping = true;
  resume_all(h, false);
  pthread_cond_broadcast(&h->sse_cv);
  pthread_mutex_unlock(&h->sse_mu);
  if (h->pinger_started) pthread_join(h->pinger, NULL);
}

void http__events(http_server *h, http_req *r) {
  http_sse *x = pl_xcalloc(1, sizeof *x);
  x->h = h;
  x->conn = r->conn;
  x->caller = r->caller;
  copy(x->seller_id, sizeof x->seller_id, r->caller.seller_id, &x->caller.seller_id);
  copy(x->buyer_id, sizeof x->buyer_id, r->caller.buyer_id, &x->caller.buyer_id);
  copy(x->marketplace_id, sizeof x->marketplace_id, r->caller.marketplace_id, &x->caller.marketplace_id);
  x->caller.agent_role = NULL;
  x->caller.name = NULL;
  /* Start from now, or from the client's Last-Event-ID after a reconnection. */
  const char *last = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Last-Event-ID");
  uint64_t latest = svc_events_latest(h->s);
  x->last_seq = latest;
  if (last) {
    int64_t v;
    if (pl_ref_parse(last, "E", &v) && (uint64_t)v <= latest) x->last_seq = (uint64_t)v;
  }
  /* The first chunk tells the client how long to wait before reconnecting. */
  x->len = (size_t)snprintf(x->buf, sizeof x->buf, "retry: 3000\n: connected\n\n");
  pthread_mutex_lock(&h->sse_mu);
  x->next = h->sse;
  h->sse = x;
  pthread_mutex_unlock(&h->sse_mu);
  struct MHD_Response *resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, reader, x, release);
  MHD_add_response_header(resp, "Content-Type", "text/event-stream");
  MHD_add_response_header(resp, "Cache-Control", "no-store");
  MHD_add_response_header(resp, "X-Accel-Buffering", "no");
  MHD_add_response_header(resp, "X-Request-Id", r->request_id);
  MHD_queue_response(r->conn, 200, resp);
  MHD_destroy_response(resp);
  r->streaming = true;
  r->status = 200;
}
