//! The review's rules as data: id, category, highest severity it reports, and why it exists.
//!
//! A finding may be less severe than its rule's entry (a mention of an attack, a single stray
//! character, a weaker pattern); never more. `docs/security-review.md` gives an example of each.

use super::{Category, Severity};

/// One review rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// Stable kebab-case id, used in findings.
    pub id: &'static str,
    pub category: Category,
    /// The highest severity the rule reports.
    pub severity: Severity,
    pub rationale: &'static str,
}

const fn rule_of(
    id: &'static str,
    category: Category,
    severity: Severity,
    rationale: &'static str,
) -> Rule {
    Rule {
        id,
        category,
        severity,
        rationale,
    }
}

use Category::{
    Annotations, Capabilities, Exfiltration, Harvesting, HiddenText, Instructions, Names,
    SensitiveData, Shadowing,
};
use Severity::{High, Low, Medium};

/// Every rule the reviewer applies.
pub const RULES: &[Rule] = &[
    rule_of(
        "hidden-tag-characters",
        HiddenText,
        High,
        "Unicode tag characters (U+E0000-E007F) render as nothing but models read them as ASCII; outside an emoji flag sequence they only serve to smuggle text",
    ),
    rule_of(
        "hidden-invisible-characters",
        HiddenText,
        High,
        "zero-width characters, word joiners, fillers and stray variation selectors are invisible to people; runs of them encode hidden payloads, single ones split keywords to dodge filters (ZWJ in emoji and ZWNJ/ZWJ in scripts that need them are allowed)",
    ),
    rule_of(
        "hidden-bidi-controls",
        HiddenText,
        High,
        "bidi embeddings, overrides and isolates reorder what people see without changing what the model reads (Trojan Source); in right-to-left text balanced controls are normal",
    ),
    rule_of(
        "hidden-ansi-escape",
        HiddenText,
        High,
        "ANSI escape sequences conceal, recolour or overwrite text in terminals, so a person reviewing a description in a CLI sees something other than the model",
    ),
    rule_of(
        "hidden-control-characters",
        HiddenText,
        Medium,
        "C0/C1 control characters other than tab and line breaks (backspace, carriage-return tricks, DEL) have no business in model-facing text",
    ),
    rule_of(
        "hidden-markup",
        HiddenText,
        Medium,
        "HTML comments and invisible styling hide text from rendered views while the model reads it",
    ),
    rule_of(
        "hidden-padding",
        HiddenText,
        Medium,
        "a long run of blank lines or spaces pushes the rest of a description out of a reviewer's view",
    ),
    rule_of(
        "hidden-homoglyphs",
        HiddenText,
        Low,
        "a word mixing Latin with look-alike Cyrillic or Greek letters reads normally but defeats keyword filters",
    ),
    rule_of(
        "hidden-encoded-text",
        HiddenText,
        High,
        "a long base64 run in prose decodes to text a person cannot read; high when the decoded text is itself an instruction",
    ),
    rule_of(
        "instruction-override",
        Instructions,
        High,
        "text telling the model to ignore or replace its instructions is a prompt injection, whatever tool carries it",
    ),
    rule_of(
        "instruction-secrecy",
        Instructions,
        Medium,
        "asking the model to keep something from the user has no benign use in a tool description and marks most poisoning payloads",
    ),
    rule_of(
        "instruction-markup",
        Instructions,
        Medium,
        "pseudo-authoritative tags (<IMPORTANT>, <system>) and chat-template tokens address the model over the user's head",
    ),
    rule_of(
        "instruction-global-trigger",
        Instructions,
        Medium,
        "directives that fire on every request, response or tool call reach beyond the tool that carries them (line jumping)",
    ),
    rule_of(
        "instruction-command",
        Instructions,
        High,
        "download-and-run pipelines, reverse shells and destructive commands in model-facing text are code execution by proxy",
    ),
    rule_of(
        "instruction-coercion",
        Instructions,
        Low,
        "threats and manufactured urgency (\"or all data will be lost\", \"VERY VERY important\") pressure the model to comply",
    ),
    rule_of(
        "sensitive-file",
        SensitiveData,
        High,
        "SSH keys, cloud credentials, MCP client configs, .env files: asking the model to read them and pass them on is credential theft; a bare mention is low",
    ),
    rule_of(
        "credential-harvest",
        SensitiveData,
        High,
        "asking the model to collect the user's passwords, keys or tokens from the conversation, environment or files",
    ),
    rule_of(
        "exfil-destination",
        Exfiltration,
        High,
        "an address, URL or phone number written into the text with an instruction to send, copy or redirect data to it",
    ),
    rule_of(
        "exfil-conversation",
        Exfiltration,
        High,
        "asking for the full conversation, earlier messages, the system prompt or the tool list in a parameter ships the user's context to the server",
    ),
    rule_of(
        "shadow-other-tool",
        Shadowing,
        High,
        "a description that changes how another server's tool behaves or must be called hijacks a tool the user trusts",
    ),
    rule_of(
        "shadow-preference",
        Shadowing,
        Medium,
        "disparaging or excluding other tools (\"never use other tools\", \"the only trusted tool\") manipulates tool choice",
    ),
    rule_of(
        "harvest-parameter",
        Harvesting,
        Medium,
        "a parameter named or described to receive conversation history, system prompts, tool lists or secrets unrelated to the tool",
    ),
    rule_of(
        "harvest-hidden-parameter",
        Harvesting,
        Medium,
        "a parameter the model is told to fill without asking or telling the user is a covert channel",
    ),
    rule_of(
        "annotation-read-only-mutates",
        Annotations,
        Medium,
        "readOnlyHint lets clients skip confirmation; a tool whose name says delete/send/write is then run unasked",
    ),
    rule_of(
        "annotation-not-destructive-deletes",
        Annotations,
        Low,
        "destructiveHint false on a tool that deletes, drops or overwrites understates its risk",
    ),
    rule_of(
        "annotation-closed-world-egress",
        Annotations,
        Low,
        "openWorldHint false on a tool that sends, posts or fetches from the network understates its reach",
    ),
    rule_of(
        "name-confusable",
        Names,
        High,
        "a name built from look-alike characters impersonates another name (UTS #39 skeletons); high when it collides with another name of the same server",
    ),
    rule_of(
        "name-mixed-script",
        Names,
        Medium,
        "a name mixing Latin with Cyrillic or Greek is a classic spoof; other non-ASCII names go against the MCP naming guidance",
    ),
    rule_of(
        "name-duplicate",
        Names,
        Medium,
        "two tools, prompts or resources with the same name leave the client to pick one, and the model may call the wrong one",
    ),
    rule_of(
        "name-near-duplicate",
        Names,
        Low,
        "names that differ only in case or separators (read_file, readFile) are easy to confuse",
    ),
    rule_of(
        "capability-combination",
        Capabilities,
        Low,
        "private data, untrusted content and outbound communication in one server let injected content leak data (the lethal trifecta): a risk to know, not malice",
    ),
];

/// The rule with this id.
pub fn rule(id: &str) -> Option<&'static Rule> {
    RULES.iter().find(|rule| rule.id == id)
}
