"""The desktop app's entry point: logging, the error dialog, the last library, the window."""

from __future__ import annotations

import logging
import sys
import time
import traceback
from pathlib import Path
from typing import TYPE_CHECKING

from photoface import paths, settings

if TYPE_CHECKING:
    from types import TracebackType

log = logging.getLogger(__name__)


def _setup_logging(data_dir: Path) -> Path:
    data_dir.mkdir(parents=True, exist_ok=True)
    log_path = data_dir / "photoface.log"
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        handlers=[logging.FileHandler(log_path, encoding="utf-8")],
    )
    return log_path


def main(argv: list[str] | None = None) -> int:
    t0 = time.perf_counter()
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QFileDialog, QMessageBox

    from photoface.errors import LibraryError
    from photoface.jobs import library_path
    from photoface.ui.main_window import MainWindow

    data_dir = paths.data_dir()
    log_path = _setup_logging(data_dir)
    app = QApplication.instance() or QApplication(sys.argv if argv is None else argv)
    app.setApplicationName("photoface")
    icon = paths.resources_dir() / "icons" / "photoface.png"
    if icon.exists():
        from PySide6.QtGui import QIcon

        app.setWindowIcon(QIcon(str(icon)))

    def excepthook(
        kind: type[BaseException], value: BaseException, tb: TracebackType | None
    ) -> None:  # bugs: a dialog and the log, never a silent exit
        text = "".join(traceback.format_exception(kind, value, tb))
        log.error("unexpected error:\n%s", text)
        QMessageBox.critical(
            None, "photoface: unexpected error", f"{value}\n\nDetails are in {log_path}."
        )

    sys.excepthook = excepthook
    try:
        conf, problems = settings.read(data_dir)
    except settings.SettingsError as e:  # it may name the library: never open another one
        log.error("%s", e)
        QMessageBox.critical(None, "photoface", f"{e}\n\nphotoface has not started.")
        return 1
    for line in problems:
        log.warning("%s", line)
    if problems:
        QMessageBox.warning(
            None, "photoface", "Some settings were ignored:\n" + "\n".join(problems)
        )
    library = library_path(conf)
    while True:
        try:
            window = MainWindow(library, conf, data_dir)
            break
        except LibraryError as e:
            QMessageBox.warning(None, "photoface", f"{e}\n\nChoose another library file.")
            chosen, _ = QFileDialog.getSaveFileName(
                None, "Library file", str(library), "photoface library (*.sqlite3)"
            )
            if not chosen:
                return 1
            library = Path(chosen)
            conf.library = str(library)
            settings.save(data_dir, conf)
    window.show()
    log.info("window shown %.2f s after launch", time.perf_counter() - t0)
    quit_after = _env_int("PHOTOFACE_QUIT_AFTER_MS")
    if quit_after is not None:  # smoke runs: show the window, then quit
        QTimer.singleShot(quit_after, app.quit)
    return app.exec()


def _env_int(name: str) -> int | None:
    import os

    v = os.environ.get(name)
    return int(v) if v and v.isdigit() else None
