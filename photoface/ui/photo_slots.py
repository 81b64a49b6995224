"""The photo view's side of the window: which photo is shown and the photos stepped through,
the edits from a face's menu, and faces drawn by the user."""

from __future__ import annotations

import logging

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QInputDialog

from photoface.core.detect import Detector
from photoface.errors import NotFoundError
from photoface.jobs.drawn import add_drawn_face
from photoface.ui.dialogs import MoveToDialog
from photoface.ui.models import ID_ROLE
from photoface.ui.photo_view import ShownFace

log = logging.getLogger(__name__)


class PhotoSlots:
    """Mixed into MainWindow (after EditSlots, whose `_edit` and `_rename` it uses): each
    action on a face is one undoable edit, and the photo view shows the result."""

    _photo_ids: list[int]
    _photo_index: int
    _drawing_detector: Detector | None = None

    def connect_photo_view(self) -> None:
        self._photo_ids, self._photo_index = [], 0
        v = self.photo_view
        v.person_clicked.connect(self.open_person)
        v.back.connect(self.go_back)
        v.step.connect(self.step_photo)
        v.face_drawn.connect(self.add_face_drawn)
        v.name_face.connect(self.name_face)
        v.move_face.connect(self.move_face)
        v.reject_face.connect(self.reject_face)
        v.remove_face.connect(self.remove_face)

    # --- which photo ------------------------------------------------------------------------

    def open_photo(self, photo_id: int, photo_ids: list[int] | None = None) -> None:
        """Show a photo; Next and Previous step through `photo_ids` (None: every photo)."""
        ids = list(photo_ids) if photo_ids is not None else [p.id for p in self.library.photos()]
        if photo_id not in ids:
            ids.insert(0, photo_id)
        self._photo_ids, self._photo_index = ids, ids.index(photo_id)
        self._show_photo()
        self.stack.setCurrentWidget(self.photo_view)
        self.photo_view.setFocus()

    def open_selected_photo(self) -> None:
        """The photo of the selected face; Next and Previous go through the photos of the faces
        shown (this person's, or the unsorted faces')."""
        faces = self.selected_faces()
        if not faces:
            self.status_label.setText("Select a face to see its photo.")
            return
        try:
            photo_id = self.library.face(faces[0]).photo_id
        except NotFoundError as e:
            self.show_error(str(e))
            return
        shown = []
        for row in range(self.faces_model.rowCount()):
            try:
                shown.append(self.library.face(self.faces_model.index(row).data(ID_ROLE)).photo_id)
            except NotFoundError:  # removed meanwhile
                continue
        self.open_photo(photo_id, list(dict.fromkeys(shown)))

    def step_photo(self, delta: int) -> None:
        i = self._photo_index + delta
        if 0 <= i < len(self._photo_ids):
            self._photo_index = i
            self._show_photo()

    def current_photo(self) -> int | None:
        return self._photo_ids[self._photo_index] if self._photo_ids else None

    def _shown_faces(self, photo_id: int) -> list[ShownFace]:
        out = []
        for f in self.library.faces_of_photo(photo_id):
            label = self.library.person(f.person_id).label if f.person_id else "Unsorted"
            out.append(ShownFace(f.id, f.box, f.person_id, label, f.manual))
        return out

    def _show_photo(self) -> None:
        photo_id = self._photo_ids[self._photo_index]
        try:
            photo = self.library.photo(photo_id)
        except NotFoundError:
            self.photo_view.show_photo("", [], (self._photo_index, len(self._photo_ids)))
            self.photo_view.error = "This photo is no longer in the library."
            return
        where = (self._photo_index, len(self._photo_ids))
        self.photo_view.show_photo(photo.path, self._shown_faces(photo_id), where)

    def refresh_photo(self) -> None:
        """The faces of the photo shown, as the library has them now (after an edit)."""
        photo_id = self.current_photo()
        if photo_id is not None:
            self.photo_view.set_faces(self._shown_faces(photo_id))

    # --- a face's menu ----------------------------------------------------------------------

    def _face(self, face_id: int):
        try:
            return self.library.face(face_id)
        except NotFoundError as e:
            self.show_error(str(e))
            self.refresh()
            return None

    def name_face(self, face_id: int) -> None:
        """Name a face: in an unnamed person, that person is named (a name another person has
        offers a merge); otherwise the face goes to the person of that name (new if none)."""
        face = self._face(face_id)
        if face is None:
            return
        person = self.library.person(face.person_id) if face.person_id is not None else None
        current = person.name if person is not None and person.name else ""
        name, ok = QInputDialog.getText(self, "Name", "Who is this?", text=current)
        name = name.strip()
        if not ok or not name or name == current:
            return
        if person is not None and person.name is None:
            self._rename(person.id, name)
            return
        other = self.library.person_by_name(name)
        if other is not None:
            self._edit(lambda: self.library.edits.move_faces([face_id], other.id))
        else:
            self._edit(
                lambda: self.library.edits.assign_names({name: [face_id]}, f"Name a face as {name}")
            )

    def move_face(self, face_id: int) -> None:
        face = self._face(face_id)
        if face is None:
            return
        people = [p for p in self.library.people() if p.id != face.person_id]
        target, ok = MoveToDialog.get_person(self, people)
        if ok:
            self._edit(lambda: self.library.edits.move_faces([face_id], target))

    def reject_face(self, face_id: int) -> None:
        face = self._face(face_id)
        if face is not None and face.person_id is not None:
            pid = face.person_id
            self._edit(lambda: self.library.edits.reject([face_id], pid))

    def remove_face(self, face_id: int) -> None:
        if self._face(face_id) is not None:
            self._edit(lambda: self.library.edits.remove_faces([face_id]))

    # --- drawn faces --------------------------------------------------------------------------

    def add_face_drawn(self, box: tuple[float, float, float, float]) -> bool:
        """A box drawn around a face the detector missed: found, embedded and placed as one
        edit. Runs here, on the main thread: one small region and one face take a moment."""
        photo_id = self.current_photo()
        if photo_id is None:
            return False
        if self._drawing_detector is None:
            self._drawing_detector = self.detector_factory()
        detector, embedder = self._drawing_detector, self.embedder
        params = self.settings.cluster_params(embedder.info) if embedder is not None else None
        max_side = self.settings.max_side
        QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            return self._edit(
                lambda: add_drawn_face(
                    self.library, photo_id, box, detector, embedder, params, max_side
                )
            )
        finally:
            QApplication.restoreOverrideCursor()
