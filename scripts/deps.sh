#!/usr/bin/env bash
# Installs, from Debian 12's packages, everything the project needs to build,
# run and test; does nothing when all of it is already there.
set -euo pipefail

PKGS=(
  build-essential pkg-config clang libclang-rt-14-dev
  libwebsockets-dev libwebsockets-evlib-uv libuv1-dev libhiredis-dev
  libpq-dev libjansson-dev libcmocka-dev
  redis-server redis-tools postgresql nginx
  curl wrk jq procps psmisc iproute2
  python3-pytest python3-websocket python3-redis python3-psycopg2 python3-requests
  chromium
)

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "deps: installing ${missing[*]}" >&2
SUDO=()
[ "$(id -u)" -ne 0 ] && SUDO=(sudo -E)
# RUNLEVEL=1 keeps the packages' init scripts from starting system-wide
# daemons (we run our own Redis, Postgres and nginx under var/).
export DEBIAN_FRONTEND=noninteractive RUNLEVEL=1
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
