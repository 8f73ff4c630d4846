/* http_team.c - handlers of the seller's team's routes (docs/team.md, rows of
 * http_route.c): parse, call one service operation, render. */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "http/http_int.h"
#include "service/svc_mail.h"
#include "service/svc_team.h"

static const char *query(http_req *r, const char *k) {
  return http__query(r, k);
}

static void fail(http_req *r, pl_err e, const pl_detail *d) { http__fail(r, e, d); }

static void reply(http_req *r, pl_err e, const pl_detail *d, unsigned status, const char *key, json_t *v) {
  if (e) {
    json_decref(v);
    fail(r, e, d);
  } else if (key) {
    http__json(r, status, json_pack("{s:o}", key, v ? v : json_null()));
  } else {
    http__json(r, status, v ? v : json_object());
  }
}

/* A JSON object body, or an empty object when the request has none. */
static json_t *body_or_empty(http_req *r) { return http__body_or_empty(r); }

static bool ref_id(http_req *r, const char *ref, const char *prefix, const char *what, int64_t *id) {
  if (svc_team_parse_ref(ref, prefix, id)) return true;
  char msg[96];
  snprintf(msg, sizeof msg, "no such %s", what);
  http__error(r, PL_ENOTFOUND, msg);
  return false;
}

static void policy_refused(http_req *r, const pl_detail *d, const policy_verdict *v, const char *lang) {
  http__json(r, 422, json_pack("{s:{s:s,s:s,s:s,s:o}}", "error", "code", "policy_violation", "message", d->msg,
                               "language", lang ? lang : "", "findings", svc_json_findings(v)));
}

/* ---- templates ----------------------------------------------------------------------- */

static void h_template_put(http_req *r, int64_t id) {
  json_t *b = http__body_object(r);
  if (!b) return;
  json_t *out = NULL;
  policy_verdict v;
  const char *lang;
  pl_detail d = {0};
  pl_err e = svc_template_put(r->s, &r->caller, id, b, r->a, &out, &v, &lang, &d);
  if (e == PL_EPOLICY) policy_refused(r, &d, &v, lang);
  else reply(r, e, &d, id ? 200 : 201, "template", out);
  policy_verdict_free(&v);
}

static void h_template_render(http_req *r, int64_t id) {
  json_t *b = body_or_empty(r);
  if (!b) return;
  const char *thread = NULL, *order = NULL;
  json_t *values = json_object_get(b, "values");
  int64_t tid = 0;
  if (values && !json_is_object(values)) http__error(r, PL_ETYPE, "field 'values' must be an object");
  else if (http__field_str(r, b, "thread_id", &thread) && http__field_str(r, b, "order_id", &order)) {
    if (thread && !svc_parse_ref(thread, 'T', &tid)) {
      http__error(r, PL_ENOTFOUND, "no such thread");
    } else {
      char *text;
      const char *lang;
      pl_detail d = {0};
      pl_err e = svc_template_render(r->s, &r->caller, id, tid, order, values, r->a, &text, &lang, &d);
      if (e) fail(r, e, &d);
      else http__json(r, 200, json_pack("{s:s,s:s}", "language", lang, "text", text));
    }
  }
}

void http__template_proactive(http_req *r, char **arg) {
  const char *order_id = arg[0];
  json_t *b = http__body_object(r);
  if (!b) return;
  const char *tpl = NULL;
  json_t *values = json_object_get(b, "values");
  int64_t id;
  if (values && !json_is_object(values)) http__error(r, PL_ETYPE, "field 'values' must be an object");
  else if (http__field_str(r, b, "template_id", &tpl)) {
    if (!tpl) http__error(r, PL_EMISSING, "template_id is required");
    else if (ref_id(r, tpl, "TPL", "template", &id)) {
      svc_sent m;
      pl_detail d = {0};
      pl_err e = svc_template_send_proactive(r->s, &r->caller, order_id, id, values, r->a, &m, &d);
      if (e == PL_EPOLICY) policy_refused(r, &d, &m.verdict, NULL);
      else if (e) fail(r, e, &d);
      else http__json(r, 201, json_pack("{s:o}", "message", svc_json_message(&r->caller, &m.msg)));
      policy_verdict_free(&m.verdict);
    }
  }
}

