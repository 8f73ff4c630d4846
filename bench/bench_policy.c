/* bench_policy.c - policy engine throughput and latency on a realistic message mix, against a raw Vectorscan scan. */
#include <hs/hs.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "policy/policy.h"
#include "policy/policy_int.h" /* the engine's own database, for the second baseline */

/* Sentences seller messages are made of; a few break the policy. */
static const char *const clean[] = {
  "Thank you for your order. It has been received and will ship within 2 business days.",
  "Your order 112-4839201-5561023 left our warehouse this morning with UPS.",
  "Tracking number: 1Z4E7W610398472615. Expected delivery is Thursday, 14 March.",
  "We're sorry the frame arrived with cracked glass. Would you prefer a full refund or a replacement?",
  "The shelf is 80 cm wide and 30 cm deep, and each level holds up to 25 kg.",
  "Ihre Bestellung wurde heute mit DHL versendet. Die Zustellung ist für Mittwoch geplant.",
  "Hemos emitido el reembolso de 19,99 € por el artículo dañado. No hace falta que lo devuelva.",
  "Nous avons effectué le remboursement de 24,90 €. Il apparaîtra sous 3 à 5 jours ouvrés.",
  "Il pacco è stato spedito oggi e arriverà entro venerdì.",
  "The replacement blade (SKU BL-4471-XL, fits model HX-220) normally costs $12.50.",
  "The user manual is available on the listing: https://www.amazon.co.uk/dp/B07QX9L2MN",
  "If you can't find the parcel, please check with neighbours and let us know here within 48 hours.",
  "The warranty covers manufacturing defects for 12 months from delivery.",
  "Please confirm the delivery address: 48 Harbour Road, Apt 5B, Portland, OR 97209.",
  "Kind regards,\nNorthpeak Outdoor",
};
static const char *const bad[] = {
  "Please leave us a 5-star review if you're happy with the blender!",
  "Message us on WhatsApp at +34 612 345 678 for a faster reply.",
  "Use code SPRING15 for 15% off your next order 🎉",
  "Write to anna at northpeak dot co dot uk and she'll help you.",
  "Visit our website shop-example.com for more colours.",
  "[Important] Your parcel is delayed!!!!!",
};

/* Violations written to get past a filter, for the hostile mix. */
static const char *const evasive[] = {
  "Please leave us a r e v i e w if the blender works well.",
  "A quick rev1ew would mean the world to us, and 5 st4rs even more.",
  "Write to anna\xe2\x80\x8b@northpeak.co.uk and she will sort it out.",
  "Our shop is at northpeak[dot]com with all the other colours.",
  "Call me on four one five, five five five, zero one nine eight.",
  "Leave a positive r\xd0\xb5view on the product page, please.",
  "<p>Thanks!</p><img src=\"https://t.example.net/p.gif\" width=\"1\" height=\"1\">",
  "Message us on W h a t s A p p: +44 7700 900123.",
  "See hxxps://bit.ly/3xYzAbC for a 20% discount code on your next order.",
  "YOUR PARCEL IS DELAYED BUT WE ARE ON IT!!!!!",
};

typedef struct {
  char *s;
  size_t n;
} msg;

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint32_t rnd(void) {
  rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
  return (uint32_t)(rng >> 32);
}

/* Builds a message of 200 to 2,000 bytes. The realistic mix: one in five contains a
 * violation. The hostile mix: every third sentence is a violation written to evade. */
static msg make_msg(bool hostile) {
  size_t want = 200 + rnd() % 1801;
  char *b = malloc(want + 512);
  size_t n = 0;
  bool violate = rnd() % 5 == 0;
  size_t at = violate ? rnd() % 4 : SIZE_MAX;
  for (size_t k = 0; n < want; k++) {
    const char *s;
    if (hostile && k % 3 == 1) s = evasive[rnd() % (sizeof evasive / sizeof evasive[0])];
    else if (!hostile && k == at) s = bad[rnd() % (sizeof bad / sizeof bad[0])];
    else s = clean[rnd() % (sizeof clean / sizeof clean[0])];
    size_t l = strlen(s);
    if (n + l + 1 > want + 511) break;
    memcpy(b + n, s, l);
    n += l;
    b[n++] = k % 4 == 3 ? '\n' : ' ';
  }
  b[n] = '\0';
  return (msg){b, n};
}

