"""The metrics a brain benchmark can be scored with, each declared once (linear, ridge, cka, rdm, banded).

A declaration's `score(X, data, metric_cfg, protocol, device)` turns the metric's settings into splits and
plain arguments and calls brainalign.metrics (arrays in, one Score per layer out)."""

import numpy as np

from brainalign.config.schema import (BandedMetricConfig, LinearMetricConfig, RidgeMetricConfig,
                                      SimilarityMetricConfig)
from brainalign.registry import MetricSpec, declare_metric


def _subjects(data):
    return np.asarray(data.neuroids["subject"], dtype=str)


def cross_validated(X, data, metric_cfg, protocol=None, device=None) -> list:
    """linear / ridge under one protocol of metric.cv (the first by default), on the run's device when
    metric.backend is torch (or auto on CUDA)."""
    from brainalign.benchmarks.protocols import metric_arguments, protocol_names, protocol_splits
    from brainalign.metrics.protocols import score_protocol

    protocol = protocol or protocol_names(metric_cfg)[0]
    return score_protocol(X, data.responses, protocol_splits(protocol, data, metric_cfg),
                          **metric_arguments(metric_cfg), subjects=_subjects(data), device=device)


def similarity(X, data, metric_cfg, protocol=None, device=None) -> list:
    """Brain-Score's linear CKA or RDM similarity: nothing fitted."""
    from brainalign import metrics

    index = metrics.cka if metric_cfg.kind == "cka" else metrics.rdm
    return index(X, data.responses, subjects=_subjects(data), n_splits=metric_cfg.n_splits,
                 test_size=metric_cfg.test_size, random_state=metric_cfg.random_state)


def banded(X, data, metric_cfg, protocol=None, device=None) -> list:
    """The layer's unique variance beyond the confound bands (docs/confounds.md)."""
    from brainalign import metrics
    from brainalign.benchmarks.brain import confound_bands
    from brainalign.benchmarks.reduction import reduction_arguments
    from brainalign.metrics.splits import shuffle_splits

    splits = shuffle_splits(len(data.stimuli), metric_cfg.n_splits, metric_cfg.train_size, metric_cfg.random_state)
    bands = confound_bands(data, list(metric_cfg.confounds))
    scores = metrics.banded_unique_variance(X, data.responses, bands, splits, subjects=_subjects(data),
                                            alphas=np.asarray(metric_cfg.alphas, float),
                                            n_gammas=metric_cfg.n_gammas, seed=metric_cfg.gamma_seed,
                                            **reduction_arguments(metric_cfg))
    return [s.unique for s in (scores if isinstance(scores, list) else [scores])]


LINEAR = declare_metric(MetricSpec("linear", LinearMetricConfig, score=cross_validated, protocols=True))
RIDGE = declare_metric(MetricSpec("ridge", RidgeMetricConfig, score=cross_validated, protocols=True))
# similarity indices (no ceiling, as Brain-Score's Tuckute2024-cka/-rdm) and unique variance (an R2 gain)
CKA = declare_metric(MetricSpec("cka", SimilarityMetricConfig, score=similarity, ceiled=False))
RDM = declare_metric(MetricSpec("rdm", SimilarityMetricConfig, score=similarity, ceiled=False))
BANDED = declare_metric(MetricSpec("banded", BandedMetricConfig, score=banded, ceiled=False))
