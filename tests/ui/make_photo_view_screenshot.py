"""Make docs/photo-view.png: the photo view of a scanned library with a face drawn by hand.

    PHOTOFACE_HOME=COPY-OF-A-LIBRARY xvfb-run -a -s "-screen 0 1280x860x24" \\
        python -m tests.ui.make_photo_view_screenshot PHOTO X Y W H

Opens the real window on that library, shows PHOTO, drags a box from (X, Y) to (X+W, Y+H)
(pixels of the photo) with the mouse as a user would, and grabs the window. The library is
changed (a face is added): use a copy. docs/photo-view.png was made on the demo photos
(public domain, never the face data), whose `missed-00.jpg` holds a face the scan misses:

    python -m tests.ui.demo_photos /tmp/demo/photos
    PHOTOFACE_HOME=/tmp/demo/home python -m photoface scan -q /tmp/demo/photos
    PHOTOFACE_HOME=/tmp/demo/home xvfb-run -a -s "-screen 0 1280x860x24" \\
        python -m tests.ui.make_photo_view_screenshot /tmp/demo/photos/missed-00.jpg 592 192 56 60
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("photo")
    ap.add_argument("box", nargs=4, type=float)
    ap.add_argument("--out", default="docs/photo-view.png")
    args = ap.parse_args()
    out = Path(args.out).resolve()
    from PySide6.QtCore import QPoint, Qt
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from photoface import paths, settings
    from photoface.jobs import library_path
    from photoface.ui.main_window import MainWindow

    app = QApplication(sys.argv[:1])
    data_dir = paths.data_dir()
    conf, _ = settings.read(data_dir)
    win = MainWindow(library_path(conf), conf, data_dir)
    win.resize(1100, 720)
    win.show()
    QTest.qWaitForWindowExposed(win)
    photo = win.library.photo_by_path(str(Path(args.photo).resolve()))
    if photo is None:
        print(f"{args.photo} is not in the library", file=sys.stderr)
        return 1
    win.open_photo(photo.id)
    app.processEvents()
    view = win.photo_view
    x, y, w, h = args.box
    a, b = view.screen_point(x, y).toPoint(), view.screen_point(x + w, y + h).toPoint()
    QTest.mousePress(view, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, a)
    QTest.mouseMove(view, QPoint((a.x() + b.x()) // 2, (a.y() + b.y()) // 2))
    QTest.mouseMove(view, b)
    QTest.mouseRelease(view, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, b)
    QTest.qWait(300)
    drawn = [f for f in view.faces if f.manual]
    print(win.status_label.text())
    win.grab().save(str(out))
    win.close()
    print(out, "written" if drawn and out.exists() else "MISSING (no drawn face)")
    return 0 if drawn else 1


if __name__ == "__main__":
    sys.exit(main())
