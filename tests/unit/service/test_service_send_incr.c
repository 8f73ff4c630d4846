/* test_service_send_incr.c - a send, a flag, a status change or a note updates its thread's summary,
 * the clock's outcomes and the hourly buckets from the stored state and the event alone;
 * after every step of random sequences through the service they equal the recomputation
 * from the whole record (svc_thread_verify). Runs on SQLite and, when PARLEY_TEST_PG_URL
 * names a PostgreSQL server (scripts/pg-test.sh), on a fresh database of it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <libpq-fe.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "service/svc.h"
#include "service/svc_int.h"
#include "service/svc_team.h"

#define MP "ATVPDKIKX0DER"
#define NTHREADS 4

typedef struct {
  bool pg;
  svc *s;
  pl_time now;
  char dir[64], db[1024], dbname[64];
  svc_caller buyer, agent, agent2, operator_, importer;
  pl_arena *a;
  int64_t tid[NTHREADS]; /* 0 until the thread is started */
  int64_t buyer_msgs[NTHREADS][512];
  size_t nbuyer[NTHREADS];
  int64_t held[64];
  size_t nheld;
  int64_t delivered[256]; /* substantive replies that were delivered, for bounces */
  size_t ndelivered;
  int imported;
} fx;

static const char *pg_base;
static int pg_seq;

static pl_time fake_now(void *ctx) { return ((fx *)ctx)->now; }

#include "svc_fixture.h"

static void admin_sql(const char *q) {
  PGconn *c = PQconnectdb(pg_base);
  if (PQstatus(c) != CONNECTION_OK) fail_msg("cannot reach %s: %s", pg_base, PQerrorMessage(c));
  PGresult *r = PQexec(c, q);
  if (PQresultStatus(r) != PGRES_COMMAND_OK) fail_msg("%s: %s", q, PQerrorMessage(c));
  PQclear(r);
  PQfinish(c);
}

/* The URL of database `name` on the server of pg_base: the path replaced. */
static void pg_url(const char *name, char *out, size_t cap) {
  const char *host = strstr(pg_base, "://");
  host = host ? host + 3 : pg_base;
  size_t hl = strcspn(host, "/?");
  const char *q = strchr(pg_base, '?');
  snprintf(out, cap, "%.*s/%s%s%s", (int)(host - pg_base + (ptrdiff_t)hl), pg_base, name, q ? "?" : "",
           q ? q + 1 : "");
}

static void import(fx *f, const char *line) {
  pl_detail d = {0};
  pl_err e = svc_import_line(f->s, line, strlen(line), &d);
  if (e) fail_msg("import failed: %s: %s (%s)", pl_errname(e), d.msg, line);
}

