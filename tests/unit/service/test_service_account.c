/* test_service_account.c - accounts over a real SQLite store, on a clock the test moves
 * (docs/api.md, "Accounts"): the password rules; a reset link good once, for an hour, void
 * once a newer one is mailed, and one mail a minute; TOTP codes accepted one step either
 * side of now, each step once; sign-in attempts limited and given back with time; an
 * invitation's link good for 7 days; a typed address signs in once confirmed (48 hours). The test plays the mail worker to read the links. */
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <liboath/oath.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "service/svc.h"
#include "service/svc_mail.h"

typedef struct {
  svc *s;
  pl_time now;
  char dir[64];
  svc_caller owner;
  pl_arena *a;
} fx;

static pl_time fake_now(void *ctx) { return ((fx *)ctx)->now; }

#include "svc_fixture.h"

#define PW "correct horse battery"

static int setup(void **state) {
  fx *f = calloc(1, sizeof *f);
  f->now = 1791190800; /* 2026-10-05 09:00 UTC, the start of a TOTP step */
  f->s = svc_test_open(f->dir, "parley-svcaccount", (pl_clock){fake_now, f});
  f->a = pl_arena_new();
  pl_detail d = {0};
  svc_test_import(f->s, "{\"type\":\"marketplace\",\"id\":\"ATVPDKIKX0DER\",\"name\":\"Example US\","
                        "\"domains\":[\"example.com\"],\"locale\":\"en-US\"}");
  svc_test_import(f->s, "{\"type\":\"seller\",\"id\":\"S1\",\"marketplace\":\"ATVPDKIKX0DER\",\"name\":\"Acme Tools\","
                        "\"email\":\"s@acme.test\"}");
  int64_t owner;
  assert_int_equal(svc_agent_add(f->s, "S1", "Maya", "owner", &owner, &d), PL_OK);
  f->owner = (svc_caller){.kind = ST_PRINCIPAL_AGENT, .seller_id = "S1", .agent_id = owner, .agent_role = ST_ROLE_OWNER,
                          .marketplace_id = "ATVPDKIKX0DER", .name = "agent:1"};
  char subject[24];
  snprintf(subject, sizeof subject, "%lld", (long long)owner);
  assert_int_equal(svc_account_set(f->s, ST_PRINCIPAL_AGENT, subject, "Maya@Acme.test", PW, &d), PL_OK);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fx *f = *state;
  svc_test_close(f->s, f->dir);
  pl_arena_free(f->a);
  free(f);
  return 0;
}

/* The notices the mail worker would send now (each marked sent); how many. */
static size_t mails(fx *f, svc_outmail **out) {
  svc_outmail *ms;
  size_t n = svc_mail_claim(f->s, NULL, 64, f->a, &ms);
  svc_outmail *keep = pl_arena_alloc(f->a, (n ? n : 1) * sizeof *keep);
  for (size_t i = 0; i < n; i++) {
    keep[i] = ms[i];
    keep[i].rcpt = pl_arena_strdup(f->a, ms[i].rcpt); /* the report wipes the claimed one */
    svc_mail_report(f->s, NULL, &ms[i], SVC_MAIL_SENT, NULL);
  }
  *out = keep;
  return n;
}

/* The token after "token=" in a mail's text. */
static const char *token_in(fx *f, const svc_outmail *m) {
  const char *t = strstr(m->text, "token=");
  assert_non_null(t);
  t += 6;
  return pl_arena_strndup(f->a, t, strspn(t, "0123456789-abcdef"));
}

static pl_err sign_in(fx *f, const char *email, const char *pw, const char *code) {
  svc_signin_in in = {.email = email, .password = pw, .code = code, .client_addr = "192.0.2.1"};
  char *session = NULL;
  svc_caller c;
  pl_detail d = {0};
  pl_err e = svc_session_password(f->s, &in, f->a, &session, NULL, &c, &d);
  assert_true(e ? session == NULL : session != NULL);
  free(session);
  return e;
}

