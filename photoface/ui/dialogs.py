"""Small dialogs: settings, a person's name (with the names there are), a person to move to."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QCompleter,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QWidget,
)

from photoface.library import Person
from photoface.settings import Settings


class SettingsDialog(QDialog):
    def __init__(
        self,
        settings: Settings,
        model_threshold: float | None,
        library_path: str,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        form = QFormLayout(self)
        self.threshold = QDoubleSpinBox()
        self.threshold.setRange(0.0, 3.0)
        self.threshold.setSingleStep(0.05)
        self.threshold.setDecimals(2)
        self.threshold.setSpecialValueText("model default")
        self.threshold.setValue(settings.cluster_threshold or 0.0)
        hint = f" (model: {model_threshold:.2f})" if model_threshold else ""
        form.addRow(f"Grouping distance{hint}:", self.threshold)
        self.min_faces = QSpinBox()
        self.min_faces.setRange(1, 50)
        self.min_faces.setValue(settings.min_faces)
        form.addRow("Minimum faces per person:", self.min_faces)
        row = QHBoxLayout()
        self.library = QLineEdit(library_path)
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row.addWidget(self.library)
        row.addWidget(browse)
        form.addRow("Library file:", row)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def _browse(self) -> None:
        keep = (
            QFileDialog.Option.DontConfirmOverwrite
        )  # an existing library is opened, not replaced
        path, _ = QFileDialog.getSaveFileName(
            self, "Library file", self.library.text(), "photoface library (*.sqlite3)", options=keep
        )
        if path:
            self.library.setText(path)

    def values(self) -> tuple[float | None, int, str]:
        t = self.threshold.value()
        return (t if t > 0 else None), self.min_faces.value(), self.library.text().strip()


class MoveToDialog(QDialog):
    """Pick an existing person (by name) or a new one."""

    def __init__(self, people: list[Person], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Move faces to…")
        form = QFormLayout(self)
        self.choice = QComboBox()
        self.choice.addItem("A new person")  # no item data: person_id() is None
        for p in people:
            self.choice.addItem(f"{p.label} ({p.face_count})", p.id)
        form.addRow("Person:", self.choice)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def person_id(self) -> int | None:
        """The chosen person; None for a new one."""
        v = self.choice.currentData()
        return None if v is None else int(v)

    @staticmethod
    def get_person(parent: QWidget | None, people: list[Person]) -> tuple[int | None, bool]:
        """Ask, as QInputDialog.getText does: (the chosen person or None for a new one,
        whether the user said OK)."""
        dlg = MoveToDialog(people, parent)
        ok = bool(dlg.exec())
        return dlg.person_id(), ok


class NameDialog(QDialog):
    """A person's name, completed from the names the library has (any part of a name matches,
    whatever the case), so the same person is named the same way twice."""

    def __init__(self, current: str, names: list[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Name person")
        form = QFormLayout(self)
        self.edit = QLineEdit(current)
        self.edit.selectAll()
        self.completer = QCompleter(sorted(names, key=str.casefold), self)
        self.completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.completer.setFilterMode(Qt.MatchFlag.MatchContains)
        self.edit.setCompleter(self.completer)
        form.addRow("Name:", self.edit)
        self.edit.setFocus()  # typing goes to the name at once, and the completer with it
        hint = QLabel("A name another person has offers to merge the two.")
        hint.setStyleSheet("color: gray")
        form.addRow(hint)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    @staticmethod
    def get_name(parent: QWidget | None, current: str, names: list[str]) -> tuple[str, bool]:
        """Ask, as QInputDialog.getText does: (the text, whether the user said OK)."""
        dlg = NameDialog(current, names, parent)
        ok = bool(dlg.exec())
        return dlg.edit.text(), ok
