#!/usr/bin/env bash
# Installs the Debian packages Ringtail builds against, if any is missing.
# Idempotent; needs root (or sudo) only when something must be installed.
set -euo pipefail
packages=(liblz4-dev libzstd-dev pkg-config)
if [ "${1:-}" = "--bench" ]; then packages+=(libleveldb-dev librocksdb-dev gcc python3); fi
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
command -v swift >/dev/null || { echo "Swift 6.1 or later is required (swift.org/install)" >&2; exit 1; }
