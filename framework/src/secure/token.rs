//! The shared secret of a link.

use std::fmt;
use std::sync::Arc;

/// A link's shared token. It is never sent over the wire, and its `Debug`
/// output is redacted so that it cannot leak into logs.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(Arc<[u8]>);

impl Token {
    /// Wraps the token's bytes (for config tokens: their UTF-8 bytes).
    pub fn new(bytes: impl AsRef<[u8]>) -> Self {
        Token(bytes.as_ref().into())
    }

    /// The secret bytes, for key derivation only.
    pub(crate) fn expose(&self) -> &[u8] {
        &self.0
    }

    /// Whether `presented` (a bearer token from a request, say) equals this
    /// token. The comparison takes the same time wherever the bytes differ,
    /// so response timing does not reveal how much of a guess was right.
    pub fn matches(&self, presented: &[u8]) -> bool {
        use subtle::ConstantTimeEq;
        self.0.ct_eq(presented).into()
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True for an empty token.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Token(<{} bytes redacted>)", self.0.len())
    }
}

impl From<&str> for Token {
    fn from(s: &str) -> Self {
        Token::new(s)
    }
}

impl From<String> for Token {
    fn from(s: String) -> Self {
        Token::new(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_only_the_exact_bytes() {
        let t = Token::from("helloworldiloveyou~1234567890123");
        assert!(t.matches(b"helloworldiloveyou~1234567890123"));
        assert!(!t.matches(b"helloworldiloveyou~1234567890124"));
        assert!(!t.matches(b"helloworldiloveyou~123456789012"));
        assert!(!t.matches(b""));
    }

    #[test]
    fn debug_output_never_shows_the_secret() {
        let t = Token::from("helloworldiloveyou~1234567890123");
        let shown = format!("{t:?}");
        assert!(!shown.contains("hello"), "{shown}");
        assert_eq!(shown, "Token(<32 bytes redacted>)");
    }
}
