/* test_util.c - unit tests of the utilities: time, UTF-8, arena, crypto. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/pl_crypto.h"
#include "util/pl_err.h"
#include "util/pl_mem.h"
#include "util/pl_time.h"
#include "util/pl_utf8.h"

/* The fallible allocators fail where told (fault injection) and only there; the arena
 * stays usable after a failed try; the aborting allocators are not affected. */
static void fallible_allocation(void **state) {
  (void)state;
  void *p = pl_try_malloc(1 << 20);
  assert_non_null(p);
  free(p);
  pl_mem_fail_from(4096);
  assert_null(pl_try_malloc(4096));
  assert_null(pl_try_malloc(1 << 20));
  p = pl_try_malloc(4095);
  assert_non_null(p);
  assert_null(pl_try_realloc(p, 8192)); /* p is still valid */
  void *q = pl_try_realloc(p, 100);
  assert_non_null(q);
  free(q);
  pl_mem_fail_from(64 * 1024); /* the arena's chunks are 8 KiB */
  pl_arena *a = pl_arena_new();
  char *small = pl_arena_try_alloc(a, 100);
  assert_non_null(small);
  strcpy(small, "kept");
  assert_null(pl_arena_try_alloc(a, 1 << 20));
  assert_null(pl_arena_try_alloc(a, SIZE_MAX - 8)); /* no overflow into a small block */
  assert_string_equal(small, "kept");
  assert_non_null(pl_arena_try_alloc(a, 200));
  p = pl_xmalloc(1 << 20); /* not injected: the aborting path is for sizes parley decides */
  free(p);
  assert_non_null(pl_arena_alloc(a, 1 << 20));
  pl_mem_fail_from(0);
  assert_non_null(pl_arena_try_alloc(a, 1 << 20));
  pl_arena_free(a);
  assert_string_equal(pl_errname(PL_ENOMEM), "out_of_memory");
}

static void time_parse_and_format(void **state) {
  (void)state;
  pl_time t;
  char buf[32];
  assert_true(pl_time_parse("1970-01-01T00:00:00Z", &t));
  assert_int_equal(t, 0);
  assert_true(pl_time_parse("2026-10-05T09:00:00Z", &t));
  assert_int_equal(t, 1791190800);
  assert_string_equal(pl_time_format(t, buf), "2026-10-05T09:00:00Z");
  assert_true(pl_time_parse("2026-10-05T11:00:00+02:00", &t));
  assert_int_equal(t, 1791190800);
  assert_true(pl_time_parse("2026-10-05T09:00:00.123Z", &t));
  assert_int_equal(t, 1791190800);
  assert_true(pl_time_parse("2024-02-29T00:00:00Z", &t)); /* leap day */
  assert_false(pl_time_parse("2026-02-29T00:00:00Z", &t));
  assert_false(pl_time_parse("2026-13-01T00:00:00Z", &t));
  assert_false(pl_time_parse("2026-10-05 09:00", &t));
  assert_false(pl_time_parse("2026-10-05T09:00:00", &t)); /* no zone: ambiguous */
  assert_false(pl_time_parse("2026-10-05T09:00:00Zjunk", &t));
  assert_false(pl_time_parse(NULL, &t));
}

