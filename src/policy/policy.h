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
  char engine[48];          /* engine name and version, with the classifier model's
                             * ("parley-policy/1.0+clf-" and 12 hex digits) */
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
/* The same, by the rules alone: the classifier's stage is skipped (no scores, no clf.*
 * findings, no clearing). Exact for what only the rules find (links, e-mail addresses,
 * phone numbers, personal data, the [Important] tag: the classifier never adds or clears
 * those), at a fraction of the cost: the mask of a buyer's contact details uses it. */
pl_err policy_scan_rules(const policy_config *cfg, const char *const *allow, const char *text,
                         size_t len, policy_verdict *out);
void policy_verdict_free(policy_verdict *v);

/* A configuration that is base with the classifier's model replaced by model (len bytes
 * that policy_train wrote; copied): the same rules, options, thresholds and compiled
 * databases (shared: it keeps a reference to base), and its verdicts' engine names the
 * model. A base whose operator turned the classifier off stays off. PL_EINVAL with a
 * message for bytes that are not a model. On success *out holds one reference. */
pl_err policy_config_with_model(policy_config *base, const char *model, size_t len, policy_config **out,
                                pl_detail *d);
/* The model's version in the configuration's verdicts ("clf-" and 12 hex digits), or ""
 * when it has no classifier (static or owned by cfg). */
const char *policy_config_model_version(const policy_config *cfg);

/* Whether the labelled line id of the file named file (its base name) is in the held-out
 * fifth that the classifier is never trained on (docs/policy.md "The learned second stage"). */
bool policy_heldout(const char *file, const char *id);

/* ---- training the learned second stage (policy_train.c) -------------------------------- */

/* The categories the classifier learns, k = 0, 1, ...: "off_platform", "review_request",
 * "promotion", "profanity"; NULL after the last. Links, contact details, personal data,
 * emoji, formatting and the [Important] tag are the rules' alone. */
const char *policy_learned_category(size_t k);
/* Whether the classifier learns the category of that name. */
bool policy_category_learned(const char *name);

/* A file of labelled lines, JSON {"id", "text", "categories": [...]} one a line; name is
 * its base name, which with the id decides the held-out fifth (policy_heldout). */
typedef struct {
  const char *name;
  const char *text;
  size_t len;
} policy_train_file;

/* A labelled message besides the files (an operator's decision). */
typedef struct {
  const char *text;    /* UTF-8, NUL-terminated */
  unsigned categories; /* bit k: of the category policy_categories()[k]; only learned ones
                        * count; 0: clean */
  unsigned weight;     /* counts as this many examples (0 is 1) */
} policy_example;

typedef struct {
  size_t examples;     /* lines of the files trained on */
  size_t held_out;     /* lines of the files left out: the held-out fifth */
  size_t extra;        /* examples besides the files */
  size_t positives[4]; /* per policy_learned_category(k), counting weights */
  /* per policy_learned_category(k): the default thresholds chosen by cross-validation
   * inside the training part, and the share of the category's positives whose
   * out-of-fold score reaches the review threshold */
  float finding[4], review[4];
  double oof_recall[4];
} policy_train_stats;

/* Trains the classifier on the files' lines except the held-out fifth, and the extra
 * examples: one L2-regularised logistic regression per learned category (liblinear,
 * primal Newton: the same input gives the same model, byte for byte). cfg only
 * normalises the text (any configuration will do). *model is malloc'd (caller frees),
 * *len its bytes; st (may be NULL) the counts. PL_EINVAL or PL_EUTF8 with the file and
 * line in d for a line that is not a labelled message. Takes seconds. */
pl_err policy_train(const policy_config *cfg, const policy_train_file *files, size_t nfiles,
                    const policy_example *extra, size_t nextra, char **model, size_t *len,
                    policy_train_stats *st, pl_detail *d);
/* The files the embedded model was trained on (the .jsonl files of data/policy/ and the
 * labelled cases of tests/data/policy/), embedded at build time; *n of them (static). */
const policy_train_file *policy_train_shipped(size_t *n);
/* "clf-" and the first 12 hex digits of the SHA-256 of a model's bytes, into out. */
void policy_model_version_of(const char *model, size_t len, char out[17]);

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
