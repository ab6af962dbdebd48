//! obespoir's own three-node demo cluster (route, service, proxy on ports
//! 20000–22002), started from its PyPI package for side-by-side runs.
//!
//! The package ships the demo's start scripts and handler modules under
//! `site-packages/test/`; the demo's config files are kept in
//! `benches/obespoir/`. Logging is set to errors only, written to files:
//! obespoir's fastest setting, so it is measured at its best.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::procs::ServerProcs;

const CONFIGS: [(&str, &str); 3] = [
    ("route_config.json", include_str!("../obespoir/route_config.json")),
    ("service_config.json", include_str!("../obespoir/service_config.json")),
    ("proxy_config.json", include_str!("../obespoir/proxy_config.json")),
];

/// The running demo cluster.
#[derive(Debug)]
pub struct Obespoir {
    procs: ServerProcs,
}

fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}

impl Obespoir {
    /// Starts route, service and proxy with `python` (a venv with
    /// obEspoir 0.2.4, as `.ci/provision-obespoir` makes) in `workdir`.
    pub fn start(python: &Path, workdir: &Path) -> std::io::Result<Obespoir> {
        let out =
            Command::new(python).args(["-c", "import site; print(site.getsitepackages()[0])"]).output()?;
        if !out.status.success() {
            return Err(std::io::Error::other(format!(
                "{} cannot report its site-packages",
                python.display()
            )));
        }
        let site = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        copy_dir(&site.join("test"), workdir)?;
        for (name, text) in CONFIGS {
            std::fs::write(workdir.join(name), text)?;
        }
        std::fs::create_dir_all(workdir.join("logs"))?;
        let mut procs: Option<ServerProcs> = None;
        for role in ["route", "service", "proxy"] {
            let script = std::fs::read_to_string(workdir.join(format!("start_{role}.py")))?;
            let quiet = script.replace(
                r#", level=serv_config.get("log_level", logging.DEBUG))"#,
                r#", level="error", log_type="log")"#,
            );
            let run = format!("run_{role}.py");
            std::fs::write(workdir.join(&run), quiet)?;
            let mut cmd = Command::new(python);
            cmd.arg(&run).current_dir(workdir);
            let log = workdir.join(format!("logs/{role}.out"));
            match procs.as_mut() {
                None => procs = Some(ServerProcs::spawn(cmd, &log)?),
                Some(p) => p.add(&mut cmd, &log)?,
            }
            // obespoir's nodes must come up in this order.
            std::thread::sleep(Duration::from_secs(1));
        }
        let procs = procs.ok_or_else(|| std::io::Error::other("nothing started"))?;
        Ok(Obespoir { procs })
    }

    /// The three processes.
    pub fn procs(&mut self) -> &mut ServerProcs {
        &mut self.procs
    }

    /// Stops the cluster.
    pub fn stop(self) {
        self.procs.stop(Duration::from_secs(3));
    }
}
