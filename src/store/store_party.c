/* store_party.c - the parties (marketplaces, sellers, agents, buyers), the aliases
 * between them, tokens by hash, and orders with their items; written once for both
 * backends over exec. */
#include "store/store_shared.h"
#include "store/store_sql.h"

static const st_stmt
    market_put = {.sql = ST_SQL_MARKET_PUT}, market_get = {.sql = ST_SQL_MARKET_GET},
    seller_put = {.sql = ST_SQL_SELLER_PUT}, seller_get = {.sql = ST_SQL_SELLER_GET},
    seller_by_alias = {.sql = ST_SQL_SELLER_FIND_ALIAS}, agent_add = {.sql = ST_SQL_AGENT_ADD " RETURNING id"},
    agent_get = {.sql = ST_SQL_AGENT_GET}, agent_find = {.sql = ST_SQL_AGENT_FIND},
    buyer_put = {.sql = ST_SQL_BUYER_PUT}, buyer_get = {.sql = ST_SQL_BUYER_GET},
    buyer_by_email = {.sql = ST_SQL_BUYER_FIND_EMAIL}, alias_get = {.sql = ST_SQL_ALIAS_GET},
    /* the alias is taken, or the pair has one: nothing inserted (PL_EEXIST) */
    alias_put = {.sql = ST_SQL_ALIAS_PUT " ON CONFLICT DO NOTHING"}, token_delete = {.sql = ST_SQL_TOKEN_DEL},
    order_put = {.sql = ST_SQL_ORDER_PUT}, order_items_del = {.sql = ST_SQL_ORDER_ITEMS_DEL},
    order_item_put = {.sql = ST_SQL_ORDER_ITEM_PUT}, order_get = {.sql = ST_SQL_ORDER_GET},
    order_items_get = {.sql = ST_SQL_ORDER_ITEMS_GET},
    market_ids = {.sql = "SELECT id FROM marketplaces ORDER BY id",
                  .pg = "SELECT id FROM marketplaces ORDER BY id COLLATE \"C\""},
    /* newest first; ids compared byte by byte on both */
    order_list = {.sql = "SELECT id FROM orders WHERE (CAST(?1 AS TEXT) IS NULL OR seller_id = ?1)"
                         " AND (CAST(?2 AS TEXT) IS NULL OR buyer_id = ?2)"
                         " AND (CAST(?4 AS TEXT) IS NULL OR purchased_at < ?3 OR (purchased_at = ?3 AND id < ?4))"
                         " ORDER BY purchased_at DESC, id DESC LIMIT ?5",
                  .pg = "SELECT id FROM orders WHERE ($1::text IS NULL OR seller_id = $1)"
                        " AND ($2::text IS NULL OR buyer_id = $2)"
                        " AND ($4::text IS NULL OR purchased_at < $3"
                        "      OR (purchased_at = $3 AND id COLLATE \"C\" < $4))"
                        " ORDER BY purchased_at DESC, id COLLATE \"C\" DESC LIMIT $5"};

pl_err store_marketplace_put(store *s, const st_marketplace *m) {
  return st__run(s, &market_put,
                 ST_ARGS(ST_ARG_T(m->id), ST_ARG_T(m->name), ST_ARG_T(m->locale),
                         ST_ARG_T(m->domains_json ? m->domains_json : "[]"),
                         ST_ARG_T(m->settings_json ? m->settings_json : "{}")));
}

pl_err store_marketplace_get(store *s, const char *id, pl_arena *a, st_marketplace *out) {
  return st__get(s, &market_get, ST_ARGS(ST_ARG_T(id)), &st_marketplace_row, a, out);
}

pl_err store_marketplace_ids(store *s, pl_arena *a, char ***out, size_t *n) {
  return st__texts(s, &market_ids, NULL, 0, a, out, n);
}

pl_err store_seller_put(store *s, const st_seller *v) {
  return st__run(s, &seller_put,
                 ST_ARGS(ST_ARG_T(v->id), ST_ARG_T(v->marketplace_id), ST_ARG_T(v->name), ST_ARG_T(v->email_sealed),
                         ST_ARG_T(v->alias), ST_ARG_I(v->created_at)));
}

pl_err store_seller_get(store *s, const char *id, const char *alias, pl_arena *a, st_seller *out) {
  return st__get(s, id ? &seller_get : &seller_by_alias, ST_ARGS(ST_ARG_T(id ? id : alias)), &st_seller_row, a, out);
}

pl_err store_agent_add(store *s, const st_agent *v, int64_t *id_out) {
  st_i64 id;
  pl_err e = st__get(s, &agent_add,
                     ST_ARGS(ST_ARG_T(v->seller_id), ST_ARG_T(v->name), ST_ARG_T(st_agent_role_name(v->role))),
                     &st_i64_row, NULL, &id);
  if (!e) *id_out = id.v;
  return e == PL_EEXIST ? PL_EINVAL : e == PL_ENOTFOUND ? PL_ESTORE : e; /* an unknown seller or role */
}

pl_err store_agent_get(store *s, int64_t id, const char *seller_id, const char *name, pl_arena *a, st_agent *out) {
  if (id) return st__get(s, &agent_get, ST_ARGS(ST_ARG_I(id)), &st_agent_row, a, out);
  return st__get(s, &agent_find, ST_ARGS(ST_ARG_T(seller_id), ST_ARG_T(name)), &st_agent_row, a, out);
}

