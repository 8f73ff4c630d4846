/* store_sqlite_mail.c - the e-mail outbox and the look-ups of inbound mail in SQLite. */
#include <string.h>

#include "store/store_sqlite_int.h"

enum {
  S_OUTBOX_ADD = SQ_SLOT_MAIL, S_OUTBOX_CLAIM, S_OUTBOX_UPDATE, S_ALIAS_FIND, S_ADDR_ADD, S_ADDR_LIST, S_ADDR_DELETE, S_ADDR_FIND, S_OPS_FIGURES, S__END
};
SQ_SLOTS_FIT(S__END, SQ_SLOT_TEAM);

pl_err sq__outbox_add(store *s, st_outbox *o) {
  sq_store *q = SQ(s);
  sqlite3_stmt *st = sq__stmt(q, S_OUTBOX_ADD,
                              "INSERT INTO outbox(seller_id, message_id, kind, state, attempts, next_at,"
                              " created_at) VALUES (?1, ?2, ?3, 'pending', 0, ?4, ?5)");
  if (!st) return PL_ESTORE;
  sq__bind_text(st, 1, o->seller_id);
  sqlite3_bind_int64(st, 2, o->message_id);
  sq__bind_text(st, 3, st_outbox_kind_name(o->kind));
  sqlite3_bind_int64(st, 4, o->next_at);
  sqlite3_bind_int64(st, 5, o->created_at);
  pl_err e = sq__run(q, st);
  if (!e) o->id = sqlite3_last_insert_rowid(sq__db(q));
  return e;
}

/* One writer at a time holds the database, so a plain UPDATE ... RETURNING claims rows
 * that no other worker can be claiming. */
pl_err sq__outbox_claim(store *s, pl_time now, pl_time claim_until, int limit, pl_arena *a,
                        st_outbox **out, size_t *n) {
  sq_store *q = SQ(s);
  sqlite3_stmt *st = sq__stmt(q, S_OUTBOX_CLAIM,
                              "UPDATE outbox SET next_at = ?2 WHERE id IN (SELECT id FROM outbox"
                              " WHERE state = 'pending' AND next_at <= ?1 ORDER BY next_at, id"
                              " LIMIT ?3) RETURNING " ST_OUTBOX_COLS);
  if (!st) return PL_ESTORE;
  sqlite3_bind_int64(st, 1, now);
  sqlite3_bind_int64(st, 2, claim_until);
  sqlite3_bind_int(st, 3, limit);
  st_outbox *arr = pl_arena_alloc(a, (size_t)(limit > 0 ? limit : 1) * sizeof *arr);
  size_t k = 0;
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    if (k >= (size_t)limit) continue;
    st_outbox *o = &arr[k++];
    sq__read_row(a, st, 0, &st_outbox_row, o);
  }
  sqlite3_reset(st);
  if (rc != SQLITE_DONE) return sq__step_error(st, rc);
  *out = arr;
  *n = k;
  return PL_OK;
}

pl_err sq__outbox_update(store *s, const st_outbox *o) {
  sq_store *q = SQ(s);
  sqlite3_stmt *st = sq__stmt(q, S_OUTBOX_UPDATE,
                              ST_SQL_OUTBOX_UPDATE);
  if (!st) return PL_ESTORE;
  sqlite3_bind_int64(st, 1, o->id);
  sq__bind_text(st, 2, st_outbox_state_name(o->state));
  sqlite3_bind_int64(st, 3, o->attempts);
  sqlite3_bind_int64(st, 4, o->next_at);
  sqlite3_bind_int64(st, 5, o->sent_at);
  sq__bind_text(st, 6, o->last_error);
  return sq__run(q, st);
}

/* One statement, both figures; each half reads a partial index (outbox_due,
 * message_state_held_at), so its cost is the pending mail and the held messages. */
pl_err sq__ops_figures(store *s, st_ops_figures *out) {
  sq_store *q = SQ(s);
  memset(out, 0, sizeof *out);
  sqlite3_stmt *st = sq__stmt(q, S_OPS_FIGURES,
                              ST_SQL_OPS_FIGURES);
  if (!st) return PL_ESTORE;
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    int64_t n = sqlite3_column_int64(st, 2);
    pl_time oldest = sqlite3_column_int64(st, 3);
    if (!strcmp(sq__col_cstr(st, 0), "held")) {
      out->held = n;
      out->held_oldest = oldest;
      continue;
    }
    st_outbox_kind k;
    (void)st_outbox_kind_from_name(sq__col_cstr(st, 1), &k); /* unknown: 0 */
    out->outbox_pending[k] += n;
    if (oldest && (!out->outbox_oldest[k] || oldest < out->outbox_oldest[k])) out->outbox_oldest[k] = oldest;
  }
  sqlite3_reset(st);
  return rc == SQLITE_DONE ? PL_OK : sq__step_error(st, rc);
}

