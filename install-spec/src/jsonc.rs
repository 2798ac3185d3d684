//! A small span-based JSONC editor: it parses JSON with comments and trailing commas into a tree of byte
//! ranges, then edits by splicing text, so every byte outside the replaced member (comments, blank lines,
//! key order, indentation) stays exactly as the user wrote it.
//!
//! Re-serializing through `serde_json` would drop comments, which is how other installers damage editor
//! settings files; this module never does that.

use std::ops::Range;

use serde_json::{Map, Value};

use self::parser::Parser;

mod parser;

/// A JSONC syntax error, with a 1-based line and column (in characters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub message: String,
    pub line: usize,
    pub column: usize,
}

/// One parsed value and the bytes it covers.
#[derive(Debug, Clone)]
pub struct Node {
    pub span: Range<usize>,
    pub kind: Kind,
}

#[derive(Debug, Clone)]
pub enum Kind {
    Object(Vec<Member>),
    Array(Vec<Node>),
    /// A string, number, `true`, `false` or `null`; its text is `span`.
    Scalar,
}

/// `"key": value` inside an object.
#[derive(Debug, Clone)]
pub struct Member {
    pub key: String,
    pub key_span: Range<usize>,
    pub value: Node,
}

/// A parsed JSONC document: the text plus its tree.
#[derive(Debug, Clone)]
pub struct Document {
    text: String,
    root: Option<Node>,
}

