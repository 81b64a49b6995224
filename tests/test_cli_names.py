"""Names: one clean form stored (no forged output lines, no empty or huge names), printed
safely, searched literally."""

from __future__ import annotations

import json
import sqlite3
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from photoface.cli import main
from photoface.errors import PhotofaceError
from photoface.names import MAX_NAME_LENGTH, clean_name, printable
from tests.cli_helpers import assert_one_line_error, make_library, stored_state


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("Alice", "Alice"),
        ("  Eileen \t Collins\n", "Eileen Collins"),
        ("Eve\r\n     2  Mallory", "Eve 2 Mallory"),
        ("Bob\x00by\x1b[31m", "Bob by [31m"),
        ("Jos\u0065\u0301", "José"),  # NFC
        ("Ann\u202eA", "AnnA"),  # a bidi override is dropped
        ("soft\u00adhyphen\ufeff", "softhyphen"),
        ("\u00a0Zoë\u2028Smith\u3000", "Zoë Smith"),
        ("👩\u200d👩\u200d👧", "👩\u200d👩\u200d👧"),  # joiners make one emoji: kept
        ("x" * MAX_NAME_LENGTH, "x" * MAX_NAME_LENGTH),
    ],
)
def test_clean_name(raw, clean):
    assert clean_name(raw) == clean


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        ("", "empty"),
        (" \t\n\r ", "empty"),
        ("\u200b\u202e", "empty"),
        ("x" * (MAX_NAME_LENGTH + 1), "at most 200"),
        ("x" * 4_000_000, "at most 200"),
        ("Jos\udce9", "not valid text"),
    ],
)
def test_clean_name_refuses(raw, words):
    with pytest.raises(PhotofaceError, match=words):
        clean_name(raw)


@settings(deadline=None)  # no timing in tests: the machine may be busy
@given(st.text(max_size=300))
def test_a_clean_name_is_one_plain_line_and_stays_as_it_is(raw):
    try:
        name = clean_name(raw)
    except PhotofaceError:
        return
    assert 0 < len(name) <= MAX_NAME_LENGTH
    assert name == name.strip() and "  " not in name
    assert not any(unicodedata.category(c) in ("Cc", "Zl", "Zp") for c in name)
    assert name == unicodedata.normalize("NFC", name)
    assert clean_name(name) == name
    assert len(printable(name).splitlines()) == 1


@pytest.fixture
def lib(tmp_path):
    return make_library(tmp_path / "lib.sqlite3")


def cli(lib, *args: str) -> int:
    return main(["--library", str(lib), *args])


def people_lines(lib, capsys, *extra: str) -> list[str]:
    capsys.readouterr()
    assert cli(lib, "people", *extra) == 0
    return capsys.readouterr().out.splitlines()


def test_a_newline_in_a_name_cannot_forge_a_row(lib, capsys):
    assert cli(lib, "name", "1", "Eve\n     9  Mallory                      99 faces") == 0
    lines = people_lines(lib, capsys)
    assert len(lines) == 3
    assert stored_state(lib)["people"][0][1] == "Eve 9 Mallory 99 faces"


@pytest.mark.parametrize("bad", ["   ", "\t\n", "x" * 2_000_000, "Jos\udce9"])
def test_a_bad_name_is_refused_and_nothing_changes(lib, capsys, bad):
    assert cli(lib, "name", "1", "Alice") == 0
    before = stored_state(lib)
    capsys.readouterr()
    assert cli(lib, "name", "1", bad) == 1
    assert_one_line_error(capsys.readouterr().err)
    assert stored_state(lib) == before


def test_names_already_stored_are_printed_escaped(lib, capsys):
    conn = sqlite3.connect(lib)  # an old library, from before names were cleaned
    conn.execute("UPDATE people SET name = ? WHERE id = 1", ("Eve\n     9  Mallory\x1b[2J",))
    conn.commit()
    conn.close()
    lines = people_lines(lib, capsys)
    assert len(lines) == 3
    assert any("Eve\\n     9  Mallory\\x1b[2J" in line for line in lines)
    capsys.readouterr()
    assert cli(lib, "people", "--json") == 0
    assert json.loads(capsys.readouterr().out)[0]["name"] == "Eve\n     9  Mallory\x1b[2J"


def test_search_matches_underscore_and_percent_literally(lib, capsys):
    for pid, name in (("1", "Alice"), ("2", "A_ice"), ("3", "100% Bob")):
        assert cli(lib, "name", pid, name) == 0
    assert [line.split()[1] for line in people_lines(lib, capsys, "--search", "A_ice")] == ["A_ice"]
    assert [line.split()[1] for line in people_lines(lib, capsys, "--search", "ali")] == ["Alice"]
    assert len(people_lines(lib, capsys, "--search", "%")) == 1
    assert people_lines(lib, capsys, "--search", "_") == [people_lines(lib, capsys)[1]]


def test_a_name_is_found_as_it_was_stored(lib, capsys):
    assert cli(lib, "name", "2", "Eileen\tCollins") == 0
    capsys.readouterr()
    assert cli(lib, "show", "  eileen   collins ") == 0
    assert capsys.readouterr().out.startswith("2: Eileen Collins")


def test_an_argument_that_is_not_text(lib, capsys):
    before = stored_state(lib)
    for args in (["people", "--search", "Jos\udce9"], ["hide", "Jos\udce9"]):
        assert cli(lib, *args) == 1
        assert_one_line_error(capsys.readouterr().err, "not valid text")
    assert stored_state(lib) == before
