/* policy_detect.c - detectors that need logic beyond patterns: links, e-mail, phones, emoji, formatting. */
#define _GNU_SOURCE /* memmem */
#include <ctype.h>
#include <string.h>
#include <unicode/uchar.h>

#include "policy/policy_int.h"

static bool is_alnum(char c) { return isalnum((unsigned char)c) != 0; }
static bool is_digit(char c) { return c >= '0' && c <= '9'; }
static bool is_alpha(char c) { return isalpha((unsigned char)c) != 0; }
static bool host_char(char c) { return is_alnum(c) || c == '-' || c == '.' || (unsigned char)c >= 0x80; }
static bool local_char(char c) {
  return is_alnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-';
}

static bool has_word(const char *const *list, const char *s, size_t n) {
  for (size_t k = 0; list[k]; k++)
    if (strlen(list[k]) == n && !memcmp(list[k], s, n)) return true;
  return false;
}

/* ---- domains ---------------------------------------------------------------- */

/* The top-level names RFC 2606 and RFC 6761 reserve: not in the public suffix list,
 * yet `someone@shop.test` is as much an address as any (links with them still need a
 * scheme or `www.`, as every TLD longer than two letters outside the common ones). */
static const char *const reserved_tlds[] = {"test", "example", "invalid", "localhost", NULL};

typedef struct {
  size_t suffix; /* offset of the public suffix in host, or SIZE_MAX if none is listed */
} dom_info;

/* Finds the longest listed public suffix of host (NUL-terminated, lower case). The
 * implicit "*" rule is not used, so that `file.txt` and `v2.0` are not domains. */
static dom_info domain_parts(const policy_config *cfg, const char *host) {
  dom_info di = {SIZE_MAX};
  size_t len = strlen(host);
  for (size_t p = 1; p < len; p++) {
    if (host[p - 1] != '.' || p < 2) continue; /* a label must precede the suffix */
    if (psl_is_public_suffix2(cfg->psl, host + p, PSL_TYPE_ANY | PSL_TYPE_NO_STAR_RULE) ||
        has_word(reserved_tlds, host + p, len - p)) {
      di.suffix = p;
      return di;
    }
  }
  return di;
}

/* host is domain, or a subdomain of it. */
static bool host_within(const char *host, size_t hl, const char *domain) {
  size_t al = strlen(domain);
  if (hl == al && !memcmp(host, domain, al)) return true;
  return hl > al && host[hl - al - 1] == '.' && !memcmp(host + hl - al, domain, al);
}

static bool domain_in(const policy__strs *list, const char *host) {
  size_t hl = strlen(host);
  for (size_t k = 0; k < list->n; k++)
    if (host_within(host, hl, list->v[k])) return true;
  return false;
}

/* The scan's own allowed domains, matched as the configuration's are. */
static bool domain_in_scan(const policy__scan *sc, const char *host) {
  if (!sc->allow) return false;
  size_t hl = strlen(host);
  for (const char *const *a = sc->allow; *a; a++)
    if (host_within(host, hl, *a)) return true;
  return false;
}

static const char *const gtlds[] = {"com", "net", "org", "info", "biz", "shop", "store", "online", "site",
                                    "xyz", "top", "club", "app", "website", "link", "click", "live",
                                    "pro", "tech", "space", "page", "blog", "email", NULL};
/* Real TLDs that are far more often file extensions in a message. */
static const char *const file_tlds[] = {"zip", "mov", "md", "sh", "py", "rs", "pl", "cc", "so", NULL};

static bool any_flag(const policy__scan *sc, size_t a, size_t b) {
  for (size_t k = a; k < b; k++)
    if (sc->deob_flags[k]) return true;
  return false;
}

/* The host is the marketplace's own registration under some public suffix
 * (amazon.fr, www.amazon.com.mx): not allowed unless listed, but no look-alike. */
static bool brand_own(const policy_config *cfg, const char *host, dom_info di, bool disguised) {
  if (disguised || di.suffix == SIZE_MAX || di.suffix < 2) return false;
  size_t end = di.suffix - 1; /* the dot before the suffix */
  size_t start = end;
  while (start > 0 && host[start - 1] != '.') start--;
  for (size_t b = 0; b < cfg->brands.n; b++)
    if (strlen(cfg->brands.v[b]) == end - start && !memcmp(host + start, cfg->brands.v[b], end - start))
      return true;
  return false;
}

/* The host [a, b) of view v was not written as it reads: a byte came from something
 * else (a look-alike letter of another script, a full-width dot, an entity) or
 * something invisible was dropped between two bytes. `https://www.\u0430mazon.de`
 * reads as the marketplace's own domain and is not. */
static bool host_disguised(const policy__scan *sc, const policy__buf *v, size_t a, size_t b) {
  for (size_t k = a; k < b; k++) {
    uint32_t o = v->beg[k];
    if (v->end[k] != o + 1 || tolower((unsigned char)sc->orig[o]) != v->s[k]) return true;
    if (k > a && v->end[k - 1] != o) return true;
  }
  return false;
}

