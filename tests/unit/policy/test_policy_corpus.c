/* test_policy_corpus.c - the labelled development corpus and the seeds' examples as a regression suite. */
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

#include "../policy_fixture.h"
#include "policy/policy.h"

static policy_config *cfg;

static int setup(void **state) {
  (void)state;
  return test_policy_compile(&cfg);
}

static int teardown(void **state) {
  (void)state;
  policy_config_unref(cfg);
  return 0;
}

static bool has_category(const policy_verdict *v, const char *cat) {
  for (size_t i = 0; i < v->nfindings; i++)
    if (!strcmp(v->findings[i].category, cat)) return true;
  return false;
}

static void print_verdict(const char *id, const char *text, const policy_verdict *v) {
  fprintf(stderr, "  %s: %s -> %s\n", id, text, policy_action_name(v->action));
  for (size_t i = 0; i < v->nfindings; i++)
    fprintf(stderr, "      %s %s '%s'\n", v->findings[i].category, v->findings[i].rule, v->findings[i].text);
}

/* Runs one labelled file: every block line is not delivered and finds its
 * categories; every allow line is delivered. Returns the number of lines. */
static int run_corpus(const char *path, FILE *f) {
  json_error_t je;
  char line[16384];
  int total = 0, failed = 0, lineno = 0;
  while (fgets(line, sizeof line, f)) {
    lineno++;
    if (line[0] == '\n' || line[0] == '\0') continue;
    json_t *o = json_loads(line, 0, &je);
    if (!o) fprintf(stderr, "  %s:%d: %s\n", path, lineno, je.text);
    assert_non_null(o);
    const char *id = json_string_value(json_object_get(o, "id"));
    const char *text = json_string_value(json_object_get(o, "text"));
    const char *expect = json_string_value(json_object_get(o, "expect"));
    assert_non_null(id);
    assert_non_null(text);
    assert_non_null(expect);
    policy_verdict v;
    assert_int_equal(policy_scan(cfg, text, strlen(text), &v), PL_OK);
    bool ok;
    if (!strcmp(expect, "allow")) {
      ok = v.action == POLICY_DELIVER;
    } else {
      assert_string_equal(expect, "block");
      ok = v.action != POLICY_DELIVER;
      json_t *c;
      size_t k;
      json_array_foreach(json_object_get(o, "categories"), k, c) {
        if (!has_category(&v, json_string_value(c))) {
          fprintf(stderr, "  %s: missing category %s\n", id, json_string_value(c));
          ok = false;
        }
      }
    }
    /* Offsets point into the original text and the text is what they cover. */
    for (size_t i = 0; i < v.nfindings; i++) {
      assert_true(v.findings[i].start < v.findings[i].end && v.findings[i].end <= strlen(text));
      assert_memory_equal(v.findings[i].text, text + v.findings[i].start, v.findings[i].end - v.findings[i].start);
    }
    if (!ok) {
      failed++;
      print_verdict(id, text, &v);
    }
    total++;
    policy_verdict_free(&v);
    json_decref(o);
  }
  fprintf(stderr, "  %s: %d of %d as labelled\n", path, total - failed, total);
  assert_int_equal(failed, 0);
  return total;
}

/* The development corpus of the shared specification. */
static void test_dev_corpus(void **state) {
  (void)state;
  const char *path = PARLEY_SHARED_DIR "/corpus/policy-dev.jsonl";
  FILE *f = fopen(path, "r");
  if (!f) skip();
  int total = run_corpus(path, f);
  fclose(f);
  assert_true(total >= 100);
}

/* The project's own labelled cases (the .jsonl files in tests/data/policy): other phrasings,
 * every language, evasions, and look-alikes that must be delivered. */
static void test_own_cases(void **state) {
  (void)state;
  DIR *dir = opendir(PARLEY_TEST_DATA "/policy");
  assert_non_null(dir);
  int total = 0, files = 0;
  struct dirent *e;
  while ((e = readdir(dir))) {
    size_t l = strlen(e->d_name);
    if (l < 6 || strcmp(e->d_name + l - 6, ".jsonl")) continue;
    char path[1024];
    snprintf(path, sizeof path, "%s/policy/%s", PARLEY_TEST_DATA, e->d_name);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    total += run_corpus(path, f);
    fclose(f);
    files++;
  }
  closedir(dir);
  assert_true(files >= 1);
  assert_true(total >= 100);
}

static void expect_action(const char *text, policy_action want) {
  policy_verdict v;
  assert_int_equal(policy_scan(cfg, text, strlen(text), &v), PL_OK);
  if (v.action != want) print_verdict("seed", text, &v);
  assert_int_equal(v.action, want);
  policy_verdict_free(&v);
}

/* The templates quoted in seed 000 are compliant; its counter-example is not. */
static void test_seed_examples(void **state) {
  (void)state;
  static const char *const compliant[] = {
    "Your order #123 shipped on October 20th via FedEx. Tracking number is 1Z999. Expected delivery is "
    "October 25th. Let me know if you have any other questions about this order.",
    "Your order #[ORDER_ID] has been shipped. Tracking number: [TRACKING]. Expected delivery date: [DATE]. "
    "Please let me know if you have any questions or concerns about this shipment.",
    "I sincerely apologize for the delay with your order #[ORDER_ID]. The carrier has been delayed, and your "
    "new estimated delivery date is [DATE]. I\xe2\x80\x99m monitoring this closely and will update you "
    "immediately if there\xe2\x80\x99s any change. Thank you for your patience.",
    "Your return has been authorized under order #[ORDER_ID]. Please return the item to: [ADDRESS]. Once we "
    "receive the item, we\xe2\x80\x99ll process your refund within [TIMEFRAME]. You can track your return "
    "shipment through the return label provided.",
    "Your refund of $[AMOUNT] for order #[ORDER_ID] has been processed. It may take 5-10 business days for "
    "the funds to appear in your original payment method. Thank you for giving us the opportunity to make "
    "this right.",
    "Thank you for your question about [PRODUCT_NAME]. [PROVIDE_SPECIFIC_ANSWER]. If you need any additional "
    "information, please don\xe2\x80\x99t hesitate to reach out.",
    "Thank you for your order #[ORDER_ID]. We\xe2\x80\x99ve received your purchase and are preparing it for "
    "shipment. You\xe2\x80\x99ll receive a shipping confirmation with tracking details within [TIMEFRAME]. "
    "If you have any questions before your item ships, please let me know.",
    /* the same templates filled in */
    "Your order #112-4839201-5561023 has been shipped. Tracking number: 1Z999AA10123456784. Expected "
    "delivery date: 14 March 2026. Please let me know if you have any questions or concerns about this "
    "shipment.",
    "Your refund of $19.99 for order #112-4839201-5561023 has been processed. It may take 5-10 business days "
    "for the funds to appear in your original payment method.",
  };
  for (size_t i = 0; i < sizeof compliant / sizeof compliant[0]; i++) expect_action(compliant[i], POLICY_DELIVER);
  expect_action("Thanks for your purchase. Check out our store for more products and leave a great review. "
                "Here\xe2\x80\x99s our external website: [link]. Get 20% off your next purchase.",
                POLICY_REJECT);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_dev_corpus),
    cmocka_unit_test(test_own_cases),
    cmocka_unit_test(test_seed_examples),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
