/* test_store_sla.c - the store's rows of the 24-hour clock on every backend (src/sla):
 * a thread's and a seller's events, stored outcomes read whole or one at a time, the
 * hourly buckets, the open messages, the end of a thread for its summary and the threads
 * due soon. */
#define STORE_PART SLA
#include "store_fixture.h"

static int64_t msg(fx *f, int64_t thread, const char *seller, st_direction dir, st_msg_kind kind,
                   int64_t agent, const char *ext, pl_time at) {
  st_message m = {.thread_id = thread, .seller_id = (char *)seller, .direction = dir,
                  .kind = kind, .agent_id = agent, .ext_id = (char *)ext, .text = "x", .at = at};
  OK(OP(f, message_insert)(f->s, &m));
  return m.id;
}

static void event(fx *f, int64_t thread, int64_t m, const char *seller, st_event_type type,
                  const char *value, pl_time at) {
  st_event e = {.message_id = m, .thread_id = thread, .seller_id = (char *)seller, .type = type,
                .value = (char *)value, .actor = "test", .at = at};
  OK(OP(f, event_insert)(f->s, &e));
}

/* Thread t of S1: b1, reply s1 (delivered later), b2, the buyer's auto-reply, a held
 * reply s2, a note; b2 flagged then unflagged, b1 flagged. Thread u of S2: b3. */
typedef struct {
  int64_t t, u, b1, s1, b2, ar, s2, note, b3;
} clock_world;

static clock_world make_clock(fx *f) {
  world(f);
  put_order(f, "112-1", "S1", "B1", "B0AAA00001", T0);
  put_order(f, "112-2", "S2", "B1", "B0AAA00002", T0);
  clock_world w;
  w.t = new_thread(f, "S1", "B1", "112-1", NULL, T0);
  w.u = new_thread(f, "S2", "B1", "112-2", NULL, T0);
  W(f);
  w.b1 = msg(f, w.t, "S1", ST_DIR_BUYER, ST_KIND_MESSAGE, 0, NULL, T0 + 10);
  w.s1 = msg(f, w.t, "S1", ST_DIR_SELLER, ST_KIND_MESSAGE, 7, NULL, T0 + 100);
  event(f, w.t, w.s1, "S1", ST_EVENT_STATUS, "held_for_review", T0 + 100);
  event(f, w.t, w.s1, "S1", ST_EVENT_STATUS, "delivered", T0 + 110);
  w.b2 = msg(f, w.t, "S1", ST_DIR_BUYER, ST_KIND_MESSAGE, 0, "M2", T0 + 200);
  w.ar = msg(f, w.t, "S1", ST_DIR_BUYER, ST_KIND_AUTO_REPLY, 0, NULL, T0 + 210);
  w.s2 = msg(f, w.t, "S1", ST_DIR_SELLER, ST_KIND_MESSAGE, 8, NULL, T0 + 300);
  event(f, w.t, w.s2, "S1", ST_EVENT_STATUS, "held_for_review", T0 + 300);
  w.note = msg(f, w.t, "S1", ST_DIR_SELLER, ST_KIND_NOTE, 7, NULL, T0 + 310);
  event(f, w.t, w.b2, "S1", ST_EVENT_FLAG, "true", T0 + 400);
  event(f, w.t, w.b1, "S1", ST_EVENT_FLAG, "true", T0 + 450);
  event(f, w.t, w.b2, "S1", ST_EVENT_FLAG, "false", T0 + 500);
  w.b3 = msg(f, w.u, "S2", ST_DIR_BUYER, ST_KIND_MESSAGE, 0, NULL, T0 + 20);
  C(f);
  return w;
}

static const sla_buyer_msg *find_buyer(const sla_events *e, int64_t id) {
  for (size_t i = 0; i < e->n_buyer; i++)
    if (e->buyer[i].id == id) return &e->buyer[i];
  return NULL;
}

static const sla_seller_msg *find_seller(const sla_events *e, int64_t seq) {
  for (size_t i = 0; i < e->n_seller; i++)
    if (e->seller[i].seq == seq) return &e->seller[i];
  return NULL;
}

/* The events the clock reads: buyer messages but auto-replies, seller messages with
 * their first delivery, flags; of one thread, or of a seller's threads by ranges. */
