/* svc_mail.c - the e-mail channel: the outbox (what is due, built from the record, and what
 * became of it) and mail that arrives for an alias, under the same rules as the API
 * (docs/postfix.md). No transport here: src/mail/ composes, sends and receives. */
#define _GNU_SOURCE /* strcasestr */
#include <ctype.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "extract/extract.h"
#include "mail/mail_auth.h" /* a pure reader of the verifier's headers; no transport */
#include "service/svc_int.h"
#include "service/svc_mail.h"
#include "util/pl_ref.h"

#define MAIL_AGENT "E-mail"    /* the seller's agent that replies by e-mail act as */
#define CLAIM_SECONDS 300      /* a claimed mail is someone's for this long */
#define MAX_BACKOFF 3600
#define MAIL_FILES_BUDGET 7000000 /* bytes of files in one mail: base64 keeps it under 10 MiB */

/* ---- addresses and identifiers -------------------------------------------------------- */

static char *lower_dup(pl_arena *a, const char *s) {
  char *r = pl_arena_strdup(a, s);
  for (char *p = r; *p; p++) *p = (char)tolower((unsigned char)*p);
  return r;
}

/* A keyed MAC of a tag, as hex (n characters), so that return paths and message ids
 * that parley hands out cannot be forged. */
static void mac_hex(svc *s, const char *tag, int64_t id, char *out, size_t n) {
  char in[64], hex[65];
  snprintf(in, sizeof in, "%s:%lld", tag, (long long)id);
  pl_keyed_hash_hex(&s->keys, in, hex);
  memcpy(out, hex, n);
  out[n] = '\0';
}

/* Ids in addresses and Message-IDs are public ids (util/pl_ref.h) without their type
 * letter, which the place they stand in implies: a recipient sees no volume in them. */
static const char *id_text(char buf[PL_REF_MAX], const char *prefix, int64_t id) {
  return pl_ref_format(buf, prefix, id) + strlen(prefix);
}

/* The id that the n characters at p write under prefix, or 0. */
static int64_t id_of(const char *p, size_t n, const char *prefix) {
  char buf[PL_REF_MAX + 8];
  int64_t id;
  if (n + strlen(prefix) >= sizeof buf) return 0;
  snprintf(buf, sizeof buf, "%s%.*s", prefix, (int)n, p);
  return pl_ref_parse(buf, prefix, &id) ? id : 0;
}

/* How many characters from p up to the first of stop (or the end). */
static size_t span_to(const char *p, char stop) {
  const char *e = strchr(p, stop);
  return e ? (size_t)(e - p) : strlen(p);
}

/* The local part review requests come from (docs/postfix.md): an address nobody reads,
 * and the answer mail to it gets, which says where to write instead. */
#define NOREPLY_LOCAL "no-reply"
#define NOREPLY_ANSWER \
  "this address does not take replies: to write to the seller, open your order on the marketplace and write there"

static const char *domain_of(const char *addr) {
  const char *at = strrchr(addr, '@');
  return at ? at + 1 : "parley.invalid";
}

/* The MAC of a reply address: thread and the party who replies to it ('s' the seller, 'b'
 * the buyer), so that an address handed to one party says nothing to anyone else. */
static void reply_mac(svc *s, int64_t thread_id, char party, char out[17]) {
  mac_hex(s, party == 's' ? "reply-seller" : "reply-buyer", thread_id, out, 16);
}

/* "local+t<thread>-<mac>@domain" for the alias "local@domain": the party (see reply_mac)
 * replies in that thread. */
static char *thread_alias(svc *s, pl_arena *a, const char *alias, int64_t thread_id, char party) {
  const char *at = strrchr(alias, '@');
  if (!at) return pl_arena_strdup(a, alias);
  char mac[17], ref[PL_REF_MAX];
  reply_mac(s, thread_id, party, mac);
  return pl_arena_printf(a, "%.*s+t%s-%s%s", (int)(at - alias), alias, id_text(ref, "T", thread_id), mac, at);
}

static char *message_id_for(svc *s, pl_arena *a, char tag, int64_t id, const char *domain) {
  char mac[9], ref[PL_REF_MAX];
  mac_hex(s, "mid", id, mac, 8);
  char prefix[2] = {tag, '\0'};
  return pl_arena_printf(a, "%c%s.%s@%s", tag, id_text(ref, prefix, id), mac, domain);
}

static char *verp_for(svc *s, pl_arena *a, int64_t id, const char *domain) {
  char mac[17], ref[PL_REF_MAX];
  mac_hex(s, "verp", id, mac, 16);
  return pl_arena_printf(a, "bounce+%s-%s@%s", id_text(ref, "M", id), mac, domain);
}

/* Splits a recipient into its alias (lower case, without a "+t<id>-<mac>" token), the
 * token's thread and its MAC as written ("" when none). */
static bool split_rcpt(pl_arena *a, const char *rcpt, char **alias, int64_t *thread_id, char **mac) {
  char *r = lower_dup(a, rcpt);
  char *at = strrchr(r, '@');
  if (!at || at == r) return false;
  *thread_id = 0;
  *mac = "";
  char *plus = memchr(r, '+', (size_t)(at - r));
  if (plus) {
    if (plus[1] != 't') return false;
    char *end = plus + 2 + span_to(plus + 2, '-');
    int64_t id = end < at ? id_of(plus + 2, (size_t)(end - (plus + 2)), "T") : 0;
    if (id <= 0 || *end != '-' || at - (end + 1) != 16) return false;
    *thread_id = id;
    *mac = pl_arena_strndup(a, end + 1, 16);
    *alias = pl_arena_printf(a, "%.*s%s", (int)(plus - r), r, at);
  } else {
    *alias = r;
  }
  return true;
}

/* ---- the outbox ----------------------------------------------------------------------- */

pl_err svc__outbox_message(svc *s, const st_thread *t, const st_message *m) {
  if (m->status != ST_STATUS_DELIVERED || m->kind == ST_KIND_NOTE) return PL_OK;
  pl_arena *a = pl_arena_new();
  bool has_address = false;
  pl_err e;
  if (m->direction == ST_DIR_BUYER) {
    st_seller sl;
    e = store_seller_get(s->st, t->seller_id, NULL, a, &sl);
    has_address = !e && sl.email_sealed;
  } else {
    st_buyer b;
    e = store_buyer_get(s->st, t->buyer_id, NULL, a, &b);
    has_address = !e && b.email_sealed;
  }
  if (e == PL_ENOTFOUND) e = PL_OK;
  if (!e && has_address) {
    pl_time now = svc_now(s);
    st_outbox o = {.seller_id = t->seller_id, .message_id = m->id, .kind = ST_OUTBOX_FORWARD,
                   .next_at = now, .created_at = now};
    e = store_outbox_add(s->st, &o);
  }
  pl_arena_free(a);
  return e;
}

/* Marks a message failed (a bounce, or a relay's permanent refusal): a status event, the
 * thread summary, the audit entry with the reason and the evidence (a delivery report's
 * fields, taken over); nothing when it is not delivered. */
static pl_err mark_failed(svc *s, int64_t message_id, const char *actor, const char *reason,
                          json_t *evidence, pl_arena *a, pl_detail *d) {
  pl_err e = svc__begin(s, true, d);
  if (e) return e;
  st_message m;
  st_thread t;
  bool changed = false;
  e = s->st->ops->message_get(s->st, message_id, NULL, a, &m);
  if (!e) e = s->st->ops->thread_get(s->st, m.thread_id, a, &t);
  if (!e && m.status == ST_STATUS_DELIVERED) {
    st_event ev = {.message_id = m.id, .thread_id = m.thread_id, .seller_id = m.seller_id,
                   .type = ST_EVENT_STATUS, .value = (char *)st_msg_status_name(ST_STATUS_FAILED),
                   .actor = (char *)actor, .at = svc_now(s)};
    e = s->st->ops->event_insert(s->st, &ev);
    m.status = ST_STATUS_FAILED;
    m.status_at = ev.at;
    if (!e) e = svc__thread_changed(s, &t, SVC__STATUS, &m, a);
    if (!e) {
      json_t *detail = json_pack("{s:s,s:s}", "message", svc__record_ref(a, "M", m.id), "reason", reason);
      if (evidence) json_object_set(detail, "report", evidence);
      e = svc__audit(s, t.seller_id, actor, "message.failed", svc__record_ref(a, "T", t.id), detail);
    }
    if (!e) e = svc__webhook_message(s, &t, &m, a);
    changed = true;
  }
  json_decref(evidence);
  if (e == PL_ENOTFOUND) e = pl_fail(d, PL_ENOTFOUND, "no message %s", svc_message_ref(a, message_id));
  e = svc__end(s, e, d);
  if (!e && changed) {
    svc__count_status(s, ST_STATUS_FAILED);
    svc__publish(s, SVC_EVENT_MESSAGE, &t, &m);
  }
  return e;
}

