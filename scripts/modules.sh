#!/usr/bin/env bash
# Builds the example Proxy-Wasm modules in sdk/ and copies them to OUTDIR:
#   add_header.wasm access_control.wasm cache_policy.wasm deny_list.wasm  (Rust, sdk/rust)
#   add_header_c.wasm                                                     (C, sdk/c)
# and the host's test modules in tests/modules/ (see tests/modules/README.md):
#   abi_conformance.wasm (C)   runaway_loop.wasm runaway_grow.wasm runaway_trap.wasm (WAT)
#
# Usage: scripts/modules.sh [OUTDIR]    default OUTDIR: build/modules
#        scripts/modules.sh --test      runs the SDK's unit tests on the host instead
#
# Rust modules use Debian's Rust 1.63 (the only toolchain here with the wasm32-wasi
# target) and the committed sdk/rust/Cargo.lock (--locked). Crates are fetched once
# into build/sdk-vendor (Debian's cargo 1.65 reaches crates.io only through its
# unstable sparse protocol, so only that step enables it); builds are offline.
# Everything intermediate lives in build/sdk-target. Re-runs are quick: cargo skips
# what is up to date and the C module is rebuilt only when older than its source.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
die() { echo "modules.sh: $*" >&2; exit 1; }

mode=build
case "${1:-}" in
  --test) mode=test; shift ;;
  -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  -*) die "unknown option $1 (see --help)" ;;
