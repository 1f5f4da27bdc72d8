//! The HTTP skeleton in-process: health, JSON errors, body limits, shutdown.

mod common;

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::routing::get;
use common::TestDb;
use http_body_util::BodyExt;
use meetfield::app::{App, AppState, router};
use meetfield::config::{Config, DatabaseUrl};
use meetfield::db::{Db, DbOptions};
use tower::ServiceExt;

async fn call(app: Router, req: Request<Body>) -> (StatusCode, serde_json::Value) {
    let res = app.oneshot(req).await.unwrap();
    let status = res.status();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    let json = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&bytes)));
    (status, json)
}

async fn full_app(config: Config, db: Db) -> Router {
    App::new(config, db).await.unwrap().router()
}

fn get_req(path: &str) -> Request<Body> {
    Request::get(path).body(Body::empty()).unwrap()
}

both_backends!(health_ok_when_database_answers, |tdb: TestDb| async move {
    let db = tdb.open().await;
    let app = full_app(tdb.config(), db).await;
    let (status, body) = call(app, get_req("/health")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "ok");
});

async fn health_of_unreachable(url: DatabaseUrl) {
    let db = Db::connect_lazy(
        &url,
        DbOptions {
            pool_size: 1,
            timeout: Duration::from_millis(500),
        },
    )
    .unwrap();
    let app = router(AppState::new(Config::default(), db), None);
    let (status, body) = call(app, get_req("/health")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["status"], "unavailable");
}

#[tokio::test]
async fn health_503_when_postgres_is_down() {
    // Nothing listens on port 1.
    health_of_unreachable(DatabaseUrl::Postgres(
        "postgres://postgres@127.0.0.1:1/meetfield".into(),
    ))
    .await;
}

#[tokio::test]
async fn health_503_when_sqlite_file_is_gone() {
    let dir = tempfile::tempdir().unwrap();
    // A directory where the database file should be cannot be opened.
    let path = dir.path().join("db");
    std::fs::create_dir(&path).unwrap();
    health_of_unreachable(DatabaseUrl::Sqlite(path)).await;
}

both_backends!(
    health_turns_503_when_database_stops,
    |tdb: TestDb| async move {
        // Up first, then the database disappears under a running app.
        let db = Db::connect(
            &tdb.url,
            DbOptions {
                pool_size: 1,
                timeout: Duration::from_millis(500),
            },
        )
        .await
        .unwrap();
        db.migrate().await.unwrap();
        let app = full_app(tdb.config(), db.clone()).await;
        assert_eq!(
            call(app.clone(), get_req("/health")).await.0,
            StatusCode::OK
        );
        match &tdb.url {
            DatabaseUrl::Sqlite(path) => {
                // Replace the file by a directory: new connections fail.
                drop(db);
                let app_db = Db::connect_lazy(
                    &tdb.url,
                    DbOptions {
                        pool_size: 1,
                        timeout: Duration::from_millis(500),
                    },
                )
                .unwrap();
                std::fs::remove_file(path).unwrap();
                std::fs::create_dir(path).unwrap();
                let app = router(AppState::new(tdb.config(), app_db), None);
                assert_eq!(
                    call(app, get_req("/health")).await.0,
                    StatusCode::SERVICE_UNAVAILABLE
                );
                std::fs::remove_dir(path).unwrap();
            }
            DatabaseUrl::Postgres(_) => {
                // Kill our own backend session: the pooled connection breaks.
                use diesel::RunQueryDsl;
                db.run(|c| {
                    diesel::sql_query("SELECT pg_terminate_backend(pg_backend_pid())")
                        .execute(c)
                        .map(|_| ())
                        .or(Ok::<(), meetfield::db::DbError>(()))
                })
                .await
                .unwrap();
                // The broken connection is found and replaced: health recovers.
                let mut ok = false;
                for _ in 0..5 {
                    if call(app.clone(), get_req("/health")).await.0 == StatusCode::OK {
                        ok = true;
                        break;
                    }
                }
                assert!(ok, "health did not recover after the connection broke");
            }
        }
    }
);

