/* test_store_mail.c - the store's e-mail and integration entries on every backend: the
 * outbox and its claims, the look-ups of inbound mail (aliases, addresses, agents by
 * name), SP-API credentials and upload destinations, and the bus between the nodes of
 * one database (PostgreSQL; SQLite has none). */
#include <errno.h>
#include <time.h>

#define STORE_PART MAIL
#include "store_fixture.h"

/* ---- the outbox ------------------------------------------------------------------------ */

static int64_t outbox_msg(fx *f, int64_t t, pl_time at) {
  return add_msg(f, t, "S1", ST_DIR_SELLER, "your parcel left", ST_STATUS_DELIVERED, at);
}

/* Claims take due pending mails oldest first, at most limit, and move them out of the way
 * until the claim ends; an update writes the delivery's outcome. */
static void test_outbox(void **state) {
  fx *f = *state;
  world(f);
  put_order(f, "112-1", "S1", "B1", "B0AAA00001", T0);
  int64_t t = new_thread(f, "S1", "B1", "112-1", NULL, T0);
  W(f);
  int64_t m = outbox_msg(f, t, T0);
  st_outbox o[3] = {
      {.seller_id = "S1", .message_id = m, .kind = ST_OUTBOX_FORWARD, .next_at = T0 + 20, .created_at = T0},
      {.seller_id = "S1", .message_id = m, .kind = ST_OUTBOX_REFUSAL, .next_at = T0 + 10, .created_at = T0},
      {.seller_id = "S1", .message_id = m, .kind = ST_OUTBOX_FORWARD, .next_at = T0 + 500, .created_at = T0},
  };
  for (int i = 0; i < 3; i++) {
    OK(store_outbox_add(f->s, &o[i]));
    assert_true(o[i].id > 0);
    if (i) assert_true(o[i].id > o[i - 1].id);
  }
  C(f);
  st_outbox *l;
  size_t n;
  /* nothing due yet */
  W(f);
  OK(store_outbox_claim(f->s, T0 + 5, T0 + 65, 10, f->a, &l, &n));
  assert_int_equal(n, 0);
  C(f);
  /* due: the two oldest by due time, one at a time */
  W(f);
  OK(store_outbox_claim(f->s, T0 + 30, T0 + 90, 1, f->a, &l, &n));
  assert_int_equal(n, 1);
  assert_int_equal(l[0].id, o[1].id);
  assert_int_equal(l[0].kind, ST_OUTBOX_REFUSAL);
  assert_int_equal(l[0].state, ST_OUTBOX_PENDING);
  assert_string_equal(l[0].seller_id, "S1");
  assert_int_equal(l[0].message_id, m);
  assert_int_equal(l[0].attempts, 0);
  assert_int_equal(l[0].next_at, T0 + 90); /* claimed until */
  assert_int_equal(l[0].created_at, T0);
  assert_null(l[0].last_error);
  OK(store_outbox_claim(f->s, T0 + 30, T0 + 90, 10, f->a, &l, &n));
  assert_int_equal(n, 1);
  assert_int_equal(l[0].id, o[0].id);
  /* claimed: not taken again before the claim ends */
  OK(store_outbox_claim(f->s, T0 + 30, T0 + 90, 10, f->a, &l, &n));
  assert_int_equal(n, 0);
  C(f);
  /* one sent, one failed for a retry later */
  W(f);
  st_outbox sent = {.id = o[1].id, .state = ST_OUTBOX_SENT, .attempts = 1, .next_at = T0 + 90, .sent_at = T0 + 31};
  OK(store_outbox_update(f->s, &sent));
  st_outbox retry = {.id = o[0].id, .state = ST_OUTBOX_PENDING, .attempts = 1, .next_at = T0 + 300,
                     .last_error = "451 4.3.0 try again later"};
  OK(store_outbox_update(f->s, &retry));
  C(f);
  /* a claim that ended comes back; a sent mail never does */
  W(f);
  OK(store_outbox_claim(f->s, T0 + 1000, T0 + 1060, 10, f->a, &l, &n));
  assert_int_equal(n, 2);
  assert_int_equal(l[0].id, o[0].id);
  assert_int_equal(l[0].attempts, 1);
  assert_string_equal(l[0].last_error, "451 4.3.0 try again later");
  assert_int_equal(l[1].id, o[2].id);
  RB(f);
  /* a rolled-back claim did not move them */
  W(f);
  OK(store_outbox_claim(f->s, T0 + 300, T0 + 360, 10, f->a, &l, &n));
  assert_int_equal(n, 1);
  assert_int_equal(l[0].id, o[0].id);
  st_outbox failed = {.id = o[0].id, .state = ST_OUTBOX_FAILED, .attempts = 5, .next_at = T0 + 360,
                      .last_error = "550 5.1.1 no such user"};
  OK(store_outbox_update(f->s, &failed));
  C(f);
  W(f);
  OK(store_outbox_claim(f->s, T0 + 100000, T0 + 100060, 10, f->a, &l, &n));
  assert_int_equal(n, 1);
  assert_int_equal(l[0].id, o[2].id);
  RB(f);
}

/* The operator's figures: pending mail by kind with its oldest, held messages with the
 * oldest, of every seller; sent and failed mail and messages no longer held do not count. */
