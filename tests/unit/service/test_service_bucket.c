/* test_service_bucket.c - the token bucket arithmetic (svc_bucket.c): refill, cap, cost, a clock
 * that goes back, and the time to wait. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "service/svc_bucket.h"

#define NEAR(x, want) assert_true((x) > (want) - 1e-9 && (x) < (want) + 1e-9)

/* A bucket of 2, one token a second: two pass at once, the third waits for the rest of
 * its token; tokens come back at the rate and never above the burst. */
static void test_refill_and_cap(void **state) {
  (void)state;
  svc_bucket b = {.tokens = 2.0, .updated_at = 100.0}; /* as a fresh bucket is */
  double retry = -1;
  assert_true(svc_bucket_take(&b, 100.0, 1.0, 2.0, 1.0, &retry));
  assert_true(retry == 0);
  assert_true(svc_bucket_take(&b, 100.0, 1.0, 2.0, 1.0, &retry));
  assert_false(svc_bucket_take(&b, 100.25, 1.0, 2.0, 1.0, &retry));
  NEAR(retry, 0.75);
  NEAR(b.tokens, 0.25); /* the refill is kept, though nothing was taken */
  assert_true(b.updated_at == 100.25);
  assert_true(svc_bucket_take(&b, 101.25, 1.0, 2.0, 1.0, &retry));
  NEAR(b.tokens, 0.25);
  /* a long pause fills the bucket to the burst, not beyond */
  assert_true(svc_bucket_take(&b, 1000.0, 1.0, 2.0, 1.0, &retry));
  assert_true(b.tokens == 1.0 && b.updated_at == 1000.0);
  assert_true(svc_bucket_take(&b, 1000.0, 1.0, 2.0, 1.0, &retry));
  assert_false(svc_bucket_take(&b, 1000.0, 1.0, 2.0, 1.0, &retry));
  assert_true(retry == 1.0);
}

/* A cost of many tokens (an upload's bytes): taken whole or not at all; a cost above
 * the burst never passes and has no time to wait, and takes nothing. */
static void test_cost(void **state) {
  (void)state;
  double rate = 100.0 / 86400, retry;
  svc_bucket b = {.tokens = 100.0, .updated_at = 1000.0};
  assert_false(svc_bucket_take(&b, 1000.0, rate, 100.0, 101.0, &retry));
  assert_true(retry == 0);
  assert_true(b.tokens == 100.0);
  assert_true(svc_bucket_take(&b, 1000.0, rate, 100.0, 60.0, &retry));
  assert_true(svc_bucket_take(&b, 1000.0, rate, 100.0, 40.0, &retry));
  assert_true(b.tokens == 0.0);
  assert_false(svc_bucket_take(&b, 1000.0, rate, 100.0, 1.0, &retry));
  NEAR(retry, 864.0); /* one token of 100 a day */
  /* exactly the burst passes on a full bucket */
  b = (svc_bucket){.tokens = 100.0, .updated_at = 0.0};
  assert_true(svc_bucket_take(&b, 0.0, rate, 100.0, 100.0, &retry));
}

/* Three a minute: the fourth waits 20 s for one token. */
static void test_retry(void **state) {
  (void)state;
  double rate = 3.0 / 60, retry;
  svc_bucket b = {.tokens = 3.0, .updated_at = 1000.0};
  for (int i = 0; i < 3; i++) assert_true(svc_bucket_take(&b, 1000.0, rate, 3.0, 1.0, &retry));
  assert_false(svc_bucket_take(&b, 1000.0, rate, 3.0, 1.0, &retry));
  NEAR(retry, 20.0);
  assert_false(svc_bucket_take(&b, 1015.0, rate, 3.0, 1.0, &retry));
  NEAR(retry, 5.0);
  assert_true(svc_bucket_take(&b, 1020.001, rate, 3.0, 1.0, &retry));
}

/* A clock that goes back (another node's, or a step of this one) refills nothing and
 * does not move the bucket's time back, so that the time forward again is not counted
 * twice. */
static void test_clock_back(void **state) {
  (void)state;
  double retry;
  svc_bucket b = {.tokens = 0.5, .updated_at = 200.0};
  assert_false(svc_bucket_take(&b, 150.0, 1.0, 5.0, 1.0, &retry));
  assert_true(b.tokens == 0.5 && b.updated_at == 200.0);
  NEAR(retry, 0.5);
  assert_true(svc_bucket_take(&b, 200.5, 1.0, 5.0, 1.0, &retry));
  assert_true(b.tokens == 0.0 && b.updated_at == 200.5);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_refill_and_cap),
    cmocka_unit_test(test_cost),
    cmocka_unit_test(test_retry),
    cmocka_unit_test(test_clock_back),
  };
  return cmocka_run_group_tests_name("bucket", tests, NULL, NULL);
}
