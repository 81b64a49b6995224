"""The embedding model contract: metadata read, unit vectors, batches, int8 at rest."""

from __future__ import annotations

import numpy as np
import pytest

from photoface.core import embed
from photoface.errors import ModelMissingError, PhotofaceError
from tests.fakes import build_tiny_model, people_embeddings


def crops(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, 96, 96, 3), dtype=np.uint8)


def test_the_model_says_what_it_needs(tiny_model):
    e = embed.OnnxEmbedder(tiny_model)
    assert e.info.model_id == "tiny-test-v1"
    assert e.info.input_size == 96 and e.info.embedding_size == 128
    assert e.info.mean == (127.5,) * 3 and e.info.threshold == pytest.approx(0.9)


def test_grouping_uses_the_models_cluster_threshold_unless_the_user_sets_one(tmp_path):
    from photoface.settings import Settings

    plain = embed.OnnxEmbedder(build_tiny_model(tmp_path / "a.onnx")).info
    assert plain.cluster_threshold is None and plain.grouping_threshold == pytest.approx(0.9)
    tuned = embed.OnnxEmbedder(
        build_tiny_model(tmp_path / "b.onnx", extra={"cluster_threshold": "0.65"})
    ).info
    assert tuned.grouping_threshold == pytest.approx(0.65) and tuned.threshold == 0.9
    assert Settings().cluster_params(tuned).threshold == pytest.approx(0.65)
    assert Settings(cluster_threshold=0.8).cluster_params(tuned).threshold == 0.8


def test_embeddings_are_unit_and_independent_of_batching(tiny_model):
    e = embed.OnnxEmbedder(tiny_model, batch_size=4)
    x = crops(10)
    v = e.embed(x)
    assert v.shape == (10, 128) and v.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(e.embed(x[3:4])[0], v[3], atol=1e-5)
    assert e.embed(x[:0]).shape == (0, 128)


def test_wrong_crop_size_is_refused(tiny_model):
    with pytest.raises(ValueError, match="96"):
        embed.OnnxEmbedder(tiny_model).embed(np.zeros((1, 112, 112, 3), np.uint8))


def test_a_model_without_metadata_is_refused(tmp_path):
    import onnx

    path = build_tiny_model(tmp_path / "m.onnx")
    model = onnx.load(str(path))
    del model.metadata_props[:]
    onnx.save(model, str(path))
    with pytest.raises(PhotofaceError, match="model_id"):
        embed.OnnxEmbedder(path)


def test_no_model_installed_says_how_to_make_one(monkeypatch, tmp_path):
    from photoface import paths

    monkeypatch.setattr(paths, "bundled_models_dir", lambda: tmp_path)
    with pytest.raises(ModelMissingError, match="training.export"):
        embed.load_default_embedder()


def test_int8_codes_keep_distances():
    x, _ = people_embeddings(20, 5, seed=3, spread=1.0)
    q = embed.quantize(x)
    assert q.dtype == np.int8 and q.shape == x.shape and q.nbytes == 128 * len(x)
    back = embed.dequantize(q)
    d, dq = 2 - 2 * x @ x.T, 2 - 2 * back @ back.T
    assert np.abs(d - dq).max() < 0.02 and np.abs(d - dq).mean() < 0.003


def test_the_newest_model_is_chosen_by_version_not_by_name(tmp_path):
    from photoface.core.embed import find_model

    for v in (2, 9, 10, 3):
        (tmp_path / f"photoface-pf-nn4s-v{v}.onnx").write_bytes(b"")
    assert find_model(tmp_path).name == "photoface-pf-nn4s-v10.onnx"
