//! Signing in against a real LDAP server (slapd on loopback) and keeping
//! accounts in step with it.

use serde_json::{Value, json};

use crate::both_backends;
use crate::common::TestDb;
use crate::common::ldap::{BASE, Person, READER_DN, READER_PASSWORD, directory};
use crate::support::{Api, B};

fn uid(name: &str) -> String {
    format!("{name}{:08x}", rand::random::<u32>())
}

async fn ldap_api(tdb: TestDb) -> Api {
    Api::with_config(tdb, |mut c| {
        c.ldap_url = directory().url.clone();
        c.ldap_bind_dn = READER_DN.into();
        c.ldap_bind_password = READER_PASSWORD.into();
        c.ldap_base = BASE.into();
        c.ldap_allowed_groups = "staff".into();
        c.ldap_role_groups = "admin=it-admins,moderator=comms".into();
        c.ldap_profile_fields = "Department=departmentNumber".into();
        c.oauth_password_grant = true;
        c
    })
    .await
}

async fn app(api: &Api) -> (String, String) {
    let r = api
        .post(
            "/api/v1/apps",
            None,
            B::Json(json!({"client_name": "toot", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob", "scopes": "read write"})),
        )
        .await;
    (
        r.json["client_id"].as_str().unwrap().to_string(),
        r.json["client_secret"].as_str().unwrap().to_string(),
    )
}

/// The sign-in page's password form, for an out-of-band app.
async fn sign_in_page(api: &Api, login: &str, password: &str) -> crate::support::Res {
    let (cid, _) = app(api).await;
    let qs = format!(
        "response_type=code&client_id={cid}&redirect_uri=urn%3Aietf%3Awg%3Aoauth%3A2.0%3Aoob&scope=read"
    );
    let page = api.get(&format!("/oauth/authorize?{qs}"), None).await;
    let cookie = page.headers["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let csrf = cookie.split_once('=').unwrap().1.to_string();
    let form: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("csrf", &csrf)
        .append_pair("login", login)
        .append_pair("password", password)
        .append_pair("decision", "allow")
        .finish();
    api.call_with(
        axum::http::Method::POST,
        "/oauth/authorize",
        None,
        &[("cookie", &cookie)],
        B::FormOwned(format!("{qs}&{form}")),
    )
    .await
}

/// The password grant, as scripts and some apps use it.
async fn grant(api: &Api, login: &str, password: &str) -> (u16, Value) {
    let (cid, secret) = app(api).await;
    let r = api
        .post(
            "/oauth/token",
            None,
            B::Json(
                json!({"grant_type": "password", "client_id": cid, "client_secret": secret,
                "username": login, "password": password, "scope": "read write"}),
            ),
        )
        .await;
    (r.status.as_u16(), r.json)
}

async fn token(api: &Api, login: &str, password: &str) -> String {
    let (s, j) = grant(api, login, password).await;
    assert_eq!(s, 200, "{j}");
    j["access_token"].as_str().unwrap().to_string()
}

async fn me(api: &Api, token: &str) -> (u16, Value) {
    let r = api
        .get("/api/v1/accounts/verify_credentials", Some(token))
        .await;
    (r.status.as_u16(), r.json)
}

fn field(me: &Value, name: &str) -> Option<String> {
    me["fields"]
        .as_array()?
        .iter()
        .find(|f| f["name"] == name)
        .map(|f| f["value"].as_str().unwrap().to_string())
}

both_backends!(
    directory_people_sign_in_with_their_password,
    |tdb: TestDb| async move {
        let api = ldap_api(tdb).await;
        let d = directory();
        let u = uid("nora");
        let mail = format!("{u}@example.org");
        d.add(&Person {
            uid: &u,
            password: "correct horse",
            mail: &mail,
            department: "Research",
            groups: &["staff", "comms"],
        })
        .await;

        // Wrong password, unknown login, empty password: refused, nothing created.
        assert_eq!(grant(&api, &u, "wrong").await.0, 400);
        assert_eq!(grant(&api, &u, "").await.0, 400);
        assert_eq!(grant(&api, "nobody-here", "x").await.0, 400);
        // Filter injection in the login finds nobody (and certainly not everyone).
        assert_eq!(grant(&api, "*)(uid=*", "correct horse").await.0, 400);
        assert_eq!(grant(&api, "*", "correct horse").await.0, 400);
        let n = api
            .app
            .state
            .db
            .run(|c| {
                use diesel::prelude::*;
                meetfield::db::schema::users::table
                    .count()
                    .get_result::<i64>(c)
                    .map_err(meetfield::error::AppError::from)
            })
            .await
            .unwrap();
        assert_eq!(n, 0);

        // The right password: the account is created with role and department.
        let t = token(&api, &u, "correct horse").await;
        let (s, first) = me(&api, &t).await;
        assert_eq!(s, 200, "{first}");
        assert_eq!(first["username"], u);
        assert_eq!(first["display_name"], format!("Dr {u}"));
        assert_eq!(first["role"]["name"], "Moderator");
        assert_eq!(field(&first, "Department").as_deref(), Some("Research"));
        // By e-mail too, the same account.
        let t2 = token(&api, &mail, "correct horse").await;
        assert_eq!(me(&api, &t2).await.1["id"], first["id"]);
        // Through the sign-in page as well.
        let r = sign_in_page(&api, &u, "correct horse").await;
        assert_eq!(r.status, 200);
        assert!(String::from_utf8_lossy(&r.bytes).contains("<code id=\"code\">"));
    }
);

both_backends!(
    people_outside_the_allowed_groups_are_refused,
    |tdb: TestDb| async move {
        let api = ldap_api(tdb).await;
        let u = uid("omar");
        directory()
            .add(&Person {
                uid: &u,
                password: "pw-omar-1",
                mail: &format!("{u}@example.org"),
                department: "Sales",
                groups: &["comms"],
            })
            .await;
        let r = sign_in_page(&api, &u, "pw-omar-1").await;
        assert_eq!(r.status, 401);
        assert!(String::from_utf8_lossy(&r.bytes).contains("not in a group allowed"));
    }
);

both_backends!(
    the_sync_disables_who_left_and_follows_roles,
    |tdb: TestDb| async move {
        let api = ldap_api(tdb).await;
        let d = directory();
        let (stay, leave_group, leave_org) = (uid("sam"), uid("lou"), uid("kim"));
        for u in [&stay, &leave_group, &leave_org] {
            d.add(&Person {
                uid: u,
                password: "pw-sync-1",
                mail: &format!("{u}@example.org"),
                department: "Ops",
                groups: &["staff"],
            })
            .await;
        }
        let mut tokens = Vec::new();
        for u in [&stay, &leave_group, &leave_org] {
            tokens.push(token(&api, u, "pw-sync-1").await);
        }
        assert_eq!(me(&api, &tokens[0]).await.1["role"]["name"], "");
        // At the directory: a promotion, a group left, a person gone.
        d.join("it-admins", &stay).await;
        d.leave("staff", &leave_group).await;
        d.remove(&leave_org).await;
        let report = meetfield::sso::ldap::sync(&api.app.state).await.unwrap();
        assert_eq!((report.checked, report.disabled), (3, 2), "{report}");
        let (s, j) = me(&api, &tokens[0]).await;
        assert_eq!((s, j["role"]["name"].as_str()), (200, Some("Admin")), "{j}");
        for t in &tokens[1..] {
            let (s, j) = me(&api, t).await;
            assert_eq!(s, 401, "{j}");
        }
        // Who left cannot sign in again; the sync after that has nothing to do.
        assert_eq!(grant(&api, &leave_group, "pw-sync-1").await.0, 400);
        let again = meetfield::sso::ldap::sync(&api.app.state).await.unwrap();
        assert_eq!((again.checked, again.disabled), (1, 0), "{again}");
    }
);
