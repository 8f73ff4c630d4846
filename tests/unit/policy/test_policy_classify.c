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
 * however much it has learned that PayPal means leaving. */
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
  policy_config_unref(c);
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

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_scores_and_engine),
    cmocka_unit_test(test_finding_and_review_band),
    cmocka_unit_test(test_clearing),
    cmocka_unit_test(test_rules_exception_wins),
    cmocka_unit_test(test_disabled),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
