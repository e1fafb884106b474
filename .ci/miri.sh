#!/usr/bin/env bash
# Miri over the workspace's unsafe code. First prism-core's unit tests and its scalable-counter
# and registry tests: the crate's one `unsafe` block (core/src/cpu.rs) and everything around it. Miri cannot call
# `sched_getcpu` (it has no shim for it, and it runs no FFI), so under `cfg(miri)` the
# per-CPU index takes its safe fallback, the thread index; what Miri checks is everything
# around it: the padded cells, the once-slots of the striped table, the families' shard
# tables, the locks and thread-locals, and the unsafe code of crossbeam-utils, arc-swap,
# triomphe, compact_str and hashbrown as core uses them. Isolation is off because the tests read /sys and
# build a simulated /sys tree in a temp dir. Then prism-json's counting global allocator.
#
# Called by .ci/test. Needs its own toolchain (nightly with miri and rust-src), installed
# here. Where that cannot be installed (an offline machine) the run is skipped with a loud
# message, except under CI=true, where a skipped Miri run fails: CI must not pass unchecked.
set -euo pipefail
cd "$(dirname "$0")/.."

# A dated nightly, so that a new nightly cannot change what CI checks from one run to the
# next; move the date forward on purpose.
NIGHTLY=nightly-2026-10-30

if ! rustup toolchain install "$NIGHTLY" --profile minimal --component miri,rust-src >/dev/null 2>&1 \
  || ! cargo "+$NIGHTLY" miri --version >/dev/null 2>&1; then
  if [ "${CI:-}" = true ]; then
    echo "miri: FAILED: could not install $NIGHTLY with miri and rust-src (CI=true: a skipped Miri run fails CI)" >&2
    exit 1
  fi
  echo "miri: SKIPPED: could not install $NIGHTLY with miri (offline?); the Miri run did not happen" >&2
  exit 0
fi

export MIRIFLAGS="-Zmiri-disable-isolation"
# Every unit test of prism-core (families, labels, histograms, windows and the counters),
# with few property cases: Miri runs them a hundred times slower, and what it looks for
# (undefined behaviour) does not need many random inputs to show.
PROPTEST_CASES=4 cargo "+$NIGHTLY" miri test -p prism-core --lib
cargo "+$NIGHTLY" miri test -p prism-core --test scalable_counters --test registry
# prism-json's one unsafe impl, the counting global allocator: its unit tests, and a test
# binary that runs with it installed as the global allocator.
cargo "+$NIGHTLY" miri test -p prism-json --lib alloc::
cargo "+$NIGHTLY" miri test -p prism-json --test counting_allocator
