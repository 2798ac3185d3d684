-- Issue 19: search runs on each replica's in-memory index (registry-server/src/search_index), which derives
-- its fields from the stored manifests. The trigram and full-text indexes and the copied search columns that
-- the SQL search used are no longer read; every publish and import paid for them. (The pg_trgm extension
-- stays: other objects of the database may use it.)
drop index search_documents_name_trgm;
drop index search_documents_text_trgm;
drop index search_documents_vector;
alter table search_documents drop column search_name, drop column search_text, drop column search_vector;
