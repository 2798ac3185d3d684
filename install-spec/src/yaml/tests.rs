//! Unit tests: scalar and flow parsing, round trips, refusals and mangled input.

#![allow(clippy::unwrap_used)]

use serde_json::json;

use super::parse::parse_inline;
use super::{get, remove, set};
use crate::hosts::Layout;

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
