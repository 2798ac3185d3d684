//! Status changes (one version, or every version of a server), written once for both engines.

use std::collections::HashSet;

use super::engine::Engine;
use super::plan::plan_status_change;
use super::rows::{RECORD_COLUMNS, RECORD_WIDTH, record};
use super::sql::{Sql, Values};
use super::write::{apply_latest_moves, stored_versions};
use super::{StatusChange, StatusOutcome, StoreError, now};

/// Changes the status of one version (`Some`) or of all (`None`), then moves the latest flag. Only the
/// rows whose status or message differs are written; a status that stays keeps its change time.
pub(crate) async fn change_status<E: Engine>(
    engine: &E,
    server_name: &str,
    version: Option<&str>,
    change: &StatusChange,
) -> Result<StatusOutcome, StoreError> {
    let mut tx = engine.begin_write().await?;
    let lock = Sql::new(&format!(
        "select name from servers where name = $1{}",
        E::LOCK_ROWS
    ))
    .arg(server_name);
    if engine.fetch(Some(&mut tx), lock).await?.is_empty() {
        return Err(StoreError::NotFound);
    }
    let mut stored = stored_versions(engine, &mut tx, &[server_name])
        .await?
        .remove(server_name)
        .unwrap_or_default();
    let plan = plan_status_change(&mut stored, version, change)?;
    let now = now();
    if !plan.changed.is_empty() {
        let mut sql = Sql::new(
            "update server_versions set status = $1, status_message = $2, \
             status_changed_at = case when status <> $1 then $3 else status_changed_at end, \
             updated_at = $3, changed_at = $3 where id",
        )
        .arg(change.status.as_str())
        .arg(change.message.as_deref())
        .arg(now);
        E::push_in(&mut sql, Values::Int(plan.changed.clone()));
        engine.execute(Some(&mut tx), sql).await?;
    }
    apply_latest_moves(engine, &mut tx, &plan.moves, now).await?;
    let mut sql = Sql::new(&format!(
        "select {RECORD_COLUMNS}, v.id from server_versions v where v.id"
    ));
    E::push_in(&mut sql, Values::Int(plan.addressed.clone()));
    sql.push(" order by v.published_at desc, v.id desc");
    let rows = engine.fetch(Some(&mut tx), sql).await?;
    engine.commit_change(tx).await?;
    let changed: HashSet<i64> = plan.changed.iter().copied().collect();
    let mut outcome = StatusOutcome {
        changed: Vec::new(),
        versions: Vec::with_capacity(rows.len()),
    };
    for mut row in rows {
        let record = record(&mut row)?;
        if changed.contains(&row.int(RECORD_WIDTH)?) {
            outcome.changed.push(record.clone());
        }
        outcome.versions.push(record);
    }
    Ok(outcome)
}
