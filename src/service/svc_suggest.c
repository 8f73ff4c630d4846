/* svc_suggest.c - suggested replies (docs/team.md, "Suggested replies"): the seller's
 * templates and the seller's own past replies, ranked for the buyer message a thread
 * waits on, filled in for the agent to edit. Nothing here sends anything. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unicode/uchar.h>
#include <unicode/utf8.h>

#include "service/svc_int.h"
#include "service/svc_team.h"

#define MAX_TERMS 12         /* words of the buyer's text the full-text query takes */
#define MAX_WORDS 64         /* distinct words looked at before the longest are kept */
#define MIN_WORD 3           /* code points */
#define MAX_WORD 40          /* bytes: longer "words" are noise (hashes, pasted links) */
#define TEMPLATE_MATCHES 20  /* templates the index answers */
#define TEMPLATE_LIST 200    /* the seller's newest templates weighed for the topic */
#define TEMPLATES_RENDERED 10
#define REPLY_CANDIDATES 100 /* earlier buyer messages the index answers */
#define REPLY_MATCHES 20     /* of those, the ones with a reply */

static const svc_rules suggest_rate = {.rate_per_second = SVC_SUGGEST_RATE, .rate_burst = SVC_SUGGEST_BURST};

/* Words that say nothing of what a buyer asks, in the marketplace languages of the
 * starter set (folded, at least MIN_WORD long). */
static const char *const stop_words[] = {
    "the", "and", "for", "are", "but", "not", "you", "your", "with", "this", "that", "have", "has", "was",
    "were", "will", "would", "can", "could", "does", "did", "how", "what", "when", "where", "which", "who",
    "why", "its", "from", "they", "them", "there", "their", "then", "than", "been", "being", "into",
    "about", "just", "also", "any", "all", "our", "out", "get", "got", "please", "thanks", "thank", "hello",
    "dear", "regards", "yes", "may", "might", "should", "some", "very", "much", "many", "more", "most",
    "other", "only", "same", "such", "too", "here", "these", "those", "had", "him", "her", "his", "she",
    "one", "off", "per", "via", "don", "doesn", "didn", "isn", "aren", "wasn", "won", "hi",
    "der", "die", "das", "und", "ist", "ein", "eine", "einen", "nicht", "mit", "ich", "sie", "wir", "für",
    "auf", "den", "dem", "des", "von", "hallo", "bitte", "danke", "que", "los", "las", "del", "una", "por",
    "con", "para", "hola", "gracias", "les", "des", "une", "est", "pour", "avec", "dans", "bonjour",
    "merci", "pas", "vous", "mon", "mes", "mein", "meine", "habe", "hat", "noch", "aber", "oder", "wie",
    "was", "wann", "ciao", "grazie", "che", "per", "non", "sono", NULL};

/* The markers the contact mask leaves (svc_thread.c): not the buyer's words. */
static const char *const mask_markers[] = {"[phone number removed]", "[e-mail address removed]", NULL};

/* What a template of each purpose answers: the topics it fits. */
static bool purpose_fits(const char *purpose, const char *topic) {
  static const struct {
    const char *topic, *purposes;
  } fits[] = {
      {"item_not_received", " shipped delay "},
      {"wrong_item", " return_authorised refund_processed "},
      {"damaged_or_defective", " damaged_item return_authorised refund_processed "},
      {"return_request", " return_authorised refund_processed "},
      {"product_question", " product_question "},
      {"shipping_delivery", " shipped delay "},
      {"product_specifications", " product_question "},
      {"shipping_timeframes", " shipped delay "},
      {"customization_options", " custom_order_confirmation "},
  };
  if (!purpose || !topic || strlen(purpose) > 40) return false;
  char needle[48];
  snprintf(needle, sizeof needle, " %s ", purpose);
  for (size_t i = 0; i < sizeof fits / sizeof fits[0]; i++)
    if (!strcmp(fits[i].topic, topic)) return strstr(fits[i].purposes, needle) != NULL;
  return false;
}

