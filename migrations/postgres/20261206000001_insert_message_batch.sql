-- Group commit's batch in one call (issue 17; docs/BENCHMARKS.md, "PostgreSQL's cost per
-- message").
--
-- The batch was five round trips (BEGIN, lock, lookups, insert, COMMIT), and a profile of
-- PostgreSQL at 1,500 msgs/s found most of its CPU outside the statements themselves:
-- waking up for each message of the protocol, and planning the array statements anew for
-- each batch (PostgreSQL kept choosing custom plans for them). Called outside an explicit
-- transaction, this function is its own transaction: one round trip, committed before
-- PostgreSQL answers ReadyForQuery, which is what the writer waits for before any ack.
-- Its statements keep generic plans (`plan_cache_mode`): every one is an index lookup or
-- an UNNEST of the arguments, whatever their values.
--
-- Generic plans are made once per connection and kept as the tables grow, so the
-- function also rules out the plans that read a whole table (sequential scans, and hash
-- or merge joins that would scan an index from end to end): made while `messages` was
-- empty, such a plan would still read every message for every batch a day later. What is
-- left is an index probe per message, which is what every statement here is. To see the
-- plans: `LOAD 'auto_explain'` with `auto_explain.log_nested_statements` and
-- `log_analyze` on, then call the function in a transaction and roll it back.
--
-- Arguments: the batch's messages in order, one element each, with no key repeated (the
-- writer folds repeats within a batch). Returns a row per message that was stored by this
-- call (`inserted`) or before (`inserted` false: the stored message); a message without
-- a row was refused: its sender is not a participant, or there is no such conversation.
CREATE FUNCTION insert_message_batch(
    conversation_ids   BIGINT[],
    sender_ids         BIGINT[],
    client_message_ids TEXT[],
    texts              TEXT[]
)
RETURNS TABLE (
    inserted          BOOLEAN,
    id                BIGINT,
    conversation_id   BIGINT,
    seq               BIGINT,
    sender_id         BIGINT,
    text              TEXT,
    client_message_id TEXT,
    created_at_ms     BIGINT
)
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
SET enable_seqscan = off
SET enable_hashjoin = off
SET enable_mergejoin = off
AS $$
#variable_conflict use_column
BEGIN
    -- 1. Lock the batch's conversations in id order: two batches (from any node) never
    --    wait on each other in a cycle.
    PERFORM 1 FROM conversations c
    WHERE c.id = ANY (insert_message_batch.conversation_ids)
    ORDER BY c.id
    FOR UPDATE;

    -- 2. A new statement, so a new snapshot taken under the locks: a repeat of a message
    --    into the same conversation has either committed (and is found) or not started.
    --    Each lookup is a scalar subquery on a unique key: one index probe per message
    --    (an EXISTS may be planned as a hash of the whole table instead).
    -- 3. Seqs follow each conversation's counter in batch order; the messages, the
    --    counters, the list's last message and activity, and the senders' watermarks are
    --    stored by the same statement.
    RETURN QUERY
    WITH batch AS (
        SELECT b.ord, b.conversation_id, b.sender_id, b.client_message_id, b.text,
               (SELECT TRUE FROM participants p
                WHERE p.conversation_id = b.conversation_id
                  AND p.user_id = b.sender_id) AS participant,
               (SELECT m.id FROM messages m
                WHERE m.sender_id = b.sender_id
                  AND m.client_message_id = b.client_message_id) AS stored_id,
               (SELECT c.last_seq FROM conversations c
                WHERE c.id = b.conversation_id) AS last_seq
        FROM UNNEST(insert_message_batch.conversation_ids, insert_message_batch.sender_ids,
                    insert_message_batch.client_message_ids, insert_message_batch.texts)
             WITH ORDINALITY AS b (conversation_id, sender_id, client_message_id, text, ord)
    ), stored AS (
        INSERT INTO messages (conversation_id, seq, sender_id, text, client_message_id)
        SELECT f.conversation_id,
               f.last_seq + ROW_NUMBER() OVER (PARTITION BY f.conversation_id ORDER BY f.ord),
               f.sender_id, f.text, f.client_message_id
        FROM batch f
        WHERE f.participant AND f.stored_id IS NULL
        ORDER BY f.ord
        RETURNING messages.id, messages.conversation_id, messages.seq, messages.sender_id,
                  messages.text, messages.client_message_id, messages.created_at
    ), newest AS (
        SELECT DISTINCT ON (s.conversation_id) s.conversation_id, s.id, s.seq, s.created_at
        FROM stored s
        ORDER BY s.conversation_id, s.seq DESC
    ), counters AS (
        UPDATE conversations c
        SET last_seq = n.seq, last_message_id = n.id, activity_at = n.created_at
        FROM newest n
        WHERE c.id = n.conversation_id
    ), watermarks AS (
        UPDATE participants p
        SET last_read_seq = w.seq
        FROM (SELECT s.conversation_id, s.sender_id, MAX(s.seq) AS seq
              FROM stored s
              GROUP BY s.conversation_id, s.sender_id) w
        WHERE p.conversation_id = w.conversation_id
          AND p.user_id = w.sender_id
          AND p.last_read_seq < w.seq
    )
    SELECT TRUE, s.id, s.conversation_id, s.seq, s.sender_id, s.text,
           s.client_message_id::TEXT, (EXTRACT(EPOCH FROM s.created_at) * 1000)::BIGINT
    FROM stored s
    UNION ALL
    SELECT FALSE, m.id, m.conversation_id, m.seq, m.sender_id, m.text,
           m.client_message_id::TEXT, (EXTRACT(EPOCH FROM m.created_at) * 1000)::BIGINT
    FROM batch b
    CROSS JOIN LATERAL (SELECT * FROM messages m WHERE m.id = b.stored_id) m;
END
$$;
