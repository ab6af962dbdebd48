//! Helpers shared by the betting tests.
#![allow(dead_code, unreachable_pub, missing_docs)]

pub mod cluster;
pub mod mongo;
pub mod store_suite;
pub mod store_time;

use betting::{Audit, EmbeddedStore, NewMatch, NewOption, Store};
use espoir_testkit::wait_until;

/// A fresh embedded store in its own temporary directory.
pub struct TempStore {
    pub store: EmbeddedStore,
    pub dir: tempfile::TempDir,
}

impl TempStore {
    pub fn new() -> TempStore {
        let dir = tempfile::tempdir().unwrap();
        let store = EmbeddedStore::open(dir.path().join("betting.redb")).unwrap();
        TempStore { store, dir }
    }

    pub fn path(&self) -> std::path::PathBuf {
        self.dir.path().join("betting.redb")
    }
}

/// Opens the store at `path` once the previous handle's writer thread has
/// let go of the file (it notices its queue closing asynchronously).
pub async fn reopen(path: &std::path::Path) -> EmbeddedStore {
    let mut store = None;
    let what = format!("{} can be opened again", path.display());
    wait_until(&what, async || match EmbeddedStore::open(path) {
        Ok(opened) => {
            store = Some(opened);
            true
        }
        Err(err) if err.to_string().contains("already open") => false,
        Err(err) => panic!("cannot reopen {}: {err}", path.display()),
    })
    .await;
    store.expect("opened above")
}

/// The money conservation check: balances + open stakes + the house's
/// result equal every coin ever credited, and the settlement index agrees
/// with the orders. Run after every scenario.
pub async fn assert_conserved(store: &dyn Store) -> Audit {
    let audit = store.audit().await.unwrap();
    assert!(audit.balanced(), "money is not conserved: {audit:?}");
    audit
}

/// A three-way match (home 2.5, draw 3.2, away 2.8) starting in an hour.
pub fn three_way(kind: &str) -> NewMatch {
    NewMatch {
        kind: kind.into(),
        home: "Lions".into(),
        away: "Tigers".into(),
        start_time: betting::now_ms() / 1000 + 3600,
        options: vec![
            NewOption { name: "home".into(), odds: 2.5 },
            NewOption { name: "draw".into(), odds: 3.2 },
            NewOption { name: "away".into(), odds: 2.8 },
        ],
    }
}
