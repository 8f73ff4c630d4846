/* svc_notify.c - what a seller's team is told, and how (docs/notifications.md): the seller's
 * messaging settings (a customer-service address used only once confirmed, messaging on
 * orders the marketplace fulfils, the language of parley's notices), each agent's choice
 * (every new buyer message, an hourly or daily digest, deadline alerts alone, or nothing;
 * about its own threads or all; by e-mail and in the browser), and the notices, queued in
 * the outbox in the transaction that causes them and written in the seller's language when
 * the mail worker sends them. A notice names threads, orders and buyers' names; never a
 * real address, and a buyer's text only with the contact mask applied. */
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "service/svc_int.h"
#include "service/svc_mail.h"
#include "service/svc_rules.h"
#include "util/pl_ref.h"

const char *const svc_notify_modes[] = {"each", "hourly", "daily", "deadlines", "none", NULL};
static const char *const scopes[] = {"assigned", "all", NULL};
static const char *const languages[] = {"en", "de", "es", "fr", "it", NULL};

#define DIGEST_THREADS 20    /* threads a digest names; it counts the rest */
#define ASK_AGAIN_SECONDS 60 /* an asked-for digest or confirmation, at most once a minute */

static bool one_of(const char *const *set, const char *v) {
  for (size_t i = 0; v && set[i]; i++)
    if (!strcmp(set[i], v)) return true;
  return false;
}

static const char *iso(pl_time t, pl_arena *a) {
  char buf[32];
  return pl_arena_strdup(a, pl_time_format(t, buf));
}

/* ---- the seller's settings ------------------------------------------------------------ */

/* The settings of seller_id, the defaults where none were kept. */
static pl_err settings_of(svc *s, const char *seller_id, pl_arena *a, st_seller_settings *out) {
  pl_err e = store_seller_settings_get(s->st, seller_id, a, out);
  if (e == PL_ENOTFOUND) {
    *out = (st_seller_settings){.seller_id = pl_arena_strdup(a, seller_id), .marketplace_fulfilled = true};
    e = PL_OK;
  }
  return e;
}

/* The language of the seller's notices: its choice, else its marketplace's, else English. */
static const char *language_of(svc *s, const st_seller *sl, const st_seller_settings *st, pl_arena *a) {
  if (st->notice_language && one_of(languages, st->notice_language)) return st->notice_language;
  st_marketplace mk;
  if (!svc__marketplace_get(s, sl->marketplace_id, a, &mk) && mk.locale) {
    char two[3] = {mk.locale[0], mk.locale[0] ? mk.locale[1] : '\0', '\0'};
    for (size_t i = 0; languages[i]; i++)
      if (!strcmp(languages[i], two)) return languages[i];
  }
  return "en";
}

/* The link's token: a keyed hash of the seller, the address and when it was asked for, so
 * that nothing secret is stored, a newer request makes the older link worthless, and a
 * key rotation keeps it valid while the oldest key generation is kept. */
static void confirm_token(svc *s, const char *seller_id, const char *address, pl_time at, char out[65]) {
  size_t n = strlen(seller_id) + strlen(address) + 64;
  char *in = malloc(n);
  if (!in) {
    memset(out, 0, 65);
    return;
  }
  snprintf(in, n, "confirm-address\n%s\n%s\n%lld", seller_id, address, (long long)at);
  pl_keyed_hash_hex(&s->keys, in, out);
  sodium_memzero(in, n);
  free(in);
}

static pl_err may_set(const svc_caller *c, const char *seller_id, pl_detail *d) {
  if (c->kind == ST_PRINCIPAL_OPERATOR) return PL_OK;
  if (c->kind == ST_PRINCIPAL_AGENT && c->agent_role == ST_ROLE_OWNER && !strcmp(c->seller_id, seller_id))
    return PL_OK;
  if (c->kind == ST_PRINCIPAL_AGENT && !strcmp(c->seller_id, seller_id))
    return pl_fail(d, PL_EFORBIDDEN, "only the seller's owner or the operator keeps its messaging settings");
  return pl_fail(d, PL_ENOTFOUND, "no seller %s", seller_id);
}

static json_t *settings_view(svc *s, const st_seller *sl, const st_seller_settings *st, pl_arena *a) {
  char *now = svc__opened(s, a, sl->email_sealed), *pending = svc__opened(s, a, st->email_sealed);
  json_t *langs = json_array();
  for (size_t i = 0; languages[i]; i++) json_array_append_new(langs, json_string(languages[i]));
  json_t *j = json_pack("{s:s,s:s?,s:s?,s:s?,s:b,s:s,s:o}", "seller_id", sl->id, "customer_service_email", now,
                        "customer_service_email_pending", pending, "pending_since",
                        pending ? iso(st->email_requested_at, a) : NULL, "marketplace_fulfilled_messaging",
                        st->marketplace_fulfilled, "notice_language", language_of(s, sl, st, a), "notice_languages",
                        langs);
  if (now) sodium_memzero(now, strlen(now));
  if (pending) sodium_memzero(pending, strlen(pending));
  return json_pack("{s:o}", "settings", j);
}

static pl_err load_seller(svc *s, const svc_caller *c, const char *seller_id, pl_arena *a, st_seller *sl,
                          pl_detail *d) {
  pl_err e = store_seller_get(s->st, seller_id, NULL, a, sl);
  if (e == PL_ENOTFOUND) return pl_fail(d, PL_ENOTFOUND, "no seller %s", seller_id);
  /* an operator of one marketplace keeps that marketplace's sellers */
  if (!e && c->kind == ST_PRINCIPAL_OPERATOR && c->marketplace_id && strcmp(c->marketplace_id, sl->marketplace_id))
    return pl_fail(d, PL_ENOTFOUND, "no seller %s", seller_id);
  return e;
}

pl_err svc_seller_settings(svc *s, const svc_caller *c, const char *seller_id, pl_arena *a, json_t **out,
                           pl_detail *d) {
  pl_err e = may_set(c, seller_id, d);
  if (!e) e = svc__begin(s, false, d);
  if (e) return e;
  st_seller sl;
  st_seller_settings st;
  e = load_seller(s, c, seller_id, a, &sl, d);
  if (!e) e = settings_of(s, seller_id, a, &st);
  if (!e) *out = settings_view(s, &sl, &st, a);
  return svc__end(s, e, d);
}

