//! The engine-neutral statement and row layer. Flows write a statement once ([`Sql`], with `$n`
//! placeholders, which both engines accept) and bind engine-neutral values ([`Arg`]); each engine
//! encodes them (timestamps as `timestamptz` or as INTEGER microseconds, lists as arrays or as JSON
//! arrays). Rows come back as engine-neutral cells ([`Row`]), which `rows.rs` maps to records.

use std::borrow::Cow;

use sqlx::query::Query;
use sqlx::{AssertSqlSafe, ColumnIndex, Database, Decode, Encode, Executor, IntoArguments, Pool};
use sqlx::{Transaction, Type, TypeInfo, ValueRef as _};
use time::OffsetDateTime;
use tracing::Instrument as _;

use super::StoreError;

/// One bound value.
#[derive(Debug, Clone)]
pub(crate) enum Arg<'a> {
    Text(Cow<'a, str>),
    OptText(Option<Cow<'a, str>>),
    Int(i64),
    Bool(bool),
    Time(OffsetDateTime),
    OptTime(Option<OffsetDateTime>),
    /// A list: an array on PostgreSQL, a JSON array on SQLite.
    List(Values<'a>),
}

impl<'a> From<&'a str> for Arg<'a> {
    fn from(text: &'a str) -> Self {
        Self::Text(Cow::Borrowed(text))
    }
}

impl<'a> From<&'a String> for Arg<'a> {
    fn from(text: &'a String) -> Self {
        Self::Text(Cow::Borrowed(text))
    }
}

impl From<String> for Arg<'_> {
    fn from(text: String) -> Self {
        Self::Text(Cow::Owned(text))
    }
}

impl<'a> From<Option<&'a str>> for Arg<'a> {
    fn from(text: Option<&'a str>) -> Self {
        Self::OptText(text.map(Cow::Borrowed))
    }
}

impl From<Option<String>> for Arg<'_> {
    fn from(text: Option<String>) -> Self {
        Self::OptText(text.map(Cow::Owned))
    }
}

impl From<i64> for Arg<'_> {
    fn from(value: i64) -> Self {
        Self::Int(value)
    }
}

impl From<bool> for Arg<'_> {
    fn from(value: bool) -> Self {
        Self::Bool(value)
    }
}

impl From<OffsetDateTime> for Arg<'_> {
    fn from(value: OffsetDateTime) -> Self {
        Self::Time(value)
    }
}

impl From<Option<OffsetDateTime>> for Arg<'_> {
    fn from(value: Option<OffsetDateTime>) -> Self {
        Self::OptTime(value)
    }
}

impl<'a> From<Values<'a>> for Arg<'a> {
    fn from(values: Values<'a>) -> Self {
        Self::List(values)
    }
}

/// A column of values of one type: a list parameter, or a column of rows bound together.
#[derive(Debug, Clone)]
pub(crate) enum Values<'a> {
    Text(Vec<Cow<'a, str>>),
    OptText(Vec<Option<Cow<'a, str>>>),
    /// JSON text, stored as `jsonb` on PostgreSQL.
    Json(Vec<Cow<'a, str>>),
    Int(Vec<i64>),
    Bool(Vec<bool>),
    Time(Vec<OffsetDateTime>),
}

impl<'a> Values<'a> {
    /// Borrowed texts.
    pub(crate) fn texts(texts: impl IntoIterator<Item = &'a str>) -> Self {
        Self::Text(texts.into_iter().map(Cow::Borrowed).collect())
    }

    pub(crate) fn len(&self) -> usize {
        match self {
            Self::Text(values) | Self::Json(values) => values.len(),
            Self::OptText(values) => values.len(),
            Self::Int(values) => values.len(),
            Self::Bool(values) => values.len(),
            Self::Time(values) => values.len(),
        }
    }

    /// The value at `index` as a single argument (`None` past the end).
    pub(crate) fn get(&self, index: usize) -> Option<Arg<'a>> {
        Some(match self {
            Self::Text(values) | Self::Json(values) => Arg::Text(values.get(index)?.clone()),
            Self::OptText(values) => Arg::OptText(values.get(index)?.clone()),
            Self::Int(values) => Arg::Int(*values.get(index)?),
            Self::Bool(values) => Arg::Bool(*values.get(index)?),
            Self::Time(values) => Arg::Time(*values.get(index)?),
        })
    }

    /// The texts, for the NUL check.
    fn strings(&self) -> Box<dyn Iterator<Item = &str> + '_> {
        match self {
            Self::Text(values) | Self::Json(values) => Box::new(values.iter().map(AsRef::as_ref)),
            Self::OptText(values) => Box::new(values.iter().flatten().map(AsRef::as_ref)),
            Self::Int(_) | Self::Bool(_) | Self::Time(_) => Box::new(std::iter::empty()),
        }
    }
}