static const char *topic_label(const char *topic) {
  for (int p = 0; p < 2 && topic; p++)
    for (const svc_named *t = svc_topics(p); t->id; t++)
      if (!strcmp(t->id, topic)) return t->label;
  return topic ? topic : "";
}

/* The language part of a locale ("de" of "de-DE"), lower case. */
static const char *lang_of(const char *locale, pl_arena *a) {
  if (!locale || !*locale) return "en";
  char *l = pl_arena_strndup(a, locale, strcspn(locale, "-_"));
  for (char *p = l; *p; p++)
    if (*p >= 'A' && *p <= 'Z') *p = (char)(*p - 'A' + 'a');
  return l;
}

/* ---- the buyer's words --------------------------------------------------------------- */

typedef struct {
  const char *w[MAX_TERMS];
  size_t n;
} terms;

static bool stop_word(const char *w) {
  for (size_t i = 0; stop_words[i]; i++)
    if (!strcmp(stop_words[i], w)) return true;
  return false;
}

/* The buyer's meaningful words: text folded, the mask's markers blanked, split into runs
 * of letters and digits; words shorter than MIN_WORD, longer than MAX_WORD or common are
 * dropped; of the first MAX_WORDS distinct ones, the MAX_TERMS longest, in text order.
 * Each is letters and digits only, so that the store's quoting is all the query needs. */
static void buyer_terms(const char *text, pl_arena *a, terms *out) {
  out->n = 0;
  char *f = svc__fold(text, a);
  for (size_t i = 0; mask_markers[i]; i++)
    for (char *p = strstr(f, mask_markers[i]); p; p = strstr(p, mask_markers[i]))
      memset(p, ' ', strlen(mask_markers[i]));
  const char *words[MAX_WORDS];
  size_t nw = 0;
  int32_t len = (int32_t)strlen(f), i = 0;
  while (i < len && nw < MAX_WORDS) {
    UChar32 c;
    int32_t start = i;
    U8_NEXT(f, i, len, c);
    if (c < 0 || !u_isalnum(c)) continue;
    int32_t end = i, cps = 1;
    while (i < len) {
      int32_t at = i;
      U8_NEXT(f, i, len, c);
      if (c < 0 || !u_isalnum(c)) {
        i = at; /* the next round steps over it */
        break;
      }
      end = i;
      cps++;
    }
    if (cps < MIN_WORD || end - start > MAX_WORD) continue;
    char *w = pl_arena_strndup(a, f + start, (size_t)(end - start));
    bool seen = stop_word(w);
    for (size_t k = 0; !seen && k < nw; k++) seen = !strcmp(words[k], w);
    if (!seen) words[nw++] = w;
  }
  /* the MAX_TERMS longest, ties to the earlier, kept in text order */
  bool keep[MAX_WORDS] = {0};
  for (size_t k = 0; k < nw && k < MAX_TERMS; k++) {
    size_t best = nw;
    for (size_t j = 0; j < nw; j++)
      if (!keep[j] && (best == nw || strlen(words[j]) > strlen(words[best]))) best = j;
    keep[best] = true;
  }
  for (size_t j = 0; j < nw; j++)
    if (keep[j]) out->w[out->n++] = words[j];
}

static char *terms_text(const terms *t, pl_arena *a) {
  char *s = pl_arena_strdup(a, "");
  for (size_t i = 0; i < t->n; i++) s = pl_arena_printf(a, "%s%s%s", s, i ? " " : "", t->w[i]);
  return s;
}

/* The terms the folded text holds, "charger, battery" (NULL: none), and how many. */
static const char *shared(const terms *t, const char *text, pl_arena *a, size_t *n) {
  const char *f = svc__fold(text, a);
  char *list = NULL;
  *n = 0;
  for (size_t i = 0; i < t->n; i++) {
    if (!svc__has_word(f, t->w[i])) continue;
    list = list ? pl_arena_printf(a, "%s, %s", list, t->w[i]) : pl_arena_strdup(a, t->w[i]);
    (*n)++;
  }
  return list;
}

