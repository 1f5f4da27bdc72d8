//! The server-rendered pages: landing, profile, post and thread, group,
//! hashtag, directory and experts, sign-in and sign-out. Read as HTML here;
//! the browser tests (federation-tests/browser.rs) load them in Chromium.

use axum::http::Method;
use serde_json::json;

use crate::both_backends;
use crate::common::TestDb;
use crate::support::{Api, B, Res};

pub fn html(r: &Res) -> String {
    String::from_utf8_lossy(&r.bytes).into_owned()
}

pub async fn page(api: &Api, path: &str, cookie: Option<&str>) -> Res {
    let headers: Vec<(&str, &str)> = cookie.map(|c| vec![("cookie", c)]).unwrap_or_default();
    api.call_with(Method::GET, path, None, &headers, B::None)
        .await
}

/// Signs in through `/auth/sign_in` as a browser would; the session cookie.
pub async fn sign_in(api: &Api, login: &str) -> String {
    let form = page(api, "/auth/sign_in?return_to=/directory", None).await;
    assert_eq!(form.status, 200);
    let csrf_cookie = form.headers["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let csrf = csrf_cookie.split_once('=').unwrap().1.to_string();
    assert!(html(&form).contains(&csrf), "the form carries the token");
    let r = api
        .call_with(
            Method::POST,
            "/auth/sign_in",
            None,
            &[("cookie", &csrf_cookie)],
            B::FormOwned(format!(
                "csrf={csrf}&return_to=%2Fdirectory&login={login}&password=long+enough+password"
            )),
        )
        .await;
    assert_eq!(r.status, 303, "{}", html(&r));
    assert_eq!(r.headers["location"], "/directory");
    r.headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .find(|c| c.starts_with("mf_session="))
        .expect("a session cookie")
        .split(';')
        .next()
        .unwrap()
        .to_string()
}

/// The organization's Department and Skills fields.
pub async fn schema(api: &Api) {
    use meetfield::org::profile::{FieldKind, add_field};
    api.app
        .state
        .db
        .transaction(|c| {
            add_field(c, "Department", FieldKind::Text, &[], false)?;
            add_field(c, "Skills", FieldKind::List, &[], false)?;
            Ok::<_, meetfield::error::AppError>(())
        })
        .await
        .unwrap();
}

fn set_profile(api: &Api, token: &str, body: serde_json::Value) -> impl Future<Output = Res> {
    api.call(
        Method::PATCH,
        "/api/v1/accounts/update_credentials",
        Some(token),
        B::Json(body),
    )
}

both_backends!(landing_page, |tdb: TestDb| async move {
    let api = Api::with_config(tdb, |mut c| {
        c.instance_title = "Research Unit".into();
        c.instance_description = "Where <research> happens".into();
        c.contact_email = "admin@research.example".into();
        c
    })
    .await;
    let (_, a) = api.user("alice", "read write follow").await;
    api.ok(
        "/api/v1/groups",
        &a,
        B::Json(json!({ "name": "launch", "display_name": "Launch team" })),
    )
    .await;
    meetfield::domain::policy::set_domain_policy(
        &api.app.state.db,
        "partner.example",
        meetfield::domain::policy::PolicyKind::Allow,
        "",
    )
    .await
    .unwrap();
    let r = page(&api, "/", None).await;
    assert_eq!(r.status, 200);
    let h = html(&r);
    assert!(h.contains("<h1>Research Unit</h1>"), "{h}");
    assert!(
        h.contains("Where &#60;research&#62; happens"),
        "escaped: {h}"
    );
    assert!(h.contains("admin@research.example"));
    assert!(h.contains("href=\"/groups/launch\"") && h.contains("Launch team"));
    assert!(h.contains("partner.example"), "partners listed");
    assert!(h.contains("href=\"/auth/sign_in\""), "a way to sign in");
    assert!(h.contains("href=\"/directory\""));
    assert!(
        h.contains("<code>api.localhost:8080</code>"),
        "the server to enter in apps"
    );
    assert!(h.contains("property=\"og:title\" content=\"Research Unit\""));
    let csp = r.headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"));
    assert!(
        !r.headers.contains_key("access-control-allow-origin"),
        "pages stay same-origin"
    );
    let png = page(&api, "/avatars/original/missing.png", None).await;
    assert_eq!(png.status, 200);
    assert!(
        png.bytes.starts_with(b"\x89PNG"),
        "the default avatar is a PNG"
    );
    let css = page(&api, "/assets/style.css", None).await;
    assert_eq!(css.status, 200);
    assert!(
        css.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/css")
    );
});

both_backends!(landing_shows_single_sign_on, |tdb: TestDb| async move {
    let api = Api::with_config(tdb, |mut c| {
        c.oidc_issuer = "http://127.0.0.1:9/".into();
        c.oidc_client_id = "meetfield".into();
        c.oidc_client_secret = "s".into();
        c.oidc_display_name = "Acme ID".into();
        c.sso_only = true;
        c
    })
    .await;
    let h = html(&page(&api, "/", None).await);
    assert!(
        h.contains("Sign in with Acme ID") && h.contains("href=\"/auth/oidc?return_to=%2F\""),
        "{h}"
    );
    assert!(
        !h.contains("Sign in with a password"),
        "SSO only: no password sign-in"
    );
    let h = html(&page(&api, "/auth/sign_in", None).await);
    assert!(
        h.contains("Sign in with Acme ID") && !h.contains("type=\"password\""),
        "{h}"
    );
});

both_backends!(profile_page, |tdb: TestDb| async move {
    let api = Api::new(tdb).await;
    schema(&api).await;
    let (alice, a) = api.user("alice", "read write follow").await;
    let r = set_profile(
        &api,
        &a,
        json!({
            "display_name": "<script>x</script>Al",
            "note": "Works on <b>things</b>",
            "discoverable": true,
            "fields_attributes": [
                {"name": "Department", "value": "Research"},
                {"name": "Skills", "value": "Rust, Kubernetes"},
                {"name": "Site", "value": "https://alice.example/"}
            ]
        }),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.json);
    api.ok(
        "/api/v1/featured_tags",
        &a,
        B::Json(json!({"name": "KubeCon"})),
    )
    .await;
    api.ok(
        "/api/v1/statuses",
        &a,
        B::Json(json!({"status": "hello <world> #KubeCon"})),
    )
    .await;
    api.ok(
        "/api/v1/statuses",
        &a,
        B::Json(json!({"status": "secret plans", "visibility": "private"})),
    )
    .await;
    api.ok(
        "/api/v1/statuses",
        &a,
        B::Json(json!({"status": "quietly", "visibility": "unlisted"})),
    )
    .await;

    let r = page(&api, "/@alice", None).await;
    assert_eq!(r.status, 200);
    let h = html(&r);
    assert!(!h.contains("<script>"), "the display name is text: {h}");
    assert!(h.contains("&#60;script&#62;x"), "{h}");
    assert!(h.contains("class=\"profile h-card\""));
    assert!(h.contains("<dt>Department</dt><dd>Research</dd>"), "{h}");
    assert!(
        h.contains("<dt>Skills</dt><dd>Rust, Kubernetes</dd>"),
        "{h}"
    );
    assert!(
        h.contains("rel=\"me nofollow noopener noreferrer\""),
        "field links are rel=me: {h}"
    );
    assert!(h.contains("href=\"/tags/KubeCon\""), "featured tags: {h}");
    assert!(h.contains("hello &lt;world&gt;"), "{h}");
    assert!(h.contains("quietly"), "unlisted posts are on the profile");
    assert!(!h.contains("secret plans"));
    assert!(h.contains("class=\"post h-entry"));
    assert!(
        h.contains(&format!("href=\"{}\"", alice.uri)),
        "alternate link to the actor"
    );
    assert!(h.contains("property=\"og:type\" content=\"profile\""));
    assert!(h.contains("name=\"twitter:card\""));
    assert!(!h.contains("noindex"), "discoverable: indexed");

    // Not discoverable: the page stays, search engines are asked to skip it.
    set_profile(&api, &a, json!({"discoverable": false})).await;
    assert!(html(&page(&api, "/@alice", None).await).contains("content=\"noindex, noarchive\""));

    // A browser that asks for the actor gets the page.
    let r = api
        .call_with(
            Method::GET,
            "/users/alice",
            None,
            &[("accept", "text/html")],
            B::None,
        )
        .await;
    assert!(r.status.is_redirection());
    assert_eq!(r.headers["location"], "http://api.localhost:8080/@alice");
    assert_eq!(page(&api, "/@nobody", None).await.status, 404);
    assert!(html(&page(&api, "/@nobody", None).await).contains("Not found"));
    assert_eq!(page(&api, "/@instance.actor", None).await.status, 404);
});

both_backends!(post_page_with_thread, |tdb: TestDb| async move {
    let api = Api::new(tdb).await;
    let (_, a) = api.user("alice", "read write follow").await;
    let (_, b) = api.user("bob", "read write follow").await;
    let root = api
        .ok(
            "/api/v1/statuses",
            &a,
            B::Json(json!({"status": "first question"})),
        )
        .await;
    let rid = root["id"].as_str().unwrap();
    let reply = api
        .ok(
            "/api/v1/statuses",
            &b,
            B::Json(json!({"status": "an answer", "in_reply_to_id": rid})),
        )
        .await;
    api.ok(
        "/api/v1/statuses",
        &b,
        B::Json(
            json!({"status": "@alice between us", "in_reply_to_id": rid, "visibility": "direct"}),
        ),
    )
    .await;
    let local = api
        .ok(
            "/api/v1/statuses",
            &a,
            B::Json(json!({"status": "staff only", "visibility": "local"})),
        )
        .await;
    let h = html(&page(&api, &format!("/@alice/{rid}"), None).await);
    assert!(h.contains("class=\"post h-entry focus\""), "{h}");
    assert!(
        h.contains("first question") && h.contains("an answer"),
        "{h}"
    );
    assert!(
        !h.contains("between us"),
        "a direct reply is not on the page"
    );
    assert!(
        h.contains("property=\"og:description\" content=\"first question\""),
        "{h}"
    );
    // The reply's own page shows what it answers.
    let h = html(
        &page(
            &api,
            &format!("/@bob/{}", reply["id"].as_str().unwrap()),
            None,
        )
        .await,
    );
    assert!(
        h.contains("id=\"ancestors\"") && h.contains("first question"),
        "{h}"
    );
    // Someone else's post under the wrong name, an unknown id, garbage: 404.
    assert_eq!(page(&api, &format!("/@bob/{rid}"), None).await.status, 404);
    assert_eq!(page(&api, "/@alice/999999", None).await.status, 404);
    assert_eq!(page(&api, "/@alice/x%27", None).await.status, 404);
    // Local-only posts: for signed-in local people only.
    let lid = local["id"].as_str().unwrap();
    assert_eq!(
        page(&api, &format!("/@alice/{lid}"), None).await.status,
        404
    );
    let cookie = sign_in(&api, "bob").await;
    let r = page(&api, &format!("/@alice/{lid}"), Some(&cookie)).await;
    assert_eq!(r.status, 200);
    assert!(html(&r).contains("staff only"));
    assert!(
        html(&r).contains("content=\"noindex, noarchive\""),
        "never indexed"
    );
});

both_backends!(group_and_tag_pages, |tdb: TestDb| async move {
    let api = Api::new(tdb).await;
    let (_, a) = api.user("alice", "read write follow").await;
    api.ok(
        "/api/v1/groups",
        &a,
        B::Json(json!({"name": "launch", "display_name": "Launch team"})),
    )
    .await;
    api.ok(
        "/api/v1/groups",
        &a,
        B::Json(json!({"name": "board", "closed": true})),
    )
    .await;
    api.ok(
        "/api/v1/statuses",
        &a,
        B::Json(json!({"status": "@launch venue booked #Launch2027"})),
    )
    .await;
    api.ok(
        "/api/v1/statuses",
        &a,
        B::Json(json!({"status": "@board salaries"})),
    )
    .await;
    api.ok(
        "/api/v1/statuses",
        &a,
        B::Json(json!({"status": "#Launch2027 between friends", "visibility": "private"})),
    )
    .await;

    let h = html(&page(&api, "/groups/launch", None).await);
    assert!(h.contains("Launch team") && h.contains("open group"), "{h}");
    assert!(
        h.contains("<code>@launch@api.localhost:8080</code>"),
        "how to join: {h}"
    );
    assert!(h.contains("venue booked"), "an open group's posts: {h}");
    let h2 = html(&page(&api, "/@launch", None).await);
    assert!(
        h2.contains("venue booked") && h2.contains("open group"),
        "/@name is the group page too"
    );

    let h = html(&page(&api, "/groups/board", None).await);
    assert!(
        h.contains("closed group") && h.contains("A moderator approves"),
        "{h}"
    );
    assert!(
        !h.contains("salaries"),
        "a closed group shows no posts: {h}"
    );
    assert!(h.contains("id=\"closed\""));
    assert_eq!(
        page(&api, "/groups/alice", None).await.status,
        404,
        "not a group"
    );

    let h = html(&page(&api, "/tags/launch2027", None).await);
    assert!(
        h.contains("#launch2027") && h.contains("venue booked"),
        "{h}"
    );
    assert!(!h.contains("between friends"));
    assert_eq!(page(&api, "/tags/%3Cb%3E", None).await.status, 404);
});

both_backends!(directory_and_experts_pages, |tdb: TestDb| async move {
    let api = Api::new(tdb).await;
    schema(&api).await;
    let (_, a) = api.user("alice", "read write follow").await;
    let (_, b) = api.user("bob", "read write follow").await;
    let (_, c) = api.user("carol", "read write follow").await;
    for (tok, skills, dept, discoverable) in [
        (&a, "Rust", "Research", true),
        (&b, "Kubernetes, Go", "Operations", true),
        (&c, "Kubernetes", "Operations", false),
    ] {
        let r = set_profile(
            &api,
            tok,
            json!({
                "discoverable": discoverable,
                "fields_attributes": [{"name": "Skills", "value": skills}, {"name": "Department", "value": dept}]
            }),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.json);
    }
    // Signed out: off to sign in, and back afterwards.
    let r = page(&api, "/experts?q=kubernetes", None).await;
    assert_eq!(r.status, 303);
    assert_eq!(
        r.headers["location"],
        "/auth/sign_in?return_to=%2Fexperts%3Fq%3Dkubernetes"
    );
    let cookie = sign_in(&api, "alice").await;
    let h = html(&page(&api, "/directory", Some(&cookie)).await);
    assert!(h.contains("@bob@api.localhost:8080"), "{h}");
    assert!(!h.contains("@carol@"), "opted out of discovery: {h}");
    let h = html(
        &page(
            &api,
            "/directory?department=Operations&local=",
            Some(&cookie),
        )
        .await,
    );
    assert!(h.contains("@bob@") && !h.contains("@alice@api"), "{h}");
    let h = html(&page(&api, "/experts?q=k8s+kubernetes", Some(&cookie)).await);
    assert!(
        h.contains("@bob@api.localhost:8080") && h.contains("Why: skill"),
        "{h}"
    );
    assert!(!h.contains("@carol@"), "{h}");
    assert!(
        h.contains("id=\"me\"") && h.contains("@alice"),
        "signed in: {h}"
    );
    // Bad query parameters are ignored, never a 500.
    assert_eq!(
        page(&api, "/directory?offset=x&local=maybe", Some(&cookie))
            .await
            .status,
        200
    );
});

both_backends!(sign_in_and_out, |tdb: TestDb| async move {
    let api = Api::new(tdb).await;
    api.user("alice", "read").await;
    let form = page(&api, "/auth/sign_in?return_to=https://evil.example/", None).await;
    let csrf_cookie = form.headers["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    assert!(
        form.headers["set-cookie"]
            .to_str()
            .unwrap()
            .contains("SameSite=Strict")
    );
    let csrf = csrf_cookie.split_once('=').unwrap().1.to_string();
    let h = html(&form);
    assert!(
        h.contains("name=\"return_to\" value=\"/auth/oidc/done\"")
            || h.contains("name=\"return_to\" value=\"/\""),
        "no open redirect: {h}"
    );
    // Without the cookie (another site's form): refused.
    let r = api
        .post(
            "/auth/sign_in",
            None,
            B::FormOwned(format!(
                "csrf={csrf}&login=alice&password=long+enough+password"
            )),
        )
        .await;
    assert_eq!(r.status, 403);
    let r = api
        .call_with(
            Method::POST,
            "/auth/sign_in",
            None,
            &[("cookie", &csrf_cookie)],
            B::FormOwned(format!("csrf={csrf}&login=alice&password=wrong")),
        )
        .await;
    assert_eq!(r.status, 401);
    assert!(html(&r).contains("id=\"error\""));
    let cookie = sign_in(&api, "alice").await;
    let h = html(&page(&api, "/", Some(&cookie)).await);
    assert!(h.contains("signed in as <strong>@alice@"), "{h}");
    let token = h
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    // Sign-out needs the session's form token.
    let r = api
        .call_with(
            Method::POST,
            "/auth/sign_out",
            None,
            &[("cookie", &cookie)],
            B::FormOwned("csrf=forged".into()),
        )
        .await;
    assert_eq!(r.status, 403);
    let r = api
        .call_with(
            Method::POST,
            "/auth/sign_out",
            None,
            &[("cookie", &cookie), ("origin", "https://evil.example")],
            B::FormOwned(format!("csrf={token}")),
        )
        .await;
    assert_eq!(r.status, 403, "another origin");
    let r = api
        .call_with(
            Method::POST,
            "/auth/sign_out",
            None,
            &[("cookie", &cookie)],
            B::FormOwned(format!("csrf={token}")),
        )
        .await;
    assert_eq!(r.status, 303);
    assert_eq!(
        page(&api, "/directory", Some(&cookie)).await.status,
        303,
        "the session is over"
    );
});
