#!/usr/bin/env bash
# Installs, from Debian 12's packages (and playwright-core from npm for the
# browser test), everything the project needs to build,
# run and test; does nothing when all of it is already there.
set -euo pipefail

PKGS=(
  build-essential pkg-config clang libclang-rt-14-dev
  libwebsockets-dev libwebsockets-evlib-uv libuv1-dev libhiredis-dev
  libpq-dev libjansson-dev libcmocka-dev
  redis-server redis-tools postgresql nginx libnginx-mod-http-js
  curl wrk jq procps psmisc iproute2
  python3-pytest python3-websocket python3-redis python3-psycopg2 python3-requests
  docker-compose python3-yaml
  chromium
)

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

# Node.js and npm for the browser test: the machine's own when it has them,
# else Debian's.
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)

if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}" >&2
  SUDO=()
  [ "$(id -u)" -ne 0 ] && SUDO=(sudo -E)
  # RUNLEVEL=1 keeps the packages' init scripts from starting system-wide
  # daemons (we run our own Redis, Postgres and nginx under var/).
  export DEBIAN_FRONTEND=noninteractive RUNLEVEL=1
  "${SUDO[@]}" apt-get update -qq
  "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

# playwright-core for the browser test (tests/browser), from the lock file.
# It drives Debian's chromium: no browser is downloaded.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [ ! -d "$ROOT/tests/browser/node_modules/playwright-core" ]; then
  echo "deps: npm ci in tests/browser" >&2
  (cd "$ROOT/tests/browser" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error >&2)
fi
