"""XMP sidecars: no write through a link, a bad sidecar skipped with its reason, one photo's
regions never written into or read for another, a read-only sidecar stays read-only."""

from __future__ import annotations

import hashlib
import os
import stat
import threading
from pathlib import Path

import pytest
from PIL import Image

from photoface import xmp
from photoface.cli import main
from photoface.library import Library
from tests.photos import face_photo
from tests.test_xmp import OTHER_SIDECAR

# Long enough for a loaded machine, short enough that a hang fails the test instead of the run.
HANG_S = 120


def sums(root: Path) -> dict[Path, str]:
    """Checksums of the photos (and any other non-sidecar file) under `root`."""
    return {
        p: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.is_symlink() and ".xmp" not in p.name
    }


def run_cli(args: list[str]) -> int:
    """main(args) in a thread: a call that blocks (a FIFO opened for reading) fails the test."""
    result: list[int] = []
    t = threading.Thread(target=lambda: result.append(main(args)), daemon=True)
    t.start()
    t.join(HANG_S)
    assert not t.is_alive(), f"photoface {' '.join(args)} hung"
    return result[0]


def test_a_planted_tmp_link_is_not_written_through(eileen_album, capsys):
    trip = eileen_album / "trip"
    target = eileen_album / "sky.jpg"
    before = sums(eileen_album)
    planted = trip / "face_0.jpg.xmp.tmp"
    planted.symlink_to(target)
    assert main(["xmp-export"]) == 0
    assert sums(eileen_album) == before  # sky.jpg is still the photo it was
    assert planted.is_symlink() and planted.resolve() == target
    side = trip / "face_0.jpg.xmp"
    assert not side.is_symlink()
    assert [r.name for r in xmp.read_regions(side, (480, 480))] == ["Eileen"]
    assert "wrote 3 sidecar(s);" in capsys.readouterr().out


@pytest.mark.parametrize("target_kind", ["jpeg", "sidecar"])
def test_a_sidecar_that_is_a_link_is_skipped(eileen_album, tmp_path, capsys, target_kind):
    if target_kind == "jpeg":
        target = eileen_album / "sky.jpg"
    else:
        target = tmp_path / "elsewhere.xmp"
        target.write_text(OTHER_SIDECAR)
    side = eileen_album / "trip/face_0.jpg.xmp"
    side.symlink_to(target)
    before, target_bytes = sums(eileen_album), target.read_bytes()
    assert main(["xmp-export"]) == 1
    out = capsys.readouterr().out
    assert f"skipped {side}: a link" in out
    assert "wrote 2 sidecar(s), skipped 1" in out
    assert side.is_symlink() and target.read_bytes() == target_bytes
    assert sums(eileen_album) == before
    for i in (1, 2):
        names = [
            r.name for r in xmp.read_regions(eileen_album / f"trip/face_{i}.jpg.xmp", (480, 480))
        ]
        assert names == ["Eileen"]


def _malformed(side: Path) -> None:
    side.write_text('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF')


def _no_rdf(side: Path) -> None:
    side.write_text('<?xml version="1.0"?>\n<x:xmpmeta xmlns:x="adobe:ns:meta/"><a/></x:xmpmeta>')


def _folder(side: Path) -> None:
    side.mkdir()
    (side / "keep.txt").write_text("mine")


def _fifo(side: Path) -> None:
    os.mkfifo(side)


def _not_utf8(side: Path) -> None:
    text = OTHER_SIDECAR.replace("Someone Else", "Ren\xe9").replace("UTF-8", "ISO-8859-1")
    side.write_bytes(text.encode("latin-1"))


def _binary(side: Path) -> None:
    side.write_bytes((side.parent / "face_1.jpg").read_bytes())


BAD = {
    "malformed XML": (_malformed, "malformed XML"),
    "no rdf:RDF": (_no_rdf, "no rdf:RDF"),
    "a folder": (_folder, "a folder"),
    "a FIFO": (_fifo, "a FIFO"),
    "not UTF-8": (_not_utf8, "not UTF-8"),
    "JPEG bytes": (_binary, "malformed XML"),
}


@pytest.mark.parametrize("kind", BAD)
def test_each_bad_sidecar_is_skipped_and_the_others_written(eileen_album, capsys, kind):
    make, reason = BAD[kind]
    side = eileen_album / "trip/face_0.jpg.xmp"
    make(side)
    before = sums(eileen_album)
    regular = stat.S_ISREG(side.stat().st_mode)
    bad_before = side.read_bytes() if regular else None
    assert run_cli(["xmp-export"]) == 1
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    (line,) = [ln for ln in out.splitlines() if ln.startswith("skipped")]
    assert line.startswith(f"skipped {side}: ") and reason in line
    assert out.splitlines()[-1].startswith("wrote 2 sidecar(s), skipped 1 (reasons above);")
    assert sums(eileen_album) == before
    if bad_before is not None:
        assert side.read_bytes() == bad_before
    for i in (1, 2):
        names = [
            r.name for r in xmp.read_regions(eileen_album / f"trip/face_{i}.jpg.xmp", (480, 480))
        ]
        assert names == ["Eileen"]


def test_a_missing_photo_is_skipped(eileen_album, capsys):
    (eileen_album / "trip/face_1.jpg").unlink()
    before = sums(eileen_album)
    assert main(["xmp-export"]) == 1
    out = capsys.readouterr().out
    side = eileen_album / "trip/face_1.jpg.xmp"
    assert f"skipped {side}: the photo is not there" in out
    assert "wrote 2 sidecar(s), skipped 1" in out
    assert not os.path.lexists(side)
    assert sums(eileen_album) == before


