//! The `meetfield` command line against real databases.

mod common;

use std::process::{Command, Output, Stdio};

use common::TestDb;
use meetfield::db::models::User;
use meetfield::domain::{password, users};
use meetfield::error::AppError;

const BIN: &str = env!("CARGO_BIN_EXE_meetfield");

fn meetfield(tdb: &TestDb, args: &[&str]) -> Output {
    meetfield_with_stdin(tdb, args, None)
}

fn meetfield_with_stdin(tdb: &TestDb, args: &[&str], stdin: Option<&str>) -> Output {
    use std::io::Write;
    let mut child = Command::new(BIN)
        .env("MEETFIELD_DATABASE_URL", &tdb.url_string)
        .env("MEETFIELD_DATA_DIR", tdb.data_dir())
        .env_remove("MEETFIELD_CONFIG")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(s) = stdin {
        input.write_all(s.as_bytes()).unwrap();
    }
    drop(input);
    child.wait_with_output().unwrap()
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn failed(out: &Output) -> String {
    assert!(!out.status.success(), "expected failure");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!err.contains("panicked"), "{err}");
    err
}

both_backends!(
    migrate_command_then_nothing_pending,
    |tdb: TestDb| async move {
        let first = ok(&meetfield(&tdb, &["migrate"]));
        let count = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/sqlite"))
            .unwrap()
            .count();
        assert!(
            first.contains(&format!("applied {count} migration(s)")),
            "{first}"
        );
        let second = ok(&meetfield(&tdb, &["migrate"]));
        assert!(second.contains("applied 0 migration(s)"), "{second}");
    }
);

both_backends!(
    create_user_stores_verifiable_argon2_hash,
    |tdb: TestDb| async move {
        let out = ok(&meetfield(
            &tdb,
            &[
                "admin",
                "create-user",
                "alice",
                "--email",
                "alice@org.example",
                "--password",
                "s3cure-enough",
                "--admin",
            ],
        ));
        assert!(out.contains("created user alice"), "{out}");
        assert!(
            !out.contains("s3cure-enough"),
            "a given password is not echoed"
        );

        let db = tdb.open().await;
        let (user, account) = db
            .run(|c| User::by_username(c, "alice").map_err(meetfield::db::DbError::from))
            .await
            .unwrap()
            .expect("user exists");
        assert_eq!(user.email, "alice@org.example");
        assert_eq!(user.role, "admin");
        assert!(account.is_local());
        assert_eq!(account.actor_type, "Person");
        assert!(
            user.password_hash.starts_with("$argon2id$"),
            "{}",
            user.password_hash
        );
        assert!(password::verify("s3cure-enough", &user.password_hash));
        assert!(!password::verify("wrong", &user.password_hash));
        // The user can sign in, by username or by email.
        users::authenticate(&db, "alice", "s3cure-enough")
            .await
            .unwrap();
        users::authenticate(&db, "ALICE@org.example", "s3cure-enough")
            .await
            .unwrap();
        assert!(matches!(
            users::authenticate(&db, "alice", "nope-nope").await,
            Err(AppError::Unauthorized(_))
        ));
    }
);

both_backends!(
    generated_password_is_printed_and_works,
    |tdb: TestDb| async move {
        let out = ok(&meetfield(
            &tdb,
            &[
                "admin",
                "create-user",
                "bob",
                "--email",
                "bob@org.example",
                "--generate-password",
            ],
        ));
        let pw = out
            .lines()
            .find_map(|l| l.strip_prefix("password: "))
            .expect("password printed")
            .to_string();
        assert!(pw.len() >= 16);
        let db = tdb.open().await;
        users::authenticate(&db, "bob", &pw).await.unwrap();
    }
);

both_backends!(list_set_password_disable_enable, |tdb: TestDb| async move {
    ok(&meetfield(
        &tdb,
        &[
            "admin",
            "create-user",
            "carol",
            "--email",
            "carol@org.example",
            "--password",
            "first-password",
        ],
    ));
    ok(&meetfield(
        &tdb,
        &[
            "admin",
            "create-user",
            "dave",
            "--email",
            "dave@org.example",
            "--password",
            "first-password",
            "--moderator",
        ],
    ));
    let list = ok(&meetfield(&tdb, &["admin", "list-users"]));
    assert!(
        list.contains("carol") && list.contains("carol@org.example"),
        "{list}"
    );
    assert!(
        list.contains("dave") && list.contains("moderator"),
        "{list}"
    );

    // From standard input, as scripts do it.
    ok(&meetfield_with_stdin(
        &tdb,
        &["admin", "set-password", "carol"],
        Some("second-password\n"),
    ));
    let db = tdb.open().await;
    users::authenticate(&db, "carol", "second-password")
        .await
        .unwrap();
    assert!(
        users::authenticate(&db, "carol", "first-password")
            .await
            .is_err()
    );
    ok(&meetfield(
        &tdb,
        &[
            "admin",
            "set-password",
            "carol",
            "--password",
            "third-password",
        ],
    ));
    users::authenticate(&db, "carol", "third-password")
        .await
        .unwrap();

    ok(&meetfield(&tdb, &["admin", "disable-user", "carol"]));
    assert!(matches!(
        users::authenticate(&db, "carol", "third-password").await,
        Err(AppError::Forbidden(_))
    ));
    let list = ok(&meetfield(&tdb, &["admin", "list-users"]));
    assert!(
        list.lines()
            .any(|l| l.starts_with("carol") && l.contains("disabled")),
        "{list}"
    );
    ok(&meetfield(&tdb, &["admin", "enable-user", "carol"]));
    ok(&meetfield(&tdb, &["admin", "role", "carol", "moderator"]));
    let list = ok(&meetfield(&tdb, &["admin", "list-users"]));
    assert!(
        list.lines()
            .any(|l| l.starts_with("carol") && l.contains("moderator")),
        "{list}"
    );
    assert!(
        failed(&meetfield(&tdb, &["admin", "role", "carol", "overlord"])).contains("unknown role")
    );
    // The owner is named only here, by whoever runs the server.
    ok(&meetfield(&tdb, &["admin", "role", "carol", "owner"]));
    let list = ok(&meetfield(&tdb, &["admin", "list-users"]));
    assert!(
        list.lines()
            .any(|l| l.starts_with("carol") && l.contains("owner")),
        "{list}"
    );
    users::authenticate(&db, "carol", "third-password")
        .await
        .unwrap();
});

