//! The text rules: hidden text, then phrases, sensitive files, destinations and references to
//! other tools, on each string folded for matching (see `fold.rs`).

use super::fold::{Folded, fold};
use super::hidden::{self, evidence, visible};
use super::patterns::{
    BASE64, DATA_OBJECT, DESTINATION, Detector, ENGINE, Engine, HIDDEN_MARKUP, MENTION, MOVING,
    PADDING, PHRASES, READING, REDIRECT, REFERENCE, SENSITIVE_PATH, SHADOW_HIGH, SHADOW_MEDIUM,
    STRONG, TOOLISH, TRANSFER,
};
use super::walk::{Names, Role, Text};
use super::{Finding, Severity, rule};

/// Where a rule matched, before it becomes a [`Finding`].
struct Hit {
    rule: &'static str,
    severity: Severity,
    /// Byte range in the original string.
    start: usize,
    end: usize,
    message: String,
}

fn emit(text: &Text<'_>, hit: Hit, findings: &mut Vec<Finding>) {
    let Some(rule) = rule(hit.rule) else {
        return;
    };
    findings.push(Finding {
        rule: hit.rule.to_owned(),
        severity: hit.severity.min(rule.severity),
        category: rule.category,
        pointer: text.pointer.to_owned(),
        tool: text.owner.map(str::to_owned),
        evidence: evidence(text.value, hit.start, hit.end),
        message: hit.message,
    });
}

/// Reviews one string; pushes its findings.
pub(super) fn review_text(text: &Text<'_>, names: &Names<'_>, findings: &mut Vec<Finding>) {
    let value = text.value;
    if hidden::needs_scan(value) {
        for hit in hidden::scan(value) {
            emit(
                text,
                Hit {
                    rule: hit.rule,
                    severity: hit.severity,
                    start: hit.start,
                    end: hit.end,
                    message: hit.message,
                },
                findings,
            );
        }
    }
    if text.role == Role::Property {
        super::structure::harvest(text, findings);
    }
    if !matches!(text.role, Role::Prose | Role::Value | Role::Input) {
        return;
    }
    let folded = fold(value);
    let mut hits = Vec::new();
    if text.role == Role::Prose {
        if let Some((start, end)) = folded.homoglyphs {
            hits.push(Hit {
                rule: "hidden-homoglyphs",
                severity: Severity::Low,
                start,
                end,
                message: "a word mixes Latin letters with look-alike letters of another script"
                    .to_owned(),
            });
        }
        encoded(value, &mut hits);
    }
    let Some(engine) = ENGINE.as_ref() else {
        return;
    };
    // One pass over the folded text says which phrases and detectors may match.
    let matched = engine.set.matches(folded.text.as_bytes());
    if matched.matched_any() {
        let detects = |detector: Detector| detector.matched(&matched);
        if text.role == Role::Prose {
            markup(
                &folded,
                detects(Detector::Markup),
                detects(Detector::Padding),
                &mut hits,
            );
            if detects(Detector::Reference) {
                references(value, &folded, names, &mut hits);
            }
        }
        phrases(engine, &matched, text, &folded, &mut hits);
        if detects(Detector::SensitivePath) {
            sensitive_files(text, &folded, &mut hits);
        }
        if detects(Detector::Destination) {
            destinations(&folded, &mut hits);
        }
    }
    for hit in hits {
        emit(text, hit, findings);
    }
}

