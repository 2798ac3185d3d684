//! The security review stored with each version at publish (issue 17), written once for both engines.

use super::engine::Engine;
use super::read::{push_deleted, push_version};
use super::rows::first;
use super::sql::Sql;
use super::{StoreError, VersionSelector};

/// See [`super::Store::review`].
pub(crate) async fn review<E: Engine>(
    engine: &E,
    server_name: &str,
    version: &VersionSelector,
    include_deleted: bool,
) -> Result<Option<(String, Option<String>)>, StoreError> {
    let mut sql =
        Sql::new("select v.manifest, v.review from server_versions v where v.server_name = $1")
            .arg(server_name);
    push_version(&mut sql, version);
    push_deleted(&mut sql, include_deleted);
    first(engine.fetch(None, sql).await?, |row| {
        Ok((row.text(0)?, row.opt_text(1)?))
    })
}
