/* test_extract_reader.c - parley-reader's confinement and the server's side of it.
 *
 * The probes run parley-reader-probe: the production reader's sources built with
 * PARLEY_READER_PROBES, which adds jobs that, once the reader is confined, try what a
 * reader taken over by a hostile file would: open the key file, create a file, connect
 * to a socket, exec a shell, crash, flood or lie in its answer. Each must fail or end
 * the reader, and the file must come back unreadable (held for review). The production
 * reader ($PARLEY_READER) is checked to refuse probe jobs, and to read every accepted
 * kind. The answer's parser is also fed forged frames directly. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <leptonica/allheaders.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "extract/extract_int.h"
#include "extract_fixtures.h"

#define URL "www.acme-tools-shop.com"

typedef struct {
  pl_arena *a;
  extract_limits lim;
  extract__out o;
  char dir[64];
} run;

static int setup(void **state) {
  run *r = calloc(1, sizeof *r);
  r->a = pl_arena_new();
  r->lim = extract__effective(&(extract_limits){.reader = PARLEY_READER_PROBE,
                                                 .timeout_ms = 60000, .cpu_seconds = 60});
  r->o = (extract__out){.arena = r->a, .lim = &r->lim};
  snprintf(r->dir, sizeof r->dir, "/tmp/parley-reader-test-XXXXXX");
  assert_non_null(mkdtemp(r->dir));
  *state = r;
  return 0;
}

static int teardown(void **state) {
  run *r = *state;
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", r->dir);
  assert_int_equal(system(cmd), 0);
  pl_arena_free(r->a);
  free(r);
  return 0;
}

/* Runs probe p with arg as the file's bytes; returns the collector. */
static extract__out *probe(run *r, extract__probe p, const char *arg) {
  r->o = (extract__out){.arena = r->a, .lim = &r->lim};
  extract_kind k = EXTRACT_TXT;
  extract__spawn((const uint8_t *)arg, strlen(arg),
                 &(extract__job){.ops = EXTRACT_OP_READ, .kind = EXTRACT_TXT, .probe = p},
                 &r->o, &k, NULL);
  return &r->o;
}

static bool said(const extract__out *o, const char *needle) {
  for (size_t i = 0; i < o->nsegs; i++)
    if (strstr(o->segs[i].text, needle)) return true;
  return false;
}

static void dump(const extract__out *o) {
  fprintf(stderr, "reason %s (%s), %zu segments\n", extract_reason_name(o->reason), o->why,
          o->nsegs);
  for (size_t i = 0; i < o->nsegs; i++) fprintf(stderr, "  [%s]\n", o->segs[i].text);
}

/* ---- what a confined reader cannot do ------------------------------------------ */

/* The server's key file, readable by the user both run as: the reader cannot open it,
 * nor any other file, nor stat them, once its data files are loaded. */
static void test_cannot_open_key_file(void **state) {
  run *r = *state;
  char key[128];
  snprintf(key, sizeof key, "%s/parley.db.key", r->dir);
  int fd = open(key, O_WRONLY | O_CREAT | O_EXCL, 0600);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, "SECRET-KEY-MATERIAL", 19), 19);
  close(fd);
  const char *const paths[] = {key, "/etc/passwd", "/proc/self/environ", "/usr/share/misc/magic.mgc"};
  for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
    extract__out *o = probe(r, EXTRACT_PROBE_OPEN, paths[i]);
    if (!said(o, "open failed: Permission denied")) dump(o);
    /* The probe ran to its end (it was confined, not merely dead) and was refused. */
    assert_int_equal(o->reason, EXTRACT_R_NONE);
    assert_true(said(o, "open failed: Permission denied"));
    assert_false(said(o, "opened"));
    assert_false(said(o, "SECRET"));
    /* Nor can it learn that the file exists, or its size. */
    assert_true(said(o, "stat failed: Permission denied"));
  }
}

