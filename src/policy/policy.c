/* policy.c - the content policy engine's public entry points: configuration, the scan pipeline, the decision. */
#include "policy/policy.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unicode/unorm2.h>

#include "policy/policy_int.h"
#include "policy/policy_model.h"
#include "policy/policy_rules_data.h"

_Static_assert(sizeof(((policy_verdict *)0)->scores) / sizeof(policy_score) == POLICY_NCATS,
               "a verdict holds a score per category");

/* Every category's name, what a person calls it, the phrase that names it in a sentence
 * (a refused mail reply lists them) and the hint that helps a seller rewrite the text; the
 * API serves them (GET /v1/meta) so that the message center shows the same words. In the
 * order of policy__cat. */
static const policy_category cats[POLICY_NCATS] = {
    {"link", "Link", "a link or web address outside the marketplace",
     "Links and web addresses outside the marketplace are not allowed. Remove the address; describe where to find things on the marketplace instead."},
    {"email", "E-mail address", "an e-mail address",
     "E-mail addresses are not allowed, also when spelled out. Buyers reach you through this conversation."},
    {"phone", "Phone number", "a phone number", "Phone numbers are not allowed in any format. Keep the conversation here."},
    {"off_platform", "Contact outside the marketplace", "an invitation to talk or pay outside the marketplace",
     "Do not invite the buyer to talk or pay outside the marketplace (other apps, websites, payment services)."},
    {"review_request", "Review request", "a request for a review, feedback or rating",
     "Do not ask for reviews, feedback or ratings in a message, and do not offer anything for them. Use the marketplace's review request instead."},
    {"promotion", "Promotion", "a promotion, coupon or advertisement",
     "Coupons, discounts, upsells and \"see our other products\" are not allowed in buyer messages."},
    {"emoji", "Emoji", "emoji or decorative symbols", "Emoji and decorative symbols are not allowed. Plain text only."},
    {"personal_data", "Personal data", "a request for personal data",
     "Do not ask for personal data the order does not need (date of birth, ID or card numbers, passwords, private contact details)."},
    {"formatting", "Formatting", "spam-like formatting",
     "Avoid runs of blank lines, long ALL-CAPS stretches, repeated punctuation and decorative separators."},
    {"profanity", "Offensive language", "offensive language", "Offensive or abusive language is not allowed. Rephrase politely."},
    {"important_tag", "[Important] tag", "the [Important] tag", "The [Important] tag is no longer used. Remove it."},
};

const policy_category *policy_categories(size_t *n) {
  *n = POLICY_NCATS;
  return cats;
}

const policy_category *policy_category_find(const char *name) {
  int k = name ? policy__cat_from_name(name) : -1;
  return k < 0 ? NULL : &cats[k];
}

const char *policy__cat_name(policy__cat c) { return (unsigned)c < POLICY_NCATS ? cats[c].name : "unknown"; }

int policy__cat_from_name(const char *name) {
  for (int k = 0; k < POLICY_NCATS; k++)
    if (!strcmp(cats[k].name, name)) return k;
  return -1;
}

static const char *const action_names[] = {[POLICY_DELIVER] = "deliver", [POLICY_REVIEW] = "review",
                                           [POLICY_REJECT] = "reject"};
#define NACTIONS (sizeof action_names / sizeof *action_names)

const char *policy_action_name(policy_action a) {
  return (size_t)a < NACTIONS ? action_names[a] : "deliver";
}

/* The action of a name of the rule file, or -1. */
static int action_from_name(const char *s) {
  for (size_t k = 0; k < NACTIONS; k++)
    if (!strcmp(action_names[k], s)) return (int)k;
  return -1;
}

static void config_free(policy_config *c) {
  if (!c) return;
  if (c->parent) { /* everything compiled is the parent's */
    for (size_t k = 0; k < c->npool; k++) policy__worker_free(c->pool[k]);
    free(c->pool);
    pthread_mutex_destroy(&c->pool_lock);
    policy_config_unref(c->parent);
    free(c->model);
    free(c);
    return;
  }
  for (size_t k = 0; k < c->nrules; k++) {
    free(c->rules[k].id);
    if (c->som) hs_free_database(c->som[k]);
  }
  free(c->som);
  free(c->som_width);
  free(c->rules);
  for (size_t k = 0; k < c->npool; k++) policy__worker_free(c->pool[k]);
  free(c->pool);
  hs_free_scratch(c->proto);
  hs_free_database(c->db);
  if (c->spoof) uspoof_close(c->spoof);
  policy__strs_free(&c->allow);
  policy__strs_free(&c->shorteners);
  policy__strs_free(&c->brands);
  policy__strs_free(&c->freemail);
  policy__clf_free(&c->clf);
  pthread_mutex_destroy(&c->pool_lock);
  free(c);
}

