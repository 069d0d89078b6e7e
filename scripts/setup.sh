#!/usr/bin/env bash
# Installs what a fresh machine lacks to build (and, with --test, to test) Switchyard, and
# quickly skips whatever is already there. Everything comes from the package registries:
# crates.io, npm and Debian. Usage: scripts/setup.sh [--test]
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=false rust_tools=now
for arg in "$@"; do
  case $arg in
    --test) want_test=true ;;
    # scripts/test.sh installs cargo-leptos beside the Rust tests, which do not need it.
    --rust-tools-later) rust_tools=later ;;
    --only-rust-tools) rust_tools=only ;;
    *) echo "setup.sh: unknown option $arg (use --test, --rust-tools-later, --only-rust-tools)" >&2; exit 2 ;;
  esac
done

say() { printf '\033[1;34msetup:\033[0m %s\n' "$*"; }
as_root() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi; }

# 1. The WASM target for the hydrate build.
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

# 1b. rustfmt and clippy, which `make test` runs first.
for component in rustfmt clippy; do
  if ! rustup component list --installed | grep -q "^$component"; then
    say "adding the $component component"
    rustup component add "$component"
  fi
done

# 2-3. cargo-leptos 0.3.10 (0.3.11 needs a newer rustc than 1.95) and wasm-bindgen-cli at
#    exactly the version in Cargo.lock (a mismatch fails the build). Both are build tools that
#    mostly wait on cargo and rustc, so they are built at opt-level 1 without LTO: about half
#    the compile time of their own release profile. wasm-bindgen-cli is installed without
#    --locked: its own lockfile pins a crate the registry no longer serves.
install_rust_tools() {
  local tool_env=(CARGO_PROFILE_RELEASE_OPT_LEVEL=1 CARGO_PROFILE_RELEASE_LTO=off
    CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 CARGO_PROFILE_RELEASE_DEBUG=false CARGO_INCREMENTAL=0)
  local wbg_version
  wbg_version=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
  if [[ "$(cargo leptos --version 2>/dev/null || true)" != "cargo-leptos 0.3.10" ]]; then
    say "installing cargo-leptos 0.3.10 (about 8 minutes, once)"
    env "${tool_env[@]}" cargo install cargo-leptos@0.3.10 --locked
  fi
  if [[ "$(wasm-bindgen --version 2>/dev/null || true)" != "wasm-bindgen $wbg_version" ]]; then
    say "installing wasm-bindgen-cli $wbg_version (about 2 minutes, once)"
    env "${tool_env[@]}" cargo install wasm-bindgen-cli --version "$wbg_version" --force
  fi
}
case $rust_tools in
  now) install_rust_tools ;;
  only) install_rust_tools; say "Rust tools ready"; exit 0 ;;
  later) ;;
esac

# 4. tailwindcss and wasm-opt (binaryen) from npm, pinned by package-lock.json.
#    The root uses `npm install`, not `npm ci`: the registry here serves only some of
#    tailwind's per-platform optional packages, so the lock file lacks the others and `npm ci`
#    refuses it; `npm install` installs exactly the locked versions and skips the absent ones.
npm_install_if_needed() {
  local dir=$1 how=$2
  if [[ ! -f "$dir/node_modules/.package-lock.json" || "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]]; then
    say "npm $how in $dir"
    (cd "$dir" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm "$how" --no-audit --no-fund)
  fi
}
npm_install_if_needed . install

if $want_test; then
  # 5. Playwright (npm) and Debian's Chromium; Playwright's own browser download is not used.
  npm_install_if_needed end2end ci
  if [[ ! -x /usr/bin/chromium ]]; then
    say "installing Debian's chromium"
    as_root apt-get update
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium
  fi
  # 6. schemathesis (PyPI), which fuzzes /api/v1 against its OpenAPI document, in .venv/.
  st_version=4.32.5
  if [[ "$(.venv/bin/st --version 2>/dev/null || true)" != "st, version $st_version" ]]; then
    say "installing schemathesis $st_version into .venv"
    python3 -m venv .venv
    .venv/bin/pip install --quiet --disable-pip-version-check "schemathesis==$st_version"
  fi
  # 7. The local PostgreSQL server the integration tests use (started if it is installed but down).
  if command -v pg_isready >/dev/null && ! pg_isready -q -h 127.0.0.1 -p 5432; then
    if command -v pg_ctlcluster >/dev/null && [[ -d /etc/postgresql ]]; then
      say "starting PostgreSQL"
      as_root pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
    fi
  fi
fi
say "tools ready"