static int setup_common(void **state, bool pg) {
  fx *f = calloc(1, sizeof *f);
  f->pg = pg;
  strcpy(f->dir, "/tmp/parley-incr-XXXXXX");
  assert_non_null(mkdtemp(f->dir));
  if (pg) {
    snprintf(f->dbname, sizeof f->dbname, "parley_incr_%d_%d", (int)getpid(), ++pg_seq);
    char q[160];
    snprintf(q, sizeof q, "CREATE DATABASE %s", f->dbname);
    admin_sql(q);
    pg_url(f->dbname, f->db, sizeof f->db);
  } else {
    snprintf(f->db, sizeof f->db, "%s/t.db", f->dir);
  }
  char key[160];
  snprintf(key, sizeof key, "%s/t.key", f->dir);
  pl_detail d = {0};
  assert_int_equal(pl_crypto_init(), PL_OK);
  pl_keys keys;
  assert_int_equal(pl_keys_load_or_create(key, &keys, &d), PL_OK);
  store *st;
  pl_err e = store_open(f->db, &st, &d);
  if (e) fail_msg("store_open: %s", d.msg);
  f->now = 1791190800; /* 2026-10-05T09:00:00Z */
  svc_options o = {.clock = {fake_now, f}, .policy = shared_policy};
  assert_int_equal(svc_new(st, &keys, &o, &f->s, &d), PL_OK);
  f->a = pl_arena_new();
  import(f, "{\"type\":\"marketplace\",\"id\":\"" MP "\",\"name\":\"Example US\",\"domains\":[\"example.com\"],"
            "\"locale\":\"en-US\",\"settings\":{\"rate_per_second\":100000,\"rate_burst\":100000}}");
  import(f, "{\"type\":\"seller\",\"id\":\"S1\",\"marketplace\":\"" MP "\",\"name\":\"Acme Tools\",\"email\":\"support@acme.test\"}");
  import(f, "{\"type\":\"buyer\",\"id\":\"B1\",\"name\":\"Jane Doe\",\"email\":\"jane@mail.test\",\"locale\":\"en-US\"}");
  for (int i = 0; i < NTHREADS; i++) {
    char line[512];
    snprintf(line, sizeof line,
             "{\"type\":\"order\",\"id\":\"112-483920%d-5561023\",\"marketplace\":\"" MP "\",\"seller\":\"S1\","
             "\"buyer\":\"B1\",\"status\":\"delivered\",\"purchased_at\":\"2026-10-01T10:00:00Z\"}", i);
    import(f, line);
  }
  int64_t ag1, ag2;
  assert_int_equal(svc_agent_add(f->s, "S1", "Maya", "owner", &ag1, &d), PL_OK);
  assert_int_equal(svc_agent_add(f->s, "S1", "Ravi", "agent", &ag2, &d), PL_OK);
  f->buyer = (svc_caller){.kind = ST_PRINCIPAL_BUYER, .buyer_id = "B1", .name = "buyer:B1"};
  f->agent = (svc_caller){.kind = ST_PRINCIPAL_AGENT, .seller_id = "S1", .agent_id = ag1,
                          .agent_role = ST_ROLE_OWNER, .marketplace_id = MP, .name = "agent:1"};
  f->agent2 = (svc_caller){.kind = ST_PRINCIPAL_AGENT, .seller_id = "S1", .agent_id = ag2,
                           .agent_role = ST_ROLE_AGENT, .marketplace_id = MP, .name = "agent:2"};
  f->operator_ = (svc_caller){.kind = ST_PRINCIPAL_OPERATOR, .name = "operator:ops"};
  f->importer = (svc_caller){.kind = 0, .name = "import"};
  *state = f;
  return 0;
}

static int setup_sqlite(void **state) { return setup_common(state, false); }
static int setup_pg(void **state) { return setup_common(state, true); }

static int teardown(void **state) {
  fx *f = *state;
  svc_free(f->s);
  pl_arena_free(f->a);
  if (f->pg) {
    char q[160];
    snprintf(q, sizeof q, "DROP DATABASE IF EXISTS %s WITH (FORCE)", f->dbname);
    admin_sql(q);
  }
  char cmd[160];
  snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
  assert_int_equal(system(cmd), 0);
  free(f);
  return 0;
}

typedef struct {
  uint64_t s;
} rng;

static uint64_t rnd(rng *r) {
  r->s ^= r->s << 13;
  r->s ^= r->s >> 7;
  r->s ^= r->s << 17;
  return r->s;
}

static void check_all(fx *f, const char *step, int k) {
  for (int i = 0; i < NTHREADS; i++) {
    if (!f->tid[i]) continue;
    pl_detail d = {0};
    pl_err e = svc_thread_verify(f->s, f->tid[i], &d);
    if (e) fail_msg("step %d (%s): %s: %s", k, step, pl_errname(e), d.msg);
  }
}

static const char *iso(pl_time t, char *buf) { return pl_time_format(t, buf); }

