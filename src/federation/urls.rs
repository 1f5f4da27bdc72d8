//! The URLs we mint for local actors and objects. Actor URLs derive from the
//! actor's id, so the instance actor and users share one scheme.

pub fn user_uri(base: &str, username: &str) -> String {
    format!("{base}/users/{username}")
}

pub fn profile_url(base: &str, username: &str) -> String {
    format!("{base}/@{username}")
}

pub fn instance_actor_uri(base: &str) -> String {
    format!("{base}/actor")
}

pub fn inbox(actor_uri: &str) -> String {
    format!("{actor_uri}/inbox")
}

pub fn outbox(actor_uri: &str) -> String {
    format!("{actor_uri}/outbox")
}

pub fn followers(actor_uri: &str) -> String {
    format!("{actor_uri}/followers")
}

pub fn following(actor_uri: &str) -> String {
    format!("{actor_uri}/following")
}

pub fn main_key(actor_uri: &str) -> String {
    format!("{actor_uri}#main-key")
}

pub fn shared_inbox(base: &str) -> String {
    format!("{base}/inbox")
}

pub fn activity(base: &str, id: i64) -> String {
    format!("{base}/activities/{id}")
}

pub fn featured_tags(actor_uri: &str) -> String {
    format!("{actor_uri}/collections/tags")
}

pub fn featured(actor_uri: &str) -> String {
    format!("{actor_uri}/collections/featured")
}

pub fn moderators(actor_uri: &str) -> String {
    format!("{actor_uri}/moderators")
}