both_backends!(
    admin_commands_refuse_bad_input_cleanly,
    |tdb: TestDb| async move {
        let create = |name: &str, email: &str, pw: &str| {
            meetfield(
                &tdb,
                &[
                    "admin",
                    "create-user",
                    name,
                    "--email",
                    email,
                    "--password",
                    pw,
                ],
            )
        };
        ok(&create("erin", "erin@org.example", "long-enough-pw"));
        assert!(
            failed(&create("Erin", "other@org.example", "long-enough-pw"))
                .contains("already taken")
        );
        assert!(
            failed(&create("frank", "ERIN@org.example", "long-enough-pw"))
                .contains("already in use")
        );
        assert!(
            failed(&create("bad name", "x@org.example", "long-enough-pw")).contains("username")
        );
        assert!(failed(&create("gina", "not-an-email", "long-enough-pw")).contains("email"));
        assert!(failed(&create("hank", "h@org.example", "short")).contains("too short"));
        assert!(
            failed(&meetfield(
                &tdb,
                &[
                    "admin",
                    "set-password",
                    "nobody",
                    "--password",
                    "whatever-pw"
                ]
            ))
            .contains("nobody")
        );
        assert!(failed(&meetfield(&tdb, &["admin", "disable-user", "nobody"])).contains("nobody"));
        // No password at all, stdin empty: told what to do.
        assert!(
            failed(&meetfield(
                &tdb,
                &["admin", "create-user", "ivy", "--email", "ivy@org.example"]
            ))
            .contains("--generate-password")
        );
        let list = ok(&meetfield(&tdb, &["admin", "list-users"]));
        assert_eq!(list.lines().count(), 2, "header and erin only: {list}");
    }
);

#[test]
fn config_check_prints_effective_settings_masked() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("meetfield.toml");
    std::fs::write(
        &file,
        "domain = \"social.org.example\"\ndatabase_url = \"postgres://mf:hunter2@db.internal/mf\"\n",
    )
    .unwrap();
    let out = Command::new(BIN)
        .args(["config", "check", "--config"])
        .arg(&file)
        .env("MEETFIELD_BIND", "0.0.0.0:9999")
        .env_remove("MEETFIELD_DATABASE_URL")
        .env_remove("MEETFIELD_DOMAIN")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("MEETFIELD_DOMAIN = \"social.org.example\""),
        "{text}"
    );
    assert!(
        text.contains("MEETFIELD_BIND = \"0.0.0.0:9999\""),
        "env wins: {text}"
    );
    assert!(text.contains("mf:***@db.internal"), "{text}");
    assert!(!text.contains("hunter2"), "{text}");

    // MEETFIELD_CONFIG names the file too.
    let out = Command::new(BIN)
        .args(["config", "check"])
        .env("MEETFIELD_CONFIG", &file)
        .env_remove("MEETFIELD_DOMAIN")
        .env_remove("MEETFIELD_DATABASE_URL")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("social.org.example"));
}

#[test]
fn config_check_refuses_bad_values_naming_them() {
    for (var, value) in [
        ("MEETFIELD_DOMAIN", "http://x.example/path"),
        ("MEETFIELD_BIND", "localhost"),
        ("MEETFIELD_DATABASE_URL", "mysql://x/y"),
        ("MEETFIELD_MAX_BODY_BYTES", "lots"),
    ] {
        let out = Command::new(BIN)
            .args(["config", "check"])
            .env(var, value)
            .env_remove("MEETFIELD_CONFIG")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{var}={value}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(var), "{var}={value}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
    }
}

#[test]
fn docker_example_configuration_is_valid() {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/docker/meetfield.example.toml");
    let out = Command::new(BIN)
        .args(["config", "check", "--config", example])
        .env_remove("MEETFIELD_DOMAIN")
        .env_remove("MEETFIELD_DATABASE_URL")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("MEETFIELD_DOMAIN = \"social.example.org\""),
        "{text}"
    );
}

