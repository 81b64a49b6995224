"""XMP sidecars with MWG face regions (mwg-rs:Regions), as digiKam, Lightroom and ExifTool read.

Export writes named faces next to each photo (`photo.jpg.xmp`, or an existing `photo.xmp` that
no other photo of the library shares), merging into a sidecar that is already there through
python-exiv2 (the XMP toolkit), so every property, region and namespace of other applications
stays; only our regions and the `PersonInImage` names we added change. Import reads MWG regions
back and names the faces they cover. Originals are never touched; a bad sidecar is skipped with
its reason, never followed through a link, never read for another photo.
"""

from __future__ import annotations

import logging
import os
import re
import stat
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import exiv2
import numpy as np

from photoface.errors import PhotofaceError
from photoface.fileio import UnsafeFileError, describe_os_error, read_regular, write_atomic
from photoface.library import Library
from photoface.names import clean_name

log = logging.getLogger(__name__)

# A sidecar is a few KB; anything near this is not one.
MAX_SIDECAR_BYTES = 16 * 2**20
PF_URI = "urn:photoface:xmp:1.0/"
PF_PREFIX = "photoface"
RDF_URI = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
META_URI = "adobe:ns:meta/"
_WRAP_BEGIN = '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
_WRAP_END = '<?xpacket end="w"?>\n'

_REGIONS = "Xmp.mwg-rs.Regions"
_DIMS = f"{_REGIONS}/mwg-rs:AppliedToDimensions"
_LIST = f"{_REGIONS}/mwg-rs:RegionList"
_PERSONS = "Xmp.iptcExt.PersonInImage"
# Our own marks: on each region we wrote ("region": we made it; "name": we named someone else's
# region, whose box stays as they drew it), and the PersonInImage names we added.
_OUR_PERSONS = f"Xmp.{PF_PREFIX}.PersonInImage"
_OUR_MARK = f"{PF_PREFIX}:Exported"
_MADE_REGION, _MADE_NAME = "region", "name"
# The fields of a region photoface writes; a region of ours with any other field was touched by
# someone else, so it is kept (only our name comes off) when we no longer need it.
_OUR_FIELDS = {"", "mwg-rs:Name", "mwg-rs:Type", "mwg-rs:Area", _OUR_MARK}
_OUR_FIELDS |= {f"mwg-rs:Area/stArea:{k}" for k in ("x", "y", "w", "h", "unit")}
_MATCH_IOU = 0.3
_PROLOG = re.compile(r"(?:\s+|<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^>]*>)*", re.S)


class SidecarError(PhotofaceError):
    """A sidecar that photoface must not read or replace; the message says why."""


@dataclass(frozen=True)
class Region:
    name: str
    box: tuple[float, float, float, float]  # x, y, w, h in pixels of the upright photo
    kind: str = "Face"


def _clean_name(name: str | None) -> str | None:
    """A name read from a sidecar as the library stores names (a newline or tab in it must not
    forge a second line of output); None when it is not a usable name."""
    if name is None:
        return None
    try:
        return clean_name(name)
    except PhotofaceError:
        return None


# --- sidecar names ---------------------------------------------------------------------------


def sidecar_for(photo: Path, shared: frozenset[Path] = frozenset()) -> Path:
    """An existing `photo.xmp` (Lightroom/ExifTool style) wins unless it is in `shared` (several
    photos of the library would map to it); else `photo.jpg.xmp`."""
    short = photo.with_suffix(".xmp")
    if short not in shared and os.path.lexists(short):
        return short
    return photo.with_name(photo.name + ".xmp")


def shared_short_names(photos: list[Path]) -> frozenset[Path]:
    """The `x.xmp` names that more than one photo (`x.jpg`, `x.png`) maps to: never used, so one
    photo's regions are never written into or read for another."""
    counts = Counter(p.with_suffix(".xmp") for p in photos)
    return frozenset(p for p, n in counts.items() if n > 1)


# --- reading a sidecar -----------------------------------------------------------------------


