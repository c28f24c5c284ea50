#!/usr/bin/env bash
# Installs everything Stavka needs to build, test and benchmark on Debian 12.
# Safe to run any number of times: every step checks before it acts.
set -euo pipefail

APT_PACKAGES=(
  build-essential cmake ninja-build pkg-config git
  liburing-dev node-llhttp libtomlplusplus-dev libssl-dev libnghttp2-dev libsqlite3-dev
  libmimalloc-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  clang-19 libclang-rt-19-dev
  python3 python3-pip python3-venv
  nginx-extras wrk procps iproute2 curl
  varnish varnish-modules trafficserver
  # WebAssembly modules: Debian's Rust 1.63 has the wasm32 targets (rustup's has none here);
  # C modules use clang-19 with wasi-libc; rust-lld is lld-14, wasm-ld-19 links C modules;
  # wabt assembles the ABI test modules.
  rustc cargo libstd-rust-dev-wasm32 wasi-libc wabt lld-14 lld-19
)

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  as_root apt-get update -qq
  # nginx is a benchmark peer only: never let the package start the system service.
  as_root env DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 \
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  if command -v systemctl >/dev/null && systemctl is-active --quiet nginx 2>/dev/null; then
    as_root systemctl stop nginx || true
  fi
fi

# Python test dependencies live in a virtualenv inside the build tree's sibling, not the system.
root=$(cd "$(dirname "$0")/.." && pwd)
venv="$root/.venv"
if [ ! -x "$venv/bin/pytest" ] || ! "$venv/bin/python" -c 'import httpx, pytest, openapi_spec_validator' 2>/dev/null; then
  echo "setup: creating Python environment in .venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --upgrade pip
  "$venv/bin/pip" install -q -r "$root/tests/requirements.txt"
fi
echo "setup: done"