impl Document {
    /// Parses `text`; an empty (or whitespace/comment-only) text is a document without a root, which
    /// editing turns into `{}`.
    pub fn parse(text: &str) -> Result<Self, SyntaxError> {
        let mut parser = Parser {
            text,
            bytes: text.as_bytes(),
            pos: 0,
            depth: 0,
        };
        parser.skip_trivia()?;
        if parser.pos >= parser.bytes.len() {
            return Ok(Self {
                text: text.to_owned(),
                root: None,
            });
        }
        let root = parser.value()?;
        parser.skip_trivia()?;
        if parser.pos < parser.bytes.len() {
            return Err(parser.error("unexpected text after the end of the JSON value"));
        }
        Ok(Self {
            text: text.to_owned(),
            root: Some(root),
        })
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn into_text(self) -> String {
        self.text
    }

    /// The node at `path` (object keys only); `None` if any step is missing or not an object.
    pub fn get(&self, path: &[&str]) -> Option<&Node> {
        let mut node = self.root.as_ref()?;
        for key in path {
            node = &member(node, key)?.value;
        }
        Some(node)
    }

    /// The value at `path` as plain JSON (comments dropped).
    pub fn value_at(&self, path: &[&str]) -> Option<Value> {
        self.get(path).map(|node| to_value(&self.text, node))
    }

    /// Describes the first step of `path` that exists but is not an object (so `set` would fail).
    pub fn check_object_path(&self, path: &[&str]) -> Result<(), String> {
        let Some(mut node) = self.root.as_ref() else {
            return Ok(());
        };
        let mut walked = String::new();
        for key in path {
            let Kind::Object(members) = &node.kind else {
                return Err(describe_not_object(&walked));
            };
            walked.push('.');
            walked.push_str(key);
            match members.iter().rev().find(|m| m.key == *key) {
                Some(m) => node = &m.value,
                None => return Ok(()),
            }
        }
        if matches!(node.kind, Kind::Object(_)) {
            Ok(())
        } else {
            Err(describe_not_object(&walked))
        }
    }

    /// Sets `path` (the last element is the member name) to `value`, creating missing parent objects.
    /// An existing member keeps its position; a new one goes after the last member.
    pub fn set(&mut self, path: &[&str], value: &Value) -> Result<(), String> {
        let Some((last, parents)) = path.split_last() else {
            return Err("empty path".to_owned());
        };
        self.check_object_path(parents)?;
        let indent_unit = detect_indent(&self.text);
        let Some(root) = self.root.as_ref() else {
            // Empty document: write a fresh object.
            let mut nested = value.clone();
            for key in path.iter().rev() {
                let mut map = Map::new();
                map.insert((*key).to_owned(), nested);
                nested = Value::Object(map);
            }
            let prefix = if self.text.trim().is_empty() {
                String::new()
            } else {
                // Only comments: keep them above the new object.
                format!("{}\n", self.text.trim_end())
            };
            self.text = format!("{prefix}{}\n", render(&nested, &indent_unit, ""));
            self.reparse()?;
            return Ok(());
        };
        // Walk to the deepest existing object on the path.
        let mut node = root;
        let mut depth = 0;
        while depth < parents.len() {
            match member(node, parents[depth]) {
                Some(m) => {
                    node = &m.value;
                    depth += 1;
                }
                None => break,
            }
        }
        if depth == parents.len()
            && let Some(existing) = member(node, last)
        {
            // Replace the value in place.
            let indent = line_indent(&self.text, existing.key_span.start);
            let rendered = render(value, &indent_unit, &indent);
            let span = existing.value.span.clone();
            self.text.replace_range(span, &rendered);
            return self.reparse();
        }
        // Insert the rest of the path as one new member of `node`.
        let mut nested = value.clone();
        for key in path[depth + 1..].iter().rev() {
            let mut map = Map::new();
            map.insert((*key).to_owned(), nested);
            nested = Value::Object(map);
        }
        let key = path[depth];
        let Kind::Object(members) = &node.kind else {
            return Err("not an object".to_owned());
        };
        let slots: Vec<Range<usize>> = members
            .iter()
            .map(|m| m.key_span.start..m.value.span.end)
            .collect();
        let item_text = |indent: &str| {
            format!(
                "{}: {}",
                Value::String(key.to_owned()),
                render(&nested, &indent_unit, indent)
            )
        };
        let edits = insert_slot(
            &self.text,
            node.span.clone(),
            &slots,
            &indent_unit,
            item_text,
        );
        apply_edits(&mut self.text, edits);
        self.reparse()
    }

    /// Removes the member at `path`; `false` if it was not there.
    pub fn remove(&mut self, path: &[&str]) -> Result<bool, String> {
        let Some((last, parents)) = path.split_last() else {
            return Err("empty path".to_owned());
        };
        let Some(parent) = self.get(parents) else {
            return Ok(false);
        };
        let Kind::Object(members) = &parent.kind else {
            return Ok(false);
        };
        let Some(index) = members.iter().rposition(|m| m.key == *last) else {
            return Ok(false);
        };
        let slots: Vec<Range<usize>> = members
            .iter()
            .map(|m| m.key_span.start..m.value.span.end)
            .collect();
        let edits = remove_slot(&self.text, parent.span.clone(), &slots, index);
        apply_edits(&mut self.text, edits);
        self.reparse()?;
        Ok(true)
    }

    /// Appends `value` to the array at `path`, creating the array (and parents) if missing.
    pub fn push(&mut self, path: &[&str], value: &Value) -> Result<(), String> {
        match self.get(path) {
            None => self.set(path, &Value::Array(vec![value.clone()])),
            Some(node) => {
                let Kind::Array(items) = &node.kind else {
                    return Err(format!("`{}` is not an array", path.join(".")));
                };
                let indent_unit = detect_indent(&self.text);
                let slots: Vec<Range<usize>> = items.iter().map(|i| i.span.clone()).collect();
                let edits = insert_slot(
                    &self.text,
                    node.span.clone(),
                    &slots,
                    &indent_unit,
                    |indent| render(value, &indent_unit, indent),
                );
                apply_edits(&mut self.text, edits);
                self.reparse()
            }
        }
    }

    /// Removes the items of the array at `path` for which `pred` is true; returns how many.
    pub fn remove_items(
        &mut self,
        path: &[&str],
        pred: impl Fn(&Value) -> bool,
    ) -> Result<usize, String> {
        let mut removed = 0;
        loop {
            let Some(node) = self.get(path) else {
                return Ok(removed);
            };
            let Kind::Array(items) = &node.kind else {
                return Ok(removed);
            };
            let Some(index) = items.iter().position(|i| pred(&to_value(&self.text, i))) else {
                return Ok(removed);
            };
            let slots: Vec<Range<usize>> = items.iter().map(|i| i.span.clone()).collect();
            let edits = remove_slot(&self.text, node.span.clone(), &slots, index);
            apply_edits(&mut self.text, edits);
            self.reparse()?;
            removed += 1;
        }
    }

    fn reparse(&mut self) -> Result<(), String> {
        let doc = Self::parse(&self.text).map_err(|err| {
            format!(
                "internal edit produced invalid JSON at {}:{}: {}",
                err.line, err.column, err.message
            )
        })?;
        self.root = doc.root;
        Ok(())
    }
}

fn describe_not_object(walked: &str) -> String {
    if walked.is_empty() {
        "the top-level value is not an object".to_owned()
    } else {
        format!("`{}` is not an object", &walked[1..])
    }
}

/// The member `key` of `node`; `None` if absent or `node` is not an object.
fn member<'a>(node: &'a Node, key: &str) -> Option<&'a Member> {
    match &node.kind {
        // Later duplicates win, as in JavaScript.
        Kind::Object(members) => members.iter().rev().find(|m| m.key == key),
        _ => None,
    }
}