void policy__detect_links(policy__scan *sc) {
  const policy_config *cfg = sc->cfg;
  const policy__buf *v = &sc->deob;
  const char *s = v->s;
  size_t n = v->len;
  char host[256];
  size_t i = 0;
  while (i < n) {
    /* a candidate starts a word; an "at" written out before it does not join it to an address */
    bool spelled_at = i > 0 && s[i - 1] == '@' && sc->deob_flags[i - 1] == POLICY__SPELLED_WORD;
    if (!is_alnum(s[i]) || (i > 0 && !spelled_at &&
                            (host_char(s[i - 1]) || s[i - 1] == '@' || s[i - 1] == '/' || s[i - 1] == '_' ||
                             s[i - 1] == ':' || s[i - 1] == '%'))) {
      i++;
      continue;
    }
    size_t st = i, j = i;
    bool scheme = false, http = false;
    if (n - i >= 7 && !memcmp(s + i, "http://", 7)) scheme = http = true, j = i + 7;
    else if (n - i >= 8 && !memcmp(s + i, "https://", 8)) scheme = true, j = i + 8;
    else if (n - i >= 6 && !memcmp(s + i, "ftp://", 6)) scheme = http = true, j = i + 6;
    size_t h0 = j;
    while (j < n && host_char(s[j])) j++;
    size_t h1 = j;
    while (h1 > h0 && (s[h1 - 1] == '.' || s[h1 - 1] == '-')) h1--;
    if (h1 == h0 || (!scheme && !memchr(s + h0, '.', h1 - h0))) {
      i = j > i ? j : i + 1;
      continue;
    }
    if (h1 == j && j < n && s[j] == '@') { /* an e-mail address: the e-mail detector's */
      i = j + 1;
      continue;
    }
    size_t end = h1;
    bool path = false;
    if (h1 == j && j < n && (s[j] == '/' || s[j] == ':' || s[j] == '?' || s[j] == '#')) {
      while (j < n && s[j] != ' ' && s[j] != '"' && s[j] != '<' && s[j] != '>') j++;
      end = j;
      while (end > h1 && strchr(".,;:!?)]}'\"", s[end - 1])) end--;
      path = end > h1 + 1;
    }
    i = j > st ? j : st + 1;
    if (h1 - h0 >= sizeof host) continue;
    memcpy(host, s + h0, h1 - h0);
    host[h1 - h0] = '\0';
    bool www = !strncmp(host, "www.", 4);
    bool disguised = host_disguised(sc, v, h0, h1);
    bool obfuscated = disguised || any_flag(sc, st, end);
    dom_info di = domain_parts(cfg, host);
    if (di.suffix == SIZE_MAX && !scheme) continue; /* v2.0, file.txt, e.g. */
    if (!scheme && !www && !obfuscated && di.suffix != SIZE_MAX) {
      const char *tld = strrchr(host, '.');
      tld = tld ? tld + 1 : host;
      size_t tl = strlen(tld);
      if (has_word(file_tlds, tld, tl)) continue;
      if (tl > 2 && !has_word(gtlds, tld, tl)) continue;
      /* "arrived.Thanks" is a missing space, not a domain: a capitalised last label. */
      size_t tpos = h0 + (size_t)(tld - host);
      uint32_t o = v->beg[tpos];
      if (!path && o + 1 < sc->orig_len && isupper((unsigned char)sc->orig[o]) &&
          islower((unsigned char)sc->orig[o + 1]))
        continue;
    }
    bool allowed = !disguised && (domain_in(&cfg->allow, host) || domain_in_scan(sc, host));
    bool shortener = domain_in(&cfg->shorteners, host);
    if (http)
      policy__hit_view(sc, v, st, end, POLICY_CAT_LINK, POLICY_SEV_HIGH, "link.insecure_http");
    else if (shortener)
      policy__hit_view(sc, v, st, end, POLICY_CAT_LINK, POLICY_SEV_HIGH, "link.shortener");
    else if (obfuscated)
      policy__hit_view(sc, v, st, end, POLICY_CAT_LINK, POLICY_SEV_HIGH, "link.obfuscated");
    else if (!allowed)
      policy__hit_view(sc, v, st, end, POLICY_CAT_LINK, POLICY_SEV_HIGH, "link.external");
    if (obfuscated && !scheme && !shortener)
      policy__hit_view(sc, v, st, end, POLICY_CAT_OFF_PLATFORM, POLICY_SEV_MEDIUM,
                       "off_platform.disguised_address");
    if (!allowed && !shortener && !brand_own(cfg, host, di, disguised)) {
      /* A host that wears the marketplace's name but is registered elsewhere. */
      for (size_t b = 0; b < cfg->brands.n; b++)
        if (strstr(host, cfg->brands.v[b])) {
          policy__hit_view(sc, v, st, end, POLICY_CAT_OFF_PLATFORM, POLICY_SEV_HIGH,
                           "off_platform.lookalike_domain");
          break;
        }
    }
  }
}

/* ---- e-mail ----------------------------------------------------------------- */

static const char *const at_stopwords[] = {"it", "is", "us", "me", "you", "we", "them", "him", "her", "are",
                                           "be", "here", "there", "look", "available", "arrive", "arrives",
                                           "arrived", "shop", "buy", "sold", "order", "home", "door",
                                           "work", "least", "all", "once", "that", "this", "one", NULL};

void policy__detect_emails(policy__scan *sc) {
  const policy_config *cfg = sc->cfg;
  const policy__buf *v = &sc->deob;
  const char *s = v->s;
  size_t n = v->len;
  char host[256];
  for (size_t k = 0; k < n; k++) {
    if (s[k] != '@') continue;
    size_t l = k;
    while (l > 0 && local_char(s[l - 1])) l--;
    while (l < k && s[l] == '.') l++;
    if (l == k) continue;
    size_t r = k + 1;
    while (r < n && host_char(s[r])) r++;
    while (r > k + 1 && (s[r - 1] == '.' || s[r - 1] == '-')) r--;
    if (r - (k + 1) < 3 || r - (k + 1) >= sizeof host) continue;
    memcpy(host, s + k + 1, r - k - 1);
    host[r - k - 1] = '\0';
    if (!strchr(host, '.')) continue;
    dom_info di = domain_parts(cfg, host);
    if (di.suffix == SIZE_MAX) continue;
    if (sc->deob_flags[k] == POLICY__SPELLED_WORD) {
      /* "at" is an ordinary word: only count it with a spelled-out dot or a mail provider. */
      bool spelled_dot = false;
      for (size_t q = k + 1; q < r; q++)
        if (s[q] == '.' && (sc->deob_flags[q] == POLICY__SPELLED_WORD || sc->deob_flags[q] == POLICY__SPELLED_BRACKET))
          spelled_dot = true;
      if (!spelled_dot && !domain_in(&cfg->freemail, host)) continue;
      if (has_word(at_stopwords, s + l, k - l)) continue;
    }
    policy__hit_view(sc, v, l, r, POLICY_CAT_EMAIL, POLICY_SEV_HIGH, "email.address");
    policy__hit_view(sc, v, l, r, POLICY_CAT_OFF_PLATFORM, POLICY_SEV_MEDIUM, "off_platform.email_contact");
    k = r;
  }
}

