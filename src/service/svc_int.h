/* svc_int.h - what the files of the service module share (not part of its contract). */
#ifndef PL_SVC_INT_H
#define PL_SVC_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include "service/svc.h"

typedef struct {
  char *marketplace_id;
  policy_config *cfg;
} svc__policy_slot;

struct svc {
  store *st;
  pl_keys keys;
  svc_options opt;
  char *policy_config_path;
  pthread_mutex_t policy_mu;
  svc__policy_slot *policies;
  size_t npolicies;
  unsigned policy_generation;
  atomic_ulong status_counts[SVC_STATUS_COUNT];
  pthread_mutex_t ev_mu;
  svc_event *ring; /* SVC_EVENT_RING entries */
  uint64_t ev_next; /* the next sequence number */
  void (*ev_hook)(void *ctx);
  void *ev_ctx;
};

/* Publishes an event about a thread (and a message when m is not NULL). */
void svc__publish(svc *s, const char *type, const st_thread *t, const st_message *m);

/* Counts a committed message under its status. */
void svc__count_status(svc *s, const char *status);

/* Begins a transaction or fails with a store error in d. */
pl_err svc__begin(svc *s, bool write, pl_detail *d);
/* Commits when e is PL_OK, rolls back otherwise; returns the final result. */
pl_err svc__end(svc *s, pl_err e, pl_detail *d);

/* The compiled policy for a marketplace (one reference for the caller). */
pl_err svc__policy_for(svc *s, const char *marketplace_id, pl_arena *a, policy_config **out,
                       pl_detail *d);

/* Validates a message text: UTF-8, not blank, at most SVC_MAX_TEXT_CHARS. */
pl_err svc__check_text(const char *text, pl_detail *d);

/* Recomputes a thread's summary from its messages and stores it. */
pl_err svc__thread_recompute(svc *s, st_thread *t, pl_arena *a);

/* The buyer's alias with a seller, created on first use. */
pl_err svc__alias_ensure(svc *s, const char *marketplace_id, const char *buyer_id,
                         const char *seller_id, pl_time now, pl_arena *a, char **out,
                         pl_detail *d);

/* Appends an audit entry; detail may be NULL. */
pl_err svc__audit(svc *s, const char *seller_id, const char *actor, const char *action,
                  const char *subject, json_t *detail);

/* Inserts a message with its first status event and indexes it. */
pl_err svc__message_add(svc *s, st_message *m, const char *status, const char *actor);

/* True for an order ID of the form NNN-NNNNNNN-NNNNNNN. */
bool svc__valid_order_id(const char *id);
/* Topic validity: post-purchase topics for order threads, pre-purchase for ASIN ones. */
bool svc__valid_topic(const char *topic, bool product);

#endif
