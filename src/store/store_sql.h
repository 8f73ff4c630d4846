/* store_sql.h - the SQL that both backends run, written once with SQLite's ?N placeholders.
 *
 * A statement whose text is the same on SQLite and PostgreSQL lives here; the PostgreSQL
 * backend rewrites ?N to $N once, when it prepares the statement (pg__dollars,
 * store_pg.c). A backend may append its own tail (PostgreSQL's RETURNING id, ON CONFLICT
 * DO NOTHING, row locks). Statements that differ in more than placeholders (casts, full-text
 * search, booleans) stay in their backend. */
#ifndef PL_STORE_SQL_H
#define PL_STORE_SQL_H

/* The columns of a thread row (st_thread), with the names shown beside it. */
#define ST_THREAD_COLS                                                                        \
  "t.id, t.seller_id, t.buyer_id, t.marketplace_id, t.order_id, t.asin, t.topic, t.archived," \
  " t.waiting, t.needs_response, t.created_at, t.last_message_at, t.last_buyer_at,"         \
  " t.last_seller_at, t.seller_read_id, t.buyer_read_id, t.response_due_at,"                \
  " (SELECT al.alias FROM aliases al WHERE al.marketplace_id = t.marketplace_id"            \
  "   AND al.buyer_id = t.buyer_id AND al.seller_id = t.seller_id),"                        \
  " (SELECT b.name FROM buyers b WHERE b.id = t.buyer_id),"                                 \
  " (SELECT sl.name FROM sellers sl WHERE sl.id = t.seller_id),"                            \
  " t.last_buyer_id, t.last_seller_id, t.buyer_last_at"

/* The columns of a message row (st_message): the message m and its state s. */
#define ST_MSG_COLS                                                                             \
  "m.id, m.thread_id, m.agent_id, m.seller_id, m.ext_id, m.direction, m.kind, m.text, m.at," \
  " m.policy_action, m.policy_engine, m.policy_json, s.status, s.flagged, s.status_at,"      \
  " m.action, m.critical, m.proactive"

/* ---- the query tables of store_sqlite.c and store_pg.c (Q_*) ------------------------- */

#define ST_SQL_MARKET_PUT \
  "INSERT INTO marketplaces(id, name, locale, domains, settings)" \
  " VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (id) DO UPDATE SET" \
  " name = excluded.name, locale = excluded.locale," \
  " domains = excluded.domains, settings = excluded.settings"

#define ST_SQL_MARKET_GET \
  "SELECT id, name, locale, domains, settings FROM marketplaces WHERE id = ?1"

#define ST_SQL_SELLER_PUT \
  "INSERT INTO sellers(id, marketplace_id, name, email_sealed, alias, created_at)" \
  " VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (id) DO UPDATE SET" \
  " name = excluded.name, email_sealed = excluded.email_sealed"

#define ST_SQL_SELLER_GET \
  "SELECT id, marketplace_id, name, email_sealed, alias, created_at" \
  " FROM sellers WHERE id = ?1"

#define ST_SQL_AGENT_ADD \
  "INSERT INTO agents(seller_id, name, role) VALUES (?1, ?2, ?3)"

#define ST_SQL_AGENT_GET \
  "SELECT id, seller_id, name, role, deactivated_at FROM agents WHERE id = ?1"

#define ST_SQL_BUYER_PUT \
  "INSERT INTO buyers(id, name, locale, email_sealed, email_hash, opt_out, blocked_sellers)" \
  " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (id) DO UPDATE SET" \
  " name = excluded.name, locale = excluded.locale," \
  " email_sealed = excluded.email_sealed, email_hash = excluded.email_hash," \
  " opt_out = excluded.opt_out," \
  " blocked_sellers = coalesce(excluded.blocked_sellers, buyers.blocked_sellers)"

#define ST_SQL_BUYER_GET \
  "SELECT id, name, locale, email_sealed, email_hash, opt_out, blocked_sellers FROM buyers" \
  " WHERE id = ?1"

#define ST_SQL_ALIAS_GET \
  "SELECT alias FROM aliases WHERE marketplace_id = ?1 AND buyer_id = ?2" \
  " AND seller_id = ?3"

#define ST_SQL_ALIAS_PUT \
  "INSERT INTO aliases(alias, marketplace_id, buyer_id, seller_id, created_at)" \
  " VALUES (?1, ?2, ?3, ?4, ?5)"

