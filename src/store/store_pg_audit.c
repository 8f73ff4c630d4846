/* store_pg_audit.c - the audit log in PostgreSQL: one hash chain per seller, checkpoints.
 *
 * An append locks only its own chain's head row (FOR UPDATE) until commit: writers of
 * different sellers, on any node, never wait for each other. Lock order stays thread,
 * then audit head. */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_pg_int.h"

#define ZEROS "0000000000000000000000000000000000000000000000000000000000000000"

pl_err pg__audit_append(store *s, st_audit *e) {
  const char *chain = e->chain ? e->chain : "";
  const char *v1[1] = {chain};
  PGresult *r = NULL;
  pl_err x = PL_ENOTFOUND;
  for (int pass = 0; pass < 2 && x == PL_ENOTFOUND; pass++) {
    if (pass &&
        (x = pg__exec(s, ST_SQL_AUDIT_APPEND,
                  1, v1, NULL)))
      return x;
    if ((x = pg__exec(s, "SELECT seq, hash FROM audit_heads WHERE chain = $1 FOR UPDATE", 1, v1, &r))) return x;
    if (PQntuples(r) == 0) {
      PQclear(r);
      x = PL_ENOTFOUND;
    }
  }
  if (x == PL_ENOTFOUND) fprintf(stderr, "parley: postgres: audit chain \"%s\" has no head row\n", chain);
  if (x) return PL_ESTORE;
  int64_t seq = pg__num(r, 0, 0) + 1;
  char prev[65] = "";
  if (PQgetlength(r, 0, 1) == 64) memcpy(prev, PQgetvalue(r, 0, 1), 65);
  PQclear(r);
  if (!*prev) {
    fprintf(stderr, "parley: postgres: audit chain \"%s\" has a head without a hash\n", chain);
    return PL_ESTORE;
  }
  char hash[65];
  store__audit_hash(e, prev, hash);
  pg_params p = {.n = 0};
  pg__p_text(&p, e->seller_id);
  pg__p_int(&p, e->at);
  pg__p_text(&p, e->actor);
  pg__p_text(&p, e->action);
  pg__p_text(&p, e->subject);
  pg__p_text(&p, e->detail_json ? e->detail_json : "{}");
  pg__p_text(&p, prev);
  pg__p_text(&p, hash);
  pg__p_text(&p, chain);
  pg__p_int(&p, seq);
  if ((x = pg__exec(s, "WITH ins AS (INSERT INTO audit(seller_id, at, actor, action, subject, detail,"
                   " prev_hash, hash, chain, seq) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id)"
                   " UPDATE audit_heads h SET seq = $10, hash = $8 FROM ins WHERE h.chain = $9 RETURNING ins.id",
                p.n, p.v, &r)))
    return x;
  if (PQntuples(r) != 1) {
    PQclear(r);
    return PL_ESTORE;
  }
  e->id = pg__num(r, 0, 0);
  e->seq = seq;
  PQclear(r);
  return PL_OK;
}

