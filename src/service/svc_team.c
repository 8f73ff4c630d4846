/* svc_team.c - a seller's team: templates, agents, assignment, tags, notes, composition
 * locks, rules with an approval queue, audit samples (docs/team.md). */
#include "service/svc_team.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unicode/uchar.h>
#include <unicode/udat.h>
#include <unicode/unum.h>
#include <unicode/ustring.h>

#include "service/svc_int.h"
#include "util/pl_ref.h"

#define MAX_TAGS 20
#define MAX_RULES 100
#define DAY 86400

PL_NAMED(svc_purpose, SVC_PURPOSE_MAP)

/* What a purpose means: its label; the message action a proactive template message of it
 * goes out under, NULL when it only answers a buyer (a shipping confirmation never starts
 * a conversation: docs/rules.md "Proactive messages"); and whether it may be critical,
 * needed for the order to be completed and so delivered despite an opt-out (a shipping
 * confirmation is not: the marketplace sends its own). */
static const struct {
  const char *label, *action;
  bool critical;
} purpose_def[SVC_PURPOSE_N] = {
    [SVC_PURPOSE_SHIPPED] = {"Order shipped"},
    [SVC_PURPOSE_DELAY] = {"Shipping delay", "confirmDeliveryDetails", true},
    [SVC_PURPOSE_RETURN_AUTHORISED] = {"Return authorised", "unexpectedProblem"},
    [SVC_PURPOSE_REFUND_PROCESSED] = {"Refund processed", "unexpectedProblem"},
    [SVC_PURPOSE_PRODUCT_QUESTION] = {"Product question"},
    [SVC_PURPOSE_DAMAGED_ITEM] = {"Damaged item", "unexpectedProblem"},
    [SVC_PURPOSE_CUSTOM_ORDER_CONFIRMATION] = {"Custom order confirmation", "confirmCustomizationDetails", true},
    [SVC_PURPOSE_OTHER] = {"Other"},
};
static const char *const placeholders[] = {"ORDER_ID", "BUYER_NAME", "TRACKING", "DATE", "AMOUNT",
                                           "PRODUCT_NAME", "TIMEFRAME", "ADDRESS", NULL};
static const char *const priorities[] = {"low", "normal", "high", "urgent", NULL};

static bool in_list(const char *const *list, const char *v) {
  for (size_t i = 0; v && list[i]; i++)
    if (!strcmp(list[i], v)) return true;
  return false;
}

const char *svc_template_purpose(size_t i, const char **label, bool *may_be_critical) {
  svc_purpose p = (svc_purpose)(i + 1);
  if (i + 1 >= SVC_PURPOSE_N) return NULL;
  *label = purpose_def[p].label;
  *may_be_critical = purpose_def[p].critical;
  return svc_purpose_name(p);
}

char *svc_team_ref(pl_arena *a, const char *prefix, int64_t id) { return svc_ref(a, prefix, id); }

bool svc_team_parse_ref(const char *ref, const char *prefix, int64_t *id) { return pl_ref_parse(ref, prefix, id); }

static pl_err need_agent(const svc_caller *c, bool write, pl_detail *d) {
  if (c->kind != ST_PRINCIPAL_AGENT) return pl_fail(d, PL_EFORBIDDEN, "team work is the seller's agents'");
  if (write && !st_agent_role_writes(c->agent_role))
    return pl_fail(d, PL_EFORBIDDEN, "a read-only agent cannot change anything");
  return PL_OK;
}

static pl_err need_owner(const svc_caller *c, pl_detail *d) {
  pl_err e = need_agent(c, true, d);
  if (!e && c->agent_role != ST_ROLE_OWNER) e = pl_fail(d, PL_EFORBIDDEN, "only the seller's owner may do this");
  return e;
}

/* The caller's seller's thread; another seller's is "not found". */
static pl_err team_thread(svc *s, const svc_caller *c, int64_t id, pl_arena *a, st_thread *t, pl_detail *d) {
  pl_err e = s->st->ops->thread_get(s->st, id, a, t);
  if (e == PL_ENOTFOUND || (!e && strcmp(t->seller_id, c->seller_id)))
    return pl_fail(d, PL_ENOTFOUND, "no thread %s", svc_thread_ref(a, id));
  return e;
}

/* A document's reference as the API shows it: "TPL3", "R2", "PR5", "F7". */
static const char *ref_prefix(st_doc_kind kind) {
  static const char *const prefixes[ST_DOC_KIND_N] = {
      [ST_DOC_TEMPLATE] = "TPL", [ST_DOC_RULE] = "R", [ST_DOC_PROPOSAL] = "PR", [ST_DOC_FIRING] = "F"};
  return (size_t)kind < ST_DOC_KIND_N && prefixes[kind] ? prefixes[kind] : "F";
}

PL_NAMED(svc_rule_action, SVC_RULE_ACTION_MAP)

/* A document as the API shows it: its body with id, state and times. */
static json_t *doc_json(const st_team_doc *doc, pl_arena *a) {
  json_t *j = json_loads(doc->body, 0, NULL);
  if (!json_is_object(j)) {
    json_decref(j);
    j = json_object();
  }
  char ts[32];
  /* a proposal keeps the store's thread id for itself; clients have thread_id */
  if (json_is_integer(json_object_get(j, "thread"))) json_object_del(j, "thread");
  json_object_set_new(j, "id", json_string(svc_team_ref(a, ref_prefix(doc->kind), doc->id)));
  if (doc->state) json_object_set_new(j, "state", json_string(st_proposal_state_name(doc->state)));
  json_object_set_new(j, "created_at", json_string(pl_time_format(doc->created_at, ts)));
  json_object_set_new(j, "updated_at", json_string(pl_time_format(doc->updated_at, ts)));
  return j;
}

static pl_err doc_load(svc *s, const char *seller, st_doc_kind kind, int64_t id, pl_arena *a,
                       st_team_doc *doc, json_t **body, pl_detail *d) {
  pl_err e = store_team_doc_get(s->st, seller, kind, id, a, doc);
  if (e == PL_ENOTFOUND)
    return pl_fail(d, PL_ENOTFOUND, "no %s %s", st_doc_kind_name(kind), svc_team_ref(a, ref_prefix(kind), id));
  if (e) return e;
  *body = svc__json_keep(a, json_loads(doc->body, 0, NULL)); /* the arena's: no decref */
  if (!*body) return pl_fail(d, PL_EINTERNAL, "%s %lld is not readable", st_doc_kind_name(kind), (long long)id);
  return PL_OK;
}

int64_t svc_template_author(json_t *tpl) {
  json_t *v = json_object_get(tpl, "agent_id");
  return json_is_true(json_object_get(tpl, "personal")) && json_is_integer(v) ? json_integer_value(v) : 0;
}

bool svc_template_visible(const svc_caller *c, json_t *tpl) {
  int64_t author = svc_template_author(tpl);
  return !author || (c && c->kind == ST_PRINCIPAL_AGENT && c->agent_id == author);
}

/* A template the caller may use: the team's, or the caller's own saved reply; another
 * agent's saved reply is not found. */
static pl_err template_load(svc *s, const svc_caller *c, const char *seller, int64_t id, pl_arena *a,
                            st_team_doc *doc, json_t **body, pl_detail *d) {
  pl_err e = doc_load(s, seller, ST_DOC_TEMPLATE, id, a, doc, body, d);
  if (!e && !svc_template_visible(c, *body))
    e = pl_fail(d, PL_ENOTFOUND, "no template %s", svc_team_ref(a, "TPL", id));
  return e;
}

static char *dump(json_t *j, pl_arena *a) {
  char *t = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
  char *out = pl_arena_strdup(a, t ? t : "{}");
  free(t);
  return out;
}

/* ---- rendering ----------------------------------------------------------------------- */

/* The language part of a locale ("de" of "de-DE"), lower case. */
static const char *lang_of(const char *locale, pl_arena *a) {
  if (!locale || !*locale) return "en";
  size_t n = strcspn(locale, "-_");
  char *l = pl_arena_strndup(a, locale, n);
  for (char *p = l; *p; p++) *p = (char)tolower((unsigned char)*p);
  return l;
}

/* An ICU locale id from a BCP 47 tag ("de-DE" -> "de_DE"). */
static const char *icu_locale(const char *locale, pl_arena *a) {
  char *l = pl_arena_strdup(a, locale && *locale ? locale : "en");
  for (char *p = l; *p; p++)
    if (*p == '-') *p = '_';
  return l;
}

static char *from_uchars(const UChar *u, int32_t n, pl_arena *a) {
  char buf[256];
  int32_t len = 0;
  UErrorCode st = U_ZERO_ERROR;
  u_strToUTF8(buf, sizeof buf, &len, u, n, &st);
  return U_FAILURE(st) ? NULL : pl_arena_strndup(a, buf, (size_t)len);
}

/* A date written the buyer's way (ICU long date, in UTC). */
static char *format_date(pl_time t, const char *locale, pl_arena *a) {
  UErrorCode st = U_ZERO_ERROR;
  UDateFormat *f = udat_open(UDAT_NONE, UDAT_LONG, icu_locale(locale, a), u"UTC", -1, NULL, 0, &st);
  if (U_FAILURE(st)) return NULL;
  UChar buf[128];
  int32_t n = udat_format(f, (UDate)t * 1000.0, buf, 128, NULL, &st);
  udat_close(f);
  return U_FAILURE(st) ? NULL : from_uchars(buf, n, a);
}

/* An amount written the buyer's way: "19,99 €" for de-DE. */
static char *format_amount(double v, const char *currency, const char *locale, pl_arena *a) {
  UChar cur[4] = {0};
  for (int i = 0; i < 3; i++) cur[i] = (UChar)toupper((unsigned char)currency[i]);
  UErrorCode st = U_ZERO_ERROR;
  UNumberFormat *f = unum_open(UNUM_CURRENCY, NULL, 0, icu_locale(locale, a), NULL, &st);
  if (U_FAILURE(st)) return NULL;
  UChar buf[128];
  int32_t n = unum_formatDoubleCurrency(f, v, cur, buf, 128, NULL, &st);
  unum_close(f);
  return U_FAILURE(st) ? NULL : from_uchars(buf, n, a);
}

/* What a template is filled from. */
typedef struct {
  const st_order *order; /* NULL for a product question */
  const st_buyer *buyer;
  json_t *values;        /* the request's, or NULL */
  const char *locale;    /* how dates and amounts are written */
  /* NULL: a placeholder without a value is an error. Else it stays in the text for an
   * agent to fill (a suggestion, svc_suggest.c), and *missing names each once, "[A] [B]". */
  char **missing;
} fill_ctx;

static const char *value_of(json_t *values, const char *name, pl_arena *a) {
  json_t *v = json_object_get(values, name);
  if (!v) {
    char low[32];
    size_t i = 0;
    for (; name[i] && i + 1 < sizeof low; i++) low[i] = (char)tolower((unsigned char)name[i]);
    low[i] = '\0';
    v = json_object_get(values, low);
  }
  if (json_is_string(v)) return *json_string_value(v) ? json_string_value(v) : NULL;
  if (json_is_integer(v)) return pl_arena_printf(a, "%lld", (long long)json_integer_value(v));
  if (json_is_real(v)) return pl_arena_printf(a, "%.2f", json_real_value(v));
  return NULL;
}