def test_a_folder_moved_since_the_scan_is_skipped(eileen_album, capsys):
    (eileen_album / "trip").rename(eileen_album / "moved")
    before = sums(eileen_album)
    assert main(["xmp-export"]) == 1
    out, err = capsys.readouterr()
    assert "Traceback" not in err and out.count("the photo is not there") == 3
    assert out.splitlines()[-1].startswith("wrote 0 sidecar(s), skipped 3")
    assert not list(eileen_album.rglob("*.xmp*")) and not (eileen_album / "trip").exists()
    assert sums(eileen_album) == before


def test_a_read_only_sidecar_stays_read_only(eileen_album, capsys):
    side = eileen_album / "trip/face_0.jpg.xmp"
    side.write_text(OTHER_SIDECAR)
    side.chmod(0o444)
    before = sums(eileen_album)
    assert main(["xmp-export"]) == 0
    assert stat.S_IMODE(side.stat().st_mode) == 0o444
    names = {r.name for r in xmp.read_regions(side, (480, 480))}
    assert names == {"Someone Else", "Eileen"}
    assert sums(eileen_album) == before


def _region_sidecar(name: str, box: tuple[float, ...], size: tuple[int, int]) -> str:
    """A sidecar with one face region, as another application writes it."""
    W, H = size
    x, y, w, h = box
    return OTHER_SIDECAR.replace("Someone Else", name).replace(
        'stArea:x="0.9" stArea:y="0.9" stArea:w="0.1" stArea:h="0.1"',
        f'stArea:x="{(x + w / 2) / W}" stArea:y="{(y + h / 2) / H}" '
        f'stArea:w="{w / W}" stArea:h="{h / H}"',
    )


@pytest.fixture
def jpg_and_png(tmp_path, with_model, capsys) -> Path:
    """x.jpg and x.png, two photos of the library with one face each, sharing the name `x.xmp`."""
    root = tmp_path / "pair"
    root.mkdir()
    Image.fromarray(face_photo(0)).save(root / "x.jpg", quality=90)
    Image.fromarray(face_photo(7)).save(root / "x.png")
    assert main(["scan", str(root), "-q", "--no-cluster"]) == 0
    capsys.readouterr()
    return root


def _face_box(library: Library, photo: Path) -> tuple[float, ...]:
    (face,) = library.faces_of_photo(library.photo_by_path(str(photo)).id)
    return face.box


def test_a_shared_short_sidecar_is_neither_written_nor_read(jpg_and_png, capsys):
    root = jpg_and_png
    from photoface import paths

    with Library(paths.default_library_path()) as lib:
        box = _face_box(lib, root / "x.jpg")
        jpg_face = lib.faces_of_photo(lib.photo_by_path(str(root / "x.jpg")).id)[0].id
        png_face = lib.faces_of_photo(lib.photo_by_path(str(root / "x.png")).id)[0].id
    shared = root / "x.xmp"
    shared.write_text(_region_sidecar("Mallory", box, (480, 480)))  # whose photo? nobody knows
    own = root / "x.png.xmp"
    own.write_text(_region_sidecar("Eileen", box, (480, 480)))
    shared_bytes, before = shared.read_bytes(), sums(root)

    assert main(["xmp-import"]) == 0
    assert "read 1 sidecar(s): 1 faces named (1 people)" in capsys.readouterr().out
    with Library(paths.default_library_path()) as lib:
        assert lib.person_by_name("Mallory") is None
        eileen = lib.person_by_name("Eileen")
        assert [f.id for f in lib.faces_of_person(eileen.id)] == [png_face]
        lib.edits.assign_names({"Ann": [jpg_face]})

    assert main(["xmp-export"]) == 0
    assert shared.read_bytes() == shared_bytes
    assert [r.name for r in xmp.read_regions(root / "x.jpg.xmp", (480, 480))] == ["Ann"]
    assert [r.name for r in xmp.read_regions(own, (480, 480))] == ["Eileen"]
    assert sums(root) == before


def test_a_fifo_sidecar_does_not_hang_import(eileen_album, capsys):
    assert main(["xmp-export"]) == 0
    fifo = eileen_album / "trip/face_0.jpg.xmp"
    fifo.unlink()
    os.mkfifo(fifo)
    capsys.readouterr()
    assert run_cli(["xmp-import"]) == 1
    out = capsys.readouterr().out
    assert f"skipped {fifo}: a FIFO" in out
    assert "read 2 sidecar(s), skipped 1 (reasons above): 2 faces named (1 people)" in out


def test_names_from_sidecars_cannot_forge_lines(eileen_album, capsys):
    from photoface import paths

    side = eileen_album / "trip/face_0.jpg.xmp"
    with Library(paths.default_library_path()) as lib:
        box = _face_box(lib, eileen_album / "trip/face_0.jpg")
    forged = "Eve&#10;read 99 sidecar(s)&#13;&#9;x"
    side.write_text(_region_sidecar(forged, box, (480, 480)))
    assert main(["xmp-import"]) == 0
    capsys.readouterr()
    with Library(paths.default_library_path()) as lib:
        names = [p.name for p in lib.people(include_hidden=True) if p.name]
    assert "Eve read 99 sidecar(s) x" in names
    assert not any(set(n) & {"\n", "\r", "\t"} for n in names)


def test_clean_name():
    assert xmp._clean_name(" Ann \n\t Lee\x00 ") == "Ann Lee"
    assert xmp._clean_name("\x1b[31m") == "[31m"
    assert xmp._clean_name("\n\t ") is None
    assert xmp._clean_name("Zoë\u200dX") == "Zoë\u200dX"  # a joiner is part of a name
