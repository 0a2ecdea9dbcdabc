-- Read state and the conversation list (SPEC.md section 9), PostgreSQL flavour.
--
-- The watermark ("seen everything up to this seq") is stored once per (conversation,
-- participant), on the participant's row. It only ever moves up: every writer says
-- `SET last_read_seq = x WHERE last_read_seq < x`, and the row lock orders writers.
-- Sending a message moves the sender's own watermark to its seq (in the transaction
-- that stores it), so every message above a watermark is someone else's, and the
-- unread count is `last_seq - last_read_seq`, exactly, without reading messages.
ALTER TABLE participants ADD COLUMN last_read_seq BIGINT NOT NULL DEFAULT 0;

-- What the list shows of a conversation, kept current by the write path in the
-- transaction that stores each message, so that listing never scans messages:
-- the newest message (no foreign key: a conversation's messages are only ever deleted
-- with it, and a key would make that cascade order-dependent) and the time of the last
-- activity (that message's `created_at`, else the conversation's creation).
ALTER TABLE conversations ADD COLUMN last_message_id BIGINT;
ALTER TABLE conversations ADD COLUMN activity_at TIMESTAMPTZ;

-- Existing databases upgrade in place.
UPDATE conversations c SET last_message_id = m.id, activity_at = m.created_at
FROM messages m
WHERE m.conversation_id = c.id AND m.seq = c.last_seq;
UPDATE conversations SET activity_at = created_at WHERE activity_at IS NULL;
ALTER TABLE conversations ALTER COLUMN activity_at SET NOT NULL;
-- Creation sets it to `created_at` exactly (db/conversations.rs); the default only
-- covers rows inserted by hand.
ALTER TABLE conversations
    ALTER COLUMN activity_at SET DEFAULT date_trunc('milliseconds', clock_timestamp());

-- A watermark from what was known before: the highest seq each participant sent (the
-- rule above) or left a read receipt on.
UPDATE participants p SET last_read_seq = GREATEST(
    COALESCE((SELECT MAX(m.seq) FROM messages m
              WHERE m.conversation_id = p.conversation_id AND m.sender_id = p.user_id), 0),
    COALESCE((SELECT MAX(m.seq) FROM read_receipts r JOIN messages m ON m.id = r.message_id
              WHERE m.conversation_id = p.conversation_id AND r.user_id = p.user_id), 0));

-- No index on activity_at: the list starts from the caller's rows (participants_user_idx)
-- and sorts those few, and an index on a column every message updates would stop
-- PostgreSQL from updating the conversation's row in place (HOT).
