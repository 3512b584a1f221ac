-- No duplicates and similar papers (issue 13 items 4 and 5).
--
-- document_sources: the other names of a document. The same bytes under another file
-- name, or the same DOI / arXiv id, are ONE document (its row in documents keeps its
-- primary source_uri, which search hits, citations, originals and sync address); every
-- further name is a row here, with what made it the same document (reason), the content
-- hash seen under that name, and the version/metadata its indexer gave it (a drop-zone
-- file's ledger row and zone/key), so sync can judge that name like a primary one.
-- A name is in at most one place in a domain: documents.source_uri or here.
--
-- document_vectors: one vector per document (the normalised mean of its chunk vectors,
-- written by the library in the transaction that writes the chunks), halfvec with a
-- per-dimension partial HNSW expression index exactly as chunks (0003). Both tables are
-- in one migration so the numbering cannot collide with other work on 0012.

CREATE TABLE document_sources (
    domain_id    bigint NOT NULL REFERENCES domains (id) ON DELETE CASCADE,
    source_uri   text NOT NULL,
    document_id  bigint NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    reason       text NOT NULL CHECK (reason IN ('content', 'doi', 'arxiv')),
    content_hash text NOT NULL,
    version      text NOT NULL,
    metadata     jsonb NOT NULL DEFAULT '{}',
    added_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (domain_id, source_uri)
);

CREATE INDEX document_sources_document ON document_sources (document_id);
-- content-hash dedup: "is this content already a document of the domain?" in one probe
CREATE INDEX documents_domain_content_hash ON documents (domain_id, content_hash);

CREATE TABLE document_vectors (
    document_id bigint PRIMARY KEY REFERENCES documents (id) ON DELETE CASCADE,
    domain_id   bigint NOT NULL REFERENCES domains (id) ON DELETE CASCADE,
    dimension   integer NOT NULL,
    embedding   halfvec NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX document_vectors_domain ON document_vectors (domain_id);
CREATE INDEX document_vectors_embedding_384_idx ON document_vectors
    USING hnsw ((embedding::halfvec(384)) halfvec_cosine_ops) WHERE dimension = 384;

-- documents indexed before this migration get their vector now
INSERT INTO document_vectors (document_id, domain_id, dimension, embedding)
SELECT document_id, min(domain_id), min(dimension), l2_normalize(avg(embedding))
FROM chunks GROUP BY document_id;
