/* policy_rules.c - rule files: parsing, compiling every pattern into one Vectorscan database, matching. */
#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "policy/policy_int.h"

void policy__strs_add(policy__strs *s, const char *str, size_t len) {
  if (policy__strs_has(s, str, len)) return;
  if (s->n == s->cap) {
    s->cap = s->cap ? s->cap * 2 : 16;
    s->v = pl_xrealloc(s->v, s->cap * sizeof *s->v);
  }
  char *c = pl_xstrndup(str, len);
  for (char *p = c; *p; p++) *p = (char)tolower((unsigned char)*p);
  s->v[s->n++] = c;
}

bool policy__strs_has(const policy__strs *s, const char *str, size_t len) {
  for (size_t k = 0; k < s->n; k++)
    if (strlen(s->v[k]) == len && !strncasecmp(s->v[k], str, len)) return true;
  return false;
}

void policy__strs_free(policy__strs *s) {
  for (size_t k = 0; k < s->n; k++) free(s->v[k]);
  free(s->v);
  memset(s, 0, sizeof *s);
}

void policy__patterns_free(policy__patterns *p) {
  for (size_t k = 0; k < p->n; k++) free(p->expr[k]), free(p->where[k]);
  free(p->expr);
  free(p->where);
  free(p->flags);
  free(p->ids);
  memset(p, 0, sizeof *p);
}

static void patterns_add(policy__patterns *p, char *expr, char *where, unsigned flags, unsigned id) {
  if (p->n == p->cap) {
    p->cap = p->cap ? p->cap * 2 : 256;
    p->expr = pl_xrealloc(p->expr, p->cap * sizeof *p->expr);
    p->where = pl_xrealloc(p->where, p->cap * sizeof *p->where);
    p->flags = pl_xrealloc(p->flags, p->cap * sizeof *p->flags);
    p->ids = pl_xrealloc(p->ids, p->cap * sizeof *p->ids);
  }
  p->expr[p->n] = expr;
  p->where[p->n] = where;
  p->flags[p->n] = flags;
  p->ids[p->n] = id;
  p->n++;
}

static unsigned add_rule(policy_config *cfg, const char *id, policy__cat cat, policy__sev sev, bool except) {
  if (cfg->nrules == cfg->caprules) {
    cfg->caprules = cfg->caprules ? cfg->caprules * 2 : 256;
    cfg->rules = pl_xrealloc(cfg->rules, cfg->caprules * sizeof *cfg->rules);
  }
  cfg->rules[cfg->nrules] = (policy__rule){pl_xstrdup(id), cat, sev, except};
  return (unsigned)cfg->nrules++;
}

/* A growing string for building regular expressions. */
typedef struct {
  char *s;
  size_t n, cap;
} sbuf;

static void sb_put(sbuf *b, const char *s, size_t n) {
  if (b->n + n + 1 > b->cap) {
    b->cap = (b->n + n + 1) * 2;
    b->s = pl_xrealloc(b->s, b->cap);
  }
  memcpy(b->s + b->n, s, n);
  b->n += n;
  b->s[b->n] = '\0';
}
static void sb_puts(sbuf *b, const char *s) { sb_put(b, s, strlen(s)); }

/* Turns a normalised phrase into a regular expression: words must stand alone,
 * spaces and hyphens between words are interchangeable, `*` ends a word prefix. */
static char *phrase_regex(const char *ph) {
  sbuf b = {0};
  size_t n = strlen(ph);
  if (n && isalnum((unsigned char)ph[0])) sb_puts(&b, "\\b");
  for (size_t i = 0; i < n; i++) {
    char c = ph[i];
    if (c == ' ') sb_puts(&b, "[ \\-]+");
    else if (c == '-') sb_puts(&b, "[ \\-]?");
    else if (c == '\'') sb_puts(&b, "['\\x{20}]?");
    else if (c == '*' && (i + 1 == n || ph[i + 1] == ' ')) sb_puts(&b, "\\w*");
    else if (isalnum((unsigned char)c) || (unsigned char)c >= 0x80) sb_put(&b, &c, 1);
    else {
      char esc[8];
      snprintf(esc, sizeof esc, "\\x%02x", (unsigned char)c);
      sb_puts(&b, esc);
    }
  }
  if (n && (isalnum((unsigned char)ph[n - 1]) || ph[n - 1] == '*')) sb_puts(&b, "\\b");
  if (!b.s) sb_puts(&b, "");
  return b.s;
}

