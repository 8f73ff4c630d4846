/* svc_ident.c - identities: tokens (creation, authentication, web sessions, listing,
 * revocation) and agent deactivation (docs/api.md, "Tokens").
 *
 * A token is stored only as a keyed hash, with a stable id that administrators list and
 * revoke it by. Its scope says where it is valid: "api" (parley's own API and the web),
 * "session" (a web sign-in, minted from an api token and revoked with it) or "spapi" (an
 * SP-API access token, valid only on the SP-API operations). Every request looks its
 * token up in the store, so a revocation holds at once on every node; open event streams
 * check again when the revocation epoch moves. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "service/svc_int.h"

#define REVOCATIONS "revocations" /* the store counter other nodes follow */
#define TOUCH_SECONDS 60          /* last_used_at is written at most once a minute */

/* Wakes the event streams so that they check their tokens again. */
static void revoked_here(svc *s) {
  atomic_fetch_add(&s->revocation_epoch, 1);
  pthread_mutex_lock(&s->ev_mu);
  void (*hook)(void *) = s->ev_hook;
  void *ctx = s->ev_ctx;
  pthread_mutex_unlock(&s->ev_mu);
  if (hook) hook(ctx);
}

void svc__follow_revocations(svc *s) {
  pl_detail d = {0};
  int64_t gen = 0;
  if (svc__begin(s, false, &d)) return;
  pl_err e = store_counter(s->st, REVOCATIONS, false, &gen);
  if (svc__end(s, e, &d)) return;
  pthread_mutex_lock(&s->ev_mu);
  bool changed = s->revocation_generation_known && gen != s->revocation_generation;
  s->revocation_generation = gen;
  s->revocation_generation_known = true;
  pthread_mutex_unlock(&s->ev_mu);
  if (changed) revoked_here(s);
}

uint64_t svc_revocation_epoch(svc *s) { return atomic_load(&s->revocation_epoch); }

/* ---- creation ------------------------------------------------------------------------ */

static pl_err token_insert(svc *s, st_principal_kind kind, const char *subject, pl_time expires_at,
                           st_token_scope scope, int64_t parent_id, const char *user_agent, char **token_out,
                           pl_detail *d) {
  *token_out = NULL;
  if (!subject || !*subject) return pl_fail(d, PL_EMISSING, "token subject is required");
  pl_arena *a = pl_arena_new();
  /* what a session's owner is shown of the browser: printable ASCII, at most 200 bytes */
  char ua[201] = "";
  for (size_t i = 0, j = 0; user_agent && user_agent[i] && j + 1 < sizeof ua; i++)
    if (user_agent[i] >= 0x20 && user_agent[i] < 0x7f) ua[j++] = user_agent[i], ua[j] = '\0';
  st_token t = {.kind = kind, .subject = (char *)subject, .expires_at = expires_at, .scope = scope,
                .parent_id = parent_id, .user_agent = ua[0] ? ua : NULL};
  char *tok = NULL;
  pl_err e = svc__begin(s, true, d);
  if (e) goto out;
  if (kind == ST_PRINCIPAL_AGENT) {
    st_agent ag;
    st_seller sl;
    char *end;
    long long id = strtoll(subject, &end, 10);
    if (*end || id <= 0 || store_agent_get(s->st, id, NULL, NULL, a, &ag))
      e = pl_fail(d, PL_EINVAL, "no agent %s", subject);
    else if (ag.deactivated_at)
      e = pl_fail(d, PL_EDEACTIVATED, "agent %s was deactivated", subject);
    else if ((e = store_seller_get(s->st, ag.seller_id, NULL, a, &sl)) == PL_OK) {
      t.seller_id = ag.seller_id;
      t.marketplace_id = sl.marketplace_id;
    }
  } else if (kind == ST_PRINCIPAL_BUYER) {
    st_buyer b;
    if (store_buyer_get(s->st, subject, NULL, a, &b)) e = pl_fail(d, PL_EINVAL, "no buyer %s", subject);
  }
  if (!e) {
    tok = pl_token_new(kind == ST_PRINCIPAL_OPERATOR ? "plo" : kind == ST_PRINCIPAL_AGENT ? "pla" : "plb");
    char hash[65];
    pl_keyed_hash_hex(&s->keys, tok, hash);
    e = store_token_put(s->st, hash, &t, svc_now(s));
  }
  if (!e)
    e = svc__audit(s, t.seller_id, "admin", "token.create", subject,
                   json_pack("{s:I,s:s}", "token_id", (json_int_t)t.id, "scope", st_token_scope_name(scope)));
  e = svc__end(s, e, d);
  if (e) {
    free(tok);
    tok = NULL;
  }
out:
  pl_arena_free(a);
  *token_out = tok;
  return e;
}