static void test_sla_events(void **state) {
  fx *f = *state;
  clock_world w = make_clock(f);
  R(f);
  sla_events e;
  OK(OP(f, sla_thread_events)(f->s, w.t, f->a, &e));
  assert_int_equal(e.n_buyer, 2);
  const sla_buyer_msg *b = find_buyer(&e, w.b2);
  assert_non_null(b);
  assert_int_equal(b->thread_id, w.t);
  assert_int_equal(b->received_at, T0 + 200);
  assert_int_equal(b->seq, w.b2);
  assert_string_equal(b->ref, "M2");
  assert_non_null(find_buyer(&e, w.b1));
  assert_null(find_buyer(&e, w.ar));
  assert_int_equal(e.n_seller, 3);
  const sla_seller_msg *s = find_seller(&e, w.s1);
  assert_non_null(s);
  assert_int_equal(s->agent_id, 7);
  assert_int_equal(s->sent_at, T0 + 100);
  assert_int_equal(s->delivered_at, T0 + 110);
  assert_int_equal(s->kind, SLA_SUBSTANTIVE);
  s = find_seller(&e, w.s2);
  assert_non_null(s);
  assert_int_equal(s->delivered_at, SLA_NEVER);
  s = find_seller(&e, w.note);
  assert_non_null(s);
  assert_int_equal(s->kind, SLA_INTERNAL_NOTE);
  assert_int_equal(e.n_flags, 3);
  int flags_b2 = 0;
  for (size_t i = 0; i < e.n_flags; i++) {
    if (e.flags[i].msg_id != w.b2) continue;
    flags_b2++;
    assert_true(e.flags[i].value == (e.flags[i].at == T0 + 400));
  }
  assert_int_equal(flags_b2, 2);
  OK(OP(f, sla_thread_events)(f->s, w.t + 100, f->a, &e));
  assert_int_equal(e.n_buyer + e.n_seller + e.n_flags, 0);

  /* by ranges: the whole of t, whose b1 is in (T0, T0 + 15]; up to `until` */
  const int64_t r1[][2] = {{T0 + 500, T0 + 600}, {T0, T0 + 15}};
  OK(OP(f, sla_range_events)(f->s, "S1", r1, 2, SLA_FOREVER, f->a, &e));
  assert_int_equal(e.n_buyer, 2);
  assert_int_equal(e.n_seller, 3);
  assert_int_equal(e.n_flags, 3);
  OK(OP(f, sla_range_events)(f->s, "S1", r1, 2, T0 + 250, f->a, &e));
  assert_int_equal(e.n_buyer, 2);
  assert_int_equal(e.n_seller, 1);
  assert_int_equal(e.n_flags, 0);
  /* b3 is S2's: not in S1's ranges, and the range ends are (lo, hi] */
  const int64_t r2[][2] = {{T0 + 15, T0 + 25}};
  OK(OP(f, sla_range_events)(f->s, "S1", r2, 1, SLA_FOREVER, f->a, &e));
  assert_int_equal(e.n_buyer + e.n_seller + e.n_flags, 0);
  OK(OP(f, sla_range_events)(f->s, "S2", r2, 1, SLA_FOREVER, f->a, &e));
  assert_int_equal(e.n_buyer, 1);
  assert_int_equal(e.buyer[0].id, w.b3);
  const int64_t r3[][2] = {{T0 + 20, T0 + 25}};
  OK(OP(f, sla_range_events)(f->s, "S2", r3, 1, SLA_FOREVER, f->a, &e));
  assert_int_equal(e.n_buyer, 0);
  const int64_t r5[5][2] = {{0, 1}, {1, 2}, {2, 3}, {3, 4}, {4, 5}};
  assert_int_equal(OP(f, sla_range_events)(f->s, "S1", r5, 5, SLA_FOREVER, f->a, &e), PL_EINVAL);
  /* the latest flag decides */
  bool flagged = true;
  OK(store_sla_flag_state(f->s, w.b2, &flagged));
  assert_false(flagged);
  OK(store_sla_flag_state(f->s, w.b1, &flagged));
  assert_true(flagged);
  flagged = true;
  OK(store_sla_flag_state(f->s, w.b3, &flagged));
  assert_false(flagged);
  /* the seller's latest event: S1's last flag; none for an unknown seller */
  pl_time latest = 0;
  OK(store_sla_latest(f->s, "S1", &latest));
  assert_int_equal(latest, T0 + 500);
  OK(store_sla_latest(f->s, "S2", &latest));
  assert_int_equal(latest, T0 + 20);
  OK(store_sla_latest(f->s, "S9", &latest));
  assert_int_equal(latest, 0);
  RB(f);
}

