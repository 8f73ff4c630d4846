#!/usr/bin/env bash
# scripts/deps.sh - installs the Debian packages that building and testing parley need.
# Idempotent and quiet when everything is already there. Usage: scripts/deps.sh [build|test]
set -euo pipefail
want=(build-essential cmake pkg-config
      libmicrohttpd-dev libjansson-dev libsqlite3-dev libsodium-dev liboath-dev
      libmagic-dev libpoppler-glib-dev libcairo2-dev libzip-dev libxml2-dev libseccomp-dev
      libtesseract-dev libleptonica-dev tesseract-ocr-eng tesseract-ocr-deu
      tesseract-ocr-fra tesseract-ocr-spa tesseract-ocr-ita
      libvectorscan-dev libicu-dev libpsl-dev libpq-dev libgmime-3.0-dev libcurl4-openssl-dev
      libsystemd-dev liblinear-dev zlib1g-dev)
if [[ ${1:-build} == test ]]; then
  want+=(fonts-dejavu-core libcmocka-dev python3 curl clang libclang-rt-14-dev sqlite3 postgresql chromium
         postfix swaks openssl poppler-utils
         opendkim opendkim-tools opendmarc dnsmasq-base python3-dkim iproute2 python3-yaml
         dpkg-dev debhelper fakeroot)
fi
missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
((${#missing[@]} == 0)) && exit 0
echo "parley: installing ${missing[*]}" >&2
SUDO=; [[ $(id -u) -ne 0 ]] && SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
# Postfix asks what kind of mail server this is: none; the mail tests run a private instance.
echo "postfix postfix/main_mailer_type select No configuration" | $SUDO debconf-set-selections
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