static void test_ops_figures(void **state) {
  fx *f = *state;
  world(f);
  st_ops_figures g;
  R(f);
  OK(store_ops_figures(f->s, &g));
  RB(f);
  for (int k = 0; k < ST_OUTBOX_KIND_N; k++) {
    assert_int_equal(g.outbox_pending[k], 0);
    assert_int_equal(g.outbox_oldest[k], 0);
  }
  assert_int_equal(g.held, 0);
  assert_int_equal(g.held_oldest, 0);
  put_order(f, "112-1", "S1", "B1", "B0AAA00001", T0);
  put_order(f, "112-2", "S2", "B2", "B0AAA00001", T0);
  int64_t t1 = new_thread(f, "S1", "B1", "112-1", NULL, T0);
  int64_t t2 = new_thread(f, "S2", "B2", "112-2", NULL, T0);
  W(f);
  int64_t m = outbox_msg(f, t1, T0);
  st_outbox o[5] = {
      {.seller_id = "S1", .message_id = m, .kind = ST_OUTBOX_FORWARD, .next_at = T0, .created_at = T0 + 5},
      {.seller_id = "S2", .message_id = m, .kind = ST_OUTBOX_FORWARD, .next_at = T0, .created_at = T0 + 2},
      {.seller_id = "S1", .message_id = m, .kind = ST_OUTBOX_REFUSAL, .next_at = T0, .created_at = T0 + 3},
      {.seller_id = "S1", .message_id = m, .kind = ST_OUTBOX_FORWARD, .next_at = T0, .created_at = T0},
      {.seller_id = "S1", .message_id = m, .kind = ST_OUTBOX_REFUSAL, .next_at = T0, .created_at = T0},
  };
  for (int i = 0; i < 5; i++) OK(store_outbox_add(f->s, &o[i]));
  /* the two oldest leave the pending set: one sent, one failed for good */
  st_outbox sent = {.id = o[3].id, .state = ST_OUTBOX_SENT, .attempts = 1, .next_at = T0, .sent_at = T0 + 1};
  OK(store_outbox_update(f->s, &sent));
  st_outbox failed = {.id = o[4].id, .state = ST_OUTBOX_FAILED, .attempts = 1, .next_at = T0,
                      .last_error = "550 5.1.1 no such user"};
  OK(store_outbox_update(f->s, &failed));
  add_msg(f, t1, "S1", ST_DIR_SELLER, "held one", ST_STATUS_HELD_FOR_REVIEW, T0 + 9);
  add_msg(f, t2, "S2", ST_DIR_SELLER, "held two", ST_STATUS_HELD_FOR_REVIEW, T0 + 7);
  int64_t released = add_msg(f, t1, "S1", ST_DIR_SELLER, "held, then approved", ST_STATUS_HELD_FOR_REVIEW, T0 + 1);
  st_event ok = {.message_id = released, .thread_id = t1, .seller_id = "S1", .type = ST_EVENT_STATUS,
                 .value = "delivered", .actor = "test", .at = T0 + 4};
  OK(OP(f, event_insert)(f->s, &ok));
  add_msg(f, t1, "S1", ST_DIR_SELLER, "delivered", ST_STATUS_DELIVERED, T0);
  C(f);
  R(f);
  OK(store_ops_figures(f->s, &g));
  RB(f);
  assert_int_equal(g.outbox_pending[ST_OUTBOX_FORWARD], 2);
  assert_int_equal(g.outbox_oldest[ST_OUTBOX_FORWARD], T0 + 2);
  assert_int_equal(g.outbox_pending[ST_OUTBOX_REFUSAL], 1);
  assert_int_equal(g.outbox_oldest[ST_OUTBOX_REFUSAL], T0 + 3);
  assert_int_equal(g.outbox_pending[ST_OUTBOX_KIND_UNKNOWN], 0);
  assert_int_equal(g.held, 2);
  assert_int_equal(g.held_oldest, T0 + 7);
}

/* ---- look-ups of inbound mail --------------------------------------------------------- */

