//! Publisher API tokens and permissions.
//!
//! An operator creates a token with `registry-server token create --publish 'io.github.alice/*'`; it is
//! printed once and only its SHA-256 is stored. Clients send it as `Authorization: Bearer <token>`.
//! Permission patterns follow the official registry: `*` matches every name, a trailing `*` matches by
//! prefix, anything else must match exactly.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::db::{TokenRecord, now};
use crate::error::ApiError;
use crate::state::AppState;

/// Prefix of every token this registry issues, so leaked tokens are easy to recognise and scan for.
pub const TOKEN_PREFIX: &str = "mcpr_";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Publish new versions (and change their status).
    Publish,
    /// Moderate: change the status of any version the pattern covers.
    Edit,
}

/// One grant: an action on the server names a pattern matches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Permission {
    pub action: Action,
    pub resource: String,
}

impl Permission {
    pub fn new(action: Action, resource: impl Into<String>) -> Self {
        Self {
            action,
            resource: resource.into(),
        }
    }

    /// Whether this grant covers `action` on `server_name`.
    pub fn allows(&self, action: Action, server_name: &str) -> bool {
        self.action == action && pattern_matches(&self.resource, server_name)
    }
}

/// `*` matches everything; `prefix*` matches names starting with `prefix`; anything else is exact.
pub fn pattern_matches(pattern: &str, server_name: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => server_name.starts_with(prefix),
        None => pattern == server_name,
    }
}

/// Checks a pattern an operator typed, so a typo cannot grant more than intended.
pub fn check_pattern(pattern: &str) -> Result<(), String> {
    if pattern.is_empty() {
        return Err("a permission pattern must not be empty".to_owned());
    }
    if pattern[..pattern.len() - 1].contains('*') {
        return Err(format!(
            "pattern `{pattern}`: `*` is only allowed at the end (e.g. `io.github.alice/*`)"
        ));
    }
    if pattern.chars().any(char::is_whitespace) {
        return Err(format!("pattern `{pattern}` must not contain whitespace"));
    }
    Ok(())
}

/// A freshly created token: the secret (shown once) and what is stored.
#[derive(Debug)]
pub struct IssuedToken {
    pub secret: String,
    pub record: TokenRecord,
}

/// Makes a new random token with these permissions.
pub fn issue_token(
    permissions: &[Permission],
    description: Option<String>,
) -> anyhow::Result<IssuedToken> {
    let mut random = [0u8; 32];
    getrandom::fill(&mut random)
        .map_err(|err| anyhow::anyhow!("no system randomness for the token: {err}"))?;
    let secret = format!("{TOKEN_PREFIX}{}", hex::encode(random));
    let record = TokenRecord {
        id: hex::encode(&random[..6]),
        secret_sha256: hash_secret(&secret),
        permissions: serde_json::to_string(permissions)?,
        description,
        created_at: now(),
        revoked_at: None,
    };
    Ok(IssuedToken { secret, record })
}

/// Tokens are 256 random bits, so a plain SHA-256 is enough to make a stolen table useless.
pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// The authenticated caller of a write endpoint.
#[derive(Debug, Clone)]
pub struct Publisher {
    pub token_id: String,
    pub permissions: Vec<Permission>,
}

impl Publisher {
    pub fn can(&self, action: Action, server_name: &str) -> bool {
        self.permissions
            .iter()
            .any(|permission| permission.allows(action, server_name))
    }

    /// The patterns granted for `action`, for error messages.
    pub fn patterns(&self, action: Action) -> Vec<&str> {
        self.permissions
            .iter()
            .filter(|permission| permission.action == action)
            .map(|permission| permission.resource.as_str())
            .collect()
    }

    /// 403 unless the caller may publish `server_name`.
    pub fn require_publish(&self, server_name: &str) -> Result<(), ApiError> {
        if self.can(Action::Publish, server_name) {
            return Ok(());
        }
        Err(ApiError::Forbidden(format!(
            "You do not have permission to publish this server. You have permission to publish: {}. Attempting to publish: {server_name}",
            describe(&self.patterns(Action::Publish))
        )))
    }

    /// 403 unless the caller holds `edit` on `server_name` (or on a pattern such as `ns/*`).
    pub fn require_edit(&self, server_name: &str) -> Result<(), ApiError> {
        if self.can(Action::Edit, server_name) {
            return Ok(());
        }
        Err(ApiError::Forbidden(format!(
            "You do not have edit permission for {server_name}. You have permission to edit: {}",
            describe(&self.patterns(Action::Edit))
        )))
    }

