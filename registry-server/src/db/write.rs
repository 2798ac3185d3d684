//! Adding versions, written once for both engines: the gated publish, bulk imports, and the mirror's
//! kept timestamps. Every write runs in one transaction that first locks the servers it touches, so the
//! history it reads (for the gate, the duplicate check and the latest rule) stays true until it commits.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use registry_schema::Manifest;
use registry_schema::compat::contract_key;
use registry_schema::version::{order_key, precedence_key};
use time::OffsetDateTime;

use super::engine::{Engine, VersionsOrder};
use super::history::{History, gate_history, gate_summary, history};
use super::plan::{Incoming, LatestMoves, NewVersion, StoredVersion, plan_batch, remote_urls};
use super::plan::{text_column, touched_names};
use super::rows::{RECORD_COLUMNS, STORED_COLUMNS, first, record, stored_version};
use super::sql::{Sql, Values};
use super::{
    GateDecision, GateHistory, ImportOutcome, MirrorTimes, PublishExtras, PublishedVersion,
    StoreError, VersionRecord, now,
};

/// What [`write_batch`] did.
pub(crate) struct Written<'m> {
    /// The versions inserted, in insert order (with the latest flag each got).
    pub inserted: Vec<NewVersion<'m>>,
    /// Versions left out because the same precedence is stored (or came earlier in the batch).
    pub duplicates: Vec<&'m Manifest>,
}

/// Creates the `servers` rows of `names` if needed and locks them, in name order (on SQLite the write
/// transaction already excludes every other writer).
pub(crate) async fn lock_servers<E: Engine>(
    engine: &E,
    tx: &mut E::Tx,
    names: &[&str],
) -> Result<(), StoreError> {
    // Creating the rows first means a new server is locked like an existing one; a concurrent creator of
    // the same name makes this wait until it commits.
    let mut insert = Sql::new("insert into servers (name, created_at) select r.name, ");
    insert.bind(now()).push(" from ");
    E::push_rows(
        &mut insert,
        vec![("name", Values::texts(names.iter().copied()))],
    );
    insert.push(" r where true on conflict (name) do nothing");
    engine.execute(Some(&mut *tx), insert).await?;
    if !E::LOCK_ROWS.is_empty() {
        let mut lock = Sql::new("select name from servers where name");
        E::push_in(&mut lock, Values::texts(names.iter().copied()));
        lock.push(" order by name").push(E::LOCK_ROWS);
        engine.fetch(Some(tx), lock).await?;
    }
    Ok(())
}

/// Every stored version of the named servers, each server's in publish order.
pub(crate) async fn stored_versions<E: Engine>(
    engine: &E,
    tx: &mut E::Tx,
    names: &[&str],
) -> Result<BTreeMap<String, Vec<StoredVersion>>, StoreError> {
    let mut sql = Sql::new(&format!("select {STORED_COLUMNS} from "));
    E::push_versions_of(&mut sql, names, VersionsOrder::ByName);
    sql.push(" order by v.server_name, v.published_at, v.id");
    let mut stored: BTreeMap<String, Vec<StoredVersion>> = BTreeMap::new();
    for mut row in engine.fetch(Some(tx), sql).await? {
        let (name, version) = stored_version(&mut row)?;
        stored.entry(name).or_default().push(version);
    }
    Ok(stored)
}

/// Clears, then sets, latest flags (in that order, so the one-latest index holds after every
/// statement). A flag change is not a change of the version's own data: `updated_at` stays, only
/// `changed_at` moves, so incremental sync still sees the new flag.
pub(crate) async fn apply_latest_moves<E: Engine>(
    engine: &E,
    tx: &mut E::Tx,
    moves: &LatestMoves,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    for (ids, flag) in [(&moves.clear, false), (&moves.set, true)] {
        if ids.is_empty() {
            continue;
        }
        let mut sql =
            Sql::new("update server_versions set is_latest = $1, changed_at = $2 where id")
                .arg(flag)
                .arg(now);
        E::push_in(&mut sql, Values::Int(ids.clone()));
        engine.execute(Some(&mut *tx), sql).await?;
    }
    Ok(())
}

