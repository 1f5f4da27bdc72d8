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

        // More than the app registered is refused as RFC 6749 says.
        let r = api.post("/oauth/token", None, B::FormOwned(format!("grant_type=client_credentials&client_id={cid}&client_secret={secret}&scope=read+push"))).await;
        assert_eq!(r.status, 400, "{}", r.json);
        assert_eq!(r.json["error"], "invalid_scope");

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

async fn raw(
    api: &Api,
    req: axum::http::Request<axum::body::Body>,
) -> (u16, axum::http::HeaderMap, String) {
    use tower::ServiceExt;
    let res = api.router.clone().oneshot(req).await.unwrap();
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let body = http_body_util::BodyExt::collect(res.into_body())
        .await
        .unwrap()
        .to_bytes();
    (status, headers, String::from_utf8_lossy(&body).into_owned())
}

fn field(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} in {html}"))
        + marker.len();
    html[start..].split('"').next().unwrap().to_string()
}

both_backends!(
    authorize_page_sign_in_and_consent,
    |tdb: TestDb| async move {
        use axum::body::Body;
        use axum::http::Request;
        let api = Api::new(tdb).await;
        api.user("alice", "read").await;
        let r = api.post("/api/v1/apps", None, B::Json(json!({
        "client_name": "Elk", "redirect_uris": "https://elk.example/cb urn:ietf:wg:oauth:2.0:oob", "scopes": "read write"
    }))).await;
        let (cid, secret) = (
            r.json["client_id"].as_str().unwrap().to_string(),
            r.json["client_secret"].as_str().unwrap().to_string(),
        );
        let verifier = "pkce-verifier-pkce-verifier-pkce-verifier-123";
        let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(sha2::Sha256::digest(verifier.as_bytes()));
        let qs = format!(
            "response_type=code&client_id={cid}&redirect_uri=https%3A%2F%2Felk.example%2Fcb&scope=read+write&state=xyz&code_challenge={challenge}&code_challenge_method=S256"
        );

        let (s, h, html) = raw(
            &api,
            Request::get(format!("/oauth/authorize?{qs}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        assert_eq!(s, 200);
        assert!(
            html.contains("Elk") && html.contains("read write"),
            "{html}"
        );
        assert_eq!(h["x-frame-options"], "DENY");
        assert!(
            html.contains("href=\"/assets/style.css\""),
            "the pages' one stylesheet"
        );
        let cookie = h["set-cookie"]
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_string();
        assert!(h["set-cookie"].to_str().unwrap().contains("HttpOnly"));
        let csrf = field(&html, "csrf");
        let post = |body: String, cookie: Option<String>| {
            let mut r = Request::post("/oauth/authorize")
                .header("content-type", "application/x-www-form-urlencoded");
            if let Some(c) = cookie {
                r = r.header("cookie", c);
            }
            r.body(Body::from(body)).unwrap()
        };
        let base_form = format!(
            "response_type=code&client_id={cid}&redirect_uri=https%3A%2F%2Felk.example%2Fcb&scope=read+write&state=xyz&code_challenge={challenge}&code_challenge_method=S256"
        );

        // Without the cookie (a cross-site post): refused.
        let (s, _, _) = raw(&api, post(format!("{base_form}&csrf={csrf}&login=alice&password=long+enough+password&decision=allow"), None)).await;
        assert_eq!(s, 403);
        // Wrong password: the form again, with an error.
        let (s, _, html) = raw(
            &api,
            post(
                format!("{base_form}&csrf={csrf}&login=alice&password=nope&decision=allow"),
                Some(cookie.clone()),
            ),
        )
        .await;
        assert_eq!(s, 401);
        assert!(html.contains("Invalid email or password"));
        // Deny: back to the app with access_denied.
        let (s, h, _) = raw(
            &api,
            post(
                format!("{base_form}&csrf={csrf}&decision=deny"),
                Some(cookie.clone()),
            ),
        )
        .await;
        assert_eq!(s, 303);
        assert!(
            h["location"]
                .to_str()
                .unwrap()
                .starts_with("https://elk.example/cb?error=access_denied&state=xyz")
        );
        // Allow: back to the app with a code, exchanged with the PKCE verifier.
        let (s, h, _) = raw(&api, post(format!("{base_form}&csrf={csrf}&login=alice&password=long+enough+password&decision=allow"), Some(cookie.clone()))).await;
        assert_eq!(s, 303);
        let location = url::Url::parse(h["location"].to_str().unwrap()).unwrap();
        let pairs: std::collections::HashMap<_, _> = location.query_pairs().into_owned().collect();
        assert_eq!(pairs["state"], "xyz");
        let r = api.post("/oauth/token", None, B::Json(json!({
        "grant_type": "authorization_code", "client_id": cid, "client_secret": secret,
        "code": pairs["code"], "redirect_uri": "https://elk.example/cb", "code_verifier": verifier,
    }))).await;
        assert_eq!(r.status, 200, "{}", r.json);
        let token = r.json["access_token"].as_str().unwrap().to_string();
        assert_eq!(
            api.get("/api/v1/accounts/verify_credentials", Some(&token))
                .await
                .json["username"],
            "alice"
        );

        // Out-of-band: the code is shown on the page.
        let oob = format!(
            "response_type=code&client_id={cid}&redirect_uri=urn%3Aietf%3Awg%3Aoauth%3A2.0%3Aoob&scope=read"
        );
        let (s, _, html) = raw(&api, post(format!("{oob}&csrf={csrf}&login=alice%40org.example&password=long+enough+password&decision=allow"), Some(cookie.clone()))).await;
        assert_eq!(s, 200);
        assert!(html.contains("<code id=\"code\">"), "{html}");

        // Bad requests never show the form.
        for bad in [
            format!(
                "response_type=code&client_id={cid}&redirect_uri=https%3A%2F%2Fevil.example%2F"
            ),
            "response_type=code&client_id=unknown".to_string(),
            format!("response_type=token&client_id={cid}"),
            format!("response_type=code&client_id={cid}&scope=admin%3Aread"),
        ] {
            let (s, _, html) = raw(
                &api,
                Request::get(format!("/oauth/authorize?{bad}"))
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
            assert_eq!(s, 400, "{bad}");
            assert!(!html.contains("<form"), "{bad}");
        }
    }
);
