/* cmd_serve.c - `parley serve`: the HTTP API and the web message center. */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/cli_common.h"
#include "http/http.h"
#include "mail/mail.h"
#include "service/svc_mail.h"
#include "util/pl_log.h"
#include "util/pl_mem.h"
#include "util/pl_sd.h"

static const char usage[] =
    "usage: parley serve [--conf FILE] [--db PATH] [--listen ADDR:PORT] [--config FILE] [OPTIONS]\n\n"
    "Serves the JSON API (/v1), /healthz, /metrics and the web message center.\n\n"
    "  --conf FILE        read options from FILE first, one 'name = value' a line (a long\n"
    "                     option without its dashes; 'name' alone for a flag; '#' comments);\n"
    "                     the command line overrides it (/etc/parley/parley.conf when installed)\n"
    "  --db PATH          SQLite database file (default parley.db; created when absent)\n"
    "  --key-file PATH    encryption key file (default <db>.key; created 0600 when absent)\n"
    "  --listen ADDR:PORT address to listen on (default 127.0.0.1:8080; port 0 picks one)\n"
    "  --config FILE      content policy configuration (JSON; see docs/policy.md)\n"
    "  --policy-cache DIR keep compiled policy databases here, so that a start or reload\n"
    "                     with unchanged rules takes milliseconds, not seconds (default:\n"
    "                     $PARLEY_POLICY_CACHE, else none)\n"
    "  --threads N        threads that run write requests (default: 16 a CPU, 8 to 64)\n"
    "  --max-body BYTES   largest request body accepted (default 1048576)\n"
    "  --max-connections N         open connections in all (default 8192; the last 1/32 are\n"
    "                              kept for addresses holding fewer than 4, e.g. /healthz);\n"
    "                              the descriptor limit is raised to fit\n"
    "  --max-connections-per-ip N  open connections of one client address (default 256)\n"
    "  --max-streams N             live-event streams (GET /v1/events) of one token's\n"
    "                              principal (default 8; the newest beyond gets 429)\n"
    "  --header-timeout SECONDS    a request's line and headers must be in within this,\n"
    "                              however they trickle (default 10; also the keep-alive idle)\n"
    "  --body-timeout SECONDS      its body within this plus 1 s per 64 KiB (default 30)\n"
    "  --files DIR        where attachments are kept (default <db>.files; ./parley-files\n"
    "                     with postgres://; nodes sharing a database must share it)\n"
    "  --reader PATH      the parley-reader program that parses attachments in its own\n"
    "                     confined process (default: $PARLEY_READER, else parley-reader\n"
    "                     beside this program)\n"
    "  --web DIR          directory of the web message center (default: share/parley/web\n"
    "                     beside this program's bin/ when installed, else the source tree's)\n"
    "  --tls-cert FILE    serve https with this PEM certificate (chain); needs --tls-key\n"
    "  --tls-key FILE     the certificate's PEM private key\n"
    "  --trust-proxy      behind a reverse proxy that terminates TLS: believe its\n"
    "                     X-Forwarded-Proto (https makes cookies Secure) and\n"
    "                     X-Forwarded-For; without it both headers are ignored\n"
    "  --smtp-relay URL   where mail leaves (default smtp://127.0.0.1:25; 'off' keeps it queued)\n"
    "  --mail-domain NAME parley's name in EHLO and the LMTP greeting (default localhost)\n"
    "  --lmtp ADDR:PORT   take mail from Postfix over LMTP (or SMTP) here, e.g. 127.0.0.1:2424\n"
    "  --mail-max-size B  largest mail taken in (default 10485760)\n"
    "  --mail-authserv-id NAME  the authserv-id of the DKIM/DMARC verifier in front of parley\n"
    "                     (OpenDKIM/OpenDMARC, rspamd): only its Authentication-Results\n"
    "                     count; needed with --lmtp (docs/postfix.md)\n"
    "  --mail-trust MODE  authenticated (default): mail speaks for a party only when its\n"
    "                     From: domain passed, aligned; envelope: the envelope sender is\n"
    "                     believed, for closed networks only\n"
    "  --public-url URL   where people open the message center, for the links in e-mailed\n"
    "                     notices (default http://<--listen>, a wildcard address by this\n"
    "                     machine's name; docs/notifications.md)\n"
    "  --webhook-allow HOSTS  hosts webhooks may reach besides public https addresses,\n"
    "                     comma-separated 'host' or 'host:port' (e.g. a receiver on an\n"
    "                     internal network); they may use http (docs/webhooks.md)\n"
    "  --webhook-ca FILE  the PEM CA bundle webhook deliveries trust instead of the system's\n"
    "  --webhook-retry S  seconds before a failed delivery's first retry (default 30, then\n"
    "                     doubled to at most an hour, for a day)\n"
    "  --audit-checkpoint S  sign a checkpoint over every audit chain's head every S seconds\n"
    "                     (default 3600; 0 never; `parley audit verify` checks them)\n"
    "  --unattached-max-age SECONDS\n"
    "                     remove uploads no message took after this long (default 86400)\n"
    "  --log-format FMT   one line a request and a mail transaction on standard error:\n"
    "                     logfmt (default), json (one object a line) or off\n"
    "  --log-level LEVEL  the least level written: info (default; every request), warn\n"
    "                     (5xx answers, mail deferred by a fault of parley's) or error\n"
    "  --shutdown-timeout SECONDS\n"
    "                     the longest a stop waits for requests in flight, event streams,\n"
    "                     the mail being sent and mail being received (default 30)\n\n"
    "Also serves the SP-API-compatible Messaging, Solicitations and Uploads operations and\n"
    "the token endpoint /auth/o2/token (docs/spapi.md).\n\n"
    "Signals (docs/operations.md, \"Stopping and reloading\"):\n"
    "  SIGTERM, SIGINT  stop gracefully: no new connection is taken, requests in flight are\n"
    "                   answered, event streams end with a retry hint, the mail being sent\n"
    "                   or received is finished; exit status 0, also when --shutdown-timeout\n"
    "                   passes and what is left is cut. A second one exits at once (status 1).\n"
    "  SIGHUP           reads the options (and the --conf file) again and applies\n"
    "                   --log-format, --log-level, --config (the policy, recompiled),\n"
    "                   --policy-cache, --unattached-max-age, --max-connections-per-ip,\n"
    "                   --max-streams, --header-timeout, --body-timeout and\n"
    "                   --shutdown-timeout without dropping a connection;\n"
    "                   other changed options are named in the log and wait for a restart. A\n"
    "                   configuration with an error is refused whole; the old one stays.\n";


