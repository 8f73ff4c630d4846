/* cmd_admin_key.c - `parley admin key`: the key file's generations, their rotation and
 * retirement (docs/operations.md, "Key rotation"). */
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_common.h"

#define DEFAULT_BATCH 500

static int failed(svc *s, pl_err e, const pl_detail *d) {
  fprintf(stderr, "parley admin key: %s: %s\n", pl_errname(e), d->msg[0] ? d->msg : pl_strerror(e));
  svc_free(s);
  return 1;
}

/* Rows on generations older than the current one. */
static int64_t older_rows(const svc_key_report *r) {
  int64_t n = 0;
  for (size_t i = 0; i < r->ngens; i++)
    if (r->gens[i].id != r->current) n += r->gens[i].rows;
  return n;
}

static void print_status(const svc_key_report *r, bool check, bool as_json) {
  if (as_json) {
    json_t *gens = json_array();
    for (size_t i = 0; i < r->ngens; i++)
      json_array_append_new(gens, json_pack("{s:I,s:I,s:b}", "id", (json_int_t)r->gens[i].id, "rows",
                                            (json_int_t)r->gens[i].rows, "current", r->gens[i].id == r->current));
    json_t *j = json_pack("{s:o,s:I,s:I}", "generations", gens, "current", (json_int_t)r->current,
                          "unknown_generation_rows", (json_int_t)r->unknown);
    if (check) {
      json_object_set_new(j, "opened", json_integer(r->opened));
      json_object_set_new(j, "unreadable", json_integer(r->unreadable));
    }
    char *out = json_dumps(j, JSON_COMPACT);
    printf("%s\n", out);
    free(out);
    json_decref(j);
    return;
  }
  for (size_t i = 0; i < r->ngens; i++)
    printf("generation %" PRIu32 ": %" PRId64 " rows%s\n", r->gens[i].id, r->gens[i].rows,
           r->gens[i].id == r->current ? " (current)" : "");
  if (r->unknown) printf("sealed by a generation the key file does not hold: %" PRId64 " rows\n", r->unknown);
  if (check) printf("opened: %" PRId64 ", unreadable: %" PRId64 "\n", r->opened, r->unreadable);
}

/* Removes from the key file every older generation no stored row uses. The rows are
 * counted again once the file is written: a server that sealed a value with an old
 * generation just before it noticed the new file, and committed it after the first count,
 * puts the file back as it was (the next run re-seals that row). */
static int retire(svc *s, const char *kp) {
  pl_detail d = {0};
  svc_key_report r;
  pl_err e = svc_key_status(s, false, &r, &d);
  if (e) return failed(s, e, &d);
  pl_keys k, orig;
  if ((e = pl_keys_load(kp, &k, &d))) return failed(s, e, &d);
  orig = k;
  int kept = 0, dropped = 0;
  uint32_t gone[PL_KEY_GENS];
  for (size_t i = 0; i < r.ngens; i++) {
    if (r.gens[i].id == r.current) continue;
    if (r.gens[i].rows) {
      fprintf(stderr, "parley admin key: generation %" PRIu32 " still seals %" PRId64 " rows: kept (run "
              "`parley admin key rotate` to re-seal them)\n", r.gens[i].id, r.gens[i].rows);
      kept++;
    } else if (!pl_keys_drop_gen(&k, r.gens[i].id, &d)) {
      gone[dropped++] = r.gens[i].id;
    }
  }
  if (dropped) {
    svc_key_report again;
    e = pl_keys_save(kp, &k, &d);
    if (!e) e = svc_key_status(s, false, &again, &d);
    if (!e && again.unknown > r.unknown) {
      fprintf(stderr, "parley admin key: a server sealed %" PRId64 " rows with an old generation meanwhile: "
              "kept it (run `parley admin key rotate` again)\n", again.unknown - r.unknown);
      e = pl_keys_save(kp, &orig, &d);
      kept++;
      dropped = 0;
    }
  }
  sodium_memzero(&k, sizeof k);
  sodium_memzero(&orig, sizeof orig);
  if (e) return failed(s, e, &d);
  for (int i = 0; i < dropped; i++) printf("retired key generation %" PRIu32 "\n", gone[i]);
  if (!kept && !dropped) printf("no old key generation to retire\n");
  svc_free(s);
  return kept ? 1 : 0;
}

/* Step 1 alone: a new generation, unless one is pending already (several nodes copy the
 * file before the walk). */
