/* test_store_team.c - the store's team work on every backend (docs/team.md): documents
 * per seller and kind, agents' availability, a thread's assignee, priority and tags,
 * composition locks, the replies a reviewer samples, and unassigning a leaving agent. */
#define STORE_PART TEAM
#include "store_fixture.h"

/* Documents: inserted, replaced, listed newest first by state, deleted; every access is
 * by seller and kind, so another seller's id never reaches them. */
static void test_team_docs(void **state) {
  fx *f = *state;
  world(f);
  st_team_doc d[4] = {
      {.seller_id = "S1", .kind = ST_DOC_TEMPLATE, .body = "{\"name\":\"Shipping\"}",
       .created_at = T0, .updated_at = T0},
      {.seller_id = "S1", .kind = ST_DOC_PROPOSAL, .state = ST_PROPOSAL_PENDING, .body = "{\"text\":\"a\"}",
       .created_at = T0 + 1, .updated_at = T0 + 1},
      {.seller_id = "S1", .kind = ST_DOC_PROPOSAL, .state = ST_PROPOSAL_PENDING, .body = "{\"text\":\"b\"}",
       .created_at = T0 + 2, .updated_at = T0 + 2},
      {.seller_id = "S2", .kind = ST_DOC_TEMPLATE, .body = "{\"name\":\"Theirs\"}",
       .created_at = T0 + 3, .updated_at = T0 + 3},
  };
  W(f);
  for (int i = 0; i < 4; i++) {
    OK(store_team_doc_put(f->s, &d[i]));
    assert_true(d[i].id > 0);
  }
  C(f);
  R(f);
  st_team_doc g;
  OK(store_team_doc_get(f->s, "S1", ST_DOC_TEMPLATE, d[0].id, f->a, &g));
  assert_int_equal(g.id, d[0].id);
  assert_string_equal(g.seller_id, "S1");
  assert_int_equal(g.kind, ST_DOC_TEMPLATE);
  assert_int_equal(g.state, ST_PROPOSAL_NONE);
  assert_string_equal(g.body, "{\"name\":\"Shipping\"}");
  assert_int_equal(g.created_at, T0);
  assert_int_equal(store_team_doc_get(f->s, "S2", ST_DOC_TEMPLATE, d[0].id, f->a, &g), PL_ENOTFOUND);
  assert_int_equal(store_team_doc_get(f->s, "S1", ST_DOC_PROPOSAL, d[0].id, f->a, &g), PL_ENOTFOUND);
  st_team_doc *l;
  size_t n;
  OK(store_team_doc_list(f->s, "S1", ST_DOC_PROPOSAL, ST_PROPOSAL_NONE, 10, f->a, &l, &n));
  assert_int_equal(n, 2);
  assert_int_equal(l[0].id, d[2].id);
  assert_int_equal(l[1].id, d[1].id);
  OK(store_team_doc_list(f->s, "S1", ST_DOC_PROPOSAL, ST_PROPOSAL_NONE, 1, f->a, &l, &n));
  assert_int_equal(n, 1);
  assert_int_equal(l[0].id, d[2].id);
  OK(store_team_doc_list(f->s, "S1", ST_DOC_TEMPLATE, ST_PROPOSAL_NONE, 10, f->a, &l, &n));
  assert_int_equal(n, 1);
  assert_string_equal(l[0].body, "{\"name\":\"Shipping\"}");
  RB(f);
  /* replaced: state, body and update time; not by another seller or kind */
  W(f);
  st_team_doc sent = {.id = d[1].id, .seller_id = "S1", .kind = ST_DOC_PROPOSAL, .state = ST_PROPOSAL_SENT,
                      .body = "{\"text\":\"a2\"}", .updated_at = T0 + 50};
  OK(store_team_doc_put(f->s, &sent));
  st_team_doc theirs = sent;
  theirs.seller_id = "S2";
  assert_int_equal(store_team_doc_put(f->s, &theirs), PL_ENOTFOUND);
  st_team_doc wrong_kind = sent;
  wrong_kind.kind = ST_DOC_TEMPLATE;
  assert_int_equal(store_team_doc_put(f->s, &wrong_kind), PL_ENOTFOUND);
  C(f);
  R(f);
  OK(store_team_doc_get(f->s, "S1", ST_DOC_PROPOSAL, d[1].id, f->a, &g));
  assert_int_equal(g.state, ST_PROPOSAL_SENT);
  assert_string_equal(g.body, "{\"text\":\"a2\"}");
  assert_int_equal(g.created_at, T0 + 1);
  assert_int_equal(g.updated_at, T0 + 50);
  OK(store_team_doc_list(f->s, "S1", ST_DOC_PROPOSAL, ST_PROPOSAL_PENDING, 10, f->a, &l, &n));
  assert_int_equal(n, 1);
  assert_int_equal(l[0].id, d[2].id);
  OK(store_team_doc_list(f->s, "S1", ST_DOC_PROPOSAL, ST_PROPOSAL_SENT, 10, f->a, &l, &n));
  assert_int_equal(n, 1);
  assert_int_equal(l[0].id, d[1].id);
  RB(f);
  /* deleted: once, and only by its seller and kind */
  W(f);
  assert_int_equal(store_team_doc_delete(f->s, "S2", ST_DOC_PROPOSAL, d[2].id), PL_ENOTFOUND);
  assert_int_equal(store_team_doc_delete(f->s, "S1", ST_DOC_TEMPLATE, d[2].id), PL_ENOTFOUND);
  OK(store_team_doc_delete(f->s, "S1", ST_DOC_PROPOSAL, d[2].id));
  assert_int_equal(store_team_doc_delete(f->s, "S1", ST_DOC_PROPOSAL, d[2].id), PL_ENOTFOUND);
  C(f);
  R(f);
  assert_int_equal(store_team_doc_get(f->s, "S1", ST_DOC_PROPOSAL, d[2].id, f->a, &g), PL_ENOTFOUND);
  OK(store_team_doc_get(f->s, "S2", ST_DOC_TEMPLATE, d[3].id, f->a, &g));
  RB(f);
}

