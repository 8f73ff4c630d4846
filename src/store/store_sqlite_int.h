/* store_sqlite_int.h - what the files of the SQLite backend share. */
#ifndef PL_STORE_SQLITE_INT_H
#define PL_STORE_SQLITE_INT_H

#include <sqlite3.h>

#include "store/store.h"
#include "store/store_row.h"
#include "store/store_sql.h"

/* Statement slots for the files beyond store_sqlite.c; each file owns a range. */
#define SQ_MORE_STATEMENTS 192
#define SQ_SLOT_SLA 0   /* store_sqlite_sla.c: 0..23 */
#define SQ_SLOT_SPAPI 24 /* store_sqlite_spapi.c: 24..39 */
#define SQ_SLOT_MAIL 40  /* store_sqlite_mail.c: 40..63 */
#define SQ_SLOT_TEAM 64  /* store_sqlite_team.c: 64..95 */
#define SQ_SLOT_ATTACH 96 /* store_sqlite_attach.c: 96..111 */
#define SQ_SLOT_AUDIT 112 /* store_sqlite_audit.c: 112..127 */
#define SQ_SLOT_IDENT 128 /* store_sqlite_ident.c: 128..143 */
#define SQ_SLOT_SLA2 144 /* store_sqlite_sla.c, one event at a time: 144..159 */
#define SQ_SLOT_LIMITS 160 /* store_sqlite_limits.c: 160..175 */
#define SQ_SLOT_KEYS 176 /* store_sqlite_keys.c: 176..191 */

typedef struct sq_store sq_store;
/* The connection of the calling thread's transaction on s: a reader connection during a
 * read-only transaction, else the writer (store_sqlite.c sq_begin). */
sq_store *sq__conn(store *s);
#define SQ(s) sq__conn(s)

/* The cached statement of a slot, prepared from text on first use, reset and with its
 * bindings cleared; NULL when it does not prepare. */
sqlite3_stmt *sq__stmt(sq_store *q, int slot, const char *text);
sqlite3 *sq__db(sq_store *q);
void sq__bind_text(sqlite3_stmt *st, int i, const char *v);
char *sq__col_text(pl_arena *a, sqlite3_stmt *st, int i);
/* A text column in place (NULL for SQL NULL), valid until the next step: for state names. */
const char *sq__col_cstr(sqlite3_stmt *st, int i);
/* Fills out, a struct of row's type, from the columns of st's current row that begin at
 * first, through the row's column table (store_row.h); text goes into a. */
void sq__read_row(pl_arena *a, sqlite3_stmt *st, int first, const st_row *row, void *out);
/* Reads a seller row whose columns are id, marketplace_id, name, email_sealed, alias,
 * created_at (in that order). */
void sq__read_seller(pl_arena *a, sqlite3_stmt *st, st_seller *o);
/* Reads a buyer row: id, name, locale, email_sealed, email_hash, opt_out. */
void sq__read_buyer(pl_arena *a, sqlite3_stmt *st, st_buyer *o);
/* Group commit, for tests and benchmarks: a hook run by the syncing thread before each
 * fdatasync, and how many write transactions committed, were made durable, and how many
 * fdatasync calls that took. */
void sq__group_commit_watch(store *s, void (*hook)(void *ctx), void *ctx);
void sq__group_commit_counts(store *s, uint64_t *committed, uint64_t *synced, uint64_t *syncs);
/* Tests: SQLite transactions that committed callers' transactions, and writers waiting for the
 * connection (a batch stays open for them). */
void sq__batch_counts(store *s, uint64_t *batches, int *waiting_writers);
/* The outcome of sqlite3_step's rc for st (NULL: none): PL_OK for a row or the end,
 * PL_EEXIST for a constraint (a refused row), else PL_ESTORE, with SQLite's message and
 * the statement logged to stderr. */
pl_err sq__fail(sq_store *q, sqlite3_stmt *st, int rc);
/* Logs a failed step of st (rc, SQLite's message and the statement) and returns
 * PL_ESTORE; for the loops over a query's rows, after their sqlite3_reset. */