static bool outcome_is(const sla_outcome *a, const sla_outcome *b) { return sla_outcome_equal(a, b); }

/* Stored outcomes: a thread's replaced whole, one message's read and set, the ones a
 * reply can answer, a reply's count, and the open messages of a seller. */
static void test_sla_outcomes(void **state) {
  fx *f = *state;
  clock_world w = make_clock(f);
  sla_outcome o1 = {.msg_id = w.b1, .thread_id = w.t, .received_at = T0 + 10, .answered = true,
                    .answered_at = T0 + 100, .response_s = 90, .agent_id = 7, .reply_seq = w.s1};
  sla_outcome o2 = sla_outcome_arrived(w.b2, w.t, T0 + 200);
  sla_thread_outcome to = {.thread_id = w.t, .first_received_at = T0 + 10, .counted = true,
                           .resolved = false, .exchanges = 1, .unflagged = 2, .open = 1};
  sla_thread_outcome tg;
  sla_outcome og;
  R(f);
  assert_int_equal(OP(f, sla_thread_outcome_get)(f->s, "S1", w.t, &tg), PL_ENOTFOUND);
  assert_int_equal(store_sla_outcome_get(f->s, w.b1, &og), PL_ENOTFOUND);
  RB(f);
  W(f);
  OK(OP(f, sla_outcomes_put)(f->s, "S1", w.t, (sla_outcome[]){o1, o2}, 2, &to));
  C(f);
  R(f);
  sla_outcome *l;
  size_t n;
  bool has;
  OK(OP(f, sla_outcomes_get)(f->s, w.t, f->a, &l, &n, &tg, &has));
  assert_int_equal(n, 2);
  assert_true(outcome_is(&l[0], &o1));
  assert_true(outcome_is(&l[1], &o2));
  assert_true(has);
  assert_true(sla_thread_outcome_equal(&tg, &to));
  OK(OP(f, sla_outcomes_get)(f->s, w.u, f->a, &l, &n, &tg, &has));
  assert_int_equal(n, 0);
  assert_false(has);
  OK(OP(f, sla_thread_outcome_get)(f->s, "S1", w.t, &tg));
  assert_true(sla_thread_outcome_equal(&tg, &to));
  OK(store_sla_outcome_get(f->s, w.b1, &og));
  assert_true(outcome_is(&og, &o1));
  /* what a reply would answer: before it, unanswered or answered after it */
  OK(store_sla_outcomes_answerable(f->s, w.t, T0 + 300, w.s2, f->a, &l, &n));
  assert_int_equal(n, 1);
  assert_int_equal(l[0].msg_id, w.b2);
  OK(store_sla_outcomes_answerable(f->s, w.t, T0 + 50, w.s2, f->a, &l, &n));
  assert_int_equal(n, 1);
  assert_int_equal(l[0].msg_id, w.b1);
  OK(store_sla_outcomes_answerable(f->s, w.t, T0 + 5, w.s2, f->a, &l, &n));
  assert_int_equal(n, 0);
  /* the same second as the answer: only a reply with a lower seq takes over */
  OK(store_sla_outcomes_answerable(f->s, w.t, T0 + 100, w.s1 - 1, f->a, &l, &n));
  assert_int_equal(n, 1);
  assert_int_equal(l[0].msg_id, w.b1);
  OK(store_sla_outcomes_answerable(f->s, w.t, T0 + 100, w.s1, f->a, &l, &n));
  assert_int_equal(n, 0);
  int64_t cnt = -1;
  OK(store_sla_reply_count(f->s, w.t, T0 + 100, w.s1, &cnt));
  assert_int_equal(cnt, 1);
  OK(store_sla_reply_count(f->s, w.t, T0 + 100, w.s2, &cnt));
  assert_int_equal(cnt, 0);
  /* the open messages: unanswered, unflagged, received in (since, until] */
  sla_open_msg *op;
  OK(store_sla_open_list(f->s, "S1", T0, T0 + 1000, f->a, &op, &n));
  assert_int_equal(n, 1);
  assert_int_equal(op[0].msg_id, w.b2);
  assert_int_equal(op[0].thread_id, w.t);
  assert_int_equal(op[0].received_at, T0 + 200);
  assert_string_equal(op[0].ref, "M2");
  OK(store_sla_open_list(f->s, "S1", T0 + 200, T0 + 1000, f->a, &op, &n));
  assert_int_equal(n, 0);
  OK(store_sla_open_list(f->s, "S1", T0, T0 + 200, f->a, &op, &n));
  assert_int_equal(n, 1);
  OK(store_sla_open_list(f->s, "S2", T0, T0 + 1000, f->a, &op, &n));
  assert_int_equal(n, 0);
  RB(f);

  /* one at a time: b2 flagged, the thread's counts with it */
  W(f);
  o2.flagged = true;
  OK(store_sla_outcome_set(f->s, "S1", &o2));
  to.unflagged = 1;
  to.open = 0;
  to.resolved = true;
  OK(store_sla_thread_outcome_set(f->s, "S1", &to));
  sla_outcome o3 = sla_outcome_arrived(w.b3, w.u, T0 + 20);
  OK(store_sla_outcome_set(f->s, "S2", &o3));
  C(f);
  R(f);
  OK(store_sla_outcome_get(f->s, w.b2, &og));
  assert_true(og.flagged);
  OK(OP(f, sla_thread_outcome_get)(f->s, "S1", w.t, &tg));
  assert_true(tg.resolved);
  assert_int_equal(tg.open, 0);
  OK(store_sla_open_list(f->s, "S1", T0, T0 + 1000, f->a, &op, &n));
  assert_int_equal(n, 0);
  OK(store_sla_open_list(f->s, "S2", T0, T0 + 1000, f->a, &op, &n));
  assert_int_equal(n, 1);
  assert_int_equal(op[0].msg_id, w.b3);
  assert_null(op[0].ref);
  RB(f);

  /* replaced whole: what is not given is gone, the thread outcome too */
  W(f);
  OK(OP(f, sla_outcomes_put)(f->s, "S1", w.t, &o1, 1, NULL));
  C(f);
  R(f);
  OK(OP(f, sla_outcomes_get)(f->s, w.t, f->a, &l, &n, &tg, &has));
  assert_int_equal(n, 1);
  assert_int_equal(l[0].msg_id, w.b1);
  assert_false(has);
  assert_int_equal(store_sla_outcome_get(f->s, w.b2, &og), PL_ENOTFOUND);
  assert_int_equal(OP(f, sla_thread_outcome_get)(f->s, "S1", w.t, &tg), PL_ENOTFOUND);
  OK(store_sla_outcome_get(f->s, w.b3, &og)); /* another thread's stays */
  RB(f);
}