static void utf8_validation(void **state) {
  (void)state;
  size_t n;
  assert_true(pl_utf8_valid("abc", 3, &n));
  assert_int_equal(n, 3);
  assert_true(pl_utf8_valid("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9, &n)); /* é € 😀 */
  assert_int_equal(n, 3);
  assert_false(pl_utf8_valid("\xc0\xaf", 2, NULL));         /* overlong */
  assert_false(pl_utf8_valid("\xed\xa0\x80", 3, NULL));     /* surrogate */
  assert_false(pl_utf8_valid("\xf4\x90\x80\x80", 4, NULL)); /* past U+10FFFF */
  assert_false(pl_utf8_valid("\xe2\x82", 2, NULL));         /* truncated */
  assert_false(pl_utf8_valid("a\0b", 3, NULL));             /* NUL */
  assert_false(pl_utf8_valid("\xff", 1, NULL));
  assert_true(pl_utf8_blank(" \t\r\n\xc2\xa0", 6));
  assert_true(pl_utf8_blank("\xe2\x80\x83\xe3\x80\x80", 6)); /* em space, ideographic space */
  assert_false(pl_utf8_blank("\xe2\x80\x8b", 3));               /* zero-width space is not White_Space */
  assert_false(pl_utf8_blank(" x ", 3));
}

static void utf8_text_controls(void **state) {
  (void)state;
  size_t n = 0, at = 99;
  assert_int_equal(pl_utf8_text("a\tb\nc", 5, &n, &at), PL_TEXT_OK);
  assert_int_equal(n, 5);
  assert_int_equal(pl_utf8_text("a\r\nb\r\n", 6, &n, NULL), PL_TEXT_OK);
  assert_int_equal(n, 4); /* a CRLF counts as the one LF it becomes */
  assert_int_equal(pl_utf8_text("ab\rc", 4, NULL, &at), PL_TEXT_CONTROL); /* a lone CR */
  assert_int_equal(at, 2);
  assert_int_equal(pl_utf8_text("x\r", 2, NULL, &at), PL_TEXT_CONTROL); /* CR at the end */
  assert_int_equal(at, 1);
  assert_int_equal(pl_utf8_text("\x1b[2Jx", 5, NULL, &at), PL_TEXT_CONTROL); /* ESC */
  assert_int_equal(at, 0);
  assert_int_equal(pl_utf8_text("a\x7f", 2, NULL, &at), PL_TEXT_CONTROL); /* DEL */
  assert_int_equal(pl_utf8_text("a\x08" "b", 3, NULL, NULL), PL_TEXT_CONTROL); /* backspace */
  assert_int_equal(pl_utf8_text("a\x0b", 2, NULL, NULL), PL_TEXT_CONTROL);  /* vertical tab */
  assert_int_equal(pl_utf8_text("a\x0c", 2, NULL, NULL), PL_TEXT_CONTROL);  /* form feed */
  assert_int_equal(pl_utf8_text("\xc2\x85", 2, NULL, NULL), PL_TEXT_CONTROL); /* NEL, C1 */
  assert_int_equal(pl_utf8_text("\xc2\x9b", 2, NULL, NULL), PL_TEXT_CONTROL); /* CSI, C1 */
  /* The neighbours of C1 are ordinary letters and signs. */
  assert_int_equal(pl_utf8_text("\xc2\xa0\xc2\xbf\xc3\xa9", 6, &n, NULL), PL_TEXT_OK);
  assert_int_equal(n, 3);
  assert_int_equal(pl_utf8_text("a\0b", 3, NULL, NULL), PL_TEXT_INVALID_UTF8);
  assert_int_equal(pl_utf8_text("\xc0\xaf", 2, NULL, NULL), PL_TEXT_INVALID_UTF8);
  char buf[] = "a\r\nb\r\n\r\nc\n";
  size_t len = pl_utf8_lf(buf, strlen(buf));
  assert_int_equal(len, 7);
  assert_string_equal(buf, "a\nb\n\nc\n");
}

/* Cleanups run once, newest first, at reset and at free; one may defer another; a reset
 * keeps the arena usable and its memory for the next use. */
static int order[8], norder;
static pl_arena *defer_into;
static void note(void *p) { order[norder++] = (int)(intptr_t)p; }
static void note_and_defer(void *p) {
  note(p);
  pl_arena_defer(defer_into, note, (void *)(intptr_t)9);
}

static void arena_cleanups(void **state) {
  (void)state;
  pl_arena *a = pl_arena_new();
  defer_into = a;
  pl_arena_defer(a, note, (void *)(intptr_t)1);
  pl_arena_defer(a, note_and_defer, (void *)(intptr_t)2);
  pl_arena_defer(a, note, (void *)(intptr_t)3);
  for (int i = 0; i < 100; i++) pl_arena_alloc(a, 1000); /* several chunks */
  pl_arena_reset(a);
  assert_int_equal(norder, 4);
  assert_int_equal(order[0], 3);
  assert_int_equal(order[1], 2);
  assert_int_equal(order[2], 1);
  assert_int_equal(order[3], 9); /* deferred by a cleanup: run in the same reset */
  /* usable again, and nothing left to run twice */
  char *s = pl_arena_strdup(a, "after reset");
  assert_string_equal(s, "after reset");
  for (int i = 0; i < 100; i++) memset(pl_arena_alloc(a, 1000), 'x', 1000);
  pl_arena_reset(a);
  assert_int_equal(norder, 4);
  pl_arena_defer(a, note, (void *)(intptr_t)5);
  pl_arena_free(a);
  assert_int_equal(norder, 5);
  assert_int_equal(order[4], 5);
  /* a reset after more than the kept maximum leaves an empty arena that still works */
  a = pl_arena_new();
  pl_arena_alloc(a, 4 << 20);
  pl_arena_alloc(a, 100);
  pl_arena_reset(a);
  assert_string_equal(pl_arena_strdup(a, "x"), "x");
  pl_arena_free(a);
}

static void arena_allocations(void **state) {
  (void)state;
  pl_arena *a = pl_arena_new();
  char *big = pl_arena_alloc(a, 100000); /* larger than a chunk */
  memset(big, 1, 100000);
  for (int i = 0; i < 10000; i++) {
    char *s = pl_arena_printf(a, "item %d", i);
    assert_non_null(s);
    assert_true(((uintptr_t)pl_arena_alloc(a, 3) % _Alignof(max_align_t)) == 0);
  }
  assert_string_equal(pl_arena_strndup(a, "hello world", 5), "hello");
  pl_arena_free(a);
}

static void seal_and_open(void **state) {
  (void)state;
  assert_int_equal(pl_crypto_init(), PL_OK);
  char path[] = "/tmp/parley-key-XXXXXX";
  int fd = mkstemp(path);
  close(fd);
  unlink(path);
  pl_keys k, k2;
  pl_detail d;
  assert_int_equal(pl_keys_load_or_create(path, &k, &d), PL_OK);
  struct stat st;
  assert_int_equal(stat(path, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0600);
  assert_int_equal(pl_keys_load_or_create(path, &k2, &d), PL_OK);
  assert_memory_equal(&k, &k2, sizeof k);
  char *sealed = pl_seal(&k, "jane@mail.test");
  assert_null(strstr(sealed, "jane"));
  char *plain = pl_open(&k, sealed);
  assert_string_equal(plain, "jane@mail.test");
  free(plain);
  sealed[10] ^= 1; /* tampering is detected */
  assert_null(pl_open(&k, sealed));
  free(sealed);
  char h1[65], h2[65];
  pl_keyed_hash_hex(&k, "token", h1);
  pl_keyed_hash_hex(&k, "token", h2);
  assert_string_equal(h1, h2);
  char alias[17];
  pl_alias_local(alias, 16);
  assert_int_equal(strlen(alias), 16);
  assert_int_equal(strspn(alias, "abcdefghijklmnopqrstuvwxyz0123456789"), 16);
  unlink(path);
}

/* A fresh temporary path (no file there). */
static void temp_path(char path[32]) {
  strcpy(path, "/tmp/parley-key-XXXXXX");
  int fd = mkstemp(path);
  close(fd);
  unlink(path);
}

static void write_file(const char *path, const void *bytes, size_t n, mode_t mode) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, bytes, n), (ssize_t)n);
  close(fd);
  assert_int_equal(chmod(path, mode), 0);
}