/* ---- the options -------------------------------------------------------------------------
 * One function reads every option of serve, so that SIGHUP can read them again (the same
 * argv: what cli_parse reads besides it, too) and apply what may change while serving. */

static const char *const known[] = {"db", "key-file", "listen", "config", "threads", "max-body", "web", "tls-cert",
                                    "tls-key", "token-ttl", "smtp-relay", "mail-domain", "lmtp", "mail-max-size",
                                    "mail-retry", "files", "policy-cache", "mail-authserv-id", "mail-trust",
                                    "audit-checkpoint", "max-connections", "max-connections-per-ip", "max-streams",
                                    "header-timeout", "body-timeout", "trust-proxy", "reader", "unattached-max-age",
                                    "log-format", "log-level", "shutdown-timeout", "conf", "webhook-allow",
                                    "webhook-ca", "webhook-retry", "public-url", NULL};
static const char *const flags[] = {"trust-proxy", NULL};

/* The options a running server cannot take over: a reload names each one that changed,
 * and it applies at the next start. Every other option of `known` is applied by reload(). */
static const char *const restart_only[] = {"db", "key-file", "listen", "threads", "max-body", "web", "tls-cert",
                                           "tls-key", "token-ttl", "smtp-relay", "mail-domain", "lmtp",
                                           "mail-max-size", "mail-retry", "files", "mail-authserv-id",
                                           "mail-trust", "audit-checkpoint", "max-connections", "trust-proxy",
                                           "reader", "webhook-allow", "webhook-ca", "webhook-retry",
                                           "public-url"};
#define N_RESTART_ONLY (sizeof restart_only / sizeof restart_only[0])

#define DEFAULT_SHUTDOWN_SECONDS 30.0

