/* test_service_mail_receive.c - who a mail speaks for (svc_mail_receive), over a real SQLite store and a
 * fake clock: the verifier's results, agents' addresses and roles, reply-address MACs, and one
 * refusal that stores and counts nothing (docs/postfix.md, "Who speaks for a party"). */
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
#include "util/pl_ref.h"
#include "service/svc_mail.h"

#define AUTHSERV "mx.parley.test"
#define ORDER "112-4839201-5561023"

typedef struct {
  svc *s;
  pl_keys keys;
  pl_time now;
  char dir[64];
  char db[128];
  char key[160];
  svc_caller buyer, owner, owner_b;
  int64_t owner_id, ann, rita, tid;
  char *seller_alias, *buyer_alias;
  pl_arena *a;
} fx;

static pl_time fake_now(void *ctx) { return ((fx *)ctx)->now; }

#include "svc_fixture.h"

static void import(fx *f, const char *line) {
  pl_detail d = {0};
  pl_err e = svc_import_line(f->s, line, strlen(line), &d);
  if (e) fail_msg("import failed: %s: %s (%s)", pl_errname(e), d.msg, line);
}

static int64_t agent(fx *f, const char *name, const char *role) {
  pl_detail d = {0};
  int64_t id;
  assert_int_equal(svc_agent_add(f->s, "S1", name, role, &id, &d), PL_OK);
  return id;
}

static void add_address(fx *f, int64_t agent_id, const char *email) {
  pl_detail d = {0};
  svc_agent_address v;
  pl_err e = svc_agent_address_add(f->s, &f->owner, agent_id, email, f->a, &v, &d);
  if (e) fail_msg("address %s: %s", email, d.msg);
}

static int setup(void **state) {
  fx *f = calloc(1, sizeof *f);
  strcpy(f->dir, "/tmp/parley-mailrx-XXXXXX");
  assert_non_null(mkdtemp(f->dir));
  snprintf(f->db, sizeof f->db, "%s/t.db", f->dir);
  snprintf(f->key, sizeof f->key, "%s/t.key", f->dir);
  const char *key = f->key;
  pl_detail d = {0};
  assert_int_equal(pl_crypto_init(), PL_OK);
  assert_int_equal(pl_keys_load_or_create(key, &f->keys, &d), PL_OK);
  store *st;
  assert_int_equal(store_open(f->db, &st, &d), PL_OK);
  f->now = 1791190800; /* 2026-10-05T09:00:00Z; the clock stands still: no rate token refills */
  svc_options o = {.clock = {fake_now, f}, .policy = shared_policy, .key_file = key};
  assert_int_equal(svc_new(st, &f->keys, &o, &f->s, &d), PL_OK);
  f->a = pl_arena_new();
  import(f, "{\"type\":\"marketplace\",\"id\":\"ATVPDKIKX0DER\",\"name\":\"Example US\",\"domains\":[\"example.com\"],\"locale\":\"en-US\"}");
  import(f, "{\"type\":\"seller\",\"id\":\"S1\",\"marketplace\":\"ATVPDKIKX0DER\",\"name\":\"Acme Tools\",\"email\":\"support@acme.test\"}");
  import(f, "{\"type\":\"buyer\",\"id\":\"B1\",\"name\":\"Jane Doe\",\"email\":\"jane@mail.test\",\"locale\":\"en-US\"}");
  import(f, "{\"type\":\"order\",\"id\":\"" ORDER "\",\"marketplace\":\"ATVPDKIKX0DER\",\"seller\":\"S1\",\"buyer\":\"B1\",\"status\":\"delivered\",\"purchased_at\":\"2026-10-01T10:00:00Z\",\"delivered_at\":\"2026-10-04T15:30:00Z\"}");
  f->owner_id = agent(f, "Maya", "owner");
  f->owner = (svc_caller){.kind = ST_PRINCIPAL_AGENT, .seller_id = "S1", .agent_id = f->owner_id,
                          .agent_role = ST_ROLE_OWNER, .marketplace_id = "ATVPDKIKX0DER", .name = "agent:owner"};
  f->buyer = (svc_caller){.kind = ST_PRINCIPAL_BUYER, .buyer_id = "B1", .name = "buyer:B1"};
  f->ann = agent(f, "Ann", "agent");
  f->rita = agent(f, "Rita", "read_only");
  add_address(f, f->ann, "ann@acme.test");
  add_address(f, f->rita, "rita@acme.test");
  svc_start_in in = {.order_id = ORDER, .topic = "product_question", .text = "Does it come with a charger?"};
  st_thread t;
  svc_sent m;
  assert_int_equal(svc_thread_start(f->s, &f->buyer, &in, f->a, &t, &m, &d), PL_OK);
  policy_verdict_free(&m.verdict);
  f->tid = t.id;
  st_seller sl;
  store *stp = svc_store(f->s);
  assert_int_equal(store_begin(stp, false), PL_OK);
  assert_int_equal(store_seller_get(stp, "S1", NULL, f->a, &sl), PL_OK);
  assert_int_equal(store_alias_get(stp, "ATVPDKIKX0DER", "B1", "S1", f->a, &f->buyer_alias), PL_OK);
  store_rollback(stp);
  f->seller_alias = sl.alias;
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fx *f = *state;
  svc_free(f->s);
  pl_arena_free(f->a);
  char cmd[160];
  snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
  assert_int_equal(system(cmd), 0);
  free(f);
  return 0;
}