/// Named columns of rows bound together (see `Engine::push_rows`); every column has one value per row.
pub(crate) type Columns<'a> = Vec<(&'static str, Values<'a>)>;

/// A statement: SQL text with `$n` placeholders and the values bound to them.
#[derive(Debug, Default)]
pub(crate) struct Sql<'a> {
    text: String,
    args: Vec<Arg<'a>>,
}

impl<'a> Sql<'a> {
    pub(crate) fn new(text: &str) -> Self {
        Self {
            text: text.to_owned(),
            args: Vec::new(),
        }
    }

    /// Binds the value of the next `$n` already written in the text.
    pub(crate) fn arg(mut self, arg: impl Into<Arg<'a>>) -> Self {
        self.args.push(arg.into());
        self
    }

    /// Appends SQL text.
    pub(crate) fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    /// Appends a placeholder for `arg` (`$n`, numbered in binding order).
    pub(crate) fn bind(&mut self, arg: impl Into<Arg<'a>>) -> &mut Self {
        let placeholder = self.param(arg);
        self.text.push_str(&placeholder);
        self
    }

    /// Binds `arg` without writing anything, and returns its placeholder, for text that uses it
    /// several times.
    pub(crate) fn param(&mut self, arg: impl Into<Arg<'a>>) -> String {
        self.args.push(arg.into());
        format!("${}", self.args.len())
    }

    /// Refuses text that neither engine can hold the same way: PostgreSQL text cannot contain NUL
    /// (SQLite could, so both refuse it, and the engines answer alike).
    fn check(&self) -> Result<(), StoreError> {
        let texts = self
            .args
            .iter()
            .flat_map(|arg| -> Box<dyn Iterator<Item = &str>> {
                match arg {
                    Arg::Text(text) => Box::new(std::iter::once(text.as_ref())),
                    Arg::OptText(text) => Box::new(text.as_deref().into_iter()),
                    Arg::List(values) => values.strings(),
                    Arg::Int(_) | Arg::Bool(_) | Arg::Time(_) | Arg::OptTime(_) => {
                        Box::new(std::iter::empty())
                    }
                }
            });
        for text in texts {
            if text.contains('\0') {
                return Err(StoreError::InvalidInput(
                    "text must not contain the NUL character (U+0000)".to_owned(),
                ));
            }
        }
        Ok(())
    }
}

/// How one sqlx driver encodes what the engines store differently (timestamps, lists) and decodes
/// the types only it returns; everything else is bound and read alike, here.
pub(crate) trait Dialect: Database {
    /// Whether statements are sent with `?` placeholders where their `$n` allow it (see
    /// [`positional`]).
    const POSITIONAL_PLACEHOLDERS: bool = false;

    fn bind_time(
        query: Query<'_, Self, Self::Arguments>,
        at: Option<OffsetDateTime>,
    ) -> Query<'_, Self, Self::Arguments>;

    fn bind_list<'q>(
        query: Query<'q, Self, Self::Arguments>,
        values: &Values<'_>,
    ) -> Query<'q, Self, Self::Arguments>;

    /// A cell of a type the common reader does not know (by its type name).
    fn cell(row: &Self::Row, index: usize, type_name: &str) -> Result<Cell, StoreError>;
}

