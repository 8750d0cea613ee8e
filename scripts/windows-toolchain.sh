# shellcheck shell=bash
# The toolchain that builds wsus-airgap for Windows on Debian, and the Wine prefix that runs
# what it builds. Sourced by scripts/windows-test and scripts/build-windows-release; not a
# command of its own.
#
# Why this toolchain: the machines this project is built on have no rustup downloads, so the
# Windows standard library cannot be fetched prebuilt. Debian's rustc-web ships its standard
# library's source (rust-web-src) for the same compiler version, so cargo builds the Windows
# std from source with -Zbuild-std (RUSTC_BOOTSTRAP=1 allows that flag on a stable
# compiler). MinGW-w64 links the result (and compiles ring's C and assembly); Wine runs it.
#
# After sourcing, the environment is set for `cargo ... --target "$WINDOWS_TARGET"`:
#   WINDOWS_TARGET    x86_64-pc-windows-gnu
#   CARGO             Debian's cargo (/usr/bin/cargo), which matches rust-web-src
#   CARGO_TARGET_DIR  <CARGO_TARGET_DIR or target>/windows, absolute: the native build is
#                     left alone
#   WINE              the 64-bit Wine loader
# and `windows_wine_prefix` creates or reuses a Wine prefix (see there).

# shellcheck disable=SC2034 # for the scripts that source this file
WINDOWS_TARGET=x86_64-pc-windows-gnu
CARGO=/usr/bin/cargo
WINE=/usr/lib/wine/wine64
WINESERVER=/usr/lib/wine/wineserver

# Install Debian's packages for whatever is missing (CI runs as root; elsewhere, with sudo).
# Asked of dpkg by name: Debian's older `rustc` package also provides /usr/bin/rustc, but not
# the compiler that rust-web-src matches.
windows_missing=()
for windows_package in rustc-web cargo-web rust-web-src gcc-mingw-w64-x86-64 wine64; do
  windows_status=$(dpkg-query --show --showformat='${db:Status-Status}' "$windows_package" \
    2>/dev/null || true)
  [ "$windows_status" = installed ] || windows_missing+=("$windows_package")
done
if ((${#windows_missing[@]})); then
  echo "windows: installing ${windows_missing[*]}" >&2
  windows_sudo=()
  [ "$(id -u)" -eq 0 ] || windows_sudo=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${windows_sudo[@]}" apt-get update -qq >/dev/null
  "${windows_sudo[@]}" apt-get install -y -qq "${windows_missing[@]}" >/dev/null
fi
unset windows_package windows_status windows_missing windows_sudo

# Debian's compiler and cargo, not a rustup toolchain that may come first on PATH: the std
# source must be the compiler's own.
export RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc RUSTC_BOOTSTRAP=1
export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_LINKER=x86_64-w64-mingw32-gcc
CARGO_TARGET_DIR="$(realpath -m "${CARGO_TARGET_DIR:-target}")/windows"
export CARGO_TARGET_DIR

# Quiet Wine, and keep it from offering to download Mono and Gecko (nothing here needs
# .NET or a browser engine).
export WINEDEBUG=-all
export WINEDLLOVERRIDES="mscoree,mshtml="

# Creates the Wine prefix if it is not ready, and exports WINEPREFIX: $WSUS_AIRGAP_WINEPREFIX,
# or by default $CARGO_TARGET_DIR/wine-prefix, beside the build it runs, so that `cargo clean`
# removes both and two checkouts never share one (a prefix takes about ten seconds to make).
# A WINEPREFIX already in the environment is not used: this adds a DLL to the prefix, and
# scripts/windows-test a UNC link, which have no place in someone's own Wine.
#
# Rust's Windows std gets its random numbers from ProcessPrng in bcryptprimitives.dll
# (Windows 10 and later); Wine 8 has no such DLL, so every Rust program (and tempfile, and
# HashMap) would fail to start. The prefix gets a small one, built here with MinGW, that
# answers ProcessPrng with RtlGenRandom (advapi32's SystemFunction036).
windows_wine_prefix() {
  export WINEPREFIX="${WSUS_AIRGAP_WINEPREFIX:-$CARGO_TARGET_DIR/wine-prefix}"
  local shim="$WINEPREFIX/drive_c/windows/system32/bcryptprimitives.dll"
  [ -f "$shim" ] && return 0
  echo "windows: creating the Wine prefix $WINEPREFIX" >&2
  mkdir -p "$WINEPREFIX"
  if ! "$WINE" wineboot --init >"$WINEPREFIX.wineboot.log" 2>&1; then
    echo "windows: wineboot failed; see $WINEPREFIX.wineboot.log" >&2
    return 1
  fi
  rm -f "$WINEPREFIX.wineboot.log"
  "$WINESERVER" --wait
  local work
  work=$(mktemp -d)
  cat >"$work/bcryptprimitives.c" <<'C'
#include <windows.h>
#define SystemFunction036 NTAPI SystemFunction036
#include <ntsecapi.h>
#undef SystemFunction036

/* Fills data with len random bytes; RtlGenRandom takes at most a ULONG at a time. */
BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
  while (len > 0) {
    ULONG chunk = len > 0x10000000 ? 0x10000000 : (ULONG)len;
    if (!RtlGenRandom(data, chunk)) return FALSE;
    data += chunk;
    len -= chunk;
  }
  return TRUE;
}
C
  printf 'LIBRARY bcryptprimitives\nEXPORTS\nProcessPrng\n' >"$work/bcryptprimitives.def"
  x86_64-w64-mingw32-gcc -O2 -shared -o "$work/bcryptprimitives.dll" \
    "$work/bcryptprimitives.c" "$work/bcryptprimitives.def" -ladvapi32
  # Copied last: its presence marks the prefix ready.
  cp "$work/bcryptprimitives.dll" "$shim"
  rm -rf "$work"
}