/* The reply address parley gives party ('s' seller, 'b' buyer) for thread tid, computed
 * the way the service documents it (a keyed BLAKE2b of the thread and the party). */
static char *reply_address(fx *f, const char *alias, char party, int64_t tid) {
  char in[64], hex[65];
  snprintf(in, sizeof in, "%s:%lld", party == 's' ? "reply-seller" : "reply-buyer", (long long)tid);
  pl_keyed_hash_hex(&f->keys, in, hex);
  const char *at = strrchr(alias, '@');
  char ref[PL_REF_MAX];
  return pl_arena_printf(f->a, "%.*s+t%s-%.16s%s", (int)(at - alias), alias, pl_ref_format(ref, "T", tid) + 1,
                         hex, at);
}

static char *message_id(fx *f, int64_t mid) {
  char in[64], hex[65];
  snprintf(in, sizeof in, "mid:%lld", (long long)mid);
  pl_keyed_hash_hex(&f->keys, in, hex);
  char ref[PL_REF_MAX];
  return pl_arena_printf(f->a, "<%s.%.8s@relay.example.com>", pl_ref_format(ref, "M", mid), hex);
}

static char *headers(fx *f, const char *from, const char *ar) {
  return pl_arena_printf(f->a, "%s%s%sFrom: %s\r\nSubject: Re\r\n\r\n", ar ? "Authentication-Results: " : "",
                         ar ? ar : "", ar ? "\r\n" : "", from);
}

static char *signed_by(fx *f, const char *domain) {
  return pl_arena_printf(f->a, AUTHSERV "; dkim=pass (1024-bit key) header.d=%s header.s=sel", domain);
}

static pl_err receive(fx *f, const char *rcpt, const char *from, const char *ar, const char *text, const char *irt,
                      svc_mail_result *res, pl_detail *d) {
  const char *h = headers(f, from, ar);
  svc_mail_in in = {.mail_from = from, .rcpt = rcpt, .text = text, .in_reply_to = irt, .headers = h,
                    .headers_len = strlen(h), .authserv_id = AUTHSERV};
  memset(d, 0, sizeof *d);
  return svc_mail_receive(f->s, &in, f->a, res, d);
}

static size_t count_messages(fx *f) {
  st_thread t;
  st_message *m;
  size_t n;
  pl_detail d = {0};
  assert_int_equal(svc_thread_get(f->s, &f->owner, f->tid, f->a, &t, &m, &n, &d), PL_OK);
  return n;
}

