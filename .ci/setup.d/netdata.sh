#!/usr/bin/env bash
# The check of the demo's /debug/vars against netdata's go_expvar collector
# (examples/tests/netdata_go_expvar.rs) runs the collector's own code from Debian's
# `netdata-plugins-python` (python.d's go_expvar.chart.py and the framework it imports;
# Debian puts python.d in /usr/lib/netdata, netdata's own packages in /usr/libexec/netdata).
# Idempotent: installs only when the module is missing. The package's postinst may try to
# start netdata where systemd runs; the test runs only the module's code, in its own process.
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi

find_module() {
  local dir
  for dir in /usr/lib/netdata/python.d /usr/libexec/netdata/python.d; do
    if [ -e "$dir/go_expvar.chart.py" ]; then echo "$dir/go_expvar.chart.py"; return 0; fi
  done
  return 1
}

if ! MODULE=$(find_module); then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    netdata-plugins-python
  MODULE=$(find_module) || {
    echo "netdata.sh: go_expvar.chart.py not found after installing netdata-plugins-python" >&2
    exit 1
  }
fi
echo "netdata.sh: $(dpkg-query -W -f='${Package} ${Version}' netdata-plugins-python) ($MODULE)"
