-- Initial schema, PostgreSQL flavour (production; several server nodes may share it).
-- Ids and seqs are BIGINT so Rust reads them as i64 on both backends. Timestamps are
-- TIMESTAMPTZ truncated to milliseconds, the precision the wire shows: a client that
-- passes a createdAt back as `since` then matches the row exactly.

CREATE TABLE users (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username      TEXT        NOT NULL UNIQUE,
    password_hash TEXT        NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT date_trunc('milliseconds', clock_timestamp())
);

CREATE TABLE conversations (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind       TEXT        NOT NULL CHECK (kind IN ('direct', 'group')),
    title      TEXT,
    -- "minUserId:maxUserId" for direct conversations, NULL for groups: the unique index
    -- makes "asking again returns the same direct conversation" hold under concurrency.
    direct_key TEXT        UNIQUE,
    -- Highest seq handed out. The row lock taken by `UPDATE … SET last_seq = last_seq + 1`
    -- serialises senders of one conversation across all nodes until commit.
    last_seq   BIGINT      NOT NULL DEFAULT 0,
    created_at TIMESTAMPTZ NOT NULL DEFAULT date_trunc('milliseconds', clock_timestamp()),
    CHECK ((kind = 'direct') = (direct_key IS NOT NULL))
);

CREATE TABLE participants (
    conversation_id BIGINT      NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    user_id         BIGINT      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    joined_at       TIMESTAMPTZ NOT NULL DEFAULT date_trunc('milliseconds', clock_timestamp()),
    PRIMARY KEY (conversation_id, user_id)
);
-- "Which conversations is this user in" (listing, presence fan-out).
CREATE INDEX participants_user_idx ON participants (user_id);

CREATE TABLE messages (
    id                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    conversation_id   BIGINT      NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    seq               BIGINT      NOT NULL,
    sender_id         BIGINT      NOT NULL REFERENCES users (id),
    text              TEXT        NOT NULL,
    client_message_id VARCHAR(36),
    -- clock_timestamp(), not now(): now() is the transaction's start, which could put a
    -- later seq before an earlier one in time.
    created_at        TIMESTAMPTZ NOT NULL DEFAULT date_trunc('milliseconds', clock_timestamp()),
    UNIQUE (conversation_id, seq),
    -- Idempotency of sends; NULLs are distinct, so messages without one never collide.
    UNIQUE (sender_id, client_message_id)
);
-- History by time (`since`).
CREATE INDEX messages_conversation_created_idx ON messages (conversation_id, created_at);

CREATE TABLE read_receipts (
    message_id BIGINT      NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    user_id    BIGINT      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    read_at    TIMESTAMPTZ NOT NULL DEFAULT date_trunc('milliseconds', clock_timestamp()),
    PRIMARY KEY (message_id, user_id)
);
