#!/usr/bin/env bash
# Builds every Lambda function for provided.al2023 on arm64, as `sam build` does
# (BuildMethod rust-cargolambda): target/lambda/<function>/bootstrap.
# Installs cargo-lambda and zig from PyPI into .venv the first time.
#
#   ./scripts/build-lambdas.sh                              # the release build SAM deploys
#   LAMBDA_PROFILE=lambda-check ./scripts/build-lambdas.sh  # the test command's check: same
#                                                           # target and linking, unoptimized
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x .venv/bin/cargo-lambda ] || ! cmp -s tests/requirements-build.txt .venv/requirements-build.installed; then
  python3 -m venv .venv
  .venv/bin/pip install --quiet -r tests/requirements-build.txt
  cp tests/requirements-build.txt .venv/requirements-build.installed
fi
export PATH="$PWD/.venv/bin:$PATH"

functions=(contact-indexer inbox list-contacts list-messages live-publisher media-url presign-upload send-message send-worker twilio-webhook)
args=()
for f in "${functions[@]}"; do args+=(--bin "$f"); done
profile=${LAMBDA_PROFILE:-release}
if [ "$profile" = release ]; then
  cargo lambda build --release --arm64 --locked "${args[@]}"
else
  cargo lambda build --profile "$profile" --arm64 --locked "${args[@]}"
fi

for f in "${functions[@]}"; do
  bootstrap="target/lambda/$f/bootstrap"
  [ -x "$bootstrap" ] || { echo "missing $bootstrap"; exit 1; }
  # ELF type 2 (ET_EXEC): linked position-dependent, as functions/build.rs asks (docs/security.md).
  elf_type=$(od -An -tu2 -j16 -N2 "$bootstrap" | tr -d ' ')
  [ "$elf_type" = 2 ] || { echo "$bootstrap is not a position-dependent executable (ELF type $elf_type)"; exit 1; }
  printf '  %-16s %s\n' "$f" "$(du -h "$bootstrap" | cut -f1)"
done
