-- BM25 for the full-text leg, and contextual chunks (issue 10).
--
-- chunks.context is what a reader of the chunk knows and its text may not say: the
-- document's title and the chunk's heading. chunks.aliases holds the other form of every
-- abbreviation the chunk uses, as the document defines it ("bank holding companies" for a
-- chunk that says "BHCs", and the reverse). Both are indexed with the text; the context is
-- also embedded. Neither is displayed, and the offsets still point into text.
--
-- BM25 needs, per domain, the number of chunks, their total length in lexeme occurrences,
-- and each lexeme's document frequency. They are kept in two tables by statement-level
-- triggers on chunks, so they change in the same transaction as the chunks they count:
-- a concurrent search sees statistics that match its snapshot of the chunks. The triggers
-- take a transaction-scoped advisory lock per domain first (the same order for every
-- writer), so concurrent writers to one domain queue instead of deadlocking on the
-- statistics rows.

CREATE FUNCTION tidyllm_token_count(tsvector) RETURNS integer
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN (SELECT coalesce(sum(cardinality(positions)), 0)::integer FROM unnest($1));

ALTER TABLE chunks
    ADD COLUMN context text NOT NULL DEFAULT '',
    ADD COLUMN aliases text NOT NULL DEFAULT '';
ALTER TABLE chunks DROP COLUMN tsv;
ALTER TABLE chunks ADD COLUMN tsv tsvector GENERATED ALWAYS AS (
    to_tsvector(language, context || E'\n' || text || E'\n' || aliases)
) STORED;
ALTER TABLE chunks ADD COLUMN tsv_length integer GENERATED ALWAYS AS (
    tidyllm_token_count(to_tsvector(language, context || E'\n' || text || E'\n' || aliases))
) STORED;
CREATE INDEX chunks_tsv_idx ON chunks USING gin (tsv);

CREATE TABLE domain_text_stats (
    domain_id bigint PRIMARY KEY REFERENCES domains (id) ON DELETE CASCADE,
    chunks    bigint NOT NULL DEFAULT 0,
    tokens    bigint NOT NULL DEFAULT 0
);

CREATE TABLE lexeme_stats (
    domain_id bigint NOT NULL REFERENCES domains (id) ON DELETE CASCADE,
    lexeme    text NOT NULL,
    chunks    bigint NOT NULL,
    PRIMARY KEY (domain_id, lexeme)
);
CREATE INDEX lexeme_stats_unused_idx ON lexeme_stats (domain_id) WHERE chunks <= 0;

-- Add (argument 1) or remove (-1) the chunks of the transition table changed_chunks.
-- Rows of a domain being deleted are skipped: its statistics go with it (cascade).
CREATE FUNCTION tidyllm_count_chunks() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    sign integer := TG_ARGV[0]::integer;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('tidyllm.text_stats'), (d.domain_id % 2147483647)::integer)
    FROM (SELECT DISTINCT domain_id FROM changed_chunks ORDER BY domain_id) d;

    INSERT INTO domain_text_stats AS s (domain_id, chunks, tokens)
    SELECT c.domain_id, sign * count(*), sign * sum(c.tsv_length)
    FROM changed_chunks c
    WHERE EXISTS (SELECT 1 FROM domains d WHERE d.id = c.domain_id)
    GROUP BY c.domain_id
    ORDER BY c.domain_id
    ON CONFLICT (domain_id) DO UPDATE
        SET chunks = s.chunks + excluded.chunks, tokens = s.tokens + excluded.tokens;

    INSERT INTO lexeme_stats AS s (domain_id, lexeme, chunks)
    SELECT c.domain_id, u.lexeme, sign * count(*)
    FROM changed_chunks c CROSS JOIN LATERAL unnest(c.tsv) u
    WHERE EXISTS (SELECT 1 FROM domains d WHERE d.id = c.domain_id)
    GROUP BY c.domain_id, u.lexeme
    ORDER BY c.domain_id, u.lexeme
    ON CONFLICT (domain_id, lexeme) DO UPDATE SET chunks = s.chunks + excluded.chunks;

    IF sign < 0 THEN
        DELETE FROM lexeme_stats s
        USING (SELECT DISTINCT domain_id FROM changed_chunks) d
        WHERE s.domain_id = d.domain_id AND s.chunks <= 0;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER chunks_text_stats_insert AFTER INSERT ON chunks
    REFERENCING NEW TABLE AS changed_chunks
    FOR EACH STATEMENT EXECUTE FUNCTION tidyllm_count_chunks('1');
CREATE TRIGGER chunks_text_stats_delete AFTER DELETE ON chunks
    REFERENCING OLD TABLE AS changed_chunks
    FOR EACH STATEMENT EXECUTE FUNCTION tidyllm_count_chunks('-1');
CREATE TRIGGER chunks_text_stats_update_old AFTER UPDATE ON chunks
    REFERENCING OLD TABLE AS changed_chunks
    FOR EACH STATEMENT EXECUTE FUNCTION tidyllm_count_chunks('-1');
CREATE TRIGGER chunks_text_stats_update_new AFTER UPDATE ON chunks
    REFERENCING NEW TABLE AS changed_chunks
    FOR EACH STATEMENT EXECUTE FUNCTION tidyllm_count_chunks('1');

-- Statistics of the chunks indexed before this migration.
INSERT INTO domain_text_stats (domain_id, chunks, tokens)
SELECT domain_id, count(*), sum(tsv_length) FROM chunks GROUP BY domain_id;
INSERT INTO lexeme_stats (domain_id, lexeme, chunks)
SELECT c.domain_id, u.lexeme, count(*)
FROM chunks c CROSS JOIN LATERAL unnest(c.tsv) u
GROUP BY c.domain_id, u.lexeme;
