//! Featured tags on profiles and the Tag entity, on both backends; featured
//! tags count as declared interests for "who knows X?".

use axum::http::Method;
use serde_json::{Value, json};

use crate::both_backends;
use crate::common::TestDb;
use crate::support::{Api, B, assert_error};

fn names(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("{v}"))
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_string())
        .collect()
}

both_backends!(featured_tags_lifecycle, |tdb: TestDb| async move {
    let api = Api::new(tdb).await;
    let (ana, a) = api.user("ana", "read write").await;
    let (_, b) = api.user("ben", "read write").await;
    let (_, ro) = api.user("ro", "read").await;

    let t = api
        .ok("/api/v1/featured_tags", &a, B::Form("name=%23KubeCon"))
        .await;
    assert_eq!(t["name"], "KubeCon");
    assert_eq!(t["statuses_count"], "0");
    assert_eq!(t["last_status_at"], Value::Null);
    assert!(
        t["url"].as_str().unwrap().ends_with("/@ana/tagged/kubecon"),
        "{t}"
    );
    let id = t["id"].as_str().unwrap().to_string();

    // Counted from the owner's public and unlisted posts only.
    api.ok("/api/v1/statuses", &a, B::Form("status=off+to+%23kubecon"))
        .await;
    api.ok(
        "/api/v1/statuses",
        &a,
        B::Form("status=secret+%23kubecon&visibility=private"),
    )
    .await;
    api.ok("/api/v1/statuses", &b, B::Form("status=me+too+%23kubecon"))
        .await;
    let mine = api.get("/api/v1/featured_tags", Some(&a)).await.json;
    assert_eq!(names(&mine), ["KubeCon"]);
    assert_eq!(mine[0]["statuses_count"], "1");
    assert_eq!(
        mine[0]["last_status_at"],
        chrono::Utc::now().format("%Y-%m-%d").to_string()
    );

    // Anyone may see them, signed in or not.
    let public = api
        .get(&format!("/api/v1/accounts/{}/featured_tags", ana.id), None)
        .await;
    assert_eq!(public.status, 200);
    assert_eq!(names(&public.json), ["KubeCon"]);
    assert_error(
        &api.get("/api/v1/accounts/0/featured_tags", None).await,
        404,
    );

    // Mastodon's errors.
    for (body, status) in [
        ("name=kubecon", 422),
        ("name=2026", 422),
        ("name=two+words", 422),
        ("name=", 422),
    ] {
        assert_error(
            &api.post("/api/v1/featured_tags", Some(&a), B::Form(body))
                .await,
            status,
        );
    }
    assert_error(
        &api.post("/api/v1/featured_tags", Some(&ro), B::Form("name=x"))
            .await,
        403,
    );
    assert_error(
        &api.post("/api/v1/featured_tags", None, B::Form("name=x"))
            .await,
        401,
    );
    for i in 1..10 {
        api.ok(
            "/api/v1/featured_tags",
            &a,
            B::FormOwned(format!("name=tag{i}")),
        )
        .await;
    }
    assert_error(
        &api.post("/api/v1/featured_tags", Some(&a), B::Form("name=eleventh"))
            .await,
        422,
    );

    // Only the owner removes one.
    assert_error(
        &api.call(
            Method::DELETE,
            &format!("/api/v1/featured_tags/{id}"),
            Some(&b),
            B::None,
        )
        .await,
        404,
    );
    let r = api
        .call(
            Method::DELETE,
            &format!("/api/v1/featured_tags/{id}"),
            Some(&a),
            B::None,
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json, json!({}));
    let left = names(&api.get("/api/v1/featured_tags", Some(&a)).await.json);
    assert_eq!(left.len(), 9);
    assert!(!left.contains(&"KubeCon".to_string()));
});

