"""settings.json: a bad value falls back alone, with a warning; the library is never dropped."""

from __future__ import annotations

import json
import os
import sys

import pytest

from photoface import paths, settings
from photoface.cli import main
from photoface.fileio import UnsafeFileError
from tests.cli_helpers import assert_one_line_error, make_library, stored_state

DEFAULTS = settings.Settings()


def write_settings(home, doc) -> None:
    text = doc if isinstance(doc, str) else json.dumps(doc)
    (home / settings.SETTINGS_FILE).write_text(text, encoding="utf-8")


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("detector", "dlib"),
        ("detector", 3),
        ("cluster_threshold", 5.0),
        ("cluster_threshold", "0.8"),
        ("min_faces", 0),
        ("min_faces", 2.5),
        ("min_faces", True),
        ("seed_quality", 1.5),
        ("seed_quality", float("nan")),
        ("max_side", 10),
        ("threads", "two"),
        ("threads", 0),
        ("threads", 10**6),
        ("workers", 0),
        ("workers", "all"),
        ("workers", 1.5),
    ],
)
def test_a_bad_value_falls_back_alone(home, caplog, key, value):
    doc = {"min_faces": 7, "max_side": 999}
    doc[key] = value
    write_settings(home, doc)
    conf = settings.load(home)
    assert getattr(conf, key) == getattr(DEFAULTS, key)
    assert conf.max_side == (999 if key != "max_side" else DEFAULTS.max_side)
    assert conf.min_faces == (7 if key != "min_faces" else DEFAULTS.min_faces)
    (line,) = [r.getMessage() for r in caplog.records if r.name == "photoface.settings"]
    assert key in line and "\n" not in line


def test_good_values_are_kept_and_saved_back(home, tmp_path):
    lib = str(tmp_path / "lib.sqlite3")
    conf = settings.Settings(
        detector="blazeface",
        cluster_threshold=0.7,
        min_faces=2,
        seed_quality=0.25,
        max_side=800,
        library=lib,
        threads=4,
        workers=3,
    )
    settings.save(home, conf)
    assert settings.load(home) == conf


def test_one_bad_value_keeps_the_library_and_warns_on_one_line(home, tmp_path, capsys):
    lib = make_library(tmp_path / "mine.sqlite3")
    write_settings(home, {"library": str(lib), "min_faces": 0, "threads": "two", "colour": 1})
    assert main(["people"]) == 0
    captured = capsys.readouterr()
    assert captured.out.count(" faces") == 3  # the three people of the named library
    warnings = captured.err.splitlines()
    assert len(warnings) == 3
    assert all(w.startswith("photoface: warning: ") for w in warnings)
    for key in ("min_faces", "threads", "colour"):
        assert sum(key in w for w in warnings) == 1
    assert not paths.default_library_path().exists()


@pytest.mark.parametrize(
    "text",
    ['{"library": "/x/lib.sqlite3",', "[1, 2]", '"lib"', "\udcff", "", "[" * 100_000],
    ids=["truncated", "list", "string", "not-utf8", "empty", "deep"],
)
def test_an_unreadable_settings_file_stops_every_command(home, tmp_path, capsys, text):
    lib = make_library(tmp_path / "mine.sqlite3")
    before = stored_state(lib)
    data = text.encode("utf-8", "surrogateescape")
    (home / settings.SETTINGS_FILE).write_bytes(data)
    assert main(["name", "1", "Alice"]) == 1
    assert_one_line_error(capsys.readouterr().err, str(home / settings.SETTINGS_FILE))
    assert not paths.default_library_path().exists()  # no other library was opened
    assert stored_state(lib) == before


@pytest.mark.parametrize("value", [42, "", "relative/lib.sqlite3", ["/a"]])
def test_an_invalid_library_setting_stops_every_command(home, tmp_path, capsys, monkeypatch, value):
    monkeypatch.chdir(tmp_path)
    write_settings(home, {"library": value, "min_faces": 2})
    assert main(["name", "1", "Alice"]) == 1
    assert_one_line_error(capsys.readouterr().err, "'library'")
    assert not paths.default_library_path().exists()
    assert not (tmp_path / "relative").exists()


def test_library_on_the_command_line_overrides_a_broken_settings_file(home, tmp_path, capsys):
    lib = make_library(tmp_path / "mine.sqlite3")
    write_settings(home, "{oops")
    assert main(["--library", str(lib), "name", "1", "Alice"]) == 0
    captured = capsys.readouterr()
    (warning,) = captured.err.splitlines()
    assert warning.startswith("photoface: warning: ") and "not valid JSON" in warning
    assert stored_state(lib)["people"][0][1] == "Alice"
    assert (home / settings.SETTINGS_FILE).read_text() == "{oops"  # left for the user to fix


def test_save_never_writes_through_a_link(home, tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    # The name the old code wrote to before renaming; a link there must not be followed.
    (home / (settings.SETTINGS_FILE + ".tmp")).symlink_to(victim)
    settings.save(home, settings.Settings(min_faces=5))
    assert victim.read_text() == "keep me"
    assert settings.load(home).min_faces == 5
    (home / settings.SETTINGS_FILE).unlink()
    (home / settings.SETTINGS_FILE).symlink_to(victim)
    with pytest.raises(UnsafeFileError):
        settings.save(home, settings.Settings(min_faces=6))
    assert victim.read_text() == "keep me"


def test_the_window_does_not_open_another_library_either(home, tmp_path, monkeypatch, qapp):
    from PySide6.QtWidgets import QMessageBox

    from photoface import app

    monkeypatch.setattr(sys, "excepthook", sys.excepthook)  # app.main sets its own
    shown: list[str] = []
    monkeypatch.setattr(QMessageBox, "critical", lambda parent, title, text: shown.append(text))
    monkeypatch.setenv("PHOTOFACE_QUIT_AFTER_MS", "1")  # the old code opened a window
    write_settings(home, '{"library": "/photos/lib.sqlite3", "threads": 2,')
    assert app.main([]) == 1
    (text,) = shown
    assert "not valid JSON" in text
    assert not paths.default_library_path().exists()


def test_scan_workers_default_to_one_per_core():
    assert settings.Settings(workers=3).scan_workers() == 3
    assert settings.Settings().scan_workers() == len(os.sched_getaffinity(0))
