/* test_store_account.c - accounts, sessions and invitations on every backend (docs/api.md,
 * "Accounts"): an account found by id, address hash or principal, one per address and per
 * principal; its password, second factor (a time step is used once) and reset time; a
 * principal's sessions listed and ended; invitations pending until accepted, revoked or
 * expired, each good once; and the walk of key rotation over the new sealed columns. */
#define STORE_PART 0 /* no entry of store_ops: all of it is written once over exec */
#include "store_fixture.h"

static void test_accounts(void **state) {
  fx *f = *state;
  world(f);
  W(f);
  st_account a1 = {.kind = ST_PRINCIPAL_AGENT, .subject = "7", .seller_id = "S1", .email_hash = "h1",
                   .email_sealed = "v2:1:sealed1", .password_hash = "$argon2id$one", .password_at = T0,
                   .verified_at = T0};
  OK(store_account_add(f->s, &a1));
  assert_true(a1.id > 0);
  st_account dup_mail = {.kind = ST_PRINCIPAL_BUYER, .subject = "B1", .email_hash = "h1", .email_sealed = "x",
                         .password_hash = "p", .password_at = T0};
  assert_int_equal(store_account_add(f->s, &dup_mail), PL_EEXIST);
  st_account dup_subject = {.kind = ST_PRINCIPAL_AGENT, .subject = "7", .email_hash = "h2", .email_sealed = "x",
                            .password_hash = "p", .password_at = T0};
  assert_int_equal(store_account_add(f->s, &dup_subject), PL_EEXIST);
  st_account a2 = {.kind = ST_PRINCIPAL_OPERATOR, .subject = "ops", .email_hash = "h3",
                   .email_sealed = "v2:1:sealed3", .password_hash = "$argon2id$two", .password_at = T0 + 1};
  OK(store_account_add(f->s, &a2));
  C(f);

  R(f);
  st_account g;
  OK(store_account_get(f->s, a1.id, NULL, 0, NULL, f->a, &g));
  assert_int_equal(g.kind, ST_PRINCIPAL_AGENT);
  assert_string_equal(g.subject, "7");
  assert_string_equal(g.seller_id, "S1");
  assert_string_equal(g.email_sealed, "v2:1:sealed1");
  assert_string_equal(g.password_hash, "$argon2id$one");
  assert_int_equal(g.password_at, T0);
  assert_int_equal(g.created_at, T0);
  assert_null(g.totp_sealed);
  assert_false(g.totp_on);
  assert_int_equal(g.verified_at, T0);
  OK(store_account_get(f->s, 0, "h3", 0, NULL, f->a, &g));
  assert_int_equal(g.id, a2.id);
  assert_null(g.seller_id);
  OK(store_account_get(f->s, 0, NULL, ST_PRINCIPAL_OPERATOR, "ops", f->a, &g));
  assert_int_equal(g.id, a2.id);
  assert_int_equal(store_account_get(f->s, 0, NULL, ST_PRINCIPAL_BUYER, "ops", f->a, &g), PL_ENOTFOUND);
  assert_int_equal(store_account_get(f->s, 0, "nope", 0, NULL, f->a, &g), PL_ENOTFOUND);
  assert_int_equal(store_account_get(f->s, 0, NULL, 0, NULL, f->a, &g), PL_EINVAL);
  RB(f);

  W(f);
  OK(store_account_password_set(f->s, a1.id, "$argon2id$new", T0 + 50));
  OK(store_account_totp_set(f->s, a1.id, "v2:1:secret", true, 100));
  OK(store_account_reset_at(f->s, a1.id, T0 + 60));
  /* a step is used once, and only after the last one */
  OK(store_account_totp_use(f->s, a1.id, 101));
  assert_int_equal(store_account_totp_use(f->s, a1.id, 101), PL_EEXIST);
  assert_int_equal(store_account_totp_use(f->s, a1.id, 99), PL_EEXIST);
  /* recovery codes: each good once, replaced as a set, the account's own only */
  const char *const codes[] = {"hash-a", "hash-b", "hash-c"};
  int64_t left = -1;
  OK(store_recovery_codes_put(f->s, a1.id, codes, 3));
  OK(store_recovery_codes_left(f->s, a1.id, &left));
  assert_int_equal(left, 3);
  OK(store_recovery_code_use(f->s, a1.id, "hash-b", T0 + 70));
  assert_int_equal(store_recovery_code_use(f->s, a1.id, "hash-b", T0 + 71), PL_ENOTFOUND);
  assert_int_equal(store_recovery_code_use(f->s, a2.id, "hash-a", T0 + 71), PL_ENOTFOUND);
  assert_int_equal(store_recovery_code_use(f->s, a1.id, "hash-z", T0 + 71), PL_ENOTFOUND);
  OK(store_recovery_codes_left(f->s, a1.id, &left));
  assert_int_equal(left, 2);
  OK(store_recovery_codes_put(f->s, a1.id, codes + 1, 2)); /* a new set: hash-b is good again, hash-a is gone */
  OK(store_recovery_codes_left(f->s, a1.id, &left));
  assert_int_equal(left, 2);
  assert_int_equal(store_recovery_code_use(f->s, a1.id, "hash-a", T0 + 72), PL_ENOTFOUND);
  OK(store_recovery_code_use(f->s, a1.id, "hash-b", T0 + 72));
  OK(store_recovery_codes_put(f->s, a1.id, NULL, 0));
  OK(store_recovery_codes_left(f->s, a1.id, &left));
  assert_int_equal(left, 0);
  OK(store_recovery_codes_put(f->s, a1.id, codes, 3));
  assert_int_equal(store_account_password_set(f->s, 9999, "x", T0), PL_ENOTFOUND);
  /* a verified address is never dropped; an unverified one is, until verified */
  assert_int_equal(store_account_drop_unverified(f->s, a1.id), PL_ENOTFOUND);
  /* a principal is known once a token names it, revoked or not */
  bool known = true;
  OK(store_principal_known(f->s, ST_PRINCIPAL_OPERATOR, "nobody-yet", &known));
  assert_false(known);
  st_token tk = {.kind = ST_PRINCIPAL_OPERATOR, .subject = "nobody-yet", .scope = ST_SCOPE_API};
  OK(store_token_put(f->s, "hash-of-nobody", &tk, T0));
  OK(store_principal_known(f->s, ST_PRINCIPAL_OPERATOR, "nobody-yet", &known));
  assert_true(known);
  OK(store_principal_known(f->s, ST_PRINCIPAL_BUYER, "nobody-yet", &known));
  assert_false(known);
  st_account a3 = {.kind = ST_PRINCIPAL_BUYER, .subject = "B2", .email_hash = "h4", .email_sealed = "v2:1:x",
                   .password_hash = "p", .password_at = T0};
  OK(store_account_add(f->s, &a3));
  OK(store_account_verify(f->s, a3.id, T0 + 5));
  assert_int_equal(store_account_drop_unverified(f->s, a3.id), PL_ENOTFOUND);
  st_account a4 = {.kind = ST_PRINCIPAL_BUYER, .subject = "B1", .email_hash = "h5", .email_sealed = "v2:1:y",
                   .password_hash = "p", .password_at = T0};
  OK(store_account_add(f->s, &a4));
  OK(store_account_drop_unverified(f->s, a4.id));
  assert_int_equal(store_account_get(f->s, a4.id, NULL, 0, NULL, f->a, &g), PL_ENOTFOUND);
  assert_int_equal(store_account_verify(f->s, a4.id, T0), PL_ENOTFOUND);
  C(f);
  R(f);
  OK(store_account_get(f->s, a1.id, NULL, 0, NULL, f->a, &g));
  assert_string_equal(g.password_hash, "$argon2id$new");
  assert_int_equal(g.password_at, T0 + 50);
  assert_string_equal(g.totp_sealed, "v2:1:secret");
  assert_true(g.totp_on);
  assert_int_equal(g.totp_step, 101);
  assert_int_equal(g.reset_at, T0 + 60);
  assert_int_equal(g.created_at, T0);
  RB(f);

  /* the walk of key rotation finds the sealed address and secret */
  R(f);
  st_sealed_row *rows;
  size_t n;
  OK(store_sealed_page(f->s, ST_SEALED_ACCOUNT, "v2:2:", NULL, 10, f->a, &rows, &n));
  assert_int_equal(n, 3);
  OK(store_sealed_page(f->s, ST_SEALED_TOTP, "v2:2:", NULL, 10, f->a, &rows, &n));
  assert_int_equal(n, 1);
  assert_string_equal(rows[0].sealed, "v2:1:secret");
  int64_t count;
  OK(store_sealed_count(f->s, ST_SEALED_TOTP, "v2:1:", &count));
  assert_int_equal(count, 1);
  RB(f);
  W(f);
  bool changed = false;
  char key[24];
  snprintf(key, sizeof key, "%lld", (long long)a1.id);
  OK(store_sealed_reseal(f->s, ST_SEALED_TOTP, key, "v2:1:secret", "v2:2:secret", NULL, &changed));
  assert_true(changed);
  OK(store_sealed_reseal(f->s, ST_SEALED_ACCOUNT, key, "v2:1:sealed1", "v2:2:sealed1", "h1b", &changed));
  assert_true(changed);
  C(f);
  R(f);
  OK(store_account_get(f->s, 0, "h1b", 0, NULL, f->a, &g));
  assert_string_equal(g.totp_sealed, "v2:2:secret");
  assert_string_equal(g.email_sealed, "v2:2:sealed1");
  RB(f);
}

