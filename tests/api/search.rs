//! Full-text post search (`GET /api/v2/search?type=statuses`) on both
//! backends: the visibility matrix decided at query time, edits and deletes
//! at once, Mastodon's operators, and bad input.

use std::collections::BTreeSet;

use axum::http::Method;
use serde_json::{Value, json};

use crate::both_backends;
use crate::common::TestDb;
use crate::support::{Api, B, Part, assert_error};

async fn post(api: &Api, token: &str, body: Value) -> String {
    api.ok("/api/v1/statuses", token, B::Json(body)).await["id"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn set(api: &Api, token: &str, body: Value) {
    let r = api
        .call(
            Method::PATCH,
            "/api/v1/accounts/update_credentials",
            Some(token),
            B::Json(body),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
}

async fn found(api: &Api, token: Option<&str>, q: &str) -> Vec<String> {
    let r = api
        .get(&format!("/api/v2/search?type=statuses&q={}", enc(q)), token)
        .await;
    assert_eq!(r.status, 200, "{q}: {}", r.json);
    r.json["statuses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_string())
        .collect()
}

fn enc(q: &str) -> String {
    url::form_urlencoded::byte_serialize(q.as_bytes()).collect()
}

fn set_of(v: &[&String]) -> BTreeSet<String> {
    v.iter().map(|s| s.to_string()).collect()
}

both_backends!(visibility_matrix_at_query_time, |tdb: TestDb| async move {
    let api = Api::new(tdb).await;
    let (ana, a) = api.user("ana", "read write follow").await;
    let (_, fol) = api.user("fol", "read write follow").await;
    let (_, out) = api.user("out", "read write follow").await;
    let (_, men) = api.user("men", "read write follow").await;
    let (_, mem) = api.user("mem", "read write follow").await;
    let (_, nix) = api.user("nix", "read write follow").await;
    let (_, pos) = api.user("pos", "read write follow").await;
    set(&api, &a, json!({ "indexable": true })).await;
    api.ok(
        &format!("/api/v1/accounts/{}/follow", ana.id),
        &fol,
        B::None,
    )
    .await;
    let g = api
        .ok(
            "/api/v1/groups",
            &a,
            B::Json(json!({ "name": "board", "closed": true })),
        )
        .await;
    let gid = g["id"].as_str().unwrap().to_string();
    // mem and pos are members of a closed group.
    for t in [&mem, &pos] {
        let member = api
            .ok(&format!("/api/v1/accounts/{gid}/follow"), t, B::None)
            .await;
        assert_eq!(member["requested"], true);
        let id = api
            .get("/api/v1/accounts/verify_credentials", Some(t))
            .await
            .json["id"]
            .as_str()
            .unwrap()
            .to_string();
        api.ok(
            &format!("/api/v1/groups/{gid}/requests/{id}/authorize"),
            &a,
            B::None,
        )
        .await;
    }

    let public = post(&api, &a, json!({ "status": "zebra crossing public" })).await;
    let unlisted = post(
        &api,
        &a,
        json!({ "status": "zebra unlisted", "visibility": "unlisted" }),
    )
    .await;
    let private = post(
        &api,
        &a,
        json!({ "status": "zebra followers only", "visibility": "private" }),
    )
    .await;
    let direct = post(
        &api,
        &a,
        json!({ "status": "@men zebra direct", "visibility": "direct" }),
    )
    .await;
    let local = post(
        &api,
        &a,
        json!({ "status": "zebra at home", "local_only": true }),
    )
    .await;
    // Followers-only by pos, whom nobody follows: members see it as members.
    let group = post(
        &api,
        &pos,
        json!({ "status": "@board zebra minutes", "visibility": "private" }),
    )
    .await;
    // Not indexable: searchable by its author, and by who favourites it.
    let hidden = post(&api, &nix, json!({ "status": "zebra from nix" })).await;

    let all = [&public, &unlisted, &private, &direct, &local];
    let open = [&public, &unlisted, &local];
    // The owner moderates the group; whether she sees its posts is the
    // viewing rule's answer, which search must agree with.
    let mut ana_sees = set_of(&all);
    if api
        .get(&format!("/api/v1/statuses/{group}"), Some(&a))
        .await
        .status
        == 200
    {
        ana_sees.insert(group.clone());
    }
    let mut cases: Vec<(&str, &String, BTreeSet<String>)> = vec![
        ("author", &a, ana_sees),
        (
            "follower",
            &fol,
            set_of(&[&public, &unlisted, &local, &private]),
        ),
        ("outsider", &out, set_of(&open)),
        (
            "mentioned",
            &men,
            set_of(&[&public, &unlisted, &local, &direct]),
        ),
        (
            "member",
            &mem,
            set_of(&[&public, &unlisted, &local, &group]),
        ),
    ];
    let mut nix_sees = set_of(&open);
    nix_sees.insert(hidden.clone());
    cases.push(("non-indexable author", &nix, nix_sees));
    for (who, token, want) in &cases {
        let got: BTreeSet<String> = found(&api, Some(token), "zebra")
            .await
            .into_iter()
            .collect();
        assert_eq!(&got, want, "{who}");
        // Search never shows what the viewer could not open.
        for id in [&private, &direct, &group, &hidden] {
            let opens = api
                .get(&format!("/api/v1/statuses/{id}"), Some(token))
                .await
                .status
                == 200;
            assert!(
                opens || !got.contains(id),
                "{who} found {id} but may not open it"
            );
        }
    }
    assert!(
        found(&api, None, "zebra").await.is_empty(),
        "signed out: no post search"
    );

    // A follow made after the post counts; so does a favourite.
    api.ok(
        &format!("/api/v1/accounts/{}/follow", ana.id),
        &out,
        B::None,
    )
    .await;
    api.ok(
        &format!("/api/v1/statuses/{hidden}/favourite"),
        &out,
        B::None,
    )
    .await;
    let got: BTreeSet<String> = found(&api, Some(&out), "zebra").await.into_iter().collect();
    let mut want = set_of(&[&public, &unlisted, &local, &private]);
    want.insert(hidden.clone());
    assert_eq!(got, want);
    // ... and so does blocking: nothing of a blocked author.
    api.ok(&format!("/api/v1/accounts/{}/block", ana.id), &out, B::None)
        .await;
    assert_eq!(found(&api, Some(&out), "zebra").await, vec![hidden.clone()]);

    // Edits and deletes are searched at once.
    let r = api
        .call(
            Method::PUT,
            &format!("/api/v1/statuses/{public}"),
            Some(&a),
            B::Json(json!({ "status": "giraffe crossing public" })),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert!(!found(&api, Some(&fol), "zebra").await.contains(&public));
    assert_eq!(
        found(&api, Some(&fol), "giraffe").await,
        vec![public.clone()]
    );
    let r = api
        .call(
            Method::DELETE,
            &format!("/api/v1/statuses/{unlisted}"),
            Some(&a),
            B::None,
        )
        .await;
    assert_eq!(r.status, 200);
    assert!(!found(&api, Some(&fol), "zebra").await.contains(&unlisted));
    // Word forms: "crossings" finds "crossing".
    assert_eq!(
        found(&api, Some(&fol), "crossings").await,
        vec![public.clone()]
    );
});

both_backends!(operators_and_ranking, |tdb: TestDb| async move {
    let api = Api::new(tdb).await;
    let (ana, a) = api.user("ana", "read write follow").await;
    let (_, b) = api.user("ben", "read write follow").await;
    set(&api, &a, json!({ "indexable": true })).await;
    set(&api, &b, json!({ "indexable": true })).await;

    let plain = post(
        &api,
        &a,
        json!({ "status": "rolling update of the cluster" }),
    )
    .await;
    let phrase = post(
        &api,
        &a,
        json!({ "status": "the update was rolling along, cluster cluster cluster" }),
    )
    .await;
    let helm = post(
        &api,
        &b,
        json!({ "status": "cluster upgrade with helm", "language": "de" }),
    )
    .await;
    let reply = post(
        &api,
        &b,
        json!({ "status": "cluster reply", "in_reply_to_id": plain }),
    )
    .await;
    let cw = post(
        &api,
        &b,
        json!({ "status": "details inside", "spoiler_text": "cluster outage" }),
    )
    .await;
    let poll = post(&api, &b, json!({ "status": "which one?", "poll": { "options": ["kafka cluster", "rabbitmq"], "expires_in": 3600 } })).await;
    let link = post(
        &api,
        &b,
        json!({ "status": "cluster docs at https://docs.example/guide" }),
    )
    .await;
    // Media: its description is searched too.
    let png = {
        let img = image::DynamicImage::ImageRgb8(image::RgbImage::from_pixel(
            4,
            4,
            image::Rgb([1, 2, 3]),
        ));
        let mut out = std::io::Cursor::new(Vec::new());
        img.write_to(&mut out, image::ImageFormat::Png).unwrap();
        out.into_inner()
    };
    let m = api
        .post(
            "/api/v2/media",
            Some(&b),
            B::Files(vec![
                Part::file("file", "d.png", "image/png", png),
                Part::text("description", "diagram of the cluster"),
            ]),
        )
        .await;
    assert!(m.status.is_success(), "{}", m.json);
    let mid = m.json["id"].as_str().unwrap().to_string();
    let media = post(
        &api,
        &b,
        json!({ "status": "see picture", "media_ids": [mid] }),
    )
    .await;

    let all = found(&api, Some(&a), "cluster").await;
    for id in [&plain, &phrase, &helm, &reply, &cw, &poll, &link, &media] {
        assert!(all.contains(id), "{id} missing from {all:?}");
    }
    // Best match first: the post that says it most, at the same age.
    assert_eq!(all[0], phrase);

    let q = |s: &'static str| found(&api, Some(&a), s);
    assert_eq!(q("\"rolling update\"").await, vec![plain.clone()]);
    assert_eq!(
        q("cluster -helm from:ben has:poll").await,
        vec![poll.clone()]
    );
    assert!(!q("cluster -helm").await.contains(&helm));
    assert_eq!(q("cluster from:ben language:de").await, vec![helm.clone()]);
    assert_eq!(q("cluster is:reply").await, vec![reply.clone()]);
    assert_eq!(q("cluster is:sensitive").await, vec![cw.clone()]);
    assert_eq!(q("cluster has:link").await, vec![link.clone()]);
    assert_eq!(q("cluster has:media").await, vec![media.clone()]);
    assert_eq!(q("cluster has:image").await, vec![media.clone()]);
    assert!(q("cluster has:video").await.is_empty());
    let mine = q("cluster from:me").await;
    assert_eq!(mine.len(), 2);
    assert!(q("cluster from:nobody").await.is_empty());
    assert_eq!(q("cluster -from:ben").await.len(), 2);
    let today = chrono::Utc::now().date_naive();
    let yesterday = today.pred_opt().unwrap();
    let during = found(&api, Some(&a), &format!("cluster during:{today}")).await;
    assert_eq!(during.len(), all.len());
    assert_eq!(
        found(&api, Some(&a), &format!("cluster after:{yesterday}"))
            .await
            .len(),
        all.len()
    );
    assert!(
        found(&api, Some(&a), &format!("cluster before:{today}"))
            .await
            .is_empty()
    );
    assert!(
        found(&api, Some(&a), &format!("cluster after:{today}"))
            .await
            .is_empty()
    );
    // in:library: one's own, favourited and bookmarked posts.
    api.ok(&format!("/api/v1/statuses/{helm}/favourite"), &a, B::None)
        .await;
    api.ok(&format!("/api/v1/statuses/{cw}/bookmark"), &a, B::None)
        .await;
    let lib: BTreeSet<String> = q("cluster in:library").await.into_iter().collect();
    assert_eq!(lib, set_of(&[&plain, &phrase, &helm, &cw]));
    // Operators alone, and account_id.
    assert_eq!(q("from:ben has:poll").await, vec![poll.clone()]);
    let r = api
        .get(
            &format!(
                "/api/v2/search?type=statuses&q=cluster&account_id={}",
                ana.id
            ),
            Some(&a),
        )
        .await;
    assert_eq!(r.json["statuses"].as_array().unwrap().len(), 2);
    // Paging by offset.
    let first = api
        .get("/api/v2/search?type=statuses&q=cluster&limit=3", Some(&a))
        .await
        .json;
    let second = api
        .get(
            "/api/v2/search?type=statuses&q=cluster&limit=3&offset=3",
            Some(&a),
        )
        .await
        .json;
    assert_eq!(first["statuses"].as_array().unwrap().len(), 3);
    let ids = |v: &Value| {
        v["statuses"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["id"].clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(&second)[0], json!(all[3]));
    assert!(!ids(&first).contains(&ids(&second)[0]));
});

both_backends!(
    bad_queries_get_a_result_or_a_clear_422,
    |tdb: TestDb| async move {
        let api = Api::new(tdb).await;
        let (_, a) = api.user("ana", "read write").await;
        set(&api, &a, json!({ "indexable": true })).await;
        post(&api, &a, json!({ "status": "plain words here" })).await;
        let long = "word ".repeat(2_000);
        for q in [
            "",
            "   ",
            "\"",
            "\"\"",
            "-",
            "- - -",
            "*",
            "words*",
            "NEAR(plain words)",
            "plain OR words AND NOT here",
            "plain^2 {col}: x",
            "'; DROP TABLE statuses; --",
            "\\ % _ ' \"",
            "from:",
            "from:@",
            "unknown:operator",
            "-plain",
            "ça été ünïcode 🙂",
            long.as_str(),
        ] {
            let r = api
                .get(
                    &format!("/api/v2/search?type=statuses&q={}", enc(q)),
                    Some(&a),
                )
                .await;
            assert_eq!(r.status, 200, "{q:.40}: {}", r.json);
            assert!(r.json["statuses"].is_array());
        }
        for q in [
            "has:nothing",
            "is:cat",
            "before:yesterday",
            "in:space",
            "language:e1",
        ] {
            let r = api
                .get(
                    &format!("/api/v2/search?type=statuses&q={}", enc(q)),
                    Some(&a),
                )
                .await;
            assert_error(&r, 422);
            assert!(
                r.json["error"]
                    .as_str()
                    .unwrap()
                    .contains(q.split(':').next().unwrap()),
                "{}",
                r.json
            );
        }
        assert_error(
            &api.get("/api/v2/search?type=statuses&q=plain%00", Some(&a))
                .await,
            422,
        );
        // Invalid UTF-8 is read as replacement characters: a result.
        let r = api
            .get("/api/v2/search?type=statuses&q=%FF%FE", Some(&a))
            .await;
        assert_eq!(r.status, 200, "{}", r.json);
        assert_eq!(r.json["statuses"], json!([]));
        // The table survived the query above.
        assert_eq!(found(&api, Some(&a), "plain").await.len(), 1);
    }
);

both_backends!(
    posts_from_before_the_index_are_backfilled,
    |tdb: TestDb| async move {
        let api = Api::new(tdb).await;
        let (_, a) = api.user("ana", "read write").await;
        let old = post(&api, &a, json!({ "status": "archived minutes" })).await;
        // As if written before the index existed.
        let id: i64 = old.parse().unwrap();
        api.app
            .state
            .db
            .run(move |c| {
                use diesel::prelude::*;
                use meetfield::db::schema::status_search;
                diesel::delete(status_search::table.find(id))
                    .execute(c)
                    .map_err(meetfield::error::AppError::from)
            })
            .await
            .unwrap();
        assert!(found(&api, Some(&a), "minutes").await.is_empty());
        let n = api
            .app
            .state
            .db
            .transaction(|c| {
                meetfield::domain::search::backfill(c, 500)
                    .map_err(meetfield::error::AppError::from)
            })
            .await
            .unwrap();
        assert_eq!(n, 1);
        assert_eq!(found(&api, Some(&a), "minutes").await, vec![old]);
        let again = api
            .app
            .state
            .db
            .transaction(|c| {
                meetfield::domain::search::backfill(c, 500)
                    .map_err(meetfield::error::AppError::from)
            })
            .await
            .unwrap();
        assert_eq!(again, 0, "nothing left to index");
    }
);
