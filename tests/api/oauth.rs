use axum::http::Method;
use base64::Engine;
use serde_json::json;
use sha2::Digest;

use crate::both_backends;
use crate::common::TestDb;
use crate::support::{Api, B, assert_error};

both_backends!(
    apps_tokens_scopes_and_revocation,
    |tdb: TestDb| async move {
        let api = Api::new(tdb).await;
        let r = api
        .post("/api/v1/apps", None, B::Form("client_name=Tusky&redirect_uris=urn:ietf:wg:oauth:2.0:oob&scopes=read+write+follow&website=https://tusky.app"))
        .await;
        assert_eq!(r.status, 200, "{}", r.json);
        assert_eq!(r.json["name"], "Tusky");
        assert_eq!(r.json["redirect_uri"], "urn:ietf:wg:oauth:2.0:oob");
        let (cid, secret) = (
            r.json["client_id"].as_str().unwrap().to_string(),
            r.json["client_secret"].as_str().unwrap().to_string(),
        );

        // Missing name: 422 like Mastodon.
        assert_error(
            &api.post(
                "/api/v1/apps",
                None,
                B::Json(json!({"redirect_uris": "urn:ietf:wg:oauth:2.0:oob"})),
            )
            .await,
            422,
        );
        assert_error(&api.post("/api/v1/apps", None, B::Json(json!({"client_name": "x", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob", "scopes": "read bogus"}))).await, 422);

        // client_credentials: an app token, which verifies as the app but is no user.
        let r = api.post("/oauth/token", None, B::FormOwned(format!("grant_type=client_credentials&client_id={cid}&client_secret={secret}&scope=read"))).await;
        assert_eq!(r.status, 200, "{}", r.json);
        assert_eq!(r.json["token_type"], "Bearer");
        let app_token = r.json["access_token"].as_str().unwrap().to_string();
        let r = api
            .get("/api/v1/apps/verify_credentials", Some(&app_token))
            .await;
        assert_eq!(r.json["name"], "Tusky");
        assert_error(
            &api.get("/api/v1/accounts/verify_credentials", Some(&app_token))
                .await,
            422,
        );

        // Wrong secret, unsupported grant, disabled password grant.
        let r = api
            .post(
                "/oauth/token",
                None,
                B::FormOwned(format!(
                    "grant_type=client_credentials&client_id={cid}&client_secret=nope"
                )),
            )
            .await;
        assert_eq!(r.status, 401);
        assert_eq!(r.json["error"], "invalid_client");
        let r = api
            .post(
                "/oauth/token",
                None,
                B::FormOwned(format!(
                    "grant_type=magic&client_id={cid}&client_secret={secret}"
                )),
            )
            .await;
        assert_eq!(r.status, 400);
        let r = api.post("/oauth/token", None, B::FormOwned(format!("grant_type=password&client_id={cid}&client_secret={secret}&username=a&password=b"))).await;
        assert_eq!(r.status, 400);
        assert_eq!(r.json["error"], "unauthorized_client");

        // Authorization code with PKCE (the code comes from the consent page).
        let (alice, _) = api.user("alice", "read").await;
        let user_id = {
            let name = alice.username.clone();
            api.app
                .state
                .db
                .run(move |c| {
                    meetfield::db::models::User::by_username(c, &name)
                        .map_err(meetfield::db::DbError::from)
                })
                .await
                .unwrap()
                .unwrap()
                .0
                .id
        };
        let app = meetfield::domain::oauth::application_by_client_id(&api.app.state.db, &cid)
            .await
            .unwrap()
            .unwrap();
        let verifier = "a-long-random-verifier-string-of-43-characters-at-least";
        let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(sha2::Sha256::digest(verifier.as_bytes()));
        let code = meetfield::domain::oauth::issue_code(
            &api.app.state.db,
            &app,
            user_id,
            "urn:ietf:wg:oauth:2.0:oob",
            &meetfield::domain::oauth::Scopes::parse("read write").unwrap(),
            Some((challenge, "S256".into())),
        )
        .await
        .unwrap();
        // Wrong verifier burns the code.
        let r = api.post("/oauth/token", None, B::FormOwned(format!("grant_type=authorization_code&client_id={cid}&client_secret={secret}&code={code}&redirect_uri=urn:ietf:wg:oauth:2.0:oob&code_verifier=wrong"))).await;
        assert_eq!(r.status, 400);
        assert_eq!(r.json["error"], "invalid_grant");
        let code = meetfield::domain::oauth::issue_code(
            &api.app.state.db,
            &app,
            user_id,
            "urn:ietf:wg:oauth:2.0:oob",
            &meetfield::domain::oauth::Scopes::parse("read write").unwrap(),
            Some((
                base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .encode(sha2::Sha256::digest(verifier.as_bytes())),
                "S256".into(),
            )),
        )
        .await
        .unwrap();
        let r = api.post("/oauth/token", None, B::Json(json!({
        "grant_type": "authorization_code", "client_id": cid, "client_secret": secret,
        "code": code, "redirect_uri": "urn:ietf:wg:oauth:2.0:oob", "code_verifier": verifier,
    }))).await;
        assert_eq!(r.status, 200, "{}", r.json);
        assert_eq!(r.json["scope"], "read write");
        let token = r.json["access_token"].as_str().unwrap().to_string();
        let r = api
            .get("/api/v1/accounts/verify_credentials", Some(&token))
            .await;
        assert_eq!(r.status, 200);
        assert_eq!(r.json["username"], "alice");
        // A code works once.
        let r = api.post("/oauth/token", None, B::Json(json!({
        "grant_type": "authorization_code", "client_id": cid, "client_secret": secret,
        "code": code, "redirect_uri": "urn:ietf:wg:oauth:2.0:oob", "code_verifier": verifier,
    }))).await;
        assert_eq!(r.status, 400);

        // Revocation.
        let r = api
            .post(
                "/oauth/revoke",
                None,
                B::FormOwned(format!(
                    "client_id={cid}&client_secret={secret}&token={token}"
                )),
            )
            .await;
        assert_eq!(r.status, 200);
        assert_error(
            &api.get("/api/v1/accounts/verify_credentials", Some(&token))
                .await,
            401,
        );

        // Tokens are stored hashed.
        let stored: Vec<String> = api
            .app
            .state
            .db
            .run(|c| {
                use diesel::prelude::*;
                use meetfield::db::schema::oauth_tokens;
                oauth_tokens::table
                    .select(oauth_tokens::token_hash)
                    .load::<String>(c)
                    .map_err(meetfield::db::DbError::from)
            })
            .await
            .unwrap();
        assert!(!stored.contains(&token) && !stored.contains(&app_token));

        let r = api
            .get("/.well-known/oauth-authorization-server", None)
            .await;
        assert!(
            r.json["code_challenge_methods_supported"]
                .to_string()
                .contains("S256")
        );
        let _ = Method::GET;
    }
);

both_backends!(invalid_tokens_and_scopes, |tdb: TestDb| async move {
    let api = Api::new(tdb).await;
    let (_, read_only) = api.user("reader", "read").await;
    assert_error(
        &api.get("/api/v1/accounts/verify_credentials", None).await,
        401,
    );
    assert_error(
        &api.get("/api/v1/accounts/verify_credentials", Some("bogus"))
            .await,
        401,
    );
    // An invalid token is refused even where none is needed.
    assert_error(
        &api.get("/api/v1/timelines/public", Some("bogus")).await,
        401,
    );
    assert_eq!(api.get("/api/v1/timelines/public", None).await.status, 200);
    // Read scope cannot write.
    assert_error(
        &api.post("/api/v1/statuses", Some(&read_only), B::Form("status=hi"))
            .await,
        403,
    );
    // Disabled users lose access.
    meetfield::domain::users::set_disabled(&api.app.state.db, "reader", true)
        .await
        .unwrap();
    assert_error(
        &api.get("/api/v1/accounts/verify_credentials", Some(&read_only))
            .await,
        403,
    );
});

both_backends!(
    instance_reports_mastodon_version,
    |tdb: TestDb| async move {
        let api = Api::new(tdb).await;
        for path in ["/api/v1/instance", "/api/v2/instance"] {
            let r = api.get(path, None).await;
            assert_eq!(r.status, 200);
            let v = r.json["version"].as_str().unwrap();
            assert!(v.starts_with("4.3.0 (compatible; Meetfield "), "{v}");
            assert_eq!(r.json["configuration"]["statuses"]["max_characters"], 5000);
        }
        assert_eq!(
            api.get("/api/v2/instance", None).await.json["domain"],
            "api.localhost:8080"
        );
    }
);
