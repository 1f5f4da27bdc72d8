//! Groups (FEP-1b12) across three instances over real HTTP: joining,
//! redistribution of members' posts, threads and moderation.

use diesel::prelude::*;
use meetfield::db::models::{Account, Follow, Status};
use meetfield::domain::groups::{self, NewGroup};
use meetfield::domain::statuses::{self as posts, PostInput};
use meetfield::domain::{follows, timelines};
use meetfield::federation::resolve::resolve_account;

use crate::common::Backend;
use crate::harness::{Instance, eventually, trio};
use crate::on_both_backends;

/// `member` (on `at`) joins `group` (hosted elsewhere) and waits for it.
async fn join(at: &Instance, member: &Account, group: &Account) -> Account {
    let g = resolve_account(&at.data(), &group.uri).await.unwrap();
    assert_eq!(g.actor_type, "Group");
    follows::follow(&at.app.state, member, &g).await.unwrap();
    let (mid, gid) = (member.id, g.id);
    eventually("join accepted", || async {
        at.query(move |c| Follow::find(c, mid, gid))
            .await
            .is_some_and(|f| !f.pending)
    })
    .await;
    g
}

async fn status_at(i: &Instance, uri: &str) -> Option<Status> {
    let uri = uri.to_string();
    i.query(move |c| Status::by_uri(c, &uri)).await
}

/// Whether `viewer`'s home timeline on `at` shows the group's boost of `uri`.
async fn boosted_in_home(at: &Instance, viewer: &Account, group_uri: &str, uri: &str) -> bool {
    let Some(original) = status_at(at, uri).await else {
        return false;
    };
    let Some(group) = at.account_by_uri(group_uri).await else {
        return false;
    };
    let viewer = viewer.clone();
    let home = at
        .query(move |c| {
            timelines::home(
                c,
                &viewer,
                timelines::Page::new(None, None, None, Some(40), 20, 40),
            )
        })
        .await;
    home.iter()
        .any(|s| s.reblog_of_id == Some(original.id) && s.account_id == group.id)
}

on_both_backends!(
    open_group_across_three_instances,
    |backend: Backend| async move {
        let (alpha, beta, gamma) = trio(backend).await;
        let alice = alpha.create_user("alice").await;
        let bob = beta.create_user("bob").await;
        let dave = gamma.create_user("dave").await;
        let team = groups::create(
            &alpha.app.state,
            &alice,
            NewGroup {
                name: "launch".into(),
                display_name: "Launch team".into(),
                discoverable: true,
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .account;

        // The group is found by WebFinger from elsewhere, as a Group.
        let handle = format!("launch@{}", alpha.domain);
        let found = resolve_account(&beta.data(), &handle).await.unwrap();
        assert_eq!(found.uri, team.uri);

        let team_at_beta = join(&beta, &bob, &team).await;
        let team_at_gamma = join(&gamma, &dave, &team).await;
        let tid = team.id;
        assert_eq!(
            alpha
                .query(move |c| Account::by_id(c, tid))
                .await
                .followers_count,
            3,
            "owner, bob and dave are members"
        );

        // Bob posts to the group by mentioning it.
        let text = format!("@launch@{} the venue is booked", alpha.domain);
        let post = posts::post_status(&beta.data(), &bob, PostInput::public(&text))
            .await
            .unwrap();
        let uri = post.uri.clone();
        eventually("alpha's member sees bob's post via the group", || async {
            boosted_in_home(&alpha, &alice, &team.uri, &uri).await
        })
        .await;
        eventually("gamma's member sees it as a boost by the group", || async {
            boosted_in_home(&gamma, &dave, &team.uri, &uri).await
        })
        .await;
        // The group timeline on each instance holds it.
        for (i, gid) in [
            (&alpha, team.id),
            (&beta, team_at_beta.id),
            (&gamma, team_at_gamma.id),
        ] {
            let u = uri.clone();
            eventually("in the group timeline", || async {
                let rows = i
                    .query(move |c| {
                        timelines::group(
                            c,
                            None,
                            gid,
                            timelines::Page::new(None, None, None, None, 20, 40),
                        )
                    })
                    .await;
                rows.iter().any(|s| s.uri == u)
            })
            .await;
        }

        // Dave replies on gamma; the reply threads under the post everywhere.
        let on_gamma = status_at(&gamma, &post.uri).await.unwrap();
        let reply = posts::post_status(
            &gamma.data(),
            &dave,
            PostInput {
                in_reply_to_id: Some(on_gamma.id),
                ..PostInput::public("count me in")
            },
        )
        .await
        .unwrap();
        let reply_uri = reply.uri.clone();
        for i in [&alpha, &beta] {
            let (ru, pu) = (reply_uri.clone(), post.uri.clone());
            eventually("reply threads", || async {
                let (Some(r), Some(p)) = (status_at(i, &ru).await, status_at(i, &pu).await) else {
                    return false;
                };
                r.in_reply_to_id == Some(p.id)
            })
            .await;
        }
        let ru = reply_uri.clone();
        eventually("the group took the reply in too", || async {
            boosted_in_home(&beta, &bob, &team.uri, &ru).await
        })
        .await;

        // A non-member's mention does not make it into the group.
        let eve = gamma.create_user("eve").await;
        let outsider = posts::post_status(
            &gamma.data(),
            &eve,
            PostInput::public(&format!("@launch@{} spam", alpha.domain)),
        )
        .await
        .unwrap();
        let ou = outsider.uri.clone();
        eventually("alpha got the outsider's post", || async {
            status_at(&alpha, &ou).await.is_some()
        })
        .await;
        let o = status_at(&alpha, &outsider.uri).await.unwrap();
        let rows = alpha
            .query(move |c| {
                meetfield::db::schema::group_posts::table
                    .filter(meetfield::db::schema::group_posts::status_id.eq(o.id))
                    .count()
                    .get_result::<i64>(c)
            })
            .await;
        assert_eq!(rows, 0);

        // The moderator on alpha removes bob's post: it leaves the group on
        // every instance.
        let on_alpha = status_at(&alpha, &post.uri).await.unwrap();
        groups::remove_post(&alpha.app.state, &alice, team.id, on_alpha.id)
            .await
            .unwrap();
        for (i, viewer) in [(&beta, &bob), (&gamma, &dave)] {
            let u = post.uri.clone();
            eventually("the group's boost is gone", || async {
                !boosted_in_home(i, viewer, &team.uri, &u).await
            })
            .await;
        }
        let gid = team_at_gamma.id;
        let u = post.uri.clone();
        let rows = gamma
            .query(move |c| {
                timelines::group(
                    c,
                    None,
                    gid,
                    timelines::Page::new(None, None, None, None, 20, 40),
                )
            })
            .await;
        assert!(
            rows.iter().all(|s| s.uri != u),
            "gone from gamma's group timeline"
        );
    }
);
