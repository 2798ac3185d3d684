-- One row per server name. Writers lock it (`select … for update`) so that publishes and status changes of
-- one server run one after another, while different servers are written in parallel.
create table servers (
    name text collate "C" primary key,
    created_at timestamptz not null
);

-- What search looks at, derived from a manifest in Rust (folded to lower case, split into words) so that
-- both engines search exactly the same text. Versions with the same searchable text share one document,
-- so the search indexes grow with distinct texts, not with versions.
create table search_documents (
    id bigint generated always as identity primary key,
    -- SHA-256 of the fields below: how a version finds the document it shares.
    digest text not null unique,
    -- The server's name as published: a document belongs to one server, so a search cursor can skip the
    -- documents before it without reading their versions.
    server_name text collate "C" not null,
    search_name text not null,
    -- Title and description, one per line.
    search_text text not null,
    -- The words of the name, title, description and package identifiers.
    search_vector tsvector not null
);

-- One row per published version. `collate "C"` on the ordered columns makes text order bytewise, the order
-- SQLite's default collation gives, so cursors mean the same thing on both engines.
create table server_versions (
    id bigint generated always as identity primary key,
    server_name text collate "C" not null references servers (name),
    version text collate "C" not null check (length(trim(version)) > 0),
    -- The version without build metadata: `1.0.0+a` and `1.0.0+b` are the same release.
    precedence_key text collate "C" not null,
    status text not null default 'active' check (status in ('active', 'deprecated', 'deleted')),
    status_message text,
    status_changed_at timestamptz not null,
    published_at timestamptz not null,
    updated_at timestamptz not null,
    is_latest boolean not null default false,
    document_id bigint not null references search_documents (id),
    -- JSON arrays of the distinct package `registryType`s and of the transport types, for list filters.
    registry_types jsonb not null,
    transports jsonb not null,
    -- The exact text the publisher sent (jsonb would reorder keys and normalise numbers).
    manifest text not null,
    -- Refuses a second version with the same precedence; the store maps it to `Duplicate` by this name.
    constraint server_versions_precedence_key unique (server_name, precedence_key)
);

-- At most one latest version per server, whatever the writers do.
create unique index server_versions_one_latest on server_versions (server_name) where is_latest;
-- Keyset pagination: `(server_name, version) > cursor` is an index seek however deep the page is.
create index server_versions_keyset on server_versions (server_name, version);
-- Incremental sync (`updated_since`).
create index server_versions_updated_at on server_versions (updated_at);
-- From a search hit to the versions sharing the document.
create index server_versions_document on server_versions (document_id);
