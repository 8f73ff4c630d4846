/* cmd_export.c - `parley export`: a thread as JSON evidence for a dispute. */
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "cli/cli_common.h"

static const char usage[] =
    "usage: parley export [--db PATH] [--key-file PATH] --thread THREAD [--out FILE]\n\n"
    "Writes the thread (its id as the API shows it, e.g. T7kq2m0x9d4cz) as evidence: its order, every message with its policy verdict and\n"
    "delivery status, every event, and the audit chain (as the operator sees it).\n";

int cmd_export(int argc, char **argv) {
  static const char *const known[] = {"db", "key-file", "thread", "out", NULL};
  cli_args a;
  if (!cli_parse(argc, argv, 1, NULL, &a)) return 2;
  if (cli_has(&a, "help")) {
    fputs(usage, stdout);
    return 0;
  }
  if (!cli_known(&a, known, "export") || a.npos || !*cli_get(&a, "thread", "")) {
    fputs(usage, stderr);
    return 2;
  }
  svc *s = cli_open(&a, NULL); /* the key the thread's id is written under comes with it */
  if (!s) return 1;
  int64_t id;
  if (!svc_parse_ref(cli_get(&a, "thread", ""), 'T', &id)) {
    fprintf(stderr, "parley export: '%s' is not a thread id (as the API shows it)\n", cli_get(&a, "thread", ""));
    svc_free(s);
    return 2;
  }
  svc_caller op = {.kind = ST_PRINCIPAL_OPERATOR, .name = "operator:cli"};
  pl_arena *ar = pl_arena_new();
  json_t *j;
  pl_detail d = {0};
  pl_err e = svc_thread_export(s, &op, id, ar, &j, &d);
  int rc = 0;
  if (e) {
    fprintf(stderr, "parley export: %s\n", d.msg[0] ? d.msg : pl_strerror(e));
    rc = 1;
  } else {
    const char *out = cli_get(&a, "out", NULL);
    if (out ? json_dump_file(j, out, JSON_INDENT(2) | JSON_SORT_KEYS)
            : json_dumpf(j, stdout, JSON_INDENT(2) | JSON_SORT_KEYS)) {
      fprintf(stderr, "parley export: cannot write %s\n", out ? out : "standard output");
      rc = 1;
    }
    if (!out) putchar('\n');
    json_decref(j);
  }
  pl_arena_free(ar);
  svc_free(s);
  return rc;
}
