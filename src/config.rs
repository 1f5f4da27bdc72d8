//! Typed configuration: defaults < TOML file < `MEETFIELD_*` environment.
//!
//! Keys are flat so that a TOML key and its environment variable are the same
//! name (`database_url` = `MEETFIELD_DATABASE_URL`); admins' scripts rely on
//! these names, so add new ones, never rename.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

pub const ENV_PREFIX: &str = "MEETFIELD_";
/// Environment variable naming the TOML file (`--config` wins over it).
pub const CONFIG_FILE_ENV: &str = "MEETFIELD_CONFIG";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Public host[:port] under which this instance is reached.
    pub domain: String,
    /// Address:port the HTTP server listens on.
    pub bind: String,
    /// `sqlite://PATH` or `postgres://…`; empty means `sqlite://<data_dir>/meetfield.db`.
    pub database_url: String,
    /// Media and other files.
    pub data_dir: PathBuf,
    /// Maximum connections in the database pool.
    pub database_pool_size: u32,
    /// Seconds to wait for a pooled connection before failing the request.
    pub database_timeout_secs: u64,
    /// Largest accepted request body in bytes (uploads get their own limit).
    pub max_body_bytes: usize,
    /// Seconds that in-flight requests get to finish after SIGTERM/SIGINT.
    pub shutdown_grace_secs: u64,
    /// tracing filter, e.g. `info` or `meetfield=debug,tower_http=info`.
    pub log: String,
    /// `text` or `json` log lines.
    pub log_format: LogFormat,
    /// Which remote domains federate: `allowlist` (only listed partners),
    /// `blocklist` (all but blocked ones) or `open`.
    pub federation_mode: FederationMode,
    /// Development and tests only: allow `http://`, explicit ports and
    /// loopback addresses, and resolve `*.localhost` to 127.0.0.1.
    pub federation_insecure_local: bool,
    /// Require a valid signature from an allowed domain on GETs of actors and objects.
    pub authorized_fetch: bool,
    /// Allow OAuth's password grant (off: apps use the authorization code flow).
    pub oauth_password_grant: bool,
    /// Who may sign up through `POST /api/v1/accounts`: `closed` (admins
    /// create users), `invite` (with an admin's invite code), `approval`
    /// (an admin approves each sign-up) or `open`.
    pub registrations: Registrations,
    /// Instance name shown by apps; empty means the domain.
    pub instance_title: String,
    /// One-paragraph description of the instance, plain text.
    pub instance_description: String,
    /// Contact address for the instance's admins.
    pub contact_email: String,
    /// Username of the local account shown as the instance's contact.
    pub contact_account: String,
    /// Who may create groups: `users` (any signed-in user) or `admins`.
    pub group_creation: GroupCreation,
    /// Run the delivery and inbound queues in `meetfield serve` (turn off
    /// when separate `meetfield worker` processes run them).
    pub workers: bool,
    /// Deliveries in flight at once, over all hosts.
    pub delivery_concurrency: usize,
    /// Deliveries in flight at once to one host.
    pub delivery_host_concurrency: usize,
    /// A host failing for this long is marked unreachable: its deliveries
    /// wait (probed every few minutes) until it answers again.
    pub delivery_unreachable_after_secs: u64,
    /// Multiplies every retry delay (tests shrink the schedule; 1 in
    /// production).
    pub delivery_backoff_scale: f64,
    /// Bearer token that lets a non-loopback client read `/metrics`.
    pub metrics_token: String,
    /// Streaming connections one account may hold open on one node.
    pub streaming_connections_per_user: usize,
    /// Seconds between heartbeats on idle streaming connections.
    pub streaming_heartbeat_secs: u64,
    /// Largest image upload (and remote image fetched), bytes.
    pub media_max_image_bytes: usize,
    /// Largest video or audio upload (and remote file fetched), bytes.
    pub media_max_video_bytes: usize,
    /// Profile fields one account may have (the organization's and free ones).
    pub max_profile_fields: usize,
    /// Options a poll may have (Mastodon allows 4).
    pub poll_max_options: usize,
    /// Seconds between reads of the partners' directories (0: only on demand).
    pub directory_sync_secs: u64,
    /// People per page of the directory we serve to partners.
    pub directory_page_size: i64,
    /// Connector insight for admins (`false`: not computed, not shown).
    pub insights: bool,
    /// Trending tags and posts (`/api/v1/trends/*`); false: none.
    pub trends: bool,
    /// Seconds between recomputations of the trends.
    pub trends_secs: u64,
    /// Preview cards for links in posts, fetched from the linked pages
    /// (`false`: no page is fetched, no post has a `card`).
    pub link_previews: bool,
    /// Seconds between insight runs (0: only `meetfield admin insights compute`).
    pub insights_secs: u64,
    /// Days of interactions the insight graph reads.
    pub insights_window_days: u64,
    /// Sources the sampled betweenness starts from (exact below 2,000 people).
    pub insights_sources: usize,
    /// Seconds between follow-suggestion runs (0: only on demand).
    pub suggestions_secs: u64,
    /// OpenID provider to sign in with (discovered from it); empty: none.
    pub oidc_issuer: String,
    pub oidc_client_id: String,
    pub oidc_client_secret: String,
    /// Space-separated scopes asked for.
    pub oidc_scopes: String,
    /// The sign-in button's label.
    pub oidc_display_name: String,
    /// Claim the username is made from on first sign-in.
    pub oidc_username_claim: String,
    /// Treat the provider's e-mail addresses as verified.
    pub oidc_assume_email_verified: bool,
    /// Comma-separated groups allowed to sign in (empty: everyone).
    pub oidc_allowed_groups: String,
    /// `role=group` pairs, e.g. `admin=it-admins,moderator=comms`.
    pub oidc_role_groups: String,
    /// `field=claim` pairs filling managed profile fields.
    pub oidc_profile_fields: String,
    /// Link a first sign-in to an existing account with the same verified e-mail.
    pub oidc_link_existing: bool,
    /// Only single sign-on: no password form, no other sign-up.
    pub sso_only: bool,
    /// LDAP directory people sign in against (`ldap://` or `ldaps://`); empty: none.
    pub ldap_url: String,
    pub ldap_starttls: bool,
    /// The account that searches the directory (empty: anonymous).
    pub ldap_bind_dn: String,
    pub ldap_bind_password: String,
    /// Where people are searched.
    pub ldap_base: String,
    /// Search filter; `{login}` is the escaped username or e-mail typed.
    pub ldap_user_filter: String,
    pub ldap_uid_attr: String,
    pub ldap_mail_attr: String,
    /// Comma-separated group common names allowed to sign in (empty: everyone).
    pub ldap_allowed_groups: String,
    /// `role=group` pairs, group common names.
    pub ldap_role_groups: String,
    /// `field=attribute` pairs filling managed profile fields.
    pub ldap_profile_fields: String,
    /// Seconds between directory syncs (0: only `meetfield admin ldap sync`).
    pub ldap_sync_secs: u64,
    /// `field=attribute` pairs: managed profile fields SCIM fills (`department`,
    /// `title`, `manager`, … of the enterprise extension).
    pub scim_profile_fields: String,
    /// `role=group` pairs: SCIM groups (by display name) that give roles.
    pub scim_role_groups: String,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum GroupCreation {
    Users,
    Admins,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Registrations {
    Closed,
    Invite,
    Approval,
    Open,
}

impl Registrations {
    pub fn as_str(self) -> &'static str {
        match self {
            Registrations::Closed => "closed",
            Registrations::Invite => "invite",
            Registrations::Approval => "approval",
            Registrations::Open => "open",
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum FederationMode {
    Allowlist,
    Blocklist,
    Open,
}

impl FederationMode {
    pub fn as_str(self) -> &'static str {
        match self {
            FederationMode::Allowlist => "allowlist",
            FederationMode::Blocklist => "blocklist",
            FederationMode::Open => "open",
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            domain: "localhost:8080".into(),
            bind: "127.0.0.1:8080".into(),
            database_url: String::new(),
            data_dir: PathBuf::from("./data"),
            database_pool_size: 10,
            database_timeout_secs: 5,
            max_body_bytes: 1024 * 1024,
            shutdown_grace_secs: 30,
            log: "info".into(),
            log_format: LogFormat::Text,
            federation_mode: FederationMode::Allowlist,
            federation_insecure_local: false,
            authorized_fetch: false,
            oauth_password_grant: false,
            registrations: Registrations::Closed,
            instance_title: String::new(),
            instance_description: String::new(),
            contact_email: String::new(),
            contact_account: String::new(),
            group_creation: GroupCreation::Users,
            workers: true,
            delivery_concurrency: 128,
            delivery_host_concurrency: 48,
            delivery_unreachable_after_secs: 2 * 24 * 3600,
            delivery_backoff_scale: 1.0,
            metrics_token: String::new(),
            streaming_connections_per_user: 16,
            streaming_heartbeat_secs: 15,
            media_max_image_bytes: 16 * 1024 * 1024,
            media_max_video_bytes: 99 * 1024 * 1024,
            max_profile_fields: 10,
            poll_max_options: 10,
            directory_sync_secs: 3600,
            directory_page_size: 200,
            insights: true,
            insights_secs: 86_400,
            trends: true,
            trends_secs: 600,
            link_previews: true,
            insights_window_days: 90,
            insights_sources: 256,
            suggestions_secs: 3_600,
            oidc_issuer: String::new(),
            oidc_client_id: String::new(),
            oidc_client_secret: String::new(),
            oidc_scopes: "openid profile email groups".into(),
            oidc_display_name: "your organization".into(),
            oidc_username_claim: "preferred_username".into(),
            oidc_assume_email_verified: false,
            oidc_allowed_groups: String::new(),
            oidc_role_groups: String::new(),
            oidc_profile_fields: String::new(),
            oidc_link_existing: false,
            sso_only: false,
            ldap_url: String::new(),
            ldap_starttls: false,
            ldap_bind_dn: String::new(),
            ldap_bind_password: String::new(),
            ldap_base: String::new(),
            ldap_user_filter: "(|(uid={login})(mail={login}))".into(),
            ldap_uid_attr: "uid".into(),
            ldap_mail_attr: "mail".into(),
            ldap_allowed_groups: String::new(),
            ldap_role_groups: String::new(),
            ldap_profile_fields: String::new(),
            ldap_sync_secs: 3600,
            scim_profile_fields: "Department=department,Role=title,Manager=manager".into(),
            scim_role_groups: String::new(),
        }
    }
}

/// A configuration problem, phrased for the admin: names the setting.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

fn err(setting: &str, msg: impl std::fmt::Display) -> ConfigError {
    ConfigError(format!("{ENV_PREFIX}{}: {msg}", setting.to_uppercase()))
}

/// Which database the URL names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    Sqlite(PathBuf),
    Postgres(String),
}

impl DatabaseUrl {
    pub fn parse(url: &str) -> Result<Self, String> {
        if let Some(rest) = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
        {
            if rest.is_empty() {
                return Err("sqlite URL has no file path (expected sqlite://PATH)".into());
            }
            Ok(DatabaseUrl::Sqlite(PathBuf::from(rest)))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            url::Url::parse(url).map_err(|e| format!("invalid PostgreSQL URL: {e}"))?;
            Ok(DatabaseUrl::Postgres(url.to_string()))
        } else {
            Err(format!(
                "unsupported database URL '{}' (expected sqlite://PATH or postgres://…)",
                mask_url(url)
            ))
        }
    }

    pub fn backend_name(&self) -> &'static str {
        match self {
            DatabaseUrl::Sqlite(_) => "sqlite",
            DatabaseUrl::Postgres(_) => "postgres",
        }
    }

    /// Printable form without secrets.
    pub fn display(&self) -> String {
        match self {
            DatabaseUrl::Sqlite(p) => format!("sqlite://{}", p.display()),
            DatabaseUrl::Postgres(u) => mask_url(u),
        }
    }
}

