//! What a publish reads of its server's stored versions, under the server's lock: the summary the gate
//! needs ([`gate_summary`], a few rows found by semver order, whatever the history's length), or every
//! version ([`history`], when the summary cannot stand in for it); and the manifests the gate compares
//! with ([`gate_history`]). Also fills in the order keys of versions stored before they existed.

use std::collections::{HashMap, HashSet};

use registry_schema::compat::{Publication, gate_reads};
use registry_schema::version::{is_release_key, line_range, order_key, precedence_key};

use super::engine::Engine;
use super::plan::StoredVersion;
use super::rows::{STORED_COLUMNS, all, first, stored_version};
use super::sql::{Sql, Values, from_micros};
use super::{PublishedVersion, Status, StoreError};

/// A stored version as a publish reads it, once, for the gate, the duplicate check and the latest
/// flags: no manifest, which only the versions the gate compares with need ([`gate_loads`]).
pub(super) struct History {
    pub stored: StoredVersion,
    /// `registry_schema::compat::contract_key` of its manifest (`version_contracts`), kept at publish;
    /// `None` for versions stored before, and imported ones.
    pub contract_key: Option<String>,
}

/// One version in [`history`]'s JSON, an array of these fields in this order (serde reads a struct
/// from an array positionally).
#[derive(serde::Deserialize)]
struct HistoryItem {
    id: i64,
    version: String,
    precedence_key: String,
    status: String,
    status_message: Option<String>,
    /// Microseconds since the epoch.
    published_at: i64,
    /// 0 or 1.
    is_latest: i64,
    contract_key: Option<String>,
}

/// Every version of `server_name` in publish order (on SQLite from the covering index
/// `server_versions_history`, not from the manifest-carrying rows), read as one JSON value: at 1,000
/// versions a row each made this read the part of a publish that grows with history.
pub(super) async fn history<E: Engine>(
    engine: &E,
    tx: &mut E::Tx,
    server_name: &str,
) -> Result<Vec<History>, StoreError> {
    let mut sql = Sql::new("select ");
    E::push_json_rows(
        &mut sql,
        &format!(
            "v.id, v.version, v.precedence_key, v.status, v.status_message, {}, \
             case when v.is_latest then 1 else 0 end, c.contract_key",
            E::micros("v.published_at")
        ),
    );
    sql.push(
        " from server_versions v left join version_contracts c on c.version_id = v.id \
         where v.server_name = ",
    )
    .bind(server_name);
    let text = first(engine.fetch(Some(tx), sql).await?, |row| row.text(0))?.unwrap_or_default();
    let mut items: Vec<HistoryItem> = serde_json::from_str(&text)
        .map_err(|err| StoreError::Corrupt(format!("history of {server_name}: {err}")))?;
    // Publish order: by published_at, then id.
    items.sort_unstable_by_key(|item| (item.published_at, item.id));
    items
        .into_iter()
        .map(|item| {
            Ok(History {
                stored: StoredVersion {
                    id: item.id,
                    version: item.version,
                    precedence_key: item.precedence_key,
                    status: item.status.parse()?,
                    status_message: item.status_message,
                    published_at: from_micros(item.published_at)?,
                    is_latest: item.is_latest != 0,
                },
                contract_key: item.contract_key,
            })
        })
        .collect()
}

/// Which stored manifests the gate needs for a new `version` after `history`: the indices to load,
/// and for every entry the loaded one standing for it (equal contract keys). Of the sandwich
/// candidates only those up to the first one known to parse (it has a key) are needed.
fn gate_loads(history: &[History], version: &str) -> (Vec<usize>, Vec<Option<usize>>) {
    let stubs: Vec<Publication> = history
        .iter()
        .map(|entry| Publication {
            version: entry.stored.version.clone(),
            deleted: entry.stored.status == Status::Deleted,
            ..Publication::default()
        })
        .collect();
    let reads = gate_reads(&stubs, version);
    let mut load = Vec::new();
    let mut same_as = vec![None; history.len()];
    let mut owners: HashMap<&str, usize> = HashMap::new();
    let mut read = |index: usize| match history[index].contract_key.as_deref() {
        Some(key) => match owners.get(key) {
            Some(&owner) if owner != index => same_as[index] = Some(owner),
            Some(_) => {}
            None => {
                owners.insert(key, index);
                load.push(index);
            }
        },
        None => load.push(index),
    };
    for &index in &reads.always {
        read(index);
    }
    for &index in &reads.sandwich {
        read(index);
        if history[index].contract_key.is_some() {
            break;
        }
    }
    load.sort_unstable();
    load.dedup();
    (load, same_as)
}