pl_err svc_seller_settings_set(svc *s, const svc_caller *c, const char *seller_id, json_t *in, pl_arena *a,
                               json_t **out, pl_detail *d) {
  pl_err e = may_set(c, seller_id, d);
  if (e) return e;
  const char *key;
  json_t *v;
  json_object_foreach(in, key, v) {
    if (strcmp(key, "customer_service_email") && strcmp(key, "marketplace_fulfilled_messaging") &&
        strcmp(key, "notice_language"))
      return pl_fail(d, PL_EINVAL, "unknown field '%s' (customer_service_email, marketplace_fulfilled_messaging, "
                                   "notice_language)", key);
  }
  json_t *em = json_object_get(in, "customer_service_email"), *mf = json_object_get(in, "marketplace_fulfilled_messaging"),
         *nl = json_object_get(in, "notice_language");
  if (!em && !mf && !nl) return pl_fail(d, PL_EMISSING, "nothing to change");
  if (em && (!json_is_string(em) || !svc__valid_email(json_string_value(em))))
    return pl_fail(d, PL_EINVAL, "field 'customer_service_email' must be an e-mail address");
  if (mf && !json_is_boolean(mf)) return pl_fail(d, PL_ETYPE, "field 'marketplace_fulfilled_messaging' must be true or false");
  if (nl && (!json_is_string(nl) || !one_of(languages, json_string_value(nl))))
    return pl_fail(d, PL_EINVAL, "field 'notice_language' must be one of en, de, es, fr, it");
  if ((e = svc__begin(s, true, d))) return e;
  st_seller sl;
  st_seller_settings st;
  pl_time now = svc_now(s);
  e = load_seller(s, c, seller_id, a, &sl, d);
  if (!e) e = settings_of(s, seller_id, a, &st);
  json_t *changed = json_object();
  if (!e && mf && st.marketplace_fulfilled != json_is_true(mf)) {
    st.marketplace_fulfilled = json_is_true(mf);
    json_object_set(changed, "marketplace_fulfilled_messaging", mf);
  }
  if (!e && nl && (!st.notice_language || strcmp(st.notice_language, json_string_value(nl)))) {
    st.notice_language = pl_arena_strdup(a, json_string_value(nl));
    json_object_set(changed, "notice_language", nl);
  }
  if (!e && em) {
    const char *want = json_string_value(em);
    char *cur = svc__opened(s, a, sl.email_sealed), *pend = svc__opened(s, a, st.email_sealed);
    if (cur && !strcasecmp(cur, want)) {
      /* back to the address in use: nothing to confirm */
      if (st.email_sealed) json_object_set_new(changed, "customer_service_email", json_string("(as before)"));
      st.email_sealed = NULL;
    } else if (pend && now - st.email_requested_at < ASK_AGAIN_SECONDS) {
      /* one confirmation mail a minute, whatever the address: parley mails no one in a flood */
      e = pl_fail(d, PL_ERATELIMIT, "a confirmation link was mailed less than a minute ago; ask again in a minute");
    } else {
      char *sealed = svc__seal(s, want, NULL, NULL);
      st.email_sealed = sealed ? pl_arena_strdup(a, sealed) : NULL;
      free(sealed);
      st.email_requested_at = now;
      if (!st.email_sealed) e = pl_fail(d, PL_ECRYPTO, "the address could not be sealed");
      /* the link goes to the new address: only who reads it makes it the seller's */
      char dedupe[128];
      snprintf(dedupe, sizeof dedupe, "confirm|%s|%lld", seller_id, (long long)now);
      st_outbox o = {.seller_id = sl.id, .kind = ST_OUTBOX_NOTICE, .next_at = now, .created_at = now,
                     .payload = pl_arena_printf(a, "{\"type\":\"confirm\",\"requested_at\":%lld}", (long long)now),
                     .dedupe = pl_arena_strdup(a, dedupe)};
      if (!e) e = store_outbox_add(s->st, &o);
      if (e == PL_EEXIST) e = pl_fail(d, PL_ERATELIMIT, "a confirmation was asked for this second already");
      json_object_set_new(changed, "customer_service_email", json_string("(to confirm)"));
    }
    if (cur) sodium_memzero(cur, strlen(cur));
    if (pend) sodium_memzero(pend, strlen(pend));
  }
  if (!e && json_object_size(changed)) {
    st.updated_at = now;
    e = store_seller_settings_put(s->st, &st);
    if (!e) e = svc__audit(s, sl.id, c->name, "seller.settings", sl.id, json_incref(changed));
  }
  json_decref(changed);
  if (!e) *out = settings_view(s, &sl, &st, a);
  return svc__end(s, e, d);
}

/* Whether token is the link of seller_id's pending address, still valid; one answer
 * (PL_EBADLINK, one text) for every reason, so that the link's holder learns nothing else. */
static pl_err check_link(svc *s, const char *seller_id, const char *token, pl_arena *a, st_seller *sl,
                         st_seller_settings *st, pl_detail *d) {
  pl_err e = store_seller_get(s->st, seller_id, NULL, a, sl);
  if (!e) e = settings_of(s, seller_id, a, st);
  char *pend = !e ? svc__opened(s, a, st->email_sealed) : NULL;
  bool ok = false;
  if (pend) {
    char want[65];
    confirm_token(s, seller_id, pend, st->email_requested_at, want);
    ok = !sodium_memcmp(want, token, 64) && svc_now(s) - st->email_requested_at <= SVC_CONFIRM_SECONDS;
    sodium_memzero(want, sizeof want);
    sodium_memzero(pend, strlen(pend));
  }
  if (e && e != PL_ENOTFOUND) return e;
  return ok ? PL_OK : pl_fail(d, PL_EBADLINK, "the link is not valid, or is older than 48 hours: ask for a new one");
}

