-- One row per server name, mirroring PostgreSQL. SQLite writers serialize on the database write lock
-- (`begin immediate`), so the row is not locked here; it anchors the foreign key.
create table servers (
    name text primary key,
    -- Microseconds since the Unix epoch, UTC (exact ordering and comparisons).
    created_at integer not null
) strict, without rowid;

-- What search looks at, derived from a manifest in Rust (folded to lower case, split into words) so that
-- both engines search exactly the same text. Versions with the same searchable text share one document,
-- so the search indexes grow with distinct texts, not with versions. The id is the rowid of the document's
-- rows in the full-text tables.
create table search_documents (
    id integer primary key,
    -- SHA-256 of the searchable fields: how a version finds the document it shares.
    digest text not null unique,
    -- The server's name as published: a document belongs to one server, so a search cursor can skip the
    -- documents before it without reading their versions.
    server_name text not null,
    search_name text not null,
    -- Title and description, one per line.
    search_text text not null
) strict;

-- One row per published version. Text columns use the default binary collation: bytewise order, the same
-- order as PostgreSQL's `collate "C"`, so cursors mean the same thing on both engines.
create table server_versions (
    -- Ties in publish order are broken by the id.
    id integer primary key,
    server_name text not null references servers (name),
    version text not null check (length(trim(version)) > 0),
    -- The version without build metadata: `1.0.0+a` and `1.0.0+b` are the same release.
    precedence_key text not null,
    status text not null default 'active' check (status in ('active', 'deprecated', 'deleted')),
    status_message text,
    -- Timestamps are microseconds since the Unix epoch, UTC.
    status_changed_at integer not null,
    published_at integer not null,
    updated_at integer not null,
    is_latest integer not null default 0 check (is_latest in (0, 1)),
    document_id integer not null references search_documents (id),
    -- JSON arrays of the distinct package `registryType`s and of the transport types, for list filters.
    registry_types text not null,
    transports text not null,
    -- The exact text the publisher sent.
    manifest text not null
) strict;

-- Refuses a second version with the same precedence; the store maps the violation to `Duplicate`.
create unique index server_versions_precedence_key on server_versions (server_name, precedence_key);
-- At most one latest version per server, whatever the writers do.
create unique index server_versions_one_latest on server_versions (server_name) where is_latest;
-- Keyset pagination: `(server_name, version) > cursor` is an index seek however deep the page is.
create index server_versions_keyset on server_versions (server_name, version);
-- Incremental sync (`updated_since`).
create index server_versions_updated_at on server_versions (updated_at);
-- From a search hit to the versions sharing the document.
create index server_versions_document on server_versions (document_id);
