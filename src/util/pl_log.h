/* pl_log.h - structured log lines (logfmt or JSON), one write(2) each, for the access
 * logs of the HTTP and mail transports (docs/operations.md, "Logs").
 *
 * A line is built in a fixed buffer on the caller's stack and written with one write(2)
 * of at most PL_LOG_MAX bytes: lines of threads writing to the same pipe never interleave
 * (PIPE_BUF), and nothing is allocated. A field that does not fit is left out and the
 * line says truncated; the line stays one line and, in JSON, one valid object. */
#ifndef PL_LOG_H
#define PL_LOG_H

#include <stdbool.h>
#include <stddef.h>

#define PL_LOG_MAX 4096 /* PIPE_BUF on Linux: the most a pipe writes atomically */

typedef enum { PL_LOG_LOGFMT = 0, PL_LOG_JSON, PL_LOG_OFF } pl_log_format;
typedef enum { PL_LOG_INFO = 0, PL_LOG_WARN, PL_LOG_ERROR } pl_log_level;

/* Sets the process's format, the least level written and the descriptor lines go to
 * (2 for standard error). Until it is called, nothing is written (PL_LOG_OFF): a program
 * that links the library logs only when it asks to. It may be called again while threads
 * log (a configuration reload): each setting changes at once, and a line being built
 * keeps the format it began with. */
void pl_log_setup(pl_log_format f, pl_log_level min, int fd);
/* Parses "logfmt", "json", "off" / "info", "warn", "error"; false for anything else. */
bool pl_log_format_parse(const char *s, pl_log_format *out);
bool pl_log_level_parse(const char *s, pl_log_level *out);
/* Whether a line of this level would be written (build none when not). */
bool pl_log_enabled(pl_log_level lv);

typedef struct {
  char buf[PL_LOG_MAX];
  size_t n;
  pl_log_format f;
  bool truncated;
} pl_log_line;

/* Starts a line in the configured format: time (ISO 8601 UTC, milliseconds), level and
 * msg (the event). */
void pl_log_begin(pl_log_line *l, pl_log_level lv, const char *msg);
/* Adds key=value. Keys are the caller's literals ([a-z_]); values any bytes: quoted and
 * escaped as the format needs (control characters escaped, invalid UTF-8 as U+FFFD).
 * A NULL value adds nothing. */
void pl_log_str(pl_log_line *l, const char *key, const char *val);
/* Adds a number (unquoted in both formats). */
void pl_log_int(pl_log_line *l, const char *key, long long v);
void pl_log_ms(pl_log_line *l, const char *key, double ms); /* three decimals */
/* Ends the line (newline included); returns it NUL-terminated, its length in *len. */
const char *pl_log_finish(pl_log_line *l, size_t *len);
/* Ends the line and writes it to the configured descriptor with one write(2). */
void pl_log_write(pl_log_line *l);

#endif
