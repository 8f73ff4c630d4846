/* pl_sd.c - sd_notify(3) readiness, stopping and watchdog messages (see pl_sd.h). */
#include "util/pl_sd.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

static pl_err notify(const char *state, pl_detail *d) {
  /* sd_notify returns 0 when NOTIFY_SOCKET is unset: nothing to tell, not an error. */
  int r = sd_notify(0, state);
  if (r < 0) return pl_fail(d, PL_EIO, "cannot notify the service manager: %s", strerror(-r));
  return PL_OK;
}

pl_err pl_sd_ready(const char *status, pl_detail *d) {
  if (!status) return notify("READY=1", d);
  char msg[512];
  snprintf(msg, sizeof msg, "READY=1\nSTATUS=%.480s", status);
  return notify(msg, d);
}

pl_err pl_sd_stopping(pl_detail *d) { return notify("STOPPING=1", d); }

uint64_t pl_sd_watchdog(void) {
  /* Read once: the interval does not change while the process lives. 0: no watchdog. */
  static int checked;
  static uint64_t half_usec;
  if (!checked) {
    uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) half_usec = usec / 2 ? usec / 2 : 1;
    checked = 1;
  }
  if (half_usec) sd_notify(0, "WATCHDOG=1");
  return half_usec;
}