/// Converts a node to plain JSON.
pub fn to_value(text: &str, node: &Node) -> Value {
    match &node.kind {
        Kind::Object(members) => Value::Object(
            members
                .iter()
                .map(|m| (m.key.clone(), to_value(text, &m.value)))
                .collect(),
        ),
        Kind::Array(items) => Value::Array(items.iter().map(|i| to_value(text, i)).collect()),
        Kind::Scalar => serde_json::from_str(&text[node.span.clone()]).unwrap_or(Value::Null),
    }
}

/// A text replacement: `range` becomes `text`.
type Edit = (Range<usize>, String);

fn apply_edits(text: &mut String, edits: Vec<Edit>) {
    // Apply from the end so earlier offsets stay valid; of two inserts at one offset, the one listed
    // first ends up first.
    let mut edits: Vec<(usize, Edit)> = edits.into_iter().enumerate().collect();
    edits.sort_by(|(i, a), (j, b)| b.0.start.cmp(&a.0.start).then(j.cmp(i)));
    // New lines follow the file's line endings.
    let crlf = text.contains("\r\n");
    for (_, (range, replacement)) in edits {
        let replacement = if crlf {
            replacement.replace('\n', "\r\n")
        } else {
            replacement
        };
        text.replace_range(range, &replacement);
    }
}

/// Edits that add one element to the container spanning `container` (from its `{`/`[` to its
/// `}`/`]`) whose existing elements span `slots`. `item` renders the element for an indentation.
fn insert_slot(
    text: &str,
    container: Range<usize>,
    slots: &[Range<usize>],
    indent_unit: &str,
    item: impl Fn(&str) -> String,
) -> Vec<Edit> {
    let bytes = text.as_bytes();
    let close = container.end - 1;
    let container_indent = line_indent(text, container.start);
    if let Some(last) = slots.last() {
        let indent = line_indent(text, slots[0].start);
        let single_line = !text[container.clone()].contains('\n');
        // Where the last element's line ends: after its comma and a comment on the same line.
        let comma = skip_inline_ws(bytes, last.end);
        let had_comma = bytes.get(comma) == Some(&b',');
        let mut edits = Vec::new();
        let mut pos = if had_comma {
            comma + 1
        } else {
            edits.push((last.end..last.end, ",".to_owned()));
            last.end
        };
        if single_line {
            let rendered = item("");
            let text_after = if had_comma {
                format!(" {rendered},")
            } else {
                format!(" {rendered}")
            };
            edits.push((pos..pos, text_after));
            return edits;
        }
        let after_ws = skip_inline_ws(bytes, pos);
        if bytes.get(after_ws) == Some(&b'/') && bytes.get(after_ws + 1) == Some(&b'/') {
            pos = line_end(bytes, after_ws);
        } else if bytes.get(after_ws) == Some(&b'/') && bytes.get(after_ws + 1) == Some(&b'*') {
            pos = block_comment_end(bytes, after_ws).min(close);
        }
        let trailing = if had_comma { "," } else { "" };
        edits.push((pos..pos, format!("\n{indent}{}{trailing}", item(&indent))));
        edits
    } else {
        // Empty container: insert before the closing bracket, after any comments inside.
        let indent = format!("{container_indent}{indent_unit}");
        let mut end = close;
        while end > container.start + 1 && bytes[end - 1].is_ascii_whitespace() {
            end -= 1;
        }
        let before_close = &text[end..close];
        let closing_indent = if before_close.contains('\n') {
            String::new()
        } else {
            format!("\n{container_indent}")
        };
        vec![(
            end..end,
            format!("\n{indent}{}{closing_indent}", item(&indent)),
        )]
    }
}

/// Edits that remove element `index` of the container, with its comma, its line, and a comment on
/// the same line after it.
fn remove_slot(
    text: &str,
    container: Range<usize>,
    slots: &[Range<usize>],
    index: usize,
) -> Vec<Edit> {
    let bytes = text.as_bytes();
    let slot = &slots[index];
    let inner = container.start + 1..container.end.saturating_sub(1);
    if slots.len() == 1
        && inner.start <= slot.start
        && slot.end <= inner.end
        && text[inner.start..slot.start].trim().is_empty()
        && text[slot.end..inner.end].trim().is_empty()
    {
        // The only element goes and nothing else is inside: `{}` / `[]`, not a brace on its own line.
        return vec![(inner, String::new())];
    }
    let mut start = slot.start;
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let own_line = text[line_start..start].trim().is_empty() && line_start > container.start;
    if own_line {
        start = line_start;
    }
    let mut end = skip_inline_ws(bytes, slot.end);
    let has_comma = bytes.get(end) == Some(&b',');
    if has_comma {
        end += 1;
    }
    let after = skip_inline_ws(bytes, end);
    if own_line {
        if bytes.get(after) == Some(&b'/') && bytes.get(after + 1) == Some(&b'/') {
            end = line_end(bytes, after);
        }
        let after = skip_inline_ws(bytes, end);
        if bytes.get(after) == Some(&b'\n') {
            end = after + 1;
        } else if bytes.get(after) == Some(&b'\r') && bytes.get(after + 1) == Some(&b'\n') {
            end = after + 2;
        }
    } else if has_comma {
        end = after;
    }
    let mut edits = vec![(start..end, String::new())];
    if !has_comma && index > 0 {
        // The last element goes: the comma after the previous one must go too.
        let prev_end = slots[index - 1].end;
        let comma = skip_trivia_bytes(bytes, prev_end);
        if bytes.get(comma) == Some(&b',') {
            edits.push((comma..comma + 1, String::new()));
        }
    } else if !has_comma && !own_line {
        // Only element on a single line, e.g. `{ "a": 1 }`: drop the space before it too.
        let mut s = start;
        while s > container.start + 1 && bytes[s - 1] == b' ' {
            s -= 1;
        }
        edits[0].0.start = s;
    }
    edits
}

