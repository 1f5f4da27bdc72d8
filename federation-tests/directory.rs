//! Partners' directories across three instances: people on beta and gamma
//! appear in alpha's "who knows X?" after a sync, leave it when they opt
//! out or leave, and nothing reaches an instance that is not a partner.

use meetfield::config::FederationMode;
use meetfield::db::models::Account;
use meetfield::domain::accounts::{ProfileChange, update_profile};
use meetfield::error::AppError;
use meetfield::org::expertise::{ExpertQuery, find};
use meetfield::org::partners::sync;

use crate::common::Backend;
use crate::harness::{Instance, http, trio};
use crate::on_both_backends;

async fn person(at: &Instance, name: &str, discoverable: bool, skills: &str) -> Account {
    let a = at.create_user(name).await;
    update_profile(
        &at.app.state,
        &a,
        ProfileChange {
            discoverable: Some(discoverable),
            fields: Some(vec![
                ("Skills".into(), skills.into()),
                ("Department".into(), format!("{} unit", at.name)),
            ]),
            ..Default::default()
        },
    )
    .await
    .unwrap()
}

/// Who alpha finds for `q`, as acct-less URIs, sorted.
async fn experts(at: &Instance, q: &str) -> Vec<(String, Vec<String>)> {
    let (own, q) = (at.domain.clone(), q.to_string());
    let mut found: Vec<(String, Vec<String>)> = at
        .app
        .state
        .db
        .run(move |c| {
            find(
                c,
                None,
                &own,
                &ExpertQuery {
                    q: Some(q),
                    ..Default::default()
                },
            )
            .map_err(AppError::from)
        })
        .await
        .unwrap()
        .into_iter()
        .map(|e| {
            (
                e.account.uri,
                e.reasons
                    .into_iter()
                    .map(|r| format!("{}:{}", r.kind, r.detail))
                    .collect(),
            )
        })
        .collect();
    found.sort();
    found
}

