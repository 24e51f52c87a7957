"""Detection quality: predicted boxes matched one-to-one to ground-truth boxes at IoU >= 0.5."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


def iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two convex quadrilaterals."""
    a, b = a.astype(np.float32), b.astype(np.float32)
    inter, _ = cv2.intersectConvexConvex(a, b)
    union = abs(cv2.contourArea(a)) + abs(cv2.contourArea(b)) - inter
    return float(inter / union) if union > 0 else 0.0


def outside(predicted: list[np.ndarray], ignore: np.ndarray, share: float = 0.5) -> list[np.ndarray]:
    """The predicted boxes that do not lie mostly (more than ``share`` of their area) inside the
    ``ignore`` quadrilaterals: a detection of text the labels leave out is neither right nor wrong."""
    kept = []
    for box in predicted:
        box = box.astype(np.float32)
        area = abs(cv2.contourArea(box))
        covered = sum(cv2.intersectConvexConvex(box, other.astype(np.float32))[0] for other in ignore)
        if area <= 0 or covered <= share * area:
            kept.append(box)
    return kept


@dataclass
class DetectionMeter:
    matched: int = 0
    predicted: int = 0
    expected: int = 0

    def add(self, predicted: list[np.ndarray], expected: list[np.ndarray], threshold: float = 0.5) -> None:
        """Greedy matching, best pairs first."""
        pairs = sorted(
            ((iou(p, e), i, j) for i, p in enumerate(predicted) for j, e in enumerate(expected)), reverse=True
        )
        used_p, used_e = set(), set()
        for value, i, j in pairs:
            if value < threshold:
                break
            if i not in used_p and j not in used_e:
                used_p.add(i)
                used_e.add(j)
        self.matched += len(used_p)
        self.predicted += len(predicted)
        self.expected += len(expected)

    @property
    def precision(self) -> float:
        return self.matched / self.predicted if self.predicted else 1.0

    @property
    def recall(self) -> float:
        return self.matched / self.expected if self.expected else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0
