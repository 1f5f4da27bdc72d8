//! `/settings`: change the password, end sessions and revoke apps (streams
//! opened with a revoked token close), export follows, blocks, mutes and
//! posts. Signed in through the real sign-in form.

use std::time::Duration;

use axum::http::Method;
use meetfield::domain::oauth::{Scopes, create_application, issue_token};
use serde_json::{Value, json};

use crate::both_backends;
use crate::common::TestDb;
use crate::pages::{html, page, sign_in};
use crate::support::{Api, B, Res};

/// The form token a page carries.
fn csrf(r: &Res) -> String {
    let body = html(r);
    let at = body
        .find("name=\"csrf\" value=\"")
        .expect("a form token on the page")
        + "name=\"csrf\" value=\"".len();
    body[at..at + body[at..].find('"').unwrap()].to_string()
}

async fn form(api: &Api, path: &str, cookie: &str, body: String) -> Res {
    api.call_with(
        Method::POST,
        path,
        None,
        &[("cookie", cookie)],
        B::FormOwned(body),
    )
    .await
}

both_backends!(change_password, |tdb: TestDb| async move {
    let api = Api::new(tdb).await;
    let (_, token) = api.user("carol", "read").await;
    let r = page(&api, "/settings", None).await;
    assert_eq!(r.status, 303, "signed out: off to sign in");
    assert!(
        r.headers["location"]
            .to_str()
            .unwrap()
            .starts_with("/auth/sign_in?return_to=%2Fsettings")
    );

    let here = sign_in(&api, "carol").await;
    let elsewhere = sign_in(&api, "carol").await;
    let r = page(&api, "/settings", Some(&here)).await;
    assert_eq!(r.status, 200);
    let body = html(&r);
    assert!(body.contains("@carol@api.localhost:8080"), "{body}");
    assert!(body.contains("id=\"password-form\""));
    let t = csrf(&r);

    let change = |current: &str, new: &str, again: &str, csrf: &str| {
        format!(
            "csrf={csrf}&current_password={}&password={}&password_confirmation={}",
            current.replace(' ', "+"),
            new.replace(' ', "+"),
            again.replace(' ', "+")
        )
    };
    // No token, or another site's: nothing changes.
    let r = form(
        &api,
        "/settings/password",
        &here,
        change(
            "long enough password",
            "a new long one",
            "a new long one",
            "",
        ),
    )
    .await;
    assert_eq!(r.status, 403);
    let r = api
        .call_with(
            Method::POST,
            "/settings/password",
            None,
            &[("cookie", &here), ("origin", "http://evil.example")],
            B::FormOwned(change(
                "long enough password",
                "a new long one",
                "a new long one",
                &t,
            )),
        )
        .await;
    assert_eq!(r.status, 403);
    let r = form(
        &api,
        "/settings/password",
        &here,
        change("wrong password!", "a new long one", "a new long one", &t),
    )
    .await;
    assert_eq!(r.status, 401);
    assert!(html(&r).contains("The current password is wrong."));
    let r = form(
        &api,
        "/settings/password",
        &here,
        change("long enough password", "a new long one", "another one!", &t),
    )
    .await;
    assert_eq!(r.status, 422);
    assert!(html(&r).contains("differ"));
    let r = form(
        &api,
        "/settings/password",
        &here,
        change("long enough password", "short", "short", &t),
    )
    .await;
    assert_eq!(r.status, 422);
    let db = &api.app.state.db;
    assert!(
        meetfield::domain::users::authenticate(db, "carol", "long enough password")
            .await
            .is_ok(),
        "refused changes change nothing"
    );

    let r = form(
        &api,
        "/settings/password",
        &here,
        change(
            "long enough password",
            "a new long one",
            "a new long one",
            &t,
        ),
    )
    .await;
    assert_eq!(r.status, 303, "{}", html(&r));
    assert_eq!(r.headers["location"], "/settings?done=password");
    assert!(
        meetfield::domain::users::authenticate(db, "carol", "a new long one")
            .await
            .is_ok()
    );
    assert!(
        meetfield::domain::users::authenticate(db, "carol", "long enough password")
            .await
            .is_err()
    );
    let r = page(&api, "/settings?done=password", Some(&here)).await;
    assert_eq!(r.status, 200, "this browser stays signed in");
    assert!(html(&r).contains("id=\"notice\""));
    assert_eq!(
        page(&api, "/settings", Some(&elsewhere)).await.status,
        303,
        "the other browser was signed out"
    );
    let r = api
        .get("/api/v1/accounts/verify_credentials", Some(&token))
        .await;
    assert_eq!(r.status, 200, "apps keep working");
});

