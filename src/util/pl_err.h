/* pl_err.h - the one error enum of parley, and its strerror.
 *
 * Codes are negative; PL_OK is 0. Each code has a stable machine name (used in the
 * JSON API as error.code) and a default human message. The HTTP layer maps codes to
 * status codes in one table (http_status_for()). */
#ifndef PL_ERR_H
#define PL_ERR_H

#include <stddef.h>

#define PL_ERR_MAP(X)                                                                  \
  X(PL_EINVAL,         -1, "invalid_input",        "the request is not valid")          \
  X(PL_ENOTFOUND,      -2, "not_found",            "no such resource")                  \
  X(PL_EEXIST,         -3, "already_exists",       "the resource already exists")       \
  X(PL_EUNAUTH,        -4, "unauthorized",         "missing or invalid credentials")    \
  X(PL_EFORBIDDEN,     -5, "forbidden",            "not allowed for this caller")       \
  X(PL_ETOOLONG,       -6, "text_too_long",        "the text is too long")              \
  X(PL_ETOOLARGE,      -7, "payload_too_large",    "the request body is too large")     \
  X(PL_EUTF8,          -8, "invalid_utf8",         "the text is not valid UTF-8")       \
  X(PL_EJSON,          -9, "malformed_json",       "the body is not valid JSON")        \
  X(PL_ETYPE,         -10, "wrong_type",           "a field has the wrong type")        \
  X(PL_EMISSING,      -11, "missing_field",        "a required field is missing")       \
  X(PL_ECANCELED,     -12, "order_canceled",       "messaging is unavailable for canceled orders") \
  X(PL_EPOLICY,       -13, "policy_violation",     "the message breaks the communication policy") \
  X(PL_ECONFLICT,     -14, "conflict",             "the resource changed; reload and retry") \
  X(PL_ERATELIMIT,    -15, "rate_limited",         "too many requests")                 \
  X(PL_ESTORE,        -16, "store_unavailable",    "the store is unavailable")          \
  X(PL_ECRYPTO,       -17, "crypto_failure",       "a cryptographic operation failed")  \
  X(PL_EIO,           -18, "io_error",             "an input/output operation failed")  \
  X(PL_ENOTALLOWED,   -19, "messaging_unavailable","messaging is not available here")   \
  X(PL_EEMPTY,        -20, "empty_text",           "the text is empty")                 \
  X(PL_EINTERNAL,     -21, "internal_error",       "an internal error occurred")        \
  X(PL_EMETHOD,       -22, "method_not_allowed",   "the method is not allowed here")    \
  X(PL_ETOOMANY,      -23, "too_many",             "too many items")                    \
  X(PL_EUNSUPPORTED,  -24, "unsupported_media_type", "the file type is not accepted")   \
  X(PL_EMISMATCH,     -25, "media_type_mismatch",  "the file name does not match its content") \
  X(PL_EUNREADABLE,   -26, "unreadable_attachment","the attachment could not be read") \
  X(PL_EQUOTA,        -27, "quota_exceeded",       "the seller's daily message quota is used up") \
  X(PL_ERESTRICTED,   -28, "messaging_restricted", "proactive messaging is restricted for this seller") \
  X(PL_EALREADY,      -29, "already_requested",    "a review was already requested for this order") \
  X(PL_EWINDOW,       -30, "outside_window",       "not allowed at this time for this order") \
  X(PL_EACTION,       -31, "action_unavailable",   "this action is not available for this order") \
  X(PL_ECONTROL,      -32, "control_character",    "the text holds a control character") \
  X(PL_ETEAMONLY,     -33, "team_only_filter",     "this filter is for the seller's team") \
  X(PL_ESTREAMS,      -34, "too_many_streams",     "too many live-event streams for this caller") \
  X(PL_EHEADERS,      -35, "headers_too_large",    "the request line and headers are too large") \
  X(PL_EEXPIRED,      -50, "token_expired",        "the token has expired")             \
  X(PL_EREVOKED,      -51, "token_revoked",        "the token was revoked")             \
  X(PL_EDEACTIVATED,  -52, "agent_deactivated",    "the agent was deactivated")         \
  X(PL_ESCOPE,        -53, "wrong_token_scope",    "the token is not valid on this interface") \
  X(PL_ERENEW,        -54, "session_not_renewable","a session token cannot sign in again") \
  X(PL_ENOAGENT,      -55, "unknown_agent",        "no such active agent on this seller's team") \
  X(PL_EMSGLIMIT,     -36, "message_limit_exceeded", "too many messages; wait before sending more") \
  X(PL_ETHREADLIMIT,  -37, "thread_limit_exceeded", "too many new conversations; wait before starting more") \
  X(PL_EUPLOADLIMIT,  -38, "upload_limit_exceeded", "too many uploads; wait before uploading more") \
  X(PL_ERENDERLONG,   -39, "rendered_text_too_long", "the filled-in template is longer than a message may be") \
  X(PL_ENOMEM,        -40, "out_of_memory",        "the server is short of memory; retry later") \
  X(PL_EIDEMREUSED,   -41, "idempotency_key_reused", "this Idempotency-Key was used for a different request") \
  X(PL_EIDEMBUSY,     -42, "idempotency_key_in_use", "a request with this Idempotency-Key is still being processed") \
  X(PL_EIDEMKEY,      -43, "invalid_idempotency_key", "the Idempotency-Key header is not valid") \
  X(PL_EPAGE,         -44, "invalid_page",         "the page parameters are not valid") \
  X(PL_EPURPOSE,      -45, "prohibited_purpose",   "a conversation may not start with a message of this purpose") \
  X(PL_ESTOPPING,     -46, "server_stopping",      "the server is stopping; retry on another node") \
  X(PL_EBADLINK,      -47, "invalid_token",        "the link is not valid, or has expired") \
  X(PL_ENOADDRESS,    -48, "no_address",           "no e-mail address to send to") \
  X(PL_ESIGNIN,       -56, "sign_in_failed",       "the e-mail address or the password is not right") \
  X(PL_EATTEMPTS,     -57, "too_many_attempts",    "too many sign-in attempts; wait before trying again") \
  X(PL_EWEAKPASS,     -58, "weak_password",        "the password is too short or too easy to guess") \
  X(PL_EPASSLONG,     -59, "password_too_long",    "the password is longer than 256 bytes") \
  X(PL_ETOTPNEEDED,   -60, "totp_required",        "the account asks for a code of its authenticator app") \
  X(PL_ETOTPBAD,      -61, "totp_invalid",         "the authenticator code is not right, or was used already") \
  X(PL_EWRONGPASS,    -62, "wrong_password",       "the current password is not right") \
  X(PL_EINVITES,      -63, "too_many_invitations", "too many pending invitations") \
  X(PL_EUNVERIFIED,   -64, "address_unverified",   "the account's address is not confirmed yet")

