#!/usr/bin/env bash
# Coverage-guided fuzzing of the parsers that read what citizens and gateways send:
# normalize (e-mail and transcript structure), raw e-mail (MIME, charsets), HTML to text,
# the pipeline's cues, the address extractor and the JSON-lines readers.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]     # default: 600 s for each of the six targets
#
# Not part of the test run (it takes an hour). Uses cargo-fuzz (libFuzzer) from crates.io on
# the stable toolchain: with `--sanitizer none` cargo-fuzz needs no nightly (panics, overflow
# checks and debug assertions are what it catches; Rust code needs no AddressSanitizer).
# Runs niced. Seeds come from data/corpus and tests/data; findings are
# written to fuzz/artifacts/TARGET/, and each one fixed is kept as a regression test.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --locked
seconds="${1:-600}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(normalize raw_email html cues address jsonl)

# Seeds: message texts of the corpus for the text targets, corpus lines for the JSON-lines
# target, and e-mails built from them for the e-mail targets.
python3 - <<'PY'
import glob, json, os, hashlib
texts, lines = [], []
for f in sorted(glob.glob("data/corpus/*.jsonl")):
    for l in open(f, encoding="utf-8"):
        l = l.strip()
        if l:
            lines.append(l)
            texts.append(json.loads(l)["text"])
def put(target, data):
    d = os.path.join("fuzz", "seeds", target)
    os.makedirs(d, exist_ok=True)
    open(os.path.join(d, hashlib.sha1(data).hexdigest()), "wb").write(data)
for t in texts[::10]:
    b = t.encode()
    put("normalize", b"\x03" + b)
    put("cues", b"\x00" + b)
    put("address", b)
    put("html", ("<html><body><p>" + t.replace("\n", "<br>") + "</p><blockquote>Op 1 mei schreef X:<br>eerder</blockquote></body></html>").encode())
    put("raw_email", ("From: Piet <piet@example.nl>\r\nSubject: melding\r\nDate: Tue, 12 Mar 2024 10:15:00 +0100\r\nMIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" + t + "\r\n--b\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>" + t + "</p>\r\n--b--\r\n").encode())
for i in range(0, len(lines), 40):
    put("jsonl", "\n".join(lines[i:i + 3]).encode())
PY

# A target that does not build, or a finding, fails the run (its log says which): a harness
# that stopped compiling once reported success here while fuzzing nothing.
failed=()
for t in "${targets[@]}"; do
  mkdir -p "fuzz/corpus/$t" "fuzz/seeds/$t"
  echo "fuzz: $t for ${seconds} s" >&2
  if ! (cd fuzz && nice -n 10 cargo fuzz run --sanitizer none --release "$t" "corpus/$t" "seeds/$t" -- \
      -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -max_len=200000 -print_final_stats=1) \
    2>&1 | tee "fuzz/$t.log" | { grep -E "^(#[0-9]+ +(DONE|pulse)|==|SUMMARY|stat::number_of_executed_units|stat::peak_rss_mb|Done)" || true; }; then
    echo "fuzz: $t FAILED: see fuzz/$t.log (a finding's input is in fuzz/artifacts/$t/)" >&2
    failed+=("$t")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: failed: ${failed[*]}" >&2
  exit 1
fi
echo "fuzz: ${targets[*]}: ${seconds} s each without a finding" >&2