both_backends!(
    tag_entity_feature_and_suggestions,
    |tdb: TestDb| async move {
        let api = Api::new(tdb).await;
        let (_, a) = api.user("ana", "read write").await;
        let (_, b) = api.user("ben", "read write").await;
        api.ok("/api/v1/statuses", &a, B::Form("status=%23rust+and+%23go"))
            .await;
        api.ok("/api/v1/statuses", &b, B::Form("status=%23rust+again"))
            .await;
        api.ok(
            "/api/v1/statuses",
            &b,
            B::Form("status=%23rust+quietly&visibility=direct"),
        )
        .await;

        // History: seven days, today first, strings; direct posts do not count.
        let tag = api.get("/api/v1/tags/Rust", None).await;
        assert_eq!(tag.status, 200);
        assert_eq!(tag.json["name"], "rust");
        assert!(
            tag.json["id"].as_str().unwrap().parse::<i64>().is_ok(),
            "{}",
            tag.json
        );
        let unused = api.get("/api/v1/tags/neverused", None).await;
        assert_eq!(
            (unused.status.as_u16(), &unused.json["id"]),
            (200, &json!(""))
        );
        let history = tag.json["history"].as_array().unwrap();
        assert_eq!(history.len(), 7);
        assert_eq!(history[0]["uses"], "2");
        assert_eq!(history[0]["accounts"], "2");
        assert_eq!(history[1]["uses"], "0");
        let today = chrono::Utc::now()
            .date_naive()
            .and_hms_opt(0, 0, 0)
            .unwrap()
            .and_utc()
            .timestamp();
        assert_eq!(history[0]["day"], today.to_string());
        assert!(
            tag.json.get("following").is_none(),
            "signed out: no relation"
        );
        assert_error(&api.get("/api/v1/tags/2026", None).await, 404);

        // Feature is idempotent and answers the Tag.
        for _ in 0..2 {
            let t = api.ok("/api/v1/tags/rust/feature", &a, B::None).await;
            assert_eq!(t["featuring"], true);
            assert_eq!(t["following"], false);
        }
        assert_eq!(
            names(&api.get("/api/v1/featured_tags", Some(&a)).await.json),
            ["rust"]
        );
        // Suggestions: recently used, not featured yet.
        let s = api
            .get("/api/v1/featured_tags/suggestions", Some(&a))
            .await
            .json;
        assert_eq!(names(&s), ["go"]);
        assert_eq!(s[0]["history"].as_array().unwrap().len(), 7);

        let t = api.ok("/api/v1/tags/rust/unfeature", &a, B::None).await;
        assert_eq!(t["featuring"], false);
        assert!(names(&api.get("/api/v1/featured_tags", Some(&a)).await.json).is_empty());
        // Search answers Tags with their history.
        let found = api
            .get("/api/v2/search?q=%23ru&type=hashtags", Some(&a))
            .await;
        assert_eq!(found.json["hashtags"][0]["name"], "rust");
        assert_eq!(found.json["hashtags"][0]["history"][0]["uses"], "2");
    }
);

both_backends!(
    featured_tags_are_declared_interests,
    |tdb: TestDb| async move {
        let api = Api::new(tdb).await;
        let (_, v) = api.user("viewer", "read write").await;
        let (_, a) = api.user("ana", "read write").await;
        let (_, b) = api.user("ben", "read write").await;
        for t in [&a, &b] {
            let r = api
                .call(
                    Method::PATCH,
                    "/api/v1/accounts/update_credentials",
                    Some(t),
                    B::Json(json!({ "discoverable": true })),
                )
                .await;
            assert_eq!(r.status, 200);
        }
        api.ok("/api/v1/featured_tags", &a, B::Form("name=MachineLearning"))
            .await;
        let r = api
            .get("/api/v1/meetfield/experts?q=machine+learning", Some(&v))
            .await;
        assert_eq!(r.status, 200, "{}", r.json);
        let hits = r.json.as_array().unwrap();
        assert_eq!(hits.len(), 1, "{}", r.json);
        assert_eq!(hits[0]["account"]["username"], "ana");
        assert_eq!(hits[0]["reasons"][0]["kind"], "featured_tag");
        assert_eq!(hits[0]["reasons"][0]["detail"], "#MachineLearning");
        // Editing the profile keeps them indexed; unfeaturing drops them.
        let r = api
            .call(
                Method::PATCH,
                "/api/v1/accounts/update_credentials",
                Some(&a),
                B::Json(json!({ "fields_attributes": [{"name": "Team", "value": "Data"}] })),
            )
            .await;
        assert_eq!(r.status, 200);
        let r = api
            .get("/api/v1/meetfield/experts?q=machinelearning", Some(&v))
            .await;
        assert_eq!(r.json.as_array().unwrap().len(), 1, "{}", r.json);
        api.ok("/api/v1/tags/machinelearning/unfeature", &a, B::None)
            .await;
        let r = api
            .get("/api/v1/meetfield/experts?q=machinelearning", Some(&v))
            .await;
        assert!(r.json.as_array().unwrap().is_empty(), "{}", r.json);
    }
);

async fn home(api: &Api, token: &str, query: &str) -> (Vec<String>, Option<String>) {
    let r = api
        .get(&format!("/api/v1/timelines/home{query}"), Some(token))
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    let texts = r
        .json
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["content"].as_str().unwrap().to_string())
        .collect();
    let link = r
        .headers
        .get("link")
        .map(|l| l.to_str().unwrap().to_string());
    (texts, link)
}

fn has(texts: &[String], needle: &str) -> bool {
    texts.iter().any(|t| t.contains(needle))
}

