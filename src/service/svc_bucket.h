/* svc_bucket.h - the token bucket of the rate limits and of the limits of docs/rules.md:
 * pure arithmetic over one bucket's state. The store keeps the state (a rate_buckets row,
 * store_ops.rate_bucket_get/put); the clock is the caller's. */
#ifndef PL_SVC_BUCKET_H
#define PL_SVC_BUCKET_H

#include <stdbool.h>

typedef struct svc_bucket {
  double tokens;     /* tokens in the bucket at updated_at */
  double updated_at; /* seconds, with fractions */
} svc_bucket;

/* Takes cost tokens from *b at time now, after refilling it at rate tokens a second
 * (rate > 0) up to burst. Returns whether they were taken. *b is updated either way
 * (refilled, less cost when taken) and is what the store keeps. *retry_after is the
 * seconds until cost tokens will be there: 0 when they were taken, and 0 when cost is
 * more than burst, since then they never will. A clock that went back (now before
 * b->updated_at) refills nothing, and updated_at stays where it was. */
bool svc_bucket_take(svc_bucket *b, double now, double rate, double burst, double cost,
                     double *retry_after);

#endif
