/* test_mail_auth.c - Authentication-Results (RFC 8601), the From: address and DMARC-style
 * alignment: what mail_auth_check believes, and what it must not. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "mail/mail_auth.h"

static pl_arena *A;

static int setup(void **state) {
  A = pl_arena_new();
  return 0;
}
static int teardown(void **state) {
  pl_arena_free(A);
  return 0;
}

static mail_ar parse_ok(const char *v) {
  mail_ar ar;
  assert_int_equal(mail_ar_parse(v, strlen(v), A, &ar), PL_OK);
  return ar;
}

static void test_ar_opendkim_and_opendmarc(void **state) {
  /* What OpenDKIM writes, folded, with comments and several results. */
  mail_ar ar = parse_ok(" mx.parley.test;\r\n\tdkim=pass (1024-bit key;\r\n unprotected) header.d=mail.test "
                        "header.i=@mail.test header.a=rsa-sha256\r\n header.s=sel header.b=grBLCI0K;\r\n\tdkim-atps=neutral");
  assert_string_equal(ar.authserv_id, "mx.parley.test");
  assert_int_equal(ar.n, 2);
  assert_string_equal(ar.results[0].method, "dkim");
  assert_string_equal(ar.results[0].result, "pass");
  assert_string_equal(ar.results[0].header_d, "mail.test");
  assert_string_equal(ar.results[1].method, "dkim-atps");
  ar = parse_ok("mx.parley.test; dmarc=pass (p=reject dis=none) header.from=mail.test");
  assert_string_equal(ar.results[0].header_from, "mail.test");
  ar = parse_ok("mx.parley.test; spf=pass smtp.mailfrom=jane@mail.test");
  assert_string_equal(ar.results[0].smtp_mailfrom, "jane@mail.test");
}

static void test_ar_rfc8601_examples(void **state) {
  mail_ar ar = parse_ok("example.com; none");
  assert_int_equal(ar.n, 0);
  /* Version, method version, reason, quoted values, a quoted local part, case. */
  ar = parse_ok("\"mail-router.example.net\" 1; DKIM/1 = Pass reason=\"good sig\" Header.D = \"example.com\"");
  assert_string_equal(ar.authserv_id, "mail-router.example.net");
  assert_string_equal(ar.results[0].method, "dkim");
  assert_string_equal(ar.results[0].result, "pass");
  assert_string_equal(ar.results[0].header_d, "example.com");
  ar = parse_ok("(leading comment) example.com (x (nested) y); spf=fail smtp.mailfrom=\"a b\"@example.org");
  assert_string_equal(ar.results[0].smtp_mailfrom, "\"a b\"@example.org");
  assert_string_equal(ar.results[0].result, "fail");
}

static void test_ar_malformed(void **state) {
  const char *bad[] = {"", ";", "example.com; dkim", "example.com; dkim=", "example.com dkim=pass",
                       "example.com; dkim=pass header", "example.com; dkim=pass header.d",
                       "example.com; dkim=pass (unclosed", "example.com; dkim=pass header.d=\"open",
                       "example.com; =pass", "example.com; dkim=pass foo=bar", "example.com;"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    mail_ar ar;
    assert_int_equal(mail_ar_parse(bad[i], strlen(bad[i]), A, &ar), PL_EINVAL);
  }
  /* Deep nesting is refused, not recursed into. */
  char deep[200];
  size_t n = 0;
  n += (size_t)snprintf(deep, sizeof deep, "x; dkim=pass ");
  while (n < 150) deep[n++] = '(';
  deep[n] = '\0';
  mail_ar ar;
  assert_int_equal(mail_ar_parse(deep, n, A, &ar), PL_EINVAL);
}

