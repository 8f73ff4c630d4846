/* policy_int.h - the policy engine's internals, shared between the files of src/policy only. */
#ifndef PL_POLICY_INT_H
#define PL_POLICY_INT_H

#include <hs/hs.h>
#include <libpsl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <unicode/unorm2.h>
#include <unicode/uspoof.h>

#include "policy/policy.h"
#include "util/pl_mem.h"

#define POLICY_ENGINE_NAME "parley-policy/1.0"

/* The categories (docs/policy.md "Categories"), in the order findings of equal offsets are sorted. */
typedef enum {
  POLICY_CAT_LINK,
  POLICY_CAT_EMAIL,
  POLICY_CAT_PHONE,
  POLICY_CAT_OFF_PLATFORM,
  POLICY_CAT_REVIEW_REQUEST,
  POLICY_CAT_PROMOTION,
  POLICY_CAT_EMOJI,
  POLICY_CAT_PERSONAL_DATA,
  POLICY_CAT_FORMATTING,
  POLICY_CAT_PROFANITY,
  POLICY_CAT_IMPORTANT_TAG,
  POLICY_NCATS
} policy__cat;

typedef enum { POLICY_SEV_LOW = 0, POLICY_SEV_MEDIUM = 1, POLICY_SEV_HIGH = 2 } policy__sev;

const char *policy__cat_name(policy__cat c);
/* Returns -1 for an unknown name. */
int policy__cat_from_name(const char *name);

/* One pattern rule of the rule files, compiled into the shared Vectorscan database
 * under its index as the Vectorscan id. */
typedef struct {
  char *id; /* "en.review.leave_review" */
  policy__cat cat;
  policy__sev sev;
  bool except; /* "not-CATEGORY": its matches clear that category's findings they overlap */
} policy__rule;

/* A list of lower-case strings (domains, words). */
typedef struct {
  char **v;
  size_t n, cap;
} policy__strs;

void policy__strs_add(policy__strs *s, const char *str, size_t len);
bool policy__strs_has(const policy__strs *s, const char *str, size_t len);
void policy__strs_free(policy__strs *s);

/* The learned second stage (policy_classify.c): one logistic regression per category over
 * hashed word and character n-grams of the normalised text. */
#define POLICY_CLF_DIM (1u << 16)
/* Thresholds on a category's score for a model that carries none (PLCLF001, trained
 * before they were chosen at training): a finding at or above FINDING, held for review
 * from REVIEW (docs/policy.md "Default thresholds"). */
#define POLICY_CLF_FINDING 0.95f
#define POLICY_CLF_REVIEW 0.92f
/* Below this many words the classifier scores but neither finds nor holds. */
#define POLICY_CLF_MIN_WORDS 4
/* Words in the normalised text s[0, n), counted up to most (policy_classify.c). */
size_t policy__words_upto(const char *s, size_t n, size_t most);

/* The exceptions' spans a scan keeps for the classifier; past them an exception is read
 * by the classifier as if it had not matched (stricter, never looser). */
#define POLICY__MAX_EXCEPTIONS 16

typedef struct {
  policy__cat cat;
  const float *w; /* POLICY_CLF_DIM weights, in the embedded model */
  float bias;
  float finding, review; /* thresholds */
  bool operator_set;     /* the thresholds are the operator's, not the model's defaults */
  float clear;           /* below this score the category's pattern findings are dropped; -1: never */
  char rule_sure[40], rule_unsure[48]; /* "clf.promotion", "clf.promotion.uncertain" */
} policy__clf_cat;

typedef struct {
  bool enabled;
  size_t ncats;
  policy__clf_cat cats[POLICY_NCATS];
} policy__clf;

typedef struct {
  int blank_lines;    /* this many blank lines in a row are spammy */
  int caps_words;     /* an ALL-CAPS stretch of at least this many words ... */
  int caps_letters;   /* ... and at least this many capital letters */
  int exclaim_run;    /* this many ! (or ¡) in a row */
  int separator_run;  /* this many decorative characters in a row (~ * = # + •) */
  int separator_run_plain; /* the same for - _ . which also occur in plain writing */
  int phone_min_digits, phone_max_digits;
} policy__thresholds;