static int add(svc *s, const char *kp) {
  pl_detail d = {0};
  pl_keys k;
  pl_err e = pl_keys_load(kp, &k, &d);
  if (!e && k.ngens > 1) {
    printf("key generation %" PRIu32 " is pending already: run `parley admin key rotate`\n", pl_keys_current(&k)->id);
  } else if (!e && !(e = pl_keys_add_gen(&k, &d)) && !(e = pl_keys_save(kp, &k, &d))) {
    printf("added key generation %" PRIu32 " to %s\n", pl_keys_current(&k)->id, kp);
  }
  sodium_memzero(&k, sizeof k);
  if (e) return failed(s, e, &d);
  svc_free(s);
  return 0;
}

static int rotate(svc *s, const cli_args *a, const char *kp) {
  char *end;
  const char *bv = cli_get(a, "batch", NULL);
  long batch = bv ? strtol(bv, &end, 10) : DEFAULT_BATCH;
  if (bv && (!*bv || *end || batch < 1 || batch > SVC_KEY_BATCH_MAX)) {
    fprintf(stderr, "parley admin key rotate: --batch must be 1 to %d rows, not '%s'\n", SVC_KEY_BATCH_MAX, bv);
    svc_free(s);
    return 2;
  }
  int64_t stop_after = 0;
#ifdef PARLEY_FAULT_INJECTION
  /* Tests only: stop after this many batches, as a crash would. */
  const char *sa = getenv("PARLEY_TEST_KEY_STOP_AFTER");
  if (sa && *sa) stop_after = strtoll(sa, NULL, 10);
#endif
  pl_detail d = {0};
  pl_keys k;
  pl_err e = pl_keys_load(kp, &k, &d);
  if (e) return failed(s, e, &d);
  /* One generation: a new rotation. Several: a rotation that did not finish, resumed. */
  if (k.ngens == 1) {
    if (!(e = pl_keys_add_gen(&k, &d))) e = pl_keys_save(kp, &k, &d);
    if (e) {
      sodium_memzero(&k, sizeof k);
      return failed(s, e, &d);
    }
    printf("added key generation %" PRIu32 " to %s\n", pl_keys_current(&k)->id, kp);
  } else {
    printf("resuming the rotation to key generation %" PRIu32 "\n", pl_keys_current(&k)->id);
  }
  sodium_memzero(&k, sizeof k);
  /* A server that had not yet seen the new generation may seal a row with the old one
   * behind the walk: a few passes take those too. */
  svc_key_report r = {0};
  for (int pass = 0; pass < 3; pass++) {
    svc_key_walked w;
    e = svc_key_walk(s, (int)batch, stop_after, &w, &d);
    printf("re-sealed %" PRId64 " rows in %" PRId64 " batches", w.resealed, w.batches);
    if (w.raced) printf(", %" PRId64 " changed meanwhile", w.raced);
    if (w.unreadable) printf(", %" PRId64 " that no generation opens", w.unreadable);
    if (w.conflicts) printf(", %" PRId64 " addresses registered twice", w.conflicts);
    printf("\n");
    if (e) return failed(s, e, &d);
    if ((e = svc_key_status(s, false, &r, &d))) return failed(s, e, &d);
    if (!older_rows(&r)) break;
  }
  if (r.unknown)
    fprintf(stderr, "parley admin key: %" PRId64 " rows are sealed by a generation the key file does not hold; "
            "they cannot be read\n", r.unknown);
  return retire(s, kp);
}

int cmd_admin_key(const cli_args *a) {
  const char *act = a->pos[1];
  if (strcmp(act, "status") && strcmp(act, "rotate") && strcmp(act, "retire") && strcmp(act, "add")) {
    fprintf(stderr, "parley admin: unknown 'key %s' (status, add, rotate or retire)\n", act);
    return 2;
  }
  char kbuf[4096];
  const char *kp = cli_key_path(a, cli_get(a, "db", "parley.db"), kbuf, sizeof kbuf);
  if (!kp) {
    fprintf(stderr, "parley admin key: a PostgreSQL store needs --key-file (or PARLEY_KEY_FILE)\n");
    return 2;
  }
  if (pl_crypto_init()) return 1;
  pl_keys k;
  pl_detail d = {0};
  pl_err e = pl_keys_load(kp, &k, &d); /* never created here */
  sodium_memzero(&k, sizeof k);
  if (e) {
    fprintf(stderr, "parley admin key: %s\n", d.msg);
    return 1;
  }
  svc *s = cli_open(a, NULL);
  if (!s) return 1;
  if (!strcmp(act, "rotate")) return rotate(s, a, kp);
  if (!strcmp(act, "retire")) return retire(s, kp);
  if (!strcmp(act, "add")) return add(s, kp);
  bool check = cli_has(a, "check");
  svc_key_report r;
  if ((e = svc_key_status(s, check, &r, &d))) return failed(s, e, &d);
  print_status(&r, check, cli_has(a, "json"));
  svc_free(s);
  return check && r.unreadable ? 1 : 0;
}