    /// 403 unless the caller may publish or edit `server_name` (status changes).
    pub fn require_publish_or_edit(&self, server_name: &str) -> Result<(), ApiError> {
        if self.can(Action::Publish, server_name) || self.can(Action::Edit, server_name) {
            return Ok(());
        }
        Err(ApiError::Forbidden(format!(
            "You do not have publish or edit permissions for this server ({server_name}). You have permission to publish: {}; to edit: {}",
            describe(&self.patterns(Action::Publish)),
            describe(&self.patterns(Action::Edit))
        )))
    }
}

fn describe(patterns: &[&str]) -> String {
    if patterns.is_empty() {
        "nothing".to_owned()
    } else {
        patterns.join(", ")
    }
}

impl FromRequestParts<AppState> for Publisher {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let header_value = parts
            .headers
            .get(header::AUTHORIZATION)
            .ok_or_else(|| {
                ApiError::Unauthorized(
                    "Missing Authorization header. Expected 'Bearer <token>'".to_owned(),
                )
            })?
            .to_str()
            .map_err(|_| {
                ApiError::Unauthorized("Authorization header is not valid text".to_owned())
            })?;
        let token = header_value
            .strip_prefix("Bearer ")
            .or_else(|| header_value.strip_prefix("bearer "))
            .map(str::trim)
            .filter(|token| !token.is_empty())
            .ok_or_else(|| {
                ApiError::Unauthorized(
                    "Invalid Authorization header format. Expected 'Bearer <token>'".to_owned(),
                )
            })?;
        // A registry JWT from an `/auth/*` exchange: verified by signature, no database lookup.
        if !token.starts_with(TOKEN_PREFIX) && crate::auth_exchange::jwt::looks_like_jwt(token) {
            let claims = state
                .config
                .auth
                .key
                .verify(token, crate::auth_exchange::now_unix())
                .map_err(|reason| {
                    ApiError::Unauthorized(format!("Invalid registry token: {reason}"))
                })?;
            let token_id = format!("{}:{}", claims.auth_method, claims.auth_method_sub);
            if let Some(audit) = parts.extensions.get::<crate::audit::AuditSlot>() {
                audit.actor(format!("jwt:{token_id}"));
            }
            return Ok(Self {
                token_id,
                permissions: claims.permissions,
            });
        }
        let record = state
            .store
            .find_token(&hash_secret(token))
            .await?
            .ok_or_else(|| {
                ApiError::Unauthorized("Invalid, unknown or revoked token".to_owned())
            })?;
        let permissions: Vec<Permission> =
            serde_json::from_str(&record.permissions).map_err(|err| {
                anyhow::anyhow!("token {} has unreadable permissions: {err}", record.id)
            })?;
        if let Some(audit) = parts.extensions.get::<crate::audit::AuditSlot>() {
            audit.actor(format!("token:{}", record.id));
        }
        Ok(Self {
            token_id: record.id,
            permissions,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_like_the_official_registry() {
        assert!(pattern_matches("*", "io.github.bob/x"));
        assert!(pattern_matches(
            "io.github.alice/*",
            "io.github.alice/weather"
        ));
        assert!(!pattern_matches("io.github.alice/*", "io.github.bob/x"));
        assert!(!pattern_matches("io.github.alice/*", "io.github.alice2/x"));
        assert!(pattern_matches("com.example.*", "com.example.api/x"));
        assert!(pattern_matches(
            "io.github.alice/weather",
            "io.github.alice/weather"
        ));
        assert!(!pattern_matches(
            "io.github.alice/weather",
            "io.github.alice/weather2"
        ));
    }

    #[test]
    fn publisher_checks_actions_separately() {
        let publisher = Publisher {
            token_id: "t".into(),
            permissions: vec![
                Permission::new(Action::Publish, "io.github.alice/*"),
                Permission::new(Action::Edit, "io.github.bob/x"),
            ],
        };
        assert!(publisher.require_publish("io.github.alice/a").is_ok());
        assert!(publisher.require_publish("io.github.bob/x").is_err());
        assert!(publisher.require_publish_or_edit("io.github.bob/x").is_ok());
        assert!(
            publisher
                .require_publish_or_edit("io.github.bob/y")
                .is_err()
        );
    }

    #[test]
    fn patterns_are_checked() {
        assert!(check_pattern("io.github.alice/*").is_ok());
        assert!(check_pattern("*").is_ok());
        assert!(check_pattern("io.*.alice/*").is_err());
        assert!(check_pattern("").is_err());
    }

    #[test]
    fn tokens_are_random_and_stored_hashed() {
        let a = issue_token(&[Permission::new(Action::Publish, "*")], None).unwrap();
        let b = issue_token(&[Permission::new(Action::Publish, "*")], None).unwrap();
        assert_ne!(a.secret, b.secret);
        assert!(a.secret.starts_with(TOKEN_PREFIX));
        assert_eq!(a.record.secret_sha256, hash_secret(&a.secret));
        assert!(
            !a.record
                .secret_sha256
                .contains(&a.secret[TOKEN_PREFIX.len()..])
        );
    }
}
