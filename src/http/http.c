/* http.c - the libmicrohttpd server: bodies with a size cap, responses, errors, metrics. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "http/http_int.h"
#include "util/pl_log.h"

#define DEFAULT_MAX_BODY (1024 * 1024)

static const double latency_bounds[HTTP_LATENCY_BUCKETS] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                            0.05,   0.1,   0.25,   0.5,   1.0,  1e300};

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

unsigned http_status_for(pl_err e) {
  switch (e) {
  case PL_OK: return 200;
  case PL_EINVAL:
  case PL_EUTF8:
  case PL_EJSON:
  case PL_ETYPE:
  case PL_EMISSING:
  case PL_EEMPTY:
  case PL_ECONTROL:
  case PL_ETEAMONLY:
  case PL_ETOOMANY:
  case PL_EIDEMKEY:
  case PL_EPAGE:
  case PL_EBADLINK:
  case PL_EWEAKPASS:
  case PL_EPASSLONG:
  case PL_ETOTPBAD: return 400;
  case PL_ESIGNIN:
  case PL_ETOTPNEEDED: return 401;
  case PL_EWRONGPASS:
  case PL_EUNVERIFIED: return 403;
  case PL_EINVITES: return 409;
  case PL_EATTEMPTS: return 429;
  case PL_EUNAUTH:
  case PL_EEXPIRED:
  case PL_EREVOKED:
  case PL_EDEACTIVATED:
  case PL_ESCOPE: return 401;
  case PL_ERENEW: return 403;
  case PL_ENOAGENT: return 400;
  case PL_EFORBIDDEN: return 403;
  case PL_ENOTFOUND: return 404;
  case PL_EMETHOD: return 405;
  case PL_EEXIST:
  case PL_ECONFLICT:
  case PL_ECANCELED:
  case PL_ENOTALLOWED:
  case PL_ENOADDRESS:
  case PL_EIDEMBUSY: return 409;
  case PL_ETOOLARGE: return 413;
  case PL_EUNSUPPORTED:
  case PL_EMISMATCH: return 415;
  case PL_ETOOLONG:
  case PL_EUNREADABLE:
  case PL_EPOLICY:
  case PL_ERENDERLONG:
  case PL_EPURPOSE:
  case PL_EIDEMREUSED: return 422;
  case PL_ERATELIMIT:
  case PL_ESTREAMS:
  case PL_EQUOTA:
  case PL_EMSGLIMIT:
  case PL_ETHREADLIMIT:
  case PL_EUPLOADLIMIT: return 429;
  case PL_EHEADERS: return 431;
  case PL_ERESTRICTED:
  case PL_EALREADY:
  case PL_EWINDOW:
  case PL_EACTION: return 403;
  case PL_ESTORE:
  case PL_ESTOPPING:
  case PL_ENOMEM: return 503;
  case PL_ECRYPTO:
  case PL_EIO:
  case PL_EINTERNAL: return 500;
  }
  return 500;
}

void http__header(http_req *r, const char *name, const char *value) {
  if (r->nheaders < (int)(sizeof r->hname / sizeof r->hname[0])) {
    r->hname[r->nheaders] = name;
    r->hvalue[r->nheaders++] = value;
  }
}

/* What a request gets when its answer could not be built for want of memory: a static
 * body, since nothing more can be allocated. */
static const char oom_body[] =
    "{\"error\":{\"code\":\"out_of_memory\",\"message\":\"the server is short of memory; retry later\"}}";

void http__json(http_req *r, unsigned status, json_t *body) {
  free(r->resp);
  /* JSON values come from jansson's fallible allocator (http_start): a view too large to
   * build or dump is 503, never an abort. */
  r->resp = body ? json_dumps(body, JSON_COMPACT) : NULL;
  r->content_type = "application/json";
  json_decref(body);
  if (!r->resp) {
    r->status = 503;
    r->resp = strdup(oom_body);
    r->resp_len = r->resp ? strlen(r->resp) : 0;
    if (!r->resp) r->oom = true;
    http__header(r, "Retry-After", "1");
    return;
  }
  r->status = status;
  r->resp_len = strlen(r->resp);
}

void http__fail(http_req *r, pl_err e, const pl_detail *d) {
  json_t *err = json_pack("{s:s,s:s}", "code", pl_errname(e), "message", d && *d->msg ? d->msg : pl_strerror(e));
  char buf[32];
  if (d && d->retry_after > 0) json_object_set_new(err, "retry_after", json_integer(d->retry_after));
  if (d && d->at) json_object_set_new(err, "at", json_string(pl_time_format(d->at, buf)));
  if (d && d->until) json_object_set_new(err, "until", json_string(pl_time_format(d->until, buf)));
  /* the X-Request-Id header's value: what an operator looks for when a client reports it */
  if (r->request_id[0]) json_object_set_new(err, "request_id", json_string(r->request_id));
  /* A refusal that will pass later says when (the limits: svc__limit_take, svc__rate_take). */
  unsigned status = http_status_for(e);
  if (status == 429 || status == 503) {
    bool have = false;
    for (int i = 0; i < r->nheaders; i++) have |= !strcasecmp(r->hname[i], "Retry-After");
    long long secs = d && d->retry_after > 0 ? d->retry_after : 1;
    if (!have) http__header(r, "Retry-After", pl_arena_printf(r->a, "%lld", secs));
  }
  http__json(r, status, json_pack("{s:o}", "error", err));
}