static const char *next_tok(const char **p, const char *end, size_t *len) {
  const char *s = *p;
  while (s < end && (*s == ' ' || *s == '\t')) s++;
  const char *t = s;
  while (s < end && *s != ' ' && *s != '\t') s++;
  *len = (size_t)(s - t);
  *p = s;
  return t;
}

pl_err policy__rules_load(policy_config *cfg, const char *name, const char *text, size_t len,
                          policy__patterns *pats, pl_detail *d) {
  char lang[16];
  snprintf(lang, sizeof lang, "%s", name);
  char *dot = strchr(lang, '.');
  if (dot) *dot = '\0';
  pl_arena *a = pl_arena_new();
  pl_err rc = PL_OK;
  const char *p = text, *end = text + len;
  int line = 0;
  while (p < end) {
    const char *eol = memchr(p, '\n', (size_t)(end - p));
    if (!eol) eol = end;
    line++;
    const char *q = p;
    const char *le = eol;
    p = eol + 1;
    while (le > q && (le[-1] == '\r' || le[-1] == ' ' || le[-1] == '\t')) le--;
    while (q < le && (*q == ' ' || *q == '\t')) q++;
    if (q == le || *q == '#') continue;
    size_t tl;
    const char *t = next_tok(&q, le, &tl);
    if (*t == '@') {
      policy__strs *list = NULL;
      if (tl == 5 && !memcmp(t, "@lang", 5)) {
        const char *v = next_tok(&q, le, &tl);
        if (!tl || tl >= sizeof lang) {
          rc = pl_fail(d, PL_EINVAL, "%s:%d: @lang needs a short name", name, line);
          goto out;
        }
        memcpy(lang, v, tl);
        lang[tl] = '\0';
        continue;
      }
      if (tl == 6 && !memcmp(t, "@allow", 6)) list = &cfg->allow;
      else if (tl == 10 && !memcmp(t, "@shortener", 10)) list = &cfg->shorteners;
      else if (tl == 6 && !memcmp(t, "@brand", 6)) list = &cfg->brands;
      else if (tl == 9 && !memcmp(t, "@freemail", 9)) list = &cfg->freemail;
      else {
        rc = pl_fail(d, PL_EINVAL, "%s:%d: unknown directive %.*s", name, line, (int)tl, t);
        goto out;
      }
      for (;;) {
        const char *v = next_tok(&q, le, &tl);
        if (!tl) break;
        policy__strs_add(list, v, tl);
      }
      continue;
    }
    size_t idl = tl;
    const char *id = t;
    size_t cl, sl;
    const char *cat = next_tok(&q, le, &cl);
    const char *sev = next_tok(&q, le, &sl);
    while (q < le && (*q == ' ' || *q == '\t')) q++;
    if (!cl || !sl || q >= le) {
      rc = pl_fail(d, PL_EINVAL, "%s:%d: expected `ID CATEGORY SEVERITY PATTERN`", name, line);
      goto out;
    }
    char catname[32];
    snprintf(catname, sizeof catname, "%.*s", (int)(cl < 31 ? cl : 31), cat);
    bool except = !strncmp(catname, "not-", 4);
    int ci = policy__cat_from_name(except ? catname + 4 : catname);
    if (ci < 0) {
      rc = pl_fail(d, PL_EINVAL, "%s:%d: unknown category %s", name, line, catname);
      goto out;
    }
    policy__sev sv;
    if (sl == 4 && !memcmp(sev, "high", 4)) sv = POLICY_SEV_HIGH;
    else if (sl == 6 && !memcmp(sev, "medium", 6)) sv = POLICY_SEV_MEDIUM;
    else if (sl == 3 && !memcmp(sev, "low", 3)) sv = POLICY_SEV_LOW;
    else {
      rc = pl_fail(d, PL_EINVAL, "%s:%d: severity must be high, medium or low", name, line);
      goto out;
    }
    char *expr;
    size_t pl = (size_t)(le - q);
    if (pl >= 2 && q[0] == '/' && le[-1] == '/') expr = pl_xstrdup(policy__normalize_regex(cfg, a, q + 1, pl - 2));
    else expr = phrase_regex(policy__normalize_phrase(cfg, a, q, pl));
    char fullid[160];
    snprintf(fullid, sizeof fullid, "%s.%.*s", lang, (int)(idl < 120 ? idl : 120), id);
    unsigned rid = add_rule(cfg, fullid, (policy__cat)ci, sv, except);
    char where[96];
    snprintf(where, sizeof where, "%s:%d", name, line);
    patterns_add(pats, expr, pl_xstrdup(where), HS_FLAG_SOM_LEFTMOST | HS_FLAG_CASELESS, rid);
  }
out:
  pl_arena_free(a);
  return rc;
}

