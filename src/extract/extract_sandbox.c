/* extract_sandbox.c - reading a file in a forked child under memory, CPU and
 * wall-clock limits, its segments piped back to the caller.
 *
 * Why a process and not a thread: poppler, libzip and Tesseract cannot be cancelled
 * midway, and a hostile file can make them loop, allocate without bound or crash.
 * A child can be killed at the deadline, its address space is capped with
 * RLIMIT_AS, its CPU with RLIMIT_CPU, and its death costs the service one upload.
 *
 * fork() in a threaded server: the child calls only the readers, which allocate with
 * malloc (fork-safe in glibc) and initialise their libraries afresh, because the
 * parent never runs them (unless it uses in_process). The parent must not set
 * SIGCHLD to SIG_IGN, or the child's status is lost (the file is then held as
 * crashed). */
#define _GNU_SOURCE
#include "extract/extract_int.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define EXTRACT_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define EXTRACT_ASAN 1
#endif
#endif

#define WIRE_MAGIC 0x31545850u /* "PXT1" */

/* ---- the wire format: u32 little-endian fields --------------------------------
 *   magic, reason, pages, why_len, why[why_len], nsegs,
 *   nsegs x (page, source, len, text[len])                                        */

typedef struct {
  uint8_t *p;
  size_t n, cap;
} wbuf;

static void w_bytes(wbuf *b, const void *s, size_t n) {
  if (b->n + n > b->cap) {
    b->cap = (b->n + n) * 2 + 256;
    b->p = pl_xrealloc(b->p, b->cap);
  }
  memcpy(b->p + b->n, s, n);
  b->n += n;
}

static void w_u32(wbuf *b, uint32_t v) {
  uint8_t x[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
  w_bytes(b, x, 4);
}

static void serialise(const extract__out *o, wbuf *b) {
  size_t why = strlen(o->why);
  w_u32(b, WIRE_MAGIC);
  w_u32(b, (uint32_t)o->reason);
  w_u32(b, o->pages);
  w_u32(b, (uint32_t)why);
  w_bytes(b, o->why, why);
  w_u32(b, (uint32_t)o->nsegs);
  for (size_t i = 0; i < o->nsegs; i++) {
    w_u32(b, o->segs[i].page);
    w_u32(b, (uint32_t)o->segs[i].source);
    w_u32(b, (uint32_t)o->segs[i].len);
    w_bytes(b, o->segs[i].text, o->segs[i].len);
  }
}

typedef struct {
  const uint8_t *p;
  size_t n, at;
  bool bad;
} rbuf;

static uint32_t r_u32(rbuf *r) {
  if (r->n - r->at < 4) {
    r->bad = true;
    return 0;
  }
  const uint8_t *x = r->p + r->at;
  r->at += 4;
  return (uint32_t)x[0] | (uint32_t)x[1] << 8 | (uint32_t)x[2] << 16 | (uint32_t)x[3] << 24;
}

static const char *r_bytes(rbuf *r, size_t n) {
  if (r->bad || r->n - r->at < n) {
    r->bad = true;
    return NULL;
  }
  const char *s = (const char *)r->p + r->at;
  r->at += n;
  return s;
}

/* Segments and status from the child, checked as untrusted input (the child may have
 * been corrupted by the file it read). */
static bool deserialise(const uint8_t *p, size_t n, extract__out *o) {
  rbuf r = {p, n, 0, false};
  if (r_u32(&r) != WIRE_MAGIC) return false;
  uint32_t reason = r_u32(&r), pages = r_u32(&r), why_len = r_u32(&r);
  const char *why = r_bytes(&r, why_len);
  uint32_t nsegs = r_u32(&r);
  if (r.bad || reason > EXTRACT_R_NO_OCR) return false;
  for (uint32_t i = 0; i < nsegs && !r.bad; i++) {
    uint32_t page = r_u32(&r), src = r_u32(&r), len = r_u32(&r);
    const char *text = r_bytes(&r, len);
    if (r.bad || src > EXTRACT_SRC_META) return false;
    extract__add(o, page, (extract_source)src, text, len);
  }
  if (r.bad) return false;
  o->pages = pages;
  if (reason != EXTRACT_R_NONE)
    extract__stop(o, (extract_reason)reason, "%.*s", (int)(why_len < 255 ? why_len : 255), why);
  return true;
}

/* ---- the child --------------------------------------------------------------- */

static void write_all(int fd, const uint8_t *p, size_t n) {
  while (n) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) _exit(3);
    p += w, n -= (size_t)w;
  }
}

static void limit(int res, rlim_t soft, rlim_t hard) {
  struct rlimit rl = {soft, hard};
  setrlimit(res, &rl);
}

#ifndef EXTRACT_ASAN
/* This process's virtual size in bytes, from /proc/self/statm (0 if unknown). */
static rlim_t address_space_now(void) {
  char buf[128] = {0};
  int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return 0;
  return (rlim_t)strtoull(buf, NULL, 10) * (rlim_t)sysconf(_SC_PAGESIZE);
}
#endif

