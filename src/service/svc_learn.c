/* svc_learn.c - learning from the operator: the review queue's decisions as labelled examples of their marketplace, retraining a marketplace's model, and the model each marketplace's messages are checked with. */
#include <jansson.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "service/svc_int.h"

/* A marketplace's configuration: its own model over the policy of epoch, or (cfg NULL)
 * the policy itself, as read when the store's model counter was at gen. */
struct svc__mp_model {
  char *marketplace_id;
  uint64_t epoch;
  int64_t gen;
  policy_config *cfg;
};

void svc__policy_models_forget(svc *s) {
  for (size_t k = 0; k < s->n_mp_models; k++) {
    free(s->mp_models[k].marketplace_id);
    policy_config_unref(s->mp_models[k].cfg);
  }
  free(s->mp_models);
  s->mp_models = NULL;
  s->n_mp_models = 0;
  s->policy_epoch++;
}

/* The counter is read in the same transaction as the model, so an entry read from a
 * snapshot older than a training is older than its counter too, and the next tick drops
 * it whenever it was made. */
void svc__policy_models_follow(svc *s, int64_t generation) {
  size_t kept = 0;
  for (size_t k = 0; k < s->n_mp_models; k++) {
    struct svc__mp_model *m = &s->mp_models[k];
    if (m->gen == generation) {
      s->mp_models[kept++] = *m;
      continue;
    }
    free(m->marketplace_id);
    policy_config_unref(m->cfg);
  }
  s->n_mp_models = kept;
}

/* The model in a row (base64) over base; NULL (with a message on stderr) when it is not
 * one: the marketplace then keeps the shipped model rather than losing its policy. */
static policy_config *model_config(policy_config *base, const st_policy_model *row) {
  size_t cap = strlen(row->model) / 4 * 3 + 3, len = 0;
  char *bytes = pl_xmalloc(cap);
  policy_config *cfg = NULL;
  pl_detail d = {0};
  if (sodium_base642bin((unsigned char *)bytes, cap, row->model, strlen(row->model), NULL, &len, NULL,
                        sodium_base64_VARIANT_ORIGINAL))
    fprintf(stderr, "parley: the policy model of marketplace %s is not base64; the shipped model is used\n",
            row->marketplace_id);
  else if (policy_config_with_model(base, bytes, len, &cfg, &d))
    fprintf(stderr, "parley: the policy model of marketplace %s: %s; the shipped model is used\n", row->marketplace_id,
            d.msg);
  free(bytes);
  return cfg;
}

pl_err svc__policy_model_for(svc *s, const char *mp, policy_config *base, uint64_t epoch, pl_arena *a,
                             policy_config **out) {
  pthread_mutex_lock(&s->policy_mu);
  for (size_t k = 0; k < s->n_mp_models; k++) {
    const struct svc__mp_model *m = &s->mp_models[k];
    if (m->epoch == epoch && !strcmp(m->marketplace_id, mp)) {
      *out = policy_config_ref(m->cfg ? m->cfg : base);
      pthread_mutex_unlock(&s->policy_mu);
      return PL_OK;
    }
  }
  pthread_mutex_unlock(&s->policy_mu);
  st_policy_model row;
  int64_t gen = 0;
  pl_err e = store_counter(s->st, SVC_MODEL_GENERATION, false, &gen);
  if (!e) e = store_policy_model_get(s->st, mp, true, a, &row);
  if (e && e != PL_ENOTFOUND) return e;
  policy_config *cfg = e ? NULL : model_config(base, &row);
  pthread_mutex_lock(&s->policy_mu);
  /* kept only when nothing was reloaded meanwhile; one entry a marketplace */
  if (epoch == s->policy_epoch) {
    struct svc__mp_model *m = NULL;
    for (size_t k = 0; k < s->n_mp_models && !m; k++)
      if (!strcmp(s->mp_models[k].marketplace_id, mp)) m = &s->mp_models[k];
    if (!m) {
      s->mp_models = pl_xrealloc(s->mp_models, (s->n_mp_models + 1) * sizeof *s->mp_models);
      m = &s->mp_models[s->n_mp_models++];
      m->marketplace_id = pl_xstrdup(mp);
    } else {
      policy_config_unref(m->cfg);
    }
    m->epoch = epoch;
    m->gen = gen;
    m->cfg = cfg ? policy_config_ref(cfg) : NULL;
  }
  pthread_mutex_unlock(&s->policy_mu);
  *out = cfg ? cfg : policy_config_ref(base);
  return PL_OK;
}