/* Spelled-out digits in the five languages (normalised), counted during the one
 * pass so that the spelled-phone detector runs only when there are some. */
static const char number_words_re[] =
  "\\b(zero|one|two|three|four|five|six|seven|eight|nine|oh|cero|uno|dos|tres|cuatro|cinco|seis|siete|"
  "ocho|nueve|null|eins|zwei|zwo|drei|vier|funf|sechs|sieben|acht|neun|un|une|deux|trois|quatre|cinq|"
  "sept|huit|neuf|due|tre|quattro|cinque|sei|sette|otto|nove|dix|onze|douze|treize|quatorze|quinze|seize|"
  "vingts?|trente|quarante|cinquante|soixante)\\b";

static pl_err compile_failed(policy__patterns *pats, hs_compile_error_t *err, size_t k, pl_detail *d) {
  pl_err rc;
  if (k < pats->n)
    rc = pl_fail(d, PL_EINVAL, "%s: %s: pattern %s", pats->where[k], err ? err->message : "compile failed", pats->expr[k]);
  else rc = pl_fail(d, PL_EINVAL, "rules: %s", err ? err->message : "compile failed");
  hs_free_compile_error(err);
  return rc;
}

/* The per-rule start-of-match databases are independent: several threads take
 * patterns from a shared counter while the calling thread compiles the shared one. */
typedef struct {
  policy_config *cfg;
  policy__patterns *pats;
  atomic_size_t next;
  pthread_mutex_t mu;
  size_t failed; /* the lowest pattern that did not compile, or SIZE_MAX */
  hs_compile_error_t *err;
} som_job;

static void som_fail(som_job *j, size_t k, hs_compile_error_t *err) {
  pthread_mutex_lock(&j->mu);
  if (k < j->failed) {
    hs_free_compile_error(j->err);
    j->failed = k, j->err = err;
  } else {
    hs_free_compile_error(err);
  }
  pthread_mutex_unlock(&j->mu);
}

static void *som_worker(void *arg) {
  som_job *j = arg;
  const policy__patterns *pats = j->pats;
  for (size_t k; (k = atomic_fetch_add(&j->next, 1)) < pats->n;) {
    if (!(pats->flags[k] & HS_FLAG_SOM_LEFTMOST)) continue;
    hs_compile_error_t *err = NULL;
    hs_database_t **db = &j->cfg->som[pats->ids[k]];
    if (hs_compile(pats->expr[k], pats->flags[k], HS_MODE_BLOCK, NULL, db, &err) != HS_SUCCESS) {
      som_fail(j, k, err);
      continue;
    }
    hs_expr_info_t *info = NULL;
    if (hs_expression_info(pats->expr[k], pats->flags[k], &info, &err) != HS_SUCCESS) {
      som_fail(j, k, err);
      continue;
    }
    /* An anchor would match at the edge of a window where the text has none. */
    bool anchored = strchr(pats->expr[k], '^') || strchr(pats->expr[k], '$');
    if (!anchored && info->max_width != UINT_MAX && info->max_width < (1u << 20))
      j->cfg->som_width[pats->ids[k]] = info->max_width;
    free(info);
  }
  return NULL;
}

