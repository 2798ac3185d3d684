//! RFC 8785 (JSON Canonicalization Scheme) canonical bytes and their SHA-256 digests.
//!
//! Canonical bytes are what the registry hashes and signs, so two manifests that differ only in
//! whitespace, key order or number spelling get the same [`Digest`].
//!
//! One deliberate restriction on top of RFC 8785: numbers whose magnitude exceeds 2^53 are
//! rejected with [`Error::NumberOutOfRange`](crate::Error::NumberOutOfRange). JCS models every
//! number as an IEEE 754 double, so such values would otherwise be rounded silently and two
//! different integers could hash the same.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use serde::de::{self, Deserialize, Deserializer, Visitor};
use serde::ser::{Serialize, Serializer};
use serde_json::{Number, Value};
use sha2::{Digest as _, Sha256};

use crate::{Error, Result};

/// Largest magnitude a number may have: 2^53, beyond which not every integer is a double.
const MAX_EXACT: u64 = 1 << 53;
/// `MAX_EXACT` as a double; the conversion is exact because 2^53 is a power of two.
#[allow(
    clippy::cast_precision_loss,
    reason = "2^53 is a power of two: the conversion is exact"
)]
const MAX_EXACT_F64: f64 = MAX_EXACT as f64;

/// Prefix of the textual form of a [`Digest`].
const DIGEST_PREFIX: &str = "sha256:";

/// RFC 8785 canonical bytes of a JSON value.
///
/// Fails with [`Error::NumberOutOfRange`] (and produces nothing) if any number's magnitude exceeds
/// 2^53.
pub fn canonicalize(value: &Value) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(INITIAL_CAPACITY);
    let mut writer = Writer {
        out: &mut out,
        members: Vec::new(),
    };
    match writer.value(value) {
        Ok(()) => Ok(out),
        Err(err) => Err(err.into_error()),
    }
}

/// SHA-256 over the canonical bytes of `value` (see [`canonicalize`]).
pub fn digest(value: &Value) -> Result<Digest> {
    Ok(Digest::of_bytes(&canonicalize(value)?))
}

/// Starting buffer size: a typical `server.json` canonicalizes to a few KiB, and growth is
/// amortized for larger documents anyway.
const INITIAL_CAPACITY: usize = 4096;

/// Serializer state: the output buffer plus one scratch stack shared by every object, so sorting
/// members does not allocate per object once the stack has grown to the document's needs.
struct Writer<'v, 'o> {
    out: &'o mut Vec<u8>,
    members: Vec<(&'v str, &'v Value)>,
}

impl<'v> Writer<'v, '_> {
    fn value(&mut self, value: &'v Value) -> Result<(), OutOfRange<'v>> {
        match value {
            Value::Null => self.out.extend_from_slice(b"null"),
            Value::Bool(true) => self.out.extend_from_slice(b"true"),
            Value::Bool(false) => self.out.extend_from_slice(b"false"),
            Value::Number(n) => self.number(n)?,
            Value::String(s) => write_string(self.out, s),
            Value::Array(items) => {
                self.out.push(b'[');
                for (index, item) in items.iter().enumerate() {
                    if index > 0 {
                        self.out.push(b',');
                    }
                    self.value(item)
                        .map_err(|err| err.within(Segment::Index(index)))?;
                }
                self.out.push(b']');
            }
            Value::Object(map) => {
                // Sort this object's members on top of the shared stack; nested objects push
                // above them and truncate back before we read the next entry.
                let start = self.members.len();
                self.members
                    .extend(map.iter().map(|(key, value)| (key.as_str(), value)));
                self.members[start..].sort_unstable_by(|a, b| cmp_utf16(a.0, b.0));
                self.out.push(b'{');
                for position in start..start + map.len() {
                    let (key, member) = self.members[position];
                    if position > start {
                        self.out.push(b',');
                    }
                    write_string(self.out, key);
                    self.out.push(b':');
                    self.value(member)
                        .map_err(|err| err.within(Segment::Key(key)))?;
                }
                self.members.truncate(start);
                self.out.push(b'}');
            }
        }
        Ok(())
    }

    fn number(&mut self, n: &'v Number) -> Result<(), OutOfRange<'v>> {
        let out_of_range = || OutOfRange {
            number: n,
            path: Vec::new(),
        };
        if let Some(u) = n.as_u64() {
            if u > MAX_EXACT {
                return Err(out_of_range());
            }
            write_u64(self.out, u);
        } else if let Some(i) = n.as_i64() {
            // as_u64 failed, so `i` is negative.
            let magnitude = i.unsigned_abs();
            if magnitude > MAX_EXACT {
                return Err(out_of_range());
            }
            self.out.push(b'-');
            write_u64(self.out, magnitude);
        } else {
            // Without serde_json's arbitrary_precision every number is u64, i64 or a finite f64.
            let f = n.as_f64().ok_or_else(out_of_range)?;
            if !f.is_finite() || f.abs() > MAX_EXACT_F64 {
                return Err(out_of_range());
            }
            // ryu-js follows ECMAScript Number.prototype.toString, which RFC 8785 §3.2.2.3 adopts
            // (including -0 printing as "0").
            let mut buffer = ryu_js::Buffer::new();
            self.out
                .extend_from_slice(buffer.format_finite(f).as_bytes());
        }
        Ok(())
    }
}

/// Decimal digits of `n`, without going through `fmt`.
fn write_u64(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        #[allow(
            clippy::cast_possible_truncation,
            reason = "`n % 10` is below 10, so the narrowing cannot truncate"
        )]
        let digit = (n % 10) as u8;
        digits[at] = b'0' + digit;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
}

