//! The throwaway mongod is a real replica set: transactions work, and it
//! survives a restart with its data.

use espoir_testkit::Mongo;
use mongodb::bson::{Document, doc};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_set_that_keeps_its_data_across_a_restart() {
    let Some(mut mongo) = Mongo::start().await else { return };
    let coll = mongo.database("kit").await.collection::<Document>("t");

    // Transactions need a replica set: this fails on a standalone mongod.
    let client = mongo.client().await;
    let mut session = client.start_session().await.unwrap();
    session.start_transaction().await.unwrap();
    let in_txn = client.database("kit").collection::<Document>("t");
    in_txn.insert_one(doc! { "k": 1 }).session(&mut session).await.unwrap();
    session.commit_transaction().await.unwrap();

    mongo.restart().await;
    let coll_after = mongo.database("kit").await.collection::<Document>("t");
    assert_eq!(coll_after.count_documents(doc! { "k": 1 }).await.unwrap(), 1);
    drop(coll);
}
