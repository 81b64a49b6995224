"""The extra face sources of issue 16 in the training set: LFW evaluation people left out by
name, the in-the-wild tuning album's people held out, counts checked."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.photos import face_photo, save_jpeg
from training import data as tdata

ROOT = Path(__file__).resolve().parents[2]


def fake_lfw_and_celeba(root: Path) -> Path:
    """LFW with an evaluation person (fold 3) and a training person (fold 7) who are also
    among the extra celebrities, and a celeba-wild-200 with one held-out identity."""
    lfw = root / "lfw"
    (lfw / "lfw-deepfunneled").mkdir(parents=True)
    folds = ["# identity\tfold", "Barack_Obama\t3", "Tom_Hanks\t7", "Free_Person\t9"]
    (lfw / "view2_identity_fold_from_pairs.tsv").write_text("\n".join(folds) + "\n")
    for k, name in enumerate(("Barack_Obama", "Tom_Hanks", "Free_Person")):
        save_jpeg(face_photo(k), lfw / "lfw-deepfunneled" / name / f"{name}_0001.jpg")
    for k, ident in enumerate(("7203", "9999")):  # 7203: held out for the tuning album
        save_jpeg(face_photo(10 + k), root / "celeba-wild-200" / ident / "a.jpg")
    (root / "celeba-aligned").mkdir()
    for sub in ("orl", "yaleB", "yale"):
        (root / "classic" / sub).mkdir(parents=True)
    return root


def fake_extra(
    root: Path,
    people: tuple[str, ...] = ("Barack Obama", "Tom Hanks", "Miley Cyrus"),
    ages: int = 3,
) -> Path:
    for i in range(ages):
        save_jpeg(face_photo(20 + i), root / tdata.ALL_AGE_DIR / f"{i:05d}A{20 + i}.jpg")
    for k, person in enumerate(people):
        variant = 30 + k
        face = face_photo(variant)
        # a pre-aligned 112 x 112 face, as Face-Applications stores them (the astronaut's face
        # is centred near (225, 116) before face_photo's shift)
        cx, cy = 225 - variant % 5 * 4, 116 - variant // 5 % 5 * 4
        small = face[cy - 58 : cy + 58, cx - 58 : cx + 58]
        from PIL import Image

        folder = root / tdata.CELEB_DIR / person
        folder.mkdir(parents=True)
        Image.fromarray(small).resize((112, 112)).save(folder / f"{k}.png")
    (root / tdata.CELEB_DIR / "Will Smith").mkdir()  # not one of the twelve: never read
    save_jpeg(face_photo(40), root / tdata.CELEB_DIR / "Will Smith" / "0.jpg")
    return root


def test_lfw_evaluation_people_are_left_out_of_the_extra_sources_by_name(tmp_path):
    data = fake_lfw_and_celeba(tmp_path / "data")
    items = tdata.training_items(data, fake_extra(tmp_path / "extra"))
    names = {i.identity for i in items}
    assert not any("Barack_Obama" in n for n in names)  # "Barack Obama" is LFW's fold 3
    assert "lfw/Tom_Hanks" in names and "celeb/Tom_Hanks" not in names  # one person, one label
    assert "celeb/Miley_Cyrus" in names
    assert not any("Will" in n for n in names)
    assert sum(n.startswith("allage/") for n in names) == 3  # each photo its own person
    assert "celeba/9999" in names and "celeba/7203" not in names  # the tuning album's


def test_without_extra_data_only_the_shared_sets_are_used(tmp_path):
    data = fake_lfw_and_celeba(tmp_path / "data")
    names = {i.identity for i in tdata.training_items(data)}
    assert names == {"lfw/Tom_Hanks", "lfw/Free_Person", "celeba/9999"}


def test_unexpected_counts_and_missing_sources_are_warned_about(tmp_path, caplog):
    data = fake_lfw_and_celeba(tmp_path / "data")
    with caplog.at_level(logging.WARNING):
        tdata.training_items(data, fake_extra(tmp_path / "extra"))
    assert "expected 13322" in caplog.text and "expected 5734" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        tdata.training_items(data, tmp_path / "nothing")
    assert "skipped" in caplog.text


def test_the_holdout_is_sixty_fixed_ids():
    assert len(tdata.WILD_HOLDOUT) == 60
    assert min(tdata.WILD_HOLDOUT, key=int) == "7203" and "7289" in tdata.WILD_HOLDOUT


def test_names_are_normalised_as_lfw_spells_them():
    assert tdata.lfw_name("Barack Obama") == "Barack_Obama"
    assert tdata.lfw_name(" Robert  Downey Jr ") == "Robert_Downey_Jr"
    assert tdata.lfw_name("Barack_Obama") == "Barack_Obama"


class BigOnlyDetector:
    """Finds one face, 40% of the image wide at its centre, in images at least 200 px high."""

    def detect(self, rgb: np.ndarray) -> list:
        from photoface.core.detect import Detection

        h, w = rgb.shape[:2]
        if h < 200:
            return []
        marks = np.array([[0.4, 0.4], [0.6, 0.4], [0.5, 0.5], [0.42, 0.6], [0.58, 0.6]])
        box = (0.3 * w, 0.3 * h, 0.4 * w, 0.4 * h)
        return [Detection(box, (marks * [w, h]).astype(np.float32), 0.9)]


def test_a_face_filling_a_small_photo_is_found_enlarged_in_its_own_pixels(monkeypatch):
    from training import prepare

    monkeypatch.setattr(prepare, "_detector", BigOnlyDetector())
    (det,) = prepare._detect_enlarged(np.zeros((112, 112, 3), np.uint8))
    # the enlarged image is 112 * 2 + 2 * 56 = 336 px: its centre is the photo's
    assert np.allclose(det.landmarks[0], [(0.4 * 336 - 56) / 2] * 2)
    assert np.allclose(det.box, [(0.3 * 336 - 56) / 2] * 2 + [0.4 * 336 / 2] * 2)


def manifest_identities(cache: Path) -> list[str]:
    rows = (cache / "train_manifest.tsv").read_text().splitlines()[1:]
    return [r.split("\t")[1] for r in rows]


def assert_no_evaluation_person(identities: list[str], folds: dict[str, int]) -> None:
    for ident in identities:
        source, _, name = ident.partition("/")
        if source in ("lfw", "celeb"):
            assert folds.get(tdata.lfw_name(name), -1) not in tdata.EVAL_FOLDS, ident
        assert not (source == "celeba" and name in tdata.WILD_HOLDOUT), ident


@pytest.mark.slow
def test_prepare_puts_no_evaluation_person_in_the_manifest(tmp_path):
    data = fake_lfw_and_celeba(tmp_path / "data")
    extra = fake_extra(tmp_path / "extra")
    cache = tmp_path / "cache"
    (data / "lfw" / "pairs.txt").write_text(
        "1\t1\nFree_Person\t1\t1\nFree_Person\t1\tTom_Hanks\t1\n"
    )
    cmd = [sys.executable, "-m", "training.prepare", "--data", str(data)]
    cmd += ["--extra-data", str(extra), "--cache-dir", str(cache), "--workers", "1"]
    cmd += ["--lfw-folds", "1"]
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    idents = manifest_identities(cache)
    assert_no_evaluation_person(idents, tdata.lfw_folds(data / "lfw"))
    assert "celeb/Miley_Cyrus" in idents and "lfw/Tom_Hanks" in idents
    ok = [
        r.split("\t")[3] == "1" for r in (cache / "train_manifest.tsv").read_text().splitlines()[1:]
    ]
    landmarks = np.load(cache / "train_landmarks.npy")
    assert all(ok) and landmarks.shape == (len(idents), 5, 2)
    # Every celebrity photo counts for its source, the one filed under an LFW name too.
    paths = [r.split("\t")[2] for r in (cache / "train_manifest.tsv").read_text().splitlines()[1:]]
    counts = json.loads((cache / "prepare.json").read_text())["sources"]
    assert counts["celeb"] == sum("celebrity_images" in p for p in paths)
    assert sum("celebrity_images" in p for p in paths) > idents.count("celeb/Miley_Cyrus")
    # the pre-aligned 112 x 112 faces: landmarks in the photo's own pixels
    celeb = [k for k, i in enumerate(idents) if i.startswith("celeb/")]
    assert (landmarks[celeb] > 0).all() and (landmarks[celeb] < 112).all()


@pytest.mark.data
def test_the_real_manifest_holds_no_evaluation_person(shared_data):
    manifest = tdata.default_cache_dir() / "train_manifest.tsv"
    if not manifest.exists():
        pytest.skip(f"no {manifest}: run python -m training.prepare")
    folds = tdata.lfw_folds(shared_data / "lfw")
    assert_no_evaluation_person(manifest_identities(manifest.parent), folds)