/// The history as the gate sees it: manifests of the entries `gate_loads` picks, read now.
pub(super) async fn gate_history<E: Engine>(
    engine: &E,
    tx: &mut E::Tx,
    history: &[History],
    version: &str,
) -> Result<Vec<PublishedVersion>, StoreError> {
    let (load, same_as) = gate_loads(history, version);
    let mut manifests: HashMap<i64, String> = HashMap::with_capacity(load.len());
    if !load.is_empty() {
        let mut sql = Sql::new("select id, manifest from server_versions where id");
        E::push_in(
            &mut sql,
            Values::Int(load.iter().map(|&index| history[index].stored.id).collect()),
        );
        for mut row in engine.fetch(Some(tx), sql).await? {
            manifests.insert(row.int(0)?, row.text(1)?);
        }
    }
    Ok(history
        .iter()
        .zip(same_as)
        .map(|(entry, same_as)| PublishedVersion {
            manifest: manifests.remove(&entry.stored.id),
            version: entry.stored.version.clone(),
            status: entry.stored.status,
            same_as,
        })
        .collect())
}

/// The versions of `server_name` a publish of `version` needs, found by semver order (`order_key`)
/// whatever the history's length: the version of the same precedence (a duplicate), the one a
/// `X.Y.Z-N` republishes, the latest, the baseline candidates (the highest release and pre-release
/// below), the next release up in the line (the sandwich) and, per distinct contract, the highest
/// earlier release of the line (the transitive check), in publish order.
///
/// These answer the gate as every version would whenever it passes: within a line the bump from an
/// earlier release only grows with its distance, so when the highest release of a contract is far
/// enough from the new version, all of that contract's are. A rejection needs every release it
/// breaks with, so the caller reads the whole [`history`] again then. They also answer the latest
/// rule, as the summary holds the latest version and every version is semver (see below).
///
/// `None` when the summary cannot stand in for the history: `version` is not semver (the latest rule
/// then goes by publish order), a stored version is not semver or has no order key yet, an earlier
/// release of the line or the next one up has no contract key (imported, or stored before keys), or
/// no version holds the latest flag.
pub(super) async fn gate_summary<E: Engine>(
    engine: &E,
    tx: &mut E::Tx,
    server_name: &str,
    version: &str,
) -> Result<Option<Vec<History>>, StoreError> {
    let (Ok(parsed), Some(key)) = (semver::Version::parse(version), order_key(version)) else {
        return Ok(None);
    };
    let line = line_range(&parsed);
    let sql = summary_sql(
        server_name,
        &parsed,
        precedence_key(version),
        &key,
        line.as_ref(),
    );
    let mut seen = HashSet::new();
    let mut history = Vec::new();
    for mut row in engine.fetch(Some(tx), sql).await? {
        let (_, stored) = stored_version(&mut row)?;
        let contract_key = row.opt_text(8)?;
        if row.int(9)? != 0 {
            return Ok(None);
        }
        if seen.insert(stored.id) {
            history.push(History {
                stored,
                contract_key,
            });
        }
    }
    // The sandwich compares with the first release up that has contents: when that one's key (and so
    // whether it has contents) is unknown, the gate may need the ones above it too.
    let keyless_in_line = |entry: &History| {
        entry.contract_key.is_none()
            && entry.stored.status != Status::Deleted
            && line.as_ref().is_some_and(|(from, to)| {
                order_key(&entry.stored.version)
                    .is_some_and(|k| is_release_key(&k) && *from <= k && k < *to && k != key)
            })
    };
    let no_latest = !history.is_empty() && !history.iter().any(|entry| entry.stored.is_latest);
    if no_latest || history.iter().any(keyless_in_line) {
        return Ok(None);
    }
    history.sort_unstable_by_key(|entry| (entry.stored.published_at, entry.stored.id));
    Ok(Some(history))
}

