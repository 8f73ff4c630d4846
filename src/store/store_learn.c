/* store_learn.c - learning from the operator: each marketplace's labelled examples (the review queue's decisions) and its own classifier model; written once for both backends over exec. */
#include <string.h>

#include "store/store_shared.h"

#define EXAMPLE_COLS "id, marketplace_id, seller_id, message_id, label, categories, text, decided_by, decided_at"

static const st_stmt
    /* one example a message: a message is decided once */
    example_add = {.sql = "INSERT INTO policy_examples(marketplace_id, seller_id, message_id, label, categories, text,"
                          " decided_by, decided_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
                          " ON CONFLICT (message_id) DO NOTHING RETURNING id"},
    /* the marketplace's examples older than its newest `keep` */
    example_trim = {.sql = "DELETE FROM policy_examples WHERE marketplace_id = ?1 AND id <= (SELECT id FROM"
                           " policy_examples WHERE marketplace_id = ?1 ORDER BY id DESC LIMIT 1 OFFSET ?2)"},
    example_list = {.sql = "SELECT " EXAMPLE_COLS " FROM policy_examples WHERE marketplace_id = ?1"
                           " ORDER BY id DESC LIMIT ?2"},
    /* ids byte by byte on both */
    example_marketplaces = {.sql = "SELECT DISTINCT marketplace_id FROM policy_examples ORDER BY marketplace_id",
                            .pg = "SELECT DISTINCT marketplace_id COLLATE \"C\" FROM policy_examples"
                                  " ORDER BY 1"},
    model_put = {.sql = "INSERT INTO policy_models(marketplace_id, version, model, examples, trained_by, trained_at)"
                        " VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (marketplace_id) DO UPDATE SET"
                        " version = excluded.version, model = excluded.model, examples = excluded.examples,"
                        " trained_by = excluded.trained_by, trained_at = excluded.trained_at"},
    /* how many, how many rejected, how many decided after ?2 */
    example_counts = {.sql = "SELECT count(*), count(CASE WHEN label = 'violation' THEN 1 END),"
                             " count(CASE WHEN decided_at > ?2 THEN 1 END)"
                             " FROM policy_examples WHERE marketplace_id = ?1"},
    model_get = {.sql = "SELECT marketplace_id, version, CASE WHEN ?2 THEN model END, examples, trained_by,"
                        " trained_at FROM policy_models WHERE marketplace_id = ?1"};

pl_err store_policy_example_add(store *s, st_policy_example *e, int keep) {
  st_i64 id;
  pl_err r = st__get(s, &example_add,
                     ST_ARGS(ST_ARG_T(e->marketplace_id), ST_ARG_T(e->seller_id), ST_ARG_I(e->message_id),
                             ST_ARG_T(e->label), ST_ARG_T(e->categories), ST_ARG_T(e->text), ST_ARG_T(e->decided_by),
                             ST_ARG_I(e->decided_at)),
                     &st_i64_row, NULL, &id);
  if (r == PL_ENOTFOUND) return PL_EEXIST;
  if (r) return r;
  e->id = id.v;
  return st__run(s, &example_trim, ST_ARGS(ST_ARG_T(e->marketplace_id), ST_ARG_I(keep > 0 ? keep : 1)));
}

pl_err store_policy_example_list(store *s, const char *marketplace_id, int limit, pl_arena *a,
                                 st_policy_example **out, size_t *n) {
  return st__list(s, &example_list, ST_ARGS(ST_ARG_T(marketplace_id), ST_ARG_I(limit)), &st_policy_example_row, a,
                  out, n);
}

pl_err store_policy_example_marketplaces(store *s, pl_arena *a, char ***out, size_t *n) {
  return st__texts(s, &example_marketplaces, NULL, 0, a, out, n);
}

pl_err store_policy_example_counts(store *s, const char *marketplace_id, pl_time since,
                                   st_policy_example_counts *out) {
  return st__get(s, &example_counts, ST_ARGS(ST_ARG_T(marketplace_id), ST_ARG_I(since)), &st_policy_example_counts_row, NULL, out);
}

pl_err store_policy_model_put(store *s, const st_policy_model *m) {
  return st__run(s, &model_put,
                 ST_ARGS(ST_ARG_T(m->marketplace_id), ST_ARG_T(m->version), ST_ARG_T(m->model), ST_ARG_I(m->examples),
                         ST_ARG_T(m->trained_by), ST_ARG_I(m->trained_at)));
}

pl_err store_policy_model_get(store *s, const char *marketplace_id, bool with_model, pl_arena *a,
                              st_policy_model *out) {
  return st__get(s, &model_get, ST_ARGS(ST_ARG_T(marketplace_id), ST_ARG_B(with_model)), &st_policy_model_row, a,
                 out);
}
