#!/usr/bin/env bash
# prism-prom's test tools: promtool and the Prometheus server (Debian package `prometheus`),
# and Python's prometheus_client parsers (PyPI). Idempotent: installs only what is missing.
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi

if ! command -v promtool >/dev/null 2>&1 || ! command -v prometheus >/dev/null 2>&1; then
  $SUDO apt-get update -qq
  # The package's postinst starts a service where systemd runs; tests start their own server
  # on a free loopback port, so nothing depends on that one.
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends prometheus
fi
promtool --version 2>&1 | sed -n 1p

if ! command -v python3 >/dev/null 2>&1; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends python3 python3-pip
fi

if ! python3 -c 'import prometheus_client' >/dev/null 2>&1; then
  if ! python3 -m pip --version >/dev/null 2>&1; then
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends python3-pip \
      || true
  fi
  # PyPI's current release first; Debian's own python3 is "externally managed" (PEP 668),
  # a pyenv or venv python is not. Debian's packaged client is the fallback.
  python3 -m pip install -q 'prometheus_client>=0.20' 2>/dev/null \
    || python3 -m pip install -q --break-system-packages 'prometheus_client>=0.20' 2>/dev/null \
    || DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
         python3-prometheus-client
fi
python3 -c 'import importlib.metadata as m, sys; print("prometheus_client", m.version("prometheus_client"), "on python", sys.version.split()[0])'
