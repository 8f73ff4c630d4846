/* cmd_check.c - `parley check`: the content policy from the command line. */
#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cli_common.h"
#include "policy/policy.h"
#include "util/pl_mem.h"

static void check_usage(FILE *f) {
  fprintf(f,
          "usage: parley check [--allow-domain DOMAIN]... [--config FILE] [--explain] --jsonl FILE\n"
          "       parley check [--allow-domain DOMAIN]... [--config FILE] [--json] [--explain] FILE\n\n"
          "Checks seller messages against the content policy.\n\n"
          "  --jsonl FILE          read JSON lines {\"id\":..., \"text\":...} (- for stdin) and write\n"
          "                        one line per input: {\"id\", \"action\", \"categories\", \"findings\"}\n"
          "  FILE                  check the whole file as one message (- for stdin)\n"
          "  --json                print the verdict of one message as JSON\n"
          "  --explain             also show the classifier's score per category (0 to 1; with\n"
          "                        --json or --jsonl as \"scores\") and the engine with its model\n"
          "  --allow-domain DOMAIN allow https links to DOMAIN (repeatable)\n"
          "  --config FILE         operator configuration (JSON; see docs/policy.md)\n"
          "  --policy-cache DIR    keep compiled rule databases here and reuse them (default:\n"
          "                        $PARLEY_POLICY_CACHE, else compile every time, a few seconds)\n"
          "  --help                show this help\n\n"
          "Exit status: 0 when the message is delivered (or every line was read), 1 when\n"
          "it is held or rejected (or a line was not valid), 2 on usage or setup errors.\n");
}

/* The verdict as a JSON object: action, categories (distinct, in order of first
 * finding) and findings. */
static json_t *verdict_json(const policy_verdict *v, bool explain) {
  json_t *o = json_object();
  json_object_set_new(o, "action", json_string(policy_action_name(v->action)));
  json_t *cats = json_array();
  json_t *fs = json_array();
  for (size_t i = 0; i < v->nfindings; i++) {
    const policy_finding *f = &v->findings[i];
    bool seen = false;
    for (size_t k = 0; k < json_array_size(cats); k++)
      if (!strcmp(json_string_value(json_array_get(cats, k)), f->category)) seen = true;
    if (!seen) json_array_append_new(cats, json_string(f->category));
    json_t *jf = json_object();
    json_object_set_new(jf, "category", json_string(f->category));
    json_object_set_new(jf, "rule", json_string(f->rule));
    json_object_set_new(jf, "start", json_integer((json_int_t)f->start));
    json_object_set_new(jf, "end", json_integer((json_int_t)f->end));
    /* Offsets are bytes; a span that cuts a character still prints as text. */
    json_t *t = json_stringn(f->text, f->end - f->start);
    json_object_set_new(jf, "text", t ? t : json_string(""));
    json_array_append_new(fs, jf);
  }
  json_object_set_new(o, "categories", cats);
  json_object_set_new(o, "findings", fs);
  if (explain) {
    json_t *sc = json_object();
    for (size_t i = 0; i < v->nscores; i++)
      json_object_set_new(sc, v->scores[i].category, json_real((double)(long)(v->scores[i].score * 1e4 + 0.5) / 1e4));
    json_object_set_new(o, "scores", sc);
  }
  return o;
}

static void print_json_line(json_t *o) {
  char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
  if (s) {
    fputs(s, stdout);
    fputc('\n', stdout);
    free(s);
  }
}

static void error_line(json_t *id, const char *code, const char *msg) {
  json_t *o = json_object();
  json_object_set(o, "id", id ? id : json_null());
  json_object_set_new(o, "error", json_string(code));
  json_object_set_new(o, "message", json_string(msg));
  print_json_line(o);
  json_decref(o);
}

static int check_jsonl(const policy_config *cfg, const char *path, bool explain) {
  FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
  if (!f) {
    fprintf(stderr, "parley check: %s: %s\n", path, strerror(errno));
    return 2;
  }
  char *line = NULL;
  size_t cap = 0;
  ssize_t n;
  long lineno = 0;
  int bad = 0;
  while ((n = getline(&line, &cap, f)) >= 0) {
    lineno++;
    size_t len = (size_t)n;
    while (len && (line[len - 1] == '\n' || line[len - 1] == '\r')) len--;
    size_t k = 0;
    while (k < len && (line[k] == ' ' || line[k] == '\t')) k++;
    if (k == len) continue; /* blank lines carry no message */
    json_error_t je;
    json_t *o = json_loadb(line, len, JSON_ALLOW_NUL, &je);
    if (!o || !json_is_object(o)) {
      fprintf(stderr, "parley check: %s:%ld: not a JSON object: %s\n", path, lineno, o ? "" : je.text);
      error_line(NULL, "malformed_json", o ? "not a JSON object" : je.text);
      json_decref(o);
      bad = 1;
      continue;
    }
    json_t *id = json_object_get(o, "id");
    json_t *text = json_object_get(o, "text");
    if (!json_is_string(text)) {
      fprintf(stderr, "parley check: %s:%ld: \"text\" must be a string\n", path, lineno);
      error_line(id, "missing_field", "\"text\" must be a string");
      json_decref(o);
      bad = 1;
      continue;
    }
    policy_verdict v;
    pl_err rc = policy_scan(cfg, json_string_value(text), json_string_length(text), &v);
    if (rc) {
      fprintf(stderr, "parley check: %s:%ld: %s\n", path, lineno, pl_strerror(rc));
      error_line(id, pl_errname(rc), pl_strerror(rc));
      bad = 1;
    } else {
      json_t *out = json_object();
      json_object_set(out, "id", id ? id : json_null());
      json_t *vj = verdict_json(&v, explain);
      json_object_update(out, vj);
      json_decref(vj);
      print_json_line(out);
      json_decref(out);
    }
    policy_verdict_free(&v);
    json_decref(o);
  }
  free(line);
  if (f != stdin) fclose(f);
  fflush(stdout);
  return bad ? 1 : 0;
}

