/* cmd_audit.c - `parley audit`: verify the audit log's chains and checkpoints, or sign one. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cli_common.h"

static const char usage[] =
    "usage: parley audit verify [--db PATH] [--key-file PATH] [--json]\n"
    "       parley audit checkpoint [--db PATH] [--key-file PATH] [--force]\n\n"
    "The audit log is one hash chain per seller, and signed checkpoints over the heads of\n"
    "every chain (docs/scaling.md). verify walks every chain (each entry's link and hash,\n"
    "each chain's head) and every checkpoint (its Ed25519 signature, its Merkle root, and that\n"
    "each head it signed is still in its chain); it prints the checkpoints' public key and\n"
    "exits 1 at the first sign of tampering. checkpoint signs one now (unless nothing was\n"
    "appended since the last one; --force signs anyway); `parley serve` signs one an hour.\n";

int cmd_audit(int argc, char **argv) {
  static const char *const flags[] = {"json", "force", NULL};
  static const char *const known[] = {"db", "key-file", "json", "force", NULL};
  cli_args a;
  if (!cli_parse(argc, argv, 1, flags, &a)) return 2;
  if (cli_has(&a, "help")) {
    fputs(usage, stdout);
    return 0;
  }
  const char *what = a.npos == 1 ? a.pos[0] : NULL;
  if (!cli_known(&a, known, "audit") || !what || (strcmp(what, "verify") && strcmp(what, "checkpoint"))) {
    fputs(usage, stderr);
    return 2;
  }
  svc_options so = {.audit_checkpoint_seconds = -1};
  svc *s = cli_open(&a, &so);
  if (!s) return 1;
  pl_detail d = {0};
  int rc = 0;
  if (!strcmp(what, "checkpoint")) {
    pl_arena *ar = pl_arena_new();
    st_audit_checkpoint c;
    bool written;
    if (svc_audit_checkpoint(s, cli_has(&a, "force"), ar, &c, &written, &d)) {
      fprintf(stderr, "parley audit: %s\n", d.msg[0] ? d.msg : "the store failed");
      rc = 1;
    } else if (!written && !c.id) {
      printf("no audit entries yet: nothing to sign\n");
    } else {
      printf("%s checkpoint %lld: %lld chains, root %s\n", written ? "signed" : "unchanged since",
             (long long)c.id, (long long)c.nchains, c.root);
    }
    pl_arena_free(ar);
  } else {
    svc_audit_report r;
    if (svc_audit_verify(s, &r, &d)) {
      fprintf(stderr, "parley audit: %s\n", d.msg[0] ? d.msg : "the store failed");
      rc = 1;
    } else {
      if (cli_has(&a, "json")) {
        printf("{\"ok\":%s,\"chains\":%zu,\"entries\":%zu,\"checkpoints\":%zu,\"problems\":%zu,"
               "\"public_key\":\"%s\"}\n",
               r.problems ? "false" : "true", r.chains, r.entries, r.checkpoints, r.problems, r.public_key);
      } else {
        printf("%zu chains, %zu entries, %zu checkpoints; checkpoint key %s\n", r.chains, r.entries,
               r.checkpoints, r.public_key);
        if (r.problems) printf("TAMPERED: %zu problem(s); the first: %s\n", r.problems, r.first_problem);
        else printf("every chain links and every checkpoint holds\n");
      }
      if (r.problems) {
        fprintf(stderr, "parley audit: %s\n", r.first_problem);
        rc = 1;
      }
    }
  }
  svc_free(s);
  return rc;
}
