/* policy.h - the content policy engine: seller text in, verdict out.
 *
 * Pure: no global state, and no I/O but the optional configuration file and compile
 * cache. A policy_config is compiled once from rule data and options, is immutable
 * afterwards, and is reference-counted so that a reload can swap it while requests
 * in flight keep the one they hold. */
#ifndef PL_POLICY_H
#define PL_POLICY_H

#include <stdbool.h>
#include <stddef.h>

#include "util/pl_err.h"

typedef enum {
  POLICY_DELIVER = 0,
  POLICY_REVIEW = 1,  /* held for a human in the operator's review queue */
  POLICY_REJECT = 2,
} policy_action;

/* Returns "deliver", "review" or "reject". */
const char *policy_action_name(policy_action a);

/* A category of the policy, in words: name ("link", the findings' category), label ("Link"),
 * phrase ("a link or web address outside the marketplace", for a sentence) and hint (how
 * to rewrite the text). All static. */
typedef struct {
  const char *name, *label, *phrase, *hint;
} policy_category;

/* Every category, in the order docs/policy.md "Categories" lists them; *n of them. */
const policy_category *policy_categories(size_t *n);
/* The category of that name, or NULL. */
const policy_category *policy_category_find(const char *name);

typedef struct {
  const char *category; /* as docs/policy.md "Categories" lists them: "link", "email", "phone", ... (static) */
  const char *rule;     /* rule id, e.g. "en.review.leave_review" (owned by the verdict) */
  size_t start, end;    /* byte offsets into the original text, end exclusive */
  char *text;           /* the matched original text (owned by the verdict) */
} policy_finding;

/* The learned second stage's score for one category: the probability, 0 to 1, that the
 * message belongs to it (docs/policy.md "The learned second stage"). */
typedef struct {
  const char *category; /* static */
  double score;
} policy_score;

typedef struct {
  policy_action action;
  size_t nfindings;
  policy_finding *findings; /* owned by the verdict */
  const char *engine;       /* engine name and version, with the classifier model's (static) */
  size_t nscores;           /* the classifier's scores, one per category it has a model for; */
  policy_score scores[11];  /* none when no model is embedded or the operator turned it off */
} policy_verdict;

typedef struct policy_config policy_config;

typedef struct {
  /* https domains allowed besides the rule data's defaults (the marketplace's own
   * domains and operator additions); NULL-terminated, copied. */
  const char *const *allow_domains;
  /* Optional operator configuration file (JSON); NULL for defaults. */
  const char *config_path;
  /* Optional directory for compiled databases (created when absent): compiling takes
   * seconds, reading a set compiled from the same rules takes milliseconds. NULL: none.
   * The engine's one other piece of I/O besides config_path. */
  const char *cache_dir;
} policy_options;

/* Compiles a configuration. On success *out holds one reference. On failure a
 * message is written into d. */
pl_err policy_config_new(const policy_options *opt, policy_config **out, pl_detail *d);
policy_config *policy_config_ref(policy_config *cfg);
/* Drops one reference; the last one frees. NULL is a no-op. */
void policy_config_unref(policy_config *cfg);

/* Scans len bytes of UTF-8 text. Fills *out (free with policy_verdict_free).
 * Invalid UTF-8 is PL_EUTF8. Thread-safe for concurrent scans on one config. */
pl_err policy_scan(const policy_config *cfg, const char *text, size_t len, policy_verdict *out);
/* The same, with further https domains allowed for this scan only (NULL-terminated;
 * NULL for none): a service shares one compiled configuration among marketplaces and
 * passes each marketplace's own domains here. */
pl_err policy_scan_allow(const policy_config *cfg, const char *const *allow, const char *text,
                         size_t len, policy_verdict *out);
void policy_verdict_free(policy_verdict *v);

/* Whether the labelled line id of the file named file (its base name) is in the held-out
 * fifth that the classifier is never trained on (docs/policy.md "The learned second stage"). */
bool policy_heldout(const char *file, const char *id);

/* ---- proactive messages (policy_purpose.c; docs/rules.md "Proactive messages") -------- */

/* What a message that starts a conversation is for, among the purposes the marketplace
 * forbids: none of them (the message may have a purpose of its own), a shipping
 * confirmation, a thank-you or an offer of help. */
typedef enum {
  POLICY_PURPOSE_NONE = 0,
  POLICY_PURPOSE_SHIPPING_CONFIRMATION,
  POLICY_PURPOSE_THANK_YOU,
  POLICY_PURPOSE_HELP_OFFER,
} policy_purpose;

/* The forbidden purpose of text (UTF-8, len bytes), or POLICY_PURPOSE_NONE. */
policy_purpose policy_proactive_purpose(const char *text, size_t len);
/* Why a message of that purpose may not start a conversation (static), NULL for NONE. */
const char *policy_purpose_reason(policy_purpose p);

#endif
