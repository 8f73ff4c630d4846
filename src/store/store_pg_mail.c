/* store_pg_mail.c - the e-mail outbox and the look-ups of inbound mail in PostgreSQL. */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_pg_int.h"

/* Runs a one-row query: PL_OK with *out set (the caller clears it), or PL_ENOTFOUND. */
static pl_err one(store *s, const char *sql, int n, const char *const *v, PGresult **out) {
  pl_err e;
  PGresult *r = store__pg_exec(s, sql, n, v, &e);
  if (!e && PQntuples(r) == 0) e = PL_ENOTFOUND;
  if (e) {
    PQclear(r);
    return e;
  }
  *out = r;
  return PL_OK;
}

pl_err pg__outbox_add(store *s, st_outbox *o) {
  char msg[24], next[24], at[24];
  snprintf(msg, sizeof msg, "%lld", (long long)o->message_id);
  snprintf(next, sizeof next, "%lld", (long long)o->next_at);
  snprintf(at, sizeof at, "%lld", (long long)o->created_at);
  const char *v[] = {o->seller_id, msg, st_outbox_kind_name(o->kind), next, at};
  PGresult *r;
  pl_err e = one(s, "INSERT INTO outbox(seller_id, message_id, kind, state, attempts, next_at, created_at)"
                    " VALUES ($1, $2, $3, 'pending', 0, $4, $5) RETURNING id",
                 5, v, &r);
  if (e) return e == PL_ENOTFOUND ? PL_ESTORE : e;
  o->id = pg__num(r, 0, 0);
  PQclear(r);
  return PL_OK;
}

/* Several nodes drain one outbox: each claims rows under FOR UPDATE SKIP LOCKED, so that
 * a row another node is claiming is passed over rather than taken twice, and the moved
 * due time keeps it away from the others once this transaction commits. */
pl_err pg__outbox_claim(store *s, pl_time now, pl_time claim_until, int limit, pl_arena *a,
                        st_outbox **out, size_t *n) {
  char nw[24], until[24], lim[16];
  snprintf(nw, sizeof nw, "%lld", (long long)now);
  snprintf(until, sizeof until, "%lld", (long long)claim_until);
  snprintf(lim, sizeof lim, "%d", limit);
  const char *v[] = {nw, until, lim};
  pl_err e;
  PGresult *r = store__pg_exec(s,
                               "UPDATE outbox SET next_at = $2 WHERE id IN (SELECT id FROM outbox"
                               " WHERE state = 'pending' AND next_at <= $1 ORDER BY next_at, id"
                               " LIMIT $3 FOR UPDATE SKIP LOCKED) RETURNING " ST_OUTBOX_COLS,
                               3, v, &e);
  if (e) {
    PQclear(r);
    return e;
  }
  int rows = PQntuples(r);
  st_outbox *arr = pl_arena_alloc(a, (size_t)(rows > 0 ? rows : 1) * sizeof *arr);
  for (int i = 0; i < rows; i++) {
    st_outbox *o = &arr[i];
    pg__read_row(a, r, i, 0, &st_outbox_row, o);
  }
  PQclear(r);
  *out = arr;
  *n = (size_t)rows;
  return PL_OK;
}

pl_err pg__outbox_update(store *s, const st_outbox *o) {
  char id[24], att[24], next[24], sent[24];
  snprintf(id, sizeof id, "%lld", (long long)o->id);
  snprintf(att, sizeof att, "%lld", (long long)o->attempts);
  snprintf(next, sizeof next, "%lld", (long long)o->next_at);
  snprintf(sent, sizeof sent, "%lld", (long long)o->sent_at);
  const char *v[] = {id, st_outbox_state_name(o->state), att, next, sent, o->last_error};
  pl_err e;
  PGresult *r = store__pg_exec(s,
                               ST_SQL_OUTBOX_UPDATE,
                               6, v, &e);
  PQclear(r);
  return e;
}

/* One statement, both figures; each half reads a partial index (outbox_due,
 * message_state_held_at), so its cost is the pending mail and the held messages. */
pl_err pg__ops_figures(store *s, st_ops_figures *out) {
  memset(out, 0, sizeof *out);
  pl_err e;
  PGresult *r = store__pg_exec(s,
                               ST_SQL_OPS_FIGURES,
                               0, NULL, &e);
  for (int i = 0; !e && i < PQntuples(r); i++) {
    int64_t n = pg__num(r, i, 2);
    pl_time oldest = pg__num(r, i, 3);
    if (!strcmp(pg__cstr(r, i, 0), "held")) {
      out->held = n;
      out->held_oldest = oldest;
      continue;
    }
    st_outbox_kind k;
    (void)st_outbox_kind_from_name(pg__cstr(r, i, 1), &k); /* unknown: 0 */
    out->outbox_pending[k] += n;
    if (oldest && (!out->outbox_oldest[k] || oldest < out->outbox_oldest[k])) out->outbox_oldest[k] = oldest;
  }
  PQclear(r);
  return e;
}

