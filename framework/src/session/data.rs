//! Session data: a small, bounded key → JSON-text map kept by the proxy and
//! sent with every request it forwards.

use std::collections::{BTreeMap, HashMap};

/// Longest session data key, in bytes.
pub(crate) const MAX_KEY_LEN: usize = 64;

/// Why a session data change was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DataError {
    /// Keys are 1 to 64 bytes.
    #[error("session data keys are 1 to {MAX_KEY_LEN} bytes")]
    BadKey,
    /// The session already has the most keys allowed.
    #[error("session data is limited to {max} keys")]
    TooManyKeys {
        /// The limit (`websocket.sessions.max_data_keys`).
        max: usize,
    },
    /// Keys and values together would exceed the byte limit.
    #[error("session data is limited to {max} bytes (keys and values); this would make {would_be}")]
    TooLarge {
        /// The limit (`websocket.sessions.max_data_bytes`).
        max: usize,
        /// The size after the change.
        would_be: usize,
    },
}

/// The data of one session. Every change is checked against the limits,
/// so the map never holds more than `max_keys` keys or `max_bytes` bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct SessionData {
    entries: BTreeMap<String, String>,
    bytes: usize,
}

impl SessionData {
    /// Sets `key` to `value` (JSON text).
    pub(crate) fn set(
        &mut self,
        key: &str,
        value: &str,
        max_keys: usize,
        max_bytes: usize,
    ) -> Result<(), DataError> {
        check_key(key)?;
        let old = self.entries.get(key).map(|v| key.len() + v.len());
        if old.is_none() && self.entries.len() >= max_keys {
            return Err(DataError::TooManyKeys { max: max_keys });
        }
        let would_be = self.bytes - old.unwrap_or(0) + key.len() + value.len();
        if would_be > max_bytes {
            return Err(DataError::TooLarge { max: max_bytes, would_be });
        }
        self.entries.insert(key.to_owned(), value.to_owned());
        self.bytes = would_be;
        Ok(())
    }

    /// Removes `key`; true if it was set.
    pub(crate) fn remove(&mut self, key: &str) -> bool {
        match self.entries.remove(key) {
            Some(value) => {
                self.bytes -= key.len() + value.len();
                true
            }
            None => false,
        }
    }

    /// The value of `key` (JSON text).
    #[cfg(test)]
    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.entries.get(key).map(String::as_str)
    }

    /// Keys plus values, in bytes.
    #[cfg(test)]
    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }

    /// The map as it goes into an envelope.
    pub(crate) fn to_wire(&self) -> HashMap<String, String> {
        self.entries.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }
}

/// Checks a key before it is sent anywhere.
pub(crate) fn check_key(key: &str) -> Result<(), DataError> {
    if key.is_empty() || key.len() > MAX_KEY_LEN { Err(DataError::BadKey) } else { Ok(()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_count_keys_and_bytes_and_replacing_frees_the_old_value() {
        let mut data = SessionData::default();
        data.set("room", "12", 2, 20).unwrap();
        assert_eq!(data.bytes(), 6);
        data.set("room", "1234567", 2, 20).unwrap();
        assert_eq!((data.get("room"), data.bytes()), (Some("1234567"), 11));
        data.set("seat", "3", 2, 20).unwrap();
        assert_eq!(data.set("third", "x", 2, 20), Err(DataError::TooManyKeys { max: 2 }));
        assert_eq!(data.set("seat", "123456789", 2, 20), Err(DataError::TooLarge { max: 20, would_be: 24 }));
        assert_eq!(data.get("seat"), Some("3"), "a refused change leaves the old value");
        assert!(data.remove("room"));
        assert!(!data.remove("room"));
        assert_eq!(data.bytes(), 5);
        assert_eq!(data.to_wire().len(), 1);
    }

    #[test]
    fn keys_must_be_short_and_non_empty() {
        let mut data = SessionData::default();
        assert_eq!(data.set("", "1", 8, 100), Err(DataError::BadKey));
        assert_eq!(data.set(&"k".repeat(MAX_KEY_LEN + 1), "1", 8, 1000), Err(DataError::BadKey));
        data.set(&"k".repeat(MAX_KEY_LEN), "1", 8, 1000).unwrap();
    }
}
