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
        // Both shapes went out (the plain Announce for Mastodon, the one
        // with the Create inside for Lemmy); receivers keep one boost.
        let gamma_inbox = format!("http://{}/inbox", gamma.domain);
        let gi = gamma_inbox.clone();
        eventually("both Announce shapes delivered to gamma", || async {
            let gi = gi.clone();
            alpha
                .query(move |c| {
                    use meetfield::db::schema::deliveries as d;
                    d::table
                        .filter(d::inbox.eq(gi))
                        .filter(d::payload.like("%\"type\":\"Announce\"%"))
                        .filter(d::state.eq("done"))
                        .select(d::activity_id)
                        .load::<String>(c)
                })
                .await
                .iter()
                .filter(|id| id.ends_with("/activity") || id.ends_with("/activity/lemmy"))
                .count()
                >= 2
        })
        .await;
        let on_gamma_post = status_at(&gamma, &uri).await.unwrap();
        let gid_g = team_at_gamma.id;
        let boosts = gamma
            .query(move |c| {
                use meetfield::db::schema::statuses as st;
                st::table
                    .filter(st::reblog_of_id.eq(on_gamma_post.id))
                    .filter(st::account_id.eq(gid_g))
                    .count()
                    .get_result::<i64>(c)
            })
            .await;
        assert_eq!(boosts, 1, "one boost per group and post");

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
        // Also in Lemmy's shape: the moderator's Delete, announced.
        eventually("Announce(Delete) delivered to beta and gamma", || async {
            alpha
                .query(|c| {
                    use meetfield::db::schema::deliveries as d;
                    d::table
                        .filter(d::payload.like("%\"type\":\"Announce\"%"))
                        .filter(d::payload.like("%\"type\":\"Delete\"%"))
                        .filter(d::state.eq("done"))
                        .count()
                        .get_result::<i64>(c)
                })
                .await
                == 2
        })
        .await;

        // A new moderator is announced to the members' servers (Add to the
        // moderators collection), which accept it.
        let bob_at_alpha = alpha.account_by_uri(&bob.uri).await.unwrap();
        groups::set_moderator(&alpha.app.state, &alice, team.id, bob_at_alpha.id, true)
            .await
            .unwrap();
        eventually(
            "Add of the moderator delivered to beta and gamma",
            || async {
                alpha
                    .query(|c| {
                        use meetfield::db::schema::deliveries as d;
                        d::table
                            .filter(d::payload.like("%\"type\":\"Add\"%"))
                            .filter(d::payload.like("%/moderators%"))
                            .filter(d::state.eq("done"))
                            .count()
                            .get_result::<i64>(c)
                    })
                    .await
                    == 2
            },
        )
        .await;
        // Members' servers know who moderates: alice from the group's
        // moderators collection (read when they first saw the group), bob
        // from the Add; the Remove takes bob off again.
        let mods_at = |i: &'static str| {
            let (inst, uri) = (if i == "beta" { &beta } else { &gamma }, team.uri.clone());
            async move {
                let g = inst.account_by_uri(&uri).await.unwrap();
                let mut names: Vec<String> = inst
                    .query(move |c| groups::moderators(c, g.id))
                    .await
                    .into_iter()
                    .map(|a| a.uri)
                    .collect();
                names.sort();
                names
            }
        };
        let mut both = vec![alice.uri.clone(), bob.uri.clone()];
        both.sort();
        for at in ["beta", "gamma"] {
            let want = both.clone();
            eventually("members' servers list both moderators", || async {
                mods_at(at).await == want
            })
            .await;
        }
        let (bid, gid) = (bob.id, team_at_beta_id(&beta, &team.uri).await);
        let role = beta
            .query(move |c| {
                let g = groups::find(c, gid).map_err(|_| diesel::result::Error::NotFound)?;
                groups::role(c, &g, bid)
            })
            .await;
        assert_eq!(
            role.as_str(),
            Some("moderator"),
            "bob sees his role on beta"
        );
        groups::set_moderator(&alpha.app.state, &alice, team.id, bob_at_alpha.id, false)
            .await
            .unwrap();
        eventually("the Remove reaches beta", || async {
            mods_at("beta").await == vec![alice.uri.clone()]
        })
        .await;
    }
);

async fn team_at_beta_id(beta: &Instance, uri: &str) -> i64 {
    beta.account_by_uri(uri).await.unwrap().id
}

