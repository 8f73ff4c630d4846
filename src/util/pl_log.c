/* pl_log.c - structured log lines built in a fixed buffer and written with one write(2). */
#include "util/pl_log.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/pl_utf8.h"

/* Room kept at the end of every line for the truncation mark and the line's end. */
#define TAIL 32

static atomic_int log_format = PL_LOG_OFF, log_min = PL_LOG_INFO, log_fd = 2;

static const char *const level_names[] = {"info", "warn", "error"};

void pl_log_setup(pl_log_format f, pl_log_level min, int fd) {
  atomic_store(&log_format, (int)f);
  atomic_store(&log_min, (int)min);
  atomic_store(&log_fd, fd);
}

bool pl_log_format_parse(const char *s, pl_log_format *out) {
  static const char *const names[] = {"logfmt", "json", "off"};
  for (int i = 0; i < 3; i++)
    if (s && !strcmp(s, names[i])) return *out = (pl_log_format)i, true;
  return false;
}

bool pl_log_level_parse(const char *s, pl_log_level *out) {
  for (int i = 0; i < 3; i++)
    if (s && !strcmp(s, level_names[i])) return *out = (pl_log_level)i, true;
  return false;
}

bool pl_log_enabled(pl_log_level lv) {
  return atomic_load(&log_format) != PL_LOG_OFF && (int)lv >= atomic_load(&log_min);
}

/* Appends n bytes when they fit before the tail; false (nothing appended) when not. */
static bool put(pl_log_line *l, const char *s, size_t n) {
  if (l->n + n > sizeof l->buf - TAIL) return false;
  memcpy(l->buf + l->n, s, n);
  l->n += n;
  return true;
}

static bool put_s(pl_log_line *l, const char *s) { return put(l, s, strlen(s)); }

/* Whether logfmt can write v bare: printable ASCII without space, '=', '"' or '\'. */
static bool bare(const char *v) {
  if (!*v) return false;
  for (const unsigned char *p = (const unsigned char *)v; *p; p++)
    if (*p <= ' ' || *p >= 0x7f || *p == '=' || *p == '"' || *p == '\\') return false;
  return true;
}

/* v in double quotes with JSON's escapes, which logfmt readers take as well: quote and
 * backslash, control characters, and bytes that are not UTF-8 as U+FFFD. */
static bool put_quoted(pl_log_line *l, const char *v) {
  if (!put(l, "\"", 1)) return false;
  size_t len = strlen(v);
  for (size_t i = 0; i < len;) {
    unsigned char c = (unsigned char)v[i];
    char esc[8];
    bool ok;
    if (c == '"' || c == '\\') {
      esc[0] = '\\', esc[1] = (char)c;
      ok = put(l, esc, 2);
      i++;
    } else if (c == '\n' || c == '\r' || c == '\t') {
      esc[0] = '\\', esc[1] = c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
      ok = put(l, esc, 2);
      i++;
    } else if (c < 0x20 || c == 0x7f) {
      snprintf(esc, sizeof esc, "\\u%04x", c);
      ok = put(l, esc, 6);
      i++;
    } else if (c < 0x80) {
      ok = put(l, v + i, 1);
      i++;
    } else {
      size_t k = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
      if (i + k <= len && pl_utf8_valid(v + i, k, NULL)) {
        ok = put(l, v + i, k);
        i += k;
      } else {
        ok = put(l, "\\ufffd", 6);
        i++;
      }
    }
    if (!ok) return false;
  }
  return put(l, "\"", 1);
}

/* Adds the separator and the key; the value follows. */
static bool put_key(pl_log_line *l, const char *key) {
  if (l->f == PL_LOG_JSON) return put(l, ",\"", 2) && put_s(l, key) && put(l, "\":", 2);
  return put(l, " ", 1) && put_s(l, key) && put(l, "=", 1);
}

/* A field that does not fit whole is left out. */
static void field_done(pl_log_line *l, size_t at, bool ok) {
  if (!ok) {
    l->n = at;
    l->truncated = true;
  }
}

void pl_log_begin(pl_log_line *l, pl_log_level lv, const char *msg) {
  pl_log_format f = atomic_load(&log_format) == PL_LOG_JSON ? PL_LOG_JSON : PL_LOG_LOGFMT;
  l->n = 0;
  l->f = f;
  l->truncated = false;
  struct timespec ts;
  struct tm tm;
  clock_gettime(CLOCK_REALTIME, &ts);
  gmtime_r(&ts.tv_sec, &tm);
  char t[64];
  snprintf(t, sizeof t, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
           tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ts.tv_nsec / 1000000) % 1000);
  if (f == PL_LOG_JSON) {
    put(l, "{\"time\":\"", 9);
    put_s(l, t);
    put(l, "\",\"level\":\"", 11);
    put_s(l, level_names[lv]);
    put(l, "\"", 1);
  } else {
    put(l, "time=", 5);
    put_s(l, t);
    put(l, " level=", 7);
    put_s(l, level_names[lv]);
  }
  pl_log_str(l, "msg", msg);
}

void pl_log_str(pl_log_line *l, const char *key, const char *val) {
  if (!val) return;
  size_t at = l->n;
  bool ok = put_key(l, key);
  if (ok) ok = l->f != PL_LOG_JSON && bare(val) ? put_s(l, val) : put_quoted(l, val);
  field_done(l, at, ok);
}

void pl_log_int(pl_log_line *l, const char *key, long long v) {
  char num[32];
  snprintf(num, sizeof num, "%lld", v);
  size_t at = l->n;
  field_done(l, at, put_key(l, key) && put_s(l, num));
}

void pl_log_ms(pl_log_line *l, const char *key, double ms) {
  char num[48];
  snprintf(num, sizeof num, "%.3f", ms >= 0 && ms < 1e12 ? ms : 0.0);
  size_t at = l->n;
  field_done(l, at, put_key(l, key) && put_s(l, num));
}

const char *pl_log_finish(pl_log_line *l, size_t *len) {
  /* The tail was kept free for exactly this. */
  const char *end = l->f == PL_LOG_JSON ? (l->truncated ? ",\"truncated\":true}\n" : "}\n")
                                        : (l->truncated ? " truncated=true\n" : "\n");
  size_t k = strlen(end);
  memcpy(l->buf + l->n, end, k + 1);
  l->n += k;
  *len = l->n;
  return l->buf;
}

void pl_log_write(pl_log_line *l) {
  size_t n;
  const char *s = pl_log_finish(l, &n);
  int fd = atomic_load(&log_fd);
  /* One call: below PIPE_BUF a pipe takes the line whole, never mixed with another. A
   * log that cannot be written is not a reason to fail a request. */
  while (n) {
    ssize_t w = write(fd, s, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) break;
    s += w;
    n -= (size_t)w;
  }
}
