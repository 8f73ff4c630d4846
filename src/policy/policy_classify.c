/* policy_classify.c - the learned second stage: hashed n-gram features, the embedded logistic-regression model, per-category scores. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy_int.h"
#include "policy/policy_model.h"

/* ---- features ------------------------------------------------------------------ */

static bool tok_byte(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '\'' || c >= 0x80;
}

static uint32_t fnv(uint32_t h, const char *s, size_t n) {
  for (size_t k = 0; k < n; k++) {
    unsigned char c = (unsigned char)s[k];
    if (c >= '0' && c <= '9') c = '0'; /* every digit is one: "10%" and "20%" are the same */
    h = (h ^ c) * 16777619u;
  }
  return h;
}

static uint32_t feat(char kind, const char *s, size_t n) {
  uint32_t h = 2166136261u;
  h = (h ^ (unsigned char)kind) * 16777619u;
  return fnv(h, s, n) & (POLICY_CLF_DIM - 1);
}

static int u32_cmp(const void *x, const void *y) {
  uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
  return a < b ? -1 : a > b;
}

/* The length of the character n-grams taken across word boundaries (policy__clf_features). */
#define CLF_XG 5

size_t policy__clf_feature_cap(size_t n) { return 8 * n + 16; }

size_t policy__clf_features(const char *s, size_t n, uint32_t *idx, float *val) {
  size_t nf = 0;
  size_t prev_a = 0, prev_b = 0;
  bool have_prev = false;
  char buf[80];
  size_t i = 0;
  while (i < n) {
    while (i < n && !tok_byte((unsigned char)s[i])) i++;
    size_t a = i;
    while (i < n && tok_byte((unsigned char)s[i])) i++;
    if (i == a) break;
    size_t len = i - a;
    idx[nf++] = feat('w', s + a, len);
    if (have_prev && (prev_b - prev_a) + 1 + len < sizeof buf) {
      size_t pl = prev_b - prev_a;
      memcpy(buf, s + prev_a, pl);
      buf[pl] = ' ';
      memcpy(buf + pl + 1, s + a, len);
      idx[nf++] = feat('b', buf, pl + 1 + len);
    }
    have_prev = true, prev_a = a, prev_b = i;
    /* character 3- and 4-grams of " word ", which see "scammer" in "scammers" */
    if (len + 2 < sizeof buf) {
      buf[0] = ' ';
      memcpy(buf + 1, s + a, len);
      buf[len + 1] = ' ';
      size_t w = len + 2;
      for (size_t g = 3; g <= 4; g++)
        for (size_t p = 0; p + g <= w; p++) idx[nf++] = feat((char)('0' + g), buf + p, g);
    }
  }
  /* character CLF_XG-grams of the words joined by one space, across word boundaries:
   * "a video call", "write to us before" are seen beyond their words */
  {
    char win[CLF_XG];
    size_t wl = 0;
    bool space = true; /* a leading space */
    win[wl++] = ' ';
    for (size_t p = 0; p <= n; p++) {
      unsigned char c = p < n ? (unsigned char)s[p] : ' ';
      if (!tok_byte(c)) {
        if (space) continue;
        c = ' ', space = true;
      } else space = false;
      if (wl == CLF_XG) memmove(win, win + 1, --wl);
      win[wl++] = (char)c;
      if (wl == CLF_XG) idx[nf++] = feat('x', win, wl);
    }
  }
  if (!nf) return 0;
  qsort(idx, nf, sizeof *idx, u32_cmp);
  size_t m = 0;
  double norm = 0;
  for (size_t k = 0; k < nf; k++) {
    if (m && idx[m - 1] == idx[k]) {
      val[m - 1] += 1.0f;
      continue;
    }
    idx[m] = idx[k];
    val[m] = 1.0f;
    m++;
  }
  for (size_t k = 0; k < m; k++) norm += (double)val[k] * val[k];
  float inv = (float)(1.0 / sqrt(norm));
  for (size_t k = 0; k < m; k++) val[k] *= inv;
  return m;
}

/* ---- the model --------------------------------------------------------------- */

const char *policy__clf_check_version(void) { return policy_model_version; }

void policy__clf_free(policy__clf *c) { c->ncats = 0; }

/* FNV-1a of "file/id", digits as they are. */
bool policy_heldout(const char *file, const char *id) {
  uint32_t h = 2166136261u;
  for (const char *p = file; *p; p++) h = (h ^ (unsigned char)*p) * 16777619u;
  h = (h ^ '/') * 16777619u;
  for (const char *p = id; *p; p++) h = (h ^ (unsigned char)*p) * 16777619u;
  return h % 5 == 0;
}

/* The model (written by parley-train, src/policy/train_main.c), native byte order:
 * "PLCLF002", uint32 dim, uint32 categories, then per category a NUL-padded name of 24
 * bytes, a float bias, the float finding and review thresholds chosen at training (the
 * defaults; docs/policy.md "Default thresholds") and dim float weights. "PLCLF001" (a
 * marketplace's model trained before) has no thresholds: it gets POLICY_CLF_FINDING and
 * POLICY_CLF_REVIEW. The weights are used where they lie (the embedded model is read-only
 * data of the program), so a configuration copies nothing. */
