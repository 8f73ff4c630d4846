/* svc_fixture.h - what the service unit tests share: one compiled policy per test file
 * (compiling it is the slow part), handed to every service the tests create. */
#ifndef PL_TEST_SVC_FIXTURE_H
#define PL_TEST_SVC_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../policy_fixture.h"
#include "service/svc.h"

static policy_config *shared_policy;

static int group_setup(void **state) {
  (void)state;
  return test_policy_compile(&shared_policy);
}

static int group_teardown(void **state) {
  (void)state;
  policy_config_unref(shared_policy);
  return 0;
}

/* A service over a new SQLite store in a new temporary directory (dir: "/tmp/<name>-XXXXXX"
 * on return), on the clock clk, with the shared policy; the test fails when it cannot. */
static inline svc *svc_test_open(char dir[64], const char *name, pl_clock clk) {
  snprintf(dir, 64, "/tmp/%s-XXXXXX", name);
  assert_non_null(mkdtemp(dir));
  char db[128], key[128];
  snprintf(db, sizeof db, "%s/t.db", dir);
  snprintf(key, sizeof key, "%s/t.key", dir);
  pl_detail d = {0};
  assert_int_equal(pl_crypto_init(), PL_OK);
  pl_keys keys;
  assert_int_equal(pl_keys_load_or_create(key, &keys, &d), PL_OK);
  store *st;
  assert_int_equal(store_open(db, &st, &d), PL_OK);
  svc_options o = {.clock = clk, .policy = shared_policy};
  svc *s = NULL;
  assert_int_equal(svc_new(st, &keys, &o, &s, &d), PL_OK);
  return s;
}

/* Frees the service and removes its directory. */
static inline void svc_test_close(svc *s, const char *dir) {
  svc_free(s);
  char cmd[160];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  assert_int_equal(system(cmd), 0);
}

/* One import line (docs/import.md); the test fails when it is refused. */
static inline void svc_test_import(svc *s, const char *line) {
  pl_detail d = {0};
  pl_err e = svc_import_line(s, line, strlen(line), &d);
  if (e) fail_msg("import failed: %s: %s (%s)", pl_errname(e), d.msg, line);
}

#endif
