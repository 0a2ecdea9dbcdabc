-- Cheaper message inserts (issue 17): no foreign keys on `messages`.
--
-- Each inserted row paid two referential checks (a lookup with a row lock in
-- `conversations` and in `users`), run as triggers. Neither catches anything here: a
-- message is only ever stored after its sender was found among the conversation's
-- participants, in the same transaction and under the conversation's row lock
-- (server/src/db/write), and `participants` keeps its own keys to both tables. Users and
-- conversations are never deleted by chat-server, so the cascade from a conversation to
-- its messages had nothing to do either; an operator deleting a conversation by hand
-- deletes its messages first.
ALTER TABLE messages
    DROP CONSTRAINT IF EXISTS messages_conversation_id_fkey,
    DROP CONSTRAINT IF EXISTS messages_sender_id_fkey;
