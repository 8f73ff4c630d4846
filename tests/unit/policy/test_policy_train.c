/* test_policy_train.c - retraining the learned second stage: the shipped files give the embedded model again, a marketplace's decisions move its own model, and a configuration with that model shares everything else. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../policy_fixture.h"
#include "../policy_learn_cases.h"
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

static unsigned bit(const char *category) {
  size_t n;
  const policy_category *c = policy_categories(&n);
  for (size_t k = 0; k < n; k++)
    if (!strcmp(c[k].name, category)) return 1u << k;
  fail_msg("no category %s", category);
  return 0;
}

static double score(const policy_config *c, const char *text, const char *cat, policy_verdict *v) {
  assert_int_equal(policy_scan(c, text, strlen(text), v), PL_OK);
  for (size_t i = 0; i < v->nscores; i++)
    if (!strcmp(v->scores[i].category, cat)) return v->scores[i].score;
  fail_msg("no score for %s", cat);
  return -1;
}

/* Retraining on the embedded files alone gives the embedded model, byte for byte: the
 * build's parley-train and `parley policy train` are one function on the same data. */
static void test_shipped_files_give_the_embedded_model(void **state) {
  (void)state;
  size_t n;
  const policy_train_file *files = policy_train_shipped(&n);
  assert_true(n >= 10);
  char *model;
  size_t len;
  policy_train_stats st;
  pl_detail d = {0};
  assert_int_equal(policy_train(base, files, n, NULL, 0, &model, &len, &st, &d), PL_OK);
  assert_true(st.examples > 1000 && st.held_out > 200 && st.extra == 0);
  char v[17];
  policy_model_version_of(model, len, v);
  assert_string_equal(v, policy_config_model_version(base));
  free(model);
}

/* Five rejections weighted five times move the marketplace's model on a new message of
 * the same kind, from unlikely to likely (the operator's thresholds decide what that
 * does: test_service_learn.c); the configuration without them is unchanged. */
static void test_decisions_move_the_model(void **state) {
  (void)state;
  size_t n;
  const policy_train_file *files = policy_train_shipped(&n);
  policy_example ex[5];
  for (size_t k = 0; k < 5; k++) ex[k] = (policy_example){learn_rejected[k], bit("promotion"), 5};
  char *model;
  size_t len;
  policy_train_stats st;
  pl_detail d = {0};
  assert_int_equal(policy_train(base, files, n, ex, 5, &model, &len, &st, &d), PL_OK);
  assert_int_equal(st.extra, 5);
  policy_config *mine = NULL;
  assert_int_equal(policy_config_with_model(base, model, len, &mine, &d), PL_OK);
  char version[17];
  policy_model_version_of(model, len, version);
  free(model); /* the configuration has its own copy */
  policy_verdict before, after;
  double s0 = score(base, learn_similar, "promotion", &before), s1 = score(mine, learn_similar, "promotion", &after);
  print_message("promotion: %.4f without the decisions, %.4f with them\n", s0, s1);
  assert_true(s0 < 0.5);
  assert_true(s1 >= 0.8);
  assert_int_equal(before.action, POLICY_DELIVER);
  assert_non_null(strstr(after.engine, version));
  assert_string_equal(policy_config_model_version(mine), version);
  assert_string_not_equal(before.engine, after.engine);
  policy_verdict_free(&before);
  policy_verdict_free(&after);
  /* the rules are the same: a phone number is found under either model */
  const char *phone = "Call me on 0161 496 0734 about the cream blender.";
  assert_int_equal(policy_scan(mine, phone, strlen(phone), &after), PL_OK);
  bool found = false;
  for (size_t i = 0; i < after.nfindings; i++) found |= !strcmp(after.findings[i].category, "phone");
  assert_true(found);
  policy_verdict_free(&after);
  policy_config_unref(mine);
}

