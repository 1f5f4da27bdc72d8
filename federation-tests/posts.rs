//! Posts across three instances: delivery, threads, likes, boosts, edits,
//! deletes and visibility, over real HTTP with real signatures.

use diesel::prelude::*;
use meetfield::config::FederationMode;
use meetfield::db::models::{Account, Status};
use meetfield::db::schema::{deliveries, mentions, status_tags, statuses};
use meetfield::domain::statuses::{self as posts, PostInput};
use meetfield::federation::protocol::note::Visibility;

use crate::common::Backend;
use crate::harness::{Instance, eventually, follow, http, trio};
use crate::on_both_backends;

async fn status_at(i: &Instance, uri: &str) -> Option<Status> {
    let uri = uri.to_string();
    i.query(move |c| Status::by_uri(c, &uri)).await
}

/// The local copy (on `at`) of an account from elsewhere.
async fn local_copy(at: &Instance, a: &Account) -> Account {
    at.account_by_uri(&a.uri).await.expect("account known")
}

/// The title of the ready card `i` shows for the post `uri`.
async fn card_title(i: &Instance, uri: &str) -> Option<String> {
    let st = status_at(i, uri).await?;
    i.query(move |c| meetfield::domain::cards::of_statuses(c, &[st.id]))
        .await
        .remove(&st.id)
        .map(|k| k.title)
}

async fn post(i: &Instance, author: &Account, input: PostInput) -> Status {
    posts::post_status(&i.data(), author, input).await.unwrap()
}

on_both_backends!(
    post_reaches_followers_on_two_instances,
    |backend: Backend| async move {
        let (alpha, beta, gamma) = trio(backend).await;
        let alice = alpha.create_user("alice").await;
        let bob = beta.create_user("bob").await;
        let dave = gamma.create_user("dave").await;
        follow(&beta, &bob, &alice).await;
        follow(&gamma, &dave, &alice).await;

        let text = format!(
            "Kick-off at 10 — @bob@{} please bring the slides #Launch",
            beta.domain
        );
        let s = post(&alpha, &alice, PostInput::public(&text)).await;
        assert!(
            s.content.contains("class=\"u-url mention\""),
            "{}",
            s.content
        );
        // One delivery per instance (shared inboxes), though bob is both follower and mentioned.
        let sid = s.id.to_string();
        let rows = alpha
            .query(move |c| {
                deliveries::table
                    .filter(deliveries::activity_id.like(format!("%{sid}%")))
                    .count()
                    .get_result::<i64>(c)
            })
            .await;
        assert_eq!(rows, 2);

        for i in [&beta, &gamma] {
            eventually(&format!("{} receives the post", i.name), || async {
                status_at(i, &s.uri).await.is_some()
            })
            .await;
            let got = status_at(i, &s.uri).await.unwrap();
            assert_eq!(got.visibility, "public");
            assert!(!got.local);
            // Sanitized on arrival: same text and links, rel attributes rewritten.
            assert!(
                got.content.contains("please bring the slides"),
                "{}",
                got.content
            );
            assert!(
                got.content.contains("class=\"u-url mention\""),
                "{}",
                got.content
            );
            assert!(
                got.content
                    .contains("/tags/launch\" class=\"mention hashtag\""),
                "{}",
                got.content
            );
            let gid = got.id;
            let tags = i
                .query(move |c| {
                    status_tags::table
                        .filter(status_tags::tag.eq("launch"))
                        .filter(status_tags::status_id.eq(gid))
                        .count()
                        .get_result::<i64>(c)
                })
                .await;
            assert_eq!(tags, 1, "hashtag stored on {}", i.name);
        }
        // The mention of bob is recorded on beta, where bob lives.
        let got = status_at(&beta, &s.uri).await.unwrap();
        let gid = got.id;
        let mentioned: Vec<i64> = beta
            .query(move |c| {
                mentions::table
                    .filter(mentions::status_id.eq(gid))
                    .select(mentions::account_id)
                    .load(c)
            })
            .await;
        assert_eq!(mentioned, vec![bob.id]);
    }
);

