-- Publisher API tokens. Only the SHA-256 of the secret is kept; requests are matched on it.
create table api_tokens (
    id text primary key,
    secret_sha256 text not null unique,
    -- JSON array of `{"action", "resource"}`, parsed by the auth module.
    permissions text not null,
    description text,
    created_at timestamptz not null
);