pl_err sq__step_error(sqlite3_stmt *st, int rc);
/* Runs a statement that returns no rows (PL_EEXIST on a constraint). */
pl_err sq__run(sq_store *q, sqlite3_stmt *st);
/* Steps a one-row query: PL_OK with the row current, or PL_ENOTFOUND. */
pl_err sq__one(sq_store *q, sqlite3_stmt *st);

/* The 24-hour clock's operations (store_sqlite_sla.c), for the vtable. */
pl_err sq__sla_thread_events(store *s, int64_t thread_id, pl_arena *a, sla_events *out);
pl_err sq__sla_range_events(store *s, const char *seller_id, const int64_t (*ranges)[2], size_t n,
                            pl_time until, pl_arena *a, sla_events *out);
pl_err sq__sla_outcomes_get(store *s, int64_t thread_id, pl_arena *a, sla_outcome **out, size_t *n,
                            sla_thread_outcome *t, bool *has_thread);
pl_err sq__sla_outcomes_put(store *s, const char *seller_id, int64_t thread_id, const sla_outcome *o,
                            size_t n, const sla_thread_outcome *t);
pl_err sq__sla_bucket_get(store *s, const char *seller_id, sla_bucket_key k, pl_arena *a,
                          sla_bucket *out);
pl_err sq__sla_bucket_put(store *s, const char *seller_id, const sla_bucket *b);
pl_err sq__sla_bucket_range(store *s, const char *seller_id, int64_t lo, int64_t hi, pl_arena *a,
                            sla_bucket **out, size_t *n);
pl_err sq__sla_open_list(store *s, const char *seller_id, pl_time since, pl_time until, pl_arena *a,
                         sla_open_msg **out, size_t *n);
pl_err sq__sla_latest(store *s, const char *seller_id, pl_time *out);
pl_err sq__sla_thread_outcome_get(store *s, const char *seller_id, int64_t thread_id,
                                  sla_thread_outcome *out);
pl_err sq__sla_thread_outcome_set(store *s, const char *seller_id, const sla_thread_outcome *t);
pl_err sq__sla_outcome_get(store *s, int64_t msg_id, sla_outcome *out);
pl_err sq__sla_outcome_set(store *s, const char *seller_id, const sla_outcome *o);
pl_err sq__sla_outcomes_answerable(store *s, int64_t thread_id, int64_t at, int64_t seq, pl_arena *a,
                                   sla_outcome **out, size_t *n);
pl_err sq__sla_reply_count(store *s, int64_t thread_id, int64_t answered_at, int64_t reply_seq,
                           int64_t *n);
pl_err sq__sla_flag_state(store *s, int64_t msg_id, bool *flagged);
/* Statement slots of the thread tail (store_sqlite.c), in store_sqlite_sla.c's range. */
#define SQ_SLOT_TAIL (SQ_SLOT_SLA2 + 7)
/* The ranges follow each other and fit the slot table (sq__stmt also refuses a slot whose
 * cached statement was prepared from other SQL). */
_Static_assert(SQ_SLOT_SLA < SQ_SLOT_SPAPI && SQ_SLOT_SPAPI < SQ_SLOT_MAIL && SQ_SLOT_MAIL < SQ_SLOT_TEAM &&
                   SQ_SLOT_TEAM < SQ_SLOT_ATTACH && SQ_SLOT_ATTACH < SQ_SLOT_AUDIT &&
                   SQ_SLOT_AUDIT < SQ_SLOT_IDENT && SQ_SLOT_IDENT < SQ_SLOT_SLA2 &&
                   SQ_SLOT_SLA2 < SQ_SLOT_LIMITS && SQ_SLOT_LIMITS < SQ_SLOT_KEYS &&
                   SQ_SLOT_KEYS + 16 <= SQ_MORE_STATEMENTS,
               "SQLite statement slot ranges overlap or overflow SQ_MORE_STATEMENTS");