static void test_mail_lookups(void **state) {
  fx *f = *state;
  world(f);
  W(f);
  st_agent ag = {.seller_id = "S1", .name = "Maya", .role = ST_ROLE_AGENT};
  int64_t maya1, maya2, sam, maya_s2;
  OK(store_agent_add(f->s, &ag, &maya1));
  OK(store_agent_add(f->s, &ag, &maya2)); /* a second Maya at S1 */
  ag.name = "Sam";
  OK(store_agent_add(f->s, &ag, &sam));
  st_agent other = {.seller_id = "S2", .name = "Maya", .role = ST_ROLE_OWNER};
  OK(store_agent_add(f->s, &other, &maya_s2));
  /* a buyer sharing B1's address hash (two accounts of one person) */
  st_buyer b0 = {.id = "B0", .name = "Jane Again", .locale = "en-US", .email_hash = "h1"};
  OK(store_buyer_put(f->s, &b0));
  C(f);
  R(f);
  char *mp, *buyer, *seller;
  OK(store_alias_find(f->s, "b2s1@relay.example.com", f->a, &mp, &buyer, &seller));
  assert_string_equal(mp, MP);
  assert_string_equal(buyer, "B2");
  assert_string_equal(seller, "S1");
  OK(store_alias_find(f->s, "b1s2@relay.example.com", f->a, &mp, &buyer, &seller));
  assert_string_equal(buyer, "B1");
  assert_string_equal(seller, "S2");
  assert_int_equal(store_alias_find(f->s, "nobody@relay.example.com", f->a, &mp, &buyer, &seller),
                   PL_ENOTFOUND);
  /* a seller's alias is not a buyer's, and the other way round */
  assert_int_equal(store_alias_find(f->s, "s1@relay.example.com", f->a, &mp, &buyer, &seller),
                   PL_ENOTFOUND);
  st_seller sl;
  OK(store_seller_get(f->s, NULL, "s2@relay.example.com", f->a, &sl));
  assert_string_equal(sl.id, "S2");
  assert_string_equal(sl.name, "Other Shop");
  assert_string_equal(sl.marketplace_id, MP);
  OK(store_seller_get(f->s, NULL, "s1@relay.example.com", f->a, &sl));
  assert_string_equal(sl.id, "S1");
  assert_string_equal(sl.email_sealed, "sealed1");
  assert_int_equal(store_seller_get(f->s, NULL, "b1s1@relay.example.com", f->a, &sl), PL_ENOTFOUND);
  /* a buyer by address hash: the lowest id when several share it */
  st_buyer b;
  OK(store_buyer_get(f->s, NULL, "h2", f->a, &b));
  assert_string_equal(b.id, "B2");
  assert_true(b.opt_out);
  assert_string_equal(b.email_sealed, "y");
  OK(store_buyer_get(f->s, NULL, "h1", f->a, &b));
  assert_string_equal(b.id, "B0");
  assert_int_equal(store_buyer_get(f->s, NULL, "h9", f->a, &b), PL_ENOTFOUND);
  /* an agent by name within the seller: the lowest id */
  st_agent g;
  OK(store_agent_get(f->s, 0, "S1", "Maya", f->a, &g));
  assert_int_equal(g.id, maya1);
  assert_string_equal(g.seller_id, "S1");
  assert_int_equal(g.role, ST_ROLE_AGENT);
  OK(store_agent_get(f->s, 0, "S2", "Maya", f->a, &g));
  assert_int_equal(g.id, maya_s2);
  assert_int_equal(g.role, ST_ROLE_OWNER);
  OK(store_agent_get(f->s, 0, "S1", "Sam", f->a, &g));
  assert_int_equal(g.id, sam);
  assert_int_equal(store_agent_get(f->s, 0, "S2", "Sam", f->a, &g), PL_ENOTFOUND);
  assert_int_equal(store_agent_get(f->s, 0, "S1", "maya", f->a, &g), PL_ENOTFOUND);
  RB(f);
  (void)maya2;
}

/* ---- SP-API -------------------------------------------------------------------------- */

static void test_spapi(void **state) {
  fx *f = *state;
  world(f);
  W(f);
  st_agent ag = {.seller_id = "S1", .name = "app", .role = ST_ROLE_AGENT};
  int64_t a1, a2;
  OK(store_agent_add(f->s, &ag, &a1));
  OK(store_agent_add(f->s, &ag, &a2));
  st_spapi_client c = {.client_id = "amzn1.application-oa2-client.1", .seller_id = "S1", .agent_id = a1,
                       .secret_hash = "sec1", .refresh_hash = "ref1", .created_at = T0};
  OK(store_spapi_client_put(f->s, &c));
  C(f);
  R(f);
  st_spapi_client g;
  OK(store_spapi_client_get(f->s, "amzn1.application-oa2-client.1", NULL, f->a, &g));
  assert_string_equal(g.seller_id, "S1");
  assert_int_equal(g.agent_id, a1);
  assert_string_equal(g.secret_hash, "sec1");
  assert_string_equal(g.refresh_hash, "ref1");
  assert_int_equal(g.created_at, T0);
  OK(store_spapi_client_get(f->s, NULL, "S1", f->a, &g));
  assert_string_equal(g.client_id, "amzn1.application-oa2-client.1");
  assert_int_equal(store_spapi_client_get(f->s, NULL, "S2", f->a, &g), PL_ENOTFOUND);
  assert_int_equal(store_spapi_client_get(f->s, "amzn1.application-oa2-client.9", NULL, f->a, &g),
                   PL_ENOTFOUND);
  RB(f);
  /* rotated: the secrets and agent are replaced, the seller and creation time stay */
  W(f);
  st_spapi_client rot = {.client_id = "amzn1.application-oa2-client.1", .seller_id = "S2", .agent_id = a2,
                         .secret_hash = "sec2", .refresh_hash = "ref2", .created_at = T0 + 99};
  OK(store_spapi_client_put(f->s, &rot));
  C(f);
  R(f);
  OK(store_spapi_client_get(f->s, "amzn1.application-oa2-client.1", NULL, f->a, &g));
  assert_string_equal(g.seller_id, "S1");
  assert_int_equal(g.agent_id, a2);
  assert_string_equal(g.secret_hash, "sec2");
  assert_string_equal(g.refresh_hash, "ref2");
  assert_int_equal(g.created_at, T0);
  RB(f);

  /* upload destinations: announced, then given their attachment */
  st_spapi_upload u = {.id = "up-1", .seller_id = "S1", .resource = "/messaging/v1/orders/112-1",
                       .content_md5 = "1B2M2Y8AsgTpgAmY7PhCfg==", .content_type = "application/pdf",
                       .created_at = T0, .expires_at = T0 + 900};
  W(f);
  OK(store_spapi_upload_put(f->s, &u));
  C(f);
  R(f);
  st_spapi_upload gu;
  OK(store_spapi_upload_get(f->s, "up-1", f->a, &gu));
  assert_string_equal(gu.seller_id, "S1");
  assert_string_equal(gu.resource, "/messaging/v1/orders/112-1");
  assert_string_equal(gu.content_md5, "1B2M2Y8AsgTpgAmY7PhCfg==");
  assert_string_equal(gu.content_type, "application/pdf");
  assert_null(gu.attachment_id);
  assert_int_equal(gu.created_at, T0);
  assert_int_equal(gu.expires_at, T0 + 900);
  assert_int_equal(store_spapi_upload_get(f->s, "up-2", f->a, &gu), PL_ENOTFOUND);
  RB(f);
  st_attachment att = {.id = "A000000000000000000000001", .seller_id = "S1", .uploader = "agent:1",
                       .name = "x.pdf", .kind = "pdf", .sha256 = "ee", .size = 1, .created_at = T0};
  W(f);
  OK(store_attachment_put(f->s, &att));
  u.attachment_id = att.id;
  u.content_type = "text/plain"; /* only the attachment changes */
  OK(store_spapi_upload_put(f->s, &u));
  C(f);
  R(f);
  OK(store_spapi_upload_get(f->s, "up-1", f->a, &gu));
  assert_string_equal(gu.attachment_id, att.id);
  assert_string_equal(gu.content_type, "application/pdf");
  RB(f);
}