on_both_backends!(
    reply_thread_across_three_instances,
    |backend: Backend| async move {
        let (alpha, beta, gamma) = trio(backend).await;
        let alice = alpha.create_user("alice").await;
        let bob = beta.create_user("bob").await;
        let dave = gamma.create_user("dave").await;
        follow(&beta, &bob, &alice).await;
        follow(&gamma, &dave, &bob).await;

        let root = post(
            &alpha,
            &alice,
            PostInput::public("Which room for the review?"),
        )
        .await;
        eventually("beta has the root", || async {
            status_at(&beta, &root.uri).await.is_some()
        })
        .await;
        let root_at_beta = status_at(&beta, &root.uri).await.unwrap();

        let reply = post(
            &beta,
            &bob,
            PostInput {
                in_reply_to_id: Some(root_at_beta.id),
                ..PostInput::public("Room 4, I booked it")
            },
        )
        .await;
        // gamma follows bob only: it gets the reply and fetches the root from alpha.
        eventually("gamma has the reply and its parent", || async {
            match status_at(&gamma, &reply.uri).await {
                Some(r) => r.in_reply_to_id.is_some(),
                None => false,
            }
        })
        .await;
        let root_at_gamma = status_at(&gamma, &root.uri).await.expect("parent fetched");
        let reply_at_gamma = status_at(&gamma, &reply.uri).await.unwrap();
        assert_eq!(reply_at_gamma.in_reply_to_id, Some(root_at_gamma.id));

        let reply2 = post(
            &gamma,
            &dave,
            PostInput {
                in_reply_to_id: Some(reply_at_gamma.id),
                ..PostInput::public("Thanks!")
            },
        )
        .await;
        eventually("beta threads dave's reply under bob's", || async {
            status_at(&beta, &reply2.uri)
                .await
                .is_some_and(|r| r.in_reply_to_id == Some(reply.id))
        })
        .await;
        // The origin counts the reply it received.
        eventually("alpha counts one reply on the root", || async {
            status_at(&alpha, &root.uri).await.unwrap().replies_count == 1
        })
        .await;
        let r_at_alpha = status_at(&alpha, &reply.uri)
            .await
            .expect("alice, the parent's author, got the reply");
        assert_eq!(r_at_alpha.in_reply_to_id, Some(root.id));
    }
);

on_both_backends!(
    likes_and_boosts_count_on_origin,
    |backend: Backend| async move {
        let (alpha, beta, gamma) = trio(backend).await;
        let alice = alpha.create_user("alice").await;
        let bob = beta.create_user("bob").await;
        let dave = gamma.create_user("dave").await;
        follow(&beta, &bob, &alice).await;
        follow(&gamma, &dave, &bob).await;
        let s = post(&alpha, &alice, PostInput::public("Vote on the date")).await;
        eventually("beta has the post", || async {
            status_at(&beta, &s.uri).await.is_some()
        })
        .await;
        let at_beta = status_at(&beta, &s.uri).await.unwrap();

        posts::favourite(&beta.app.state, &bob, at_beta.id)
            .await
            .unwrap();
        posts::reblog(&beta.app.state, &bob, at_beta.id)
            .await
            .unwrap();
        eventually("alpha counts the like and the boost", || async {
            let o = status_at(&alpha, &s.uri).await.unwrap();
            o.favourites_count == 1 && o.reblogs_count == 1
        })
        .await;
        // dave follows bob: the boost reaches gamma, which fetches the original.
        eventually("gamma stores bob's boost", || async {
            let Some(orig) = status_at(&gamma, &s.uri).await else {
                return false;
            };
            let bob_at_gamma = local_copy(&gamma, &bob).await;
            let oid = orig.id;
            gamma
                .query(move |c| Status::reblog_by(c, bob_at_gamma.id, oid))
                .await
                .is_some()
        })
        .await;

        posts::unfavourite(&beta.app.state, &bob, at_beta.id)
            .await
            .unwrap();
        posts::unreblog(&beta.app.state, &bob, at_beta.id)
            .await
            .unwrap();
        eventually("alpha counts nothing after the undos", || async {
            let o = status_at(&alpha, &s.uri).await.unwrap();
            o.favourites_count == 0 && o.reblogs_count == 0
        })
        .await;
        eventually("gamma drops the boost", || async {
            let orig = status_at(&gamma, &s.uri).await.unwrap();
            orig.reblogs_count == 0
        })
        .await;
    }
);

