/* store_pg_bus.c - live events between the nodes of one PostgreSQL database: NOTIFY
 * carries each node's events to the others, which LISTEN on a connection of their own.
 *
 * One thread per node owns that connection: it sends what the service queued
 * (pg_notify, outside any transaction, so it leaves at once) and hands every notification
 * that arrives to the service. Payloads are the service's own text; the store only
 * carries them. After the connection is lost and made again, the service is told that
 * events may have been missed (deliver with NULL), so that clients reload. */
#define _GNU_SOURCE /* pipe2 */
#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "store/store_pg_int.h"

#define CHANNEL "parley_events"
#define QUEUE_MAX 4096  /* payloads waiting to be sent; past it the oldest are dropped */
#define PAYLOAD_MAX 7900 /* PostgreSQL takes up to 8000 bytes */

struct pg_bus {
  store *s;
  pthread_t th;
  int wake[2]; /* a byte on wake[1] makes the thread look at its queue */
  pthread_mutex_t mu;
  char **queue;
  size_t n, dropped;
  bool stop;
  void (*deliver)(void *ctx, const char *payload);
  void *ctx;
  PGconn *c;
};

static PGconn *listen_conn(pg_bus *b) {
  static const char *const keys[] = {"dbname", "fallback_application_name", NULL};
  const char *vals[] = {store__pg_url(b->s), "parley-events", NULL};
  PGconn *c = PQconnectdbParams(keys, vals, 1);
  if (!c || PQstatus(c) != CONNECTION_OK) {
    if (c) PQfinish(c);
    return NULL;
  }
  PGresult *r = PQexec(c, "LISTEN " CHANNEL);
  bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
  PQclear(r);
  if (!ok) {
    PQfinish(c);
    return NULL;
  }
  return c;
}

/* Appends payload to the text-array literal being built in buf ("{" written first) as
 * one quoted element, leaving room for the closing "}" and NUL. */
static bool array_add(char **buf, size_t *len, size_t *cap, const char *payload) {
  size_t need = *len + 2 * strlen(payload) + 5; /* separator, quotes, "}" and NUL */
  if (need > *cap) {
    size_t c = *cap ? *cap : 1024;
    while (c < need) c *= 2;
    char *nb = realloc(*buf, c);
    if (!nb) return false;
    *buf = nb;
    *cap = c;
  }
  char *w = *buf + *len;
  if (*len > 1) *w++ = ',';
  *w++ = '"';
  for (const char *c = payload; *c; c++) {
    if (*c == '"' || *c == '\\') *w++ = '\\';
    *w++ = *c;
  }
  *w++ = '"';
  *len = (size_t)(w - *buf);
  return true;
}

/* Sends what is queued, BATCH payloads a statement: each statement is one transaction,
 * and a transaction that notifies is committed to disk like any other, so one a payload
 * would add a commit to every send. Notifications of one transaction arrive together and
 * in order. False when the connection failed. */
#define BATCH 512
static bool send_queued(pg_bus *b) {
  pthread_mutex_lock(&b->mu);
  char **q = b->queue;
  size_t n = b->n;
  b->queue = NULL;
  b->n = 0;
  pthread_mutex_unlock(&b->mu);
  bool ok = true;
  char *arr = NULL;
  size_t cap = 0;
  for (size_t i = 0; i < n && ok; i += BATCH) {
    size_t len = 1;
    bool built = true;
    for (size_t k = i; k < n && k < i + BATCH && built; k++) built = array_add(&arr, &len, &cap, q[k]);
    if (!built) break; /* out of memory: these events are not shared */
    arr[0] = '{';
    arr[len++] = '}';
    arr[len] = '\0';
    const char *v[2] = {CHANNEL, arr};
    PGresult *r = PQexecParams(b->c, "SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p", 2, NULL, v, NULL,
                               NULL, 0);
    ok = PQresultStatus(r) == PGRES_TUPLES_OK;
    PQclear(r);
  }
  free(arr);
  for (size_t i = 0; i < n; i++) free(q[i]);
  free(q);
  return ok;
}

