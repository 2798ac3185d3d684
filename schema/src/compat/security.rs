//! Review findings a new version triggers and its baseline did not (`review-<rule>`).
//!
//! Both sides are reviewed once ([`review::review`]); [`review::new_findings`] keeps what is new
//! by rule and stable location (a tool that only moved in its list is not new). Each becomes a
//! compat finding of level `none`, flagged `security-review`: it needs no bump, it is what the
//! person upgrading should read. Pointers are made relative to the item, like every other compat
//! finding, so the fingerprint survives reordering: `/tools/3/description` of tool `send`
//! becomes tool `send`, `/description`.

use serde_json::Value;

use super::{Bump, Direction, Finding, Flag, SURFACE_META_KEY, Side, Sink, SurfaceKind};
use crate::review;

pub(super) fn compare(old: Side<'_>, new: Side<'_>, sink: &mut Sink) {
    // Pointers differ with the shape of a side: compare like with like (surfaces only, should
    // one side lack a manifest).
    let (old, new) = if old.manifest.is_some() == new.manifest.is_some() {
        (old, new)
    } else {
        (surface_only(old), surface_only(new))
    };
    let empty = |side: Side<'_>| side.surface.is_none() && side.manifest.is_none();
    if empty(old) || empty(new) {
        return;
    }
    let before = review::review(old);
    let after = review::review(new);
    for finding in review::new_findings(&before.findings, &after.findings) {
        sink.push(convert(&finding, new));
    }
}

fn surface_only(side: Side<'_>) -> Side<'_> {
    Side {
        surface: side.surface,
        manifest: None,
    }
}

fn convert(finding: &review::Finding, side: Side<'_>) -> Finding {
    let located = locate(finding, side);
    Finding::new(
        format!("review-{}", finding.rule),
        Bump::None,
        Direction::None,
        &[Flag::SecurityReview],
        located.surface,
        &located.name,
        located.pointer,
        None,
        Some(Value::String(finding.evidence.clone())),
        format!(
            "newly triggers the security review ({} {}): {}",
            finding.severity, finding.rule, finding.message
        ),
    )
}

struct Located {
    surface: SurfaceKind,
    name: String,
    pointer: String,
}

/// The kind, name and item-relative pointer of a review finding.
///
/// [`review::review`] prefixes surface pointers with `/_meta/dev.mcp-reg~1surface` when the side
/// has a manifest; the manifest's own texts then have no prefix.
fn locate(finding: &review::Finding, side: Side<'_>) -> Located {
    let prefix = format!("/_meta/{}", super::escape_token(SURFACE_META_KEY));
    let in_surface = if side.manifest.is_some() {
        finding.pointer.strip_prefix(prefix.as_str())
    } else {
        Some(finding.pointer.as_str())
    };
    let owner = finding.tool.clone().unwrap_or_default();
    let Some(pointer) = in_surface else {
        return Located {
            surface: SurfaceKind::Manifest,
            name: owner,
            pointer: finding.pointer.clone(),
        };
    };
    let mut tokens = pointer.splitn(4, '/').skip(1);
    let listing = tokens.next().unwrap_or_default();
    let index = tokens.next().and_then(|token| token.parse::<usize>().ok());
    let surface = match listing {
        "tools" => SurfaceKind::Tool,
        "prompts" => SurfaceKind::Prompt,
        "resources" => SurfaceKind::Resource,
        "resourceTemplates" => SurfaceKind::Template,
        _ => SurfaceKind::Server,
    };
    let Some(index) = index.filter(|_| surface != SurfaceKind::Server) else {
        return Located {
            surface: SurfaceKind::Server,
            name: owner,
            pointer: pointer.to_owned(),
        };
    };
    let rest = tokens
        .next()
        .map_or_else(String::new, |rest| format!("/{rest}"));
    Located {
        surface,
        name: item_key(side, surface, index).unwrap_or(owner),
        pointer: rest,
    }
}

/// The key compat names an item by: a tool's or prompt's name, a resource's URI, a template's
/// URI template.
fn item_key(side: Side<'_>, surface: SurfaceKind, index: usize) -> Option<String> {
    let listed = side.surface?;
    match surface {
        SurfaceKind::Tool => Some(listed.tools.as_ref()?.get(index)?.name.clone()),
        SurfaceKind::Prompt => Some(listed.prompts.as_ref()?.get(index)?.name.clone()),
        SurfaceKind::Resource => Some(listed.resources.as_ref()?.get(index)?.uri.clone()),
        SurfaceKind::Template => Some(
            listed
                .resource_templates
                .as_ref()?
                .get(index)?
                .uri_template
                .clone(),
        ),
        _ => None,
    }
}
