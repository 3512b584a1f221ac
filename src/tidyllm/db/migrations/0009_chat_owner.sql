-- Chat sessions belong to the user who opened them (issue 11): a session is a private
-- conversation, so another user - admins included - finds it exactly as missing. user_id
-- NULL is the operator's (the CLI's `tidyllm chat`), and sessions made before this migration.
-- Deleting a user deletes their sessions with their messages.

ALTER TABLE chat_sessions ADD COLUMN user_id bigint REFERENCES users (id) ON DELETE CASCADE;

CREATE INDEX chat_sessions_owner ON chat_sessions (user_id, domain_id, updated_at DESC);
