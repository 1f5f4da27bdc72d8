//! The streaming API over real sockets: WebSocket and SSE clients get the
//! events their timelines would show, in order, and nothing else.

use std::net::SocketAddr;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{self, Message};

use crate::both_backends;
use crate::common::{Backend, TestDb};
use crate::support::{Api, B};

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// An event as a client reads it: `payload` decoded (JSON, or the id of a
/// deletion).
#[derive(Debug, Clone)]
struct Ev {
    stream: Vec<String>,
    event: String,
    payload: Value,
}

fn decode(event: &str, stream: Vec<String>, data: Option<&str>) -> Ev {
    let payload = match (event, data) {
        ("delete" | "announcement.delete", Some(d)) => Value::String(d.to_string()),
        (_, Some(d)) => serde_json::from_str(d).unwrap_or_else(|_| panic!("payload: {d}")),
        (_, None) => Value::Null,
    };
    Ev {
        stream,
        event: event.to_string(),
        payload,
    }
}

struct Ws(Socket);

impl Ws {
    async fn open(addr: SocketAddr, query: &str) -> Ws {
        Ws::try_open(addr, query, None).await.unwrap()
    }

    async fn try_open(
        addr: SocketAddr,
        query: &str,
        protocol: Option<&str>,
    ) -> Result<Ws, tungstenite::Error> {
        let mut req = format!("ws://{addr}/api/v1/streaming?{query}")
            .into_client_request()
            .unwrap();
        if let Some(p) = protocol {
            req.headers_mut()
                .insert("sec-websocket-protocol", p.parse().unwrap());
        }
        let (socket, _) = tokio_tungstenite::connect_async(req).await?;
        Ok(Ws(socket))
    }

    /// The next text message as JSON.
    async fn message(&mut self, within: Duration) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let m = tokio::time::timeout_at(deadline, self.0.next())
                .await
                .ok()?;
            match m {
                Some(Ok(Message::Text(t))) => return Some(serde_json::from_str(&t).unwrap()),
                Some(Ok(_)) => continue,
                other => panic!("socket ended: {other:?}"),
            }
        }
    }

    async fn next(&mut self) -> Ev {
        let m = self
            .message(Duration::from_secs(10))
            .await
            .expect("an event within 10 s");
        assert!(m.get("error").is_none(), "error message: {m}");
        let stream = m["stream"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_string())
            .collect();
        decode(m["event"].as_str().unwrap(), stream, m["payload"].as_str())
    }

    async fn send(&mut self, v: Value) {
        self.0
            .send(Message::Text(v.to_string().into()))
            .await
            .unwrap();
    }
}

/// Reads Mastodon's SSE framing from a streaming HTTP response.
struct Sse {
    res: reqwest::Response,
    buf: String,
}