/// The phrase rules of [`PHRASES`] the prefilter matched: one finding per rule, the most severe
/// of its first matches.
fn phrases(
    engine: &Engine,
    matched: &regex::bytes::SetMatches,
    text: &Text<'_>,
    folded: &Folded,
    hits: &mut Vec<Hit>,
) {
    let haystack = folded.text.as_bytes();
    let purpose = text.purpose.to_ascii_lowercase();
    let mut best: Vec<(&'static str, Hit)> = Vec::new();
    for index in matched {
        let (Some(phrase), Some(pattern)) = (PHRASES.get(index), engine.each.get(index)) else {
            continue;
        };
        if text.role == Role::Input && !phrase.inputs {
            continue;
        }
        let aligned = engine
            .purposes
            .get(index)
            .and_then(Option::as_ref)
            .is_some_and(|re| !purpose.is_empty() && re.is_match(purpose.as_bytes()));
        for found in pattern.find_iter(haystack).take(4) {
            // Commands are backticked by attackers too; a quoted sentence is an example.
            let mention = mentioned(&folded.text, found.start(), found.end())
                || (phrase.rule != "instruction-command"
                    && quoted(&folded.text, found.start(), found.end()));
            let (severity, note) = match (mention, aligned) {
                (true, _) => (Severity::Low, " (mentioned, not directed: low)"),
                (false, true) => (Severity::Low, " (expected for what this tool is for: low)"),
                (false, false) => (phrase.severity, ""),
            };
            let hit = Hit {
                rule: phrase.rule,
                severity,
                start: folded.original(found.start()),
                end: folded.original(found.end()),
                message: format!("{}{note}", phrase.message),
            };
            match best.iter_mut().find(|(rule, _)| *rule == phrase.rule) {
                Some((_, kept)) if kept.severity < hit.severity => *kept = hit,
                Some(_) => {}
                None => best.push((phrase.rule, hit)),
            }
            if severity == phrase.severity {
                break;
            }
        }
    }
    hits.extend(best.into_iter().map(|(_, hit)| hit));
}

/// Sensitive files: high when the sentence moves the contents somewhere or orders them read.
fn sensitive_files(text: &Text<'_>, folded: &Folded, hits: &mut Vec<Hit>) {
    let Some(pattern) = SENSITIVE_PATH.as_ref() else {
        return;
    };
    let mut best: Option<Hit> = None;
    for found in pattern.find_iter(folded.text.as_bytes()).take(8) {
        let path = String::from_utf8_lossy(found.as_bytes());
        let path = path.trim_start_matches([' ', '\t', '\n', '\'', '"', '`', '(', ':']);
        // Public keys are not secrets (the text is folded to lower case).
        if path
            .rsplit_once('.')
            .is_some_and(|(_, extension)| extension == "pub")
        {
            continue;
        }
        let (start, end) = sentence(&folded.text, found.start(), found.end());
        let around = &folded.text[start..end];
        let directed = text.role != Role::Input
            && (matches(&MOVING, around)
                || (matches(&STRONG, around) && matches(&READING, around)));
        let mention = mentioned(&folded.text, found.start(), found.end());
        let (severity, message) = if directed && !mention {
            (
                Severity::High,
                format!("the model is told to read `{path}` and pass it on"),
            )
        } else {
            (
                Severity::Low,
                format!("mentions the sensitive file `{path}`"),
            )
        };
        if best.as_ref().is_none_or(|kept| kept.severity < severity) {
            best = Some(Hit {
                rule: "sensitive-file",
                severity,
                start: folded.original(found.start()),
                end: folded.original(found.end()),
                message,
            });
        }
    }
    hits.extend(best);
}

/// Literal destinations with an instruction to send, copy or redirect data to them.
fn destinations(folded: &Folded, hits: &mut Vec<Hit>) {
    let Some(pattern) = DESTINATION.as_ref() else {
        return;
    };
    let mut best: Option<Hit> = None;
    for found in pattern.find_iter(folded.text.as_bytes()).take(8) {
        let destination = String::from_utf8_lossy(found.as_bytes());
        let destination = destination.trim_end_matches(['.', ',', ';', ':']);
        if is_placeholder(destination) {
            continue;
        }
        let (start, end) = sentence(&folded.text, found.start(), found.end());
        let before = clip(
            &folded.text,
            found.start().saturating_sub(160).max(start),
            found.start(),
        );
        let around = &folded.text[start..end];
        // A URL the model is to fill in (`?d={summary}`) carries data out when it is fetched.
        let template = destination.contains("://") && destination.contains(['{', '<', '$']);
        let severity = if matches(&REDIRECT, before) || (template && matches(&STRONG, around)) {
            Severity::High
        } else if template {
            Severity::Medium
        } else if matches(&TRANSFER, before) {
            if matches(&STRONG, around) {
                Severity::High
            } else if matches(&DATA_OBJECT, before) {
                Severity::Medium
            } else {
                continue;
            }
        } else {
            continue;
        };
        let severity = if mentioned(&folded.text, found.start(), found.end()) {
            Severity::Low
        } else {
            severity
        };
        if best.as_ref().is_none_or(|kept| kept.severity < severity) {
            best = Some(Hit {
                rule: "exfil-destination",
                severity,
                start: folded.original(start.max(found.start().saturating_sub(80))),
                end: folded.original(found.end()),
                message: format!(
                    "data is to be sent or redirected to `{}`",
                    visible(destination)
                ),
            });
        }
    }
    hits.extend(best);
}

/// Reserved example domains and placeholders are not destinations.
fn is_placeholder(destination: &str) -> bool {
    let host = destination
        .rsplit_once('@')
        .map(|(_, host)| host)
        .or_else(|| {
            destination
                .split_once("://")
                .map(|(_, rest)| rest.split(['/', ':', '?', '#']).next().unwrap_or(rest))
        })
        .unwrap_or(destination);
    let host = host.trim_end_matches('.');
    if destination.starts_with('+') {
        return destination.contains("555") || destination.contains("0000000");
    }
    let labels: Vec<&str> = host.split('.').collect();
    let tld = labels.last().copied().unwrap_or_default();
    let second = labels
        .len()
        .checked_sub(2)
        .and_then(|i| labels.get(i))
        .copied();
    matches!(tld, "example" | "test" | "invalid" | "localhost" | "local")
        || second == Some("example")
        || matches!(
            host,
            "localhost" | "127.0.0.1" | "0.0.0.0" | "[::1]" | "domain.com"
        )
        || host.starts_with("127.")
        || host.starts_with("your")
        || host.contains("placeholder")
}

/// Another server's tool named with a directive about it: high for "must/always/change/side
/// effect", medium for "instead of/prefer/deprecated".
fn references(original: &str, folded: &Folded, names: &Names<'_>, hits: &mut Vec<Hit>) {
    let Some(pattern) = REFERENCE.as_ref() else {
        return;
    };
    let mut best: Option<Hit> = None;
    for captures in pattern.captures_iter(original.as_bytes()).take(16) {
        let Some((group, found)) = captures
            .iter()
            .enumerate()
            .skip(1)
            .find_map(|(group, found)| found.map(|found| (group, found)))
        else {
            continue;
        };
        let Ok(identifier) = std::str::from_utf8(found.as_bytes()) else {
            continue;
        };
        if names.defines(identifier) || looks_like_file(identifier) {
            continue;
        }
        let at = folded.folded(found.start());
        let to = folded.folded(found.end());
        let (start, end) = sentence(&folded.text, at, to);
        if group == 1 && !matches(&TOOLISH, &folded.text[start..end]) {
            continue;
        }
        let window = clip(
            &folded.text,
            at.saturating_sub(100).max(start),
            (to + 100).min(end),
        );
        let severity = if matches(&SHADOW_HIGH, window) {
            Severity::High
        } else if matches(&SHADOW_MEDIUM, window) {
            Severity::Medium
        } else {
            continue;
        };
        let severity = if mentioned(&folded.text, at, to) {
            Severity::Low
        } else {
            severity
        };
        if best.as_ref().is_none_or(|kept| kept.severity < severity) {
            best = Some(Hit {
                rule: "shadow-other-tool",
                severity,
                start: found.start(),
                end: found.end(),
                message: format!(
                    "refers to `{}`, which this server does not define, and tells the model how to use it",
                    visible(identifier)
                ),
            });
        }
    }
    hits.extend(best);
}

fn looks_like_file(identifier: &str) -> bool {
    identifier.rsplit_once('.').is_some_and(|(_, extension)| {
        matches!(
            extension.to_ascii_lowercase().as_str(),
            "json"
                | "md"
                | "txt"
                | "py"
                | "js"
                | "ts"
                | "rs"
                | "go"
                | "yaml"
                | "yml"
                | "toml"
                | "env"
                | "html"
                | "csv"
                | "xml"
                | "sh"
                | "com"
                | "org"
                | "io"
                | "net"
                | "dev"
        )
    })
}

/// HTML comments and invisible styling (medium), padding that hides text below the fold.
fn markup(folded: &Folded, markup: bool, padding: bool, hits: &mut Vec<Hit>) {
    let haystack = folded.text.as_bytes();
    if markup
        && let Some(pattern) = HIDDEN_MARKUP.as_ref()
        && let Some(found) = pattern.find_iter(haystack).find(|found| {
            found
                .as_bytes()
                .iter()
                .filter(|b| b.is_ascii_alphabetic())
                .count()
                > 6
        })
    {
        let severity = if mentioned(&folded.text, found.start(), found.end()) {
            Severity::Low
        } else {
            Severity::Medium
        };
        hits.push(Hit {
            rule: "hidden-markup",
            severity,
            start: folded.original(found.start()),
            end: folded.original(found.end()),
            message: "an HTML comment or invisible styling hides text from rendered views"
                .to_owned(),
        });
    }
    if padding
        && let Some(pattern) = PADDING.as_ref()
        && let Some(found) = pattern.find(haystack)
    {
        hits.push(Hit {
            rule: "hidden-padding",
            severity: Severity::Medium,
            start: folded.original(found.start()),
            end: folded.original(found.end()),
            message: "a long run of blank lines or spaces pushes the rest of the text out of view"
                .to_owned(),
        });
    }
}

/// Long base64 runs that decode to text: medium, high when the text is an instruction.
fn encoded(original: &str, hits: &mut Vec<Hit>) {
    if !has_base64_run(original.as_bytes()) {
        return;
    }
    let Some(pattern) = BASE64.as_ref() else {
        return;
    };
    for found in pattern.find_iter(original.as_bytes()).take(4) {
        let Some(decoded) = decode_base64(found.as_bytes()) else {
            continue;
        };
        let Ok(decoded) = String::from_utf8(decoded) else {
            continue;
        };
        let printable = decoded
            .chars()
            .filter(|c| c.is_ascii_graphic() || *c == ' ' || *c == '\n')
            .count();
        if printable * 10 < decoded.chars().count() * 9 || !decoded.contains(' ') {
            continue;
        }
        let inner = Text {
            value: &decoded,
            pointer: "",
            owner: None,
            purpose: "",
            role: Role::Prose,
        };
        let folded = fold(&decoded);
        let mut inner_hits = Vec::new();
        if let Some(engine) = ENGINE.as_ref() {
            let matched = engine.set.matches(folded.text.as_bytes());
            phrases(engine, &matched, &inner, &folded, &mut inner_hits);
        }
        sensitive_files(&inner, &folded, &mut inner_hits);
        destinations(&folded, &mut inner_hits);
        let instruction = inner_hits
            .iter()
            .any(|hit| hit.severity >= Severity::Medium);
        let preview: String = decoded.chars().take(60).collect();
        hits.push(Hit {
            rule: "hidden-encoded-text",
            severity: if instruction {
                Severity::High
            } else {
                Severity::Medium
            },
            start: found.start(),
            end: found.end(),
            message: format!(
                "base64 that decodes to text{}: \"{}\"",
                if instruction {
                    " with instructions"
                } else {
                    ""
                },
                visible(&preview)
            ),
        });
        return;
    }
}

/// Whether `bytes` has a run of 80 base64 characters (cheaper than the regex on every string).
fn has_base64_run(bytes: &[u8]) -> bool {
    let mut run = 0;
    for byte in bytes {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'+' | b'/') {
            run += 1;
            if run >= 80 {
                return true;
            }
        } else {
            run = 0;
        }
    }
    false
}

