#!/usr/bin/env bash
# Self-test of Scripts/plot.py on a small synthetic summary.csv, meant to be run by the Swift test
# suite (or by hand). Exit status: 0 passed; 1 failed (the failing check is printed on stderr);
# 77 skipped ("skipped: <reason>" on stdout) when python3, or a Python with matplotlib and pandas,
# is not available. It uses .venv/bin/python (Scripts/setup.sh --plot), or $PLOT_PYTHON if set,
# or else python3 when that has matplotlib and pandas.
set -uo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
plot="$repo/Scripts/plot.py"

skip() { echo "skipped: $*"; exit 77; }
fail() { echo "plot_selftest: FAILED: $*" >&2; exit 1; }

command -v python3 >/dev/null 2>&1 || skip "python3 is not on PATH"
if [ -n "${PLOT_PYTHON:-}" ]; then python="$PLOT_PYTHON"
elif [ -x "$repo/.venv/bin/python" ]; then python="$repo/.venv/bin/python"
else python=python3; fi
"$python" -c "import matplotlib, pandas" >/dev/null 2>&1 ||
  skip "$python has no matplotlib/pandas (run Scripts/setup.sh --plot)"
[ -f "$plot" ] || fail "$plot not found"

work="$(mktemp -d "${TMPDIR:-/tmp}/plot-selftest.XXXXXX")" || fail "cannot create a temporary directory"
trap 'rm -rf "$work"' EXIT
result="$work/Results/selftest"
mkdir -p "$result"

# Two variants (swept key regime.real_fraction), generations 0..4. variance has a theory value
# for variant 0 only; nll_real is inf for variant 0 at generation 4 (one degenerate chain).
cat > "$result/summary.csv" <<'CSV'
variant,regime.real_fraction,generation,metric,n,mean,std,ci_low,ci_high,median,q05,q95,theory
0,0,0,variance,50,0.99,0.2,0.93,1.05,0.98,0.7,1.3,0.99
0,0,0,nll_real,50,1.42,0.05,1.41,1.43,1.42,1.35,1.5,
0,0,0,degenerate,50,0,0,0,0,0,0,0,
0,0,1,variance,50,0.97,0.25,0.9,1.04,0.95,0.6,1.4,0.9801
0,0,1,nll_real,50,1.45,0.08,1.43,1.47,1.44,1.35,1.6,
0,0,1,degenerate,50,0,0,0,0,0,0,0,
0,0,2,variance,50,0.96,0.3,0.87,1.05,0.93,0.5,1.5,0.970299
0,0,2,nll_real,50,1.5,0.1,1.47,1.53,1.49,1.36,1.7,
0,0,2,degenerate,50,0,0,0,0,0,0,0,
0,0,3,variance,50,0.95,0.35,0.85,1.05,0.9,0.4,1.6,0.96059601
0,0,3,nll_real,50,1.6,0.2,1.54,1.66,1.55,1.37,2,
0,0,3,degenerate,50,0.02,0.14,-0.02,0.06,0,0,0,
0,0,4,variance,50,0.94,0.4,0.83,1.05,0.88,0,1.7,0.9509900499
0,0,4,nll_real,50,inf,nan,nan,nan,1.6,1.38,inf,
0,0,4,degenerate,50,0.04,0.2,-0.02,0.1,0,0,0,
1,0.5,0,variance,50,1.01,0.2,0.95,1.07,1,0.7,1.3,
1,0.5,0,nll_real,50,1.41,0.05,1.4,1.42,1.41,1.35,1.5,
1,0.5,0,degenerate,50,0,0,0,0,0,0,0,
1,0.5,1,variance,50,1,0.2,0.94,1.06,0.99,0.7,1.3,
1,0.5,1,nll_real,50,1.42,0.05,1.41,1.43,1.42,1.35,1.5,
1,0.5,1,degenerate,50,0,0,0,0,0,0,0,
1,0.5,2,variance,50,0.99,0.2,0.93,1.05,0.98,0.7,1.3,
1,0.5,2,nll_real,50,1.42,0.06,1.4,1.44,1.42,1.35,1.5,
1,0.5,2,degenerate,50,0,0,0,0,0,0,0,
1,0.5,3,variance,50,1,0.21,0.94,1.06,0.99,0.7,1.3,
1,0.5,3,nll_real,50,1.43,0.06,1.41,1.45,1.42,1.35,1.5,
1,0.5,3,degenerate,50,0,0,0,0,0,0,0,
1,0.5,4,variance,50,0.99,0.2,0.93,1.05,0.98,0.7,1.3,
1,0.5,4,nll_real,50,1.43,0.06,1.41,1.45,1.42,1.35,1.5,
1,0.5,4,degenerate,50,0,0,0,0,0,0,0,
CSV
printf '%s\n' '{"config": {"path": "selftest.yaml", "sha256": "0", "text": "name: plot-selftest\nseed: 1\n"}}' \
  > "$result/manifest.json"