static void password_rules(void **state) {
  (void)state;
  pl_detail d = {0};
  char long_pw[300];
  memset(long_pw, 'x', sizeof long_pw);
  long_pw[SVC_PASSWORD_MAX] = '\0';
  assert_int_equal(svc_password_check(long_pw, NULL, &d), PL_OK);
  long_pw[SVC_PASSWORD_MAX] = 'x';
  long_pw[SVC_PASSWORD_MAX + 1] = '\0';
  assert_int_equal(svc_password_check(long_pw, NULL, &d), PL_EPASSLONG);
  assert_int_equal(svc_password_check("123456789", NULL, &d), PL_EWEAKPASS);
  assert_int_equal(svc_password_check("1234567890", NULL, &d), PL_OK);
  /* characters, not bytes: nine two-byte letters are too few, ten are enough */
  assert_int_equal(svc_password_check("äääääääää", NULL, &d), PL_EWEAKPASS);
  assert_int_equal(svc_password_check("ääääääääää", NULL, &d), PL_OK);
  assert_int_equal(svc_password_check("Maya@Acme.test", "maya@acme.test", &d), PL_EWEAKPASS);
  assert_int_equal(svc_password_check(NULL, NULL, &d), PL_EMISSING);
}

static void sign_in_and_attempts(void **state) {
  fx *f = *state;
  assert_int_equal(sign_in(f, "maya@acme.test", PW, NULL), PL_OK);
  assert_int_equal(sign_in(f, "MAYA@ACME.TEST", PW, NULL), PL_OK);
  for (int i = 2; i < SVC_SIGNIN_ATTEMPTS; i++) assert_int_equal(sign_in(f, "maya@acme.test", "wrong password", NULL), PL_ESIGNIN);
  assert_int_equal(sign_in(f, "maya@acme.test", PW, NULL), PL_EATTEMPTS);
  /* the bucket fills again with time: one attempt every 6 minutes */
  f->now += 3600 / SVC_SIGNIN_ATTEMPTS;
  assert_int_equal(sign_in(f, "maya@acme.test", PW, NULL), PL_OK);
  assert_int_equal(sign_in(f, "maya@acme.test", PW, NULL), PL_EATTEMPTS);
}

static void reset_link(void **state) {
  fx *f = *state;
  pl_detail d = {0};
  svc_outmail *ms;
  assert_int_equal(svc_password_reset_ask(f->s, "maya@acme.test", NULL, &d), PL_OK);
  assert_int_equal(svc_password_reset_ask(f->s, "nobody@acme.test", NULL, &d), PL_OK);
  assert_int_equal(mails(f, &ms), 1);
  assert_string_equal(ms[0].rcpt, "maya@acme.test");
  const char *first = token_in(f, &ms[0]);
  /* asked again within the minute: no second mail */
  f->now += 30;
  assert_int_equal(svc_password_reset_ask(f->s, "maya@acme.test", NULL, &d), PL_OK);
  assert_int_equal(mails(f, &ms), 0);
  /* a minute later: a new link, and the first is void */
  f->now += 31;
  assert_int_equal(svc_password_reset_ask(f->s, "maya@acme.test", NULL, &d), PL_OK);
  assert_int_equal(mails(f, &ms), 1);
  const char *second = token_in(f, &ms[0]);
  assert_string_not_equal(first, second);
  assert_int_equal(svc_password_reset_confirm(f->s, first, "a brand new password", &d), PL_EBADLINK);
  /* good once */
  assert_int_equal(svc_password_reset_confirm(f->s, second, "a brand new password", &d), PL_OK);
  assert_int_equal(svc_password_reset_confirm(f->s, second, "another new password", &d), PL_EBADLINK);
  assert_int_equal(sign_in(f, "maya@acme.test", "a brand new password", NULL), PL_OK);
  /* an hour and a second later, a link is worthless */
  f->now += 120;
  assert_int_equal(svc_password_reset_ask(f->s, "maya@acme.test", NULL, &d), PL_OK);
  assert_int_equal(mails(f, &ms), 1);
  const char *third = token_in(f, &ms[0]);
  f->now += SVC_RESET_SECONDS + 1;
  assert_int_equal(svc_password_reset_confirm(f->s, third, "yet another password", &d), PL_EBADLINK);
}

