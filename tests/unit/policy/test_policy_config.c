/* test_policy_config.c - configuration: allow lists, operator file, actions, thresholds, extra rules, errors, sharing across threads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../policy_fixture.h"
#include "policy/policy.h"
#include "policy/policy_int.h" /* from_cache */

static policy_config *base; /* defaults, shared by the tests that need no options */

static int setup(void **state) {
  (void)state;
  return test_policy_compile(&base);
}

static int teardown(void **state) {
  (void)state;
  policy_config_unref(base);
  return 0;
}

static policy_action action_of(const policy_config *c, const char *text) {
  policy_verdict v;
  assert_int_equal(policy_scan(c, text, strlen(text), &v), PL_OK);
  policy_action a = v.action;
  policy_verdict_free(&v);
  return a;
}

static char *write_temp(const char *content) {
  char *path = strdup("/tmp/parley-policy-XXXXXX");
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
  close(fd);
  return path;
}

static void test_allow_domains_option(void **state) {
  (void)state;
  const char *ups = "Track it here: https://www.ups.com/track?tracknum=1Z4E7W610398472615";
  assert_int_equal(action_of(base, ups), POLICY_REJECT);
  const char *allow[] = {"ups.com", NULL};
  policy_options opt = {.allow_domains = allow, .cache_dir = test_policy_cache()};
  policy_config *c;
  pl_detail d;
  assert_int_equal(policy_config_new(&opt, &c, &d), PL_OK);
  assert_int_equal(action_of(c, ups), POLICY_DELIVER);
  /* plain http stays a finding on an allowed domain; so do look-alikes */
  assert_int_equal(action_of(c, "Track: http://www.ups.com/track"), POLICY_REJECT);
  assert_int_equal(action_of(c, "Track: https://ups.com.track-parcel.net/x"), POLICY_REJECT);
  policy_config_unref(c);
}

/* The same findings for a set of messages from two configurations. */
static void assert_same_verdicts(const policy_config *a, const policy_config *b) {
  static const char *const texts[] = {
    "Please leave us a 5-star review if you're happy!",
    "Write to anna at northpeak dot co dot uk",
    "Your order 112-4839201-5561023 shipped with UPS 1Z4E7W610398472615.",
    "Message us on WhatsApp at +34 612 345 678",
    "Use code SPRING15 for 15% off your next order",
    "A quick rev1ew would help us a lot.",
  };
  for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
    policy_verdict va, vb;
    assert_int_equal(policy_scan(a, texts[i], strlen(texts[i]), &va), PL_OK);
    assert_int_equal(policy_scan(b, texts[i], strlen(texts[i]), &vb), PL_OK);
    assert_int_equal(va.action, vb.action);
    assert_int_equal(va.nfindings, vb.nfindings);
    for (size_t k = 0; k < va.nfindings; k++) {
      assert_string_equal(va.findings[k].rule, vb.findings[k].rule);
      assert_int_equal(va.findings[k].start, vb.findings[k].start);
      assert_int_equal(va.findings[k].end, vb.findings[k].end);
    }
    policy_verdict_free(&va);
    policy_verdict_free(&vb);
  }
}

static size_t count_cache_files(const char *dir) {
  DIR *dh = opendir(dir);
  if (!dh) return 0;
  size_t n = 0;
  struct dirent *e;
  while ((e = readdir(dh)))
    if (!strncmp(e->d_name, "policy-", 7) && strstr(e->d_name, ".hsdb")) n++;
  closedir(dh);
  return n;
}

/* Compiled databases are written to the cache directory and read back by the next
 * configuration with the same rules; a damaged or truncated file is not used; other
 * rules get another file; a directory that cannot be written is no error. One compile
 * in all: the rest reads, or calls the cache's own functions. */