static int check_one(const policy_config *cfg, const char *path, bool as_json, bool explain) {
  FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
  if (!f) {
    fprintf(stderr, "parley check: %s: %s\n", path, strerror(errno));
    return 2;
  }
  size_t cap = 4096, n = 0, r;
  char *buf = pl_xmalloc(cap);
  while ((r = fread(buf + n, 1, cap - n, f)) > 0) {
    n += r;
    if (n == cap) buf = pl_xrealloc(buf, cap *= 2);
  }
  if (f != stdin) fclose(f);
  policy_verdict v;
  pl_err rc = policy_scan(cfg, buf, n, &v);
  if (rc) {
    fprintf(stderr, "parley check: %s: %s\n", path, pl_strerror(rc));
    free(buf);
    return 2;
  }
  if (as_json) {
    json_t *o = verdict_json(&v, explain);
    json_object_set_new(o, "engine", json_string(v.engine));
    print_json_line(o);
    json_decref(o);
  } else {
    printf("%s: %s (%zu finding%s)\n", path, policy_action_name(v.action), v.nfindings,
           v.nfindings == 1 ? "" : "s");
    for (size_t i = 0; i < v.nfindings; i++) {
      const policy_finding *fd = &v.findings[i];
      printf("  %-14s %-36s bytes %zu-%zu: %s\n", fd->category, fd->rule, fd->start, fd->end, fd->text);
    }
    if (explain) {
      printf("engine: %s\n", v.engine);
      if (!v.nscores) printf("classifier: off (no model, or turned off in the configuration)\n");
      for (size_t i = 0; i < v.nscores; i++)
        printf("  classifier %-14s %.4f\n", v.scores[i].category, v.scores[i].score);
    }
  }
  int status = v.action == POLICY_DELIVER ? 0 : 1;
  policy_verdict_free(&v);
  free(buf);
  return status;
}

int cmd_check(int argc, char **argv) {
  const char **allow = pl_xcalloc((size_t)argc + 1, sizeof *allow);
  size_t nallow = 0;
  const char *config = NULL, *jsonl = NULL, *file = NULL, *cache = NULL;
  bool as_json = false, explain = false;
  int status = 2;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      check_usage(stdout);
      status = 0;
      goto out;
    } else if (!strcmp(a, "--allow-domain") && i + 1 < argc) {
      allow[nallow++] = argv[++i];
    } else if (!strncmp(a, "--allow-domain=", 15)) {
      allow[nallow++] = a + 15;
    } else if (!strcmp(a, "--config") && i + 1 < argc) {
      config = argv[++i];
    } else if (!strncmp(a, "--config=", 9)) {
      config = a + 9;
    } else if (!strcmp(a, "--policy-cache") && i + 1 < argc) {
      cache = argv[++i];
    } else if (!strncmp(a, "--policy-cache=", 15)) {
      cache = a + 15;
    } else if (!strcmp(a, "--jsonl") && i + 1 < argc) {
      jsonl = argv[++i];
    } else if (!strncmp(a, "--jsonl=", 8)) {
      jsonl = a + 8;
    } else if (!strcmp(a, "--json")) {
      as_json = true;
    } else if (!strcmp(a, "--explain")) {
      explain = true;
    } else if (a[0] == '-' && a[1]) {
      fprintf(stderr, "parley check: unknown or incomplete option %s\n\n", a);
      check_usage(stderr);
      goto out;
    } else if (!file) {
      file = a;
    } else {
      fprintf(stderr, "parley check: one FILE at a time\n\n");
      check_usage(stderr);
      goto out;
    }
  }
  if (!jsonl == !file) {
    check_usage(stderr);
    goto out;
  }
  policy_options opt = {.allow_domains = allow, .config_path = config, .cache_dir = cli_policy_cache(cache)};
  policy_config *cfg = NULL;
  pl_detail d = {0};
  pl_err rc = policy_config_new(&opt, &cfg, &d);
  if (rc) {
    fprintf(stderr, "parley check: %s\n", d.msg[0] ? d.msg : pl_strerror(rc));
    goto out;
  }
  status = jsonl ? check_jsonl(cfg, jsonl, explain) : check_one(cfg, file, as_json, explain);
  policy_config_unref(cfg);
out:
  free(allow);
  return status;
}
