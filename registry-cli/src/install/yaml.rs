//! A small line-based YAML editor for the two YAML hosts (Continue's `mcpServers:` list, Goose's
//! `extensions:` map). It finds the top-level key, then appends, replaces or removes one item by
//! splicing whole lines, so every other byte (comments, blank lines, quoting, key order) stays as the user
//! wrote it. New items are block YAML with every string double-quoted (JSON escapes are valid YAML).
//!
//! It understands only what it needs and refuses the rest with a line number rather than guess: flow
//! style or a scalar at the key, anchors, aliases, tags and merge keys in the section, tabs in
//! indentation, multi-line quoted strings in the section, several documents. Every edit is checked by
//! re-reading the result: the edited item must parse back to exactly the entry written.

use serde_json::{Map, Number, Value};

use super::hosts::Layout;

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
fn strip_comment(s: &str, line: usize) -> Result<&str, YamlError> {
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
fn split_key(s: &str, line: usize) -> Result<Option<(String, &str)>, YamlError> {
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
fn dash_rest(s: &str) -> Option<&str> {
    if s == "-" {
        Some("")
    } else {
        s.strip_prefix("- ")
    }
}

impl<'a> Doc<'a> {
    fn scan(text: &'a str, root: &str, layout: Layout) -> Result<Self, YamlError> {
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

    fn find(&self, name: &str) -> Option<&Item> {
        self.root
            .as_ref()?
            .items
            .iter()
            .find(|i| i.name.as_deref() == Some(name))
    }

    /// The item's value; text it cannot read comes back as a string, so it never matches an entry.
    fn item_value(&self, item: &Item, layout: Layout) -> Value {
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

    fn eol(&self) -> &'static str {
        if self.crlf { "\r\n" } else { "\n" }
    }
}

/// Parses the value at `lines[*i]` (a block node at that line's indent).
fn parse_node(lines: &mut [(usize, String, usize)], i: &mut usize) -> Result<Value, YamlError> {
    let (_, text, n) = &lines[*i];
    if dash_rest(text).is_some() {
        parse_seq(lines, i)
    } else if split_key(text, *n)?.is_some() {
        parse_map(lines, i)
    } else {
        let value = parse_inline(text, *n)?;
        *i += 1;
        Ok(value)
    }
}

fn parse_seq(lines: &mut [(usize, String, usize)], i: &mut usize) -> Result<Value, YamlError> {
    let indent = lines[*i].0;
    let mut out = Vec::new();
    while *i < lines.len() && lines[*i].0 == indent {
        let (_, text, n) = lines[*i].clone();
        let Some(rest) = dash_rest(&text) else {
            return err(n, "expected a `- ` item");
        };
        if rest.trim().is_empty() {
            *i += 1;
            if *i < lines.len() && lines[*i].0 > indent {
                out.push(parse_node(lines, i)?);
            } else {
                out.push(Value::Null);
            }
        } else {
            // Re-read the rest of the line as a node at its own column (`- name: x` starts a map).
            let column = indent + (text.len() - rest.len());
            lines[*i] = (column, rest.to_owned(), n);
            out.push(parse_node(lines, i)?);
        }
    }
    if *i < lines.len() && lines[*i].0 > indent {
        return err(lines[*i].2, "unexpected indentation");
    }
    Ok(Value::Array(out))
}

fn parse_map(lines: &mut [(usize, String, usize)], i: &mut usize) -> Result<Value, YamlError> {
    let indent = lines[*i].0;
    let mut out = Map::new();
    while *i < lines.len() && lines[*i].0 == indent {
        let (_, text, n) = lines[*i].clone();
        let Some((key, rest)) = split_key(&text, n)? else {
            return err(n, "expected `key: value`");
        };
        let value = if rest.is_empty() {
            *i += 1;
            match lines.get(*i) {
                Some((next, _, _)) if *next > indent => parse_node(lines, i)?,
                // A list may sit at the key's own indentation.
                Some((next, t, _)) if *next == indent && dash_rest(t).is_some() => {
                    parse_seq(lines, i)?
                }
                _ => Value::Null,
            }
        } else if rest.starts_with(['|', '>']) {
            return err(n, "block scalars (`|`, `>`) are not supported");
        } else {
            *i += 1;
            parse_inline(rest, n)?
        };
        if out.insert(key.clone(), value).is_some() {
            return err(n, format!("duplicate key `{key}`"));
        }
    }
    if *i < lines.len() && lines[*i].0 > indent {
        return err(lines[*i].2, "unexpected indentation");
    }
    Ok(Value::Object(out))
}

/// A value written on one line: a quoted or plain scalar, or a flow collection.
fn parse_inline(s: &str, line: usize) -> Result<Value, YamlError> {
    let s = s.trim();
    let mut flow = Flow { s, pos: 0, line };
    let value = flow.value(false)?;
    flow.skip_ws();
    if flow.pos != s.len() {
        return err(line, format!("unexpected text `{}`", &s[flow.pos..]));
    }
    Ok(value)
}

struct Flow<'a> {
    s: &'a str,
    pos: usize,
    line: usize,
}

impl Flow<'_> {
    fn skip_ws(&mut self) {
        while self.s[self.pos..].starts_with([' ', '\t']) {
            self.pos += 1;
        }
    }

    fn value(&mut self, in_flow: bool) -> Result<Value, YamlError> {
        self.skip_ws();
        let rest = &self.s[self.pos..];
        if rest.starts_with('[') {
            self.pos += 1;
            let mut items = Vec::new();
            loop {
                self.skip_ws();
                if self.s[self.pos..].starts_with(']') {
                    self.pos += 1;
                    return Ok(Value::Array(items));
                }
                items.push(self.value(true)?);
                self.skip_ws();
                if self.s[self.pos..].starts_with(',') {
                    self.pos += 1;
                } else if !self.s[self.pos..].starts_with(']') {
                    return err(self.line, "expected `,` or `]`");
                }
            }
        }
        if rest.starts_with('{') {
            self.pos += 1;
            let mut map = Map::new();
            loop {
                self.skip_ws();
                if self.s[self.pos..].starts_with('}') {
                    self.pos += 1;
                    return Ok(Value::Object(map));
                }
                let key = match self.value(true)? {
                    Value::String(k) => k,
                    other => other.to_string(),
                };
                self.skip_ws();
                let value = if self.s[self.pos..].starts_with(':') {
                    self.pos += 1;
                    self.value(true)?
                } else {
                    Value::Null
                };
                map.insert(key, value);
                self.skip_ws();
                if self.s[self.pos..].starts_with(',') {
                    self.pos += 1;
                } else if !self.s[self.pos..].starts_with('}') {
                    return err(self.line, "expected `,` or `}`");
                }
            }
        }
        if rest.starts_with(['"', '\'']) {
            let (text, used) = parse_quoted(rest, self.line)?;
            self.pos += used;
            return Ok(Value::String(text));
        }
        if rest.starts_with(['|', '>', '&', '*', '!', '@', '`']) {
            return err(self.line, format!("unsupported YAML `{rest}`"));
        }
        // Plain scalar: up to the end, or in flow context up to `,`/`]`/`}` or `: `.
        let bytes = rest.as_bytes();
        let mut end = bytes.len();
        for (i, &b) in bytes.iter().enumerate() {
            let flow_stop = in_flow
                && (matches!(b, b',' | b']' | b'}')
                    || (b == b':' && bytes.get(i + 1).is_none_or(|n| *n == b' ')));
            if flow_stop {
                end = i;
                break;
            }
        }
        let plain = rest[..end].trim_end();
        self.pos += end;
        Ok(plain_scalar(plain))
    }
}

/// A plain scalar's value under YAML 1.2's core schema.
fn plain_scalar(s: &str) -> Value {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        _ => {}
    }
    let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
    if !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && let Ok(i) = s.parse::<i64>()
    {
        return Value::from(i);
    }
    let numeric = !digits.is_empty()
        && digits
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_digit() || b == b'.')
        && digits
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'-' | b'+'));
    if numeric
        && let Ok(f) = s.parse::<f64>()
        && let Some(n) = Number::from_f64(f)
    {
        return Value::Number(n);
    }
    Value::String(s.to_owned())
}

