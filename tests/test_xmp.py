"""XMP sidecars: MWG regions out, merged with what is there, and back in."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from photoface import xmp
from photoface.cli import main
from photoface.library import Library
from tests.photos import make_album

OTHER_SIDECAR = """<?xml version="1.0" encoding="UTF-8"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/"
    xmlns:mwg-rs="http://www.metadataworkinggroup.com/schemas/regions/"
    xmlns:stArea="http://ns.adobe.com/xmp/sType/Area#" xmp:Rating="4">
   <mwg-rs:Regions rdf:parseType="Resource">
    <mwg-rs:RegionList>
     <rdf:Bag>
      <rdf:li>
       <rdf:Description>
        <mwg-rs:Name>Someone Else</mwg-rs:Name>
        <mwg-rs:Type>Face</mwg-rs:Type>
        <mwg-rs:Area stArea:x="0.9" stArea:y="0.9" stArea:w="0.1" stArea:h="0.1"
           stArea:unit="normalized"/>
       </rdf:Description>
      </rdf:li>
     </rdf:Bag>
    </mwg-rs:RegionList>
   </mwg-rs:Regions>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
"""


@pytest.fixture
def named_album(tmp_path, with_model, capsys):
    make_album(tmp_path / "album", n_faces=3, broken=False)
    assert main(["scan", str(tmp_path / "album"), "-q"]) == 0
    main(["name", "1", "Eileen"])
    capsys.readouterr()
    return tmp_path / "album"


def test_dry_run_writes_nothing(named_album, capsys):
    assert main(["xmp-export", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "would write" in out and "3 sidecar(s)" in out
    assert not list(named_album.rglob("*.xmp"))


def test_export_writes_mwg_regions_without_touching_photos(named_album, capsys):
    before = {p: p.read_bytes() for p in named_album.rglob("*.jpg")}
    assert main(["xmp-export"]) == 0
    sidecars = sorted(named_album.rglob("*.jpg.xmp"))
    assert len(sidecars) == 3
    assert {p: p.read_bytes() for p in named_album.rglob("*.jpg")} == before
    (region,) = xmp.read_regions(sidecars[0], (1, 1))
    assert region.name == "Eileen" and region.kind == "Face"
    x, y, w, h = region.box
    cx, cy = x + w / 2, y + h / 2
    assert 0.2 < cx < 0.6 and 0.1 < cy < 0.5  # the astronaut's face, normalised centre
    root = ET.parse(sidecars[0]).getroot()  # plain XML any reader can parse
    assert root.tag == "{adobe:ns:meta/}xmpmeta"


def test_existing_sidecar_is_merged_not_clobbered(named_album, capsys):
    photo = next(named_album.rglob("face_0.jpg"))
    side = photo.with_suffix(".xmp")  # Lightroom style: used because it exists
    side.write_text(OTHER_SIDECAR)
    assert main(["xmp-export"]) == 0
    text = side.read_text()
    assert 'Rating="4"' in text
    names = {r.name for r in xmp.read_regions(side, (480, 480))}
    assert names == {"Someone Else", "Eileen"}
    assert not photo.with_name(photo.name + ".xmp").exists()


def test_round_trip_into_a_fresh_library(named_album, tmp_path, capsys):
    main(["xmp-export"])
    old = {(f.path, tuple(round(v) for v in f.box), "Eileen") for f in _faces_named("Eileen")}
    fresh = tmp_path / "fresh.sqlite3"
    assert main(["--library", str(fresh), "scan", str(named_album), "-q", "--no-cluster"]) == 0
    assert main(["--library", str(fresh), "xmp-import"]) == 0
    assert "3 faces named (1 people)" in capsys.readouterr().out
    with Library(fresh) as lib:
        person = lib.person_by_name("Eileen")
        faces = lib.faces_of_person(person.id)
        new = {(f.path, tuple(round(v) for v in f.box), "Eileen") for f in faces}
        assert new == old
        assert all(f.locked for f in lib.faces_of_person(person.id))
        assert lib.edits.undo().startswith("Name 3 face(s)")
        assert lib.person_by_name("Eileen") is None


def _faces_named(name):
    from photoface import paths

    with Library(paths.default_library_path()) as lib:
        return lib.faces_of_person(lib.person_by_name(name).id)
