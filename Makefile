# Tillstone: the two set-up commands are `make run` and `make test`.
CARGO ?= cargo
DATA ?= data/demo
LISTEN ?= 127.0.0.1:8787

.PHONY: run test ui-test lint fmt bench build clean-data

## Start the terminal on the demo store (created on first run) with the web UI, and print its URL.
run:
	cd ui && npm ci --no-audit --no-fund && npm run build
	$(CARGO) build --release -p tillstone-terminal
	./target/release/tillstone serve --data $(DATA) --listen $(LISTEN) --init-demo --ui ui/dist

## Everything CI checks: formatting, lints, all tests (unit, property, crash, API), the web
## UI's unit tests and its end-to-end run in headless Chromium.
test: lint
	$(CARGO) test --workspace
	$(MAKE) ui-test

ui-test:
	cd ui && npm ci --no-audit --no-fund && npm run build && npm test
	bash ui/e2e/run.sh

lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all

## Benchmarks (release): scan on a 1M-product catalog, durable commit, Z report; prints a table.
bench:
	$(CARGO) bench -p tillstone-tests --bench till --bench members
	$(CARGO) bench -p tillstone-cloud --bench catchup

build:
	$(CARGO) build --workspace --release

clean-data:
	rm -rf $(DATA)
