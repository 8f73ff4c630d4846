/* extract_spawn.c - the server's side of parley-reader: start it fresh for one file,
 * feed it the request, collect its answer within the deadline and the size bound, and
 * turn whatever happened to it into a verdict.
 *
 * Why a program of its own rather than a fork of the server: a forked child holds a
 * copy of everything the server has in memory (the address and token keys among it)
 * and every descriptor it did not close; an exec'd program holds nothing but its two
 * pipes. posix_spawn starts it without copying the server's page tables, and is safe
 * from any thread. The reader confines itself (extract_reader_confine.c) before it
 * reads a byte of the file; this side trusts nothing it says, and holds the file for
 * review whenever it ends otherwise than with a well-formed answer. */
#define _GNU_SOURCE
#include "extract/extract_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
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

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* lim->reader, else $PARLEY_READER, else parley-reader in the directory of the running
 * program (the build and the installation put them side by side). */
static const char *reader_path(const extract_limits *lim, char *buf, size_t n) {
  if (lim->reader && *lim->reader) return lim->reader;
  const char *env = getenv("PARLEY_READER");
  if (env && *env) return env;
  char self[PATH_MAX];
  ssize_t r = readlink("/proc/self/exe", self, sizeof self - 1);
  if (r <= 0) return "parley-reader";
  self[r] = '\0';
  char *slash = strrchr(self, '/');
  if (slash) *slash = '\0';
  snprintf(buf, n, "%s/parley-reader", slash ? self : ".");
  return buf;
}

/* One line in the server's log per process, and again when it changes: which parts
 * of the confinement the kernel allowed. */
static void log_confinement(unsigned conf, const char *path) {
  static _Atomic unsigned logged = 0;
  unsigned want = conf | 0x80000000u;
  if (atomic_exchange(&logged, want) == want) return;
  fprintf(stderr,
          "parley: attachments are read by %s: seccomp %s, no_new_privs %s, rlimits %s, "
          "namespaces:%s%s%s%s\n",
          path, conf & EXTRACT_CONF_SECCOMP ? "on" : "OFF",
          conf & EXTRACT_CONF_NNP ? "on" : "OFF", conf & EXTRACT_CONF_RLIMITS ? "on" : "OFF",
          conf & EXTRACT_CONF_USERNS ? " user" : "", conf & EXTRACT_CONF_NETNS ? " net" : "",
          conf & EXTRACT_CONF_MOUNTNS ? " mount" : "",
          conf & (EXTRACT_CONF_USERNS | EXTRACT_CONF_NETNS | EXTRACT_CONF_MOUNTNS)
              ? ""
              : " none (the kernel refused them)");
}

/* A descriptor numbered 3 or above, close-on-exec: the reader's 0, 1 and 2 are set by
 * dup2 in the spawn, which must never find its source among them. */
static int high_fd(int fd) {
  if (fd < 0 || fd > 2) return fd;
  int h = fcntl(fd, F_DUPFD_CLOEXEC, 3);
  close(fd);
  return h;
}

typedef struct {
  bool timed_out, overflow, spawn_failed, bad_status, sigsys;
  int status;
  long cpu_ms; /* CPU the reader used, user + system */
  char why[160];
} run_end;

/* Runs one reader: writes hdr and data to its stdin, collects its stdout into *ans
 * (at most max_ans bytes), until EOF and its exit, or the deadline. */
static void run_reader(const char *path, const extract__buf *hdr, const uint8_t *data,
                       size_t len, int64_t deadline, size_t max_ans, extract__buf *ans,
                       run_end *end) {
  int in[2] = {-1, -1}, out[2] = {-1, -1};
  memset(end, 0, sizeof *end);
  if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC)) {
    snprintf(end->why, sizeof end->why, "cannot create a pipe: %s", strerror(errno));
    end->spawn_failed = true;
    goto out;
  }
  for (int i = 0; i < 2; i++) in[i] = high_fd(in[i]), out[i] = high_fd(out[i]);

  posix_spawn_file_actions_t fa;
  posix_spawnattr_t at;
  posix_spawn_file_actions_init(&fa);
  posix_spawnattr_init(&at);
  posix_spawn_file_actions_adddup2(&fa, in[0], 0);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  /* poppler and Tesseract complain on stderr about every damaged file; a hostile
   * upload would fill the log. PARLEY_EXTRACT_DEBUG (and a sanitizer build, whose
   * reports matter) keeps the server's stderr. */
  bool keep_stderr = getenv("PARLEY_EXTRACT_DEBUG") != NULL;
#ifdef EXTRACT_ASAN
  keep_stderr = true;