/* Agents' availability, a thread's assignee, priority and tags, and unassigning. */
static void test_team_assignment(void **state) {
  fx *f = *state;
  world(f);
  put_order(f, "112-1", "S1", "B1", "B0AAA00001", T0);
  put_order(f, "112-2", "S1", "B2", "B0AAA00002", T0);
  put_order(f, "112-3", "S2", "B1", "B0AAA00003", T0);
  int64_t t1 = new_thread(f, "S1", "B1", "112-1", NULL, T0);
  int64_t t2 = new_thread(f, "S1", "B2", "112-2", NULL, T0);
  int64_t t3 = new_thread(f, "S2", "B1", "112-3", NULL, T0);
  W(f);
  st_agent ag = {.seller_id = "S1", .name = "Maya", .role = ST_ROLE_AGENT};
  int64_t maya, sam, olga;
  OK(store_agent_add(f->s, &ag, &maya));
  ag.name = "Sam";
  ag.role = ST_ROLE_OWNER;
  OK(store_agent_add(f->s, &ag, &sam));
  st_agent other = {.seller_id = "S2", .name = "Olga", .role = ST_ROLE_AGENT};
  OK(store_agent_add(f->s, &other, &olga));
  C(f);
  R(f);
  st_team_agent *l;
  size_t n;
  OK(store_team_agent_list(f->s, "S1", f->a, &l, &n));
  assert_int_equal(n, 2);
  assert_int_equal(l[0].id, maya);
  assert_string_equal(l[0].name, "Maya");
  assert_int_equal(l[0].role, ST_ROLE_AGENT);
  assert_true(l[0].available); /* never set: available */
  assert_int_equal(l[0].last_assigned_at, 0);
  assert_false(l[0].deactivated);
  assert_int_equal(l[1].id, sam);
  RB(f);
  W(f);
  st_team_agent away = {.id = maya, .available = false, .last_assigned_at = T0 + 10};
  OK(store_team_agent_put(f->s, "S1", &away));
  st_team_agent busy = {.id = sam, .available = true, .last_assigned_at = T0 + 20};
  OK(store_team_agent_put(f->s, "S1", &busy));
  C(f);
  R(f);
  OK(store_team_agent_list(f->s, "S1", f->a, &l, &n));
  assert_int_equal(n, 2);
  assert_false(l[0].available);
  assert_int_equal(l[0].last_assigned_at, T0 + 10);
  assert_true(l[1].available);
  assert_int_equal(l[1].last_assigned_at, T0 + 20);
  OK(store_team_agent_list(f->s, "S2", f->a, &l, &n));
  assert_int_equal(n, 1);
  assert_int_equal(l[0].id, olga);
  assert_true(l[0].available);
  OK(store_team_agent_list(f->s, "S9", f->a, &l, &n));
  assert_int_equal(n, 0);
  RB(f);
  /* back again: replaced, not added */
  W(f);
  away.available = true;
  away.last_assigned_at = T0 + 30;
  OK(store_team_agent_put(f->s, "S1", &away));
  C(f);
  R(f);
  OK(store_team_agent_list(f->s, "S1", f->a, &l, &n));
  assert_int_equal(n, 2);
  assert_true(l[0].available);
  assert_int_equal(l[0].last_assigned_at, T0 + 30);
  RB(f);

  /* a thread's team state */
  st_thread_team tt;
  R(f);
  assert_int_equal(store_thread_team_get(f->s, t1, f->a, &tt), PL_ENOTFOUND);
  RB(f);
  W(f);
  st_thread_team a1 = {.thread_id = t1, .seller_id = "S1", .assignee_id = maya, .priority = "high",
                       .tags = ",refund,vip,"};
  OK(store_thread_team_put(f->s, &a1));
  st_thread_team a2 = {.thread_id = t2, .seller_id = "S1", .assignee_id = maya, .priority = "normal",
                       .tags = ","};
  OK(store_thread_team_put(f->s, &a2));
  st_thread_team a3 = {.thread_id = t3, .seller_id = "S2", .assignee_id = olga, .priority = "low",
                       .tags = ",vip,"};
  OK(store_thread_team_put(f->s, &a3));
  C(f);
  R(f);
  OK(store_thread_team_get(f->s, t1, f->a, &tt));
  assert_int_equal(tt.thread_id, t1);
  assert_string_equal(tt.seller_id, "S1");
  assert_int_equal(tt.assignee_id, maya);
  assert_string_equal(tt.priority, "high");
  assert_string_equal(tt.tags, ",refund,vip,");
  RB(f);
  /* the inbox filters by assignee and tag, within the seller */
  expect_threads(f, (st_thread_query){.seller_id = "S1", .assignee_id = maya}, 2, t2, t1);
  expect_threads(f, (st_thread_query){.seller_id = "S1", .tag = "vip"}, 1, t1);
  expect_threads(f, (st_thread_query){.seller_id = "S2", .tag = "vip"}, 1, t3);
  expect_threads(f, (st_thread_query){.seller_id = "S1", .tag = "vi"}, 0);
  expect_threads(f, (st_thread_query){.seller_id = "S1", .assignee_id = -1}, 0);
  /* replaced */
  W(f);
  a1.assignee_id = sam;
  a1.priority = "normal";
  a1.tags = ",refund,";
  OK(store_thread_team_put(f->s, &a1));
  C(f);
  R(f);
  OK(store_thread_team_get(f->s, t1, f->a, &tt));
  assert_int_equal(tt.assignee_id, sam);
  assert_string_equal(tt.priority, "normal");
  assert_string_equal(tt.tags, ",refund,");
  RB(f);
  /* a leaving agent's threads are unassigned, within the seller only */
  W(f);
  long k = -1;
  OK(store_agent_unassign_all(f->s, "S2", maya, &k));
  assert_int_equal(k, 0);
  OK(store_agent_unassign_all(f->s, "S1", maya, &k));
  assert_int_equal(k, 1);
  OK(store_agent_unassign_all(f->s, "S1", maya, &k));
  assert_int_equal(k, 0);
  C(f);
  R(f);
  OK(store_thread_team_get(f->s, t2, f->a, &tt));
  assert_int_equal(tt.assignee_id, 0);
  assert_string_equal(tt.priority, "normal"); /* the rest stays */
  OK(store_thread_team_get(f->s, t1, f->a, &tt));
  assert_int_equal(tt.assignee_id, sam);
  OK(store_thread_team_get(f->s, t3, f->a, &tt));
  assert_int_equal(tt.assignee_id, olga);
  RB(f);
  expect_threads(f, (st_thread_query){.seller_id = "S1", .assignee_id = -1}, 1, t2);
}