/* The code of the secret at time t, as an app makes it. */
static const char *code_at(fx *f, const char *b32, pl_time t) {
  char *secret = NULL;
  size_t len = 0;
  assert_int_equal(oath_base32_decode(b32, strlen(b32), &secret, &len), OATH_OK);
  char otp[8];
  assert_int_equal(oath_totp_generate(secret, len, (time_t)t, 30, 0, 6, otp), OATH_OK);
  free(secret);
  return pl_arena_strdup(f->a, otp);
}

static void totp_steps(void **state) {
  fx *f = *state;
  pl_detail d = {0};
  json_t *t = NULL;
  assert_int_equal(svc_totp_begin(f->s, &f->owner, f->a, &t, &d), PL_OK);
  const char *b32 = pl_arena_strdup(f->a, json_string_value(json_object_get(t, "secret")));
  json_decref(t);
  /* a code of two steps ago is out of the window */
  json_t *codes = NULL;
  assert_int_equal(svc_totp_confirm(f->s, &f->owner, code_at(f, b32, f->now - 60), f->a, &codes, &d), PL_ETOTPBAD);
  assert_null(codes);
  assert_int_equal(svc_totp_confirm(f->s, &f->owner, code_at(f, b32, f->now - 30), f->a, &codes, &d), PL_OK);
  assert_int_equal(json_array_size(codes), 10);
  json_decref(codes);
  assert_int_equal(sign_in(f, "maya@acme.test", PW, NULL), PL_ETOTPNEEDED);
  /* the step used to confirm, and any before it, cannot sign in */
  assert_int_equal(sign_in(f, "maya@acme.test", PW, code_at(f, b32, f->now - 30)), PL_ETOTPBAD);
  assert_int_equal(sign_in(f, "maya@acme.test", PW, code_at(f, b32, f->now)), PL_OK);
  assert_int_equal(sign_in(f, "maya@acme.test", PW, code_at(f, b32, f->now)), PL_ETOTPBAD);
  /* the next step (a clock a little ahead) is good, once */
  assert_int_equal(sign_in(f, "maya@acme.test", PW, code_at(f, b32, f->now + 30)), PL_OK);
  f->now += 60;
  assert_int_equal(svc_totp_disable(f->s, &f->owner, code_at(f, b32, f->now - 30), &d), PL_ETOTPBAD);
  assert_int_equal(svc_totp_disable(f->s, &f->owner, code_at(f, b32, f->now), &d), PL_OK);
  assert_int_equal(sign_in(f, "maya@acme.test", PW, NULL), PL_OK);
}

/* The recovery codes: ten when the second factor goes on, each good once at sign-in in
 * place of the app's code (typed in any case, with or without hyphens), counted against
 * the same attempts; a new set (for a code of the app) voids the old one; turning the
 * second factor off voids them all. */
