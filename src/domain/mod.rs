//! Where things happen: one function per user-visible change, whoever asked
//! for it (API, federation, CLI). Writes in one transaction.

pub mod accounts;
pub mod announcements;
pub mod answers;
pub mod blocks;
pub mod cards;
pub mod conversations;
pub mod filters;
pub mod follows;
pub mod group_invites;
pub mod groups;
pub mod html;
pub mod instance;
pub mod lists;
pub mod markers;
pub mod media;
pub mod moderation;
pub mod mutes;
pub mod notifications;
pub mod oauth;
pub mod partner_feed;
pub mod password;
pub mod pins;
pub mod policy;
pub mod polls;
pub mod registrations;
pub mod relays;
pub mod reports;
pub mod search;
pub mod statuses;
pub mod tags;
pub mod text;
pub mod timelines;
pub mod trends;
pub mod users;
