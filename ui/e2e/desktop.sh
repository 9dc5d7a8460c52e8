#!/usr/bin/env bash
# End-to-end smoke of the real Tauri binary: tillstone-desktop on a fresh demo store, in Xvfb,
# driven through tauri-driver + WebKitWebDriver by e2e/desktop.spec.mjs. Screenshots go to
# target/desktop-e2e/. Run from anywhere after `cd ui && npm run build`.
#
# Needs: Xvfb (apt xvfb xauth), WebKitWebDriver (apt webkit2gtk-driver), libwebkit2gtk-4.1-dev
# (to build), tauri-driver (cargo install tauri-driver --locked --version 2.1.0), node.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD

fail() {
  echo "desktop e2e: $*" >&2
  exit 1
}
WEBKIT_DRIVER=${WEBKIT_DRIVER:-/usr/bin/WebKitWebDriver}
TAURI_DRIVER=${TAURI_DRIVER:-$(command -v tauri-driver || echo "$HOME/.cargo/bin/tauri-driver")}
command -v Xvfb >/dev/null || fail "Xvfb is missing: apt-get install -y xvfb xauth"
[ -x "$WEBKIT_DRIVER" ] || fail "WebKitWebDriver is missing ($WEBKIT_DRIVER): apt-get install -y webkit2gtk-driver"
[ -x "$TAURI_DRIVER" ] || fail "tauri-driver is missing: cargo install tauri-driver --locked --version 2.1.0"
command -v node >/dev/null || fail "node is missing: apt-get install -y nodejs npm"
pkg-config --exists webkit2gtk-4.1 2>/dev/null || fail "libwebkit2gtk-4.1-dev is missing: apt-get install -y libwebkit2gtk-4.1-dev"
[ -f ui/dist/index.html ] || fail "the UI is not built (ui/dist): cd ui && npm ci && npm run build"

# The debug build embeds ui/dist (frontendDist); cargo rebuilds it when ui/dist changed.
cargo build -p tillstone-desktop
bin=$root/target/debug/tillstone-desktop
[ -x "$bin" ] || fail "no $bin after the build"

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}
wait_port() { # port seconds
  local end=$((SECONDS + $2))
  while [ $SECONDS -lt $end ]; do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

tmp=$(mktemp -d)
xvfb_pid=
driver_pid=
# The pids of a process and all its descendants (the app is WebKitWebDriver's child).
tree() {
  local p
  echo "$1"
  for p in $(ps -o pid= --ppid "$1" 2>/dev/null); do tree "$p"; done
}
cleanup() {
  if [ -n "$driver_pid" ]; then
    # shellcheck disable=SC2046
    kill $(tree "$driver_pid") 2>/dev/null
    wait "$driver_pid" 2>/dev/null
  fi
  [ -n "$xvfb_pid" ] && kill "$xvfb_pid" 2>/dev/null && wait "$xvfb_pid" 2>/dev/null
  rm -rf "$tmp"
  true
}
trap cleanup EXIT

# -fbdir: the screen as a file, for screenshots of what is really painted.
mkdir -p "$tmp/fb"
# shellcheck source=ui/e2e/xvfb.sh
. ui/e2e/xvfb.sh
start_xvfb "$tmp" -fbdir "$tmp/fb"

port=${TAURI_DRIVER_PORT:-$(free_port)}
native_port=${WEBKIT_DRIVER_PORT:-$(free_port)}
# The app (started by WebKitWebDriver) inherits this environment: a fresh demo store, no
# single-instance lock against a till the developer may have open.
export TILLSTONE_DATA="$tmp/demo"
export TILLSTONE_SINGLE_INSTANCE=0
export RUST_LOG=${RUST_LOG:-info}
# Xvfb has no GPU (WEBKIT_DISABLE_COMPOSITING_MODE=1 would make WebDriver screenshots hang).
export LIBGL_ALWAYS_SOFTWARE=1
"$TAURI_DRIVER" --port "$port" --native-port "$native_port" --native-driver "$WEBKIT_DRIVER" \
  >"$tmp/tauri-driver.log" 2>&1 &
driver_pid=$!
if ! wait_port "$port" 20 || ! wait_port "$native_port" 20; then
  cat "$tmp/tauri-driver.log" >&2
  fail "tauri-driver (port $port) or WebKitWebDriver (port $native_port) did not start"
fi

status=0
XVFB_FB="$tmp/fb/Xvfb_screen0" WEBDRIVER_URL="http://127.0.0.1:$port" TILLSTONE_DESKTOP_BIN="$bin" \
  SHOTS_DIR="$root/target/desktop-e2e" \
  node ui/e2e/desktop.spec.mjs || status=$?
if [ $status -ne 0 ]; then
  echo "--- tauri-driver / WebKitWebDriver / app log:" >&2
  tail -n 60 "$tmp/tauri-driver.log" >&2
  fail "the desktop smoke failed (screenshots in target/desktop-e2e/)"
fi