static pl_err read_file(const char *path, char **out, size_t *len, pl_detail *d) {
  FILE *f = fopen(path, "rb");
  if (!f) return pl_fail(d, PL_EIO, "cannot open %s", path);
  size_t cap = 4096, n = 0;
  char *b = pl_xmalloc(cap);
  size_t r;
  while ((r = fread(b + n, 1, cap - n - 1, f)) > 0) {
    n += r;
    if (cap - n - 1 == 0) b = pl_xrealloc(b, cap *= 2);
  }
  bool bad = ferror(f);
  fclose(f);
  if (bad) {
    free(b);
    return pl_fail(d, PL_EIO, "cannot read %s", path);
  }
  b[n] = '\0';
  *out = b;
  *len = n;
  return PL_OK;
}

static pl_err th_get(json_t *th, const char *key, int *dst, int lo, int hi, pl_detail *d) {
  json_t *v = json_object_get(th, key);
  if (!v) return PL_OK;
  if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
    return pl_fail(d, PL_EINVAL, "config: thresholds.%s must be an integer from %d to %d", key, lo, hi);
  *dst = (int)json_integer_value(v);
  return PL_OK;
}

static pl_err score_get(json_t *o, const char *cat, const char *key, float *dst, pl_detail *d) {
  json_t *v = json_object_get(o, key);
  if (!v) return PL_OK;
  if (!json_is_number(v) || json_number_value(v) < 0 || json_number_value(v) > 1)
    return pl_fail(d, PL_EINVAL, "config: classifier.thresholds.%s.%s must be a number from 0 to 1", cat, key);
  *dst = (float)json_number_value(v);
  return PL_OK;
}

/* The "classifier" object of the configuration (docs/policy.md "The learned second stage"). */
static pl_err load_classifier(policy_config *c, json_t *v, pl_detail *d) {
  if (!json_is_object(v)) return pl_fail(d, PL_EINVAL, "config: classifier must be an object");
  json_t *x = json_object_get(v, "enabled");
  if (x && !json_is_boolean(x)) return pl_fail(d, PL_EINVAL, "config: classifier.enabled must be true or false");
  if (x && !json_is_true(x)) c->clf.enabled = false;
  const char *k;
  json_t *t = json_object_get(v, "thresholds");
  if (t && !json_is_object(t)) return pl_fail(d, PL_EINVAL, "config: classifier.thresholds must be an object");
  json_object_foreach(t, k, x) {
    int ci = policy__cat_from_name(k);
    policy__clf_cat *cc = ci < 0 ? NULL : policy__clf_find(&c->clf, (policy__cat)ci);
    if (!cc) return pl_fail(d, PL_EINVAL, "config: classifier.thresholds.%s: the model has no such category", k);
    if (!json_is_object(x)) return pl_fail(d, PL_EINVAL, "config: classifier.thresholds.%s must be an object", k);
    pl_err rc;
    if ((rc = score_get(x, k, "finding", &cc->finding, d)) || (rc = score_get(x, k, "review", &cc->review, d)))
      return rc;
    if (cc->review > cc->finding)
      return pl_fail(d, PL_EINVAL, "config: classifier.thresholds.%s: review must not be above finding", k);
    cc->operator_set = true;
  }
  /* Contact details, links and the [Important] tag stay with the rules: the model can
   * never clear them, whatever the operator writes. */
  json_t *m = json_object_get(v, "may_clear");
  if (m && !json_is_object(m)) return pl_fail(d, PL_EINVAL, "config: classifier.may_clear must be an object");
  json_object_foreach(m, k, x) {
    int ci = policy__cat_from_name(k);
    if (ci == POLICY_CAT_LINK || ci == POLICY_CAT_EMAIL || ci == POLICY_CAT_PHONE || ci == POLICY_CAT_IMPORTANT_TAG)
      return pl_fail(d, PL_EINVAL, "config: classifier.may_clear.%s: links, contact details and the [Important] tag stay with the rules", k);
    policy__clf_cat *cc = ci < 0 ? NULL : policy__clf_find(&c->clf, (policy__cat)ci);
    if (!cc) return pl_fail(d, PL_EINVAL, "config: classifier.may_clear.%s: the model has no such category", k);
    if (!json_is_number(x) || json_number_value(x) < 0 || json_number_value(x) > 1)
      return pl_fail(d, PL_EINVAL, "config: classifier.may_clear.%s must be a number from 0 to 1", k);
    cc->clear = (float)json_number_value(x);
  }
  return PL_OK;
}

