#!/usr/bin/env bash
# `make test`: every test. The quick installs come first; cargo-leptos and wasm-bindgen-cli,
# which only the Playwright build needs, compile beside the lint and the Rust tests, and the
# phases' times are printed at the end (the README's "Tests" table comes from them).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$HOME/.cargo/bin:$PATH"

times=()
phase() {
  local name=$1 start=$SECONDS
  shift
  printf '\033[1;34mtest:\033[0m %s\n' "$name"
  "$@"
  times+=("$(printf '%-44s %4d s' "$name" $((SECONDS - start)))")
}

phase "set-up (without the Rust tools)" scripts/setup.sh --test --rust-tools-later

mkdir -p target
tools_log=target/rust-tools.log
tools_start=$SECONDS
scripts/setup.sh --only-rust-tools >"$tools_log" 2>&1 &
tools_pid=$!
trap 'kill "$tools_pid" 2>/dev/null || true' EXIT

phase "lint (fmt, clippy)" make --no-print-directory lint
phase "Rust unit and integration tests" make --no-print-directory test-rust

printf '\033[1;34mtest:\033[0m waiting for the Rust tools (log: %s)\n' "$tools_log"
if ! wait "$tools_pid"; then
  cat "$tools_log" >&2
  echo "test: installing cargo-leptos or wasm-bindgen-cli failed (above)" >&2
  exit 1
fi
trap - EXIT
times+=("$(printf '%-44s %4d s' "Rust tools (beside the two above)" $((SECONDS - tools_start)))")

phase "debug build with cargo-leptos, Playwright" make --no-print-directory test-e2e

printf '\033[1;34mtest:\033[0m all green; phase times:\n'
printf '  %s\n' "${times[@]}"
printf '  %-44s %4d s\n' "total" "$SECONDS"
