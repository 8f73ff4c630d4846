/* store_pg_int.h - what the files of the PostgreSQL backend share beyond store_pg_spapi.h. */
#ifndef PL_STORE_PG_INT_H
#define PL_STORE_PG_INT_H

#include <libpq-fe.h>

#include "store/store.h"
#include "store/store_row.h"
#include "store/store_sql.h"

/* Runs sql with n text parameters in the calling thread's transaction (store_pg.c); *e
 * tells the outcome; the caller clears the result (NULL outside a transaction). */
PGresult *store__pg_exec(store *s, const char *sql, int n, const char *const *values, pl_err *e);
/* Runs sql like store__pg_exec; with out NULL the rows do not matter, else the caller
 * clears *out (set only on PL_OK). */
pl_err pg__exec(store *s, const char *sql, int n, const char *const *v, PGresult **out);
/* The parameters of one statement, as the text PostgreSQL receives: the one way the
 * backend builds them. Numbers are written into buf, so the struct keeps them until the
 * statement has run. More than PG_MAX_PARAMS is a mistake of the code: it aborts. */
enum { PG_MAX_PARAMS = 16 };
typedef struct {
  const char *v[PG_MAX_PARAMS];
  char buf[PG_MAX_PARAMS][32]; /* "%.17g" of a double needs 24 */
  int n;
} pg_params;
void pg__p_text(pg_params *p, const char *v); /* NULL: SQL NULL */
void pg__p_int(pg_params *p, int64_t v);
void pg__p_bool(pg_params *p, bool v);
void pg__p_double(pg_params *p, double v); /* 17 digits: the same double back */
/* pg__exec with p's parameters (NULL: none). */
pl_err pg__run(store *s, const char *sql, const pg_params *p, PGresult **out);
/* A copy of text (the caller frees it) with SQLite's ?N placeholders written as $N, outside
 * quoted literals and names: how a statement of store_sql.h is prepared on PostgreSQL. */
char *pg__dollars(const char *text);
/* Column readers: text into the arena (NULL for SQL NULL), integers (0 for NULL). */
char *pg__text(pl_arena *a, const PGresult *r, int row, int col);
/* A text column in place (NULL for SQL NULL), valid while r is: for state names. */
const char *pg__cstr(const PGresult *r, int row, int col);
int64_t pg__num(const PGresult *r, int row, int col);
/* Fills out, a struct of t's type, from the columns of r's row that begin at first,
 * through the row's column table (store_row.h); text goes into a. */
void pg__read_row(pl_arena *a, const PGresult *r, int row, int first, const st_row *t, void *out);
/* Whether the calling thread's transaction was begun for writing. */
bool store__pg_writing(store *s);
/* The URL libpq connects with, and the slot of the live-event bus (store_pg_bus.c). */
typedef struct pg_bus pg_bus;
const char *store__pg_url(store *s);
pg_bus **store__pg_bus(store *s);

/* Live events between nodes (store_pg_bus.c), for the vtable. */
pl_err pg__bus_start(store *s, void (*deliver)(void *ctx, const char *payload), void *ctx);
void pg__bus_send(store *s, const char *payload);
void pg__bus_stop(store *s);

/* The 24-hour clock's operations (store_pg_sla.c), for the vtable. */
pl_err pg__sla_thread_events(store *s, int64_t thread_id, pl_arena *a, sla_events *out);
pl_err pg__sla_range_events(store *s, const char *seller_id, const int64_t (*ranges)[2], size_t n,
                            pl_time until, pl_arena *a, sla_events *out);
pl_err pg__sla_outcomes_get(store *s, int64_t thread_id, pl_arena *a, sla_outcome **out, size_t *n,
                            sla_thread_outcome *t, bool *has_thread);
pl_err pg__sla_outcomes_put(store *s, const char *seller_id, int64_t thread_id, const sla_outcome *o,
                            size_t n, const sla_thread_outcome *t);
pl_err pg__sla_bucket_get(store *s, const char *seller_id, sla_bucket_key k, pl_arena *a,
                          sla_bucket *out);
pl_err pg__sla_bucket_put(store *s, const char *seller_id, const sla_bucket *b);
pl_err pg__sla_bucket_range(store *s, const char *seller_id, int64_t lo, int64_t hi, pl_arena *a,
                            sla_bucket **out, size_t *n);
pl_err pg__sla_open_list(store *s, const char *seller_id, pl_time since, pl_time until, pl_arena *a,
                         sla_open_msg **out, size_t *n);
