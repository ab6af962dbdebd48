//! From JSON5 text to typed config, with the field path in every error.
//!
//! Deserializing straight from `serde_json5` has two problems: its errors
//! carry no field path, and it casts numbers into the target type with `as`,
//! so `"port": 70000` would silently become 65535. Instead, the text is first
//! parsed into a [`Tree`] (only JSON5 syntax can fail there), and the typed
//! config is then deserialized from that tree through [`At`], which knows
//! where in the document it is and stamps that path on the first error.
//! Numbers reach serde's own range-checked visitors as `i64`/`f64`.
//!
//! The deserializers of individual fields (`seconds`, `token`, …) are in
//! `fields`.

use std::collections::HashSet;
use std::fmt;

use serde::de::value::StrDeserializer;
use serde::de::{self, Deserialize, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

/// A parsed JSON5 document. Objects keep their entries in order and keep
/// duplicate keys, so that a key given twice is reported instead of the
/// last one silently winning.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tree {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Array(Vec<Tree>),
    Object(Vec<(String, Tree)>),
}

impl<'de> Deserialize<'de> for Tree {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(TreeVisitor)
    }
}

struct TreeVisitor;

impl<'de> Visitor<'de> for TreeVisitor {
    type Value = Tree;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON5 value")
    }

    fn visit_unit<E>(self) -> Result<Tree, E> {
        Ok(Tree::Null)
    }

    fn visit_none<E>(self) -> Result<Tree, E> {
        Ok(Tree::Null)
    }

    fn visit_bool<E>(self, v: bool) -> Result<Tree, E> {
        Ok(Tree::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Tree, E> {
        Ok(Tree::Int(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Tree, E> {
        i64::try_from(v).map(Tree::Int).map_err(|_| E::custom(format_args!("integer {v} is too large")))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Tree, E> {
        Ok(Tree::Float(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Tree, E> {
        Ok(Tree::Str(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Tree, E> {
        Ok(Tree::Str(v))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Tree, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Tree::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Tree, A::Error> {
        let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(0).min(1024));
        while let Some(entry) = map.next_entry::<String, Tree>()? {
            entries.push(entry);
        }
        Ok(Tree::Object(entries))
    }
}

/// Where a value sits in the document, as a chain of keys and indexes.
/// Displays as `rpc.route.range.service[1]`; the root displays as "".
#[derive(Debug, Clone, Copy)]
pub(crate) enum Path<'a> {
    Root,
    Key(&'a Path<'a>, &'a str),
    Index(&'a Path<'a>, usize),
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Path::Root => Ok(()),
            Path::Key(parent, key) => {
                let plain = !key.is_empty()
                    && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
                match (plain, parent) {
                    (true, Path::Root) => f.write_str(key),
                    (true, _) => write!(f, "{parent}.{key}"),
                    (false, _) => write!(f, "{parent}[{key:?}]"),
                }
            }
            Path::Index(parent, index) => write!(f, "{parent}[{index}]"),
        }
    }
}

/// A structural error (wrong type, unknown key, missing key, value out of
/// range) and the path of the value it is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SchemaError {
    /// Set by the innermost [`At`] that saw the error.
    pub(crate) path: Option<String>,
    pub(crate) reason: String,
}

impl fmt::Display for SchemaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
}

impl std::error::Error for SchemaError {}

impl de::Error for SchemaError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        SchemaError { path: None, reason: msg.to_string() }
    }
}

/// Deserializes `T` from `tree`, reporting the path of the first mismatch.
pub(crate) fn from_tree<T: de::DeserializeOwned>(tree: &Tree) -> Result<T, SchemaError> {
    T::deserialize(At { tree, path: Path::Root })
}

/// A deserializer for the value `tree` found at `path`.
#[derive(Clone, Copy)]
struct At<'a> {
    tree: &'a Tree,
    path: Path<'a>,
}

impl At<'_> {
    /// Stamps this value's path on an error that has none yet. Errors come
    /// back out through every enclosing `At`, innermost first, so the path
    /// recorded is that of the value where the error was raised.
    fn stamp<T>(&self, result: Result<T, SchemaError>) -> Result<T, SchemaError> {
        result.map_err(|mut err| {
            if err.path.is_none() {
                err.path = Some(self.path.to_string());
            }
            err
        })
    }

    fn unexpected(&self) -> de::Unexpected<'_> {
        match self.tree {
            Tree::Null => de::Unexpected::Unit,
            Tree::Bool(b) => de::Unexpected::Bool(*b),
            Tree::Int(i) => de::Unexpected::Signed(*i),
            Tree::Float(x) => de::Unexpected::Float(*x),
            Tree::Str(s) => de::Unexpected::Str(s),
            Tree::Array(_) => de::Unexpected::Seq,
            Tree::Object(_) => de::Unexpected::Map,
        }
    }
}

impl<'de> Deserializer<'de> for At<'_> {
    type Error = SchemaError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, SchemaError> {
        let result = match self.tree {
            Tree::Null => visitor.visit_unit(),
            Tree::Bool(b) => visitor.visit_bool(*b),
            Tree::Int(i) => visitor.visit_i64(*i),
            Tree::Float(x) => visitor.visit_f64(*x),
            Tree::Str(s) => visitor.visit_str(s),
            Tree::Array(items) => visitor.visit_seq(Seq { items: items.iter(), next: 0, path: self.path }),
            Tree::Object(entries) => visitor.visit_map(Map {
                entries: entries.iter(),
                seen: HashSet::with_capacity(entries.len()),
                pending: None,
                path: self.path,
            }),
        };
        self.stamp(result)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, SchemaError> {
        match self.tree {
            Tree::Null => self.stamp(visitor.visit_none()),
            _ => visitor.visit_some(self),
        }
    }

    // Derived struct visitors also accept a sequence (fields by position);
    // a config section must be an object.
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, SchemaError> {
        match self.tree {
            Tree::Object(_) => self.deserialize_any(visitor),
            _ => Err(SchemaError {
                path: Some(self.path.to_string()),
                reason: <SchemaError as de::Error>::invalid_type(self.unexpected(), &"an object").reason,
            }),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, SchemaError> {
        let result = match self.tree {
            Tree::Str(s) => visitor.visit_enum(StrDeserializer::<SchemaError>::new(s)),
            _ => Err(de::Error::invalid_type(self.unexpected(), &visitor)),
        };
        self.stamp(result)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, SchemaError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, SchemaError> {
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct seq tuple tuple_struct map identifier
    }
}

struct Seq<'a> {
    items: std::slice::Iter<'a, Tree>,
    next: usize,
    path: Path<'a>,
}

impl<'de> SeqAccess<'de> for Seq<'_> {
    type Error = SchemaError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, SchemaError> {
        let Some(tree) = self.items.next() else { return Ok(None) };
        let index = self.next;
        self.next += 1;
        let at = At { tree, path: Path::Index(&self.path, index) };
        // Stamped here too, for `Deserialize` impls that reject a value
        // after reading it (the error then arises outside `at`).
        let result = seed.deserialize(at);
        at.stamp(result).map(Some)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

struct Map<'a> {
    entries: std::slice::Iter<'a, (String, Tree)>,
    seen: HashSet<&'a str>,
    pending: Option<&'a (String, Tree)>,
    path: Path<'a>,
}

impl<'de> MapAccess<'de> for Map<'_> {
    type Error = SchemaError;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, SchemaError> {
        let Some(entry) = self.entries.next() else { return Ok(None) };
        let at = || Some(Path::Key(&self.path, &entry.0).to_string());
        if !self.seen.insert(&entry.0) {
            return Err(SchemaError { path: at(), reason: format!("key `{}` is given twice", entry.0) });
        }
        self.pending = Some(entry);
        seed.deserialize(StrDeserializer::<SchemaError>::new(&entry.0)).map(Some).map_err(|mut err| {
            err.path = err.path.or_else(at);
            err
        })
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, SchemaError> {
        let Some((key, tree)) = self.pending.take() else {
            return Err(de::Error::custom("a value was asked for before its key"));
        };
        let at = At { tree, path: Path::Key(&self.path, key) };
        // As in `Seq`: also stamp errors raised after the value was read.
        let result = seed.deserialize(at);
        at.stamp(result)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}