impl Sse {
    async fn open(addr: SocketAddr, path: &str, token: &str) -> Result<Sse, (u16, Value)> {
        let res = reqwest::Client::new()
            .get(format!("http://{addr}{path}"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        if !res.status().is_success() {
            let status = res.status().as_u16();
            return Err((status, res.json().await.unwrap_or(Value::Null)));
        }
        assert_eq!(
            res.headers()["content-type"].to_str().unwrap(),
            "text/event-stream"
        );
        Ok(Sse {
            res,
            buf: String::new(),
        })
    }

    async fn next(&mut self) -> Ev {
        loop {
            if let Some(end) = self.buf.find("\n\n") {
                let frame: String = self.buf.drain(..end + 2).collect();
                let mut event = None;
                let mut data = None;
                for line in frame.lines() {
                    if let Some(e) = line.strip_prefix("event:") {
                        event = Some(e.trim().to_string());
                    } else if let Some(d) = line.strip_prefix("data:") {
                        data = Some(d.trim_start().to_string());
                    }
                }
                // Comment-only frames are heartbeats.
                if let Some(e) = event {
                    return decode(&e, Vec::new(), data.as_deref());
                }
                continue;
            }
            let chunk = tokio::time::timeout(Duration::from_secs(10), self.res.chunk())
                .await
                .expect("an event within 10 s")
                .unwrap()
                .expect("stream still open");
            self.buf.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    }
}

async fn post(api: &Api, token: &str, body: Value) -> String {
    api.ok("/api/v1/statuses", token, B::Json(body)).await["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// The REST rendering of a status for `token`, to compare payloads with.
async fn rest_status(api: &Api, id: &str, token: &str) -> Value {
    let r = api
        .get(&format!("/api/v1/statuses/{id}"), Some(token))
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.json);
    r.json
}

both_backends!(websocket_user_stream, |tdb: TestDb| async move {
    let api = Api::new(tdb).await;
    let addr = api.serve().await;
    let (_alice, a) = api.user("alice", "read write follow").await;
    let (bob, b) = api.user("bob", "read write follow").await;
    let (_carol, c) = api.user("carol", "read write follow").await;
    api.ok(&format!("/api/v1/accounts/{}/follow", bob.id), &a, B::None)
        .await;

    let mut ws = Ws::open(addr, &format!("stream=user&access_token={a}")).await;
    let one = post(&api, &b, json!({"status": "one"})).await;
    let e = ws.next().await;
    assert_eq!(
        (e.event.as_str(), e.stream.clone()),
        ("update", vec!["user".to_string()])
    );
    assert_eq!(e.payload["id"], one);
    // Not followed, and not public to alice: never on her stream, so the
    // next event is bob's.
    post(
        &api,
        &c,
        json!({"status": "carol's secret", "visibility": "private"}),
    )
    .await;
    post(&api, &c, json!({"status": "carol in public"})).await;
    let two = post(&api, &b, json!({"status": "two", "visibility": "private"})).await;
    let e = ws.next().await;
    assert_eq!(
        (e.event.as_str(), e.payload["id"].as_str()),
        ("update", Some(two.as_str()))
    );
    assert_eq!(e.payload, rest_status(&api, &two, &a).await);
    let mine = post(&api, &a, json!({"status": "mine"})).await;
    let e = ws.next().await;
    assert_eq!(
        (e.event.as_str(), e.payload["id"].as_str()),
        ("update", Some(mine.as_str()))
    );
    api.ok(&format!("/api/v1/statuses/{mine}/favourite"), &b, B::None)
        .await;
    let n = ws.next().await;
    assert_eq!(n.event, "notification");
    assert_eq!(n.payload["type"], "favourite");
    assert_eq!(n.payload["account"]["id"], bob.id.to_string());
    assert_eq!(n.payload["status"]["id"], mine);
    let r = api
        .call(
            axum::http::Method::PUT,
            &format!("/api/v1/statuses/{one}"),
            Some(&b),
            B::Json(json!({"status": "one, edited"})),
        )
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.json);
    let u = ws.next().await;
    assert_eq!(u.event, "status.update");
    assert_eq!(u.payload["id"], one);
    assert!(u.payload["content"].as_str().unwrap().contains("edited"));
    // The payload is the REST entity, field for field, for this viewer.
    assert_eq!(u.payload, rest_status(&api, &one, &a).await);
    let r = api
        .call(
            axum::http::Method::DELETE,
            &format!("/api/v1/statuses/{two}"),
            Some(&b),
            B::None,
        )
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.json);
    let d = ws.next().await;
    assert_eq!(
        (d.event.as_str(), d.payload.as_str()),
        ("delete", Some(two.as_str()))
    );
    assert!(
        ws.message(Duration::from_millis(300)).await.is_none(),
        "nothing else (carol's posts stay off alice's home stream)"
    );
});

both_backends!(websocket_subscriptions, |tdb: TestDb| async move {
    let api = Api::new(tdb).await;
    let addr = api.serve().await;
    let (_alice, a) = api.user("alice", "read write follow").await;
    let (bob, b) = api.user("bob", "read write follow").await;
    let (_carol, c) = api.user("carol", "read write follow").await;
    api.ok(&format!("/api/v1/accounts/{}/follow", bob.id), &a, B::None)
        .await;
    let list = api
        .ok("/api/v1/lists", &a, B::Json(json!({"title": "team"})))
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    api.ok(
        &format!("/api/v1/lists/{list}/accounts"),
        &a,
        B::Json(json!({"account_ids": [bob.id.to_string()]})),
    )
    .await;
    let carols_list = api
        .ok("/api/v1/lists", &c, B::Json(json!({"title": "mine"})))
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();

    // The token as the WebSocket subprotocol, as browsers send it.
    let mut ws = Ws::try_open(addr, "", Some(&a)).await.unwrap();
    ws.send(json!({"type": "subscribe", "stream": "public:local"}))
        .await;
    ws.send(json!({"type": "subscribe", "stream": "hashtag", "tag": "Ops"}))
        .await;
    ws.send(json!({"type": "subscribe", "stream": "list", "list": list}))
        .await;
    // Also a barrier: the subscriptions above are in place once it answers.
    ws.send(json!({"type": "subscribe", "stream": "nonsense"}))
        .await;
    let err = ws.message(Duration::from_secs(10)).await.unwrap();
    assert_eq!(err["status"], 400, "{err}");
    assert!(err["error"].is_string());
    ws.send(json!({"type": "subscribe", "stream": "list", "list": carols_list}))
        .await;
    let err = ws.message(Duration::from_secs(10)).await.unwrap();
    assert_eq!(err["status"], 401, "{err}");

    let tagged = post(&api, &b, json!({"status": "deploy at noon #ops"})).await;
    let mut got: Vec<Vec<String>> = Vec::new();
    for _ in 0..3 {
        let e = ws.next().await;
        assert_eq!(
            (e.event.as_str(), e.payload["id"].as_str()),
            ("update", Some(tagged.as_str()))
        );
        got.push(e.stream);
    }
    got.sort();
    assert_eq!(
        got,
        vec![
            vec!["hashtag".to_string(), "ops".to_string()],
            vec!["list".to_string(), list.clone()],
            vec!["public:local".to_string()],
        ]
    );
    // Unlisted: on the list, not on public or tag streams.
    let quiet = post(
        &api,
        &b,
        json!({"status": "quiet #ops", "visibility": "unlisted"}),
    )
    .await;
    let e = ws.next().await;
    assert_eq!(e.stream, vec!["list".to_string(), list.clone()]);
    assert_eq!(e.payload["id"], quiet);
    ws.send(json!({"type": "unsubscribe", "stream": "list", "list": list}))
        .await;
    ws.send(json!({"type": "unsubscribe", "stream": "hashtag", "tag": "ops"}))
        .await;
    // Messages are handled in order: the error answer means both are done.
    ws.send(json!({"type": "ping"})).await;
    assert!(ws.message(Duration::from_secs(10)).await.unwrap()["error"].is_string());
    let last = post(&api, &b, json!({"status": "still public #ops"})).await;
    let e = ws.next().await;
    assert_eq!(e.stream, vec!["public:local".to_string()]);
    assert_eq!(e.payload["id"], last);
    assert!(ws.message(Duration::from_millis(300)).await.is_none());

    // Refusals happen before the upgrade, as HTTP errors.
    let (_, write_only) = api.user("writer", "write").await;
    for (query, status) in [
        ("stream=user".to_string(), 401),
        ("stream=user&access_token=wrong".to_string(), 401),
        (format!("stream=user&access_token={write_only}"), 401),
        (format!("stream=bogus&access_token={a}"), 400),
        (
            format!("stream=list&list={carols_list}&access_token={a}"),
            401,
        ),
    ] {
        match Ws::try_open(addr, &query, None).await {
            Err(tungstenite::Error::Http(res)) => {
                assert_eq!(res.status().as_u16(), status, "{query}");
                let body: Value = serde_json::from_slice(res.body().as_deref().unwrap()).unwrap();
                assert!(body["error"].is_string(), "{query}: {body}");
            }
            other => panic!(
                "{query}: expected an HTTP error, got {:?}",
                other.map(|_| ())
            ),
        }
    }
});

both_backends!(sse_streams, |tdb: TestDb| async move {
    let api = Api::new(tdb).await;
    let addr = api.serve().await;
    let (alice, a) = api.user("alice", "read write follow").await;
    let (bob, b) = api.user("bob", "read write follow").await;

    let r = reqwest::get(format!("http://{addr}/api/v1/streaming/health"))
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.text().await.unwrap(), "OK");

    let mut notes = Sse::open(addr, "/api/v1/streaming/user/notification", &a)
        .await
        .unwrap();
    let mut public = Sse::open(addr, "/api/v1/streaming/public/local", &a)
        .await
        .unwrap();
    api.ok(
        &format!("/api/v1/accounts/{}/follow", alice.id),
        &b,
        B::None,
    )
    .await;
    post(
        &api,
        &b,
        json!({"status": "for followers", "visibility": "private"}),
    )
    .await;
    post(
        &api,
        &b,
        json!({"status": "unlisted", "visibility": "unlisted"}),
    )
    .await;
    let open = post(&api, &b, json!({"status": "in the open"})).await;

    let n = notes.next().await;
    assert_eq!(n.event, "notification");
    assert_eq!(n.payload["type"], "follow");
    assert_eq!(n.payload["account"]["id"], bob.id.to_string());
    // Only the public post: private and unlisted never reach public streams.
    let e = public.next().await;
    assert_eq!(
        (e.event.as_str(), e.payload["id"].as_str()),
        ("update", Some(open.as_str()))
    );
    assert_eq!(e.payload, rest_status(&api, &open, &a).await);

    // Direct messages: the `direct` stream carries alice's conversation as
    // REST shows it, and nothing else (the public post before it).
    let mut direct = Sse::open(addr, "/api/v1/streaming/direct", &a)
        .await
        .unwrap();
    post(&api, &b, json!({"status": "public again"})).await;
    let dm = post(
        &api,
        &b,
        json!({"status": "@alice psst", "visibility": "direct"}),
    )
    .await;
    let e = direct.next().await;
    assert_eq!(e.event, "conversation");
    assert_eq!(e.payload["last_status"]["id"], dm.as_str());
    let rest = api.get("/api/v1/conversations", Some(&a)).await.json;
    assert_eq!(e.payload, rest[0]);

    for (path, status) in [
        ("/api/v1/streaming/nowhere", 404),
        ("/api/v1/streaming/hashtag", 400),
    ] {
        let (got, body) = Sse::open(addr, path, &a).await.err().expect(path);
        assert_eq!(got, status, "{path}");
        assert!(body["error"].is_string(), "{path}: {body}");
    }
    let (_, no_notifications) = api.user("reader", "read:statuses").await;
    let (got, _) = Sse::open(
        addr,
        "/api/v1/streaming/user/notification",
        &no_notifications,
    )
    .await
    .err()
    .expect("scope enforced");
    assert_eq!(got, 401);
});

both_backends!(connections_per_user_are_limited, |tdb: TestDb| async move {
    let api = Api::with_config(tdb, |c| meetfield::config::Config {
        streaming_connections_per_user: 2,
        ..c
    })
    .await;
    let addr = api.serve().await;
    let (_alice, a) = api.user("alice", "read").await;
    let first = Sse::open(addr, "/api/v1/streaming/user", &a).await.unwrap();
    let _second = Ws::open(addr, &format!("stream=user&access_token={a}")).await;
    let (status, body) = Sse::open(addr, "/api/v1/streaming/user", &a)
        .await
        .err()
        .expect("third refused");
    assert_eq!(status, 429, "{body}");
    drop(first);
    // The server notices the closed connection on its next write at the
    // latest; a few tries cover that.
    let mut ok = false;
    for _ in 0..50 {
        if Sse::open(addr, "/api/v1/streaming/user", &a).await.is_ok() {
            ok = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ok, "a closed connection frees its slot");
});

/// Two nodes on one PostgreSQL database: events committed through one
/// reach clients of the other (LISTEN/NOTIFY).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_cross_nodes_on_postgres() {
    let tdb = TestDb::new(Backend::Postgres);
    let second_db = tdb.open().await;
    let config = tdb.config();
    let one = Api::new(tdb).await;
    let two = meetfield::app::App::new(
        meetfield::config::Config {
            domain: "api.localhost:8080".into(),
            ..config
        },
        second_db,
    )
    .await
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr_two = listener.local_addr().unwrap();
    let router = two.router();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let addr_one = one.serve().await;

    let (alice, a) = one.user("alice", "read write follow").await;
    let (bob, b) = one.user("bob", "read write follow").await;
    one.ok(&format!("/api/v1/accounts/{}/follow", bob.id), &a, B::None)
        .await;
    // alice listens on node two; bob writes through node one.
    let mut ws = Ws::open(addr_two, &format!("stream=user&access_token={a}")).await;
    let mut sse = Sse::open(addr_one, "/api/v1/streaming/user", &b)
        .await
        .unwrap();
    let id = post(&one, &b, json!({"status": "across nodes"})).await;
    let e = ws.next().await;
    assert_eq!(
        (e.event.as_str(), e.payload["id"].as_str()),
        ("update", Some(id.as_str()))
    );
    let own = sse.next().await;
    assert_eq!(own.payload["id"], id);
    one.ok(&format!("/api/v1/statuses/{id}/favourite"), &a, B::None)
        .await;
    let n = sse.next().await;
    assert_eq!(n.event, "notification");
    assert_eq!(n.payload["account"]["id"], alice.id.to_string());

    // The database drops the nodes' LISTEN connections (a restart, a
    // failover): they reconnect and events flow again.
    let killed: i64 = one
        .app
        .state
        .db
        .run(|c| {
            use diesel::RunQueryDsl;
            let meetfield::db::DbConn::Postgres(pg) = c else {
                unreachable!("a PostgreSQL test")
            };
            #[derive(diesel::QueryableByName)]
            struct N {
                #[diesel(sql_type = diesel::sql_types::BigInt)]
                n: i64,
            }
            diesel::sql_query(
                "SELECT count(pg_terminate_backend(pid)) AS n FROM pg_stat_activity \
                 WHERE query = 'LISTEN meetfield_' || md5(current_schema())",
            )
            .get_result::<N>(pg)
            .map(|r| r.n)
            .map_err(meetfield::error::AppError::from)
        })
        .await
        .unwrap();
    assert_eq!(killed, 2, "both nodes listened");
    let mut again = None;
    for i in 0..50 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let id = post(&one, &b, json!({"status": format!("after the drop {i}")})).await;
        if let Some(m) = ws.message(Duration::from_millis(300)).await {
            assert!(m.get("error").is_none(), "{m}");
            again = Some((id, m));
            break;
        }
    }
    let (id, m) = again.expect("events flow again after the reconnect");
    let payload: Value = serde_json::from_str(m["payload"].as_str().unwrap()).unwrap();
    assert_eq!(payload["id"], id);
}