/// Replaces the password of a URL with `***`.
pub fn mask_url(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => raw.to_string(),
    }
}

impl Config {
    /// Loads defaults < `file` (or `$MEETFIELD_CONFIG`) < `MEETFIELD_*` env, then validates.
    pub fn load(file: Option<&Path>) -> Result<Config, ConfigError> {
        let file = file
            .map(Path::to_path_buf)
            .or_else(|| std::env::var_os(CONFIG_FILE_ENV).map(PathBuf::from));
        Self::figment(file.as_deref())?
            .extract::<Config>()
            .map_err(describe_figment_error)
            .and_then(|c| c.validate().map(|()| c))
    }

    fn figment(file: Option<&Path>) -> Result<Figment, ConfigError> {
        let mut fig = Figment::from(Serialized::defaults(Config::default()));
        if let Some(path) = file {
            if !path.is_file() {
                return Err(ConfigError(format!(
                    "{CONFIG_FILE_ENV}: configuration file {} does not exist",
                    path.display()
                )));
            }
            fig = fig.merge(Toml::file_exact(path));
        }
        let known = known_keys();
        Ok(fig.merge(
            Env::prefixed(ENV_PREFIX)
                .filter(move |k| known.iter().any(|n| k == n.as_str()))
                .lowercase(true),
        ))
    }

