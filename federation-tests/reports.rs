//! A report about someone on another server reaches that server's
//! moderators as a Flag from our instance actor, only when forwarded.

use meetfield::config::FederationMode;
use meetfield::db::models::Status;
use meetfield::domain::reports::{self, NewReport};
use meetfield::domain::statuses::{self as posts, PostInput};

use crate::common::Backend;
use crate::harness::{Instance, eventually, follow};
use crate::on_both_backends;

on_both_backends!(
    reports_are_forwarded_as_flags,
    |backend: Backend| async move {
        let alpha = Instance::start("alpha", backend, FederationMode::Open).await;
        let beta = Instance::start("beta", backend, FederationMode::Open).await;
        let alice = alpha.create_user("alice").await;
        let bob = beta.create_user("bob").await;
        follow(&alpha, &alice, &bob).await;
        let spam = posts::post_status(&beta.data(), &bob, PostInput::public("cheap watches"))
            .await
            .unwrap();
        let uri = spam.uri.clone();
        eventually("bob's post reaches alpha", || async {
            let uri = uri.clone();
            alpha
                .query(move |c| Status::by_uri(c, &uri))
                .await
                .is_some()
        })
        .await;
        let uri = spam.uri.clone();
        let copy = alpha.query(move |c| Status::by_uri(c, &uri)).await.unwrap();
        let bob_there = alpha.account_by_uri(&bob.uri).await.unwrap();

        // Not forwarded: stays with alpha's moderators.
        let kept = reports::file(
            &alpha.data(),
            &alice,
            NewReport {
                target: bob_there.clone(),
                status_ids: vec![copy.id],
                comment: "only for us".into(),
                category: "spam".into(),
                forward: false,
            },
        )
        .await
        .unwrap();
        assert!(!kept.forwarded);
        // Forwarded: beta gets a report about bob and his post, from alpha's
        // instance actor (alice stays anonymous).
        let sent = reports::file(
            &alpha.data(),
            &alice,
            NewReport {
                target: bob_there,
                status_ids: vec![copy.id],
                comment: "please look".into(),
                category: "spam".into(),
                forward: true,
            },
        )
        .await
        .unwrap();
        assert!(sent.forwarded);
        eventually("beta receives the Flag", || async {
            !beta.query(|c| reports::list(c, false)).await.is_empty()
        })
        .await;
        let got = beta.query(|c| reports::list(c, false)).await;
        assert_eq!(got.len(), 1, "only the forwarded one");
        let r = &got[0];
        assert_eq!(r.target_account_id, bob.id);
        assert_eq!(r.statuses(), vec![spam.id]);
        assert_eq!(r.comment, "please look");
        let reporter = beta
            .query({
                let id = r.account_id;
                move |c| meetfield::db::models::Account::by_id(c, id)
            })
            .await;
        assert_eq!(
            reporter.uri,
            meetfield::federation::urls::instance_actor_uri(&alpha.app.state.base_url())
        );
        assert_ne!(reporter.uri, alice.uri);
        assert_eq!(alpha.query(|c| reports::list(c, false)).await.len(), 2);
    }
);
