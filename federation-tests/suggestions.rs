//! Follow suggestions across three instances, read by a stock client library
//! (Mastodon.py): a colleague of another department comes before one of the
//! same, a partner's person found through the directory and a mention, a
//! person on a third instance through a friend; opted-out people never.

use std::process::Command;

use diesel::prelude::*;
use meetfield::db::models::Account;
use meetfield::domain::accounts::{ProfileChange, update_profile};
use meetfield::domain::groups::{self, NewGroup};
use meetfield::domain::oauth::{Scopes, issue_token};
use meetfield::domain::statuses::{PostInput, post_status};
use serde_json::Value;

use crate::common::Backend;
use crate::harness::{Instance, eventually, follow, trio};
use crate::on_both_backends;

async fn person(at: &Instance, name: &str, dept: &str, skills: &str, listed: bool) -> Account {
    let a = at.create_user(name).await;
    update_profile(
        &at.app.state,
        &a,
        ProfileChange {
            discoverable: Some(listed),
            fields: Some(vec![
                ("Department".into(), dept.into()),
                ("Skills".into(), skills.into()),
            ]),
            ..Default::default()
        },
    )
    .await
    .unwrap()
}

fn step<'a>(steps: &'a [Value], name: &str) -> &'a Value {
    &steps
        .iter()
        .find(|s| s["step"] == name)
        .unwrap_or_else(|| panic!("no step {name}: {steps:?}"))["items"]
}

on_both_backends!(
    a_stock_client_reads_suggestions_that_cross_departments_and_partners,
    |backend: Backend| async move {
        let Some(py) = crate::clients::mastodon_py() else {
            return;
        };
        let (alpha, beta, gamma) = trio(backend).await;
        let alice = person(&alpha, "alice", "Research", "Rust, Kubernetes", true).await;
        let _rita = person(&alpha, "rita", "Research", "Rust", true).await;
        let omar = person(&alpha, "omar", "Operations", "Rust", true).await;
        let _olga = person(&alpha, "olga", "Operations", "Rust", false).await;
        let amy = person(&alpha, "amy", "Research", "Excel", true).await;
        let bea = person(&beta, "bea", "Platform", "Kubernetes", true).await;
        let _ben = person(&beta, "ben", "Platform", "Kubernetes", false).await;
        let gus = person(&gamma, "gus", "Finance", "Forecasting", true).await;
        groups::create(
            &alpha.app.state,
            &omar,
            NewGroup {
                name: "rustaceans".into(),
                display_name: "Rust users".into(),
                discoverable: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();

        // alice follows amy (here); amy follows gus (on gamma).
        meetfield::domain::follows::follow(&alpha.app.state, &alice, &amy)
            .await
            .unwrap();
        follow(&alpha, &amy, &gus).await;
        // alpha reads beta's directory: bea (not ben, who opted out).
        meetfield::org::partners::sync(&alpha.data(), &beta.domain, false)
            .await
            .unwrap();
        // bea mentions alice from beta.
        let handle = format!("@{}", alpha.handle("alice"));
        post_status(
            &beta.data(),
            &bea,
            PostInput::public(&format!("{handle} can you review our Kubernetes chart?")),
        )
        .await
        .unwrap();
        let (alice_id, bea_uri) = (alice.id, bea.uri.clone());
        eventually("alpha records bea's mention of alice", || {
            let bea_uri = bea_uri.clone();
            alpha.query(move |c| {
                use meetfield::db::schema::{accounts, mentions, statuses};
                let by_bea = statuses::table
                    .inner_join(accounts::table)
                    .filter(accounts::uri.eq(bea_uri))
                    .select(statuses::id);
                mentions::table
                    .filter(mentions::status_id.eq_any(by_bea))
                    .filter(mentions::account_id.eq(alice_id))
                    .count()
                    .get_result::<i64>(c)
                    .map(|n| n > 0)
            })
        })
        .await;

        let people = meetfield::org::suggestions::compute(&alpha.app.state.db, 90)
            .await
            .unwrap();
        assert!(people >= 5, "{people}");
        let user_id = alpha
            .query(move |c| {
                use meetfield::db::schema::users;
                users::table
                    .filter(users::account_id.eq(alice_id))
                    .select(users::id)
                    .first::<i64>(c)
            })
            .await;
        let (token, _) = issue_token(
            &alpha.app.state.db,
            None,
            Some(user_id),
            Scopes::parse("read").unwrap(),
        )
        .await
        .unwrap();

        // The library reaches alpha by its loopback address.
        let base = format!(
            "http://127.0.0.1:{}",
            alpha.domain.rsplit(':').next().unwrap()
        );
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/federation-tests/clients/suggestions.py"
        );
        let out = tokio::task::spawn_blocking(move || {
            Command::new(py)
                .args([script, &base, &token, "omar"])
                .output()
                .unwrap()
        })
        .await
        .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success() && stdout.contains("scenario passed"),
            "stdout: {stdout}\nstderr: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let steps: Vec<Value> = stdout
            .lines()
            .filter(|l| l.starts_with('{'))
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();

        let v2 = step(&steps, "v2").as_array().unwrap();
        let accts: Vec<&str> = v2.iter().map(|s| s["acct"].as_str().unwrap()).collect();
        let at = |acct: &str| accts.iter().position(|a| *a == acct);
        let sources = |acct: &str| -> Vec<String> {
            v2.iter()
                .find(|s| s["acct"] == acct)
                .map(|s| serde_json::from_value(s["sources"].clone()).unwrap())
                .unwrap_or_default()
        };
        let bea_acct = format!("bea@{}", beta.domain);
        let gus_acct = format!("gus@{}", gamma.domain);
        for who in ["omar", "rita", bea_acct.as_str(), gus_acct.as_str()] {
            assert!(at(who).is_some(), "{who} suggested: {accts:?}");
        }
        assert!(
            at("omar") < at("rita"),
            "another department first: {accts:?}"
        );
        for never in ["alice", "amy", "olga", "ben"] {
            assert!(
                !accts
                    .iter()
                    .any(|a| *a == never || a.starts_with(&format!("{never}@"))),
                "{never} is never suggested: {accts:?}"
            );
        }
        assert!(sources("omar").contains(&"similar_to_recently_followed".to_string()));
        assert!(
            sources(&gus_acct).contains(&"friends_of_friends".to_string()),
            "{:?}",
            sources(&gus_acct)
        );
        let bea_sources = sources(&bea_acct);
        assert!(
            bea_sources.contains(&"most_interactions".to_string())
                && bea_sources.contains(&"similar_to_recently_followed".to_string()),
            "{bea_sources:?}"
        );
        let legacy = v2.iter().find(|s| s["acct"] == bea_acct.as_str()).unwrap();
        assert_eq!(legacy["source"], "past_interactions");

        let v1: Vec<&str> = step(&steps, "v1")
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap())
            .collect();
        assert_eq!(v1, accts, "v1 lists the same accounts");
        let after: Vec<&str> = step(&steps, "dismissed")
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap())
            .collect();
        assert!(!after.contains(&"omar"), "dismissed: {after:?}");
        assert_eq!(after.len(), accts.len() - 1);
        assert_eq!(step(&steps, "groups"), &serde_json::json!(["rustaceans"]));

        // The dismissal lasts through the next computation.
        meetfield::org::suggestions::compute(&alpha.app.state.db, 90)
            .await
            .unwrap();
        let again = alpha
            .query(move |c| meetfield::org::suggestions::read(c, alice_id, 80))
            .await;
        assert!(again.iter().all(|s| s.account.id != omar.id));
        assert!(!again.is_empty());
    }
);