/// `text` with its placeholders written `?` when they are `$1` to `$count`, each once and in order
/// (so binding by position binds the same values); `None` otherwise. Quoted text and comments are
/// left alone. SQLite keeps named placeholders in a list that sqlx's bind and SQLite's parser each
/// scan per placeholder: a batch of 12,000 values (an import's insert) spent a sixth of the import's
/// CPU in `sqlite3_bind_parameter_name`.
fn positional(text: &str, count: usize) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let (mut next, mut copied, mut at) = (1, 0, 0);
    while let Some(&byte) = bytes.get(at) {
        let rest = bytes.get(at + 1..).unwrap_or_default();
        at = match byte {
            b'\'' | b'"' => rest
                .iter()
                .position(|&b| b == byte)
                .map_or(bytes.len(), |end| at + end + 2),
            b'-' if rest.first() == Some(&b'-') => rest
                .iter()
                .position(|&b| b == b'\n')
                .map_or(bytes.len(), |end| at + end + 2),
            b'/' if rest.first() == Some(&b'*') => rest
                .windows(2)
                .skip(1)
                .position(|pair| pair == b"*/")
                .map_or(bytes.len(), |end| at + end + 4),
            b'$' => {
                let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
                let in_name = at > 0
                    && bytes
                        .get(at - 1)
                        .is_some_and(|&b| b.is_ascii_alphanumeric() || b == b'_' || b == b'$');
                if digits == 0 || in_name {
                    at + 1
                } else {
                    let number: usize = text.get(at + 1..at + 1 + digits)?.parse().ok()?;
                    if number != next {
                        return None;
                    }
                    next += 1;
                    out.push_str(text.get(copied..at)?);
                    out.push('?');
                    copied = at + 1 + digits;
                    copied
                }
            }
            _ => at + 1,
        };
    }
    if next != count + 1 {
        return None;
    }
    out.push_str(text.get(copied..)?);
    Some(out)
}

/// A sqlx query for `sql`.
fn query<DB>(sql: &Sql<'_>) -> Result<Query<'static, DB, DB::Arguments>, StoreError>
where
    DB: Dialect,
    for<'t> &'t str: Encode<'t, DB> + Type<DB>,
    for<'t> Option<&'t str>: Encode<'t, DB> + Type<DB>,
    i64: for<'t> Encode<'t, DB> + Type<DB>,
    bool: for<'t> Encode<'t, DB> + Type<DB>,
{
    sql.check()?;
    let text = DB::POSITIONAL_PLACEHOLDERS
        .then(|| positional(&sql.text, sql.args.len()))
        .flatten()
        .unwrap_or_else(|| sql.text.clone());
    let mut query = sqlx::query(AssertSqlSafe(text));
    for arg in &sql.args {
        query = match arg {
            Arg::Text(text) => query.bind(text.as_ref()),
            Arg::OptText(text) => query.bind(text.as_deref()),
            Arg::Int(value) => query.bind(*value),
            Arg::Bool(value) => query.bind(*value),
            Arg::Time(at) => DB::bind_time(query, Some(*at)),
            Arg::OptTime(at) => DB::bind_time(query, *at),
            Arg::List(values) => DB::bind_list(query, values),
        };
    }
    Ok(query)
}

/// Runs `sql` in `tx`, or on a pooled connection, and reads its rows.
pub(crate) async fn fetch<DB>(
    pool: &Pool<DB>,
    tx: Option<&mut Transaction<'static, DB>>,
    sql: &Sql<'_>,
) -> Result<Vec<Row>, StoreError>
where
    DB: Dialect,
    DB::Arguments: IntoArguments<DB>,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'t> &'t str: Encode<'t, DB> + Type<DB>,
    for<'t> Option<&'t str>: Encode<'t, DB> + Type<DB>,
    i64: for<'t> Encode<'t, DB> + Type<DB> + for<'r> Decode<'r, DB>,
    bool: for<'t> Encode<'t, DB> + Type<DB> + for<'r> Decode<'r, DB>,
    i32: for<'r> Decode<'r, DB> + Type<DB>,
    String: for<'r> Decode<'r, DB> + Type<DB>,
    usize: ColumnIndex<DB::Row>,
{
    let query = query::<DB>(sql)?;
    // Issue 18: one span per statement when traces are exported (see `engine::statement_span`).
    let span = super::engine::statement_span(DB::NAME, &sql.text);
    let rows = match tx {
        Some(tx) => query.fetch_all(&mut **tx).instrument(span).await?,
        None => query.fetch_all(pool).instrument(span).await?,
    };
    rows.iter().map(|row| Row::read(row, DB::cell)).collect()
}

/// Runs `sql` in `tx`, or on a pooled connection; returns how many rows it changed.
pub(crate) async fn execute<DB>(
    pool: &Pool<DB>,
    tx: Option<&mut Transaction<'static, DB>>,
    sql: &Sql<'_>,
) -> Result<u64, StoreError>
where
    DB: Dialect,
    DB::Arguments: IntoArguments<DB>,
    DB::QueryResult: RowsAffected,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'t> &'t str: Encode<'t, DB> + Type<DB>,
    for<'t> Option<&'t str>: Encode<'t, DB> + Type<DB>,
    i64: for<'t> Encode<'t, DB> + Type<DB>,
    bool: for<'t> Encode<'t, DB> + Type<DB>,
{
    let query = query::<DB>(sql)?;
    let span = super::engine::statement_span(DB::NAME, &sql.text);
    let done = match tx {
        Some(tx) => query.execute(&mut **tx).instrument(span).await?,
        None => query.execute(pool).instrument(span).await?,
    };
    Ok(done.rows_affected())
}

/// The number of rows a statement changed (sqlx has no trait for it).
pub(crate) trait RowsAffected {
    fn rows_affected(&self) -> u64;
}

/// One value of a result row.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) enum Cell {
    #[default]
    Null,
    Int(i64),
    Text(String),
    Bool(bool),
    /// A `timestamptz` (SQLite's timestamps arrive as INTEGER microseconds).
    Time(OffsetDateTime),
}

