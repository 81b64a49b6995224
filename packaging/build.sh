#!/usr/bin/env bash
# Build the one-folder Linux bundle into dist/photoface/ (run after packaging/install.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/python -m pip install -q "pyinstaller>=6.5"
.venv/bin/pyinstaller --noconfirm --log-level WARN --distpath dist --workpath build/pyinstaller \
  packaging/photoface.spec
du -sh dist/photoface
echo "run: dist/photoface/photoface (window) or dist/photoface/photoface scan DIR"