on_both_backends!(edit_and_delete_propagate, |backend: Backend| async move {
    let (alpha, beta, _gamma) = trio(backend).await;
    let alice = alpha.create_user("alice").await;
    let bob = beta.create_user("bob").await;
    follow(&beta, &bob, &alice).await;
    let s = post(&alpha, &alice, PostInput::public("Meeting at 3")).await;
    eventually("beta has the post", || async {
        status_at(&beta, &s.uri).await.is_some()
    })
    .await;

    let edited = posts::edit_status(&alpha.data(), &alice, s.id, "Meeting at 4", "", false)
        .await
        .unwrap();
    assert!(edited.edited_at.is_some());
    assert_eq!(
        posts::history(&alpha.app.state, s.id).await.unwrap().len(),
        1
    );
    eventually("beta shows the edit", || async {
        status_at(&beta, &s.uri)
            .await
            .unwrap()
            .content
            .contains("Meeting at 4")
    })
    .await;
    let at_beta = status_at(&beta, &s.uri).await.unwrap();
    assert!(at_beta.edited_at.is_some());
    let history = posts::history(&beta.app.state, at_beta.id).await.unwrap();
    assert_eq!(history.len(), 1);
    assert!(history[0].content.contains("Meeting at 3"));

    let gone = posts::delete_status(&alpha.app.state, &alice, s.id)
        .await
        .unwrap();
    assert_eq!(
        gone.text.as_deref(),
        Some("Meeting at 4"),
        "source returned for redraft"
    );
    eventually("beta deletes it", || async {
        status_at(&beta, &s.uri).await.is_none()
    })
    .await;
    let res = http()
        .get(&s.uri)
        .header("accept", "application/activity+json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
});

on_both_backends!(
    visibility_is_kept_and_enforced,
    |backend: Backend| async move {
        let (alpha, beta, gamma) = trio(backend).await;
        let alice = alpha.create_user("alice").await;
        let bob = beta.create_user("bob").await;
        let dave = gamma.create_user("dave").await;
        follow(&beta, &bob, &alice).await;
        // dave follows nobody on alpha.
        let _ = dave;

        let local = post(
            &alpha,
            &alice,
            PostInput {
                visibility: Visibility::Local,
                ..PostInput::public("Canteen closes early today")
            },
        )
        .await;
        let private = post(
            &alpha,
            &alice,
            PostInput {
                visibility: Visibility::Private,
                ..PostInput::public("Team only: draft budget")
            },
        )
        .await;
        let unlisted = post(
            &alpha,
            &alice,
            PostInput {
                visibility: Visibility::Unlisted,
                ..PostInput::public("Quiet note")
            },
        )
        .await;
        let direct = post(
            &alpha,
            &alice,
            PostInput {
                visibility: Visibility::Direct,
                ..PostInput::public(&format!("@dave@{} your badge is ready", gamma.domain))
            },
        )
        .await;

        eventually("beta gets followers-only and unlisted", || async {
            status_at(&beta, &private.uri).await.is_some()
                && status_at(&beta, &unlisted.uri).await.is_some()
        })
        .await;
        assert_eq!(
            status_at(&beta, &private.uri).await.unwrap().visibility,
            "private"
        );
        assert_eq!(
            status_at(&beta, &unlisted.uri).await.unwrap().visibility,
            "unlisted"
        );
        eventually("gamma gets the direct message only", || async {
            status_at(&gamma, &direct.uri).await.is_some()
        })
        .await;
        assert_eq!(
            status_at(&gamma, &direct.uri).await.unwrap().visibility,
            "direct"
        );
        assert!(
            status_at(&beta, &direct.uri).await.is_none(),
            "direct stays with its recipients"
        );
        // On gamma it opens an unread conversation for dave, with alice.
        let (dave_id, dm_id) = (dave.id, status_at(&gamma, &direct.uri).await.unwrap().id);
        let convs = gamma
            .query(move |c| {
                meetfield::domain::conversations::page(c, dave_id, None, None, None, 20)
            })
            .await;
        assert_eq!(convs.len(), 1);
        assert_eq!(convs[0].last_status_id, dm_id);
        assert!(convs[0].unread);
        let alice_there = gamma.account_by_uri(&alice.uri).await.unwrap();
        assert_eq!(convs[0].participants(), vec![alice_there.id]);
        assert!(
            status_at(&gamma, &private.uri).await.is_none(),
            "followers-only skips non-followers"
        );

        // Local-only never leaves: no delivery was even queued, and no one can fetch it.
        let lid = local.uri.clone();
        let queued = alpha
            .query(move |c| {
                deliveries::table
                    .filter(deliveries::payload.like(format!("%{lid}%")))
                    .count()
                    .get_result::<i64>(c)
            })
            .await;
        assert_eq!(queued, 0);
        assert!(status_at(&beta, &local.uri).await.is_none());
        for s in [&local, &private, &direct] {
            let res = http()
                .get(&s.uri)
                .header("accept", "application/activity+json")
                .send()
                .await
                .unwrap();
            assert_eq!(
                res.status(),
                404,
                "{} must not be served to anonymous fetches",
                s.visibility
            );
        }
        let res = http()
            .get(&unlisted.uri)
            .header("accept", "application/activity+json")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let _ = statuses::table;
    }
);

on_both_backends!(
    an_accepted_answer_reaches_a_partner,
    |backend: Backend| async move {
        use meetfield::domain::answers;
        let (alpha, beta, _gamma) = trio(backend).await;
        let alice = alpha.create_user("alice").await;
        let bob = beta.create_user("bob").await;
        follow(&beta, &bob, &alice).await;
        let q = post(
            &alpha,
            &alice,
            PostInput::public("Who can review our #terraform module?"),
        )
        .await;
        let quri = q.uri.clone();
        eventually("the question reaches beta", || async {
            status_at(&beta, &quri).await.is_some()
        })
        .await;
        let q_at_beta = status_at(&beta, &quri).await.unwrap();
        let reply = post(
            &beta,
            &bob,
            PostInput {
                in_reply_to_id: Some(q_at_beta.id),
                ..PostInput::public("@alice I can, send the PR")
            },
        )
        .await;
        let ruri = reply.uri.clone();
        eventually("the reply reaches alpha", || async {
            status_at(&alpha, &ruri).await.is_some()
        })
        .await;
        let reply_at_alpha = status_at(&alpha, &ruri).await.unwrap();
        answers::accept(&alpha.data(), &alice, q.id, reply_at_alpha.id)
            .await
            .unwrap();

        // beta learns it from the Update: its API shows the answer, and the
        // content carries the line stock apps show.
        let qid = q_at_beta.id;
        eventually("beta knows the accepted answer", || async {
            beta.query(move |c| answers::of_statuses(c, &[qid]))
                .await
                .get(&qid)
                .is_some_and(|(rid, _)| *rid == reply.id)
        })
        .await;
        let ctx = meetfield::api::mastodon::ctx(&beta.app.state);
        let bid = bob.id;
        let shown = beta
            .query(move |c| {
                let s = Status::by_id(c, qid)?;
                Ok::<_, diesel::result::Error>(
                    meetfield::api::mastodon::entities::status(c, &ctx, &s, Some(bid))
                        .expect("rendered"),
                )
            })
            .await;
        assert_eq!(
            shown["meetfield"]["accepted_answer"]["id"],
            reply.id.to_string()
        );
        let content = shown["content"].as_str().unwrap();
        assert_eq!(content.matches("Answered").count(), 1, "{content}");

        answers::unaccept(&alpha.data(), &alice, q.id)
            .await
            .unwrap();
        eventually("beta hears it was undone", || async {
            beta.query(move |c| answers::of_statuses(c, &[qid]))
                .await
                .is_empty()
        })
        .await;
    }
);

on_both_backends!(
    partner_posts_get_link_cards,
    |backend: Backend| async move {
        // A web page on loopback; each instance reads it for its own card.
        let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let h = hits.clone();
        let site = axum::Router::new().route(
        "/p/{n}",
        axum::routing::get(move |axum::extract::Path(n): axum::extract::Path<String>| {
            h.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            async move {
                axum::response::Html(format!(
                    "<html><head><meta property=\"og:title\" content=\"Page {n}\"></head></html>"
                ))
            }
        }),
    );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, site).await.unwrap() });

        let previews = |c: &mut meetfield::config::Config| c.link_previews = true;
        let alpha =
            Instance::start_with("alpha", backend, FederationMode::Allowlist, previews).await;
        let beta = Instance::start_with("beta", backend, FederationMode::Allowlist, previews).await;
        alpha.allow(&beta).await;
        beta.allow(&alpha).await;
        let alice = alpha.create_user("alice").await;
        let bob = beta.create_user("bob").await;
        follow(&beta, &bob, &alice).await;
        let s = post(
            &alpha,
            &alice,
            PostInput::public(&format!("Read http://{addr}/p/1 today")),
        )
        .await;
        eventually("beta has the partner post's card", || async {
            card_title(&beta, &s.uri).await.as_deref() == Some("Page 1")
        })
        .await;
        eventually("alpha has it too", || async {
            card_title(&alpha, &s.uri).await.as_deref() == Some("Page 1")
        })
        .await;
        assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 2);
        // An edit to another link changes the card on the partner too.
        posts::edit_status(
            &alpha.data(),
            &alice,
            s.id,
            &format!("Better: http://{addr}/p/2"),
            "",
            false,
        )
        .await
        .unwrap();
        eventually("beta shows the new card", || async {
            card_title(&beta, &s.uri).await.as_deref() == Some("Page 2")
        })
        .await;
    }
);
