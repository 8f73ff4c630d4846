/* store_keys.c - key rotation's walk over the sealed addresses, written once for both
 * backends over exec. */
#include "store/store_shared.h"
#include "store/store_sql.h"

/* Rows after the key `after` (NULL: from the first) whose sealed value does not start with
 * skip (NULL: every row), by key. */
#define SKIP_AFTER(type)                                                                              \
  " WHERE email_sealed IS NOT NULL AND (CAST(?1 AS TEXT) IS NULL"                                      \
  " OR substr(email_sealed, 1, length(CAST(?1 AS TEXT))) <> CAST(?1 AS TEXT))"                         \
  " AND (CAST(?2 AS " type ") IS NULL OR id > CAST(?2 AS " type ")) ORDER BY id LIMIT ?3"

/* By kind (ST_SEALED_SELLER ... ST_SEALED_INVITATION, in order): page, reseal,
 * count. A reseal changes a row only if it still holds the old value. */
static const st_stmt stmts[8][3] = {
    {{.sql = "SELECT id, email_sealed FROM sellers" SKIP_AFTER("TEXT")},
     {.sql = "UPDATE sellers SET email_sealed = ?3 WHERE id = ?1 AND email_sealed = ?2"},
     {.sql = ST_SQL_SEALED_COUNT_SELLER}},
    {{.sql = "SELECT id, email_sealed FROM buyers" SKIP_AFTER("TEXT")},
     {.sql = "UPDATE buyers SET email_sealed = ?3, email_hash = ?4 WHERE id = ?1 AND email_sealed = ?2"},
     {.sql = ST_SQL_SEALED_COUNT_BUYER}},
    {{.sql = "SELECT id, email_sealed FROM agent_addresses" SKIP_AFTER("BIGINT")},
     {.sql = "UPDATE agent_addresses SET email_sealed = ?3, email_hash = ?4 WHERE id = CAST(?1 AS BIGINT)"
             " AND email_sealed = ?2"},
     {.sql = ST_SQL_SEALED_COUNT_ADDRESS}},
    {{.sql = "SELECT id, secret_sealed FROM webhooks WHERE (CAST(?1 AS TEXT) IS NULL"
             " OR substr(secret_sealed, 1, length(CAST(?1 AS TEXT))) <> CAST(?1 AS TEXT))"
             " AND (CAST(?2 AS BIGINT) IS NULL OR id > CAST(?2 AS BIGINT)) ORDER BY id LIMIT ?3"},
     {.sql = "UPDATE webhooks SET secret_sealed = ?3 WHERE id = CAST(?1 AS BIGINT) AND secret_sealed = ?2"},
     {.sql = "SELECT count(*) FROM webhooks WHERE substr(secret_sealed, 1, length(?1)) = ?1"}},
    {{.sql = "SELECT id, email_sealed FROM seller_settings" SKIP_AFTER("TEXT")},
     {.sql = "UPDATE seller_settings SET email_sealed = ?3 WHERE id = ?1 AND email_sealed = ?2"},
     {.sql = "SELECT count(*) FROM seller_settings WHERE substr(email_sealed, 1, length(?1)) = ?1"}},
    {{.sql = "SELECT id, email_sealed FROM accounts" SKIP_AFTER("BIGINT")},
     {.sql = "UPDATE accounts SET email_sealed = ?3, email_hash = ?4 WHERE id = CAST(?1 AS BIGINT)"
             " AND email_sealed = ?2"},
     {.sql = "SELECT count(*) FROM accounts WHERE substr(email_sealed, 1, length(?1)) = ?1"}},
    {{.sql = "SELECT id, totp_sealed FROM accounts WHERE totp_sealed IS NOT NULL AND (CAST(?1 AS TEXT) IS NULL"
             " OR substr(totp_sealed, 1, length(CAST(?1 AS TEXT))) <> CAST(?1 AS TEXT))"
             " AND (CAST(?2 AS BIGINT) IS NULL OR id > CAST(?2 AS BIGINT)) ORDER BY id LIMIT ?3"},
     {.sql = "UPDATE accounts SET totp_sealed = ?3 WHERE id = CAST(?1 AS BIGINT) AND totp_sealed = ?2"},
     {.sql = "SELECT count(*) FROM accounts WHERE substr(totp_sealed, 1, length(?1)) = ?1"}},
    {{.sql = "SELECT id, email_sealed FROM invitations" SKIP_AFTER("BIGINT")},
     {.sql = "UPDATE invitations SET email_sealed = ?3, email_hash = ?4 WHERE id = CAST(?1 AS BIGINT)"
             " AND email_sealed = ?2"},
     {.sql = "SELECT count(*) FROM invitations WHERE substr(email_sealed, 1, length(?1)) = ?1"}}};
enum { PAGE, RESEAL, COUNT };

static const st_col sealed_cols[] = {{"key", ST_COL_TEXT, offsetof(st_sealed_row, key)},
                                     {"sealed", ST_COL_TEXT, offsetof(st_sealed_row, sealed)}};
static const st_row sealed_row = {sealed_cols, 2, sizeof(st_sealed_row)};

static int kind_index(st_sealed_kind kind) {
  return kind >= ST_SEALED_SELLER && kind <= ST_SEALED_INVITATION ? (int)kind - 1 : -1;
}

pl_err store_sealed_page(store *s, st_sealed_kind kind, const char *skip, const char *after, int limit,
                         pl_arena *a, st_sealed_row **out, size_t *n) {
  int k = kind_index(kind);
  if (k < 0 || limit < 1) return PL_EINVAL;
  return st__list(s, &stmts[k][PAGE], ST_ARGS(ST_ARG_T(skip), ST_ARG_T(after), ST_ARG_I(limit)), &sealed_row, a,
                  out, n);
}

pl_err store_sealed_reseal(store *s, st_sealed_kind kind, const char *key, const char *old, const char *sealed,
                           const char *hash, bool *changed) {
  int k = kind_index(kind);
  bool hashed = kind == ST_SEALED_BUYER || kind == ST_SEALED_AGENT_ADDRESS || kind == ST_SEALED_ACCOUNT ||
                kind == ST_SEALED_INVITATION;
  if (k < 0 || !sealed || (hashed && !hash)) return PL_EINVAL;
  size_t n = 0;
  pl_err e = !hashed
                 ? st__count(s, &stmts[k][RESEAL], ST_ARGS(ST_ARG_T(key), ST_ARG_T(old), ST_ARG_T(sealed)), &n)
                 : st__count(s, &stmts[k][RESEAL],
                             ST_ARGS(ST_ARG_T(key), ST_ARG_T(old), ST_ARG_T(sealed), ST_ARG_T(hash)), &n);
  if (!e) *changed = n > 0;
  return e;
}

pl_err store_sealed_count(store *s, st_sealed_kind kind, const char *prefix, int64_t *n) {
  int k = kind_index(kind);
  if (k < 0 || !prefix) return PL_EINVAL;
  st_i64 v;
  pl_err e = st__get(s, &stmts[k][COUNT], ST_ARGS(ST_ARG_T(prefix)), &st_i64_row, NULL, &v);
  if (!e) *n = v.v;
  return e;
}
