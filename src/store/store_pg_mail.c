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
  pg_params p = {.n = 0};
  pg__p_text(&p, o->seller_id);
  pg__p_int(&p, o->message_id);
  pg__p_text(&p, st_outbox_kind_name(o->kind));
  pg__p_int(&p, o->next_at);
  pg__p_int(&p, o->created_at);
  PGresult *r;
  pl_err e = one(s, "INSERT INTO outbox(seller_id, message_id, kind, state, attempts, next_at, created_at)"
                    " VALUES ($1, $2, $3, 'pending', 0, $4, $5) RETURNING id",
                 p.n, p.v, &r);
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
  pg_params p = {.n = 0};
  pg__p_int(&p, now);
  pg__p_int(&p, claim_until);
  pg__p_int(&p, limit);
  pl_err e;
  PGresult *r = store__pg_exec(s,
                               "UPDATE outbox SET next_at = $2 WHERE id IN (SELECT id FROM outbox"
                               " WHERE state = 'pending' AND next_at <= $1 ORDER BY next_at, id"
                               " LIMIT $3 FOR UPDATE SKIP LOCKED) RETURNING " ST_OUTBOX_COLS,
                               p.n, p.v, &e);
  if (e) {
    PQclear(r);
    return e;
  }
  *out = pg__rows(a, r, &st_outbox_row, n);
  PQclear(r);
  return PL_OK;
}

pl_err pg__outbox_update(store *s, const st_outbox *o) {
  pg_params p = {.n = 0};
  pg__p_int(&p, o->id);
  pg__p_text(&p, st_outbox_state_name(o->state));
  pg__p_int(&p, o->attempts);
  pg__p_int(&p, o->next_at);
  pg__p_int(&p, o->sent_at);
  pg__p_text(&p, o->last_error);
  pl_err e;
  PGresult *r = store__pg_exec(s,
                               ST_SQL_OUTBOX_UPDATE,
                               p.n, p.v, &e);
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

pl_err pg__agent_address_add(store *s, st_agent_address *v) {
  pg_params p_p = {.n = 0};
  pg__p_text(&p_p, v->seller_id);
  pg__p_int(&p_p, v->agent_id);
  pg__p_text(&p_p, v->email_sealed);
  pg__p_text(&p_p, v->email_hash);
  pg__p_int(&p_p, v->created_at);
  PGresult *r;
  /* The agent must be the seller's: the insert takes nothing when it is not. */
  pl_err e = one(s, "INSERT INTO agent_addresses(seller_id, agent_id, email_sealed, email_hash, created_at)"
                    " SELECT $1, id, $3, $4, $5 FROM agents WHERE id = $2 AND seller_id = $1 RETURNING id",
                 p_p.n, p_p.v, &r);
  if (e) return e;
  v->id = pg__num(r, 0, 0);
  PQclear(r);
  return PL_OK;
}

pl_err pg__agent_address_list(store *s, const char *seller_id, int64_t agent_id, pl_arena *a,
                              st_agent_address **out, size_t *n) {
  pg_params p_p = {.n = 0};
  pg__p_text(&p_p, seller_id);
  pg__p_int(&p_p, agent_id);
  pl_err e;
  PGresult *r = store__pg_exec(s,
                               "SELECT " ST_ADDR_COLS " FROM agent_addresses WHERE seller_id = $1"
                               " AND ($2::bigint = 0 OR agent_id = $2::bigint) ORDER BY id",
                               p_p.n, p_p.v, &e);
  if (e) {
    PQclear(r);
    return e;
  }
  *out = pg__rows(a, r, &st_agent_address_row, n);
  PQclear(r);
  return PL_OK;
}

pl_err pg__agent_address_delete(store *s, const char *seller_id, int64_t agent_id, int64_t id) {
  pg_params p_p = {.n = 0};
  pg__p_int(&p_p, id);
  pg__p_text(&p_p, seller_id);
  pg__p_int(&p_p, agent_id);
  PGresult *r;
  pl_err e = one(s, "DELETE FROM agent_addresses WHERE id = $1 AND seller_id = $2 AND agent_id = $3"
                    " RETURNING id", p_p.n, p_p.v, &r);
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
  pg__read_row(a, r, 0, 0, &st_agent_address_row, o);
  PQclear(r);
  return PL_OK;
}
