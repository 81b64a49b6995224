"""Right-click menus on person tiles and face tiles: the page's actions, where the mouse is."""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QListView, QMenu

from photoface.errors import NotFoundError

log = logging.getLogger(__name__)


class ContextMenus:
    """Mixed into MainWindow (after EditSlots). A right-click on a tile that is not selected
    selects it alone first, as file managers do, so the menu acts on what it was opened on."""

    context_menu: QMenu | None = None

    def _install_menus(self) -> None:
        for view, build in (
            (self.people_page.view, self._person_menu),
            (self.person_page.view, self._face_menu),
        ):
            view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
            view.customContextMenuRequested.connect(
                lambda pos, view=view, build=build: self._popup(view, pos, build)
            )

    def _popup(self, view: QListView, pos: QPoint, build: Callable[[QMenu], bool]) -> None:
        ix = view.indexAt(pos)
        if not ix.isValid():
            return
        if not view.selectionModel().isSelected(ix):
            view.setCurrentIndex(ix)  # selects it alone
        menu = QMenu(self)
        if not build(menu):
            return
        self.context_menu = menu  # kept: a popup with no owner would be collected at once
        menu.popup(view.viewport().mapToGlobal(pos))

    def _add(self, menu: QMenu, text: str, slot: Callable[[], object], enabled: bool = True):
        action = menu.addAction(text)
        action.setEnabled(enabled)
        action.triggered.connect(lambda *_checked: slot())
        return action

    def _person_menu(self, menu: QMenu) -> bool:
        ids = self.people_in_view()
        if not ids:
            return False
        one = len(ids) == 1
        try:
            hidden = all(self.library.person(p).hidden for p in ids)
        except NotFoundError:  # gone meanwhile: the edits will say so
            hidden = False
        self._add(menu, "Open", lambda: self.open_person(ids[0]), one)
        self._add(menu, "Rename…", self.rename_selected, one)
        self._add(menu, "Merge selected people", self.merge_selected, not one)
        self._add(menu, "Show again" if hidden else "Hide", self.toggle_hidden_selected)
        return True

    def _face_menu(self, menu: QMenu) -> bool:
        faces = self.selected_faces()
        if not faces:
            return False
        pid = self.faces_model.person_id
        self._add(menu, "Open photo", self.open_selected_photo, len(faces) == 1)
        self._add(menu, "Use as cover", self.use_as_cover, pid is not None and len(faces) == 1)
        menu.addSeparator()
        self._add(menu, "Not this person", self.not_this_person, pid is not None)
        self._add(menu, "Move to…", self.ask_and_move_faces)
        self._add(menu, "Remove (not a face)", self.remove_faces)
        return True
