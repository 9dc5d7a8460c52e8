#!/usr/bin/env bash
# End-to-end: a real `tillstone serve` on a fresh demo store serving the built UI, driven in
# headless Chromium by e2e/sale.spec.mjs. Run from the repository root after `npm run build`.
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=target/debug/tillstone
[ -x "$bin" ] || cargo build -p tillstone-terminal
data=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
# The demo store, with a virtual receipt printer: ESC/POS bytes appended to a file (the e2e reads
# it back to check that the receipt printed).
"$bin" init --data "$data/demo" --demo >"$data/init.log" 2>&1 || { cat "$data/init.log"; exit 1; }
printf '[printer]\ntransport = "file"\npath = "%s"\npaper = "mm80"\n' "$data/printer.bin" >"$data/demo/devices.toml"
"$bin" serve --data "$data/demo" --listen "127.0.0.1:$port" --ui ui/dist >"$data/serve.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -rf "$data"' EXIT
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$port/api/v1/health" >/dev/null && break
  sleep 0.2
done
curl -sf "http://127.0.0.1:$port/api/v1/health" >/dev/null || { cat "$data/serve.log"; exit 1; }
cd ui && TILLSTONE_URL="http://127.0.0.1:$port" PRINTER_FILE="$data/printer.bin" npm run --silent e2e
