/* store.c - backend selection by URL and what every backend shares. */
#include "store/store.h"

#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

pl_err store_open(const char *url, store **out, pl_detail *d) {
  return store_open_ex(url, NULL, out, NULL, d);
}

pl_err store_open_ex(const char *url, const store_open_options *o, store **out,
                     store_schema *schema, pl_detail *d) {
  static const store_open_options defaults = {.mode = STORE_SCHEMA_EXPAND};
  store_schema ignored;
  if (!o) o = &defaults;
  if (!schema) schema = &ignored;
  *out = NULL;
  if (!strncmp(url, "postgres://", 11) || !strncmp(url, "postgresql://", 13))
    return store_pg_open(url, o, out, schema, d);
  if (!strncmp(url, "sqlite:", 7)) url += 7;
  return store_sqlite_open(url, o, out, schema, d);
}

/* ---- migrations ----------------------------------------------------------------------- */

int store__migration_contract(const char *sql) {
  static const char mark[] = "-- contract ";
  if (strncmp(sql, mark, sizeof mark - 1)) return 0;
  int k = atoi(sql + sizeof mark - 1);
  return k > 0 ? k : 0;
}

pl_err store__schema_plan(int version, int compat, const char *const *sql, int known,
                          store_schema_mode mode, store_schema *out, pl_detail *d) {
  *out = (store_schema){.version = version, .known = known, .compat = compat, .target = version};
  if (version > known) {
    /* a newer parley migrated it: this one runs on it when nothing it uses was taken away */
    out->runnable = compat <= known;
    if (out->runnable || mode == STORE_SCHEMA_CHECK) return PL_OK;
    return pl_fail(d, PL_ESTORE,
                   "the database's schema (version %d) needs a parley that knows at least %d "
                   "migrations; this one knows %d: upgrade parley",
                   version, compat, known);
  }
  int v = version;
  if (mode == STORE_SCHEMA_ALL) v = known;
  else
    while (v < known && !store__migration_contract(sql[v])) v++;
  out->target = v;
  for (int i = v; i < known; i++)
    if (store__migration_contract(sql[i])) {
      out->first_contract = i + 1;
      out->contract_needs = store__migration_contract(sql[i]);
      break;
    }
  /* What is left after target must be contracts only: this parley does not need what
   * they take away, but it needs every migration that adds. */
  out->runnable = true;
  for (int i = v; i < known; i++)
    if (!store__migration_contract(sql[i])) out->runnable = false;
  if (out->runnable || mode == STORE_SCHEMA_CHECK) return PL_OK;
  return pl_fail(d, PL_ESTORE,
                 "migration %d takes away what parleys that know fewer than %d migrations use, "
                 "and migrations after it are needed: when every node runs a parley that knows "
                 "at least %d, run `parley migrate --apply`",
                 out->first_contract, out->contract_needs, out->contract_needs);
}

/* ---- transaction durations (the /metrics page) -------------------------------------------
 * Per process, whatever store: buckets of atomic counters, so that timing a transaction
 * costs two clock reads and three atomic additions. A transaction is timed from its begin
 * to the return of its commit (the flush that acknowledges it included) or rollback. */

static const double tx_bounds[ST_TX_BUCKETS - 1] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                    0.05,   0.1,   0.25,   0.5,   1.0};
static struct {
  atomic_ullong bucket[ST_TX_BUCKETS];
  atomic_ullong count, sum_ns;
} tx_hist[2]; /* [0] reads, [1] writes */

static _Thread_local struct {
  bool open, write;
  struct timespec start;
} tx_now;

const double *store_tx_bounds(size_t *n) {
  *n = sizeof tx_bounds / sizeof tx_bounds[0];
  return tx_bounds;
}

