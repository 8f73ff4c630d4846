/* svc_fixture.h - what the service unit tests share: one compiled policy per test file
 * (compiling it is the slow part), handed to every service the tests create. */
#ifndef PL_TEST_SVC_FIXTURE_H
#define PL_TEST_SVC_FIXTURE_H

#include <stdlib.h>

#include "policy/policy.h"

static policy_config *shared_policy;

static int group_setup(void **state) {
  (void)state;
  pl_detail d = {{0}};
  policy_options po = {.cache_dir = getenv("PARLEY_POLICY_CACHE")}; /* shared by make test */
  return policy_config_new(&po, &shared_policy, &d) == PL_OK ? 0 : -1;
}

static int group_teardown(void **state) {
  (void)state;
  policy_config_unref(shared_policy);
  return 0;
}

#endif
