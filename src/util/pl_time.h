/* pl_time.h - unix-second timestamps and their ISO 8601 form; the injectable clock. */
#ifndef PL_TIME_H
#define PL_TIME_H

#include <stdbool.h>
#include <stdint.h>

typedef int64_t pl_time; /* seconds since the epoch, UTC */

/* Parses "2026-10-05T09:00:00Z" (also with fractional seconds or a +hh:mm offset).
 * Returns false when s is not such a time. */
bool pl_time_parse(const char *s, pl_time *out);
/* Writes "YYYY-MM-DDTHH:MM:SSZ" into buf (at least 21 bytes). Returns buf. */
char *pl_time_format(pl_time t, char *buf);

/* A clock the caller owns: every operation takes `now` from one of these so that
 * tests and imports can replay history. NULL fn means the system clock. */
typedef struct pl_clock {
  pl_time (*fn)(void *ctx);
  void *ctx;
} pl_clock;

pl_time pl_clock_now(const pl_clock *c);

#endif
