//! RFC 8785 (JCS) canonicalization and digest tests.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers fail loudly; that is what a test should do"
)]

use std::hash::{DefaultHasher, Hash, Hasher};

use proptest::prelude::*;
use registry_schema::Error;
use registry_schema::canonical::*;
use serde_json::{Map, Number, Value, json};

/// Canonical output as a `String` (it is always UTF-8).
fn canon(value: &Value) -> String {
    String::from_utf8(canonicalize(value).expect("canonicalizable")).expect("utf-8 output")
}

/// Canonicalizes JSON text.
fn canon_text(text: &str) -> String {
    canon(&serde_json::from_str(text).expect("valid JSON"))
}

/// Asserts `value` is rejected as out of range at `pointer`, with serde_json's spelling of it.
fn assert_out_of_range(value: &Value, pointer: &str, number: &str) {
    match canonicalize(value) {
        Err(Error::NumberOutOfRange {
            pointer: got_pointer,
            number: got_number,
        }) => {
            assert_eq!(got_pointer, pointer);
            assert_eq!(got_number, number);
        }
        other => panic!("expected NumberOutOfRange at {pointer:?}, got {other:?}"),
    }
    assert!(digest(value).is_err());
}

fn float(bits: u64) -> Value {
    Value::Number(Number::from_f64(f64::from_bits(bits)).expect("finite"))
}

// --- RFC 8785 §3.2.2 example ---------------------------------------------------------------

const RFC_EXAMPLE: &str = r#"{
  "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
  "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
  "literals": [null, true, false]
}"#;

#[test]
fn rfc_example_with_1e30_is_rejected() {
    let value: Value = serde_json::from_str(RFC_EXAMPLE).unwrap();
    assert_out_of_range(&value, "/numbers/1", "1e+30");
}

#[test]
fn rfc_example_without_1e30() {
    let text = RFC_EXAMPLE.replace("1E30, ", "");
    assert_eq!(
        canon_text(&text),
        r#"{"literals":[null,true,false],"numbers":[333333333.3333333,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}"#
    );
}

