"""Metrics: numpy arrays in, numbers out. Brain-Score's metrics, reimplemented for speed and
checked against Brain-Score itself (docs/metrics.md, bench/crosscheck_metric.py)."""

from .banded import BandedScore, banded_unique_variance
from .ceiling import ceiling_normalize
from .correlation import pearsonr
from .extrapolation import Ceiling, extrapolation_ceiling
from .layer_choice import BestLayer, best_layer
from .linear import default_rcond, linear_predictivity
from .ridge import DEFAULT_ALPHAS, ridge_predictivity
from .reading_times import ReadingTimeScore, SplitHalfCeiling, reading_time_alignment, split_half_ceiling
from .ridge_per_target import ridge_nested_cv
from .score import Score
from .similarity import cka, rdm
from .splits import group_splits, shuffle_splits


__all__ = [
    "Score", "BestLayer", "BandedScore", "banded_unique_variance",
    "linear_predictivity", "ridge_predictivity", "ceiling_normalize", "best_layer",
    "ReadingTimeScore", "SplitHalfCeiling", "reading_time_alignment", "split_half_ceiling",
    "Ceiling", "extrapolation_ceiling", "ridge_nested_cv",
    "cka", "rdm", "pearsonr", "default_rcond", "DEFAULT_ALPHAS", "shuffle_splits", "group_splits",
]