static void authenticated_buyer_and_agents_speak(void **state) {
  fx *f = *state;
  svc_mail_result res;
  pl_detail d;
  char *to_seller = reply_address(f, f->seller_alias, 'b', f->tid);
  assert_int_equal(receive(f, to_seller, "Jane <jane@mail.test>", signed_by(f, "mail.test"),
                           "Is the case included?", NULL, &res, &d), PL_OK);
  assert_true(res.message_id > 0);
  char *to_buyer = reply_address(f, f->buyer_alias, 's', f->tid);
  assert_int_equal(receive(f, to_buyer, "Ann <ann@acme.test>", signed_by(f, "acme.test"), "Yes, it is.", NULL,
                           &res, &d), PL_OK);
  /* Ann's reply is Ann's, not the "E-mail" agent's. */
  st_thread t;
  st_message *m;
  size_t n;
  assert_int_equal(svc_thread_get(f->s, &f->owner, f->tid, f->a, &t, &m, &n, &d), PL_OK);
  assert_int_equal(m[n - 1].agent_id, f->ann);
  assert_int_equal(m[n - 1].direction, ST_DIR_SELLER);
}

static int64_t gen_rows(fx *f, uint32_t id) {
  svc_key_report r;
  pl_detail d = {0};
  assert_int_equal(svc_key_status(f->s, true, &r, &d), PL_OK);
  assert_int_equal(r.unreadable, 0);
  for (size_t i = 0; i < r.ngens; i++)
    if (r.gens[i].id == id) return r.gens[i].rows;
  return -1;
}

/* A key rotation under a running service: it notices the new generation in the key file,
 * finds parties by either generation's look-up hash while rows are re-sealed, an
 * interrupted walk finishes on a second run, and after the old generation is dropped every
 * party still speaks while the old keys open none of the stored addresses. */
static void key_rotation_keeps_every_party_speaking(void **state) {
  fx *f = *state;
  svc_mail_result res;
  pl_detail d = {0};
  char *to_seller = reply_address(f, f->seller_alias, 'b', f->tid);
  char *to_buyer = reply_address(f, f->buyer_alias, 's', f->tid);
  assert_int_equal(gen_rows(f, 1), 4); /* S1, B1, Ann's and Rita's addresses */
  pl_keys k;
  assert_int_equal(pl_keys_load(f->key, &k, &d), PL_OK);
  assert_int_equal(pl_keys_add_gen(&k, &d), PL_OK);
  assert_int_equal(pl_keys_save(f->key, &k, &d), PL_OK);
  /* Before the walk: rows hashed by generation 1 are found. */
  assert_int_equal(receive(f, to_seller, "jane@mail.test", signed_by(f, "mail.test"), "One", NULL, &res, &d), PL_OK);
  assert_int_equal(receive(f, to_buyer, "ann@acme.test", signed_by(f, "acme.test"), "Two", NULL, &res, &d), PL_OK);
  /* A new address is sealed by generation 2; one registered under generation 1 is still a duplicate. */
  add_address(f, f->ann, "ann2@acme.test");
  assert_int_equal(gen_rows(f, 2), 1);
  svc_agent_address v;
  assert_int_equal(svc_agent_address_add(f->s, &f->owner, f->owner_id, "rita@acme.test", f->a, &v, &d), PL_EEXIST);
  /* Interrupted after one batch of one row, then finished by a second run. */
  svc_key_walked w;
  assert_int_equal(svc_key_walk(f->s, 1, 1, &w, &d), PL_EINTERNAL);
  assert_int_equal(w.resealed, 1);
  assert_int_equal(gen_rows(f, 1), 3);
  assert_int_equal(svc_key_walk(f->s, 2, 0, &w, &d), PL_OK);
  assert_int_equal(w.resealed, 3);
  assert_int_equal(gen_rows(f, 1), 0);
  assert_int_equal(gen_rows(f, 2), 5);
  assert_int_equal(svc_key_walk(f->s, 0, 0, &w, &d), PL_EINVAL);
  /* Generation 1 retired: every party still speaks, by generation 2's hashes. */
  assert_int_equal(pl_keys_drop_gen(&k, 1, &d), PL_OK);
  assert_int_equal(pl_keys_save(f->key, &k, &d), PL_OK);
  assert_int_equal(receive(f, to_seller, "jane@mail.test", signed_by(f, "mail.test"), "Three", NULL, &res, &d), PL_OK);
  assert_int_equal(receive(f, to_buyer, "ann@acme.test", signed_by(f, "acme.test"), "Four", NULL, &res, &d), PL_OK);
  assert_int_equal(receive(f, to_buyer, "ann2@acme.test", signed_by(f, "acme.test"), "Five", NULL, &res, &d), PL_OK);
  svc_agent_address *list;
  size_t n = 0;
  assert_int_equal(svc_agent_address_list(f->s, &f->owner, f->ann, f->a, &list, &n, &d), PL_OK);
  assert_int_equal(n, 2);
  assert_string_equal(list[0].email, "ann@acme.test");
  /* The keys read at the start (generation 1 only) open nothing stored now. */
  store *st = svc_store(f->s);
  st_buyer b;
  st_seller sl;
  assert_int_equal(store_begin(st, false), PL_OK);
  assert_int_equal(store_buyer_get(st, "B1", NULL, f->a, &b), PL_OK);
  assert_int_equal(store_seller_get(st, "S1", NULL, f->a, &sl), PL_OK);
  store_rollback(st);
  assert_int_equal(pl_sealed_gen(b.email_sealed), 2);
  assert_null(pl_open(&f->keys, b.email_sealed));
  assert_null(pl_open(&f->keys, sl.email_sealed));
  char *p = pl_open(&k, b.email_sealed);
  assert_string_equal(p, "jane@mail.test");
  free(p);
}

