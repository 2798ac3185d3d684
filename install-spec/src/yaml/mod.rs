//! A small line-based YAML editor for the two YAML hosts (Continue's `mcpServers:` list, Goose's
//! `extensions:` map). It finds the top-level key, then appends, replaces or removes one item by
//! splicing whole lines, so every other byte (comments, blank lines, quoting, key order) stays as the user
//! wrote it. New items are block YAML with every string double-quoted (JSON escapes are valid YAML).
//!
//! It understands only what it needs and refuses the rest with a line number rather than guess: flow
//! style or a scalar at the key, anchors, aliases, tags and merge keys in the section, tabs in
//! indentation, multi-line quoted strings in the section, several documents. Every edit is checked by
//! re-reading the result: the edited item must parse back to exactly the entry written.

mod emit;
mod parse;
mod scan;
#[cfg(test)]
mod tests;

use serde_json::Value;

use self::emit::{key_text, render_item};
use self::scan::strip_comment;
use crate::hosts::Layout;

/// Why the editor refused a file, with the 1-based line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    pub message: String,
    pub line: usize,
}

fn err<T>(line: usize, message: impl Into<String>) -> Result<T, YamlError> {
    Err(YamlError {
        message: message.into(),
        line,
    })
}

/// One physical line: byte range without the line break, and where the next line starts.
#[derive(Debug, Clone)]
struct Line<'a> {
    start: usize,
    next: usize,
    text: &'a str,
    indent: usize,
    content: bool,
}

/// The parts of a document the editor works with.
#[derive(Debug)]
struct Doc<'a> {
    text: &'a str,
    lines: Vec<Line<'a>>,
    crlf: bool,
    root: Option<Section>,
}

/// The root key and its items.
#[derive(Debug)]
struct Section {
    key_line: usize,
    /// Byte range of the inline value after `key:` (`[]`, `{}`, `null`), empty for a block.
    inline_value: std::ops::Range<usize>,
    items: Vec<Item>,
    /// Indentation of the items (of the `-` for lists), when there are any.
    item_indent: Option<usize>,
}

#[derive(Debug)]
struct Item {
    first: usize,
    /// The last content line of the item (trailing comments and blanks are not part of it).
    last: usize,
    name: Option<String>,
}

/// A document holding only `root` with the one entry (`--print`).
pub fn snippet(root: &str, layout: Layout, name: &str, entry: &Value) -> String {
    format!("{root}:\n{}", render_item(layout, name, entry, 2, "\n"))
}

/// Checks that `text` is YAML this editor can work with.
pub fn check(text: &str, root: &str, layout: Layout) -> Result<(), YamlError> {
    Doc::scan(text, root, layout).map(|_| ())
}

/// The entry `name` under `root`, if present (unreadable content comes back as a string).
pub fn get(text: &str, root: &str, layout: Layout, name: &str) -> Result<Option<Value>, YamlError> {
    let doc = Doc::scan(text, root, layout)?;
    Ok(doc.find(name).map(|item| doc.item_value(item, layout)))
}

/// `text` with the entry `name` under `root` set to `entry` (replaced in place, or appended). A file
/// without any content starts with `new_file` (e.g. Continue's `name`/`version`/`schema` header).
pub fn set(
    text: &str,
    root: &str,
    layout: Layout,
    name: &str,
    entry: &Value,
    new_file: Option<&str>,
) -> Result<String, YamlError> {
    let doc = Doc::scan(text, root, layout)?;
    let eol = doc.eol();
    let mut out = String::with_capacity(text.len() + 256);
    match (&doc.root, doc.find(name)) {
        (Some(section), Some(item)) => {
            let indent = section.item_indent.unwrap_or(2);
            let start = doc.lines[item.first].start;
            let end = doc.lines[item.last].next;
            out.push_str(&text[..start]);
            out.push_str(&render_item(layout, name, entry, indent, eol));
            out.push_str(&text[end..]);
        }
        (Some(section), None) => {
            let indent = section.item_indent.unwrap_or(2);
            let (at, value) = match section.items.last() {
                Some(last) => (doc.lines[last.last].next, 0..0),
                None => (
                    doc.lines[section.key_line].next,
                    section.inline_value.clone(),
                ),
            };
            // `key: []` becomes `key:` followed by the block.
            let mut head = text[..at].to_owned();
            if !value.is_empty() {
                let after = &text[value.end..at];
                head.truncate(value.start);
                let trimmed = head.trim_end_matches(' ').len();
                head.truncate(trimmed);
                if after.trim_start().starts_with('#') {
                    head.push(' ');
                }
                head.push_str(after.trim_start_matches(' '));
            }
            out.push_str(&head);
            if !out.is_empty() && !out.ends_with('\n') {
                out.push_str(eol);
            }
            out.push_str(&render_item(layout, name, entry, indent, eol));
            out.push_str(&text[at..]);
        }
        (None, _) => {
            let blank = !doc.lines.iter().any(|l| l.content);
            if blank && let Some(header) = new_file {
                out.push_str(&header.replace('\n', eol));
            }
            out.push_str(text);
            if !out.is_empty() && !out.ends_with('\n') {
                out.push_str(eol);
            }
            out.push_str(&key_text(root));
            out.push(':');
            out.push_str(eol);
            out.push_str(&render_item(layout, name, entry, 2, eol));
        }
    }
    verify(&out, root, layout, name, Some(entry))?;
    Ok(out)
}

/// `text` without the entry `name`; `None` if it is not there. A section left empty goes too (its key
/// line becomes `key: []`/`{}` when it carries a comment).
pub fn remove(
    text: &str,
    root: &str,
    layout: Layout,
    name: &str,
) -> Result<Option<String>, YamlError> {
    let doc = Doc::scan(text, root, layout)?;
    let (Some(section), Some(item)) = (&doc.root, doc.find(name)) else {
        return Ok(None);
    };
    let start = doc.lines[item.first].start;
    let end = doc.lines[item.last].next;
    let mut out = String::with_capacity(text.len());
    if section.items.len() == 1 {
        let key = &doc.lines[section.key_line];
        let body = strip_comment(key.text, section.key_line + 1)?;
        let comment = key.text[body.len()..].trim();
        out.push_str(&text[..key.start]);
        if !comment.is_empty() {
            let empty = match layout {
                Layout::List { .. } => "[]",
                Layout::Map => "{}",
            };
            out.push_str(&key_text(root));
            out.push_str(": ");
            out.push_str(empty);
            out.push(' ');
            out.push_str(comment);
            out.push_str(doc.eol());
        }
        out.push_str(&text[key.next..start]);
    } else {
        out.push_str(&text[..start]);
    }
    out.push_str(&text[end..]);
    verify(&out, root, layout, name, None)?;
    Ok(Some(out))
}

/// Re-reads an edit's result: it must scan, and the entry must read back as `want`.
fn verify(
    text: &str,
    root: &str,
    layout: Layout,
    name: &str,
    want: Option<&Value>,
) -> Result<(), YamlError> {
    let got = get(text, root, layout, name).map_err(|e| YamlError {
        message: format!(
            "internal edit produced YAML mcp-reg cannot read: {}",
            e.message
        ),
        line: e.line,
    })?;
    if got.as_ref() != want {
        return err(0, "internal edit did not read back as written");
    }
    Ok(())
}
