#!/usr/bin/env bash
# prism-http's load check (http/tests/layer_load.rs): `wrk` (Debian package `wrk`) drives
# 64 connections through the metrics layer. Idempotent: installs only what is missing.
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi

if ! command -v wrk >/dev/null 2>&1; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends wrk
fi
wrk --version 2>&1 | sed -n 1p || true
