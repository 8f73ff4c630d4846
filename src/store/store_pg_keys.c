/* store_pg_keys.c - key rotation's walk over the sealed addresses, on PostgreSQL. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_pg_int.h"

#define SKIP_AFTER(type) \
  " WHERE email_sealed IS NOT NULL AND ($1::text IS NULL OR substr(email_sealed, 1, length($1::text)) <> $1::text)" \
  " AND ($2::" type " IS NULL OR id > $2::" type ") ORDER BY id LIMIT $3::int"

static const char *const page_sql[] = {
    "SELECT id, email_sealed FROM sellers" SKIP_AFTER("text"),
    "SELECT id, email_sealed FROM buyers" SKIP_AFTER("text"),
    "SELECT id, email_sealed FROM agent_addresses" SKIP_AFTER("bigint")};
static const char *const reseal_sql[] = {
    "UPDATE sellers SET email_sealed = $3 WHERE id = $1 AND email_sealed = $2 RETURNING id",
    "UPDATE buyers SET email_sealed = $3, email_hash = $4 WHERE id = $1 AND email_sealed = $2 RETURNING id",
    "UPDATE agent_addresses SET email_sealed = $3, email_hash = $4 WHERE id = $1::bigint AND email_sealed = $2"
    " RETURNING id"};
static const char *const count_sql[] = {
    ST_SQL_SEALED_COUNT_SELLER,
    ST_SQL_SEALED_COUNT_BUYER,
    ST_SQL_SEALED_COUNT_ADDRESS};

static int kind_index(st_sealed_kind kind) {
  return kind >= ST_SEALED_SELLER && kind <= ST_SEALED_AGENT_ADDRESS ? (int)kind - 1 : -1;
}

pl_err pg__sealed_page(store *s, st_sealed_kind kind, const char *skip, const char *after, int limit,
                       pl_arena *a, st_sealed_row **out, size_t *n) {
  int k = kind_index(kind);
  if (k < 0 || limit < 1) return PL_EINVAL;
  pg_params p = {.n = 0};
  pg__p_text(&p, skip);
  pg__p_text(&p, after);
  pg__p_int(&p, limit);
  pl_err e;
  PGresult *r = store__pg_exec(s, page_sql[k], p.n, p.v, &e);
  if (e) {
    PQclear(r);
    return e;
  }
  int rows = PQntuples(r);
  st_sealed_row *arr = pl_arena_alloc(a, (size_t)(rows > 0 ? rows : 1) * sizeof *arr);
  for (int i = 0; i < rows; i++) {
    arr[i].key = pg__text(a, r, i, 0);
    arr[i].sealed = pg__text(a, r, i, 1);
  }
  PQclear(r);
  *out = arr;
  *n = (size_t)rows;
  return PL_OK;
}

pl_err pg__sealed_reseal(store *s, st_sealed_kind kind, const char *key, const char *old, const char *sealed,
                         const char *hash, bool *changed) {
  int k = kind_index(kind);
  if (k < 0 || !sealed || (kind != ST_SEALED_SELLER && !hash)) return PL_EINVAL;
  const char *v[] = {key, old, sealed, hash};
  pl_err e;
  PGresult *r = store__pg_exec(s, reseal_sql[k], kind == ST_SEALED_SELLER ? 3 : 4, v, &e);
  if (!e) *changed = PQntuples(r) > 0;
  PQclear(r);
  return e;
}

pl_err pg__sealed_count(store *s, st_sealed_kind kind, const char *prefix, int64_t *n) {
  int k = kind_index(kind);
  if (k < 0 || !prefix) return PL_EINVAL;
  const char *v[] = {prefix};
  pl_err e;
  PGresult *r = store__pg_exec(s, count_sql[k], 1, v, &e);
  if (!e) *n = pg__num(r, 0, 0);
  PQclear(r);
  return e;
}