/* ---- the bus ---------------------------------------------------------------------------- */

typedef struct {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  char got[16][64]; /* payloads heard, but pings */
  size_t n;
  bool pinged;      /* a ping was heard */
  int next;         /* the number of the next "n <number>" expected: they come in order */
  bool out_of_order;
} inbox_bus;

static void bus_deliver(void *ctx, const char *payload) {
  inbox_bus *b = ctx;
  if (!payload) return; /* "some may have been missed": nothing to check here */
  pthread_mutex_lock(&b->mu);
  if (!strncmp(payload, "ping", 4)) b->pinged = true;
  else if (!strncmp(payload, "n ", 2)) b->out_of_order |= atoi(payload + 2) != b->next++;
  else if (b->n < 16) snprintf(b->got[b->n++], 64, "%s", payload);
  pthread_cond_broadcast(&b->cv);
  pthread_mutex_unlock(&b->mu);
}

/* Waits until b holds `want` payloads (not pings) and `numbered` numbered ones, at most 20 s. */
static bool bus_wait(inbox_bus *b, size_t want, int numbered) {
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += 20;
  pthread_mutex_lock(&b->mu);
  while (b->n < want || b->next < numbered)
    if (pthread_cond_timedwait(&b->cv, &b->mu, &until) == ETIMEDOUT) break;
  bool ok = b->n >= want && b->next >= numbered;
  pthread_mutex_unlock(&b->mu);
  return ok;
}

/* Until the listener of b hears a ping sent through s: both nodes' listeners are then up. */
static void bus_handshake(store *s, inbox_bus *b) {
  for (int i = 0; i < 400; i++) {
    char ping[32];
    snprintf(ping, sizeof ping, "ping %d", i);
    s->ops->bus_send(s, ping);
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_nsec += 50 * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
      until.tv_sec++;
      until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&b->mu);
    while (!b->pinged)
      if (pthread_cond_timedwait(&b->cv, &b->mu, &until) == ETIMEDOUT) break;
    bool heard = b->pinged;
    pthread_mutex_unlock(&b->mu);
    if (heard) return;
  }
  fail_msg("the bus carried no ping in 20 s");
}

/* Two nodes on one database: what either sends reaches both, in order (more at once than
 * one notifying statement carries, too); quotes, backslashes and braces arrive as sent;
 * an oversized payload is dropped; a node has one bus at a time. */
