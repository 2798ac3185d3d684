//! Rules on a surface's structure rather than its prose: annotations against names, confusable,
//! mixed-script and duplicate names, parameters that harvest data, and capability combinations.

use std::collections::HashMap;
use std::sync::LazyLock;

use unicode_security::{RestrictionLevel, RestrictionLevelDetection};

use super::hidden::visible;
use super::walk::{Text, fold_identifier};
use super::{Finding, Severity, rule};
use crate::tools::{Tool, ToolSurface};

pub(super) fn review(surface: &ToolSurface, findings: &mut Vec<Finding>) {
    let tools = surface.tools.as_deref().unwrap_or_default();
    for (index, tool) in tools.iter().enumerate() {
        annotations(tool, index, findings);
    }
    let listings: [(&str, Vec<(&str, &str)>); 4] = [
        (
            "tools",
            tools.iter().map(|t| (t.name.as_str(), "name")).collect(),
        ),
        (
            "prompts",
            surface
                .prompts
                .as_deref()
                .unwrap_or_default()
                .iter()
                .map(|p| (p.name.as_str(), "name"))
                .collect(),
        ),
        (
            "resources",
            surface
                .resources
                .as_deref()
                .unwrap_or_default()
                .iter()
                .map(|r| (r.uri.as_str(), "uri"))
                .collect(),
        ),
        (
            "resourceTemplates",
            surface
                .resource_templates
                .as_deref()
                .unwrap_or_default()
                .iter()
                .map(|t| (t.uri_template.as_str(), "uriTemplate"))
                .collect(),
        ),
    ];
    for (listing, keys) in &listings {
        duplicates(listing, keys, findings);
        if matches!(*listing, "tools" | "prompts") {
            confusables(listing, keys, findings);
        }
    }
    capabilities(tools, findings);
}

fn push(
    findings: &mut Vec<Finding>,
    id: &'static str,
    severity: Severity,
    pointer: String,
    tool: Option<&str>,
    evidence: &str,
    message: String,
) {
    let Some(rule) = rule(id) else {
        return;
    };
    let mut evidence = visible(evidence);
    if evidence.chars().count() > super::hidden::EVIDENCE_CHARS {
        evidence = evidence
            .chars()
            .take(super::hidden::EVIDENCE_CHARS - 1)
            .chain(['…'])
            .collect();
    }
    findings.push(Finding {
        rule: id.to_owned(),
        severity: severity.min(rule.severity),
        category: rule.category,
        pointer,
        tool: tool.map(str::to_owned),
        evidence,
        message,
    });
}

