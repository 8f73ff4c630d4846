/* test_mail_lmtp.c - the LMTP/SMTP listener's protocol (mail_server.c with lmtp.c's
 * parser): command order, per-recipient replies after DATA, dot-unstuffing, the line and
 * size limits, pipelined commands, RSET and QUIT, with their exact reply codes. A real
 * service on a SQLite store in a temporary directory; the client speaks over loopback. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "mail/mail.h"
#include "service/svc.h"
#include "service/svc_mail.h"
#include "util/pl_log.h"
#include "util/pl_ref.h"

#define ORDER "112-4839201-5561023"
#define MAX_SIZE 2000

typedef struct {
  svc *s;
  pl_keys keys;
  pl_time now;
  char dir[64];
  svc_caller buyer, owner;
  int64_t tid;
  char *to_seller; /* the seller's reply address of the thread, which the buyer writes to */
  mail_server *m;
  int fd;
  char in[16384];
  size_t have;
  pl_arena *a;
} fx;

static pl_time fake_now(void *ctx) { return ((fx *)ctx)->now; }

#include "../service/svc_fixture.h"

static void import(fx *f, const char *line) {
  pl_detail d = {0};
  pl_err e = svc_import_line(f->s, line, strlen(line), &d);
  if (e) fail_msg("import failed: %s: %s (%s)", pl_errname(e), d.msg, line);
}

/* ---- the client ---------------------------------------------------------------------- */

static void say(fx *f, const char *text) {
  size_t n = strlen(text);
  while (n) {
    ssize_t w = send(f->fd, text, n, MSG_NOSIGNAL);
    if (w <= 0) fail_msg("send failed");
    text += w;
    n -= (size_t)w;
  }
}

/* One reply line (without CRLF) into out; false when the server closed the connection. */
static bool line(fx *f, char *out, size_t cap) {
  for (;;) {
    char *nl = memchr(f->in, '\n', f->have);
    if (nl) {
      size_t n = (size_t)(nl - f->in);
      size_t k = n && f->in[n - 1] == '\r' ? n - 1 : n;
      if (k >= cap) k = cap - 1;
      memcpy(out, f->in, k);
      out[k] = '\0';
      memmove(f->in, nl + 1, f->have - n - 1);
      f->have -= n + 1;
      return true;
    }
    if (f->have == sizeof f->in) fail_msg("reply line too long");
    ssize_t got = recv(f->fd, f->in + f->have, sizeof f->in - f->have, 0);
    if (got == 0) return false;
    if (got < 0) fail_msg("no reply (receive timed out)");
    f->have += (size_t)got;
  }
}

/* Reads one reply (every line of a multi-line one) and checks its code and the start of
 * its last line's text; returns that last line. */
static char *expect(fx *f, const char *code_and_text) {
  static char l[1100];
  do {
    if (!line(f, l, sizeof l)) fail_msg("connection closed, expected \"%s\"", code_and_text);
  } while (strlen(l) > 3 && l[3] == '-');
  if (strncmp(l, code_and_text, strlen(code_and_text)))
    fail_msg("got \"%s\", expected \"%s\"", l, code_and_text);
  return l;
}

static void connect_client(fx *f) {
  f->fd = socket(AF_INET, SOCK_STREAM, 0);
  assert_true(f->fd >= 0);
  struct timeval tv = {.tv_sec = 30};
  setsockopt(f->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)mail_port(f->m)),
                           .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  assert_int_equal(connect(f->fd, (struct sockaddr *)&sa, sizeof sa), 0);
  f->have = 0;
  expect(f, "220 ");
}

/* ---- the fixture: a seller, a buyer, an order thread, a listener ------------------------- */

