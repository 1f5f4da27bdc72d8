//! The organization's profile fields from stock apps, and the directory
//! with its filters, on both backends.

use axum::http::Method;
use serde_json::{Value, json};

use crate::both_backends;
use crate::common::TestDb;
use crate::support::{Api, B, assert_error};

pub async fn schema(api: &Api) {
    use meetfield::org::profile::{FieldKind, add_field};
    api.app
        .state
        .db
        .transaction(|c| {
            add_field(c, "Department", FieldKind::Text, &[], true)?;
            add_field(c, "Role", FieldKind::Text, &[], false)?;
            add_field(c, "Skills", FieldKind::List, &[], false)?;
            add_field(
                c,
                "Location",
                FieldKind::Choice,
                &["Berlin".into(), "Lyon".into()],
                false,
            )
        })
        .await
        .unwrap();
}

pub async fn set_department(api: &Api, username: &str, dept: &str) {
    let (user, account) = {
        let name = username.to_string();
        api.app
            .state
            .db
            .run(move |c| {
                meetfield::db::models::User::by_username(c, &name)
                    .map_err(meetfield::db::DbError::from)
            })
            .await
            .unwrap()
            .unwrap()
    };
    drop(user);
    meetfield::domain::accounts::update_profile(
        &api.app.state,
        &account,
        meetfield::domain::accounts::ProfileChange {
            fields: Some(vec![("Department".into(), dept.into())]),
            editor: meetfield::org::profile::Editor::Admin,
            ..Default::default()
        },
    )
    .await
    .unwrap();
}

async fn update(api: &Api, token: &str, body: Value) -> crate::support::Res {
    api.call(
        Method::PATCH,
        "/api/v1/accounts/update_credentials",
        Some(token),
        B::Json(body),
    )
    .await
}

