"""Cross-validation protocols for the linear and the ridge metric (`metric.cv`).

* shuffle: Brain-Score's "-linear-shuffle" benchmarks, ShuffleSplit 10 x 0.9, seed 1. Sentences of
  one passage land in train and test, so any passage-level signal (autocorrelated noise, topic)
  is learnable: Hadidi et al. (2025) show a model with no linguistic content (OASM) wins here.
* group: Brain-Score 2.3's "-ridge" benchmarks, GroupKFold over `story` (shuffled, seed 1234);
  whole groups are held out. `metric.group.by=passage_index` holds out single passages.
* contiguous: K runs of consecutive stimuli in stored order (within each `metric.contiguous.within`
  block), optionally trimming training rows next to the test runs (Hadidi et al. 2025).

Each protocol's settings sit in the metric config's block of the same name. `score_protocol`
runs the shared cross-validation core with the metric's smoother on the protocol's splits.
"""

import numpy as np

from brainalign.errors import ConfigError

from .ridge import DEFAULT_ALPHAS
from .splits import contiguous_splits, group_splits, shuffle_splits

PROTOCOLS = ("shuffle", "group", "contiguous")
NATIVE = {"linear": "shuffle", "ridge": "group"}  # the protocol of Brain-Score's benchmark of each metric
DEFAULTS = {"shuffle": {"n_splits": 10, "train_size": 0.9, "random_state": 1},
            "group": {"by": "story", "n_splits": 10, "random_state": 1234},
            "contiguous": {"n_splits": 10, "within": None, "trim": 0}}


def _get(cfg, key, default=None):
    if cfg is None:
        return default
    value = getattr(cfg, key, None) if not isinstance(cfg, dict) else cfg.get(key)
    return default if value is None else value


def metric_kind(metric_cfg) -> str:
    kind = str(_get(metric_cfg, "kind", "linear"))
    if kind not in NATIVE:
        raise ConfigError(f"metric.kind={kind!r}; choose one of {tuple(NATIVE)}")
    return kind


def protocol_names(metric_cfg) -> list[str]:
    """The protocols to score, first one first (its scores are the result's top-level keys)."""
    cv = _get(metric_cfg, "cv") or NATIVE[metric_kind(metric_cfg)]
    names = [str(cv)] if isinstance(cv, str) else [str(c) for c in cv]
    bad = [n for n in names if n not in PROTOCOLS]
    if bad or not names:
        raise ConfigError(f"metric.cv={names}; each must be one of {PROTOCOLS}")
    return list(dict.fromkeys(names))


FLAT = {"shuffle": {"n_splits": "n_splits", "train_size": "train_size", "random_state": "random_state"},
        "group": {"by": "group_by", "n_splits": "n_splits", "random_state": "random_state"}}


def protocol_settings(metric_cfg, name) -> dict:
    """The protocol's block of the metric config; for the metric's own protocol, a config without the
    block may give the settings as flat keys (n_splits, train_size, random_state, group_by)."""
    block = _get(metric_cfg, name) or {}
    flat = FLAT[name] if name == NATIVE[metric_kind(metric_cfg)] else {}
    return {key: _get(block, key, _get(metric_cfg, flat[key], default) if key in flat else default)
            for key, default in DEFAULTS[name].items()}


def _column(data, column, key):
    if column not in data.stimuli:
        raise ConfigError(f"{key}={column!r} is not a stimulus column of {data.name}: {list(data.stimuli)}")
    return data.stimuli[column].to_numpy()


def _no_groups(metric_cfg) -> bool:
    """metric.group_by given as null (Tuckute2024-ridge keeps Brain-Score's default cross-validation)."""
    try:
        return "group_by" in metric_cfg and metric_cfg["group_by"] is None
    except TypeError:
        return False


def protocol_splits(name, data, metric_cfg) -> list:
    """(train, test) index pairs into `data`'s rows (stored order) for protocol `name`."""
    s = protocol_settings(metric_cfg, name)
    n = len(data.stimuli)
    try:
        if name == "shuffle":
            return shuffle_splits(n, int(s["n_splits"]), float(s["train_size"]), int(s["random_state"]))
        if name == "group" and _no_groups(metric_cfg):   # ridge with group_by=null: Brain-Score's ShuffleSplit
            return shuffle_splits(n, int(s["n_splits"]), float(_get(metric_cfg, "train_size", 0.9)),
                                  int(s["random_state"]))
        if name == "group":
            groups = _column(data, str(s["by"]), "metric.group.by")
            return group_splits(groups, int(s["n_splits"]), int(s["random_state"]))
        within = None if s["within"] is None else _column(data, str(s["within"]), "metric.contiguous.within")
        return contiguous_splits(n, int(s["n_splits"]), within, int(s["trim"]))
    except ValueError as e:  # e.g. more folds than groups
        raise ConfigError(f"metric.cv={name} on {data.name}: {e}") from None


def score_protocol(X, Y, splits, metric_cfg, subjects=None) -> list:
    """One Score per layer of X [layers, n, d] with the configured metric (linear or ridge) on the
    given splits: linear_predictivity / ridge_predictivity with `splits=`."""
    from .linear import linear_predictivity
    from .ridge import ridge_predictivity

    kind = metric_kind(metric_cfg)
    correlation = str(_get(metric_cfg, "correlation", "batched"))
    backend = str(_get(metric_cfg, "backend", "auto"))
    X = np.asarray(X)
    X = X[None] if X.ndim == 2 else X   # always one Score per layer
    if kind == "linear":
        return linear_predictivity(X, Y, subjects=subjects, splits=splits, correlation=correlation,
                                   rcond=_get(metric_cfg, "rcond"), backend=backend)
    alphas = np.asarray(_get(metric_cfg, "alphas", DEFAULT_ALPHAS), dtype=np.float64).ravel()
    return ridge_predictivity(X, Y, subjects=subjects, splits=splits, alphas=alphas, correlation=correlation,
                              backend=backend)


def describe_splits(splits) -> dict:
    """What a result records about a protocol's splits."""
    return {"n_splits": len(splits), "n_test": [int(len(test)) for _, test in splits],
            "n_train": [int(len(train)) for train, _ in splits]}