both_backends!(domain_policy_commands, |tdb: TestDb| async move {
    ok(&meetfield(
        &tdb,
        &[
            "admin",
            "domain",
            "allow",
            "Partner.Example",
            "--comment",
            "research unit",
        ],
    ));
    ok(&meetfield(
        &tdb,
        &["admin", "domain", "block", "https://spam.example/"],
    ));
    let list = ok(&meetfield(&tdb, &["admin", "domain", "list"]));
    assert!(list.contains("# federation mode: allowlist"), "{list}");
    assert!(
        list.contains("allow\tpartner.example\t# research unit"),
        "{list}"
    );
    assert!(list.contains("block\tspam.example"), "{list}");
    // allow then block replaces the entry.
    ok(&meetfield(
        &tdb,
        &["admin", "domain", "block", "partner.example"],
    ));
    let list = ok(&meetfield(&tdb, &["admin", "domain", "list"]));
    assert!(list.contains("block\tpartner.example"), "{list}");
    ok(&meetfield(
        &tdb,
        &["admin", "domain", "remove", "partner.example"],
    ));
    assert!(
        failed(&meetfield(
            &tdb,
            &["admin", "domain", "remove", "partner.example"]
        ))
        .contains("no entry")
    );
    assert!(
        failed(&meetfield(
            &tdb,
            &["admin", "domain", "allow", "not a domain"]
        ))
        .contains("not a domain")
    );
    let list = ok(&meetfield(&tdb, &["admin", "domain", "list"]));
    assert!(!list.contains("partner.example"), "{list}");

    // The running policy reads what the CLI wrote.
    let db = tdb.open().await;
    let policy =
        meetfield::domain::policy::Policy::new(db, meetfield::config::FederationMode::Blocklist);
    assert!(!policy.allows("spam.example").await.unwrap());
    assert!(!policy.allows("www.spam.example").await.unwrap());
    assert!(policy.allows("partner.example").await.unwrap());

    // Rejecting a domain's media: listed, applies to subdomains, undone.
    ok(&meetfield(
        &tdb,
        &["admin", "domain", "reject-media", "Media.Example"],
    ));
    let list = ok(&meetfield(&tdb, &["admin", "domain", "list"]));
    assert!(list.contains("reject-media\tmedia.example"), "{list}");
    let db = tdb.open().await;
    let rejected = |host: &'static str| {
        let db = db.clone();
        async move {
            db.run(move |c| {
                meetfield::domain::policy::media_rejected(c, host).map_err(AppError::from)
            })
            .await
            .unwrap()
        }
    };
    assert!(rejected("cdn.media.example").await);
    assert!(!rejected("partner.example").await);
    ok(&meetfield(
        &tdb,
        &["admin", "domain", "accept-media", "media.example"],
    ));
    assert!(!rejected("cdn.media.example").await);
    let err = failed(&meetfield(
        &tdb,
        &["admin", "domain", "accept-media", "media.example"],
    ));
    assert!(err.contains("were not rejected"), "{err}");
});

