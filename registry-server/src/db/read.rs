//! Reading versions, written once for both engines: the keyset-paginated list (plain or ranked search),
//! a server's versions, one version, its provenance and its compatibility report.

use super::engine::{ChangedScan, Engine};
use super::rows::{PROVENANCE_COLUMNS, RECORD_COLUMNS, all, first};
use super::rows::{provenance_record, record};
use super::search::{Filters, SearchTerm};
use super::sql::Sql;
use super::{
    Cursor, DEFAULT_PAGE_SIZE, ListQuery, MAX_PAGE_SIZE, Page, ProvenanceRecord, StoreError,
    VersionRecord, VersionSelector,
};
use crate::search_index::SearchIndex;

/// The page size to use: the handler validates `limit`, this only keeps a bad value harmless.
fn page_limit(limit: u32) -> u32 {
    match limit {
        0 => DEFAULT_PAGE_SIZE,
        limit => limit.min(MAX_PAGE_SIZE),
    }
}

/// `(server_name, version)` a plain list continues after. A ranked cursor (from a search) keeps its
/// position; only the tier and rank are ignored.
fn cursor_position(cursor: Option<&Cursor>) -> Option<(&str, &str)> {
    match cursor? {
        Cursor::Position {
            server_name,
            version,
        }
        | Cursor::Ranked {
            server_name,
            version,
            ..
        } => Some((server_name, version)),
    }
}

/// `(tier, rank, server_name, version)` a search continues after. A plain position cursor is read as
/// being in the best tier, so it never skips a hit of a later tier.
pub(crate) fn cursor_ranked(cursor: Option<&Cursor>) -> Option<(u8, u8, &str, &str)> {
    match cursor? {
        Cursor::Position {
            server_name,
            version,
        } => Some((0, 0, server_name, version)),
        Cursor::Ranked {
            tier,
            rank,
            server_name,
            version,
        } => Some((*tier, *rank, server_name, version)),
    }
}

/// The cursor of a full page's last row; `None` when the page is not full. `order` is the last row's
/// `(tier, rank)` in a ranked search.
pub(crate) fn next_cursor(
    items: &[VersionRecord],
    limit: u32,
    ranked: bool,
    order: (i64, i64),
) -> Result<Option<String>, StoreError> {
    let Some(last) = items.last() else {
        return Ok(None);
    };
    if items.len() < limit as usize {
        return Ok(None);
    }
    let small = |value: i64| {
        u8::try_from(value).map_err(|_| StoreError::Corrupt(format!("search order {value}")))
    };
    let cursor = if ranked {
        Cursor::Ranked {
            tier: small(order.0)?,
            rank: small(order.1)?,
            server_name: last.server_name.clone(),
            version: last.version.clone(),
        }
    } else {
        Cursor::Position {
            server_name: last.server_name.clone(),
            version: last.version.clone(),
        }
    };
    Ok(Some(cursor.encode()))
}

/// See [`super::Store::list_servers`].
pub(crate) async fn list_servers<E: Engine>(
    engine: &E,
    index: &std::sync::Arc<SearchIndex>,
    query: &ListQuery,
) -> Result<Page, StoreError> {
    let limit = page_limit(query.limit);
    let Some(filters) = Filters::new(query) else {
        return Ok(Page::default());
    };
    let cursor = query.cursor.as_ref();
    if let Some(term) = query.search.as_deref().and_then(SearchTerm::new) {
        return super::ranked::list(engine, index, &term, &filters, cursor, limit).await;
    }
    let scan = match filters.updated_since {
        Some(since) => engine.changed_since_scan(since).await?,
        None => ChangedScan::PLAIN,
    };
    let sql = plain_list::<E>(&filters, scan, cursor, limit);
    let rows = engine.fetch(None, sql).await?;
    let mut items = Vec::with_capacity(rows.len());
    for mut row in rows {
        items.push(record(&mut row)?);
    }
    let next_cursor = next_cursor(&items, limit, false, (0, 0))?;
    Ok(Page { items, next_cursor })
}

/// Rows in `(server_name, version)` order after the cursor: the official registry's keyset.
fn plain_list<'a, E: Engine>(
    filters: &'a Filters<'a>,
    scan: ChangedScan,
    cursor: Option<&'a Cursor>,
    limit: u32,
) -> Sql<'a> {
    let mut sql = Sql::new(&format!(
        "select {RECORD_COLUMNS} from server_versions v{} where true",
        scan.from_hint
    ));
    push_filters::<E>(&mut sql, filters, scan.column);
    if let Some((server_name, version)) = cursor_position(cursor) {
        sql.push(" and (v.server_name, v.version) > (");
        sql.bind(server_name).push(", ").bind(version).push(")");
    }
    sql.push(" order by v.server_name, v.version limit ");
    sql.bind(i64::from(limit));
    sql
}

