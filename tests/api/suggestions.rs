//! Follow suggestions from stock apps: a bridge to another department who
//! shares a skill ranks above the same department, friends of friends and
//! featured accounts come with their sources, and nobody blocked, muted,
//! followed, dismissed or opted out ever shows; both backends.

use std::collections::HashMap;

use axum::http::Method;
use serde_json::{Value, json};

use crate::both_backends;
use crate::common::TestDb;
use crate::directory::schema;
use crate::support::{Api, B, assert_error};

struct People {
    ids: HashMap<&'static str, String>,
    tokens: HashMap<&'static str, String>,
}

async fn profile(api: &Api, token: &str, dept: &str, skills: &str) {
    let mut fields = vec![json!({"name": "Skills", "value": skills})];
    if !dept.is_empty() {
        fields.push(json!({"name": "Role", "value": "Engineer"}));
    }
    let r = api
        .call(
            Method::PATCH,
            "/api/v1/accounts/update_credentials",
            Some(token),
            B::Json(json!({ "fields_attributes": fields })),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
}

async fn get(api: &Api, path: &str, token: &str) -> Value {
    let r = api.get(path, Some(token)).await;
    assert_eq!(r.status, 200, "{path}: {}", r.json);
    r.json
}

async fn compute(api: &Api) {
    meetfield::org::suggestions::compute(&api.app.state.db, 90)
        .await
        .unwrap();
}

fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|s| s["account"]["id"].as_str().unwrap().to_string())
        .collect()
}

both_backends!(suggestions_build_bridges, |tdb: TestDb| async move {
    let api = Api::new(tdb).await;
    schema(&api).await;
    api.app
        .state
        .db
        .transaction(|c| meetfield::org::profile::add_synonym(c, "k8s", "Kubernetes"))
        .await
        .unwrap();
    // me (Research, Kubernetes). bridge: Sales, "k8s". peer: Research,
    // Kubernetes. friend: followed by me; fof: followed by friend.
    // blocked/muted/hidden share the skill but must never show.
    let people: [(&str, &str, &str); 10] = [
        ("me", "Research", "Kubernetes"),
        // Made before the bridge: on an equal score it would come first.
        ("peer", "Research", "kubernetes"),
        ("bridge", "Sales", "k8s"),
        ("stranger", "Research", ""),
        ("friend", "Research", ""),
        ("fof", "Legal", ""),
        ("blocked", "Sales", "Kubernetes"),
        ("muted", "Sales", "Kubernetes"),
        ("hidden", "Sales", "Kubernetes"),
        ("boss", "Board", ""),
    ];
    let mut p = People {
        ids: HashMap::new(),
        tokens: HashMap::new(),
    };
    for (name, dept, skills) in people {
        let (a, t) = api.user(name, "read write follow").await;
        crate::directory::set_department(&api, name, dept).await;
        if !skills.is_empty() {
            profile(&api, &t, dept, skills).await;
        }
        p.ids.insert(name, a.id.to_string());
        p.tokens.insert(name, t);
    }
    let me = p.tokens["me"].clone();
    let act = |who: &'static str, whom: &'static str, what: &'static str| {
        let path = format!("/api/v1/accounts/{}/{what}", p.ids[whom]);
        let token = p.tokens[who].clone();
        let api = &api;
        async move {
            let r = api.post(&path, Some(&token), B::None).await;
            assert_eq!(r.status, 200, "{path}: {}", r.json);
        }
    };
    act("me", "friend", "follow").await;
    act("friend", "fof", "follow").await;
    act("me", "blocked", "block").await;
    act("me", "muted", "mute").await;
    let r = api
        .call(
            Method::PATCH,
            "/api/v1/accounts/update_credentials",
            Some(&p.tokens["hidden"]),
            B::Json(json!({"discoverable": false})),
        )
        .await;
    assert_eq!(r.status, 200);
    let boss = p.ids["boss"].parse::<i64>().unwrap();
    api.app
        .state
        .db
        .run(move |c| {
            meetfield::org::suggestions::feature(c, boss).map_err(meetfield::db::DbError::from)
        })
        .await
        .unwrap();

    // Before any run: featured accounts only.
    let first = get(&api, "/api/v2/suggestions", &me).await;
    assert_eq!(ids(&first), vec![p.ids["boss"].clone()], "{first}");
    assert_eq!(first[0]["source"], "staff");
    assert_eq!(first[0]["sources"], json!(["featured"]));

    compute(&api).await;
    let got = get(&api, "/api/v2/suggestions", &me).await;
    let order = ids(&got);
    let pos = |n: &str| order.iter().position(|id| *id == p.ids[n]);
    assert!(pos("bridge").is_some() && pos("peer").is_some(), "{got}");
    assert!(pos("bridge") < pos("peer"), "bridge first: {got}");
    assert!(pos("fof").is_some(), "{got}");
    for never in ["me", "friend", "blocked", "muted", "hidden"] {
        assert_eq!(pos(never), None, "{never} in {got}");
    }
    let entry = |n: &str| got.as_array().unwrap()[pos(n).unwrap()].clone();
    // fof also has a follower, so is among the most followed too.
    assert_eq!(
        entry("fof")["sources"],
        json!(["most_followed", "friends_of_friends"])
    );
    assert_eq!(entry("fof")["source"], "global");
    assert!(
        entry("bridge")["sources"]
            .as_array()
            .unwrap()
            .contains(&json!("similar_to_recently_followed")),
        "{got}"
    );
    assert!(
        entry("boss")["sources"]
            .as_array()
            .unwrap()
            .contains(&json!("featured"))
    );
    if let Some(comp) = crate::openapi::components() {
        for s in got.as_array().unwrap() {
            let v = crate::openapi::violations(&comp, "Suggestion", s);
            assert!(v.is_empty(), "{v:?}");
        }
    }

    // v1: the same people as accounts; limit honoured, and capped at 80.
    let v1 = get(&api, "/api/v1/suggestions?limit=2", &me).await;
    assert_eq!(v1.as_array().unwrap().len(), 2);
    assert_eq!(v1[0]["id"], got[0]["account"]["id"]);
    assert!(v1[0].get("sources").is_none());
    let many = get(&api, "/api/v2/suggestions?limit=500", &me).await;
    assert_eq!(many.as_array().unwrap().len(), order.len());

    // Dismissed: gone now and after the next run. Followed: gone at once.
    let r = api
        .call(
            Method::DELETE,
            &format!("/api/v1/suggestions/{}", p.ids["bridge"]),
            Some(&me),
            B::None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    act("me", "peer", "follow").await;
    let after = ids(&get(&api, "/api/v2/suggestions", &me).await);
    assert!(!after.contains(&p.ids["bridge"]) && !after.contains(&p.ids["peer"]));
    compute(&api).await;
    let after = ids(&get(&api, "/api/v2/suggestions", &me).await);
    assert!(!after.contains(&p.ids["bridge"]), "{after:?}");
    assert!(after.contains(&p.ids["fof"]));
    let r = api
        .call(
            Method::DELETE,
            "/api/v1/suggestions/12345",
            Some(&me),
            B::None,
        )
        .await;
    assert_error(&r, 404);
    assert_error(&api.get("/api/v2/suggestions", None).await, 401);
});

