//! The hash-chained key log of each namespace (`key_log`, `key_log_heads`), written once for both engines.
//! Entries are appended in the same transaction as the key change they record, so the log and
//! `signing_keys` cannot disagree; the hashing is [`registry_provenance::key_log::entry_hash`], the same
//! code clients check with.

use registry_provenance::key_log::{EntryFields, GENESIS_HASH, KeyAction, KeyLogEntry, entry_hash};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::engine::Engine;
use super::rows::{KEY_COLUMNS, all, signing_key};
use super::sql::{Row, Sql};
use super::{SigningKeyRecord, StoreError};

const ENTRY_COLUMNS: &str =
    "seq, action, key_id, algorithm, public_key, at, actor, prev_hash, hash";

/// One change to a namespace's keys, to be logged.
pub(crate) struct KeyChange<'a> {
    pub action: KeyAction,
    pub key: &'a SigningKeyRecord,
    pub at: OffsetDateTime,
    /// Who made it (`token:<id>`), when known.
    pub actor: Option<&'a str>,
}

/// Appends one entry to the changed key's namespace log, inside the caller's write transaction.
pub(crate) async fn append<E: Engine>(
    engine: &E,
    tx: &mut E::Tx,
    change: KeyChange<'_>,
) -> Result<(), StoreError> {
    let KeyChange {
        action,
        key,
        at,
        actor,
    } = change;
    let namespace = key.namespace.as_str();
    let (seq, prev_hash) = lock_head(engine, tx, namespace).await?;
    let seq = seq + 1;
    let at = at
        .format(&Rfc3339)
        .map_err(|err| StoreError::Corrupt(format!("a key log time does not format: {err}")))?;
    let hash = entry_hash(&EntryFields {
        namespace,
        seq: u64::try_from(seq).unwrap_or_default(),
        action,
        key_id: &key.key_id,
        algorithm: &key.algorithm,
        public_key: &key.public_key,
        at: &at,
        actor,
        prev_hash: &prev_hash,
    });
    let sql = Sql::new(&format!(
        "insert into key_log (namespace, {ENTRY_COLUMNS}) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
    ))
    .arg(namespace)
    .arg(seq)
    .arg(action.as_str())
    .arg(&key.key_id)
    .arg(&key.algorithm)
    .arg(&key.public_key)
    .arg(at)
    .arg(actor)
    .arg(prev_hash)
    .arg(hash.as_str());
    engine.execute(Some(tx), sql).await?;
    let sql = Sql::new("update key_log_heads set seq = $2, hash = $3 where namespace = $1")
        .arg(namespace)
        .arg(seq)
        .arg(hash);
    engine.execute(Some(tx), sql).await?;
    Ok(())
}

/// The namespace's head `(seq, hash)`, locked until the transaction ends (0 and the genesis hash for a
/// namespace without entries, whose head row is created here).
async fn lock_head<E: Engine>(
    engine: &E,
    tx: &mut E::Tx,
    namespace: &str,
) -> Result<(i64, String), StoreError> {
    let sql = Sql::new(
        "insert into key_log_heads (namespace, seq, hash) values ($1, 0, $2) on conflict (namespace) do nothing",
    )
    .arg(namespace)
    .arg(GENESIS_HASH);
    engine.execute(Some(tx), sql).await?;
    let sql = Sql::new(&format!(
        "select seq, hash from key_log_heads where namespace = $1{}",
        E::LOCK_ROWS
    ))
    .arg(namespace);
    let mut rows = engine.fetch(Some(tx), sql).await?;
    let Some(row) = rows.first_mut() else {
        return Err(StoreError::Corrupt(format!(
            "the key log head of `{namespace}` vanished"
        )));
    };
    Ok((row.int(0)?, row.text(1)?))
}

/// See [`super::Store::key_log`].
pub(crate) async fn entries<E: Engine>(
    engine: &E,
    namespace: &str,
) -> Result<Vec<KeyLogEntry>, StoreError> {
    let sql = Sql::new(&format!(
        "select {ENTRY_COLUMNS} from key_log where namespace = $1 order by seq"
    ))
    .arg(namespace);
    all(engine.fetch(None, sql).await?, entry)
}

fn entry(row: &mut Row) -> Result<KeyLogEntry, StoreError> {
    let seq = row.int(0)?;
    let action = match row.text(1)?.as_str() {
        "register" => KeyAction::Register,
        "revoke" => KeyAction::Revoke,
        other => {
            return Err(StoreError::Corrupt(format!(
                "a key log entry has the action `{other}`"
            )));
        }
    };
    Ok(KeyLogEntry {
        seq: u64::try_from(seq)
            .map_err(|_| StoreError::Corrupt(format!("a key log entry has seq {seq}")))?,
        action,
        key_id: row.text(2)?,
        algorithm: row.text(3)?,
        public_key: row.text(4)?,
        at: row.text(5)?,
        actor: row.opt_text(6)?,
        prev_hash: row.text(7)?,
        hash: row.text(8)?,
    })
}

/// Starts the log of every namespace whose keys were registered before the log existed: its keys'
/// registrations in the order they were made, then its revocations. Safe to run from several replicas at
/// once (each namespace is done under its head's lock, and skipped when another replica did it).
pub(crate) async fn backfill<E: Engine>(engine: &E) -> Result<(), StoreError> {
    let sql = Sql::new(
        "select distinct namespace from signing_keys \
         where namespace not in (select namespace from key_log_heads) order by namespace",
    );
    let namespaces = all(engine.fetch(None, sql).await?, |row| row.text(0))?;
    for namespace in namespaces {
        let mut tx = engine.begin_write().await?;
        let (seq, _) = lock_head(engine, &mut tx, &namespace).await?;
        if seq > 0 {
            engine.commit(tx).await?;
            continue;
        }
        let sql = Sql::new(&format!(
            "select {KEY_COLUMNS} from signing_keys where namespace = $1 order by created_at, key_id"
        ))
        .arg(namespace.as_str());
        let keys = all(engine.fetch(Some(&mut tx), sql).await?, signing_key)?;
        for key in &keys {
            let change = KeyChange {
                action: KeyAction::Register,
                key,
                at: key.created_at,
                actor: key.created_by.as_deref(),
            };
            append(engine, &mut tx, change).await?;
        }
        let mut revoked: Vec<&SigningKeyRecord> =
            keys.iter().filter(|key| key.revoked_at.is_some()).collect();
        revoked.sort_by_key(|key| key.revoked_at);
        for key in revoked {
            let change = KeyChange {
                action: KeyAction::Revoke,
                key,
                at: key.revoked_at.unwrap_or(key.created_at),
                // Who revoked a key was not recorded before the log.
                actor: None,
            };
            append(engine, &mut tx, change).await?;
        }
        engine.commit(tx).await?;
    }
    Ok(())
}
