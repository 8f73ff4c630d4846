/* names_check.h - checks one name table of pl_names.h against the names written out here.
 *
 * NAMES_CHECK(type, {VALUE, "name"}, ...) lists every value of the enum with the name the
 * databases and the API use for it; the check fails when a value's name differs (a wire or
 * column value changed), when a name does not read back as its value, when the table has
 * a value after the last one listed, or when an unknown name or NULL is not refused as 0.
 * The caller includes cmocka. */
#ifndef PL_TEST_NAMES_CHECK_H
#define PL_TEST_NAMES_CHECK_H

#define NAMES_CHECK(type, ...)                                                             \
  do {                                                                                     \
    static const struct {                                                                  \
      type v;                                                                              \
      const char *name;                                                                    \
    } all_[] = {__VA_ARGS__};                                                              \
    int last_ = 0;                                                                         \
    for (size_t i_ = 0; i_ < sizeof all_ / sizeof *all_; i_++) {                           \
      type back_ = (type)0;                                                                \
      assert_non_null(type##_name(all_[i_].v));                                            \
      assert_string_equal(type##_name(all_[i_].v), all_[i_].name);                         \
      assert_int_equal(type##_from_name(all_[i_].name, &back_), PL_OK);                    \
      assert_int_equal(back_, all_[i_].v);                                                 \
      if ((int)all_[i_].v > last_) last_ = (int)all_[i_].v;                                \
    }                                                                                      \
    assert_int_equal(last_, (int)(sizeof all_ / sizeof *all_)); /* 1..n, each listed */    \
    assert_null(type##_name((type)0));                                                     \
    assert_null(type##_name((type)(last_ + 1)));                                           \
    type none_ = all_[0].v;                                                                \
    assert_int_equal(type##_from_name("no-such-name", &none_), PL_EINVAL);                 \
    assert_int_equal(none_, 0);                                                            \
    none_ = all_[0].v;                                                                     \
    assert_int_equal(type##_from_name(NULL, &none_), PL_EINVAL);                           \
    assert_int_equal(none_, 0);                                                            \
    none_ = all_[0].v;                                                                     \
    char upper_[64];                                                                       \
    snprintf(upper_, sizeof upper_, "%s", all_[0].name);                                   \
    upper_[0] = (char)(upper_[0] - 'a' + 'A'); /* names are exact: case counts */         \
    assert_int_equal(type##_from_name(upper_, &none_), PL_EINVAL);                         \
  } while (0)

#endif
