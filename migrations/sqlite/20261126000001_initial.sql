-- Initial schema, SQLite flavour (the embedded, single-node default).
-- Timestamps are INTEGER milliseconds since the Unix epoch: SQLite has no timestamp type,
-- and integers compare and index correctly where RFC 3339 text with varying precision
-- would not. The default is computed by SQLite itself so every writer agrees.

CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    username      TEXT    NOT NULL UNIQUE,
    password_hash TEXT    NOT NULL,
    created_at    INTEGER NOT NULL DEFAULT (CAST(ROUND((julianday('now') - 2440587.5) * 86400000) AS INTEGER))
);

CREATE TABLE conversations (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    kind       TEXT    NOT NULL CHECK (kind IN ('direct', 'group')),
    title      TEXT,
    -- "minUserId:maxUserId" for direct conversations, NULL for groups: the unique index
    -- makes "asking again returns the same direct conversation" hold under concurrency.
    direct_key TEXT    UNIQUE,
    -- Highest seq handed out; bumped in the same transaction as the message insert.
    last_seq   INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL DEFAULT (CAST(ROUND((julianday('now') - 2440587.5) * 86400000) AS INTEGER)),
    CHECK ((kind = 'direct') = (direct_key IS NOT NULL))
);

CREATE TABLE participants (
    conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    user_id         INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    joined_at       INTEGER NOT NULL DEFAULT (CAST(ROUND((julianday('now') - 2440587.5) * 86400000) AS INTEGER)),
    PRIMARY KEY (conversation_id, user_id)
);
-- "Which conversations is this user in" (listing, presence fan-out).
CREATE INDEX participants_user_idx ON participants (user_id);

CREATE TABLE messages (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id   INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    seq               INTEGER NOT NULL,
    sender_id         INTEGER NOT NULL REFERENCES users (id),
    text              TEXT    NOT NULL,
    client_message_id TEXT,
    created_at        INTEGER NOT NULL DEFAULT (CAST(ROUND((julianday('now') - 2440587.5) * 86400000) AS INTEGER)),
    UNIQUE (conversation_id, seq),
    -- Idempotency of sends; NULLs are distinct, so messages without one never collide.
    UNIQUE (sender_id, client_message_id)
);
-- History by time (`since`).
CREATE INDEX messages_conversation_created_idx ON messages (conversation_id, created_at);

CREATE TABLE read_receipts (
    message_id INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    read_at    INTEGER NOT NULL DEFAULT (CAST(ROUND((julianday('now') - 2440587.5) * 86400000) AS INTEGER)),
    PRIMARY KEY (message_id, user_id)
);