#define ST_SQL_TOKEN_DEL \
  "DELETE FROM tokens WHERE hash = ?1"

#define ST_SQL_ORDER_PUT \
  "INSERT INTO orders(id, marketplace_id, seller_id, buyer_id, status," \
  " purchased_at, shipped_at, delivered_at, updated_at, negative_feedback, fulfilled_by," \
  " ship_country, carrier, tracking, promised_at, return_state)" \
  " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16) ON CONFLICT (id) DO UPDATE SET" \
  " status = excluded.status, purchased_at = excluded.purchased_at," \
  " shipped_at = excluded.shipped_at, delivered_at = excluded.delivered_at," \
  " updated_at = excluded.updated_at," \
  " negative_feedback = excluded.negative_feedback, fulfilled_by = excluded.fulfilled_by," \
  " ship_country = excluded.ship_country, carrier = excluded.carrier, tracking = excluded.tracking," \
  " promised_at = excluded.promised_at, return_state = excluded.return_state" \
  " WHERE orders.seller_id = excluded.seller_id" \
  " AND orders.buyer_id = excluded.buyer_id"

#define ST_SQL_ORDER_ITEMS_DEL \
  "DELETE FROM order_items WHERE order_id = ?1 AND seller_id = ?2"

#define ST_SQL_ORDER_ITEM_PUT \
  "INSERT INTO order_items(order_id, seller_id, pos, asin, title, quantity," \
  " price, currency) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"

#define ST_SQL_ORDER_GET \
  "SELECT id, marketplace_id, seller_id, buyer_id, status, purchased_at," \
  " shipped_at, delivered_at, updated_at, negative_feedback, fulfilled_by = 'marketplace'," \
  " ship_country, carrier, tracking, promised_at, return_state" \
  " FROM orders WHERE id = ?1"

#define ST_SQL_ORDER_ITEMS_GET \
  "SELECT asin, title, quantity, price, currency FROM order_items" \
  " WHERE order_id = ?1 ORDER BY pos"

#define ST_SQL_THREAD_INSERT \
  "INSERT INTO threads(seller_id, buyer_id, marketplace_id, order_id, asin," \
  " topic, archived, waiting, needs_response, created_at, last_message_at," \
  " last_buyer_at, last_seller_at, seller_read_id, buyer_read_id," \
  " response_due_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11," \
  " ?12, ?13, ?14, ?15, ?16)"

#define ST_SQL_THREAD_GET \
  "SELECT " ST_THREAD_COLS " FROM threads t WHERE t.id = ?1"

#define ST_SQL_THREAD_FIND_ORDER \
  "SELECT " ST_THREAD_COLS " FROM threads t WHERE t.order_id = ?1"

#define ST_SQL_THREAD_FIND_PRODUCT \
  "SELECT " ST_THREAD_COLS " FROM threads t WHERE t.seller_id = ?1" \
  " AND t.buyer_id = ?2 AND t.asin = ?3"

#define ST_SQL_THREAD_UPDATE \
  "UPDATE threads SET topic = ?3, archived = ?4, waiting = ?5," \
  " needs_response = ?6, last_message_at = ?7, last_buyer_at = ?8," \
  " last_seller_at = ?9, seller_read_id = ?10, buyer_read_id = ?11," \
  " response_due_at = ?12, buyer_last_at = ?13, last_buyer_id = ?14," \
  " last_seller_id = ?15 WHERE id = ?1 AND seller_id = ?2"

#define ST_SQL_MSG_INSERT \
  "INSERT INTO messages(thread_id, seller_id, ext_id, direction, kind, agent_id," \
  " text, at, policy_action, policy_engine, policy_json, action, critical," \
  " proactive) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"

#define ST_SQL_MSG_SELLER_PENDING \
  "SELECT " ST_MSG_COLS " FROM messages m LEFT JOIN message_state s" \
  " ON s.message_id = m.id WHERE m.direction = 'buyer' AND NOT EXISTS" \
  " (SELECT 1 FROM seller_search ss WHERE ss.message_id = m.id)" \
  " ORDER BY m.id LIMIT ?1"

#define ST_SQL_MSG_GET \
  "SELECT " ST_MSG_COLS " FROM messages m LEFT JOIN message_state s" \
  " ON s.message_id = m.id WHERE m.id = ?1"