/* Hourly buckets: stored per seller, hour and agent; an empty one is deleted. */
static void test_sla_buckets(void **state) {
  fx *f = *state;
  world(f);
  int64_t h = sla_hour_of(T0);
  sla_bucket b, g;
  sla_bucket_init(&b, (sla_bucket_key){h, 7});
  b.received = 3;
  b.flagged = 1;
  b.open = 0;
  sla_bucket_rt_set(&b, (const int64_t[]){90, 300}, 2);
  b.rt_sum = 390;
  b.threads = 1;
  b.resolved_one = 1;
  sla_bucket c;
  sla_bucket_init(&c, (sla_bucket_key){h + 2, 0});
  c.received = 1;
  c.open = 1;
  sla_bucket d;
  sla_bucket_init(&d, (sla_bucket_key){h, 7});
  d.received = 9;
  R(f);
  assert_int_equal(OP(f, sla_bucket_get)(f->s, "S1", (sla_bucket_key){h, 7}, f->a, &g), PL_ENOTFOUND);
  RB(f);
  W(f);
  OK(OP(f, sla_bucket_put)(f->s, "S1", &b));
  OK(OP(f, sla_bucket_put)(f->s, "S1", &c));
  OK(OP(f, sla_bucket_put)(f->s, "S2", &d)); /* the same key at another seller */
  C(f);
  R(f);
  OK(OP(f, sla_bucket_get)(f->s, "S1", (sla_bucket_key){h, 7}, f->a, &g));
  assert_int_equal(g.hour, h);
  assert_int_equal(g.agent_id, 7);
  assert_int_equal(g.received, 3);
  assert_int_equal(g.flagged, 1);
  assert_int_equal(g.open, 0);
  assert_int_equal(g.n_rt, 2);
  assert_int_equal(g.rt[0], 90);
  assert_int_equal(g.rt[1], 300);
  assert_int_equal(g.rt_sum, 390);
  assert_int_equal(g.threads, 1);
  assert_int_equal(g.resolved_one, 1);
  assert_int_equal(g.resolved_two, 0);
  assert_int_equal(OP(f, sla_bucket_get)(f->s, "S1", (sla_bucket_key){h, 8}, f->a, &g), PL_ENOTFOUND);
  OK(OP(f, sla_bucket_get)(f->s, "S2", (sla_bucket_key){h, 7}, f->a, &g));
  assert_int_equal(g.received, 9);
  assert_int_equal(g.n_rt, 0);
  sla_bucket *l;
  size_t n;
  OK(OP(f, sla_bucket_range)(f->s, "S1", h, h + 2, f->a, &l, &n));
  assert_int_equal(n, 2);
  OK(OP(f, sla_bucket_range)(f->s, "S1", h + 1, h + 5, f->a, &l, &n));
  assert_int_equal(n, 1);
  assert_int_equal(l[0].hour, h + 2);
  assert_int_equal(l[0].open, 1);
  OK(OP(f, sla_bucket_range)(f->s, "S1", h - 5, h - 1, f->a, &l, &n));
  assert_int_equal(n, 0);
  OK(OP(f, sla_bucket_range)(f->s, "S2", h - 5, h + 5, f->a, &l, &n));
  assert_int_equal(n, 1);
  RB(f);
  /* emptied: deleted, S2's stays */
  sla_bucket empty;
  sla_bucket_init(&empty, (sla_bucket_key){h, 7});
  W(f);
  OK(OP(f, sla_bucket_put)(f->s, "S1", &empty));
  C(f);
  R(f);
  assert_int_equal(OP(f, sla_bucket_get)(f->s, "S1", (sla_bucket_key){h, 7}, f->a, &g), PL_ENOTFOUND);
  OK(OP(f, sla_bucket_get)(f->s, "S2", (sla_bucket_key){h, 7}, f->a, &g));
  RB(f);
  sla_bucket_release(&b);
  sla_bucket_release(&c);
  sla_bucket_release(&d);
}

