//! Deserializers of individual fields: node type names, seconds, tokens
//! (read through `secret`), `encode`, and the shapes obespoir's files use
//! for lists.
//!
//! Each rejects a bad value from inside its visitor, so the error carries
//! the value's path (see `de`).

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::de::{self, Deserialize, Deserializer, SeqAccess, Visitor};

use crate::proto::NodeType;
use crate::secure::Token;

/// The lowercase config name of a node type.
pub(crate) fn type_name(node_type: NodeType) -> &'static str {
    match node_type {
        NodeType::Proxy => "proxy",
        NodeType::Route => "route",
        NodeType::Service => "service",
        NodeType::Unspecified => "unspecified",
    }
}

/// A node type written as its config name; used for `type` values and for
/// the keys of `range` and `special`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct TypeName(NodeType);

impl<'de> Deserialize<'de> for TypeName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = TypeName;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(r#"a node type: "proxy", "route" or "service""#)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<TypeName, E> {
                match v {
                    "proxy" => Ok(TypeName(NodeType::Proxy)),
                    "route" => Ok(TypeName(NodeType::Route)),
                    "service" => Ok(TypeName(NodeType::Service)),
                    _ => Err(E::invalid_value(de::Unexpected::Str(v), &self)),
                }
            }
        }
        deserializer.deserialize_str(V)
    }
}

/// `"proxy" | "route" | "service"`.
pub(crate) fn node_type<'de, D: Deserializer<'de>>(d: D) -> Result<NodeType, D::Error> {
    TypeName::deserialize(d).map(|t| t.0)
}

/// An object keyed by node type names.
pub(crate) fn type_map<'de, D, V>(d: D) -> Result<BTreeMap<NodeType, V>, D::Error>
where
    D: Deserializer<'de>,
    V: Deserialize<'de>,
{
    let map = BTreeMap::<TypeName, V>::deserialize(d)?;
    Ok(map.into_iter().map(|(k, v)| (k.0, v)).collect())
}

/// A duration written as a number of seconds: `5`, `0.05`.
pub(crate) fn seconds<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    struct V;
    impl Visitor<'_> for V {
        type Value = Duration;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a non-negative number of seconds")
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Duration, E> {
            u64::try_from(v)
                .map(Duration::from_secs)
                .map_err(|_| E::invalid_value(de::Unexpected::Signed(v), &self))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Duration, E> {
            Ok(Duration::from_secs(v))
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Duration, E> {
            Duration::try_from_secs_f64(v).map_err(|_| E::invalid_value(de::Unexpected::Float(v), &self))
        }
    }
    d.deserialize_any(V)
}

/// A token: a string whose UTF-8 bytes are the secret, or where to read
/// it (`{"env": …}`, `{"file": …}`, see `secret`).
pub(crate) fn token<'de, D: Deserializer<'de>>(d: D) -> Result<Token, D::Error> {
    super::secret::value(d).map(Token::new)
}

/// An optional token.
pub(crate) fn opt_token<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Token>, D::Error> {
    super::secret::opt_value(d).map(|t| t.map(Token::new))
}

/// obespoir's `encode`: `0` (plain) or `1` (encrypted).
pub(crate) fn encode<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    struct V;
    impl Visitor<'_> for V {
        type Value = bool;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("0 (plain) or 1 (encrypted)")
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<bool, E> {
            match v {
                0 => Ok(false),
                1 => Ok(true),
                _ => Err(E::invalid_value(de::Unexpected::Signed(v), &self)),
            }
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<bool, E> {
            self.visit_i64(i64::try_from(v).unwrap_or(i64::MAX))
        }
    }
    d.deserialize_any(V)
}

/// One string or a list of strings (obespoir's `api_path` is one module
/// path; Espoir serves several handler groups).
pub(crate) fn one_or_many<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Vec<String>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a string or a list of strings")
        }
        fn visit_str<E>(self, v: &str) -> Result<Vec<String>, E> {
            Ok(vec![v.to_owned()])
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<String>, A::Error> {
            let mut out = Vec::new();
            while let Some(s) = seq.next_element()? {
                out.push(s);
            }
            Ok(out)
        }
    }
    d.deserialize_any(V)
}

/// `websocket.no_state.special`: ids, each either bare or in a list, so the
/// README's `[110119]`, obespoir's `[[110119]]` and `[]` all parse.
pub(crate) fn flat_ids<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<i32>, D::Error> {
    struct IdOrList(Vec<i32>);
    impl<'de> Deserialize<'de> for IdOrList {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl<'de> Visitor<'de> for V {
                type Value = IdOrList;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("a message id (i32) or a list of message ids")
                }
                fn visit_i64<E: de::Error>(self, v: i64) -> Result<IdOrList, E> {
                    i32::try_from(v)
                        .map(|id| IdOrList(vec![id]))
                        .map_err(|_| E::invalid_value(de::Unexpected::Signed(v), &self))
                }
                fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<IdOrList, A::Error> {
                    let mut ids = Vec::new();
                    while let Some(id) = seq.next_element::<i32>()? {
                        ids.push(id);
                    }
                    Ok(IdOrList(ids))
                }
            }
            d.deserialize_any(V)
        }
    }
    let lists = Vec::<IdOrList>::deserialize(d)?;
    Ok(lists.into_iter().flat_map(|l| l.0).collect())
}