static void test_bus(void **state) {
  fx *f = *state;
  if (!f->pg) {
    OP_ABSENT(f, bus_start);
    OP_ABSENT(f, bus_send);
    OP_ABSENT(f, bus_stop);
    return;
  }
  store *other;
  pl_detail d = {0};
  OK(store_open(f->url, &other, &d));
  inbox_bus a = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
  inbox_bus b = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
  OK(OP(f, bus_start)(f->s, bus_deliver, &a));
  assert_int_equal(OP(f, bus_start)(f->s, bus_deliver, &a), PL_EEXIST);
  OK(other->ops->bus_start(other, bus_deliver, &b));
  bus_handshake(other, &a);
  bus_handshake(f->s, &b);
  char big[8200];
  memset(big, 'x', sizeof big - 1);
  big[sizeof big - 1] = 0;
  OP(f, bus_send)(f->s, big); /* above 7900 bytes: never sent */
  OP(f, bus_send)(f->s, "{\"thread\":1}");
  other->ops->bus_send(other, "{\"thread\":2}");
  OP(f, bus_send)(f->s, "a\\b,\"{c}\"");
  for (int i = 0; i < 1200; i++) { /* a burst: the bus sends 512 a statement */
    char n[16];
    snprintf(n, sizeof n, "n %d", i);
    OP(f, bus_send)(f->s, n);
  }
  assert_true(bus_wait(&a, 3, 1200));
  assert_true(bus_wait(&b, 3, 1200));
  assert_false(a.out_of_order || b.out_of_order);
  /* each node hears its own and the other's; the big one never came */
  for (int k = 0; k < 2; k++) {
    inbox_bus *x = k ? &b : &a;
    bool one = false, two = false, odd = false;
    for (size_t i = 0; i < x->n; i++) {
      one |= !strcmp(x->got[i], "{\"thread\":1}");
      two |= !strcmp(x->got[i], "{\"thread\":2}");
      odd |= !strcmp(x->got[i], "a\\b,\"{c}\"");
      assert_true(strlen(x->got[i]) < 63);
    }
    assert_true(one && two && odd);
  }
  OP(f, bus_stop)(f->s);
  /* stopped: it can start again */
  OK(OP(f, bus_start)(f->s, bus_deliver, &a));
  OP(f, bus_stop)(f->s);
  other->ops->bus_stop(other);
  store_close(other);
}

/* ---- webhooks ---------------------------------------------------------------------------- */

/* A seller's and the operator's webhooks: who hears of an event (active, the seller's,
 * the operator's of the marketplace or of all), one delivery an event a webhook, claims
 * oldest first and out of the way until they end, the log newest first, and a delete that
 * takes the deliveries with it. */
/* The seller's settings and the agents' notification choices (store_notify.c): defaults
 * for who chose nothing, a chosen mode found by seller, digests by due time, a notice once
 * under its dedupe key. */
