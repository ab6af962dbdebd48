//! Resume tokens: `"{session_id}.{32 hex digits}"`.
//!
//! The session id part says which session (and proxy) the token resumes;
//! the 128 random bits prove the holder is the client it was issued to.
//! Tokens are compared in constant time.

use std::fmt::Write;

use subtle::ConstantTimeEq;

use crate::id::SessionId;

const SECRET_LEN: usize = 16;

/// The secret half of a resume token, kept by the proxy.
#[derive(Clone)]
pub(crate) struct ResumeSecret([u8; SECRET_LEN]);

impl std::fmt::Debug for ResumeSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ResumeSecret(<redacted>)")
    }
}

impl ResumeSecret {
    /// A fresh random secret.
    pub(crate) fn generate() -> Self {
        ResumeSecret(rand::random())
    }

    /// The token a client keeps for `session`.
    pub(crate) fn token(&self, session: &SessionId) -> String {
        let mut text = format!("{session}.");
        for byte in self.0 {
            // Writing to a String cannot fail.
            let _ = write!(text, "{byte:02x}");
        }
        text
    }

    /// Whether `presented` (from [`parse`]) is this secret.
    pub(crate) fn matches(&self, presented: &PresentedToken) -> bool {
        self.0.ct_eq(&presented.secret).into()
    }
}

/// A token as a client presented it.
#[derive(Debug)]
pub(crate) struct PresentedToken {
    pub(crate) session: SessionId,
    secret: [u8; SECRET_LEN],
}

/// Parses a presented token; `None` if it is not one.
pub(crate) fn parse(text: &str) -> Option<PresentedToken> {
    let (session, hex) = text.rsplit_once('.')?;
    let session = SessionId::parse(session).ok()?;
    if hex.len() != 2 * SECRET_LEN || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let mut secret = [0u8; SECRET_LEN];
    for (i, byte) in secret.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(PresentedToken { session, secret })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::NodeId;

    #[test]
    fn a_token_round_trips_and_only_its_own_secret_matches() {
        let session = SessionId::new(NodeId::of("127.0.0.1", 1), 42);
        let secret = ResumeSecret::generate();
        let token = secret.token(&session);
        let presented = parse(&token).unwrap();
        assert_eq!(presented.session, session);
        assert!(secret.matches(&presented));
        assert!(!ResumeSecret::generate().matches(&presented));
    }

    #[test]
    fn malformed_tokens_are_refused() {
        let session = SessionId::new(NodeId::of("127.0.0.1", 1), 42);
        let good = ResumeSecret::generate().token(&session);
        let longer = format!("{good}0");
        let no_dot = good.replace('.', "_");
        for bad in ["", "x", &good[..good.len() - 1], longer.as_str(), no_dot.as_str()] {
            assert!(parse(bad).is_none(), "{bad:?}");
        }
        for filler in ["zz", "+f"] {
            assert!(parse(&format!("{session}.{}", filler.repeat(SECRET_LEN))).is_none());
        }
    }
}
