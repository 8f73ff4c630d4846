/* test_util_log.c - unit tests of log lines (pl_log): one parseable line whatever the values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/pl_log.h"

/* Values a line must carry intact: spaces, quotes, '=', backslashes, control characters,
 * a line break that must not end the line, UTF-8 and bytes that are not UTF-8. */
static const char *const awkward[] = {
    "/v1/threads/{id}/messages", "a route with spaces", "say \"hi\"", "k=v", "back\\slash",
    "line\nbreak\r\n", "tab\there", "bell\a", "caf\xc3\xa9 \xe2\x82\xac", "", "x y=\"z\"",
};

/* Writes one line through pl_log_write into a pipe and reads it back. */
static size_t one_line(pl_log_format f, const char *const *vals, size_t n, char *out, size_t cap) {
  int p[2];
  assert_int_equal(pipe(p), 0);
  pl_log_setup(f, PL_LOG_INFO, p[1]);
  pl_log_line l;
  pl_log_begin(&l, PL_LOG_INFO, "request");
  char key[24]; /* "k" and a size_t */
  for (size_t i = 0; i < n; i++) {
    snprintf(key, sizeof key, "k%zu", i);
    pl_log_str(&l, key, vals[i]);
  }
  pl_log_int(&l, "status", 201);
  pl_log_ms(&l, "duration_ms", 1.25);
  pl_log_write(&l);
  close(p[1]);
  size_t got = 0;
  ssize_t r;
  while ((r = read(p[0], out + got, cap - 1 - got)) > 0) got += (size_t)r;
  close(p[0]);
  out[got] = '\0';
  pl_log_setup(PL_LOG_OFF, PL_LOG_INFO, 2);
  return got;
}

static void assert_one_line(const char *s, size_t n) {
  assert_true(n > 1 && n <= PL_LOG_MAX);
  assert_int_equal(s[n - 1], '\n');
  assert_null(memchr(s, '\n', n - 1));
  assert_null(memchr(s, '\r', n));
}

/* The value of key in a logfmt line, decoded: bare, or a quoted string with JSON's escapes
 * (which jansson reads). NULL when the key is not there. */
static char *logfmt_get(const char *line, const char *key) {
  const char *p = line;
  while (*p && *p != '\n') {
    const char *k = p;
    while (*p && *p != '=') p++;
    assert_int_equal(*p, '=');
    size_t kl = (size_t)(p - k);
    p++;
    const char *v = p;
    char *val;
    if (*p == '"') {
      for (p++; *p != '"'; p++) {
        assert_true(*p && *p != '\n');
        if (*p == '\\') p++;
      }
      p++;
      json_error_t err;
      json_t *j = json_loadb(v, (size_t)(p - v), JSON_DECODE_ANY, &err);
      assert_non_null(j);
      val = strdup(json_string_value(j));
      json_decref(j);
    } else {
      while (*p && *p != ' ' && *p != '\n') p++;
      val = strndup(v, (size_t)(p - v));
    }
    assert_true(*p == ' ' || *p == '\n');
    if (*p == ' ') p++;
    if (kl == strlen(key) && !strncmp(k, key, kl)) return val;
    free(val);
  }
  return NULL;
}

static void logfmt_values_survive(void **state) {
  (void)state;
  char buf[8192];
  size_t n = one_line(PL_LOG_LOGFMT, awkward, sizeof awkward / sizeof awkward[0], buf, sizeof buf);
  assert_one_line(buf, n);
  assert_true(!strncmp(buf, "time=", 5));
  assert_int_equal(strlen(buf), n);
  char *v = logfmt_get(buf, "level");
  assert_string_equal(v, "info");
  free(v);
  for (size_t i = 0; i < sizeof awkward / sizeof awkward[0]; i++) {
    char key[16];
    snprintf(key, sizeof key, "k%zu", i);
    v = logfmt_get(buf, key);
    assert_non_null(v);
    assert_string_equal(v, awkward[i]);
    free(v);
  }
  v = logfmt_get(buf, "status");
  assert_string_equal(v, "201");
  free(v);
  v = logfmt_get(buf, "duration_ms");
  assert_string_equal(v, "1.250");
  free(v);
  /* a pattern is written bare, as a reader greps for it */
  assert_non_null(strstr(buf, " k0=/v1/threads/{id}/messages "));
}

