/* store_audit.c - reading the audit log (its entries, the heads of its chains) and its
 * checkpoints, written once for both backends over exec. An append stays with each
 * backend (store_*_audit.c): it locks its chain's head its own way. */
#include "store/store_shared.h"
#include "store/store_sql.h"

static const st_stmt list = {.sql = ST_SQL_AUDIT_LIST}, chain_page = {.sql = ST_SQL_AUDIT_CHAIN},
                     legacy_page = {.sql = "SELECT " ST_AUDIT_COLS " FROM audit WHERE chain IS NULL AND id > ?1"
                                           " ORDER BY id LIMIT ?2"},
                     /* byte by byte on both, the order the checkpoint's tree is built in */
                     heads = {.sql = "SELECT chain, seq, hash FROM audit_heads ORDER BY chain",
                              .pg = "SELECT chain, seq, hash FROM audit_heads ORDER BY chain COLLATE \"C\""},
                     checkpoint_add = {.sql = "INSERT INTO audit_checkpoints(at, nchains, root, heads, public_key,"
                                              " signature) VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING id"},
                     checkpoint_list = {.sql = ST_SQL_AUDIT_CHECKPOINT_LIST};

pl_err store_audit_list(store *s, const char *subject, pl_arena *a, st_audit **out, size_t *n) {
  return st__list(s, &list, ST_ARGS(ST_ARG_T(subject)), &st_audit_row, a, out, n);
}

pl_err store_audit_chain(store *s, const char *chain, int64_t after, size_t limit, pl_arena *a, st_audit **out,
                         size_t *n) {
  if (!chain)
    return st__list(s, &legacy_page, ST_ARGS(ST_ARG_I(after), ST_ARG_I(limit)), &st_audit_row, a, out, n);
  return st__list(s, &chain_page, ST_ARGS(ST_ARG_T(chain), ST_ARG_I(after), ST_ARG_I(limit)), &st_audit_row, a, out,
                  n);
}

pl_err store_audit_heads(store *s, pl_arena *a, st_audit_head **out, size_t *n) {
  return st__list(s, &heads, NULL, 0, &st_audit_head_row, a, out, n);
}

pl_err store_audit_checkpoint_add(store *s, st_audit_checkpoint *c) {
  st_i64 id;
  pl_err e = st__get(s, &checkpoint_add,
                     ST_ARGS(ST_ARG_I(c->at), ST_ARG_I(c->nchains), ST_ARG_T(c->root), ST_ARG_T(c->heads_json),
                             ST_ARG_T(c->public_key), ST_ARG_T(c->signature)),
                     &st_i64_row, NULL, &id);
  if (e == PL_ENOTFOUND) return PL_ESTORE;
  if (!e) c->id = id.v;
  return e;
}

pl_err store_audit_checkpoint_list(store *s, pl_arena *a, st_audit_checkpoint **out, size_t *n) {
  return st__list(s, &checkpoint_list, NULL, 0, &st_audit_checkpoint_row, a, out, n);
}
