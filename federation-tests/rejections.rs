//! The inbox refuses what it must, with a 4xx and nothing stored; accepts
//! key rotation. Requests are signed by hand here so each can be wrong in
//! exactly one way.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use diesel::prelude::*;
use meetfield::config::FederationMode;
use meetfield::db::models::Account;
use meetfield::db::schema::{accounts, follows};
use rsa::pkcs8::DecodePrivateKey;
use rsa::{Pkcs1v15Sign, RsaPrivateKey};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::common::Backend;
use crate::harness::{Instance, http};
use crate::on_both_backends;

struct Signer<'a> {
    key_id: String,
    private_pem: &'a str,
}

fn digest(body: &[u8]) -> String {
    format!("SHA-256={}", B64.encode(Sha256::digest(body)))
}

fn now_http() -> String {
    httpdate::fmt_http_date(std::time::SystemTime::now())
}

/// A POST to `inbox` signed draft-cavage style over
/// `(request-target) host date digest`, with the given headers.
async fn post(
    inbox: &str,
    body: &[u8],
    signer: Option<&Signer<'_>>,
    date: &str,
    digest_header: &str,
) -> reqwest::Response {
    let url = url::Url::parse(inbox).unwrap();
    let host = format!("{}:{}", url.host_str().unwrap(), url.port().unwrap());
    let mut req = http()
        .post(inbox)
        .header("content-type", "application/activity+json")
        .header("date", date)
        .header("digest", digest_header)
        .body(body.to_vec());
    if let Some(s) = signer {
        let signing_string = format!(
            "(request-target): post {}\nhost: {host}\ndate: {date}\ndigest: {digest_header}",
            url.path()
        );
        let key = RsaPrivateKey::from_pkcs8_pem(s.private_pem).unwrap();
        let sig = key
            .sign(
                Pkcs1v15Sign::new::<Sha256>(),
                &Sha256::digest(signing_string.as_bytes()),
            )
            .unwrap();
        req = req.header(
            "signature",
            format!(
                "keyId=\"{}\",algorithm=\"rsa-sha256\",headers=\"(request-target) host date digest\",signature=\"{}\"",
                s.key_id,
                B64.encode(sig)
            ),
        );
    }
    req.send().await.unwrap()
}

fn follow(id: &str, actor: &str, object: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": id,
        "type": "Follow",
        "actor": actor,
        "object": object,
    }))
    .unwrap()
}

async fn follow_count(i: &Instance) -> i64 {
    i.query(|c| follows::table.count().get_result::<i64>(c))
        .await
}

fn signer(a: &Account) -> Signer<'_> {
    Signer {
        key_id: format!("{}#main-key", a.uri),
        private_pem: a.private_key_pem.as_deref().unwrap(),
    }
}

