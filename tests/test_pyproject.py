"""The project's own build configuration: read by setuptools without a deprecation warning."""

from __future__ import annotations

import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_setuptools_reads_pyproject_without_deprecation_warnings(monkeypatch):
    """What `pip wheel .` prints as a BuildBackendWarning (the license table, deprecated since
    setuptools 77) is a warning here; the license is an SPDX expression with its files."""
    from setuptools.config.pyprojecttoml import apply_configuration
    from setuptools.dist import Distribution

    monkeypatch.chdir(ROOT)  # license-files are globs relative to the project
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        dist = apply_configuration(Distribution(), ROOT / "pyproject.toml")
    assert [str(w.message) for w in caught if "deprecat" in str(w.message).lower()] == []
    assert dist.metadata.license_expression == "Apache-2.0"
    assert {Path(f).name for f in dist.metadata.license_files} == {"LICENSE", "LICENSE-yunet"}