/* Applies the operator's JSON configuration file (see docs/policy.md). */
static pl_err load_config_file(policy_config *c, const char *path, policy__patterns *pats, pl_detail *d) {
  json_error_t je;
  json_t *root = json_load_file(path, 0, &je);
  if (!root) return pl_fail(d, PL_EINVAL, "config %s:%d: %s", path, je.line, je.text);
  pl_err rc = PL_OK;
  if (!json_is_object(root)) {
    rc = pl_fail(d, PL_EINVAL, "config %s: expected a JSON object", path);
    goto out;
  }
  json_t *v;
  size_t i;
  json_t *x;
  if ((v = json_object_get(root, "allow_domains"))) {
    if (!json_is_array(v)) {
      rc = pl_fail(d, PL_EINVAL, "config: allow_domains must be an array of strings");
      goto out;
    }
    json_array_foreach(v, i, x) {
      if (!json_is_string(x)) {
        rc = pl_fail(d, PL_EINVAL, "config: allow_domains must be an array of strings");
        goto out;
      }
      policy__strs_add(&c->allow, json_string_value(x), json_string_length(x));
    }
  }
  if ((v = json_object_get(root, "actions"))) {
    const char *k;
    json_object_foreach(v, k, x) {
      int ci = policy__cat_from_name(k);
      int ai = json_is_string(x) ? action_from_name(json_string_value(x)) : -1;
      if (ci < 0 || ai < 0) {
        rc = pl_fail(d, PL_EINVAL, "config: actions.%s: unknown category or action", k);
        goto out;
      }
      c->action[ci] = (policy_action)ai;
    }
  }
  if ((v = json_object_get(root, "low_severity_action"))) {
    int ai = json_is_string(v) ? action_from_name(json_string_value(v)) : -1;
    if (ai < 0) {
      rc = pl_fail(d, PL_EINVAL, "config: low_severity_action must be deliver, review or reject");
      goto out;
    }
    c->low_action = (policy_action)ai;
  }
  if ((v = json_object_get(root, "thresholds"))) {
    if ((rc = th_get(v, "blank_lines", &c->th.blank_lines, 1, 1000, d)) ||
        (rc = th_get(v, "caps_words", &c->th.caps_words, 1, 1000, d)) ||
        (rc = th_get(v, "caps_letters", &c->th.caps_letters, 1, 10000, d)) ||
        (rc = th_get(v, "exclaim_run", &c->th.exclaim_run, 2, 1000, d)) ||
        (rc = th_get(v, "separator_run", &c->th.separator_run, 2, 1000, d)) ||
        (rc = th_get(v, "separator_run_plain", &c->th.separator_run_plain, 2, 1000, d)) ||
        (rc = th_get(v, "phone_min_digits", &c->th.phone_min_digits, 3, 30, d)) ||
        (rc = th_get(v, "phone_max_digits", &c->th.phone_max_digits, 3, 30, d)))
      goto out;
  }
  if ((v = json_object_get(root, "classifier")) && (rc = load_classifier(c, v, d))) goto out;
  if ((v = json_object_get(root, "rule_files"))) {
    if (!json_is_array(v)) {
      rc = pl_fail(d, PL_EINVAL, "config: rule_files must be an array of paths");
      goto out;
    }
    json_array_foreach(v, i, x) {
      if (!json_is_string(x)) {
        rc = pl_fail(d, PL_EINVAL, "config: rule_files must be an array of paths");
        goto out;
      }
      char *text = NULL;
      size_t len = 0;
      const char *p = json_string_value(x);
      if ((rc = read_file(p, &text, &len, d))) goto out;
      const char *base = strrchr(p, '/');
      rc = policy__rules_load(c, base ? base + 1 : p, text, len, pats, d);
      free(text);
      if (rc) goto out;
    }
  }
out:
  json_decref(root);
  return rc;
}

