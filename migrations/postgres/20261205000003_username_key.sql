-- Usernames are unique whatever their case or Unicode form (issue 16): `username_key` is
-- the NFKC, case-folded form of `username` (server/src/names.rs). SQL cannot compute it
-- the same way on both backends, so chat-server fills it for existing rows when it starts
-- (Db::fill_username_keys); every new user is inserted with it.
--
-- Existing rows whose keys collide: the oldest (lowest id) gets the key and the others
-- keep theirs NULL (a unique index allows several NULLs). They still sign in with their
-- exact name, and nobody new can take a name with that key.
ALTER TABLE users ADD COLUMN username_key TEXT;
CREATE UNIQUE INDEX users_username_key_idx ON users (username_key);
