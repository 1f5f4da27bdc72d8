//! `POST /api/v1/accounts` in each MEETFIELD_REGISTRATIONS mode.

use serde_json::{Value, json};

use crate::both_backends;
use crate::common::TestDb;
use crate::support::{Api, B, assert_error};
use meetfield::config::Registrations;
use meetfield::domain::registrations;

/// An app token, as apps get it with client credentials.
async fn app_token(api: &Api) -> String {
    let app = api
        .post(
            "/api/v1/apps",
            None,
            B::Json(json!({
                "client_name": "signup",
                "redirect_uris": "urn:ietf:wg:oauth:2.0:oob",
                "scopes": "read write follow"
            })),
        )
        .await
        .json;
    let r = api
        .post(
            "/oauth/token",
            None,
            B::Json(json!({
                "grant_type": "client_credentials",
                "client_id": app["client_id"],
                "client_secret": app["client_secret"],
                "scope": "read write follow"
            })),
        )
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.json);
    r.json["access_token"].as_str().unwrap().to_string()
}

fn form(name: &str) -> Value {
    json!({
        "username": name,
        "email": format!("{name}@org.example"),
        "password": "a long enough password",
        "agreement": true,
        "locale": "de",
    })
}

both_backends!(closed_by_default, |tdb: TestDb| async move {
    let api = Api::new(tdb).await;
    let t = app_token(&api).await;
    let v1 = api.get("/api/v1/instance", None).await.json;
    assert_eq!(v1["registrations"], false);
    let r = api
        .post("/api/v1/accounts", Some(&t), B::Json(form("anna")))
        .await;
    assert_error(&r, 403);
    assert_error(
        &api.post("/api/v1/accounts", None, B::Json(form("anna")))
            .await,
        401,
    );
});

both_backends!(open_sign_up, |tdb: TestDb| async move {
    let api = Api::with_config(tdb, |c| meetfield::config::Config {
        registrations: Registrations::Open,
        contact_email: "admins@org.example".into(),
        instance_title: "Org social".into(),
        ..c
    })
    .await;
    let t = app_token(&api).await;
    let v2 = api.get("/api/v2/instance", None).await.json;
    assert_eq!(v2["registrations"]["enabled"], true);
    assert_eq!(v2["registrations"]["approval_required"], false);
    assert_eq!(v2["contact"]["email"], "admins@org.example");
    assert_eq!(v2["title"], "Org social");

    let mut no_agreement = form("anna");
    no_agreement["agreement"] = json!(false);
    assert_error(
        &api.post("/api/v1/accounts", Some(&t), B::Json(no_agreement))
            .await,
        422,
    );
    let mut bad = form("anna");
    bad["password"] = json!("short");
    assert_error(
        &api.post("/api/v1/accounts", Some(&t), B::Json(bad)).await,
        422,
    );

    let r = api
        .post("/api/v1/accounts", Some(&t), B::Json(form("anna")))
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.json);
    assert_eq!(r.json["token_type"], "Bearer");
    assert!(r.json["created_at"].is_i64());
    let token = r.json["access_token"].as_str().unwrap();
    let me = api
        .get("/api/v1/accounts/verify_credentials", Some(token))
        .await;
    assert_eq!(me.status.as_u16(), 200, "{}", me.json);
    assert_eq!(me.json["username"], "anna");
    assert_eq!(me.json["source"]["language"], "de");

    // The same name again is refused.
    assert_error(
        &api.post("/api/v1/accounts", Some(&t), B::Json(form("anna")))
            .await,
        422,
    );
});

both_backends!(approval_queue, |tdb: TestDb| async move {
    let api = Api::with_config(tdb, |c| meetfield::config::Config {
        registrations: Registrations::Approval,
        ..c
    })
    .await;
    let t = app_token(&api).await;
    assert_eq!(
        api.get("/api/v1/instance", None).await.json["approval_required"],
        true
    );
    assert_error(
        &api.post("/api/v1/accounts", Some(&t), B::Json(form("ben")))
            .await,
        422,
    );
    let mut f = form("ben");
    f["reason"] = json!("I work in the partner lab");
    let r = api.post("/api/v1/accounts", Some(&t), B::Json(f)).await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.json);
    let token = r.json["access_token"].as_str().unwrap().to_string();
    let r = api
        .get("/api/v1/accounts/verify_credentials", Some(&token))
        .await;
    assert_error(&r, 403);
    assert!(
        r.json["error"]
            .as_str()
            .unwrap()
            .contains("pending approval")
    );

    let db = &api.app.state.db;
    let pending = registrations::pending(db).await.unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(
        pending[0].0.sign_up_reason.as_deref(),
        Some("I work in the partner lab")
    );
    registrations::approve(db, "ben").await.unwrap();
    let r = api
        .get("/api/v1/accounts/verify_credentials", Some(&token))
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.json);

    let mut f = form("eve");
    f["reason"] = json!("let me in");
    api.post("/api/v1/accounts", Some(&t), B::Json(f)).await;
    registrations::reject(db, "eve").await.unwrap();
    assert!(registrations::pending(db).await.unwrap().is_empty());
    // The name is free again after a rejection.
    let mut f = form("eve");
    f["reason"] = json!("second try");
    let r = api.post("/api/v1/accounts", Some(&t), B::Json(f)).await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.json);
});

both_backends!(invite_only, |tdb: TestDb| async move {
    let api = Api::with_config(tdb, |c| meetfield::config::Config {
        registrations: Registrations::Invite,
        ..c
    })
    .await;
    let t = app_token(&api).await;
    let v1 = api.get("/api/v1/instance", None).await.json;
    assert_eq!(v1["invites_enabled"], true);
    assert_error(
        &api.post("/api/v1/accounts", Some(&t), B::Json(form("cat")))
            .await,
        403,
    );
    let db = &api.app.state.db;
    let invite = registrations::create_invite(db, None, Some(1), None)
        .await
        .unwrap();
    let mut f = form("cat");
    f["invite_code"] = json!("wrong");
    assert_error(
        &api.post("/api/v1/accounts", Some(&t), B::Json(f)).await,
        422,
    );
    let mut f = form("cat");
    f["invite_code"] = json!(invite.code);
    let r = api.post("/api/v1/accounts", Some(&t), B::Json(f)).await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.json);
    let token = r.json["access_token"].as_str().unwrap();
    assert_eq!(
        api.get("/api/v1/accounts/verify_credentials", Some(token))
            .await
            .status
            .as_u16(),
        200,
        "invited users need no approval"
    );
    // Used up after one use.
    let mut f = form("dan");
    f["invite_code"] = json!(invite.code);
    assert_error(
        &api.post("/api/v1/accounts", Some(&t), B::Json(f)).await,
        422,
    );

    let revoked = registrations::create_invite(db, None, None, None)
        .await
        .unwrap();
    registrations::revoke_invite(db, &revoked.code)
        .await
        .unwrap();
    let mut f = form("dan");
    f["invite_code"] = json!(revoked.code);
    assert_error(
        &api.post("/api/v1/accounts", Some(&t), B::Json(f)).await,
        422,
    );
});