pl_err svc_seller_address_confirm(svc *s, const char *seller_id, const char *token, pl_arena *a, json_t **out,
                                  pl_detail *d) {
  if (!token || strlen(token) != 64 || !seller_id)
    return pl_fail(d, PL_EBADLINK, "the link is not valid, or is older than 48 hours: ask for a new one");
  st_seller sl;
  st_seller_settings st;
  /* anyone may ask: a wrong link is answered from a read, and takes no writer's turn */
  pl_err e = svc__begin(s, false, d);
  if (e) return e;
  e = svc__end(s, check_link(s, seller_id, token, a, &sl, &st, d), d);
  if (e) return e;
  if ((e = svc__begin(s, true, d))) return e;
  e = check_link(s, seller_id, token, a, &sl, &st, d); /* again: it may have changed since */
  if (!e) {
    sl.email_sealed = st.email_sealed;
    st.email_sealed = NULL;
    st.updated_at = svc_now(s);
    e = store_seller_put(s->st, &sl);
    if (!e) e = store_seller_settings_put(s->st, &st);
    if (!e) e = svc__audit(s, sl.id, "link", "seller.address_confirmed", sl.id, NULL);
  }
  if (!e) *out = json_pack("{s:b,s:s}", "confirmed", 1, "seller", sl.name);
  return svc__end(s, e, d);
}

pl_err svc__messaging_on(svc *s, const st_order *o, pl_arena *a, pl_detail *d) {
  if (!o->by_marketplace) return PL_OK;
  st_seller_settings st;
  pl_err e = settings_of(s, o->seller_id, a, &st);
  if (!e && !st.marketplace_fulfilled)
    e = pl_fail(d, PL_ENOTALLOWED, "the marketplace answers messages about this order (it fulfils it): "
                                   "contact its customer service");
  return e;
}

/* ---- an agent's choices ------------------------------------------------------------------ */

/* The next digest after `now`: the next full hour, or the next 08:00 UTC. */
static pl_time next_digest(const char *mode, pl_time now) {
  if (!strcmp(mode, "hourly")) return (now / 3600 + 1) * 3600;
  pl_time day = now / 86400 * 86400 + 8 * 3600;
  return day > now ? day : day + 86400;
}

static json_t *notify_view(svc *s, const st_agent_notify *n, pl_arena *a) {
  char *addr = NULL;
  if (n->address_id) {
    size_t k = 0;
    st_agent_address *rows;
    if (!store_agent_address_list(s->st, n->seller_id, n->agent_id, a, &rows, &k))
      for (size_t i = 0; i < k && !addr; i++)
        if (rows[i].id == n->address_id) addr = svc__opened(s, a, rows[i].email_sealed);
  }
  json_t *modes = json_array();
  for (size_t i = 0; svc_notify_modes[i]; i++) json_array_append_new(modes, json_string(svc_notify_modes[i]));
  bool digest = !strcmp(n->mode, "hourly") || !strcmp(n->mode, "daily");
  json_t *j = json_pack("{s:s,s:s,s:b,s:b,s:s?,s:s?,s:o}", "mode", n->mode, "scope", n->scope, "email", n->email,
                        "browser", n->browser, "address", addr, "next_digest_at",
                        digest && n->digest_at ? iso(n->digest_at, a) : NULL, "modes", modes);
  if (addr) sodium_memzero(addr, strlen(addr));
  return json_pack("{s:o}", "notifications", j);
}

static pl_err may_notify(const svc_caller *c, pl_detail *d) {
  return c->kind == ST_PRINCIPAL_AGENT ? PL_OK
                                       : pl_fail(d, PL_EFORBIDDEN, "notifications are for the agents of a seller");
}

pl_err svc_notify_get(svc *s, const svc_caller *c, pl_arena *a, json_t **out, pl_detail *d) {
  pl_err e = may_notify(c, d);
  if (!e) e = svc__begin(s, false, d);
  if (e) return e;
  st_agent_notify n;
  e = store_agent_notify_get(s->st, c->agent_id, a, &n);
  if (!e) *out = notify_view(s, &n, a);
  return svc__end(s, e, d);
}

pl_err svc_notify_set(svc *s, const svc_caller *c, json_t *in, pl_arena *a, json_t **out, pl_detail *d) {
  pl_err e = may_notify(c, d);
  if (e) return e;
  const char *key;
  json_t *v;
  json_object_foreach(in, key, v) {
    if (strcmp(key, "mode") && strcmp(key, "scope") && strcmp(key, "email") && strcmp(key, "browser"))
      return pl_fail(d, PL_EINVAL, "unknown field '%s' (mode, scope, email, browser)", key);
  }
  json_t *mode = json_object_get(in, "mode"), *scope = json_object_get(in, "scope"),
         *email = json_object_get(in, "email"), *browser = json_object_get(in, "browser");
  if (!mode && !scope && !email && !browser) return pl_fail(d, PL_EMISSING, "nothing to change");
  if (mode && !one_of(svc_notify_modes, json_string_value(mode)))
    return pl_fail(d, PL_EINVAL, "field 'mode' must be one of each, hourly, daily, deadlines, none");
  if (scope && !one_of(scopes, json_string_value(scope)))
    return pl_fail(d, PL_EINVAL, "field 'scope' must be assigned or all");
  if ((email && !json_is_boolean(email)) || (browser && !json_is_boolean(browser)))
    return pl_fail(d, PL_ETYPE, "fields 'email' and 'browser' must be true or false");
  if ((e = svc__begin(s, true, d))) return e;
  st_agent_notify n;
  e = store_agent_notify_get(s->st, c->agent_id, a, &n);
  if (!e) {
    const char *was = n.mode;
    if (mode) n.mode = pl_arena_strdup(a, json_string_value(mode));
    if (scope) n.scope = pl_arena_strdup(a, json_string_value(scope));
    if (email) n.email = json_is_true(email);
    if (browser) n.browser = json_is_true(browser);
    bool digest = !strcmp(n.mode, "hourly") || !strcmp(n.mode, "daily");
    if (digest && (strcmp(was, n.mode) || !n.digest_at)) n.digest_at = next_digest(n.mode, svc_now(s));
    if (!digest) n.digest_at = 0;
    e = store_agent_notify_put(s->st, &n);
  }
  if (!e) *out = notify_view(s, &n, a);
  return svc__end(s, e, d);
}

/* ---- queuing notices ------------------------------------------------------------------------ */

