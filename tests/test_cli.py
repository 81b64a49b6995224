"""The command line on a real folder: scan, list, edit, undo; clear errors and exit codes."""

from __future__ import annotations

import json
import sqlite3

import pytest

from photoface.cli import main
from tests.photos import make_album


@pytest.fixture
def album(tmp_path):
    make_album(tmp_path / "album", n_faces=4)
    return tmp_path / "album"


def people_json(capsys) -> list[dict]:
    capsys.readouterr()
    assert main(["people", "--json", "--all"]) == 0
    return json.loads(capsys.readouterr().out)


def test_scan_then_people(album, with_model, capsys):
    assert main(["scan", str(album), "-q"]) == 0
    out = capsys.readouterr().out
    assert "8 photos" in out and "4 faces" in out and "3 errors" in out
    assert "empty file" in out
    assert main(["people"]) == 0
    assert "Unnamed" in capsys.readouterr().out
    (p,) = people_json(capsys)
    assert p["faces"] == 4


def test_edit_commands_and_undo(album, with_model, capsys):
    main(["scan", str(album), "-q"])
    (p,) = people_json(capsys)
    pid = str(p["id"])
    assert main(["name", pid, "Eileen", "Collins"]) == 0
    assert people_json(capsys)[0]["name"] == "Eileen Collins"
    assert main(["show", "Eileen Collins"]) == 0
    out = capsys.readouterr().out
    face_ids = [
        int(t.strip("),")) for t in out.replace("(face", "").split() if t.strip("),").isdigit()
    ]
    face = str(face_ids[-1])
    assert main(["move", face, "new"]) == 0
    assert len(people_json(capsys)) == 2
    assert main(["undo"]) == 0
    assert len(people_json(capsys)) == 1
    assert main(["redo"]) == 0
    assert main(["undo"]) == 0
    assert main(["hide", pid]) == 0
    assert people_json(capsys)[0]["hidden"] is True
    assert main(["undo"]) == 0
    assert main(["undo"]) == 0
    assert people_json(capsys)[0]["name"] is None
    assert main(["undo"]) == 1  # nothing left
    assert "nothing to undo" in capsys.readouterr().err
    assert main(["recluster"]) == 0
    assert "1 people" in capsys.readouterr().out
    assert main(["export", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["counts"]["faces"] == 4 and len(doc["people"]) == 1


def test_bad_input_gets_a_message_and_a_nonzero_exit(tmp_path, album, with_model, capsys):
    assert main(["scan", str(tmp_path / "missing")]) == 1
    assert "not a folder" in capsys.readouterr().err
    assert main(["name", "4242", "Nobody"]) == 1
    assert "no person with id 4242" in capsys.readouterr().err
    assert main(["move", "99999", "new"]) == 1
    assert main(["show", "Nobody Here"]) == 1
    with pytest.raises(SystemExit) as e:
        main(["move", "abc", "new"])
    assert e.value.code == 2


def test_a_non_library_file_is_refused_untouched(tmp_path, capsys):
    bogus = tmp_path / "x.sqlite3"
    bogus.write_text("hello")
    assert main(["--library", str(bogus), "people"]) == 1
    assert "not a photoface library" in capsys.readouterr().err
    assert bogus.read_text() == "hello"


def test_a_locked_library_gives_a_clear_message(tmp_path, album, with_model, capsys, monkeypatch):
    from photoface.library import db

    lib = tmp_path / "lib.sqlite3"
    assert main(["--library", str(lib), "scan", str(album), "-q"]) == 0
    monkeypatch.setattr(db, "BUSY_TIMEOUT_MS", 200)
    other = sqlite3.connect(lib, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    pid = str(json.loads(_people(lib, capsys))[0]["id"])
    assert main(["--library", str(lib), "name", pid, "X"]) == 1
    assert "busy" in capsys.readouterr().err
    other.execute("ROLLBACK")


def _people(lib, capsys) -> str:
    capsys.readouterr()
    main(["--library", str(lib), "people", "--json"])
    return capsys.readouterr().out


def test_scan_without_a_model_explains_how_to_get_one(album, capsys, monkeypatch, tmp_path):
    monkeypatch.setattr("photoface.core.embed.find_model", lambda models_dir: None)
    assert main(["scan", str(album), "-q"]) == 0
    captured = capsys.readouterr()
    assert "No face-embedding model is installed" in captured.err
    assert "4 faces" in captured.out