both_backends!(groups_where_ones_people_are, |tdb: TestDb| async move {
    use meetfield::domain::groups::{self, NewGroup};
    let api = Api::new(tdb).await;
    let (_, me) = api.user("me", "read write follow").await;
    let (friend, f) = api.user("friend", "read write follow").await;
    let (owner, _) = api.user("owner", "read write follow").await;
    let group = |name: &str, discoverable: bool| NewGroup {
        name: name.into(),
        display_name: name.into(),
        note: String::new(),
        closed: false,
        discoverable,
        announcement_only: false,
    };
    let open = groups::create(&api.app.state, &owner, group("platform", true))
        .await
        .unwrap();
    let unlisted = groups::create(&api.app.state, &owner, group("quiet", false))
        .await
        .unwrap();
    for g in [&open, &unlisted] {
        let r = api
            .post(
                &format!("/api/v1/accounts/{}/follow", g.account.id),
                Some(&f),
                B::None,
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.json);
    }
    let r = api
        .post(
            &format!("/api/v1/accounts/{}/follow", friend.id),
            Some(&me),
            B::None,
        )
        .await;
    assert_eq!(r.status, 200);
    compute(&api).await;
    let got = get(&api, "/api/v1/meetfield/suggestions/groups", &me).await;
    let names: Vec<&str> = got
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["platform"], "{got}");
    assert_eq!(got[0]["group"], true);
    // The friend is a member already: nothing to suggest.
    let theirs = get(&api, "/api/v1/meetfield/suggestions/groups", &f).await;
    assert!(
        theirs
            .as_array()
            .unwrap()
            .iter()
            .all(|g| g["username"] != "platform"),
        "{theirs}"
    );
});
