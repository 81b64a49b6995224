"""The teachers' caches: SFace's loader, crop and checks; dlib + SFace combined; training on
each teacher's vectors (tiny fake caches, fake teachers)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from training import teacher as T

onnx = pytest.importorskip("onnx")


def graph_listing_weights_as_inputs() -> bytes:
    """A tiny model written like SFace's: an initializer and an unused tensor among the graph
    inputs."""
    from onnx import TensorProto, helper, numpy_helper

    w = numpy_helper.from_array(np.full((1, 3, 1, 1), 2.0, np.float32), "w")
    graph = helper.make_graph(
        [helper.make_node("Conv", ["data", "w"], ["out"])],
        "g",
        [
            helper.make_tensor_value_info("data", TensorProto.FLOAT, [1, 3, 4, 4]),
            helper.make_tensor_value_info("w", TensorProto.FLOAT, [1, 3, 1, 1]),
            helper.make_tensor_value_info("unused", TensorProto.FLOAT, [1]),
        ],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, [1, 1, 4, 4])],
        [w],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]).SerializeToString()


def test_graph_inputs_no_node_needs_are_dropped_so_onnxruntime_runs_it():
    import onnxruntime as ort

    raw = graph_listing_weights_as_inputs()
    before = ort.InferenceSession(raw, providers=["CPUExecutionProvider"])
    assert "unused" in [i.name for i in before.get_inputs()]  # onnxruntime would ask for it
    sess = ort.InferenceSession(T.loadable(raw), providers=["CPUExecutionProvider"])
    assert [i.name for i in sess.get_inputs()] == ["data"]
    out = sess.run(None, {"data": np.ones((1, 3, 4, 4), np.float32)})[0]
    assert np.allclose(out, 6.0)  # the initializer's weights, not an input's


def test_a_file_that_is_not_the_expected_sface_is_refused():
    with pytest.raises(ValueError, match="not the SFace model"):
        T.check_sface(b"\0" * T.SFACE_SIZE)


def test_the_sface_crop_puts_the_landmarks_on_arcfaces_template():
    rng = np.random.default_rng(0)
    photo = rng.integers(0, 255, (300, 300, 3), dtype=np.uint8)
    # landmarks at the template, shifted by (50, 40): the crop is that window of the photo
    crop = T.sface_crop(photo, T.ARCFACE_TEMPLATE + [50, 40])
    assert crop.shape == (112, 112, 3)
    assert np.abs(crop.astype(int) - photo[40:152, 50:162]).max() <= 1
    x = T.sface_input(crop[None])
    assert x.shape == (1, 3, 112, 112) and x.dtype == np.float32 and x.max() > 200  # 0-255


def test_both_teachers_combine_with_the_same_spread_and_no_face_stays_zero():
    rng = np.random.default_rng(1)
    # dlib-like vectors share a large common part; SFace-like ones do not
    dlib = (rng.normal(size=(200, 128)) * 0.3 + 3.0).astype(np.float32)
    sface = rng.normal(size=(200, 128)).astype(np.float32)
    dlib[5] = sface[5] = 0  # a photo without a face
    both = T.combine(dlib, sface)
    assert both.shape == (200, 256) and not both[5].any()
    face = np.arange(200) != 5
    i, j = rng.integers(0, 199, (2, 3000))
    i, j = np.flatnonzero(face)[i], np.flatnonzero(face)[j]
    keep = i != j
    halves = [
        ((both[i, s] - both[j, s]) ** 2).sum(1)[keep].mean()
        for s in (slice(0, 128), slice(128, 256))
    ]
    assert halves[0] == pytest.approx(halves[1], rel=0.1)  # one teacher does not drown the other
    assert sum(halves) == pytest.approx(2.0, rel=0.1)


def fake_cache(root, n: int = 24, people: int = 6):
    """A prepared cache of random crops: a manifest, boxes, landmarks, one row without a face."""
    rng = np.random.default_rng(2)
    root.mkdir()
    lines = ["index\tidentity\tpath\tok"]
    for k in range(n):
        lines.append(f"{k}\tfake/{k % people}\t{root}/p{k}.jpg\t{int(k != 3)}")
    (root / "train_manifest.tsv").write_text("\n".join(lines) + "\n")
    np.save(root / "train_crops.npy", rng.integers(0, 255, (n, 112, 112, 3), dtype=np.uint8))
    np.save(root / "train_boxes.npy", np.tile([10, 10, 50, 50], (n, 1)).astype(np.float32))
    np.save(root / "train_landmarks.npy", np.tile(T.ARCFACE_TEMPLATE, (n, 1, 1)))
    return root


def fake_teachers(monkeypatch):
    """Each teacher's vector of a photo: a fixed random vector per photo and teacher."""

    def describe(args):
        name, path, _box, _lm = args
        seed = int(Path(path).stem[1:]) + (1000 if name == "sface" else 0)
        offset = 3.0 if name == "dlib" else 0.0
        return np.random.default_rng(seed).normal(size=128).astype(np.float32) + offset

    monkeypatch.setattr(T, "_init", lambda name: None)
    monkeypatch.setattr(T, "describe", describe)


def test_the_teacher_command_caches_each_teacher_and_both(tmp_path, monkeypatch):
    cache = fake_cache(tmp_path / "cache")
    fake_teachers(monkeypatch)
    assert T.main(["--cache-dir", str(cache), "--workers", "0", "--teacher", "both"]) == 0
    dlib, sface = np.load(cache / "teacher_dlib.npy"), np.load(cache / "teacher_sface.npy")
    both = np.load(cache / "teacher_both.npy")
    assert dlib.shape == sface.shape == (24, 128) and both.shape == (24, 256)
    assert not dlib[3].any() and not both[3].any() and dlib[4].any()
    assert np.allclose(both, T.combine(dlib, sface))
    # resumable: the shards are reused, not recomputed
    monkeypatch.setattr(T, "describe", lambda args: pytest.fail("recomputed"))
    assert T.main(["--cache-dir", str(cache), "--workers", "0", "--teacher", "sface"]) == 0


def test_an_unknown_teacher_is_one_line_and_exit_1(tmp_path, capsys):
    assert T.main(["--cache-dir", str(tmp_path), "--teacher", "vgg"]) == 1
    assert capsys.readouterr().err.startswith("photoface: error: --teacher 'vgg'")


@pytest.mark.parametrize(
    "teacher,target",
    [("sface", "distance"), ("both", "centred"), ("both", "distance"), ("dlib", "centred")],
)
def test_training_learns_from_each_teachers_cache(tmp_path, monkeypatch, teacher, target):
    pytest.importorskip("torch")
    from training import train

    cache = fake_cache(tmp_path / "cache")
    fake_teachers(monkeypatch)
    T.main(["--cache-dir", str(cache), "--workers", "0", "--teacher", "both"])
    args = ["--preset", "small", "--steps", "2", "--log-every", "1", "--cache-dir", str(cache)]
    args += ["--teacher", teacher, "--teacher-target", target, "--name", "t"]
    assert train.main(args) == 0
    log = (cache / "runs" / "t" / "log.txt").read_text()
    assert f"teacher {teacher}" in log and "distill" in log and "step 2/2" in log


def test_training_without_that_teachers_cache_says_so(tmp_path):
    pytest.importorskip("torch")
    from training import train

    cache = fake_cache(tmp_path / "cache")
    with pytest.raises(SystemExit, match="no sface teacher cache"):
        train.main(["--steps", "1", "--cache-dir", str(cache), "--teacher", "sface"])