typedef enum {
  PL_OK = 0,
#define PL__ERR_ENUM(name, val, code, msg) name = val,
  PL_ERR_MAP(PL__ERR_ENUM)
#undef PL__ERR_ENUM
} pl_err;

/* Default human message for an error code; never NULL. */
const char *pl_strerror(pl_err e);
/* Stable machine name for an error code ("invalid_input"...); never NULL. */
const char *pl_errname(pl_err e);

/* A caller-supplied detail: the specific human message of one failure, and what a client
 * can act on without reading it (the API puts both in its error body, docs/api.md). */
typedef struct {
  char msg[512];
  long long retry_after; /* seconds until the same request can pass; 0: not said */
  long long at;          /* when the earlier event that refuses this happened (Unix seconds); 0: none */
  long long until;       /* when the state that refuses this ends (Unix seconds); 0: not said */
} pl_detail;

/* Set the detail's message (printf-style) and return e, so that callers can write
 * `return pl_fail(d, PL_EINVAL, "field %s ...", name);`. d may be NULL. */
pl_err pl_fail(pl_detail *d, pl_err e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Sets d->retry_after (d may be NULL) and returns e: `return pl_retry_after(d, pl_fail(...), s);`. */
static inline pl_err pl_retry_after(pl_detail *d, pl_err e, long long seconds) {
  if (d) d->retry_after = seconds;
  return e;
}
/* Set d->at, d->until (d may be NULL) and return e. */
static inline pl_err pl_at(pl_detail *d, pl_err e, long long at) {
  if (d) d->at = at;
  return e;
}
static inline pl_err pl_until(pl_detail *d, pl_err e, long long until) {
  if (d) d->until = until;
  return e;
}

#endif
