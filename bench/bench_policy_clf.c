/* bench_policy_clf.c - the policy engine with the classifier on beside the rules alone, in one run, on one core. */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "policy/policy.h"

/* Usage: bench_policy_clf COUNT FILE.jsonl...
 * The realistic mix is the labelled seller messages of the files (the .jsonl files of
 * data/policy and tests/data/policy), taken in a fixed pseudo-random order COUNT times in all. Both
 * configurations scan the same message one after the other, so that both see the same
 * caches and machine load; the time is the thread's CPU time, so one core. */

typedef struct {
  char *s;
  size_t n;
} msg;

static double cpu_now(void) {
  struct timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int dbl_cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static void report(const char *name, double *lat, size_t n, double total) {
  qsort(lat, n, sizeof *lat, dbl_cmp);
  printf("  %-22s %8.0f msg/s  p50 %6.1f us  p99 %6.1f us  max %7.1f us\n", name, (double)n / total,
         lat[n / 2] * 1e6, lat[n * 99 / 100] * 1e6, lat[n - 1] * 1e6);
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: bench_policy_clf COUNT FILE.jsonl...\n");
    return 2;
  }
  size_t count = (size_t)atol(argv[1]);
  msg *msgs = NULL;
  size_t nmsgs = 0, cap = 0;
  for (int a = 2; a < argc; a++) {
    FILE *f = fopen(argv[a], "r");
    if (!f) {
      fprintf(stderr, "bench_policy_clf: cannot open %s\n", argv[a]);
      return 2;
    }
    char line[16384];
    while (fgets(line, sizeof line, f)) {
      json_error_t je;
      json_t *o = json_loads(line, 0, &je);
      const char *t = o ? json_string_value(json_object_get(o, "text")) : NULL;
      if (t) {
        if (nmsgs == cap) msgs = realloc(msgs, (cap = cap ? cap * 2 : 1024) * sizeof *msgs);
        msgs[nmsgs++] = (msg){strdup(t), strlen(t)};
      }
      json_decref(o);
    }
    fclose(f);
  }
  if (!nmsgs || !count) return 2;
  policy_config *on = NULL, *off = NULL;
  pl_detail d = {0};
  policy_options opt = {.cache_dir = getenv("PARLEY_POLICY_CACHE")};
  char path[] = "/tmp/bench-clf-XXXXXX";
  int fd = mkstemp(path);
  const char *json = "{\"classifier\": {\"enabled\": false}}";
  if (fd < 0 || write(fd, json, strlen(json)) != (ssize_t)strlen(json)) return 2;
  close(fd);
  if (policy_config_new(&opt, &on, &d)) {
    fprintf(stderr, "bench_policy_clf: %s\n", d.msg);
    return 2;
  }
  opt.config_path = path;
  if (policy_config_new(&opt, &off, &d)) {
    fprintf(stderr, "bench_policy_clf: %s\n", d.msg);
    return 2;
  }
  unlink(path);
  double *lat_on = calloc(count, sizeof *lat_on), *lat_off = calloc(count, sizeof *lat_off);
  double tot_on = 0, tot_off = 0;
  size_t bytes = 0, held_on = 0, held_off = 0;
  uint64_t r = 0x9E3779B97F4A7C15ull;
  for (size_t k = 0; k < count; k++) {
    r ^= r << 13, r ^= r >> 7, r ^= r << 17;
    const msg *m = &msgs[r % nmsgs];
    bytes += m->n;
    policy_verdict v;
    double t0 = cpu_now();
    policy_scan(off, m->s, m->n, &v);
    double t1 = cpu_now();
    held_off += v.action != POLICY_DELIVER;
    policy_verdict_free(&v);
    double t2 = cpu_now();
    policy_scan(on, m->s, m->n, &v);
    double t3 = cpu_now();
    held_on += v.action != POLICY_DELIVER;
    policy_verdict_free(&v);
    lat_off[k] = t1 - t0, lat_on[k] = t3 - t2;
    tot_off += t1 - t0, tot_on += t3 - t2;
  }
  printf("policy classifier benchmark: %zu scans each, %zu distinct messages, %.0f bytes average, one core\n", count,
         nmsgs, (double)bytes / (double)count);
  report("rules alone", lat_off, count, tot_off);
  report("rules + classifier", lat_on, count, tot_on);
  printf("  not delivered          rules %.1f%%, with classifier %.1f%%\n", 100.0 * (double)held_off / (double)count,
         100.0 * (double)held_on / (double)count);
  policy_config_unref(on);
  policy_config_unref(off);
  for (size_t k = 0; k < nmsgs; k++) free(msgs[k].s);
  free(msgs), free(lat_on), free(lat_off);
  return 0;
}
