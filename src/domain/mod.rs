//! Where things happen: one function per user-visible change, whoever asked
//! for it (API, federation, CLI). Writes in one transaction.

pub mod accounts;
pub mod blocks;
pub mod follows;
pub mod html;
pub mod instance;
pub mod notifications;
pub mod oauth;
pub mod password;
pub mod policy;
pub mod statuses;
pub mod text;
pub mod timelines;
pub mod users;