    /// Environment variables with our prefix that name no setting: typos.
    pub fn unknown_env_vars() -> Vec<String> {
        let known = known_keys();
        std::env::vars()
            .filter_map(|(k, _)| {
                let rest = k.strip_prefix(ENV_PREFIX)?.to_lowercase();
                (k != CONFIG_FILE_ENV && !known.contains(&rest)).then_some(k)
            })
            .collect()
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        validate_domain(&self.domain).map_err(|m| err("domain", m))?;
        self.bind_addr()?;
        self.database()?;
        if self.database_pool_size == 0 {
            return Err(err("database_pool_size", "must be at least 1"));
        }
        if self.max_body_bytes < 1024 {
            return Err(err("max_body_bytes", "must be at least 1024"));
        }
        if self.data_dir.as_os_str().is_empty() {
            return Err(err("data_dir", "must not be empty"));
        }
        if self.delivery_concurrency == 0 {
            return Err(err("delivery_concurrency", "must be at least 1"));
        }
        if self.media_max_image_bytes < 1024 {
            return Err(err("media_max_image_bytes", "must be at least 1024"));
        }
        if self.media_max_video_bytes < 1024 {
            return Err(err("media_max_video_bytes", "must be at least 1024"));
        }
        if !(1..=3600).contains(&self.streaming_heartbeat_secs) {
            return Err(err(
                "streaming_heartbeat_secs",
                "must be between 1 and 3600",
            ));
        }
        if !(1..=1000).contains(&self.directory_page_size) {
            return Err(err("directory_page_size", "must be between 1 and 1000"));
        }
        if !(1..=3650).contains(&self.insights_window_days) {
            return Err(err("insights_window_days", "must be between 1 and 3650"));
        }
        if !(1..=100_000).contains(&self.insights_sources) {
            return Err(err("insights_sources", "must be between 1 and 100000"));
        }
        if !(2..=50).contains(&self.poll_max_options) {
            return Err(err("poll_max_options", "must be between 2 and 50"));
        }
        if !(1..=50).contains(&self.max_profile_fields) {
            return Err(err("max_profile_fields", "must be between 1 and 50"));
        }
        if self.streaming_connections_per_user == 0 {
            return Err(err("streaming_connections_per_user", "must be at least 1"));
        }
        if self.delivery_host_concurrency == 0 {
            return Err(err("delivery_host_concurrency", "must be at least 1"));
        }
        if !(self.delivery_backoff_scale > 0.0 && self.delivery_backoff_scale <= 1000.0) {
            return Err(err(
                "delivery_backoff_scale",
                "must be above 0 and at most 1000",
            ));
        }
        if !self.oidc_issuer.is_empty() {
            url::Url::parse(&self.oidc_issuer)
                .ok()
                .filter(|u| matches!(u.scheme(), "http" | "https"))
                .ok_or_else(|| err("oidc_issuer", "must be an http(s) URL"))?;
            if self.oidc_client_id.is_empty() {
                return Err(err(
                    "oidc_client_id",
                    "is needed with MEETFIELD_OIDC_ISSUER",
                ));
            }
            if !self.oidc_scopes.split_whitespace().any(|s| s == "openid") {
                return Err(err("oidc_scopes", "must include openid"));
            }
        }
        if self.sso_only && self.oidc_issuer.is_empty() {
            return Err(err(
                "sso_only",
                "needs a sign-in provider (MEETFIELD_OIDC_ISSUER)",
            ));
        }
        if !self.ldap_url.is_empty() {
            url::Url::parse(&self.ldap_url)
                .ok()
                .filter(|u| matches!(u.scheme(), "ldap" | "ldaps"))
                .ok_or_else(|| err("ldap_url", "must be an ldap:// or ldaps:// URL"))?;
            if self.ldap_base.is_empty() {
                return Err(err("ldap_base", "is needed with MEETFIELD_LDAP_URL"));
            }
            if !self.ldap_user_filter.contains("{login}") {
                return Err(err("ldap_user_filter", "must contain {login}"));
            }
        }
        crate::sso::pairs(&self.scim_profile_fields).map_err(|m| err("scim_profile_fields", m))?;
        crate::sso::RoleGroups::parse(&self.scim_role_groups)
            .map_err(|m| err("scim_role_groups", m))?;
        crate::sso::RoleGroups::parse(&self.ldap_role_groups)
            .map_err(|m| err("ldap_role_groups", m))?;
        crate::sso::pairs(&self.ldap_profile_fields).map_err(|m| err("ldap_profile_fields", m))?;
        crate::sso::RoleGroups::parse(&self.oidc_role_groups)
            .map_err(|m| err("oidc_role_groups", m))?;
        crate::sso::pairs(&self.oidc_profile_fields).map_err(|m| err("oidc_profile_fields", m))?;
        tracing_subscriber::EnvFilter::try_new(&self.log)
            .map_err(|e| err("log", format!("invalid filter '{}': {e}", self.log)))?;
        Ok(())
    }