/* A seller's reply the policy refused comes back to the seller in the language of its
 * notices (docs/notifications.md), with the findings. */
static void refusal_in_the_sellers_language(void **state) {
  fx *f = *state;
  pl_detail d = {0};
  json_t *in = json_pack("{s:s}", "notice_language", "de"), *out = NULL;
  assert_int_equal(svc_seller_settings_set(f->s, &f->owner, "S1", in, f->a, &out, &d), PL_OK);
  json_decref(in);
  json_decref(out);
  svc_mail_result res;
  char *to_buyer = reply_address(f, f->buyer_alias, 's', f->tid);
  assert_int_equal(receive(f, to_buyer, "Ann <ann@acme.test>", signed_by(f, "acme.test"),
                           "Write to me directly at dealer.direct@gmail.com", NULL, &res, &d), PL_OK);
  assert_true(res.refused);
  svc_outmail *ms;
  size_t n = svc_mail_claim(f->s, NULL, 16, f->a, &ms);
  bool seen = false;
  for (size_t i = 0; i < n; i++) {
    if (ms[i].row.kind == ST_OUTBOX_REFUSAL) {
      assert_non_null(strstr(ms[i].text, "wurde nicht zugestellt"));
      assert_non_null(strstr(ms[i].text, "Gefunden wurde:"));
      assert_non_null(strstr(ms[i].text, "dealer.direct@gmail.com")); /* the seller's own text, given back */
      seen = true;
    }
    svc_mail_report(f->s, NULL, &ms[i], SVC_MAIL_SENT, NULL);
  }
  assert_true(seen);
}

/* A deactivated agent's registered address speaks for nobody any more, with the same
 * answer as every other refusal. */
static void deactivated_agent_address_is_refused(void **state) {
  fx *f = *state;
  svc_mail_result res;
  pl_detail d, other;
  char *to_buyer = reply_address(f, f->buyer_alias, 's', f->tid);
  assert_int_equal(receive(f, to_buyer, "mallory@acme.test", signed_by(f, "acme.test"), "Hi", NULL, &res, &other),
                   PL_EFORBIDDEN);
  size_t before = count_messages(f);
  long n;
  assert_int_equal(svc_agent_deactivate(f->s, &f->owner, f->ann, &n, &d), PL_OK);
  assert_int_equal(receive(f, to_buyer, "Ann <ann@acme.test>", signed_by(f, "acme.test"), "Still here.", NULL, &res,
                           &d), PL_EFORBIDDEN);
  assert_string_equal(d.msg, other.msg);
  assert_int_equal(res.message_id, 0);
  assert_int_equal(count_messages(f), before);
}

