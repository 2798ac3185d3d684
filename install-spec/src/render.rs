//! A launch spec in one host's entry shape, with secrets routed through the host's indirection.
//!
//! Entries are built as JSON values; the TOML writer converts them, so Codex shares this code.

use serde_json::{Map, Value, json};

use crate::InstallError;
use crate::hosts::{Extra, Host, SecretStyle, StdioShape};
use crate::launch::{LaunchSpec, Part, RemoteTransport, SecretRef, Template, placeholder};

/// One host entry and what comes with it.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The object stored under `<root>.<name>`.
    pub value: Value,
    /// VS Code `inputs` the entry refers to (each has an `id`).
    pub inputs: Vec<Value>,
    /// Environment variables the host must see for the entry to work (secrets passed by reference).
    pub env_to_set: Vec<String>,
    /// Secrets written in plain text (with the caller's consent).
    pub plaintext_secrets: Vec<String>,
}

/// Where in the entry a value sits; some hosts expand references only in some places.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Place {
    Command,
    Env,
    Header,
    Url,
}

struct Ctx<'a> {
    host: Host,
    style: SecretStyle,
    entry_name: &'a str,
    allow_plaintext: bool,
    placeholders: bool,
    entry: Entry,
}

impl Ctx<'_> {
    fn plaintext(&mut self, secret: &SecretRef) -> Result<String, InstallError> {
        if self.placeholders && secret.value.is_none() {
            return Ok(placeholder(&secret.key));
        }
        if !self.allow_plaintext {
            return Err(InstallError::SecretNeedsConsent {
                host: self.host.name(),
                key: secret.key.clone(),
            });
        }
        let value = secret
            .value
            .clone()
            .ok_or_else(|| InstallError::MissingInput {
                key: secret.key.clone(),
                description: secret.description.clone(),
            })?;
        push_unique(&mut self.entry.plaintext_secrets, &secret.key);
        Ok(value)
    }

    fn env_ref(&mut self, secret: &SecretRef) -> String {
        push_unique(&mut self.entry.env_to_set, &secret.env_name);
        secret.env_name.clone()
    }

    fn string(&mut self, template: &Template, place: Place) -> Result<String, InstallError> {
        let mut out = String::new();
        for part in &template.0 {
            match part {
                Part::Text(text) => out.push_str(text),
                Part::Secret(secret) => {
                    let text = match self.style {
                        SecretStyle::VsCodeInputs => {
                            let id = format!("{}-{}", self.entry_name, secret.key);
                            if !self.entry.inputs.iter().any(|i| i["id"] == id.as_str()) {
                                let description = secret
                                    .description
                                    .clone()
                                    .unwrap_or_else(|| secret.key.clone());
                                self.entry.inputs.push(json!({
                                    "type": "promptString",
                                    "id": id,
                                    "description": description,
                                    "password": true,
                                }));
                            }
                            format!("${{input:{id}}}")
                        }
                        SecretStyle::EnvColon => format!("${{env:{}}}", self.env_ref(secret)),
                        SecretStyle::Dollar => format!("${{{}}}", self.env_ref(secret)),
                        SecretStyle::DollarEnvOnly if place == Place::Env => {
                            format!("${{{}}}", self.env_ref(secret))
                        }
                        SecretStyle::BraceEnv => format!("{{env:{}}}", self.env_ref(secret)),
                        SecretStyle::ContinueSecrets => {
                            format!("${{{{ secrets.{} }}}}", self.env_ref(secret))
                        }
                        _ => self.plaintext(secret)?,
                    };
                    out.push_str(&text);
                }
            }
        }
        Ok(out)
    }
}

fn push_unique(list: &mut Vec<String>, item: &str) {
    if !list.iter().any(|i| i == item) {
        list.push(item.to_owned());
    }
}

/// Builds `host`'s entry for `spec`. Secrets go through the host's indirection; where it has none they
/// are written only if `allow_plaintext`, else the call fails with [`InstallError::SecretNeedsConsent`].
pub fn entry(
    host: Host,
    spec: &LaunchSpec,
    entry_name: &str,
    allow_plaintext: bool,
) -> Result<Entry, InstallError> {
    entry_with(host, spec, entry_name, allow_plaintext, false)
}