    pub fn bind_addr(&self) -> Result<SocketAddr, ConfigError> {
        self.bind.parse().map_err(|_| {
            err(
                "bind",
                format!(
                    "'{}' is not an address:port (e.g. 127.0.0.1:8080)",
                    self.bind
                ),
            )
        })
    }

    pub fn database(&self) -> Result<DatabaseUrl, ConfigError> {
        if self.database_url.is_empty() {
            return Ok(DatabaseUrl::Sqlite(self.data_dir.join("meetfield.db")));
        }
        DatabaseUrl::parse(&self.database_url).map_err(|m| err("database_url", m))
    }

    /// `http` for loopback development hosts (`localhost`, `*.localhost`,
    /// 127.x, ::1), `https` for everything else: public instances sit behind
    /// a TLS-terminating proxy.
    pub fn scheme(&self) -> &'static str {
        scheme_for(&self.domain)
    }

    /// Where media files are stored: `<data_dir>/files` (served under
    /// `/media` from its `media` folder).
    pub fn media_root(&self) -> PathBuf {
        self.data_dir.join("files")
    }

    /// `scheme://domain`, the prefix of every URL we mint.
    pub fn base_url(&self) -> String {
        format!("{}://{}", self.scheme(), self.domain)
    }

    /// Effective settings as `KEY = value` lines, secrets masked.
    pub fn masked_summary(&self) -> Result<String, ConfigError> {
        let mut shown = self.clone();
        shown.database_url = self.database()?.display();
        if !shown.metrics_token.is_empty() {
            shown.metrics_token = "***".into();
        }
        if !shown.oidc_client_secret.is_empty() {
            shown.oidc_client_secret = "***".into();
        }
        if !shown.ldap_bind_password.is_empty() {
            shown.ldap_bind_password = "***".into();
        }
        let value = toml::Value::try_from(&shown).map_err(|e| ConfigError(e.to_string()))?;
        let table = value.as_table().cloned().unwrap_or_default();
        let sorted: BTreeMap<_, _> = table.into_iter().collect();
        let mut out = String::new();
        for (k, v) in sorted {
            out.push_str(&format!("{}{} = {}\n", ENV_PREFIX, k.to_uppercase(), v));
        }
        Ok(out)
    }
}

