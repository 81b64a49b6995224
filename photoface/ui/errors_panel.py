"""The files a scan could not read: each with its reason in plain words and "Open folder"."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QHBoxLayout,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

log = logging.getLogger(__name__)

PATH_ROLE = Qt.ItemDataRole.UserRole + 2

# The scan's short reasons (core.imaging), as a user reads them; the scan's own words stay in
# the tooltip. Matched by prefix, first match wins.
_PLAIN: list[tuple[str, str]] = [
    ("empty file", "The file is empty (0 bytes)."),
    ("not an image file", "This is not a picture photoface can read (another kind of file?)."),
    ("cannot decode image", "The picture is damaged or cut short (an unfinished copy?)."),
    ("permission denied", "photoface is not allowed to read this file."),
    ("file not found", "The file was gone when photoface came to read it (a broken link?)."),
    ("too many pixels", "The picture is too large to open safely."),
    ("a folder", "This is a folder, not a file."),
    ("not a regular file", "This is not an ordinary file (a device or a pipe?)."),
    ("too large", "The file is too large to read."),
    ("cannot read", "The file could not be read from the disk."),
]


def plain_reason(reason: str) -> str:
    """A scan's reason for not reading a file, in words a user knows."""
    low = reason.lower()
    for prefix, text in _PLAIN:
        if low.startswith(prefix):
            return text
    return reason[:1].upper() + reason[1:] + ("" if reason.endswith(".") else ".")


class ErrorsList(QListWidget):
    """One line per file: its name and why; the whole path and the scan's words in the tooltip."""

    def add(self, path: str, reason: str) -> None:
        item = QListWidgetItem(f"{Path(path).name} — {plain_reason(reason)}")
        item.setToolTip(f"{path}\n{reason}")
        item.setData(PATH_ROLE, path)
        self.addItem(item)


class ErrorsPanel(QWidget):
    """The list, and a button that opens the selected file's folder in the file manager."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.list = ErrorsList(self)
        self.open_folder = QPushButton("Open folder")
        self.open_folder.setToolTip("Show the selected file in its folder")
        self.open_folder.setEnabled(False)
        # A seam: tests check the URL instead of launching a file manager.
        self.open_url: Callable[[QUrl], object] = QDesktopServices.openUrl
        self.list.itemSelectionChanged.connect(
            lambda: self.open_folder.setEnabled(bool(self.list.selectedItems()))
        )
        self.open_folder.clicked.connect(lambda *_checked: self.open_selected_folder())
        self.list.itemActivated.connect(lambda _item: self.open_selected_folder())
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.list, 1)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.open_folder)
        lay.addLayout(row)

    def open_selected_folder(self) -> None:
        items = self.list.selectedItems()
        if not items:
            return
        item = items[0]
        folder = Path(item.data(PATH_ROLE)).parent
        self.open_url(QUrl.fromLocalFile(str(folder)))
