/* svc.c - the service core: set-up, parties, orders and shared helpers. */
#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "service/svc_int.h"
#include "util/pl_ref.h"
#include "util/pl_utf8.h"

pl_err svc_new(store *st, const pl_keys *keys, const svc_options *opt, svc **out, pl_detail *d) {
  if (pl_crypto_init()) return pl_fail(d, PL_ECRYPTO, "libsodium failed to initialise");
  svc *s = pl_xcalloc(1, sizeof *s);
  s->st = st;
  svc__keys_init(s, keys, opt ? opt->key_file : NULL);
  pl_ref_set_key(keys->ident);
  if (opt) s->opt = *opt;
  if (opt && opt->policy_config) s->policy_config_path = pl_xstrdup(opt->policy_config);
  s->opt.policy_config = s->policy_config_path;
  s->opt.key_file = s->key_path;
  if (opt && opt->policy_cache) s->policy_cache_path = pl_xstrdup(opt->policy_cache);
  s->opt.policy_cache = s->policy_cache_path;
  pthread_mutex_init(&s->policy_mu, NULL);
  pthread_mutex_init(&s->ev_mu, NULL);
  pthread_mutex_init(&s->figures_mu, NULL);
  size_t ncats;
  (void)policy_categories(&ncats);
  if (ncats > SVC_MAX_CATEGORIES) {
    /* a build with more categories than the counters have room for: fix the constant */
    pthread_mutex_destroy(&s->policy_mu);
    pthread_mutex_destroy(&s->ev_mu);
    pthread_mutex_destroy(&s->figures_mu);
    free(s->policy_config_path);
    free(s);
    return pl_fail(d, PL_EINTERNAL, "the policy has %zu categories, the metrics room for %d", ncats,
                   SVC_MAX_CATEGORIES);
  }
  s->ring = pl_xcalloc(SVC_EVENT_RING, sizeof *s->ring);
  s->ev_next = 1;
  /* The policy is compiled once, so that a broken configuration file stops the start
   * instead of the first seller message, and every marketplace shares it. */
  /* The policy is compiled on first use (svc_policy_prepare() compiles it at once), so
   * that commands which never scan, such as an import, do not pay for it. */
  s->opt.policy = NULL;
  if (opt && opt->policy) s->policy = policy_config_ref(opt->policy);
  *out = s;
  return PL_OK;
}

void svc_free(svc *s) {
  if (!s) return;
  if (s->bus_on) s->st->ops->bus_stop(s->st);
  svc__policy_models_forget(s);
  policy_config_unref(s->policy);
  pthread_mutex_destroy(&s->policy_mu);
  pthread_mutex_destroy(&s->ev_mu);
  pthread_mutex_destroy(&s->figures_mu);
  free(s->ring);
  if (s->st) store_close(s->st);
  free(s->policy_config_path);
  svc__keys_free(s);
  free(s->policy_cache_path);
  free(s);
}

store *svc_store(svc *s) { return s->st; }

pl_err svc_store_empty(svc *s, bool *empty) {
  pl_arena *a = pl_arena_new();
  st_seller *sellers;
  st_thread *threads;
  size_t ns = 0, nt = 0;
  st_thread_query q = {.limit = 1};
  pl_err e = store_begin(s->st, false);
  if (!e) {
    e = store_seller_list(s->st, NULL, a, &sellers, &ns);
    if (!e) e = s->st->ops->thread_list(s->st, &q, a, &threads, &nt);
    store_rollback(s->st);
  }
  pl_arena_free(a);
  *empty = !e && !ns && !nt;
  return e;
}

pl_err svc_threads_all(svc *s, pl_arena *a, st_thread **out, size_t *n) {
  *out = NULL;
  *n = 0;
  pl_err e = store_begin(s->st, false);
  if (e) return e;
  size_t cap = 0;
  st_thread t;
  for (int64_t id = 1; !(e = s->st->ops->thread_get(s->st, id, a, &t)); id++) {
    if (*n == cap) {
      cap = cap ? 2 * cap : 16;
      st_thread *bigger = pl_arena_alloc(a, cap * sizeof *bigger);
      if (*n) memcpy(bigger, *out, *n * sizeof *bigger);
      *out = bigger;
    }
    (*out)[(*n)++] = t;
  }
  store_rollback(s->st);
  return e == PL_ENOTFOUND ? PL_OK : e;
}

pl_err svc_ping(svc *s) {
  pl_err e = store_begin(s->st, false);
  if (e) return e;
  e = s->st->ops->ping(s->st);
  store_rollback(s->st);
  return e;
}
bool svc_store_counters(svc *s, st_counters *out) {
  memset(out, 0, sizeof *out);
  if (!s->st->ops->counters) return false;
  s->st->ops->counters(s->st, out);
  return true;
}

pl_time svc_now(svc *s) { return pl_clock_now(&s->opt.clock); }

/* Inside a batch (svc_batch_begin) an operation's transaction is a savepoint of the
 * batch's, so that a failed operation undoes only itself. Per thread, as transactions are. */
static _Thread_local int batch_depth;
static _Thread_local bool tx_write; /* the open transaction writes */

/* The marketplace row the calling thread's open transaction read last: a send asks for
 * its marketplace's rules, policy and settings several times (svc__marketplace_get).
 * Forgotten at every begin and end (a savepoint's too), and when a marketplace is written. */
static _Thread_local struct {
  pl_arena *a;
  bool set;
  pl_err e;
  st_marketplace m;
} mp_memo;

static void mp_memo_forget(void) {
  mp_memo.set = false;
  pl_arena_free(mp_memo.a); /* a thread's memory ends with its transaction */
  mp_memo.a = NULL;
}

static char *dup_or_null(pl_arena *a, const char *v) { return v ? pl_arena_strdup(a, v) : NULL; }

pl_err svc__marketplace_get(svc *s, const char *id, pl_arena *a, st_marketplace *out) {
  if (!mp_memo.set || !mp_memo.m.id || strcmp(mp_memo.m.id, id)) {
    mp_memo_forget();
    mp_memo.a = pl_arena_new();
    memset(&mp_memo.m, 0, sizeof mp_memo.m);
    mp_memo.e = store_marketplace_get(s->st, id, mp_memo.a, &mp_memo.m);
    if (mp_memo.e && mp_memo.e != PL_ENOTFOUND) return mp_memo.e; /* not remembered */
    if (mp_memo.e) mp_memo.m.id = pl_arena_strdup(mp_memo.a, id);
    mp_memo.set = true;
  }
  if (mp_memo.e) return mp_memo.e;
  /* the caller's copy outlives the transaction */
  out->id = dup_or_null(a, mp_memo.m.id);
  out->name = dup_or_null(a, mp_memo.m.name);
  out->locale = dup_or_null(a, mp_memo.m.locale);
  out->domains_json = dup_or_null(a, mp_memo.m.domains_json);
  out->settings_json = dup_or_null(a, mp_memo.m.settings_json);
  return PL_OK;
}

/* The Idempotency-Key of the request this thread serves (svc_idem_arm). */
static _Thread_local struct {
  bool armed, claimed;
  char principal[128], key[256], fingerprint[65];
} idem;

void svc_idem_arm(const char *principal, const char *key, const char *fingerprint) {
  idem.armed = true;
  idem.claimed = false;
  snprintf(idem.principal, sizeof idem.principal, "%s", principal);
  snprintf(idem.key, sizeof idem.key, "%s", key);
  snprintf(idem.fingerprint, sizeof idem.fingerprint, "%s", fingerprint);
}

bool svc_idem_disarm(void) {
  bool c = idem.armed && idem.claimed;
  idem.armed = idem.claimed = false;
  return c;
}

