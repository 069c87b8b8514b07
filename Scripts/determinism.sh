#!/usr/bin/env bash
# Determinism across build configurations: every Experiments config, shrunk to a few replicates
# and generations, run by a debug build with --threads 1 and by a release build with --threads 4,
# must give byte-identical metrics.csv and summary.csv. (Thread counts, processes, shards and
# resume histories are covered by the test suite; building release there would be too slow.)
#   Scripts/determinism.sh                 # 2 replicates x 2 generations per config
#   REPLICATES=4 GENERATIONS=5 Scripts/determinism.sh
# Exits 1 and names the configs whose bytes differ.
set -euo pipefail
cd "$(dirname "$0")/.."
replicates=${REPLICATES:-2}
generations=${GENERATIONS:-2}

swift build -c debug --product collapse >&2
Scripts/build-release.sh --product collapse >&2
debug="$(swift build -c debug --show-bin-path)/collapse"
release="$(swift build -c release --static-swift-stdlib --show-bin-path)/collapse"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=()
for config in Experiments/*.yaml; do
  name=$(basename "$config" .yaml)
  start=$(date +%s)
  "$debug" run "$config" --replicates "$replicates" --generations "$generations" --threads 1 --out "$work/$name-debug" --quiet
  "$release" run "$config" --replicates "$replicates" --generations "$generations" --threads 4 --out "$work/$name-release" --quiet
  same=yes
  for file in metrics.csv summary.csv; do
    if ! cmp -s "$work/$name-debug/$file" "$work/$name-release/$file"; then
      same=no
      echo "$name: $file differs between debug (--threads 1) and release (--threads 4):" >&2
      diff "$work/$name-debug/$file" "$work/$name-release/$file" | head -5 >&2 || true
    fi
  done
  rows=$(($(wc -l < "$work/$name-debug/metrics.csv") - 1))
  printf '%-28s %8d rows  %-4s %3ds\n' "$name" "$rows" "$([ $same = yes ] && echo same || echo DIFF)" $(($(date +%s) - start))
  [ $same = yes ] || failed+=("$name")
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "debug and release builds disagree on: ${failed[*]}" >&2
  exit 1
fi
echo "debug (--threads 1) and release (--threads 4): identical metrics.csv and summary.csv for every Experiments config"
