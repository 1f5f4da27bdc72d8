//! Rows and the queries on them. Returns `QueryResult`; rules live in `domain`.

pub mod account;
pub mod domain_policy;
pub mod follow;
pub mod setting;
pub mod status;
pub mod user;

pub use account::{Account, NewAccount};
pub use domain_policy::DomainPolicy;
pub use follow::Follow;
pub use status::{NewStatus, Status};
pub use user::{NewUser, Role, User};