static int setup(void **state) {
  fx *f = calloc(1, sizeof *f);
  strcpy(f->dir, "/tmp/parley-lmtp-XXXXXX");
  assert_non_null(mkdtemp(f->dir));
  char db[128], key[160];
  snprintf(db, sizeof db, "%s/t.db", f->dir);
  snprintf(key, sizeof key, "%s/t.key", f->dir);
  pl_detail d = {0};
  assert_int_equal(pl_crypto_init(), PL_OK);
  assert_int_equal(pl_keys_load_or_create(key, &f->keys, &d), PL_OK);
  store *st;
  assert_int_equal(store_open(db, &st, &d), PL_OK);
  f->now = 1791190800;
  svc_options o = {.clock = {fake_now, f}, .policy = shared_policy};
  assert_int_equal(svc_new(st, &f->keys, &o, &f->s, &d), PL_OK);
  f->a = pl_arena_new();
  import(f, "{\"type\":\"marketplace\",\"id\":\"ATVPDKIKX0DER\",\"name\":\"Example US\",\"domains\":[\"example.com\"],\"locale\":\"en-US\"}");
  import(f, "{\"type\":\"seller\",\"id\":\"S1\",\"marketplace\":\"ATVPDKIKX0DER\",\"name\":\"Acme Tools\",\"email\":\"support@acme.test\"}");
  import(f, "{\"type\":\"buyer\",\"id\":\"B1\",\"name\":\"Jane Doe\",\"email\":\"jane@mail.test\",\"locale\":\"en-US\"}");
  import(f, "{\"type\":\"order\",\"id\":\"" ORDER "\",\"marketplace\":\"ATVPDKIKX0DER\",\"seller\":\"S1\",\"buyer\":\"B1\",\"status\":\"delivered\",\"purchased_at\":\"2026-10-01T10:00:00Z\",\"delivered_at\":\"2026-10-04T15:30:00Z\"}");
  int64_t owner_id;
  assert_int_equal(svc_agent_add(f->s, "S1", "Maya", "owner", &owner_id, &d), PL_OK);
  f->owner = (svc_caller){.kind = ST_PRINCIPAL_AGENT, .seller_id = "S1", .agent_id = owner_id,
                          .agent_role = ST_ROLE_OWNER, .marketplace_id = "ATVPDKIKX0DER", .name = "agent:owner"};
  f->buyer = (svc_caller){.kind = ST_PRINCIPAL_BUYER, .buyer_id = "B1", .name = "buyer:B1"};
  svc_start_in in = {.order_id = ORDER, .topic = "product_question", .text = "Does it come with a charger?"};
  st_thread t;
  svc_sent sent;
  assert_int_equal(svc_thread_start(f->s, &f->buyer, &in, f->a, &t, &sent, &d), PL_OK);
  policy_verdict_free(&sent.verdict);
  f->tid = t.id;
  st_seller sl;
  store *stp = svc_store(f->s);
  assert_int_equal(store_begin(stp, false), PL_OK);
  assert_int_equal(store_seller_get(stp, "S1", NULL, f->a, &sl), PL_OK);
  store_rollback(stp);
  /* the reply address as the service documents it: a keyed hash of thread and party */
  char hin[64], hex[65], ref[PL_REF_MAX];
  snprintf(hin, sizeof hin, "reply-buyer:%lld", (long long)t.id);
  pl_keyed_hash_hex(&f->keys, hin, hex);
  const char *at = strrchr(sl.alias, '@');
  f->to_seller = pl_arena_printf(f->a, "%.*s+t%s-%.16s%s", (int)(at - sl.alias), sl.alias,
                                 pl_ref_format(ref, "T", t.id) + 1, hex, at);
  /* the envelope sender speaks for the buyer: no verifier in this test */
  mail_options mo = {.listen = "127.0.0.1:0", .hostname = "mx.test", .max_size = MAX_SIZE, .max_rcpts = 2,
                     .threads = 2, .trust_envelope = true};
  assert_int_equal(mail_start(f->s, &mo, &f->m, &d), PL_OK);
  connect_client(f);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fx *f = *state;
  close(f->fd);
  mail_stop(f->m);
  svc_free(f->s);
  pl_arena_free(f->a);
  char cmd[160];
  snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
  assert_int_equal(system(cmd), 0);
  free(f);
  return 0;
}

/* The texts of the thread's messages, newest last. */
static st_message *thread_messages(fx *f, size_t *n) {
  st_thread t;
  st_message *m;
  pl_detail d = {0};
  assert_int_equal(svc_thread_get(f->s, &f->owner, f->tid, f->a, &t, &m, n, &d), PL_OK);
  return m;
}