fn known_keys() -> Vec<String> {
    match toml::Value::try_from(Config::default()) {
        Ok(toml::Value::Table(t)) => t.keys().cloned().collect(),
        _ => Vec::new(),
    }
}

/// Host with an optional port, as it appears in our actor URLs.
/// The scheme of a server named `domain` (ours or a partner's): `http` for
/// loopback development hosts, `https` for everything else.
pub fn scheme_for(domain: &str) -> &'static str {
    let host = url::Url::parse(&format!("http://{domain}/"))
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_default();
    let loopback = host == "localhost"
        || host.ends_with(".localhost")
        || host.starts_with("127.")
        || host == "[::1]";
    if loopback { "http" } else { "https" }
}

fn validate_domain(domain: &str) -> Result<(), String> {
    if domain.is_empty() {
        return Err("must not be empty".into());
    }
    if domain.contains("://") || domain.contains('/') {
        return Err(format!(
            "'{domain}' must be a host name with an optional port, without scheme or path"
        ));
    }
    let parsed = url::Url::parse(&format!("http://{domain}/"))
        .map_err(|e| format!("'{domain}' is not a valid host[:port]: {e}"))?;
    if parsed.host_str().is_none() || !parsed.username().is_empty() {
        return Err(format!("'{domain}' is not a valid host[:port]"));
    }
    Ok(())
}

