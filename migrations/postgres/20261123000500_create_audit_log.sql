-- Every write attempt (publish, status changes): who, what, when, from where, and the outcome. Never
-- secrets: the actor is a token id, not the token.
create table audit_log (
    id bigint generated always as identity primary key,
    at timestamptz not null,
    -- `token:<id>`, or null when the request carried no valid credentials.
    actor text,
    action text not null,
    server_name text collate "C",
    version text,
    remote_addr text,
    -- The HTTP status of the response, and a short human-readable outcome.
    status integer not null,
    outcome text not null
);

-- Reading a server's history newest first, and paging the whole log newest first.
create index audit_log_server on audit_log (server_name, id);