/* The first key file format (64 raw bytes: enc, mac) is generation 1, and its mac key is
 * the identity key, so that its sealed values, token hashes and reply MACs stay valid. */
static void key_file_first_format(void **state) {
  (void)state;
  assert_int_equal(pl_crypto_init(), PL_OK);
  char path[32];
  temp_path(path);
  unsigned char raw[64];
  for (int i = 0; i < 64; i++) raw[i] = (unsigned char)(i * 7 + 1);
  write_file(path, raw, sizeof raw, 0600);
  pl_keys k;
  pl_detail d = {0};
  assert_int_equal(pl_keys_load(path, &k, &d), PL_OK);
  assert_int_equal(k.ngens, 1);
  assert_int_equal(k.gens[0].id, 1);
  assert_memory_equal(k.gens[0].enc, raw, 32);
  assert_memory_equal(k.gens[0].mac, raw + 32, 32);
  assert_memory_equal(k.ident, raw + 32, 32);
  char *sealed = pl_seal(&k, "jane@mail.test");
  assert_int_equal(strncmp(sealed, "v1:", 3), 0);
  assert_int_equal(pl_sealed_gen(sealed), 1);
  free(sealed);
  /* Look-up hashes of generation 1 and identity hashes agree with the first format's one key. */
  char h1[65], h2[65];
  pl_keyed_hash_hex(&k, "jane@mail.test", h1);
  pl_lookup_hash_hex(&k.gens[0], "jane@mail.test", h2);
  assert_string_equal(h1, h2);
  unlink(path);
}

