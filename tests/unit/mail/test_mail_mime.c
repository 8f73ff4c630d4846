/* test_mail_mime.c - what an incoming mail is: automatic-mail markers, delivery status
 * notifications, the charset of a part that names none, the URLs of HTML attributes, and
 * MIME structures too broken to read. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "mail/mail.h"

#define HEAD "From: Jane <jane@mail.test>\r\nTo: k3v9@relay.example.com\r\nSubject: Re: order\r\n" \
             "Message-ID: <1@mail.test>\r\n"

static pl_err parse(pl_arena *a, const char *raw, mail_in *m, pl_detail *d) {
  return mail_parse(raw, strlen(raw), a, m, d);
}

static void auto_reply_markers(void **state) {
  (void)state;
  static const struct {
    const char *header;
    bool automatic;
    const char *marker;
  } cases[] = {
      {"Auto-Submitted: auto-replied", true, "Auto-Submitted"},
      {"Auto-Submitted: auto-generated", true, "Auto-Submitted"},
      {"Auto-Submitted: no", false, NULL},
      {"Auto-Submitted: No (a person wrote this)", false, NULL},
      {"X-Autoreply: yes", true, "X-Autoreply"},
      {"X-Autorespond: Out of office", true, "X-Autorespond"},
      {"Precedence: bulk", true, "Precedence"},
      {"Precedence: junk", true, "Precedence"},
      {"Precedence: list", true, "Precedence"},
      {"Precedence: auto_reply", true, "Precedence"},
      {"Precedence: first-class", false, NULL},
      {"X-Auto-Response-Suppress: All", true, "X-Auto-Response-Suppress"},
      {"List-Id: <deals.example.net>", true, "List-Id"},
      {"X-Mailer: Outlook", false, NULL},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    pl_arena *a = pl_arena_new();
    mail_in m;
    pl_detail d = {0};
    char *raw = pl_arena_printf(a, HEAD "%s\r\n\r\nI am away until Monday.\r\n", cases[i].header);
    assert_int_equal(parse(a, raw, &m, &d), PL_OK);
    if (m.automatic != cases[i].automatic) fail_msg("%s: automatic %d", cases[i].header, m.automatic);
    assert_int_equal(m.kind, cases[i].automatic ? MAIL_AUTO_REPLY : MAIL_PERSONAL);
    if (cases[i].marker) assert_string_equal(m.auto_marker, cases[i].marker);
    else assert_null(m.auto_marker);
    assert_string_equal(m.text, "I am away until Monday.");
    pl_arena_free(a);
  }
}

/* Postfix's bounce, as it writes it. */
static const char dsn_mail[] =
    "From: MAILER-DAEMON@relay.example.com (Mail Delivery System)\r\n"
    "To: bounce+7-0123456789abcdef@relay.example.com\r\nSubject: Undelivered Mail Returned to Sender\r\n"
    "Auto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n"
    "Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary=\"B1\"\r\n\r\n"
    "--B1\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nI'm sorry to have to inform you...\r\n"
    "--B1\r\nContent-Type: message/delivery-status\r\n\r\n"
    "Reporting-MTA: dns; mx.mail.test\r\nArrival-Date: Mon, 23 Nov 2026 09:00:00 +0000\r\n\r\n"
    "Final-Recipient: rfc822; ghost@mail.test\r\nOriginal-Recipient: rfc822;Ghost@Mail.test\r\n"
    "Action: failed\r\nStatus: 5.1.1\r\n"
    "Diagnostic-Code: X-Postfix; unknown user:\r\n    \"ghost@mail.test\"\r\n\r\n"
    "Final-Recipient: rfc822; other@mail.test\r\nAction: delayed\r\nStatus: 4.4.1\r\n\r\n"
    "--B1\r\nContent-Type: message/rfc822\r\n\r\nFrom: k3v9@relay.example.com\r\nSubject: hi\r\n\r\nHello\r\n"
    "--B1--\r\n";