/* A message line imported into thread i at time at (seller messages with a status). */
static void import_msg(fx *f, int i, bool buyer, pl_time at, const char *status) {
  char line[512], ts[32];
  snprintf(line, sizeof line,
           "{\"type\":\"message\",\"id\":\"X%d\",\"order\":\"112-483920%d-5561023\",\"from\":\"%s\","
           "\"at\":\"%s\",\"text\":\"%s\"%s%s%s}",
           ++f->imported, i, buyer ? "buyer" : "seller", iso(at, ts),
           buyer ? "An imported question?" : "An imported answer: yes, it fits.", status ? ",\"status\":\"" : "",
           status ? status : "", status ? "\"" : "");
  import(f, line);
}

/* The thread of order i as the service sees it after an import created it. */
static int64_t thread_of_order(fx *f, int i) {
  char oid[32];
  snprintf(oid, sizeof oid, "112-483920%d-5561023", i);
  st_thread_query q = {.order_id = oid, .limit = 5};
  st_thread *ts;
  size_t n;
  int64_t rn;
  pl_detail d = {0};
  assert_int_equal(svc_thread_list(f->s, &f->agent, &q, f->a, &ts, &n, &rn, &d), PL_OK);
  assert_int_equal(n, 1);
  return ts[0].id;
}

/* The thread's buyer messages and held replies, as the record has them (imports add some). */
static void reload(fx *f, int i) {
  st_thread t;
  st_message *m;
  size_t n;
  pl_detail d = {0};
  assert_int_equal(svc_thread_get(f->s, &f->agent, f->tid[i], f->a, &t, &m, &n, &d), PL_OK);
  f->nbuyer[i] = 0;
  for (size_t k = 0; k < n && f->nbuyer[i] < 512; k++)
    if (m[k].direction == ST_DIR_BUYER) f->buyer_msgs[i][f->nbuyer[i]++] = m[k].id;
  for (size_t k = 0; k < n; k++) {
    bool known = false;
    if (m[k].direction == ST_DIR_SELLER && m[k].status == ST_STATUS_HELD_FOR_REVIEW) {
      for (size_t h = 0; h < f->nheld; h++) known |= f->held[h] == m[k].id;
      if (!known && f->nheld < 64) f->held[f->nheld++] = m[k].id;
    }
  }
}

/* A bounce as the mail path records it (svc_mail.c mark_failed): a status event on a
 * delivered message, then the thread brought up to date with it. */
static void bounce(fx *f, int64_t mid) {
  svc *s = f->s;
  pl_detail d = {0};
  assert_int_equal(svc__begin(s, true, &d), PL_OK);
  st_message m;
  st_thread t;
  pl_err e = s->st->ops->message_get(s->st, mid, NULL, f->a, &m);
  if (!e) e = s->st->ops->thread_get(s->st, m.thread_id, f->a, &t);
  if (!e && m.status == ST_STATUS_DELIVERED) {
    st_event ev = {.message_id = m.id, .thread_id = m.thread_id, .seller_id = m.seller_id,
                   .type = ST_EVENT_STATUS, .value = "failed", .actor = "mail:bounce", .at = f->now};
    e = s->st->ops->event_insert(s->st, &ev);
    m.status = ST_STATUS_FAILED;
    m.status_at = ev.at;
    if (!e) e = svc__thread_changed(s, &t, SVC__STATUS, &m, f->a);
  }
  assert_int_equal(svc__end(s, e, &d), PL_OK);
}

/* A buyer's out-of-office by mail (svc_mail.c receive_automatic): kept, never forwarded,
 * and no buyer message for the clock or the summary. */
static void buyer_auto_reply(fx *f, int i) {
  svc *s = f->s;
  pl_detail d = {0};
  static const svc__msg_opts opts = {.kind = ST_KIND_AUTO_REPLY, .automatic = true};
  svc_send_in in = {.text = "I am on vacation until Monday."};
  svc_sent sent;
  st_thread t;
  assert_int_equal(svc__begin(s, true, &d), PL_OK);
  pl_err e = s->st->ops->thread_get(s->st, f->tid[i], f->a, &t);
  if (!e) e = svc__add_message(s, &f->buyer, &t, &in, &opts, f->a, &sent, &d);
  assert_int_equal(svc__end(s, e, &d), PL_OK);
  assert_int_equal(sent.msg.kind, ST_KIND_AUTO_REPLY);
  assert_int_equal(sent.msg.status, ST_STATUS_NOT_DELIVERED);
  policy_verdict_free(&sent.verdict);
}