static void recovery_codes(void **state) {
  fx *f = *state;
  pl_detail d = {0};
  json_t *t = NULL, *codes = NULL, *fresh = NULL;
  assert_int_equal(svc_recovery_codes_renew(f->s, &f->owner, "123456", f->a, &codes, &d), PL_ECONFLICT);
  assert_int_equal(svc_totp_begin(f->s, &f->owner, f->a, &t, &d), PL_OK);
  const char *b32 = pl_arena_strdup(f->a, json_string_value(json_object_get(t, "secret")));
  json_decref(t);
  assert_int_equal(svc_totp_confirm(f->s, &f->owner, code_at(f, b32, f->now), f->a, &codes, &d), PL_OK);
  assert_int_equal(json_array_size(codes), 10);
  const char *c[10];
  for (size_t i = 0; i < 10; i++) {
    c[i] = pl_arena_strdup(f->a, json_string_value(json_array_get(codes, i)));
    assert_int_equal(strlen(c[i]), 19); /* xxxx-xxxx-xxxx-xxxx */
    for (size_t j = 0; j < i; j++) assert_string_not_equal(c[i], c[j]);
  }
  json_decref(codes);
  json_t *acct = NULL;
  assert_int_equal(svc_account_get(f->s, &f->owner, f->a, &acct, &d), PL_OK);
  assert_int_equal(json_integer_value(json_object_get(json_object_get(acct, "account"), "recovery_codes_left")), 10);
  json_decref(acct);

  assert_int_equal(sign_in(f, "maya@acme.test", PW, c[0]), PL_OK);
  assert_int_equal(sign_in(f, "maya@acme.test", PW, c[0]), PL_ETOTPBAD); /* good once */
  /* as typed from paper: upper case, spaces for hyphens, O for 0 and L for 1 */
  char typed[20];
  snprintf(typed, sizeof typed, "%s", c[1]);
  for (char *p = typed; *p; p++) *p = *p == '-' ? ' ' : *p == '0' ? 'O' : *p == '1' ? 'L' : (char)toupper((unsigned char)*p);
  assert_int_equal(sign_in(f, "maya@acme.test", PW, typed), PL_OK);
  assert_int_equal(sign_in(f, "maya@acme.test", "not the password", c[2]), PL_ESIGNIN); /* the password first */
  assert_int_equal(sign_in(f, "maya@acme.test", PW, "zzzz-zzzz-zzzz-zzzz"), PL_ETOTPBAD);
  assert_int_equal(svc_account_get(f->s, &f->owner, f->a, &acct, &d), PL_OK);
  assert_int_equal(json_integer_value(json_object_get(json_object_get(acct, "account"), "recovery_codes_left")), 8);
  json_decref(acct);

  /* a new set needs the app's code, not a recovery code; the old set stops working */
  f->now += 60;
  assert_int_equal(svc_recovery_codes_renew(f->s, &f->owner, c[2], f->a, &fresh, &d), PL_ETOTPBAD);
  assert_int_equal(svc_recovery_codes_renew(f->s, &f->owner, code_at(f, b32, f->now), f->a, &fresh, &d), PL_OK);
  assert_int_equal(json_array_size(fresh), 10);
  assert_int_equal(sign_in(f, "maya@acme.test", PW, c[2]), PL_ETOTPBAD);
  const char *n0 = pl_arena_strdup(f->a, json_string_value(json_array_get(fresh, 0)));
  const char *n1 = pl_arena_strdup(f->a, json_string_value(json_array_get(fresh, 1)));
  json_decref(fresh);
  assert_int_equal(sign_in(f, "maya@acme.test", PW, n0), PL_OK);

  /* off: no recovery code signs in, nor after the second factor is on again (an hour
   * later: the ten code attempts of this hour are spent) */
  f->now += 3600;
  assert_int_equal(svc_totp_disable(f->s, &f->owner, code_at(f, b32, f->now), &d), PL_OK);
  assert_int_equal(svc_totp_begin(f->s, &f->owner, f->a, &t, &d), PL_OK);
  b32 = pl_arena_strdup(f->a, json_string_value(json_object_get(t, "secret")));
  json_decref(t);
  f->now += 60;
  assert_int_equal(svc_totp_confirm(f->s, &f->owner, code_at(f, b32, f->now), f->a, &codes, &d), PL_OK);
  json_decref(codes);
  assert_int_equal(sign_in(f, "maya@acme.test", PW, n1), PL_ETOTPBAD);
}

static void invitation_expires(void **state) {
  fx *f = *state;
  pl_detail d = {0};
  json_t *out = NULL;
  assert_int_equal(svc_invitation_create(f->s, &f->owner, "nina@acme.test", "agent", NULL, f->a, &out, &d), PL_OK);
  json_decref(out);
  assert_int_equal(svc_invitation_create(f->s, &f->owner, "otto@acme.test", "read_only", NULL, f->a, &out, &d), PL_OK);
  json_decref(out);
  svc_outmail *ms;
  assert_int_equal(mails(f, &ms), 2);
  const char *nina = token_in(f, strcmp(ms[0].rcpt, "nina@acme.test") ? &ms[1] : &ms[0]);
  const char *otto = token_in(f, strcmp(ms[0].rcpt, "otto@acme.test") ? &ms[1] : &ms[0]);
  char *session = NULL;
  svc_caller c;
  f->now += SVC_INVITE_SECONDS - 1;
  assert_int_equal(svc_invitation_accept(f->s, nina, "Nina", "nina's long password", NULL, f->a, &session, NULL, &c, &d),
                   PL_OK);
  free(session);
  assert_int_equal(c.agent_role, ST_ROLE_AGENT);
  assert_string_equal(c.seller_id, "S1");
  f->now += 2;
  assert_int_equal(svc_invitation_accept(f->s, otto, "Otto", "otto's long password", NULL, f->a, &session, NULL, &c, &d),
                   PL_EBADLINK);
  assert_null(session);
}