/// [`entry`]; with `placeholders`, a secret without a value that the host could only hold in plain
/// text is written as [`placeholder`] (`<KEY>`) instead of being refused.
pub fn entry_with(
    host: Host,
    spec: &LaunchSpec,
    entry_name: &str,
    allow_plaintext: bool,
    placeholders: bool,
) -> Result<Entry, InstallError> {
    let profile = host.profile();
    let mut ctx = Ctx {
        host,
        style: profile.secrets,
        entry_name,
        allow_plaintext,
        placeholders,
        entry: Entry {
            value: Value::Null,
            inputs: Vec::new(),
            env_to_set: Vec::new(),
            plaintext_secrets: Vec::new(),
        },
    };
    let mut obj = Map::new();
    if let Some(key) = profile.name_key {
        obj.insert(key.into(), entry_name.into());
    }
    match spec {
        LaunchSpec::Stdio { command, args, env } => {
            stdio_fields(&mut ctx, profile.stdio, command, args, env, &mut obj)?;
        }
        LaunchSpec::Remote {
            transport,
            url,
            headers,
        } => {
            let Some(shape) = profile.remote else {
                return Err(InstallError::Unsupported(format!(
                    "{host}'s config file only runs local (stdio) servers; add this remote in {host}'s own UI"
                )));
            };
            let ty = match transport {
                RemoteTransport::StreamableHttp if shape.http => shape.http_type,
                RemoteTransport::Sse if shape.sse => shape.sse_type,
                _ => {
                    return Err(InstallError::Unsupported(format!(
                        "{host} does not support {} remotes",
                        match transport {
                            RemoteTransport::StreamableHttp => "Streamable HTTP",
                            RemoteTransport::Sse => "SSE",
                        }
                    )));
                }
            };
            if let Some(ty) = ty {
                obj.insert("type".into(), ty.into());
            }
            obj.insert(shape.url_key.into(), ctx.string(url, Place::Url)?.into());
            if ctx.style == SecretStyle::Codex {
                codex_headers(&mut ctx, &mut obj, headers)?;
            } else if let Some(headers_key) = shape.headers_key {
                let mut map = Map::new();
                for (name, value) in headers {
                    map.insert(name.clone(), ctx.string(value, Place::Header)?.into());
                }
                if !map.is_empty() {
                    obj.insert(headers_key.into(), Value::Object(map));
                }
            } else if !headers.is_empty() {
                return Err(InstallError::Unsupported(format!(
                    "{host}'s config file has no place for HTTP headers, which this remote needs"
                )));
            }
        }
    }
    for (key, value) in profile.extra {
        let value = match value {
            Extra::Bool(b) => Value::from(*b),
            Extra::Int(i) => Value::from(*i),
        };
        obj.insert((*key).into(), value);
    }
    ctx.entry.value = Value::Object(obj);
    Ok(ctx.entry)
}

/// The members of a stdio entry, named as the host names them.
fn stdio_fields(
    ctx: &mut Ctx<'_>,
    shape: StdioShape,
    command: &str,
    args: &[Template],
    env: &[(String, Template)],
    obj: &mut Map<String, Value>,
) -> Result<(), InstallError> {
    if let Some(ty) = shape.type_token {
        obj.insert("type".into(), ty.into());
    }
    let args = args
        .iter()
        .map(|a| ctx.string(a, Place::Command).map(Value::from))
        .collect::<Result<Vec<_>, _>>()?;
    if let Some(args_key) = shape.args_key {
        obj.insert(shape.command_key.into(), command.into());
        obj.insert(args_key.into(), Value::Array(args));
    } else {
        // opencode: the whole command line is one array.
        let mut line = vec![Value::from(command)];
        line.extend(args);
        obj.insert(shape.command_key.into(), Value::Array(line));
    }
    let mut env_map = Map::new();
    let mut env_vars = Vec::new();
    for (name, value) in env {
        if ctx.style == SecretStyle::Codex
            && let Some(secret) = value.as_single_secret()
            && secret.env_name == *name
        {
            // Codex forwards the variable from its own environment.
            env_vars.push(Value::from(ctx.env_ref(secret)));
            continue;
        }
        env_map.insert(name.clone(), ctx.string(value, Place::Env)?.into());
    }
    if !env_map.is_empty() {
        obj.insert(shape.env_key.into(), Value::Object(env_map));
    }
    if !env_vars.is_empty() {
        obj.insert("env_vars".into(), Value::Array(env_vars));
    }
    Ok(())
}