pl_err pg__sla_latest(store *s, const char *seller_id, pl_time *out);
pl_err pg__sla_thread_outcome_get(store *s, const char *seller_id, int64_t thread_id,
                                  sla_thread_outcome *out);
pl_err pg__sla_thread_outcome_set(store *s, const char *seller_id, const sla_thread_outcome *t);
pl_err pg__sla_outcome_get(store *s, int64_t msg_id, sla_outcome *out);
pl_err pg__sla_outcome_set(store *s, const char *seller_id, const sla_outcome *o);
pl_err pg__sla_outcomes_answerable(store *s, int64_t thread_id, int64_t at, int64_t seq, pl_arena *a,
                                   sla_outcome **out, size_t *n);
pl_err pg__sla_reply_count(store *s, int64_t thread_id, int64_t answered_at, int64_t reply_seq,
                           int64_t *n);
pl_err pg__sla_flag_state(store *s, int64_t msg_id, bool *flagged);
pl_err pg__seller_list(store *s, const char *marketplace_id, pl_arena *a, st_seller **out, size_t *n);
/* Row readers shared by the store_pg files: sellers (id, marketplace_id, name,
 * email_sealed, alias, created_at) and buyers (id, name, locale, email_sealed, email_hash,
 * opt_out), in that column order. */
void pg__read_seller(pl_arena *a, const PGresult *r, int row, st_seller *o);
void pg__read_buyer(pl_arena *a, const PGresult *r, int row, st_buyer *o);
pl_err pg__counter(store *s, const char *name, bool bump, int64_t *out);
pl_err pg__thread_due_list(store *s, pl_time lo, pl_time hi, int limit, pl_arena *a, st_thread **out,
                           size_t *n);

/* The outbox and the look-ups of the e-mail channel (store_pg_mail.c), for the vtable. */
/* Key rotation's walk over sealed addresses (store_pg_keys.c), for the vtable. */
pl_err pg__sealed_page(store *s, st_sealed_kind kind, const char *skip, const char *after, int limit,
                       pl_arena *a, st_sealed_row **out, size_t *n);
pl_err pg__sealed_reseal(store *s, st_sealed_kind kind, const char *key, const char *old, const char *sealed,
                         const char *hash, bool *changed);
pl_err pg__sealed_count(store *s, st_sealed_kind kind, const char *prefix, int64_t *n);

pl_err pg__outbox_add(store *s, st_outbox *o);
pl_err pg__outbox_claim(store *s, pl_time now, pl_time claim_until, int limit, pl_arena *a,
                        st_outbox **out, size_t *n);
pl_err pg__outbox_update(store *s, const st_outbox *o);
pl_err pg__ops_figures(store *s, st_ops_figures *out);
pl_err pg__alias_find(store *s, const char *alias, pl_arena *a, char **marketplace_id,
                      char **buyer_id, char **seller_id);
pl_err pg__seller_find_alias(store *s, const char *alias, pl_arena *a, st_seller *out);
pl_err pg__buyer_find_email(store *s, const char *email_hash, pl_arena *a, st_buyer *out);
pl_err pg__agent_address_add(store *s, st_agent_address *v);
pl_err pg__agent_address_list(store *s, const char *seller_id, int64_t agent_id, pl_arena *a,
                              st_agent_address **out, size_t *n);
pl_err pg__agent_address_delete(store *s, const char *seller_id, int64_t agent_id, int64_t id);
pl_err pg__agent_address_find(store *s, const char *seller_id, const char *email_hash, pl_arena *a,
                              st_agent_address *out);
pl_err pg__agent_find(store *s, const char *seller_id, const char *name, pl_arena *a,
                      st_agent *out);

/* Attachments and the messages that carry them (store_pg_attach.c), for the vtable. */
pl_err pg__attachment_put(store *s, const st_attachment *a);
pl_err pg__attachment_get(store *s, const char *id, bool segments, pl_arena *a, st_attachment *out);
pl_err pg__attachment_find_sha(store *s, const char *sha256, pl_arena *a, st_attachment *out);
pl_err pg__attachment_link(store *s, int64_t message_id, int64_t thread_id, const char *seller_id,
                          const char *attachment_id, int pos);
pl_err pg__attachment_list_thread(store *s, int64_t thread_id, pl_arena *a, st_msg_attachment **out,
                                 size_t *n);
