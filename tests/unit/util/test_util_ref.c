/* test_util_ref.c - unit tests of public ids (pl_ref): a keyed permutation that hides volume. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sodium.h>
#include <string.h>

#include "util/pl_ref.h"

static void set_key(uint8_t fill) {
  uint8_t k[32];
  memset(k, fill, sizeof k);
  pl_ref_set_key(k);
}

/* Every id comes back from its ref, in either case, and nothing else does. */
static void round_trip(void **state) {
  (void)state;
  set_key(7);
  char buf[PL_REF_MAX];
  const int64_t ids[] = {1, 2, 3, 41, 1000, 65535, INT64_C(1) << 31, INT64_C(1) << 40, PL_REF_ID_MAX};
  for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
    int64_t back = 0;
    pl_ref_format(buf, "T", ids[i]);
    assert_int_equal(strlen(buf), 13);
    assert_int_equal(buf[0], 'T');
    assert_true(pl_ref_parse(buf, "T", &back));
    assert_int_equal(back, ids[i]);
    for (char *p = buf + 1; *p; p++)
      if (*p >= 'a' && *p <= 'z') *p = (char)(*p - 'a' + 'A');
    back = 0;
    assert_true(pl_ref_parse(buf, "T", &back));
    assert_int_equal(back, ids[i]);
  }
  for (int64_t id = 1; id < 20000; id++) {
    int64_t back = 0;
    assert_true(pl_ref_parse(pl_ref_format(buf, "TPL", id), "TPL", &back));
    assert_int_equal(back, id);
  }
}

/* Consecutive ids give refs with nothing in common: neither sorted nor close. */
static void consecutive_ids_look_unrelated(void **state) {
  (void)state;
  set_key(1);
  char a[PL_REF_MAX], b[PL_REF_MAX];
  int ascending = 0, shared_prefix = 0;
  for (int64_t id = 1; id < 1000; id++) {
    pl_ref_format(a, "M", id);
    pl_ref_format(b, "M", id + 1);
    if (strcmp(a, b) < 0) ascending++;
    if (!strncmp(a, b, 6)) shared_prefix++;
  }
  /* a counter would ascend 999 times out of 999; a permutation about half the time */
  assert_in_range(ascending, 350, 650);
  assert_true(shared_prefix < 5);
}

/* The same number under another prefix, or another key, is another ref. */
static void prefix_and_key_change_the_ref(void **state) {
  (void)state;
  char t[PL_REF_MAX], m[PL_REF_MAX], t2[PL_REF_MAX];
  set_key(1);
  pl_ref_format(t, "T", 41);
  pl_ref_format(m, "M", 41);
  assert_string_not_equal(t + 1, m + 1);
  set_key(2);
  pl_ref_format(t2, "T", 41);
  assert_string_not_equal(t, t2);
  int64_t id = 0;
  /* under the other key the old ref names some other row, or none */
  assert_false(pl_ref_parse(t, "T", &id) && id == 41);
}

/* Old numeric ids, other prefixes, other lengths and other letters are not refs. */
static void malformed_refs_refused(void **state) {
  (void)state;
  set_key(3);
  char ok[PL_REF_MAX];
  pl_ref_format(ok, "T", 5);
  int64_t id;
  const char *bad[] = {"", "T", "T1", "T41", "M1", "T-1", "t", "T00000000000",
                       "T0000000000000", "T000000000000x1", "Tiiiiiiiiiiii", "Tuuuuuuuuuuuu", "T0000 0000000"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) assert_false(pl_ref_parse(bad[i], "T", &id));
  assert_false(pl_ref_parse(NULL, "T", &id));
  assert_false(pl_ref_parse(ok, "M", &id));
  assert_false(pl_ref_parse(ok + 1, "T", &id));
  char longer[PL_REF_MAX + 2];
  strcpy(longer, ok);
  strcat(longer, "0");
  assert_false(pl_ref_parse(longer, "T", &id));
}

int main(void) {
  if (sodium_init() < 0) return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(round_trip),
      cmocka_unit_test(consecutive_ids_look_unrelated),
      cmocka_unit_test(prefix_and_key_change_the_ref),
      cmocka_unit_test(malformed_refs_refused),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
