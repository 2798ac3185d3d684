-- A revoked token authenticates nothing; the row stays so `token list` and the audit log can name it.
alter table api_tokens add column revoked_at timestamptz;
