"""Bad input on the command line: a one-line message and exit code 1, never a traceback, and
nothing stored lost."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from photoface import paths
from photoface.cli import main
from tests.cli_helpers import ROOT, assert_one_line_error, make_library, run_cli, stored_state


@pytest.fixture
def lib(tmp_path) -> Path:
    return make_library(tmp_path / "lib.sqlite3")


def cli(lib: Path, *args: str) -> int:
    return main(["--library", str(lib), *args])


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["show", "99999999999999999999999"], ["no person with id 99999999999999999999999"]),
        (["show", "9" * 5000], ["no person with id 999"]),
        (["show", "²"], ["no person", "'²'"]),
        (["name", "¹", "Alice"], ["no person", "'¹'"]),
        (["hide", "99999999999999999999"], ["no person with id"]),
        (["merge", "1", "18446744073709551616"], ["no person with id 18446744073709551616"]),
        (["move", "99999999999999999999", "new"], ["no face with id 99999999999999999999"]),
        (["move", "1", "99999999999999999999"], ["no person with id 99999999999999999999"]),
        (["reject", "1", "9223372036854775808", "1"], ["no face with id 9223372036854775808"]),
        (["remove", "9223372036854775808"], ["no face with id 9223372036854775808"]),
    ],
)
def test_ids_out_of_range_name_nothing(lib, capsys, args, words):
    before = stored_state(lib)
    assert cli(lib, *args) == 1
    assert_one_line_error(capsys.readouterr().err, *words)
    assert stored_state(lib) == before


def test_the_largest_id_is_still_looked_up(lib, capsys):
    assert cli(lib, "show", "9223372036854775807") == 1
    assert_one_line_error(capsys.readouterr().err, "no person with id 9223372036854775807")
    assert cli(lib, "show", "0001") == 0  # leading zeros: still person 1


def test_a_face_id_that_is_not_ascii_digits_is_a_usage_error(lib, capsys):
    before = stored_state(lib)
    for bad in ("²", "٣", "1.5"):
        with pytest.raises(SystemExit) as e:
            cli(lib, "remove", bad)
        assert e.value.code == 2
        assert "Traceback" not in capsys.readouterr().err
    assert stored_state(lib) == before


def test_export_to_a_folder_that_does_not_exist(lib, capsys, tmp_path):
    assert cli(lib, "export", "--json", "-o", str(tmp_path / "nope" / "x.json")) == 1
    assert_one_line_error(capsys.readouterr().err, "cannot write", "x.json")
    assert not (tmp_path / "nope").exists()


def test_export_never_writes_through_a_link(lib, capsys, tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    link = tmp_path / "out.json"
    link.symlink_to(victim)
    assert cli(lib, "export", "--json", "-o", str(link)) == 1
    assert_one_line_error(capsys.readouterr().err, "link")
    assert victim.read_text() == "keep me" and link.is_symlink()
    # Without a link in the way it writes, and the file holds every person.
    assert cli(lib, "export", "--json", "-o", str(tmp_path / "people.json")) == 0
    assert len(json.loads((tmp_path / "people.json").read_text())["people"]) == 3


def test_a_library_path_under_a_file(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("x")
    assert main(["--library", str(tmp_path / "notes.txt" / "lib.sqlite3"), "people"]) == 1
    assert_one_line_error(capsys.readouterr().err, "notes.txt")


@contextlib.contextmanager
def read_only(path: Path):
    """`path` read-only for this process: its permission bits, or for root (whom permissions
    do not stop) the immutable attribute."""
    if os.geteuid() != 0:
        path.chmod(0o444)
        try:
            yield
        finally:
            path.chmod(0o644)
        return
    made = subprocess.run(["chattr", "+i", str(path)], capture_output=True)
    if made.returncode != 0:
        pytest.skip("running as root, and chattr +i does not work here")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=True)


def test_a_read_only_library(lib, capsys):
    before = stored_state(lib)
    with read_only(lib):
        assert cli(lib, "name", "1", "Alice") == 1
        assert_one_line_error(capsys.readouterr().err, "read-only")
        assert cli(lib, "people") == 0  # reading still works
        assert capsys.readouterr().out.count(" faces") == 3
    assert stored_state(lib) == before


def damage(lib: Path) -> None:
    """Overwrite the pages after the schema with garbage: the file opens, its queries fail."""
    data = bytearray(lib.read_bytes())
    page = int.from_bytes(data[16:18], "big")
    data[page:] = b"\xa5" * (len(data) - page)
    lib.write_bytes(bytes(data))


def test_a_damaged_library_gives_one_line_and_v_shows_the_traceback(lib, tmp_path):
    damage(lib)
    r = run_cli("--library", str(lib), "people", home=tmp_path)
    assert r.returncode == 1
    assert_one_line_error(r.stderr, str(lib))
    r = run_cli("-v", "--library", str(lib), "people", home=tmp_path)
    assert r.returncode == 1
    assert "Traceback" in r.stderr and "photoface: error: " in r.stderr


def test_an_os_error_no_command_expected(lib, capsys, monkeypatch):
    import photoface.cli as cli_module

    def fails(ctx) -> int:
        raise PermissionError(13, "Permission denied", "/some/file")

    monkeypatch.setattr(cli_module, "cmd_errors", fails)
    assert cli(lib, "errors") == 1
    assert_one_line_error(capsys.readouterr().err, "/some/file", "permission denied")


def test_a_closed_pipe_ends_quietly(lib, tmp_path):
    """`photoface people | head`: the reader is gone before anything is written."""
    env = {**os.environ, "PHOTOFACE_HOME": str(tmp_path), "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "photoface", "--library", str(lib), "people"]
    pipe = subprocess.PIPE
    p = subprocess.Popen(command, env=env, cwd=ROOT, stdout=pipe, stderr=pipe)
    p.stdout.close()
    err = p.stderr.read().decode()
    p.wait()
    assert err == ""
    assert p.returncode == 1


def test_a_pipe_closed_after_the_first_line(tmp_path):
    lib = make_library(tmp_path / "big.sqlite3", n_people=2000, per_person=1)
    shell = f"{sys.executable} -m photoface --library '{lib}' people | head -n 1"
    env = {**os.environ, "PHOTOFACE_HOME": str(tmp_path), "PYTHONPATH": str(ROOT)}
    r = subprocess.run(["bash", "-c", shell], env=env, cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0 and len(r.stdout.splitlines()) == 1
    assert r.stderr == ""


def test_an_empty_library_argument_is_refused(tmp_path, capsys):
    assert main(["--library", "", "people"]) == 1
    assert "--library needs" in capsys.readouterr().err
    assert not paths.default_library_path().exists()


def test_a_library_path_with_a_typo_is_not_created(tmp_path, capsys):
    typo = tmp_path / "othr.sqlite3"
    for argv in (["people"], ["name", "1", "Ada"], ["undo"], ["xmp-export"]):
        assert main(["--library", str(typo), *argv]) == 1
        err = capsys.readouterr().err
        assert "no library at" in err and len(err.strip().splitlines()) == 1
    assert not typo.exists()


def test_a_library_on_an_unplugged_drive_is_not_made(tmp_path, capsys):
    album = tmp_path / "album"
    album.mkdir()
    lib = tmp_path / "drive/photoface/lib.sqlite3"
    assert main(["--library", str(lib), "scan", "-q", str(album)]) == 1
    assert "does not exist" in capsys.readouterr().err
    assert not (tmp_path / "drive").exists()


def test_a_fifo_at_the_library_path_does_not_hang(tmp_path):
    fifo = tmp_path / "fifo.sqlite3"
    os.mkfifo(fifo)
    out = subprocess.run(
        [sys.executable, "-m", "photoface", "--library", str(fifo), "people"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 1 and "not a regular file" in out.stderr


@pytest.mark.parametrize("value", ["nan", "-1", "inf", "4"])
def test_a_recluster_threshold_out_of_range_is_refused(tmp_path, with_model, capsys, value):
    assert main(["recluster", "--threshold", value]) == 1
    assert "--threshold must be" in capsys.readouterr().err
