//! The partner feed across instances: alpha subscribes to gamma's public
//! posts, and a hashtag followed on alpha brings a gamma post home without
//! anyone following its author; unsubscribing stops it; a server that has
//! not allowed the subscriber by name refuses the subscription.

use diesel::prelude::*;
use meetfield::config::FederationMode;
use meetfield::db::models::Status;
use meetfield::db::schema::deliveries;
use meetfield::domain::statuses::{self as posts, PostInput};
use meetfield::domain::{partner_feed, tags, timelines};

use crate::common::Backend;
use crate::harness::{Instance, eventually, trio};
use crate::on_both_backends;

async fn status_at(i: &Instance, uri: &str) -> Option<Status> {
    let uri = uri.to_string();
    i.query(move |c| Status::by_uri(c, &uri)).await
}

/// Deliveries `from` queued for `to`'s server carrying `uri`.
async fn queued_for(from: &Instance, to: &Instance, uri: &str) -> i64 {
    let (host, pattern) = (to.domain.clone(), format!("%{uri}%"));
    from.query(move |c| {
        deliveries::table
            .filter(deliveries::host.eq(host))
            .filter(deliveries::payload.like(pattern))
            .count()
            .get_result::<i64>(c)
    })
    .await
}

on_both_backends!(
    a_followed_tag_sees_a_partners_posts_through_the_feed,
    |backend: Backend| async move {
        let (alpha, _beta, gamma) = trio(backend).await;
        let ana = alpha.create_user("ana").await;
        let gus = gamma.create_user("gus").await;
        let aid = ana.id;
        alpha
            .query(move |c| {
                tags::follow(c, aid, "ops").map_err(|_| diesel::result::Error::NotFound)
            })
            .await;

        let before = posts::post_status(&gamma.data(), &gus, PostInput::public("#ops before"))
            .await
            .unwrap();
        assert_eq!(
            queued_for(&gamma, &alpha, &before.uri).await,
            0,
            "nobody subscribed yet"
        );

        partner_feed::subscribe(&alpha.data(), &gamma.domain)
            .await
            .unwrap();
        eventually("gamma accepts alpha's subscription", || async {
            let (ours, _) = alpha.query(partner_feed::overview).await;
            ours == vec![(gamma.domain.clone(), true)]
        })
        .await;
        let (_, theirs) = gamma.query(partner_feed::overview).await;
        assert_eq!(theirs, vec![alpha.domain.clone()]);

        let during = posts::post_status(&gamma.data(), &gus, PostInput::public("#ops during"))
            .await
            .unwrap();
        let private = posts::post_status(
            &gamma.data(),
            &gus,
            PostInput {
                visibility: meetfield::federation::protocol::note::Visibility::Private,
                ..PostInput::public("#ops followers only")
            },
        )
        .await
        .unwrap();
        let uri = during.uri.clone();
        eventually("the public post reaches alpha", || async {
            status_at(&alpha, &uri).await.is_some()
        })
        .await;
        let here = status_at(&alpha, &during.uri).await.unwrap();
        let home = alpha
            .query(move |c| {
                let me = meetfield::db::models::Account::by_id(c, aid)?;
                timelines::home(
                    c,
                    &me,
                    timelines::Page {
                        limit: 20,
                        ..Default::default()
                    },
                )
            })
            .await;
        assert_eq!(home.iter().map(|s| s.id).collect::<Vec<_>>(), vec![here.id]);
        assert!(status_at(&alpha, &before.uri).await.is_none());
        assert_eq!(
            queued_for(&gamma, &alpha, &private.uri).await,
            0,
            "only public posts"
        );

        // Unsubscribed: gamma stops sending.
        assert!(
            partner_feed::unsubscribe(&alpha.data(), &gamma.domain)
                .await
                .unwrap()
        );
        eventually("gamma hears of the unsubscription", || async {
            gamma.query(partner_feed::overview).await.1.is_empty()
        })
        .await;
        let after = posts::post_status(&gamma.data(), &gus, PostInput::public("#ops after"))
            .await
            .unwrap();
        assert_eq!(queued_for(&gamma, &alpha, &after.uri).await, 0);
    }
);

on_both_backends!(
    only_partners_allowed_by_name_may_subscribe,
    |backend: Backend| async move {
        // delta federates with anyone but names no partner.
        let (alpha, beta, _gamma) = trio(backend).await;
        let delta = Instance::start("delta", backend, FederationMode::Open).await;
        beta.allow(&delta).await;
        assert!(
            partner_feed::subscribe(&alpha.data(), &delta.domain)
                .await
                .is_err(),
            "alpha has not allowed delta"
        );
        partner_feed::subscribe(&beta.data(), &delta.domain)
            .await
            .unwrap();
        eventually("delta refuses beta", || async {
            beta.query(partner_feed::overview).await.0.is_empty()
        })
        .await;
        assert!(delta.query(partner_feed::overview).await.1.is_empty());
    }
);
