//! `espoir-load traces`: tracing's cost, off and on side by side.

use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;
use clap::Args;
use espoir_benches::{TracesOptions, run_traces, traces_markdown, write_traces_section};

use crate::{machine, repo_root, sibling_espoir};

/// The arguments of `espoir-load traces`.
#[derive(Args, Debug)]
pub(crate) struct TracesArgs {
    /// The cluster's config folder.
    #[arg(long, default_value = "configs/hello")]
    cluster: PathBuf,
    /// Move the configs' distinct ports to this one and the next ones
    /// (default: keep them).
    #[arg(long)]
    port_base: Option<u16>,
    /// The proxy's websocket port in the configs (before the offset).
    #[arg(long, default_value_t = 20000)]
    ws_port: u16,
    /// Request command id.
    #[arg(long, default_value_t = 20000)]
    command: i32,
    /// Request body (JSON).
    #[arg(long, default_value = r#"{"user_id":10}"#)]
    body: String,
    /// Clients.
    #[arg(short = 'c', long, default_value_t = 32)]
    clients: usize,
    /// Measured seconds per variant.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Warm-up seconds per variant.
    #[arg(long, default_value_t = 2.0)]
    warmup: f64,
    /// Sampling ratios to run with tracing on.
    #[arg(long, value_delimiter = ',', default_value = "1,0.01")]
    ratios: Vec<f64>,
    /// The `espoir` binary (default: next to this one).
    #[arg(long)]
    espoir: Option<PathBuf>,
    /// Markdown file to write the results into (between markers).
    #[arg(long)]
    write: Option<PathBuf>,
}

pub(crate) async fn run(args: TracesArgs) -> Result<(), String> {
    let TracesArgs {
        cluster,
        port_base,
        ws_port,
        command,
        body,
        clients,
        duration,
        warmup,
        ratios,
        espoir,
        write,
    } = args;
    let opts = TracesOptions {
        espoir: espoir.unwrap_or_else(sibling_espoir),
        cluster: cluster.clone(),
        port_base,
        ws_port,
        command,
        body: Bytes::from(body),
        clients,
        warmup: Duration::from_secs_f64(warmup),
        duration: Duration::from_secs_f64(duration),
        ratios: ratios.clone(),
        workdir: repo_root().join("target/load-traces"),
    };
    let rows = run_traces(&opts).await?;
    let ratios: Vec<String> = ratios.iter().map(ToString::to_string).collect();
    let command = format!(
        "cargo build --release -p espoir-nodes -p espoir-benches && target/release/espoir-load traces --cluster {}{} -c {clients} --duration {duration} --warmup {warmup} --ratios {}",
        cluster.display(),
        port_base.map(|p| format!(" --port-base {p}")).unwrap_or_default(),
        ratios.join(",")
    );
    let section = traces_markdown(&rows, &command, &machine());
    println!("{section}");
    if let Some(path) = write {
        write_traces_section(&path, &section).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    Ok(())
}
