#![allow(clippy::unwrap_used)]

use serde_json::json;

use super::*;

fn server(extra: &Value) -> ServerJson {
    let mut base =
        json!({"name": "io.github.acme/weather", "description": "d", "version": "1.2.3"});
    if let (Some(base), Some(extra)) = (base.as_object_mut(), extra.as_object()) {
        base.extend(extra.clone());
    }
    serde_json::from_value(base).unwrap()
}

fn plain(args: &[Template]) -> Vec<String> {
    args.iter().map(|a| a.as_plain().unwrap()).collect()
}

fn stdio(spec: &LaunchSpec) -> (&str, Vec<String>) {
    match spec {
        LaunchSpec::Stdio { command, args, .. } => (command.as_str(), plain(args)),
        LaunchSpec::Remote { .. } => panic!("not stdio"),
    }
}

#[test]
fn npm_with_arguments_and_windows_shim() {
    let s = server(&json!({"packages": [{
        "registryType": "npm", "identifier": "@acme/weather", "version": "1.2.3",
        "transport": {"type": "stdio"},
        "runtimeArguments": [{"type": "named", "name": "--node-options", "value": "--max-old-space-size=512"}],
        "packageArguments": [
            {"type": "positional", "valueHint": "dir", "isRequired": true},
            {"type": "named", "name": "--port", "default": "8080"},
            {"type": "named", "name": "--verbose"}
        ]
    }]}));
    let values = Values::from([("dir".to_owned(), "/tmp/x".to_owned())]);
    let r = resolve(&s, Choice::Package(0), &values, Platform::Linux).unwrap();
    assert_eq!(
        stdio(&r.spec),
        (
            "npx",
            vec![
                "-y",
                "--node-options",
                "--max-old-space-size=512",
                "@acme/weather@1.2.3",
                "/tmp/x",
                "--port",
                "8080"
            ]
            .into_iter()
            .map(String::from)
            .collect()
        )
    );
    let r = resolve(&s, Choice::Package(0), &values, Platform::Windows).unwrap();
    let (cmd, args) = stdio(&r.spec);
    assert_eq!(cmd, "cmd");
    assert_eq!(&args[..3], ["/c", "npx", "-y"]);
    let err = resolve(&s, Choice::Package(0), &Values::new(), Platform::Linux).unwrap_err();
    assert!(
        matches!(err, InstallError::MissingInput { ref key, .. } if key == "dir"),
        "{err}"
    );
}

#[test]
fn pypi_oci_nuget_mappings() {
    let s = server(&json!({"packages": [
        {"registryType": "pypi", "identifier": "weather-mcp", "version": "0.4.0", "transport": {"type": "stdio"}},
        {"registryType": "oci", "identifier": "docker.io/acme/weather:1.0.2", "transport": {"type": "stdio"},
         "environmentVariables": [{"name": "TOKEN", "isSecret": true, "isRequired": true}, {"name": "MODE", "default": "fast"}]},
        {"registryType": "oci", "identifier": "ghcr.io/acme/w", "version": "2.0.0", "transport": {"type": "stdio"}},
        {"registryType": "nuget", "identifier": "Acme.Weather", "version": "3.1.0", "transport": {"type": "stdio"},
         "packageArguments": [{"type": "positional", "value": "serve"}]},
        {"registryType": "mcpb", "identifier": "https://x/y.mcpb", "transport": {"type": "stdio"}},
        {"registryType": "npm", "identifier": "nov", "transport": {"type": "stdio"}}
    ]}));
    let v = Values::new();
    let r = resolve(&s, Choice::Package(0), &v, Platform::Windows).unwrap();
    assert_eq!(
        stdio(&r.spec),
        (
            "cmd",
            vec!["/c".into(), "uvx".into(), "weather-mcp==0.4.0".into()]
        )
    );
    let r = resolve(&s, Choice::Package(1), &v, Platform::Windows).unwrap();
    let LaunchSpec::Stdio { command, args, env } = &r.spec else {
        panic!()
    };
    assert_eq!(command, "docker");
    let shown: Vec<String> = args.iter().map(|a| a.as_plain().unwrap()).collect();
    assert_eq!(
        shown,
        [
            "run",
            "-i",
            "--rm",
            "-e",
            "TOKEN",
            "-e",
            "MODE",
            "docker.io/acme/weather:1.0.2"
        ]
    );
    assert_eq!(env[0].1.as_single_secret().unwrap().env_name, "TOKEN");
    assert_eq!(env[1].1.as_plain().unwrap(), "fast");
    let r = resolve(&s, Choice::Package(2), &v, Platform::Linux).unwrap();
    assert_eq!(stdio(&r.spec).1.last().unwrap(), "ghcr.io/acme/w:2.0.0");
    let r = resolve(&s, Choice::Package(3), &v, Platform::Linux).unwrap();
    assert_eq!(
        stdio(&r.spec),
        (
            "dnx",
            vec![
                "Acme.Weather@3.1.0".into(),
                "--yes".into(),
                "--".into(),
                "serve".into()
            ]
        )
    );
    assert!(matches!(
        resolve(&s, Choice::Package(4), &v, Platform::Linux),
        Err(InstallError::Unsupported(_))
    ));
    assert!(matches!(
        resolve(&s, Choice::Package(5), &v, Platform::Linux),
        Err(InstallError::Unsupported(_))
    ));
}