static pl_err idem_find(svc *s, const char *principal, const char *key, bool forget, pl_arena *a, st_idem *row) {
  /* After an operation that did not claim its key (forget = false), the claim of a
   * concurrent request may be in a write batch that has not committed yet: only the
   * writer sees it, so the look-up runs there (a write transaction that writes nothing). */
  pl_err e = store_begin(s->st, !forget);
  if (e) return e;
  e = store_idem_get(s->st, principal, key, a, row);
  store_rollback(s->st);
  if (e || !forget || row->created_at >= svc_now(s) - SVC_IDEMPOTENCY_SECONDS) return e;
  if ((e = store_begin(s->st, true))) return e;
  if ((e = store_idem_finish(s->st, principal, key, 0, NULL))) store_rollback(s->st);
  else e = store_commit(s->st);
  return e ? e : PL_ENOTFOUND;
}

svc_idem_state svc_idem_lookup(svc *s, const char *principal, const char *key, const char *fingerprint, bool forget,
                               pl_arena *a, svc_idem_answer *out) {
  st_idem row;
  pl_err e = idem_find(s, principal, key, forget, a, &row);
  if (e == PL_ENOTFOUND) return SVC_IDEM_NEW;
  if (e) return SVC_IDEM_UNAVAILABLE;
  if (strcmp(row.fingerprint, fingerprint)) return SVC_IDEM_REUSED;
  if (row.status == 0 || !row.body) return SVC_IDEM_BUSY;
  out->status = (int)row.status;
  out->body = row.body;
  return SVC_IDEM_REPLAY;
}

pl_err svc_idem_finish(svc *s, const char *principal, const char *key, int status, const char *body) {
  pl_err e = store_begin(s->st, true);
  if (e) return e;
  if ((e = store_idem_finish(s->st, principal, key, status, body))) store_rollback(s->st);
  else e = store_commit(s->st);
  return e;
}

pl_err svc__begin(svc *s, bool write, pl_detail *d) {
  pl_err e;
  mp_memo_forget();
  if (batch_depth) {
    e = s->st->ops->savepoint(s->st, ST_SP_BEGIN);
    if (!e) batch_depth++;
  } else {
    e = store_begin(s->st, write);
    tx_write = write;
  }
  return e ? pl_fail(d, PL_ESTORE, "the store is unavailable; nothing was changed") : PL_OK;
}

/* Claims the armed Idempotency-Key in the transaction about to commit: the operation and
 * its key are stored together or not at all. A concurrent request that claimed the key
 * first wins; this transaction is then rolled back. */
static pl_err claim_key(svc *s, pl_detail *d) {
  if (!idem.armed || idem.claimed || !tx_write) return PL_OK;
  bool claimed = false;
  st_idem row;
  pl_arena *a = pl_arena_new();
  pl_err e = store_idem_claim(s->st, idem.principal, idem.key, idem.fingerprint, svc_now(s), a,
                                    &claimed, &row);
  pl_arena_free(a);
  if (e) return e;
  if (!claimed)
    return pl_retry_after(d, pl_fail(d, PL_EIDEMBUSY, "another request with this Idempotency-Key was processed meanwhile; nothing was changed; retry in 1 s"), 1);
  idem.claimed = true;
  return PL_OK;
}

pl_err svc__end(svc *s, pl_err e, pl_detail *d) {
  mp_memo_forget();
  if (batch_depth > 1) {
    batch_depth--;
    pl_err r = s->st->ops->savepoint(s->st, e ? ST_SP_ROLLBACK : ST_SP_RELEASE);
    if (e) return e;
    return r ? pl_fail(d, PL_ESTORE, "the store failed; nothing was changed") : PL_OK;
  }
  if (!e) e = claim_key(s, d);
  if (e) {
    store_rollback(s->st);
    if (e == PL_ESTORE && d && !d->msg[0]) pl_fail(d, e, "the store failed; nothing was changed");
    return e;
  }
  if (store_commit(s->st)) {
    idem.claimed = false;
    return pl_fail(d, PL_ESTORE, "the store could not commit; nothing was changed");
  }
  return PL_OK;
}

pl_err svc_batch_begin(svc *s, pl_detail *d) {
  if (batch_depth) return pl_fail(d, PL_EINTERNAL, "a batch is already open");
  pl_err e = store_begin(s->st, true);
  if (e) return pl_fail(d, PL_ESTORE, "the store is unavailable; nothing was changed");
  batch_depth = 1;
  return PL_OK;
}

pl_err svc_batch_end(svc *s, bool commit, pl_detail *d) {
  if (batch_depth != 1) return pl_fail(d, PL_EINTERNAL, "no batch is open");
  batch_depth = 0;
  if (!commit) {
    store_rollback(s->st);
    return PL_OK;
  }
  return store_commit(s->st) ? pl_fail(d, PL_ESTORE, "the store could not commit the batch") : PL_OK;
}

void svc__count_status(svc *s, st_msg_status status) {
  if (status > ST_STATUS_NONE && status < ST_STATUS_N) atomic_fetch_add(&s->status_counts[status], 1);
}

void svc_message_counts(svc *s, unsigned long out[ST_STATUS_N]) {
  for (int i = 0; i < ST_STATUS_N; i++) out[i] = atomic_load(&s->status_counts[i]);
}

/* ---- the operator's counters and figures ------------------------------------------------ */

const char *svc_delivery_result_name(svc_delivery_result r) {
  static const char *const names[SVC_DELIVERY_N] = {"delivered", "retried", "failed"};
  return (unsigned)r < SVC_DELIVERY_N ? names[r] : "unknown";
}

const char *svc_mail_txn_name(svc_mail_txn r) {
  static const char *const names[SVC_MAIL_TXN_N] = {"delivered", "deferred", "refused"};
  return (unsigned)r < SVC_MAIL_TXN_N ? names[r] : "unknown";
}

void svc_count_mail_txn(svc *s, svc_mail_txn r) {
  if ((unsigned)r < SVC_MAIL_TXN_N) atomic_fetch_add(&s->mail_txns[r], 1);
}

void svc__count_verdict(svc *s, const policy_verdict *v) {
  if ((unsigned)v->action < SVC_POLICY_ACTIONS) atomic_fetch_add(&s->verdicts[v->action], 1);
  size_t n;
  const policy_category *cats = policy_categories(&n);
  for (size_t i = 0; i < v->nfindings; i++)
    for (size_t k = 0; k < n; k++)
      if (v->findings[i].category && !strcmp(v->findings[i].category, cats[k].name)) {
        atomic_fetch_add(&s->findings[k], 1);
        break;
      }
}

void svc_op_counters_get(svc *s, svc_op_counters *out) {
  memset(out, 0, sizeof *out);
  for (int k = 0; k < ST_OUTBOX_KIND_N; k++)
    for (int r = 0; r < SVC_DELIVERY_N; r++) out->deliveries[k][r] = atomic_load(&s->deliveries[k][r]);
  for (int i = 0; i < SVC_POLICY_ACTIONS; i++) out->verdicts[i] = atomic_load(&s->verdicts[i]);
  for (int i = 0; i < SVC_MAX_CATEGORIES; i++) out->findings[i] = atomic_load(&s->findings[i]);
  for (int i = 0; i < SVC_MAIL_TXN_N; i++) out->mail_txns[i] = atomic_load(&s->mail_txns[i]);
}

#define SVC__FIGURES_TTL_S 1.0

static double mono_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

pl_err svc_ops_figures(svc *s, st_ops_figures *out, pl_time *now) {
  /* One caller reads while the others wait for its answer, then share it: a burst of
   * scrapes is one query. */
  pthread_mutex_lock(&s->figures_mu);
  double t = mono_s();
  if (!s->figures_read || t - s->figures_read >= SVC__FIGURES_TTL_S) {
    pl_err e = store_begin(s->st, false);
    if (!e) {
      e = store_ops_figures(s->st, &s->figures);
      store_rollback(s->st);
    }
    s->figures_err = e ? PL_ESTORE : PL_OK;
    s->figures_read = mono_s();
  }
  *out = s->figures;
  pl_err e = s->figures_err;
  pthread_mutex_unlock(&s->figures_mu);
  *now = svc_now(s);
  return e;
}