pl_err policy_config_new(const policy_options *opt, policy_config **out, pl_detail *d) {
  *out = NULL;
  policy_config *c = pl_xcalloc(1, sizeof *c);
  atomic_init(&c->refs, 1);
  pthread_mutex_init(&c->pool_lock, NULL);
  for (int k = 0; k < POLICY_NCATS; k++) c->action[k] = POLICY_REJECT;
  c->low_action = POLICY_REVIEW;
  c->th = (policy__thresholds){.blank_lines = 3, .caps_words = 5, .caps_letters = 20, .exclaim_run = 4,
                               .separator_run = 6, .separator_run_plain = 10,
                               .phone_min_digits = 7, .phone_max_digits = 15};
  policy__patterns pats = {0};
  pl_err rc = PL_OK;
  UErrorCode st = U_ZERO_ERROR;
  c->nfkc_cf = unorm2_getNFKCCasefoldInstance(&st);
  if (U_SUCCESS(st)) c->nfd = unorm2_getNFDInstance(&st);
  if (U_SUCCESS(st)) c->spoof = uspoof_open(&st);
  if (U_FAILURE(st)) {
    rc = pl_fail(d, PL_EINTERNAL, "ICU: %s", u_errorName(st));
    goto fail;
  }
  c->psl = psl_builtin();
  if (!c->psl) {
    rc = pl_fail(d, PL_EINTERNAL, "libpsl has no built-in public suffix list");
    goto fail;
  }
  if ((rc = policy__clf_load(&c->clf, policy_model_text, policy_model_len, d))) goto fail;
  for (const policy_rule_file *f = policy_rule_files; f->name; f++)
    if ((rc = policy__rules_load(c, f->name, f->text, f->len, &pats, d))) goto fail;
  if (opt && opt->allow_domains)
    for (const char *const *a = opt->allow_domains; *a; a++) policy__strs_add(&c->allow, *a, strlen(*a));
  if (opt && opt->config_path && (rc = load_config_file(c, opt->config_path, &pats, d))) goto fail;
  snprintf(c->engine, sizeof c->engine, "%s", c->clf.enabled ? policy_model_engine : POLICY_ENGINE_NAME);
  snprintf(c->version, sizeof c->version, "%s", c->clf.enabled ? policy_model_version : "");
  if ((rc = policy__rules_compile(c, &pats, opt ? opt->cache_dir : NULL, d))) goto fail;
  policy__patterns_free(&pats);
  *out = c;
  return PL_OK;
fail:
  policy__patterns_free(&pats);
  config_free(c);
  return rc;
}

pl_err policy_config_with_model(policy_config *base, const char *model, size_t len, policy_config **out,
                                pl_detail *d) {
  *out = NULL;
  /* the weights are used where they lie: a copy (malloc's alignment suits its floats) */
  char *copy = len ? pl_xmalloc(len) : NULL;
  if (len) memcpy(copy, model, len);
  policy__clf clf;
  pl_err rc = len ? policy__clf_load(&clf, copy, len, d) : pl_fail(d, PL_EINVAL, "policy model: empty");
  if (rc) {
    free(copy);
    return rc;
  }
  while (base->parent) base = base->parent;
  policy_config *c = pl_xmalloc(sizeof *c);
  memcpy(c, base, sizeof *c);
  atomic_init(&c->refs, 1);
  pthread_mutex_init(&c->pool_lock, NULL);
  c->pool = NULL;
  c->npool = c->cappool = 0;
  c->parent = policy_config_ref(base);
  c->model = copy;
  /* the operator's thresholds and clearing stay as they were, per category; where the
   * operator set none, the model's own defaults (chosen on its own training data) count */
  for (size_t k = 0; k < clf.ncats; k++) {
    const policy__clf_cat *was = policy__clf_find(&base->clf, clf.cats[k].cat);
    if (!was) continue;
    if (was->operator_set) {
      clf.cats[k].finding = was->finding;
      clf.cats[k].review = was->review;
      clf.cats[k].operator_set = true;
    }
    clf.cats[k].clear = was->clear;
  }
  /* a base without an embedded model (parley-train's) has nothing the operator turned off */
  clf.enabled = clf.ncats > 0 && (base->clf.enabled || !base->clf.ncats);
  c->clf = clf;
  if (clf.enabled) {
    policy_model_version_of(copy, len, c->version);
    snprintf(c->engine, sizeof c->engine, "%s+%s", POLICY_ENGINE_NAME, c->version);
  } else {
    c->version[0] = '\0';
    snprintf(c->engine, sizeof c->engine, "%s", POLICY_ENGINE_NAME);
  }
  *out = c;
  return PL_OK;
}