/* The end of a thread for its summary: from the last delivered reply of kind message on
 * (everything when there is none), and the last buyer message's time (not an auto-reply). */
static void test_thread_tail(void **state) {
  fx *f = *state;
  clock_world w = make_clock(f);
  R(f);
  st_message *l;
  size_t n;
  pl_time last = 0;
  OK(OP(f, thread_tail)(f->s, w.t, f->a, &l, &n, &last));
  assert_int_equal(last, T0 + 200);
  assert_int_equal(n, 5);
  int64_t want[] = {w.s1, w.b2, w.ar, w.s2, w.note};
  for (size_t i = 0; i < n; i++) assert_int_equal(l[i].id, want[i]);
  assert_int_equal(l[0].status, ST_STATUS_DELIVERED);
  assert_int_equal(l[3].status, ST_STATUS_HELD_FOR_REVIEW);
  OK(OP(f, thread_tail)(f->s, w.u, f->a, &l, &n, &last));
  assert_int_equal(n, 1);
  assert_int_equal(l[0].id, w.b3);
  assert_int_equal(last, T0 + 20);
  RB(f);
  /* a delivered auto-reply or note is not the end; a later delivered reply is */
  W(f);
  int64_t ar2 = msg(f, w.t, "S1", ST_DIR_SELLER, ST_KIND_AUTO_REPLY, 0, NULL, T0 + 600);
  event(f, w.t, ar2, "S1", ST_EVENT_STATUS, "delivered", T0 + 600);
  C(f);
  R(f);
  OK(OP(f, thread_tail)(f->s, w.t, f->a, &l, &n, &last));
  assert_int_equal(n, 6);
  assert_int_equal(l[0].id, w.s1);
  RB(f);
  W(f);
  event(f, w.t, w.s2, "S1", ST_EVENT_STATUS, "delivered", T0 + 700);
  C(f);
  R(f);
  OK(OP(f, thread_tail)(f->s, w.t, f->a, &l, &n, &last));
  assert_int_equal(n, 3);
  assert_int_equal(l[0].id, w.s2);
  assert_int_equal(l[1].id, w.note);
  assert_int_equal(l[2].id, ar2);
  assert_int_equal(last, T0 + 200);
  /* a thread without messages */
  RB(f);
  int64_t empty = new_thread(f, "S1", "B2", NULL, "B0EMPTY001", T0);
  R(f);
  last = 1;
  OK(OP(f, thread_tail)(f->s, empty, f->a, &l, &n, &last));
  assert_int_equal(n, 0);
  assert_int_equal(last, 0);
  RB(f);
}