#[test]
fn remote_with_variables_and_secret_header() {
    let s = server(&json!({"remotes": [{
        "type": "streamable-http", "url": "https://{tenant}.acme.dev/mcp",
        "variables": {"tenant": {"description": "Tenant", "default": "eu"}},
        "headers": [{"name": "Authorization", "value": "Bearer {token}",
                     "variables": {"token": {"isSecret": true, "description": "API token"}}}]
    }]}));
    let r = resolve(&s, Choice::Remote(0), &Values::new(), Platform::Linux).unwrap();
    let LaunchSpec::Remote {
        transport,
        url,
        headers,
    } = &r.spec
    else {
        panic!()
    };
    assert_eq!(*transport, RemoteTransport::StreamableHttp);
    assert_eq!(url.as_plain().unwrap(), "https://eu.acme.dev/mcp");
    let Part::Secret(secret) = &headers[0].1.0[1] else {
        panic!()
    };
    assert_eq!(
        (secret.key.as_str(), secret.env_name.as_str()),
        ("token", "TOKEN")
    );
    assert_eq!(headers[0].1.0[0], Part::Text("Bearer ".into()));
    let values = Values::from([("tenant".to_owned(), "us".to_owned())]);
    let r = resolve(&s, Choice::Remote(0), &values, Platform::Linux).unwrap();
    let LaunchSpec::Remote { url, .. } = &r.spec else {
        panic!()
    };
    assert_eq!(url.as_plain().unwrap(), "https://us.acme.dev/mcp");
    let keys: Vec<String> = inputs(&s, Choice::Remote(0))
        .into_iter()
        .map(|i| i.key)
        .collect();
    assert_eq!(keys, ["tenant", "token", "Authorization"]);
}

#[test]
fn selection_prefers_supported_remote() {
    let s = server(&json!({
        "packages": [{"registryType": "npm", "identifier": "w", "version": "1.0.0", "transport": {"type": "stdio"}}],
        "remotes": [{"type": "sse", "url": "https://a/sse"}]
    }));
    assert_eq!(
        select(&s, Choice::Auto, Support::ALL).unwrap(),
        Choice::Remote(0)
    );
    let no_sse = Support {
        sse: false,
        ..Support::ALL
    };
    assert_eq!(
        select(&s, Choice::Auto, no_sse).unwrap(),
        Choice::Package(0)
    );
    let stdio_only = Support {
        stdio: true,
        streamable_http: false,
        sse: false,
    };
    assert!(select(&s, Choice::Remote(0), stdio_only).is_err());
    assert_eq!(env_name_for("api-key"), "API_KEY");
    assert_eq!(
        substitute("{a} {b}", None, &Values::new(), false)
            .unwrap()
            .as_plain()
            .unwrap(),
        "{a} {b}"
    );
}