static void delivery_status_notification(void **state) {
  (void)state;
  pl_arena *a = pl_arena_new();
  mail_in m;
  pl_detail d = {0};
  assert_int_equal(parse(a, dsn_mail, &m, &d), PL_OK);
  assert_int_equal(m.kind, MAIL_DSN);
  assert_true(m.automatic);
  assert_int_equal(m.ndsn, 2);
  assert_string_equal(m.dsn[0].final_recipient, "ghost@mail.test");
  assert_string_equal(m.dsn[0].original_recipient, "Ghost@Mail.test");
  assert_string_equal(m.dsn[0].action, "failed");
  assert_string_equal(m.dsn[0].status, "5.1.1");
  assert_string_equal(m.dsn[0].diagnostic, "X-Postfix; unknown user: \"ghost@mail.test\""); /* unfolded */
  assert_string_equal(m.dsn[1].final_recipient, "other@mail.test");
  assert_string_equal(m.dsn[1].action, "delayed");
  assert_null(m.dsn[1].original_recipient);
  assert_int_equal(m.nfiles, 0); /* the returned message is not a file */

  /* Another report (a read receipt) is automatic, and no DSN. */
  const char *mdn = HEAD "MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=disposition-notification; boundary=X\r\n\r\n"
                         "--X\r\nContent-Type: text/plain\r\n\r\nRead.\r\n--X\r\nContent-Type: message/disposition-notification\r\n\r\n"
                         "Final-Recipient: rfc822; jane@mail.test\r\nDisposition: manual-action/MDN-sent-manually; displayed\r\n--X--\r\n";
  assert_int_equal(parse(a, mdn, &m, &d), PL_OK);
  assert_int_equal(m.kind, MAIL_REPORT);
  assert_true(m.automatic);
  assert_int_equal(m.ndsn, 0);

  /* A person's mail that merely quotes report fields is no DSN. */
  const char *fake = HEAD "\r\nFinal-Recipient: rfc822; ghost@mail.test\r\nAction: failed\r\n";
  assert_int_equal(parse(a, fake, &m, &d), PL_OK);
  assert_int_equal(m.kind, MAIL_PERSONAL);
  assert_int_equal(m.ndsn, 0);

  /* The field reader on its own: at most MAIL_MAX_DSN_RCPTS, no per-message block needed. */
  mail_dsn_rcpt r[MAIL_MAX_DSN_RCPTS];
  char *many = pl_arena_strdup(a, "");
  for (int i = 0; i < MAIL_MAX_DSN_RCPTS + 5; i++)
    many = pl_arena_printf(a, "%sFinal-Recipient: rfc822;u%d@x.test\nAction: failed\n\n", many, i);
  assert_int_equal(mail_parse_dsn(many, strlen(many), a, r), MAIL_MAX_DSN_RCPTS);
  assert_string_equal(r[0].final_recipient, "u0@x.test");
  assert_int_equal(mail_parse_dsn("", 0, a, r), 0);
  pl_arena_free(a);
}

static void charset_default_is_windows_1252(void **state) {
  (void)state;
  pl_arena *a = pl_arena_new();
  mail_in m;
  pl_detail d = {0};
  /* "Grüße, café – 20 €" in windows-1252, no charset named */
  const char *raw = HEAD "MIME-Version: 1.0\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
                         "Gr\xfc\xdf" "e, caf\xe9 \x96 20 \x80\r\n";
  assert_int_equal(parse(a, raw, &m, &d), PL_OK);
  assert_string_equal(m.text, "Grüße, café – 20 €");
  /* no Content-Type at all */
  const char *bare = HEAD "\r\nTsch\xfc\x73s\r\n";
  assert_int_equal(parse(a, bare, &m, &d), PL_OK);
  assert_string_equal(m.text, "Tschüss");
  /* us-ascii over 8-bit Latin-1 */
  const char *ascii = HEAD "Content-Type: text/plain; charset=us-ascii\r\n\r\nNa\xefve\r\n";
  assert_int_equal(parse(a, ascii, &m, &d), PL_OK);
  assert_string_equal(m.text, "Naïve");
  /* valid UTF-8 without a charset stays UTF-8; a named charset is honoured */
  const char *utf8 = HEAD "\r\nGrüße\r\n";
  assert_int_equal(parse(a, utf8, &m, &d), PL_OK);
  assert_string_equal(m.text, "Grüße");
  const char *koi = HEAD "Content-Type: text/plain; charset=iso-8859-15\r\n\r\n20 \xa4\r\n";
  assert_int_equal(parse(a, koi, &m, &d), PL_OK);
  assert_string_equal(m.text, "20 €");
  /* HTML parts too */
  const char *html = HEAD "Content-Type: text/html\r\n\r\n<p>Caf\xe9</p>\r\n";
  assert_int_equal(parse(a, html, &m, &d), PL_OK);
  assert_string_equal(m.text, "Café");
  /* the bytes windows-1252 leaves undefined */
  assert_string_equal(mail_cp1252_to_utf8("a\x81z", 3, a), "a\xef\xbf\xbdz");
  pl_arena_free(a);
}

