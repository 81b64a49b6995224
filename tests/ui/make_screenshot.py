"""Make docs/screenshot.png: scan LFW photos of a dozen people, then grab the real app's window.

    xvfb-run -a -s "-screen 0 1280x860x24" python -m tests.ui.make_screenshot

The bundled model groups the faces; then, as a user would, the five biggest people are named
(with the name most of their photos carry). Nothing is moved by hand: the tiles show the app's
own grouping, mistakes included. PHOTOFACE_MODEL may name another model.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

LFW = Path(__file__).resolve().parents[3] / "shared/data/lfw/lfw-deepfunneled"
PEOPLE = {
    "Colin_Powell": 12,
    "Tony_Blair": 10,
    "Serena_Williams": 8,
    "Hugo_Chavez": 7,
    "Arnold_Schwarzenegger": 6,
    "Jennifer_Capriati": 5,
    "Gloria_Macapagal_Arroyo": 5,
    "Vladimir_Putin": 5,
    "Laura_Bush": 4,
    "Junichiro_Koizumi": 4,
    "Jiang_Zemin": 3,
    "Naomi_Watts": 3,
}


def build(home: Path) -> None:
    from photoface.library import Library

    album = home / "album"
    album.mkdir(parents=True)
    for name, n in PEOPLE.items():
        for f in sorted((LFW / name).glob("*.jpg"))[:n]:
            shutil.copy(f, album / f.name)
    env = {**os.environ, "PHOTOFACE_HOME": str(home)}
    subprocess.run(
        [sys.executable, "-m", "photoface", "scan", "-q", str(album)], env=env, check=True
    )
    with Library(home / "library.sqlite3") as lib:
        for person in lib.people()[:5]:
            files = [Path(f.path).stem.rsplit("_", 1)[0] for f in lib.faces_of_person(person.id)]
            name = Counter(files).most_common(1)[0][0].replace("_", " ")
            if lib.person_by_name(name) is None:
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