// The batched audience and rendering the dispatcher uses agree with the
// REST timelines and entities, viewer by viewer, across follows with and
// without boosts, mutes, blocks, exclusive lists, direct messages, polls,
// favourites, bookmarks, pins and filters.
both_backends!(batched_streaming_matches_rest, |tdb: TestDb| async move {
    use meetfield::domain::timelines::{self, Page};
    let api = Api::new(tdb).await;
    let (alice, a) = api.user("alice", "read write follow").await;
    let (carol, c) = api.user("carol", "read write follow").await;
    let mut viewers = Vec::new();
    for i in 0..6 {
        viewers.push(api.user(&format!("v{i}"), "read write follow").await);
    }
    let follow = |t: &str, id: i64, body: Value| {
        let (api, t) = (&api, t.to_string());
        async move {
            api.ok(&format!("/api/v1/accounts/{id}/follow"), &t, B::Json(body))
                .await;
        }
    };
    for (_, t) in &viewers[0..5] {
        follow(t, alice.id, json!({})).await;
    }
    follow(&viewers[1].1, alice.id, json!({"reblogs": false})).await;
    api.ok(
        &format!("/api/v1/accounts/{}/mute", alice.id),
        &viewers[2].1,
        B::None,
    )
    .await;
    let list = api
        .ok(
            "/api/v1/lists",
            &viewers[3].1,
            B::Json(json!({"title": "x", "exclusive": true})),
        )
        .await;
    api.ok(
        &format!("/api/v1/lists/{}/accounts", list["id"].as_str().unwrap()),
        &viewers[3].1,
        B::Json(json!({"account_ids": [alice.id.to_string()]})),
    )
    .await;
    api.ok(
        &format!("/api/v1/accounts/{}/block", carol.id),
        &viewers[4].1,
        B::None,
    )
    .await;
    api.ok(
        "/api/v2/filters",
        &viewers[0].1,
        B::Json(json!({"title": "f", "context": ["home"], "keywords_attributes": [{"keyword": "meeting"}]})),
    )
    .await;

    // Followed tags: v5 follows nobody, v2 mutes alice, v4 blocks carol.
    for i in [2, 4, 5] {
        api.ok("/api/v1/tags/ops/follow", &viewers[i].1, B::None)
            .await;
    }
    let carols = api
        .ok(
            "/api/v1/statuses",
            &c,
            B::Json(json!({"status": "carol's news"})),
        )
        .await;
    let tagged = [
        api.ok(
            "/api/v1/statuses",
            &a,
            B::Json(json!({"status": "alice #ops"})),
        )
        .await,
        api.ok(
            "/api/v1/statuses",
            &c,
            B::Json(json!({"status": "carol #ops"})),
        )
        .await,
        api.ok(
            "/api/v1/statuses",
            &c,
            B::Json(json!({"status": "carol #ops private", "visibility": "private"})),
        )
        .await,
        api.ok(
            "/api/v1/statuses",
            &c,
            B::Json(json!({"status": "carol #ops local", "visibility": "local"})),
        )
        .await,
        api.ok(
            "/api/v1/statuses",
            &c,
            B::Json(json!({"status": "carol #ops unlisted", "visibility": "unlisted"})),
        )
        .await,
    ];
    let mut posts = vec![
        api.ok("/api/v1/statuses", &a, B::Json(json!({"status": "public meeting", "poll": {"options": ["a", "b"], "expires_in": 600}}))).await,
        api.ok("/api/v1/statuses", &a, B::Json(json!({"status": "followers only", "visibility": "private"}))).await,
        api.ok("/api/v1/statuses", &a, B::Json(json!({"status": "@v5 just you", "visibility": "direct"}))).await,
        api.ok("/api/v1/statuses", &a, B::Json(json!({"status": "local only", "visibility": "local"}))).await,
        api.ok(&format!("/api/v1/statuses/{}/reblog", carols["id"].as_str().unwrap()), &a, B::None).await,
        carols.clone(),
    ];
    posts.extend(tagged);
    let first = posts[0]["id"].as_str().unwrap().to_string();
    api.ok(
        &format!("/api/v1/statuses/{first}/favourite"),
        &viewers[0].1,
        B::None,
    )
    .await;
    api.ok(
        &format!("/api/v1/statuses/{first}/bookmark"),
        &viewers[0].1,
        B::None,
    )
    .await;
    api.ok(&format!("/api/v1/statuses/{first}/pin"), &a, B::None)
        .await;
    let poll = posts[0]["poll"]["id"].as_str().unwrap();
    api.ok(
        &format!("/api/v1/polls/{poll}/votes"),
        &viewers[0].1,
        B::Json(json!({"choices": [1]})),
    )
    .await;
    posts.push(
        api.ok(
            &format!("/api/v1/statuses/{first}/reblog"),
            &viewers[5].1,
            B::None,
        )
        .await,
    );

    let mut ids: Vec<i64> = viewers.iter().map(|(v, _)| v.id).collect();
    ids.extend([alice.id, carol.id]);
    let ctx = meetfield::api::mastodon::ctx(&api.app.state);
    for p in &posts {
        let sid: i64 = p["id"].as_str().unwrap().parse().unwrap();
        let (ids, ctx) = (ids.clone(), ctx.clone());
        let mismatches: Vec<String> = api
            .app
            .state
            .db
            .run(move |c| {
                let s = meetfield::db::models::Status::by_id(c, sid)?;
                let only = Page {
                    max_id: Some(sid + 1),
                    since_id: Some(sid - 1),
                    min_id: None,
                    limit: 1,
                };
                let mut bad = Vec::new();
                let home = timelines::home_audience(c, &s, &ids)?;
                let rendered =
                    meetfield::api::mastodon::entities::status_for_viewers(c, &ctx, &s, &ids)?;
                for v in &ids {
                    let account = meetfield::db::models::Account::by_id(c, *v)?;
                    let rest = !timelines::home(c, &account, only)?.is_empty();
                    if rest != home.contains(v) {
                        bad.push(format!(
                            "home of {} for {}: REST {rest}",
                            account.username, s.content
                        ));
                    }
                    for (local, remote) in [(false, false), (true, false), (false, true)] {
                        let rest =
                            !timelines::public(c, Some(&account), local, remote, only)?.is_empty();
                        let batch =
                            timelines::public_audience(c, &s, &[*v], local, remote)?.contains(v);
                        if rest != batch {
                            bad.push(format!(
                                "public {local}/{remote} of {} for {}",
                                account.username, s.content
                            ));
                        }
                    }
                    let one = meetfield::api::mastodon::entities::status(c, &ctx, &s, Some(*v))?;
                    if one != rendered[v] {
                        bad.push(format!(
                            "render for {}: {one} vs {}",
                            account.username, rendered[v]
                        ));
                    }
                }
                Ok::<_, meetfield::error::AppError>(bad)
            })
            .await
            .unwrap();
        assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
    }
});