typedef struct {
  cli_args a;
  pl_log_format log_format;
  pl_log_level log_level;
  const char *policy_config, *policy_cache; /* NULL: none */
  long long unattached_max_age;             /* seconds */
  long long audit_checkpoint;               /* seconds; -1 never; 0 the service's default */
  double shutdown_timeout;                  /* seconds */
  http_options ho;                          /* the numbers; the rest is filled at start */
  /* the restart-only options as given (NULL: absent; "" for a flag), owned: a reload
   * compares them with the running ones */
  char *fixed[N_RESTART_ONLY];
} serve_conf;

static void conf_free(serve_conf *c) {
  for (size_t i = 0; i < N_RESTART_ONLY; i++) free(c->fixed[i]);
  memset(c->fixed, 0, sizeof c->fixed);
}

/* The option `name` as a number of at least min and at most max (whole when `whole`), or
 * dflt when absent. PL_EINVAL naming the option when it is not one. */
static pl_err num_opt(const cli_args *a, const char *name, double min, double max, bool whole, double dflt,
                      double *out, pl_detail *d) {
  const char *v = cli_get(a, name, NULL);
  *out = dflt;
  if (!v) return PL_OK;
  char *end;
  errno = 0;
  double x = strtod(v, &end);
  if (!*v || *end || errno || !isfinite(x) || x < min || x > max || (whole && x != floor(x)))
    return pl_fail(d, PL_EINVAL, "--%s takes a %snumber from %g to %g, not '%s'", name, whole ? "whole " : "", min,
                   max, v);
  *out = x;
  return PL_OK;
}

/* Reads and checks the options of `serve` from argv into *c (whose strings point into
 * argv, except `fixed`, which conf_free frees). PL_EINVAL with the reason in d, and
 * *show_usage set when the usage should follow it; *help set when --help was asked for.
 * Prints nothing but what cli_parse and cli_known print. */
static pl_err conf_parse(int argc, char **argv, serve_conf *c, bool *help, bool *show_usage, pl_detail *d) {
  memset(c, 0, sizeof *c);
  *help = *show_usage = false;
  cli_args *a = &c->a;
  if (!cli_parse(argc, argv, 1, flags, a))
    return *show_usage = true, pl_fail(d, PL_EINVAL, "the command line is malformed");
  if (cli_has(a, "help")) {
    *help = true;
    return PL_OK;
  }
  if (!cli_known(a, known, "serve")) return *show_usage = true, pl_fail(d, PL_EINVAL, "an option is unknown");
  if (a->npos) return *show_usage = true, pl_fail(d, PL_EINVAL, "serve takes no argument '%s'", a->pos[0]);
  if (!pl_log_format_parse(cli_get(a, "log-format", "logfmt"), &c->log_format))
    return pl_fail(d, PL_EINVAL, "--log-format is logfmt, json or off");
  if (!pl_log_level_parse(cli_get(a, "log-level", "info"), &c->log_level))
    return pl_fail(d, PL_EINVAL, "--log-level is info, warn or error");
  c->policy_config = cli_get(a, "config", NULL);
  c->policy_cache = cli_policy_cache(cli_get(a, "policy-cache", NULL));
  const char *acp = cli_get(a, "audit-checkpoint", NULL);
  if (acp) {
    char *end;
    long long v = strtoll(acp, &end, 10);
    if (!*acp || *end || v < 0)
      return pl_fail(d, PL_EINVAL, "--audit-checkpoint takes a number of seconds (0: never)");
    c->audit_checkpoint = v ? v : -1;
  }
  const char *trust = cli_get(a, "mail-trust", "authenticated");
  if (strcmp(trust, "envelope") && strcmp(trust, "authenticated"))
    return pl_fail(d, PL_EINVAL, "--mail-trust is authenticated or envelope, not %s", trust);
  double age, st, per_ip, streams, ht, bt;
  pl_err e;
  if ((e = num_opt(a, "unattached-max-age", 0, 1e9, true, 0, &age, d)) ||
      (e = num_opt(a, "shutdown-timeout", 0, 86400, false, DEFAULT_SHUTDOWN_SECONDS, &st, d)) ||
      (e = num_opt(a, "max-connections-per-ip", 0, 1e6, true, 0, &per_ip, d)) ||
      (e = num_opt(a, "max-streams", 0, 1e6, true, 0, &streams, d)) ||
      (e = num_opt(a, "header-timeout", 0, 86400, false, 0, &ht, d)) ||
      (e = num_opt(a, "body-timeout", 0, 86400, false, 0, &bt, d)))
    return e;
  c->unattached_max_age = age > 0 ? (long long)age : 86400;
  c->shutdown_timeout = st;
  http_options *ho = &c->ho;
  ho->threads = (unsigned)atoi(cli_get(a, "threads", "0"));
  ho->max_body = (size_t)strtoull(cli_get(a, "max-body", "0"), NULL, 10);
  ho->max_connections = (unsigned)strtoul(cli_get(a, "max-connections", "0"), NULL, 10);
  ho->max_connections_per_ip = (unsigned)per_ip;
  ho->max_streams = (unsigned)streams;
  /* seconds, fractions allowed (tests make the deadlines short) */
  ho->header_timeout_ms = (unsigned)(ht * 1000);
  ho->body_timeout_ms = (unsigned)(bt * 1000);
  /* Undocumented in the usage: shorter SP-API access tokens, so that tests see expiry. */
  ho->spapi_token_ttl = atol(cli_get(a, "token-ttl", "0"));
  ho->trust_proxy = cli_has(a, "trust-proxy");
  for (size_t i = 0; i < N_RESTART_ONLY; i++) {
    const char *v = cli_get(a, restart_only[i], NULL);
    if (!v && cli_has(a, restart_only[i])) v = "";
    c->fixed[i] = v ? pl_xstrdup(v) : NULL;
  }
  return PL_OK;
}

