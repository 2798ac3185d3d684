-- Issue 19: per-version summaries for the publish gate. `contract_key` is registry_schema::compat::contract_key
-- of the version's manifest (SHA-256 of it without its version numbers): versions with the same key compare
-- alike, so the gate reads one manifest for all of them. Written at publish; versions stored before, and
-- imported ones, have no row and are read one by one. A table of its own, not a column of server_versions:
-- on SQLite a column after `manifest` costs a walk through the manifest's overflow pages per row read.
create table version_contracts (
    version_id bigint primary key references server_versions (id) on delete cascade,
    contract_key text collate "C" not null
);
