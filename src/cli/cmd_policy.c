/* cmd_policy.c - `parley policy train`: retrains a marketplace's classifier from the operator's review decisions. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cli_common.h"

static const char usage[] =
    "usage: parley policy train [--db PATH] [--key-file PATH] [--marketplace ID] [--json]\n"
    "                           [--policy-cache DIR]\n\n"
    "Retrains the content policy's classifier for a marketplace (docs/policy.md, \"Learning\n"
    "from the operator\"): from the shipped training data (less its held-out fifth) and the\n"
    "operator's approve/reject decisions on that marketplace's held messages, each counting\n"
    "five times (the marketplace's setting learn_decision_weight; 0: none), and stores the\n"
    "model in the database for that marketplace only. Running servers on the database load\n"
    "it without a restart, at their next tick (within 15 seconds) or at once on SIGHUP.\n"
    "Only holds for off-platform contact, review requests, promotions and profanity teach\n"
    "the model; links, contact details, personal data and the [Important] tag stay with\n"
    "the rules.\n\n"
    "  --marketplace ID   the marketplace to train (default: every one with decisions)\n"
    "  --json             one JSON line a marketplace: {\"marketplace\", \"version\",\n"
    "                     \"decisions\", \"violations\", \"trained_at\"}\n"
    "  --policy-cache DIR compiled rule databases (default: $PARLEY_POLICY_CACHE)\n\n"
    "Exit status: 0 when every model was stored, 1 when one was not, 2 on usage errors.\n";

int cmd_policy(int argc, char **argv) {
  static const char *const flags[] = {"json", NULL};
  static const char *const known[] = {"db", "key-file", "marketplace", "json", "policy-cache", NULL};
  cli_args a;
  if (!cli_parse(argc, argv, 1, flags, &a)) return 2;
  if (cli_has(&a, "help")) {
    fputs(usage, stdout);
    return 0;
  }
  if (!cli_known(&a, known, "policy") || a.npos != 1 || strcmp(a.pos[0], "train")) {
    fputs(usage, stderr);
    return 2;
  }
  svc_options o = {.policy_cache = cli_policy_cache(cli_get(&a, "policy-cache", NULL))};
  svc *s = cli_open(&a, &o);
  if (!s) return 1;
  pl_arena *ar = pl_arena_new();
  pl_detail d = {0};
  const char *one = cli_get(&a, "marketplace", NULL);
  char **mps = (char **)&one;
  size_t n = 1;
  int rc = 0;
  if (!one && svc_policy_learners(s, ar, &mps, &n, &d)) {
    fprintf(stderr, "parley policy train: %s\n", d.msg);
    rc = 1;
    n = 0;
  } else if (!one && !n && !cli_has(&a, "json")) {
    printf("no marketplace has decisions to learn from yet\n");
  }
  for (size_t k = 0; k < n; k++) {
    svc_policy_trained t;
    if (svc_policy_train(s, NULL, mps[k], &t, &d)) {
      fprintf(stderr, "parley policy train: %s: %s\n", mps[k], d.msg[0] ? d.msg : "failed");
      rc = 1;
      continue;
    }
    char at[32];
    pl_time_format(t.trained_at, at);
    if (cli_has(&a, "json")) {
      json_t *j = json_pack("{s:s,s:s,s:I,s:I,s:s}", "marketplace", mps[k], "version", t.version, "decisions",
                            (json_int_t)t.decisions, "violations", (json_int_t)t.violations, "trained_at", at);
      json_dumpf(j, stdout, JSON_COMPACT);
      putchar('\n');
      json_decref(j);
    } else {
      printf("marketplace %s: model %s from %zu decision%s (%zu rejected, %zu approved)\n", mps[k], t.version,
             t.decisions, t.decisions == 1 ? "" : "s", t.violations, t.decisions - t.violations);
    }
  }
  pl_arena_free(ar);
  svc_free(s);
  return rc;
}