pl_err sq__seller_list(store *s, const char *marketplace_id, pl_arena *a, st_seller **out, size_t *n);
pl_err sq__counter(store *s, const char *name, bool bump, int64_t *out);
pl_err sq__thread_due_list(store *s, pl_time lo, pl_time hi, int limit, pl_arena *a, st_thread **out,
                           size_t *n);

/* Key rotation's walk over sealed addresses (store_sqlite_keys.c), for the vtable. */
pl_err sq__sealed_page(store *s, st_sealed_kind kind, const char *skip, const char *after, int limit,
                       pl_arena *a, st_sealed_row **out, size_t *n);
pl_err sq__sealed_reseal(store *s, st_sealed_kind kind, const char *key, const char *old, const char *sealed,
                         const char *hash, bool *changed);
pl_err sq__sealed_count(store *s, st_sealed_kind kind, const char *prefix, int64_t *n);

/* SP-API credentials and upload destinations (store_sqlite_spapi.c), for the vtable. */
pl_err sq__spapi_client_put(store *s, const st_spapi_client *c);
pl_err sq__spapi_client_get(store *s, const char *client_id, const char *seller_id, pl_arena *a,
                            st_spapi_client *out);
pl_err sq__spapi_upload_put(store *s, const st_spapi_upload *u);
pl_err sq__spapi_upload_get(store *s, const char *id, pl_arena *a, st_spapi_upload *out);

/* The outbox and the look-ups of the e-mail channel (store_sqlite_mail.c), for the vtable. */
pl_err sq__outbox_add(store *s, st_outbox *o);
pl_err sq__outbox_claim(store *s, pl_time now, pl_time claim_until, int limit, pl_arena *a,
                        st_outbox **out, size_t *n);
pl_err sq__outbox_update(store *s, const st_outbox *o);
pl_err sq__ops_figures(store *s, st_ops_figures *out);
pl_err sq__alias_find(store *s, const char *alias, pl_arena *a, char **marketplace_id,
                      char **buyer_id, char **seller_id);
pl_err sq__seller_find_alias(store *s, const char *alias, pl_arena *a, st_seller *out);
pl_err sq__buyer_find_email(store *s, const char *email_hash, pl_arena *a, st_buyer *out);
pl_err sq__agent_address_add(store *s, st_agent_address *v);
pl_err sq__agent_address_list(store *s, const char *seller_id, int64_t agent_id, pl_arena *a,
                              st_agent_address **out, size_t *n);
pl_err sq__agent_address_delete(store *s, const char *seller_id, int64_t agent_id, int64_t id);
pl_err sq__agent_address_find(store *s, const char *seller_id, const char *email_hash, pl_arena *a,
                              st_agent_address *out);
pl_err sq__agent_find(store *s, const char *seller_id, const char *name, pl_arena *a,
                      st_agent *out);

/* Attachments and the messages that carry them (store_sqlite_attach.c), for the vtable. */
pl_err sq__attachment_put(store *s, const st_attachment *a);
pl_err sq__attachment_get(store *s, const char *id, bool segments, pl_arena *a, st_attachment *out);
pl_err sq__attachment_find_sha(store *s, const char *sha256, pl_arena *a, st_attachment *out);
pl_err sq__attachment_link(store *s, int64_t message_id, int64_t thread_id, const char *seller_id,
                          const char *attachment_id, int pos);
pl_err sq__attachment_list_thread(store *s, int64_t thread_id, pl_arena *a, st_msg_attachment **out,
                                 size_t *n);
pl_err sq__attachment_uses(store *s, const char *id, pl_arena *a, st_msg_attachment **out, size_t *n);

/* The audit log (store_sqlite_audit.c), for the vtable. */
pl_err sq__audit_append(store *s, st_audit *e);
pl_err sq__audit_list(store *s, const char *subject, pl_arena *a, st_audit **out, size_t *n);
pl_err sq__audit_chain(store *s, const char *chain, int64_t after, size_t limit, pl_arena *a,
                       st_audit **out, size_t *n);
