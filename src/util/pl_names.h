/* pl_names.h - a small closed set of named values: an enum and its name table from one
 * X-macro list, as PL_ERR_MAP gives the error codes theirs.
 *
 * A list is X(CONSTANT, "name") entries. The enum takes the constants from 1 on, 0 being
 * "none" or "unknown", which has no name:
 *
 *   #define COLOUR_MAP(X) X(COLOUR_RED, "red") X(COLOUR_BLUE, "blue")
 *   typedef enum { COLOUR_NONE = 0, COLOUR_MAP(PL_NAMES_ENUM) } colour;   (in a header)
 *   const char *colour_name(colour v);
 *   pl_err colour_from_name(const char *name, colour *out);
 *   PL_NAMED(colour, COLOUR_MAP)                                           (in one .c file)
 *
 * colour_name gives the static name, or NULL for 0 and for a value outside the enum.
 * colour_from_name is exact and case-sensitive; for an unknown name or NULL it sets *out
 * to 0 and returns PL_EINVAL, so that a reader can keep the 0 and a writer can refuse. */
#ifndef PL_NAMES_H
#define PL_NAMES_H

#include <stddef.h>
#include <string.h>

#include "util/pl_err.h"

#define PL_NAMES_ENUM(name, text) name,
#define PL_NAMES_COUNT(name, text) +1
#define PL_NAMES__TEXT(name, text) [name] = text,

static inline const char *pl_names__of(const char *const *names, size_t n, int v) {
  return v > 0 && (size_t)v < n ? names[v] : NULL;
}

static inline pl_err pl_names__find(const char *const *names, size_t n, const char *name, int *out) {
  *out = 0;
  for (size_t i = 1; name && i < n; i++)
    if (names[i] && !strcmp(names[i], name)) {
      *out = (int)i;
      return PL_OK;
    }
  return PL_EINVAL;
}

/* The name table of one enum (index = value, 0 has none) and its two functions. */
#define PL_NAMED(type, MAP)                                                                   \
  static const char *const type##_names[] = {NULL, MAP(PL_NAMES__TEXT)};                      \
  const char *type##_name(type v) {                                                           \
    return pl_names__of(type##_names, sizeof type##_names / sizeof *type##_names, (int)v);    \
  }                                                                                           \
  pl_err type##_from_name(const char *name, type *out) {                                      \
    int v;                                                                                    \
    pl_err e = pl_names__find(type##_names, sizeof type##_names / sizeof *type##_names, name, &v); \
    *out = (type)v;                                                                           \
    return e;                                                                                 \
  }

#endif