static pl_err queue(svc *s, const char *seller_id, int64_t agent_id, const char *payload, const char *dedupe) {
  pl_time now = svc_now(s);
  st_outbox o = {.seller_id = (char *)seller_id, .kind = ST_OUTBOX_NOTICE, .next_at = now, .created_at = now,
                 .agent_id = agent_id, .payload = (char *)payload, .dedupe = (char *)dedupe};
  pl_err e = store_outbox_add(s->st, &o);
  return e == PL_EEXIST ? PL_OK : e; /* told already (another node, an earlier tick) */
}

static int64_t assignee_of(svc *s, int64_t thread_id, pl_arena *a) {
  st_thread_team tt;
  return store_thread_team_get(s->st, thread_id, a, &tt) ? 0 : tt.assignee_id;
}

pl_err svc__notify_message(svc *s, const st_thread *t, const st_message *m, pl_arena *a) {
  if (m->direction != ST_DIR_BUYER || m->kind == ST_KIND_AUTO_REPLY || m->status != ST_STATUS_DELIVERED)
    return PL_OK;
  st_agent_notify *ns;
  size_t n = 0;
  pl_err e = store_agent_notify_list(s->st, t->seller_id, "each", a, &ns, &n);
  int64_t assignee = -1;
  for (size_t i = 0; !e && i < n; i++) {
    if (!ns[i].email || !ns[i].address_id) continue; /* the browser hears of it live */
    if (!strcmp(ns[i].scope, "assigned")) {
      if (assignee < 0) assignee = assignee_of(s, t->id, a);
      if (assignee != ns[i].agent_id) continue;
    }
    char dedupe[96];
    snprintf(dedupe, sizeof dedupe, "message|%lld|%lld", (long long)m->id, (long long)ns[i].agent_id);
    e = queue(s, t->seller_id, ns[i].agent_id,
              pl_arena_printf(a, "{\"type\":\"message\",\"message_id\":%lld}", (long long)m->id), dedupe);
  }
  return e;
}

pl_err svc__notify_deadline(svc *s, const st_thread *t, pl_arena *a) {
  st_agent_notify *ns;
  size_t n = 0;
  pl_err e = store_agent_notify_list(s->st, t->seller_id, NULL, a, &ns, &n);
  int64_t assignee = e ? 0 : assignee_of(s, t->id, a);
  for (size_t i = 0; !e && i < n; i++) {
    const st_agent_notify *x = &ns[i];
    if (!strcmp(x->mode, "none") || !x->email || !x->address_id) continue;
    /* the assigned agent; a thread nobody has goes to the team: who watches every thread */
    if (assignee ? x->agent_id != assignee : strcmp(x->scope, "all")) continue;
    char dedupe[128];
    snprintf(dedupe, sizeof dedupe, "deadline|%lld|%lld|%lld", (long long)t->id, (long long)t->response_due_at,
             (long long)x->agent_id);
    e = queue(s, t->seller_id, x->agent_id,
              pl_arena_printf(a, "{\"type\":\"deadline\",\"thread_id\":%lld,\"due_at\":%lld}", (long long)t->id,
                              (long long)t->response_due_at),
              dedupe);
  }
  return e;
}

pl_err svc__notify_webhook_disabled(svc *s, const st_webhook *w, pl_arena *a) {
  if (!w->seller_id) return PL_OK; /* the operator's: its log and /metrics tell */
  st_agent_notify *ns;
  size_t n = 0;
  pl_err e = store_agent_notify_list(s->st, w->seller_id, NULL, a, &ns, &n);
  for (size_t i = 0; !e && i < n; i++) {
    if (ns[i].role != ST_ROLE_OWNER || !ns[i].address_id || !strcmp(ns[i].mode, "none")) continue;
    char dedupe[128];
    snprintf(dedupe, sizeof dedupe, "webhook|%lld|%lld|%lld", (long long)w->id, (long long)w->failing_since,
             (long long)ns[i].agent_id);
    e = queue(s, w->seller_id, ns[i].agent_id,
              pl_arena_printf(a, "{\"type\":\"webhook_disabled\",\"webhook_id\":%lld}", (long long)w->id), dedupe);
  }
  return e;
}

/* The threads waiting for an answer that agent n's digest names (its own, or all by its
 * scope), the least time left first; *more: there are others. */
static pl_err digest_threads(svc *s, const st_agent_notify *n, pl_arena *a, st_thread **ts, size_t *k, bool *more) {
  st_thread_query q = {.seller_id = n->seller_id, .filter = ST_FILTER_RESPONSE_NEEDED, .limit = DIGEST_THREADS + 1,
                       .assignee_id = strcmp(n->scope, "assigned") ? 0 : n->agent_id, .sort_due = true};
  pl_err e = s->st->ops->thread_list(s->st, &q, a, ts, k);
  *more = !e && *k > DIGEST_THREADS;
  if (*more) *k = DIGEST_THREADS;
  return e;
}

/* Queues agent n's digest of what waits now (nothing when nothing waits), under key. */
static pl_err digest_queue(svc *s, const st_agent_notify *n, const char *key, pl_arena *a, size_t *count) {
  st_thread *ts;
  size_t k = 0;
  bool more;
  pl_err e = digest_threads(s, n, a, &ts, &k, &more);
  *count = k;
  if (e || !k) return e;
  json_t *ids = json_array();
  for (size_t i = 0; i < k; i++) json_array_append_new(ids, json_integer(ts[i].id));
  json_t *p = json_pack("{s:s,s:o,s:b}", "type", "digest", "threads", ids, "more", more);
  char *text = json_dumps(p, JSON_COMPACT);
  json_decref(p);
  e = text ? queue(s, n->seller_id, n->agent_id, pl_arena_strdup(a, text), key) : PL_EINTERNAL;
  free(text);
  return e;
}

