/* test_service.c - unit tests of the service rules over a real SQLite store and a fake clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "service/svc.h"

typedef struct {
  svc *s;
  pl_time now;
  char dir[64];
  char db[128];
  svc_caller buyer, agent, other_agent, operator_;
  pl_arena *a;
} fx;

static pl_time fake_now(void *ctx) { return ((fx *)ctx)->now; }

#include "svc_fixture.h"

static void import(fx *f, const char *line) {
  pl_detail d = {0};
  pl_err e = svc_import_line(f->s, line, strlen(line), &d);
  if (e) fail_msg("import failed: %s: %s (%s)", pl_errname(e), d.msg, line);
}

static int setup(void **state) {
  fx *f = calloc(1, sizeof *f);
  strcpy(f->dir, "/tmp/parley-svc-XXXXXX");
  assert_non_null(mkdtemp(f->dir));
  snprintf(f->db, sizeof f->db, "%s/t.db", f->dir);
  char key[160];
  snprintf(key, sizeof key, "%s/t.key", f->dir);
  pl_detail d = {0};
  assert_int_equal(pl_crypto_init(), PL_OK);
  pl_keys keys;
  assert_int_equal(pl_keys_load_or_create(key, &keys, &d), PL_OK);
  store *st;
  assert_int_equal(store_open(f->db, &st, &d), PL_OK);
  f->now = 1791190800; /* 2026-10-05T09:00:00Z */
  svc_options o = {.clock = {fake_now, f}, .policy = shared_policy};
  assert_int_equal(svc_new(st, &keys, &o, &f->s, &d), PL_OK);
  f->a = pl_arena_new();
  import(f, "{\"type\":\"marketplace\",\"id\":\"ATVPDKIKX0DER\",\"name\":\"Example US\",\"domains\":[\"example.com\"],\"locale\":\"en-US\"}");
  import(f, "{\"type\":\"seller\",\"id\":\"S1\",\"marketplace\":\"ATVPDKIKX0DER\",\"name\":\"Acme Tools\",\"email\":\"support@acme.test\"}");
  import(f, "{\"type\":\"seller\",\"id\":\"S2\",\"marketplace\":\"ATVPDKIKX0DER\",\"name\":\"Other\",\"email\":\"help@other.test\"}");
  import(f, "{\"type\":\"buyer\",\"id\":\"B1\",\"name\":\"Jane Doe\",\"email\":\"jane@mail.test\",\"locale\":\"en-US\"}");
  import(f, "{\"type\":\"order\",\"id\":\"112-4839201-5561023\",\"marketplace\":\"ATVPDKIKX0DER\",\"seller\":\"S1\",\"buyer\":\"B1\",\"status\":\"delivered\",\"purchased_at\":\"2026-10-01T10:00:00Z\",\"delivered_at\":\"2026-10-04T15:30:00Z\",\"items\":[{\"asin\":\"B0C1234567\",\"title\":\"Drill\",\"quantity\":1,\"price\":\"89.99\",\"currency\":\"USD\"}]}");
  import(f, "{\"type\":\"order\",\"id\":\"112-0000000-0000002\",\"marketplace\":\"ATVPDKIKX0DER\",\"seller\":\"S1\",\"buyer\":\"B1\",\"status\":\"canceled\"}");
  int64_t ag1, ag2;
  assert_int_equal(svc_agent_add(f->s, "S1", "Maya", "owner", &ag1, &d), PL_OK);
  assert_int_equal(svc_agent_add(f->s, "S2", "Otto", "agent", &ag2, &d), PL_OK);
  f->buyer = (svc_caller){.kind = ST_PRINCIPAL_BUYER, .buyer_id = "B1", .name = "buyer:B1"};
  f->agent = (svc_caller){.kind = ST_PRINCIPAL_AGENT, .seller_id = "S1", .agent_id = ag1,
                          .agent_role = ST_ROLE_OWNER, .marketplace_id = "ATVPDKIKX0DER", .name = "agent:1"};
  f->other_agent = (svc_caller){.kind = ST_PRINCIPAL_AGENT, .seller_id = "S2", .agent_id = ag2,
                                .agent_role = ST_ROLE_AGENT, .marketplace_id = "ATVPDKIKX0DER", .name = "agent:2"};
  f->operator_ = (svc_caller){.kind = ST_PRINCIPAL_OPERATOR, .name = "operator:ops"};
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

static int64_t start_thread(fx *f, const char *text) {
  svc_start_in in = {.order_id = "112-4839201-5561023", .topic = "product_question", .text = text};
  st_thread t;
  svc_sent m;
  pl_detail d = {0};
  pl_err e = svc_thread_start(f->s, &f->buyer, &in, f->a, &t, &m, &d);
  if (e) fail_msg("start: %s", d.msg);
  policy_verdict_free(&m.verdict);
  return t.id;
}

static pl_err send(fx *f, svc_caller *c, int64_t tid, const char *text, bool auto_reply, svc_sent *out) {
  svc_send_in in = {.text = text, .auto_reply = auto_reply};
  pl_detail d = {0};
  svc_sent tmp;
  pl_err e = svc_send(f->s, c, tid, &in, f->a, out ? out : &tmp, &d);
  if (!out) policy_verdict_free(&tmp.verdict);
  return e;
}

static st_thread get_thread(fx *f, int64_t id) {
  st_thread t;
  st_message *m;
  size_t n;
  pl_detail d = {0};
  assert_int_equal(svc_thread_get(f->s, &f->agent, id, f->a, &t, &m, &n, &d), PL_OK);
  return t;
}

