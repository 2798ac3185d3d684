//! The JSONC parser behind [`super::Document::parse`]: a tree of byte ranges, comments and trailing
//! commas allowed, nesting bounded.

use super::{Kind, Member, Node, SyntaxError, line_end};

/// Deep enough for any real config, shallow enough that hostile input cannot overflow the stack.
const MAX_DEPTH: usize = 256;

pub(super) struct Parser<'a> {
    pub(super) text: &'a str,
    pub(super) bytes: &'a [u8],
    pub(super) pos: usize,
    pub(super) depth: usize,
}

impl Parser<'_> {
    pub(super) fn error(&self, message: &str) -> SyntaxError {
        self.error_at(self.pos, message)
    }

    fn error_at(&self, pos: usize, message: &str) -> SyntaxError {
        let pos = pos.min(self.text.len());
        let mut cut = pos;
        while !self.text.is_char_boundary(cut) {
            cut -= 1;
        }
        let before = &self.text[..cut];
        let line = before.matches('\n').count() + 1;
        let column = before[before.rfind('\n').map_or(0, |i| i + 1)..]
            .chars()
            .count()
            + 1;
        SyntaxError {
            message: message.to_owned(),
            line,
            column,
        }
    }

    pub(super) fn skip_trivia(&mut self) -> Result<(), SyntaxError> {
        loop {
            match self.bytes.get(self.pos) {
                Some(b' ' | b'\t' | b'\r' | b'\n') => self.pos += 1,
                // A byte-order mark at the very start.
                Some(0xEF) if self.pos == 0 && self.bytes.starts_with(&[0xEF, 0xBB, 0xBF]) => {
                    self.pos += 3;
                }
                Some(b'/') => match self.bytes.get(self.pos + 1) {
                    Some(b'/') => self.pos = line_end(self.bytes, self.pos),
                    Some(b'*') => {
                        let Some(close) = self.text[self.pos + 2..].find("*/") else {
                            return Err(self.error("unterminated block comment"));
                        };
                        self.pos += 2 + close + 2;
                    }
                    _ => return Err(self.error("unexpected `/`")),
                },
                _ => return Ok(()),
            }
        }
    }

    pub(super) fn value(&mut self) -> Result<Node, SyntaxError> {
        let start = self.pos;
        match self.bytes.get(self.pos) {
            Some(b'{') => self.nested(|p| p.object_body(start)),
            Some(b'[') => self.nested(|p| p.array_body(start)),
            Some(b'"') => {
                self.string()?;
                Ok(Node {
                    span: start..self.pos,
                    kind: Kind::Scalar,
                })
            }
            Some(b't') => self.literal("true"),
            Some(b'f') => self.literal("false"),
            Some(b'n') => self.literal("null"),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => Err(self.error("expected a JSON value")),
            None => Err(self.error("unexpected end of file, expected a JSON value")),
        }
    }

    fn nested(
        &mut self,
        body: impl FnOnce(&mut Self) -> Result<Node, SyntaxError>,
    ) -> Result<Node, SyntaxError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error("nesting too deep"));
        }
        let node = body(self);
        self.depth -= 1;
        node
    }

    fn object_body(&mut self, start: usize) -> Result<Node, SyntaxError> {
        self.pos += 1;
        let mut members = Vec::new();
        loop {
            self.skip_trivia()?;
            match self.bytes.get(self.pos) {
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(Node {
                        span: start..self.pos,
                        kind: Kind::Object(members),
                    });
                }
                Some(b'"') => {}
                None => return Err(self.error_at(start, "unclosed object")),
                Some(_) => return Err(self.error("expected a string key or `}`")),
            }
            let key_start = self.pos;
            let key = self.string()?;
            let key_span = key_start..self.pos;
            self.skip_trivia()?;
            if self.bytes.get(self.pos) != Some(&b':') {
                return Err(self.error("expected `:` after the key"));
            }
            self.pos += 1;
            self.skip_trivia()?;
            let value = self.value()?;
            members.push(Member {
                key,
                key_span,
                value,
            });
            self.skip_trivia()?;
            match self.bytes.get(self.pos) {
                Some(b',') => self.pos += 1,
                Some(b'}') => {}
                None => return Err(self.error_at(start, "unclosed object")),
                Some(_) => return Err(self.error("expected `,` or `}`")),
            }
        }
    }

    fn array_body(&mut self, start: usize) -> Result<Node, SyntaxError> {
        self.pos += 1;
        let mut items = Vec::new();
        loop {
            self.skip_trivia()?;
            match self.bytes.get(self.pos) {
                Some(b']') => {
                    self.pos += 1;
                    return Ok(Node {
                        span: start..self.pos,
                        kind: Kind::Array(items),
                    });
                }
                None => return Err(self.error_at(start, "unclosed array")),
                Some(_) => {}
            }
            items.push(self.value()?);
            self.skip_trivia()?;
            match self.bytes.get(self.pos) {
                Some(b',') => self.pos += 1,
                Some(b']') => {}
                None => return Err(self.error_at(start, "unclosed array")),
                Some(_) => return Err(self.error("expected `,` or `]`")),
            }
        }
    }

    /// Parses a string token and returns its decoded value.
    fn string(&mut self) -> Result<String, SyntaxError> {
        let start = self.pos;
        self.pos += 1;
        loop {
            match self.bytes.get(self.pos) {
                Some(b'"') => {
                    self.pos += 1;
                    break;
                }
                Some(b'\\') => self.pos += 2,
                Some(b'\n') | None => return Err(self.error_at(start, "unterminated string")),
                Some(_) => self.pos += 1,
            }
        }
        let token = self.text.get(start..self.pos).unwrap_or_default();
        serde_json::from_str::<String>(token)
            .map_err(|err| self.error_at(start, &format!("invalid string: {err}")))
    }

    fn literal(&mut self, word: &str) -> Result<Node, SyntaxError> {
        let start = self.pos;
        if self.bytes[self.pos..].starts_with(word.as_bytes()) {
            self.pos += word.len();
            Ok(Node {
                span: start..self.pos,
                kind: Kind::Scalar,
            })
        } else {
            Err(self.error("expected a JSON value"))
        }
    }

    fn number(&mut self) -> Result<Node, SyntaxError> {
        let start = self.pos;
        while matches!(
            self.bytes.get(self.pos),
            Some(b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')
        ) {
            self.pos += 1;
        }
        let token = &self.text[start..self.pos];
        if serde_json::from_str::<serde_json::Number>(token).is_err() {
            return Err(self.error_at(start, "invalid number"));
        }
        Ok(Node {
            span: start..self.pos,
            kind: Kind::Scalar,
        })
    }
}