/* ---- another thread's details out of a past reply ----------------------------------- */

static bool word_byte(unsigned char c) { return (c >= '0' && c <= '9') || ((c | 32) >= 'a' && (c | 32) <= 'z') || c >= 0x80; }

/* text with each whole-word occurrence of word (ASCII case ignored) replaced by with. */
static char *replace_word(const char *text, const char *word, const char *with, pl_arena *a, bool *hit) {
  size_t wl = strlen(word), n = 0, cap = strlen(text) + 1;
  if (!wl) return (char *)text;
  for (const char *p = text; *p; p++) cap += strlen(with); /* enough for any count of hits */
  char *out = pl_arena_alloc(a, cap);
  for (const char *p = text; *p;) {
    if (!strncasecmp(p, word, wl) && (p == text || !word_byte((unsigned char)p[-1])) &&
        !word_byte((unsigned char)p[wl])) {
      memcpy(out + n, with, strlen(with));
      n += strlen(with);
      p += wl;
      *hit = true;
    } else {
      out[n++] = *p++;
    }
  }
  out[n] = '\0';
  return out;
}

static bool is_digits(const char *p, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (p[i] < '0' || p[i] > '9') return false;
  return true;
}

/* text with every order ID (NNN-NNNNNNN-NNNNNNN) replaced by order; NULL when it holds one
 * and there is no order to put there. */
static char *replace_orders(const char *text, const char *order, pl_arena *a, bool *hit) {
  size_t len = strlen(text), n = 0;
  char *out = pl_arena_alloc(a, len + 1);
  for (size_t i = 0; i < len;) {
    const char *p = text + i;
    if (len - i >= 19 && is_digits(p, 3) && p[3] == '-' && is_digits(p + 4, 7) && p[11] == '-' &&
        is_digits(p + 12, 7) && (i == 0 || !word_byte((unsigned char)p[-1])) && !word_byte((unsigned char)p[19])) {
      if (!order || strlen(order) != 19) return NULL;
      if (strncmp(order, p, 19)) *hit = true;
      memcpy(out + n, order, 19);
      n += 19;
      i += 19;
    } else {
      out[n++] = text[i++];
    }
  }
  out[n] = '\0';
  return out;
}

/* The reply as it may be offered in thread t: the other thread's buyer's name (whole and
 * each word of it) becomes this buyer's first name, and any order ID this thread's order;
 * NULL when it names an order and this thread has none (a product question). */
static char *adapt_reply(const st_suggest_reply *r, const st_thread *t, const st_buyer *b, pl_arena *a,
                         bool *replaced) {
  *replaced = false;
  char *text = replace_orders(r->reply_text, t->order_id, a, replaced);
  if (!text) return NULL;
  const char *mine = b->name ? pl_arena_strndup(a, b->name, strcspn(b->name, " ")) : "";
  if (r->buyer_name && *r->buyer_name && (!b->name || strcmp(r->buyer_name, b->name))) {
    text = replace_word(text, r->buyer_name, mine, a, replaced);
    char *names = pl_arena_strdup(a, r->buyer_name), *save = NULL;
    for (char *w = strtok_r(names, " ", &save); w; w = strtok_r(NULL, " ", &save))
      if (strlen(w) >= 2 && strcasecmp(w, mine)) text = replace_word(text, w, mine, a, replaced);
  }
  return text;
}

/* Characters (code points) of UTF-8 text. */
static size_t utf8_chars(const char *p) {
  size_t c = 0;
  for (; *p; p++) c += ((unsigned char)*p & 0xC0) != 0x80;
  return c;
}

/* ---- ranking ------------------------------------------------------------------------- */

typedef struct {
  bool reply;
  int64_t id;
  const char *title, *text, *reason;
  double score;
} suggestion;

static double round3(double x) { return floor(x * 1000.0 + 0.5) / 1000.0; }