/* ---- phones ----------------------------------------------------------------- */

/* Words just before a number that make it a reference, not a phone number. */
static const char *const ref_words[] = {
  "tracking", "track", "trackingnummer", "waybill", "awb", "sendungsnummer", "sendung", "seguimiento",
  "suivi", "tracciamento", "spedizione", "order", "orders", "bestellung", "bestellnummer", "pedido",
  "commande", "ordine", "invoice", "rechnung", "factura", "facture", "fattura", "sku", "model", "modelo",
  "modele", "modell", "modello", "ean", "upc", "gtin", "isbn", "asin", "serial", "serie", "seriennummer",
  "ref", "reference", "referenz", "referencia", "riferimento", "guia", "envio", "expedicion", "incidencia",
  "vettura", "codice", "ritiro", "pratica", "article", "artikel", "articulo",
  "articolo", "item", "part", "p/n", "pn", "no", "nr", "parcel", "paket", "colis",
  "pacco", "paquete", "usps", "ups", "dhl", "fedex", "gls", "dpd", "hermes", "colissimo", "correos",
  "relay", "chronopost", "seur", "mrw", "nacex", "brt", "bartolini", "sda", "tnt", "evri", "yodel",
  "parcelforce", "postnl", "bpost", "inpost", "packstation", "fermopoint",
  "poste", "mail", "iban", "account", "konto", "cuenta", "compte", "conto", "case", "ticket", "rma",
  "return", "label", "batch", "lot", "code", "id", "size", "sizes", NULL};
/* Words before a number that make it a phone number whatever else is around. */
static const char *const phone_words[] = {
  "call", "phone", "tel", "telephone", "mobile", "cell", "hotline", "whatsapp", "text", "ring", "sms",
  "fax", "telefon", "telefono", "handy", "anrufen", "llame", "llamenos", "llamar", "movil", "appelez",
  "appeler", "appelez-moi", "appelez-nous", "portable", "chiamare", "chiami", "chiamaci", "cellulare",
  "numero di telefono", "telegram", "viber", "signal", NULL};
static const char *const courier_words[] = {
  "courier", "carrier", "driver", "kurier", "fahrer", "zusteller", "spedition", "repartidor",
  "transportista", "mensajero", "livreur", "transporteur", "corriere", "fattorino", NULL};

/* German compounds: Telefonnummer is a phone word, any other ...nummer (Artikelnummer,
 * Rechnungsnummer, Kundennummer) a reference. */
static const char *const phone_stems[] = {"telefon", "handy", "mobil", "ruf", "fax", "kontakt", "whatsapp", NULL};

static bool ends_with(const char *w, size_t n, const char *suffix) {
  size_t l = strlen(suffix);
  return n > l && !memcmp(w + n - l, suffix, l);
}

static bool is_phone_word(const char *w, size_t n) {
  if (has_word(phone_words, w, n)) return true;
  if (!ends_with(w, n, "nummer")) return false;
  for (size_t k = 0; phone_stems[k]; k++)
    if (!strncmp(w, phone_stems[k], strlen(phone_stems[k]))) return true;
  return false;
}

/* Labels of tax identifiers that end like a reference word ("USt-IdNr."): the identifiers
 * are recognised by their shape (business_id), not by the label alone. */
static const char *const id_labels[] = {"ust-idnr", "ustidnr", "ust-id-nr", NULL};

static bool is_ref_word(const char *w, size_t n) {
  if (has_word(id_labels, w, n)) return false;
  return has_word(ref_words, w, n) || ((ends_with(w, n, "nummer") || ends_with(w, n, "nr")) && !is_phone_word(w, n));
}

/* Looks at up to `words` words before position i of s for one that is(). */
static bool words_before(const char *s, size_t i, int words, bool (*is)(const char *, size_t)) {
  size_t p = i;
  for (int w = 0; w < words && p > 0; w++) {
    while (p > 0 && !is_alpha(s[p - 1])) {
      if (s[p - 1] == '.' && w > 0) return false; /* stop at a sentence end */
      p--;
    }
    size_t e = p;
    while (p > 0 && (is_alpha(s[p - 1]) || s[p - 1] == '-')) p--;
    if (e > p && is(s + p, e - p)) return true;
  }
  return false;
}

static bool contains_any(const char *s, size_t a, size_t b, const char *const *list) {
  for (size_t k = 0; list[k]; k++)
    if (memmem(s + a, b - a, list[k], strlen(list[k]))) return true;
  return false;
}

static void phone_found(policy__scan *sc, size_t a, size_t b, const char *rule) {
  const policy__buf *v = &sc->norm;
  policy__hit_view(sc, v, a, b, POLICY_CAT_PHONE, POLICY_SEV_HIGH, rule);
  /* A number to call is a way off the marketplace, unless a courier does the calling. */
  size_t from = a > 80 ? a - 80 : 0;
  if (!contains_any(v->s, from, a, courier_words))
    policy__hit_view(sc, v, a, b, POLICY_CAT_OFF_PLATFORM, POLICY_SEV_MEDIUM, "off_platform.phone_contact");
}

static bool currency_near(const char *s, size_t n, size_t st, size_t end) {
  size_t p = st;
  if (p > 0 && s[p - 1] == ' ') p--;
  if (p >= 1 && s[p - 1] == '$') return true;
  if (p >= 3 && !memcmp(s + p - 3, "\xe2\x82\xac", 3)) return true; /* euro sign */
  if (p >= 2 && !memcmp(s + p - 2, "\xc2\xa3", 2)) return true;      /* pound sign */
  size_t q = end;
  if (q < n && s[q] == '%') return true;
  if (q < n && s[q] == ' ') q++;
  if (q + 3 <= n && !memcmp(s + q, "\xe2\x82\xac", 3)) return true;
  if (q + 3 <= n && (!memcmp(s + q, "eur", 3) || !memcmp(s + q, "usd", 3) || !memcmp(s + q, "gbp", 3)))
    return true;
  return false;
}