pl_err svc_notify_digest_now(svc *s, const svc_caller *c, pl_arena *a, json_t **out, pl_detail *d) {
  pl_err e = may_notify(c, d);
  if (!e) e = svc__begin(s, true, d);
  if (e) return e;
  st_agent_notify n;
  size_t count = 0;
  pl_time now = svc_now(s);
  e = store_agent_notify_get(s->st, c->agent_id, a, &n);
  if (!e && !n.address_id)
    e = pl_fail(d, PL_ENOADDRESS, "register an e-mail address first (POST /v1/agents/{id}/addresses)");
  if (!e) {
    char key[96];
    snprintf(key, sizeof key, "digest-now|%lld|%lld", (long long)n.agent_id, (long long)(now / ASK_AGAIN_SECONDS));
    st_thread *ts;
    bool more;
    e = digest_threads(s, &n, a, &ts, &count, &more);
    json_t *ids = json_array();
    for (size_t i = 0; !e && i < count; i++) json_array_append_new(ids, json_integer(ts[i].id));
    json_t *p = json_pack("{s:s,s:o,s:b}", "type", "digest", "threads", ids, "more", !e && more);
    char *text = json_dumps(p, JSON_COMPACT);
    json_decref(p);
    st_outbox o = {.seller_id = n.seller_id, .kind = ST_OUTBOX_NOTICE, .next_at = now, .created_at = now,
                   .agent_id = n.agent_id, .payload = text ? pl_arena_strdup(a, text) : NULL,
                   .dedupe = pl_arena_strdup(a, key)};
    free(text);
    if (!e) e = o.payload ? store_outbox_add(s->st, &o) : PL_EINTERNAL;
    if (e == PL_EEXIST) e = pl_fail(d, PL_ERATELIMIT, "a digest was asked for in this minute already");
  }
  if (!e) *out = json_pack("{s:b,s:I}", "queued", 1, "threads", (json_int_t)count);
  return svc__end(s, e, d);
}

pl_err svc_digest_tick(svc *s) {
  pl_arena *a = pl_arena_new();
  pl_time now = svc_now(s);
  st_agent_notify *ns;
  size_t n = 0;
  /* a look in a read transaction first: an idle node takes no writer's turn */
  pl_err e = svc__begin(s, false, NULL);
  if (!e) e = store_digest_due(s->st, now, 1, a, &ns, &n);
  if (!e) e = svc__end(s, e, NULL);
  if (e || !n) {
    pl_arena_free(a);
    return e;
  }
  e = svc__begin(s, true, NULL);
  if (!e) e = store_digest_due(s->st, now, 100, a, &ns, &n);
  for (size_t i = 0; !e && i < n; i++) {
    size_t count;
    char key[96];
    snprintf(key, sizeof key, "digest|%lld|%lld", (long long)ns[i].agent_id, (long long)ns[i].digest_at);
    /* the node that moves the agent's next digest sends this one */
    e = store_digest_next(s->st, ns[i].agent_id, ns[i].digest_at, next_digest(ns[i].mode, now));
    if (e == PL_ENOTFOUND) {
      e = PL_OK;
      continue;
    }
    if (!e && ns[i].email && ns[i].address_id) e = digest_queue(s, &ns[i], key, a, &count);
  }
  e = svc__end(s, e, NULL);
  pl_arena_free(a);
  return e;
}

/* ---- the notices' words ------------------------------------------------------------------ */

/* Every notice in each language of the seller's choice; {1}, {2}... stand for the values
 * named beside each field, in that order (fill()). */
typedef struct {
  const char *lang;
  const char *order, *product;           /* what a thread is about: "order %s", "a question about %s" */
  const char *deadline_subject;          /* hours, what */
  const char *deadline_body;             /* buyer, thread, what, due (UTC), link */
  const char *message_subject;           /* buyer, what */
  const char *message_body;              /* buyer, thread, what, text, link */
  const char *digest_subject;            /* count (more than one) */
  const char *digest_one, *digest_none;  /* one thread; none (a digest asked for now) */
  const char *digest_intro, *digest_line; /* line: what, buyer, due (UTC), link */
  const char *digest_more;               /* link */
  const char *confirm_subject;           /* seller */
  const char *confirm_body;              /* seller, marketplace, link */
  const char *webhook_subject;           /* url */
  const char *webhook_body;              /* url, link */
  const char *footer;                    /* link */
  /* a seller's e-mail reply the policy refused (svc_mail.c) */
  const char *refusal_intro;             /* buyer, what, thread */
  const char *refusal_found, *refusal_none;
  const char *refusal_outro;             /* the text */
} notice_words;

