//! Rule ids and the fixed tables the rules check (schema versions, registry types, base URLs).

/// The rules this module applies: `(id, what it checks)`. Schema violations use `schema.<keyword>`.
pub const RULES: &[(&str, &str)] = &[
    ("json-syntax", "the body is UTF-8 JSON"),
    (
        "schema.<keyword>",
        "the official JSON Schema (2025-12-11, or the draft when `$schema` names it)",
    ),
    (
        "schema-version",
        "`$schema` names the current schema (missing or old: warning; strict: error)",
    ),
    (
        "name-format",
        "`namespace/name`, one `/`, parts start and end alphanumeric, 3-200 characters",
    ),
    (
        "version-format",
        "version is not blank and at most 255 characters",
    ),
    (
        "version-latest",
        "version is not the reserved word `latest`",
    ),
    (
        "version-range",
        "version is one release, not a range (`^1`, `>=1`, `1.x`, `1 - 2`, `a || b`)",
    ),
    ("title-blank", "title is not only whitespace"),
    ("website-url", "websiteUrl is an absolute https URL"),
    (
        "repository-url",
        "repository.url is a valid URL for its source (github, gitlab)",
    ),
    (
        "repository-subfolder",
        "repository.subfolder is a clean relative path",
    ),
    ("icon-src", "icon src is an absolute https URL"),
    (
        "package-registry-type",
        "registryType is one the registry knows (unknown: warning; strict: error)",
    ),
    (
        "package-registry-base-url",
        "registryBaseUrl is the type's official URL, or absent for oci and mcpb",
    ),
    (
        "package-identifier",
        "identifier has no whitespace; mcpb identifiers are https URLs",
    ),
    (
        "package-version",
        "version is present for npm, pypi, nuget and cargo, absent for oci",
    ),
    ("package-version-latest", "package version is not `latest`"),
    (
        "package-version-range",
        "package version is one release, not a range",
    ),
    (
        "package-file-sha256",
        "fileSha256 is present for mcpb and absent for npm, nuget, cargo and oci",
    ),
    (
        "package-runtime-hint",
        "runtimeHint is set when runtimeArguments are (warning)",
    ),
    (
        "transport-url",
        "stdio has no url; HTTP transports have an absolute http(s) url",
    ),
    (
        "transport-url-variable",
        "every `{var}` in a transport URL is defined",
    ),
    (
        "remote-url-https",
        "remote URLs use https (http: warning; strict: error)",
    ),
    (
        "positional-argument-value",
        "a positional argument has a valueHint or a value",
    ),
    (
        "named-argument-name",
        "a named argument's name is a bare flag (no spaces, `<`, `>`, `{`, `}`, `$`; warning; strict: error)",
    ),
    (
        "named-argument-value",
        "a named argument's value and default do not repeat its name (warning; strict: error)",
    ),
    (
        "secret-in-argument",
        "an argument's fixed value or default (or one of its variables') carries no literal credential: `--api-key=…`, `Authorization: Bearer …`, or a known key format (`sk-…`, `ghp_…`, `xoxb-…`, `AKIA…`); placeholders such as `{api_key}` are fine (warning; strict: error)",
    ),
    (
        "unknown-key",
        "every member of the server, repository, icons, packages, arguments, environment variables, headers, transports, remotes and variables is one the schema defines, with a \"did you mean\" for a close one (`_meta` is free-form; warning)",
    ),
    (
        "meta-size",
        "`_meta` is at most 4096 bytes of JSON (not counting the tool surface)",
    ),
    (
        "meta-surface",
        "the tool surface under `_meta[\"dev.mcp-reg/surface\"]` is a valid surface capture",
    ),
    (
        "meta-reserved",
        "`_meta` does not set the registry's own `io.modelcontextprotocol.registry/official` key",
    ),
    (
        "control-characters",
        "the version, package identifiers, versions and registry types, and transport and remote types and URLs contain no control characters (they are keys, path segments and URLs)",
    ),
    (
        "nul-character",
        "no string or member name anywhere contains U+0000, which PostgreSQL cannot store",
    ),
];

pub(super) const KNOWN_SCHEMA_VERSIONS: &[&str] = &[
    "2025-07-09",
    "2025-09-16",
    "2025-09-29",
    "2025-10-11",
    "2025-10-17",
];

/// Registry types the official registry accepts, with their fixed base URL where one exists.
pub(super) const REGISTRY_TYPES: &[(&str, Option<&str>)] = &[
    ("npm", Some("https://registry.npmjs.org")),
    ("pypi", Some("https://pypi.org")),
    ("nuget", Some("https://api.nuget.org/v3/index.json")),
    ("cargo", Some("https://crates.io")),
    ("oci", None),
    ("mcpb", None),
];

/// Other spellings of a fixed base URL that the official registry documents, with the URL they stand for.
const BASE_URL_ALIASES: &[(&str, &str, &str)] = &[(
    "nuget",
    "https://api.nuget.org",
    "https://api.nuget.org/v3/index.json",
)];

/// The registry's own spelling of `base` for packages of `registry_type` when `base` names the fixed
/// registry of that type (a trailing `/` and documented short forms such as NuGet's
/// `https://api.nuget.org` are normalised); `None` for other URLs and types without a fixed registry.
pub fn canonical_registry_base_url(registry_type: &str, base: &str) -> Option<&'static str> {
    let base = base.trim_end_matches('/');
    let fixed = REGISTRY_TYPES
        .iter()
        .find(|(name, _)| *name == registry_type)
        .and_then(|(_, fixed)| *fixed)?;
    if base == fixed {
        return Some(fixed);
    }
    BASE_URL_ALIASES
        .iter()
        .find(|(kind, alias, _)| *kind == registry_type && *alias == base)
        .map(|(_, _, canonical)| *canonical)
}