void http__error(http_req *r, pl_err e, const char *msg) {
  pl_detail d = {0};
  if (msg) snprintf(d.msg, sizeof d.msg, "%s", msg);
  http__fail(r, e, &d);
}

/* Counts the answer under its route row: the table is static, so a row's index keys
 * the counters and recording takes no lock. */
static void finish(http_server *h, http_req *r) {
  size_t nr;
  const http_route *rows = http__routes(&nr);
  size_t k = r->row ? (size_t)(r->row - rows) : r->static_file ? HTTP_STATS_STATIC(nr) : HTTP_STATS_OTHER(nr);
  http_route_stats *st = &h->stats[k];
  unsigned cls = r->status / 100;
  if (cls >= 1 && cls <= 5) atomic_fetch_add(&st->by_class[cls], 1);
  double dt = now_s() - r->started;
  if (dt < 0) dt = 0;
  for (int i = 0; i < HTTP_LATENCY_BUCKETS; i++)
    if (dt <= latency_bounds[i]) {
      atomic_fetch_add(&st->bucket[i], 1);
      break;
    }
  atomic_fetch_add(&st->sum_us, (unsigned long long)(dt * 1e6));
}

static enum MHD_Result send_response(http_server *h, http_req *r) {
  if (r->oom) {
    free(r->resp);
    r->resp = NULL;
    r->status = 503;
  }
  struct MHD_Response *resp =
      r->oom ? MHD_create_response_from_buffer(sizeof oom_body - 1, (char *)oom_body, MHD_RESPMEM_PERSISTENT)
             : MHD_create_response_from_buffer(r->resp_len, r->resp ? r->resp : (char *)"",
                                               r->resp ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
  r->resp = NULL;
  r->sent_bytes = r->oom ? sizeof oom_body - 1 : r->resp_len;
  r->answered = true;
  MHD_add_response_header(resp, "Content-Type", r->content_type ? r->content_type : "application/json");
  MHD_add_response_header(resp, "X-Request-Id", r->request_id);
  MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
  MHD_add_response_header(resp, "Cache-Control", r->cache_control ? r->cache_control : "no-store");
  for (int i = 0; i < r->nheaders; i++) MHD_add_response_header(resp, r->hname[i], r->hvalue[i]);
  /* Stopping: the client takes its next request elsewhere. */
  if (atomic_load(&h->draining)) MHD_add_response_header(resp, "Connection", "close");
  finish(h, r);
  enum MHD_Result ret = MHD_queue_response(r->conn, r->status ? r->status : 500, resp);
  MHD_destroy_response(resp);
  return ret;
}

bool http__client_https(const http_server *h, const http_req *r) {
  if (h->opt.tls_cert_pem) return true;
  if (!h->opt.trust_proxy) return false;
  const char *p = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "X-Forwarded-Proto");
  /* A chain of proxies lists one value each; the first is what the client spoke. */
  return p && !strncasecmp(p, "https", 5) && (p[5] == '\0' || p[5] == ',' || p[5] == ' ');
}

const char *http__client_addr(const http_server *h, const http_req *r, char *buf, size_t cap) {
  buf[0] = '\0';
  if (h->opt.trust_proxy) {
    const char *f = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "X-Forwarded-For");
    if (f && *f) {
      const char *last = strrchr(f, ',');
      last = last ? last + 1 : f;
      while (*last == ' ') last++;
      snprintf(buf, cap, "%.*s", (int)strcspn(last, " "), last);
      if (*buf) return buf;
    }
  }
  const union MHD_ConnectionInfo *ci = MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
  if (ci && ci->client_addr) {
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET)
      inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, buf, (socklen_t)cap);
    else if (sa->sa_family == AF_INET6)
      inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, buf, (socklen_t)cap);
  }
  return buf;
}

static void dispatch(http_server *h, http_req *r) {
  if (r->headers_too_large) {
    char msg[128];
    snprintf(msg, sizeof msg, "the request line and headers are larger than %u bytes", HTTP_MAX_HEADER);
    http__error(r, PL_EHEADERS, msg);
    http__header(r, "Connection", "close");
    http__budget_count_header_refusal(h->budget);
    return;
  }
  if (r->oom) {
    http__error(r, PL_ENOMEM, "no memory for the request body; retry later");
    return;
  }
  if (!r->too_large && http__idem_begin(h, r)) {
    /* a retry answered from its record: logged under its route all the same */
    const http_route *path;
    r->row = http__route_find(r->a, r->url, r->method, &path, NULL);
    r->route = path ? path->pattern : NULL;
    return;
  }
  http__route(h, r);
}