static _Noreturn void child(const uint8_t *data, size_t len, extract_kind kind,
                            const extract_limits *lim, int wfd) {
  /* Only the result pipe stays open: the server's sockets and files are none of the
   * reader's business. */
  if (wfd != 3) {
    if (dup2(wfd, 3) < 0) _exit(3);
    wfd = 3;
  }
  int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (devnull >= 0) {
    dup2(devnull, 0);
    dup2(devnull, 1);
#ifndef EXTRACT_ASAN
    /* poppler and Tesseract complain on stderr about every damaged file; a hostile
     * upload would fill the service's log. PARLEY_EXTRACT_DEBUG keeps the messages. */
    if (!getenv("PARLEY_EXTRACT_DEBUG")) dup2(devnull, 2);
#endif
  }
  close_range(4, ~0U, 0);
  signal(SIGPIPE, SIG_DFL);
  limit(RLIMIT_CORE, 0, 0);
  limit(RLIMIT_CPU, lim->cpu_seconds, lim->cpu_seconds + 1);
#ifndef EXTRACT_ASAN
  /* AddressSanitizer reserves terabytes of shadow address space; under it the memory
   * cap is left to the sanitizer's own checks. The cap is on top of what the child
   * inherits: a server's thread stacks and malloc arenas can reserve a gigabyte of
   * address space they never touch. */
  rlim_t cap = lim->max_memory + address_space_now();
  limit(RLIMIT_AS, cap, cap);
#endif
  /* One malloc arena: each thread's arena reserves 64 MiB of address space, which the
   * RLIMIT_AS cap would spend on Tesseract's OpenMP threads. */
  mallopt(M_ARENA_MAX, 1);

  pl_arena *a = pl_arena_new();
  extract__out o = {.arena = a, .lim = lim, .forked = true};
  extract__run(data, len, kind, &o);
  wbuf b = {0};
  serialise(&o, &b);
  write_all(wfd, b.p, b.n);
  _exit(0);
}

/* ---- the parent -------------------------------------------------------------- */

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void extract__sandboxed(const uint8_t *data, size_t len, extract_kind kind,
                        extract__out *o) {
  const extract_limits *lim = o->lim;
  /* Every kind but plain text and legacy Word may hold an image to read. */
  if (kind != EXTRACT_TXT && kind != EXTRACT_DOC) extract__ocr_prewarm(lim);
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    extract__stop(o, EXTRACT_R_CRASHED, "cannot create a pipe: %s", strerror(errno));
    return;
  }
  fflush(NULL); /* buffered output must not be written twice */
  pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]), close(fds[1]);
    extract__stop(o, EXTRACT_R_CRASHED, "cannot start the reader: %s", strerror(errno));
    return;
  }
  if (pid == 0) {
    close(fds[0]);
    child(data, len, kind, lim, fds[1]);
  }
  close(fds[1]);

  /* The child's answer is its text plus a little framing; more is a broken child. */
  size_t max_wire = lim->max_text * 2 + ((size_t)1 << 20);
  wbuf b = {0};
  int64_t deadline = now_ms() + lim->timeout_ms;
  bool timed_out = false, overflow = false;
  for (;;) {
    int64_t left = deadline - now_ms();
    if (left <= 0) {
      timed_out = true;
      break;
    }
    struct pollfd pfd = {fds[0], POLLIN, 0};
    int pr = poll(&pfd, 1, (int)left);
    if (pr < 0 && errno == EINTR) continue;
    if (pr <= 0) continue; /* the deadline check above ends the loop */
    uint8_t chunk[65536];
    ssize_t r = read(fds[0], chunk, sizeof chunk);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    if (b.n + (size_t)r > max_wire) {
      overflow = true;
      break;
    }
    w_bytes(&b, chunk, (size_t)r);
  }
  close(fds[0]);

  /* The child exits right after writing; wait for it within the same deadline. */
  int status = 0;
  pid_t w;
  while ((w = waitpid(pid, &status, WNOHANG)) == 0 && !timed_out && !overflow) {
    if (now_ms() >= deadline) {
      timed_out = true;
      break;
    }
    struct timespec ts = {0, 1000000};
    nanosleep(&ts, NULL);
  }
  if (w == 0) {
    kill(pid, SIGKILL);
    while ((w = waitpid(pid, &status, 0)) < 0 && errno == EINTR) {
    }
  }

  if (timed_out) {
    extract__stop(o, EXTRACT_R_TIMEOUT, "reading took longer than %u ms", lim->timeout_ms);
  } else if (overflow) {
    extract__stop(o, EXTRACT_R_CRASHED, "the reader sent more than it may");
  } else if (w < 0) {
    extract__stop(o, EXTRACT_R_CRASHED, "the reader's status is lost: %s", strerror(errno));
  } else if (WIFSIGNALED(status)) {
    int sig = WTERMSIG(status);
    if (sig == SIGXCPU || sig == SIGKILL)
      extract__stop(o, EXTRACT_R_TIMEOUT, "reading used more than %u s of CPU",
                    lim->cpu_seconds);
    else
      extract__stop(o, EXTRACT_R_CRASHED,
                    "the reader died of signal %d (memory cap or a damaged file)", sig);
  } else if (WEXITSTATUS(status) != 0) {
    extract__stop(o, EXTRACT_R_CRASHED, "the reader failed with status %d",
                  WEXITSTATUS(status));
  } else if (!deserialise(b.p, b.n, o)) {
    extract__stop(o, EXTRACT_R_CRASHED, "the reader's answer is malformed");
  }
  free(b.p);
}