static void test_compile_cache(void **state) {
  (void)state;
  char dir[] = "/tmp/parley-policy-cache-XXXXXX";
  assert_non_null(mkdtemp(dir));
  char sub[sizeof dir + 8];
  snprintf(sub, sizeof sub, "%s/c", dir); /* created by the engine */
  policy_options opt = {.cache_dir = sub};
  pl_detail d;
  policy_config *first, *second;
  assert_int_equal(policy_config_new(&opt, &first, &d), PL_OK);
  assert_false(first->from_cache);
  assert_int_equal(count_cache_files(sub), 1);
  assert_int_equal(policy_config_new(&opt, &second, &d), PL_OK);
  assert_true(second->from_cache);
  assert_same_verdicts(base, second);

  char path[512] = "";
  DIR *dh = opendir(sub);
  struct dirent *e;
  while ((e = readdir(dh)))
    if (strstr(e->d_name, ".hsdb")) snprintf(path, sizeof path, "%s/%s", sub, e->d_name);
  closedir(dh);
  policy_config empty = {.nrules = first->nrules};
  assert_true(policy__cache_load(&empty, path)); /* the file as written loads */
  hs_free_database(empty.db);
  for (size_t k = 0; k < empty.nrules; k++) hs_free_database(empty.som[k]);
  free(empty.som);
  free(empty.som_width);

  /* a damaged file is not used */
  FILE *f = fopen(path, "r+b");
  assert_non_null(f);
  fseek(f, 400, SEEK_SET);
  fputs("not a database", f);
  fclose(f);
  policy_config none = {.nrules = first->nrules};
  assert_false(policy__cache_load(&none, path));
  assert_null(none.db);
  /* nor a truncated one */
  assert_int_equal(truncate(path, 1000), 0);
  assert_false(policy__cache_load(&none, path));
  assert_null(none.db);
  /* nor one written for a different number of rules */
  policy__cache_save(first, sub, path);
  none.nrules = first->nrules + 1;
  assert_false(policy__cache_load(&none, path));

  /* different patterns, a different file name */
  char *ex1[] = {"review"}, *ex2[] = {"reviews"};
  unsigned fl[] = {0}, ids[] = {0};
  policy__patterns p1 = {.expr = ex1, .flags = fl, .ids = ids, .n = 1};
  policy__patterns p2 = {.expr = ex2, .flags = fl, .ids = ids, .n = 1};
  char k1[512], k2[512];
  assert_true(policy__cache_path(sub, &p1, k1, sizeof k1));
  assert_true(policy__cache_path(sub, &p2, k2, sizeof k2));
  assert_string_not_equal(k1, k2);

  /* a directory that cannot be made: nothing written, no error */
  policy__cache_save(first, "/proc/parley-no-such-dir", "/proc/parley-no-such-dir/x.hsdb");
  assert_int_equal(access("/proc/parley-no-such-dir", F_OK), -1);

  policy_config_unref(first);
  policy_config_unref(second);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  assert_int_equal(system(cmd), 0);
}

static void test_marketplace_domains(void **state) {
  (void)state;
  assert_int_equal(action_of(base, "See https://www.amazon.com/dp/B0BZ7Q4LNM"), POLICY_DELIVER);
  assert_int_equal(action_of(base, "See https://sellercentral.amazon.co.uk/x"), POLICY_DELIVER);
  assert_int_equal(action_of(base, "See https://www.amazon.com.refund-center.net/claim"), POLICY_REJECT);
  assert_int_equal(action_of(base, "See https://bit.ly/3xYz"), POLICY_REJECT);
  assert_int_equal(action_of(base, "See https://amzn.to/3xYz"), POLICY_REJECT);
}

static void test_config_file(void **state) {
  (void)state;
  char *rules = write_temp("@lang op\nbrand.rival promotion high /\\bacme\\s?mart\\b/\n");
  char json[1024];
  snprintf(json, sizeof json,
           "{\"allow_domains\":[\"dhl.de\"],\"actions\":{\"emoji\":\"review\",\"formatting\":\"deliver\"},"
           "\"thresholds\":{\"exclaim_run\":3},\"rule_files\":[\"%s\"]}",
           rules);
  char *path = write_temp(json);
  policy_options opt = {.config_path = path, .cache_dir = test_policy_cache()};
  policy_config *c;
  pl_detail d = {0};
  assert_int_equal(policy_config_new(&opt, &c, &d), PL_OK);
  assert_int_equal(action_of(c, "Sendungsverfolgung: https://www.dhl.de/de/privatkunden.html"), POLICY_DELIVER);
  assert_int_equal(action_of(c, "Thanks \xf0\x9f\x99\x82"), POLICY_REVIEW);
  assert_int_equal(action_of(c, "\n\n\n\n\nHello"), POLICY_DELIVER);
  assert_int_equal(action_of(c, "Also sold at Acme Mart."), POLICY_REJECT);
  policy_verdict v;
  assert_int_equal(policy_scan(c, "Also sold at AcmeMart.", 22, &v), PL_OK);
  assert_int_equal(v.nfindings, 1);
  assert_string_equal(v.findings[0].rule, "op.brand.rival");
  assert_string_equal(v.findings[0].text, "AcmeMart");
  policy_verdict_free(&v);
  policy_config_unref(c);
  unlink(path);
  unlink(rules);
  free(path);
  free(rules);
}

static void expect_config_error(const char *json, const char *needle) {
  char *path = write_temp(json);
  policy_options opt = {.config_path = path, .cache_dir = test_policy_cache()};
  policy_config *c = NULL;
  pl_detail d = {0};
  assert_int_not_equal(policy_config_new(&opt, &c, &d), PL_OK);
  assert_null(c);
  if (!strstr(d.msg, needle)) fprintf(stderr, "  detail: %s\n", d.msg);
  assert_non_null(strstr(d.msg, needle));
  unlink(path);
  free(path);
}

