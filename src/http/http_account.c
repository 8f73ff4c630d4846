/* http_account.c - handlers of accounts (docs/api.md, "Accounts"): password sign-in, the
 * caller's password, second factor and sessions, password reset by a mailed link. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http/http_int.h"

static void fail(http_req *r, pl_err e, const pl_detail *d) { http__fail(r, e, d); }

bool http__json_sent(http_req *r) {
  const char *ct = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Content-Type");
  size_t n = strlen("application/json");
  if (ct && !strncasecmp(ct, "application/json", n) && (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ')) return true;
  http__error(r, PL_EUNSUPPORTED, "send the body as application/json");
  return false;
}

static const char *user_agent(http_req *r) {
  return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "User-Agent");
}

void http__session_password(http_req *r, json_t *b) {
  svc_signin_in in = {.user_agent = user_agent(r)};
  char addr[64];
  if (!http__json_sent(r)) return;
  if (!http__field_str(r, b, "email", &in.email) || !http__field_str(r, b, "password", &in.password) ||
      !http__field_str(r, b, "code", &in.code))
    return;
  in.client_addr = http__client_addr(r->h, r, addr, sizeof addr);
  char *session = NULL;
  pl_time ends = 0;
  svc_caller c;
  pl_detail d = {0};
  pl_err e = svc_session_password(r->s, &in, r->a, &session, &ends, &c, &d);
  if (e) return fail(r, e, &d);
  http__session_started(r, session, ends, &c);
}

/* GET /v1/me/account */
void http__account_get(http_req *r, char **arg) {
  json_t *j = NULL;
  pl_detail d = {0};
  pl_err e = svc_account_get(r->s, &r->caller, r->a, &j, &d);
  http__answer(r, e, &d, 200, j);
}

/* PUT /v1/me/password {"password","current_password"?,"email"?} */
void http__password_put(http_req *r, char **arg) {
  json_t *b = http__body_object(r);
  const char *pw, *cur, *email;
  if (!b || !http__field_str(r, b, "password", &pw) || !http__field_str(r, b, "current_password", &cur) ||
      !http__field_str(r, b, "email", &email))
    return;
  long revoked = 0;
  bool mailed = false;
  pl_detail d = {0};
  pl_err e = svc_password_change(r->s, &r->caller, email, cur, pw, &revoked, &mailed, &d);
  http__answer(r, e, &d, mailed ? 202 : 200,
               json_pack("{s:b,s:I,s:b}", "password_set", 1, "sessions_revoked", (json_int_t)revoked, "confirm_mailed",
                         mailed));
}

/* POST /v1/password-reset {"email"}: 202 whatever the address. */
void http__password_reset(http_req *r, char **arg) {
  json_t *b = http__body_object(r);
  const char *email;
  if (!b || !http__json_sent(r) || !http__field_str(r, b, "email", &email)) return;
  char addr[64];
  pl_detail d = {0};
  pl_err e = svc_password_reset_ask(r->s, email, http__client_addr(r->h, r, addr, sizeof addr), &d);
  http__answer(r, e, &d, 202,
               json_pack("{s:b,s:s}", "accepted", 1, "message",
                         "if the address has an account, a link to reset its password is on its way"));
}

/* POST /v1/password-reset/confirm {"token","password"} */
void http__password_reset_confirm(http_req *r, char **arg) {
  json_t *b = http__body_object(r);
  const char *tok, *pw;
  if (!b || !http__json_sent(r) || !http__field_str(r, b, "token", &tok) || !http__field_str(r, b, "password", &pw))
    return;
  pl_detail d = {0};
  pl_err e = svc_password_reset_confirm(r->s, tok, pw, &d);
  http__answer(r, e, &d, 200, json_pack("{s:b}", "password_set", 1));
}

/* POST /v1/me/totp: a new secret to enrol. */
void http__totp_begin(http_req *r, char **arg) {
  json_t *j = NULL;
  pl_detail d = {0};
  pl_err e = svc_totp_begin(r->s, &r->caller, r->a, &j, &d);
  http__answer(r, e, &d, 201, j);
}

/* The request's {"code"}, or NULL when the body is not right (answered). */
static bool code_field(http_req *r, const char **code) {
  json_t *b = http__body_or_empty(r);
  return b && http__field_str(r, b, "code", code);
}

/* POST /v1/me/totp/confirm {"code"}: on, with a new set of recovery codes, shown once. */
void http__totp_confirm(http_req *r, char **arg) {
  const char *code;
  if (!code_field(r, &code)) return;
  pl_detail d = {0};
  json_t *codes = NULL;
  pl_err e = svc_totp_confirm(r->s, &r->caller, code, r->a, &codes, &d);
  http__answer(r, e, &d, 200, e ? NULL : json_pack("{s:b,s:o}", "totp", 1, "recovery_codes", codes));
}

/* DELETE /v1/me/totp {"code"} */
void http__totp_delete(http_req *r, char **arg) {
  const char *code;
  if (!code_field(r, &code)) return;
  pl_detail d = {0};
  pl_err e = svc_totp_disable(r->s, &r->caller, code, &d);
  http__answer(r, e, &d, 200, json_pack("{s:b}", "totp", 0));
}

