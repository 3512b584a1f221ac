-- Browser sessions (issue 11): a cookie holds a random session id; the server keeps only
-- its SHA-256, the user and an absolute expiry. Logout deletes the row; expired rows stop
-- working at once (the check compares expires_at) and are deleted at a later login.
-- The CSRF token is derived from the session id (an HMAC), so it needs no column.

CREATE TABLE web_sessions (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id        bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    session_sha256 text NOT NULL UNIQUE CHECK (session_sha256 ~ '^[0-9a-f]{64}$'),
    created_at     timestamptz NOT NULL DEFAULT now(),
    expires_at     timestamptz NOT NULL,
    client         text
);

CREATE INDEX web_sessions_user ON web_sessions (user_id);
CREATE INDEX web_sessions_expires ON web_sessions (expires_at);
