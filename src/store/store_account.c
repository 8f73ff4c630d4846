/* store_account.c - accounts (an e-mail address and a password for a principal of the
 * tokens, an optional second factor) and invitations to them; written once for both
 * backends over exec (docs/api.md, "Accounts"). */
#include "store/store_shared.h"
#include "store/store_sql.h"

#define ACCOUNT_COLS                                                                              \
  "id, kind, subject, seller_id, email_hash, email_sealed, password_hash, password_at, totp_sealed," \
  " totp_on, totp_step, reset_at, created_at, verified_at"
#define INVITATION_COLS                                                                            \
  "id, kind, seller_id, role, email_hash, email_sealed, invited_by, created_at, expires_at, accepted_at," \
  " revoked_at"
/* An invitation's seller, or none (the operators'): NULL matches NULL. */
#define SAME_SELLER "coalesce(seller_id, '') = coalesce(CAST(?1 AS TEXT), '')"
#define PENDING "accepted_at = 0 AND revoked_at = 0 AND expires_at > ?2"

static const st_stmt
    account_add = {.sql = "INSERT INTO accounts(kind, subject, seller_id, email_hash, email_sealed, password_hash,"
                          " password_at, created_at, verified_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, ?8)"
                          " ON CONFLICT DO NOTHING RETURNING id"},
    account_verify = {.sql = "UPDATE accounts SET verified_at = ?2 WHERE id = ?1"},
    account_drop = {.sql = "DELETE FROM accounts WHERE id = ?1 AND verified_at = 0"},
    account_by_id = {.sql = "SELECT " ACCOUNT_COLS " FROM accounts WHERE id = ?1"},
    account_by_email = {.sql = "SELECT " ACCOUNT_COLS " FROM accounts WHERE email_hash = ?1"},
    account_by_subject = {.sql = "SELECT " ACCOUNT_COLS " FROM accounts WHERE kind = ?1 AND subject = ?2"},
    account_password = {.sql = "UPDATE accounts SET password_hash = ?2, password_at = ?3 WHERE id = ?1"},
    account_totp = {.sql = "UPDATE accounts SET totp_sealed = ?2, totp_on = ?3, totp_step = ?4 WHERE id = ?1"},
    account_totp_use = {.sql = "UPDATE accounts SET totp_step = ?2 WHERE id = ?1 AND totp_step < ?2"},
    account_reset = {.sql = "UPDATE accounts SET reset_at = ?2 WHERE id = ?1"},
    recovery_clear = {.sql = "DELETE FROM recovery_codes WHERE account_id = ?1"},
    recovery_add = {.sql = "INSERT INTO recovery_codes(account_id, hash) VALUES (?1, ?2)"},
    recovery_use = {.sql = "UPDATE recovery_codes SET used_at = ?3 WHERE account_id = ?1 AND hash = ?2 AND used_at = 0"},
    recovery_left = {.sql = "SELECT count(*) FROM recovery_codes WHERE account_id = ?1 AND used_at = 0"},
    principal_known = {.sql = "SELECT count(*) FROM (SELECT 1 FROM tokens WHERE kind = ?1 AND subject = ?2 LIMIT 1) x"},
    invitation_add = {.sql = "INSERT INTO invitations(kind, seller_id, role, email_hash, email_sealed, invited_by,"
                             " created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) RETURNING id"},
    invitation_get = {.sql = "SELECT " INVITATION_COLS " FROM invitations WHERE id = ?1"},
    invitation_list = {.sql = "SELECT " INVITATION_COLS " FROM invitations WHERE " SAME_SELLER
                              " AND (CAST(?3 AS INTEGER) = 0 OR (" PENDING ")) ORDER BY id DESC LIMIT ?4"},
    invitation_count = {.sql = "SELECT count(*) FROM invitations WHERE " SAME_SELLER " AND " PENDING},
    invitation_accept = {.sql = "UPDATE invitations SET accepted_at = ?2 WHERE id = ?1 AND accepted_at = 0"
                                " AND revoked_at = 0 AND expires_at > ?2"},
    invitation_revoke = {.sql = "UPDATE invitations SET revoked_at = ?2 WHERE id = ?1 AND accepted_at = 0"
                                " AND revoked_at = 0 AND expires_at > ?2"};

pl_err store_account_add(store *s, st_account *v) {
  st_i64 id;
  pl_err e = st__get(s, &account_add,
                     ST_ARGS(ST_ARG_T(st_principal_kind_name(v->kind)), ST_ARG_T(v->subject), ST_ARG_T(v->seller_id),
                             ST_ARG_T(v->email_hash), ST_ARG_T(v->email_sealed), ST_ARG_T(v->password_hash),
                             ST_ARG_I(v->password_at), ST_ARG_I(v->verified_at)),
                     &st_i64_row, NULL, &id);
  if (e == PL_ENOTFOUND) return PL_EEXIST;
  if (e) return e;
  v->id = id.v;
  v->created_at = v->password_at;
  return PL_OK;
}