/// The statement behind [`gate_summary`]: one branch per version it looks for, each an index probe
/// (the distinct contracts through a recursive walk of `version_contracts_by_contract`); `unkeyed` is
/// 1 on a version that makes the summary unusable.
fn summary_sql<'a>(
    server_name: &'a str,
    version: &semver::Version,
    precedence: String,
    key: &str,
    line: Option<&(String, String)>,
) -> Sql<'a> {
    let mut sql = Sql::new("");
    let name = sql.param(server_name);
    let own = sql.param(precedence);
    let below = sql.param(key.to_owned());
    let mut branches = vec![
        format!(
            "select id, 0 as unkeyed from server_versions \
             where server_name = {name} and precedence_key = {own}"
        ),
        format!("select id, 0 from server_versions where server_name = {name} and is_latest"),
        format!(
            "select id, 1 from server_versions where server_name = {name} and order_key is null"
        ),
        format!("select id, 1 from server_versions where server_name = {name} and order_key = ''"),
    ];
    if !version.pre.is_empty() {
        // What `X.Y.Z-N` republishes.
        let release = sql.param(format!(
            "{}.{}.{}",
            version.major, version.minor, version.patch
        ));
        branches.push(format!(
            "select id, 0 from server_versions \
             where server_name = {name} and precedence_key = {release}"
        ));
    }
    // The baseline: the highest live release below, else the highest live pre-release.
    for kind in ["like", "not like"] {
        branches.push(format!(
            "select * from (select id, 0 as unkeyed from server_versions where server_name = {name} \
             and status <> 'deleted' and order_key > '' and order_key < {below} \
             and order_key {kind} '%~' order by order_key desc limit 1) b"
        ));
    }
    if let Some((from, to)) = line {
        let (from, to) = (sql.param(from.clone()), sql.param(to.clone()));
        if version.pre.is_empty() {
            branches.push(format!(
                "select * from (select id, 0 as unkeyed from server_versions \
                 where server_name = {name} and status <> 'deleted' and order_key > {below} \
                 and order_key < {to} and order_key like '%~' order by order_key limit 1) s"
            ));
        }
        // Keys still unknown for an earlier release of the line: the gate needs its manifest.
        branches.push(format!(
            "select * from (select c.version_id, 1 as unkeyed from version_contracts c \
             join server_versions v on v.id = c.version_id where c.server_name = {name} \
             and c.contract_key is null and c.order_key >= {from} and c.order_key < {below} \
             and c.order_key like '%~' and v.status <> 'deleted' limit 1) k"
        ));
        // Per distinct contract of the server (`contracts`), its highest live earlier release of
        // the line: a probe each, however many versions share it.
        branches.push(format!(
            "select (select c.version_id from version_contracts c \
             join server_versions v on v.id = c.version_id where c.server_name = {name} \
             and c.contract_key = contracts.k and c.order_key >= {from} and c.order_key < {below} \
             and c.order_key like '%~' and v.status <> 'deleted' order by c.order_key desc limit 1), 0 \
             from contracts where contracts.k is not null"
        ));
        sql.push(&format!(
            "with recursive contracts (k) as (select min(contract_key) from version_contracts \
             where server_name = {name} union all select (select min(c.contract_key) \
             from version_contracts c where c.server_name = {name} and c.contract_key > contracts.k) \
             from contracts where contracts.k is not null) "
        ));
    }
    sql.push(&format!(
        "select {STORED_COLUMNS}, c.contract_key, t.unkeyed from ({}) t \
         join server_versions v on v.id = t.id left join version_contracts c on c.version_id = v.id",
        branches.join(" union all ")
    ));
    sql
}

