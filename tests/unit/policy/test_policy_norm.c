/* test_policy_norm.c - white-box tests of each pipeline stage: decode, normalise, de-obfuscate, alternative view, offset maps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../policy_fixture.h"
#include "policy/policy.h"
#include "policy/policy_int.h"

static policy_config *cfg;
static pl_arena *mem;

static int setup(void **state) {
  (void)state;
  mem = pl_arena_new();
  return test_policy_compile(&cfg);
}

static int teardown(void **state) {
  (void)state;
  pl_arena_free(mem);
  policy_config_unref(cfg);
  return 0;
}

/* Runs the text stages on text and returns the scan state (memory in `mem`). */
static policy__scan prep(const char *text) {
  pl_arena_reset(mem);
  policy__scan sc = {.cfg = cfg, .mem = mem, .orig = text, .orig_len = strlen(text)};
  policy__decode(&sc);
  policy__normalize(&sc);
  policy__deobfuscate(&sc);
  policy__altview(&sc);
  return sc;
}

static void expect_norm(const char *in, const char *want) {
  policy__scan sc = prep(in);
  if (strcmp(sc.norm.s, want)) fprintf(stderr, "  norm(%s) = '%s', want '%s'\n", in, sc.norm.s, want);
  assert_string_equal(sc.norm.s, want);
}

static void expect_deob(const char *in, const char *want) {
  policy__scan sc = prep(in);
  if (strcmp(sc.deob.s, want)) fprintf(stderr, "  deob(%s) = '%s', want '%s'\n", in, sc.deob.s, want);
  assert_string_equal(sc.deob.s, want);
}

static void test_decode_html(void **state) {
  (void)state;
  policy__scan sc = prep("<p>Fish &amp; chips</p><script>var x='<b>';</script><br>caf&eacute; &#233;&#x41;");
  assert_string_equal(sc.dec.s, "\nFish & chips\n\ncaf&eacute; \xc3\xa9" "A");
  /* plain text is left alone, even with > and & in it */
  sc = prep("Your Orders > Invoice & more");
  assert_string_equal(sc.dec.s, "Your Orders > Invoice & more");
  /* an anchor's target becomes text the link detector reads */
  sc = prep("<a href=\"https://x.example.org/a\">here</a>");
  assert_non_null(strstr(sc.dec.s, "https://x.example.org/a"));
  /* addresses in angle brackets, as mail clients write links in plain text, are no tags:
   * alone or beside real tags, they stay for the detectors */
  sc = prep("Cheaper: <https://cheap.example.net/deal>");
  assert_non_null(strstr(sc.dec.s, "<https://cheap.example.net/deal>"));
  sc = prep("<p>Write to <sales@cheap.example.net> or <www.cheap.example.net> or <mailto:x@y.example></p>");
  assert_non_null(strstr(sc.dec.s, "sales@cheap.example.net"));
  assert_non_null(strstr(sc.dec.s, "www.cheap.example.net"));
  assert_non_null(strstr(sc.dec.s, "mailto:x@y.example"));
  policy_verdict v;
  const char *t = "See our offer <https://cheap-drills.example.net/deal>";
  assert_int_equal(policy_scan(cfg, t, strlen(t), &v), PL_OK);
  assert_int_equal(v.action, POLICY_REJECT);
  policy_verdict_free(&v);
}

static void test_decode_remote_images(void **state) {
  (void)state;
  const char *t = "<p>Hi</p><img src=\"https://cdn.example.net/p.gif\" width=\"1\" height=\"1\">"
                  "<img src='http://example.com/logo.png'><img src=\"cid:logo\">";
  policy_verdict v;
  assert_int_equal(policy_scan(cfg, t, strlen(t), &v), PL_OK);
  int pixels = 0, images = 0;
  for (size_t i = 0; i < v.nfindings; i++) {
    if (!strcmp(v.findings[i].rule, "html.tracking_pixel")) pixels++;
    if (!strcmp(v.findings[i].rule, "html.remote_image")) images++;
  }
  assert_int_equal(pixels, 1);
  assert_int_equal(images, 1);
  assert_int_equal(v.action, POLICY_REJECT);
  policy_verdict_free(&v);
}

static void test_normalize_case_and_width(void **state) {
  (void)state;
  expect_norm("HELLO World", "hello world");
  expect_norm("\xef\xbd\x93\xef\xbd\x88\xef\xbd\x8f\xef\xbd\x90", "shop");          /* full-width */
  expect_norm("Stra\xc3\x9f" "e", "strasse");                                       /* sharp s */
  expect_norm("\xf0\x9d\x90\xb0\xf0\x9d\x90\xb0", "ww");                             /* mathematical bold */
  expect_norm("GripLock\xe2\x84\xa2", "griplocktm");                                 /* NFKC ™ */
}

static void test_normalize_marks(void **state) {
  (void)state;
  expect_norm("R\xc3\xa9sum\xc3\xa9 bl\xc3\xb6" "d se\xc3\xb1or", "resume blod senor");
  expect_norm("e\xcc\x81t\xc3\xa9", "ete"); /* combining acute */
}

static void test_normalize_invisible(void **state) {
  (void)state;
  expect_norm("Whats\xe2\x80\x8b" "App", "whatsapp");         /* zero-width space */
  expect_norm("pay\xe2\x80\x8d" "pal\xef\xbb\xbf", "paypal"); /* ZWJ, BOM */
  expect_norm("\xe2\x80\xae" "evil\xe2\x80\xac", "evil");    /* bidi override */
  expect_norm("soft\xc2\xad" "hyphen", "softhyphen");
}

