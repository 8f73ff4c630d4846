/* svc_sweep.c - the periodic clean-up of a serving node: uploads no message took,
 * idempotency keys past their day, webhook deliveries past their month, and threads past
 * their marketplace's retention (svc_retention.c). Every node may run it: each removal is its own
 * transaction and checks again that the row is still unused. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "service/svc_int.h"
#include "service/svc_webhook.h"

pl_err svc_idempotency_sweep(svc *s, int64_t *removed, pl_detail *d) {
  *removed = 0;
  pl_err e = svc__begin(s, true, d);
  if (e) return e;
  e = store_idem_sweep(s->st, svc_now(s) - SVC_IDEMPOTENCY_SECONDS, removed);
  return svc__end(s, e, d);
}

struct svc_sweeper {
  svc *s;
  int64_t max_age;
  int interval;
  pthread_t th;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  bool stop;
};

static void *sweeper_main(void *arg) {
  svc_sweeper *w = arg;
  pthread_mutex_lock(&w->mu);
  while (!w->stop) {
    pthread_mutex_unlock(&w->mu);
    size_t files = 0;
    int64_t keys = 0;
    pl_detail d = {0};
    pthread_mutex_lock(&w->mu);
    int64_t max_age = w->max_age;
    pthread_mutex_unlock(&w->mu);
    if (svc_attachments_sweep(w->s, max_age, &files, &d))
      fprintf(stderr, "parley: clean-up of unattached uploads failed: %s\n", d.msg);
    if (svc_idempotency_sweep(w->s, &keys, &d))
      fprintf(stderr, "parley: clean-up of idempotency keys failed: %s\n", d.msg);
    if (svc_webhook_sweep(w->s, &keys, &d))
      fprintf(stderr, "parley: clean-up of webhook deliveries failed: %s\n", d.msg);
    if (svc_retention_sweep(w->s, 0, &files, &d))
      fprintf(stderr, "parley: purge of threads past their retention failed: %s\n", d.msg);
    pthread_mutex_lock(&w->mu);
    if (w->stop) break;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += w->interval;
    pthread_cond_timedwait(&w->cv, &w->mu, &ts);
  }
  pthread_mutex_unlock(&w->mu);
  return NULL;
}

pl_err svc_sweeper_start(svc *s, int64_t unattached_max_age, int interval, svc_sweeper **out,
                         pl_detail *d) {
  svc_sweeper *w = pl_xcalloc(1, sizeof *w);
  w->s = s;
  w->max_age = unattached_max_age;
  w->interval = interval > 0 ? interval : 60;
  pthread_mutex_init(&w->mu, NULL);
  pthread_cond_init(&w->cv, NULL);
  if (pthread_create(&w->th, NULL, sweeper_main, w)) {
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    free(w);
    return pl_fail(d, PL_EINTERNAL, "the clean-up worker could not start");
  }
  *out = w;
  return PL_OK;
}

void svc_sweeper_set(svc_sweeper *w, int64_t unattached_max_age, int interval) {
  if (!w) return;
  pthread_mutex_lock(&w->mu);
  bool sooner = interval > 0 && interval < w->interval;
  w->max_age = unattached_max_age;
  w->interval = interval > 0 ? interval : 60;
  if (sooner) pthread_cond_signal(&w->cv); /* a sweep now, then the new interval */
  pthread_mutex_unlock(&w->mu);
}

void svc_sweeper_stop(svc_sweeper *w) {
  if (!w) return;
  pthread_mutex_lock(&w->mu);
  w->stop = true;
  pthread_cond_signal(&w->cv);
  pthread_mutex_unlock(&w->mu);
  pthread_join(w->th, NULL);
  pthread_mutex_destroy(&w->mu);
  pthread_cond_destroy(&w->cv);
  free(w);
}