both_backends!(followed_tags_bring_posts_home, |tdb: TestDb| async move {
    let api = Api::new(tdb).await;
    let (_ana, a) = api.user("ana", "read write follow").await;
    let (ben, b) = api.user("ben", "read write follow").await;
    let (cem, c) = api.user("cem", "read write follow").await;
    let (_dee, d) = api.user("dee", "read write follow").await;
    let (_, ro) = api.user("ro", "read").await;

    // Follow, idempotent; the Tag says so; a bad name is a clear 422.
    for _ in 0..2 {
        let t = api.ok("/api/v1/tags/Rust/follow", &a, B::None).await;
        assert_eq!(
            (t["name"].clone(), t["following"].clone()),
            (json!("rust"), json!(true))
        );
        assert_ne!(t["id"], "", "following creates the tag");
    }
    assert_error(
        &api.post("/api/v1/tags/no-dash!/follow", Some(&a), B::None)
            .await,
        422,
    );
    assert_error(
        &api.post("/api/v1/tags/Rust/follow", Some(&ro), B::None)
            .await,
        403,
    );
    assert_eq!(
        api.get("/api/v1/tags/rust", Some(&a)).await.json["following"],
        true
    );
    assert_eq!(
        api.get("/api/v1/tags/rust", Some(&b)).await.json["following"],
        false
    );

    // ana follows ben only; cem and dee reach her through #rust.
    api.ok(&format!("/api/v1/accounts/{}/follow", ben.id), &a, B::None)
        .await;
    let post = |t: &str, text: &str, vis: &str| {
        let (api, t, body) = (
            &api,
            t.to_string(),
            json!({"status": text, "visibility": vis}),
        );
        async move { api.ok("/api/v1/statuses", &t, B::Json(body)).await }
    };
    post(&b, "ben on #Rust", "public").await;
    post(&c, "cem public #rust", "public").await;
    post(&c, "cem unlisted #rust", "unlisted").await;
    post(&c, "cem private #rust", "private").await;
    post(&c, "cem local #rust", "local").await;
    let dees = post(&d, "dee public #rust", "public").await;
    post(&d, "dee without the tag", "public").await;
    // A boost by someone she does not follow brings nothing.
    api.ok(
        &format!("/api/v1/statuses/{}/reblog", dees["id"].as_str().unwrap()),
        &c,
        B::None,
    )
    .await;
    let (texts, _) = home(&api, &a, "").await;
    assert_eq!(texts.len(), 4, "{texts:?}");
    for want in ["ben on", "cem public", "cem local", "dee public"] {
        assert!(has(&texts, want), "{want}: {texts:?}");
    }
    assert_eq!(
        texts.iter().filter(|t| t.contains("ben on")).count(),
        1,
        "followed and tagged: once"
    );

    // Paging walks the merge: two, then the next two, nothing twice.
    let (first, link) = home(&api, &a, "?limit=2").await;
    assert_eq!(first.len(), 2);
    let link = link.unwrap();
    let next = link.split(['<', '>']).nth(1).unwrap();
    let q = &next[next.find('?').unwrap()..];
    let (second, link2) = home(&api, &a, q).await;
    assert_eq!(second.len(), 2, "{second:?}");
    assert!(second.iter().all(|t| !first.contains(t)));
    // And back with `min_id` (the Link's prev): the first page again.
    let link2 = link2.unwrap();
    let prev = link2.split(['<', '>']).nth(3).unwrap();
    assert!(prev.contains("min_id="), "{link2}");
    let (back, _) = home(
        &api,
        &a,
        &format!("{}&limit=2", &prev[prev.find('?').unwrap()..]),
    )
    .await;
    assert_eq!(back, first);

    // Mutes and blocks apply.
    api.ok(&format!("/api/v1/accounts/{}/mute", cem.id), &a, B::None)
        .await;
    let (texts, _) = home(&api, &a, "").await;
    assert!(!has(&texts, "cem"), "{texts:?}");
    let ana = api
        .get("/api/v1/accounts/verify_credentials", Some(&a))
        .await
        .json;
    api.ok(
        &format!("/api/v1/accounts/{}/block", ana["id"].as_str().unwrap()),
        &d,
        B::None,
    )
    .await;
    let (texts, _) = home(&api, &a, "").await;
    assert!(!has(&texts, "dee"), "{texts:?}");

    // The list, paged; unfollowing ends it.
    for t in ["ops", "kubernetes"] {
        api.ok(&format!("/api/v1/tags/{t}/follow"), &a, B::None)
            .await;
    }
    let r = api.get("/api/v1/followed_tags?limit=2", Some(&a)).await;
    assert_eq!(names(&r.json), vec!["kubernetes", "ops"]);
    assert!(r.json[0]["history"].is_array());
    let link = r.headers["link"].to_str().unwrap().to_string();
    let next = link.split(['<', '>']).nth(1).unwrap();
    let path = &next[next.find("/api/v1").unwrap()..];
    assert_eq!(names(&api.get(path, Some(&a)).await.json), vec!["rust"]);
    assert_error(&api.get("/api/v1/followed_tags", None).await, 401);
    let t = api.ok("/api/v1/tags/rust/unfollow", &a, B::None).await;
    assert_eq!(t["following"], false);
    let (texts, _) = home(&api, &a, "").await;
    assert_eq!(texts, vec!["<p>ben on <a href=\"http://api.localhost:8080/tags/rust\" class=\"mention hashtag\" rel=\"tag\">#<span>Rust</span></a></p>".to_string()]);
});
