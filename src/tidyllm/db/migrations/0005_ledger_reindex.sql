-- Exactly-once means "this content is in its domain now" (issue 9).
--
-- A done file whose result is an indexed document no longer makes the same bytes a
-- duplicate once that document is gone (its domain deleted, the document deleted or
-- synced away): the ledger checks the document when the content is claimed again and
-- records a 'content_released' event. files.reindex marks a file version dropped by
-- `tidyllm ingest --reindex`: it is indexed again even though its content still is.

ALTER TABLE files ADD COLUMN reindex boolean NOT NULL DEFAULT false;
