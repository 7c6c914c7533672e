#!/usr/bin/env bash
# Installs the Debian packages Flywheel builds against, when any is missing (needs root for apt-get).
set -euo pipefail
need=()
check() { pkg-config --exists "$1" 2>/dev/null || need+=("$2"); }
command -v pkg-config >/dev/null || need+=(pkg-config)
command -v cc >/dev/null || need+=(gcc make)
check libmicrohttpd libmicrohttpd-dev
check jansson libjansson-dev
check sqlite3 libsqlite3-dev
check libpq libpq-dev
check libcurl libcurl4-openssl-dev
check libcrypto libssl-dev
check yaml-0.1 libyaml-dev
check cmocka libcmocka-dev
command -v curl >/dev/null || need+=(curl)
[ ${#need[@]} -eq 0 ] && exit 0
echo "deps: installing ${need[*]}" >&2
if [ "$(id -u)" -ne 0 ]; then
  echo "deps: missing ${need[*]}; run as root or: sudo apt-get install ${need[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