static void everything_else_gets_one_answer_and_leaves_nothing(void **state) {
  fx *f = *state;
  svc_mail_result res;
  pl_detail d, first;
  char *to_seller = reply_address(f, f->seller_alias, 'b', f->tid);
  char *to_buyer = reply_address(f, f->buyer_alias, 's', f->tid);
  size_t before = count_messages(f);
  struct {
    const char *rcpt, *from, *ar, *irt;
  } tries[] = {
      {to_seller, "jane@mail.test", NULL, NULL},                                            /* unsigned */
      {to_seller, "jane@mail.test", AUTHSERV "; dkim=pass header.d=evil.test", NULL},       /* misaligned */
      {to_seller, "jane@mail.test", "mx.evil.test; dkim=pass header.d=mail.test", NULL},    /* not our verifier */
      {to_seller, "jane@mail.test", AUTHSERV "; dkim=pass header.d=mail.test; dmarc=fail header.from=mail.test", NULL},
      {to_seller, "mallory@mail.test", AUTHSERV "; dkim=pass header.d=mail.test", NULL},    /* a stranger */
      {to_buyer, "rita@acme.test", AUTHSERV "; dkim=pass header.d=acme.test", NULL},        /* read-only */
      {to_buyer, "jane@mail.test", AUTHSERV "; dkim=pass header.d=mail.test", NULL},        /* the buyer as seller */
      {to_seller, "support@acme.test", AUTHSERV "; dkim=pass header.d=acme.test", NULL},    /* the seller as buyer */
      {reply_address(f, f->seller_alias, 's', f->tid), "jane@mail.test", AUTHSERV "; dkim=pass header.d=mail.test", NULL},
      {reply_address(f, f->seller_alias, 'b', f->tid + 1), "jane@mail.test", AUTHSERV "; dkim=pass header.d=mail.test", NULL},
      {f->seller_alias, "jane@mail.test", AUTHSERV "; dkim=pass header.d=mail.test", NULL}, /* bare, no refs */
      {f->buyer_alias, "support@acme.test", AUTHSERV "; dkim=pass header.d=acme.test", "<M1.00000000@relay.example.com>"},
      {"k3v9qz7m2xa8d0fe@relay.example.com", "support@acme.test", AUTHSERV "; dkim=pass header.d=acme.test", NULL},
      {"bounce+1-0123456789abcdef@relay.example.com", "", NULL, NULL},
  };
  for (size_t i = 0; i < sizeof tries / sizeof tries[0]; i++) {
    pl_err e = receive(f, tries[i].rcpt, tries[i].from, tries[i].ar, "Please leave us a 5-star review!",
                       tries[i].irt, &res, &d);
    if (e != PL_EFORBIDDEN) fail_msg("try %zu: %s (%s)", i, pl_errname(e), d.msg);
    if (i == 0) first = d;
    else assert_string_equal(d.msg, first.msg);
    assert_int_equal(res.message_id, 0);
  }
  assert_int_equal(count_messages(f), before);
  /* Nothing was counted either: with the clock standing still, the seller's whole burst of
   * replies is still there. */
  for (int i = 0; i < 5; i++) {
    char *text = pl_arena_printf(f->a, "Reply number %d about your drill.", i + 1);
    pl_err e = receive(f, to_buyer, "support@acme.test", signed_by(f, "acme.test"), text, NULL, &res, &d);
    if (e) fail_msg("reply %d: %s (%s)", i + 1, pl_errname(e), d.msg);
  }
  /* ... and the bucket is real: the next one waits. */
  assert_int_equal(receive(f, to_buyer, "support@acme.test", signed_by(f, "acme.test"), "One more about the drill.",
                           NULL, &res, &d), PL_ERATELIMIT);
}