/// A result row, engine-neutral: values are read (and moved out) by position.
#[derive(Debug)]
pub(crate) struct Row(Vec<Cell>);

impl Row {
    /// Reads a sqlx row: the types every engine returns alike here, the others (`timestamptz`) by
    /// `engine_cell` from the column's type name.
    fn read<R>(
        row: &R,
        engine_cell: impl Fn(&R, usize, &str) -> Result<Cell, StoreError>,
    ) -> Result<Self, StoreError>
    where
        R: sqlx::Row,
        usize: ColumnIndex<R>,
        String: for<'r> Decode<'r, R::Database> + Type<R::Database>,
        i64: for<'r> Decode<'r, R::Database> + Type<R::Database>,
        i32: for<'r> Decode<'r, R::Database> + Type<R::Database>,
        bool: for<'r> Decode<'r, R::Database> + Type<R::Database>,
    {
        (0..row.len())
            .map(|index| {
                let raw = row.try_get_raw(index)?;
                if raw.is_null() {
                    return Ok(Cell::Null);
                }
                let type_info = raw.type_info();
                Ok(match type_info.name() {
                    "TEXT" | "VARCHAR" | "BPCHAR" | "NAME" => Cell::Text(row.try_get(index)?),
                    "INT8" | "INTEGER" => Cell::Int(row.try_get(index)?),
                    "INT4" => Cell::Int(i64::from(row.try_get::<i32, _>(index)?)),
                    "BOOL" | "BOOLEAN" => Cell::Bool(row.try_get(index)?),
                    other => engine_cell(row, index, other)?,
                })
            })
            .collect::<Result<_, StoreError>>()
            .map(Self)
    }

    fn take(&mut self, index: usize) -> Result<Cell, StoreError> {
        self.0
            .get_mut(index)
            .map(std::mem::take)
            .ok_or_else(|| StoreError::Corrupt(format!("no column {index} in a result row")))
    }

    fn unexpected(index: usize, cell: &Cell, wanted: &str) -> StoreError {
        StoreError::Corrupt(format!("column {index}: expected {wanted}, found {cell:?}"))
    }