static void rcpt_to(fx *f, const char *addr, const char *want) {
  char cmd[600];
  snprintf(cmd, sizeof cmd, "RCPT TO:<%s>\r\n", addr);
  say(f, cmd);
  expect(f, want);
}

/* ---- tests ------------------------------------------------------------------------------ */

/* Commands out of order are refused with 503, and change nothing. */
static void test_sequencing(void **state) {
  fx *f = *state;
  say(f, "MAIL FROM:<jane@mail.test>\r\n");
  expect(f, "503 5.5.1 say LHLO");
  say(f, "RCPT TO:<x@relay.example.com>\r\n");
  expect(f, "503 5.5.1 MAIL first");
  say(f, "DATA\r\n");
  expect(f, "503 5.5.1 MAIL first");
  say(f, "LHLO client.test\r\n");
  char l[1100];
  assert_true(line(f, l, sizeof l));
  assert_string_equal(l, "250-mx.test");
  assert_true(line(f, l, sizeof l));
  assert_string_equal(l, "250-SIZE 2000");
  assert_true(line(f, l, sizeof l));
  assert_string_equal(l, "250-8BITMIME");
  assert_true(line(f, l, sizeof l));
  assert_string_equal(l, "250 ENHANCEDSTATUSCODES");
  say(f, "RCPT TO:<x@relay.example.com>\r\n");
  expect(f, "503 5.5.1 MAIL first");
  say(f, "MAIL FROM:<jane@mail.test>\r\n");
  expect(f, "250 2.1.0");
  say(f, "MAIL FROM:<jane@mail.test>\r\n");
  expect(f, "503 5.5.1 nested MAIL");
  say(f, "DATA\r\n");
  expect(f, "503 5.5.1 no valid recipients");
  /* RSET ends the transaction: RCPT needs a MAIL again */
  say(f, "RSET\r\n");
  expect(f, "250 2.0.0 reset");
  say(f, "RCPT TO:<x@relay.example.com>\r\n");
  expect(f, "503 5.5.1 MAIL first");
  say(f, "NOOP\r\n");
  expect(f, "250 2.0.0 ok");
  say(f, "VRFY jane\r\n");
  expect(f, "252 2.5.2");
  say(f, "HELP\r\n");
  expect(f, "214 2.0.0");
  say(f, "QUIT\r\n");
  expect(f, "221 2.0.0 bye");
  assert_false(line(f, l, sizeof l)); /* closed */
  size_t n;
  thread_messages(f, &n);
  assert_int_equal(n, 1); /* nothing was delivered */
}