/* The text of one placeholder, or NULL when it has no value (d says why). */
static const char *fill(const fill_ctx *fc, const char *name, pl_arena *a, pl_detail *d) {
  const char *v = value_of(fc->values, name, a);
  if (!strcmp(name, "ORDER_ID")) return fc->order ? fc->order->id : NULL;
  if (!strcmp(name, "BUYER_NAME") && !v && fc->buyer && fc->buyer->name && *fc->buyer->name)
    return pl_arena_strndup(a, fc->buyer->name, strcspn(fc->buyer->name, " "));
  if (!strcmp(name, "PRODUCT_NAME") && !v && fc->order && fc->order->nitems && fc->order->items[0].title)
    return fc->order->items[0].title;
  if (!v) return NULL;
  if (!strcmp(name, "DATE")) {
    pl_time t;
    char iso[40];
    if (strlen(v) == 10) snprintf(iso, sizeof iso, "%sT12:00:00Z", v);
    else snprintf(iso, sizeof iso, "%s", v);
    if (!pl_time_parse(iso, &t)) {
      pl_fail(d, PL_EINVAL, "values.DATE must be a date (2026-10-08) or an ISO 8601 time");
      return NULL;
    }
    return format_date(t, fc->locale, a);
  }
  if (!strcmp(name, "AMOUNT")) {
    char *end;
    double x = strtod(v, &end);
    while (*end == ' ') end++;
    const char *cur = *end ? end : value_of(fc->values, "CURRENCY", a);
    if (!cur && fc->order && fc->order->nitems) cur = fc->order->items[0].currency;
    if (end == v || !cur || strlen(cur) != 3) {
      pl_fail(d, PL_EINVAL, "values.AMOUNT must be a number with a currency (\"19.99 EUR\"), or the order must carry one");
      return NULL;
    }
    return format_amount(x, cur, fc->locale, a);
  }
  return v;
}

/* Characters (code points) of UTF-8 text: the bytes that do not continue one. */
static size_t utf8_chars(const char *p, size_t n) {
  size_t c = 0;
  for (size_t i = 0; i < n; i++) c += ((unsigned char)p[i] & 0xC0) != 0x80;
  return c;
}

/* Fills every [PLACEHOLDER] of text. PL_EMISSING names the first without a value.
 *
 * The result is a message, so it is capped at max_chars (the marketplace's text_chars when
 * sent; SVC_TEXT_CHARS_CEILING when a template is checked): rendering stops as soon as the
 * output would pass it (PL_ERENDERLONG), and the buffer is never larger than the
 * cap, whatever the values (a few placeholders filled with megabytes each must not build
 * a string of hundreds of megabytes). */
static pl_err render_capped(const char *text, const fill_ctx *fc, size_t max_chars, pl_arena *a,
                               char **out, pl_detail *d) {
  size_t cap = max_chars * 4 + 1, n = 0, chars = 0;
  size_t tl = strlen(text);
  if (tl + 1 < cap) cap = tl + 1 + 64; /* grows only when placeholders need it */
  char *buf = pl_arena_try_alloc(a, cap);
  if (!buf) return pl_fail(d, PL_ENOMEM, "no memory to fill in the template; retry later");
  for (const char *p = text; *p;) {
    const char *close = *p == '[' ? strchr(p, ']') : NULL;
    char name[32];
    size_t len = close ? (size_t)(close - p - 1) : 0;
    const char *v = NULL;
    size_t vl = 1;
    if (close && len > 0 && len < sizeof name) {
      memcpy(name, p + 1, len);
      name[len] = '\0';
      if (in_list(placeholders, name)) {
        pl_detail why = {0};
        v = fill(fc, name, a, &why);
        if (!v && fc->missing && !why.msg[0]) {
          const char *tag = pl_arena_printf(a, "[%s]", name);
          if (!*fc->missing) *fc->missing = pl_arena_strdup(a, tag);
          else if (!strstr(*fc->missing, tag)) *fc->missing = pl_arena_printf(a, "%s %s", *fc->missing, tag);
        } else if (!v) {
          if (why.msg[0]) return pl_fail(d, PL_EINVAL, "%s", why.msg);
          return pl_fail(d, PL_EMISSING, "placeholder [%s] has no value%s", name,
                         strcmp(name, "ORDER_ID") ? pl_arena_printf(a, ": give values.%s", name)
                                                  : ": the thread has no order");
        }
        if (v) vl = strlen(v); /* else the placeholder is copied as it stands */
      }
    }
    const char *src = v ? v : p;
    size_t add = v ? utf8_chars(v, vl) : (((unsigned char)*p & 0xC0) != 0x80);
    if (chars + add > max_chars)
      return pl_fail(d, PL_ERENDERLONG,
                     "the filled-in template would be longer than %zu characters (a message's limit); shorten the values or the template",
                     max_chars);
    if (n + vl + 1 > cap) {
      size_t ncap = (n + vl + 1) * 2;
      if (ncap > max_chars * 4 + 1) ncap = max_chars * 4 + 1;
      char *bigger = pl_arena_try_alloc(a, ncap);
      if (!bigger) return pl_fail(d, PL_ENOMEM, "no memory to fill in the template; retry later");
      memcpy(bigger, buf, n);
      buf = bigger;
      cap = ncap;
    }
    memcpy(buf + n, src, vl);
    n += vl;
    chars += add;
    p = v ? close + 1 : p + 1;
  }
  buf[n] = '\0';
  *out = buf;
  return PL_OK;
}

static pl_err render_text(const char *text, const fill_ctx *fc, pl_arena *a, char **out, pl_detail *d) {
  return render_capped(text, fc, SVC_TEXT_CHARS_CEILING, a, out, d);
}

/* The variant for a buyer: their language, else the marketplace's, else English. The
 * locale dates and amounts are written in follows the variant chosen. */
static pl_err choose_variant(json_t *variants, const char *buyer_locale, const char *mp_locale,
                             pl_arena *a, const char **lang, const char **text, const char **locale,
                             pl_detail *d) {
  const char *cands[3] = {lang_of(buyer_locale, a), lang_of(mp_locale, a), "en"};
  const char *locs[3] = {buyer_locale, mp_locale, "en-US"};
  for (int i = 0; i < 3; i++) {
    json_t *v = json_object_get(variants, cands[i]);
    if (json_is_string(v)) {
      *lang = cands[i];
      *text = json_string_value(v);
      *locale = locs[i] && *locs[i] ? locs[i] : cands[i];
      return PL_OK;
    }
  }
  return pl_fail(d, PL_EINVAL, "the template has no variant in %s, %s or en", cands[0], cands[1]);
}

/* Renders a template body for an order (or none) and a buyer, inside a transaction. */
static pl_err render_open(svc *s, json_t *tpl, const char *order_id, const char *buyer_id,
                          const char *marketplace_id, json_t *values, pl_arena *a, char **text,
                          const char **lang, char **missing, pl_detail *d);

static pl_err render_for(svc *s, json_t *tpl, const char *order_id, const char *buyer_id,
                         const char *marketplace_id, json_t *values, pl_arena *a, char **text,
                         const char **lang, pl_detail *d) {
  return render_open(s, tpl, order_id, buyer_id, marketplace_id, values, a, text, lang, NULL, d);
}

pl_err svc__team_render_open(svc *s, json_t *tpl, const st_thread *t, pl_arena *a, char **text,
                             const char **lang, char **missing, pl_detail *d) {
  *missing = NULL;
  return render_open(s, tpl, t->order_id, t->buyer_id, t->marketplace_id, NULL, a, text, lang, missing, d);
}

/* render_for, or with missing not NULL, leaving the placeholders without a value in the
 * text (fill_ctx.missing). */
static pl_err render_open(svc *s, json_t *tpl, const char *order_id, const char *buyer_id,
                          const char *marketplace_id, json_t *values, pl_arena *a, char **text,
                          const char **lang, char **missing, pl_detail *d) {
  st_order o;
  st_buyer b;
  st_marketplace mp;
  pl_err e = PL_OK;
  /* The values are bounded before anything is filled in: a few, each no longer than a
   * message. */
  if (json_object_size(values) > 32) return pl_fail(d, PL_ETOOMANY, "values has at most 32 entries");
  const char *vk;
  json_t *vv;
  json_object_foreach(values, vk, vv) {
    if (json_is_string(vv) && json_string_length(vv) > (size_t)SVC_TEXT_CHARS_CEILING * 4)
      return pl_fail(d, PL_ERENDERLONG, "values.%.40s is longer than a message may be (%d characters)", vk,
                     SVC_TEXT_CHARS_CEILING);
  }
  if (order_id && (e = store_order_get(s->st, order_id, a, &o))) return e;
  if ((e = store_buyer_get(s->st, buyer_id, NULL, a, &b))) return e;
  e = svc__marketplace_get(s, marketplace_id, a, &mp);
  if (e && e != PL_ENOTFOUND) return e;
  const char *vtext = NULL, *locale = NULL;
  if ((e = choose_variant(json_object_get(tpl, "variants"), b.locale, e ? "en-US" : mp.locale, a, lang,
                          &vtext, &locale, d)))
    return e;
  fill_ctx fc = {.order = order_id ? &o : NULL, .buyer = &b, .values = values, .locale = locale, .missing = missing};
  svc_rules r;
  if ((e = svc__rules_for(s, marketplace_id, a, &r))) return e;
  return render_capped(vtext, &fc, (size_t)r.text_chars, a, text, d);
}

/* ---- templates ------------------------------------------------------------------------ */

/* Sample values with which a variant is checked by the policy when saved. */
static pl_err sample_render(const char *text, const char *lang, pl_arena *a, char **out, pl_detail *d) {
  static st_item item = {.asin = "B0C1234567", .title = "Cordless drill", .price = "19.99", .currency = "EUR", .quantity = 1};
  st_order o = {.id = "112-4839201-5561023", .nitems = 1, .items = &item};
  st_buyer b = {.name = "Alex"};
  json_t *values = svc__json_keep(a, json_pack("{s:s,s:s,s:s,s:s,s:s}", "TRACKING", "TRK4821", "DATE", "2026-10-08",
                                               "AMOUNT", "19.99", "TIMEFRAME", "3 days", "ADDRESS",
                                               "your delivery address"));
  fill_ctx fc = {.order = &o, .buyer = &b, .values = values, .locale = lang};
  return render_text(text, &fc, a, out, d);
}