on_both_backends!(
    partners_find_each_other_after_a_directory_sync,
    |backend: Backend| async move {
        let (alpha, beta, gamma) = trio(backend).await;
        let bea = person(&beta, "bea", true, "Kubernetes, Go").await;
        let _ben = person(&beta, "ben", false, "Kubernetes").await;
        let gus = person(&gamma, "gus", true, "k8s operations").await;
        let (who, base) = (gus.clone(), gamma.app.state.base_url());
        gamma
            .app
            .state
            .db
            .transaction(move |c| meetfield::domain::tags::feature(c, &who, "GitOps", false, &base))
            .await
            .unwrap();

        // Nobody is known before the sync.
        assert!(experts(&alpha, "kubernetes").await.is_empty());
        let r = sync(&alpha.data(), &beta.domain, false).await.unwrap();
        assert!(r.full);
        assert_eq!((r.added, r.changed, r.removed), (1, 0, 0), "{r}");
        let r = sync(&alpha.data(), &gamma.domain, false).await.unwrap();
        assert_eq!(r.added, 1, "{r}");
        let found = experts(&alpha, "kubernetes").await;
        assert_eq!(
            found.iter().map(|f| f.0.as_str()).collect::<Vec<_>>(),
            [bea.uri.as_str()],
            "ben opted out; gus says k8s, which alpha has no synonym for"
        );
        assert!(
            found[0].1.contains(&"skill:Kubernetes".to_string()),
            "{found:?}"
        );
        let found = experts(&alpha, "gitops").await;
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].0, gus.uri);
        assert!(
            found[0].1.contains(&"featured_tag:#GitOps".to_string()),
            "{found:?}"
        );
        // Departments come along for the directory filter.
        let (own, uri) = (alpha.domain.clone(), bea.uri.clone());
        let by_department = alpha
            .query(move |c| {
                meetfield::org::directory::list(
                    c,
                    None,
                    &own,
                    &meetfield::org::directory::DirectoryQuery {
                        department: Some("beta unit".into()),
                        ..Default::default()
                    },
                )
            })
            .await;
        assert_eq!(
            by_department
                .iter()
                .map(|a| a.uri.clone())
                .collect::<Vec<_>>(),
            [uri]
        );

        // Again, incrementally: nothing changed.
        let r = sync(&alpha.data(), &beta.domain, false).await.unwrap();
        assert!(!r.full);
        assert_eq!((r.added, r.changed, r.removed), (0, 0, 0), "{r}");

        // Bea changes her skills, then opts out: each shows after a sync.
        update_profile(
            &beta.app.state,
            &bea,
            ProfileChange {
                fields: Some(vec![("Skills".into(), "Kubernetes, Terraform".into())]),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        let r = sync(&alpha.data(), &beta.domain, false).await.unwrap();
        assert_eq!((r.added, r.changed, r.removed), (0, 1, 0), "{r}");
        assert_eq!(experts(&alpha, "terraform").await.len(), 1);
        update_profile(
            &beta.app.state,
            &bea,
            ProfileChange {
                discoverable: Some(false),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        let r = sync(&alpha.data(), &beta.domain, false).await.unwrap();
        assert_eq!(r.removed, 1, "{r}");
        assert!(experts(&alpha, "kubernetes").await.is_empty());

        // Gus leaves gamma: gone after the next sync.
        meetfield::domain::accounts::delete_local_account(&gamma.app.state, &gus)
            .await
            .unwrap();
        let r = sync(&alpha.data(), &gamma.domain, false).await.unwrap();
        assert_eq!(r.removed, 1, "{r}");
        assert!(experts(&alpha, "gitops").await.is_empty());

        // Beta stops sharing with alpha; alpha stops reading gamma.
        beta.app
            .state
            .db
            .transaction({
                let d = alpha.domain.clone();
                move |c| meetfield::org::partners::set_peer(c, &d, Some(false), None)
            })
            .await
            .unwrap();
        let host = alpha.domain.split(':').next().unwrap().to_string();
        assert!(
            !beta
                .query(move |c| meetfield::org::partners::shared_with(c, &host))
                .await
        );
        let e = sync(&alpha.data(), &beta.domain, true).await.unwrap_err();
        assert!(e.to_string().contains("refused"), "{e}");
        alpha
            .app
            .state
            .db
            .transaction({
                let d = gamma.domain.clone();
                move |c| meetfield::org::partners::set_peer(c, &d, None, Some(false))
            })
            .await
            .unwrap();
        let e = sync(&alpha.data(), &gamma.domain, true).await.unwrap_err();
        assert!(e.to_string().contains("turned off"), "{e}");
    }
);

on_both_backends!(
    the_directory_goes_to_partners_only,
    |backend: Backend| async move {
        let beta = Instance::start("beta", backend, FederationMode::Allowlist).await;
        let alpha = Instance::start("alpha", backend, FederationMode::Allowlist).await;
        let delta = Instance::start("delta", backend, FederationMode::Allowlist).await;
        // Alpha and delta allow beta; beta allows only alpha.
        beta.allow(&alpha).await;
        alpha.allow(&beta).await;
        delta.allow(&beta).await;
        person(&beta, "bea", true, "Kubernetes").await;

        // Published where partners look.
        let info: serde_json::Value = http()
            .get(format!("{}/nodeinfo/2.1", beta.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let url = info["metadata"]["directory"].as_str().unwrap().to_string();
        assert_eq!(url, format!("{}/actor/directory", beta.base));
        let actor: serde_json::Value = http()
            .get(format!("{}/actor", beta.base))
            .header("accept", "application/activity+json")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(actor["directory"], url.as_str());

        // Unsigned: 401, nothing listed.
        let r = http()
            .get(&url)
            .header("accept", "application/activity+json")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
        assert!(!r.text().await.unwrap().contains("bea"));
        // Signed by a non-partner: refused.
        let e = sync(&delta.data(), &beta.domain, true).await.unwrap_err();
        assert!(e.to_string().contains("refused"), "{e}");
        assert!(
            delta
                .query(|c| {
                    use diesel::prelude::*;
                    meetfield::db::schema::accounts::table
                        .filter(meetfield::db::schema::accounts::username.eq("bea"))
                        .count()
                        .get_result::<i64>(c)
                })
                .await
                == 0
        );
        // A partner reads it.
        let r = sync(&alpha.data(), &beta.domain, true).await.unwrap();
        assert_eq!(r.added, 1, "{r}");
    }
);

on_both_backends!(
    a_long_directory_is_read_to_its_last_page,
    |backend: Backend| async move {
        // One person a page: more pages than the federation library lets
        // one request chain fetch.
        let beta = Instance::start_with("beta", backend, FederationMode::Open, |c| {
            c.directory_page_size = 1
        })
        .await;
        let alpha = Instance::start("alpha", backend, FederationMode::Open).await;
        for i in 0..30 {
            person(&beta, &format!("p{i}"), true, "Kubernetes").await;
        }
        let r = sync(&alpha.data(), &beta.domain, true).await.unwrap();
        assert_eq!(r.added, 30, "{r}");
        assert!(r.pages >= 30, "{r:?}");
        assert_eq!(
            experts(&alpha, "kubernetes").await.len(),
            20,
            "the first page of experts"
        );
    }
);