fn skip_inline_ws(bytes: &[u8], mut pos: usize) -> usize {
    while matches!(bytes.get(pos), Some(b' ' | b'\t')) {
        pos += 1;
    }
    pos
}

fn skip_trivia_bytes(bytes: &[u8], mut pos: usize) -> usize {
    loop {
        match bytes.get(pos) {
            Some(b' ' | b'\t' | b'\r' | b'\n') => pos += 1,
            Some(b'/') if bytes.get(pos + 1) == Some(&b'/') => pos = line_end(bytes, pos),
            Some(b'/') if bytes.get(pos + 1) == Some(&b'*') => pos = block_comment_end(bytes, pos),
            _ => return pos,
        }
    }
}

/// Position of the `\n` (or `\r\n`) ending the line that contains `pos`, or the end of text.
fn line_end(bytes: &[u8], mut pos: usize) -> usize {
    while pos < bytes.len() && bytes[pos] != b'\n' {
        pos += 1;
    }
    if pos > 0 && bytes.get(pos - 1) == Some(&b'\r') {
        pos - 1
    } else {
        pos
    }
}

fn block_comment_end(bytes: &[u8], start: usize) -> usize {
    let mut pos = start + 2;
    while pos + 1 < bytes.len() {
        if bytes[pos] == b'*' && bytes[pos + 1] == b'/' {
            return pos + 2;
        }
        pos += 1;
    }
    bytes.len()
}

/// The whitespace at the start of the line containing `pos`.
fn line_indent(text: &str, pos: usize) -> String {
    let line_start = text[..pos].rfind('\n').map_or(0, |i| i + 1);
    text[line_start..]
        .chars()
        .take_while(|c| *c == ' ' || *c == '\t')
        .collect()
}

/// The file's indentation unit: the first indented line's leading whitespace (tabs, or the smallest
/// space run), else two spaces.
fn detect_indent(text: &str) -> String {
    let mut smallest: Option<usize> = None;
    for line in text.lines() {
        if line.trim().is_empty() {
            continue;
        }
        if line.starts_with('\t') {
            return "\t".to_owned();
        }
        let spaces = line.len() - line.trim_start_matches(' ').len();
        if spaces > 0 && smallest.is_none_or(|s| spaces < s) {
            smallest = Some(spaces);
        }
    }
    " ".repeat(smallest.unwrap_or(2))
}

/// Pretty-prints `value` with `unit` per level, continuation lines starting at `indent`.
pub fn render(value: &Value, unit: &str, indent: &str) -> String {
    let mut out = String::new();
    render_into(&mut out, value, unit, indent);
    out
}

fn render_into(out: &mut String, value: &Value, unit: &str, indent: &str) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            let inner = format!("{indent}{unit}");
            out.push('{');
            for (i, (key, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push('\n');
                out.push_str(&inner);
                out.push_str(&Value::String(key.clone()).to_string());
                out.push_str(": ");
                render_into(out, item, unit, &inner);
            }
            out.push('\n');
            out.push_str(indent);
            out.push('}');
        }
        // Short arrays of scalars stay on one line, as people write `"args": ["-y", "pkg@1"]`.
        Value::Array(items) if !items.is_empty() => {
            let inline = items.iter().all(|i| !i.is_object() && !i.is_array());
            if inline {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    out.push_str(&item.to_string());
                }
                out.push(']');
            } else {
                let inner = format!("{indent}{unit}");
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push('\n');
                    out.push_str(&inner);
                    render_into(out, item, unit, &inner);
                }
                out.push('\n');
                out.push_str(indent);
                out.push(']');
            }
        }
        other => out.push_str(&other.to_string()),
    }
}

#[cfg(test)]
mod tests;
