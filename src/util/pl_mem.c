/* pl_mem.c - aborting allocators and a simple chunked bump arena. */
#include "util/pl_mem.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void oom(size_t n) {
  fprintf(stderr, "parley: out of memory allocating %zu bytes\n", n);
  abort();
}

void *pl_xmalloc(size_t n) {
  void *p = malloc(n ? n : 1);
  if (!p) oom(n);
  return p;
}

void *pl_xcalloc(size_t n, size_t size) {
  void *p = calloc(n ? n : 1, size ? size : 1);
  if (!p) oom(n * size);
  return p;
}

void *pl_xrealloc(void *p, size_t n) {
  void *q = realloc(p, n ? n : 1);
  if (!q) oom(n);
  return q;
}

static atomic_size_t fail_from; /* 0: no injected failures */

void pl_mem_fail_from(size_t min_bytes) { atomic_store(&fail_from, min_bytes); }

static bool injected(size_t n) {
  size_t f = atomic_load_explicit(&fail_from, memory_order_relaxed);
  return f && n >= f;
}

void *pl_try_malloc(size_t n) { return injected(n) ? NULL : malloc(n ? n : 1); }

void *pl_try_realloc(void *p, size_t n) { return injected(n) ? NULL : realloc(p, n ? n : 1); }

char *pl_xstrdup(const char *s) { return pl_xstrndup(s, strlen(s)); }

char *pl_xstrndup(const char *s, size_t n) {
  char *p = pl_xmalloc(n + 1);
  memcpy(p, s, n);
  p[n] = '\0';
  return p;
}

typedef struct chunk {
  struct chunk *next;
  size_t used, cap;
  max_align_t data[];
} chunk;

typedef struct deferred {
  struct deferred *next;
  void (*fn)(void *);
  void *p;
} deferred;

struct pl_arena {
  chunk *head;
  deferred *defer; /* newest first */
};

#define ARENA_CHUNK 8192
#define ARENA_KEEP (1024 * 1024) /* what a reset keeps at most */

pl_arena *pl_arena_new(void) { return pl_xcalloc(1, sizeof(pl_arena)); }

static void run_deferred(pl_arena *a) {
  /* A cleanup may defer another: take the list, then run it, until none is left. */
  while (a->defer) {
    deferred *d = a->defer;
    a->defer = NULL;
    for (deferred *n; d; d = n) {
      n = d->next;
      d->fn(d->p);
    }
  }
}

static void free_chunks(chunk *c) {
  for (chunk *n; c; c = n) {
    n = c->next;
    free(c);
  }
}

void pl_arena_free(pl_arena *a) {
  if (!a) return;
  run_deferred(a);
  free_chunks(a->head);
  free(a);
}

static void *arena_alloc(pl_arena *a, size_t n, bool fallible) {
  const size_t align = _Alignof(max_align_t);
  if (n > SIZE_MAX / 2) {
    if (fallible) return NULL;
    oom(n);
  }
  n = (n + align - 1) & ~(align - 1);
  if (!n) n = align;
  chunk *c = a->head;
  if (!c || c->cap - c->used < n) {
    size_t cap = n > ARENA_CHUNK ? n : ARENA_CHUNK;
    chunk *nc = fallible ? pl_try_malloc(sizeof(chunk) + cap) : pl_xmalloc(sizeof(chunk) + cap);
    if (!nc) return NULL;
    nc->used = 0;
    nc->cap = cap;
    if (c && n > ARENA_CHUNK) {
      /* A big block goes behind the current chunk so the current one keeps serving. */
      nc->next = c->next;
      c->next = nc;
      nc->used = n;
      return nc->data;
    }
    nc->next = c;
    a->head = c = nc;
  }
  void *p = (char *)c->data + c->used;
  c->used += n;
  return p;
}

void *pl_arena_alloc(pl_arena *a, size_t n) { return arena_alloc(a, n, false); }

void pl_arena_reset(pl_arena *a) {
  run_deferred(a);
  chunk *c = a->head;
  if (!c) return;
  if (c->next) {
    /* After a use that needed several chunks, one as large as all of them (up to
     * ARENA_KEEP), so that the same use next time allocates nothing. */
    size_t total = 0;
    for (chunk *q = c; q; q = q->next) total += q->cap;
    free_chunks(c);
    a->head = c = NULL;
    if (total > ARENA_KEEP) return;
    c = pl_xmalloc(sizeof(chunk) + total);
    c->next = NULL;
    c->cap = total;
    a->head = c;
  }
  c->used = 0;
}

void pl_arena_defer(pl_arena *a, void (*fn)(void *), void *p) {
  deferred *d = arena_alloc(a, sizeof *d, false);
  d->fn = fn;
  d->p = p;
  d->next = a->defer;
  a->defer = d;
}


void *pl_arena_try_alloc(pl_arena *a, size_t n) { return arena_alloc(a, n, true); }

char *pl_arena_strndup(pl_arena *a, const char *s, size_t n) {
  char *p = pl_arena_alloc(a, n + 1);
  memcpy(p, s, n);
  p[n] = '\0';
  return p;
}

char *pl_arena_strdup(pl_arena *a, const char *s) {
  return s ? pl_arena_strndup(a, s, strlen(s)) : NULL;
}

char *pl_arena_printf(pl_arena *a, const char *fmt, ...) {
  va_list ap, ap2;
  va_start(ap, fmt);
  va_copy(ap2, ap);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  char *p = pl_arena_alloc(a, (size_t)(n < 0 ? 0 : n) + 1);
  vsnprintf(p, (size_t)(n < 0 ? 0 : n) + 1, fmt, ap2);
  va_end(ap2);
  return p;
}
