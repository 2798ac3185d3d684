-- Signed provenance of a version (Sigstore bundle verified at publish). The summary (JSON: mode, identity,
-- repository, commit, log index, ...) is small and read with every version; the bundle is read only by the
-- provenance endpoint, so it lives in its own table. Null summary: the version was published unsigned.
alter table server_versions add column provenance text;

create table provenance_bundles (
    version_id bigint primary key references server_versions (id),
    -- The bundle exactly as the publisher sent it (JSON text), so clients can re-verify it.
    bundle text not null
);

-- Public keys registered for a namespace (the part of a server name before `/`): key-based bundles for
-- names in the namespace must be signed by one of them. Revoked keys are kept (and listed) so old
-- signatures can be explained, but no longer verify.
create table signing_keys (
    namespace text not null,
    -- Hex SHA-256 of the key's SubjectPublicKeyInfo (DER).
    key_id text not null,
    algorithm text not null,
    -- SPKI PEM.
    public_key text not null,
    created_at timestamptz not null,
    created_by text,
    revoked_at timestamptz,
    primary key (namespace, key_id)
);
