#!/usr/bin/env bash
# Runs the whole test suite after installing what it needs (Scripts/setup.sh).
# Statistical tests use a fixed seed; set COLLAPSE_TEST_SEED=N to run them under another one.
set -euo pipefail
cd "$(dirname "$0")/.."
Scripts/setup.sh --plot   # the plotting venv too: the suite runs Scripts/plot.py end to end
swift build --build-tests
swift test "$@"