/// Fills in the order keys of versions stored before the column existed ('' for versions that are not
/// semver), a batch at a time. Safe to run from several replicas at once: each writes the same keys.
pub(crate) async fn backfill_order_keys<E: Engine>(engine: &E) -> Result<(), StoreError> {
    const BATCH: i64 = 500;
    let mut after = 0_i64;
    loop {
        let sql = Sql::new(
            "select id, version from server_versions where order_key is null and id > $1 \
             order by id limit $2",
        )
        .arg(after)
        .arg(BATCH);
        let rows = all(engine.fetch(None, sql).await?, |row| {
            Ok((row.int(0)?, row.text(1)?))
        })?;
        let Some(&(last, _)) = rows.last() else {
            return Ok(());
        };
        after = last;
        let keys: Vec<String> = rows
            .iter()
            .map(|(_, version)| order_key(version).unwrap_or_default())
            .collect();
        // The contract rows first: a version whose own key is set counts as done.
        for (update, matching) in [
            (
                "update version_contracts set order_key = r.order_key from ",
                " r where version_contracts.version_id = r.id",
            ),
            (
                "update server_versions set order_key = r.order_key from ",
                " r where server_versions.id = r.id and server_versions.order_key is null",
            ),
        ] {
            let mut sql = Sql::new(update);
            E::push_rows(
                &mut sql,
                vec![
                    ("id", Values::Int(rows.iter().map(|(id, _)| *id).collect())),
                    ("order_key", Values::texts(keys.iter().map(String::as_str))),
                ],
            );
            sql.push(matching);
            engine.execute(None, sql).await?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{History, Status, StoredVersion, gate_loads};

    fn stored(version: &str, key: Option<&str>) -> History {
        History {
            stored: StoredVersion {
                id: 0,
                version: version.to_owned(),
                precedence_key: String::new(),
                status: Status::Active,
                status_message: None,
                published_at: time::OffsetDateTime::UNIX_EPOCH,
                is_latest: false,
            },
            contract_key: key.map(str::to_owned),
        }
    }

    #[test]
    fn a_long_unchanged_line_loads_one_manifest() {
        // 1.0.0 … 1.0.999 with one contract, an older 0.x line, and a 2.0.0 release.
        let mut history: Vec<History> = (0..1000)
            .map(|n| stored(&format!("1.0.{n}"), Some("same")))
            .collect();
        history.extend((1..=5).map(|n| stored(&format!("0.{n}.0"), Some("old"))));
        history.push(stored("2.0.0", Some("two")));
        let (load, same_as) = gate_loads(&history, "1.0.1000");
        // Every earlier release of the line is compared, through the first one loaded.
        assert_eq!(load, vec![0]);
        assert!(same_as[1..1000].iter().all(|owner| *owner == Some(0)));
        assert!(same_as[1000..].iter().all(Option::is_none));
        // A new major: the baseline (1.0.999) only, loaded as the representative of its key.
        let (load, same_as) = gate_loads(&history, "3.0.0");
        assert_eq!(load, vec![1005]);
        assert!(same_as.iter().all(Option::is_none));
        // A duplicate loads nothing (the store refuses it before the gate runs).
        assert_eq!(gate_loads(&history, "1.0.5").0, Vec::<usize>::new());
    }

    #[test]
    fn versions_without_a_key_are_loaded_one_by_one() {
        let history = vec![
            stored("1.0.0", None),
            stored("1.1.0", None),
            stored("1.2.0", Some("k")),
            stored("1.3.0", Some("k")),
            stored("1.5.0", None),
            stored("1.6.0", Some("k")),
            stored("1.7.0", None),
        ];
        let (load, same_as) = gate_loads(&history, "1.4.0");
        // Baseline 1.3.0 stands for 1.2.0; the sandwich candidates are read up to the first with a
        // key (1.6.0 shares 1.3.0's), as a keyless one may not parse and then does not count.
        assert_eq!(load, vec![0, 1, 2, 4]);
        assert_eq!(same_as[3], Some(2));
        assert_eq!(same_as[5], Some(2));
        assert_eq!(same_as[6], None);
    }
}
