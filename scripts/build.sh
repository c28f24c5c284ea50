#!/usr/bin/env bash
# Builds build/stavka and the unit tests (RelWithDebInfo). Assumes scripts/setup.sh has run.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
ninja -C build
scripts/modules.sh "$root/build/modules"
