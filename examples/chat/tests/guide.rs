//! docs/first-game.md, followed: its files are this crate's files, and its
//! commands run, in order, against them: `check`, `up`, two clients that
//! chat, and a clean stop. The configs are copied to a temporary folder
//! with free ports in place of theirs, so the test never collides with
//! another; everything else is as the guide shows it.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;

use espoir::NodeConfig;
use espoir_testkit::{Client, WAIT, free_ports, temp_dir, wait_until};
use serde_json::json;

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn guide() -> String {
    std::fs::read_to_string(crate_dir().join("../../docs/first-game.md")).expect("docs/first-game.md")
}

/// The guide's fenced blocks: the info string (`rust src/lib.rs`) and the
/// text.
fn blocks(doc: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut open: Option<(String, String)> = None;
    for line in doc.lines() {
        match (&mut open, line.strip_prefix("```")) {
            (None, Some(info)) => open = Some((info.trim().to_owned(), String::new())),
            (Some(_), Some("")) => out.push(open.take().unwrap()),
            (Some((_, text)), _) => {
                text.push_str(line);
                text.push('\n');
            }
            (None, None) => {}
        }
    }
    assert!(open.is_none(), "an unclosed code block in the guide");
    out
}

/// The block whose info string is `info` exactly.
fn block<'a>(blocks: &'a [(String, String)], info: &str) -> &'a str {
    let found = blocks.iter().find(|(i, _)| i == info);
    &found.unwrap_or_else(|| panic!("no ```{info} block in the guide")).1
}

/// Every file of the crate but its tests, relative to the crate.
fn crate_files(dir: &Path, prefix: &str, out: &mut BTreeSet<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = format!("{prefix}{}", path.file_name().unwrap().to_string_lossy());
        if path.is_dir() {
            if name != "tests" && name != "target" {
                crate_files(&path, &format!("{name}/"), out);
            }
        } else {
            out.insert(name);
        }
    }
}

#[test]
fn the_guide_shows_every_file_of_the_game_as_it_is() {
    let blocks = blocks(&guide());
    let mut shown = BTreeSet::new();
    for (info, text) in &blocks {
        let Some((_, path)) = info.split_once(' ') else { continue };
        let file = crate_dir().join(path);
        if !file.is_file() {
            continue;
        }
        let actual = std::fs::read_to_string(&file).unwrap();
        assert!(*text == actual, "the guide's {path} differs from examples/chat/{path}");
        shown.insert(path.to_owned());
    }
    let mut files = BTreeSet::new();
    crate_files(&crate_dir(), "", &mut files);
    assert_eq!(shown, files, "the guide shows each file of examples/chat (but its tests) once");
}

/// Replaces each whole number `from` by `to` in `text`.
fn replace_number(text: &str, from: u16, to: u16) -> String {
    let (from, to) = (from.to_string(), to.to_string());
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(&from) {
        let before = rest[..at].chars().last();
        let after = rest[at + from.len()..].chars().next();
        let whole = !before.is_some_and(|c| c.is_ascii_digit()) && !after.is_some_and(|c| c.is_ascii_digit());
        out.push_str(&rest[..at]);
        out.push_str(if whole { &to } else { &from });
        rest = &rest[at + from.len()..];
    }
    out.push_str(rest);
    out
}

/// The configs' ports, each with a free one to use instead.
fn port_map(configs: &[(PathBuf, NodeConfig)]) -> Vec<(u16, u16)> {
    let mut ports = BTreeSet::new();
    for (_, config) in configs {
        ports.insert(config.rpc.port);
        ports.extend(config.websocket.as_ref().map(|ws| ws.port));
        ports.extend(config.http.as_ref().map(|http| http.port));
    }
    let free = free_ports(ports.len());
    ports.into_iter().zip(free).collect()
}

fn with_ports(text: &str, ports: &[(u16, u16)]) -> String {
    ports.iter().fold(text.to_owned(), |text, &(from, to)| replace_number(&text, from, to))
}

