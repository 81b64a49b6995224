"""Benchmark commands: a tiny smoke run of each, and the detection bar on the shared set."""

from __future__ import annotations

import numpy as np
import pytest

from photoface.bench import clustering, detection, scan
from photoface.core import imaging
from photoface.core.detect import make_detector
from tests.fakes import astronaut
from tests.photos import make_album, save_jpeg


def test_iou_and_matching_count_each_detection_once():
    truth = np.array([[0, 0, 10, 10], [1, 1, 10, 10]], float)
    found = np.array([[0, 0, 10, 10]], float)
    assert detection.iou_matrix(truth, found)[0, 0] == pytest.approx(1.0)
    assert detection.hits(truth, found).tolist() == [True, False]


def test_detection_benchmark_on_a_labelled_folder(tmp_path, capsys):
    save_jpeg(astronaut(), tmp_path / "a.jpg")
    (tmp_path / "boxes.tsv").write_text("file\tx\ty\tw\th\na.jpg\t165\t70\t80\t100\n")
    args = [str(tmp_path), "--detectors", "yunet", "--sizes", "full,256", "--repeat", "1"]
    assert detection.main(args) == 0
    out = capsys.readouterr().out
    assert "1/1   100%" in out


@pytest.mark.data
def test_default_detector_finds_nine_in_ten_faces_of_20px_in_groups(shared_data):
    folder = shared_data / "groups"
    photos = detection.prepare(folder, 1, None)
    r = detection.evaluate(make_detector("yunet"), photos, imaging.DEFAULT_MAX_SIDE)
    found, labelled = r[">=20"]
    assert found / labelled >= 0.90


def test_clustering_benchmark_runs_one_size():
    r = clustering.run_one(400, None, threshold=1.0)
    assert r["faces"] == 400 and r["people"] > 0 and r["full_s"] > 0
    x, person = clustering.synthetic(400)
    assert x.shape == (400, 128) and np.allclose(np.linalg.norm(x, axis=1), 1, atol=1e-5)


def test_scan_benchmark_on_a_small_folder(tmp_path, with_model, capsys):
    make_album(tmp_path / "album", n_faces=2, broken=False)
    assert scan.main([str(tmp_path / "album"), "--repeat", "1", "--large", "1"]) == 0
    out = capsys.readouterr().out
    assert "photos/s" in out and "12 MP JPEGs" in out and "embed:" in out
    assert out.count("cores used") == 2 and out.count("scan / floor = ") == 2
    assert "resize to 1600 px: OpenCV" in out


def brute_scores(pred, truth):
    n = len(pred)
    pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
    same_p = {(i, j) for i, j in pairs if pred[i] == pred[j]}
    same_t = {(i, j) for i, j in pairs if truth[i] == truth[j]}
    p = len(same_p & same_t) / len(same_p) if same_p else 1.0
    r = len(same_p & same_t) / len(same_t) if same_t else 1.0

    def agreement(a, b, i):
        """Of the faces that `b` puts with face i, the share that `a` puts with it too."""
        return np.mean([a[j] == a[i] for j in range(n) if b[j] == b[i]])

    bp = np.mean([agreement(truth, pred, i) for i in range(n)])
    br = np.mean([agreement(pred, truth, i) for i in range(n)])
    return p, r, bp, br


def test_album_scores_match_brute_force():
    from photoface.bench.albums import score

    rng = np.random.default_rng(3)
    truth = rng.integers(0, 5, 40)
    pred = np.where(rng.random(40) < 0.8, truth, rng.integers(0, 7, 40))
    s = score(pred, truth)
    p, r, bp, br = brute_scores(pred.tolist(), truth.tolist())
    assert (s.pair_p, s.pair_r) == pytest.approx((p, r))
    assert (s.b3_p, s.b3_r) == pytest.approx((bp, br))
    perfect = score(truth, truth)
    assert perfect.pair_f1 == perfect.b3_f1 == 1.0 and perfect.mixed == 0.0


def test_unsorted_faces_score_as_singletons():
    from photoface.bench.albums import score
    from photoface.core.cluster import UNSORTED

    truth = np.array([0, 0, 0, 1, 1, 1])
    pred = np.array([5, 5, 5, UNSORTED, UNSORTED, UNSORTED])
    s = score(pred, truth)
    assert s.pair_p == 1.0 and s.pair_r == pytest.approx(0.5) and s.unsorted == 0.5


