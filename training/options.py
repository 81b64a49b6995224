"""Command-line options from a config dataclass: one `--name-with-dashes` per field."""

from __future__ import annotations

import argparse
from dataclasses import MISSING, fields
from typing import Any, TypeVar

C = TypeVar("C")


def truthy(value: str) -> bool:
    return value.lower() in ("1", "true", "yes")


def add_options(ap: argparse.ArgumentParser, cls: type) -> None:
    """An option per field of the dataclass `cls`, of its default's type and with its default.
    A bool option is a switch (`--lfw-only`) that also takes a value (`--bf16 0`, `--bf16 yes`)."""
    for f in fields(cls):
        if f.default is MISSING:
            raise TypeError(f"{cls.__name__}.{f.name} needs a default to be an option")
        flag = "--" + f.name.replace("_", "-")
        if isinstance(f.default, bool):
            ap.add_argument(flag, type=truthy, nargs="?", const=True, default=f.default)
        else:
            ap.add_argument(flag, type=type(f.default), default=f.default)


def parse_config(cls: type[C], argv: list[str] | None, description: str | None = None) -> C:
    """The dataclass `cls` filled from the command line (`argv`; None: sys.argv)."""
    ap = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawTextHelpFormatter
    )
    add_options(ap, cls)
    values: dict[str, Any] = vars(ap.parse_args(argv))
    return cls(**values)