static int by_score(const void *x, const void *y) {
  const suggestion *a = x, *b = y;
  if (a->score != b->score) return a->score < b->score ? 1 : -1;
  if (a->reply != b->reply) return a->reply ? 1 : -1; /* a template before a reply */
  return a->id < b->id ? 1 : a->id > b->id ? -1 : 0;
}

/* The buyer message the thread waits on: the newest unflagged buyer message since the last
 * delivered reply, else the newest buyer message; as the caller sees it (masked). found
 * false when the buyer never wrote. */
static pl_err waiting_message(svc *s, const svc_caller *c, const st_thread *t, pl_arena *a, st_message *out,
                              bool *found) {
  *found = false;
  st_message *msgs;
  size_t n;
  pl_time last_buyer_at;
  pl_err e = s->st->ops->thread_tail(s->st, t->id, a, &msgs, &n, &last_buyer_at);
  if (e) return e;
  for (size_t i = n; i-- > 0;) {
    if (msgs[i].direction == ST_DIR_BUYER && msgs[i].kind == ST_KIND_MESSAGE && !msgs[i].flagged) {
      *out = msgs[i];
      *found = true;
      break;
    }
  }
  if (!*found && t->last_buyer_id) {
    e = s->st->ops->message_get(s->st, t->last_buyer_id, NULL, a, out);
    if (e == PL_ENOTFOUND) return PL_OK;
    if (e) return e;
    *found = true;
  }
  if (*found) svc__view(s, c, t->marketplace_id, out, 1, a);
  return PL_OK;
}

/* Templates: those the index finds with the buyer's words, and the seller's newest ones
 * that fit the topic; weighed, and the best rendered for the thread. */
static pl_err template_suggestions(svc *s, const svc_caller *c, const st_thread *t, const st_buyer *b,
                                   const terms *tm, const char *q, pl_arena *a, suggestion *out, size_t *nout,
                                   pl_detail *d) {
  *nout = 0;
  st_suggest_template *hits = NULL;
  size_t nh = 0;
  pl_err e = PL_OK;
  if (tm->n && (e = store_suggest_templates(s->st, c->seller_id, q, TEMPLATE_MATCHES, a, &hits, &nh))) return e;
  st_team_doc *docs;
  size_t nd;
  if ((e = store_team_doc_list(s->st, c->seller_id, ST_DOC_TEMPLATE, ST_PROPOSAL_NONE, TEMPLATE_LIST, a, &docs,
                               &nd)))
    return e;
  /* the index's finds that are older than the list */
  st_team_doc *all = pl_arena_alloc(a, (nd + nh + 1) * sizeof *all);
  memcpy(all, docs, nd * sizeof *docs);
  size_t na = nd;
  for (size_t i = 0; i < nh; i++) {
    bool listed = false;
    for (size_t j = 0; j < nd && !listed; j++) listed = docs[j].id == hits[i].id;
    if (!listed && !(e = store_team_doc_get(s->st, c->seller_id, ST_DOC_TEMPLATE, hits[i].id, a, &all[na]))) na++;
    else if (e && e != PL_ENOTFOUND) return e;
  }
  double top = 0;
  for (size_t i = 0; i < nh; i++)
    if (hits[i].rank > top) top = (double)hits[i].rank;
  const char *lang = lang_of(b->locale, a);
  suggestion *cand = pl_arena_alloc(a, (na + 1) * sizeof *cand);
  json_t **bodies = pl_arena_alloc(a, (na + 1) * sizeof *bodies);
  size_t nc = 0;
  for (size_t i = 0; i < na; i++) {
    json_t *body = svc__json_keep(a, json_loads(all[i].body, 0, NULL));
    json_t *variants = json_object_get(body, "variants");
    if (!json_is_object(variants) || !svc_template_visible(c, body)) continue; /* another agent's saved reply */
    double rank = 0;
    for (size_t j = 0; j < nh; j++)
      if (hits[j].id == all[i].id && top > 0) rank = (double)hits[j].rank / top;
    const char *name = json_string_value(json_object_get(body, "name"));
    bool fits = purpose_fits(json_string_value(json_object_get(body, "purpose")), t->topic);
    bool in_lang = json_is_string(json_object_get(variants, lang));
    /* the words are looked for in the variant the buyer gets, and the name */
    json_t *v = json_object_get(variants, lang);
    if (!json_is_string(v)) v = json_object_get(variants, "en");
    const char *vt = json_is_string(v) ? json_string_value(v) : "";
    size_t ns = 0;
    const char *sh = shared(tm, pl_arena_printf(a, "%s %s", name ? name : "", vt), a, &ns);
    if (!ns && !fits && rank <= 0) continue;
    char *reason = pl_arena_strdup(a, "template");
    if (fits) reason = pl_arena_printf(a, "%s for the topic \"%s\"", reason, topic_label(t->topic));
    reason = pl_arena_printf(a, "%s%s", reason, in_lang ? " in the buyer's language" : " (not in the buyer's language)");
    if (sh) reason = pl_arena_printf(a, "%s; shares: %s", reason, sh);
    cand[nc] = (suggestion){.id = all[i].id, .title = name, .reason = reason,
                            .score = (tm->n ? 2.0 * (double)ns / (double)tm->n : 0) + rank + (fits ? 1.0 : 0) +
                                     (in_lang ? 0.5 : 0)};
    bodies[nc++] = body;
  }
  /* the best are rendered: a placeholder the thread cannot fill stays for the agent */
  for (size_t k = 0; k < nc && *nout < TEMPLATES_RENDERED; k++) {
    size_t best = k;
    for (size_t j = k + 1; j < nc; j++)
      if (cand[j].score > cand[best].score) best = j;
    suggestion sw = cand[k];
    cand[k] = cand[best];
    cand[best] = sw;
    json_t *bw = bodies[k];
    bodies[k] = bodies[best];
    bodies[best] = bw;
    char *text, *missing;
    const char *vlang;
    pl_detail why = {0};
    e = svc__team_render_open(s, bodies[k], t, a, &text, &vlang, &missing, &why);
    if (e == PL_EINVAL || e == PL_ERENDERLONG || e == PL_EMISSING) continue; /* no variant to offer */
    if (e) return pl_fail(d, e, "%s", why.msg);
    suggestion x = cand[k];
    x.text = text;
    if (missing) {
      x.reason = pl_arena_printf(a, "%s; fill in %s before sending: the thread has no value for it", x.reason, missing);
      x.score -= 0.25;
    }
    out[(*nout)++] = x;
  }
  return PL_OK;
}