/* Composition locks: one holder at a time until it expires or is released; a heartbeat
 * keeps the holder's `since`. */
static void test_thread_locks(void **state) {
  fx *f = *state;
  world(f);
  put_order(f, "112-1", "S1", "B1", "B0AAA00001", T0);
  int64_t t = new_thread(f, "S1", "B1", "112-1", NULL, T0);
  st_thread_lock h;
  R(f);
  assert_int_equal(store_thread_lock_get(f->s, t, T0, f->a, &h), PL_ENOTFOUND);
  RB(f);
  W(f);
  st_thread_lock maya = {.thread_id = t, .agent_id = 11, .agent_name = "Maya", .expires_at = T0 + 60};
  OK(store_thread_lock_take(f->s, "S1", &maya, T0, f->a, &h));
  assert_int_equal(h.thread_id, t);
  assert_int_equal(h.agent_id, 11);
  assert_string_equal(h.agent_name, "Maya");
  assert_int_equal(h.since, T0);
  assert_int_equal(h.expires_at, T0 + 60);
  C(f);
  /* another agent meets Maya's lock */
  W(f);
  st_thread_lock sam = {.thread_id = t, .agent_id = 12, .agent_name = "Sam", .expires_at = T0 + 90};
  OK(store_thread_lock_take(f->s, "S1", &sam, T0 + 30, f->a, &h));
  assert_int_equal(h.agent_id, 11);
  assert_string_equal(h.agent_name, "Maya");
  /* Maya's heartbeat renews it and keeps since */
  maya.expires_at = T0 + 100;
  OK(store_thread_lock_take(f->s, "S1", &maya, T0 + 40, f->a, &h));
  assert_int_equal(h.agent_id, 11);
  assert_int_equal(h.since, T0);
  assert_int_equal(h.expires_at, T0 + 100);
  C(f);
  R(f);
  OK(store_thread_lock_get(f->s, t, T0 + 99, f->a, &h));
  assert_int_equal(h.agent_id, 11);
  /* expired at its time */
  assert_int_equal(store_thread_lock_get(f->s, t, T0 + 100, f->a, &h), PL_ENOTFOUND);
  RB(f);
  /* after it expired, Sam takes it afresh */
  W(f);
  sam.expires_at = T0 + 200;
  OK(store_thread_lock_take(f->s, "S1", &sam, T0 + 150, f->a, &h));
  assert_int_equal(h.agent_id, 12);
  assert_string_equal(h.agent_name, "Sam");
  assert_int_equal(h.since, T0 + 150);
  /* another agent's release changes nothing; the holder's ends it */
  OK(store_thread_lock_release(f->s, t, 11));
  OK(store_thread_lock_get(f->s, t, T0 + 151, f->a, &h));
  assert_int_equal(h.agent_id, 12);
  OK(store_thread_lock_release(f->s, t, 12));
  assert_int_equal(store_thread_lock_get(f->s, t, T0 + 151, f->a, &h), PL_ENOTFOUND);
  /* released: Maya may take it at once */
  maya.expires_at = T0 + 300;
  OK(store_thread_lock_take(f->s, "S1", &maya, T0 + 152, f->a, &h));
  assert_int_equal(h.agent_id, 11);
  assert_int_equal(h.since, T0 + 152);
  C(f);
}

