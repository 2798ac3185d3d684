-- The concrete remote URLs of each version, so a publish can refuse a URL another server already uses
-- (the official registry's rule). Versions of a deleted status do not hold their URLs (see the store).
-- Templated URLs (`{var}`) name no single endpoint and are not recorded.
create table remote_urls (
    url text not null,
    version_id integer not null references server_versions (id),
    primary key (url, version_id)
) strict, without rowid;

insert or ignore into remote_urls (url, version_id)
select json_extract(remote.value, '$.url'), v.id
from server_versions v, json_each(v.manifest, '$.remotes') as remote
where json_type(v.manifest, '$.remotes') = 'array'
    and json_type(remote.value, '$.url') = 'text'
    and instr(json_extract(remote.value, '$.url'), '{') = 0;
