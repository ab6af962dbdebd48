//! Password hashing with Argon2id (PHC strings), off the async threads.
//!
//! Each hash takes about 19 MiB and tens of milliseconds of CPU by design,
//! so the number running at once is bounded (a [`Hashers`] permit each): a
//! burst of logins queues instead of exhausting memory and starving the
//! node's other work.

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

use crate::error::BetError;

/// Longest password accepted, in bytes: bounds the hashing work a request
/// can ask for.
pub const MAX_PASSWORD: usize = 128;

/// Bounds concurrent hashing to the machine's parallelism.
#[derive(Debug)]
pub(crate) struct Hashers(tokio::sync::Semaphore);

impl Default for Hashers {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
        Hashers(tokio::sync::Semaphore::new(cores))
    }
}

impl Hashers {
    async fn permit(&self) -> Result<tokio::sync::SemaphorePermit<'_>, BetError> {
        // The semaphore is never closed.
        self.0.acquire().await.map_err(|_| BetError::Closed)
    }
}

/// Hashes `password` with a fresh salt.
///
/// # Errors
/// [`BetError::Invalid`] for an empty or over-long password.
pub(crate) async fn hash(hashers: &Hashers, password: &str) -> Result<String, BetError> {
    check(password)?;
    let _permit = hashers.permit().await?;
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
pub(crate) async fn verify(hashers: &Hashers, password: &str, phc: &str) -> Result<bool, BetError> {
    check(password)?;
    let _permit = hashers.permit().await?;
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
        let h = Hashers::default();
        let a = hash(&h, "s3cret").await.unwrap();
        let b = hash(&h, "s3cret").await.unwrap();
        assert_ne!(a, b, "fresh salt each time");
        assert!(a.starts_with("$argon2id$"));
        assert!(verify(&h, "s3cret", &a).await.unwrap());
        assert!(!verify(&h, "s3cret!", &a).await.unwrap());
        assert_eq!(hash(&h, "").await.unwrap_err().code(), 6003);
        assert_eq!(verify(&h, "x", "not a hash").await.unwrap_err().code(), 6090);
    }
}
