//! Issue 18 point 8: `whoami`, the operator's token list and revocation, on both engines.
#![allow(clippy::unwrap_used, reason = "tests: a panic is the failure report")]

use axum::http::{Method, StatusCode};
use registry_server::auth::Action;
use registry_tests::app::{TestApp, manifest};
use registry_tests::db::TestDb;
use serde_json::json;

registry_tests::on_both_engines!(
    whoami_names_the_token_and_its_grants,
    operators_list_and_revoke_tokens,
);

const WHOAMI: &str = "/v0.1/x/dev.mcp-reg/whoami";
const TOKENS: &str = "/v0.1/x/dev.mcp-reg/tokens";

async fn whoami_names_the_token_and_its_grants(db: TestDb) {
    let app = TestApp::new(db).await;
    let token = app
        .token(&[
            (Action::Publish, "io.github.alice/*"),
            (Action::Edit, "io.github.alice/weather"),
        ])
        .await;
    let me = app
        .request(Method::GET, WHOAMI, Some(&token), None)
        .await
        .ok();
    assert!(me["tokenId"].as_str().is_some_and(|id| !id.is_empty()));
    assert_eq!(
        me["permissions"],
        json!([
            {"action": "publish", "resource": "io.github.alice/*"},
            {"action": "edit", "resource": "io.github.alice/weather"},
        ])
    );
    app.request(Method::GET, WHOAMI, None, None)
        .await
        .problem(StatusCode::UNAUTHORIZED);
    app.request(Method::GET, WHOAMI, Some("mcpr_bogus"), None)
        .await
        .problem(StatusCode::UNAUTHORIZED);
}

async fn operators_list_and_revoke_tokens(db: TestDb) {
    let app = TestApp::new(db).await;
    let operator = app.token(&[(Action::Edit, "*")]).await;
    let publisher = app.token(&[(Action::Publish, "io.github.alice/*")]).await;
    let publisher_id = app
        .request(Method::GET, WHOAMI, Some(&publisher), None)
        .await
        .ok()["tokenId"]
        .as_str()
        .unwrap()
        .to_owned();

    // Listing and revoking need `edit` on every name.
    app.request(Method::GET, TOKENS, Some(&publisher), None)
        .await
        .problem(StatusCode::FORBIDDEN);
    let revoke = format!("{TOKENS}/{publisher_id}");
    app.request(Method::DELETE, &revoke, Some(&publisher), None)
        .await
        .problem(StatusCode::FORBIDDEN);

    let listed = app
        .request(Method::GET, TOKENS, Some(&operator), None)
        .await
        .ok();
    let tokens = listed["tokens"].as_array().unwrap();
    assert_eq!(tokens.len(), 2);
    for token in tokens {
        assert!(token.get("secretSha256").is_none() && token.get("secret_sha256").is_none());
        assert!(token.get("revokedAt").is_none(), "{token}");
        assert!(token["createdAt"].as_str().is_some());
    }

    // A replica (its own pool and caches) refuses the token as soon as the revocation is answered.
    let replica = app.replica().await;
    app.publish(&publisher, &manifest("io.github.alice/weather", "1.0.0"))
        .await
        .ok();
    let revoked = app
        .request(Method::DELETE, &revoke, Some(&operator), None)
        .await
        .ok();
    assert_eq!(revoked["id"], json!(publisher_id));
    let at = revoked["revokedAt"].as_str().unwrap().to_owned();
    for server in [&app, &replica] {
        server
            .request(Method::GET, WHOAMI, Some(&publisher), None)
            .await
            .problem(StatusCode::UNAUTHORIZED);
        server
            .publish(&publisher, &manifest("io.github.alice/weather", "1.0.1"))
            .await
            .problem(StatusCode::UNAUTHORIZED);
    }
    // Revoking again keeps the first time; an unknown id is a 404.
    let again = app
        .request(Method::DELETE, &revoke, Some(&operator), None)
        .await
        .ok();
    assert_eq!(again["revokedAt"], json!(at));
    app.request(
        Method::DELETE,
        &format!("{TOKENS}/nosuchtoken"),
        Some(&operator),
        None,
    )
    .await
    .problem(StatusCode::NOT_FOUND);

    // The list shows the revocation, and the audit log who did it.
    let listed = app
        .request(Method::GET, TOKENS, Some(&operator), None)
        .await
        .ok();
    let entry = listed["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == json!(publisher_id))
        .unwrap()
        .clone();
    assert_eq!(entry["revokedAt"], json!(at));
    let audit = app
        .request(
            Method::GET,
            "/v0.1/x/dev.mcp-reg/audit",
            Some(&operator),
            None,
        )
        .await
        .ok();
    assert!(
        audit["entries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "token-revoke" && e["outcome"] == "ok"),
        "{audit}"
    );
}
