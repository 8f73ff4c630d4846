#!/usr/bin/env bash
# scripts/deps.sh - installs the Debian packages that building and testing parley need.
# Idempotent and quiet when everything is already there. Usage: scripts/deps.sh [build|test]
set -euo pipefail
want=(build-essential cmake pkg-config
      libmicrohttpd-dev libjansson-dev libsqlite3-dev libsodium-dev
      libvectorscan-dev libicu-dev libpsl-dev)
if [[ ${1:-build} == test ]]; then
  want+=(libcmocka-dev python3 curl clang sqlite3)
fi
missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
((${#missing[@]} == 0)) && exit 0
echo "parley: installing ${missing[*]}" >&2
SUDO=; [[ $(id -u) -ne 0 ]] && SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
