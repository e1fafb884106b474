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
promtool --version 2>&1 | head -n 1

if ! command -v python3 >/dev/null 2>&1; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends python3 python3-pip
fi

if ! python3 -c 'import prometheus_client' >/dev/null 2>&1; then
  if python3 -m pip --version >/dev/null 2>&1; then
    # Debian's own python3 is "externally managed" (PEP 668); a pyenv or venv python is not.
    python3 -m pip install -q 'prometheus_client>=0.20' \
      || python3 -m pip install -q --break-system-packages 'prometheus_client>=0.20'
  else
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends python3-prometheus-client
  fi
fi
python3 -c 'import prometheus_client, sys; print("prometheus_client", getattr(prometheus_client, "__version__", "installed"), "python", sys.version.split()[0])' 2>/dev/null \
  || python3 -c 'import prometheus_client; print("prometheus_client installed")'