/* ---- building a mail from the record ----------------------------------------------------- */

static const char *category_words(const char *c) {
  const policy_category *k = policy_category_find(c);
  return k ? k->phrase : "something the communication policy does not allow";
}

/* In the seller's notice language; the findings' words are the policy's (English). */
static char *refusal_text(pl_arena *a, const char *lang, const st_message *m, const st_thread *t, const char *buyer) {
  const char *about = svc__refusal_words(lang, SVC_REFUSAL_ABOUT, t->order_id, t->asin, NULL, a);
  char *out = pl_arena_printf(a, "%s%s",
                              svc__refusal_words(lang, SVC_REFUSAL_INTRO, buyer, about, svc_thread_ref(a, t->id), a),
                              svc__refusal_words(lang, SVC_REFUSAL_FOUND, NULL, NULL, NULL, a));
  json_t *pj = m->policy_json ? json_loads(m->policy_json, 0, NULL) : NULL;
  json_t *fs = json_object_get(pj, "findings");
  size_t i;
  json_t *f;
  json_array_foreach(fs, i, f) {
    const char *cat = json_string_value(json_object_get(f, "category"));
    const char *txt = json_string_value(json_object_get(f, "text"));
    const char *rule = json_string_value(json_object_get(f, "rule"));
    const char *file = json_string_value(json_object_get(f, "name"));
    json_int_t page = json_integer_value(json_object_get(f, "page"));
    extract_source src = extract_source_parse(json_string_value(json_object_get(f, "source")));
    /* A finding in an attachment names the file, and the page and what was read there. */
    char *where = file ? pl_arena_printf(a, " in the attachment \"%s\"%s%s%s", file,
                                         page > 0 ? pl_arena_printf(a, ", page %lld", (long long)page) : "",
                                         src == EXTRACT_SRC_OCR ? ", in an image" : src == EXTRACT_SRC_LINK ? ", as a link" : "",
                                         "")
                       : "";
    out = pl_arena_printf(a, "%s- %s%s%s%s%s (finding: %s%s%s)\n", out, category_words(cat ? cat : ""),
                          txt && *txt ? ": \"" : "", txt && *txt ? txt : "", txt && *txt ? "\"" : "", where,
                          cat ? cat : "policy", rule && *rule ? ", rule " : "", rule && *rule ? rule : "");
  }
  if (json_array_size(fs) == 0)
    out = pl_arena_printf(a, "%s%s", out, svc__refusal_words(lang, SVC_REFUSAL_NONE, NULL, NULL, NULL, a));
  json_decref(pj);
  return pl_arena_printf(a, "%s%s", out, svc__refusal_words(lang, SVC_REFUSAL_OUTRO, m->text, NULL, NULL, a));
}

static const char *topic_words(const char *topic) {
  static const char *const map[][2] = {
      {"item_not_received", "item not received"}, {"wrong_item", "wrong item"},
      {"damaged_or_defective", "damaged or defective"}, {"return_request", "return request"},
      {"product_question", "product question"}, {"shipping_delivery", "shipping and delivery"},
      {"product_specifications", "product specifications"},
      {"shipping_timeframes", "shipping timeframes"}, {"customization_options", "customization options"}};
  for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
    if (topic && !strcmp(map[i][0], topic)) return map[i][1];
  return "message";
}

char *svc__opened(svc *s, pl_arena *a, const char *sealed) {
  if (!sealed) return NULL;
  char *p = svc__open(s, sealed);
  if (!p) return NULL;
  char *r = pl_arena_strdup(a, p);
  sodium_memzero(p, strlen(p));
  free(p);
  return r;
}

/* The files of message mid as parts of its mail, read through the attachment service as
 * the recipient (who may download them: the message is delivered to them). Files that would
 * take the mail past MAIL_FILES_BUDGET, or whose bytes are missing, stay out, named in *note
 * ("in the message on <marketplace>"); PL_ESTORE only when the store is unavailable. */
static pl_err attach_files(svc *s, const st_thread *t, bool to_seller, int64_t mid, const st_msg_attachment *atts,
                           size_t natts, const char *market, pl_arena *a, svc_outmail *mo, const char **note,
                           pl_detail *d) {
  size_t count = 0, used = 0;
  for (size_t i = 0; i < natts; i++) count += atts[i].message_id == mid;
  if (!count) return PL_OK;
  svc_caller rc = {.kind = to_seller ? ST_PRINCIPAL_AGENT : ST_PRINCIPAL_BUYER,
                   .seller_id = to_seller ? t->seller_id : NULL, .agent_role = to_seller ? ST_ROLE_AGENT : ST_ROLE_NONE,
                   .buyer_id = to_seller ? NULL : t->buyer_id, .marketplace_id = t->marketplace_id,
                   .name = "mail"};
  svc_mail_file *files = pl_arena_alloc(a, count * sizeof *files);
  char *left = pl_arena_strdup(a, "");
  size_t nfiles = 0;
  for (size_t i = 0; i < natts; i++) {
    if (atts[i].message_id != mid) continue;
    st_attachment at;
    int fd = -1;
    pl_detail od = {0};
    bool fits = used + (size_t)atts[i].size <= MAIL_FILES_BUDGET;
    pl_err e = fits ? svc_attachment_open(s, &rc, atts[i].id, a, &at, &fd, &od) : PL_OK;
    if (e == PL_ESTORE) return pl_fail(d, e, "the store is unavailable");
    char *data = NULL;
    size_t len = 0;
    if (fits && !e) {
      struct stat stt;
      if (!fstat(fd, &stt) && stt.st_size >= 0 && (size_t)stt.st_size <= SVC_ATTACHMENT_CEILING) {
        data = pl_arena_alloc(a, (size_t)stt.st_size + 1);
        ssize_t r = 1;
        while (len < (size_t)stt.st_size && (r = read(fd, data + len, (size_t)stt.st_size - len)) > 0) len += (size_t)r;
        if (r < 0 || len != (size_t)stt.st_size) data = NULL;
      }
      close(fd);
    }
    /* A buyer's file name reaches the seller masked, as in the API (at.name is). */
    const char *name = !to_seller ? atts[i].name
                       : data     ? at.name
                                  : svc_mask_file_name(s, t->marketplace_id, atts[i].name, a);
    if (!data) {
      left = pl_arena_printf(a, "%s%s\"%s\"", left, *left ? ", " : "", name);
      continue;
    }
    used += len;
    files[nfiles++] = (svc_mail_file){.name = name, .content_type = svc_attachment_mime(atts[i].kind),
                                      .data = data, .len = len};
  }
  mo->files = files;
  mo->nfiles = nfiles;
  if (*left)
    *note = pl_arena_printf(a, "\n\n[Not attached to this e-mail (too large for one e-mail, or unavailable): %s. "
                               "Find them in the message on %s.]", left, market);
  return PL_OK;
}

/* A notice to the seller's team (svc_notify.c): from the marketplace's address nobody
 * reads, with the null return path, marked automatic. */
static pl_err build_notice(svc *s, const st_outbox *o, pl_arena *a, svc_outmail *b, pl_detail *d) {
  svc_notice n;
  pl_err e = svc__notice_compose(s, o, a, &n, d);
  if (e) return e;
  const char *domain = domain_of(n.seller_alias);
  b->rcpt = n.rcpt;
  b->env_from = "";
  b->from_name = pl_arena_printf(a, "%s messaging", n.marketplace);
  b->from_addr = pl_arena_printf(a, NOREPLY_LOCAL "@%s", domain);
  b->to_addr = n.rcpt; /* the agent's own address (or the one to confirm): no one else's */
  b->subject = n.subject;
  b->text = n.text;
  b->message_id = message_id_for(s, a, 'N', o->id, domain);
  b->auto_submitted = "auto-generated";
  b->date = svc_now(s);
  return PL_OK;
}

