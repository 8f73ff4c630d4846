/* test_policy_classify.c - the learned second stage: scores, findings with the sentence as span, the review band, what it may never clear, and its held-out figures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../policy_fixture.h"
#include "policy/policy.h"

static policy_config *base;

static int setup(void **state) {
  (void)state;
  return test_policy_compile(&base);
}

static int teardown(void **state) {
  (void)state;
  policy_config_unref(base);
  return 0;
}

static char *write_temp(const char *content) {
  char *path = strdup("/tmp/parley-clf-XXXXXX");
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
  close(fd);
  return path;
}

/* A configuration from JSON text, or NULL with the message in d. */
static policy_config *with_config(const char *json, pl_detail *d) {
  char *path = write_temp(json);
  policy_options opt = {.config_path = path, .cache_dir = test_policy_cache()};
  policy_config *c = NULL;
  pl_err rc = policy_config_new(&opt, &c, d);
  unlink(path);
  free(path);
  return rc ? NULL : c;
}

static const policy_finding *finding(const policy_verdict *v, const char *rule) {
  for (size_t i = 0; i < v->nfindings; i++)
    if (!strcmp(v->findings[i].rule, rule)) return &v->findings[i];
  return NULL;
}

static double score(const policy_verdict *v, const char *cat) {
  for (size_t i = 0; i < v->nscores; i++)
    if (!strcmp(v->scores[i].category, cat)) return v->scores[i].score;
  return -1;
}

/* The embedded model scores the four categories keywords miss, and names itself in the
 * verdict's engine. */
static void test_scores_and_engine(void **state) {
  (void)state;
  const char *t = "Thanks for your order, it ships tomorrow.";
  policy_verdict v;
  assert_int_equal(policy_scan(base, t, strlen(t), &v), PL_OK);
  assert_int_equal(v.action, POLICY_DELIVER);
  assert_non_null(strstr(v.engine, "parley-policy/1.0+clf-"));
  assert_int_equal(v.nscores, 4);
  static const char *const cats[] = {"off_platform", "review_request", "promotion", "profanity"};
  for (size_t k = 0; k < 4; k++) {
    double s = score(&v, cats[k]);
    assert_true(s >= 0 && s < 0.5);
  }
  policy_verdict_free(&v);
  /* the same text scores the same, in another configuration too */
  pl_detail d = {0};
  policy_config *c = with_config("{}", &d);
  assert_non_null(c);
  policy_verdict w;
  assert_int_equal(policy_scan(c, t, strlen(t), &w), PL_OK);
  assert_string_equal(w.engine, v.engine);
  for (size_t k = 0; k < 4; k++) assert_true(score(&w, cats[k]) == w.scores[k].score);
  policy_verdict_free(&w);
  policy_config_unref(c);
}

/* Above the finding threshold the classifier adds a finding whose span is the sentence
 * that scores highest; in the band below it holds the message for review. */
static void test_finding_and_review_band(void **state) {
  (void)state;
  const char *t = "Your parcel left today. People like you are the reason small sellers give up!";
  pl_detail d = {0};
  policy_config *sure = with_config("{\"classifier\": {\"thresholds\": {\"profanity\": {\"finding\": 0, \"review\": 0}}}}", &d);
  assert_non_null(sure);
  policy_verdict v;
  assert_int_equal(policy_scan(sure, t, strlen(t), &v), PL_OK);
  assert_int_equal(v.action, POLICY_REJECT);
  const policy_finding *f = finding(&v, "clf.profanity");
  assert_non_null(f);
  assert_string_equal(f->category, "profanity");
  assert_string_equal(f->text, "People like you are the reason small sellers give up!");
  assert_int_equal(f->start, 24);
  policy_verdict_free(&v);
  policy_config_unref(sure);

  policy_config *unsure = with_config("{\"classifier\": {\"thresholds\": {\"profanity\": {\"finding\": 1, \"review\": 0}}}}", &d);
  assert_non_null(unsure);
  assert_int_equal(policy_scan(unsure, t, strlen(t), &v), PL_OK);
  assert_int_equal(v.action, POLICY_REVIEW);
  assert_non_null(finding(&v, "clf.profanity.uncertain"));
  assert_null(finding(&v, "clf.profanity"));
  policy_verdict_free(&v);
  policy_config_unref(unsure);
}

