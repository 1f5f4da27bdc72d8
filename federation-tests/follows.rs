//! Following across instances over real HTTP with real signatures.

use diesel::prelude::*;
use meetfield::config::FederationMode;
use meetfield::db::models::Follow;
use meetfield::db::schema::accounts;
use meetfield::domain::follows;
use meetfield::error::AppError;
use meetfield::federation::resolve::resolve_account;

use crate::common::Backend;
use crate::harness::{Instance, eventually, http, trio};
use crate::on_both_backends;

async fn follow_state(i: &Instance, follower_uri: &str, target_uri: &str) -> Option<bool> {
    let (f, t) = (
        i.account_by_uri(follower_uri).await,
        i.account_by_uri(target_uri).await,
    );
    let (Some(f), Some(t)) = (f, t) else {
        return None;
    };
    i.query(move |c| Follow::find(c, f.id, t.id))
        .await
        .map(|x| x.pending)
}

on_both_backends!(
    follow_is_accepted_across_instances,
    |backend: Backend| async move {
        let (alpha, beta, gamma) = trio(backend).await;
        let alice = alpha.create_user("alice").await;
        let bob = beta.create_user("bob").await;
        let dave = gamma.create_user("dave").await;

        // alice finds bob by handle (WebFinger over HTTP) and follows him.
        let bob_at_alpha = resolve_account(&alpha.data(), &beta.handle("bob"))
            .await
            .unwrap();
        assert_eq!(bob_at_alpha.uri, bob.uri);
        assert_eq!(bob_at_alpha.domain.as_deref(), Some(beta.domain.as_str()));
        let f = follows::follow(&alpha.app.state, &alice, &bob_at_alpha)
            .await
            .unwrap();
        assert!(f.pending, "remote follows wait for Accept");

        eventually("beta records alice following bob", || async {
            follow_state(&beta, &alice.uri, &bob.uri).await == Some(false)
        })
        .await;
        eventually("alpha sees the Accept", || async {
            follow_state(&alpha, &alice.uri, &bob.uri).await == Some(false)
        })
        .await;

        // A third instance follows too; bob's followers collection counts both.
        let bob_at_gamma = resolve_account(&gamma.data(), &bob.uri).await.unwrap();
        follows::follow(&gamma.app.state, &dave, &bob_at_gamma)
            .await
            .unwrap();
        eventually("gamma's follow accepted", || async {
            follow_state(&gamma, &dave.uri, &bob.uri).await == Some(false)
        })
        .await;
        let followers: serde_json::Value = http()
            .get(format!("{}/followers", bob.uri))
            .header("accept", "application/activity+json")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(followers["totalItems"], 2);
        let bob_id = beta.account_by_uri(&bob.uri).await.unwrap().id;
        let mut inboxes = beta
            .query(move |c| Follow::follower_inboxes(c, bob_id))
            .await;
        inboxes.sort();
        assert_eq!(
            inboxes,
            vec![
                format!("{}/inbox", alpha.base),
                format!("{}/inbox", gamma.base)
            ],
            "one shared inbox per instance"
        );

        // Unfollow reaches beta.
        assert!(
            follows::unfollow(&alpha.app.state, &alice, &bob_at_alpha)
                .await
                .unwrap()
        );
        eventually("beta drops the follow", || async {
            follow_state(&beta, &alice.uri, &bob.uri).await.is_none()
        })
        .await;
        assert_eq!(follow_state(&gamma, &dave.uri, &bob.uri).await, Some(false));
    }
);

on_both_backends!(
    locked_account_approves_or_rejects,
    |backend: Backend| async move {
        let (alpha, beta, _gamma) = trio(backend).await;
        let alice = alpha.create_user("alice").await;
        let erin = alpha.create_user("erin").await;
        let carol = beta.create_user("carol").await;
        let carol_id = carol.id;
        beta.query(move |c| {
            diesel::update(accounts::table.find(carol_id))
                .set(accounts::locked.eq(true))
                .execute(c)
        })
        .await;

        let carol_at_alpha = resolve_account(&alpha.data(), &beta.handle("carol"))
            .await
            .unwrap();
        assert!(carol_at_alpha.locked, "manuallyApprovesFollowers federated");
        follows::follow(&alpha.app.state, &alice, &carol_at_alpha)
            .await
            .unwrap();
        follows::follow(&alpha.app.state, &erin, &carol_at_alpha)
            .await
            .unwrap();
        eventually("both requests pending at beta", || async {
            follow_state(&beta, &alice.uri, &carol.uri).await == Some(true)
                && follow_state(&beta, &erin.uri, &carol.uri).await == Some(true)
        })
        .await;

        let carol = beta.account_by_uri(&carol.uri).await.unwrap();
        let alice_at_beta = beta.account_by_uri(&alice.uri).await.unwrap();
        let erin_at_beta = beta.account_by_uri(&erin.uri).await.unwrap();
        follows::authorize_follow_request(&beta.app.state, &carol, &alice_at_beta)
            .await
            .unwrap();
        follows::reject_follow_request(&beta.app.state, &carol, &erin_at_beta)
            .await
            .unwrap();
        eventually("alice accepted, erin's request gone, on alpha", || async {
            follow_state(&alpha, &alice.uri, &carol.uri).await == Some(false)
                && follow_state(&alpha, &erin.uri, &carol.uri).await.is_none()
        })
        .await;
        assert!(matches!(
            follows::authorize_follow_request(&beta.app.state, &carol, &erin_at_beta).await,
            Err(AppError::NotFound(_))
        ));
    }
);

