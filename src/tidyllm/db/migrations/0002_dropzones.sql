-- Drop-zone ledger: the ledger is the queue (see docs/dropzones.md).
--
-- files:          one row per sighting of a file version in a zone's incoming/.
--                 (zone, key_bytes, fingerprint, generation) is unique: the same
--                 object seen again by a scan or an event is the same row; the same
--                 content re-dropped after it was moved out is a new generation.
-- file_contents:  who owns the processing of one content version
--                 (zone, sha256, pipeline_version): at most one file is processed
--                 to completion per content; later ones are duplicates.
-- events:         the append-only audit trail.

CREATE TABLE files (
    id               bigserial PRIMARY KEY,
    zone             text NOT NULL,
    key              text NOT NULL,
    key_bytes        bytea NOT NULL,
    fingerprint      text NOT NULL,
    generation       integer NOT NULL DEFAULT 0,
    size             bigint NOT NULL,
    modified         timestamptz,
    kind             text NOT NULL DEFAULT 'file'
                     CHECK (kind IN ('file', 'symlink', 'special', 'invalid_name')),
    sha256           text,
    pipeline         text NOT NULL,
    pipeline_version text NOT NULL,
    state            text NOT NULL DEFAULT 'pending'
                     CHECK (state IN ('pending', 'processing', 'done', 'failed', 'duplicate',
                                      'dead', 'vanished', 'superseded')),
    location         text NOT NULL DEFAULT 'incoming'
                     CHECK (location IN ('incoming', 'processed', 'failed', 'gone')),
    attempts         integer NOT NULL DEFAULT 0,
    max_attempts     integer NOT NULL,
    not_before       timestamptz NOT NULL DEFAULT now(),
    lease_owner      text,
    lease_expires    timestamptz,
    target_state     text,
    dest_key         text,
    error            jsonb,
    result           jsonb,
    duplicate_of     bigint REFERENCES files (id),
    replaces         bigint REFERENCES files (id),
    mlflow_run_id    text,
    detected_at      timestamptz NOT NULL DEFAULT now(),
    started_at       timestamptz,
    finished_at      timestamptz,
    UNIQUE (zone, key_bytes, fingerprint, generation)
);

CREATE INDEX files_pending ON files (not_before, id) WHERE state = 'pending';
CREATE INDEX files_leased ON files (lease_expires) WHERE state = 'processing';
CREATE INDEX files_zone_key ON files (zone, key, id);
CREATE INDEX files_zone_state ON files (zone, state);
CREATE INDEX files_zone_finished ON files (zone, finished_at);

CREATE TABLE file_contents (
    zone             text NOT NULL,
    sha256           text NOT NULL,
    pipeline_version text NOT NULL,
    file_id          bigint NOT NULL REFERENCES files (id),
    PRIMARY KEY (zone, sha256, pipeline_version)
);

CREATE TABLE events (
    id       bigserial PRIMARY KEY,
    file_id  bigint REFERENCES files (id),
    zone     text NOT NULL,
    at       timestamptz NOT NULL DEFAULT clock_timestamp(),
    kind     text NOT NULL,
    worker   text,
    detail   jsonb NOT NULL DEFAULT '{}'::jsonb
);

CREATE INDEX events_file ON events (file_id, id);

CREATE FUNCTION events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'events is append-only';
END
$$;

CREATE TRIGGER events_no_change BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION events_append_only();
