/* http_team.c - routes of the seller's team (docs/team.md): parse, call one service
 * operation, render. */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "http/http_int.h"
#include "service/svc_mail.h"
#include "service/svc_team.h"

#define MAX_SEGS 6

/* The path's segments after /v1/; n = MAX_SEGS + 1 when deeper. */
typedef struct {
  char *s[MAX_SEGS];
  int n;
} segs;

static void split_path(pl_arena *a, const char *url, segs *p) {
  p->n = 0;
  if (strncmp(url, "/v1/", 4)) return;
  for (const char *s = url + 4; *s;) {
    size_t len = strcspn(s, "/");
    if (len) {
      if (p->n == MAX_SEGS) {
        p->n = MAX_SEGS + 1;
        return;
      }
      p->s[p->n++] = pl_arena_strndup(a, s, len);
    }
    s += len;
    if (*s) s++;
  }
}

static bool at(const segs *p, int i, const char *v) { return i < p->n && !strcmp(p->s[i], v); }

static const char *query(http_req *r, const char *k) {
  return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, k);
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
static json_t *body_or_empty(http_req *r) { return r->body_len ? http__body_object(r) : json_object(); }

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
  json_decref(b);
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
  json_decref(b);
}

static void h_template_proactive(http_req *r, const char *order_id) {
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
  json_decref(b);
}

static bool route_templates(http_req *r, const segs *p, bool get, bool post, bool put, bool del) {
  pl_detail d = {0};
  json_t *out = NULL;
  int64_t id;
  if (p->n == 1) {
    if (!get && !post) return http__error(r, PL_EMETHOD, "this path does not take that method"), true;
    if (!http__authenticate(r)) return true;
    if (post) return h_template_put(r, 0), true;
    pl_err e = svc_template_list(r->s, &r->caller, r->a, &out, &d);
    return reply(r, e, &d, 200, "templates", out), true;
  }
  if (p->n == 2 && at(p, 1, "starter")) {
    if (!post) return http__error(r, PL_EMETHOD, "this path does not take that method"), true;
    if (!http__authenticate(r)) return true;
    json_t *b = body_or_empty(r);
    const char *seller = NULL;
    if (b && http__field_str(r, b, "seller_id", &seller)) {
      pl_err e = svc_template_install_starter(r->s, &r->caller, seller, r->a, &out, &d);
      reply(r, e, &d, 201, "templates", out);
    }
    json_decref(b);
    return true;
  }
  if (p->n == 2) {
    if (!get && !put && !del) return http__error(r, PL_EMETHOD, "this path does not take that method"), true;
    if (!http__authenticate(r) || !ref_id(r, p->s[1], "TPL", "template", &id)) return true;
    if (put) return h_template_put(r, id), true;
    pl_err e = get ? svc_template_get(r->s, &r->caller, id, r->a, &out, &d)
                   : svc_template_delete(r->s, &r->caller, id, &d);
    if (del && !e) return http__json(r, 200, json_pack("{s:b}", "deleted", 1)), true;
    return reply(r, e, &d, 200, "template", out), true;
  }
  if (p->n == 3 && at(p, 2, "render")) {
    if (!post) return http__error(r, PL_EMETHOD, "this path does not take that method"), true;
    if (http__authenticate(r) && ref_id(r, p->s[1], "TPL", "template", &id)) h_template_render(r, id);
    return true;
  }
  return false;
}

/* ---- agents --------------------------------------------------------------------------- */