/* The model does not overrule the rules: a rule's finding stays unless the operator lets
 * the model clear that category, and never for links, contact details or [Important]. */
static void test_clearing(void **state) {
  (void)state;
  const char *promo = "Use code SPRING for 20% off your next order.";
  policy_verdict v;
  assert_int_equal(policy_scan(base, promo, strlen(promo), &v), PL_OK);
  assert_int_equal(v.action, POLICY_REJECT);
  policy_verdict_free(&v);
  pl_detail d = {0};
  policy_config *c = with_config("{\"classifier\": {\"may_clear\": {\"promotion\": 1}}}", &d);
  assert_non_null(c);
  assert_int_equal(policy_scan(c, promo, strlen(promo), &v), PL_OK);
  assert_int_equal(v.action, POLICY_DELIVER);
  assert_int_equal(v.nfindings, 0);
  policy_verdict_free(&v);
  /* a phone number beside it is not the model's to clear */
  const char *both = "Use code SPRING for 20% off, or call 07700 900123.";
  assert_int_equal(policy_scan(c, both, strlen(both), &v), PL_OK);
  assert_int_equal(v.action, POLICY_REJECT);
  assert_non_null(finding(&v, "phone.number"));
  assert_null(finding(&v, "en.promo.use_code"));
  policy_verdict_free(&v);
  policy_config_unref(c);
  static const char *const never[] = {"link", "email", "phone", "important_tag"};
  for (size_t k = 0; k < 4; k++) {
    char json[160];
    snprintf(json, sizeof json, "{\"classifier\": {\"may_clear\": {\"%s\": 1}}}", never[k]);
    memset(&d, 0, sizeof d);
    assert_null(with_config(json, &d));
    assert_non_null(strstr(d.msg, "stay with the rules"));
  }
  memset(&d, 0, sizeof d);
  assert_null(with_config("{\"classifier\": {\"thresholds\": {\"emoji\": {\"finding\": 0.5}}}}", &d));
  assert_non_null(strstr(d.msg, "the model has no such category"));
  memset(&d, 0, sizeof d);
  assert_null(with_config("{\"classifier\": {\"thresholds\": {\"promotion\": {\"finding\": 0.5, \"review\": 0.9}}}}", &d));
  assert_non_null(strstr(d.msg, "review must not be above finding"));
  memset(&d, 0, sizeof d);
  assert_null(with_config("{\"classifier\": {\"thresholds\": {\"promotion\": {\"finding\": 2}}}}", &d));
  assert_non_null(strstr(d.msg, "from 0 to 1"));
}

/* A refusal the rules have read ("we can't accept PayPal") is not overruled by the model,
 * however much it has learned that PayPal means leaving; but only in its own sentence. */