# run EXPECTED_STATUS NAME ARGS...: runs plot.py, keeps stdout/stderr in $work/NAME.{out,err}.
run() {
  local expected="$1" name="$2"; shift 2
  "$python" "$plot" "$@" > "$work/$name.out" 2> "$work/$name.err"
  local status=$?
  [ "$status" -eq "$expected" ] ||
    fail "$name: plot.py $* exited with $status, expected $expected; stderr:
$(cat "$work/$name.err")"
}
# png_ok FILE: exists, is non-empty and starts with the PNG signature.
png_ok() {
  [ -s "$1" ] || fail "$1 was not written (or is empty)"
  [ "$(head -c 8 "$1" | od -An -tx1 | tr -d ' \n')" = "89504e470d0a1a0a" ] || fail "$1 is not a PNG file"
}

# 1. Defaults: every metric, PNG and SVG, plus the grid.
run 0 default "$result"
for m in variance nll_real degenerate summary-grid; do
  png_ok "$result/figures/$m.png"
  [ -s "$result/figures/$m.svg" ] || fail "$result/figures/$m.svg was not written"
done
grep -q "nll_real: skipped 1 of 10 points" "$work/default.err" ||
  fail "no warning about the skipped inf point of nll_real; stderr was:
$(cat "$work/default.err")"
grep -q "<dc:title>plot-selftest: variance</dc:title>" "$result/figures/variance.svg" ||
  fail "variance.svg is not titled with the experiment name from manifest.json"
grep -q "<dc:date>" "$result/figures/variance.svg" && fail "variance.svg carries a date in its metadata"

# 2. Deterministic bytes: a second run gives identical SVG and PNG files.
cp "$result/figures/variance.svg" "$work/first.svg"
cp "$result/figures/summary-grid.png" "$work/first.png"
run 0 again "$result"
cmp -s "$work/first.svg" "$result/figures/variance.svg" || fail "variance.svg differs between two runs"
cmp -s "$work/first.png" "$result/figures/summary-grid.png" || fail "summary-grid.png differs between two runs"

# 3. --by the swept key, one metric, another output folder, PNG only: no grid, no SVG.
run 0 by "$result" --by regime.real_fraction --metric variance --out "$work/by" --format png --log both
png_ok "$work/by/variance.png"
[ "$(ls "$work/by")" = "variance.png" ] || fail "--metric variance --format png wrote: $(ls "$work/by" | tr '\n' ' ')"

# 4. Two chosen metrics: their figures and the grid, nothing else.
run 0 metrics "$result" --metric nll_real degenerate --out "$work/two" --format png
for m in nll_real degenerate summary-grid; do png_ok "$work/two/$m.png"; done
[ -e "$work/two/variance.png" ] && fail "--metric nll_real degenerate also plotted variance"

# 5. Bad invocations: missing directory (1), unknown metric (2), --by a key that is not swept (2),
#    directory without summary.csv (1).
run 1 missing-dir "$work/no-such-dir"
grep -q "no such directory" "$work/missing-dir.err" || fail "missing directory: unclear message: $(cat "$work/missing-dir.err")"
run 2 bad-metric "$result" --metric no_such_metric
grep -q "available: variance, nll_real, degenerate" "$work/bad-metric.err" ||
  fail "unknown metric: the message does not list the metrics: $(cat "$work/bad-metric.err")"
run 2 bad-by "$result" --by model.kind
grep -q "swept keys: regime.real_fraction" "$work/bad-by.err" ||
  fail "bad --by: the message does not list the swept keys: $(cat "$work/bad-by.err")"
mkdir -p "$work/empty"
run 1 no-summary "$work/empty"

echo "plot_selftest: passed ($("$python" -c 'import matplotlib; print("matplotlib", matplotlib.__version__)'))"
