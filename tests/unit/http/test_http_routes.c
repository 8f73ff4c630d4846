/* test_http_routes.c - the route table: every row is documented in docs/openapi.json (or,
 * for SP-API, is Amazon's), everything documented is a row, and the matcher finds each row. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <ctype.h>
#include <string.h>
#include <jansson.h>

#include "http/http_int.h"
#include "service/svc_rules.h"

#define OPENAPI PARLEY_TEST_DATA "/../../docs/openapi.json"

static bool spapi_row(const http_route *rt) { return rt->who >= HTTP_SPAPI_APP; }

static json_t *openapi_paths(void) {
  json_error_t err;
  json_t *doc = json_load_file(OPENAPI, 0, &err);
  if (!doc) fail_msg("%s: %s", OPENAPI, err.text);
  json_t *paths = json_incref(json_object_get(doc, "paths"));
  json_decref(doc);
  assert_non_null(paths);
  return paths;
}

static void lower(const char *in, char *out, size_t cap) {
  size_t i = 0;
  for (; in[i] && i + 1 < cap; i++) out[i] = (char)tolower((unsigned char)in[i]);
  out[i] = '\0';
}

/* Every row of the own API is an operation of openapi.json; SP-API rows are not. */
static void rows_are_documented(void **state) {
  (void)state;
  json_t *paths = openapi_paths();
  size_t n;
  const http_route *rt = http__routes(&n);
  for (size_t i = 0; i < n; i++) {
    char m[8];
    lower(rt[i].method, m, sizeof m);
    json_t *op = json_object_get(json_object_get(paths, rt[i].pattern), m);
    if (spapi_row(&rt[i]) ? op != NULL : op == NULL)
      fail_msg("%s %s: %s in docs/openapi.json", rt[i].method, rt[i].pattern, op ? "is" : "is not");
  }
  json_decref(paths);
}

/* Every operation of openapi.json is a row. */
static void documented_are_rows(void **state) {
  (void)state;
  json_t *paths = openapi_paths(), *item;
  const char *path;
  size_t n;
  const http_route *rt = http__routes(&n);
  json_object_foreach(paths, path, item) {
    const char *m;
    json_t *op;
    json_object_foreach(item, m, op) {
      if (strcmp(m, "get") && strcmp(m, "post") && strcmp(m, "put") && strcmp(m, "delete") && strcmp(m, "patch"))
        continue; /* parameters, summary */
      bool found = false;
      for (size_t i = 0; i < n && !found; i++) {
        char lm[8];
        lower(rt[i].method, lm, sizeof lm);
        found = !strcmp(rt[i].pattern, path) && !strcmp(lm, m);
      }
      if (!found) fail_msg("%s %s of docs/openapi.json has no route", m, path);
    }
  }
  json_decref(paths);
}

/* A path of the pattern: {x} becomes "p1", "p2"..., {action} a message action. */
static void sample(const char *pattern, char *out, size_t cap) {
  size_t o = 0;
  int k = 0;
  for (const char *p = pattern; *p && o + 24 < cap;) {
    if (*p != '{') {
      out[o++] = *p++;
      continue;
    }
    const char *end = strchr(p, '}');
    bool action = !strncmp(p, "{action}", 8);
    o += (size_t)snprintf(out + o, cap - o, "%s", action ? svc_actions[0].name : "");
    if (!action) o += (size_t)snprintf(out + o, cap - o, "p%d", ++k);
    p = end + 1;
  }
  out[o] = '\0';
}

/* Each row is found for a path of its own pattern: no earlier pattern hides it, and the
 * {} values come back in order. */
static void each_row_is_found(void **state) {
  (void)state;
  size_t n;
  const http_route *rt = http__routes(&n);
  pl_arena *a = pl_arena_new();
  for (size_t i = 0; i < n; i++) {
    char url[256];
    char *arg[4];
    const http_route *path;
    sample(rt[i].pattern, url, sizeof url);
    const http_route *got = http__route_find(a, url, rt[i].method, &path, arg);
    if (got != &rt[i])
      fail_msg("%s %s (as %s) finds %s", rt[i].method, rt[i].pattern, url, got ? got->pattern : "nothing");
    if (strstr(rt[i].pattern, "{id}")) assert_string_equal(arg[0], "p1");
    for (size_t j = i + 1; j < n; j++) /* the methods of a pattern are found from its first row */
      if (!strcmp(rt[i].method, rt[j].method) && !strcmp(rt[i].pattern, rt[j].pattern))
        fail_msg("%s %s twice", rt[i].method, rt[i].pattern);
  }
  pl_arena_free(a);
}

static void matching(void **state) {
  (void)state;
  pl_arena *a = pl_arena_new();
  const http_route *path, *rt;
  char *arg[4];
  /* empty segments do not count; deeper or shallower paths are not the pattern's */
  rt = http__route_find(a, "//v1//threads/T7/", "GET", &path, arg);
  assert_non_null(rt);
  assert_string_equal(rt->pattern, "/v1/threads/{id}");
  assert_string_equal(arg[0], "T7");
  assert_null(http__route_find(a, "/v1/threads/T7/x/y", "GET", &path, arg));
  assert_null(path);
  /* a path with a method it does not take: its pattern's first row, no row */
  assert_null(http__route_find(a, "/v1/templates/starter", "GET", &path, arg));
  assert_string_equal(path->pattern, "/v1/templates/starter");
  /* {action} is one of the message actions */
  assert_null(http__route_find(a, "/messaging/v1/orders/1/messages/nosuch", "POST", &path, arg));
  assert_null(path);
  /* {name...} is the rest, slashes and all, after exactly one '/' */
  rt = http__route_find(a, "/uploads/2020-11-01/uploadDestinations/messaging/v1/orders/1", "POST", &path, arg);
  assert_non_null(rt);
  assert_string_equal(arg[0], "messaging/v1/orders/1");
  rt = http__route_find(a, "/uploads/2020-11-01/destinations/", "PUT", &path, arg);
  assert_non_null(rt);
  assert_string_equal(arg[0], "");
  assert_null(http__route_find(a, "/uploads/2020-11-01/destinations", "PUT", &path, arg));
  pl_arena_free(a);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(rows_are_documented),
      cmocka_unit_test(documented_are_rows),
      cmocka_unit_test(each_row_is_found),
      cmocka_unit_test(matching),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
