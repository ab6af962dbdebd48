//! Tables of handlers by command id.

use std::collections::HashMap;
use std::sync::Arc;

use super::event::EventHandler;

/// Handlers by command id. A value, never a global: each node gets exactly
/// the tables it was built with, so several nodes with different handler
/// sets can run in one process.
#[derive(Clone, Default)]
pub struct EventTable {
    handlers: HashMap<i32, Arc<dyn EventHandler>>,
}

/// Two handlers claim the same command id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("command id {id} is registered twice: by `{first}` and by `{second}`")]
pub struct DuplicateEvent {
    /// The contested command id.
    pub id: i32,
    /// The handler registered first.
    pub first: &'static str,
    /// The handler that collided with it.
    pub second: &'static str,
}

impl EventTable {
    /// An empty table.
    pub fn new() -> Self {
        EventTable::default()
    }

    /// Adds a handler.
    ///
    /// # Errors
    /// [`DuplicateEvent`] naming both handlers if the id is taken.
    pub fn add(&mut self, handler: impl EventHandler) -> Result<(), DuplicateEvent> {
        self.add_arc(Arc::new(handler))
    }

    fn add_arc(&mut self, handler: Arc<dyn EventHandler>) -> Result<(), DuplicateEvent> {
        let id = handler.id();
        if let Some(first) = self.handlers.get(&id) {
            return Err(DuplicateEvent { id, first: first.name(), second: handler.name() });
        }
        self.handlers.insert(id, handler);
        Ok(())
    }

    /// Adds a handler whose id is known to be free: `events![]` checks its
    /// list at compile time, so this is what it expands to.
    ///
    /// # Panics
    /// If the id is taken, naming both handlers.
    #[track_caller]
    pub fn with(mut self, handler: impl EventHandler) -> Self {
        if let Err(dup) = self.add(handler) {
            panic!("{dup}");
        }
        self
    }

    /// Merges another table into this one.
    ///
    /// # Errors
    /// [`DuplicateEvent`] for the first id both tables serve; `self` is
    /// unchanged in that case.
    pub fn merge(mut self, other: EventTable) -> Result<EventTable, DuplicateEvent> {
        for (id, handler) in &other.handlers {
            if let Some(first) = self.handlers.get(id) {
                return Err(DuplicateEvent { id: *id, first: first.name(), second: handler.name() });
            }
        }
        self.handlers.extend(other.handlers);
        Ok(self)
    }

    /// The handler for `id`.
    pub fn get(&self, id: i32) -> Option<&Arc<dyn EventHandler>> {
        self.handlers.get(&id)
    }

    /// Number of handlers.
    pub fn len(&self) -> usize {
        self.handlers.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.handlers.is_empty()
    }

    /// Registered command ids, sorted.
    pub fn ids(&self) -> Vec<i32> {
        let mut ids: Vec<i32> = self.handlers.keys().copied().collect();
        ids.sort_unstable();
        ids
    }
}

impl std::fmt::Debug for EventTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut names: Vec<(i32, &str)> = self.handlers.iter().map(|(id, h)| (*id, h.name())).collect();
        names.sort_unstable();
        f.debug_map().entries(names).finish()
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::handler::{Context, HandlerFuture};

    struct Fixed(i32, &'static str);

    impl EventHandler for Fixed {
        fn id(&self) -> i32 {
            self.0
        }
        fn name(&self) -> &'static str {
            self.1
        }
        fn call(&self, _ctx: Context, body: Bytes) -> HandlerFuture {
            Box::pin(async move { Ok(Some(body)) })
        }
    }

    #[test]
    fn duplicate_ids_name_both_handlers() {
        let mut t = EventTable::new();
        t.add(Fixed(1, "a::login")).unwrap();
        let err = t.add(Fixed(1, "b::login")).unwrap_err();
        assert_eq!(err.to_string(), "command id 1 is registered twice: by `a::login` and by `b::login`");
    }

    #[test]
    fn merging_tables_refuses_overlap_and_keeps_both_sets_otherwise() {
        let a = EventTable::new().with(Fixed(1, "a")).with(Fixed(2, "b"));
        let b = EventTable::new().with(Fixed(3, "c"));
        let merged = a.clone().merge(b).unwrap();
        assert_eq!(merged.ids(), vec![1, 2, 3]);
        let clash = EventTable::new().with(Fixed(2, "z"));
        let err = a.merge(clash).unwrap_err();
        assert_eq!((err.id, err.first, err.second), (2, "b", "z"));
    }

    #[test]
    #[should_panic(expected = "registered twice")]
    fn with_panics_on_a_duplicate() {
        let _ = EventTable::new().with(Fixed(1, "a")).with(Fixed(1, "b"));
    }
}