on_both_backends!(
    allowlist_refuses_unlisted_instances,
    |backend: Backend| async move {
        // alpha federates only with beta; gamma is open to everyone.
        let alpha = Instance::start("alpha", backend, FederationMode::Allowlist).await;
        let beta = Instance::start("beta", backend, FederationMode::Allowlist).await;
        let gamma = Instance::start("gamma", backend, FederationMode::Open).await;
        alpha.allow(&beta).await;
        beta.allow(&alpha).await;
        let alice = alpha.create_user("alice").await;
        beta.create_user("bob").await;
        let dave = gamma.create_user("dave").await;

        // Outgoing lookups to gamma are refused.
        match resolve_account(&alpha.data(), &gamma.handle("dave")).await {
            Err(AppError::Forbidden(_)) => {}
            other => panic!("alpha resolved a non-partner: {other:?}"),
        }
        // beta works.
        resolve_account(&alpha.data(), &beta.handle("bob"))
            .await
            .unwrap();

        // gamma's Follow is refused at alpha's inbox: nothing about gamma stored.
        // (Actor documents are public unless MEETFIELD_AUTHORIZED_FETCH is on.)
        let alice_at_gamma = resolve_account(&gamma.data(), &alice.uri).await.unwrap();
        follows::follow(&gamma.app.state, &dave, &alice_at_gamma)
            .await
            .unwrap();
        eventually("gamma's delivery finished", || async {
            gamma
                .delivery_states()
                .await
                .iter()
                .all(|(s, _)| s != "pending")
        })
        .await;
        assert!(
            alpha.account_by_uri(&dave.uri).await.is_none(),
            "nothing stored from gamma"
        );
        assert_eq!(
            follow_state(&gamma, &dave.uri, &alice.uri).await,
            Some(true)
        );

        // And alpha never delivers to gamma: the row is skipped, not sent.
        let alice_id = alice.id;
        let dave_at_alpha_inbox = format!("{}/inbox", gamma.base);
        alpha
            .app
            .state
            .db
            .transaction(move |c| {
                meetfield::delivery::enqueue(
                    c,
                    alice_id,
                    &serde_json::json!({"id": "http://x/activities/1", "type": "Note"}),
                    &[dave_at_alpha_inbox],
                )
                .map_err(AppError::from)
            })
            .await
            .unwrap();
        alpha.app.state.delivery_wake.notify_one();
        eventually("alpha's delivery to gamma skipped", || async {
            alpha
                .delivery_states()
                .await
                .contains(&("skipped".to_string(), 1))
        })
        .await;
    }
);

