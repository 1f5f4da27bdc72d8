//! CORS for browser clients on other origins (Elk, Phanpy, masto.js in a
//! page): the API, OAuth token endpoints and federation documents answer any
//! origin without credentials; the sign-in page does not.

use axum::http::Method;

use crate::both_backends;
use crate::common::TestDb;
use crate::support::{Api, B, Res};

const ORIGIN: &str = "https://elk.example";

fn header(r: &Res, name: &str) -> String {
    r.headers
        .get(name)
        .map(|v| v.to_str().unwrap().to_lowercase())
        .unwrap_or_default()
}

both_backends!(browser_clients_on_other_origins, |tdb: TestDb| async move {
    let api = Api::new(tdb).await;
    let (_, token) = api.user("alice", "read write").await;
    // Preflights for what clients send.
    for (path, method) in [
        ("/api/v1/statuses", "POST"),
        ("/api/v1/statuses/1", "DELETE"),
        ("/api/v1/accounts/update_credentials", "PATCH"),
        ("/oauth/token", "POST"),
        ("/oauth/revoke", "POST"),
    ] {
        let r = api
            .call_with(
                Method::OPTIONS,
                path,
                None,
                &[
                    ("origin", ORIGIN),
                    ("access-control-request-method", method),
                    (
                        "access-control-request-headers",
                        "authorization,content-type,idempotency-key",
                    ),
                ],
                B::None,
            )
            .await;
        assert!(r.status.is_success(), "{path}: {}", r.status);
        assert_eq!(header(&r, "access-control-allow-origin"), "*", "{path}");
        assert!(
            header(&r, "access-control-allow-methods").contains(&method.to_lowercase()),
            "{path}"
        );
        let allowed = header(&r, "access-control-allow-headers");
        for h in ["authorization", "content-type", "idempotency-key"] {
            assert!(allowed.contains(h), "{path}: {allowed}");
        }
        assert!(
            r.headers.get("access-control-allow-credentials").is_none(),
            "{path}"
        );
    }
    // Answers carry the origin rule and let pages read Link.
    let r = api
        .call_with(
            Method::GET,
            "/api/v1/timelines/home",
            Some(&token),
            &[("origin", ORIGIN)],
            B::None,
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(header(&r, "access-control-allow-origin"), "*");
    assert!(
        header(&r, "access-control-expose-headers").contains("link"),
        "{:?}",
        r.headers
    );
    for path in [
        "/api/v1/instance",
        "/.well-known/nodeinfo",
        "/nodeinfo/2.0",
        "/.well-known/webfinger?resource=acct:alice@api.localhost:8080",
        "/users/alice",
    ] {
        let r = api
            .call_with(
                Method::GET,
                path,
                None,
                &[("origin", ORIGIN), ("accept", "application/activity+json")],
                B::None,
            )
            .await;
        assert_eq!(header(&r, "access-control-allow-origin"), "*", "{path}");
    }
    // The sign-in page keeps same-origin rules.
    let r = api
        .call_with(
            Method::GET,
            "/oauth/authorize?response_type=code&client_id=x",
            None,
            &[("origin", ORIGIN)],
            B::None,
        )
        .await;
    assert!(r.headers.get("access-control-allow-origin").is_none());
    let r = api
        .call_with(
            Method::OPTIONS,
            "/oauth/authorize",
            None,
            &[
                ("origin", ORIGIN),
                ("access-control-request-method", "POST"),
            ],
            B::None,
        )
        .await;
    assert!(r.headers.get("access-control-allow-origin").is_none());
});