static bool is_sep(char c) { return c == ' ' || c == '-' || c == '.' || c == '(' || c == ')' || c == '/'; }

/* The normalised text with the letter o written for zero undone in number groups
 * ("07 7OO 9OO 123"): a token of digits and o's that starts with a digit. The same
 * length as the text, so offsets stay; the text itself when there is nothing to undo. */
static const char *zeros_undone(policy__scan *sc) {
  const char *s = sc->norm.s;
  size_t n = sc->norm.len;
  char *out = NULL;
  for (size_t i = 0; i < n;) {
    if (!is_digit(s[i]) || (i > 0 && is_alnum(s[i - 1]))) {
      i++;
      continue;
    }
    size_t e = i, os = 0;
    while (e < n && (is_digit(s[e]) || s[e] == 'o')) os += s[e++] == 'o';
    if (os && (e == n || !is_alpha(s[e]))) {
      if (!out) {
        out = pl_arena_alloc(sc->mem, n + 1);
        memcpy(out, s, n + 1);
      }
      for (size_t q = i; q < e; q++)
        if (out[q] == 'o') out[q] = '0';
    }
    i = e > i ? e : i + 1;
  }
  return out ? out : s;
}

/* ---- business identifiers ----------------------------------------------------- */

/* Tax and company identifiers that sellers must print on invoices and that have the shape
 * of a phone number: a number is one of them, not a phone number, only when it has the
 * identifier's exact digit count and grouping AND is named, by a label a few words before it
 * ("VAT registration number", "USt-IdNr.", "SIRET") or by its country prefix in capitals
 * right before it ("GB 284 5916 73"). A phone word around it still makes it a phone number
 * ("VAT 07700 900123 call me" has neither the shape nor the right company). Groupings are
 * written as one character per group, its digit count in hexadecimal ("342" is 3-4-2,
 * "e" fourteen digits in one run); alternatives are separated by spaces. */
typedef struct {
  const char *name;          /* for the reader */
  const char *const *labels; /* normalised words that name it */
  const char *prefix;        /* country prefix, or NULL */
  bool prefix_needs_label;   /* the prefix is also an ordinary word ("it") */
  const char *shapes;
  char sep;                  /* the one separator its groups take, or 0 for any */
  bool luhn;                 /* its last digit is a Luhn check digit (always true of real ones) */
  int reach;                 /* how many words before the number a label may stand */
} biz_id;

static const char *const l_vat_gb[] = {"vat", NULL};
static const char *const l_vat_de[] = {"ust-idnr", "ust-id-nr", "ustidnr", "ust-id", "ustid", "umsatzsteuer-id",
                                       "umsatzsteuer-identifikationsnummer", "vat", NULL};
static const char *const l_vat_fr[] = {"tva", "vat", NULL};
static const char *const l_siret[] = {"siret", NULL};
static const char *const l_siren[] = {"siren", NULL};
static const char *const l_vat_it[] = {"p.iva", "p. iva", "piva", "p.i.", "partita iva", "iva", "codice fiscale", "vat",
                                       NULL};
static const char *const l_nif[] = {"nif", "cif", "nie", NULL};
static const char *const l_ein[] = {"ein", "fein", "employer identification number", "tax id", "tin", NULL};
static const char *const l_company[] = {"company number", "company no", "company reg", "company registration",
                                        "companies house", "registered number", "crn", "kvk", "chamber of commerce",
                                        NULL};
static const char *const l_abn[] = {"abn", "australian business number", NULL};
static const char *const l_imei[] = {"imei", NULL};

static const biz_id biz_ids[] = {
  {"UK VAT number", l_vat_gb, "gb", false, "342 3423", 0, false, 5},
  {"UK VAT number, one run", NULL, "gb", false, "9 c", 0, false, 0},
  {"German USt-IdNr.", l_vat_de, "de", false, "9 333", 0, false, 5},
  {"French TVA number", l_vat_fr, "fr", false, "b 29 2333", 0, false, 5},
  {"SIRET", l_siret, NULL, false, "e 3335", 0, false, 5},
  {"SIREN", l_siren, NULL, false, "9 333", 0, false, 5},
  {"Italian Partita IVA", l_vat_it, "it", true, "b", 0, false, 5},
  {"Spanish NIF", l_nif, NULL, false, "8", 0, false, 3},
  {"US EIN", l_ein, NULL, false, "27", '-', false, 5},
  {"company register number", l_company, NULL, false, "8", 0, false, 5},
  {"Australian ABN", l_abn, NULL, false, "b 2333", 0, false, 5},
  {"IMEI", l_imei, NULL, false, "f 2661", 0, true, 16},
};

static bool luhn_ok(const char *digits, int n) {
  int sum = 0;
  for (int k = 0; k < n; k++) {
    int d = digits[n - 1 - k] - '0';
    if (k % 2 && (d *= 2) > 9) d -= 9;
    sum += d;
  }
  return sum % 10 == 0;
}

/* The groups glen[0..groups) are one of shapes. */
static bool shape_is(const char *shapes, const int *glen, int groups) {
  for (const char *p = shapes; *p;) {
    const char *e = p;
    while (*e && *e != ' ') e++;
    bool ok = e - p == groups;
    for (int g = 0; ok && g < groups; g++) {
      char c = p[g];
      int want = c >= 'a' ? c - 'a' + 10 : c - '0';
      ok = glen[g] == want;
    }
    if (ok) return true;
    p = *e ? e + 1 : e;
  }
  return false;
}

/* The start of the words-th word before position i of s (or 0). */
static size_t words_back(const char *s, size_t i, int words) {
  size_t p = i;
  for (int w = 0; w < words && p > 0; w++) {
    while (p > 0 && s[p - 1] == ' ') p--;
    while (p > 0 && s[p - 1] != ' ') p--;
  }
  return p;
}

