/* http_budget.c - the connection budget: who may hold how many sockets, and for how long.
 *
 * libmicrohttpd alone lets any client hold a connection as long as it sends one byte per
 * timeout, and lets one address or one token fill every slot. Here every connection is
 * tracked from accept (MHD_OPTION_NOTIFY_CONNECTION) to close:
 *  - a global and a per-address limit, checked before libmicrohttpd takes the socket; the
 *    last `reserve` slots go only to addresses that hold fewer than LIGHT_IP connections, so
 *    that /healthz and the operator get in while a few addresses hold the rest;
 *  - deadlines that do not move with each byte: a request's line and headers must be in
 *    within header_ms of its start (for a kept-alive connection, of the end of the previous
 *    answer), its body within body_ms plus one second per BODY_RATE bytes received; the
 *    keeper thread shuts down the socket of a connection past its deadline;
 *  - live-event streams: at most max_streams per principal (the newest beyond is refused),
 *    and the keeper watches their sockets for hang-ups (epoll, EPOLLRDHUP), so that a stream
 *    whose client left is ended at once rather than at its next ping.
 * One mutex guards the tables; the keeper holds it while it shuts sockets down, and a
 * connection's slot leaves the table (NOTIFY_CLOSED) before libmicrohttpd closes its socket,
 * so the keeper never touches a descriptor that was reused. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "http/http_int.h"

#define LIGHT_IP 4          /* connections an address may hold and still use the reserve */
#define BODY_RATE 65536     /* bytes a second a body must average, after body_ms */
#define FD_SPARE 256        /* descriptors beyond connections: store, files, mail, pipes */
#define IP_BUCKETS 4096
#define PRINCIPAL_BUCKETS 1024
#define LATE_BATCH 1024     /* connections the keeper shuts down per turn */

typedef enum { PHASE_HEADERS, PHASE_BODY, PHASE_BUSY, PHASE_STREAM } slot_phase;

typedef struct http_slot {
  int fd;
  uint32_t serial;
  unsigned char ip[16];
  slot_phase phase;
  double deadline;   /* monotonic seconds; 0 = none (handler running, stream) */
  double body_start;
  uint64_t rx_mark;  /* bytes received on the socket when the current request began */
  size_t body_bytes;
  pthread_t thread;  /* the libmicrohttpd worker that owns the connection */
  bool tls;
  void *stream;      /* the http_sse while the connection carries a live-event stream */
} http_slot;

typedef struct ip_count {
  struct ip_count *next;
  unsigned char ip[16];
  unsigned n;
} ip_count;

typedef struct principal_count {
  struct principal_count *next;
  unsigned n;
  char key[];
} principal_count;

struct http_budget {
  http_server *h;
  pthread_mutex_t mu;
  http_slot **by_fd; /* indexed by descriptor; size nfd */
  size_t nfd;
  uint32_t serial;
  unsigned conns, streams;
  ip_count *ips[IP_BUCKETS];
  principal_count *principals[PRINCIPAL_BUCKETS];
  unsigned max_conns, max_per_ip, reserve, max_streams;
  double header_s, body_s;
  /* the keeper */
  int ep;
  pthread_t keeper;
  bool keeper_started, stopping;
  bool draining;          /* shut idle connections; signal closed_cv as connections close */
  pthread_cond_t closed_cv;
  http_stream_ref late[LATE_BATCH]; /* the keeper's list of connections past their deadline */
  /* counters for /metrics */
  atomic_ulong refused_global, refused_ip, cut_header, cut_body, streams_refused, headers_too_large;
};