pl_err svc_token_create(svc *s, st_principal_kind kind, const char *subject, pl_time expires_at,
                        char **token_out, pl_detail *d) {
  return token_insert(s, kind, subject, expires_at, ST_SCOPE_API, 0, NULL, token_out, d);
}

pl_err svc__token_create_spapi(svc *s, int64_t agent_id, pl_time expires_at, char **token_out,
                               pl_detail *d) {
  char subject[24];
  snprintf(subject, sizeof subject, "%lld", (long long)agent_id);
  return token_insert(s, ST_PRINCIPAL_AGENT, subject, expires_at, ST_SCOPE_SPAPI, 0, NULL, token_out, d);
}

/* ---- authentication ------------------------------------------------------------------ */

/* Why a stored token (and its agent) does not hold at `now`, or PL_OK. */
static pl_err token_holds(svc *s, const st_token *t, const st_agent *ag, pl_detail *d) {
  /* The agent first: its tokens were revoked when it was deactivated, and this says why. */
  if (ag && ag->deactivated_at)
    return pl_fail(d, PL_EDEACTIVATED, "agent %lld was deactivated", (long long)ag->id);
  if (t->revoked_at) return pl_fail(d, PL_EREVOKED, "the token was revoked");
  if (t->expires_at && t->expires_at <= svc_now(s))
    return pl_fail(d, PL_EEXPIRED, "%s", t->scope == ST_SCOPE_SESSION
                                             ? "the session has ended: sign in again"
                                             : "the token has expired");
  return PL_OK;
}

pl_err svc_authenticate_as(svc *s, const char *token, svc_surface surface, pl_arena *a,
                           svc_caller *out, pl_detail *d) {
  if (!token || !*token || strlen(token) > 200)
    return pl_fail(d, PL_EUNAUTH, "a bearer token is required");
  char hash[65];
  pl_keyed_hash_hex(&s->keys, token, hash);
  st_token t = {0};
  pl_err e = svc__begin(s, false, d);
  if (e) return e;
  e = store_token_get(s->st, hash, 0, a, &t);
  st_agent ag = {0};
  if (!e && t.kind == ST_PRINCIPAL_AGENT) {
    char *end;
    e = store_agent_get(s->st, strtoll(t.subject, &end, 10), NULL, NULL, a, &ag);
  }
  svc__end(s, PL_OK, NULL);
  if (e == PL_ENOTFOUND) return pl_fail(d, PL_EUNAUTH, "the token is not valid");
  if (e) return pl_fail(d, e, "the store is unavailable");
  if ((e = token_holds(s, &t, t.kind == ST_PRINCIPAL_AGENT ? &ag : NULL, d))) return e;
  if (t.scope == ST_SCOPE_NONE) return pl_fail(d, PL_EUNAUTH, "the token is not valid"); /* store.h */
  bool spapi = t.scope == ST_SCOPE_SPAPI;
  if (surface == SVC_SURFACE_API && spapi)
    return pl_fail(d, PL_ESCOPE, "an SP-API access token is valid only on the SP-API operations");
  if (surface == SVC_SURFACE_SPAPI && !spapi)
    return pl_fail(d, PL_ESCOPE, "SP-API takes only access tokens of /auth/o2/token (the seller "
                                 "application's refresh-token grant), not tokens of parley's own API");
  memset(out, 0, sizeof *out);
  out->kind = t.kind;
  out->marketplace_id = t.marketplace_id;
  out->token_id = t.id;
  out->expires_at = t.expires_at;
  out->scope = t.scope;
  switch (t.kind) {
  case ST_PRINCIPAL_OPERATOR:
    out->name = pl_arena_printf(a, "operator:%s", t.subject);
    break;
  case ST_PRINCIPAL_AGENT:
    out->seller_id = ag.seller_id;
    out->agent_id = ag.id;
    out->agent_role = ag.role;
    out->agent_name = ag.name;
    out->name = pl_arena_printf(a, "agent:%lld", (long long)ag.id);
    break;
  case ST_PRINCIPAL_BUYER:
    out->buyer_id = t.subject;
    out->name = pl_arena_printf(a, "buyer:%s", t.subject);
    break;
  case ST_PRINCIPAL_NONE: break; /* the store reads no token as none (store_row.h) */
  }
  /* When it was last used, for the administrators' list; at most once a minute, so that
   * reads stay reads. A failure here does not fail the request. */
  pl_time now = svc_now(s);
  if (now - t.last_used_at >= TOUCH_SECONDS && !svc__begin(s, true, NULL))
    svc__end(s, store_token_touch(s->st, t.id, now), NULL);
  return PL_OK;
}

