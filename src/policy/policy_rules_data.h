/* policy_rules_data.h - rule files embedded into libparley at build time (rules/ *.rules). */
#ifndef PL_POLICY_RULES_DATA_H
#define PL_POLICY_RULES_DATA_H

#include <stddef.h>

typedef struct {
  const char *name; /* file name, e.g. "en.rules" */
  const char *text; /* NUL-terminated contents */
  size_t len;
} policy_rule_file;

/* Terminated by an entry with name == NULL. */
extern const policy_rule_file policy_rule_files[];

#endif