both_backends!(idle_connections_get_heartbeats, |tdb: TestDb| async move {
    let api = Api::with_config(tdb, |c| meetfield::config::Config {
        streaming_heartbeat_secs: 1,
        ..c
    })
    .await;
    let addr = api.serve().await;
    let (_alice, a) = api.user("alice", "read").await;
    let mut ws = Ws::open(addr, &format!("stream=user&access_token={a}")).await;
    let ping = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match ws.0.next().await {
                Some(Ok(Message::Ping(_))) => return,
                Some(Ok(_)) => continue,
                other => panic!("socket ended: {other:?}"),
            }
        }
    })
    .await;
    assert!(ping.is_ok(), "a WebSocket ping within 5 s");
    let mut sse = Sse::open(addr, "/api/v1/streaming/user", &a).await.unwrap();
    let chunk = tokio::time::timeout(Duration::from_secs(5), sse.res.chunk())
        .await
        .expect("a heartbeat within 5 s")
        .unwrap()
        .unwrap();
    // An SSE comment line: ignored by clients, keeps the connection alive.
    let text = String::from_utf8_lossy(&chunk);
    assert!(text.starts_with(':') && text.contains("thump"), "{chunk:?}");
    sse.buf.clear();
});

both_backends!(
    deactivation_closes_streams_at_once,
    |tdb: TestDb| async move {
        let api = Api::new(tdb).await;
        let addr = api.serve().await;
        let (alice, a) = api.user("alice", "read write").await;
        let (_bob, b) = api.user("bob", "read write").await;
        let mut ws = Ws::open(addr, &format!("stream=user&access_token={a}")).await;
        let mut other = Ws::open(addr, &format!("stream=user&access_token={b}")).await;
        let first = post(&api, &a, json!({"status": "before"})).await;
        assert_eq!(ws.next().await.payload["id"], first);
        let user_id = {
            use diesel::prelude::*;
            let aid = alice.id;
            api.app
                .state
                .db
                .run(move |c| {
                    meetfield::db::schema::users::table
                        .filter(meetfield::db::schema::users::account_id.eq(aid))
                        .select(meetfield::db::schema::users::id)
                        .first::<i64>(c)
                        .map_err(meetfield::error::AppError::from)
                })
                .await
                .unwrap()
        };
        meetfield::sso::deactivate(&api.app.state, user_id)
            .await
            .unwrap();
        // The socket ends (no waiting for the token's next use).
        let ended = tokio::time::timeout(Duration::from_secs(5), async {
            loop {
                match ws.0.next().await {
                    Some(Ok(Message::Text(t))) => panic!("an event after deactivation: {t}"),
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                    Some(Ok(_)) => continue,
                }
            }
        })
        .await;
        assert!(ended.is_ok(), "the stream stayed open");
        let r = api
            .get("/api/v1/accounts/verify_credentials", Some(&a))
            .await;
        assert_eq!(r.status, 401, "{}", r.json);
        assert!(
            Ws::try_open(addr, &format!("stream=user&access_token={a}"), None)
                .await
                .is_err()
        );
        // Others keep theirs.
        let theirs = post(&api, &b, json!({"status": "bob goes on"})).await;
        assert_eq!(other.next().await.payload["id"], theirs);
    }
);

