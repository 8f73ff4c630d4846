/* pl_sd.h - telling systemd how the server is doing: readiness, stopping, watchdog.
 *
 * A thin wrapper around sd_notify(3) (libsystemd). Under a unit of Type=notify the
 * service manager sets NOTIFY_SOCKET (and WATCHDOG_USEC with WatchdogSec=); without
 * them every function here does nothing, so the server runs the same by hand, under
 * the tests or under another supervisor. */
#ifndef PL_SD_H
#define PL_SD_H

#include "util/pl_err.h"

/* Sends READY=1 with status as STATUS= (may be NULL): the listeners are up. PL_OK when
 * sent or when there is no service manager to tell; PL_EIO (reason in d) when
 * NOTIFY_SOCKET is set but the message could not be sent. */
pl_err pl_sd_ready(const char *status, pl_detail *d);
/* Sends STOPPING=1: the server is shutting down. Errors as pl_sd_ready. */
pl_err pl_sd_stopping(pl_detail *d);
/* Waits until a signal arrives, as pause(2) does. When the service manager asked for a
 * watchdog (WATCHDOG_USEC, and WATCHDOG_PID absent or this process), first sends
 * WATCHDOG=1 and then waits at most half the interval, so that a main loop that calls
 * it again and again keeps the watchdog fed while it lives, and one that hangs does
 * not. Returns after a signal or the half interval. */
void pl_sd_wait(void);

#endif