static void bare_alias_answers_a_received_message(void **state) {
  fx *f = *state;
  svc_mail_result res;
  pl_detail d;
  /* The buyer's first message is M1 or later: the seller received it. */
  st_thread t;
  st_message *m;
  size_t n;
  assert_int_equal(svc_thread_get(f->s, &f->owner, f->tid, f->a, &t, &m, &n, &d), PL_OK);
  char *irt = message_id(f, m[0].id);
  assert_int_equal(receive(f, f->buyer_alias, "support@acme.test", signed_by(f, "acme.test"), "Yes.", irt, &res, &d),
                   PL_OK);
  /* The buyer did not receive her own message: it does not open the seller's alias to her. */
  assert_int_equal(receive(f, f->seller_alias, "jane@mail.test", signed_by(f, "mail.test"), "Hi", irt, &res, &d),
                   PL_EFORBIDDEN);
  /* She did receive the seller's answer. */
  assert_int_equal(svc_thread_get(f->s, &f->owner, f->tid, f->a, &t, &m, &n, &d), PL_OK);
  char *answer = message_id(f, m[n - 1].id);
  assert_int_equal(receive(f, f->seller_alias, "jane@mail.test", signed_by(f, "mail.test"), "Thanks", answer, &res, &d),
                   PL_OK);
}

static void customer_service_address_speaks_as_the_owners_choice(void **state) {
  fx *f = *state;
  svc_mail_result res;
  pl_detail d;
  char *to_buyer = reply_address(f, f->buyer_alias, 's', f->tid);
  /* An agent may not take it; the owner may give it to Ann. */
  svc_caller ann = {.kind = ST_PRINCIPAL_AGENT, .seller_id = "S1", .agent_id = f->ann, .agent_role = ST_ROLE_AGENT,
                    .marketplace_id = "ATVPDKIKX0DER", .name = "agent:ann"};
  svc_agent_address v;
  assert_int_equal(svc_agent_address_add(f->s, &ann, f->ann, "support@acme.test", f->a, &v, &d), PL_EFORBIDDEN);
  assert_int_equal(svc_agent_address_add(f->s, &ann, f->rita, "x@acme.test", f->a, &v, &d), PL_EFORBIDDEN);
  add_address(f, f->ann, "support@acme.test");
  assert_int_equal(receive(f, to_buyer, "support@acme.test", signed_by(f, "acme.test"), "From the desk.", NULL, &res, &d),
                   PL_OK);
  st_thread t;
  st_message *m;
  size_t n;
  assert_int_equal(svc_thread_get(f->s, &f->owner, f->tid, f->a, &t, &m, &n, &d), PL_OK);
  assert_int_equal(m[n - 1].agent_id, f->ann);
  /* A buyer's address registered by an agent never speaks for the seller. */
  add_address(f, f->ann, "jane@mail.test");
  assert_int_equal(receive(f, to_buyer, "jane@mail.test", signed_by(f, "mail.test"), "Leave a review!", NULL, &res, &d),
                   PL_EFORBIDDEN);
}

static void envelope_trust_reads_the_envelope(void **state) {
  fx *f = *state;
  svc_mail_result res;
  pl_detail d;
  char *to_seller = reply_address(f, f->seller_alias, 'b', f->tid);
  const char *h = "From: someone@else.test\r\n\r\n";
  svc_mail_in in = {.mail_from = "Jane@Mail.test", .rcpt = to_seller, .text = "By envelope.", .headers = h,
                    .headers_len = strlen(h), .trust_envelope = true};
  assert_int_equal(svc_mail_receive(f->s, &in, f->a, &res, &d), PL_OK);
  in.mail_from = "mallory@mail.test";
  assert_int_equal(svc_mail_receive(f->s, &in, f->a, &res, &d), PL_EFORBIDDEN);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(authenticated_buyer_and_agents_speak, setup, teardown),
      cmocka_unit_test_setup_teardown(key_rotation_keeps_every_party_speaking, setup, teardown),
      cmocka_unit_test_setup_teardown(everything_else_gets_one_answer_and_leaves_nothing, setup, teardown),
    cmocka_unit_test_setup_teardown(deactivated_agent_address_is_refused, setup, teardown),
    cmocka_unit_test_setup_teardown(refusal_in_the_sellers_language, setup, teardown),
      cmocka_unit_test_setup_teardown(bare_alias_answers_a_received_message, setup, teardown),
      cmocka_unit_test_setup_teardown(customer_service_address_speaks_as_the_owners_choice, setup, teardown),
      cmocka_unit_test_setup_teardown(envelope_trust_reads_the_envelope, setup, teardown),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