pl_err svc_authenticate(svc *s, const char *token, pl_arena *a, svc_caller *out, pl_detail *d) {
  return svc_authenticate_as(s, token, SVC_SURFACE_API, a, out, d);
}

pl_err svc_caller_check(svc *s, const svc_caller *c, pl_detail *d) {
  if (!c->token_id) return PL_OK;
  pl_arena *a = pl_arena_new();
  st_token t = {0};
  st_agent ag = {0};
  pl_err e = svc__begin(s, false, d);
  if (!e) {
    e = store_token_get(s->st, NULL, c->token_id, a, &t);
    if (!e && t.kind == ST_PRINCIPAL_AGENT) e = store_agent_get(s->st, c->agent_id, NULL, NULL, a, &ag);
    svc__end(s, PL_OK, NULL);
    if (e == PL_ENOTFOUND) e = pl_fail(d, PL_EUNAUTH, "the token is not valid");
    else if (e) e = pl_fail(d, e, "the store is unavailable");
    else e = token_holds(s, &t, t.kind == ST_PRINCIPAL_AGENT ? &ag : NULL, d);
  }
  pl_arena_free(a);
  return e;
}

/* ---- web sessions -------------------------------------------------------------------- */

static pl_err bump_revocations(svc *s);

pl_err svc_session_create(svc *s, const char *token, const char *user_agent, pl_arena *a, char **session_out,
                          pl_time *expires_out, svc_caller *c, pl_detail *d) {
  *session_out = NULL;
  pl_err e = svc_authenticate(s, token, a, c, d);
  if (e) return e;
  /* A session ends at an absolute time: signing in with the session itself would
   * extend it without the credential it came from. */
  if (c->scope == ST_SCOPE_SESSION)
    return pl_fail(d, PL_ERENEW, "a session token cannot sign in again; sign in with your access token");
  pl_time end = svc_now(s) + SVC_SESSION_SECONDS;
  if (c->expires_at && c->expires_at < end) end = c->expires_at;
  const char *subject = c->kind == ST_PRINCIPAL_OPERATOR ? c->name + strlen("operator:")
                        : c->kind == ST_PRINCIPAL_AGENT  ? pl_arena_printf(a, "%lld", (long long)c->agent_id)
                                                         : c->buyer_id;
  e = token_insert(s, c->kind, subject, end, ST_SCOPE_SESSION, c->token_id, user_agent, session_out, d);
  if (!e && expires_out) *expires_out = end;
  return e;
}

pl_err svc__session_open(svc *s, st_principal_kind kind, const char *subject, const char *user_agent, pl_arena *a,
                         char **session_out, pl_time *expires_out, svc_caller *c, pl_detail *d) {
  pl_time end = svc_now(s) + SVC_SESSION_SECONDS;
  pl_err e = token_insert(s, kind, subject, end, ST_SCOPE_SESSION, 0, user_agent, session_out, d);
  if (!e) e = svc_authenticate(s, *session_out, a, c, d);
  if (e) {
    free(*session_out);
    *session_out = NULL;
  } else if (expires_out) {
    *expires_out = end;
  }
  return e;
}