pl_err policy__clf_load(policy__clf *c, const char *text, size_t len, pl_detail *d) {
  c->ncats = 0;
  c->enabled = false;
  if (!len) return PL_OK; /* built without a model */
  uint32_t dim, ncats;
  bool v2 = len >= 16 && !memcmp(text, "PLCLF002", 8);
  if (len < 16 || (!v2 && memcmp(text, "PLCLF001", 8)) || ((uintptr_t)text & 3))
    return pl_fail(d, PL_EINVAL, "policy model: not a PLCLF001 or PLCLF002 model");
  memcpy(&dim, text + 8, 4);
  memcpy(&ncats, text + 12, 4);
  size_t head = 24 + 4 + (v2 ? 8 : 0), per = head + (size_t)dim * 4;
  if (dim != POLICY_CLF_DIM || ncats > POLICY_NCATS || len != 16 + ncats * per)
    return pl_fail(d, PL_EINVAL, "policy model: dimension %u and %u categories do not fit its %zu bytes", dim, ncats, len);
  for (uint32_t k = 0; k < ncats; k++) {
    const char *p = text + 16 + k * per;
    char name[25];
    memcpy(name, p, 24);
    name[24] = '\0';
    int ci = policy__cat_from_name(name);
    if (ci < 0) return pl_fail(d, PL_EINVAL, "policy model: unknown category %s", name);
    policy__clf_cat *cc = &c->cats[c->ncats++];
    *cc = (policy__clf_cat){.cat = (policy__cat)ci, .w = (const float *)(const void *)(p + head),
                            .finding = POLICY_CLF_FINDING, .review = POLICY_CLF_REVIEW, .clear = -1};
    memcpy(&cc->bias, p + 24, 4);
    if (v2) {
      memcpy(&cc->finding, p + 28, 4);
      memcpy(&cc->review, p + 32, 4);
      if (!(cc->review >= 0 && cc->review <= cc->finding && cc->finding <= 1))
        return pl_fail(d, PL_EINVAL, "policy model: %s: thresholds out of order", name);
    }
    snprintf(cc->rule_sure, sizeof cc->rule_sure, "clf.%s", name);
    snprintf(cc->rule_unsure, sizeof cc->rule_unsure, "clf.%s.uncertain", name);
  }
  c->enabled = c->ncats > 0;
  return PL_OK;
}

policy__clf_cat *policy__clf_find(policy__clf *c, policy__cat cat) {
  for (size_t k = 0; k < c->ncats; k++)
    if (c->cats[k].cat == cat) return &c->cats[k];
  return NULL;
}

static double score_of(const policy__clf_cat *cc, const uint32_t *idx, const float *val, size_t nf) {
  double z = cc->bias;
  for (size_t k = 0; k < nf; k++) z += (double)cc->w[idx[k]] * val[k];
  return 1.0 / (1.0 + exp(-z));
}

/* ---- the stage --------------------------------------------------------------- */

static bool has_finding(const policy__scan *sc, policy__cat cat) {
  for (size_t k = 0; k < sc->nhits; k++)
    if (sc->hits[k].cat == cat && !sc->hits[k].except) return true;
  return false;
}

/* Whether an exception of cat matched in the message. */
static bool has_exception(const policy__scan *sc, policy__cat cat) {
  for (size_t k = 0; k < sc->nexc; k++)
    if (sc->exc[k].cat == cat) return true;
  return false;
}

/* Whether bytes [x, e) of the normalised text hold, in the original, where an exception of
 * cat matched. */
static bool holds_exception(const policy__scan *sc, policy__cat cat, size_t x, size_t e) {
  size_t start = sc->norm.beg[x], end = sc->norm.end[e - 1];
  for (size_t k = 0; k < sc->nexc; k++)
    if (sc->exc[k].cat == cat && sc->exc[k].start < end && start < sc->exc[k].end) return true;
  return false;
}

/* Words in the normalised text, counted up to most. */
size_t policy__words_upto(const char *s, size_t n, size_t most) {
  size_t w = 0;
  for (size_t i = 0; i < n && w < most; i++)
    if (tok_byte((unsigned char)s[i]) && (i == 0 || !tok_byte((unsigned char)s[i - 1]))) w++;
  return w;
}

/* Scores bytes [x, e) of the normalised text for cc, keeping the best in *best, [*a, *b).
 * With outside_exceptions, only a span of POLICY_CLF_MIN_WORDS words or more counts. */
static void score_span(policy__scan *sc, const policy__clf_cat *cc, uint32_t *idx, float *val,
                       bool outside_exceptions, size_t x, size_t e, double *best, size_t *a, size_t *b) {
  const char *s = sc->norm.s;
  while (x < e && s[x] == ' ') x++;
  while (e > x && s[e - 1] == ' ') e--;
  if (e <= x || (outside_exceptions && policy__words_upto(s + x, e - x, POLICY_CLF_MIN_WORDS) < POLICY_CLF_MIN_WORDS))
    return;
  size_t nf = policy__clf_features(s + x, e - x, idx, val);
  double p = score_of(cc, idx, val, nf);
  if (p > *best) *best = p, *a = x, *b = e;
}

