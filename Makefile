# Tillstone: the two set-up commands are `make run` and `make test`.
CARGO ?= cargo
DATA ?= data/demo
LISTEN ?= 127.0.0.1:8787

.PHONY: run test ui-build ui-test desktop-test lint fmt bench bench-desktop build clean-data

## Open the till on the demo store (created on first run): the desktop window (Tauri) when a
## display is available ($DISPLAY or $WAYLAND_DISPLAY), else `tillstone serve` with the web UI
## (prints its URL).
run: ui-build
	@if [ -n "$$DISPLAY$$WAYLAND_DISPLAY" ]; then \
	  $(CARGO) build --release -p tillstone-desktop --features tauri/custom-protocol && \
	  echo "Opening the Tillstone window on $(DATA) (--kiosk or TILLSTONE_KIOSK=1: fullscreen)" && \
	  ./target/release/tillstone-desktop --data $(DATA); \
	else \
	  echo "No display (\$$DISPLAY and \$$WAYLAND_DISPLAY are unset): serving the web UI instead of opening the desktop window"; \
	  $(CARGO) build --release -p tillstone-terminal && \
	  ./target/release/tillstone serve --data $(DATA) --listen $(LISTEN) --init-demo --ui ui/dist; \
	fi

## The web UI's dependencies (again only when the lock file changed) and ui/dist. The desktop
## shell embeds ui/dist, so it is built before anything compiles src-tauri.
ui/node_modules/.package-lock.json: ui/package-lock.json ui/package.json
	cd ui && npm ci --no-audit --no-fund

ui-build: ui/node_modules/.package-lock.json
	cd ui && npm run build

## Everything CI checks: formatting, lints, all tests (unit, property, crash, API), the web
## UI's unit tests and its end-to-end run in headless Chromium, then the desktop app's smoke
## test under Xvfb (tauri-driver + WebKitWebDriver).
test:
	$(MAKE) ui-build
	$(MAKE) lint
	$(CARGO) test --workspace
	$(MAKE) ui-test
	$(MAKE) desktop-test

ui-test: ui-build
	cd ui && npm test
	bash ui/e2e/run.sh

## The real Tauri binary under Xvfb: sign in, ring a sale; screenshots in target/desktop-e2e/.
desktop-test: ui-build
	bash ui/e2e/desktop.sh

lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all

## Benchmarks (release): scan on a 1M-product catalog, durable commit, Z report; prints a table.
## Every table is printed even when one misses its target; the exit status says whether all met.
bench:
	@status=0; \
	$(CARGO) bench --no-fail-fast -p tillstone-tests --bench till --bench members --bench initial_sync || status=1; \
	$(CARGO) bench -p tillstone-cloud --bench catchup || status=1; \
	$(MAKE) bench-desktop || status=1; \
	if [ $$status -ne 0 ]; then echo "make bench: at least one target missed (see the tables above)"; fi; \
	exit $$status

## Desktop app: cold start to interactive and memory, demo store and 1M-product catalog.
bench-desktop: ui-build
	bash ui/e2e/desktop-figures.sh

build:
	$(CARGO) build --workspace --release

clean-data:
	rm -rf $(DATA)
