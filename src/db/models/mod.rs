//! Rows and the queries on them. Returns `QueryResult`; rules live in `domain`.

pub mod account;
pub mod setting;
pub mod user;

pub use account::{Account, NewAccount};
pub use user::{NewUser, Role, User};