/* The response-needed state follows buyer messages, counting replies, auto-replies and flags. */
static void thread_state_machine(void **state) {
  fx *f = *state;
  int64_t tid = start_thread(f, "Does it come with a charger?");
  st_thread t = get_thread(f, tid);
  assert_int_equal(t.needs_response, 1);
  assert_int_equal(t.response_due_at, f->now + 24 * 3600);

  f->now += 600; /* a second buyer message keeps the first deadline */
  assert_int_equal(send(f, &f->buyer, tid, "Also, which battery?", false, NULL), PL_OK);
  t = get_thread(f, tid);
  assert_int_equal(t.needs_response, 2);
  assert_int_equal(t.response_due_at, f->now - 600 + 24 * 3600);

  f->now += 60; /* an auto-reply does not answer */
  assert_int_equal(send(f, &f->agent, tid, "Thanks, we will get back to you.", true, NULL), PL_OK);
  t = get_thread(f, tid);
  assert_int_equal(t.needs_response, 2);

  f->now += 3600; /* a substantive reply answers every earlier buyer message */
  assert_int_equal(send(f, &f->agent, tid, "Yes, charger and a 2 Ah battery are included.", false, NULL), PL_OK);
  t = get_thread(f, tid);
  assert_int_equal(t.needs_response, 0);
  assert_int_equal(t.waiting, 0);
  assert_int_equal(t.response_due_at, 0);

  f->now += 60; /* a thank-you flagged as needing no response leaves the inbox */
  svc_sent m;
  assert_int_equal(send(f, &f->buyer, tid, "Thank you!", false, &m), PL_OK);
  policy_verdict_free(&m.verdict);
  t = get_thread(f, tid);
  assert_int_equal(t.needs_response, 1);
  st_message fm;
  pl_detail d = {0};
  assert_int_equal(svc_flag(f->s, &f->agent, m.msg.id, true, 0, f->a, &fm, &d), PL_OK);
  t = get_thread(f, tid);
  assert_int_equal(t.needs_response, 0);
  assert_int_equal(t.waiting, 1); /* still unanswered, but flagged */
  assert_int_equal(svc_flag(f->s, &f->agent, m.msg.id, false, 0, f->a, &fm, &d), PL_OK);
  t = get_thread(f, tid);
  assert_int_equal(t.needs_response, 1);
  /* a seller message cannot be flagged */
  st_message *msgs;
  size_t n;
  assert_int_equal(svc_thread_get(f->s, &f->agent, tid, f->a, &t, &msgs, &n, &d), PL_OK);
  assert_int_equal(n, 5);
  assert_int_equal(svc_flag(f->s, &f->agent, msgs[2].id, true, 0, f->a, &fm, &d), PL_EINVAL);
}

static void text_limits(void **state) {
  fx *f = *state;
  int64_t tid = start_thread(f, "Hello");
  char *text = malloc(5000 * 2 + 3);
  for (int i = 0; i < 5000; i++) memcpy(text + 2 * i, "\xc3\xa9", 2); /* 5,000 × é */
  text[10000] = '\0';
  assert_int_equal(send(f, &f->buyer, tid, text, false, NULL), PL_OK);
  memcpy(text + 10000, "x", 2); /* 5,001 characters */
  assert_int_equal(send(f, &f->buyer, tid, text, false, NULL), PL_ETOOLONG);
  free(text);
  assert_int_equal(send(f, &f->buyer, tid, "  \n\t ", false, NULL), PL_EEMPTY);
  assert_int_equal(send(f, &f->buyer, tid, "bad \xff byte", false, NULL), PL_EUTF8);
}

static void canceled_orders_are_closed(void **state) {
  fx *f = *state;
  svc_start_in in = {.order_id = "112-0000000-0000002", .topic = "other", .text = "Where is it?"};
  st_thread t;
  svc_sent m;
  pl_detail d = {0};
  assert_int_equal(svc_thread_start(f->s, &f->buyer, &in, f->a, &t, &m, &d), PL_ECANCELED);
  /* an open thread closes when its order is canceled, for both sides */
  int64_t tid = start_thread(f, "Hello");
  import(f, "{\"type\":\"order\",\"id\":\"112-4839201-5561023\",\"marketplace\":\"ATVPDKIKX0DER\",\"seller\":\"S1\",\"buyer\":\"B1\",\"status\":\"canceled\"}");
  assert_int_equal(send(f, &f->buyer, tid, "Still there?", false, NULL), PL_ECANCELED);
  assert_int_equal(send(f, &f->agent, tid, "Yes", false, NULL), PL_ECANCELED);
}

static void tenants_are_isolated(void **state) {
  fx *f = *state;
  int64_t tid = start_thread(f, "Hello");
  st_thread t;
  st_message *m;
  size_t n;
  pl_detail d = {0};
  assert_int_equal(svc_thread_get(f->s, &f->other_agent, tid, f->a, &t, &m, &n, &d), PL_ENOTFOUND);
  assert_int_equal(send(f, &f->other_agent, tid, "Hi", false, NULL), PL_ENOTFOUND);
  assert_int_equal(svc_thread_archive(f->s, &f->other_agent, tid, true, f->a, &t, &d), PL_ENOTFOUND);
  st_thread_query q = {0};
  st_thread *ts;
  int64_t rn;
  assert_int_equal(svc_thread_list(f->s, &f->other_agent, &q, f->a, &ts, &n, &rn, &d), PL_OK);
  assert_int_equal(n, 0);
  assert_int_equal(svc_thread_list(f->s, &f->agent, &q, f->a, &ts, &n, &rn, &d), PL_OK);
  assert_int_equal(n, 1);
  assert_int_equal(rn, 1);
  /* the operator reads everything but does not write in threads */
  assert_int_equal(svc_thread_get(f->s, &f->operator_, tid, f->a, &t, &m, &n, &d), PL_OK);
  assert_int_equal(send(f, &f->operator_, tid, "Hi", false, NULL), PL_EFORBIDDEN);
  /* a read-only agent reads but cannot write */
  svc_caller ro = f->agent;
  ro.agent_role = ST_ROLE_READ_ONLY;
  assert_int_equal(send(f, &ro, tid, "Hi", false, NULL), PL_EFORBIDDEN);
}