/// Turns figment's error into one line that names the environment variable.
fn describe_figment_error(e: figment::Error) -> ConfigError {
    let e = e
        .into_iter()
        .next()
        .expect("figment error has at least one entry");
    let key = e.path.last().cloned();
    let source = e
        .metadata
        .as_ref()
        .map(|m| m.name.to_string())
        .unwrap_or_default();
    let msg = match &e.kind {
        figment::error::Kind::UnknownField(field, _) => {
            return ConfigError(format!(
                "unknown setting '{field}' in {source} (see docs/configuration.md)"
            ));
        }
        kind => kind.to_string(),
    };
    match key {
        Some(k) => ConfigError(format!(
            "{ENV_PREFIX}{}: {msg} (from {source})",
            k.to_uppercase()
        )),
        None => ConfigError(format!("configuration: {msg} (from {source})")),
    }
}

#[cfg(test)]
#[allow(clippy::result_large_err)] // figment::Jail's closures return its own error type
mod tests {
    use super::*;
    use figment::Jail;

    fn load_in_jail(file: Option<&str>) -> Result<Config, String> {
        Config::load(file.map(Path::new)).map_err(|e| e.0)
    }

    #[test]
    fn defaults_need_no_configuration() {
        Jail::expect_with(|_| {
            let c = load_in_jail(None).unwrap();
            assert_eq!(c.domain, "localhost:8080");
            assert_eq!(c.bind, "127.0.0.1:8080");
            assert_eq!(
                c.database().unwrap(),
                DatabaseUrl::Sqlite(PathBuf::from("./data/meetfield.db"))
            );
            Ok(())
        });
    }

    #[test]
    fn env_overrides_file_overrides_defaults() {
        Jail::expect_with(|jail| {
            jail.create_file(
                "m.toml",
                "domain = \"file.example\"\nbind = \"0.0.0.0:9000\"\n",
            )?;
            let c = load_in_jail(Some("m.toml")).unwrap();
            assert_eq!(c.domain, "file.example");
            assert_eq!(c.bind, "0.0.0.0:9000");
            jail.set_env("MEETFIELD_DOMAIN", "env.example");
            let c = load_in_jail(Some("m.toml")).unwrap();
            assert_eq!(c.domain, "env.example");
            assert_eq!(c.bind, "0.0.0.0:9000");
            // MEETFIELD_CONFIG names the file when no --config is given.
            jail.set_env("MEETFIELD_CONFIG", "m.toml");
            let c = load_in_jail(None).unwrap();
            assert_eq!(c.bind, "0.0.0.0:9000");
            Ok(())
        });
    }

    #[test]
    fn data_dir_moves_default_database() {
        Jail::expect_with(|jail| {
            jail.set_env("MEETFIELD_DATA_DIR", "/srv/mf");
            let c = load_in_jail(None).unwrap();
            assert_eq!(
                c.database().unwrap(),
                DatabaseUrl::Sqlite(PathBuf::from("/srv/mf/meetfield.db"))
            );
            Ok(())
        });
    }