static void html_attribute_urls_are_text(void **state) {
  (void)state;
  pl_arena *a = pl_arena_new();
  static const struct {
    const char *html, *want;
  } cases[] = {
      {"<p>Better prices <a href=\"https://cheap-drills.example.net/deal\">here</a>.</p>",
       "Better prices here <https://cheap-drills.example.net/deal>."},
      {"<a href='https://x.example.net/a?b=1&amp;c=2'>click</a>", "click <https://x.example.net/a?b=1&c=2>"},
      {"<a HREF=https://bare.example.net>https://bare.example.net</a>", "https://bare.example.net"},
      {"<a href=\"https://www.example.com/\">www.example.com</a>", "www.example.com"},
      {"<a href=\"https://www.example.com.evil.example/\">www.example.com</a>",
       "www.example.com <https://www.example.com.evil.example/>"},
      {"<a href=\"mailto:sales@acme-direct.example\">write us</a>", "write us <sales@acme-direct.example>"},
      {"<a href=\"tel:+15550100\">call</a>", "call <+15550100>"},
      {"<a href=\"#top\">top</a> <a href=\"cid:logo\">x</a>", "top x"},
      {"Logo: <img src=\"https://track.example.net/p.gif\" width=1 height=1>", "Logo: [image: https://track.example.net/p.gif]"},
      {"<img src=\"cid:part1\" alt=\"logo\">Thanks", "Thanks"},
      {"<table background=\"http://bg.example.net/x.png\"><tr><td>Hi</td></tr></table>", "[image: http://bg.example.net/x.png] Hi"},
      {"<p>Reply</p><blockquote><a href=\"https://quoted.example.net\">old</a></blockquote>", "Reply"},
      /* an unclosed <head> or <style> holds the rest: nothing of it, no half characters */
      {"<p>Hi</p><head><s\xe2\x80\xb9\xe2\x80\xb0", "Hi"},
      {"Hi<style>p{}\xe2\x80\xb0", "Hi"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char *t = mail_html_to_text(cases[i].html, strlen(cases[i].html), a);
    char *s = mail_strip_reply(t, strlen(t), a);
    if (strcmp(s, cases[i].want)) fail_msg("\"%s\" -> \"%s\", want \"%s\"", cases[i].html, s, cases[i].want);
  }
  /* through mail_parse, an HTML-only mail */
  mail_in m;
  pl_detail d = {0};
  const char *raw = HEAD "MIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
                         "<div>See <a href=\"https://cheap-drills.example.net\">our shop</a></div>\r\n";
  assert_int_equal(parse(a, raw, &m, &d), PL_OK);
  assert_string_equal(m.text, "See our shop <https://cheap-drills.example.net>");
  pl_arena_free(a);
}

static void malformed_mime_is_named(void **state) {
  (void)state;
  pl_arena *a = pl_arena_new();
  mail_in m;
  pl_detail d = {0};
  const char *nob = HEAD "MIME-Version: 1.0\r\nContent-Type: multipart/mixed\r\n\r\n--foo\r\nContent-Type: text/plain\r\n\r\nhello\r\n--foo--\r\n";
  assert_int_equal(parse(a, nob, &m, &d), PL_EINVAL);
  assert_non_null(strstr(d.msg, "multipart/mixed part has no boundary"));
  const char *noparts = HEAD "MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=zzz\r\n\r\nno parts here\r\n";
  assert_int_equal(parse(a, noparts, &m, &d), PL_EINVAL);
  assert_non_null(strstr(d.msg, "multipart/alternative part has no parts"));
  /* nested without a boundary deeper down */
  const char *inner = HEAD "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=o\r\n\r\n--o\r\n"
                           "Content-Type: multipart/alternative\r\n\r\nx\r\n--o--\r\n";
  assert_int_equal(parse(a, inner, &m, &d), PL_EINVAL);
  assert_non_null(strstr(d.msg, "multipart/alternative part has no boundary"));
  /* the SMTP answer for it */
  const char *enh;
  assert_int_equal(mail_reply_for(PL_EINVAL, &enh), 550);
  assert_string_equal(enh, "5.6.0");
  /* a well-formed multipart reads */
  const char *ok = HEAD "MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\n"
                        "Content-Type: text/plain\r\n\r\nFine.\r\n--b--\r\n";
  assert_int_equal(parse(a, ok, &m, &d), PL_OK);
  assert_string_equal(m.text, "Fine.");
  pl_arena_free(a);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(auto_reply_markers),
      cmocka_unit_test(delivery_status_notification),
      cmocka_unit_test(charset_default_is_windows_1252),
      cmocka_unit_test(html_attribute_urls_are_text),
      cmocka_unit_test(malformed_mime_is_named),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
