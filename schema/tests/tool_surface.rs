//! Tool surfaces: the 27 real captures round-trip losslessly, the typed view sees what the
//! servers sent, and the digest ignores list order but nothing else.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers fail loudly; that is what a test should do"
)]

use std::fs;
use std::path::{Path, PathBuf};

use registry_schema::tools::{Implementation, Prompt, Tool, ToolAnnotations};
use registry_schema::{Error, ToolSurface};
use serde_json::{Value, json};

const CAPTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/conformance/real-tools"
);

/// Every `*.json` capture, sorted by file name.
fn capture_paths() -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = fs::read_dir(CAPTURES)
        .unwrap_or_else(|err| panic!("cannot read {CAPTURES}: {err}"))
        .map(|entry| entry.expect("readable directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    paths.sort();
    paths
}

fn load(file: &str) -> ToolSurface {
    let path = Path::new(CAPTURES).join(file);
    let bytes = fs::read(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
    ToolSurface::from_json(&bytes).unwrap_or_else(|err| panic!("{file}: {err}"))
}

fn parse(value: &Value) -> ToolSurface {
    ToolSurface::from_json(value.to_string().as_bytes()).expect("example surface parses")
}

fn tool_names(surface: &ToolSurface) -> Vec<&str> {
    surface
        .tools
        .as_deref()
        .expect("surface has tools")
        .iter()
        .map(|tool| tool.name.as_str())
        .collect()
}

fn tools_mut(surface: &mut ToolSurface) -> &mut Vec<Tool> {
    surface.tools.as_mut().expect("surface has tools")
}

/// A minimal valid surface to build examples on.
fn minimal() -> Value {
    json!({
        "serverInfo": {"name": "demo", "version": "1.0.0"},
        "protocolVersion": "2025-06-18",
        "capabilities": {"tools": {}},
        "tools": [
            {"name": "a", "description": "first", "inputSchema": {"type": "object"}},
            {"name": "b", "inputSchema": {"type": "object"}}
        ]
    })
}

// ---------------------------------------------------------------------------------------------
// The real captures

#[test]
fn every_capture_round_trips_losslessly() {
    let paths = capture_paths();
    assert_eq!(paths.len(), 27, "expected 27 captures in {CAPTURES}");

    for path in &paths {
        let name = path.file_name().unwrap().to_string_lossy();
        let bytes = fs::read(path).unwrap();
        let original: Value = serde_json::from_slice(&bytes).unwrap();

        let surface = ToolSurface::from_json(&bytes).unwrap_or_else(|err| panic!("{name}: {err}"));
        assert_eq!(surface.to_value(), original, "{name}: to_value differs");

        // Through bytes, too: the derived serializer must not emit duplicate or stray keys.
        let written = serde_json::to_vec(&surface).unwrap();
        let reread: Value = serde_json::from_slice(&written).unwrap();
        assert_eq!(reread, original, "{name}: serialized bytes differ");

        // Deserializing from a `Value` (not bytes) gives the same surface.
        let from_value: ToolSurface = serde_json::from_value(original.clone()).unwrap();
        assert_eq!(from_value, surface, "{name}: from_value differs");

        // The canonical form is a permutation of list entries only: parsing it back gives a
        // surface with the same digest.
        let digest = surface
            .digest()
            .unwrap_or_else(|err| panic!("{name}: {err}"));
        let canonical = parse(&surface.canonical_value());
        assert_eq!(canonical.digest().unwrap(), digest, "{name}");
    }
}

#[test]
fn captures_have_the_lists_their_capabilities_announce() {
    for path in capture_paths() {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let surface = load(&name);
        assert!(
            surface.extra.is_empty(),
            "{name}: unexpected top-level keys"
        );
        assert!(!surface.server_info.name.is_empty(), "{name}");
        for (capability, present) in [
            ("tools", surface.tools.is_some()),
            ("prompts", surface.prompts.is_some()),
            ("resources", surface.resources.is_some()),
        ] {
            assert_eq!(
                surface.capabilities.contains_key(capability),
                present,
                "{name}: capability {capability}"
            );
        }
    }
}

#[test]
fn everything_0_6_2_echo_requires_message() {
    let surface = load("server-everything@0.6.2.json");
    assert_eq!(surface.server_info.name, "example-servers/everything");
    assert_eq!(surface.server_info.version, "1.0.0");
    assert_eq!(surface.server_info.title, None);
    assert_eq!(surface.protocol_version, "2024-11-05");
    assert_eq!(surface.instructions, None);
    assert_eq!(
        tool_names(&surface),
        [
            "echo",
            "add",
            "longRunningOperation",
            "sampleLLM",
            "getTinyImage"
        ]
    );

    let echo = surface.tool("echo").unwrap();
    assert_eq!(echo.description.as_deref(), Some("Echoes back the input"));
    assert_eq!(echo.input_schema["required"], json!(["message"]));
    assert_eq!(echo.input_schema["properties"]["message"]["type"], "string");
    // The schema is kept raw, including keys a typed schema model might drop.
    assert_eq!(
        echo.input_schema["$schema"],
        "http://json-schema.org/draft-07/schema#"
    );
    assert_eq!(echo.input_schema["additionalProperties"], false);
    assert_eq!(echo.output_schema, None);
    assert_eq!(echo.annotations, None);
    assert!(echo.extra.is_empty());
    assert!(surface.tool("missing").is_none());

    // No annotations at all: the MCP defaults apply.
    assert!(!echo.is_read_only());
    assert!(echo.is_destructive());
    assert!(!echo.is_idempotent());
    assert!(echo.is_open_world());

    let complex = surface.prompt("complex_prompt").unwrap();
    let temperature = complex.argument("temperature").unwrap();
    assert_eq!(temperature.required, Some(true));
    assert_eq!(complex.argument("style").unwrap().required, Some(false));
    assert!(complex.argument("missing").is_none());
    // A prompt without arguments has no `arguments` key, which is not the same as `[]`.
    assert_eq!(surface.prompt("simple_prompt").unwrap().arguments, None);
    assert!(surface.prompt("missing").is_none());

    let template = surface
        .resource_template("test://static/resource/{id}")
        .unwrap();
    assert_eq!(template.name, "Static Resource");
    assert_eq!(surface.resources.as_ref().unwrap().len(), 10);

    // This server inlines resource contents (`text` / `blob`) into `resources/list`, which is not
    // part of MCP's `Resource`; they survive in `extra`.
    let first = surface.resource("test://static/resource/1").unwrap();
    assert_eq!(first.mime_type.as_deref(), Some("text/plain"));
    assert!(first.extra["text"].is_string());
    let second = surface.resource("test://static/resource/2").unwrap();
    assert!(second.extra["blob"].is_string());
}

#[test]
fn server_memory_has_its_nine_knowledge_graph_tools() {
    let expected = [
        "create_entities",
        "create_relations",
        "add_observations",
        "delete_entities",
        "delete_observations",
        "delete_relations",
        "read_graph",
        "search_nodes",
        "open_nodes",
    ];
    let versions = [
        "0.6.2",
        "2025.4.25",
        "2025.8.4",
        "2025.9.25",
        "2025.11.25",
        "2026.1.26",
        "2026.7.4",
        "2026.8.31",
    ];
    for version in versions {
        let surface = load(&format!("server-memory@{version}.json"));
        assert_eq!(tool_names(&surface), expected, "server-memory@{version}");
        assert_eq!(surface.server_info.name, "memory-server");
        assert_eq!(surface.prompts, None, "server-memory@{version}");
        let create = surface.tool("create_entities").unwrap();
        assert_eq!(create.input_schema["required"], json!(["entities"]));
    }

    // The oldest build reports `serverInfo.version` 1.0.0, later ones 0.6.3: it is not the
    // package version and never changed with the date-versioned releases.
    assert_eq!(
        load("server-memory@0.6.2.json").server_info.version,
        "1.0.0"
    );
    assert_eq!(
        load("server-memory@2026.8.31.json").server_info.version,
        "0.6.3"
    );

    // outputSchema appears with 2025.11.25, as does `execution` (kept in `extra`).
    let old = load("server-memory@2025.9.25.json");
    assert_eq!(old.tool("read_graph").unwrap().output_schema, None);
    let new = load("server-memory@2025.11.25.json");
    let read_graph = new.tool("read_graph").unwrap();
    assert!(read_graph.output_schema.is_some());
    assert_eq!(
        read_graph.extra["execution"],
        json!({"taskSupport": "forbidden"})
    );
    assert_eq!(read_graph.title.as_deref(), Some("Read Graph"));
}

#[test]
fn server_memory_2026_annotations_and_resources() {
    let surface = load("server-memory@2026.7.4.json");

    let read_graph = surface.tool("read_graph").unwrap();
    assert!(read_graph.is_read_only());
    assert!(!read_graph.is_destructive());
    assert!(read_graph.is_idempotent());
    assert!(!read_graph.is_open_world());

    let delete = surface.tool("delete_entities").unwrap();
    assert!(!delete.is_read_only());
    assert!(delete.is_destructive());
    assert!(delete.is_idempotent());

    let create = surface.tool("create_entities").unwrap();
    assert!(!create.is_read_only());
    assert!(!create.is_destructive());
    assert!(!create.is_idempotent());
    assert!(!create.is_open_world());

    // `resourceTemplates: []` is an empty list, not an absent one, and stays that way.
    assert_eq!(
        surface.resource_templates.as_deref().map(<[_]>::len),
        Some(0)
    );
    assert_eq!(surface.to_value()["resourceTemplates"], json!([]));

    let graph = surface.resource("memory://knowledge-graph").unwrap();
    assert_eq!(graph.name, "knowledge-graph");
    assert_eq!(graph.title.as_deref(), Some("Knowledge Graph"));
    assert_eq!(graph.mime_type.as_deref(), Some("application/json"));
    assert_eq!(graph.size, None);
}

#[test]
fn server_everything_2026_tasks_and_output_schema() {
    let surface = load("server-everything@2026.8.31.json");
    assert_eq!(surface.server_info.name, "mcp-servers/everything");
    assert_eq!(
        surface.server_info.title.as_deref(),
        Some("Everything Reference Server")
    );
    // `tasks` (a 2025-11-25 feature) is announced under protocol version 2025-06-18.
    assert_eq!(surface.protocol_version, "2025-06-18");
    assert!(surface.capabilities.contains_key("tasks"));

    let research = surface.tool("simulate-research-query").unwrap();
    assert_eq!(research.extra["execution"]["taskSupport"], "required");

    let structured = surface.tool("get-structured-content").unwrap();
    let output = structured.output_schema.as_ref().unwrap();
    assert_eq!(
        output["required"],
        json!(["temperature", "conditions", "humidity"])
    );
    assert_eq!(
        structured.input_schema["properties"]["location"]["enum"],
        json!(["New York", "Chicago", "Los Angeles"])
    );

    let args = surface.prompt("args-prompt").unwrap();
    assert_eq!(args.title.as_deref(), Some("Arguments Prompt"));
    let state = args.argument("state").unwrap();
    assert_eq!(
        (state.required, state.description.as_deref()),
        (Some(false), None)
    );

    let template = surface
        .resource_template("demo://resource/dynamic/blob/{resourceId}")
        .unwrap();
    assert_eq!(
        template.mime_type.as_deref(),
        Some("application/octet-stream")
    );
}

// ---------------------------------------------------------------------------------------------
// Annotations

#[test]
fn annotation_defaults_follow_mcp() {
    let none = ToolAnnotations::default();
    assert!(!none.is_read_only());
    assert!(none.is_destructive());
    assert!(!none.is_idempotent());
    assert!(none.is_open_world());

    let all_flipped: ToolAnnotations = serde_json::from_value(json!({
        "readOnlyHint": true,
        "destructiveHint": false,
        "idempotentHint": true,
        "openWorldHint": false
    }))
    .unwrap();
    assert!(all_flipped.is_read_only());
    assert!(!all_flipped.is_destructive());
    assert!(all_flipped.is_idempotent());
    assert!(!all_flipped.is_open_world());

    // Only some hints given: the rest take their defaults; nothing is inferred from the others.
    let partial: ToolAnnotations = serde_json::from_value(json!({"readOnlyHint": true})).unwrap();
    assert!(partial.is_read_only());
    assert!(partial.is_destructive());
    assert!(!partial.is_idempotent());
    assert!(partial.is_open_world());
    // ... and the typed fields still say what was sent.
    assert_eq!(partial.destructive_hint, None);
    assert_eq!(
        serde_json::to_value(&partial).unwrap(),
        json!({"readOnlyHint": true})
    );

    let tool: Tool = serde_json::from_value(json!({
        "name": "t",
        "inputSchema": {"type": "object"},
        "annotations": {"openWorldHint": false}
    }))
    .unwrap();
    assert!(!tool.is_read_only());
    assert!(tool.is_destructive());
    assert!(!tool.is_idempotent());
    assert!(!tool.is_open_world());
}

// ---------------------------------------------------------------------------------------------
// Digest and canonical form

#[test]
fn digest_ignores_tool_order() {
    let surface = load("server-everything@2026.8.31.json");
    let mut reordered = surface.clone();
    tools_mut(&mut reordered).reverse();
    assert_ne!(reordered.to_value(), surface.to_value());
    assert_eq!(reordered.canonical_value(), surface.canonical_value());
    assert_eq!(reordered.digest().unwrap(), surface.digest().unwrap());

    // The canonical tools are sorted by name.
    let canonical = surface.canonical_value();
    let names: Vec<&str> = canonical["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|tool| tool["name"].as_str().unwrap())
        .collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    assert_eq!(names, sorted);
}

#[test]
fn digest_ignores_order_of_every_listing() {
    let surface = load("server-everything@2025.11.25.json");
    let mut reordered = surface.clone();
    reordered.prompts.as_mut().unwrap().rotate_left(1);
    reordered.resources.as_mut().unwrap().reverse();
    tools_mut(&mut reordered).rotate_right(3);
    // Two templates so the reversal actually changes something.
    let mut with_templates = surface.clone();
    let templates = with_templates.resource_templates.as_mut().unwrap();
    let mut extra_template = templates[0].clone();
    extra_template.uri_template = "test://other/{x}".to_owned();
    templates.push(extra_template);
    let mut reversed_templates = with_templates.clone();
    reversed_templates
        .resource_templates
        .as_mut()
        .unwrap()
        .reverse();

    assert_eq!(reordered.digest().unwrap(), surface.digest().unwrap());
    assert_eq!(
        reversed_templates.digest().unwrap(),
        with_templates.digest().unwrap()
    );
    assert_ne!(with_templates.digest().unwrap(), surface.digest().unwrap());
}

#[test]
fn digest_ignores_key_order_and_whitespace() {
    let compact = br#"{"serverInfo":{"name":"demo","version":"1"},"protocolVersion":"2025-06-18","capabilities":{},"tools":[{"name":"a","inputSchema":{"type":"object","required":["x"]}}]}"#;
    let shuffled = br#"{
        "tools": [ { "inputSchema": { "required": ["x"], "type": "object" }, "name": "a" } ],
        "capabilities": {},
        "protocolVersion": "2025-06-18",
        "serverInfo": { "version": "1", "name": "demo" }
    }"#;
    let a = ToolSurface::from_json(compact).unwrap();
    let b = ToolSurface::from_json(shuffled).unwrap();
    assert_eq!(a, b);
    assert_eq!(a.digest().unwrap(), b.digest().unwrap());
}

#[test]
fn digest_changes_with_one_description() {
    let surface = load("server-memory@2026.8.31.json");
    let mut changed = surface.clone();
    let tool = tools_mut(&mut changed)
        .iter_mut()
        .find(|tool| tool.name == "search_nodes")
        .unwrap();
    tool.description.as_mut().unwrap().push('!');
    assert_ne!(changed.digest().unwrap(), surface.digest().unwrap());

    // So does a change deep inside a schema, and adding an annotation.
    let mut schema_changed = surface.clone();
    tools_mut(&mut schema_changed)[0]
        .input_schema
        .insert("additionalProperties".to_owned(), json!(false));
    assert_ne!(schema_changed.digest().unwrap(), surface.digest().unwrap());

    let mut hint_changed = surface.clone();
    tools_mut(&mut hint_changed)[0]
        .annotations
        .as_mut()
        .unwrap()
        .open_world_hint = Some(true);
    assert_ne!(hint_changed.digest().unwrap(), surface.digest().unwrap());
}

#[test]
fn digest_distinguishes_consecutive_releases() {
    // Byte-identical captures share a digest; a release that changed the surface does not.
    let a = load("server-everything@2025.11.25.json");
    let b = load("server-everything@2025.12.18.json");
    assert_eq!(a.digest().unwrap(), b.digest().unwrap());
    let c = load("server-everything@2026.1.14.json");
    assert_ne!(a.digest().unwrap(), c.digest().unwrap());
}

#[test]
fn digest_of_duplicate_names_does_not_depend_on_their_order() {
    // Tool names must be unique, but a broken server may repeat one; the digest must still be a
    // function of the set of tools, not of their order.
    let mut value = minimal();
    value["tools"] = json!([
        {"name": "dup", "description": "one", "inputSchema": {"type": "object"}},
        {"name": "dup", "description": "two", "inputSchema": {"type": "object"}},
        {"name": "a", "inputSchema": {"type": "object"}}
    ]);
    let surface = parse(&value);
    let mut reordered = surface.clone();
    tools_mut(&mut reordered).reverse();
    assert_eq!(reordered.digest().unwrap(), surface.digest().unwrap());
    // Lookup by name gives the first.
    assert_eq!(
        surface.tool("dup").unwrap().description.as_deref(),
        Some("one")
    );
}

#[test]
fn canonical_value_does_not_reorder_inside_entries() {
    let mut value = minimal();
    value["prompts"] = json!([{
        "name": "p",
        "arguments": [{"name": "z"}, {"name": "a"}]
    }]);
    value["tools"][0]["inputSchema"] = json!({"type": "object", "required": ["z", "a"]});
    let canonical = parse(&value).canonical_value();
    assert_eq!(
        canonical["prompts"][0]["arguments"],
        value["prompts"][0]["arguments"]
    );
    assert_eq!(
        canonical["tools"][0]["inputSchema"]["required"],
        json!(["z", "a"])
    );
}

// ---------------------------------------------------------------------------------------------
// Nothing lost: unknown keys, explicit nulls, every modelled field

#[test]
fn unknown_keys_survive_at_every_level() {
    let value = json!({
        "serverInfo": {
            "name": "demo",
            "version": "1.0.0",
            "icons": [{"src": "https://example.com/icon.png", "sizes": ["48x48"]}],
            "websiteUrl": "https://example.com"
        },
        "protocolVersion": "2025-11-25",
        "capabilities": {"tools": {"listChanged": true}, "experimental": {"x": {}}},
        "_meta": {"io.example/captured-by": "probe"},
        "x-vendor": 1,
        "tools": [{
            "name": "t",
            "inputSchema": {"type": "object", "x-weird": [1, 2, {"deep": null}]},
            "outputSchema": {"type": "object", "properties": {}},
            "annotations": {"readOnlyHint": true, "x-future-hint": "maybe"},
            "execution": {"taskSupport": "optional"},
            "icons": [],
            "_meta": {"k": "v"}
        }],
        "prompts": [{
            "name": "p",
            "arguments": [{"name": "arg", "x-completion": {"values": ["a"]}, "_meta": {}}],
            "icons": [{"src": "data:,"}],
            "_meta": {"n": 1}
        }],
        "resourceTemplates": [{
            "uriTemplate": "file:///{path}",
            "name": "files",
            "annotations": {"audience": ["user"], "priority": 0.5},
            "_meta": {}
        }],
        "resources": [{
            "uri": "file:///a",
            "name": "a",
            "annotations": {"lastModified": "2025-01-01T00:00:00Z"},
            "icons": [],
            "_meta": {"m": true}
        }]
    });
    let surface = parse(&value);
    assert_eq!(surface.to_value(), value);
    assert_eq!(surface.extra["x-vendor"], 1);
    assert_eq!(surface.extra["_meta"]["io.example/captured-by"], "probe");
    assert_eq!(
        surface.server_info.extra["websiteUrl"],
        "https://example.com"
    );

    let tool = surface.tool("t").unwrap();
    assert_eq!(tool.extra["execution"]["taskSupport"], "optional");
    assert_eq!(tool.extra["_meta"], json!({"k": "v"}));
    assert_eq!(tool.input_schema["x-weird"], json!([1, 2, {"deep": null}]));
    let annotations = tool.annotations.as_ref().unwrap();
    assert_eq!(annotations.extra["x-future-hint"], "maybe");
    assert!(annotations.is_read_only());

    let prompt = surface.prompt("p").unwrap();
    assert_eq!(prompt.extra["_meta"], json!({"n": 1}));
    assert!(
        prompt
            .argument("arg")
            .unwrap()
            .extra
            .contains_key("x-completion")
    );

    let template = surface.resource_template("file:///{path}").unwrap();
    assert_eq!(template.extra["annotations"]["priority"], 0.5);
    let resource = surface.resource("file:///a").unwrap();
    assert_eq!(resource.extra["_meta"]["m"], true);

    // The canonical form keeps them too.
    assert_eq!(surface.canonical_value(), value);
}

#[test]
fn explicit_nulls_survive_and_read_as_none() {
    let value = json!({
        "serverInfo": {"name": "demo", "version": "1", "title": null},
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "instructions": null,
        "prompts": null,
        "resourceTemplates": null,
        "resources": [{
            "uri": "u", "name": "n", "title": null, "description": null,
            "mimeType": null, "size": null
        }],
        "tools": [{
            "name": "t",
            "title": null,
            "description": null,
            "inputSchema": {"type": "object", "default": null},
            "outputSchema": null,
            "annotations": {
                "title": null, "readOnlyHint": null, "destructiveHint": null,
                "idempotentHint": null, "openWorldHint": null
            },
            "_meta": null
        }, {
            "name": "u",
            "inputSchema": {},
            "annotations": null
        }]
    });
    let surface = parse(&value);
    assert_eq!(surface.to_value(), value);
    let bytes = serde_json::to_vec(&surface).unwrap();
    assert_eq!(serde_json::from_slice::<Value>(&bytes).unwrap(), value);

    // Typed view: null is None, exactly like absent; the null itself sits in `extra`.
    assert_eq!(surface.instructions, None);
    assert_eq!(surface.prompts, None);
    assert_eq!(surface.extra["prompts"], Value::Null);
    assert_eq!(surface.server_info.title, None);
    let tool = surface.tool("t").unwrap();
    assert_eq!((&tool.title, &tool.description), (&None, &None));
    assert_eq!(tool.output_schema, None);
    assert_eq!(tool.extra["outputSchema"], Value::Null);
    let annotations = tool.annotations.as_ref().unwrap();
    assert_eq!(annotations.read_only_hint, None);
    assert!(annotations.is_destructive());
    assert_eq!(surface.tool("u").unwrap().annotations, None);
    assert!(surface.tool("u").unwrap().is_open_world());
    let resource = &surface.resources.as_ref().unwrap()[0];
    assert_eq!((resource.size, &resource.mime_type), (None, &None));
}

#[test]
fn null_and_absent_are_different_surfaces() {
    // Kept apart because re-serialization must give back what the server sent.
    let absent = minimal();
    let mut null = minimal();
    null["tools"][1]["description"] = Value::Null;
    let absent = parse(&absent);
    let null = parse(&null);
    assert_eq!(absent.tool("b").unwrap().description, None);
    assert_eq!(null.tool("b").unwrap().description, None);
    assert!(
        !absent.to_value()["tools"][1]
            .as_object()
            .unwrap()
            .contains_key("description")
    );
    assert_ne!(absent.digest().unwrap(), null.digest().unwrap());
}

#[test]
fn every_modelled_field_uses_its_wire_name() {
    // Every field set, so a typo in a wire name would leave it in `extra` or drop it.
    let value = json!({
        "serverInfo": {"name": "demo", "version": "2.0.0", "title": "Demo"},
        "protocolVersion": "2025-06-18",
        "capabilities": {"tools": {}, "prompts": {}, "resources": {}},
        "instructions": "Call `t` first.",
        "tools": [{
            "name": "t",
            "title": "T",
            "description": "does t",
            "inputSchema": {"type": "object"},
            "outputSchema": {"type": "object"},
            "annotations": {
                "title": "Old T",
                "readOnlyHint": true,
                "destructiveHint": false,
                "idempotentHint": true,
                "openWorldHint": false
            }
        }],
        "prompts": [{
            "name": "p",
            "title": "P",
            "description": "does p",
            "arguments": [{"name": "x", "title": "X", "description": "an x", "required": true}]
        }],
        "resourceTemplates": [{
            "uriTemplate": "demo://{id}",
            "name": "ids",
            "title": "IDs",
            "description": "by id",
            "mimeType": "text/plain"
        }],
        "resources": [{
            "uri": "demo://1",
            "name": "one",
            "title": "One",
            "description": "the first",
            "mimeType": "text/plain",
            "size": 18_014_398_509_481_984_u64
        }]
    });
    let surface = parse(&value);
    assert_eq!(surface.to_value(), value);

    assert!(surface.extra.is_empty());
    assert_eq!(
        surface.server_info,
        Implementation {
            name: "demo".into(),
            version: "2.0.0".into(),
            title: Some("Demo".into()),
            extra: serde_json::Map::new(),
        }
    );
    assert_eq!(surface.instructions.as_deref(), Some("Call `t` first."));

    let tool = surface.tool("t").unwrap();
    assert!(tool.extra.is_empty());
    assert_eq!(tool.title.as_deref(), Some("T"));
    assert_eq!(tool.description.as_deref(), Some("does t"));
    assert!(tool.output_schema.is_some());
    assert_eq!(
        tool.annotations,
        Some(ToolAnnotations {
            title: Some("Old T".into()),
            read_only_hint: Some(true),
            destructive_hint: Some(false),
            idempotent_hint: Some(true),
            open_world_hint: Some(false),
            extra: serde_json::Map::new(),
        })
    );

    let prompt = surface.prompt("p").unwrap();
    assert!(prompt.extra.is_empty());
    assert_eq!(
        (prompt.title.as_deref(), prompt.description.as_deref()),
        (Some("P"), Some("does p"))
    );
    let arg = prompt.argument("x").unwrap();
    assert!(arg.extra.is_empty());
    assert_eq!(
        (
            arg.title.as_deref(),
            arg.description.as_deref(),
            arg.required
        ),
        (Some("X"), Some("an x"), Some(true))
    );

    let template = surface.resource_template("demo://{id}").unwrap();
    assert!(template.extra.is_empty());
    assert_eq!(template.title.as_deref(), Some("IDs"));
    assert_eq!(template.description.as_deref(), Some("by id"));
    assert_eq!(template.mime_type.as_deref(), Some("text/plain"));

    let resource = surface.resource("demo://1").unwrap();
    assert!(resource.extra.is_empty());
    assert_eq!(resource.title.as_deref(), Some("One"));
    assert_eq!(resource.description.as_deref(), Some("the first"));
    assert_eq!(resource.mime_type.as_deref(), Some("text/plain"));
    assert_eq!(resource.size, Some(1 << 54));

    // A size beyond 2^53 parses and round-trips, but cannot be canonicalized exactly.
    assert!(surface.digest().is_err());
}

#[test]
fn absent_lists_stay_absent_and_empty_lists_stay_empty() {
    let mut value = minimal();
    value["prompts"] = json!([]);
    let surface = parse(&value);
    assert_eq!(surface.prompts, Some(Vec::<Prompt>::new()));
    assert_eq!(surface.resources, None);
    let written = surface.to_value();
    assert_eq!(written["prompts"], json!([]));
    assert!(!written.as_object().unwrap().contains_key("resources"));
    assert!(!written.as_object().unwrap().contains_key("instructions"));
    assert_eq!(written, value);
}

// ---------------------------------------------------------------------------------------------
// Errors

#[test]
fn errors_name_the_offending_member() {
    let mut value = minimal();
    value["tools"][1]
        .as_object_mut()
        .unwrap()
        .remove("inputSchema");
    let err = ToolSurface::from_json(value.to_string().as_bytes()).unwrap_err();
    assert!(matches!(err, Error::Json(_)));
    let message = err.to_string();
    assert!(
        message.contains("tools[1]") && message.contains("missing field `inputSchema`"),
        "{message}"
    );

    let mut value = minimal();
    value["tools"][0]["annotations"] = json!({"readOnlyHint": "yes"});
    let message = ToolSurface::from_json(value.to_string().as_bytes())
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("tools[0]")
            && message.contains("annotations")
            && message.contains("readOnlyHint"),
        "{message}"
    );

    let mut value = minimal();
    value["tools"][0]["inputSchema"] = json!(true);
    let message = ToolSurface::from_json(value.to_string().as_bytes())
        .unwrap_err()
        .to_string();
    assert!(message.contains("inputSchema"), "{message}");

    let mut value = minimal();
    value.as_object_mut().unwrap().remove("serverInfo");
    let message = ToolSurface::from_json(value.to_string().as_bytes())
        .unwrap_err()
        .to_string();
    assert!(message.contains("missing field `serverInfo`"), "{message}");

    let mut value = minimal();
    value["tools"] = json!({"name": "not a list"});
    assert!(ToolSurface::from_json(value.to_string().as_bytes()).is_err());

    let mut value = minimal();
    value["tools"][0]["name"] = Value::Null;
    assert!(ToolSurface::from_json(value.to_string().as_bytes()).is_err());

    assert!(matches!(ToolSurface::from_json(b"[]"), Err(Error::Json(_))));
    assert!(matches!(
        ToolSurface::from_json(b"{\"serverInfo\": "),
        Err(Error::Json(_))
    ));
}