static void duplicate_threads_are_refused(void **state) {
  fx *f = *state;
  start_thread(f, "Hello");
  svc_start_in in = {.order_id = "112-4839201-5561023", .topic = "other", .text = "Again"};
  st_thread t;
  svc_sent m;
  pl_detail d = {0};
  assert_int_equal(svc_thread_start(f->s, &f->buyer, &in, f->a, &t, &m, &d), PL_EEXIST);
  svc_start_in bad = {.order_id = "112-4839201-5561023", .topic = "product_specifications", .text = "x"};
  assert_int_equal(svc_thread_start(f->s, &f->buyer, &bad, f->a, &t, &m, &d), PL_EINVAL);
  svc_start_in prod = {.asin = "B0C1234567", .seller_id = "S1", .topic = "product_specifications", .text = "Torque?"};
  assert_int_equal(svc_thread_start(f->s, &f->buyer, &prod, f->a, &t, &m, &d), PL_OK);
  policy_verdict_free(&m.verdict);
  assert_null(t.order_id);
  assert_int_equal(svc_thread_start(f->s, &f->buyer, &prod, f->a, &t, &m, &d), PL_EEXIST);
  /* a seller never starts a thread */
  assert_int_equal(svc_thread_start(f->s, &f->agent, &prod, f->a, &t, &m, &d), PL_EFORBIDDEN);
}

static void addresses_are_encrypted_at_rest(void **state) {
  fx *f = *state;
  start_thread(f, "Hello");
  svc_free(f->s); /* checkpoint and close, so that every byte is in the files */
  f->s = NULL;
  char cmd[512];
  snprintf(cmd, sizeof cmd, "cat %s/t.db* | grep -a -c -e jane@mail.test -e support@acme.test -e help@other.test", f->dir);
  FILE *p = popen(cmd, "r");
  int count = -1;
  assert_int_equal(fscanf(p, "%d", &count), 1);
  pclose(p);
  assert_int_equal(count, 0);
  /* reopen so that teardown can close it */
  char key[160];
  snprintf(key, sizeof key, "%s/t.key", f->dir);
  pl_keys keys;
  pl_detail d;
  assert_int_equal(pl_keys_load_or_create(key, &keys, &d), PL_OK);
  store *st;
  assert_int_equal(store_open(f->db, &st, &d), PL_OK);
  svc_options o = {.clock = {fake_now, f}, .policy = shared_policy};
  assert_int_equal(svc_new(st, &keys, &o, &f->s, &d), PL_OK);
}

