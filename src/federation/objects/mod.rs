//! Database rows wrapped in newtypes that implement the federation traits;
//! the database layer never imports federation code.

pub mod account;

pub use account::ApubAccount;