/* CPU time of this thread: the figures are per core even on a busy machine. */
static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Wall-clock time, for the compile (which uses every core). */
static double wall(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int dbl_cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static int count_match(unsigned id, unsigned long long from, unsigned long long to, unsigned flags, void *ctx) {
  (void)id, (void)from, (void)to, (void)flags;
  ++*(size_t *)ctx;
  return 0;
}

int main(int argc, char **argv) {
  size_t nmsg = argc > 1 ? (size_t)atol(argv[1]) : 20000;
  msg *m = malloc(nmsg * sizeof *m);
  size_t bytes = 0;
  for (size_t i = 0; i < nmsg; i++) m[i] = make_msg(false), bytes += m[i].n;

  double t0 = wall();
  policy_config *cfg;
  pl_detail d;
  policy_options opt = {0};
  if (policy_config_new(&opt, &cfg, &d) != PL_OK) {
    fprintf(stderr, "bench_policy: %s\n", d.msg);
    return 1;
  }
  double t_compile = wall() - t0;

  /* warm up, then measure every message */
  size_t blocked = 0;
  for (size_t i = 0; i < nmsg && i < 500; i++) {
    policy_verdict v;
    policy_scan(cfg, m[i].s, m[i].n, &v);
    policy_verdict_free(&v);
  }
  /* Throughput: every message back to back, timed as a whole (reading the clock
   * per message would cost more than a tenth of a scan). */
  double start = now();
  for (size_t i = 0; i < nmsg; i++) {
    policy_verdict v;
    policy_scan(cfg, m[i].s, m[i].n, &v);
    if (v.action != POLICY_DELIVER) blocked++;
    policy_verdict_free(&v);
  }
  double total = now() - start;
  /* Latency: every message again, each timed on its own. */
  double *lat = malloc(nmsg * sizeof *lat);
  for (size_t i = 0; i < nmsg; i++) {
    double a = now();
    policy_verdict v;
    policy_scan(cfg, m[i].s, m[i].n, &v);
    policy_verdict_free(&v);
    lat[i] = now() - a;
  }
  qsort(lat, nmsg, sizeof *lat, dbl_cmp);

  /* The hostile mix: every message violates, mostly in disguise. */
  size_t nh = nmsg / 4 ? nmsg / 4 : 1, hbytes = 0, hblocked = 0;
  msg *h = malloc(nh * sizeof *h);
  for (size_t i = 0; i < nh; i++) h[i] = make_msg(true), hbytes += h[i].n;
  double *hlat = malloc(nh * sizeof *hlat);
  double hstart = now();
  for (size_t i = 0; i < nh; i++) {
    double a = now();
    policy_verdict v;
    policy_scan(cfg, h[i].s, h[i].n, &v);
    if (v.action != POLICY_DELIVER) hblocked++;
    policy_verdict_free(&v);
    hlat[i] = now() - a;
  }
  double htotal = now() - hstart;
  qsort(hlat, nh, sizeof *hlat, dbl_cmp);

  /* Baseline: the raw Vectorscan scan of the same bytes with a one-pattern-set
   * database of literal trigger words (no normalisation, no detectors). */
  static const char *const pats[] = {"review", "whatsapp", "paypal", "coupon", "discount", "http",
                                     "@", "important", "feedback", "website", "stars", "code"};
  unsigned ids[12], flags[12];
  for (unsigned k = 0; k < 12; k++) ids[k] = k, flags[k] = HS_FLAG_CASELESS | HS_FLAG_SOM_LEFTMOST;
  hs_database_t *db;
  hs_compile_error_t *err;
  if (hs_compile_multi(pats, flags, ids, 12, HS_MODE_BLOCK, NULL, &db, &err) != HS_SUCCESS) return 1;
  hs_scratch_t *scr = NULL;
  hs_alloc_scratch(db, &scr);
  size_t hits = 0;
  double rs = now();
  for (int rep = 0; rep < 5; rep++)
    for (size_t i = 0; i < nmsg; i++) hs_scan(db, m[i].s, (unsigned)m[i].n, 0, scr, count_match, &hits);
  double raw = (now() - rs) / 5;

  /* Second baseline: the engine's own rule database over the same raw bytes. */
  hs_scratch_t *escr = NULL;
  hs_alloc_scratch(cfg->db, &escr);
  size_t ehits = 0;
  double es = now();
  for (size_t i = 0; i < nmsg; i++) hs_scan(cfg->db, m[i].s, (unsigned)m[i].n, 0, escr, count_match, &ehits);
  double eraw = now() - es;
  hs_free_scratch(escr);

  double mps = (double)nmsg / total, raw_mps = (double)nmsg / raw, eraw_mps = (double)nmsg / eraw;
  printf("policy engine benchmark: %zu messages, %.0f bytes average, %.1f%% not delivered\n", nmsg,
         (double)bytes / (double)nmsg, 100.0 * (double)blocked / (double)nmsg);
  printf("  configuration compile   %.2f s (wall clock, every core)\n", t_compile);
  printf("  policy_scan             %.0f msg/s  %.1f MB/s  p50 %.1f us  p99 %.1f us  max %.1f us\n", mps,
         (double)bytes / total / 1e6, lat[nmsg / 2] * 1e6, lat[nmsg * 99 / 100] * 1e6, lat[nmsg - 1] * 1e6);
  printf("  hostile mix             %.0f msg/s  p50 %.1f us  p99 %.1f us  (%zu messages, %.0f bytes average, "
         "%.1f%% not delivered; clock read per message)\n",
         (double)nh / htotal, hlat[nh / 2] * 1e6, hlat[nh * 99 / 100] * 1e6, nh, (double)hbytes / (double)nh,
         100.0 * (double)hblocked / (double)nh);
  printf("  raw scan, engine's DB   %.0f msg/s  %.1f MB/s  (%zu rules, the fast pass's database)\n", eraw_mps, (double)bytes / eraw / 1e6,
         cfg->nrules);
  printf("  raw scan, 12 literals   %.0f msg/s  %.1f MB/s\n", raw_mps, (double)bytes / raw / 1e6);
  /* Memory: the compiled configuration's databases, one worker's scratch, the process peak. */
  size_t shared_db = 0, rule_dbs = 0, scratch = 0;
  hs_database_size(cfg->db, &shared_db);
  for (size_t k = 0; k < cfg->nrules; k++) {
    size_t sz = 0;
    if (cfg->som[k] && hs_database_size(cfg->som[k], &sz) == HS_SUCCESS) rule_dbs += sz;
  }
  hs_scratch_size(cfg->proto, &scratch);
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  printf("  memory                  shared DB %.0f KiB, per-rule DBs %.0f KiB, scratch %.0f KiB/worker, "
         "peak RSS %.1f MiB\n",
         (double)shared_db / 1024, (double)rule_dbs / 1024, (double)scratch / 1024, (double)ru.ru_maxrss / 1024);
  printf("  ratio to engine-DB scan %.1fx\n", eraw_mps / mps);
  printf("  ratio to literal scan   %.1fx\n", raw_mps / mps);
  hs_free_scratch(scr);
  hs_free_database(db);
  policy_config_unref(cfg);
  for (size_t i = 0; i < nmsg; i++) free(m[i].s);
  for (size_t i = 0; i < nh; i++) free(h[i].s);
  free(h);
  free(hlat);
  free(m);
  free(lat);
  return 0;
}
