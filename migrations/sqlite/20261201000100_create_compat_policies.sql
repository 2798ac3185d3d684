-- Operators' overrides of the compatibility policy (`--compat-policy`), per namespace (the part of a
-- server name before `/`) or per server; a server's own override wins over its namespace's.
create table compat_policies (
    scope_kind text not null check (scope_kind in ('namespace', 'server')),
    scope_value text not null,
    policy text not null check (policy in ('enforce', 'advise')),
    -- Microseconds since the Unix epoch, UTC.
    updated_at integer not null,
    -- `token:<id>` of the operator who set it.
    updated_by text,
    primary key (scope_kind, scope_value)
) strict, without rowid;
