//! Named handler groups, selected by a node's `api_path`.
//!
//! obespoir imports the module named in `api_path` to register handlers.
//! Here a binary lists the groups it was built with, by name, and each node
//! gets exactly the groups its config names: a value, never a global.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::NodeBuilder;

type GroupFn = Arc<dyn Fn(NodeBuilder) -> NodeBuilder + Send + Sync>;

/// Handler groups by name.
#[derive(Clone, Default)]
pub struct HandlerGroups {
    groups: BTreeMap<String, GroupFn>,
}

impl std::fmt::Debug for HandlerGroups {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.groups.keys()).finish()
    }
}

/// A config names a group the binary does not have.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown handler group {name:?} in api_path; this binary has: {known}")]
pub struct UnknownGroup {
    /// The name asked for.
    pub name: String,
    /// The names available, comma-separated.
    pub known: String,
}

impl HandlerGroups {
    /// No groups.
    pub fn new() -> Self {
        HandlerGroups::default()
    }

    /// Adds a group: a function that adds handlers, state and HTTP routes
    /// to a node being built.
    pub fn add(
        mut self,
        name: impl Into<String>,
        wire: impl Fn(NodeBuilder) -> NodeBuilder + Send + Sync + 'static,
    ) -> Self {
        self.groups.insert(name.into(), Arc::new(wire));
        self
    }

    /// The group names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.groups.keys().map(String::as_str)
    }

    /// Whether `name` is a group.
    pub fn contains(&self, name: &str) -> bool {
        self.groups.contains_key(name)
    }

    /// Applies the named groups, in order.
    ///
    /// # Errors
    /// [`UnknownGroup`] for the first name that is not a group.
    pub fn apply(&self, mut builder: NodeBuilder, names: &[String]) -> Result<NodeBuilder, UnknownGroup> {
        for name in names {
            let wire = self.groups.get(name).ok_or_else(|| UnknownGroup {
                name: name.clone(),
                known: self.names().collect::<Vec<_>>().join(", "),
            })?;
            builder = wire(builder);
        }
        Ok(builder)
    }
}
