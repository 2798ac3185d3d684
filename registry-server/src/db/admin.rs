//! Everything besides versions, written once for both engines: API tokens, the audit log, rate-limit
//! windows, namespace signing keys, the mirror's progress, and compatibility policy overrides.

use registry_provenance::key_log::KeyAction;

use super::engine::Engine;
use super::key_log::{self, KeyChange};
use super::rows::{AUDIT_COLUMNS, KEY_COLUMNS, MIRROR_STATE_COLUMNS, TOKEN_COLUMNS};
use super::rows::{all, audit_entry, first, mirror_state, signing_key, token};
use super::sql::Sql;
use super::{
    AuditEntry, AuditQuery, CompatPolicy, MirrorState, PolicyScope, SigningKeyRecord, StoreError,
    TokenRecord, now,
};

/// See [`super::Store::insert_token`].
pub(crate) async fn insert_token<E: Engine>(
    engine: &E,
    token: &TokenRecord,
) -> Result<(), StoreError> {
    let sql = Sql::new(
        "insert into api_tokens (id, secret_sha256, permissions, description, created_at) \
         values ($1, $2, $3, $4, $5)",
    )
    .arg(&token.id)
    .arg(&token.secret_sha256)
    .arg(&token.permissions)
    .arg(token.description.as_deref())
    .arg(token.created_at);
    engine.execute(None, sql).await?;
    Ok(())
}

/// See [`super::Store::find_token`].
pub(crate) async fn find_token<E: Engine>(
    engine: &E,
    secret_sha256: &str,
) -> Result<Option<TokenRecord>, StoreError> {
    let sql = Sql::new(&format!(
        "select {TOKEN_COLUMNS} from api_tokens where secret_sha256 = $1 and revoked_at is null"
    ))
    .arg(secret_sha256);
    first(engine.fetch(None, sql).await?, token)
}

/// See [`super::Store::tokens`].
pub(crate) async fn tokens<E: Engine>(engine: &E) -> Result<Vec<TokenRecord>, StoreError> {
    let sql = Sql::new(&format!(
        "select {TOKEN_COLUMNS} from api_tokens order by created_at, id"
    ));
    all(engine.fetch(None, sql).await?, token)
}

/// See [`super::Store::revoke_token`].
pub(crate) async fn revoke_token<E: Engine>(
    engine: &E,
    id: &str,
) -> Result<Option<TokenRecord>, StoreError> {
    let mut tx = engine.begin_write().await?;
    let sql = Sql::new(&format!(
        "update api_tokens set revoked_at = coalesce(revoked_at, $2) \
         where id = $1 returning {TOKEN_COLUMNS}"
    ))
    .arg(id)
    .arg(now());
    let rows = engine.fetch(Some(&mut tx), sql).await?;
    engine.commit_change(tx).await?;
    first(rows, token)
}

/// See [`super::Store::count_hit`].
pub(crate) async fn count_hit<E: Engine>(
    engine: &E,
    key: &str,
    window_start: i64,
) -> Result<u32, StoreError> {
    // One atomic upsert: concurrent hits from any process each get their own count.
    let sql = Sql::new(
        "insert into rate_limit_windows (key, window_start, hits) values ($1, $2, 1) \
         on conflict (key) do update set \
         hits = case when rate_limit_windows.window_start = excluded.window_start \
         then rate_limit_windows.hits + 1 else 1 end, \
         window_start = excluded.window_start \
         returning hits",
    )
    .arg(key)
    .arg(window_start);
    let hits = first(engine.fetch(None, sql).await?, |row| row.int(0))?.unwrap_or(0);
    Ok(u32::try_from(hits).unwrap_or(u32::MAX))
}

/// Audit text as stored: a NUL (which the database cannot hold) becomes U+FFFD, so the attempt is still
/// recorded.
fn audit_text(text: &str) -> String {
    text.replace('\0', "\u{FFFD}")
}