void http__healthz(http_req *r, char **arg) {
  /* a load balancer takes the node out while requests in flight finish */
  if (atomic_load(&r->h->draining)) http__error(r, PL_ESTOPPING, "the server is stopping; use another node");
  else if (svc_ping(r->s)) http__error(r, PL_ESTORE, "the store does not answer");
  else http__json(r, 200, json_pack("{s:s,s:s}", "status", "ok", "version", PARLEY_VERSION));
}

void http__metrics(http_req *r, char **arg) {
  r->status = 200;
  r->resp = http__metrics_text(r->h);
  r->resp_len = strlen(r->resp);
  r->content_type = "text/plain; version=0.0.4";
}

/* ---- handlers ------------------------------------------------------------------------
 * The connection workers (libmicrohttpd's pool, one a CPU) read requests and write
 * answers for many connections each. A write request would hold its worker until its
 * commit is on disk, and with it every other connection of that worker; so it runs on a
 * handler thread instead, its connection suspended meanwhile, and the worker goes on.
 * Reads (GET, HEAD) never wait for the disk and run on the worker; event streams and
 * downloads queue their own responses there. */

static bool offloaded(const http_server *h, const http_req *r) {
  return h->n_handlers && strcmp(r->method, "GET") && strcmp(r->method, "HEAD") && !r->headers_too_large;
}

/* Queues r for a handler; false when the handlers are stopping (r then runs here). */
static bool job_push(http_server *h, http_req *r) {
  pthread_mutex_lock(&h->job_mu);
  bool ok = !h->jobs_stopping;
  if (ok) {
    r->next_job = NULL;
    if (h->jobs_tail) h->jobs_tail->next_job = r;
    else h->jobs = r;
    h->jobs_tail = r;
    pthread_cond_signal(&h->job_cv);
  }
  pthread_mutex_unlock(&h->job_mu);
  return ok;
}

static void dispatch(http_server *h, http_req *r);

static void *handler_main(void *arg) {
  http_server *h = arg;
  pthread_mutex_lock(&h->job_mu);
  for (;;) {
    http_req *r = h->jobs;
    if (!r) {
      if (h->jobs_stopping) break;
      pthread_cond_wait(&h->job_cv, &h->job_mu);
      continue;
    }
    h->jobs = r->next_job;
    if (!h->jobs) h->jobs_tail = NULL;
    pthread_mutex_unlock(&h->job_mu);
    dispatch(h, r);
    http__idem_end(r);
    r->handled = 2;
    MHD_resume_connection(r->conn); /* the worker calls on_request again: it answers */
    pthread_mutex_lock(&h->job_mu);
  }
  pthread_mutex_unlock(&h->job_mu);
  return NULL;
}

/* Stops the handlers once every queued request has run; later ones run on the workers. */
static void handlers_stop(http_server *h) {
  pthread_mutex_lock(&h->job_mu);
  h->jobs_stopping = true;
  pthread_cond_broadcast(&h->job_cv);
  pthread_mutex_unlock(&h->job_mu);
  for (unsigned i = 0; i < h->n_handlers; i++) pthread_join(h->handlers[i], NULL);
  free(h->handlers);
  h->handlers = NULL;
  h->n_handlers = 0;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls) {
  http_server *h = cls;
  http_req *r = *con_cls;
  if (!r) {
    r = pl_xcalloc(1, sizeof *r);
    r->conn = conn;
    r->method = method;
    r->url = url;
    r->s = h->s;
    r->h = h;
    r->a = pl_arena_new();
    r->started = now_s();
    atomic_fetch_add(&h->requests, 1);
    unsigned char rid[16];
    randombytes_buf(rid, sizeof rid);
    sodium_bin2hex(r->request_id, sizeof r->request_id, rid, sizeof rid);
    *con_cls = r;
    crypto_hash_sha256_init(&r->body_sha);
    http__budget_headers_done(h->budget, conn);
    /* Headers that fit the connection's memory but not the limit: a JSON 431 here (larger
     * ones are answered from the error logger, see http__budget_oversized). */
    const union MHD_ConnectionInfo *hs = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_REQUEST_HEADER_SIZE);
    if (hs && hs->header_size > HTTP_MAX_HEADER) {
      r->headers_too_large = true;
      return MHD_YES;
    }
    if (http__upload_start(h, r)) return MHD_YES;
    const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
    if (cl && strtoull(cl, NULL, 10) > h->opt.max_body) r->too_large = true;
    return MHD_YES;
  }
  if (*upload_size) http__budget_body(h->budget, conn, *upload_size);
  if (*upload_size) crypto_hash_sha256_update(&r->body_sha, (const unsigned char *)upload, *upload_size);
  if (*upload_size && (r->headers_too_large || r->upload_route)) {
    if (!r->headers_too_large) http__upload_chunk(r, upload, *upload_size);
    *upload_size = 0;
    return MHD_YES;
  }
  if (*upload_size) {
    if (!r->too_large) {
      if (r->body_len + *upload_size > h->opt.max_body) {
        r->too_large = true;
        free(r->body);
        r->body = NULL;
        r->body_len = r->body_cap = 0;
      } else {
        if (r->body_len + *upload_size + 1 > r->body_cap) {
          size_t cap = (r->body_len + *upload_size + 1) * 2;
          if (cap > h->opt.max_body + 1) cap = h->opt.max_body + 1;
          /* The client decides this size: no memory is a 503 for this request. */
          char *nb = r->oom ? NULL : pl_try_realloc(r->body, cap);
          if (!nb) {
            r->oom = true;
            free(r->body);
            r->body = NULL;
            r->body_len = r->body_cap = 0;
            *upload_size = 0;
            return MHD_YES;
          }
          r->body = nb;
          r->body_cap = cap;
        }
        memcpy(r->body + r->body_len, upload, *upload_size);
        r->body_len += *upload_size;
        r->body[r->body_len] = '\0';
      }
    }
    *upload_size = 0;
    return MHD_YES;
  }
  if (r->handled == 2) return send_response(h, r); /* back from a handler */
  if (r->handled == 1) return MHD_YES;              /* resumed before its handler ended */
  http__budget_busy(h->budget, conn);
  if (offloaded(h, r)) {
    r->handled = 1;
    MHD_suspend_connection(conn);
    if (job_push(h, r)) return MHD_YES;
    MHD_resume_connection(conn);
    r->handled = 0;
  }
  dispatch(h, r);
  http__idem_end(r);
  if (r->streaming) {
    r->answered = true;
    finish(h, r);
    return MHD_YES;
  }
  return send_response(h, r);
}