/* Past replies: the seller's delivered replies that followed earlier buyer messages like
 * this one, adapted to this thread. */
static pl_err reply_suggestions(svc *s, const svc_caller *c, const st_thread *t, const st_buyer *b,
                                const terms *tm, const char *q, pl_arena *a, suggestion *out, size_t *nout) {
  *nout = 0;
  if (!tm->n) return PL_OK;
  st_suggest_reply *r;
  size_t n;
  pl_err e = store_suggest_replies(s->st, c->seller_id, t->id, q, REPLY_CANDIDATES, REPLY_MATCHES, a, &r, &n);
  if (e) return e;
  double top = 0;
  for (size_t i = 0; i < n; i++)
    if (r[i].rank > top) top = (double)r[i].rank;
  const char *lang = lang_of(b->locale, a);
  for (size_t i = 0; i < n; i++) {
    bool replaced;
    char *text = adapt_reply(&r[i], t, b, a, &replaced);
    if (!text || utf8_chars(text) > SVC_MAX_TEXT_CHARS) continue;
    bool dup = false;
    for (size_t j = 0; j < *nout && !dup; j++) dup = !strcmp(out[j].text, text);
    if (dup) continue;
    size_t ns = 0;
    const char *sh = shared(tm, r[i].asked_text ? r[i].asked_text : "", a, &ns);
    bool same_topic = r[i].topic && t->topic && !strcmp(r[i].topic, t->topic);
    bool same_lang = !strcmp(lang_of(r[i].buyer_locale, a), lang);
    char *reason = pl_arena_strdup(a, "your team's reply to a similar question");
    if (same_topic) reason = pl_arena_printf(a, "%s on the topic \"%s\"", reason, topic_label(t->topic));
    if (same_lang) reason = pl_arena_printf(a, "%s, in the buyer's language", reason);
    if (sh) reason = pl_arena_printf(a, "%s; shares: %s", reason, sh);
    if (replaced) reason = pl_arena_printf(a, "%s; the other buyer's name and order ID are replaced by this thread's", reason);
    out[(*nout)++] = (suggestion){.reply = true, .id = r[i].reply_id, .text = text, .reason = reason,
                                  .score = 2.0 * (double)ns / (double)tm->n + (top > 0 ? (double)r[i].rank / top : 0) +
                                           (same_topic ? 0.5 : 0) + (same_lang ? 0.5 : 0)};
  }
  return PL_OK;
}