fn decode_base64(text: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut buffer = 0u32;
    let mut bits = 0;
    for &byte in text {
        let value = match byte {
            b'A'..=b'Z' => byte - b'A',
            b'a'..=b'z' => byte - b'a' + 26,
            b'0'..=b'9' => byte - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => break,
            _ => return None,
        };
        buffer = (buffer << 6) | u32::from(value);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((buffer >> bits) & 0xFF).ok()?);
        }
    }
    Some(out)
}

fn matches(pattern: &std::sync::LazyLock<Option<regex::bytes::Regex>>, text: &str) -> bool {
    pattern
        .as_ref()
        .is_some_and(|re| re.is_match(text.as_bytes()))
}

/// Whether the phrase at `start..end` is only mentioned: a cue ("detects", "such as", "e.g.")
/// earlier in its sentence.
fn mentioned(text: &str, start: usize, end: usize) -> bool {
    let (sentence_start, _) = sentence(text, start, end);
    matches(&MENTION, &text[sentence_start..start])
}

/// Whether the phrase at `start..end` is quoted with `"` or `'`.
fn quoted(text: &str, start: usize, end: usize) -> bool {
    let before = text[..start].trim_end().chars().next_back();
    let after: String = text[end..].chars().take(100).collect();
    matches!(before, Some(quote @ ('"' | '\'')) if after.contains(quote))
}

