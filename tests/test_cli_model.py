"""A model that does not follow the contract, or a PHOTOFACE_MODEL that names nothing: a
one-line message before any work, and the library as it was."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from photoface.cli import main
from photoface.core.model_contract import CROP_SIZE, INPUT_NAME, OUTPUT_NAME
from tests.cli_helpers import assert_one_line_error, make_library, stored_state
from tests.fakes import TINY, add_metadata


def build_model(
    path: Path,
    output: str = OUTPUT_NAME,
    size: int = CROP_SIZE,
    dim: int = 128,
    meta_size: int = CROP_SIZE,
) -> Path:
    """An ONNX model with photoface metadata for `meta_size` inputs and 128-D vectors whose
    graph takes `size` x `size` inputs and gives `dim`-D vectors named `output`."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    cells = size // 8
    w = np.random.default_rng(0).standard_normal((3 * cells * cells, dim)).astype(np.float32)
    graph = helper.make_graph(
        [
            helper.make_node(
                "AveragePool", [INPUT_NAME], ["pooled"], kernel_shape=[8, 8], strides=[8, 8]
            ),
            helper.make_node("Flatten", ["pooled"], ["flat"], axis=1),
            helper.make_node("MatMul", ["flat", "w"], ["raw"]),
            helper.make_node("LpNormalization", ["raw"], [output], axis=1, p=2),
        ],
        "wrong",
        [helper.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT, ["N", 3, size, size])],
        [helper.make_tensor_value_info(output, TensorProto.FLOAT, ["N", dim])],
        initializer=[numpy_helper.from_array(w, "w")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    add_metadata(model, replace(TINY, model_id="wrong-v1", input_size=meta_size))
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


@pytest.mark.parametrize(
    ("kind", "words"),
    [
        (dict(output="features"), ["no output named 'embedding'", "'features'"]),
        (dict(size=112), ["input", "112", "input_size 96"]),
        (dict(dim=64), ["output", "64", "embedding_size 128"]),
        (dict(size=112, meta_size=112), ["input_size 112", "crops are 96 x 96"]),
    ],
    ids=["output-name", "input-size", "vector-size", "crop-size"],
)
def test_a_model_that_breaks_the_contract(tmp_path, capsys, monkeypatch, kind, words):
    lib = make_library(tmp_path / "lib.sqlite3")  # vectors from another model: all re-embedded
    before = stored_state(lib)
    monkeypatch.setenv("PHOTOFACE_MODEL", str(build_model(tmp_path / "m.onnx", **kind)))
    assert main(["--library", str(lib), "recluster"]) == 1
    assert_one_line_error(capsys.readouterr().err, "does not follow the model contract", *words)
    assert stored_state(lib) == before


def test_a_model_path_that_does_not_exist(tmp_path, capsys, monkeypatch):
    lib = make_library(tmp_path / "lib.sqlite3")
    before = stored_state(lib)
    missing = tmp_path / "models" / "photoface-mine.onnx"
    monkeypatch.setenv("PHOTOFACE_MODEL", str(missing))
    for command in (["recluster"], ["scan", str(tmp_path), "-q"]):
        assert main(["--library", str(lib), *command]) == 1
        err = capsys.readouterr().err
        assert_one_line_error(err, str(missing), "does not exist")
        assert "No face-embedding model is installed" not in err
    assert stored_state(lib) == before


def test_a_model_that_follows_the_contract_still_loads(tmp_path, capsys, monkeypatch):
    lib = make_library(tmp_path / "lib.sqlite3")
    monkeypatch.setenv("PHOTOFACE_MODEL", str(build_model(tmp_path / "m.onnx")))
    assert main(["--library", str(lib), "recluster"]) == 0
    assert "9 faces" in capsys.readouterr().out
    assert main(["--library", str(lib), "export", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["counts"]["faces"] == 9
