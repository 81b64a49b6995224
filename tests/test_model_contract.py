"""The model contract: ModelInfo to metadata and back, the bundled files, the flip flag shown."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from photoface.cli import main
from photoface.core.embed import OnnxEmbedder
from photoface.core.model_contract import META_PREFIX, ModelInfo, meta_key
from photoface.errors import PhotofaceError
from tests.cli_helpers import make_library
from tests.fakes import TINY, build_tiny_model

ROOT = Path(__file__).resolve().parents[1]
BUNDLED = ROOT / "resources" / "models" / "photoface-pf-nn4s-v5.onnx"
OLDEST_V1 = ROOT / "training" / "models" / "photoface-pf-nn4s-v1.onnx"

thresholds = st.floats(min_value=0.0, max_value=4.0, allow_nan=False)
channels = st.tuples(*[st.floats(-1e3, 1e3, allow_nan=False)] * 3)


@given(
    model_id=st.text(min_size=1, max_size=20),
    mean=channels,
    std=channels,
    size=st.integers(1, 1024),
    dim=st.integers(1, 4096),
    threshold=thresholds,
    compatible=st.lists(st.text(max_size=12), max_size=3).map(tuple),
    cluster=st.none() | thresholds,
    flip=st.booleans(),
)
def test_model_info_survives_a_round_trip_through_metadata(
    model_id, mean, std, size, dim, threshold, compatible, cluster, flip
):
    info = ModelInfo(model_id, size, mean, std, dim, threshold, compatible, cluster, flip)
    meta = info.to_metadata()
    assert all(k.startswith(META_PREFIX) and isinstance(v, str) for k, v in meta.items())
    assert ModelInfo.from_metadata(meta) == info


def test_thresholds_are_written_as_exports_always_wrote_them():
    meta = replace(TINY, threshold=1.1395, cluster_threshold=0.8).to_metadata()
    assert meta[meta_key("threshold")] == "1.1395"
    assert meta[meta_key("cluster_threshold")] == "0.8000"
    assert meta_key("cluster_threshold") not in TINY.to_metadata()


def test_a_model_compares_with_itself_and_the_models_it_is_compatible_with():
    assert TINY.comparable_ids == (TINY.model_id,)
    v3 = replace(TINY, model_id="v3", compatible_with=("v1", "v2"))
    assert v3.comparable_ids == ("v3", "v1", "v2")


def _file_metadata(path: Path) -> dict[str, str]:
    """The metadata as the app's runtime sees it (onnxruntime, not the onnx package)."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return dict(session.get_modelmeta().custom_metadata_map)


def test_the_bundled_model_reads_and_writes_back_its_own_metadata():
    """The contract spells every key as the bundled file does: reading it and writing it again
    gives the file's metadata entry for entry. v5 lists no older model: a library of v4 (or
    older) vectors is embedded again from its crops."""
    info = OnnxEmbedder(BUNDLED).info
    assert info.model_id == "pf-nn4s-v5" and info.flip_averaged is True
    assert info.compatible_with == () and info.cluster_threshold == 1.25
    assert info.to_metadata() == _file_metadata(BUNDLED)


@pytest.mark.skipif(not OLDEST_V1.is_file(), reason="no v1 model in training/models")
def test_a_model_exported_before_the_optional_fields_still_loads():
    meta = _file_metadata(OLDEST_V1)
    assert meta_key("flip_averaged") not in meta and meta_key("cluster_threshold") not in meta
    info = OnnxEmbedder(OLDEST_V1).info
    assert info.model_id == "pf-nn4s-v1"
    assert info.flip_averaged is False and info.cluster_threshold is None
    assert info.compatible_with == ()


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("flip_averaged", "yes", "flip_averaged"),
        ("mean", "[127.5, 127.5]", "three numbers"),
        ("compatible_with", '"pf-nn4s-v1"', "compatible_with"),
        ("threshold", "near", "near"),
    ],
)
def test_malformed_metadata_is_refused_with_its_name(field, value, words):
    meta = TINY.to_metadata() | {meta_key(field): value}
    with pytest.raises(PhotofaceError, match=words) as e:
        ModelInfo.from_metadata(meta, source="m.onnx")
    assert "m.onnx" in str(e.value)


@pytest.mark.parametrize("flip", [True, False])
def test_photoface_info_says_when_the_model_is_flip_averaged(tmp_path, capsys, monkeypatch, flip):
    model = build_tiny_model(tmp_path / "m.onnx", extra={"flip_averaged": "1" if flip else "0"})
    monkeypatch.setenv("PHOTOFACE_MODEL", str(model))
    assert main(["--library", str(make_library(tmp_path / "lib.sqlite3")), "info"]) == 0
    line = next(s for s in capsys.readouterr().out.splitlines() if "embedding model" in s)
    assert "tiny-test-v1" in line and ("flip-averaged" in line) == flip