static void test_cannot_create_file(void **state) {
  run *r = *state;
  char path[128];
  snprintf(path, sizeof path, "%s/dropped", r->dir);
  extract__out *o = probe(r, EXTRACT_PROBE_CREATE, path);
  assert_int_equal(o->reason, EXTRACT_R_NONE);
  assert_true(said(o, "Permission denied"));
  struct stat st;
  assert_int_equal(stat(path, &st), -1);
}

/* A listening socket on loopback: the reader's attempt to connect ends the reader
 * (socket() is outside its filter), and nothing ever connects. */
static void test_cannot_open_socket(void **state) {
  run *r = *state;
  int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET};
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t sl = sizeof sa;
  assert_int_equal(bind(ls, (struct sockaddr *)&sa, sizeof sa), 0);
  assert_int_equal(listen(ls, 4), 0);
  assert_int_equal(getsockname(ls, (struct sockaddr *)&sa, &sl), 0);
  char port[16];
  snprintf(port, sizeof port, "%u", ntohs(sa.sin_port));
  extract__out *o = probe(r, EXTRACT_PROBE_SOCKET, port);
  if (o->reason != EXTRACT_R_CRASHED) dump(o);
  assert_int_equal(o->reason, EXTRACT_R_CRASHED);
  assert_non_null(strstr(o->why, "system-call filter"));
  assert_false(said(o, "connect"));
  /* The reader is gone (the spawn waited for it): no connection is pending. */
  struct pollfd pf = {ls, POLLIN, 0};
  assert_int_equal(poll(&pf, 1, 0), 0);
  close(ls);
}

static void test_cannot_exec(void **state) {
  run *r = *state;
  char cmd[256], marker[128];
  snprintf(marker, sizeof marker, "%s/pwned", r->dir);
  snprintf(cmd, sizeof cmd, "echo pwned > %s", marker);
  extract__out *o = probe(r, EXTRACT_PROBE_EXEC, cmd);
  assert_int_equal(o->reason, EXTRACT_R_CRASHED);
  assert_non_null(strstr(o->why, "system-call filter"));
  struct stat st;
  assert_int_equal(stat(marker, &st), -1);
}

/* Nor can code smuggled in by a file be made executable. */
static void test_no_executable_memory(void **state) {
  run *r = *state;
  extract__out *o = probe(r, EXTRACT_PROBE_JIT, "");
  assert_int_equal(o->reason, EXTRACT_R_CRASHED);
  assert_non_null(strstr(o->why, "system-call filter"));
  assert_false(said(o, "mapped"));
}

/* Nothing of the caller's reaches the reader: not a descriptor it left open without
 * close-on-exec, not its environment. */
static void test_nothing_inherited(void **state) {
  run *r = *state;
  char key[128];
  snprintf(key, sizeof key, "%s/open.key", r->dir);
  int fd = open(key, O_RDWR | O_CREAT, 0600); /* no O_CLOEXEC, on purpose */
  assert_true(fd > 2);
  setenv("PARLEY_TEST_SECRET", "hunter2", 1);
  extract__out *o = probe(r, EXTRACT_PROBE_FDS, "");
  if (o->reason != EXTRACT_R_NONE) dump(o);
  assert_true(said(o, "fd 0") && said(o, "fd 1") && said(o, "fd 2"));
  for (int i = 3; i < 64; i++) {
    char want[16];
    snprintf(want, sizeof want, "fd %d", i);
    for (size_t k = 0; k < o->nsegs; k++) assert_string_not_equal(o->segs[k].text, want);
  }
  assert_true(said(o, "environ 0"));
  unsetenv("PARLEY_TEST_SECRET");
  close(fd);
}

