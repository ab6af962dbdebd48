//! One throwaway mongod shared by the tests of a binary that run at the
//! same time, each test on its own database.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};

use betting::MongoStore;
use espoir_testkit::Mongo;

/// The running mongod, while some test holds it: the last test to let go
/// stops it (a static would never be dropped, leaving mongod running).
static SHARED: tokio::sync::Mutex<Weak<Mongo>> = tokio::sync::Mutex::const_new(Weak::new());
static DATABASES: AtomicU64 = AtomicU64::new(0);

/// The shared mongod, started if no running test holds it; `None` when
/// mongod is missing and `CI` is not `true` (the testkit panics under CI).
pub async fn shared_mongo() -> Option<Arc<Mongo>> {
    let mut slot = SHARED.lock().await;
    if let Some(mongo) = slot.upgrade() {
        return Some(mongo);
    }
    let mongo = Arc::new(Mongo::start().await?);
    *slot = Arc::downgrade(&mongo);
    Some(mongo)
}

/// A database name no other test of this process uses.
pub fn fresh_database(test: &str) -> String {
    format!("bet_{}_{}_{test}", std::process::id(), DATABASES.fetch_add(1, Ordering::Relaxed))
}

/// A connected store on a fresh database.
pub async fn fresh_store(mongo: &Mongo, test: &str) -> MongoStore {
    MongoStore::connect(mongo.uri(), fresh_database(test)).await.expect("MongoDB store connects")
}