static void h_agent_metrics(http_req *r, int64_t agent) {
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

/* /v1/agents/{id}/addresses[/{address id}]: the addresses an agent writes from by e-mail. */
static bool route_addresses(http_req *r, const segs *p, bool get, bool post, bool del) {
  if ((p->n == 3 && !get && !post) || (p->n == 4 && !del))
    return http__error(r, PL_EMETHOD, "this path does not take that method"), true;
  if (!http__authenticate(r)) return true;
  char *end;
  int64_t agent = strtoll(p->s[1], &end, 10), id = 0;
  if (*end || agent <= 0) return http__error(r, PL_ENOTFOUND, "no such agent"), true;
  if (p->n == 4) {
    id = strtoll(p->s[3], &end, 10);
    if (*end || id <= 0) return http__error(r, PL_ENOTFOUND, "no such address"), true;
  }
  pl_detail d = {0};
  pl_err e;
  if (get) {
    svc_agent_address *v = NULL;
    size_t n = 0;
    e = svc_agent_address_list(r->s, &r->caller, agent, r->a, &v, &n, &d);
    json_t *arr = json_array();
    for (size_t i = 0; !e && i < n; i++) json_array_append_new(arr, address_json(&v[i]));
    return reply(r, e, &d, 200, "addresses", arr), true;
  }
  if (del) {
    e = svc_agent_address_remove(r->s, &r->caller, agent, id, &d);
    return reply(r, e, &d, 200, NULL, json_pack("{s:I,s:b}", "id", (json_int_t)id, "removed", true)), true;
  }
  json_t *b = http__body_object(r);
  const char *email = NULL;
  if (b && http__field_str(r, b, "email", &email)) {
    svc_agent_address v;
    e = svc_agent_address_add(r->s, &r->caller, agent, email, r->a, &v, &d);
    reply(r, e, &d, 201, "address", e ? NULL : address_json(&v));
  }
  json_decref(b);
  return true;
}

static bool route_agents(http_req *r, const segs *p, bool get, bool post, bool put, bool del) {
  pl_detail d = {0};
  int64_t id;
  char *end;
  if ((p->n == 3 || p->n == 4) && at(p, 2, "addresses")) return route_addresses(r, p, get, post, del);
  if (p->n == 1) {
    if (!get) return http__error(r, PL_EMETHOD, "this path does not take that method"), true;
    json_t *out = NULL;
    if (http__authenticate(r)) {
      pl_err e = svc_team_agents(r->s, &r->caller, r->a, &out, &d);
      reply(r, e, &d, 200, "agents", out);
    }
    return true;
  }
  if (p->n != 3 || (!at(p, 2, "availability") && !at(p, 2, "metrics"))) return false;
  bool avail = at(p, 2, "availability");
  if ((avail && !put) || (!avail && !get)) return http__error(r, PL_EMETHOD, "this path does not take that method"), true;
  if (!http__authenticate(r)) return true;
  id = strtoll(p->s[1], &end, 10);
  if (*end || id <= 0) return http__error(r, PL_ENOTFOUND, "no such agent"), true;
  if (!avail) return h_agent_metrics(r, id), true;
  json_t *b = http__body_object(r);
  bool v = true;
  if (b && http__field_bool(r, b, "available", &v)) {
    if (!json_object_get(b, "available")) http__error(r, PL_EMISSING, "available is required");
    else {
      pl_err e = svc_team_availability(r->s, &r->caller, id, v, r->a, &d);
      reply(r, e, &d, 200, NULL, json_pack("{s:I,s:b}", "agent_id", (json_int_t)id, "available", v));
    }
  }
  json_decref(b);
  return true;
}

/* ---- threads: assignment, tags, priority, notes, locks -------------------------------------- */

static bool route_thread(http_req *r, const segs *p, bool post, bool put, bool del) {
  if (p->n != 3 || !at(p, 0, "threads")) return false;
  const char *what = p->s[2];
  bool assign = !strcmp(what, "assign"), tags = !strcmp(what, "tags"), prio = !strcmp(what, "priority");
  bool notes = !strcmp(what, "notes"), lock = !strcmp(what, "lock");
  if (!assign && !tags && !prio && !notes && !lock) return false;
  if (((assign || notes) && !post) || ((tags || prio) && !put) || (lock && !post && !del))
    return http__error(r, PL_EMETHOD, "this path does not take that method"), true;
  if (!http__authenticate(r)) return true;
  int64_t tid;
  if (!svc_parse_ref(p->s[1], 'T', &tid)) return http__error(r, PL_ENOTFOUND, "no such thread"), true;
  pl_detail d = {0};
  pl_err e;
  if (lock) {
    json_t *out = NULL;
    e = del ? svc_team_unlock(r->s, &r->caller, tid, &d) : svc_team_lock(r->s, &r->caller, tid, r->a, &out, &d);
    return reply(r, e, &d, 200, "replying", out), true;
  }
  json_t *b = http__body_object(r);
  if (!b) return true;
  if (assign) {
    json_t *ag = json_object_get(b, "agent_id");
    int64_t who = json_is_integer(ag) ? json_integer_value(ag) : 0, got = 0;
    if (json_is_true(json_object_get(b, "round_robin"))) who = -1;
    if (ag && !json_is_null(ag) && (!json_is_integer(ag) || who <= 0)) {
      http__error(r, PL_EINVAL, "agent_id is an agent's id, or null to unassign");
    } else {
      e = svc_team_assign(r->s, &r->caller, tid, who, r->a, &got, &d);
      reply(r, e, &d, 200, NULL, json_pack("{s:s,s:o}", "thread_id", p->s[1], "assignee_id",
                                           got ? json_integer(got) : json_null()));
    }
  } else if (tags) {
    json_t *t = json_object_get(b, "tags");
    if (!t) http__error(r, PL_EMISSING, "tags is required");
    else reply(r, svc_team_tags(r->s, &r->caller, tid, t, r->a, &d), &d, 200, NULL,
               json_pack("{s:s,s:O}", "thread_id", p->s[1], "tags", t));
  } else if (prio) {
    const char *v = NULL;
    if (http__field_str(r, b, "priority", &v))
      reply(r, svc_team_priority(r->s, &r->caller, tid, v, r->a, &d), &d, 200, NULL,
            json_pack("{s:s,s:s}", "thread_id", p->s[1], "priority", v ? v : ""));
  } else {
    const char *text = NULL;
    st_message m;
    if (http__field_str(r, b, "text", &text)) {
      e = svc_team_note(r->s, &r->caller, tid, text, r->a, &m, &d);
      reply(r, e, &d, 201, "message", e ? NULL : svc_json_message(&r->caller, &m));
    }
  }
  json_decref(b);
  return true;
}

/* ---- rules, firings, proposals -------------------------------------------------------------- */

static bool route_rules(http_req *r, const segs *p, bool get, bool post, bool put, bool del) {
  pl_detail d = {0};
  json_t *out = NULL;
  int64_t id;
  if (p->n == 1) {
    if (!get && !post) return http__error(r, PL_EMETHOD, "this path does not take that method"), true;
    if (!http__authenticate(r)) return true;
    if (get) {
      pl_err e = svc_rule_list(r->s, &r->caller, r->a, &out, &d);
      return reply(r, e, &d, 200, "rules", out), true;
    }
  } else if (p->n == 2) {
    if (!put && !del) return http__error(r, PL_EMETHOD, "this path does not take that method"), true;
    if (!http__authenticate(r) || !ref_id(r, p->s[1], "R", "rule", &id)) return true;
    if (del) {
      pl_err e = svc_rule_delete(r->s, &r->caller, id, &d);
      return reply(r, e, &d, 200, NULL, json_pack("{s:b}", "deleted", 1)), true;
    }
  } else {
    return false;
  }
  json_t *b = http__body_object(r);
  if (!b) return true;
  pl_err e = svc_rule_put(r->s, &r->caller, p->n == 2 ? id : 0, b, r->a, &out, &d);
  reply(r, e, &d, p->n == 2 ? 200 : 201, "rule", out);
  json_decref(b);
  return true;
}

static bool route_proposals(http_req *r, const segs *p, bool get, bool post) {
  pl_detail d = {0};
  if (p->n == 1) {
    if (!get) return http__error(r, PL_EMETHOD, "this path does not take that method"), true;
    json_t *out = NULL;
    if (http__authenticate(r)) {
      pl_err e = svc_proposal_list(r->s, &r->caller, query(r, "state"), r->a, &out, &d);
      reply(r, e, &d, 200, "proposals", out);
    }
    return true;
  }
  if (p->n != 3 || (!at(p, 2, "send") && !at(p, 2, "discard"))) return false;
  if (!post) return http__error(r, PL_EMETHOD, "this path does not take that method"), true;
  int64_t id;
  if (!http__authenticate(r) || !ref_id(r, p->s[1], "PR", "proposal", &id)) return true;
  if (at(p, 2, "discard")) {
    pl_err e = svc_proposal_discard(r->s, &r->caller, id, r->a, &d);
    return reply(r, e, &d, 200, NULL, json_pack("{s:s,s:s}", "id", p->s[1], "state", "discarded")), true;
  }
  json_t *b = body_or_empty(r);
  const char *text = NULL;
  bool confirm = false;
  if (b && http__field_str(r, b, "text", &text) && http__field_bool(r, b, "confirm", &confirm)) {
    svc_sent m;
    pl_err e = svc_proposal_send(r->s, &r->caller, id, text, confirm, r->a, &m, &d);
    if (e == PL_EPOLICY) policy_refused(r, &d, &m.verdict, NULL);
    else if (e) fail(r, e, &d);
    else http__json(r, 201, json_pack("{s:o}", "message", svc_json_message(&r->caller, &m.msg)));
    policy_verdict_free(&m.verdict);
  }
  json_decref(b);
  return true;
}

static void h_audit_sample(http_req *r, const char *seller) {
  const char *ns = query(r, "n"), *ss = query(r, "seed"), *us = query(r, "until");
  long n = 50;
  char *end;
  if (ns && ((n = strtol(ns, &end, 10)) < 1 || n > 500 || *end))
    return http__error(r, PL_EINVAL, "n is an integer from 1 to 500");
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

bool http__team(http_server *h, http_req *r) {
  (void)h;
  segs p;
  split_path(r->a, r->url, &p);
  if (p.n < 1) return false;
  const char *m = r->method;
  bool get = !strcmp(m, "GET"), post = !strcmp(m, "POST"), put = !strcmp(m, "PUT"), del = !strcmp(m, "DELETE");
  if (at(&p, 0, "templates")) return route_templates(r, &p, get, post, put, del);
  if (at(&p, 0, "agents")) return route_agents(r, &p, get, post, put, del);
  if (at(&p, 0, "threads")) return route_thread(r, &p, post, put, del);
  if (at(&p, 0, "rules")) return route_rules(r, &p, get, post, put, del);
  if (at(&p, 0, "proposals")) return route_proposals(r, &p, get, post);
  if (p.n == 1 && at(&p, 0, "rule-firings")) {
    if (!get) return http__error(r, PL_EMETHOD, "this path does not take that method"), true;
    if (!http__authenticate(r)) return true;
    const char *ls = query(r, "limit");
    int limit = ls ? atoi(ls) : 100;
    json_t *out = NULL;
    pl_detail d = {0};
    pl_err e = svc_rule_firings(r->s, &r->caller, limit, r->a, &out, &d);
    reply(r, e, &d, 200, "firings", out);
    return true;
  }
  if (p.n == 3 && at(&p, 0, "orders") && at(&p, 2, "template-messages")) {
    if (!post) return http__error(r, PL_EMETHOD, "this path does not take that method"), true;
    if (http__authenticate(r)) h_template_proactive(r, p.s[1]);
    return true;
  }
  if (p.n == 3 && at(&p, 0, "sellers") && at(&p, 2, "audit-sample")) {
    if (!get) return http__error(r, PL_EMETHOD, "this path does not take that method"), true;
    if (http__authenticate(r)) h_audit_sample(r, p.s[1]);
    return true;
  }
  return false;
}
