//! A small blocking client for the registry API (`/v0.1`) and our `/v0.1/x/dev.mcp-reg` extensions.
//!
//! Every failure becomes a one-line [`UserError`] with a hint: the CLI's commands only decide what to
//! show. Error bodies are RFC 9457 problem+json (`detail` + `errors[]`); the official spec's
//! `{"error": "…"}` form is understood too.

use std::fmt::Write as _;
use std::time::Duration;

use registry_schema::compat::Report;
use reqwest::StatusCode;
use reqwest::blocking::{Client as Http, RequestBuilder, Response};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::UserError;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Key of the official registry metadata inside a `ServerResponse`'s `_meta`.
pub const OFFICIAL_META: &str = "io.modelcontextprotocol.registry/official";

/// One version as the registry serves it: the publisher's server.json plus the registry's metadata.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ServerResponse {
    pub server: Value,
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Value>,
}

/// The registry's metadata about a version.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Official {
    pub status: Option<String>,
    pub status_message: Option<String>,
    pub published_at: Option<String>,
    pub is_latest: bool,
}

impl ServerResponse {
    pub fn name(&self) -> &str {
        self.server["name"].as_str().unwrap_or_default()
    }

    pub fn version(&self) -> &str {
        self.server["version"].as_str().unwrap_or_default()
    }

    pub fn description(&self) -> &str {
        self.server["description"].as_str().unwrap_or_default()
    }

    /// The registry's note that this version ships a break its number does not announce (published
    /// under an `advise` policy or with `--accept-breaking`): one sentence, or `None`.
    pub fn unannounced_break(&self) -> Option<String> {
        let compat = self.meta.as_ref()?.get("dev.mcp-reg/compat")?;
        if compat["breaking"] != Value::Bool(true) {
            return None;
        }
        let how = match compat["how"].as_str() {
            Some("accepted") => "its publisher accepted the break",
            _ => "the registry only advises on compatibility here",
        };
        let bump = compat["requiredBump"].as_str().unwrap_or("major");
        Some(format!(
            "{} {} breaks compatibility although its version number does not say so (it needs a {bump} bump; {how})",
            self.name(),
            self.version()
        ))
    }

    pub fn official(&self) -> Official {
        self.meta
            .as_ref()
            .and_then(|meta| meta.get(OFFICIAL_META))
            .and_then(|o| Official::deserialize(o).ok())
            .unwrap_or_default()
    }
}

/// A signing key registered for a namespace.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SigningKey {
    pub namespace: String,
    pub key_id: String,
    pub algorithm: String,
    pub public_key: String,
    pub created_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<String>,
}

/// `GET …/namespaces/{ns}/key-log`.
#[derive(Debug, Clone, Deserialize)]
pub struct KeyLog {
    pub entries: Vec<registry_provenance::key_log::KeyLogEntry>,
}

/// A page of `GET /servers` or the list of `GET /servers/{name}/versions`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ServerList {
    pub servers: Vec<ServerResponse>,
    #[serde(default)]
    pub metadata: ListMetadata,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListMetadata {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
    #[serde(default)]
    pub count: usize,
}

/// Filters of `GET /servers`.
#[derive(Debug, Clone, Default)]
pub struct ListQuery<'a> {
    pub search: Option<&'a str>,
    pub limit: Option<u32>,
    pub registry_type: Option<&'a str>,
    pub transport: Option<&'a str>,
    /// `latest` keeps one row per server.
    pub version: Option<&'a str>,
    pub cursor: Option<&'a str>,
}

/// The answer to a publish.
#[derive(Debug)]
pub enum Published {
    Accepted(ServerResponse),
    /// 409 from the compatibility gate: the problem's `detail` and the report it carried.
    Refused {
        detail: String,
        report: Box<Report>,
    },
}

/// `{"updatedCount", "servers"}` of the all-versions status change.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusChanged {
    pub updated_count: usize,
    pub servers: Vec<ServerResponse>,
}

/// The registry at one base URL, optionally with a publish token.
pub struct Client {
    base: reqwest::Url,
    http: Http,
    token: Option<String>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the token.
        f.debug_struct("Client")
            .field("base", &self.base.as_str())
            .finish_non_exhaustive()
    }
}