static void json_values_survive(void **state) {
  (void)state;
  char buf[8192];
  size_t n = one_line(PL_LOG_JSON, awkward, sizeof awkward / sizeof awkward[0], buf, sizeof buf);
  assert_one_line(buf, n);
  json_error_t err;
  json_t *j = json_loads(buf, 0, &err);
  assert_non_null(j);
  assert_string_equal(json_string_value(json_object_get(j, "level")), "info");
  assert_string_equal(json_string_value(json_object_get(j, "msg")), "request");
  const char *t = json_string_value(json_object_get(j, "time"));
  assert_non_null(t);
  assert_int_equal(strlen(t), 24); /* 2026-10-05T09:00:00.123Z */
  assert_int_equal(t[23], 'Z');
  assert_int_equal(t[19], '.');
  for (size_t i = 0; i < sizeof awkward / sizeof awkward[0]; i++) {
    char key[16];
    snprintf(key, sizeof key, "k%zu", i);
    assert_string_equal(json_string_value(json_object_get(j, key)), awkward[i]);
  }
  assert_int_equal(json_integer_value(json_object_get(j, "status")), 201);
  assert_true(json_is_real(json_object_get(j, "duration_ms")));
  json_decref(j);
}

/* Bytes that are not UTF-8 become U+FFFD: the JSON stays valid. */
static void invalid_utf8_is_replaced(void **state) {
  (void)state;
  const char *vals[] = {"a\xff" "b\xc3", "\xe2\x82"};
  char buf[8192];
  size_t n = one_line(PL_LOG_JSON, vals, 2, buf, sizeof buf);
  assert_one_line(buf, n);
  json_error_t err;
  json_t *j = json_loads(buf, 0, &err);
  assert_non_null(j);
  assert_string_equal(json_string_value(json_object_get(j, "k0")), "a\xef\xbf\xbd" "b\xef\xbf\xbd");
  json_decref(j);
}

/* A line longer than PL_LOG_MAX loses whole fields, says so, and stays one line (and in
 * JSON one object). */
static void long_lines_are_truncated_whole(void **state) {
  (void)state;
  static char big[3000];
  memset(big, '"', sizeof big - 1);
  const char *vals[] = {"first", big, "third", big};
  char buf[16384];
  for (int f = PL_LOG_LOGFMT; f <= PL_LOG_JSON; f++) {
    size_t n = one_line((pl_log_format)f, vals, 4, buf, sizeof buf);
    assert_one_line(buf, n);
    if (f == PL_LOG_JSON) {
      json_error_t err;
      json_t *j = json_loads(buf, 0, &err);
      assert_non_null(j);
      assert_string_equal(json_string_value(json_object_get(j, "k0")), "first");
      assert_string_equal(json_string_value(json_object_get(j, "k2")), "third");
      assert_null(json_object_get(j, "k1"));
      assert_true(json_is_true(json_object_get(j, "truncated")));
      json_decref(j);
    } else {
      char *v = logfmt_get(buf, "truncated");
      assert_string_equal(v, "true");
      free(v);
      v = logfmt_get(buf, "k2");
      assert_string_equal(v, "third");
      free(v);
      assert_null(logfmt_get(buf, "k1"));
    }
  }
}

static void levels_and_off(void **state) {
  (void)state;
  pl_log_format f;
  pl_log_level lv;
  assert_true(pl_log_format_parse("json", &f) && f == PL_LOG_JSON);
  assert_true(pl_log_format_parse("off", &f) && f == PL_LOG_OFF);
  assert_false(pl_log_format_parse("text", &f));
  assert_true(pl_log_level_parse("warn", &lv) && lv == PL_LOG_WARN);
  assert_false(pl_log_level_parse("debug", &lv));
  pl_log_setup(PL_LOG_LOGFMT, PL_LOG_WARN, 2);
  assert_false(pl_log_enabled(PL_LOG_INFO));
  assert_true(pl_log_enabled(PL_LOG_WARN));
  assert_true(pl_log_enabled(PL_LOG_ERROR));
  pl_log_setup(PL_LOG_OFF, PL_LOG_INFO, 2);
  assert_false(pl_log_enabled(PL_LOG_ERROR));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(logfmt_values_survive),       cmocka_unit_test(json_values_survive),
      cmocka_unit_test(invalid_utf8_is_replaced),    cmocka_unit_test(long_lines_are_truncated_whole),
      cmocka_unit_test(levels_and_off),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
