//! The pages and the API in a real browser (headless Chromium through
//! ChromeDriver, tests/common/browser.rs): a page on another origin uses
//! the API as Elk or Phanpy would; public pages render safely; a person
//! signs in with the form. Screenshots go to the test's output folder
//! (`target/tmp/screenshots/<test>/`).

use axum::Router;
use axum::response::Html;
use serde_json::json;

use crate::common::Backend;
use crate::common::TestDb;
use crate::common::browser::Browser;
use crate::support::{Api, B};

/// An instance served on loopback under `web.localhost:PORT`, its base URL.
async fn served(
    f: impl FnOnce(meetfield::config::Config) -> meetfield::config::Config,
) -> (Api, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let domain = format!("web.localhost:{port}");
    let d = domain.clone();
    let api = Api::with_config(TestDb::new(Backend::Sqlite), move |mut c| {
        c.domain = d;
        f(c)
    })
    .await;
    let router = api.router.clone();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (api, format!("http://{domain}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_on_another_origin_uses_the_api() {
    let (api, base) = served(|mut c| {
        c.oauth_password_grant = true;
        c
    })
    .await;
    api.user("alice", "read").await;
    // The "client": a blank page on another origin (another port and host).
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let other = format!(
        "http://127.0.0.1:{}/",
        listener.local_addr().unwrap().port()
    );
    let page = Router::new().route(
        "/",
        axum::routing::get(|| async { Html("<!doctype html><title>client</title><p>client</p>") }),
    );
    tokio::spawn(async move { axum::serve(listener, page).await.unwrap() });

    let b = Browser::open("cors").await;
    b.goto(&other).await;
    let script = r#"
const api = BASE;
(async () => {
  const j = (r) => { if (!r.ok) throw new Error(r.url + ' ' + r.status); return r.json(); };
  const app = await j(await fetch(api + '/api/v1/apps', {method: 'POST',
    headers: {'Content-Type': 'application/json'},
    body: JSON.stringify({client_name: 'page', redirect_uris: 'urn:ietf:wg:oauth:2.0:oob', scopes: 'read write'})}));
  const tok = await j(await fetch(api + '/oauth/token', {method: 'POST',
    headers: {'Content-Type': 'application/json'},
    body: JSON.stringify({grant_type: 'password', username: 'alice', password: 'long enough password',
      client_id: app.client_id, client_secret: app.client_secret, scope: 'read write'})}));
  const auth = {'Authorization': 'Bearer ' + tok.access_token};
  for (const t of ['one', 'two', 'three']) {
    await j(await fetch(api + '/api/v1/statuses', {method: 'POST',
      headers: {...auth, 'Content-Type': 'application/json', 'Idempotency-Key': 'k-' + t},
      body: JSON.stringify({status: t})}));
  }
  const first = await fetch(api + '/api/v1/timelines/home?limit=2', {headers: auth});
  const link = first.headers.get('Link');
  const page1 = await j(first);
  const next = link.match(/<([^>]+)>;\s*rel="next"/)[1];
  const page2 = await j(await fetch(next, {headers: auth}));
  let pageBlocked = false;
  try { await fetch(api + '/oauth/authorize', {credentials: 'include'}); } catch (e) { pageBlocked = true; }
  done({origin: location.origin, link, page1: page1.map(s => s.content), page2: page2.map(s => s.content), pageBlocked});
})().catch(e => done({error: String(e)}));
"#
    .replace("BASE", &format!("{base:?}"));
    let out = b.run_async(&script).await;
    b.screenshot("client-page").await;
    b.close().await;
    assert!(out["error"].is_null(), "{out}");
    assert_eq!(out["origin"], other.trim_end_matches('/'));
    assert!(
        out["link"].as_str().unwrap().contains("rel=\"next\""),
        "{out}"
    );
    let text = |v: &serde_json::Value| {
        v.as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap().to_string())
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert_eq!(text(&out["page1"]), "<p>three</p> <p>two</p>", "{out}");
    assert_eq!(
        text(&out["page2"]),
        "<p>one</p>",
        "the Link header pages on: {out}"
    );
    assert_eq!(
        out["pageBlocked"], true,
        "the sign-in page keeps same-origin rules"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn public_pages_render_safely_and_people_sign_in() {
    let (api, base) = served(|mut c| {
        c.instance_title = "Research Unit".into();
        c
    })
    .await;
    crate::pages::schema(&api).await;
    let (_, a) = api.user("alice", "read write follow").await;
    let (_, bob) = api.user("bob", "read write follow").await;
    let r = api
        .call(
            axum::http::Method::PATCH,
            "/api/v1/accounts/update_credentials",
            Some(&a),
            B::Json(json!({
                "display_name": "<script>x</script>Al",
                "discoverable": true,
                "fields_attributes": [
                    {"name": "Department", "value": "Research"},
                    {"name": "Skills", "value": "Rust, Kubernetes"}
                ]
            })),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    api.call(
        axum::http::Method::PATCH,
        "/api/v1/accounts/update_credentials",
        Some(&bob),
        B::Json(json!({"discoverable": true})),
    )
    .await;
    let post = api
        .ok(
            "/api/v1/statuses",
            &a,
            B::Json(json!({"status": "look <img src=x onerror=alert(1)> #Launch"})),
        )
        .await;
    api.ok(
        "/api/v1/groups",
        &a,
        B::Json(json!({"name": "board", "closed": true, "display_name": "Board"})),
    )
    .await;
    api.ok(
        "/api/v1/statuses",
        &a,
        B::Json(json!({"status": "@board salaries"})),
    )
    .await;

    let b = Browser::open("pages").await;
    b.goto(&format!("{base}/")).await;
    assert_eq!(b.text("main h1").await, "Research Unit");
    assert!(b.text("#groups").await.contains("Board"));
    b.screenshot("landing").await;

    b.goto(&format!("{base}/@alice")).await;
    assert_eq!(
        b.text("h1.p-name").await,
        "<script>x</script>Al",
        "the name is text"
    );
    assert_eq!(b.texts("#fields dt").await, ["Department", "Skills"]);
    assert_eq!(
        b.texts("#fields dd").await,
        ["Research", "Rust, Kubernetes"]
    );
    let content = b.texts("#posts .e-content").await.join("\n");
    assert!(
        content.contains("<img src=x onerror=alert(1)>"),
        "{content}"
    );
    assert_eq!(
        b.count("#posts img:not(.avatar)").await,
        0,
        "no injected image"
    );
    assert_eq!(b.run("return document.scripts.length").await, 0);
    let avatar_loaded = b
        .run("const i = document.querySelector('img.avatar.big'); return i.complete && i.naturalWidth > 0")
        .await;
    assert_eq!(avatar_loaded, true, "the default avatar loads");
    b.screenshot("profile").await;

    b.goto(&format!("{base}/@alice/{}", post["id"].as_str().unwrap()))
        .await;
    assert_eq!(b.count("article.post.focus").await, 1);
    b.screenshot("post").await;

    b.goto(&format!("{base}/groups/board")).await;
    assert!(b.text("#join").await.contains("A moderator approves"));
    assert_eq!(
        b.count("#posts article").await,
        0,
        "a closed group shows no posts"
    );
    assert!(!b.source().await.contains("salaries"));
    b.screenshot("closed-group").await;

    b.goto(&format!("{base}/tags/launch")).await;
    assert_eq!(b.count("#posts article").await, 1);
    b.screenshot("tag").await;

    // The directory needs signing in: the form, then back to the directory.
    b.goto(&format!("{base}/directory")).await;
    assert!(b.current_url().await.contains("/auth/sign_in"));
    b.type_into("#login", "bob").await;
    b.type_into("#password", "long enough password").await;
    b.screenshot("sign-in").await;
    b.click_to_load("#submit").await;
    assert_eq!(b.current_url().await, format!("{base}/directory"));
    let people = b.text("#people").await;
    assert!(
        people.contains("@alice@web.localhost") && people.contains("Research"),
        "{people}"
    );
    assert_eq!(b.text("#me").await, "@bob");
    b.screenshot("directory").await;
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_works_through_the_console() {
    use meetfield::db::models::user::Role;
    let (api, base) = served(|c| c).await;
    api.user_with_role("root", Role::Admin, "read").await;
    let (_, bob) = api.user("bob", "read write").await;
    let (carol, carol_token) = api.user("carol", "read write").await;
    meetfield::domain::users::create_user(
        &api.app.state.db,
        &api.app.state.config,
        meetfield::domain::users::NewLocalUser {
            username: "newbie".into(),
            email: "newbie@org.example".into(),
            password: "long enough password".into(),
            role: Role::User,
        },
        meetfield::domain::users::Origin {
            needs_approval: true,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let post = api
        .ok(
            "/api/v1/statuses",
            &carol_token,
            B::Json(json!({"status": "rude words"})),
        )
        .await;
    let report = api
        .ok(
            "/api/v1/reports",
            &bob,
            B::Json(json!({
                "account_id": carol.id.to_string(),
                "status_ids": [post["id"]],
                "comment": "not nice",
                "category": "other"
            })),
        )
        .await;

    let b = Browser::open("admin-console").await;
    b.goto(&format!("{base}/admin")).await;
    assert!(b.current_url().await.contains("/auth/sign_in"));
    b.type_into("#login", "root").await;
    b.type_into("#password", "long enough password").await;
    b.click_to_load("#submit").await;
    assert_eq!(b.current_url().await, format!("{base}/admin"));
    assert_eq!(b.text("#pending").await, "1");
    assert_eq!(b.text("#open-reports").await, "1");
    b.screenshot("dashboard").await;

    // Approve the sign-up.
    b.click_to_load("#pending a").await;
    assert_eq!(b.count("#people tbody tr").await, 1);
    b.click_to_load("#person-newbie button.approve").await;
    assert_eq!(b.text("#notice").await, "Sign-up approved.");
    b.screenshot("approved").await;
    assert!(
        meetfield::domain::users::authenticate(&api.app.state.db, "newbie", "long enough password")
            .await
            .is_ok()
    );

    // Resolve the report, with the reported post in view.
    b.goto(&format!("{base}/admin/reports")).await;
    b.click_to_load(&format!(
        "a[href='/admin/reports/{}']",
        report["id"].as_str().unwrap()
    ))
    .await;
    assert!(b.text("main").await.contains("rude words"));
    b.click_to_load("#resolve").await;
    assert_eq!(b.text("#notice").await, "Report resolved.");
    assert!(b.text("#state").await.starts_with("resolved"));
    b.screenshot("report-resolved").await;

    // Block a domain.
    b.goto(&format!("{base}/admin/partners")).await;
    b.type_into("#domain-form input[name=domain]", "spam.example")
        .await;
    b.run("document.querySelector('#domain-form select').value = 'block'; return true")
        .await;
    b.click_to_load("#domain-form button").await;
    assert_eq!(b.text("#notice").await, "Partner settings saved.");
    assert!(
        b.text("#partner-spam\\.example").await.contains("block"),
        "{}",
        b.text("#partners").await
    );
    b.screenshot("domain-blocked").await;
    assert!(!api.app.state.policy.allows("spam.example").await.unwrap());

    b.goto(&format!("{base}/admin/log")).await;
    let log = b.text("#log").await;
    for action in ["approve", "resolve", "block_domain"] {
        assert!(log.contains(action), "{action}: {log}");
    }
    b.close().await;
}