/* Builds the mail of outbox row o into *b (b->row already set). */
static pl_err build(svc *s, const st_outbox *o, pl_arena *a, svc_outmail *b, pl_detail *d) {
  if (o->kind == ST_OUTBOX_NOTICE) return build_notice(s, o, a, b, d);
  st_message m, *msgs = NULL;
  st_thread t;
  st_seller sl;
  st_buyer by;
  st_marketplace mk;
  char *balias = NULL;
  size_t n = 0;
  pl_err e = svc__begin(s, false, d);
  if (e) return e;
  e = s->st->ops->message_get(s->st, o->message_id, NULL, a, &m);
  if (!e) e = s->st->ops->thread_get(s->st, m.thread_id, a, &t);
  if (!e) e = store_seller_get(s->st, t.seller_id, NULL, a, &sl);
  if (!e) e = store_buyer_get(s->st, t.buyer_id, NULL, a, &by);
  if (!e) e = svc__marketplace_get(s, t.marketplace_id, a, &mk);
  if (!e) e = store_alias_get(s->st, t.marketplace_id, t.buyer_id, t.seller_id, a, &balias);
  if (!e) e = s->st->ops->message_list(s->st, t.id, a, &msgs, &n);
  st_msg_attachment *atts = NULL;
  size_t natts = 0;
  if (!e && o->kind == ST_OUTBOX_FORWARD) e = store_attachment_links(s->st, t.id, NULL, a, &atts, &natts);
  const char *lang = !e && o->kind == ST_OUTBOX_REFUSAL ? svc__notice_language(s, &sl, a) : "en";
  svc__end(s, PL_OK, NULL);
  if (e == PL_ENOTFOUND) return pl_fail(d, PL_ENOTFOUND, "the message, its thread or a party is gone");
  if (e) return pl_fail(d, e, "the store is unavailable");
  if (o->kind != ST_OUTBOX_FORWARD && o->kind != ST_OUTBOX_REFUSAL) /* unknown (store.h) */
    return pl_fail(d, PL_EINVAL, "outbox mail %lld is of a kind this server does not know", (long long)o->id);
  bool refusal = o->kind == ST_OUTBOX_REFUSAL;
  bool from_buyer = m.direction == ST_DIR_BUYER;
  const char *domain = domain_of(sl.alias);
  /* The message this one follows in the thread, and the thread's first, for threading. */
  int64_t prev = 0, first = n ? msgs[0].id : 0;
  for (size_t i = 0; i < n; i++)
    if (msgs[i].id < m.id && msgs[i].kind != ST_KIND_NOTE) prev = msgs[i].id;
  b->date = svc_now(s);
  const char *subject = t.order_id ? pl_arena_printf(a, "Order %s: %s", t.order_id, topic_words(t.topic))
                                   : pl_arena_printf(a, "Question about %s: %s", t.asin ? t.asin : "a product",
                                                     topic_words(t.topic));
  if (refusal) {
    b->rcpt = svc__opened(s, a, sl.email_sealed);
    b->env_from = ""; /* a notice: the null return path, so that it is never bounced back */
    b->from_name = pl_arena_printf(a, "%s messaging", mk.name);
    b->from_addr = pl_arena_printf(a, "mailer-daemon@%s", domain);
    b->to_addr = sl.alias;
    b->subject = pl_arena_printf(a, "Not delivered: %s", subject);
    b->message_id = message_id_for(s, a, 'R', m.id, domain);
    b->in_reply_to = NULL;
    b->auto_submitted = "auto-replied";
    b->text = refusal_text(a, lang, &m, &t, by.name);
  } else {
    const char *text = m.text, *note = "";
    if ((e = attach_files(s, &t, from_buyer, m.id, atts, natts, mk.name, a, b, &note, d))) return e;
    if (from_buyer) {
      b->rcpt = svc__opened(s, a, sl.email_sealed);
      b->from_name = pl_arena_printf(a, "%s via %s", by.name, mk.name);
      b->from_addr = balias;
      b->reply_to = thread_alias(s, a, balias, t.id, 's');
      b->to_addr = sl.alias;
      text = svc_mask_contacts(s, t.marketplace_id, m.text, a);
      b->text = pl_arena_printf(a, "%s%s\n\n-- \nReply to this e-mail to answer %s in thread %s on %s.\n"
                                   "The buyer's address stays private; so does yours.\n",
                                text, note, by.name, svc_thread_ref(a, t.id), mk.name);
    } else if (m.kind == ST_KIND_REVIEW_REQUEST) {
      /* The marketplace's request, sent for the seller from an address nobody reads: an
       * answer is refused with words that say where to write (svc_mail_receive). */
      b->rcpt = svc__opened(s, a, by.email_sealed);
      b->from_name = pl_arena_printf(a, "%s for %s", mk.name, sl.name);
      b->from_addr = pl_arena_printf(a, NOREPLY_LOCAL "@%s", domain);
      b->to_addr = balias;
      b->text = pl_arena_printf(a, "%s\n\n-- \nThis message was sent by %s for %s. This address does not take "
                                   "replies: to write to the seller, open order %s on %s.\n",
                                text, mk.name, sl.name, t.order_id ? t.order_id : "", mk.name);
    } else {
      b->rcpt = svc__opened(s, a, by.email_sealed);
      b->from_name = sl.name;
      b->from_addr = sl.alias;
      b->reply_to = thread_alias(s, a, sl.alias, t.id, 'b');
      b->to_addr = balias;
      b->text = pl_arena_printf(a, "%s%s\n\n-- \nReply to this e-mail to answer %s on %s.\n"
                                   "Your address stays private; so does the seller's.\n",
                                text, note, sl.name, mk.name);
    }
    b->env_from = verp_for(s, a, m.id, domain);
    b->subject = prev ? pl_arena_printf(a, "Re: %s", subject) : subject;
    b->message_id = message_id_for(s, a, 'M', m.id, domain);
    if (prev) {
      b->in_reply_to = message_id_for(s, a, 'M', prev, domain);
      b->references = first && first != prev
                          ? pl_arena_printf(a, "%s %s", message_id_for(s, a, 'M', first, domain), b->in_reply_to)
                          : b->in_reply_to;
    }
  }
  if (!b->rcpt) return pl_fail(d, PL_ENOTFOUND, "the recipient has no e-mail address");
  return PL_OK;
}

/* ---- due mail and its outcome ------------------------------------------------------------ */

static void record(svc *s, st_outbox *o) {
  for (int tries = 0; tries < 3; tries++) {
    if (svc__begin(s, true, NULL)) continue;
    pl_err e = store_outbox_update(s->st, o);
    if (!svc__end(s, e, NULL)) return;
  }
  fprintf(stderr, "parley: outbox mail %lld: the store could not record '%s'\n", (long long)o->id,
          st_outbox_state_name(o->state));
}

/* The outcome of one try: sent, retried later (with backoff, given up after the last
 * try), or failed for good, which fails a forwarded message as a bounce would. */
