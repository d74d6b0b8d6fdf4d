#!/usr/bin/env bash
# Every test of the project, from a fresh clone: cfn-lint, checkov and sam validate --lint, formatting, lints, unit and
# integration tests (the AWS ones against moto's server on loopback), the fault-injection run
# (in process and on the emulator, its counts printed), the Twilio SDK signature checks, the curl
# walk-through against the local runner (in process, then on the AWS adapters), schemathesis
# holding the runner to openapi.yaml (scripts/openapi_check.sh), the browser
# tests of the Send Message page in headless Chromium, and the Lambda packaging build (arm64, unoptimized). Needs the
# Rust toolchain, python3, curl and Node.js; installs the rest itself (moto, cfn-lint,
# aws-sam-cli, schemathesis, cargo-lambda, zig into .venv; checkov into .venv-checkov; playwright-core into tests/e2e/node_modules; Debian's chromium).
#
#   ./scripts/test.sh --quick                # the edit-compile-test loop: fmt, clippy, unit and
#                                            # handler tests (no emulator, browser or Lambda build)
#   SKIP_LAMBDA_BUILD=1 ./scripts/test.sh   # everything but the Lambda packaging build
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/common.sh
# Each step's header carries the time since the command started, so a slow step shows.
step() { printf '== [%dm%02ds] %s\n' $((SECONDS / 60)) $((SECONDS % 60)) "$*"; }

if [ "${1:-}" = --quick ]; then
  cargo fmt --all -- --check
  cargo clippy --workspace --all-targets --locked -- -D warnings
  cargo test --workspace --locked
  exit
fi

# A fresh clone gains nothing from incremental compilation's caches (3 GB under
# target/debug/incremental); the quick lane above keeps them for the edit-compile loop.
export CARGO_INCREMENTAL=0

pids=()
background=()
tmp=$(mktemp -d)
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  # A background job is a process group of its own (setsid): its cargo goes with it.
  for pid in "${background[@]}"; do kill -- -"$pid" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT
# Waits for a background job; its output when it failed.
wait_for() { # pid, log, what
  wait "$1" || { cat "$2"; echo "$3 failed"; exit 1; }
}

# Independent work goes side by side. What waits on the network (the installs) runs while the
# code compiles, and the Lambda packaging build (another target and profile, its own target
# directory, so no lock is shared) runs at the lowest CPU priority from the start: it takes
# the cores the test steps leave idle (moto's single thread, the browser, the runs' pauses)
# and yields them whenever a step needs them. Its result is read at the end.
step "installs (.venv: moto, cfn-lint, SAM CLI, Twilio SDK, schemathesis, cargo-lambda, zig; .venv-checkov; Chromium; tests/e2e packages), in the background"
(
  ensure_python_tools
  [ "${SKIP_LAMBDA_BUILD:-}" = 1 ] || ensure_build_tools
  ./scripts/install-chromium.sh
  cd tests/e2e && npm ci --no-audit --no-fund --loglevel=error
) >"$tmp/installs.log" 2>&1 &
installs=$!
pids+=("$installs")
# checkov's venv beside them: a venv of its own, so nothing is shared while both install.
ensure_checkov >"$tmp/checkov-install.log" 2>&1 &
checkov_install=$!
pids+=("$checkov_install")