/* Generations: a new one seals as "v2:<id>:", the older one still opens what it sealed
 * until it is dropped; the identity key stays; the file keeps them across a save. */
static void key_generations(void **state) {
  (void)state;
  assert_int_equal(pl_crypto_init(), PL_OK);
  char path[32];
  temp_path(path);
  pl_keys k, k2;
  pl_detail d = {0};
  assert_int_equal(pl_keys_load(path, &k, &d), PL_ENOTFOUND);
  assert_int_equal(pl_keys_load_or_create(path, &k, &d), PL_OK);
  char *old = pl_seal(&k, "jane@mail.test");
  char ident_before[65], look1[65];
  pl_keyed_hash_hex(&k, "tok", ident_before);
  pl_lookup_hash_hex(pl_keys_current(&k), "jane@mail.test", look1);
  assert_int_equal(pl_keys_add_gen(&k, &d), PL_OK);
  assert_int_equal(pl_keys_current(&k)->id, 2);
  assert_int_equal(pl_keys_save(path, &k, &d), PL_OK);
  struct stat st;
  assert_int_equal(stat(path, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0600);
  char tmp[64];
  snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
  assert_int_equal(access(tmp, F_OK), -1); /* no temporary file left */
  memset(&k2, 0xff, sizeof k2);
  assert_int_equal(pl_keys_load(path, &k2, &d), PL_OK);
  assert_memory_equal(&k, &k2, sizeof k);
  char *fresh = pl_seal(&k2, "jane@mail.test");
  assert_int_equal(strncmp(fresh, "v2:2:", 5), 0);
  assert_int_equal(pl_sealed_gen(fresh), 2);
  char *p = pl_open(&k2, old), *q = pl_open(&k2, fresh);
  assert_string_equal(p, "jane@mail.test");
  assert_string_equal(q, "jane@mail.test");
  free(p);
  free(q);
  char ident_after[65], look2[65];
  pl_keyed_hash_hex(&k2, "tok", ident_after);
  pl_lookup_hash_hex(pl_keys_current(&k2), "jane@mail.test", look2);
  assert_string_equal(ident_before, ident_after);
  assert_string_not_equal(look1, look2);
  /* The current generation is not dropped; the old one is, and then opens nothing. */
  assert_int_equal(pl_keys_drop_gen(&k2, 2, &d), PL_EINVAL);
  assert_int_equal(pl_keys_drop_gen(&k2, 7, &d), PL_ENOTFOUND);
  assert_int_equal(pl_keys_drop_gen(&k2, 1, &d), PL_OK);
  assert_null(pl_keys_find(&k2, 1));
  assert_null(pl_open(&k2, old));
  q = pl_open(&k2, fresh);
  assert_string_equal(q, "jane@mail.test");
  free(q);
  /* Not a sealed value, or a generation nobody has. */
  assert_int_equal(pl_sealed_gen("v2:0:abc"), 0);
  assert_int_equal(pl_sealed_gen("v2:x:abc"), 0);
  assert_int_equal(pl_sealed_gen("v3:abc"), 0);
  assert_null(pl_open(&k2, "v2:9:AAAA"));
  /* At most PL_KEY_GENS. */
  while (k2.ngens < PL_KEY_GENS) assert_int_equal(pl_keys_add_gen(&k2, &d), PL_OK);
  assert_int_equal(pl_keys_add_gen(&k2, &d), PL_ETOOMANY);
  free(old);
  free(fresh);
  unlink(path);
}

/* A key file others may read, or another user's, is refused with the file and the fix;
 * a damaged one is refused too. */
static void key_file_refused(void **state) {
  (void)state;
  assert_int_equal(pl_crypto_init(), PL_OK);
  char path[32];
  temp_path(path);
  pl_keys k;
  pl_detail d = {0};
  assert_int_equal(pl_keys_load_or_create(path, &k, &d), PL_OK);
  static const mode_t bad[] = {0640, 0604, 0644, 0660, 0602};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    assert_int_equal(chmod(path, bad[i]), 0);
    memset(&d, 0, sizeof d);
    assert_int_equal(pl_keys_load(path, &k, &d), PL_ECRYPTO);
    assert_non_null(strstr(d.msg, path));
    assert_non_null(strstr(d.msg, "chmod 600"));
    assert_int_equal(pl_keys_load_or_create(path, &k, &d), PL_ECRYPTO);
  }
  assert_int_equal(chmod(path, 0400), 0); /* read-only for its owner is fine */
  assert_int_equal(pl_keys_load(path, &k, &d), PL_OK);
  assert_int_equal(chmod(path, 0600), 0);
  if (geteuid() == 0) { /* as root: a file of another user */
    assert_int_equal(chown(path, 65534, 65534), 0);
    memset(&d, 0, sizeof d);
    assert_int_equal(pl_keys_load(path, &k, &d), PL_ECRYPTO);
    assert_non_null(strstr(d.msg, "another user"));
    assert_int_equal(chown(path, 0, 0), 0);
  }
  static const char *const damaged[] = {
      "parley-keys 2\n",
      "parley-keys 2\nident 00\ngen 1 00 00\n",
      "parley-keys 2\nident 0000000000000000000000000000000000000000000000000000000000000000\n",
      "parley-keys 2\nident 0000000000000000000000000000000000000000000000000000000000000000\n"
      "gen 2 1111111111111111111111111111111111111111111111111111111111111111 "
      "1111111111111111111111111111111111111111111111111111111111111111\n"
      "gen 1 1111111111111111111111111111111111111111111111111111111111111111 "
      "1111111111111111111111111111111111111111111111111111111111111111\n",
      "short"};
  for (size_t i = 0; i < sizeof damaged / sizeof damaged[0]; i++) {
    write_file(path, damaged[i], strlen(damaged[i]), 0600);
    memset(&d, 0, sizeof d);
    assert_int_equal(pl_keys_load(path, &k, &d), PL_ECRYPTO);
    assert_non_null(strstr(d.msg, "damaged"));
  }
  unlink(path);
}

static void error_names(void **state) {
  (void)state;
  assert_string_equal(pl_errname(PL_ETOOLONG), "text_too_long");
  assert_string_equal(pl_errname(PL_OK), "ok");
  pl_detail d;
  assert_int_equal(pl_fail(&d, PL_EINVAL, "x=%d", 3), PL_EINVAL);
  assert_string_equal(d.msg, "x=3");
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(time_parse_and_format), cmocka_unit_test(utf8_validation),
    cmocka_unit_test(utf8_text_controls),
    cmocka_unit_test(arena_allocations),     cmocka_unit_test(arena_cleanups),     cmocka_unit_test(seal_and_open),
    cmocka_unit_test(key_file_first_format), cmocka_unit_test(key_generations), cmocka_unit_test(key_file_refused),
    cmocka_unit_test(error_names),           cmocka_unit_test(fallible_allocation),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
