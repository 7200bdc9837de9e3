-- The refresh token a session rotated away from, for a few seconds more: a client whose refresh answer
-- was lost (a page closed or a connection dropped after the server rotated) sends the previous token
-- again, and that is not a stolen copy. Within REFRESH_REUSE_GRACE_SECONDS of the rotation the previous
-- token renews the session once more; later, or any older token, is a reuse and ends the session.
ALTER TABLE sessions ADD COLUMN previous_hash bytea, ADD COLUMN rotated_at timestamptz;