static void outcome(svc *s, const svc_mail_options *opt, st_outbox *o, svc_mail_outcome oc, const char *reason,
                    pl_arena *a) {
  pl_time now = svc_now(s);
  o->attempts++;
  if (oc == SVC_MAIL_SENT) {
    o->state = ST_OUTBOX_SENT;
    o->sent_at = now;
    o->last_error = NULL;
  } else {
    o->last_error = pl_arena_strdup(a, reason && *reason ? reason : "not deliverable");
    int max = opt && opt->max_attempts > 0 ? opt->max_attempts : 10;
    if (oc == SVC_MAIL_REFUSED || o->attempts >= max) {
      o->state = ST_OUTBOX_FAILED;
      fprintf(stderr, "parley: outbox mail %lld for M%lld given up: %s\n", (long long)o->id,
              (long long)o->message_id, o->last_error);
    } else {
      int64_t delay = opt && opt->retry_base > 0 ? opt->retry_base : 60;
      for (int64_t i = 1; i < o->attempts && delay < MAX_BACKOFF; i++) delay *= 2;
      o->next_at = now + (delay < MAX_BACKOFF ? delay : MAX_BACKOFF);
    }
  }
  record(s, o);
  svc_delivery_result res = o->state == ST_OUTBOX_SENT     ? SVC_DELIVERY_DELIVERED
                            : o->state == ST_OUTBOX_FAILED ? SVC_DELIVERY_FAILED
                                                           : SVC_DELIVERY_RETRIED;
  if ((unsigned)o->kind < ST_OUTBOX_KIND_N) atomic_fetch_add(&s->deliveries[o->kind][res], 1);
  /* A forward the relay refused for good failed as a bounce would: the sender sees it. */
  if (o->state == ST_OUTBOX_FAILED && o->kind == ST_OUTBOX_FORWARD) {
    pl_detail fd;
    mark_failed(s, o->message_id, "mail", o->last_error, NULL, a, &fd);
  }
}

size_t svc_mail_claim(svc *s, const svc_mail_options *o, size_t max, pl_arena *a, svc_outmail **out) {
  st_outbox *rows = NULL;
  size_t n = 0, k = 0;
  pl_time now = svc_now(s);
  *out = NULL;
  if (!svc__begin(s, true, NULL)) {
    pl_err e = store_outbox_claim(s->st, now, now + CLAIM_SECONDS, max ? max : 16, a, &rows, &n);
    if (svc__end(s, e, NULL)) n = 0;
  }
  if (!n) return 0;
  svc_outmail *ms = pl_arena_alloc(a, n * sizeof *ms);
  for (size_t i = 0; i < n; i++) {
    svc_outmail *m = &ms[k];
    memset(m, 0, sizeof *m);
    m->row = rows[i];
    pl_detail d = {0};
    pl_err e = build(s, &rows[i], a, m, &d);
    if (!e) {
      k++;
      continue;
    }
    if (m->rcpt) sodium_memzero(m->rcpt, strlen(m->rcpt));
    /* The store away: the claim runs out and the mail is tried again; anything else
     * (the message or the address gone) will not get better. */
    outcome(s, o, &rows[i], e == PL_ESTORE ? SVC_MAIL_RETRY : SVC_MAIL_REFUSED, d.msg, a);
  }
  *out = ms;
  return k;
}

void svc_mail_report(svc *s, const svc_mail_options *o, svc_outmail *m, svc_mail_outcome oc, const char *reason) {
  if (m->rcpt) sodium_memzero(m->rcpt, strlen(m->rcpt));
  pl_arena *a = pl_arena_new();
  outcome(s, o, &m->row, oc, reason, a);
  pl_arena_free(a);
}

void svc_mail_release(svc *s, svc_outmail *m) {
  if (m->rcpt) sodium_memzero(m->rcpt, strlen(m->rcpt));
  m->row.state = ST_OUTBOX_PENDING;
  m->row.next_at = svc_now(s);
  record(s, &m->row);
}

/* ---- mail that arrives ---------------------------------------------------------------------- */

/* Every mail that does not speak for a party gets this one answer, whatever the reason and
 * whatever the alias (a buyer's, a seller's, or none): nothing in it, nor in the answer to
 * RCPT, tells whether an address exists or whose it is (docs/postfix.md). */
#define REFUSAL "this address takes mail only from a party of the conversation, authenticated by its domain"

static pl_err refuse(pl_detail *d, const char *why) {
  /* The reason is the operator's business (the log, without addresses): the sender learns
   * nothing from it. */
  fprintf(stderr, "parley: mail refused: %s\n", why ? why : "unknown");
  return pl_fail(d, PL_EFORBIDDEN, "%s", REFUSAL);
}

/* Who a mail speaks for, once checked: the recipient, the thread and the sender. */
typedef struct {
  svc_mail_rcpt r;
  char *alias;                   /* the alias without a token */
  char *marketplace_id, *seller_id, *buyer_id;
  int64_t agent_id;              /* a seller's reply: the agent it speaks as (0: "E-mail") */
} resolved;

/* A VERP bounce address (bounce+<message id>-<mac>@relay...): the message, or 0. */
static int64_t verp_message(svc *s, const char *rcpt) {
  if (strncasecmp(rcpt, "bounce+", 7)) return 0;
  const char *end = rcpt + 7 + span_to(rcpt + 7, '-');
  int64_t id = id_of(rcpt + 7, (size_t)(end - (rcpt + 7)), "M");
  if (id <= 0 || *end != '-') return 0;
  char mac[17], got[17] = "";
  mac_hex(s, "verp", id, mac, 16);
  snprintf(got, sizeof got, "%.16s", end + 1);
  for (char *p = got; *p; p++) *p = (char)tolower((unsigned char)*p);
  return strlen(got) == 16 && end[17] == '@' && !sodium_memcmp(got, mac, 16) ? id : 0;
}

pl_err svc_mail_rcpt_check(svc *s, const char *mail_from, const char *rcpt, pl_arena *a,
                           svc_mail_rcpt *out, pl_detail *d) {
  /* Every syntactically valid recipient is taken at RCPT: what becomes of the mail is
   * decided after DATA, when its sender can be known, with one answer for every refusal. */
  (void)s, (void)mail_from, (void)a, (void)d, (void)rcpt;
  memset(out, 0, sizeof *out);
  return PL_OK;
}

/* The messages a header names ("<M40.mac@...>" with a valid mac), at most 32. */
static size_t referenced_messages(svc *s, const char *hdr, int64_t *ids, size_t max) {
  size_t n = 0;
  for (const char *p = hdr ? hdr : ""; n < max && (p = strstr(p, "<M")) != NULL; p++) {
    const char *end = p + 2 + span_to(p + 2, '.');
    int64_t id = id_of(p + 2, (size_t)(end - (p + 2)), "M");
    if (id <= 0 || *end != '.') continue;
    char mac[9];
    mac_hex(s, "mid", id, mac, 8);
    if (!strncmp(end + 1, mac, 8) && end[9] == '@') ids[n++] = id;
  }
  return n;
}

/* The thread a mail to a bare alias answers: a message its In-Reply-To or References
 * names that is the pair's and that the writing party received (one the other party
 * wrote). 0 when none: a bare alias says nothing to whoever only knows it. */
static int64_t answered_thread(svc *s, const resolved *r, const svc_mail_in *in, pl_arena *a) {
  int64_t ids[64];
  size_t n = referenced_messages(s, in->in_reply_to, ids, 32);
  n += referenced_messages(s, in->references, ids + n, 32);
  st_direction received = r->r.kind == SVC_MAIL_TO_BUYER ? ST_DIR_BUYER : ST_DIR_SELLER;
  for (size_t i = 0; i < n; i++) {
    st_message m;
    st_thread t;
    if (!s->st->ops->message_get(s->st, ids[i], NULL, a, &m) && m.direction == received &&
        !s->st->ops->thread_get(s->st, m.thread_id, a, &t) && !strcmp(t.seller_id, r->seller_id) &&
        !strcmp(t.buyer_id, r->buyer_id))
      return t.id;
  }
  return 0;
}

/* The address a mail speaks from: the envelope sender where the deployment trusts it
 * (--mail-trust envelope), else the From: address when the verifier's results say its
 * domain passed, aligned. NULL when it speaks for nobody. */
static const char *sender_address(const svc_mail_in *in, pl_arena *a, const char **why) {
  if (in->trust_envelope) {
    *why = "no envelope sender";
    return in->mail_from && *in->mail_from ? lower_dup(a, in->mail_from) : NULL;
  }
  mail_auth_verdict v;
  mail_auth_check(in->headers ? in->headers : "", in->headers ? in->headers_len : 0, in->authserv_id, a, &v);
  *why = v.why;
  return v.authenticated ? v.from : NULL;
}

/* Resolves a mail to a party: PL_OK with out filled, PL_EFORBIDDEN (the one refusal) when
 * it speaks for nobody, PL_ESTORE to try again. Reads only: a refusal leaves no trace. */