/* ---- live events -------------------------------------------------------------------- */

static const char *const event_type_names[] = {
    NULL,
#define SVC__EVENT_NAME(name, text) [name] = text,
    SVC_EVENT_TYPE_MAP(SVC__EVENT_NAME)
#undef SVC__EVENT_NAME
};
#define N_EVENT_TYPES (sizeof event_type_names / sizeof *event_type_names)

const char *svc_event_type_name(svc_event_type t) {
  return t > SVC_EVENT_UNKNOWN && (size_t)t < N_EVENT_TYPES ? event_type_names[t] : NULL;
}

pl_err svc_event_type_from_name(const char *name, svc_event_type *out) {
  *out = SVC_EVENT_UNKNOWN;
  for (size_t i = 1; name && i < N_EVENT_TYPES; i++)
    if (!strcmp(event_type_names[i], name)) {
      *out = (svc_event_type)i;
      return PL_OK;
    }
  return PL_EINVAL;
}

static const char *or_empty(const char *s) { return s ? s : ""; }

static void copy_id(char *dst, size_t cap, const char *src) {
  snprintf(dst, cap, "%s", src ? src : "");
}

#define EVENT_EPOCH_MS INT64_C(1767225600000) /* 2026-01-01T00:00:00Z */

/* An event id no other node makes: 40 bits of milliseconds since 2026 (34 years), this
 * process's 8 random bits, a 12-bit counter within the millisecond (under ev_mu). Ids
 * of one node rise; across nodes they follow the clocks. */
static uint64_t next_event_id(svc *s) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  int64_t ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 - EVENT_EPOCH_MS;
  uint64_t now = ms > 0 ? (uint64_t)ms : 0;
  if (now <= s->id_ms) {
    if (++s->id_counter == 4096) { /* 4096 in one millisecond: borrow the next one */
      s->id_ms++;
      s->id_counter = 0;
    }
  } else {
    s->id_ms = now;
    s->id_counter = 0;
  }
  return ((s->id_ms & ((UINT64_C(1) << 40) - 1)) << 20) | ((uint64_t)s->node_bits << 12) | s->id_counter;
}

/* Puts an event into the ring (e->id set, or 0 for a new one of this process) and wakes
 * the streams. */
static void ring_add(svc *s, const svc_event *ev) {
  bool ours = !ev->id; /* only what this process made goes to the others */
  pthread_mutex_lock(&s->ev_mu);
  svc_event *e = &s->ring[s->ev_next % SVC_EVENT_RING];
  *e = *ev;
  e->seq = s->ev_next++;
  if (!e->id) e->id = next_event_id(s);
  svc_event sent = *e;
  void (*hook)(void *) = s->ev_hook;
  void *ctx = s->ev_ctx;
  pthread_mutex_unlock(&s->ev_mu);
  if (ours && s->bus_on && sent.type != SVC_EVENT_RESYNC) {
    /* the other nodes hear of it, states by name ("" for none):
     * "v1|node|id|type|thread|message|due|from|status|kind|seller|buyer|mp" */
    char payload[512];
    int n = snprintf(payload, sizeof payload, "v1|%s|%llu|%s|%lld|%lld|%lld|%s|%s|%s|%s|%s|%s", s->node,
                     (unsigned long long)sent.id, svc_event_type_name(sent.type), (long long)sent.thread_id,
                     (long long)sent.message_id, (long long)sent.due_at, or_empty(st_direction_name(sent.from)),
                     or_empty(st_msg_status_name(sent.status)), or_empty(st_msg_kind_name(sent.kind)),
                     sent.seller_id, sent.buyer_id, sent.marketplace_id);
    if (n > 0 && (size_t)n < sizeof payload) s->st->ops->bus_send(s->st, payload);
  }
  if (hook) hook(ctx);
}

static void event_of(svc_event *e, svc_event_type type, const st_thread *t) {
  memset(e, 0, sizeof *e);
  e->type = type;
  e->thread_id = t->id;
  copy_id(e->seller_id, sizeof e->seller_id, t->seller_id);
  copy_id(e->buyer_id, sizeof e->buyer_id, t->buyer_id);
  copy_id(e->marketplace_id, sizeof e->marketplace_id, t->marketplace_id);
}

void svc__publish(svc *s, svc_event_type type, const st_thread *t, const st_message *m) {
  svc_event e;
  event_of(&e, type, t);
  if (m) {
    e.message_id = m->id;
    e.from = m->direction;
    e.status = m->status;
    e.kind = m->kind;
  }
  ring_add(s, &e);
}

void svc__publish_deadline(svc *s, const st_thread *t) {
  svc_event e;
  event_of(&e, SVC_EVENT_DEADLINE, t);
  e.due_at = t->response_due_at;
  ring_add(s, &e);
}

/* Splits the next '|'-separated field of *p into out (at most cap - 1 bytes). */
static bool field(const char **p, char *out, size_t cap) {
  if (!*p) return false;
  const char *bar = strchr(*p, '|');
  size_t n = bar ? (size_t)(bar - *p) : strlen(*p);
  if (n >= cap) return false;
  memcpy(out, *p, n);
  out[n] = '\0';
  *p = bar ? bar + 1 : NULL;
  return true;
}

static bool number(const char **p, long long *v) {
  char buf[24], *end;
  if (!field(p, buf, sizeof buf) || !*buf) return false;
  *v = strtoll(buf, &end, 10);
  return !*end;
}

/* An event another node published (or NULL: some may have been missed). */
static void bus_deliver(void *ctx, const char *payload) {
  svc *s = ctx;
  svc_event e = {0};
  if (!payload) {
    e.type = SVC_EVENT_RESYNC;
    ring_add(s, &e);
    return;
  }
  char version[4], node[17], type[12], from[8], status[20], kind[16];
  long long id, thread, message, due;
  const char *p = payload;
  if (!field(&p, version, sizeof version) || strcmp(version, "v1") || !field(&p, node, sizeof node) ||
      !strcmp(node, s->node) || !number(&p, &id) || id <= 0 || !field(&p, type, sizeof type) ||
      !number(&p, &thread) || !number(&p, &message) || !number(&p, &due) || !field(&p, from, sizeof from) ||
      !field(&p, status, sizeof status) || !field(&p, kind, sizeof kind) ||
      !field(&p, e.seller_id, sizeof e.seller_id) ||
      !field(&p, e.buyer_id, sizeof e.buyer_id) || !field(&p, e.marketplace_id, sizeof e.marketplace_id) || p)
    return; /* our own, or not an event of ours */
  if (svc_event_type_from_name(type, &e.type) || e.type == SVC_EVENT_RESYNC) return;
  /* "" (none) and a name this build does not know read as 0, which no buyer sees
   * (event_visible) */
  (void)st_direction_from_name(from, &e.from);
  (void)st_msg_status_from_name(status, &e.status);
  (void)st_msg_kind_from_name(kind, &e.kind);
  e.id = (uint64_t)id;
  e.thread_id = thread;
  e.message_id = message;
  e.due_at = due;
  ring_add(s, &e);
}

pl_err svc_events_share(svc *s, pl_detail *d) {
  if (!s->st->ops->bus_start || s->bus_on) return PL_OK;
  unsigned char r[9];
  randombytes_buf(r, sizeof r);
  sodium_bin2hex(s->node, sizeof s->node, r, 8);
  s->node_bits = r[8];
  pl_err e = s->st->ops->bus_start(s->st, bus_deliver, s);
  if (e) return pl_fail(d, e, "cannot start the live-event connection to the other nodes");
  s->bus_on = true;
  return PL_OK;
}