static void test_notify(void **state) {
  fx *f = *state;
  world(f);
  W(f);
  st_seller_settings ss;
  assert_int_equal(store_seller_settings_get(f->s, "S1", f->a, &ss), PL_ENOTFOUND);
  OK(store_seller_settings_put(f->s, &(st_seller_settings){.seller_id = "S1", .notice_language = "de",
                                                           .marketplace_fulfilled = false, .email_sealed = "sealed-x",
                                                           .email_requested_at = T0, .updated_at = T0}));
  OK(store_seller_settings_put(f->s, &(st_seller_settings){.seller_id = "S1", .notice_language = "fr",
                                                           .marketplace_fulfilled = false, .email_sealed = "sealed-y",
                                                           .email_requested_at = T0 + 5, .updated_at = T0 + 5}));
  int64_t maya, sam, gone;
  st_agent ag = {.seller_id = "S1", .name = "Maya", .role = ST_ROLE_OWNER};
  OK(store_agent_add(f->s, &ag, &maya));
  ag.name = "Sam";
  ag.role = ST_ROLE_AGENT;
  OK(store_agent_add(f->s, &ag, &sam));
  ag.name = "Gone";
  OK(store_agent_add(f->s, &ag, &gone));
  OK(store_agent_deactivate(f->s, gone, T0));
  st_agent_address ad = {.seller_id = "S1", .agent_id = sam, .email_sealed = "sealed-sam", .email_hash = "hs",
                         .created_at = T0};
  OK(store_agent_address_add(f->s, &ad));
  C(f);
  R(f);
  OK(store_seller_settings_get(f->s, "S1", f->a, &ss));
  assert_string_equal(ss.notice_language, "fr");
  assert_false(ss.marketplace_fulfilled);
  assert_string_equal(ss.email_sealed, "sealed-y");
  assert_int_equal(ss.email_requested_at, T0 + 5);
  st_agent_notify n;
  OK(store_agent_notify_get(f->s, sam, f->a, &n)); /* the defaults, and the first address */
  assert_string_equal(n.mode, "deadlines");
  assert_string_equal(n.scope, "all");
  assert_true(n.email && n.browser);
  assert_int_equal(n.address_id, ad.id);
  assert_int_equal(n.role, ST_ROLE_AGENT);
  st_agent_notify *l;
  size_t k;
  OK(store_agent_notify_list(f->s, "S1", NULL, f->a, &l, &k));
  assert_int_equal(k, 2); /* not the deactivated one */
  OK(store_agent_notify_list(f->s, "S1", "each", f->a, &l, &k));
  assert_int_equal(k, 0);
  C(f);
  W(f);
  n.mode = "each";
  n.scope = "assigned";
  n.browser = false;
  OK(store_agent_notify_put(f->s, &n));
  OK(store_agent_notify_get(f->s, maya, f->a, &n));
  assert_int_equal(n.address_id, 0);
  n.mode = "hourly";
  n.digest_at = T0 + 3600;
  OK(store_agent_notify_put(f->s, &n));
  C(f);
  R(f);
  OK(store_agent_notify_list(f->s, "S1", "each", f->a, &l, &k));
  assert_int_equal(k, 1);
  assert_int_equal(l[0].agent_id, sam);
  assert_string_equal(l[0].scope, "assigned");
  assert_false(l[0].browser);
  OK(store_agent_notify_list(f->s, "S1", "deadlines", f->a, &l, &k));
  assert_int_equal(k, 0); /* Sam chose each, Maya hourly */
  OK(store_digest_due(f->s, T0 + 3599, 10, f->a, &l, &k));
  assert_int_equal(k, 0);
  OK(store_digest_due(f->s, T0 + 3600, 10, f->a, &l, &k));
  assert_int_equal(k, 1);
  assert_int_equal(l[0].agent_id, maya);
  C(f);
  W(f);
  OK(store_digest_next(f->s, maya, T0 + 3600, T0 + 7200));
  assert_int_equal(store_digest_next(f->s, maya, T0 + 3600, T0 + 7200), PL_ENOTFOUND); /* moved already */
  st_outbox o = {.seller_id = "S1", .kind = ST_OUTBOX_NOTICE, .next_at = T0, .created_at = T0, .agent_id = sam,
                 .payload = "{\"type\":\"digest\"}", .dedupe = "digest|1"};
  OK(store_outbox_add(f->s, &o));
  assert_true(o.id > 0);
  assert_int_equal(store_outbox_add(f->s, &o), PL_EEXIST);
  st_outbox *ob;
  OK(store_outbox_claim(f->s, T0, T0 + 60, 10, f->a, &ob, &k));
  assert_int_equal(k, 1);
  assert_int_equal(ob[0].kind, ST_OUTBOX_NOTICE);
  assert_int_equal(ob[0].message_id, 0);
  assert_int_equal(ob[0].agent_id, sam);
  assert_string_equal(ob[0].payload, "{\"type\":\"digest\"}");
  /* a seller's health: recorded when new or changed, not when the same */
  bool changed;
  OK(store_seller_health_set(f->s, "S1", "good", T0, &changed));
  assert_true(changed);
  OK(store_seller_health_set(f->s, "S1", "good", T0 + 900, &changed));
  assert_false(changed);
  OK(store_seller_health_set(f->s, "S1", "at_risk", T0 + 1800, &changed));
  assert_true(changed);
  pl_time since;
  OK(store_seller_crt_at_risk(f->s, "S1", true, T0 + 1800, &since));
  assert_int_equal(since, T0 + 1800);
  OK(store_seller_crt_at_risk(f->s, "S1", true, T0 + 2700, &since));
  assert_int_equal(since, T0 + 1800); /* without a break: since the first */
  OK(store_seller_crt_at_risk(f->s, "S1", false, T0 + 3600, &since));
  assert_int_equal(since, 0);
  C(f);
  /* claims: once each (order, kind, time); the complaint rate's counts by window */
  put_order(f, "112-9", "S1", "B1", "B0AAA00009", T0);
  put_order(f, "112-8", "S1", "B1", "B0AAA00008", T0);
  new_thread(f, "S1", "B1", "112-9", NULL, T0 + 10);
  new_thread(f, "S1", "B1", "112-8", NULL, T0 + 20);
  W(f);
  st_claim cl = {.order_id = "112-9", .seller_id = "S1", .kind = "a_to_z", .at = T0 + 100, .created_at = T0};
  OK(store_claim_add(f->s, &cl));
  assert_true(cl.id > 0);
  assert_int_equal(store_claim_add(f->s, &cl), PL_EEXIST);
  cl.kind = "chargeback";
  OK(store_claim_add(f->s, &cl));
  st_claim *cls;
  OK(store_claim_list(f->s, "S1", 10, f->a, &cls, &k));
  assert_int_equal(k, 2);
  int64_t conv, claimed;
  OK(store_complaint_counts(f->s, "S1", T0, T0 + 3600, &conv, &claimed));
  assert_int_equal(conv, 2);
  assert_int_equal(claimed, 1);
  OK(store_complaint_counts(f->s, "S1", T0 + 15, T0 + 3600, &conv, &claimed));
  assert_int_equal(conv, 1); /* the thread started before the window is out */
  assert_int_equal(claimed, 0);
  C(f);
}

/* Bulk notices (store_bulk.c): a notice and its items, each item recorded once (a second
 * worker finds it pending no more), counts by state, cancel, done when nothing is pending. */