static double mono(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void ip_key(const struct sockaddr *sa, unsigned char out[16]) {
  memset(out, 0, 16);
  if (sa && sa->sa_family == AF_INET) {
    out[10] = out[11] = 0xff; /* as an IPv4-mapped IPv6 address */
    memcpy(out + 12, &((const struct sockaddr_in *)sa)->sin_addr, 4);
  } else if (sa && sa->sa_family == AF_INET6) {
    memcpy(out, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
  }
}

static unsigned hash_bytes(const unsigned char *p, size_t n) {
  unsigned x = 2166136261u;
  for (size_t i = 0; i < n; i++) x = (x ^ p[i]) * 16777619u;
  return x;
}

/* The entry of an address; created (count 0) when `create`. Called with mu held. */
static ip_count *ip_find(http_budget *b, const unsigned char ip[16], bool create) {
  ip_count **head = &b->ips[hash_bytes(ip, 16) % IP_BUCKETS];
  for (ip_count *e = *head; e; e = e->next)
    if (!memcmp(e->ip, ip, 16)) return e;
  if (!create) return NULL;
  ip_count *e = pl_xcalloc(1, sizeof *e);
  memcpy(e->ip, ip, 16);
  e->next = *head;
  *head = e;
  return e;
}

static void ip_drop(http_budget *b, const unsigned char ip[16]) {
  for (ip_count **p = &b->ips[hash_bytes(ip, 16) % IP_BUCKETS]; *p; p = &(*p)->next)
    if (!memcmp((*p)->ip, ip, 16)) {
      if (--(*p)->n == 0) {
        ip_count *dead = *p;
        *p = dead->next;
        free(dead);
      }
      return;
    }
}

static uint64_t rx_bytes(int fd) {
  struct tcp_info ti;
  socklen_t len = sizeof ti;
  memset(&ti, 0, sizeof ti);
  if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0) return 0;
  return len >= offsetof(struct tcp_info, tcpi_bytes_received) + sizeof ti.tcpi_bytes_received
             ? ti.tcpi_bytes_received
             : 0;
}

/* Accept policy: may this address have one more connection? The count itself moves in
 * on_connection; between the two, each worker thread may let one more in. */
static enum MHD_Result on_accept(void *cls, const struct sockaddr *addr, socklen_t len) {
  http_budget *b = cls;
  (void)len;
  unsigned char ip[16];
  ip_key(addr, ip);
  pthread_mutex_lock(&b->mu);
  ip_count *e = ip_find(b, ip, false);
  unsigned held = e ? e->n : 0;
  bool ok = true;
  if (b->draining) {
    ok = false; /* stopping: a new connection is closed at once (http_drain) */
  } else if (held >= b->max_per_ip) {
    ok = false;
    atomic_fetch_add(&b->refused_ip, 1);
  } else if (b->conns >= b->max_conns || (b->conns >= b->max_conns - b->reserve && held >= LIGHT_IP)) {
    ok = false;
    atomic_fetch_add(&b->refused_global, 1);
  }
  pthread_mutex_unlock(&b->mu);
  return ok ? MHD_YES : MHD_NO;
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode code) {
  http_budget *b = cls;
  if (code == MHD_CONNECTION_NOTIFY_STARTED) {
    const union MHD_ConnectionInfo *fi = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    const union MHD_ConnectionInfo *ai = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    http_slot *s = pl_xcalloc(1, sizeof *s);
    s->fd = fi ? fi->connect_fd : -1;
    ip_key(ai ? ai->client_addr : NULL, s->ip);
    s->phase = PHASE_HEADERS;
    s->thread = pthread_self();
    s->tls = b->h->opt.tls_cert_pem != NULL;
    pthread_mutex_lock(&b->mu);
    s->deadline = mono() + b->header_s;
    s->serial = ++b->serial;
    if (s->fd >= 0 && (size_t)s->fd < b->nfd) b->by_fd[s->fd] = s;
    ip_find(b, s->ip, true)->n++;
    b->conns++;
    pthread_mutex_unlock(&b->mu);
    *socket_context = s;
  } else if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
    http_slot *s = *socket_context;
    if (!s) return;
    pthread_mutex_lock(&b->mu);
    if (s->fd >= 0 && (size_t)s->fd < b->nfd && b->by_fd[s->fd] == s) b->by_fd[s->fd] = NULL;
    ip_drop(b, s->ip);
    b->conns--;
    if (b->draining && !b->conns) pthread_cond_broadcast(&b->closed_cv);
    pthread_mutex_unlock(&b->mu);
    free(s);
    *socket_context = NULL;
  }
}

static http_slot *slot_of(struct MHD_Connection *conn) {
  const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
  return ci ? ci->socket_context : NULL;
}