/// A quoted scalar at the start of `s`: its value and the bytes it used.
fn parse_quoted(s: &str, line: usize) -> Result<(String, usize), YamlError> {
    let mut chars = s.char_indices();
    let Some((_, quote)) = chars.next() else {
        return err(line, "expected a quoted string");
    };
    let mut out = String::new();
    while let Some((i, c)) = chars.next() {
        if c == quote {
            if quote == '\'' && s[i + 1..].starts_with('\'') {
                chars.next();
                out.push('\'');
                continue;
            }
            return Ok((out, i + 1));
        }
        if c == '\\' && quote == '"' {
            let Some((_, e)) = chars.next() else { break };
            let hex = |chars: &mut std::str::CharIndices<'_>, len: usize| {
                let digits: String = chars.by_ref().take(len).map(|(_, c)| c).collect();
                u32::from_str_radix(&digits, 16)
                    .ok()
                    .filter(|_| digits.len() == len)
            };
            let decoded = match e {
                '0' => '\0',
                'a' => '\u{7}',
                'b' => '\u{8}',
                't' | '\t' => '\t',
                'n' => '\n',
                'v' => '\u{b}',
                'f' => '\u{c}',
                'r' => '\r',
                'e' => '\u{1b}',
                ' ' => ' ',
                '"' => '"',
                '/' => '/',
                '\\' => '\\',
                'N' => '\u{85}',
                '_' => '\u{a0}',
                'L' => '\u{2028}',
                'P' => '\u{2029}',
                'x' | 'u' | 'U' => {
                    let len = match e {
                        'x' => 2,
                        'u' => 4,
                        _ => 8,
                    };
                    let Some(mut code) = hex(&mut chars, len) else {
                        return err(line, "bad escape in a double-quoted string");
                    };
                    // A JSON-style surrogate pair.
                    if (0xD800..0xDC00).contains(&code) && e == 'u' {
                        let rest = chars.as_str();
                        if rest.starts_with("\\u") {
                            chars.next();
                            chars.next();
                            let low = hex(&mut chars, 4).unwrap_or(0);
                            if (0xDC00..0xE000).contains(&low) {
                                code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
                            }
                        }
                    }
                    match char::from_u32(code) {
                        Some(c) => c,
                        None => return err(line, "bad escape in a double-quoted string"),
                    }
                }
                _ => return err(line, format!("unknown escape `\\{e}`")),
            };
            out.push(decoded);
            continue;
        }
        out.push(c);
    }
    err(line, "unterminated quoted string")
}

