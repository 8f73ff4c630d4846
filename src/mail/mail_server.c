/* mail_server.c - the LMTP (and plain SMTP) listener: sessions, limits, one reply per
 * recipient after DATA, each only after the service committed. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "mail/mail.h"
#include "service/svc_mail.h"
#include "util/pl_log.h"
#include "util/pl_ref.h"

#define DEFAULT_MAX_SIZE (10u * 1024 * 1024)
#define IDLE_SECONDS 300 /* RFC 5321 4.5.3.2.7: the server waits 5 minutes for a command */

struct mail_server {
  svc *s;
  mail_options o;
  char *hostname, *authserv_id;
  int fd;
  unsigned port;
  atomic_bool stop;
  /* mail_drain: no connection is taken, and a session waiting for a command is told 421
   * and closed; one in DATA finishes its transaction first. wake is readable from then on. */
  atomic_bool draining;
  int wake;
  atomic_int sessions; /* open now */
  pthread_t *threads;
  int nthreads;
};

int mail_reply_for(pl_err e, const char **enh) {
  switch (e) {
  case PL_OK: *enh = "2.0.0"; return 250;
  case PL_ENOTFOUND: *enh = "5.1.1"; return 550;
  case PL_EFORBIDDEN:
  case PL_ENOTALLOWED:
  case PL_ECANCELED:
  case PL_ERESTRICTED:
  case PL_EQUOTA:
  case PL_EPOLICY: *enh = "5.7.1"; return 550;
  case PL_ETOOLARGE: *enh = "5.3.4"; return 552;
  case PL_EUNSUPPORTED:
  case PL_EMISMATCH: *enh = "5.6.1"; return 550; /* a file of a type not taken */
  case PL_EINVAL:
  case PL_EUTF8:
  case PL_EEMPTY:
  case PL_ETOOLONG:
  case PL_EMISSING: *enh = "5.6.0"; return 550;
  case PL_ERATELIMIT:
  case PL_EMSGLIMIT: /* a party's limits (docs/rules.md): the sender's server tries later */
  case PL_ETHREADLIMIT:
  case PL_EUPLOADLIMIT: *enh = "4.7.1"; return 451;
  case PL_ENOMEM:
  case PL_ESTORE:
  case PL_EIO:
  case PL_ECRYPTO:
  case PL_EINTERNAL: *enh = "4.3.0"; return 451;
  case PL_ESTOPPING: *enh = "4.3.2"; return 421;
  default: *enh = "5.7.1"; return 550;
  }
}

/* ---- a connection ---------------------------------------------------------------------- */

typedef struct {
  mail_server *m;
  int fd;
  char in[8192];
  size_t have, pos;
  bool lmtp;
  bool in_data; /* reading a message after DATA: a drain waits for its end */
} conn;

static bool send_all(conn *c, const char *p, size_t n) {
  while (n) {
    ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w;
    n -= (size_t)w;
  }
  return true;
}