static void *bus_main(void *arg) {
  pg_bus *b = arg;
  bool first = true;
  while (true) {
    pthread_mutex_lock(&b->mu);
    bool stop = b->stop;
    pthread_mutex_unlock(&b->mu);
    if (stop) break;
    if (!b->c) {
      b->c = listen_conn(b);
      if (!b->c) {
        struct pollfd w = {.fd = b->wake[0], .events = POLLIN};
        poll(&w, 1, 1000); /* the database is away: try again in a second */
        char buf[64];
        while (read(b->wake[0], buf, sizeof buf) > 0) {
        }
        continue;
      }
      if (!first) b->deliver(b->ctx, NULL); /* events may have passed while away */
      first = false;
    }
    struct pollfd p[2] = {{.fd = PQsocket(b->c), .events = POLLIN}, {.fd = b->wake[0], .events = POLLIN}};
    poll(p, 2, 1000);
    if (p[1].revents) {
      char buf[64];
      while (read(b->wake[0], buf, sizeof buf) > 0) {
      }
    }
    bool ok = send_queued(b) && PQconsumeInput(b->c);
    PGnotify *note;
    while (ok && (note = PQnotifies(b->c)) != NULL) {
      b->deliver(b->ctx, note->extra);
      PQfreemem(note);
    }
    if (!ok || PQstatus(b->c) != CONNECTION_OK) {
      fprintf(stderr, "parley: postgres: the live-event connection was lost; reconnecting\n");
      PQfinish(b->c);
      b->c = NULL;
    }
  }
  if (b->c) PQfinish(b->c);
  return NULL;
}

pl_err pg__bus_start(store *s, void (*deliver)(void *ctx, const char *payload), void *ctx) {
  pg_bus **slot = store__pg_bus(s);
  if (*slot) return PL_EEXIST;
  pg_bus *b = calloc(1, sizeof *b);
  if (!b) return PL_EINTERNAL;
  b->s = s;
  b->deliver = deliver;
  b->ctx = ctx;
  if (pipe2(b->wake, O_CLOEXEC | O_NONBLOCK)) {
    free(b);
    return PL_EIO;
  }
  pthread_mutex_init(&b->mu, NULL);
  if (pthread_create(&b->th, NULL, bus_main, b)) {
    close(b->wake[0]);
    close(b->wake[1]);
    pthread_mutex_destroy(&b->mu);
    free(b);
    return PL_EINTERNAL;
  }
  *slot = b;
  return PL_OK;
}

void pg__bus_send(store *s, const char *payload) {
  pg_bus *b = *store__pg_bus(s);
  if (!b || !payload || strlen(payload) > PAYLOAD_MAX) return;
  char *copy = strdup(payload);
  if (!copy) return;
  pthread_mutex_lock(&b->mu);
  if (b->n == QUEUE_MAX) { /* the database is away for long: the oldest go */
    free(b->queue[0]);
    memmove(b->queue, b->queue + 1, (b->n - 1) * sizeof *b->queue);
    b->n--;
    b->dropped++;
  }
  char **q = realloc(b->queue, (b->n + 1) * sizeof *q);
  if (q) {
    b->queue = q;
    b->queue[b->n++] = copy;
  } else {
    free(copy);
  }
  pthread_mutex_unlock(&b->mu);
  ssize_t w = write(b->wake[1], "", 1);
  (void)w; /* a full pipe already wakes the thread */
}

void pg__bus_stop(store *s) {
  pg_bus **slot = store__pg_bus(s);
  pg_bus *b = *slot;
  if (!b) return;
  pthread_mutex_lock(&b->mu);
  b->stop = true;
  pthread_mutex_unlock(&b->mu);
  ssize_t w = write(b->wake[1], "", 1);
  (void)w;
  pthread_join(b->th, NULL);
  for (size_t i = 0; i < b->n; i++) free(b->queue[i]);
  free(b->queue);
  close(b->wake[0]);
  close(b->wake[1]);
  pthread_mutex_destroy(&b->mu);
  free(b);
  *slot = NULL;
}