bool svc_events_position(svc *s, uint64_t id, uint64_t *seq) {
  bool found = false;
  pthread_mutex_lock(&s->ev_mu);
  uint64_t oldest = s->ev_next > SVC_EVENT_RING ? s->ev_next - SVC_EVENT_RING : 1;
  for (uint64_t q = s->ev_next; q-- > oldest;) {
    if (s->ring[q % SVC_EVENT_RING].id == id) {
      *seq = q;
      found = true;
      break;
    }
  }
  pthread_mutex_unlock(&s->ev_mu);
  return found;
}

static bool event_visible(const svc_caller *c, const svc_event *e) {
  if (e->type == SVC_EVENT_RESYNC) return true;
  switch (c->kind) {
  case ST_PRINCIPAL_AGENT: return !strcmp(c->seller_id, e->seller_id);
  case ST_PRINCIPAL_BUYER:
    /* A buyer hears only of what changes their own view: a new message of their own
     * threads that they may read (their own, a seller's once delivered, never a note).
     * Everything else (deadlines, flags, archiving, and the team's notes, tags,
     * assignment, priority and locks) is the seller's business: even the bare fact
     * that it happened would tell the buyer about the team's internals. */
    return e->type == SVC_EVENT_MESSAGE && !strcmp(c->buyer_id, e->buyer_id) &&
           (e->kind == ST_KIND_MESSAGE || e->kind == ST_KIND_REVIEW_REQUEST) &&
           (e->from == ST_DIR_BUYER || e->status == ST_STATUS_DELIVERED);
  case ST_PRINCIPAL_OPERATOR: return !c->marketplace_id || !strcmp(c->marketplace_id, e->marketplace_id);
  case ST_PRINCIPAL_NONE: break;
  }
  return false;
}

size_t svc_events_since(svc *s, const svc_caller *c, uint64_t after, svc_event *out, size_t max,
                        uint64_t *latest, bool *gap) {
  size_t n = 0;
  pthread_mutex_lock(&s->ev_mu);
  uint64_t newest = s->ev_next - 1;
  uint64_t oldest = s->ev_next > SVC_EVENT_RING ? s->ev_next - SVC_EVENT_RING : 1;
  *gap = after + 1 < oldest;
  uint64_t from = after + 1 < oldest ? oldest : after + 1;
  uint64_t seq = from;
  for (; seq <= newest && n < max; seq++) {
    const svc_event *e = &s->ring[seq % SVC_EVENT_RING];
    if (event_visible(c, e)) out[n++] = *e;
  }
  /* The caller resumes after what was examined, visible or not. */
  *latest = seq - 1 > after ? seq - 1 : after;
  pthread_mutex_unlock(&s->ev_mu);
  return n;
}

uint64_t svc_events_latest(svc *s) {
  pthread_mutex_lock(&s->ev_mu);
  uint64_t v = s->ev_next - 1;
  pthread_mutex_unlock(&s->ev_mu);
  return v;
}

void svc_set_event_hook(svc *s, void (*fn)(void *ctx), void *ctx) {
  pthread_mutex_lock(&s->ev_mu);
  s->ev_hook = fn;
  s->ev_ctx = ctx;
  pthread_mutex_unlock(&s->ev_mu);
}

/* ---- policy configurations -------------------------------------------------------- */

pl_err svc_policy_prepare(svc *s, pl_detail *d) {
  pthread_mutex_lock(&s->policy_mu);
  pl_err e = PL_OK;
  if (!s->policy) {
    policy_options po = {.config_path = s->policy_config_path, .cache_dir = s->policy_cache_path};
    e = policy_config_new(&po, &s->policy, d);
  }
  pthread_mutex_unlock(&s->policy_mu);
  return e;
}

/* Recompiles and swaps the policy of this process only: from the configuration file and
 * cache directory given (with set: they become the ones in force when it compiles), or
 * from those in force. */
static pl_err reload_here(svc *s, bool set, const char *config, const char *cache, pl_detail *d) {
  char *own_config = NULL, *own_cache = NULL;
  if (set) {
    own_config = config ? pl_xstrdup(config) : NULL;
    own_cache = cache ? pl_xstrdup(cache) : NULL;
  } else {
    pthread_mutex_lock(&s->policy_mu);
    own_config = s->policy_config_path ? pl_xstrdup(s->policy_config_path) : NULL;
    own_cache = s->policy_cache_path ? pl_xstrdup(s->policy_cache_path) : NULL;
    pthread_mutex_unlock(&s->policy_mu);
  }
  policy_config *cfg = NULL;
  policy_options po = {.config_path = own_config, .cache_dir = own_cache};
  pl_err e = policy_config_new(&po, &cfg, d);
  if (e) { /* the old configuration stays in force */
    free(own_config);
    free(own_cache);
    return e;
  }
  pthread_mutex_lock(&s->policy_mu);
  policy_config *old = s->policy;
  s->policy = cfg;
  svc__policy_models_forget(s); /* they were made over the old one */
  if (set) {
    free(s->policy_config_path);
    free(s->policy_cache_path);
    s->opt.policy_config = s->policy_config_path = own_config;
    s->opt.policy_cache = s->policy_cache_path = own_cache;
    own_config = own_cache = NULL;
  }
  pthread_mutex_unlock(&s->policy_mu);
  free(own_config);
  free(own_cache);
  policy_config_unref(old); /* requests in flight hold their own references */
  return PL_OK;
}

#define POLICY_GENERATION "policy_generation"

/* Tells the other nodes on the store of a reload: each follows at its next cluster tick. */
static pl_err bump_generation(svc *s, pl_detail *d) {
  int64_t gen = 0;
  pl_err e = svc__begin(s, true, d);
  if (e) return e;
  e = store_counter(s->st, POLICY_GENERATION, true, &gen);
  if ((e = svc__end(s, e, d))) return e;
  pthread_mutex_lock(&s->policy_mu);
  s->policy_generation = gen;
  s->policy_generation_known = true;
  pthread_mutex_unlock(&s->policy_mu);
  return PL_OK;
}

pl_err svc_policy_reload(svc *s, const svc_caller *c, pl_detail *d) {
  if (c && c->kind != ST_PRINCIPAL_OPERATOR) return pl_fail(d, PL_EFORBIDDEN, "only the operator reloads the policy");
  pl_err e = reload_here(s, false, NULL, NULL, d);
  return e ? e : bump_generation(s, d);
}

pl_err svc_policy_reconfigure(svc *s, const char *config, const char *cache, pl_detail *d) {
  pl_err e = reload_here(s, true, config, cache, d);
  return e ? e : bump_generation(s, d);
}

pl_err svc_cluster_tick(svc *s) {
  pl_detail d = {0};
  int64_t gen = 0, models = 0;
  pl_err e = svc__begin(s, false, &d);
  if (e) return e;
  e = store_counter(s->st, POLICY_GENERATION, false, &gen);
  if (!e) e = store_counter(s->st, SVC_MODEL_GENERATION, false, &models);
  if ((e = svc__end(s, e, &d))) return e;
  svc__follow_revocations(s);
  pthread_mutex_lock(&s->policy_mu);
  bool known = s->policy_generation_known, changed = known && gen != s->policy_generation;
  s->policy_generation = gen;
  s->policy_generation_known = true;
  /* `parley policy train` stored a marketplace's model: a model read before it is read
   * again at its marketplace's next message */
  svc__policy_models_follow(s, models);
  pthread_mutex_unlock(&s->policy_mu);
  if (!changed) return PL_OK;
  e = reload_here(s, false, NULL, NULL, &d);
  if (e) fprintf(stderr, "parley: the policy configuration reloaded by another node does not compile here: %s\n", d.msg);
  return e;
}

