/* svc_fixture.h - what the service unit tests share: one compiled policy per test file
 * (compiling it is the slow part), handed to every service the tests create. */
#ifndef PL_TEST_SVC_FIXTURE_H
#define PL_TEST_SVC_FIXTURE_H

#include "../policy_fixture.h"

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

#endif
