//! What differs between the engines, as one small trait: running a statement, transactions, a few SQL
//! fragments, and the search documents' indexes. Every flow (publish, status changes, import, audit,
//! tokens, keys, remote-URL ownership, lists) is written once over it, in the other files of `db/`, so the
//! engines cannot drift.

use std::future::Future;

use time::OffsetDateTime;

use super::StoreError;
use super::plan::NewVersion;
use super::sql::{Columns, Row, Sql, Values};

/// Which order a statement over [`Engine::push_versions_of`] lists rows in.
#[derive(Debug, Clone, Copy)]
pub(crate) enum VersionsOrder {
    /// None: the caller groups the rows itself.
    Any,
    /// `order by v.server_name, …`: an engine that can read the names in order skips the sort.
    ByName,
}

/// How a plain list reads the rows changed since a time (SQLite picks an index by how many there are).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ChangedScan {
    /// Appended to `from server_versions v` (an index hint, or nothing).
    pub from_hint: &'static str,
    /// The column expression compared with the time.
    pub column: &'static str,
}

impl ChangedScan {
    /// No hint: the planner chooses.
    pub(crate) const PLAIN: Self = Self {
        from_hint: "",
        column: "v.changed_at",
    };
}

pub(crate) trait Engine: Send + Sync {
    /// An open write transaction.
    type Tx: Send;

    /// Rows per statement for bulk inserts.
    const ROWS_PER_STATEMENT: usize;
    /// Appended to a `select` that must keep what it read unchanged until commit (PostgreSQL locks the
    /// rows; SQLite's writers already hold the single write lock).
    const LOCK_ROWS: &'static str;

    /// Runs a statement and returns its rows, in `tx` or on a pooled connection.
    fn fetch(
        &self,
        tx: Option<&mut Self::Tx>,
        sql: Sql<'_>,
    ) -> impl Future<Output = Result<Vec<Row>, StoreError>> + Send;

    /// Runs a statement and returns the number of rows it changed.
    fn execute(
        &self,
        tx: Option<&mut Self::Tx>,
        sql: Sql<'_>,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// A write transaction: no other writer changes what it reads about the rows it locks (PostgreSQL)
    /// or about anything (SQLite) until it ends.
    fn begin_write(&self) -> impl Future<Output = Result<Self::Tx, StoreError>> + Send;

    /// A write transaction for a bulk import, which can be re-run: it may trade the durability of its
    /// commit for speed.
    fn begin_import(&self) -> impl Future<Output = Result<Self::Tx, StoreError>> + Send;

    /// Commits a transaction that changed nothing other processes cache.
    fn commit(&self, tx: Self::Tx) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Commits a change to registry data and makes it known before returning (PostgreSQL: a
    /// notification to other replicas at commit, then the change counter; see `postgres.rs`).
    fn commit_change(&self, tx: Self::Tx) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Housekeeping after a bulk import (best effort).
    fn after_import(&self) -> impl Future<Output = ()> + Send;

    /// Appends ` <in the list>` after an expression: `= any($n)` or `in (select … json_each($n))`.
    fn push_in<'a>(sql: &mut Sql<'a>, list: Values<'a>);

    /// Appends a parenthesized table of `columns` (named as given, one row per value, in order).
    fn push_rows<'a>(sql: &mut Sql<'a>, columns: Columns<'a>);

    /// Appends the source of every stored version of the named servers (distinct names), aliased `v`,
    /// as `<from items> where <condition>`: the caller may add ` and …` conditions and an `order by`.
    fn push_versions_of<'a>(sql: &mut Sql<'a>, names: &[&'a str], order: VersionsOrder);

    /// Appends ` and <the JSON array text in column holds value>`.
    fn push_contains<'a>(sql: &mut Sql<'a>, column: &str, value: &'a str);

    /// Appends an aggregate over the selected rows: one JSON text, an array holding each row's `items`
    /// as an array, in no particular order; `[]` when no row matched. A long list then comes back as
    /// one value instead of a row each, which on SQLite spares a copy of every column and a hand-off
    /// from its worker thread per row. (An `order by` in the aggregate costs SQLite a sort through a
    /// temporary b-tree, more than sorting the parsed items.)
    fn push_json_rows(sql: &mut Sql<'_>, items: &str);

    /// The expression for timestamp `column` in microseconds since the epoch (how SQLite stores it).
    fn micros(column: &str) -> String;

    /// Inserts and indexes the search documents of `versions` (distinct digests, none stored yet).
    fn insert_documents(
        &self,
        tx: &mut Self::Tx,
        versions: &[&NewVersion<'_>],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// A mark that moves whenever a write the next search must see may have committed, where the
    /// engine keeps one without asking the database. SQLite: how many transactions that added search
    /// documents this process committed (one serving process per file; other processes' writes are
    /// seen within `ranked::FOREIGN_WRITES_SEEN`). PostgreSQL: while the replica holds its read lease,
    /// the change-counter value its caches cover (`fence.rs`). `None`: the index asks the database
    /// before the search.
    fn documents_committed(&self) -> Option<u64> {
        None
    }

    /// Whether `err` is the unique index on `(server_name, precedence_key)` refusing a row.
    fn is_duplicate_version(err: &StoreError) -> bool;

    /// How a plain list reads the rows changed after `since`.
    fn changed_since_scan(
        &self,
        since: OffsetDateTime,
    ) -> impl Future<Output = Result<ChangedScan, StoreError>> + Send;
}

/// Issue 18: the span of one statement, exported with `serve --otlp-endpoint` (otherwise
/// [`tracing::Span::none`]): `db.system` (`sqlite`, `postgresql`) and the operation (`SELECT`,
/// `INSERT`, …), never the bound values.
pub(crate) fn statement_span(engine: &str, sql: &str) -> tracing::Span {
    if !crate::telemetry::exporting() {
        return tracing::Span::none();
    }
    let system = match engine {
        "PostgreSQL" => "postgresql",
        "SQLite" => "sqlite",
        _ => "other_sql",
    };
    let operation = operation(sql);
    tracing::info_span!(
        "db",
        otel.name = operation,
        otel.kind = "client",
        db.system = system,
        db.system.name = system,
        db.operation.name = operation,
    )
}

/// The statement's leading keyword, upper-cased (`SELECT`, `WITH`, `INSERT`, `BEGIN`, …).
fn operation(sql: &str) -> &'static str {
    let word = sql
        .trim_start()
        .split(|c: char| !c.is_ascii_alphabetic())
        .next()
        .unwrap_or_default();
    for known in [
        "SELECT", "INSERT", "UPDATE", "DELETE", "WITH", "BEGIN", "COMMIT", "ROLLBACK", "CREATE",
        "DROP", "ALTER", "PRAGMA", "ANALYZE", "VACUUM", "LOCK", "NOTIFY", "LISTEN", "SET",
    ] {
        if word.eq_ignore_ascii_case(known) {
            return known;
        }
    }
    "SQL"
}

#[cfg(test)]
mod tests {
    #[test]
    fn operations_are_leading_keywords() {
        assert_eq!(super::operation("  select 1"), "SELECT");
        assert_eq!(
            super::operation("with x as (select 1) select * from x"),
            "WITH"
        );
        assert_eq!(super::operation("insert into t values ($1)"), "INSERT");
        assert_eq!(super::operation("'; drop"), "SQL");
        assert!(super::statement_span("SQLite", "select 1").is_none());
    }
}