/* ---- the access log ---------------------------------------------------------------------
 * One line a request, written when it ends (the answer sent, or the exchange cut short):
 * its route's pattern, never the path with ids or a query; who called by kind and ids,
 * never a token, a name or an address. docs/operations.md, "Logs". */

/* An id as the log may show it: ids are not addresses, but one that looks like an
 * address (a buyer imported under one) is left out rather than logged. */
static const char *log_id(const char *id) { return id && *id && !strchr(id, '@') ? id : NULL; }

static void log_caller(pl_log_line *l, const svc_caller *c) {
  switch (c->kind) {
  case ST_PRINCIPAL_OPERATOR:
    pl_log_str(l, "principal", "operator");
    if (c->name && !strncmp(c->name, "operator:", 9)) pl_log_str(l, "operator", log_id(c->name + 9));
    break;
  case ST_PRINCIPAL_AGENT:
    pl_log_str(l, "principal", c->scope == ST_SCOPE_SPAPI ? "spapi" : "agent");
    pl_log_int(l, "agent", (long long)c->agent_id);
    pl_log_str(l, "seller", log_id(c->seller_id));
    break;
  case ST_PRINCIPAL_BUYER:
    pl_log_str(l, "principal", "buyer");
    pl_log_str(l, "buyer", log_id(c->buyer_id));
    break;
  default: pl_log_str(l, "principal", "none");
  }
}

static void log_request(http_req *r, enum MHD_RequestTerminationCode toe) {
  pl_log_level lv = r->status >= 500 ? PL_LOG_WARN : PL_LOG_INFO;
  if (!pl_log_enabled(lv)) return;
  pl_log_line l;
  pl_log_begin(&l, lv, "request");
  pl_log_str(&l, "request_id", r->request_id);
  pl_log_str(&l, "method", r->method);
  pl_log_str(&l, "route", r->route ? r->route : "-");
  pl_log_int(&l, "status", r->answered ? (long long)r->status : 0);
  pl_log_ms(&l, "duration_ms", (now_s() - r->started) * 1000.0);
  log_caller(&l, &r->caller);
  if (r->answered && !r->streaming) pl_log_int(&l, "bytes", (long long)r->sent_bytes);
  /* an exchange that ended otherwise than with its answer sent */
  static const char *const ends[] = {
      [MHD_REQUEST_TERMINATED_WITH_ERROR] = "error",
      [MHD_REQUEST_TERMINATED_TIMEOUT_REACHED] = "timeout",
      [MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN] = "shutdown",
      [MHD_REQUEST_TERMINATED_READ_ERROR] = "read_error",
      [MHD_REQUEST_TERMINATED_CLIENT_ABORT] = "client_abort",
  };
  if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK)
    pl_log_str(&l, "end", (unsigned)toe < sizeof ends / sizeof ends[0] && ends[toe] ? ends[toe] : "error");
  pl_log_write(&l);
}
static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe) {
  http_server *h = cls;
  http_req *r = *con_cls;
  if (!r) return;
  if (toe == MHD_REQUEST_TERMINATED_COMPLETED_OK) http__budget_request_done(h->budget, conn);
  log_request(r, toe);
  http__upload_end(r);
  free(r->body);
  free(r->resp);
  pl_arena_free(r->a);
  free(r);
  *con_cls = NULL;
  atomic_fetch_sub(&h->requests, 1);
}