/* Checks a template body; fills the normalised body. */
static pl_err template_check(json_t *body, pl_arena *a, json_t **norm, pl_detail *d) {
  if (!json_is_object(body)) return pl_fail(d, PL_EINVAL, "a template is a JSON object");
  json_t *name = json_object_get(body, "name"), *purpose = json_object_get(body, "purpose");
  json_t *crit = json_object_get(body, "critical"), *variants = json_object_get(body, "variants");
  if (!name || !purpose || !variants) return pl_fail(d, PL_EMISSING, "a template needs name, purpose and variants");
  json_t *personal = json_object_get(body, "personal");
  if (!json_is_string(name) || !json_is_string(purpose) || !json_is_object(variants) ||
      (crit && !json_is_boolean(crit)) || (personal && !json_is_boolean(personal)))
    return pl_fail(d, PL_ETYPE, "name and purpose are strings, variants an object, critical and personal true or false");
  size_t nl = strlen(json_string_value(name));
  if (nl == 0 || nl > 100) return pl_fail(d, PL_EINVAL, "name is 1 to 100 characters");
  pl_err ne = svc__check_name("name", json_string_value(name), d);
  if (ne) return ne;
  svc_purpose p;
  if (svc_purpose_from_name(json_string_value(purpose), &p))
    return pl_fail(d, PL_EINVAL, "purpose must be shipped, delay, return_authorised, refund_processed, product_question, damaged_item, custom_order_confirmation or other");
  bool critical = json_is_true(crit);
  if (critical && !purpose_def[p].critical)
    return pl_fail(d, PL_EINVAL, "only templates that complete the order (delay, custom_order_confirmation) may be critical");
  if (json_object_size(variants) == 0) return pl_fail(d, PL_EMISSING, "a template needs at least one variant");
  const char *lang;
  json_t *v;
  json_object_foreach(variants, lang, v) {
    size_t ll = strlen(lang);
    bool ok = ll >= 2 && ll <= 3;
    for (size_t i = 0; ok && i < ll; i++) ok = lang[i] >= 'a' && lang[i] <= 'z';
    if (!ok) return pl_fail(d, PL_EINVAL, "variant '%s': languages are ISO 639 codes (en, de, ...)", lang);
    if (!json_is_string(v)) return pl_fail(d, PL_ETYPE, "variant '%s' must be a string", lang);
    const char *vt = json_string_value(v);
    pl_err e = svc__check_text(&vt, a, d);
    if (e) return e;
    if (vt != json_string_value(v)) json_string_set(v, vt); /* CRLF became LF */
    /* Every [WORD] in capitals must be a placeholder this service fills. */
    for (const char *q = strchr(json_string_value(v), '['); q; q = strchr(q + 1, '[')) {
      size_t n = strspn(q + 1, "ABCDEFGHIJKLMNOPQRSTUVWXYZ_");
      if (n && q[1 + n] == ']') {
        char ph[64];
        snprintf(ph, sizeof ph, "%.*s", (int)(n < 60 ? n : 60), q + 1);
        if (!in_list(placeholders, ph))
          return pl_fail(d, PL_EINVAL, "variant '%s': unknown placeholder [%s]", lang, ph);
      }
    }
  }
  *norm = json_pack("{s:O,s:O,s:b,s:O}", "name", name, "purpose", purpose, "critical", critical,
                    "variants", variants);
  return PL_OK;
}

/* Scans every variant rendered with sample values; PL_EPOLICY with the verdict of the
 * first that is not delivered as it stands. */
static pl_err template_scan(svc *s, const char *marketplace_id, json_t *norm, pl_arena *a,
                            policy_verdict *verdict, const char **language, pl_detail *d) {
  policy_config *cfg;
  const char *const *allow;
  pl_err e = svc__policy_for(s, marketplace_id, a, &cfg, &allow, d);
  if (e) return e;
  const char *lang;
  json_t *v;
  json_object_foreach(json_object_get(norm, "variants"), lang, v) {
    char *text;
    if ((e = sample_render(json_string_value(v), lang, a, &text, d))) break;
    policy_verdict pv;
    if ((e = policy_scan_allow(cfg, allow, text, strlen(text), &pv))) {
      e = pl_fail(d, e, "the template could not be checked");
      break;
    }
    if (pv.action != POLICY_DELIVER) {
      *verdict = pv;
      *language = pl_arena_strdup(a, lang);
      e = pl_fail(d, PL_EPOLICY, "variant '%s' breaks the communication policy (%zu finding%s)", lang,
                  pv.nfindings, pv.nfindings == 1 ? "" : "s");
      break;
    }
    policy_verdict_free(&pv);
  }
  policy_config_unref(cfg);
  return e;
}

/* Whether the seller already has a template of this name (other than id) among those the
 * caller sees (NULL: the team's): two agents may each save a reply of the same name. */
static pl_err name_taken(svc *s, const svc_caller *c, const char *seller, const char *name, int64_t id, pl_arena *a,
                         bool *taken) {
  st_team_doc *docs;
  size_t n;
  pl_err e = store_team_doc_list(s->st, seller, ST_DOC_TEMPLATE, ST_PROPOSAL_NONE, 1000, a, &docs, &n);
  *taken = false;
  for (size_t i = 0; !e && i < n; i++) {
    json_t *b = svc__json_keep(a, json_loads(docs[i].body, 0, NULL));
    if (docs[i].id != id && svc_template_visible(c, b) && !strcmp(json_string_value(json_object_get(b, "name")) ?: "", name))
      *taken = true;
  }
  return e;
}

static pl_err template_store(svc *s, const svc_caller *c, const char *seller, const char *mp, int64_t id,
                             int64_t author, json_t *body, pl_arena *a, json_t **out, policy_verdict *verdict,
                             const char **language, pl_detail *d) {
  json_t *norm = NULL;
  pl_err e = template_check(body, a, &norm, d);
  /* an agent's saved reply: theirs alone (svc_template_visible) */
  if (!e && author) {
    json_object_set_new(norm, "personal", json_true());
    json_object_set_new(norm, "agent_id", json_integer(author));
  }
  bool taken = false;
  if (!e) e = name_taken(s, author ? c : NULL, seller, json_string_value(json_object_get(norm, "name")), id, a, &taken);
  if (!e && taken)
    e = pl_fail(d, PL_EEXIST, "a template named '%s' already exists", json_string_value(json_object_get(norm, "name")));
  if (!e) e = template_scan(s, mp, norm, a, verdict, language, d);
  pl_time now = svc_now(s);
  st_team_doc doc = {.id = id, .seller_id = (char *)seller, .kind = ST_DOC_TEMPLATE,
                     .created_at = now, .updated_at = now};
  if (!e) {
    doc.body = dump(norm, a);
    if (id) {
      st_team_doc old;
      e = store_team_doc_get(s->st, seller, ST_DOC_TEMPLATE, id, a, &old);
      if (e == PL_ENOTFOUND) e = pl_fail(d, PL_ENOTFOUND, "no template %s", svc_team_ref(a, "TPL", id));
      if (!e) doc.created_at = old.created_at;
    }
    if (!e) e = store_team_doc_put(s->st, &doc);
  }
  if (!e)
    e = svc__audit(s, seller, c->name, id ? "template.update" : "template.create",
                   svc__record_ref(a, "TPL", doc.id), json_pack("{s:O}", "name", json_object_get(norm, "name")));
  if (!e && out) *out = doc_json(&doc, a);
  json_decref(norm);
  return e;
}

pl_err svc_template_put(svc *s, const svc_caller *c, int64_t id, json_t *body, pl_arena *a,
                        json_t **out, policy_verdict *verdict, const char **language, pl_detail *d) {
  memset(verdict, 0, sizeof *verdict);
  *language = NULL;
  /* The team's templates are the owner's; any agent who writes keeps saved replies of
   * their own ("personal": true), and only they see, change or delete them. Whether a
   * template is personal is fixed when it is made. */
  pl_err e = need_agent(c, true, d);
  json_t *pv = json_object_get(body, "personal");
  if (!e && pv && !json_is_boolean(pv)) e = pl_fail(d, PL_ETYPE, "personal must be true or false");
  if (e || (e = svc__begin(s, true, d))) return e;
  bool personal = json_is_true(pv);
  if (id) {
    st_team_doc old;
    json_t *ob;
    if (!(e = template_load(s, c, c->seller_id, id, a, &old, &ob, d))) personal = svc_template_author(ob) != 0;
  }
  if (!e && !personal) e = need_owner(c, d);
  if (!e)
    e = template_store(s, c, c->seller_id, c->marketplace_id, id, personal ? c->agent_id : 0, body, a, out, verdict,
                       language, d);
  return svc__end(s, e, d);
}

pl_err svc_template_get(svc *s, const svc_caller *c, int64_t id, pl_arena *a, json_t **out, pl_detail *d) {
  pl_err e = need_agent(c, false, d);
  if (e || (e = svc__begin(s, false, d))) return e;
  st_team_doc doc;
  json_t *body;
  e = template_load(s, c, c->seller_id, id, a, &doc, &body, d);
  if (!e) *out = doc_json(&doc, a);
  return svc__end(s, e, d);
}

static pl_err doc_list_json(svc *s, const svc_caller *c, st_doc_kind kind, st_proposal_state state, int limit,
                            pl_arena *a, json_t **out, pl_detail *d) {
  pl_err e = need_agent(c, false, d);
  if (e || (e = svc__begin(s, false, d))) return e;
  st_team_doc *docs;
  size_t n;
  e = store_team_doc_list(s->st, c->seller_id, kind, state, limit, a, &docs, &n);
  if (!e) {
    *out = json_array();
    for (size_t i = 0; i < n; i++) json_array_append_new(*out, doc_json(&docs[i], a));
  }
  return svc__end(s, e, d);
}

pl_err svc_template_list(svc *s, const svc_caller *c, pl_arena *a, json_t **out, pl_detail *d) {
  pl_err e = doc_list_json(s, c, ST_DOC_TEMPLATE, ST_PROPOSAL_NONE, 1000, a, out, d);
  /* the team's and the caller's own saved replies */
  for (size_t i = 0; !e && i < json_array_size(*out);)
    if (svc_template_visible(c, json_array_get(*out, i))) i++;
    else json_array_remove(*out, i);
  return e;
}

static pl_err doc_delete(svc *s, const svc_caller *c, st_doc_kind kind, int64_t id, pl_detail *d) {
  pl_err e = need_owner(c, d);
  if (e || (e = svc__begin(s, true, d))) return e;
  pl_arena *a = pl_arena_new();
  e = store_team_doc_delete(s->st, c->seller_id, kind, id);
  if (e == PL_ENOTFOUND)
    e = pl_fail(d, PL_ENOTFOUND, "no %s %s", st_doc_kind_name(kind), svc_team_ref(a, ref_prefix(kind), id));
  if (!e) e = svc__audit(s, c->seller_id, c->name, pl_arena_printf(a, "%s.delete", st_doc_kind_name(kind)),
                         svc__record_ref(a, ref_prefix(kind), id), NULL);
  pl_arena_free(a);
  return svc__end(s, e, d);
}