static pl_err resolve(svc *s, const svc_mail_in *in, pl_arena *a, resolved *out, pl_detail *d) {
  memset(out, 0, sizeof *out);
  const char *why = "no such address";
  char *mac;
  if (!in->rcpt || !*in->rcpt || strlen(in->rcpt) > 254 ||
      !split_rcpt(a, in->rcpt, &out->alias, &out->r.thread_id, &mac))
    return refuse(d, why);
  const char *from = sender_address(in, a, &why);
  if (!from) return refuse(d, why);
  /* Stored look-up hashes are of the generation that sealed their row: during a key
   * rotation some rows are of the previous one (svc_keys.c). */
  char hashes[PL_KEY_GENS][65];
  size_t nhash = svc__lookup_hashes(s, from, hashes);
  pl_err e = svc__begin(s, false, d);
  if (e) return e;
  bool ok = false;
  st_seller sl;
  e = store_alias_find(s->st, out->alias, a, &out->marketplace_id, &out->buyer_id, &out->seller_id);
  if (!e) {
    /* A buyer's alias: the seller writes, from an address one of its agents registered
     * (a role that may send), or from the seller's customer-service address. */
    out->r.kind = SVC_MAIL_TO_BUYER;
    st_agent_address ad;
    st_agent ag;
    st_buyer b;
    e = PL_ENOTFOUND;
    for (size_t i = 0; i < nhash && e == PL_ENOTFOUND; i++)
      e = store_agent_address_find(s->st, out->seller_id, hashes[i], a, &ad);
    if (!e) {
      e = store_agent_get(s->st, ad.agent_id, NULL, NULL, a, &ag);
      ok = !e && !strcmp(ag.seller_id, out->seller_id) && st_agent_role_writes(ag.role) && !ag.deactivated_at;
      out->agent_id = ad.agent_id;
      why = !e && ag.deactivated_at ? "a deactivated agent's address" : "a read-only agent's address";
    } else if (e == PL_ENOTFOUND) {
      e = store_seller_get(s->st, out->seller_id, NULL, a, &sl);
      char *real = e ? NULL : svc__opened(s, a, sl.email_sealed);
      ok = real && !strcasecmp(real, from);
      why = "not the seller's address";
    }
    /* An address that is also a buyer's speaks for that buyer, never for a seller. */
    if (!e && ok) {
      pl_err be = PL_ENOTFOUND;
      for (size_t i = 0; i < nhash && be == PL_ENOTFOUND; i++) be = store_buyer_get(s->st, NULL, hashes[i], a, &b);
      if (!be) ok = false, why = "a buyer's address";
      else if (be != PL_ENOTFOUND) e = be;
    }
  } else if (e == PL_ENOTFOUND) {
    e = store_seller_get(s->st, NULL, out->alias, a, &sl);
    if (!e) {
      /* A seller's alias: a buyer of the seller, from the buyer's own address. */
      out->r.kind = SVC_MAIL_TO_SELLER;
      out->seller_id = sl.id;
      out->marketplace_id = sl.marketplace_id;
      st_buyer b;
      char *pair_alias;
      e = PL_ENOTFOUND;
      for (size_t i = 0; i < nhash && e == PL_ENOTFOUND; i++) e = store_buyer_get(s->st, NULL, hashes[i], a, &b);
      if (!e) e = store_alias_get(s->st, sl.marketplace_id, b.id, sl.id, a, &pair_alias);
      if (!e) out->buyer_id = b.id, ok = true;
      why = "not a buyer of the seller";
    }
  }
  if (e == PL_ENOTFOUND) e = PL_OK; /* no such alias: the same refusal */
  /* The thread: a reply address's MAC binds it to the replying party, else the mail
   * must answer a message that party received. */
  if (!e && ok && out->r.thread_id) {
    char want[17];
    reply_mac(s, out->r.thread_id, out->r.kind == SVC_MAIL_TO_BUYER ? 's' : 'b', want);
    st_thread t;
    ok = !sodium_memcmp(want, mac, 16) && !s->st->ops->thread_get(s->st, out->r.thread_id, a, &t) &&
         !strcmp(t.seller_id, out->seller_id) && !strcmp(t.buyer_id, out->buyer_id);
    why = "a reply address that is not this party's";
  } else if (!e && ok) {
    out->r.thread_id = answered_thread(s, out, in, a);
    ok = out->r.thread_id != 0;
    why = "a bare alias that answers none of the party's messages";
  }
  svc__end(s, PL_OK, NULL);
  if (e) return pl_fail(d, PL_ESTORE, "the store is unavailable; try again later");
  return ok ? PL_OK : refuse(d, why);
}

/* The seller's agent a reply by e-mail speaks as: the agent whose registered address it
 * came from, else the "E-mail" agent (created on first use). */
static pl_err mail_agent(svc *s, const char *seller_id, int64_t agent_id, pl_arena *a, svc_caller *c,
                         pl_detail *d) {
  static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
  st_agent ag;
  st_seller sl;
  pthread_mutex_lock(&mu); /* one process creates one agent per seller */
  pl_err e = svc__begin(s, false, d);
  if (!e) {
    e = store_seller_get(s->st, seller_id, NULL, a, &sl);
    if (!e) e = store_agent_get(s->st, agent_id, seller_id, MAIL_AGENT, a, &ag);
    svc__end(s, PL_OK, NULL);
    if (e == PL_ENOTFOUND && !agent_id) {
      int64_t id;
      e = svc_agent_add(s, seller_id, MAIL_AGENT, "agent", &id, d);
      ag = (st_agent){.id = id, .seller_id = (char *)seller_id, .name = MAIL_AGENT, .role = ST_ROLE_AGENT};
    }
  }
  pthread_mutex_unlock(&mu);
  if (e) return e == PL_ESTORE ? pl_fail(d, e, "the store is unavailable; try again later") : e;
  if (!st_agent_role_writes(ag.role)) return refuse(d, "the seller's mail agent is read-only");
  memset(c, 0, sizeof *c);
  c->kind = ST_PRINCIPAL_AGENT;
  c->seller_id = pl_arena_strdup(a, seller_id);
  c->agent_id = ag.id;
  c->agent_role = ag.role;
  c->marketplace_id = sl.marketplace_id;
  c->name = pl_arena_printf(a, "agent:%lld", (long long)ag.id);
  return PL_OK;
}

/* The files of a mail as attachments of the sender (c). A seller's reply is refused as a
 * whole when one of its files is not taken, naming the file: a seller writes again. A
 * buyer's message still goes, without the file and with a note under the text saying
 * which file did not come along and why, so that the seller knows to ask for it. */
