-- The request that handed a message over: the events it causes later (its settlement, when the carrier has
-- answered) carry it as `requestid`, so one id follows a message from the send button to its capture.
ALTER TABLE messages ADD COLUMN request_id text;