pl_err sq__audit_heads(store *s, pl_arena *a, st_audit_head **out, size_t *n);
pl_err sq__audit_checkpoint_add(store *s, st_audit_checkpoint *c);
pl_err sq__audit_checkpoint_list(store *s, pl_arena *a, st_audit_checkpoint **out, size_t *n);

/* Team work (store_sqlite_team.c), for the vtable. */
pl_err sq__team_doc_put(store *s, st_team_doc *d);
pl_err sq__team_doc_get(store *s, const char *seller_id, const char *kind, int64_t id, pl_arena *a,
                        st_team_doc *out);
pl_err sq__team_doc_list(store *s, const char *seller_id, const char *kind, const char *state,
                         int limit, pl_arena *a, st_team_doc **out, size_t *n);
pl_err sq__team_doc_delete(store *s, const char *seller_id, const char *kind, int64_t id);
pl_err sq__team_agent_list(store *s, const char *seller_id, pl_arena *a, st_team_agent **out,
                           size_t *n);
pl_err sq__team_agent_put(store *s, const char *seller_id, const st_team_agent *ag);
pl_err sq__thread_team_get(store *s, int64_t thread_id, pl_arena *a, st_thread_team *out);
pl_err sq__thread_team_put(store *s, const st_thread_team *tt);
pl_err sq__thread_lock_take(store *s, const char *seller_id, const st_thread_lock *lk, pl_time now,
                            pl_arena *a, st_thread_lock *holder);
pl_err sq__thread_lock_get(store *s, int64_t thread_id, pl_time now, pl_arena *a,
                           st_thread_lock *out);
pl_err sq__thread_lock_release(store *s, int64_t thread_id, int64_t agent_id);
pl_err sq__team_reply_list(store *s, const char *seller_id, int64_t max_id, int limit, pl_arena *a,
                           st_message **out, size_t *n);

/* Identities: tokens and agent deactivation (store_sqlite_ident.c), for the vtable. */
pl_err sq__token_put(store *s, const char *hash, st_token *t, pl_time at);
pl_err sq__token_get(store *s, const char *hash, int64_t id, pl_arena *a, st_token *out);
pl_err sq__token_list(store *s, const char *seller_id, bool all, pl_time now, int limit, pl_arena *a,
                      st_token **out, size_t *n);
pl_err sq__token_revoke(store *s, int64_t id, pl_time at, long *n);
pl_err sq__token_revoke_subject(store *s, st_principal_kind kind, const char *subject, pl_time at,
                                long *n);
pl_err sq__token_touch(store *s, int64_t id, pl_time at);
pl_err sq__agent_deactivate(store *s, int64_t id, pl_time at);
pl_err sq__agent_unassign_all(store *s, const char *seller_id, int64_t agent_id, long *n);

/* Limits, unattached uploads and idempotency keys (store_sqlite_limits.c), for the vtable. */
pl_err sq__rate_bucket_get(store *s, const char *key, const char *op, double fresh_tokens,
                           double fresh_at, double *tokens, double *updated_at);
pl_err sq__rate_bucket_put(store *s, const char *key, const char *op, double tokens, double updated_at);
pl_err sq__attachment_orphans(store *s, pl_time before, int limit, pl_arena *a, st_attachment **out,
                              size_t *n);
pl_err sq__attachment_delete(store *s, const char *id, const char *sha256, bool *file_unused);
pl_err sq__idem_claim(store *s, const char *principal, const char *key, const char *fingerprint,
                      pl_time now, pl_arena *a, bool *claimed, st_idem *out);
pl_err sq__idem_get(store *s, const char *principal, const char *key, pl_arena *a, st_idem *out);
pl_err sq__idem_finish(store *s, const char *principal, const char *key, int status, const char *body);
pl_err sq__idem_release(store *s, const char *principal, const char *key);
pl_err sq__idem_sweep(store *s, pl_time before, int64_t *n);

#endif
