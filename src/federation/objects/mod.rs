//! Database rows wrapped in newtypes that implement the federation traits;
//! the database layer never imports federation code.

pub mod account;
pub mod note;

pub use account::ApubAccount;
pub use note::ApubNote;
