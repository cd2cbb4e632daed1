#!/usr/bin/env bash
# Installs, from Debian 12's packages (and, from the npm registry, the two
# test helpers pinned in tests/browser and tests/deploy), everything the
# project needs to build, run and test; does nothing when all of it is
# already there. Works on a stock Debian 12 (tests/debian/run.sh proves it).
set -euo pipefail

PKGS=(
  build-essential pkg-config clang libclang-rt-14-dev
  libwebsockets-dev libwebsockets-evlib-uv libuv1-dev libhiredis-dev
  libpq-dev libjansson-dev libcmocka-dev
  redis-server redis-tools postgresql nginx libnginx-mod-http-js libnginx-mod-nchan
  curl wrk jq procps psmisc iproute2 time strace
  python3-pytest python3-websocket python3-redis python3-psycopg2 python3-requests
  docker-compose python3-yaml python3-scipy
  chromium
)

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

# Node.js (>= 18) and npm for the browser test and the Kubernetes schema
# check: Debian 12's (18.x) unless the machine already has them (another
# nodejs package, e.g. 20.x). The npm packages below are pinned to versions
# that run on Node 18.
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

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# npm packages, from each directory's lock file: playwright-core for the
# browser test (it drives Debian's chromium: no browser is downloaded) and
# kubernetes-models for the schema check of deploy/k8s. Reinstalled when the
# lock file changed since.
for d in tests/browser tests/deploy; do
  if ! cmp -s "$ROOT/$d/package-lock.json" "$ROOT/$d/node_modules/.package-lock.json.installed"; then
    echo "deps: npm ci in $d" >&2
    (cd "$ROOT/$d" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error >&2)
    cp "$ROOT/$d/package-lock.json" "$ROOT/$d/node_modules/.package-lock.json.installed"
  fi
done

# kubectl for `kubectl kustomize deploy/k8s` (tests/deploy): Debian 12's
# kubernetes-client (1.20), unpacked into var/tools/ rather than installed,
# so that every machine runs the same kubectl even where the system has
# another one in /usr/bin (the package would clash with it).
KC=$ROOT/var/tools/kubernetes-client
if [ ! -x "$KC/usr/bin/kubectl" ]; then
  echo "deps: kubernetes-client (Debian 12) into var/tools/" >&2
  tmp=$(mktemp -d) && chmod 755 "$tmp"  # readable by apt's _apt user
  trap 'rm -rf "$tmp"' EXIT
  if ! (cd "$tmp" && apt-get download -qq kubernetes-client 2>/dev/null); then
    SUDO=()
    [ "$(id -u)" -ne 0 ] && SUDO=(sudo -E)
    "${SUDO[@]}" apt-get update -qq
    (cd "$tmp" && apt-get download -qq kubernetes-client)
  fi
  rm -rf "$KC" && mkdir -p "$KC"
  dpkg-deb -x "$tmp"/kubernetes-client_*.deb "$KC"
  "$KC/usr/bin/kubectl" version --client >/dev/null
fi
