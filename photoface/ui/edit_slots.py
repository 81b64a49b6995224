"""The user's edits from the window (name, merge, move, reject, hide, cover, remove, undo, redo),
each confirmed in the status bar in plain words."""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtWidgets import QInputDialog, QMessageBox

from photoface.errors import NotFoundError, PhotofaceError
from photoface.ui.dialogs import MoveToDialog, NameDialog
from photoface.ui.models import face_count_label

log = logging.getLogger(__name__)


def _menu_text(text: str) -> str:
    """Text for a menu item: a '&' in a name would otherwise become a shortcut mark."""
    return text.replace("&", "&&")


class EditSlots:
    """Mixed into MainWindow: each edit is one undoable step, stored at once; a refused one
    (a name taken, a person gone meanwhile) is a message, never a traceback."""

    def _edit(self, fn: Callable[[], object], said: Callable[[object], str] | str = "") -> bool:
        """Run one edit; True when it was stored. The status bar says what was done (`said`, or
        a function of the edit's result, else the undo log's words). The window is refreshed
        either way: a refusal often means it showed something that has changed."""
        try:
            result = fn()
        except PhotofaceError as e:
            self.show_error(str(e))
            self.refresh()
            return False
        text = said(result) if callable(said) else said
        self.status_label.setText(f"{text}." if text else f"Done: {self.library.edits.next_undo()}")
        self.refresh()
        return True

    def _label_of(self, person_id: int) -> str:
        """A person as a status message names them: their name, else "person N"."""
        try:
            p = self.library.person(person_id)
        except NotFoundError:
            return f"person {person_id}"
        return p.name or f"person {p.id}"

    def show_error(self, message: str) -> None:
        self.status_label.setText(message)
        QMessageBox.warning(self, "photoface", message)

    def refresh_undo_redo(self) -> None:
        """Undo and Redo say what they would do now, and are off when there is nothing."""
        for action, verb, what in (
            (self.undo_action, "Undo", self.library.edits.next_undo()),
            (self.redo_action, "Redo", self.library.edits.next_redo()),
        ):
            action.setEnabled(what is not None)
            action.setText(f"&{verb} {_menu_text(what)}" if what else f"&{verb}")
            action.setToolTip(f"{verb} {what}" if what else f"Nothing to {verb.lower()}")

    # --- naming -------------------------------------------------------------------------------

    def rename_person(self, person_id: int, name: str) -> bool:
        """Name a person; a name another person has offers to merge the two instead."""
        return self._rename(person_id, name) is not None

    def _rename(self, person_id: int, name: str) -> int | None:
        """rename_person; returns the person who has the faces now (the other one after a
        merge), None when nothing changed."""
        name = name.strip()
        other = self.library.person_by_name(name) if name else None
        if other is not None and other.id != person_id:
            ask = QMessageBox.question(
                self,
                "Same person?",
                f"“{name}” is already a person here. Merge the two into one person?",
            )
            if ask == QMessageBox.StandardButton.Yes and self._edit(
                lambda: self.library.edits.merge([person_id, other.id], other.id, other.name),
                f"Merged 2 people into {other.name}",
            ):
                return other.id
            # Two people never share a name (as in the CLI): "No" leaves both as they were.
            self.status_label.setText(f"Nothing changed: “{other.name}” is another person's name.")
            return None
        who = self._label_of(person_id)
        if not name:
            said = f"Cleared the name of {who}"
        elif who.startswith("person "):
            said = f"Named {who} {name}"
        else:
            said = f"Renamed {who} to {name}"
        renamed = self._edit(lambda: self.library.edits.rename(person_id, name or None), said)
        return person_id if renamed else None

    def _name_tile(self, ix) -> None:
        self.people_page.view.setCurrentIndex(ix)  # select just this tile, then name it
        self.rename_selected()

    def rename_selected(self) -> None:
        ids = self.people_in_view()
        if len(ids) != 1:
            self.status_label.setText("Select one person to name.")
            return
        try:
            p = self.library.person(ids[0])
        except NotFoundError as e:
            self.show_error(str(e))
            self.refresh()
            return
        names = [q.name for q in self.library.people(include_hidden=True) if q.name]
        name, ok = NameDialog.get_name(self, p.name or "", names)
        if not ok:
            return
        now = self._rename(p.id, name)
        if now is not None and self.stack.currentWidget() is self.person_page:
            self.open_person(now)

    # --- people -------------------------------------------------------------------------------

    def merge_people(self, ids: list[int], into: int | None = None) -> None:
        all_ids = list(dict.fromkeys([*ids, *([into] if into is not None else [])]))
        if len(all_ids) < 2:
            self.status_label.setText("Select two or more people to merge.")
            return
        names = self._names_of(all_ids)
        name = None
        if len({n.casefold() for n in names}) > 1:
            # A merge never drops a name the user gave without the user choosing.
            name, ok = QInputDialog.getItem(
                self,
                "Merge people",
                "These people have different names. The merged person is called:",
                names,
                0,
                True,
            )
            if not ok:
                return
        self._edit(
            lambda: self.library.edits.merge(all_ids, into, name),
            lambda target: f"Merged {len(all_ids)} people into {self._label_of(target)}",
        )

    def _names_of(self, ids: list[int]) -> list[str]:
        names: list[str] = []
        for pid in ids:
            try:
                name = self.library.person(pid).name
            except NotFoundError:
                continue  # gone meanwhile: the merge itself will say so
            if name and name not in names:
                names.append(name)
        return names

    def merge_selected(self) -> None:
        self.merge_people(self.people_in_view())

    def toggle_hidden_selected(self) -> None:
        for pid in self.people_in_view():
            try:
                hide = not self.library.person(pid).hidden
            except NotFoundError as e:
                self.show_error(str(e))
                self.refresh()
                continue
            said = f"{'Hid' if hide else 'Showed'} {self._label_of(pid)}"
            self._edit(lambda pid=pid, hide=hide: self.library.edits.hide(pid, hide), said)

    # --- faces --------------------------------------------------------------------------------

    def _faces_or_hint(self, what: str) -> list[int]:
        faces = self.selected_faces()
        if not faces:
            self.status_label.setText(f"Select the faces to {what} first.")
        return faces

    def not_this_person(self) -> None:
        pid = self.faces_model.person_id
        faces = self._faces_or_hint("take out of this person")
        if faces and pid is not None:
            said = f"Took {face_count_label(len(faces))} out of {self._label_of(pid)}"
            self._edit(lambda: self.library.edits.reject(faces, pid), said)

    def ask_and_move_faces(self) -> None:
        """The "Move to…" button: ask for the person (or a new one), then move."""
        if not self._faces_or_hint("move"):
            return
        shown = self.faces_model.person_id
        people = [p for p in self.library.people() if p.id != shown]
        target, ok = MoveToDialog.get_person(self, people)
        if ok:
            self.move_faces_to(target)

    def move_faces_to(self, target: int | None) -> None:
        """Move the selected faces to person `target`; None makes a new person of them."""
        faces = self.selected_faces()
        if faces:
            moved = face_count_label(len(faces))
            self._edit(
                lambda: self.library.edits.move_faces(faces, target),
                lambda pid: (
                    f"Moved {moved} to {self._label_of(pid)}"
                    + (" (a new person)" if target is None else "")
                ),
            )

    def remove_faces(self) -> None:
        faces = self._faces_or_hint("remove")
        if faces:
            said = f"Removed {face_count_label(len(faces))}"
            self._edit(lambda: self.library.edits.remove_faces(faces), said)

    def use_as_cover(self) -> None:
        """Show the open person by the one selected face."""
        pid, faces = self.faces_model.person_id, self.selected_faces()
        if pid is None or len(faces) != 1:
            self.status_label.setText("Select one face of this person to show them by.")
            return
        said = f"{self._label_of(pid)} is shown by the chosen face now"
        self._edit(lambda: self.library.edits.set_cover(pid, faces[0]), said)

    # --- undo and redo ------------------------------------------------------------------------

    def undo(self) -> None:
        self._step(self.library.edits.undo, "Undid", "Nothing to undo")

    def redo(self) -> None:
        self._step(self.library.edits.redo, "Redid", "Nothing to redo")

    def _step(self, fn: Callable[[], str | None], done_word: str, nothing: str) -> None:
        try:
            done = fn()
        except PhotofaceError as e:  # the library busy or unwritable: nothing was changed
            self.show_error(str(e))
            return
        self.status_label.setText(f"{done_word}: {done}" if done else nothing)
        self.refresh()