/* How often the main loop wakes without a signal at most: the service manager's watchdog
 * (pl_sd_watchdog) may ask for more often. */
#define SERVE_TICK_SECONDS 5

/* What runs, for a reload and for the stop. */
typedef struct {
  svc *s;
  http_server *h;
  mail_server *ms;
  mail_deliverer *mw;
  http_deliverer *hw; /* webhooks */
  svc_sweeper *sw;
  svc_bulk_worker *bulk;
} serve_parts;

static int sweep_interval(long long max_age) {
  /* It looks a few times within the age, at least once a minute. */
  return max_age < 240 ? (int)(max_age / 4 > 0 ? max_age / 4 : 1) : 60;
}

/* SIGHUP: reads the options again; when all of them are right and the policy compiles,
 * applies those that may change while serving and names those that need a restart, and
 * *curp becomes the new configuration (the old one freed). Otherwise nothing changes.
 * Configurations live on the heap: a cli_args must not be copied (cli_common.h). */
static void reload(int argc, char **argv, serve_conf **curp, serve_parts *p) {
  serve_conf *cur = *curp, *n = pl_xcalloc(1, sizeof *n);
  bool help, usage_err;
  pl_detail d = {0};
  pl_err e = conf_parse(argc, argv, n, &help, &usage_err, &d);
  if (!e && help) e = pl_fail(&d, PL_EINVAL, "--help is not a configuration");
  bool policy_changed = false;
  if (!e) {
    /* The policy is compiled before anything changes: a configuration that does not
     * compile is refused with the rest. */
    policy_changed = strcmp(n->policy_config ? n->policy_config : "", cur->policy_config ? cur->policy_config : "") ||
                     strcmp(n->policy_cache ? n->policy_cache : "", cur->policy_cache ? cur->policy_cache : "");
    pl_detail pd = {0};
    pl_err pe = policy_changed ? svc_policy_reconfigure(p->s, n->policy_config, n->policy_cache, &pd)
                               : svc_policy_reload(p->s, NULL, &pd);
    if (pe) e = pl_fail(&d, pe, "the policy configuration does not compile: %s", pd.msg);
  }
  if (e) {
    fprintf(stderr, "parley: configuration reload refused, the running one stays: %s\n", d.msg);
    conf_free(n);
    free(n);
    return;
  }
  pl_log_setup(n->log_format, n->log_level, STDERR_FILENO);
  http_reconfigure(p->h, &n->ho);
  if (n->unattached_max_age != cur->unattached_max_age)
    svc_sweeper_set(p->sw, n->unattached_max_age, sweep_interval(n->unattached_max_age));
  char later[512] = "";
  size_t k = 0;
  for (size_t i = 0; i < N_RESTART_ONLY; i++) {
    const char *was = cur->fixed[i], *now = n->fixed[i];
    if (!was == !now && (!was || !strcmp(was, now))) continue;
    /* by name only: a value may hold a password (postgres://) */
    int w = snprintf(later + k, sizeof later - k, "%s--%s", k ? ", " : "", restart_only[i]);
    if (w > 0 && (size_t)w < sizeof later - k) k += (size_t)w;
  }
  conf_free(cur);
  free(cur);
  *curp = n;
  fprintf(stderr, "parley: configuration reloaded%s\n", policy_changed ? " (a new policy configuration)" : "");
  if (k) fprintf(stderr, "parley: changed, takes effect at the next start: %s\n", later);
}