on_both_backends!(inbox_rejects_bad_requests, |backend: Backend| async move {
    let alpha = Instance::start("alpha", backend, FederationMode::Open).await;
    let beta = Instance::start("beta", backend, FederationMode::Open).await;
    let gamma = Instance::start("gamma", backend, FederationMode::Open).await;
    let alice = alpha.create_user("alice").await;
    let bob = beta.create_user("bob").await;
    let bob2 = beta.create_user("bob2").await;
    let dave = gamma.create_user("dave").await;
    let inbox = format!("{}/inbox", alpha.base);
    let n = std::sync::atomic::AtomicU32::new(0);
    let fresh_id = || {
        format!(
            "{}/activities/t{}",
            beta.base,
            n.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        )
    };

    let check = |what: &'static str, res: reqwest::Response, want: u16| async move {
        let status = res.status().as_u16();
        let body = res.text().await.unwrap();
        assert_eq!(status, want, "{what}: {body}");
        let json: serde_json::Value = serde_json::from_str(&body)
            .unwrap_or_else(|_| panic!("{what}: error body is not JSON: {body}"));
        assert!(json["error"].is_string(), "{what}: {body}");
    };

    // Unsigned.
    let body = follow(&fresh_id(), &bob.uri, &alice.uri);
    check(
        "unsigned",
        post(&inbox, &body, None, &now_http(), &digest(&body)).await,
        400,
    )
    .await;

    // Signed with a key that is not bob's.
    let stranger = meetfield::domain::instance::generate_keypair()
        .await
        .unwrap()
        .1;
    let wrong = Signer {
        key_id: format!("{}#main-key", bob.uri),
        private_pem: &stranger,
    };
    let body = follow(&fresh_id(), &bob.uri, &alice.uri);
    check(
        "wrong key",
        post(&inbox, &body, Some(&wrong), &now_http(), &digest(&body)).await,
        401,
    )
    .await;

    // Signed by an actor of another host, claiming to be bob.
    let body = follow(&fresh_id(), &bob.uri, &alice.uri);
    check(
        "key of another host",
        post(
            &inbox,
            &body,
            Some(&signer(&dave)),
            &now_http(),
            &digest(&body),
        )
        .await,
        401,
    )
    .await;

    // Signed by another actor of the same host.
    let body = follow(&fresh_id(), &bob.uri, &alice.uri);
    check(
        "actor is not the signer",
        post(
            &inbox,
            &body,
            Some(&signer(&bob2)),
            &now_http(),
            &digest(&body),
        )
        .await,
        401,
    )
    .await;

    // Date two hours old (signature over that date).
    let old = httpdate::fmt_http_date(
        std::time::SystemTime::now() - std::time::Duration::from_secs(7200),
    );
    let body = follow(&fresh_id(), &bob.uri, &alice.uri);
    check(
        "stale date",
        post(&inbox, &body, Some(&signer(&bob)), &old, &digest(&body)).await,
        401,
    )
    .await;

    // Digest of another body.
    let body = follow(&fresh_id(), &bob.uri, &alice.uri);
    check(
        "bad digest",
        post(
            &inbox,
            &body,
            Some(&signer(&bob)),
            &now_http(),
            &digest(b"other"),
        )
        .await,
        400,
    )
    .await;

    // Not JSON at all, correctly signed.
    let body = b"{\"type\": \"Follow\", not json".to_vec();
    check(
        "malformed JSON",
        post(
            &inbox,
            &body,
            Some(&signer(&bob)),
            &now_http(),
            &digest(&body),
        )
        .await,
        400,
    )
    .await;

    // Activity id on another host than its actor.
    let body = follow(
        &format!("{}/activities/x", gamma.base),
        &bob.uri,
        &alice.uri,
    );
    check(
        "id host differs from actor",
        post(
            &inbox,
            &body,
            Some(&signer(&bob)),
            &now_http(),
            &digest(&body),
        )
        .await,
        400,
    )
    .await;

    // Over the body limit: refused from the announced length alone. (A
    // client that sent the whole body could see the connection close
    // before it reads the 413, so the headers go out alone.)
    {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let u = url::Url::parse(&inbox).unwrap();
        let mut tcp = tokio::net::TcpStream::connect(("127.0.0.1", u.port().unwrap()))
            .await
            .unwrap();
        let head = format!(
            "POST {} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/activity+json\r\nContent-Length: {}\r\n\r\n",
            u.path(),
            u.authority(),
            2 * 1024 * 1024
        );
        tcp.write_all(head.as_bytes()).await.unwrap();
        let mut buf = vec![0u8; 1024];
        let n = tokio::time::timeout(std::time::Duration::from_secs(10), tcp.read(&mut buf))
            .await
            .expect("an answer without the body")
            .unwrap();
        let answer = String::from_utf8_lossy(&buf[..n]);
        assert!(
            answer.starts_with("HTTP/1.1 413"),
            "oversized body: {answer}"
        );
    }

    // A NUL byte (escaped, as JSON carries it) anywhere in the activity.
    let body = serde_json::to_vec(&json!({
        "id": fresh_id(),
        "type": "Follow",
        "actor": bob.uri,
        "object": alice.uri,
        "summary": "a\u{0}b",
    }))
    .unwrap();
    check(
        "NUL byte",
        post(
            &inbox,
            &body,
            Some(&signer(&bob)),
            &now_http(),
            &digest(&body),
        )
        .await,
        422,
    )
    .await;

    assert_eq!(
        follow_count(&alpha).await,
        0,
        "nothing stored by refused requests"
    );

    // The same Follow, correctly signed, is accepted once; its replay is refused.
    let body = follow(&fresh_id(), &bob.uri, &alice.uri);
    let date = now_http();
    let first = post(&inbox, &body, Some(&signer(&bob)), &date, &digest(&body)).await;
    assert_eq!(first.status(), 202, "{}", first.text().await.unwrap());
    assert_eq!(follow_count(&alpha).await, 1);
    check(
        "replayed id",
        post(&inbox, &body, Some(&signer(&bob)), &date, &digest(&body)).await,
        409,
    )
    .await;
    assert_eq!(follow_count(&alpha).await, 1);

    // A blocked domain gets 403, even correctly signed.
    alpha.block(&beta).await;
    let body = follow(&fresh_id(), &bob2.uri, &alice.uri);
    check(
        "blocked domain",
        post(
            &inbox,
            &body,
            Some(&signer(&bob2)),
            &now_http(),
            &digest(&body),
        )
        .await,
        403,
    )
    .await;
    assert_eq!(follow_count(&alpha).await, 1);
});

