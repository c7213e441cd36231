"""The result of a cross-validated metric, aggregated the way Brain-Score does it.

Per split: the median over ALL neuroids (subjects pooled), NaN r skipped (as xarray's median).
Raw score: the mean of those medians over splits (NaN splits skipped, as xarray's mean).
"""

import warnings
from dataclasses import dataclass

import numpy as np
from scipy.stats import median_abs_deviation


@dataclass
class Score:
    raw: float                      # mean over splits of the per-split median r
    per_split: np.ndarray           # [splits] median r over all neuroids
    per_split_neuroid: np.ndarray   # [splits, neuroids] test-set r
    per_neuroid: np.ndarray         # [neuroids] mean r over splits
    per_subject: dict | None = None  # subject -> mean over splits of the median over its neuroids
    mad_over_subjects: float | None = None  # median absolute deviation of per_subject values
    alphas: np.ndarray | None = None  # [splits] ridge penalty chosen in each split (ridge only)


def _nanmedian(values, axis):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices give NaN, quietly
        return np.nanmedian(values, axis=axis)


def _nanmean(values, axis=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(values, axis=axis)


def make_score(r, subjects=None, alphas=None):
    """Score from r [splits, neuroids]; `subjects` holds one label per neuroid (or None)."""
    per_split = _nanmedian(r, axis=1)
    per_subject = mad = None
    if subjects is not None:
        subjects = np.asarray(subjects)
        per_subject = {}
        for subject in np.unique(subjects):
            key = subject.item() if isinstance(subject, np.generic) else subject  # object arrays hold str
            per_subject[key] = float(_nanmean(_nanmedian(r[:, subjects == subject], 1)))
        mad = float(median_abs_deviation(list(per_subject.values())))
    return Score(raw=float(_nanmean(per_split)), per_split=per_split, per_split_neuroid=r,
                 per_neuroid=_nanmean(r, axis=0), per_subject=per_subject,
                 mad_over_subjects=mad, alphas=alphas)
