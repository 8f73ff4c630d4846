/* http_events.c - Server-Sent Events: live updates of threads and messages.
 *
 * A stream's connection is suspended while it has nothing to send, so that it holds
 * no worker thread; the service's event hook resumes the streams that may see what was
 * published, and a keeper thread resumes all every 15 s to send a ping. Suspended
 * connections are outside libmicrohttpd's event loop, so it would not see a client leave;
 * the connection budget (http_budget.c) watches their sockets and calls
 * http__events_hangup, which ends the stream at once and gives its places back. Each
 * principal holds at most --max-streams streams: the newest beyond is refused (429
 * too_many_streams), so that a stolen or runaway token cannot end its owner's streams. */
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
  uint64_t revocation_epoch; /* as of the last check of the caller's token */
  bool suspended, ping_due, gone;
  bool goodbye_queued; /* the server stops: the last chunk is in buf */
  bool resync; /* tell the client to reload before anything else */
  char principal[80]; /* whose stream, for the per-principal count */
  http_stream_ref ref;
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
  if (gap || x->resync) x->len += (size_t)snprintf(x->buf + x->len, sizeof x->buf - x->len,
                                                   "event: resync\ndata: {}\n\n");
  x->resync = false;
  for (size_t i = 0; i < n; i++) {
    const svc_event *e = &ev[i];
    if (e->type == SVC_EVENT_RESYNC) { /* the node may have missed events of others */
      x->len += (size_t)snprintf(x->buf + x->len, sizeof x->buf - x->len, "event: resync\ndata: {}\n\n");
      continue;
    }
    char due[32], eid[PL_REF_MAX], tid[PL_REF_MAX], mid[PL_REF_MAX];
    /* Event ids count every tenant's events: clients see them as opaque refs too. */
    pl_ref_format(eid, "E", (int64_t)e->id);
    pl_ref_format(tid, "T", e->thread_id);
    switch (e->type) {
    case SVC_EVENT_DEADLINE:
      x->len += (size_t)snprintf(x->buf + x->len, sizeof x->buf - x->len,
                                 "id: %s\nevent: deadline\ndata: {\"thread_id\":\"%s\",\"due_at\":\"%s\"}\n\n",
                                 eid, tid, pl_time_format(e->due_at, due));
      break;
    case SVC_EVENT_MESSAGE: {
      const char *from = st_direction_name(e->from), *status = st_msg_status_name(e->status);
      x->len += (size_t)snprintf(x->buf + x->len, sizeof x->buf - x->len,
                                 "id: %s\nevent: message\ndata: {\"thread_id\":\"%s\",\"message_id\":\"%s\",\"from\":\"%s\",\"status\":\"%s\"}\n\n",
                                 eid, tid, pl_ref_format(mid, "M", e->message_id), from ? from : "",
                                 status ? status : "");
      break;
    }
    case SVC_EVENT_THREAD:
    case SVC_EVENT_RESYNC:
    case SVC_EVENT_UNKNOWN:
      x->len += (size_t)snprintf(x->buf + x->len, sizeof x->buf - x->len,
                                 "id: %s\nevent: thread\ndata: {\"thread_id\":\"%s\"}\n\n", eid, tid);
      break;
    }
  }
  x->last_seq = latest;
  if (!x->len && x->ping_due)
    x->len = (size_t)snprintf(x->buf, sizeof x->buf, ": ping\n\n");
  x->ping_due = false;
}

/* Whether the stream's token still holds: checked again (in the store) whenever a
 * revocation may have happened, and its end against the clock. A stream of a revoked
 * token, a deactivated agent or an ended session closes. */
static bool caller_holds(http_sse *x) {
  svc *s = x->h->s;
  if (x->caller.expires_at && svc_now(s) >= x->caller.expires_at) return false;
  uint64_t epoch = svc_revocation_epoch(s);
  if (epoch == x->revocation_epoch) return true;
  x->revocation_epoch = epoch;
  return svc_caller_check(s, &x->caller, NULL) == PL_OK;
}

static ssize_t reader(void *cls, uint64_t pos, char *out, size_t max) {
  http_sse *x = cls;
  (void)pos;
  if (!caller_holds(x)) return MHD_CONTENT_READER_END_OF_STREAM;
  pthread_mutex_lock(&x->h->sse_mu);
  if (x->h->stopping) {
    pthread_mutex_unlock(&x->h->sse_mu);
    return MHD_CONTENT_READER_END_OF_STREAM;
  }
  if (x->gone) { /* the client left: close the connection now */
    pthread_mutex_unlock(&x->h->sse_mu);
    return MHD_CONTENT_READER_END_WITH_ERROR;
  }
  if (x->off == x->len && x->h->streams_ending) {
    /* The server stops: what the client has not seen yet, then a goodbye with a retry
     * hint (spread between 1 and 3 s, so that the clients of a node do not all come back
     * to the next one at once), then the end. */
    if (x->goodbye_queued) {
      pthread_mutex_unlock(&x->h->sse_mu);
      return MHD_CONTENT_READER_END_OF_STREAM;
    }
    fill(x);
    if (sizeof x->buf - x->len > 128) {
      x->len += (size_t)snprintf(x->buf + x->len, sizeof x->buf - x->len,
                                 "retry: %u\n: the server is stopping; reconnect\n\n", 1000 + randombytes_uniform(2000));
      x->goodbye_queued = true;
    }
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
      x->h->nsse--;
      return;
    }
}