static void test_sessions(void **state) {
  fx *f = *state;
  world(f);
  W(f);
  st_token api = {.kind = ST_PRINCIPAL_BUYER, .subject = "B1", .scope = ST_SCOPE_API};
  OK(store_token_put(f->s, "hash-api", &api, T0));
  st_token s1 = {.kind = ST_PRINCIPAL_BUYER, .subject = "B1", .scope = ST_SCOPE_SESSION, .expires_at = T0 + 100,
                 .user_agent = "Firefox"};
  OK(store_token_put(f->s, "hash-s1", &s1, T0));
  st_token s2 = {.kind = ST_PRINCIPAL_BUYER, .subject = "B1", .scope = ST_SCOPE_SESSION, .expires_at = T0 + 100,
                 .parent_id = api.id};
  OK(store_token_put(f->s, "hash-s2", &s2, T0 + 1));
  st_token s3 = {.kind = ST_PRINCIPAL_BUYER, .subject = "B1", .scope = ST_SCOPE_SESSION, .expires_at = T0 + 10};
  OK(store_token_put(f->s, "hash-s3", &s3, T0 + 2));
  st_token theirs = {.kind = ST_PRINCIPAL_BUYER, .subject = "B2", .scope = ST_SCOPE_SESSION, .expires_at = T0 + 100};
  OK(store_token_put(f->s, "hash-b2", &theirs, T0 + 3));
  C(f);
  R(f);
  st_token *l;
  size_t n;
  /* at T0 + 20: s3 has ended, the api token is no session, B2's is not B1's */
  OK(store_session_list(f->s, ST_PRINCIPAL_BUYER, "B1", T0 + 20, 10, f->a, &l, &n));
  assert_int_equal(n, 2);
  assert_int_equal(l[0].id, s2.id);
  assert_int_equal(l[0].parent_id, api.id);
  assert_null(l[0].user_agent);
  assert_int_equal(l[1].id, s1.id);
  assert_string_equal(l[1].user_agent, "Firefox");
  OK(store_session_list(f->s, ST_PRINCIPAL_BUYER, "B1", T0 + 20, 1, f->a, &l, &n));
  assert_int_equal(n, 1);
  RB(f);
  W(f);
  long k = 0;
  OK(store_session_revoke_all(f->s, ST_PRINCIPAL_BUYER, "B1", s1.id, T0 + 30, &k));
  assert_int_equal(k, 2); /* s2 and s3; s1 kept, the api token is no session */
  C(f);
  R(f);
  OK(store_session_list(f->s, ST_PRINCIPAL_BUYER, "B1", T0 + 20, 10, f->a, &l, &n));
  assert_int_equal(n, 1);
  assert_int_equal(l[0].id, s1.id);
  st_token t;
  OK(store_token_get(f->s, "hash-api", 0, f->a, &t));
  assert_int_equal(t.revoked_at, 0);
  OK(store_token_get(f->s, "hash-b2", 0, f->a, &t));
  assert_int_equal(t.revoked_at, 0);
  RB(f);
  W(f);
  OK(store_session_revoke_all(f->s, ST_PRINCIPAL_BUYER, "B1", 0, T0 + 31, &k));
  assert_int_equal(k, 1);
  C(f);
}