pl_err svc__policy_for(svc *s, const char *mp, pl_arena *a, policy_config **out,
                       const char *const **allow_out, pl_detail *d) {
  st_marketplace m;
  pl_err e = svc__marketplace_get(s, mp, a, &m);
  if (e) return pl_fail(d, e == PL_ENOTFOUND ? PL_EINTERNAL : e, "marketplace %s is missing", mp);
  json_t *doms = json_loads(m.domains_json, 0, NULL);
  size_t n = json_is_array(doms) ? json_array_size(doms) : 0;
  const char **allow = pl_arena_alloc(a, (n + 1) * sizeof *allow);
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    const char *v = json_string_value(json_array_get(doms, i));
    if (v) allow[k++] = pl_arena_strdup(a, v);
  }
  allow[k] = NULL;
  json_decref(doms);
  if ((e = svc_policy_prepare(s, d))) return e;
  pthread_mutex_lock(&s->policy_mu);
  policy_config *base = policy_config_ref(s->policy);
  uint64_t epoch = s->policy_epoch;
  pthread_mutex_unlock(&s->policy_mu);
  e = svc__policy_model_for(s, mp, base, epoch, a, out);
  policy_config_unref(base);
  if (e) return pl_fail(d, e, "the policy model of marketplace %s could not be read", mp);
  *allow_out = allow;
  return PL_OK;
}

/* ---- validation ------------------------------------------------------------------- */

pl_err svc__clean_text(const char *field, const char **text, pl_arena *a, size_t *chars,
                      pl_detail *d) {
  size_t len = strlen(*text), at = 0, n = 0;
  switch (pl_utf8_text(*text, len, &n, &at)) {
  case PL_TEXT_OK: break;
  case PL_TEXT_INVALID_UTF8: return pl_fail(d, PL_EUTF8, "%s is not valid UTF-8", field);
  case PL_TEXT_CONTROL:
    return pl_fail(d, PL_ECONTROL,
                   "%s holds the control character U+%04X at byte %zu; only tab and line breaks are allowed",
                   field, (unsigned)((unsigned char)(*text)[at] == 0xC2 ? (unsigned char)(*text)[at + 1] : (unsigned char)(*text)[at]), at);
  }
  if (strchr(*text, '\r')) {
    char *copy = pl_arena_strdup(a, *text);
    pl_utf8_lf(copy, len);
    *text = copy;
  }
  if (chars) *chars = n;
  return PL_OK;
}

pl_err svc__check_name(const char *field, const char *name, pl_detail *d) {
  size_t at = 0;
  switch (pl_utf8_text(name, strlen(name), NULL, &at)) {
  case PL_TEXT_OK: break;
  case PL_TEXT_INVALID_UTF8: return pl_fail(d, PL_EUTF8, "%s is not valid UTF-8", field);
  case PL_TEXT_CONTROL:
    return pl_fail(d, PL_ECONTROL, "%s holds a control character at byte %zu", field, at);
  }
  const char *brk = strpbrk(name, "\t\r\n");
  if (brk)
    return pl_fail(d, PL_ECONTROL, "%s holds a %s at byte %zu; a name is one line", field,
                   *brk == '\t' ? "tab" : "line break", (size_t)(brk - name));
  return PL_OK;
}

pl_err svc__check_text(const char **text, pl_arena *a, pl_detail *d) {
  if (!*text) return pl_fail(d, PL_EMISSING, "text is required");
  size_t chars = 0;
  pl_err e = svc__clean_text("text", text, a, &chars, d);
  if (e) return e;
  if (pl_utf8_blank(*text, strlen(*text))) return pl_fail(d, PL_EEMPTY, "text is empty");
  if (chars > SVC_TEXT_CHARS_CEILING)
    return pl_fail(d, PL_ETOOLONG, "text is %zu characters; the limit is %d", chars,
                   SVC_MAX_TEXT_CHARS);
  return PL_OK;
}

pl_err svc__check_text_for(svc *s, const char *marketplace_id, const char *text, pl_arena *a,
                           pl_detail *d) {
  svc_rules r;
  pl_err e = svc__rules_for(s, marketplace_id, a, &r);
  if (e) return e;
  size_t chars = 0;
  pl_utf8_valid(text, strlen(text), &chars);
  if ((int64_t)chars > r.text_chars)
    return pl_fail(d, PL_ETOOLONG, "text is %zu characters; the limit is %lld", chars,
                   (long long)r.text_chars);
  return PL_OK;
}

bool svc__valid_order_id(const char *id) {
  if (!id || strlen(id) != 19) return false;
  for (int i = 0; i < 19; i++) {
    if (i == 3 || i == 11) {
      if (id[i] != '-') return false;
    } else if (!isdigit((unsigned char)id[i])) {
      return false;
    }
  }
  return true;
}

/* The topics a buyer picks from, with the words the message center shows for them. */
static const svc_named order_topics[] = {{"item_not_received", "Item not received"},
                                         {"wrong_item", "Wrong item received"},
                                         {"damaged_or_defective", "Damaged or defective item"},
                                         {"return_request", "Return request"},
                                         {"product_question", "Question about the product"},
                                         {"shipping_delivery", "Shipping or delivery"},
                                         {"other", "Something else"},
                                         {NULL, NULL}};
static const svc_named product_topics[] = {{"product_specifications", "Product specifications"},
                                           {"shipping_timeframes", "Shipping timeframes"},
                                           {"customization_options", "Customization options"},
                                           {NULL, NULL}};

const svc_named *svc_topics(bool product) { return product ? product_topics : order_topics; }

bool svc__valid_topic(const char *topic, bool product) {
  if (!topic) return false;
  for (const svc_named *t = svc_topics(product); t->id; t++)
    if (!strcmp(t->id, topic)) return true;
  return false;
}

/* Ids are printable, short and free of separators, so that they are safe in paths. */
static pl_err check_id(const char *what, const char *id, pl_detail *d) {
  if (!id || !*id) return pl_fail(d, PL_EMISSING, "%s is required", what);
  size_t n = strlen(id);
  if (n > 64) return pl_fail(d, PL_EINVAL, "%s is longer than 64 characters", what);
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)id[i];
    if (!isalnum(c) && c != '-' && c != '_' && c != '.')
      return pl_fail(d, PL_EINVAL, "%s may contain only letters, digits, '-', '_' and '.'", what);
  }
  return PL_OK;
}

bool svc__valid_email(const char *e) {
  if (!e) return false;
  const char *at = strchr(e, '@');
  return at && at != e && at[1] && strchr(at + 1, '.') && !strchr(at + 1, '@') &&
         strlen(e) <= 254 && !strpbrk(e, " \t\r\n<>\",;");
}

static bool valid_locale(const char *l) {
  /* ll or ll-CC (BCP 47 subset used by marketplaces). */
  if (!l) return false;
  size_t n = strlen(l);
  if (n != 2 && n != 5) return false;
  if (!islower((unsigned char)l[0]) || !islower((unsigned char)l[1])) return false;
  return n == 2 || ((l[2] == '-' || l[2] == '_') && isupper((unsigned char)l[3]) &&
                    isupper((unsigned char)l[4]));
}

/* ---- audit, aliases, messages ----------------------------------------------------- */

