#!/usr/bin/env bash
# Runs the herken service: installs what it needs, builds, fetches the encoder model, and
# serves on 127.0.0.1:50051 (arguments are passed to `herken serve`, e.g. --addr 0.0.0.0:50051).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
fetch_encoder
exec ./target/release/herken serve "$@"
