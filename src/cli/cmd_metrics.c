/* cmd_metrics.c - `parley metrics`: a seller's response metrics (the 24-hour clock). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cli_common.h"

static const char usage[] =
    "usage: parley metrics [--db PATH] [--key-file PATH] --seller ID [--at ISO8601]\n"
    "                      [--window 7d|30d|90d] [--json] [--verify]\n\n"
    "Contact Response Time and the other response figures of a seller for the window ending\n"
    "at --at (default: now), as docs/metrics.md defines them. --json prints the JSON object\n"
    "(null where there is no value). --verify also recomputes from the raw events and fails\n"
    "(exit status 1) when the hourly aggregates disagree.\n";

/* "30d", "12h", "3600s" or plain seconds. */
static int64_t parse_window(const char *w) {
  char *end;
  long long v = strtoll(w, &end, 10);
  if (v <= 0) return -1;
  if (!*end || !strcmp(end, "s")) return v;
  if (!strcmp(end, "h")) return v * 3600;
  if (!strcmp(end, "d")) return v * 86400;
  return -1;
}

int cmd_metrics(int argc, char **argv) {
  static const char *const flags[] = {"json", "verify", NULL};
  static const char *const known[] = {"db", "key-file", "seller", "at", "window", "json", "verify", NULL};
  cli_args a;
  if (!cli_parse(argc, argv, 1, flags, &a)) return 2;
  if (cli_has(&a, "help")) {
    fputs(usage, stdout);
    return 0;
  }
  const char *seller = cli_get(&a, "seller", NULL);
  if (!cli_known(&a, known, "metrics") || a.npos || !seller) {
    fputs(usage, stderr);
    return 2;
  }
  int64_t window = parse_window(cli_get(&a, "window", "30d"));
  if (window <= 0) {
    fprintf(stderr, "parley metrics: --window must look like 7d, 30d, 90d, 12h or 3600s\n");
    return 2;
  }
  pl_time at = 0;
  const char *at_s = cli_get(&a, "at", NULL);
  if (at_s && !pl_time_parse(at_s, &at)) {
    fprintf(stderr, "parley metrics: --at must be an ISO 8601 time such as 2026-10-05T09:00:00Z\n");
    return 2;
  }
  svc *s = cli_open(&a, NULL);
  if (!s) return 1;
  svc_caller op = {.kind = ST_PRINCIPAL_OPERATOR, .name = "operator:cli"};
  pl_arena *ar = pl_arena_new();
  sla_metrics m;
  pl_detail d = {0};
  pl_err e = svc_metrics(s, &op, seller, at, window, cli_has(&a, "verify"), ar, &m, &d);
  int rc = 0;
  if (e) {
    fprintf(stderr, "parley metrics: %s\n", d.msg[0] ? d.msg : pl_strerror(e));
    rc = 1;
  } else if (cli_has(&a, "json")) {
    json_t *j = sla_metrics_to_json(&m, seller);
    json_dumpf(j, stdout, JSON_COMPACT);
    putchar('\n');
    json_decref(j);
  } else {
    char win[24], ts[32];
    printf("seller %s, %s window ending %s\n", seller, sla_window_label(window, win), pl_time_format(m.at, ts));
    if (m.crt_percent.has_value) printf("  CRT           %.1f%% (%s)\n", m.crt_percent.value, sla_status_name(m.status));
    else printf("  CRT           no data\n");
    printf("  on time %lld, late %lld, pending %lld, flagged %lld (of %lld received)\n",
           (long long)m.on_time, (long long)m.late, (long long)m.pending, (long long)m.flagged,
           (long long)m.received);
    if (m.avg_s.has_value)
      printf("  response time mean %.0f s, median %.0f s, p90 %lld s\n", m.avg_s.value, m.median_s.value,
             (long long)m.p90_s.value);
    printf("  due within the alert window: %lld; overdue: %lld\n", (long long)m.due_soon_count,
           (long long)m.overdue_count);
    if (cli_has(&a, "verify")) printf("  verified against the raw events\n");
  }
  pl_arena_free(ar);
  svc_free(s);
  return rc;
}