on_both_backends!(
    block_ends_follows_and_refuses_new_ones,
    |backend: Backend| async move {
        let (alpha, beta, _gamma) = trio(backend).await;
        let alice = alpha.create_user("alice").await;
        let bob = beta.create_user("bob").await;
        let bob_at_alpha = resolve_account(&alpha.data(), &bob.uri).await.unwrap();
        let alice_at_beta = resolve_account(&beta.data(), &alice.uri).await.unwrap();
        follows::follow(&alpha.app.state, &alice, &bob_at_alpha)
            .await
            .unwrap();
        follows::follow(&beta.app.state, &bob, &alice_at_beta)
            .await
            .unwrap();
        eventually("mutual follows accepted on both sides", || async {
            follow_state(&alpha, &alice.uri, &bob.uri).await == Some(false)
                && follow_state(&alpha, &bob.uri, &alice.uri).await == Some(false)
                && follow_state(&beta, &alice.uri, &bob.uri).await == Some(false)
                && follow_state(&beta, &bob.uri, &alice.uri).await == Some(false)
        })
        .await;

        meetfield::domain::blocks::block(&alpha.app.state, &alice, &bob_at_alpha)
            .await
            .unwrap();
        assert!(follow_state(&alpha, &bob.uri, &alice.uri).await.is_none());
        eventually("beta drops both follows and records the block", || async {
            let (a, b) = (alice_at_beta.id, bob.id);
            follow_state(&beta, &alice.uri, &bob.uri).await.is_none()
                && follow_state(&beta, &bob.uri, &alice.uri).await.is_none()
                && beta
                    .query(move |c| meetfield::domain::blocks::is_blocked(c, a, b))
                    .await
        })
        .await;

        // bob (whose server honours the block) is refused locally; a Follow that
        // arrives anyway is answered with Reject.
        assert!(matches!(
            follows::follow(&beta.app.state, &bob, &alice_at_beta).await,
            Err(AppError::Forbidden(_))
        ));
        // Software that ignores Block may still send a Follow: alpha rejects it.
        beta.query(|c| diesel::delete(meetfield::db::schema::blocks::table).execute(c))
            .await;
        follows::follow(&beta.app.state, &bob, &alice_at_beta)
            .await
            .unwrap();
        eventually("alpha's Reject removes the request at beta", || async {
            follow_state(&beta, &bob.uri, &alice.uri).await.is_none()
        })
        .await;
        assert!(follow_state(&alpha, &bob.uri, &alice.uri).await.is_none());

        meetfield::domain::blocks::unblock(&alpha.app.state, &alice, &bob_at_alpha)
            .await
            .unwrap();
        let (a, b) = (alice.id, bob_at_alpha.id);
        assert!(
            !alpha
                .query(move |c| meetfield::domain::blocks::is_blocked(c, a, b))
                .await
        );
        follows::follow(&beta.app.state, &bob, &alice_at_beta)
            .await
            .unwrap();
        eventually("follow works again after unblock", || async {
            follow_state(&beta, &bob.uri, &alice.uri).await == Some(false)
        })
        .await;

        // Block then Undo Block: beta records, then forgets.
        meetfield::domain::blocks::block(&alpha.app.state, &alice, &bob_at_alpha)
            .await
            .unwrap();
        let blocked_at_beta = || async {
            let (a, b) = (alice_at_beta.id, bob.id);
            beta.query(move |c| meetfield::domain::blocks::is_blocked(c, a, b))
                .await
        };
        eventually("beta records the second block", || async {
            blocked_at_beta().await
        })
        .await;
        meetfield::domain::blocks::unblock(&alpha.app.state, &alice, &bob_at_alpha)
            .await
            .unwrap();
        eventually("beta forgets it after Undo", || async {
            !blocked_at_beta().await
        })
        .await;
    }
);

on_both_backends!(
    profile_updates_and_account_deletion_federate,
    |backend: Backend| async move {
        let (alpha, beta, _gamma) = trio(backend).await;
        let alice = alpha.create_user("alice").await;
        let bob = beta.create_user("bob").await;
        let alice_at_beta = resolve_account(&beta.data(), &alice.uri).await.unwrap();
        follows::follow(&beta.app.state, &bob, &alice_at_beta)
            .await
            .unwrap();
        eventually("bob follows alice", || async {
            follow_state(&alpha, &bob.uri, &alice.uri).await == Some(false)
        })
        .await;

        meetfield::domain::accounts::update_profile(
            &alpha.app.state,
            &alice,
            meetfield::domain::accounts::ProfileChange {
                display_name: Some("Alice from Research".into()),
                note: Some("Grid storage".into()),
                locked: Some(true),
                fields: Some(vec![("Team".into(), "Storage".into())]),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        eventually("beta sees the new profile", || async {
            let a = beta.account_by_uri(&alice.uri).await.unwrap();
            a.display_name == "Alice from Research"
                && a.locked
                && a.note.contains("Grid storage")
                && a.fields.contains("Storage")
        })
        .await;

        let post = meetfield::domain::statuses::post_status(
            &alpha.data(),
            &alice,
            meetfield::domain::statuses::PostInput::public("last words"),
        )
        .await
        .unwrap();
        eventually("beta has the post", || async {
            let uri = post.uri.clone();
            beta.query(move |c| meetfield::db::models::Status::by_uri(c, &uri))
                .await
                .is_some()
        })
        .await;
        meetfield::domain::accounts::delete_local_account(&alpha.app.state, &alice)
            .await
            .unwrap();
        eventually("beta removes alice's posts and follows", || async {
            let uri = post.uri.clone();
            let a = beta.account_by_uri(&alice.uri).await.unwrap();
            a.suspended_at.is_some()
                && beta
                    .query(move |c| meetfield::db::models::Status::by_uri(c, &uri))
                    .await
                    .is_none()
                && follow_state(&beta, &bob.uri, &alice.uri).await.is_none()
        })
        .await;
    }
);