/* Threads that need a response and are due in (lo, hi], soonest first, of every seller;
 * archived ones and those needing none are not. */
static void test_thread_due_list(void **state) {
  fx *f = *state;
  clock_world w = make_clock(f);
  int64_t p = new_thread(f, "S1", "B2", NULL, "B0DUE00001", T0);
  int64_t q = new_thread(f, "S1", "B1", NULL, "B0DUE00002", T0);
  struct {
    int64_t id;
    int needs;
    bool archived;
    pl_time due;
  } sum[] = {{w.t, 1, false, T0 + 86420}, {w.u, 2, false, T0 + 86410},
             {p, 1, true, T0 + 86405},    {q, 0, false, T0 + 86405}};
  W(f);
  for (size_t i = 0; i < 4; i++) {
    st_thread t;
    OK(OP(f, thread_get)(f->s, sum[i].id, f->a, &t));
    t.needs_response = sum[i].needs;
    t.waiting = sum[i].needs;
    t.archived = sum[i].archived;
    t.response_due_at = sum[i].due;
    OK(OP(f, thread_update)(f->s, &t));
  }
  C(f);
  R(f);
  st_thread *l;
  size_t n;
  OK(store_thread_due_list(f->s, T0, T0 + 90000, 10, f->a, &l, &n));
  assert_int_equal(n, 2);
  assert_int_equal(l[0].id, w.u);
  assert_string_equal(l[0].seller_id, "S2");
  assert_string_equal(l[0].buyer_id, "B1");
  assert_string_equal(l[0].marketplace_id, MP);
  assert_int_equal(l[0].response_due_at, T0 + 86410);
  assert_int_equal(l[1].id, w.t);
  OK(store_thread_due_list(f->s, T0, T0 + 90000, 1, f->a, &l, &n));
  assert_int_equal(n, 1);
  assert_int_equal(l[0].id, w.u);
  OK(store_thread_due_list(f->s, T0 + 86410, T0 + 86420, 10, f->a, &l, &n)); /* (lo, hi] */
  assert_int_equal(n, 1);
  assert_int_equal(l[0].id, w.t);
  OK(store_thread_due_list(f->s, T0, T0 + 86409, 10, f->a, &l, &n));
  assert_int_equal(n, 0);
  RB(f);
}

#define PART_TESTS(setup)                                               \
  cmocka_unit_test_setup_teardown(test_sla_events, setup, teardown),     \
  cmocka_unit_test_setup_teardown(test_sla_outcomes, setup, teardown),   \
  cmocka_unit_test_setup_teardown(test_sla_buckets, setup, teardown),    \
  cmocka_unit_test_setup_teardown(test_thread_tail, setup, teardown),    \
  cmocka_unit_test_setup_teardown(test_thread_due_list, setup, teardown), \
  cmocka_unit_test(test_every_entry_called)

int main(void) {
  const struct CMUnitTest sqlite_tests[] = {PART_TESTS(setup_sqlite)};
  int rc = cmocka_run_group_tests_name("store_sla.sqlite", sqlite_tests, reset_calls, NULL);
  pg_base = getenv("PARLEY_TEST_PG_URL");
  if (!pg_base || !*pg_base) {
    printf("store_sla.pg: skipped (set PARLEY_TEST_PG_URL, see scripts/pg-test.sh)\n");
    return rc;
  }
  const struct CMUnitTest pg_tests[] = {PART_TESTS(setup_pg)};
  return rc | cmocka_run_group_tests_name("store_sla.pg", pg_tests, reset_calls, NULL);
}