impl Client {
    pub fn new(base: &str, token: Option<String>) -> anyhow::Result<Self> {
        let mut url = reqwest::Url::parse(base).map_err(|err| {
            UserError::new(format!("`{base}` is not a registry URL: {err}")).with_hint(
                "pass --registry http(s)://HOST[:PORT], e.g. --registry http://127.0.0.1:8080",
            )
        })?;
        if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
            return Err(UserError::new(format!("`{base}` is not an http(s) URL"))
                .with_hint("pass --registry http(s)://HOST[:PORT]")
                .into());
        }
        url.set_query(None);
        url.set_fragment(None);
        // reqwest is built without a default TLS provider (rustls on ring, shared with probe).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = Http::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .user_agent(concat!("mcp-reg/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            base: url,
            http,
            token,
        })
    }

    pub fn base(&self) -> &str {
        self.base.as_str().trim_end_matches('/')
    }

    /// `base` + path segments, each percent-encoded (a server name's `/` becomes `%2F`).
    pub fn url(&self, segments: &[&str]) -> reqwest::Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty();
            path.extend(segments);
        }
        url
    }

    fn version_url(&self, name: &str, version: &str, tail: &[&str]) -> reqwest::Url {
        let mut segments = vec![
            "v0.1",
            "x",
            "dev.mcp-reg",
            "servers",
            name,
            "versions",
            version,
        ];
        if tail.is_empty() {
            segments.drain(1..3);
        }
        segments.extend(tail);
        self.url(&segments)
    }

    /// The public URL of a version (what `publish` prints).
    pub fn version_link(&self, name: &str, version: &str) -> String {
        self.version_url(name, version, &[]).to_string()
    }

    pub fn list_servers(&self, query: &ListQuery<'_>) -> anyhow::Result<ServerList> {
        let mut url = self.url(&["v0.1", "servers"]);
        {
            let mut pairs = url.query_pairs_mut();
            let limit = query.limit.map(|l| l.to_string());
            for (key, value) in [
                ("search", query.search),
                ("limit", limit.as_deref()),
                ("registry_type", query.registry_type),
                ("transport", query.transport),
                ("version", query.version),
                ("cursor", query.cursor),
            ] {
                if let Some(value) = value {
                    pairs.append_pair(key, value);
                }
            }
        }
        if url.query() == Some("") {
            url.set_query(None);
        }
        self.json(self.http.get(url), "list servers")
    }

    /// Every version of `name`; `None` when the registry has no such server.
    pub fn versions(&self, name: &str) -> anyhow::Result<Option<ServerList>> {
        let url = self.url(&["v0.1", "servers", name, "versions"]);
        self.optional(self.http.get(url), "list versions")
    }

    /// One version (or `latest`); `None` when it does not exist.
    pub fn version(&self, name: &str, version: &str) -> anyhow::Result<Option<ServerResponse>> {
        let url = self.version_url(name, version, &[]);
        self.optional(self.http.get(url), "fetch the server")
    }

    /// The tool surface of a version; `None` when it was published without one (or the registry
    /// lacks the extension).
    pub fn surface(&self, name: &str, version: &str) -> anyhow::Result<Option<Value>> {
        let url = self.version_url(name, version, &["surface"]);
        self.optional(self.http.get(url), "fetch the tool surface")
    }

    /// The compatibility report the publish gate stored for a version.
    pub fn compat_report(&self, name: &str, version: &str) -> anyhow::Result<Option<Value>> {
        let url = self.version_url(name, version, &["compat"]);
        self.optional(self.http.get(url), "fetch the compatibility report")
    }

    /// The security review the registry stored with a version; `None` when the version does not exist
    /// or the registry lacks the extension.
    pub fn review(&self, name: &str, version: &str) -> anyhow::Result<Option<Value>> {
        let url = self.version_url(name, version, &["review"]);
        self.optional(self.http.get(url), "fetch the security review")
    }

    /// A version's provenance (`status`, `summary`, `bundle`); `None` when the version does not exist.
    pub fn provenance(&self, name: &str, version: &str) -> anyhow::Result<Option<Value>> {
        let url = self.version_url(name, version, &["provenance"]);
        self.optional(self.http.get(url), "fetch the provenance")
    }

    /// The signing keys registered for a namespace (revoked ones included); none from a registry
    /// without the extension (e.g. the official one).
    pub fn signing_keys(&self, namespace: &str) -> anyhow::Result<Vec<SigningKey>> {
        #[derive(Deserialize)]
        struct Keys {
            keys: Vec<SigningKey>,
        }
        let url = self.keys_url(namespace, None);
        let keys: Option<Keys> = self.optional(self.http.get(url), "list signing keys")?;
        Ok(keys.map(|k| k.keys).unwrap_or_default())
    }

    /// The namespace's hash-chained key log; `None` from a registry without one (the official API).
    pub fn key_log(&self, namespace: &str) -> anyhow::Result<Option<KeyLog>> {
        let url = self.url(&[
            "v0.1",
            "x",
            "dev.mcp-reg",
            "namespaces",
            namespace,
            "key-log",
        ]);
        self.optional(self.http.get(url), "read the key log")
    }

    /// Registers a public key (SPKI PEM) for a namespace.
    pub fn register_key(
        &self,
        namespace: &str,
        public_key_pem: &str,
    ) -> anyhow::Result<SigningKey> {
        let url = self.keys_url(namespace, None);
        let body = serde_json::json!({ "publicKey": public_key_pem });
        self.json(
            self.authed(self.http.post(url))?.json(&body),
            "register the key",
        )
    }

    /// Revokes a registered key.
    pub fn revoke_key(&self, namespace: &str, key_id: &str) -> anyhow::Result<SigningKey> {
        let url = self.keys_url(namespace, Some(key_id));
        self.json(self.authed(self.http.delete(url))?, "revoke the key")
    }

    fn keys_url(&self, namespace: &str, key_id: Option<&str>) -> reqwest::Url {
        let mut segments = vec!["v0.1", "x", "dev.mcp-reg", "namespaces", namespace, "keys"];
        segments.extend(key_id);
        self.url(&segments)
    }

    /// The report from version `from` to `to`.
    pub fn diff(&self, name: &str, from: &str, to: &str) -> anyhow::Result<Value> {
        let mut url = self.url(&["v0.1", "x", "dev.mcp-reg", "servers", name, "diff"]);
        url.query_pairs_mut()
            .append_pair("from", from)
            .append_pair("to", to);
        self.json(self.http.get(url), "compare versions")
    }

    pub fn publish(
        &self,
        server: &Value,
        acknowledge: &[String],
        accept_breaking: bool,
        bundle: Option<&Value>,
    ) -> anyhow::Result<Published> {
        let url = self.url(&["v0.1", "publish"]);
        let mut body = serde_json::json!({ "server": server, "acknowledge": acknowledge });
        if accept_breaking {
            body["accept_breaking"] = Value::Bool(true);
        }
        if let Some(bundle) = bundle {
            body["bundle"] = bundle.clone();
        }
        let response = self.send(self.authed(self.http.post(url))?.json(&body))?;
        if response.status() == StatusCode::CONFLICT {
            let bytes = response.bytes().unwrap_or_default();
            let value: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            if value.get("verdict").is_some()
                && let Ok(report) = Report::deserialize(&value)
            {
                let detail = value["detail"]
                    .as_str()
                    .unwrap_or("the new version breaks compatibility")
                    .to_owned();
                return Ok(Published::Refused {
                    detail,
                    report: Box::new(report),
                });
            }
            return Err(api_error(StatusCode::CONFLICT, &bytes, "publish").into());
        }
        Ok(Published::Accepted(decode(response, "publish")?))
    }

    /// `PATCH …/versions/{version}/status`.
    pub fn set_version_status(
        &self,
        name: &str,
        version: &str,
        body: &Value,
    ) -> anyhow::Result<ServerResponse> {
        let url = self.url(&["v0.1", "servers", name, "versions", version, "status"]);
        self.json(
            self.authed(self.http.patch(url))?.json(body),
            "change the status",
        )
    }

    /// `PATCH …/status`: every version at once.
    pub fn set_server_status(&self, name: &str, body: &Value) -> anyhow::Result<StatusChanged> {
        let url = self.url(&["v0.1", "servers", name, "status"]);
        self.json(
            self.authed(self.http.patch(url))?.json(body),
            "change the status",
        )
    }

    /// `GET /v0.1/x/dev.mcp-reg/compat-policies`: the operator's default and every override.
    pub fn compat_policies(&self) -> anyhow::Result<Value> {
        let url = self.url(&["v0.1", "x", "dev.mcp-reg", "compat-policies"]);
        self.json(self.http.get(url), "list compatibility policies")
    }

    /// Sets (`Some`) or clears (`None`) the compatibility policy of a namespace (`scope` =
    /// `namespaces`) or server (`servers`).
    pub fn set_compat_policy(
        &self,
        scope: &str,
        name: &str,
        policy: Option<&str>,
    ) -> anyhow::Result<Value> {
        let url = self.url(&["v0.1", "x", "dev.mcp-reg", scope, name, "compat-policy"]);
        let request = match policy {
            Some(policy) => self
                .authed(self.http.put(url))?
                .json(&serde_json::json!({ "policy": policy })),
            None => self.authed(self.http.delete(url))?,
        };
        self.json(request, "change the compatibility policy")
    }

    /// Who the token is (`{"tokenId", "permissions"}`); `None` from a registry without the extension.
    pub fn whoami(&self) -> anyhow::Result<Option<Value>> {
        let url = self.url(&["v0.1", "x", "dev.mcp-reg", "whoami"]);
        self.optional(self.authed(self.http.get(url))?, "check the token")
    }

    /// Fails with "not logged in" (and how to log in) when there is no token for this registry, so a
    /// command that will need one can say so before doing any work.
    pub fn require_token(&self) -> anyhow::Result<&str> {
        Ok(self.token.as_deref().ok_or_else(|| {
            UserError::new(format!("not logged in to {}", self.base())).with_hint(format!(
                "run `mcp-reg login --registry {}` with a publish token from the registry operator",
                self.base()
            ))
        })?)
    }

    fn authed(&self, request: RequestBuilder) -> anyhow::Result<RequestBuilder> {
        let token = self.require_token()?;
        Ok(request.bearer_auth(token))
    }

    fn send(&self, request: RequestBuilder) -> anyhow::Result<Response> {
        request
            .send()
            .map_err(|err| self.transport_error(&err).into())
    }

    fn transport_error(&self, err: &reqwest::Error) -> UserError {
        // The innermost cause says what happened ("Connection refused", "dns error: ...").
        let mut cause: &dyn std::error::Error = err;
        while let Some(next) = cause.source() {
            cause = next;
        }
        let cause = cause.to_string();
        let what = if err.is_timeout() {
            "timed out waiting for the registry at"
        } else {
            "cannot reach the registry at"
        };
        UserError::new(format!("{what} {}: {}", self.base(), one_line(&cause))).with_hint(
            "check that the registry is running, or pick another with --registry URL (or MCP_REG_REGISTRY)",
        )
    }

    fn json<T: serde::de::DeserializeOwned>(
        &self,
        request: RequestBuilder,
        action: &str,
    ) -> anyhow::Result<T> {
        decode(self.send(request)?, action)
    }

    fn optional<T: serde::de::DeserializeOwned>(
        &self,
        request: RequestBuilder,
        action: &str,
    ) -> anyhow::Result<Option<T>> {
        let response = self.send(request)?;
        if response.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        decode(response, action).map(Some)
    }
}

