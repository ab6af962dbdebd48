//! Values a config may take from outside the file: tokens and MongoDB
//! URIs (secrets), and `host` (known only where the node runs, such as a
//! pod's address).
//!
//! Such a field holds the value itself, as in obespoir, or says where to
//! read it:
//!
//! ```json5
//! "token": "the-secret-itself",                  // in the file
//! "token": { "env": "ESPOIR_RPC_TOKEN" },        // an environment variable
//! "token": { "file": "/run/secrets/rpc_token" }, // a file's content
//! ```
//!
//! so a config can be committed while its secrets are mounted. Values are
//! read when the config is loaded (at start and on every reload, so a
//! rotated secret file is picked up by a reload). A variable that is not
//! set or is empty, or a file that cannot be read, is an error of the
//! field that names it. Error messages name the variable or file, never
//! the value.

use std::fmt;
use std::io::Read;
use std::path::PathBuf;

use serde::de::{self, Deserialize, Deserializer, MapAccess, Visitor};

/// Largest secret file read, in bytes: tokens and URIs are short, and a
/// path pointing at a huge file by mistake must not be read whole.
const MAX_SECRET_FILE: u64 = 64 * 1024;

/// Where a value comes from.
#[derive(Clone, PartialEq, Eq)]
pub(crate) enum Source {
    /// Written in the config itself.
    Inline(String),
    /// The environment variable of that name.
    Env(String),
    /// The content of that file, one trailing line break removed.
    File(PathBuf),
}

impl fmt::Debug for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Inline(_) => f.write_str("Inline(<redacted>)"),
            Source::Env(name) => write!(f, "Env({name:?})"),
            Source::File(path) => write!(f, "File({path:?})"),
        }
    }
}

impl Source {
    /// The value, read from where the source says.
    ///
    /// # Errors
    /// Why it could not be read, naming the variable or file (never the
    /// value).
    pub(crate) fn read(self) -> Result<String, String> {
        match self {
            Source::Inline(value) => Ok(value),
            Source::Env(name) => match std::env::var(&name) {
                Ok(value) if value.is_empty() => Err(format!("environment variable {name} is empty")),
                Ok(value) => Ok(value),
                Err(std::env::VarError::NotPresent) => Err(format!("environment variable {name} is not set")),
                Err(std::env::VarError::NotUnicode(_)) => {
                    Err(format!("environment variable {name} is not valid UTF-8"))
                }
            },
            Source::File(path) => {
                read_file(&path).map_err(|why| format!("secret file {}: {why}", path.display()))
            }
        }
    }
}

fn read_file(path: &std::path::Path) -> Result<String, String> {
    let file = std::fs::File::open(path).map_err(|err| err.to_string())?;
    let mut bytes = Vec::new();
    file.take(MAX_SECRET_FILE + 1).read_to_end(&mut bytes).map_err(|err| err.to_string())?;
    if bytes.len() as u64 > MAX_SECRET_FILE {
        return Err(format!("larger than {MAX_SECRET_FILE} bytes"));
    }
    let mut text = String::from_utf8(bytes).map_err(|_| "not valid UTF-8".to_owned())?;
    // `echo secret > file` and most editors end the file with a line
    // break that is not part of the secret.
    for end in ["\r\n", "\n"] {
        if text.ends_with(end) {
            text.truncate(text.len() - end.len());
            break;
        }
    }
    if text.is_empty() {
        return Err("is empty".into());
    }
    Ok(text)
}

impl<'de> Deserialize<'de> for Source {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Source;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(r#"a string, {"env": "VARIABLE"} or {"file": "/absolute/path"}"#)
            }
            fn visit_str<E>(self, v: &str) -> Result<Source, E> {
                Ok(Source::Inline(v.to_owned()))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Source, A::Error> {
                let bad = || de::Error::custom(format_args!("expected {}", Expecting(&V)));
                let Some(key) = map.next_key::<String>()? else { return Err(bad()) };
                let value: String = map.next_value()?;
                if map.next_key::<de::IgnoredAny>()?.is_some() {
                    return Err(bad());
                }
                match key.as_str() {
                    "env" if !value.is_empty() && !value.contains(['=', '\0']) => Ok(Source::Env(value)),
                    "env" => {
                        Err(de::Error::custom(format_args!("{value:?} is not an environment variable name")))
                    }
                    // A relative path would depend on the working directory
                    // the node happens to start in.
                    "file" if PathBuf::from(&value).is_absolute() => Ok(Source::File(value.into())),
                    "file" => {
                        Err(de::Error::custom(format_args!("secret file {value:?} must be an absolute path")))
                    }
                    _ => Err(bad()),
                }
            }
        }
        d.deserialize_any(V)
    }
}

struct Expecting<'a, T>(&'a T);

impl<'de, T: Visitor<'de>> fmt::Display for Expecting<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.expecting(f)
    }
}

/// A string that may come from outside the file, read: the string
/// itself, `{"env": "VARIABLE"}` or `{"file": "/absolute/path"}`.
///
/// The framework reads tokens, `mongo_uri` and `host` with it; an
/// application's own settings (`app.<name>`) can too, for their secrets:
///
/// ```
/// #[derive(serde::Deserialize)]
/// struct Settings {
///     #[serde(deserialize_with = "espoir::deserialize_secret")]
///     api_key: String,
/// }
/// ```
///
/// # Errors
/// An unset or empty variable, an unreadable, empty or oversized file, or
/// another shape; the message names the variable or file, never the value.
pub fn value<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Source::deserialize(d)?.read().map_err(de::Error::custom)
}

/// As [`value`], for an optional setting (absent or
/// `null` is `None`; use it with `#[serde(default)]`).
///
/// # Errors
/// As [`value`].
pub fn opt_value<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Option::<Source>::deserialize(d)?.map(Source::read).transpose().map_err(de::Error::custom)
}

#[cfg(test)]
#[path = "tests/secret.rs"]
mod tests;
