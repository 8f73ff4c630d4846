/* cmd_backup.c - `parley backup` and `parley restore`: an online copy of a SQLite store and
 * its attachment files, and its checked restore (svc_backup.c; docs/operations.md). */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cli_common.h"

static const char backup_usage[] =
    "usage: parley backup [--db PATH] [--files DIR] --to DIR\n\n"
    "Copies the SQLite database (SQLite's online backup: the server may go on serving) and every\n"
    "attachment file (--files, default <db>.files), each checked against its SHA-256 name, into\n"
    "DIR (new or empty), with manifest.json. The key file is not copied: keep it apart from its\n"
    "backups. A PostgreSQL store is backed up with pg_dump or pg_basebackup (docs/operations.md).\n";

static const char restore_usage[] =
    "usage: parley restore --from DIR --db PATH [--files DIR]\n\n"
    "Checks every byte of the backup in DIR against its manifest, then restores the database to\n"
    "PATH (a new file) and the attachment files into --files (default <db>.files; new or empty).\n"
    "Nothing is written when a check fails. The server then needs the key file the backup was\n"
    "made with (--key-file, default <db>.key).\n";

static int run(int argc, char **argv, bool restore) {
  static const char *const known_backup[] = {"db", "files", "to", NULL};
  static const char *const known_restore[] = {"db", "files", "from", NULL};
  const char *cmd = restore ? "restore" : "backup", *usage = restore ? restore_usage : backup_usage;
  cli_args a;
  if (!cli_parse(argc, argv, 1, NULL, &a)) return 2;
  if (cli_has(&a, "help")) {
    fputs(usage, stdout);
    return 0;
  }
  const char *dir = cli_get(&a, restore ? "from" : "to", "");
  if (!cli_known(&a, restore ? known_restore : known_backup, cmd) || a.npos || !*dir ||
      (restore && !*cli_get(&a, "db", ""))) {
    fputs(usage, stderr);
    return 2;
  }
  const char *db = cli_get(&a, "db", "parley.db");
  char files[4096];
  const char *fd = cli_get(&a, "files", cli_files_dir(db, files, sizeof files));
  svc_backup_result r;
  pl_detail d = {0};
  pl_err e = restore ? svc_restore(dir, db, fd, &r, &d) : svc_backup(db, fd, dir, &r, &d);
  if (e) {
    fprintf(stderr, "parley %s: %s\n", cmd, d.msg[0] ? d.msg : pl_strerror(e));
    return 1;
  }
  printf("parley %s: %s: database %lld bytes, %lld attachment files (%lld bytes)\n", cmd, restore ? db : dir,
         r.db_bytes, r.files, r.file_bytes);
  return 0;
}

int cmd_backup(int argc, char **argv) { return run(argc, argv, false); }

int cmd_restore(int argc, char **argv) { return run(argc, argv, true); }
