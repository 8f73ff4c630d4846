/* policy.c - the content policy engine's public entry points. */
#include "policy/policy.h"

#include <stdatomic.h>
#include <stdlib.h>

#include "util/pl_mem.h"

struct policy_config {
  atomic_int refs;
};

const char *policy_action_name(policy_action a) {
  switch (a) {
  case POLICY_DELIVER: return "deliver";
  case POLICY_REVIEW: return "review";
  case POLICY_REJECT: return "reject";
  }
  return "deliver";
}

pl_err policy_config_new(const policy_options *opt, policy_config **out, pl_detail *d) {
  (void)opt;
  (void)d;
  policy_config *c = pl_xcalloc(1, sizeof *c);
  atomic_init(&c->refs, 1);
  *out = c;
  return PL_OK;
}

policy_config *policy_config_ref(policy_config *cfg) {
  atomic_fetch_add(&cfg->refs, 1);
  return cfg;
}

void policy_config_unref(policy_config *cfg) {
  if (cfg && atomic_fetch_sub(&cfg->refs, 1) == 1) free(cfg);
}

pl_err policy_scan(const policy_config *cfg, const char *text, size_t len, policy_verdict *out) {
  (void)cfg;
  (void)text;
  (void)len;
  out->action = POLICY_DELIVER;
  out->nfindings = 0;
  out->findings = NULL;
  out->engine = "none";
  return PL_OK;
}

void policy_verdict_free(policy_verdict *v) {
  if (!v) return;
  for (size_t i = 0; i < v->nfindings; i++) {
    free((char *)v->findings[i].rule);
    free(v->findings[i].text);
  }
  free(v->findings);
  v->findings = NULL;
  v->nfindings = 0;
}
