/* main.c - the parley command: dispatches to its subcommands. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static const struct {
  const char *name;
  int (*fn)(int, char **);
  const char *summary;
} commands[] = {
  {"serve", cmd_serve, "run the HTTP API and web message center"},
  {"admin", cmd_admin, "create marketplaces, sellers, agents, buyers and tokens"},
  {"import", cmd_import, "import history from JSON lines"},
  {"export", cmd_export, "export a thread as JSON evidence"},
  {"demo", cmd_demo, "load the demo marketplace into a database"},
  {"check", cmd_check, "check seller messages against the content policy"},
  {"policy", cmd_policy, "retrain a marketplace's policy model from its review decisions"},
  {"metrics", cmd_metrics, "a seller's response metrics (the 24-hour clock)"},
  {"audit", cmd_audit, "verify the audit log's chains and signed checkpoints"},
  {"backup", cmd_backup, "copy the database and attachment files while serving"},
  {"restore", cmd_restore, "check a backup and restore it"},
  {"migrate", cmd_migrate, "check or upgrade the database's schema"},
};

static void usage(FILE *f) {
  fprintf(f, "usage: parley COMMAND [OPTIONS]\n\n"
             "parley is a buyer-seller messaging service for online marketplaces.\n\n"
             "commands:\n");
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
  fprintf(f, "\n`parley COMMAND --help` describes each command.\n");
}

int main(int argc, char **argv) {
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
    usage(stdout);
    return 0;
  }
  if (!strcmp(argv[1], "--version")) {
    printf("parley %s\n", PARLEY_VERSION);
    return 0;
  }
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    if (!strcmp(argv[1], commands[i].name)) return commands[i].fn(argc - 1, argv + 1);
  fprintf(stderr, "parley: unknown command '%s'\n\n", argv[1]);
  usage(stderr);
  return 2;
}
