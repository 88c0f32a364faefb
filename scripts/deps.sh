#!/usr/bin/env bash
# Installs the Debian packages that building, running, testing and benchmarking
# LinkPulse need. Idempotent: does nothing when everything is present.
# Usage: scripts/deps.sh [build|test|bench]   (default: build)
set -euo pipefail

build_pkgs=(build-essential pkg-config libh2o-evloop-dev libssl-dev libuv1-dev libcurl4-openssl-dev
            libsqlite3-dev libjansson-dev libsodium-dev libidn2-dev zlib1g-dev libmaxminddb-dev)
test_pkgs=(libcriterion-dev python3 python3-pytest python3-requests curl
           nghttp2-client clang)
bench_pkgs=(wrk nginx-light)
# QR codes (issue 4): encoder and PNG writer; zbarimg decodes them in tests
build_pkgs+=(libqrencode-dev libpng-dev)
test_pkgs+=(zbar-tools)

want=("${build_pkgs[@]}")
case "${1:-build}" in
  build) ;;
  test) want+=("${test_pkgs[@]}") ;;
  bench) want+=("${test_pkgs[@]}" "${bench_pkgs[@]}") ;;
  *) echo "usage: $0 [build|test|bench]" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