on_both_backends!(rotated_key_is_accepted, |backend: Backend| async move {
    let alpha = Instance::start("alpha", backend, FederationMode::Open).await;
    let beta = Instance::start("beta", backend, FederationMode::Open).await;
    let alice = alpha.create_user("alice").await;
    let bob = beta.create_user("bob").await;
    let inbox = format!("{}/users/alice/inbox", alpha.base);

    let body = follow(
        &format!("{}/activities/r1", beta.base),
        &bob.uri,
        &alice.uri,
    );
    let res = post(
        &inbox,
        &body,
        Some(&signer(&bob)),
        &now_http(),
        &digest(&body),
    )
    .await;
    assert_eq!(res.status(), 202);

    // bob's key changes on beta; alpha still holds the old one.
    let (public, private) = meetfield::domain::instance::generate_keypair()
        .await
        .unwrap();
    let (bob_id, p1, p2) = (bob.id, public.clone(), private.clone());
    beta.query(move |c| {
        diesel::update(accounts::table.find(bob_id))
            .set((
                accounts::public_key_pem.eq(p1),
                accounts::private_key_pem.eq(p2),
            ))
            .execute(c)
    })
    .await;
    let rotated = Signer {
        key_id: format!("{}#main-key", bob.uri),
        private_pem: &private,
    };
    let undo = serde_json::to_vec(&json!({
        "id": format!("{}/activities/r2", beta.base),
        "type": "Undo",
        "actor": bob.uri,
        "object": { "id": format!("{}/activities/r1", beta.base), "type": "Follow", "actor": bob.uri, "object": alice.uri },
    }))
    .unwrap();
    let res = post(&inbox, &undo, Some(&rotated), &now_http(), &digest(&undo)).await;
    assert_eq!(res.status(), 202, "{}", res.text().await.unwrap());
    assert_eq!(
        follow_count(&alpha).await,
        0,
        "the Undo signed with the new key took effect"
    );
    let stored = alpha.account_by_uri(&bob.uri).await.unwrap();
    assert_eq!(stored.public_key_pem.as_deref(), Some(public.as_str()));
});