static pl_err take_files(svc *s, const svc_caller *c, bool seller, const svc_mail_in *in, pl_arena *a,
                         const char ***ids, size_t *nids, const char **text, size_t *dropped, pl_detail *d) {
  *dropped = 0;
  size_t total = in->nfiles + in->files_skipped;
  if (!total) return PL_OK;
  static const char allowed[] = "PDF, DOC, DOCX, TXT, JPEG, GIF, PNG, BMP or TIFF of at most 10 MB";
  if (seller && total > SVC_MAX_ATTACHMENTS)
    return pl_fail(d, PL_EINVAL, "a reply carries at most %d attachments and this mail has %zu; nothing "
                                 "was delivered", SVC_MAX_ATTACHMENTS, total);
  if (seller && !svc__attachments_enabled(s))
    return pl_fail(d, PL_EUNSUPPORTED, "this marketplace takes no attachments by e-mail; nothing was "
                                       "delivered: send the reply again without them");
  *ids = pl_arena_alloc(a, (in->nfiles + 1) * sizeof **ids);
  char *notes = pl_arena_strdup(a, "");
  char *names = pl_arena_strdup(a, "");
  for (size_t i = 0; i < in->nfiles; i++) {
    const svc_mail_file *f = &in->files[i];
    const char *name = f->name && *f->name ? f->name : pl_arena_printf(a, "attachment-%zu", i + 1);
    pl_detail ad = {0};
    pl_err ae;
    st_attachment at;
    if (*nids >= SVC_MAX_ATTACHMENTS) ae = pl_fail(&ad, PL_EINVAL, "a message carries at most %d files", SVC_MAX_ATTACHMENTS);
    else if (!svc__attachments_enabled(s)) ae = pl_fail(&ad, PL_EUNSUPPORTED, "files are not taken by e-mail");
    else ae = svc_attachment_create_mem(s, c, f->data, f->len, name, a, &at, &ad);
    if (ae == PL_ESTORE || ae == PL_EIO || ae == PL_EINTERNAL)
      return pl_fail(d, ae == PL_ESTORE ? PL_ESTORE : PL_EIO, "the attachment store is unavailable; try again later");
    if (!ae) {
      (*ids)[(*nids)++] = at.id;
      names = pl_arena_printf(a, "%s%s%s", names, *names ? ", " : "", at.name);
      continue;
    }
    if (seller)
      return pl_fail(d, ae, "the attachment \"%.80s\" was not taken: %.160s. Nothing was delivered; send the "
                            "reply again without it, or as %s", name, ad.msg, allowed);
    (*dropped)++;
    notes = pl_arena_printf(a, "%s\n[The attachment \"%.80s\" was not delivered: %.160s.]", notes, name, ad.msg);
  }
  for (size_t i = 0; i < in->files_skipped; i++) (*dropped)++;
  if (in->files_skipped)
    notes = pl_arena_printf(a, "%s\n[%zu more attachments were not delivered: a message carries at most %d.]",
                            notes, in->files_skipped, SVC_MAX_ATTACHMENTS);
  bool blank = true;
  for (const char *p = *text; *p && blank; p++) blank = isspace((unsigned char)*p);
  if (blank && *nids) *text = pl_arena_printf(a, "Attached: %s", names);
  if (*notes) *text = pl_arena_printf(a, "%s%s%s", blank && !*nids ? "" : *text, blank && !*nids ? "" : "\n", notes + (blank && !*nids));
  return PL_OK;
}

/* ---- what a mail is: delivery reports, automatic mail, quoted history --------------------- */

/* The result this mail already had in thread_id for an earlier recipient of the same
 * transaction ("alias" and "alias+t12" lead to one thread): the message is stored once. */
static bool taken_before(const svc_mail_in *in, int64_t thread_id, svc_mail_result *out) {
  for (size_t i = 0; i < in->nearlier && in->earlier; i++)
    if (in->earlier[i].thread_id == thread_id) {
      *out = in->earlier[i];
      return true;
    }
  return false;
}

static bool same_address(const char *a, const char *b) { return a && b && !strcasecmp(a, b); }

/* The real address a message was mailed to. */
static pl_err message_recipient(svc *s, int64_t mid, pl_arena *a, char **real, pl_detail *d) {
  st_message m;
  st_thread t;
  *real = NULL;
  pl_err e = svc__begin(s, false, d);
  if (e) return e;
  e = s->st->ops->message_get(s->st, mid, NULL, a, &m);
  if (!e) e = s->st->ops->thread_get(s->st, m.thread_id, a, &t);
  if (!e && m.direction == ST_DIR_BUYER) {
    st_seller sl;
    e = store_seller_get(s->st, t.seller_id, NULL, a, &sl);
    if (!e) *real = svc__opened(s, a, sl.email_sealed);
  } else if (!e) {
    st_buyer b;
    e = store_buyer_get(s->st, t.buyer_id, NULL, a, &b);
    if (!e) *real = svc__opened(s, a, b.email_sealed);
  }
  svc__end(s, PL_OK, NULL);
  if (e == PL_ESTORE) return pl_fail(d, e, "the store is unavailable; try again later");
  if (!e && !*real) e = PL_ENOTFOUND;
  return e;
}

/* A report's words as evidence the sender of the message may read: every e-mail address
 * (the recipient's real one above all), the recipient's mailbox name alone ("unknown user
 * \"jane.doe\""), the recipient's domain and bracketed host addresses masked, so that a
 * bounce of a seller's message tells the seller nothing of the buyer's address. */
static char *redact_report(const char *txt, const char *real, pl_arena *a) {
  if (!txt) return NULL;
  const char *at = real ? strrchr(real, '@') : NULL;
  const char *dom = at && at[1] ? at + 1 : NULL;
  /* the mailbox's name, when long enough not to match everyday words by chance */
  char *local = at && at - real >= 3 ? pl_arena_strndup(a, real, (size_t)(at - real)) : NULL;
  char *out = pl_arena_strdup(a, "");
  for (const char *p = txt; *p;) {
    size_t sep = strcspn(p, " \t<>()\"'[],;");
    if (!sep) {
      if (*p == '[') {
        /* "[192.0.2.7]": a host's address */
        const char *q = strchr(p, ']');
        if (q && (size_t)(q - p) < 48 && strspn(p + 1, "0123456789.:abcdefABCDEFIPv") == (size_t)(q - p - 1)) {
          out = pl_arena_printf(a, "%s[address]", out);
          p = q + 1;
          continue;
        }
      }
      out = pl_arena_printf(a, "%s%c", out, *p++);
      continue;
    }
    char *tok = pl_arena_strndup(a, p, sep);
    if (memchr(tok, '@', sep)) tok = "[address]";
    else if (dom && strcasestr(tok, dom)) tok = "[recipient's domain]";
    else if (local && strcasestr(tok, local)) tok = "[recipient]";
    out = pl_arena_printf(a, "%s%s", out, tok);
    p += sep;
  }
  return out;
}

/* Mail to a return path. Only a delivery status notification from the null sender that
 * reports the message's own recipient as failed fails the message; anything else sent
 * there (a "thanks", an out-of-office, a report about another address) is dropped. */
static pl_err receive_report(svc *s, const svc_mail_in *in, int64_t mid, pl_arena *a, svc_mail_result *out,
                             pl_detail *d) {
  out->discarded = true;
  out->return_path = true;
  if (!in->dsn || !in->mail_from || *in->mail_from || !in->ndsn) return PL_OK;
  char *real = NULL;
  pl_err e = message_recipient(s, mid, a, &real, d);
  if (e == PL_ENOTFOUND) return PL_OK; /* a report on a message that is gone */
  if (e) return e;
  const svc_mail_dsn *hit = NULL;
  for (size_t i = 0; i < in->ndsn && !hit; i++) {
    const svc_mail_dsn *r = &in->dsn_rcpts[i];
    if (r->action && !strncasecmp(r->action, "failed", 6) &&
        (same_address(r->final_recipient, real) || same_address(r->original_recipient, real)))
      hit = r;
  }
  if (!hit) {
    sodium_memzero(real, strlen(real));
    return PL_OK;
  }
  json_t *ev = json_pack("{s:s,s:s?,s:s?}", "action", "failed", "status",
                         hit->status ? redact_report(hit->status, real, a) : NULL, "diagnostic",
                         redact_report(hit->diagnostic, real, a));
  sodium_memzero(real, strlen(real));
  e = mark_failed(s, mid, "mail:bounce", "the recipient's mail server reported it undeliverable", ev, a, d);
  if (e == PL_ENOTFOUND) return PL_OK;
  if (!e) {
    out->discarded = false;
    out->failed = true;
    out->message_id = mid;
  }
  return e;
}

/* Automatic mail to an alias (RFC 3834 and the de facto markers, the null sender): never
 * forwarded, never an answer, never a violation. An out-of-office that speaks for its
 * party as any mail must (resolve) is kept in its thread as an auto-reply the other party
 * does not see: a seller's does not stop the clock, a buyer's does not start it (nor run
 * the seller's rules); anything else is dropped with the one answer for automatic mail,
 * so that it tells nothing, and two responders never answer each other. */
