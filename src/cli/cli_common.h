/* cli_common.h - option parsing and service set-up shared by the subcommands. */
#ifndef PL_CLI_COMMON_H
#define PL_CLI_COMMON_H

#include <stdbool.h>
#include <stddef.h>

#include "service/svc.h"

/* "--name value" and "--flag" options, in order; positional arguments apart. */
typedef struct {
  const char *name, *value; /* value NULL for a flag */
} cli_opt;

typedef struct {
  cli_opt opts[64];
  size_t nopts;
  const char *pos[16];
  size_t npos;
} cli_args;

/* Parses argv[start..argc). flags lists the options that take no value. Returns false
 * (with a message on stderr) on malformed input. */
bool cli_parse(int argc, char **argv, int start, const char *const *flags, cli_args *out);
/* The last value of an option, or dflt. */
const char *cli_get(const cli_args *a, const char *name, const char *dflt);
bool cli_has(const cli_args *a, const char *name);
/* True when every option is one of the NULL-terminated list known; else names the first. */
bool cli_known(const cli_args *a, const char *const *known, const char *cmd);

/* Where attachment files are kept by default: beside a SQLite database (<db>.files), or
 * ./parley-files for a PostgreSQL store (several nodes share it). Written into buf. */
const char *cli_files_dir(const char *db, char *buf, size_t cap);

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
