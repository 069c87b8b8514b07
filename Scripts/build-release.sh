#!/usr/bin/env bash
# The release build that every script here uses: optimised across modules (Package.swift) and with
# the Swift runtime and Foundation linked into the binaries (--static-swift-stdlib), so a run
# starts ~20 ms sooner and compute nodes need no Swift installation. Keep the flags the same
# everywhere: SwiftPM rebuilds every module when they change.
#   Scripts/build-release.sh [--product collapse] [other swift build options]
set -euo pipefail
cd "$(dirname "$0")/.."
exec swift build -c release --static-swift-stdlib "$@"