@dataclass
class Packet:
    """A parsed sidecar: the text around its root element (kept as it was) and its properties."""

    head: str
    tail: str
    data: exiv2.XmpData = field(repr=False)


@contextmanager
def _exiv2_complaints() -> Iterator[list[str]]:
    """Collect what libexiv2 logs: it reports a packet it cannot parse only there."""
    said: list[str] = []

    class Catch(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            said.append(record.getMessage())

    handler = Catch(logging.WARNING)
    exiv2_log = logging.getLogger("exiv2")
    exiv2_log.addHandler(handler)
    try:
        yield said
    finally:
        exiv2_log.removeHandler(handler)


def _register_ours() -> None:
    try:
        if exiv2.XmpProperties.ns(PF_PREFIX) == PF_URI:
            return
    except exiv2.Exiv2Error:  # not registered yet
        pass
    exiv2.XmpProperties.registerNs(PF_URI, PF_PREFIX)


def _check_sidecar(path: Path) -> os.stat_result | None:
    """The sidecar's stat (None: there is none); raises when it is a link or not a file."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    if stat.S_ISLNK(st.st_mode):
        raise SidecarError("a link; photoface neither reads nor writes sidecars through links")
    if stat.S_ISDIR(st.st_mode):
        raise SidecarError("a folder, not a file")
    if stat.S_ISFIFO(st.st_mode):
        raise SidecarError("a FIFO (named pipe), not a file")
    if not stat.S_ISREG(st.st_mode):
        raise SidecarError("not a regular file")
    return st


def _root_span(text: str, tag: str) -> tuple[int, int]:
    """Where the root element starts and ends in a well-formed document: what lies around it
    (the xpacket wrapper, comments) is kept as it was, since the XMP toolkit drops it."""
    start = _PROLOG.match(text).end()
    m = re.match(r"<([^\s/>]+)", text[start:])
    local = tag.rpartition("}")[2]
    if m is None or m[1].rpartition(":")[2] != local:  # e.g. a DOCTYPE with an internal subset
        raise SidecarError("unusual XML before the packet; photoface leaves it alone")
    close = text.rfind(f"</{m[1]}")
    end = text.find(">", close) + 1 if close >= 0 else text.find("/>", start) + 2
    if end <= start + 1:
        raise SidecarError("unusual XML after the packet; photoface leaves it alone")
    return start, end


def parse_packet(raw: bytes) -> Packet:
    """Parse a sidecar's bytes; SidecarError when they are not a well-formed XMP packet."""
    try:
        root = ET.fromstring(raw)
    except ET.ParseError as e:
        raise SidecarError(f"malformed XML ({e})") from e
    if root.tag == f"{{{RDF_URI}}}RDF":
        wrap = True
    elif root.tag in (f"{{{META_URI}}}xmpmeta", f"{{{META_URI}}}xapmeta") and (
        root.find(f"{{{RDF_URI}}}RDF") is not None
    ):
        wrap = False
    else:
        raise SidecarError("not an XMP packet (no rdf:RDF)")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise SidecarError("not UTF-8 text; photoface only merges into UTF-8 sidecars") from e
    start, end = _root_span(text, root.tag)
    body = text[start:end]
    if wrap:  # libexiv2 recognises a packet by its wrapper, the toolkit takes a bare rdf:RDF
        body = f'<x:xmpmeta xmlns:x="{META_URI}">{body}</x:xmpmeta>'
    _register_ours()
    with _exiv2_complaints() as said:
        try:
            image = exiv2.ImageFactory.open((_WRAP_BEGIN + body + _WRAP_END).encode())
            image.readMetadata()
        except exiv2.Exiv2Error as e:
            raise SidecarError(f"exiv2 cannot read it ({e.args[-1]})") from e
    if said:
        raise SidecarError(f"exiv2 cannot read it ({said[-1]})")
    data = exiv2.XmpData()
    for datum in image.xmpData():  # a copy that outlives the image
        data.add(exiv2.XmpKey(datum.key()), datum.getValue())
    bom = "\ufeff" if raw.startswith(b"\xef\xbb\xbf") else ""
    return Packet(bom + text[:start], text[end:], data)


def load_sidecar(path: Path) -> Packet | None:
    """The parsed sidecar at `path` (None: there is none); SidecarError says why it is unusable."""
    if _check_sidecar(path) is None:
        return None
    try:
        raw = read_regular(path, MAX_SIDECAR_BYTES)
    except UnsafeFileError as e:
        raise SidecarError(str(e)) from e
    except OSError as e:
        raise SidecarError(f"cannot be read: {describe_os_error(e)}") from e
    return parse_packet(raw)


# --- regions in a packet ---------------------------------------------------------------------


@dataclass
class _Entry:
    """One item of mwg-rs:RegionList: its fields by path inside the item, values as read."""

    fields: dict[str, exiv2.Value]

    def text(self, name: str) -> str | None:
        v = self.fields.get(name)
        return v.toString() if v is not None else None

    @property
    def ours(self) -> bool:
        return _OUR_MARK in self.fields

    @property
    def made_by_us(self) -> bool:
        return self.text(_OUR_MARK) == _MADE_REGION

    @property
    def is_face(self) -> bool:
        return (self.text("mwg-rs:Type") or "Face") == "Face"

    def box(self, size: tuple[int, int]) -> tuple[float, float, float, float] | None:
        try:
            cx, cy, w, h = (float(self.text(f"mwg-rs:Area/stArea:{k}") or "nan") for k in "xywh")
        except ValueError:
            return None
        if not np.isfinite([cx, cy, w, h]).all():
            return None
        W, H = size
        return ((cx - w / 2) * W, (cy - h / 2) * H, w * W, h * H)


def _entries(data: exiv2.XmpData) -> list[_Entry]:
    item = re.compile(re.escape(_LIST) + r"\[(\d+)\](?:/(.*))?$")
    by_index: dict[int, dict[str, exiv2.Value]] = {}
    for datum in data:
        m = item.match(datum.key())
        if m:
            by_index.setdefault(int(m[1]), {})[m[2] or ""] = datum.getValue()
    return [_Entry(by_index[i]) for i in sorted(by_index)]


def regions_of(packet: Packet, size: tuple[int, int]) -> list[Region]:
    """The named MWG regions of a packet as pixel boxes for a photo of `size` (width, height)."""
    out = []
    for e in _entries(packet.data):
        name, box = _clean_name(e.text("mwg-rs:Name")), e.box(size)
        if name and box is not None:
            out.append(Region(name, box, e.text("mwg-rs:Type") or "Face"))
    return out


def read_regions(sidecar: Path, size: tuple[int, int]) -> list[Region]:
    """MWG regions in a sidecar, as pixel boxes for a photo of `size` (width, height)."""
    packet = load_sidecar(sidecar)
    return regions_of(packet, size) if packet is not None else []


def _iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    ix = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


# --- merging ---------------------------------------------------------------------------------


def _text(value: str) -> exiv2.XmpTextValue:
    return exiv2.XmpTextValue(value)


def _bag(items: list[str]) -> exiv2.XmpArrayValue:
    bag = exiv2.XmpArrayValue(exiv2.TypeId.xmpBag)
    for item in items:
        bag.read(item)
    return bag


def _items(data: exiv2.XmpData, key: str) -> list[str]:
    it = data.findKey(exiv2.XmpKey(key))
    if it == data.end():
        return []
    value = it.getValue()
    return [value.toString(i) for i in range(value.count())]


def _erase(data: exiv2.XmpData, key: str, subtree: bool = False) -> None:
    inside = (f"{key}[", f"{key}/")
    doomed = [d.key() for d in data if d.key() == key or subtree and d.key().startswith(inside)]
    for k in doomed:
        data.erase(data.findKey(exiv2.XmpKey(k)))


def _set(data: exiv2.XmpData, key: str, value: exiv2.Value) -> None:
    _erase(data, key)
    data.add(exiv2.XmpKey(key), value)


def _area(r: Region, size: tuple[int, int]) -> dict[str, exiv2.Value]:
    W, H = size
    x, y, w, h = r.box
    a = "mwg-rs:Area/stArea:"
    return {
        "mwg-rs:Area": _text('type="Struct"'),
        f"{a}x": _text(f"{(x + w / 2) / W:.6f}"),
        f"{a}y": _text(f"{(y + h / 2) / H:.6f}"),
        f"{a}w": _text(f"{w / W:.6f}"),
        f"{a}h": _text(f"{h / H:.6f}"),
        f"{a}unit": _text("normalized"),
    }


def _merge_regions(entries: list[_Entry], regions: list[Region], size: tuple[int, int]) -> None:
    """Put our regions into `entries`: each takes over the face region under it (its other
    fields stay) or is added; our regions of earlier exports that no face needs now go."""
    claimed: set[int] = set()
    for r in regions:
        scored = [
            (_iou(r.box, box), i)
            for i, e in enumerate(entries)
            if i not in claimed and e.is_face and (box := e.box(size)) is not None
        ]
        best = max(scored, default=(0.0, -1))
        if best[0] >= _MATCH_IOU:
            e = entries[best[1]]
            if e.made_by_us:  # our box follows the face; someone else's stays as they drew it
                e.fields.update(_area(r, size))
            made = _MADE_REGION if e.made_by_us else _MADE_NAME
        else:
            e = _Entry({"": _text('type="Struct"'), **_area(r, size)})
            entries.append(e)
            best, made = (0.0, len(entries) - 1), _MADE_REGION
        claimed.add(best[1])
        e.fields["mwg-rs:Name"] = _text(r.name)
        e.fields["mwg-rs:Type"] = _text(r.kind)
        e.fields[_OUR_MARK] = _text(made)
    for i, e in reversed(list(enumerate(entries))):
        if i in claimed or not e.ours:
            continue
        if e.made_by_us and set(e.fields) <= _OUR_FIELDS:
            del entries[i]
        else:
            e.fields.pop("mwg-rs:Name", None)
            del e.fields[_OUR_MARK]


def merge(packet: Packet | None, regions: list[Region], size: tuple[int, int]) -> str:
    """The sidecar text with our regions and names: every other property, region and
    namespace of the packet stays, and so does the text around its root element."""
    _register_ours()
    data = packet.data if packet is not None else exiv2.XmpData()
    entries = _entries(data)
    before = {e.text("mwg-rs:Name") for e in entries if not e.ours}
    _merge_regions(entries, regions, size)

    if data.findKey(exiv2.XmpKey(_REGIONS)) == data.end():
        data.add(exiv2.XmpKey(_REGIONS), _text('type="Struct"'))
    if data.findKey(exiv2.XmpKey(_DIMS)) == data.end():
        data.add(exiv2.XmpKey(_DIMS), _text('type="Struct"'))
        for k, v in (("w", str(size[0])), ("h", str(size[1])), ("unit", "pixel")):
            data.add(exiv2.XmpKey(f"{_DIMS}/stDim:{k}"), _text(v))
    _erase(data, _LIST, subtree=True)
    data.add(exiv2.XmpKey(_LIST), _text('type="Bag"'))
    for i, e in enumerate(entries, 1):
        for sub, value in e.fields.items():
            data.add(exiv2.XmpKey(f"{_LIST}[{i}]" + (f"/{sub}" if sub else "")), value)

    # PersonInImage: add our names; take off only names we added that no region carries now.
    ours_now = list(dict.fromkeys(r.name for r in regions if r.kind == "Face"))
    added_before = set(_items(data, _OUR_PERSONS))
    present = _items(data, _PERSONS)
    names = [n for n in present if n not in added_before or n in ours_now or n in before]
    names += [n for n in ours_now if n not in names]
    ours = [n for n in names if n in ours_now and (n not in present or n in added_before)]
    for key, items in ((_PERSONS, names), (_OUR_PERSONS, ours)):
        if items:
            _set(data, key, _bag(items))
        else:
            _erase(data, key)

    flags = exiv2.XmpParser.XmpFormatFlags
    with _exiv2_complaints() as said:
        rc, body = exiv2.XmpParser.encode(data, flags.useCompactFormat | flags.omitPacketWrapper)
    if rc != 0 or said:
        raise SidecarError(f"exiv2 cannot write it ({said[-1] if said else f'error {rc}'})")
    if packet is None:
        return _WRAP_BEGIN + body + _WRAP_END
    return packet.head + body.rstrip("\n") + packet.tail


# --- export and import -----------------------------------------------------------------------


@dataclass(frozen=True)
class ExportItem:
    photo: Path
    sidecar: Path
    regions: list[Region]
    existed: bool
    size: tuple[int, int] = (1, 1)


@dataclass(frozen=True)
class Skipped:
    sidecar: Path
    reason: str


@dataclass(frozen=True)
class ExportResult:
    written: list[ExportItem]
    skipped: list[Skipped]


def plan_export(library: Library, include_hidden: bool = False) -> list[ExportItem]:
    """Which sidecars an export would write, and with which named faces."""
    by_photo: dict[int, list[Region]] = {}
    for person in library.people(include_hidden=include_hidden):
        if not person.name:
            continue
        for f in library.faces_of_person(person.id):
            by_photo.setdefault(f.photo_id, []).append(Region(person.name, f.box))
    shared = shared_short_names([Path(p.path) for p in library.photos()])
    items = []
    for photo_id, regions in sorted(by_photo.items()):
        photo = library.photo(photo_id)
        path = Path(photo.path)
        side = sidecar_for(path, shared)
        size = (photo.width or 1, photo.height or 1)
        items.append(ExportItem(path, side, regions, os.path.lexists(side), size))
    return items


def export_one(item: ExportItem) -> None:
    """Merge one photo's regions into its sidecar; SidecarError says why it was not written."""
    if not item.photo.is_file():
        raise SidecarError("the photo is not there (moved or deleted since the scan)")
    packet = load_sidecar(item.sidecar)
    text = merge(packet, item.regions, item.size)
    try:
        write_atomic(item.sidecar, text.encode("utf-8"))
    except UnsafeFileError as e:
        raise SidecarError(str(e)) from e
    except OSError as e:
        raise SidecarError(f"cannot be written: {describe_os_error(e)}") from e


def export(library: Library, dry_run: bool = False, include_hidden: bool = False) -> ExportResult:
    """Write (or, dry, only list) a sidecar per photo with named faces; a sidecar that cannot
    be merged safely is skipped with its reason and the others are still written."""
    items = plan_export(library, include_hidden)
    if dry_run:
        return ExportResult(items, [])
    written, skipped = [], []
    for it in items:
        try:
            export_one(it)
        except SidecarError as e:
            log.warning("skipped %s: %s", it.sidecar, e)
            skipped.append(Skipped(it.sidecar, str(e)))
        else:
            written.append(it)
    return ExportResult(written, skipped)


@dataclass(frozen=True)
class ImportResult:
    sidecars: int
    named_faces: int
    unmatched_regions: int  # regions with no detected face under them
    people: int
    skipped: list[Skipped] = field(default_factory=list)


def import_regions(library: Library, min_iou: float = _MATCH_IOU) -> ImportResult:
    """Name the library's faces from MWG regions in the sidecars next to its photos."""
    assign: dict[str, list[int]] = {}
    sidecars = unmatched = 0
    skipped: list[Skipped] = []
    photos = library.photos()
    shared = shared_short_names([Path(p.path) for p in photos])
    for photo in photos:
        side = sidecar_for(Path(photo.path), shared)
        try:
            packet = load_sidecar(side)
        except SidecarError as e:
            log.warning("skipped %s: %s", side, e)
            skipped.append(Skipped(side, str(e)))
            continue
        if packet is None:
            continue
        regions = regions_of(packet, (photo.width, photo.height))
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
        library.edits.assign_names(assign)
    named = sum(map(len, assign.values()))
    return ImportResult(sidecars, named, unmatched, len(assign), skipped)
