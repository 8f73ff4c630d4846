/* test_sla_json.c - the `parley metrics --json` object: key names and nulls. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sla_test_util.h"

static json_t *render(const hist *h, int64_t at, int64_t w, const char *seller) {
  pl_arena *a = pl_arena_new();
  sla_metrics m;
  sla_events ev = h_events(h);
  assert_int_equal(sla_compute(NULL, &ev, at, w, a, &m, NULL), PL_OK);
  json_t *j = sla_metrics_to_json(&m, seller);
  pl_arena_free(a); /* the JSON holds copies, not pointers into the arena */
  assert_non_null(j);
  return j;
}

static void empty_metrics_have_nulls(void **state) {
  (void)state;
  hist h = {0};
  json_t *j = render(&h, T0, 30 * SLA_DAY, "S1");
  assert_string_equal(json_string_value(json_object_get(j, "seller")), "S1");
  assert_string_equal(json_string_value(json_object_get(j, "window")), "30d");
  assert_string_equal(json_string_value(json_object_get(j, "at")), "2027-01-15T08:00:00Z");
  json_t *crt = json_object_get(j, "crt");
  assert_true(json_is_null(json_object_get(crt, "percent")));
  assert_string_equal(json_string_value(json_object_get(crt, "status")), "no_data");
  const char *counts[] = {"on_time", "late", "pending", "flagged"};
  for (size_t i = 0; i < 4; i++)
    assert_int_equal(json_integer_value(json_object_get(crt, counts[i])), 0);
  json_t *rt = json_object_get(j, "response_time");
  assert_true(json_is_null(json_object_get(rt, "avg_s")));
  assert_true(json_is_null(json_object_get(rt, "median_s")));
  assert_true(json_is_null(json_object_get(rt, "p90_s")));
  assert_true(json_is_null(json_object_get(json_object_get(j, "resolution"), "rate")));
  json_t *vol = json_object_get(j, "volume");
  assert_int_equal(json_array_size(json_object_get(vol, "by_hour")), 24);
  assert_int_equal(json_array_size(json_object_get(vol, "by_weekday")), 7);
  json_t *nrn = json_object_get(j, "no_response_needed");
  assert_true(json_is_null(json_object_get(nrn, "rate")));
  assert_true(json_is_false(json_object_get(nrn, "over_flagging")));
  assert_int_equal(json_array_size(json_object_get(j, "agents")), 0);
  assert_non_null(json_object_get(json_object_get(j, "deadlines"), "overdue"));
  json_decref(j);
}

static void values_and_deadline_ids(void **state) {
  (void)state;
  hist h = {0};
  h_buyer(&h, 1, 1, T0);
  h_reply(&h, 1, T0 + 90);
  h_buyer(&h, 2, 2, T0 + 10);
  h.b[1].ref = "M2";
  h_buyer(&h, 3, 3, T0 + 20);
  json_t *j = render(&h, T0 + SLA_DAY + 15, 7 * SLA_DAY, NULL);
  assert_true(json_is_null(json_object_get(j, "seller")));
  assert_string_equal(json_string_value(json_object_get(j, "window")), "7d");
  json_t *crt = json_object_get(j, "crt");
  assert_double_equal(json_number_value(json_object_get(crt, "percent")), 50.0, 0);
  assert_string_equal(json_string_value(json_object_get(crt, "status")), "at_risk");
  assert_int_equal(json_integer_value(json_object_get(crt, "pending")), 1);
  json_t *rt = json_object_get(j, "response_time");
  assert_double_equal(json_number_value(json_object_get(rt, "avg_s")), 90.0, 0);
  assert_int_equal(json_integer_value(json_object_get(rt, "p90_s")), 90);
  json_t *dl = json_object_get(j, "deadlines");
  json_t *over = json_array_get(json_object_get(dl, "overdue"), 0);
  assert_string_equal(json_string_value(json_object_get(over, "id")), "M2");
  json_t *soon = json_array_get(json_object_get(dl, "due_soon"), 0);
  assert_int_equal(json_integer_value(json_object_get(soon, "id")), 3);
  assert_int_equal(json_integer_value(json_object_get(soon, "left_s")), 5);
  char *s = json_dumps(j, JSON_COMPACT);
  assert_non_null(strstr(s, "\"crt\":{\"percent\":50.0,\"status\":\"at_risk\""));
  free(s);
  json_decref(j);
}

static void window_labels(void **state) {
  (void)state;
  char buf[24];
  assert_string_equal(sla_window_label(90 * SLA_DAY, buf), "90d");
  assert_string_equal(sla_window_label(12 * SLA_HOUR, buf), "12h");
  assert_string_equal(sla_window_label(61, buf), "61s");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(empty_metrics_have_nulls),
      cmocka_unit_test(values_and_deadline_ids),
      cmocka_unit_test(window_labels),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
