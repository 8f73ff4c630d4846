/* fuzz_lib_bodies.c - libFuzzer target: the service's parsers of JSON request bodies.
 *
 * The first byte chooses the parser, the rest is the body as a client sends it: an
 * order (PUT /v1/orders/{id}: svc_order_from_json), a team rule (POST /v1/rules:
 * svc_rule_put, which also checks that an assign action names an active agent of the
 * seller) or a thread's tags (PUT /v1/threads/{id}/tags). Rules and tags run against an
 * in-memory store in a batch that is rolled back. */
#include <stdint.h>

#include "fuzz_svc.h"
#include "service/svc_team.h"

static json_t *load(const uint8_t *data, size_t size) {
  return json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  svc *s = fuzz_service();
  unsigned which = data[0] % 3;
  json_t *body = load(data + 1, size - 1);
  if (!body) return 0; /* not JSON: the transport refuses it before the service */
  pl_arena *a = pl_arena_new();
  pl_detail d = {0};
  pl_err e;
  switch (which) {
  case 0: {
    st_order o;
    e = svc_order_from_json(body, "112-0000000-0000001", a, &o, &d);
    /* an accepted order has the fields every later step relies on */
    if (!e && (!o.id || o.status == ST_ORDER_UNKNOWN)) __builtin_trap();
    break;
  }
  case 1: {
    if (svc_batch_begin(s, &d)) __builtin_trap();
    json_t *out = NULL;
    e = svc_rule_put(s, &fuzz_owner, 0, body, a, &out, &d);
    if (!e && !json_is_object(out)) __builtin_trap();
    /* a rule never names another seller's agent */
    size_t i;
    json_t *act;
    json_array_foreach(json_object_get(out, "actions"), i, act) {
      json_t *ag = json_object_get(act, "agent_id");
      if (json_is_integer(ag) && json_integer_value(ag) == fuzz_other_agent) __builtin_trap();
    }
    json_decref(out);
    svc_batch_end(s, false, &d);
    break;
  }
  default: {
    if (svc_batch_begin(s, &d)) __builtin_trap();
    e = svc_team_tags(s, &fuzz_owner, 1, json_object_get(body, "tags"), a, &d);
    svc_batch_end(s, false, &d);
    break;
  }
  }
  if (e && !d.msg[0]) __builtin_trap(); /* every refusal says why */
  json_decref(body);
  pl_arena_free(a);
  return 0;
}