static void test_invitations(void **state) {
  fx *f = *state;
  world(f);
  W(f);
  st_invitation v[4] = {
      {.kind = ST_PRINCIPAL_AGENT, .seller_id = "S1", .role = "agent", .email_hash = "e1", .email_sealed = "v2:1:a",
       .invited_by = "agent:1", .created_at = T0, .expires_at = T0 + 100},
      {.kind = ST_PRINCIPAL_AGENT, .seller_id = "S1", .role = "owner", .email_hash = "e2", .email_sealed = "v2:1:b",
       .invited_by = "agent:1", .created_at = T0 + 1, .expires_at = T0 + 10},
      {.kind = ST_PRINCIPAL_AGENT, .seller_id = "S2", .role = "agent", .email_hash = "e3", .email_sealed = "v2:1:c",
       .invited_by = "agent:2", .created_at = T0 + 2, .expires_at = T0 + 100},
      {.kind = ST_PRINCIPAL_OPERATOR, .email_hash = "e4", .email_sealed = "v2:1:d", .invited_by = "operator:ops",
       .created_at = T0 + 3, .expires_at = T0 + 100},
  };
  for (int i = 0; i < 4; i++) {
    OK(store_invitation_add(f->s, &v[i]));
    assert_true(v[i].id > 0);
  }
  C(f);
  R(f);
  st_invitation g, *l;
  size_t n;
  int64_t count;
  OK(store_invitation_get(f->s, v[0].id, f->a, &g));
  assert_int_equal(g.kind, ST_PRINCIPAL_AGENT);
  assert_string_equal(g.seller_id, "S1");
  assert_string_equal(g.role, "agent");
  assert_string_equal(g.email_hash, "e1");
  assert_string_equal(g.invited_by, "agent:1");
  assert_int_equal(g.expires_at, T0 + 100);
  assert_int_equal(g.accepted_at, 0);
  assert_int_equal(store_invitation_get(f->s, 9999, f->a, &g), PL_ENOTFOUND);
  /* at T0 + 20 the second has expired */
  OK(store_invitation_list(f->s, "S1", false, T0 + 20, 10, f->a, &l, &n));
  assert_int_equal(n, 2);
  assert_int_equal(l[0].id, v[1].id);
  OK(store_invitation_list(f->s, "S1", true, T0 + 20, 10, f->a, &l, &n));
  assert_int_equal(n, 1);
  assert_int_equal(l[0].id, v[0].id);
  OK(store_invitation_list(f->s, NULL, true, T0 + 20, 10, f->a, &l, &n));
  assert_int_equal(n, 1);
  assert_int_equal(l[0].id, v[3].id);
  assert_null(l[0].seller_id);
  OK(store_invitation_count(f->s, "S1", T0 + 20, &count));
  assert_int_equal(count, 1);
  OK(store_invitation_count(f->s, "S1", T0 + 5, &count));
  assert_int_equal(count, 2);
  OK(store_invitation_count(f->s, NULL, T0 + 5, &count));
  assert_int_equal(count, 1);
  RB(f);
  W(f);
  /* good once: accepted, it cannot be accepted or revoked again; expired, neither */
  OK(store_invitation_end(f->s, v[0].id, true, T0 + 20));
  assert_int_equal(store_invitation_end(f->s, v[0].id, true, T0 + 21), PL_ENOTFOUND);
  assert_int_equal(store_invitation_end(f->s, v[0].id, false, T0 + 21), PL_ENOTFOUND);
  assert_int_equal(store_invitation_end(f->s, v[1].id, true, T0 + 20), PL_ENOTFOUND);
  OK(store_invitation_end(f->s, v[2].id, false, T0 + 20));
  assert_int_equal(store_invitation_end(f->s, v[2].id, true, T0 + 21), PL_ENOTFOUND);
  C(f);
  R(f);
  OK(store_invitation_get(f->s, v[0].id, f->a, &g));
  assert_int_equal(g.accepted_at, T0 + 20);
  OK(store_invitation_get(f->s, v[2].id, f->a, &g));
  assert_int_equal(g.revoked_at, T0 + 20);
  OK(store_invitation_count(f->s, "S2", T0 + 5, &count));
  assert_int_equal(count, 0);
  st_sealed_row *rows;
  OK(store_sealed_page(f->s, ST_SEALED_INVITATION, "v2:2:", NULL, 10, f->a, &rows, &n));
  assert_int_equal(n, 4);
  RB(f);
  W(f);
  bool changed;
  char key[24];
  snprintf(key, sizeof key, "%lld", (long long)v[3].id);
  OK(store_sealed_reseal(f->s, ST_SEALED_INVITATION, key, "v2:1:d", "v2:2:d", "e4b", &changed));
  assert_true(changed);
  C(f);
  R(f);
  OK(store_invitation_get(f->s, v[3].id, f->a, &g));
  assert_string_equal(g.email_hash, "e4b");
  assert_string_equal(g.email_sealed, "v2:2:d");
  RB(f);
}

#define PART_TESTS(setup)                                               \
  cmocka_unit_test_setup_teardown(test_accounts, setup, teardown),       \
  cmocka_unit_test_setup_teardown(test_sessions, setup, teardown),       \
  cmocka_unit_test_setup_teardown(test_invitations, setup, teardown)

int main(void) {
  const struct CMUnitTest sqlite_tests[] = {PART_TESTS(setup_sqlite)};
  int rc = cmocka_run_group_tests_name("store_account.sqlite", sqlite_tests, reset_calls, NULL);
  pg_base = getenv("PARLEY_TEST_PG_URL");
  if (!pg_base || !*pg_base) {
    printf("store_account.pg: skipped (set PARLEY_TEST_PG_URL, see scripts/pg-test.sh)\n");
    return rc;
  }
  const struct CMUnitTest pg_tests[] = {PART_TESTS(setup_pg)};
  return rc | cmocka_run_group_tests_name("store_account.pg", pg_tests, reset_calls, NULL);
}