/* label stands as words in s[a, b). */
static bool label_in(const char *s, size_t a, size_t b, const char *label) {
  size_t l = strlen(label);
  for (size_t p = a; p + l <= b; p++) {
    if (memcmp(s + p, label, l)) continue;
    if (p > 0 && is_alnum(s[p - 1])) continue;
    if (p + l < b && is_alnum(s[p + l]) && is_alnum(label[l - 1])) continue;
    return true;
  }
  return false;
}

/* A phone word asks for a call right after the number ("... call me", "... anrufen"). */
static bool call_after(const char *s, size_t n, size_t end) {
  static const char *const objects[] = {"me", "us", "mich", "uns", "moi", "nous", "nos", "mi", "ci", NULL};
  size_t p = end;
  for (int w = 0; w < 3 && p < n; w++) {
    while (p < n && !is_alpha(s[p])) p++;
    size_t a = p;
    while (p < n && (is_alpha(s[p]) || s[p] == '-')) p++;
    if (p == a) break;
    if (has_word((const char *const[]){"anrufen", "whatsappen", NULL}, s + a, p - a)) return true;
    if (!is_phone_word(s + a, p - a)) continue;
    size_t q = p;
    while (q < n && s[q] == ' ') q++;
    size_t b = q;
    while (q < n && is_alpha(s[q])) q++;
    if (has_word(objects, s + b, q - b)) return true;
  }
  return false;
}

/* A phone word among the words of s[a, b) ("Chiamaci: P.IVA ..."). */
static bool phone_word_in(const char *s, size_t a, size_t b) {
  size_t p = a;
  while (p < b) {
    while (p < b && !is_alpha(s[p])) p++;
    size_t w = p;
    while (p < b && (is_alpha(s[p]) || s[p] == '-')) p++;
    if (p > w && is_phone_word(s + w, p - w)) return true;
  }
  return false;
}

/* The number [st, end) of the normalised text, in groups glen[0..groups) separated by
 * sepc, is one of biz_ids named as such (see there). */
static bool business_id(const policy__scan *sc, const char *s, size_t n, size_t st, size_t end, const int *glen,
                        const char *sepc, int groups, bool phone_before, bool paren) {
  char digits[32];
  int nd = 0;
  for (size_t q = st; q < end && nd < 31; q++)
    if (is_digit(s[q])) digits[nd++] = s[q];
  bool calls = call_after(s, n, end);
  for (size_t k = 0; k < sizeof biz_ids / sizeof biz_ids[0]; k++) {
    const biz_id *b = &biz_ids[k];
    if (!shape_is(b->shapes, glen, groups)) continue;
    bool sep_ok = true;
    for (int g = 0; g + 1 < groups && b->sep; g++) sep_ok = sep_ok && sepc[g] == b->sep;
    if (!sep_ok || (b->luhn && !luhn_ok(digits, nd))) continue;
    /* an IMEI is about a phone: phone words and brackets around it are expected */
    if (!b->luhn && (phone_before || calls || paren)) continue;
    size_t from = words_back(s, st, b->reach);
    if (!b->luhn && phone_word_in(s, from, st)) continue;
    bool labelled = false;
    if (b->labels) {
      for (size_t l = 0; b->labels[l] && !labelled; l++) labelled = label_in(s, from, st, b->labels[l]);
    }
    bool prefixed = false;
    if (b->prefix && st >= 3 && s[st - 1] == ' ' && !memcmp(s + st - 3, b->prefix, 2) &&
        (st == 3 || !is_alnum(s[st - 4]))) {
      /* written in capitals: "GB 284 5916 73", not "gb" in running text */
      uint32_t o = sc->norm.beg[st - 3];
      prefixed = o + 1 < sc->orig_len && isupper((unsigned char)sc->orig[o]) &&
                 isupper((unsigned char)sc->orig[o + 1]);
      if (b->prefix_needs_label && !labelled) prefixed = false;
    }
    if (labelled || prefixed) return true;
  }
  return false;
}

/* ---- digit phones ------------------------------------------------------------- */

/* A phone-like run: where it starts, its groups and what follows it. */
typedef struct {
  size_t st;
  bool plus, paren;
  int groups, glen[24];
  char sepc[24];
  size_t gend[24]; /* the end of each group in the text */
} digit_run;

typedef enum { RUN_PHONE, RUN_NOT_PHONE, RUN_SHORTER } run_verdict;

/* Judges the first ng groups of run r as a phone number. RUN_SHORTER: not as written,
 * but a number that is surely a phone's (after +, in brackets or a phone word) may have
 * run on into something else ("+44 20 7946 0958 - 24/7", "... 0958 10% off"): drop a group
 * and judge again. */