void http__templates_list(http_req *r, char **arg) {
  json_t *out = NULL;
  pl_detail d = {0};
  pl_err e = svc_template_list(r->s, &r->caller, r->a, &out, &d);
  reply(r, e, &d, 200, "templates", out);
}

void http__template_create(http_req *r, char **arg) { h_template_put(r, 0); }

void http__templates_starter(http_req *r, char **arg) {
  json_t *out = NULL, *b = body_or_empty(r);
  const char *seller = NULL;
  pl_detail d = {0};
  if (b && http__field_str(r, b, "seller_id", &seller)) {
    pl_err e = svc_template_install_starter(r->s, &r->caller, seller, r->a, &out, &d);
    reply(r, e, &d, 201, "templates", out);
  }
}

void http__template_get(http_req *r, char **arg) {
  int64_t id;
  json_t *out = NULL;
  pl_detail d = {0};
  if (!ref_id(r, arg[0], "TPL", "template", &id)) return;
  pl_err e = svc_template_get(r->s, &r->caller, id, r->a, &out, &d);
  reply(r, e, &d, 200, "template", out);
}

void http__template_put(http_req *r, char **arg) {
  int64_t id;
  if (ref_id(r, arg[0], "TPL", "template", &id)) h_template_put(r, id);
}

void http__template_delete(http_req *r, char **arg) {
  int64_t id;
  pl_detail d = {0};
  if (!ref_id(r, arg[0], "TPL", "template", &id)) return;
  pl_err e = svc_template_delete(r->s, &r->caller, id, &d);
  reply(r, e, &d, 200, NULL, e ? NULL : json_pack("{s:b}", "deleted", 1));
}

void http__template_render(http_req *r, char **arg) {
  int64_t id;
  if (ref_id(r, arg[0], "TPL", "template", &id)) h_template_render(r, id);
}

/* ---- agents --------------------------------------------------------------------------- */

/* A positive decimal id of a path, or false with a 404 answered. */
static bool num_id(http_req *r, const char *seg, const char *what, int64_t *id) {
  char *end;
  *id = strtoll(seg, &end, 10);
  if (!*end && *id > 0) return true;
  http__error(r, PL_ENOTFOUND, pl_arena_printf(r->a, "no such %s", what));
  return false;
}

void http__agent_metrics(http_req *r, char **arg) {
  int64_t agent;
  if (!num_id(r, arg[0], "agent", &agent)) return;
  pl_detail d = {0};
  json_t *agents = NULL;
  pl_err e = svc_team_agents(r->s, &r->caller, r->a, &agents, &d);
  bool known = false;
  size_t i;
  json_t *x;
  json_array_foreach(agents, i, x) known |= json_integer_value(json_object_get(x, "id")) == agent;
  json_decref(agents);
  if (e) return fail(r, e, &d);
  if (!known) return http__error(r, PL_ENOTFOUND, "no such agent");
  const char *w = query(r, "window");
  int64_t window = 30 * 86400;
  if (w) {
    char *end;
    long long v = strtoll(w, &end, 10);
    window = v <= 0 ? -1 : !strcmp(end, "d") ? v * 86400 : !strcmp(end, "h") ? v * 3600 : -1;
    if (window <= 0) return http__error(r, PL_EINVAL, "window must look like 7d, 30d or 90d");
  }
  sla_metrics m;
  e = svc_metrics(r->s, &r->caller, r->caller.seller_id, 0, window, false, r->a, &m, &d);
  if (e) return fail(r, e, &d);
  json_t *all = sla_metrics_to_json(&m, r->caller.seller_id), *mine = NULL;
  json_array_foreach(json_object_get(all, "agents"), i, x)
    if (json_integer_value(json_object_get(x, "agent")) == agent) mine = json_incref(x);
  if (!mine) mine = json_pack("{s:I,s:i}", "agent", (json_int_t)agent, "answered", 0);
  http__json(r, 200, json_pack("{s:o,s:O,s:O,s:o}", "agent", mine, "window", json_object_get(all, "window"),
                               "at", json_object_get(all, "at"), "seller_id", json_string(r->caller.seller_id)));
  json_decref(all);
}