fn decode<T: serde::de::DeserializeOwned>(response: Response, action: &str) -> anyhow::Result<T> {
    let status = response.status();
    let bytes = response.bytes().map_err(|err| {
        UserError::new(format!(
            "the registry's answer to `{action}` was cut off: {}",
            one_line(&err.to_string())
        ))
        .with_hint("try again")
    })?;
    if !status.is_success() {
        return Err(api_error(status, &bytes, action).into());
    }
    serde_json::from_slice(&bytes).map_err(|err| {
        UserError::new(format!(
            "the registry answered `{action}` with something that is not the expected JSON: {err}"
        ))
        .with_hint("check that --registry points at an mcp-reg (or official MCP) registry")
        .into()
    })
}

/// A non-2xx answer as one line (problem `detail` + first `errors[]` item) and a hint by status.
pub fn api_error(status: StatusCode, body: &[u8], action: &str) -> UserError {
    let value: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let detail = value["detail"]
        .as_str()
        .or_else(|| value["error"].as_str())
        .or_else(|| value["title"].as_str())
        .map_or_else(
            || {
                let text = String::from_utf8_lossy(body);
                let text = text.trim();
                if text.is_empty() || text.len() > 200 {
                    status.canonical_reason().unwrap_or("error").to_owned()
                } else {
                    text.to_owned()
                }
            },
            ToOwned::to_owned,
        );
    let mut message = format!(
        "registry refused to {action} ({}): {detail}",
        status.as_u16()
    );
    if let Some(first) = value["errors"].as_array().and_then(|e| e.first()) {
        let place = first["pointer"]
            .as_str()
            .or_else(|| first["location"].as_str());
        let text = first["message"].as_str().unwrap_or_default();
        match place {
            Some(place) => {
                let _ = write!(message, ": {place}: {text}");
            }
            None if !text.is_empty() => {
                let _ = write!(message, ": {text}");
            }
            None => {}
        }
        let more = value["errors"].as_array().map_or(0, Vec::len) - 1;
        if more > 0 {
            let _ = write!(message, " (and {more} more)");
        }
    }
    let hint = match status {
        StatusCode::UNAUTHORIZED => {
            "the token is missing, wrong or revoked: run `mcp-reg login` with a valid publish token"
        }
        StatusCode::FORBIDDEN => {
            "the token may not do this for this server name; ask the registry operator for a token whose pattern covers it"
        }
        StatusCode::NOT_FOUND => {
            "check the name and version with `mcp-reg search` / `mcp-reg versions NAME`"
        }
        StatusCode::CONFLICT => {
            "published versions are immutable: raise `version` in server.json and publish again"
        }
        StatusCode::UNPROCESSABLE_ENTITY | StatusCode::BAD_REQUEST if action == "publish" => {
            "fix the value named above (run `mcp-reg validate server.json` for every problem)"
        }
        StatusCode::UNPROCESSABLE_ENTITY | StatusCode::BAD_REQUEST => {
            "fix the value named above and try again"
        }
        StatusCode::PAYLOAD_TOO_LARGE => "make the server.json (and its embedded surface) smaller",
        StatusCode::TOO_MANY_REQUESTS => "wait a little and try again",
        s if s.is_server_error() => "the registry failed; try again later or tell its operator",
        _ => "check --registry and the arguments",
    };
    UserError::new(one_line(&message)).with_hint(hint)
}

