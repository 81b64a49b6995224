"""XMP sidecars written by other applications (digiKam/Lightroom style, ExifTool) keep every
property, region and namespace through our export; ExifTool reads the result back."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from photoface import paths, xmp
from photoface.cli import main
from photoface.library import Library
from tests.test_xmp_safety import sums

needs_exiftool = pytest.mark.skipif(
    shutil.which("exiftool") is None, reason="exiftool not installed"
)

HEAD = (
    '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
    "<!-- digiKam 8.2 wrote this; keep -->\n"
)
TAIL = '\n<!-- trailing note -->\n<?xpacket end="w"?>\n'
# digiKam and Lightroom style: tags in their own namespaces, a region of an unknown name over
# the face (with a description), a focus region over the same face, an unnamed face elsewhere,
# a named face with a rotation, a person named without a region, an unknown namespace.
DIGIKAM = (
    HEAD
    + """<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="XMP Core 4.4.0-Exiv2">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:xmp="http://ns.adobe.com/xap/1.0/"
    xmlns:digiKam="http://www.digikam.org/ns/1.0/"
    xmlns:lr="http://ns.adobe.com/lightroom/1.0/"
    xmlns:dc="http://purl.org/dc/elements/1.1/"
    xmlns:mwg-rs="http://www.metadataworkinggroup.com/schemas/regions/"
    xmlns:stDim="http://ns.adobe.com/xap/1.0/sType/Dimensions#"
    xmlns:stArea="http://ns.adobe.com/xmp/sType/Area#"
    xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/"
    xmlns:acme="http://example.com/ns/acme/1.0/"
    xmp:Rating="4" acme:Album="Summer">
   <!-- tags -->
   <digiKam:TagsList>
    <rdf:Seq><rdf:li>Places/Beach</rdf:li><rdf:li>People/Grandma</rdf:li></rdf:Seq>
   </digiKam:TagsList>
   <lr:hierarchicalSubject>
    <rdf:Bag><rdf:li>Places|Beach</rdf:li><rdf:li>People|Grandma</rdf:li></rdf:Bag>
   </lr:hierarchicalSubject>
   <dc:title><rdf:Alt><rdf:li xml:lang="x-default">A day out</rdf:li></rdf:Alt></dc:title>
   <Iptc4xmpExt:PersonInImage>
    <rdf:Bag><rdf:li>Grandma</rdf:li><rdf:li>Someone Else</rdf:li></rdf:Bag>
   </Iptc4xmpExt:PersonInImage>
   <mwg-rs:Regions rdf:parseType="Resource">
    <mwg-rs:AppliedToDimensions stDim:w="480" stDim:h="480" stDim:unit="pixel"/>
    <mwg-rs:RegionList>
     <rdf:Bag>
      <rdf:li>
       <rdf:Description mwg-rs:Name="Someone Else" mwg-rs:Type="Face"
          mwg-rs:Description="at the pier" mwg-rs:Rotation="0.25">
        <mwg-rs:Area stArea:x="0.9" stArea:y="0.9" stArea:w="0.1" stArea:h="0.1"
          stArea:unit="normalized"/>
       </rdf:Description>
      </rdf:li>
      <rdf:li>
       <rdf:Description mwg-rs:Type="Focus" mwg-rs:Description="AF point">
        <mwg-rs:Area stArea:x="{cx}" stArea:y="{cy}" stArea:w="{w}" stArea:h="{h}"
          stArea:unit="normalized"/>
       </rdf:Description>
      </rdf:li>
      <rdf:li>
       <rdf:Description mwg-rs:Name="Old Name" mwg-rs:Type="Face"
          mwg-rs:Description="tagged in digiKam">
        <mwg-rs:Area stArea:x="{cx}" stArea:y="{cy}" stArea:w="{w}" stArea:h="{h}"
          stArea:unit="normalized"/>
       </rdf:Description>
      </rdf:li>
      <rdf:li>
       <rdf:Description mwg-rs:Type="Face">
        <mwg-rs:Area stArea:x="0.1" stArea:y="0.85" stArea:w="0.08" stArea:h="0.08"
          stArea:unit="normalized"/>
       </rdf:Description>
      </rdf:li>
     </rdf:Bag>
    </mwg-rs:RegionList>
   </mwg-rs:Regions>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>"""
    + TAIL
)
# Fields of our own (our mark on a region, the names we added) and of the file, not of the photo.
NOT_COMPARED = ("SourceFile", "System:", "File:", "ExifTool:", "XMP-x:XMPToolkit", "XMP-photoface:")


def face_area(photo: Path) -> dict[str, float]:
    """The normalised centre and size of the one face the library found in `photo` (480x480)."""
    with Library(paths.default_library_path()) as lib:
        (face,) = lib.faces_of_photo(lib.photo_by_path(str(photo)).id)
    x, y, w, h = face.box
    return {"cx": (x + w / 2) / 480, "cy": (y + h / 2) / 480, "w": w / 480, "h": h / 480}


def read_back(side: Path) -> dict:
    """What ExifTool reads from a sidecar, without the file's own fields."""
    out = subprocess.run(
        ["exiftool", "-j", "-G1", "-struct", str(side)], capture_output=True, check=True, text=True
    ).stdout
    (tags,) = json.loads(out)
    return {k: v for k, v in tags.items() if not k.startswith(NOT_COMPARED)}


def _without_ours(tags: dict) -> dict:
    return {
        k: v
        for k, v in tags.items()
        if k not in ("XMP-mwg-rs:RegionInfo", "XMP-iptcExt:PersonInImage")
    }


def _strip_mark(region: dict) -> dict:
    return {k: v for k, v in region.items() if k != "Exported"}


