# Sourced by desktop.sh and desktop-figures.sh: start Xvfb on a free display and export DISPLAY.
# `start_xvfb DIR [Xvfb args…]` logs to DIR/xvfb.log and sets $xvfb_pid (the caller kills it).
# Needs a `fail` function.
start_xvfb() {
  local dir=$1
  shift
  local display= n
  for n in $(seq 99 160); do
    if [ ! -e "/tmp/.X$n-lock" ] && [ ! -e "/tmp/.X11-unix/X$n" ]; then display=$n; break; fi
  done
  [ -n "$display" ] || fail "no free X display between :99 and :160"
  Xvfb ":$display" -screen 0 1280x800x24 -nolisten tcp "$@" >"$dir/xvfb.log" 2>&1 &
  xvfb_pid=$!
  for _ in $(seq 1 100); do [ -e "/tmp/.X11-unix/X$display" ] && break; sleep 0.1; done
  [ -e "/tmp/.X11-unix/X$display" ] || { cat "$dir/xvfb.log" >&2; fail "Xvfb did not start on :$display"; }
  export DISPLAY=":$display"
  unset WAYLAND_DISPLAY
}