fn one_line(text: &str) -> String {
    text.replace(['\n', '\r'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problem_json_becomes_one_line_with_pointer() {
        let body = br#"{"type":"about:blank","title":"Unprocessable Entity","status":422,"detail":"invalid manifest","errors":[{"pointer":"/server/name","message":"bad name"},{"pointer":"/x","message":"y"}]}"#;
        let err = api_error(StatusCode::UNPROCESSABLE_ENTITY, body, "publish");
        assert_eq!(
            err.message,
            "registry refused to publish (422): invalid manifest: /server/name: bad name (and 1 more)"
        );
        assert!(err.hint.is_some());
        let err = api_error(StatusCode::NOT_FOUND, br#"{"error":"nope"}"#, "fetch");
        assert_eq!(err.message, "registry refused to fetch (404): nope");
    }

    #[test]
    fn names_are_one_encoded_segment() -> anyhow::Result<()> {
        let client = Client::new("http://127.0.0.1:1/base/", None)?;
        assert_eq!(
            client.version_link("io.github.a/b", "1.0.0"),
            "http://127.0.0.1:1/base/v0.1/servers/io.github.a%2Fb/versions/1.0.0"
        );
        assert_eq!(
            client
                .version_url("a/b", "latest", &["surface"])
                .to_string(),
            "http://127.0.0.1:1/base/v0.1/x/dev.mcp-reg/servers/a%2Fb/versions/latest/surface"
        );
        Ok(())
    }
}
