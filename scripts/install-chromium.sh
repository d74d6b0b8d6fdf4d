#!/usr/bin/env bash
# Makes sure Debian's Chromium is there for the browser tests (playwright-core drives it; it
# never downloads a browser of its own). Installs the `chromium` package when missing, as root
# or through sudo. $CHROMIUM points the tests at another build.
set -euo pipefail
chromium=${CHROMIUM:-/usr/bin/chromium}
if [ -x "$chromium" ]; then
  exit 0
fi
if [ -n "${CHROMIUM:-}" ]; then
  echo "CHROMIUM=$CHROMIUM is not an executable" >&2
  exit 1
fi
as_root=()
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null || { echo "Chromium is missing: install Debian's chromium package (needs root)" >&2; exit 1; }
  as_root=(sudo)
fi
echo "installing Debian's chromium (apt-get)"
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
"$chromium" --version
