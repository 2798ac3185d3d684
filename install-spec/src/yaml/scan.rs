//! Reading a document's structure: lines, comments, refused features, the root section and items.

use serde_json::Value;

use super::parse::{parse_inline, parse_map, parse_quoted, parse_seq};
use super::{Doc, Item, Line, Section, YamlError, err};
use crate::hosts::Layout;

fn split_lines(text: &str) -> Vec<Line<'_>> {
    let mut lines = Vec::new();
    let mut start = 0;
    while start < text.len() {
        let end = text[start..].find('\n').map_or(text.len(), |i| start + i);
        let next = (end + 1).min(text.len());
        let raw = text[start..end]
            .strip_suffix('\r')
            .unwrap_or(&text[start..end]);
        let trimmed = raw.trim_start_matches(' ');
        let content = !trimmed.trim().is_empty() && !trimmed.trim_start().starts_with('#');
        lines.push(Line {
            start,
            next: if end == text.len() { end } else { next },
            text: raw,
            indent: raw.len() - trimmed.len(),
            content,
        });
        start = if end == text.len() { end } else { next };
    }
    lines
}

/// `s` up to a comment (` #` outside quotes), trimmed at the end; errors on an unclosed quote.
pub(super) fn strip_comment(s: &str, line: usize) -> Result<&str, YamlError> {
    let bytes = s.as_bytes();
    let mut i = 0;
    let mut quote: Option<u8> = None;
    while i < bytes.len() {
        let b = bytes[i];
        match quote {
            Some(b'"') if b == b'\\' => i += 1,
            Some(q) if b == q => {
                if q == b'\'' && bytes.get(i + 1) == Some(&b'\'') {
                    i += 1;
                } else {
                    quote = None;
                }
            }
            None if b == b'#' && (i == 0 || bytes[i - 1] == b' ' || bytes[i - 1] == b'\t') => {
                return Ok(s[..i].trim_end());
            }
            None if (b == b'"' || b == b'\'') && starts_token(bytes, i) => quote = Some(b),
            _ => {}
        }
        i += 1;
    }
    if quote.is_some() {
        return err(
            line,
            "a quoted string continues on the next line; mcp-reg does not edit multi-line strings here",
        );
    }
    Ok(s.trim_end())
}

/// Whether position `i` starts a token (a quote there opens a quoted scalar; `&`/`*` an anchor/alias).
fn starts_token(bytes: &[u8], i: usize) -> bool {
    i == 0
        || matches!(
            bytes[i - 1],
            b' ' | b'\t' | b'[' | b'{' | b',' | b'-' | b':'
        )
}

/// Refuses anchors, aliases, tags and merge keys in `s` (a content line without its comment).
fn check_plain_features(s: &str, line: usize) -> Result<(), YamlError> {
    let bytes = s.as_bytes();
    let mut quote: Option<u8> = None;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match quote {
            Some(b'"') if b == b'\\' => i += 1,
            Some(q) if b == q => {
                if q == b'\'' && bytes.get(i + 1) == Some(&b'\'') {
                    i += 1;
                } else {
                    quote = None;
                }
            }
            None if (b == b'"' || b == b'\'') && starts_token(bytes, i) => quote = Some(b),
            None if matches!(b, b'&' | b'*' | b'!')
                && starts_token(bytes, i)
                && bytes.get(i + 1).is_some_and(|n| !n.is_ascii_whitespace()) =>
            {
                let what = match b {
                    b'&' => "an anchor",
                    b'*' => "an alias",
                    _ => "a tag",
                };
                return err(
                    line,
                    format!(
                        "{what} (`{}`); mcp-reg does not edit YAML that uses them",
                        &s[i..]
                    ),
                );
            }
            _ => {}
        }
        i += 1;
    }
    let key = s.trim_start().trim_start_matches("- ").trim_start();
    if key.starts_with("<<:") || key.starts_with("? ") || key == "?" {
        return err(
            line,
            "merge keys and complex keys are not supported by mcp-reg's YAML editor",
        );
    }
    Ok(())
}

/// Splits `key: rest` (rest may be empty); `None` when the line is not a mapping entry.
pub(super) fn split_key(s: &str, line: usize) -> Result<Option<(String, &str)>, YamlError> {
    let s = s.trim_start();
    if s.starts_with('"') || s.starts_with('\'') {
        let (key, used) = parse_quoted(s, line)?;
        let rest = s[used..].trim_start();
        return Ok(rest
            .strip_prefix(':')
            .filter(|r| r.is_empty() || r.starts_with(' '))
            .map(|r| (key, r.trim())));
    }
    if s.starts_with(['-', '[', '{', '?', '|', '>', '#']) && !s.starts_with("-:") {
        return Ok(None);
    }
    let bytes = s.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if b == b':' && (i + 1 == bytes.len() || bytes[i + 1] == b' ') {
            return Ok(Some((s[..i].trim_end().to_owned(), s[i + 1..].trim())));
        }
    }
    Ok(None)
}