static void test_normalize_confusables(void **state) {
  (void)state;
  expect_norm("r\xd0\xb5view", "review");          /* Cyrillic e */
  expect_norm("w\xd0\xb0rranty", "warranty");      /* Cyrillic a */
  expect_norm("\xd1\x80\xd0\xb0ypal", "paypal");   /* Cyrillic r, a */
  expect_norm("\xce\xbf\xce\xbdline", "ovline");   /* Greek omicron, nu: skeletons o, v */
}

static void test_normalize_spaces_and_punct(void **state) {
  (void)state;
  expect_norm("  a \t\n\n b\xc2\xa0" "c  ", "a b c");
  expect_norm("you\xe2\x80\x99re \xe2\x80\x9cok\xe2\x80\x9d 3\xe2\x80\x93" "5", "you're \"ok\" 3-5");
}

static void test_offset_map(void **state) {
  (void)state;
  /* every normalised byte maps back to the original character it came from */
  const char *t = "A\xe2\x80\x8b\xef\xbc\xa2  \xd0\xb5x";
  policy__scan sc = prep(t);
  assert_string_equal(sc.norm.s, "ab ex");
  assert_int_equal(sc.norm.beg[0], 0);
  assert_int_equal(sc.norm.beg[1], 4);  /* full-width B after a zero-width space */
  assert_int_equal(sc.norm.end[1], 7);
  assert_int_equal(sc.norm.beg[3], 9);  /* Cyrillic e */
  assert_int_equal(sc.norm.end[3], 11);
  /* and through HTML decoding */
  sc = prep("<b>x&amp;y</b>");
  assert_string_equal(sc.norm.s, "x&y");
  assert_int_equal(sc.norm.beg[1], 4);
  assert_int_equal(sc.norm.end[1], 9);
}

static void test_deobfuscate(void **state) {
  (void)state;
  expect_deob("shop[.]com", "shop.com");
  expect_deob("shop (dot) com", "shop.com");
  expect_deob("shop dot com", "shop.com");
  expect_deob("shop punkt de", "shop.de");
  expect_deob("el punto de venta", "el punto de venta"); /* "punto" only before a TLD other than de */
  expect_deob("tienda punto com", "tienda.com");
  expect_deob("anna (at) shop (dot) co (dot) uk", "anna@shop.co.uk");
  expect_deob("anna at shop dot co dot uk", "anna@shop.co.uk");
  expect_deob("hxxps://evil.example", "https://evil.example");
  expect_deob("w w w . s h o p . c o m now", "www.shop.com now");
  /* a run is found wherever it starts, not only at the start of the text */
  expect_deob("more on w w w . t r e n d y h o m e . c o m today", "more on www.trendyhome.com today");
  expect_deob("the box is 5 x 3 x 2 cm", "the box is 5x3x2 cm"); /* joined; not a domain, so no link */
  expect_deob("nothing to undo here", "nothing to undo here");
  expect_deob("go to northpeak .com now", "go to northpeak.com now");
  expect_deob("I love it .It fits", "i love it .it fits"); /* a stray space before a sentence */
  expect_deob("www . shop . com", "www.shop.com");
  expect_deob("leave it at the door", "leave it@the door"); /* the e-mail detector decides */
}

static void test_deobfuscate_flags(void **state) {
  (void)state;
  policy__scan sc = prep("a dot com b[.]com c.com");
  const char *s = sc.deob.s;
  assert_string_equal(s, "a.com b.com c.com");
  assert_int_equal(sc.deob_flags[1], POLICY__SPELLED_WORD);
  assert_int_equal(sc.deob_flags[7], POLICY__SPELLED_BRACKET);
  assert_int_equal(sc.deob_flags[13], 0);
}

static void test_altview(void **state) {
  (void)state;
  policy__scan sc = prep("please leave a r e v i e w today");
  assert_true(sc.has_alt);
  assert_string_equal(sc.alt.s, "please leave areview today");
  sc = prep("pl3ase leave a rev1ew");
  assert_true(sc.has_alt);
  assert_string_equal(sc.alt.s, "please leave a review");
  sc = prep("Tracking 1Z999AA10123456784, model XR-500");
  assert_false(sc.has_alt);
}

static void test_invalid_utf8(void **state) {
  (void)state;
  policy_verdict v;
  assert_int_equal(policy_scan(cfg, "ab\xc3", 3, &v), PL_EUTF8);
  assert_int_equal(policy_scan(cfg, "\xed\xa0\x80", 3, &v), PL_EUTF8); /* surrogate */
  assert_int_equal(policy_scan(cfg, "\xc0\xaf", 2, &v), PL_EUTF8);     /* overlong */
  assert_int_equal(policy_scan(cfg, "", 0, &v), PL_OK);
  assert_int_equal(v.action, POLICY_DELIVER);
  policy_verdict_free(&v);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_decode_html),
    cmocka_unit_test(test_decode_remote_images),
    cmocka_unit_test(test_normalize_case_and_width),
    cmocka_unit_test(test_normalize_marks),
    cmocka_unit_test(test_normalize_invisible),
    cmocka_unit_test(test_normalize_confusables),
    cmocka_unit_test(test_normalize_spaces_and_punct),
    cmocka_unit_test(test_offset_map),
    cmocka_unit_test(test_deobfuscate),
    cmocka_unit_test(test_deobfuscate_flags),
    cmocka_unit_test(test_altview),
    cmocka_unit_test(test_invalid_utf8),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
