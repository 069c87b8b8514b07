#!/usr/bin/env bash
# Regenerates the reference results in Results/ (summary.csv, manifest.json, figures) from the
# canonical experiments in Experiments/, with the release build. metrics.csv is written too but not
# committed (.gitignore). The committed figures are the ones already tracked by git.
#   Scripts/results.sh [name ...]      (default: every Experiments/*.yaml)
set -euo pipefail
cd "$(dirname "$0")/.."
Scripts/setup.sh --plot
Scripts/build-release.sh --product collapse >&2
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
    for f in Experiments/*.yaml; do names+=("$(basename "$f" .yaml)"); done
fi
for name in "${names[@]}"; do
    echo "== $name" >&2
    .build/release/collapse run "Experiments/$name.yaml" --out "Results/$name" --force --quiet
    by=$(.venv/bin/python -c "import json, sys; k = json.load(open(sys.argv[1]))['sweptKeys']; print(k[0] if k else '')" "Results/$name/manifest.json")
    if [ -n "$by" ]; then
        .venv/bin/python Scripts/plot.py "Results/$name" --by "$by" >/dev/null
    else
        .venv/bin/python Scripts/plot.py "Results/$name" >/dev/null
    fi
done