/* libmicrohttpd's messages go to standard error as before; the one that says it answers a
 * request line or headers too large itself is the budget's cue to answer first in JSON. */
static void on_mhd_log(void *cls, const char *fmt, va_list ap) {
  http_server *h = cls;
  char msg[512];
  vsnprintf(msg, sizeof msg, fmt, ap);
  if (strstr(msg, "response code is 431") || strstr(msg, "response code is 414")) http__budget_oversized(h->budget);
  fputs(msg, stderr);
}

pl_err http_start(svc *s, const http_options *opt, http_server **out, pl_detail *d) {
  http_server *h = pl_xcalloc(1, sizeof *h);
  h->s = s;
  (void)http__routes(&h->nroutes);
  h->stats = pl_xcalloc(h->nroutes + 2, sizeof *h->stats);
  struct timespec wall;
  clock_gettime(CLOCK_REALTIME, &wall);
  h->started_at = (double)wall.tv_sec + (double)wall.tv_nsec / 1e9;
  /* Every JSON value of a request is allocated fallibly: the answer to a view too large
   * for the memory left is 503 out_of_memory (http__json), not an abort. */
  json_set_alloc_funcs(pl_try_malloc, free);
  h->opt = *opt;
  if (!h->opt.max_body) h->opt.max_body = DEFAULT_MAX_BODY;
  long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
  if (ncpu < 1) ncpu = 2;
  if (!h->opt.threads) {
    /* A write request that waits for its commit to reach the disk holds its handler, and
     * the more requests wait together, the more of them one flush serves (group commit):
     * many handlers a core, most of them asleep. */
    long n = 16 * ncpu;
    h->opt.threads = (unsigned)(n < 8 ? 8 : n > 64 ? 64 : n);
  }
  unsigned workers = (unsigned)ncpu; /* connection workers: they never wait for the disk */
  char host[128] = "127.0.0.1";
  unsigned port = 8080;
  const char *colon = opt->listen ? strrchr(opt->listen, ':') : NULL;
  if (opt->listen) {
    if (!colon || (size_t)(colon - opt->listen) >= sizeof host) {
      free(h->stats);
      free(h);
      return pl_fail(d, PL_EINVAL, "--listen must be ADDRESS:PORT, e.g. 127.0.0.1:8080");
    }
    memcpy(host, opt->listen, (size_t)(colon - opt->listen));
    host[colon - opt->listen] = '\0';
    char *end;
    unsigned long p = strtoul(colon + 1, &end, 10);
    if (*end || p > 65535) {
      free(h->stats);
      free(h);
      return pl_fail(d, PL_EINVAL, "port '%s' is not a port number", colon + 1);
    }
    port = (unsigned)p;
  }
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
    free(h->stats);
    free(h);
    return pl_fail(d, PL_EINVAL, "'%s' is not an IPv4 address", host);
  }
  pthread_mutex_init(&h->sse_mu, NULL);
  pthread_cond_init(&h->sse_cv, NULL);
  pthread_mutex_init(&h->job_mu, NULL);
  pthread_cond_init(&h->job_cv, NULL);
  /* https for clients that only speak it (SP-API SDKs): GnuTLS inside libmicrohttpd. */
  struct MHD_OptionItem tls[3] = {{MHD_OPTION_END, 0, NULL}};
  unsigned tls_flag = 0;
  if (opt->tls_cert_pem || opt->tls_key_pem) {
    if (!opt->tls_cert_pem || !opt->tls_key_pem) {
      free(h->stats);
      free(h);
      return pl_fail(d, PL_EINVAL, "TLS needs both a certificate and a private key");
    }
    if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
      free(h->stats);
      free(h);
      return pl_fail(d, PL_EINVAL, "this libmicrohttpd was built without TLS support");
    }
    tls[0] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, (void *)opt->tls_cert_pem};
    tls[1] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, (void *)opt->tls_key_pem};
    tls_flag = MHD_USE_TLS;
  }
  pl_err be = http__budget_new(h, &h->budget, d);
  if (be) {
    free(h->stats);
    free(h);
    return be;
  }
  /* libmicrohttpd's own limit sits above the budget's on every worker (it divides it among
   * them), so that the budget, which refuses with headroom kept, always decides first. */
  unsigned mhd_limit = (http__budget_max_connections(h->budget) + 64) * workers;
  /* epoll: with poll(2) every wake-up of a worker walks all its connections, and
   * thousands held open (idle, trickling, streams) put milliseconds on every request.
   * libmicrohttpd 0.9.75 puts a resumed connection on its ready list at the start of the
   * next turn (the resumption wakes the worker), so a stream resumed by an event is
   * written at once; tests/api/test_live.py checks it for streams of several parties. */
  /* A connection's memory holds the request line, the headers (HTTP_MAX_HEADER at most)
   * and the read buffer. libmicrohttpd 0.9.75 zeroes all of it before every request on a
   * kept-alive connection, so it is kept small: at 256 KiB that memset was 4 % of the
   * server's CPU in a profile of sends. */
  /* the handlers first: a request may arrive as soon as the daemon listens */
  h->handlers = pl_xcalloc(h->opt.threads, sizeof *h->handlers);
  for (unsigned i = 0; i < h->opt.threads; i++) {
    if (pthread_create(&h->handlers[i], NULL, handler_main, h)) break;
    h->n_handlers++;
  }
  h->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG |
                              MHD_ALLOW_SUSPEND_RESUME | tls_flag,
                          (uint16_t)port, http__budget_accept(), h->budget, on_request, h,
                          MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, h, /* first, to see every message */
                          MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
                          MHD_OPTION_THREAD_POOL_SIZE, workers,
                          MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
                          MHD_OPTION_NOTIFY_CONNECTION, http__budget_notify(), h->budget,
                          MHD_OPTION_CONNECTION_LIMIT, mhd_limit,
                          MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
                          MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024),
                          MHD_OPTION_ARRAY, tls,
                          MHD_OPTION_END);
  if (!h->d) {
    handlers_stop(h);
    http__budget_free(h->budget);
    free(h->stats);
    free(h);
    return pl_fail(d, PL_EIO, "cannot listen on %s:%u (in use, or not an address of this machine)", host, port);
  }
  const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
  h->port = info ? info->port : port;
  http__events_start(h);
  *out = h;
  return PL_OK;
}