on_both_backends!(signer_must_own_the_key, |backend: Backend| async move {
    let alpha = Instance::start("alpha", backend, FederationMode::Open).await;
    let beta = Instance::start("beta", backend, FederationMode::Open).await;
    let alice = alpha.create_user("alice").await;
    let bob = beta.create_user("bob").await;
    let bob2 = beta.create_user("bob2").await;
    let inbox = format!("{}/inbox", alpha.base);
    let instance = meetfield::domain::instance::ensure_instance_actor(
        &beta.app.state.db,
        &beta.app.state.config,
    )
    .await
    .unwrap();

    // bob2 and beta's instance actor publish bob's key, so a signature by
    // that key verifies with bob's published key whatever keyId names.
    let (pub_pem, priv_pem) = (
        bob.public_key_pem.clone().unwrap(),
        bob.private_key_pem.clone().unwrap(),
    );
    let ids = vec![bob2.id, instance.id];
    beta.query(move |c| {
        diesel::update(accounts::table.filter(accounts::id.eq_any(ids)))
            .set((
                accounts::public_key_pem.eq(pub_pem),
                accounts::private_key_pem.eq(priv_pem),
            ))
            .execute(c)
    })
    .await;
    let bob_pem = bob.private_key_pem.as_deref().unwrap();
    for (n, (what, key_id)) in [
        ("another actor's key", format!("{}#main-key", bob2.uri)),
        (
            "the instance actor's key",
            format!("{}#main-key", instance.uri),
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let body = follow(
            &format!("{}/activities/s{n}", beta.base),
            &bob.uri,
            &alice.uri,
        );
        let s = Signer {
            key_id,
            private_pem: bob_pem,
        };
        let res = post(&inbox, &body, Some(&s), &now_http(), &digest(&body)).await;
        let status = res.status().as_u16();
        let text = res.text().await.unwrap();
        assert_eq!(status, 401, "{what}: {text}");
        assert!(text.contains("does not belong"), "{what}: {text}");
    }
    assert_eq!(follow_count(&alpha).await, 0, "nothing stored");

    // The actor's own key, by the id it publishes, is accepted.
    let body = follow(
        &format!("{}/activities/ok", beta.base),
        &bob.uri,
        &alice.uri,
    );
    let res = post(
        &inbox,
        &body,
        Some(&signer(&bob)),
        &now_http(),
        &digest(&body),
    )
    .await;
    assert_eq!(res.status(), 202, "{}", res.text().await.unwrap());
    assert_eq!(follow_count(&alpha).await, 1);
});

on_both_backends!(
    mention_by_href_alone_notifies,
    |backend: Backend| async move {
        use meetfield::db::schema::{mentions, notifications};
        let alpha = Instance::start("alpha", backend, FederationMode::Open).await;
        let beta = Instance::start("beta", backend, FederationMode::Open).await;
        let alice = alpha.create_user("alice").await;
        let bob = beta.create_user("bob").await;
        let note_id = format!("{}/notes/h1", beta.base);
        let body = serde_json::to_vec(&json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": format!("{}/activities/h1", beta.base),
            "type": "Create",
            "actor": bob.uri,
            "to": [alice.uri],
            "object": {
                "id": note_id,
                "type": "Note",
                "attributedTo": bob.uri,
                "to": [alice.uri],
                "content": "<p>can you review this?</p>",
                "tag": [{"type": "Mention", "href": alice.uri}],
            },
        }))
        .unwrap();
        let inbox = format!("{}/inbox", alpha.base);
        let res = post(
            &inbox,
            &body,
            Some(&signer(&bob)),
            &now_http(),
            &digest(&body),
        )
        .await;
        assert_eq!(res.status(), 202, "{}", res.text().await.unwrap());
        let alice_id = alice.id;
        let (mentioned, notified) = alpha
            .query(move |c| {
                let m = mentions::table
                    .filter(mentions::account_id.eq(alice_id))
                    .count()
                    .get_result::<i64>(c)?;
                let n = notifications::table
                    .filter(notifications::account_id.eq(alice_id))
                    .filter(notifications::kind.eq("mention"))
                    .count()
                    .get_result::<i64>(c)?;
                Ok((m, n))
            })
            .await;
        assert_eq!((mentioned, notified), (1, 1), "mention by href recorded");
    }
);
