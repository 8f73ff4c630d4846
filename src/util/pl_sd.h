/* pl_sd.h - telling systemd how the server is doing: readiness, stopping, watchdog.
 *
 * A thin wrapper around sd_notify(3) (libsystemd). Under a unit of Type=notify the
 * service manager sets NOTIFY_SOCKET (and WATCHDOG_USEC with WatchdogSec=); without
 * them every function here does nothing, so the server runs the same by hand, under
 * the tests or under another supervisor. */
#ifndef PL_SD_H
#define PL_SD_H

#include <stdint.h>

#include "util/pl_err.h"

/* Sends READY=1 with status as STATUS= (may be NULL): the listeners are up. PL_OK when
 * sent or when there is no service manager to tell; PL_EIO (reason in d) when
 * NOTIFY_SOCKET is set but the message could not be sent. */
pl_err pl_sd_ready(const char *status, pl_detail *d);
/* Sends STOPPING=1: the server is shutting down. Errors as pl_sd_ready. */
pl_err pl_sd_stopping(pl_detail *d);
/* When the service manager asked for a watchdog (WATCHDOG_USEC, and WATCHDOG_PID absent
 * or this process): sends WATCHDOG=1 and returns half the interval in microseconds, the
 * longest a main loop may wait before it calls this again, so that a loop that lives
 * keeps the watchdog fed and one that hangs does not. Without a watchdog: 0, nothing
 * sent. */
uint64_t pl_sd_watchdog(void);

#endif