pl_err pg__alias_find(store *s, const char *alias, pl_arena *a, char **mp, char **buyer,
                      char **seller) {
  const char *v[] = {alias};
  PGresult *r;
  pl_err e = one(s, ST_SQL_ALIAS_FIND, 1, v, &r);
  if (e) return e;
  *mp = pg__text(a, r, 0, 0);
  *buyer = pg__text(a, r, 0, 1);
  *seller = pg__text(a, r, 0, 2);
  PQclear(r);
  return PL_OK;
}

pl_err pg__seller_find_alias(store *s, const char *alias, pl_arena *a, st_seller *o) {
  const char *v[] = {alias};
  PGresult *r;
  pl_err e = one(s, ST_SQL_SELLER_FIND_ALIAS, 1, v, &r);
  if (e) return e;
  pg__read_seller(a, r, 0, o);
  PQclear(r);
  return PL_OK;
}

pl_err pg__buyer_find_email(store *s, const char *hash, pl_arena *a, st_buyer *o) {
  const char *v[] = {hash};
  PGresult *r;
  pl_err e = one(s, ST_SQL_BUYER_FIND_EMAIL, 1, v, &r);
  if (e) return e;
  pg__read_buyer(a, r, 0, o);
  PQclear(r);
  return PL_OK;
}

pl_err pg__agent_find(store *s, const char *seller_id, const char *name, pl_arena *a, st_agent *o) {
  const char *v[] = {seller_id, name};
  PGresult *r;
  pl_err e = one(s, ST_SQL_AGENT_FIND, 2, v, &r);
  if (e) return e;
  o->id = pg__num(r, 0, 0);
  o->seller_id = pg__text(a, r, 0, 1);
  o->name = pg__text(a, r, 0, 2);
  o->role = pg__text(a, r, 0, 3);
  PQclear(r);
  return PL_OK;
}

static void read_address(pl_arena *a, const PGresult *r, int row, st_agent_address *o) {
  pg__read_row(a, r, row, 0, &st_agent_address_row, o);
}

pl_err pg__agent_address_add(store *s, st_agent_address *v) {
  char ag[24], at[24];
  snprintf(ag, sizeof ag, "%lld", (long long)v->agent_id);
  snprintf(at, sizeof at, "%lld", (long long)v->created_at);
  const char *p[] = {v->seller_id, ag, v->email_sealed, v->email_hash, at};
  PGresult *r;
  /* The agent must be the seller's: the insert takes nothing when it is not. */
  pl_err e = one(s, "INSERT INTO agent_addresses(seller_id, agent_id, email_sealed, email_hash, created_at)"
                    " SELECT $1, id, $3, $4, $5 FROM agents WHERE id = $2 AND seller_id = $1 RETURNING id",
                 5, p, &r);
  if (e) return e;
  v->id = pg__num(r, 0, 0);
  PQclear(r);
  return PL_OK;
}

pl_err pg__agent_address_list(store *s, const char *seller_id, int64_t agent_id, pl_arena *a,
                              st_agent_address **out, size_t *n) {
  char ag[24];
  snprintf(ag, sizeof ag, "%lld", (long long)agent_id);
  const char *p[] = {seller_id, ag};
  pl_err e;
  PGresult *r = store__pg_exec(s,
                               "SELECT " ST_ADDR_COLS " FROM agent_addresses WHERE seller_id = $1"
                               " AND ($2::bigint = 0 OR agent_id = $2::bigint) ORDER BY id",
                               2, p, &e);
  if (e) {
    PQclear(r);
    return e;
  }
  int rows = PQntuples(r);
  st_agent_address *arr = pl_arena_alloc(a, (size_t)(rows > 0 ? rows : 1) * sizeof *arr);
  for (int i = 0; i < rows; i++) read_address(a, r, i, &arr[i]);
  PQclear(r);
  *out = arr;
  *n = (size_t)rows;
  return PL_OK;
}

pl_err pg__agent_address_delete(store *s, const char *seller_id, int64_t agent_id, int64_t id) {
  char ag[24], idv[24];
  snprintf(ag, sizeof ag, "%lld", (long long)agent_id);
  snprintf(idv, sizeof idv, "%lld", (long long)id);
  const char *p[] = {idv, seller_id, ag};
  PGresult *r;
  pl_err e = one(s, "DELETE FROM agent_addresses WHERE id = $1 AND seller_id = $2 AND agent_id = $3"
                    " RETURNING id", 3, p, &r);
  if (!e) PQclear(r);
  return e;
}

pl_err pg__agent_address_find(store *s, const char *seller_id, const char *hash, pl_arena *a,
                              st_agent_address *o) {
  const char *p[] = {seller_id, hash};
  PGresult *r;
  pl_err e = one(s, ST_SQL_AGENT_ADDRESS_FIND,
                 2, p, &r);
  if (e) return e;
  read_address(a, r, 0, o);
  PQclear(r);
  return PL_OK;
}
