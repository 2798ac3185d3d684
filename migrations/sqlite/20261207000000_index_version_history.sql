-- Issue 19: a publish reads the narrow columns of every version of its server (the gate's history and the
-- latest-flag plan). Each server_versions row carries its manifest, so those rows sit one or more pages apart
-- and reading them cost one page per version (3-5 ms at 1,000 versions); this index holds exactly the columns
-- read (`rows::STORED_COLUMNS`, in publish order), so the read touches a few index pages instead.
-- PostgreSQL keeps large manifests out of line (TOAST), so its heap rows are already narrow; it has no twin.
create index server_versions_history on server_versions
    (server_name, published_at, id, precedence_key, version, status, is_latest, status_message);