/* ---- the stop ----------------------------------------------------------------------------
 * The main thread drains (serve_stop); a guard thread bounds it: when --shutdown-timeout
 * passes, or a second SIGTERM or SIGINT arrives, it writes the drain's last line and ends
 * the process at once. */

typedef struct {
  sigset_t sigs;
  struct timespec deadline; /* CLOCK_MONOTONIC */
  double started;
  serve_parts *p; /* its http and mail servers are freed only after the guard ended */
  atomic_bool done;
  pthread_t th;
} stop_guard;

static double mono_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The drain's last line when it is cut short; the process ends after it. */
static void drain_cut(stop_guard *g, const char *reason, int status) {
  pl_log_line l;
  pl_log_begin(&l, PL_LOG_WARN, "drain_end");
  pl_log_str(&l, "end", reason);
  pl_log_ms(&l, "duration_ms", (mono_now() - g->started) * 1000.0);
  if (g->p->h) {
    http_counts hc;
    http_counts_get(g->p->h, &hc);
    pl_log_int(&l, "cut_connections", hc.connections);
    pl_log_int(&l, "cut_requests", hc.requests);
  }
  pl_log_int(&l, "cut_mail_sessions", mail_sessions(g->p->ms));
  pl_log_int(&l, "exit", status);
  if (pl_log_enabled(PL_LOG_WARN)) pl_log_write(&l);
  fprintf(stderr, "parley: stop %s; exiting now\n",
          !strcmp(reason, "timeout") ? "past --shutdown-timeout" : "forced by a second signal");
  _exit(status);
}

static void *guard_main(void *arg) {
  stop_guard *g = arg;
  for (;;) {
    struct timespec now, left;
    clock_gettime(CLOCK_MONOTONIC, &now);
    left.tv_sec = g->deadline.tv_sec - now.tv_sec;
    left.tv_nsec = g->deadline.tv_nsec - now.tv_nsec;
    if (left.tv_nsec < 0) left.tv_sec--, left.tv_nsec += 1000000000L;
    if (atomic_load(&g->done)) return NULL;
    if (left.tv_sec < 0) drain_cut(g, "timeout", 0);
    int sig = sigtimedwait(&g->sigs, NULL, &left);
    if (atomic_load(&g->done)) return NULL; /* woken by the main thread (SIGHUP) */
    if (sig == SIGTERM || sig == SIGINT) drain_cut(g, "second_signal", 1);
    /* SIGHUP from outside while stopping, EINTR, EAGAIN: look again */
  }
}