/// See [`super::Store::insert_audit`].
pub(crate) async fn insert_audit<E: Engine>(
    engine: &E,
    entry: &AuditEntry,
) -> Result<(), StoreError> {
    let optional = |text: &Option<String>| text.as_deref().map(audit_text);
    let sql = Sql::new(
        "insert into audit_log (at, actor, action, server_name, version, remote_addr, status, \
         outcome) values ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .arg(entry.at)
    .arg(optional(&entry.actor))
    .arg(audit_text(&entry.action))
    .arg(optional(&entry.server_name))
    .arg(optional(&entry.version))
    .arg(optional(&entry.remote_addr))
    .arg(i64::from(entry.status))
    .arg(audit_text(&entry.outcome));
    engine.execute(None, sql).await?;
    Ok(())
}

/// See [`super::Store::audit_entries`].
pub(crate) async fn audit_entries<E: Engine>(
    engine: &E,
    query: &AuditQuery,
) -> Result<Vec<AuditEntry>, StoreError> {
    let mut sql = Sql::new(&format!("select {AUDIT_COLUMNS} from audit_log where true"));
    if let Some(name) = &query.server_name {
        sql.push(" and server_name = ").bind(name);
    }
    if let Some(before) = query.before_id {
        sql.push(" and id < ").bind(before);
    }
    if let Some(patterns) = &query.patterns {
        sql.push(" and (false");
        for pattern in patterns {
            match pattern.strip_suffix('*') {
                // Compares characters literally: `%` and `_` in names need no escaping.
                Some(prefix) => {
                    let prefix = sql.param(prefix);
                    sql.push(&format!(
                        " or substr(server_name, 1, length({prefix})) = {prefix}"
                    ));
                }
                None => {
                    sql.push(" or server_name = ").bind(pattern);
                }
            }
        }
        sql.push(")");
    }
    sql.push(" order by id desc limit ")
        .bind(i64::from(query.limit));
    all(engine.fetch(None, sql).await?, audit_entry)
}

/// See [`super::Store::insert_signing_key`].
pub(crate) async fn insert_signing_key<E: Engine>(
    engine: &E,
    key: &SigningKeyRecord,
) -> Result<(), StoreError> {
    let mut tx = engine.begin_write().await?;
    let sql = Sql::new(&format!(
        "insert into signing_keys ({KEY_COLUMNS}) values ($1, $2, $3, $4, $5, $6, $7) \
         on conflict do nothing"
    ))
    .arg(&key.namespace)
    .arg(&key.key_id)
    .arg(&key.algorithm)
    .arg(&key.public_key)
    .arg(key.created_at)
    .arg(key.created_by.as_deref())
    .arg(key.revoked_at);
    let inserted = engine.execute(Some(&mut tx), sql).await?;
    if inserted == 0 {
        engine.commit(tx).await?;
        return Err(StoreError::KeyExists {
            namespace: key.namespace.clone(),
            key_id: key.key_id.clone(),
        });
    }
    let change = KeyChange {
        action: KeyAction::Register,
        key,
        at: key.created_at,
        actor: key.created_by.as_deref(),
    };
    key_log::append(engine, &mut tx, change).await?;
    // Other replicas cache the key list.
    engine.commit_change(tx).await
}

/// See [`super::Store::signing_keys`].
pub(crate) async fn signing_keys<E: Engine>(
    engine: &E,
    namespace: &str,
) -> Result<Vec<SigningKeyRecord>, StoreError> {
    let sql = Sql::new(&format!(
        "select {KEY_COLUMNS} from signing_keys where namespace = $1 order by created_at, key_id"
    ))
    .arg(namespace);
    all(engine.fetch(None, sql).await?, signing_key)
}

/// See [`super::Store::revoke_signing_key`]. Revoking a revoked key changes nothing (and logs nothing).
pub(crate) async fn revoke_signing_key<E: Engine>(
    engine: &E,
    namespace: &str,
    key_id: &str,
    actor: Option<&str>,
) -> Result<Option<SigningKeyRecord>, StoreError> {
    let mut tx = engine.begin_write().await?;
    let at = now();
    let sql = Sql::new(&format!(
        "update signing_keys set revoked_at = $3 \
         where namespace = $1 and key_id = $2 and revoked_at is null returning {KEY_COLUMNS}"
    ))
    .arg(namespace)
    .arg(key_id)
    .arg(at);
    let Some(revoked) = first(engine.fetch(Some(&mut tx), sql).await?, signing_key)? else {
        engine.commit(tx).await?;
        let sql = Sql::new(&format!(
            "select {KEY_COLUMNS} from signing_keys where namespace = $1 and key_id = $2"
        ))
        .arg(namespace)
        .arg(key_id);
        return first(engine.fetch(None, sql).await?, signing_key);
    };
    let change = KeyChange {
        action: KeyAction::Revoke,
        key: &revoked,
        at,
        actor,
    };
    key_log::append(engine, &mut tx, change).await?;
    engine.commit_change(tx).await?;
    Ok(Some(revoked))
}

/// See [`super::Store::mirror_state`].
pub(crate) async fn load_mirror_state<E: Engine>(
    engine: &E,
    upstream: &str,
) -> Result<Option<MirrorState>, StoreError> {
    let sql = Sql::new(&format!(
        "select {MIRROR_STATE_COLUMNS} from mirror_state where upstream = $1"
    ))
    .arg(upstream);
    first(engine.fetch(None, sql).await?, mirror_state)
}

/// See [`super::Store::save_mirror_state`].
pub(crate) async fn save_mirror_state<E: Engine>(
    engine: &E,
    upstream: &str,
    state: &MirrorState,
) -> Result<(), StoreError> {
    let sql = Sql::new(&format!(
        "insert into mirror_state (upstream, {MIRROR_STATE_COLUMNS}, updated_at) \
         values ($1, $2, $3, $4, $5, $6) \
         on conflict (upstream) do update set updated_since = excluded.updated_since, \
         pass_cursor = excluded.pass_cursor, pass_max = excluded.pass_max, \
         pass_started = excluded.pass_started, updated_at = excluded.updated_at"
    ))
    .arg(upstream)
    .arg(state.updated_since.as_deref())
    .arg(state.pass_cursor.as_deref())
    .arg(state.pass_max.as_deref())
    .arg(state.pass_started.as_deref())
    .arg(now());
    engine.execute(None, sql).await?;
    Ok(())
}

/// See [`super::Store::set_compat_policy`].
pub(crate) async fn set_compat_policy<E: Engine>(
    engine: &E,
    scope: &PolicyScope,
    policy: Option<CompatPolicy>,
    actor: Option<&str>,
) -> Result<(), StoreError> {
    let mut tx = engine.begin_write().await?;
    let sql = match policy {
        None => Sql::new("delete from compat_policies where scope_kind = $1 and scope_value = $2")
            .arg(scope.kind())
            .arg(scope.value()),
        Some(policy) => Sql::new(
            "insert into compat_policies (scope_kind, scope_value, policy, updated_at, updated_by) \
             values ($1, $2, $3, $4, $5) on conflict (scope_kind, scope_value) do update set \
             policy = excluded.policy, updated_at = excluded.updated_at, \
             updated_by = excluded.updated_by",
        )
        .arg(scope.kind())
        .arg(scope.value())
        .arg(policy.as_str())
        .arg(now())
        .arg(actor),
    };
    engine.execute(Some(&mut tx), sql).await?;
    // Publishes on every replica must apply the new policy at once.
    engine.commit_change(tx).await
}

/// See [`super::Store::compat_policy_for`].
pub(crate) async fn compat_policy_for<E: Engine>(
    engine: &E,
    server_name: &str,
) -> Result<Option<CompatPolicy>, StoreError> {
    let mut sql = Sql::new(
        "select policy from compat_policies \
         where (scope_kind = 'server' and scope_value = $1)",
    )
    .arg(server_name);
    if let Some((namespace, _)) = server_name.split_once('/') {
        sql.push(" or (scope_kind = 'namespace' and scope_value = ")
            .bind(namespace)
            .push(")");
    }
    // `server` sorts after `namespace`: a server's own override wins.
    sql.push(" order by scope_kind desc limit 1");
    let policy = first(engine.fetch(None, sql).await?, |row| row.text(0))?;
    policy.map(|policy| policy.parse()).transpose()
}

/// See [`super::Store::compat_policies`].
pub(crate) async fn compat_policies<E: Engine>(
    engine: &E,
) -> Result<Vec<(PolicyScope, CompatPolicy)>, StoreError> {
    let sql = Sql::new(
        "select scope_kind, scope_value, policy from compat_policies \
         order by scope_kind, scope_value",
    );
    all(engine.fetch(None, sql).await?, |row| {
        let value = row.text(1)?;
        let scope = match row.text(0)?.as_str() {
            "namespace" => PolicyScope::Namespace(value),
            "server" => PolicyScope::Server(value),
            other => {
                return Err(StoreError::Corrupt(format!(
                    "unknown policy scope `{other}`"
                )));
            }
        };
        Ok((scope, row.text(2)?.parse()?))
    })
}
