#![allow(clippy::unwrap_used)]

use serde_json::json;

use super::*;

fn set(text: &str, path: &[&str], value: &Value) -> String {
    let mut doc = Document::parse(text).unwrap();
    doc.set(path, value).unwrap();
    doc.into_text()
}

fn remove(text: &str, path: &[&str]) -> String {
    let mut doc = Document::parse(text).unwrap();
    assert!(doc.remove(path).unwrap());
    doc.into_text()
}

#[test]
fn parses_comments_and_trailing_commas() {
    let doc =
        Document::parse("// head\n{ /* a */ \"a\": [1, 2,], \"b\": {\"c\": null,}, }\n").unwrap();
    assert_eq!(
        doc.value_at(&[]).unwrap(),
        json!({"a": [1, 2], "b": {"c": null}})
    );
    assert_eq!(doc.value_at(&["b", "c"]).unwrap(), Value::Null);
}

#[test]
fn reports_line_and_column() {
    let err = Document::parse("{\n  \"a\": 1\n  \"b\": 2\n}").unwrap_err();
    assert_eq!((err.line, err.column), (3, 3));
    let err = Document::parse("{\"a\": tru}").unwrap_err();
    assert_eq!((err.line, err.column), (1, 7));
    assert!(Document::parse("{\"a\": 1} x").is_err());
    assert!(Document::parse("{\"a\": \"x").is_err());
    assert!(Document::parse("/* open").is_err());
    assert!(Document::parse(&"[".repeat(10_000)).is_err());
}

#[test]
fn sets_into_empty_and_comment_only_documents() {
    assert_eq!(
        set("", &["m", "x"], &json!(1)),
        "{\n  \"m\": {\n    \"x\": 1\n  }\n}\n"
    );
    assert_eq!(
        set("// c\n", &["x"], &json!(true)),
        "// c\n{\n  \"x\": true\n}\n"
    );
    assert_eq!(set("{}", &["x"], &json!(1)), "{\n  \"x\": 1\n}");
    assert_eq!(
        set("{\n  // none yet\n}", &["x"], &json!(1)),
        "{\n  // none yet\n  \"x\": 1\n}"
    );
}

#[test]
fn appends_after_last_member_keeping_comments() {
    let text = "{\n\t\"a\": 1, // one\n\t\"b\": 2 // two\n}\n";
    assert_eq!(
        set(text, &["c"], &json!([1])),
        "{\n\t\"a\": 1, // one\n\t\"b\": 2, // two\n\t\"c\": [1]\n}\n"
    );
    let trailing = "{\n  \"a\": 1,\n}";
    assert_eq!(
        set(trailing, &["b"], &json!({"k": "v"})),
        "{\n  \"a\": 1,\n  \"b\": {\n    \"k\": \"v\"\n  },\n}"
    );
    assert_eq!(
        set("{ \"a\": 1 }", &["b"], &json!(2)),
        "{ \"a\": 1, \"b\": 2 }"
    );
}

#[test]
fn creates_missing_parents_and_replaces_in_place() {
    let text = "{\n  \"x\": 0,\n  \"s\": { \"old\": 1 }\n}";
    assert_eq!(
        set(text, &["s", "old"], &json!(2)),
        "{\n  \"x\": 0,\n  \"s\": { \"old\": 2 }\n}"
    );
    assert_eq!(
        set("{\n  \"x\": 0\n}", &["p", "q"], &json!(1)),
        "{\n  \"x\": 0,\n  \"p\": {\n    \"q\": 1\n  }\n}"
    );
    let mut doc = Document::parse("{\"s\": 3}").unwrap();
    assert!(doc.set(&["s", "a"], &json!(1)).is_err());
    let mut doc = Document::parse("[]").unwrap();
    assert!(doc.set(&["a"], &json!(1)).is_err());
}