static json_t *address_json(const svc_agent_address *v) {
  char at[32];
  return json_pack("{s:I,s:I,s:s,s:s}", "id", (json_int_t)v->id, "agent_id", (json_int_t)v->agent_id,
                   "email", v->email ? v->email : "", "created_at", pl_time_format(v->created_at, at));
}

/* /v1/agents/{id}/addresses[/{address}]: the addresses an agent writes from by e-mail. */
void http__addresses_list(http_req *r, char **arg) {
  int64_t agent;
  if (!num_id(r, arg[0], "agent", &agent)) return;
  svc_agent_address *v = NULL;
  size_t n = 0;
  pl_detail d = {0};
  pl_err e = svc_agent_address_list(r->s, &r->caller, agent, r->a, &v, &n, &d);
  json_t *arr = json_array();
  for (size_t i = 0; !e && i < n; i++) json_array_append_new(arr, address_json(&v[i]));
  reply(r, e, &d, 200, "addresses", arr);
}

void http__address_remove(http_req *r, char **arg) {
  int64_t agent, id;
  if (!num_id(r, arg[0], "agent", &agent) || !num_id(r, arg[1], "address", &id)) return;
  pl_detail d = {0};
  pl_err e = svc_agent_address_remove(r->s, &r->caller, agent, id, &d);
  reply(r, e, &d, 200, NULL, json_pack("{s:I,s:b}", "id", (json_int_t)id, "removed", true));
}

void http__address_add(http_req *r, char **arg) {
  int64_t agent;
  if (!num_id(r, arg[0], "agent", &agent)) return;
  json_t *b = http__body_object(r);
  const char *email = NULL;
  if (b && http__field_str(r, b, "email", &email)) {
    svc_agent_address v;
    pl_detail d = {0};
    pl_err e = svc_agent_address_add(r->s, &r->caller, agent, email, r->a, &v, &d);
    reply(r, e, &d, 201, "address", e ? NULL : address_json(&v));
  }
}

void http__agents_list(http_req *r, char **arg) {
  json_t *out = NULL;
  pl_detail d = {0};
  pl_err e = svc_team_agents(r->s, &r->caller, r->a, &out, &d);
  reply(r, e, &d, 200, "agents", out);
}

void http__agent_availability(http_req *r, char **arg) {
  int64_t id;
  if (!num_id(r, arg[0], "agent", &id)) return;
  json_t *b = http__body_object(r);
  bool v = true;
  if (b && http__field_bool(r, b, "available", &v)) {
    if (!json_object_get(b, "available")) {
      http__error(r, PL_EMISSING, "available is required");
    } else {
      pl_detail d = {0};
      pl_err e = svc_team_availability(r->s, &r->caller, id, v, r->a, &d);
      reply(r, e, &d, 200, NULL, json_pack("{s:I,s:b}", "agent_id", (json_int_t)id, "available", v));
    }
  }
}

/* ---- threads: assignment, tags, priority, notes, locks -------------------------------------- */

static bool team_thread(http_req *r, const char *ref, int64_t *tid) {
  if (svc_parse_ref(ref, 'T', tid)) return true;
  http__error(r, PL_ENOTFOUND, "no such thread");
  return false;
}

