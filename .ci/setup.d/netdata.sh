#!/usr/bin/env bash
# The check of `memstats` against netdata's go_expvar collector
# (expose-json/tests/netdata_go_expvar.rs) runs the collector's own code from Debian's
# `netdata-plugins-python` (python.d's go_expvar.chart.py and the framework it imports).
# Idempotent: installs only when the module is missing. The package's postinst may try to
# start netdata where systemd runs; the test runs only the module's code, in its own process.
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi

MODULE=/usr/libexec/netdata/python.d/go_expvar.chart.py
if [ ! -e "$MODULE" ]; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    netdata-plugins-python
fi
[ -e "$MODULE" ] || { echo "netdata.sh: $MODULE not found after installing netdata-plugins-python" >&2; exit 1; }
echo "netdata.sh: $(dpkg-query -W -f='${Package} ${Version}' netdata-plugins-python) ($MODULE)"
