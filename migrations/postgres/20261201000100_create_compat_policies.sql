-- Operators' overrides of the compatibility policy (`--compat-policy`), per namespace (the part of a
-- server name before `/`) or per server; a server's own override wins over its namespace's.
create table compat_policies (
    scope_kind text not null check (scope_kind in ('namespace', 'server')),
    scope_value text collate "C" not null,
    policy text not null check (policy in ('enforce', 'advise')),
    updated_at timestamptz not null,
    -- `token:<id>` of the operator who set it.
    updated_by text,
    primary key (scope_kind, scope_value)
);
