#!/usr/bin/env bash
# Installs what model-collapse needs on a Debian/Ubuntu machine that has Swift 6. Idempotent:
# installs only what is missing, so every entry point (quick start, tests, CI, benchmarks) calls it.
#
#   Scripts/setup.sh           system libraries: OpenBLAS (cblas) and LAPACKE
#   Scripts/setup.sh --bench   also a Python venv (.venv) with numpy, scipy, scikit-learn for the benchmark peers
#   Scripts/setup.sh --plot    also the same .venv with matplotlib and pandas for Scripts/plot.py
set -euo pipefail
cd "$(dirname "$0")/.."

want_python=0
want_plot=0
for arg in "$@"; do
  case "$arg" in
    --bench) want_python=1 ;;
    --plot) want_plot=1 ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    *) echo "setup.sh: unknown option '$arg' (expected --bench or --plot)" >&2; exit 2 ;;
  esac
done

if ! command -v swift >/dev/null 2>&1; then
  echo "setup.sh: 'swift' is not on PATH. Install Swift 6 (https://www.swift.org/install/linux/) and retry." >&2
  exit 1
fi

sudo_cmd=()
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then sudo_cmd=(sudo); fi

apt_install() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ] && [ ${#sudo_cmd[@]} -eq 0 ]; then
    echo "setup.sh: missing Debian packages ${missing[*]}, and this user is not root and has no sudo: ask an administrator to run 'apt-get install ${missing[*]}'" >&2
    exit 1
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "setup.sh: missing packages ${missing[*]} and no apt-get: install OpenBLAS and LAPACKE development files by hand" >&2
    exit 1
  fi
  echo "setup.sh: installing ${missing[*]}" >&2
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

apt_install libopenblas-dev liblapacke-dev

if [ "$want_python" -eq 1 ]; then
  if ! python3 -c "import venv, ensurepip" >/dev/null 2>&1; then apt_install python3-venv; fi
  if [ ! -x .venv/bin/python ]; then python3 -m venv .venv; fi
  if ! .venv/bin/python -c "import numpy, scipy, sklearn" >/dev/null 2>&1; then
    echo "setup.sh: installing numpy, scipy, scikit-learn into .venv" >&2
    .venv/bin/python -m pip install -q --disable-pip-version-check numpy scipy scikit-learn
  fi
fi

if [ "$want_plot" -eq 1 ]; then
  if ! python3 -c "import venv, ensurepip" >/dev/null 2>&1; then apt_install python3-venv; fi
  if [ ! -x .venv/bin/python ]; then python3 -m venv .venv; fi
  if ! .venv/bin/python -c "import matplotlib, pandas" >/dev/null 2>&1; then
    echo "setup.sh: installing matplotlib, pandas into .venv" >&2
    .venv/bin/python -m pip install -q --disable-pip-version-check matplotlib pandas
  fi
fi