void http__budget_headers_done(http_budget *b, struct MHD_Connection *conn) {
  http_slot *s = slot_of(conn);
  if (!s) return;
  pthread_mutex_lock(&b->mu);
  s->phase = PHASE_BODY;
  s->body_start = mono();
  s->body_bytes = 0;
  s->deadline = s->body_start + b->body_s;
  pthread_mutex_unlock(&b->mu);
}

void http__budget_body(http_budget *b, struct MHD_Connection *conn, size_t n) {
  http_slot *s = slot_of(conn);
  if (!s) return;
  pthread_mutex_lock(&b->mu);
  s->body_bytes += n;
  s->deadline = s->body_start + b->body_s + (double)s->body_bytes / BODY_RATE;
  pthread_mutex_unlock(&b->mu);
}

void http__budget_busy(http_budget *b, struct MHD_Connection *conn) {
  http_slot *s = slot_of(conn);
  if (!s) return;
  pthread_mutex_lock(&b->mu);
  s->phase = PHASE_BUSY;
  s->deadline = 0;
  pthread_mutex_unlock(&b->mu);
}

void http__budget_request_done(http_budget *b, struct MHD_Connection *conn) {
  http_slot *s = slot_of(conn);
  if (!s) return;
  uint64_t rx = s->fd >= 0 ? rx_bytes(s->fd) : 0;
  pthread_mutex_lock(&b->mu);
  s->phase = PHASE_HEADERS;
  s->deadline = mono() + b->header_s;
  s->rx_mark = rx;
  pthread_mutex_unlock(&b->mu);
}

/* ---- live-event streams -------------------------------------------------------------- */

static principal_count **principal_slot(http_budget *b, const char *key) {
  principal_count **p = &b->principals[hash_bytes((const unsigned char *)key, strlen(key)) % PRINCIPAL_BUCKETS];
  while (*p && strcmp((*p)->key, key)) p = &(*p)->next;
  return p;
}

bool http__budget_stream_open(http_budget *b, struct MHD_Connection *conn, const char *principal,
                              void *stream, http_stream_ref *ref) {
  http_slot *s = slot_of(conn);
  bool ok = false;
  pthread_mutex_lock(&b->mu);
  principal_count **p = principal_slot(b, principal);
  if (*p && (*p)->n >= b->max_streams) {
    atomic_fetch_add(&b->streams_refused, 1);
    goto out;
  }
  if (!*p) {
    size_t len = strlen(principal);
    *p = pl_xcalloc(1, sizeof **p + len + 1);
    memcpy((*p)->key, principal, len + 1);
  }
  (*p)->n++;
  b->streams++;
  ok = true;
  ref->fd = -1;
  if (s) {
    s->phase = PHASE_STREAM;
    s->deadline = 0;
    s->stream = stream;
    ref->fd = s->fd;
    ref->serial = s->serial;
    struct epoll_event ev = {.events = EPOLLRDHUP, .data.u64 = ((uint64_t)s->serial << 32) | (uint32_t)s->fd};
    if (s->fd >= 0) epoll_ctl(b->ep, EPOLL_CTL_ADD, s->fd, &ev);
  }
out:
  pthread_mutex_unlock(&b->mu);
  return ok;
}

void http__budget_stream_close(http_budget *b, const char *principal, const http_stream_ref *ref) {
  pthread_mutex_lock(&b->mu);
  principal_count **p = principal_slot(b, principal);
  if (*p && --(*p)->n == 0) {
    principal_count *dead = *p;
    *p = dead->next;
    free(dead);
  }
  b->streams--;
  if (ref->fd >= 0 && (size_t)ref->fd < b->nfd) {
    http_slot *s = b->by_fd[ref->fd];
    if (s && s->serial == ref->serial) {
      s->stream = NULL;
      epoll_ctl(b->ep, EPOLL_CTL_DEL, s->fd, NULL);
    }
  }
  pthread_mutex_unlock(&b->mu);
}

/* ---- headers larger than the connection's memory ---------------------------------------- */

/* libmicrohttpd 0.9.75 answers a request line or header block that outgrows the connection's
 * memory pool itself, with a fixed HTML body and no hook to change it; the only thing it
 * calls first is the error logger, on the worker thread that owns the connection. So, from
 * the logger: every plain-http connection of this thread still reading a request that has
 * received more than the header limit gets parley's JSON 431 written and its sending side
 * shut, and libmicrohttpd's own answer then finds the socket closed. */