static const notice_words words[] = {
    {"en", "order {1}", "a question about {1}", "Reply due within {1} hours: {2}",
     "{1} is waiting for an answer in thread {2} ({3}). The response time ends at {4} UTC.\nOpen it: {5}\n",
     "New message from {1}: {2}", "{1} wrote in thread {2} ({3}):\n\n{4}\n\nAnswer it: {5}\n",
     "{1} threads wait for an answer", "A thread waits for an answer", "No thread waits for an answer",
     "These threads wait for an answer, the least time left first:\n",
     "- {1}, {2}: due {3} UTC\n  {4}\n", "...and more: {1}\n", "Confirm the customer-service address of {1}",
     "Someone asked to make this address the customer-service address of {1} on {2}: buyers' messages would be "
     "forwarded here. To confirm, open this link within 48 hours and press Confirm:\n{3}\n\nIf you did not ask "
     "for it, ignore this mail: nothing changes.\n",
     "Webhook turned off: {1}",
     "Every delivery to {1} failed for 3 days, so the webhook was turned off. Fix the receiver, then turn it on "
     "again: {2}\n",
     "You get this mail because of your notification settings: {1}\n",
     "Your e-mail reply to {1} ({2}, thread {3}) was not delivered: it breaks the marketplace's communication "
     "policy. Nothing of it reached the buyer.\n\n",
     "What was found:\n", "- the message was refused by the policy\n",
     "\nWrite the reply again without these and send it to the same address.\n\nYour text was:\n\n{1}\n"},
    {"de", "Bestellung {1}", "eine Frage zu {1}", "Antwort fällig in {1} Stunden: {2}",
     "{1} wartet in Unterhaltung {2} ({3}) auf eine Antwort. Die Antwortzeit endet um {4} UTC.\nÖffnen: {5}\n",
     "Neue Nachricht von {1}: {2}", "{1} schrieb in Unterhaltung {2} ({3}):\n\n{4}\n\nAntworten: {5}\n",
     "{1} Unterhaltungen warten auf eine Antwort",
     "Eine Unterhaltung wartet auf eine Antwort", "Keine Unterhaltung wartet auf eine Antwort",
     "Diese Unterhaltungen warten auf eine Antwort, die mit der wenigsten Zeit zuerst:\n",
     "- {1}, {2}: fällig {3} UTC\n  {4}\n", "...und weitere: {1}\n", "Kundendienstadresse von {1} bestätigen",
     "Jemand möchte diese Adresse zur Kundendienstadresse von {1} auf {2} machen: Nachrichten von Käufern würden "
     "hierher weitergeleitet. Zum Bestätigen öffnen Sie diesen Link innerhalb von 48 Stunden und klicken auf "
     "Bestätigen:\n{3}\n\nWenn Sie das nicht angefordert haben, ignorieren Sie diese E-Mail: nichts ändert sich.\n",
     "Webhook ausgeschaltet: {1}",
     "Jede Zustellung an {1} ist 3 Tage lang gescheitert, daher wurde der Webhook ausgeschaltet. Beheben Sie den "
     "Empfänger und schalten Sie ihn wieder ein: {2}\n",
     "Sie erhalten diese E-Mail wegen Ihrer Benachrichtigungseinstellungen: {1}\n",
     "Ihre Antwort per E-Mail an {1} ({2}, Unterhaltung {3}) wurde nicht zugestellt: Sie verstößt gegen die "
     "Kommunikationsrichtlinie des Marktplatzes. Nichts davon hat den Käufer erreicht.\n\n",
     "Gefunden wurde:\n", "- die Nachricht wurde von der Richtlinie abgelehnt\n",
     "\nSchreiben Sie die Antwort ohne diese Stellen neu und senden Sie sie an dieselbe Adresse.\n\n"
     "Ihr Text war:\n\n{1}\n"},
    {"es", "pedido {1}", "una pregunta sobre {1}", "Respuesta pendiente en {1} horas: {2}",
     "{1} espera una respuesta en la conversación {2} ({3}). El plazo termina a las {4} UTC.\nÁbrela: {5}\n",
     "Nuevo mensaje de {1}: {2}", "{1} escribió en la conversación {2} ({3}):\n\n{4}\n\nResponde: {5}\n",
     "{1} conversaciones esperan una respuesta",
     "Una conversación espera una respuesta", "Ninguna conversación espera una respuesta",
     "Estas conversaciones esperan una respuesta, primero las que tienen menos tiempo:\n",
     "- {1}, {2}: vence {3} UTC\n  {4}\n", "...y más: {1}\n", "Confirma la dirección de atención al cliente de {1}",
     "Alguien pidió que esta dirección sea la de atención al cliente de {1} en {2}: los mensajes de los compradores "
     "se reenviarían aquí. Para confirmarlo, abre este enlace en 48 horas y pulsa Confirmar:\n{3}\n\nSi no lo "
     "pediste, ignora este correo: nada cambia.\n",
     "Webhook desactivado: {1}",
     "Todas las entregas a {1} fallaron durante 3 días, así que el webhook se desactivó. Corrige el receptor y "
     "vuelve a activarlo: {2}\n",
     "Recibes este correo por tus ajustes de notificaciones: {1}\n",
     "Tu respuesta por correo a {1} ({2}, conversación {3}) no se entregó: incumple la política de comunicación "
     "del marketplace. Nada de ella llegó al comprador.\n\n",
     "Se encontró:\n", "- la política rechazó el mensaje\n",
     "\nEscribe de nuevo la respuesta sin esto y envíala a la misma dirección.\n\nTu texto era:\n\n{1}\n"},
    {"fr", "commande {1}", "une question sur {1}", "Réponse attendue dans {1} heures : {2}",
     "{1} attend une réponse dans la conversation {2} ({3}). Le délai se termine à {4} UTC.\nOuvrir : {5}\n",
     "Nouveau message de {1} : {2}", "{1} a écrit dans la conversation {2} ({3}) :\n\n{4}\n\nRépondre : {5}\n",
     "{1} conversations attendent une réponse",
     "Une conversation attend une réponse", "Aucune conversation n'attend de réponse",
     "Ces conversations attendent une réponse, celles qui ont le moins de temps d'abord :\n",
     "- {1}, {2} : échéance {3} UTC\n  {4}\n", "...et d'autres : {1}\n",
     "Confirmez l'adresse du service client de {1}",
     "Quelqu'un a demandé que cette adresse devienne celle du service client de {1} sur {2} : les messages des "
     "acheteurs y seraient transférés. Pour confirmer, ouvrez ce lien dans les 48 heures et cliquez sur "
     "Confirmer :\n{3}\n\nSi vous n'avez rien demandé, ignorez ce message : rien ne change.\n",
     "Webhook désactivé : {1}",
     "Chaque envoi vers {1} a échoué pendant 3 jours, le webhook a donc été désactivé. Réparez le récepteur, puis "
     "réactivez-le : {2}\n",
     "Vous recevez ce message en raison de vos réglages de notification : {1}\n",
     "Votre réponse par e-mail à {1} ({2}, conversation {3}) n'a pas été remise : elle enfreint la politique de "
     "communication de la place de marché. Rien n'a atteint l'acheteur.\n\n",
     "Ce qui a été trouvé :\n", "- la politique a refusé le message\n",
     "\nRécrivez la réponse sans ces éléments et envoyez-la à la même adresse.\n\nVotre texte était :\n\n{1}\n"},
    {"it", "ordine {1}", "una domanda su {1}", "Risposta dovuta entro {1} ore: {2}",
     "{1} attende una risposta nella conversazione {2} ({3}). Il tempo di risposta scade alle {4} UTC.\nApri: {5}\n",
     "Nuovo messaggio da {1}: {2}", "{1} ha scritto nella conversazione {2} ({3}):\n\n{4}\n\nRispondi: {5}\n",
     "{1} conversazioni attendono una risposta",
     "Una conversazione attende una risposta", "Nessuna conversazione attende una risposta",
     "Queste conversazioni attendono una risposta, prima quelle con meno tempo:\n",
     "- {1}, {2}: scade {3} UTC\n  {4}\n", "...e altre: {1}\n", "Conferma l'indirizzo del servizio clienti di {1}",
     "Qualcuno ha chiesto di rendere questo indirizzo quello del servizio clienti di {1} su {2}: i messaggi degli "
     "acquirenti verrebbero inoltrati qui. Per confermare, apri questo link entro 48 ore e premi Conferma:\n{3}\n\n"
     "Se non l'hai chiesto tu, ignora questa e-mail: non cambia nulla.\n",
     "Webhook disattivato: {1}",
     "Ogni consegna a {1} è fallita per 3 giorni, quindi il webhook è stato disattivato. Correggi il ricevitore e "
     "riattivalo: {2}\n",
     "Ricevi questa e-mail per le tue impostazioni di notifica: {1}\n",
     "La tua risposta via e-mail a {1} ({2}, conversazione {3}) non è stata consegnata: viola la politica di "
     "comunicazione del marketplace. Nulla è arrivato all'acquirente.\n\n",
     "Ecco cosa è stato trovato:\n", "- la politica ha rifiutato il messaggio\n",
     "\nRiscrivi la risposta senza questi elementi e inviala allo stesso indirizzo.\n\nIl tuo testo era:\n\n{1}\n"},
};

