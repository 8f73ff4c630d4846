/* cli_common.h - option parsing and service set-up shared by the subcommands. */
#ifndef PL_CLI_COMMON_H
#define PL_CLI_COMMON_H

#include <stdbool.h>
#include <stddef.h>

#include "service/svc.h"

/* "--name value" and "--flag" options, in order; positional arguments apart. Options
 * read from an options file (--conf) come first and say where they were written. */
typedef struct {
  const char *name, *value; /* value NULL for a flag */
  const char *file;         /* the options file it came from; NULL: the command line */
  unsigned line;            /* its line in that file */
} cli_opt;

#define CLI_MAX_OPTS 64
/* An options file: lines of at most this many bytes, at most CLI_CONF_MAX_FILE in all. */
#define CLI_CONF_LINE_MAX 1024
#define CLI_CONF_MAX_FILE (256 * 1024)

/* Parsed arguments. The names and values read from an options file (and the names of
 * "--name=value" options) are kept in text, so they live exactly as long as the struct;
 * the rest point into argv. Do not copy a cli_args: the copy's strings would point into
 * the original. */
typedef struct {
  cli_opt opts[CLI_MAX_OPTS];
  size_t nopts;
  const char *pos[16];
  size_t npos;
  char text[16384];
  size_t text_used;
} cli_args;

/* Parses argv[start..argc). flags lists the options that take no value. When the
 * command line names an options file (--conf FILE), its options are read first
 * (cli_conf_read) and those of the command line follow, so that the command line
 * overrides the file (cli_get takes the last value). The "conf" option itself stays in
 * out, so that a command that does not take it refuses it in cli_known. Returns false
 * (with a message on stderr naming the file and line, for an options file) on
 * malformed input. Can be called again with the same argv (a reload reads the file
 * again); each call starts out afresh. */
bool cli_parse(int argc, char **argv, int start, const char *const *flags, cli_args *out);
/* Appends the options of the options file at path to out: one "name = value" a line
 * (a long option without its dashes), "name" or "name = true" for a flag (one of flags;
 * "name = false" leaves it out), '#' comment lines and blank lines. path is kept, not
 * copied: it must outlive out. Errors, with the file and line in d: PL_ENOTFOUND (no
 * such file), PL_EIO (unreadable, not a regular file), PL_ETOOLARGE (the file is over
 * CLI_CONF_MAX_FILE, or its names and values do not fit out->text), PL_ETOOLONG (a line
 * over CLI_CONF_LINE_MAX), PL_ETOOMANY (more than CLI_MAX_OPTS options in all),
 * PL_EINVAL (a line that is not an option, a flag given a value it cannot take, an
 * option without its value, "conf" or "help" in the file). Unknown names are not
 * refused here but by cli_known, which names their line. */
pl_err cli_conf_read(const char *path, const char *const *flags, cli_args *out, pl_detail *d);
/* The last value of an option, or dflt. */
const char *cli_get(const cli_args *a, const char *name, const char *dflt);
bool cli_has(const cli_args *a, const char *name);
/* True when every option is one of the NULL-terminated list known; else names the first. */
bool cli_known(const cli_args *a, const char *const *known, const char *cmd);

/* Where attachment files are kept by default: beside a SQLite database (<db>.files), or
 * ./parley-files for a PostgreSQL store (several nodes share it). Written into buf. */
const char *cli_files_dir(const char *db, char *buf, size_t cap);

/* The web message center's directory when --web is not given: PARLEY_WEB_REL (the
 * installed data directory relative to the installed bin/, "../share/parley/web") from
 * the running program's directory when that exists, so that an installation works
 * wherever its prefix or DESTDIR put it; else PARLEY_WEB_DIR, the source tree's (a
 * build tree). Written into buf, or a compiled-in constant. */
const char *cli_web_dir(char *buf, size_t cap);

/* The key file used with a database: --key-file, or "<db>.key". */
const char *cli_key_path(const cli_args *a, const char *db, char *buf, size_t cap);

/* Opens the store and the service for --db (default parley.db). Prints errors. */
/* The directory for compiled policy databases: given (--policy-cache), else the
 * environment's PARLEY_POLICY_CACHE, else NULL (none). */
const char *cli_policy_cache(const char *given);
svc *cli_open(const cli_args *a, const svc_options *opt);

/* parley admin key status|add|rotate|retire (cmd_admin_key.c); a.pos[0] is "key". */
int cmd_admin_key(const cli_args *a);

#endif
