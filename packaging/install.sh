#!/usr/bin/env bash
# Install photoface into ./.venv on a fresh machine: Qt's system libraries (Debian/Ubuntu, when
# run as root or with sudo), the Python package, and the BlazeFace model (sha256-checked).
#   bash packaging/install.sh          # the app
#   bash packaging/install.sh --test   # the app + test and training extras
set -euo pipefail
cd "$(dirname "$0")/.."
extras=""
[ "${1:-}" = "--test" ] && extras="[test,train]"

# Qt (PySide6) loads these at run time; a desktop has them, a bare server may not.
qt_libs="libegl1 libgl1 libxkbcommon0 libxkbcommon-x11-0 libfontconfig1 libdbus-1-3 libglib2.0-0
libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0 libxcb-shape0"
if command -v dpkg >/dev/null && command -v apt-get >/dev/null; then
  missing=$(for p in $qt_libs; do dpkg -s "$p" >/dev/null 2>&1 || echo "$p"; done)
  if [ -n "$missing" ]; then
    sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
    echo "installing Qt's system libraries: $missing"
    $sudo apt-get update -qq && $sudo apt-get install -y -qq $missing >/dev/null \
      || echo "warning: could not install $missing; the window may not open" >&2
  fi
fi

# The XMP tests read our sidecars back with ExifTool (they skip when it is missing).
if [ -n "$extras" ] && ! command -v exiftool >/dev/null && command -v apt-get >/dev/null; then
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  { $sudo apt-get update -qq && $sudo apt-get install -y -qq libimage-exiftool-perl >/dev/null; } \
    || echo "warning: could not install exiftool; the XMP read-back tests will skip" >&2
fi

python=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$python" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
# torch==2.13.0 (train extra) resolves to the local CPU wheel on our machines.
.venv/bin/python -m pip install -q -e ".${extras}"
.venv/bin/photoface setup-blazeface
