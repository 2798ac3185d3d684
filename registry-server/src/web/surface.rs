//! A version's tool surface (tools with their schemas and annotations, prompts, resources) and a
//! compatibility report (what changed per tool, what breaks callers), as HTML.

use std::collections::BTreeMap;

use maud::{Markup, html};
use registry_schema::ToolSurface;
use registry_schema::compat::{Bump, Finding, Flag, Report, SurfaceKind, Undecided, Verdict};
use registry_schema::tools::Tool;

use super::layout::{Tone, badge};
use super::schema_view;

/// Tools listed open; beyond this many they start collapsed.
const OPEN_TOOLS: usize = 12;

pub fn surface_section(surface: Option<&ToolSurface>) -> Markup {
    let Some(surface) = surface else {
        return html! {
            section #tools aria-labelledby="tools-title" {
                h2 #tools-title { "Tools" }
                p { "This version was published without a tool surface (no " code { "mcp-reg probe" } " capture), so its tools are not known to the registry." }
            }
        };
    };
    let tools = surface.tools.as_deref().unwrap_or_default();
    let prompts = surface.prompts.as_deref().unwrap_or_default();
    let resources = surface.resources.as_deref().unwrap_or_default();
    let templates = surface.resource_templates.as_deref().unwrap_or_default();
    let open = tools.len() <= OPEN_TOOLS;
    html! {
        section #tools aria-labelledby="tools-title" {
            h2 #tools-title { "Tools (" (tools.len()) ")" }
            p.meta {
                "Reported by " code { (surface.server_info.name) " " (surface.server_info.version) }
                " over MCP " (surface.protocol_version) "."
            }
            @if let Some(instructions) = &surface.instructions {
                details { summary { "Server instructions" } p.pre-line { (instructions) } }
            }
            @if tools.is_empty() { p { "No tools." } }
            @for tool in tools { (tool_item(tool, open)) }
            @if !prompts.is_empty() {
                h3 { "Prompts (" (prompts.len()) ")" }
                ul.items { @for prompt in prompts { li {
                    code.prop { (prompt.name) }
                    @if let Some(title) = &prompt.title { " " strong { (title) } }
                    @if let Some(description) = &prompt.description { " — " (description) }
                    @if let Some(arguments) = &prompt.arguments {
                        ul.props { @for argument in arguments { li {
                            code.prop { (argument.name) }
                            @if argument.required == Some(true) { " " span.req { "required" } }
                            @if let Some(description) = &argument.description { " — " (description) }
                        } } }
                    }
                } } }
            }
            @if !resources.is_empty() || !templates.is_empty() {
                h3 { "Resources (" (resources.len() + templates.len()) ")" }
                ul.items {
                    @for resource in resources { li {
                        code { (resource.uri) } " " strong { (resource.title.as_deref().unwrap_or(&resource.name)) }
                        @if let Some(mime) = &resource.mime_type { " " span.type { (mime) } }
                        @if let Some(description) = &resource.description { " — " (description) }
                    } }
                    @for template in templates { li {
                        code { (template.uri_template) } " " strong { (template.title.as_deref().unwrap_or(&template.name)) }
                        " " span.type { "template" }
                        @if let Some(description) = &template.description { " — " (description) }
                    } }
                }
            }
        }
    }
}

fn tool_item(tool: &Tool, open: bool) -> Markup {
    let annotations = tool.annotations.as_ref();
    let hint = |get: fn(&registry_schema::tools::ToolAnnotations) -> Option<bool>| {
        annotations.and_then(get)
    };
    html! {
        details.tool open[open] id={ "tool-" (tool.name) } {
            summary {
                code.tool-name { (tool.name) }
                @if let Some(title) = tool.title.as_ref().or(annotations.and_then(|a| a.title.as_ref())) {
                    " " span.tool-title { (title) }
                }
            }
            @if let Some(description) = &tool.description { p.pre-line { (description) } }
            p.badges {
                @if hint(|a| a.read_only_hint) == Some(true) { (badge(Tone::Good, "read-only", "Annotation: does not modify its environment")) }
                @if hint(|a| a.destructive_hint) == Some(true) && hint(|a| a.read_only_hint) != Some(true) {
                    (badge(Tone::Warn, "destructive", "Annotation: may perform destructive updates"))
                }
                @if hint(|a| a.idempotent_hint) == Some(true) { (badge(Tone::Plain, "idempotent", "Annotation: repeated calls have no additional effect")) }
                @if hint(|a| a.open_world_hint) == Some(true) { (badge(Tone::Plain, "open world", "Annotation: interacts with external entities")) }
            }
            h4 { "Input" }
            (schema_view::schema(&tool.input_schema, "input"))
            @if let Some(output) = &tool.output_schema {
                h4 { "Output" }
                (schema_view::schema(output, "output"))
            }
        }
    }
}