/* Stops everything: gracefully within timeout seconds (stop_guard), then frees. */
static void serve_stop(serve_parts *p, int sig, double timeout, const sigset_t *sigs) {
  stop_guard g = {.sigs = *sigs, .p = p, .started = mono_now()};
  clock_gettime(CLOCK_MONOTONIC, &g.deadline);
  g.deadline.tv_sec += (time_t)timeout;
  g.deadline.tv_nsec += (long)((timeout - floor(timeout)) * 1e9);
  if (g.deadline.tv_nsec >= 1000000000L) g.deadline.tv_sec++, g.deadline.tv_nsec -= 1000000000L;
  http_counts hc;
  http_counts_get(p->h, &hc);
  int sessions = mail_sessions(p->ms);
  bool guarded = pthread_create(&g.th, NULL, guard_main, &g) == 0;
  /* Everything is told first, then waited for: the parts drain side by side. The first
   * line follows the telling: once it is written, no connection is taken. */
  http_drain(p->h);
  mail_drain(p->ms);
  mail_deliver_drain(p->mw);
  if (pl_log_enabled(PL_LOG_INFO)) {
    pl_log_line l;
    pl_log_begin(&l, PL_LOG_INFO, "drain_start");
    pl_log_str(&l, "signal", sig == SIGINT ? "SIGINT" : "SIGTERM");
    pl_log_ms(&l, "timeout_ms", timeout * 1000.0);
    pl_log_int(&l, "connections", hc.connections);
    pl_log_int(&l, "requests", hc.requests);
    pl_log_int(&l, "streams", hc.streams);
    pl_log_int(&l, "mail_sessions", sessions);
    pl_log_write(&l);
  }
  svc_sweeper_stop(p->sw);
  p->sw = NULL;
  mail_wait(p->ms); /* sessions in DATA finish; the others were told 421 */
  size_t released = mail_deliver_stop(p->mw); /* the mail being sent is finished and recorded */
  p->mw = NULL;
  http_deliver_stop(p->hw); /* the webhook being posted is finished and recorded */
  p->hw = NULL;
  http_drain_wait(p->h);
  atomic_store(&g.done, true);
  if (guarded) {
    pthread_kill(g.th, SIGHUP);
    pthread_join(g.th, NULL);
  }
  if (pl_log_enabled(PL_LOG_INFO)) {
    pl_log_line l;
    pl_log_begin(&l, PL_LOG_INFO, "drain_end");
    pl_log_str(&l, "end", "complete");
    pl_log_ms(&l, "duration_ms", (mono_now() - g.started) * 1000.0);
    pl_log_int(&l, "requests", hc.requests);
    pl_log_int(&l, "streams_closed", hc.streams);
    pl_log_int(&l, "outbox_released", (long long)released);
    pl_log_int(&l, "exit", 0);
    pl_log_write(&l);
  }
  mail_stop(p->ms);
  p->ms = NULL;
  http_stop(p->h);
  p->h = NULL;
}

