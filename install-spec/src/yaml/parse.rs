//! Parsing an item's values: block sequences and maps, flow collections, plain and quoted scalars.

use serde_json::{Map, Number, Value};

use super::scan::{dash_rest, split_key};
use super::{YamlError, err};

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

pub(super) fn parse_seq(
    lines: &mut [(usize, String, usize)],
    i: &mut usize,
) -> Result<Value, YamlError> {
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

pub(super) fn parse_map(
    lines: &mut [(usize, String, usize)],
    i: &mut usize,
) -> Result<Value, YamlError> {
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
pub(super) fn parse_inline(s: &str, line: usize) -> Result<Value, YamlError> {
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
pub(super) fn parse_quoted(s: &str, line: usize) -> Result<(String, usize), YamlError> {
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
