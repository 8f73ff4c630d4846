/* sla_json.c - the metrics as the `parley metrics --json` object (a CLI contract). */
#include "sla/sla_int.h"

#include <inttypes.h>
#include <stdio.h>

#include "util/pl_ref.h"
#include "util/pl_time.h"

char *sla_window_label(int64_t window_s, char *buf) {
  if (window_s > 0 && window_s % SLA_DAY == 0)
    snprintf(buf, 24, "%" PRId64 "d", window_s / SLA_DAY);
  else if (window_s > 0 && window_s % SLA_HOUR == 0)
    snprintf(buf, 24, "%" PRId64 "h", window_s / SLA_HOUR);
  else
    snprintf(buf, 24, "%" PRId64 "s", window_s);
  return buf;
}

static json_t *opt_real(sla_optf v) { return v.has_value ? json_real(v.value) : json_null(); }
static json_t *opt_int(sla_opti v) { return v.has_value ? json_integer(v.value) : json_null(); }

static json_t *iso(int64_t t) {
  char buf[32];
  return json_string(pl_time_format(t, buf));
}

static json_t *deadline_list(const sla_deadline *dl, size_t n) {
  json_t *arr = json_array();
  for (size_t i = 0; i < n; i++) {
    const sla_deadline *x = &dl[i];
    json_t *o = json_object();
    json_object_set_new(o, "id", x->ref ? json_string(x->ref) : json_integer(x->msg_id));
    char tref[PL_REF_MAX];
    pl_ref_format(tref, "T", x->thread_id);
    json_object_set_new(o, "thread", json_string(tref)); /* as the API names threads */
    json_object_set_new(o, "received_at", iso(x->received_at));
    json_object_set_new(o, "due_at", iso(x->due_at));
    json_object_set_new(o, "left_s", json_integer(x->left_s));
    json_array_append_new(arr, o);
  }
  return arr;
}

json_t *sla_metrics_to_json(const sla_metrics *m, const char *seller) {
  char label[24];
  json_t *root = json_object();
  if (!root) return NULL;
  json_object_set_new(root, "seller", seller ? json_string(seller) : json_null());
  json_object_set_new(root, "window", json_string(sla_window_label(m->window_s, label)));
  json_object_set_new(root, "at", iso(m->at));

  json_t *crt = json_object();
  json_object_set_new(crt, "percent", opt_real(m->crt_percent));
  json_object_set_new(crt, "status", json_string(sla_status_name(m->status)));
  json_object_set_new(crt, "good_from", json_real(m->good_min));
  json_object_set_new(crt, "warning_from", json_real(m->warning_min));
  json_object_set_new(crt, "on_time", json_integer(m->on_time));
  json_object_set_new(crt, "late", json_integer(m->late));
  json_object_set_new(crt, "pending", json_integer(m->pending));
  json_object_set_new(crt, "flagged", json_integer(m->flagged));
  json_object_set_new(crt, "received", json_integer(m->received));
  json_object_set_new(root, "crt", crt);

  json_t *rt = json_object();
  json_object_set_new(rt, "avg_s", opt_real(m->avg_s));
  json_object_set_new(rt, "median_s", opt_real(m->median_s));
  json_object_set_new(rt, "p90_s", opt_int(m->p90_s));
  json_object_set_new(rt, "answered", json_integer(m->answered));
  json_object_set_new(root, "response_time", rt);

  json_t *res = json_object();
  json_object_set_new(res, "threads", json_integer(m->threads));
  json_object_set_new(res, "resolved_one", json_integer(m->resolved_one));
  json_object_set_new(res, "resolved_two", json_integer(m->resolved_two));
  json_object_set_new(res, "rate", opt_real(m->resolved_rate));
  json_object_set_new(root, "resolution", res);

  json_t *vol = json_object(), *hours = json_array(), *days = json_array();
  for (int i = 0; i < 24; i++) json_array_append_new(hours, json_integer(m->by_hour[i]));
  for (int i = 0; i < 7; i++) json_array_append_new(days, json_integer(m->by_weekday[i]));
  json_object_set_new(vol, "by_hour", hours);
  json_object_set_new(vol, "by_weekday", days);
  json_object_set_new(root, "volume", vol);

  json_t *nrn = json_object();
  json_object_set_new(nrn, "rate", opt_real(m->no_response_rate));
  json_object_set_new(nrn, "flag_window", json_string(sla_window_label(m->flag_window_s, label)));
  json_object_set_new(nrn, "flag_window_rate", opt_real(m->flag_window_rate));
  json_object_set_new(nrn, "over_flagging", json_boolean(m->over_flagging));
  json_object_set_new(root, "no_response_needed", nrn);

  json_t *agents = json_array();
  for (size_t i = 0; i < m->n_agents; i++) {
    const sla_agent_metrics *ag = &m->agents[i];
    json_t *o = json_object();
    json_object_set_new(o, "agent", json_integer(ag->agent_id));
    json_object_set_new(o, "answered", json_integer(ag->answered));
    json_object_set_new(o, "on_time", json_integer(ag->on_time));
    json_object_set_new(o, "late", json_integer(ag->late));
    json_object_set_new(o, "percent", opt_real(ag->percent));
    json_object_set_new(o, "avg_s", opt_real(ag->avg_s));
    json_object_set_new(o, "median_s", opt_real(ag->median_s));
    json_object_set_new(o, "p90_s", opt_int(ag->p90_s));
    json_array_append_new(agents, o);
  }
  json_object_set_new(root, "agents", agents);

  json_t *dl = json_object();
  json_object_set_new(dl, "due_soon_count", json_integer(m->due_soon_count));
  json_object_set_new(dl, "overdue_count", json_integer(m->overdue_count));
  json_object_set_new(dl, "due_soon", deadline_list(m->due_soon, m->n_due_soon));
  json_object_set_new(dl, "overdue", deadline_list(m->overdue, m->n_overdue));
  json_object_set_new(root, "deadlines", dl);

  json_t *cp = json_object();
  json_object_set_new(cp, "conversations", json_integer(m->complaint_conversations));
  json_object_set_new(cp, "with_claim", json_integer(m->complaint_claimed));
  json_object_set_new(cp, "percent", opt_real(m->complaint_percent));
  json_object_set_new(cp, "at_risk_above", json_real(m->complaint_max_percent));
  json_object_set_new(cp, "at_risk", json_boolean(m->complaint_at_risk));
  json_object_set_new(root, "complaints", cp);
  return root;
}
