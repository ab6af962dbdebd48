//! `espoir-load rooms`: R rooms ticking at 20 Hz with four members each,
//! and the same pushes from bare tokio intervals, side by side.

use std::time::Duration;

use clap::Args;
use espoir_benches::rooms::{Mode, RoomsSpec, markdown, run_rooms};

/// The arguments of `espoir-load rooms`.
#[derive(Args, Debug)]
pub(crate) struct RoomsArgs {
    /// Room counts, one pair of runs (baseline, rooms) each.
    #[arg(short = 'r', long, value_delimiter = ',', default_value = "50,200,500")]
    rooms: Vec<usize>,
    /// Most rooms a run may have (each has four websocket clients in this
    /// process, and the proxy four sockets more).
    #[arg(long, default_value_t = 2000)]
    max_rooms: usize,
    /// Measured seconds per run.
    #[arg(long, default_value_t = 8.0)]
    duration: f64,
    /// Unmeasured seconds per run once every member has its room's state.
    #[arg(long, default_value_t = 2.0)]
    warmup: f64,
}

pub(crate) async fn run(args: RoomsArgs, threads: usize) -> Result<(), String> {
    let RoomsArgs { rooms, max_rooms, duration, warmup } = args;
    if let Some(r) = rooms.iter().find(|r| **r == 0 || **r > max_rooms) {
        return Err(format!("{r} rooms: each count must be in 1..={max_rooms} (--max-rooms)"));
    }
    let mut reports = Vec::new();
    for &count in &rooms {
        for mode in [Mode::Intervals, Mode::Rooms] {
            let spec = RoomsSpec {
                rooms: count,
                mode,
                warmup: Duration::from_secs_f64(warmup),
                duration: Duration::from_secs_f64(duration),
            };
            let report = run_rooms(&spec).await?;
            eprintln!("{report:?}");
            reports.push(report);
        }
    }
    let counts: Vec<String> = rooms.iter().map(ToString::to_string).collect();
    println!(
        "command: cargo build --release -p espoir-benches && target/release/espoir-load --threads {threads} rooms -r {} --duration {duration} --warmup {warmup}",
        counts.join(",")
    );
    println!(
        "machine: {} cores ({}), load average {}; route, proxy and members on {threads} client thread(s), the service on its own thread, one process\n",
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        espoir_benches::report::cpu_model(),
        espoir_benches::report::load_average(),
    );
    println!("{}", markdown(&reports));
    Ok(())
}
