/* train_main.c - parley-train: the policy classifier's model from labelled messages, deterministically, at build time. */
#include <jansson.h>
#include <linear.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy_int.h"
#include "util/pl_mem.h"

/* The categories the model learns: what keywords cannot see (docs/policy.md). */
static const policy__cat learned[] = {POLICY_CAT_OFF_PLATFORM, POLICY_CAT_REVIEW_REQUEST, POLICY_CAT_PROMOTION,
                                      POLICY_CAT_PROFANITY};
#define NLEARNED (sizeof learned / sizeof learned[0])
/* liblinear's cost of errors; features are L2-normalised, so this is the usual scale */
#define TRAIN_C 2.0

static void usage(FILE *f) {
  fprintf(f, "usage: parley-train --out MODEL [--policy-cache DIR] FILE.jsonl...\n\n"
             "Trains the content policy's classifier (docs/policy.md, \"The learned second stage\")\n"
             "on the labelled lines {\"id\", \"text\", \"expect\", \"categories\"} of the files, except the\n"
             "held-out fifth of them (policy_heldout()), and writes the model. The same files give\n"
             "the same model, byte for byte.\n");
}

static void quiet(const char *s) { (void)s; }

typedef struct {
  struct feature_node *x;
  bool pos[NLEARNED];
} example;

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
  size_t n = 0, cap = 0, held = 0;
  example *ex = NULL;
  uint32_t *idx = NULL;
  float *val = NULL;
  size_t fcap = 0;
  for (int a = first; a < argc; a++) {
    FILE *f = fopen(argv[a], "r");
    if (!f) {
      fprintf(stderr, "parley-train: cannot open %s\n", argv[a]);
      return 2;
    }
    const char *base = strrchr(argv[a], '/');
    base = base ? base + 1 : argv[a];
    char *line = NULL;
    size_t lcap = 0;
    long lineno = 0;
    while (getline(&line, &lcap, f) > 0) {
      lineno++;
      json_error_t je;
      json_t *o = json_loads(line, 0, &je);
      if (!o) continue; /* blank lines */
      const char *id = json_string_value(json_object_get(o, "id"));
      const char *text = json_string_value(json_object_get(o, "text"));
      if (!id || !text) {
        fprintf(stderr, "parley-train: %s:%ld: id and text are needed\n", argv[a], lineno);
        return 2;
      }
      if (policy_heldout(base, id)) {
        held++;
        json_decref(o);
        continue;
      }
      char *norm = policy__normalized_text(cfg, text, strlen(text));
      if (!norm) {
        fprintf(stderr, "parley-train: %s:%ld: not UTF-8\n", argv[a], lineno);
        return 2;
      }
      size_t need = policy__clf_feature_cap(strlen(norm));
      if (need > fcap) {
        fcap = need;
        idx = pl_xrealloc(idx, fcap * sizeof *idx);
        val = pl_xrealloc(val, fcap * sizeof *val);
      }
      size_t nf = policy__clf_features(norm, strlen(norm), idx, val);
      free(norm);
      if (n == cap) ex = pl_xrealloc(ex, (cap = cap ? cap * 2 : 1024) * sizeof *ex);
      example *e = &ex[n++];
      memset(e, 0, sizeof *e);
      e->x = pl_xcalloc(nf + 2, sizeof *e->x);
      for (size_t k = 0; k < nf; k++) e->x[k] = (struct feature_node){(int)idx[k] + 1, val[k]};
      e->x[nf] = (struct feature_node){POLICY_CLF_DIM + 1, 1.0}; /* the bias */
      e->x[nf + 1].index = -1;
      json_t *c;
      size_t k;
      json_array_foreach(json_object_get(o, "categories"), k, c) {
        int ci = policy__cat_from_name(json_string_value(c) ? json_string_value(c) : "");
        for (size_t l = 0; l < NLEARNED; l++)
          if (ci == (int)learned[l]) e->pos[l] = true;
      }
      json_decref(o);
    }
    free(line);
    fclose(f);
  }
  FILE *mf = fopen(out, "wb");
  if (!mf) {
    fprintf(stderr, "parley-train: cannot write %s\n", out);
    return 2;
  }
  /* the model's layout: policy__clf_load (policy_classify.c) */
  uint32_t head[2] = {POLICY_CLF_DIM, (uint32_t)NLEARNED};
  fwrite("PLCLF001", 1, 8, mf);
  fwrite(head, sizeof head, 1, mf);
  float *wf = pl_xcalloc(POLICY_CLF_DIM, sizeof *wf);
  set_print_string_function(quiet);
  struct feature_node **xs = pl_xcalloc(n, sizeof *xs);
  double *ys = pl_xcalloc(n, sizeof *ys);
  for (size_t k = 0; k < n; k++) xs[k] = ex[k].x;
  for (size_t l = 0; l < NLEARNED; l++) {
    size_t pos = 0;
    for (size_t k = 0; k < n; k++) pos += (ys[k] = ex[k].pos[l] ? 1 : -1) > 0;
    struct problem prob = {.l = (int)n, .n = POLICY_CLF_DIM + 1, .y = ys, .x = xs, .bias = -1};
    /* L2-regularised logistic regression solved in the primal by Newton's method: no
     * random order, so the same data give the same weights. The positive class is
     * weighted by how rare it is. */
    int wl[2] = {1, -1};
    double wv[2] = {pos ? (double)(n - pos) / (double)pos : 1.0, 1.0};
    struct parameter par = {.solver_type = L2R_LR, .eps = 0.001, .C = TRAIN_C, .nr_weight = 2, .weight_label = wl,
                            .weight = wv};
    const char *err = check_parameter(&prob, &par);
    if (err) {
      fprintf(stderr, "parley-train: %s\n", err);
      return 2;
    }
    struct model *m = train(&prob, &par);
    /* w is for the first label liblinear saw; make it the positive class's */
    double sign = m->label[0] == 1 ? 1.0 : -1.0;
    char name[24] = {0};
    snprintf(name, sizeof name, "%s", policy__cat_name(learned[l]));
    float bias = (float)(sign * m->w[POLICY_CLF_DIM]);
    for (unsigned k = 0; k < POLICY_CLF_DIM; k++) wf[k] = (float)(sign * m->w[k]);
    fwrite(name, 1, sizeof name, mf);
    fwrite(&bias, sizeof bias, 1, mf);
    fwrite(wf, sizeof *wf, POLICY_CLF_DIM, mf);
    fprintf(stderr, "parley-train: %s: %zu of %zu examples positive\n", policy__cat_name(learned[l]), pos, n);
    free_and_destroy_model(&m);
  }
  bool bad = ferror(mf) != 0;
  bad |= fclose(mf) != 0;
  fprintf(stderr, "parley-train: %zu examples, %zu held out, model %s\n", n, held, out);
  for (size_t k = 0; k < n; k++) free(ex[k].x);
  free(ex), free(xs), free(ys), free(idx), free(val), free(wf);
  policy_config_unref(cfg);
  return bad ? 2 : 0;
}