step "web page syntax (node --check)"
if command -v node >/dev/null; then
  for f in web/*.js web/actions/*.js web/views/*.js local/web/*.js; do node --check "$f"; done
else
  echo "node not found: skipped (the browser tests check the page too)"
fi

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "waiting for the installs"
wait_for "$installs" "$tmp/installs.log" "the installs"
wait_for "$checkov_install" "$tmp/checkov-install.log" "checkov's install"


step "cfn-lint"
.venv/bin/cfn-lint template.yaml infra/*.yaml

# Every finding fixed or explained in the template (`Metadata: checkov: skip:` with its
# reason); a new one fails the command.
step "checkov (template.yaml; offline)"
.venv-checkov/bin/checkov -f template.yaml --framework cloudformation --skip-download --quiet --compact

step "sam validate --lint"
SAM_CLI_TELEMETRY=0 .venv/bin/sam validate --lint --template template.yaml --region eu-west-1

step "AWS emulator (moto) on loopback"
start_moto "$tmp/moto.log"

step "cargo test"
cargo test --workspace --locked 2>&1 | tee "$tmp/cargo-test.log"
# Every cargo command names the whole workspace (and picks its tests with --test): features
# are unified over the packages a command names, so `-p one-crate` would build the
# dependencies again with another feature set.
step "cargo test: the AWS adapters, flows and local runner against the emulator"
cargo test --workspace --locked --test emulated -- --ignored --skip fault_injection --skip contention 2>&1 \
  | tee -a "$tmp/cargo-test.log"
# Alone, on an emulator of its own: fifty webhooks at once are all the single-threaded
# emulator can serve in time, and one that already holds every other test's tables serves
# them more slowly than DynamoDB would.
step "a burst of 50 webhooks to one conversation, transactions in flight (a fresh emulator)"
(
  pids=()
  trap 'for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done' EXIT
  start_moto "$tmp/moto-burst.log"
  cargo test --workspace --locked --test emulated contention -- --ignored --nocapture 2>&1 \
    | grep -v '^{' | tee -a "$tmp/cargo-test.log"
)
step "fault-injection run: in process (store failures, stopped workers) and on the emulator"
# Side by side, and with nothing else: the emulator's run waits on moto's single thread,
# which leaves the other core to the in-process run (35 s). Both end when their traffic
# settles; a build beside them once left the emulator's sends PENDING at its deadline.
cargo test --workspace --locked --test runner fault_injection -- --ignored --nocapture \
  >"$tmp/chaos-in-process.log" 2>&1 &
in_process=$!
pids+=("$in_process")
emulated_ok=0
cargo test --workspace --locked --test emulated fault_injection -- --ignored --nocapture \
  >"$tmp/chaos-emulated.log" 2>&1 || emulated_ok=$?
in_process_ok=0
wait "$in_process" || in_process_ok=$?
for run in in-process emulated; do
  grep -v '^{' "$tmp/chaos-$run.log" | tee -a "$tmp/cargo-test.log"
done
[ "$in_process_ok" = 0 ] && [ "$emulated_ok" = 0 ] || { echo "a fault-injection run failed"; exit 1; }
# The runner the next steps start is the one `cargo test` built for its integration tests
# (target/debug/local). A `cargo build --bin local` here built it again without the
# dev-dependencies' features (futures-util's, unified into most of the stack): 1.5 minutes.
[ -x target/debug/local ] || { echo "cargo test did not build target/debug/local"; exit 1; }

passed=$(awk '/^test result: ok\./ {n += $4} END {print n + 0}' "$tmp/cargo-test.log")

walkthrough() { # label, extra args for the runner
  local label=$1; shift
  step "curl walk-through against the local runner ($label)"
  # Without the seed's played history: the walk-through checks that a poll shows only its own changes.
  LOCAL_HISTORY=off ./target/debug/local --port 0 "$@" >"$tmp/local-$label.log" 2>&1 &
  local pid=$!
  pids+=("$pid")
  for _ in $(seq 1 150); do
    grep -q 'running at' "$tmp/local-$label.log" && break
    kill -0 "$pid" 2>/dev/null || { cat "$tmp/local-$label.log"; exit 1; }
    sleep 0.1
  done
  local base
  base=$(sed -n 's/.*running at \(http[^ ]*\).*/\1/p' "$tmp/local-$label.log" | head -1)
  [ -n "$base" ] || { cat "$tmp/local-$label.log"; echo "local runner did not start"; exit 1; }
  if ! BASE_URL="$base" ./scripts/demo.sh; then
    echo "--- local runner log"; cat "$tmp/local-$label.log"; exit 1
  fi
  kill "$pid"
  passed=$((passed + 1))
}
walkthrough memory
export CONTACTS_TABLE=walkthrough-contacts MESSAGES_TABLE=walkthrough-messages SECRET_PREFIX=walkthrough/
walkthrough aws --aws
unset CONTACTS_TABLE MESSAGES_TABLE SECRET_PREFIX

if [ "${SKIP_LAMBDA_BUILD:-}" != 1 ]; then
  # The packaging check: every function cross-built and linked for provided.al2023 on arm64
  # as SAM builds it, with the unoptimized `lambda-check` profile (4 minutes alone instead of
  # 15; `sam build` and the benchmark build `release`). The steps from here mostly wait (the
  # runner's answers, the browser): it runs beside them at the lowest CPU priority, in a
  # target directory of its own (no cargo lock shared), and its result is read at the end.
  # Not beside the walk-throughs: they poll for each status in turn, and a loaded machine
  # polled past one.
  step "cargo lambda build --arm64 (the lambda-check profile), in the background at the lowest priority"
  CARGO_TARGET_DIR=target/lambda-build LAMBDA_PROFILE=lambda-check \
    setsid nice -n 19 ./scripts/build-lambdas.sh >"$tmp/lambda.log" 2>&1 &
  lambda=$!
  background+=("$lambda")
fi

step "the OpenAPI description against the local runner (schemathesis, every check, fixed seed)"
./scripts/openapi_check.sh
passed=$((passed + 1))

step "browser tests: the Send Message page in headless Chromium (tests/e2e)"
command -v node >/dev/null || { echo "node is needed for the browser tests"; exit 1; }
if ! (cd tests/e2e && LOCAL_BIN="$PWD/../../target/debug/local" \
      node --test --test-concurrency=1 --test-reporter=spec --test-reporter-destination=stdout ./*.test.mjs \
      | tee "$tmp/e2e.log"); then
  echo "browser tests failed (screenshots in tests/e2e/screenshots/)"; exit 1
fi
passed=$((passed + $(awk '/^ℹ pass / {print $3}' "$tmp/e2e.log")))

step "the page's benchmark, small (it runs whole in scripts/bench.sh)"
(cd tests/e2e && LOCAL_BIN="$PWD/../../target/debug/local" PAGE_BENCH_CONVERSATIONS=100 PAGE_BENCH_MESSAGES=60 \
  PAGE_BENCH_ROUNDS=1 PAGE_BENCH_OUT="$tmp/page-results.json" node bench-page.mjs)
passed=$((passed + 1))

if [ -n "${lambda:-}" ]; then
  step "the Lambda packaging build (begun in the background)"
  wait_for "$lambda" "$tmp/lambda.log" "the Lambda packaging build"
  cat "$tmp/lambda.log"
  passed=$((passed + 1))
fi

# cargo's own lines count per target; this one counts everything run here.
echo "all: $passed passed, 0 failed (in $((SECONDS / 60)) min $((SECONDS % 60)) s)"