/* ---- decisions as examples ------------------------------------------------------------- */

pl_err svc__learn_decision(svc *s, const st_thread *t, const st_message *m, bool approve, const char *by) {
  if (m->direction != ST_DIR_SELLER || !m->text || !*m->text || !m->policy_json) return PL_OK;
  svc_rules r;
  pl_arena *a = pl_arena_new();
  pl_err e = svc__rules_for(s, t->marketplace_id, a, &r);
  pl_arena_free(a);
  if (e || !r.learn_decision_weight) return e; /* the marketplace does not learn */
  json_t *pj = json_loads(m->policy_json, 0, NULL);
  json_t *fs = json_object_get(pj, "findings");
  /* Only a hold for what the model learns teaches it: a message held for a link, contact
   * details, personal data, emoji, formatting or the [Important] tag, or for anything in
   * an attachment or an unreadable one, is no example at all, so that no decision can
   * teach the model anything about what stays with the rules. */
  bool learnable = json_array_size(fs) > 0 && !json_object_get(pj, "unreadable");
  json_t *cats = json_array();
  size_t i;
  json_t *f;
  json_array_foreach(fs, i, f) {
    const char *cat = json_string_value(json_object_get(f, "category"));
    if (!cat || !policy_category_learned(cat) || json_object_get(f, "attachment")) learnable = false;
    bool seen = false;
    for (size_t k = 0; cat && k < json_array_size(cats); k++) seen |= !strcmp(json_string_value(json_array_get(cats, k)), cat);
    if (cat && !seen) json_array_append_new(cats, json_string(cat));
  }
  if (learnable) {
    char *cj = json_dumps(cats, JSON_COMPACT);
    st_policy_example ex = {.marketplace_id = t->marketplace_id, .seller_id = t->seller_id, .message_id = m->id,
                            .label = approve ? "clean" : "violation", .categories = cj, .text = m->text,
                            .decided_by = (char *)by, .decided_at = svc_now(s)};
    e = store_policy_example_add(s->st, &ex, ST_POLICY_EXAMPLES_KEEP);
    if (e == PL_EEXIST) e = PL_OK;
    free(cj);
  }
  json_decref(cats);
  json_decref(pj);
  return e;
}

/* ---- retraining ---------------------------------------------------------------------- */

/* The categories of a rejected message's example as policy_example's bits. */
static unsigned category_bits(const char *json) {
  size_t n;
  const policy_category *all = policy_categories(&n);
  json_t *a = json_loads(json ? json : "[]", 0, NULL);
  unsigned bits = 0;
  size_t i;
  json_t *c;
  json_array_foreach(a, i, c) {
    const char *name = json_string_value(c);
    for (size_t k = 0; name && k < n; k++)
      if (!strcmp(all[k].name, name) && policy_category_learned(name)) bits |= 1u << k;
  }
  json_decref(a);
  return bits;
}

