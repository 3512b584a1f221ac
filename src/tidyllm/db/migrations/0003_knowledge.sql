-- Knowledge: domains, documents (the current version of each source), chunks with their
-- embeddings and full-text vectors, and chat sessions.
--
-- Embeddings are stored as halfvec (half the size of vector, same recall for cosine) in an
-- unsized column, because the embedder - and so the dimension - is chosen per domain. HNSW
-- indexes are expression + partial indexes per dimension (pgvector's documented way to mix
-- dimensions in one column); 384 (all-MiniLM-L6-v2) is created here, other dimensions when a
-- domain first needs them. Queries must use the same expression: embedding::halfvec(384).

CREATE TABLE domains (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name           text NOT NULL UNIQUE CHECK (name ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
    description    text NOT NULL DEFAULT '',
    embedder       text NOT NULL,
    dimension      integer NOT NULL CHECK (dimension BETWEEN 1 AND 4000),
    chunk_size     integer NOT NULL CHECK (chunk_size > 0),
    chunk_overlap  integer NOT NULL CHECK (chunk_overlap >= 0),
    language       regconfig NOT NULL DEFAULT 'english',
    created_at     timestamptz NOT NULL DEFAULT now(),
    last_ingest_at timestamptz
);

CREATE TABLE documents (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    domain_id    bigint NOT NULL REFERENCES domains (id) ON DELETE CASCADE,
    source_uri   text NOT NULL,
    version      text NOT NULL,
    content_hash text NOT NULL,
    title        text,
    mime         text,
    metadata     jsonb NOT NULL DEFAULT '{}',
    page_count   integer NOT NULL DEFAULT 0,
    chunk_count  integer NOT NULL DEFAULT 0,
    ocr          boolean NOT NULL DEFAULT false,
    indexed_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (domain_id, source_uri)
);

-- domain_id, metadata and language are copied from the domain/document so that filters are
-- evaluated inside the index scans, without a join.
CREATE TABLE chunks (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    domain_id   bigint NOT NULL REFERENCES domains (id) ON DELETE CASCADE,
    document_id bigint NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    ordinal     integer NOT NULL,
    page        integer NOT NULL CHECK (page >= 1),
    start_char  integer NOT NULL CHECK (start_char >= 0),
    end_char    integer NOT NULL CHECK (end_char >= start_char),
    heading     text,
    token_count integer NOT NULL,
    text        text NOT NULL,
    metadata    jsonb NOT NULL DEFAULT '{}',
    dimension   integer NOT NULL,
    embedding   halfvec NOT NULL,
    language    regconfig NOT NULL,
    tsv         tsvector GENERATED ALWAYS AS (to_tsvector(language, text)) STORED
);

CREATE INDEX chunks_document_idx ON chunks (document_id);
CREATE INDEX chunks_domain_idx ON chunks (domain_id);
CREATE INDEX chunks_tsv_idx ON chunks USING gin (tsv);
CREATE INDEX chunks_metadata_idx ON chunks USING gin (metadata jsonb_path_ops);
CREATE INDEX chunks_embedding_384_idx ON chunks
    USING hnsw ((embedding::halfvec(384)) halfvec_cosine_ops) WHERE dimension = 384;

CREATE TABLE chat_sessions (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    domain_id  bigint NOT NULL REFERENCES domains (id) ON DELETE CASCADE,
    title      text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE chat_messages (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    session_id      uuid NOT NULL REFERENCES chat_sessions (id) ON DELETE CASCADE,
    role            text NOT NULL CHECK (role IN ('user', 'assistant')),
    content         text NOT NULL,
    retrieval_query text,
    citations       jsonb NOT NULL DEFAULT '[]',
    created_at      timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX chat_messages_session_idx ON chat_messages (session_id, id);
