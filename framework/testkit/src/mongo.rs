//! A real, throwaway `mongod`.
//!
//! [`Mongo`] runs a real, throwaway `mongod` as a one-member replica set
//! (change streams and transactions need one) on a free loopback port with
//! its own data folder, for tests that must not mock MongoDB. It can be
//! stopped and restarted on the same port and data, to test a node that
//! outlives its database.
//!
//! Where `mongod` comes from, in order: `$ESPOIR_MONGOD`, the copy that
//! `.ci/provision-mongod` installs under `target/mongodb`, then `PATH`.
//! Without one, [`Mongo::start`] returns `None` so a developer's test run
//! can skip — except under `CI=true`, where a missing dependency must fail
//! the test, never skip it.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use mongodb::bson::doc;
use mongodb::options::ClientOptions;
use mongodb::{Client, Database};

use crate::process::{free_port, log_tail};

/// How long mongod gets to start and elect itself primary; generous,
/// because CI machines are small and busy.
const READY_WITHIN: Duration = Duration::from_secs(60);
/// How long [`Mongo::client`] waits to reach the server.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(30);
/// How long [`Mongo::stop`] lets mongod shut down cleanly before killing
/// it; generous for the same reason (a kill would make the restart a crash
/// recovery, which is not what the tests that stop it mean to test).
const STOP_WITHIN: Duration = Duration::from_secs(60);

/// A running `mongod`, killed on drop.
#[derive(Debug)]
pub struct Mongo {
    bin: PathBuf,
    port: u16,
    data: tempfile::TempDir,
    child: Option<Child>,
    placement: Placement,
}

/// Where a [`Mongo`] runs: by default on 127.0.0.1 in this machine's own
/// namespace; on a test bed's host, inside that host's namespace.
#[derive(Debug, Clone)]
pub struct Placement {
    /// Words put before `mongod` (`ip netns exec NS`).
    pub prefix: Vec<String>,
    /// The address it binds and names itself by in the replica set.
    pub bind: String,
    /// Its port; `None`: a free loopback port.
    pub port: Option<u16>,
    /// `host:port` where this test process reaches it (a relay into the
    /// namespace); `None`: `bind:port`.
    pub reach: Option<String>,
}

impl Default for Placement {
    fn default() -> Placement {
        Placement { prefix: Vec::new(), bind: "127.0.0.1".into(), port: None, reach: None }
    }
}

fn locate_mongod() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("ESPOIR_MONGOD") {
        return Some(PathBuf::from(path));
    }
    let provisioned =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/mongodb/fiftyone/db/bin/mongod");
    if provisioned.is_file() {
        return Some(provisioned);
    }
    let on_path = std::env::var_os("PATH")?;
    std::env::split_paths(&on_path).map(|dir| dir.join("mongod")).find(|p| p.is_file())
}

impl Mongo {
    /// Starts a fresh mongod replica set, or returns `None` (after saying
    /// why on stderr) when mongod is not installed and `CI` is not `true`.
    ///
    /// # Panics
    /// When mongod is missing under `CI=true`, or cannot start.
    pub async fn start() -> Option<Mongo> {
        Mongo::start_at(Placement::default()).await
    }

    /// [`Mongo::start`] at `placement`.
    ///
    /// # Panics
    /// As [`Mongo::start`].
    pub async fn start_at(placement: Placement) -> Option<Mongo> {
        let Some(bin) = locate_mongod() else {
            let why = "mongod not found: run .ci/provision-mongod or set ESPOIR_MONGOD";
            assert!(std::env::var("CI").as_deref() != Ok("true"), "{why} (CI=true: not skipping)");
            eprintln!("skipping: {why}");
            return None;
        };
        let data =
            tempfile::Builder::new().prefix("espoir-mongo-").tempdir().expect("a temporary data folder");
        let port = placement.port.unwrap_or_else(free_port);
        let mut mongo = Mongo { bin, port, data, child: None, placement };
        mongo.spawn();
        mongo.wait_primary(true).await;
        Some(mongo)
    }

