/* extract_reader_main.c - parley-reader: the program that parses one untrusted
 * attachment and exits.
 *
 * The server (extract_spawn.c) starts it fresh for every file, with a clean
 * environment and three descriptors: the request on 0, the answer on 1, stderr (or
 * /dev/null) on 2. It holds nothing of the server's: no keys, no database, no
 * sockets. In order, it
 *   1. confines what needs a single thread: namespaces, rlimits (extract__confine_begin);
 *   2. reads the request: the job, the limits and the file (extract_wire.c);
 *   3. loads the data files the job needs: libmagic's database, and Tesseract's
 *      language data only when the server says the file needs OCR;
 *   4. seals itself: CPU and memory caps, no new privileges, the seccomp filter
 *      (extract__confine_seal). A reader that cannot install its filter stops here;
 *   5. sniffs and/or reads, with the same code as in process (extract.c and the
 *      readers), and writes a SNIFF and a READ frame to fd 1.
 * Whatever goes wrong after step 4 ends in a crash, a signal or a malformed answer,
 * which the server turns into "unreadable": the file is held for review.
 *
 * Test builds (PARLEY_READER_PROBES, the parley-reader-probe target of tests/) add
 * probes: after step 4 they try what a compromised reader would (open the key file,
 * connect, exec, crash, flood), so that the unit tests prove the confinement on the
 * same code, and a file beginning "PARLEY-PROBE:abort" crashes it after the sniff (the
 * service's tests). The production build refuses a job that names a probe and has no
 * such file. */
#define _GNU_SOURCE
#include "extract/extract_int.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <poppler.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef PARLEY_READER_PROBES
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#endif

#if defined(__SANITIZE_ADDRESS__)
#define EXTRACT_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define EXTRACT_ASAN 1
#endif
#endif

#ifdef EXTRACT_ASAN
/* The reader ends with _exit, which skips the leak check (LeakSanitizer would need
 * ptrace, which the filter forbids), and must not run a symbolizer (execve). */
const char *__asan_default_options(void);
const char *__asan_default_options(void) { return "detect_leaks=0:symbolize=0"; }
#endif

/* Exit statuses the server reports as "failed with status N". */
enum { EXIT_REQUEST = 2, EXIT_CONFINE = 3, EXIT_WRITE = 4, EXIT_PROBE = 5 };

static void write_all(int fd, const uint8_t *p, size_t n) {
  while (n) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) _exit(EXIT_WRITE);
    p += w, n -= (size_t)w;
  }
}

/* The request: its header, then exactly the file's bytes. */
static uint8_t *read_request(pl_arena *a, extract__job *job, extract_limits *lim,
                             size_t *len) {
  extract__buf b = {0};
  long hdr = 0;
  size_t want = 0;
  for (;;) {
    if (hdr > 0 && b.n >= want) break;
    uint8_t chunk[65536];
    size_t room = hdr > 0 ? want - b.n : sizeof chunk;
    ssize_t r = read(0, chunk, room < sizeof chunk ? room : sizeof chunk);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) _exit(EXIT_REQUEST); /* cut short */
    extract__buf_put(&b, chunk, (size_t)r);
    if (hdr == 0) {
      hdr = extract__req_parse(b.p, b.n, a, job, lim, len);
      if (hdr < 0) _exit(EXIT_REQUEST);
      if (hdr > 0) {
        if (*len > lim->max_bytes) _exit(EXIT_REQUEST);
        want = (size_t)hdr + *len;
        if (b.n > want) _exit(EXIT_REQUEST);
      }
    }
  }
  uint8_t *data = pl_arena_alloc(a, *len + 1);
  memcpy(data, b.p + hdr, *len);
  free(b.p);
  return data;
}

/* poppler builds its global state (encoding tables, font set-up) at the first
 * document; a tiny one, before the filter, lets it open what it needs. */