const char *policy_config_model_version(const policy_config *cfg) { return cfg->version; }

policy_config *policy_config_ref(policy_config *cfg) {
  atomic_fetch_add(&cfg->refs, 1);
  return cfg;
}

void policy_config_unref(policy_config *cfg) {
  if (cfg && atomic_fetch_sub(&cfg->refs, 1) == 1) config_free(cfg);
}

/* ---- hits ------------------------------------------------------------------- */

void policy__hit_add(policy__scan *sc, policy__cat cat, policy__sev sev, const char *rule, size_t start,
                     size_t end) {
  if (end <= start) return;
  if (sc->nhits == sc->caphits) {
    size_t cap = sc->caphits ? sc->caphits * 2 : 16;
    policy__hit *h = pl_arena_alloc(sc->mem, cap * sizeof *h);
    if (sc->nhits) memcpy(h, sc->hits, sc->nhits * sizeof *h);
    sc->hits = h;
    sc->caphits = cap;
  }
  sc->hits[sc->nhits++] = (policy__hit){cat, sev, rule, start, end, false, false, false};
}

void policy__hit_view(policy__scan *sc, const policy__buf *v, size_t a, size_t b, policy__cat cat,
                      policy__sev sev, const char *rule) {
  if (b <= a || b > v->len) return;
  size_t start = v->beg[a], end = v->end[b - 1];
  /* A view byte may come from a span that starts before an earlier byte's end
   * (a spelled word folded into one character); keep the widest span. */
  for (size_t k = a; k < b; k++) {
    if (v->beg[k] < start) start = v->beg[k];
    if (v->end[k] > end) end = v->end[k];
  }
  policy__hit_add(sc, cat, sev, rule, start, end);
}

/* ---- scan ------------------------------------------------------------------- */

static bool valid_utf8(const char *s, size_t n) {
  size_t i = 0;
  while (i < n) {
    if ((unsigned char)s[i] < 0x80) {
      i++;
      continue;
    }
    if (policy__u8_next(s, n, &i) < 0) return false;
  }
  return true;
}

static int hit_cmp(const void *x, const void *y) {
  const policy__hit *a = x, *b = y;
  if (a->start != b->start) return a->start < b->start ? -1 : 1;
  if (a->cat != b->cat) return (int)a->cat - (int)b->cat;
  if (a->end != b->end) return a->end < b->end ? -1 : 1;
  return strcmp(a->rule, b->rule);
}

/* Turns the hits into the verdict: one finding per distinct (rule, span); the
 * action is the strongest any finding calls for. */
/* Drops the findings an exception's span overlaps in its category ("as a discount on
 * this order" is an apology, not a promotion), and the exceptions themselves. */
static void apply_exceptions(policy__scan *sc) {
  bool any = false;
  for (size_t k = 0; k < sc->nhits; k++) {
    const policy__hit *h = &sc->hits[k];
    if (!h->except) continue;
    any = true;
    if (sc->nexc < POLICY__MAX_EXCEPTIONS) {
      sc->exc[sc->nexc].cat = h->cat, sc->exc[sc->nexc].start = h->start, sc->exc[sc->nexc].end = h->end;
      sc->nexc++;
    }
  }
  if (!any) return;
  size_t kept = 0;
  for (size_t k = 0; k < sc->nhits; k++) {
    const policy__hit *h = &sc->hits[k];
    bool drop = h->except;
    for (size_t x = 0; x < sc->nhits && !drop; x++) {
      const policy__hit *e = &sc->hits[x];
      drop = e->except && e->cat == h->cat && e->start < h->end && h->start < e->end;
    }
    if (!drop) sc->hits[kept++] = *h;
  }
  sc->nhits = kept;
}

