//! Link preview cards: a real page server on loopback, fetched by the
//! workers; the card as Mastodon apps read it; what must never be fetched
//! (private addresses outside test setups, blocked domains, non-HTML,
//! mentions and hashtags, direct posts); retries; trending links.

use std::collections::HashMap;
use std::io::Cursor;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{Method, StatusCode, header};
use axum::response::IntoResponse;
use diesel::prelude::*;
use serde_json::{Value, json};

use crate::both_backends;
use crate::common::TestDb;
use crate::support::{Api, B};

/// Requests per path.
type Hits = Arc<Mutex<HashMap<String, usize>>>;

fn png(w: u32, h: u32) -> Vec<u8> {
    let img = image::DynamicImage::ImageRgb8(image::RgbImage::from_fn(w, h, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, 120])
    }));
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

const ARTICLE: &str = r#"<!doctype html><html lang="en-GB"><head>
<title>Plain title</title>
<meta property="og:title" content="Q4 results &amp; plans">
<meta property="og:description" content="What the year brought.">
<meta property="og:image" content="/cover.png">
<meta property="og:site_name" content="Partner News">
<meta name="author" content="Ana Silva">
<meta property="article:published_time" content="2026-11-30T08:00:00Z">
<link rel="alternate" type="application/json+oembed" href="/oembed">
<script>document.write('<meta property="og:title" content="injected">')</script>
</head><body><p>Text</p></body></html>"#;

