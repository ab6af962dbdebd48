//! [`HostProcess`]: a child process run inside a host's namespace
//! (`ip netns exec` enters it and then execs the program, so the child's
//! pid is the program's own), which the test can kill, pause and resume.
//! Killed on drop.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use rustix::process::{Pid, Signal, kill_process};

use super::host::Host;
use crate::process::log_tail;

/// A process on a host of the bed.
#[derive(Debug)]
pub struct HostProcess {
    name: String,
    command: Vec<std::ffi::OsString>,
    dir: PathBuf,
    log: PathBuf,
    ns: String,
    child: Option<Child>,
    paused: bool,
}

impl HostProcess {
    /// Starts `program args` in `host`'s namespace, in folder `dir`, its
    /// stdout and stderr appended to `log`.
    ///
    /// # Panics
    /// When it cannot be started.
    pub fn spawn<S: AsRef<OsStr>>(
        name: &str,
        host: &Host,
        program: impl AsRef<OsStr>,
        args: impl IntoIterator<Item = S>,
        dir: &Path,
        log: &Path,
    ) -> HostProcess {
        let mut command = vec![program.as_ref().to_owned()];
        command.extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        let mut proc = HostProcess {
            name: name.to_owned(),
            command,
            dir: dir.to_owned(),
            log: log.to_owned(),
            ns: host.ns.clone(),
            child: None,
            paused: false,
        };
        proc.start();
        proc
    }

    /// Starts it (again, after [`HostProcess::kill`]) with the same command.
    ///
    /// # Panics
    /// When it cannot be started.
    pub fn start(&mut self) {
        assert!(self.child.is_none(), "{} is running", self.name);
        let out = std::fs::OpenOptions::new().create(true).append(true).open(&self.log).expect("log file");
        let child = Command::new("ip")
            .args(["netns", "exec", &self.ns])
            .args(&self.command)
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("log file"))
            .stderr(out)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", self.name));
        self.child = Some(child);
        self.paused = false;
    }

    /// Its name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `Err` with the log's tail once it has exited.
    pub fn check_alive(&mut self) -> Result<(), String> {
        let child = self.child.as_mut().ok_or_else(|| format!("{} is not running", self.name))?;
        match child.try_wait() {
            Ok(Some(status)) => Err(format!("{} exited ({status}):\n{}", self.name, self.log_tail())),
            _ => Ok(()),
        }
    }

    fn signal(&self, signal: Signal) {
        let child = self.child.as_ref().unwrap_or_else(|| panic!("{} is not running", self.name));
        let pid = Pid::from_raw(child.id() as i32).expect("a child's pid is positive");
        kill_process(pid, signal).unwrap_or_else(|e| panic!("cannot signal {}: {e}", self.name));
    }

    /// SIGSTOP: it stops answering, its sockets stay open.
    pub fn pause(&mut self) {
        self.signal(Signal::STOP);
        self.paused = true;
    }

    /// SIGCONT after [`HostProcess::pause`].
    pub fn resume(&mut self) {
        self.signal(Signal::CONT);
        self.paused = false;
    }

    /// SIGKILL, and reap it.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The last lines of its log.
    pub fn log_tail(&self) -> String {
        log_tail(&self.log, 40)
    }
}

impl Drop for HostProcess {
    fn drop(&mut self) {
        if self.paused {
            // A stopped process dies of SIGKILL too; resume anyway so
            // nothing lingers half-stopped if the kill races.
            let _ = self
                .child
                .as_ref()
                .map(|c| Pid::from_raw(c.id() as i32).map(|pid| kill_process(pid, Signal::CONT)));
        }
        self.kill();
    }
}
