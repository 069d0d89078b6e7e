# The two commands of the README:
#   make run   builds (release), migrates and serves the app at http://127.0.0.1:3000
#   make test  runs every test: cargo fmt --check and clippy (warnings are errors), the Rust
#              unit and integration tests (SQLite and PostgreSQL), then the Playwright suite in
#              Chromium (hydrated and without JavaScript)
# Both install whatever the machine lacks first (scripts/setup.sh).

SHELL := /bin/bash
export PATH := $(CURDIR)/node_modules/.bin:$(HOME)/.cargo/bin:$(PATH)

.PHONY: run test setup setup-test lint test-rust test-e2e build bench

setup:
	scripts/setup.sh

setup-test:
	scripts/setup.sh --test

run: setup
	cargo leptos build --release
	mkdir -p data
	./target/release/switchyard serve

build:
	cargo leptos build

# scripts/test.sh: set-up, lint, Rust tests, then Playwright, with cargo-leptos compiling
# beside the lint and the Rust tests; it prints each phase's time.
test:
	scripts/test.sh

# The debug server that cargo-leptos builds for Playwright is compiled with
# `--cfg erase_components` (cargo-leptos sets it for debug builds); the lint and the Rust tests
# use the same flag, so one build of every dependency serves all three instead of two.
lint test-rust: export RUSTFLAGS = --cfg erase_components

# Formatting and every clippy lint, as errors (a lint allowed on purpose is allowed where it
# applies, with its reason).
lint:
	cargo fmt --check
	cargo clippy --all-targets --features ssr -- -D warnings

# The Rust tests: the unit tests, then the integration tests (one binary, tests/it/), eight at a
# time in one process; each starts the real app on port 0 with a database of its own.
test-rust:
	cargo test --features ssr -- --test-threads=8

test-e2e: build
	cd end2end && npx playwright test

bench: setup
	scripts/bench.sh
	scripts/bench_listener.sh
	scripts/bench_source.sh
	scripts/bench_bulk.sh
	scripts/bench_webhooks.sh
	BENCH_SKIP_BUILD=1 scripts/bench_refused.sh
	BENCH_SKIP_BUILD=1 scripts/check_erasure.sh
