"""Cross-validation protocols for the linear and the ridge metric.

* shuffle: Brain-Score's "-linear-shuffle" benchmarks, ShuffleSplit 10 x 0.9, seed 1. Sentences of
  one passage land in train and test, so any passage-level signal (autocorrelated noise, topic)
  is learnable: Hadidi et al. (2025) show a model with no linguistic content (OASM) wins here.
* group: Brain-Score 2.3's "-ridge" benchmarks, GroupKFold over `story` (shuffled, seed 1234);
  whole groups are held out.
* contiguous: K runs of consecutive stimuli in stored order (within each block), optionally
  trimming training rows next to the test runs (Hadidi et al. 2025).

The splits are made by brainalign/metrics/splits.py (from the metric config by
brainalign/benchmarks/protocols.py); `score_protocol` runs the shared cross-validation core with
the metric's smoother on them.
"""

import numpy as np

from .ridge import DEFAULT_ALPHAS

PROTOCOLS = ("shuffle", "group", "contiguous")
NATIVE = {"linear": "shuffle", "ridge": "group"}  # the protocol of Brain-Score's benchmark of each metric
DEFAULTS = {"shuffle": {"n_splits": 10, "train_size": 0.9, "random_state": 1},
            "group": {"by": "story", "n_splits": 10, "random_state": 1234},
            "contiguous": {"n_splits": 10, "within": None, "trim": 0}}


def score_protocol(X, Y, splits, kind, *, correlation="batched", backend="auto", rcond=None, alphas=None,
                   subjects=None, device=None, n_components=None, reduce=None, reduce_seed=0) -> list:
    """One Score per layer of X [layers, n, d] with the metric `kind` (linear or ridge) on the given
    splits: linear_predictivity / ridge_predictivity with `splits=`. rcond is the linear metric's,
    alphas the ridge metric's (default DEFAULT_ALPHAS); backend, device and the feature-count control
    (n_components, reduce, reduce_seed) as for linear_predictivity."""
    from .linear import linear_predictivity
    from .ridge import ridge_predictivity

    if kind not in NATIVE:
        raise ValueError(f"metric kind {kind!r}; choose one of {tuple(NATIVE)}")
    X = np.asarray(X)
    X = X[None] if X.ndim == 2 else X   # always one Score per layer
    reduction = {"n_components": n_components, "reduce": reduce, "reduce_seed": reduce_seed}
    if kind == "linear":
        return linear_predictivity(X, Y, subjects=subjects, splits=splits, correlation=correlation,
                                   rcond=rcond, backend=backend, device=device, **reduction)
    alphas = np.asarray(DEFAULT_ALPHAS if alphas is None else alphas, dtype=np.float64).ravel()
    return ridge_predictivity(X, Y, subjects=subjects, splits=splits, alphas=alphas, correlation=correlation,
                              backend=backend, device=device, **reduction)


def describe_splits(splits) -> dict:
    """What a result records about a protocol's splits."""
    return {"n_splits": len(splits), "n_test": [int(len(test)) for _, test in splits],
            "n_train": [int(len(train)) for train, _ in splits]}
