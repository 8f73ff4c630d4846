/* policy_fixture.h - how unit tests get the default compiled policy: from the compile
 * cache make test keeps per build (PARLEY_POLICY_CACHE), so that the rules compile once
 * per build and not once per test file (docs/policy.md, "Compile cache"). */
#ifndef PL_TEST_POLICY_FIXTURE_H
#define PL_TEST_POLICY_FIXTURE_H

#include <stdlib.h>

#include "policy/policy.h"

/* The cache directory make test names, or NULL (compile every time). */
static inline const char *test_policy_cache(void) { return getenv("PARLEY_POLICY_CACHE"); }

/* The default configuration into *out; 0 on success, as cmocka set-ups return. */
static inline int test_policy_compile(policy_config **out) {
  pl_detail d = {0};
  policy_options po = {.cache_dir = test_policy_cache()};
  return policy_config_new(&po, out, &d) == PL_OK ? 0 : -1;
}

#endif
