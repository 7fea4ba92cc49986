#!/usr/bin/env bash
# Runs the herken service: installs what it needs, builds, and serves on 127.0.0.1:50051
# (arguments are passed to `herken serve`, e.g. --addr 0.0.0.0:50051).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
cargo build --release --locked
exec ./target/release/herken serve "$@"
