-- Identity and access (issue 11): users with roles, API tokens, per-domain grants, and an
-- append-only audit of who did what.
--
-- Roles are ordered viewer < editor < admin. A user's role caps what any grant gives them;
-- admins see every domain without grants. A grant with user_id NULL is for everyone.
-- Tokens are stored only as the SHA-256 of the secret (a random 256-bit string needs no
-- slow hash); passwords as argon2id hashes. Deleting a user removes their tokens and grants;
-- audit rows keep the actor's name and id without a foreign key, so history survives.
-- Failed logins are throttled from the audit rows themselves (action 'login.failure').

CREATE TABLE users (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name          text NOT NULL UNIQUE CHECK (name ~ '^[a-z0-9][a-z0-9._@-]{0,63}$'),
    role          text NOT NULL CHECK (role IN ('viewer', 'editor', 'admin')),
    password_hash text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    disabled_at   timestamptz
);

CREATE TABLE api_tokens (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id      bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    token_sha256 text NOT NULL UNIQUE CHECK (token_sha256 ~ '^[0-9a-f]{64}$'),
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz,
    last_used_at timestamptz,
    revoked_at   timestamptz
);

CREATE INDEX api_tokens_user ON api_tokens (user_id);

CREATE TABLE grants (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    domain_id  bigint NOT NULL REFERENCES domains (id) ON DELETE CASCADE,
    user_id    bigint REFERENCES users (id) ON DELETE CASCADE,
    role       text NOT NULL CHECK (role IN ('viewer', 'editor')),
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE NULLS NOT DISTINCT (domain_id, user_id)
);

CREATE INDEX grants_user ON grants (user_id);

CREATE TABLE audit_events (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at         timestamptz NOT NULL DEFAULT now(),
    actor_id   bigint,
    actor_name text NOT NULL,
    action     text NOT NULL CHECK (action ~ '^[a-z_]+\.[a-z_]+$'),
    target     text NOT NULL DEFAULT '',
    detail     jsonb NOT NULL DEFAULT '{}',
    client     text
);

CREATE INDEX audit_events_at ON audit_events (at);
CREATE INDEX audit_events_actor ON audit_events (actor_name, at);
CREATE INDEX audit_events_login_failures ON audit_events (at) WHERE action = 'login.failure';

CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only';
END
$$;

CREATE TRIGGER audit_events_no_change BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();