/// Words of an identifier: split at `_`, `-`, `.`, spaces and lower→upper case changes.
pub(super) fn words(name: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut previous_lower = false;
    for c in name.chars() {
        if matches!(c, '_' | '-' | '.' | ' ' | '/' | ':') {
            if !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
            previous_lower = false;
            continue;
        }
        if c.is_uppercase() && previous_lower && !current.is_empty() {
            words.push(std::mem::take(&mut current));
        }
        previous_lower = c.is_lowercase() || c.is_ascii_digit();
        current.extend(c.to_lowercase());
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

/// Verbs that destroy something: a read-only or non-destructive claim on them is a lie.
const DELETING: &[&str] = &[
    "delete",
    "remove",
    "drop",
    "destroy",
    "purge",
    "wipe",
    "erase",
    "truncate",
    "kill",
    "terminate",
    "revoke",
    "uninstall",
    "format",
    "overwrite",
    "rm",
    "del",
    "unlink",
    "rmdir",
    "shred",
    "nuke",
];
/// Verbs that move something out of reach: a read-only claim on them is a lie.
const OUTGOING: &[&str] = &[
    "send", "transfer", "pay", "publish", "deploy", "withdraw", "sell", "buy", "email", "post",
    "tweet", "forward",
];
/// Verbs that change something: a read-only claim on them is doubtful.
const MUTATING: &[&str] = &[
    "create", "write", "update", "set", "put", "push", "merge", "move", "rename", "edit", "modify",
    "insert", "upload", "add", "append", "patch", "apply", "commit", "execute", "exec", "run",
    "install", "approve", "invite", "assign", "archive", "close", "lock", "reset", "enable",
    "disable", "restart", "schedule", "book", "order", "mint", "swap", "sign", "replace", "save",
    "store",
];
/// First words of tool names that only read.
const READ_VERBS: &[&str] = &[
    "get", "read", "list", "search", "fetch", "view", "show", "find", "query", "describe",
    "inspect", "check", "count", "lookup", "browse", "preview", "explain", "validate", "verify",
    "download", "export", "open",
];
/// Words of a tool that reaches the network.
const EGRESS: &[&str] = &[
    "send", "email", "mail", "post", "fetch", "http", "webhook", "upload", "tweet", "publish",
    "notify", "sms", "browse", "download", "request", "curl", "slack", "url",
];

fn annotations(tool: &Tool, index: usize, findings: &mut Vec<Finding>) {
    let Some(annotations) = &tool.annotations else {
        return;
    };
    let words = words(&tool.name);
    // `read_email`, `get_deleted_items`: the first word is the verb, and it only reads.
    let reads = words
        .first()
        .is_some_and(|first| READ_VERBS.contains(&first.as_str()));
    let has = |list: &[&str]| {
        if reads {
            return None;
        }
        words
            .iter()
            .find(|word| list.contains(&word.as_str()))
            .cloned()
    };
    let at = format!("/tools/{index}/annotations");
    if annotations.read_only_hint == Some(true) {
        let (verb, severity) = match (has(DELETING).or_else(|| has(OUTGOING)), has(MUTATING)) {
            (Some(verb), _) => (Some(verb), Severity::Medium),
            (None, Some(verb)) => (Some(verb), Severity::Low),
            (None, None) => (None, Severity::Low),
        };
        if let Some(verb) = verb {
            push(
                findings,
                "annotation-read-only-mutates",
                severity,
                format!("{at}/readOnlyHint"),
                Some(&tool.name),
                &format!("{}: readOnlyHint true", tool.name),
                format!(
                    "`{}` claims to be read-only, but its name says `{verb}`; clients may run it without asking",
                    visible(&tool.name)
                ),
            );
        }
    } else if annotations.destructive_hint == Some(false)
        && let Some(verb) = has(DELETING)
    {
        push(
            findings,
            "annotation-not-destructive-deletes",
            Severity::Low,
            format!("{at}/destructiveHint"),
            Some(&tool.name),
            &format!("{}: destructiveHint false", tool.name),
            format!(
                "`{}` claims not to be destructive, but its name says `{verb}`",
                visible(&tool.name)
            ),
        );
    }
    if annotations.open_world_hint == Some(false)
        && let Some(word) = has(EGRESS)
    {
        push(
            findings,
            "annotation-closed-world-egress",
            Severity::Low,
            format!("{at}/openWorldHint"),
            Some(&tool.name),
            &format!("{}: openWorldHint false", tool.name),
            format!(
                "`{}` claims a closed world, but its name says `{word}`",
                visible(&tool.name)
            ),
        );
    }
}

/// What a harvesting parameter name asks for, and what tools may legitimately ask it.
struct Harvest {
    names: &'static [&'static str],
    what: &'static str,
    severity: Severity,
    /// Words in the tool's name that explain the parameter.
    purpose: &'static [&'static str],
}

const HARVESTS: &[Harvest] = &[
    Harvest {
        names: &[
            "conversationhistory",
            "chathistory",
            "fullconversation",
            "conversation",
            "conversationlog",
            "chatlog",
            "messagehistory",
            "previousmessages",
            "allmessages",
            "priormessages",
            "transcript",
            "dialoghistory",
            "contextwindow",
            "fullcontext",
            "entireconversation",
            "usermessages",
            "chatcontext",
        ],
        what: "the conversation",
        severity: Severity::Medium,
        purpose: &[
            "conversation",
            "conversations",
            "chat",
            "chats",
            "transcript",
            "message",
            "messages",
            "summarize",
            "summary",
            "summarise",
            "memory",
            "memories",
            "history",
            "dialog",
            "log",
            "note",
            "notes",
            "journal",
            "thread",
            "remember",
            "save",
            "store",
            "export",
        ],
    },
    Harvest {
        names: &[
            "systemprompt",
            "systeminstructions",
            "systemmessage",
            "developerprompt",
            "hiddenprompt",
            "chainofthought",
            "reasoningtrace",
            "toollist",
            "availabletools",
            "alltools",
            "othertools",
            "installedtools",
            "mcpconfig",
            "mcpservers",
            "otherservers",
            "modelinstructions",
            "assistantinstructions",
        ],
        what: "the model's instructions or tool list",
        severity: Severity::Medium,
        purpose: &[
            "llm",
            "model",
            "prompt",
            "prompts",
            "sample",
            "sampling",
            "generate",
            "completion",
            "complete",
            "agent",
            "agents",
            "chat",
            "assistant",
            "instruct",
            "eval",
            "evaluate",
            "config",
            "configure",
            "register",
            "route",
            "router",
            "proxy",
            "gateway",
        ],
    },
    Harvest {
        names: &[
            "password",
            "passwd",
            "passphrase",
            "privatekey",
            "sshkey",
            "idrsa",
            "seedphrase",
            "mnemonic",
            "recoveryphrase",
            "creditcard",
            "cardnumber",
            "cvv",
            "ssn",
            "awssecretaccesskey",
        ],
        what: "a password, private key or card number",
        severity: Severity::Medium,
        purpose: SECRET_PURPOSE,
    },
    Harvest {
        names: &[
            "apikey",
            "apitoken",
            "secret",
            "secretkey",
            "accesstoken",
            "authtoken",
            "credentials",
            "credential",
            "cookie",
            "cookies",
            "sessiontoken",
            "sessioncookie",
            "otp",
            "envvars",
            "environment",
            "environmentvariables",
        ],
        what: "a secret",
        severity: Severity::Low,
        purpose: SECRET_PURPOSE,
    },
];