void http__budget_oversized(http_budget *b) {
  static const char head[] = "HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Type: application/json\r\n"
                             "Connection: close\r\nContent-Length: %zu\r\n\r\n%s";
  char body[200], msg[400];
  snprintf(body, sizeof body, "{\"error\":{\"code\":\"%s\",\"message\":\"the request line and headers are larger "
           "than %u bytes\"}}", pl_errname(PL_EHEADERS), HTTP_MAX_HEADER);
  int n = snprintf(msg, sizeof msg, head, strlen(body), body);
  pthread_t self = pthread_self();
  pthread_mutex_lock(&b->mu);
  for (size_t fd = 0; fd < b->nfd; fd++) {
    http_slot *s = b->by_fd[fd];
    if (!s || s->tls || s->phase != PHASE_HEADERS || !pthread_equal(s->thread, self)) continue;
    if (rx_bytes(s->fd) - s->rx_mark <= HTTP_MAX_HEADER) continue;
    atomic_fetch_add(&b->headers_too_large, 1);
    (void)!send(s->fd, msg, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
    shutdown(s->fd, SHUT_WR);
  }
  pthread_mutex_unlock(&b->mu);
}

void http__budget_count_header_refusal(http_budget *b) { atomic_fetch_add(&b->headers_too_large, 1); }

/* ---- the keeper ---------------------------------------------------------------------------- */

static void *keeper(void *arg) {
  http_budget *b = arg;
  struct epoll_event ev[64];
  http_stream_ref *late = b->late;
  pthread_mutex_lock(&b->mu);
  for (;;) {
    double tick = b->header_s / 4 < 0.25 ? b->header_s / 4 : 0.25;
    if (tick < 0.02) tick = 0.02;
    pthread_mutex_unlock(&b->mu);
    int n = epoll_wait(b->ep, ev, 64, (int)(tick * 1000));
    pthread_mutex_lock(&b->mu);
    if (b->stopping) {
      pthread_mutex_unlock(&b->mu);
      break;
    }
    /* Streams whose client hung up: ended now, not at the next ping. */
    for (int i = 0; i < n; i++) {
      int fd = (int)(uint32_t)ev[i].data.u64;
      uint32_t serial = (uint32_t)(ev[i].data.u64 >> 32);
      http_slot *s = fd >= 0 && (size_t)fd < b->nfd ? b->by_fd[fd] : NULL;
      if (!s || s->serial != serial) continue;
      epoll_ctl(b->ep, EPOLL_CTL_DEL, fd, NULL);
      if (s->stream) http__events_hangup(b->h, s->stream);
    }
    /* Requests past their deadline: found in one pass, shut down one lock at a time, so
     * that a wave of them (thousands opened at once) does not hold up the requests. */
    double now = mono();
    size_t nlate = 0;
    for (size_t fd = 0; fd < b->nfd && nlate < LATE_BATCH; fd++) {
      http_slot *s = b->by_fd[fd];
      if (s && s->deadline && now >= s->deadline) late[nlate++] = (http_stream_ref){s->fd, s->serial};
    }
    /* Draining: a connection waiting for its next request with nothing of it received is
     * shut (its client sees it closed before it sent anything, as with any idle close). A
     * request partly received is left to finish or to its deadline. */
    if (b->draining)
      for (size_t fd = 0; fd < b->nfd; fd++) {
        http_slot *s = b->by_fd[fd];
        int unread = 0;
        if (!s || s->phase != PHASE_HEADERS || s->fd < 0 || rx_bytes(s->fd) != s->rx_mark ||
            (ioctl(s->fd, FIONREAD, &unread) == 0 && unread > 0))
          continue;
        s->deadline = 0;
        shutdown(s->fd, SHUT_RDWR);
      }
    pthread_mutex_unlock(&b->mu);
    for (size_t i = 0; i < nlate; i++) {
      pthread_mutex_lock(&b->mu);
      http_slot *s = b->by_fd[late[i].fd];
      int unread = 0;
      /* the slot is still that connection (closing removes it before the descriptor is
       * closed), and bytes waiting in the kernel would mean the server is behind, not
       * the client */
      if (s && s->serial == late[i].serial && s->deadline && now >= s->deadline &&
          !(ioctl(s->fd, FIONREAD, &unread) == 0 && unread > 0)) {
        atomic_fetch_add(s->phase == PHASE_BODY ? &b->cut_body : &b->cut_header, 1);
        s->deadline = 0;
        shutdown(s->fd, SHUT_RDWR);
      }
      pthread_mutex_unlock(&b->mu);
    }
    pthread_mutex_lock(&b->mu);
  }
  return NULL;
}

/* Raises the descriptor limit to what the budget needs, or shrinks the budget to the limit. */
static unsigned fit_rlimit(unsigned want) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return want;
  rlim_t need = (rlim_t)want + FD_SPARE;
  if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need) {
    rlim_t to = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= need ? need : rl.rlim_max;
    struct rlimit nl = {to, rl.rlim_max};
    if (setrlimit(RLIMIT_NOFILE, &nl) == 0) rl.rlim_cur = to;
  }
  if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need) {
    unsigned fit = rl.rlim_cur > FD_SPARE * 2 ? (unsigned)(rl.rlim_cur - FD_SPARE) : FD_SPARE;
    fprintf(stderr, "parley: the descriptor limit (%llu) holds only %u connections, not %u\n",
            (unsigned long long)rl.rlim_cur, fit, want);
    return fit;
  }
  return want;
}

