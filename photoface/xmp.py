"""XMP sidecars with MWG face regions (mwg-rs:Regions), as digiKam, Lightroom and ExifTool read.

Export writes named faces next to each photo (`photo.jpg.xmp`, or an existing `photo.xmp`),
merging into a sidecar that is already there: other metadata and regions of other people stay.
Import reads MWG regions back and names the faces they cover. Originals are never touched.
"""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from photoface.store import Library

log = logging.getLogger(__name__)

NS = {
    "x": "adobe:ns:meta/",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "mwg-rs": "http://www.metadataworkinggroup.com/schemas/regions/",
    "stDim": "http://ns.adobe.com/xap/1.0/sType/Dimensions#",
    "stArea": "http://ns.adobe.com/xmp/sType/Area#",
    "Iptc4xmpExt": "http://iptc.org/std/Iptc4xmpExt/2008-02-29/",
}
for _prefix, _uri in NS.items():
    ET.register_namespace(_prefix, _uri)


def q(name: str) -> str:
    """'mwg-rs:Name' -> '{uri}Name'."""
    prefix, local = name.split(":")
    return f"{{{NS[prefix]}}}{local}"


@dataclass(frozen=True)
class Region:
    name: str
    box: tuple[float, float, float, float]  # x, y, w, h in pixels of the upright photo
    kind: str = "Face"


def sidecar_for(photo: Path) -> Path:
    """An existing `photo.xmp` (Lightroom/ExifTool style) wins; else `photo.jpg.xmp`."""
    short = photo.with_suffix(".xmp")
    return short if short.exists() else photo.with_name(photo.name + ".xmp")


def _field(el: ET.Element, name: str) -> str | None:
    """A property written as an attribute or as a child element."""
    if q(name) in el.attrib:
        return el.attrib[q(name)]
    child = el.find(q(name))
    return child.text if child is not None else None


def read_regions(sidecar: Path, size: tuple[int, int]) -> list[Region]:
    """MWG regions in a sidecar, as pixel boxes for a photo of `size` (width, height)."""
    root = ET.parse(sidecar).getroot()
    out = []
    for li in root.iter(q("rdf:li")):
        desc = li.find(q("rdf:Description"))
        desc = desc if desc is not None else li
        area = desc.find(q("mwg-rs:Area"))
        name = _field(desc, "mwg-rs:Name")
        if area is None or not name:
            continue
        try:
            cx, cy, w, h = (float(_field(area, f"stArea:{k}") or "nan") for k in "xywh")
        except ValueError:
            continue
        if not np.isfinite([cx, cy, w, h]).all():
            continue
        W, H = size
        box = ((cx - w / 2) * W, (cy - h / 2) * H, w * W, h * H)
        out.append(Region(name, box, _field(desc, "mwg-rs:Type") or "Face"))
    return out


def _iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    ix = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


def _empty_packet() -> ET.ElementTree:
    meta = ET.Element(q("x:xmpmeta"))
    rdf = ET.SubElement(meta, q("rdf:RDF"))
    ET.SubElement(rdf, q("rdf:Description"), {q("rdf:about"): ""})
    return ET.ElementTree(meta)


def _region_li(bag: ET.Element, r: Region, size: tuple[int, int]) -> None:
    W, H = size
    x, y, w, h = r.box
    li = ET.SubElement(bag, q("rdf:li"))
    desc = ET.SubElement(li, q("rdf:Description"), {q("mwg-rs:Name"): r.name,
                                                     q("mwg-rs:Type"): r.kind})  # fmt: skip
    ET.SubElement(desc, q("mwg-rs:Area"), {
        q("stArea:x"): f"{(x + w / 2) / W:.6f}", q("stArea:y"): f"{(y + h / 2) / H:.6f}",
        q("stArea:w"): f"{w / W:.6f}", q("stArea:h"): f"{h / H:.6f}",
        q("stArea:unit"): "normalized",
    })  # fmt: skip