unsigned http_port(const http_server *h) { return h->port; }

void http_stop(http_server *h) {
  if (!h) return;
  handlers_stop(h);     /* every queued write answered and its connection resumed */
  http__events_stop(h); /* resumes every stream: MHD must not stop with one suspended */
  MHD_stop_daemon(h->d);
  http__budget_free(h->budget);
  pthread_mutex_destroy(&h->sse_mu);
  pthread_cond_destroy(&h->sse_cv);
  pthread_mutex_destroy(&h->job_mu);
  pthread_cond_destroy(&h->job_cv);
  free(h->stats);
  free(h);
}

void http_counts_get(http_server *h, http_counts *out) {
  out->connections = http__budget_connections(h->budget);
  out->requests = atomic_load(&h->requests);
  out->streams = http__events_count(h);
}

void http_drain(http_server *h) {
  if (atomic_exchange(&h->draining, true)) return;
  /* From now on every new connection is closed as soon as it is accepted (the budget's
   * accept policy), before a byte of it is read. MHD_quiesce_daemon would close the
   * listening socket instead, but libmicrohttpd 0.9.75 removes that socket from each
   * worker's epoll set there while a worker may be removing it too, and losing that race
   * is an MHD_PANIC: an abort in the middle of the stop. The socket closes with the daemon. */
  http__budget_drain(h->budget);
  http__events_end_all(h);
}

void http_drain_wait(http_server *h) { http__budget_wait_closed(h->budget); }

void http_reconfigure(http_server *h, const http_options *o) {
  http_options n = h->opt;
  n.max_connections_per_ip = o->max_connections_per_ip;
  n.max_streams = o->max_streams;
  n.header_timeout_ms = o->header_timeout_ms;
  n.body_timeout_ms = o->body_timeout_ms;
  http__budget_set(h->budget, &n);
}

/* ---- /metrics ---------------------------------------------------------------------------
 * Prometheus text format 0.0.4 (docs/operations.md, "Metrics and alerts"). Every label
 * value comes from a fixed set: a route's pattern from the static table, a method of the
 * table, a status class, an enum's name. Never an id, an address, a path or a text. */

typedef struct {
  char *p;
  size_t n, cap;
} metrics_buf;