static void test_rules_exception_wins(void **state) {
  (void)state;
  pl_detail d = {0};
  policy_config *c = with_config("{\"classifier\": {\"thresholds\": {\"off_platform\": {\"finding\": 0, \"review\": 0}}}}", &d);
  assert_non_null(c);
  const char *t = "Sorry, we can't accept PayPal or a bank transfer for the extra cover.";
  policy_verdict v;
  assert_int_equal(policy_scan(c, t, strlen(t), &v), PL_OK);
  assert_int_equal(v.action, POLICY_DELIVER);
  policy_verdict_free(&v);
  /* ... in its own sentence only: a refusal put in front of an invitation does not shield
   * it, and the finding is the other sentence */
  const char *u = "Sorry, we can't accept PayPal or a bank transfer. Cancel the order and I'll invoice you myself.";
  assert_int_equal(policy_scan(c, u, strlen(u), &v), PL_OK);
  assert_int_not_equal(v.action, POLICY_DELIVER);
  const policy_finding *f = finding(&v, "clf.off_platform");
  assert_non_null(f);
  assert_string_equal(f->text, "Cancel the order and I'll invoice you myself.");
  policy_verdict_free(&v);
  /* a sentence of fewer than four words beside it is not read on its own */
  const char *w = "Sorry, we can't accept PayPal or a bank transfer. Thanks!";
  assert_int_equal(policy_scan(c, w, strlen(w), &v), PL_OK);
  assert_int_equal(v.action, POLICY_DELIVER);
  policy_verdict_free(&v);
  /* ... nor in its own clause: the rest of the sentence after a comma is read alone */
  const char *x = "Sorry, we can't accept PayPal or a bank transfer, so cancel the order and I'll invoice you myself.";
  assert_int_equal(policy_scan(c, x, strlen(x), &v), PL_OK);
  assert_int_not_equal(v.action, POLICY_DELIVER);
  f = finding(&v, "clf.off_platform");
  assert_non_null(f);
  assert_string_equal(f->text, "so cancel the order and I'll invoice you myself.");
  policy_verdict_free(&v);
  policy_config_unref(c);
  /* at the shipped thresholds, the same shield attempt in two languages, in a sentence of
   * its own and joined by a comma */
  const char *const shielded[] = {
      "Sorry, we can't accept PayPal. Cancel the order and I'll invoice you directly, it's cheaper for both of us.",
      "PayPal können wir leider nicht annehmen. Stornieren Sie die Bestellung, ich schicke Ihnen direkt eine Rechnung.",
      "We can't accept PayPal, so cancel the order and I'll invoice you directly.",
      "PayPal können wir leider nicht annehmen, stornieren Sie einfach die Bestellung und ich schicke Ihnen direkt eine Rechnung.",
  };
  for (size_t i = 0; i < sizeof shielded / sizeof *shielded; i++) {
    assert_int_equal(policy_scan(base, shielded[i], strlen(shielded[i]), &v), PL_OK);
    if (v.action == POLICY_DELIVER) fail_msg("delivered: %s", shielded[i]);
    policy_verdict_free(&v);
  }
}

/* Turned off, the engine is the rules alone. */
static void test_disabled(void **state) {
  (void)state;
  pl_detail d = {0};
  policy_config *c = with_config("{\"classifier\": {\"enabled\": false}}", &d);
  assert_non_null(c);
  const char *t = "People like you are the reason small sellers give up.";
  policy_verdict v;
  assert_int_equal(policy_scan(c, t, strlen(t), &v), PL_OK);
  assert_int_equal(v.nscores, 0);
  assert_string_equal(v.engine, "parley-policy/1.0");
  policy_verdict_free(&v);
  policy_config_unref(c);
}

/* ---- held-out figures ------------------------------------------------------------ */

typedef struct {
  int tp[16], fp[16], fn[16];
  int msg_tp, msg_fp, msg_fn;
} tally;

static const char *const report_cats[] = {"off_platform", "review_request", "promotion", "profanity", "link",
                                          "email", "phone", "personal_data", "emoji", "formatting", "important_tag"};
#define NREPORT (sizeof report_cats / sizeof report_cats[0])

static bool found(const policy_verdict *v, const char *cat) {
  for (size_t i = 0; i < v->nfindings; i++)
    if (!strcmp(v->findings[i].category, cat)) return true;
  return false;
}