on_both_backends!(
    closed_group_keeps_posts_inside,
    |backend: Backend| async move {
        let (alpha, beta, gamma) = trio(backend).await;
        let alice = alpha.create_user("alice").await;
        let bob = beta.create_user("bob").await;
        let erin = beta.create_user("erin").await;
        let board = groups::create(
            &beta.app.state,
            &bob,
            NewGroup {
                name: "board".into(),
                closed: true,
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .account;

        // Alice asks to join; the request waits for a moderator.
        let board_at_alpha = resolve_account(&alpha.data(), &board.uri).await.unwrap();
        follows::follow(&alpha.app.state, &alice, &board_at_alpha)
            .await
            .unwrap();
        let bid = board.id;
        eventually("request arrives", || async {
            beta.query(move |c| {
                meetfield::db::schema::follows::table
                    .filter(meetfield::db::schema::follows::target_account_id.eq(bid))
                    .filter(meetfield::db::schema::follows::pending.eq(true))
                    .count()
                    .get_result::<i64>(c)
            })
            .await
                == 1
        })
        .await;
        let alice_at_beta = beta.account_by_uri(&alice.uri).await.unwrap();
        groups::answer_request(&beta.data(), &bob, board.id, alice_at_beta.id, true)
            .await
            .unwrap();
        let (aid, gid) = (alice.id, board_at_alpha.id);
        eventually("alice is a member", || async {
            alpha
                .query(move |c| Follow::find(c, aid, gid))
                .await
                .is_some_and(|f| !f.pending)
        })
        .await;

        eventually("alice is welcomed by the group", || async {
            alpha
                .query(move |c| {
                    use meetfield::db::schema::notifications as n;
                    n::table
                        .filter(n::account_id.eq(aid))
                        .filter(n::from_account_id.eq(gid))
                        .filter(n::kind.eq("mention"))
                        .count()
                        .get_result::<i64>(c)
                })
                .await
                == 1
        })
        .await;

        // Bob posts to the members only (direct, to the group).
        let secret = posts::post_status(
            &beta.data(),
            &bob,
            PostInput {
                visibility: meetfield::federation::protocol::note::Visibility::Direct,
                ..PostInput::public("@board the budget is approved")
            },
        )
        .await
        .unwrap();
        let su = secret.uri.clone();
        eventually("alice sees the members-only post", || async {
            boosted_in_home(&alpha, &alice, &board.uri, &su).await
        })
        .await;
        let at_alpha = status_at(&alpha, &secret.uri).await.unwrap();
        assert_eq!(at_alpha.visibility, "direct");
        let (a, s) = (alice.clone(), at_alpha.clone());
        assert!(
            alpha
                .query(move |c| timelines::can_view(c, Some(&a), &s))
                .await
        );

        // Nobody else gets it: not a local non-member, not another server.
        let (e, s) = (erin.clone(), secret.clone());
        assert!(
            !beta
                .query(move |c| timelines::can_view(c, Some(&e), &s))
                .await
        );
        assert!(status_at(&gamma, &secret.uri).await.is_none());
        let fetched = activitypub_federation::fetch::object_id::ObjectId::<
            meetfield::federation::objects::ApubNote,
        >::parse(&secret.uri)
        .unwrap()
        .dereference(&gamma.data())
        .await;
        assert!(fetched.is_err(), "a non-member's server cannot fetch it");
        let outbox: serde_json::Value = crate::harness::http()
            .get(format!(
                "{}?page=true",
                meetfield::federation::urls::outbox(&board.uri)
            ))
            .header("accept", "application/activity+json")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(outbox["orderedItems"], serde_json::json!([]), "{outbox}");

        // A removed member's server stops receiving the group's posts.
        groups::remove_member(&beta.app.state, &bob, board.id, alice_at_beta.id)
            .await
            .unwrap();
        eventually("alice's membership ends on alpha", || async {
            alpha
                .query(move |c| Follow::find(c, aid, gid))
                .await
                .is_none()
        })
        .await;
        let later = posts::post_status(
            &beta.data(),
            &bob,
            PostInput {
                visibility: meetfield::federation::protocol::note::Visibility::Direct,
                ..PostInput::public("@board after alice left")
            },
        )
        .await
        .unwrap();
        let alpha_inbox = format!("http://{}/inbox", alpha.domain);
        let lid = later.id.to_string();
        let to_alpha = beta
            .query(move |c| {
                use meetfield::db::schema::deliveries;
                deliveries::table
                    .filter(deliveries::inbox.eq(alpha_inbox))
                    .filter(deliveries::payload.like(format!("%{lid}%")))
                    .count()
                    .get_result::<i64>(c)
            })
            .await;
        assert_eq!(to_alpha, 0);
    }
);

on_both_backends!(
    announcement_only_group_refuses_members,
    |backend: Backend| async move {
        let (alpha, beta, _gamma) = trio(backend).await;
        let alice = alpha.create_user("alice").await;
        let bob = beta.create_user("bob").await;
        let news = groups::create(
            &beta.app.state,
            &bob,
            NewGroup {
                name: "news".into(),
                announcement_only: true,
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .account;
        join(&alpha, &alice, &news).await;

        let from_member = posts::post_status(
            &alpha.data(),
            &alice,
            PostInput::public(&format!("@news@{} may I?", beta.domain)),
        )
        .await
        .unwrap();
        let mu = from_member.uri.clone();
        eventually("beta got the member's post", || async {
            status_at(&beta, &mu).await.is_some()
        })
        .await;
        let m = status_at(&beta, &from_member.uri).await.unwrap();
        let taken = beta
            .query(move |c| meetfield::domain::groups::groups_of_parent(c, m.id))
            .await;
        assert!(taken.is_empty(), "members' posts are refused");

        let from_mod = posts::post_status(
            &beta.data(),
            &bob,
            PostInput::public("@news release on Monday"),
        )
        .await
        .unwrap();
        let u = from_mod.uri.clone();
        eventually("the moderator's post reaches the member", || async {
            boosted_in_home(&alpha, &alice, &news.uri, &u).await
        })
        .await;
    }
);

on_both_backends!(
    lemmy_shaped_announce_of_a_page,
    |backend: Backend| async move {
        // Lemmy's communities Announce the whole Create activity, with the
        // post (a Page with a title) inline. Lemmy itself cannot run here;
        // beta's group sends exactly that shape, signed, over HTTP.
        let (alpha, beta, _gamma) = trio(backend).await;
        let alice = alpha.create_user("alice").await;
        let bob = beta.create_user("bob").await;
        let community = groups::create(
            &beta.app.state,
            &bob,
            NewGroup {
                name: "rust".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .account;
        join(&alpha, &alice, &community).await;

        let page_id = format!("{}/statuses/{}", bob.uri, 4242);
        let public = "https://www.w3.org/ns/activitystreams#Public";
        let announce = serde_json::json!({
            "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
            "id": format!("{}/activities/announce/create/1", community.uri),
            "type": "Announce",
            "actor": community.uri,
            "to": [public],
            "cc": [format!("{}/followers", community.uri)],
            "object": {
                "id": format!("{}/activities/create/1", community.uri),
                "type": "Create",
                "actor": bob.uri,
                "to": [community.uri, public],
                "cc": [],
                "audience": community.uri,
                "object": {
                    "id": page_id,
                    "type": "Page",
                    "attributedTo": bob.uri,
                    "name": "Release 1.0 is out",
                    "content": "<p>Notes inside.</p>",
                    "mediaType": "text/html",
                    "to": [community.uri, public],
                    "cc": [],
                    "audience": community.uri,
                    "published": "2026-11-22T10:00:00Z"
                }
            }
        });
        let inbox = format!("http://{}/inbox", alpha.domain);
        let cid = community.id;
        beta.query(move |c| meetfield::delivery::enqueue(c, cid, &announce, &[inbox]))
            .await;
        beta.app.state.delivery_wake.notify_one();
        let pid = page_id.clone();
        eventually("the Page arrives as the community's boost", || async {
            boosted_in_home(&alpha, &alice, &community.uri, &pid).await
        })
        .await;
        let page = status_at(&alpha, &page_id).await.unwrap();
        assert!(
            page.content.contains("Release 1.0 is out"),
            "{}",
            page.content
        );

        // A Lemmy moderator's removal, relayed by the community as
        // Announce(Delete): the post leaves the group on alpha.
        let removal = serde_json::json!({
            "@context": ["https://www.w3.org/ns/activitystreams"],
            "id": format!("{}/activities/announce/delete/1", community.uri),
            "type": "Announce",
            "actor": community.uri,
            "to": [public],
            "cc": [format!("{}/followers", community.uri)],
            "object": {
                "id": format!("{}/activities/delete/1", community.uri),
                "type": "Delete",
                "actor": bob.uri,
                "to": [public],
                "object": page_id,
                "summary": "off topic",
                "audience": community.uri,
            }
        });
        let inbox = format!("http://{}/inbox", alpha.domain);
        beta.query(move |c| meetfield::delivery::enqueue(c, cid, &removal, &[inbox]))
            .await;
        beta.app.state.delivery_wake.notify_one();
        let pid = page_id.clone();
        eventually("the removed Page leaves alice's home", || async {
            !boosted_in_home(&alpha, &alice, &community.uri, &pid).await
        })
        .await;
    }
);

on_both_backends!(
    invitees_join_a_closed_group_without_approval,
    |backend: Backend| async move {
        use meetfield::domain::group_invites;
        let (alpha, beta, _gamma) = trio(backend).await;
        let alice = alpha.create_user("alice").await;
        let carl = alpha.create_user("carl").await;
        let bob = beta.create_user("bob").await;
        let erin = beta.create_user("erin").await;
        let team = groups::create(
            &alpha.app.state,
            &alice,
            NewGroup {
                name: "incident42".into(),
                display_name: "Incident 42".into(),
                closed: true,
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .account;
        // alpha knows bob (a partner's person found by "who knows X?").
        let bob_at_alpha = resolve_account(&alpha.data(), &bob.uri).await.unwrap();
        let invited = group_invites::invite(
            &alpha.data(),
            &alice,
            team.id,
            vec![bob_at_alpha.id, carl.id],
        )
        .await
        .unwrap();
        assert_eq!(invited.len(), 2);
        // Only moderators invite.
        assert!(
            group_invites::invite(&alpha.data(), &carl, team.id, vec![alice.id])
                .await
                .is_err()
        );

        // bob hears of it in a direct post from the group, in any app.
        let bid = bob.id;
        eventually("bob gets the invitation", || async {
            beta.query(move |c| {
                use meetfield::db::schema::{notifications as n, statuses as s};
                n::table
                    .inner_join(s::table.on(s::id.nullable().eq(n::status_id)))
                    .filter(n::account_id.eq(bid))
                    .filter(n::kind.eq("mention"))
                    .filter(s::content.like("%invited you to join Incident 42%"))
                    .count()
                    .get_result::<i64>(c)
            })
            .await
                == 1
        })
        .await;

        // Following the group is enough: no request waits for a moderator.
        join(&beta, &bob, &team).await;
        let (tid, aid) = (team.id, alice.id);
        let waiting = alpha
            .query(move |c| {
                use meetfield::db::schema::follows as f;
                f::table
                    .filter(f::target_account_id.eq(tid))
                    .filter(f::pending.eq(true))
                    .count()
                    .get_result::<i64>(c)
            })
            .await;
        assert_eq!(waiting, 0);
        follows::follow(&alpha.app.state, &carl, &team)
            .await
            .unwrap();
        let cid = carl.id;
        assert!(
            alpha
                .query(move |c| Follow::find(c, cid, tid))
                .await
                .is_some_and(|f| !f.pending),
            "a local invitee is in at once"
        );
        let left = alpha.query(move |c| group_invites::pending(c, tid)).await;
        assert!(left.is_empty(), "invitations are used up: {left:?}");

        // erin was not invited: her request waits.
        let team_at_beta = resolve_account(&beta.data(), &team.uri).await.unwrap();
        follows::follow(&beta.app.state, &erin, &team_at_beta)
            .await
            .unwrap();
        eventually("erin's request arrives and waits", || async {
            alpha
                .query(move |c| {
                    use meetfield::db::schema::follows as f;
                    f::table
                        .filter(f::target_account_id.eq(tid))
                        .filter(f::pending.eq(true))
                        .count()
                        .get_result::<i64>(c)
                })
                .await
                == 1
        })
        .await;
        let (eid, tbid) = (erin.id, team_at_beta.id);
        assert!(
            beta.query(move |c| Follow::find(c, eid, tbid))
                .await
                .is_some_and(|f| f.pending)
        );
        // Inviting someone who already asked lets them in.
        let erin_at_alpha = alpha.account_by_uri(&erin.uri).await.unwrap();
        group_invites::invite(&alpha.data(), &alice, tid, vec![erin_at_alpha.id])
            .await
            .unwrap();
        eventually("erin is let in", || async {
            beta.query(move |c| Follow::find(c, eid, tbid))
                .await
                .is_some_and(|f| !f.pending)
        })
        .await;
        let _ = aid;
    }
);
