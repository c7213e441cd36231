"""Choosing the best layer, and how optimistic that choice is.

The study reports the maximum over layers of the raw score. Picking the maximum on the same
splits it is scored on is biased upwards; `cv_raw` picks the layer for split k on the other
splits only, scores it on split k, and averages over k. (ShuffleSplit test sets overlap, so
even this is a little optimistic; it is a diagnostic, not a replacement for the study's number.)
"""

from dataclasses import dataclass

import numpy as np


@dataclass
class BestLayer:
    index: int              # argmax over layers of the raw score
    raw: float              # that maximum (what the study reports)
    cv_raw: float           # mean over splits k of: the layer best on the other splits, scored on k
    cv_indices: np.ndarray  # [splits] the layer chosen for each split


def best_layer(scores):
    """BestLayer from one Score per layer (all with the same splits)."""
    if not scores:
        raise ValueError("no layer scores")
    raws = np.array([score.raw for score in scores])
    if np.isnan(raws).all():
        raise ValueError("every layer's score is NaN")
    per_split = np.stack([score.per_split for score in scores])  # [layers, splits]
    n_splits = per_split.shape[1]
    if n_splits < 2:
        raise ValueError("the cross-validated choice needs at least 2 splits")
    index = int(np.nanargmax(raws))
    # the mean over the other splits, for every (layer, held-out split); NaN treated as -inf
    filled = np.where(np.isnan(per_split), 0.0, per_split)
    counts = (~np.isnan(per_split)).astype(float)
    others = (filled.sum(1, keepdims=True) - filled) / (counts.sum(1, keepdims=True) - counts)
    others = np.where(np.isfinite(others), others, -np.inf)
    cv_indices = np.argmax(others, axis=0)
    cv_raw = float(np.nanmean(per_split[cv_indices, np.arange(n_splits)]))
    return BestLayer(index=index, raw=float(raws[index]), cv_raw=cv_raw, cv_indices=cv_indices)