pl_err sq__alias_find(store *s, const char *alias, pl_arena *a, char **mp, char **buyer,
                      char **seller) {
  sq_store *q = SQ(s);
  sqlite3_stmt *st = sq__stmt(q, S_ALIAS_FIND,
                              ST_SQL_ALIAS_FIND);
  if (!st) return PL_ESTORE;
  sq__bind_text(st, 1, alias);
  pl_err e = sq__one(q, st);
  if (e) return e;
  *mp = sq__col_text(a, st, 0);
  *buyer = sq__col_text(a, st, 1);
  *seller = sq__col_text(a, st, 2);
  sqlite3_reset(st);
  return PL_OK;
}

pl_err sq__agent_address_add(store *s, st_agent_address *v) {
  sq_store *q = SQ(s);
  /* The agent must be the seller's: the insert takes nothing when it is not. */
  sqlite3_stmt *st = sq__stmt(q, S_ADDR_ADD,
                              "INSERT INTO agent_addresses(seller_id, agent_id, email_sealed, email_hash,"
                              " created_at) SELECT ?1, id, ?3, ?4, ?5 FROM agents WHERE id = ?2"
                              " AND seller_id = ?1");
  if (!st) return PL_ESTORE;
  sq__bind_text(st, 1, v->seller_id);
  sqlite3_bind_int64(st, 2, v->agent_id);
  sq__bind_text(st, 3, v->email_sealed);
  sq__bind_text(st, 4, v->email_hash);
  sqlite3_bind_int64(st, 5, v->created_at);
  pl_err e = sq__run(q, st);
  if (e) return e;
  if (sqlite3_changes(sq__db(q)) == 0) return PL_ENOTFOUND;
  v->id = sqlite3_last_insert_rowid(sq__db(q));
  return PL_OK;
}

pl_err sq__agent_address_list(store *s, const char *seller_id, int64_t agent_id, pl_arena *a,
                              st_agent_address **out, size_t *n) {
  sq_store *q = SQ(s);
  sqlite3_stmt *st = sq__stmt(q, S_ADDR_LIST,
                              "SELECT " ST_ADDR_COLS " FROM agent_addresses WHERE seller_id = ?1"
                              " AND (?2 = 0 OR agent_id = ?2) ORDER BY id");
  if (!st) return PL_ESTORE;
  sq__bind_text(st, 1, seller_id);
  sqlite3_bind_int64(st, 2, agent_id);
  size_t cap = 8, k = 0;
  st_agent_address *arr = pl_arena_alloc(a, cap * sizeof *arr);
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    if (k == cap) {
      st_agent_address *bigger = pl_arena_alloc(a, 2 * cap * sizeof *arr);
      memcpy(bigger, arr, cap * sizeof *arr);
      arr = bigger;
      cap *= 2;
    }
    sq__read_row(a, st, 0, &st_agent_address_row, &arr[k++]);
  }
  sqlite3_reset(st);
  if (rc != SQLITE_DONE) return sq__step_error(st, rc);
  *out = arr;
  *n = k;
  return PL_OK;
}

pl_err sq__agent_address_delete(store *s, const char *seller_id, int64_t agent_id, int64_t id) {
  sq_store *q = SQ(s);
  sqlite3_stmt *st = sq__stmt(q, S_ADDR_DELETE,
                              "DELETE FROM agent_addresses WHERE id = ?1 AND seller_id = ?2 AND agent_id = ?3");
  if (!st) return PL_ESTORE;
  sqlite3_bind_int64(st, 1, id);
  sq__bind_text(st, 2, seller_id);
  sqlite3_bind_int64(st, 3, agent_id);
  pl_err e = sq__run(q, st);
  if (!e && sqlite3_changes(sq__db(q)) == 0) e = PL_ENOTFOUND;
  return e;
}

pl_err sq__agent_address_find(store *s, const char *seller_id, const char *hash, pl_arena *a,
                              st_agent_address *o) {
  sq_store *q = SQ(s);
  sqlite3_stmt *st = sq__stmt(q, S_ADDR_FIND,
                              ST_SQL_AGENT_ADDRESS_FIND);
  if (!st) return PL_ESTORE;
  sq__bind_text(st, 1, seller_id);
  sq__bind_text(st, 2, hash);
  return sq__get(q, st, a, &st_agent_address_row, o);
}
