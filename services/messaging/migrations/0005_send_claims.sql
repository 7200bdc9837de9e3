-- Who is sending a message now. Each delivery of a `message.queued` that sends takes the message's claim
-- (a token of its own and a lease it renews while it sends); another delivery of the same message (a copy
-- the relay published again, or another replica's) waits until the claim is released or its lease has
-- run out (its holder died), instead of submitting every segment a second time.
ALTER TABLE messages ADD COLUMN sender_token uuid, ADD COLUMN sender_lease_until timestamptz;
