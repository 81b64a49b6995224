"""Model cards record no machine paths: the checkout's own paths relative to it, others by name."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

from training.export import REPO, portable, portable_arg

# an absolute POSIX path (/x, ~/x) or a Windows drive path, as a whole word of a string
ABSOLUTE = re.compile(r"""(?:^|[\s"'=(])(?:/|~/|[A-Za-z]:[\\/])[^\s/]""")


def absolute_paths(value: object) -> Iterator[str]:
    """Every string inside a card (keys included) that holds an absolute path."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from absolute_paths(k)
            yield from absolute_paths(v)
    elif isinstance(value, list):
        for v in value:
            yield from absolute_paths(v)
    elif isinstance(value, str) and ABSOLUTE.search(value):
        yield value


def test_the_detector_of_absolute_paths_finds_them():
    card = {
        "a": {"cache_dir": "/work/main/cache"},
        "b": ["python x --data C:\\data"],
        "c": "runs/v3 at 95.2% (1/3 of it)",
        "d": "--init=~/v2.onnx",
    }
    found = sorted(absolute_paths(card))
    assert found == ["--init=~/v2.onnx", "/work/main/cache", "python x --data C:\\data"]


def test_no_shipped_card_holds_an_absolute_path():
    folders = (REPO / "resources" / "models", REPO / "training" / "models")
    cards = [card for folder in folders for card in folder.glob("*.json")]
    assert cards
    for card in cards:
        found = list(absolute_paths(json.loads(card.read_text())))
        assert not found, f"{card.name}: {found}"


def test_paths_are_shown_relative_to_the_checkout_or_by_name():
    assert portable(str(REPO / "training" / "models" / "v1.onnx")) == "training/models/v1.onnx"
    assert portable("/somewhere/else/cache") == "cache"
    assert portable("cache/runs/v3/last.pt") == "cache/runs/v3/last.pt"
    assert portable(2.5) == 2.5
    assert portable_arg("--data=/srv/faces/data") == "--data=data"
    assert portable_arg(str(Path("/tmp/x/last.pt"))) == "last.pt"
