//! Polls across two instances: the Question arrives, a remote vote is
//! counted once, the new counts come back, and the end is announced on
//! both sides.

use diesel::prelude::*;
use meetfield::db::models::Status;
use meetfield::domain::polls::{self, NewPoll};
use meetfield::domain::statuses::{self as posts, PostInput};

use crate::common::Backend;
use crate::harness::{Instance, eventually, eventually_within, follow, trio};
use crate::on_both_backends;

/// The poll (and its option counts) of the copy of `uri` at `at`.
async fn poll_at(at: &Instance, uri: &str) -> Option<(polls::Poll, Vec<i64>)> {
    let uri = uri.to_string();
    at.query(move |c| {
        let Some(s) = Status::by_uri(c, &uri)? else {
            return Ok(None);
        };
        let Some(p) = polls::of_status(c, s.id)? else {
            return Ok(None);
        };
        let counts = polls::options(c, p.id)?
            .into_iter()
            .map(|o| o.votes_count)
            .collect();
        Ok::<_, diesel::result::Error>(Some((p, counts)))
    })
    .await
}

async fn poll_notifications(at: &Instance, account: i64) -> usize {
    at.query(move |c| {
        use meetfield::db::schema::notifications as n;
        n::table
            .filter(n::account_id.eq(account))
            .filter(n::kind.eq("poll"))
            .count()
            .get_result::<i64>(c)
    })
    .await as usize
}

on_both_backends!(
    poll_votes_and_results_cross_instances,
    |backend: Backend| async move {
        let (alpha, beta, gamma) = trio(backend).await;
        let alice = alpha.create_user("alice").await;
        let bob = beta.create_user("bob").await;
        let dave = gamma.create_user("dave").await;
        follow(&beta, &bob, &alice).await;
        follow(&gamma, &dave, &alice).await;

        let status = posts::post_status(
            &alpha.data(),
            &alice,
            PostInput {
                poll: Some(NewPoll {
                    options: vec!["Tuesday".into(), "Thursday".into()],
                    expires_in: 3600,
                    multiple: false,
                    hide_totals: false,
                }),
                ..PostInput::public("Offsite day?")
            },
        )
        .await
        .unwrap();
        let uri = status.uri.clone();
        eventually("the Question reaches beta and gamma as a poll", || async {
            poll_at(&beta, &uri).await.is_some() && poll_at(&gamma, &uri).await.is_some()
        })
        .await;
        let (at_beta, counts) = poll_at(&beta, &uri).await.unwrap();
        assert_eq!(counts, vec![0, 0]);
        assert!(!at_beta.multiple);
        assert!(at_beta.expires_at.is_some());

        // bob votes on beta: the vote goes to alpha as a Note.
        meetfield::domain::polls::vote(&beta.data(), &bob, at_beta.id, vec![1])
            .await
            .unwrap();
        eventually("alpha counts bob's vote", || async {
            poll_at(&alpha, &uri).await.unwrap().1 == vec![0, 1]
        })
        .await;
        // alpha's Update brings the result to gamma (which did not vote).
        eventually("gamma sees the new count", || async {
            poll_at(&gamma, &uri).await.unwrap().1 == vec![0, 1]
        })
        .await;
        let (at_alpha, _) = poll_at(&alpha, &uri).await.unwrap();
        assert_eq!((at_alpha.votes_count, at_alpha.voters_count), (1, 1));

        // The same voter again (another activity, same or other option) is
        // not counted: one ballot per voter in a single-choice poll.
        let bob_at_alpha = alpha.account_by_uri(&bob.uri).await.unwrap();
        for (n, option) in [(1, "Thursday"), (2, "Tuesday")] {
            let vote: meetfield::federation::protocol::note::NoteJson =
                serde_json::from_value(serde_json::json!({
                    "id": format!("{}#votes/replayed-{n}", bob.uri),
                    "type": "Note",
                    "name": option,
                    "attributedTo": bob.uri,
                    "inReplyTo": uri,
                    "to": [alice.uri],
                }))
                .unwrap();
            assert!(
                meetfield::domain::polls::receive_vote(&alpha.data(), &bob_at_alpha, &vote)
                    .await
                    .unwrap(),
                "a vote, not a post"
            );
        }
        assert_eq!(poll_at(&alpha, &uri).await.unwrap().1, vec![0, 1]);
        // bob cannot vote twice from beta either.
        assert!(
            meetfield::domain::polls::vote(&beta.data(), &bob, at_beta.id, vec![0])
                .await
                .is_err()
        );

        // The end: alpha notices, notifies alice, and sends the closed
        // Question; beta then notifies bob. dave did not vote: nothing for him.
        let sid = status.id;
        alpha
            .query(move |c| {
                use meetfield::db::schema::polls as p;
                diesel::update(p::table.filter(p::status_id.eq(sid)))
                    .set(p::expires_at.eq(meetfield::db::now() - chrono::Duration::seconds(1)))
                    .execute(c)
            })
            .await;
        eventually_within(
            std::time::Duration::from_secs(30),
            "both ends announce the poll's end",
            || async {
                poll_notifications(&alpha, alice.id).await == 1
                    && poll_notifications(&beta, bob.id).await == 1
            },
        )
        .await;
        let (ended, counts) = poll_at(&beta, &uri).await.unwrap();
        assert!(ended.expired(), "beta has the closed poll");
        assert_eq!(counts, vec![0, 1]);
        assert_eq!(poll_notifications(&gamma, dave.id).await, 0);
    }
);

on_both_backends!(
    a_scheduling_poll_with_ten_slots_crosses_instances,
    |backend: Backend| async move {
        let (alpha, beta, _gamma) = trio(backend).await;
        let alice = alpha.create_user("alice").await;
        let bob = beta.create_user("bob").await;
        follow(&beta, &bob, &alice).await;
        let slots: Vec<String> = (0..10).map(|i| format!("Mon {}:00", 8 + i)).collect();
        let status = posts::post_status(
            &alpha.data(),
            &alice,
            PostInput {
                poll: Some(NewPoll {
                    options: slots.clone(),
                    expires_in: 86_400,
                    multiple: true,
                    hide_totals: false,
                }),
                ..PostInput::public("Which slot works for the incident review?")
            },
        )
        .await
        .unwrap();
        let uri = status.uri.clone();
        eventually("the ten-option Question reaches beta", || async {
            poll_at(&beta, &uri).await.is_some()
        })
        .await;
        let (at_beta, counts) = poll_at(&beta, &uri).await.unwrap();
        assert_eq!(counts, vec![0; 10]);
        assert!(at_beta.multiple);
        let pid = at_beta.id;
        let titles: Vec<String> = beta
            .query(move |c| polls::options(c, pid))
            .await
            .into_iter()
            .map(|o| o.title)
            .collect();
        assert_eq!(titles, slots);
        polls::vote(&beta.data(), &bob, at_beta.id, vec![0, 5, 9])
            .await
            .unwrap();
        eventually("alpha counts bob's three slots", || async {
            let c = poll_at(&alpha, &uri).await.unwrap().1;
            c[0] == 1 && c[5] == 1 && c[9] == 1 && c.iter().sum::<i64>() == 3
        })
        .await;
        let (at_alpha, _) = poll_at(&alpha, &uri).await.unwrap();
        assert_eq!((at_alpha.votes_count, at_alpha.voters_count), (3, 1));
    }
);
