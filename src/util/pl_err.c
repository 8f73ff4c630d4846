/* pl_err.c - messages and names of the parley error codes. */
#include "util/pl_err.h"

#include <stdarg.h>
#include <stdio.h>

const char *pl_strerror(pl_err e) {
  switch (e) {
  case PL_OK: return "ok";
#define PL__ERR_MSG(name, val, code, msg) case name: return msg;
    PL_ERR_MAP(PL__ERR_MSG)
#undef PL__ERR_MSG
  }
  return "unknown error";
}

const char *pl_errname(pl_err e) {
  switch (e) {
  case PL_OK: return "ok";
#define PL__ERR_NAME(name, val, code, msg) case name: return code;
    PL_ERR_MAP(PL__ERR_NAME)
#undef PL__ERR_NAME
  }
  return "unknown";
}

pl_err pl_fail(pl_detail *d, pl_err e, const char *fmt, ...) {
  if (d) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->msg, sizeof d->msg, fmt, ap);
    va_end(ap);
    d->retry_after = d->at = d->until = 0; /* this failure's, set after it (pl_retry_after...) */
  }
  return e;
}