/// Appends the list filters (each `and …`) to a query over `server_versions v`. `changed_column` is
/// how `updated_since` reads `changed_at` (see [`ChangedScan`]).
pub(crate) fn push_filters<'a, E: Engine>(
    sql: &mut Sql<'a>,
    filters: &'a Filters<'a>,
    changed_column: &str,
) {
    if let Some(version) = filters.version {
        push_version(sql, version);
    }
    push_deleted(sql, filters.include_deleted);
    if let Some(since) = filters.updated_since {
        sql.push(" and ")
            .push(changed_column)
            .push(" > ")
            .bind(since);
    }
    for (column, value) in [
        ("v.registry_types", filters.registry_type.as_deref()),
        ("v.transports", filters.transport.as_deref()),
    ] {
        if let Some(value) = value {
            E::push_contains(sql, column, value);
        }
    }
    if let Some((low, high)) = &filters.name_range {
        sql.push(" and v.server_name >= ").bind(low);
        sql.push(" and v.server_name < ").bind(high);
    }
}

/// `and v.status <> 'deleted'` unless deleted versions are wanted.
pub(super) fn push_deleted(sql: &mut Sql<'_>, include_deleted: bool) {
    if !include_deleted {
        sql.push(" and v.status <> 'deleted'");
    }
}

/// `and v.is_latest` or `and v.version = $n`.
pub(super) fn push_version<'a>(sql: &mut Sql<'a>, version: &'a VersionSelector) {
    match version {
        VersionSelector::Latest => sql.push(" and v.is_latest"),
        VersionSelector::Exact(version) => sql.push(" and v.version = ").bind(version),
    };
}

/// See [`super::Store::list_versions`].
pub(crate) async fn list_versions<E: Engine>(
    engine: &E,
    server_name: &str,
    include_deleted: bool,
) -> Result<Vec<VersionRecord>, StoreError> {
    let mut sql = Sql::new(&format!(
        "select {RECORD_COLUMNS} from server_versions v where v.server_name = $1"
    ))
    .arg(server_name);
    push_deleted(&mut sql, include_deleted);
    sql.push(" order by v.published_at desc, v.id desc");
    all(engine.fetch(None, sql).await?, record)
}

/// See [`super::Store::find_version`].
pub(crate) async fn find_version<E: Engine>(
    engine: &E,
    server_name: &str,
    version: &VersionSelector,
    include_deleted: bool,
) -> Result<Option<VersionRecord>, StoreError> {
    let mut sql = Sql::new(&format!(
        "select {RECORD_COLUMNS} from server_versions v where v.server_name = $1"
    ))
    .arg(server_name);
    push_version(&mut sql, version);
    push_deleted(&mut sql, include_deleted);
    first(engine.fetch(None, sql).await?, record)
}

/// See [`super::Store::provenance`].
pub(crate) async fn provenance<E: Engine>(
    engine: &E,
    server_name: &str,
    version: &VersionSelector,
    include_deleted: bool,
) -> Result<Option<ProvenanceRecord>, StoreError> {
    let mut sql = Sql::new(&format!(
        "select {PROVENANCE_COLUMNS} from server_versions v \
         left join provenance_bundles b on b.version_id = v.id where v.server_name = $1"
    ))
    .arg(server_name);
    push_version(&mut sql, version);
    push_deleted(&mut sql, include_deleted);
    first(engine.fetch(None, sql).await?, provenance_record)
}

/// See [`super::Store::compat_report`].
pub(crate) async fn compat_report<E: Engine>(
    engine: &E,
    server_name: &str,
    version: &str,
) -> Result<Option<Option<String>>, StoreError> {
    let sql = Sql::new(
        "select compat_report from server_versions where server_name = $1 and version = $2",
    )
    .arg(server_name)
    .arg(version);
    first(engine.fetch(None, sql).await?, |row| row.opt_text(0))
}

/// See [`super::Store::ping`].
pub(crate) async fn ping<E: Engine>(engine: &E) -> Result<(), StoreError> {
    engine.fetch(None, Sql::new("select 1")).await?;
    Ok(())
}