pl_err http__budget_new(http_server *h, http_budget **out, pl_detail *d) {
  http_budget *b = pl_xcalloc(1, sizeof *b);
  const http_options *o = &h->opt;
  b->h = h;
  b->max_conns = fit_rlimit(o->max_connections ? o->max_connections : HTTP_DEFAULT_MAX_CONNECTIONS);
  b->max_per_ip = o->max_connections_per_ip ? o->max_connections_per_ip : HTTP_DEFAULT_MAX_PER_IP;
  b->reserve = b->max_conns / 32 > 8 ? b->max_conns / 32 : 8;
  if (b->reserve > b->max_conns / 2) b->reserve = b->max_conns / 2;
  /* Behind a trusted proxy every client arrives from the proxy's address: a per-address
   * count would make one busy client refuse everyone. The global budget, the deadlines and
   * the per-principal stream cap still hold; per-client limits are the proxy's to set. */
  if (o->trust_proxy) {
    b->max_per_ip = b->max_conns;
    b->reserve = 0;
  }
  b->max_streams = o->max_streams ? o->max_streams : HTTP_DEFAULT_MAX_STREAMS;
  b->header_s = (o->header_timeout_ms ? o->header_timeout_ms : HTTP_DEFAULT_HEADER_MS) / 1000.0;
  b->body_s = (o->body_timeout_ms ? o->body_timeout_ms : HTTP_DEFAULT_BODY_MS) / 1000.0;
  struct rlimit rl;
  b->nfd = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY ? rl.rlim_cur : 65536;
  if (b->nfd > (1u << 20)) b->nfd = 1u << 20;
  b->by_fd = pl_xcalloc(b->nfd, sizeof *b->by_fd);
  pthread_mutex_init(&b->mu, NULL);
  pthread_cond_init(&b->closed_cv, NULL);
  b->ep = epoll_create1(EPOLL_CLOEXEC);
  if (b->ep < 0) {
    pthread_mutex_destroy(&b->mu);
    pthread_cond_destroy(&b->closed_cv);
    free(b->by_fd);
    free(b);
    return pl_fail(d, PL_EIO, "epoll_create1: %s", strerror(errno));
  }
  b->keeper_started = pthread_create(&b->keeper, NULL, keeper, b) == 0;
  *out = b;
  return PL_OK;
}

MHD_NotifyConnectionCallback http__budget_notify(void) { return on_connection; }
MHD_AcceptPolicyCallback http__budget_accept(void) { return on_accept; }
unsigned http__budget_max_connections(const http_budget *b) { return b->max_conns; }