/// The sentence around `start..end`: from after the previous `.`/`!`/`?` followed by a space (not
/// in "e.g.") or line break, to the next.
pub(super) fn sentence(text: &str, start: usize, end: usize) -> (usize, usize) {
    let bytes = text.as_bytes();
    let ends_sentence = |at: usize| {
        matches!(bytes.get(at), Some(b'.' | b'!' | b'?'))
            && bytes.get(at + 1).is_none_or(u8::is_ascii_whitespace)
            && !is_abbreviation(&text[..at])
    };
    let mut from = start.min(bytes.len());
    while from > 0 && bytes[from - 1] != b'\n' && !ends_sentence(from - 1) {
        from -= 1;
    }
    let mut to = end.min(bytes.len());
    while to < bytes.len() && bytes[to] != b'\n' {
        if ends_sentence(to) {
            to += 1;
            break;
        }
        to += 1;
    }
    (floor(text, from), ceil(text, to))
}

fn is_abbreviation(before: &str) -> bool {
    ["e.g", "i.e", "etc", " vs", " cf", " ex", " no"]
        .iter()
        .any(|abbreviation| before.ends_with(abbreviation))
}

/// `text[from..to]` with both ends moved onto character boundaries.
fn clip(text: &str, from: usize, to: usize) -> &str {
    let from = floor(text, from.min(text.len()));
    let to = ceil(text, to.clamp(from, text.len()));
    &text[from..to]
}

fn floor(text: &str, mut at: usize) -> usize {
    while at > 0 && !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

fn ceil(text: &str, mut at: usize) -> usize {
    while at < text.len() && !text.is_char_boundary(at) {
        at += 1;
    }
    at
}
