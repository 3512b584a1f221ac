-- OCR as a property of the domain: every worker on every machine reads the same flag from
-- here when it builds the domain's implicit bulk-ingest zone (ingest-<domain>), so
-- `tidyllm ingest --ocr` goes through the drop-zone ledger like any other load.
-- Existing domains keep today's behaviour (no OCR).

ALTER TABLE domains ADD COLUMN ocr boolean NOT NULL DEFAULT false;
