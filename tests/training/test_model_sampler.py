"""Model shape and size, and the P x K sampler."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from training.model import FaceNet, count_macs, count_params  # noqa: E402
from training.sampler import PKSampler, SamplerConfig  # noqa: E402


def test_nn4_class_size_and_unit_outputs():
    m = FaceNet().eval()
    assert 3.0e6 < count_params(m) < 5.0e6  # nn4.small2 is ~3.7M
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