pl_err svc__revocations_bump(svc *s) { return bump_revocations(s); }
void svc__revoked_here(svc *s) { revoked_here(s); }

pl_err svc_token_revoke(svc *s, const char *token, pl_detail *d) {
  if (!token || !*token) return pl_fail(d, PL_EUNAUTH, "no token to revoke");
  char hash[65];
  pl_keyed_hash_hex(&s->keys, token, hash);
  pl_err e = svc__begin(s, true, d);
  if (e) return e;
  /* Marked revoked rather than deleted: a token's id is never given to another token,
   * so that an administrator's "revoke 12" always means the token they listed. */
  pl_arena *a = pl_arena_new();
  st_token t;
  long n = 0;
  e = store_token_get(s->st, hash, 0, a, &t);
  if (e == PL_ENOTFOUND) e = pl_fail(d, PL_EUNAUTH, "the token is not valid");
  if (!e) e = store_token_revoke(s->st, t.id, 0, NULL, svc_now(s), &n);
  /* the other nodes' open streams of this session check again too (sign-out) */
  if (!e && n) e = bump_revocations(s);
  pl_arena_free(a);
  e = svc__end(s, e, d);
  if (!e) revoked_here(s);
  return e;
}

/* ---- administration ------------------------------------------------------------------ */

/* Who may administer identities, and whose: *seller is NULL for the operator and the
 * administrator (every token), the owner's seller otherwise. */
static pl_err admin_scope(const svc_caller *c, const char **seller, pl_detail *d) {
  *seller = NULL;
  if (!c || c->kind == ST_PRINCIPAL_OPERATOR) return PL_OK;
  if (c->kind == ST_PRINCIPAL_AGENT && c->agent_role == ST_ROLE_OWNER) {
    *seller = c->seller_id;
    return PL_OK;
  }
  return pl_fail(d, PL_EFORBIDDEN, "only the operator and a seller's owner manage tokens and agents");
}

static const char *actor_of(const svc_caller *c) { return c && c->name ? c->name : "admin"; }

pl_err svc_token_list(svc *s, const svc_caller *c, bool all, pl_arena *a, st_token **out, size_t *n,
                      pl_detail *d) {
  const char *seller;
  pl_err e = admin_scope(c, &seller, d);
  if (e || (e = svc__begin(s, false, d))) return e;
  e = store_token_list(s->st, seller, all, svc_now(s), SVC_TOKEN_LIST_MAX, a, out, n);
  return svc__end(s, e, d);
}

static pl_err bump_revocations(svc *s) {
  int64_t gen;
  return store_counter(s->st, REVOCATIONS, true, &gen);
}

pl_err svc_token_revoke_id(svc *s, const svc_caller *c, int64_t id, long *revoked, pl_detail *d) {
  *revoked = 0;
  const char *seller;
  pl_err e = admin_scope(c, &seller, d);
  if (e || (e = svc__begin(s, true, d))) return e;
  pl_arena *a = pl_arena_new();
  st_token t;
  e = store_token_get(s->st, NULL, id, a, &t);
  /* An owner's view holds only the seller's agents' tokens: any other is not there. */
  if (!e && seller && (t.kind != ST_PRINCIPAL_AGENT || !t.seller_id || strcmp(t.seller_id, seller)))
    e = PL_ENOTFOUND;
  if (e == PL_ENOTFOUND) e = pl_fail(d, PL_ENOTFOUND, "no token %lld", (long long)id);
  if (!e) e = store_token_revoke(s->st, id, 0, NULL, svc_now(s), revoked);
  if (!e && *revoked) e = bump_revocations(s);
  if (!e && *revoked)
    e = svc__audit(s, t.seller_id, actor_of(c), "token.revoke", t.subject,
                   json_pack("{s:I,s:s,s:I}", "token_id", (json_int_t)id, "kind", st_principal_kind_name(t.kind),
                             "revoked", (json_int_t)*revoked));
  pl_arena_free(a);
  e = svc__end(s, e, d);
  if (!e && *revoked) revoked_here(s);
  return e;
}