/* The operator's classifier settings stay with a marketplace's model: turned off stays off. */
static void test_operator_settings_stay(void **state) {
  (void)state;
  char path[] = "/tmp/parley-train-XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  const char *json = "{\"classifier\": {\"enabled\": false}}";
  assert_int_equal(write(fd, json, strlen(json)), (ssize_t)strlen(json));
  close(fd);
  policy_options po = {.config_path = path, .cache_dir = test_policy_cache()};
  policy_config *off = NULL, *mine = NULL;
  pl_detail d = {0};
  assert_int_equal(policy_config_new(&po, &off, &d), PL_OK);
  unlink(path);
  size_t n;
  const policy_train_file *files = policy_train_shipped(&n);
  char *model;
  size_t len;
  assert_int_equal(policy_train(base, files, n, NULL, 0, &model, &len, NULL, &d), PL_OK);
  assert_int_equal(policy_config_with_model(off, model, len, &mine, &d), PL_OK);
  policy_verdict v;
  assert_int_equal(policy_scan(mine, learn_similar, strlen(learn_similar), &v), PL_OK);
  assert_int_equal(v.nscores, 0);
  assert_string_equal(v.engine, "parley-policy/1.0");
  assert_string_equal(policy_config_model_version(mine), "");
  policy_verdict_free(&v);
  policy_config_unref(mine);
  policy_config_unref(off); /* the derived one held its own reference */
  /* bytes that are not a model are refused */
  assert_int_equal(policy_config_with_model(base, model, len - 4, &mine, &d), PL_EINVAL);
  assert_null(mine);
  assert_int_equal(policy_config_with_model(base, "PLCLF00", 7, &mine, &d), PL_EINVAL);
  free(model);
}

/* Whatever a marketplace's examples say, the rules for contact details, links and the
 * [Important] tag stand: a model trained to call such messages clean, fifty times over,
 * changes none of their findings, and the labels of rule-only categories teach nothing. */
static void test_rules_only_categories_cannot_be_taught(void **state) {
  (void)state;
  static const char *const texts[] = {
      "Call me on 0161 496 0734 about your parcel.",
      "Write to jane.seller@gmail.com for the invoice.",
      "The manual is at https://manuals.example.net/drill.",
      "[Important] Your parcel was delayed.",
  };
  static const char *const cats[] = {"phone", "email", "link", "important_tag"};
  size_t n;
  const policy_train_file *files = policy_train_shipped(&n);
  policy_example clean[4], labelled[4];
  for (size_t k = 0; k < 4; k++) {
    clean[k] = (policy_example){texts[k], 0, 50};
    labelled[k] = (policy_example){texts[k], bit(cats[k]), 50};
  }
  char *m1, *m2;
  size_t l1, l2;
  pl_detail d = {0};
  assert_int_equal(policy_train(base, files, n, clean, 4, &m1, &l1, NULL, &d), PL_OK);
  assert_int_equal(policy_train(base, files, n, labelled, 4, &m2, &l2, NULL, &d), PL_OK);
  assert_int_equal(l1, l2);
  assert_memory_equal(m1, m2, l1); /* a rule-only label is no label */
  policy_config *mine = NULL;
  assert_int_equal(policy_config_with_model(base, m1, l1, &mine, &d), PL_OK);
  free(m1), free(m2);
  for (size_t k = 0; k < 4; k++) {
    policy_verdict v;
    assert_int_equal(policy_scan(mine, texts[k], strlen(texts[k]), &v), PL_OK);
    bool found = false;
    for (size_t i = 0; i < v.nfindings; i++) found |= !strcmp(v.findings[i].category, cats[k]);
    if (!found) fail_msg("%s lost its %s finding", texts[k], cats[k]);
    assert_int_not_equal(v.action, POLICY_DELIVER);
    policy_verdict_free(&v);
  }
  policy_config_unref(mine);
}

static void test_learned_categories(void **state) {
  (void)state;
  static const char *const learned[] = {"off_platform", "review_request", "promotion", "profanity"};
  for (size_t k = 0; k < 4; k++) {
    assert_string_equal(policy_learned_category(k), learned[k]);
    assert_true(policy_category_learned(learned[k]));
  }
  assert_null(policy_learned_category(4));
  static const char *const rules_only[] = {"link", "email", "phone", "personal_data", "important_tag", "emoji",
                                           "formatting"};
  for (size_t k = 0; k < 7; k++) assert_false(policy_category_learned(rules_only[k]));
  assert_false(policy_category_learned(NULL));
  /* a line that is not a labelled message names its file and line */
  policy_train_file bad = {"bad.jsonl", "{\"id\": \"a\", \"text\": \"fine\"}\n{\"text\": \"no id\"}\n", 46};
  bad.len = strlen(bad.text);
  char *model;
  size_t len;
  pl_detail d = {0};
  assert_int_equal(policy_train(base, &bad, 1, NULL, 0, &model, &len, NULL, &d), PL_EINVAL);
  assert_string_equal(d.msg, "bad.jsonl:2: id and text are needed");
  assert_null(model);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_shipped_files_give_the_embedded_model),
      cmocka_unit_test(test_decisions_move_the_model),
      cmocka_unit_test(test_operator_settings_stay),
      cmocka_unit_test(test_rules_only_categories_cannot_be_taught),
      cmocka_unit_test(test_learned_categories),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
