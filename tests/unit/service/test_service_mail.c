/* test_service_mail.c - the service's side of e-mail over a real SQLite store: due mail handed
 * to a transport as plain data and its outcome, what a reply to a return path may fail,
 * automatic mail, quoted history that is not the seller's, one message per thread. */
#define _GNU_SOURCE /* strcasestr */
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "service/svc.h"
#include "service/svc_mail.h"

#define SELLER_REAL "support@acme.test"
#define BUYER_REAL "jane@mail.test"

typedef struct {
  svc *s;
  pl_time now;
  char dir[64];
  svc_caller buyer, agent, op;
  pl_arena *a;
  int64_t tid;
  char *seller_alias, *seller_alias_t, *buyer_alias_t, *verp; /* reply addresses and the first return path */
  char *seller_mid; /* the Message-ID of the seller's mail to the buyer */
} fx;

static pl_time fake_now(void *ctx) { return ((fx *)ctx)->now; }

#include "svc_fixture.h"

static void import(fx *f, const char *line) { svc_test_import(f->s, line); }

static int setup(void **state) {
  fx *f = calloc(1, sizeof *f);
  f->now = 1791190800;
  f->s = svc_test_open(f->dir, "parley-svcmail", (pl_clock){fake_now, f});
  pl_detail d = {0};
  f->a = pl_arena_new();
  import(f, "{\"type\":\"marketplace\",\"id\":\"ATVPDKIKX0DER\",\"name\":\"Example US\",\"domains\":[\"example.com\"],\"locale\":\"en-US\"}");
  import(f, "{\"type\":\"seller\",\"id\":\"S1\",\"marketplace\":\"ATVPDKIKX0DER\",\"name\":\"Acme Tools\",\"email\":\"" SELLER_REAL "\"}");
  import(f, "{\"type\":\"buyer\",\"id\":\"B1\",\"name\":\"Jane Doe\",\"email\":\"" BUYER_REAL "\",\"locale\":\"en-US\"}");
  import(f, "{\"type\":\"order\",\"id\":\"112-4839201-5561023\",\"marketplace\":\"ATVPDKIKX0DER\",\"seller\":\"S1\",\"buyer\":\"B1\",\"status\":\"delivered\",\"purchased_at\":\"2026-10-01T10:00:00Z\"}");
  int64_t ag;
  assert_int_equal(svc_agent_add(f->s, "S1", "Maya", "owner", &ag, &d), PL_OK);
  f->buyer = (svc_caller){.kind = ST_PRINCIPAL_BUYER, .buyer_id = "B1", .name = "buyer:B1"};
  f->agent = (svc_caller){.kind = ST_PRINCIPAL_AGENT, .seller_id = "S1", .agent_id = ag, .agent_role = ST_ROLE_OWNER,
                          .marketplace_id = "ATVPDKIKX0DER", .name = "agent:1"};
  f->op = (svc_caller){.kind = ST_PRINCIPAL_OPERATOR, .name = "operator:ops"};
  /* The buyer's first message, and its forward as a transport receives it. */
  svc_start_in in = {.order_id = "112-4839201-5561023", .topic = "product_question",
                     .text = "Please call me on +1 555 0100 about the charger."};
  st_thread t;
  svc_sent m;
  assert_int_equal(svc_thread_start(f->s, &f->buyer, &in, f->a, &t, &m, &d), PL_OK);
  policy_verdict_free(&m.verdict);
  f->tid = t.id;
  svc_outmail *ms;
  svc_mail_options mo = {0};
  assert_int_equal(svc_mail_claim(f->s, &mo, 16, f->a, &ms), 1);
  assert_string_equal(ms[0].rcpt, SELLER_REAL);
  assert_int_equal(ms[0].row.kind, ST_OUTBOX_FORWARD);
  assert_non_null(strstr(ms[0].text, "about the charger"));
  assert_null(strstr(ms[0].from_addr, "mail.test")); /* an alias */
  f->buyer_alias_t = pl_arena_strdup(f->a, ms[0].reply_to);
  f->seller_alias = pl_arena_strdup(f->a, ms[0].to_addr);
  f->verp = pl_arena_strdup(f->a, ms[0].env_from);
  assert_int_equal(strncmp(f->verp, "bounce+", 7), 0);
  svc_mail_report(f->s, &mo, &ms[0], SVC_MAIL_SENT, NULL);
  assert_int_equal(ms[0].rcpt[0], '\0'); /* wiped */
  /* The seller answers, so that the buyer has a reply address of their own, and the buyer
   * writes again: a response is needed. */
  svc_send_in sr = {.text = "Thanks, we are checking."};
  svc_sent sent;
  assert_int_equal(svc_send(f->s, &f->agent, t.id, &sr, f->a, &sent, &d), PL_OK);
  policy_verdict_free(&sent.verdict);
  assert_int_equal(svc_mail_claim(f->s, &mo, 16, f->a, &ms), 1);
  assert_string_equal(ms[0].rcpt, BUYER_REAL);
  f->seller_alias_t = pl_arena_strdup(f->a, ms[0].reply_to);
  f->seller_mid = pl_arena_printf(f->a, "<%s>", ms[0].message_id);
  svc_mail_report(f->s, &mo, &ms[0], SVC_MAIL_SENT, NULL);
  f->now += 60;
  svc_send_in bm = {.text = "And is the battery included?"};
  assert_int_equal(svc_send(f->s, &f->buyer, t.id, &bm, f->a, &sent, &d), PL_OK);
  policy_verdict_free(&sent.verdict);
  assert_int_equal(svc_mail_claim(f->s, &mo, 16, f->a, &ms), 1);
  svc_mail_report(f->s, &mo, &ms[0], SVC_MAIL_SENT, NULL);
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

static st_message *thread_messages(fx *f, size_t *n, st_thread *t) {
  st_message *m;
  pl_detail d = {0};
  assert_int_equal(svc_thread_get(f->s, &f->agent, f->tid, f->a, t, &m, n, &d), PL_OK);
  return m;
}

static st_message *find(fx *f, const char *needle) {
  size_t n;
  st_thread t;
  st_message *m = thread_messages(f, &n, &t);
  for (size_t i = 0; i < n; i++)
    if (strstr(m[i].text, needle)) return &m[i];
  return NULL;
}

static pl_err receive(fx *f, const svc_mail_in *in0, svc_mail_result *r) {
  pl_detail d = {0};
  svc_mail_in in = *in0;
  in.trust_envelope = true; /* who speaks is not the point here (test_mail_receive.c) */
  pl_err e = svc_mail_receive(f->s, &in, f->a, r, &d);
  if (e && e != PL_EPOLICY) fail_msg("receive: %s %s", pl_errname(e), d.msg);
  return e;
}

/* The outbox: nothing due after a send; a retry is due later; a refusal fails the message. */
static void outbox_claim_and_report(void **state) {
  fx *f = *state;
  svc_mail_options mo = {.retry_base = 60};
  svc_outmail *ms;
  assert_int_equal(svc_mail_claim(f->s, &mo, 16, f->a, &ms), 0);
  svc_send_in in = {.text = "Yes, the charger is in the box."};
  svc_sent sent;
  pl_detail d = {0};
  assert_int_equal(svc_send(f->s, &f->agent, f->tid, &in, f->a, &sent, &d), PL_OK);
  policy_verdict_free(&sent.verdict);
  assert_int_equal(svc_mail_claim(f->s, &mo, 16, f->a, &ms), 1);
  assert_string_equal(ms[0].rcpt, BUYER_REAL);
  svc_mail_report(f->s, &mo, &ms[0], SVC_MAIL_RETRY, "451 try later");
  assert_int_equal(svc_mail_claim(f->s, &mo, 16, f->a, &ms), 0); /* not yet due */
  f->now += 61;
  assert_int_equal(svc_mail_claim(f->s, &mo, 16, f->a, &ms), 1);
  svc_mail_report(f->s, &mo, &ms[0], SVC_MAIL_REFUSED, "550 5.1.1 no such user");
  assert_int_equal(find(f, "charger is in the box")->status, ST_STATUS_FAILED);
}

static const svc_mail_dsn failed_rcpt = {"support@acme.test", NULL, "failed", "5.1.1",
                                         "smtp; 550 5.1.1 <Support@Acme.test>: unknown user \"support\" at mx.acme.test [192.0.2.4]"};

/* Only a null-sender DSN naming the message's recipient as failed fails the message. */
static void return_path_takes_only_a_matching_dsn(void **state) {
  fx *f = *state;
  svc_mail_result r;
  svc_mail_dsn other = {"someone@else.test", NULL, "failed", "5.1.1", NULL};
  svc_mail_dsn delayed = {"support@acme.test", NULL, "delayed", "4.4.1", NULL};
  const svc_mail_in noise[] = {
      {.mail_from = BUYER_REAL, .rcpt = f->verp, .text = "Thanks!"},
      {.mail_from = BUYER_REAL, .rcpt = f->verp, .text = "On vacation", .automatic = true},
      {.mail_from = "postmaster@acme.test", .rcpt = f->verp, .dsn = true, .dsn_rcpts = &failed_rcpt, .ndsn = 1},
      {.mail_from = "", .rcpt = f->verp, .dsn = true, .dsn_rcpts = &other, .ndsn = 1},
      {.mail_from = "", .rcpt = f->verp, .dsn = true, .dsn_rcpts = &delayed, .ndsn = 1},
      {.mail_from = "", .rcpt = f->verp, .automatic = true, .text = "Final-Recipient: support@acme.test"},
  };
  for (size_t i = 0; i < sizeof noise / sizeof noise[0]; i++) {
    assert_int_equal(receive(f, &noise[i], &r), PL_OK);
    assert_true(r.discarded);
    assert_true(r.return_path);
    assert_false(r.failed);
    assert_int_equal(find(f, "about the charger")->status, ST_STATUS_DELIVERED);
  }
  svc_mail_in dsn = {.mail_from = "", .rcpt = f->verp, .dsn = true, .dsn_rcpts = &failed_rcpt, .ndsn = 1};
  assert_int_equal(receive(f, &dsn, &r), PL_OK);
  assert_true(r.failed);
  assert_int_equal(find(f, "about the charger")->status, ST_STATUS_FAILED);
  /* the evidence: the report's fields with the recipient's address and host masked */
  json_t *ex;
  pl_detail d = {0};
  assert_int_equal(svc_thread_export(f->s, &f->op, f->tid, f->a, &ex, &d), PL_OK);
  json_t *aud = json_object_get(ex, "audit"), *e, *rep = NULL;
  size_t i;
  json_array_foreach(aud, i, e) if (!strcmp(json_string_value(json_object_get(e, "action")), "message.failed"))
      rep = json_object_get(json_object_get(e, "detail"), "report");
  assert_non_null(rep);
  assert_string_equal(json_string_value(json_object_get(rep, "status")), "5.1.1");
  const char *diag = json_string_value(json_object_get(rep, "diagnostic"));
  assert_non_null(strstr(diag, "550 5.1.1"));
  assert_null(strcasestr(diag, "acme.test"));
  assert_null(strstr(diag, "192.0.2.4"));
  assert_null(strcasestr(diag, "support")); /* the mailbox's name alone, as Postfix writes it */
  json_decref(ex);
}

/* A seller's out-of-office is kept, not forwarded, not an answer; a buyer's is dropped. */
static void automatic_mail(void **state) {
  fx *f = *state;
  svc_mail_result r;
  svc_mail_in ooo = {.mail_from = SELLER_REAL, .rcpt = f->buyer_alias_t, .automatic = true,
                     .text = "Out of office until Monday; call +1 555 0199 or write to boss@acme-private.test"};
  assert_int_equal(receive(f, &ooo, &r), PL_OK);
  assert_true(r.auto_reply);
  st_message *m = find(f, "Out of office");
  assert_int_equal(m->kind, ST_KIND_AUTO_REPLY);
  assert_int_equal(m->status, ST_STATUS_NOT_DELIVERED);
  size_t n;
  st_thread t;
  thread_messages(f, &n, &t);
  assert_int_equal(t.needs_response, 1); /* the clock still runs */
  svc_outmail *ms;
  svc_mail_options mo = {0};
  assert_int_equal(svc_mail_claim(f->s, &mo, 16, f->a, &ms), 0); /* nothing to forward */
  /* A buyer's vacation reply: kept as the buyer's auto-reply, for the seller to read; never
   * forwarded, and no buyer message for the clock (still one waiting, the same due time). */
  pl_time due = t.response_due_at;
  svc_mail_in vac = {.mail_from = BUYER_REAL, .rcpt = f->seller_alias_t, .automatic = true, .text = "Jane is away"};
  assert_int_equal(receive(f, &vac, &r), PL_OK);
  assert_true(r.auto_reply);
  m = find(f, "Jane is away");
  assert_non_null(m);
  assert_int_equal(m->direction, ST_DIR_BUYER);
  assert_int_equal(m->kind, ST_KIND_AUTO_REPLY);
  assert_int_equal(m->status, ST_STATUS_NOT_DELIVERED);
  thread_messages(f, &n, &t);
  assert_int_equal(t.needs_response, 1);
  assert_int_equal(t.waiting, 1);
  assert_int_equal(t.response_due_at, due);
  assert_int_equal(svc_mail_claim(f->s, &mo, 16, f->a, &ms), 0);
  assert_int_equal(svc_thread_verify(f->s, t.id, &(pl_detail){0}), PL_OK);
}

/* Findings inside what parley forwarded are not the seller's; unsure ones are held. */
static void quoted_findings(void **state) {
  fx *f = *state;
  svc_mail_result r;
  /* An unrecognised quote header naming the buyer's alias, then the buyer's own text. */
  char *quoted = pl_arena_printf(f->a, "Sure, the charger is included.\n\nJane Doe <%s> hat am 23.11.2026 "
                                       "geschrieben:\nPlease call me on +1 555 0100 about the charger.",
                                 f->buyer_alias_t);
  svc_mail_in in = {.mail_from = SELLER_REAL, .rcpt = f->buyer_alias_t, .text = quoted};
  assert_int_equal(receive(f, &in, &r), PL_OK);
  if (find(f, "the charger is included")->status != ST_STATUS_DELIVERED) fail_msg("%s", find(f, "the charger is included")->policy_json);
  /* Below that quote, a contact the buyer never wrote: cannot tell, held for review. */
  f->now += 10;
  char *unsure = pl_arena_printf(f->a, "Happy to help.\n\nJane Doe <%s> hat geschrieben:\n"
                                       "Please call me on +1 555 0100 about the charger.\n"
                                       "Or write to sales@acme-direct.example", f->buyer_alias_t);
  in.text = unsure;
  if (receive(f, &in, &r)) fail_msg("%s", find(f, "Happy to help")->policy_json);
  assert_int_equal(find(f, "Happy to help")->status, ST_STATUS_HELD_FOR_REVIEW);
  /* The same address in the seller's own words above any quote is the seller's. */
  f->now += 10;
  in.text = "Write to sales@acme-direct.example for a better price.";
  assert_int_equal(receive(f, &in, &r), PL_OK); /* recorded as rejected; the seller is told */
  assert_true(r.refused);
  assert_int_equal(find(f, "for a better price")->status, ST_STATUS_REJECTED);
  /* A host that only starts with the relay domain is no alias, and naming an alias on a
   * line of one's own does not make what follows a quote. */
  static const char *const own[][2] = {
      {"Cheaper at https://relay.example.com.cheap-drills.example/deal today", "deal today"},
      {"Write to me at x@relay.example.com\nor better at sales@acme-direct.example", "or better at"},
  };
  for (size_t i = 0; i < sizeof own / sizeof own[0]; i++) {
    f->now += 10;
    in.text = own[i][0];
    assert_int_equal(receive(f, &in, &r), PL_OK);
    assert_true(r.refused);
    assert_int_equal(find(f, own[i][1])->status, ST_STATUS_REJECTED);
  }
}

/* One mail to "alias" and "alias+tN" in one transaction is one message. */
static void one_message_per_thread(void **state) {
  fx *f = *state;
  svc_mail_result done[3];
  svc_mail_in in = {.mail_from = BUYER_REAL, .rcpt = f->seller_alias, .text = "Is there a warranty?",
                    .in_reply_to = f->seller_mid};
  assert_int_equal(receive(f, &in, &done[0]), PL_OK);
  in.rcpt = f->seller_alias_t;
  in.earlier = done;
  in.nearlier = 1;
  assert_int_equal(receive(f, &in, &done[1]), PL_OK);
  assert_int_equal(done[0].message_id, done[1].message_id);
  svc_mail_result third;
  char *upper = pl_arena_strdup(f->a, f->seller_alias_t);
  for (char *p = upper; *p; p++) *p = (char)toupper((unsigned char)*p);
  in.rcpt = upper;
  in.nearlier = 2;
  assert_int_equal(receive(f, &in, &third), PL_OK);
  assert_int_equal(third.message_id, done[0].message_id);
  size_t n, count = 0;
  st_thread t;
  st_message *m = thread_messages(f, &n, &t);
  for (size_t i = 0; i < n; i++) count += strstr(m[i].text, "warranty") != NULL;
  assert_int_equal(count, 1);
}

/* A review request comes from the marketplace's no-reply address, for the seller, with no
 * address to answer into the thread; an answer to it is refused with words that say where
 * to write, and nothing is stored. */
static void review_request_from_no_reply(void **state) {
  fx *f = *state;
  import(f, "{\"type\":\"order\",\"id\":\"112-4839201-5561099\",\"marketplace\":\"ATVPDKIKX0DER\",\"seller\":\"S1\",\"buyer\":\"B1\",\"status\":\"delivered\",\"purchased_at\":\"2026-09-20T10:00:00Z\",\"delivered_at\":\"2026-09-28T10:00:00Z\"}");
  svc_sent sent;
  pl_detail d = {0};
  assert_int_equal(svc_request_review(f->s, &f->agent, "112-4839201-5561099", f->a, &sent, &d), PL_OK);
  policy_verdict_free(&sent.verdict);
  svc_outmail *ms;
  svc_mail_options mo = {0};
  assert_int_equal(svc_mail_claim(f->s, &mo, 16, f->a, &ms), 1);
  assert_string_equal(ms[0].rcpt, BUYER_REAL);
  assert_string_equal(ms[0].from_addr, "no-reply@relay.example.com");
  assert_string_equal(ms[0].from_name, "Example US for Acme Tools");
  assert_null(ms[0].reply_to);
  assert_non_null(strstr(ms[0].text, "does not take replies"));
  assert_non_null(strstr(ms[0].text, "112-4839201-5561099"));
  char *review_mid = pl_arena_printf(f->a, "<%s>", ms[0].message_id);
  svc_mail_report(f->s, &mo, &ms[0], SVC_MAIL_SENT, NULL);
  /* the buyer answers it: refused with the way to write, nothing stored, nothing sent */
  st_thread_query q = {.order_id = "112-4839201-5561099"};
  st_thread *ts, t;
  st_message *m;
  size_t nt, before, after;
  int64_t rn;
  assert_int_equal(svc_thread_list(f->s, &f->agent, &q, f->a, &ts, &nt, &rn, &d), PL_OK);
  assert_int_equal(nt, 1);
  assert_int_equal(svc_thread_get(f->s, &f->agent, ts[0].id, f->a, &t, &m, &before, &d), PL_OK);
  svc_mail_in in = {.mail_from = BUYER_REAL, .rcpt = "No-Reply@relay.example.com", .text = "Can I still return it?",
                    .in_reply_to = review_mid, .trust_envelope = true};
  svc_mail_result r;
  d = (pl_detail){0};
  assert_int_equal(svc_mail_receive(f->s, &in, f->a, &r, &d), PL_EFORBIDDEN);
  assert_non_null(strstr(d.msg, "does not take replies"));
  assert_int_equal(r.message_id, 0);
  assert_int_equal(svc_thread_get(f->s, &f->agent, ts[0].id, f->a, &t, &m, &after, &d), PL_OK);
  assert_int_equal(after, before);
  assert_int_equal(svc_mail_claim(f->s, &mo, 16, f->a, &ms), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(outbox_claim_and_report, setup, teardown),
      cmocka_unit_test_setup_teardown(return_path_takes_only_a_matching_dsn, setup, teardown),
      cmocka_unit_test_setup_teardown(automatic_mail, setup, teardown),
      cmocka_unit_test_setup_teardown(quoted_findings, setup, teardown),
      cmocka_unit_test_setup_teardown(one_message_per_thread, setup, teardown),
      cmocka_unit_test_setup_teardown(review_request_from_no_reply, setup, teardown),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