static void tx_ended(void) {
  if (!tx_now.open) return;
  tx_now.open = false;
  struct timespec end;
  clock_gettime(CLOCK_MONOTONIC, &end);
  int64_t ns = (int64_t)(end.tv_sec - tx_now.start.tv_sec) * 1000000000 + (end.tv_nsec - tx_now.start.tv_nsec);
  if (ns < 0) ns = 0;
  double secs = (double)ns / 1e9;
  size_t b = 0;
  while (b < ST_TX_BUCKETS - 1 && secs > tx_bounds[b]) b++;
  int w = tx_now.write ? 1 : 0;
  atomic_fetch_add(&tx_hist[w].bucket[b], 1);
  atomic_fetch_add(&tx_hist[w].count, 1);
  atomic_fetch_add(&tx_hist[w].sum_ns, (unsigned long long)ns);
}

pl_err store_begin(store *s, bool write) {
  struct timespec start;
  clock_gettime(CLOCK_MONOTONIC, &start);
  pl_err e = s->ops->begin(s, write);
  if (!e) {
    tx_now.open = true;
    tx_now.write = write;
    tx_now.start = start;
  }
  return e;
}

pl_err store_commit(store *s) {
  pl_err e = s->ops->commit(s);
  tx_ended();
  return e;
}

void store_rollback(store *s) {
  s->ops->rollback(s);
  tx_ended();
}

void store_tx_durations(bool write, st_tx_durations *out) {
  int w = write ? 1 : 0;
  for (size_t i = 0; i < ST_TX_BUCKETS; i++) out->bucket[i] = atomic_load(&tx_hist[w].bucket[i]);
  out->count = atomic_load(&tx_hist[w].count);
  out->sum_s = (double)atomic_load(&tx_hist[w].sum_ns) / 1e9;
}

static void feed(crypto_generichash_state *h, const char *s) {
  const char *v = s ? s : "";
  uint32_t n = (uint32_t)strlen(v);
  crypto_generichash_update(h, (const unsigned char *)&n, sizeof n);
  crypto_generichash_update(h, (const unsigned char *)v, n);
}

void store__audit_hash(const st_audit *e, const char *prev_hash, char out[65]) {
  crypto_generichash_state h;
  unsigned char bin[32];
  char at[32];
  snprintf(at, sizeof at, "%lld", (long long)e->at);
  crypto_generichash_init(&h, NULL, 0, sizeof bin);
  feed(&h, prev_hash);
  feed(&h, e->seller_id);
  feed(&h, at);
  feed(&h, e->actor);
  feed(&h, e->action);
  feed(&h, e->subject);
  feed(&h, e->detail_json ? e->detail_json : "{}");
  crypto_generichash_final(&h, bin, sizeof bin);
  sodium_bin2hex(out, 65, bin, sizeof bin);
}

/* ---- state names (store.h) --------------------------------------------------------- */

PL_NAMED(st_direction, ST_DIRECTION_MAP)
PL_NAMED(st_msg_kind, ST_KIND_MAP)
PL_NAMED(st_msg_status, ST_STATUS_MAP)
PL_NAMED(st_order_status, ST_ORDER_STATUS_MAP)
PL_NAMED(st_outbox_kind, ST_OUTBOX_KIND_MAP)
PL_NAMED(st_outbox_state, ST_OUTBOX_STATE_MAP)
PL_NAMED(st_principal_kind, ST_PRINCIPAL_MAP)
PL_NAMED(st_agent_role, ST_AGENT_ROLE_MAP)
PL_NAMED(st_token_scope, ST_TOKEN_SCOPE_MAP)
PL_NAMED(st_proposal_state, ST_PROPOSAL_STATE_MAP)
PL_NAMED(st_event_type, ST_EVENT_TYPE_MAP)
PL_NAMED(st_doc_kind, ST_DOC_KIND_MAP)
PL_NAMED(st_severity, ST_SEVERITY_MAP)

sla_kind store__sla_kind(const char *stored_kind) {
  st_msg_kind k;
  (void)st_msg_kind_from_name(stored_kind, &k);
  switch (k) {
  case ST_KIND_AUTO_REPLY: return SLA_AUTO_REPLY;
  case ST_KIND_NOTE: return SLA_INTERNAL_NOTE;
  case ST_KIND_REVIEW_REQUEST: return SLA_REVIEW_REQUEST;
  case ST_KIND_MESSAGE:
  case ST_KIND_UNKNOWN: break;
  }
  return SLA_SUBSTANTIVE;
}