static void typed_address_confirmed(void **state) {
  fx *f = *state;
  pl_detail d = {0};
  svc_caller ops = {.kind = ST_PRINCIPAL_OPERATOR, .name = "operator:ops"};
  long revoked;
  bool mailed;
  assert_int_equal(svc_password_change(f->s, &ops, "ops@market.test", NULL, PW, &revoked, &mailed, &d), PL_OK);
  assert_true(mailed);
  svc_outmail *ms;
  assert_int_equal(mails(f, &ms), 1);
  const char *first = token_in(f, &ms[0]);
  assert_int_equal(sign_in(f, "ops@market.test", PW, NULL), PL_EUNVERIFIED);
  /* set again (another address): the first link is void */
  assert_int_equal(svc_password_change(f->s, &ops, "ops2@market.test", NULL, PW, &revoked, &mailed, &d), PL_OK);
  assert_int_equal(mails(f, &ms), 1);
  assert_string_equal(ms[0].rcpt, "ops2@market.test");
  const char *second = token_in(f, &ms[0]);
  assert_int_equal(svc_account_confirm(f->s, first, &d), PL_EBADLINK);
  /* 48 hours and a second later, the link is worthless too */
  f->now += SVC_CONFIRM_SECONDS + 1;
  assert_int_equal(svc_account_confirm(f->s, second, &d), PL_EBADLINK);
  assert_int_equal(svc_password_change(f->s, &ops, "ops2@market.test", NULL, PW, &revoked, &mailed, &d), PL_OK);
  assert_int_equal(mails(f, &ms), 1);
  assert_int_equal(svc_account_confirm(f->s, token_in(f, &ms[0]), &d), PL_OK);
  assert_int_equal(sign_in(f, "ops2@market.test", PW, NULL), PL_OK);
  /* confirmed, a change needs the current password */
  assert_int_equal(svc_password_change(f->s, &ops, NULL, NULL, "another password!", &revoked, &mailed, &d), PL_EMISSING);
  assert_int_equal(svc_password_change(f->s, &ops, NULL, "wrong one", "another password!", &revoked, &mailed, &d),
                   PL_EWRONGPASS);
  /* addresses typed to be confirmed: a few mails an hour per principal, no flood */
  svc_caller other = {.kind = ST_PRINCIPAL_OPERATOR, .name = "operator:eve"};
  for (int i = 0; i < SVC_CONFIRM_MAILS; i++) {
    char addr[64];
    snprintf(addr, sizeof addr, "victim%d@elsewhere.test", i);
    assert_int_equal(svc_password_change(f->s, &other, addr, NULL, PW, &revoked, &mailed, &d), PL_OK);
  }
  assert_int_equal(svc_password_change(f->s, &other, "victim@elsewhere.test", NULL, PW, &revoked, &mailed, &d),
                   PL_ERATELIMIT);
  assert_true(d.retry_after > 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(password_rules),
      cmocka_unit_test_setup_teardown(sign_in_and_attempts, setup, teardown),
      cmocka_unit_test_setup_teardown(reset_link, setup, teardown),
      cmocka_unit_test_setup_teardown(totp_steps, setup, teardown),
      cmocka_unit_test_setup_teardown(recovery_codes, setup, teardown),
      cmocka_unit_test_setup_teardown(invitation_expires, setup, teardown),
      cmocka_unit_test_setup_teardown(typed_address_confirmed, setup, teardown),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