/// A small web site: an article with OpenGraph and oEmbed, a redirect to
/// it, a file that is not a page, a page whose title comes too late, a
/// page that always fails, a plain article for trends.
async fn site() -> (SocketAddr, Hits) {
    let hits: Hits = Arc::default();
    let count = |h: &Hits, p: &str| *h.lock().unwrap().entry(p.to_string()).or_default() += 1;
    let h = hits.clone();
    let app = axum::Router::new().fallback(move |uri: axum::http::Uri| {
        let h = h.clone();
        async move {
            let path = uri.path().to_string();
            count(&h, &path);
            let html = |body: String| ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], body);
            match path.as_str() {
                "/article" => html(ARTICLE.to_string()).into_response(),
                "/cover.png" => ([(header::CONTENT_TYPE, "image/png")], png(800, 400)).into_response(),
                "/oembed" => axum::Json(json!({
                    "type": "rich", "version": "1.0",
                    "html": "<iframe src=\"https://embed.example/q4\" width=\"480\" height=\"270\" onload=\"steal()\"></iframe><script>alert(1)</script>",
                    "width": 480, "height": "270",
                    "provider_name": "Partner News", "provider_url": "https://news.example/",
                    "author_name": "Ana Silva", "author_url": "https://news.example/ana"
                }))
                .into_response(),
                "/moved" => (
                    StatusCode::MOVED_PERMANENTLY,
                    [(header::LOCATION, "/article")],
                )
                    .into_response(),
                "/file.zip" => ([(header::CONTENT_TYPE, "application/zip")], vec![0u8; 64]).into_response(),
                "/late" => html(format!(
                    "<html><body>{}<title>too late</title></body></html>",
                    "x".repeat(2 * 1024 * 1024)
                ))
                .into_response(),
                "/down" => StatusCode::SERVICE_UNAVAILABLE.into_response(),
                p if p.starts_with("/plain/") => html(format!(
                    "<html><head><title>Story {}</title></head></html>",
                    &p[7..]
                ))
                .into_response(),
                _ => StatusCode::NOT_FOUND.into_response(),
            }
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (addr, hits)
}

fn hits_of(h: &Hits, path: &str) -> usize {
    h.lock().unwrap().get(path).copied().unwrap_or(0)
}

async fn local_fetching(tdb: TestDb) -> Api {
    Api::with_config(tdb, |c| meetfield::config::Config {
        federation_insecure_local: true,
        link_previews: true,
        ..c
    })
    .await
}

/// The card of a post once its fetch has ended either way.
async fn settled(api: &Api, token: &str, id: &str) -> Value {
    let sid: i64 = id.parse().unwrap();
    for _ in 0..100 {
        let state: Option<String> = api
            .app
            .state
            .db
            .run(move |c| {
                use meetfield::db::schema::{preview_cards as pc, status_cards as sc};
                sc::table
                    .inner_join(pc::table.on(pc::id.eq(sc::card_id)))
                    .filter(sc::status_id.eq(sid))
                    .select(pc::state)
                    .first::<String>(c)
                    .optional()
                    .map_err(meetfield::db::DbError::from)
            })
            .await
            .unwrap();
        if state.as_deref() != Some("pending") {
            return api
                .get(&format!("/api/v1/statuses/{id}"), Some(token))
                .await
                .json["card"]
                .clone();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the card of {id} stayed pending");
}

/// (state, error) of the card for `url`.
async fn card_row(api: &Api, url: &str) -> Option<(String, Option<String>, i32)> {
    let url = url.to_string();
    api.app
        .state
        .db
        .run(move |c| {
            use meetfield::db::schema::preview_cards as pc;
            pc::table
                .filter(pc::url.eq(url))
                .select((pc::state, pc::error, pc::attempts))
                .first(c)
                .optional()
                .map_err(meetfield::db::DbError::from)
        })
        .await
        .unwrap()
}

async fn post(api: &Api, token: &str, body: Value) -> String {
    api.ok("/api/v1/statuses", token, B::Json(body)).await["id"]
        .as_str()
        .unwrap()
        .to_string()
}

both_backends!(cards_from_opengraph_and_oembed, |tdb: TestDb| async move {
    let (addr, hits) = site().await;
    let api = local_fetching(tdb).await;
    let (_, a) = api.user("ana", "read write").await;
    let (_, b) = api.user("ben", "read write").await;
    let link = format!("http://{addr}/article");
    let id = post(
        &api,
        &a,
        json!({"status": format!("Read this #news {link}")}),
    )
    .await;
    let first = id.clone();
    let card = settled(&api, &a, &id).await;
    assert_eq!(card["url"], link.as_str(), "{card}");
    assert_eq!(card["title"], "Q4 results & plans");
    assert_eq!(card["description"], "What the year brought.");
    assert_eq!(card["type"], "rich");
    assert_eq!(card["provider_name"], "Partner News");
    assert_eq!(card["provider_url"], "https://news.example/");
    assert_eq!(card["author_name"], "Ana Silva");
    assert_eq!(card["authors"][0]["name"], "Ana Silva");
    assert_eq!(card["authors"][0]["url"], "https://news.example/ana");
    assert_eq!(card["language"], "en");
    assert_eq!(card["published_at"], "2026-11-30T08:00:00.000Z");
    assert_eq!(
        (card["width"].as_i64(), card["height"].as_i64()),
        (Some(480), Some(270))
    );
    // The oEmbed markup keeps its iframe only.
    let html = card["html"].as_str().unwrap();
    assert!(
        html.starts_with("<iframe") && html.contains("https://embed.example/q4"),
        "{html}"
    );
    assert!(
        !html.contains("script") && !html.contains("onload"),
        "{html}"
    );
    // The image is stored here as a thumbnail, with a blurhash.
    let image = card["image"].as_str().unwrap();
    let path = image
        .strip_prefix(&api.app.state.base_url())
        .unwrap_or_else(|| panic!("{image}"));
    assert!(path.starts_with("/media/cards/"), "{path}");
    let file = api.get(path, None).await;
    assert_eq!(file.status, 200);
    let (w, h) = image::load_from_memory(&file.bytes)
        .unwrap()
        .to_rgb8()
        .dimensions();
    assert_eq!((w, h), (640, 320));
    assert!(card["blurhash"].as_str().is_some_and(|b| b.len() > 6));
    if let Some(comp) = crate::openapi::components() {
        let v = crate::openapi::violations(&comp, "PreviewCard", &card);
        assert!(v.is_empty(), "{v:?}");
        let status = api
            .get(&format!("/api/v1/statuses/{id}"), Some(&a))
            .await
            .json;
        let v = crate::openapi::violations(&comp, "Status", &status);
        assert!(v.is_empty(), "{v:?}");
    }
    assert_eq!(
        (
            hits_of(&hits, "/article"),
            hits_of(&hits, "/oembed"),
            hits_of(&hits, "/cover.png")
        ),
        (1, 1, 1)
    );

    // Another post with the same link shares the card: no second fetch.
    let again = post(&api, &b, json!({"status": format!("same {link}")})).await;
    let shared = api
        .get(&format!("/api/v1/statuses/{again}"), Some(&b))
        .await
        .json;
    assert_eq!(shared["card"]["title"], "Q4 results & plans");
    assert_eq!(hits_of(&hits, "/article"), 1);
    // In timelines too.
    let home = api.get("/api/v1/timelines/home", Some(&b)).await.json;
    assert_eq!(home[0]["card"]["url"], link.as_str(), "{home}");

    // A redirect is followed (each hop checked); the card keeps the
    // posted URL.
    let moved = format!("http://{addr}/moved");
    let id = post(&api, &b, json!({"status": format!("moved: {moved}")})).await;
    let card = settled(&api, &b, &id).await;
    assert_eq!(card["url"], moved.as_str());
    assert_eq!(card["title"], "Q4 results & plans");

    // An edit without the link drops the card; one with a new link gets it.
    let r = api
        .call(
            Method::PUT,
            &format!("/api/v1/statuses/{id}"),
            Some(&b),
            B::Json(json!({"status": "never mind"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["card"], Value::Null);
    let r = api
        .call(
            Method::PUT,
            &format!("/api/v1/statuses/{id}"),
            Some(&b),
            B::Json(json!({"status": format!("this one http://{addr}/plain/7")})),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(settled(&api, &b, &id).await["title"], "Story 7");

    // No card: direct posts, posts behind a content warning, links that
    // are mentions or hashtags, links to this instance.
    let base = api.app.state.base_url();
    for body in [
        json!({"status": format!("@ben {link}"), "visibility": "direct"}),
        json!({"status": format!("{link}"), "spoiler_text": "spoilers"}),
        json!({"status": format!("@ben #news {base}/@ben")}),
    ] {
        let id = post(&api, &a, body.clone()).await;
        let s = api
            .get(&format!("/api/v1/statuses/{id}"), Some(&a))
            .await
            .json;
        assert_eq!(s["card"], Value::Null, "{body}");
        let sid: i64 = id.parse().unwrap();
        let rows: i64 = api
            .app
            .state
            .db
            .run(move |c| {
                use meetfield::db::schema::status_cards as sc;
                sc::table
                    .filter(sc::status_id.eq(sid))
                    .count()
                    .get_result(c)
                    .map_err(meetfield::db::DbError::from)
            })
            .await
            .unwrap();
        assert_eq!(rows, 0, "{body}");
    }

    // Once no post links it, a card stays a week, then goes with its image.
    for (sid, t) in [(&first, &a), (&again, &b)] {
        let r = api
            .call(
                Method::DELETE,
                &format!("/api/v1/statuses/{sid}"),
                Some(t),
                B::None,
            )
            .await;
        assert_eq!(r.status, 200);
    }
    let state = &api.app.state;
    assert_eq!(meetfield::domain::cards::prune(state).await.unwrap(), 0);
    state
        .db
        .run(|c| {
            use meetfield::db::schema::preview_cards as pc;
            let old = meetfield::db::now() - chrono::Duration::days(8);
            diesel::update(pc::table)
                .set(pc::created_at.eq(old))
                .execute(c)
                .map_err(meetfield::db::DbError::from)
        })
        .await
        .unwrap();
    // The article's card, and the redirect's (its post was edited away).
    assert_eq!(meetfield::domain::cards::prune(state).await.unwrap(), 2);
    assert!(card_row(&api, &link).await.is_none());
    assert_eq!(api.get(path, None).await.status, 404);
    assert_eq!(settled(&api, &b, &id).await["title"], "Story 7");
});

both_backends!(pages_that_make_no_card, |tdb: TestDb| async move {
    let (addr, hits) = site().await;
    let api = local_fetching(tdb).await;
    let (_, a) = api.user("ana", "read write").await;
    let state = &api.app.state;
    // Not a page, a title beyond the 1 MiB read, a 404: failed at once.
    for (path, why) in [
        ("/file.zip", "not what a card needs"),
        ("/late", "no title"),
        ("/gone", "404"),
    ] {
        let url = format!("http://{addr}{path}");
        let id = post(&api, &a, json!({"status": format!("see {url}")})).await;
        assert_eq!(settled(&api, &a, &id).await, Value::Null, "{path}");
        let (st, err, attempts) = card_row(&api, &url).await.unwrap();
        assert_eq!((st.as_str(), attempts), ("failed", 1), "{path}");
        assert!(
            err.as_deref().unwrap_or("").contains(why),
            "{path}: {err:?}"
        );
    }

    // A server error is retried by the workers, three times in all.
    let url = format!("http://{addr}/down");
    let id = post(&api, &a, json!({"status": format!("see {url}")})).await;
    for attempt in 1..=3 {
        for _ in 0..100 {
            if card_row(&api, &url).await.unwrap().2 == attempt {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let (st, err, n) = card_row(&api, &url).await.unwrap();
        assert_eq!(n, attempt);
        assert!(err.unwrap().contains("503"));
        assert_eq!(st, if attempt < 3 { "pending" } else { "failed" });
        // As if the claim went stale and the card waited its turn: the
        // job takes it again.
        let u = url.clone();
        state
            .db
            .run(move |c| {
                use meetfield::db::schema::preview_cards as pc;
                let long_ago = meetfield::db::now() - chrono::Duration::minutes(5);
                diesel::update(pc::table.filter(pc::url.eq(u)))
                    .set((
                        pc::claimed_at.eq(None::<chrono::NaiveDateTime>),
                        pc::created_at.eq(long_ago),
                    ))
                    .execute(c)
                    .map_err(meetfield::db::DbError::from)
            })
            .await
            .unwrap();
        let n = meetfield::domain::cards::retry_pending(state)
            .await
            .unwrap();
        assert_eq!(n, usize::from(attempt < 3), "attempt {attempt}");
    }
    assert_eq!(hits_of(&hits, "/down"), 3);
    assert_eq!(
        api.get(&format!("/api/v1/statuses/{id}"), Some(&a))
            .await
            .json["card"],
        Value::Null
    );

    // A blocked domain is never fetched.
    meetfield::domain::policy::set_domain_policy(
        &state.db,
        "127.0.0.1",
        meetfield::domain::policy::PolicyKind::Block,
        "",
    )
    .await
    .unwrap();
    state.policy.invalidate();
    let url = format!("http://{addr}/plain/blocked");
    let id = post(&api, &a, json!({"status": format!("see {url}")})).await;
    assert_eq!(settled(&api, &a, &id).await, Value::Null);
    let (st, err, _) = card_row(&api, &url).await.unwrap();
    assert_eq!(st, "failed");
    assert!(err.unwrap().contains("blocked"));
    assert_eq!(hits_of(&hits, "/plain/blocked"), 0);
});

both_backends!(
    private_addresses_are_never_fetched,
    |tdb: TestDb| async move {
        // As in production: no test resolver, IP literals checked.
        let (addr, hits) = site().await;
        let api = Api::with_config(tdb, |c| meetfield::config::Config {
            link_previews: true,
            ..c
        })
        .await;
        assert!(!api.app.state.config.federation_insecure_local);
        let (_, a) = api.user("ana", "read write").await;
        for url in [
            format!("http://{addr}/article"),
            format!("http://localhost:{}/article", addr.port()),
            "http://169.254.169.254/latest/meta-data/".to_string(),
            "http://[::1]/admin".to_string(),
        ] {
            let id = post(&api, &a, json!({"status": format!("see {url}")})).await;
            assert_eq!(settled(&api, &a, &id).await, Value::Null);
            let (st, err, _) = card_row(&api, &url).await.unwrap();
            assert_eq!(st, "failed", "{url}");
            assert!(
                err.as_deref()
                    .unwrap_or("")
                    .contains("not a public address"),
                "{url}: {err:?}"
            );
        }
        assert_eq!(hits_of(&hits, "/article"), 0);

        // MEETFIELD_LINK_PREVIEWS=false: no card is even recorded.
        let off = Api::with_config(TestDb::new(crate::common::Backend::Sqlite), |c| {
            meetfield::config::Config {
                link_previews: false,
                federation_insecure_local: true,
                ..c
            }
        })
        .await;
        let (_, t) = off.user("ana", "read write").await;
        let url = format!("http://{addr}/plain/off");
        post(&off, &t, json!({"status": format!("see {url}")})).await;
        assert!(card_row(&off, &url).await.is_none());
        assert_eq!(off.get("/api/v1/trends/links", None).await.json, json!([]));
    }
);

both_backends!(trending_links, |tdb: TestDb| async move {
    let (addr, _) = site().await;
    let api = local_fetching(tdb).await;
    let mut people = Vec::new();
    for i in 0..4 {
        let (_, t) = api.user(&format!("p{i}"), "read write").await;
        let r = api
            .call(
                Method::PATCH,
                "/api/v1/accounts/update_credentials",
                Some(&t),
                B::Json(json!({"discoverable": true})),
            )
            .await;
        assert_eq!(r.status, 200);
        people.push(t);
    }
    let hot = format!("http://{addr}/plain/hot");
    let warm = format!("http://{addr}/plain/warm");
    let alone = format!("http://{addr}/plain/alone");
    let secret = format!("http://{addr}/plain/secret");
    let mut ids = Vec::new();
    for t in &people[..3] {
        ids.push(post(&api, t, json!({"status": format!("look {hot}")})).await);
    }
    for t in &people[..2] {
        ids.push(post(&api, t, json!({"status": format!("also {warm}")})).await);
    }
    ids.push(post(&api, &people[0], json!({"status": format!("mine {alone}")})).await);
    for t in &people {
        ids.push(
            post(
                &api,
                t,
                json!({"status": format!("psst {secret}"), "visibility": "private"}),
            )
            .await,
        );
    }
    for id in &ids {
        settled(&api, &people[0], id).await;
    }
    meetfield::domain::trends::compute(&api.app.state.db)
        .await
        .unwrap();
    let got = api.get("/api/v1/trends/links", None).await.json;
    let urls: Vec<&str> = got
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["url"].as_str().unwrap())
        .collect();
    assert_eq!(urls, vec![hot.as_str(), warm.as_str()], "{got}");
    assert_eq!(got[0]["title"], "Story hot");
    let today = &got[0]["history"][0];
    assert_eq!(
        (today["accounts"].as_str(), today["uses"].as_str()),
        (Some("3"), Some("3")),
        "{got}"
    );
    assert_eq!(got[0]["history"].as_array().unwrap().len(), 7);
    if let Some(comp) = crate::openapi::components() {
        for l in got.as_array().unwrap() {
            let v = crate::openapi::violations(&comp, "TrendsLink", l);
            assert!(v.is_empty(), "{v:?}");
        }
    }
    let page = api
        .get("/api/v1/trends/links?limit=1&offset=1", None)
        .await
        .json;
    assert_eq!(page[0]["url"], warm.as_str());

    // An admin hides a link: gone at once, and from later runs.
    let db = &api.app.state.db;
    let h = hot.clone();
    db.transaction(move |c| meetfield::domain::trends::hide_link(c, &h))
        .await
        .unwrap();
    let got = api.get("/api/v1/trends/links", None).await.json;
    assert_eq!(got.as_array().unwrap().len(), 1, "{got}");
    meetfield::domain::trends::compute(db).await.unwrap();
    let got = api.get("/api/v1/trends/links", None).await.json;
    assert_eq!(got[0]["url"], warm.as_str());
    assert_eq!(got.as_array().unwrap().len(), 1, "{got}");
});
