"""Export reads the written model back through the app before installing it: a file whose
metadata or embeddings disagree with what was meant installs nothing and says why in one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from photoface import paths  # noqa: E402
from photoface.core.embed import OnnxEmbedder  # noqa: E402
from photoface.core.model_contract import meta_key  # noqa: E402
from training import export  # noqa: E402
from training.model import ModelConfig, build  # noqa: E402


@pytest.fixture
def exporting(tmp_path, monkeypatch) -> Path:
    """A small network as the checkpoint to export and a models folder holding an older model
    (what an install replaces); returns that folder."""
    torch.manual_seed(0)
    model = build(ModelConfig(width=0.25)).eval()
    with torch.no_grad():  # an untrained head's bias outweighs the features it projects
        model.head.bias.zero_()
    checkpoint = {"config": {"margin": 0.2, "distill": 0.0}, "step": 1}
    monkeypatch.setattr(export, "load_checkpoint", lambda path: (model, checkpoint))
    models = tmp_path / "models"
    models.mkdir()
    (models / "photoface-old-v1.onnx").write_bytes(b"the installed model")
    (models / "photoface-old-v1.json").write_text("{}")
    monkeypatch.setattr(paths, "bundled_models_dir", lambda: models)
    return models


def run_export(tmp_path: Path, *extra: str) -> int:
    args = ["ckpt.pt", "--cache-dir", str(tmp_path / "cache"), "--model-id", "t-v2"]
    args += ["--threshold", "1.23456", "--cluster-threshold", "0.75", *extra]
    return export.main(args)


def folder(path: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(path.iterdir())}


@pytest.mark.parametrize("flip", [False, True])
def test_an_export_that_reads_back_as_written_is_installed(tmp_path, exporting, flip):
    assert run_export(tmp_path, *(["--flip"] if flip else [])) == 0
    installed = sorted(p.name for p in exporting.iterdir())
    assert installed == ["photoface-t-v2.json", "photoface-t-v2.onnx"]
    info = OnnxEmbedder(exporting / "photoface-t-v2.onnx").info
    assert (info.model_id, info.threshold, info.cluster_threshold) == ("t-v2", 1.2346, 0.75)
    assert info.flip_averaged is flip


def test_metadata_that_reads_back_otherwise_installs_nothing(
    tmp_path, exporting, monkeypatch, capsys
):
    """An exporter that spells one value its own way (the bug three spellings invite)."""
    real = export.write_metadata

    def misspelled(path: Path, meta: dict[str, str]) -> None:
        real(path, {**meta, meta_key("threshold"): "1.23"})

    monkeypatch.setattr(export, "write_metadata", misspelled)
    before = folder(exporting)
    with pytest.raises(SystemExit) as e:
        run_export(tmp_path)
    message = str(e.value.code)
    assert "\n" not in message and message.startswith("training.export: error:")
    assert "not installed" in message and "threshold: 1.2346 != 1.23" in message
    assert folder(exporting) == before  # the old model stays; no temporary file is left


def test_metadata_constants_that_are_not_trainings_install_nothing(
    tmp_path, exporting, monkeypatch
):
    """The metadata reads back as written, but the app would pre-process crops otherwise than
    training did: one embedding compared with PyTorch's catches it."""
    monkeypatch.setattr(export, "MEAN", 0.0)
    before = folder(exporting)
    with pytest.raises(SystemExit) as e:
        run_export(tmp_path)
    message = str(e.value.code)
    assert "\n" not in message and "not installed" in message and "PyTorch" in message
    assert folder(exporting) == before


def test_the_card_names_each_source_and_teacher_with_its_terms(tmp_path, exporting, monkeypatch):
    """The sources and counts are the prepare step's record, the teachers the run's config."""
    cache = tmp_path / "cache"
    cache.mkdir()
    sources = {"lfw": 10, "allage": 7, "celeb": 3}
    (cache / "prepare.json").write_text(json.dumps({"sources": sources}))
    ck = {"config": {"margin": 0.2, "distill": 1.0, "teacher": "both"}, "step": 1}
    monkeypatch.setattr(export, "load_checkpoint", lambda path: (export_model(), ck))
    assert run_export(tmp_path) == 0
    card = json.loads((exporting / "photoface-t-v2.json").read_text())
    used = card["training"]["sources"]
    assert {k: v["faces"] for k, v in used.items()} == sources
    assert "28741a75" in used["allage"]["origin"] and used["allage"]["licence"]
    assert sorted(card["training"]["teachers"]) == ["dlib", "sface"]
    assert "Apache-2.0" in card["training"]["teachers"]["sface"]["licence"]


def export_model():
    torch.manual_seed(0)
    model = build(ModelConfig(width=0.25)).eval()
    with torch.no_grad():
        model.head.bias.zero_()
    return model


def calibration_cache(tmp_path: Path, faces: int = 64) -> Path:
    """A cache holding training crops (random pixels) for --int8 to calibrate on."""
    import numpy as np

    cache = tmp_path / "cache"
    cache.mkdir(exist_ok=True)
    crops = np.random.default_rng(0).integers(0, 256, (faces, 112, 112, 3), dtype=np.uint8)
    np.save(cache / "train_crops.npy", crops)
    return cache


@pytest.mark.parametrize("flip", [False, True])
def test_an_int8_export_runs_int8_and_embeds_as_the_network_does(tmp_path, exporting, flip):
    import numpy as np

    from training.augment import centre, to_tensor
    from training.quantize import is_quantized

    cache = calibration_cache(tmp_path)
    assert run_export(tmp_path, "--int8", *(["--flip"] if flip else [])) == 0
    path = exporting / "photoface-t-v2.onnx"
    assert is_quantized(path)
    app = OnnxEmbedder(path)
    assert (app.info.model_id, app.info.threshold, app.info.flip_averaged) == ("t-v2", 1.2346, flip)
    crops = np.ascontiguousarray(centre(np.load(cache / "train_crops.npy")))
    model = export.load_checkpoint("ckpt.pt")[0]
    with torch.no_grad():
        x = to_tensor(crops)
        ref = model(x) + (model(torch.flip(x, dims=[3])) if flip else 0)
        ref = torch.nn.functional.normalize(ref, dim=1).numpy()
    got = app.embed(crops)
    assert float((got * ref).sum(1).mean()) > export.INT8_MIN_COSINE
    assert np.abs(got - ref).max() > 1e-5  # int8 arithmetic, not the float graph
    card = json.loads(path.with_suffix(".json").read_text())
    assert card["architecture"].startswith("int8 ") and "512" in card["quantization"]


def test_int8_without_training_crops_installs_nothing(tmp_path, exporting):
    before = folder(exporting)
    with pytest.raises(SystemExit) as e:
        run_export(tmp_path, "--int8")
    message = str(e.value.code)
    assert "\n" not in message and "not installed" in message
    assert "train_crops.npy" in message and "training.prepare" in message
    assert folder(exporting) == before
