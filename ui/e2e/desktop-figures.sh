#!/usr/bin/env bash
# `make bench-desktop`: cold start to interactive and memory of the release desktop app, on the
# demo store and on a 1,000,000-product catalog (target/bench-data/catalog-1000000, as `make bench`
# builds it; created here with the tillstone CLI when missing), beside the baseline of a bare
# WebKitGTK window (the webview_floor example) measured in the same run. Prints a table.
# Targets: < 2 s, < 200 MB. RUNS=N runs per store (default 5).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD

fail() {
  echo "desktop figures: $*" >&2
  exit 1
}
command -v Xvfb >/dev/null || fail "Xvfb is missing: apt-get install -y xvfb xauth"
command -v node >/dev/null || fail "node is missing"
pkg-config --exists webkit2gtk-4.1 2>/dev/null || fail "libwebkit2gtk-4.1-dev is missing: apt-get install -y libwebkit2gtk-4.1-dev"
[ -f ui/dist/index.html ] || fail "the UI is not built (ui/dist): cd ui && npm ci && npm run build"

cargo build --release -p tillstone-desktop --features tauri/custom-protocol --bin tillstone-desktop --example webview_floor
bin=$root/target/release/tillstone-desktop
floor=$root/target/release/examples/webview_floor

bench_data=$root/target/bench-data
catalog=$bench_data/catalog-1000000
if [ ! -f "$catalog/tillstone.db" ]; then
  echo "# no $catalog yet: generating the 1,000,000-product catalog (once)" >&2
  cargo build --release -p tillstone-terminal
  cli=$root/target/release/tillstone
  mkdir -p "$bench_data"
  rm -rf "$catalog.partial"
  "$cli" init --data "$catalog.partial" --demo >/dev/null
  "$cli" fixtures catalog --products 1000000 --out "$bench_data/catalog-1000000.csv"
  "$cli" import catalog "$bench_data/catalog-1000000.csv" --data "$catalog.partial"
  rm -f "$bench_data/catalog-1000000.csv"
  mv "$catalog.partial" "$catalog"
fi

# Work on copies beside the cache (same file system), so the cached catalog stays untouched.
tmp=$(mktemp -d -p "$bench_data" desktop-figures.XXXXXX)
xvfb_pid=
cleanup() {
  [ -n "$xvfb_pid" ] && kill "$xvfb_pid" 2>/dev/null && wait "$xvfb_pid" 2>/dev/null
  rm -rf "$tmp"
  true
}
trap cleanup EXIT
cp -r "$catalog" "$tmp/catalog-1m"

# shellcheck source=ui/e2e/xvfb.sh
. ui/e2e/xvfb.sh
start_xvfb "$tmp"
export LIBGL_ALWAYS_SOFTWARE=1

# The demo store is created by the app's first start (not measured: `init` is not a start).
TILLSTONE_DATA="$tmp/demo" RUNS=1 node ui/e2e/desktop-figures.mjs "$bin" "init=$tmp/demo" >/dev/null 2>&1 || true
[ -f "$tmp/demo/tillstone.db" ] || fail "the desktop app did not create the demo store in $tmp/demo"

node ui/e2e/desktop-figures.mjs "$bin" --floor "$floor" "demo (2,000 products)=$tmp/demo" "catalog 1,000,000 products=$tmp/catalog-1m"
