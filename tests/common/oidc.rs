//! The real OpenID provider of the sign-in tests (npm `oidc-provider`, run
//! by federation-tests/oidc/provider.mjs): the one scripts/test.sh started
//! for the whole run (`MEETFIELD_TEST_OIDC_ISSUER`), or one of this test
//! process's own, which exits with it.

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;

pub struct Provider {
    pub issuer: String,
    _own: Option<(Child, ChildStdin)>,
}

static PROVIDER: OnceLock<Provider> = OnceLock::new();

pub fn provider() -> &'static Provider {
    PROVIDER.get_or_init(|| {
        if let Ok(issuer) = std::env::var("MEETFIELD_TEST_OIDC_ISSUER")
            && !issuer.is_empty()
        {
            return Provider { issuer, _own: None };
        }
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("federation-tests/oidc");
        assert!(
            dir.join("node_modules/oidc-provider").exists(),
            "the OpenID provider is not installed: run scripts/test.sh, or `npm ci` in {}",
            dir.display()
        );
        let mut child = Command::new("node")
            .arg("provider.mjs")
            .current_dir(&dir)
            .env("EXIT_WITH_STDIN", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("node runs the OpenID provider");
        let stdin = child.stdin.take().expect("stdin");
        let mut line = String::new();
        let mut out = BufReader::new(child.stdout.take().expect("stdout"));
        out.read_line(&mut line)
            .expect("the provider says where it listens");
        // Keep reading: a closed pipe would kill the provider at its next line.
        std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
        let issuer = line
            .strip_prefix("listening ")
            .unwrap_or_else(|| panic!("unexpected provider output: {line}"))
            .trim()
            .to_string();
        Provider {
            issuer,
            _own: Some((child, stdin)),
        }
    })
}

impl Provider {
    /// Sets what the provider says about `login` (merged over its defaults).
    pub async fn set_claims(&self, login: &str, claims: serde_json::Value) {
        let r = reqwest::Client::new()
            .put(format!("{}/_test/accounts/{login}", self.issuer))
            .json(&claims)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 204);
    }
}
