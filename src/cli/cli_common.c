/* cli_common.c - option parsing and opening the service for the subcommands. */
#include "cli/cli_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool cli_parse(int argc, char **argv, int start, const char *const *flags, cli_args *out) {
  memset(out, 0, sizeof *out);
  for (int i = start; i < argc; i++) {
    const char *s = argv[i];
    if (!strncmp(s, "--", 2) && s[2]) {
      if (out->nopts == sizeof out->opts / sizeof out->opts[0]) {
        fprintf(stderr, "parley: too many options\n");
        return false;
      }
      const char *name = s + 2;
      const char *eq = strchr(name, '=');
      bool flag = false;
      for (const char *const *f = flags; f && *f; f++)
        if (!strcmp(*f, name)) flag = true;
      if (eq) {
        static char names[64][64];
        size_t n = (size_t)(eq - name);
        if (n >= sizeof names[0]) n = sizeof names[0] - 1;
        size_t k = out->nopts++;
        memcpy(names[k], name, n);
        names[k][n] = '\0';
        out->opts[k] = (cli_opt){names[k], eq + 1};
      } else if (flag || !strcmp(name, "help")) {
        out->opts[out->nopts++] = (cli_opt){name, NULL};
      } else {
        if (i + 1 >= argc) {
          fprintf(stderr, "parley: option --%s needs a value\n", name);
          return false;
        }
        out->opts[out->nopts++] = (cli_opt){name, argv[++i]};
      }
    } else {
      if (out->npos == sizeof out->pos / sizeof out->pos[0]) {
        fprintf(stderr, "parley: too many arguments\n");
        return false;
      }
      out->pos[out->npos++] = s;
    }
  }
  return true;
}

const char *cli_get(const cli_args *a, const char *name, const char *dflt) {
  const char *v = dflt;
  for (size_t i = 0; i < a->nopts; i++)
    if (!strcmp(a->opts[i].name, name) && a->opts[i].value) v = a->opts[i].value;
  return v;
}

bool cli_has(const cli_args *a, const char *name) {
  for (size_t i = 0; i < a->nopts; i++)
    if (!strcmp(a->opts[i].name, name)) return true;
  return false;
}

bool cli_known(const cli_args *a, const char *const *known, const char *cmd) {
  for (size_t i = 0; i < a->nopts; i++) {
    bool ok = !strcmp(a->opts[i].name, "help");
    for (const char *const *k = known; *k && !ok; k++) ok = !strcmp(*k, a->opts[i].name);
    if (!ok) {
      fprintf(stderr, "parley %s: unknown option --%s (see --help)\n", cmd, a->opts[i].name);
      return false;
    }
  }
  return true;
}

const char *cli_key_path(const cli_args *a, const char *db, char *buf, size_t cap) {
  const char *k = cli_get(a, "key-file", NULL);
  if (k) return k;
  if ((k = getenv("PARLEY_KEY_FILE")) && *k) return k;
  /* Nodes on one PostgreSQL database must share one key: no default that would let
   * each node quietly make its own. */
  if (!strncmp(db, "postgres://", 11) || !strncmp(db, "postgresql://", 13)) return NULL;
  if (!strncmp(db, "sqlite:", 7)) db += 7;
  snprintf(buf, cap, "%s.key", db);
  return buf;
}

const char *cli_policy_cache(const char *given) {
  if (given && *given) return given;
  const char *e = getenv("PARLEY_POLICY_CACHE");
  return e && *e ? e : NULL;
}

const char *cli_files_dir(const char *db, char *buf, size_t cap) {
  if (!strncmp(db, "sqlite:", 7)) db += 7;
  if (!strncmp(db, "postgres://", 11) || !strncmp(db, "postgresql://", 13)) snprintf(buf, cap, "./parley-files");
  else snprintf(buf, cap, "%s.files", db);
  return buf;
}

svc *cli_open(const cli_args *a, const svc_options *opt) {
  const char *db = cli_get(a, "db", "parley.db");
  char kbuf[4096];
  const char *kp = cli_key_path(a, db, kbuf, sizeof kbuf);
  pl_detail d = {0};
  if (!kp) {
    fprintf(stderr, "parley: a PostgreSQL store needs --key-file (or PARLEY_KEY_FILE): every node "
                    "must use the same key file\n");
    return NULL;
  }
  if (pl_crypto_init()) {
    fprintf(stderr, "parley: libsodium failed to initialise\n");
    return NULL;
  }
  pl_keys keys;
  if (pl_keys_load_or_create(kp, &keys, &d)) {
    fprintf(stderr, "parley: %s\n", d.msg);
    return NULL;
  }
  store *st;
  store_schema sc;
  if (store_open_ex(db, NULL, &st, &sc, &d)) {
    fprintf(stderr, "parley: %s\n", d.msg);
    return NULL;
  }
  if (sc.version > sc.known)
    fprintf(stderr, "parley: the database's schema (version %d) is newer than this parley's (%d); "
                    "its newer migrations only add, so this parley runs on it\n", sc.version, sc.known);
  else if (sc.first_contract)
    fprintf(stderr, "parley: migration %d takes away what parleys that know fewer than %d migrations "
                    "use; it waits for `parley migrate --apply`\n", sc.first_contract, sc.contract_needs);
  /* Compiled policy databases are kept where PARLEY_POLICY_CACHE says, unless the
   * command said otherwise. */
  svc_options o = opt ? *opt : (svc_options){0};
  if (!o.policy_cache) o.policy_cache = cli_policy_cache(NULL);
  o.key_file = kp; /* a rotation changes it while the command runs */
  svc *s;
  if (svc_new(st, &keys, &o, &s, &d)) {
    fprintf(stderr, "parley: %s\n", d.msg);
    store_close(st);
    return NULL;
  }
  return s;
}