pl_err svc_policy_train(svc *s, const svc_caller *c, const char *mp, svc_policy_trained *out, pl_detail *d) {
  memset(out, 0, sizeof *out);
  if (c && c->kind != ST_PRINCIPAL_OPERATOR) return pl_fail(d, PL_EFORBIDDEN, "only the operator trains the policy");
  if (c && c->marketplace_id && strcmp(c->marketplace_id, mp)) return pl_fail(d, PL_ENOTFOUND, "no marketplace %s", mp);
  pl_err e = svc_policy_prepare(s, d);
  if (e) return e;
  /* A training takes a core for about two seconds: one at a time, whoever asks (an
   * operator's button pressed again is refused until the one under way ends). */
  if (atomic_exchange(&s->training, true))
    return pl_retry_after(d, pl_fail(d, PL_ERATELIMIT, "a training is under way; try again in a few seconds"), 2);
  pl_arena *a = pl_arena_new();
  st_policy_example *ex = NULL;
  size_t n = 0;
  st_marketplace m;
  svc_rules r;
  if ((e = svc__begin(s, false, d))) goto out;
  e = store_marketplace_get(s->st, mp, a, &m);
  if (e == PL_ENOTFOUND) e = pl_fail(d, PL_ENOTFOUND, "no marketplace %s", mp);
  if (!e) svc_rules_load(&r, m.settings_json);
  /* a marketplace that does not learn gets the shipped model back */
  if (!e && r.learn_decision_weight) e = store_policy_example_list(s->st, mp, ST_POLICY_EXAMPLES_KEEP, a, &ex, &n);
  if ((e = svc__end(s, e, d))) goto out;
  policy_example *pe = pl_arena_alloc(a, (n ? n : 1) * sizeof *pe);
  for (size_t k = 0; k < n; k++) {
    bool violation = !strcmp(ex[k].label, "violation");
    /* oldest first, as they were decided */
    pe[n - 1 - k] = (policy_example){ex[k].text, violation ? category_bits(ex[k].categories) : 0,
                                     (unsigned)r.learn_decision_weight};
    out->violations += violation;
  }
  out->decisions = n;
  pthread_mutex_lock(&s->policy_mu);
  policy_config *base = policy_config_ref(s->policy);
  pthread_mutex_unlock(&s->policy_mu);
  size_t nfiles;
  const policy_train_file *files = policy_train_shipped(&nfiles);
  char *model = NULL;
  size_t len = 0;
  e = policy_train(base, files, nfiles, pe, n, &model, &len, NULL, d);
  policy_config_unref(base);
  if (e) goto out;
  policy_model_version_of(model, len, out->version);
  size_t b64len = sodium_base64_encoded_len(len, sodium_base64_VARIANT_ORIGINAL);
  char *b64 = pl_xmalloc(b64len);
  sodium_bin2base64(b64, b64len, (const unsigned char *)model, len, sodium_base64_VARIANT_ORIGINAL);
  free(model);
  out->trained_at = svc_now(s);
  const char *by = c && c->name ? c->name : "operator:cli";
  st_policy_model row = {.marketplace_id = (char *)mp, .version = out->version, .model = b64,
                         .examples = (int64_t)n, .trained_by = (char *)by, .trained_at = out->trained_at};
  int64_t gen = 0;
  if (!(e = svc__begin(s, true, d))) {
    e = store_policy_model_put(s->st, &row);
    /* every node forgets the marketplaces' models at its next tick and reads them again */
    if (!e) e = store_counter(s->st, SVC_MODEL_GENERATION, true, &gen);
    if (!e)
      e = svc__audit(s, NULL, by, "policy.train", mp,
                     json_pack("{s:s,s:I,s:I}", "version", out->version, "decisions", (json_int_t)n, "violations",
                               (json_int_t)out->violations));
    e = svc__end(s, e, d);
  }
  free(b64);
  if (!e) { /* this node at once; the others at their next tick */
    pthread_mutex_lock(&s->policy_mu);
    svc__policy_models_forget(s);
    pthread_mutex_unlock(&s->policy_mu);
  }
out:
  pl_arena_free(a);
  atomic_store(&s->training, false);
  return e;
}