int cmd_serve(int argc, char **argv) {
  /* The signals are taken by sigtimedwait in the main loop (and the stop's guard), never
   * by a handler: blocked here, before any thread starts, so that every thread inherits
   * the mask. parley-reader starts with an empty mask (extract_spawn.c). */
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &sigs, NULL);
  signal(SIGPIPE, SIG_IGN);

  serve_conf *conf = pl_xcalloc(1, sizeof *conf); /* on the heap: a reload swaps it */
  bool help, usage_err;
  pl_detail pd = {0};
  if (conf_parse(argc, argv, conf, &help, &usage_err, &pd) || help) {
    int rc = help ? 0 : 2;
    if (help) fputs(usage, stdout);
    else if (usage_err) fputs(usage, stderr);
    else fprintf(stderr, "parley serve: %s\n", pd.msg);
    conf_free(conf);
    free(conf);
    return rc;
  }
  cli_args *a = &conf->a;
  pl_log_setup(conf->log_format, conf->log_level, STDERR_FILENO);
  svc_options so = {.policy_config = conf->policy_config, .policy_cache = conf->policy_cache,
                    .audit_checkpoint_seconds = conf->audit_checkpoint};
  /* Attachments live beside a SQLite database; a PostgreSQL store has no file beside
   * it, so they go to ./parley-files unless --files says where (shared storage when
   * several nodes serve one database). */
  char files[4096];
  so.files_dir = cli_get(a, "files", cli_files_dir(cli_get(a, "db", "parley.db"), files, sizeof files));
  so.reader_path = cli_get(a, "reader", NULL);
  so.webhook_allow = cli_get(a, "webhook-allow", NULL);
  char public_url[600];
  const char *pu = cli_get(a, "public-url", NULL);
  if (!pu) {
    /* where the server listens, a wildcard address named by this machine's name (set
     * --public-url behind a proxy or a load balancer) */
    const char *listen = cli_get(a, "listen", "127.0.0.1:8080"), *port = strrchr(listen, ':');
    char host[256] = "";
    if (port && (!strncmp(listen, "0.0.0.0:", 8) || !strncmp(listen, "[::]:", 5) || port == listen) &&
        !gethostname(host, sizeof host - 1) && *host)
      snprintf(public_url, sizeof public_url, "%s://%s%s", cli_get(a, "tls-cert", NULL) ? "https" : "http", host, port);
    else
      snprintf(public_url, sizeof public_url, "%s://%s", cli_get(a, "tls-cert", NULL) ? "https" : "http", listen);
    pu = public_url;
  }
  so.public_url = pu;
  svc *s = cli_open(a, &so);
  if (!s) {
    conf_free(conf);
    free(conf);
    return 1;
  }
  serve_parts parts = {.s = s};
  int rc = 1;
  char *pem[2] = {NULL, NULL};
  if (svc_events_share(s, &pd)) {
    fprintf(stderr, "parley serve: %s\n", pd.msg);
    goto out;
  }
  if (svc_policy_prepare(s, &pd)) {
    fprintf(stderr, "parley serve: the policy configuration does not compile: %s\n", pd.msg);
    goto out;
  }
  svc_cluster_tick(s); /* records the nodes' policy generation */
  /* Buyer messages written before the seller's search index existed are indexed masked
   * before the first request; a seller does not find them until then. */
  size_t indexed = 0;
  if (svc_seller_index_backfill(s, &indexed, &pd))
    fprintf(stderr, "parley serve: the seller's search index could not be filled: %s\n", pd.msg);
  else if (indexed)
    fprintf(stderr, "parley serve: %zu buyer messages indexed for the seller's search\n", indexed);
  http_options ho = conf->ho;
  ho.listen = cli_get(a, "listen", "127.0.0.1:8080");
  char webbuf[4096];
  const char *web = cli_get(a, "web", cli_web_dir(webbuf, sizeof webbuf));
  struct stat st;
  ho.web_root = stat(web, &st) == 0 && S_ISDIR(st.st_mode) ? web : NULL;
  const char *pem_opt[2] = {"tls-cert", "tls-key"};
  for (int i = 0; i < 2; i++) {
    const char *path = cli_get(a, pem_opt[i], NULL);
    if (!path) continue;
    FILE *f = fopen(path, "rb");
    size_t n = 0, cap = 0;
    if (f) {
      for (size_t got = 1; got && cap < (1u << 20);) {
        pem[i] = pl_xrealloc(pem[i], (cap = cap ? cap * 2 : 8192) + 1);
        n += (got = fread(pem[i] + n, 1, cap - n, f));
      }
      fclose(f);
    }
    if (!f || !n) {
      fprintf(stderr, "parley serve: cannot read --%s %s\n", pem_opt[i], path);
      goto out;
    }
    pem[i][n] = '\0';
  }
  ho.tls_cert_pem = pem[0];
  ho.tls_key_pem = pem[1];

#ifdef PARLEY_FAULT_INJECTION
  /* Tests only (util/pl_mem.h): fallible allocations of at least this many bytes fail. */
  const char *ff = getenv("PARLEY_TEST_ALLOC_FAIL_FROM");
  if (ff && *ff) pl_mem_fail_from((size_t)strtoull(ff, NULL, 10));