/// A mapping key: plain when unambiguous, else double-quoted.
fn key_text(key: &str) -> String {
    let plain = key
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
        && !matches!(
            key.to_ascii_lowercase().as_str(),
            "true" | "false" | "null" | "yes" | "no" | "on" | "off" | "y" | "n"
        );
    if plain {
        key.to_owned()
    } else {
        Value::String(key.to_owned()).to_string()
    }
}

/// A scalar or empty collection on one line; strings always double-quoted (JSON escapes).
fn scalar_text(value: &Value) -> String {
    match value {
        Value::Array(_) => "[]".to_owned(),
        Value::Object(_) => "{}".to_owned(),
        other => other.to_string(),
    }
}

fn is_block(value: &Value) -> bool {
    match value {
        Value::Array(a) => !a.is_empty(),
        Value::Object(m) => !m.is_empty(),
        _ => false,
    }
}

fn emit_map(out: &mut String, map: &Map<String, Value>, indent: usize, eol: &str) {
    for (key, value) in map {
        out.push_str(&" ".repeat(indent));
        out.push_str(&key_text(key));
        out.push(':');
        if is_block(value) {
            out.push_str(eol);
            emit_block(out, value, indent + 2, eol);
        } else {
            out.push(' ');
            out.push_str(&scalar_text(value));
            out.push_str(eol);
        }
    }
}

fn emit_block(out: &mut String, value: &Value, indent: usize, eol: &str) {
    match value {
        Value::Object(map) => emit_map(out, map, indent, eol),
        Value::Array(items) => {
            for item in items {
                emit_seq_item(out, item, indent, eol);
            }
        }
        other => {
            out.push_str(&" ".repeat(indent));
            out.push_str(&scalar_text(other));
            out.push_str(eol);
        }
    }
}

/// `- value` at `indent`; a non-empty map starts on the dash line (`- name: "x"`).
fn emit_seq_item(out: &mut String, item: &Value, indent: usize, eol: &str) {
    match item {
        Value::Object(map) if !map.is_empty() => {
            let mut inner = String::new();
            emit_map(&mut inner, map, indent + 2, eol);
            out.push_str(&" ".repeat(indent));
            out.push_str("- ");
            out.push_str(&inner[indent + 2..]);
        }
        Value::Array(items) if !items.is_empty() => {
            out.push_str(&" ".repeat(indent));
            out.push('-');
            out.push_str(eol);
            emit_block(out, item, indent + 2, eol);
        }
        other => {
            out.push_str(&" ".repeat(indent));
            out.push_str("- ");
            out.push_str(&scalar_text(other));
            out.push_str(eol);
        }
    }
}