pl_err pg__attachment_uses(store *s, const char *id, pl_arena *a, st_msg_attachment **out, size_t *n);

/* The audit log (store_pg_audit.c), for the vtable. */
pl_err pg__audit_append(store *s, st_audit *e);
pl_err pg__audit_list(store *s, const char *subject, pl_arena *a, st_audit **out, size_t *n);
pl_err pg__audit_chain(store *s, const char *chain, int64_t after, size_t limit, pl_arena *a,
                       st_audit **out, size_t *n);
pl_err pg__audit_heads(store *s, pl_arena *a, st_audit_head **out, size_t *n);
pl_err pg__audit_checkpoint_add(store *s, st_audit_checkpoint *c);
pl_err pg__audit_checkpoint_list(store *s, pl_arena *a, st_audit_checkpoint **out, size_t *n);

/* Team work (store_pg_team.c), for the vtable. */
pl_err pg__team_doc_put(store *s, st_team_doc *d);
pl_err pg__team_doc_get(store *s, const char *seller_id, const char *kind, int64_t id, pl_arena *a,
                        st_team_doc *out);
pl_err pg__team_doc_list(store *s, const char *seller_id, const char *kind, const char *state,
                         int limit, pl_arena *a, st_team_doc **out, size_t *n);
pl_err pg__team_doc_delete(store *s, const char *seller_id, const char *kind, int64_t id);
pl_err pg__team_agent_list(store *s, const char *seller_id, pl_arena *a, st_team_agent **out,
                           size_t *n);
pl_err pg__team_agent_put(store *s, const char *seller_id, const st_team_agent *ag);
pl_err pg__thread_team_get(store *s, int64_t thread_id, pl_arena *a, st_thread_team *out);
pl_err pg__thread_team_put(store *s, const st_thread_team *tt);
pl_err pg__thread_lock_take(store *s, const char *seller_id, const st_thread_lock *lk, pl_time now,
                            pl_arena *a, st_thread_lock *holder);
pl_err pg__thread_lock_get(store *s, int64_t thread_id, pl_time now, pl_arena *a,
                           st_thread_lock *out);
pl_err pg__thread_lock_release(store *s, int64_t thread_id, int64_t agent_id);
pl_err pg__team_reply_list(store *s, const char *seller_id, int64_t max_id, int limit, pl_arena *a,
                           st_message **out, size_t *n);

/* Identities: tokens and agent deactivation (store_pg_ident.c), for the vtable. */
pl_err pg__token_put(store *s, const char *hash, st_token *t, pl_time at);
pl_err pg__token_get(store *s, const char *hash, int64_t id, pl_arena *a, st_token *out);
pl_err pg__token_list(store *s, const char *seller_id, bool all, pl_time now, int limit, pl_arena *a,
                      st_token **out, size_t *n);
pl_err pg__token_revoke(store *s, int64_t id, pl_time at, long *n);
pl_err pg__token_revoke_subject(store *s, st_principal_kind kind, const char *subject, pl_time at,
                                long *n);
pl_err pg__token_touch(store *s, int64_t id, pl_time at);
pl_err pg__agent_deactivate(store *s, int64_t id, pl_time at);
pl_err pg__agent_unassign_all(store *s, const char *seller_id, int64_t agent_id, long *n);

/* Limits, unattached uploads and idempotency keys (store_pg_limits.c), for the vtable. */
pl_err pg__rate_bucket_get(store *s, const char *key, const char *op, double fresh_tokens,
                           double fresh_at, double *tokens, double *updated_at);
pl_err pg__rate_bucket_put(store *s, const char *key, const char *op, double tokens, double updated_at);
pl_err pg__attachment_orphans(store *s, pl_time before, int limit, pl_arena *a, st_attachment **out,
                              size_t *n);
pl_err pg__attachment_delete(store *s, const char *id, const char *sha256, bool *file_unused);
pl_err pg__idem_claim(store *s, const char *principal, const char *key, const char *fingerprint,
                      pl_time now, pl_arena *a, bool *claimed, st_idem *out);
pl_err pg__idem_get(store *s, const char *principal, const char *key, pl_arena *a, st_idem *out);
pl_err pg__idem_finish(store *s, const char *principal, const char *key, int status, const char *body);
pl_err pg__idem_release(store *s, const char *principal, const char *key);
pl_err pg__idem_sweep(store *s, pl_time before, int64_t *n);

#endif
