/* svc_account.c - accounts: signing in with an e-mail address and a password (Argon2id),
 * an optional TOTP second factor, resetting a password by a mailed link, the caller's
 * sessions, and invitations (docs/api.md, "Accounts").
 *
 * An account belongs to a principal of the tokens (an operator's name, an agent, a
 * buyer); signing in with it gives the same session a token's sign-in gives. Nothing an
 * outsider could use is stored in clear: the address and the TOTP secret are sealed, the
 * password is an Argon2id hash, and the links mailed (reset, invitation) are keyed hashes
 * of what they stand for, so that no table holds them. */
#include <liboath/oath.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "service/svc_int.h"

#define SESSIONS_MAX 100   /* listed by GET /v1/me/sessions */
#define TOTP_STEP 30       /* seconds (RFC 6238) */
#define TOTP_DIGITS 6
#define TOTP_SECRET_BYTES 20 /* 160 bits, as RFC 4226 recommends for SHA-1 */
#define RECOVERY_CODES 10  /* a new set each time the second factor goes on, or on request */
#define RECOVERY_CHARS 16  /* of Crockford's base32: 80 random bits a code */
#define HOUR 3600

/* ---- passwords ----------------------------------------------------------------------- */

static pthread_once_t once = PTHREAD_ONCE_INIT;
/* A hash of a random password that nobody knows: an unknown address is checked against it,
 * so that it costs the same time as a known one and the answer's delay says nothing. */
static char dummy_hash[crypto_pwhash_STRBYTES];
static bool dummy_ok;

static void init_once(void) {
  unsigned char pw[32];
  randombytes_buf(pw, sizeof pw);
  dummy_ok = crypto_pwhash_str(dummy_hash, (const char *)pw, sizeof pw, crypto_pwhash_OPSLIMIT_INTERACTIVE,
                               crypto_pwhash_MEMLIMIT_INTERACTIVE) == 0;
  sodium_memzero(pw, sizeof pw);
  oath_init();
}

/* The address as looked up: lower case (as buyers' and agents' addresses are). */
static bool email_norm(const char *in, char *out, size_t cap) {
  if (!in || !svc__valid_email(in) || strlen(in) >= cap) return false;
  size_t i = 0;
  for (; in[i]; i++) out[i] = (char)(in[i] >= 'A' && in[i] <= 'Z' ? in[i] + 32 : in[i]);
  out[i] = '\0';
  return true;
}

pl_err svc_password_check(const char *password, const char *email, pl_detail *d) {
  if (!password) return pl_fail(d, PL_EMISSING, "field 'password' is required");
  size_t n = strlen(password);
  if (n > SVC_PASSWORD_MAX)
    return pl_fail(d, PL_EPASSLONG, "the password is longer than %d bytes", SVC_PASSWORD_MAX);
  size_t chars = 0; /* characters, not bytes: a UTF-8 continuation byte is not one */
  for (size_t i = 0; i < n; i++) chars += ((unsigned char)password[i] & 0xC0) != 0x80;
  if (chars < SVC_PASSWORD_MIN)
    return pl_fail(d, PL_EWEAKPASS, "the password must have at least %d characters", SVC_PASSWORD_MIN);
  if (email && !strcasecmp(password, email))
    return pl_fail(d, PL_EWEAKPASS, "the password must not be the e-mail address");
  return PL_OK;
}

