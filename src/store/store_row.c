/* store_row.c - the column tables of the row types (store_row.h), and what a column kind
 * means, shared by both backends' readers. */
#include "store/store_row.h"

#include <string.h>

/* One column: the field of type T and its kind, checked at compile time against the
 * field's type, so that a table cannot fill a field with a value of another size. */
#define ST__IS_TEXT(f) _Generic((f), char *: 1, const char *: 1, default: 0)
#define ST__IS_I64(f) _Generic((f), int64_t: 1, default: 0)
#define ST__IS_INT(f) _Generic((f), int: 1, default: 0)
#define ST__IS_BOOL(f) _Generic((f), bool: 1, default: 0)
#define ST__IS_ENUM(f) (sizeof(f) == sizeof(int))
#define ST__IS_DIRECTION ST__IS_ENUM
#define ST__IS_MSG_KIND ST__IS_ENUM
#define ST__IS_MSG_STATUS ST__IS_ENUM
#define ST__IS_ORDER_STATUS ST__IS_ENUM
#define ST__IS_OUTBOX_KIND ST__IS_ENUM
#define ST__IS_OUTBOX_STATE ST__IS_ENUM
#define ST__IS_PRINCIPAL ST__IS_ENUM
#define ST__IS_AGENT_ROLE ST__IS_ENUM
#define ST__IS_TOKEN_SCOPE ST__IS_ENUM
#define ST__IS_PROPOSAL_STATE ST__IS_ENUM
#define ST__IS_EVENT_TYPE ST__IS_ENUM
#define ST__IS_DOC_KIND ST__IS_ENUM
#define ST__IS_SEVERITY ST__IS_ENUM
#define COL(T, field, kind)                                                                  \
  {#field, ST_COL_##kind,                                                                    \
   offsetof(T, field) + 0 * sizeof(struct {                                                  \
     _Static_assert(ST__IS_##kind(((T *)0)->field), #T "." #field " is not a " #kind " field"); \
     int ok;                                                                                 \
   })}
#define ROW(name, ...)                                                         \
  static const st_col name##_cols[] = {__VA_ARGS__};                           \
  const st_row name##_row = {name##_cols, sizeof name##_cols / sizeof name##_cols[0], sizeof(name)}

/* Column order: ST_SQL_SELLER_GET, SELLER_COLS of the files that list sellers. */
ROW(st_seller, COL(st_seller, id, TEXT), COL(st_seller, marketplace_id, TEXT), COL(st_seller, name, TEXT),
    COL(st_seller, email_sealed, TEXT), COL(st_seller, alias, TEXT), COL(st_seller, created_at, I64));

/* ST_SQL_BUYER_GET */
ROW(st_buyer, COL(st_buyer, id, TEXT), COL(st_buyer, name, TEXT), COL(st_buyer, locale, TEXT),
    COL(st_buyer, email_sealed, TEXT), COL(st_buyer, email_hash, TEXT), COL(st_buyer, opt_out, BOOL),
    COL(st_buyer, blocked_sellers, TEXT));

/* ST_SQL_AGENT_GET */
ROW(st_agent, COL(st_agent, id, I64), COL(st_agent, seller_id, TEXT), COL(st_agent, name, TEXT),
    COL(st_agent, role, AGENT_ROLE), COL(st_agent, deactivated_at, I64));

/* ST_THREAD_COLS */
ROW(st_thread, COL(st_thread, id, I64), COL(st_thread, seller_id, TEXT), COL(st_thread, buyer_id, TEXT),
    COL(st_thread, marketplace_id, TEXT), COL(st_thread, order_id, TEXT), COL(st_thread, asin, TEXT),
    COL(st_thread, topic, TEXT), COL(st_thread, archived, BOOL), COL(st_thread, waiting, INT),
    COL(st_thread, needs_response, INT), COL(st_thread, created_at, I64),
    COL(st_thread, last_message_at, I64), COL(st_thread, last_buyer_at, I64),
    COL(st_thread, last_seller_at, I64), COL(st_thread, seller_read_id, I64),
    COL(st_thread, buyer_read_id, I64), COL(st_thread, response_due_at, I64),
    COL(st_thread, buyer_alias, TEXT), COL(st_thread, buyer_name, TEXT),
    COL(st_thread, seller_name, TEXT), COL(st_thread, last_buyer_id, I64),
    COL(st_thread, last_seller_id, I64), COL(st_thread, buyer_last_at, I64));

/* ST_MSG_COLS (the attachments are the service's: readers leave them empty) */
ROW(st_message, COL(st_message, id, I64), COL(st_message, thread_id, I64), COL(st_message, agent_id, I64),
    COL(st_message, seller_id, TEXT), COL(st_message, ext_id, TEXT), COL(st_message, direction, DIRECTION),
    COL(st_message, kind, MSG_KIND), COL(st_message, text, TEXT), COL(st_message, at, I64),
    COL(st_message, policy_action, TEXT), COL(st_message, policy_engine, TEXT),
    COL(st_message, policy_json, TEXT), COL(st_message, status, MSG_STATUS),
    COL(st_message, flagged, BOOL), COL(st_message, status_at, I64), COL(st_message, action, TEXT),
    COL(st_message, critical, BOOL), COL(st_message, proactive, BOOL));

/* ST_SQL_ENF_GET */
ROW(st_enforcement, COL(st_enforcement, seller_id, TEXT), COL(st_enforcement, warnings, I64),
    COL(st_enforcement, restricted_until, I64), COL(st_enforcement, restriction_reason, TEXT),
    COL(st_enforcement, quota_per_day, I64), COL(st_enforcement, quota_until, I64),
    COL(st_enforcement, quota_reason, TEXT), COL(st_enforcement, suspension_flag, BOOL),
    COL(st_enforcement, suspension_reason, TEXT), COL(st_enforcement, updated_at, I64));

/* ST_DOC_COLS */
ROW(st_team_doc, COL(st_team_doc, id, I64), COL(st_team_doc, seller_id, TEXT), COL(st_team_doc, kind, DOC_KIND),
    COL(st_team_doc, state, PROPOSAL_STATE), COL(st_team_doc, body, TEXT), COL(st_team_doc, created_at, I64),
    COL(st_team_doc, updated_at, I64));

/* ST_LOCK_COLS */
ROW(st_thread_lock, COL(st_thread_lock, thread_id, I64), COL(st_thread_lock, agent_id, I64),
    COL(st_thread_lock, agent_name, TEXT), COL(st_thread_lock, since, I64),
    COL(st_thread_lock, expires_at, I64));

/* ST_ADDR_COLS */
ROW(st_agent_address, COL(st_agent_address, id, I64), COL(st_agent_address, seller_id, TEXT),
    COL(st_agent_address, agent_id, I64), COL(st_agent_address, email_sealed, TEXT),
    COL(st_agent_address, email_hash, TEXT), COL(st_agent_address, created_at, I64));

/* ST_AUDIT_COLS */
ROW(st_audit, COL(st_audit, id, I64), COL(st_audit, seller_id, TEXT), COL(st_audit, at, I64),
    COL(st_audit, actor, TEXT), COL(st_audit, action, TEXT), COL(st_audit, subject, TEXT),
    COL(st_audit, detail_json, TEXT), COL(st_audit, prev_hash, TEXT), COL(st_audit, hash, TEXT),
    COL(st_audit, chain, TEXT), COL(st_audit, seq, I64));

/* ST_TOKEN_COLS */
ROW(st_token, COL(st_token, kind, PRINCIPAL), COL(st_token, subject, TEXT), COL(st_token, seller_id, TEXT),
    COL(st_token, marketplace_id, TEXT), COL(st_token, expires_at, I64), COL(st_token, id, I64),
    COL(st_token, scope, TOKEN_SCOPE), COL(st_token, parent_id, I64), COL(st_token, created_at, I64),
    COL(st_token, last_used_at, I64), COL(st_token, revoked_at, I64), COL(st_token, user_agent, TEXT));

/* store_account.c's ACCOUNT_COLS */
ROW(st_account, COL(st_account, id, I64), COL(st_account, kind, PRINCIPAL), COL(st_account, subject, TEXT),
    COL(st_account, seller_id, TEXT), COL(st_account, email_hash, TEXT), COL(st_account, email_sealed, TEXT),
    COL(st_account, password_hash, TEXT), COL(st_account, password_at, I64), COL(st_account, totp_sealed, TEXT),
    COL(st_account, totp_on, BOOL), COL(st_account, totp_step, I64), COL(st_account, reset_at, I64),
    COL(st_account, created_at, I64), COL(st_account, verified_at, I64));

/* store_account.c's INVITATION_COLS */
ROW(st_invitation, COL(st_invitation, id, I64), COL(st_invitation, kind, PRINCIPAL),
    COL(st_invitation, seller_id, TEXT), COL(st_invitation, role, TEXT), COL(st_invitation, email_hash, TEXT),
    COL(st_invitation, email_sealed, TEXT), COL(st_invitation, invited_by, TEXT),
    COL(st_invitation, created_at, I64), COL(st_invitation, expires_at, I64),
    COL(st_invitation, accepted_at, I64), COL(st_invitation, revoked_at, I64));

/* ST_SQL_VIOL_LIST */
ROW(st_violation, COL(st_violation, id, I64), COL(st_violation, seller_id, TEXT), COL(st_violation, at, I64),
    COL(st_violation, message_id, I64), COL(st_violation, category, TEXT),
    COL(st_violation, severity, SEVERITY), COL(st_violation, rule, TEXT));

/* ST_SQL_EVENT_LIST */
ROW(st_event, COL(st_event, id, I64), COL(st_event, message_id, I64), COL(st_event, thread_id, I64),
    COL(st_event, seller_id, TEXT), COL(st_event, type, EVENT_TYPE), COL(st_event, value, TEXT),
    COL(st_event, actor, TEXT), COL(st_event, at, I64));

/* ST_OUTBOX_COLS */
ROW(st_outbox, COL(st_outbox, id, I64), COL(st_outbox, seller_id, TEXT), COL(st_outbox, message_id, I64),
    COL(st_outbox, kind, OUTBOX_KIND), COL(st_outbox, state, OUTBOX_STATE), COL(st_outbox, attempts, I64),
    COL(st_outbox, next_at, I64), COL(st_outbox, created_at, I64), COL(st_outbox, sent_at, I64),
    COL(st_outbox, last_error, TEXT), COL(st_outbox, agent_id, I64), COL(st_outbox, payload, TEXT));

/* ST_CLIENT_COLS */
ROW(st_spapi_client, COL(st_spapi_client, client_id, TEXT), COL(st_spapi_client, seller_id, TEXT),
    COL(st_spapi_client, agent_id, I64), COL(st_spapi_client, secret_hash, TEXT),
    COL(st_spapi_client, refresh_hash, TEXT), COL(st_spapi_client, created_at, I64));

/* ST_UPLOAD_COLS */
ROW(st_spapi_upload, COL(st_spapi_upload, id, TEXT), COL(st_spapi_upload, seller_id, TEXT),
    COL(st_spapi_upload, resource, TEXT), COL(st_spapi_upload, content_md5, TEXT),
    COL(st_spapi_upload, content_type, TEXT), COL(st_spapi_upload, attachment_id, TEXT),
    COL(st_spapi_upload, created_at, I64), COL(st_spapi_upload, expires_at, I64));

/* ST_SQL_MARKET_GET */
ROW(st_marketplace, COL(st_marketplace, id, TEXT), COL(st_marketplace, name, TEXT),
    COL(st_marketplace, locale, TEXT), COL(st_marketplace, domains_json, TEXT),
    COL(st_marketplace, settings_json, TEXT));

/* ST_SQL_ORDER_GET (the items are read apart, ST_SQL_ORDER_ITEMS_GET) */
ROW(st_order, COL(st_order, id, TEXT), COL(st_order, marketplace_id, TEXT), COL(st_order, seller_id, TEXT),
    COL(st_order, buyer_id, TEXT), COL(st_order, status, ORDER_STATUS), COL(st_order, purchased_at, I64),
    COL(st_order, shipped_at, I64), COL(st_order, delivered_at, I64), COL(st_order, updated_at, I64),
    COL(st_order, negative_feedback, BOOL), COL(st_order, by_marketplace, BOOL),
    COL(st_order, ship_country, TEXT), COL(st_order, carrier, TEXT), COL(st_order, tracking, TEXT),
    COL(st_order, promised_at, I64), COL(st_order, return_state, TEXT));

/* ST_SQL_ORDER_ITEMS_GET */
ROW(st_item, COL(st_item, asin, TEXT), COL(st_item, title, TEXT), COL(st_item, quantity, I64),
    COL(st_item, price, TEXT), COL(st_item, currency, TEXT));

/* ST_ATTACH_LINK_COLS */
ROW(st_msg_attachment, COL(st_msg_attachment, message_id, I64), COL(st_msg_attachment, thread_id, I64),
    COL(st_msg_attachment, id, TEXT), COL(st_msg_attachment, name, TEXT), COL(st_msg_attachment, kind, TEXT),
    COL(st_msg_attachment, size, I64));

/* the audit heads: chain, seq, hash */
ROW(st_audit_head, COL(st_audit_head, chain, TEXT), COL(st_audit_head, seq, I64), COL(st_audit_head, hash, TEXT));

/* ST_SQL_AUDIT_CHECKPOINT_LIST */
ROW(st_audit_checkpoint, COL(st_audit_checkpoint, id, I64), COL(st_audit_checkpoint, at, I64),
    COL(st_audit_checkpoint, nchains, I64), COL(st_audit_checkpoint, root, TEXT),
    COL(st_audit_checkpoint, heads_json, TEXT), COL(st_audit_checkpoint, public_key, TEXT),
    COL(st_audit_checkpoint, signature, TEXT));

/* store_team.c's agent list: availability and last assignment from agent_status */
ROW(st_team_agent, COL(st_team_agent, id, I64), COL(st_team_agent, name, TEXT), COL(st_team_agent, role, AGENT_ROLE),
    COL(st_team_agent, available, BOOL), COL(st_team_agent, last_assigned_at, I64),
    COL(st_team_agent, deactivated, BOOL));

ROW(st_thread_team, COL(st_thread_team, thread_id, I64), COL(st_thread_team, seller_id, TEXT),
    COL(st_thread_team, assignee_id, I64), COL(st_thread_team, priority, TEXT), COL(st_thread_team, tags, TEXT));

/* One number: an id a statement returns, a count. */
ROW(st_i64, COL(st_i64, v, I64));

/* A seller reply as the team's reply list reads it (store_team.c): no policy columns. */
static const st_col st_reply_cols[] = {
    COL(st_message, id, I64),        COL(st_message, thread_id, I64), COL(st_message, agent_id, I64),
    COL(st_message, seller_id, TEXT), COL(st_message, direction, DIRECTION), COL(st_message, kind, MSG_KIND),
    COL(st_message, text, TEXT),     COL(st_message, at, I64),        COL(st_message, status, MSG_STATUS)};
const st_row st_reply_row = {st_reply_cols, sizeof st_reply_cols / sizeof st_reply_cols[0], sizeof(st_message)};

/* ST_SQL_OPS_FIGURES: what a row counts ("outbox", "held"), the outbox kind, how many, the oldest */
ROW(st_figure, COL(st_figure, what, TEXT), COL(st_figure, kind, TEXT), COL(st_figure, n, I64),
    COL(st_figure, oldest, I64));

/* ST_SQL_ALIAS_FIND */
ROW(st_alias_owner, COL(st_alias_owner, marketplace_id, TEXT), COL(st_alias_owner, buyer_id, TEXT),
    COL(st_alias_owner, seller_id, TEXT));

/* ST_ATTACH_COLS and segments */
ROW(st_attachment, COL(st_attachment, id, TEXT), COL(st_attachment, seller_id, TEXT),
    COL(st_attachment, buyer_id, TEXT), COL(st_attachment, uploader, TEXT), COL(st_attachment, name, TEXT),
    COL(st_attachment, kind, TEXT), COL(st_attachment, sha256, TEXT), COL(st_attachment, size, I64),
    COL(st_attachment, readable, BOOL), COL(st_attachment, reason, TEXT), COL(st_attachment, created_at, I64),
    COL(st_attachment, segments_json, TEXT));

/* An upload no message carries (store_attach.c's orphans): what the sweep needs of it. */
static const st_col st_orphan_cols[] = {COL(st_attachment, id, TEXT), COL(st_attachment, sha256, TEXT),
                                        COL(st_attachment, created_at, I64), COL(st_attachment, uploader, TEXT)};
const st_row st_orphan_row = {st_orphan_cols, sizeof st_orphan_cols / sizeof st_orphan_cols[0], sizeof(st_attachment)};

/* ST_SQL_IDEM_GET (principal and key are the caller's) */
static const st_col st_idem_cols[] = {COL(st_idem, fingerprint, TEXT), COL(st_idem, status, INT),
                                      COL(st_idem, body, TEXT), COL(st_idem, created_at, I64)};
const st_row st_idem_row = {st_idem_cols, sizeof st_idem_cols / sizeof st_idem_cols[0], sizeof(st_idem)};

/* ST_SLA_OUT_COLS */
ROW(sla_outcome, COL(sla_outcome, msg_id, I64), COL(sla_outcome, thread_id, I64), COL(sla_outcome, received_at, I64),
    COL(sla_outcome, flagged, BOOL), COL(sla_outcome, answered, BOOL), COL(sla_outcome, answered_at, I64),
    COL(sla_outcome, response_s, I64), COL(sla_outcome, agent_id, I64), COL(sla_outcome, reply_seq, I64));

/* store_clock.c's open messages */
ROW(sla_open_msg, COL(sla_open_msg, msg_id, I64), COL(sla_open_msg, thread_id, I64),
    COL(sla_open_msg, received_at, I64), COL(sla_open_msg, ref, TEXT));

/* A seller as the clock's sweeps list them: no address. */
static const st_col st_seller_brief_cols[] = {COL(st_seller, id, TEXT), COL(st_seller, marketplace_id, TEXT),
                                              COL(st_seller, name, TEXT), COL(st_seller, alias, TEXT),
                                              COL(st_seller, created_at, I64)};
const st_row st_seller_brief_row = {st_seller_brief_cols, sizeof st_seller_brief_cols / sizeof st_seller_brief_cols[0],
                                    sizeof(st_seller)};

/* A thread as the deadline sweep reads it: whose it is and when it is due. */
static const st_col st_thread_due_cols[] = {COL(st_thread, id, I64), COL(st_thread, seller_id, TEXT),
                                            COL(st_thread, buyer_id, TEXT), COL(st_thread, marketplace_id, TEXT),
                                            COL(st_thread, response_due_at, I64)};
const st_row st_thread_due_row = {st_thread_due_cols, sizeof st_thread_due_cols / sizeof st_thread_due_cols[0],
                                  sizeof(st_thread)};

ROW(st_text, COL(st_text, v, TEXT));

/* ST_WEBHOOK_COLS */
ROW(st_webhook, COL(st_webhook, id, I64), COL(st_webhook, owner, TEXT), COL(st_webhook, seller_id, TEXT),
    COL(st_webhook, marketplace_id, TEXT), COL(st_webhook, url, TEXT), COL(st_webhook, events_json, TEXT),
    COL(st_webhook, secret_sealed, TEXT), COL(st_webhook, previous_secret_sealed, TEXT),
    COL(st_webhook, previous_until, I64), COL(st_webhook, active, BOOL), COL(st_webhook, failing_since, I64), COL(st_webhook, paused_until, I64),
    COL(st_webhook, disabled_reason, TEXT), COL(st_webhook, created_at, I64), COL(st_webhook, updated_at, I64));

/* ST_DELIVERY_COLS */
ROW(st_webhook_delivery, COL(st_webhook_delivery, id, I64), COL(st_webhook_delivery, webhook_id, I64),
    COL(st_webhook_delivery, event_id, TEXT), COL(st_webhook_delivery, type, TEXT),
    COL(st_webhook_delivery, body, TEXT), COL(st_webhook_delivery, state, TEXT),
    COL(st_webhook_delivery, attempts, I64), COL(st_webhook_delivery, next_at, I64),
    COL(st_webhook_delivery, created_at, I64), COL(st_webhook_delivery, last_at, I64),
    COL(st_webhook_delivery, last_status, I64), COL(st_webhook_delivery, last_ms, I64),
    COL(st_webhook_delivery, last_answer, TEXT), COL(st_webhook_delivery, last_error, TEXT));

void st_col_set(const st_col *c, void *row, pl_arena *a, const char *text, size_t len, int64_t num) {
  char *f = (char *)row + c->offset;
  switch (c->kind) {
  case ST_COL_TEXT: {
    char *v = text ? pl_arena_strndup(a, text, len) : NULL;
    memcpy(f, &v, sizeof v);
    break;
  }
  case ST_COL_I64: memcpy(f, &num, sizeof num); break;
  case ST_COL_INT: *(int *)(void *)f = (int)num; break;
  case ST_COL_BOOL: *(bool *)(void *)f = num != 0; break;
  /* a stored name this build does not know reads as 0 (store.h) */
  case ST_COL_DIRECTION: (void)st_direction_from_name(text, (st_direction *)(void *)f); break;
  case ST_COL_MSG_KIND: (void)st_msg_kind_from_name(text, (st_msg_kind *)(void *)f); break;
  case ST_COL_MSG_STATUS: (void)st_msg_status_from_name(text, (st_msg_status *)(void *)f); break;
  case ST_COL_ORDER_STATUS: (void)st_order_status_from_name(text, (st_order_status *)(void *)f); break;
  case ST_COL_OUTBOX_KIND: (void)st_outbox_kind_from_name(text, (st_outbox_kind *)(void *)f); break;
  case ST_COL_OUTBOX_STATE: (void)st_outbox_state_from_name(text, (st_outbox_state *)(void *)f); break;
  case ST_COL_AGENT_ROLE: (void)st_agent_role_from_name(text, (st_agent_role *)(void *)f); break;
  case ST_COL_TOKEN_SCOPE: (void)st_token_scope_from_name(text, (st_token_scope *)(void *)f); break;
  case ST_COL_PROPOSAL_STATE: (void)st_proposal_state_from_name(text, (st_proposal_state *)(void *)f); break;
  case ST_COL_EVENT_TYPE: (void)st_event_type_from_name(text, (st_event_type *)(void *)f); break;
  case ST_COL_DOC_KIND: (void)st_doc_kind_from_name(text, (st_doc_kind *)(void *)f); break;
  case ST_COL_SEVERITY: (void)st_severity_from_name(text, (st_severity *)(void *)f); break;
  case ST_COL_PRINCIPAL:
    if (st_principal_kind_from_name(text, (st_principal_kind *)(void *)f))
      *(st_principal_kind *)(void *)f = ST_PRINCIPAL_BUYER; /* the least it may be (store.h) */
    break;
  }
}

/* store_notify.c */
ROW(st_seller_settings, COL(st_seller_settings, seller_id, TEXT), COL(st_seller_settings, notice_language, TEXT),
    COL(st_seller_settings, marketplace_fulfilled, BOOL), COL(st_seller_settings, email_sealed, TEXT),
    COL(st_seller_settings, email_requested_at, I64), COL(st_seller_settings, updated_at, I64));
ROW(st_agent_notify, COL(st_agent_notify, agent_id, I64), COL(st_agent_notify, seller_id, TEXT),
    COL(st_agent_notify, role, AGENT_ROLE), COL(st_agent_notify, mode, TEXT), COL(st_agent_notify, scope, TEXT),
    COL(st_agent_notify, email, BOOL), COL(st_agent_notify, browser, BOOL), COL(st_agent_notify, digest_at, I64),
    COL(st_agent_notify, address_id, I64));
ROW(st_policy_example, COL(st_policy_example, id, I64), COL(st_policy_example, marketplace_id, TEXT),
    COL(st_policy_example, seller_id, TEXT), COL(st_policy_example, message_id, I64),
    COL(st_policy_example, label, TEXT), COL(st_policy_example, categories, TEXT), COL(st_policy_example, text, TEXT),
    COL(st_policy_example, decided_by, TEXT), COL(st_policy_example, decided_at, I64));
ROW(st_policy_example_counts, COL(st_policy_example_counts, total, I64),
    COL(st_policy_example_counts, violations, I64), COL(st_policy_example_counts, since, I64));
ROW(st_policy_model, COL(st_policy_model, marketplace_id, TEXT), COL(st_policy_model, version, TEXT),
    COL(st_policy_model, model, TEXT), COL(st_policy_model, examples, I64), COL(st_policy_model, trained_by, TEXT),
    COL(st_policy_model, trained_at, I64));
ROW(st_claim, COL(st_claim, id, I64), COL(st_claim, order_id, TEXT), COL(st_claim, seller_id, TEXT),
    COL(st_claim, kind, TEXT), COL(st_claim, at, I64), COL(st_claim, created_at, I64));
ROW(st_pair, COL(st_pair, a, I64), COL(st_pair, b, I64));

/* store_suggest.c: a template's id and rank; a past reply */
ROW(st_suggest_template, COL(st_suggest_template, id, I64), COL(st_suggest_template, rank, I64));
ROW(st_suggest_reply, COL(st_suggest_reply, asked_id, I64), COL(st_suggest_reply, thread_id, I64),
    COL(st_suggest_reply, reply_id, I64), COL(st_suggest_reply, rank, I64), COL(st_suggest_reply, asked_text, TEXT),
    COL(st_suggest_reply, reply_text, TEXT), COL(st_suggest_reply, topic, TEXT), COL(st_suggest_reply, order_id, TEXT),
    COL(st_suggest_reply, buyer_name, TEXT), COL(st_suggest_reply, buyer_locale, TEXT));