void http__budget_free(http_budget *b) {
  if (!b) return;
  pthread_mutex_lock(&b->mu);
  b->stopping = true;
  pthread_mutex_unlock(&b->mu);
  if (b->keeper_started) pthread_join(b->keeper, NULL);
  close(b->ep);
  for (size_t i = 0; i < IP_BUCKETS; i++)
    while (b->ips[i]) {
      ip_count *e = b->ips[i];
      b->ips[i] = e->next;
      free(e);
    }
  for (size_t i = 0; i < PRINCIPAL_BUCKETS; i++)
    while (b->principals[i]) {
      principal_count *e = b->principals[i];
      b->principals[i] = e->next;
      free(e);
    }
  pthread_mutex_destroy(&b->mu);
  pthread_cond_destroy(&b->closed_cv);
  free(b->by_fd);
  free(b);
}

void http__budget_drain(http_budget *b) {
  pthread_mutex_lock(&b->mu);
  b->draining = true;
  pthread_mutex_unlock(&b->mu);
}

void http__budget_wait_closed(http_budget *b) {
  pthread_mutex_lock(&b->mu);
  while (b->conns) pthread_cond_wait(&b->closed_cv, &b->mu);
  pthread_mutex_unlock(&b->mu);
}

unsigned http__budget_connections(http_budget *b) {
  pthread_mutex_lock(&b->mu);
  unsigned n = b->conns;
  pthread_mutex_unlock(&b->mu);
  return n;
}

unsigned http__budget_max_streams(http_budget *b) {
  pthread_mutex_lock(&b->mu);
  unsigned n = b->max_streams;
  pthread_mutex_unlock(&b->mu);
  return n;
}

void http__budget_set(http_budget *b, const http_options *o) {
  pthread_mutex_lock(&b->mu);
  if (!o->trust_proxy) b->max_per_ip = o->max_connections_per_ip ? o->max_connections_per_ip : HTTP_DEFAULT_MAX_PER_IP;
  b->max_streams = o->max_streams ? o->max_streams : HTTP_DEFAULT_MAX_STREAMS;
  b->header_s = (o->header_timeout_ms ? o->header_timeout_ms : HTTP_DEFAULT_HEADER_MS) / 1000.0;
  b->body_s = (o->body_timeout_ms ? o->body_timeout_ms : HTTP_DEFAULT_BODY_MS) / 1000.0;
  pthread_mutex_unlock(&b->mu);
}

size_t http__budget_metrics(http_budget *b, char *out, size_t cap) {
  pthread_mutex_lock(&b->mu);
  unsigned conns = b->conns, streams = b->streams;
  pthread_mutex_unlock(&b->mu);
  return (size_t)snprintf(out, cap,
      "# HELP parley_http_connections Open HTTP connections.\n"
      "# TYPE parley_http_connections gauge\nparley_http_connections %u\n"
      "# HELP parley_http_connection_limit The connection budget: global and per address.\n"
      "# TYPE parley_http_connection_limit gauge\n"
      "parley_http_connection_limit{scope=\"global\"} %u\nparley_http_connection_limit{scope=\"ip\"} %u\n"
      "# HELP parley_http_event_streams Open live-event streams.\n"
      "# TYPE parley_http_event_streams gauge\nparley_http_event_streams %u\n"
      "# HELP parley_http_connections_refused_total Connections refused at accept.\n"
      "# TYPE parley_http_connections_refused_total counter\n"
      "parley_http_connections_refused_total{reason=\"global\"} %lu\n"
      "parley_http_connections_refused_total{reason=\"ip\"} %lu\n"
      "# HELP parley_http_connections_cut_total Connections shut down past their deadline.\n"
      "# TYPE parley_http_connections_cut_total counter\n"
      "parley_http_connections_cut_total{reason=\"headers\"} %lu\n"
      "parley_http_connections_cut_total{reason=\"body\"} %lu\n"
      "# HELP parley_http_refusals_total Requests refused by the budget.\n"
      "# TYPE parley_http_refusals_total counter\n"
      "parley_http_refusals_total{reason=\"streams\"} %lu\n"
      "parley_http_refusals_total{reason=\"headers_too_large\"} %lu\n",
      conns, b->max_conns, b->max_per_ip, streams, atomic_load(&b->refused_global),
      atomic_load(&b->refused_ip), atomic_load(&b->cut_header), atomic_load(&b->cut_body),
      atomic_load(&b->streams_refused), atomic_load(&b->headers_too_large));
}
