"""Metrics: numpy arrays in, numbers out. Brain-Score's metrics, reimplemented for speed and
checked against Brain-Score itself (docs/metrics.md, bench/crosscheck_metric.py)."""

from .ceiling import ceiling_normalize
from .correlation import pearsonr
from .layers import BestLayer, best_layer
from .linear import default_rcond, linear_predictivity
from .ridge import DEFAULT_ALPHAS, ridge_predictivity
from .score import Score
from .splits import group_splits, shuffle_splits

# reading_time_alignment (behavioural, Futrell2018) lives in its own module; import it here when added.

__all__ = [
    "Score", "BestLayer",
    "linear_predictivity", "ridge_predictivity", "ceiling_normalize", "best_layer",
    "pearsonr", "default_rcond", "DEFAULT_ALPHAS", "shuffle_splits", "group_splits",
]