static run_verdict judge_run(policy__scan *sc, const char *s, size_t n, const digit_run *r, int ng, bool strong,
                             bool phone_before) {
  const policy__thresholds *th = &sc->cfg->th;
  size_t st = r->st, end = r->gend[ng - 1];
  int digits = 0;
  for (int g = 0; g < ng; g++) digits += r->glen[g];
  int seps = ng - 1;
  const int *glen = r->glen;
  /* glued to letters after: 3958204716ab, 10kg */
  if (end < n && (is_alpha(s[end]) || ((s[end] == '-' || s[end] == '/') && end + 1 < n && is_alnum(s[end + 1]))))
    return strong ? RUN_SHORTER : RUN_NOT_PHONE;
  if (digits > th->phone_max_digits) return strong ? RUN_SHORTER : RUN_NOT_PHONE;
  if (digits < th->phone_min_digits) return RUN_NOT_PHONE;
  /* prices, percentages */
  if (currency_near(s, n, st, end)) return strong ? RUN_SHORTER : RUN_NOT_PHONE;
  /* dates: 14.06.2025, 2025-06-14, 03/14/2025; year ranges 2024-2025 */
  const char *sepc = r->sepc;
  if (ng == 3 && sepc[0] == sepc[1] && (sepc[0] == '.' || sepc[0] == '/' || sepc[0] == '-') &&
      ((glen[0] <= 2 && glen[1] <= 2 && (glen[2] == 2 || glen[2] == 4)) ||
       (glen[0] == 4 && glen[1] <= 2 && glen[2] <= 2)))
    return RUN_NOT_PHONE;
  if (ng == 2 && glen[0] == 4 && glen[1] == 4 && (sepc[0] == '-' || sepc[0] == '/') && (s[st] == '1' || s[st] == '2'))
    return RUN_NOT_PHONE;
  bool zip4 = ng == 2 && glen[0] == 5 && glen[1] == 4 && sepc[0] == '-'; /* US ZIP+4: 97209-1234 */
  /* 55-1029-3: a one-digit last group is a check digit, not a phone number */
  bool all_single = true;
  for (int g = 0; g < ng; g++)
    if (glen[g] != 1) all_single = false;
  if (ng > 1 && glen[ng - 1] == 1 && !all_single) return strong ? RUN_SHORTER : RUN_NOT_PHONE;
  /* tax and company numbers on invoices, IMEIs (never after +) */
  if (!r->plus && business_id(sc, s, n, st, end, glen, sepc, ng, phone_before, r->paren)) return RUN_NOT_PHONE;
  if (!strong) {
    if (words_before(s, st, 5, is_ref_word)) return RUN_NOT_PHONE;
    if (seps == 0 && digits >= 12) return RUN_NOT_PHONE; /* long plain digit runs are references */
    if (zip4) return RUN_NOT_PHONE;
    if (ng >= 3 && glen[0] == 4 && glen[1] == 4 && glen[2] == 4) return RUN_NOT_PHONE; /* tracking blocks */
  }
  return RUN_PHONE;
}

static void detect_digit_phones(policy__scan *sc) {
  const char *s = zeros_undone(sc);
  size_t n = sc->norm.len;
  size_t i = 0;
  while (i < n) {
    char c = s[i];
    /* digits inside a web address belong to the link (`...display.html?nodeId=201819090`) */
    if ((c == 'h' || c == 'w') && (i == 0 || s[i - 1] == ' ') &&
        (!strncmp(s + i, "http://", 7) || !strncmp(s + i, "https://", 8) || !strncmp(s + i, "www.", 4))) {
      while (i < n && s[i] != ' ') i++;
      continue;
    }
    if (!(is_digit(c) || ((c == '+' || c == '(') && i + 1 < n && is_digit(s[i + 1])))) {
      i++;
      continue;
    }
    /* a number glued to letters (1Z..., A2894, INV-2024-..., BL-4471) is a code */
    if (i > 0 && (is_alnum(s[i - 1]) || ((s[i - 1] == '-' || s[i - 1] == '/' || s[i - 1] == '.' || s[i - 1] == '_') &&
                                          i > 1 && is_alnum(s[i - 2])))) {
      i++; /* always move on: s[i] may be '+' or '(' */
      while (i < n && (is_alnum(s[i]) || s[i] == '-')) i++;
      continue;
    }
    digit_run r = {.st = i, .plus = c == '+'};
    size_t j = i, last = i;
    int cur = 0;
    if (r.plus) j++;
    while (j < n) {
      if (is_digit(s[j])) {
        cur++, last = j, j++;
        continue;
      }
      /* up to two separators, then a digit must follow */
      size_t k = j;
      while (k < n && k - j < 3 && is_sep(s[k])) k++;
      if (k == j || k >= n || !is_digit(s[k])) {
        if (s[j] == '(' && k > j) r.paren = true;
        break;
      }
      for (size_t q = j; q < k; q++)
        if (s[q] == '(' || s[q] == ')') r.paren = true;
      if (cur) {
        if (r.groups < 24) r.glen[r.groups] = cur, r.sepc[r.groups] = s[j], r.gend[r.groups] = last + 1;
        r.groups++;
      }
      cur = 0;
      j = k;
    }
    if (cur) {
      if (r.groups < 24) r.glen[r.groups] = cur, r.sepc[r.groups] = ' ', r.gend[r.groups] = last + 1;
      r.groups++;
    }
    size_t end = last + 1;
    i = end > r.st ? end : r.st + 1;
    if (c == '(' && !r.paren) continue;
    if (r.groups > 24 || r.groups == 0) continue;
    bool phone_before = words_before(s, r.st, 3, is_phone_word);
    bool strong = r.plus || r.paren || phone_before || call_after(s, n, end);
    /* a number glued to letters after is a code, unless it is surely a phone's (see judge_run) */
    if (!strong && end < n &&
        (is_alpha(s[end]) || ((s[end] == '-' || s[end] == '/') && end + 1 < n && is_alnum(s[end + 1])))) {
      while (i < n && (is_alnum(s[i]) || s[i] == '-')) i++;
      continue;
    }
    for (int ng = r.groups; ng >= 1; ng--) {
      run_verdict v = judge_run(sc, s, n, &r, ng, strong, phone_before);
      if (v == RUN_PHONE) phone_found(sc, r.st, r.gend[ng - 1], r.plus ? "phone.international" : "phone.number");
      if (v != RUN_SHORTER) break;
    }
  }
}

/* Spelled-out digits in the five languages, and the French tens and teens that phone
 * numbers are read in (zéro six, douze, trente-quatre): how many digits each stands
 * for. In byte order for a binary search. */
