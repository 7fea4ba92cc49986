#!/usr/bin/env bash
# Soak test: serves herken on a free loopback port with a throw-away data directory, loads it
# at a steady rate with `herken load --rate`, and reports the server's RSS over time and the
# failed calls. Not part of the test run.
#
#   scripts/soak.sh [SECONDS] [RATE] [FILE]   # default: 600 s at 20 calls/s, data/corpus/short_nl.jsonl
#
# Only 127.0.0.1 is loaded; the run is bounded by SECONDS and stops by itself.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
seconds="${1:-600}"
rate="${2:-20}"
file="${3:-data/corpus/short_nl.jsonl}"
# Enough clients that the schedule, not the answers, sets the pace (each waits for its turn).
concurrency="$(python3 -c "import math; print(max(4, min(256, math.ceil(2 * float('$rate')))))")"
cargo build --release --locked --bin herken
work="$(mktemp -d)"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
HERKEN_DATA_DIR="$work" nice -n 10 ./target/release/herken serve --addr "127.0.0.1:$port" --web-addr off \
  >"$work/serve.log" 2>&1 &
server=$!
cleanup() { kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; }
trap cleanup EXIT
# Wait until it answers (the model takes a few seconds to load).
for _ in $(seq 1 240); do
  if ./target/release/herken load --server "http://127.0.0.1:$port" --file "$file" --calls 1 \
       --concurrency 1 >/dev/null 2>&1; then break; fi
  kill -0 "$server" 2>/dev/null || { cat "$work/serve.log" >&2; exit 1; }
  sleep 0.5
done
rss() { awk '/^VmRSS/ {print $2}' "/proc/$server/status"; }
start_rss="$(rss)"
(
  t0=$(date +%s)
  while kill -0 "$server" 2>/dev/null; do
    printf '%s\t%s\n' "$(( $(date +%s) - t0 ))" "$(rss)" >>"$work/rss.tsv"
    sleep 10
  done
) &
sampler=$!
status=0
nice -n 10 ./target/release/herken load --server "http://127.0.0.1:$port" --file "$file" \
  --concurrency "$concurrency" --seconds "$seconds" --rate "$rate" --json >"$work/load.json" 2>"$work/load.err" || status=$?
end_rss="$(rss)"
kill "$sampler" 2>/dev/null || true
echo "soak: ${seconds} s at ${rate} calls/s from ${concurrency} clients against 127.0.0.1:$port ($file)"
echo "RSS (kB) every 10 s:"
awk '{printf "  %5d s  %8d kB\n", $1, $2}' "$work/rss.tsv"
max_rss="$(awk 'BEGIN{m=0} {if ($2>m) m=$2} END{print m}' "$work/rss.tsv")"
echo "RSS: start ${start_rss} kB, end ${end_rss} kB, max ${max_rss} kB"
echo "load report:"
cat "$work/load.json"
rm -rf "$work"
exit "$status"