fn field_names(account: &Value) -> Vec<String> {
    account["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap().to_string())
        .collect()
}

both_backends!(organization_fields_from_apps, |tdb: TestDb| async move {
    let api = Api::new(tdb).await;
    schema(&api).await;
    let (_, tok) = api.user("alice", "read write").await;
    set_department(&api, "alice", "Research").await;

    // Apps send the whole list, Rails-style; the organization's fields come
    // first in the schema's order and spelling, free ones after.
    let r = api
        .call(
            Method::PATCH,
            "/api/v1/accounts/update_credentials",
            Some(&tok),
            B::Form("fields_attributes%5B0%5D%5Bname%5D=Pronouns&fields_attributes%5B0%5D%5Bvalue%5D=she&fields_attributes%5B1%5D%5Bname%5D=skills&fields_attributes%5B1%5D%5Bvalue%5D=Rust%2C+k8s&fields_attributes%5B2%5D%5Bname%5D=Department&fields_attributes%5B2%5D%5Bvalue%5D=Research&fields_attributes%5B3%5D%5Bname%5D=location&fields_attributes%5B3%5D%5Bvalue%5D=lyon&indexable=true&discoverable=true"),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(
        field_names(&r.json),
        ["Department", "Skills", "Location", "Pronouns"]
    );
    assert_eq!(r.json["fields"][2]["value"], "Lyon");
    assert_eq!(r.json["source"]["fields"][1]["value"], "Rust, k8s");
    assert_eq!(r.json["indexable"], true);
    assert_eq!(r.json["source"]["indexable"], true);
    assert_eq!(r.json["discoverable"], true);

    // Managed: read-only to the user, kept when omitted.
    let r = update(
        &api,
        &tok,
        json!({"fields_attributes": [{"name": "Department", "value": "Sales"}]}),
    )
    .await;
    assert_error(&r, 422);
    assert!(
        r.json["error"].as_str().unwrap().contains("managed"),
        "{}",
        r.json
    );
    let r = update(
        &api,
        &tok,
        json!({"fields_attributes": [{"name": "Role", "value": "Engineer"}]}),
    )
    .await;
    assert_eq!(field_names(&r.json), ["Department", "Role"]);
    let r = update(
        &api,
        &tok,
        json!({"fields_attributes": [{"name": "Location", "value": "Paris"}]}),
    )
    .await;
    assert_error(&r, 422);
    assert!(r.json["error"].as_str().unwrap().contains("Berlin, Lyon"));

    // Up to MEETFIELD_MAX_PROFILE_FIELDS (10), advertised to apps.
    let ten: Vec<Value> = (0..9)
        .map(|i| json!({"name": format!("f{i}"), "value": "x"}))
        .collect();
    let r = update(&api, &tok, json!({ "fields_attributes": ten })).await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["fields"].as_array().unwrap().len(), 10);
    let eleven: Vec<Value> = (0..10)
        .map(|i| json!({"name": format!("f{i}"), "value": "x"}))
        .collect();
    assert_error(
        &update(&api, &tok, json!({ "fields_attributes": eleven })).await,
        422,
    );
    let r = api.get("/api/v2/instance", None).await;
    assert_eq!(
        r.json["configuration"]["accounts"]["max_profile_fields"],
        10
    );
});

both_backends!(directory_filters_and_privacy, |tdb: TestDb| async move {
    let api = Api::new(tdb).await;
    schema(&api).await;
    let (viewer, vt) = api.user("viewer", "read write follow").await;
    let mut tokens = Vec::new();
    for (name, dept, skills, discoverable) in [
        ("ana", "Research", "Kubernetes, Go", true),
        ("ben", "Sales", "k8s", true),
        ("cho", "Research", "Rust", true),
        ("dee", "Research", "Kubernetes", false),
        ("eve", "Legal", "Contracts", true),
    ] {
        let (_, t) = api.user(name, "read write").await;
        set_department(&api, name, dept).await;
        let r = update(
            &api,
            &t,
            json!({
                "discoverable": discoverable,
                "fields_attributes": [{"name": "Skills", "value": skills}],
            }),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.json);
        tokens.push(t);
    }
    // cho posted recently; eve is muted, ana blocks the viewer.
    let r = api
        .post(
            "/api/v1/statuses",
            Some(&tokens[2]),
            B::Form("status=hello"),
        )
        .await;
    assert_eq!(r.status, 200);
    let ids = |r: &crate::support::Res| -> Vec<String> {
        r.json
            .as_array()
            .unwrap_or_else(|| panic!("{}", r.json))
            .iter()
            .map(|a| a["username"].as_str().unwrap().to_string())
            .collect()
    };
    let all = api.get("/api/v1/directory", Some(&vt)).await;
    assert_eq!(
        ids(&all)[0],
        "cho",
        "order=active puts recent posters first"
    );
    let mut names = ids(&all);
    names.sort();
    assert_eq!(
        names,
        ["ana", "ben", "cho", "eve"],
        "dee opted out, viewer not listed"
    );
    let new = api
        .get("/api/v1/directory?order=new&limit=2", Some(&vt))
        .await;
    assert_eq!(ids(&new), ["eve", "cho"], "newest first; dee opted out");
    let r = api
        .get("/api/v1/directory?department=research", Some(&vt))
        .await;
    let mut d = ids(&r);
    d.sort();
    assert_eq!(d, ["ana", "cho"]);

    // Skills match through synonyms, both ways.
    api.app
        .state
        .db
        .transaction(|c| meetfield::org::profile::add_synonym(c, "k8s", "Kubernetes"))
        .await
        .unwrap();
    for q in [
        "skill=kubernetes",
        "skill=K8S",
        "skill=kubernetes&department=Sales",
    ] {
        let r = api.get(&format!("/api/v1/directory?{q}"), Some(&vt)).await;
        let mut d = ids(&r);
        d.sort();
        let want: &[&str] = if q.contains("Sales") {
            &["ben"]
        } else {
            &["ana", "ben"]
        };
        assert_eq!(d, want, "{q}");
    }
    let r = api.get("/api/v1/directory?q=contr", Some(&vt)).await;
    assert_eq!(ids(&r), ["eve"]);
    let r = api
        .get(
            "/api/v1/directory?local=true&domain=api.localhost:8080&q=ana",
            None,
        )
        .await;
    assert_eq!(ids(&r), ["ana"], "signed out, local, by own domain");
    let r = api
        .get("/api/v1/directory?domain=elsewhere.example", Some(&vt))
        .await;
    assert!(ids(&r).is_empty());

    let eve = &all
        .json
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["username"] == "eve")
        .unwrap()["id"];
    let ana = &all
        .json
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["username"] == "ana")
        .unwrap()["id"];
    let r = api
        .post(
            &format!("/api/v1/accounts/{}/mute", eve.as_str().unwrap()),
            Some(&vt),
            B::None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    let r = api
        .post(
            &format!("/api/v1/accounts/{}/block", viewer.id),
            Some(&tokens[0]),
            B::None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    let r = api.get("/api/v1/directory", Some(&vt)).await;
    let mut names = ids(&r);
    names.sort();
    assert_eq!(
        names,
        ["ben", "cho"],
        "muted and blocking accounts are hidden ({ana})"
    );
    // Bad input: a clear answer, never a 500.
    for q in [
        "limit=1000",
        "offset=-5",
        "order=sideways",
        "q=%25%5F%27%22",
        "skill=",
    ] {
        let r = api.get(&format!("/api/v1/directory?{q}"), Some(&vt)).await;
        assert_eq!(r.status, 200, "{q}: {}", r.json);
    }
    assert_error(&api.get("/api/v1/directory?limit=x", Some(&vt)).await, 422);
});