pl_err svc_template_delete(svc *s, const svc_caller *c, int64_t id, pl_detail *d) {
  /* a saved reply is its author's to delete; a team template the owner's (doc_delete) */
  pl_err e = need_agent(c, true, d);
  if (e || (e = svc__begin(s, false, d))) return e;
  pl_arena *a = pl_arena_new();
  st_team_doc doc;
  json_t *body;
  e = template_load(s, c, c->seller_id, id, a, &doc, &body, d);
  bool mine = !e && svc_template_author(body) != 0;
  svc__end(s, PL_OK, NULL);
  if (!e && mine && !(e = svc__begin(s, true, d))) {
    e = store_team_doc_delete(s->st, c->seller_id, ST_DOC_TEMPLATE, id);
    if (!e) e = svc__audit(s, c->seller_id, c->name, "template.delete", svc__record_ref(a, "TPL", id), NULL);
    e = svc__end(s, e, d);
  } else if (!e) {
    e = doc_delete(s, c, ST_DOC_TEMPLATE, id, d);
  }
  pl_arena_free(a);
  return e;
}

pl_err svc_template_install_starter(svc *s, const svc_caller *c, const char *seller_id, pl_arena *a,
                                    json_t **out, pl_detail *d) {
  pl_err e;
  if (c->kind == ST_PRINCIPAL_OPERATOR) {
    if (!seller_id) return pl_fail(d, PL_EMISSING, "seller_id is required");
  } else {
    if ((e = need_owner(c, d))) return e;
    seller_id = c->seller_id;
  }
  if ((e = svc__begin(s, true, d))) return e;
  st_seller sl;
  e = store_seller_get(s->st, seller_id, NULL, a, &sl);
  if (e == PL_ENOTFOUND || (!e && c->kind == ST_PRINCIPAL_OPERATOR && c->marketplace_id &&
                            strcmp(c->marketplace_id, sl.marketplace_id)))
    e = pl_fail(d, PL_ENOTFOUND, "no seller %s", seller_id);
  json_t *arr = json_array();
  for (size_t i = 0; !e && i < svc_starter_template_count; i++) {
    const svc_starter_template *st = &svc_starter_templates[i];
    bool taken;
    if ((e = name_taken(s, NULL, seller_id, st->name, 0, a, &taken)) || taken) continue;
    json_t *body = json_pack("{s:s,s:s,s:b,s:{s:s,s:s,s:s,s:s,s:s}}", "name", st->name, "purpose",
                             st->purpose, "critical", st->critical, "variants", "en", st->en, "es",
                             st->es, "de", st->de, "fr", st->fr, "it", st->it);
    json_t *one = NULL;
    policy_verdict v = {0};
    const char *lang;
    e = template_store(s, c, seller_id, sl.marketplace_id, 0, 0, body, a, &one, &v, &lang, d);
    policy_verdict_free(&v);
    json_decref(body);
    if (!e) json_array_append_new(arr, one);
  }
  e = svc__end(s, e, d);
  if (e) json_decref(arr);
  else *out = arr;
  return e;
}

pl_err svc_template_render(svc *s, const svc_caller *c, int64_t template_id, int64_t thread_id,
                           const char *order_id, json_t *values, pl_arena *a, char **text,
                           const char **language, pl_detail *d) {
  pl_err e = need_agent(c, false, d);
  if (e || (e = svc__begin(s, false, d))) return e;
  st_team_doc doc;
  json_t *tpl = NULL;
  const char *buyer = NULL, *mp = NULL;
  e = template_load(s, c, c->seller_id, template_id, a, &doc, &tpl, d);
  if (!e && thread_id) {
    st_thread t;
    if (!(e = team_thread(s, c, thread_id, a, &t, d))) {
      order_id = t.order_id;
      buyer = t.buyer_id;
      mp = t.marketplace_id;
    }
  } else if (!e && order_id) {
    st_order o;
    e = store_order_get(s->st, order_id, a, &o);
    if (e == PL_ENOTFOUND || (!e && strcmp(o.seller_id, c->seller_id)))
      e = pl_fail(d, PL_ENOTFOUND, "no order %s", order_id);
    if (!e) {
      order_id = o.id;
      buyer = o.buyer_id;
      mp = o.marketplace_id;
    }
  } else if (!e) {
    e = pl_fail(d, PL_EMISSING, "give thread_id or order_id");
  }
  if (!e) e = render_for(s, tpl, order_id, buyer, mp, values, a, text, language, d);
  return svc__end(s, e, d);
}

pl_err svc_template_send_proactive(svc *s, const svc_caller *c, const char *order_id,
                                   int64_t template_id, json_t *values, pl_arena *a, svc_sent *out,
                                   pl_detail *d) {
  memset(out, 0, sizeof *out);
  pl_err e = need_agent(c, true, d);
  if (e) return e;
  char *text;
  const char *lang;
  if ((e = svc_template_render(s, c, template_id, 0, order_id, values, a, &text, &lang, d))) return e;
  if ((e = svc__begin(s, false, d))) return e;
  st_team_doc doc;
  json_t *tpl = NULL;
  e = doc_load(s, c->seller_id, ST_DOC_TEMPLATE, template_id, a, &doc, &tpl, d);
  svc__end(s, PL_OK, NULL);
  if (e) return e;
  const char *purpose = pl_arena_strdup(a, json_string_value(json_object_get(tpl, "purpose")) ?: "other");
  bool critical = json_is_true(json_object_get(tpl, "critical"));
  svc_purpose p;
  (void)svc_purpose_from_name(purpose, &p);
  const char *action = purpose_def[p].action;
  if (p == SVC_PURPOSE_SHIPPED)
    return pl_fail(d, PL_EPURPOSE, "a message that starts a conversation may not be %s",
                   policy_purpose_reason(POLICY_PURPOSE_SHIPPING_CONFIRMATION));
  if (!action)
    return pl_fail(d, PL_EACTION, "a %s template answers a buyer; it cannot start a conversation", purpose);
  svc_action_in in = {.text = text};
  return svc__send_action_as(s, c, order_id, action, &in, critical, a, out, d);
}

/* ---- agents, assignment, tags, notes ---------------------------------------------------- */

static json_t *agent_json(const st_team_agent *ag) {
  return json_pack("{s:I,s:s,s:s?,s:b,s:b}", "id", (json_int_t)ag->id, "name", ag->name, "role", st_agent_role_name(ag->role),
                   "available", ag->available && !ag->deactivated, "active", !ag->deactivated);
}

pl_err svc_team_agents(svc *s, const svc_caller *c, pl_arena *a, json_t **out, pl_detail *d) {
  pl_err e = need_agent(c, false, d);
  if (e || (e = svc__begin(s, false, d))) return e;
  st_team_agent *ags;
  size_t n;
  e = store_team_agent_list(s->st, c->seller_id, a, &ags, &n);
  if (!e) {
    *out = json_array();
    for (size_t i = 0; i < n; i++) json_array_append_new(*out, agent_json(&ags[i]));
  }
  return svc__end(s, e, d);
}

static pl_err find_agent(svc *s, const char *seller, int64_t id, pl_arena *a, st_team_agent *out, pl_detail *d) {
  st_team_agent *ags;
  size_t n;
  pl_err e = store_team_agent_list(s->st, seller, a, &ags, &n);
  if (e) return e;
  for (size_t i = 0; i < n; i++)
    if (ags[i].id == id) {
      *out = ags[i];
      return PL_OK;
    }
  return pl_fail(d, PL_ENOTFOUND, "no agent %lld", (long long)id);
}

pl_err svc_team_availability(svc *s, const svc_caller *c, int64_t agent_id, bool available,
                             pl_arena *a, pl_detail *d) {
  pl_err e = need_agent(c, true, d);
  if (e) return e;
  if (agent_id != c->agent_id && c->agent_role != ST_ROLE_OWNER)
    return pl_fail(d, PL_EFORBIDDEN, "an agent sets only their own availability");
  if ((e = svc__begin(s, true, d))) return e;
  st_team_agent ag;
  e = find_agent(s, c->seller_id, agent_id, a, &ag, d);
  if (!e && ag.available != available) {
    ag.available = available;
    e = store_team_agent_put(s->st, c->seller_id, &ag);
    if (!e) e = svc__audit(s, c->seller_id, c->name, available ? "agent.available" : "agent.away",
                           pl_arena_printf(a, "agent:%lld", (long long)agent_id), NULL);
  }
  return svc__end(s, e, d);
}

static pl_err team_of(svc *s, const st_thread *t, pl_arena *a, st_thread_team *tt) {
  pl_err e = store_thread_team_get(s->st, t->id, a, tt);
  if (e == PL_ENOTFOUND) {
    *tt = (st_thread_team){.thread_id = t->id, .seller_id = t->seller_id, .priority = "normal", .tags = ""};
    return PL_OK;
  }
  return e;
}

/* Assigns inside a transaction: agent_id > 0, 0 none, -1 round-robin among the available
 * agents who may write (the one assigned longest ago, ties by id). */
static pl_err assign_in(svc *s, const char *actor, const st_thread *t, int64_t agent_id, pl_arena *a,
                        int64_t *assignee, pl_detail *d) {
  st_team_agent *ags;
  size_t n;
  pl_err e = store_team_agent_list(s->st, t->seller_id, a, &ags, &n);
  if (e) return e;
  st_team_agent *pick = NULL;
  for (size_t i = 0; i < n; i++) {
    if (agent_id > 0 && ags[i].id == agent_id) pick = &ags[i];
    if (agent_id < 0 && ags[i].available && !ags[i].deactivated && st_agent_role_writes(ags[i].role) &&
        (!pick || ags[i].last_assigned_at < pick->last_assigned_at))
      pick = &ags[i];
  }
  /* Only an active agent of the thread's own seller: the team list holds no other. */
  if (agent_id > 0 && !pick)
    return pl_fail(d, PL_ENOAGENT, "no agent %lld on this seller's team", (long long)agent_id);
  if (pick && pick->deactivated)
    return pl_fail(d, PL_ENOAGENT, "agent %lld was deactivated and cannot be assigned", (long long)agent_id);
  if (pick && !st_agent_role_writes(pick->role))
    return pl_fail(d, PL_EINVAL, "a read-only agent cannot be assigned threads");
  if (agent_id < 0 && !pick) return pl_fail(d, PL_ECONFLICT, "no agent is available");
  st_thread_team tt;
  if ((e = team_of(s, t, a, &tt))) return e;
  tt.assignee_id = pick ? pick->id : 0;
  if ((e = store_thread_team_put(s->st, &tt))) return e;
  if (pick) {
    /* Strictly later than any other assignment of the team, so that several in one
     * second still take turns. */
    pl_time stamp = svc_now(s);
    for (size_t i = 0; i < n; i++)
      if (ags[i].last_assigned_at >= stamp) stamp = ags[i].last_assigned_at + 1;
    pick->last_assigned_at = stamp;
    if ((e = store_team_agent_put(s->st, t->seller_id, pick))) return e;
  }
  *assignee = tt.assignee_id;
  return svc__audit(s, t->seller_id, actor, "thread.assign", svc__record_ref(a, "T", t->id),
                    json_pack("{s:I,s:b}", "agent_id", (json_int_t)tt.assignee_id, "round_robin", agent_id < 0));
}

