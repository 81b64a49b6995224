"""Face detection behind one small protocol: YuNet (default, ONNX) and MediaPipe's BlazeFace."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from photoface.errors import ModelMissingError, PhotofaceError

log = logging.getLogger(__name__)

DETECTORS = ("yunet", "blazeface")
DEFAULT_DETECTOR = "yunet"
YUNET_FILE = "yunet_n_dynamic.onnx"
# Installed into the user's models folder by `photoface setup-blazeface` (models_install.py).
BLAZEFACE_FILE = "face_detection_full_range_sparse.tflite"


@dataclass(frozen=True)
class Detection:
    """One face: box (x, y, w, h) and five landmarks (image-left eye, image-right eye, nose tip,
    image-left and image-right mouth corner) in the pixels of the image it was found in."""

    box: tuple[float, float, float, float]
    landmarks: np.ndarray  # (5, 2) float32
    score: float

    def scaled(self, factor: float) -> Detection:
        x, y, w, h = self.box
        return Detection(
            box=(x * factor, y * factor, w * factor, h * factor),
            landmarks=(self.landmarks * factor).astype(np.float32),
            score=self.score,
        )


class Detector(Protocol):
    name: str

    def detect(self, rgb: np.ndarray) -> list[Detection]:
        """Faces in an H x W x 3 uint8 RGB array, in that array's pixels, best first."""
        ...


def nms(boxes: np.ndarray, scores: np.ndarray, iou: float) -> list[int]:
    """Greedy non-maximum suppression over (x, y, w, h) boxes; indices kept, best first."""
    order = np.argsort(-scores)
    x1, y1 = boxes[:, 0], boxes[:, 1]
    x2, y2 = x1 + boxes[:, 2], y1 + boxes[:, 3]
    area = np.maximum(boxes[:, 2], 0) * np.maximum(boxes[:, 3], 0)
    keep: list[int] = []
    while order.size:
        i = int(order[0])
        keep.append(i)
        rest = order[1:]
        iw = np.clip(np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]), 0, None)
        ih = np.clip(np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]), 0, None)
        inter = iw * ih
        union = area[i] + area[rest] - inter
        order = rest[inter / np.maximum(union, 1e-9) <= iou]
    return keep


class YuNetDetector:
    """YuNet in onnxruntime; decodes the per-stride heads (cls, obj, box, 5 landmarks) itself."""

    name = "yunet"
    STRIDES = (8, 16, 32)

    def __init__(
        self,
        model_path: Path,
        score_threshold: float = 0.6,
        nms_iou: float = 0.3,
        threads: int = 2,
    ) -> None:
        from photoface.core.runtime import cpu_session

        if not Path(model_path).is_file():
            raise ModelMissingError(f"YuNet model not found at {model_path}")
        self.model_path = Path(model_path)  # scan workers open their own copy from it
        self._session = cpu_session(Path(model_path), threads)
        self._outputs = [o.name for o in self._session.get_outputs()]
        self.score_threshold = score_threshold
        self.nms_iou = nms_iou

    def detect(self, rgb: np.ndarray) -> list[Detection]:
        h, w = rgb.shape[:2]
        ph, pw = -(-h // 32) * 32, -(-w // 32) * 32
        blob = np.zeros((1, 3, ph, pw), np.float32)
        blob[0, :, :h, :w] = rgb[:, :, ::-1].transpose(2, 0, 1)  # the net was trained on BGR
        out = dict(zip(self._outputs, self._session.run(None, {"input": blob}), strict=True))
        boxes, kps, scores = [], [], []
        for s in self.STRIDES:
            cols, rows = pw // s, ph // s
            cls = np.clip(out[f"cls_{s}"][0, :, 0], 0, 1)
            obj = np.clip(out[f"obj_{s}"][0, :, 0], 0, 1)
            score = np.sqrt(cls * obj)
            idx = np.nonzero(score >= self.score_threshold)[0]
            if idx.size == 0:
                continue
            r, c = np.divmod(idx, cols)
            assert rows * cols == score.size
            b = out[f"bbox_{s}"][0, idx]
            cx, cy = (c + b[:, 0]) * s, (r + b[:, 1]) * s
            bw, bh = np.exp(b[:, 2]) * s, np.exp(b[:, 3]) * s
            boxes.append(np.stack([cx - bw / 2, cy - bh / 2, bw, bh], 1))
            k = out[f"kps_{s}"][0, idx].reshape(-1, 5, 2)
            kps.append((k + np.stack([c, r], 1)[:, None, :]) * s)
            scores.append(score[idx])
        if not boxes:
            return []
        all_boxes, all_kps = np.concatenate(boxes), np.concatenate(kps)
        all_scores = np.concatenate(scores)
        keep = nms(all_boxes, all_scores, self.nms_iou)
        return [
            Detection(
                box=tuple(float(v) for v in all_boxes[i]),
                landmarks=all_kps[i].astype(np.float32),
                score=float(all_scores[i]),
            )
            for i in keep
        ]


class BlazeFaceDetector:
    """MediaPipe Tasks' FaceDetector running BlazeFace full-range (fast; weak on small faces)."""

    name = "blazeface"

    def __init__(self, model_path: Path, score_threshold: float = 0.5) -> None:
        if not Path(model_path).is_file():
            raise ModelMissingError(
                f"BlazeFace model not found at {model_path}. "
                "Run `photoface setup-blazeface` once (it reads the file out of the "
                "mediapipe 0.10.21 wheel and checks its sha256)."
            )
        from mediapipe.tasks.python import BaseOptions, vision

        self.model_path, self.score_threshold = Path(model_path), score_threshold
        opts = vision.FaceDetectorOptions(
            base_options=BaseOptions(model_asset_path=str(model_path)),
            min_detection_confidence=score_threshold,
        )
        self._detector = vision.FaceDetector.create_from_options(opts)

    def close(self) -> None:
        """Free the task (mediapipe's own finaliser fails if left to interpreter teardown)."""
        if self._detector is not None:
            self._detector.close()
            self._detector = None

    def detect(self, rgb: np.ndarray) -> list[Detection]:
        import mediapipe as mp

        h, w = rgb.shape[:2]
        image = mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(rgb))
        result = self._detector.detect(image)
        found = []
        for d in result.detections:
            bb = d.bounding_box
            pts = np.array([[k.x * w, k.y * h] for k in d.keypoints[:4]], np.float32)
            # BlazeFace gives eyes, nose tip, mouth centre: the centre stands for both corners.
            lm = np.vstack([pts[0], pts[1], pts[2], pts[3], pts[3]])
            score = d.categories[0].score if d.categories else 0.0
            box = (float(bb.origin_x), float(bb.origin_y), float(bb.width), float(bb.height))
            found.append(Detection(box=box, landmarks=lm, score=float(score)))
        found.sort(key=lambda d: -d.score)
        return found


def make_detector(name: str, threads: int = 2) -> Detector:
    """The detector a setting names, from the bundled or the user's models folder."""
    from photoface import paths

    if name == "yunet":
        return YuNetDetector(paths.bundled_models_dir() / YUNET_FILE, threads=threads)
    if name == "blazeface":
        return BlazeFaceDetector(paths.user_models_dir() / BLAZEFACE_FILE)
    raise PhotofaceError(f"unknown detector {name!r}; choose one of {', '.join(DETECTORS)}")
