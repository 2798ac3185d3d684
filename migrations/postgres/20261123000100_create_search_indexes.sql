-- Substring search (`like '%term%'`) over the folded name and title/description uses trigram indexes.
create extension if not exists pg_trgm;

create index search_documents_name_trgm on search_documents using gin (search_name gin_trgm_ops);
create index search_documents_text_trgm on search_documents using gin (search_text gin_trgm_ops);
-- Full-text word matches.
create index search_documents_vector on search_documents using gin (search_vector);
-- `registry_type` and `transport` filters (`@>`), useful when the value is rare.
create index server_versions_registry_types on server_versions using gin (registry_types jsonb_path_ops);
create index server_versions_transports on server_versions using gin (transports jsonb_path_ops);