/* The clauses of the sentence [x, e) (split at its commas) that hold no exception of cc's
 * category, each run of them read as one span: "we can't accept PayPal, so cancel the
 * order and I'll invoice you directly" is read as "so cancel the order and I'll invoice
 * you directly". */
static void score_clauses(policy__scan *sc, const policy__clf_cat *cc, uint32_t *idx, float *val, size_t x,
                          size_t e, double *best, size_t *a, size_t *b) {
  const char *s = sc->norm.s;
  size_t run = x; /* where the run of clauses without an exception began */
  for (size_t c = x, i = x; i <= e; i++) {
    if (i < e && s[i] != ',') continue;
    /* the clause [c, i) */
    if (i > c && holds_exception(sc, cc->cat, c, i)) {
      if (c > run) score_span(sc, cc, idx, val, true, run, c, best, a, b);
      run = i + 1;
    }
    c = i + 1;
  }
  if (run > x && run < e) score_span(sc, cc, idx, val, true, run, e, best, a, b);
}

/* The sentence of the normalised text that scores highest for cc: [*a, *b), its score the
 * result. With outside_exceptions, only sentences of POLICY_CLF_MIN_WORDS words or more
 * count, and of a sentence that holds an exception of cc's category only its clauses
 * without one (score_clauses); -1 when nothing counts. */
static double best_sentence(policy__scan *sc, const policy__clf_cat *cc, uint32_t *idx, float *val,
                            bool outside_exceptions, size_t *a, size_t *b) {
  const char *s = sc->norm.s;
  size_t n = sc->norm.len;
  double best = -1;
  size_t st = 0;
  *a = 0, *b = n;
  for (size_t i = 0; i <= n; i++) {
    bool end = i == n || ((s[i] == '.' || s[i] == '!' || s[i] == '?' || s[i] == ';') && (i + 1 == n || s[i + 1] == ' '));
    if (!end) continue;
    size_t e = i < n ? i + 1 : n;
    size_t x = st;
    while (x < e && s[x] == ' ') x++;
    if (e > x && outside_exceptions && holds_exception(sc, cc->cat, x, e))
      score_clauses(sc, cc, idx, val, x, e, &best, a, b);
    else if (e > x)
      score_span(sc, cc, idx, val, outside_exceptions, x, e, &best, a, b);
    st = e;
  }
  return best;
}

void policy__classify(policy__scan *sc) {
  const policy__clf *c = &sc->cfg->clf;
  if (!c->enabled || sc->norm.len == 0) return;
  /* a few words ("Next day.") are too little for the model to read an intent in: their
   * scores are mostly its bias and one or two n-grams. They are still scored. */
  bool too_short = policy__words_upto(sc->norm.s, sc->norm.len, POLICY_CLF_MIN_WORDS) < POLICY_CLF_MIN_WORDS;
  size_t cap = policy__clf_feature_cap(sc->norm.len);
  uint32_t *idx = pl_arena_alloc(sc->mem, cap * sizeof *idx);
  float *val = pl_arena_alloc(sc->mem, cap * sizeof *val);
  size_t nf = policy__clf_features(sc->norm.s, sc->norm.len, idx, val);
  for (size_t k = 0; k < c->ncats; k++) {
    const policy__clf_cat *cc = &c->cats[k];
    double p = score_of(cc, idx, val, nf);
    sc->scores[sc->nscores++] = (policy_score){policy__cat_name(cc->cat), p};
    if (p < cc->clear) {
      /* the operator allows the model to overrule this category's pattern rules */
      size_t kept = 0;
      for (size_t h = 0; h < sc->nhits; h++)
        if (!(sc->hits[h].cat == cc->cat && sc->hits[h].pattern && !sc->hits[h].except)) sc->hits[kept++] = sc->hits[h];
      sc->nhits = kept;
      continue;
    }
    /* a rule's finding says it already */
    if (too_short || p < cc->review || has_finding(sc, cc->cat)) continue;
    size_t a, b;
    uint32_t *sidx = pl_arena_alloc(sc->mem, cap * sizeof *sidx);
    float *sval = pl_arena_alloc(sc->mem, cap * sizeof *sval);
    if (has_exception(sc, cc->cat)) {
      /* A rule's exception has read the context of its own sentence ("we can't accept
       * PayPal") and the model does not overrule it there; a sentence of its own elsewhere
       * is still read, so that a refusal put in front does not shield an invitation
       * ("We can't accept PayPal. Cancel the order and I'll invoice you directly."). */
      p = best_sentence(sc, cc, sidx, sval, true, &a, &b);
      if (p < cc->review) continue;
    } else {
      best_sentence(sc, cc, sidx, sval, false, &a, &b);
    }
    size_t n0 = sc->nhits;
    bool sure = p >= cc->finding;
    policy__hit_view(sc, &sc->norm, a, b, cc->cat, POLICY_SEV_HIGH, sure ? cc->rule_sure : cc->rule_unsure);
    if (sc->nhits > n0) sc->hits[n0].hold = !sure;
  }
}