/// A `-` sequence entry: the text after `- ` (possibly empty).
pub(super) fn dash_rest(s: &str) -> Option<&str> {
    if s == "-" {
        Some("")
    } else {
        s.strip_prefix("- ")
    }
}

impl<'a> Doc<'a> {
    pub(super) fn scan(text: &'a str, root: &str, layout: Layout) -> Result<Self, YamlError> {
        if text.starts_with('\u{feff}') {
            return err(1, "the file starts with a byte order mark");
        }
        let lines = split_lines(text);
        let mut seen_content = false;
        let mut root_line = None;
        for (n, line) in lines.iter().enumerate() {
            if !line.content {
                continue;
            }
            let lead = &line.text[..line.text.len() - line.text.trim_start().len()];
            if lead.contains('\t') {
                return err(n + 1, "a tab in the indentation");
            }
            if line.indent != 0 {
                seen_content = true;
                continue;
            }
            let t = line.text;
            if t == "---" || t.starts_with("--- ") {
                if seen_content {
                    return err(n + 1, "a second YAML document (`---`)");
                }
                if strip_comment(&t[3..], n + 1)?.trim().is_empty() {
                    continue;
                }
                return err(n + 1, "content on the `---` line");
            }
            if t == "..." || t.starts_with("... ") || t.starts_with('%') {
                return err(n + 1, "document markers or directives are not supported");
            }
            if dash_rest(t).is_some() {
                if !seen_content {
                    return err(n + 1, "the top level is a list, not a mapping");
                }
                continue;
            }
            seen_content = true;
            // Other keys may hold multi-line strings; only their key matters here.
            let stripped = strip_comment(t, n + 1).unwrap_or(t);
            match split_key(stripped, n + 1)? {
                Some((key, _)) if key == root => {
                    if root_line.is_some() {
                        return err(n + 1, format!("`{root}` appears twice"));
                    }
                    root_line = Some(n);
                }
                Some(_) => {}
                None => {
                    return err(
                        n + 1,
                        "the top level is not a mapping of `key: value` lines",
                    );
                }
            }
        }
        let crlf = text.contains("\r\n");
        let mut doc = Self {
            text,
            lines,
            crlf,
            root: None,
        };
        if let Some(key_line) = root_line {
            doc.root = Some(doc.section(key_line, root, layout)?);
        }
        Ok(doc)
    }

    fn section(&self, key_line: usize, root: &str, layout: Layout) -> Result<Section, YamlError> {
        let line = &self.lines[key_line];
        let stripped = strip_comment(line.text, key_line + 1)?;
        let value = split_key(stripped, key_line + 1)?.map_or("", |(_, v)| v);
        let want = match layout {
            Layout::List { .. } => "list",
            Layout::Map => "map",
        };
        let value_start = line.start + stripped.len() - value.len();
        let inline_value = value_start..value_start + value.len();
        let empty_inline = matches!(value, "" | "null" | "~" | "Null" | "NULL")
            || (value == "[]" && matches!(layout, Layout::List { .. }))
            || (value == "{}" && layout == Layout::Map);
        if !empty_inline {
            let what = if value.starts_with(['[', '{']) {
                "is written in flow style (`[...]`/`{...}`)"
            } else if value.starts_with(['&', '*', '!']) {
                "uses an anchor, alias or tag"
            } else {
                "is not a block"
            };
            return err(
                key_line + 1,
                format!("`{root}` {what}; mcp-reg edits only a block {want} there"),
            );
        }
        // The section: following lines until the next top-level key.
        let mut items: Vec<Item> = Vec::new();
        let mut item_indent = None;
        for n in key_line + 1..self.lines.len() {
            let line = &self.lines[n];
            if !line.content {
                continue;
            }
            let body = strip_comment(line.text, n + 1)?;
            let dash = dash_rest(body.trim_start());
            if line.indent == 0 && dash.is_none() {
                break;
            }
            if line.indent == 0 && layout == Layout::Map {
                return err(
                    n + 1,
                    format!("`{root}` holds a list; mcp-reg expected a map"),
                );
            }
            if value == "[]" || value == "{}" {
                return err(
                    n + 1,
                    format!("`{root}: {value}` is followed by indented lines"),
                );
            }
            check_plain_features(body, n + 1)?;
            let indent = *item_indent.get_or_insert(line.indent);
            if line.indent < indent {
                return err(n + 1, format!("inconsistent indentation under `{root}`"));
            }
            if line.indent > indent {
                if let Some(item) = items.last_mut() {
                    item.last = n;
                }
                continue;
            }
            let name = match layout {
                Layout::List { .. } => {
                    if dash.is_none() {
                        return err(n + 1, format!("expected a `- ` list item under `{root}`"));
                    }
                    None
                }
                Layout::Map => match split_key(body, n + 1)? {
                    Some((key, _)) => Some(key),
                    None => return err(n + 1, format!("expected `name:` entries under `{root}`")),
                },
            };
            items.push(Item {
                first: n,
                last: n,
                name,
            });
        }
        if let Layout::List { name_key } = layout {
            for item in &mut items {
                item.name = self.list_item_name(item, name_key)?;
            }
        }
        self.check_items(&items, layout, key_line, root)?;
        Ok(Section {
            key_line,
            inline_value,
            items,
            item_indent,
        })
    }

