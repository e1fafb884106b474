#!/usr/bin/env bash
# What .ci/test itself uses: curl (to wait for the demo before checking it live).
set -euo pipefail
if ! command -v curl >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends curl ca-certificates
fi