#[test]
fn removes_members_with_their_commas() {
    let text = "{\n  \"a\": 1, // keep\n  \"b\": 2, // b's\n  \"c\": 3\n}";
    assert_eq!(
        remove(text, &["b"]),
        "{\n  \"a\": 1, // keep\n  \"c\": 3\n}"
    );
    assert_eq!(
        remove(text, &["c"]),
        "{\n  \"a\": 1, // keep\n  \"b\": 2 // b's\n}"
    );
    // The last member leaves `{}`, not a brace on its own line.
    assert_eq!(remove("{\n  \"a\": 1\n}", &["a"]), "{}");
    assert_eq!(
        remove("{\n  \"s\": {\n    \"a\": 1\n  }\n}", &["s", "a"]),
        "{\n  \"s\": {}\n}"
    );
    assert_eq!(remove("{\n  // c\n  \"a\": 1\n}", &["a"]), "{\n  // c\n}");
    assert_eq!(remove("{ \"a\": 1, \"b\": 2 }", &["a"]), "{ \"b\": 2 }");
    assert_eq!(remove("{ \"a\": 1, \"b\": 2 }", &["b"]), "{ \"a\": 1 }");
    assert_eq!(remove("{ \"a\": 1 }", &["a"]), "{}");
    assert_eq!(
        remove("{\n  \"a\": 1,\n  \"b\": 2,\n}", &["b"]),
        "{\n  \"a\": 1,\n}"
    );
}

#[test]
fn pushes_and_removes_array_items() {
    let mut doc = Document::parse("{\n  \"inputs\": [\n    {\"id\": \"a\"}\n  ]\n}").unwrap();
    doc.push(&["inputs"], &json!({"id": "b"})).unwrap();
    assert_eq!(
        doc.text(),
        "{\n  \"inputs\": [\n    {\"id\": \"a\"},\n    {\n      \"id\": \"b\"\n    }\n  ]\n}"
    );
    assert_eq!(
        doc.remove_items(&["inputs"], |v| v["id"] == "a").unwrap(),
        1
    );
    assert_eq!(
        doc.text(),
        "{\n  \"inputs\": [\n    {\n      \"id\": \"b\"\n    }\n  ]\n}"
    );
    let mut doc = Document::parse("{\"inputs\": []}").unwrap();
    doc.push(&["inputs"], &json!(1)).unwrap();
    assert_eq!(doc.text(), "{\"inputs\": [\n  1\n]}");
}

#[test]
fn truncated_and_mangled_input_never_panics() {
    let text = "\u{feff}// head \u{e9}\n{\n  \"a\": [1, -2.5e3, \"x\\\"y\\u00e9\"], /* c */\n  \"m\": {\"k\": {}, },\n  \"\u{e9}\": null,\n}\n";
    let full = Document::parse(text).unwrap();
    assert_eq!(
        full.value_at(&["a"]).unwrap(),
        json!([1, -2500.0, "x\"y\u{e9}"])
    );
    let mut cuts: Vec<usize> = (0..=text.len())
        .filter(|i| text.is_char_boundary(*i))
        .collect();
    cuts.dedup();
    for cut in cuts {
        for variant in [
            text[..cut].to_owned(),
            format!("{}}}", &text[..cut]),
            text[cut..].to_owned(),
        ] {
            let Ok(mut doc) = Document::parse(&variant) else {
                continue;
            };
            match doc.set(&["m", "new"], &json!({"x": [1]})) {
                Ok(()) => {
                    assert_eq!(
                        doc.value_at(&["m", "new", "x"]).unwrap(),
                        json!([1]),
                        "{variant:?}"
                    );
                    assert!(doc.remove(&["m", "new"]).unwrap(), "{variant:?}");
                    assert!(doc.value_at(&["m", "new"]).is_none());
                }
                Err(err) => assert!(!err.contains("internal"), "{variant:?}: {err}"),
            }
        }
    }
}

#[test]
fn keeps_crlf_line_endings() {
    let text = "{\r\n  \"a\": 1\r\n}\r\n";
    let added = set(text, &["b"], &json!({"c": 2}));
    assert_eq!(
        added,
        "{\r\n  \"a\": 1,\r\n  \"b\": {\r\n    \"c\": 2\r\n  }\r\n}\r\n"
    );
    assert_eq!(remove(&added, &["b"]), text);
}