static void emit(metrics_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void emit(metrics_buf *b, const char *fmt, ...) {
  for (;;) {
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(b->p + b->n, b->cap - b->n, fmt, ap);
    va_end(ap);
    if (w < 0) return;
    if ((size_t)w < b->cap - b->n) {
      b->n += (size_t)w;
      return;
    }
    b->cap = 2 * b->cap + (size_t)w;
    b->p = pl_xrealloc(b->p, b->cap);
  }
}

static void emit_head(metrics_buf *b, const char *name, const char *type, const char *help) {
  emit(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* One histogram series from per-bucket counts (n + 1 of them, the last +Inf): cumulative
 * buckets, _sum and _count; labels is "" or `k="v",` pairs each followed by a comma. */
static void emit_histogram(metrics_buf *b, const char *name, const char *labels, const double *bounds, size_t n,
                           const unsigned long long *counts, double sum) {
  unsigned long long cum = 0;
  for (size_t i = 0; i <= n; i++) {
    cum += counts[i];
    if (i < n) emit(b, "%s_bucket{%sle=\"%g\"} %llu\n", name, labels, bounds[i], cum);
    else emit(b, "%s_bucket{%sle=\"+Inf\"} %llu\n", name, labels, cum);
  }
  size_t ll = strlen(labels);
  if (ll) {
    emit(b, "%s_sum{%.*s} %.6f\n", name, (int)ll - 1, labels, sum);
    emit(b, "%s_count{%.*s} %llu\n", name, (int)ll - 1, labels, cum);
  } else {
    emit(b, "%s_sum %.6f\n%s_count %llu\n", name, sum, name, cum);
  }
}

/* The route's labels: its pattern and method, or "static"/"other" with method "any". */
static void route_labels(const http_server *h, size_t k, char *out, size_t cap) {
  size_t nr;
  const http_route *rows = http__routes(&nr);
  if (k < nr) snprintf(out, cap, "route=\"%s\",method=\"%s\",", rows[k].pattern, rows[k].method);
  else snprintf(out, cap, "route=\"%s\",method=\"any\",", k == HTTP_STATS_STATIC(h->nroutes) ? "static" : "other");
}

/* The age in seconds at now of something that began at `since` (0 when nothing). */
static long long age_s(pl_time now, pl_time since) { return since && now > since ? (long long)(now - since) : 0; }

static void emit_http(metrics_buf *b, http_server *h) {
  char labels[256];
  size_t nstats = h->nroutes + 2;
  /* A route shows once it has answered: a series per row of the table would be mostly
   * zeros (~90 rows x 14 lines). */
  emit_head(b, "parley_http_requests_total", "counter",
            "HTTP requests answered, by route pattern, method and status class.");
  for (size_t k = 0; k < nstats; k++)
    for (int c = 1; c <= 5; c++) {
      unsigned long v = atomic_load(&h->stats[k].by_class[c]);
      if (!v) continue;
      route_labels(h, k, labels, sizeof labels);
      emit(b, "parley_http_requests_total{%scode=\"%dxx\"} %lu\n", labels, c, v);
    }
  emit_head(b, "parley_http_request_duration_seconds", "histogram",
            "Time from a request's arrival to its answer, by route pattern and method.");
  for (size_t k = 0; k < nstats; k++) {
    unsigned long long counts[HTTP_LATENCY_BUCKETS], total = 0;
    for (int i = 0; i < HTTP_LATENCY_BUCKETS; i++) total += counts[i] = atomic_load(&h->stats[k].bucket[i]);
    if (!total) continue;
    route_labels(h, k, labels, sizeof labels);
    emit_histogram(b, "parley_http_request_duration_seconds", labels, latency_bounds, HTTP_LATENCY_BUCKETS - 1,
                   counts, (double)atomic_load(&h->stats[k].sum_us) / 1e6);
  }
  emit_head(b, "parley_events_streams", "gauge", "Live-event (SSE) streams open now.");
  emit(b, "parley_events_streams %u\n", http__events_open(h));
}

static void emit_service(metrics_buf *b, http_server *h) {
  unsigned long counts[ST_STATUS_N];
  svc_message_counts(h->s, counts);
  emit_head(b, "parley_messages_total", "counter", "Messages recorded since start, by delivery status.");
  for (st_msg_status i = ST_STATUS_NONE + 1; i < ST_STATUS_N; i++)
    emit(b, "parley_messages_total{status=\"%s\"} %lu\n", st_msg_status_name(i), counts[i]);
  svc_op_counters oc;
  svc_op_counters_get(h->s, &oc);
  emit_head(b, "parley_policy_verdicts_total", "counter",
            "Policy verdicts on seller messages (text and attachments), by verdict.");
  for (int v = 0; v < SVC_POLICY_ACTIONS; v++)
    emit(b, "parley_policy_verdicts_total{verdict=\"%s\"} %lu\n", policy_action_name((policy_action)v), oc.verdicts[v]);
  emit_head(b, "parley_policy_findings_total", "counter", "Policy findings in seller messages, by category.");
  size_t ncats;
  const policy_category *cats = policy_categories(&ncats);
  for (size_t k = 0; k < ncats && k < SVC_MAX_CATEGORIES; k++)
    emit(b, "parley_policy_findings_total{category=\"%s\"} %lu\n", cats[k].name, oc.findings[k]);
  emit_head(b, "parley_outbox_deliveries_total", "counter",
            "Tries to deliver outbox mail by this process, by kind and result (delivered, retried, failed for good).");
  for (int k = ST_OUTBOX_KIND_UNKNOWN + 1; k < ST_OUTBOX_KIND_N; k++)
    for (int r = 0; r < SVC_DELIVERY_N; r++)
      emit(b, "parley_outbox_deliveries_total{kind=\"%s\",result=\"%s\"} %lu\n", st_outbox_kind_name((st_outbox_kind)k),
           svc_delivery_result_name((svc_delivery_result)r), oc.deliveries[k][r]);
  emit_head(b, "parley_mail_transactions_total", "counter",
            "LMTP/SMTP transactions taken to the end of DATA, by result (every recipient delivered; some deferred; else some refused).");
  for (int r = 0; r < SVC_MAIL_TXN_N; r++)
    emit(b, "parley_mail_transactions_total{result=\"%s\"} %lu\n", svc_mail_txn_name((svc_mail_txn)r), oc.mail_txns[r]);
  /* Store-wide, read at most once a second whatever the number of scrapers. */
  st_ops_figures f;
  pl_time now;
  pl_err fe = svc_ops_figures(h->s, &f, &now);
  emit_head(b, "parley_ops_figures_up", "gauge",
            "1 when the store answered the last read of the store-wide figures below, else 0 (they are then zero).");
  emit(b, "parley_ops_figures_up %d\n", fe ? 0 : 1);
  if (fe) memset(&f, 0, sizeof f);
  emit_head(b, "parley_outbox_pending", "gauge", "Outbox mail not yet delivered nor given up, store-wide, by kind.");
  for (int k = ST_OUTBOX_KIND_UNKNOWN + 1; k < ST_OUTBOX_KIND_N; k++)
    emit(b, "parley_outbox_pending{kind=\"%s\"} %lld\n", st_outbox_kind_name((st_outbox_kind)k),
         (long long)f.outbox_pending[k]);
  emit_head(b, "parley_outbox_oldest_pending_age_seconds", "gauge",
            "Age of the oldest pending outbox mail, store-wide, by kind (0 when none).");
  for (int k = ST_OUTBOX_KIND_UNKNOWN + 1; k < ST_OUTBOX_KIND_N; k++)
    emit(b, "parley_outbox_oldest_pending_age_seconds{kind=\"%s\"} %lld\n", st_outbox_kind_name((st_outbox_kind)k),
         age_s(now, f.outbox_oldest[k]));
  emit_head(b, "parley_review_queue_length", "gauge", "Seller messages held for review, store-wide.");
  emit(b, "parley_review_queue_length %lld\n", (long long)f.held);
  emit_head(b, "parley_review_queue_oldest_age_seconds", "gauge",
            "How long the oldest held message has waited for review, store-wide (0 when none).");
  emit(b, "parley_review_queue_oldest_age_seconds %lld\n", age_s(now, f.held_oldest));
}

static void emit_store(metrics_buf *b, http_server *h) {
  size_t nb;
  const double *bounds = svc_tx_bounds(&nb);
  emit_head(b, "parley_store_transaction_duration_seconds", "histogram",
            "Store transactions of this process from begin to commit or rollback, reads and writes.");
  for (int w = 0; w < 2; w++) {
    st_tx_durations d;
    svc_tx_durations(w, &d);
    unsigned long long counts[ST_TX_BUCKETS];
    for (int i = 0; i < ST_TX_BUCKETS; i++) counts[i] = d.bucket[i];
    emit_histogram(b, "parley_store_transaction_duration_seconds", w ? "kind=\"write\"," : "kind=\"read\",", bounds,
                   nb, counts, d.sum_s);
  }
  st_counters sc;
  if (svc_store_counters(h->s, &sc)) {
    emit_head(b, "parley_store_commits_total", "counter", "Write transactions committed since start.");
    emit(b, "parley_store_commits_total %llu\n", (unsigned long long)sc.commits);
    emit_head(b, "parley_store_batches_total", "counter", "Store transactions that held them (group commit).");
    emit(b, "parley_store_batches_total %llu\n", (unsigned long long)sc.batches);
    emit_head(b, "parley_store_syncs_total", "counter", "Flushes to disk made to acknowledge them.");
    emit(b, "parley_store_syncs_total %llu\n", (unsigned long long)sc.syncs);
    emit_head(b, "parley_store_writer_busy_seconds_total", "counter", "Time the one writer connection was in use.");
    emit(b, "parley_store_writer_busy_seconds_total %.6f\n", (double)sc.writer_busy_ns / 1e9);
  }
}

char *http__metrics_text(http_server *h) {
  metrics_buf b = {.p = pl_xmalloc(32768), .cap = 32768};
  emit_head(&b, "parley_build_info", "gauge", "Always 1; the version of parley this process runs.");
  emit(&b, "parley_build_info{version=\"%s\"} 1\n", PARLEY_VERSION);
  emit_head(&b, "process_start_time_seconds", "gauge", "When this process started, in seconds since the Unix epoch.");
  emit(&b, "process_start_time_seconds %.3f\n", h->started_at);
  emit_http(&b, h);
  emit_service(&b, h);
  emit_store(&b, h);
  /* the connection budget writes into what is left; make room for it first */
  if (b.cap - b.n < 4096) {
    b.cap = b.n + 4096;
    b.p = pl_xrealloc(b.p, b.cap);
  }
  b.n += http__budget_metrics(h->budget, b.p + b.n, b.cap - b.n);
  return b.p;
}