static const struct {
  const char *w;
  int digits;
} digit_words[] = {
  {"acht", 1}, {"cero", 1}, {"cinco", 1}, {"cinq", 1}, {"cinquante", 2}, {"cinque", 1},
  {"cuatro", 1}, {"deux", 1}, {"dix", 2}, {"dos", 1}, {"douze", 2}, {"drei", 1}, {"due", 1},
  {"eight", 1}, {"eins", 1}, {"five", 1}, {"four", 1}, {"funf", 1}, {"huit", 1}, {"neuf", 1},
  {"neun", 1}, {"nine", 1}, {"nove", 1}, {"nueve", 1}, {"null", 1}, {"ocho", 1}, {"oh", 1},
  {"one", 1}, {"onze", 2}, {"otto", 1}, {"quarante", 2}, {"quatorze", 2}, {"quatre", 1},
  {"quattro", 1}, {"quinze", 2}, {"sechs", 1}, {"sei", 1}, {"seis", 1}, {"seize", 2}, {"sept", 1},
  {"sette", 1}, {"seven", 1}, {"sieben", 1}, {"siete", 1}, {"six", 1}, {"soixante", 2},
  {"three", 1}, {"tre", 1}, {"treize", 2}, {"trente", 2}, {"tres", 1}, {"trois", 1}, {"two", 1},
  {"un", 1}, {"une", 1}, {"uno", 1}, {"vier", 1}, {"vingt", 2}, {"vingts", 2}, {"zero", 1},
  {"zwei", 1}, {"zwo", 1},
};

static int digit_word_cmp(const char *s, size_t n, const char *w) {
  int c = strncmp(s, w, n);
  if (c) return c;
  return w[n] ? -1 : 0; /* s is a prefix of w: s sorts first */
}

/* The number of digits the word s[0, n) stands for, or 0. */
static int digit_word(const char *s, size_t n) {
  if (n < 2 || n > 9) return 0;
  size_t lo = 0, hi = sizeof digit_words / sizeof digit_words[0];
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    int c = digit_word_cmp(s, n, digit_words[mid].w);
    if (!c) return digit_words[mid].digits;
    if (c < 0) hi = mid;
    else lo = mid + 1;
  }
  return 0;
}

/* "four one five, five five five, zero one nine eight" */
static void detect_spelled_phones(policy__scan *sc) {
  const char *s = sc->norm.s;
  size_t n = sc->norm.len;
  /* the match stage counted number words; a phone number needs several */
  if (sc->number_words < 3) return;
  size_t i = 0;
  size_t run_st = 0, run_end = 0;
  int digits = 0, words = 0;
  while (i <= n) {
    size_t t0 = i;
    while (i < n && is_alnum(s[i])) i++;
    size_t t1 = i;
    bool tok_ok = false;
    int dw;
    if (t1 > t0) {
      bool alldig = true;
      for (size_t q = t0; q < t1; q++)
        if (!is_digit(s[q])) alldig = false;
      if (alldig && t1 - t0 <= 4) {
        tok_ok = true;
        if (!digits) run_st = t0;
        digits += (int)(t1 - t0);
      } else if ((dw = digit_word(s + t0, t1 - t0)) > 0) {
        tok_ok = true;
        if (!digits) run_st = t0;
        digits += dw;
        words++;
      }
    }
    if (tok_ok) run_end = t1;
    /* a run continues over spaces, commas and hyphens only */
    size_t k = i;
    while (k < n && (s[k] == ' ' || s[k] == ',' || s[k] == '-' || s[k] == '.')) k++;
    bool breaks = !tok_ok && t1 > t0;
    if (breaks || k >= n || (k == i && i < n && !is_alnum(s[i]))) {
      if (digits >= 7 && words >= 3) phone_found(sc, run_st, run_end, "phone.spelled_digits");
      digits = words = 0;
    }
    if (k == i) k++;
    i = k;
  }
}

void policy__detect_phones(policy__scan *sc) {
  detect_digit_phones(sc);
  detect_spelled_phones(sc);
}

/* ---- emoji ------------------------------------------------------------------ */

static bool is_emoji(int32_t c) {
  if (c < 0xA9 || c == 0xA9 || c == 0xAE || c == 0x2122) return false;
  if (c >= 0x2190 && c <= 0x21FF) return false; /* arrows: "Your Orders → Returns" */
  if (u_hasBinaryProperty(c, UCHAR_EMOJI_PRESENTATION) || u_hasBinaryProperty(c, UCHAR_EXTENDED_PICTOGRAPHIC))
    return true;
  /* decorative dingbats and symbols (☆ ✓ ♪) */
  if (((c >= 0x2600 && c <= 0x27BF) || (c >= 0x2B00 && c <= 0x2BFF) || c >= 0x1F000) &&
      u_charType(c) == U_OTHER_SYMBOL)
    return true;
  return c == 0x20E3; /* keycap */
}

static bool emoji_joiner(int32_t c) {
  return c == 0x200D || c == 0xFE0F || c == 0xFE0E || (c >= 0x1F3FB && c <= 0x1F3FF) ||
         (c >= 0xE0020 && c <= 0xE007F) || c == 0x20E3;
}

void policy__detect_emoji(policy__scan *sc) {
  const policy__buf *v = &sc->dec;
  const char *s = v->s;
  size_t n = v->len;
  size_t i = 0;
  while (i < n) {
    if ((unsigned char)s[i] < 0x80) {
      i++;
      continue;
    }
    size_t a = i;
    int32_t c = policy__u8_next(s, n, &i);
    if (c < 0) {
      i = a + 1;
      continue;
    }
    if (!is_emoji(c)) continue;
    size_t b = i;
    while (b < n) {
      size_t q = b;
      int32_t d = policy__u8_next(s, n, &q);
      if (d < 0 || !(is_emoji(d) || emoji_joiner(d))) break;
      b = q;
    }
    policy__hit_view(sc, v, a, b, POLICY_CAT_EMOJI, POLICY_SEV_HIGH, "emoji.pictograph");
    i = b;
  }
}

/* ---- formatting ------------------------------------------------------------- */

static void detect_blank_lines(policy__scan *sc) {
  const policy__buf *v = &sc->dec;
  const char *s = v->s;
  size_t n = v->len;
  int blank = 0;
  size_t run0 = 0, line0 = 0;
  for (size_t i = 0; i <= n; i++) {
    if (i < n) {
      const char *nl = memchr(s + i, '\n', n - i);
      i = nl ? (size_t)(nl - s) : n;
    }
    /* line [line0, i) */
    bool empty = true;
    for (size_t k = line0; k < i; k++)
      if (!(s[k] == ' ' || s[k] == '\t' || s[k] == '\r')) {
        empty = false;
        break;
      }
    if (empty && i < n && line0 > 0) {
      if (!blank) run0 = line0;
      blank++;
    } else {
      if (blank >= sc->cfg->th.blank_lines)
        policy__hit_view(sc, v, run0 - 1, line0, POLICY_CAT_FORMATTING, POLICY_SEV_HIGH,
                         "formatting.blank_lines");
      blank = 0;
    }
    line0 = i + 1;
  }
}