static void test_from_address(void **state) {
  char *a;
  assert_int_equal(mail_from_address("Jane Doe <Jane@Mail.TEST>", A, &a), PL_OK);
  assert_string_equal(a, "jane@mail.test");
  assert_int_equal(mail_from_address("jane@mail.test (Jane)", A, &a), PL_OK);
  assert_string_equal(a, "jane@mail.test");
  assert_int_equal(mail_from_address("\"Doe, Jane <x@evil.test>\" <jane@mail.test>", A, &a), PL_OK);
  assert_string_equal(a, "jane@mail.test");
  const char *bad[] = {"", "Jane", "jane@mail.test, bob@mail.test", "<a@mail.test> <b@mail.test>",
                       "group: jane@mail.test;", "jane@mail.test <evil@evil.test>", "<jane@mail.test> x",
                       "<jane@mail>", "<jane@@mail.test>", "<ja ne@mail.test>", "<jane@mail..test>",
                       "\"unclosed <jane@mail.test>", "<jane@mail.test", "(unclosed <jane@mail.test>"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    assert_int_equal(mail_from_address(bad[i], A, &a), PL_EINVAL);
}

static void test_alignment(void **state) {
  assert_true(mail_domains_aligned("mail.test", "MAIL.test"));
  assert_true(mail_domains_aligned("news.mail.test", "mail.test"));
  assert_true(mail_domains_aligned("a.example.co.uk", "b.example.co.uk"));
  assert_false(mail_domains_aligned("example.co.uk", "other.co.uk"));
  assert_false(mail_domains_aligned("co.uk", "example.co.uk")); /* a public suffix is nobody's */
  assert_false(mail_domains_aligned("evil.test", "mail.test"));
  assert_false(mail_domains_aligned(NULL, "mail.test"));
  assert_false(mail_domains_aligned("", ""));
}

static mail_auth_verdict check(const char *headers) {
  mail_auth_verdict v;
  mail_auth_check(headers, strlen(headers), "mx.parley.test", A, &v);
  return v;
}

static void test_verdict(void **state) {
  mail_auth_verdict v = check("Authentication-Results: mx.parley.test; dkim=pass header.d=mail.test\r\n"
                              "From: Jane <jane@mail.test>\r\n\r\nbody\r\n");
  assert_true(v.authenticated);
  assert_string_equal(v.from, "jane@mail.test");
  /* Relaxed alignment: a subdomain's signature, an aligned SPF pass, DMARC's own pass. */
  assert_true(check("Authentication-Results: mx.parley.test; dkim=pass header.d=eu.mail.test\r\n"
                    "From: jane@mail.test\r\n\r\n").authenticated);
  assert_true(check("Authentication-Results: mx.parley.test; spf=pass smtp.mailfrom=bounce@lists.mail.test\r\n"
                    "From: jane@mail.test\r\n\r\n").authenticated);
  assert_true(check("Authentication-Results: mx.parley.test; dmarc=pass header.from=mail.test\r\n"
                    "From: jane@mail.test\r\n\r\n").authenticated);
  /* Another domain's signature, another verifier's word, a failure, no results at all. */
  assert_false(check("Authentication-Results: mx.parley.test; dkim=pass header.d=evil.test\r\n"
                     "From: jane@mail.test\r\n\r\n").authenticated);
  assert_false(check("Authentication-Results: mx.evil.test; dkim=pass header.d=mail.test\r\n"
                     "From: jane@mail.test\r\n\r\n").authenticated);
  assert_false(check("Authentication-Results: mx.parley.test; dkim=fail header.d=mail.test\r\n"
                     "From: jane@mail.test\r\n\r\n").authenticated);
  assert_false(check("From: jane@mail.test\r\n\r\n").authenticated);
  /* DMARC's failure outweighs a pass; a lookalike authserv-id is not ours. */
  assert_false(check("Authentication-Results: mx.parley.test; dkim=pass header.d=mail.test\r\n"
                     "Authentication-Results: mx.parley.test; dmarc=fail header.from=mail.test\r\n"
                     "From: jane@mail.test\r\n\r\n").authenticated);
  assert_false(check("Authentication-Results: mx.parley.test.evil.test; dkim=pass header.d=mail.test\r\n"
                     "From: jane@mail.test\r\n\r\n").authenticated);
  /* Forms an MTA rule keyed on "^Authentication-Results: <id>" would let through: a comment
   * or quotes before the id. They are a sender's, not the verifier's. */
  assert_false(check("Authentication-Results: (x) mx.parley.test; dkim=pass header.d=mail.test\r\n"
                     "From: jane@mail.test\r\n\r\n").authenticated);
  assert_false(check("Authentication-Results: \"mx.parley.test\"; dkim=pass header.d=mail.test\r\n"
                     "From: jane@mail.test\r\n\r\n").authenticated);
  assert_false(check("Authentication-Results: mx.parley.test(x); dkim=pass header.d=mail.test\r\n"
                     "From: jane@mail.test\r\n\r\n").authenticated);
  /* Two From: headers, or two addresses, are nobody. */
  assert_false(check("Authentication-Results: mx.parley.test; dkim=pass header.d=mail.test\r\n"
                     "From: jane@mail.test\r\nFrom: support@acme.test\r\n\r\n").authenticated);
  assert_false(check("Authentication-Results: mx.parley.test; dkim=pass header.d=mail.test\r\n"
                     "From: jane@mail.test, support@acme.test\r\n\r\n").authenticated);
  /* A header in the body is no header. */
  assert_false(check("From: jane@mail.test\r\n\r\nAuthentication-Results: mx.parley.test; dkim=pass "
                     "header.d=mail.test\r\n").authenticated);
  /* No authserv-id configured: nothing counts. */
  mail_auth_verdict none;
  const char *h = "Authentication-Results: mx.parley.test; dkim=pass header.d=mail.test\r\nFrom: jane@mail.test\r\n\r\n";
  mail_auth_check(h, strlen(h), NULL, A, &none);
  assert_false(none.authenticated);
}

static void test_header_values(void **state) {
  const char *m = "Subject: one\r\nfrom : Jane\r\n <jane@mail.test>\r\nX: y\r\n\r\nFrom: body@evil.test\r\n";
  char **v;
  assert_int_equal(mail_header_values(m, strlen(m), "From", A, &v), 1);
  assert_string_equal(v[0], "Jane <jane@mail.test>");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_ar_opendkim_and_opendmarc, setup, teardown),
      cmocka_unit_test_setup_teardown(test_ar_rfc8601_examples, setup, teardown),
      cmocka_unit_test_setup_teardown(test_ar_malformed, setup, teardown),
      cmocka_unit_test_setup_teardown(test_from_address, setup, teardown),
      cmocka_unit_test_setup_teardown(test_alignment, setup, teardown),
      cmocka_unit_test_setup_teardown(test_verdict, setup, teardown),
      cmocka_unit_test_setup_teardown(test_header_values, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
