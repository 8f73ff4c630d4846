/* svc_bucket.c - the token bucket arithmetic (svc_bucket.h), one copy for every store. */
#include "service/svc_bucket.h"

bool svc_bucket_take(svc_bucket *b, double now, double rate, double burst, double cost,
                     double *retry_after) {
  if (now > b->updated_at) {
    b->tokens += (now - b->updated_at) * rate;
    b->updated_at = now;
  }
  if (b->tokens > burst) b->tokens = burst;
  bool allowed = cost <= burst && b->tokens >= cost;
  if (allowed) b->tokens -= cost;
  *retry_after = allowed || cost > burst ? 0 : (cost - b->tokens) / rate;
  return allowed;
}
