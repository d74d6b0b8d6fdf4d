# Shared by test.sh and bench.sh (sourced, not run): the Python tools and the AWS emulator.

# moto, cfn-lint, the SAM CLI and the Twilio SDK into .venv, again whenever
# tests/requirements.txt changes.
ensure_python_tools() {
  if [ ! -x .venv/bin/moto_server ] || [ ! -x .venv/bin/cfn-lint ] \
     || ! cmp -s tests/requirements.txt .venv/requirements.installed; then
    python3 -m venv .venv
    .venv/bin/pip install --quiet --disable-pip-version-check -r tests/requirements.txt
    cp tests/requirements.txt .venv/requirements.installed
  fi
}

# cargo-lambda and zig (the Lambda packaging build) into .venv, again whenever
# tests/requirements-build.txt changes. After ensure_python_tools when both run: each may
# create .venv.
ensure_build_tools() {
  if [ ! -x .venv/bin/cargo-lambda ] || ! cmp -s tests/requirements-build.txt .venv/requirements-build.installed; then
    python3 -m venv .venv
    .venv/bin/pip install --quiet --disable-pip-version-check -r tests/requirements-build.txt
    cp tests/requirements-build.txt .venv/requirements-build.installed
  fi
}

# The Lambda functions: one per folder of functions/ (each a crate whose binary has its
# name), the one list every script and check reads.
lambda_functions() {
  local dir
  for dir in functions/*/; do
    [ -f "$dir/Cargo.toml" ] && basename "$dir"
  done
}

# checkov, the IaC scanner, in a venv of its own (.venv-checkov: its pins would fight moto's
# and the SAM CLI's), again whenever tests/requirements-checkov.txt changes.
ensure_checkov() {
  if [ ! -x .venv-checkov/bin/checkov ] || ! cmp -s tests/requirements-checkov.txt .venv-checkov/requirements.installed; then
    python3 -m venv .venv-checkov
    .venv-checkov/bin/pip install --quiet --disable-pip-version-check -r tests/requirements-checkov.txt
    cp tests/requirements-checkov.txt .venv-checkov/requirements.installed
  fi
}

# Starts moto's server on a free loopback port (its pid goes into the caller's `pids`, its log
# into $1) and exports AWS_ENDPOINT_URL and test credentials for everything started after.
start_moto() {
  local log=$1 port
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  # moto with DynamoDB's isolation (scripts/emulator.py says why).
  .venv/bin/python scripts/emulator.py -H 127.0.0.1 -p "$port" >"$log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 100); do
    curl -fsS "http://127.0.0.1:$port/moto-api/" >/dev/null 2>&1 && break
    sleep 0.2
  done
  curl -fsS "http://127.0.0.1:$port/moto-api/" >/dev/null || { cat "$log"; echo "moto did not start"; return 1; }
  export AWS_ENDPOINT_URL="http://127.0.0.1:$port" AWS_REGION=eu-west-1 \
    AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing
}