/* tmpl with {1}..{9} replaced by the arguments (NULL-terminated), in the arena. */
static const char *fill(pl_arena *a, const char *tmpl, ...) {
  const char *v[10] = {0};
  size_t nv = 0;
  va_list ap;
  va_start(ap, tmpl);
  for (const char *x; nv < 9 && (x = va_arg(ap, const char *));) v[++nv] = x;
  va_end(ap);
  size_t len = strlen(tmpl) + 1;
  for (size_t i = 1; i <= nv; i++) len += strlen(v[i]) * 4; /* each used a few times at most */
  char *out = pl_arena_alloc(a, len), *o = out;
  for (const char *p = tmpl; *p;) {
    if (p[0] == '{' && p[1] >= '1' && p[1] <= '9' && p[2] == '}' && (size_t)(p[1] - '0') <= nv &&
        (size_t)(o - out) + strlen(v[p[1] - '0']) < len) {
      size_t k = strlen(v[p[1] - '0']);
      memcpy(o, v[p[1] - '0'], k);
      o += k;
      p += 3;
    } else if ((size_t)(o - out) + 1 < len) {
      *o++ = *p++;
    } else {
      break;
    }
  }
  *o = '\0';
  return out;
}

static const notice_words *words_for(const char *lang) {
  for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
    if (!strcmp(words[i].lang, lang)) return &words[i];
  return &words[0];
}

const char *svc__notice_language(svc *s, const st_seller *sl, pl_arena *a) {
  st_seller_settings st;
  return settings_of(s, sl->id, a, &st) ? "en" : language_of(s, sl, &st, a);
}

const char *svc__refusal_words(const char *lang, svc_refusal_part part, const char *v1, const char *v2,
                               const char *v3, pl_arena *a) {
  const notice_words *w = words_for(lang);
  switch (part) {
  case SVC_REFUSAL_INTRO: return fill(a, w->refusal_intro, v1, v2, v3, NULL);
  case SVC_REFUSAL_ABOUT: return v1 ? fill(a, w->order, v1, NULL) : fill(a, w->product, v2 ? v2 : "", NULL);
  case SVC_REFUSAL_FOUND: return w->refusal_found;
  case SVC_REFUSAL_NONE: return w->refusal_none;
  case SVC_REFUSAL_OUTRO: return fill(a, w->refusal_outro, v1, NULL);
  }
  return "";
}

/* "2026-12-07 14:00" */
static const char *when(pl_time t, pl_arena *a) {
  char buf[32];
  const char *s = pl_time_format(t, buf);
  return pl_arena_printf(a, "%.10s %.5s", s, s + 11);
}

const char *svc__link(svc *s, pl_arena *a, const char *fragment) {
  const char *base = s->opt.public_url && *s->opt.public_url ? s->opt.public_url : "http://127.0.0.1:8080";
  size_t n = strlen(base);
  return pl_arena_printf(a, "%.*s/#/%s", (int)(n && base[n - 1] == '/' ? n - 1 : n), base, fragment);
}

static const char *about(const notice_words *w, const st_thread *t, pl_arena *a) {
  return t->order_id ? fill(a, w->order, t->order_id, NULL) : fill(a, w->product, t->asin ? t->asin : "", NULL);
}

/* Reads a thread and its buyer's name (the seller's team sees buyers' names). */
static pl_err thread_and_buyer(svc *s, int64_t id, pl_arena *a, st_thread *t, const char **buyer) {
  pl_err e = s->st->ops->thread_get(s->st, id, a, t);
  st_buyer b;
  if (!e) e = store_buyer_get(s->st, t->buyer_id, NULL, a, &b);
  if (!e) *buyer = b.name;
  return e;
}

