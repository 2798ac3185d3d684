//! `mcp-reg search [QUERY]`: the latest version of every matching server (every server without a
//! query), as a table or JSON.

use serde_json::Value;

use crate::ExitStatus;
use crate::client::{ListQuery, ServerResponse};
use crate::commands::{Ctx, JsonFlag, print_json, print_table};

#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  mcp-reg search memory
  mcp-reg search github --registry-type npm --transport stdio
  mcp-reg search                            (list servers)
  mcp-reg search --limit 100 --json | jq -r '.servers[].server.name'")]
pub struct SearchArgs {
    /// Words to find in server names and descriptions (case-insensitive substring); without it,
    /// every server is listed.
    pub query: Option<String>,
    /// At most this many results (1-100).
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub limit: u32,
    /// Only servers with a package of this type (npm, pypi, oci, nuget, mcpb, cargo).
    #[arg(long, value_name = "TYPE")]
    pub registry_type: Option<String>,
    /// Only servers reachable over this transport (stdio, streamable-http, sse).
    #[arg(long, value_name = "TRANSPORT")]
    pub transport: Option<String>,
    #[command(flatten)]
    pub output: JsonFlag,
}

pub fn run(ctx: &Ctx, args: &SearchArgs) -> anyhow::Result<ExitStatus> {
    let client = ctx.client()?;
    let list = {
        let _spinner = ctx.ui.spinner("searching");
        client.list_servers(&ListQuery {
            search: args.query.as_deref().filter(|q| !q.trim().is_empty()),
            limit: Some(args.limit),
            registry_type: args.registry_type.as_deref(),
            transport: args.transport.as_deref(),
            version: Some("latest"),
            cursor: None,
        })?
    };
    if args.output.json {
        print_json(&list)?;
        return Ok(ExitStatus::Success);
    }
    if list.servers.is_empty() {
        match args.query.as_deref().filter(|q| !q.trim().is_empty()) {
            Some(query) => ctx.ui.info(&format!("no servers match `{query}`")),
            None => ctx.ui.info("the registry has no servers"),
        }
        return Ok(ExitStatus::Success);
    }
    let rows: Vec<Vec<String>> = list
        .servers
        .iter()
        .map(|s| {
            vec![
                s.name().to_owned(),
                s.version().to_owned(),
                kinds(s),
                s.description().to_owned(),
            ]
        })
        .collect();
    print_table(&["NAME", "VERSION", "TYPE", "DESCRIPTION"], &rows, &ctx.ui)?;
    if list.metadata.next_cursor.is_some() {
        ctx.ui.info("(more results: raise --limit, at most 100)");
    }
    Ok(ExitStatus::Success)
}

/// The package types and `remote`, e.g. `npm,remote`.
pub fn kinds(server: &ServerResponse) -> String {
    let mut kinds: Vec<String> = Vec::new();
    for package in server.server["packages"].as_array().into_iter().flatten() {
        if let Some(kind) = package["registryType"].as_str()
            && !kinds.iter().any(|k| k == kind)
        {
            kinds.push(kind.to_owned());
        }
    }
    if server.server["remotes"]
        .as_array()
        .is_some_and(|r| !r.is_empty())
    {
        kinds.push("remote".to_owned());
    }
    if kinds.is_empty() {
        return "-".to_owned();
    }
    kinds.join(",")
}

/// A JSON string field or "".
pub fn text<'a>(value: &'a Value, key: &str) -> &'a str {
    value[key].as_str().unwrap_or_default()
}
