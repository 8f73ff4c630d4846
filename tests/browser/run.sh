#!/usr/bin/env bash
# run.sh - runs the browser journeys: installs playwright-core once (npm ci), then node --test,
# four journey files at a time (PARLEY_JOURNEY_JOBS; each starts its own server and browser).
set -euo pipefail
cd "$(dirname "$0")"
if [[ -z ${PARLEY_BIN:-} ]]; then echo "run.sh: set PARLEY_BIN to the parley binary" >&2; exit 2; fi
if [[ ! -x ${CHROMIUM_BIN:-/usr/bin/chromium} ]]; then
  echo "run.sh: Chromium is missing (Debian package chromium; scripts/deps.sh test installs it)" >&2; exit 1
fi
if [[ ! -d node_modules/playwright-core || ! -d node_modules/axe-core ]]; then npm ci --silent --no-audit --no-fund; fi
export PARLEY_ARTIFACTS=${PARLEY_ARTIFACTS:-$PWD/screenshots}
mkdir -p "$PARLEY_ARTIFACTS" && rm -f "$PARLEY_ARTIFACTS"/*.png
echo "run.sh: screenshots in $PARLEY_ARTIFACTS" >&2
exec node --test --test-concurrency="${PARLEY_JOURNEY_JOBS:-4}" unit/ journeys/
