#!/usr/bin/env bash
# Instructions per round trip on the direct path (configs/bench: proxy
# linked straight to the service, message 20000), counted by callgrind.
#
# Instruction counts do not depend on how busy the machine is, so this is
# the figure to compare before and after a change to the hot path; the
# wall-clock suite (`espoir-load suite`) only gives ratios taken in one run.
#
#   cargo build --profile profiling -p espoir-nodes -p espoir-benches
#   bash benches/callgrind-direct.sh [CLUSTER_DIR] [CLIENTS] [SECONDS]
#
# The `profiling` profile is release code with line tables, so that the
# report names functions; BIN=target/release measures a plain release build
# (same instruction counts, no names).
#
# The whole cluster runs in one `espoir up` process under callgrind. A first
# load run warms it up (connections, lazily built tables); the counters are
# then zeroed, a second run is measured, and the counters dumped. The report
# is total instructions (Ir) of the cluster process divided by the round
# trips the load generator completed in the measured run, and the top
# functions by inclusive and exclusive cost.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-configs/bench}
clients=${2:-32}
secs=${3:-20}
url=${URL:-ws://127.0.0.1:24000}
bin=${BIN:-target/profiling}
out=target/callgrind
mkdir -p "$out"
rm -f "$out"/callgrind.out.*
valgrind --tool=callgrind --callgrind-out-file="$out/callgrind.out.%p" \
    "$bin/espoir" up "$dir" >"$out/cluster.log" 2>&1 &
vg=$!
trap 'kill $vg 2>/dev/null || true' EXIT
load() {
    "$bin/espoir-load" run --url "$url" -c "$clients" --duration "$1" --warmup 0
}
# Under valgrind the cluster starts slowly; the harness waits until it serves.
load 5 >/dev/null
callgrind_control -z "$vg" >/dev/null 2>&1
report=$(load "$secs")
callgrind_control -d "$vg" >/dev/null 2>&1
echo "$report"
trips=$(sed -n 's/^C=[0-9]* \([0-9]*\) round trips\/s over \([0-9.]*\)s.*/\1 \2/p' <<<"$report")
read -r rate elapsed <<<"$trips"
# The largest dump is the one with the measured run (callgrind also writes
# a small one at exit).
dump=$(ls -S "$out"/callgrind.out.* | head -1)
ir=$(callgrind_annotate "$dump" 2>/dev/null | sed -n 's/^\([0-9,]*\) (100.0%).*PROGRAM TOTALS.*/\1/p' | tr -d ,)
awk -v ir="$ir" -v rate="$rate" -v el="$elapsed" \
    'BEGIN { n = rate * el; printf "%d round trips, %.0f instructions per round trip\n", n, ir / n }'
callgrind_annotate --inclusive=no "$dump" 2>/dev/null | sed -n '1,60p' >"$out/exclusive.txt"
callgrind_annotate --inclusive=yes "$dump" 2>/dev/null | sed -n '1,80p' >"$out/inclusive.txt"
echo "top functions: $out/exclusive.txt, $out/inclusive.txt (dump: $dump)"