static void run_sequence(fx *f, uint64_t seed, int steps) {
  rng r = {seed * 0x9E3779B97F4A7C15ull + 1};
  static const char *const seller_texts[] = {
      "Yes, the charger is included in the box.",
      "Thank you for your message, we will get back to you within 24 hours.", /* acknowledgement */
      "The manual is at https://www.example.org/help/drill-manual",            /* rejected */
  };
  for (int k = 0; k < steps; k++) {
    int i = (int)(rnd(&r) % NTHREADS);
    unsigned op = (unsigned)(rnd(&r) % 100);
    /* Time moves by nothing (events in the same second), minutes, or hours. */
    unsigned dt = (unsigned)(rnd(&r) % 4);
    f->now += dt == 0 ? 0 : dt == 1 ? (pl_time)(rnd(&r) % 120) : dt == 2 ? (pl_time)(rnd(&r) % 3600) : (pl_time)(rnd(&r) % 40000);
    pl_detail d = {0};
    const char *step;
    if (!f->tid[i]) {
      char oid[32];
      snprintf(oid, sizeof oid, "112-483920%d-5561023", i);
      svc_start_in in = {.order_id = oid, .topic = "product_question", .text = "Does it come with a charger?"};
      st_thread t;
      svc_sent m;
      step = "start";
      assert_int_equal(svc_thread_start(f->s, &f->buyer, &in, f->a, &t, &m, &d), PL_OK);
      policy_verdict_free(&m.verdict);
      f->tid[i] = t.id;
    } else if (op < 5) {
      step = "buyer auto-reply";
      buyer_auto_reply(f, i);
    } else if (op < 30) {
      step = "buyer message";
      svc_send_in in = {.text = "And which battery does it take?"};
      svc_sent m;
      assert_int_equal(svc_send(f->s, &f->buyer, f->tid[i], &in, f->a, &m, &d), PL_OK);
      policy_verdict_free(&m.verdict);
    } else if (op < 52) {
      step = "seller reply";
      unsigned kind = (unsigned)(rnd(&r) % 6);
      svc_send_in in = {.text = seller_texts[kind < 3 ? 0 : kind - 3], .auto_reply = kind == 2,
                        .confirm = true};
      svc_sent m;
      pl_err e = svc_send(f->s, rnd(&r) % 2 ? &f->agent : &f->agent2, f->tid[i], &in, f->a, &m, &d);
      /* A refused reply, or the enforcement that refusals bring, is an answer too. */
      if (e == PL_EINTERNAL || e == PL_ESTORE) fail_msg("step %d: %s: %s", k, pl_errname(e), d.msg);
      if (!e && m.msg.status == ST_STATUS_DELIVERED && m.msg.kind == ST_KIND_MESSAGE && f->ndelivered < 256)
        f->delivered[f->ndelivered++] = m.msg.id;
      policy_verdict_free(&m.verdict);
    } else if (op < 58) {
      step = "note";
      st_message m;
      assert_int_equal(svc_team_note(f->s, &f->agent, f->tid[i], "Checking the stock first.", f->a, &m, &d), PL_OK);
    } else if (op < 72) {
      reload(f, i);
      if (!f->nbuyer[i]) continue;
      int64_t mid = f->buyer_msgs[i][rnd(&r) % f->nbuyer[i]];
      bool value = rnd(&r) % 3 != 0;
      st_message m;
      if (rnd(&r) % 4 == 0) {
        /* An imported flag event with a past time: it decides only if it is the latest. */
        step = "past flag";
        pl_err e = svc_flag(f->s, &f->importer, mid, value, f->now - (pl_time)(rnd(&r) % 7200), f->a, &m, &d);
        assert_int_equal(e, PL_OK);
      } else {
        step = value ? "flag" : "unflag";
        assert_int_equal(svc_flag(f->s, &f->agent, mid, value, 0, f->a, &m, &d), PL_OK);
      }
    } else if (op < 80) {
      step = "held reply";
      import_msg(f, i, false, f->now, "held_for_review");
      reload(f, i);
    } else if (op < 88) {
      if (!f->nheld) continue;
      size_t h = rnd(&r) % f->nheld;
      int64_t mid = f->held[h];
      f->held[h] = f->held[--f->nheld];
      bool approve = rnd(&r) % 4 != 0;
      step = approve ? "approve" : "reject";
      st_message m;
      pl_err e = svc_review_decide(f->s, &f->operator_, mid, approve, NULL, f->a, &m, &d);
      if (e == PL_ECONFLICT) continue; /* decided already */
      assert_int_equal(e, PL_OK);
      if (approve && f->ndelivered < 256) f->delivered[f->ndelivered++] = mid;
    } else if (op < 93) {
      if (!f->ndelivered) continue;
      step = "bounce";
      bounce(f, f->delivered[rnd(&r) % f->ndelivered]);
    } else {
      /* An import out of order: a message older than the thread's last one. */
      step = "old import";
      import_msg(f, i, rnd(&r) % 2, f->now - (pl_time)(rnd(&r) % 90000), NULL);
      assert_int_equal(thread_of_order(f, i), f->tid[i]);
    }
    check_all(f, step, k);
  }
}