esac
[ $# -le 1 ] || die "too many arguments (see --help)"

sdk="$root/sdk/rust"
target="$root/build/sdk-target"
vendor="$root/build/sdk-vendor"
setup="run scripts/setup.sh"

# --- toolchain checks ---------------------------------------------------------
[ -x /usr/bin/rustc ] && [ -x /usr/bin/cargo ] ||
  die "Debian's Rust (/usr/bin/rustc, /usr/bin/cargo) is missing: $setup (apt packages rustc cargo)"
[ -d /usr/lib/rustlib/wasm32-wasi/lib ] ||
  die "the wasm32-wasi Rust standard library is missing: $setup (apt package libstd-rust-dev-wasm32)"
if [ "$mode" = build ]; then
  # rustc 1.63 links wasm with rust-lld, which Debian points at lld-14 (newer lld
  # rejects rustc 1.63's rlibs).
  [ -x "$(readlink -e /usr/bin/rust-lld 2>/dev/null || true)" ] ||
    die "rust-lld (Debian's link to lld-14) is missing: $setup (apt package lld-14)"
  [ -f /usr/lib/wasm32-wasi/libc.a ] && [ -d /usr/include/wasm32-wasi ] ||
    die "wasi-libc is missing (/usr/lib/wasm32-wasi, /usr/include/wasm32-wasi): $setup (apt package wasi-libc)"
  command -v clang-19 >/dev/null || die "clang-19 is missing: $setup (apt package clang-19)"
  wasm_ld=
  for l in wasm-ld-19 wasm-ld-14 wasm-ld; do
    if command -v "$l" >/dev/null; then wasm_ld=$(command -v "$l"); break; fi
  done
  [ -n "$wasm_ld" ] || die "no wasm linker for clang (wasm-ld-19): $setup (apt package lld-19)"
  command -v wat2wasm >/dev/null || die "wat2wasm is missing: $setup (apt package wabt)"
fi

# Debian's cargo with Debian's rustc/rustdoc, never rustup's.
cargo_deb() {
  (cd "$sdk" && env -u RUSTUP_TOOLCHAIN -u RUSTFLAGS -u CARGO_BUILD_TARGET \
    RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc CARGO_TARGET_DIR="$target" /usr/bin/cargo "$@")
}

# --- crates: fetched once per Cargo.lock into build/sdk-vendor ---------------------
stamp="$vendor/.Cargo.lock"
if ! cmp -s "$sdk/Cargo.lock" "$stamp"; then
  echo "modules.sh: fetching the crates in sdk/rust/Cargo.lock into build/sdk-vendor"
  rm -rf "$vendor.tmp"
  RUSTC_BOOTSTRAP=1 cargo_deb -Z sparse-registry -q vendor --locked --versioned-dirs "$vendor.tmp" >/dev/null ||
    die "cannot fetch the crates from crates.io (network?); sdk/rust/Cargo.lock must match sdk/rust/*/Cargo.toml"
  rm -rf "$vendor"
  mv "$vendor.tmp" "$vendor"
  cp "$sdk/Cargo.lock" "$stamp"
fi
offline=(--locked --offline
  --config 'source.crates-io.replace-with="stavka-vendor"'
  --config "source.stavka-vendor.directory=\"$vendor\"")

if [ "$mode" = test ]; then
  cargo_deb test "${offline[@]}" --workspace
  exit 0
fi

out=${1:-$root/build/modules}
mkdir -p "$out"
out=$(cd "$out" && pwd)

# --- Rust modules ----------------------------------------------------------------
rust_modules=(add_header access_control cache_policy deny_list)
cargo_deb build "${offline[@]}" --release --target wasm32-wasi
for m in "${rust_modules[@]}"; do
  built="$target/wasm32-wasi/release/$m.wasm"
  [ -f "$built" ] || die "cargo did not produce $built"
  cmp -s "$built" "$out/$m.wasm" || cp "$built" "$out/$m.wasm"
done

# --- C module --------------------------------------------------------------------
# A private sysroot of two links to Debian's wasi-libc keeps the host's
# /usr/include out of the build.
c_dir="$target/c"
sysroot="$c_dir/sysroot"
mkdir -p "$sysroot/lib"
ln -sfn /usr/include/wasm32-wasi "$sysroot/include"
ln -sfn /usr/lib/wasm32-wasi "$sysroot/lib/wasm32-wasi"
c_src="$root/sdk/c/add_header.c"
c_built="$c_dir/add_header_c.wasm"
if [ ! -f "$c_built" ] || [ "$c_src" -nt "$c_built" ] || [ "$0" -nt "$c_built" ]; then
  echo "modules.sh: compiling sdk/c/add_header.c"
  # -nodefaultlibs -lc: libc only; the module needs no compiler-rt builtins (which
  # Debian ships separately for wasm32, in libclang-rt-19-dev-wasm32).
  clang-19 --target=wasm32-wasi -mexec-model=reactor --sysroot="$sysroot" -fuse-ld="$wasm_ld" \
    -O2 -Wall -Wextra -Werror -Wno-unused-parameter \
    -o "$c_built.tmp" "$c_src" -nodefaultlibs -lc -Wl,--strip-debug
  mv "$c_built.tmp" "$c_built"
fi
cmp -s "$c_built" "$out/add_header_c.wasm" || cp "$c_built" "$out/add_header_c.wasm"

# --- test modules (tests/modules): C against the raw ABI, WAT for the runaway ones -------
tests_src="$root/tests/modules"
test_modules=()
for src in "$tests_src"/*.c "$tests_src"/*.wat; do
  [ -f "$src" ] || continue
  name=$(basename "${src%.*}")
  built="$c_dir/tests/$name.wasm"
  mkdir -p "$c_dir/tests"
  if [ ! -f "$built" ] || [ "$src" -nt "$built" ] || [ "$0" -nt "$built" ] ||
     [ "$tests_src/proxy_wasm_abi.h" -nt "$built" ]; then
    echo "modules.sh: building tests/modules/$(basename "$src")"
    case "$src" in
      *.c)
        clang-19 --target=wasm32-wasi -mexec-model=reactor --sysroot="$sysroot" -fuse-ld="$wasm_ld" \
          -O2 -Wall -Wextra -Werror -Wno-unused-parameter -I "$tests_src" \
          -o "$built.tmp" "$src" -nodefaultlibs -lc -Wl,--strip-debug ;;
      *.wat)
        wat2wasm "$src" -o "$built.tmp" ;;
    esac
    mv "$built.tmp" "$built"
  fi
  cmp -s "$built" "$out/$name.wasm" || cp "$built" "$out/$name.wasm"
  test_modules+=("$name")
done

for m in "${rust_modules[@]}" add_header_c "${test_modules[@]}"; do
  printf '  %-22s %8d bytes\n' "$m.wasm" "$(stat -c %s "$out/$m.wasm")"
done
echo "modules.sh: modules in $out"