static pl_err receive_automatic(svc *s, const svc_mail_in *in, pl_arena *a, svc_mail_result *out,
                                pl_detail *d) {
  out->discarded = true;
  resolved r;
  pl_detail rd = {0};
  pl_err e = resolve(s, in, a, &r, &rd);
  if (e == PL_ESTORE) return pl_fail(d, e, "%s", rd.msg);
  /* Mail with no marker but the null sender that speaks for nobody (a forged return path)
   * gets the one answer for everything else. */
  if (e && !in->automatic) return pl_fail(d, e, "%s", rd.msg);
  if (e || (r.r.kind != SVC_MAIL_TO_BUYER && r.r.kind != SVC_MAIL_TO_SELLER)) return PL_OK;
  int64_t thread_id = r.r.thread_id;
  if (taken_before(in, thread_id, out)) return PL_OK;
  svc_caller c;
  if (r.r.kind == SVC_MAIL_TO_BUYER) {
    if ((e = mail_agent(s, r.seller_id, r.agent_id, a, &c, &rd)))
      return e == PL_ESTORE ? pl_fail(d, e, "%s", rd.msg) : PL_OK;
  } else {
    memset(&c, 0, sizeof c);
    c.kind = ST_PRINCIPAL_BUYER;
    c.buyer_id = r.buyer_id;
    c.name = pl_arena_printf(a, "buyer:%s", r.buyer_id);
  }
  /* The text as it came, within the limit of a message. */
  char *text = pl_arena_strdup(a, in->text && *in->text ? in->text : "(an automatic reply without text)");
  size_t n = strlen(text);
  if (n > SVC_MAX_TEXT_CHARS) {
    n = SVC_MAX_TEXT_CHARS;
    while (n && ((unsigned char)text[n] & 0xC0) == 0x80) n--;
    text[n] = '\0';
  }
  static const svc__msg_opts opts = {.kind = ST_KIND_AUTO_REPLY, .automatic = true};
  svc_send_in sin = {.text = text};
  svc_sent sent;
  st_thread t;
  if ((e = svc__begin(s, true, d))) return e;
  e = s->st->ops->thread_get(s->st, thread_id, a, &t);
  if (!e) e = svc__add_message(s, &c, &t, &sin, &opts, a, &sent, d);
  e = svc__end(s, e, d);
  if (e) return e == PL_ESTORE ? pl_fail(d, e, "the store is unavailable; try again later") : e;
  svc__count_status(s, sent.msg.status);
  svc__publish(s, SVC_EVENT_MESSAGE, &t, &sent.msg);
  policy_verdict_free(&sent.verdict);
  out->discarded = false;
  out->auto_reply = true;
  out->message_id = sent.msg.id;
  out->thread_id = thread_id;
  return PL_OK;
}

/* Whether a finding's text is nothing but an address at the relay domain: an alias of
 * parley's ("k3v9…+t12@relay.example.com", in brackets or not). A host that merely starts
 * with the relay domain ("relay.example.com.evil.example") is not one. */
static bool relay_address(const char *t, const char *relay) {
  size_t n = strlen(t), k = strlen(relay);
  while (n && strchr(">\"').,;: ", t[n - 1])) n--;
  if (n < k + 2 || strncasecmp(t + n - k, relay, k) || t[n - k - 1] != '@') return false;
  for (size_t i = 0; i < n - k - 1; i++)
    if (t[i] == '/' || t[i] == '@' || t[i] == ':' || t[i] == ' ') return false;
  return true;
}

/* A line that may open quoted history the stripper did not know: an attribution or header
 * naming a relay address ("Jane <k3v9…@relay…> hat geschrieben:", "Von: Jane <…@relay…>"). */
static bool quote_header(const char *ln, const char *relay) {
  if (!relay) return false;
  char *at = pl_xmalloc(strlen(relay) + 2);
  at[0] = '@';
  strcpy(at + 1, relay);
  bool names = strcasestr(ln, at) != NULL;
  free(at);
  if (!names) return false;
  size_t n = strlen(ln);
  if (n && ln[n - 1] == ':') return true;
  const char *c = strchr(ln, ':');
  return c && c - ln <= 12; /* "From:", "Von:", "De :", "*Da:*" */
}

static bool forwarded(const st_message *m) {
  return m->kind != ST_KIND_NOTE && (m->status == ST_STATUS_DELIVERED || m->status == ST_STATUS_FAILED);
}

pl_err svc__mail_reply_verdict(svc *s, const st_thread *t, policy_config *cfg, const char *const *allow,
                               const char *text, pl_arena *a, policy_verdict *v) {
  size_t len = strlen(text);
  pl_err e = policy_scan_allow(cfg, allow, text, len, v);
  if (e || !v->nfindings) return e;
  /* What parley forwarded earlier in this thread, and the relay domain of its aliases. */
  st_message *msgs = NULL;
  size_t n = 0;
  if (s->st->ops->message_list(s->st, t->id, a, &msgs, &n)) n = 0;
  st_seller sl;
  const char *relay = NULL;
  if (!store_seller_get(s->st, t->seller_id, NULL, a, &sl) && sl.alias && strchr(sl.alias, '@'))
    relay = strrchr(sl.alias, '@') + 1;
  char *blank = NULL;
  for (size_t i = 0; i < v->nfindings; i++) {
    const policy_finding *f = &v->findings[i];
    if (!f->text || f->end > len || f->end <= f->start) continue;
    bool quoted = relay && relay_address(f->text, relay); /* an alias: parley's own address */
    for (size_t k = 0; k < n && !quoted; k++)
      quoted = strlen(f->text) >= 6 && forwarded(&msgs[k]) && msgs[k].text && strcasestr(msgs[k].text, f->text);
    if (!quoted) continue;
    if (!blank) blank = pl_arena_strdup(a, text);
    memset(blank + f->start, ' ', f->end - f->start);
  }
  if (blank) {
    /* Scanned again without them: what is left is the writer's own. */
    policy_verdict v2;
    if ((e = policy_scan_allow(cfg, allow, blank, len, &v2))) return e;
    policy_verdict_free(v);
    *v = v2;
  }
  if (v->action != POLICY_REJECT || !v->nfindings) return PL_OK;
  /* Where quoted history may begin without having been recognised: a line of an earlier
   * message, a line naming a relay address, parley's own footer. Findings all below it
   * cannot be told from quotes: held for review, never counted against the seller. */
  size_t qstart = len;
  for (size_t i = 0; i < len && qstart == len;) {
    size_t j = i;
    while (j < len && text[j] != '\n') j++;
    size_t b = i, e2 = j;
    while (b < e2 && (isspace((unsigned char)text[b]) || text[b] == '>')) b++;
    while (e2 > b && isspace((unsigned char)text[e2 - 1])) e2--;
    char *ln = pl_arena_strndup(a, text + b, e2 - b);
    bool q = quote_header(ln, relay) || strstr(ln, "Reply to this e-mail to answer");
    for (size_t k = 0; k < n && !q && e2 - b >= 20; k++)
      q = forwarded(&msgs[k]) && msgs[k].text && strstr(msgs[k].text, ln);
    if (q) qstart = i;
    i = j + 1;
  }
  bool all_below = true;
  for (size_t i = 0; i < v->nfindings; i++) all_below = all_below && v->findings[i].start >= qstart;
  if (all_below) v->action = POLICY_REVIEW;
  return PL_OK;
}

