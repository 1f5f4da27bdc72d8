//! Password hashing with Argon2id (the `argon2` crate's defaults, which follow
//! OWASP's recommendation: 19 MiB, 2 passes).

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use rand::Rng;
use rand::distributions::Alphanumeric;

pub const MIN_LENGTH: usize = 8;
pub const MAX_LENGTH: usize = 72;

pub fn hash(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("hashing password: {e}"))
}

/// False for a wrong password and for a hash we cannot read.
pub fn verify(password: &str, hash: &str) -> bool {
    match PasswordHash::new(hash) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// A random password that is easy to copy: 24 letters and digits.
pub fn generate() -> String {
    rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(24)
        .map(char::from)
        .collect()
}

pub fn check_strength(password: &str) -> Result<(), String> {
    let n = password.chars().count();
    if n < MIN_LENGTH {
        return Err(format!(
            "password is too short (minimum is {MIN_LENGTH} characters)"
        ));
    }
    if n > MAX_LENGTH {
        return Err(format!(
            "password is too long (maximum is {MAX_LENGTH} characters)"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_verifies_only_the_same_password() {
        let h = hash("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(verify("correct horse", &h));
        assert!(!verify("correct horse!", &h));
        assert!(!verify("correct horse", "not a hash"));
    }

    #[test]
    fn generated_passwords_are_strong_and_distinct() {
        let a = generate();
        assert!(check_strength(&a).is_ok());
        assert_ne!(a, generate());
    }

    #[test]
    fn strength_limits() {
        assert!(check_strength("short").is_err());
        assert!(check_strength(&"x".repeat(73)).is_err());
        assert!(check_strength("long enough").is_ok());
    }
}