static void poppler_preload(void) {
  static const char pdf[] =
      "%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
      "2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
      "3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 10 10]>>endobj\n"
      "trailer<</Root 1 0 R>>\n%%EOF\n";
  GBytes *bytes = g_bytes_new_static(pdf, sizeof pdf - 1);
  PopplerDocument *doc = poppler_document_new_from_bytes(bytes, NULL, NULL);
  if (doc) {
    PopplerPage *pg = poppler_document_get_page(doc, 0);
    if (pg) {
      char *t = poppler_page_get_text(pg);
      g_free(t);
      g_object_unref(pg);
    }
    g_object_unref(doc);
  }
  g_bytes_unref(bytes);
}

#ifdef PARLEY_READER_PROBES
/* Each probe reports what it achieved as text segments of a READ frame, or dies
 * trying (which is the point). */
static void probe(const extract__job *job, const uint8_t *data, size_t len,
                  extract__out *o) {
  char what[4096], line[512];
  snprintf(what, sizeof what, "%.*s", (int)(len < sizeof what ? len : sizeof what - 1),
           (const char *)data);
  switch (job->probe) {
  case EXTRACT_PROBE_OPEN: {
    struct stat st;
    if (stat(what, &st) == 0)
      snprintf(line, sizeof line, "stat ok: %lld bytes", (long long)st.st_size);
    else
      snprintf(line, sizeof line, "stat failed: %s", strerror(errno));
    extract__add(o, 0, EXTRACT_SRC_TEXT, line, strlen(line));
    int fd = open(what, O_RDONLY);
    if (fd < 0) {
      snprintf(line, sizeof line, "open failed: %s", strerror(errno));
      extract__add(o, 0, EXTRACT_SRC_TEXT, line, strlen(line));
      break;
    }
    char buf[4096];
    ssize_t n = read(fd, buf, sizeof buf);
    extract__add(o, 0, EXTRACT_SRC_TEXT, "opened", 6);
    if (n > 0) extract__add(o, 0, EXTRACT_SRC_TEXT, buf, (size_t)n);
    break;
  }
  case EXTRACT_PROBE_CREATE: {
    int fd = open(what, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    snprintf(line, sizeof line, "%s", fd < 0 ? strerror(errno) : "created");
    if (fd >= 0) (void)!write(fd, "x", 1);
    extract__add(o, 0, EXTRACT_SRC_TEXT, line, strlen(line));
    break;
  }
  case EXTRACT_PROBE_SOCKET: {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(what))};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int rc = s < 0 ? -1 : connect(s, (struct sockaddr *)&sa, sizeof sa);
    snprintf(line, sizeof line, "socket %d connect %d: %s", s, rc, strerror(errno));
    extract__add(o, 0, EXTRACT_SRC_TEXT, line, strlen(line));
    break;
  }
  case EXTRACT_PROBE_EXEC: {
    char *argv[] = {(char *)"sh", (char *)"-c", what, NULL};
    char *envp[] = {NULL};
    execve("/bin/sh", argv, envp);
    snprintf(line, sizeof line, "execve failed: %s", strerror(errno));
    extract__add(o, 0, EXTRACT_SRC_TEXT, line, strlen(line));
    break;
  }
  case EXTRACT_PROBE_ABORT: abort();
  case EXTRACT_PROBE_KILL: raise(SIGKILL); break;
  case EXTRACT_PROBE_FLOOD: {
    static uint8_t junk[65536];
    memset(junk, 'A', sizeof junk);
    for (;;) write_all(1, junk, sizeof junk);
  }
  case EXTRACT_PROBE_LIE: {
    /* A READ frame that claims four billion segments in a few bytes. */
    static const uint8_t lie[] = {'P', 'X', 'R', '1', 24, 0, 0, 0, /* tag, size */
                                  0, 0, 0, 0, 0, 0, 0, 0,             /* reason, ocr */
                                  0, 0, 0, 0, 0, 0, 0, 0,             /* confined, pages */
                                  0, 0, 0, 0,                         /* why: "" */
                                  0xFF, 0xFF, 0xFF, 0xFF};            /* nsegs */
    write_all(1, lie, sizeof lie);
    _exit(0);
  }
  case EXTRACT_PROBE_FDS: {
    int n = 0;
    for (int fd = 0; fd < 1024; fd++)
      if (fcntl(fd, F_GETFD) >= 0) {
        snprintf(line, sizeof line, "fd %d", fd);
        extract__add(o, 0, EXTRACT_SRC_TEXT, line, strlen(line));
      }
    extern char **environ;
    for (char **e = environ; e && *e; e++) n++;
    snprintf(line, sizeof line, "environ %d", n);
    extract__add(o, 0, EXTRACT_SRC_TEXT, line, strlen(line));
    break;
  }
  case EXTRACT_PROBE_JIT: {
    void *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS,
                   -1, 0);
    snprintf(line, sizeof line, "mmap exec: %s", m == MAP_FAILED ? strerror(errno) : "mapped");
    extract__add(o, 0, EXTRACT_SRC_TEXT, line, strlen(line));
    break;
  }
  case EXTRACT_PROBE_SPIN:
    for (volatile unsigned long i = 0;; i++) {
    }
  case EXTRACT_PROBE_NONE: break;
  }
}
#endif

