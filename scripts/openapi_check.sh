#!/usr/bin/env bash
# The OpenAPI description against the server: schemathesis runs every check (server errors,
# status codes and bodies as described, schema-valid requests accepted and invalid ones
# refused, undeclared methods answered 405, …) against the local runner with a fixed seed
# (one operation left out: tests/openapi_check/schemathesis.toml says which and why),
# about a minute. Needs .venv (scripts/common.sh) and a built ./target/debug/local.
#
#   ./scripts/openapi_check.sh                 # EXAMPLES=150 SEED=20261204 by default
set -euo pipefail
cd "$(dirname "$0")/.."

log=$(mktemp)
LOCAL_HISTORY=off ./target/debug/local --port 0 >"$log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 1 150); do
  grep -q 'running at' "$log" && break
  kill -0 "$pid" 2>/dev/null || { cat "$log"; exit 1; }
  sleep 0.1
done
base=$(sed -n 's/.*running at \(http[^ ]*\).*/\1/p' "$log" | head -1)
[ -n "$base" ] || { cat "$log"; echo "local runner did not start"; exit 1; }
# Acme's demo agent: the organization with WhatsApp configured.
token=$(curl -fsS "$base/local/demo" | python3 -c '
import json, sys
orgs = json.load(sys.stdin)["organizations"]
print(next(o["token"] for o in orgs if o["whatsapp_configured"]))')

"${VENV:-.venv}"/bin/schemathesis --no-color --config-file tests/openapi_check/schemathesis.toml run openapi.yaml \
  --url "$base" --header "Authorization: Bearer $token" \
  --checks all \
  --max-examples "${EXAMPLES:-150}" --seed "${SEED:-20261204}" --workers 1
