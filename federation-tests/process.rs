//! The real binary: start, serve, stop on SIGTERM, restart on the same data.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{Backend, TestDb, free_port};

const BIN: &str = env!("CARGO_BIN_EXE_meetfield");

/// A `meetfield serve` process on a free port.
pub struct ServerProcess {
    pub child: Child,
    pub base: String,
}

impl ServerProcess {
    pub fn start(workdir: &Path, envs: &[(&str, String)]) -> ServerProcess {
        Self::start_on(workdir, free_port(), envs)
    }

    /// Starts on a given port (to restart an instance where it was).
    pub fn start_on(workdir: &Path, port: u16, envs: &[(&str, String)]) -> ServerProcess {
        let mut cmd = Command::new(BIN);
        cmd.arg("serve")
            .current_dir(workdir)
            .env("MEETFIELD_BIND", format!("127.0.0.1:{port}"))
            .env("MEETFIELD_DOMAIN", format!("localhost:{port}"))
            .env_remove("MEETFIELD_DATABASE_URL")
            .env_remove("MEETFIELD_DATA_DIR")
            .env_remove("MEETFIELD_CONFIG")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("spawn meetfield serve");
        ServerProcess {
            child,
            base: format!("http://127.0.0.1:{port}"),
        }
    }

    /// Waits until `/health` answers 200, failing if the process exits first.
    pub async fn wait_healthy(&mut self, within: Duration) -> Duration {
        let started = Instant::now();
        let client = reqwest::Client::new();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("meetfield exited early with {status}");
            }
            if let Ok(r) = client.get(format!("{}/health", self.base)).send().await
                && r.status() == 200
            {
                return started.elapsed();
            }
            assert!(started.elapsed() < within, "no /health within {within:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn signal(&self, sig: nix::sys::signal::Signal) {
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(self.child.id() as i32), sig)
            .expect("send signal");
    }

    /// Waits for the process to exit and returns its status.
    pub fn wait_exit(&mut self, within: Duration) -> std::process::ExitStatus {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(started.elapsed() < within, "did not exit within {within:?}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn admin(workdir: &Path, envs: &[(&str, String)], args: &[&str]) -> std::process::Output {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(workdir)
        .env_remove("MEETFIELD_DATABASE_URL")
        .env_remove("MEETFIELD_DATA_DIR")
        .env_remove("MEETFIELD_CONFIG")
        .args(args);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.output().expect("run meetfield")
}

#[tokio::test]
async fn serve_with_no_configuration_then_sigterm_then_reuse() {
    let dir = tempfile::tempdir().unwrap();
    // Nothing configured but the address: the default SQLite file under ./data.
    let old = [("MEETFIELD_DOMAIN", "old.localhost:8080".to_string())];
    let mut server = ServerProcess::start(dir.path(), &old);
    let took = server.wait_healthy(Duration::from_secs(20)).await;
    eprintln!("first start healthy after {took:?}");
    assert!(dir.path().join("data/meetfield.db").is_file());
    server.signal(nix::sys::signal::Signal::SIGTERM);
    let status = server.wait_exit(Duration::from_secs(15));
    assert!(status.success(), "SIGTERM exit status {status}");

    let out = admin(
        dir.path(),
        &[],
        &[
            "admin",
            "create-user",
            "keeper",
            "--email",
            "k@org.example",
            "--password",
            "longpassword",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // The second start finds the same database, user included. Its domain
    // changed (first start on defaults, then the real name): local ids follow.
    let new = [("MEETFIELD_DOMAIN", "new.localhost:9090".to_string())];
    let mut again = ServerProcess::start(dir.path(), &new);
    again.wait_healthy(Duration::from_secs(20)).await;
    let out = admin(dir.path(), &new, &["admin", "list-users"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("keeper"));
    let actor: serde_json::Value = reqwest::Client::new()
        .get(format!("{}/users/keeper", again.base))
        .header("accept", "application/activity+json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(actor["id"], "http://new.localhost:9090/users/keeper");
    again.signal(nix::sys::signal::Signal::SIGINT);
    assert!(again.wait_exit(Duration::from_secs(15)).success());
}

#[tokio::test]
async fn serve_on_postgres_by_url() {
    let tdb = TestDb::new(Backend::Postgres);
    let dir = tempfile::tempdir().unwrap();
    let envs = [("MEETFIELD_DATABASE_URL", tdb.url_string.clone())];
    let mut server = ServerProcess::start(dir.path(), &envs);
    server.wait_healthy(Duration::from_secs(20)).await;
    assert!(
        !dir.path().join("data/meetfield.db").exists(),
        "no SQLite file"
    );
    server.signal(nix::sys::signal::Signal::SIGTERM);
    let status = server.wait_exit(Duration::from_secs(15));
    assert!(status.success(), "SIGTERM exit status {status}");
}

#[tokio::test]
async fn bad_setting_stops_start_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let out = admin(
        dir.path(),
        &[("MEETFIELD_BIND", "not-an-address".into())],
        &["serve"],
    );
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("MEETFIELD_BIND"), "{err}");
    assert!(!err.contains("panicked"), "{err}");

    // A database that cannot be opened is named too, and is no panic.
    let out = admin(
        dir.path(),
        &[
            (
                "MEETFIELD_DATABASE_URL",
                "postgres://nobody@127.0.0.1:1/none".into(),
            ),
            ("MEETFIELD_DATABASE_TIMEOUT_SECS", "1".into()),
        ],
        &["serve"],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("MEETFIELD_DATABASE_URL"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}