pl_err svc_team_assign(svc *s, const svc_caller *c, int64_t thread_id, int64_t agent_id, pl_arena *a,
                       int64_t *assignee, pl_detail *d) {
  pl_err e = need_agent(c, true, d);
  if (e || (e = svc__begin(s, true, d))) return e;
  st_thread t;
  e = team_thread(s, c, thread_id, a, &t, d);
  if (!e) e = assign_in(s, c->name, &t, agent_id, a, assignee, d);
  e = svc__end(s, e, d);
  if (!e) svc__publish(s, SVC_EVENT_THREAD, &t, NULL);
  return e;
}

static bool valid_tag(const char *tag) {
  size_t n = strlen(tag);
  return n >= 1 && n <= 40 && strspn(tag, "abcdefghijklmnopqrstuvwxyz0123456789-_") == n;
}

/* Adds a tag to ",a,b," unless it is there. */
static char *tag_add(const char *tags, const char *tag, pl_arena *a) {
  if (strstr(tags, pl_arena_printf(a, ",%s,", tag))) return (char *)tags;
  return *tags ? pl_arena_printf(a, "%s%s,", tags, tag) : pl_arena_printf(a, ",%s,", tag);
}

pl_err svc_team_tags(svc *s, const svc_caller *c, int64_t thread_id, json_t *tags, pl_arena *a,
                     pl_detail *d) {
  pl_err e = need_agent(c, true, d);
  if (e) return e;
  if (!json_is_array(tags)) return pl_fail(d, PL_ETYPE, "tags must be an array of strings");
  if (json_array_size(tags) > MAX_TAGS) return pl_fail(d, PL_EINVAL, "at most %d tags", MAX_TAGS);
  char *joined = "";
  size_t i;
  json_t *v;
  json_array_foreach(tags, i, v) {
    if (!json_is_string(v) || !valid_tag(json_string_value(v)))
      return pl_fail(d, PL_EINVAL, "a tag is 1 to 40 lower-case letters, digits, '-' or '_'");
    joined = tag_add(joined, json_string_value(v), a);
  }
  if ((e = svc__begin(s, true, d))) return e;
  st_thread t;
  st_thread_team tt;
  e = team_thread(s, c, thread_id, a, &t, d);
  if (!e) e = team_of(s, &t, a, &tt);
  if (!e) {
    tt.tags = joined;
    e = store_thread_team_put(s->st, &tt);
  }
  if (!e) e = svc__audit(s, t.seller_id, c->name, "thread.tags", svc__record_ref(a, "T", t.id), json_pack("{s:O}", "tags", tags));
  e = svc__end(s, e, d);
  if (!e) svc__publish(s, SVC_EVENT_THREAD, &t, NULL);
  return e;
}

pl_err svc_team_priority(svc *s, const svc_caller *c, int64_t thread_id, const char *priority,
                         pl_arena *a, pl_detail *d) {
  pl_err e = need_agent(c, true, d);
  if (e) return e;
  if (!priority) return pl_fail(d, PL_EMISSING, "priority is required");
  if (!in_list(priorities, priority)) return pl_fail(d, PL_EINVAL, "priority must be low, normal, high or urgent");
  if ((e = svc__begin(s, true, d))) return e;
  st_thread t;
  st_thread_team tt;
  e = team_thread(s, c, thread_id, a, &t, d);
  if (!e) e = team_of(s, &t, a, &tt);
  if (!e) {
    tt.priority = (char *)priority;
    e = store_thread_team_put(s->st, &tt);
  }
  if (!e) e = svc__audit(s, t.seller_id, c->name, "thread.priority", svc__record_ref(a, "T", t.id),
                         json_pack("{s:s}", "priority", priority));
  e = svc__end(s, e, d);
  if (!e) svc__publish(s, SVC_EVENT_THREAD, &t, NULL);
  return e;
}

pl_err svc_team_note(svc *s, const svc_caller *c, int64_t thread_id, const char *text, pl_arena *a,
                     st_message *m, pl_detail *d) {
  pl_err e = need_agent(c, true, d);
  if (e || (e = svc__check_text(&text, a, d))) return e;
  if ((e = svc__begin(s, true, d))) return e;
  st_thread t;
  e = team_thread(s, c, thread_id, a, &t, d);
  /* Not scanned: a note never leaves the team; "delivered" to the team, and the clock
   * counts it as an internal note, never as an answer. */
  memset(m, 0, sizeof *m);
  if (!e) {
    *m = (st_message){.thread_id = t.id, .seller_id = t.seller_id, .direction = ST_DIR_SELLER, .kind = ST_KIND_NOTE,
                      .agent_id = c->agent_id, .text = (char *)text, .at = svc_now(s)};
    e = svc__message_add(s, &t, m, ST_STATUS_DELIVERED, c->name);
  }
  if (!e) e = svc__thread_changed(s, &t, SVC__NEW_MESSAGE, m, a);
  if (!e) e = svc__audit(s, t.seller_id, c->name, "message.note", svc__record_ref(a, "T", t.id),
                         json_pack("{s:s}", "message", svc__record_ref(a, "M", m->id)));
  e = svc__end(s, e, d);
  if (!e) svc__publish(s, SVC_EVENT_THREAD, &t, NULL);
  return e;
}

static json_t *lock_json(const st_thread_lock *lk) {
  char a[32], b[32];
  return json_pack("{s:I,s:s,s:s,s:s}", "agent_id", (json_int_t)lk->agent_id, "name", lk->agent_name,
                   "since", pl_time_format(lk->since, a), "expires_at", pl_time_format(lk->expires_at, b));
}

json_t *svc_team_thread_json(svc *s, const svc_caller *c, int64_t thread_id, pl_arena *a) {
  if (c->kind == ST_PRINCIPAL_BUYER) return NULL;
  if (svc__begin(s, false, NULL)) return NULL;
  st_thread t;
  st_thread_team tt;
  st_thread_lock lk;
  json_t *j = NULL;
  pl_err e = s->st->ops->thread_get(s->st, thread_id, a, &t);
  if (!e && c->kind == ST_PRINCIPAL_AGENT && strcmp(t.seller_id, c->seller_id)) e = PL_ENOTFOUND;
  if (!e) e = team_of(s, &t, a, &tt);
  if (!e) {
    json_t *tags = json_array();
    for (char *p = tt.tags; p && *p;) {
      char *q = strchr(p + 1, ',');
      if (!q) break;
      if (q > p + 1) json_array_append_new(tags, json_stringn(p + 1, (size_t)(q - p - 1)));
      p = q;
    }
    pl_err le = store_thread_lock_get(s->st, thread_id, svc_now(s), a, &lk);
    j = json_pack("{s:o,s:s,s:o,s:o}", "assignee_id", tt.assignee_id ? json_integer(tt.assignee_id) : json_null(),
                  "priority", tt.priority, "tags", tags, "replying", le ? json_null() : lock_json(&lk));
  }
  svc__end(s, PL_OK, NULL);
  return j;
}

/* ---- composition locks -------------------------------------------------------------------- */

static pl_err take_lock(svc *s, const svc_caller *c, const st_thread *t, pl_arena *a, st_thread_lock *holder) {
  st_agent ag = {.name = (char *)c->agent_name};
  pl_err e = c->agent_name ? PL_OK : store_agent_get(s->st, c->agent_id, NULL, NULL, a, &ag);
  if (e == PL_ENOTFOUND) {
    ag.name = (char *)c->name;
    e = PL_OK;
  }
  if (e) return e;
  pl_time now = svc_now(s);
  st_thread_lock lk = {.thread_id = t->id, .agent_id = c->agent_id, .agent_name = ag.name, .since = now,
                       .expires_at = now + SVC_LOCK_SECONDS};
  return store_thread_lock_take(s->st, t->seller_id, &lk, now, a, holder);
}

static pl_err held_by_other(const st_thread_lock *h, pl_detail *d) {
  char since[32];
  return pl_fail(d, PL_ECONFLICT, "%s is replying in this thread (since %s); send with confirm to reply anyway",
                 h->agent_name, pl_time_format(h->since, since));
}

pl_err svc_team_lock(svc *s, const svc_caller *c, int64_t thread_id, pl_arena *a, json_t **out, pl_detail *d) {
  pl_err e = need_agent(c, true, d);
  if (e || (e = svc__begin(s, true, d))) return e;
  st_thread t;
  st_thread_lock h;
  e = team_thread(s, c, thread_id, a, &t, d);
  if (!e) e = take_lock(s, c, &t, a, &h);
  if (!e && h.agent_id != c->agent_id) e = held_by_other(&h, d);
  if (!e) *out = lock_json(&h);
  return svc__end(s, e, d);
}

pl_err svc_team_unlock(svc *s, const svc_caller *c, int64_t thread_id, pl_detail *d) {
  pl_err e = need_agent(c, true, d);
  if (e || (e = svc__begin(s, true, d))) return e;
  pl_arena *a = pl_arena_new();
  st_thread t;
  e = team_thread(s, c, thread_id, a, &t, d);
  if (!e) e = store_thread_lock_release(s->st, thread_id, c->agent_id);
  pl_arena_free(a);
  return svc__end(s, e, d);
}

/* ---- the reply hooks ------------------------------------------------------------------- */

pl_err svc__team_before_reply(svc *s, const svc_caller *c, st_thread *t, svc_send_in *in, pl_arena *a,
                              pl_detail *d) {
  /* The lock row first: writers on one thread queue behind it, so the checks below see
   * any reply committed meanwhile. */
  if (in->template_id < 0) return pl_fail(d, PL_EINVAL, "template_id is not a template's id");
  if (in->after < 0) return pl_fail(d, PL_EINVAL, "after is not a message id");
  st_thread_lock h;
  pl_err e = take_lock(s, c, t, a, &h);
  if (e) return e;
  if (h.agent_id != c->agent_id && !in->confirm) return held_by_other(&h, d);
  if (in->after) {
    st_message *msgs;
    size_t n;
    if ((e = s->st->ops->message_list(s->st, t->id, a, &msgs, &n))) return e;
    bool found = false;
    for (size_t i = 0; i < n; i++) found |= msgs[i].id == in->after;
    if (!found) return pl_fail(d, PL_EINVAL, "after: %s is not a message of this thread", svc_message_ref(a, in->after));
    for (size_t i = 0; i < n && !in->confirm; i++) {
      const st_message *m = &msgs[i];
      if (m->id <= in->after) continue;
      if (m->direction == ST_DIR_BUYER)
        return pl_fail(d, PL_ECONFLICT, "the buyer wrote again (%s) since %s; read it, or send with confirm",
                       svc_message_ref(a, m->id), svc_message_ref(a, in->after));
      /* A reply the policy refused never reached the buyer: the thread has not moved on. */
      bool reached = m->status == ST_STATUS_DELIVERED || m->status == ST_STATUS_HELD_FOR_REVIEW;
      bool reply = m->kind == ST_KIND_MESSAGE || m->kind == ST_KIND_AUTO_REPLY;
      if (reply && m->agent_id != c->agent_id && reached)
        return pl_fail(d, PL_ECONFLICT, "another agent replied (%s) since %s; read it, or send with confirm",
                       svc_message_ref(a, m->id), svc_message_ref(a, in->after));
    }
  }
  if (in->proposal_id) {
    st_team_doc doc;
    json_t *body;
    if ((e = doc_load(s, t->seller_id, ST_DOC_PROPOSAL, in->proposal_id, a, &doc, &body, d))) return e;
    int64_t tid = json_integer_value(json_object_get(body, "thread"));
    if (tid != t->id) return pl_fail(d, PL_ENOTFOUND, "no proposal %s in this thread", svc_team_ref(a, "PR", in->proposal_id));
    if (doc.state != ST_PROPOSAL_PENDING)
      return pl_fail(d, PL_ECONFLICT, "proposal %s is already %s", svc_team_ref(a, "PR", in->proposal_id),
                     st_proposal_state_name(doc.state) ?: "decided");
  }
  if (in->template_id) {
    if (in->text) return pl_fail(d, PL_EINVAL, "give text or template_id, not both");
    st_team_doc doc;
    json_t *tpl;
    const char *lang;
    char *text;
    if ((e = template_load(s, c, t->seller_id, in->template_id, a, &doc, &tpl, d))) return e;
    e = render_for(s, tpl, t->order_id, t->buyer_id, t->marketplace_id, in->values, a, &text, &lang, d);
    if (e) return e;
    in->text = text;
    if ((e = svc__check_text(&in->text, a, d))) return e;
  }
  return PL_OK;
}