/* Whether this process may make user and network namespaces (the reader may then). */
static bool namespaces_allowed(void) {
  pid_t pid = fork();
  if (pid == 0) _exit(unshare(CLONE_NEWUSER | CLONE_NEWNET) == 0 ? 0 : 1);
  int st;
  waitpid(pid, &st, 0);
  return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

static void test_confinement_reported(void **state) {
  run *r = *state;
  extract__out *o = probe(r, EXTRACT_PROBE_FDS, "");
  unsigned must = EXTRACT_CONF_SECCOMP | EXTRACT_CONF_NNP | EXTRACT_CONF_RLIMITS;
  assert_int_equal(o->confined & must, must);
  if (namespaces_allowed())
    assert_true((o->confined & (EXTRACT_CONF_USERNS | EXTRACT_CONF_NETNS)) ==
                (EXTRACT_CONF_USERNS | EXTRACT_CONF_NETNS));
}

/* ---- a reader that dies, or lies, leaves the file unreadable ---------------------- */

static void test_crash_is_unreadable(void **state) {
  run *r = *state;
  extract__out *o = probe(r, EXTRACT_PROBE_ABORT, "");
  assert_int_equal(o->reason, EXTRACT_R_CRASHED);
  assert_non_null(strstr(o->why, "signal 6"));
  o = probe(r, EXTRACT_PROBE_KILL, "");
  assert_int_equal(o->reason, EXTRACT_R_CRASHED);
  assert_non_null(strstr(o->why, "signal 9"));
  /* Through the public API, as the service calls it: PL_EUNREADABLE, "crashed". */
  extract_doc doc;
  pl_detail d = {0};
  r->lim.reader = "/nonexistent/parley-reader";
  assert_int_equal(extract_text((const uint8_t *)"hello", 5, EXTRACT_TXT, &r->lim, r->a, &doc, &d),
                   PL_EUNREADABLE);
  assert_int_equal(doc.reason, EXTRACT_R_CRASHED);
  /* A crash while sniffing: no kind, the file is refused as unreadable. */
  extract_kind k;
  assert_int_equal(extract_sniff((const uint8_t *)"hello", 5, &r->lim, &k, &d), PL_EUNREADABLE);
  assert_int_equal(k, EXTRACT_UNSUPPORTED);
}

static void test_cpu_cap(void **state) {
  run *r = *state;
  r->lim.cpu_seconds = 1;
  extract__out *o = probe(r, EXTRACT_PROBE_SPIN, "");
  assert_int_equal(o->reason, EXTRACT_R_TIMEOUT);
  assert_non_null(strstr(o->why, "CPU"));
}

static void test_answer_bounded(void **state) {
  run *r = *state;
  /* An answer without end is cut at its bound (text cap x 2 + 1 MiB) and the reader
   * killed. */
  r->lim.max_text = 1000;
  extract__out *o = probe(r, EXTRACT_PROBE_FLOOD, "");
  assert_int_equal(o->reason, EXTRACT_R_CRASHED);
  assert_non_null(strstr(o->why, "more than it may"));
  /* A frame claiming four billion segments is refused before anything is allocated. */
  o = probe(r, EXTRACT_PROBE_LIE, "");
  assert_int_equal(o->reason, EXTRACT_R_CRASHED);
  assert_non_null(strstr(o->why, "malformed"));
}

/* The parser on forged answers. */
static void test_answer_parser(void **state) {
  run *r = *state;
  r->lim.max_text = 64;
  extract__out src = {.arena = r->a, .lim = &r->lim, .pages = 3};
  extract__add(&src, 1, EXTRACT_SRC_LINK, "https://shop.example", 20);
  extract__buf b = {0};
  extract__ans_sniff(&b, PL_OK, EXTRACT_PDF, "");
  extract__ans_read(&b, &src, EXTRACT_CONF_SECCOMP);
  bool gs, gr;
  pl_err rc;
  extract_kind k;
  char msg[64];
  unsigned conf;
  extract__out o = {.arena = r->a, .lim = &r->lim};
  assert_true(extract__ans_parse(b.p, b.n, &o, &gs, &rc, &k, msg, sizeof msg, &gr, &conf));
  assert_true(gs && gr);
  assert_int_equal(k, EXTRACT_PDF);
  assert_int_equal(o.nsegs, 1);
  assert_int_equal(o.segs[0].source, EXTRACT_SRC_LINK);
  assert_int_equal(o.pages, 3);
  /* Every cut of a valid answer is malformed or lacks a frame; none is read past. */
  for (size_t n = 0; n < b.n; n++) {
    uint8_t *cut = malloc(n ? n : 1);
    memcpy(cut, b.p, n);
    extract__out c = {.arena = r->a, .lim = &r->lim};
    bool ok = extract__ans_parse(cut, n, &c, &gs, &rc, &k, msg, sizeof msg, &gr, &conf);
    assert_true(!ok || !gr);
    free(cut);
  }
  /* Forged fields: a reason out of range, a source out of range, a segment longer
   * than its frame, a sniff that says OK for "unsupported". */
  size_t sniff_len = 8 + 12; /* the SNIFF frame: header, rc, kind, empty message */
  uint8_t *f = malloc(b.n);
  memcpy(f, b.p, b.n);
  f[sniff_len + 8] = 99; /* READ: reason */
  extract__out c = {.arena = r->a, .lim = &r->lim};
  assert_false(extract__ans_parse(f, b.n, &c, &gs, &rc, &k, msg, sizeof msg, &gr, &conf));
  memcpy(f, b.p, b.n);
  f[12] = 0; /* SNIFF: kind "unsupported" with PL_OK */
  assert_false(extract__ans_parse(f, b.n, &c, &gs, &rc, &k, msg, sizeof msg, &gr, &conf));
  memcpy(f, b.p, b.n);
  /* the segment: after READ's header (8) + reason, ocr, conf, pages, why len (20) +
   * nsegs (4) come page, source, len */
  size_t seg = sniff_len + 8 + 20 + 4;
  f[seg + 4] = 77; /* source */
  assert_false(extract__ans_parse(f, b.n, &c, &gs, &rc, &k, msg, sizeof msg, &gr, &conf));
  memcpy(f, b.p, b.n);
  f[seg + 8 + 3] = 0x7F; /* len: two billion */
  assert_false(extract__ans_parse(f, b.n, &c, &gs, &rc, &k, msg, sizeof msg, &gr, &conf));
  free(f);
  /* Text beyond the cap is cut to it, whatever the reader claimed. */
  char big[200];
  memset(big, 'x', sizeof big);
  extract__out huge = {.arena = r->a, .lim = &(extract_limits){.max_text = 1000}};
  extract__add(&huge, 0, EXTRACT_SRC_TEXT, big, sizeof big);
  extract__buf hb = {0};
  extract__ans_read(&hb, &huge, 0);
  extract__out capped = {.arena = r->a, .lim = &r->lim};
  assert_true(extract__ans_parse(hb.p, hb.n, &capped, &gs, &rc, &k, msg, sizeof msg, &gr, &conf));
  assert_int_equal(capped.bytes, 64);
  assert_int_equal(capped.reason, EXTRACT_R_LIMIT);
  free(hb.p);
  free(b.p);
}

/* ---- the production reader -------------------------------------------------------- */

static void test_production_refuses_probes(void **state) {
  run *r = *state;
  r->lim.reader = NULL; /* $PARLEY_READER: the production build */
  extract__out *o = probe(r, EXTRACT_PROBE_FDS, "");
  assert_int_equal(o->reason, EXTRACT_R_CRASHED);
  assert_non_null(strstr(o->why, "status 5"));
  assert_int_equal(o->nsegs, 0);
}

/* The logo as a picture of format fmt (Leptonica's IFF_*). */
static uint8_t *logo_as(int fmt, size_t *len) {
  size_t pn;
  uint8_t *png = fx_logo_png(URL, 28, false, &pn);
  PIX *pix = pixReadMem(png, pn);
  free(png);
  assert_non_null(pix);
  if (fmt == IFF_GIF || fmt == IFF_TIFF_G4) {
    PIX *t = pixConvertTo8(pix, 0);
    pixDestroy(&pix);
    pix = t;
  }
  uint8_t *out = NULL;
  assert_int_equal(pixWriteMem(&out, len, pix, fmt), 0);
  pixDestroy(&pix);
  return out;
}

/* Every accepted kind through the production reader, sniffed and read in one run. */
static void test_every_kind(void **state) {
  run *r = *state;
  r->lim.reader = NULL;
  r->lim.ocr_langs = "eng";
  static const struct {
    int fmt;
    const char *name;
    extract_kind kind;
  } images[] = {{IFF_PNG, "logo.png", EXTRACT_PNG},
                {IFF_JFIF_JPEG, "logo.jpg", EXTRACT_JPEG},
                {IFF_GIF, "logo.gif", EXTRACT_GIF},
                {IFF_BMP, "logo.bmp", EXTRACT_BMP},
                {IFF_TIFF_ZIP, "logo.tif", EXTRACT_TIFF}};
  extract_doc doc;
  pl_detail d = {0};
  for (size_t i = 0; i < sizeof images / sizeof images[0]; i++) {
    size_t n;
    uint8_t *img = logo_as(images[i].fmt, &n);
    pl_err rc = extract_file(img, n, images[i].name, &r->lim, r->a, &doc, &d);
    if (rc != PL_OK || !fx_has(&doc, EXTRACT_SRC_OCR, URL, NULL)) {
      fprintf(stderr, "%s: %s %s\n", images[i].name, pl_errname(rc), d.msg);
      fx_dump(&doc);
    }
    assert_int_equal(rc, PL_OK);
    assert_int_equal(doc.kind, images[i].kind);
    assert_true(fx_has(&doc, EXTRACT_SRC_OCR, URL, NULL));
    lept_free(img);
  }
  /* Documents, with the logo inside: read twice, the second time with OCR loaded. */
  size_t pn, n;
  uint8_t *png = fx_logo_png(URL, 32, false, &pn);
  static const char *const lines[] = {"Invoice 77", NULL};
  uint8_t *pdf = fx_pdf(&(fx_pdf_spec){.lines = lines, .logo_png = png, .logo_len = pn}, &n);
  assert_int_equal(extract_file(pdf, n, "invoice.pdf", &r->lim, r->a, &doc, &d), PL_OK);
  assert_int_equal(doc.kind, EXTRACT_PDF);
  assert_true(fx_has(&doc, EXTRACT_SRC_TEXT, "Invoice 77", NULL));
  assert_true(fx_has(&doc, EXTRACT_SRC_OCR, URL, NULL));
  free(pdf);
  uint8_t *docx = fx_docx("Kind regards", NULL, NULL, NULL, png, pn, &n);
  assert_int_equal(extract_file(docx, n, "letter.docx", &r->lim, r->a, &doc, &d), PL_OK);
  assert_int_equal(doc.kind, EXTRACT_DOCX);
  assert_true(fx_has(&doc, EXTRACT_SRC_TEXT, "Kind regards", NULL));
  assert_true(fx_has(&doc, EXTRACT_SRC_OCR, URL, NULL));
  free(docx);
  free(png);
  const char *txt = "Visit www.example-shop.com";
  assert_int_equal(extract_file((const uint8_t *)txt, strlen(txt), "a.txt", &r->lim, r->a, &doc, &d),
                   PL_OK);
  assert_int_equal(doc.kind, EXTRACT_TXT);
  assert_true(fx_has(&doc, EXTRACT_SRC_TEXT, "www.example-shop.com", NULL));
}

int main(void) {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
  const struct CMUnitTest tests[] = {
      T(test_cannot_open_key_file), T(test_cannot_create_file), T(test_cannot_open_socket),
      T(test_cannot_exec),          T(test_no_executable_memory), T(test_nothing_inherited),  T(test_confinement_reported),
      T(test_crash_is_unreadable),  T(test_cpu_cap),            T(test_answer_bounded),
      T(test_answer_parser),        T(test_production_refuses_probes), T(test_every_kind),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