#endif
  if (!keep_stderr) posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addclosefrom_np(&fa, 3);
  /* The server ignores SIGPIPE and may block signals in its threads; the reader
   * starts with neither. */
  sigset_t none, defaults;
  sigemptyset(&none);
  sigemptyset(&defaults);
  int sigs[] = {SIGPIPE, SIGCHLD, SIGXCPU, SIGXFSZ, SIGSYS, SIGINT, SIGTERM, SIGHUP};
  for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) sigaddset(&defaults, sigs[i]);
  posix_spawnattr_setsigmask(&at, &none);
  posix_spawnattr_setsigdefault(&at, &defaults);
  posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
                                    POSIX_SPAWN_SETPGROUP);
  char *argv[] = {(char *)"parley-reader", NULL};
  char *envp[] = {NULL}; /* a clean environment: nothing of the server's */
  pid_t pid;
  int rc = posix_spawn(&pid, path, &fa, &at, argv, envp);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&at);
  close(in[0]), close(out[1]);
  in[0] = out[1] = -1;
  if (rc != 0) {
    snprintf(end->why, sizeof end->why, "cannot start the reader %.100s: %s", path,
             strerror(rc));
    end->spawn_failed = true;
    goto out;
  }

  /* A reader that dies before taking all of its input must not take the caller down
   * with SIGPIPE (tests and tools do not ignore it as the server does). */
  sigset_t pipe_set, old_mask;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_set, &old_mask);
  bool epipe = false;
  fcntl(in[1], F_SETFL, O_NONBLOCK);
  size_t sent = 0, total = hdr->n + len;
  for (;;) {
    int64_t left = deadline - now_ms();
    if (left <= 0) {
      end->timed_out = true;
      break;
    }
    struct pollfd pf[2] = {{out[0], POLLIN, 0}, {in[1], POLLOUT, 0}};
    int npf = in[1] >= 0 ? 2 : 1;
    int pr = poll(pf, (nfds_t)npf, (int)(left < INT_MAX ? left : INT_MAX));
    if (pr < 0 && errno != EINTR) break;
    if (pr <= 0) continue;
    if (npf == 2 && pf[1].revents) {
      const uint8_t *p = sent < hdr->n ? hdr->p + sent : data + (sent - hdr->n);
      size_t n = sent < hdr->n ? hdr->n - sent : total - sent;
      ssize_t w = -1;
      int err = EPIPE; /* POLLERR or POLLHUP alone: the reader closed its end */
      if (pf[1].revents & POLLOUT) {
        w = write(in[1], p, n);
        err = errno;
      }
      if (w > 0) sent += (size_t)w;
      if (w < 0 && err == EPIPE) epipe = true;
      if ((w < 0 && err != EAGAIN && err != EINTR) || sent == total) {
        close(in[1]); /* all of it, or the reader stopped reading: EOF either way */
        in[1] = -1;
      }
    }
    if (pf[0].revents) {
      uint8_t chunk[65536];
      ssize_t r = read(out[0], chunk, sizeof chunk);
      if (r < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (r <= 0) break; /* EOF: the reader is done, or dead */
      if (ans->n + (size_t)r > max_ans) {
        end->overflow = true;
        break;
      }
      extract__buf_put(ans, chunk, (size_t)r);
    }
  }
  if (epipe) {
    /* Consume the SIGPIPE this thread raised, so that unblocking does not deliver it. */
    struct timespec zero = {0, 0};
    while (sigtimedwait(&pipe_set, NULL, &zero) < 0 && errno == EINTR) {
    }
  }
  pthread_sigmask(SIG_SETMASK, &old_mask, NULL);

  /* It exits right after its answer; wait for that within the same deadline. */
  pid_t w;
  int status = 0;
  struct rusage ru = {0};
  while ((w = wait4(pid, &status, WNOHANG, &ru)) == 0 && !end->timed_out && !end->overflow) {
    if (now_ms() >= deadline) {
      end->timed_out = true;
      break;
    }
    struct timespec ts = {0, 1000000};
    nanosleep(&ts, NULL);
  }
  if (w == 0) {
    kill(pid, SIGKILL);
    while ((w = wait4(pid, &status, 0, &ru)) < 0 && errno == EINTR) {
    }
  }
  if (w < 0) {
    end->bad_status = true;
    snprintf(end->why, sizeof end->why, "the reader's status is lost: %s", strerror(errno));
  }
  end->status = status;
  end->cpu_ms = (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000L +
                (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000L;
out:
  for (int i = 0; i < 2; i++) {
    if (in[i] >= 0) close(in[i]);
    if (out[i] >= 0) close(out[i]);
  }
}

/* The reason a reader that did not answer properly leaves the file with. */
static void verdict(const run_end *end, const extract_limits *lim, const char *path,
                    extract__out *o) {
  if (end->spawn_failed) {
    fprintf(stderr, "parley: %s\n", end->why);
    extract__stop(o, EXTRACT_R_CRASHED, "%s", end->why);
  } else if (end->timed_out) {
    extract__stop(o, EXTRACT_R_TIMEOUT, "reading took longer than %u ms", lim->timeout_ms);
  } else if (end->overflow) {
    extract__stop(o, EXTRACT_R_CRASHED, "the reader sent more than it may");
  } else if (end->bad_status) {
    extract__stop(o, EXTRACT_R_CRASHED, "%s", end->why);
  } else if (WIFSIGNALED(end->status)) {
    int sig = WTERMSIG(end->status);
    /* RLIMIT_CPU sends SIGXCPU, then SIGKILL at the hard limit; a SIGKILL before
     * the reader used its CPU came from elsewhere (the kernel's OOM killer). */
    if (sig == SIGXCPU || (sig == SIGKILL && end->cpu_ms >= (long)lim->cpu_seconds * 1000))
      extract__stop(o, EXTRACT_R_TIMEOUT, "reading used more than %u s of CPU",
                    lim->cpu_seconds);
    else if (sig == SIGSYS)
      extract__stop(o, EXTRACT_R_CRASHED,
                    "the reader was stopped by its system-call filter (signal %d)", sig);
    else
      extract__stop(o, EXTRACT_R_CRASHED,
                    "the reader died of signal %d (memory cap or a damaged file)", sig);
  } else if (WEXITSTATUS(end->status) == 127) {
    fprintf(stderr, "parley: the attachment reader %s cannot be run\n", path);
    extract__stop(o, EXTRACT_R_CRASHED, "the reader %.100s cannot be run", path);
  } else if (WEXITSTATUS(end->status) != 0) {
    extract__stop(o, EXTRACT_R_CRASHED, "the reader failed with status %d",
                  WEXITSTATUS(end->status));
  } else {
    extract__stop(o, EXTRACT_R_CRASHED, "the reader's answer is malformed");
  }
}

pl_err extract__spawn(const uint8_t *data, size_t len, const extract__job *job0,
                      extract__out *o, extract_kind *kind, pl_detail *d) {
  const extract_limits *lim = o->lim;
  char buf[PATH_MAX + 32];
  const char *path = reader_path(lim, buf, sizeof buf);
  extract__job job = *job0;
  /* The answer is the text plus a little framing; more is a broken reader. */
  size_t max_ans = lim->max_text * 2 + ((size_t)1 << 20);
  int64_t deadline = now_ms() + lim->timeout_ms;
  for (int pass = 0; pass < 2; pass++) {
    extract__buf hdr = {0}, ans = {0};
    extract__req_header(&job, lim, len, &hdr);
    run_end end;
    run_reader(path, &hdr, data, len, deadline, max_ans, &ans, &end);
    free(hdr.p);
    bool got_sniff = false, got_read = false;
    unsigned confined = 0;
    pl_err src = PL_OK;
    extract_kind k = EXTRACT_UNSUPPORTED;
    char msg[256] = "";
    bool clean = !end.spawn_failed && !end.timed_out && !end.overflow && !end.bad_status &&
                 WIFEXITED(end.status) && WEXITSTATUS(end.status) == 0;
    /* Frames that came before the reader died still count (the sniff of a file whose
     * reading then crashed); a malformed answer counts for nothing. */
    extract__out tmp = *o;
    bool parsed = extract__ans_parse(ans.p, ans.n, &tmp, &got_sniff, &src, &k, msg,
                                     sizeof msg, &got_read, &confined);
    free(ans.p);
    if (!parsed) got_sniff = got_read = false;
    if (got_read) log_confinement(confined, path);
    tmp.confined = confined;
    if (job.ops & EXTRACT_OP_SNIFF) {
      if (!got_sniff) {
        if (parsed && clean) extract__stop(o, EXTRACT_R_CRASHED, "the reader's answer is incomplete");
        else verdict(&end, lim, path, o);
        *kind = EXTRACT_UNSUPPORTED;
        return pl_fail(d, PL_EUNREADABLE, "the file's type could not be determined (%s): %s",
                       extract_reason_name(o->reason), o->why);
      }
      *kind = k;
      if (src != PL_OK) return pl_fail(d, src, "%s", msg);
      if (!(job.ops & EXTRACT_OP_READ)) return PL_OK;
    }
    if (got_read && !tmp.need_ocr) {
      *o = tmp;
      if (!clean) verdict(&end, lim, path, o); /* it answered, then died: held all the same */
      return PL_OK;
    }
    if (!got_read || !clean) {
      *o = tmp;
      if (parsed && clean) extract__stop(o, EXTRACT_R_CRASHED, "the reader's answer is incomplete");
      else verdict(&end, lim, path, o);
      return PL_OK;
    }
    /* The reader met an image and had no OCR engine. The engine is loaded only for a
     * file that turns out to need it: a document without images never does, and an
     * image only once it has decoded, so that a damaged or hostile picture is refused
     * without paying for the language data, which take longer to load than most files
     * take to read. Again, with OCR, within the same deadline. */
    if (pass == 1 || job.ocr) break;
    job = (extract__job){.ops = EXTRACT_OP_READ, .kind = *kind, .ocr = true,
                         .probe = job.probe};
    if (!(job0->ops & EXTRACT_OP_SNIFF)) job.kind = job0->kind;
  }
  extract__stop(o, EXTRACT_R_CRASHED, "the reader asked for OCR twice");
  return PL_OK;
}
