#!/usr/bin/env bash
# Sets everything up, builds, and runs Stavka on its embedded default: a proxy on
# 127.0.0.1:8080 in front of the bundled demo origin on 127.0.0.1:8081. Ctrl-C stops both.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
scripts/setup.sh
scripts/build.sh
build/stavka demo-origin --listen 127.0.0.1:8081 &
origin=$!
trap 'kill $origin 2>/dev/null || true' EXIT
echo
echo "Stavka is starting on http://127.0.0.1:8080/ (try: curl -i http://127.0.0.1:8080/)"
echo
build/stavka run
