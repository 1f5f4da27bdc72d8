use axum::http::Method;
use serde_json::{Value, json};

use crate::both_backends;
use crate::common::TestDb;
use crate::support::{Api, B, assert_error};

fn ids(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x["id"].as_str().unwrap().to_string())
        .collect()
}

fn account_names(conv: &Value) -> Vec<String> {
    let mut names: Vec<String> = conv["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["username"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    names
}

both_backends!(
    direct_messages_form_conversations,
    |tdb: TestDb| async move {
        let api = Api::new(tdb).await;
        let (_, a) = api.user("alice", "read write follow").await;
        let (_, b) = api.user("bob", "read write follow").await;
        let (_, c) = api.user("carol", "read write follow").await;
        let (_, ro) = api.user("dave", "read").await;
        let post = |tok: String, body: Value| {
            let api = &api;
            async move { api.ok("/api/v1/statuses", &tok, B::Json(body)).await }
        };

        // Public posts and mentions in them are not conversations.
        post(a.clone(), json!({"status": "@bob hello all"})).await;
        let empty = api.get("/api/v1/conversations", Some(&b)).await;
        assert_eq!(empty.status, 200, "{}", empty.json);
        assert_eq!(empty.json, json!([]));

        // alice writes to bob and carol: one unread conversation each for
        // them, a read one for her, naming the others.
        let first = post(
            a.clone(),
            json!({"status": "@bob @carol plan?", "visibility": "direct"}),
        )
        .await;
        let fid = first["id"].as_str().unwrap().to_string();
        let bobs = api.get("/api/v1/conversations", Some(&b)).await.json;
        assert_eq!(bobs.as_array().unwrap().len(), 1, "{bobs}");
        assert_eq!(bobs[0]["unread"], true);
        assert_eq!(account_names(&bobs[0]), vec!["alice", "carol"]);
        assert_eq!(bobs[0]["last_status"]["id"], fid.as_str());
        assert_eq!(bobs[0]["last_status"]["visibility"], "direct");
        let alices = api.get("/api/v1/conversations", Some(&a)).await.json;
        assert_eq!(alices[0]["unread"], false);
        assert_eq!(account_names(&alices[0]), vec!["bob", "carol"]);
        let carols = api.get("/api/v1/conversations", Some(&c)).await.json;
        assert_eq!(account_names(&carols[0]), vec!["alice", "bob"]);

        // bob answers everyone in the thread: the same conversations move on;
        // his is read, alice's unread again.
        let reply = post(
            b.clone(),
            json!({"status": "@alice @carol tuesday", "visibility": "direct", "in_reply_to_id": fid}),
        )
        .await;
        let rid = reply["id"].as_str().unwrap().to_string();
        let bobs2 = api.get("/api/v1/conversations", Some(&b)).await.json;
        assert_eq!(ids(&bobs2), ids(&bobs), "same conversation");
        assert_eq!(bobs2[0]["last_status"]["id"], rid.as_str());
        assert_eq!(bobs2[0]["unread"], false);
        let alices2 = api.get("/api/v1/conversations", Some(&a)).await.json;
        assert_eq!(ids(&alices2), ids(&alices));
        assert_eq!(alices2[0]["unread"], true);

        // A reply to alice alone is another conversation (other people).
        let aside = post(
            b.clone(),
            json!({"status": "@alice just you", "visibility": "direct", "in_reply_to_id": fid}),
        )
        .await;
        let alices3 = api.get("/api/v1/conversations", Some(&a)).await.json;
        assert_eq!(alices3.as_array().unwrap().len(), 2, "{alices3}");
        assert_eq!(alices3[0]["last_status"]["id"], aside["id"]);
        assert_eq!(account_names(&alices3[0]), vec!["bob"]);
        // carol was not addressed: still one.
        let carols2 = api.get("/api/v1/conversations", Some(&c)).await.json;
        assert_eq!(carols2.as_array().unwrap().len(), 1);

        // Paging by the latest post: limit 1, then the Link's max_id.
        let page = api.get("/api/v1/conversations?limit=1", Some(&a)).await;
        assert_eq!(ids(&page.json), vec![ids(&alices3)[0].clone()]);
        let link = page.headers["link"].to_str().unwrap().to_string();
        let next = link
            .split(['<', '>'])
            .find(|p| p.contains("max_id="))
            .unwrap()
            .split("/api/v1/")
            .nth(1)
            .unwrap()
            .to_string();
        let page2 = api.get(&format!("/api/v1/{next}"), Some(&a)).await.json;
        assert_eq!(ids(&page2), vec![ids(&alices3)[1].clone()]);

        // Read, then removed from the list; only the owner can do either.
        let cid = ids(&alices3)[1].clone();
        let read_path = format!("/api/v1/conversations/{cid}/read");
        assert_error(&api.post(&read_path, Some(&b), B::None).await, 404);
        assert_error(&api.post(&read_path, Some(&ro), B::None).await, 403);
        let read = api.ok(&read_path, &a, B::None).await;
        assert_eq!(read["unread"], false);
        assert_eq!(read["id"], cid.as_str());
        let del = api
            .call(
                Method::DELETE,
                &format!("/api/v1/conversations/{cid}"),
                Some(&a),
                B::None,
            )
            .await;
        assert_eq!(del.status, 200, "{}", del.json);
        assert_eq!(
            ids(&api.get("/api/v1/conversations", Some(&a)).await.json),
            vec![ids(&alices3)[0].clone()]
        );
        assert_error(&api.post(&read_path, Some(&a), B::None).await, 404);
        // bob still has his.
        assert_eq!(
            api.get("/api/v1/conversations", Some(&b))
                .await
                .json
                .as_array()
                .unwrap()
                .len(),
            2
        );

        // Deleting the latest post falls back to the one before; deleting
        // the only one removes the conversation.
        let del = api
            .call(
                Method::DELETE,
                &format!("/api/v1/statuses/{rid}"),
                Some(&b),
                B::None,
            )
            .await;
        assert_eq!(del.status, 200, "{}", del.json);
        let carols3 = api.get("/api/v1/conversations", Some(&c)).await.json;
        assert_eq!(carols3[0]["last_status"]["id"], fid.as_str());
        let aid = aside["id"].as_str().unwrap();
        api.call(
            Method::DELETE,
            &format!("/api/v1/statuses/{aid}"),
            Some(&b),
            B::None,
        )
        .await;
        assert_eq!(
            api.get("/api/v1/conversations", Some(&b))
                .await
                .json
                .as_array()
                .unwrap()
                .len(),
            1
        );
        assert_error(&api.get("/api/v1/conversations", None).await, 401);
    }
);