pl_err svc__notice_compose(svc *s, const st_outbox *o, pl_arena *a, svc_notice *out, pl_detail *d) {
  memset(out, 0, sizeof *out);
  json_t *p = o->payload ? json_loads(o->payload, 0, NULL) : NULL;
  const char *type = json_string_value(json_object_get(p, "type"));
  if (!type) {
    json_decref(p);
    return pl_fail(d, PL_EINVAL, "notice %lld says not what it is about", (long long)o->id);
  }
  type = pl_arena_strdup(a, type);
  pl_err e = svc__begin(s, false, d);
  if (e) {
    json_decref(p);
    return e;
  }
  if (!strcmp(type, "password_reset") || !strcmp(type, "invitation") || !strcmp(type, "account_confirm")) {
    /* an account's mail: to its address (or the invited one), from the seller's
     * marketplace when there is a seller, else from parley */
    st_seller sl;
    st_marketplace mk;
    bool seller = o->seller_id && *o->seller_id && !store_seller_get(s->st, o->seller_id, NULL, a, &sl) &&
                  !svc__marketplace_get(s, sl.marketplace_id, a, &mk);
    out->marketplace = seller ? mk.name : "parley";
    out->seller_alias = seller ? sl.alias : "";
    out->seller_name = seller ? sl.name : NULL;
    e = svc__account_notice(s, type, p, a, out);
    svc__end(s, PL_OK, NULL);
    json_decref(p);
    if (e == PL_ENOTFOUND) return pl_fail(d, PL_ENOTFOUND, "the notice's recipient or what it is about is gone");
    if (e) return pl_fail(d, e, "notice %lld could not be composed", (long long)o->id);
    return PL_OK;
  }
  st_seller sl;
  st_seller_settings st;
  st_marketplace mk;
  e = store_seller_get(s->st, o->seller_id, NULL, a, &sl);
  if (!e) e = settings_of(s, o->seller_id, a, &st);
  if (!e) e = svc__marketplace_get(s, sl.marketplace_id, a, &mk);
  const notice_words *w = words_for(e ? "en" : language_of(s, &sl, &st, a));
  out->marketplace = e ? "" : mk.name;
  out->seller_alias = e ? "" : sl.alias;
  /* the recipient: the agent's first registered address, or the address to confirm */
  if (!e && o->agent_id) {
    st_agent_notify n;
    st_agent_address *rows;
    size_t k = 0;
    st_agent ag;
    e = store_agent_notify_get(s->st, o->agent_id, a, &n);
    if (!e && (strcmp(n.seller_id, o->seller_id) || !n.address_id)) e = PL_ENOTFOUND;
    /* an agent deactivated since the notice was queued is told nothing more */
    if (!e) e = store_agent_get(s->st, o->agent_id, o->seller_id, NULL, a, &ag);
    if (!e && ag.deactivated_at) e = PL_ENOTFOUND;
    if (!e) e = store_agent_address_list(s->st, o->seller_id, o->agent_id, a, &rows, &k);
    for (size_t i = 0; !e && i < k && !out->rcpt; i++)
      if (rows[i].id == n.address_id) out->rcpt = svc__opened(s, a, rows[i].email_sealed);
  } else if (!e && !strcmp(type, "confirm")) {
    /* a newer request, or a confirmation since, makes this one void */
    if (st.email_sealed && st.email_requested_at == json_integer_value(json_object_get(p, "requested_at")))
      out->rcpt = svc__opened(s, a, st.email_sealed);
  }
  const char *settings = svc__link(s, a, "notifications");
  if (!e && !out->rcpt) e = PL_ENOTFOUND;
  if (!e && !strcmp(type, "deadline")) {
    st_thread t;
    const char *buyer;
    svc_rules r;
    e = thread_and_buyer(s, json_integer_value(json_object_get(p, "thread_id")), a, &t, &buyer);
    if (!e) e = svc__rules_for(s, t.marketplace_id, a, &r);
    if (!e) {
      char ref[PL_REF_MAX];
      const char *what = about(w, &t, a), *tref = pl_ref_format(ref, "T", t.id);
      out->subject = fill(a, w->deadline_subject, pl_arena_printf(a, "%d", (int)r.alert_hours), what, NULL);
      out->text = fill(a, w->deadline_body, buyer, tref, what, when(json_integer_value(json_object_get(p, "due_at")), a),
                       svc__link(s, a, pl_arena_printf(a, "thread/%s", tref)), NULL);
    }
  } else if (!e && !strcmp(type, "message")) {
    st_message m;
    st_thread t;
    const char *buyer;
    e = s->st->ops->message_get(s->st, json_integer_value(json_object_get(p, "message_id")), NULL, a, &m);
    if (!e) e = thread_and_buyer(s, m.thread_id, a, &t, &buyer);
    if (!e) {
      char ref[PL_REF_MAX];
      const char *what = about(w, &t, a), *tref = pl_ref_format(ref, "T", t.id);
      out->subject = fill(a, w->message_subject, buyer, what, NULL);
      out->text = fill(a, w->message_body, buyer, tref, what, svc__mask_for_seller(s, t.marketplace_id, m.text, a),
                       svc__link(s, a, pl_arena_printf(a, "thread/%s", tref)), NULL);
    }
  } else if (!e && !strcmp(type, "digest")) {
    json_t *ids = json_object_get(p, "threads");
    size_t k = json_array_size(ids);
    const char *text = w->digest_intro;
    for (size_t i = 0; !e && i < k; i++) {
      st_thread t;
      const char *buyer;
      char ref[PL_REF_MAX];
      pl_err te = thread_and_buyer(s, json_integer_value(json_array_get(ids, i)), a, &t, &buyer);
      if (te == PL_ENOTFOUND) continue;
      if ((e = te)) break;
      const char *tref = pl_ref_format(ref, "T", t.id);
      text = pl_arena_printf(a, "%s%s", text,
                             fill(a, w->digest_line, about(w, &t, a), buyer,
                                  t.response_due_at ? when(t.response_due_at, a) : "-",
                                  svc__link(s, a, pl_arena_printf(a, "thread/%s", tref)), NULL));
    }
    if (json_is_true(json_object_get(p, "more")))
      text = pl_arena_printf(a, "%s%s", text, fill(a, w->digest_more, svc__link(s, a, "inbox"), NULL));
    out->subject = k > 1 ? fill(a, w->digest_subject, pl_arena_printf(a, "%zu", k), NULL) : k ? w->digest_one : w->digest_none;
    if (!k) text = "";
    out->text = text;
  } else if (!e && !strcmp(type, "confirm")) {
    char tok[65];
    confirm_token(s, sl.id, out->rcpt, st.email_requested_at, tok);
    out->subject = fill(a, w->confirm_subject, sl.name, NULL);
    out->text = fill(a, w->confirm_body, sl.name, mk.name,
                     svc__link(s, a, pl_arena_printf(a, "confirm-address?seller=%s&token=%s", sl.id, tok)), NULL);
    sodium_memzero(tok, sizeof tok);
    settings = NULL; /* not an agent's choice */
  } else if (!e && !strcmp(type, "webhook_disabled")) {
    st_webhook wh;
    e = store_webhook_get(s->st, json_integer_value(json_object_get(p, "webhook_id")), a, &wh);
    if (!e) {
      out->subject = fill(a, w->webhook_subject, wh.url, NULL);
      out->text = fill(a, w->webhook_body, wh.url, svc__link(s, a, "webhooks"), NULL);
    }
  } else if (!e) {
    e = PL_EINVAL;
  }
  svc__end(s, PL_OK, NULL);
  json_decref(p);
  if (!e && settings) out->text = pl_arena_printf(a, "%s\n-- \n%s", out->text, fill(a, w->footer, settings, NULL));
  if (e == PL_ENOTFOUND) return pl_fail(d, PL_ENOTFOUND, "the notice's recipient or what it is about is gone");
  if (e == PL_EINVAL) return pl_fail(d, PL_EINVAL, "notice %lld is of a type this server does not know", (long long)o->id);
  if (e) return pl_fail(d, e, "the store is unavailable");
  return PL_OK;
}
