/* mail_deliver.c - the delivery worker: asks the service for the outbox's due mail, composes
 * each (mail_compose), submits it to the relay (mail_smtp_send) and reports the outcome
 * back (svc_mail_report). The service decides and records; this file only sends. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mail/mail.h"

#define BATCH 16

struct mail_deliverer {
  struct svc *s;
  mail_deliver_options o;
  char *relay, *helo;
  pthread_t th;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  atomic_bool stop; /* set by drain or stop: no mail is begun after it */
  atomic_size_t released; /* mails given back untried at the stop */
};

/* Composes and sends one mail; the outcome for the service. */
static svc_mail_outcome send_one(const mail_deliver_options *o, const svc_outmail *m, pl_arena *a, pl_detail *d) {
  mail_file *files = m->nfiles ? pl_arena_alloc(a, m->nfiles * sizeof *files) : NULL;
  for (size_t i = 0; i < m->nfiles; i++)
    files[i] = (mail_file){.name = m->files[i].name, .content_type = m->files[i].content_type,
                           .data = m->files[i].data, .len = m->files[i].len};
  mail_out mo = {.from_name = m->from_name, .from_addr = m->from_addr, .to_addr = m->to_addr,
                 .reply_to = m->reply_to, .subject = m->subject, .message_id = m->message_id,
                 .in_reply_to = m->in_reply_to, .references = m->references,
                 .auto_submitted = m->auto_submitted, .text = m->text, .files = files,
                 .nfiles = m->nfiles, .date = m->date};
  char *data;
  size_t len;
  if (mail_compose(&mo, a, &data, &len, d)) return SVC_MAIL_REFUSED; /* it will not format better later */
  long code = 0;
  if (!mail_smtp_send(o->smtp_relay, o->helo, m->env_from, m->rcpt, data, len, &code, d)) return SVC_MAIL_SENT;
  return code >= 500 && code < 600 ? SVC_MAIL_REFUSED : SVC_MAIL_RETRY;
}

/* Claims a batch and sends it; once *stop is set (stop may be NULL), the mail being sent
 * is finished and the rest of the batch is given back untried (*released counts them). */
static size_t deliver_batch(struct svc *s, const mail_deliver_options *o, atomic_bool *stop,
                            atomic_size_t *released) {
  if (!o->smtp_relay || !*o->smtp_relay) return 0;
  pl_arena *a = pl_arena_new();
  svc_outmail *ms = NULL;
  size_t n = svc_mail_claim(s, &o->svc, BATCH, a, &ms);
  for (size_t i = 0; i < n; i++) {
    if (stop && atomic_load(stop)) {
      svc_mail_release(s, &ms[i]);
      atomic_fetch_add(released, 1);
      continue;
    }
    pl_detail d = {0};
    svc_mail_outcome oc = send_one(o, &ms[i], a, &d);
    svc_mail_report(s, &o->svc, &ms[i], oc, oc == SVC_MAIL_SENT ? NULL : d.msg);
  }
  pl_arena_free(a);
  return n;
}

size_t mail_deliver_due(struct svc *s, const mail_deliver_options *o) { return deliver_batch(s, o, NULL, NULL); }

static void *worker_main(void *arg) {
  mail_deliverer *w = arg;
  int poll = w->o.poll_ms > 0 ? w->o.poll_ms : 200;
  pthread_mutex_lock(&w->mu);
  while (!w->stop) {
    pthread_mutex_unlock(&w->mu);
    size_t n = deliver_batch(w->s, &w->o, &w->stop, &w->released);
    pthread_mutex_lock(&w->mu);
    if (n == BATCH || w->stop) continue; /* more may be due at once */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += (long)poll * 1000000L;
    ts.tv_sec += ts.tv_nsec / 1000000000L;
    ts.tv_nsec %= 1000000000L;
    pthread_cond_timedwait(&w->cv, &w->mu, &ts);
  }
  pthread_mutex_unlock(&w->mu);
  return NULL;
}

pl_err mail_deliver_start(struct svc *s, const mail_deliver_options *o, mail_deliverer **out, pl_detail *d) {
  mail_deliverer *w = pl_xcalloc(1, sizeof *w);
  w->s = s;
  w->o = *o;
  w->relay = pl_xstrdup(o->smtp_relay ? o->smtp_relay : "");
  w->helo = pl_xstrdup(o->helo ? o->helo : "localhost");
  w->o.smtp_relay = w->relay;
  w->o.helo = w->helo;
  pthread_mutex_init(&w->mu, NULL);
  pthread_cond_init(&w->cv, NULL);
  if (pthread_create(&w->th, NULL, worker_main, w)) {
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    free(w->relay);
    free(w->helo);
    free(w);
    return pl_fail(d, PL_EINTERNAL, "the delivery worker could not start");
  }
  *out = w;
  return PL_OK;
}

void mail_deliver_drain(mail_deliverer *w) {
  if (!w) return;
  pthread_mutex_lock(&w->mu);
  w->stop = true;
  pthread_cond_signal(&w->cv);
  pthread_mutex_unlock(&w->mu);
}

size_t mail_deliver_stop(mail_deliverer *w) {
  if (!w) return 0;
  mail_deliver_drain(w);
  pthread_join(w->th, NULL);
  size_t released = atomic_load(&w->released);
  pthread_mutex_destroy(&w->mu);
  pthread_cond_destroy(&w->cv);
  free(w->relay);
  free(w->helo);
  free(w);
  return released;
}
