//! The feed's format, read without I/O. A feed is JSON:
//!
//! ```json
//! {"matches": [{"id": "fifa-2026-m12", "type": "football", "home": "Lions",
//!   "away": "Tigers", "start_time": 1781000000,
//!   "options": [{"name": "home", "odds": 2.5}, {"name": "away", "odds": 1.5}]}]}
//! ```
//!
//! `id` is the feed's own id for the match, what makes importing it again
//! an update rather than a second match. Other keys are ignored (feeds
//! carry more than a betting app needs). An entry that does not read is
//! reported by position and id and skipped; the others are imported.

use serde::Deserialize;

use crate::model::{NewMatch, NewOption};

/// Largest feed read, in bytes.
pub const MAX_FEED_BYTES: usize = 8 << 20;
/// Most entries in one feed.
pub const MAX_FEED_MATCHES: usize = 10_000;
/// Longest feed id.
const MAX_FEED_ID: usize = 128;

/// Why a feed was not read at all (nothing was imported).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FeedError {
    /// The source could not be read.
    #[error("feed {source_name}: {reason}")]
    Unreadable {
        /// The file or URL.
        source_name: String,
        /// Why.
        reason: String,
    },
    /// The document is not a feed.
    #[error("feed {source_name}: not a feed: {reason}")]
    Malformed {
        /// The file or URL.
        source_name: String,
        /// Why.
        reason: String,
    },
}

/// One entry, read: its feed id and the match it describes.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedMatch {
    /// The feed's id for the match.
    pub id: String,
    /// The match.
    pub spec: NewMatch,
}

#[derive(Deserialize)]
struct Document {
    matches: Vec<serde_json::Value>,
}

#[derive(Deserialize)]
struct Entry {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    home: String,
    away: String,
    start_time: u64,
    options: Vec<NewOption>,
}

/// Reads a feed: its entries, and a message for each entry skipped.
///
/// # Errors
/// [`FeedError::Malformed`] when the document is not a feed.
pub fn parse(source_name: &str, bytes: &[u8]) -> Result<(Vec<FeedMatch>, Vec<String>), FeedError> {
    let malformed = |reason: String| FeedError::Malformed { source_name: source_name.to_owned(), reason };
    let doc: Document = serde_json::from_slice(bytes).map_err(|e| malformed(e.to_string()))?;
    if doc.matches.len() > MAX_FEED_MATCHES {
        return Err(malformed(format!("{} matches; at most {MAX_FEED_MATCHES}", doc.matches.len())));
    }
    let (mut out, mut skipped) = (Vec::<FeedMatch>::new(), Vec::new());
    for (i, value) in doc.matches.into_iter().enumerate() {
        let id = value.get("id").and_then(|v| v.as_str()).unwrap_or("?").to_owned();
        let entry = match serde_json::from_value::<Entry>(value) {
            Ok(entry) => entry,
            Err(err) => {
                skipped.push(format!("matches[{i}] (id {id:?}): {err}"));
                continue;
            }
        };
        if entry.id.trim().is_empty() || entry.id.len() > MAX_FEED_ID {
            skipped.push(format!("matches[{i}]: id must be 1 to {MAX_FEED_ID} characters"));
            continue;
        }
        if out.iter().any(|m| m.id == entry.id) {
            skipped.push(format!("matches[{i}] (id {id:?}): the id is given twice; the first one counts"));
            continue;
        }
        let spec = NewMatch {
            kind: entry.kind,
            home: entry.home,
            away: entry.away,
            start_time: entry.start_time,
            options: entry.options,
        };
        if let Err(err) = spec.validate() {
            skipped.push(format!("matches[{i}] (id {id:?}): {err}"));
            continue;
        }
        out.push(FeedMatch { id: entry.id, spec });
    }
    Ok((out, skipped))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_read_and_bad_ones_skipped_with_a_reason() {
        let feed = br#"{"source": "x", "matches": [
            {"id": "a", "type": "football", "home": "A", "away": "B", "start_time": 100, "venue": "ignored",
             "options": [{"name": "home", "odds": 2.5}, {"name": "away", "odds": 1.5}]},
            {"id": "b", "type": "football", "home": "A", "away": "B", "start_time": 100,
             "options": [{"name": "home", "odds": 0.5}, {"name": "away", "odds": 1.5}]},
            {"id": "c", "home": "A"},
            {"id": "a", "type": "lol", "home": "A", "away": "B", "start_time": 1,
             "options": [{"name": "x", "odds": 2}, {"name": "y", "odds": 2}]}
        ]}"#;
        let (matches, skipped) = parse("feed.json", feed).unwrap();
        assert_eq!(matches.len(), 1);
        assert_eq!((matches[0].id.as_str(), matches[0].spec.options[0].odds), ("a", 2.5));
        assert_eq!(skipped.len(), 3, "{skipped:?}");
        assert!(
            skipped[0].starts_with("matches[1] (id \"b\"): ") && skipped[0].contains("odds"),
            "{skipped:?}"
        );
        assert!(skipped[1].starts_with("matches[2] (id \"c\"): missing field"), "{skipped:?}");
        assert!(skipped[2].contains("given twice"), "{skipped:?}");
    }

    #[test]
    fn a_document_that_is_not_a_feed_is_refused_whole() {
        for bad in [&b"not json"[..], br#"{"games": []}"#, br#"[1, 2]"#] {
            let err = parse("http://x/feed", bad).unwrap_err();
            assert!(matches!(err, FeedError::Malformed { .. }), "{err}");
            assert!(err.to_string().starts_with("feed http://x/feed: not a feed: "), "{err}");
        }
    }
}