/// Tool-name words that explain a secret parameter.
const SECRET_PURPOSE: &[&str] = &[
    "login",
    "logon",
    "signin",
    "auth",
    "authenticate",
    "authorize",
    "credential",
    "credentials",
    "password",
    "passwords",
    "secret",
    "secrets",
    "vault",
    "key",
    "keys",
    "token",
    "tokens",
    "wallet",
    "account",
    "accounts",
    "user",
    "users",
    "session",
    "encrypt",
    "decrypt",
    "hash",
    "ssh",
    "connect",
    "database",
    "db",
    "register",
    "config",
    "sign",
    "signup",
    "env",
    "environment",
    "cookie",
    "cookies",
    "payment",
    "pay",
    "checkout",
    "card",
    "totp",
    "otp",
    "verify",
    "mfa",
];

/// A property of a tool's input schema whose name asks for data the tool has no business with
/// (called by the text walk for every property name).
pub(super) fn harvest(text: &Text<'_>, findings: &mut Vec<Finding>) {
    let Some(tool) = text.owner else {
        return;
    };
    if !text.pointer.starts_with("/tools/") && !text.pointer.contains("/tools/") {
        return;
    }
    if !text.pointer.contains("/inputSchema/") {
        return;
    }
    let Some(&index) = harvest_index(text.value).and_then(|key| HARVEST_NAMES.get(key.as_str()))
    else {
        return;
    };
    let Some(harvest) = HARVESTS.get(index) else {
        return;
    };
    if words(tool)
        .iter()
        .any(|word| harvest.purpose.contains(&word.as_str()))
    {
        return;
    }
    push(
        findings,
        "harvest-parameter",
        harvest.severity,
        text.pointer.to_owned(),
        Some(tool),
        text.value,
        format!(
            "parameter `{}` of `{}` asks for {}, which its name does not explain",
            visible(text.value),
            visible(tool),
            harvest.what
        ),
    );
}

/// The folded form of a property name short enough to be a harvest name.
fn harvest_index(name: &str) -> Option<String> {
    (name.len() <= 40).then(|| fold_identifier(name))
}

/// Every harvest name, to the index of its [`Harvest`].
static HARVEST_NAMES: LazyLock<HashMap<&'static str, usize>> = LazyLock::new(|| {
    HARVESTS
        .iter()
        .enumerate()
        .flat_map(|(index, harvest)| harvest.names.iter().map(move |name| (*name, index)))
        .collect()
});

/// Exact duplicates (medium) and names equal up to case and separators (low).
fn duplicates(listing: &str, keys: &[(&str, &str)], findings: &mut Vec<Finding>) {
    let mut exact: HashMap<&str, usize> = HashMap::new();
    let mut near: HashMap<String, usize> = HashMap::new();
    for (index, (key, field)) in keys.iter().enumerate() {
        let pointer = format!("/{listing}/{index}/{field}");
        let owner = Some(*key);
        if let Some(first) = exact.get(key) {
            push(
                findings,
                "name-duplicate",
                Severity::Medium,
                pointer,
                owner,
                key,
                format!(
                    "`{}` is listed twice in {listing} (also at index {first}); the client keeps one",
                    visible(key)
                ),
            );
            continue;
        }
        exact.insert(key, index);
        if *field != "name" {
            continue;
        }
        let folded = fold_identifier(key);
        if let Some(first) = near.get(&folded) {
            push(
                findings,
                "name-near-duplicate",
                Severity::Low,
                pointer,
                owner,
                key,
                format!(
                    "`{}` differs from `{}` only in case or separators",
                    visible(key),
                    visible(keys[*first].0)
                ),
            );
        } else {
            near.insert(folded, index);
        }
    }
}

