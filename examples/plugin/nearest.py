"""A metric brought to brainalign from outside its code (docs/extending.md): a nearest-neighbour encoding
model. Each test stimulus is predicted by the responses to the training stimulus nearest to it in the
layer's feature space (cosine); r per voxel over the test stimuli, ShuffleSplit. Declared at the end."""

from dataclasses import dataclass

import numpy as np

from brainalign.config.schema import MetricConfig
from brainalign.metrics.score import make_score
from brainalign.metrics.splits import shuffle_splits
from brainalign.registry import MetricSpec, declare_metric


@dataclass
class NearestConfig(MetricConfig):
    kind: str = "nearest"
    n_splits: int = 5
    train_size: float = 0.8
    random_state: int = 0


def _unit(x):
    x = x - x.mean(axis=0)
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def _columnwise_r(a, b):
    a, b = a - a.mean(axis=0), b - b.mean(axis=0)
    return (a * b).sum(axis=0) / np.maximum(np.sqrt((a * a).sum(axis=0) * (b * b).sum(axis=0)), 1e-12)


def nearest_neighbour(X, Y, splits, subjects) -> list:
    """One Score per layer of X [layers, n, d] for responses Y [n, voxels]."""
    scores = []
    for layer in np.asarray(X):
        r = []
        for train, test in splits:
            sims = _unit(layer[test]) @ _unit(layer[train]).T
            r.append(_columnwise_r(Y[train][sims.argmax(axis=1)], Y[test]))
        scores.append(make_score(np.asarray(r), subjects))
    return scores


def score(X, data, metric_cfg, protocol=None, device=None) -> list:
    splits = shuffle_splits(len(data.stimuli), metric_cfg.n_splits, metric_cfg.train_size, metric_cfg.random_state)
    return nearest_neighbour(X, data.responses, splits, np.asarray(data.subjects, dtype=str))


NEAREST = declare_metric(MetricSpec("nearest", NearestConfig, score=score))