int main(void) {
  unsigned conf = extract__confine_begin();
  pl_arena *a = pl_arena_new();
  extract__job job;
  extract_limits lim;
  size_t len;
  uint8_t *data = read_request(a, &job, &lim, &len);
#ifndef PARLEY_READER_PROBES
  if (job.probe != EXTRACT_PROBE_NONE) _exit(EXIT_PROBE);
#endif
  /* One malloc arena: each thread's arena reserves 64 MiB of address space, which the
   * memory cap would spend on Tesseract's OpenMP threads. */
  mallopt(M_ARENA_MAX, 1);

  /* Everything that opens a file, now: the filter forbids it from here on. */
  if (job.ops & EXTRACT_OP_SNIFF) extract__magic_preload();
  if (job.ops & EXTRACT_OP_READ) {
    poppler_preload();
    if (job.ocr) extract__ocr_prewarm(&lim);
  }
  conf |= extract__confine_seal(&lim);
  if (!(conf & EXTRACT_CONF_SECCOMP)) _exit(EXIT_CONFINE); /* never read unconfined */

  extract__out o = {.arena = a, .lim = &lim, .reader = true, .ocr_preloaded = job.ocr};
  extract__buf ans = {0};
#ifdef PARLEY_READER_PROBES
  if (job.probe != EXTRACT_PROBE_NONE) {
    probe(&job, data, len, &o);
    extract__ans_read(&ans, &o, conf);
    write_all(1, ans.p, ans.n);
    _exit(0);
  }
#endif
  extract_kind kind = job.kind;
  if (job.ops & EXTRACT_OP_SNIFF) {
    pl_detail d = {0};
    pl_err rc = extract__sniff_here(data, len, &kind, &d);
    extract__ans_sniff(&ans, rc, kind, rc ? d.msg : "");
    /* Sent now: should reading crash, the server knows what the file is. */
    write_all(1, ans.p, ans.n);
    ans.n = 0;
    if (rc != PL_OK) _exit(0);
  }
  if (job.ops & EXTRACT_OP_READ) {
#ifdef PARLEY_READER_PROBES
    /* A file that crashes its reader after the sniff, for the tests of the service
     * (which cannot ask for probes): the file must be kept, and held. */
    if (len >= 18 && !memcmp(data, "PARLEY-PROBE:abort", 18)) abort();
#endif
    extract__run(data, len, kind, &o);
    extract__ans_read(&ans, &o, conf);
    write_all(1, ans.p, ans.n);
  }
  _exit(0);
}
