-- `updated_at` is a version's own last change (its data or status), as clients read `updatedAt`; it no
-- longer moves when another version takes or gives back the latest flag (clients pick the entry with the
-- largest `updatedAt`, and a demoted version must not tie with its successor). `changed_at` is when
-- anything listed about the row changed, the latest flag included, on this registry's clock: what
-- `updated_since` compares, so incremental sync still sees every flag move and every imported row.
-- The default covers writers of the previous release during a rolling upgrade.
alter table server_versions add column changed_at timestamptz not null default now();
update server_versions set changed_at = updated_at;
create index server_versions_changed_at on server_versions (changed_at);
