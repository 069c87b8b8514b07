#!/usr/bin/env bash
# Regenerates the reference results in Results/ (summary.csv, manifest.json, figures) from the
# canonical experiments in Experiments/, with the release build. metrics.csv is written too but not
# committed (.gitignore). The committed figures are the ones already tracked by git.
#   Scripts/results.sh [name ...]           (default: every Experiments/*.yaml)
#   Scripts/results.sh --check [name ...]   rerun into a temporary directory and compare each
#                                           summary.csv with the committed one, byte for byte;
#                                           exits 1 naming the ones that differ (Results/ untouched)
set -euo pipefail
cd "$(dirname "$0")/.."
check=0
if [ "${1:-}" = "--check" ]; then check=1; shift; fi
if [ $check -eq 0 ]; then Scripts/setup.sh --plot; else Scripts/setup.sh; fi
Scripts/build-release.sh --product collapse >&2
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
    for f in Experiments/*.yaml; do names+=("$(basename "$f" .yaml)"); done
fi
if [ $check -eq 1 ]; then
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    differ=()
    for name in "${names[@]}"; do
        start=$(date +%s)
        .build/release/collapse run "Experiments/$name.yaml" --out "$work/$name" --force --quiet
        if cmp -s "Results/$name/summary.csv" "$work/$name/summary.csv"; then verdict=same; else verdict=DIFFERS; differ+=("$name"); fi
        echo "$name: summary.csv $verdict ($(( $(date +%s) - start )) s)" >&2
    done
    if [ ${#differ[@]} -gt 0 ]; then
        echo "Results/ differ from a fresh run for: ${differ[*]} (regenerate with Scripts/results.sh ${differ[*]})" >&2
        exit 1
    fi
    echo "all ${#names[@]} summary.csv files reproduce byte for byte" >&2
    exit 0
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