/// Codex reads headers from `http_headers` (literal), `env_http_headers` (header → env var) and
/// `bearer_token_env_var`; a plain `headers` key is ignored by Codex.
fn codex_headers(
    ctx: &mut Ctx<'_>,
    obj: &mut Map<String, Value>,
    headers: &[(String, Template)],
) -> Result<(), InstallError> {
    let mut literal = Map::new();
    let mut from_env = Map::new();
    for (name, value) in headers {
        if name.eq_ignore_ascii_case("authorization")
            && let [Part::Text(prefix), Part::Secret(secret)] = value.0.as_slice()
            && prefix.eq_ignore_ascii_case("bearer ")
        {
            obj.insert("bearer_token_env_var".into(), ctx.env_ref(secret).into());
        } else if let Some(secret) = value.as_single_secret() {
            from_env.insert(name.clone(), ctx.env_ref(secret).into());
        } else {
            literal.insert(name.clone(), ctx.string(value, Place::Header)?.into());
        }
    }
    if !literal.is_empty() {
        obj.insert("http_headers".into(), Value::Object(literal));
    }
    if !from_env.is_empty() {
        obj.insert("env_http_headers".into(), Value::Object(from_env));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn secret(key: &str, value: Option<&str>) -> Template {
        Template(vec![Part::Secret(SecretRef {
            key: key.into(),
            env_name: key.into(),
            description: Some("Token".into()),
            value: value.map(Into::into),
        })])
    }

    fn stdio() -> LaunchSpec {
        LaunchSpec::Stdio {
            command: "npx".into(),
            args: vec![Template::text("-y"), Template::text("w@1.0.0")],
            env: vec![("TOKEN".into(), secret("TOKEN", Some("s3cr3t")))],
        }
    }

    #[test]
    fn secrets_per_host() {
        let e = entry(Host::VsCode, &stdio(), "w", false).unwrap();
        assert_eq!(e.value["env"]["TOKEN"], "${input:w-TOKEN}");
        assert_eq!(e.inputs[0]["password"], true);
        let e = entry(Host::Cursor, &stdio(), "w", false).unwrap();
        assert_eq!(e.value["env"]["TOKEN"], "${env:TOKEN}");
        assert_eq!(e.env_to_set, ["TOKEN"]);
        let e = entry(Host::ClaudeCode, &stdio(), "w", false).unwrap();
        assert_eq!(e.value["env"]["TOKEN"], "${TOKEN}");
        let e = entry(Host::Codex, &stdio(), "w", false).unwrap();
        assert_eq!(e.value["env_vars"], json!(["TOKEN"]));
        assert!(e.value.get("env").is_none());
        let err = entry(Host::ClaudeDesktop, &stdio(), "w", false).unwrap_err();
        assert!(matches!(err, InstallError::SecretNeedsConsent { .. }));
        let e = entry(Host::ClaudeDesktop, &stdio(), "w", true).unwrap();
        assert_eq!(e.value["env"]["TOKEN"], "s3cr3t");
        assert_eq!(e.plaintext_secrets, ["TOKEN"]);
    }

    #[test]
    fn codex_remote_headers() {
        let spec = LaunchSpec::Remote {
            transport: RemoteTransport::StreamableHttp,
            url: Template::text("https://x/mcp"),
            headers: vec![
                (
                    "Authorization".into(),
                    Template(vec![
                        Part::Text("Bearer ".into()),
                        secret("FIGMA_TOKEN", None).0[0].clone(),
                    ]),
                ),
                ("X-Key".into(), secret("X_KEY", None)),
                ("X-Plain".into(), Template::text("1")),
            ],
        };
        let e = entry(Host::Codex, &spec, "f", false).unwrap();
        assert_eq!(
            e.value,
            json!({"url": "https://x/mcp", "bearer_token_env_var": "FIGMA_TOKEN",
                   "http_headers": {"X-Plain": "1"}, "env_http_headers": {"X-Key": "X_KEY"}})
        );
        let sse = LaunchSpec::Remote {
            transport: RemoteTransport::Sse,
            url: Template::text("u"),
            headers: vec![],
        };
        assert!(matches!(
            entry(Host::Codex, &sse, "f", false),
            Err(InstallError::Unsupported(_))
        ));
        assert!(matches!(
            entry(Host::ClaudeDesktop, &sse, "f", false),
            Err(InstallError::Unsupported(_))
        ));
        let e = entry(Host::Windsurf, &sse, "f", false).unwrap();
        assert_eq!(e.value, json!({"serverUrl": "u"}));
        let e = entry(Host::Cline, &sse, "f", false).unwrap();
        assert_eq!(e.value, json!({"type": "sse", "url": "u"}));
    }
}