/* Bad commands: unknown verbs, arguments, parameters, and limits on the MAIL line. */
static void test_bad_commands(void **state) {
  fx *f = *state;
  say(f, "LHLO client.test\r\n");
  expect(f, "250 ");
  static const struct {
    const char *cmd, *reply;
  } cases[] = {
      {"XYZZ\r\n", "500 5.5.1 unknown command"},
      {"MAILX FROM:<a@b.test>\r\n", "500 5.5.1 unknown command"},
      {"MAI\r\n", "500 5.5.1 unknown command"},
      {"LHLO\r\n", "501 5.5.4 say your name"},
      {"LHLO two words\r\n", "501 5.5.4 say your name"},
      {"MAIL FROM:jane@mail.test\r\n", "501 5.5.4 the address must be in angle brackets"},
      {"MAIL TO:<jane@mail.test>\r\n", "501 5.5.4 syntax"},
      {"MAIL FROM:<jane@mail.test\r\n", "501 5.5.4 the address is not closed"},
      {"MAIL FROM:<jane>\r\n", "501 5.1.3 the address needs a local part and a domain"},
      {"MAIL FROM:<ja ne@mail.test>\r\n", "501 5.1.3 spaces are not allowed"},
      {"MAIL FROM:<jane@mail_test>\r\n", "501 5.1.3 the domain is not valid"},
      {"MAIL FROM:<jane@mail.test> AUTH=<>\r\n", "555 5.5.4 unsupported parameter"},
      {"MAIL FROM:<jane@mail.test> BODY=BINARYMIME\r\n", "501 5.5.4 BODY is 7BIT or 8BITMIME"},
      {"MAIL FROM:<jane@mail.test> SIZE=12x\r\n", "501 5.5.4 SIZE must be a number"},
      {"MAIL FROM:<jane@mail.test> SIZE=2001\r\n", "552 5.3.4 the message is larger than 2000 bytes"},
      {"RSET now\r\n", "501 5.5.4 this command takes no arguments"},
      {"VRFY\r\n", "501 5.5.4 VRFY needs an argument"},
      {"MAIL FROM:<jane@mail.test>\001\r\n", "500 5.5.2 only printable ASCII"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    say(f, cases[i].cmd);
    expect(f, cases[i].reply);
  }
  /* a command line over 1000 octets with its CRLF: 500 5.5.2, and the session goes on */
  char longl[1200];
  memset(longl, 'a', sizeof longl);
  memcpy(longl, "NOOP ", 5);
  memcpy(longl + 999, "\r\n", 3);
  say(f, longl);
  expect(f, "500 5.5.2 line too long");
  memcpy(longl + 997, "\r\n", 3); /* 999 octets with CRLF: taken */
  say(f, longl);
  expect(f, "250 2.0.0 ok");
  /* a SIZE at the limit, the null sender and a source route are accepted */
  say(f, "MAIL FROM:<@relay.test:jane@mail.test> SIZE=2000 BODY=8BITMIME\r\n");
  expect(f, "250 2.1.0");
  say(f, "RSET\r\n");
  expect(f, "250 2.0.0");
  say(f, "MAIL FROM:<>\r\n");
  expect(f, "250 2.1.0");
  say(f, "RCPT TO:<>\r\n");
  expect(f, "501 5.1.3 the recipient may not be empty");
}

/* LMTP: one reply per accepted recipient after DATA, in RCPT order; a refused recipient
 * gets none; the message is dot-unstuffed. */
static void test_lmtp_delivery(void **state) {
  fx *f = *state;
  say(f, "LHLO client.test\r\n");
  expect(f, "250 ");
  say(f, "MAIL FROM:<jane@mail.test>\r\n");
  expect(f, "250 2.1.0");
  /* every valid address is taken at RCPT, so that the replies tell nothing about which
   * aliases exist; an unknown one is refused after DATA, in its own reply */
  rcpt_to(f, "nobody@relay.example.com", "250 2.1.5");
  rcpt_to(f, f->to_seller, "250 2.1.5");
  rcpt_to(f, f->to_seller, "452 4.5.3 too many recipients"); /* max_rcpts 2 */
  say(f, "DATA\r\n");
  expect(f, "354 ");
  say(f, "From: jane@mail.test\r\nSubject: Re: charger\r\n\r\n"
         "Line one.\r\n"
         "..starts with a dot\r\n"
         ". also\r\n"
         "\r\n.\r\n");
  expect(f, "550 5.7.1 this address takes mail only from a party of the conversation");
  expect(f, "250 2.0.0 delivered as M");
  say(f, "NOOP\r\n");
  expect(f, "250 2.0.0 ok"); /* no third reply came before it */
  size_t n;
  st_message *m = thread_messages(f, &n);
  assert_true(n >= 2);
  const char *text = m[n - 1].text;
  assert_int_equal(m[n - 1].direction, ST_DIR_BUYER);
  assert_non_null(strstr(text, "Line one."));
  assert_non_null(strstr(text, "\n.starts with a dot"));
  assert_null(strstr(text, "..starts"));
  assert_null(strstr(text, ". also"));
  assert_non_null(strstr(text, "also"));
  /* the transaction ended: DATA needs a MAIL again */
  say(f, "DATA\r\n");
  expect(f, "503 5.5.1 MAIL first");
}

/* The log's lines so far (one JSON object each), from the file the listener logs to. */
static json_t *log_lines(const char *path) {
  json_t *out = json_array();
  FILE *fp = fopen(path, "r");
  assert_non_null(fp);
  char l[PL_LOG_MAX + 1];
  while (fgets(l, sizeof l, fp)) {
    json_error_t err;
    json_t *j = json_loads(l, 0, &err);
    if (!j) fail_msg("not a JSON line: %s (%s)", l, err.text);
    json_array_append_new(out, j);
  }
  fclose(fp);
  return out;
}

/* A line a transaction: the recipients counted, each one's outcome with its code, the
 * message created; never the sender's or a recipient's address. */
static void test_transaction_log(void **state) {
  fx *f = *state;
  char path[128];
  snprintf(path, sizeof path, "%s/log.jsonl", f->dir);
  int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  assert_true(fd >= 0);
  pl_log_setup(PL_LOG_JSON, PL_LOG_INFO, fd);
  say(f, "LHLO client.test\r\n");
  expect(f, "250 ");
  say(f, "MAIL FROM:<jane@mail.test>\r\n");
  expect(f, "250 2.1.0");
  rcpt_to(f, "nobody@relay.example.com", "250 2.1.5");
  rcpt_to(f, f->to_seller, "250 2.1.5");
  rcpt_to(f, f->to_seller, "452 4.5.3 too many recipients");
  say(f, "DATA\r\n");
  expect(f, "354 ");
  say(f, "From: jane@mail.test\r\nSubject: Re: charger\r\n\r\nA private text.\r\n.\r\n");
  expect(f, "550 5.7.1");
  char *ok = expect(f, "250 2.0.0 delivered as M");
  char mref[PL_REF_MAX];
  snprintf(mref, sizeof mref, "%.13s", strstr(ok, "as M") + 3);
  /* a transaction given up: RSET */
  say(f, "MAIL FROM:<jane@mail.test>\r\n");
  expect(f, "250 2.1.0");
  rcpt_to(f, f->to_seller, "250 2.1.5");
  say(f, "RSET\r\n");
  expect(f, "250 2.0.0 reset"); /* the session wrote the lines before reading RSET's reply */
  pl_log_setup(PL_LOG_OFF, PL_LOG_INFO, 2);
  close(fd);

  json_t *lines = log_lines(path);
  assert_int_equal(json_array_size(lines), 2);
  json_t *t = json_array_get(lines, 0);
  assert_string_equal(json_string_value(json_object_get(t, "msg")), "mail");
  assert_string_equal(json_string_value(json_object_get(t, "level")), "info");
  assert_string_equal(json_string_value(json_object_get(t, "proto")), "lmtp");
  assert_int_equal(strlen(json_string_value(json_object_get(t, "txn"))), 16);
  assert_int_equal(json_integer_value(json_object_get(t, "rcpts")), 3);
  assert_int_equal(json_integer_value(json_object_get(t, "delivered")), 1);
  assert_int_equal(json_integer_value(json_object_get(t, "refused")), 1);
  assert_int_equal(json_integer_value(json_object_get(t, "deferred")), 1);
  assert_string_equal(json_string_value(json_object_get(t, "results")), "deferred:452,refused:550,delivered:250");
  assert_string_equal(json_string_value(json_object_get(t, "messages")), mref);
  assert_true(json_integer_value(json_object_get(t, "size")) > 0);
  assert_null(json_object_get(t, "end"));
  json_t *r = json_array_get(lines, 1);
  assert_string_equal(json_string_value(json_object_get(r, "end")), "reset");
  assert_int_equal(json_integer_value(json_object_get(r, "rcpts")), 1);
  assert_string_equal(json_string_value(json_object_get(r, "results")), "-");
  assert_string_not_equal(json_string_value(json_object_get(r, "txn")), json_string_value(json_object_get(t, "txn")));
  char *all = json_dumps(lines, 0);
  assert_null(strchr(all, '@'));
  assert_null(strstr(all, "jane"));
  assert_null(strstr(all, "private"));
  free(all);
  json_decref(lines);
}

/* SMTP (EHLO): one recipient a transaction, one reply after DATA. */
static void test_smtp_one_recipient(void **state) {
  fx *f = *state;
  say(f, "EHLO client.test\r\n");
  expect(f, "250 ENHANCEDSTATUSCODES");
  say(f, "MAIL FROM:<jane@mail.test>\r\n");
  expect(f, "250 2.1.0");
  rcpt_to(f, f->to_seller, "250 2.1.5");
  rcpt_to(f, f->to_seller, "452 4.5.3 too many recipients");
  say(f, "DATA\r\n");
  expect(f, "354 ");
  say(f, "From: jane@mail.test\r\n\r\nBy SMTP.\r\n.\r\nNOOP\r\n");
  expect(f, "250 2.0.0 delivered as M");
  expect(f, "250 2.0.0 ok");
}

/* Limits inside DATA: a line over 1000 octets, a message over the size; each recipient
 * is told, nothing is stored, and the session goes on. */
static void test_data_limits(void **state) {
  fx *f = *state;
  size_t n0;
  thread_messages(f, &n0);
  say(f, "LHLO client.test\r\n");
  expect(f, "250 ");
  say(f, "MAIL FROM:<jane@mail.test>\r\n");
  expect(f, "250 2.1.0");
  rcpt_to(f, f->to_seller, "250 2.1.5");
  say(f, "DATA\r\n");
  expect(f, "354 ");
  char longl[1100];
  memset(longl, 'x', sizeof longl);
  memcpy(longl + 1000, "\r\n", 3); /* 1002 octets with its CRLF */
  say(f, "From: jane@mail.test\r\n\r\n");
  say(f, longl);
  say(f, ".\r\n");
  expect(f, "550 5.6.0 a line is longer than 1000 octets");
  say(f, "MAIL FROM:<jane@mail.test>\r\n");
  expect(f, "250 2.1.0");
  rcpt_to(f, f->to_seller, "250 2.1.5");
  say(f, "DATA\r\n");
  expect(f, "354 ");
  say(f, "From: jane@mail.test\r\n\r\n");
  char body[101];
  memset(body, 'y', 98);
  memcpy(body + 98, "\r\n", 3);
  for (int i = 0; i < 25; i++) say(f, body); /* 2500 bytes */
  say(f, ".\r\n");
  expect(f, "552 5.3.4 the message is larger than 2000 bytes");
  size_t n1;
  thread_messages(f, &n1);
  assert_int_equal(n1, n0);
  say(f, "NOOP\r\n");
  expect(f, "250 2.0.0 ok");
}

/* Pipelining: commands sent in one write are answered in order, one reply each. */
static void test_pipelining(void **state) {
  fx *f = *state;
  char cmds[2048];
  snprintf(cmds, sizeof cmds,
           "LHLO client.test\r\nMAIL FROM:<jane@mail.test>\r\nRCPT TO:<%s>\r\nRCPT TO:<bad address>\r\n"
           "DATA\r\nFrom: jane@mail.test\r\n\r\nPipelined.\r\n.\r\nRSET\r\nBOGUS\r\nQUIT\r\n",
           f->to_seller);
  say(f, cmds);
  expect(f, "250 ENHANCEDSTATUSCODES");
  expect(f, "250 2.1.0");
  expect(f, "250 2.1.5");
  expect(f, "501 5.1.3");
  expect(f, "354 ");
  expect(f, "250 2.0.0 delivered as M");
  expect(f, "250 2.0.0 reset");
  expect(f, "500 5.5.1 unknown command");
  expect(f, "221 2.0.0 bye");
  char l[100];
  assert_false(line(f, l, sizeof l));
  size_t n;
  st_message *m = thread_messages(f, &n);
  assert_non_null(strstr(m[n - 1].text, "Pipelined."));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_sequencing, setup, teardown),
      cmocka_unit_test_setup_teardown(test_bad_commands, setup, teardown),
      cmocka_unit_test_setup_teardown(test_lmtp_delivery, setup, teardown),
      cmocka_unit_test_setup_teardown(test_smtp_one_recipient, setup, teardown),
      cmocka_unit_test_setup_teardown(test_data_limits, setup, teardown),
      cmocka_unit_test_setup_teardown(test_pipelining, setup, teardown),
      cmocka_unit_test_setup_teardown(test_transaction_log, setup, teardown),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