/// Locks the touched servers, inserts `entries` (skipping duplicates) and moves the latest flags,
/// inside the caller's transaction.
async fn write_batch<'m, E: Engine>(
    engine: &E,
    tx: &mut E::Tx,
    entries: &[Incoming<'m>],
) -> Result<Written<'m>, StoreError> {
    let names = touched_names(entries);
    lock_servers(engine, tx, &names).await?;
    let stored = stored_versions(engine, tx, &names).await?;
    write_locked(engine, tx, entries, &stored).await
}

/// [`write_batch`] for a caller that holds the touched servers' locks and has read their `stored`
/// versions under them.
async fn write_locked<'m, E: Engine>(
    engine: &E,
    tx: &mut E::Tx,
    entries: &[Incoming<'m>],
    stored: &BTreeMap<String, Vec<StoredVersion>>,
) -> Result<Written<'m>, StoreError> {
    // Read after the locks were granted, so publish order and time agree.
    let now = now();
    let plan = plan_batch(entries, stored, now);
    apply_latest_moves(engine, tx, &plan.moves, now).await?;
    for chunk in plan.inserts.chunks(E::ROWS_PER_STATEMENT) {
        let documents = ensure_documents(engine, tx, chunk).await?;
        if let Err(err) = insert_versions(engine, tx, chunk, &documents, now).await {
            return Err(match chunk.first() {
                Some(first) if E::is_duplicate_version(&err) => duplicate_error(first.manifest),
                _ => err,
            });
        }
        insert_remote_urls(engine, tx, chunk).await?;
        let contracts: Vec<ContractRow<'_>> = chunk
            .iter()
            .map(|row| ContractRow {
                server_name: row.manifest.name().as_str(),
                precedence_key: &row.precedence_key,
                order_key: &row.order_key,
                contract_key: row.contract_key,
            })
            .collect();
        record_contracts(engine, tx, &contracts).await?;
    }
    Ok(Written {
        inserted: plan.inserts,
        duplicates: plan.duplicates,
    })
}