/* Compiles the shared ends-only database and one start-of-match database per rule. */
static pl_err compile_all(policy_config *cfg, policy__patterns *pats, pl_detail *d) {
  cfg->som = pl_xcalloc(cfg->nrules, sizeof *cfg->som);
  cfg->som_width = pl_xcalloc(cfg->nrules, sizeof *cfg->som_width);
  som_job job = {.cfg = cfg, .pats = pats, .failed = SIZE_MAX};
  atomic_init(&job.next, 0);
  pthread_mutex_init(&job.mu, NULL);
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  size_t nthreads = cpus > 1 ? (size_t)(cpus - 1 < 8 ? cpus - 1 : 8) : 0, started = 0;
  pthread_t th[8];
  while (started < nthreads && pthread_create(&th[started], NULL, som_worker, &job) == 0) started++;
  hs_compile_error_t *err = NULL;
  unsigned *ends_only = pl_xmalloc(pats->n * sizeof *ends_only);
  for (size_t k = 0; k < pats->n; k++) ends_only[k] = pats->flags[k] & ~(unsigned)HS_FLAG_SOM_LEFTMOST;
  hs_error_t hr = hs_compile_multi((const char *const *)pats->expr, ends_only, pats->ids, (unsigned)pats->n,
                                   HS_MODE_BLOCK, NULL, &cfg->db, &err);
  free(ends_only);
  som_worker(&job); /* then help with what is left (all of it, if no thread started) */
  for (size_t t = 0; t < started; t++) pthread_join(th[t], NULL);
  pthread_mutex_destroy(&job.mu);
  pl_err rc = PL_OK;
  if (hr != HS_SUCCESS) {
    rc = compile_failed(pats, err, err && err->expression >= 0 ? (size_t)err->expression : SIZE_MAX, d);
    hs_free_compile_error(job.err);
  } else if (job.failed != SIZE_MAX) {
    rc = compile_failed(pats, job.err, job.failed, d);
  }
  return rc;
}

pl_err policy__rules_compile(policy_config *cfg, policy__patterns *pats, const char *cache_dir, pl_detail *d) {
  cfg->number_rule = add_rule(cfg, "internal.number_word", POLICY_CAT_PHONE, POLICY_SEV_LOW, false);
  patterns_add(pats, pl_xstrdup(number_words_re), pl_xstrdup("internal"), HS_FLAG_CASELESS, cfg->number_rule);
  char path[4096];
  bool cache = cache_dir && *cache_dir && policy__cache_path(cache_dir, pats, path, sizeof path);
  cfg->from_cache = cache && policy__cache_load(cfg, path);
  if (!cfg->from_cache) {
    pl_err rc = compile_all(cfg, pats, d);
    if (rc) return rc;
    if (cache) policy__cache_save(cfg, cache_dir, path);
  }
  /* One scratch, grown to fit every database, is what each worker clones. */
  if (hs_alloc_scratch(cfg->db, &cfg->proto) != HS_SUCCESS)
    return pl_fail(d, PL_EINTERNAL, "rules: cannot allocate scratch space");
  for (size_t k = 0; k < cfg->nrules; k++)
    if (cfg->som[k] && hs_alloc_scratch(cfg->som[k], &cfg->proto) != HS_SUCCESS)
      return pl_fail(d, PL_EINTERNAL, "rules: cannot allocate scratch space");
  return PL_OK;
}

policy__worker *policy__worker_take(policy_config *cfg) {
  policy__worker *w = NULL;
  pthread_mutex_lock(&cfg->pool_lock);
  if (cfg->npool) w = cfg->pool[--cfg->npool];
  pthread_mutex_unlock(&cfg->pool_lock);
  if (!w) {
    w = pl_xcalloc(1, sizeof *w);
    w->mem = pl_arena_new();
    if (cfg->proto && hs_clone_scratch(cfg->proto, &w->scratch) != HS_SUCCESS) abort(); /* out of memory */
  }
  return w;
}

void policy__worker_give(policy_config *cfg, policy__worker *w) {
  pl_arena_reset(w->mem);
  pthread_mutex_lock(&cfg->pool_lock);
  if (cfg->npool == cfg->cappool) {
    cfg->cappool = cfg->cappool ? cfg->cappool * 2 : 8;
    cfg->pool = pl_xrealloc(cfg->pool, cfg->cappool * sizeof *cfg->pool);
  }
  cfg->pool[cfg->npool++] = w;
  pthread_mutex_unlock(&cfg->pool_lock);
}

void policy__worker_free(policy__worker *w) {
  if (!w) return;
  hs_free_scratch(w->scratch);
  pl_arena_free(w->mem);
  free(w);
}

