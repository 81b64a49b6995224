"""The LFW scoring rules: thresholds from the other folds, or fixed ones; int8 rounding."""

import numpy as np

from training.evaluate import best_threshold, quantised, verify


def pairs(seed: int = 0, n: int = 600, folds: int = 5):
    rng = np.random.default_rng(seed)
    same = rng.random(n) < 0.5
    d = np.where(same, rng.normal(0.8, 0.25, n), rng.normal(1.5, 0.25, n)).clip(0, 4)
    return d, same, np.repeat(np.arange(folds), n // folds)


def test_each_fold_is_scored_at_the_threshold_best_on_the_others():
    d, same, folds = pairs()
    v = verify(d, same, folds)
    for f, t in enumerate(v.fold_thresholds):
        rest = folds != f
        best = max(((d[rest] <= c) == same[rest]).mean() for c in np.unique(d[rest]))
        assert ((d[rest] <= t) == same[rest]).mean() == best
    by_hand = [
        ((d[folds == f] <= t) == same[folds == f]).mean() for f, t in enumerate(v.fold_thresholds)
    ]
    assert v.accuracy == np.mean(by_hand)
    assert abs(best_threshold(d, same) - v.threshold) < 1e-12


def test_fixed_thresholds_score_only_the_pairs_that_moved():
    d, same, folds = pairs(1)
    ref = verify(d, same, folds)
    moved = d.copy()
    # push one right answer of fold 0 across its threshold, leave the rest
    t0 = ref.fold_thresholds[0]
    i = int(np.flatnonzero((folds == 0) & same & (d <= t0))[0])
    moved[i] = t0 + 0.01
    at = verify(moved, same, folds, ref.fold_thresholds)
    assert at.fold_thresholds == ref.fold_thresholds
    assert np.isclose(ref.accuracy - at.accuracy, 1 / (folds == 0).sum() / 5)


def test_int8_rounding_keeps_unit_vectors_close():
    rng = np.random.default_rng(2)
    v = rng.normal(size=(200, 128)).astype(np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    q = quantised(v)
    assert np.allclose(np.linalg.norm(q, axis=1), 1, atol=1e-5)
    assert 0 < np.abs(q - v).max() < 1 / 256


def fake_lfw_cache(tmp_path, teacher: str = "sface"):
    """Ten people of two photos, one same and one different pair per fold, and a teacher's
    cached vectors of them: each person near their own direction, at any length."""
    import json

    data, cache = tmp_path / "data", tmp_path / "cache"
    (data / "lfw").mkdir(parents=True)
    cache.mkdir()
    lines = ["10\t1"]
    for f in range(10):
        lines += [f"P{f}\t1\t2", f"P{f}\t1\tP{(f + 1) % 10}\t1"]
    (data / "lfw" / "pairs.txt").write_text("\n".join(lines) + "\n")
    names = [f"P{f}/P{f}_{k:04d}.jpg" for f in range(10) for k in (1, 2)]
    (cache / "lfw_eval_names.json").write_text(json.dumps(names))
    rng = np.random.default_rng(4)
    base = rng.normal(size=(10, 128))
    vecs = np.repeat(base, 2, 0) + 0.05 * rng.normal(size=(20, 128))
    vecs *= rng.uniform(1, 5, (20, 1))  # raw teacher vectors: not unit length
    np.save(cache / f"lfw_eval_teacher_{teacher}.npy", vecs.astype(np.float32))
    return data, cache


def test_a_teachers_cached_vectors_are_scored_like_a_model(tmp_path, capsys):
    from training import evaluate

    data, cache = fake_lfw_cache(tmp_path)
    args = ["--teacher", "sface", "--cache-dir", str(cache), "--data", str(data)]
    assert evaluate.main(args) == 0
    out = capsys.readouterr().out
    assert "teacher sface on LFW View-2 folds 0-4" in out and "accuracy 100.00%" in out
    res = evaluate.evaluate_teacher("sface", cache, data)
    assert res.accuracy == 1.0 and 0 < res.threshold < 4  # unit vectors: squared L2 in [0, 4]


def test_a_teacher_without_cached_vectors_says_which_command_makes_them(tmp_path):
    import pytest

    from training import evaluate

    data, cache = fake_lfw_cache(tmp_path)
    with pytest.raises(SystemExit, match="training.teacher --set lfw_eval --teacher dlib"):
        evaluate.main(["--teacher", "dlib", "--cache-dir", str(cache), "--data", str(data)])
