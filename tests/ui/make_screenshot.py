"""Make docs/screenshot.png: scan ~40 LFW photos, then grab the real app's window.

    xvfb-run -a -s "-screen 0 1280x860x24" python -m tests.ui.make_screenshot

Uses the tiny test model (tests/fakes.build_tiny_model) unless PHOTOFACE_MODEL names a real one.
The tiny model groups poorly, so people are then named from the LFW folder names, as a user would.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

LFW = Path("/work/shared/data/lfw/lfw-deepfunneled")
PEOPLE = {
    "Colin_Powell": 10,
    "Tony_Blair": 8,
    "Serena_Williams": 7,
    "Hugo_Chavez": 6,
    "Arnold_Schwarzenegger": 5,
    "Jennifer_Capriati": 4,
    "Gloria_Macapagal_Arroyo": 3,
}


def build(home: Path) -> None:
    from photoface.store import Library

    album = home / "album"
    album.mkdir(parents=True)
    for name, n in PEOPLE.items():
        for f in sorted((LFW / name).glob("*.jpg"))[:n]:
            shutil.copy(f, album / f.name)
    env = {**os.environ, "PHOTOFACE_HOME": str(home)}
    subprocess.run([sys.executable, "-m", "photoface", "scan", "-q", str(album)], env=env,
                   check=True)  # fmt: skip
    with Library(home / "library.sqlite3") as lib:
        by_name: dict[str, list[int]] = {}
        for person in lib.people(include_hidden=True):
            for face in lib.faces_of_person(person.id):
                by_name.setdefault(Path(face.path).stem.rsplit("_", 1)[0], []).append(face.id)
        for face in lib.unsorted_faces():
            by_name.setdefault(Path(face.path).stem.rsplit("_", 1)[0], []).append(face.id)
        for i, (name, ids) in enumerate(sorted(by_name.items(), key=lambda kv: -len(kv[1]))):
            pid = lib.move_faces(ids[:-1] if len(ids) > 2 else ids, None)
            if i < 5:  # leave the two smallest unnamed, as a fresh library has them
                lib.rename(pid, name.replace("_", " "))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="docs/screenshot.png")
    args = ap.parse_args()
    out = Path(args.out).resolve()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        os.environ["PHOTOFACE_HOME"] = str(home)
        if "PHOTOFACE_MODEL" not in os.environ:
            from tests.fakes import build_tiny_model

            os.environ["PHOTOFACE_MODEL"] = str(build_tiny_model(home / "tiny.onnx"))
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