pl_err svc__team_after_reply(svc *s, const svc_caller *c, const st_thread *t, const svc_send_in *in,
                             const st_message *m, pl_arena *a) {
  pl_err e = store_thread_lock_release(s->st, t->id, c->agent_id);
  if (e || !in->proposal_id || m->status == ST_STATUS_REJECTED) return e;
  st_team_doc doc;
  json_t *body;
  pl_detail d = {0};
  if ((e = doc_load(s, t->seller_id, ST_DOC_PROPOSAL, in->proposal_id, a, &doc, &body, &d))) return e;
  json_object_set_new(body, "message", json_string(svc_message_ref(a, m->id)));
  json_object_set_new(body, "decided_by", json_integer(c->agent_id));
  json_object_set_new(body, "edited", json_boolean(strcmp(json_string_value(json_object_get(body, "text")) ?: "", m->text)));
  doc.state = ST_PROPOSAL_SENT;
  doc.body = dump(body, a);
  doc.updated_at = svc_now(s);
  return store_team_doc_put(s->st, &doc);
}

/* ---- rules ------------------------------------------------------------------------------ */

static pl_err str_array(json_t *v, const char *what, pl_arena *a, pl_detail *d) {
  if (!v) return PL_OK;
  if (!json_is_array(v)) return pl_fail(d, PL_ETYPE, "conditions.%s must be an array of strings", what);
  size_t i;
  json_t *x;
  json_array_foreach(v, i, x) {
    if (!json_is_string(x)) return pl_fail(d, PL_ETYPE, "conditions.%s must be an array of strings", what);
    const char *t = json_string_value(x);
    pl_err e = svc__clean_text(pl_arena_printf(a, "conditions.%s", what), &t, a, NULL, d);
    if (e) return e;
    if (t != json_string_value(x)) json_string_set(x, t);
  }
  return PL_OK;
}

/* PL_ENOAGENT unless id is an active agent of the seller. */
static pl_err team_member(svc *s, const char *seller, json_int_t id, pl_arena *a, pl_detail *d) {
  st_team_agent *ags;
  size_t n;
  pl_err e = store_team_agent_list(s->st, seller, a, &ags, &n);
  if (e) return e;
  for (size_t i = 0; i < n; i++)
    if (ags[i].id == id) {
      if (ags[i].deactivated) return pl_fail(d, PL_ENOAGENT, "agent %lld was deactivated", (long long)id);
      if (!st_agent_role_writes(ags[i].role))
        return pl_fail(d, PL_EINVAL, "agent %lld is read-only and cannot be assigned threads", (long long)id);
      return PL_OK;
    }
  return pl_fail(d, PL_ENOAGENT, "no agent %lld on this seller's team", (long long)id);
}

/* A rule fills its template with no one there to give a missing value: every placeholder
 * of every variant of the template (its stored body) must be one the thread fills by
 * itself (the order, the buyer's name, the product) or be in the action's values.
 * PL_EMISSING names the first that is neither. */
static pl_err rule_values_cover(const char *template_body, json_t *vals, const char *ref, pl_arena *a,
                                pl_detail *d) {
  static const char *const by_itself[] = {"ORDER_ID", "BUYER_NAME", "PRODUCT_NAME", NULL};
  json_t *tpl = svc__json_keep(a, json_loads(template_body, 0, NULL));
  const char *lang;
  json_t *v;
  pl_err e = PL_OK;
  json_object_foreach(json_object_get(tpl, "variants"), lang, v) {
    for (const char *q = strchr(json_string_value(v) ? json_string_value(v) : "", '['); q && !e; q = strchr(q + 1, '[')) {
      size_t n = strspn(q + 1, "ABCDEFGHIJKLMNOPQRSTUVWXYZ_");
      char *ph = pl_arena_strndup(a, q + 1, n);
      if (n && q[1 + n] == ']' && in_list(placeholders, ph) && !in_list(by_itself, ph) &&
          !value_of(vals, ph, a))
        e = pl_fail(d, PL_EMISSING, "template %s needs [%s] (variant '%s'), which a rule cannot ask anyone for: "
                                    "give values.%s in the propose action",
                    ref, ph, lang, ph);
    }
    if (e) break;
  }
  return e;
}

static pl_err rule_check(svc *s, const char *seller, json_t *body, pl_arena *a, pl_detail *d) {
  if (!json_is_object(body)) return pl_fail(d, PL_EINVAL, "a rule is a JSON object");
  json_t *name = json_object_get(body, "name"), *cond = json_object_get(body, "conditions");
  json_t *acts = json_object_get(body, "actions");
  if (!json_is_string(name) || !*json_string_value(name)) return pl_fail(d, PL_EMISSING, "a rule needs a name");
  pl_err ne = svc__check_name("name", json_string_value(name), d);
  if (ne) return ne;
  if (cond && !json_is_object(cond)) return pl_fail(d, PL_ETYPE, "conditions must be an object");
  pl_err e;
  if ((e = str_array(json_object_get(cond, "words"), "words", a, d)) ||
      (e = str_array(json_object_get(cond, "topics"), "topics", a, d)) ||
      (e = str_array(json_object_get(cond, "order_status"), "order_status", a, d)) ||
      (e = str_array(json_object_get(cond, "languages"), "languages", a, d)))
    return e;
  json_t *mn = json_object_get(cond, "min_order_age_days"), *mx = json_object_get(cond, "max_order_age_days");
  if ((mn && !json_is_integer(mn)) || (mx && !json_is_integer(mx)))
    return pl_fail(d, PL_ETYPE, "order ages are whole days");
  if (!json_is_array(acts) || json_array_size(acts) == 0) return pl_fail(d, PL_EMISSING, "a rule needs actions");
  bool proposes = false;
  size_t i;
  json_t *x;
  json_array_foreach(acts, i, x) {
    const char *type = json_string_value(json_object_get(x, "type"));
    if (!type) return pl_fail(d, PL_EMISSING, "each action needs a type");
    svc_rule_action act;
    (void)svc_rule_action_from_name(type, &act);
    switch (act) {
    case SVC_RULE_ASSIGN: {
      json_t *ag = json_object_get(x, "agent_id");
      if (!json_is_integer(ag) && !(json_is_string(ag) && !strcmp(json_string_value(ag), "round_robin")))
        return pl_fail(d, PL_EINVAL, "assign takes agent_id: an agent's id or \"round_robin\"");
      /* A rule names only an active agent of its own seller. */
      if (json_is_integer(ag) && (e = team_member(s, seller, json_integer_value(ag), a, d))) return e;
      break;
    }
    case SVC_RULE_TAG: {
      const char *tag = json_string_value(json_object_get(x, "tag"));
      if (!tag || !valid_tag(tag)) return pl_fail(d, PL_EINVAL, "tag takes a tag: lower-case letters, digits, '-' or '_'");
      break;
    }
    case SVC_RULE_PRIORITY:
      if (!in_list(priorities, json_string_value(json_object_get(x, "priority"))))
        return pl_fail(d, PL_EINVAL, "priority takes low, normal, high or urgent");
      break;
    case SVC_RULE_PROPOSE: {
      int64_t tid;
      st_team_doc doc;
      if (!svc_team_parse_ref(json_string_value(json_object_get(x, "template_id")), "TPL", &tid))
        return pl_fail(d, PL_EINVAL, "propose takes a template_id");
      e = store_team_doc_get(s->st, seller, ST_DOC_TEMPLATE, tid, a, &doc);
      if (e == PL_ENOTFOUND) return pl_fail(d, PL_EINVAL, "no template %s", svc_team_ref(a, "TPL", tid));
      if (e) return e;
      if (svc_template_author(svc__json_keep(a, json_loads(doc.body, 0, NULL))))
        return pl_fail(d, PL_EINVAL, "template %s is an agent's saved reply: a rule proposes the team's templates",
                       svc_team_ref(a, "TPL", tid));
      json_t *vals = json_object_get(x, "values");
      if (vals && !json_is_object(vals)) return pl_fail(d, PL_ETYPE, "values must be an object");
      const char *vk;
      json_t *vv;
      json_object_foreach(vals, vk, vv) {
        const char *vs = json_string_value(vv);
        if (vs && (e = svc__clean_text("a value", &vs, a, NULL, d))) return e;
        if (vs && vs != json_string_value(vv)) json_string_set(vv, vs);
      }
      if ((e = rule_values_cover(doc.body, vals, svc_team_ref(a, "TPL", tid), a, d))) return e;
      proposes = true;
      break;
    }
    case SVC_RULE_ACTION_NONE: return pl_fail(d, PL_EINVAL, "an action is assign, tag, priority or propose");
    }
  }
  json_t *as = json_object_get(body, "auto_send"), *en = json_object_get(body, "enabled");
  if ((as && !json_is_boolean(as)) || (en && !json_is_boolean(en)))
    return pl_fail(d, PL_ETYPE, "auto_send and enabled are true or false");
  if (json_is_true(as) && !proposes) return pl_fail(d, PL_EINVAL, "auto_send needs a propose action");
  if (json_is_true(as)) {
    /* Replies wait for an agent's approval; a marketplace may let rules send templates by
     * themselves, as automatic replies that never count as an answer (docs/team.md). */
    st_seller sl;
    svc_rules r;
    if ((e = store_seller_get(s->st, seller, NULL, a, &sl)) || (e = svc__rules_for(s, sl.marketplace_id, a, &r)))
      return e;
    if (!r.rules_auto_send)
      return pl_fail(d, PL_EFORBIDDEN, "this marketplace does not let rules send without an agent's approval "
                                       "(auto_send); the rule may propose replies for approval");
  }
  return PL_OK;
}

