/* pl_mem.h - allocation wrappers that abort on out-of-memory, and a bump arena.
 *
 * parley decides its out-of-memory policy once: allocation failure aborts the
 * process (as Redis and h2o do). A pl_arena serves one request, one transaction or
 * one scan; everything allocated from it is released by pl_arena_free(). */
#ifndef PL_MEM_H
#define PL_MEM_H

#include <stddef.h>

void *pl_xmalloc(size_t n);
void *pl_xcalloc(size_t n, size_t size);
void *pl_xrealloc(void *p, size_t n);
char *pl_xstrdup(const char *s);
char *pl_xstrndup(const char *s, size_t n);

typedef struct pl_arena pl_arena;

pl_arena *pl_arena_new(void);
/* Releases the arena and everything allocated from it. NULL is a no-op. */
void pl_arena_free(pl_arena *a);
/* Memory owned by the arena, aligned for any type. */
void *pl_arena_alloc(pl_arena *a, size_t n);
char *pl_arena_strdup(pl_arena *a, const char *s);
char *pl_arena_strndup(pl_arena *a, const char *s, size_t n);
char *pl_arena_printf(pl_arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