static void test_bulk(void **state) {
  fx *f = *state;
  world(f);
  put_order(f, "112-7", "S1", "B1", "B0AAA00007", T0);
  put_order(f, "112-6", "S1", "B1", "B0AAA00007", T0);
  put_order(f, "112-5", "S1", "B1", "B0AAA00005", T0);
  W(f);
  char **ids;
  size_t k;
  OK(store_orders_with_asin(f->s, "S1", "B0AAA00007", 10, f->a, &ids, &k));
  assert_int_equal(k, 2);
  assert_string_equal(ids[0], "112-6");
  const char *orders[] = {"112-7", "112-6", "112-5"};
  st_bulk b = {.seller_id = "S1", .marketplace_id = MP, .agent_id = 1, .action = "unexpectedProblem",
               .text = "Recall", .attachments = "[]", .total = 3, .created_at = T0};
  OK(store_bulk_add(f->s, &b, orders, 3));
  assert_true(b.id > 0);
  st_bulk b2 = b;
  OK(store_bulk_add(f->s, &b2, orders, 1));
  C(f);
  R(f);
  st_bulk *bs;
  OK(store_bulk_running(f->s, 10, f->a, &bs, &k));
  assert_int_equal(k, 2);
  assert_int_equal(bs[0].id, b.id); /* the oldest first */
  st_bulk_item *it;
  OK(store_bulk_pending(f->s, b.id, 2, f->a, &it, &k));
  assert_int_equal(k, 2);
  assert_string_equal(it[0].order_id, "112-5");
  C(f);
  W(f);
  it[0].state = "delivered";
  it[0].message_id = 42;
  it[0].updated_at = T0 + 1;
  OK(store_bulk_item_set(f->s, &it[0]));
  assert_int_equal(store_bulk_item_set(f->s, &it[0]), PL_ENOTFOUND); /* once */
  bool done;
  OK(store_bulk_finish(f->s, b.id, T0 + 2, &done));
  assert_false(done); /* two pending */
  OK(store_bulk_cancel(f->s, b.id, T0 + 3));
  assert_int_equal(store_bulk_cancel(f->s, b.id, T0 + 4), PL_ENOTFOUND);
  it[1].state = "failed";
  it[1].error = "late";
  assert_int_equal(store_bulk_item_set(f->s, &it[1]), PL_ENOTFOUND); /* canceled, not pending */
  it[0].notice_id = b2.id;
  it[0].order_id = "112-7";
  OK(store_bulk_item_set(f->s, &it[0]));
  OK(store_bulk_finish(f->s, b2.id, T0 + 5, &done));
  assert_true(done);
  C(f);
  R(f);
  st_bulk_counts cn;
  OK(store_bulk_counts(f->s, b.id, f->a, &cn));
  assert_int_equal(cn.delivered, 1);
  assert_int_equal(cn.canceled, 2);
  assert_int_equal(cn.pending, 0);
  OK(store_bulk_items(f->s, b.id, f->a, &it, &k));
  assert_int_equal(k, 3);
  assert_string_equal(it[0].order_id, "112-5");
  assert_int_equal(it[0].message_id, 42);
  st_bulk g;
  OK(store_bulk_get(f->s, b2.id, f->a, &g));
  assert_string_equal(g.status, "done");
  OK(store_bulk_list(f->s, "S1", 0, 10, f->a, &bs, &k));
  assert_int_equal(k, 2);
  assert_int_equal(bs[0].id, b2.id); /* newest first */
  OK(store_bulk_list(f->s, "S2", 0, 10, f->a, &bs, &k));
  assert_int_equal(k, 0);
  C(f);
}