/// The search document ids of the digests `rows` need, inserting the documents not stored yet.
/// Digests include the server name, so documents are never shared between servers, and the servers
/// are locked: no other writer inserts these documents concurrently.
async fn ensure_documents<E: Engine>(
    engine: &E,
    tx: &mut E::Tx,
    rows: &[NewVersion<'_>],
) -> Result<HashMap<String, i64>, StoreError> {
    let digests: BTreeSet<&str> = rows.iter().map(|row| row.fields.digest.as_str()).collect();
    let mut ids = document_ids(engine, tx, &digests).await?;
    let mut seen = HashSet::new();
    let missing: Vec<&NewVersion<'_>> = rows
        .iter()
        .filter(|row| {
            let digest = row.fields.digest.as_str();
            !ids.contains_key(digest) && seen.insert(digest)
        })
        .collect();
    if !missing.is_empty() {
        engine.insert_documents(tx, &missing).await?;
        ids = document_ids(engine, tx, &digests).await?;
    }
    Ok(ids)
}

async fn document_ids<E: Engine>(
    engine: &E,
    tx: &mut E::Tx,
    digests: &BTreeSet<&str>,
) -> Result<HashMap<String, i64>, StoreError> {
    let mut sql = Sql::new("select digest, id from search_documents where digest");
    E::push_in(&mut sql, Values::texts(digests.iter().copied()));
    let mut ids = HashMap::with_capacity(digests.len());
    for mut row in engine.fetch(Some(tx), sql).await? {
        ids.insert(row.text(0)?, row.int(1)?);
    }
    Ok(ids)
}

/// Inserts versions with one statement (ids, and so publish order, follow `rows`).
async fn insert_versions<E: Engine>(
    engine: &E,
    tx: &mut E::Tx,
    rows: &[NewVersion<'_>],
    documents: &HashMap<String, i64>,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    let document_ids = rows
        .iter()
        .map(|row| {
            documents
                .get(&row.fields.digest)
                .copied()
                .ok_or_else(|| StoreError::Corrupt("search document not written".to_owned()))
        })
        .collect::<Result<Vec<i64>, StoreError>>()?;
    let times = |read: fn(&NewVersion<'_>) -> OffsetDateTime| rows.iter().map(read).collect();
    let mut sql = Sql::new(
        "insert into server_versions (server_name, version, precedence_key, status, \
         status_message, status_changed_at, published_at, updated_at, changed_at, is_latest, \
         document_id, registry_types, transports, manifest, order_key) \
         select r.server_name, r.version, r.precedence_key, r.status, r.status_message, \
         r.status_changed_at, r.published_at, r.updated_at, r.changed_at, r.is_latest, \
         r.document_id, r.registry_types, r.transports, r.manifest, r.order_key from ",
    );
    E::push_rows(
        &mut sql,
        vec![
            (
                "server_name",
                text_column(rows, |r| r.manifest.name().as_str()),
            ),
            (
                "version",
                text_column(rows, |r| r.manifest.version().as_str()),
            ),
            ("precedence_key", text_column(rows, |r| &r.precedence_key)),
            ("status", text_column(rows, |r| r.status.as_str())),
            (
                "status_message",
                Values::OptText(
                    rows.iter()
                        .map(|r| r.status_message.map(Into::into))
                        .collect(),
                ),
            ),
            (
                "status_changed_at",
                Values::Time(times(|r| r.status_changed_at)),
            ),
            ("published_at", Values::Time(times(|r| r.published_at))),
            ("updated_at", Values::Time(times(|r| r.updated_at))),
            ("changed_at", Values::Time(vec![now; rows.len()])),
            (
                "is_latest",
                Values::Bool(rows.iter().map(|r| r.is_latest).collect()),
            ),
            ("document_id", Values::Int(document_ids)),
            (
                "registry_types",
                json(text_column(rows, |r| &r.fields.registry_types)),
            ),
            (
                "transports",
                json(text_column(rows, |r| &r.fields.transports)),
            ),
            ("manifest", text_column(rows, |r| r.manifest.raw())),
            ("order_key", text_column(rows, |r| &r.order_key)),
            ("ord", ordinals(rows.len())),
        ],
    );
    sql.push(" r order by r.ord");
    engine.execute(Some(tx), sql).await?;
    Ok(())
}

/// The same texts, bound as JSON (`jsonb` on PostgreSQL).
fn json(texts: Values<'_>) -> Values<'_> {
    match texts {
        Values::Text(texts) => Values::Json(texts),
        other => other,
    }
}

/// 0, 1, … `count - 1`: the order column of bound rows.
fn ordinals(count: usize) -> Values<'static> {
    Values::Int(
        (0..count)
            .map(|n| i64::try_from(n).unwrap_or(i64::MAX))
            .collect(),
    )
}

/// Records the remote URLs of freshly inserted versions.
async fn insert_remote_urls<E: Engine>(
    engine: &E,
    tx: &mut E::Tx,
    rows: &[NewVersion<'_>],
) -> Result<(), StoreError> {
    let (mut names, mut keys, mut urls) = (Vec::new(), Vec::new(), Vec::new());
    for row in rows {
        for url in remote_urls(row.manifest) {
            names.push(row.manifest.name().as_str());
            keys.push(row.precedence_key.as_str());
            urls.push(url);
        }
    }
    if urls.is_empty() {
        return Ok(());
    }
    let mut sql = Sql::new("insert into remote_urls (url, version_id) select r.url, v.id from ");
    E::push_rows(
        &mut sql,
        vec![
            ("server_name", Values::texts(names)),
            ("precedence_key", Values::texts(keys)),
            ("url", Values::texts(urls)),
        ],
    );
    sql.push(
        " r join server_versions v on v.server_name = r.server_name \
         and v.precedence_key = r.precedence_key where true on conflict do nothing",
    );
    engine.execute(Some(tx), sql).await?;
    Ok(())
}

/// A remote URL belongs to one server: refuses the manifest when a live version of another server
/// uses one of its URLs.
async fn check_remote_urls<E: Engine>(
    engine: &E,
    tx: &mut E::Tx,
    manifest: &Manifest,
) -> Result<(), StoreError> {
    let urls = remote_urls(manifest);
    if urls.is_empty() {
        return Ok(());
    }
    let mut sql = Sql::new(
        "select r.url, v.server_name from remote_urls r \
         join server_versions v on v.id = r.version_id \
         where v.server_name <> $1 and v.status <> 'deleted' and r.url",
    )
    .arg(manifest.name().as_str());
    E::push_in(&mut sql, Values::texts(urls));
    sql.push(" limit 1");
    match engine.fetch(Some(tx), sql).await?.into_iter().next() {
        Some(mut row) => Err(StoreError::RemoteUrlTaken {
            url: row.text(0)?,
            server_name: row.text(1)?,
        }),
        None => Ok(()),
    }
}

fn duplicate_error(manifest: &Manifest) -> StoreError {
    StoreError::Duplicate {
        server_name: manifest.name().as_str().to_owned(),
        version: manifest.version().as_str().to_owned(),
        identical: None,
    }
}

/// The refusal of `manifest`, whose precedence `stored` already has: with the stored version when the
/// manifests are the same document (a retried publish).
async fn duplicate_of<E: Engine>(
    engine: &E,
    tx: &mut E::Tx,
    manifest: &Manifest,
    stored: &StoredVersion,
) -> Result<StoreError, StoreError> {
    let sql = Sql::new("select manifest from server_versions where id = $1").arg(stored.id);
    let text = first(engine.fetch(Some(&mut *tx), sql).await?, |row| row.text(0))?;
    let same = text.is_some_and(|text| {
        text == manifest.raw()
            || Manifest::from_stored(text)
                .and_then(|stored| Ok(stored.digest()? == manifest.digest()?))
                .unwrap_or(false)
    });
    let mut refusal = duplicate_error(manifest);
    if same && let StoreError::Duplicate { identical, .. } = &mut refusal {
        let sql = Sql::new(&format!(
            "select {RECORD_COLUMNS} from server_versions v where v.id = $1"
        ))
        .arg(stored.id);
        *identical = first(engine.fetch(Some(tx), sql).await?, record)?.map(Box::new);
    }
    Ok(refusal)
}

/// See [`super::Store::publish_gated`].
pub(crate) async fn publish_gated<E: Engine, X>(
    engine: &E,
    manifest: &Manifest,
    extras: PublishExtras<'_>,
    mut gate: impl FnMut(GateHistory<'_>) -> GateDecision<X> + Send,
) -> Result<Result<VersionRecord, X>, StoreError> {
    let mut tx = engine.begin_write().await?;
    let name = manifest.name().as_str();
    let version = manifest.version().as_str();
    // The server's row lock keeps every other writer of this server out between the reading of its
    // history (the gate's, and the latest flags') and the insert.
    lock_servers(engine, &mut tx, &[name]).await?;
    check_remote_urls(engine, &mut tx, manifest).await?;
    let summary = gate_summary(engine, &mut tx, name, version).await?;
    let mut complete = summary.is_none();
    let mut history = match summary {
        Some(summary) => summary,
        None => history(engine, &mut tx, name).await?,
    };
    let new_key = precedence_key(version);
    if let Some(entry) = history
        .iter()
        .find(|entry| entry.stored.precedence_key == new_key)
    {
        return Err(duplicate_of(engine, &mut tx, manifest, &entry.stored).await?);
    }
    let (published, report) = loop {
        let published = gate_history(engine, &mut tx, &history, version).await?;
        let shown = GateHistory {
            versions: &published,
            complete,
        };
        match gate(shown) {
            GateDecision::Decided(Ok(report)) => break (published, report),
            GateDecision::Decided(Err(refusal)) => return Ok(Err(refusal)),
            GateDecision::NeedsEveryVersion if !complete => {
                history = self::history(engine, &mut tx, name).await?;
                complete = true;
            }
            GateDecision::NeedsEveryVersion => {
                return Err(StoreError::Corrupt(
                    "the publish gate asked for versions it had been shown".to_owned(),
                ));
            }
        }
    };
    let contract_key = stored_contract(manifest.raw());
    let incoming = [Incoming {
        manifest,
        source: None,
        contract_key: contract_key.as_deref(),
    }];
    // The contract keys of stored versions that had none (kept before keys were, or imported) whose
    // manifests the gate has just read: a later publish then reads one manifest per contract for them
    // too, so an imported history costs its full read once.
    let known = keyless_contracts(&history, &published);
    let stored = BTreeMap::from([(
        name.to_owned(),
        history.into_iter().map(|entry| entry.stored).collect(),
    )]);
    let mut written = write_locked(engine, &mut tx, &incoming, &stored).await?;
    if let Some(duplicate) = written.duplicates.first() {
        return Err(duplicate_error(duplicate));
    }
    let rows: Vec<ContractRow<'_>> = known
        .iter()
        .map(|(precedence_key, order_key, key)| ContractRow {
            server_name: name,
            precedence_key,
            order_key,
            contract_key: Some(key),
        })
        .collect();
    record_contracts(engine, &mut tx, &rows).await?;
    // What the publish keeps beside the manifest, in one statement: each update leaves the row's old
    // version behind on PostgreSQL until vacuum, which every later read of the server steps over.
    let (review, provenance) = (extras.review, extras.provenance);
    if report.is_some() || review.is_some() || provenance.is_some() {
        let sql = Sql::new(
            "update server_versions set compat_report = $1, review = $2, review_summary = $3, \
             provenance = $4 where server_name = $5 and precedence_key = $6",
        )
        .arg(report)
        .arg(review.map(|r| r.review.as_str()))
        .arg(review.map(|r| r.summary.as_str()))
        .arg(provenance.map(|p| p.summary.as_str()))
        .arg(name)
        .arg(new_key.as_str());
        engine.execute(Some(&mut tx), sql).await?;
    }
    if let Some(provenance) = provenance {
        let sql = Sql::new(
            "insert into provenance_bundles (version_id, bundle) \
             select id, $1 from server_versions where server_name = $2 and precedence_key = $3",
        );
        let sql = sql.arg(&provenance.bundle).arg(name).arg(new_key.as_str());
        engine.execute(Some(&mut tx), sql).await?;
    }
    engine.commit_change(tx).await?;
    let inserted = written
        .inserted
        .pop()
        .ok_or_else(|| StoreError::Corrupt("a publish inserted nothing".to_owned()))?;
    let mut record = new_record(&inserted);
    record.provenance = extras.provenance.map(|p| p.summary.clone());
    record.review = extras.review.map(|r| r.summary.clone());
    Ok(Ok(record))
}

/// The contract key of a manifest as the gate reads it back: the stored text, parsed again.
fn stored_contract(raw: &str) -> Option<String> {
    Manifest::from_stored(raw)
        .ok()
        .and_then(|stored| contract_key(stored.server()))
}

/// `(precedence key, order key, contract key)` of the versions in `history` without a key whose
/// manifest `published` (the gate's view of the same history) holds.
fn keyless_contracts(
    history: &[History],
    published: &[PublishedVersion],
) -> Vec<(String, String, String)> {
    history
        .iter()
        .zip(published)
        .filter(|(entry, _)| entry.contract_key.is_none())
        .filter_map(|(entry, read)| {
            let key = stored_contract(read.manifest.as_deref()?)?;
            let stored = &entry.stored;
            let order = order_key(&stored.version).unwrap_or_default();
            Some((stored.precedence_key.clone(), order, key))
        })
        .collect()
}

/// A version's `version_contracts` row.
struct ContractRow<'a> {
    server_name: &'a str,
    precedence_key: &'a str,
    order_key: &'a str,
    /// `None` leaves a known key as it is.
    contract_key: Option<&'a str>,
}

/// Writes the `version_contracts` rows of stored versions (found by precedence key).
async fn record_contracts<E: Engine>(
    engine: &E,
    tx: &mut E::Tx,
    rows: &[ContractRow<'_>],
) -> Result<(), StoreError> {
    if rows.is_empty() {
        return Ok(());
    }
    // A lookup per row, not a join: with a server's rows not yet analyzed, PostgreSQL plans the join
    // as a scan of all of them.
    let mut sql = Sql::new(
        "insert into version_contracts (version_id, server_name, order_key, contract_key) \
         select k.id, k.server_name, k.order_key, k.contract_key \
         from (select (select v.id from server_versions v where v.server_name = r.server_name \
         and v.precedence_key = r.precedence_key) as id, r.server_name, r.order_key, \
         r.contract_key from ",
    );
    E::push_rows(
        &mut sql,
        vec![
            (
                "server_name",
                Values::texts(rows.iter().map(|r| r.server_name)),
            ),
            (
                "precedence_key",
                Values::texts(rows.iter().map(|r| r.precedence_key)),
            ),
            ("order_key", Values::texts(rows.iter().map(|r| r.order_key))),
            (
                "contract_key",
                Values::OptText(
                    rows.iter()
                        .map(|r| r.contract_key.map(Into::into))
                        .collect(),
                ),
            ),
        ],
    );
    sql.push(
        " r) k where k.id is not null on conflict (version_id) do update \
         set contract_key = coalesce(excluded.contract_key, version_contracts.contract_key)",
    );
    engine.execute(Some(tx), sql).await?;
    Ok(())
}

/// The record a write just inserted, built without reading it back.
fn new_record(row: &NewVersion<'_>) -> VersionRecord {
    VersionRecord {
        server_name: row.manifest.name().as_str().to_owned(),
        version: row.manifest.version().as_str().to_owned(),
        manifest: row.manifest.raw().to_owned(),
        status: row.status,
        status_message: row.status_message.map(str::to_owned),
        status_changed_at: row.status_changed_at,
        published_at: row.published_at,
        updated_at: row.updated_at,
        is_latest: row.is_latest,
        provenance: None,
        review: None,
    }
}

/// See [`super::Store::import`]: one transaction, latest recomputed once per server touched.
pub(crate) async fn import<E: Engine>(
    engine: &E,
    entries: &[Incoming<'_>],
) -> Result<ImportOutcome, StoreError> {
    if entries.is_empty() {
        return Ok(ImportOutcome::default());
    }
    let mut tx = engine.begin_import().await?;
    let written = write_batch(engine, &mut tx, entries).await?;
    if written.inserted.is_empty() {
        engine.commit(tx).await?;
    } else {
        engine.commit_change(tx).await?;
    }
    engine.after_import().await;
    Ok(ImportOutcome {
        inserted: written.inserted.len() as u64,
        skipped: written.duplicates.len() as u64,
    })
}

/// See [`super::Store::mirror_keep_times`].
pub(crate) async fn keep_times<E: Engine>(
    engine: &E,
    server_name: &str,
    version: &str,
    times: &MirrorTimes,
) -> Result<bool, StoreError> {
    let mut tx = engine.begin_write().await?;
    let sql = Sql::new(
        "update server_versions set published_at = $1, \
         status_changed_at = coalesce($2, status_changed_at), updated_at = coalesce($3, $4), \
         changed_at = $4 where server_name = $5 and version = $6 \
         and (published_at <> $1 or status_changed_at <> coalesce($2, status_changed_at) \
         or updated_at <> coalesce($3, updated_at))",
    )
    .arg(times.published_at)
    .arg(times.status_changed_at)
    .arg(times.updated_at)
    .arg(now())
    .arg(server_name)
    .arg(version);
    let changed = engine.execute(Some(&mut tx), sql).await? > 0;
    if changed {
        // Other replicas drop cached responses that show the old `publishedAt`.
        engine.commit_change(tx).await?;
    } else {
        engine.commit(tx).await?;
    }
    Ok(changed)
}
