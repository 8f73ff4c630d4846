/* store_sqlite_schema.h - the SQLite schema as versioned migrations, applied in order at open. */
#ifndef PL_STORE_SQLITE_SCHEMA_H
#define PL_STORE_SQLITE_SCHEMA_H

/* What template_fts indexes of a template row (b: the row's name in the statement): its
 * name and the text of every variant. */
#define SQ_TEMPLATE_TEXT(b)                                                                   \
  "coalesce(json_extract(" b ".body, '$.name'), '') || ' ' || coalesce((SELECT"               \
  " group_concat(value, ' ') FROM json_each(" b ".body, '$.variants')), '')"

static const char *const store_sqlite_migrations[] = {
    /* 1: the base schema. */
    "CREATE TABLE marketplaces("
    "  id TEXT PRIMARY KEY, name TEXT NOT NULL, locale TEXT NOT NULL,"
    "  domains TEXT NOT NULL DEFAULT '[]', settings TEXT NOT NULL DEFAULT '{}');"
    "CREATE TABLE sellers("
    "  id TEXT PRIMARY KEY, marketplace_id TEXT NOT NULL REFERENCES marketplaces(id),"
    "  name TEXT NOT NULL, email_sealed TEXT, alias TEXT NOT NULL UNIQUE,"
    "  created_at INTEGER NOT NULL);"
    "CREATE TABLE agents("
    "  id INTEGER PRIMARY KEY, seller_id TEXT NOT NULL REFERENCES sellers(id),"
    "  name TEXT NOT NULL, role TEXT NOT NULL CHECK (role IN ('owner','agent','read_only')));"
    "CREATE INDEX agents_seller ON agents(seller_id);"
    "CREATE TABLE buyers("
    "  id TEXT PRIMARY KEY, name TEXT NOT NULL, locale TEXT NOT NULL,"
    "  email_sealed TEXT, email_hash TEXT, opt_out INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX buyers_email_hash ON buyers(email_hash);"
    "CREATE TABLE aliases("
    "  alias TEXT PRIMARY KEY, marketplace_id TEXT NOT NULL REFERENCES marketplaces(id),"
    "  buyer_id TEXT NOT NULL REFERENCES buyers(id), seller_id TEXT NOT NULL REFERENCES sellers(id),"
    "  created_at INTEGER NOT NULL, UNIQUE (marketplace_id, buyer_id, seller_id));"
    "CREATE TABLE tokens("
    "  hash TEXT PRIMARY KEY, kind TEXT NOT NULL CHECK (kind IN ('operator','agent','buyer')),"
    "  subject TEXT NOT NULL, seller_id TEXT, marketplace_id TEXT,"
    "  created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE orders("
    "  id TEXT PRIMARY KEY, marketplace_id TEXT NOT NULL REFERENCES marketplaces(id),"
    "  seller_id TEXT NOT NULL REFERENCES sellers(id), buyer_id TEXT NOT NULL REFERENCES buyers(id),"
    "  status TEXT NOT NULL CHECK (status IN ('pending','shipped','delivered','canceled')),"
    "  purchased_at INTEGER NOT NULL DEFAULT 0, shipped_at INTEGER NOT NULL DEFAULT 0,"
    "  delivered_at INTEGER NOT NULL DEFAULT 0, updated_at INTEGER NOT NULL);"
    "CREATE INDEX orders_seller ON orders(seller_id);"
    "CREATE TABLE order_items("
    "  order_id TEXT NOT NULL REFERENCES orders(id), seller_id TEXT NOT NULL,"
    "  pos INTEGER NOT NULL, asin TEXT, title TEXT, quantity INTEGER NOT NULL DEFAULT 1,"
    "  price TEXT, currency TEXT, PRIMARY KEY (order_id, pos));"
    "CREATE INDEX order_items_asin ON order_items(seller_id, asin);"
    "CREATE TABLE threads("
    "  id INTEGER PRIMARY KEY, seller_id TEXT NOT NULL REFERENCES sellers(id),"
    "  buyer_id TEXT NOT NULL REFERENCES buyers(id),"
    "  marketplace_id TEXT NOT NULL REFERENCES marketplaces(id),"
    "  order_id TEXT UNIQUE REFERENCES orders(id), asin TEXT, topic TEXT NOT NULL,"
    "  archived INTEGER NOT NULL DEFAULT 0, waiting INTEGER NOT NULL DEFAULT 0,"
    "  needs_response INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL,"
    "  last_message_at INTEGER NOT NULL, last_buyer_at INTEGER NOT NULL DEFAULT 0,"
    "  last_seller_at INTEGER NOT NULL DEFAULT 0, seller_read_at INTEGER NOT NULL DEFAULT 0,"
    "  buyer_read_at INTEGER NOT NULL DEFAULT 0, response_due_at INTEGER NOT NULL DEFAULT 0,"
    "  CHECK ((order_id IS NULL) <> (asin IS NULL)));"
    "CREATE UNIQUE INDEX threads_product ON threads(seller_id, buyer_id, asin)"
    "  WHERE asin IS NOT NULL;"
    "CREATE INDEX threads_seller_recent ON threads(seller_id, last_message_at DESC, id DESC);"
    "CREATE INDEX threads_buyer_recent ON threads(buyer_id, last_message_at DESC, id DESC);"
    "CREATE TABLE messages("
    "  id INTEGER PRIMARY KEY, thread_id INTEGER NOT NULL REFERENCES threads(id),"
    "  seller_id TEXT NOT NULL, ext_id TEXT UNIQUE,"
    "  direction TEXT NOT NULL CHECK (direction IN ('buyer','seller')),"
    "  kind TEXT NOT NULL CHECK (kind IN ('message','auto_reply','review_request','note')),"
    "  agent_id INTEGER, text TEXT NOT NULL, at INTEGER NOT NULL,"
    "  policy_action TEXT, policy_engine TEXT, policy_json TEXT);"
    "CREATE INDEX messages_thread ON messages(thread_id, id);"
    "CREATE INDEX messages_seller_at ON messages(seller_id, at);"
    "CREATE TRIGGER messages_no_update BEFORE UPDATE ON messages"
    "  BEGIN SELECT RAISE(ABORT, 'messages are append-only'); END;"
    "CREATE TRIGGER messages_no_delete BEFORE DELETE ON messages"
    "  BEGIN SELECT RAISE(ABORT, 'messages are append-only'); END;"
    "CREATE TABLE message_events("
    "  id INTEGER PRIMARY KEY, message_id INTEGER NOT NULL REFERENCES messages(id),"
    "  thread_id INTEGER NOT NULL, seller_id TEXT NOT NULL, type TEXT NOT NULL,"
    "  value TEXT NOT NULL, actor TEXT NOT NULL, at INTEGER NOT NULL);"
    "CREATE INDEX message_events_thread ON message_events(thread_id, id);"
    "CREATE INDEX message_events_seller_at ON message_events(seller_id, at);"
    "CREATE TRIGGER message_events_no_update BEFORE UPDATE ON message_events"
    "  BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;"
    "CREATE TRIGGER message_events_no_delete BEFORE DELETE ON message_events"
    "  BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;"
    "CREATE TABLE message_state("
    "  message_id INTEGER PRIMARY KEY REFERENCES messages(id), seller_id TEXT NOT NULL,"
    "  status TEXT NOT NULL, flagged INTEGER NOT NULL DEFAULT 0, status_at INTEGER NOT NULL);"
    "CREATE VIRTUAL TABLE messages_fts USING fts5(text, content='messages', content_rowid='id',"
    "  tokenize='unicode61 remove_diacritics 2');"
    "CREATE TABLE audit("
    "  id INTEGER PRIMARY KEY, seller_id TEXT, at INTEGER NOT NULL, actor TEXT NOT NULL,"
    "  action TEXT NOT NULL, subject TEXT NOT NULL, detail TEXT NOT NULL DEFAULT '{}',"
    "  prev_hash TEXT NOT NULL, hash TEXT NOT NULL);"
    "CREATE INDEX audit_subject ON audit(subject, id);"
    "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit"
    "  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;"
    "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit"
    "  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;",

    /* 2: marketplace rules: proactive messages, message actions, review requests,
     * enforcement and rate limits. */
    "ALTER TABLE orders ADD COLUMN negative_feedback INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE messages ADD COLUMN action TEXT;"
    "ALTER TABLE messages ADD COLUMN critical INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE messages ADD COLUMN proactive INTEGER NOT NULL DEFAULT 0;"
    "CREATE TABLE review_requests("
    "  order_id TEXT PRIMARY KEY REFERENCES orders(id), seller_id TEXT NOT NULL,"
    "  message_id INTEGER NOT NULL REFERENCES messages(id), at INTEGER NOT NULL);"
    "CREATE TABLE violations("
    "  id INTEGER PRIMARY KEY, seller_id TEXT NOT NULL REFERENCES sellers(id),"
    "  at INTEGER NOT NULL, message_id INTEGER, category TEXT NOT NULL,"
    "  severity TEXT NOT NULL CHECK (severity IN ('minor','severe')), rule TEXT);"
    "CREATE INDEX violations_seller_at ON violations(seller_id, at);"
    "CREATE TABLE enforcement("
    "  seller_id TEXT PRIMARY KEY REFERENCES sellers(id), warnings INTEGER NOT NULL DEFAULT 0,"
    "  restricted_until INTEGER NOT NULL DEFAULT 0, restriction_reason TEXT,"
    "  quota_per_day INTEGER NOT NULL DEFAULT 0, quota_until INTEGER NOT NULL DEFAULT 0,"
    "  quota_reason TEXT, suspension_flag INTEGER NOT NULL DEFAULT 0, suspension_reason TEXT,"
    "  updated_at INTEGER NOT NULL);"
    "CREATE TABLE rate_buckets("
    "  seller_id TEXT NOT NULL, operation TEXT NOT NULL, tokens REAL NOT NULL,"
    "  updated_at REAL NOT NULL, PRIMARY KEY (seller_id, operation));",

    /* 3: the 24-hour clock's aggregates: each buyer message's last applied outcome,
     * each thread's, and hourly buckets per seller and answering agent. */
    "CREATE TABLE sla_outcomes("
    "  message_id INTEGER PRIMARY KEY REFERENCES messages(id), seller_id TEXT NOT NULL,"
    "  thread_id INTEGER NOT NULL, received_at INTEGER NOT NULL, flagged INTEGER NOT NULL,"
    "  answered INTEGER NOT NULL, answered_at INTEGER NOT NULL, response_s INTEGER NOT NULL,"
    "  agent_id INTEGER NOT NULL, reply_seq INTEGER NOT NULL);"
    "CREATE INDEX sla_outcomes_thread ON sla_outcomes(thread_id);"
    "CREATE INDEX sla_outcomes_open ON sla_outcomes(seller_id, received_at)"
    "  WHERE flagged = 0 AND answered = 0;"
    "CREATE TABLE sla_thread_outcomes("
    "  thread_id INTEGER PRIMARY KEY REFERENCES threads(id), seller_id TEXT NOT NULL,"
    "  first_received_at INTEGER NOT NULL, counted INTEGER NOT NULL, resolved INTEGER NOT NULL,"
    "  exchanges INTEGER NOT NULL);"
    "CREATE TABLE sla_buckets("
    "  seller_id TEXT NOT NULL, hour INTEGER NOT NULL, agent_id INTEGER NOT NULL,"
    "  received INTEGER NOT NULL, flagged INTEGER NOT NULL, open INTEGER NOT NULL,"
    "  rt_sum INTEGER NOT NULL, rt BLOB, threads INTEGER NOT NULL,"
    "  resolved_one INTEGER NOT NULL, resolved_two INTEGER NOT NULL,"
    "  PRIMARY KEY (seller_id, hour, agent_id));",

    /* SP-API compatibility (docs/spapi.md): application credentials per seller, secrets
     * hashed, and upload destinations with the attachment each received. */
    "CREATE TABLE spapi_clients("
    "  client_id TEXT PRIMARY KEY, seller_id TEXT NOT NULL UNIQUE REFERENCES sellers(id),"
    "  agent_id INTEGER NOT NULL REFERENCES agents(id), secret_hash TEXT NOT NULL,"
    "  refresh_hash TEXT NOT NULL UNIQUE, created_at INTEGER NOT NULL);"
    "CREATE TABLE spapi_uploads("
    "  id TEXT PRIMARY KEY, seller_id TEXT NOT NULL REFERENCES sellers(id),"
    "  resource TEXT NOT NULL, content_md5 TEXT NOT NULL, content_type TEXT,"
    "  attachment_id TEXT, created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL);",

    /* The e-mail outbox (docs/postfix.md): mails to send, written with their message;
     * look-ups of agents by name for inbound mail. */
    "CREATE TABLE outbox("
    "  id INTEGER PRIMARY KEY, seller_id TEXT NOT NULL, message_id INTEGER NOT NULL"
    "  REFERENCES messages(id), kind TEXT NOT NULL CHECK (kind IN ('forward','refusal')),"
    "  state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending','sent','failed')),"
    "  attempts INTEGER NOT NULL DEFAULT 0, next_at INTEGER NOT NULL,"
    "  created_at INTEGER NOT NULL, sent_at INTEGER NOT NULL DEFAULT 0, last_error TEXT);"
    "CREATE INDEX outbox_due ON outbox(next_at, id) WHERE state = 'pending';"
    "CREATE INDEX agents_name ON agents(seller_id, name);",

    /* Attachments (docs/attachments.md): a record per upload, the file kept once per
     * content under <db>.files/; which messages carry which attachment. */
    "CREATE TABLE attachments("
    "  id TEXT PRIMARY KEY, seller_id TEXT, buyer_id TEXT, uploader TEXT NOT NULL,"
    "  name TEXT NOT NULL, kind TEXT NOT NULL, sha256 TEXT NOT NULL, size INTEGER NOT NULL,"
    "  readable INTEGER NOT NULL, reason TEXT, segments TEXT NOT NULL DEFAULT '[]',"
    "  created_at INTEGER NOT NULL);"
    "CREATE INDEX attachments_sha ON attachments(sha256);"
    "CREATE TABLE message_attachments("
    "  message_id INTEGER NOT NULL REFERENCES messages(id), thread_id INTEGER NOT NULL,"
    "  seller_id TEXT NOT NULL, attachment_id TEXT NOT NULL REFERENCES attachments(id),"
    "  pos INTEGER NOT NULL, PRIMARY KEY (message_id, attachment_id));"
    "CREATE INDEX message_attachments_thread ON message_attachments(thread_id);"
    "CREATE INDEX message_attachments_att ON message_attachments(attachment_id);",

    /* Team work (docs/team.md): templates, rules, proposals and rule firings as documents
     * per seller; agents' availability; threads' assignee, priority and tags; composition
     * locks with their expiry, shared by every node on the database. */
    "CREATE TABLE team_docs("
    "  id INTEGER PRIMARY KEY, seller_id TEXT NOT NULL REFERENCES sellers(id),"
    "  kind TEXT NOT NULL CHECK (kind IN ('template','rule','proposal','firing')),"
    "  state TEXT NOT NULL DEFAULT '', body TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);"
    "CREATE INDEX team_docs_seller ON team_docs(seller_id, kind, id);"
    "CREATE TABLE agent_status("
    "  agent_id INTEGER PRIMARY KEY REFERENCES agents(id), seller_id TEXT NOT NULL,"
    "  available INTEGER NOT NULL DEFAULT 1, last_assigned_at INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE thread_team("
    "  thread_id INTEGER PRIMARY KEY REFERENCES threads(id), seller_id TEXT NOT NULL,"
    "  assignee_id INTEGER NOT NULL DEFAULT 0, priority TEXT NOT NULL DEFAULT 'normal',"
    "  tags TEXT NOT NULL DEFAULT '');"
    "CREATE INDEX thread_team_assignee ON thread_team(seller_id, assignee_id);"
    "CREATE TABLE thread_locks("
    "  thread_id INTEGER PRIMARY KEY REFERENCES threads(id), seller_id TEXT NOT NULL,"
    "  agent_id INTEGER NOT NULL, agent_name TEXT NOT NULL, since INTEGER NOT NULL,"
    "  expires_at INTEGER NOT NULL);",

    /* A message's status events by message: the response clock reads each seller
     * message's delivery time. */
    "CREATE INDEX message_events_message ON message_events(message_id, type);",

    /* Counters every node reads: the policy's reload generation. */
    "CREATE TABLE counters(name TEXT PRIMARY KEY, value INTEGER NOT NULL);",

    /* Read marks by message id: a message in the same second as a read is still new. */
    "ALTER TABLE threads RENAME COLUMN seller_read_at TO seller_read_id;"
    "ALTER TABLE threads RENAME COLUMN buyer_read_at TO buyer_read_id;"
    "UPDATE threads SET seller_read_id = coalesce((SELECT max(m.id) FROM messages m"
    "  WHERE m.thread_id = threads.id AND m.at <= threads.seller_read_id), 0),"
    "  buyer_read_id = coalesce((SELECT max(m.id) FROM messages m"
    "  WHERE m.thread_id = threads.id AND m.at <= threads.buyer_read_id), 0);",

    /* Addresses agents write from by e-mail (docs/postfix.md, "Who speaks for a party"):
     * sealed, found by keyed hash, each once per seller. */
    "CREATE TABLE agent_addresses("
    "  id INTEGER PRIMARY KEY, seller_id TEXT NOT NULL REFERENCES sellers(id),"
    "  agent_id INTEGER NOT NULL REFERENCES agents(id), email_sealed TEXT NOT NULL,"
    "  email_hash TEXT NOT NULL, created_at INTEGER NOT NULL, UNIQUE (seller_id, email_hash));"
    "CREATE INDEX agent_addresses_agent ON agent_addresses(agent_id);",

    /* One audit chain per seller, and signed checkpoints over every head. Entries
     * written before keep chain NULL: the legacy chain, where every new chain begins. */
    "ALTER TABLE audit ADD COLUMN chain TEXT;"
    "ALTER TABLE audit ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;"
    "CREATE UNIQUE INDEX audit_chain_seq ON audit(chain, seq) WHERE chain IS NOT NULL;"
    "CREATE INDEX audit_legacy ON audit(id) WHERE chain IS NULL;"
    "CREATE TABLE audit_heads(chain TEXT PRIMARY KEY, seq INTEGER NOT NULL, hash TEXT NOT NULL);"
    "CREATE TABLE audit_checkpoints("
    "  id INTEGER PRIMARY KEY, at INTEGER NOT NULL, nchains INTEGER NOT NULL, root TEXT NOT NULL,"
    "  heads TEXT NOT NULL, public_key TEXT NOT NULL, signature TEXT NOT NULL);"
    "CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints"
    "  BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END;"
    "CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints"
    "  BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END;",

    /* The seller's search index of buyer messages: their text with the buyer's contact
     * details masked (docs/api.md "The buyer's contact details"), so that a seller's
     * search for a hidden phone number or address finds nothing. Masking needs the
     * content policy, so the service fills it for existing messages when it starts
     * (svc_seller_index_backfill); until then a message is not found by a seller. */
    "CREATE TABLE seller_search("
    "  message_id INTEGER PRIMARY KEY REFERENCES messages(id),"
    "  thread_id INTEGER NOT NULL, text TEXT NOT NULL);"
    "CREATE VIRTUAL TABLE seller_search_fts USING fts5(text, content='seller_search',"
    "  content_rowid='message_id', tokenize='unicode61 remove_diacritics 2');",

    /* The time of the newest message a buyer can see, by which a buyer's list is ordered:
     * the team's notes and refused messages do not move a thread there. */
    "ALTER TABLE threads ADD COLUMN buyer_last_at INTEGER NOT NULL DEFAULT 0;"
    "UPDATE threads SET buyer_last_at = coalesce((SELECT max(m.at) FROM messages m"
    "  LEFT JOIN message_state s ON s.message_id = m.id WHERE m.thread_id = threads.id"
    "  AND (m.direction = 'buyer' OR (m.kind <> 'note' AND s.status = 'delivered'))), 0);"
    "CREATE INDEX threads_buyer_seen ON threads(buyer_id, buyer_last_at DESC, id DESC);",

    /* Identities (docs/api.md, "Tokens"): tokens get a stable id to list and revoke them
     * by, a scope (the own API, a web session, or SP-API only), the token a session was
     * signed in with (revoked with it), when they were last used and when revoked; agents
     * can be deactivated (their history stays). */
    "ALTER TABLE tokens ADD COLUMN id INTEGER;"
    "UPDATE tokens SET id = rowid;"
    "CREATE UNIQUE INDEX tokens_id ON tokens(id);"
    "ALTER TABLE tokens ADD COLUMN scope TEXT NOT NULL DEFAULT 'api'"
    "  CHECK (scope IN ('api','session','spapi'));"
    "ALTER TABLE tokens ADD COLUMN parent_id INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE tokens ADD COLUMN last_used_at INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE tokens ADD COLUMN revoked_at INTEGER NOT NULL DEFAULT 0;"
    "CREATE INDEX tokens_parent ON tokens(parent_id) WHERE parent_id <> 0;"
    "CREATE INDEX tokens_subject ON tokens(kind, subject);"
    "CREATE INDEX tokens_seller ON tokens(seller_id, id);"
    "ALTER TABLE agents ADD COLUMN deactivated_at INTEGER NOT NULL DEFAULT 0;",

    /* The clock and the thread summary one event at a time (docs/metrics.md): each thread
     * outcome's counts; outcomes by answer, so that a reply reads only the messages it can
     * answer; messages in thread order, so that the end of a thread is read by index. */
    "ALTER TABLE sla_thread_outcomes ADD COLUMN unflagged INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE sla_thread_outcomes ADD COLUMN open INTEGER NOT NULL DEFAULT 0;"
    "UPDATE sla_thread_outcomes SET"
    "  unflagged = (SELECT count(*) FROM sla_outcomes o"
    "    WHERE o.thread_id = sla_thread_outcomes.thread_id AND o.flagged = 0),"
    "  open = (SELECT count(*) FROM sla_outcomes o"
    "    WHERE o.thread_id = sla_thread_outcomes.thread_id AND o.flagged = 0 AND o.answered = 0);"
    "DROP INDEX sla_outcomes_thread;"
    "CREATE INDEX sla_outcomes_answer ON sla_outcomes(thread_id, answered, answered_at, reply_seq);"
    "CREATE INDEX messages_thread_at ON messages(thread_id, at, id);",

    /* Idempotency keys (docs/api.md): the first answer to a creating request, for its
     * retries; unattached uploads are found by age (docs/attachments.md). */
    "CREATE TABLE idempotency_keys("
    "  principal TEXT NOT NULL, key TEXT NOT NULL, fingerprint TEXT NOT NULL,"
    "  status INTEGER NOT NULL DEFAULT 0, body TEXT, created_at INTEGER NOT NULL,"
    "  PRIMARY KEY (principal, key));"
    "CREATE INDEX idempotency_keys_created ON idempotency_keys(created_at);"
    "CREATE INDEX attachments_created ON attachments(created_at);",
    /* The newest buyer message and the newest seller message the buyer can see, kept on
     * the thread (svc__thread_changed) rather than found by walking its messages back on
     * every read of the thread (docs/scaling.md). */
    "ALTER TABLE threads ADD COLUMN last_buyer_id INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE threads ADD COLUMN last_seller_id INTEGER NOT NULL DEFAULT 0;"
    "UPDATE threads SET"
    "  last_buyer_id = coalesce((SELECT max(mb.id) FROM messages mb"
    "    WHERE mb.thread_id = threads.id AND mb.direction = 'buyer'), 0),"
    "  last_seller_id = coalesce((SELECT max(ms.id) FROM messages ms"
    "    JOIN message_state ss ON ss.message_id = ms.id WHERE ms.thread_id = threads.id"
    "    AND ms.direction = 'seller' AND ms.kind <> 'note' AND ss.status = 'delivered'), 0);",
    /* The operator's figures on /metrics (ops_figures, docs/operations.md "Metrics and
     * alerts"): held messages by age from a partial index of their own, so that a scrape
     * reads only what is held. Pending mail is read through outbox_due, which holds the
     * pending rows already: a second index of them would cost every send a write. */
    "CREATE INDEX message_state_held_at ON message_state(status_at)"
    "  WHERE status = 'held_for_review';",
    /* Fewer pages a send dirties (docs/scaling.md "What a send writes"): every index a send
     * writes costs a page of the WAL and of the checkpoint, and an index keyed by thread or
     * buyer costs one for each thread a commit touches. messages_thread(thread_id, id) is
     * served by messages_thread_at(thread_id, at, id), every thread's messages being read by
     * thread and time; threads_buyer_recent lost its last query when the buyer's list came
     * to be ordered by what the buyer can see (threads_buyer_seen); a thread's events are
     * found through its messages (message_events_message), as every event belongs to one.
     * Not a contract: no statement of any parley needs these indexes to be right. */
    "DROP INDEX messages_thread;"
    "DROP INDEX threads_buyer_recent;"
    "DROP INDEX message_events_thread;",
    /* The sellers a buyer blocked (docs/rules.md "Replies and proactive messages"): a JSON array of
     * seller ids, read with the buyer's row that every send reads already. */
    "ALTER TABLE buyers ADD COLUMN blocked_sellers TEXT;",
    /* Webhooks (docs/webhooks.md): a seller's or the operator's subscriptions, and their
     * deliveries, an outbox of their own drained by the delivery worker (at least once,
     * retried, logged). An event reaches a webhook once: (webhook_id, event_id) is unique,
     * so that nodes that see the same deadline record one delivery. */
    "CREATE TABLE webhooks("
    "  id INTEGER PRIMARY KEY, owner TEXT NOT NULL CHECK (owner IN ('seller','operator')),"
    "  seller_id TEXT, marketplace_id TEXT, url TEXT NOT NULL, events TEXT NOT NULL,"
    "  secret_sealed TEXT NOT NULL, previous_secret_sealed TEXT,"
    "  previous_until INTEGER NOT NULL DEFAULT 0, active INTEGER NOT NULL DEFAULT 1,"
    "  failing_since INTEGER NOT NULL DEFAULT 0, paused_until INTEGER NOT NULL DEFAULT 0, disabled_reason TEXT,"
    "  created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);"
    "CREATE INDEX webhooks_seller ON webhooks(seller_id);"
    "CREATE TABLE webhook_deliveries("
    "  id INTEGER PRIMARY KEY, webhook_id INTEGER NOT NULL REFERENCES webhooks(id),"
    "  event_id TEXT NOT NULL, type TEXT NOT NULL, body TEXT NOT NULL,"
    "  state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending','delivered','failed')),"
    "  attempts INTEGER NOT NULL DEFAULT 0, next_at INTEGER NOT NULL, created_at INTEGER NOT NULL,"
    "  last_at INTEGER NOT NULL DEFAULT 0, last_status INTEGER NOT NULL DEFAULT 0,"
    "  last_ms INTEGER NOT NULL DEFAULT 0, last_answer TEXT, last_error TEXT,"
    "  UNIQUE (webhook_id, event_id));"
    "CREATE INDEX webhook_deliveries_due ON webhook_deliveries(next_at, id) WHERE state = 'pending';"
    "CREATE INDEX webhook_deliveries_created ON webhook_deliveries(created_at);",
    /* Notifications (docs/notifications.md): a seller's messaging settings, with a new
     * customer-service address that waits for its confirmation (sealed, as every real
     * address); each agent's choice of what it is told and how; parley's own notices to a
     * seller's team go through the outbox, which takes rows without a message: a notice
     * names its recipient by agent (or the seller, for a confirmation) and carries what it
     * is about in payload (ids and counts, never an address), and dedupe makes it once per
     * what it is about (a deadline once per message, whichever node sees it first). Orders
     * the marketplace fulfils are marked so, for the seller's setting that turns their
     * messaging off. */
    "CREATE TABLE seller_settings("
    "  id TEXT PRIMARY KEY REFERENCES sellers(id), notice_language TEXT,"
    "  marketplace_fulfilled INTEGER NOT NULL DEFAULT 1, email_sealed TEXT,"
    "  email_requested_at INTEGER NOT NULL DEFAULT 0, updated_at INTEGER NOT NULL);"
    "CREATE TABLE agent_notifications("
    "  agent_id INTEGER PRIMARY KEY REFERENCES agents(id), seller_id TEXT NOT NULL,"
    "  mode TEXT NOT NULL CHECK (mode IN ('each','hourly','daily','deadlines','none')),"
    "  scope TEXT NOT NULL CHECK (scope IN ('assigned','all')),"
    "  email INTEGER NOT NULL, browser INTEGER NOT NULL, digest_at INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX agent_notifications_seller ON agent_notifications(seller_id, mode);"
    "CREATE INDEX agent_notifications_digest ON agent_notifications(digest_at)"
    "  WHERE mode IN ('hourly','daily');"
    "CREATE TABLE outbox_new("
    "  id INTEGER PRIMARY KEY, seller_id TEXT NOT NULL, message_id INTEGER REFERENCES messages(id),"
    "  kind TEXT NOT NULL CHECK (kind IN ('forward','refusal','notice')),"
    "  state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending','sent','failed')),"
    "  attempts INTEGER NOT NULL DEFAULT 0, next_at INTEGER NOT NULL,"
    "  created_at INTEGER NOT NULL, sent_at INTEGER NOT NULL DEFAULT 0, last_error TEXT,"
    "  agent_id INTEGER NOT NULL DEFAULT 0, payload TEXT, dedupe TEXT UNIQUE);"
    "INSERT INTO outbox_new(id, seller_id, message_id, kind, state, attempts, next_at, created_at, sent_at,"
    "  last_error) SELECT id, seller_id, message_id, kind, state, attempts, next_at, created_at, sent_at,"
    "  last_error FROM outbox;"
    "DROP TABLE outbox;"
    "ALTER TABLE outbox_new RENAME TO outbox;"
    "CREATE INDEX outbox_due ON outbox(next_at, id) WHERE state = 'pending';"
    "ALTER TABLE orders ADD COLUMN fulfilled_by TEXT NOT NULL DEFAULT 'seller'"
    "  CHECK (fulfilled_by IN ('seller','marketplace'));"
    /* each seller's response-time status as last seen, for the operator's seller.at_risk */
    /* bulk notices (docs/rules.md "Bulk notices"): one text to many orders, each order an
     * item sent by the bulk worker within the seller's rate limit */
    "CREATE TABLE bulk_notices(id INTEGER PRIMARY KEY, seller_id TEXT NOT NULL REFERENCES sellers(id),"
    "  marketplace_id TEXT NOT NULL, agent_id INTEGER NOT NULL, action TEXT NOT NULL, text TEXT NOT NULL,"
    "  attachments TEXT NOT NULL DEFAULT '[]',"
    "  status TEXT NOT NULL CHECK (status IN ('running','done','canceled')),"
    "  total INTEGER NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);"
    "CREATE INDEX bulk_notices_seller ON bulk_notices(seller_id, id);"
    "CREATE TABLE bulk_notice_items(notice_id INTEGER NOT NULL REFERENCES bulk_notices(id),"
    "  order_id TEXT NOT NULL, state TEXT NOT NULL CHECK (state IN"
    "  ('pending','delivered','not_delivered','failed','canceled')), message_id INTEGER NOT NULL DEFAULT 0,"
    "  error TEXT, updated_at INTEGER NOT NULL, PRIMARY KEY (notice_id, order_id));"
    "CREATE INDEX bulk_notice_items_pending ON bulk_notice_items(notice_id) WHERE state = 'pending';"
    /* claims the operator records against orders (a-to-z, chargebacks, negative feedback):
     * the seller's complaint rate (docs/metrics.md) */
    "CREATE TABLE claims(id INTEGER PRIMARY KEY, order_id TEXT NOT NULL REFERENCES orders(id),"
    "  seller_id TEXT NOT NULL, kind TEXT NOT NULL CHECK (kind IN ('a_to_z','chargeback','negative_feedback')),"
    "  at INTEGER NOT NULL, created_at INTEGER NOT NULL, UNIQUE (order_id, kind, at));"
    "CREATE INDEX claims_seller ON claims(seller_id, at);"
    /* each seller's status as last seen (the operator's seller.at_risk) and since when its
     * CRT is at risk without a break (the automatic quota for poor performance) */
    "CREATE TABLE seller_health(id TEXT PRIMARY KEY REFERENCES sellers(id), status TEXT NOT NULL,"
    "  changed_at INTEGER NOT NULL, crt_at_risk_since INTEGER NOT NULL DEFAULT 0);",
    /* Suggested replies (docs/team.md): the seller's templates in a full-text index of
     * their name and every variant, kept from team_docs by triggers, so that every writer
     * of a template (an older parley too) keeps it. A body that is not JSON is not indexed. */
    "CREATE VIRTUAL TABLE template_fts USING fts5(text, tokenize='unicode61 remove_diacritics 2');"
    "INSERT INTO template_fts(rowid, text) SELECT id, " SQ_TEMPLATE_TEXT("team_docs") " FROM team_docs"
    "  WHERE kind = 'template' AND json_valid(body);"
    "CREATE TRIGGER team_docs_fts_insert AFTER INSERT ON team_docs"
    "  WHEN new.kind = 'template' AND json_valid(new.body)"
    "  BEGIN INSERT INTO template_fts(rowid, text) VALUES (new.id, " SQ_TEMPLATE_TEXT("new") "); END;"
    "CREATE TRIGGER team_docs_fts_update AFTER UPDATE OF body ON team_docs WHEN old.kind = 'template'"
    "  BEGIN DELETE FROM template_fts WHERE rowid = old.id;"
    "  INSERT INTO template_fts(rowid, text) SELECT new.id, " SQ_TEMPLATE_TEXT("new")
    "  WHERE json_valid(new.body); END;"
    "CREATE TRIGGER team_docs_fts_delete AFTER DELETE ON team_docs WHEN old.kind = 'template'"
    "  BEGIN DELETE FROM template_fts WHERE rowid = old.id; END;",
    /* Retention (docs/rules.md "Retention"): threads the operator keeps whatever their age,
     * and the one way the append-only record loses rows: a purge of a whole thread past its
     * marketplace's retention, which names the thread in purges for its own transaction. */
    "CREATE TABLE legal_holds(thread_id INTEGER PRIMARY KEY REFERENCES threads(id),"
    "  seller_id TEXT NOT NULL, marketplace_id TEXT NOT NULL, reason TEXT NOT NULL,"
    "  set_by TEXT NOT NULL, set_at INTEGER NOT NULL);"
    "CREATE INDEX legal_holds_marketplace ON legal_holds(marketplace_id, thread_id);"
    "CREATE TABLE purges(thread_id INTEGER PRIMARY KEY);"
    "DROP TRIGGER messages_no_delete;"
    "CREATE TRIGGER messages_no_delete BEFORE DELETE ON messages"
    "  WHEN NOT EXISTS (SELECT 1 FROM purges p WHERE p.thread_id = old.thread_id)"
    "  BEGIN SELECT RAISE(ABORT, 'messages are append-only'); END;"
    "DROP TRIGGER message_events_no_delete;"
    "CREATE TRIGGER message_events_no_delete BEFORE DELETE ON message_events"
    "  WHEN NOT EXISTS (SELECT 1 FROM purges p WHERE p.thread_id = old.thread_id)"
    "  BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;",
    /* What the seller sees of an order beside its items (docs/import.md): where it ships
     * (a country, never an address), how, by when, and its return. */
    "ALTER TABLE orders ADD COLUMN ship_country TEXT;"
    "ALTER TABLE orders ADD COLUMN carrier TEXT;"
    "ALTER TABLE orders ADD COLUMN tracking TEXT;"
    "ALTER TABLE orders ADD COLUMN promised_at INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE orders ADD COLUMN return_state TEXT"
    "  CHECK (return_state IN ('requested','in_transit','received','refunded','partially_refunded'));",
    /* Accounts (docs/api.md "Accounts"): an e-mail address and a password for a principal
     * of the tokens (an operator's name, an agent's id, a buyer's id), an optional TOTP
     * second factor; sessions say which browser they are; invitations to join a seller's
     * team or the operators. Addresses and TOTP secrets are sealed (key rotation walks
     * them), looked up by keyed hash; nothing an outsider could use is stored in clear. */
    "CREATE TABLE accounts(id INTEGER PRIMARY KEY,"
    "  kind TEXT NOT NULL CHECK (kind IN ('operator','agent','buyer')), subject TEXT NOT NULL,"
    "  seller_id TEXT, email_hash TEXT NOT NULL UNIQUE, email_sealed TEXT NOT NULL,"
    "  password_hash TEXT NOT NULL, password_at INTEGER NOT NULL,"
    "  totp_sealed TEXT, totp_on INTEGER NOT NULL DEFAULT 0, totp_step INTEGER NOT NULL DEFAULT 0,"
    "  reset_at INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL, verified_at INTEGER NOT NULL DEFAULT 0,"
    "  UNIQUE (kind, subject));"
    "CREATE INDEX accounts_seller ON accounts(seller_id);"
    "ALTER TABLE tokens ADD COLUMN user_agent TEXT;"
    "CREATE TABLE invitations(id INTEGER PRIMARY KEY,"
    "  kind TEXT NOT NULL CHECK (kind IN ('operator','agent')), seller_id TEXT,"
    "  role TEXT, email_hash TEXT NOT NULL, email_sealed TEXT NOT NULL, invited_by TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL,"
    "  accepted_at INTEGER NOT NULL DEFAULT 0, revoked_at INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX invitations_seller ON invitations(seller_id, id);",
    /* Learning from the operator (docs/policy.md): each approve or reject of a message
     * held for a learned category is a labelled example of its marketplace (the newest
     * ST_POLICY_EXAMPLES_KEEP kept), and `parley policy train` stores the marketplace's
     * model (its bytes in base64), which every node loads at its next reload point. */
    "CREATE TABLE policy_examples(id INTEGER PRIMARY KEY, marketplace_id TEXT NOT NULL,"
    "  seller_id TEXT NOT NULL, message_id INTEGER NOT NULL UNIQUE,"
    "  label TEXT NOT NULL CHECK (label IN ('clean','violation')), categories TEXT NOT NULL,"
    "  text TEXT NOT NULL, decided_by TEXT NOT NULL, decided_at INTEGER NOT NULL);"
    "CREATE INDEX policy_examples_marketplace ON policy_examples(marketplace_id, id);"
    "CREATE TABLE policy_models(marketplace_id TEXT PRIMARY KEY, version TEXT NOT NULL,"
    "  model TEXT NOT NULL, examples INTEGER NOT NULL, trained_by TEXT NOT NULL,"
    "  trained_at INTEGER NOT NULL);",
    /* Recovery codes of an account's second factor (docs/api.md "Accounts"): each good
     * once; only their SHA-256 is kept (80 random bits a code: not guessable from it). */
    "CREATE TABLE recovery_codes(account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
    "  hash TEXT NOT NULL, used_at INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (account_id, hash));",
    /* CHECK constraints as comparisons joined by OR, not IN lists: SQLite builds a
     * temporary b-tree for an IN list of more than two values each time the constraint is
     * checked, which was a tenth of a buyer message's CPU (an insert into messages and one
     * into outbox). The same constraints, rewritten in place as SQLite documents for
     * changing a CHECK (https://sqlite.org/lang_altertable.html, "otheralter"); the
     * throwaway table moves the schema's version so that other connections re-read it,
     * and RESET makes this one re-read it. A CHECK added later is written the same way
     * (test_store_schema checks it). */
    "PRAGMA writable_schema = ON;"
    "UPDATE sqlite_schema SET sql = replace(sql,"
    "  'CHECK (kind IN (''operator'',''agent'',''buyer''))',"
    "  'CHECK (kind = ''operator'' OR kind = ''agent'' OR kind = ''buyer'')')"
    " WHERE type = 'table' AND name = 'accounts';"
    "UPDATE sqlite_schema SET sql = replace(sql,"
    "  'CHECK (mode IN (''each'',''hourly'',''daily'',''deadlines'',''none''))',"
    "  'CHECK (mode = ''each'' OR mode = ''hourly'' OR mode = ''daily'' OR mode = ''deadlines'' OR mode = ''none'')')"
    " WHERE type = 'table' AND name = 'agent_notifications';"
    "UPDATE sqlite_schema SET sql = replace(sql,"
    "  'CHECK (role IN (''owner'',''agent'',''read_only''))',"
    "  'CHECK (role = ''owner'' OR role = ''agent'' OR role = ''read_only'')')"
    " WHERE type = 'table' AND name = 'agents';"
    "UPDATE sqlite_schema SET sql = replace(sql,"
    "  'CHECK (status IN (''running'',''done'',''canceled''))',"
    "  'CHECK (status = ''running'' OR status = ''done'' OR status = ''canceled'')')"
    " WHERE type = 'table' AND name = 'bulk_notices';"
    "UPDATE sqlite_schema SET sql = replace(sql,"
    "  'CHECK (kind IN (''a_to_z'',''chargeback'',''negative_feedback''))',"
    "  'CHECK (kind = ''a_to_z'' OR kind = ''chargeback'' OR kind = ''negative_feedback'')')"
    " WHERE type = 'table' AND name = 'claims';"
    "UPDATE sqlite_schema SET sql = replace(sql,"
    "  'CHECK (kind IN (''message'',''auto_reply'',''review_request'',''note''))',"
    "  'CHECK (kind = ''message'' OR kind = ''auto_reply'' OR kind = ''review_request'' OR kind = ''note'')')"
    " WHERE type = 'table' AND name = 'messages';"
    "UPDATE sqlite_schema SET sql = replace(replace(sql,"
    "  'CHECK (status IN (''pending'',''shipped'',''delivered'',''canceled''))',"
    "  'CHECK (status = ''pending'' OR status = ''shipped'' OR status = ''delivered'' OR status = ''canceled'')'),"
    "  'CHECK (return_state IN (''requested'',''in_transit'',''received'',''refunded'',''partially_refunded''))',"
    "  'CHECK (return_state = ''requested'' OR return_state = ''in_transit'' OR return_state = ''received'' OR return_state = ''refunded'' OR return_state = ''partially_refunded'')')"
    " WHERE type = 'table' AND name = 'orders';"
    "UPDATE sqlite_schema SET sql = replace(replace(sql,"
    "  'CHECK (kind IN (''forward'',''refusal'',''notice''))',"
    "  'CHECK (kind = ''forward'' OR kind = ''refusal'' OR kind = ''notice'')'),"
    "  'CHECK (state IN (''pending'',''sent'',''failed''))',"
    "  'CHECK (state = ''pending'' OR state = ''sent'' OR state = ''failed'')')"
    " WHERE type = 'table' AND name = 'outbox';"
    "UPDATE sqlite_schema SET sql = replace(sql,"
    "  'CHECK (kind IN (''template'',''rule'',''proposal'',''firing''))',"
    "  'CHECK (kind = ''template'' OR kind = ''rule'' OR kind = ''proposal'' OR kind = ''firing'')')"
    " WHERE type = 'table' AND name = 'team_docs';"
    "UPDATE sqlite_schema SET sql = replace(replace(sql,"
    "  'CHECK (kind IN (''operator'',''agent'',''buyer''))',"
    "  'CHECK (kind = ''operator'' OR kind = ''agent'' OR kind = ''buyer'')'),"
    "  'CHECK (scope IN (''api'',''session'',''spapi''))',"
    "  'CHECK (scope = ''api'' OR scope = ''session'' OR scope = ''spapi'')')"
    " WHERE type = 'table' AND name = 'tokens';"
    "UPDATE sqlite_schema SET sql = replace(sql,"
    "  'CHECK (state IN (''pending'',''delivered'',''failed''))',"
    "  'CHECK (state = ''pending'' OR state = ''delivered'' OR state = ''failed'')')"
    " WHERE type = 'table' AND name = 'webhook_deliveries';"
    "CREATE TABLE parley_schema_bump(x); DROP TABLE parley_schema_bump;"
    "PRAGMA writable_schema = RESET;",
};

#endif
