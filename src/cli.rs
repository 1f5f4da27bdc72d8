//! The `meetfield` command line. Command and flag names are a contract with
//! admins' scripts: add, never rename.

use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};

use crate::config::Config;
use crate::db::models::Role;
use crate::domain::{password, registrations, users};

#[derive(Debug, Parser)]
#[command(
    name = "meetfield",
    version,
    about = "Federated ActivityPub server for organizations"
)]
pub struct Cli {
    /// TOML configuration file (default: $MEETFIELD_CONFIG, else none).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start the server (migrations run first).
    Serve,
    /// Run only the queues (deliveries, inbound activities); several may
    /// share a PostgreSQL database with `serve` nodes.
    Worker,
    /// Apply database migrations and exit.
    Migrate,
    /// Administration tasks.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Configuration tools.
    #[command(subcommand)]
    Config(ConfigCommand),
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create a local user who can sign in at once.
    CreateUser {
        username: String,
        #[arg(long)]
        email: String,
        #[command(flatten)]
        password: PasswordArgs,
        /// Give the user the admin role.
        #[arg(long, conflicts_with = "moderator")]
        admin: bool,
        /// Give the user the moderator role.
        #[arg(long)]
        moderator: bool,
    },
    /// List local users.
    ListUsers,
    /// Set a user's password.
    SetPassword {
        username: String,
        #[command(flatten)]
        password: PasswordArgs,
    },
    /// Stop a user from signing in (their data stays).
    DisableUser { username: String },
    /// Let a disabled user sign in again.
    EnableUser { username: String },
    /// Give a user a role: admin, moderator or user (Mastodon's built-in roles).
    Role { username: String, role: String },
    /// Delete a user's posts and relations and tell other servers; the name stays reserved.
    DeleteUser {
        username: String,
        /// Required: there is no undo.
        #[arg(long)]
        yes: bool,
    },
    /// Print an access token for a user (scripts, bots); the token is the last line.
    CreateToken {
        username: String,
        #[arg(long, default_value = "read write follow")]
        scopes: String,
    },
    /// Partner domains: which ones federate (see MEETFIELD_FEDERATION_MODE).
    #[command(subcommand)]
    Domain(DomainCommand),
    /// Create a group owned by a local user.
    CreateGroup {
        name: String,
        #[arg(long)]
        owner: String,
        /// Members need a moderator's approval to join; posts stay inside.
        #[arg(long)]
        closed: bool,
        /// Only moderators may post.
        #[arg(long)]
        announcement_only: bool,
        #[arg(long, default_value = "")]
        display_name: String,
    },
    /// The delivery and inbound queues.
    #[command(subcommand)]
    Queue(QueueCommand),
    /// Invite codes for sign-up from apps (see MEETFIELD_REGISTRATIONS).
    #[command(subcommand)]
    Invite(InviteCommand),
    /// List sign-ups that wait for approval.
    Pending,
    /// Let a pending sign-up in.
    Approve { username: String },
    /// Turn a pending sign-up down (the account is removed).
    Reject { username: String },
    /// Reports from users and other servers.
    #[command(subcommand)]
    Report(ReportCommand),
    /// The organization's profile fields (Department, Role, Skills, …).
    #[command(subcommand, name = "profile-field")]
    ProfileField(ProfileFieldCommand),
    /// Skill aliases for the directory and expertise search ("k8s" = "Kubernetes").
    #[command(subcommand, name = "skill-synonym")]
    SkillSynonym(SkillSynonymCommand),
    /// Partners' directories: read them now, see how each stands.
    #[command(subcommand)]
    Directory(DirectoryCommand),
    /// The LDAP directory people sign in with.
    #[command(subcommand)]
    Ldap(LdapCommand),
    /// SCIM provisioning by the identity provider.
    #[command(subcommand)]
    Scim(ScimCommand),
    /// Connector insight: who holds the organization together, which
    /// units are islands (see MEETFIELD_INSIGHTS).
    #[command(subcommand)]
    Insights(InsightsCommand),
    /// Follow suggestions: accounts featured for everyone, a run now.
    #[command(subcommand)]
    Suggestions(SuggestionsCommand),
    /// Announcements every local person sees once in their apps.
    #[command(subcommand)]
    Announcement(AnnouncementCommand),
    /// Trending tags and posts (see MEETFIELD_TRENDS).
    #[command(subcommand)]
    Trends(TrendsCommand),
    /// Partners' public posts without following their authors (for
    /// followed hashtags and trends).
    #[command(subcommand, name = "partner-feed")]
    PartnerFeed(PartnerFeedCommand),
    /// ActivityPub relays: public posts of their other members, without
    /// following anyone there.
    #[command(subcommand)]
    Relay(RelayCommand),
}

#[derive(Debug, Subcommand)]
pub enum RelayCommand {
    /// Subscribe to a relay by its inbox URL (https://relay.example/inbox).
    Add { url: String },
    /// Leave a relay.
    Remove { url: String },
    /// The relays and whether they accepted us.
    List,
}

#[derive(Debug, Subcommand)]
pub enum PartnerFeedCommand {
    /// Ask an allowed partner to send us its public posts.
    Subscribe { domain: String },
    /// Stop receiving a partner's public posts.
    Unsubscribe { domain: String },
    /// Our subscriptions (accepted or waiting) and the partners subscribed to us.
    List,
}

#[derive(Debug, Subcommand)]
pub enum TrendsCommand {
    /// Never show this tag (or link, given as its http(s) URL) in trends.
    Hide { tag: String },
    /// Let a hidden tag or link trend again (from the next computation).
    Allow { tag: String },
    /// The trending tags and links now, and the hidden ones.
    List,
    /// Recompute now (the workers do it every MEETFIELD_TRENDS_SECS).
    Compute,
}