#[test]
fn rfc_string_escaping() {
    assert_eq!(
        canon_text(r#""\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/""#),
        r#""€$\u000f\nA'B\"\\\\\"/""#
    );
}

#[test]
fn rfc_literals() {
    assert_eq!(canon_text("[null, true, false]"), "[null,true,false]");
    assert_eq!(canon_text(" null "), "null");
    assert_eq!(canon_text("true"), "true");
    assert_eq!(canon_text("false"), "false");
}

#[test]
fn all_control_characters_and_specials() {
    let all: String = (0u8..0x20).map(char::from).collect();
    assert_eq!(
        canon(&Value::String(all)),
        concat!(
            r#""\u0000\u0001\u0002\u0003\u0004\u0005\u0006\u0007\b\t\n\u000b\f\r\u000e\u000f"#,
            r#"\u0010\u0011\u0012\u0013\u0014\u0015\u0016\u0017\u0018\u0019\u001a\u001b\u001c\u001d\u001e\u001f""#
        )
    );
    // DEL, U+2028/2029, `/` and non-BMP characters are written literally.
    let literal = "\u{7f}\u{2028}\u{2029}/\u{1F600}é";
    assert_eq!(canon(&json!(literal)), format!("\"{literal}\""));
    assert_eq!(canon(&json!("")), r#""""#);
}

// --- RFC 8785 §3.2.3 sorting example ---------------------------------------------------------

#[test]
fn rfc_sorting_by_utf16_code_units() {
    let input = r#"{
      "\u20ac": "Euro Sign",
      "\r": "Carriage Return",
      "\ufb33": "Hebrew Letter Dalet With Dagesh",
      "1": "One",
      "\ud83d\ude00": "Emoji: Grinning Face",
      "\u0080": "Control",
      "\u00f6": "Latin Small Letter O With Diaeresis"
    }"#;
    let expected = concat!(
        r#"{"\r":"Carriage Return","1":"One","#,
        "\"\u{80}\":\"Control\",",
        "\"\u{f6}\":\"Latin Small Letter O With Diaeresis\",",
        "\"\u{20ac}\":\"Euro Sign\",",
        "\"\u{1F600}\":\"Emoji: Grinning Face\",",
        "\"\u{fb33}\":\"Hebrew Letter Dalet With Dagesh\"}"
    );
    assert_eq!(canon_text(input), expected);
}

#[test]
fn sorting_prefixes_and_nesting() {
    assert_eq!(
        canon_text(r#"{"b":{"z":1,"y":[{"d":0,"c":0}]},"a":2,"":3,"aa":4}"#),
        r#"{"":3,"a":2,"aa":4,"b":{"y":[{"c":0,"d":0}],"z":1}}"#
    );
    assert_eq!(canon_text("{}"), "{}");
    assert_eq!(canon_text("[]"), "[]");
    assert_eq!(canon_text("[[],{},[{}]]"), "[[],{},[{}]]");
}

// --- Numbers (RFC 8785 Appendix B, restricted to ±2^53) ---------------------------------------

#[test]
fn rfc_appendix_b_numbers_in_range() {
    let vectors: &[(u64, &str)] = &[
        (0x0000_0000_0000_0000, "0"),
        (0x8000_0000_0000_0000, "0"), // -0
        (0x0000_0000_0000_0001, "5e-324"),
        (0x8000_0000_0000_0001, "-5e-324"),
        (0x4340_0000_0000_0000, "9007199254740992"),
        (0xc340_0000_0000_0000, "-9007199254740992"),
        (0x3eb0_c6f7_a0b5_ed8c, "9.999999999999997e-7"),
        (0x3eb0_c6f7_a0b5_ed8d, "0.000001"),
        (0x41b3_de43_5555_5553, "333333333.3333332"),
        (0x41b3_de43_5555_5554, "333333333.33333325"),
        (0x41b3_de43_5555_5555, "333333333.3333333"),
        (0x41b3_de43_5555_5556, "333333333.3333334"),
        (0x41b3_de43_5555_5557, "333333333.33333343"),
        (0xbecb_f647_612f_3696, "-0.0000033333333333333333"),
        (0x4314_3ff3_c1cb_0959, "1424953923781206.2"),
        (0x3fb9_9999_9999_999a, "0.1"),
    ];
    for &(bits, expected) in vectors {
        assert_eq!(canon(&float(bits)), expected, "bits {bits:#018x}");
    }
}

#[test]
fn rfc_appendix_b_numbers_out_of_range_are_rejected() {
    for bits in [
        0x7fef_ffff_ffff_ffff_u64, // 1.7976931348623157e+308
        0xffef_ffff_ffff_ffff,     // -1.7976931348623157e+308
        0x4430_0000_0000_0000,     // 295147905179352830000
        0x44b5_2d02_c7e1_4af5,     // 9.999999999999997e+22
        0x44b5_2d02_c7e1_4af6,     // 1e+23
        0x44b5_2d02_c7e1_4af7,     // 1.0000000000000001e+23
        0x444b_1ae4_d6e2_ef4e,     // 999999999999999700000
        0x444b_1ae4_d6e2_ef4f,     // 999999999999999900000
        0x444b_1ae4_d6e2_ef50,     // 1e+21
    ] {
        let value = float(bits);
        let number = value.to_string();
        assert_out_of_range(&value, "", &number);
    }
    // NaN and infinities cannot even enter a serde_json value.
    for bits in [
        0x7fff_ffff_ffff_ffff_u64,
        0x7ff0_0000_0000_0000,
        0xfff0_0000_0000_0000,
    ] {
        assert!(Number::from_f64(f64::from_bits(bits)).is_none());
    }
}

#[test]
fn integers_print_exactly() {
    assert_eq!(canon(&json!(0)), "0");
    assert_eq!(canon(&json!(-5)), "-5");
    assert_eq!(canon(&json!(42u64)), "42");
    assert_eq!(canon(&json!(9_007_199_254_740_992_u64)), "9007199254740992");
    assert_eq!(
        canon(&json!(-9_007_199_254_740_992_i64)),
        "-9007199254740992"
    );
    assert_eq!(canon(&json!(9_007_199_254_740_991_i64)), "9007199254740991");
    assert_eq!(
        canon_text("[1.0, -2.50, 1e2, 1E-7, -0.0, 0.0]"),
        "[1,-2.5,100,1e-7,0,0]"
    );
}

#[test]
fn rejects_out_of_range_numbers() {
    assert_out_of_range(&json!(9_007_199_254_740_993_u64), "", "9007199254740993");
    assert_out_of_range(&json!(u64::MAX), "", "18446744073709551615");
    assert_out_of_range(&json!(-9_007_199_254_740_993_i64), "", "-9007199254740993");
    assert_out_of_range(&json!(i64::MIN), "", "-9223372036854775808");
    assert_out_of_range(&json!([1e300]), "/0", "1e+300");
    assert_out_of_range(&json!({"x": [0, -1e300]}), "/x/1", "-1e+300");
    // The next double above 2^53.
    assert_out_of_range(
        &json!(9_007_199_254_740_994.0_f64),
        "",
        "9007199254740994.0",
    );
}

#[test]
fn pointer_escapes_tilde_and_slash() {
    let value = json!({"ok": 1, "a/b~c": [9_007_199_254_740_993_u64]});
    assert_out_of_range(&value, "/a~1b~0c/0", "9007199254740993");
    let value = json!({"": {"~1": {"/": 1e300}}});
    assert_out_of_range(&value, "//~01/~1", "1e+300");
}

#[test]
fn first_offending_number_in_canonical_order_is_reported() {
    // Members are visited in canonical (sorted) order, so "a" is reported even though "b" was
    // inserted first.
    let value = json!({"b": 1e300, "a": 2e300});
    assert_out_of_range(&value, "/a", "2e+300");
}

// --- Digest ---------------------------------------------------------------------------------

/// `printf '{"a":1}' | sha256sum`
const SHA256_A1: &str = "015abd7f5cc57a2dd94b7590f04ad8084273905ee33ec5cebeae62276a97f862";

#[test]
fn digest_of_known_value() {
    let d = digest(&json!({ "a": 1 })).unwrap();
    assert_eq!(d.to_hex(), SHA256_A1);
    assert_eq!(d, Digest::of_bytes(br#"{"a":1}"#));
    // Whitespace and key order do not matter.
    let text = r#" { "b" : [ 1.0 ] , "a" : 1 } "#;
    let other = r#"{"a":1,"b":[1]}"#;
    assert_eq!(
        digest(&serde_json::from_str(text).unwrap()).unwrap(),
        Digest::of_bytes(other.as_bytes())
    );
}

#[test]
fn digest_display_fromstr_round_trip() {
    let d = Digest::of_bytes(br#"{"a":1}"#);
    let text = d.to_string();
    assert_eq!(text, format!("sha256:{SHA256_A1}"));
    assert_eq!(format!("{d:?}"), text);
    assert_eq!(text.parse::<Digest>().unwrap(), d);
    assert_eq!(Digest::from_bytes(*d.as_bytes()), d);
}

#[test]
fn digest_fromstr_rejects_other_forms() {
    let upper = format!("sha256:{}", SHA256_A1.to_uppercase());
    let short = format!("sha256:{}", &SHA256_A1[..63]);
    let long = format!("sha256:{SHA256_A1}0");
    let no_prefix = SHA256_A1.to_string();
    let wrong_prefix = format!("sha512:{SHA256_A1}");
    let spaced = format!(" sha256:{SHA256_A1}");
    let non_hex = format!("sha256:{}g", &SHA256_A1[..63]);
    let non_ascii = format!("sha256:{}é", &SHA256_A1[..62]);
    for bad in [
        "",
        "sha256:",
        &upper,
        &short,
        &long,
        &no_prefix,
        &wrong_prefix,
        &spaced,
        &non_hex,
        &non_ascii,
    ] {
        match bad.parse::<Digest>() {
            Err(Error::InvalidValue { kind, value, .. }) => {
                assert_eq!(kind, "digest");
                assert_eq!(value, bad);
            }
            other => panic!("{bad:?} should be rejected, got {other:?}"),
        }
    }
}

#[test]
fn digest_serde_as_string() {
    let d = Digest::of_bytes(b"hello");
    let json = serde_json::to_value(d).unwrap();
    assert_eq!(json, Value::String(d.to_string()));
    assert_eq!(serde_json::from_value::<Digest>(json).unwrap(), d);
    assert!(serde_json::from_value::<Digest>(json!("sha256:00")).is_err());
    assert!(serde_json::from_value::<Digest>(json!(1)).is_err());
}

// --- Properties -----------------------------------------------------------------------------

/// Strings drawn from all of Unicode, including controls and supplementary characters.
fn any_string() -> impl Strategy<Value = String> {
    prop::collection::vec(any::<char>(), 0..6).prop_map(String::from_iter)
}

/// Short strings concentrated on the ranges where UTF-8 and UTF-16 orders disagree
/// (U+E000..=U+FFFF against supplementary characters), plus ASCII and 2-byte characters.
fn tricky_string() -> impl Strategy<Value = String> {
    let c = prop_oneof![
        proptest::char::range('a', 'c'),
        proptest::char::range('\u{80}', '\u{82}'),
        proptest::char::range('\u{d7fe}', '\u{d7ff}'),
        proptest::char::range('\u{e000}', '\u{e001}'),
        proptest::char::range('\u{fffe}', '\u{ffff}'),
        proptest::char::range('\u{10000}', '\u{10001}'),
        proptest::char::range('\u{10fffe}', '\u{10ffff}'),
    ];
    prop::collection::vec(c, 0..4).prop_map(String::from_iter)
}

/// Any JSON value whose numbers are within ±2^53.
fn any_json() -> impl Strategy<Value = Value> {
    const LIMIT: i64 = 1 << 53;
    #[allow(clippy::cast_precision_loss, reason = "2^53 converts exactly")]
    let limit = LIMIT as f64;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-LIMIT..=LIMIT).prop_map(Value::from),
        any::<f64>()
            .prop_filter("within ±2^53", move |f| f.is_finite() && f.abs() <= limit)
            .prop_map(Value::from),
        (-1e6..1e6_f64).prop_map(Value::from),
        any_string().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((any_string(), inner), 0..6)
                .prop_map(|members| Value::Object(members.into_iter().collect())),
        ]
    })
}

/// Rebuilds `value` with every object's members inserted in a seed-dependent order.
fn reorder(value: &Value, seed: u64) -> Value {
    match value {
        Value::Array(items) => Value::Array(items.iter().map(|v| reorder(v, seed)).collect()),
        Value::Object(map) => {
            let mut members: Vec<(&String, &Value)> = map.iter().collect();
            members.sort_by_key(|(key, _)| {
                let mut hasher = DefaultHasher::new();
                (seed, key).hash(&mut hasher);
                hasher.finish()
            });
            let map: Map<String, Value> = members
                .into_iter()
                .map(|(k, v)| (k.clone(), reorder(v, seed)))
                .collect();
            Value::Object(map)
        }
        other => other.clone(),
    }
}

proptest! {
    #[test]
    fn canonicalization_is_idempotent(value in any_json()) {
        let once = canonicalize(&value).unwrap();
        let parsed: Value = serde_json::from_slice(&once).unwrap();
        let twice = canonicalize(&parsed).unwrap();
        prop_assert_eq!(once, twice);
    }

    #[test]
    fn key_insertion_order_does_not_matter(value in any_json(), seed in any::<u64>()) {
        let shuffled = reorder(&value, seed);
        prop_assert_eq!(canonicalize(&value).unwrap(), canonicalize(&shuffled).unwrap());
        prop_assert_eq!(digest(&value).unwrap(), digest(&shuffled).unwrap());
    }

    #[test]
    fn keys_sort_by_utf16_code_units(
        (a, b) in prop_oneof![(any_string(), any_string()), (tricky_string(), tricky_string())]
    ) {
        prop_assume!(a != b);
        let value = json!({ a.clone(): 0, b.clone(): 1 });
        let bytes = canonicalize(&value).unwrap();
        let parsed: Map<String, Value> = serde_json::from_slice(&bytes).unwrap();
        let keys: Vec<&String> = parsed.keys().collect();
        let (first, second) = if a.encode_utf16().cmp(b.encode_utf16()).is_lt() {
            (&a, &b)
        } else {
            (&b, &a)
        };
        prop_assert_eq!(keys, vec![first, second]);
    }

    #[test]
    fn strings_round_trip(s in any_string()) {
        let bytes = canonicalize(&Value::String(s.clone())).unwrap();
        prop_assert_eq!(serde_json::from_slice::<String>(&bytes).unwrap(), s);
    }
}
