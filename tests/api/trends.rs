//! Trends: seeded posts over days give the expected order; people count
//! more than posts; hidden tags, private, sensitive and opted-out posts
//! never trend; `MEETFIELD_TRENDS=false` answers nothing.

use axum::http::Method;
use serde_json::{Value, json};

use crate::both_backends;
use crate::common::TestDb;
use crate::support::{Api, B};

fn names(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("{v}"))
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_string())
        .collect()
}

async fn compute(api: &Api) {
    meetfield::domain::trends::compute(&api.app.state.db)
        .await
        .unwrap();
}

both_backends!(trending_tags_and_posts, |tdb: TestDb| async move {
    let api = Api::new(tdb).await;
    let mut people = Vec::new();
    for i in 0..5 {
        let (a, t) = api.user(&format!("p{i}"), "read write").await;
        let r = api
            .call(
                Method::PATCH,
                "/api/v1/accounts/update_credentials",
                Some(&t),
                B::Json(json!({"discoverable": i < 4})),
            )
            .await;
        assert_eq!(r.status, 200);
        people.push((a, t));
    }
    let post = |i: usize, body: Value| {
        let (api, t) = (&api, people[i].1.clone());
        async move { api.ok("/api/v1/statuses", &t, B::Json(body)).await }
    };
    // #launch: three people today. #noisy: one person's ten posts and a
    // second's one. #old: four people five days ago. #quiet: p4 has opted
    // out of discovery, with p0: one person counts, not enough.
    for i in 0..3 {
        post(i, json!({"status": "we ship #Launch"})).await;
    }
    for _ in 0..10 {
        post(0, json!({"status": "again #noisy"})).await;
    }
    post(1, json!({"status": "me too #noisy"})).await;
    let mut old = Vec::new();
    for i in 0..4 {
        old.push(post(i, json!({"status": "back then #old"})).await);
    }
    post(4, json!({"status": "#quiet"})).await;
    post(4, json!({"status": "#quiet again"})).await;
    post(0, json!({"status": "#quiet here"})).await;
    post(
        1,
        json!({"status": "secret #launch", "visibility": "private"}),
    )
    .await;
    let ids: Vec<i64> = old
        .iter()
        .map(|s| s["id"].as_str().unwrap().parse().unwrap())
        .collect();
    let five_days_ago = meetfield::db::now() - chrono::Duration::days(5);
    api.app
        .state
        .db
        .run(move |c| {
            use diesel::prelude::*;
            use meetfield::db::schema::statuses;
            diesel::update(statuses::table.filter(statuses::id.eq_any(ids)))
                .set(statuses::created_at.eq(five_days_ago))
                .execute(c)
                .map_err(meetfield::db::DbError::from)
        })
        .await
        .unwrap();

    // Posts: boosts count twice; sensitive, private and opted-out ones never.
    let hot = post(2, json!({"status": "the launch checklist"})).await;
    let warm = post(3, json!({"status": "lunch is served"})).await;
    let touchy = post(3, json!({"status": "spoilers", "sensitive": true})).await;
    let private = post(3, json!({"status": "between us", "visibility": "private"})).await;
    let shy = post(4, json!({"status": "not for trends"})).await;
    for s in [&hot, &warm, &touchy, &shy] {
        let sid = s["id"].as_str().unwrap();
        api.ok(
            &format!("/api/v1/statuses/{sid}/favourite"),
            &people[0].1,
            B::None,
        )
        .await;
    }
    let sid = private["id"].as_str().unwrap();
    api.ok(
        &format!("/api/v1/statuses/{sid}/favourite"),
        &people[3].1,
        B::None,
    )
    .await;
    let sid = hot["id"].as_str().unwrap();
    api.ok(
        &format!("/api/v1/statuses/{sid}/reblog"),
        &people[1].1,
        B::None,
    )
    .await;

    compute(&api).await;
    let got = api.get("/api/v1/trends/tags", None).await.json;
    assert_eq!(names(&got), vec!["launch", "noisy", "old"], "{got}");
    assert_eq!(got[0]["history"][0]["accounts"], "3", "{got}");
    assert!(got[0]["history"][0]["uses"].is_string());
    assert_eq!(
        names(&api.get("/api/v1/trends?limit=1&offset=1", None).await.json),
        vec!["noisy"]
    );
    if let Some(comp) = crate::openapi::components() {
        let v = crate::openapi::violations(&comp, "Tag", &got[0]);
        assert!(v.is_empty(), "{v:?}");
    }
    let posts = api
        .get("/api/v1/trends/statuses", Some(&people[1].1))
        .await
        .json;
    let order: Vec<&str> = posts
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        order,
        vec![hot["id"].as_str().unwrap(), warm["id"].as_str().unwrap()],
        "{posts}"
    );
    // A muted author's post is not shown to the one who muted.
    api.ok(
        &format!("/api/v1/accounts/{}/mute", people[2].0.id),
        &people[1].1,
        B::None,
    )
    .await;
    let posts = api
        .get("/api/v1/trends/statuses", Some(&people[1].1))
        .await
        .json;
    assert_eq!(posts.as_array().unwrap().len(), 1, "{posts}");
    assert_eq!(posts[0]["id"], warm["id"]);
    assert_eq!(
        api.get("/api/v1/trends/statuses", None)
            .await
            .json
            .as_array()
            .unwrap()
            .len(),
        2
    );

    // Hidden by an admin: gone at once and after the next run; allowed again.
    let t = api
        .app
        .state
        .db
        .transaction(|c| meetfield::domain::trends::hide(c, "#Launch"))
        .await
        .unwrap();
    assert_eq!(t, "launch");
    assert_eq!(
        names(&api.get("/api/v1/trends/tags", None).await.json),
        vec!["noisy", "old"]
    );
    compute(&api).await;
    assert_eq!(
        names(&api.get("/api/v1/trends/tags", None).await.json),
        vec!["noisy", "old"]
    );
    api.app
        .state
        .db
        .transaction(|c| meetfield::domain::trends::allow(c, "launch"))
        .await
        .unwrap();
    compute(&api).await;
    assert_eq!(
        names(&api.get("/api/v1/trends/tags", None).await.json)[0],
        "launch"
    );
});

both_backends!(trends_can_be_turned_off, |tdb: TestDb| async move {
    let api = Api::with_config(tdb, |c| meetfield::config::Config { trends: false, ..c }).await;
    let (_a, t) = api.user("a", "read write").await;
    let (_b, u) = api.user("b", "read write").await;
    for tok in [&t, &u] {
        api.ok("/api/v1/statuses", tok, B::Json(json!({"status": "#x"})))
            .await;
    }
    compute(&api).await;
    for path in [
        "/api/v1/trends/tags",
        "/api/v1/trends/statuses",
        "/api/v1/trends",
    ] {
        let r = api.get(path, None).await;
        assert_eq!(
            (r.status.as_u16(), r.json.clone()),
            (200, json!([])),
            "{path}"
        );
    }
});