#define ST_SQL_MSG_GET_EXT \
  "SELECT " ST_MSG_COLS " FROM messages m LEFT JOIN message_state s" \
  " ON s.message_id = m.id WHERE m.ext_id = ?1"

#define ST_SQL_MSG_LIST \
  "SELECT " ST_MSG_COLS " FROM messages m LEFT JOIN message_state s" \
  " ON s.message_id = m.id WHERE m.thread_id = ?1 ORDER BY m.at, m.id"

#define ST_SQL_EVENT_INSERT \
  "INSERT INTO message_events(message_id, thread_id, seller_id, type, value," \
  " actor, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"

#define ST_SQL_STATE_FLAG \
  "UPDATE message_state SET flagged = ?2 WHERE message_id = ?1"

#define ST_SQL_EVENT_LIST \
  "SELECT id, message_id, thread_id, seller_id, type, value, actor, at" \
  " FROM message_events WHERE message_id IN (SELECT id FROM messages WHERE thread_id = ?1)" \
  " ORDER BY id"

#define ST_SQL_PING \
  "SELECT 1"

#define ST_SQL_RR_PUT \
  "INSERT INTO review_requests(order_id, seller_id, message_id, at)" \
  " VALUES (?1, ?2, ?3, ?4)"

#define ST_SQL_RR_GET \
  "SELECT at FROM review_requests WHERE order_id = ?1"

#define ST_SQL_VIOL_ADD \
  "INSERT INTO violations(seller_id, at, message_id, category, severity, rule)" \
  " VALUES (?1, ?2, ?3, ?4, ?5, ?6)"

#define ST_SQL_VIOL_LIST \
  "SELECT id, seller_id, at, message_id, category, severity, rule FROM violations" \
  " WHERE seller_id = ?1 AND at >= ?2 ORDER BY at DESC, id DESC LIMIT ?3"

#define ST_SQL_ENF_GET \
  "SELECT seller_id, warnings, restricted_until, restriction_reason, quota_per_day," \
  " quota_until, quota_reason, suspension_flag, suspension_reason, updated_at" \
  " FROM enforcement WHERE seller_id = ?1"

#define ST_SQL_ENF_PUT \
  "INSERT INTO enforcement(seller_id, warnings, restricted_until, restriction_reason," \
  " quota_per_day, quota_until, quota_reason, suspension_flag, suspension_reason," \
  " updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)" \
  " ON CONFLICT (seller_id) DO UPDATE SET warnings = excluded.warnings," \
  " restricted_until = excluded.restricted_until," \
  " restriction_reason = excluded.restriction_reason," \
  " quota_per_day = excluded.quota_per_day, quota_until = excluded.quota_until," \
  " quota_reason = excluded.quota_reason, suspension_flag = excluded.suspension_flag," \
  " suspension_reason = excluded.suspension_reason, updated_at = excluded.updated_at"

/* ---- attachments (store_attach.c) -------------------------------------------------- */

#define ST_ATTACH_COLS "id, seller_id, buyer_id, uploader, name, kind, sha256, size, readable, reason, created_at"

#define ST_ATTACH_LINK_COLS "l.message_id, l.thread_id, a.id, a.name, a.kind, a.size"

#define ST_SQL_ATTACHMENT_PUT \
  "INSERT INTO attachments(" ST_ATTACH_COLS ", segments)" \
  " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"

#define ST_SQL_ATTACHMENT_GET_SEGMENTS \
  "SELECT " ST_ATTACH_COLS ", segments FROM attachments WHERE id = ?1"

#define ST_SQL_ATTACHMENT_GET_NO_SEGMENTS \
  "SELECT " ST_ATTACH_COLS " FROM attachments WHERE id = ?1"

#define ST_SQL_ATTACHMENT_LIST_THREAD \
  "SELECT " ST_ATTACH_LINK_COLS " FROM message_attachments l JOIN attachments a" \
  " ON a.id = l.attachment_id WHERE l.thread_id = ?1" \
  " ORDER BY l.message_id, l.pos"

#define ST_SQL_ATTACHMENT_USES \
  "SELECT " ST_ATTACH_LINK_COLS " FROM message_attachments l JOIN attachments a" \
  " ON a.id = l.attachment_id WHERE l.attachment_id = ?1" \
  " ORDER BY l.message_id LIMIT 1000"

