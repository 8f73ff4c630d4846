/* bench_send_cost.c - the CPU one send costs in the service, on a short thread and on a
 * long one, taken in turns so that both see the same machine.
 *
 * Usage: bench_send_cost [long_len] [rounds] [dir]
 * A store in dir (default a new /tmp directory; SQLite, synchronous=FULL) gets one thread of
 * long_len messages (default 1000; buyer and seller alternating, imported) and, every five
 * rounds, a fresh short thread (one buyer message). Each round sends, through svc_send(), a
 * buyer message then a seller reply (which passes the content policy) to the short thread,
 * then the same to the long one. Each send's CPU time is the calling thread's
 * (CLOCK_THREAD_CPUTIME_ID): the commit's fsync wait and other processes' load are not in it.
 * Prints the median and p90 per kind of send and thread, and the long/short ratio. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "service/svc.h"

static pl_time fake_now = 1791190800; /* 2026-10-05T09:00:00Z */
static pl_time clock_fn(void *ctx) {
  (void)ctx;
  return fake_now;
}

static double cpu_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int line(svc *s, const char *l) {
  pl_detail d = {0};
  pl_err e = svc_import_line(s, l, strlen(l), &d);
  if (e) fprintf(stderr, "import: %s: %s\n%s\n", pl_errname(e), d.msg, l);
  return e != PL_OK;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double pct(double *v, size_t n, double p) {
  qsort(v, n, sizeof *v, cmp_double);
  return v[(size_t)(p * (double)(n - 1))];
}

int main(int argc, char **argv) {
  int long_len = argc > 1 ? atoi(argv[1]) : 1000;
  int rounds = argc > 2 ? atoi(argv[2]) : 300;
  char dir[256];
  if (argc > 3) snprintf(dir, sizeof dir, "%s", argv[3]);
  else {
    strcpy(dir, "/tmp/parley-bench-XXXXXX");
    if (!mkdtemp(dir)) return 1;
  }
  char db[300], key[300];
  snprintf(db, sizeof db, "%s/send.db", dir);
  snprintf(key, sizeof key, "%s/send.key", dir);
  pl_detail d = {0};
  pl_keys keys;
  store *st;
  svc *s;
  if (pl_crypto_init() || pl_keys_load_or_create(key, &keys, &d) || store_open(db, &st, &d)) {
    fprintf(stderr, "set-up failed: %s\n", d.msg);
    return 1;
  }
  svc_options o = {.clock = {clock_fn, NULL}};
  if (svc_new(st, &keys, &o, &s, &d)) {
    fprintf(stderr, "svc_new: %s\n", d.msg);
    return 1;
  }
  int bad = line(s, "{\"type\":\"marketplace\",\"id\":\"M\",\"name\":\"Bench\",\"domains\":[\"example.com\"],"
                    "\"locale\":\"en-US\",\"settings\":{\"rate_per_second\":1000000,\"rate_burst\":1000000,"
                    /* the per-party limits out of the way too: the send is measured */
                    "\"buyer_messages_per_minute\":0,\"buyer_messages_per_day\":0,"
                    "\"buyer_threads_per_minute\":0,\"buyer_threads_per_day\":0}}");
  bad |= line(s, "{\"type\":\"seller\",\"id\":\"S1\",\"marketplace\":\"M\",\"name\":\"Seller\"}");
  bad |= line(s, "{\"type\":\"buyer\",\"id\":\"B1\",\"name\":\"Buyer\",\"email\":\"b@mail.test\",\"locale\":\"en-US\"}");
  int norders = rounds / 5 + 2;
  char buf[512], ts[32];
  for (int i = 0; i < norders; i++) {
    snprintf(buf, sizeof buf, "{\"type\":\"order\",\"id\":\"112-%07d-0000001\",\"marketplace\":\"M\","
                              "\"seller\":\"S1\",\"buyer\":\"B1\",\"status\":\"delivered\"}", i);
    bad |= line(s, buf);
  }
  /* The long thread: order 0, a minute between messages, ending before the sends. */
  pl_time t0 = fake_now - (pl_time)long_len * 60 - 3600;
  if (svc_batch_begin(s, &d)) return 1;
  for (int j = 0; j < long_len && !bad; j++) {
    snprintf(buf, sizeof buf, "{\"type\":\"message\",\"id\":\"L%d\",\"order\":\"112-0000000-0000001\",\"from\":\"%s\","
                              "\"at\":\"%s\",\"text\":\"%s %d\"}", j, j % 2 ? "seller" : "buyer",
             pl_time_format(t0 + j * 60, ts), j % 2 ? "Yes, it has a charger, answer" : "A question about the drill,", j);
    bad |= line(s, buf);
  }
  if (bad || svc_batch_end(s, true, &d)) return 1;
  int64_t agent;
  if (svc_agent_add(s, "S1", "Maya", "owner", &agent, &d)) return 1;
  svc_caller buyer = {.kind = ST_PRINCIPAL_BUYER, .buyer_id = "B1", .name = "buyer:B1"};
  svc_caller seller = {.kind = ST_PRINCIPAL_AGENT, .seller_id = "S1", .agent_id = agent,
                       .agent_role = ST_ROLE_OWNER, .marketplace_id = "M", .name = "agent:1"};
  pl_arena *a = pl_arena_new();
  st_thread_query q = {.order_id = "112-0000000-0000001", .limit = 5};
  st_thread *found;
  size_t nf;
  int64_t rn;
  if (svc_thread_list(s, &seller, &q, a, &found, &nf, &rn, &d) || nf != 1) return 1;
  int64_t long_id = found[0].id, short_id = 0;
  double *v[2][2]; /* [buyer, seller][short, long] */
  for (int r = 0; r < 2; r++)
    for (int k = 0; k < 2; k++) v[r][k] = calloc((size_t)rounds, sizeof(double));
  int next_order = 1;
  for (int i = 0; i < rounds; i++) {
    if (i % 5 == 0) {
      char oid[32];
      snprintf(oid, sizeof oid, "112-%07d-0000001", next_order++);
      svc_start_in in = {.order_id = oid, .topic = "other", .text = "Does it come with a charger?"};
      st_thread t;
      svc_sent m;
      fake_now++;
      if (svc_thread_start(s, &buyer, &in, a, &t, &m, &d)) {
        fprintf(stderr, "start: %s\n", d.msg);
        return 1;
      }
      policy_verdict_free(&m.verdict);
      short_id = t.id;
    }
    for (int k = 0; k < 2; k++) {
      for (int r = 0; r < 2; r++) {
        svc_send_in in = {.text = r ? "Yes, the charger is in the box." : "Which battery does it take?",
                          .confirm = true};
        svc_sent m;
        fake_now++;
        double c0 = cpu_us();
        pl_err e = svc_send(s, r ? &seller : &buyer, k ? long_id : short_id, &in, a, &m, &d);
        v[r][k][i] = cpu_us() - c0;
        policy_verdict_free(&m.verdict);
        if (e) {
          fprintf(stderr, "send: %s: %s\n", pl_errname(e), d.msg);
          return 1;
        }
      }
    }
    if (i % 50 == 49) {
      pl_arena_free(a);
      a = pl_arena_new();
    }
  }
  printf("CPU a send in svc_send (thread CPU time), %d rounds; long thread of %d messages at the start\n",
         rounds, long_len);
  printf("%-7s %14s %14s %14s %14s %8s\n", "send", "short p50 us", "short p90 us", "long p50 us",
         "long p90 us", "ratio");
  for (int r = 0; r < 2; r++) {
    double sp50 = pct(v[r][0], (size_t)rounds, 0.5), sp90 = pct(v[r][0], (size_t)rounds, 0.9);
    double lp50 = pct(v[r][1], (size_t)rounds, 0.5), lp90 = pct(v[r][1], (size_t)rounds, 0.9);
    printf("%-7s %14.0f %14.0f %14.0f %14.0f %8.2f\n", r ? "seller" : "buyer", sp50, sp90, lp50, lp90,
           sp50 / lp50);
  }
  printf("(ratio: short p50 / long p50; 1.00 is the same cost)\n");
  for (int r = 0; r < 2; r++)
    for (int k = 0; k < 2; k++) free(v[r][k]);
  pl_arena_free(a);
  svc_free(s);
  if (argc <= 3) {
    snprintf(buf, sizeof buf, "rm -rf %s", dir);
    if (system(buf)) return 1;
  }
  return 0;
}
