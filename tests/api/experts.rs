//! "Who knows X?": the experts endpoint with reasons, and account search
//! from stock apps, on both backends.

use axum::http::Method;
use serde_json::{Value, json};

use crate::both_backends;
use crate::common::TestDb;
use crate::support::{Api, B, assert_error};

async fn profile(api: &Api, token: &str, discoverable: bool, note: &str, fields: Value) {
    let r = api
        .call(
            Method::PATCH,
            "/api/v1/accounts/update_credentials",
            Some(token),
            B::Json(
                json!({ "discoverable": discoverable, "note": note, "fields_attributes": fields }),
            ),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
}

fn names(r: &crate::support::Res) -> Vec<String> {
    r.json
        .as_array()
        .unwrap_or_else(|| panic!("{}", r.json))
        .iter()
        .map(|e| {
            e.get("account")
                .unwrap_or(e)
                .get("username")
                .and_then(Value::as_str)
                .unwrap()
                .to_string()
        })
        .collect()
}

fn reasons<'a>(r: &'a crate::support::Res, who: &str) -> &'a Vec<Value> {
    r.json
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["account"]["username"] == who)
        .unwrap_or_else(|| panic!("{who} not in {}", r.json))["reasons"]
        .as_array()
        .unwrap()
}

both_backends!(who_knows_x_with_reasons, |tdb: TestDb| async move {
    let api = Api::new(tdb).await;
    api.app
        .state
        .db
        .transaction(|c| {
            use meetfield::org::profile::{FieldKind, add_field};
            add_field(c, "Department", FieldKind::Text, &[], false)?;
            add_field(c, "Role", FieldKind::Text, &[], false)?;
            add_field(c, "Skills", FieldKind::List, &[], false)
        })
        .await
        .unwrap();
    let (_, vt) = api.user("viewer", "read write").await;
    let (_, ana) = api.user("ana", "read write").await;
    let (_, ben) = api.user("ben", "read write").await;
    let (_, cho) = api.user("cho", "read write").await;
    let (_, dee) = api.user("dee", "read write").await;
    let (_, eve) = api.user("eve", "read write").await;
    let (_, fay) = api.user("fay", "read write").await;
    let (_, kube) = api.user("kubeadmin", "read write").await;
    profile(&api, &ana, true, "", json!([{"name": "Skills", "value": "Kubernetes, Go"}, {"name": "Department", "value": "Platform"}])).await;
    profile(&api, &ben, true, "", json!([{"name": "Role", "value": "Cluster operator"}, {"name": "Department", "value": "Sales"}])).await;
    profile(&api, &cho, true, "", json!([])).await;
    profile(
        &api,
        &dee,
        true,
        "I keep our kubernetes clusters happy",
        json!([]),
    )
    .await;
    profile(
        &api,
        &eve,
        false,
        "",
        json!([{"name": "Skills", "value": "Kubernetes"}]),
    )
    .await;
    profile(&api, &fay, true, "", json!([])).await;
    profile(&api, &kube, true, "", json!([])).await;
    for _ in 0..3 {
        let r = api
            .post(
                "/api/v1/statuses",
                Some(&cho),
                B::Form("status=Upgrading+%23Kubernetes+today"),
            )
            .await;
        assert_eq!(r.status, 200);
    }
    let r = api
        .post(
            "/api/v1/groups",
            Some(&fay),
            B::Json(json!({"name": "kubernetes_guild", "display_name": "Kubernetes guild"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);

    let r = api
        .get("/api/v1/meetfield/experts?q=kubernetes", Some(&vt))
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    let found = names(&r);
    assert_eq!(found[0], "ana", "declared skill first: {}", r.json);
    for who in ["cho", "dee", "fay"] {
        assert!(found.contains(&who.to_string()), "{who} in {found:?}");
    }
    assert!(
        !found.contains(&"eve".to_string()),
        "opted out of discovery"
    );
    assert!(
        !found.contains(&"ben".to_string()),
        "nothing about Kubernetes"
    );
    assert_eq!(
        reasons(&r, "ana")[0],
        json!({"kind": "skill", "detail": "Kubernetes", "count": 1})
    );
    assert_eq!(
        reasons(&r, "cho")[0],
        json!({"kind": "posts", "detail": "#kubernetes", "count": 3})
    );
    assert_eq!(reasons(&r, "dee")[0]["kind"], "bio");
    assert_eq!(
        reasons(&r, "fay")[0]["detail"],
        "moderates Kubernetes guild"
    );
    let scores: Vec<f64> = r
        .json
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["score"].as_f64().unwrap())
        .collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");

    // Typos, phrases, synonyms, word forms, filters.
    for q in [
        "kubernets",
        "Kubernetes%20cluster",
        "who%20knows%20kubernetes%3F",
    ] {
        let r = api
            .get(&format!("/api/v1/meetfield/experts?q={q}"), Some(&vt))
            .await;
        assert_eq!(names(&r)[0], "ana", "{q}: {}", r.json);
    }
    let r = api
        .get("/api/v1/meetfield/experts?q=clusters", Some(&vt))
        .await;
    assert!(
        names(&r).contains(&"ben".to_string()),
        "cluster operator: {}",
        r.json
    );
    api.app
        .state
        .db
        .transaction(|c| meetfield::org::profile::add_synonym(c, "k8s", "kubernetes"))
        .await
        .unwrap();
    let r = api.get("/api/v1/meetfield/experts?q=k8s", Some(&vt)).await;
    assert_eq!(names(&r)[0], "ana", "{}", r.json);
    let r = api
        .get(
            "/api/v1/meetfield/experts?q=kubernetes&department=sales",
            Some(&vt),
        )
        .await;
    assert!(names(&r).is_empty(), "{}", r.json);
    let r = api
        .get(
            "/api/v1/meetfield/experts?q=kubernetes&domain=elsewhere.example",
            None,
        )
        .await;
    assert!(names(&r).is_empty());
    let r = api
        .get(
            "/api/v1/meetfield/experts?q=kubernetes&limit=1&offset=1",
            None,
        )
        .await;
    assert_eq!(names(&r).len(), 1);

    // Stock apps: exact handle and name matches first, then the experts.
    for path in [
        "/api/v2/search?type=accounts&q=kube",
        "/api/v1/accounts/search?q=kube",
    ] {
        let r = api.get(path, Some(&vt)).await;
        let list = r.json.get("accounts").unwrap_or(&r.json);
        let found: Vec<&str> = list
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["username"].as_str().unwrap())
            .collect();
        assert_eq!(found.first(), Some(&"kubeadmin"), "{path}: {found:?}");
        assert!(found.contains(&"ana"), "{path}: {found:?}");
        assert!(!found.contains(&"eve"), "{path}: {found:?}");
    }

    // Bad input: a clear answer, never a 500.
    assert_error(&api.get("/api/v1/meetfield/experts", Some(&vt)).await, 422);
    assert_error(
        &api.get("/api/v1/meetfield/experts?q=%20", Some(&vt)).await,
        422,
    );
    assert_error(
        &api.get("/api/v1/meetfield/experts?q=a%00b", Some(&vt))
            .await,
        422,
    );
    let long = "kubernetes%20".repeat(800);
    for q in [
        long.as_str(),
        "%27%3B%20DROP%20TABLE%20accounts%3B--",
        "%25%5F%5C",
        "NEAR(a%20b)%20OR%20*",
        "the%20and",
    ] {
        let r = api
            .get(&format!("/api/v1/meetfield/experts?q={q}"), Some(&vt))
            .await;
        assert_eq!(r.status, 200, "{}", r.json);
        let r = api
            .get(&format!("/api/v2/search?q={q}&type=accounts"), Some(&vt))
            .await;
        assert_eq!(r.status, 200, "{}", r.json);
    }
});

both_backends!(
    opted_out_people_are_not_found_by_name,
    |tdb: TestDb| async move {
        let api = Api::new(tdb).await;
        let (_, v) = api.user("viewer", "read write follow").await;
        let (quiet, q) = api.user("quietbob", "read write").await;
        let (_, f) = api.user("friend", "read write follow").await;
        profile(
            &api,
            &q,
            false,
            "",
            json!([{"name": "Skills", "value": "Kubernetes"}]),
        )
        .await;
        api.ok(
            &format!("/api/v1/accounts/{}/follow", quiet.id),
            &f,
            B::None,
        )
        .await;
        let search = |token: &str, q: &str| {
            let (token, q) = (token.to_string(), q.to_string());
            let api = &api;
            async move {
                names(
                    &api.get(&format!("/api/v1/accounts/search?q={q}"), Some(&token))
                        .await,
                )
            }
        };
        assert!(
            search(&v, "quiet").await.is_empty(),
            "not by a part of the name"
        );
        assert!(search(&v, "kubernetes").await.is_empty(), "nor by skill");
        assert_eq!(
            search(&v, "quietbob").await,
            ["quietbob"],
            "the exact handle, to mention"
        );
        assert_eq!(
            search(&f, "quiet").await,
            ["quietbob"],
            "whoever follows them"
        );
        assert_eq!(search(&q, "quiet").await, ["quietbob"], "themselves");
        let r = api
            .get("/api/v2/search?q=quiet&type=accounts", Some(&v))
            .await;
        assert_eq!(r.json["accounts"], json!([]));
        let r = api.get("/api/v1/directory", Some(&v)).await;
        assert!(!names(&r).contains(&"quietbob".to_string()));
    }
);

both_backends!(names_match_by_word_starts, |tdb: TestDb| async move {
    let api = Api::new(tdb).await;
    let (_, v) = api.user("viewer", "read write follow").await;
    let (_, a) = api.user("ana_bo", "read write").await;
    let r = api
        .call(
            Method::PATCH,
            "/api/v1/accounts/update_credentials",
            Some(&a),
            B::Json(json!({ "display_name": "Ána Berg-Lund" })),
        )
        .await;
    assert_eq!(r.status, 200);
    let search = |q: &str| {
        let q = url::form_urlencoded::byte_serialize(q.as_bytes()).collect::<String>();
        let (api, v) = (&api, v.clone());
        async move {
            names(
                &api.get(&format!("/api/v1/accounts/search?q={q}"), Some(&v))
                    .await,
            )
        }
    };
    for q in [
        "ana", "ANA_B", "@ana_bo", "berg", "lund", "ana berg", "b", "ána",
    ] {
        assert_eq!(search(q).await, ["ana_bo"], "{q}");
    }
    for q in ["erg", "nab", "ana zed", "%", "_", "\"*"] {
        assert!(search(q).await.is_empty(), "{q}");
    }
});

both_backends!(
    favourited_answers_count_as_expertise,
    |tdb: TestDb| async move {
        let api = Api::new(tdb).await;
        let (_, v) = api.user("viewer", "read write").await;
        let (_, ben) = api.user("ben", "read write").await;
        let (_, ana) = api.user("ana", "read write").await;
        let (_, dee) = api.user("dee", "read write").await;
        let (_, eve) = api.user("eve", "read write").await;
        for t in [&ben, &ana, &dee, &eve] {
            profile(&api, t, true, "", json!([])).await;
        }
        let q = api
            .ok(
                "/api/v1/statuses",
                &ben,
                B::Json(json!({ "status": "How do I size kubernetes pods?" })),
            )
            .await;
        let qid = q["id"].as_str().unwrap().to_string();
        let reply = |token: &str, text: &str| {
            let (token, body) = (
                token.to_string(),
                json!({ "status": text, "in_reply_to_id": qid }),
            );
            let api = &api;
            async move {
                api.ok("/api/v1/statuses", &token, B::Json(body)).await["id"]
                    .as_str()
                    .unwrap()
                    .to_string()
            }
        };
        let good = reply(&ana, "@ben set requests and limits on your Kubernetes pods").await;
        let _plain = reply(&dee, "@ben kubernetes is hard").await;
        let own = reply(&eve, "@ben kubernetes autoscaling").await;
        api.ok(&format!("/api/v1/statuses/{good}/favourite"), &ben, B::None)
            .await;
        api.ok(&format!("/api/v1/statuses/{good}/favourite"), &v, B::None)
            .await;
        // Favouriting one's own answer proves nothing.
        api.ok(&format!("/api/v1/statuses/{own}/favourite"), &eve, B::None)
            .await;

        let r = api
            .get("/api/v1/meetfield/experts?q=kubernetes", Some(&v))
            .await;
        assert_eq!(names(&r), ["ana"], "{}", r.json);
        let why = reasons(&r, "ana");
        assert_eq!(why[0]["kind"], "answer", "{why:?}");
        assert_eq!(why[0]["count"], 1);
        // The question itself is no answer, nor is a reply on another topic.
        let r = api
            .get("/api/v1/meetfield/experts?q=autoscaling", Some(&v))
            .await;
        assert!(names(&r).is_empty(), "{}", r.json);
    }
);