typedef struct {
  policy__scan *sc;
  unsigned *found; /* rules the fast pass reported, each once */
  size_t nfound;
  uint8_t *seen;              /* per rule */
  uint32_t *first, *last;     /* per reported rule: its first and last match end */
} find_ctx;

/* The fast pass: which rules match at all, and the spelled-out digits. */
static int on_end(unsigned id, unsigned long long from, unsigned long long to, unsigned flags, void *ctx) {
  (void)from, (void)to, (void)flags;
  find_ctx *f = ctx;
  if (id == f->sc->cfg->number_rule) { /* not a finding: tells the phone detector to look */
    f->sc->number_words++;
    return 0;
  }
  if (!f->seen[id]) {
    f->seen[id] = 1;
    f->first[id] = (uint32_t)to;
    f->found[f->nfound++] = id;
  }
  f->last[id] = (uint32_t)to;
  return 0;
}

typedef struct {
  policy__scan *sc;
  const policy__buf *view;
  const uint8_t *changed; /* for the alternative view: keep only matches over changes */
  const policy__rule *rule;
  size_t base;       /* where in the view the scanned window starts */
  uint32_t last_end; /* end of the rule's last kept match, to drop overlaps */
} match_ctx;

static int on_match(unsigned id, unsigned long long from, unsigned long long to, unsigned flags,
                    void *ctx) {
  (void)id, (void)flags;
  match_ctx *m = ctx;
  if (to <= from) return 0;
  from += m->base, to += m->base;
  /* An exception keeps every match, so that its longest reach counts (a refusal followed by
   * a list of names, "we can't accept PayPal or a bank transfer", covers both names). Its
   * pattern decides how far that may reach. */
  if (!m->rule->except && m->last_end && from < m->last_end) return 0;
  if (m->changed) {
    bool over = false;
    for (unsigned long long k = from; k < to && !over; k++) over = m->changed[k];
    if (!over) return 0;
  }
  m->last_end = (uint32_t)to;
  size_t n0 = m->sc->nhits;
  policy__hit_view(m->sc, m->view, (size_t)from, (size_t)to, m->rule->cat, m->rule->sev, m->rule->id);
  if (m->sc->nhits > n0) {
    m->sc->hits[n0].except = m->rule->except;
    m->sc->hits[n0].pattern = true;
  }
  return 0;
}

/* Runs the fast pass over one view, then each rule it reported alone for spans. */
static void match_view(policy__scan *sc, find_ctx *f, const policy__buf *view, const uint8_t *changed) {
  const policy_config *cfg = sc->cfg;
  hs_scratch_t *scr = sc->worker->scratch;
  f->nfound = 0;
  memset(f->seen, 0, cfg->nrules);
  hs_scan(cfg->db, view->s, (unsigned)view->len, 0, scr, on_end, f);
  const char *s = view->s;
  size_t n = view->len;
  for (size_t k = 0; k < f->nfound; k++) {
    unsigned id = f->found[k];
    if (!cfg->som[id]) continue;
    /* Every match of a bounded rule starts at most its width before its end, so the
     * window from there to its last end holds them all. The window's edges are
     * moved out to spaces so that \b sees the same neighbours as in the whole text. */
    size_t a = 0, b = n;
    uint32_t w = cfg->som_width[id];
    if (w) {
      a = f->first[id] > w ? f->first[id] - w : 0;
      while (a > 0 && s[a - 1] != ' ') a--;
      b = f->last[id];
      while (b < n && s[b] != ' ') b++;
    }
    match_ctx m = {sc, view, changed, &cfg->rules[id], a, 0};
    hs_scan(cfg->som[id], s + a, (unsigned)(b - a), 0, scr, on_match, &m);
  }
}

void policy__match(policy__scan *sc) {
  const policy_config *cfg = sc->cfg;
  if (!cfg->db || sc->norm.len == 0) return;
  find_ctx f = {sc, pl_arena_alloc(sc->mem, cfg->nrules * sizeof(unsigned)), 0, pl_arena_alloc(sc->mem, cfg->nrules),
                pl_arena_alloc(sc->mem, cfg->nrules * sizeof(uint32_t)),
                pl_arena_alloc(sc->mem, cfg->nrules * sizeof(uint32_t))};
  match_view(sc, &f, &sc->norm, NULL);
  if (sc->has_alt) match_view(sc, &f, &sc->alt, sc->alt_changed);
}