/* 1: - _ . which also occur in plain writing; 2: other decorative characters; 0: none. */
static inline int deco_kind(int32_t c) {
  if (c < 0x80) {
    switch (c) {
    case '-': case '_': case '.': return 1;
    case '~': case '*': case '=': case '#': case '+': case '^': return 2;
    default: return 0;
    }
  }
  if ((c >= 0x2500 && c <= 0x25FF) || c == 0x2022 || c == 0x00B7 || c == 0x2014 || c == 0x2013 ||
      c == 0x2015 || (c >= 0x2605 && c <= 0x2606))
    return 2;
  return 0;
}

/* Byte classes for the formatting measures; the ones from CL_RUN on may start a run
 * of exclamation marks or separators. */
enum { CL_OTHER, CL_SPACE, CL_UPPER, CL_LOWER, CL_DIGIT, CL_RUN, CL_HIGH };
static const unsigned char ascii_class[256] = {
  [' '] = CL_SPACE, ['\t'] = CL_SPACE, ['\n'] = CL_SPACE, ['\r'] = CL_SPACE,
  ['A' ... 'Z'] = CL_UPPER, ['a' ... 'z'] = CL_LOWER, ['0' ... '9'] = CL_DIGIT,
  ['!'] = CL_RUN, ['-'] = CL_RUN, ['_'] = CL_RUN, ['.'] = CL_RUN, ['~'] = CL_RUN, ['*'] = CL_RUN,
  ['='] = CL_RUN, ['#'] = CL_RUN, ['+'] = CL_RUN, ['^'] = CL_RUN, [0x80 ... 0xFF] = CL_HIGH,
};

static void detect_runs(policy__scan *sc) {
  const policy__thresholds *th = &sc->cfg->th;
  const policy__buf *v = &sc->dec;
  const char *s = v->s;
  size_t n = v->len;
  size_t i = 0;
  while (i < n) {
    size_t a = i;
    if (ascii_class[(unsigned char)s[i]] < CL_RUN) { /* fast path: ordinary ASCII */
      size_t j = i + 1;
      while (j < n && ascii_class[(unsigned char)s[j]] < CL_RUN) j++;
      i = j;
      continue;
    }
    int32_t c = policy__u8_next(s, n, &i);
    if (c < 0) {
      i = a + 1;
      continue;
    }
    /* !!!!! and ¡¡¡¡ (with ? mixed in) */
    if (c == '!' || c == 0xA1) {
      size_t b = i;
      int bangs = 1;
      while (b < n) {
        size_t q = b;
        int32_t d = policy__u8_next(s, n, &q);
        if (d == '!' || d == 0xA1) bangs++;
        else if (d != '?' && d != 0xBF) break;
        b = q;
      }
      if (bangs >= th->exclaim_run)
        policy__hit_view(sc, v, a, b, POLICY_CAT_FORMATTING, POLICY_SEV_HIGH, "formatting.exclamation_run");
      i = b;
      continue;
    }
    /* decorative separators: ~~~~ **** ==== ---- •••• ━━━━ */
    if (deco_kind(c)) {
      size_t b = i;
      int len = 1;
      bool only_plain = deco_kind(c) == 1;
      while (b < n) {
        size_t q = b;
        int32_t d = policy__u8_next(s, n, &q);
        int k = d < 0 ? 0 : deco_kind(d);
        if (!k) break;
        if (k != 1) only_plain = false;
        len++;
        b = q;
      }
      if (len >= (only_plain ? th->separator_run_plain : th->separator_run))
        policy__hit_view(sc, v, a, b, POLICY_CAT_FORMATTING, POLICY_SEV_HIGH, "formatting.separator");
      i = b;
      continue;
    }
  }
}

/* Long ALL-CAPS stretches: consecutive words without lower-case letters. Words with
 * digits (tracking numbers, SKUs) and single letters neither count nor break. */
static void detect_caps(policy__scan *sc) {
  const policy__thresholds *th = &sc->cfg->th;
  const policy__buf *v = &sc->dec;
  const char *s = v->s;
  size_t n = v->len;
  int words = 0, letters = 0;
  size_t run0 = 0, run1 = 0;
  size_t i = 0;
  while (i <= n) {
    while (i < n && ascii_class[(unsigned char)s[i]] == CL_SPACE) i++;
    size_t t0 = i;
    int up = 0, low = 0, dig = 0;
    while (i < n) {
      unsigned char ch = (unsigned char)s[i];
      int cl = ascii_class[ch];
      if (cl == CL_SPACE) break;
      if (cl != CL_HIGH) {
        up += cl == CL_UPPER;
        low += cl == CL_LOWER;
        dig += cl == CL_DIGIT;
        i++;
      } else {
        size_t q = i;
        int32_t c = policy__u8_next(s, n, &q);
        if (c < 0) q = i + 1;
        else if (u_isupper(c)) up++;
        else if (u_islower(c)) low++;
        i = q;
      }
    }
    bool end = t0 >= n;
    bool breaks = end || low > 0;
    if (!breaks && up >= 2 && dig == 0) {
      if (!words) run0 = t0;
      words++;
      letters += up;
      run1 = i;
    }
    if (breaks) {
      if (words >= th->caps_words && letters >= th->caps_letters)
        policy__hit_view(sc, v, run0, run1, POLICY_CAT_FORMATTING, POLICY_SEV_HIGH, "formatting.all_caps");
      words = letters = 0;
    }
    if (end) break;
  }
}

void policy__detect_formatting(policy__scan *sc) {
  detect_blank_lines(sc);
  detect_runs(sc);
  detect_caps(sc);
}