struct policy_config {
  atomic_int refs;
  policy__rule *rules;
  size_t nrules, caprules;
  /* Every pattern in one database that reports only where matches end: the fast
   * pass over every message. A rule it reports is then run alone from its own
   * database with leftmost start of match, which Vectorscan makes several times
   * slower, to find the spans (indexed by rule; NULL for internal patterns). */
  hs_database_t *db;
  hs_database_t **som;
  /* Per rule: the most bytes one match can span, or 0 when unbounded or when the
   * pattern has anchors; a bounded rule is run again only around its matches. */
  uint32_t *som_width;
  bool from_cache; /* the databases were read from the cache directory, not compiled */
  /* Workers for concurrent scans (Vectorscan scratch and scan memory): a scan takes
   * one from the pool or makes a new one, and gives it back afterwards, so a busy
   * service neither allocates nor shares scratch. */
  pthread_mutex_t pool_lock;
  struct policy__worker **pool;
  size_t npool, cappool;
  hs_scratch_t *proto;
  /* Unicode machinery, built once; ICU's normaliser instances are owned by ICU. */
  const UNormalizer2 *nfkc_cf, *nfd;
  USpoofChecker *spoof;
  const psl_ctx_t *psl; /* libpsl's built-in list, owned by libpsl */
  policy__strs allow;      /* https domains that are not a finding */
  policy__strs shorteners; /* URL shorteners: always a finding */
  policy__strs brands;     /* marketplace names: a look-alike host that embeds one is phishing */
  policy__strs freemail;   /* mail providers: `name at gmail dot com` is an address */
  policy_action action[POLICY_NCATS];
  policy_action low_action; /* the most a low-severity finding does */
  policy__thresholds th;
  unsigned number_rule; /* id of the internal number-word pattern */
  policy__clf clf;      /* the learned second stage; enabled when a model is embedded */
  char engine[48];      /* the verdicts' engine string */
  char version[17];     /* the model's version ("clf-" and 12 hex digits), "" without one */
  /* A configuration made by policy_config_with_model shares everything compiled with its
   * parent (which it holds a reference to) and owns only its pool, lock and model. */
  policy_config *parent;
  char *model; /* the model's bytes, owned (aligned for its floats), or NULL */
};

/* A worker: scratch space for the matcher and the scan's arena, reset after every scan.
 * Memory a scan needed stays with the worker (pl_arena_reset), so a steady stream of
 * messages allocates nothing. */
typedef struct policy__worker {
  hs_scratch_t *scratch;
  pl_arena *mem;
} policy__worker;

/* A text with, for each byte, the span of the ORIGINAL text it came from. Every
 * stage's output keeps these maps, so findings on any view map back exactly. */
typedef struct {
  char *s;
  size_t len, cap;
  uint32_t *beg, *end;
} policy__buf;

typedef struct {
  policy__cat cat;
  policy__sev sev;
  const char *rule; /* static or owned by the config */
  size_t start, end; /* into the original text */
  bool except;       /* an exception's span, not a finding */
  bool pattern;      /* found by a rule file's pattern (the classifier may clear these) */
  bool hold;         /* the classifier's uncertain band: held for review at most */
} policy__hit;

/* The scan pipeline's state: one message through decode, normalise, match, detect,
 * decide. Everything lives in the worker's memory and is reset after the scan. */
typedef struct {
  const policy_config *cfg;
  const char *const *allow; /* this scan's further allowed domains (NULL-terminated), or NULL */
  pl_arena *mem;
  policy__worker *worker;
  const char *orig;
  size_t orig_len;
  policy__buf dec;  /* HTML decoded to text (or the original text) */
  policy__buf norm; /* NFKC, case folded, no marks, skeletons, spaces collapsed */
  policy__buf deob; /* norm with spelled-out and bracketed punctuation undone */
  uint8_t *deob_flags; /* per deob byte: POLICY__SPELLED_* for punctuation that was spelled */
  policy__buf alt;      /* norm with spaced letters joined and digits-for-letters undone */
  uint8_t *alt_changed; /* per alt byte: 1 where alt differs from norm */
  bool has_alt;
  unsigned number_words; /* spelled-out digits seen by the match stage */
  policy__hit *hits;
  size_t nhits, caphits;
  /* where the exceptions matched ("we can't accept PayPal"), in the original text: the
   * classifier leaves their sentences to them and reads the others (policy__classify) */
  struct {
    policy__cat cat;
    size_t start, end;
  } exc[POLICY__MAX_EXCEPTIONS];
  size_t nexc;
  policy_score scores[POLICY_NCATS]; /* the classifier's, per category it has a model for */
  size_t nscores;
} policy__scan;

#define POLICY__SPELLED_WORD 1    /* " dot ", " at " written as a plain word */
#define POLICY__SPELLED_BRACKET 2 /* "[.]", "(at)", "hxxp", " . " */
#define POLICY__SPELLED_SPACED 3  /* a letter or mark of a spaced-out run ("w w w . s h o p") */

