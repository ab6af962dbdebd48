//! Named handler groups, selected by a node's `api_path`.
//!
//! obespoir imports the module named in `api_path` to register handlers.
//! Here a binary lists the groups it was built with, by name, and each node
//! gets exactly the groups its config names: a value, never a global.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::NodeBuilder;
use crate::config::NodeConfig;

type GroupFn = Arc<dyn Fn(NodeBuilder) -> NodeBuilder + Send + Sync>;
type CheckFn = Arc<dyn Fn(&NodeConfig, &[NodeConfig]) -> Result<(), String> + Send + Sync>;

/// One group: how it wires a node, and how it validates its own part of a
/// config (`app.<name>`) without starting anything.
#[derive(Clone)]
struct Group {
    wire: GroupFn,
    check: Option<CheckFn>,
}

/// Handler groups by name.
#[derive(Clone, Default)]
pub struct HandlerGroups {
    groups: BTreeMap<String, Group>,
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
        self.groups.insert(name.into(), Group { wire: Arc::new(wire), check: None });
        self
    }

    /// As [`add`](Self::add), with a check of the group's settings that
    /// `espoir check` (and [`check`](Self::check)) runs without starting
    /// the node, so a bad `app` entry is caught before deployment. The
    /// check gets the node's config and every config of its cluster (the
    /// node's included), for rules across nodes such as "no two nodes share
    /// an id".
    pub fn add_checked(
        mut self,
        name: impl Into<String>,
        wire: impl Fn(NodeBuilder) -> NodeBuilder + Send + Sync + 'static,
        check: impl Fn(&NodeConfig, &[NodeConfig]) -> Result<(), String> + Send + Sync + 'static,
    ) -> Self {
        self.groups.insert(name.into(), Group { wire: Arc::new(wire), check: Some(Arc::new(check)) });
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

    /// Checks a config of `cluster` against the groups it names: every
    /// name must be a group, and each group with a check must accept the
    /// config (alone, or among the cluster's configs).
    ///
    /// # Errors
    /// Every problem found, one line each.
    pub fn check(&self, config: &NodeConfig, cluster: &[NodeConfig]) -> Result<(), Vec<String>> {
        let mut problems = Vec::new();
        for name in &config.api_path {
            match self.groups.get(name) {
                None => problems.push(self.unknown(name).to_string()),
                Some(Group { check: Some(check), .. }) => {
                    if let Err(why) = check(config, cluster) {
                        problems.push(why);
                    }
                }
                Some(_) => {}
            }
        }
        if problems.is_empty() { Ok(()) } else { Err(problems) }
    }

    fn unknown(&self, name: &str) -> UnknownGroup {
        UnknownGroup { name: name.to_owned(), known: self.names().collect::<Vec<_>>().join(", ") }
    }

    /// Applies the named groups, in order.
    ///
    /// # Errors
    /// [`UnknownGroup`] for the first name that is not a group.
    pub fn apply(&self, mut builder: NodeBuilder, names: &[String]) -> Result<NodeBuilder, UnknownGroup> {
        for name in names {
            let group = self.groups.get(name).ok_or_else(|| self.unknown(name))?;
            builder = (group.wire)(builder);
        }
        Ok(builder)
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn config(api_path: &str, app: &str) -> NodeConfig {
        let text = format!(
            r#"{{ name: "s", type: "service", host: "127.0.0.1", api_path: {api_path}, app: {app},
                 rpc: {{ port: 1, token: "0123456789abcdef0123456789abcdef", encode: 0 }} }}"#
        );
        NodeConfig::from_json5_str(&text, Path::new("s.json5")).unwrap()
    }

    fn groups() -> HandlerGroups {
        HandlerGroups::new().add("plain", |b| b).add_checked(
            "game",
            |b| b,
            |c: &NodeConfig, _: &[NodeConfig]| match c.app.get("game") {
                Some(v) if v.get("rooms").and_then(|r| r.as_u64()).is_some_and(|r| r > 0) => Ok(()),
                _ => Err(format!("node {}: app.game.rooms must be a positive number", c.name)),
            },
        )
    }

    fn check(groups: &HandlerGroups, api_path: &str, app: &str) -> Result<(), Vec<String>> {
        let node = config(api_path, app);
        groups.check(&node, std::slice::from_ref(&node))
    }

    #[test]
    fn a_group_check_sees_the_config_and_reports_its_problem() {
        let groups = groups();
        assert_eq!(check(&groups, r#"["plain", "game"]"#, r#"{ game: { rooms: 4 } }"#), Ok(()));
        let bad = check(&groups, r#"["game"]"#, r#"{ game: { rooms: 0 } }"#).unwrap_err();
        assert_eq!(bad, vec!["node s: app.game.rooms must be a positive number".to_owned()]);
        // An unchecked group accepts anything.
        assert_eq!(check(&groups, r#"["plain"]"#, "{}"), Ok(()));
    }

    #[test]
    fn every_problem_is_reported_unknown_groups_included() {
        let problems = check(&groups(), r#"["nope", "game"]"#, "{}").unwrap_err();
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].contains("\"nope\"") && problems[0].contains("game, plain"), "{problems:?}");
        assert!(problems[1].contains("app.game.rooms"), "{problems:?}");
    }

    #[test]
    fn a_group_check_sees_the_whole_cluster() {
        let one_per_cluster = HandlerGroups::new().add_checked(
            "solo",
            |b| b,
            |c: &NodeConfig, all: &[NodeConfig]| {
                let others =
                    all.iter().filter(|o| o.name != c.name && o.api_path.contains(&"solo".into())).count();
                if others == 0 {
                    Ok(())
                } else {
                    Err(format!("node {}: \"solo\" runs once per cluster", c.name))
                }
            },
        );
        let mut a = config(r#"["solo"]"#, "{}");
        let mut b = a.clone();
        b.name = "t".into();
        assert_eq!(one_per_cluster.check(&a, &[a.clone()]), Ok(()));
        let problems = one_per_cluster.check(&a, &[a.clone(), b.clone()]).unwrap_err();
        assert_eq!(problems, vec!["node s: \"solo\" runs once per cluster".to_owned()]);
        a.api_path.clear();
        assert_eq!(one_per_cluster.check(&b, &[a, b.clone()]), Ok(()), "only nodes of the group count");
    }
}