static void random_sequences(void **state) {
  fx *f = *state;
  run_sequence(f, 1, 120);
}

static void random_sequences_more(void **state) {
  fx *f = *state;
  run_sequence(f, 2, 120);
  run_sequence(f, 3, 120);
}

/* A reply answers every open buyer message of its thread at once; a flag in between
 * changes only that message and its thread's exchange count. */
static void reply_answers_open_messages(void **state) {
  fx *f = *state;
  pl_detail d = {0};
  svc_start_in in = {.order_id = "112-4839200-5561023", .topic = "product_question", .text = "First?"};
  st_thread t;
  svc_sent m;
  assert_int_equal(svc_thread_start(f->s, &f->buyer, &in, f->a, &t, &m, &d), PL_OK);
  policy_verdict_free(&m.verdict);
  f->tid[0] = t.id;
  int64_t first = m.msg.id;
  for (int k = 0; k < 3; k++) {
    f->now += 60;
    svc_send_in b = {.text = "Another question?"};
    assert_int_equal(svc_send(f->s, &f->buyer, t.id, &b, f->a, &m, &d), PL_OK);
    policy_verdict_free(&m.verdict);
  }
  f->now += 60;
  st_message fm;
  assert_int_equal(svc_flag(f->s, &f->agent, first, true, 0, f->a, &fm, &d), PL_OK);
  check_all(f, "flag", 0);
  st_message *msgs;
  size_t n;
  assert_int_equal(svc_thread_get(f->s, &f->agent, t.id, f->a, &t, &msgs, &n, &d), PL_OK);
  assert_int_equal(t.waiting, 4);
  assert_int_equal(t.needs_response, 3);
  assert_int_equal(t.response_due_at, 1791190800 + 60 + 24 * 3600); /* the oldest unflagged */
  f->now += 600;
  svc_send_in rep = {.text = "Yes, the charger is included in the box."};
  assert_int_equal(svc_send(f->s, &f->agent, t.id, &rep, f->a, &m, &d), PL_OK);
  policy_verdict_free(&m.verdict);
  check_all(f, "reply", 1);
  assert_int_equal(svc_thread_get(f->s, &f->agent, t.id, f->a, &t, &msgs, &n, &d), PL_OK);
  assert_int_equal(t.waiting, 0);
  assert_int_equal(t.response_due_at, 0);
  sla_metrics mt;
  assert_int_equal(svc_metrics(f->s, &f->operator_, "S1", 0, 30 * 86400, true, f->a, &mt, &d), PL_OK);
  assert_int_equal(mt.received, 4);
  assert_int_equal(mt.flagged, 1);
  assert_int_equal(mt.on_time, 3);
  assert_int_equal(mt.threads, 1);
  assert_int_equal(mt.resolved_one, 1);
  /* Unflagging the first message: the same reply answered it, still one exchange. */
  f->now += 60;
  assert_int_equal(svc_flag(f->s, &f->agent, first, false, 0, f->a, &fm, &d), PL_OK);
  check_all(f, "unflag", 2);
  assert_int_equal(svc_metrics(f->s, &f->operator_, "S1", 0, 30 * 86400, true, f->a, &mt, &d), PL_OK);
  assert_int_equal(mt.on_time, 4);
  assert_int_equal(mt.resolved_one, 1);
}