/* POST /v1/me/totp/recovery-codes {"code"}: a new set for a current code of the app. */
void http__recovery_codes_renew(http_req *r, char **arg) {
  const char *code;
  if (!code_field(r, &code)) return;
  pl_detail d = {0};
  json_t *codes = NULL;
  pl_err e = svc_recovery_codes_renew(r->s, &r->caller, code, r->a, &codes, &d);
  http__answer(r, e, &d, 200, e ? NULL : json_pack("{s:o}", "recovery_codes", codes));
}

/* GET /v1/me/sessions */
void http__sessions_list(http_req *r, char **arg) {
  json_t *j = NULL;
  pl_detail d = {0};
  pl_err e = svc_sessions_list(r->s, &r->caller, r->a, &j, &d);
  http__answer(r, e, &d, 200, j);
}

/* DELETE /v1/me/sessions/{id}: the caller's own session (the current one signs out). */
void http__session_revoke(http_req *r, char **arg) {
  char *end;
  long long id = strtoll(arg[0], &end, 10);
  pl_detail d = {0};
  if (*end || id <= 0) return http__error(r, PL_ENOTFOUND, "no such session");
  pl_err e = svc_session_revoke_mine(r->s, &r->caller, id, &d);
  if (!e && r->caller.scope == ST_SCOPE_SESSION && r->caller.token_id == id) http__session_cookies_clear(r);
  http__answer(r, e, &d, 200, json_pack("{s:I,s:b}", "id", (json_int_t)id, "revoked", 1));
}

/* POST /v1/me/sessions/revoke-all {"keep_current"?}: signs out everywhere. */
void http__sessions_revoke_all(http_req *r, char **arg) {
  json_t *b = http__body_or_empty(r);
  bool keep = false;
  if (!b || !http__field_bool(r, b, "keep_current", &keep)) return;
  long n = 0;
  pl_detail d = {0};
  pl_err e = svc_sessions_revoke_all(r->s, &r->caller, keep, &n, &d);
  if (!e && !keep && r->caller.scope == ST_SCOPE_SESSION) http__session_cookies_clear(r);
  http__answer(r, e, &d, 200, json_pack("{s:I}", "revoked", (json_int_t)n));
}

/* GET /v1/invitations?seller_id= */
void http__invitations_list(http_req *r, char **arg) {
  json_t *j = NULL;
  pl_detail d = {0};
  pl_err e = svc_invitation_list(r->s, &r->caller, http__query(r, "seller_id"), r->a, &j, &d);
  http__answer(r, e, &d, 200, j);
}

/* POST /v1/invitations {"email","role","seller_id"?} */
void http__invitation_create(http_req *r, char **arg) {
  json_t *b = http__body_object(r);
  const char *email, *role, *seller;
  if (!b || !http__field_str(r, b, "email", &email) || !http__field_str(r, b, "role", &role) ||
      !http__field_str(r, b, "seller_id", &seller))
    return;
  json_t *j = NULL;
  pl_detail d = {0};
  pl_err e = svc_invitation_create(r->s, &r->caller, email, role, seller, r->a, &j, &d);
  http__answer(r, e, &d, 201, j);
}

/* DELETE /v1/invitations/{id} */
void http__invitation_revoke(http_req *r, char **arg) {
  char *end;
  long long id = strtoll(arg[0], &end, 10);
  if (*end || id <= 0) return http__error(r, PL_ENOTFOUND, "no such invitation");
  pl_detail d = {0};
  pl_err e = svc_invitation_revoke(r->s, &r->caller, id, &d);
  http__answer(r, e, &d, 200, json_pack("{s:I,s:b}", "id", (json_int_t)id, "revoked", 1));
}

/* POST /v1/invitations/accept {"token","name","password"}: anyone with the link; signs in. */
void http__invitation_accept(http_req *r, char **arg) {
  json_t *b = http__body_object(r);
  const char *tok, *name, *pw;
  if (!b || !http__json_sent(r) || !http__field_str(r, b, "token", &tok) || !http__field_str(r, b, "name", &name) ||
      !http__field_str(r, b, "password", &pw))
    return;
  char *session = NULL;
  pl_time ends = 0;
  svc_caller c;
  pl_detail d = {0};
  pl_err e = svc_invitation_accept(r->s, tok, name, pw, user_agent(r), r->a, &session, &ends, &c, &d);
  if (e) return fail(r, e, &d);
  http__session_started(r, session, ends, &c);
}

/* POST /v1/account/confirm {"token"}: the address of a new account is the person's. */
void http__account_confirm(http_req *r, char **arg) {
  json_t *b = http__body_object(r);
  const char *tok;
  if (!b || !http__json_sent(r) || !http__field_str(r, b, "token", &tok)) return;
  pl_detail d = {0};
  pl_err e = svc_account_confirm(r->s, tok, &d);
  http__answer(r, e, &d, 200, json_pack("{s:b}", "confirmed", 1));
}
