//! Human renderings of a [`Report`]: text grouped by surface, markdown, GitHub Actions annotations.

use std::fmt::Write as _;

use super::{Bump, Finding, Flag, Report, Verdict};

fn flag_names(finding: &Finding) -> String {
    finding
        .flags
        .iter()
        .map(|flag| match flag {
            Flag::SecurityReview => "security-review",
            Flag::BehaviourChange => "behaviour-change",
            Flag::Warning => "warning",
            Flag::Undecidable => "undecidable",
            Flag::Acknowledged => "acknowledged",
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn summary(report: &Report) -> String {
    let count = |level: Bump| report.findings.iter().filter(|f| f.level == level).count();
    let mut line = format!(
        "required bump: {} ({} major, {} minor, {} patch finding(s)",
        report.required_bump,
        count(Bump::Major),
        count(Bump::Minor),
        count(Bump::Patch)
    );
    if !report.undecided.is_empty() {
        let _ = write!(line, ", {} undecidable", report.undecided.len());
    }
    line.push(')');
    let reviewed = report
        .findings
        .iter()
        .filter(|f| f.id.starts_with("review-"))
        .count();
    if reviewed > 0 {
        let _ = write!(
            line,
            "\nsecurity review: {reviewed} finding(s) newly triggered by this version (no bump required; read them)"
        );
    }
    if let (Some(base), Some(new), Some(actual)) = (
        &report.baseline_version,
        &report.new_version,
        report.actual_bump,
    ) {
        let verdict = match report.verdict {
            Verdict::Pass => "pass",
            Verdict::Reject => "reject",
        };
        let _ = write!(
            line,
            "\nverdict: {verdict} ({base} → {new} is a {actual} bump)"
        );
    }
    line
}

/// Plain text, one block per item (`--- tool search ---`), findings ordered by pointer within it,
/// then a summary line (and the verdict when versions are known).
pub fn render_text(report: &Report) -> String {
    let mut out = String::new();
    let mut current: Option<(super::SurfaceKind, &str)> = None;
    for finding in &report.findings {
        let key = (finding.surface, finding.name.as_str());
        if current != Some(key) {
            let _ = writeln!(out, "--- {} {} ---", finding.surface, finding.name);
            current = Some(key);
        }
        let _ = write!(
            out,
            "{:<6} {} {}: {}",
            finding.level.as_str(),
            finding.id,
            if finding.pointer.is_empty() {
                "/"
            } else {
                &finding.pointer
            },
            finding.message
        );
        if !finding.flags.is_empty() {
            let _ = write!(out, " [{}]", flag_names(finding));
        }
        let _ = writeln!(out, " ({})", finding.fingerprint);
    }
    if report.findings.is_empty() {
        out.push_str("no changes\n");
    }
    out.push_str(&summary(report));
    out.push('\n');
    out
}

/// Escapes `|` and line breaks for a markdown table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace(['\n', '\r'], " ")
}

/// Markdown: a summary, then one table per surface kind.
pub fn render_markdown(report: &Report) -> String {
    let mut out = String::from("## Compatibility report\n\n");
    for line in summary(report).lines() {
        let _ = writeln!(out, "- {line}");
    }
    let mut current = None;
    for finding in &report.findings {
        if current != Some(finding.surface) {
            let _ = write!(
                out,
                "\n### {}\n\n| level | rule | name | pointer | message | flags | fingerprint |\n|---|---|---|---|---|---|---|\n",
                finding.surface
            );
            current = Some(finding.surface);
        }
        let _ = writeln!(
            out,
            "| {} | `{}` | `{}` | `{}` | {} | {} | `{}` |",
            finding.level,
            finding.id,
            cell(&finding.name),
            cell(&finding.pointer),
            cell(&finding.message),
            flag_names(finding),
            finding.fingerprint
        );
    }
    if !report.undecided.is_empty() {
        out.push_str("\n### Undecided\n\n| keyword | name | pointer | reason | fingerprint |\n|---|---|---|---|---|\n");
        for item in &report.undecided {
            let _ = writeln!(
                out,
                "| `{}` | `{}` | `{}` | {} | `{}` |",
                item.keyword,
                cell(&item.name),
                cell(&item.pointer),
                cell(&item.reason),
                item.fingerprint
            );
        }
    }
    out
}

/// Escapes the message of a workflow command.
fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a property value of a workflow command.
fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// GitHub Actions workflow commands: `::error` for findings that exceed the allowed bump (major when
/// unversioned), `::warning` for flagged ones, `::notice` for the rest.
pub fn render_github(report: &Report) -> String {
    let allowed = report.actual_bump.unwrap_or(Bump::Minor);
    let mut out = String::new();
    for finding in &report.findings {
        let command = if finding.level > allowed {
            "error"
        } else if finding.has_flag(Flag::Warning)
            || finding.has_flag(Flag::SecurityReview)
            || finding.has_flag(Flag::Undecidable)
        {
            "warning"
        } else {
            "notice"
        };
        let _ = writeln!(
            out,
            "::{command} title={}::{} {} {}: {} ({} bump, {})",
            escape_property(&format!("{} ({})", finding.id, finding.fingerprint)),
            finding.surface,
            escape_data(&finding.name),
            escape_data(&finding.pointer),
            escape_data(&finding.message),
            finding.level,
            finding.fingerprint
        );
    }
    let _ = writeln!(
        out,
        "{}",
        escape_data(&summary(report)).replace("%0A", "\n")
    );
    out
}