/* ---- the audit log (store_*_audit.c) ------------------------------------------------- */

#define ST_AUDIT_COLS "id, seller_id, at, actor, action, subject, detail, prev_hash, hash, chain, seq"

#define ST_SQL_AUDIT_APPEND \
  "INSERT INTO audit_heads(chain, seq, hash) VALUES (?1, 0, coalesce(" \
  "(SELECT hash FROM audit WHERE chain IS NULL ORDER BY id DESC LIMIT 1)," \
  " '0000000000000000000000000000000000000000000000000000000000000000'))" \
  " ON CONFLICT(chain) DO NOTHING"

#define ST_SQL_AUDIT_LIST \
  "SELECT " ST_AUDIT_COLS " FROM audit WHERE subject = ?1 ORDER BY id"

#define ST_SQL_AUDIT_CHAIN \
  "SELECT " ST_AUDIT_COLS " FROM audit WHERE chain = ?1 AND seq > ?2" \
  " ORDER BY seq LIMIT ?3"

#define ST_SQL_AUDIT_CHECKPOINT_LIST \
  "SELECT id, at, nchains, root, heads, public_key, signature" \
  " FROM audit_checkpoints ORDER BY id"

/* ---- identities (store_ident.c) ---------------------------------------------------- */

#define ST_TOKEN_COLS                                                                          \
  "kind, subject, seller_id, marketplace_id, expires_at, id, scope, parent_id, created_at," \
  " last_used_at, revoked_at, user_agent"

#define ST_SQL_TOKEN_GET \
  "SELECT " ST_TOKEN_COLS " FROM tokens WHERE hash = ?1"

#define ST_SQL_TOKEN_GET_ID \
  "SELECT " ST_TOKEN_COLS " FROM tokens WHERE id = ?1"

#define ST_SQL_TOKEN_REVOKE \
  "UPDATE tokens SET revoked_at = ?2" \
  " WHERE (id = ?1 OR parent_id = ?1) AND revoked_at = 0"

#define ST_SQL_TOKEN_REVOKE_SUBJECT \
  "UPDATE tokens SET revoked_at = ?3" \
  " WHERE kind = ?1 AND subject = ?2 AND revoked_at = 0"

#define ST_SQL_TOKEN_TOUCH \
  "UPDATE tokens SET last_used_at = ?2 WHERE id = ?1" \
  " AND last_used_at < ?2"

#define ST_SQL_AGENT_DEACTIVATE \
  "UPDATE agents SET deactivated_at = ?2 WHERE id = ?1"

#define ST_SQL_AGENT_UNASSIGN_ALL \
  "UPDATE thread_team SET assignee_id = 0" \
  " WHERE seller_id = ?1 AND assignee_id = ?2"

/* ---- key rotation (store_keys.c) --------------------------------------------------- */

#define ST_SQL_SEALED_COUNT_SELLER \
  "SELECT count(*) FROM sellers WHERE email_sealed IS NOT NULL AND substr(email_sealed, 1, length(?1)) = ?1"

#define ST_SQL_SEALED_COUNT_BUYER \
  "SELECT count(*) FROM buyers WHERE email_sealed IS NOT NULL AND substr(email_sealed, 1, length(?1)) = ?1"

#define ST_SQL_SEALED_COUNT_ADDRESS \
  "SELECT count(*) FROM agent_addresses WHERE substr(email_sealed, 1, length(?1)) = ?1"

/* ---- unattached uploads and idempotency keys (store_attach.c) ---------------------------------- */

#define ST_SQL_ATTACHMENT_DELETE \
  "DELETE FROM attachments WHERE id = ?1 AND NOT EXISTS" \
  " (SELECT 1 FROM message_attachments l WHERE l.attachment_id = ?1)"

#define ST_SQL_ATTACHMENT_SHA_COUNT \
  "SELECT count(*) FROM attachments WHERE sha256 = ?1"

#define ST_SQL_IDEM_GET \
  "SELECT fingerprint, status, body, created_at FROM idempotency_keys" \
  " WHERE principal = ?1 AND key = ?2"

#define ST_SQL_IDEM_RELEASE \
  "DELETE FROM idempotency_keys WHERE principal = ?1 AND key = ?2"

/* ---- the outbox and the e-mail look-ups (store_mail.c) ----------------------------- */

