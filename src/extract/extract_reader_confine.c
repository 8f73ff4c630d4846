/* extract_reader_confine.c - what parley-reader does to itself before it parses a
 * byte of an untrusted file: namespaces, rlimits, no new privileges and a seccomp
 * filter that leaves it able to compute, allocate, run threads and use the two pipes
 * it was given, and nothing else.
 *
 * Part of the reader program only (not of libparley): the server never runs it. The
 * order matters. Namespaces need a single-threaded process, so they come first; the
 * filter forbids opening files, so it comes after the data files are loaded
 * (libmagic's database, Tesseract's language data: extract_reader_main.c). */
#define _GNU_SOURCE
#include "extract/extract_int.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define EXTRACT_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define EXTRACT_ASAN 1
#endif
#endif

static void limit(int res, rlim_t soft, rlim_t hard) {
  struct rlimit rl = {soft, hard};
  setrlimit(res, &rl);
}

unsigned extract__confine_begin(void) {
  unsigned conf = 0;
  /* The server's spawn closes everything but 0-2 already; a reader started by hand
   * gets the same. */
  close_range(3, ~0U, 0);
  /* A reader whose server is gone has nobody to answer. */
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  /* A user namespace first: it grants the right to make the others without
   * privileges. Kernels or containers that refuse one (unprivileged user namespaces
   * off, seccomp of a container runtime) leave the rest to the filter; which ones
   * took is reported to the server, which logs it. */
  if (unshare(CLONE_NEWUSER | CLONE_NEWNET | CLONE_NEWNS) == 0) {
    conf |= EXTRACT_CONF_USERNS | EXTRACT_CONF_NETNS | EXTRACT_CONF_MOUNTNS;
  } else {
    if (unshare(CLONE_NEWUSER) == 0) conf |= EXTRACT_CONF_USERNS;
    if (unshare(CLONE_NEWNET) == 0) conf |= EXTRACT_CONF_NETNS;
    if (unshare(CLONE_NEWNS) == 0) conf |= EXTRACT_CONF_MOUNTNS;
  }
  /* A new network namespace has only a loopback interface, and it is down: no
   * address of the host or the outside is reachable, even were socket() allowed. */
  if (conf & EXTRACT_CONF_MOUNTNS) mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
  limit(RLIMIT_CORE, 0, 0);    /* a crash leaves no copy of the file's text on disk */
  limit(RLIMIT_FSIZE, 0, 0);   /* writes only to pipes */
  limit(RLIMIT_NOFILE, 64, 64); /* the data files while loading; pipes after */
  return conf;
}

/* This process's virtual size in bytes, from /proc/self/statm (0 if unknown). */
#ifndef EXTRACT_ASAN
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

/* Allows a system call; false when libseccomp refuses the rule (a call this
 * architecture does not have is no error). */
static bool allow(scmp_filter_ctx f, const char *name) {
  int nr = seccomp_syscall_resolve_name(name);
  if (nr == __NR_SCMP_ERROR) return true;
  return seccomp_rule_add(f, SCMP_ACT_ALLOW, nr, 0) == 0;
}

static bool deny(scmp_filter_ctx f, const char *name, int err) {
  int nr = seccomp_syscall_resolve_name(name);
  if (nr == __NR_SCMP_ERROR) return true;
  return seccomp_rule_add(f, SCMP_ACT_ERRNO((uint32_t)err), nr, 0) == 0;
}

/* The filter. Anything not listed kills the process (SIGSYS), which the server holds
 * as "crashed": socket, connect, execve, fork, ptrace, mount, unshare... Opening or
 * stat'ing a file fails with EACCES instead, because libraries open lazily (fontconfig, poppler's
 * encoding tables) and a missing file must degrade the reading, not end it; no
 * descriptor to any file is obtainable either way. */
