//! Real client libraries against the real binary.

use std::process::Command;
use std::time::Duration;

use crate::process::{ServerProcess, admin};

/// The Python the test script prepared (a venv with Mastodon.py), or python3.
fn python() -> String {
    std::env::var("MEETFIELD_TEST_PYTHON").unwrap_or_else(|_| "python3".into())
}

fn has_mastodon_py(py: &str) -> bool {
    Command::new(py)
        .args(["-c", "import mastodon"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The Python with Mastodon.py, or None (said on stderr) where it is not
/// installed; in CI its absence fails the test.
pub fn mastodon_py() -> Option<String> {
    let py = python();
    if !has_mastodon_py(&py) {
        assert!(
            std::env::var("CI").is_err(),
            "Mastodon.py is missing: scripts/test.sh installs it"
        );
        eprintln!("SKIPPED: Mastodon.py not installed (scripts/test.sh installs it)");
        return None;
    }
    Some(py)
}

#[tokio::test]
async fn mastodon_py_scenario() {
    let Some(py) = mastodon_py() else { return };
    let dir = tempfile::tempdir().unwrap();
    // The domain is the loopback address itself: OAuth metadata URLs must
    // resolve for the client.
    let port = crate::common::free_port();
    let envs = [
        ("MEETFIELD_LOG", "warn".to_string()),
        ("MEETFIELD_DOMAIN", format!("127.0.0.1:{port}")),
        ("MEETFIELD_REGISTRATIONS", "open".to_string()),
    ];
    let ok = |args: &[&str]| {
        let out = admin(dir.path(), &envs, args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    ok(&[
        "admin",
        "create-user",
        "alice",
        "--email",
        "alice@org.example",
        "--password",
        "correct horse battery",
    ]);
    ok(&[
        "admin",
        "create-user",
        "bob",
        "--email",
        "bob@org.example",
        "--generate-password",
    ]);
    // The organization's profile fields; bob's are filled by the admin.
    ok(&["admin", "profile-field", "add", "Department", "--managed"]);
    ok(&["admin", "profile-field", "add", "Skills", "--kind", "list"]);
    ok(&[
        "admin",
        "profile-field",
        "set",
        "bob",
        "Department",
        "Research",
    ]);
    ok(&[
        "admin",
        "profile-field",
        "set",
        "bob",
        "Skills",
        "Kubernetes, Go",
    ]);
    let bob_token = ok(&["admin", "create-token", "bob"])
        .lines()
        .last()
        .unwrap()
        .trim()
        .to_string();
    let mut server = ServerProcess::start_on(dir.path(), port, &envs);
    server.wait_healthy(Duration::from_secs(30)).await;
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/federation-tests/clients/mastodon_py.py"
    );
    let out = tokio::task::spawn_blocking(move || {
        Command::new(py)
            .args([
                script,
                &server.base,
                "alice",
                "correct horse battery",
                "bob",
                &bob_token,
            ])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("scenario passed"),
        "stdout: {stdout}\nstderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn mastodon_py_announcements() {
    let Some(py) = mastodon_py() else { return };
    let dir = tempfile::tempdir().unwrap();
    let port = crate::common::free_port();
    let envs = [
        ("MEETFIELD_LOG", "warn".to_string()),
        ("MEETFIELD_DOMAIN", format!("127.0.0.1:{port}")),
    ];
    let ok = |args: &[&str]| {
        let out = admin(dir.path(), &envs, args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let mut tokens = Vec::new();
    for name in ["alice", "bob"] {
        ok(&[
            "admin",
            "create-user",
            name,
            "--email",
            &format!("{name}@org.example"),
            "--generate-password",
        ]);
        tokens.push(
            ok(&["admin", "create-token", name])
                .lines()
                .last()
                .unwrap()
                .trim()
                .to_string(),
        );
    }
    ok(&[
        "admin",
        "announcement",
        "create",
        "Town hall on Thursday #TownHall",
        "--starts-at",
        "2030-03-07",
        "--ends-at",
        "2030-03-08",
        "--all-day",
    ]);
    // The CLI as the script runs it: the same directory and settings.
    let cli = dir.path().join("cli.sh");
    let mut sh = format!("#!/bin/sh\ncd '{}'\n", dir.path().display());
    for (k, v) in &envs {
        sh.push_str(&format!("export {k}='{v}'\n"));
    }
    sh.push_str("unset MEETFIELD_DATABASE_URL MEETFIELD_DATA_DIR MEETFIELD_CONFIG\n");
    sh.push_str(&format!(
        "exec '{}' \"$@\"\n",
        env!("CARGO_BIN_EXE_meetfield")
    ));
    std::fs::write(&cli, sh).unwrap();
    std::fs::set_permissions(&cli, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();

    let mut server = ServerProcess::start_on(dir.path(), port, &envs);
    server.wait_healthy(Duration::from_secs(30)).await;
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/federation-tests/clients/announcements.py"
    );
    let base = server.base.clone();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(py)
            .args([script, &base, &tokens[0], &tokens[1], cli.to_str().unwrap()])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("scenario passed"),
        "stdout: {stdout}\nstderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    drop(server);
}
