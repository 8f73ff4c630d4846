/* store_row.h - each row type of store.h described once, as a table of its columns.
 *
 * A column table lists, in the order of the SELECT that reads the row (the column lists
 * of store_sql.h), each column's field in the struct and how it is stored. One generic
 * reader per backend (sq__read_row, pg__read_row) fills a struct from a result row through
 * its table, so that no backend writes a row's shape by hand. */
#ifndef PL_STORE_ROW_H
#define PL_STORE_ROW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

/* How a column is stored and what field it fills. */
typedef enum {
  ST_COL_TEXT,      /* char * (or const char *), copied into the caller's arena; NULL for NULL */
  ST_COL_I64,       /* int64_t (ids, pl_time); 0 for NULL */
  ST_COL_INT,       /* int; 0 for NULL */
  ST_COL_BOOL,      /* bool: SQLite's 0/1, PostgreSQL's t/f (or 0/1); false for NULL */
  /* the named states of store.h, stored as their names; a name this build does not know,
   * or NULL, reads as 0 (store.h) */
  ST_COL_DIRECTION, /* st_direction */
  ST_COL_MSG_KIND,  /* st_msg_kind */
  ST_COL_MSG_STATUS,   /* st_msg_status */
  ST_COL_ORDER_STATUS, /* st_order_status */
  ST_COL_OUTBOX_KIND,  /* st_outbox_kind */
  ST_COL_OUTBOX_STATE, /* st_outbox_state */
  ST_COL_PRINCIPAL,    /* st_principal_kind, except that an unknown name reads as a buyer */
  ST_COL_AGENT_ROLE,   /* st_agent_role */
  ST_COL_TOKEN_SCOPE,  /* st_token_scope */
  ST_COL_PROPOSAL_STATE, /* st_proposal_state ("" for a document that is no proposal) */
  ST_COL_EVENT_TYPE,   /* st_event_type */
  ST_COL_SEVERITY,     /* st_severity */
  ST_COL_DOC_KIND,     /* st_doc_kind */
} st_col_kind;

typedef struct {
  const char *field; /* the struct's field, for messages */
  st_col_kind kind;
  size_t offset; /* of the field in the struct */
} st_col;

/* A row type: its columns, n of them, and the size of its struct. */
typedef struct st_row {
  const st_col *cols;
  size_t n, size;
} st_row;

/* Whether a column of this kind is read as text (else as an integer). */
static inline bool st_col_text(st_col_kind k) { return k == ST_COL_TEXT || k >= ST_COL_DIRECTION; }

/* Fills the field of c in row (a struct of the row's type) from a column's value: text
 * and len for a text kind (text NULL for SQL NULL), num for the others (0 for NULL; a
 * bool's 0 or 1). Text is copied into a. Shared by the backends' readers (sq__read_row,
 * pg__read_row), which zero the struct first, so that a kind means the same on both. */
void st_col_set(const st_col *c, void *row, pl_arena *a, const char *text, size_t len, int64_t num);

/* One number read from a statement (an id it returns, a count): st_i64_row. */
typedef struct {
  int64_t v;
} st_i64;
/* Two numbers of one row (two counts): st_pair_row. */
typedef struct {
  int64_t a, b;
} st_pair;

/* One text read from a statement (an alias, an id): st_text_row. */
typedef struct {
  char *v;
} st_text;

/* A row of the store-wide figures (store_mail.c) and the owners of an alias. */
typedef struct {
  char *what, *kind;
  int64_t n, oldest;
} st_figure;
typedef struct {
  char *marketplace_id, *buyer_id, *seller_id;
} st_alias_owner;

/* The column tables (store_row.c). */
extern const st_row st_seller_row, st_buyer_row, st_agent_row, st_thread_row, st_message_row,
    st_enforcement_row, st_team_doc_row, st_thread_lock_row, st_agent_address_row, st_audit_row,
    st_token_row, st_violation_row, st_event_row, st_outbox_row, st_spapi_client_row,
    st_spapi_upload_row, st_item_row, st_msg_attachment_row, st_audit_head_row,
    st_audit_checkpoint_row, st_marketplace_row, st_order_row, st_team_agent_row, st_thread_team_row,
    st_i64_row, st_reply_row, st_figure_row, st_alias_owner_row, st_attachment_row, st_orphan_row,
    st_idem_row, st_webhook_row, st_webhook_delivery_row, sla_outcome_row, sla_open_msg_row, st_seller_brief_row, st_thread_due_row, st_text_row,
    st_seller_settings_row, st_agent_notify_row, st_claim_row, st_pair_row,
    st_suggest_template_row, st_suggest_reply_row, st_account_row, st_invitation_row, st_policy_example_row,
    st_policy_example_counts_row, st_policy_model_row;

#endif
