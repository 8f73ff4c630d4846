#!/usr/bin/env bash
# run.sh - installs Amazon's SP-API JavaScript SDK once (npm ci, pinned), then drives parley with it.
set -euo pipefail
cd "$(dirname "$0")"
if [[ -z ${PARLEY_BIN:-} ]]; then echo "run.sh: set PARLEY_BIN to the parley binary" >&2; exit 2; fi
if [[ ! -d node_modules/@amazon-sp-api-release/amazon-sp-api-sdk-js ]]; then npm ci --silent --no-audit --no-fund; fi
exec node --test --test-concurrency=1 spapi.test.mjs
