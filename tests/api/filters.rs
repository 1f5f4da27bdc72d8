//! Filters (v2): CRUD in both parameter shapes, keyword and post matches
//! shown in `filtered`, expiry, and the v1 view.

use axum::http::Method;
use serde_json::{Value, json};

use crate::both_backends;
use crate::common::TestDb;
use crate::support::{Api, B, assert_error};

async fn home(api: &Api, token: &str) -> Vec<Value> {
    api.get("/api/v1/timelines/home", Some(token))
        .await
        .json
        .as_array()
        .unwrap()
        .clone()
}

fn filtered_by(status: &Value) -> Vec<(String, Value, Value)> {
    status["filtered"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["filter"]["title"].as_str().unwrap().to_string(),
                r["keyword_matches"].clone(),
                r["status_matches"].clone(),
            )
        })
        .collect()
}

both_backends!(filters_crud_and_matching, |tdb: TestDb| async move {
    let api = Api::new(tdb).await;
    let (_alice, a) = api.user("alice", "read write follow").await;
    let (bob, b) = api.user("bob", "read write follow").await;
    api.ok(&format!("/api/v1/accounts/{}/follow", bob.id), &a, B::None)
        .await;

    // JSON, as web apps send it.
    let money = api
        .ok(
            "/api/v2/filters",
            &a,
            B::Json(json!({
                "title": "Money talk",
                "context": ["home", "public"],
                "filter_action": "warn",
                "keywords_attributes": [
                    {"keyword": "budget", "whole_word": true},
                    {"keyword": "invoice", "whole_word": false},
                ],
            })),
        )
        .await;
    assert_eq!(money["context"], json!(["home", "public"]));
    assert_eq!(money["filter_action"], "warn");
    assert_eq!(money["keywords"].as_array().unwrap().len(), 2);
    assert_eq!(money["statuses"], json!([]));
    let money_id = money["id"].as_str().unwrap().to_string();
    // Rails-style form fields, as Mastodon.py sends them.
    let r = api
        .post(
            "/api/v2/filters",
            Some(&a),
            B::Form("title=Spoilers&context[]=home&filter_action=hide&expires_in=3600&keywords_attributes[][keyword]=finale&keywords_attributes[][whole_word]=false"),
        )
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.json);
    assert_eq!(r.json["filter_action"], "hide");
    assert!(r.json["expires_at"].is_string());
    assert_eq!(r.json["keywords"][0]["keyword"], "finale");
    assert_eq!(r.json["keywords"][0]["whole_word"], false);

    for (body, what) in [
        (json!({"context": ["home"]}), "no title"),
        (json!({"title": "x", "context": ["kitchen"]}), "bad context"),
        (json!({"title": "x", "context": []}), "empty context"),
        (
            json!({"title": "x", "context": ["home"], "filter_action": "explode"}),
            "bad action",
        ),
        (
            json!({"title": "x", "context": ["home"], "keywords_attributes": [{"keyword": " "}]}),
            "blank keyword",
        ),
    ] {
        let r = api.post("/api/v2/filters", Some(&a), B::Json(body)).await;
        assert_error(&r, 422);
        assert!(r.json["error"].is_string(), "{what}");
    }
    let (_, read_only) = api.user("reader", "read").await;
    assert_error(
        &api.post(
            "/api/v2/filters",
            Some(&read_only),
            B::Json(json!({"title": "x", "context": ["home"]})),
        )
        .await,
        403,
    );
    assert_error(
        &api.get(&format!("/api/v2/filters/{money_id}"), Some(&b))
            .await,
        404,
    );
    assert_eq!(
        api.get("/api/v2/filters", Some(&a))
            .await
            .json
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert!(
        api.get("/api/v2/filters", Some(&b))
            .await
            .json
            .as_array()
            .unwrap()
            .is_empty()
    );

    let budget = api
        .ok(
            "/api/v1/statuses",
            &b,
            B::Json(json!({"status": "The BUDGET is due Friday"})),
        )
        .await;
    api.ok(
        "/api/v1/statuses",
        &b,
        B::Json(json!({"status": "budgetary thoughts"})),
    )
    .await;
    api.ok("/api/v1/statuses", &b, B::Json(json!({"status": "lunch?"})))
        .await;
    let tl = home(&api, &a).await;
    let by_text = |t: &str| {
        tl.iter()
            .find(|s| s["content"].as_str().unwrap().contains(t))
            .cloned()
            .unwrap()
    };
    assert_eq!(
        filtered_by(&by_text("BUDGET")),
        vec![("Money talk".to_string(), json!(["budget"]), Value::Null)]
    );
    assert!(filtered_by(&by_text("budgetary")).is_empty(), "whole word");
    assert!(filtered_by(&by_text("lunch")).is_empty());
    // Only the filter's owner sees it applied.
    let bobs = home(&api, &b).await;
    assert!(bobs.iter().all(|s| filtered_by(s).is_empty()));

    // A post added to a filter matches as a post.
    let sid = budget["id"].as_str().unwrap();
    let fs = api
        .ok(
            &format!("/api/v2/filters/{money_id}/statuses"),
            &a,
            B::Json(json!({"status_id": sid})),
        )
        .await;
    assert_eq!(fs["status_id"], sid);
    let tl = home(&api, &a).await;
    let s = tl.iter().find(|s| s["id"] == sid).unwrap();
    assert_eq!(
        filtered_by(s),
        vec![("Money talk".to_string(), json!(["budget"]), json!([sid]))]
    );

    // Keywords change through the filter or on their own.
    let kw = money["keywords"][0]["id"].as_str().unwrap().to_string();
    let r = api
        .call(
            Method::PUT,
            &format!("/api/v2/filters/{money_id}"),
            Some(&a),
            B::Json(
                json!({"title": "Finance", "keywords_attributes": [{"id": kw, "_destroy": true}]}),
            ),
        )
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.json);
    assert_eq!(r.json["title"], "Finance");
    assert_eq!(r.json["keywords"].as_array().unwrap().len(), 1);
    let added = api
        .ok(
            &format!("/api/v2/filters/{money_id}/keywords"),
            &a,
            B::Form("keyword=lunch&whole_word=true"),
        )
        .await;
    let lunch = home(&api, &a)
        .await
        .into_iter()
        .find(|s| s["content"].as_str().unwrap().contains("lunch"))
        .unwrap();
    assert_eq!(
        filtered_by(&lunch),
        vec![("Finance".to_string(), json!(["lunch"]), Value::Null)]
    );
    let kid = added["id"].as_str().unwrap();
    assert_eq!(
        api.call(
            Method::DELETE,
            &format!("/api/v2/filters/keywords/{kid}"),
            Some(&a),
            B::None
        )
        .await
        .status
        .as_u16(),
        200
    );
    assert_error(
        &api.call(
            Method::DELETE,
            &format!("/api/v2/filters/keywords/{kid}"),
            Some(&b),
            B::None,
        )
        .await,
        404,
    );

    // v1 lists one entry per keyword.
    let v1 = api.get("/api/v1/filters", Some(&a)).await.json;
    let phrases: Vec<&str> = v1
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["phrase"].as_str().unwrap())
        .collect();
    assert!(
        phrases.contains(&"invoice") && phrases.contains(&"finale"),
        "{v1}"
    );

    assert_eq!(
        api.call(
            Method::DELETE,
            &format!("/api/v2/filters/{money_id}"),
            Some(&a),
            B::None
        )
        .await
        .status
        .as_u16(),
        200
    );
    assert_error(
        &api.get(&format!("/api/v2/filters/{money_id}"), Some(&a))
            .await,
        404,
    );
    let tl = home(&api, &a).await;
    assert!(
        tl.iter()
            .all(|s| filtered_by(s).iter().all(|(t, _, _)| t != "Finance"))
    );
});
