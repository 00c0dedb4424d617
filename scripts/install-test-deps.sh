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
# Installed into a folder the tests own (testenv.Mongosh looks there).
MONGOSH_VERSION=2.12.0
MONGOSH_DIR="$(go env GOPATH)/opschecks/mongosh"
if ! [ -x "$MONGOSH_DIR/node_modules/.bin/mongosh" ] || \
   [ "$(node -p "require('$MONGOSH_DIR/node_modules/mongosh/package.json').version" 2>/dev/null)" != "$MONGOSH_VERSION" ]; then
  if ! command -v npm >/dev/null; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
  fi
  echo "installing mongosh $MONGOSH_VERSION"
  mkdir -p "$MONGOSH_DIR"
  (cd "$MONGOSH_DIR" && npm install --no-audit --no-fund --omit=dev --loglevel=error "mongosh@$MONGOSH_VERSION" >/dev/null)
fi
