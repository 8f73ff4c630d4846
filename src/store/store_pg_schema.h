/* store_pg_schema.h - the PostgreSQL schema as versioned migrations, applied in order at open.
 *
 * The tables mirror store_sqlite_schema.h column for column, with the same constraints, so
 * that both backends accept and refuse the same rows. Differences are PostgreSQL's own ways
 * of saying the same thing: identity columns for ids, BIGINT unix seconds for times,
 * BOOLEAN for flags, a generated tsvector with a GIN index for full-text search, and
 * triggers that raise exceptions to keep the record append-only. Every seller-owned table
 * carries seller_id, the distribution column on Citus or YugabyteDB (docs/scaling.md). */
#ifndef PL_STORE_PG_SCHEMA_H
#define PL_STORE_PG_SCHEMA_H

static const char *const store_pg_migrations[] = {
    /* 1: the base schema. */
    /* Full-text search folds case and diacritics, as SQLite's unicode61 tokenizer with
     * remove_diacritics does: the "simple" parser and dictionary behind unaccent. */
    "CREATE EXTENSION IF NOT EXISTS unaccent;"
    "CREATE TEXT SEARCH CONFIGURATION parley_text (COPY = simple);"
    "ALTER TEXT SEARCH CONFIGURATION parley_text"
    "  ALTER MAPPING FOR word, hword, hword_part, asciiword, asciihword, hword_asciipart"
    "  WITH unaccent, simple;"
    "CREATE TABLE marketplaces("
    "  id TEXT PRIMARY KEY, name TEXT NOT NULL, locale TEXT NOT NULL,"
    "  domains TEXT NOT NULL DEFAULT '[]', settings TEXT NOT NULL DEFAULT '{}');"
    "CREATE TABLE sellers("
    "  id TEXT PRIMARY KEY, marketplace_id TEXT NOT NULL REFERENCES marketplaces(id),"
    "  name TEXT NOT NULL, email_sealed TEXT, alias TEXT NOT NULL UNIQUE,"
    "  created_at BIGINT NOT NULL);"
    "CREATE TABLE agents("
    "  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    "  seller_id TEXT NOT NULL REFERENCES sellers(id), name TEXT NOT NULL,"
    "  role TEXT NOT NULL CHECK (role IN ('owner','agent','read_only')));"
    "CREATE INDEX agents_seller ON agents(seller_id);"
    "CREATE TABLE buyers("
    "  id TEXT PRIMARY KEY, name TEXT NOT NULL, locale TEXT NOT NULL,"
    "  email_sealed TEXT, email_hash TEXT, opt_out BOOLEAN NOT NULL DEFAULT false);"
    "CREATE INDEX buyers_email_hash ON buyers(email_hash);"
    "CREATE TABLE aliases("
    "  alias TEXT PRIMARY KEY, marketplace_id TEXT NOT NULL REFERENCES marketplaces(id),"
    "  buyer_id TEXT NOT NULL REFERENCES buyers(id), seller_id TEXT NOT NULL REFERENCES sellers(id),"
    "  created_at BIGINT NOT NULL, UNIQUE (marketplace_id, buyer_id, seller_id));"
    "CREATE INDEX aliases_seller_buyer ON aliases(seller_id, buyer_id);"
    "CREATE TABLE tokens("
    "  hash TEXT PRIMARY KEY, kind TEXT NOT NULL CHECK (kind IN ('operator','agent','buyer')),"
    "  subject TEXT NOT NULL, seller_id TEXT, marketplace_id TEXT,"
    "  created_at BIGINT NOT NULL, expires_at BIGINT NOT NULL DEFAULT 0);"
    "CREATE TABLE orders("
    "  id TEXT PRIMARY KEY, marketplace_id TEXT NOT NULL REFERENCES marketplaces(id),"
    "  seller_id TEXT NOT NULL REFERENCES sellers(id), buyer_id TEXT NOT NULL REFERENCES buyers(id),"
    "  status TEXT NOT NULL CHECK (status IN ('pending','shipped','delivered','canceled')),"
    "  purchased_at BIGINT NOT NULL DEFAULT 0, shipped_at BIGINT NOT NULL DEFAULT 0,"
    "  delivered_at BIGINT NOT NULL DEFAULT 0, updated_at BIGINT NOT NULL);"
    "CREATE INDEX orders_seller ON orders(seller_id);"
    "CREATE TABLE order_items("
    "  order_id TEXT NOT NULL REFERENCES orders(id), seller_id TEXT NOT NULL,"
    "  pos INTEGER NOT NULL, asin TEXT, title TEXT, quantity BIGINT NOT NULL DEFAULT 1,"
    "  price TEXT, currency TEXT, PRIMARY KEY (order_id, pos));"
    "CREATE INDEX order_items_asin ON order_items(seller_id, asin);"
    "CREATE TABLE threads("
    "  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    "  seller_id TEXT NOT NULL REFERENCES sellers(id),"
    "  buyer_id TEXT NOT NULL REFERENCES buyers(id),"
    "  marketplace_id TEXT NOT NULL REFERENCES marketplaces(id),"
    "  order_id TEXT UNIQUE REFERENCES orders(id), asin TEXT, topic TEXT NOT NULL,"
    "  archived BOOLEAN NOT NULL DEFAULT false, waiting INTEGER NOT NULL DEFAULT 0,"
    "  needs_response INTEGER NOT NULL DEFAULT 0, created_at BIGINT NOT NULL,"
    "  last_message_at BIGINT NOT NULL, last_buyer_at BIGINT NOT NULL DEFAULT 0,"
    "  last_seller_at BIGINT NOT NULL DEFAULT 0, seller_read_at BIGINT NOT NULL DEFAULT 0,"
    "  buyer_read_at BIGINT NOT NULL DEFAULT 0, response_due_at BIGINT NOT NULL DEFAULT 0,"
    "  CHECK ((order_id IS NULL) <> (asin IS NULL)));"
    "CREATE UNIQUE INDEX threads_product ON threads(seller_id, buyer_id, asin)"
    "  WHERE asin IS NOT NULL;"
    "CREATE INDEX threads_seller_recent ON threads(seller_id, last_message_at DESC, id DESC);"
    "CREATE INDEX threads_buyer_recent ON threads(buyer_id, last_message_at DESC, id DESC);"
    "CREATE TABLE messages("
    "  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    "  thread_id BIGINT NOT NULL REFERENCES threads(id),"
    "  seller_id TEXT NOT NULL, ext_id TEXT UNIQUE,"
    "  direction TEXT NOT NULL CHECK (direction IN ('buyer','seller')),"
    "  kind TEXT NOT NULL CHECK (kind IN ('message','auto_reply','review_request','note')),"
    "  agent_id BIGINT, text TEXT NOT NULL, at BIGINT NOT NULL,"
    "  policy_action TEXT, policy_engine TEXT, policy_json TEXT,"
    "  tsv tsvector GENERATED ALWAYS AS (to_tsvector('parley_text'::regconfig, text)) STORED);"
    "CREATE INDEX messages_thread ON messages(thread_id, id);"
    "CREATE INDEX messages_seller_at ON messages(seller_id, at);"
    "CREATE INDEX messages_tsv ON messages USING GIN (tsv);"
    "CREATE TABLE message_events("
    "  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    "  message_id BIGINT NOT NULL REFERENCES messages(id),"
    "  thread_id BIGINT NOT NULL, seller_id TEXT NOT NULL, type TEXT NOT NULL,"
    "  value TEXT NOT NULL, actor TEXT NOT NULL, at BIGINT NOT NULL);"
    "CREATE INDEX message_events_thread ON message_events(thread_id, id);"
    "CREATE INDEX message_events_seller_at ON message_events(seller_id, at);"
    "CREATE TABLE message_state("
    "  message_id BIGINT PRIMARY KEY REFERENCES messages(id), seller_id TEXT NOT NULL,"
    "  status TEXT NOT NULL, flagged BOOLEAN NOT NULL DEFAULT false, status_at BIGINT NOT NULL);"
    "CREATE TABLE audit("
    "  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, seller_id TEXT,"
    "  at BIGINT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL, subject TEXT NOT NULL,"
    "  detail TEXT NOT NULL DEFAULT '{}', prev_hash TEXT NOT NULL, hash TEXT NOT NULL);"
    "CREATE INDEX audit_subject ON audit(subject, id);"
    /* The chain head: one row, locked by every append, so that nodes appending at once
     * still form one chain (the id sequence is drawn under the lock, in chain order). */
    "CREATE TABLE audit_head("
    "  one BOOLEAN PRIMARY KEY DEFAULT true CHECK (one), last_id BIGINT NOT NULL DEFAULT 0,"
    "  hash TEXT NOT NULL);"
    "INSERT INTO audit_head(hash)"
    "  VALUES ('0000000000000000000000000000000000000000000000000000000000000000');"
    /* Append-only: an UPDATE, DELETE or TRUNCATE of the record is an error, raised as an
     * integrity violation (class 23) as SQLite's RAISE(ABORT) is a constraint failure. */
    "CREATE FUNCTION parley_append_only() RETURNS trigger LANGUAGE plpgsql AS $f$"
    "  BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME"
    "    USING ERRCODE = 'restrict_violation'; END $f$;"
    "CREATE TRIGGER messages_append_only BEFORE UPDATE OR DELETE ON messages"
    "  FOR EACH ROW EXECUTE FUNCTION parley_append_only();"
    "CREATE TRIGGER messages_no_truncate BEFORE TRUNCATE ON messages"
    "  FOR EACH STATEMENT EXECUTE FUNCTION parley_append_only();"
    "CREATE TRIGGER message_events_append_only BEFORE UPDATE OR DELETE ON message_events"
    "  FOR EACH ROW EXECUTE FUNCTION parley_append_only();"
    "CREATE TRIGGER message_events_no_truncate BEFORE TRUNCATE ON message_events"
    "  FOR EACH STATEMENT EXECUTE FUNCTION parley_append_only();"
    "CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON audit"
    "  FOR EACH ROW EXECUTE FUNCTION parley_append_only();"
    "CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit"
    "  FOR EACH STATEMENT EXECUTE FUNCTION parley_append_only();",

    /* 2: marketplace rules: proactive messages, message actions, review requests,
     * enforcement and rate limits (as SQLite's migration 2). */
    "ALTER TABLE orders ADD COLUMN negative_feedback BOOLEAN NOT NULL DEFAULT false;"
    "ALTER TABLE messages ADD COLUMN action TEXT;"
    "ALTER TABLE messages ADD COLUMN critical BOOLEAN NOT NULL DEFAULT false;"
    "ALTER TABLE messages ADD COLUMN proactive BOOLEAN NOT NULL DEFAULT false;"
    "CREATE INDEX message_state_held ON message_state(message_id)"
    "  WHERE status = 'held_for_review';"
    "CREATE TABLE review_requests("
    "  order_id TEXT PRIMARY KEY REFERENCES orders(id), seller_id TEXT NOT NULL,"
    "  message_id BIGINT NOT NULL REFERENCES messages(id), at BIGINT NOT NULL);"
    "CREATE TABLE violations("
    "  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    "  seller_id TEXT NOT NULL REFERENCES sellers(id),"
    "  at BIGINT NOT NULL, message_id BIGINT, category TEXT NOT NULL,"
    "  severity TEXT NOT NULL CHECK (severity IN ('minor','severe')), rule TEXT);"
    "CREATE INDEX violations_seller_at ON violations(seller_id, at);"
    "CREATE TABLE enforcement("
    "  seller_id TEXT PRIMARY KEY REFERENCES sellers(id), warnings BIGINT NOT NULL DEFAULT 0,"
    "  restricted_until BIGINT NOT NULL DEFAULT 0, restriction_reason TEXT,"
    "  quota_per_day BIGINT NOT NULL DEFAULT 0, quota_until BIGINT NOT NULL DEFAULT 0,"
    "  quota_reason TEXT, suspension_flag BOOLEAN NOT NULL DEFAULT false, suspension_reason TEXT,"
    "  updated_at BIGINT NOT NULL);"
    "CREATE TABLE rate_buckets("
    "  seller_id TEXT NOT NULL, operation TEXT NOT NULL, tokens DOUBLE PRECISION NOT NULL,"
    "  updated_at DOUBLE PRECISION NOT NULL, PRIMARY KEY (seller_id, operation));",

    /* 3: SP-API compatibility (docs/spapi.md): application credentials per seller, secrets
     * hashed, and upload destinations with the attachment each received. */
    "CREATE TABLE spapi_clients("
    "  client_id TEXT PRIMARY KEY, seller_id TEXT NOT NULL UNIQUE REFERENCES sellers(id),"
    "  agent_id BIGINT NOT NULL REFERENCES agents(id), secret_hash TEXT NOT NULL,"
    "  refresh_hash TEXT NOT NULL UNIQUE, created_at BIGINT NOT NULL);"
    "CREATE TABLE spapi_uploads("
    "  id TEXT PRIMARY KEY, seller_id TEXT NOT NULL REFERENCES sellers(id),"
    "  resource TEXT NOT NULL, content_md5 TEXT NOT NULL, content_type TEXT,"
    "  attachment_id TEXT, created_at BIGINT NOT NULL, expires_at BIGINT NOT NULL);",
    /* 4: the 24-hour clock's aggregates (as SQLite's migration 3): each buyer message's
     * last applied outcome, each thread's, and hourly buckets per seller and agent. */
    "CREATE TABLE sla_outcomes("
    "  message_id BIGINT PRIMARY KEY REFERENCES messages(id), seller_id TEXT NOT NULL,"
    "  thread_id BIGINT NOT NULL, received_at BIGINT NOT NULL, flagged BOOLEAN NOT NULL,"
    "  answered BOOLEAN NOT NULL, answered_at BIGINT NOT NULL, response_s BIGINT NOT NULL,"
    "  agent_id BIGINT NOT NULL, reply_seq BIGINT NOT NULL);"
    "CREATE INDEX sla_outcomes_thread ON sla_outcomes(thread_id);"
    "CREATE INDEX sla_outcomes_open ON sla_outcomes(seller_id, received_at)"
    "  WHERE NOT flagged AND NOT answered;"
    "CREATE TABLE sla_thread_outcomes("
    "  thread_id BIGINT PRIMARY KEY REFERENCES threads(id), seller_id TEXT NOT NULL,"
    "  first_received_at BIGINT NOT NULL, counted BOOLEAN NOT NULL, resolved BOOLEAN NOT NULL,"
    "  exchanges BIGINT NOT NULL);"
    "CREATE TABLE sla_buckets("
    "  seller_id TEXT NOT NULL, hour BIGINT NOT NULL, agent_id BIGINT NOT NULL,"
    "  received BIGINT NOT NULL, flagged BIGINT NOT NULL, open BIGINT NOT NULL,"
    "  rt_sum BIGINT NOT NULL, rt BYTEA, threads BIGINT NOT NULL,"
    "  resolved_one BIGINT NOT NULL, resolved_two BIGINT NOT NULL,"
    "  PRIMARY KEY (seller_id, hour, agent_id));",

    /* The e-mail outbox (as SQLite's outbox migration; docs/postfix.md). */
    "CREATE TABLE outbox("
    "  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, seller_id TEXT NOT NULL,"
    "  message_id BIGINT NOT NULL REFERENCES messages(id),"
    "  kind TEXT NOT NULL CHECK (kind IN ('forward','refusal')),"
    "  state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending','sent','failed')),"
    "  attempts BIGINT NOT NULL DEFAULT 0, next_at BIGINT NOT NULL,"
    "  created_at BIGINT NOT NULL, sent_at BIGINT NOT NULL DEFAULT 0, last_error TEXT);"
    "CREATE INDEX outbox_due ON outbox(next_at, id) WHERE state = 'pending';"
    "CREATE INDEX agents_name ON agents(seller_id, name);",

    /* Attachments (as SQLite's attachments migration; docs/attachments.md). */
    "CREATE TABLE attachments("
    "  id TEXT PRIMARY KEY, seller_id TEXT, buyer_id TEXT, uploader TEXT NOT NULL,"
    "  name TEXT NOT NULL, kind TEXT NOT NULL, sha256 TEXT NOT NULL, size BIGINT NOT NULL,"
    "  readable BOOLEAN NOT NULL, reason TEXT, segments TEXT NOT NULL DEFAULT '[]',"
    "  created_at BIGINT NOT NULL);"
    "CREATE INDEX attachments_sha ON attachments(sha256);"
    "CREATE TABLE message_attachments("
    "  message_id BIGINT NOT NULL REFERENCES messages(id), thread_id BIGINT NOT NULL,"
    "  seller_id TEXT NOT NULL, attachment_id TEXT NOT NULL REFERENCES attachments(id),"
    "  pos INTEGER NOT NULL, PRIMARY KEY (message_id, attachment_id));"
    "CREATE INDEX message_attachments_thread ON message_attachments(thread_id);"
    "CREATE INDEX message_attachments_att ON message_attachments(attachment_id);",

    /* 7: team work (as SQLite's; docs/team.md): documents per seller, agents'
     * availability, threads' assignee, priority and tags, composition locks. */
    "CREATE TABLE team_docs("
    "  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    "  seller_id TEXT NOT NULL REFERENCES sellers(id),"
    "  kind TEXT NOT NULL CHECK (kind IN ('template','rule','proposal','firing')),"
    "  state TEXT NOT NULL DEFAULT '', body TEXT NOT NULL,"
    "  created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL);"
    "CREATE INDEX team_docs_seller ON team_docs(seller_id, kind, id);"
    "CREATE TABLE agent_status("
    "  agent_id BIGINT PRIMARY KEY REFERENCES agents(id), seller_id TEXT NOT NULL,"
    "  available BOOLEAN NOT NULL DEFAULT true, last_assigned_at BIGINT NOT NULL DEFAULT 0);"
    "CREATE TABLE thread_team("
    "  thread_id BIGINT PRIMARY KEY REFERENCES threads(id), seller_id TEXT NOT NULL,"
    "  assignee_id BIGINT NOT NULL DEFAULT 0, priority TEXT NOT NULL DEFAULT 'normal',"
    "  tags TEXT NOT NULL DEFAULT '');"
    "CREATE INDEX thread_team_assignee ON thread_team(seller_id, assignee_id);"
    "CREATE TABLE thread_locks("
    "  thread_id BIGINT PRIMARY KEY REFERENCES threads(id), seller_id TEXT NOT NULL,"
    "  agent_id BIGINT NOT NULL, agent_name TEXT NOT NULL, since BIGINT NOT NULL,"
    "  expires_at BIGINT NOT NULL);",

    /* A message's status events by message: the response clock reads each seller
     * message's delivery time. */
    "CREATE INDEX message_events_message ON message_events(message_id, type);",

    /* Counters every node reads: the policy's reload generation. */
    "CREATE TABLE counters(name TEXT PRIMARY KEY, value BIGINT NOT NULL);",

    /* Read marks by message id: a message in the same second as a read is still new. */
    "ALTER TABLE threads RENAME COLUMN seller_read_at TO seller_read_id;"
    "ALTER TABLE threads RENAME COLUMN buyer_read_at TO buyer_read_id;"
    "UPDATE threads SET seller_read_id = coalesce((SELECT max(m.id) FROM messages m"
    "  WHERE m.thread_id = threads.id AND m.at <= threads.seller_read_id), 0),"
    "  buyer_read_id = coalesce((SELECT max(m.id) FROM messages m"
    "  WHERE m.thread_id = threads.id AND m.at <= threads.buyer_read_id), 0);",

    /* Addresses agents write from by e-mail (as SQLite's; docs/postfix.md). */
    "CREATE TABLE agent_addresses("
    "  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    "  seller_id TEXT NOT NULL REFERENCES sellers(id),"
    "  agent_id BIGINT NOT NULL REFERENCES agents(id), email_sealed TEXT NOT NULL,"
    "  email_hash TEXT NOT NULL, created_at BIGINT NOT NULL, UNIQUE (seller_id, email_hash));"
    "CREATE INDEX agent_addresses_agent ON agent_addresses(agent_id);",

    /* One audit chain per seller, and signed checkpoints over every head (as SQLite's).
     * The one-row head that every append of every tenant locked goes: each chain's head
     * row is locked only by appends to that chain. */
    "ALTER TABLE audit ADD COLUMN chain TEXT;"
    "ALTER TABLE audit ADD COLUMN seq BIGINT NOT NULL DEFAULT 0;"
    "CREATE UNIQUE INDEX audit_chain_seq ON audit(chain, seq) WHERE chain IS NOT NULL;"
    "CREATE INDEX audit_legacy ON audit(id) WHERE chain IS NULL;"
    "CREATE TABLE audit_heads(chain TEXT PRIMARY KEY, seq BIGINT NOT NULL, hash TEXT NOT NULL);"
    "DROP TABLE audit_head;"
    "CREATE TABLE audit_checkpoints("
    "  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, at BIGINT NOT NULL,"
    "  nchains BIGINT NOT NULL, root TEXT NOT NULL, heads TEXT NOT NULL,"
    "  public_key TEXT NOT NULL, signature TEXT NOT NULL);"
    "CREATE TRIGGER audit_checkpoints_append_only BEFORE UPDATE OR DELETE ON audit_checkpoints"
    "  FOR EACH ROW EXECUTE FUNCTION parley_append_only();"
    "CREATE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE ON audit_checkpoints"
    "  FOR EACH STATEMENT EXECUTE FUNCTION parley_append_only();",

    /* The seller's search index of buyer messages, as in store_sqlite_schema.h: filled
     * for existing messages by the service when it starts. */
    "CREATE TABLE seller_search("
    "  message_id BIGINT PRIMARY KEY REFERENCES messages(id),"
    "  thread_id BIGINT NOT NULL, text TEXT NOT NULL,"
    "  tsv tsvector GENERATED ALWAYS AS (to_tsvector('parley_text'::regconfig, text)) STORED);"
    "CREATE INDEX seller_search_tsv ON seller_search USING GIN (tsv);"
    "CREATE INDEX seller_search_thread ON seller_search(thread_id);",

    /* The time of the newest message a buyer can see, by which a buyer's list is ordered:
     * the team's notes and refused messages do not move a thread there. */
    "ALTER TABLE threads ADD COLUMN buyer_last_at BIGINT NOT NULL DEFAULT 0;"
    "UPDATE threads SET buyer_last_at = coalesce((SELECT max(m.at) FROM messages m"
    "  LEFT JOIN message_state s ON s.message_id = m.id WHERE m.thread_id = threads.id"
    "  AND (m.direction = 'buyer' OR (m.kind <> 'note' AND s.status = 'delivered'))), 0);"
    "CREATE INDEX threads_buyer_seen ON threads(buyer_id, buyer_last_at DESC, id DESC);",

    /* Identities (docs/api.md, "Tokens"): tokens get a stable id to list and revoke them
     * by, a scope (the own API, a web session, or SP-API only), the token a session was
     * signed in with (revoked with it), when they were last used and when revoked; agents
     * can be deactivated (their history stays). */
    "ALTER TABLE tokens ADD COLUMN id BIGINT GENERATED ALWAYS AS IDENTITY;"
    "CREATE UNIQUE INDEX tokens_id ON tokens(id);"
    "ALTER TABLE tokens ADD COLUMN scope TEXT NOT NULL DEFAULT 'api'"
    "  CHECK (scope IN ('api','session','spapi'));"
    "ALTER TABLE tokens ADD COLUMN parent_id BIGINT NOT NULL DEFAULT 0;"
    "ALTER TABLE tokens ADD COLUMN last_used_at BIGINT NOT NULL DEFAULT 0;"
    "ALTER TABLE tokens ADD COLUMN revoked_at BIGINT NOT NULL DEFAULT 0;"
    "CREATE INDEX tokens_parent ON tokens(parent_id) WHERE parent_id <> 0;"
    "CREATE INDEX tokens_subject ON tokens(kind, subject);"
    "CREATE INDEX tokens_seller ON tokens(seller_id, id);"
    "ALTER TABLE agents ADD COLUMN deactivated_at BIGINT NOT NULL DEFAULT 0;",

    /* The clock and the thread summary one event at a time (as SQLite's migration;
     * docs/metrics.md). */
    "ALTER TABLE sla_thread_outcomes ADD COLUMN unflagged BIGINT NOT NULL DEFAULT 0;"
    "ALTER TABLE sla_thread_outcomes ADD COLUMN open BIGINT NOT NULL DEFAULT 0;"
    "UPDATE sla_thread_outcomes SET"
    "  unflagged = (SELECT count(*) FROM sla_outcomes o"
    "    WHERE o.thread_id = sla_thread_outcomes.thread_id AND NOT o.flagged),"
    "  open = (SELECT count(*) FROM sla_outcomes o"
    "    WHERE o.thread_id = sla_thread_outcomes.thread_id AND NOT o.flagged AND NOT o.answered);"
    "DROP INDEX sla_outcomes_thread;"
    "CREATE INDEX sla_outcomes_answer ON sla_outcomes(thread_id, answered, answered_at, reply_seq);"
    "CREATE INDEX messages_thread_at ON messages(thread_id, at, id);",

    /* Idempotency keys (docs/api.md): the first answer to a creating request, for its
     * retries; unattached uploads are found by age (docs/attachments.md). */
    "CREATE TABLE idempotency_keys("
    "  principal TEXT NOT NULL, key TEXT NOT NULL, fingerprint TEXT NOT NULL,"
    "  status INTEGER NOT NULL DEFAULT 0, body TEXT, created_at BIGINT NOT NULL,"
    "  PRIMARY KEY (principal, key));"
    "CREATE INDEX idempotency_keys_created ON idempotency_keys(created_at);"
    "CREATE INDEX attachments_created ON attachments(created_at);",
    /* The newest buyer message and the newest seller message the buyer can see, kept on
     * the thread (svc__thread_changed) rather than found by walking its messages back on
     * every read of the thread (docs/scaling.md). */
    "ALTER TABLE threads ADD COLUMN last_buyer_id BIGINT NOT NULL DEFAULT 0;"
    "ALTER TABLE threads ADD COLUMN last_seller_id BIGINT NOT NULL DEFAULT 0;"
    "UPDATE threads SET"
    "  last_buyer_id = coalesce((SELECT max(mb.id) FROM messages mb"
    "    WHERE mb.thread_id = threads.id AND mb.direction = 'buyer'), 0),"
    "  last_seller_id = coalesce((SELECT max(ms.id) FROM messages ms"
    "    JOIN message_state ss ON ss.message_id = ms.id WHERE ms.thread_id = threads.id"
    "    AND ms.direction = 'seller' AND ms.kind <> 'note' AND ss.status = 'delivered'), 0);",
    /* The operator's figures on /metrics (as SQLite's migration). */
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
    /* Webhooks (as SQLite's migration). */
    "CREATE TABLE webhooks("
    "  id BIGSERIAL PRIMARY KEY, owner TEXT NOT NULL CHECK (owner IN ('seller','operator')),"
    "  seller_id TEXT, marketplace_id TEXT, url TEXT NOT NULL, events TEXT NOT NULL,"
    "  secret_sealed TEXT NOT NULL, previous_secret_sealed TEXT,"
    "  previous_until BIGINT NOT NULL DEFAULT 0, active BOOLEAN NOT NULL DEFAULT TRUE,"
    "  failing_since BIGINT NOT NULL DEFAULT 0, paused_until BIGINT NOT NULL DEFAULT 0, disabled_reason TEXT,"
    "  created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL);"
    "CREATE INDEX webhooks_seller ON webhooks(seller_id);"
    "CREATE TABLE webhook_deliveries("
    "  id BIGSERIAL PRIMARY KEY, webhook_id BIGINT NOT NULL REFERENCES webhooks(id),"
    "  event_id TEXT NOT NULL, type TEXT NOT NULL, body TEXT NOT NULL,"
    "  state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending','delivered','failed')),"
    "  attempts INTEGER NOT NULL DEFAULT 0, next_at BIGINT NOT NULL, created_at BIGINT NOT NULL,"
    "  last_at BIGINT NOT NULL DEFAULT 0, last_status INTEGER NOT NULL DEFAULT 0,"
    "  last_ms INTEGER NOT NULL DEFAULT 0, last_answer TEXT, last_error TEXT,"
    "  UNIQUE (webhook_id, event_id));"
    "CREATE INDEX webhook_deliveries_due ON webhook_deliveries(next_at, id) WHERE state = 'pending';"
    "CREATE INDEX webhook_deliveries_created ON webhook_deliveries(created_at);",
    /* Notifications (as SQLite's migration; docs/notifications.md). */
    "CREATE TABLE seller_settings("
    "  id TEXT PRIMARY KEY REFERENCES sellers(id), notice_language TEXT,"
    "  marketplace_fulfilled BOOLEAN NOT NULL DEFAULT TRUE, email_sealed TEXT,"
    "  email_requested_at BIGINT NOT NULL DEFAULT 0, updated_at BIGINT NOT NULL);"
    "CREATE TABLE agent_notifications("
    "  agent_id BIGINT PRIMARY KEY REFERENCES agents(id), seller_id TEXT NOT NULL,"
    "  mode TEXT NOT NULL CHECK (mode IN ('each','hourly','daily','deadlines','none')),"
    "  scope TEXT NOT NULL CHECK (scope IN ('assigned','all')),"
    "  email BOOLEAN NOT NULL, browser BOOLEAN NOT NULL, digest_at BIGINT NOT NULL DEFAULT 0);"
    "CREATE INDEX agent_notifications_seller ON agent_notifications(seller_id, mode);"
    "CREATE INDEX agent_notifications_digest ON agent_notifications(digest_at)"
    "  WHERE mode IN ('hourly','daily');"
    "ALTER TABLE outbox ALTER COLUMN message_id DROP NOT NULL;"
    "ALTER TABLE outbox DROP CONSTRAINT outbox_kind_check;"
    "ALTER TABLE outbox ADD CONSTRAINT outbox_kind_check CHECK (kind IN ('forward','refusal','notice'));"
    "ALTER TABLE outbox ADD COLUMN agent_id BIGINT NOT NULL DEFAULT 0;"
    "ALTER TABLE outbox ADD COLUMN payload TEXT;"
    "ALTER TABLE outbox ADD COLUMN dedupe TEXT UNIQUE;"
    "ALTER TABLE orders ADD COLUMN fulfilled_by TEXT NOT NULL DEFAULT 'seller'"
    "  CHECK (fulfilled_by IN ('seller','marketplace'));"
    /* bulk notices (docs/rules.md "Bulk notices"): one text to many orders, each order an
     * item sent by the bulk worker within the seller's rate limit */
    "CREATE TABLE bulk_notices(id BIGSERIAL PRIMARY KEY, seller_id TEXT NOT NULL REFERENCES sellers(id),"
    "  marketplace_id TEXT NOT NULL, agent_id BIGINT NOT NULL, action TEXT NOT NULL, text TEXT NOT NULL,"
    "  attachments TEXT NOT NULL DEFAULT '[]',"
    "  status TEXT NOT NULL CHECK (status IN ('running','done','canceled')),"
    "  total BIGINT NOT NULL, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL);"
    "CREATE INDEX bulk_notices_seller ON bulk_notices(seller_id, id);"
    "CREATE TABLE bulk_notice_items(notice_id BIGINT NOT NULL REFERENCES bulk_notices(id),"
    "  order_id TEXT NOT NULL, state TEXT NOT NULL CHECK (state IN"
    "  ('pending','delivered','not_delivered','failed','canceled')), message_id BIGINT NOT NULL DEFAULT 0,"
    "  error TEXT, updated_at BIGINT NOT NULL, PRIMARY KEY (notice_id, order_id));"
    "CREATE INDEX bulk_notice_items_pending ON bulk_notice_items(notice_id) WHERE state = 'pending';"
    /* claims the operator records against orders (a-to-z, chargebacks, negative feedback):
     * the seller's complaint rate (docs/metrics.md) */
    "CREATE TABLE claims(id BIGSERIAL PRIMARY KEY, order_id TEXT NOT NULL REFERENCES orders(id),"
    "  seller_id TEXT NOT NULL, kind TEXT NOT NULL CHECK (kind IN ('a_to_z','chargeback','negative_feedback')),"
    "  at BIGINT NOT NULL, created_at BIGINT NOT NULL, UNIQUE (order_id, kind, at));"
    "CREATE INDEX claims_seller ON claims(seller_id, at);"
    /* each seller's status as last seen (the operator's seller.at_risk) and since when its
     * CRT is at risk without a break (the automatic quota for poor performance) */
    "CREATE TABLE seller_health(id TEXT PRIMARY KEY REFERENCES sellers(id), status TEXT NOT NULL,"
    "  changed_at BIGINT NOT NULL, crt_at_risk_since BIGINT NOT NULL DEFAULT 0);",
    /* Retention (as SQLite's): legal holds, and a purge of a whole thread past its
     * marketplace's retention, which names the thread in the transaction's setting
     * parley.purge; every other UPDATE or DELETE of the record stays an error. */
    "CREATE TABLE legal_holds(thread_id BIGINT PRIMARY KEY REFERENCES threads(id),"
    "  seller_id TEXT NOT NULL, marketplace_id TEXT NOT NULL, reason TEXT NOT NULL,"
    "  set_by TEXT NOT NULL, set_at BIGINT NOT NULL);"
    "CREATE INDEX legal_holds_marketplace ON legal_holds(marketplace_id, thread_id);"
    "CREATE FUNCTION parley_append_only_purge() RETURNS trigger LANGUAGE plpgsql AS $f$"
    "  BEGIN"
    "    IF TG_OP = 'DELETE' AND OLD.thread_id::text = current_setting('parley.purge', true) THEN"
    "      RETURN OLD;"
    "    END IF;"
    "    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'restrict_violation';"
    "  END $f$;"
    "DROP TRIGGER messages_append_only ON messages;"
    "CREATE TRIGGER messages_append_only BEFORE UPDATE OR DELETE ON messages"
    "  FOR EACH ROW EXECUTE FUNCTION parley_append_only_purge();"
    "DROP TRIGGER message_events_append_only ON message_events;"
    "CREATE TRIGGER message_events_append_only BEFORE UPDATE OR DELETE ON message_events"
    "  FOR EACH ROW EXECUTE FUNCTION parley_append_only_purge();",
    /* What the seller sees of an order beside its items (as SQLite's). */
    "ALTER TABLE orders ADD COLUMN ship_country TEXT;"
    "ALTER TABLE orders ADD COLUMN carrier TEXT;"
    "ALTER TABLE orders ADD COLUMN tracking TEXT;"
    "ALTER TABLE orders ADD COLUMN promised_at BIGINT NOT NULL DEFAULT 0;"
    "ALTER TABLE orders ADD COLUMN return_state TEXT"
    "  CHECK (return_state IN ('requested','in_transit','received','refunded','partially_refunded'));",
    /* Accounts, sessions' browsers and invitations (as SQLite's migration; docs/api.md
     * "Accounts"). */
    "CREATE TABLE accounts(id BIGSERIAL PRIMARY KEY,"
    "  kind TEXT NOT NULL CHECK (kind IN ('operator','agent','buyer')), subject TEXT NOT NULL,"
    "  seller_id TEXT, email_hash TEXT NOT NULL UNIQUE, email_sealed TEXT NOT NULL,"
    "  password_hash TEXT NOT NULL, password_at BIGINT NOT NULL,"
    "  totp_sealed TEXT, totp_on BOOLEAN NOT NULL DEFAULT FALSE, totp_step BIGINT NOT NULL DEFAULT 0,"
    "  reset_at BIGINT NOT NULL DEFAULT 0, created_at BIGINT NOT NULL, verified_at BIGINT NOT NULL DEFAULT 0,"
    "  UNIQUE (kind, subject));"
    "CREATE INDEX accounts_seller ON accounts(seller_id);"
    "ALTER TABLE tokens ADD COLUMN user_agent TEXT;"
    "CREATE TABLE invitations(id BIGSERIAL PRIMARY KEY,"
    "  kind TEXT NOT NULL CHECK (kind IN ('operator','agent')), seller_id TEXT,"
    "  role TEXT, email_hash TEXT NOT NULL, email_sealed TEXT NOT NULL, invited_by TEXT NOT NULL,"
    "  created_at BIGINT NOT NULL, expires_at BIGINT NOT NULL,"
    "  accepted_at BIGINT NOT NULL DEFAULT 0, revoked_at BIGINT NOT NULL DEFAULT 0);"
    "CREATE INDEX invitations_seller ON invitations(seller_id, id);",
    /* Learning from the operator (as SQLite's migration; docs/policy.md). */
    "CREATE TABLE policy_examples(id BIGSERIAL PRIMARY KEY, marketplace_id TEXT NOT NULL,"
    "  seller_id TEXT NOT NULL, message_id BIGINT NOT NULL UNIQUE,"
    "  label TEXT NOT NULL CHECK (label IN ('clean','violation')), categories TEXT NOT NULL,"
    "  text TEXT NOT NULL, decided_by TEXT NOT NULL, decided_at BIGINT NOT NULL);"
    "CREATE INDEX policy_examples_marketplace ON policy_examples(marketplace_id, id);"
    "CREATE TABLE policy_models(marketplace_id TEXT PRIMARY KEY, version TEXT NOT NULL,"
    "  model TEXT NOT NULL, examples BIGINT NOT NULL, trained_by TEXT NOT NULL,"
    "  trained_at BIGINT NOT NULL);",
    /* Recovery codes of a second factor (as SQLite's migration). */
    "CREATE TABLE recovery_codes(account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
    "  hash TEXT NOT NULL, used_at BIGINT NOT NULL DEFAULT 0, PRIMARY KEY (account_id, hash));",
};

#endif