/// A JSON string per RFC 8785 §3.2.2.2: only `"`, `\` and C0 controls are escaped; everything
/// else (including `/`, non-ASCII, U+2028 and U+2029) is copied as UTF-8.
fn write_string(out: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.reserve(s.len() + 2);
    out.push(b'"');
    let bytes = s.as_bytes();
    // Copy unescaped runs in bulk; escapes are rare in practice.
    let mut run_start = 0;
    for (index, &byte) in bytes.iter().enumerate() {
        let short: &[u8] = match byte {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            0x08 => b"\\b",
            b'\t' => b"\\t",
            b'\n' => b"\\n",
            0x0c => b"\\f",
            b'\r' => b"\\r",
            0x00..=0x1f => &[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[usize::from(byte >> 4)],
                HEX[usize::from(byte & 0xf)],
            ],
            _ => continue,
        };
        out.extend_from_slice(&bytes[run_start..index]);
        out.extend_from_slice(short);
        run_start = index + 1;
    }
    out.extend_from_slice(&bytes[run_start..]);
    out.push(b'"');
}

/// Compares two strings as sequences of UTF-16 code units (RFC 8785 §3.2.3) without transcoding.
///
/// UTF-8 byte order equals code point order, which matches UTF-16 order except in one case:
/// a character in U+E000..=U+FFFF (lead byte 0xEE or 0xEF) against a supplementary character
/// (lead byte 0xF0..=0xF4, encoded in UTF-16 with a surrogate 0xD800..=0xDBFF, which sorts first).
/// Bytes >= 0xEE are always lead bytes, and at the first differing byte both strings are at the
/// same offset within a character, so inspecting that byte pair is enough.
fn cmp_utf16(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    match a.iter().zip(b).find(|(x, y)| x != y) {
        None => a.len().cmp(&b.len()),
        Some((&x, &y)) => {
            if x >= 0xee && y >= 0xee && (x >= 0xf0) != (y >= 0xf0) {
                y.cmp(&x)
            } else {
                x.cmp(&y)
            }
        }
    }
}

/// One step of the path to an out-of-range number.
enum Segment<'v> {
    Key(&'v str),
    Index(usize),
}

/// Internal error: the offending number plus its path, built innermost-first while unwinding so
/// the success path never pays for tracking where it is.
struct OutOfRange<'v> {
    number: &'v Number,
    path: Vec<Segment<'v>>,
}

impl<'v> OutOfRange<'v> {
    fn within(mut self, segment: Segment<'v>) -> Self {
        self.path.push(segment);
        self
    }

    /// The public error, with the path as an RFC 6901 JSON pointer.
    fn into_error(self) -> Error {
        let mut pointer = String::new();
        for segment in self.path.iter().rev() {
            pointer.push('/');
            match segment {
                Segment::Key(key) => {
                    for c in key.chars() {
                        match c {
                            '~' => pointer.push_str("~0"),
                            '/' => pointer.push_str("~1"),
                            c => pointer.push(c),
                        }
                    }
                }
                Segment::Index(index) => pointer.push_str(&index.to_string()),
            }
        }
        Error::NumberOutOfRange {
            pointer,
            number: self.number.to_string(),
        }
    }
}

/// A SHA-256 digest, written `sha256:<64 lowercase hex digits>` in text and in serde formats.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest([u8; 32]);

impl Digest {
    /// Wraps raw digest bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The raw digest bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The 64 lowercase hex digits, without the `sha256:` prefix.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Plain SHA-256 of `data` (no canonicalization).
    pub fn of_bytes(data: &[u8]) -> Self {
        Self(Sha256::digest(data).into())
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Hex-encode on the stack: digests are printed in hot paths (logs, JSON responses).
        let mut hex_digits = [0u8; 64];
        hex::encode_to_slice(self.0, &mut hex_digits).map_err(|_| fmt::Error)?;
        let hex_digits = std::str::from_utf8(&hex_digits).map_err(|_| fmt::Error)?;
        f.write_str(DIGEST_PREFIX)?;
        f.write_str(hex_digits)
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl FromStr for Digest {
    type Err = Error;

    /// Parses exactly `sha256:` followed by 64 lowercase hex digits.
    fn from_str(s: &str) -> Result<Self> {
        let invalid = |reason: &str| Error::invalid_value("digest", s, reason);
        let hex_part = s
            .strip_prefix(DIGEST_PREFIX)
            .ok_or_else(|| invalid("expected `sha256:` followed by 64 lowercase hex digits"))?;
        if hex_part.len() != 64 {
            return Err(invalid("expected 64 hex digits after `sha256:`"));
        }
        // hex::decode also accepts uppercase; the textual form is canonical, so we do not.
        if !hex_part
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        {
            return Err(invalid("expected lowercase hex digits only"));
        }
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(hex_part, &mut bytes)
            .map_err(|err| invalid(&format!("bad hex: {err}")))?;
        Ok(Self(bytes))
    }
}

impl Serialize for Digest {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Digest {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct DigestVisitor;

        impl Visitor<'_> for DigestVisitor {
            type Value = Digest;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a digest string `sha256:<64 lowercase hex digits>`")
            }

            fn visit_str<E: de::Error>(self, s: &str) -> Result<Digest, E> {
                s.parse().map_err(E::custom)
            }
        }

        deserializer.deserialize_str(DigestVisitor)
    }
}
