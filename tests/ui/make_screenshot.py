"""Make docs/screenshot.png: scan the public-domain demo photos, then grab the real app's window.

    xvfb-run -a -s "-screen 0 1280x860x24" python -m tests.ui.make_screenshot

The photos are `tests.ui.demo_photos` (two public-domain portraits, varied; never a face of the
training or evaluation data). The bundled model groups the faces; as a user would, the two
biggest people are then named. Nothing is moved by hand: the tiles show the app's own grouping,
mistakes included (v4 split one of the two; v5 does not). PHOTOFACE_MODEL may name another
model.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.ui.demo_photos import write

NAMES = {"hopper": "Grace Hopper", "collins": "Eileen Collins"}


def build(home: Path) -> None:
    from photoface.library import Library

    album = home / "album"
    write(album)
    env = {**os.environ, "PHOTOFACE_HOME": str(home)}
    subprocess.run(
        [sys.executable, "-m", "photoface", "scan", "-q", str(album)], env=env, check=True
    )
    with Library(home / "library.sqlite3") as lib:
        for person in lib.people()[:2]:
            files = [Path(f.path).stem.split("-")[0] for f in lib.faces_of_person(person.id)]
            name = NAMES.get(max(set(files), key=files.count))
            if name and lib.person_by_name(name) is None:
                lib.edits.rename(person.id, name)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="docs/screenshot.png")
    args = ap.parse_args()
    out = Path(args.out).resolve()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        os.environ["PHOTOFACE_HOME"] = str(home)
        build(home)
        from PySide6.QtCore import QTimer
        from PySide6.QtWidgets import QApplication, QMainWindow

        app = QApplication(sys.argv[:1])

        def grab() -> None:
            win = next(w for w in app.topLevelWidgets() if isinstance(w, QMainWindow))
            win.resize(1100, 720)
            app.processEvents()
            QTimer.singleShot(800, lambda: (win.grab().save(str(out)), app.quit()))

        QTimer.singleShot(500, grab)
        from photoface.app import main as app_main

        rc = app_main()
    print(out, "written" if out.exists() else "MISSING")
    return rc


if __name__ == "__main__":
    sys.exit(main())
