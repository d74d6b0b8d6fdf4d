#!/usr/bin/env bash
# Every test of the project: formatting, lints, unit and integration tests, and the README's
# curl walk-through against a freshly started local runner. Needs only the Rust toolchain,
# curl and python3 (the machine's own); installs anything else it uses itself.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== cargo test"
results=$(mktemp)
cargo test --workspace --locked 2>&1 | tee "$results"
passed=$(awk '/^test result: ok\./ {n += $4} END {print n + 0}' "$results")
rm -f "$results"

echo "== curl walk-through against the local runner"
cargo build -p local --locked --quiet
log=$(mktemp)
./target/debug/local --port 0 >"$log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 1 100); do
  grep -q 'running at' "$log" && break
  kill -0 $pid 2>/dev/null || { cat "$log"; exit 1; }
  sleep 0.1
done
base=$(sed -n 's/.*running at \(http[^ ]*\).*/\1/p' "$log" | head -1)
[ -n "$base" ] || { cat "$log"; echo "local runner did not start"; exit 1; }
if ! BASE_URL="$base" ./scripts/demo.sh; then
  echo "--- local runner log"; cat "$log"; exit 1
fi
# cargo's own lines say per target; this one counts everything, the walk-through included.
echo "all: $((passed + 1)) passed, 0 failed"