pl_err svc_mail_receive(svc *s, const svc_mail_in *in, pl_arena *a, svc_mail_result *out,
                        pl_detail *d) {
  memset(out, 0, sizeof *out);
  /* To a return path (a VERP address, whose MAC is its authentication): only a delivery
   * failure report about that message counts. */
  int64_t bounced = in->rcpt ? verp_message(s, in->rcpt) : 0;
  if (bounced) return receive_report(s, in, bounced, a, out, d);
  /* An answer to a review request: nothing is stored and nothing of parley's is sent; the
   * refusal's words reach the writer in the MTA's bounce, as every refusal's do. */
  if (in->rcpt && !strncasecmp(in->rcpt, NOREPLY_LOCAL "@", sizeof NOREPLY_LOCAL))
    return pl_fail(d, PL_EFORBIDDEN, NOREPLY_ANSWER);
  if (in->automatic || !in->mail_from || !*in->mail_from) return receive_automatic(s, in, a, out, d);
  resolved r;
  pl_err e = resolve(s, in, a, &r, d);
  if (e) return e;
  int64_t thread_id = r.r.thread_id;
  if (taken_before(in, thread_id, out)) return PL_OK;
  out->thread_id = thread_id;
  svc_caller c;
  if (r.r.kind == SVC_MAIL_TO_BUYER) {
    if ((e = mail_agent(s, r.seller_id, r.agent_id, a, &c, d))) return e;
  } else {
    memset(&c, 0, sizeof c);
    c.kind = ST_PRINCIPAL_BUYER;
    c.buyer_id = r.buyer_id;
    c.name = pl_arena_printf(a, "buyer:%s", r.buyer_id);
  }
  const char **ids = NULL;
  size_t nids = 0;
  const char *text = in->text ? in->text : "";
  if ((e = take_files(s, &c, r.r.kind == SVC_MAIL_TO_BUYER, in, a, &ids, &nids, &text, &out->dropped, d)))
    return e;
  out->files = nids;
  svc_send_in sin = {.text = text, .attachments = ids, .nattachments = nids,
                     .by_mail = r.r.kind == SVC_MAIL_TO_BUYER};
  svc_sent sent;
  e = svc_send(s, &c, thread_id, &sin, a, &sent, d);
  out->message_id = sent.msg.id;
  policy_verdict_free(&sent.verdict);
  if (e == PL_EPOLICY && sent.msg.id) {
    /* The reply is recorded as rejected; the seller hears why by mail. */
    out->refused = true;
    pl_time now = svc_now(s);
    st_outbox o = {.seller_id = r.seller_id, .message_id = sent.msg.id, .kind = ST_OUTBOX_REFUSAL,
                   .next_at = now, .created_at = now};
    e = svc__begin(s, true, d);
    if (!e) e = svc__end(s, store_outbox_add(s->st, &o), d);
  }
  return e;
}

/* ---- agents' registered addresses ---------------------------------------------------------- */

/* The agent the caller manages: the operator any, an owner the seller's, an agent itself.
 * Another seller's agent is "no such agent". */
static pl_err managed_agent(svc *s, const svc_caller *c, int64_t agent_id, pl_arena *a, st_agent *ag,
                            pl_detail *d) {
  if (c->kind != ST_PRINCIPAL_OPERATOR && c->kind != ST_PRINCIPAL_AGENT)
    return pl_fail(d, PL_EFORBIDDEN, "only the seller's agents manage their addresses");
  pl_err e = store_agent_get(s->st, agent_id, NULL, NULL, a, ag);
  if (e == PL_ENOTFOUND || (!e && c->kind == ST_PRINCIPAL_AGENT && strcmp(ag->seller_id, c->seller_id)))
    return pl_fail(d, PL_ENOTFOUND, "no such agent");
  if (e) return pl_fail(d, e, "the store is unavailable; try again later");
  if (c->kind == ST_PRINCIPAL_AGENT && c->agent_role != ST_ROLE_OWNER && ag->id != c->agent_id)
    return pl_fail(d, PL_EFORBIDDEN, "an agent manages only its own addresses; the owner manages everyone's");
  return PL_OK;
}

pl_err svc_agent_address_add(svc *s, const svc_caller *c, int64_t agent_id, const char *email,
                             pl_arena *a, svc_agent_address *out, pl_detail *d) {
  if (!email || !*email) return pl_fail(d, PL_EMISSING, "email is required");
  char *addr;
  if (strlen(email) > 254 || mail_from_address(email, a, &addr) || strcmp(addr, lower_dup(a, email)))
    return pl_fail(d, PL_EINVAL, "email must be one e-mail address (name@example.com)");
  pl_err e = svc__begin(s, true, d);
  if (e) return e;
  st_agent ag;
  st_seller sl;
  st_agent_address *have;
  size_t n = 0;
  e = managed_agent(s, c, agent_id, a, &ag, d);
  if (!e) e = store_agent_address_list(s->st, ag.seller_id, ag.id, a, &have, &n);
  if (!e && n >= SVC_MAX_AGENT_ADDRESSES)
    e = pl_fail(d, PL_ETOOMANY, "an agent registers at most %d addresses", SVC_MAX_AGENT_ADDRESSES);
  if (!e) e = store_seller_get(s->st, ag.seller_id, NULL, a, &sl);
  if (!e) {
    /* The customer-service address speaks for the whole seller: the owner chooses who. */
    char *cs = svc__opened(s, a, sl.email_sealed);
    if (cs && !strcasecmp(cs, addr) && c->kind == ST_PRINCIPAL_AGENT && c->agent_role != ST_ROLE_OWNER)
      e = pl_fail(d, PL_EFORBIDDEN, "only an owner gives the seller's customer-service address to an agent");
  }
  char hash[65] = "";
  char *sealed = e ? NULL : svc__seal(s, addr, addr, hash);
  /* During a key rotation the address may be stored under the previous generation's
   * hash, which the store's uniqueness does not compare with the current one's. */
  char older[PL_KEY_GENS][65];
  size_t nolder = e ? 0 : svc__lookup_hashes(s, addr, older);
  for (size_t i = 0; i < nolder && !e; i++) {
    st_agent_address dup;
    if (!strcmp(older[i], hash)) continue;
    pl_err f = store_agent_address_find(s->st, ag.seller_id, older[i], a, &dup);
    if (!f) e = pl_fail(d, PL_EEXIST, "this address is registered for an agent of the seller already");
    else if (f != PL_ENOTFOUND) e = f;
  }
  if (!e && !sealed) e = pl_fail(d, PL_ECRYPTO, "the address could not be sealed");
  st_agent_address v = {.seller_id = ag.seller_id, .agent_id = agent_id, .email_sealed = sealed,
                        .email_hash = hash, .created_at = svc_now(s)};
  if (!e) {
    e = store_agent_address_add(s->st, &v);
    if (e == PL_EEXIST) e = pl_fail(d, e, "this address is registered for an agent of the seller already");
    else if (e == PL_ENOTFOUND) e = pl_fail(d, e, "no such agent");
  }
  free(sealed);
  if (!e)
    e = svc__audit(s, ag.seller_id, c->name ? c->name : "admin", "agent.address_add",
                   pl_arena_printf(a, "%lld", (long long)agent_id), json_pack("{s:I}", "address", (json_int_t)v.id));
  e = svc__end(s, e, d);
  if (!e) *out = (svc_agent_address){.id = v.id, .agent_id = agent_id, .email = addr, .created_at = v.created_at};
  return e;
}

pl_err svc_agent_address_list(svc *s, const svc_caller *c, int64_t agent_id, pl_arena *a,
                              svc_agent_address **out, size_t *n, pl_detail *d) {
  pl_err e = svc__begin(s, false, d);
  if (e) return e;
  st_agent ag;
  st_agent_address *rows = NULL;
  *n = 0;
  e = managed_agent(s, c, agent_id, a, &ag, d);
  if (!e) e = store_agent_address_list(s->st, ag.seller_id, ag.id, a, &rows, n);
  svc__end(s, PL_OK, NULL);
  if (e == PL_ESTORE) return pl_fail(d, e, "the store is unavailable; try again later");
  if (e) return e;
  *out = pl_arena_alloc(a, (*n + 1) * sizeof **out);
  for (size_t i = 0; i < *n; i++)
    (*out)[i] = (svc_agent_address){.id = rows[i].id, .agent_id = rows[i].agent_id,
                                    .email = svc__opened(s, a, rows[i].email_sealed), .created_at = rows[i].created_at};
  return PL_OK;
}

pl_err svc_agent_address_remove(svc *s, const svc_caller *c, int64_t agent_id, int64_t id, pl_detail *d) {
  pl_arena *a = pl_arena_new();
  pl_err e = svc__begin(s, true, d);
  if (!e) {
    st_agent ag;
    e = managed_agent(s, c, agent_id, a, &ag, d);
    if (!e) {
      e = store_agent_address_delete(s->st, ag.seller_id, ag.id, id);
      if (e == PL_ENOTFOUND) e = pl_fail(d, e, "no such address");
    }
    if (!e)
      e = svc__audit(s, ag.seller_id, c->name ? c->name : "admin", "agent.address_remove",
                     pl_arena_printf(a, "%lld", (long long)agent_id), json_pack("{s:I}", "address", (json_int_t)id));
    e = svc__end(s, e, d);
  }
  pl_arena_free(a);
  return e;
}