#[derive(Debug, Subcommand)]
pub enum AnnouncementCommand {
    /// Publish an announcement now; mentions, hashtags and links are
    /// rendered as in posts.
    Create {
        text: String,
        /// When the event it announces starts (RFC 3339, or YYYY-MM-DD).
        #[arg(long)]
        starts_at: Option<String>,
        /// When it ends; the announcement is taken down then.
        #[arg(long)]
        ends_at: Option<String>,
        /// The times are whole days.
        #[arg(long)]
        all_day: bool,
    },
    /// The announcements not deleted, newest first.
    List {
        /// One JSON document instead of lines.
        #[arg(long)]
        json: bool,
    },
    /// Take an announcement down for everyone.
    Delete { id: i64 },
}

#[derive(Debug, Subcommand)]
pub enum SuggestionsCommand {
    /// Suggest a local account to everyone (source `featured`).
    Feature { username: String },
    /// Stop featuring an account.
    Unfeature { username: String },
    /// The featured accounts.
    List,
    /// Recompute everyone's suggestions now (the workers do it every
    /// MEETFIELD_SUGGESTIONS_SECS).
    Compute,
}

#[derive(Debug, Subcommand)]
pub enum InsightsCommand {
    /// Build the interaction graph and measure it now (a progress bar on a
    /// terminal); the workers do it every MEETFIELD_INSIGHTS_SECS.
    Compute,
    /// Local people who bridge units, most paths through them first.
    Connectors {
        /// Only this department.
        #[arg(long)]
        department: Option<String>,
        #[arg(long, default_value_t = 20)]
        limit: i64,
        /// One JSON document instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Departments and instances: their ties to each other, islands, and
    /// the change since the run before.
    Silos {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ScimCommand {
    /// Bearer tokens for /scim/v2.
    #[command(subcommand)]
    Token(ScimTokenCommand),
}

#[derive(Debug, Subcommand)]
pub enum ScimTokenCommand {
    /// A new token, printed once (give it to the identity provider).
    Create,
    /// Tokens: id, created, last used, revoked.
    List,
    /// Stop accepting a token.
    Revoke { id: i64 },
}

#[derive(Debug, Subcommand)]
pub enum LdapCommand {
    /// Check every account from the directory against it now: who left it
    /// or its allowed groups is disabled (tokens revoked), roles and managed
    /// fields follow it.
    Sync,
}

#[derive(Debug, Subcommand)]
pub enum DirectoryCommand {
    /// Read partners' directories now (all partners, or DOMAIN); returns
    /// when done and prints what was added, changed and removed.
    Sync {
        domain: Option<String>,
        /// Read everything, not only what changed since the last read.
        #[arg(long)]
        full: bool,
    },
    /// The partners, whether their directory is shared and read, and the
    /// last sync.
    List,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum DirectoryShare {
    /// Serve our directory to the partner.
    Share,
    /// Stop serving our directory to the partner.
    NoShare,
    /// Read the partner's directory.
    Read,
    /// Stop reading the partner's directory.
    NoRead,
}

#[derive(Debug, Subcommand)]
pub enum ProfileFieldCommand {
    /// Add a field at the end of every profile's organization fields.
    Add {
        name: String,
        /// text, list (comma-separated values) or choice (one of --choices).
        #[arg(long, default_value = "text")]
        kind: String,
        /// For a choice field: the allowed values, comma-separated.
        #[arg(long, default_value = "")]
        choices: String,
        /// Filled by the admin or a directory sync, read-only to the user.
        #[arg(long)]
        managed: bool,
    },
    /// The fields in profile order.
    List,
    /// Remove a field from the schema (profiles keep it as a free field).
    Remove { name: String },
    /// Fill a field on a user's profile (managed ones included; an empty
    /// value clears it). Followers' servers get the new profile.
    Set {
        username: String,
        name: String,
        value: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum SkillSynonymCommand {
    /// ALIAS means SKILL when people search and filter by skill.
    Add {
        alias: String,
        skill: String,
    },
    List,
    Remove {
        alias: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// Reports not handled yet, newest first (with --all, handled ones too).
    List {
        #[arg(long)]
        all: bool,
    },
    /// Mark a report as handled.
    Resolve { id: i64 },
}

#[derive(Debug, Subcommand)]
pub enum QueueCommand {
    /// Queue depth by state, oldest due delivery, hosts with most pending,
    /// unreachable hosts.
    Status,
    /// Make a host's pending and given-up deliveries due now and forget
    /// that it was unreachable.
    Retry { host: String },
}

#[derive(Debug, Subcommand)]
pub enum InviteCommand {
    /// Make an invite code; the code is the last line of the output.
    Create {
        /// How many sign-ups it allows (default: unlimited).
        #[arg(long)]
        max_uses: Option<i32>,
        /// Hours until it expires (default: never).
        #[arg(long)]
        expires_in_hours: Option<i64>,
    },
    /// List invite codes with their use.
    List,
    /// Stop a code from being used.
    Revoke { code: String },
}

#[derive(Debug, Subcommand)]
pub enum DomainCommand {
    /// Let a domain (and its subdomains) federate.
    Allow {
        domain: String,
        #[arg(long, default_value = "")]
        comment: String,
    },
    /// Refuse a domain (and its subdomains) in every mode.
    Block {
        domain: String,
        #[arg(long, default_value = "")]
        comment: String,
    },
    /// Forget a domain's entry.
    Remove { domain: String },
    /// Do not download a domain's media (its posts still federate;
    /// attachments stay links to the origin).
    RejectMedia { domain: String },
    /// Download a domain's media again.
    AcceptMedia { domain: String },
    /// Share our directory with a partner (or not), read theirs (or not).
    Directory {
        domain: String,
        #[arg(value_enum)]
        action: DirectoryShare,
    },
    /// List the entries and the mode.
    List,
}

#[derive(Debug, Args)]
pub struct PasswordArgs {
    /// The password (otherwise prompted for, or read from standard input).
    #[arg(long, conflicts_with = "generate_password")]
    password: Option<String>,
    /// Generate a random password and print it.
    #[arg(long)]
    generate_password: bool,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate the configuration and print the effective settings (secrets masked).
    Check,
}

/// Runs the command; errors come back as one line for `main` to print.
pub async fn run(cli: Cli, config: Config) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve => crate::server::serve(config).await,
        Command::Worker => crate::server::worker(config).await,
        Command::Migrate => {
            let db = crate::db::Db::connect(&config.database()?, Default::default())
                .await
                .with_context(|| {
                    format!(
                        "MEETFIELD_DATABASE_URL: cannot open {}",
                        config.database().map(|d| d.display()).unwrap_or_default()
                    )
                })?;
            let applied = db.migrate().await?;
            println!(
                "applied {} migration(s) on {}",
                applied.len(),
                db.backend().name()
            );
            for v in applied {
                println!("  {v}");
            }
            Ok(())
        }
        Command::Config(ConfigCommand::Check) => {
            print!("{}", config.masked_summary()?);
            println!("# configuration is valid");
            Ok(())
        }
        Command::Admin(cmd) => run_admin(cmd, config).await,
    }
}

async fn run_admin(cmd: AdminCommand, config: Config) -> anyhow::Result<()> {
    let db = crate::server::open_database(&config).await?;
    // Same preparation as the server, so ids use the configured domain.
    crate::domain::instance::ensure_instance_actor(&db, &config).await?;
    match cmd {
        AdminCommand::CreateUser {
            username,
            email,
            password,
            admin,
            moderator,
        } => {
            let (pw, generated) = password.resolve()?;
            let role = if admin {
                Role::Admin
            } else if moderator {
                Role::Moderator
            } else {
                Role::User
            };
            let (user, account) = users::create_local_user(
                &db,
                &config,
                users::NewLocalUser {
                    username,
                    email,
                    password: pw.clone(),
                    role,
                },
            )
            .await?;
            println!(
                "created user {} <{}> with role {} ({})",
                account.username, user.email, user.role, account.uri
            );
            if generated {
                println!("password: {pw}");
            }
        }
        AdminCommand::ListUsers => {
            let rows = db
                .run(|conn| crate::db::models::User::list(conn).map_err(crate::db::DbError::from))
                .await?;
            println!(
                "{:<30} {:<36} {:<10} {:<8} created",
                "username", "email", "role", "state"
            );
            for (user, account) in rows {
                let state = if user.disabled {
                    "disabled"
                } else if !user.approved {
                    "pending"
                } else {
                    "active"
                };
                println!(
                    "{:<30} {:<36} {:<10} {:<8} {}",
                    account.username,
                    user.email,
                    user.role,
                    state,
                    user.created_at.format("%Y-%m-%d %H:%M")
                );
            }
        }
        AdminCommand::SetPassword { username, password } => {
            let (pw, generated) = password.resolve()?;
            users::set_password(&db, &username, &pw).await?;
            println!("password of {username} changed");
            if generated {
                println!("password: {pw}");
            }
        }
        AdminCommand::DisableUser { username } => {
            users::set_disabled(&db, &username, true).await?;
            println!("user {username} disabled");
        }
        AdminCommand::EnableUser { username } => {
            users::set_disabled(&db, &username, false).await?;
            println!("user {username} enabled");
        }
        AdminCommand::Role { username, role } => {
            let role = Role::parse(&role).ok_or_else(|| {
                anyhow::anyhow!("unknown role {role}: owner, admin, moderator or user")
            })?;
            users::set_role(&db, &username, role).await?;
            println!("user {username} is now {}", role.as_str());
        }
        AdminCommand::Domain(cmd) => run_domain(cmd, &db, &config).await?,
        AdminCommand::Invite(cmd) => run_invite(cmd, &db, &config).await?,
        AdminCommand::Queue(QueueCommand::Status) => {
            let s = crate::delivery::status(&db).await?;
            println!("deliveries by state:");
            if s.by_state.is_empty() {
                println!("  (none)");
            }
            for (state, n) in &s.by_state {
                println!("  {state:<10} {n}");
            }
            match s.oldest_due {
                Some(t) => println!(
                    "oldest pending delivery due: {} UTC",
                    t.format("%Y-%m-%d %H:%M:%S")
                ),
                None => println!("oldest pending delivery due: -"),
            }
            println!("inbound activities pending: {}", s.inbound_pending);
            if !s.pending_by_host.is_empty() {
                println!("pending by host:");
                for (host, n) in &s.pending_by_host {
                    println!("  {host:<40} {n}");
                }
            }
            println!("unreachable hosts: {}", s.unreachable.len());
            for h in &s.unreachable {
                println!(
                    "  {:<40} failing since {} UTC",
                    h.host,
                    h.failing_since
                        .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
                        .unwrap_or_default()
                );
            }
        }
        AdminCommand::Report(ReportCommand::List { all }) => {
            let rows = db
                .run(move |c| {
                    let reports = crate::domain::reports::list(c, all)?;
                    let mut rows = Vec::new();
                    for r in reports {
                        let who = |c: &mut crate::db::DbConn, id| {
                            crate::db::models::Account::by_id(c, id).map(|a| match &a.domain {
                                Some(d) => format!("{}@{d}", a.username),
                                None => a.username.clone(),
                            })
                        };
                        let (from, target) = (who(c, r.account_id)?, who(c, r.target_account_id)?);
                        rows.push((r, from, target));
                    }
                    Ok::<_, crate::db::DbError>(rows)
                })
                .await?;
            if rows.is_empty() {
                println!("no reports");
            }
            for (r, from, target) in rows {
                println!(
                    "{}  {}  {}  from {} about {}  posts: {}  {}{}",
                    r.id,
                    r.created_at.format("%Y-%m-%d %H:%M"),
                    r.category,
                    from,
                    target,
                    r.statuses().len(),
                    if r.action_taken_at.is_some() {
                        "[handled] "
                    } else {
                        ""
                    },
                    r.comment.replace('\n', " ")
                );
            }
        }
        AdminCommand::Report(ReportCommand::Resolve { id }) => {
            let found = db
                .run(move |c| {
                    crate::domain::reports::resolve(c, id).map_err(crate::db::DbError::from)
                })
                .await?;
            if !found {
                anyhow::bail!("no report {id}");
            }
            println!("report {id} marked handled");
        }
        AdminCommand::Queue(QueueCommand::Retry { host }) => {
            let n = crate::delivery::retry_host(&db, &host).await?;
            println!("{n} deliveries to {host} are due now");
        }
        AdminCommand::CreateGroup {
            name,
            owner,
            closed,
            announcement_only,
            display_name,
        } => {
            let owner_name = owner.clone();
            let (_, owner) = db
                .run(move |c| {
                    crate::db::models::User::by_username(c, &owner_name)
                        .map_err(crate::db::DbError::from)
                })
                .await?
                .ok_or_else(|| anyhow::anyhow!("no local user '{owner}'"))?;
            let state = crate::app::AppState::new(config.clone(), db.clone());
            let g = crate::domain::groups::create(
                &state,
                &owner,
                crate::domain::groups::NewGroup {
                    name,
                    display_name,
                    note: String::new(),
                    closed,
                    discoverable: true,
                    announcement_only,
                },
            )
            .await?;
            println!(
                "created {} group {} ({}), owned by {}",
                if g.settings.closed { "closed" } else { "open" },
                g.account.username,
                g.account.uri,
                owner.username
            );
        }
        AdminCommand::Pending => {
            println!(
                "{:<30} {:<36} {:<17} reason",
                "username", "email", "signed up"
            );
            for (user, account) in registrations::pending(&db).await? {
                println!(
                    "{:<30} {:<36} {:<17} {}",
                    account.username,
                    user.email,
                    user.created_at.format("%Y-%m-%d %H:%M"),
                    user.sign_up_reason.unwrap_or_default().replace('\n', " ")
                );
            }
        }
        AdminCommand::Approve { username } => {
            registrations::approve(&db, &username).await?;
            println!("sign-up of {username} approved");
        }
        AdminCommand::Reject { username } => {
            registrations::reject(&db, &username).await?;
            println!("sign-up of {username} rejected and removed");
        }
        AdminCommand::DeleteUser { username, yes } => {
            if !yes {
                bail!("deleting {username} cannot be undone: add --yes");
            }
            let name = username.clone();
            let (_, account) = db
                .run(move |c| {
                    crate::db::models::User::by_username(c, &name).map_err(crate::db::DbError::from)
                })
                .await?
                .ok_or_else(|| anyhow::anyhow!("no local user '{username}'"))?;
            let state = crate::app::AppState::new(config.clone(), db.clone());
            crate::domain::accounts::delete_local_account(&state, &account).await?;
            println!("user {username} deleted; other servers will be told");
        }
        AdminCommand::ProfileField(cmd) => run_profile_field(cmd, &db, &config).await?,
        AdminCommand::SkillSynonym(cmd) => run_skill_synonym(cmd, &db).await?,
        AdminCommand::Directory(cmd) => run_directory(cmd, db.clone(), config.clone()).await?,
        AdminCommand::Insights(cmd) => run_insights(cmd, &db, &config).await?,
        AdminCommand::Suggestions(cmd) => run_suggestions(cmd, &db, &config).await?,
        AdminCommand::Announcement(cmd) => run_announcement(cmd, &db, &config).await?,
        AdminCommand::Trends(cmd) => run_trends(cmd, &db).await?,
        AdminCommand::Relay(cmd) => run_relay(cmd, db.clone(), config.clone()).await?,
        AdminCommand::PartnerFeed(cmd) => run_partner_feed(cmd, db.clone(), config.clone()).await?,
        AdminCommand::Scim(ScimCommand::Token(cmd)) => {
            use crate::sso::scim;
            match cmd {
                ScimTokenCommand::Create => {
                    let (tid, token) = scim::create_token(&db).await?;
                    eprintln!("SCIM token {tid} created; it is shown only once:");
                    println!("{token}");
                }
                ScimTokenCommand::List => {
                    println!("# id\tcreated\tlast used\trevoked");
                    let fmt = |t: Option<chrono::NaiveDateTime>| {
                        t.map(|t| t.format("%Y-%m-%d %H:%M").to_string())
                            .unwrap_or_else(|| "-".into())
                    };
                    for (tid, created, used, revoked) in scim::tokens(&db).await? {
                        println!(
                            "{tid}\t{}\t{}\t{}",
                            fmt(Some(created)),
                            fmt(used),
                            fmt(revoked)
                        );
                    }
                }
                ScimTokenCommand::Revoke { id } => {
                    if !scim::revoke_token(&db, id).await? {
                        anyhow::bail!("no live SCIM token {id}");
                    }
                    println!("SCIM token {id} revoked");
                }
            }
        }
        AdminCommand::Ldap(LdapCommand::Sync) => {
            if !crate::sso::ldap::enabled(&config) {
                anyhow::bail!("no LDAP directory is set up (MEETFIELD_LDAP_URL)");
            }
            let state = crate::app::AppState::new(config.clone(), db.clone());
            let report = crate::sso::ldap::sync(&state)
                .await
                .map_err(|e| anyhow::anyhow!("ldap sync failed: {e}"))?;
            println!("{report}");
        }
        AdminCommand::CreateToken { username, scopes } => {
            let scopes =
                crate::domain::oauth::Scopes::parse(&scopes).map_err(|e| anyhow::anyhow!(e))?;
            let name = username.clone();
            let (user, _) = db
                .run(move |c| {
                    crate::db::models::User::by_username(c, &name).map_err(crate::db::DbError::from)
                })
                .await?
                .ok_or_else(|| anyhow::anyhow!("no local user '{username}'"))?;
            if user.disabled {
                bail!("user {username} is disabled");
            }
            let (token, _) =
                crate::domain::oauth::issue_token(&db, None, Some(user.id), scopes.clone()).await?;
            println!(
                "access token for {username} with scopes \"{}\":",
                scopes.as_string()
            );
            println!("{token}");
        }
    }
    Ok(())
}

async fn run_profile_field(
    cmd: ProfileFieldCommand,
    db: &crate::db::Db,
    config: &Config,
) -> anyhow::Result<()> {
    use crate::org::profile::{self, FieldKind};
    match cmd {
        ProfileFieldCommand::Add {
            name,
            kind,
            choices,
            managed,
        } => {
            let kind = FieldKind::parse(&kind)?;
            let choices: Vec<String> = choices.split(',').map(str::to_string).collect();
            let f = db
                .transaction(move |c| profile::add_field(c, &name, kind, &choices, managed))
                .await?;
            println!(
                "profile field {} added ({}{})",
                f.name,
                f.kind,
                if f.managed { ", managed" } else { "" }
            );
        }
        ProfileFieldCommand::List => {
            let fields = db
                .run(|c| profile::schema(c).map_err(crate::db::DbError::from))
                .await?;
            println!("{:<24} {:<7} {:<8} choices", "name", "kind", "managed");
            for f in fields {
                println!(
                    "{:<24} {:<7} {:<8} {}",
                    f.name,
                    f.kind,
                    if f.managed { "yes" } else { "no" },
                    f.choices().join(", ")
                );
            }
        }
        ProfileFieldCommand::Remove { name } => {
            let n = name.clone();
            db.transaction(move |c| profile::remove_field(c, &n))
                .await?;
            println!("profile field {name} removed");
        }
        ProfileFieldCommand::Set {
            username,
            name,
            value,
        } => {
            let who = username.clone();
            let (_, account) = db
                .run(move |c| {
                    crate::db::models::User::by_username(c, &who).map_err(crate::db::DbError::from)
                })
                .await?
                .ok_or_else(|| anyhow::anyhow!("no local user '{username}'"))?;
            let state = crate::app::AppState::new(config.clone(), db.clone());
            crate::domain::accounts::set_fields_as_admin(
                &state,
                &account,
                &[(name.clone(), value.clone())],
            )
            .await?;
            println!("{username}: {name} set");
        }
    }
    Ok(())
}

async fn run_skill_synonym(cmd: SkillSynonymCommand, db: &crate::db::Db) -> anyhow::Result<()> {
    use crate::org::profile;
    match cmd {
        SkillSynonymCommand::Add { alias, skill } => {
            let (a, s) = (alias.clone(), skill.clone());
            db.transaction(move |c| profile::add_synonym(c, &a, &s))
                .await?;
            println!(
                "{} = {}",
                profile::normalize(&alias),
                profile::normalize(&skill)
            );
        }
        SkillSynonymCommand::List => {
            let all = db
                .run(|c| profile::synonyms(c).map_err(crate::db::DbError::from))
                .await?;
            for (alias, skill) in all {
                println!("{alias} = {skill}");
            }
        }
        SkillSynonymCommand::Remove { alias } => {
            let a = alias.clone();
            db.transaction(move |c| profile::remove_synonym(c, &a))
                .await?;
            println!("synonym {alias} removed");
        }
    }
    Ok(())
}

async fn run_invite(cmd: InviteCommand, db: &crate::db::Db, config: &Config) -> anyhow::Result<()> {
    match cmd {
        InviteCommand::Create {
            max_uses,
            expires_in_hours,
        } => {
            if config.registrations == crate::config::Registrations::Closed {
                eprintln!(
                    "warning: MEETFIELD_REGISTRATIONS is closed: invites work only in invite, approval or open mode"
                );
            }
            let hours = expires_in_hours.map(chrono::Duration::hours);
            let invite = registrations::create_invite(db, None, max_uses, hours).await?;
            println!(
                "invite code (max uses: {}, expires: {}):",
                invite
                    .max_uses
                    .map_or("unlimited".into(), |m| m.to_string()),
                invite.expires_at.map_or("never".into(), |t| t
                    .format("%Y-%m-%d %H:%M UTC")
                    .to_string())
            );
            println!("{}", invite.code);
        }
        InviteCommand::List => {
            println!(
                "{:<10} {:<6} {:<9} {:<22} state",
                "code", "uses", "max", "expires"
            );
            for i in registrations::list_invites(db).await? {
                let state = if i.revoked_at.is_some() {
                    "revoked"
                } else if i.usable() {
                    "usable"
                } else {
                    "used up or expired"
                };
                println!(
                    "{:<10} {:<6} {:<9} {:<22} {}",
                    i.code,
                    i.uses,
                    i.max_uses.map_or("-".into(), |m| m.to_string()),
                    i.expires_at.map_or("never".into(), |t| t
                        .format("%Y-%m-%d %H:%M UTC")
                        .to_string()),
                    state
                );
            }
        }
        InviteCommand::Revoke { code } => {
            registrations::revoke_invite(db, &code).await?;
            println!("invite {code} revoked");
        }
    }
    Ok(())
}

async fn run_partner_feed(
    cmd: PartnerFeedCommand,
    db: crate::db::Db,
    config: Config,
) -> anyhow::Result<()> {
    use crate::domain::partner_feed;
    match cmd {
        PartnerFeedCommand::Subscribe { domain } => {
            // Signed by the instance actor, as the server's fetches.
            let app = crate::app::App::new(config, db).await?;
            let theirs = partner_feed::subscribe(&app.data(), &domain).await?;
            println!(
                "asked {} for its public posts; the workers deliver the request",
                theirs.domain.unwrap_or(domain)
            );
        }
        PartnerFeedCommand::Unsubscribe { domain } => {
            let app = crate::app::App::new(config, db).await?;
            if !partner_feed::unsubscribe(&app.data(), &domain).await? {
                bail!("not subscribed to {domain}");
            }
            println!("unsubscribed from {domain}");
        }
        PartnerFeedCommand::List => {
            let (ours, theirs) = db
                .run(|c| partner_feed::overview(c).map_err(crate::db::DbError::from))
                .await?;
            for (d, accepted) in ours {
                println!("{d}\t{}", if accepted { "subscribed" } else { "waiting" });
            }
            for d in theirs {
                println!("{d}\tsubscribed to us");
            }
        }
    }
    Ok(())
}

async fn run_relay(cmd: RelayCommand, db: crate::db::Db, config: Config) -> anyhow::Result<()> {
    use crate::domain::relays;
    match cmd {
        RelayCommand::Add { url } => {
            let app = crate::app::App::new(config, db).await?;
            let r = relays::add(&app.data(), &url).await?;
            println!(
                "asked the relay at {} to take us in; the workers deliver the request",
                r.inbox_url
            );
        }
        RelayCommand::Remove { url } => {
            let app = crate::app::App::new(config, db).await?;
            if !relays::remove(&app.data(), &url).await? {
                bail!("no relay at {url}");
            }
            println!("left the relay at {url}");
        }
        RelayCommand::List => {
            for r in db
                .run(|c| relays::list(c).map_err(crate::db::DbError::from))
                .await?
            {
                println!("{}\t{}", r.inbox_url, r.state);
            }
        }
    }
    Ok(())
}

fn is_link(arg: &str) -> bool {
    let a = arg.trim().to_ascii_lowercase();
    a.starts_with("http://") || a.starts_with("https://")
}

async fn run_trends(cmd: TrendsCommand, db: &crate::db::Db) -> anyhow::Result<()> {
    use crate::domain::trends;
    match cmd {
        TrendsCommand::Hide { tag } if is_link(&tag) => {
            let url = db.transaction(move |c| trends::hide_link(c, &tag)).await?;
            println!("{url} is hidden from trends");
        }
        TrendsCommand::Hide { tag } => {
            let name = db.transaction(move |c| trends::hide(c, &tag)).await?;
            println!("#{name} is hidden from trends");
        }
        TrendsCommand::Allow { tag } => {
            let link = is_link(&tag);
            let (name, was) = db
                .transaction(move |c| {
                    if link {
                        trends::allow_link(c, &tag)
                    } else {
                        trends::allow(c, &tag).map(|(n, was)| (format!("#{n}"), was))
                    }
                })
                .await?;
            if was {
                println!("{name} may trend again");
            } else {
                println!("{name} was not hidden");
            }
        }
        TrendsCommand::List => {
            let (now, hidden, links, hidden_links) = db
                .run(|c| {
                    let links = trends::links(c, 0, 20)?;
                    let ids: Vec<i64> = links.iter().map(|l| l.0).collect();
                    let cards = crate::domain::cards::by_ids(c, &ids)?;
                    let urls: Vec<String> = ids
                        .iter()
                        .filter_map(|i| cards.get(i).map(|k| k.url.clone()))
                        .collect();
                    Ok::<_, crate::db::DbError>((
                        trends::tags(c, 0, 20)?,
                        trends::hidden(c)?,
                        urls,
                        trends::hidden_links(c)?,
                    ))
                })
                .await?;
            for (t, _) in now {
                println!("#{t}");
            }
            for t in hidden {
                println!("#{t}\thidden");
            }
            for u in links {
                println!("{u}");
            }
            for u in hidden_links {
                println!("{u}\thidden");
            }
        }
        TrendsCommand::Compute => {
            let done = trends::compute(db).await?;
            println!("trends computed: {done}");
        }
    }
    Ok(())
}

async fn run_announcement(
    cmd: AnnouncementCommand,
    db: &crate::db::Db,
    config: &Config,
) -> anyhow::Result<()> {
    use crate::domain::announcements::{self as ann, Draft, Site};
    // NOTIFY reaches running servers from here; SQLite's in-process
    // signals do not, so there the workers tell the streams.
    fn tell(c: &mut crate::db::DbConn) -> crate::error::AppResult<()> {
        if matches!(c, crate::db::DbConn::Postgres(_)) {
            ann::flush(c)?;
        }
        Ok(())
    }
    match cmd {
        AnnouncementCommand::Create {
            text,
            starts_at,
            ends_at,
            all_day,
        } => {
            let draft = Draft {
                text: Some(text),
                starts_at: starts_at
                    .map(|s| ann::parse_time("Starts at", &s))
                    .transpose()?,
                ends_at: ends_at
                    .map(|s| ann::parse_time("Ends at", &s))
                    .transpose()?,
                all_day: Some(all_day),
                published: Some(true),
            };
            let site = Site {
                base: config.base_url(),
                domain: config.domain.clone(),
            };
            let a = db
                .transaction(move |c| {
                    let a = ann::create(c, &site, None, draft)?;
                    tell(c)?;
                    Ok::<_, crate::error::AppError>(a)
                })
                .await?;
            println!("announcement {} published", a.id);
        }
        AnnouncementCommand::List { json } => {
            let all = db
                .run(|c| ann::all(c).map_err(crate::db::DbError::from))
                .await?;
            let t = crate::db::now();
            let state = |a: &ann::Announcement| {
                if a.published_at.is_none() {
                    "draft"
                } else if a.is_live(t) {
                    "live"
                } else {
                    "ended"
                }
            };
            if json {
                let iso =
                    |x: Option<chrono::NaiveDateTime>| x.map(crate::api::mastodon::entities::iso);
                let v: Vec<serde_json::Value> = all
                    .iter()
                    .map(|a| {
                        serde_json::json!({
                            "id": a.id.to_string(),
                            "text": a.text,
                            "state": state(a),
                            "starts_at": iso(a.starts_at),
                            "ends_at": iso(a.ends_at),
                            "all_day": a.all_day,
                            "published_at": iso(a.published_at),
                        })
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                println!("# id\tstate\tstarts\tends\ttext");
                let t = |x: Option<chrono::NaiveDateTime>| {
                    x.map(|x| x.format("%Y-%m-%d %H:%M").to_string())
                        .unwrap_or_else(|| "-".into())
                };
                for a in &all {
                    let first: String = a
                        .text
                        .lines()
                        .next()
                        .unwrap_or("")
                        .chars()
                        .take(60)
                        .collect();
                    println!(
                        "{}\t{}\t{}\t{}\t{}",
                        a.id,
                        state(a),
                        t(a.starts_at),
                        t(a.ends_at),
                        first
                    );
                }
            }
        }
        AnnouncementCommand::Delete { id } => {
            db.transaction(move |c| {
                ann::delete(c, id)?;
                tell(c)
            })
            .await
            .map_err(|e| match e {
                crate::error::AppError::NotFound(_) => anyhow::anyhow!("no announcement {id}"),
                other => other.into(),
            })?;
            println!("announcement {id} deleted");
        }
    }
    Ok(())
}

async fn run_suggestions(
    cmd: SuggestionsCommand,
    db: &crate::db::Db,
    config: &Config,
) -> anyhow::Result<()> {
    use crate::org::suggestions;
    let local = |username: String| async move {
        let name = username.clone();
        db.run(move |c| {
            crate::db::models::Account::local_by_username(c, &name)
                .map_err(crate::db::DbError::from)
        })
        .await?
        .with_context(|| format!("no local account {username}"))
    };
    match cmd {
        SuggestionsCommand::Feature { username } => {
            let a = local(username).await?;
            let id = a.id;
            let new = db
                .run(move |c| suggestions::feature(c, id).map_err(crate::db::DbError::from))
                .await?;
            println!(
                "{} {}",
                a.username,
                if new {
                    "is featured"
                } else {
                    "was featured already"
                }
            );
        }
        SuggestionsCommand::Unfeature { username } => {
            let a = local(username).await?;
            let id = a.id;
            let was = db
                .run(move |c| suggestions::unfeature(c, id).map_err(crate::db::DbError::from))
                .await?;
            if !was {
                bail!("{} was not featured", a.username);
            }
            println!("{} is no longer featured", a.username);
        }
        SuggestionsCommand::List => {
            let list = db
                .run(|c| suggestions::featured(c).map_err(crate::db::DbError::from))
                .await?;
            for a in list {
                println!("{}", a.username);
            }
        }
        SuggestionsCommand::Compute => {
            let n = suggestions::compute(db, config.insights_window_days).await?;
            println!("suggestions computed for {n} people");
        }
    }
    Ok(())
}

async fn run_insights(
    cmd: InsightsCommand,
    db: &crate::db::Db,
    config: &Config,
) -> anyhow::Result<()> {
    use crate::org::insights;
    if !config.insights {
        bail!("connector insight is turned off (MEETFIELD_INSIGHTS=false)");
    }
    match cmd {
        InsightsCommand::Compute => {
            let bar = std::io::stderr().is_terminal();
            let summary = insights::compute(db, config, move |done, total| {
                // At most a hundred redraws, whatever the number of sources.
                if bar && (done == total || done % (total / 100).max(1) == 0) {
                    let width = 40 * done / total.max(1);
                    eprint!(
                        "\rbetweenness [{:<40}] {done}/{total} sources",
                        "#".repeat(width)
                    );
                    if done == total {
                        eprintln!();
                    }
                }
            })
            .await?;
            println!("{summary}");
        }
        InsightsCommand::Connectors {
            department,
            limit,
            json,
        } => {
            let rows = db
                .run(move |c| {
                    let (run, _) = insights::runs(c)?;
                    let Some(run) = run else {
                        return Ok(None);
                    };
                    let people = insights::connectors(c, &run, department.as_deref(), limit)?;
                    Ok::<_, crate::db::DbError>(Some((run, people)))
                })
                .await?;
            let Some((run, people)) = rows else {
                bail!("no insight computed yet (meetfield admin insights compute)");
            };
            if json {
                let people: Vec<_> = people
                    .into_iter()
                    .map(|(m, a)| {
                        let mut v = serde_json::to_value(&m).unwrap_or_default();
                        v["username"] = a.username.into();
                        v["display_name"] = a.display_name.into();
                        v
                    })
                    .collect();
                println!(
                    "{}",
                    serde_json::json!({ "run": run, "connectors": people })
                );
            } else {
                println!(
                    "# computed {} over {} days: {} people, {} ties",
                    run.finished_at.format("%Y-%m-%d %H:%M"),
                    run.window_days,
                    run.people,
                    run.ties
                );
                println!(
                    "{:<24} {:<20} {:>11} {:>9} {:>9} {:>10} {:>8}",
                    "username",
                    "department",
                    "betweenness",
                    "p(dept)",
                    "p(inst)",
                    "constraint",
                    "cut off"
                );
                for (m, a) in people {
                    println!(
                        "{:<24} {:<20} {:>11.5} {:>9.3} {:>9.3} {:>10} {:>8}",
                        a.username,
                        insights::unit_label(&m.department),
                        m.betweenness,
                        m.participation_department,
                        m.participation_instance,
                        m.constraint_score
                            .map(|c| format!("{c:.3}"))
                            .unwrap_or_else(|| "-".into()),
                        m.cut_off
                    );
                }
            }
        }
        InsightsCommand::Silos { json } => {
            let map = db
                .run(move |c| {
                    let (run, previous) = insights::runs(c)?;
                    let Some(run) = run else {
                        return Ok(None);
                    };
                    let map = insights::silos(c, &run, previous.as_ref())?;
                    Ok::<_, crate::db::DbError>(Some((run, map)))
                })
                .await?;
            let Some((run, map)) = map else {
                bail!("no insight computed yet (meetfield admin insights compute)");
            };
            if json {
                println!("{}", serde_json::json!({ "run": run, "silos": map }));
            } else {
                println!(
                    "# computed {} over {} days",
                    run.finished_at.format("%Y-%m-%d %H:%M"),
                    run.window_days
                );
                println!(
                    "{:<10} {:<28} {:>7} {:>9} {:>9} {:>9}  note",
                    "kind", "unit", "people", "inside", "outside", "share out"
                );
                for u in &map.units {
                    let change = u
                        .previous_external_share
                        .map(|p| format!(" (was {:.0} %)", 100.0 * p))
                        .unwrap_or_default();
                    println!(
                        "{:<10} {:<28} {:>7} {:>9} {:>9} {:>8.0} %  {}{}",
                        u.kind,
                        insights::unit_label(&u.unit),
                        u.people,
                        u.internal_ties,
                        u.external_ties,
                        100.0 * u.external_share,
                        if u.island { "island" } else { "" },
                        change
                    );
                }
                println!("# ties between units");
                for t in map.ties.iter().filter(|t| t.a != t.b) {
                    let change = t
                        .previous_ties
                        .map(|p| format!(" (was {p})"))
                        .unwrap_or_default();
                    println!(
                        "{:<10} {} – {}: {}{}",
                        t.kind,
                        insights::unit_label(&t.a),
                        insights::unit_label(&t.b),
                        t.ties,
                        change
                    );
                }
            }
        }
    }
    Ok(())
}

async fn run_directory(
    cmd: DirectoryCommand,
    db: crate::db::Db,
    config: Config,
) -> anyhow::Result<()> {
    use crate::org::partners;
    match cmd {
        DirectoryCommand::Sync { domain, full } => {
            // The fetches are signed by the instance actor, as the server's.
            let app = crate::app::App::new(config, db).await?;
            let data = app.data();
            let results = match domain {
                Some(d) => vec![(d.clone(), partners::sync(&data, &d, full).await)],
                None => partners::sync_all(&data, full).await,
            };
            if results.is_empty() {
                println!("no partners (meetfield admin domain allow DOMAIN, or sync DOMAIN)");
            }
            let mut failed = 0;
            for (domain, r) in results {
                match r {
                    Ok(report) => println!("{report}"),
                    Err(e) => {
                        failed += 1;
                        eprintln!("{domain}: failed: {e}");
                    }
                }
            }
            if failed > 0 {
                anyhow::bail!("{failed} directory sync(s) failed");
            }
        }
        DirectoryCommand::List => {
            let peers = db
                .run(|c| partners::peers(c).map_err(crate::db::DbError::from))
                .await?;
            println!("# domain\tshare\tread\tlast sync\tresult");
            for p in peers {
                println!(
                    "{}\t{}\t{}\t{}\t{}",
                    p.domain,
                    if p.share { "share" } else { "no-share" },
                    if p.read { "read" } else { "no-read" },
                    p.last_sync_at
                        .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
                        .unwrap_or_else(|| "never".into()),
                    p.last_result
                );
            }
        }
    }
    Ok(())
}

async fn run_domain(cmd: DomainCommand, db: &crate::db::Db, config: &Config) -> anyhow::Result<()> {
    use crate::domain::policy::{self, PolicyKind};
    match cmd {
        DomainCommand::Directory { domain, action } => {
            let (share, read) = match action {
                DirectoryShare::Share => (Some(true), None),
                DirectoryShare::NoShare => (Some(false), None),
                DirectoryShare::Read => (None, Some(true)),
                DirectoryShare::NoRead => (None, Some(false)),
            };
            let p = db
                .transaction(move |c| crate::org::partners::set_peer(c, &domain, share, read))
                .await?;
            println!(
                "{}: directory {}, {}",
                p.domain,
                if p.share { "shared" } else { "not shared" },
                if p.read { "read" } else { "not read" }
            );
        }
        DomainCommand::Allow { domain, comment } => {
            let d = policy::set_domain_policy(db, &domain, PolicyKind::Allow, &comment).await?;
            println!("allowed {d}");
        }
        DomainCommand::Block { domain, comment } => {
            let d = policy::set_domain_policy(db, &domain, PolicyKind::Block, &comment).await?;
            println!("blocked {d}");
        }
        DomainCommand::Remove { domain } => {
            if policy::remove_domain_policy(db, &domain).await? {
                println!("removed {domain}");
            } else {
                anyhow::bail!("no entry for {domain}");
            }
        }
        DomainCommand::RejectMedia { domain } => {
            let (d, _) = policy::set_media_rejection(db, &domain, true).await?;
            println!("media from {d} are rejected");
        }
        DomainCommand::AcceptMedia { domain } => {
            let (d, changed) = policy::set_media_rejection(db, &domain, false).await?;
            if !changed {
                anyhow::bail!("media from {d} were not rejected");
            }
            println!("media from {d} are accepted again");
        }
        DomainCommand::List => {
            let rows = db
                .run(|c| crate::db::models::DomainPolicy::all(c).map_err(crate::db::DbError::from))
                .await?;
            println!("# federation mode: {}", config.federation_mode.as_str());
            for r in rows {
                if r.comment.is_empty() {
                    println!("{}\t{}", r.policy, r.domain);
                } else {
                    println!("{}\t{}\t# {}", r.policy, r.domain, r.comment);
                }
            }
            for d in policy::media_rejections(db).await? {
                println!("reject-media\t{d}");
            }
        }
    }
    Ok(())
}

impl PasswordArgs {
    /// The password to use and whether we generated it.
    fn resolve(self) -> anyhow::Result<(String, bool)> {
        if let Some(p) = self.password {
            return Ok((p, false));
        }
        if self.generate_password {
            return Ok((password::generate(), true));
        }
        let stdin = std::io::stdin();
        if stdin.is_terminal() {
            let first = rpassword::prompt_password("New password: ")?;
            let again = rpassword::prompt_password("Repeat password: ")?;
            if first != again {
                bail!("the passwords do not match");
            }
            return Ok((first, false));
        }
        // Scripts pipe the password in: `echo "$PW" | meetfield admin set-password bob`.
        let mut line = String::new();
        stdin.lock().read_line(&mut line)?;
        let pw = line.trim_end_matches(['\r', '\n']).to_string();
        if pw.is_empty() {
            bail!(
                "no password given: use --password, --generate-password, or pipe one on standard input"
            );
        }
        Ok((pw, false))
    }
}
