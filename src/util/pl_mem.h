/* pl_mem.h - allocation wrappers that abort on out-of-memory, fallible ones for sizes a
 * client controls, and a bump arena.
 *
 * parley decides its out-of-memory policy once: allocation failure aborts the
 * process (as Redis and h2o do), except where a client decides the size (a request
 * body, a rendered template, the JSON of a large view): there the pl_try_ functions
 * return NULL and the request is answered 503 out_of_memory, so that one client cannot
 * take the process down for every tenant. A pl_arena serves one request, one
 * transaction or one scan; everything allocated from it is released by pl_arena_free(),
 * and what it owns that is not its memory is released by the cleanups given to
 * pl_arena_defer() (as h2o's pools take dispose callbacks). */
#ifndef PL_MEM_H
#define PL_MEM_H

#include <stddef.h>

void *pl_xmalloc(size_t n);
void *pl_xcalloc(size_t n, size_t size);
void *pl_xrealloc(void *p, size_t n);
char *pl_xstrdup(const char *s);
char *pl_xstrndup(const char *s, size_t n);

/* Fallible: NULL when the memory is not there (or the fault injection below says so). */
void *pl_try_malloc(size_t n);
void *pl_try_realloc(void *p, size_t n);

/* Fault injection for tests (as SQLite's): from now on, every fallible allocation of at
 * least min_bytes fails; 0 turns it off. The aborting allocators are not affected.
 * `parley serve` reads PARLEY_TEST_ALLOC_FAIL_FROM (bytes) only when built with
 * PARLEY_FAULT_INJECTION (the CMake option; off in Release builds). */
void pl_mem_fail_from(size_t min_bytes);

typedef struct pl_arena pl_arena;

pl_arena *pl_arena_new(void);
/* Runs the arena's cleanups, then releases it and everything allocated from it. NULL is a
 * no-op. */
void pl_arena_free(pl_arena *a);
/* Runs the cleanups and empties the arena for the next use (a mail transaction, a policy
 * scan), keeping its memory: one chunk as large as the last use needed, up to 1 MiB. */
void pl_arena_reset(pl_arena *a);
/* fn(p) runs when the arena is reset or freed, the newest first: the arena owns p (a JSON
 * value, a statement, a file). */
void pl_arena_defer(pl_arena *a, void (*fn)(void *), void *p);
/* Memory owned by the arena, aligned for any type. */
void *pl_arena_alloc(pl_arena *a, size_t n);
/* Fallible: NULL (and the arena unchanged) when the memory is not there. */
void *pl_arena_try_alloc(pl_arena *a, size_t n);
char *pl_arena_strdup(pl_arena *a, const char *s);
char *pl_arena_strndup(pl_arena *a, const char *s, size_t n);
char *pl_arena_printf(pl_arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