unsigned http__events_open(http_server *h) {
  pthread_mutex_lock(&h->sse_mu);
  unsigned n = h->nsse;
  pthread_mutex_unlock(&h->sse_mu);
  return n;
}

static void release(void *cls) {
  http_sse *x = cls;
  pthread_mutex_lock(&x->h->sse_mu);
  unlink_sse(x);
  pthread_mutex_unlock(&x->h->sse_mu);
  http__budget_stream_close(x->h->budget, x->principal, &x->ref);
  free(x);
}

void http__events_hangup(http_server *h, void *stream) {
  pthread_mutex_lock(&h->sse_mu);
  for (http_sse *x = h->sse; x; x = x->next)
    if (x == stream) {
      x->gone = true;
      if (x->suspended) {
        x->suspended = false;
        MHD_resume_connection(x->conn);
      }
      break;
    }
  pthread_mutex_unlock(&h->sse_mu);
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

/* Something was published: resume only the streams that may see it. Resuming every
 * stream for every event made one send cost a pass of the worker over all of them (a
 * thousand open streams of other parties put tens of milliseconds on each send); the
 * visibility check is an in-memory look at the event ring. Called with no lock held. */
static void on_event(void *ctx) {
  http_server *h = ctx;
  pthread_mutex_lock(&h->sse_mu);
  for (http_sse *x = h->sse; x; x = x->next) {
    if (!x->suspended) continue; /* it reads the ring itself before parking again */
    svc_event ev;
    uint64_t latest;
    bool gap;
    if (svc_events_since(h->s, &x->caller, x->last_seq, &ev, 1, &latest, &gap) || gap) {
      x->suspended = false;
      MHD_resume_connection(x->conn);
    } else {
      x->last_seq = latest; /* nothing in it for this caller: skip it next time */
    }
  }
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
    svc_digest_tick(h->s);
    svc_health_tick(h->s);
    svc_cluster_tick(h->s);
    svc_audit_tick(h->s);
    pthread_mutex_lock(&h->sse_mu);
    if (!h->stopping) resume_all(h, true);
  }
  pthread_mutex_unlock(&h->sse_mu);
  return NULL;
}

unsigned http__events_end_all(http_server *h) {
  pthread_mutex_lock(&h->sse_mu);
  h->streams_ending = true;
  unsigned n = 0;
  for (http_sse *x = h->sse; x; x = x->next) n++;
  resume_all(h, false);
  pthread_mutex_unlock(&h->sse_mu);
  return n;
}

unsigned http__events_count(http_server *h) {
  pthread_mutex_lock(&h->sse_mu);
  unsigned n = 0;
  for (http_sse *x = h->sse; x; x = x->next) n++;
  pthread_mutex_unlock(&h->sse_mu);
  return n;
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

void http__events(http_req *r, char **arg) {
  http_server *h = r->h;
  if (atomic_load(&h->draining)) {
    http__error(r, PL_ESTOPPING, "the server is stopping; connect to another node");
    return;
  }
  http_sse *x = pl_xcalloc(1, sizeof *x);
  snprintf(x->principal, sizeof x->principal, "%s", r->caller.name ? r->caller.name : "?");
  if (!http__budget_stream_open(h->budget, r->conn, x->principal, x, &x->ref)) {
    char msg[160];
    snprintf(msg, sizeof msg, "this caller already has %u live-event streams open; close one first",
             http__budget_max_streams(h->budget));
    free(x);
    http__error(r, PL_ESTREAMS, msg);
    return;
  }
  x->h = h;
  x->conn = r->conn;
  x->caller = r->caller;
  copy(x->seller_id, sizeof x->seller_id, r->caller.seller_id, &x->caller.seller_id);
  copy(x->buyer_id, sizeof x->buyer_id, r->caller.buyer_id, &x->caller.buyer_id);
  copy(x->marketplace_id, sizeof x->marketplace_id, r->caller.marketplace_id, &x->caller.marketplace_id);
  x->caller.name = NULL;
  x->revocation_epoch = svc_revocation_epoch(h->s) - 1; /* the first read checks the token */
  /* Start from now, or from the client's Last-Event-ID after a reconnection. */
  const char *last = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Last-Event-ID");
  uint64_t latest = svc_events_latest(h->s);
  x->last_seq = latest;
  if (last) {
    /* the id names the event on every node: resume after it here, or, when this node's
     * ring does not hold it (too old, or a node that missed it), tell the client to reload */
    int64_t v;
    uint64_t pos;
    if (pl_ref_parse(last, "E", &v) && svc_events_position(h->s, (uint64_t)v, &pos)) x->last_seq = pos;
    else x->resync = true;
  }
  /* The first chunk tells the client how long to wait before reconnecting. */
  x->len = (size_t)snprintf(x->buf, sizeof x->buf, "retry: 3000\n: connected\n\n");
  pthread_mutex_lock(&h->sse_mu);
  x->next = h->sse;
  h->sse = x;
  h->nsse++;
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
