//! The real LDAP server of the sign-in tests (Debian's slapd, a private
//! instance from federation-tests/ldap/start.sh): the one scripts/test.sh
//! started for the run (`MEETFIELD_TEST_LDAP_URL`), or one of this test
//! process's own, stopped when it exits. Tests add their own people.

use std::process::Command;
use std::sync::OnceLock;

use ldap3::{LdapConnAsync, Mod};

pub const BASE: &str = "dc=example,dc=org";
pub const ADMIN_DN: &str = "cn=admin,dc=example,dc=org";
pub const ADMIN_PASSWORD: &str = "secret";
pub const READER_DN: &str = "cn=reader,dc=example,dc=org";
pub const READER_PASSWORD: &str = "reader-secret";

pub struct Directory {
    pub url: String,
}

static DIRECTORY: OnceLock<Directory> = OnceLock::new();

pub fn directory() -> &'static Directory {
    DIRECTORY.get_or_init(|| {
        if let Ok(url) = std::env::var("MEETFIELD_TEST_LDAP_URL")
            && !url.is_empty()
        {
            return Directory { url };
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir = std::env::temp_dir().join(format!("meetfield-ldap-{port}"));
        let script =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("federation-tests/ldap/start.sh");
        let out = Command::new("bash")
            .arg(script)
            .arg(&dir)
            .arg(port.to_string())
            .env("WATCH_PID", std::process::id().to_string())
            .output()
            .expect("bash runs federation-tests/ldap/start.sh");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let url = stdout
            .lines()
            .find_map(|l| l.strip_prefix("listening "))
            .unwrap_or_else(|| {
                panic!(
                    "slapd did not start (is it installed? scripts/test.sh installs it): {}{}",
                    stdout,
                    String::from_utf8_lossy(&out.stderr)
                )
            })
            .to_string();
        Directory { url }
    })
}

/// Someone in the directory.
pub struct Person<'a> {
    pub uid: &'a str,
    pub password: &'a str,
    pub mail: &'a str,
    pub department: &'a str,
    pub groups: &'a [&'a str],
}

pub fn person_dn(uid: &str) -> String {
    format!("uid={uid},ou=people,{BASE}")
}

fn group_dn(cn: &str) -> String {
    format!("cn={cn},ou=groups,{BASE}")
}

impl Directory {
    async fn admin(&self) -> ldap3::Ldap {
        let (conn, mut ldap) = LdapConnAsync::new(&self.url).await.unwrap();
        ldap3::drive!(conn);
        ldap.simple_bind(ADMIN_DN, ADMIN_PASSWORD)
            .await
            .unwrap()
            .success()
            .unwrap();
        ldap
    }

    pub async fn add(&self, p: &Person<'_>) {
        let mut ldap = self.admin().await;
        let dn = person_dn(p.uid);
        let one = |k: &str, v: &str| {
            (
                k.to_string(),
                std::collections::HashSet::from([v.to_string()]),
            )
        };
        let attrs = vec![
            one("objectClass", "inetOrgPerson"),
            one("uid", p.uid),
            one("cn", p.uid),
            one("sn", p.uid),
            one("displayName", &format!("Dr {}", p.uid)),
            one("mail", p.mail),
            one("userPassword", p.password),
            one("departmentNumber", p.department),
        ];
        ldap.add(&dn, attrs).await.unwrap().success().unwrap();
        for g in p.groups {
            self.join(g, p.uid).await;
        }
        ldap.unbind().await.unwrap();
    }

    pub async fn join(&self, group: &str, uid: &str) {
        let mut ldap = self.admin().await;
        let dn = person_dn(uid);
        ldap.modify(
            &group_dn(group),
            vec![Mod::Add(
                "member",
                std::collections::HashSet::from([dn.as_str()]),
            )],
        )
        .await
        .unwrap()
        .success()
        .unwrap();
        ldap.unbind().await.unwrap();
    }

    pub async fn leave(&self, group: &str, uid: &str) {
        let mut ldap = self.admin().await;
        let dn = person_dn(uid);
        ldap.modify(
            &group_dn(group),
            vec![Mod::Delete(
                "member",
                std::collections::HashSet::from([dn.as_str()]),
            )],
        )
        .await
        .unwrap()
        .success()
        .unwrap();
        ldap.unbind().await.unwrap();
    }

    pub async fn remove(&self, uid: &str) {
        let mut ldap = self.admin().await;
        ldap.delete(&person_dn(uid))
            .await
            .unwrap()
            .success()
            .unwrap();
        ldap.unbind().await.unwrap();
    }
}
