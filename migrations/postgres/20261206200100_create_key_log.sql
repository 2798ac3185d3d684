-- Issue 18: the append-only, hash-chained log of each namespace's signing-key registrations and
-- revocations (see registry_provenance::key_log). Clients check the chain and remember the last head they
-- saw, so a registry that swaps a namespace's keys cannot do it silently. Entries are never updated or
-- deleted. The time is kept as the RFC 3339 text that was hashed, so both engines serve identical bytes.
create table key_log (
    namespace text not null,
    seq bigint not null,
    action text not null check (action in ('register', 'revoke')),
    key_id text not null,
    algorithm text not null,
    public_key text not null,
    at text not null,
    actor text,
    prev_hash text not null,
    hash text not null,
    primary key (namespace, seq)
);

-- One row per namespace with a log: the head, locked by each append so appends to one namespace queue
-- instead of racing for the next sequence number (PostgreSQL; SQLite has a single writer anyway).
create table key_log_heads (
    namespace text primary key,
    seq bigint not null,
    hash text not null
);