    fn spawn(&mut self) {
        let log = self.data.path().join("mongod.log");
        let db = self.data.path().join("db");
        std::fs::create_dir_all(&db).expect("data folder");
        let mut command = match self.placement.prefix.split_first() {
            Some((first, rest)) => {
                let mut command = Command::new(first);
                command.args(rest).arg(&self.bin);
                command
            }
            None => Command::new(&self.bin),
        };
        let child = command
            .arg("--dbpath")
            .arg(&db)
            .arg("--logpath")
            .arg(&log)
            .args(["--port", &self.port.to_string(), "--bind_ip", &self.placement.bind, "--replSet", "rs0"])
            // Small caches: several of these run at once on a 2-core CI box.
            .args(["--wiredTigerCacheSizeGB", "0.25", "--nounixsocket"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", self.bin.display()));
        self.child = Some(child);
    }

    /// The connection string of this server, for this test process.
    pub fn uri(&self) -> String {
        format!("mongodb://{}/?replicaSet=rs0&directConnection=true", self.reach())
    }

    /// The connection string of this server from where it runs (another
    /// host of a test bed names it so).
    pub fn member_uri(&self) -> String {
        format!("mongodb://{}:{}/?replicaSet=rs0", self.placement.bind, self.port)
    }

    fn reach(&self) -> String {
        self.placement.reach.clone().unwrap_or_else(|| format!("{}:{}", self.placement.bind, self.port))
    }

    /// Its port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A client connected to it. Its timeouts only run out when mongod is
    /// gone, so they are generous: a busy CI machine can stall a healthy
    /// mongod for seconds.
    pub async fn client(&self) -> Client {
        let mut options = ClientOptions::parse(self.uri()).await.expect("valid uri");
        options.server_selection_timeout = Some(CLIENT_TIMEOUT);
        options.connect_timeout = Some(CLIENT_TIMEOUT);
        Client::with_options(options).expect("client")
    }

    /// A database on it.
    pub async fn database(&self, name: &str) -> Database {
        self.client().await.database(name)
    }

    async fn wait_primary(&mut self, initiate: bool) {
        let deadline = tokio::time::Instant::now() + READY_WITHIN;
        // Before initiation the server is in no replica set, and a client
        // that names one would refuse it: talk to it directly.
        let direct = format!("mongodb://{}/?directConnection=true", self.reach());
        let mut options = ClientOptions::parse(direct).await.expect("valid uri");
        options.server_selection_timeout = Some(Duration::from_secs(2));
        let client = Client::with_options(options).expect("client");
        let admin = client.database("admin");
        let mut initiated = !initiate;
        loop {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                let tail = log_tail(&self.data.path().join("mongod.log"), 20);
                panic!("mongod exited with {status}; log tail:\n{tail}");
            }
            if !initiated {
                let config = doc! { "_id": "rs0", "members": [{ "_id": 0, "host": format!("{}:{}", self.placement.bind, self.port) }] };
                match admin.run_command(doc! { "replSetInitiate": config }).await {
                    Ok(_) => initiated = true,
                    // 23: AlreadyInitialized.
                    Err(e) if e.to_string().contains("already initialized") => initiated = true,
                    Err(_) => {}
                }
            }
            if initiated
                && let Ok(hello) = admin.run_command(doc! { "hello": 1 }).await
                && hello.get_bool("isWritablePrimary").unwrap_or(false)
            {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "mongod on port {} not primary in time",
                self.port
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Stops the server (SIGTERM, then SIGKILL); data and port are kept.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
            let deadline = std::time::Instant::now() + STOP_WITHIN;
            while std::time::Instant::now() < deadline {
                if matches!(child.try_wait(), Ok(Some(_))) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port and data, and waits for it to be
    /// primary again.
    pub async fn restart(&mut self) {
        self.stop();
        self.spawn();
        self.wait_primary(false).await;
    }
}

impl Drop for Mongo {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
