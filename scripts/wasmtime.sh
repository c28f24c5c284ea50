#!/usr/bin/env bash
# Builds Wasmtime's C API (src/wasm/capi, a Cargo static-library shim) once per version and
# shim contents, into ${XDG_CACHE_HOME:-~/.cache}/stavka/, and prints that directory:
#   DIR/include/wasmtime.h ...   DIR/lib/libwasmtime.a   DIR/link-libs (native libraries to link)
# A clean build takes 10-20 minutes on 2 cores; every later call returns at once.
# Called by CMake at configure time; run it by hand to warm the cache.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
shim="$root/src/wasm/capi"
version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$shim/Cargo.toml" | head -1)
digest=$(cat "$shim/Cargo.toml" "$shim/Cargo.lock" "$shim/lib.rs" "$shim/build.rs" | sha256sum | cut -c1-12)
cache="${XDG_CACHE_HOME:-$HOME/.cache}/stavka"
dest="$cache/wasmtime-c-api-$version-$digest"
if [ -f "$dest/.complete" ]; then
  echo "$dest"
  exit 0
fi

command -v cargo >/dev/null || { echo "wasmtime.sh: cargo not found (rustup's Rust 1.86 or later is needed)" >&2; exit 1; }
mkdir -p "$cache"
exec 9>"$cache/.wasmtime.lock"
flock 9   # two configures at once (build and build-asan) build it once
if [ -f "$dest/.complete" ]; then
  echo "$dest"
  exit 0
fi

echo "wasmtime.sh: building Wasmtime's C API $version into $dest (10-20 minutes, once)" >&2
work="$dest.partial"
rm -rf "$work"
mkdir -p "$work/lib" "$work/include"
# rustup's toolchain, not Debian's rustc 1.63 (which builds the wasm32 modules).
env -u RUSTC CARGO_TARGET_DIR="$work/target" STAVKA_CAPI_INCLUDE_DEST="$work/include" \
  cargo rustc --release --locked --manifest-path "$shim/Cargo.toml" --crate-type staticlib \
  -- --print native-static-libs 2>"$work/build.log" >&2 || { tail -30 "$work/build.log" >&2; exit 1; }
sed -n 's/.*native-static-libs: //p' "$work/build.log" | tail -1 >"$work/link-libs"
cp "$work/target/release/libstavka_wasmtime.a" "$work/lib/libwasmtime.a"
rm -rf "$work/target"
touch "$work/.complete"
rm -rf "$dest"
mv "$work" "$dest"
echo "$dest"
