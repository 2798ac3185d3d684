-- Issue 19: search runs on each replica's in-memory index (registry-server/src/search_index), which derives
-- its fields from the stored manifests. The FTS5 tables and the copied search columns that the SQL search
-- used are no longer read; every publish and import paid for them (the trigram table most of all).
drop table search_documents_words;
drop table search_documents_trigrams;
alter table search_documents drop column search_name;
alter table search_documents drop column search_text;
