#!/usr/bin/env bash
# Builds every Lambda function for provided.al2023 on arm64, as `sam build` does
# (BuildMethod rust-cargolambda): target/lambda/<function>/bootstrap (under $CARGO_TARGET_DIR
# when set).
# Installs cargo-lambda and zig from PyPI into .venv the first time.
#
#   ./scripts/build-lambdas.sh                              # the release build SAM deploys
#   LAMBDA_PROFILE=lambda-check ./scripts/build-lambdas.sh  # the test command's check: same
#                                                           # target and linking, unoptimized
set -euo pipefail
cd "$(dirname "$0")/.."

. scripts/common.sh
ensure_build_tools
export PATH="$PWD/.venv/bin:$PATH"
# CARGO_TARGET_DIR may put the build elsewhere (the test command's check does, so it runs
# beside the debug build without waiting on its lock).
target_dir=${CARGO_TARGET_DIR:-target}

mapfile -t functions < <(lambda_functions)
args=()
for f in "${functions[@]}"; do args+=(--bin "$f"); done
profile=${LAMBDA_PROFILE:-release}
if [ "$profile" = release ]; then
  cargo lambda build --release --arm64 --locked "${args[@]}"
else
  cargo lambda build --profile "$profile" --arm64 --locked "${args[@]}"
fi

for f in "${functions[@]}"; do
  bootstrap="$target_dir/lambda/$f/bootstrap"
  [ -x "$bootstrap" ] || { echo "missing $bootstrap"; exit 1; }
  # ELF type 2 (ET_EXEC): linked position-dependent, as functions/build.rs asks (docs/security.md).
  elf_type=$(od -An -tu2 -j16 -N2 "$bootstrap" | tr -d ' ')
  [ "$elf_type" = 2 ] || { echo "$bootstrap is not a position-dependent executable (ELF type $elf_type)"; exit 1; }
  printf '  %-16s %s\n' "$f" "$(du -h "$bootstrap" | cut -f1)"
done
