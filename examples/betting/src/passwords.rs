//! Password hashing with Argon2id (PHC strings), off the async threads.

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

use crate::error::BetError;

/// Longest password accepted, in bytes: bounds the hashing work a request
/// can ask for.
pub const MAX_PASSWORD: usize = 128;

/// Hashes `password` with a fresh salt.
///
/// # Errors
/// [`BetError::Invalid`] for an empty or over-long password.
pub(crate) async fn hash(password: &str) -> Result<String, BetError> {
    check(password)?;
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(BetError::storage)
    })
    .await
    .map_err(BetError::storage)?
}

/// Whether `password` matches the stored PHC string.
///
/// # Errors
/// [`BetError::Storage`] for an unreadable stored hash.
pub(crate) async fn verify(password: &str, phc: &str) -> Result<bool, BetError> {
    check(password)?;
    let (password, phc) = (password.to_owned(), phc.to_owned());
    tokio::task::spawn_blocking(move || {
        let parsed = PasswordHash::new(&phc)
            .map_err(|e| BetError::Storage(format!("unreadable password hash: {e}")))?;
        Ok(Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
    })
    .await
    .map_err(BetError::storage)?
}

fn check(password: &str) -> Result<(), BetError> {
    if password.is_empty() || password.len() > MAX_PASSWORD {
        return Err(BetError::invalid("password", format!("1 to {MAX_PASSWORD} bytes")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_only_their_password_and_are_salted() {
        let a = hash("s3cret").await.unwrap();
        let b = hash("s3cret").await.unwrap();
        assert_ne!(a, b, "fresh salt each time");
        assert!(a.starts_with("$argon2id$"));
        assert!(verify("s3cret", &a).await.unwrap());
        assert!(!verify("s3cret!", &a).await.unwrap());
        assert_eq!(hash("").await.unwrap_err().code(), 6003);
        assert_eq!(verify("x", "not a hash").await.unwrap_err().code(), 6090);
    }
}
