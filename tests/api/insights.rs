//! Connector insight from real follows and replies: the person who bridges
//! two departments comes first, the island shows, opted-out people stay
//! unlisted, and only admins see any of it; both backends.

use std::collections::HashMap;

use axum::http::Method;
use serde_json::{Value, json};

use crate::both_backends;
use crate::common::TestDb;
use crate::directory::{schema, set_department};
use crate::support::{Api, B, assert_error};
use meetfield::db::models::Role;

const CONNECTORS: &str = "/api/v1/admin/meetfield/insights/connectors";
const SILOS: &str = "/api/v1/admin/meetfield/insights/silos";

struct Org {
    ids: HashMap<&'static str, String>,
    tokens: HashMap<&'static str, String>,
}

impl Org {
    async fn follow(&self, api: &Api, who: &str, whom: &str) {
        let r = api
            .post(
                &format!("/api/v1/accounts/{}/follow", self.ids[whom]),
                Some(&self.tokens[who]),
                B::None,
            )
            .await;
        assert_eq!(r.status, 200, "{who} follows {whom}: {}", r.json);
    }
}

/// Research (r1–r3 and x), Sales (s1–s4), Legal (l1, l2). Inside each
/// department people follow each other; x follows r1, r2 and s1, s1
/// follows back, and x replies to s2: x alone joins Research and Sales.
/// Legal talks to nobody else. r3 has opted out of discovery.
async fn organization(api: &Api) -> Org {
    schema(api).await;
    let people: [(&str, &str); 10] = [
        ("r1", "Research"),
        ("r2", "Research"),
        ("r3", "Research"),
        ("x", "Research"),
        ("s1", "Sales"),
        ("s2", "Sales"),
        ("s3", "Sales"),
        ("s4", "Sales"),
        ("l1", "Legal"),
        ("l2", "Legal"),
    ];
    let mut org = Org {
        ids: HashMap::new(),
        tokens: HashMap::new(),
    };
    for (name, dept) in people {
        let (a, t) = api.user(name, "read write follow").await;
        set_department(api, name, dept).await;
        org.ids.insert(name, a.id.to_string());
        org.tokens.insert(name, t);
    }
    for group in [
        &["r1", "r2", "r3"][..],
        &["s1", "s2", "s3", "s4"],
        &["l1", "l2"],
    ] {
        for (i, a) in group.iter().enumerate() {
            for b in &group[i + 1..] {
                org.follow(api, a, b).await;
            }
        }
    }
    for whom in ["r1", "r2", "s1"] {
        org.follow(api, "x", whom).await;
    }
    org.follow(api, "s1", "x").await;
    let post = api
        .ok(
            "/api/v1/statuses",
            &org.tokens["s2"],
            B::Json(json!({"status": "Q3 numbers are in"})),
        )
        .await;
    api.ok(
        "/api/v1/statuses",
        &org.tokens["x"],
        B::Json(json!({"status": "@s2 which model did you use?", "in_reply_to_id": post["id"]})),
    )
    .await;
    let r = api
        .call(
            Method::PATCH,
            "/api/v1/accounts/update_credentials",
            Some(&org.tokens["r3"]),
            B::Json(json!({"discoverable": false})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    org
}

async fn read(api: &Api, path: &str, token: &str) -> Value {
    let r = api.get(path, Some(token)).await;
    assert_eq!(r.status, 200, "{path}: {}", r.json);
    r.json
}

async fn compute(api: &Api) -> meetfield::org::insights::RunSummary {
    meetfield::org::insights::compute(&api.app.state.db, &api.app.state.config, |_, _| {})
        .await
        .unwrap()
}

fn unit<'a>(silos: &'a Value, kind: &str, name: &str) -> &'a Value {
    silos["units"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["kind"] == kind && u["unit"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name} in {silos}"))
}

fn ties(silos: &Value, a: &str, b: &str) -> Value {
    silos["ties"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["kind"] == "department" && t["a"] == a && t["b"] == b)
        .cloned()
        .unwrap_or(Value::Null)
}

both_backends!(
    the_bridge_between_departments_comes_first,
    |tdb: TestDb| async move {
        let api = Api::new(tdb).await;
        let (_, admin) = api.user_with_role("boss", Role::Admin, "admin:read").await;
        let org = organization(&api).await;

        // Nothing computed yet: an empty answer, not an error.
        let empty = read(&api, CONNECTORS, &admin).await;
        assert_eq!(empty["computed_at"], Value::Null);
        assert_eq!(empty["connectors"], json!([]));

        let summary = compute(&api).await;
        assert!(summary.exact);
        // The admin (no ties) counts as a person too.
        assert_eq!(summary.people, 11);
        let got = read(&api, CONNECTORS, &admin).await;
        let list = got["connectors"].as_array().unwrap();
        assert_eq!(list[0]["account"]["id"], org.ids["x"], "{got}");
        assert_eq!(list[0]["department"], "Research");
        assert_eq!(list[0]["articulation"], true);
        // Without x, Research (3) and Sales (4) part: 3 are cut off from the larger.
        assert_eq!(list[0]["cut_off"], 3);
        let p = list[0]["participation_department"].as_f64().unwrap();
        assert!(p > 0.3, "{p}");
        // Participation: ties spread over units. Only x and the two Sales
        // people x talks to have any; everyone else stays inside.
        let spread = [&org.ids["x"], &org.ids["s1"], &org.ids["s2"]];
        for other in &list[1..] {
            assert!(other["betweenness"].as_f64() <= list[0]["betweenness"].as_f64());
            let q = other["participation_department"].as_f64().unwrap();
            if spread.iter().any(|id| other["account"]["id"] == ***id) {
                assert!(q > 0.0, "{other}");
            } else {
                assert_eq!(q, 0.0, "{other}");
            }
        }
        assert!(list[0]["constraint"].as_f64().unwrap() < list[1]["constraint"].as_f64().unwrap());
        // r3 opted out: shaped the measures, is not listed.
        assert!(list.iter().all(|c| c["account"]["id"] != org.ids["r3"]));
        assert_eq!(list.len(), 10, "{got}");

        let sales = read(
            &api,
            &format!("{CONNECTORS}?department=sales&limit=2"),
            &admin,
        )
        .await;
        let sales = sales["connectors"].as_array().unwrap();
        assert_eq!(sales.len(), 2);
        assert!(sales.iter().all(|c| c["department"] == "Sales"));

        let silos = read(&api, SILOS, &admin).await;
        assert_eq!(unit(&silos, "department", "Legal")["island"], true);
        assert_eq!(unit(&silos, "department", "Research")["island"], false);
        assert_eq!(unit(&silos, "department", "Sales")["people"], 4);
        assert_eq!(ties(&silos, "Research", "Sales")["ties"], 2, "{silos}");
        assert_eq!(silos["previous_computed_at"], Value::Null);

        // Legal starts talking to Sales; the next run shows the change.
        org.follow(&api, "l1", "s3").await;
        compute(&api).await;
        let silos = read(&api, SILOS, &admin).await;
        assert_ne!(silos["previous_computed_at"], Value::Null);
        let legal = unit(&silos, "department", "Legal");
        assert_eq!(legal["island"], false);
        assert_eq!(legal["previous_external_share"], 0.0);
        assert_eq!(ties(&silos, "Legal", "Sales")["ties"], 1);
        assert_eq!(ties(&silos, "Legal", "Sales")["previous_ties"], 0);
        assert_eq!(ties(&silos, "Research", "Sales")["previous_ties"], 2);
        // Two runs are kept, no more.
        compute(&api).await;
        let runs = api
            .app
            .state
            .db
            .run(|c| {
                use diesel::prelude::*;
                meetfield::db::schema::insight_runs::table
                    .count()
                    .get_result::<i64>(c)
                    .map_err(meetfield::db::DbError::from)
            })
            .await
            .unwrap();
        assert_eq!(runs, 2);
    }
);

both_backends!(only_admins_see_insight, |tdb: TestDb| async move {
    let api = Api::new(tdb).await;
    let (_, user) = api.user("someone", "admin:read read").await;
    let (_, moderator) = api
        .user_with_role("mod", Role::Moderator, "admin:read")
        .await;
    let (_, admin_no_scope) = api.user_with_role("boss", Role::Admin, "read").await;
    compute(&api).await;
    for path in [CONNECTORS, SILOS] {
        assert_error(&api.get(path, Some(&user)).await, 403);
        assert_error(&api.get(path, Some(&moderator)).await, 403);
        assert_error(&api.get(path, Some(&admin_no_scope)).await, 403);
        assert_error(&api.get(path, None).await, 401);
    }

    let off = Api::with_config(TestDb::new(api_backend(&api)), |c| {
        meetfield::config::Config {
            insights: false,
            ..c
        }
    })
    .await;
    let (_, admin) = off.user_with_role("boss", Role::Admin, "admin:read").await;
    assert_error(&off.get(CONNECTORS, Some(&admin)).await, 404);
});

fn api_backend(api: &Api) -> crate::common::Backend {
    match api.app.state.db.backend() {
        meetfield::db::Backend::Sqlite => crate::common::Backend::Sqlite,
        _ => crate::common::Backend::Postgres,
    }
}

both_backends!(
    the_console_shows_connectors_and_islands,
    |tdb: TestDb| async move {
        use crate::pages::{html, page, sign_in};
        let api = Api::new(tdb).await;
        api.user_with_role("boss", Role::Admin, "read").await;
        api.user_with_role("mod", Role::Moderator, "read").await;
        let org = organization(&api).await;
        // A department name is the people's own text: it must show as text.
        api.user("eve", "read").await;
        set_department(&api, "eve", "<b>R&D</b>").await;
        org.follow(&api, "l1", "l2").await;

        let boss = sign_in(&api, "boss").await;
        let r = page(&api, "/admin/insights", Some(&boss)).await;
        assert_eq!(r.status, 200, "{}", html(&r));
        assert!(html(&r).contains("Not computed yet"), "{}", html(&r));
        assert!(html(&r).contains("href=\"/admin/insights\""), "in the nav");

        compute(&api).await;
        let body = html(&page(&api, "/admin/insights", Some(&boss)).await);
        let rows: Vec<&str> = body
            .split("<tr id=\"connector-")
            .skip(1)
            .map(|s| &s[..s.find('"').unwrap()])
            .collect();
        assert_eq!(rows.first(), Some(&"x"), "the bridge first: {rows:?}");
        assert!(!rows.contains(&"r3"), "opted out: never listed");
        assert!(body.contains("Legal <strong>island</strong>"), "{body}");
        assert!(
            body.contains("&#60;b&#62;R&#38;D&#60;/b&#62;"),
            "escaped: {body}"
        );
        assert!(!body.contains("<b>R&D</b>"));
        assert!(!body.contains("Q3 numbers"), "never content");

        let sales = html(&page(&api, "/admin/insights?department=Sales", Some(&boss)).await);
        let n = sales.matches("<tr id=\"connector-").count();
        assert_eq!(n, 4, "{sales}");
        assert!(sales.contains("<option value=\"Sales\" selected>"));

        // Moderators see neither the link nor the page.
        let m = sign_in(&api, "mod").await;
        assert_eq!(page(&api, "/admin/insights", Some(&m)).await.status, 403);
        assert!(!html(&page(&api, "/admin", Some(&m)).await).contains("/admin/insights"));
        assert_eq!(page(&api, "/admin/insights", None).await.status, 303);
    }
);
