-- Issue 19: what a publish's gate needs of a long history, found from indexes instead of by reading every
-- version of the server.
--
-- `order_key` is semver precedence as text that sorts bytewise (registry_schema::version::order_key): the
-- baseline is the highest release below the new version, the sandwich the lowest above it in its line.
-- '' marks a version that is not semver; NULL one stored before this column, which `Store::migrate` fills
-- in (a publish reads the whole history while its server has one).
alter table server_versions add column order_key text collate "C";
create index server_versions_order on server_versions (server_name, order_key);
-- The versions still to fill in, for `Store::migrate` to find without a scan once there are none.
create index server_versions_unordered on server_versions (id) where order_key is null;

-- Every version gets a `version_contracts` row, its contract key NULL until known (imports, and versions
-- stored before keys, get theirs when a publish's gate first reads their manifest), with the server and
-- order key beside it: the gate walks a server's distinct contracts through this index, one probe each,
-- and takes each one's highest earlier release of the line.
alter table version_contracts
    add column server_name text collate "C",
    add column order_key text collate "C",
    alter column contract_key drop not null;
update version_contracts c set server_name = v.server_name from server_versions v where v.id = c.version_id;
insert into version_contracts (version_id, server_name)
    select v.id, v.server_name from server_versions v
    where not exists (select 1 from version_contracts c where c.version_id = v.id);
alter table version_contracts alter column server_name set not null;
create index version_contracts_by_contract on version_contracts (server_name, contract_key, order_key);