both_backends!(announcements_reach_user_streams, |tdb: TestDb| async move {
    use meetfield::db::models::Role;
    use meetfield::domain::announcements::{self as ann, Draft, Site};
    let api = Api::new(tdb).await;
    let addr = api.serve().await;
    let (_boss, admin) = api
        .user_with_role("boss", Role::Admin, "read write admin:write")
        .await;
    let (_alice, a) = api.user("alice", "read write").await;
    let (_bob, b) = api.user("bob", "read write").await;
    let mut ws = Ws::open(addr, &format!("stream=user&access_token={a}")).await;
    let mut notes = Ws::open(addr, &format!("stream=user:notification&access_token={a}")).await;

    let created = api
        .ok(
            "/api/v1/admin/announcements",
            &admin,
            B::Json(json!({"text": "Office closed on Friday"})),
        )
        .await;
    let id = created["id"].as_str().unwrap().to_string();
    let e = ws.next().await;
    assert_eq!(
        (e.event.as_str(), e.stream.clone()),
        ("announcement", vec!["user".to_string()])
    );
    assert_eq!(e.payload["id"], id);
    assert_eq!(e.payload["read"], false);
    assert_eq!(e.payload["content"], "<p>Office closed on Friday</p>");

    let r = api
        .call(
            axum::http::Method::PUT,
            &format!("/api/v1/announcements/{id}/reactions/🎉"),
            Some(&b),
            B::None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    let e = ws.next().await;
    assert_eq!(e.event, "announcement.reaction");
    assert_eq!(
        e.payload,
        json!({"name": "🎉", "count": 1, "announcement_id": id})
    );

    // Written by another process (the CLI on SQLite): the workers' flush
    // tells the streams.
    let site = Site {
        base: api.app.state.base_url(),
        domain: api.app.state.config.domain.clone(),
    };
    let other = api
        .app
        .state
        .db
        .transaction(move |c| {
            ann::create(
                c,
                &site,
                None,
                Draft {
                    text: Some("from the CLI".into()),
                    ..Default::default()
                },
            )
        })
        .await
        .unwrap();
    assert!(
        ws.message(Duration::from_millis(300)).await.is_none(),
        "not told yet"
    );
    let told = api
        .app
        .state
        .db
        .transaction(|c| ann::flush(c).map_err(meetfield::error::AppError::from))
        .await
        .unwrap();
    assert_eq!(told, 1);
    let e = ws.next().await;
    assert_eq!(
        (e.event.as_str(), e.payload["id"].clone()),
        ("announcement", json!(other.id.to_string()))
    );

    let r = api
        .call(
            axum::http::Method::DELETE,
            &format!("/api/v1/admin/announcements/{id}"),
            Some(&admin),
            B::None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    let e = ws.next().await;
    assert_eq!(
        (e.event.as_str(), e.payload.clone()),
        ("announcement.delete", json!(id))
    );
    assert!(
        notes.message(Duration::from_millis(200)).await.is_none(),
        "announcements ride on `user` only"
    );
});
