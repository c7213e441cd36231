"""The metric config's cross-validation protocols (`metric.cv`) turned into splits and arguments.

Each protocol's settings sit in the metric config's block of the same name (`metric.group.by=
passage_index` holds out single passages, `metric.contiguous.within=story` cuts runs within each
story); the protocols themselves are described in brainalign/metrics/protocols.py.
"""

from brainalign.errors import ConfigError
from brainalign.metrics.protocols import DEFAULTS, NATIVE, PROTOCOLS
from brainalign.metrics.splits import contiguous_splits, group_splits, shuffle_splits


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


def metric_arguments(metric_cfg) -> dict:
    """The keyword arguments of brainalign.metrics.protocols.score_protocol from the metric config."""
    from brainalign.benchmarks.reduction import reduction_arguments

    return {"kind": metric_kind(metric_cfg), "correlation": str(_get(metric_cfg, "correlation", "batched")),
            "backend": str(_get(metric_cfg, "backend", "auto")), "rcond": _get(metric_cfg, "rcond"),
            "alphas": _get(metric_cfg, "alphas"), **reduction_arguments(metric_cfg)}


def check_protocols(names: list[str]) -> list[str]:
    """metric.cv's protocol names, refused when empty or when one is not a protocol."""
    if not names:
        raise ConfigError(f"metric.cv=[]: give at least one protocol ({', '.join(PROTOCOLS)})")
    bad = [n for n in names if n not in PROTOCOLS]
    if bad:
        verb = "is not a protocol" if len(bad) == 1 else "are not protocols"
        raise ConfigError(f"metric.cv: {', '.join(bad)} {verb}; choose from {', '.join(PROTOCOLS)}")
    return names


def protocol_names(metric_cfg) -> list[str]:
    """The protocols to score, first one first (its scores are the result's top-level keys)."""
    cv = _get(metric_cfg, "cv", NATIVE[metric_kind(metric_cfg)])
    return list(dict.fromkeys(check_protocols([str(cv)] if isinstance(cv, str) else [str(c) for c in cv])))


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
