-- Read state and the conversation list (SPEC.md section 9), SQLite flavour. The same
-- schema as the PostgreSQL migration of the same name, which explains each column.

-- The watermark per (conversation, participant); it only ever moves up.
ALTER TABLE participants ADD COLUMN last_read_seq INTEGER NOT NULL DEFAULT 0;

-- The newest message and the last activity (epoch ms), kept current by the write path.
-- SQLite cannot add a column with a computed default, so activity_at defaults to 0 and
-- creation sets it to created_at (db/conversations.rs).
ALTER TABLE conversations ADD COLUMN last_message_id INTEGER;
ALTER TABLE conversations ADD COLUMN activity_at INTEGER NOT NULL DEFAULT 0;

-- Existing databases upgrade in place.
UPDATE conversations SET
    last_message_id = (SELECT m.id FROM messages m
                       WHERE m.conversation_id = conversations.id AND m.seq = conversations.last_seq),
    activity_at = COALESCE((SELECT m.created_at FROM messages m
                            WHERE m.conversation_id = conversations.id AND m.seq = conversations.last_seq),
                           created_at);

UPDATE participants SET last_read_seq = MAX(
    COALESCE((SELECT MAX(m.seq) FROM messages m
              WHERE m.conversation_id = participants.conversation_id
                AND m.sender_id = participants.user_id), 0),
    COALESCE((SELECT MAX(m.seq) FROM read_receipts r JOIN messages m ON m.id = r.message_id
              WHERE m.conversation_id = participants.conversation_id
                AND r.user_id = participants.user_id), 0));
