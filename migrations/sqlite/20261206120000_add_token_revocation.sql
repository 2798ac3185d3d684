-- A revoked token authenticates nothing; the row stays so `token list` and the audit log can name it.
-- Microseconds since the Unix epoch, UTC; NULL while the token is valid.
alter table api_tokens add column revoked_at integer;
