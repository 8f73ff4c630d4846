/* bench_metrics.c - the 24-hour clock in the store: import throughput, and a metrics query
 * for a seller with many messages from the hourly aggregates, beside the recomputation
 * from the raw events of the window (the baseline) in the same run.
 *
 * usage: bench_metrics [MESSAGES] [DIR]   (default 200000 messages in a temp directory) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "service/svc.h"

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static pl_time fixed_now;
static pl_time clock_fn(void *ctx) {
  (void)ctx;
  return fixed_now;
}

static void line(svc *s, const char *text) {
  pl_detail d = {0};
  if (svc_import_line(s, text, strlen(text), &d)) {
    fprintf(stderr, "import failed: %s\n%s\n", d.msg, text);
    exit(1);
  }
}

static void percentiles(const char *what, double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  printf("  %-34s p50 %8.3f ms   p99 %8.3f ms   max %8.3f ms\n", what, v[n / 2] * 1e3,
         v[(n * 99) / 100] * 1e3, v[n - 1] * 1e3);
}

int main(int argc, char **argv) {
  long total = argc > 1 ? atol(argv[1]) : 200000;
  char dir[256];
  if (argc > 2) snprintf(dir, sizeof dir, "%s", argv[2]);
  else {
    strcpy(dir, "/tmp/parley-bench-XXXXXX");
    if (!mkdtemp(dir)) return 1;
  }
  char db[300], key[300];
  snprintf(db, sizeof db, "%s/bench.db", dir);
  snprintf(key, sizeof key, "%s/bench.key", dir);
  pl_detail d = {0};
  pl_keys keys;
  store *st;
  svc *s;
  if (pl_crypto_init() || pl_keys_load_or_create(key, &keys, &d) || store_open(db, &st, &d)) {
    fprintf(stderr, "set-up failed: %s\n", d.msg);
    return 1;
  }
  /* History: three years of one seller's conversations, a buyer message and a reply in
   * each thread most of the time, some late, some flagged, some auto-replies. */
  const pl_time start = 1700000000;
  const long threads = total / 2;
  const int64_t span = 3LL * 365 * 86400;
  /* Queries ask at a time after every event (replies come up to ~2.2 days late), where
   * the aggregates are exact; the baseline asks one second before the last event. */
  fixed_now = start + span + 4 * 86400;
  svc_options o = {.clock = {clock_fn, NULL}};
  if (svc_new(st, &keys, &o, &s, &d)) return 1;
  line(s, "{\"type\":\"marketplace\",\"id\":\"M\",\"name\":\"Bench\",\"domains\":[\"example.com\"]}");
  line(s, "{\"type\":\"seller\",\"id\":\"S1\",\"marketplace\":\"M\",\"name\":\"Big seller\"}");
  line(s, "{\"type\":\"buyer\",\"id\":\"B1\",\"name\":\"Buyer\",\"email\":\"b@mail.test\"}");
  char buf[512], t1[32], t2[32];
  srand(7);
  double t0 = now_s();
  long lines = 0;
  if (svc_batch_begin(s, &d)) return 1;
  for (long i = 0; i < threads; i++) {
    pl_time at = start + (pl_time)((double)span * (double)i / (double)threads);
    char oid[64];
    snprintf(oid, sizeof oid, "%03ld-%07ld-%07ld", 100 + i % 900, i % 10000000, i % 10000000);
    snprintf(buf, sizeof buf,
             "{\"type\":\"order\",\"id\":\"%s\",\"marketplace\":\"M\",\"seller\":\"S1\",\"buyer\":\"B1\",\"status\":\"delivered\"}",
             oid);
    line(s, buf);
    snprintf(buf, sizeof buf,
             "{\"type\":\"message\",\"id\":\"b%ld\",\"order\":\"%s\",\"from\":\"buyer\",\"at\":\"%s\",\"topic\":\"other\",\"text\":\"Where is my parcel?\"}",
             i, oid, pl_time_format(at, t1));
    line(s, buf);
    int r = rand() % 100;
    pl_time reply = at + (r < 85 ? rand() % 80000 : 86400 + rand() % 100000);
    if (r < 3) {
      snprintf(buf, sizeof buf, "{\"type\":\"flag\",\"message\":\"b%ld\",\"at\":\"%s\",\"no_response_needed\":true}",
               i, pl_time_format(at + 60, t2));
    } else {
      snprintf(buf, sizeof buf,
               "{\"type\":\"message\",\"id\":\"s%ld\",\"order\":\"%s\",\"from\":\"seller\",\"at\":\"%s\",\"text\":\"It ships today.\",\"auto_reply\":%s}",
               i, oid, pl_time_format(reply, t2), r == 50 ? "true" : "false");
    }
    line(s, buf);
    lines += 3;
    if (i % 2000 == 1999 && (svc_batch_end(s, true, &d) || svc_batch_begin(s, &d))) return 1;
  }
  if (svc_batch_end(s, true, &d)) return 1;
  double took = now_s() - t0;
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  printf("parley metrics benchmark: one seller, %ld messages in %ld threads over three years\n",
         threads * 2, threads);
  printf("  import: %ld lines in %.1f s = %.0f lines/s (batches of 2,000, SQLite, synchronous=FULL)\n",
         lines, took, (double)lines / took);

  svc_caller op = {.kind = ST_PRINCIPAL_OPERATOR, .name = "operator:bench"};
  static const struct { const char *name; int64_t w; } windows[] = {{"7d", 7 * 86400}, {"30d", 30 * 86400}, {"90d", 90 * 86400}};
  enum { RUNS = 200, BASE_RUNS = 5 };
  double v[RUNS];
  for (size_t k = 0; k < 3; k++) {
    char what[64];
    printf(" window %s:\n", windows[k].name);
    for (int i = 0; i < RUNS; i++) {
      pl_arena *a = pl_arena_new();
      sla_metrics m;
      double q = now_s();
      if (svc_metrics(s, &op, "S1", fixed_now, windows[k].w, false, a, &m, &d)) {
        fprintf(stderr, "metrics: %s\n", d.msg);
        return 1;
      }
      v[i] = now_s() - q;
      if (i == 0) printf("  CRT %.2f%% (%s), %lld received\n", m.crt_percent.value, sla_status_name(m.status), (long long)m.received);
      pl_arena_free(a);
    }
    snprintf(what, sizeof what, "aggregates (%d queries)", RUNS);
    percentiles(what, v, RUNS);
    double agg_p50 = v[RUNS / 2];
    /* Baseline: the same figures recomputed from the window's raw events (an `at` one
     * second before the latest event forces that path). */
    double b[BASE_RUNS];
    for (int i = 0; i < BASE_RUNS; i++) {
      pl_arena *a = pl_arena_new();
      sla_metrics m;
      double q = now_s();
      pl_time latest = 0;
      store *stq = svc_store(s);
      if (store_begin(stq, false) || store_sla_latest(stq, "S1", &latest)) return 1;
      store_rollback(stq);
      if (svc_metrics(s, &op, "S1", latest - 1, windows[k].w, false, a, &m, &d)) return 1;
      b[i] = now_s() - q;
      pl_arena_free(a);
    }
    snprintf(what, sizeof what, "recomputation (%d queries)", BASE_RUNS);
    percentiles(what, b, BASE_RUNS);
    printf("  ratio recomputation / aggregates (p50): %.0fx\n", b[BASE_RUNS / 2] / agg_p50);
  }
  printf("  peak RSS %.1f MB\n", (double)ru.ru_maxrss / 1024.0);
  svc_free(s);
  return 0;
}
