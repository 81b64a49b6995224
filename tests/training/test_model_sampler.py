"""Model shape and size, and the P x K sampler."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from training.augment import AugmentConfig, augment  # noqa: E402
from training.model import ModelConfig, build, count_macs, count_params  # noqa: E402
from training.sampler import PKSampler, SamplerConfig  # noqa: E402


@pytest.mark.parametrize("arch", ["inception", "resnet"])
def test_nn4_class_size_and_unit_outputs(arch):
    m = build(ModelConfig(arch=arch)).eval()
    assert 2.5e6 < count_params(m) < 5.0e6  # nn4.small2 is ~3.7M; the cap is 5M
    assert count_macs(m) < 400e6
    with torch.no_grad():
        y = m(torch.randn(3, 3, 96, 96))
    assert y.shape == (3, 128)
    assert torch.allclose(y.norm(dim=1), torch.ones(3), atol=1e-5)


def test_pk_batches_hold_k_faces_of_p_people_plus_extras():
    labels = np.repeat(np.arange(30), 5)
    labels = np.concatenate([labels, np.arange(100, 140)])  # single-photo people
    s = PKSampler(labels, SamplerConfig(people=6, per_person=4, extra=8), seed=0)
    for _ in range(20):
        b = s.batch()
        assert len(b) == 6 * 4 + 8
        core = labels[b[:24]]
        _, counts = np.unique(core, return_counts=True)
        assert len(counts) == 6 and (counts == 4).all()


def test_sampler_refuses_data_without_enough_people():
    with pytest.raises(ValueError, match="identities"):
        PKSampler(np.arange(10), SamplerConfig(people=4), seed=0)


@pytest.mark.parametrize("name", ["basic", "album"])
def test_augmentation_keeps_shape_range_and_is_seeded(name):
    crops = np.random.default_rng(0).integers(0, 256, (8, 112, 112, 3), dtype=np.uint8)
    cfg = AugmentConfig.named(name)
    x = augment(crops, np.random.default_rng(1), cfg)
    assert x.shape == (8, 3, 96, 96) and torch.isfinite(x).all()
    assert x.min() >= (0 - 127.5) / 128 and x.max() <= (255 - 127.5) / 128
    assert torch.equal(x, augment(crops, np.random.default_rng(1), cfg))


def test_album_augmentation_darkens_some_faces():
    crops = np.full((64, 112, 112, 3), 128, np.uint8)
    plain = AugmentConfig(colour=0.0, blur_p=0, jpeg_p=0)
    dark = AugmentConfig(colour=0.0, blur_p=0, jpeg_p=0, dark_p=1.0, noise=0.0)
    a = augment(crops, np.random.default_rng(0), plain)
    b = augment(crops, np.random.default_rng(0), dark)
    assert (b.mean((1, 2, 3)) < a.mean((1, 2, 3)) - 0.1).all()


def test_flip_averaging_is_mirror_invariant_and_exports_with_parity(tmp_path):
    from training.export import parity, to_onnx
    from training.model import FlipAveraged

    m = FlipAveraged(build(ModelConfig(width=0.25))).eval()
    x = torch.randn(4, 3, 96, 96)
    with torch.no_grad():
        a, b = m(x), m(torch.flip(x, dims=[3]))
    assert torch.allclose(a, b, atol=1e-5) and torch.allclose(a.norm(dim=1), torch.ones(4))
    to_onnx(m, tmp_path / "flip.onnx")
    assert parity(m, tmp_path / "flip.onnx") < 1e-4