/// A process the test started; killed if the test ends first.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A chat client run as the guide says, its stdout read line by line.
struct Player {
    process: Running,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Player {
    fn start(exe: &str, args: &[String], dir: &Path) -> Player {
        let mut child = Command::new(exe)
            .args(args)
            .current_dir(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Player { process: Running(child), stdin, lines, seen: Vec::new() }
    }

    /// Waits for the line `expected` (at most the kit's WAIT).
    fn expect(&mut self, expected: &str) {
        while !self.seen.iter().any(|l| l == expected) {
            match self.lines.recv_timeout(WAIT) {
                Ok(line) => self.seen.push(line),
                Err(_) => panic!("no line {expected:?}; got {:?}", self.seen),
            }
        }
    }

    fn say(&mut self, line: &str) {
        writeln!(self.stdin.as_mut().unwrap(), "{line}").unwrap();
    }

    /// Ctrl-D: the client ends; returns all it printed.
    fn quit(mut self) -> Vec<String> {
        drop(self.stdin.take());
        let status = self.process.0.wait().unwrap();
        assert!(status.success(), "the client exits cleanly: {status}");
        self.seen.extend(self.lines.iter());
        self.seen
    }
}

/// Waits until the cluster serves the game: a login is answered.
fn wait_until_serving(url: &str, ws_port: u16) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        wait_until("the proxy to listen", async || {
            std::net::TcpStream::connect(("127.0.0.1", ws_port)).is_ok()
        })
        .await;
        let mut probe = Client::connect(url).await;
        wait_until("the service to serve", async || {
            let (_, reply) = probe.request(chat::ids::LOGIN, &json!({ "name": "probe" })).await;
            reply.get("code").is_none()
        })
        .await;
        probe.close().await;
    });
}

#[test]
fn the_guides_commands_run_the_game_and_two_players_chat() {
    let doc = guide();
    let blocks = blocks(&doc);
    let commands: Vec<Vec<String>> = blocks
        .iter()
        .filter(|(info, _)| info == "sh")
        .flat_map(|(_, text)| text.lines().map(str::to_owned).collect::<Vec<_>>())
        .filter_map(|line| line.strip_prefix("cargo run --bin ").map(str::to_owned))
        .map(|line| line.split_whitespace().map(str::to_owned).collect())
        .collect();
    let names: Vec<String> = commands.iter().map(|c| format!("{} {}", c[0], c[2])).collect();
    assert_eq!(
        names,
        ["chat check", "chat up", "chat-client ws://127.0.0.1:40000", "chat-client ws://127.0.0.1:40000"]
    );

    // The guide's folder, with free ports.
    let configs = NodeConfig::load_dir(crate_dir().join("configs")).unwrap();
    let ports = port_map(&configs);
    let dir = temp_dir();
    std::fs::create_dir_all(dir.join("configs")).unwrap();
    for (file, _) in &configs {
        let text = std::fs::read_to_string(file).unwrap();
        std::fs::write(dir.join("configs").join(file.file_name().unwrap()), with_ports(&text, &ports))
            .unwrap();
    }
    let exe = |bin: &str| match bin {
        "chat" => env!("CARGO_BIN_EXE_chat"),
        "chat-client" => env!("CARGO_BIN_EXE_chat-client"),
        other => panic!("the guide runs an unknown binary {other}"),
    };
    let args = |command: &[String]| -> Vec<String> {
        assert_eq!(command[1], "--", "cargo run --bin NAME -- ARGS");
        command[2..].iter().map(|arg| with_ports(arg, &ports)).collect()
    };

    // check, on the crate's own configs and on the copy.
    for folder in [crate_dir(), dir.clone()] {
        let out = Command::new(exe(&commands[0][0]))
            .args(args(&commands[0]))
            .current_dir(&folder)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(stdout.lines().filter(|l| l.starts_with("ok ")).count(), configs.len(), "{stdout}");
    }

    // up, until it serves.
    let log = std::fs::File::create(dir.join("up.log")).unwrap();
    let up =
        Command::new(exe(&commands[1][0])).args(args(&commands[1])).current_dir(&dir).stderr(log).spawn();
    let mut up = Running(up.unwrap());
    let url = args(&commands[2])[0].clone();
    let ws_port = url.rsplit(':').next().unwrap().parse().unwrap();
    wait_until_serving(&url, ws_port);

    // Two players, as the guide says: alice, then bob; alice says hello
    // and leaves.
    let (first, second) = (&commands[2], &commands[3]);
    let mut alice = Player::start(exe(&first[0]), &args(first), &dir);
    alice.expect(&format!("* you joined {}, with [\"{}\"]", first[4], first[3]));
    let mut bob = Player::start(exe(&second[0]), &args(second), &dir);
    alice.expect(&format!("* {} joined {}", second[3], second[4]));
    alice.say("hello");
    bob.expect(&format!("[{}] {}: hello", first[4], first[3]));
    let alice_saw = alice.quit();
    bob.expect(&format!("* {} left {}", first[3], first[4]));
    let bob_saw = bob.quit();
    assert_eq!(
        alice_saw.join("\n") + "\n",
        block(&blocks, &format!("text {}", first[3])),
        "alice's terminal"
    );
    assert_eq!(bob_saw.join("\n") + "\n", block(&blocks, &format!("text {}", second[3])), "bob's terminal");

    // Ctrl-C (here SIGTERM) stops the cluster cleanly.
    let pid = up.0.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let status = up.0.wait().unwrap();
    let log = std::fs::read_to_string(dir.join("up.log")).unwrap();
    assert!(status.success(), "a clean stop exits 0, got {status}:\n{log}");
    assert!(log.contains("cluster up"), "{log}");
}