#define ST_OUTBOX_COLS \
  "id, seller_id, coalesce(message_id, 0), kind, state, attempts, next_at, created_at, sent_at, last_error," \
  " agent_id, payload"

#define ST_ADDR_COLS "id, seller_id, agent_id, email_sealed, email_hash, created_at"

#define ST_SQL_OUTBOX_UPDATE \
  "UPDATE outbox SET state = ?2, attempts = ?3, next_at = ?4, sent_at = ?5," \
  " last_error = ?6 WHERE id = ?1"

#define ST_SQL_OPS_FIGURES \
  "SELECT 'outbox', kind, count(*), coalesce(min(created_at), 0) FROM outbox" \
  " WHERE state = 'pending' GROUP BY kind" \
  " UNION ALL SELECT 'held', '', count(*), coalesce(min(status_at), 0)" \
  " FROM message_state WHERE status = 'held_for_review'"

#define ST_SQL_ALIAS_FIND \
  "SELECT marketplace_id, buyer_id, seller_id FROM aliases WHERE alias = ?1"

#define ST_SQL_SELLER_FIND_ALIAS \
  "SELECT id, marketplace_id, name, email_sealed, alias, created_at" \
  " FROM sellers WHERE alias = ?1"

#define ST_SQL_BUYER_FIND_EMAIL \
  "SELECT id, name, locale, email_sealed, email_hash, opt_out, blocked_sellers FROM buyers" \
  " WHERE email_hash = ?1 ORDER BY id LIMIT 1"

#define ST_SQL_AGENT_FIND \
  "SELECT id, seller_id, name, role, deactivated_at FROM agents WHERE seller_id = ?1" \
  " AND name = ?2 ORDER BY id LIMIT 1"

#define ST_SQL_AGENT_ADDRESS_FIND \
  "SELECT " ST_ADDR_COLS " FROM agent_addresses WHERE seller_id = ?1" \
  " AND email_hash = ?2"

/* ---- the 24-hour clock (store_*_sla.c) ----------------------------------------------- */

#define ST_SLA_SELLER_COLS                                                                     \
  "m.thread_id, COALESCE(m.agent_id, 0), m.at, m.id, m.kind,"                          \
  " (SELECT min(e.at) FROM message_events e WHERE e.message_id = m.id"                  \
  "  AND e.type = 'status' AND e.value = 'delivered')"

#define ST_SLA_OUT_COLS "message_id, thread_id, received_at, flagged, answered, answered_at, response_s," \
                 " agent_id, reply_seq"

#define ST_SLA_BEFORE_REPLY " AND (received_at < ?2 OR (received_at = ?2 AND message_id < ?3))"

#define ST_SLA_BUCKET_COLS "hour, agent_id, received, flagged, open, rt_sum, rt, threads, resolved_one, resolved_two"

/* A buyer message whose order was canceled while it waited is no buyer message for the
 * clock (svc__order_canceled): it has a flag event "canceled". */
#define ST_SLA_NOT_CANCELED \
  " AND NOT EXISTS (SELECT 1 FROM message_events c WHERE c.message_id = m.id AND c.type = 'flag'" \
  " AND c.value = 'canceled')"

#define ST_SQL_SLA_BUYER_THREAD \
  "SELECT m.id, m.thread_id, m.at, m.ext_id FROM messages m WHERE m.thread_id = ?1 AND m.direction = 'buyer'" \
  " AND m.kind <> 'auto_reply'" ST_SLA_NOT_CANCELED

#define ST_SQL_SLA_SELLER_THREAD \
  "SELECT " ST_SLA_SELLER_COLS \
  " FROM messages m WHERE m.thread_id = ?1 AND m.direction = 'seller'"

#define ST_SQL_SLA_FLAG_THREAD \
  "SELECT message_id, at, id, value FROM message_events" \
  " WHERE message_id IN (SELECT id FROM messages WHERE thread_id = ?1) AND type = 'flag'"

#define ST_SQL_SLA_OUTCOMES_GET \
  "SELECT message_id, thread_id, received_at, flagged, answered, answered_at," \
  " response_s, agent_id, reply_seq FROM sla_outcomes WHERE thread_id = ?1" \
  " ORDER BY message_id"

#define ST_SQL_SLA_THREAD_OUTCOME_GET \
  "SELECT first_received_at, counted, resolved, exchanges, unflagged, open" \
  " FROM sla_thread_outcomes WHERE thread_id = ?1"