def test_junk_clusters_are_people_without_a_labelled_face():
    from photoface.bench.albums import junk_clusters
    from photoface.core.cluster import UNSORTED

    pred = np.array([1, 1, 1, 2, 2, 2, 3, 3, UNSORTED, 4, 4, 4])
    labelled = np.array([1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], bool)
    assert junk_clusters(pred, labelled) == 1  # cluster 2; 3 is too small, 1 and 4 labelled


def test_album_benchmark_smoke(tmp_path, with_model, capsys):
    from photoface.bench import albums
    from tests.photos import face_photo

    lfw = tmp_path / "lfw"
    folds = ["# identity\tfold"]
    k = 0
    for i, (name, n) in enumerate([("Ann_A", 4), ("Bob_B", 3), ("Cy_C", 1), ("Di_D", 1)]):
        for j in range(n):
            save_jpeg(face_photo(k), lfw / "lfw-deepfunneled" / name / f"{name}_{j + 1:04d}.jpg")
            k += 1
        folds.append(f"{name}\t{i % 2}")
    (lfw / "view2_identity_fold_from_pairs.tsv").write_text("\n".join(folds) + "\n")
    save_jpeg(face_photo(99), tmp_path / "crowd" / "party.jpg")
    args = [str(lfw), "--split", "tune", "--grid", "--threshold", "0.9"]
    args += ["--distractors", str(tmp_path / "crowd")]
    assert albums.main(args) == 0
    out = capsys.readouterr().out
    assert "9 photos of 4 people" in out and "10 faces, 9 labelled; 1 distractor" in out
    assert "best BCubed F1 on this split" in out and "DBSCAN" in out and "complete" in out
    assert "q=0.60" in out and "same-photo pairs merged without the constraint: 0" in out


def test_embedding_benchmark_prints_ms_per_face(tiny_model, capsys):
    from photoface.bench import embed

    assert embed.main([str(tiny_model), "--batches", "1,4", "--faces", "8", "--repeat", "1"]) == 0
    out = capsys.readouterr().out
    assert "batch   1:" in out and "batch   4:" in out and "ms per face" in out


def fake_wild_and_lfw(root):
    """celeba-wild-200 with two held-out people (one with too few photos) and one training
    person; LFW with one-photo strangers in a tune fold (1) and a report fold (3)."""
    from tests.photos import face_photo

    k = 0
    for ident, n in (("7203", 4), ("7204", 2), ("9999", 3)):
        for _ in range(n):
            save_jpeg(face_photo(k), root / "celeba-wild-200" / ident / f"{k:06d}.jpg")
            k += 1
    lfw = root / "lfw"
    folds = ["# identity\tfold"]
    for name, fold in (("Tu_Ne", 1), ("Re_Port", 3)):
        save_jpeg(face_photo(k), lfw / "lfw-deepfunneled" / name / f"{name}_0001.jpg")
        folds.append(f"{name}\t{fold}")
        k += 1
    (lfw / "view2_identity_fold_from_pairs.tsv").write_text("\n".join(folds) + "\n")
    return lfw


def test_the_wild_album_holds_only_held_out_people_and_tune_strangers(tmp_path):
    from photoface.bench.albums import WILD_HOLDOUT, build_wild_album

    lfw = fake_wild_and_lfw(tmp_path)
    album = build_wild_album(tmp_path / "celeba-wild-200", lfw)
    people = [p for _, p in album.photos]
    assert people == ["celeba/7203"] * 4 + ["Tu_Ne"]  # 7204: < 3 photos; 9999: trained on
    assert len(WILD_HOLDOUT) == 60 and "9999" not in WILD_HOLDOUT


def test_the_wild_split_runs_and_a_missing_folder_is_one_line(tmp_path, with_model, capsys):
    from photoface.bench import albums

    lfw = fake_wild_and_lfw(tmp_path)
    assert albums.main([str(lfw), "--split", "wild", "--threshold", "0.9"]) == 0
    out = capsys.readouterr().out
    assert "split wild" in out and "5 photos of 2 people" in out and "BCubed" in out
    assert albums.main([str(lfw), "--split", "wild", "--wild", str(tmp_path / "none")]) == 1
    assert capsys.readouterr().err.startswith("photoface: error: no photos of the held-out")
