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
