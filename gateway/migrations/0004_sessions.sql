-- Sessions: one row per sign-in (a device, a browser), the "family" of refresh tokens it hands out.
-- Only the sha256 of the current refresh token is kept, with its generation: a token carries its
-- session id and generation, so a token of an earlier generation is recognised as one already rotated
-- (a reuse: the token was copied, and the whole session is revoked) without keeping every old hash.
CREATE TABLE sessions (
    id              uuid PRIMARY KEY,
    person_id       uuid NOT NULL REFERENCES users (id),
    refresh_hash    bytea NOT NULL,
    generation      integer NOT NULL DEFAULT 1,
    created_at      timestamptz NOT NULL DEFAULT now(),
    last_used_at    timestamptz NOT NULL DEFAULT now(),
    -- Moves forward on every refresh: a session ends after REFRESH_TOKEN_TTL without use.
    expires_at      timestamptz NOT NULL,
    revoked_at      timestamptz,
    -- Why it ended early: signed-out, ended-by-user (from the device list), reused, deactivated.
    revoked_because text,
    user_agent      text,
    ip              text
);
-- A person's live sessions: their device list, and ending them all when they are deactivated.
CREATE INDEX sessions_of_person ON sessions (person_id) WHERE revoked_at IS NULL;
-- The purge of sessions long over.
CREATE INDEX sessions_by_expiry ON sessions (expires_at);
CREATE INDEX sessions_by_revocation ON sessions (revoked_at) WHERE revoked_at IS NOT NULL;
