//! Bad input gets a clear 4xx on both backends, never a 500.

use axum::http::Method;
use serde_json::json;

use crate::both_backends;
use crate::common::TestDb;
use crate::support::{Api, B, assert_error};

both_backends!(nul_bytes_are_refused_everywhere, |tdb: TestDb| async move {
    let api = Api::new(tdb).await;
    let (_, tok) = api.user("alice", "read write follow").await;
    // In a query, signed in or not; in a path; upper and lower case.
    for path in [
        "/api/v2/search?q=%00",
        "/api/v2/search?q=a%00b&resolve=true",
        "/api/v1/accounts/search?q=%00",
        "/api/v1/accounts/lookup?acct=al%00ice",
        "/api/v1/timelines/tag/a%00",
        "/.well-known/webfinger?resource=acct:%00@api.localhost:8080",
        "/users/ali%00ce",
    ] {
        for token in [None, Some(tok.as_str())] {
            let r = api.get(path, token).await;
            assert_error(&r, 422);
            assert!(r.json["error"].as_str().unwrap().contains("NUL"), "{path}");
        }
    }
    // In a body: form, JSON (escaped), multipart.
    let r = api
        .post("/api/v1/statuses", Some(&tok), B::Form("status=hi%00there"))
        .await;
    assert_error(&r, 422);
    let r = api
        .post(
            "/api/v1/statuses",
            Some(&tok),
            B::Json(json!({ "status": "hi\u{0}there" })),
        )
        .await;
    assert_error(&r, 422);
    let r = api
        .call(
            Method::PATCH,
            "/api/v1/accounts/update_credentials",
            Some(&tok),
            B::Multipart(vec![("display_name", "A\u{0}B".into())]),
        )
        .await;
    assert_error(&r, 422);
    let r = api
        .post(
            "/api/v1/statuses",
            Some(&tok),
            B::Json(json!({ "status": "fine", "poll": { "options": ["a", "b\u{0}"], "expires_in": 3600 } })),
        )
        .await;
    assert_error(&r, 422);
    // Nothing was stored; an ordinary post still works.
    let r = api
        .get("/api/v1/accounts/verify_credentials", Some(&tok))
        .await;
    assert_eq!(r.json["statuses_count"], 0);
    let r = api
        .post("/api/v1/statuses", Some(&tok), B::Form("status=hi%20there"))
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
});