pl_err svc_thread_suggestions(svc *s, const svc_caller *c, int64_t thread_id, pl_arena *a, json_t **out,
                              pl_detail *d) {
  *out = NULL;
  /* a buyer is told nothing of the team's tools; the operator is no seller's agent */
  if (c->kind == ST_PRINCIPAL_BUYER) return pl_fail(d, PL_ENOTFOUND, "no thread %s", svc_thread_ref(a, thread_id));
  if (c->kind != ST_PRINCIPAL_AGENT) return pl_fail(d, PL_EFORBIDDEN, "suggested replies are for the seller's agents");
  pl_err e = svc__begin(s, true, d);
  if (e) return e;
  st_thread t;
  st_buyer b;
  st_message m;
  bool found = false;
  e = s->st->ops->thread_get(s->st, thread_id, a, &t);
  if (e == PL_ENOTFOUND || (!e && strcmp(t.seller_id, c->seller_id)))
    e = pl_fail(d, PL_ENOTFOUND, "no thread %s", svc_thread_ref(a, thread_id));
  if (!e) e = svc__rate_take(s, c->seller_id, "suggestions", &suggest_rate, d);
  if (!e) e = store_buyer_get(s->st, t.buyer_id, NULL, a, &b);
  if (!e) e = waiting_message(s, c, &t, a, &m, &found);
  terms tm = {.n = 0};
  if (!e && found && m.text && strncmp(m.text, "[text withheld", 14)) buyer_terms(m.text, a, &tm);
  const char *q = terms_text(&tm, a);
  suggestion *all = pl_arena_alloc(a, (TEMPLATES_RENDERED + REPLY_MATCHES) * sizeof *all);
  size_t nt = 0, nr = 0;
  if (!e && found) e = template_suggestions(s, c, &t, &b, &tm, q, a, all, &nt, d);
  if (!e && found) e = reply_suggestions(s, c, &t, &b, &tm, q, a, all + nt, &nr);
  e = svc__end(s, e, d);
  if (e) return e;
  /* a past reply that is a template's text says nothing more */
  size_t n = nt;
  for (size_t i = nt; i < nt + nr; i++) {
    bool dup = false;
    for (size_t j = 0; j < nt && !dup; j++) dup = !strcmp(all[j].text, all[i].text);
    if (!dup) all[n++] = all[i];
  }
  for (size_t i = 0; i < n; i++) all[i].score = round3(all[i].score);
  qsort(all, n, sizeof *all, by_score);
  json_t *list = json_array();
  for (size_t i = 0; i < n && i < SVC_SUGGESTIONS; i++) {
    json_t *j = json_pack("{s:s,s:s,s:s,s:f,s:s}", "kind", all[i].reply ? "reply" : "template", "id",
                          all[i].reply ? svc_message_ref(a, all[i].id) : svc_team_ref(a, "TPL", all[i].id), "text",
                          all[i].text, "score", all[i].score, "reason", all[i].reason);
    if (all[i].title) json_object_set_new(j, "title", json_string(all[i].title));
    json_array_append_new(list, j);
  }
  *out = json_pack("{s:o}", "suggestions", list);
  return PL_OK;
}