static void count(policy_config *c, json_t *o, tally *t) {
  const char *text = json_string_value(json_object_get(o, "text"));
  bool block = !strcmp(json_string_value(json_object_get(o, "expect")), "block");
  policy_verdict v;
  assert_int_equal(policy_scan(c, text, strlen(text), &v), PL_OK);
  bool held = v.action != POLICY_DELIVER;
  if (block) t->msg_tp += held, t->msg_fn += !held;
  else t->msg_fp += held;
  for (size_t k = 0; k < NREPORT; k++) {
    bool want = false;
    json_t *x;
    size_t i;
    json_array_foreach(json_object_get(o, "categories"), i, x) want |= !strcmp(json_string_value(x), report_cats[k]);
    bool got = found(&v, report_cats[k]);
    if (want && got) t->tp[k]++;
    else if (want) t->fn[k]++;
    else if (got && !block) t->fp[k]++; /* a block line may have more than it lists */
  }
  policy_verdict_free(&v);
}

static int name_cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Runs every held-out line of dir's .jsonl files through both configurations. */
static int run_heldout(const char *dir, policy_config *const *cfgs, tally *t) {
  DIR *dp = opendir(dir);
  assert_non_null(dp);
  char *names[64];
  size_t nn = 0;
  struct dirent *e;
  while ((e = readdir(dp)) && nn < 64) {
    size_t l = strlen(e->d_name);
    if (l > 6 && !strcmp(e->d_name + l - 6, ".jsonl")) names[nn++] = strdup(e->d_name);
  }
  closedir(dp);
  qsort(names, nn, sizeof *names, name_cmp);
  int lines = 0;
  for (size_t k = 0; k < nn; k++) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, names[k]);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[16384];
    while (fgets(line, sizeof line, f)) {
      json_error_t je;
      json_t *o = json_loads(line, 0, &je);
      if (!o) continue;
      if (policy_heldout(names[k], json_string_value(json_object_get(o, "id")))) {
        for (int c = 0; c < 3; c++) count(cfgs[c], o, &t[c]);
        lines++;
      }
      json_decref(o);
    }
    fclose(f);
    free(names[k]);
  }
  return lines;
}

static void pr(char *out, size_t cap, int tp, int fp, int fn) {
  snprintf(out, cap, "%.3f | %.3f", tp + fp ? (double)tp / (tp + fp) : 1.0, tp + fn ? (double)tp / (tp + fn) : 1.0);
}

/* The rules alone (what the mask of a buyer's contact details reads): the same phone
 * number at the same offsets, and nothing of the classifier's, even where it would find
 * something. */
static void test_rules_only(void **state) {
  (void)state;
  const char *t = "People like you are the reason small sellers give up! Call 415-555-0199.";
  pl_detail d = {0};
  policy_config *sure = with_config("{\"classifier\": {\"thresholds\": {\"profanity\": {\"finding\": 0, \"review\": 0}}}}", &d);
  assert_non_null(sure);
  policy_verdict all, rules;
  assert_int_equal(policy_scan_allow(sure, NULL, t, strlen(t), &all), PL_OK);
  assert_int_equal(policy_scan_rules(sure, NULL, t, strlen(t), &rules), PL_OK);
  assert_non_null(finding(&all, "clf.profanity"));
  assert_int_equal(all.nscores, 4);
  assert_null(finding(&rules, "clf.profanity"));
  assert_int_equal(rules.nscores, 0);
  size_t phones = 0;
  for (size_t i = 0; i < rules.nfindings; i++) {
    const policy_finding *f = &rules.findings[i];
    assert_true(strncmp(f->rule, "clf.", 4) != 0);
    if (strcmp(f->category, "phone")) continue;
    const policy_finding *g = finding(&all, f->rule);
    assert_non_null(g);
    assert_int_equal(g->start, f->start);
    assert_int_equal(g->end, f->end);
    phones++;
  }
  assert_true(phones >= 1);
  assert_int_equal(rules.nfindings + 1, all.nfindings);
  policy_verdict_free(&all);
  policy_verdict_free(&rules);
  policy_config_unref(sure);
}

