-- Issue 19: what a publish's gate needs of a long history, found from indexes instead of by reading every
-- version of the server.
--
-- `order_key` is semver precedence as text that sorts bytewise (registry_schema::version::order_key): the
-- baseline is the highest release below the new version, the sandwich the lowest above it in its line.
-- '' marks a version that is not semver; NULL one stored before this column, which `Store::migrate` fills
-- in (a publish reads the whole history while its server has one).
-- The column sits after `manifest` in the row, so the index carries what the gate's scans filter on
-- (status, and id to join on): they never read a row, whose manifest spans overflow pages.
alter table server_versions add column order_key text;
create index server_versions_order on server_versions (server_name, order_key, status, id);
-- The versions still to fill in, for `Store::migrate` to find without a scan once there are none.
create index server_versions_unordered on server_versions (id) where order_key is null;

-- Every version gets a `version_contracts` row, its contract key NULL until known (imports, and versions
-- stored before keys, get theirs when a publish's gate first reads their manifest), with the server and
-- order key beside it: the gate walks a server's distinct contracts through this index, one probe each,
-- and takes each one's highest earlier release of the line. (SQLite cannot drop a NOT NULL: the table is
-- built anew.)
create table version_contracts_all (
    version_id integer primary key references server_versions (id) on delete cascade,
    server_name text not null,
    order_key text,
    contract_key text
) strict;
insert into version_contracts_all (version_id, server_name, contract_key)
    select v.id, v.server_name, c.contract_key
    from server_versions v left join version_contracts c on c.version_id = v.id;
drop table version_contracts;
alter table version_contracts_all rename to version_contracts;
create index version_contracts_by_contract on version_contracts (server_name, contract_key, order_key);
