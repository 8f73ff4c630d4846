/* cli_common.c - option parsing and opening the service for the subcommands. */
#include "cli/cli_common.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Copies n bytes of s into a's text, NUL-terminated; NULL when it is full. */
static const char *keep(cli_args *a, const char *s, size_t n) {
  if (n + 1 > sizeof a->text - a->text_used) return NULL;
  char *p = a->text + a->text_used;
  memcpy(p, s, n);
  p[n] = '\0';
  a->text_used += n + 1;
  return p;
}

static bool is_flag(const char *const *flags, const char *name) {
  for (const char *const *f = flags; f && *f; f++)
    if (!strcmp(*f, name)) return true;
  return false;
}

static char *trim(char *s) {
  while (*s == ' ' || *s == '\t') s++;
  size_t n = strlen(s);
  while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n')) s[--n] = '\0';
  return s;
}

/* One line of an options file, already trimmed and neither blank nor a comment. */
static pl_err conf_line(const char *path, unsigned ln, char *line, const char *const *flags, cli_args *out,
                        pl_detail *d) {
  char *eq = strchr(line, '=');
  if (eq) *eq = '\0';
  const char *name = trim(line), *value = eq ? trim(eq + 1) : NULL;
  if (!strncmp(name, "--", 2))
    return pl_fail(d, PL_EINVAL, "%s:%u: write the option without its dashes ('%s')", path, ln, name + 2);
  if (!*name || strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789-") != strlen(name))
    return pl_fail(d, PL_EINVAL, "%s:%u: not a 'name = value' line", path, ln);
  if (!strcmp(name, "conf") || !strcmp(name, "help"))
    return pl_fail(d, PL_EINVAL, "%s:%u: '%s' cannot be given in an options file", path, ln, name);
  if (is_flag(flags, name)) {
    if (value && (!strcmp(value, "false") || !strcmp(value, "no") || !strcmp(value, "0"))) return PL_OK;
    if (value && strcmp(value, "true") && strcmp(value, "yes") && strcmp(value, "1"))
      return pl_fail(d, PL_EINVAL, "%s:%u: %s is a flag: true or false, not '%s'", path, ln, name, value);
    value = NULL;
  } else if (!value || !*value) {
    return pl_fail(d, PL_EINVAL, "%s:%u: %s needs a value ('%s = VALUE')", path, ln, name, name);
  }
  if (out->nopts == CLI_MAX_OPTS)
    return pl_fail(d, PL_ETOOMANY, "%s:%u: too many options (at most %d in all)", path, ln, CLI_MAX_OPTS);
  const char *n = keep(out, name, strlen(name)), *v = value ? keep(out, value, strlen(value)) : NULL;
  if (!n || (value && !v))
    return pl_fail(d, PL_ETOOLARGE, "%s:%u: the options' names and values exceed %zu bytes in all", path, ln,
                   sizeof out->text);
  out->opts[out->nopts++] = (cli_opt){n, v, path, ln};
  return PL_OK;
}

pl_err cli_conf_read(const char *path, const char *const *flags, cli_args *out, pl_detail *d) {
  FILE *f = fopen(path, "r");
  if (!f)
    return pl_fail(d, errno == ENOENT ? PL_ENOTFOUND : PL_EIO, "cannot read the options file %s: %s", path,
                   strerror(errno));
  pl_err e = PL_OK;
  struct stat st;
  if (fstat(fileno(f), &st) || !S_ISREG(st.st_mode)) {
    e = pl_fail(d, PL_EIO, "the options file %s is not a regular file", path);
    goto out;
  }
  if (st.st_size > CLI_CONF_MAX_FILE) {
    e = pl_fail(d, PL_ETOOLARGE, "the options file %s is larger than %d bytes", path, CLI_CONF_MAX_FILE);
    goto out;
  }
  /* getline: the file is at most CLI_CONF_MAX_FILE bytes, and a NUL byte in a line is
   * seen (fgets would cut the line there, silently). */
  char *buf = NULL;
  size_t cap = 0;
  ssize_t n;
  for (unsigned ln = 1; (n = getline(&buf, &cap, f)) >= 0; ln++) {
    size_t len = (size_t)n - (n && buf[n - 1] == '\n');
    if (len > CLI_CONF_LINE_MAX) {
      e = pl_fail(d, PL_ETOOLONG, "%s:%u: the line is longer than %d bytes", path, ln, CLI_CONF_LINE_MAX);
      break;
    }
    if (strlen(buf) != (size_t)n) {
      e = pl_fail(d, PL_EINVAL, "%s:%u: the line holds a NUL byte", path, ln);
      break;
    }
    char *line = trim(buf);
    if (!*line || *line == '#') continue;
    if ((e = conf_line(path, ln, line, flags, out, d))) break;
  }
  free(buf);
  if (e) goto out;
  if (ferror(f)) e = pl_fail(d, PL_EIO, "cannot read the options file %s: %s", path, strerror(errno));
out:
  fclose(f);
  return e;
}

bool cli_parse(int argc, char **argv, int start, const char *const *flags, cli_args *out) {
  memset(out, 0, sizeof *out);
  /* The command line's options, kept apart until the options file's are in. */
  cli_opt cmd[CLI_MAX_OPTS];
  size_t ncmd = 0;
  const char *conf = NULL;
  for (int i = start; i < argc; i++) {
    const char *s = argv[i];
    if (!strncmp(s, "--", 2) && s[2]) {
      if (ncmd == CLI_MAX_OPTS) {
        fprintf(stderr, "parley: too many options\n");
        return false;
      }
      const char *name = s + 2;
      const char *eq = strchr(name, '=');
      if (eq) {
        const char *n = keep(out, name, (size_t)(eq - name));
        if (!n) {
          fprintf(stderr, "parley: the options are too long\n");
          return false;
        }
        cmd[ncmd++] = (cli_opt){.name = n, .value = eq + 1};
      } else if (is_flag(flags, name) || !strcmp(name, "help")) {
        cmd[ncmd++] = (cli_opt){.name = name};
      } else {
        if (i + 1 >= argc) {
          fprintf(stderr, "parley: option --%s needs a value\n", name);
          return false;
        }
        cmd[ncmd++] = (cli_opt){.name = name, .value = argv[++i]};
      }
      if (!strcmp(cmd[ncmd - 1].name, "conf")) conf = cmd[ncmd - 1].value;
    } else {
      if (out->npos == sizeof out->pos / sizeof out->pos[0]) {
        fprintf(stderr, "parley: too many arguments\n");
        return false;
      }
      out->pos[out->npos++] = s;
    }
  }
  if (conf) {
    pl_detail d = {0};
    if (!*conf) {
      fprintf(stderr, "parley: --conf needs the path of an options file\n");
      return false;
    }
    if (cli_conf_read(conf, flags, out, &d)) {
      fprintf(stderr, "parley: %s\n", d.msg);
      return false;
    }
  }
  if (out->nopts + ncmd > CLI_MAX_OPTS) {
    fprintf(stderr, "parley: too many options (at most %d, with those of %s)\n", CLI_MAX_OPTS, conf);
    return false;
  }
  memcpy(out->opts + out->nopts, cmd, ncmd * sizeof cmd[0]);
  out->nopts += ncmd;
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
    if (!ok && a->opts[i].file) {
      fprintf(stderr, "parley %s: %s:%u: unknown option '%s' (see --help)\n", cmd, a->opts[i].file,
              a->opts[i].line, a->opts[i].name);
      return false;
    }
    if (!ok) {
      fprintf(stderr, "parley %s: unknown option --%s (see --help)\n", cmd, a->opts[i].name);
      return false;
    }
  }
  return true;
}

#ifndef PARLEY_WEB_DIR
#define PARLEY_WEB_DIR "web"
#endif
const char *cli_web_dir(char *buf, size_t cap) {
#ifdef PARLEY_WEB_REL
  char self[4096];
  ssize_t r = readlink("/proc/self/exe", self, sizeof self - 1);
  char *slash = r > 0 ? (self[r] = '\0', strrchr(self, '/')) : NULL;
  struct stat st;
  if (slash) {
    *slash = '\0';
    int n = snprintf(buf, cap, "%s/%s", self, PARLEY_WEB_REL);
    if (n > 0 && (size_t)n < cap && stat(buf, &st) == 0 && S_ISDIR(st.st_mode)) return buf;
  }
#endif
  (void)buf;
  (void)cap;
  return PARLEY_WEB_DIR;
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