/* The seller's replies for review sampling: messages and auto-replies of the seller,
 * newest first, up to an id, never notes, buyer messages or another seller's. */
static void test_team_reply_list(void **state) {
  fx *f = *state;
  world(f);
  put_order(f, "112-1", "S1", "B1", "B0AAA00001", T0);
  put_order(f, "112-2", "S2", "B1", "B0AAA00002", T0);
  int64_t t = new_thread(f, "S1", "B1", "112-1", NULL, T0);
  int64_t u = new_thread(f, "S2", "B1", "112-2", NULL, T0);
  W(f);
  add_msg(f, t, "S1", ST_DIR_BUYER, "question", ST_STATUS_DELIVERED, T0 + 1);
  st_message r1 = {.thread_id = t, .seller_id = "S1", .direction = ST_DIR_SELLER, .kind = ST_KIND_MESSAGE,
                   .agent_id = 11, .text = "first answer", .at = T0 + 2};
  OK(OP(f, message_insert)(f->s, &r1));
  st_event ev = {.message_id = r1.id, .thread_id = t, .seller_id = "S1", .type = ST_EVENT_STATUS,
                 .value = "delivered", .actor = "agent:11", .at = T0 + 2};
  OK(OP(f, event_insert)(f->s, &ev));
  st_message note = {.thread_id = t, .seller_id = "S1", .direction = ST_DIR_SELLER, .kind = ST_KIND_NOTE,
                     .agent_id = 11, .text = "internal", .at = T0 + 3};
  OK(OP(f, message_insert)(f->s, &note));
  st_message ar = {.thread_id = t, .seller_id = "S1", .direction = ST_DIR_SELLER, .kind = ST_KIND_AUTO_REPLY,
                   .text = "we are away", .at = T0 + 4};
  OK(OP(f, message_insert)(f->s, &ar));
  ev.message_id = ar.id;
  ev.value = "held_for_review";
  OK(OP(f, event_insert)(f->s, &ev));
  st_message rr = {.thread_id = t, .seller_id = "S1", .direction = ST_DIR_SELLER, .kind = ST_KIND_REVIEW_REQUEST,
                   .text = "review us", .at = T0 + 5};
  OK(OP(f, message_insert)(f->s, &rr));
  add_msg(f, u, "S2", ST_DIR_SELLER, "their answer", ST_STATUS_DELIVERED, T0 + 6);
  C(f);
  R(f);
  st_message *l;
  size_t n;
  OK(store_team_reply_list(f->s, "S1", 0, 10, f->a, &l, &n));
  assert_int_equal(n, 2);
  assert_int_equal(l[0].id, ar.id);
  assert_int_equal(l[0].kind, ST_KIND_AUTO_REPLY);
  assert_string_equal(l[0].text, "we are away");
  assert_int_equal(l[0].status, ST_STATUS_HELD_FOR_REVIEW);
  assert_int_equal(l[0].thread_id, t);
  assert_int_equal(l[1].id, r1.id);
  assert_int_equal(l[1].kind, ST_KIND_MESSAGE);
  assert_int_equal(l[1].agent_id, 11);
  assert_int_equal(l[1].status, ST_STATUS_DELIVERED);
  assert_int_equal(l[1].at, T0 + 2);
  OK(store_team_reply_list(f->s, "S1", ar.id - 1, 10, f->a, &l, &n));
  assert_int_equal(n, 1);
  assert_int_equal(l[0].id, r1.id);
  OK(store_team_reply_list(f->s, "S1", 0, 1, f->a, &l, &n));
  assert_int_equal(n, 1);
  assert_int_equal(l[0].id, ar.id);
  OK(store_team_reply_list(f->s, "S2", 0, 10, f->a, &l, &n));
  assert_int_equal(n, 1);
  assert_string_equal(l[0].text, "their answer");
  OK(store_team_reply_list(f->s, "S9", 0, 10, f->a, &l, &n));
  assert_int_equal(n, 0);
  RB(f);
}


