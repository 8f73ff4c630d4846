/* store_mail.c - the e-mail outbox, the store-wide figures an operator alerts on, and the
 * look-ups of inbound mail (aliases, agents' registered addresses); written once for both
 * backends over exec. */
#include <string.h>

#include "store/store_shared.h"
#include "store/store_sql.h"

/* a notice already queued under its dedupe key inserts nothing */
#define OUTBOX_ADD                                                                                 \
  "INSERT INTO outbox(seller_id, message_id, kind, state, attempts, next_at, created_at,"        \
  " agent_id, payload, dedupe) VALUES (?1, CASE WHEN ?2 = 0 THEN NULL ELSE ?2 END, ?3,"           \
  " 'pending', 0, ?4, ?5, ?6, ?7, ?8) ON CONFLICT DO NOTHING"

static const st_stmt
    outbox_add = {.sql = OUTBOX_ADD, .pg = OUTBOX_ADD " RETURNING id", .new_id = true},
    /* SQLite: one writer at a time holds the database, so a plain UPDATE ... RETURNING
     * claims rows that no other worker can be claiming; PostgreSQL's nodes skip the rows
     * another is claiming. */
    outbox_claim = {.sql = "UPDATE outbox SET next_at = ?2 WHERE id IN (SELECT id FROM outbox"
                           " WHERE state = 'pending' AND next_at <= ?1 ORDER BY next_at, id"
                           " LIMIT ?3) RETURNING " ST_OUTBOX_COLS,
                    .pg = "UPDATE outbox SET next_at = $2 WHERE id IN (SELECT id FROM outbox"
                          " WHERE state = 'pending' AND next_at <= $1 ORDER BY next_at, id"
                          " LIMIT $3 FOR UPDATE SKIP LOCKED) RETURNING " ST_OUTBOX_COLS},
    outbox_update = {.sql = ST_SQL_OUTBOX_UPDATE}, ops_figures = {.sql = ST_SQL_OPS_FIGURES},
    alias_find = {.sql = ST_SQL_ALIAS_FIND},
    /* The agent must be the seller's: the insert takes nothing when it is not. */
    addr_add = {.sql = "INSERT INTO agent_addresses(seller_id, agent_id, email_sealed, email_hash, created_at)"
                       " SELECT ?1, id, ?3, ?4, ?5 FROM agents WHERE id = ?2 AND seller_id = ?1 RETURNING id"},
    addr_list = {.sql = "SELECT " ST_ADDR_COLS " FROM agent_addresses WHERE seller_id = ?1"
                        " AND (CAST(?2 AS BIGINT) = 0 OR agent_id = ?2) ORDER BY id"},
    addr_delete = {.sql = "DELETE FROM agent_addresses WHERE id = ?1 AND seller_id = ?2 AND agent_id = ?3"},
    addr_find = {.sql = ST_SQL_AGENT_ADDRESS_FIND};

pl_err store_outbox_add(store *s, st_outbox *o) {
  st_i64 id;
  pl_err e = st__get(s, &outbox_add,
                     ST_ARGS(ST_ARG_T(o->seller_id), ST_ARG_I(o->message_id), ST_ARG_T(st_outbox_kind_name(o->kind)),
                             ST_ARG_I(o->next_at), ST_ARG_I(o->created_at), ST_ARG_I(o->agent_id),
                             ST_ARG_T(o->payload), ST_ARG_T(o->dedupe)),
                     &st_i64_row, NULL, &id);
  if (e == PL_ENOTFOUND) return o->dedupe ? PL_EEXIST : PL_ESTORE;
  if (!e) o->id = id.v;
  return e;
}

pl_err store_outbox_claim(store *s, pl_time now, pl_time claim_until, int limit, pl_arena *a, st_outbox **out,
                          size_t *n) {
  return st__list(s, &outbox_claim, ST_ARGS(ST_ARG_I(now), ST_ARG_I(claim_until), ST_ARG_I(limit)), &st_outbox_row,
                  a, out, n);
}

pl_err store_outbox_update(store *s, const st_outbox *o) {
  return st__run(s, &outbox_update,
                 ST_ARGS(ST_ARG_I(o->id), ST_ARG_T(st_outbox_state_name(o->state)), ST_ARG_I(o->attempts),
                         ST_ARG_I(o->next_at), ST_ARG_I(o->sent_at), ST_ARG_T(o->last_error)));
}

/* One statement, both figures; each half reads a partial index (outbox_due,
 * message_state_held_at), so its cost is the pending mail and the held messages. */
pl_err store_ops_figures(store *s, st_ops_figures *out) {
  memset(out, 0, sizeof *out);
  pl_arena *a = pl_arena_new();
  st_figure *rows;
  size_t n;
  pl_err e = st__list(s, &ops_figures, NULL, 0, &st_figure_row, a, &rows, &n);
  for (size_t i = 0; !e && i < n; i++) {
    if (rows[i].what && !strcmp(rows[i].what, "held")) {
      out->held = rows[i].n;
      out->held_oldest = rows[i].oldest;
      continue;
    }
    st_outbox_kind k;
    (void)st_outbox_kind_from_name(rows[i].kind, &k); /* unknown: 0 */
    out->outbox_pending[k] += rows[i].n;
    if (rows[i].oldest && (!out->outbox_oldest[k] || rows[i].oldest < out->outbox_oldest[k]))
      out->outbox_oldest[k] = rows[i].oldest;
  }
  pl_arena_free(a);
  return e;
}

pl_err store_alias_find(store *s, const char *alias, pl_arena *a, char **mp, char **buyer, char **seller) {
  st_alias_owner o;
  pl_err e = st__get(s, &alias_find, ST_ARGS(ST_ARG_T(alias)), &st_alias_owner_row, a, &o);
  if (e) return e;
  *mp = o.marketplace_id;
  *buyer = o.buyer_id;
  *seller = o.seller_id;
  return PL_OK;
}

pl_err store_agent_address_add(store *s, st_agent_address *v) {
  st_i64 id;
  pl_err e = st__get(s, &addr_add,
                     ST_ARGS(ST_ARG_T(v->seller_id), ST_ARG_I(v->agent_id), ST_ARG_T(v->email_sealed),
                             ST_ARG_T(v->email_hash), ST_ARG_I(v->created_at)),
                     &st_i64_row, NULL, &id);
  if (!e) v->id = id.v;
  return e; /* PL_ENOTFOUND: no such agent of the seller */
}

pl_err store_agent_address_list(store *s, const char *seller_id, int64_t agent_id, pl_arena *a,
                                st_agent_address **out, size_t *n) {
  return st__list(s, &addr_list, ST_ARGS(ST_ARG_T(seller_id), ST_ARG_I(agent_id)), &st_agent_address_row, a, out,
                  n);
}

pl_err store_agent_address_delete(store *s, const char *seller_id, int64_t agent_id, int64_t id) {
  return st__change(s, &addr_delete, ST_ARGS(ST_ARG_I(id), ST_ARG_T(seller_id), ST_ARG_I(agent_id)));
}

pl_err store_agent_address_find(store *s, const char *seller_id, const char *hash, pl_arena *a,
                                st_agent_address *o) {
  return st__get(s, &addr_find, ST_ARGS(ST_ARG_T(seller_id), ST_ARG_T(hash)), &st_agent_address_row, a, o);
}