/* Per-category precision and recall on the held-out fifth (never trained on), rules alone,
 * with the classifier at its default thresholds, and at finding 0.70 / review 0.60. The table in docs/policy.md is this
 * one: when they differ the test prints the table to put there. */
static void test_heldout_figures(void **state) {
  (void)state;
  pl_detail d = {0};
  policy_config *rules = with_config("{\"classifier\": {\"enabled\": false}}", &d);
  assert_non_null(rules);
  policy_config *low = with_config(
      "{\"classifier\": {\"thresholds\": {\"off_platform\": {\"finding\": 0.7, \"review\": 0.6},"
      " \"review_request\": {\"finding\": 0.7, \"review\": 0.6}, \"promotion\": {\"finding\": 0.7, \"review\": 0.6},"
      " \"profanity\": {\"finding\": 0.7, \"review\": 0.6}}}}",
      &d);
  assert_non_null(low);
  policy_config *cfgs[3] = {rules, base, low};
  tally t[3] = {0};
  int lines = run_heldout(PARLEY_TEST_DATA "/../../data/policy", cfgs, t);
  lines += run_heldout(PARLEY_TEST_DATA "/policy", cfgs, t);
  policy_config_unref(rules);
  policy_config_unref(low);
  tally tr = t[0], tb = t[1], tl = t[2];
  char table[8192], a[64], b[64], c[64];
  size_t n = (size_t)snprintf(table, sizeof table,
                              "%d held-out messages.\n\n"
                              "| category | labelled | rules: precision | recall | + classifier (defaults): precision | recall | + classifier (0.70/0.60): precision | recall |\n"
                              "| --- | --- | --- | --- | --- | --- | --- | --- |\n",
                              lines);
  pr(a, sizeof a, tr.msg_tp, tr.msg_fp, tr.msg_fn);
  pr(b, sizeof b, tb.msg_tp, tb.msg_fp, tb.msg_fn);
  pr(c, sizeof c, tl.msg_tp, tl.msg_fp, tl.msg_fn);
  n += (size_t)snprintf(table + n, sizeof table - n, "| any (not delivered) | %d | %s | %s | %s |\n", tr.msg_tp + tr.msg_fn, a, b, c);
  for (size_t k = 0; k < NREPORT; k++) {
    pr(a, sizeof a, tr.tp[k], tr.fp[k], tr.fn[k]);
    pr(b, sizeof b, tb.tp[k], tb.fp[k], tb.fn[k]);
    pr(c, sizeof c, tl.tp[k], tl.fp[k], tl.fn[k]);
    n += (size_t)snprintf(table + n, sizeof table - n, "| %s | %d | %s | %s | %s |\n", report_cats[k], tr.tp[k] + tr.fn[k], a, b, c);
  }
  /* the classifier never costs a finding the rules make */
  assert_true(tb.msg_tp >= tr.msg_tp && tl.msg_tp >= tb.msg_tp);
  FILE *f = fopen(PARLEY_TEST_DATA "/../../docs/policy.md", "r");
  assert_non_null(f);
  static char doc[1 << 17];
  size_t len = fread(doc, 1, sizeof doc - 1, f);
  fclose(f);
  doc[len] = '\0';
  const char *begin = strstr(doc, "<!-- heldout:begin -->\n");
  const char *end = strstr(doc, "<!-- heldout:end -->");
  bool same = begin && end && (size_t)(end - begin) == strlen("<!-- heldout:begin -->\n") + n &&
              !memcmp(begin + strlen("<!-- heldout:begin -->\n"), table, n);
  if (!same) fprintf(stderr, "docs/policy.md, between the heldout markers, should read:\n%s", table);
  assert_true(same);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_scores_and_engine),
    cmocka_unit_test(test_finding_and_review_band),
    cmocka_unit_test(test_clearing),
    cmocka_unit_test(test_rules_exception_wins),
    cmocka_unit_test(test_disabled),
    cmocka_unit_test(test_rules_only),
    cmocka_unit_test(test_heldout_figures),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