fn bump_tone(bump: Bump) -> Tone {
    match bump {
        Bump::Major => Tone::Bad,
        Bump::Minor => Tone::Warn,
        Bump::Patch | Bump::None => Tone::Plain,
    }
}

/// What a finding's rule id says happened, for people.
fn change_kind(finding: &Finding) -> &'static str {
    let id = finding.id.as_str();
    if id.contains("removed") {
        "removed"
    } else if id.contains("added") {
        "added"
    } else {
        "changed"
    }
}

/// A comparison report (`GET …/diff`, or the one kept at publish), grouped by the tool (prompt,
/// resource, package…) each change is about.
pub fn report_view(report: &Report) -> Markup {
    let mut groups: BTreeMap<(SurfaceKind, &str), Vec<&Finding>> = BTreeMap::new();
    for finding in &report.findings {
        groups
            .entry((finding.surface, finding.name.as_str()))
            .or_default()
            .push(finding);
    }
    let breaking = report
        .findings
        .iter()
        .filter(|finding| finding.level == Bump::Major)
        .count();
    html! {
        div.report {
            dl.facts {
                @if let Some(baseline) = &report.baseline_version { dt { "From" } dd { code { (baseline) } } }
                @if let Some(new) = &report.new_version { dt { "To" } dd { code { (new) } } }
                dt { "Changes need" } dd { (badge(bump_tone(report.required_bump), report.required_bump.as_str(), "The smallest semver bump these changes need")) }
                @if let Some(actual) = report.actual_bump { dt { "Version bump" } dd { (actual.as_str()) } }
                dt { "Verdict" } dd {
                    @match report.verdict {
                        Verdict::Pass => (badge(Tone::Good, "compatible", "The version number announces every change")),
                        Verdict::Reject => (badge(Tone::Bad, "incompatible", "The changes need a larger bump than the version number makes")),
                    }
                }
            }
            @if report.findings.is_empty() {
                p { "No differences in the tool surface or the runtime parts of the manifest." }
            } @else {
                p.summary {
                    (report.findings.len()) @if report.findings.len() == 1 { " change" } @else { " changes" }
                    @if breaking > 0 { ", " strong { (breaking) @if breaking == 1 { " breaks callers" } @else { " of them break callers" } } } @else { ", none breaks callers" }
                    "."
                }
                @for ((surface, name), findings) in &groups {
                    section.change-group aria-label={ (surface.as_str()) " " (name) } {
                        h3 { span.kind { (surface.as_str()) } " " code { (name) } }
                        ul.findings { @for finding in findings { (finding_item(finding)) } }
                    }
                }
            }
            @if !report.undecided.is_empty() {
                h3 { "Undecided" }
                ul.findings { @for item in &report.undecided { (undecided_item(item)) } }
            }
        }
    }
}

fn finding_item(finding: &Finding) -> Markup {
    let breaks = finding.level == Bump::Major;
    html! {
        li.finding.breaking[breaks] {
            p {
                (badge(Tone::Plain, change_kind(finding), "What happened"))
                " "
                @if breaks { (badge(Tone::Bad, "breaks callers", "Needs a major version")) }
                @else { (badge(bump_tone(finding.level), finding.level.as_str(), "The bump this change needs")) }
                @if finding.has_flag(Flag::SecurityReview) { " " (badge(Tone::Warn, "review", "Model-facing text or a risk claim changed: a person should read it")) }
                @if finding.has_flag(Flag::Undecidable) { " " (badge(Tone::Warn, "undecidable", "Could not be proven compatible")) }
                " " (finding.message)
            }
            p.meta {
                code { (finding.id) }
                @if !finding.pointer.is_empty() { " at " code { (finding.pointer) } }
                " · fingerprint " code.hash { (finding.fingerprint) }
            }
        }
    }
}

fn undecided_item(item: &Undecided) -> Markup {
    html! {
        li.finding {
            p { (item.surface.as_str()) " " code { (item.name) } ": " code { (item.keyword) } " — " (item.reason) }
            p.meta { code { (item.pointer) } " · fingerprint " code.hash { (item.fingerprint) } }
        }
    }
}