void http__thread_lock(http_req *r, char **arg) {
  int64_t tid;
  json_t *out = NULL;
  pl_detail d = {0};
  if (team_thread(r, arg[0], &tid))
    reply(r, svc_team_lock(r->s, &r->caller, tid, r->a, &out, &d), &d, 200, "replying", out);
}

void http__thread_unlock(http_req *r, char **arg) {
  int64_t tid;
  pl_detail d = {0};
  if (team_thread(r, arg[0], &tid)) reply(r, svc_team_unlock(r->s, &r->caller, tid, &d), &d, 200, "replying", NULL);
}

/* The thread of a team request with a JSON body, or NULL with the error answered. */
static json_t *thread_body(http_req *r, const char *ref, int64_t *tid) {
  return team_thread(r, ref, tid) ? http__body_object(r) : NULL;
}

void http__thread_assign(http_req *r, char **arg) {
  int64_t tid;
  json_t *b = thread_body(r, arg[0], &tid);
  if (!b) return;
  json_t *ag = json_object_get(b, "agent_id");
  int64_t who = json_is_integer(ag) ? json_integer_value(ag) : 0, got = 0;
  if (json_is_true(json_object_get(b, "round_robin"))) who = -1;
  if (ag && !json_is_null(ag) && (!json_is_integer(ag) || who <= 0)) {
    http__error(r, PL_EINVAL, "agent_id is an agent's id, or null to unassign");
  } else {
    pl_detail d = {0};
    pl_err e = svc_team_assign(r->s, &r->caller, tid, who, r->a, &got, &d);
    reply(r, e, &d, 200, NULL, json_pack("{s:s,s:o}", "thread_id", arg[0], "assignee_id",
                                         got ? json_integer(got) : json_null()));
  }
}

void http__thread_tags(http_req *r, char **arg) {
  int64_t tid;
  json_t *b = thread_body(r, arg[0], &tid);
  if (!b) return;
  json_t *t = json_object_get(b, "tags");
  pl_detail d = {0};
  if (!t) http__error(r, PL_EMISSING, "tags is required");
  else reply(r, svc_team_tags(r->s, &r->caller, tid, t, r->a, &d), &d, 200, NULL,
             json_pack("{s:s,s:O}", "thread_id", arg[0], "tags", t));
}

void http__thread_priority(http_req *r, char **arg) {
  int64_t tid;
  json_t *b = thread_body(r, arg[0], &tid);
  if (!b) return;
  const char *v = NULL;
  pl_detail d = {0};
  if (http__field_str(r, b, "priority", &v))
    reply(r, svc_team_priority(r->s, &r->caller, tid, v, r->a, &d), &d, 200, NULL,
          json_pack("{s:s,s:s}", "thread_id", arg[0], "priority", v ? v : ""));
}

void http__thread_note(http_req *r, char **arg) {
  int64_t tid;
  json_t *b = thread_body(r, arg[0], &tid);
  if (!b) return;
  const char *text = NULL;
  json_t *m = NULL;
  pl_detail d = {0};
  if (http__field_str(r, b, "text", &text)) {
    pl_err e = svc_view_note(r->s, &r->caller, tid, text, r->a, &m, &d);
    reply(r, e, &d, 201, "message", m);
  }
}

/* Suggested replies for the buyer message the thread waits on (docs/team.md). */
void http__thread_suggestions(http_req *r, char **arg) {
  int64_t tid;
  if (!team_thread(r, arg[0], &tid)) return;
  json_t *out = NULL;
  pl_detail d = {0};
  pl_err e = svc_thread_suggestions(r->s, &r->caller, tid, r->a, &out, &d);
  reply(r, e, &d, 200, NULL, out);
}

/* ---- rules, firings, proposals -------------------------------------------------------------- */

void http__rules_list(http_req *r, char **arg) {
  json_t *out = NULL;
  pl_detail d = {0};
  pl_err e = svc_rule_list(r->s, &r->caller, r->a, &out, &d);
  reply(r, e, &d, 200, "rules", out);
}

