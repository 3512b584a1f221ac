-- Document metadata (issue 13, the paper repository): what a document is (title, authors,
-- year, identifiers, abstract, tags, notes, free fields), where each value came from, and
-- the collections a document is in.
--
-- Values come in layers, lowest precedence first: extracted (from the file at ingest),
-- fetched (arXiv / Crossref), sidecar (NAME.meta.json or a folder manifest), edited (a
-- person, `tidyllm docs set/tag`). A re-ingest rewrites the extracted and sidecar layers
-- only, so fetched values and edits survive it. document_metadata is the merged result,
-- kept by the library in the same transaction as every layer write, with the layer each
-- field came from in provenance: filters and lists read one indexed row per document.

CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE document_metadata_layers (
    document_id bigint NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    layer       text NOT NULL CHECK (layer IN ('extracted', 'fetched', 'sidecar', 'edited')),
    fields      jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(fields) = 'object'),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (document_id, layer)
);

CREATE TABLE document_metadata (
    document_id bigint PRIMARY KEY REFERENCES documents (id) ON DELETE CASCADE,
    domain_id   bigint NOT NULL REFERENCES domains (id) ON DELETE CASCADE,
    title       text,
    authors     text[] NOT NULL DEFAULT '{}',
    year        integer CHECK (year BETWEEN 1000 AND 9999),
    date        text,
    doi         text,
    arxiv_id    text,
    isbn        text,
    url         text,
    abstract    text,
    tags        text[] NOT NULL DEFAULT '{}',
    notes       text,
    fields      jsonb NOT NULL DEFAULT '{}',
    provenance  jsonb NOT NULL DEFAULT '{}',
    -- lower-cased authors joined by newlines (written with authors by the library; a
    -- generated column cannot use array_to_string): one trigram index answers --author
    authors_text text NOT NULL DEFAULT ''
);

CREATE INDEX document_metadata_domain_year ON document_metadata (domain_id, year);
-- fastupdate off: right after a bulk import a pending list makes tag queries read it all
-- (40 ms instead of 11 ms in benchmarks/bench_docs_list.py); writes are per document.
CREATE INDEX document_metadata_tags ON document_metadata USING gin (tags)
    WITH (fastupdate = off);
CREATE INDEX document_metadata_authors ON document_metadata
    USING gin (authors_text gin_trgm_ops) WITH (fastupdate = off);
CREATE INDEX document_metadata_doi ON document_metadata (domain_id, lower(doi));
CREATE INDEX document_metadata_arxiv ON document_metadata (domain_id, arxiv_id);

CREATE TABLE collections (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    domain_id   bigint NOT NULL REFERENCES domains (id) ON DELETE CASCADE,
    name        text NOT NULL CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9 ._-]{0,127}$'),
    description text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (domain_id, name)
);

CREATE TABLE collection_documents (
    collection_id bigint NOT NULL REFERENCES collections (id) ON DELETE CASCADE,
    document_id   bigint NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    added_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (collection_id, document_id)
);

CREATE INDEX collection_documents_document ON collection_documents (document_id);