static void test_webhooks(void **state) {
  fx *f = *state;
  world(f);
  st_webhook w[4] = {
      {.owner = "seller", .seller_id = "S1", .url = "https://hooks.example/a", .events_json = "[\"message.received\"]",
       .secret_sealed = "sealed-a", .active = true, .created_at = T0},
      {.owner = "seller", .seller_id = "S2", .url = "https://hooks.example/b", .events_json = "[]",
       .secret_sealed = "sealed-b", .active = true, .created_at = T0},
      {.owner = "operator", .marketplace_id = MP, .url = "https://ops.example/c", .events_json = "[]",
       .secret_sealed = "sealed-c", .active = true, .created_at = T0},
      {.owner = "operator", .url = "https://ops.example/d", .events_json = "[]", .secret_sealed = "sealed-d",
       .active = false, .created_at = T0},
  };
  W(f);
  for (int i = 0; i < 4; i++) OK(store_webhook_put(f->s, &w[i]));
  C(f);
  R(f);
  st_webhook *l;
  size_t n;
  OK(store_webhook_listeners(f->s, "S1", MP, f->a, &l, &n));
  assert_int_equal(n, 2); /* S1's own and the operator's of the marketplace; not S2's, not the inactive one */
  assert_int_equal(l[0].id, w[0].id);
  assert_int_equal(l[1].id, w[2].id);
  assert_string_equal(l[0].secret_sealed, "sealed-a");
  assert_true(l[0].active);
  OK(store_webhook_listeners(f->s, "S1", "OTHER", f->a, &l, &n));
  assert_int_equal(n, 1);
  OK(store_webhook_list(f->s, "S1", f->a, &l, &n));
  assert_int_equal(n, 1);
  OK(store_webhook_list(f->s, NULL, f->a, &l, &n));
  assert_int_equal(n, 2);
  assert_false(l[1].active);
  st_webhook g;
  OK(store_webhook_get(f->s, w[2].id, f->a, &g));
  assert_string_equal(g.owner, "operator");
  assert_string_equal(g.marketplace_id, MP);
  assert_null(g.seller_id);
  assert_int_equal(store_webhook_get(f->s, w[3].id + 100, f->a, &g), PL_ENOTFOUND);
  RB(f);
  /* one delivery an event a webhook */
  W(f);
  st_webhook_delivery d[3] = {
      {.webhook_id = w[0].id, .event_id = "evt_1", .type = "message.received", .body = "{\"n\":1}", .created_at = T0},
      {.webhook_id = w[0].id, .event_id = "evt_2", .type = "message.received", .body = "{\"n\":2}", .created_at = T0 + 5},
      {.webhook_id = w[2].id, .event_id = "evt_1", .type = "message.received", .body = "{\"n\":1}", .created_at = T0},
  };
  for (int i = 0; i < 3; i++) OK(store_webhook_delivery_add(f->s, &d[i]));
  st_webhook_delivery again = d[0];
  assert_int_equal(store_webhook_delivery_add(f->s, &again), PL_EEXIST);
  C(f);
  R(f);
  bool any = true;
  OK(store_webhook_delivery_due(f->s, T0 - 1, &any));
  assert_false(any);
  OK(store_webhook_delivery_due(f->s, T0, &any));
  assert_true(any);
  RB(f);
  W(f);
  st_webhook_delivery *c;
  OK(store_webhook_delivery_claim(f->s, T0 + 1, T0 + 61, 10, f->a, &c, &n));
  assert_int_equal(n, 2); /* evt_2 is not due yet */
  assert_int_equal(c[0].id, d[0].id);
  assert_string_equal(c[0].state, "pending");
  assert_int_equal(c[0].next_at, T0 + 61);
  OK(store_webhook_delivery_claim(f->s, T0 + 10, T0 + 70, 10, f->a, &c, &n));
  assert_int_equal(n, 1); /* the claimed ones are out of the way */
  assert_int_equal(c[0].id, d[1].id);
  c[0].state = "delivered";
  c[0].attempts = 1;
  c[0].last_at = T0 + 11;
  c[0].last_status = 204;
  c[0].last_ms = 12;
  c[0].last_answer = "ok";
  OK(store_webhook_delivery_update(f->s, &c[0]));
  C(f);
  R(f);
  st_webhook_delivery *log;
  OK(store_webhook_delivery_list(f->s, w[0].id, 0, 10, f->a, &log, &n));
  assert_int_equal(n, 2);
  assert_int_equal(log[0].id, d[1].id); /* newest first */
  assert_string_equal(log[0].state, "delivered");
  assert_int_equal(log[0].last_status, 204);
  assert_string_equal(log[0].last_answer, "ok");
  OK(store_webhook_delivery_list(f->s, w[0].id, d[1].id, 10, f->a, &log, &n));
  assert_int_equal(n, 1);
  st_webhook_delivery one;
  OK(store_webhook_delivery_get(f->s, w[0].id, d[0].id, f->a, &one));
  assert_string_equal(one.body, "{\"n\":1}");
  assert_int_equal(store_webhook_delivery_get(f->s, w[2].id, d[0].id, f->a, &one), PL_ENOTFOUND); /* another's */
  RB(f);
  /* the log's clean-up takes only what is no longer to be sent, and only what is old */
  W(f);
  int64_t swept = -1;
  OK(store_webhook_delivery_sweep(f->s, T0 + 3, 10, &swept));
  assert_int_equal(swept, 0); /* d[0] is pending; d[1] is newer */
  OK(store_webhook_delivery_sweep(f->s, T0 + 100, 10, &swept));
  assert_int_equal(swept, 1); /* d[1], delivered */
  OK(store_webhook_delivery_list(f->s, w[0].id, 0, 10, f->a, &log, &n));
  assert_int_equal(n, 1);
  assert_int_equal(log[0].id, d[0].id);
  C(f);
  /* turned off, then deleted with its deliveries */
  W(f);
  w[0].active = false;
  w[0].failing_since = T0 + 3;
  w[0].disabled_reason = "failing";
  w[0].updated_at = T0 + 99;
  OK(store_webhook_put(f->s, &w[0]));
  OK(store_webhook_get(f->s, w[0].id, f->a, &g));
  assert_false(g.active);
  assert_int_equal(g.failing_since, T0 + 3);
  assert_string_equal(g.disabled_reason, "failing");
  OK(store_webhook_delete(f->s, w[0].id));
  assert_int_equal(store_webhook_delete(f->s, w[0].id), PL_ENOTFOUND);
  OK(store_webhook_delivery_list(f->s, w[0].id, 0, 10, f->a, &log, &n));
  assert_int_equal(n, 0);
  C(f);
}

#define PART_TESTS(setup)                                             \
  cmocka_unit_test_setup_teardown(test_outbox, setup, teardown),       \
  cmocka_unit_test_setup_teardown(test_ops_figures, setup, teardown),  \
  cmocka_unit_test_setup_teardown(test_mail_lookups, setup, teardown), \
  cmocka_unit_test_setup_teardown(test_spapi, setup, teardown),        \
  cmocka_unit_test_setup_teardown(test_bus, setup, teardown),          \
  cmocka_unit_test_setup_teardown(test_webhooks, setup, teardown),     \
  cmocka_unit_test_setup_teardown(test_notify, setup, teardown),       \
  cmocka_unit_test_setup_teardown(test_bulk, setup, teardown),         \
  cmocka_unit_test(test_every_entry_called)

int main(void) {
  const struct CMUnitTest sqlite_tests[] = {PART_TESTS(setup_sqlite)};
  int rc = cmocka_run_group_tests_name("store_mail.sqlite", sqlite_tests, reset_calls, NULL);
  pg_base = getenv("PARLEY_TEST_PG_URL");
  if (!pg_base || !*pg_base) {
    printf("store_mail.pg: skipped (set PARLEY_TEST_PG_URL, see scripts/pg-test.sh)\n");
    return rc;
  }
  const struct CMUnitTest pg_tests[] = {PART_TESTS(setup_pg)};
  return rc | cmocka_run_group_tests_name("store_mail.pg", pg_tests, reset_calls, NULL);
}