#[tokio::test]
async fn unknown_api_route_is_json_404() {
    let tdb = TestDb::new(common::Backend::Sqlite);
    let db = tdb.open().await;
    let app = full_app(tdb.config(), db).await;
    for path in ["/api/v1/nonexistent", "/api/v2/what/ever", "/nope"] {
        let (status, body) = call(app.clone(), get_req(path)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(body["error"], "Record not found", "{path}");
    }
}

#[tokio::test]
async fn oversized_body_is_413_json() {
    let tdb = TestDb::new(common::Backend::Sqlite);
    let db = tdb.open().await;
    let config = Config {
        max_body_bytes: 2048,
        ..tdb.config()
    };
    let app = full_app(config, db).await;
    let req = Request::post("/api/v1/statuses")
        .header("content-type", "application/json")
        .header("content-length", "4096")
        .body(Body::from(vec![b' '; 4096]))
        .unwrap();
    let (status, body) = call(app, req).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(body["error"], "Request body too large");
}

#[tokio::test]
async fn graceful_shutdown_finishes_in_flight_requests() {
    let tdb = TestDb::new(common::Backend::Sqlite);
    let db = tdb.open().await;
    let app = full_app(tdb.config(), db).await.merge(Router::new().route(
        "/slow",
        get(|| async {
            tokio::time::sleep(Duration::from_millis(800)).await;
            "done"
        }),
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(meetfield::server::serve_until(
        listener,
        app,
        async {
            let _ = stop_rx.await;
        },
        Duration::from_secs(10),
    ));
    let client = reqwest::Client::new();
    let slow = tokio::spawn({
        let client = client.clone();
        async move { client.get(format!("http://{addr}/slow")).send().await }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop_tx.send(()).unwrap();
    // The request that was in flight completes normally.
    let res = slow.await.unwrap().expect("in-flight request answered");
    assert_eq!(res.status(), 200);
    assert_eq!(res.text().await.unwrap(), "done");
    // The server returns after that, and no longer accepts connections.
    tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .expect("server stopped")
        .unwrap()
        .unwrap();
    assert!(
        client
            .get(format!("http://{addr}/health"))
            .send()
            .await
            .is_err()
    );
}

#[tokio::test]
async fn shutdown_grace_period_bounds_the_wait() {
    let tdb = TestDb::new(common::Backend::Sqlite);
    let db = tdb.open().await;
    let app = full_app(tdb.config(), db).await.merge(Router::new().route(
        "/stuck",
        get(|| async {
            tokio::time::sleep(Duration::from_secs(60)).await;
            "never"
        }),
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(meetfield::server::serve_until(
        listener,
        app,
        tokio::time::sleep(Duration::from_millis(300)),
        Duration::from_millis(500),
    ));
    let _stuck = tokio::spawn(async move { reqwest::get(format!("http://{addr}/stuck")).await });
    let started = std::time::Instant::now();
    tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .expect("server gave up on the stuck request")
        .unwrap()
        .unwrap();
    assert!(started.elapsed() < Duration::from_secs(3));
}

both_backends!(
    metrics_for_the_monitoring_system_only,
    |tdb: TestDb| async move {
        let db = tdb.open().await;
        let config = Config {
            metrics_token: "s3cret-metrics".into(),
            ..tdb.config()
        };
        let app = full_app(config, db).await;
        let (status, _) = call(app.clone(), get_req("/health")).await;
        assert_eq!(status, StatusCode::OK);
        // No loopback peer here (oneshot) and no token: refused.
        let (status, body) = call(app.clone(), get_req("/metrics")).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert!(body["error"].is_string());
        let req = Request::get("/metrics")
            .header("authorization", "Bearer wrong")
            .body(Body::empty())
            .unwrap();
        assert_eq!(
            app.clone().oneshot(req).await.unwrap().status(),
            StatusCode::FORBIDDEN
        );
        let req = Request::get("/metrics")
            .header("authorization", "Bearer s3cret-metrics")
            .body(Body::empty())
            .unwrap();
        let res = app.oneshot(req).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert!(
            res.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/openmetrics-text")
        );
        let text = String::from_utf8(res.into_body().collect().await.unwrap().to_bytes().to_vec())
            .unwrap();
        assert!(
            text.contains(
                "meetfield_http_requests_total{method=\"GET\",route=\"/health\",status=\"200\"}"
            ),
            "{text}"
        );
        assert!(
            text.contains("meetfield_queue_rows{queue=\"delivery\",state=\"pending\"} 0"),
            "{text}"
        );
        assert!(text.contains("meetfield_unreachable_hosts 0"), "{text}");
        assert!(text.ends_with("# EOF\n"));
    }
);
