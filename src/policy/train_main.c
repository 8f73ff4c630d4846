/* train_main.c - parley-train: the policy classifier's model from labelled messages, deterministically, at build time. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy.h"
#include "util/pl_mem.h"

static void usage(FILE *f) {
  fprintf(f, "usage: parley-train --out MODEL [--policy-cache DIR] FILE.jsonl...\n\n"
             "Trains the content policy's classifier (docs/policy.md, \"The learned second stage\")\n"
             "on the labelled lines {\"id\", \"text\", \"expect\", \"categories\"} of the files, except the\n"
             "held-out fifth of them (policy_heldout()), and writes the model. The same files give\n"
             "the same model, byte for byte.\n");
}

static char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  size_t cap = 1 << 16, n = 0, r;
  char *b = pl_xmalloc(cap);
  while ((r = fread(b + n, 1, cap - n, f)) > 0)
    if ((n += r) == cap) b = pl_xrealloc(b, cap *= 2);
  bool bad = ferror(f) != 0;
  fclose(f);
  if (bad) {
    free(b);
    return NULL;
  }
  *len = n;
  return b;
}

int main(int argc, char **argv) {
  const char *out = NULL, *cache = getenv("PARLEY_POLICY_CACHE");
  int first = argc;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--out") && i + 1 < argc) out = argv[++i];
    else if (!strcmp(argv[i], "--policy-cache") && i + 1 < argc) cache = argv[++i];
    else if (!strcmp(argv[i], "--help")) {
      usage(stdout);
      return 0;
    } else if (argv[i][0] == '-') {
      usage(stderr);
      return 2;
    } else {
      first = i;
      break;
    }
  }
  if (!out || first == argc) {
    usage(stderr);
    return 2;
  }
  policy_options opt = {.cache_dir = cache};
  policy_config *cfg = NULL;
  pl_detail d = {0};
  if (policy_config_new(&opt, &cfg, &d)) {
    fprintf(stderr, "parley-train: %s\n", d.msg);
    return 2;
  }
  size_t nfiles = (size_t)(argc - first);
  policy_train_file *files = pl_xcalloc(nfiles, sizeof *files);
  for (size_t k = 0; k < nfiles; k++) {
    const char *path = argv[first + (int)k];
    const char *base = strrchr(path, '/');
    files[k].name = base ? base + 1 : path;
    if (!(files[k].text = slurp(path, &files[k].len))) {
      fprintf(stderr, "parley-train: cannot read %s\n", path);
      return 2;
    }
  }
  char *model = NULL;
  size_t len = 0;
  policy_train_stats st;
  if (policy_train(cfg, files, nfiles, NULL, 0, &model, &len, &st, &d)) {
    fprintf(stderr, "parley-train: %s\n", d.msg);
    return 2;
  }
  for (size_t l = 0; policy_learned_category(l); l++)
    fprintf(stderr,
            "parley-train: %s: %zu of %zu examples positive; default thresholds finding %.4f, review %.4f"
            " (out-of-fold recall at review %.3f)\n",
            policy_learned_category(l), st.positives[l], st.examples, st.finding[l], st.review[l], st.oof_recall[l]);
  FILE *mf = fopen(out, "wb");
  if (!mf) {
    fprintf(stderr, "parley-train: cannot write %s\n", out);
    return 2;
  }
  bool bad = fwrite(model, 1, len, mf) != len;
  bad |= fclose(mf) != 0;
  fprintf(stderr, "parley-train: %zu examples, %zu held out, model %s\n", st.examples, st.held_out, out);
  for (size_t k = 0; k < nfiles; k++) free((char *)files[k].text);
  free(files);
  free(model);
  policy_config_unref(cfg);
  return bad ? 2 : 0;
}