#define ST_SQL_SLA_OUTCOMES_PUT \
  "DELETE FROM sla_outcomes WHERE thread_id = ?1"

#define ST_SQL_SLA_OUTCOME_INSERT \
  "INSERT INTO sla_outcomes(message_id, seller_id, thread_id, received_at, flagged," \
  " answered, answered_at, response_s, agent_id, reply_seq)" \
  " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"

#define ST_SQL_SLA_THREAD_OUTCOME_DELETE \
  "DELETE FROM sla_thread_outcomes WHERE thread_id = ?1"

#define ST_SQL_SLA_THREAD_OUTCOME_SET \
  "INSERT INTO sla_thread_outcomes(thread_id, seller_id, first_received_at, counted," \
  " resolved, exchanges, unflagged, open) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)" \
  " ON CONFLICT(thread_id) DO UPDATE SET first_received_at = excluded.first_received_at," \
  " counted = excluded.counted, resolved = excluded.resolved," \
  " exchanges = excluded.exchanges, unflagged = excluded.unflagged, open = excluded.open"

#define ST_SQL_SLA_OUTCOME_GET \
  "SELECT " ST_SLA_OUT_COLS " FROM sla_outcomes WHERE message_id = ?1"

#define ST_SQL_SLA_OUTCOME_SET \
  "INSERT INTO sla_outcomes(message_id, seller_id, thread_id, received_at, flagged," \
  " answered, answered_at, response_s, agent_id, reply_seq)" \
  " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)" \
  " ON CONFLICT(message_id) DO UPDATE SET received_at = excluded.received_at," \
  " flagged = excluded.flagged, answered = excluded.answered," \
  " answered_at = excluded.answered_at, response_s = excluded.response_s," \
  " agent_id = excluded.agent_id, reply_seq = excluded.reply_seq"

#define ST_SQL_SLA_FLAG_STATE \
  "SELECT value FROM message_events WHERE message_id = ?1 AND type = 'flag'" \
  " ORDER BY at DESC, id DESC LIMIT 1"

#define ST_SQL_SLA_BUCKET_GET \
  "SELECT " ST_SLA_BUCKET_COLS " FROM sla_buckets" \
  " WHERE seller_id = ?1 AND hour = ?2 AND agent_id = ?3"

#define ST_SQL_SLA_BUCKET_PUT \
  "DELETE FROM sla_buckets WHERE seller_id = ?1 AND hour = ?2 AND agent_id = ?3"

#define ST_SQL_SLA_BUCKET_RANGE \
  "SELECT " ST_SLA_BUCKET_COLS " FROM sla_buckets" \
  " WHERE seller_id = ?1 AND hour >= ?2 AND hour <= ?3"

#define ST_SQL_COUNTER_GET \
  "SELECT value FROM counters WHERE name = ?1"

/* ---- SP-API (store_spapi.c) -------------------------------------------------------- */

#define ST_CLIENT_COLS "client_id, seller_id, agent_id, secret_hash, refresh_hash, created_at"

#define ST_UPLOAD_COLS "id, seller_id, resource, content_md5, content_type, attachment_id, created_at, expires_at"

#define ST_SQL_SPAPI_CLIENT_PUT \
  "INSERT INTO spapi_clients(" ST_CLIENT_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6)" \
  " ON CONFLICT(client_id) DO UPDATE SET agent_id = excluded.agent_id," \
  " secret_hash = excluded.secret_hash, refresh_hash = excluded.refresh_hash"

#define ST_SQL_SPAPI_CLIENT_GET \
  "SELECT " ST_CLIENT_COLS " FROM spapi_clients WHERE client_id = ?1"

#define ST_SQL_SPAPI_CLIENT_BY_SELLER \
  "SELECT " ST_CLIENT_COLS " FROM spapi_clients WHERE seller_id = ?1"

#define ST_SQL_SPAPI_UPLOAD_PUT \
  "INSERT INTO spapi_uploads(" ST_UPLOAD_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)" \
  " ON CONFLICT(id) DO UPDATE SET attachment_id = excluded.attachment_id"

#define ST_SQL_SPAPI_UPLOAD_GET \
  "SELECT " ST_UPLOAD_COLS " FROM spapi_uploads WHERE id = ?1"

/* ---- team work (store_team.c) ------------------------------------------------------ */

