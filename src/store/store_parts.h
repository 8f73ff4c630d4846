/* store_parts.h - the store_ops entries each backend implements in its part files. */
#ifndef PL_STORE_PARTS_H
#define PL_STORE_PARTS_H

#include "store/store.h"

/* The entries that a backend writes beside its main file, in store_<backend>_<part>.c, as
 * <prefix>__<entry> (sq__sla_latest, pg__sla_latest). The backends declare them and fill
 * their vtables from this list, with the type of the store_ops entry (__typeof__, which
 * GCC and Clang have and C23 calls typeof), so that no signature is written twice. */
#define STORE_PART_OPS(X)                                                                   \
  /* the 24-hour clock: events, a seller's outcomes for writing, hourly buckets              \
   * (store_*_sla.c) */                                                                     \
  X(sla_thread_events) X(sla_range_events) X(sla_outcomes_get) X(sla_outcomes_put)          \
  X(sla_thread_outcome_get) X(sla_bucket_get) X(sla_bucket_put) X(sla_bucket_range)         \
  /* the audit log (store_*_audit.c) */                                                     \
  X(audit_append)                                                                           \
  /* rate buckets (store_*_limits.c) */                                                     \
  X(rate_bucket_get) X(rate_bucket_put)

/* Declares prefix__name with the type of store_ops entry name. */
#define STORE_PART_DECLARE(prefix, name) extern __typeof__(*((store_ops *)0)->name) prefix##__##name;
/* The vtable's initializer of entry name. */
#define STORE_PART_ENTRY(prefix, name) .name = prefix##__##name,

#endif