/// UTS #39: look-alike names (skeletons) and names mixing scripts.
fn confusables(listing: &str, keys: &[(&str, &str)], findings: &mut Vec<Finding>) {
    if keys.iter().all(|(name, _)| name.is_ascii()) {
        return;
    }
    let skeletons: Vec<String> = keys
        .iter()
        .map(|(name, _)| unicode_security::skeleton(name).collect())
        .collect();
    for (index, (name, field)) in keys.iter().enumerate() {
        if name.is_ascii() {
            continue;
        }
        let pointer = format!("/{listing}/{index}/{field}");
        let skeleton = &skeletons[index];
        let twin = keys
            .iter()
            .zip(&skeletons)
            .find(|((other, _), other_skeleton)| other != name && *other_skeleton == skeleton);
        if let Some(((other, _), _)) = twin {
            push(
                findings,
                "name-confusable",
                Severity::High,
                pointer.clone(),
                Some(name),
                name,
                format!(
                    "`{}` looks like `{}`, another name of this server",
                    visible(name),
                    visible(other)
                ),
            );
        } else if skeleton.is_ascii() && skeleton != name {
            push(
                findings,
                "name-confusable",
                Severity::Medium,
                pointer.clone(),
                Some(name),
                name,
                format!(
                    "`{}` is spelled with look-alike characters of `{}`",
                    visible(name),
                    visible(skeleton)
                ),
            );
        }
        let letters: String = name.chars().filter(|c| c.is_alphanumeric()).collect();
        let level = letters.as_str().detect_restriction_level();
        let severity = match level {
            RestrictionLevel::ASCIIOnly => continue,
            RestrictionLevel::MinimallyRestrictive | RestrictionLevel::Unrestricted => {
                Severity::Medium
            }
            _ => Severity::Low,
        };
        push(
            findings,
            "name-mixed-script",
            severity,
            pointer,
            Some(name),
            name,
            if severity == Severity::Medium {
                format!(
                    "`{}` mixes Latin with Cyrillic, Greek or unrelated scripts",
                    visible(name)
                )
            } else {
                format!(
                    "`{}` is not ASCII; MCP recommends ASCII letters, digits, `_`, `-` and `.` in names",
                    visible(name)
                )
            },
        );
    }
}

/// Private data, untrusted content and outbound communication in one server (low: a risk).
fn capabilities(tools: &[Tool], findings: &mut Vec<Finding>) {
    let mut private = None;
    let mut untrusted = None;
    let mut outbound = None;
    for tool in tools {
        let words = words(&tool.name);
        let has = |list: &[&str]| words.iter().any(|word| list.contains(&word.as_str()));
        let reads = has(&[
            "read", "get", "list", "search", "query", "fetch", "open", "view", "show", "find",
            "download", "export", "load", "browse", "retrieve", "lookup", "print", "history",
        ]);
        if private.is_none()
            && reads
            && has(&[
                "file",
                "files",
                "directory",
                "email",
                "emails",
                "inbox",
                "mail",
                "message",
                "messages",
                "repo",
                "repository",
                "issue",
                "issues",
                "document",
                "documents",
                "drive",
                "calendar",
                "contact",
                "contacts",
                "database",
                "db",
                "record",
                "records",
                "note",
                "notes",
                "secret",
                "secrets",
                "password",
                "customer",
                "account",
                "chat",
                "channel",
                "memory",
                "graph",
                "env",
                "environment",
                "profile",
                "dm",
                "code",
                "table",
                "tables",
                "sql",
                "user",
                "users",
            ])
        {
            private = Some(tool.name.as_str());
        }
        if untrusted.is_none()
            && has(&[
                "url", "web", "webpage", "page", "html", "browse", "browser", "scrape", "crawl",
                "internet", "rss", "feed", "http", "fetch", "download", "issue", "issues",
                "comment", "comments", "email", "emails", "inbox", "message", "messages", "pull",
                "tweet", "ticket", "tickets", "mail",
            ])
            && reads
        {
            untrusted = Some(tool.name.as_str());
        }
        if outbound.is_none()
            && has(&[
                "send", "post", "email", "mail", "publish", "upload", "push", "reply", "comment",
                "tweet", "notify", "share", "webhook", "submit", "invite", "forward", "message",
                "issue", "pull", "pr",
            ])
            && !reads
        {
            outbound = Some(tool.name.as_str());
        }
    }
    if let (Some(private), Some(untrusted), Some(outbound)) = (private, untrusted, outbound) {
        let evidence = format!("private: {private}; untrusted: {untrusted}; outbound: {outbound}");
        push(
            findings,
            "capability-combination",
            Severity::Low,
            String::new(),
            None,
            &evidence,
            format!(
                "tools read private data (`{}`), take in untrusted content (`{}`) and communicate out (`{}`): injected content could leak data",
                visible(private),
                visible(untrusted),
                visible(outbound)
            ),
        );
    }
}