/* A buyer message with its masked text in the seller's index, and a seller reply with a
 * status. */
static int64_t suggest_msg(fx *f, int64_t thread, const char *seller, st_direction dir, const char *text,
                           const char *status, pl_time at) {
  st_message m = {.thread_id = thread, .seller_id = (char *)seller, .direction = dir, .kind = ST_KIND_MESSAGE,
                  .text = (char *)text, .at = at, .seller_text = dir == ST_DIR_BUYER ? text : NULL};
  OK(OP(f, message_insert)(f->s, &m));
  st_event ev = {.message_id = m.id, .thread_id = thread, .seller_id = (char *)seller, .type = ST_EVENT_STATUS,
                 .value = (char *)status, .actor = "test", .at = at};
  OK(OP(f, event_insert)(f->s, &ev));
  return m.id;
}

/* Suggested replies: the seller's templates by the words of their name and variants (the
 * index follows every change), and the seller's delivered replies that followed earlier
 * buyer messages with the words, never another seller's, never the thread asked about,
 * never a reply that was not delivered; the terms are quoted, never read as syntax. */
static void test_suggest(void **state) {
  fx *f = *state;
  world(f);
  st_team_doc d[3] = {
      {.seller_id = "S1", .kind = ST_DOC_TEMPLATE, .created_at = T0,
       .body = "{\"name\":\"Charger info\",\"variants\":{\"en\":\"The charger is in the box\","
               "\"de\":\"Das Ladeger\xc3\xa4t liegt bei\"}}"},
      {.seller_id = "S1", .kind = ST_DOC_TEMPLATE, .created_at = T0,
       .body = "{\"name\":\"Refund\",\"variants\":{\"en\":\"Your refund is on its way\"}}"},
      {.seller_id = "S2", .kind = ST_DOC_TEMPLATE, .created_at = T0,
       .body = "{\"name\":\"Theirs\",\"variants\":{\"en\":\"charger charger battery\"}}"},
  };
  W(f);
  for (int i = 0; i < 3; i++) OK(store_team_doc_put(f->s, &d[i]));
  C(f);
  R(f);
  st_suggest_template *tl;
  size_t n;
  OK(store_suggest_templates(f->s, "S1", "charger battery", 10, f->a, &tl, &n));
  assert_int_equal(n, 1);
  assert_int_equal(tl[0].id, d[0].id);
  assert_true(tl[0].rank > 0);
  /* every variant and the name are indexed, with diacritics folded */
  OK(store_suggest_templates(f->s, "S1", "ladeger\xc3\xa4t", 10, f->a, &tl, &n));
  assert_int_equal(n, 1);
  OK(store_suggest_templates(f->s, "S1", "info refund", 10, f->a, &tl, &n));
  assert_int_equal(n, 2);
  OK(store_suggest_templates(f->s, "S1", "info refund", 1, f->a, &tl, &n));
  assert_int_equal(n, 1);
  /* FTS syntax in a term is refused, not run */
  assert_int_equal(store_suggest_templates(f->s, "S1", "charger\" OR \"refund", 10, f->a, &tl, &n), PL_EINVAL);
  assert_int_equal(store_suggest_templates(f->s, "S1", "", 10, f->a, &tl, &n), PL_EINVAL);
  assert_int_equal(store_suggest_templates(f->s, "S1", "a  b", 10, f->a, &tl, &n), PL_EINVAL);
  assert_int_equal(store_suggest_templates(f->s, "S1", "a b c d e f g h i j k l m n o p q", 10, f->a, &tl, &n),
                   PL_EINVAL);
  /* words that are FTS operators elsewhere are only words here */
  OK(store_suggest_templates(f->s, "S1", "NEAR OR NOT AND", 10, f->a, &tl, &n));
  assert_int_equal(n, 0);
  RB(f);
  /* the index follows a replaced and a deleted template */
  W(f);
  d[0].body = "{\"name\":\"Battery info\",\"variants\":{\"en\":\"The battery lasts a day\"}}";
  d[0].updated_at = T0 + 1;
  OK(store_team_doc_put(f->s, &d[0]));
  C(f);
  R(f);
  OK(store_suggest_templates(f->s, "S1", "charger", 10, f->a, &tl, &n));
  assert_int_equal(n, 0);
  OK(store_suggest_templates(f->s, "S1", "battery", 10, f->a, &tl, &n));
  assert_int_equal(n, 1);
  RB(f);
  W(f);
  OK(store_team_doc_delete(f->s, "S1", ST_DOC_TEMPLATE, d[0].id));
  C(f);
  R(f);
  OK(store_suggest_templates(f->s, "S1", "battery", 10, f->a, &tl, &n));
  assert_int_equal(n, 0);
  RB(f);

  /* past replies */
  put_order(f, "112-0000001-0000001", "S1", "B1", "B0AAA00001", T0);
  put_order(f, "112-0000001-0000002", "S1", "B2", "B0AAA00002", T0);
  put_order(f, "112-0000001-0000003", "S1", "B1", "B0AAA00003", T0);
  put_order(f, "112-0000001-0000004", "S2", "B1", "B0AAA00004", T0);
  put_order(f, "112-0000001-0000005", "S1", "B2", "B0AAA00005", T0);
  int64_t t1 = new_thread(f, "S1", "B1", "112-0000001-0000001", NULL, T0);
  int64_t t2 = new_thread(f, "S1", "B2", "112-0000001-0000002", NULL, T0);
  int64_t now = new_thread(f, "S1", "B1", "112-0000001-0000003", NULL, T0);
  int64_t other = new_thread(f, "S2", "B1", "112-0000001-0000004", NULL, T0);
  int64_t t5 = new_thread(f, "S1", "B2", "112-0000001-0000005", NULL, T0);
  W(f);
  int64_t q1 = suggest_msg(f, t1, "S1", ST_DIR_BUYER, "Does the drill come with a charger?", "delivered", T0 + 10);
  int64_t r1 = suggest_msg(f, t1, "S1", ST_DIR_SELLER, "Yes Jane, a charger comes with it.", "delivered", T0 + 20);
  suggest_msg(f, t1, "S1", ST_DIR_SELLER, "And a case.", "delivered", T0 + 30);
  /* answered only by a held reply: no suggestion */
  suggest_msg(f, t2, "S1", ST_DIR_BUYER, "Is a battery included?", "delivered", T0 + 10);
  suggest_msg(f, t2, "S1", ST_DIR_SELLER, "Battery inside.", "held_for_review", T0 + 20);
  /* both words: ranked first */
  int64_t q5 = suggest_msg(f, t5, "S1", ST_DIR_BUYER, "charger and battery, both in the box?", "delivered", T0 + 10);
  int64_t r5 = suggest_msg(f, t5, "S1", ST_DIR_SELLER, "Both are in the box.", "delivered", T0 + 20);
  /* the thread asked about, and another seller's */
  suggest_msg(f, now, "S1", ST_DIR_BUYER, "charger battery?", "delivered", T0 + 40);
  suggest_msg(f, other, "S2", ST_DIR_BUYER, "charger battery?", "delivered", T0 + 10);
  suggest_msg(f, other, "S2", ST_DIR_SELLER, "theirs", "delivered", T0 + 20);
  C(f);
  R(f);
  st_suggest_reply *rl;
  OK(store_suggest_replies(f->s, "S1", now, "charger battery", 50, 10, f->a, &rl, &n));
  assert_int_equal(n, 2);
  assert_int_equal(rl[0].asked_id, q5);
  assert_int_equal(rl[0].reply_id, r5);
  assert_true(rl[0].rank >= rl[1].rank);
  assert_int_equal(rl[1].asked_id, q1);
  assert_int_equal(rl[1].reply_id, r1);
  assert_int_equal(rl[1].thread_id, t1);
  assert_string_equal(rl[1].reply_text, "Yes Jane, a charger comes with it.");
  assert_string_equal(rl[1].asked_text, "Does the drill come with a charger?");
  assert_string_equal(rl[1].topic, "other");
  assert_string_equal(rl[1].order_id, "112-0000001-0000001");
  assert_string_equal(rl[1].buyer_name, "Jane Doe");
  assert_string_equal(rl[1].buyer_locale, "en-US");
  OK(store_suggest_replies(f->s, "S1", now, "charger battery", 50, 1, f->a, &rl, &n));
  assert_int_equal(n, 1);
  assert_int_equal(rl[0].reply_id, r5);
  OK(store_suggest_replies(f->s, "S1", t5, "battery", 50, 10, f->a, &rl, &n));
  assert_int_equal(n, 0);
  OK(store_suggest_replies(f->s, "S2", 0, "charger", 50, 10, f->a, &rl, &n));
  assert_int_equal(n, 1);
  assert_string_equal(rl[0].reply_text, "theirs");
  assert_int_equal(store_suggest_replies(f->s, "S1", now, "x'y", 50, 10, f->a, &rl, &n), PL_EINVAL);
  RB(f);
}

#define PART_TESTS(setup)                                                \
  cmocka_unit_test_setup_teardown(test_team_docs, setup, teardown),       \
  cmocka_unit_test_setup_teardown(test_team_assignment, setup, teardown), \
  cmocka_unit_test_setup_teardown(test_thread_locks, setup, teardown),    \
  cmocka_unit_test_setup_teardown(test_team_reply_list, setup, teardown), \
  cmocka_unit_test_setup_teardown(test_suggest, setup, teardown),         \
  cmocka_unit_test(test_every_entry_called)

int main(void) {
  const struct CMUnitTest sqlite_tests[] = {PART_TESTS(setup_sqlite)};
  int rc = cmocka_run_group_tests_name("store_team.sqlite", sqlite_tests, reset_calls, NULL);
  pg_base = getenv("PARLEY_TEST_PG_URL");
  if (!pg_base || !*pg_base) {
    printf("store_team.pg: skipped (set PARLEY_TEST_PG_URL, see scripts/pg-test.sh)\n");
    return rc;
  }
  const struct CMUnitTest pg_tests[] = {PART_TESTS(setup_pg)};
  return rc | cmocka_run_group_tests_name("store_team.pg", pg_tests, reset_calls, NULL);
}