def merged_packet(existing: Path | None, regions: list[Region], size: tuple[int, int]
                  ) -> ET.ElementTree:  # fmt: skip
    """The sidecar with our regions: others' regions that do not overlap ours are kept, every
    other property is kept as it was."""
    tree = ET.parse(existing) if existing is not None and existing.exists() else _empty_packet()
    root = tree.getroot()
    rdf = root if root.tag == q("rdf:RDF") else root.find(q("rdf:RDF"))
    if rdf is None:
        raise ValueError("not an XMP packet (no rdf:RDF)")
    keep = [
        r for r in (read_regions(existing, size) if existing is not None and existing.exists()
                    else [])
        if not any(_iou(r.box, o.box) > 0.3 for o in regions)
    ]  # fmt: skip
    for desc in rdf.findall(q("rdf:Description")):
        for old in desc.findall(q("mwg-rs:Regions")) + desc.findall(q("Iptc4xmpExt:PersonInImage")):
            desc.remove(old)
    desc = rdf.find(q("rdf:Description"))
    if desc is None:
        desc = ET.SubElement(rdf, q("rdf:Description"), {q("rdf:about"): ""})
    all_regions = keep + regions
    regs = ET.SubElement(desc, q("mwg-rs:Regions"), {q("rdf:parseType"): "Resource"})
    ET.SubElement(
        regs,
        q("mwg-rs:AppliedToDimensions"),
        {q("stDim:w"): str(size[0]), q("stDim:h"): str(size[1]), q("stDim:unit"): "pixel"},
    )
    bag = ET.SubElement(ET.SubElement(regs, q("mwg-rs:RegionList")), q("rdf:Bag"))
    for r in all_regions:
        _region_li(bag, r, size)
    names = ET.SubElement(ET.SubElement(desc, q("Iptc4xmpExt:PersonInImage")), q("rdf:Bag"))
    for name in dict.fromkeys(r.name for r in all_regions if r.kind == "Face"):
        ET.SubElement(names, q("rdf:li")).text = name
    ET.indent(tree, space=" ")
    return tree


@dataclass(frozen=True)
class ExportItem:
    photo: Path
    sidecar: Path
    regions: list[Region]
    existed: bool


def plan_export(library: Library, include_hidden: bool = False) -> list[ExportItem]:
    """Which sidecars an export would write, and with which named faces."""
    by_photo: dict[int, list[Region]] = {}
    for person in library.people(include_hidden=include_hidden):
        if not person.name:
            continue
        for f in library.faces_of_person(person.id):
            by_photo.setdefault(f.photo_id, []).append(Region(person.name, f.box))
    items = []
    for photo_id, regions in sorted(by_photo.items()):
        photo = library.photo(photo_id)
        path = Path(photo.path)
        side = sidecar_for(path)
        items.append(ExportItem(path, side, regions, side.exists()))
    return items


def export(library: Library, dry_run: bool = False, include_hidden: bool = False
           ) -> list[ExportItem]:  # fmt: skip
    """Write (or, dry, only list) a sidecar per photo with named faces."""
    items = plan_export(library, include_hidden)
    if dry_run:
        return items
    for it in items:
        photo = library.photo_by_path(str(it.photo))
        size = (photo.width, photo.height) if photo else (1, 1)
        tree = merged_packet(it.sidecar if it.existed else None, it.regions, size)
        tmp = it.sidecar.with_name(it.sidecar.name + ".tmp")
        tree.write(tmp, encoding="utf-8", xml_declaration=True)
        tmp.replace(it.sidecar)
    return items


@dataclass(frozen=True)
class ImportResult:
    sidecars: int
    named_faces: int
    unmatched_regions: int  # regions with no detected face under them
    people: int


def import_regions(library: Library, min_iou: float = 0.3) -> ImportResult:
    """Name the library's faces from MWG regions in the sidecars next to its photos."""
    assign: dict[str, list[int]] = {}
    sidecars = unmatched = 0
    for photo in library.photos():
        side = sidecar_for(Path(photo.path))
        if not side.exists():
            continue
        try:
            regions = read_regions(side, (photo.width, photo.height))
        except (ET.ParseError, OSError) as e:
            log.warning("skipping unreadable sidecar %s: %s", side, e)
            continue
        sidecars += 1
        faces = library.faces_of_photo(photo.id)
        taken: set[int] = set()
        for r in (r for r in regions if r.kind == "Face"):
            best = max(faces, key=lambda f: _iou(f.box, r.box), default=None)
            if best is None or best.id in taken or _iou(best.box, r.box) < min_iou:
                unmatched += 1
                continue
            taken.add(best.id)
            assign.setdefault(r.name, []).append(best.id)
    if assign:
        library.assign_names(assign)
    return ImportResult(sidecars, sum(map(len, assign.values())), unmatched, len(assign))