pl_err svc__audit(svc *s, const char *seller_id, const char *actor, const char *action,
                  const char *subject, json_t *detail) {
  char *dj = detail ? json_dumps(detail, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
  /* The seller's own chain, or the platform's ("") for what no seller owns. */
  st_audit e = {.seller_id = (char *)seller_id,
                .chain = (char *)(seller_id ? seller_id : ""),
                .actor = (char *)actor,
                .action = (char *)action,
                .subject = (char *)subject,
                .detail_json = dj ? dj : "{}",
                .at = svc_now(s)};
  pl_err r = s->st->ops->audit_append(s->st, &e);
  free(dj);
  json_decref(detail);
  return r;
}

/* The relay domain of a marketplace: relay.<first own domain>. */
static char *relay_domain(svc *s, const char *mp, pl_arena *a) {
  st_marketplace m;
  const char *dom = "parley.invalid";
  if (!svc__marketplace_get(s, mp, a, &m)) {
    json_t *doms = json_loads(m.domains_json, 0, NULL);
    const char *v = json_string_value(json_array_get(doms, 0));
    if (v) dom = pl_arena_strdup(a, v);
    json_decref(doms);
  }
  return pl_arena_printf(a, "relay.%s", dom);
}

static char *new_alias(svc *s, const char *mp, pl_arena *a) {
  char local[17];
  pl_alias_local(local, 16); /* 16 of 36 symbols: 82.7 bits */
  return pl_arena_printf(a, "%s@%s", local, relay_domain(s, mp, a));
}

pl_err svc__alias_ensure(svc *s, const char *mp, const char *buyer, const char *seller,
                         pl_time now, pl_arena *a, char **out, pl_detail *d) {
  pl_err e = store_alias_get(s->st, mp, buyer, seller, a, out);
  if (e != PL_ENOTFOUND) return e;
  for (int tries = 0; tries < 4; tries++) {
    char *alias = new_alias(s, mp, a);
    e = store_alias_put(s->st, mp, buyer, seller, alias, now);
    if (!e) {
      *out = alias;
      return PL_OK;
    }
    if (e != PL_EEXIST) return e;
    /* Either the random alias is taken, or another node gave the pair its alias at the
     * same moment: then that one is the pair's alias. */
    e = store_alias_get(s->st, mp, buyer, seller, a, out);
    if (e != PL_ENOTFOUND) return e;
  }
  return pl_fail(d, PL_EINTERNAL, "could not allocate an alias");
}

pl_err svc__message_add(svc *s, const st_thread *t, st_message *m, st_msg_status status, const char *actor) {
  pl_arena *a = NULL;
  if (m->direction != ST_DIR_BUYER) m->seller_text = NULL;
  if (m->direction == ST_DIR_BUYER && !m->seller_text) {
    /* The seller's search index holds the text masked (not indexed when it cannot be
     * checked now: the backfill at the next start retries). A send masks before it
     * takes the writer (svc_send); the other ways in mask here. */
    a = pl_arena_new();
    m->seller_text = svc__mask_text(s, m->text, a);
  }
  pl_err e = s->st->ops->message_insert(s->st, m);
  m->seller_text = NULL;
  pl_arena_free(a);
  if (e) return e;
  st_event ev = {.message_id = m->id,
                 .thread_id = m->thread_id,
                 .seller_id = m->seller_id,
                 .type = ST_EVENT_STATUS,
                 .value = (char *)st_msg_status_name(status),
                 .actor = (char *)actor,
                 .at = m->at};
  if ((e = s->st->ops->event_insert(s->st, &ev))) return e;
  m->status = status;
  m->status_at = m->at;
  return PL_OK;
}

/* ---- parties ---------------------------------------------------------------------- */

pl_err svc_marketplace_put(svc *s, const svc_marketplace_in *in, pl_detail *d) {
  pl_err e;
  if ((e = check_id("marketplace id", in->id, d))) return e;
  if (!in->name || !*in->name) return pl_fail(d, PL_EMISSING, "marketplace name is required");
  if ((e = svc__check_name("marketplace name", in->name, d))) return e;
  if (!valid_locale(in->locale)) return pl_fail(d, PL_EINVAL, "locale must look like en-US");
  json_t *doms = json_array();
  for (const char *const *p = in->domains; p && *p; p++) {
    if (!**p || strchr(*p, '/') || strchr(*p, '@') || !strchr(*p, '.')) {
      json_decref(doms);
      return pl_fail(d, PL_EINVAL, "'%s' is not a domain name", *p);
    }
    json_array_append_new(doms, json_string(*p));
  }
  if (json_array_size(doms) == 0) {
    json_decref(doms);
    return pl_fail(d, PL_EMISSING, "a marketplace needs at least one domain");
  }
  char *dj = json_dumps(doms, JSON_COMPACT);
  json_decref(doms);
  char *sj = NULL;
  if (in->settings_json) {
    json_error_t jerr;
    json_t *sv = json_loads(in->settings_json, 0, &jerr);
    if (!json_is_object(sv)) {
      json_decref(sv);
      free(dj);
      return pl_fail(d, PL_EINVAL, "settings must be a JSON object (docs/rules.md lists the keys)");
    }
    sj = json_dumps(sv, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(sv);
  }
  st_marketplace m = {.id = (char *)in->id,
                      .name = (char *)in->name,
                      .locale = (char *)in->locale,
                      .domains_json = dj,
                      .settings_json = sj ? sj : "{}"};
  if ((e = svc__begin(s, true, d))) {
    free(dj);
    free(sj);
    return e;
  }
  e = store_marketplace_put(s->st, &m);
  mp_memo_forget();
  if (!e) e = svc__audit(s, NULL, "admin", "marketplace.put", in->id, NULL);
  free(dj);
  free(sj);
  return svc__end(s, e, d);
}

pl_err svc_seller_put(svc *s, const svc_seller_in *in, pl_detail *d) {
  pl_err e;
  if ((e = check_id("seller id", in->id, d)) || (e = check_id("marketplace", in->marketplace_id, d)))
    return e;
  if (!in->name || !*in->name) return pl_fail(d, PL_EMISSING, "seller name is required");
  if ((e = svc__check_name("seller name", in->name, d))) return e;
  if (in->email && !svc__valid_email(in->email))
    return pl_fail(d, PL_EINVAL, "'%s' is not an e-mail address", in->email);
  pl_arena *a = pl_arena_new();
  if ((e = svc__begin(s, true, d))) goto out;
  st_marketplace m;
  e = store_marketplace_get(s->st, in->marketplace_id, a, &m);
  if (e == PL_ENOTFOUND) e = pl_fail(d, PL_EINVAL, "no marketplace %s", in->marketplace_id);
  st_seller old;
  char *alias = NULL;
  if (!e) {
    pl_err g = store_seller_get(s->st, in->id, NULL, a, &old);
    if (!g && strcmp(old.marketplace_id, in->marketplace_id))
      e = pl_fail(d, PL_ECONFLICT, "seller %s belongs to marketplace %s", in->id, old.marketplace_id);
    else if (!g) alias = old.alias;
    else if (g == PL_ENOTFOUND) alias = new_alias(s, in->marketplace_id, a);
    else e = g;
  }
  char *sealed = NULL;
  if (!e) {
    sealed = in->email ? svc__seal(s, in->email, NULL, NULL) : NULL;
    st_seller v = {.id = (char *)in->id,
                   .marketplace_id = (char *)in->marketplace_id,
                   .name = (char *)in->name,
                   .email_sealed = sealed,
                   .alias = alias,
                   .created_at = svc_now(s)};
    e = store_seller_put(s->st, &v);
    free(sealed);
  }
  if (!e) e = svc__audit(s, in->id, "admin", "seller.put", in->id, NULL);
  e = svc__end(s, e, d);
out:
  pl_arena_free(a);
  return e;
}

pl_err svc_agent_add(svc *s, const char *seller_id, const char *name, const char *role,
                     int64_t *id_out, pl_detail *d) {
  if (!name || !*name) return pl_fail(d, PL_EMISSING, "agent name is required");
  pl_err ne = svc__check_name("agent name", name, d);
  if (ne) return ne;
  if (!role) role = "agent";
  st_agent_role r;
  if (st_agent_role_from_name(role, &r)) return pl_fail(d, PL_EINVAL, "role must be owner, agent or read_only");
  pl_arena *a = pl_arena_new();
  pl_err e = svc__begin(s, true, d);
  if (e) goto out;
  st_seller sl;
  e = store_seller_get(s->st, seller_id, NULL, a, &sl);
  if (e == PL_ENOTFOUND) e = pl_fail(d, PL_EINVAL, "no seller %s", seller_id);
  st_agent ag = {.seller_id = (char *)seller_id, .name = (char *)name, .role = r};
  if (!e) e = store_agent_add(s->st, &ag, id_out);
  if (!e) e = svc__audit(s, seller_id, "admin", "agent.add", seller_id, json_pack("{s:s,s:s}", "name", name, "role", role));
  e = svc__end(s, e, d);
out:
  pl_arena_free(a);
  return e;
}

static void normalise_email(const char *in, char *out, size_t cap) {
  size_t i = 0;
  for (; in[i] && i + 1 < cap; i++) out[i] = (char)tolower((unsigned char)in[i]);
  out[i] = '\0';
}

pl_err svc_buyer_put(svc *s, const svc_buyer_in *in, pl_detail *d) {
  pl_err e;
  if ((e = check_id("buyer id", in->id, d))) return e;
  if (!in->name || !*in->name) return pl_fail(d, PL_EMISSING, "buyer name is required");
  if ((e = svc__check_name("buyer name", in->name, d))) return e;
  if (!in->email || !svc__valid_email(in->email))
    return pl_fail(d, PL_EINVAL, "buyer e-mail address is missing or not an address");
  const char *locale = in->locale ? in->locale : "en-US";
  if (!valid_locale(locale)) return pl_fail(d, PL_EINVAL, "locale must look like en-US");
  char norm[256], hash[65];
  normalise_email(in->email, norm, sizeof norm);
  char *sealed = svc__seal(s, in->email, norm, hash);
  st_buyer b = {.id = (char *)in->id,
                .name = (char *)in->name,
                .locale = (char *)locale,
                .email_sealed = sealed,
                .email_hash = hash,
                .opt_out = in->opt_out};
  if ((e = svc__begin(s, true, d))) goto out;
  e = store_buyer_put(s->st, &b);
  if (!e) e = svc__audit(s, NULL, "admin", "buyer.put", in->id, NULL);
  e = svc__end(s, e, d);
out:
  free(sealed);
  return e;
}

/* Tokens and agents' deactivation are in svc_ident.c. */

/* ---- orders ----------------------------------------------------------------------- */

static pl_err get_str(json_t *o, const char *k, bool required, const char **out, pl_detail *d) {
  *out = NULL;
  json_t *v = json_object_get(o, k);
  if (!v || json_is_null(v)) {
    *out = NULL;
    return required ? pl_fail(d, PL_EMISSING, "field '%s' is required", k) : PL_OK;
  }
  if (!json_is_string(v)) return pl_fail(d, PL_ETYPE, "field '%s' must be a string", k);
  *out = json_string_value(v);
  return PL_OK;
}

static pl_err get_time(json_t *o, const char *k, pl_time *out, pl_detail *d) {
  const char *v;
  pl_err e = get_str(o, k, false, &v, d);
  if (e) return e;
  *out = 0;
  if (v && !pl_time_parse(v, out))
    return pl_fail(d, PL_EINVAL, "field '%s' is not an ISO 8601 time", k);
  return PL_OK;
}

pl_err svc_order_from_json(json_t *obj, const char *id, pl_arena *a, st_order *o, pl_detail *d) {
  memset(o, 0, sizeof *o);
  if (!json_is_object(obj)) return pl_fail(d, PL_ETYPE, "an order must be a JSON object");
  const char *v;
  pl_err e;
  if (!id) {
    if ((e = get_str(obj, "id", true, &id, d))) return e;
  }
  if (!svc__valid_order_id(id))
    return pl_fail(d, PL_EINVAL, "order id '%s' is not of the form NNN-NNNNNNN-NNNNNNN", id);
  o->id = pl_arena_strdup(a, id);
  if ((e = get_str(obj, "marketplace", true, &v, d))) return e;
  o->marketplace_id = pl_arena_strdup(a, v);
  if ((e = get_str(obj, "seller", true, &v, d))) return e;
  o->seller_id = pl_arena_strdup(a, v);
  if ((e = get_str(obj, "buyer", true, &v, d))) return e;
  o->buyer_id = pl_arena_strdup(a, v);
  if ((e = get_str(obj, "status", true, &v, d))) return e;
  if (st_order_status_from_name(v, &o->status))
    return pl_fail(d, PL_EINVAL, "status must be pending, shipped, delivered or canceled");
  if ((e = get_time(obj, "purchased_at", &o->purchased_at, d)) ||
      (e = get_time(obj, "shipped_at", &o->shipped_at, d)) ||
      (e = get_time(obj, "delivered_at", &o->delivered_at, d)))
    return e;
  json_t *items = json_object_get(obj, "items");
  if (items && !json_is_null(items)) {
    if (!json_is_array(items)) return pl_fail(d, PL_ETYPE, "field 'items' must be an array");
    if (json_array_size(items) > 1000) return pl_fail(d, PL_ETOOMANY, "an order has at most 1000 items");
    o->nitems = json_array_size(items);
    o->items = pl_arena_alloc(a, (o->nitems ? o->nitems : 1) * sizeof *o->items);
    for (size_t i = 0; i < o->nitems; i++) {
      json_t *it = json_array_get(items, i);
      st_item *x = &o->items[i];
      memset(x, 0, sizeof *x);
      if (!json_is_object(it)) return pl_fail(d, PL_ETYPE, "items[%zu] must be an object", i);
      if ((e = get_str(it, "asin", false, &v, d))) return e;
      x->asin = v ? pl_arena_strdup(a, v) : NULL;
      if ((e = get_str(it, "title", false, &v, d))) return e;
      if (v && (e = svc__check_name("an item's title", v, d))) return e;
      x->title = v ? pl_arena_strdup(a, v) : NULL;
      if ((e = get_str(it, "price", false, &v, d))) return e;
      x->price = v ? pl_arena_strdup(a, v) : NULL;
      if ((e = get_str(it, "currency", false, &v, d))) return e;
      x->currency = v ? pl_arena_strdup(a, v) : NULL;
      json_t *q = json_object_get(it, "quantity");
      if (q && !json_is_integer(q)) return pl_fail(d, PL_ETYPE, "items[%zu].quantity must be an integer", i);
      x->quantity = q ? json_integer_value(q) : 1;
      if (x->quantity < 1) return pl_fail(d, PL_EINVAL, "items[%zu].quantity must be at least 1", i);
    }
  }
  json_t *nf = json_object_get(obj, "negative_feedback");
  if (nf && !json_is_null(nf) && !json_is_boolean(nf))
    return pl_fail(d, PL_ETYPE, "field 'negative_feedback' must be true or false");
  o->negative_feedback = json_is_true(nf);
  json_t *ff = json_object_get(obj, "fulfillment");
  const char *fv = json_string_value(ff);
  if (ff && !json_is_null(ff) && (!fv || (strcmp(fv, "seller") && strcmp(fv, "marketplace"))))
    return pl_fail(d, PL_EINVAL, "field 'fulfillment' must be \"seller\" or \"marketplace\"");
  o->by_marketplace = fv && !strcmp(fv, "marketplace");
  /* What a seller sees beside the items: the ship-to country (never the address), the
   * carrier and tracking number, the promised delivery, the return. */
  if ((e = get_str(obj, "ship_country", false, &v, d))) return e;
  if (v && (strlen(v) != 2 || !isupper((unsigned char)v[0]) || !isupper((unsigned char)v[1])))
    return pl_fail(d, PL_EINVAL, "field 'ship_country' must be a country code of two capital letters (ISO 3166-1, e.g. \"DE\")");
  o->ship_country = v ? pl_arena_strdup(a, v) : NULL;
  if ((e = get_str(obj, "carrier", false, &v, d))) return e;
  if (v && (!*v || strlen(v) > 64)) return pl_fail(d, PL_EINVAL, "field 'carrier' must be 1 to 64 bytes");
  if (v && (e = svc__check_name("the carrier", v, d))) return e;
  o->carrier = v ? pl_arena_strdup(a, v) : NULL;
  if ((e = get_str(obj, "tracking_number", false, &v, d))) return e;
  if (v && (!*v || strlen(v) > 64 || strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 -") != strlen(v)))
    return pl_fail(d, PL_EINVAL, "field 'tracking_number' must be 1 to 64 letters, digits, spaces or hyphens");
  o->tracking = v ? pl_arena_strdup(a, v) : NULL;
  if ((e = get_time(obj, "promised_delivery_at", &o->promised_at, d))) return e;
  if ((e = get_str(obj, "return_state", false, &v, d))) return e;
  static const char *const returns[] = {"requested", "in_transit", "received", "refunded", "partially_refunded", NULL};
  bool known = !v;
  for (size_t i = 0; v && returns[i]; i++) known |= !strcmp(v, returns[i]);
  if (!known)
    return pl_fail(d, PL_EINVAL, "field 'return_state' must be requested, in_transit, received, refunded or partially_refunded");
  o->return_state = v ? pl_arena_strdup(a, v) : NULL;
  return PL_OK;
}

pl_err svc_order_put(svc *s, const svc_caller *c, const st_order *o, bool *created, pl_detail *d) {
  if (c && c->kind != ST_PRINCIPAL_OPERATOR)
    return pl_fail(d, PL_EFORBIDDEN, "only the operator records orders");
  pl_arena *a = pl_arena_new();
  pl_err e = svc__begin(s, true, d);
  if (e) goto out;
  st_marketplace m;
  st_seller sl;
  st_buyer b;
  st_order old;
  if (store_marketplace_get(s->st, o->marketplace_id, a, &m))
    e = pl_fail(d, PL_EINVAL, "no marketplace %s", o->marketplace_id);
  else if (c && c->marketplace_id && strcmp(c->marketplace_id, o->marketplace_id))
    e = pl_fail(d, PL_EFORBIDDEN, "marketplace %s is not yours", o->marketplace_id);
  else if (store_seller_get(s->st, o->seller_id, NULL, a, &sl))
    e = pl_fail(d, PL_EINVAL, "no seller %s", o->seller_id);
  else if (strcmp(sl.marketplace_id, o->marketplace_id))
    e = pl_fail(d, PL_EINVAL, "seller %s does not sell on %s", o->seller_id, o->marketplace_id);
  else if (store_buyer_get(s->st, o->buyer_id, NULL, a, &b))
    e = pl_fail(d, PL_EINVAL, "no buyer %s", o->buyer_id);
  if (!e) {
    pl_err g = store_order_get(s->st, o->id, a, &old);
    if (g && g != PL_ENOTFOUND) e = g;
    *created = g == PL_ENOTFOUND;
    if (!g && (strcmp(old.seller_id, o->seller_id) || strcmp(old.buyer_id, o->buyer_id) ||
               strcmp(old.marketplace_id, o->marketplace_id)))
      e = pl_fail(d, PL_ECONFLICT, "order %s belongs to another seller, buyer or marketplace", o->id);
  }
  st_order w = *o;
  w.updated_at = svc_now(s);
  if (!e) e = store_order_put(s->st, &w);
  if (e == PL_ECONFLICT && d && !d->msg[0]) pl_fail(d, e, "order %s belongs to another seller", o->id);
  char *alias;
  if (!e) e = svc__alias_ensure(s, o->marketplace_id, o->buyer_id, o->seller_id, w.updated_at, a, &alias, d);
  if (!e && o->status == ST_ORDER_CANCELED && (*created || old.status != ST_ORDER_CANCELED))
    e = svc__order_canceled(s, o->id, c ? c->name : "import", w.updated_at, a);
  if (!e)
    e = svc__audit(s, o->seller_id, c ? c->name : "import", *created ? "order.create" : "order.update",
                   pl_arena_printf(a, "order:%s", o->id), json_pack("{s:s}", "status", st_order_status_name(o->status)));
  e = svc__end(s, e, d);
out:
  pl_arena_free(a);
  return e;
}

pl_err svc_order_get(svc *s, const svc_caller *c, const char *id, pl_arena *a, st_order *out,
                     pl_detail *d) {
  pl_err e = svc__begin(s, false, d);
  if (e) return e;
  e = store_order_get(s->st, id, a, out);
  svc__end(s, PL_OK, NULL);
  if (e == PL_ENOTFOUND ||
      (!e && ((c->kind == ST_PRINCIPAL_AGENT && strcmp(c->seller_id, out->seller_id)) ||
              (c->kind == ST_PRINCIPAL_BUYER && strcmp(c->buyer_id, out->buyer_id)) ||
              (c->kind == ST_PRINCIPAL_OPERATOR && c->marketplace_id &&
               strcmp(c->marketplace_id, out->marketplace_id)))))
    return pl_fail(d, PL_ENOTFOUND, "no order %s", id);
  return e ? pl_fail(d, e, "the store is unavailable") : PL_OK;
}

pl_err svc_order_list(svc *s, const svc_caller *c, pl_time cursor_at, const char *cursor_id,
                      int limit, pl_arena *a, st_order **out, size_t *n, pl_detail *d) {
  if (limit < 1 || limit > 100) return pl_fail(d, PL_EINVAL, "limit must be from 1 to 100");
  pl_err e = svc__begin(s, false, d);
  if (e) return e;
  e = store_order_list(s->st, c->kind == ST_PRINCIPAL_AGENT ? c->seller_id : NULL,
                             c->kind == ST_PRINCIPAL_BUYER ? c->buyer_id : NULL, cursor_at,
                             cursor_id, limit, a, out, n);
  if (!e && c->kind == ST_PRINCIPAL_OPERATOR && c->marketplace_id) {
    size_t k = 0;
    for (size_t i = 0; i < *n; i++)
      if (!strcmp((*out)[i].marketplace_id, c->marketplace_id)) (*out)[k++] = (*out)[i];
    *n = k;
  }
  return svc__end(s, e, d);
}

double svc_rate_limit(svc *s, const char *marketplace_id) {
  svc_rules r;
  pl_arena *a = pl_arena_new();
  if (marketplace_id && !svc__begin(s, false, NULL)) {
    svc__rules_for(s, marketplace_id, a, &r);
    svc__end(s, PL_OK, NULL);
  } else {
    svc_rules_load(&r, NULL);
  }
  pl_arena_free(a);
  return r.rate_per_second;
}

/* ---- refs ------------------------------------------------------------------------- */

char *svc_ref(pl_arena *a, const char *prefix, int64_t id) {
  char buf[PL_REF_MAX];
  return pl_arena_strdup(a, pl_ref_format(buf, prefix, id));
}
char *svc_thread_ref(pl_arena *a, int64_t id) { return svc_ref(a, "T", id); }
char *svc_message_ref(pl_arena *a, int64_t id) { return svc_ref(a, "M", id); }

bool svc_parse_ref(const char *ref, char prefix, int64_t *id) {
  char p[2] = {prefix, '\0'};
  return pl_ref_parse(ref, p, id);
}

char *svc__random_hex(pl_arena *a, const char *prefix, size_t bytes) {
  unsigned char raw[64];
  char hex[129];
  if (bytes > sizeof raw) bytes = sizeof raw;
  randombytes_buf(raw, bytes);
  sodium_bin2hex(hex, sizeof hex, raw, bytes);
  return pl_arena_printf(a, "%s%s", prefix, hex);
}

static void json_release(void *j) { json_decref(j); }

json_t *svc__json_keep(pl_arena *a, json_t *j) {
  if (j) pl_arena_defer(a, json_release, j);
  return j;
}

char *svc__record_ref(pl_arena *a, const char *prefix, int64_t id) {
  return pl_arena_printf(a, "%s%lld", prefix, (long long)id);
}