both_backends!(password_of_single_sign_on, |tdb: TestDb| async move {
    let api = Api::new(tdb).await;
    // An account made by the identity provider has no password here.
    let (user, _) = meetfield::domain::users::create_user(
        &api.app.state.db,
        &api.app.state.config,
        meetfield::domain::users::NewLocalUser {
            username: "sso_person".into(),
            email: "sso@org.example".into(),
            password: String::new(),
            role: meetfield::db::models::user::Role::User,
        },
        meetfield::domain::users::Origin {
            external: true,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let cookie = meetfield::web::session::start(&api.app.state, user.id, "oidc")
        .await
        .unwrap();
    let cookie = cookie.split(';').next().unwrap().to_string();
    let r = page(&api, "/settings", Some(&cookie)).await;
    assert_eq!(r.status, 200);
    let body = html(&r);
    assert!(body.contains("id=\"managed-password\""), "{body}");
    assert!(!body.contains("id=\"password-form\""));
    let t = csrf(&r);
    let r = form(
        &api,
        "/settings/password",
        &cookie,
        format!(
            "csrf={t}&current_password=&password=a+new+long+one&password_confirmation=a+new+long+one"
        ),
    )
    .await;
    assert_eq!(r.status, 422);
});

both_backends!(sessions_and_apps, |tdb: TestDb| async move {
    let api = Api::new(tdb).await;
    api.user("carol", "read").await;
    let (_, dave_token) = api.user("dave", "read").await;
    let db = &api.app.state.db;
    let app = create_application(
        db,
        "Tusky <b>beta</b>",
        "urn:ietf:wg:oauth:2.0:oob",
        "read write",
        Some("https://tusky.example/"),
    )
    .await
    .unwrap();
    let user_id = db
        .run(|c| {
            meetfield::db::models::User::by_username(c, "carol")
                .map_err(meetfield::error::AppError::from)
        })
        .await
        .unwrap()
        .unwrap()
        .0
        .id;
    let (secret, tok) = issue_token(
        db,
        Some(app.app.id),
        Some(user_id),
        Scopes::parse("read write").unwrap(),
    )
    .await
    .unwrap();
    let here = sign_in(&api, "carol").await;
    let other = sign_in(&api, "carol").await;

    let r = page(&api, "/settings/sessions", Some(&here)).await;
    assert_eq!(r.status, 200);
    let body = html(&r);
    assert!(body.contains("(this browser)"));
    assert!(
        body.contains("Tusky &#60;b&#62;beta&#60;/b&#62;"),
        "app names are escaped: {body}"
    );
    assert!(!body.contains("<b>beta"));
    assert!(body.contains("https://tusky.example/"));
    assert!(body.contains(&format!("/settings/apps/{}/revoke", tok.id)));
    let t = csrf(&r);

    // A stream opened with the app's token closes when it is revoked.
    let addr = api.serve().await;
    let mut stream = reqwest::Client::new()
        .get(format!("http://{addr}/api/v1/streaming/user"))
        .bearer_auth(&secret)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);

    // Someone else's token is not carol's to revoke.
    let daves = meetfield::domain::oauth::find_token(db, &dave_token)
        .await
        .unwrap()
        .unwrap();
    let r = form(
        &api,
        &format!("/settings/apps/{}/revoke", daves.id),
        &here,
        format!("csrf={t}"),
    )
    .await;
    assert_eq!(r.status, 404);
    assert_eq!(
        api.get("/api/v1/accounts/verify_credentials", Some(&dave_token))
            .await
            .status,
        200
    );
    let r = form(
        &api,
        &format!("/settings/apps/{}/revoke", tok.id),
        &here,
        "csrf=forged".into(),
    )
    .await;
    assert_eq!(r.status, 403);

    let r = form(
        &api,
        &format!("/settings/apps/{}/revoke", tok.id),
        &here,
        format!("csrf={t}"),
    )
    .await;
    assert_eq!(r.status, 303);
    assert_eq!(r.headers["location"], "/settings/sessions?done=app");
    assert_eq!(
        api.get("/api/v1/accounts/verify_credentials", Some(&secret))
            .await
            .status,
        401
    );
    let closed = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match stream.chunk().await {
                Ok(Some(_)) => continue,
                _ => return,
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the stream ended with the token");

    // Signing the other browser out.
    let r = page(&api, "/settings/sessions", Some(&here)).await;
    let body = html(&r);
    assert!(!body.contains("Tusky"), "a revoked app is gone");
    let at = body.find("/settings/sessions/").expect("another session");
    let rest = &body[at + "/settings/sessions/".len()..];
    let id = &rest[..rest.find('/').unwrap()];
    let r = form(
        &api,
        &format!("/settings/sessions/{id}/end"),
        &here,
        format!("csrf={t}"),
    )
    .await;
    assert_eq!(r.status, 303);
    assert_eq!(page(&api, "/settings", Some(&other)).await.status, 303);
    assert_eq!(page(&api, "/settings", Some(&here)).await.status, 200);
});

both_backends!(export_data, |tdb: TestDb| async move {
    let api = Api::new(tdb).await;
    let (_, token) = api.user("carol", "read write follow").await;
    let (dave, _) = api.user("dave", "read").await;
    let (erin, _) = api.user("erin", "read").await;
    let (frank, _) = api.user("frank", "read").await;
    api.ok(
        &format!("/api/v1/accounts/{}/follow", dave.id),
        &token,
        B::Json(json!({"reblogs": false, "notify": true})),
    )
    .await;
    api.ok(
        &format!("/api/v1/accounts/{}/block", erin.id),
        &token,
        B::None,
    )
    .await;
    api.ok(
        &format!("/api/v1/accounts/{}/mute", frank.id),
        &token,
        B::Json(json!({"notifications": false})),
    )
    .await;
    // More posts than one batch of the streamed export, one of them private.
    let mut ids = Vec::new();
    for i in 0..205 {
        let visibility = if i == 7 { "private" } else { "public" };
        let s = api
            .ok(
                "/api/v1/statuses",
                &token,
                B::Json(json!({"status": format!("post {i}"), "visibility": visibility})),
            )
            .await;
        ids.push(s["uri"].as_str().unwrap().to_string());
    }
    let cookie = sign_in(&api, "carol").await;
    let r = page(&api, "/settings/export", Some(&cookie)).await;
    assert_eq!(r.status, 200);
    assert!(html(&r).contains("<td>205</td>"), "{}", html(&r));

    let r = page(
        &api,
        "/settings/export/following_accounts.csv",
        Some(&cookie),
    )
    .await;
    assert_eq!(r.status, 200);
    assert!(
        r.headers["content-disposition"]
            .to_str()
            .unwrap()
            .contains("following_accounts.csv")
    );
    assert_eq!(
        html(&r),
        "Account address,Show boosts,Notify on new posts,Languages\n\
         dave@api.localhost:8080,false,true,\n"
    );
    let r = page(&api, "/settings/export/blocked_accounts.csv", Some(&cookie)).await;
    assert_eq!(html(&r), "erin@api.localhost:8080\n");
    let r = page(&api, "/settings/export/muted_accounts.csv", Some(&cookie)).await;
    assert_eq!(
        html(&r),
        "Account address,Hide notifications\nfrank@api.localhost:8080,false\n"
    );
    assert_eq!(
        page(&api, "/settings/export/passwords.csv", Some(&cookie))
            .await
            .status,
        404
    );
    assert_eq!(
        page(&api, "/settings/export/outbox.json", None)
            .await
            .status,
        303,
        "signed out: no download"
    );

    let r = page(&api, "/settings/export/outbox.json", Some(&cookie)).await;
    assert_eq!(r.status, 200);
    let outbox: Value = serde_json::from_slice(&r.bytes).expect("the export is JSON");
    assert_eq!(outbox["type"], "OrderedCollection");
    assert_eq!(outbox["totalItems"], 205);
    let items = outbox["orderedItems"].as_array().unwrap();
    assert_eq!(items.len(), 205);
    assert!(items.iter().all(|i| i["type"] == "Create"));
    let uris: Vec<&str> = items
        .iter()
        .map(|i| i["object"]["id"].as_str().unwrap())
        .collect();
    let want: Vec<&str> = ids.iter().map(String::as_str).rev().collect();
    assert_eq!(uris, want, "every post, newest first");
    let private = &items[205 - 1 - 7];
    assert_eq!(private["object"]["content"], "<p>post 7</p>");
    assert!(
        !private["object"]["to"]
            .to_string()
            .contains("https://www.w3.org/ns/activitystreams#Public"),
        "the private post keeps its audience"
    );
});
