/* policy_train.c - training the learned second stage: labelled messages in, a model out, deterministically (parley-train and `parley policy train`). */
#include <jansson.h>
#include <linear.h>
#include <math.h>
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
#define TRAIN_C 5.0
/* The default thresholds are chosen on scores of examples the model under test was not
 * trained on: NFOLDS models, each trained without one fold of the training part (never
 * the held-out fifth, which stays for the figures). */
#define NFOLDS 5
/* Of the clean training messages (no learned category), the share a category may hold
 * for review (its review threshold) and may reject (its finding threshold), on those
 * out-of-fold scores. */
#define REVIEW_CLEAN_SHARE 0.005
#define FINDING_CLEAN_SHARE 0.0
/* Bounds on the chosen thresholds: below REVIEW_MIN the model says "rather not"; below
 * FINDING_MIN it is not sure enough to refuse a seller's message without a person (the
 * band between the two is held for review, which catches as much) */
#define REVIEW_MIN 0.75
#define FINDING_MIN 0.90
#define FINDING_MAX 0.99

/* The fold of a labelled line: FNV-1a of "file/id" as policy_heldout, the digits above
 * the held-out fifth's, so the folds are fifths of the training part alike. */
static unsigned fold_of(const char *file, const char *id) {
  uint32_t h = 2166136261u;
  for (const char *p = file; *p; p++) h = (h ^ (unsigned char)*p) * 16777619u;
  h = (h ^ '/') * 16777619u;
  for (const char *p = id; *p; p++) h = (h ^ (unsigned char)*p) * 16777619u;
  return (h / 5) % NFOLDS;
}

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
  unsigned fold; /* of the cross-validation that chooses the thresholds */
  bool decided;  /* POLICY_CLF_MIN_WORDS words or more: the model may find or hold it */
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
static bool add(trainer *t, const char *text, size_t len, const bool pos[NLEARNED], unsigned weight, unsigned fold) {
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
  bool decided = policy__words_upto(norm, nlen, POLICY_CLF_MIN_WORDS) >= POLICY_CLF_MIN_WORDS;
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
  e->fold = fold % NFOLDS;
  e->decided = decided;
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
    bool ok = add(t, text, json_string_length(json_object_get(o, "text")), pos, 1, fold_of(f->name, id));
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

/* One category's logistic regression on the rows of every example outside fold skip
 * (NFOLDS: all of them), into w (POLICY_CLF_DIM weights, then the bias), signed for the
 * positive class. xs and ys hold t->total rows. */
static pl_err fit(const trainer *t, size_t l, unsigned skip, struct feature_node **xs, double *ys, double *w,
                  size_t *npos, pl_detail *d) {
  size_t r = 0, pos = 0;
  for (size_t k = 0; k < t->n; k++) {
    if (t->ex[k].fold == skip) continue;
    for (unsigned u = 0; u < t->ex[k].weight; u++, r++) {
      xs[r] = t->ex[k].x;
      pos += (ys[r] = t->ex[k].pos[l] ? 1 : -1) > 0;
    }
  }
  if (npos) *npos = pos;
  struct problem prob = {.l = (int)r, .n = POLICY_CLF_DIM + 1, .y = ys, .x = xs, .bias = -1};
  /* L2-regularised logistic regression solved in the primal by Newton's method: no
   * random order, so the same data give the same weights. The positive class is
   * weighted by how rare it is. */
  int wl[2] = {1, -1};
  double wv[2] = {pos ? (double)(r - pos) / (double)pos : 1.0, 1.0};
  struct parameter par = {.solver_type = L2R_LR, .eps = 0.001, .C = TRAIN_C, .nr_weight = 2, .weight_label = wl,
                          .weight = wv};
  const char *err = r ? check_parameter(&prob, &par) : "no rows";
  if (err) return pl_fail(d, PL_EINVAL, "liblinear: %s", err);
  struct model *m = train(&prob, &par);
  /* w is for the first label liblinear saw; make it the positive class's (a fold with
   * one class only has one label) */
  double sign = m->label[0] == 1 ? 1.0 : -1.0;
  if (m->nr_class < 2) sign = 0;
  for (unsigned k = 0; k <= POLICY_CLF_DIM; k++) w[k] = sign * m->w[k];
  free_and_destroy_model(&m);
  return PL_OK;
}

static double prob_of(const double *w, const struct feature_node *x) {
  double z = 0;
  for (; x->index != -1; x++) z += w[x->index - 1] * x->value;
  return 1.0 / (1.0 + exp(-z));
}

static int dbl_desc(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? 1 : x > y ? -1 : 0;
}

/* The lowest threshold at or above which at most share of the clean rows score
 * (scores: one per clean row, sorted from the highest). */
static float clean_cut(const double *scores, size_t n, double share) {
  size_t allowed = (size_t)(share * (double)n);
  if (allowed >= n) return 0;
  /* just above the first clean score past the allowance */
  return nextafterf((float)scores[allowed], 2.0f);
}

/* Each category's default thresholds from out-of-fold scores: the review threshold holds
 * at most REVIEW_CLEAN_SHARE of the clean messages, the finding threshold rejects at most
 * FINDING_CLEAN_SHARE of them. st gets them and the share of the category's positives
 * the review threshold reaches. */
static pl_err choose_thresholds(const trainer *t, struct feature_node **xs, double *ys, float finding[NLEARNED],
                                float review[NLEARNED], policy_train_stats *st, pl_detail *d) {
  double *w = pl_xmalloc((POLICY_CLF_DIM + 1) * sizeof *w);
  double *oof = pl_xcalloc(t->n * NLEARNED, sizeof *oof);
  pl_err rc = PL_OK;
  for (unsigned f = 0; f < NFOLDS && !rc; f++) {
    for (size_t l = 0; l < NLEARNED && !rc; l++) {
      if ((rc = fit(t, l, f, xs, ys, w, NULL, d))) break;
      for (size_t k = 0; k < t->n; k++)
        if (t->ex[k].fold == f) oof[k * NLEARNED + l] = prob_of(w, t->ex[k].x);
    }
  }
  double *clean = pl_xmalloc(t->total * sizeof *clean);
  for (size_t l = 0; l < NLEARNED && !rc; l++) {
    size_t nc = 0, npos = 0, caught = 0;
    for (size_t k = 0; k < t->n; k++) {
      const example *e = &t->ex[k];
      bool any = false;
      for (size_t m = 0; m < NLEARNED; m++) any |= e->pos[m];
      if (!any && e->decided) /* a message of fewer words is never found nor held */
        for (unsigned u = 0; u < e->weight; u++) clean[nc++] = oof[k * NLEARNED + l];
    }
    qsort(clean, nc, sizeof *clean, dbl_desc);
    float rv = clean_cut(clean, nc, REVIEW_CLEAN_SHARE), fd = clean_cut(clean, nc, FINDING_CLEAN_SHARE);
    if (rv < (float)REVIEW_MIN) rv = (float)REVIEW_MIN;
    if (rv > (float)FINDING_MAX) rv = (float)FINDING_MAX;
    if (fd < (float)FINDING_MIN) fd = (float)FINDING_MIN;
    if (fd < rv) fd = rv;
    if (fd > (float)FINDING_MAX) fd = (float)FINDING_MAX;
    review[l] = rv, finding[l] = fd;
    for (size_t k = 0; k < t->n; k++)
      if (t->ex[k].pos[l]) npos += t->ex[k].weight, caught += (oof[k * NLEARNED + l] >= rv) * t->ex[k].weight;
    st->finding[l] = fd, st->review[l] = rv;
    st->oof_recall[l] = npos ? (double)caught / (double)npos : 0;
  }
  free(clean), free(oof), free(w);
  return rc;
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
    if (!add(&t, extra[k].text, strlen(extra[k].text), pos, extra[k].weight, (unsigned)k))
      rc = pl_fail(d, PL_EUTF8, "example %zu is not UTF-8", k + 1);
    else st->extra++;
  }
  if (!rc && !t.n) rc = pl_fail(d, PL_EINVAL, "nothing to train on");
  if (rc) goto out;
  set_print_string_function(quiet);
  /* An example of weight w is w rows of the problem: liblinear has no weights per
   * instance, and for the logistic loss the two are the same. */
  struct feature_node **xs = pl_xcalloc(t.total, sizeof *xs);
  double *ys = pl_xcalloc(t.total, sizeof *ys);
  float finding[NLEARNED], review[NLEARNED];
  if ((rc = choose_thresholds(&t, xs, ys, finding, review, st, d))) {
    free(xs), free(ys);
    goto out;
  }
  size_t per = 24 + 4 + 8 + (size_t)POLICY_CLF_DIM * 4;
  char *buf = pl_xmalloc(16 + NLEARNED * per);
  size_t len = 0;
  uint32_t head[2] = {POLICY_CLF_DIM, (uint32_t)NLEARNED};
  put(&buf, &len, "PLCLF002", 8);
  put(&buf, &len, head, sizeof head);
  float *wf = pl_xcalloc(POLICY_CLF_DIM, sizeof *wf);
  double *w = pl_xmalloc((POLICY_CLF_DIM + 1) * sizeof *w);
  for (size_t l = 0; l < NLEARNED && !rc; l++) {
    size_t pos;
    if ((rc = fit(&t, l, NFOLDS, xs, ys, w, &pos, d))) break;
    char name[24] = {0};
    snprintf(name, sizeof name, "%s", policy__cat_name(learned[l]));
    float bias = (float)w[POLICY_CLF_DIM];
    for (unsigned k = 0; k < POLICY_CLF_DIM; k++) wf[k] = (float)w[k];
    put(&buf, &len, name, sizeof name);
    put(&buf, &len, &bias, sizeof bias);
    put(&buf, &len, &finding[l], sizeof finding[l]);
    put(&buf, &len, &review[l], sizeof review[l]);
    put(&buf, &len, wf, POLICY_CLF_DIM * sizeof *wf);
    st->positives[l] = pos;
  }
  free(xs), free(ys), free(wf), free(w);
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
