/* cmd_serve.c - `parley serve`: the HTTP API and the web message center. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/cli_common.h"
#include "http/http.h"
#include "mail/mail.h"
#include "service/svc_mail.h"
#include "util/pl_log.h"
#include "util/pl_sd.h"

static volatile sig_atomic_t stop_requested, reload_requested;

static void on_signal(int sig) {
  if (sig == SIGHUP) reload_requested = 1;
  else stop_requested = 1;
}

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
    "  --audit-checkpoint S  sign a checkpoint over every audit chain's head every S seconds\n"
    "                     (default 3600; 0 never; `parley audit verify` checks them)\n"
    "  --unattached-max-age SECONDS\n"
    "                     remove uploads no message took after this long (default 86400)\n"
    "  --log-format FMT   one line a request and a mail transaction on standard error:\n"
    "                     logfmt (default), json (one object a line) or off\n"
    "  --log-level LEVEL  the least level written: info (default; every request), warn\n"
    "                     (5xx answers, mail deferred by a fault of parley's) or error\n\n"
    "Also serves the SP-API-compatible Messaging, Solicitations and Uploads operations and\n"
    "the token endpoint /auth/o2/token (docs/spapi.md).\n\n"
    "SIGHUP reloads the policy configuration; SIGINT or SIGTERM stop the server.\n";

int cmd_serve(int argc, char **argv) {
  cli_args a;
  static const char *const known[] = {"db", "key-file", "listen", "config", "threads",
                                      "max-body", "web", "tls-cert", "tls-key", "token-ttl",
                                      "smtp-relay", "mail-domain", "lmtp", "mail-max-size",
                                      "mail-retry", "files", "policy-cache", "mail-authserv-id",
                                      "mail-trust", "audit-checkpoint", "max-connections",
                                      "max-connections-per-ip", "max-streams", "header-timeout",
                                      "body-timeout", "trust-proxy", "reader", "unattached-max-age", "log-format",
                                      "log-level", "conf", NULL};
  static const char *const flags[] = {"trust-proxy", NULL};
  if (!cli_parse(argc, argv, 1, flags, &a)) return 2;
  if (cli_has(&a, "help")) {
    fputs(usage, stdout);
    return 0;
  }
  if (!cli_known(&a, known, "serve") || a.npos) {
    fputs(usage, stderr);
    return 2;
  }
  pl_log_format lf;
  pl_log_level ll;
  if (!pl_log_format_parse(cli_get(&a, "log-format", "logfmt"), &lf)) {
    fprintf(stderr, "parley serve: --log-format is logfmt, json or off\n");
    return 2;
  }
  if (!pl_log_level_parse(cli_get(&a, "log-level", "info"), &ll)) {
    fprintf(stderr, "parley serve: --log-level is info, warn or error\n");
    return 2;
  }
  pl_log_setup(lf, ll, STDERR_FILENO);
  svc_options so = {.policy_config = cli_get(&a, "config", NULL),
                    .policy_cache = cli_policy_cache(cli_get(&a, "policy-cache", NULL))};
  /* Attachments live beside a SQLite database; a PostgreSQL store has no file beside
   * it, so they go to ./parley-files unless --files says where (shared storage when
   * several nodes serve one database). */
  char files[4096];
  so.files_dir = cli_get(&a, "files", cli_files_dir(cli_get(&a, "db", "parley.db"), files, sizeof files));
  so.reader_path = cli_get(&a, "reader", NULL);
  const char *acp = cli_get(&a, "audit-checkpoint", NULL);
  if (acp) {
    char *end;
    long long v = strtoll(acp, &end, 10);
    if (*end || v < 0) {
      fprintf(stderr, "parley serve: --audit-checkpoint takes a number of seconds (0: never)\n");
      return 2;
    }
    so.audit_checkpoint_seconds = v ? v : -1;
  }
  svc *s = cli_open(&a, &so);
  if (!s) return 1;
  pl_detail pd = {0};
  if (svc_events_share(s, &pd)) {
    fprintf(stderr, "parley serve: %s\n", pd.msg);
    svc_free(s);
    return 1;
  }
  if (svc_policy_prepare(s, &pd)) {
    fprintf(stderr, "parley serve: the policy configuration does not compile: %s\n", pd.msg);
    svc_free(s);
    return 1;
  }
  svc_cluster_tick(s); /* records the nodes' policy generation */
  /* Buyer messages written before the seller's search index existed are indexed masked
   * before the first request; a seller does not find them until then. */
  size_t indexed = 0;
  if (svc_seller_index_backfill(s, &indexed, &pd))
    fprintf(stderr, "parley serve: the seller's search index could not be filled: %s\n", pd.msg);
  else if (indexed)
    fprintf(stderr, "parley serve: %zu buyer messages indexed for the seller's search\n", indexed);
  http_options ho = {.listen = cli_get(&a, "listen", "127.0.0.1:8080")};
  ho.threads = (unsigned)atoi(cli_get(&a, "threads", "0"));
  ho.max_body = (size_t)strtoull(cli_get(&a, "max-body", "0"), NULL, 10);
  ho.max_connections = (unsigned)strtoul(cli_get(&a, "max-connections", "0"), NULL, 10);
  ho.max_connections_per_ip = (unsigned)strtoul(cli_get(&a, "max-connections-per-ip", "0"), NULL, 10);
  ho.max_streams = (unsigned)strtoul(cli_get(&a, "max-streams", "0"), NULL, 10);
  /* seconds, fractions allowed (tests make the deadlines short) */
  ho.header_timeout_ms = (unsigned)(strtod(cli_get(&a, "header-timeout", "0"), NULL) * 1000);
  ho.body_timeout_ms = (unsigned)(strtod(cli_get(&a, "body-timeout", "0"), NULL) * 1000);
  char webbuf[4096];
  const char *web = cli_get(&a, "web", cli_web_dir(webbuf, sizeof webbuf));
  struct stat st;
  ho.web_root = stat(web, &st) == 0 && S_ISDIR(st.st_mode) ? web : NULL;
  /* Undocumented in the usage: shorter SP-API access tokens, so that tests see expiry. */
  ho.spapi_token_ttl = atol(cli_get(&a, "token-ttl", "0"));
  ho.trust_proxy = cli_has(&a, "trust-proxy");
  char *pem[2] = {NULL, NULL};
  const char *pem_opt[2] = {"tls-cert", "tls-key"};
  for (int i = 0; i < 2; i++) {
    const char *path = cli_get(&a, pem_opt[i], NULL);
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
      free(pem[0]);
      free(pem[1]);
      svc_free(s);
      return 1;
    }
    pem[i][n] = '\0';
  }
  ho.tls_cert_pem = pem[0];
  ho.tls_key_pem = pem[1];

  struct sigaction sa = {.sa_handler = on_signal};
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGHUP, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);