/* The Argon2id hash of password into out; outside any transaction (it takes a while). */
static pl_err password_hash(const char *password, char out[crypto_pwhash_STRBYTES], pl_detail *d) {
  pthread_once(&once, init_once);
  if (crypto_pwhash_str(out, password, strlen(password), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                        crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
    return pl_fail(d, PL_ENOMEM, "no memory to hash the password; retry later");
  return PL_OK;
}

/* Whether password is the one of hash (NULL: the dummy's, always false, at the same cost). */
static bool password_verify(const char *hash, const char *password) {
  pthread_once(&once, init_once);
  if (!hash) {
    volatile int rc = dummy_ok ? crypto_pwhash_str_verify(dummy_hash, password, strlen(password)) : -1;
    (void)rc;
    return false;
  }
  return crypto_pwhash_str_verify(hash, password, strlen(password)) == 0;
}

/* The principal of a caller, as tokens and accounts name it. */
static const char *subject_of(const svc_caller *c, pl_arena *a) {
  switch (c->kind) {
  case ST_PRINCIPAL_OPERATOR: return c->name + strlen("operator:");
  case ST_PRINCIPAL_AGENT: return pl_arena_printf(a, "%lld", (long long)c->agent_id);
  case ST_PRINCIPAL_BUYER: return c->buyer_id;
  case ST_PRINCIPAL_NONE: break;
  }
  return "";
}

/* The account of address norm (every key generation's look-up hash is tried); in a
 * transaction. */
static pl_err account_by_email(svc *s, const char *norm, pl_arena *a, st_account *out) {
  char hashes[PL_KEY_GENS][65];
  size_t n = svc__lookup_hashes(s, norm, hashes);
  pl_err e = PL_ENOTFOUND;
  for (size_t i = 0; i < n && e == PL_ENOTFOUND; i++) e = store_account_get(s->st, 0, hashes[i], 0, NULL, a, out);
  return e;
}

/* The caller's account (PL_ENOTFOUND with a message when none); in a transaction. */
static pl_err my_account(svc *s, const svc_caller *c, pl_arena *a, st_account *out, pl_detail *d) {
  pl_err e = store_account_get(s->st, 0, NULL, c->kind, subject_of(c, a), a, out);
  if (e == PL_ENOTFOUND) return pl_fail(d, PL_ENOTFOUND, "you have no account yet: set a password first");
  return e;
}

/* An account-confirmation link's token: "<id>-<keyed hash of the account as made>"; a new
 * account (a new first password) makes the older link worthless. */
static void confirm_token(svc *s, const st_account *acct, pl_arena *a, char out[96]) {
  char hex[65];
  pl_keyed_hash_hex(&s->keys,
                    pl_arena_printf(a, "account-confirm\n%lld\n%lld\n%s", (long long)acct->id,
                                    (long long)acct->created_at, acct->password_hash),
                    hex);
  snprintf(out, 96, "%lld-%s", (long long)acct->id, hex);
  sodium_memzero(hex, sizeof hex);
}

/* Adds acct (its address hashed as hash), in the caller's write transaction: an account of
 * the same address whose address was never verified gives way (nobody showed the address
 * to be theirs, so it holds no one off). PL_EEXIST with a message when a verified one has
 * it. */
static pl_err account_add(svc *s, st_account *acct, const char *norm, pl_arena *a, pl_detail *d) {
  pl_err e = store_account_add(s->st, acct);
  st_account other;
  if (e == PL_EEXIST && !account_by_email(s, norm, a, &other) && !other.verified_at &&
      !store_account_drop_unverified(s->st, other.id))
    e = store_account_add(s->st, acct);
  if (e == PL_EEXIST) e = pl_fail(d, PL_EEXIST, "that address belongs to another account");
  return e;
}

/* Makes the principal's account, or gives it a new password: svc_account_set's, with
 * verified telling whether the address is known to be the person's (an administrator
 * says so) or must be confirmed by the link mailed to it (the person typed it). */
static pl_err account_make(svc *s, st_principal_kind kind, const char *subject, const char *email,
                           const char *password, bool verified, const char *actor, pl_detail *d) {
  char norm[256];
  if (!email) return pl_fail(d, PL_EMISSING, "field 'email' is required");
  if (!email_norm(email, norm, sizeof norm)) return pl_fail(d, PL_EINVAL, "'%s' is not an e-mail address", email);
  pl_err e = svc_password_check(password, email, d);
  if (e) return e;
  char ph[crypto_pwhash_STRBYTES], hash[65];
  if ((e = password_hash(password, ph, d))) return e;
  char *sealed = svc__seal(s, norm, norm, hash);
  if (!sealed) return pl_fail(d, PL_ECRYPTO, "the address could not be sealed");
  pl_arena *a = pl_arena_new();
  pl_time now = svc_now(s);
  st_account acct = {.kind = kind, .subject = (char *)subject, .email_hash = hash, .email_sealed = sealed,
                     .password_hash = ph, .password_at = now, .verified_at = verified ? now : 0};
  if ((e = svc__begin(s, true, d))) goto out;
  if (kind == ST_PRINCIPAL_AGENT) {
    st_agent ag;
    char *end;
    long long id = strtoll(subject, &end, 10);
    if (*end || id <= 0 || store_agent_get(s->st, id, NULL, NULL, a, &ag)) e = pl_fail(d, PL_EINVAL, "no agent %s", subject);
    else if (ag.deactivated_at) e = pl_fail(d, PL_EDEACTIVATED, "agent %s was deactivated", subject);
    else acct.seller_id = ag.seller_id;
  } else if (kind == ST_PRINCIPAL_BUYER) {
    st_buyer b;
    if (store_buyer_get(s->st, subject, NULL, a, &b)) e = pl_fail(d, PL_EINVAL, "no buyer %s", subject);
  } else if (!subject || !*subject || strlen(subject) > 100) {
    e = pl_fail(d, PL_EINVAL, "an operator's name is 1 to 100 bytes");
  }
  st_account old;
  pl_err g = e ? e : store_account_get(s->st, 0, NULL, kind, subject, a, &old);
  /* the principal's own unconfirmed account is made again (another address, perhaps) */
  if (!e && !g && !old.verified_at && !verified) {
    e = store_account_drop_unverified(s->st, old.id);
    g = PL_ENOTFOUND;
  }
  if (!e && !g) {
    /* the principal has an account: a new password; its address stays what it is */
    char *cur = svc__opened(s, a, old.email_sealed);
    if (!cur || strcmp(cur, norm)) e = pl_fail(d, PL_ECONFLICT, "the account has another address");
    else e = store_account_password_set(s->st, old.id, ph, now);
    if (!e && verified && !old.verified_at) e = store_account_verify(s->st, old.id, now);
    if (cur) sodium_memzero(cur, strlen(cur));
  } else if (!e && g == PL_ENOTFOUND) {
    e = account_add(s, &acct, norm, a, d);
    /* a typed address is the person's once the link mailed to it is opened */
    st_outbox o = {.seller_id = acct.seller_id ? acct.seller_id : "", .kind = ST_OUTBOX_NOTICE, .next_at = now,
                   .created_at = now,
                   .payload = pl_arena_printf(a, "{\"type\":\"account_confirm\",\"account_id\":%lld,\"created_at\":%lld}",
                                              (long long)acct.id, (long long)now),
                   .dedupe = NULL};
    /* a mail to an address the caller typed: a few an hour, so that no one is flooded */
    if (!e && !verified)
      e = svc__limit_take(s, pl_arena_printf(a, "%s:%s", st_principal_kind_name(kind), subject), "account_confirm",
                          SVC_CONFIRM_MAILS, HOUR, 1, PL_ERATELIMIT, "too many addresses to confirm", d);
    if (!e && !verified) e = store_outbox_add(s->st, &o);
  } else if (!e) {
    e = g;
  }
  if (!e)
    e = svc__audit(s, acct.seller_id, actor, "account.password",
                   pl_arena_printf(a, "%s:%s", st_principal_kind_name(kind), subject), NULL);
  e = svc__end(s, e, d);
out:
  sodium_memzero(ph, sizeof ph);
  free(sealed);
  pl_arena_free(a);
  return e;
}

pl_err svc_account_set(svc *s, st_principal_kind kind, const char *subject, const char *email, const char *password,
                       pl_detail *d) {
  return account_make(s, kind, subject, email, password, true, "admin", d);
}

pl_err svc_account_totp_reset(svc *s, st_principal_kind kind, const char *subject, pl_detail *d) {
  pl_arena *a = pl_arena_new();
  st_account acct;
  pl_err e = svc__begin(s, true, d);
  if (e) goto out;
  e = subject ? store_account_get(s->st, 0, NULL, kind, subject, a, &acct) : PL_ENOTFOUND;
  if (e == PL_ENOTFOUND) e = pl_fail(d, PL_ENOTFOUND, "%s %s has no account", st_principal_kind_name(kind), subject);
  if (!e && !acct.totp_sealed) e = pl_fail(d, PL_ECONFLICT, "two-step sign-in is not on");
  if (!e) e = store_account_totp_set(s->st, acct.id, NULL, false, 0);
  if (!e) e = store_recovery_codes_put(s->st, acct.id, NULL, 0);
  if (!e)
    e = svc__audit(s, acct.seller_id, "admin", "account.totp_off",
                   pl_arena_printf(a, "%s:%s", st_principal_kind_name(kind), subject), NULL);
  e = svc__end(s, e, d);
out:
  pl_arena_free(a);
  return e;
}

/* The account's or invitation's id in a mailed link "<id>-<64 hex>", or 0 when the link
 * has not that shape. */
static long long link_id(const char *token) {
  char *end;
  long long id = token ? strtoll(token, &end, 10) : 0;
  return id > 0 && *end == '-' && strlen(end + 1) == 64 ? id : 0;
}

/* Whether token is the link want, compared in constant time; want is wiped. */
static bool link_matches(char want[96], const char *token) {
  bool ok = strlen(want) == strlen(token) && !sodium_memcmp(want, token, strlen(want));
  sodium_memzero(want, 96);
  return ok;
}

static const char *bad_confirm = "the link is not valid, or is older than 48 hours: set your password again for a new one";

/* Whether token is the confirmation link of an account not confirmed yet, made at most
 * SVC_CONFIRM_SECONDS ago; the account into acct. One answer (PL_EBADLINK) for all. */
static pl_err check_confirm(svc *s, const char *token, pl_arena *a, st_account *acct, pl_detail *d) {
  long long id = link_id(token);
  if (!id) return pl_fail(d, PL_EBADLINK, "%s", bad_confirm);
  pl_err e = store_account_get(s->st, id, NULL, 0, NULL, a, acct);
  if (e && e != PL_ENOTFOUND) return e;
  bool ok = false;
  if (!e && !acct->verified_at && svc_now(s) - acct->created_at <= SVC_CONFIRM_SECONDS) {
    char want[96];
    confirm_token(s, acct, a, want);
    ok = link_matches(want, token);
  }
  return ok ? PL_OK : pl_fail(d, PL_EBADLINK, "%s", bad_confirm);
}

pl_err svc_account_confirm(svc *s, const char *token, pl_detail *d) {
  pl_arena *a = pl_arena_new();
  st_account acct;
  /* anyone may ask: a wrong link is answered from a read, and takes no writer's turn */
  pl_err e = svc__begin(s, false, d);
  if (e) goto out;
  e = svc__end(s, check_confirm(s, token, a, &acct, d), d);
  if (e || (e = svc__begin(s, true, d))) goto out;
  e = check_confirm(s, token, a, &acct, d); /* again: it may have been used since */
  if (!e) e = store_account_verify(s->st, acct.id, svc_now(s));
  if (!e)
    e = svc__audit(s, acct.seller_id, "link", "account.confirmed",
                   pl_arena_printf(a, "%s:%s", st_principal_kind_name(acct.kind), acct.subject), NULL);
  e = svc__end(s, e, d);
out:
  pl_arena_free(a);
  return e;
}

/* ---- TOTP (RFC 6238, through liboath) -------------------------------------------------- */

/* Checks code against the account's secret at now (one step either side, for clocks that
 * differ a little); *step the time step it matched. PL_ETOTPBAD when it does not. */
static pl_err totp_match(svc *s, const st_account *acct, const char *code, pl_arena *a, int64_t *step,
                         pl_detail *d) {
  pthread_once(&once, init_once);
  bool digits = code && strlen(code) == TOTP_DIGITS;
  for (size_t i = 0; digits && code[i]; i++) digits = code[i] >= '0' && code[i] <= '9';
  char *b32 = digits ? svc__opened(s, a, acct->totp_sealed) : NULL;
  char *secret = NULL;
  size_t len = 0;
  int rc = -1;
  uint64_t counter = 0;
  int pos = 0;
  if (b32 && oath_base32_decode(b32, strlen(b32), &secret, &len) == OATH_OK)
    rc = oath_totp_validate3(secret, len, (time_t)svc_now(s), TOTP_STEP, 0, 1, &pos, &counter, code);
  if (secret) {
    sodium_memzero(secret, len);
    free(secret);
  }
  if (b32) sodium_memzero(b32, strlen(b32));
  /* a code is good once: a step at or before the last one accepted is refused */
  if (rc < 0 || (int64_t)counter <= acct->totp_step)
    return pl_fail(d, PL_ETOTPBAD, "the code is not right, or was used already: enter the app's next code");
  *step = (int64_t)counter;
  return PL_OK;
}

/* ---- recovery codes: a way in when the authenticator is lost ---------------------------- */

static const char crockford[] = "0123456789abcdefghjkmnpqrstvwxyz";

/* A recovery code as typed, as its 16 characters: case, spaces and hyphens do not matter,
 * and the letters Crockford's base32 leaves out read as the digits they look like (o as
 * 0, i and l as 1). false when it is not one (a TOTP code is not). */
static bool recovery_norm(const char *in, char out[RECOVERY_CHARS + 1]) {
  size_t n = 0;
  for (const char *p = in; p && *p; p++) {
    char c = *p;
    if (c == '-' || c == ' ') continue;
    if (c >= 'A' && c <= 'Z') c = (char)(c + 32);
    c = c == 'o' ? '0' : c == 'i' || c == 'l' ? '1' : c;
    if (n == RECOVERY_CHARS || !strchr(crockford, c)) return false;
    out[n++] = c;
  }
  out[n] = '\0';
  return n == RECOVERY_CHARS;
}

/* What is kept of a code: its SHA-256 (80 random bits cannot be searched for from it). */
static void recovery_hash(const char *norm, char hex[65]) {
  unsigned char h[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(h, (const unsigned char *)norm, strlen(norm));
  sodium_bin2hex(hex, 65, h, sizeof h);
}

/* Gives the account RECOVERY_CODES new codes, in the caller's write transaction: the old
 * ones stop working. *out: the codes ("xxxx-xxxx-xxxx-xxxx"), shown this once. */
static pl_err recovery_new(svc *s, int64_t account_id, pl_arena *a, json_t **out) {
  const char *hashes[RECOVERY_CODES];
  json_t *codes = json_array();
  for (size_t k = 0; k < RECOVERY_CODES; k++) {
    unsigned char raw[RECOVERY_CHARS];
    char norm[RECOVERY_CHARS + 1];
    randombytes_buf(raw, sizeof raw);
    for (size_t i = 0; i < RECOVERY_CHARS; i++) norm[i] = crockford[raw[i] & 31]; /* 256 % 32 == 0: uniform */
    norm[RECOVERY_CHARS] = '\0';
    char *hex = pl_arena_alloc(a, 65);
    recovery_hash(norm, hex);
    hashes[k] = hex;
    json_array_append_new(codes, json_string(pl_arena_printf(a, "%.4s-%.4s-%.4s-%.4s", norm, norm + 4, norm + 8,
                                                              norm + 12)));
    sodium_memzero(raw, sizeof raw);
    sodium_memzero(norm, sizeof norm);
  }
  pl_err e = store_recovery_codes_put(s->st, account_id, hashes, RECOVERY_CODES);
  if (e) json_decref(codes);
  else *out = codes;
  return e;
}

/* Signs in with a recovery code (norm) in place of the app's: it is used up, and the audit
 * log records it with how many are left. PL_ETOTPBAD when it is wrong or was used. */
static pl_err recovery_use(svc *s, const st_account *acct, const char *norm, pl_arena *a, pl_detail *d) {
  char hex[65];
  recovery_hash(norm, hex);
  pl_err e = store_recovery_code_use(s->st, acct->id, hex, svc_now(s));
  if (e == PL_ENOTFOUND) return pl_fail(d, PL_ETOTPBAD, "the recovery code is not right, or was used already");
  int64_t left = 0;
  if (!e) e = store_recovery_codes_left(s->st, acct->id, &left);
  if (!e) {
    const char *who = pl_arena_printf(a, "%s:%s", st_principal_kind_name(acct->kind), acct->subject);
    e = svc__audit(s, acct->seller_id, who, "account.recovery_code_used", who, json_pack("{s:I}", "left", (json_int_t)left));
  }
  return e;
}

/* The attempts at a second-factor code of one account: 10 an hour (svc__limit_take), in
 * the caller's write transaction. */
static pl_err totp_attempt(svc *s, int64_t account_id, pl_arena *a, pl_detail *d) {
  return svc__limit_take(s, pl_arena_printf(a, "account:%lld", (long long)account_id), "totp_code", SVC_CODE_ATTEMPTS,
                         HOUR, 1, PL_EATTEMPTS, "too many authenticator codes tried", d);
}

/* ---- signing in ---------------------------------------------------------------------- */

pl_err svc_session_password(svc *s, const svc_signin_in *in, pl_arena *a, char **session_out, pl_time *expires_out,
                            svc_caller *c, pl_detail *d) {
  *session_out = NULL;
  if (!in->email) return pl_fail(d, PL_EMISSING, "field 'email' is required");
  if (!in->password) return pl_fail(d, PL_EMISSING, "field 'password' is required");
  const char *wrong = "the e-mail address or the password is not right";
  char norm[256], key[65];
  bool valid = email_norm(in->email, norm, sizeof norm);
  if (!valid) snprintf(norm, sizeof norm, "%.200s", in->email); /* limited too, found never */
  /* The attempts: per address whether it has an account or not (so that the limit says
   * nothing about it), and per client address, before any Argon2 work. */
  pl_keyed_hash_hex(&s->keys, pl_arena_printf(a, "sign-in\n%s", norm), key);
  pl_err e = svc__begin(s, true, d);
  if (e) return e;
  e = svc__limit_take(s, pl_arena_printf(a, "email:%s", key), "sign_in", SVC_SIGNIN_ATTEMPTS, HOUR, 1, PL_EATTEMPTS,
                      "too many sign-in attempts for this account", d);
  if (!e && in->client_addr && *in->client_addr)
    e = svc__limit_take(s, pl_arena_printf(a, "client:%s", in->client_addr), "sign_in", SVC_SIGNIN_ADDRESS_ATTEMPTS,
                        HOUR, 1, PL_EATTEMPTS, "too many sign-in attempts from this address", d);
  if ((e = svc__end(s, e, d))) return e;
  st_account acct = {0};
  bool found = false;
  if (valid && strlen(in->password) <= SVC_PASSWORD_MAX) {
    if ((e = svc__begin(s, false, d))) return e;
    e = account_by_email(s, norm, a, &acct);
    svc__end(s, PL_OK, NULL);
    if (e && e != PL_ENOTFOUND) return pl_fail(d, e, "the store is unavailable");
    found = !e;
  }
  /* the same work, and the same answer, for an unknown address and a wrong password */
  bool ok = password_verify(found ? acct.password_hash : NULL, in->password);
  if (!ok) return pl_fail(d, PL_ESIGNIN, "%s", wrong);
  if (!acct.verified_at)
    return pl_fail(d, PL_EUNVERIFIED, "confirm your address first: open the link parley mailed to it");
  if (acct.totp_on) {
    if (!in->code || !*in->code)
      return pl_fail(d, PL_ETOTPNEEDED, "enter the code of your authenticator app, or a recovery code (field 'code')");
    int64_t step = 0;
    char rc[RECOVERY_CHARS + 1];
    bool recovery = recovery_norm(in->code, rc);
    if ((e = svc__begin(s, true, d))) return e;
    e = totp_attempt(s, acct.id, a, d); /* app codes and recovery codes alike */
    if (!e && recovery) {
      e = recovery_use(s, &acct, rc, a, d);
    } else if (!e) {
      e = totp_match(s, &acct, in->code, a, &step, d);
      if (!e && store_account_totp_use(s->st, acct.id, step) == PL_EEXIST)
        e = pl_fail(d, PL_ETOTPBAD, "the code is not right, or was used already: enter the app's next code");
    }
    sodium_memzero(rc, sizeof rc);
    /* a refused code is counted all the same: the bucket is kept */
    if (e == PL_ETOTPBAD) {
      pl_detail keep = *d;
      svc__end(s, PL_OK, NULL);
      *d = keep;
      return e;
    }
    if ((e = svc__end(s, e, d))) return e;
  }
  return svc__session_open(s, acct.kind, acct.subject, in->user_agent, a, session_out, expires_out, c, d);
}

/* ---- the caller's account ---------------------------------------------------------- */

pl_err svc_account_get(svc *s, const svc_caller *c, pl_arena *a, json_t **out, pl_detail *d) {
  pl_err e = svc__begin(s, false, d);
  if (e) return e;
  st_account acct;
  e = store_account_get(s->st, 0, NULL, c->kind, subject_of(c, a), a, &acct);
  if (e == PL_ENOTFOUND) {
    *out = json_pack("{s:n}", "account");
    return svc__end(s, PL_OK, d);
  }
  int64_t left = 0;
  if (!e && acct.totp_on) e = store_recovery_codes_left(s->st, acct.id, &left);
  if (!e) {
    char t1[32], t2[32];
    char *em = svc__opened(s, a, acct.email_sealed);
    *out = json_pack("{s:{s:s?,s:b,s:b,s:b,s:I,s:s,s:s}}", "account", "email", em, "verified", acct.verified_at != 0,
                     "totp", acct.totp_on, "totp_pending", acct.totp_sealed && !acct.totp_on, "recovery_codes_left",
                     (json_int_t)left, "password_set_at", pl_time_format(acct.password_at, t1), "created_at",
                     pl_time_format(acct.created_at, t2));
  }
  return svc__end(s, e, d);
}

pl_err svc_password_change(svc *s, const svc_caller *c, const char *email, const char *current, const char *password,
                           long *revoked, bool *mailed, pl_detail *d) {
  *revoked = 0;
  *mailed = false;
  pl_arena *a = pl_arena_new();
  st_account acct;
  pl_err e = svc__begin(s, false, d);
  if (e) goto out;
  pl_err g = store_account_get(s->st, 0, NULL, c->kind, subject_of(c, a), a, &acct);
  char *em = g ? NULL : svc__opened(s, a, acct.email_sealed);
  svc__end(s, PL_OK, NULL);
  /* the first password (or one of an address not confirmed yet): the account is made,
   * and signs in once the link mailed to its address is opened */
  if (g == PL_ENOTFOUND || (!g && !acct.verified_at)) {
    e = account_make(s, c->kind, subject_of(c, a), email, password, false, c->name, d);
    if (!e) *mailed = true;
    goto out;
  }
  if ((e = g)) {
    e = pl_fail(d, e, "the store is unavailable");
    goto out;
  }
  if (!current) {
    e = pl_fail(d, PL_EMISSING, "field 'current_password' is required");
    goto out;
  }
  if ((e = svc_password_check(password, em, d))) goto out;
  if (!password_verify(acct.password_hash, current)) {
    e = pl_fail(d, PL_EWRONGPASS, "the current password is not right");
    goto out;
  }
  char ph[crypto_pwhash_STRBYTES];
  if ((e = password_hash(password, ph, d))) goto out;
  if ((e = svc__begin(s, true, d))) goto out;
  e = store_account_password_set(s->st, acct.id, ph, svc_now(s));
  /* every other session ends: whoever knew the old password is signed out */
  if (!e) e = store_session_revoke_all(s->st, acct.kind, acct.subject, c->scope == ST_SCOPE_SESSION ? c->token_id : 0,
                                       svc_now(s), revoked);
  if (!e && *revoked) e = svc__revocations_bump(s);
  if (!e) e = svc__audit(s, acct.seller_id, c->name, "account.password", c->name, NULL);
  sodium_memzero(ph, sizeof ph);
  e = svc__end(s, e, d);
  if (!e && *revoked) svc__revoked_here(s);
out:
  pl_arena_free(a);
  return e;
}

/* ---- resetting a password by e-mail ------------------------------------------------ */

/* A reset link's token: "<account id>-<keyed hash of the account, its password hash and
 * when the link was asked for>". Nothing is stored: the new password changes the hash
 * (a link is good once), a newer link changes reset_at (the older is void). */
static void reset_token(svc *s, const st_account *acct, pl_arena *a, char out[96]) {
  char hex[65];
  pl_keyed_hash_hex(&s->keys,
                    pl_arena_printf(a, "password-reset\n%lld\n%s\n%lld", (long long)acct->id, acct->password_hash,
                                    (long long)acct->reset_at),
                    hex);
  snprintf(out, 96, "%lld-%s", (long long)acct->id, hex);
  sodium_memzero(hex, sizeof hex);
}

pl_err svc_password_reset_ask(svc *s, const char *email, const char *client_addr, pl_detail *d) {
  if (!email) return pl_fail(d, PL_EMISSING, "field 'email' is required");
  pl_arena *a = pl_arena_new();
  char norm[256];
  pl_err e = svc__begin(s, true, d);
  if (e) goto out;
  if (client_addr && *client_addr)
    e = svc__limit_take(s, pl_arena_printf(a, "client:%s", client_addr), "password_reset", SVC_SIGNIN_ADDRESS_ATTEMPTS,
                        HOUR, 1, PL_EATTEMPTS, "too many password resets asked from this address", d);
  st_account acct;
  pl_time now = svc_now(s);
  /* the same answer whether the address has an account or not, and whether it was mailed
   * a minute ago (one mail a minute, whoever asks) */
  if (!e && email_norm(email, norm, sizeof norm) && !account_by_email(s, norm, a, &acct) && acct.verified_at &&
      (!acct.reset_at || now - acct.reset_at >= 60)) {
    e = store_account_reset_at(s->st, acct.id, now);
    st_outbox o = {.seller_id = acct.seller_id ? acct.seller_id : "", .kind = ST_OUTBOX_NOTICE, .next_at = now,
                   .created_at = now,
                   .payload = pl_arena_printf(a, "{\"type\":\"password_reset\",\"account_id\":%lld,\"reset_at\":%lld}",
                                              (long long)acct.id, (long long)now),
                   .dedupe = pl_arena_printf(a, "reset|%lld|%lld", (long long)acct.id, (long long)now)};
    if (!e) e = store_outbox_add(s->st, &o);
    if (e == PL_EEXIST) e = PL_OK;
  }
  e = svc__end(s, e, d);
out:
  pl_arena_free(a);
  return e;
}

static const char *bad_link = "the link is not valid, or is older than an hour: ask for a new one";

/* Whether token is a reset link of an account, still valid; the account read into acct.
 * One answer (PL_EBADLINK) for every reason. */
static pl_err check_reset(svc *s, const char *token, pl_arena *a, st_account *acct, pl_detail *d) {
  long long id = link_id(token);
  if (!id) return pl_fail(d, PL_EBADLINK, "%s", bad_link);
  pl_err e = store_account_get(s->st, id, NULL, 0, NULL, a, acct);
  if (e && e != PL_ENOTFOUND) return e;
  bool ok = false;
  if (!e && acct->reset_at && svc_now(s) - acct->reset_at <= SVC_RESET_SECONDS) {
    char want[96];
    reset_token(s, acct, a, want);
    ok = link_matches(want, token);
  }
  return ok ? PL_OK : pl_fail(d, PL_EBADLINK, "%s", bad_link);
}

pl_err svc_password_reset_confirm(svc *s, const char *token, const char *password, pl_detail *d) {
  pl_arena *a = pl_arena_new();
  st_account acct;
  char ph[crypto_pwhash_STRBYTES] = "";
  long revoked = 0;
  /* the link first, from a read: a wrong one takes no writer's turn and no Argon2 work */
  pl_err e = svc__begin(s, false, d);
  if (e) goto out;
  e = check_reset(s, token, a, &acct, d);
  char *em = e ? NULL : svc__opened(s, a, acct.email_sealed);
  svc__end(s, PL_OK, NULL);
  if (e) goto out;
  if ((e = svc_password_check(password, em, d)) || (e = password_hash(password, ph, d))) goto out;
  if ((e = svc__begin(s, true, d))) goto out;
  e = check_reset(s, token, a, &acct, d); /* again: it may have been used since */
  pl_time now = svc_now(s);
  if (!e) e = store_account_password_set(s->st, acct.id, ph, now);
  if (!e) e = store_account_reset_at(s->st, acct.id, 0);
  if (!e) e = store_session_revoke_all(s->st, acct.kind, acct.subject, 0, now, &revoked);
  if (!e) e = svc__revocations_bump(s);
  if (!e)
    e = svc__audit(s, acct.seller_id, "link", "account.password_reset",
                   pl_arena_printf(a, "%s:%s", st_principal_kind_name(acct.kind), acct.subject),
                   json_pack("{s:I}", "sessions_revoked", (json_int_t)revoked));
  e = svc__end(s, e, d);
  if (!e) svc__revoked_here(s);
out:
  sodium_memzero(ph, sizeof ph);
  pl_arena_free(a);
  return e;
}

/* ---- the second factor ------------------------------------------------------------- */

static void url_escape(const char *in, char *out, size_t cap) {
  static const char hex[] = "0123456789ABCDEF";
  size_t j = 0;
  for (size_t i = 0; in[i] && j + 4 < cap; i++) {
    unsigned char ch = (unsigned char)in[i];
    if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || strchr("-._~", ch)) {
      out[j++] = (char)ch;
    } else {
      out[j++] = '%';
      out[j++] = hex[ch >> 4];
      out[j++] = hex[ch & 15];
    }
  }
  out[j] = '\0';
}

pl_err svc_totp_begin(svc *s, const svc_caller *c, pl_arena *a, json_t **out, pl_detail *d) {
  pthread_once(&once, init_once);
  unsigned char raw[TOTP_SECRET_BYTES];
  randombytes_buf(raw, sizeof raw);
  char *b32 = NULL;
  size_t len = 0;
  if (oath_base32_encode((const char *)raw, sizeof raw, &b32, &len) != OATH_OK)
    return pl_fail(d, PL_ENOMEM, "no memory for a secret; retry later");
  sodium_memzero(raw, sizeof raw);
  char *sealed = svc__seal(s, b32, NULL, NULL);
  st_account acct;
  pl_err e = sealed ? svc__begin(s, true, d) : pl_fail(d, PL_ECRYPTO, "the secret could not be sealed");
  if (!e) {
    e = my_account(s, c, a, &acct, d);
    if (!e && acct.totp_on)
      e = pl_fail(d, PL_ECONFLICT, "two-step sign-in is on already: turn it off first to enrol another app");
    if (!e) e = store_account_totp_set(s->st, acct.id, sealed, false, 0);
    char *em = e ? NULL : svc__opened(s, a, acct.email_sealed);
    if (!e) {
      char label[400];
      url_escape(em ? em : "", label, sizeof label);
      *out = json_pack("{s:s,s:s,s:i,s:i,s:s}", "secret", b32, "otpauth_uri",
                       pl_arena_printf(a, "otpauth://totp/parley:%s?secret=%s&issuer=parley&algorithm=SHA1&digits=%d&period=%d",
                                       label, b32, TOTP_DIGITS, TOTP_STEP),
                       "digits", TOTP_DIGITS, "period", TOTP_STEP, "algorithm", "SHA1");
    }
    e = svc__end(s, e, d);
    if (e && *out) {
      json_decref(*out);
      *out = NULL;
    }
  }
  sodium_memzero(b32, len);
  free(b32);
  free(sealed);
  return e;
}

/* What a code of the app does to the caller's second factor. */
typedef enum { TOTP_ON, TOTP_OFF, TOTP_RENEW } totp_change;

/* Turns the caller's second factor on (with a code of the new secret, and a new set of
 * recovery codes) or off (and its recovery codes with it), or gives it a new set of
 * recovery codes; the code's attempts are limited, and a code is good once. *codes (in
 * out_a's caller's keeping): the recovery codes made, NULL on failure. */
static pl_err totp_with_code(svc *s, const svc_caller *c, const char *code, totp_change what, pl_arena *out_a,
                             json_t **codes, pl_detail *d) {
  if (codes) *codes = NULL;
  if (!code) return pl_fail(d, PL_EMISSING, "field 'code' is required");
  pl_arena *a = pl_arena_new();
  st_account acct;
  int64_t step = 0;
  pl_err e = svc__begin(s, true, d);
  if (e) goto out;
  e = my_account(s, c, a, &acct, d);
  if (!e && what == TOTP_ON && (!acct.totp_sealed || acct.totp_on))
    e = pl_fail(d, PL_ECONFLICT, acct.totp_on ? "two-step sign-in is on already" : "enrol first (POST /v1/me/totp)");
  if (!e && what != TOTP_ON && !acct.totp_on) e = pl_fail(d, PL_ECONFLICT, "two-step sign-in is not on");
  if (!e) e = totp_attempt(s, acct.id, a, d);
  /* the app's code: a recovery code neither switches nor renews */
  if (!e) e = totp_match(s, &acct, code, a, &step, d);
  if (!e && what == TOTP_RENEW && store_account_totp_use(s->st, acct.id, step) == PL_EEXIST)
    e = pl_fail(d, PL_ETOTPBAD, "the code is not right, or was used already: enter the app's next code");
  if (e == PL_ETOTPBAD) { /* the attempt is counted: keep the bucket */
    pl_detail keep = *d;
    svc__end(s, PL_OK, NULL);
    *d = keep;
    goto out;
  }
  if (!e && what != TOTP_RENEW)
    e = store_account_totp_set(s->st, acct.id, what == TOTP_ON ? acct.totp_sealed : NULL, what == TOTP_ON,
                               what == TOTP_ON ? step : 0);
  if (!e) e = what == TOTP_OFF ? store_recovery_codes_put(s->st, acct.id, NULL, 0) : recovery_new(s, acct.id, out_a, codes);
  static const char *const action[] = {"account.totp_on", "account.totp_off", "account.recovery_codes_renewed"};
  if (!e) e = svc__audit(s, acct.seller_id, c->name, action[what], c->name, NULL);
  e = svc__end(s, e, d);
out:
  if (e && codes) { /* not committed: the codes never worked */
    json_decref(*codes);
    *codes = NULL;
  }
  pl_arena_free(a);
  return e;
}

pl_err svc_totp_confirm(svc *s, const svc_caller *c, const char *code, pl_arena *a, json_t **recovery_codes,
                        pl_detail *d) {
  return totp_with_code(s, c, code, TOTP_ON, a, recovery_codes, d);
}

pl_err svc_totp_disable(svc *s, const svc_caller *c, const char *code, pl_detail *d) {
  return totp_with_code(s, c, code, TOTP_OFF, NULL, NULL, d);
}

pl_err svc_recovery_codes_renew(svc *s, const svc_caller *c, const char *code, pl_arena *a, json_t **recovery_codes,
                                pl_detail *d) {
  return totp_with_code(s, c, code, TOTP_RENEW, a, recovery_codes, d);
}

/* ---- the caller's sessions --------------------------------------------------------- */

static json_t *time_or_null(pl_time t) {
  char buf[32];
  return t ? json_string(pl_time_format(t, buf)) : json_null();
}

pl_err svc_sessions_list(svc *s, const svc_caller *c, pl_arena *a, json_t **out, pl_detail *d) {
  pl_err e = svc__begin(s, false, d);
  if (e) return e;
  st_token *t;
  size_t n = 0;
  e = store_session_list(s->st, c->kind, subject_of(c, a), svc_now(s), SESSIONS_MAX, a, &t, &n);
  if (!e) {
    json_t *l = json_array();
    for (size_t i = 0; i < n; i++) {
      json_t *j = json_pack("{s:I,s:o,s:o,s:o,s:s?,s:b,s:s}", "id", (json_int_t)t[i].id, "created_at",
                            time_or_null(t[i].created_at), "last_used_at", time_or_null(t[i].last_used_at),
                            "expires_at", time_or_null(t[i].expires_at), "user_agent", t[i].user_agent, "current",
                            c->scope == ST_SCOPE_SESSION && t[i].id == c->token_id, "signed_in_with",
                            t[i].parent_id ? "token" : "password");
      json_array_append_new(l, j);
    }
    *out = json_pack("{s:o}", "sessions", l);
  }
  return svc__end(s, e, d);
}

pl_err svc_session_revoke_mine(svc *s, const svc_caller *c, int64_t id, pl_detail *d) {
  pl_arena *a = pl_arena_new();
  st_token t;
  long n = 0;
  pl_err e = svc__begin(s, true, d);
  if (e) goto out;
  e = store_token_get(s->st, NULL, id, a, &t);
  /* only the caller's own sessions exist here */
  if (!e && (t.kind != c->kind || t.scope != ST_SCOPE_SESSION || strcmp(t.subject, subject_of(c, a)) || t.revoked_at))
    e = PL_ENOTFOUND;
  if (e == PL_ENOTFOUND) e = pl_fail(d, PL_ENOTFOUND, "no session %lld of yours", (long long)id);
  if (!e) e = store_token_revoke(s->st, id, 0, NULL, svc_now(s), &n);
  if (!e) e = svc__revocations_bump(s);
  e = svc__end(s, e, d);
  if (!e) svc__revoked_here(s);
out:
  pl_arena_free(a);
  return e;
}

pl_err svc_sessions_revoke_all(svc *s, const svc_caller *c, bool keep_current, long *revoked, pl_detail *d) {
  *revoked = 0;
  pl_arena *a = pl_arena_new();
  pl_err e = svc__begin(s, true, d);
  if (!e) {
    int64_t keep = keep_current && c->scope == ST_SCOPE_SESSION ? c->token_id : 0;
    e = store_session_revoke_all(s->st, c->kind, subject_of(c, a), keep, svc_now(s), revoked);
    if (!e) e = svc__revocations_bump(s);
    if (!e) e = svc__audit(s, c->seller_id, c->name, "account.sign_out_everywhere", c->name,
                           json_pack("{s:I}", "sessions_revoked", (json_int_t)*revoked));
    e = svc__end(s, e, d);
    if (!e) svc__revoked_here(s);
  }
  pl_arena_free(a);
  return e;
}


/* ---- invitations ----------------------------------------------------------------------- */

/* An invitation link's token: "<id>-<keyed hash of the invitation: when it was made, to
 * what and which role>"; nothing stored, good once (accepted_at), 7 days. */
static void invite_token(svc *s, const st_invitation *v, pl_arena *a, char out[96]) {
  char hex[65];
  pl_keyed_hash_hex(&s->keys,
                    pl_arena_printf(a, "invitation\n%lld\n%lld\n%s\n%s\n%s", (long long)v->id,
                                    (long long)v->created_at, st_principal_kind_name(v->kind),
                                    v->seller_id ? v->seller_id : "", v->role ? v->role : ""),
                    hex);
  snprintf(out, 96, "%lld-%s", (long long)v->id, hex);
  sodium_memzero(hex, sizeof hex);
}

/* Who may invite, and to what: an owner to their seller's team; the operator to any
 * seller's team (seller_id), or to the operators (role "operator", no seller). *seller is
 * where the invitation goes (NULL: the operators). */
static pl_err invite_scope(const svc_caller *c, const char *seller_id, const char **seller, pl_detail *d) {
  if (c->kind == ST_PRINCIPAL_AGENT && c->agent_role == ST_ROLE_OWNER) {
    if (seller_id && strcmp(seller_id, c->seller_id)) return pl_fail(d, PL_ENOTFOUND, "no seller %s", seller_id);
    *seller = c->seller_id;
    return PL_OK;
  }
  if (c->kind == ST_PRINCIPAL_OPERATOR) {
    *seller = seller_id;
    return PL_OK;
  }
  return pl_fail(d, PL_EFORBIDDEN, "only a seller's owner and the operator invite people");
}

static const char *invite_state(const st_invitation *v, pl_time now) {
  return v->accepted_at ? "accepted" : v->revoked_at ? "revoked" : v->expires_at <= now ? "expired" : "pending";
}

static json_t *invite_json(svc *s, const st_invitation *v, pl_arena *a) {
  char t1[32], t2[32];
  char *em = svc__opened(s, a, v->email_sealed);
  json_t *j = json_pack("{s:I,s:s?,s:s,s:s?,s:s,s:s,s:s,s:s}", "id", (json_int_t)v->id, "email", em, "role",
                        v->kind == ST_PRINCIPAL_OPERATOR ? "operator" : v->role, "seller_id", v->seller_id,
                        "invited_by", v->invited_by, "created_at", pl_time_format(v->created_at, t1), "expires_at",
                        pl_time_format(v->expires_at, t2), "state", invite_state(v, svc_now(s)));
  if (em) sodium_memzero(em, strlen(em));
  return j;
}

pl_err svc_invitation_create(svc *s, const svc_caller *c, const char *email, const char *role, const char *seller_id,
                             pl_arena *a, json_t **out, pl_detail *d) {
  const char *seller = NULL;
  pl_err e = invite_scope(c, seller_id, &seller, d);
  if (e) return e;
  char norm[256], hash[65];
  if (!email) return pl_fail(d, PL_EMISSING, "field 'email' is required");
  if (!email_norm(email, norm, sizeof norm)) return pl_fail(d, PL_EINVAL, "'%s' is not an e-mail address", email);
  if (!role) return pl_fail(d, PL_EMISSING, "field 'role' is required");
  st_agent_role r;
  bool op = !strcmp(role, "operator");
  if (op && (c->kind != ST_PRINCIPAL_OPERATOR || seller))
    return pl_fail(d, PL_EINVAL, "only the operator invites operators, and to no seller");
  if (!op && st_agent_role_from_name(role, &r))
    return pl_fail(d, PL_EINVAL, "role must be owner, agent or read_only%s",
                   c->kind == ST_PRINCIPAL_OPERATOR ? " (with seller_id), or operator" : "");
  if (!op && !seller) return pl_fail(d, PL_EMISSING, "field 'seller_id' is required to invite to a seller's team");
  char *sealed = svc__seal(s, norm, norm, hash);
  if (!sealed) return pl_fail(d, PL_ECRYPTO, "the address could not be sealed");
  pl_time now = svc_now(s);
  st_invitation v = {.kind = op ? ST_PRINCIPAL_OPERATOR : ST_PRINCIPAL_AGENT, .seller_id = (char *)seller,
                     .role = op ? NULL : (char *)role, .email_hash = hash, .email_sealed = sealed,
                     .invited_by = (char *)c->name, .created_at = now, .expires_at = now + SVC_INVITE_SECONDS};
  int64_t pending = 0;
  if ((e = svc__begin(s, true, d))) goto out;
  st_seller sl;
  if (seller && store_seller_get(s->st, seller, NULL, a, &sl)) e = pl_fail(d, PL_ENOTFOUND, "no seller %s", seller);
  if (!e) e = store_invitation_count(s->st, seller, now, &pending);
  if (!e && pending >= SVC_INVITES_MAX)
    e = pl_fail(d, PL_EINVITES, "%lld invitations are pending, the most there may be; revoke some first",
                (long long)pending);
  if (!e) e = store_invitation_add(s->st, &v);
  st_outbox o = {.seller_id = seller ? (char *)seller : "", .kind = ST_OUTBOX_NOTICE, .next_at = now, .created_at = now,
                 .payload = pl_arena_printf(a, "{\"type\":\"invitation\",\"invitation_id\":%lld}", (long long)v.id),
                 .dedupe = pl_arena_printf(a, "invitation|%lld", (long long)v.id)};
  if (!e) e = store_outbox_add(s->st, &o);
  if (!e)
    e = svc__audit(s, seller, c->name, "invitation.create", pl_arena_printf(a, "invitation:%lld", (long long)v.id),
                   json_pack("{s:s}", "role", role));
  if (!e) *out = json_pack("{s:o}", "invitation", invite_json(s, &v, a));
  e = svc__end(s, e, d);
  if (e && *out) {
    json_decref(*out);
    *out = NULL;
  }
out:
  free(sealed);
  return e;
}

pl_err svc_invitation_list(svc *s, const svc_caller *c, const char *seller_id, pl_arena *a, json_t **out,
                           pl_detail *d) {
  const char *seller = NULL;
  pl_err e = invite_scope(c, seller_id, &seller, d);
  if (e || (e = svc__begin(s, false, d))) return e;
  st_invitation *v;
  size_t n = 0;
  e = store_invitation_list(s->st, seller, false, svc_now(s), SVC_INVITES_MAX * 2, a, &v, &n);
  if (!e) {
    json_t *l = json_array();
    for (size_t i = 0; i < n; i++) json_array_append_new(l, invite_json(s, &v[i], a));
    *out = json_pack("{s:o}", "invitations", l);
  }
  return svc__end(s, e, d);
}

pl_err svc_invitation_revoke(svc *s, const svc_caller *c, int64_t id, pl_detail *d) {
  pl_arena *a = pl_arena_new();
  st_invitation v;
  const char *seller = NULL;
  pl_err e = invite_scope(c, NULL, &seller, d);
  if (e || (e = svc__begin(s, true, d))) goto out;
  e = store_invitation_get(s->st, id, a, &v);
  /* an owner sees their seller's invitations only */
  if (!e && c->kind == ST_PRINCIPAL_AGENT && (!v.seller_id || strcmp(v.seller_id, c->seller_id))) e = PL_ENOTFOUND;
  if (!e) e = store_invitation_end(s->st, id, false, svc_now(s));
  if (e == PL_ENOTFOUND) e = pl_fail(d, PL_ENOTFOUND, "no pending invitation %lld", (long long)id);
  if (!e)
    e = svc__audit(s, v.seller_id, c->name, "invitation.revoke", pl_arena_printf(a, "invitation:%lld", (long long)id),
                   NULL);
  e = svc__end(s, e, d);
out:
  pl_arena_free(a);
  return e;
}

static const char *bad_invite = "the invitation is not valid: it was used, revoked or is older than 7 days";

/* The invitation of token, pending at now; PL_EBADLINK (one text) otherwise. */
static pl_err check_invite(svc *s, const char *token, pl_arena *a, st_invitation *v, pl_detail *d) {
  long long id = link_id(token);
  if (!id) return pl_fail(d, PL_EBADLINK, "%s", bad_invite);
  pl_err e = store_invitation_get(s->st, id, a, v);
  if (e && e != PL_ENOTFOUND) return e;
  bool ok = false;
  if (!e && !strcmp(invite_state(v, svc_now(s)), "pending")) {
    char want[96];
    invite_token(s, v, a, want);
    ok = link_matches(want, token);
  }
  return ok ? PL_OK : pl_fail(d, PL_EBADLINK, "%s", bad_invite);
}

pl_err svc_invitation_accept(svc *s, const char *token, const char *name, const char *password, const char *user_agent,
                             pl_arena *a, char **session_out, pl_time *expires_out, svc_caller *c, pl_detail *d) {
  *session_out = NULL;
  st_invitation v;
  char ph[crypto_pwhash_STRBYTES] = "";
  /* the link first, from a read: a wrong one takes no writer's turn and no Argon2 work */
  pl_err e = svc__begin(s, false, d);
  if (e) return e;
  e = check_invite(s, token, a, &v, d);
  char *em = e ? NULL : svc__opened(s, a, v.email_sealed);
  svc__end(s, PL_OK, NULL);
  if (e) return e;
  if (!name || !*name) return pl_fail(d, PL_EMISSING, "field 'name' is required");
  if ((e = svc__check_name("name", name, d))) return e;
  if ((e = svc_password_check(password, em, d)) || (e = password_hash(password, ph, d))) return e;
  /* the address is the person's: the invitation's link reached it */
  st_account acct = {.kind = v.kind, .seller_id = v.seller_id, .email_hash = v.email_hash,
                     .email_sealed = v.email_sealed, .password_hash = ph, .password_at = svc_now(s),
                     .verified_at = svc_now(s)};
  if ((e = svc__begin(s, true, d))) goto out;
  e = check_invite(s, token, a, &v, d); /* again: it may have been used since */
  if (!e) e = store_invitation_end(s->st, v.id, true, svc_now(s));
  if (e == PL_ENOTFOUND) e = pl_fail(d, PL_EBADLINK, "%s", bad_invite);
  if (!e && v.kind == ST_PRINCIPAL_AGENT) {
    st_agent_role r = ST_ROLE_AGENT;
    st_agent_role_from_name(v.role, &r);
    st_agent ag = {.seller_id = v.seller_id, .name = (char *)name, .role = r};
    int64_t id = 0;
    e = store_agent_add(s->st, &ag, &id);
    acct.subject = pl_arena_printf(a, "%lld", (long long)id);
  } else if (!e) {
    /* an operator is known by name: one that a token already carries is someone else's,
     * whose sessions and audit entries the new operator must not share */
    bool taken = false;
    e = store_principal_known(s->st, ST_PRINCIPAL_OPERATOR, name, &taken);
    if (!e && taken) e = pl_fail(d, PL_EEXIST, "that operator name is taken: choose another");
    acct.subject = (char *)name;
  }
  if (!e) {
    e = account_add(s, &acct, em ? em : "", a, d);
    if (e == PL_EEXIST)
      e = pl_fail(d, PL_EEXIST, v.kind == ST_PRINCIPAL_OPERATOR ? "that address, or that operator name, has an account already"
                                                                 : "that address has an account already: sign in with it");
  }
  if (!e)
    e = svc__audit(s, v.seller_id, "link", "invitation.accept", pl_arena_printf(a, "invitation:%lld", (long long)v.id),
                   json_pack("{s:s,s:s}", "principal", st_principal_kind_name(v.kind), "subject", acct.subject));
  e = svc__end(s, e, d);
  if (!e) e = svc__session_open(s, acct.kind, acct.subject, user_agent, a, session_out, expires_out, c, d);
out:
  sodium_memzero(ph, sizeof ph);
  return e;
}

/* ---- the mails (svc_notify.c composes notices; these are an account's) ---------------- */

pl_err svc__account_notice(svc *s, const char *type, json_t *p, pl_arena *a, svc_notice *out) {
  if (!strcmp(type, "password_reset")) {
    st_account acct;
    pl_err e = store_account_get(s->st, json_integer_value(json_object_get(p, "account_id")), NULL, 0, NULL, a, &acct);
    /* a newer link, or a reset since, makes this one void */
    if (!e && (!acct.reset_at || acct.reset_at != json_integer_value(json_object_get(p, "reset_at")))) e = PL_ENOTFOUND;
    if (e) return e;
    char tok[96];
    reset_token(s, &acct, a, tok);
    out->rcpt = svc__opened(s, a, acct.email_sealed);
    out->subject = "Reset your parley password";
    out->text = pl_arena_printf(a,
                                "Someone asked to reset the password of your parley account. To choose a new one, "
                                "open this link within an hour:\n%s\n\nIf it was not you, ignore this mail: your "
                                "password stays as it is.",
                                svc__link(s, a, pl_arena_printf(a, "reset-password?token=%s", tok)));
    sodium_memzero(tok, sizeof tok);
    return out->rcpt ? PL_OK : PL_ENOTFOUND;
  }
  if (!strcmp(type, "account_confirm")) {
    st_account acct;
    pl_err e = store_account_get(s->st, json_integer_value(json_object_get(p, "account_id")), NULL, 0, NULL, a, &acct);
    /* confirmed since, or another account since (an id again): nothing to say */
    if (!e && (acct.verified_at || acct.created_at != json_integer_value(json_object_get(p, "created_at"))))
      e = PL_ENOTFOUND;
    if (e) return e;
    char tok[96];
    confirm_token(s, &acct, a, tok);
    out->rcpt = svc__opened(s, a, acct.email_sealed);
    out->subject = "Confirm your parley sign-in address";
    out->text = pl_arena_printf(a,
                                "Someone set this address and a password to sign in to parley. If it was you, open "
                                "this link within 48 hours to confirm the address; only then does the password sign "
                                "in:\n%s\n\nIf it was not you, ignore this mail: nothing signs in with it.",
                                svc__link(s, a, pl_arena_printf(a, "confirm-account?token=%s", tok)));
    sodium_memzero(tok, sizeof tok);
    return out->rcpt ? PL_OK : PL_ENOTFOUND;
  }
  if (!strcmp(type, "invitation")) {
    st_invitation v;
    pl_err e = store_invitation_get(s->st, json_integer_value(json_object_get(p, "invitation_id")), a, &v);
    /* a revoked, accepted or expired invitation is mailed no more */
    if (!e && strcmp(invite_state(&v, svc_now(s)), "pending")) e = PL_ENOTFOUND;
    if (e) return e;
    char tok[96];
    invite_token(s, &v, a, tok);
    out->rcpt = svc__opened(s, a, v.email_sealed);
    const char *to = v.kind == ST_PRINCIPAL_OPERATOR
                         ? "the marketplace's operators"
                         : pl_arena_printf(a, "the team of %s on %s (as %s)", out->seller_name ? out->seller_name : v.seller_id,
                                           out->marketplace, v.role);
    out->subject = "You are invited to parley";
    out->text = pl_arena_printf(a,
                                "You are invited to join %s in parley, the marketplace's messaging centre. To accept, "
                                "open this link within 7 days, choose your name and a password:\n%s\n\nIf you did "
                                "not expect it, ignore this mail.",
                                to, svc__link(s, a, pl_arena_printf(a, "accept-invitation?token=%s", tok)));
    sodium_memzero(tok, sizeof tok);
    return out->rcpt ? PL_OK : PL_ENOTFOUND;
  }
  return PL_EINVAL;
}