    #[test]
    fn bad_values_name_the_setting() {
        let cases = [
            ("MEETFIELD_BIND", "nonsense", "MEETFIELD_BIND"),
            ("MEETFIELD_DOMAIN", "https://x.example/", "MEETFIELD_DOMAIN"),
            ("MEETFIELD_DOMAIN", "", "MEETFIELD_DOMAIN"),
            (
                "MEETFIELD_DATABASE_URL",
                "mysql://x",
                "MEETFIELD_DATABASE_URL",
            ),
            (
                "MEETFIELD_DATABASE_URL",
                "sqlite://",
                "MEETFIELD_DATABASE_URL",
            ),
            (
                "MEETFIELD_DATABASE_POOL_SIZE",
                "many",
                "MEETFIELD_DATABASE_POOL_SIZE",
            ),
            (
                "MEETFIELD_DATABASE_POOL_SIZE",
                "0",
                "MEETFIELD_DATABASE_POOL_SIZE",
            ),
            ("MEETFIELD_LOG_FORMAT", "xml", "MEETFIELD_LOG_FORMAT"),
            (
                "MEETFIELD_FEDERATION_MODE",
                "closed",
                "MEETFIELD_FEDERATION_MODE",
            ),
            (
                "MEETFIELD_FEDERATION_INSECURE_LOCAL",
                "maybe",
                "MEETFIELD_FEDERATION_INSECURE_LOCAL",
            ),
            (
                "MEETFIELD_OIDC_ISSUER",
                "not a url",
                "MEETFIELD_OIDC_ISSUER",
            ),
            (
                "MEETFIELD_OIDC_ROLE_GROUPS",
                "owner=it",
                "MEETFIELD_OIDC_ROLE_GROUPS",
            ),
            (
                "MEETFIELD_OIDC_PROFILE_FIELDS",
                "Department",
                "MEETFIELD_OIDC_PROFILE_FIELDS",
            ),
            // Single sign-on only needs a provider.
            ("MEETFIELD_SSO_ONLY", "true", "MEETFIELD_SSO_ONLY"),
        ];
        for (var, value, named) in cases {
            Jail::expect_with(|jail| {
                jail.set_env(var, value);
                let e = load_in_jail(None).unwrap_err();
                assert!(e.contains(named), "{var}={value}: {e}");
                assert!(!e.contains('\n'), "one line: {e}");
                Ok(())
            });
        }
    }

    #[test]
    fn unknown_file_key_is_refused() {
        Jail::expect_with(|jail| {
            jail.create_file("m.toml", "domian = \"typo.example\"\n")?;
            let e = load_in_jail(Some("m.toml")).unwrap_err();
            assert!(e.contains("domian"), "{e}");
            Ok(())
        });
    }

    #[test]
    fn missing_file_is_refused() {
        Jail::expect_with(|_| {
            let e = load_in_jail(Some("nope.toml")).unwrap_err();
            assert!(e.contains("nope.toml"), "{e}");
            Ok(())
        });
    }

    #[test]
    fn scheme_follows_host() {
        let with = |d: &str| Config {
            domain: d.into(),
            ..Config::default()
        };
        assert_eq!(with("localhost:8080").base_url(), "http://localhost:8080");
        assert_eq!(with("alpha.localhost:9001").scheme(), "http");
        assert_eq!(with("127.0.0.1:3000").scheme(), "http");
        assert_eq!(
            with("social.example.org").base_url(),
            "https://social.example.org"
        );
    }

    #[test]
    fn summary_masks_database_password() {
        let c = Config {
            database_url: "postgres://mf:s3cret@db.internal/mf".into(),
            ..Config::default()
        };
        let s = c.masked_summary().unwrap();
        assert!(!s.contains("s3cret"), "{s}");
        assert!(
            s.contains("MEETFIELD_DATABASE_URL = \"postgres://mf:***@db.internal/mf\""),
            "{s}"
        );
        assert!(s.contains("MEETFIELD_DOMAIN = \"localhost:8080\""), "{s}");
    }
}