#ifdef PARLEY_FAULT_INJECTION
  /* Tests only (util/pl_mem.h): fallible allocations of at least this many bytes fail. */
  const char *ff = getenv("PARLEY_TEST_ALLOC_FAIL_FROM");
  if (ff && *ff) pl_mem_fail_from((size_t)strtoull(ff, NULL, 10));
#endif
  http_server *h;
  pl_detail d = {0};
  if (http_start(s, &ho, &h, &d)) {
    fprintf(stderr, "parley serve: %s\n", d.msg);
    free(pem[0]);
    free(pem[1]);
    svc_free(s);
    return 1;
  }
  /* E-mail: the outbox's delivery worker always runs (mail waits in the outbox while the
   * relay is away); the LMTP listener only when asked for. */
  const char *relay = cli_get(&a, "smtp-relay", "smtp://127.0.0.1:25");
  mail_deliver_options mo = {.smtp_relay = strcmp(relay, "off") ? relay : NULL,
                             .helo = cli_get(&a, "mail-domain", "localhost"),
                             .svc = {.retry_base = atoi(cli_get(&a, "mail-retry", "0"))}};
  mail_deliverer *mw = NULL;
  mail_server *ms = NULL;
  const char *lmtp = cli_get(&a, "lmtp", NULL);
  mail_options lo = {.listen = lmtp, .hostname = mo.helo,
                     .max_size = (size_t)strtoull(cli_get(&a, "mail-max-size", "0"), NULL, 10),
                     .authserv_id = cli_get(&a, "mail-authserv-id", NULL)};
  const char *trust = cli_get(&a, "mail-trust", "authenticated");
  lo.trust_envelope = !strcmp(trust, "envelope");
  pl_err te = PL_OK;
  if (!lo.trust_envelope && strcmp(trust, "authenticated"))
    te = pl_fail(&d, PL_EINVAL, "--mail-trust is authenticated or envelope, not %s", trust);
  else if (lmtp && !lo.trust_envelope && (!lo.authserv_id || !*lo.authserv_id))
    te = pl_fail(&d, PL_EINVAL, "--lmtp needs --mail-authserv-id NAME, the authserv-id of the DKIM/DMARC "
                                "verifier in front of parley (or --mail-trust envelope on a closed network)");
  if (lmtp && lo.trust_envelope && !te)
    fprintf(stderr, "parley: WARNING: --mail-trust envelope: mail is taken as its envelope sender's, which "
                    "anyone can forge. Use it only where nobody outside can reach the MTA.\n");
  if (te || mail_deliver_start(s, &mo, &mw, &d) || (lmtp && mail_start(s, &lo, &ms, &d))) {
    fprintf(stderr, "parley serve: %s\n", d.msg);
    mail_deliver_stop(mw);
    http_stop(h);
    free(pem[0]);
    free(pem[1]);
    svc_free(s);
    return 1;
  }
  /* The periodic clean-up: uploads no message took, expired idempotency keys. It looks
   * a few times within the age, at least once a minute. */
  long long max_age = atoll(cli_get(&a, "unattached-max-age", "86400"));
  if (max_age <= 0) max_age = 86400;
  svc_sweeper *sw = NULL;
  if (svc_sweeper_start(s, max_age, max_age < 240 ? (int)(max_age / 4 > 0 ? max_age / 4 : 1) : 60, &sw, &d))
    fprintf(stderr, "parley serve: %s\n", d.msg);
  if (ms)
    printf("parley: taking mail over LMTP/SMTP on %.*s:%u (%s%s)\n", (int)(strrchr(lmtp, ':') - lmtp), lmtp,
           mail_port(ms), lo.trust_envelope ? "believing envelope senders" : "trusting the results of ",
           lo.trust_envelope ? "" : lo.authserv_id);
  char host[128];
  snprintf(host, sizeof host, "%s", ho.listen);
  char *colon = strrchr(host, ':');
  if (colon) *colon = '\0';
  printf("parley: listening on %s://%s:%u (store %s)\n", pem[0] ? "https" : "http", host, http_port(h),
         cli_get(&a, "db", "parley.db"));
  fflush(stdout);
  /* systemd (Type=notify): ready now that the listeners are up; fed the watchdog by the
   * loop below; told when stopping. No-ops without NOTIFY_SOCKET (util/pl_sd.h). */
  if (pl_sd_ready("serving", &d)) fprintf(stderr, "parley serve: %s\n", d.msg);
  while (!stop_requested) {
    pl_sd_wait();
    if (reload_requested) {
      reload_requested = 0;
      pl_detail rd = {0};
      if (svc_policy_reload(s, NULL, &rd)) fprintf(stderr, "parley: policy reload failed, keeping the old one: %s\n", rd.msg);
      else fprintf(stderr, "parley: policy configuration reloaded\n");
    }
  }
  pl_sd_stopping(NULL);
  svc_sweeper_stop(sw);
  mail_stop(ms);
  mail_deliver_stop(mw);
  http_stop(h);
  free(pem[0]);
  free(pem[1]);
  svc_free(s);
  printf("parley: stopped\n");
  return 0;
}