#endif
  pl_detail d = {0};
  if (http_start(s, &ho, &parts.h, &d)) {
    fprintf(stderr, "parley serve: %s\n", d.msg);
    goto out;
  }
  /* E-mail: the outbox's delivery worker always runs (mail waits in the outbox while the
   * relay is away); the LMTP listener only when asked for. */
  const char *relay = cli_get(a, "smtp-relay", "smtp://127.0.0.1:25");
  mail_deliver_options mo = {.smtp_relay = strcmp(relay, "off") ? relay : NULL,
                             .helo = cli_get(a, "mail-domain", "localhost"),
                             .svc = {.retry_base = atoi(cli_get(a, "mail-retry", "0"))}};
  const char *lmtp = cli_get(a, "lmtp", NULL);
  mail_options lo = {.listen = lmtp, .hostname = mo.helo,
                     .max_size = (size_t)strtoull(cli_get(a, "mail-max-size", "0"), NULL, 10),
                     .authserv_id = cli_get(a, "mail-authserv-id", NULL)};
  lo.trust_envelope = !strcmp(cli_get(a, "mail-trust", "authenticated"), "envelope");
  pl_err te = PL_OK;
  if (lmtp && !lo.trust_envelope && (!lo.authserv_id || !*lo.authserv_id))
    te = pl_fail(&d, PL_EINVAL, "--lmtp needs --mail-authserv-id NAME, the authserv-id of the DKIM/DMARC "
                                "verifier in front of parley (or --mail-trust envelope on a closed network)");
  if (lmtp && lo.trust_envelope && !te)
    fprintf(stderr, "parley: WARNING: --mail-trust envelope: mail is taken as its envelope sender's, which "
                    "anyone can forge. Use it only where nobody outside can reach the MTA.\n");
  http_deliver_options wo = {.allow = so.webhook_allow, .ca_file = cli_get(a, "webhook-ca", NULL),
                             .retry_base = atoi(cli_get(a, "webhook-retry", "0"))};
  if (te || mail_deliver_start(s, &mo, &parts.mw, &d) || (lmtp && mail_start(s, &lo, &parts.ms, &d)) ||
      http_deliver_start(s, &wo, &parts.hw, &d)) {
    fprintf(stderr, "parley serve: %s\n", d.msg);
    goto out;
  }
  /* The periodic clean-up: uploads no message took, expired idempotency keys. */
  if (svc_sweeper_start(s, conf->unattached_max_age, sweep_interval(conf->unattached_max_age), &parts.sw, &d))
    fprintf(stderr, "parley serve: %s\n", d.msg);
  if (svc_bulk_worker_start(s, &parts.bulk, &d)) fprintf(stderr, "parley serve: %s\n", d.msg);
  if (parts.ms)
    printf("parley: taking mail over LMTP/SMTP on %.*s:%u (%s%s)\n", (int)(strrchr(lmtp, ':') - lmtp), lmtp,
           mail_port(parts.ms), lo.trust_envelope ? "believing envelope senders" : "trusting the results of ",
           lo.trust_envelope ? "" : lo.authserv_id);
  char host[128];
  snprintf(host, sizeof host, "%s", ho.listen);
  char *colon = strrchr(host, ':');
  if (colon) *colon = '\0';
  printf("parley: listening on %s://%s:%u (store %s)\n", pem[0] ? "https" : "http", host, http_port(parts.h),
         cli_get(a, "db", "parley.db"));
  fflush(stdout);
  /* systemd (Type=notify): ready now that the listeners are up; the watchdog is fed by
   * the loop below; told when stopping. No-ops without NOTIFY_SOCKET (util/pl_sd.h). */
  if (pl_sd_ready("serving", &d)) fprintf(stderr, "parley serve: %s\n", d.msg);
  int sig;
  for (;;) {
    /* WATCHDOG=1 now, and again within half the service manager's interval */
    uint64_t half = pl_sd_watchdog();
    uint64_t usec = half && half < SERVE_TICK_SECONDS * 1000000ull ? half : SERVE_TICK_SECONDS * 1000000ull;
    struct timespec tick = {(time_t)(usec / 1000000), (long)(usec % 1000000) * 1000};
    sig = sigtimedwait(&sigs, NULL, &tick);
    if (sig == SIGHUP) reload(argc, argv, &conf, &parts);
    else if (sig == SIGTERM || sig == SIGINT) break;
    /* else the tick (EAGAIN) or EINTR */
  }
  pl_sd_stopping(NULL);
  serve_stop(&parts, sig, conf->shutdown_timeout, &sigs);
  printf("parley: stopped\n");
  rc = 0;
out:
  svc_bulk_worker_stop(parts.bulk);
  svc_sweeper_stop(parts.sw);
  mail_stop(parts.ms);
  mail_deliver_stop(parts.mw);
  http_deliver_stop(parts.hw);
  http_stop(parts.h);
  free(pem[0]);
  free(pem[1]);
  svc_free(s);
  conf_free(conf);
  free(conf);
  return rc;
}
