//! The one row-mapping layer: which columns each record is read from, and how (both engines' rows
//! arrive as engine-neutral [`Row`]s).

use super::plan::StoredVersion;
use super::sql::Row;
use super::{
    AuditEntry, MirrorState, ProvenanceRecord, SigningKeyRecord, StoreError, StoredProvenance,
    TokenRecord, VersionRecord,
};

/// The columns of server version `v` a [`VersionRecord`] is read from, in [`record`]'s order.
pub(crate) const RECORD_COLUMNS: &str = "v.server_name, v.version, v.manifest, v.status, \
    v.status_message, v.status_changed_at, v.published_at, v.updated_at, v.is_latest, v.provenance, \
    v.review_summary";
/// How many columns [`RECORD_COLUMNS`] names: further columns of a row start here.
pub(crate) const RECORD_WIDTH: usize = 11;

pub(crate) fn record(row: &mut Row) -> Result<VersionRecord, StoreError> {
    Ok(VersionRecord {
        server_name: row.text(0)?,
        version: row.text(1)?,
        manifest: row.text(2)?,
        status: row.text(3)?.parse()?,
        status_message: row.opt_text(4)?,
        status_changed_at: row.time(5)?,
        published_at: row.time(6)?,
        updated_at: row.time(7)?,
        is_latest: row.bool(8)?,
        provenance: row.opt_text(9)?,
        review: row.opt_text(10)?,
    })
}

/// The columns of server version `v` a [`StoredVersion`] (and its server's name) is read from.
pub(crate) const STORED_COLUMNS: &str = "v.server_name, v.id, v.version, v.precedence_key, \
    v.status, v.status_message, v.published_at, v.is_latest";

pub(crate) fn stored_version(row: &mut Row) -> Result<(String, StoredVersion), StoreError> {
    Ok((
        row.text(0)?,
        StoredVersion {
            id: row.int(1)?,
            version: row.text(2)?,
            precedence_key: row.text(3)?,
            status: row.text(4)?.parse()?,
            status_message: row.opt_text(5)?,
            published_at: row.time(6)?,
            is_latest: row.bool(7)?,
        },
    ))
}

/// The columns of server version `v` joined with its bundle `b` a [`ProvenanceRecord`] is read from.
pub(crate) const PROVENANCE_COLUMNS: &str =
    "v.server_name, v.version, v.manifest, v.provenance, b.bundle";

pub(crate) fn provenance_record(row: &mut Row) -> Result<ProvenanceRecord, StoreError> {
    let stored = match (row.opt_text(3)?, row.opt_text(4)?) {
        (Some(summary), Some(bundle)) => Some(StoredProvenance { summary, bundle }),
        (None, None) => None,
        _ => {
            return Err(StoreError::Corrupt(
                "a version has a provenance summary without its bundle, or the reverse".to_owned(),
            ));
        }
    };
    Ok(ProvenanceRecord {
        server_name: row.text(0)?,
        version: row.text(1)?,
        manifest: row.text(2)?,
        stored,
    })
}

/// The columns of `signing_keys` a [`SigningKeyRecord`] is read from.
pub(crate) const KEY_COLUMNS: &str =
    "namespace, key_id, algorithm, public_key, created_at, created_by, revoked_at";

pub(crate) fn signing_key(row: &mut Row) -> Result<SigningKeyRecord, StoreError> {
    Ok(SigningKeyRecord {
        namespace: row.text(0)?,
        key_id: row.text(1)?,
        algorithm: row.text(2)?,
        public_key: row.text(3)?,
        created_at: row.time(4)?,
        created_by: row.opt_text(5)?,
        revoked_at: row.opt_time(6)?,
    })
}

/// The columns of `api_tokens` a [`TokenRecord`] is read from.
pub(crate) const TOKEN_COLUMNS: &str =
    "id, secret_sha256, permissions, description, created_at, revoked_at";

pub(crate) fn token(row: &mut Row) -> Result<TokenRecord, StoreError> {
    Ok(TokenRecord {
        id: row.text(0)?,
        secret_sha256: row.text(1)?,
        permissions: row.text(2)?,
        description: row.opt_text(3)?,
        created_at: row.time(4)?,
        revoked_at: row.opt_time(5)?,
    })
}

/// The columns of `audit_log` an [`AuditEntry`] is read from.
pub(crate) const AUDIT_COLUMNS: &str =
    "id, at, actor, action, server_name, version, remote_addr, status, outcome";

pub(crate) fn audit_entry(row: &mut Row) -> Result<AuditEntry, StoreError> {
    Ok(AuditEntry {
        id: row.int(0)?,
        at: row.time(1)?,
        actor: row.opt_text(2)?,
        action: row.text(3)?,
        server_name: row.opt_text(4)?,
        version: row.opt_text(5)?,
        remote_addr: row.opt_text(6)?,
        status: u16::try_from(row.int(7)?).unwrap_or(0),
        outcome: row.text(8)?,
    })
}

/// The columns of `mirror_state` a [`MirrorState`] is read from.
pub(crate) const MIRROR_STATE_COLUMNS: &str = "updated_since, pass_cursor, pass_max, pass_started";

pub(crate) fn mirror_state(row: &mut Row) -> Result<MirrorState, StoreError> {
    Ok(MirrorState {
        updated_since: row.opt_text(0)?,
        pass_cursor: row.opt_text(1)?,
        pass_max: row.opt_text(2)?,
        pass_started: row.opt_text(3)?,
    })
}

/// Maps every row with `read`.
pub(crate) fn all<T>(
    rows: Vec<Row>,
    read: impl Fn(&mut Row) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    rows.into_iter().map(|mut row| read(&mut row)).collect()
}

/// Maps the first row with `read` (`None` without rows).
pub(crate) fn first<T>(
    rows: Vec<Row>,
    read: impl Fn(&mut Row) -> Result<T, StoreError>,
) -> Result<Option<T>, StoreError> {
    rows.into_iter()
        .next()
        .map(|mut row| read(&mut row))
        .transpose()
}
