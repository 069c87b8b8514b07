#!/usr/bin/env bash
# The README's main job: set up (system packages, plotting venv), build in release mode, run the
# quick-start experiment (Experiments/quickstart.yaml) and plot its summary.
#   Results/quickstart/{metrics.csv,summary.csv,manifest.json,figures/*.png}
set -euo pipefail
cd "$(dirname "$0")/.."
Scripts/setup.sh --plot
Scripts/build-release.sh --product collapse >&2
.build/release/collapse run Experiments/quickstart.yaml --force "$@"
.venv/bin/python Scripts/plot.py Results/quickstart --by regime.real_fraction
echo "done: Results/quickstart/summary.csv and Results/quickstart/figures/"