pl_err svc_agent_deactivate(svc *s, const svc_caller *c, int64_t agent_id, long *revoked,
                            pl_detail *d) {
  *revoked = 0;
  const char *seller;
  pl_err e = admin_scope(c, &seller, d);
  if (e) return e;
  if (c && c->kind == ST_PRINCIPAL_AGENT && c->agent_id == agent_id)
    return pl_fail(d, PL_EINVAL, "an owner cannot deactivate themselves (the operator can)");
  if ((e = svc__begin(s, true, d))) return e;
  pl_arena *a = pl_arena_new();
  st_agent ag;
  e = store_agent_get(s->st, agent_id, NULL, NULL, a, &ag);
  if (!e && seller && strcmp(ag.seller_id, seller)) e = PL_ENOTFOUND;
  if (e == PL_ENOTFOUND) e = pl_fail(d, PL_ENOTFOUND, "no agent %lld", (long long)agent_id);
  pl_time now = svc_now(s);
  bool already = false;
  if (!e) {
    e = store_agent_deactivate(s->st, agent_id, now);
    if (e == PL_EEXIST) {
      already = true; /* deactivated before: its tokens are revoked again below, if any */
      e = PL_OK;
    }
  }
  char subject[24];
  snprintf(subject, sizeof subject, "%lld", (long long)agent_id);
  if (!e) e = store_token_revoke(s->st, 0, ST_PRINCIPAL_AGENT, subject, now, revoked);
  if (!e) e = bump_revocations(s);
  /* Its open threads go back to the team (the inbox's "Nobody"), not to a person who is
   * gone; who it was stays in the audit log. */
  long unassigned = 0;
  if (!e) e = store_agent_unassign_all(s->st, ag.seller_id, agent_id, &unassigned);
  if (!e && !already)
    e = svc__audit(s, ag.seller_id, actor_of(c), "agent.deactivate", pl_arena_printf(a, "agent:%s", subject),
                   json_pack("{s:I,s:I}", "tokens_revoked", (json_int_t)*revoked, "threads_unassigned",
                             (json_int_t)unassigned));
  pl_arena_free(a);
  e = svc__end(s, e, d);
  if (!e) revoked_here(s);
  return e;
}

static json_t *time_or_null(pl_time t) {
  char buf[32];
  return t ? json_string(pl_time_format(t, buf)) : json_null();
}

json_t *svc_json_token(const st_token *t) {
  char owner[160];
  if (t->kind == ST_PRINCIPAL_AGENT)
    snprintf(owner, sizeof owner, "agent:%s", t->subject ? t->subject : "?");
  else
    snprintf(owner, sizeof owner, "%s:%s", st_principal_kind_name(t->kind), t->subject ? t->subject : "?");
  json_t *j = json_pack("{s:I,s:s,s:s?,s:s}", "id", (json_int_t)t->id, "kind", st_principal_kind_name(t->kind),
                        "scope", st_token_scope_name(t->scope), "owner", owner);
  json_object_set_new(j, "seller_id", t->seller_id ? json_string(t->seller_id) : json_null());
  json_object_set_new(j, "created_at", time_or_null(t->created_at));
  json_object_set_new(j, "last_used_at", time_or_null(t->last_used_at));
  json_object_set_new(j, "expires_at", time_or_null(t->expires_at));
  json_object_set_new(j, "revoked_at", time_or_null(t->revoked_at));
  json_object_set_new(j, "parent_id", t->parent_id ? json_integer(t->parent_id) : json_null());
  return j;
}

pl_err svc_me_names(svc *s, const svc_caller *c, pl_arena *a, svc_me_names_out *out, pl_detail *d) {
  memset(out, 0, sizeof *out);
  pl_err e = svc__begin(s, false, d);
  if (e) return e;
  if (c->kind == ST_PRINCIPAL_AGENT) {
    st_agent ag;
    st_seller sl;
    if (!store_agent_get(s->st, c->agent_id, NULL, NULL, a, &ag)) out->name = ag.name;
    if (!store_seller_get(s->st, c->seller_id, NULL, a, &sl)) out->seller_name = sl.name;
  } else if (c->kind == ST_PRINCIPAL_BUYER) {
    st_buyer b;
    if (!store_buyer_get(s->st, c->buyer_id, NULL, a, &b)) out->name = b.name;
  }
  return svc__end(s, PL_OK, d);
}
