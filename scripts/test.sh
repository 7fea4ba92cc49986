#!/usr/bin/env bash
# Runs the whole test suite: installs what it needs (the encoder model too), then unit,
# integration, CLI, browser and doc tests.
# Needs ../shared beside the repository (the evaluation sets the offset tests read).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
[ -d ../shared/eval ] || { echo "test: ../shared/eval is missing beside the repository" >&2; exit 1; }
# No text in data/, src/, tests/, benches/ or the README may share an eight-word run with an
# evaluation text (a copied example would make the measurement a lie).
python3 scripts/leak-check.py
if cargo fmt --version >/dev/null 2>&1; then
  cargo fmt --check
else
  echo "test: rustfmt not installed; skipping the format check" >&2
fi
if cargo clippy --version >/dev/null 2>&1; then
  cargo clippy --locked --all-targets -- -D warnings
  # The build without libtorch (pure-Rust encoder only) must stay clean too.
  cargo clippy --locked --all-targets --no-default-features -- -D warnings
  # The fuzz targets are not run here (scripts/fuzz.sh takes an hour), but they must keep
  # compiling against the library: once they silently did not.
  cargo clippy --locked --manifest-path fuzz/Cargo.toml --bins -- -D warnings
else
  echo "test: clippy not installed; skipping lints" >&2
fi
fetch_encoder
# The web pages in a real browser (headless Chromium): one served instance, a few pages.
setup_browser_tests
(cd tests/browser && node --test --test-concurrency=1 pages.test.mjs)
# Release mode: the pure-Rust encoder (tested beside rust-bert) is far too slow unoptimised.
cargo test --release --locked --all-targets
cargo test --release --locked --doc