pl_err svc_policy_models(svc *s, const svc_caller *c, pl_arena *a, svc_policy_model_status **out, size_t *n,
                         pl_detail *d) {
  *out = NULL;
  *n = 0;
  if (!c || c->kind != ST_PRINCIPAL_OPERATOR) return pl_fail(d, PL_EFORBIDDEN, "only the operator trains the policy");
  pl_err e = svc_policy_prepare(s, d);
  if (e) return e;
  pthread_mutex_lock(&s->policy_mu);
  char shipped[17];
  snprintf(shipped, sizeof shipped, "%s", policy_config_model_version(s->policy));
  pthread_mutex_unlock(&s->policy_mu);
  if ((e = svc__begin(s, false, d))) return e;
  char **ids = NULL;
  size_t k = 0;
  if (c->marketplace_id) {
    ids = pl_arena_alloc(a, sizeof *ids);
    ids[k++] = pl_arena_strdup(a, c->marketplace_id);
  } else {
    e = store_marketplace_ids(s->st, a, &ids, &k);
  }
  svc_policy_model_status *v = pl_arena_alloc(a, (k ? k : 1) * sizeof *v);
  size_t got = 0;
  for (size_t i = 0; !e && i < k; i++) {
    svc_policy_model_status *m = &v[got];
    memset(m, 0, sizeof *m);
    m->marketplace_id = ids[i];
    snprintf(m->shipped_version, sizeof m->shipped_version, "%s", shipped);
    st_marketplace mk;
    if ((e = store_marketplace_get(s->st, ids[i], a, &mk))) {
      if (e == PL_ENOTFOUND) e = PL_OK; /* gone since it was listed */
      continue;
    }
    m->name = mk.name;
    svc_rules r;
    svc_rules_load(&r, mk.settings_json);
    m->learn_decision_weight = r.learn_decision_weight;
    st_policy_model row;
    pl_err g = store_policy_model_get(s->st, ids[i], false, a, &row);
    if (!g) {
      m->trained = true;
      snprintf(m->trained_version, sizeof m->trained_version, "%s", row.version);
      m->trained_by = row.trained_by;
      m->trained_at = row.trained_at;
      m->trained_decisions = row.examples;
    } else if (g != PL_ENOTFOUND) {
      e = g;
      continue;
    }
    st_policy_example_counts cn;
    if ((e = store_policy_example_counts(s->st, ids[i], m->trained ? m->trained_at : -1, &cn))) continue;
    m->decisions = cn.total;
    m->violations = cn.violations;
    m->new_decisions = cn.since;
    /* what its messages are checked with now: its own model once this node has read it */
    policy_config *cfg = NULL;
    const char *const *allow;
    if ((e = svc__policy_for(s, ids[i], a, &cfg, &allow, d))) continue;
    snprintf(m->version, sizeof m->version, "%s", policy_config_model_version(cfg));
    policy_config_unref(cfg);
    got++;
  }
  e = svc__end(s, e, d);
  if (e) return e;
  *out = v;
  *n = got;
  return PL_OK;
}

pl_err svc_policy_learners(svc *s, pl_arena *a, char ***out, size_t *n, pl_detail *d) {
  *out = NULL;
  *n = 0;
  pl_err e = svc__begin(s, false, d);
  if (e) return e;
  return svc__end(s, store_policy_example_marketplaces(s->st, a, out, n), d);
}

pl_err svc_policy_model_version(svc *s, const char *mp, char out[17], pl_detail *d) {
  out[0] = '\0';
  pl_arena *a = pl_arena_new();
  pl_err e = svc__begin(s, false, d);
  if (!e) {
    policy_config *cfg = NULL;
    const char *const *allow;
    e = svc__policy_for(s, mp, a, &cfg, &allow, d);
    if (!e) snprintf(out, 17, "%s", policy_config_model_version(cfg));
    policy_config_unref(cfg);
    e = svc__end(s, e, d);
  }
  pl_arena_free(a);
  return e;
}