static bool reply(conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool reply(conn *c, const char *fmt, ...) {
  char b[600];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(b, sizeof b - 2, fmt, ap);
  va_end(ap);
  if (n < 0) return false;
  if ((size_t)n > sizeof b - 3) n = (int)(sizeof b - 3);
  b[n++] = '\r';
  b[n++] = '\n';
  return send_all(c, b, (size_t)n);
}

/* A service reply: code, enhanced code and the human reason on one line, with nothing in
 * the reason that could end the line early. */
static bool reply_err(conn *c, pl_err e, const char *msg) {
  const char *enh = NULL;
  int code = mail_reply_for(e, &enh);
  char clean[420];
  size_t k = 0;
  for (const char *p = msg && *msg ? msg : pl_strerror(e); *p && k + 1 < sizeof clean; p++)
    clean[k++] = (*p == '\r' || *p == '\n') ? ' ' : *p;
  clean[k] = '\0';
  return reply(c, "%d %s %s", code, enh, clean);
}

/* Reads one line (without CRLF) into line; -1 on close, timeout or stop; -2 when the server
 * drains and nothing of a command has arrived (outside DATA); 1 when the line was longer
 * than cap (the rest of it is discarded). */
static int read_line(conn *c, char *line, size_t cap, size_t *len) {
  size_t n = 0;
  bool over = false;
  int idle = 0;
  for (;;) {
    while (c->pos < c->have) {
      char ch = c->in[c->pos++];
      if (ch == '\n') {
        if (n && line[n - 1] == '\r') n--;
        line[n] = '\0';
        *len = n;
        return over ? 1 : 0;
      }
      if (n + 1 < cap) line[n++] = ch;
      else over = true;
    }
    if (atomic_load(&c->m->stop)) return -1;
    bool watch = !c->in_data && !n; /* between commands: a drain ends the session */
    if (watch && atomic_load(&c->m->draining)) return -2;
    struct pollfd p[2] = {{.fd = c->fd, .events = POLLIN}, {.fd = c->m->wake, .events = POLLIN}};
    int r = poll(p, watch ? 2 : 1, 1000);
    if (r > 0 && !(p[0].revents & (POLLIN | POLLHUP | POLLERR))) continue; /* the drain: checked above */
    if (r == 0) {
      if (++idle >= IDLE_SECONDS) return -1;
      continue;
    }
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return -1;
    ssize_t got = recv(c->fd, c->in, sizeof c->in, 0);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return -1;
    c->have = (size_t)got;
    c->pos = 0;
    idle = 0;
  }
}

typedef struct {
  char *addr;
  svc_mail_rcpt r;
} rcpt;

/* ---- the transaction log --------------------------------------------------------------------
 * One line a mail transaction (MAIL to the end of DATA, or to its abandonment): counts,
 * each recipient's outcome with its reply code, the messages created. Never an address:
 * not the sender's, not a recipient's (docs/operations.md, "Logs"). */
typedef struct {
  bool open;
  char id[17];
  double started;
  int rcpts; /* RCPT commands, taken or not */
  int delivered, refused, deferred;
  bool internal; /* a recipient deferred for a fault of parley's (4.3.0): the line warns */
  size_t size;   /* bytes of the message taken after DATA */
  char results[1024], messages[1024];
  size_t rn, mn;
} txn;

static double mono_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void txn_begin(txn *t) {
  memset(t, 0, sizeof *t);
  unsigned char rid[8];
  randombytes_buf(rid, sizeof rid);
  sodium_bin2hex(t->id, sizeof t->id, rid, sizeof rid);
  t->started = mono_s();
  t->open = true;
}

/* Appends ",item" (or "item" first) to a list when it fits; a list too long ends in "...". */
static void txn_list(char *buf, size_t cap, size_t *n, const char *item) {
  int w = snprintf(buf + *n, cap - *n, "%s%s", *n ? "," : "", item);
  if (w > 0 && (size_t)w < cap - *n) *n += (size_t)w;
  else if (*n + 4 < cap) *n += (size_t)snprintf(buf + *n, cap - *n, ",...");
}

/* A recipient's outcome, by the class of its reply. */
static void txn_outcome(txn *t, int code, const char *enhanced) {
  if (!t->open) return;
  const char *what = code < 300 ? "delivered" : code < 500 ? "deferred" : "refused";
  if (code < 300) t->delivered++;
  else if (code < 500) t->deferred++;
  else t->refused++;
  if (code >= 400 && code < 500 && enhanced && !strcmp(enhanced, "4.3.0")) t->internal = true;
  char item[32];
  snprintf(item, sizeof item, "%s:%d", what, code);
  txn_list(t->results, sizeof t->results, &t->rn, item);
}

static void txn_message(txn *t, int64_t message_id) {
  char mref[PL_REF_MAX];
  if (t->open && message_id > 0) txn_list(t->messages, sizeof t->messages, &t->mn, pl_ref_format(mref, "M", message_id));
}

/* Writes the transaction's line and closes it; end says how a transaction without its
 * DATA ended ("reset", "closed"), NULL after DATA. */
static void txn_end(conn *c, txn *t, const char *end) {
  if (!t->open) return;
  t->open = false;
  /* /metrics counts the transactions that got as far as their DATA */
  if (!end)
    svc_count_mail_txn(c->m->s, t->deferred ? SVC_MAIL_TXN_DEFERRED
                                : t->refused ? SVC_MAIL_TXN_REFUSED
                                             : SVC_MAIL_TXN_DELIVERED);
  pl_log_level lv = t->internal ? PL_LOG_WARN : PL_LOG_INFO;
  if (!pl_log_enabled(lv)) return;
  pl_log_line l;
  pl_log_begin(&l, lv, "mail");
  pl_log_str(&l, "txn", t->id);
  pl_log_str(&l, "proto", c->lmtp ? "lmtp" : "smtp");
  pl_log_int(&l, "rcpts", t->rcpts);
  pl_log_int(&l, "delivered", t->delivered);
  pl_log_int(&l, "refused", t->refused);
  pl_log_int(&l, "deferred", t->deferred);
  pl_log_str(&l, "results", t->rn ? t->results : "-");
  if (t->mn) pl_log_str(&l, "messages", t->messages);
  if (!end) pl_log_int(&l, "size", (long long)t->size);
  pl_log_ms(&l, "duration_ms", (mono_s() - t->started) * 1000.0);
  if (end) pl_log_str(&l, "end", end);
  pl_log_write(&l);
}

/* Reads the message after DATA up to the lone dot: dot-unstuffed, CRLF line ends. Sets
 * *too_big when it passed the limit (the rest is read and dropped) and *bad_line when a
 * line was too long. */
static bool read_data(conn *c, size_t max, char **out, size_t *len, bool *too_big, bool *bad_line) {
  size_t cap = 65536, n = 0;
  char *b = pl_xmalloc(cap);
  char line[LMTP_MAX_LINE + 1];
  size_t ll;
  *too_big = *bad_line = false;
  for (;;) {
    int r = read_line(c, line, sizeof line, &ll);
    if (r < 0) {
      free(b);
      return false;
    }
    if (r > 0) *bad_line = true;
    if (ll == 1 && line[0] == '.') break;
    const char *p = line;
    if (ll && line[0] == '.') p++, ll--;
    if (*too_big || n + ll + 2 > max) {
      *too_big = true;
      continue;
    }
    if (n + ll + 3 > cap) {
      while (n + ll + 3 > cap) cap *= 2;
      b = pl_xrealloc(b, cap);
    }
    memcpy(b + n, p, ll);
    n += ll;
    b[n++] = '\r';
    b[n++] = '\n';
  }
  b[n] = '\0';
  *out = b;
  *len = n;
  return true;
}

static void session(conn *c) {
  mail_server *m = c->m;
  char line[LMTP_MAX_LINE + 1];
  size_t ll;
  bool greeted = false, have_from = false;
  char from[LMTP_MAX_PATH + 1] = "";
  int max_rcpts = m->o.max_rcpts > 0 ? m->o.max_rcpts : 50;
  size_t max_size = m->o.max_size ? m->o.max_size : DEFAULT_MAX_SIZE;
  rcpt *rcpts = pl_xcalloc((size_t)max_rcpts, sizeof *rcpts);
  int nr = 0;
  pl_arena *a = pl_arena_new(); /* one per transaction */
  txn t = {0};
  if (!reply(c, "220 %s LMTP/ESMTP parley ready", m->hostname)) goto out;
  for (;;) {
    int r = read_line(c, line, sizeof line, &ll);
    if (r == -2) { /* RFC 5321 3.8: the client tries the transaction again later */
      reply(c, "421 4.3.2 %s is stopping; try again later", m->hostname);
      break;
    }
    if (r < 0) break;
    lmtp_cmd cmd;
    const char *why;
    int code = r > 0 ? 500 : lmtp_parse(line, ll, &cmd, &why);
    if (r > 0) why = "5.5.2 line too long";
    if (code) {
      if (!reply(c, "%d %s", code, why)) break;
      continue;
    }
    bool ok = true;
    switch (cmd.verb) {
    case LMTP_LHLO:
    case LMTP_EHLO:
      txn_end(c, &t, "reset");
      c->lmtp = cmd.verb == LMTP_LHLO;
      greeted = true;
      have_from = false;
      nr = 0;
      ok = reply(c, "250-%s", m->hostname) && reply(c, "250-SIZE %zu", max_size) &&
           reply(c, "250-8BITMIME") && reply(c, "250 ENHANCEDSTATUSCODES");
      break;
    case LMTP_HELO:
      txn_end(c, &t, "reset");
      c->lmtp = false;
      greeted = true;
      have_from = false;
      nr = 0;
      ok = reply(c, "250 %s", m->hostname);
      break;
    case LMTP_MAIL:
      if (!greeted) ok = reply(c, "503 5.5.1 say LHLO (or EHLO) first");
      else if (have_from) ok = reply(c, "503 5.5.1 nested MAIL command");
      else if (cmd.size > max_size) ok = reply(c, "552 5.3.4 the message is larger than %zu bytes", max_size);
      else {
        snprintf(from, sizeof from, "%s", cmd.arg);
        have_from = true;
        txn_begin(&t);
        nr = 0;
        ok = reply(c, "250 2.1.0 sender ok");
      }
      break;
    case LMTP_RCPT: {
      if (!have_from) {
        ok = reply(c, "503 5.5.1 MAIL first");
        break;
      }
      t.rcpts++;
      /* SMTP has one reply after DATA for all recipients: one recipient a transaction,
       * and a client sends the others again (RFC 5321 4.5.3.1.10). */
      if (nr >= max_rcpts || (!c->lmtp && nr >= 1)) {
        txn_outcome(&t, 452, "4.5.3");
        ok = reply(c, "452 4.5.3 too many recipients");
        break;
      }
      pl_detail d = {0};
      svc_mail_rcpt rr;
      pl_err e = svc_mail_rcpt_check(m->s, from, cmd.arg, a, &rr, &d);
      if (e) {
        const char *enh = NULL;
        txn_outcome(&t, mail_reply_for(e, &enh), enh);
        ok = reply_err(c, e, d.msg);
        break;
      }
      rcpts[nr].addr = pl_arena_strdup(a, cmd.arg);
      rcpts[nr++].r = rr;
      ok = reply(c, "250 2.1.5 recipient ok");
      break;
    }
    case LMTP_DATA: {
      if (!have_from || !nr) {
        ok = reply(c, have_from ? "503 5.5.1 no valid recipients" : "503 5.5.1 MAIL first");
        break;
      }
      if (!reply(c, "354 end the message with a line of a single dot")) goto out;
      char *data;
      size_t len;
      bool too_big, bad_line;
      c->in_data = true;
      bool got = read_data(c, max_size, &data, &len, &too_big, &bad_line);
      c->in_data = false;
      if (!got) goto out;
      t.size = len;
      mail_in mi;
      pl_detail pd = {0};
      pl_err pe = too_big ? pl_fail(&pd, PL_ETOOLARGE, "the message is larger than %zu bytes", max_size)
                  : bad_line ? pl_fail(&pd, PL_EINVAL, "a line is longer than %d octets", LMTP_MAX_LINE)
                             : mail_parse(data, len, a, &mi, &pd);
      /* The header section goes to the service, which reads who the mail is from. */
      size_t hl = 0;
      while (hl + 1 < len && !(data[hl] == '\n' && (data[hl + 1] == '\n' || (data[hl + 1] == '\r' && hl + 2 < len && data[hl + 2] == '\n'))))
        hl++;
      char *headers = pl_arena_strndup(a, data, hl < len ? hl + 1 : len);
      free(data);
      /* What the mail is, for the service: its files, and a report's recipients. */
      svc_mail_file *files = NULL;
      svc_mail_dsn *dsn = NULL;
      if (!pe) {
        files = pl_arena_alloc(a, (mi.nfiles + 1) * sizeof *files);
        for (size_t k = 0; k < mi.nfiles; k++)
          files[k] = (svc_mail_file){.name = mi.files[k].name, .data = mi.files[k].data, .len = mi.files[k].len};
        dsn = pl_arena_alloc(a, (mi.ndsn + 1) * sizeof *dsn);
        for (size_t k = 0; k < mi.ndsn; k++)
          dsn[k] = (svc_mail_dsn){mi.dsn[k].final_recipient, mi.dsn[k].original_recipient, mi.dsn[k].action,
                                  mi.dsn[k].status, mi.dsn[k].diagnostic};
      }
      svc_mail_result *done = pl_arena_alloc(a, (size_t)nr * sizeof *done);
      size_t ndone = 0;
      for (int i = 0; i < nr && ok; i++) {
        pl_detail d = {0};
        pl_err e = pe;
        svc_mail_result res = {0};
        if (!e) {
          svc_mail_in in = {.mail_from = from, .rcpt = rcpts[i].addr, .text = mi.text,
                            .in_reply_to = mi.in_reply_to, .references = mi.references,
                            .automatic = mi.automatic, .dsn = mi.kind == MAIL_DSN, .dsn_rcpts = dsn,
                            .ndsn = mi.ndsn, .files = files, .nfiles = mi.nfiles,
                            .files_skipped = mi.files_skipped, .earlier = done, .nearlier = ndone,
                            .headers = headers, .headers_len = strlen(headers),
                            .authserv_id = m->o.authserv_id, .trust_envelope = m->o.trust_envelope};
          e = svc_mail_receive(m->s, &in, a, &res, &d);
          if (!e) done[ndone++] = res;
        } else {
          d = pd;
        }
        char mref[PL_REF_MAX];
        const char *enh = NULL;
        txn_outcome(&t, e ? mail_reply_for(e, &enh) : 250, e ? enh : "2.0.0");
        if (!e && !res.failed && !res.discarded) txn_message(&t, res.message_id);
        if (e) ok = reply_err(c, e, d.msg);
        else if (res.failed)
          ok = reply(c, "250 2.0.0 delivery report taken: %s failed", pl_ref_format(mref, "M", res.message_id));
        else if (res.auto_reply)
          ok = reply(c, "250 2.0.0 automatic reply kept as %s, not forwarded", pl_ref_format(mref, "M", res.message_id));
        else if (res.refused)
          ok = reply(c, "250 2.0.0 recorded as %s but refused by the policy; the sender is told why",
                     pl_ref_format(mref, "M", res.message_id));
        else if (res.discarded && res.return_path)
          ok = reply(c, "250 2.0.0 not a delivery failure report for this message; dropped");
        else if (res.discarded) ok = reply(c, "250 2.0.0 automatic mail is not forwarded");
        else ok = reply(c, "250 2.0.0 delivered as %s", pl_ref_format(mref, "M", res.message_id));
        if (!c->lmtp) break;
      }
      txn_end(c, &t, NULL);
      have_from = false;
      nr = 0;
      pl_arena_reset(a);
      break;
    }
    case LMTP_RSET:
      txn_end(c, &t, "reset");
      have_from = false;
      nr = 0;
      ok = reply(c, "250 2.0.0 reset");
      break;
    case LMTP_NOOP: ok = reply(c, "250 2.0.0 ok"); break;
    case LMTP_VRFY: ok = reply(c, "252 2.5.2 cannot verify; send the mail and see"); break;
    case LMTP_HELP: ok = reply(c, "214 2.0.0 LHLO EHLO HELO MAIL RCPT DATA RSET NOOP QUIT"); break;
    case LMTP_QUIT:
      reply(c, "221 2.0.0 bye");
      goto out;
    default: ok = reply(c, "502 5.5.1 not implemented"); break;
    }
    if (!ok) break;
  }
out:
  txn_end(c, &t, "closed");
  pl_arena_free(a);
  free(rcpts);
}

static void *serve(void *arg) {
  mail_server *m = arg;
  while (!atomic_load(&m->stop) && !atomic_load(&m->draining)) {
    struct pollfd p[2] = {{.fd = m->fd, .events = POLLIN}, {.fd = m->wake, .events = POLLIN}};
    int r = poll(p, 2, 500);
    if (r <= 0 || atomic_load(&m->draining)) continue;
    int fd = accept(m->fd, NULL, NULL);
    if (fd < 0) continue;
    conn *c = pl_xcalloc(1, sizeof *c);
    c->m = m;
    c->fd = fd;
    atomic_fetch_add(&m->sessions, 1);
    session(c);
    atomic_fetch_sub(&m->sessions, 1);
    close(fd);
    free(c);
  }
  return NULL;
}

pl_err mail_start(struct svc *s, const mail_options *o, mail_server **out, pl_detail *d) {
  char host[128];
  snprintf(host, sizeof host, "%s", o->listen ? o->listen : "127.0.0.1:2424");
  char *colon = strrchr(host, ':');
  if (!colon) return pl_fail(d, PL_EINVAL, "--lmtp wants ADDR:PORT, not %s", host);
  *colon = '\0';
  int port = atoi(colon + 1);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
    return pl_fail(d, PL_EINVAL, "--lmtp address %s is not an IPv4 address", host);
  /* Non-blocking, so that the threads that all wait on it never block in accept(). */
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) || listen(fd, 64)) {
    if (fd >= 0) close(fd);
    return pl_fail(d, PL_EIO, "cannot listen for LMTP on %s:%d: %s", host, port, strerror(errno));
  }
  socklen_t sl = sizeof sa;
  getsockname(fd, (struct sockaddr *)&sa, &sl);
  mail_server *m = pl_xcalloc(1, sizeof *m);
  m->s = s;
  m->o = *o;
  m->hostname = pl_xstrdup(o->hostname && *o->hostname ? o->hostname : "localhost");
  m->authserv_id = o->authserv_id ? pl_xstrdup(o->authserv_id) : NULL;
  m->o.authserv_id = m->authserv_id;
  m->fd = fd;
  m->port = ntohs(sa.sin_port);
  m->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (m->wake < 0) {
    close(fd);
    free(m->hostname);
    free(m->authserv_id);
    free(m);
    return pl_fail(d, PL_EIO, "eventfd: %s", strerror(errno));
  }
  m->nthreads = o->threads > 0 ? o->threads : 16;
  m->threads = pl_xcalloc((size_t)m->nthreads, sizeof *m->threads);
  for (int i = 0; i < m->nthreads; i++)
    if (pthread_create(&m->threads[i], NULL, serve, m)) {
      m->nthreads = i;
      mail_stop(m);
      return pl_fail(d, PL_EINTERNAL, "cannot start the LMTP threads");
    }
  *out = m;
  return PL_OK;
}

unsigned mail_port(const mail_server *m) { return m->port; }

int mail_sessions(const mail_server *m) { return m ? atomic_load(&m->sessions) : 0; }

void mail_drain(mail_server *m) {
  if (!m || atomic_exchange(&m->draining, true)) return;
  /* A listening socket shut down refuses new connections (and resets those not yet
   * accepted) at once, while the threads still hold its descriptor. */
  shutdown(m->fd, SHUT_RDWR);
  uint64_t one = 1;
  (void)!write(m->wake, &one, sizeof one);
}

void mail_wait(mail_server *m) {
  if (!m) return;
  for (int i = 0; i < m->nthreads; i++) pthread_join(m->threads[i], NULL);
  m->nthreads = 0;
}

void mail_stop(mail_server *m) {
  if (!m) return;
  atomic_store(&m->stop, true);
  mail_wait(m);
  close(m->fd);
  close(m->wake);
  free(m->threads);
  free(m->hostname);
  free(m->authserv_id);
  free(m);
}