static void decide(policy__scan *sc, policy_verdict *out) {
  const policy_config *cfg = sc->cfg;
  if (sc->nhits > 1) qsort(sc->hits, sc->nhits, sizeof *sc->hits, hit_cmp);
  out->findings = sc->nhits ? pl_xcalloc(sc->nhits, sizeof *out->findings) : NULL;
  out->nfindings = 0;
  policy_action act = POLICY_DELIVER;
  for (size_t k = 0; k < sc->nhits; k++) {
    const policy__hit *h = &sc->hits[k];
    if (k > 0 && !hit_cmp(h, &sc->hits[k - 1])) continue;
    policy_action a = cfg->action[h->cat];
    if (h->sev == POLICY_SEV_LOW && a > cfg->low_action) a = cfg->low_action;
    if (h->hold && a > POLICY_REVIEW) a = POLICY_REVIEW; /* the classifier is not sure */
    if (a > act) act = a;
    policy_finding *f = &out->findings[out->nfindings++];
    f->category = policy__cat_name(h->cat);
    f->rule = pl_xstrdup(h->rule);
    f->start = h->start;
    f->end = h->end;
    f->text = pl_xstrndup(sc->orig + h->start, h->end - h->start);
  }
  out->action = act;
  out->nscores = sc->nscores;
  memcpy(out->scores, sc->scores, sc->nscores * sizeof *sc->scores);
}

pl_err policy_scan(const policy_config *cfg, const char *text, size_t len, policy_verdict *out) {
  return policy_scan_allow(cfg, NULL, text, len, out);
}

static pl_err scan(const policy_config *cfg, const char *const *allow, const char *text, size_t len,
                   bool classify, policy_verdict *out) {
  out->action = POLICY_DELIVER;
  out->nfindings = 0;
  out->findings = NULL;
  snprintf(out->engine, sizeof out->engine, "%s", cfg ? cfg->engine : POLICY_ENGINE_NAME);
  out->nscores = 0;
  if (!cfg || (!text && len)) return PL_EINVAL;
  if (len > (1u << 24)) return PL_ETOOLONG;
  if (!valid_utf8(text, len)) return PL_EUTF8;
  /* The worker pool is the one mutable part of a configuration; its lock guards it. */
  policy_config *mcfg = (policy_config *)cfg;
  policy__worker *w = policy__worker_take(mcfg);
  policy__scan sc = {.cfg = cfg, .allow = allow, .mem = w->mem, .worker = w, .orig = text ? text : "",
                     .orig_len = len};
  policy__decode(&sc);
  policy__normalize(&sc);
  policy__deobfuscate(&sc);
  policy__altview(&sc);
  policy__match(&sc);
  policy__detect_links(&sc);
  policy__detect_emails(&sc);
  policy__detect_phones(&sc);
  policy__detect_emoji(&sc);
  policy__detect_formatting(&sc);
  apply_exceptions(&sc);
  if (classify) policy__classify(&sc);
  decide(&sc, out);
  policy__worker_give(mcfg, w);
  return PL_OK;
}

pl_err policy_scan_allow(const policy_config *cfg, const char *const *allow, const char *text,
                         size_t len, policy_verdict *out) {
  return scan(cfg, allow, text, len, true, out);
}

pl_err policy_scan_rules(const policy_config *cfg, const char *const *allow, const char *text,
                         size_t len, policy_verdict *out) {
  return scan(cfg, allow, text, len, false, out);
}

char *policy__normalized_text(const policy_config *cfg, const char *text, size_t len) {
  if (!valid_utf8(text, len)) return NULL;
  policy_config *mcfg = (policy_config *)cfg;
  policy__worker *w = policy__worker_take(mcfg);
  policy__scan sc = {.cfg = cfg, .mem = w->mem, .worker = w, .orig = text, .orig_len = len};
  policy__decode(&sc);
  policy__normalize(&sc);
  char *out = pl_xstrndup(sc.norm.s, sc.norm.len);
  policy__worker_give(mcfg, w);
  return out;
}

void policy_verdict_free(policy_verdict *v) {
  if (!v) return;
  for (size_t i = 0; i < v->nfindings; i++) {
    free((char *)v->findings[i].rule);
    free(v->findings[i].text);
  }
  free(v->findings);
  v->findings = NULL;
  v->nfindings = 0;
}