/* A checked rule's actions as they are kept: each with its type and the fields that type
 * takes, nothing else (an agent_id on a tag action would otherwise be kept, naming anyone). */
static json_t *actions_norm(json_t *acts) {
  static const char *const takes[SVC_RULE_ACTION_N][2] = {[SVC_RULE_ASSIGN] = {"agent_id"},
                                                         [SVC_RULE_TAG] = {"tag"},
                                                         [SVC_RULE_PRIORITY] = {"priority"},
                                                         [SVC_RULE_PROPOSE] = {"template_id", "values"}};
  json_t *out = json_array();
  size_t i;
  json_t *x;
  json_array_foreach(acts, i, x) {
    const char *type = json_string_value(json_object_get(x, "type"));
    json_t *n = json_pack("{s:s}", "type", type);
    svc_rule_action act;
    (void)svc_rule_action_from_name(type, &act);
    for (size_t f = 0; f < 2 && takes[act][f]; f++) {
      json_t *v = json_object_get(x, takes[act][f]);
      if (v) json_object_set(n, takes[act][f], v);
    }
    json_array_append_new(out, n);
  }
  return out;
}

pl_err svc_rule_put(svc *s, const svc_caller *c, int64_t id, json_t *body, pl_arena *a, json_t **out,
                    pl_detail *d) {
  pl_err e = need_owner(c, d);
  if (e || (e = svc__begin(s, true, d))) return e;
  e = rule_check(s, c->seller_id, body, a, d);
  pl_time now = svc_now(s);
  st_team_doc doc = {.id = id, .seller_id = (char *)c->seller_id, .kind = ST_DOC_RULE,
                     .created_at = now, .updated_at = now};
  if (!e) {
    /* "o" takes the reference: a borrowed conditions object gets one of its own, a new
     * empty one is handed over (with "O" it would be leaked). */
    json_t *cond = json_object_get(body, "conditions");
    cond = cond ? json_incref(cond) : json_object();
    json_t *norm = json_pack("{s:O,s:b,s:o,s:o,s:b}", "name", json_object_get(body, "name"), "enabled",
                             !json_is_false(json_object_get(body, "enabled")), "conditions", cond, "actions",
                             actions_norm(json_object_get(body, "actions")), "auto_send",
                             json_is_true(json_object_get(body, "auto_send")));
    doc.body = dump(norm, a);
    json_decref(norm);
    if (id) {
      st_team_doc old;
      e = store_team_doc_get(s->st, c->seller_id, ST_DOC_RULE, id, a, &old);
      if (e == PL_ENOTFOUND) e = pl_fail(d, PL_ENOTFOUND, "no rule %s", svc_team_ref(a, "R", id));
      if (!e) doc.created_at = old.created_at;
    }
  }
  if (!e) e = store_team_doc_put(s->st, &doc);
  if (!e) e = svc__audit(s, c->seller_id, c->name, id ? "rule.update" : "rule.create", svc__record_ref(a, "R", doc.id), NULL);
  if (!e) *out = doc_json(&doc, a);
  return svc__end(s, e, d);
}

pl_err svc_rule_list(svc *s, const svc_caller *c, pl_arena *a, json_t **out, pl_detail *d) {
  return doc_list_json(s, c, ST_DOC_RULE, ST_PROPOSAL_NONE, MAX_RULES, a, out, d);
}

pl_err svc_rule_delete(svc *s, const svc_caller *c, int64_t id, pl_detail *d) {
  return doc_delete(s, c, ST_DOC_RULE, id, d);
}

pl_err svc_rule_firings(svc *s, const svc_caller *c, int limit, pl_arena *a, json_t **out, pl_detail *d) {
  if (limit < 1 || limit > 500) return pl_fail(d, PL_EINVAL, "limit is 1 to 500");
  return doc_list_json(s, c, ST_DOC_FIRING, ST_PROPOSAL_NONE, limit, a, out, d);
}

pl_err svc_proposal_list(svc *s, const svc_caller *c, const char *state, pl_arena *a, json_t **out,
                         pl_detail *d) {
  st_proposal_state st = ST_PROPOSAL_PENDING;
  if (state && st_proposal_state_from_name(state, &st)) return pl_fail(d, PL_EINVAL, "state is pending, sent or discarded");
  return doc_list_json(s, c, ST_DOC_PROPOSAL, st, 500, a, out, d);
}

pl_err svc_proposal_send(svc *s, const svc_caller *c, int64_t id, const char *text, bool confirm,
                         pl_arena *a, svc_sent *out, pl_detail *d) {
  memset(out, 0, sizeof *out);
  pl_err e = need_agent(c, true, d);
  if (e || (e = svc__begin(s, false, d))) return e;
  st_team_doc doc;
  json_t *body = NULL;
  e = doc_load(s, c->seller_id, ST_DOC_PROPOSAL, id, a, &doc, &body, d);
  svc__end(s, PL_OK, NULL);
  if (e) return e;
  int64_t thread = json_integer_value(json_object_get(body, "thread"));
  svc_send_in in = {.text = text ? text : pl_arena_strdup(a, json_string_value(json_object_get(body, "text")) ?: ""),
                    .proposal_id = id, .confirm = confirm};
  /* Written for the buyer message that fired the rule: refused when the thread moved on. */
  svc_parse_ref(json_string_value(json_object_get(body, "buyer_message")), 'M', &in.after);
  return svc_send(s, c, thread, &in, a, out, d);
}

pl_err svc_proposal_discard(svc *s, const svc_caller *c, int64_t id, pl_arena *a, pl_detail *d) {
  pl_err e = need_agent(c, true, d);
  if (e || (e = svc__begin(s, true, d))) return e;
  st_team_doc doc;
  json_t *body = NULL;
  e = doc_load(s, c->seller_id, ST_DOC_PROPOSAL, id, a, &doc, &body, d);
  if (!e && doc.state != ST_PROPOSAL_PENDING)
    e = pl_fail(d, PL_ECONFLICT, "proposal %s is already %s", svc_team_ref(a, "PR", id),
                st_proposal_state_name(doc.state) ?: "decided");
  if (!e) {
    json_object_set_new(body, "decided_by", json_integer(c->agent_id));
    doc.state = ST_PROPOSAL_DISCARDED;
    doc.body = dump(body, a);
    doc.updated_at = svc_now(s);
    e = store_team_doc_put(s->st, &doc);
  }
  if (!e) e = svc__audit(s, c->seller_id, c->name, "proposal.discard", svc__record_ref(a, "PR", id), NULL);
  return svc__end(s, e, d);
}

/* Case-folded text (ICU full case folding), for word conditions. */
static char *fold(const char *text, pl_arena *a) { return svc__fold(text, a); }

char *svc__fold(const char *text, pl_arena *a) {
  UErrorCode st = U_ZERO_ERROR;
  int32_t n = 0;
  size_t len = strlen(text);
  UChar *u = pl_arena_alloc(a, (len + 1) * sizeof(UChar));
  u_strFromUTF8(u, (int32_t)len + 1, &n, text, (int32_t)len, &st);
  if (U_FAILURE(st)) return pl_arena_strdup(a, text);
  UChar *f = pl_arena_alloc(a, (size_t)(2 * n + 1) * sizeof(UChar));
  int32_t fn = u_strFoldCase(f, 2 * n + 1, u, n, U_FOLD_CASE_DEFAULT, &st);
  char *out = pl_arena_alloc(a, (size_t)fn * 4 + 1);
  int32_t on = 0;
  if (!U_FAILURE(st)) u_strToUTF8(out, fn * 4 + 1, &on, f, fn, &st);
  return U_FAILURE(st) ? pl_arena_strdup(a, text) : out;
}

static bool word_char(unsigned char ch) { return isalnum(ch) || ch >= 0x80; }

static bool has_word(const char *text, const char *phrase) { return svc__has_word(text, phrase); }

bool svc__has_word(const char *text, const char *phrase) {
  size_t n = strlen(phrase);
  if (!n) return false;
  for (const char *p = strstr(text, phrase); p; p = strstr(p + 1, phrase)) {
    bool start = p == text || !word_char((unsigned char)p[-1]);
    bool end = !word_char((unsigned char)p[n]);
    if (start && end) return true;
  }
  return false;
}

static bool any_of(json_t *list, const char *v) {
  size_t i;
  json_t *x;
  json_array_foreach(list, i, x) if (v && !strcmp(json_string_value(x), v)) return true;
  return false;
}

static bool rule_matches(json_t *cond, const st_thread *t, const st_message *m, const st_order *o,
                         const char *lang, pl_time now, pl_arena *a) {
  json_t *v;
  if ((v = json_object_get(cond, "words")) && json_array_size(v)) {
    const char *text = fold(m->text, a);
    bool hit = false;
    size_t i;
    json_t *x;
    json_array_foreach(v, i, x) hit |= has_word(text, fold(json_string_value(x), a));
    if (!hit) return false;
  }
  if ((v = json_object_get(cond, "topics")) && json_array_size(v) && !any_of(v, t->topic)) return false;
  if ((v = json_object_get(cond, "order_status")) && json_array_size(v) && !any_of(v, o ? st_order_status_name(o->status) : NULL))
    return false;
  if ((v = json_object_get(cond, "languages")) && json_array_size(v) && !any_of(v, lang)) return false;
  json_t *mn = json_object_get(cond, "min_order_age_days"), *mx = json_object_get(cond, "max_order_age_days");
  if (mn || mx) {
    if (!o || !o->purchased_at) return false;
    int64_t age = (now - o->purchased_at) / DAY;
    if (mn && age < json_integer_value(mn)) return false;
    if (mx && age > json_integer_value(mx)) return false;
  }
  return true;
}

static pl_err log_firing(svc *s, const st_thread *t, const st_message *m, int64_t rule, const char *action,
                         const char *outcome, pl_arena *a) {
  pl_time now = svc_now(s);
  json_t *b = json_pack("{s:s,s:s,s:s,s:s,s:s}", "rule", svc_team_ref(a, "R", rule), "message",
                        svc_message_ref(a, m->id), "thread", svc_thread_ref(a, t->id), "action", action,
                        "outcome", outcome);
  st_team_doc doc = {.seller_id = t->seller_id, .kind = ST_DOC_FIRING, .body = dump(b, a),
                     .created_at = now, .updated_at = now};
  json_decref(b);
  return store_team_doc_put(s->st, &doc);
}

/* A rule that failed to act says so where its owner looks (GET /v1/rules, the rules page):
 * the last failure and how many there were since the rule was last saved; saving it
 * again (a fix) clears them. body is the rule's parsed body, changed here. */
static pl_err rule_failed(svc *s, st_team_doc *rule, json_t *body, const st_message *m, const char *outcome,
                          pl_time now, pl_arena *a) {
  char at[32];
  json_int_t n = json_integer_value(json_object_get(body, "failures"));
  json_object_set_new(body, "failures", json_integer(n + 1));
  json_object_set_new(body, "last_failure", json_pack("{s:s,s:s,s:s}", "at", pl_time_format(now, at), "message",
                                                      svc_message_ref(a, m->id), "reason", outcome));
  rule->body = dump(body, a);
  rule->updated_at = now;
  return store_team_doc_put(s->st, rule);
}

