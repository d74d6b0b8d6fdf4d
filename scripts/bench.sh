#!/usr/bin/env bash
# The benchmark (not part of the test command): builds the release binaries, runs every
# function's real `main` under a Lambda Runtime API on loopback (bench/src/runtime_api.rs) with
# AWS on moto behind a counting proxy and Twilio on a loopback stub, beside the hello-world floor
# and the Node.js + twilio alternative, then prints the table and writes bench/results.json.
#
#   ./scripts/bench.sh                      # everything (about 20 minutes on 2 cores)
#   BENCH_INVOCATIONS=200 BENCH_COLD_STARTS=5 ./scripts/bench.sh   # quicker, noisier
#   BENCH_SKIP_ZIPS=1 ./scripts/bench.sh    # skip the arm64 Lambda build (no zip sizes)
#   BENCH_COLD_START_ONLY=1 ./scripts/bench.sh   # only the two cold-start targets, printed (2 minutes)
#   BENCH_SKIP_PAGE=1 ./scripts/bench.sh    # leave out the page in headless Chromium
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/common.sh

pids=()
tmp=$(mktemp -d)
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

ensure_python_tools

mapfile -t functions < <(lambda_functions)
echo "== release build for this machine: the functions, the floor, the harness"
packages=()
for f in "${functions[@]}"; do packages+=(-p "$f"); done
cargo build --release --locked "${packages[@]}" -p bench -p local --bins

if [ "${BENCH_COLD_START_ONLY:-}" = 1 ]; then
  exec ./target/release/lambda-bench --bin-dir target/release --cold-start-only \
    --cold-starts "${BENCH_COLD_STARTS:-10}"
fi

zip_args=()
if [ "${BENCH_SKIP_ZIPS:-}" != 1 ]; then
  echo "== Lambda packages: cargo lambda build --release --arm64, zipped as SAM uploads them"
  ./scripts/build-lambdas.sh
  for f in "${functions[@]}"; do
    python3 - "target/lambda/$f" <<'PY'
import os, sys, zipfile
folder = sys.argv[1]
with zipfile.ZipFile(os.path.join(folder, "bootstrap.zip"), "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
    info = zipfile.ZipInfo("bootstrap")
    info.external_attr = 0o755 << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    with open(os.path.join(folder, "bootstrap"), "rb") as f:
        z.writestr(info, f.read(), compresslevel=9)
PY
  done
  zip_args=(--zip-dir target/lambda)
fi

node_args=()
if command -v node >/dev/null; then
  echo "== the Node.js + twilio alternative (npm ci)"
  (cd bench/node-twilio && npm ci --no-audit --no-fund --loglevel=error)
  node_args=(--node-dir "$PWD/bench/node-twilio")
else
  echo "node not found: the Node.js alternative is left out"
fi

echo "== AWS emulator (moto) on loopback"
start_moto "$tmp/moto.log"

echo "== measuring"
./target/release/lambda-bench --bin-dir target/release "${zip_args[@]}" "${node_args[@]}" \
  --invocations "${BENCH_INVOCATIONS:-1000}" --cold-starts "${BENCH_COLD_STARTS:-10}" \
  --out bench/results.json

if [ "${BENCH_SKIP_PAGE:-}" != 1 ]; then
  echo "== the page in headless Chromium: 5,000 conversations, a 1,000-message one (bench/page-results.json)"
  ./scripts/install-chromium.sh
  (cd tests/e2e && npm ci --no-audit --no-fund --loglevel=error)
  LOCAL_BIN="$PWD/target/release/local" node tests/e2e/bench-page.mjs
fi
