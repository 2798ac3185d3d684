-- Issue 19: the narrow reads of a server's versions, answered from this index instead of the rows. Each
-- server_versions row carries its manifest, so rows sit one or more pages apart and every row read costs a
-- page (read through the OS cache, as the page cache per connection is small):
-- - a publish reads every version of its server (`rows::STORED_COLUMNS`, in publish order) for the gate and
--   the latest flags: 3-5 ms at 1,000 versions from the rows;
-- - a search reads the listed versions of a page's candidate servers (id, version, is_latest, document_id,
--   status; `ranked::versions_of`): 2 ms from the rows for 34 servers x 5 versions, 0.45 ms from here.
-- PostgreSQL keeps large manifests out of line (TOAST), so its heap rows are already narrow; it has no twin.
create index server_versions_history on server_versions
    (server_name, published_at, id, precedence_key, version, status, is_latest, document_id, status_message);