/// The item for `name` as YAML lines at `indent`.
fn render_item(layout: Layout, name: &str, entry: &Value, indent: usize, eol: &str) -> String {
    let mut out = String::new();
    match layout {
        Layout::List { .. } => emit_seq_item(&mut out, entry, indent, eol),
        Layout::Map => {
            let mut map = Map::new();
            map.insert(name.to_owned(), entry.clone());
            emit_map(&mut out, &map, indent, eol);
        }
    }
    out
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::json;

    use super::*;

    const LIST: Layout = Layout::List { name_key: "name" };

    #[test]
    fn scalars_and_flow() {
        assert_eq!(
            parse_inline(r#"["-y", '@a/b', c, 1, true, null]"#, 1).unwrap(),
            json!(["-y", "@a/b", "c", 1, true, null])
        );
        assert_eq!(
            parse_inline(r#"{ A: "x\u00e9\n", B: 'it''s' }"#, 1).unwrap(),
            json!({"A": "xé\n", "B": "it's"})
        );
        assert_eq!(parse_inline("\"\\ud83d\\ude00\"", 1).unwrap(), json!("😀"));
        assert_eq!(parse_inline("1.5", 1).unwrap(), json!(1.5));
        assert_eq!(parse_inline("v1", 1).unwrap(), json!("v1"));
        assert!(parse_inline("\"open", 1).is_err());
    }

    #[test]
    fn round_trip_of_emitted_values() {
        let entry = json!({"name": "w", "type": "stdio", "command": "npx",
            "args": ["-y", "a: b # c", "", "'q'", "\"dq\"", "line\nbreak", "tab\there", "ünï"],
            "env": {"A": "1", "weird key": "x", "true": "y"}, "nested": [[1, 2], {"k": []}],
            "empty": {}, "n": null, "t": true, "i": 300});
        for layout in [LIST, Layout::Map] {
            let text = set("", "root", layout, "w", &entry, None).unwrap();
            assert_eq!(
                get(&text, "root", layout, "w").unwrap(),
                Some(entry.clone()),
                "{text}"
            );
        }
    }

    #[test]
    fn refuses_what_it_cannot_edit_safely() {
        let cases = [
            ("mcpServers: [{name: a}]\n", 1, "flow style"),
            ("mcpServers:\n  - &a\n    name: x\n", 2, "anchor"),
            ("mcpServers:\n  - name: *x\n", 2, "alias"),
            ("mcpServers:\n\t- name: x\n", 2, "tab"),
            ("a: 1\n---\nb: 2\n", 2, "second YAML document"),
            ("mcpServers: 3\n", 1, "not a block"),
            ("- a\n", 1, "not a mapping"),
            ("mcpServers:\n  - name: \"a\n    b\"\n", 2, "multi-line"),
            ("mcpServers:\n  - name: a\n  - name: a\n", 1, "two entries"),
            (
                "mcpServers:\n    - name: a\n  - name: b\n",
                3,
                "inconsistent",
            ),
        ];
        for (text, line, what) in cases {
            let e = set(text, "mcpServers", LIST, "w", &json!({"name": "w"}), None).unwrap_err();
            assert_eq!(e.line, line, "{text}: {e:?}");
            assert!(e.message.contains(what), "{text}: {e:?}");
        }
        let e = set(
            "extensions: {a: 1}\n",
            "extensions",
            Layout::Map,
            "w",
            &json!({}),
            None,
        )
        .unwrap_err();
        assert!(e.message.contains("flow style"), "{e:?}");
    }

    #[test]
    fn empty_inline_values_become_blocks() {
        let out = set(
            "mcpServers: [] # mine\nx: 1\n",
            "mcpServers",
            LIST,
            "w",
            &json!({"name": "w"}),
            None,
        )
        .unwrap();
        assert_eq!(out, "mcpServers: # mine\n  - name: \"w\"\nx: 1\n");
        assert_eq!(
            remove(&out, "mcpServers", LIST, "w").unwrap().unwrap(),
            "mcpServers: [] # mine\nx: 1\n"
        );
        let out = set(
            "extensions:\nx: 1",
            "extensions",
            Layout::Map,
            "w",
            &json!({"a": 1}),
            None,
        )
        .unwrap();
        assert_eq!(out, "extensions:\n  w:\n    a: 1\nx: 1");
        let crlf = set(
            "a: 1\r\n",
            "extensions",
            Layout::Map,
            "w",
            &json!({"a": 1}),
            None,
        )
        .unwrap();
        assert_eq!(crlf, "a: 1\r\nextensions:\r\n  w:\r\n    a: 1\r\n");
    }

    #[test]
    fn mangled_input_never_panics() {
        let base = "# c\nname: x\nmcpServers: # s\n  - name: \"a\"\n    args: [\"-y\", 'b''c']\n    env: {K: \"\\u00e9\"}\n  - name: w\n    command: n\nextensions:\n  e:\n    cmd: x\n";
        let entry = json!({"name": "w", "command": "npx", "args": ["a"]});
        let inserts = [
            "", "\"", "'", "[", "{", "#", ":", "- ", "\t", "&a ", "*", "\n", "é", "\\",
        ];
        for cut in (0..=base.len()).filter(|i| base.is_char_boundary(*i)) {
            for insert in inserts {
                let text = format!("{}{insert}{}", &base[..cut], &base[cut..]);
                for (root, layout) in [("mcpServers", LIST), ("extensions", Layout::Map)] {
                    let _ = get(&text, root, layout, "w");
                    let _ = remove(&text, root, layout, "w");
                    if let Ok(out) = set(&text, root, layout, "w", &entry, None) {
                        assert_eq!(get(&out, root, layout, "w").unwrap(), Some(entry.clone()));
                    }
                }
            }
        }
    }
}