void policy__buf_init(policy__scan *sc, policy__buf *b, size_t cap);
void policy__buf_put(policy__scan *sc, policy__buf *b, const char *s, size_t n, uint32_t beg,
                     uint32_t end);

void policy__hit_add(policy__scan *sc, policy__cat cat, policy__sev sev, const char *rule,
                     size_t start, size_t end);
/* Adds a hit for bytes [a, b) of view v, mapped back to the original. */
void policy__hit_view(policy__scan *sc, const policy__buf *v, size_t a, size_t b, policy__cat cat,
                      policy__sev sev, const char *rule);

/* Stages (policy_norm.c). */
void policy__decode(policy__scan *sc);
void policy__normalize(policy__scan *sc);
void policy__deobfuscate(policy__scan *sc);
/* Builds sc->alt when norm has spaced-out letters or digits written for letters
 * ("r e v i e w", "rev1ew"); phrase rules then also run over it. */
void policy__altview(policy__scan *sc);
/* Normalises a phrase of a rule file the way scanned text is normalised. Returns an
 * arena string. */
char *policy__normalize_phrase(const policy_config *cfg, pl_arena *m, const char *s, size_t n);
/* The same for a regular expression: ASCII (the syntax) is kept as written, other
 * characters are folded as in scanned text. */
char *policy__normalize_regex(const policy_config *cfg, pl_arena *m, const char *s, size_t n);

/* Detectors (policy_detect.c). */
void policy__detect_links(policy__scan *sc);
void policy__detect_emails(policy__scan *sc);
void policy__detect_phones(policy__scan *sc);
void policy__detect_emoji(policy__scan *sc);
void policy__detect_formatting(policy__scan *sc);

/* The classifier (policy_classify.c). */
/* Features of s[0, n): sorted distinct indices below POLICY_CLF_DIM and their values (L2
 * normalised); idx and val must hold policy__clf_feature_cap(n) entries. Returns how many. */
size_t policy__clf_features(const char *s, size_t n, uint32_t *idx, float *val);
size_t policy__clf_feature_cap(size_t n);
/* Reads a model into c (len 0: no model, disabled); c points into text, which must outlive it. */
pl_err policy__clf_load(policy__clf *c, const char *text, size_t len, pl_detail *d);
void policy__clf_free(policy__clf *c);
policy__clf_cat *policy__clf_find(policy__clf *c, policy__cat cat);
/* Scores the normalised text; adds findings and review holds, clears what the operator allows. */
void policy__classify(policy__scan *sc);
/* The normalised text of text as a scan sees it (decoded, normalised), for training.
 * Returns a malloc'd string (caller frees) or NULL for invalid UTF-8. */
char *policy__normalized_text(const policy_config *cfg, const char *text, size_t len);

/* Rule files (policy_rules.c). */
/* Patterns collected from rule files before they are compiled into one database. */
typedef struct {
  char **expr;
  char **where; /* "en.rules:12" for messages */
  unsigned *flags, *ids;
  size_t n, cap;
} policy__patterns;

/* Parses one rule file into cfg (rules, domain lists) and pats. name is used in
 * messages and as the default language prefix. */
pl_err policy__rules_load(policy_config *cfg, const char *name, const char *text, size_t len,
                          policy__patterns *pats, pl_detail *d);
/* Compiles the patterns into cfg's databases, or reads them from cache_dir (NULL: no
 * cache) when they were compiled from the same patterns by the same Vectorscan on the
 * same platform before; a compiled set is written there for next time. */
pl_err policy__rules_compile(policy_config *cfg, policy__patterns *pats, const char *cache_dir, pl_detail *d);

/* The cache (policy_cache.c). Best effort: a missing, foreign or damaged file is
 * compiled anew and rewritten; a directory that cannot be written is not an error. */
bool policy__cache_path(const char *dir, const policy__patterns *pats, char *out, size_t cap);
bool policy__cache_load(policy_config *cfg, const char *path);
void policy__cache_save(const policy_config *cfg, const char *dir, const char *path);
void policy__patterns_free(policy__patterns *pats);
void policy__match(policy__scan *sc);
policy__worker *policy__worker_take(policy_config *cfg);
void policy__worker_give(policy_config *cfg, policy__worker *w);
void policy__worker_free(policy__worker *w);

/* UTF-8 helpers. Decodes one code point at s[*i] (advancing *i); returns -1 for
 * invalid UTF-8. */
int32_t policy__u8_next(const char *s, size_t len, size_t *i);
size_t policy__u8_put(char *out, int32_t c);

#endif