static void import_rejects_bad_lines_whole(void **state) {
  fx *f = *state;
  pl_detail d = {0};
  const char *bad[] = {
    "{\"type\":\"message\",\"id\":\"X1\",\"order\":\"112-4839201-5561023\",\"from\":\"buyer\",\"at\":\"2026-10-05T09:00:00Z\",\"topic\":\"nonsense\",\"text\":\"hi\"}",
    "{\"type\":\"message\",\"id\":\"X1\",\"order\":\"999-0000000-0000000\",\"from\":\"buyer\",\"at\":\"2026-10-05T09:00:00Z\",\"text\":\"hi\"}",
    "{\"type\":\"message\",\"id\":\"X1\",\"order\":\"112-4839201-5561023\",\"from\":\"robot\",\"at\":\"2026-10-05T09:00:00Z\",\"text\":\"hi\"}",
    "{\"type\":\"message\",\"id\":\"X1\",\"order\":\"112-4839201-5561023\",\"from\":\"buyer\",\"at\":\"yesterday\",\"text\":\"hi\"}",
    "{\"type\":\"order\",\"id\":\"1124839201\",\"marketplace\":\"ATVPDKIKX0DER\",\"seller\":\"S1\",\"buyer\":\"B1\",\"status\":\"shipped\"}",
    "{\"type\":\"buyer\",\"id\":\"B9\",\"name\":\"No Mail\"}",
    "{\"type\":\"flag\",\"message\":\"nope\",\"at\":\"2026-10-05T09:00:00Z\",\"no_response_needed\":true}",
    "[1,2,3]",
    "{\"type\":\"spaceship\"}",
    "{not json",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    assert_int_not_equal(svc_import_line(f->s, bad[i], strlen(bad[i]), &d), PL_OK);
  st_thread_query q = {0};
  st_thread *ts;
  size_t n;
  int64_t rn;
  assert_int_equal(svc_thread_list(f->s, &f->agent, &q, f->a, &ts, &n, &rn, &d), PL_OK);
  assert_int_equal(n, 0); /* no thread was left behind by the failed message lines */
  /* a good message imports with its own time, and again is a duplicate */
  const char *ok = "{\"type\":\"message\",\"id\":\"M1\",\"order\":\"112-4839201-5561023\",\"from\":\"buyer\",\"at\":\"2026-10-05T09:00:00Z\",\"topic\":\"product_question\",\"text\":\"Charger?\"}";
  assert_int_equal(svc_import_line(f->s, ok, strlen(ok), &d), PL_OK);
  assert_int_equal(svc_import_line(f->s, ok, strlen(ok), &d), PL_EEXIST);
  assert_int_equal(svc_thread_list(f->s, &f->agent, &q, f->a, &ts, &n, &rn, &d), PL_OK);
  assert_int_equal(n, 1);
  assert_int_equal(ts[0].last_message_at, 1791190800);
}

static void aliases_are_stable_and_private(void **state) {
  fx *f = *state;
  import(f, "{\"type\":\"order\",\"id\":\"112-0000000-0000003\",\"marketplace\":\"ATVPDKIKX0DER\",\"seller\":\"S1\",\"buyer\":\"B1\",\"status\":\"shipped\"}");
  import(f, "{\"type\":\"order\",\"id\":\"112-0000000-0000004\",\"marketplace\":\"ATVPDKIKX0DER\",\"seller\":\"S2\",\"buyer\":\"B1\",\"status\":\"shipped\"}");
  store *st = svc_store(f->s);
  char *a1, *a2;
  assert_int_equal(store_begin(st, false), PL_OK);
  assert_int_equal(store_alias_get(st, "ATVPDKIKX0DER", "B1", "S1", f->a, &a1), PL_OK);
  assert_int_equal(store_alias_get(st, "ATVPDKIKX0DER", "B1", "S2", f->a, &a2), PL_OK);
  store_rollback(st);
  assert_string_not_equal(a1, a2);
  assert_int_equal(strspn(a1, "abcdefghijklmnopqrstuvwxyz0123456789"), 16);
  assert_string_equal(a1 + 16, "@relay.example.com");
  assert_null(strstr(a1, "jane"));
}

/* Sessions end at an absolute time; revocation and deactivation hold at once; an owner
 * administers only the seller's own agents; scopes keep SP-API tokens apart. */
static void identities_sessions_revocation_deactivation(void **state) {
  fx *f = *state;
  pl_detail d = {0};
  char agent[24], *tok, *sess, *sess2;
  snprintf(agent, sizeof agent, "%lld", (long long)f->agent.agent_id);
  assert_int_equal(svc_token_create(f->s, ST_PRINCIPAL_AGENT, agent, f->now + 3600, &tok, &d), PL_OK);
  svc_caller c;
  pl_time end;
  /* a session from a token ends no later than the token */
  assert_int_equal(svc_session_create(f->s, tok, NULL, f->a, &sess, &end, &c, &d), PL_OK);
  assert_int_equal(end, f->now + 3600);
  assert_int_equal(svc_authenticate(f->s, sess, f->a, &c, &d), PL_OK);
  assert_int_equal(c.scope, ST_SCOPE_SESSION);
  /* a session cannot sign in again */
  assert_int_equal(svc_session_create(f->s, sess, NULL, f->a, &sess2, &end, &c, &d), PL_ERENEW);
  assert_null(sess2);
  /* revoking the token revokes its session at once */
  assert_int_equal(svc_authenticate(f->s, tok, f->a, &c, &d), PL_OK);
  int64_t tid = c.token_id;
  long n;
  /* another seller's agent cannot see or revoke it; the seller's owner and the operator can */
  assert_int_equal(svc_token_revoke_id(f->s, &f->other_agent, tid, &n, &d), PL_EFORBIDDEN);
  svc_caller other_owner = f->other_agent;
  other_owner.agent_role = ST_ROLE_OWNER;
  assert_int_equal(svc_token_revoke_id(f->s, &other_owner, tid, &n, &d), PL_ENOTFOUND);
  st_token *ts;
  size_t nt;
  assert_int_equal(svc_token_list(f->s, &other_owner, false, f->a, &ts, &nt, &d), PL_OK);
  assert_int_equal(nt, 0);
  assert_int_equal(svc_token_list(f->s, &f->agent, false, f->a, &ts, &nt, &d), PL_OK);
  assert_int_equal(nt, 2);
  assert_int_equal(svc_token_revoke_id(f->s, &f->operator_, tid, &n, &d), PL_OK);
  assert_int_equal(n, 2);
  assert_int_equal(svc_authenticate(f->s, tok, f->a, &c, &d), PL_EREVOKED);
  assert_int_equal(svc_authenticate(f->s, sess, f->a, &c, &d), PL_EREVOKED);
  free(tok);
  free(sess);
  /* a sign-out moves the store's revocation counter, which the other nodes follow to close
   * that session's open event streams */
  assert_int_equal(svc_token_create(f->s, ST_PRINCIPAL_AGENT, agent, 0, &tok, &d), PL_OK);
  assert_int_equal(svc_session_create(f->s, tok, NULL, f->a, &sess, &end, &c, &d), PL_OK);
  store *st = svc_store(f->s);
  int64_t before = 0, after = 0;
  assert_int_equal(store_begin(st, false), PL_OK);
  store_counter(st, "revocations", false, &before);
  store_rollback(st);
  assert_int_equal(svc_token_revoke(f->s, sess, &d), PL_OK);
  assert_int_equal(store_begin(st, false), PL_OK);
  assert_int_equal(store_counter(st, "revocations", false, &after), PL_OK);
  store_rollback(st);
  assert_true(after > before);
  assert_int_equal(svc_authenticate(f->s, sess, f->a, &c, &d), PL_EREVOKED);
  free(tok);
  free(sess);
  /* an expired token mints nothing */
  assert_int_equal(svc_token_create(f->s, ST_PRINCIPAL_AGENT, agent, f->now + 10, &tok, &d), PL_OK);
  f->now += 11;
  assert_int_equal(svc_session_create(f->s, tok, NULL, f->a, &sess, &end, &c, &d), PL_EEXPIRED);
  assert_null(sess);
  free(tok);
  /* deactivation: an owner never deactivates another seller's agent nor themselves */
  char other[24];
  snprintf(other, sizeof other, "%lld", (long long)f->other_agent.agent_id);
  assert_int_equal(svc_token_create(f->s, ST_PRINCIPAL_AGENT, other, 0, &tok, &d), PL_OK);
  assert_int_equal(svc_agent_deactivate(f->s, &f->agent, f->other_agent.agent_id, &n, &d), PL_ENOTFOUND);
  assert_int_equal(svc_agent_deactivate(f->s, &f->agent, f->agent.agent_id, &n, &d), PL_EINVAL);
  assert_int_equal(svc_authenticate(f->s, tok, f->a, &c, &d), PL_OK);
  uint64_t epoch = svc_revocation_epoch(f->s);
  assert_int_equal(svc_agent_deactivate(f->s, &f->operator_, f->other_agent.agent_id, &n, &d), PL_OK);
  assert_int_equal(n, 1);
  assert_true(svc_revocation_epoch(f->s) > epoch);
  assert_int_equal(svc_authenticate(f->s, tok, f->a, &c, &d), PL_EDEACTIVATED);
  assert_int_equal(svc_token_create(f->s, ST_PRINCIPAL_AGENT, other, 0, &sess, &d), PL_EDEACTIVATED);
  assert_null(sess);
  free(tok);
}

static void tokens_authenticate_and_expire(void **state) {
  fx *f = *state;
  char *tok;
  pl_detail d = {0};
  assert_int_equal(svc_token_create(f->s, ST_PRINCIPAL_BUYER, "B1", f->now + 60, &tok, &d), PL_OK);
  svc_caller c;
  assert_int_equal(svc_authenticate(f->s, tok, f->a, &c, &d), PL_OK);
  assert_int_equal(c.kind, ST_PRINCIPAL_BUYER);
  assert_string_equal(c.buyer_id, "B1");
  f->now += 61;
  assert_int_equal(svc_authenticate(f->s, tok, f->a, &c, &d), PL_EEXPIRED);
  tok[5] ^= 1;
  assert_int_equal(svc_authenticate(f->s, tok, f->a, &c, &d), PL_EUNAUTH);
  free(tok);
  assert_int_equal(svc_token_create(f->s, ST_PRINCIPAL_BUYER, "nobody", 0, &tok, &d), PL_EINVAL);
  assert_null(tok);
}

static void records_are_append_only(void **state) {
  fx *f = *state;
  start_thread(f, "Hello");
  store *st = svc_store(f->s);
  (void)st;
  /* the database itself refuses to change or delete a message or an audit entry */
  char cmd[512];
  snprintf(cmd, sizeof cmd,
           "sqlite3 %s \"UPDATE messages SET text='forged'\" 2>&1 | grep -c append-only", f->db);
  FILE *p = popen(cmd, "r");
  int count = 0;
  assert_int_equal(fscanf(p, "%d", &count), 1);
  pclose(p);
  assert_int_equal(count, 1);
  snprintf(cmd, sizeof cmd, "sqlite3 %s \"DELETE FROM audit\" 2>&1 | grep -c append-only", f->db);
  p = popen(cmd, "r");
  assert_int_equal(fscanf(p, "%d", &count), 1);
  pclose(p);
  assert_int_equal(count, 1);
}

static void export_links_the_audit_chain(void **state) {
  fx *f = *state;
  int64_t tid = start_thread(f, "Hello");
  assert_int_equal(send(f, &f->agent, tid, "Hi Jane, how can we help?", false, NULL), PL_OK);
  json_t *j;
  pl_detail d = {0};
  assert_int_equal(svc_thread_export(f->s, &f->agent, tid, f->a, &j, &d), PL_EFORBIDDEN);
  assert_int_equal(svc_thread_export(f->s, &f->operator_, tid, f->a, &j, &d), PL_OK);
  assert_int_equal(json_array_size(json_object_get(j, "messages")), 2);
  assert_true(json_array_size(json_object_get(j, "events")) >= 2);
  json_t *aud = json_object_get(j, "audit");
  assert_true(json_array_size(aud) >= 2);
  for (size_t i = 0; i < json_array_size(aud); i++)
    assert_int_equal(strlen(json_string_value(json_object_get(json_array_get(aud, i), "hash"))), 64);
  json_decref(j);
}

/* A marketplace's own https domains are allowed in its sellers' messages, and only
 * there: the compiled policy is shared, the allow list is the marketplace's. */
static void marketplace_domains_are_per_marketplace(void **state) {
  fx *f = *state;
  import(f, "{\"type\":\"marketplace\",\"id\":\"M2\",\"name\":\"Other\",\"domains\":[\"example.org\"],\"locale\":\"en-GB\"}");
  int64_t tid = start_thread(f, "Where can I find the manual?");
  svc_sent m;
  assert_int_equal(send(f, &f->agent, tid, "The manual is at https://www.example.com/help/drill-manual", false, &m), PL_OK);
  assert_int_equal(m.msg.status, ST_STATUS_DELIVERED);
  policy_verdict_free(&m.verdict);
  assert_int_equal(send(f, &f->agent, tid, "The manual is at https://www.example.org/help/drill-manual", false, &m), PL_EPOLICY);
  assert_int_equal(m.msg.status, ST_STATUS_REJECTED);
  assert_true(m.verdict.nfindings > 0);
  assert_string_equal(m.verdict.findings[0].category, "link");
  policy_verdict_free(&m.verdict);
}

/* A buyer's own phone number and address reach the seller masked; the record keeps
 * them for the operator's evidence. */
static void buyer_contacts_are_masked_for_the_seller(void **state) {
  fx *f = *state;
  int64_t tid = start_thread(f, "Please call me at +1 415 555 0132 or write to jane.doe@gmail.com, order 112-4839201-5561023.");
  st_thread t;
  st_message *m;
  size_t n;
  pl_detail d = {0};
  assert_int_equal(svc_thread_get(f->s, &f->agent, tid, f->a, &t, &m, &n, &d), PL_OK);
  assert_null(strstr(m[0].text, "555"));
  assert_null(strstr(m[0].text, "jane.doe@gmail.com"));
  assert_non_null(strstr(m[0].text, "[phone number removed]"));
  assert_non_null(strstr(m[0].text, "[e-mail address removed]"));
  assert_non_null(strstr(m[0].text, "112-4839201-5561023")); /* the order ID is not a phone */
  assert_int_equal(svc_thread_get(f->s, &f->operator_, tid, f->a, &t, &m, &n, &d), PL_OK);
  assert_non_null(strstr(m[0].text, "jane.doe@gmail.com"));
  assert_int_equal(svc_thread_get(f->s, &f->buyer, tid, f->a, &t, &m, &n, &d), PL_OK);
  assert_non_null(strstr(m[0].text, "555"));
  /* the marketplace may turn it off */
  import(f, "{\"type\":\"marketplace\",\"id\":\"ATVPDKIKX0DER\",\"name\":\"Example US\",\"domains\":[\"example.com\"],\"locale\":\"en-US\",\"settings\":{\"mask_buyer_contacts\":false}}");
  assert_int_equal(svc_thread_get(f->s, &f->agent, tid, f->a, &t, &m, &n, &d), PL_OK);
  assert_non_null(strstr(m[0].text, "jane.doe@gmail.com"));
}

/* The seller view is the only way a buyer's text reaches an agent: a message that did not
 * pass it shows nothing; the flag answer passes it; the seller's search runs over the masked
 * text. */
static void the_seller_view_is_the_only_way(void **state) {
  fx *f = *state;
  int64_t tid = start_thread(f, "Please call me at +1 415 555 0132 about the sprocket.");
  st_thread t;
  st_message *m;
  size_t n;
  pl_detail d = {0};
  assert_int_equal(svc_thread_get(f->s, &f->agent, tid, f->a, &t, &m, &n, &d), PL_OK);
  st_message raw = m[0];
  raw.text = "Please call me at +1 415 555 0132 about the sprocket.";
  raw.text_viewed = false; /* as read from the store by a path that forgot the view */
  st_msg_attachment file = {.id = "A1", .name = "call-me-415-555-0132.txt", .kind = "txt", .size = 3};
  raw.attachments = &file;
  raw.nattachments = 1;
  json_t *j = svc_json_message(&f->agent, &raw);
  assert_string_equal(json_string_value(json_object_get(j, "text")), "[text withheld]");
  json_t *jf = json_array_get(json_object_get(j, "attachments"), 0);
  assert_string_equal(json_string_value(json_object_get(jf, "name")), "[name withheld]");
  json_decref(j);
  j = svc_json_message(&f->agent, &m[0]);
  assert_null(strstr(json_string_value(json_object_get(j, "text")), "555"));
  assert_non_null(strstr(json_string_value(json_object_get(j, "text")), "sprocket"));
  json_decref(j);
  j = svc_json_message(&f->operator_, &raw); /* the operator's record is not masked */
  assert_non_null(strstr(json_string_value(json_object_get(j, "text")), "555"));
  json_decref(j);
  /* the flag answer */
  st_message fm;
  assert_int_equal(svc_flag(f->s, &f->agent, m[0].id, true, 0, f->a, &fm, &d), PL_OK);
  assert_true(fm.text_viewed);
  assert_null(strstr(fm.text, "555"));
  /* the seller's search: a word finds the thread, the number does not; the operator's does */
  st_thread *l;
  int64_t rn;
  st_thread_query q = {.fts = "sprocket"};
  assert_int_equal(svc_thread_list(f->s, &f->agent, &q, f->a, &l, &n, &rn, &d), PL_OK);
  assert_int_equal(n, 1);
  q = (st_thread_query){.fts = "555 0132"};
  assert_int_equal(svc_thread_list(f->s, &f->agent, &q, f->a, &l, &n, &rn, &d), PL_OK);
  assert_int_equal(n, 0);
  q = (st_thread_query){.fts = "555 0132"};
  assert_int_equal(svc_thread_list(f->s, &f->operator_, &q, f->a, &l, &n, &rn, &d), PL_OK);
  assert_int_equal(n, 1);
  /* a marketplace that does not mask lets its sellers search the text as it is */
  import(f, "{\"type\":\"marketplace\",\"id\":\"ATVPDKIKX0DER\",\"name\":\"Example US\",\"domains\":[\"example.com\"],\"locale\":\"en-US\",\"settings\":{\"mask_buyer_contacts\":false}}");
  q = (st_thread_query){.fts = "555 0132"};
  assert_int_equal(svc_thread_list(f->s, &f->agent, &q, f->a, &l, &n, &rn, &d), PL_OK);
  assert_int_equal(n, 1);
  /* a buyer may not filter by the team's work */
  q = (st_thread_query){.tag = "vip"};
  assert_int_equal(svc_thread_list(f->s, &f->buyer, &q, f->a, &l, &n, &rn, &d), PL_ETEAMONLY);
  q = (st_thread_query){.filter = ST_FILTER_ARCHIVED};
  assert_int_equal(svc_thread_list(f->s, &f->buyer, &q, f->a, &l, &n, &rn, &d), PL_ETEAMONLY);
}

static size_t deadline_events(fx *f, uint64_t after, uint64_t *latest) {
  svc_event ev[16];
  bool gap;
  size_t n = svc_events_since(f->s, &f->agent, after, ev, 16, latest, &gap), k = 0;
  for (size_t i = 0; i < n; i++) k += ev[i].type == SVC_EVENT_DEADLINE;
  return k;
}

/* The clock raises one event when a waiting message has less than 4 hours left. */
static void deadline_alert_at_the_mark(void **state) {
  fx *f = *state;
  pl_time t0 = f->now;
  start_thread(f, "Is it in stock?");
  uint64_t seen = svc_events_latest(f->s), latest;
  f->now = t0 + 20 * 3600 - 1; /* 4 h and 1 s left */
  assert_int_equal(svc_deadline_tick(f->s), PL_OK);
  assert_int_equal(deadline_events(f, seen, &latest), 0);
  f->now = t0 + 20 * 3600; /* exactly 4 h left */
  assert_int_equal(svc_deadline_tick(f->s), PL_OK);
  assert_int_equal(deadline_events(f, seen, &latest), 1);
  seen = latest;
  f->now += 600; /* once only */
  assert_int_equal(svc_deadline_tick(f->s), PL_OK);
  assert_int_equal(deadline_events(f, seen, &latest), 0);
  /* a buyer does not hear of the seller's deadlines */
  svc_event ev[4];
  bool gap;
  assert_int_equal(svc_events_since(f->s, &f->buyer, 0, ev, 4, &latest, &gap), 1); /* the message */
}

/* A reload on one node reaches the others sharing its store: they follow the store's
 * reload counter at their next tick. Two services on one database stand for two nodes. */
static void policy_reload_reaches_every_node(void **state) {
  fx *f = *state;
  char cfg[200], key[160];
  snprintf(cfg, sizeof cfg, "%s/policy.json", f->dir);
  snprintf(key, sizeof key, "%s/t.key", f->dir);
  FILE *c = fopen(cfg, "w");
  fputs("{\"actions\": {\"emoji\": \"deliver\"}}", c);
  fclose(c);
  pl_keys keys;
  pl_detail d = {0};
  assert_int_equal(pl_keys_load_or_create(key, &keys, &d), PL_OK);
  svc *node[2];
  for (int i = 0; i < 2; i++) {
    store *st;
    assert_int_equal(store_open(f->db, &st, &d), PL_OK);
    /* the compiled rules come from the build's cache: only the actions differ between versions */
    svc_options o = {.clock = {fake_now, f}, .policy_config = cfg, .policy_cache = getenv("PARLEY_POLICY_CACHE")};
    assert_int_equal(svc_new(st, &keys, &o, &node[i], &d), PL_OK);
    assert_int_equal(svc_policy_prepare(node[i], &d), PL_OK);
    assert_int_equal(svc_cluster_tick(node[i]), PL_OK);
  }
  const char *text = "Your parcel is on its way \xf0\x9f\x98\x80";
  policy_verdict v;
  for (int i = 0; i < 2; i++) {
    assert_int_equal(svc_policy_check(node[i], &f->agent, text, NULL, f->a, &v, &d), PL_OK);
    assert_int_equal(v.action, POLICY_DELIVER);
    policy_verdict_free(&v);
  }
  c = fopen(cfg, "w");
  fputs("{\"actions\": {\"emoji\": \"reject\"}}", c);
  fclose(c);
  assert_int_equal(svc_policy_reload(node[0], &f->agent, &d), PL_EFORBIDDEN); /* the operator's only */
  assert_int_equal(svc_policy_reload(node[0], NULL, &d), PL_OK);
  assert_int_equal(svc_policy_check(node[1], &f->agent, text, NULL, f->a, &v, &d), PL_OK);
  assert_int_equal(v.action, POLICY_DELIVER); /* not before its tick */
  policy_verdict_free(&v);
  assert_int_equal(svc_cluster_tick(node[1]), PL_OK);
  for (int i = 0; i < 2; i++) {
    assert_int_equal(svc_policy_check(node[i], &f->agent, text, NULL, f->a, &v, &d), PL_OK);
    assert_int_equal(v.action, POLICY_REJECT);
    policy_verdict_free(&v);
    svc_free(node[i]);
  }
}

static double mono_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The operator's figures: the verdict on a seller message is counted with its findings by
 * category (a dry-run check is not), the held message shows in the review queue with its
 * age on the service's clock, and however often /metrics asks, the store is read at most
 * once a second. */
static void operator_figures_are_counted_and_cached(void **state) {
  fx *f = *state;
  size_t ncats, promo = 0;
  const policy_category *cats = policy_categories(&ncats);
  while (promo < ncats && strcmp(cats[promo].name, "promotion")) promo++;
  assert_true(promo < ncats);
  svc_op_counters c0, c1;
  svc_op_counters_get(f->s, &c0);
  int64_t tid = start_thread(f, "Does it come with a charger?");
  pl_detail d = {0};
  policy_verdict v;
  const char *upsell = "Yes it does. You could pair it with the matching case.";
  assert_int_equal(svc_policy_check(f->s, &f->agent, upsell, NULL, f->a, &v, &d), PL_OK);
  assert_int_equal(v.action, POLICY_REVIEW);
  policy_verdict_free(&v);
  svc_op_counters_get(f->s, &c1);
  assert_memory_equal(&c0, &c1, sizeof c0); /* a check is not a message */
  svc_sent m;
  assert_int_equal(send(f, &f->agent, tid, upsell, false, &m), PL_OK);
  assert_int_equal(m.msg.status, ST_STATUS_HELD_FOR_REVIEW);
  policy_verdict_free(&m.verdict);
  pl_time held_at = f->now;
  svc_op_counters_get(f->s, &c1);
  assert_int_equal(c1.verdicts[POLICY_REVIEW], c0.verdicts[POLICY_REVIEW] + 1);
  assert_int_equal(c1.verdicts[POLICY_DELIVER], c0.verdicts[POLICY_DELIVER]); /* the buyer's is not a verdict */
  assert_int_equal(c1.findings[promo], c0.findings[promo] + 1);
  /* a figure read before the message may be served for up to a second: wait for it */
  f->now += 120;
  st_ops_figures g;
  pl_time now = 0;
  double give_up = mono_now() + 30;
  do {
    assert_int_equal(svc_ops_figures(f->s, &g, &now), PL_OK);
  } while (g.held != 1 && mono_now() < give_up && usleep(20000) == 0);
  assert_int_equal(g.held, 1);
  assert_int_equal(g.held_oldest, held_at);
  assert_int_equal(now - g.held_oldest, 120);
  assert_int_equal(g.outbox_pending[ST_OUTBOX_FORWARD], 1); /* the buyer's message to the seller */
  /* a flood of scrapes: at most one read of the store a second (and one to start) */
  st_tx_durations r0, r1;
  store_tx_durations(false, &r0);
  double t0 = mono_now();
  for (int i = 0; i < 500; i++) assert_int_equal(svc_ops_figures(f->s, &g, &now), PL_OK);
  double elapsed = mono_now() - t0;
  store_tx_durations(false, &r1);
  assert_true((double)(r1.count - r0.count) <= 1.0 + elapsed / 1.0 + 1.0);
  assert_true(r1.count - r0.count < 500);
}

/* Retention at its boundaries: a thread is purged only once its last message is older
 * than the marketplace's retention_days (never under 180), a held one never, and an
 * operator of another marketplace cannot hold it. */
static void retention_and_legal_holds(void **state) {
  fx *f = *state;
  pl_detail d = {0};
  svc_start_in in = {.order_id = "112-4839201-5561023", .topic = "other", .text = "Kept or not?"};
  st_thread t;
  svc_sent m;
  assert_int_equal(svc_thread_start(f->s, &f->buyer, &in, f->a, &t, &m, &d), PL_OK);
  policy_verdict_free(&m.verdict);
  char *ref = svc_thread_ref(f->a, t.id);
  size_t purged;
  /* 10 days counts as 180: at 179 days nothing goes */
  import(f, "{\"type\":\"marketplace\",\"id\":\"ATVPDKIKX0DER\",\"name\":\"Example US\","
            "\"domains\":[\"example.com\"],\"locale\":\"en-US\",\"settings\":{\"retention_days\":10}}");
  f->now += 179 * 86400;
  assert_int_equal(svc_retention_sweep(f->s, 0, &purged, &d), PL_OK);
  assert_int_equal(purged, 0);
  /* held: past 180 days it stays */
  svc_caller elsewhere = {.kind = ST_PRINCIPAL_OPERATOR, .marketplace_id = "A1PM5L3YTRR5AE", .name = "operator:de"};
  json_t *body = json_pack("{s:s}", "reason", "chargeback 99"), *out = NULL;
  assert_int_equal(svc_legal_hold_set(f->s, &elsewhere, ref, body, f->a, &out, &d), PL_ENOTFOUND);
  assert_int_equal(svc_legal_hold_set(f->s, &f->agent, ref, body, f->a, &out, &d), PL_EFORBIDDEN);
  assert_int_equal(svc_legal_hold_set(f->s, &f->operator_, ref, body, f->a, &out, &d), PL_OK);
  json_decref(out);
  f->now += 2 * 86400;
  assert_int_equal(svc_retention_sweep(f->s, 0, &purged, &d), PL_OK);
  assert_int_equal(purged, 0);
  assert_int_equal(svc_legal_hold_release(f->s, &elsewhere, ref, f->a, &out, &d), PL_ENOTFOUND);
  assert_int_equal(svc_legal_hold_release(f->s, &f->operator_, ref, f->a, &out, &d), PL_OK);
  json_decref(out);
  json_decref(body);
  /* released: the next pass purges it, and only it */
  assert_int_equal(svc_retention_sweep(f->s, 0, &purged, &d), PL_OK);
  assert_int_equal(purged, 1);
  st_message *msgs;
  size_t n;
  assert_int_equal(svc_thread_get(f->s, &f->operator_, t.id, f->a, &t, &msgs, &n, &d), PL_ENOTFOUND);
  assert_int_equal(svc_retention_sweep(f->s, 0, &purged, &d), PL_OK);
  assert_int_equal(purged, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(thread_state_machine, setup, teardown),
    cmocka_unit_test_setup_teardown(text_limits, setup, teardown),
    cmocka_unit_test_setup_teardown(canceled_orders_are_closed, setup, teardown),
    cmocka_unit_test_setup_teardown(tenants_are_isolated, setup, teardown),
    cmocka_unit_test_setup_teardown(duplicate_threads_are_refused, setup, teardown),
    cmocka_unit_test_setup_teardown(addresses_are_encrypted_at_rest, setup, teardown),
    cmocka_unit_test_setup_teardown(import_rejects_bad_lines_whole, setup, teardown),
    cmocka_unit_test_setup_teardown(aliases_are_stable_and_private, setup, teardown),
    cmocka_unit_test_setup_teardown(tokens_authenticate_and_expire, setup, teardown),
    cmocka_unit_test_setup_teardown(identities_sessions_revocation_deactivation, setup, teardown),
    cmocka_unit_test_setup_teardown(records_are_append_only, setup, teardown),
    cmocka_unit_test_setup_teardown(export_links_the_audit_chain, setup, teardown),
    cmocka_unit_test_setup_teardown(marketplace_domains_are_per_marketplace, setup, teardown),
    cmocka_unit_test_setup_teardown(buyer_contacts_are_masked_for_the_seller, setup, teardown),
    cmocka_unit_test_setup_teardown(the_seller_view_is_the_only_way, setup, teardown),
    cmocka_unit_test_setup_teardown(deadline_alert_at_the_mark, setup, teardown),
    cmocka_unit_test_setup_teardown(policy_reload_reaches_every_node, setup, teardown),
    cmocka_unit_test_setup_teardown(operator_figures_are_counted_and_cached, setup, teardown),
    cmocka_unit_test_setup_teardown(retention_and_legal_holds, setup, teardown),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