static void rule_put(http_req *r, int64_t id) {
  json_t *out = NULL, *b = http__body_object(r);
  if (!b) return;
  pl_detail d = {0};
  pl_err e = svc_rule_put(r->s, &r->caller, id, b, r->a, &out, &d);
  reply(r, e, &d, id ? 200 : 201, "rule", out);
}

void http__rule_create(http_req *r, char **arg) { rule_put(r, 0); }

void http__rule_put(http_req *r, char **arg) {
  int64_t id;
  if (ref_id(r, arg[0], "R", "rule", &id)) rule_put(r, id);
}

void http__rule_delete(http_req *r, char **arg) {
  int64_t id;
  pl_detail d = {0};
  if (!ref_id(r, arg[0], "R", "rule", &id)) return;
  pl_err e = svc_rule_delete(r->s, &r->caller, id, &d);
  reply(r, e, &d, 200, NULL, json_pack("{s:b}", "deleted", 1));
}

void http__rule_firings(http_req *r, char **arg) {
  long limit = 100;
  if (!http__query_count(r, "limit", PL_EINVAL, &limit)) return;
  json_t *out = NULL;
  pl_detail d = {0};
  pl_err e = svc_rule_firings(r->s, &r->caller, limit, r->a, &out, &d);
  reply(r, e, &d, 200, "firings", out);
}

void http__proposals_list(http_req *r, char **arg) {
  json_t *out = NULL;
  pl_detail d = {0};
  pl_err e = svc_proposal_list(r->s, &r->caller, query(r, "state"), r->a, &out, &d);
  reply(r, e, &d, 200, "proposals", out);
}

void http__proposal_discard(http_req *r, char **arg) {
  int64_t id;
  pl_detail d = {0};
  if (!ref_id(r, arg[0], "PR", "proposal", &id)) return;
  pl_err e = svc_proposal_discard(r->s, &r->caller, id, r->a, &d);
  reply(r, e, &d, 200, NULL, json_pack("{s:s,s:s}", "id", arg[0], "state", "discarded"));
}

void http__proposal_send(http_req *r, char **arg) {
  int64_t id;
  if (!ref_id(r, arg[0], "PR", "proposal", &id)) return;
  json_t *b = body_or_empty(r);
  const char *text = NULL;
  bool confirm = false;
  if (b && http__field_str(r, b, "text", &text) && http__field_bool(r, b, "confirm", &confirm)) {
    svc_sent m;
    pl_detail d = {0};
    pl_err e = svc_proposal_send(r->s, &r->caller, id, text, confirm, r->a, &m, &d);
    if (e == PL_EPOLICY) policy_refused(r, &d, &m.verdict, NULL);
    else if (e) fail(r, e, &d);
    else http__json(r, 201, json_pack("{s:o}", "message", svc_json_message(&r->caller, &m.msg)));
    policy_verdict_free(&m.verdict);
  }
}

void http__audit_sample(http_req *r, char **arg) {
  const char *seller = arg[0];
  const char *ss = query(r, "seed"), *us = query(r, "until");
  long n = 50;
  char *end;
  if (!http__query_count(r, "n", PL_EINVAL, &n)) return;
  uint64_t seed;
  if (ss) {
    seed = strtoull(ss, &end, 10);
    if (!*ss || *end || *ss == '-') return http__error(r, PL_EINVAL, "seed is an unsigned integer");
  } else {
    /* A fresh seed, given back in the answer so that the sample can be drawn again. */
    randombytes_buf(&seed, sizeof seed);
  }
  int64_t until = 0;
  if (us && !svc_parse_ref(us, 'M', &until)) return http__error(r, PL_EINVAL, "until is a message id (M41)");
  json_t *out = NULL;
  pl_detail d = {0};
  pl_err e = svc_audit_sample(r->s, &r->caller, seller, (int)n, seed, until, r->a, &out, &d);
  reply(r, e, &d, 200, NULL, out);
}
