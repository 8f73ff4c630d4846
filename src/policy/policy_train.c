/* policy_train.c - training the learned second stage: labelled messages in, a model out, deterministically (parley-train and `parley policy train`). */
#include <jansson.h>
#include <linear.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy_int.h"

/* The categories the model learns: what keywords cannot see (docs/policy.md). Links,
 * contact details, personal data and the [Important] tag are the rules' alone. */
static const policy__cat learned[] = {POLICY_CAT_OFF_PLATFORM, POLICY_CAT_REVIEW_REQUEST, POLICY_CAT_PROMOTION,
                                      POLICY_CAT_PROFANITY};
#define NLEARNED (sizeof learned / sizeof learned[0])
/* liblinear's cost of errors; features are L2-normalised, so this is the usual scale */
#define TRAIN_C 2.0

bool policy_category_learned(const char *name) {
  int c = name ? policy__cat_from_name(name) : -1;
  for (size_t l = 0; l < NLEARNED; l++)
    if (c == (int)learned[l]) return true;
  return false;
}

const char *policy_learned_category(size_t k) { return k < NLEARNED ? policy__cat_name(learned[k]) : NULL; }

void policy_model_version_of(const char *model, size_t len, char out[17]) {
  unsigned char h[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(h, (const unsigned char *)model, len);
  char hex[2 * crypto_hash_sha256_BYTES + 1];
  sodium_bin2hex(hex, sizeof hex, h, sizeof h);
  snprintf(out, 17, "clf-%.12s", hex);
}

static void quiet(const char *s) { (void)s; }

typedef struct {
  struct feature_node *x;
  bool pos[NLEARNED];
  unsigned weight;
} example;

typedef struct {
  const policy_config *cfg;
  example *ex;
  size_t n, cap, total; /* total: counting each example's weight */
  uint32_t *idx;
  float *val;
  size_t fcap;
} trainer;

/* Adds one labelled text (pos: per learned category). false: not UTF-8. */
static bool add(trainer *t, const char *text, size_t len, const bool pos[NLEARNED], unsigned weight) {
  char *norm = policy__normalized_text(t->cfg, text, len);
  if (!norm) return false;
  size_t nlen = strlen(norm);
  size_t need = policy__clf_feature_cap(nlen);
  if (need > t->fcap) {
    t->fcap = need;
    t->idx = pl_xrealloc(t->idx, t->fcap * sizeof *t->idx);
    t->val = pl_xrealloc(t->val, t->fcap * sizeof *t->val);
  }
  size_t nf = policy__clf_features(norm, nlen, t->idx, t->val);
  free(norm);
  if (t->n == t->cap) t->ex = pl_xrealloc(t->ex, (t->cap = t->cap ? t->cap * 2 : 1024) * sizeof *t->ex);
  example *e = &t->ex[t->n++];
  memset(e, 0, sizeof *e);
  e->x = pl_xcalloc(nf + 2, sizeof *e->x);
  for (size_t k = 0; k < nf; k++) e->x[k] = (struct feature_node){(int)t->idx[k] + 1, t->val[k]};
  e->x[nf] = (struct feature_node){POLICY_CLF_DIM + 1, 1.0}; /* the bias */
  e->x[nf + 1].index = -1;
  memcpy(e->pos, pos, sizeof e->pos);
  e->weight = weight ? weight : 1;
  t->total += e->weight;
  return true;
}

/* The labelled lines of one file, except the held-out fifth. */
static pl_err add_file(trainer *t, const policy_train_file *f, policy_train_stats *st, pl_detail *d) {
  const char *p = f->text, *end = f->text + f->len;
  long lineno = 0;
  while (p < end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
    lineno++;
    json_error_t je;
    json_t *o = json_loadb(p, n, 0, &je);
    p += n + (nl ? 1 : 0);
    if (!o) continue; /* blank lines */
    const char *id = json_string_value(json_object_get(o, "id"));
    const char *text = json_string_value(json_object_get(o, "text"));
    if (!id || !text) {
      json_decref(o);
      return pl_fail(d, PL_EINVAL, "%s:%ld: id and text are needed", f->name, lineno);
    }
    if (policy_heldout(f->name, id)) {
      st->held_out++;
      json_decref(o);
      continue;
    }
    bool pos[NLEARNED] = {0};
    json_t *c;
    size_t k;
    json_array_foreach(json_object_get(o, "categories"), k, c) {
      int ci = policy__cat_from_name(json_string_value(c) ? json_string_value(c) : "");
      for (size_t l = 0; l < NLEARNED; l++)
        if (ci == (int)learned[l]) pos[l] = true;
    }
    bool ok = add(t, text, json_string_length(json_object_get(o, "text")), pos, 1);
    json_decref(o);
    if (!ok) return pl_fail(d, PL_EUTF8, "%s:%ld: not UTF-8", f->name, lineno);
    st->examples++;
  }
  return PL_OK;
}

/* The model's layout is policy__clf_load's (policy_classify.c). */
static void put(char **buf, size_t *len, const void *p, size_t n) {
  memcpy(*buf + *len, p, n);
  *len += n;
}

pl_err policy_train(const policy_config *cfg, const policy_train_file *files, size_t nfiles,
                    const policy_example *extra, size_t nextra, char **model, size_t *model_len,
                    policy_train_stats *st, pl_detail *d) {
  *model = NULL;
  *model_len = 0;
  policy_train_stats local = {0};
  if (!st) st = &local;
  memset(st, 0, sizeof *st);
  trainer t = {.cfg = cfg};
  pl_err rc = PL_OK;
  for (size_t f = 0; f < nfiles && !rc; f++) rc = add_file(&t, &files[f], st, d);
  for (size_t k = 0; k < nextra && !rc; k++) {
    bool pos[NLEARNED] = {0};
    for (size_t l = 0; l < NLEARNED; l++) pos[l] = (extra[k].categories >> learned[l]) & 1u;
    if (!add(&t, extra[k].text, strlen(extra[k].text), pos, extra[k].weight))
      rc = pl_fail(d, PL_EUTF8, "example %zu is not UTF-8", k + 1);
    else st->extra++;
  }
  if (!rc && !t.n) rc = pl_fail(d, PL_EINVAL, "nothing to train on");
  if (rc) goto out;
  size_t per = 24 + 4 + (size_t)POLICY_CLF_DIM * 4;
  char *buf = pl_xmalloc(16 + NLEARNED * per);
  size_t len = 0;
  uint32_t head[2] = {POLICY_CLF_DIM, (uint32_t)NLEARNED};
  put(&buf, &len, "PLCLF001", 8);
  put(&buf, &len, head, sizeof head);
  float *wf = pl_xcalloc(POLICY_CLF_DIM, sizeof *wf);
  set_print_string_function(quiet);
  /* An example of weight w is w rows of the problem: liblinear has no weights per
   * instance, and for the logistic loss the two are the same. */
  struct feature_node **xs = pl_xcalloc(t.total, sizeof *xs);
  double *ys = pl_xcalloc(t.total, sizeof *ys);
  for (size_t k = 0, r = 0; k < t.n; k++)
    for (unsigned w = 0; w < t.ex[k].weight; w++) xs[r++] = t.ex[k].x;
  for (size_t l = 0; l < NLEARNED && !rc; l++) {
    size_t pos = 0;
    for (size_t k = 0, r = 0; k < t.n; k++)
      for (unsigned w = 0; w < t.ex[k].weight; w++) pos += (ys[r++] = t.ex[k].pos[l] ? 1 : -1) > 0;
    struct problem prob = {.l = (int)t.total, .n = POLICY_CLF_DIM + 1, .y = ys, .x = xs, .bias = -1};
    /* L2-regularised logistic regression solved in the primal by Newton's method: no
     * random order, so the same data give the same weights. The positive class is
     * weighted by how rare it is. */
    int wl[2] = {1, -1};
    double wv[2] = {pos ? (double)(t.total - pos) / (double)pos : 1.0, 1.0};
    struct parameter par = {.solver_type = L2R_LR, .eps = 0.001, .C = TRAIN_C, .nr_weight = 2, .weight_label = wl,
                            .weight = wv};
    const char *err = check_parameter(&prob, &par);
    if (err) {
      rc = pl_fail(d, PL_EINVAL, "liblinear: %s", err);
      break;
    }
    struct model *m = train(&prob, &par);
    /* w is for the first label liblinear saw; make it the positive class's */
    double sign = m->label[0] == 1 ? 1.0 : -1.0;
    char name[24] = {0};
    snprintf(name, sizeof name, "%s", policy__cat_name(learned[l]));
    float bias = (float)(sign * m->w[POLICY_CLF_DIM]);
    for (unsigned k = 0; k < POLICY_CLF_DIM; k++) wf[k] = (float)(sign * m->w[k]);
    put(&buf, &len, name, sizeof name);
    put(&buf, &len, &bias, sizeof bias);
    put(&buf, &len, wf, POLICY_CLF_DIM * sizeof *wf);
    st->positives[l] = pos;
    free_and_destroy_model(&m);
  }
  free(xs), free(ys), free(wf);
  if (rc) {
    free(buf);
    goto out;
  }
  *model = buf;
  *model_len = len;
out:
  for (size_t k = 0; k < t.n; k++) free(t.ex[k].x);
  free(t.ex), free(t.idx), free(t.val);
  return rc;
}
