/* cmd_import.c - `parley import`: history from JSON lines (docs/import.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cli_common.h"

#define MAX_LINE (1024 * 1024)
#define IMPORT_BATCH 1000

static const char usage[] =
    "usage: parley import [--db PATH] [--key-file PATH] FILE\n\n"
    "Reads JSON lines (marketplace, seller, buyer, order, message, flag; see docs/import.md)\n"
    "from FILE ('-' for standard input). Imported messages keep their timestamps and are not\n"
    "re-scanned. A line that is not valid is reported with its line number and nothing of it\n"
    "is stored; the other lines are imported. Exit status 1 when any line failed.\n";

int cmd_import(int argc, char **argv) {
  static const char *const known[] = {"db", "key-file", NULL};
  cli_args a;
  if (!cli_parse(argc, argv, 1, NULL, &a)) return 2;
  if (cli_has(&a, "help")) {
    fputs(usage, stdout);
    return 0;
  }
  if (!cli_known(&a, known, "import") || a.npos != 1) {
    fputs(usage, stderr);
    return 2;
  }
  FILE *f = strcmp(a.pos[0], "-") ? fopen(a.pos[0], "r") : stdin;
  if (!f) {
    perror(a.pos[0]);
    return 1;
  }
  svc *s = cli_open(&a, NULL);
  if (!s) {
    if (f != stdin) fclose(f);
    return 1;
  }
  char *line = NULL;
  size_t cap = 0;
  ssize_t n;
  long lineno = 0, ok = 0, bad = 0, in_batch = 0;
  pl_detail bd = {0};
  int rc = 0;
  /* Lines are committed in batches (each line its own savepoint), so that an import
   * does not pay one disk flush per line; a line that fails is undone alone. */
  if (svc_batch_begin(s, &bd)) {
    fprintf(stderr, "parley import: %s\n", bd.msg);
    rc = 1;
    goto done;
  }
  while ((n = getline(&line, &cap, f)) >= 0) {
    lineno++;
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = '\0';
    size_t skip = strspn(line, " \t");
    if ((size_t)n == skip) continue; /* blank lines are allowed */
    if (n > MAX_LINE) {
      fprintf(stderr, "line %ld: too_long: a line is at most %d bytes\n", lineno, MAX_LINE);
      bad++;
      continue;
    }
    pl_detail d = {0};
    pl_err e = svc_import_line(s, line, (size_t)n, &d);
    if (e) {
      fprintf(stderr, "line %ld: %s: %s\n", lineno, pl_errname(e), d.msg[0] ? d.msg : pl_strerror(e));
      bad++;
    } else {
      ok++;
    }
    if (++in_batch == IMPORT_BATCH) {
      in_batch = 0;
      if (svc_batch_end(s, true, &bd) || svc_batch_begin(s, &bd)) {
        fprintf(stderr, "parley import: %s (lines up to %ld may be lost)\n", bd.msg, lineno);
        rc = 1;
        goto done;
      }
    }
  }
  if (svc_batch_end(s, true, &bd)) {
    fprintf(stderr, "parley import: %s\n", bd.msg);
    rc = 1;
  }
done:
  free(line);
  if (f != stdin) fclose(f);
  svc_free(s);
  fprintf(stderr, "parley import: %ld line%s imported, %ld failed\n", ok, ok == 1 ? "" : "s", bad);
  return rc ? rc : bad ? 1 : 0;
}