pl_err store_buyer_put(store *s, const st_buyer *v) {
  return st__run(s, &buyer_put,
                 ST_ARGS(ST_ARG_T(v->id), ST_ARG_T(v->name), ST_ARG_T(v->locale), ST_ARG_T(v->email_sealed),
                         ST_ARG_T(v->email_hash), ST_ARG_B(v->opt_out), ST_ARG_T(v->blocked_sellers)));
}

pl_err store_buyer_get(store *s, const char *id, const char *email_hash, pl_arena *a, st_buyer *out) {
  return st__get(s, id ? &buyer_get : &buyer_by_email, ST_ARGS(ST_ARG_T(id ? id : email_hash)), &st_buyer_row, a,
                 out);
}

pl_err store_alias_get(store *s, const char *marketplace_id, const char *buyer_id, const char *seller_id,
                       pl_arena *a, char **out) {
  st_text t;
  pl_err e = st__get(s, &alias_get, ST_ARGS(ST_ARG_T(marketplace_id), ST_ARG_T(buyer_id), ST_ARG_T(seller_id)),
                     &st_text_row, a, &t);
  if (!e) *out = t.v;
  return e;
}

pl_err store_alias_put(store *s, const char *marketplace_id, const char *buyer_id, const char *seller_id,
                       const char *alias, pl_time at) {
  size_t n = 0;
  pl_err e = st__count(s, &alias_put,
                       ST_ARGS(ST_ARG_T(alias), ST_ARG_T(marketplace_id), ST_ARG_T(buyer_id), ST_ARG_T(seller_id),
                               ST_ARG_I(at)),
                       &n);
  return e ? e : n ? PL_OK : PL_EEXIST;
}

pl_err store_token_delete(store *s, const char *hash) {
  return st__change(s, &token_delete, ST_ARGS(ST_ARG_T(hash)));
}

pl_err store_order_put(store *s, const st_order *o) {
  size_t n = 0;
  pl_err e = st__count(s, &order_put,
                       ST_ARGS(ST_ARG_T(o->id), ST_ARG_T(o->marketplace_id), ST_ARG_T(o->seller_id),
                               ST_ARG_T(o->buyer_id), ST_ARG_T(st_order_status_name(o->status)),
                               ST_ARG_I(o->purchased_at), ST_ARG_I(o->shipped_at), ST_ARG_I(o->delivered_at),
                               ST_ARG_I(o->updated_at), ST_ARG_B(o->negative_feedback),
                               ST_ARG_T(o->by_marketplace ? "marketplace" : "seller"), ST_ARG_T(o->ship_country),
                               ST_ARG_T(o->carrier), ST_ARG_T(o->tracking), ST_ARG_I(o->promised_at),
                               ST_ARG_T(o->return_state)),
                       &n);
  if (e) return e;
  if (n == 0) return PL_ECONFLICT; /* another seller's or buyer's order */
  if ((e = st__run(s, &order_items_del, ST_ARGS(ST_ARG_T(o->id), ST_ARG_T(o->seller_id))))) return e;
  for (size_t i = 0; i < o->nitems; i++) {
    const st_item *it = &o->items[i];
    e = st__run(s, &order_item_put,
                ST_ARGS(ST_ARG_T(o->id), ST_ARG_T(o->seller_id), ST_ARG_I(i), ST_ARG_T(it->asin), ST_ARG_T(it->title),
                        ST_ARG_I(it->quantity), ST_ARG_T(it->price), ST_ARG_T(it->currency)));
    if (e) return e;
  }
  return PL_OK;
}

pl_err store_order_head(store *s, const char *id, pl_arena *a, st_order *out) {
  pl_err e = st__get(s, &order_get, ST_ARGS(ST_ARG_T(id)), &st_order_row, a, out);
  if (!e) out->items = NULL, out->nitems = 0;
  return e;
}

pl_err store_order_get(store *s, const char *id, pl_arena *a, st_order *out) {
  pl_err e = store_order_head(s, id, a, out);
  if (e) return e;
  return st__list(s, &order_items_get, ST_ARGS(ST_ARG_T(id)), &st_item_row, a, &out->items, &out->nitems);
}

pl_err store_order_list(store *s, const char *seller_id, const char *buyer_id, pl_time cursor_at,
                        const char *cursor_id, int limit, pl_arena *a, st_order **out, size_t *n) {
  st_text *ids;
  size_t k;
  pl_err e = st__list(s, &order_list,
                      ST_ARGS(ST_ARG_T(seller_id), ST_ARG_T(buyer_id), ST_ARG_I(cursor_at),
                              ST_ARG_T(cursor_id), /* NULL: from the newest */
                              ST_ARG_I(limit > 0 ? limit : 0)),
                      &st_text_row, a, &ids, &k);
  if (e) return e;
  st_order *arr = pl_arena_alloc(a, (k ? k : 1) * sizeof *arr);
  for (size_t i = 0; i < k; i++)
    if ((e = store_order_get(s, ids[i].v, a, &arr[i]))) return e;
  *out = arr;
  *n = k;
  return PL_OK;
}