static bool load_filter(void) {
  scmp_filter_ctx f = seccomp_init(SCMP_ACT_KILL_PROCESS);
  if (!f) return false;
  static const char *const calls[] = {
      /* the pipes, and memory streams */
      "read", "write", "readv", "writev", "close", "lseek", "fstat", "fcntl", "poll",
      "ppoll",
      /* memory (mmap and mprotect below) */
      "brk", "munmap", "mremap", "madvise",
      /* threads (Tesseract's OpenMP pool), their locks and signals */
      "futex", "set_robust_list", "get_robust_list", "rseq", "sched_yield",
      "sched_getaffinity", "gettid", "getpid", "rt_sigaction", "rt_sigprocmask",
      "rt_sigreturn", "sigaltstack", "exit", "exit_group", "restart_syscall",
      /* time and randomness (hash seeds) */
      "clock_gettime", "clock_getres", "gettimeofday", "nanosleep", "clock_nanosleep",
      "getrandom", "getrusage", "times",
      /* sysconf(_SC_PHYS_PAGES): libtiff sizes its buffers by the memory there is */
      "sysinfo",
#ifdef EXTRACT_ASAN
      /* AddressSanitizer's runtime: its reports and its view of the stacks */
      "prctl", "getrlimit", "prlimit64", "sched_getparam", "readlink", "getppid",
#endif
  };
  bool ok = true;
  for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++) ok &= allow(f, calls[i]);
  /* Memory, but no new executable memory: code injected through a parser's bug cannot
   * be made to run by mapping it executable (the libraries are all loaded by now). */
  ok &= seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1,
                         SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0)) == 0;
  ok &= seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1,
                         SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0)) == 0;
  /* Threads, never processes: clone only with CLONE_THREAD. clone3 passes its flags
   * in memory the filter cannot read: ENOSYS makes the C library use clone. */
  ok &= seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
                         SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD)) == 0;
  ok &= deny(f, "clone3", ENOSYS);
  /* Signals to itself only (abort, thread cancellation). */
  ok &= seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1,
                         SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)getpid())) == 0;
  ok &= seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(kill), 1,
                         SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)getpid())) == 0;
  /* Resource limits may be read, never raised. */
  ok &= seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(prlimit64), 1,
                         SCMP_A2(SCMP_CMP_EQ, 0)) == 0;
  ok &= deny(f, "open", EACCES) && deny(f, "openat", EACCES) && deny(f, "openat2", EACCES) &&
        deny(f, "creat", EACCES);
  /* Nor is a path looked at: stat and its kin would tell what files the host has. The
   * C library's fstat() is newfstatat(fd, "", AT_EMPTY_PATH), which a filter cannot
   * tell from a path; stdio copes with its failure (it only sizes a buffer). */
  static const char *const paths[] = {"stat", "lstat", "newfstatat", "statx", "access",
                                      "faccessat", "faccessat2", "readlinkat",
#ifndef EXTRACT_ASAN
                                      "readlink",
#endif
  };
  for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) ok &= deny(f, paths[i], EACCES);
  ok &= deny(f, "ioctl", ENOTTY); /* isatty() on stderr */
  ok = ok && seccomp_load(f) == 0;
  seccomp_release(f);
  return ok;
}

unsigned extract__confine_seal(const extract_limits *lim) {
  unsigned conf = EXTRACT_CONF_RLIMITS;
  limit(RLIMIT_CPU, lim->cpu_seconds, lim->cpu_seconds + 1);
#ifndef EXTRACT_ASAN
  /* What the libraries and the loaded data take, plus the reading's allowance.
   * AddressSanitizer reserves terabytes of shadow address space; under it the cap is
   * left to the sanitizer's own checks. */
  rlim_t cap = lim->max_memory + address_space_now();
  limit(RLIMIT_AS, cap, cap);
#endif
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0) conf |= EXTRACT_CONF_NNP;
  if (load_filter()) conf |= EXTRACT_CONF_SECCOMP;
  return conf;
}
