/* cmd_migrate.c - `parley migrate`: where a database's schema stands, and its upgrade
 * (svc_migrate; docs/operations.md, "Upgrades"). */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cli_common.h"

static const char usage[] =
    "usage: parley migrate [--db PATH|URL] --check | --apply\n\n"
    "--check says where the database's schema stands and changes nothing: its version, the\n"
    "migrations this parley knows, whether this parley may run on it, and what --apply and\n"
    "`parley serve` would apply. Exit status: 0 nothing to apply, 3 migrations to apply,\n"
    "1 this parley may not run on the database (or it cannot be read).\n\n"
    "--apply applies every migration this parley knows, contracts too: a contract takes\n"
    "away what older parleys use, so run it once every node runs a parley that knows at\n"
    "least the number it names. `parley serve` applies, at start, every migration up to\n"
    "the first contract.\n";

static void report(const store_schema *s) {
  printf("database schema: version %d\n", s->version);
  printf("this parley knows: %d migrations\n", s->known);
  if (s->compat) printf("parleys that may run on it: those that know at least %d migrations\n", s->compat);
  if (s->version > s->known)
    printf("the database is newer than this parley: %s\n",
           s->runnable ? "it may run on it (the newer migrations only add)" : "it may not run on it");
}

int cmd_migrate(int argc, char **argv) {
  static const char *const known[] = {"db", "check", "apply", NULL};
  static const char *const flags[] = {"check", "apply", NULL};
  cli_args a;
  if (!cli_parse(argc, argv, 1, flags, &a)) return 2;
  if (cli_has(&a, "help")) {
    fputs(usage, stdout);
    return 0;
  }
  bool check = cli_has(&a, "check"), apply = cli_has(&a, "apply");
  if (!cli_known(&a, known, "migrate") || a.npos || check == apply) {
    fputs(usage, stderr);
    return 2;
  }
  const char *db = cli_get(&a, "db", "parley.db");
  store_schema s, after;
  pl_detail d = {0};
  /* --apply reads first, to say what it applies */
  pl_err e = svc_migrate(db, STORE_SCHEMA_CHECK, &s, &d);
  if (!e && apply && s.version < s.known) e = svc_migrate(db, STORE_SCHEMA_ALL, &after, &d);
  if (e) {
    fprintf(stderr, "parley migrate: %s\n", d.msg[0] ? d.msg : pl_strerror(e));
    return 1;
  }
  report(&s);
  if (apply) {
    if (s.version >= s.known) printf("nothing to apply\n");
    else printf("applied migrations %d to %d: the schema is at version %d\n", s.version + 1, s.known, after.target);
    return 0;
  }
  if (s.version >= s.known) {
    printf("nothing to apply\n");
    return s.runnable ? 0 : 1;
  }
  printf("to apply: migrations %d to %d\n", s.version + 1, s.known);
  if (s.first_contract)
    printf("`parley serve` applies migrations up to %d; migration %d is a contract: it waits for "
           "--apply, to be run once every node runs a parley that knows at least %d migrations%s\n",
           s.target, s.first_contract, s.contract_needs,
           s.runnable ? "" : " (until then, this parley does not start on the database)");
  else
    printf("`parley serve` applies them all at start\n");
  return 3;
}