/* A thread whose clock data was never built (a store from before the clock kept it): the
 * next event evaluates the thread whole once instead of taking it for a new one. */
static void missing_clock_data_is_built(void **state) {
  fx *f = *state;
  pl_detail d = {0};
  svc_start_in in = {.order_id = "112-4839200-5561023", .topic = "product_question", .text = "First?"};
  st_thread t;
  svc_sent m;
  assert_int_equal(svc_thread_start(f->s, &f->buyer, &in, f->a, &t, &m, &d), PL_OK);
  policy_verdict_free(&m.verdict);
  f->tid[0] = t.id;
  f->now += 60;
  svc_send_in b = {.text = "Another question?"};
  assert_int_equal(svc_send(f->s, &f->buyer, t.id, &b, f->a, &m, &d), PL_OK);
  policy_verdict_free(&m.verdict);
  sqlite3 *db;
  assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
  sqlite3_busy_timeout(db, 5000);
  assert_int_equal(sqlite3_exec(db, "DELETE FROM sla_outcomes; DELETE FROM sla_thread_outcomes;"
                                    " DELETE FROM sla_buckets;", NULL, NULL, NULL), SQLITE_OK);
  sqlite3_close(db);
  assert_int_not_equal(svc_thread_verify(f->s, t.id, &d), PL_OK);
  f->now += 60;
  assert_int_equal(svc_send(f->s, &f->buyer, t.id, &b, f->a, &m, &d), PL_OK);
  policy_verdict_free(&m.verdict);
  check_all(f, "buyer message after the clock data was lost", 0);
}

/* An order canceled while buyer messages wait: they leave the clock (not received, late or
 * flagged in the metrics), the thread needs no response and leaves the inbox, and the
 * seller can no longer flag them; what was answered before the cancellation still counts. */