    /// Every item must be YAML this module reads (or an edit beside it could hide a broken file), and
    /// names must be unique.
    fn check_items(
        &self,
        items: &[Item],
        layout: Layout,
        key_line: usize,
        root: &str,
    ) -> Result<(), YamlError> {
        for item in items {
            self.item_parse(item, layout)?;
        }
        let mut names: Vec<&str> = items.iter().filter_map(|i| i.name.as_deref()).collect();
        names.sort_unstable();
        let duplicate = names.windows(2).find_map(|w| match w {
            [a, b] if a == b => Some(*a),
            _ => None,
        });
        if let Some(name) = duplicate {
            return err(
                key_line + 1,
                format!("two entries named `{name}` under `{root}`"),
            );
        }
        Ok(())
    }

    /// The `name_key` value of a list item's mapping.
    fn list_item_name(&self, item: &Item, name_key: &str) -> Result<Option<String>, YamlError> {
        let first = &self.lines[item.first];
        let body = strip_comment(first.text, item.first + 1)?;
        let rest = dash_rest(body.trim_start()).unwrap_or_default();
        let mut map_indent = None;
        let mut candidates: Vec<(usize, &str)> = Vec::new();
        if !rest.is_empty() {
            map_indent = Some(first.indent + (body.trim_start().len() - rest.len()));
            candidates.push((item.first, rest));
        }
        for n in item.first + 1..=item.last {
            let line = &self.lines[n];
            if !line.content {
                continue;
            }
            let indent = *map_indent.get_or_insert(line.indent);
            if line.indent == indent {
                candidates.push((n, strip_comment(line.text, n + 1)?));
            }
        }
        for (n, text) in candidates {
            if let Some((key, value)) = split_key(text, n + 1)?
                && key == name_key
            {
                return match parse_inline(value, n + 1)? {
                    Value::String(s) => Ok(Some(s)),
                    other => Ok(Some(other.to_string())),
                };
            }
        }
        Ok(None)
    }

    pub(super) fn find(&self, name: &str) -> Option<&Item> {
        self.root
            .as_ref()?
            .items
            .iter()
            .find(|i| i.name.as_deref() == Some(name))
    }

    /// The item's value; text it cannot read comes back as a string, so it never matches an entry.
    pub(super) fn item_value(&self, item: &Item, layout: Layout) -> Value {
        self.item_parse(item, layout)
            .unwrap_or_else(|_| Value::String(self.item_text(item).to_owned()))
    }

    fn item_parse(&self, item: &Item, layout: Layout) -> Result<Value, YamlError> {
        let mut lines = Vec::new();
        for n in item.first..=item.last {
            let line = &self.lines[n];
            if line.content {
                let body = strip_comment(line.text, n + 1)?;
                lines.push((line.indent, body.trim_start().to_owned(), n + 1));
            }
        }
        let mut i = 0;
        match layout {
            Layout::List { .. } => match parse_seq(&mut lines, &mut i)? {
                Value::Array(mut items) if items.len() == 1 && i == lines.len() => {
                    Ok(items.remove(0))
                }
                _ => err(item.first + 1, "cannot read this list item"),
            },
            Layout::Map => match parse_map(&mut lines, &mut i)? {
                Value::Object(map) if map.len() == 1 && i == lines.len() => {
                    Ok(map.into_iter().next().map(|(_, v)| v).unwrap_or_default())
                }
                _ => err(item.first + 1, "cannot read this entry"),
            },
        }
    }

    fn item_text(&self, item: &Item) -> &str {
        &self.text[self.lines[item.first].start..self.lines[item.last].next]
    }

    pub(super) fn eol(&self) -> &'static str {
        if self.crlf { "\r\n" } else { "\n" }
    }
}