    pub(crate) fn opt_text(&mut self, index: usize) -> Result<Option<String>, StoreError> {
        match self.take(index)? {
            Cell::Null => Ok(None),
            Cell::Text(text) => Ok(Some(text)),
            other => Err(Self::unexpected(index, &other, "text")),
        }
    }

    pub(crate) fn text(&mut self, index: usize) -> Result<String, StoreError> {
        self.opt_text(index)?
            .ok_or_else(|| StoreError::Corrupt(format!("column {index}: unexpected null")))
    }

    pub(crate) fn int(&mut self, index: usize) -> Result<i64, StoreError> {
        match self.take(index)? {
            Cell::Int(value) => Ok(value),
            other => Err(Self::unexpected(index, &other, "an integer")),
        }
    }

    /// A boolean (SQLite stores 0 and 1).
    pub(crate) fn bool(&mut self, index: usize) -> Result<bool, StoreError> {
        match self.take(index)? {
            Cell::Bool(value) => Ok(value),
            Cell::Int(value) => Ok(value != 0),
            other => Err(Self::unexpected(index, &other, "a boolean")),
        }
    }

    /// A timestamp (SQLite stores microseconds since the epoch).
    pub(crate) fn opt_time(&mut self, index: usize) -> Result<Option<OffsetDateTime>, StoreError> {
        match self.take(index)? {
            Cell::Null => Ok(None),
            Cell::Time(at) => Ok(Some(at)),
            Cell::Int(micros) => from_micros(micros).map(Some),
            other => Err(Self::unexpected(index, &other, "a timestamp")),
        }
    }

    pub(crate) fn time(&mut self, index: usize) -> Result<OffsetDateTime, StoreError> {
        self.opt_time(index)?
            .ok_or_else(|| StoreError::Corrupt(format!("column {index}: unexpected null")))
    }
}

/// Microseconds since the epoch, as SQLite stores timestamps.
pub(crate) fn to_micros(at: OffsetDateTime) -> i64 {
    // Saturates only for dates beyond ±292,000 years, which `time` cannot produce from `now()`.
    i64::try_from(at.unix_timestamp_nanos() / 1_000).unwrap_or(i64::MAX)
}

pub(crate) fn from_micros(micros: i64) -> Result<OffsetDateTime, StoreError> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1_000)
        .map_err(|err| StoreError::Corrupt(format!("timestamp {micros}: {err}")))
}

#[cfg(test)]
mod tests {
    use super::positional;

    #[test]
    fn placeholders_in_order_become_positional() {
        let text =
            "select a from t where b = $1 and c in (select value from json_each($2)) limit $3";
        assert_eq!(
            positional(text, 3).as_deref(),
            Some("select a from t where b = ? and c in (select value from json_each(?)) limit ?")
        );
        let many = (1..=12)
            .map(|n| format!("${n}"))
            .collect::<Vec<_>>()
            .join(",");
        assert_eq!(positional(&many, 12), Some(["?"; 12].join(",")));
    }

    #[test]
    fn quoted_text_and_comments_are_left_alone() {
        let text = "select json_extract(m, '$.name'), \"$1\" -- $9 here\nfrom t where x = $1 and y = 'it''s $2'";
        assert_eq!(
            positional(text, 1).as_deref(),
            Some(
                "select json_extract(m, '$.name'), \"$1\" -- $9 here\nfrom t where x = ? and y = 'it''s $2'"
            )
        );
        assert_eq!(
            positional("select a$1 from t", 0).as_deref(),
            Some("select a$1 from t")
        );
        assert_eq!(
            positional("select /* $1 */ $1, $2 /**/ from t", 2).as_deref(),
            Some("select /* $1 */ ?, ? /**/ from t")
        );
    }

    #[test]
    fn reused_or_unordered_placeholders_stay_named() {
        assert_eq!(positional("select $1, $1", 1), None);
        assert_eq!(positional("select $2, $1", 2), None);
        assert_eq!(positional("select $1", 2), None);
        assert_eq!(positional("select $1, $2", 1), None);
    }
}