/* A proposed reply: waits for an agent unless the rule sends it by itself and the text
 * passes the policy as it stands. Returns the outcome for the log. */
static pl_err propose(svc *s, st_thread *t, const st_message *m, int64_t rule, bool auto_send, json_t *act,
                      pl_arena *a, const char **outcome) {
  int64_t tid = 0;
  svc_team_parse_ref(json_string_value(json_object_get(act, "template_id")), "TPL", &tid);
  st_team_doc tdoc;
  json_t *tpl = NULL;
  pl_detail d = {0};
  char *text;
  const char *lang;
  pl_err e = doc_load(s, t->seller_id, ST_DOC_TEMPLATE, tid, a, &tdoc, &tpl, &d);
  if (!e) e = render_for(s, tpl, t->order_id, t->buyer_id, t->marketplace_id, json_object_get(act, "values"), a,
                         &text, &lang, &d);
  if (e == PL_ESTORE) return e;
  if (e) {
    *outcome = pl_arena_printf(a, "failed: %s", d.msg);
    return PL_OK;
  }
  pl_time now = svc_now(s);
  json_t *b = svc__json_keep(a, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:I}", "thread_id", svc_thread_ref(a, t->id),
                                          "buyer_message", svc_message_ref(a, m->id), "rule",
                                          svc_team_ref(a, "R", rule), "template_id", svc_team_ref(a, "TPL", tid),
                                          "text", text, "language", lang, "thread", (json_int_t)t->id));
  st_team_doc doc = {.seller_id = t->seller_id, .kind = ST_DOC_PROPOSAL, .state = ST_PROPOSAL_PENDING, .body = dump(b, a),
                     .created_at = now, .updated_at = now};
  if ((e = store_team_doc_put(s->st, &doc))) return e;
  const char *ref = svc_team_ref(a, "PR", doc.id);
  *outcome = pl_arena_printf(a, "proposed %s, waiting for approval", ref);
  svc_rules mr;
  bool allowed = auto_send && !svc__rules_for(s, t->marketplace_id, a, &mr) && mr.rules_auto_send;
  if (auto_send && !allowed) {
    *outcome = pl_arena_printf(a, "proposed %s, waiting for approval (the marketplace no longer lets rules send by themselves)", ref);
  } else if (auto_send) {
    policy_config *cfg;
    const char *const *allow;
    policy_verdict v = {0};
    bool clean = false;
    if (!svc__policy_for(s, t->marketplace_id, a, &cfg, &allow, &d)) {
      clean = !policy_scan_allow(cfg, allow, text, strlen(text), &v) && v.action == POLICY_DELIVER;
      policy_verdict_free(&v);
      policy_config_unref(cfg);
    }
    if (clean && !svc__check_quota(s, t->seller_id, a, &d)) {
      svc_caller rc = {.kind = ST_PRINCIPAL_AGENT, .seller_id = t->seller_id, .agent_role = ST_ROLE_OWNER,
                       .marketplace_id = t->marketplace_id, .name = pl_arena_printf(a, "rule:%s", svc_team_ref(a, "R", rule))};
      /* an automatic reply: the buyer's message still waits for its answer (the clock) */
      svc_send_in in = {.text = text, .auto_reply = true};
      svc_sent sent;
      e = svc__add_message(s, &rc, t, &in, NULL, a, &sent, &d);
      policy_verdict_free(&sent.verdict);
      if (e) return e;
      json_object_set_new(b, "message", json_string(svc_message_ref(a, sent.msg.id)));
      doc.state = ST_PROPOSAL_SENT;
      doc.body = dump(b, a);
      if ((e = store_team_doc_put(s->st, &doc))) return e;
      *outcome = pl_arena_printf(a, "sent %s as %s (auto-send)", ref, svc_message_ref(a, sent.msg.id));
    } else {
      *outcome = pl_arena_printf(a, "proposed %s, waiting for approval (not sent by itself: %s)", ref,
                                 clean ? "the daily quota is used up" : "the policy does not pass it as it stands");
    }
  }
  return PL_OK;
}

pl_err svc__team_on_buyer_message(svc *s, st_thread *t, const st_message *m, pl_arena *a) {
  st_team_doc *rules;
  size_t n;
  pl_err e = store_team_doc_list(s->st, t->seller_id, ST_DOC_RULE, ST_PROPOSAL_NONE, MAX_RULES, a, &rules, &n);
  if (e || n == 0) return e;
  st_order o;
  st_buyer b;
  bool have_order = false;
  if (t->order_id) {
    if ((e = store_order_get(s->st, t->order_id, a, &o))) return e;
    have_order = true;
  }
  if ((e = store_buyer_get(s->st, t->buyer_id, NULL, a, &b))) return e;
  const char *lang = lang_of(b.locale, a);
  pl_time now = svc_now(s);
  /* The seller's rules read the message as the seller does, masked: a rule's words
   * must not tell the seller whether a buyer wrote a guessed phone number or address. */
  svc_caller team = {.kind = ST_PRINCIPAL_AGENT, .seller_id = t->seller_id};
  st_message seen = *m;
  svc__view(s, &team, t->marketplace_id, &seen, 1, a);
  /* Oldest rule first, so that later rules can override earlier ones. */
  for (size_t k = n; k-- > 0 && !e;) {
    json_t *r = svc__json_keep(a, json_loads(rules[k].body, 0, NULL));
    if (!r || json_is_false(json_object_get(r, "enabled")) ||
        !rule_matches(json_object_get(r, "conditions"), t, &seen, have_order ? &o : NULL, lang, now, a))
      continue;
    size_t i;
    json_t *act;
    json_array_foreach(json_object_get(r, "actions"), i, act) {
      const char *type = json_string_value(json_object_get(act, "type"));
      const char *outcome = "done";
      pl_detail d = {0};
      char *rname = pl_arena_printf(a, "rule:%s", svc_team_ref(a, "R", rules[k].id));
      svc_rule_action what;
      (void)svc_rule_action_from_name(type, &what);
      switch (what) {
      case SVC_RULE_ASSIGN: {
        json_t *ag = json_object_get(act, "agent_id");
        int64_t who = json_is_integer(ag) ? json_integer_value(ag) : -1, got = 0;
        e = assign_in(s, rname, t, who, a, &got, &d);
        if (!e) outcome = pl_arena_printf(a, "assigned to agent %lld", (long long)got);
        break;
      }
      case SVC_RULE_TAG:
      case SVC_RULE_PRIORITY: {
        st_thread_team tt;
        if (!(e = team_of(s, t, a, &tt))) {
          if (what == SVC_RULE_TAG) tt.tags = tag_add(tt.tags, json_string_value(json_object_get(act, "tag")), a);
          else tt.priority = (char *)json_string_value(json_object_get(act, "priority"));
          e = store_thread_team_put(s->st, &tt);
        }
        if (!e) outcome = what == SVC_RULE_TAG ? pl_arena_printf(a, "tagged %s", json_string_value(json_object_get(act, "tag")))
                                               : pl_arena_printf(a, "priority %s", tt.priority);
        break;
      }
      case SVC_RULE_PROPOSE:
        e = propose(s, t, m, rules[k].id, json_is_true(json_object_get(r, "auto_send")), act, a, &outcome);
        break;
      case SVC_RULE_ACTION_NONE: break; /* a stored rule was checked when it was saved */
      }
      /* A rule that cannot act is logged, never a reason to lose the buyer's message. */
      if (e && e != PL_ESTORE) {
        outcome = pl_arena_printf(a, "failed: %s", d.msg[0] ? d.msg : pl_strerror(e));
        e = PL_OK;
      }
      if (!e) e = log_firing(s, t, m, rules[k].id, type, outcome, a);
      if (!e && !strncmp(outcome, "failed", 6)) e = rule_failed(s, &rules[k], r, m, outcome, now, a);
      if (e) break;
    }
  }
  return e;
}

/* ---- audit sample -------------------------------------------------------------------------- */

/* splitmix64: small, fast, and the same sequence everywhere for a seed. */
static uint64_t next_rand(uint64_t *x) {
  uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

pl_err svc_audit_sample(svc *s, const svc_caller *c, const char *seller_id, int n, uint64_t seed,
                        int64_t until, pl_arena *a, json_t **out, pl_detail *d) {
  if (c->kind == ST_PRINCIPAL_BUYER || (c->kind == ST_PRINCIPAL_AGENT && strcmp(c->seller_id, seller_id)))
    return pl_fail(d, PL_ENOTFOUND, "no seller %s", seller_id);
  if (n < 1 || n > 500) return pl_fail(d, PL_EINVAL, "n is 1 to 500");
  pl_err e = svc__begin(s, false, d);
  if (e) return e;
  st_seller sl;
  st_message *ms = NULL;
  size_t total = 0;
  e = store_seller_get(s->st, seller_id, NULL, a, &sl);
  if (e == PL_ENOTFOUND || (!e && c->kind == ST_PRINCIPAL_OPERATOR && c->marketplace_id &&
                            strcmp(c->marketplace_id, sl.marketplace_id)))
    e = pl_fail(d, PL_ENOTFOUND, "no seller %s", seller_id);
  if (!e) e = store_team_reply_list(s->st, seller_id, until, SVC_AUDIT_POPULATION, a, &ms, &total);
  e = svc__end(s, e, d);
  if (e) return e;
  /* The population in a fixed order (newest first), then a partial Fisher-Yates
   * shuffle driven by the seed: the first n are the sample. */
  uint64_t x = seed;
  size_t k = (size_t)n < total ? (size_t)n : total;
  for (size_t i = 0; i < k; i++) {
    size_t j = i + (size_t)(next_rand(&x) % (total - i));
    st_message tmp = ms[i];
    ms[i] = ms[j];
    ms[j] = tmp;
  }
  json_t *arr = json_array();
  char ts[32];
  for (size_t i = 0; i < k; i++)
    json_array_append_new(arr, json_pack("{s:s,s:s,s:o,s:s,s:s,s:s,s:s}", "id", svc_message_ref(a, ms[i].id),
                                         "thread_id", svc_thread_ref(a, ms[i].thread_id), "agent_id",
                                         ms[i].agent_id ? json_integer(ms[i].agent_id) : json_null(), "kind",
                                         st_msg_kind_name(ms[i].kind), "status",
                                         st_msg_status_name(ms[i].status) ?: "", "at",
                                         pl_time_format(ms[i].at, ts), "text", ms[i].text));
  int64_t newest = until;
  if (!newest && total) {
    newest = 0;
    for (size_t i = 0; i < total; i++)
      if (ms[i].id > newest) newest = ms[i].id;
  }
  *out = json_pack("{s:s,s:s,s:o,s:I,s:I,s:o}", "seller_id", seller_id, "seed",
                   pl_arena_printf(a, "%llu", (unsigned long long)seed), "until",
                   newest ? json_string(svc_message_ref(a, newest)) : json_null(), "population",
                   (json_int_t)total, "n", (json_int_t)k, "replies", arr);
  return PL_OK;
}