/* The actions' names, as the rule file, the API and the stored messages spell them; the
 * rule file's each read back (a name of another case is an error below). */
static void test_action_names(void **state) {
  (void)state;
  assert_string_equal(policy_action_name(POLICY_DELIVER), "deliver");
  assert_string_equal(policy_action_name(POLICY_REVIEW), "review");
  assert_string_equal(policy_action_name(POLICY_REJECT), "reject");
  const char *names[] = {"deliver", "review", "reject"};
  for (size_t i = 0; i < 3; i++) {
    char json[96];
    snprintf(json, sizeof json, "{\"low_severity_action\":\"%s\"}", names[i]);
    char *path = write_temp(json);
    policy_options o = {.config_path = path, .cache_dir = test_policy_cache()};
    policy_config *c = NULL;
    pl_detail d = {0};
    assert_int_equal(policy_config_new(&o, &c, &d), PL_OK);
    assert_int_equal(c->low_action, (policy_action)i);
    policy_config_unref(c);
    unlink(path);
    free(path);
  }
}

static void test_config_errors(void **state) {
  (void)state;
  expect_config_error("{\"low_severity_action\":\"Review\"}", "low_severity_action");
  expect_config_error("{not json", "config");
  expect_config_error("{\"actions\":{\"spam\":\"reject\"}}", "spam");
  expect_config_error("{\"actions\":{\"emoji\":\"drop\"}}", "emoji");
  expect_config_error("{\"thresholds\":{\"blank_lines\":0}}", "blank_lines");
  expect_config_error("{\"allow_domains\":\"x.com\"}", "allow_domains");
  char *bad = write_temp("x.bad promotion high /(unclosed/\n");
  char json[512];
  snprintf(json, sizeof json, "{\"rule_files\":[\"%s\"]}", bad);
  expect_config_error(json, "pattern");
  unlink(bad);
  free(bad);
  bad = write_temp("x.bad nonsense high word\n");
  snprintf(json, sizeof json, "{\"rule_files\":[\"%s\"]}", bad);
  expect_config_error(json, "unknown category");
  unlink(bad);
  free(bad);
  bad = write_temp("x.bad not-nonsense low word\n");
  snprintf(json, sizeof json, "{\"rule_files\":[\"%s\"]}", bad);
  expect_config_error(json, "unknown category");
  unlink(bad);
  free(bad);
  policy_options opt = {.config_path = "/nonexistent/parley.json"};
  policy_config *c = NULL;
  pl_detail d;
  assert_int_not_equal(policy_config_new(&opt, &c, &d), PL_OK);
}

static void test_severity_review(void **state) {
  (void)state;
  /* a low-severity finding alone holds the message for review instead of rejecting */
  assert_int_equal(action_of(base, "Could you send us your mobile number for the courier?"), POLICY_REVIEW);
  assert_int_equal(action_of(base, "Leave us a review please"), POLICY_REJECT);
}

static void test_refcount(void **state) {
  (void)state;
  policy_config *c = policy_config_ref(base);
  assert_ptr_equal(c, base);
  policy_config_unref(c);
  policy_config_unref(NULL);
  assert_int_equal(action_of(base, "hello"), POLICY_DELIVER);
}

static void *scan_many(void *arg) {
  (void)arg;
  static const char *const texts[] = {
    "Please leave a review and contact me on WhatsApp +34 612 345 678",
    "Your order 112-4839201-5561023 shipped with UPS 1Z4E7W610398472615.",
    "Write to anna at northpeak dot co dot uk \xf0\x9f\x8e\x89",
  };
  for (int i = 0; i < 300; i++) {
    const char *t = texts[i % 3];
    policy_verdict v;
    if (policy_scan(base, t, strlen(t), &v) != PL_OK) return (void *)1;
    bool want = i % 3 != 1;
    if ((v.action != POLICY_DELIVER) != want) return (void *)1;
    policy_verdict_free(&v);
  }
  return NULL;
}

static void test_threads(void **state) {
  (void)state;
  pthread_t th[4];
  for (int i = 0; i < 4; i++) assert_int_equal(pthread_create(&th[i], NULL, scan_many, NULL), 0);
  for (int i = 0; i < 4; i++) {
    void *r;
    pthread_join(th[i], &r);
    assert_null(r);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_action_names),
    cmocka_unit_test(test_allow_domains_option),
    cmocka_unit_test(test_marketplace_domains),
    cmocka_unit_test(test_compile_cache),
    cmocka_unit_test(test_config_file),
    cmocka_unit_test(test_config_errors),
    cmocka_unit_test(test_severity_review),
    cmocka_unit_test(test_refcount),
    cmocka_unit_test(test_threads),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
