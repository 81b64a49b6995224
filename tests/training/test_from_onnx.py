"""Training can start from an exported model: its folded weights go back into the network."""

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from training.export import to_onnx  # noqa: E402
from training.from_onnx import load_onnx_weights  # noqa: E402
from training.model import ModelConfig, build  # noqa: E402


def _trained_like(seed: int) -> torch.nn.Module:
    """A small network whose BatchNorm layers hold non-trivial statistics, as after training."""
    torch.manual_seed(seed)
    m = build(ModelConfig(width=0.25))
    m.train()
    with torch.no_grad():
        for _ in range(3):
            m(torch.randn(16, 3, 96, 96) * 2 + 0.5)
        for mod in m.modules():
            if isinstance(mod, torch.nn.BatchNorm2d):
                mod.weight.uniform_(0.5, 1.5)
                mod.bias.uniform_(-0.2, 0.2)
    return m.eval()


def test_exported_weights_come_back_with_the_same_function(tmp_path):
    src = _trained_like(0)
    to_onnx(src, tmp_path / "m.onnx")
    calib = torch.randn(32, 3, 96, 96)
    dst = build(ModelConfig(width=0.25))
    diff = load_onnx_weights(dst, tmp_path / "m.onnx", calib)
    assert diff < 1e-4
    x = torch.randn(8, 3, 96, 96)
    with torch.no_grad():
        assert torch.allclose(dst.eval()(x), src(x), atol=1e-4)
        # in training mode BatchNorm renormalises with the batch: the function stays close
        same = (dst.train()(calib) * src(calib)).sum(1)
    assert same.mean() > 0.9


def test_a_model_of_another_shape_is_refused(tmp_path):
    to_onnx(_trained_like(0), tmp_path / "small.onnx")
    with pytest.raises(ValueError, match="weight is|convolutions"):
        narrower = build(ModelConfig(width=0.5))
        load_onnx_weights(narrower, tmp_path / "small.onnx", torch.randn(4, 3, 96, 96))


def test_a_flip_averaged_export_loads_back(tmp_path):
    """`export --flip` runs the network twice over the same weights; the second copy of each
    convolution is read as the first, not as more layers."""
    from training.export import write_metadata
    from training.model import FlipAveraged

    src = _trained_like(1)
    to_onnx(FlipAveraged(src).eval(), tmp_path / "f.onnx")
    write_metadata(tmp_path / "f.onnx", {"flip_averaged": "1"})
    dst = build(ModelConfig(width=0.25))
    assert load_onnx_weights(dst, tmp_path / "f.onnx", torch.randn(16, 3, 96, 96)) < 1e-4
    x = torch.randn(4, 3, 96, 96)
    with torch.no_grad():
        assert torch.allclose(dst.eval()(x), src(x), atol=1e-4)


BUNDLED = Path(__file__).resolve().parents[2] / "resources" / "models"


@pytest.mark.skipif(not list(BUNDLED.glob("photoface-*.onnx")), reason="no bundled model")
def test_the_bundled_model_loads_back():
    import json

    from training.quantize import is_quantized

    path = next(BUNDLED.glob("photoface-*.onnx"))
    card = json.loads(path.with_suffix(".json").read_text())
    arch = card["training"]["config"].get("arch", "inception")
    dst = build(ModelConfig(width=card["training"]["config"].get("width", 1.0), arch=arch))
    torch.manual_seed(0)
    # An int8 file computes in int8: its output is the loaded network's to rounding only.
    tolerance = 0.2 if is_quantized(path) else 1e-4
    assert load_onnx_weights(dst, path, torch.randn(8, 3, 96, 96)) < tolerance


def test_an_int8_export_loads_back_its_dequantized_weights(tmp_path):
    """An int8 file holds each weight as int8 values, a scale and a zero point, and its
    convolutions are not in call order: each is matched to its module by the traced name."""
    from training.from_onnx import _onnx_convs
    from training.model import FlipAveraged
    from training.quantize import is_quantized, quantize

    src = _trained_like(2)
    to_onnx(FlipAveraged(src).eval(), tmp_path / "f.onnx")
    calib = torch.randn(32, 3, 96, 96)
    quantize(tmp_path / "f.onnx", tmp_path / "q.onnx", [calib.numpy()], "input")
    assert is_quantized(tmp_path / "q.onnx") and not is_quantized(tmp_path / "f.onnx")
    float_order = [w.shape for _, w, _ in _onnx_convs(tmp_path / "f.onnx")[0]]
    int8_order = [w.shape for _, w, _ in _onnx_convs(tmp_path / "q.onnx")[0]]
    assert sorted(float_order) == sorted(int8_order) and float_order != int8_order
    dst = build(ModelConfig(width=0.25))
    diff = load_onnx_weights(dst, tmp_path / "q.onnx", calib)
    assert 0 < diff < 0.2  # the file's int8 arithmetic against the same weights in float
    flat = build(ModelConfig(width=0.25))
    load_onnx_weights(flat, tmp_path / "f.onnx", calib)
    x = torch.randn(4, 3, 96, 96)
    with torch.no_grad():
        cos = (dst.eval()(x) * flat.eval()(x)).sum(1)
    assert cos.min() > 0.99  # int8 weights: the same function, to rounding
