/* store_shared.h - what the files written once for both backends (store_<part>.c) share:
 * running a statement through the vtable's exec entry (store.h, "the thin part"). */
#ifndef PL_STORE_SHARED_H
#define PL_STORE_SHARED_H

#include "store/store.h"
#include "store/store_row.h"

/* A list of values for ?1, ?2...: the array and its length, as exec takes them. */
#define ST_ARGS(...) ((const st_arg[]){__VA_ARGS__}), (sizeof((const st_arg[]){__VA_ARGS__}) / sizeof(st_arg))

/* Runs q, whose rows do not matter: PL_OK, PL_EEXIST when a constraint refused it. */
static inline pl_err st__run(store *s, const st_stmt *q, const st_arg *v, size_t n) {
  return s->ops->exec(s, q, v, n, NULL, NULL, NULL, NULL);
}

/* Runs q like st__run; PL_ENOTFOUND when it changed no row. */
static inline pl_err st__change(store *s, const st_stmt *q, const st_arg *v, size_t n) {
  size_t changed = 0;
  pl_err e = s->ops->exec(s, q, v, n, NULL, NULL, NULL, &changed);
  return e ? e : changed ? PL_OK : PL_ENOTFOUND;
}

/* Runs q like st__run and tells how many rows it changed. */
static inline pl_err st__count(store *s, const st_stmt *q, const st_arg *v, size_t n, size_t *changed) {
  return s->ops->exec(s, q, v, n, NULL, NULL, NULL, changed);
}

/* The first row of q into out (a struct of row's type): PL_OK or PL_ENOTFOUND. */
static inline pl_err st__get(store *s, const st_stmt *q, const st_arg *v, size_t n, const st_row *row,
                             pl_arena *a, void *out) {
  return s->ops->exec(s, q, v, n, row, a, out, NULL);
}

/* Every row of q into an arena array *out, *rows of them. */
static inline pl_err st__list(store *s, const st_stmt *q, const st_arg *v, size_t n, const st_row *row,
                              pl_arena *a, void *out, size_t *rows) {
  return s->ops->exec(s, q, v, n, row, a, out, rows);
}

/* The one text column of every row of q, as an arena array of strings, *rows of them. */
static inline pl_err st__texts(store *s, const st_stmt *q, const st_arg *v, size_t n, pl_arena *a, char ***out,
                               size_t *rows) {
  st_text *t = NULL;
  size_t k = 0;
  pl_err e = st__list(s, q, v, n, &st_text_row, a, &t, &k);
  if (e) return e;
  char **texts = pl_arena_alloc(a, (k ? k : 1) * sizeof *texts);
  for (size_t i = 0; i < k; i++) texts[i] = t[i].v;
  *out = texts;
  *rows = k;
  return PL_OK;
}

#endif
