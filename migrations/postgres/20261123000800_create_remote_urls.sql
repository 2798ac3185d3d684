-- The concrete remote URLs of each version, so a publish can refuse a URL another server already uses
-- (the official registry's rule). Versions of a deleted status do not hold their URLs (see the store).
-- Templated URLs (`{var}`) name no single endpoint and are not recorded.
create table remote_urls (
    url text not null,
    version_id bigint not null references server_versions (id),
    primary key (url, version_id)
);

insert into remote_urls (url, version_id)
select distinct remote ->> 'url', v.id
from server_versions v,
    jsonb_array_elements(
        case when jsonb_typeof(v.manifest::jsonb -> 'remotes') = 'array'
            then v.manifest::jsonb -> 'remotes' else '[]'::jsonb end
    ) as remote
where jsonb_typeof(remote -> 'url') = 'string' and position('{' in remote ->> 'url') = 0;