def test_a_digikam_sidecar_keeps_its_text_around_the_packet(eileen_album, capsys):
    photo = eileen_album / "trip/face_0.jpg"
    side = eileen_album / "trip/face_0.jpg.xmp"
    side.write_text(DIGIKAM.format(**face_area(photo)))
    before = sums(eileen_album)
    assert main(["xmp-export"]) == 0
    text = side.read_text()
    assert text.startswith(HEAD) and text.endswith(TAIL)  # wrapper and comments outside it
    for kept in ("<digiKam:TagsList>", "<lr:hierarchicalSubject>", 'acme:Album="Summer"'):
        assert kept in text  # prefixes as they were, not ns0/ns3
    regions = xmp.read_regions(side, (480, 480))
    assert [r.name for r in regions] == ["Someone Else", "Eileen"]
    assert sums(eileen_album) == before


@needs_exiftool
def test_a_digikam_sidecar_read_back_by_exiftool(eileen_album, capsys):
    photo = eileen_album / "trip/face_0.jpg"
    side = eileen_album / "trip/face_0.jpg.xmp"
    side.write_text(DIGIKAM.format(**face_area(photo)))
    before, photos = read_back(side), sums(eileen_album)
    assert main(["xmp-export"]) == 0
    after = read_back(side)
    assert _without_ours(after) == _without_ours(before)
    assert after["XMP-iptcExt:PersonInImage"] == ["Grandma", "Someone Else", "Eileen"]
    old, new = before["XMP-mwg-rs:RegionInfo"], after["XMP-mwg-rs:RegionInfo"]
    assert new["AppliedToDimensions"] == old["AppliedToDimensions"]
    old_list, new_list = old["RegionList"], new["RegionList"]
    assert len(new_list) == len(old_list) == 4
    # The region of an unknown name over Eileen's face is now hers, with its box and text.
    assert _strip_mark(new_list[2]) == {**old_list[2], "Name": "Eileen"}
    for i in (0, 1, 3):  # the named face elsewhere, the focus region, the unnamed face
        assert new_list[i] == old_list[i]

    assert main(["xmp-export"]) == 0  # again: nothing changes
    assert read_back(side) == after

    assert main(["name", "1", "Eileen Collins"]) == 0
    assert main(["xmp-export"]) == 0
    renamed = read_back(side)
    # The name we added goes, the names others put there stay.
    assert renamed["XMP-iptcExt:PersonInImage"] == ["Grandma", "Someone Else", "Eileen Collins"]
    assert _strip_mark(renamed["XMP-mwg-rs:RegionInfo"]["RegionList"][2]) == {
        **old_list[2],
        "Name": "Eileen Collins",
    }
    assert _without_ours(renamed) == _without_ours(before)
    assert sums(eileen_album) == photos


@needs_exiftool
def test_an_exiftool_sidecar_read_back_by_exiftool(eileen_album, capsys):
    photo = eileen_album / "trip/face_0.jpg"
    side = eileen_album / "trip/face_0.jpg.xmp"
    a = face_area(photo)
    focus = f"X={a['cx']},Y={a['cy']},W={a['w']},H={a['h']},Unit=normalized"
    regions = (
        "{AppliedToDimensions={W=480,H=480,Unit=pixel},RegionList=["
        f"{{Area={{{focus}}},Type=Focus,Description=AF point}},"
        "{Area={X=0.1,Y=0.85,W=0.08,H=0.08,Unit=normalized},Type=Face},"
        "{Area={X=0.9,Y=0.9,W=0.1,H=0.1,Unit=normalized},Type=Face,Name=Someone Else,"
        "Rotation=0.25,Description=at the pier}]}"
    )
    tags = ["-XMP-dc:Title=A day out", "-XMP-xmp:Rating=3", "-XMP-dc:Subject=beach"]
    tags += ["-XMP-dc:Subject=family", "-XMP-iptcExt:PersonInImage=Grandma"]
    tags += ["-XMP-lr:HierarchicalSubject=Places|Beach", "-XMP-digiKam:TagsList=Places/Beach"]
    subprocess.run(
        ["exiftool", "-q", *tags, f"-XMP-mwg-rs:RegionInfo={regions}", str(side)], check=True
    )
    before, photos = read_back(side), sums(eileen_album)
    assert len(before["XMP-mwg-rs:RegionInfo"]["RegionList"]) == 3
    assert main(["xmp-export"]) == 0
    after = read_back(side)
    assert _without_ours(after) == _without_ours(before)
    assert after["XMP-iptcExt:PersonInImage"] == ["Grandma", "Eileen"]
    old, new = before["XMP-mwg-rs:RegionInfo"], after["XMP-mwg-rs:RegionInfo"]
    assert new["AppliedToDimensions"] == old["AppliedToDimensions"]
    assert new["RegionList"][:3] == old["RegionList"]  # the focus region over the face stays
    (ours,) = new["RegionList"][3:]
    assert ours["Name"] == "Eileen" and ours["Type"] == "Face"
    assert abs(ours["Area"]["X"] - a["cx"]) < 1e-3 and abs(ours["Area"]["W"] - a["w"]) < 1e-3
    assert side.read_text().rstrip().endswith("<?xpacket end='w'?>")
    assert sums(eileen_album) == photos

    new = read_back(eileen_album / "trip/face_1.jpg.xmp")  # a sidecar of ours alone reads too
    assert new["XMP-iptcExt:PersonInImage"] == ["Eileen"]
    assert [r["Name"] for r in new["XMP-mwg-rs:RegionInfo"]["RegionList"]] == ["Eileen"]
    dims = new["XMP-mwg-rs:RegionInfo"]["AppliedToDimensions"]
    assert dims == {"H": 480, "Unit": "pixel", "W": 480}