static void canceled_order_stops_the_clock(void **state) {
  fx *f = *state;
  pl_detail d = {0};
  st_thread t, other;
  svc_sent m;
  svc_start_in in = {.order_id = "112-4839200-5561023", .topic = "product_question", .text = "Is it in stock?"};
  assert_int_equal(svc_thread_start(f->s, &f->buyer, &in, f->a, &t, &m, &d), PL_OK);
  policy_verdict_free(&m.verdict);
  f->tid[0] = t.id;
  f->now += 600;
  svc_send_in rep = {.text = "Yes, it ships today from our warehouse."};
  assert_int_equal(svc_send(f->s, &f->agent, t.id, &rep, f->a, &m, &d), PL_OK);
  policy_verdict_free(&m.verdict);
  int64_t waiting[2];
  for (int i = 0; i < 2; i++) {
    f->now += 60;
    svc_send_in b = {.text = i ? "Hello?" : "Please cancel it, I ordered twice."};
    assert_int_equal(svc_send(f->s, &f->buyer, t.id, &b, f->a, &m, &d), PL_OK);
    waiting[i] = m.msg.id;
    policy_verdict_free(&m.verdict);
  }
  svc_start_in in2 = {.order_id = "112-4839201-5561023", .topic = "other", .text = "Where is my parcel?"};
  assert_int_equal(svc_thread_start(f->s, &f->buyer, &in2, f->a, &other, &m, &d), PL_OK);
  policy_verdict_free(&m.verdict);
  f->tid[1] = other.id;
  check_all(f, "before the cancellation", 0);

  f->now += 3600;
  import(f, "{\"type\":\"order\",\"id\":\"112-4839200-5561023\",\"marketplace\":\"" MP "\",\"seller\":\"S1\","
            "\"buyer\":\"B1\",\"status\":\"canceled\",\"purchased_at\":\"2026-10-01T10:00:00Z\"}");
  check_all(f, "cancellation", 1);
  st_message *msgs;
  size_t n;
  assert_int_equal(svc_thread_get(f->s, &f->agent, t.id, f->a, &t, &msgs, &n, &d), PL_OK);
  assert_true(t.archived);
  assert_int_equal(t.needs_response, 0);
  assert_int_equal(t.response_due_at, 0);
  for (size_t i = 0; i < n; i++)
    if (msgs[i].id == waiting[0] || msgs[i].id == waiting[1]) assert_true(msgs[i].flagged);

  /* Two days on: the answered message is on time, the other order's waiting one late, and
   * the two that waited when the order was canceled are nowhere. */
  f->now += 2 * 86400;
  sla_metrics mt;
  assert_int_equal(svc_metrics(f->s, &f->operator_, "S1", 0, 30 * 86400, true, f->a, &mt, &d), PL_OK);
  assert_int_equal(mt.received, 2);
  assert_int_equal(mt.on_time, 1);
  assert_int_equal(mt.late, 1);
  assert_int_equal(mt.flagged, 0);
  assert_int_equal(mt.pending, 0);
  assert_int_equal(mt.overdue_count, 1);

  st_message fm;
  assert_int_equal(svc_flag(f->s, &f->agent, waiting[0], false, 0, f->a, &fm, &d), PL_ECANCELED);
  /* The same cancellation again changes nothing. */
  import(f, "{\"type\":\"order\",\"id\":\"112-4839200-5561023\",\"marketplace\":\"" MP "\",\"seller\":\"S1\","
            "\"buyer\":\"B1\",\"status\":\"canceled\",\"purchased_at\":\"2026-10-01T10:00:00Z\"}");
  check_all(f, "cancellation again", 2);
}

int main(void) {
  const struct CMUnitTest sqlite_tests[] = {
      cmocka_unit_test_setup_teardown(reply_answers_open_messages, setup_sqlite, teardown),
      cmocka_unit_test_setup_teardown(random_sequences, setup_sqlite, teardown),
      cmocka_unit_test_setup_teardown(random_sequences_more, setup_sqlite, teardown),
      cmocka_unit_test_setup_teardown(missing_clock_data_is_built, setup_sqlite, teardown),
      cmocka_unit_test_setup_teardown(canceled_order_stops_the_clock, setup_sqlite, teardown),
  };
  int rc = cmocka_run_group_tests_name("send_incr.sqlite", sqlite_tests, group_setup, group_teardown);
  pg_base = getenv("PARLEY_TEST_PG_URL");
  if (!pg_base || !*pg_base) {
    printf("send_incr.pg: skipped (set PARLEY_TEST_PG_URL, see scripts/pg-test.sh)\n");
    return rc;
  }
  const struct CMUnitTest pg_tests[] = {
      cmocka_unit_test_setup_teardown(reply_answers_open_messages, setup_pg, teardown),
      cmocka_unit_test_setup_teardown(random_sequences, setup_pg, teardown),
      cmocka_unit_test_setup_teardown(canceled_order_stops_the_clock, setup_pg, teardown),
  };
  return rc | cmocka_run_group_tests_name("send_incr.pg", pg_tests, group_setup, group_teardown);
}