#define ST_DOC_COLS "id, seller_id, kind, state, body, created_at, updated_at"

#define ST_LOCK_COLS "thread_id, agent_id, agent_name, since, expires_at"

#define ST_SQL_TEAM_DOC_PUT \
  "UPDATE team_docs SET state = ?4, body = ?5, updated_at = ?6" \
  " WHERE id = ?1 AND seller_id = ?2 AND kind = ?3"

#define ST_SQL_TEAM_DOC_GET \
  "SELECT " ST_DOC_COLS " FROM team_docs" \
  " WHERE id = ?1 AND seller_id = ?2 AND kind = ?3"

#define ST_SQL_TEAM_DOC_DELETE \
  "DELETE FROM team_docs WHERE id = ?1 AND seller_id = ?2" \
  " AND kind = ?3"

#define ST_SQL_TEAM_AGENT_PUT \
  "INSERT INTO agent_status(agent_id, seller_id, available, last_assigned_at)" \
  " VALUES (?1, ?2, ?3, ?4) ON CONFLICT(agent_id) DO UPDATE SET" \
  " available = excluded.available, last_assigned_at = excluded.last_assigned_at"

#define ST_SQL_THREAD_TEAM_GET \
  "SELECT thread_id, seller_id, assignee_id, priority, tags" \
  " FROM thread_team WHERE thread_id = ?1"

#define ST_SQL_THREAD_TEAM_PUT \
  "INSERT INTO thread_team(thread_id, seller_id, assignee_id, priority, tags)" \
  " VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT(thread_id) DO UPDATE SET" \
  " assignee_id = excluded.assignee_id, priority = excluded.priority," \
  " tags = excluded.tags"

#define ST_SQL_THREAD_LOCK_TAKE \
  "INSERT INTO thread_locks(thread_id, seller_id, agent_id, agent_name, since," \
  " expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(thread_id) DO UPDATE SET" \
  " since = CASE WHEN thread_locks.agent_id = excluded.agent_id" \
  "   AND thread_locks.expires_at > ?5 THEN thread_locks.since ELSE excluded.since END," \
  " agent_id = excluded.agent_id, agent_name = excluded.agent_name," \
  " expires_at = excluded.expires_at" \
  " WHERE thread_locks.expires_at <= ?5 OR thread_locks.agent_id = excluded.agent_id"

#define ST_SQL_THREAD_LOCK_GET \
  "SELECT " ST_LOCK_COLS " FROM thread_locks" \
  " WHERE thread_id = ?1 AND expires_at > ?2"

#define ST_SQL_THREAD_LOCK_RELEASE \
  "UPDATE thread_locks SET expires_at = 0" \
  " WHERE thread_id = ?1 AND agent_id = ?2"

/* ---- the thread tail and the rest of store_sqlite.c / store_pg.c --------------------- */

#define ST_SQL_THREAD_TAIL_LAST_BUYER \
  "SELECT at FROM messages WHERE thread_id = ?1 AND direction = 'buyer'" \
  " AND kind <> 'auto_reply' ORDER BY at DESC, id DESC LIMIT 1"

#define ST_SQL_THREAD_TAIL_LAST_REPLY \
  "SELECT m.at, m.id FROM messages m JOIN message_state s ON s.message_id = m.id" \
  " WHERE m.thread_id = ?1 AND m.direction = 'seller' AND m.kind = 'message'" \
  " AND s.status = 'delivered' ORDER BY m.at DESC, m.id DESC LIMIT 1"

#define ST_SQL_THREAD_TAIL \
  "SELECT " ST_MSG_COLS " FROM messages m LEFT JOIN message_state s ON s.message_id = m.id" \
  " WHERE m.thread_id = ?1 AND m.at >= ?2 AND (m.at > ?2 OR m.id >= ?3) ORDER BY m.at, m.id"

/* ---- webhooks (store_webhook.c) ----------------------------------------------------- */

#define ST_WEBHOOK_COLS                                                                                   \
  "id, owner, seller_id, marketplace_id, url, events, secret_sealed, previous_secret_sealed, previous_until,"   \
  " active, failing_since, paused_until, disabled_reason, created_at, updated_at"

#define ST_DELIVERY_COLS                                                                             \
  "id, webhook_id, event_id, type, body, state, attempts, next_at, created_at, last_at, last_status," \
  " last_ms, last_answer, last_error"

#endif