pl_err store_account_get(store *s, int64_t id, const char *email_hash, st_principal_kind kind, const char *subject,
                         pl_arena *a, st_account *out) {
  if (id) return st__get(s, &account_by_id, ST_ARGS(ST_ARG_I(id)), &st_account_row, a, out);
  if (email_hash) return st__get(s, &account_by_email, ST_ARGS(ST_ARG_T(email_hash)), &st_account_row, a, out);
  if (!subject) return PL_EINVAL;
  return st__get(s, &account_by_subject, ST_ARGS(ST_ARG_T(st_principal_kind_name(kind)), ST_ARG_T(subject)),
                 &st_account_row, a, out);
}

pl_err store_account_password_set(store *s, int64_t id, const char *password_hash, pl_time at) {
  return st__change(s, &account_password, ST_ARGS(ST_ARG_I(id), ST_ARG_T(password_hash), ST_ARG_I(at)));
}

pl_err store_account_totp_set(store *s, int64_t id, const char *totp_sealed, bool on, int64_t step) {
  return st__change(s, &account_totp, ST_ARGS(ST_ARG_I(id), ST_ARG_T(totp_sealed), ST_ARG_B(on), ST_ARG_I(step)));
}

pl_err store_account_totp_use(store *s, int64_t id, int64_t step) {
  size_t n = 0;
  pl_err e = st__count(s, &account_totp_use, ST_ARGS(ST_ARG_I(id), ST_ARG_I(step)), &n);
  if (!e && !n) return PL_EEXIST;
  return e;
}

pl_err store_recovery_codes_put(store *s, int64_t account_id, const char *const *hashes, size_t n) {
  pl_err e = st__run(s, &recovery_clear, ST_ARGS(ST_ARG_I(account_id)));
  for (size_t i = 0; !e && i < n; i++) e = st__run(s, &recovery_add, ST_ARGS(ST_ARG_I(account_id), ST_ARG_T(hashes[i])));
  return e;
}

pl_err store_recovery_code_use(store *s, int64_t account_id, const char *hash, pl_time at) {
  return st__change(s, &recovery_use, ST_ARGS(ST_ARG_I(account_id), ST_ARG_T(hash), ST_ARG_I(at)));
}

pl_err store_recovery_codes_left(store *s, int64_t account_id, int64_t *n) {
  st_i64 v = {0};
  pl_err e = st__get(s, &recovery_left, ST_ARGS(ST_ARG_I(account_id)), &st_i64_row, NULL, &v);
  *n = v.v;
  return e;
}

pl_err store_account_reset_at(store *s, int64_t id, pl_time at) {
  return st__change(s, &account_reset, ST_ARGS(ST_ARG_I(id), ST_ARG_I(at)));
}

pl_err store_account_verify(store *s, int64_t id, pl_time at) {
  return st__change(s, &account_verify, ST_ARGS(ST_ARG_I(id), ST_ARG_I(at)));
}

pl_err store_account_drop_unverified(store *s, int64_t id) {
  return st__change(s, &account_drop, ST_ARGS(ST_ARG_I(id)));
}

pl_err store_principal_known(store *s, st_principal_kind kind, const char *subject, bool *known) {
  st_i64 v = {0};
  pl_err e = st__get(s, &principal_known, ST_ARGS(ST_ARG_T(st_principal_kind_name(kind)), ST_ARG_T(subject)),
                     &st_i64_row, NULL, &v);
  *known = !e && v.v > 0;
  return e;
}

pl_err store_invitation_add(store *s, st_invitation *v) {
  st_i64 id;
  pl_err e = st__get(s, &invitation_add,
                     ST_ARGS(ST_ARG_T(st_principal_kind_name(v->kind)), ST_ARG_T(v->seller_id), ST_ARG_T(v->role),
                             ST_ARG_T(v->email_hash), ST_ARG_T(v->email_sealed), ST_ARG_T(v->invited_by),
                             ST_ARG_I(v->created_at), ST_ARG_I(v->expires_at)),
                     &st_i64_row, NULL, &id);
  if (!e) v->id = id.v;
  return e;
}

pl_err store_invitation_get(store *s, int64_t id, pl_arena *a, st_invitation *out) {
  return st__get(s, &invitation_get, ST_ARGS(ST_ARG_I(id)), &st_invitation_row, a, out);
}

pl_err store_invitation_list(store *s, const char *seller_id, bool pending_only, pl_time now, int limit, pl_arena *a,
                             st_invitation **out, size_t *n) {
  return st__list(s, &invitation_list,
                  ST_ARGS(ST_ARG_T(seller_id), ST_ARG_I(now), ST_ARG_I(pending_only), ST_ARG_I(limit)),
                  &st_invitation_row, a, out, n);
}

pl_err store_invitation_count(store *s, const char *seller_id, pl_time now, int64_t *n) {
  st_i64 v;
  pl_err e = st__get(s, &invitation_count, ST_ARGS(ST_ARG_T(seller_id), ST_ARG_I(now)), &st_i64_row, NULL, &v);
  if (!e) *n = v.v;
  return e;
}

pl_err store_invitation_end(store *s, int64_t id, bool accept, pl_time at) {
  return st__change(s, accept ? &invitation_accept : &invitation_revoke, ST_ARGS(ST_ARG_I(id), ST_ARG_I(at)));
}
