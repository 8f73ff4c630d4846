/* store_sqlite_audit.c - the audit log in SQLite: one hash chain per seller, checkpoints. */
#include <stdio.h>
#include <string.h>

#include "store/store_sqlite_int.h"

enum { S_HEAD_GET = SQ_SLOT_AUDIT, S_HEAD_START, S_HEAD_PUT, S_INSERT, S__END };
SQ_SLOTS_FIT(S__END, SQ_SLOT_SLA2);

pl_err sq__audit_append(store *s, st_audit *e) {
  sq_store *q = SQ(s);
  const char *chain = e->chain ? e->chain : "";
  sqlite3_stmt *st;
  pl_err r = PL_ENOTFOUND;
  for (int pass = 0; pass < 2 && r == PL_ENOTFOUND; pass++) {
    if (pass) {
      /* A chain's first entry follows the last entry of the legacy chain (or zeros). */
      st = sq__stmt(q, S_HEAD_START,
                    ST_SQL_AUDIT_APPEND);
      if (!st) return PL_ESTORE;
      sq__bind_text(st, 1, chain);
      if ((r = sq__run(q, st))) return r;
    }
    st = sq__stmt(q, S_HEAD_GET, "SELECT seq, hash FROM audit_heads WHERE chain = ?1");
    if (!st) return PL_ESTORE;
    sq__bind_text(st, 1, chain);
    r = sq__one(q, st);
  }
  if (r == PL_ENOTFOUND) fprintf(stderr, "parley: sqlite: audit chain \"%s\" has no head row\n", chain);
  if (r) return r == PL_ENOTFOUND ? PL_ESTORE : r;
  int64_t seq = sqlite3_column_int64(st, 0) + 1;
  char prev[65] = "";
  const char *h = (const char *)sqlite3_column_text(st, 1);
  if (h && strlen(h) == 64) memcpy(prev, h, 65);
  sqlite3_reset(st);
  if (!*prev) {
    fprintf(stderr, "parley: sqlite: audit chain \"%s\" has a head without a hash\n", chain);
    return PL_ESTORE;
  }
  char hash[65];
  store__audit_hash(e, prev, hash);
  st = sq__stmt(q, S_INSERT, "INSERT INTO audit(seller_id, at, actor, action, subject, detail,"
                             " prev_hash, hash, chain, seq) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)");
  if (!st) return PL_ESTORE;
  sq__bind_text(st, 1, e->seller_id);
  sqlite3_bind_int64(st, 2, e->at);
  sq__bind_text(st, 3, e->actor);
  sq__bind_text(st, 4, e->action);
  sq__bind_text(st, 5, e->subject);
  sq__bind_text(st, 6, e->detail_json ? e->detail_json : "{}");
  sq__bind_text(st, 7, prev);
  sq__bind_text(st, 8, hash);
  sq__bind_text(st, 9, chain);
  sqlite3_bind_int64(st, 10, seq);
  if ((r = sq__run(q, st))) return r;
  e->id = sqlite3_last_insert_rowid(sq__db(q));
  e->seq = seq;
  st = sq__stmt(q, S_HEAD_PUT, "UPDATE audit_heads SET seq = ?2, hash = ?3 WHERE chain = ?1");
  if (!st) return PL_ESTORE;
  sq__bind_text(st, 1, chain);
  sqlite3_bind_int64(st, 2, seq);
  sq__bind_text(st, 3, hash);
  return sq__run(q, st);
}