both_backends!(invites_and_approval_queue, |tdb: TestDb| async move {
    let with_mode = |args: &[&str]| {
        let mut child = Command::new(BIN);
        child
            .env("MEETFIELD_DATABASE_URL", &tdb.url_string)
            .env("MEETFIELD_DATA_DIR", tdb.data_dir())
            .env("MEETFIELD_REGISTRATIONS", "invite")
            .env_remove("MEETFIELD_CONFIG")
            .args(args);
        child.output().unwrap()
    };
    let out = ok(&with_mode(&[
        "admin",
        "invite",
        "create",
        "--max-uses",
        "2",
    ]));
    let code = out.lines().last().unwrap().trim().to_string();
    assert_eq!(code.len(), 8, "{out}");
    let listed = ok(&with_mode(&["admin", "invite", "list"]));
    assert!(
        listed.contains(&code) && listed.contains("usable"),
        "{listed}"
    );
    ok(&with_mode(&["admin", "invite", "revoke", &code]));
    let listed = ok(&with_mode(&["admin", "invite", "list"]));
    assert!(listed.contains("revoked"), "{listed}");
    failed(&with_mode(&["admin", "invite", "revoke", "nosuchcode"]));
    failed(&with_mode(&[
        "admin",
        "invite",
        "create",
        "--max-uses",
        "0",
    ]));

    // A pending sign-up, as the API would leave it.
    let db = tdb.open().await;
    let config = meetfield::config::Config {
        database_url: tdb.url_string.clone(),
        ..meetfield::config::Config::default()
    };
    users::create_user(
        &db,
        &config,
        users::NewLocalUser {
            username: "newbie".into(),
            email: "newbie@org.example".into(),
            password: "a long enough password".into(),
            role: meetfield::db::models::Role::User,
        },
        users::Origin {
            needs_approval: true,
            reason: Some("new in the lab".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    db.close();
    let pending = ok(&meetfield(&tdb, &["admin", "pending"]));
    assert!(
        pending.contains("newbie") && pending.contains("new in the lab"),
        "{pending}"
    );
    assert!(ok(&meetfield(&tdb, &["admin", "list-users"])).contains("pending"));
    failed(&meetfield(&tdb, &["admin", "approve", "nobody"]));
    ok(&meetfield(&tdb, &["admin", "approve", "newbie"]));
    let pending = ok(&meetfield(&tdb, &["admin", "pending"]));
    assert!(!pending.contains("newbie"), "{pending}");
    // Approved users are no longer pending, so they cannot be rejected.
    failed(&meetfield(&tdb, &["admin", "reject", "newbie"]));
});

both_backends!(queue_status_and_retry, |tdb: TestDb| async move {
    let out = ok(&meetfield(&tdb, &["admin", "queue", "status"]));
    assert!(
        out.contains("(none)") && out.contains("unreachable hosts: 0"),
        "{out}"
    );
    // A host that failed for long: given-up and pending rows, marked unreachable.
    let db = tdb.open().await;
    ok(&meetfield(
        &tdb,
        &[
            "admin",
            "create-user",
            "alice",
            "--email",
            "a@x.example",
            "--generate-password",
        ],
    ));
    db.transaction(|c| {
        use diesel::prelude::*;
        use meetfield::db::schema::{deliveries as d, delivery_hosts as h};
        let alice = meetfield::db::models::Account::local_by_username(c, "alice")?.unwrap();
        let t = meetfield::db::now();
        for (i, state) in ["failed", "pending", "done"].iter().enumerate() {
            diesel::insert_into(d::table)
                .values((
                    d::id.eq(meetfield::db::id::next_id()),
                    d::activity_id.eq(format!("https://here.example/a/{i}")),
                    d::sender_account_id.eq(alice.id),
                    d::inbox.eq("https://down.example/inbox"),
                    d::host.eq("down.example"),
                    d::payload.eq("{}"),
                    d::state.eq(*state),
                    d::attempts.eq(18),
                    d::next_attempt_at.eq(t + chrono::Duration::days(1)),
                    d::created_at.eq(t),
                    d::updated_at.eq(t),
                ))
                .execute(c)?;
        }
        diesel::insert_into(h::table)
            .values((
                h::host.eq("down.example"),
                h::failing_since.eq(t - chrono::Duration::days(3)),
                h::unreachable_since.eq(t - chrono::Duration::days(1)),
                h::updated_at.eq(t),
            ))
            .execute(c)?;
        Ok::<_, AppError>(())
    })
    .await
    .unwrap();
    let out = ok(&meetfield(&tdb, &["admin", "queue", "status"]));
    assert!(
        out.contains("unreachable hosts: 1") && out.contains("down.example"),
        "{out}"
    );
    assert!(
        out.contains("failed     1") && out.contains("pending    1"),
        "{out}"
    );
    let out = ok(&meetfield(
        &tdb,
        &["admin", "queue", "retry", "down.example"],
    ));
    assert!(
        out.contains("2 deliveries to down.example are due now"),
        "{out}"
    );
    let out = ok(&meetfield(&tdb, &["admin", "queue", "status"]));
    assert!(
        out.contains("unreachable hosts: 0") && out.contains("pending    2"),
        "{out}"
    );
    let attempts: Vec<i32> = db
        .run(|c| {
            use diesel::prelude::*;
            use meetfield::db::schema::deliveries as d;
            Ok::<_, AppError>(
                d::table
                    .filter(d::state.eq("pending"))
                    .select(d::attempts)
                    .load(c)?,
            )
        })
        .await
        .unwrap();
    assert_eq!(attempts, vec![0, 0]);
    db.close();
});

both_backends!(report_commands, |tdb: TestDb| async move {
    assert_eq!(
        ok(&meetfield(&tdb, &["admin", "report", "list"])).trim(),
        "no reports"
    );
    for name in ["alice", "bob"] {
        ok(&meetfield(
            &tdb,
            &[
                "admin",
                "create-user",
                name,
                "--email",
                &format!("{name}@x.example"),
                "--generate-password",
            ],
        ));
    }
    let db = tdb.open().await;
    let id = db
        .transaction(|c| {
            use meetfield::db::models::Account;
            let alice = Account::local_by_username(c, "alice")?.unwrap();
            let bob = Account::local_by_username(c, "bob")?.unwrap();
            Ok::<_, AppError>(
                meetfield::domain::reports::receive_flag(
                    c,
                    "https://remote.example/flags/1",
                    &alice,
                    std::slice::from_ref(&bob.uri),
                    "<p>selling watches</p>",
                )?
                .unwrap(),
            )
        })
        .await
        .unwrap();
    let out = ok(&meetfield(&tdb, &["admin", "report", "list"]));
    assert!(
        out.contains(&id.to_string())
            && out.contains("from alice about bob")
            && out.contains("selling watches")
            && !out.contains("<p>"),
        "{out}"
    );
    let out = ok(&meetfield(
        &tdb,
        &["admin", "report", "resolve", &id.to_string()],
    ));
    assert!(out.contains("handled"), "{out}");
    assert_eq!(
        ok(&meetfield(&tdb, &["admin", "report", "list"])).trim(),
        "no reports"
    );
    assert!(ok(&meetfield(&tdb, &["admin", "report", "list", "--all"])).contains("[handled]"));
    let err = failed(&meetfield(&tdb, &["admin", "report", "resolve", "4242"]));
    assert!(err.contains("no report 4242"), "{err}");
    db.close();
});

both_backends!(
    profile_schema_and_skill_synonyms,
    |tdb: TestDb| async move {
        ok(&meetfield(
            &tdb,
            &[
                "admin",
                "create-user",
                "alice",
                "--email",
                "a@org.example",
                "--generate-password",
            ],
        ));
        ok(&meetfield(
            &tdb,
            &["admin", "profile-field", "add", "Department", "--managed"],
        ));
        ok(&meetfield(
            &tdb,
            &["admin", "profile-field", "add", "Skills", "--kind", "list"],
        ));
        ok(&meetfield(
            &tdb,
            &[
                "admin",
                "profile-field",
                "add",
                "Location",
                "--kind",
                "choice",
                "--choices",
                "Berlin, Lyon",
            ],
        ));
        let err = failed(&meetfield(
            &tdb,
            &["admin", "profile-field", "add", "skills"],
        ));
        assert!(err.contains("exists already"), "{err}");
        let err = failed(&meetfield(
            &tdb,
            &["admin", "profile-field", "add", "X", "--kind", "choice"],
        ));
        assert!(err.contains("--choices"), "{err}");
        let err = failed(&meetfield(
            &tdb,
            &["admin", "profile-field", "add", "X", "--kind", "map"],
        ));
        assert!(err.contains("text, list, choice"), "{err}");
        let list = ok(&meetfield(&tdb, &["admin", "profile-field", "list"]));
        let names: Vec<&str> = list
            .lines()
            .skip(1)
            .filter_map(|l| l.split_whitespace().next())
            .collect();
        assert_eq!(names, ["Department", "Skills", "Location"], "{list}");
        assert!(list.contains("Berlin, Lyon"), "{list}");

        // The admin fills a managed field; the profile keeps the schema's order.
        ok(&meetfield(
            &tdb,
            &[
                "admin",
                "profile-field",
                "set",
                "alice",
                "Skills",
                "Rust, k8s",
            ],
        ));
        ok(&meetfield(
            &tdb,
            &[
                "admin",
                "profile-field",
                "set",
                "alice",
                "department",
                "Research",
            ],
        ));
        let err = failed(&meetfield(
            &tdb,
            &[
                "admin",
                "profile-field",
                "set",
                "alice",
                "Location",
                "Paris",
            ],
        ));
        assert!(err.contains("Berlin, Lyon"), "{err}");
        let db = tdb.open().await;
        let fields = db
            .run(|c| {
                meetfield::db::models::User::by_username(c, "alice")
                    .map(|u| u.unwrap().1.fields)
                    .map_err(meetfield::db::DbError::from)
            })
            .await
            .unwrap();
        let v: serde_json::Value = serde_json::from_str(&fields).unwrap();
        assert_eq!(v[0]["name"], "Department");
        assert_eq!(v[0]["value"], "Research");
        assert_eq!(v[1]["name"], "Skills");
        assert_eq!(v[1]["value"], "Rust, k8s");

        ok(&meetfield(
            &tdb,
            &["admin", "skill-synonym", "add", "K8s", "Kubernetes"],
        ));
        ok(&meetfield(
            &tdb,
            &["admin", "skill-synonym", "add", "kube", "k8s"],
        ));
        let list = ok(&meetfield(&tdb, &["admin", "skill-synonym", "list"]));
        assert_eq!(list.trim(), "k8s = kubernetes\nkube = kubernetes", "{list}");
        let forms = db
            .run(|c| {
                meetfield::org::profile::skill_forms(c, "Kubernetes")
                    .map_err(meetfield::db::DbError::from)
            })
            .await
            .unwrap();
        assert_eq!(forms, ["k8s", "kube", "kubernetes"]);
        ok(&meetfield(
            &tdb,
            &["admin", "skill-synonym", "remove", "kube"],
        ));
        failed(&meetfield(
            &tdb,
            &["admin", "skill-synonym", "remove", "kube"],
        ));
        ok(&meetfield(
            &tdb,
            &["admin", "profile-field", "remove", "Location"],
        ));
        failed(&meetfield(
            &tdb,
            &["admin", "profile-field", "remove", "Location"],
        ));
        let list = ok(&meetfield(&tdb, &["admin", "profile-field", "list"]));
        assert!(!list.contains("Location"), "{list}");
    }
);

both_backends!(partner_directory_settings, |tdb: TestDb| async move {
    let out = ok(&meetfield(
        &tdb,
        &[
            "admin",
            "domain",
            "directory",
            "Sales.Partner.example",
            "no-share",
        ],
    ));
    assert_eq!(
        out.trim(),
        "sales.partner.example: directory not shared, read"
    );
    ok(&meetfield(
        &tdb,
        &[
            "admin",
            "domain",
            "directory",
            "sales.partner.example",
            "no-read",
        ],
    ));
    ok(&meetfield(
        &tdb,
        &[
            "admin",
            "domain",
            "directory",
            "research.partner.example:8443",
            "share",
        ],
    ));
    let list = ok(&meetfield(&tdb, &["admin", "directory", "list"]));
    let rows: Vec<&str> = list.lines().skip(1).collect();
    assert_eq!(rows.len(), 2, "{list}");
    assert!(
        rows[0].starts_with("research.partner.example:8443\tshare\tread\tnever"),
        "{list}"
    );
    assert!(
        rows[1].starts_with("sales.partner.example\tno-share\tno-read\tnever"),
        "{list}"
    );
    let err = failed(&meetfield(
        &tdb,
        &["admin", "domain", "directory", "not a domain", "share"],
    ));
    assert!(err.contains("not a domain"), "{err}");
    let err = failed(&meetfield(
        &tdb,
        &["admin", "domain", "directory", "x.example", "sideways"],
    ));
    assert!(err.contains("sideways"), "{err}");
    // Reading needs a partner, and reading turned on; neither touches the network.
    let err = failed(&meetfield(
        &tdb,
        &["admin", "directory", "sync", "sales.partner.example"],
    ));
    assert!(err.contains("not a partner"), "{err}");
    ok(&meetfield(
        &tdb,
        &["admin", "domain", "allow", "sales.partner.example"],
    ));
    let err = failed(&meetfield(
        &tdb,
        &["admin", "directory", "sync", "sales.partner.example"],
    ));
    assert!(err.contains("turned off"), "{err}");
    // All partners: sales is not read; research is not allowed by the policy.
    let err = failed(&meetfield(&tdb, &["admin", "directory", "sync"]));
    assert!(
        err.contains("research.partner.example:8443: failed") && err.contains("not a partner"),
        "{err}"
    );
    assert!(!err.contains("sales"), "{err}");
});

both_backends!(ldap_sync_from_the_command_line, |tdb: TestDb| async move {
    use common::ldap::{BASE, Person, READER_DN, READER_PASSWORD, directory};
    let out = failed(&meetfield(&tdb, &["admin", "ldap", "sync"]));
    assert!(out.contains("MEETFIELD_LDAP_URL"), "{out}");

    let d = directory();
    let uid = format!("cli{:08x}", rand::random::<u32>());
    d.add(&Person {
        uid: &uid,
        password: "pw-cli-1",
        mail: &format!("{uid}@example.org"),
        department: "IT",
        groups: &["staff"],
    })
    .await;
    let config = meetfield::config::Config {
        ldap_url: d.url.clone(),
        ldap_bind_dn: READER_DN.into(),
        ldap_bind_password: READER_PASSWORD.into(),
        ldap_base: BASE.into(),
        ..tdb.config()
    };
    let state = meetfield::app::AppState::new(config, tdb.open().await);
    let (user, _) = meetfield::sso::ldap::sign_in(&state, &uid, "pw-cli-1")
        .await
        .unwrap()
        .expect("found in the directory");
    assert!(!user.disabled);
    d.remove(&uid).await;
    let sync = |tdb: &TestDb| {
        Command::new(BIN)
            .env("MEETFIELD_DATABASE_URL", &tdb.url_string)
            .env("MEETFIELD_DATA_DIR", tdb.data_dir())
            .env("MEETFIELD_LDAP_URL", &d.url)
            .env("MEETFIELD_LDAP_BIND_DN", READER_DN)
            .env("MEETFIELD_LDAP_BIND_PASSWORD", READER_PASSWORD)
            .env("MEETFIELD_LDAP_BASE", BASE)
            .env_remove("MEETFIELD_CONFIG")
            .args(["admin", "ldap", "sync"])
            .output()
            .unwrap()
    };
    assert_eq!(ok(&sync(&tdb)).trim(), "ldap: 1 checked, 1 disabled");
    let users = ok(&meetfield(&tdb, &["admin", "list-users"]));
    let line = users
        .lines()
        .find(|l| l.contains(&uid))
        .unwrap_or_else(|| panic!("{users}"));
    assert!(line.contains("disabled"), "{line}");
    // Nothing left to check.
    assert_eq!(ok(&sync(&tdb)).trim(), "ldap: 0 checked, 0 disabled");
});

both_backends!(
    scim_tokens_from_the_command_line,
    |tdb: TestDb| async move {
        let out = meetfield(&tdb, &["admin", "scim", "token", "create"]);
        let token = ok(&out).trim().to_string();
        assert!(token.len() >= 32, "{token}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("shown only once"));
        let list = ok(&meetfield(&tdb, &["admin", "scim", "token", "list"]));
        let line = list.lines().nth(1).unwrap_or_else(|| panic!("{list}"));
        assert!(!list.contains(&token), "the token is never shown again");
        let id = line.split('\t').next().unwrap().to_string();
        assert!(line.ends_with("\t-"), "not revoked: {line}");
        assert_eq!(
            ok(&meetfield(&tdb, &["admin", "scim", "token", "revoke", &id])).trim(),
            format!("SCIM token {id} revoked")
        );
        let err = failed(&meetfield(&tdb, &["admin", "scim", "token", "revoke", &id]));
        assert!(err.contains("no live SCIM token"), "{err}");
        // Only its hash is stored.
        let db = tdb.open().await;
        let stored: Vec<String> = db
            .run(|c| {
                use diesel::prelude::*;
                meetfield::db::schema::scim_tokens::table
                    .select(meetfield::db::schema::scim_tokens::token_hash)
                    .load(c)
                    .map_err(AppError::from)
            })
            .await
            .unwrap();
        assert_eq!(stored.len(), 1);
        assert_ne!(stored[0], token);
    }
);

both_backends!(insights_from_the_command_line, |tdb: TestDb| async move {
    // No run yet: told what to do.
    assert!(
        failed(&meetfield(&tdb, &["admin", "insights", "connectors"])).contains("insights compute")
    );
    ok(&meetfield(
        &tdb,
        &["admin", "profile-field", "add", "Department", "--managed"],
    ));
    // a — hub — b, and hub in Ops between two Research people.
    for (name, dept) in [("a", "Research"), ("hub", "Ops"), ("b", "Research")] {
        ok(&meetfield(
            &tdb,
            &[
                "admin",
                "create-user",
                name,
                "--email",
                &format!("{name}@org.example"),
                "--generate-password",
            ],
        ));
        ok(&meetfield(
            &tdb,
            &["admin", "profile-field", "set", name, "Department", dept],
        ));
    }
    let db = tdb.open().await;
    db.run(|c| {
        let id = |c: &mut meetfield::db::DbConn, n: &str| {
            User::by_username(c, n).map(|u| u.unwrap().1.id)
        };
        let (a, hub, b) = (id(c, "a")?, id(c, "hub")?, id(c, "b")?);
        meetfield::db::models::Follow::insert(c, a, hub, None, false)?;
        meetfield::db::models::Follow::insert(c, hub, b, None, false)?;
        Ok::<_, meetfield::db::DbError>(())
    })
    .await
    .unwrap();
    drop(db);
    let out = ok(&meetfield(&tdb, &["admin", "insights", "compute"]));
    assert!(out.contains("3 people") && out.contains("2 ties"), "{out}");
    let table = ok(&meetfield(&tdb, &["admin", "insights", "connectors"]));
    let first = table.lines().nth(2).unwrap_or_default();
    assert!(
        first.starts_with("hub ") && first.contains("Ops"),
        "{table}"
    );
    let json: serde_json::Value = serde_json::from_str(&ok(&meetfield(
        &tdb,
        &[
            "admin",
            "insights",
            "connectors",
            "--department",
            "research",
            "--json",
        ],
    )))
    .unwrap();
    let people = json["connectors"].as_array().unwrap();
    assert_eq!(people.len(), 2, "{json}");
    assert!(people.iter().all(|p| p["department"] == "Research"));
    let silos = ok(&meetfield(&tdb, &["admin", "insights", "silos"]));
    assert!(silos.contains("Ops – Research: 2"), "{silos}");
    let off = Command::new(BIN)
        .env("MEETFIELD_DATABASE_URL", &tdb.url_string)
        .env("MEETFIELD_DATA_DIR", tdb.data_dir())
        .env("MEETFIELD_INSIGHTS", "false")
        .args(["admin", "insights", "silos"])
        .output()
        .unwrap();
    assert!(failed(&off).contains("MEETFIELD_INSIGHTS=false"));
});

both_backends!(
    featured_suggestions_from_the_command_line,
    |tdb: TestDb| async move {
        ok(&meetfield(
            &tdb,
            &[
                "admin",
                "create-user",
                "ceo",
                "--email",
                "ceo@org.example",
                "--generate-password",
            ],
        ));
        assert!(
            ok(&meetfield(
                &tdb,
                &["admin", "suggestions", "feature", "ceo"]
            ))
            .contains("is featured")
        );
        assert!(
            ok(&meetfield(
                &tdb,
                &["admin", "suggestions", "feature", "ceo"]
            ))
            .contains("already")
        );
        assert_eq!(
            ok(&meetfield(&tdb, &["admin", "suggestions", "list"])).trim(),
            "ceo"
        );
        assert!(
            failed(&meetfield(
                &tdb,
                &["admin", "suggestions", "feature", "nobody"]
            ))
            .contains("nobody")
        );
        assert!(
            ok(&meetfield(&tdb, &["admin", "suggestions", "compute"]))
                .contains("computed for 1 people")
        );
        ok(&meetfield(
            &tdb,
            &["admin", "suggestions", "unfeature", "ceo"],
        ));
        assert_eq!(
            ok(&meetfield(&tdb, &["admin", "suggestions", "list"])).trim(),
            ""
        );
        assert!(
            failed(&meetfield(
                &tdb,
                &["admin", "suggestions", "unfeature", "ceo"]
            ))
            .contains("not featured")
        );
    }
);

both_backends!(
    announcements_from_the_command_line,
    |tdb: TestDb| async move {
        let err = failed(&meetfield(
            &tdb,
            &[
                "admin",
                "announcement",
                "create",
                "Drill",
                "--starts-at",
                "soon",
                "--ends-at",
                "2030-01-01",
            ],
        ));
        assert!(err.contains("Starts at is not a valid date"), "{err}");
        let err = failed(&meetfield(&tdb, &["admin", "announcement", "create", "  "]));
        assert!(err.contains("Text can't be blank"), "{err}");
        let out = ok(&meetfield(
            &tdb,
            &[
                "admin",
                "announcement",
                "create",
                "Fire drill at #HQ",
                "--starts-at",
                "2030-01-02",
                "--ends-at",
                "2030-01-03",
                "--all-day",
            ],
        ));
        let id: String = out
            .split_whitespace()
            .nth(1)
            .unwrap_or_else(|| panic!("{out}"))
            .to_string();
        let table = ok(&meetfield(&tdb, &["admin", "announcement", "list"]));
        assert!(
            table.contains(&format!(
                "{id}\tlive\t2030-01-02 00:00\t2030-01-03 00:00\tFire drill at #HQ"
            )),
            "{table}"
        );
        let v: serde_json::Value = serde_json::from_str(&ok(&meetfield(
            &tdb,
            &["admin", "announcement", "list", "--json"],
        )))
        .unwrap();
        assert_eq!(v[0]["id"], id.as_str());
        assert_eq!(v[0]["all_day"], true);
        assert_eq!(v[0]["starts_at"], "2030-01-02T00:00:00.000Z");
        ok(&meetfield(&tdb, &["admin", "announcement", "delete", &id]));
        assert_eq!(
            ok(&meetfield(
                &tdb,
                &["admin", "announcement", "list", "--json"]
            ))
            .trim(),
            "[]"
        );
        let err = failed(&meetfield(&tdb, &["admin", "announcement", "delete", &id]));
        assert!(err.contains(&format!("no announcement {id}")), "{err}");
    }
);

both_backends!(trends_from_the_command_line, |tdb: TestDb| async move {
    let err = failed(&meetfield(&tdb, &["admin", "trends", "hide", "no-dash!"]));
    assert!(err.contains("Tag is invalid"), "{err}");
    assert!(ok(&meetfield(&tdb, &["admin", "trends", "hide", "#Ops"])).contains("#ops is hidden"));
    assert_eq!(
        ok(&meetfield(&tdb, &["admin", "trends", "list"])).trim(),
        "#ops\thidden"
    );
    assert!(ok(&meetfield(&tdb, &["admin", "trends", "allow", "ops"])).contains("may trend again"));
    assert!(ok(&meetfield(&tdb, &["admin", "trends", "allow", "ops"])).contains("was not hidden"));
    // Links by URL (the fragment is not part of a card's URL).
    let hidden = ok(&meetfield(
        &tdb,
        &["admin", "trends", "hide", "https://spam.example/win#now"],
    ));
    assert!(
        hidden.contains("https://spam.example/win is hidden"),
        "{hidden}"
    );
    assert_eq!(
        ok(&meetfield(&tdb, &["admin", "trends", "list"])).trim(),
        "https://spam.example/win\thidden"
    );
    assert!(
        ok(&meetfield(
            &tdb,
            &["admin", "trends", "allow", "https://spam.example/win"]
        ))
        .contains("https://spam.example/win may trend again")
    );
    assert!(
        ok(&meetfield(&tdb, &["admin", "trends", "compute"]))
            .contains("trends computed: 0 tags, 0 posts, 0 links")
    );
});

both_backends!(
    partner_feed_from_the_command_line,
    |tdb: TestDb| async move {
        let err = failed(&meetfield(
            &tdb,
            &["admin", "partner-feed", "subscribe", "nowhere.example"],
        ));
        assert!(
            err.contains("nowhere.example is not an allowed partner"),
            "{err}"
        );
        let err = failed(&meetfield(
            &tdb,
            &["admin", "partner-feed", "unsubscribe", "nowhere.example"],
        ));
        assert!(err.contains("not subscribed to nowhere.example"), "{err}");
        assert_eq!(
            ok(&meetfield(&tdb, &["admin", "partner-feed", "list"])).trim(),
            ""
        );
    }
);

both_backends!(relays_from_the_command_line, |tdb: TestDb| async move {
    let err = failed(&meetfield(
        &tdb,
        &["admin", "relay", "add", "ftp://relay.example/inbox"],
    ));
    assert!(err.contains("is not a relay's inbox URL"), "{err}");
    let err = failed(&meetfield(
        &tdb,
        &["admin", "relay", "add", "https://relay.example/inbox"],
    ));
    assert!(err.contains("relay.example is not allowed"), "{err}");
    ok(&meetfield(
        &tdb,
        &["admin", "domain", "allow", "relay.example"],
    ));
    let out = ok(&meetfield(
        &tdb,
        &["admin", "relay", "add", "https://relay.example/inbox"],
    ));
    assert!(
        out.contains("asked the relay at https://relay.example/inbox"),
        "{out}"
    );
    assert_eq!(
        ok(&meetfield(&tdb, &["admin", "relay", "list"])).trim(),
        "https://relay.example/inbox\tpending"
    );
    assert!(
        ok(&meetfield(
            &tdb,
            &["admin", "relay", "remove", "https://relay.example/inbox"]
        ))
        .contains("left the relay")
    );
    let err = failed(&meetfield(
        &tdb,
        &["admin", "relay", "remove", "https://relay.example/inbox"],
    ));
    assert!(err.contains("no relay at"), "{err}");
});
