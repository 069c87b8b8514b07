#!/usr/bin/env bash
# The README's main job: set up, build in release mode, and run the quick-start study.
set -euo pipefail
cd "$(dirname "$0")/.."
Scripts/setup.sh
swift build -c release --product collapse >&2
.build/release/collapse demo "$@"
